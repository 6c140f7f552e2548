"""One case as MRML nodes: sequences by role, regions by name, level points, clinical context.

Both entry points fill this: the command line from a case folder, the Slicer panel from the
parameter node. The analysis reads it and never changes the nodes.
"""

from dataclasses import dataclass, field

import slicer

from .errors import InputError
from .geometry import Shape
from .knowledge import load
from .nodes import box_of_roi, labelmap_of_segment


def sequence_roles() -> list[str]:
    return list(load("vocabulary")["sequences"])


def region_names() -> list[str]:
    return list(load("vocabulary")["regions"])


@dataclass(frozen=True)
class RegionSource:
    """One markups ROI, or one segment of a segmentation, that outlines part of a region."""

    node: slicer.vtkMRMLNode
    segment_id: str | None = None

    @property
    def label(self) -> str:
        if self.segment_id is None:
            return self.node.GetName()
        segment = self.node.GetSegmentation().GetSegment(self.segment_id)
        return f"{self.node.GetName()}/{segment.GetName() if segment else self.segment_id}"

    def shape(self) -> Shape:
        if self.segment_id is None:
            return box_of_roi(self.node)
        if self.node.GetSegmentation().GetSegment(self.segment_id) is None:
            raise InputError(self.label, "segment no longer exists")
        return labelmap_of_segment(self.node, self.segment_id)


@dataclass
class Study:
    name: str
    sequences: dict[str, slicer.vtkMRMLScalarVolumeNode] = field(default_factory=dict)
    regions: dict[str, list[RegionSource]] = field(default_factory=dict)
    levels: slicer.vtkMRMLMarkupsFiducialNode | None = None
    clinical: dict = field(default_factory=dict)
