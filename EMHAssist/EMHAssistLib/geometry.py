"""World-space shapes (ROI boxes, segment labelmaps) mapped onto a volume's own voxels.

Every region is measured on each sequence's own voxel grid through world coordinates, so image
values are never resampled: a voxel belongs to a region when its centre lies inside the shape.
Arrays follow Slicer's numpy order [k, j, i]; matrices map (i, j, k, 1) to world (R, A, S, 1).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple, Protocol

import numpy as np

# Candidate voxels are tested in slabs of at most this many points, so that an ROI as large as
# a whole study never needs more than a few tens of megabytes at once.
_POINTS_PER_SLAB = 1 << 20
_INSIDE_TOLERANCE_MM = 1e-6
# A box axis runs along a grid axis when its steps along the other two are below this fraction of
# its step along that one: across a whole grid that shifts a voxel by far less than the tolerance.
_PARALLEL_FRACTION = 1e-12
_BOX_AXES = np.arange(3)


@dataclass(frozen=True)
class Grid:
    """A voxel grid placed in world space.

    A grid is a value: what is derived from its matrix is computed once (a live update asks for
    it for every region on every sequence) and handed out read-only.
    """

    shape: tuple[int, int, int]  # numpy order (k, j, i)
    ijk_to_world: np.ndarray  # 4x4

    @cached_property
    def world_to_ijk(self) -> np.ndarray:
        return _read_only(np.linalg.inv(self.ijk_to_world))

    @cached_property
    def spacing(self) -> np.ndarray:
        """Voxel size along i, j, k in millimetres."""
        return _read_only(np.linalg.norm(self.ijk_to_world[:3, :3], axis=0))

    @cached_property
    def voxel_volume(self) -> float:
        return float(abs(np.linalg.det(self.ijk_to_world[:3, :3])))

    @cached_property
    def size_ijk(self) -> np.ndarray:
        return _read_only(np.array(self.shape[::-1]))

    def to_ijk(self, points_world: np.ndarray) -> np.ndarray:
        """Continuous (i, j, k) of world points, shape (N, 3)."""
        return _apply(self.world_to_ijk, points_world)

    def to_world(self, points_ijk: np.ndarray) -> np.ndarray:
        return _apply(self.ijk_to_world, points_ijk)

    def encloses(self, points_world: np.ndarray) -> np.ndarray:
        """True for world points inside the grid's field of view (voxel edges included)."""
        ijk = self.to_ijk(points_world)
        return np.all((ijk >= -0.5) & (ijk <= self.size_ijk - 0.5), axis=1)

    def corners_world(self) -> np.ndarray:
        return self.to_world(_box_corners(np.full(3, -0.5), self.size_ijk - 0.5))

    def block(self, lo_ijk: np.ndarray, hi_ijk: np.ndarray) -> "Grid":
        """The grid of the block of voxels from `lo_ijk` to `hi_ijk` (both included): the array
        `volume[lo_k:hi_k + 1, lo_j:hi_j + 1, lo_i:hi_i + 1]` lies on it."""
        shift = np.eye(4)
        shift[:3, 3] = lo_ijk
        size = np.asarray(hi_ijk) - np.asarray(lo_ijk) + 1
        return Grid((int(size[2]), int(size[1]), int(size[0])), self.ijk_to_world @ shift)


class Shape(Protocol):
    """A region's geometry in world space."""

    def corners_world(self) -> np.ndarray:
        """Corners of a box that encloses the shape, shape (8, 3)."""

    def contains(self, points_world: np.ndarray) -> np.ndarray:
        """Boolean per world point, shape (N,)."""


@dataclass(frozen=True)
class Box:
    """An oriented box, as a markups ROI: centre, unit axes (columns) and half-size in mm."""

    center: np.ndarray
    axes: np.ndarray
    half_size: np.ndarray

    def corners_world(self) -> np.ndarray:
        local = _box_corners(-self.half_size, self.half_size)
        return local @ self.axes.T + self.center

    def contains(self, points_world: np.ndarray) -> np.ndarray:
        local = (points_world - self.center) @ self.axes
        return np.all(np.abs(local) <= self.half_size + _INSIDE_TOLERANCE_MM, axis=1)

    @property
    def volume_mm3(self) -> float:
        return float(np.prod(2 * self.half_size))


