"""The spinal cord along the spine: segmentation from a seed, centreline, and per-slice measurements.

Slices are the image's own planes across the axis that runs closest to head-foot, as in the Spinal
Cord Toolbox; each cross-section is corrected to the plane perpendicular to the centreline by
projecting it along the centreline's tangent (the SCT "angle correction"), then measured on a
0.2 mm resampling: area, AP diameter (mean AP extent over a 3 mm band through the centroid, narrower on a small cord)
and RL diameter (the equivalent-ellipse axis), so a thin-sliced axial and a thick-sliced sagittal
acquisition give comparable numbers.
"""

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from ..errors import InputError
from ..geometry import Box, Grid, Shape, voxel_indices
from ..inputs.plain import SequenceImage
from ..measurement.regions import robust_sd
from ..settings import CordSettings, FoundSeedSettings, spine_settings
from .medians import median_of, row_medians

WORLD_ANTERIOR = np.array([0.0, 1.0, 0.0])
WORLD_SUPERIOR = np.array([0.0, 0.0, 1.0])
_CSF_BRIGHT_ROLES = {"T2", "T2FS", "STIR"}


def settings() -> CordSettings:
    return spine_settings().cord


@dataclass(frozen=True)
class Centreline:
    """The cord's centre on each measured slice, smoothed, ordered from inferior to superior."""

    slices: np.ndarray  # slice index along the grid's head-foot axis, shape (N,)
    points: np.ndarray  # world, (N, 3)
    tangents: np.ndarray  # unit, pointing superior, (N, 3)

    @property
    def arc_mm(self) -> np.ndarray:
        steps = np.linalg.norm(np.diff(self.points, axis=0), axis=1)
        return np.concatenate([[0.0], np.cumsum(steps)])

    def frame(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Unit right and anterior directions in the plane perpendicular to the centreline."""
        return self.frames[index]

    @cached_property
    def frames(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every point's frame, worked out once: the profile, the levels and the mass's position all read them."""
        return perpendicular_frames(self.tangents)


@dataclass(frozen=True)
class CordProfile:
    """Per-slice cord measurements along the centreline (inferior to superior)."""

    centreline: Centreline
    area_mm2: np.ndarray
    ap_mm: np.ndarray
    rl_mm: np.ndarray

    @property
    def arc_mm(self) -> np.ndarray:
        return self.centreline.arc_mm

    @cached_property
    def judged(self) -> "CordProfile":
        """The profile as compression judges it, computed once per traced cord (which a mass move
        keeps): each slice's area, AP and RL the median of the slices within `judged_median_mm`
        (data/levels.json, compression) along the cord. One traced section is a few noisy pixels across a
        squeezed cord; its own AP strays from its neighbours' by up to half (generated seed 3, sagittal
        0.7 mm rows: 1.4 mm among 3-4 mm where the painted cord is 4.0), and the narrowest single slice
        read that stray (MSCC 77 % for 41 %), while single-slice dips a few millimetres apart on a
        healthy cord were joined into a compression (seed 13). A real narrowing is longer than that:
        the generated cores are 5 mm or more, the built-in cases' 10 mm or more. The slice's neighbours
        on either side are always in its median, however far apart the traced slices lie."""
        half = spine_settings().compression.judged_median_mm / 2
        arc = self.arc_mm
        index = np.arange(len(arc))
        # at least the slice on either side: traced slices lie farther apart where some were not followed
        # (seed 19: 1.6-3.2 mm apart at its narrowing, one slice read 1.8 mm where the cord is 3.1)
        first = np.minimum(np.searchsorted(arc, arc - half, side="left"), np.maximum(index - 1, 0))
        last = np.maximum(np.searchsorted(arc, arc + half, side="right"), np.minimum(index + 2, len(arc)))

        def median(values: np.ndarray) -> np.ndarray:
            stretches = (values[a:b][np.isfinite(values[a:b])] for a, b in zip(first, last))
            return np.array([median_of(stretch) if stretch.size else np.nan for stretch in stretches])  # none measurable: nan

        return replace(self, area_mm2=median(self.area_mm2), ap_mm=median(self.ap_mm), rl_mm=median(self.rl_mm))


@dataclass(frozen=True)
class Coverage:
    """The traced cord as coverage: the fraction of each voxel inside the traced outline (float32;
    `values >= 0.5` is the cord mask, and measuring the fractions resolves diameters finer than a
    voxel), on the block of the image that holds the cord (`grid` is the block's own grid)."""

    grid: Grid
    values: np.ndarray
    unfollowed: tuple[np.ndarray, ...] = ()  # world points (N, 3) where the cord could not be followed


@dataclass(frozen=True)
class Cord:
    grid: Grid  # the measuring image's grid, or a block of it holding the cord
    mask: np.ndarray  # bool, numpy order of `grid`
    profile: CordProfile
    role: str
    given: bool  # True when the user supplied the segmentation
    ends_inside: tuple[bool, bool]  # (inferior, superior): the cord ended before the field of view did
    unfollowed: tuple[np.ndarray, ...] = ()  # world points (N, 3) of each stretch the tracker lost the cord over


def perpendicular_frames(tangents: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each row of `tangents`, the unit right and anterior directions perpendicular to it (anterior
    as near the world's as can be), worked out together: a frame at a time took 0.1 s for the 1,100
    samples of the levels profile. Each length is its row's own dot product, as np.linalg.norm takes
    a vector's (a vectorised sum of squares rounds differently in the last bit), so the frames are
    bit for bit those worked out one at a time."""
    anterior = WORLD_ANTERIOR - (tangents @ WORLD_ANTERIOR)[:, None] * tangents
    lengths = _row_lengths(anterior)
    if np.any(lengths < 1e-6):
        raise InputError("cord", "the centreline runs antero-posteriorly; the images cannot be sagittal or axial spine images")
    anterior = anterior / lengths[:, None]
    right = np.cross(anterior, tangents)
    right = right / _row_lengths(right)[:, None]
    return list(zip(right, anterior))


def _row_lengths(vectors: np.ndarray) -> np.ndarray:
    return np.sqrt([row.dot(row) for row in vectors])


def choose_sequence(images: list[SequenceImage]) -> SequenceImage | None:
    """The sequence where cord and CSF separate best, by the preference order in levels.json."""
    by_role = {image.role: image for image in images}
    for role in settings().sequence_preference:
        if role in by_role:
            return by_role[role]
    return None


def head_foot_axis(grid: Grid) -> int:
    """Index (0=i, 1=j, 2=k) of the grid axis that runs closest to the world head-foot direction."""
    directions = grid.ijk_to_world[:3, :3] / grid.spacing
    return int(np.argmax(np.abs(WORLD_SUPERIOR @ directions)))


@dataclass(frozen=True)
class _SliceLayout:
    """The volume seen as a stack of 2-D slices along the head-foot axis, ordered inferior to superior."""

    axis: int  # ijk axis across the slices
    flip: bool  # True when the slice index runs from superior to inferior
    in_plane: tuple[int, int]  # ijk axes of the two in-slice array dimensions (rows, columns)

    @classmethod
    def of(cls, grid: Grid) -> "_SliceLayout":
        axis = head_foot_axis(grid)
        flip = bool(grid.ijk_to_world[2, axis] < 0)
        rows, columns = [a for a in (2, 1, 0) if a != axis]
        return cls(axis, flip, (rows, columns))

    def stack(self, volume: np.ndarray) -> np.ndarray:
        """(slices, rows, columns) view of a numpy-order [k, j, i] volume."""
        stacked = np.moveaxis(volume, 2 - self.axis, 0)
        return stacked[::-1] if self.flip else stacked

    def unstack(self, stacked: np.ndarray) -> np.ndarray:
        return np.moveaxis(stacked[::-1] if self.flip else stacked, 0, 2 - self.axis)

    def positions(self, grid: Grid, flat_indices: np.ndarray) -> np.ndarray:
        """(slice, row, column) stack positions of voxels given by flat numpy-order indices, (N, 3)."""
        kji = np.stack(np.unravel_index(flat_indices, grid.shape), axis=1)
        ijk = kji[:, ::-1]
        n = self.slice_count(grid)
        slices = n - 1 - ijk[:, self.axis] if self.flip else ijk[:, self.axis]
        return np.stack([slices, ijk[:, self.in_plane[0]], ijk[:, self.in_plane[1]]], axis=1)

    def block_grid(self, grid: Grid, lo: np.ndarray, hi: np.ndarray) -> Grid:
        """The grid of the stack block from (slice, row, column) `lo` to `hi` (both included)."""
        n = self.slice_count(grid)
        lo_ijk, hi_ijk = np.zeros(3, dtype=int), np.zeros(3, dtype=int)
        lo_ijk[self.axis], hi_ijk[self.axis] = (n - 1 - hi[0], n - 1 - lo[0]) if self.flip else (lo[0], hi[0])
        for n_axis, axis in enumerate(self.in_plane, start=1):
            lo_ijk[axis], hi_ijk[axis] = lo[n_axis], hi[n_axis]
        return grid.block(lo_ijk, hi_ijk)

    def slice_count(self, grid: Grid) -> int:
        return int(grid.size_ijk[self.axis])

    def to_ijk(self, grid: Grid, slices: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Continuous ijk of (slice, row, column) positions, shape (N, 3)."""
        n = self.slice_count(grid)
        ijk = np.zeros((len(np.atleast_1d(slices)), 3))
        ijk[:, self.axis] = (n - 1 - np.asarray(slices, float)) if self.flip else slices
        ijk[:, self.in_plane[0]] = rows
        ijk[:, self.in_plane[1]] = columns
        return ijk


# ---------------------------------------------------------------------------------------------
# Segmentation


def segment_cord(image: SequenceImage, seed: Shape, wall: np.ndarray | None = None, masses: list[Shape] = ()) -> tuple[Coverage, tuple[bool, bool]]:
    """The cord, tracked slice by slice from the seed up and down the spine.

    `wall` (image grid) is where the cord may not go, e.g. a mass: a boolean mask, or a float field
    positive beyond the wall whose interpolated zero crossing places the wall between voxel centres.
    `masses`: the mass regions; where the cord is lost within `bridge_mass_reach_mm` (head-foot) of
    one, it is sought again beyond (a compression), elsewhere it ends there (the conus).
    Returns the cord's coverage on the block of the image that holds it (a few thousandths of a
    whole-volume float32 coverage, which was the analysis's largest allocation) and whether the
    cord ended inside the field of view (inferior, superior).
    """
    layout, volume, seed_points, window = _seeded(image, seed)
    blocked = None if wall is None else layout.stack(np.where(wall, np.float32(1), np.float32(-1)) if wall.dtype == bool else wall)
    pixel_mm = image.grid.spacing[list(layout.in_plane)]  # (row, column) spacing
    tracker = _Tracker(volume, blocked, window, pixel_mm, image.grid.spacing[layout.axis], _near_masses(image, layout, masses))
    found = _first_section(tracker, seed_points)
    if found is None:
        raise InputError("cord", f"no cord-like {image.role} tissue around the cord region")
    start, first = found
    sections = {start: first}
    ends_inferior = tracker.follow(sections, start, -1)
    ends_superior = tracker.follow(sections, start, +1)
    unfollowed = tuple(image.grid.to_world(layout.to_ijk(image.grid, *stretch.T)) for stretch in tracker.unfollowed)
    return replace(_coverage_block(sections, layout, image.grid, volume.shape), unfollowed=unfollowed), (ends_inferior, ends_superior)


def _first_section(tracker: "_Tracker", seed_points: np.ndarray) -> "tuple[int, _Section] | None":
    """The slice and the cord's section there: on the seed's slice nearest its middle where a section
    is found around the centre of the seed's cord-like voxels on that slice. The middle slice alone
    lost the whole cord to one noisy centre voxel outside the cord window (generated seed 29 of the
    sweep: a box over the thecal sac, whose partial-volume voxels lift the window above half the
    cord's own voxels)."""
    seed_slices = np.unique(seed_points[:, 0])
    middle = seed_slices[len(seed_slices) // 2]
    for index in sorted(seed_slices, key=lambda index: (abs(index - middle), index)):
        section = tracker.seed_slice(int(index), seed_points[seed_points[:, 0] == index, 1:].mean(axis=0))
        if section is not None:
            return int(index), section
    return None


def _near_masses(image: SequenceImage, layout: "_SliceLayout", masses: list[Shape]) -> np.ndarray:
    """Per slice of the stack: within `bridge_mass_reach_mm` head-foot of a mass region's voxels."""
    near = np.zeros(layout.slice_count(image.grid), dtype=bool)
    reach = int(np.ceil(settings().bridge_mass_reach_mm / image.grid.spacing[layout.axis]))
    for mass in masses:
        slices = layout.positions(image.grid, np.unique(voxel_indices(image.grid, mass)))[:, 0]
        if slices.size:
            near[max(int(slices.min()) - reach, 0):int(slices.max()) + reach + 1] = True
    return near


def _coverage_block(sections: dict[int, "_Section"], layout: _SliceLayout, grid: Grid, stack_shape: tuple[int, ...]) -> Coverage:
    """The traced sections pasted into the block of the stack they span, grown in-plane by the
    margin `_cross_section` crops with (clipped to the image, as there), so that each slice is
    measured exactly as on the whole image."""
    margin = _CROSS_SECTION_MARGIN
    indices = sorted(sections)
    origins = np.array([sections[index].origin for index in indices])
    ends = np.array([sections[index].origin + sections[index].coverage.shape for index in indices])
    lo = np.concatenate([[indices[0]], np.maximum(origins.min(axis=0) - margin, 0)])
    hi = np.concatenate([[indices[-1]], np.minimum(ends.max(axis=0) + margin, stack_shape[1:]) - 1])
    block = np.zeros(hi - lo + 1, dtype=np.float32)
    for index, section in sections.items():
        section.paste(block[index - lo[0]], lo[1:])
    return Coverage(layout.block_grid(grid, lo, hi), np.ascontiguousarray(layout.unstack(block)))


def _seeded(image: SequenceImage, seed: Shape) -> tuple["_SliceLayout", np.ndarray, np.ndarray, "_Window"]:
    """The image as a slice stack, the seed's voxels as (slice, row, column) positions on it, and
    the cord's signal window read from the seed."""
    layout = _SliceLayout.of(image.grid)
    volume = _as_float32_values(layout.stack(image.voxels))
    seed_points = layout.positions(image.grid, np.unique(voxel_indices(image.grid, seed)))
    if len(seed_points) == 0:
        raise InputError("cord", f"the cord region holds no {image.role} voxel")
    seed_values = volume[tuple(seed_points.T)].astype(np.float32)
    csf_bright = image.role in _CSF_BRIGHT_ROLES
    csf = _csf_signal(volume, seed_points, image.grid.spacing[list(layout.in_plane)], csf_bright)
    cord_like = _without_csf(seed_values, csf, csf_bright)
    if not cord_like.any():
        raise InputError("cord", f"the cord region holds no finite {image.role} voxel")
    return layout, volume, seed_points[cord_like], _cord_window(seed_values[cord_like], csf, csf_bright)


def _csf_signal(volume: np.ndarray, seed_points: np.ndarray, pixel_mm: np.ndarray, csf_bright: bool) -> float:
    """The CSF's signal around the seed: the brighter (T1-like: darker) of the `csf_percentile` of
    the seed's neighbourhood and the `csf_ray_quantile` of the brightest sample of each ray cast
    from the seed's centre, within `search_radius_mm`, on its middle `csf_ray_slices` slices. The
    CSF is a ring a few millimetres thin around the cord: every ray crosses it, while in the
    neighbourhood block it is a few per cent of the voxels, fewer on thick slices, whose block is
    wider in millimetres (generated seed 29, sagittal 1.4 mm: CSF about 1,600, the block's 97th
    percentile 845, and the cord window [585, 725] traced a cord of 1-3 mm of its 6 mm)."""
    config = settings()
    sign = 1.0 if csf_bright else -1.0
    neighbourhood = volume[_seed_block(seed_points, volume.shape)].astype(np.float32)
    block = float(np.nanpercentile(neighbourhood, config.csf_percentile if csf_bright else 100 - config.csf_percentile))
    slices = np.unique(seed_points[:, 0])
    middle = len(slices) // 2
    chosen = slices[max(middle - config.csf_ray_slices // 2, 0):middle + config.csf_ray_slices // 2 + 1]
    brightest = []
    for index in chosen:
        centre = seed_points[seed_points[:, 0] == index, 1:].mean(axis=0)
        _, rows, columns = _ray_points(centre, pixel_mm, config.search_radius_mm)
        values = sign * _bilinear(volume[int(index)].astype(np.float32), rows, columns)
        seen = np.isfinite(values).any(axis=1)
        brightest.extend(np.nanmax(values[seen], axis=1))
    if not brightest:
        return block
    return sign * max(sign * block, float(np.quantile(brightest, config.csf_ray_quantile)))


def _ray_points(centre: np.ndarray, pixel_mm: np.ndarray, limit_mm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cord tracer's rays from `centre` (`rays` of them, samples `ray_step_mm` apart out to
    `limit_mm`): the distances, and the rows and columns of the samples in pixels, one row per ray."""
    config = settings()
    angles = np.linspace(0.0, 2 * np.pi, config.rays, endpoint=False)
    distances = np.arange(0.0, limit_mm + config.ray_step_mm / 2, config.ray_step_mm)
    rows = centre[0] + distances[None, :] * (np.cos(angles) / pixel_mm[0])[:, None]
    columns = centre[1] + distances[None, :] * (np.sin(angles) / pixel_mm[1])[:, None]
    return distances, rows, columns


def _without_csf(seed_values: np.ndarray, csf: float, csf_bright: bool) -> np.ndarray:
    """Which seed voxels to read the cord from: all, unless the region also holds CSF (a box drawn
    loosely over the cord, as radiologists draw it). The seed's values are split in two (Otsu); the
    class on the CSF's side is CSF, and left out, when its mean lies nearer the CSF signal around
    the seed than the other class's mean does and the two differ by more than `seed_csf_separation`
    of the cord-CSF difference (a tight box's noise splits into two classes close together)."""
    finite = np.isfinite(seed_values)  # non-finite voxels are left out of every measure, here too
    if finite.sum() < settings().seed_split_min_voxels:
        return finite
    threshold = _otsu(seed_values[finite])
    csf_side = finite & (seed_values > threshold if csf_bright else seed_values <= threshold)
    cord_side = finite & ~csf_side
    if not csf_side.any() or not cord_side.any():
        return finite
    cord_mean, csf_mean = float(seed_values[cord_side].mean()), float(seed_values[csf_side].mean())
    separated = abs(csf_mean - cord_mean) > settings().seed_csf_separation * abs(csf - cord_mean)
    return cord_side if separated and abs(csf_mean - csf) < abs(csf_mean - cord_mean) else finite


def _otsu(values: np.ndarray, bins: int = 64) -> float:
    """The threshold that best splits `values` into two classes (largest between-class variance)."""
    counts, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(counts)
    mean = np.cumsum(counts * centres)
    total, total_mean = weight[-1], mean[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mean * weight / total - mean) ** 2 / (weight * (total - weight))
    split = between[:-1]
    if not np.isfinite(split).any():
        return float(values.max())  # a single value: nothing to split off
    return float(edges[1:][int(np.nanargmax(split))])


def looks_like_cord(image: SequenceImage, seed: Shape, value: float) -> bool:
    """Whether a signal lies inside the window the tracer takes for cord: a mass with such a signal
    shows the tracer no edge against the cord on this image."""
    window = _seeded(image, seed)[3]
    return window.low <= value <= window.high


def _as_float32_values(stacked: np.ndarray) -> np.ndarray:
    """The voxels as the tracker reads them (float32): integers up to 16 bits are exact in float32,
    so they are read in place, which spares a float32 copy of the whole volume."""
    if stacked.dtype == np.float32 or (stacked.dtype.kind in "iub" and stacked.dtype.itemsize <= 2):
        return stacked
    return stacked.astype(np.float32)


@dataclass(frozen=True)
class _Window:
    low: float
    high: float
    centre: float  # the cord's own signal
    csf_bright: bool  # the CSF lies above the window (T2-like) rather than below it (T1-like)


def _cord_window(seed_values: np.ndarray, csf: float, csf_bright: bool) -> _Window:
    """Intensity range of cord tissue: from the seed, with the CSF side cut part of the way to the CSF (`_csf_signal`)."""
    median = float(np.median(seed_values))
    config = settings()
    spread = robust_sd(seed_values, median) or config.flat_seed_spread * abs(median)
    towards_csf = config.csf_side_fraction * abs(csf - median)
    # On the side away from the CSF the cord meets darker tissue (ligament, dura, a mass).
    # A loosely drawn region's spread also holds dark tissue beside the cord: at most `far_reach_max` of the way to the CSF's distance.
    reach = max(min(config.window_sd * spread, config.far_reach_max * abs(csf - median)), config.near_reach_min * abs(csf - median))
    if csf_bright:
        return _Window(median - reach, median + towards_csf, median, True)
    return _Window(median - towards_csf, median + reach, median, False)


def _seed_block(seed_points: np.ndarray, stack_shape: tuple[int, ...]) -> tuple[slice, ...]:
    """The stack block of the seed's bounding box grown by `seed_block_margin_voxels` in-plane (none across slices)."""
    in_plane = settings().seed_block_margin_voxels
    margin = np.array([0, in_plane, in_plane])
    lo = np.maximum(seed_points.min(axis=0) - margin, 0)
    hi = np.minimum(seed_points.max(axis=0) + margin, np.array(stack_shape) - 1)
    return tuple(slice(low, high + 1) for low, high in zip(lo, hi))


class _Tracker:
    """Follows the cord's cross-section from slice to slice."""

    def __init__(self, volume: np.ndarray, blocked: np.ndarray | None, window: _Window, pixel_mm: np.ndarray, slice_mm: float, bridged: np.ndarray | None = None):
        self.volume = volume
        self.blocked = blocked
        self.window = window
        self.seed_window = window
        self.pixel_mm = pixel_mm
        self.slice_mm = slice_mm
        config = settings()
        self.search_mm = config.search_radius_mm
        self.min_area_fraction = config.min_area_fraction
        self.stop_after = max(1, int(round(config.stop_after_mm / slice_mm)))
        self.history = max(3, int(round(config.reference_area_mm / slice_mm)))
        self.max_shift_per_mm = config.max_shift_per_mm
        self.bridge_slices = max(1, int(round(config.bridge_mm / slice_mm)))
        self.bridge_area_fraction = config.bridge_area_fraction
        self.gap_area_fraction = config.gap_area_fraction
        self.gap_shift_per_mm = config.gap_shift_per_mm
        self.bridge_confirm_mm = config.bridge_confirm_mm
        self.edge_min_contrast = config.edge_min_contrast
        self.edge_max_area = config.edge_max_area_fraction
        self.areas: list[float] = []
        self.seed_signal = float("nan")  # the cord's core signal around the seed (`_signal_around`), which the window was read around
        self.signals: list[float] = []  # the cord's signal against the seed's, from the seed's section on (`_signal_scale`)
        self.bias_rate = config.bias_rate_per_mm * slice_mm
        self.bridged = bridged if bridged is not None else np.zeros(len(volume), dtype=bool)  # slices where a lost cord is sought beyond
        self.unfollowed: list[np.ndarray] = []  # (slice, row, column) stack positions of each stretch lost

    def seed_slice(self, index: int, centre: np.ndarray) -> "_Section | None":
        section = self._component(index, centre, cap_mm=None)
        if section is not None:
            self.areas.append(section.area_px * float(np.prod(self.pixel_mm)))
            self.seed_signal = self._signal_around(index, section)
            self.signals = [1.0]
        return section

    def _signal_around(self, index: int, section: "_Section") -> float:
        """The cord's core signal around the seed's section, which `_signal_scale` reads the cord's
        signal against: the median of the core pixels (`_core_pixels`) of the sections the seed's
        window traces within half `reference_area_mm` of it, pooled. One section's core, a few
        dozen pixels, read 2-5 % below its neighbours' on the built-in MDS case seen 15 degrees
        oblique (no bias field there), and the window, scaled by that offset along the whole cord,
        traced the healthy cord 1-2 mm2 larger than the compressed one: area ratio 24.4 % against
        the label map's 32.4 % (29.8 % pooled)."""
        area = section.area_px * float(np.prod(self.pixel_mm))
        pixels = [self._core_pixels(index, section)]
        for neighbour in range(max(index - self.history // 2, 0), min(index + self.history // 2 + 1, len(self.volume))):
            found = self._component(neighbour, section.centroid, _ray_cap_mm(area)) if neighbour != index else None
            if found is not None and self._plausible(found.area_px * float(np.prod(self.pixel_mm)), area, found.centroid - section.centroid, self.min_area_fraction):
                pixels.append(self._core_pixels(neighbour, found))
        pooled = np.concatenate(pixels)
        return float(median_of(pooled)) if pooled.size else float("nan")

    def follow(self, sections: dict[int, "_Section"], start: int, step: int) -> bool:
        """Track from `start` in direction `step`, adding each slice's section to `sections`;
        True when the cord ended inside the field of view.

        Where the cord is lost beside a mass (a narrowing, CSF effaced, a displaced cord) the tracker
        looks for it again beyond (`_bridge`), traces back into the gap from there, and keeps the
        slices it still could not follow in `unfollowed`; a cord not found again ends inside the
        field of view (the conus, or a cord lost for good: the levels step tells), and the slices
        beyond are kept in `unfollowed` too. Away from a mass it is not sought beyond: below the
        conus of sct_tutorial_data/t2_lumbar the nerve roots and the thecal sac were taken for it."""
        centres = [sections[start].plane_centroid]
        areas, signals = list(self.areas), list(self.signals)
        while True:
            last, ended = self._track(sections, start, step, centres, areas, signals, None)
            if not ended:
                return False
            found = self._bridge(last, step, centres[-1], float(median_of(areas[-2 * self.bridge_slices:])), self._drift(sections, last, step)) if self.bridged[last] else None
            if found is None:
                self._lose(range(last + step, len(self.volume) if step > 0 else -1, step), centres[-1])
                return True
            index, section = found
            sections[index] = section
            back_centres, back_areas, back_signals = [section.plane_centroid], list(areas), list(signals)
            reached, _ = self._track(sections, index, -step, back_centres, back_areas, back_signals, last, in_gap=True)
            self._lose(range(last + step, reached, step), (centres[-1] + back_centres[-1]) / 2)
            centres.append(section.centroid)
            areas.append(section.area_px * float(np.prod(self.pixel_mm)))
            signals.append(self._signal_scale(signals, index, section))
            start = index

    def _track(self, sections: dict[int, "_Section"], start: int, step: int, centres: list, areas: list, signals: list, stop: int | None, in_gap: bool = False) -> tuple[int, bool]:
        """Slice by slice from `start` until the cord is missed `stop_after` times running, the stack
        ends or slice `stop` is reached; the last slice followed and whether the cord was missed.
        `in_gap`: back into a bridged gap, where the cord is known on both sides, a section is also
        sought by its edges and off the predicted centre, and kept down to a smaller area; elsewhere
        that could follow the nerve roots past the conus."""
        misses = 0
        last = start
        index = start + step
        while 0 <= index < len(self.volume) and index != stop:
            reference = float(median_of(areas[-self.history:]))
            self.window = self._window_along(signals)
            predicted = centres[-1] if len(centres) < 2 else centres[-1] + (centres[-1] - centres[-min(len(centres), 4)]) / (min(len(centres), 4) - 1)
            section = self._continued(index, predicted, _ray_cap_mm(reference), reference, centres[-1], in_gap, misses + 1)
            if section is None:
                misses += 1
                if misses >= self.stop_after:
                    return last, True
            else:
                misses = 0
                sections[index] = section
                centres.append(section.centroid)
                areas.append(section.area_px * float(np.prod(self.pixel_mm)))
                signals.append(self._signal_scale(signals, index, section))
                last = index
            index += step
        return last, False

    def _continued(self, index: int, predicted: np.ndarray, cap_mm: float, reference: float, previous: np.ndarray, in_gap: bool, since: int = 1) -> "_Section | None":
        """The section continuing the cord on this slice: traced by the cord window, else by the
        strongest edge along each ray that the window leaves open (a mass or ligament of about the
        cord's signal where the CSF is effaced)."""
        section = self._component(index, predicted, cap_mm)
        if section is not None and self._plausible(section.area_px * float(np.prod(self.pixel_mm)), reference, section.centroid - previous, self.min_area_fraction):
            return section
        if not in_gap:
            return None
        min_fraction = self.gap_area_fraction
        found = [self._component(index, centre, cap_mm, edges=True) for centre in [predicted, *self._cord_like_points(index, predicted)]]
        pixel_area = float(np.prod(self.pixel_mm))
        kept = [
            s for s in found
            if s is not None
            and self._plausible(s.area_px * pixel_area, reference, s.centroid - previous, min_fraction, self.gap_shift_per_mm * max(since * self.slice_mm, 1.0))
            and s.area_px * pixel_area <= self.edge_max_area * reference  # a squeezed cord does not grow
        ]
        # of the sections the edges close, the one whose signal is most like the cord's (not the mass beside it)
        return min(kept, key=lambda s: abs(self._mean_signal(index, s) - self.window.centre), default=None)

    def _window_along(self, signals: list[float]) -> _Window:
        """The seed's window scaled by the cord's signal against the seed's over the last
        `reference_area_mm` followed (`_signal_scale`): a coil's bias field scales cord and CSF
        alike, by up to a third per 100 mm, and a window fixed at the seed traced the cord ever
        thinner away from it (generated seed 25, sagittal 2.5 mm: AP 6.5 mm of 7.1 at the seed,
        3.3 of 5.5 200 mm below, read as a compression from C2 to T8 on a healthy spine)."""
        scale = float(median_of(signals[-self.history:]))
        base = self.seed_window
        return _Window(base.low * scale, base.high * scale, base.centre * scale, base.csf_bright)

    def _signal_scale(self, signals: list[float], index: int, section: "_Section") -> float:
        """The section's core signal (`_core_signal`) against the seed's, moved from the last by
        at most `bias_rate_per_mm` per millimetre: a bias field changes smoothly, while a squeezed
        cord's core, a few pixels of partial volume, reads brighter or darker over a few slices
        (the built-in MDS case's compression up to 28 % brighter; followed, its area ratio read
        26 % of 32)."""
        last = signals[-1]
        if not self.seed_signal > 0:  # nan, or an image whose cord reads 0 or below: a ratio says nothing
            return last
        value = self._core_signal(index, section) / self.seed_signal
        if not np.isfinite(value):
            return last
        return float(np.clip(value, last * (1 - self.bias_rate), last * (1 + self.bias_rate)))

    def _core_signal(self, index: int, section: "_Section") -> float:
        """Median of the section's core pixels (`_core_pixels`); nan when it has none."""
        core = self._core_pixels(index, section)
        return float(median_of(core)) if core.size else float("nan")

    def _core_pixels(self, index: int, section: "_Section") -> np.ndarray:
        """The section's pixels wholly inside it (`core_coverage`), clear of the partial-volume
        edge, so that following their signal does not creep towards the CSF."""
        core = self._under(index, section)[section.coverage >= settings().core_coverage]
        return core[np.isfinite(core)]

    def _mean_signal(self, index: int, section: "_Section") -> float:
        return float((self._under(index, section) * section.coverage).sum() / section.coverage.sum())

    def _under(self, index: int, section: "_Section") -> np.ndarray:
        """The plane's pixels under the section's coverage block."""
        rows, columns = section.coverage.shape
        return self.volume[index][section.origin[0]:section.origin[0] + rows, section.origin[1]:section.origin[1] + columns]

    def _cord_like_points(self, index: int, predicted: np.ndarray) -> list[np.ndarray]:
        """Positions near `predicted` whose signal is nearest the cord's, best first: a cord pushed
        aside by a mass leaves the predicted centre in the mass. Single samples, not neighbourhood
        means: a cord squeezed to two pixels has no pixel whose neighbourhood is mostly cord."""
        config = settings()
        reach = config.relocate_radius_mm
        step = np.arange(-reach, reach + 1e-9, 1.0)
        offsets = np.array([(a, b) for a in step for b in step if np.hypot(a, b) <= reach and (a or b)])
        points = predicted + offsets / self.pixel_mm
        values = _bilinear(self.volume[index], points[:, 0], points[:, 1])
        nearest = np.argsort(np.abs(np.nan_to_num(values, nan=np.inf) - self.window.centre), kind="stable")
        return [points[n] for n in nearest[: config.relocate_tries] if np.isfinite(values[n])]

    def _drift(self, sections: dict[int, "_Section"], last: int, step: int) -> np.ndarray:
        """How far the cord's centre moved per slice (row, column) over the last `reference_area_mm`
        followed up to `last`: a straight-line fit of the traced centroids against their slices.
        The cord bends with the column, and across a gap of centimetres in a kyphosis it lies
        centimetres from where it was lost (generated seed 7: 8-10 mm in AP 30-50 mm beyond)."""
        behind = sorted(index for index in sections if 0 <= (last - index) * step < self.history)
        if len(behind) < 3:
            return np.zeros(2)
        centroids = np.array([sections[index].centroid for index in behind])
        return np.polyfit(np.array(behind, dtype=float), centroids, 1)[0]

    def _bridge(self, last: int, step: int, centre: np.ndarray, reference: float, drift: np.ndarray) -> "tuple[int, _Section] | None":
        """The first slice within the bridge beyond `last` where a cord-window section of about the
        cord's size lies near where the cord, carried on along its course (`drift` per slice), would
        be: the cord goes on beyond a narrowing. On each slice the point where it was lost is tried
        first, then that point carried on along the cord's course: the last centres before a loss
        may be the cord pushed aside by the mass (generated seed 16, axial 3.8 mm: a course of 1.3
        pixels a slice carried the search off the cord, which is found 4 slices on at the point
        itself). Traced from those points over the whole bridge first, and only then from the
        cord-like points around the carried one: near a mass of the cord's own signal those lead into the mass
        (generated seed 3, a lymphoma: found in it 5 mm beyond the loss, MSCC 57 % for 41 %, where
        the point itself finds the cord below the mass)."""
        cap_mm = _ray_cap_mm(reference)
        for relocate in (False, True):
            for count in range(self.stop_after + 1, self.bridge_slices + 1):
                index = last + step * count
                if not 0 <= index < len(self.volume):
                    break
                carried = centre + drift * step * count
                for start in (carried,) if relocate else (centre, carried):
                    section = self._bridging_section(index, start, cap_mm, reference, count, relocate)
                    if section is not None:
                        break
                else:
                    continue
                area = section.area_px * float(np.prod(self.pixel_mm))
                # A cord goes on: followed for `bridge_confirm_mm` beyond (or to the field's end); a nerve
                # root bundle below the conus is lost again within a few slices.
                reached, ended = self._track({}, index, step, [section.centroid], [area] * self.history, [self._signal_scale([self.window.centre / self.seed_window.centre], index, section)], None)
                if not ended or abs(reached - index) * self.slice_mm >= self.bridge_confirm_mm:
                    return index, section
        return None

    def _bridging_section(self, index: int, centre: np.ndarray, cap_mm: float, reference: float, count: int, relocate: bool) -> "_Section | None":
        """A cord-window section of about the cord's size on a slice `count` beyond the loss, traced
        from `centre` or, with `relocate` (the cord pushed aside beyond a mass, or off the course
        it took), from the points nearby whose signal is nearest the cord's: the first of them that
        is plausible."""
        if not np.all((centre >= 0) & (centre <= np.array(self.volume[index].shape) - 1)):
            return None  # carried on along its course, the cord has left the field here
        pixel_area = float(np.prod(self.pixel_mm))
        reach_mm = min(self.search_mm, self.max_shift_per_mm * count * self.slice_mm)
        for start in self._cord_like_points(index, centre) if relocate else [centre]:
            section = self._component(index, start, cap_mm)
            if section is None:
                continue
            area = section.area_px * pixel_area
            shift_mm = float(np.hypot(*((section.centroid - centre) * self.pixel_mm)))
            if self.bridge_area_fraction * reference <= area <= reference / self.bridge_area_fraction and shift_mm <= reach_mm:
                return section
        return None

    def _lose(self, slices: range, centre: np.ndarray) -> None:
        if len(slices):
            self.unfollowed.append(np.array([[index, *centre] for index in slices], dtype=float))

    def _plausible(self, area: float, reference: float, shift_px: np.ndarray, min_fraction: float, max_shift_mm: float | None = None) -> bool:
        """A cross-section continues the cord when its size and position change smoothly."""
        shift_mm = float(np.hypot(*(shift_px * self.pixel_mm)))
        return (
            min_fraction * reference <= area <= reference / self.min_area_fraction
            and shift_mm <= (max_shift_mm if max_shift_mm is not None else self.max_shift_per_mm * max(self.slice_mm, 1.0))
        )

    def _component(self, index: int, centre: np.ndarray, cap_mm: float | None, edges: bool = False) -> "_Section | None":
        """The cord's cross-section around `centre` on one slice, or None.

        Rays from the centre stop where the signal leaves the cord window (CSF on one side, dark
        tissue on the other); a median over neighbouring rays closes small gaps in the CSF ring
        through which a single ray would leak. Twice: the second pass starts from the first's centroid.
        """
        limit = min(cap_mm, self.search_mm) if cap_mm is not None else self.search_mm
        for _ in range(2):
            radii = self._ray_radii(index, centre, limit, edges)
            if radii is None:
                return None
            section = self._rasterise(index, centre, radii, limit)
            if section is None:
                return None
            if np.all(np.abs(section.centroid - centre) < 1.0):
                return section  # the rays started within a pixel of the centre: no second pass needed
            centre = section.centroid
        return section

    def _ray_radii(self, index: int, centre: np.ndarray, limit_mm: float, edges: bool = False) -> np.ndarray | None:
        config = settings()
        distances, rows, columns = _ray_points(centre, self.pixel_mm, limit_mm)
        values = _bilinear(self.volume[index], rows, columns)
        inside = (values >= self.window.low) & (values <= self.window.high)
        if self.blocked is not None:
            inside &= ~(_bilinear(self.blocked[index], rows, columns) > 0)
        if not inside[:, 0].all():
            return None
        leaves = ~inside
        first_exit = np.where(leaves.any(axis=1), np.argmax(leaves, axis=1), len(distances))
        if _cut_by_the_edge(values, first_exit):
            return None
        first_exit = self._edge_away_from_csf(values, first_exit)
        if edges:
            first_exit = self._strongest_edge(values, first_exit)
        if np.mean(first_exit == len(distances)) > config.max_open_rays:
            return None  # no boundary around most of the centre: this is not a cord surrounded by CSF
        radii = distances[np.minimum(first_exit, len(distances) - 1)] - config.ray_step_mm / 2
        return _circular_median(np.maximum(radii, 0.0), config.ray_median)

    def _strongest_edge(self, values: np.ndarray, first_exit: np.ndarray) -> np.ndarray:
        """Rays that never leave the cord window end at their steepest signal change, when that
        change is at least `edge_min_contrast` of the cord-CSF difference per millimetre: where
        the CSF is effaced the cord meets a mass or ligament whose signal the window takes for cord."""
        open_rays = first_exit == values.shape[1]
        if not open_rays.any():
            return first_exit
        slope = np.abs(np.diff(np.nan_to_num(values, nan=self.window.centre), axis=1)) / settings().ray_step_mm
        contrast = self.edge_min_contrast * abs(self.window.high - self.window.centre if self.window.csf_bright else self.window.centre - self.window.low) / settings().csf_side_fraction
        steep = slope >= contrast
        first = np.argmax(steep, axis=1)  # the nearest edge: a farther, stronger one is the mass's own far side
        # the steepest point of that first edge, before its slope falls under the threshold again
        after = np.cumsum(~steep & (np.arange(slope.shape[1]) > first[:, None]), axis=1) > 0
        peak = np.argmax(np.where(after, -1.0, slope), axis=1) + 1
        return np.where(open_rays & steep.any(axis=1), peak, first_exit)

    def _edge_away_from_csf(self, values: np.ndarray, first_exit: np.ndarray) -> np.ndarray:
        """Exits through tissue on the far side from the CSF (a dark mass, ligament or dura on T2)
        moved to where the signal is halfway between the cord's and that tissue's, read from the
        ray just beyond the exit. The window's far bound is a tissue test set wide for noise: a
        ray stopped there only deep in the partial-volume ramp, so a cord against a mass read
        larger than the same cord against CSF."""
        window, fraction = self.window, settings().far_side_fraction
        sign = 1.0 if window.csf_bright else -1.0  # flips T1-like images so the far side lies below
        rays = np.arange(len(values))
        exit_at = np.minimum(first_exit, values.shape[1] - 1)
        far = (first_exit < values.shape[1]) & (sign * values[rays, exit_at] < sign * (window.low if window.csf_bright else window.high))
        if not far.any():
            return first_exit
        span = int(round(settings().far_side_reach_mm / settings().ray_step_mm))
        beyond = np.minimum(exit_at[:, None] + np.arange(span + 1)[None, :], values.shape[1] - 1)
        plateau = np.full(len(values), np.nan)  # only the far exits' (a ray that left the plane has none to read)
        plateau[far] = sign * np.nanmin(sign * values[rays[far, None], beyond[far]], axis=1)
        bound = window.low if window.csf_bright else window.high
        threshold = sign * np.maximum(sign * (window.centre + fraction * (plateau - window.centre)), sign * bound)
        crossed = sign * values < (sign * threshold)[:, None]
        return np.where(far, np.minimum(first_exit, np.argmax(crossed, axis=1)), first_exit)

    def _rasterise(self, index: int, centre: np.ndarray, radii: np.ndarray, limit_mm: float) -> "_Section | None":
        """The traced outline as pixel coverage: each pixel's share inside the outline, from its
        distance to the outline across the pixel's width in that direction (a linear ramp, which
        sums to the outline's area), so the outline's sub-pixel position is kept."""
        shape = self.volume[index].shape
        reach = np.ceil(limit_mm / self.pixel_mm).astype(int) + 1
        lo = np.maximum(np.floor(centre).astype(int) - reach, 0)
        hi = np.minimum(np.ceil(centre).astype(int) + reach + 1, shape)
        rows, columns = np.arange(lo[0], hi[0])[:, None], np.arange(lo[1], hi[1])[None, :]  # broadcast: no meshgrid per slice
        d_rows, d_columns = (rows - centre[0]) * self.pixel_mm[0], (columns - centre[1]) * self.pixel_mm[1]
        angle = np.arctan2(d_columns, d_rows)
        step = 2 * np.pi / settings().rays
        boundary = np.interp(np.mod(angle, 2 * np.pi), np.arange(settings().rays + 1) * step, np.append(radii, radii[0]))
        width = np.abs(np.cos(angle)) * self.pixel_mm[0] + np.abs(np.sin(angle)) * self.pixel_mm[1]
        coverage = np.minimum(np.maximum(0.5 + (boundary - np.hypot(d_rows, d_columns)) / width, 0.0), 1.0).astype(np.float32)  # np.clip's values, without its per-call cost
        if not (coverage >= 0.5).any():
            return None
        return _Section(lo, coverage)


@dataclass(frozen=True)
class _Section:
    """One slice's cord coverage in a block of the slice starting at pixel `origin` (row, column)."""

    origin: np.ndarray
    coverage: np.ndarray  # float32 in [0, 1]

    @property
    def area_px(self) -> float:
        return float(self.coverage.sum())

    @cached_property
    def centroid(self) -> np.ndarray:
        return _centroid(self.coverage >= 0.5) + self.origin

    @property
    def plane_centroid(self) -> np.ndarray:
        """The centroid as found on the whole slice (the origin added before averaging, so to the last bit)."""
        return _centroid(self.coverage >= 0.5, self.origin)

    def paste(self, plane: np.ndarray, plane_origin: np.ndarray) -> None:
        """Into a block of the slice that starts at pixel `plane_origin` (row, column)."""
        rows, columns = self.coverage.shape
        at = self.origin - plane_origin
        plane[at[0]:at[0] + rows, at[1]:at[1] + columns] = self.coverage


_CROSS_SECTION_MARGIN = 2  # pixels of zero coverage kept around a slice's cord for the resampling


def _ray_cap_mm(reference_area_mm2: float) -> float:
    """How far a ray is cast from the predicted centre on a slice traced from the last: a few cord
    radii (`ray_cap_radii`, of the circle of the cord's recent area) plus `ray_cap_margin_mm`."""
    config = settings()
    return config.ray_cap_radii * np.sqrt(reference_area_mm2 / np.pi) + config.ray_cap_margin_mm


def _centroid(mask: np.ndarray, origin: tuple[int, int] | np.ndarray = (0, 0)) -> np.ndarray:
    """Mean (row, column) of a slice mask's pixels, plus `origin`, looked for only within their bounding
    rows and columns: scanning whole slices for every tracked slice was the tracker's largest cost."""
    rows, columns = (np.flatnonzero(mask.any(axis=1 - axis)) for axis in (0, 1))
    block = mask[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]
    return (np.argwhere(block) + (rows[0] + origin[0], columns[0] + origin[1])).mean(axis=0)


def _bilinear(plane: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Values of a 2-D array at continuous (row, column) positions; nan outside."""
    r0, c0 = np.floor(rows).astype(int), np.floor(columns).astype(int)
    fr, fc = rows - r0, columns - c0
    inside = (r0 >= 0) & (c0 >= 0) & (r0 + 1 < plane.shape[0]) & (c0 + 1 < plane.shape[1])
    r0c, c0c = np.minimum(np.maximum(r0, 0), plane.shape[0] - 2), np.minimum(np.maximum(c0, 0), plane.shape[1] - 2)  # as np.clip, cheaper per call
    value = (
        plane[r0c, c0c] * (1 - fr) * (1 - fc)
        + plane[r0c + 1, c0c] * fr * (1 - fc)
        + plane[r0c, c0c + 1] * (1 - fr) * fc
        + plane[r0c + 1, c0c + 1] * fr * fc
    )
    return np.where(inside, value, np.nan)


def _cut_by_the_edge(values: np.ndarray, first_exit: np.ndarray) -> bool:
    """Whether a ray left the cord window only by leaving the image (`_bilinear` gives nan there):
    the cord runs off the field of view and its section is cut by the edge. Such a section is no
    measure of the cord: generated seed 97 (healthy, its cervical lordosis carrying the canal out
    of the field's back edge at C1) was traced ever thinner to the edge, AP 8.3 mm down to 2.7, and
    read as a compression at C1 with MSCC 60 %. Not followed there, the cord is said not assessed."""
    left = np.flatnonzero(first_exit < values.shape[1])
    return bool(np.isnan(values[left, first_exit[left]]).any())


def _circular_median(values: np.ndarray, width: int) -> np.ndarray:
    half = width // 2
    padded = np.concatenate([values[-half:], values, values[:half]])
    windows = np.lib.stride_tricks.sliding_window_view(padded, width)
    return row_medians(windows)


# ---------------------------------------------------------------------------------------------
# Centreline and measurements


def centreline_of(mask: np.ndarray, grid: Grid) -> Centreline:
    """Per-slice centroids of the mask, smoothed along the spine, with unit tangents."""
    layout = _SliceLayout.of(grid)
    stack = layout.stack(mask)
    counts = stack.sum(axis=(1, 2))
    slices = np.flatnonzero(counts)
    if slices.size < 2:
        raise InputError("cord", "the cord segmentation covers fewer than two slices; it cannot be followed along the spine")
    rows = np.arange(stack.shape[1])
    columns = np.arange(stack.shape[2])
    row_centre = (stack.sum(axis=2)[slices] @ rows) / counts[slices]  # no copy of the mask's slices
    column_centre = (stack.sum(axis=1)[slices] @ columns) / counts[slices]
    points = grid.to_world(layout.to_ijk(grid, slices, row_centre, column_centre))
    sigma_slices = settings().centreline_smoothing_mm / grid.spacing[layout.axis]
    smooth = np.stack([_gaussian_smooth(points[:, axis], slices, sigma_slices) for axis in range(3)], axis=1)
    tangents = np.gradient(smooth, slices.astype(float), axis=0)
    tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
    tangents *= np.sign(tangents @ WORLD_SUPERIOR)[:, None] + (tangents @ WORLD_SUPERIOR == 0)[:, None]
    return Centreline(slices, smooth, tangents)


def _gaussian_smooth(values: np.ndarray, positions: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-weighted local linear fit: smooths without pulling the ends toward the middle."""
    if sigma <= 0:
        return values.astype(float)
    offsets = positions[None, :] - positions[:, None]
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    weights[np.abs(offsets) > 3 * sigma] = 0.0
    sw = weights.sum(axis=1)
    sx = (weights * offsets).sum(axis=1)
    sxx = (weights * offsets**2).sum(axis=1)
    sy = weights @ values
    sxy = (weights * offsets) @ values
    denominator = sw * sxx - sx**2
    safe = np.abs(denominator) > 1e-9
    fitted = np.where(safe, (sxx * sy - sx * sxy) / np.where(safe, denominator, 1.0), sy / sw)
    return fitted


def measure_profile(mask: np.ndarray, grid: Grid, weights: np.ndarray | None = None) -> CordProfile:
    """Area, AP and RL diameter on each slice of the mask, perpendicular to its centreline."""
    layout = _SliceLayout.of(grid)
    centreline = centreline_of(mask, grid)
    stack = layout.stack(weights if weights is not None else mask)  # each slice's crop is made float, not the volume
    directions = grid.ijk_to_world[:3, :3] / grid.spacing
    row_dir, column_dir = directions[:, layout.in_plane[0]], directions[:, layout.in_plane[1]]
    pixel_mm = np.array([grid.spacing[layout.in_plane[0]], grid.spacing[layout.in_plane[1]]])
    step = settings().upsample_mm
    band = settings().ap_band_mm
    band_fraction = settings().ap_band_max_fraction_of_rl
    results = np.full((len(centreline.slices), 3), np.nan)
    for n, index in enumerate(centreline.slices):
        right, anterior = centreline.frame(n)
        to_plane = np.array([[row_dir @ right, column_dir @ right], [row_dir @ anterior, column_dir @ anterior]])
        results[n] = _cross_section(stack[index], pixel_mm, to_plane, step, band, band_fraction)
    return CordProfile(centreline, results[:, 0], results[:, 1], results[:, 2])


def _cross_section(
    plane: np.ndarray, pixel_mm: np.ndarray, to_plane: np.ndarray, step: float, band_mm: float, band_fraction: float
) -> tuple[float, float, float]:
    """(area, AP, RL) of one slice's soft mask, projected onto the plane perpendicular to the cord.

    The AP band is at most `band_fraction` of the RL diameter: on a cord narrower than about twice
    the band, a fixed band takes in its curved sides, so its mean AP falls with the cord's width."""
    present = plane > 1e-6
    rows, columns = (np.flatnonzero(present.any(axis=1 - axis)) for axis in (0, 1))
    lo = np.maximum([rows[0] - _CROSS_SECTION_MARGIN, columns[0] - _CROSS_SECTION_MARGIN], 0)
    hi = np.minimum([rows[-1] + _CROSS_SECTION_MARGIN + 1, columns[-1] + _CROSS_SECTION_MARGIN + 1], plane.shape)
    crop = plane[lo[0]:hi[0], lo[1]:hi[1]].astype(np.float64)
    fine, fine_rows, fine_columns = _upsample_linear(crop, pixel_mm, step)
    steps = pixel_mm / np.maximum(np.round(pixel_mm / step), 1)
    cell_area = float(np.prod(steps)) * abs(float(np.linalg.det(to_plane)))
    offsets = np.stack(np.meshgrid(fine_rows, fine_columns, indexing="ij"), axis=-1)  # mm in slice
    projected = offsets @ to_plane.T  # (..., [right, anterior])
    area = float(fine.sum()) * cell_area
    inside = fine > 0.5
    if inside.sum() < 3:
        return area, np.nan, np.nan
    points = projected[inside]
    centroid = points.mean(axis=0)
    centred = points - centroid
    covariance = centred.T @ centred / len(centred)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    rl_axis = int(np.argmax(np.abs(eigenvectors[0])))  # the principal axis closest to right-left
    # Geometry, not tuning: a filled ellipse's points have variance a^2/4 along an axis of half-width a,
    # so its full width there is 4 standard deviations.
    rl = 4.0 * np.sqrt(max(eigenvalues[rl_axis], 0.0))
    along_rl = (projected - centroid) @ eigenvectors[:, rl_axis]
    band = min(band_mm, band_fraction * rl)
    # Each cell's share of the band, a linear ramp across the cell's width along RL: counted whole,
    # the band held 17 or 18 cells of 0.175 mm for its 3 mm as the cord lay against the grid, and
    # an ellipse of AP 7.1 mm on 0.7 mm pixels read 6.54 or 7.07 mm by its position alone.
    cell_width = float(np.abs(eigenvectors[:, rl_axis] @ to_plane) @ steps)
    share = np.minimum(np.maximum(0.5 + (band / 2 - np.abs(along_rl)) / cell_width, 0.0), 1.0)  # as np.clip, cheaper per call
    ap = float((fine * share).sum()) * cell_area / band
    return area, ap, float(rl)


def _upsample_linear(crop: np.ndarray, pixel_mm: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear resampling of a 2-D crop to about `step` mm (pixel areas, outside = 0)."""
    matrices, coordinates = [], []
    for axis in range(2):
        factor = max(int(round(pixel_mm[axis] / step)), 1)
        count = crop.shape[axis] * factor
        centres = (np.arange(count) + 0.5) / factor - 0.5  # in coarse pixel units
        below = np.floor(centres).astype(int)
        weight = centres - below
        matrix = np.zeros((count, crop.shape[axis]))
        rows = np.arange(count)
        valid_below = (below >= 0) & (below < crop.shape[axis])
        valid_above = (below + 1 >= 0) & (below + 1 < crop.shape[axis])
        matrix[rows[valid_below], below[valid_below]] = 1 - weight[valid_below]
        matrix[rows[valid_above], below[valid_above] + 1] += weight[valid_above]
        matrices.append(matrix)
        coordinates.append(centres * pixel_mm[axis])
    fine = matrices[0] @ crop @ matrices[1].T
    return fine, coordinates[0], coordinates[1]


# ---------------------------------------------------------------------------------------------


def cord_from_segment(image: SequenceImage, segment: Shape, role: str) -> np.ndarray:
    """A user's cord segment as a mask on the measuring image's grid (used as given)."""
    mask = np.zeros(image.grid.shape, dtype=bool)
    mask.ravel()[voxel_indices(image.grid, segment)] = True
    if not mask.any():
        raise InputError("cord", f"the cord segment holds no {role} voxel")
    return mask


def slice_points(mask: np.ndarray, grid: Grid, slices: np.ndarray) -> list[np.ndarray]:
    """World centres of the mask's voxels on each of the given slices (head-foot stack order)."""
    layout = _SliceLayout.of(grid)
    stack = layout.stack(mask)
    found = []
    for index in slices:
        rows, columns = np.nonzero(stack[index])
        found.append(grid.to_world(layout.to_ijk(grid, np.full(len(rows), index), rows, columns)))
    return found


def sample_linear(image: SequenceImage, points_world: np.ndarray) -> np.ndarray:
    """Image values at world points, trilinear between voxel centres; nan beyond the outermost centres."""
    ijk = image.grid.to_ijk(points_world)
    size = image.grid.size_ijk
    inside = np.all((ijk >= 0) & (ijk <= size - 1), axis=1)
    base = np.clip(np.floor(ijk).astype(np.int64), 0, np.maximum(size - 2, 0))
    fraction = np.clip(ijk - base, 0.0, 1.0)
    # Each axis's two indices and weights made once, the voxels read through one flat index: the
    # Bilsky stage's rays sample about a million points (the same sums, in the same order, as a
    # corner-by-corner product; 1.5-2x faster).
    indices = [(base[:, axis], np.minimum(base[:, axis] + 1, size[axis] - 1)) for axis in range(3)]
    weights = [(1.0 - fraction[:, axis], fraction[:, axis]) for axis in range(3)]
    flat, (columns, rows) = image.voxels.ravel(), (int(size[0]), int(size[1]))
    values = np.zeros(len(ijk))
    for a, b, c in np.ndindex(2, 2, 2):
        weight = weights[0][a] * weights[1][b] * weights[2][c]
        values += weight * flat[(indices[2][c] * rows + indices[1][b]) * columns + indices[0][a]]
    return np.where(inside, values, np.nan)


def sample_nearest(image: SequenceImage, points_world: np.ndarray, outside: float = np.nan) -> np.ndarray:
    """Image values at world points, nearest voxel; `outside` beyond the field of view."""
    ijk = np.rint(image.grid.to_ijk(points_world)).astype(np.int64)
    inside = np.all((ijk >= 0) & (ijk < image.grid.size_ijk), axis=1)
    values = np.full(len(ijk), outside, dtype=np.float64)
    i, j, k = ijk[inside].T
    values[inside] = image.voxels[k, j, i]
    return values


# ---------------------------------------------------------------------------------------------
# A cord region found from the level points


def seed_behind_bodies(image: SequenceImage, body_centres: list[np.ndarray]) -> list[Box]:
    """Small boxes inside the cord, found behind the labelled bodies when no cord region was drawn,
    best first (the tracker starts from the first it can follow).

    Rays run straight back from the line through the bodies' centres, at heights through and beyond
    the labelled bodies (the cord ends at the conus, above lumbar bodies), each sample averaged over
    a small band across the ray. On a ray the cord is a stretch of cord signal a few millimetres long
    with CSF on both sides (T2: darker than the CSF; T1: brighter): a dip below two flanks each as
    bright as CSF, whose stretch is cord-sized, which passes over thin dark lines (dura, ligaments,
    cortex) and the marrow in front of a body's posterior cortex. A disc's annulus between its
    bright nucleus and the CSF looks alike on one ray, but the cord is a tube: dips are ranked by how
    many rays within a few centimetres show one at nearly the same depth (all of them: the cord), then
    by nearness to a labelled body (far from it a curved or scoliotic column leaves the rays), then by
    contrast."""
    config = settings().found_seed
    if not body_centres:
        return []
    csf_bright = image.role in _CSF_BRIGHT_ROLES
    centres = np.array(sorted(body_centres, key=lambda centre: -centre[2]))
    depth = np.arange(0.0, config.reach_mm + 1e-9, config.ray_step_mm)
    band = config.band_mm
    spread = np.array([(across, up) for across in (-band, 0.0, band) for up in (-band, 0.0, band)])
    backwards = -WORLD_ANTERIOR
    rays: list[list[tuple[float, float, np.ndarray]]] = []  # per height, its dips: (depth, contrast, point)
    heights = _ray_heights(centres, config.beyond_mm, config.height_step_mm)
    for height in heights:
        start = _between_bodies(centres, height)
        points = start + depth[:, None, None] * backwards + spread[None, :, :1] * np.array([1.0, 0.0, 0.0]) + spread[None, :, 1:] * WORLD_SUPERIOR
        samples = sample_nearest(image, points.reshape(-1, 3)).reshape(len(depth), len(spread))
        finite = np.isfinite(samples)
        if finite.any(axis=1).mean() < 0.5:
            rays.append([])  # the ray runs mostly outside the field of view
            continue
        profile = np.where(finite.any(axis=1), np.where(finite, samples, 0.0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1), np.nan)
        rays.append([(at, contrast, start + at * backwards) for contrast, at in _cord_dips(profile if csf_bright else -profile, depth, config)])
    reach = int(config.tube_mm // config.height_step_mm)
    support = _tube_support([[at for at, _, _ in dips] for dips in rays], config.tube_step_mm, reach)
    candidates = [
        (support[n][m], float(np.min(np.abs(centres[:, 2] - heights[n]))), contrast, point)
        for n, dips in enumerate(rays) for m, (_, contrast, point) in enumerate(dips)
    ]
    candidates.sort(key=lambda candidate: (-candidate[0], candidate[1], -candidate[2]))
    half = np.array(config.half_size_mm)
    return [Box(point, np.eye(3), half) for *_, point in candidates[: config.tries]]


def _tube_support(depths: list[list[float]], step_mm: float, reach: int) -> list[list[int]]:
    """For each dip (by ray, then dip), how many consecutive rays up to `reach` either way carry on a
    chain of dips each within `step_mm` of depth of the one before, plus its own: a tube runs on
    over many rays, a disc's annulus over one or two."""
    def chain(order: list[int]) -> dict[tuple[int, int], int]:
        length: dict[tuple[int, int], int] = {}
        for previous, n in zip([None, *order], order):
            before = list(enumerate(depths[previous])) if previous is not None else []
            for m, at in enumerate(depths[n]):
                linked = [length[(previous, k)] for k, other in before if abs(other - at) <= step_mm]
                length[(n, m)] = 1 + min(max(linked, default=0), reach)
        return length

    upward, downward = chain(list(range(len(depths)))), chain(list(range(len(depths)))[::-1])
    return [[upward[(n, m)] + downward[(n, m)] - 1 for m in range(len(depths[n]))] for n in range(len(depths))]


def _ray_heights(centres: np.ndarray, beyond_mm: float, step_mm: float) -> np.ndarray:
    """World heights from `beyond_mm` above the highest labelled body to as far below the lowest."""
    top, bottom = centres[0, 2] + beyond_mm, centres[-1, 2] - beyond_mm
    return np.arange(bottom, top + 1e-9, step_mm)


def _between_bodies(centres: np.ndarray, height: float) -> np.ndarray:
    """The point at `height` on the polyline through the body centres (ordered superior first),
    level with the outermost ones beyond them."""
    heights = centres[::-1, 2]
    return np.array([np.interp(height, heights, centres[::-1, axis]) for axis in (0, 1)] + [height])


def _cord_dips(profile: np.ndarray, depth: np.ndarray, config: FoundSeedSettings) -> list[tuple[float, float]]:
    """(contrast, depth of its middle) of every cord-sized dip flanked by CSF-bright samples on both
    sides of a ray profile (CSF bright)."""
    step = config.ray_step_mm
    flank = int(round(config.flank_mm / step))
    start = max(int(round(config.min_depth_mm / step)), 1)
    low_width, high_width = config.width_mm
    brightest, darkest = float(np.nanmax(profile[start:])), float(np.nanmin(profile[start:]))
    csf_like = darkest + config.csf_flank_fraction * (brightest - darkest)
    found: dict[float, float] = {}  # middle of a dip's stretch: its deepest contrast
    for n in range(start, len(profile) - 1):
        value = profile[n]
        if not np.isfinite(value) or value > np.nanmin(profile[n - 1:n + 2]):
            continue
        before, after = profile[max(n - flank, 0):n], profile[n + 1:n + flank + 1]
        if not (np.isfinite(before).any() and np.isfinite(after).any()):
            continue
        rim = min(np.nanmax(before), np.nanmax(after))
        contrast = rim - value
        if contrast <= 0 or rim < csf_like:
            continue
        below = profile < value + contrast / 2
        first, last = n, n
        while first > 0 and below[first - 1]:
            first -= 1
        while last < len(profile) - 1 and below[last + 1]:
            last += 1
        middle = float((depth[first] + depth[last]) / 2)
        if low_width <= depth[last] - depth[first] + step <= high_width:
            found[middle] = max(found.get(middle, 0.0), float(contrast))
    return [(contrast, middle) for middle, contrast in found.items()]
