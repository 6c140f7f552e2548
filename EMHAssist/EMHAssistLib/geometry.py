"""World-space shapes (ROI boxes, segment labelmaps) mapped onto a volume's own voxels.

Every region is measured on each sequence's own voxel grid through world coordinates, so image
values are never resampled: a voxel belongs to a region when its centre lies inside the shape.
Arrays follow Slicer's numpy order [k, j, i]; matrices map (i, j, k, 1) to world (R, A, S, 1).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# Candidate voxels are tested in slabs of at most this many points, so that an ROI as large as
# a whole study never needs more than a few tens of megabytes at once.
_POINTS_PER_SLAB = 1 << 20
_INSIDE_TOLERANCE_MM = 1e-6


@dataclass(frozen=True)
class Grid:
    """A voxel grid placed in world space."""

    shape: tuple[int, int, int]  # numpy order (k, j, i)
    ijk_to_world: np.ndarray  # 4x4

    @property
    def world_to_ijk(self) -> np.ndarray:
        return np.linalg.inv(self.ijk_to_world)

    @property
    def spacing(self) -> np.ndarray:
        """Voxel size along i, j, k in millimetres."""
        return np.linalg.norm(self.ijk_to_world[:3, :3], axis=0)

    @property
    def voxel_volume(self) -> float:
        return float(abs(np.linalg.det(self.ijk_to_world[:3, :3])))

    @property
    def size_ijk(self) -> np.ndarray:
        return np.array(self.shape[::-1])

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


def voxel_indices(grid: Grid, shape: Shape) -> np.ndarray:
    """Flat indices (into an array of `grid.shape`) of the voxels whose centres lie in `shape`."""
    corners = shape.corners_world()
    if corners.size == 0:
        return np.empty(0, dtype=np.int64)
    corners_ijk = grid.to_ijk(corners)
    lo = np.maximum(np.floor(corners_ijk.min(axis=0)), 0).astype(np.int64)
    hi = np.minimum(np.ceil(corners_ijk.max(axis=0)), grid.size_ijk - 1).astype(np.int64)
    if np.any(hi < lo):
        return np.empty(0, dtype=np.int64)
    found = [_indices_in_slab(grid, shape, lo, hi, k0, k1) for k0, k1 in _slabs(lo, hi)]
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def lies_within(grid: Grid, shape: Shape) -> bool:
    """True when the whole shape lies inside the grid's field of view."""
    corners = shape.corners_world()
    return bool(corners.size) and bool(np.all(grid.encloses(corners)))


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


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def _box_corners(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])], dtype=float)