@dataclass(frozen=True)
class Labelmap:
    """A binary labelmap on its own grid, as a segment's binary labelmap representation."""

    grid: Grid
    mask: np.ndarray  # bool, numpy order

    def corners_world(self) -> np.ndarray:
        occupied = np.argwhere(self.mask)
        if occupied.size == 0:
            return np.empty((0, 3))
        lo_kji, hi_kji = occupied.min(axis=0), occupied.max(axis=0)
        return self.grid.to_world(_box_corners(lo_kji[::-1] - 0.5, hi_kji[::-1] + 0.5))

    def contains(self, points_world: np.ndarray) -> np.ndarray:
        ijk = np.rint(self.grid.to_ijk(points_world)).astype(np.int64)
        inside = np.all((ijk >= 0) & (ijk < self.grid.size_ijk), axis=1)
        result = np.zeros(len(points_world), dtype=bool)
        i, j, k = ijk[inside].T
        result[inside] = self.mask[k, j, i]
        return result

    def mask_on(self, grid: Grid) -> np.ndarray:
        """The labelmap as a boolean mask on another grid, voxel by nearest voxel (exact for a block of its own grid)."""
        occupied = np.argwhere(self.mask)
        ijk = np.rint(grid.to_ijk(self.grid.to_world(occupied[:, ::-1].astype(float)))).astype(np.int64)
        ijk = ijk[np.all((ijk >= 0) & (ijk < grid.size_ijk), axis=1)]
        mask = np.zeros(grid.shape, dtype=bool)
        mask[ijk[:, 2], ijk[:, 1], ijk[:, 0]] = True
        return mask


class BoxVoxels(NamedTuple):
    """The voxels of a box on a grid: a block of the grid (numpy slices, order [k, j, i]) and a
    boolean mask over it, None when the box fills its block; `within` when the whole box lies
    inside the grid's field of view."""

    block: tuple[slice, slice, slice]
    mask: np.ndarray | None
    within: bool


def voxel_indices(grid: Grid, shape: Shape) -> np.ndarray:
    """Flat indices (into an array of `grid.shape`) of the voxels whose centres lie in `shape`."""
    if isinstance(shape, Box):
        voxels = box_voxels(grid, shape)
        indices = _block_indices(grid, voxels.block)
        return indices if voxels.mask is None else indices[voxels.mask.ravel()]
    span = _voxel_span(grid, shape)
    if span is None:
        return np.empty(0, dtype=np.int64)
    found = [_indices_in_slab(grid, shape, *span, k0, k1) for k0, k1 in _slabs(*span)]
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def box_voxels(grid: Grid, box: Box) -> BoxVoxels:
    """The voxels whose centres lie in a box, as the block of the grid around it and a mask over
    that block (no mask when the box is parallel to the grid's planes and fills its block, the
    usual case of an ROI drawn on the volume it measures), so that values are read from the block
    with no index per voxel.

    A convex box cuts each row of voxels along i in one run, whose ends follow from its faces
    (with the tolerance `Box.contains` uses, so the two agree but for a voxel centre within
    rounding error, about 1e-12 mm, of that tolerance): work and memory grow with the box's block,
    never with a point test per voxel, which keeps a live update of all regions within milliseconds.
    """
    bounds = _ijk_bounds(grid, box)
    within = _within(grid, *bounds)
    span = _span(grid, *bounds)
    if span is None:
        return BoxVoxels((slice(0, 0),) * 3, None, within)
    lo, hi = span
    steps, origin, limit = _box_frame(grid, box)
    ends = _aligned_block(steps, origin, limit, lo, hi)
    if ends is not None:
        return BoxVoxels(_slices(*ends), None, within)
    i, j, k = (np.arange(lo[axis], hi[axis] + 1) for axis in range(3))
    row_origins = (origin[:, None, None] + steps[:, 2, None, None] * k[:, None] + steps[:, 1, None, None] * j).reshape(3, -1)
    enter, leave = _row_bounds(row_origins, steps[:, 0], limit, grid.spacing[0])
    inside = (i >= enter[:, None]) & (i <= leave[:, None])
    return BoxVoxels(_slices(lo, hi), inside.reshape(len(k), len(j), len(i)), within)


