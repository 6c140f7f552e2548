"""What the inputs hand on to the engine: images, region outlines and labelled points as plain data.

They are read from their MRML nodes here in inputs (`nodes.sequence_image`, `RegionSource.outline`,
`nodes.point_list`, `study.spine_inputs`); the stages that compute (measurement, spine, differential)
read only these and never hold a node.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..geometry import Grid, Shape
from ..settings import spine_settings


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


def check_mass_boxes(outlines: Sequence[Outline]) -> None:
    """A mass ROI longer than `mass.roi_side_max_mm` on a side is refused by name (its reason is in
    data/levels.json): the mass's growth would take the volume for its seed, and its ratios would be
    measured on the box clipped to the images. A painted mass segment is taken as given."""
    limit = spine_settings().mass.roi_side_max_mm
    for outline in outlines:
        if outline.segment:
            continue
        side = float(np.max(2 * np.asarray(outline.shape.half_size)))
        if not side <= limit:
            raise InputError(outline.label, f"the mass ROI is {side:g} mm along its longest side; a mass ROI may be at most {limit:g} mm (data/levels.json mass.roi_side_max_mm)")


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
