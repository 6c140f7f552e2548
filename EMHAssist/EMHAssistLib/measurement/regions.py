"""Each region measured on each sequence's own voxels: mean, median, spread, count, volume."""

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..geometry import Box, Grid, Shape, box_voxels, lies_within, overlaps, voxel_indices
from ..inputs.plain import Outline, SequenceImage
from ..report_model import RegionStatistics
from ..settings import measurement_settings
from .findings import RegionFinding, RegionFindingCode


_ROBUST_SD_PER_MAD = 1.4826  # the median absolute deviation of a normal sample times this is its SD


def robust_sd(values: np.ndarray, centre: float) -> float:
    """The spread of `values` about `centre` as a normal SD, from their median absolute deviation: a
    few voxels of another tissue (CSF or fat beside a drawn box) do not widen it."""
    return _ROBUST_SD_PER_MAD * float(np.median(np.abs(values - centre)))


@dataclass
class RegionMeasurement:
    stats: dict[str, RegionStatistics]  # by sequence role
    warnings: list[RegionFinding]  # what is doubtful, in the order the report states it (outputs/wording.py words it)


# Squared deviations are summed this many values at a time, so that even a region as large as a
# whole volume never needs a float64 copy of itself; and each block's dot product is short enough
# (OpenBLAS runs a long dot on its threads) to run on the calling thread: a threaded one woke
# OpenBLAS's threads on every mass move, and they held the second core while the growth's ITK
# filters ran (a mass move 97-99 ms with blocks of 8,192 against 122-170 ms, 2026-12-08 02:28 UTC).
_VALUES_PER_CHUNK = 8192
# 32-bit integer values are counted per level, not sorted, when they span at most this many
# levels or four per value (8- and 16-bit values always are).
_COUNTED_LEVELS = 1 << 16


def statistics(values: np.ndarray, voxel_volume: float) -> RegionStatistics:
    """Mean, sample SD and percentiles (interpolated linearly, numpy's default) of a region's values.

    Integer voxels, as most MR volumes hold, are counted per grey level rather than sorted, and
    their moments come from those counts: this keeps a live update of every region on every
    sequence within a few milliseconds. Other values take one partial sort.
    """
    n = int(values.size)
    positions = [q / 100 * (n - 1) for q in measurement_settings().percentiles]
    ranks = sorted({rank for position in positions for rank in (int(position), min(int(position) + 1, n - 1))})
    levels = _grey_level_counts(values)
    if levels is None:
        ranked = np.partition(values, ranks)[ranks].astype(np.float64).tolist()
        mean = float(values.sum(dtype=np.float64)) / n
        squares = _sum_of_squared_deviations(values, mean)
    else:
        lowest, counts = levels
        grey = np.arange(lowest, lowest + counts.size, dtype=np.float64)
        ranked = (np.searchsorted(np.cumsum(counts), ranks, side="right") + lowest).tolist()
        mean = float(counts @ grey) / n
        squares = float(counts @ (grey - mean) ** 2)
    at_rank = dict(zip(ranks, ranked))
    p5, median, p95 = (_interpolated(at_rank, position, n) for position in positions)
    sd = math.sqrt(squares / (n - 1)) if n > 1 else 0.0
    return RegionStatistics(mean=mean, median=median, sd=sd, p5=p5, p95=p95, n=n, volume_mm3=float(n * voxel_volume))


def _grey_level_counts(values: np.ndarray) -> tuple[int, np.ndarray] | None:
    """Lowest value and the count of each integer level from it up; None for non-integer values
    or levels too spread out to count."""
    if values.dtype.kind not in "iu" or values.dtype.itemsize > 4:
        return None
    lowest = int(values.min())
    if values.dtype.itemsize > 2 and int(values.max()) - lowest > max(4 * values.size, _COUNTED_LEVELS):
        return None
    return lowest, np.bincount(np.subtract(values, lowest, dtype=np.intp))


