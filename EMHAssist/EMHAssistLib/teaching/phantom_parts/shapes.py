"""Signed-distance primitives of the teaching phantom: every structure is a signed distance in
millimetres, negative inside, evaluated on arrays of spine-frame coordinates (`Coords`)."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np


def ellipsoid_sd(*terms: tuple[np.ndarray, Any]) -> np.ndarray:
    """Distance to an axis-aligned ellipse or ellipsoid given (offset, semi-axis) pairs.

    Exact on the axes and first-order accurate elsewhere near the surface, which is all the
    one-voxel soft edges and the few-millimetre clearances of the anatomy rely on.
    """
    rho = np.sqrt(sum((offset / semi) ** 2 for offset, semi in terms)) + np.float32(1e-6)
    gradient = np.sqrt(sum((offset / semi**2) ** 2 for offset, semi in terms))
    largest = max(float(np.max(semi)) for _, semi in terms)
    return (rho - 1) * rho / np.maximum(gradient, rho / largest)


def slab_sd(value: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.abs(value - (low + high) / 2) - (high - low) / 2


def intersection(*distances: np.ndarray) -> np.ndarray:
    return reduce(np.maximum, distances)


def union(*distances: np.ndarray) -> np.ndarray:
    return reduce(np.minimum, distances)


def rounded_intersection(first: np.ndarray, second: np.ndarray, radius: float) -> np.ndarray:
    """Intersection of two roughly orthogonal shapes with its edges rounded by `radius`."""
    outside = np.sqrt(np.maximum(first + radius, 0) ** 2 + np.maximum(second + radius, 0) ** 2)
    return outside + np.minimum(np.maximum(first, second) + radius, 0) - radius


def capsule_sd(points: Sequence[np.ndarray], start: Sequence[float], end: Sequence[float], radius: float) -> np.ndarray:
    along = [b - a for a, b in zip(start, end)]
    length2 = sum(component**2 for component in along)
    relative = [p - a for p, a in zip(points, start)]
    h = np.clip(sum(r * a for r, a in zip(relative, along)) / length2, 0, 1)
    return np.sqrt(sum((r - a * h) ** 2 for r, a in zip(relative, along))) - radius


@dataclass(frozen=True)
class Coords:
    """Spine-frame coordinates of a block of voxels, as arrays that broadcast to the block."""

    x: np.ndarray
    u: np.ndarray
    t: np.ndarray