def lies_within(grid: Grid, shape: Shape) -> bool:
    """True when the whole shape lies inside the grid's field of view."""
    if isinstance(shape, Box):
        return _within(grid, *_ijk_bounds(grid, shape))
    corners = shape.corners_world()
    return bool(corners.size) and bool(np.all(grid.encloses(corners)))


def overlaps(grid: Grid, shape: Shape) -> bool:
    """True when the shape's bounding box reaches into the grid's field of view."""
    bounds = _ijk_bounds(grid, shape)
    return bounds is not None and bool((bounds[0] <= grid.size_ijk - 0.5).all() and (bounds[1] >= -0.5).all())


def _ijk_bounds(grid: Grid, shape: Shape) -> tuple[np.ndarray, np.ndarray] | None:
    """Lowest and highest continuous (i, j, k) the shape reaches on the grid; None when it is empty."""
    if isinstance(shape, Box):
        to_ijk = grid.world_to_ijk
        centre = to_ijk[:3, :3] @ shape.center + to_ijk[:3, 3]
        reach = np.abs(to_ijk[:3, :3] @ shape.axes) @ shape.half_size
        return centre - reach, centre + reach
    corners = shape.corners_world()
    if corners.size == 0:
        return None
    corners_ijk = grid.to_ijk(corners)
    return corners_ijk.min(axis=0), corners_ijk.max(axis=0)


def _within(grid: Grid, low: np.ndarray, high: np.ndarray) -> bool:
    return bool((low >= -0.5).all() and (high <= grid.size_ijk - 0.5).all())


def _voxel_span(grid: Grid, shape: Shape) -> tuple[np.ndarray, np.ndarray] | None:
    """First and last (i, j, k) of the grid's voxels around the shape; None when none are."""
    bounds = _ijk_bounds(grid, shape)
    return None if bounds is None else _span(grid, *bounds)


