"""What the inputs hand on to the engine: images, region outlines and labelled points as plain data.

They are read from their MRML nodes here in inputs (`nodes.sequence_image`, `RegionSource.outline`,
`nodes.point_list`, `study.spine_inputs`); the stages that compute (measurement, spine, differential)
read only these and never hold a node.
"""

from dataclasses import dataclass

import numpy as np

from ..geometry import Grid, Shape


@dataclass(frozen=True)
class SequenceImage:
    """A sequence's voxels and their place in the world, read once per analysis."""

    role: str
    grid: Grid
    voxels: np.ndarray  # numpy order [k, j, i], the volume's own array (not copied)


@dataclass(frozen=True)
class Outline:
    """One outline of a region: a markups ROI's box, or a segment the user drew (taken as given)."""

    label: str  # the node's name, and the segment's ("regions/cord"), for messages
    shape: Shape
    segment: bool


@dataclass(frozen=True)
class LabelledPoint:
    label: str
    position: np.ndarray  # world RAS


@dataclass(frozen=True)
class PointList:
    """A markups point list's points in order, under the list's name (for messages)."""

    name: str
    points: tuple[LabelledPoint, ...]


@dataclass(frozen=True)
class SpineInputs:
    """What the spine stage reads of a study: the cord's and the mass's outlines, and the level points."""

    cord: tuple[Outline, ...]
    mass: tuple[Outline, ...]
    level_points: PointList | None
