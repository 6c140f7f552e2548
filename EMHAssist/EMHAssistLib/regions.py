"""Each region measured on each sequence's own voxels: mean, median, spread, count, volume."""

from dataclasses import asdict, dataclass

import numpy as np
import slicer

from .errors import InputError
from .geometry import Grid, Shape, lies_within, voxel_indices
from .knowledge import load
from .nodes import grid_of_volume, scalar_array
from .study import RegionSource


@dataclass(frozen=True)
class RegionStats:
    mean: float
    median: float
    sd: float
    p5: float
    p95: float
    n: int
    volume_mm3: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SequenceImage:
    """A sequence's voxels and their place in the world, read once per analysis."""

    role: str
    grid: Grid
    voxels: np.ndarray  # numpy order [k, j, i], the volume's own array (not copied)

    @classmethod
    def from_node(cls, role: str, volume: slicer.vtkMRMLScalarVolumeNode) -> "SequenceImage":
        return cls(role, grid_of_volume(volume), scalar_array(volume))


@dataclass
class RegionMeasurement:
    stats: dict[str, RegionStats]  # by sequence role
    warnings: list[str]


def statistics(values: np.ndarray, voxel_volume: float) -> RegionStats:
    values = values.astype(np.float64)
    p5, median, p95 = np.percentile(values, [5, 50, 95])
    return RegionStats(
        mean=float(values.mean()),
        median=float(median),
        sd=float(values.std(ddof=1)) if values.size > 1 else 0.0,
        p5=float(p5),
        p95=float(p95),
        n=int(values.size),
        volume_mm3=float(values.size * voxel_volume),
    )


def measure_region(name: str, sources: list[RegionSource], images: list[SequenceImage]) -> RegionMeasurement:
    """Statistics of the union of a region's sources on every sequence; warnings for what is doubtful."""
    if not sources:
        raise InputError(name, "region has no ROI or segment")
    shapes = [(source.label, source.shape()) for source in sources]
    stats: dict[str, RegionStats] = {}
    warnings: list[str] = []
    for image in images:
        measured = _measure_on(name, shapes, image, warnings)
        if measured is not None:
            stats[image.role] = measured
    if not stats:
        labels = ", ".join(label for label, _ in shapes)
        raise InputError(labels, f"{name} region lies wholly outside every volume")
    return RegionMeasurement(stats, warnings)


def _measure_on(name: str, shapes: list[tuple[str, Shape]], image: SequenceImage, warnings: list[str]) -> RegionStats | None:
    indices = np.unique(np.concatenate([voxel_indices(image.grid, shape) for _, shape in shapes]))
    for label, shape in shapes:
        if not lies_within(image.grid, shape):
            warnings.append(f"{label}: {name} region extends outside the {image.role} field of view")
    if indices.size == 0:
        warnings.append(f"{name}: no {image.role} voxel centre falls inside the region; not measured on {image.role}")
        return None
    values = image.voxels.ravel()[indices]
    finite = np.isfinite(values)
    if not finite.all():
        warnings.append(f"{name}: {np.count_nonzero(~finite)} non-finite {image.role} voxels left out")
        values = values[finite]
        if values.size == 0:
            return None
    if values.size < load("measurement")["min_voxels_for_stable_ratio"]:
        warnings.append(f"{name}: only {values.size} {image.role} voxels; its ratios are unstable")
    return statistics(values, image.grid.voxel_volume)