def _span(grid: Grid, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        return None  # a shape or grid so far out (1e300 mm) that its indices overflow holds no voxel
    # Clipped before the cast: a bound far outside the grid must not overflow int64.
    lo = np.floor(np.clip(low, 0, grid.size_ijk)).astype(np.int64)
    hi = np.ceil(np.clip(high, -1, grid.size_ijk - 1)).astype(np.int64)
    return None if (hi < lo).any() else (lo, hi)


def _box_frame(grid: Grid, box: Box) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Box-frame displacement per unit i, j, k (columns), box coordinates of voxel (0, 0, 0), and
    the half-sizes with the inside tolerance."""
    steps = box.axes.T @ grid.ijk_to_world[:3, :3]
    origin = box.axes.T @ (grid.ijk_to_world[:3, 3] - box.center)
    return steps, origin, box.half_size + _INSIDE_TOLERANCE_MM


def _aligned_block(steps: np.ndarray, origin: np.ndarray, limit: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """First and last (i, j, k) inside a box whose faces are parallel to the grid's planes, else None.

    Such a box, the usual case of an ROI drawn on the volume it measures, holds a block of voxels.
    """
    size = np.abs(steps)
    follows = size.argmax(axis=1)  # the grid axis along which each box axis runs
    along = size[_BOX_AXES, follows]
    if len(set(follows.tolist())) < 3 or size.sum() - along.sum() > _PARALLEL_FRACTION * along.min():
        return None
    centre, reach = np.empty(3), np.empty(3)
    centre[follows] = -origin / steps[_BOX_AXES, follows]  # grid index of each mid-plane of the box
    reach[follows] = limit / along
    return np.maximum(np.ceil(centre - reach), lo).astype(np.int64), np.minimum(np.floor(centre + reach), hi).astype(np.int64)


def _slices(first: np.ndarray, last: np.ndarray) -> tuple[slice, slice, slice]:
    """Numpy slices ([k, j, i]) from first to last (i, j, k) inclusive; empty where last < first."""
    return tuple(slice(int(first[axis]), int(max(last[axis] + 1, first[axis]))) for axis in (2, 1, 0))


def _block_indices(grid: Grid, block: tuple[slice, slice, slice]) -> np.ndarray:
    k, j, i = (np.arange(part.start, part.stop) for part in block)
    return (((k[:, None] * grid.shape[1] + j) * grid.shape[2])[:, :, None] + i).ravel()


def _row_bounds(row_origins: np.ndarray, step: np.ndarray, limit: np.ndarray, voxel_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest continuous i of each row at which all its box coordinates lie within
    +-limit (highest < lowest: the row misses the box).

    `row_origins` holds each row's box coordinates at i = 0, shape (3, rows), `step` their
    change per unit i and `voxel_mm` the length of that unit.
    """
    # A box axis all but perpendicular to the rows (as the block path judges it; dividing by its
    # vanishing step would overflow) puts a row between its faces everywhere or nowhere.
    parallel = np.abs(step) <= _PARALLEL_FRACTION * voxel_mm
    change = np.where(parallel, 1.0, step)[:, None]
    crossing = row_origins / -change  # the i at which each row meets each mid-plane of the box
    reach = np.where(parallel, np.inf, limit / np.abs(change[:, 0]))[:, None]
    lowest, highest = crossing - reach, crossing + reach
    enter = np.maximum(np.maximum(lowest[0], lowest[1]), lowest[2])
    leave = np.minimum(np.minimum(highest[0], highest[1]), highest[2])
    if parallel.any():
        leave[(np.abs(row_origins[parallel]) > limit[parallel, None]).any(axis=0)] = -np.inf
    return enter, leave


def _slabs(lo: np.ndarray, hi: np.ndarray) -> Iterator[tuple[int, int]]:
    points_per_k = (hi[0] - lo[0] + 1) * (hi[1] - lo[1] + 1)
    step = max(1, _POINTS_PER_SLAB // int(points_per_k))
    for k0 in range(int(lo[2]), int(hi[2]) + 1, step):
        yield k0, min(k0 + step - 1, int(hi[2]))


def _indices_in_slab(grid: Grid, shape: Shape, lo: np.ndarray, hi: np.ndarray, k0: int, k1: int) -> np.ndarray:
    k, j, i = np.meshgrid(
        np.arange(k0, k1 + 1), np.arange(lo[1], hi[1] + 1), np.arange(lo[0], hi[0] + 1), indexing="ij"
    )
    ijk = np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1)
    inside = shape.contains(grid.to_world(ijk.astype(np.float64)))
    return np.ravel_multi_index((k.ravel()[inside], j.ravel()[inside], i.ravel()[inside]), grid.shape)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


# Multiply-adds (rows x columns x inner) up to which OpenBLAS runs a matrix product on one thread
# (its threshold is 65536 x 4; half of it, for other builds' margins). On threads, the products of
# many points by a small matrix ran several times slower on the shared cores, in CPU time as well as
# in wall time: a million points by a 3 x 3 matrix took 135 ms of CPU (386 ms wall at load average
# 10) against 17 ms (52 ms) in blocks of rows under the threshold.
_ONE_THREAD_PRODUCT = 65536 * 2


def product_by_rows(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """`left @ right` for a tall `left` (N, K) and a small `right` (K, M), in blocks of rows that
    BLAS runs on one thread each. With a 3 x 3 `right` (a point transform) every value is the one a
    single product gives, bit for bit (Testing/test_geometry.py); with a wide one BLAS may order a
    row's sums otherwise, within rounding (nearest_centreline_index allows for that)."""
    rows = max(1, _ONE_THREAD_PRODUCT // (right.shape[0] * right.shape[1]))
    if len(left) <= rows:
        return left @ right
    out = np.empty((len(left), right.shape[1]), dtype=np.result_type(left, right))
    # No block of a single row: numpy multiplies a row by a matrix another way, whose sums may round otherwise.
    ends = [*range(rows, len(left) - 1, rows), len(left)]
    for start, end in zip([0, *ends[:-1]], ends):
        np.matmul(left[start:end], right, out=out[start:end])
    return out


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    return product_by_rows(points, matrix[:3, :3].T) + matrix[:3, 3]


def _box_corners(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])], dtype=float)