def _interpolated(at_rank: dict[int, float], position: float, n: int) -> float:
    """The value at a fractional rank, computed as numpy's linear percentile does."""
    below = int(position)
    fraction = position - below
    low, high = float(at_rank[below]), float(at_rank[min(below + 1, n - 1)])
    return high - (high - low) * (1 - fraction) if fraction >= 0.5 else low + (high - low) * fraction


def _sum_of_squared_deviations(values: np.ndarray, mean: float) -> float:
    squares = 0.0
    for start in range(0, values.size, _VALUES_PER_CHUNK):
        deviations = np.subtract(values[start:start + _VALUES_PER_CHUNK], mean, dtype=np.float64)
        squares += float(deviations @ deviations)
    return squares


def measure_region(name: str, outlines: list[Outline], images: list[SequenceImage]) -> RegionMeasurement:
    """Statistics of the union of a region's outlines on every sequence; warnings for what is doubtful."""
    if not outlines:
        raise InputError(name, "region has no ROI or segment")
    shapes = [(outline.label, outline.shape) for outline in outlines]
    stats: dict[str, RegionStatistics] = {}
    warnings: list[RegionFinding] = []
    for image in images:
        measured = _measure_on(name, shapes, image, warnings)
        if measured is not None:
            stats[image.role] = measured
    if not stats:
        labels = ", ".join(label for label, _ in shapes)
        if not any(overlaps(image.grid, shape) for image in images for _, shape in shapes):
            raise InputError(labels, f"{name} region lies wholly outside every volume")
        raise InputError(labels, f"{name} region holds no finite voxel of any sequence (smaller than a voxel, between voxel centres, or over non-finite voxels only)")
    return RegionMeasurement(stats, warnings)


def _measure_on(name: str, shapes: list[tuple[str, Shape]], image: SequenceImage, warnings: list[RegionFinding]) -> RegionStatistics | None:
    values, outside = _region_values(image, shapes)
    for label in outside:
        warnings.append(RegionFinding(RegionFindingCode.OUTSIDE_FIELD, name, image.role, label=label))
    if values.size == 0:
        warnings.append(RegionFinding(RegionFindingCode.NO_VOXEL_CENTRE, name, image.role))
        return None
    finite = np.isfinite(values) if values.dtype.kind == "f" else None  # integer voxels are always finite
    if finite is not None and not finite.all():
        values = values[finite]
        if values.size == 0:
            warnings.append(RegionFinding(RegionFindingCode.ALL_NON_FINITE, name, image.role, voxels=int(finite.size)))
            return None
        warnings.append(RegionFinding(RegionFindingCode.NON_FINITE_LEFT_OUT, name, image.role, voxels=int(finite.size - values.size)))
    if values.size < measurement_settings().min_voxels_for_stable_ratio:
        warnings.append(RegionFinding(RegionFindingCode.FEW_VOXELS, name, image.role, voxels=int(values.size)))
    return statistics(values, image.grid.voxel_volume)


def _region_values(image: SequenceImage, shapes: list[tuple[str, Shape]]) -> tuple[np.ndarray, list[str]]:
    """The region's voxel values on one image, in array order, and the labels of its shapes that
    reach outside the image's field of view. A single box is read from the block around it,
    several boxes or a segment through the indices of their voxels."""
    if len(shapes) == 1 and isinstance(shapes[0][1], Box):
        label, box = shapes[0]
        voxels = box_voxels(image.grid, box)
        around = image.voxels[voxels.block]
        values = around.ravel() if voxels.mask is None else np.compress(voxels.mask.ravel(), around)  # fastest on a view
        return values, [] if voxels.within else [label]
    outside = [label for label, shape in shapes if not lies_within(image.grid, shape)]
    return image.voxels.ravel()[_union_of_voxels(image.grid, shapes)], outside


def _union_of_voxels(grid: Grid, shapes: list[tuple[str, Shape]]) -> np.ndarray:
    """Flat indices of the voxels in any of the shapes; each shape's own are sorted and unique already."""
    found = [voxel_indices(grid, shape) for _, shape in shapes]
    return found[0] if len(found) == 1 else np.unique(np.concatenate(found))
