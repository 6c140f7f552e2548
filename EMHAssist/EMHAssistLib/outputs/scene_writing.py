"""The nodes EMHAssist makes and changes in a scene, beside its overlays (overlays.py), its results
table (tables.py) and the quiz's nodes (quiz_scene.py): volumes, ROIs and point lists made from plain
data (a teaching case built in memory, the overlays' labels), a segment's voxels, the report kept as
a text node that saves with the scene, Slicer's place target, a volume's display as the browser viewer
shows it, and the names the self-test gives its second copy of a case. inputs/ only reads nodes, and
the frontends call these rather than changing nodes themselves (Testing/test_layers.py)."""

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import slicer
import vtk
from vtk.util import numpy_support

from ..errors import InputError
from ..geometry import Box, Grid
from ..inputs.nodes import vtk_matrix
from ..report_model import Report
from .report import to_json

REPORT_ATTRIBUTE = "EMHAssist.schema"
SELECTION_NODE_ID = "vtkMRMLSelectionNodeSingleton"  # the application's selection node


@contextmanager
def keeping_place_target(scene: slicer.vtkMRMLScene) -> Iterator[None]:
    """Slicer's Markups logic makes every markups node added outside a batch the active place node:
    the overlays' point lists and lines would become the target of the user's next click, even
    half-way through placing an ROI. The selection node's active place node is put back afterwards."""
    selection = scene.GetNodeByID(SELECTION_NODE_ID)
    if selection is None:
        yield
        return
    class_name, node_id = selection.GetActivePlaceNodeClassName(), selection.GetActivePlaceNodeID()
    try:
        yield
    finally:
        if (selection.GetActivePlaceNodeClassName(), selection.GetActivePlaceNodeID()) != (class_name, node_id):
            selection.SetReferenceActivePlaceNodeClassName(class_name)
            selection.SetActivePlaceNodeID(node_id)


def write_report_node(report: Report, node: slicer.vtkMRMLTextNode) -> None:
    """The whole report as JSON in a text node, which saves with the scene."""
    node.SetText(json.dumps(to_json(report), indent=2, ensure_ascii=False))
    node.SetAttribute(REPORT_ATTRIBUTE, report.schema)


def new_table(scene: slicer.vtkMRMLScene, name: str) -> slicer.vtkMRMLTableNode:
    return scene.AddNewNodeByClass("vtkMRMLTableNode", name)


def displayed(volume: slicer.vtkMRMLScalarVolumeNode) -> slicer.vtkMRMLScalarVolumeDisplayNode:
    """The volume's display node, made as Slicer makes it when a volume is first shown."""
    if volume.GetDisplayNode() is None:
        volume.CreateDefaultDisplayNodes()
    return volume.GetDisplayNode()


def set_window_level(display: slicer.vtkMRMLScalarVolumeDisplayNode, window: float, level: float) -> None:
    """A window and level of the reader's choosing, which Slicer's automatic one no longer overrides."""
    display.SetAutoWindowLevel(False)
    display.SetWindowLevel(window, level)


def add_name_suffix(nodes: Iterable[slicer.vtkMRMLNode], suffix: str) -> None:
    for node in nodes:
        node.SetName(node.GetName() + suffix)


def set_segment_mask(
    segmentation: slicer.vtkMRMLSegmentationNode, segment_id: str, mask: np.ndarray, grid: Grid
) -> None:
    """Replace a segment's voxels with a boolean mask defined on `grid`."""
    image = slicer.vtkOrientedImageData()
    image.SetDimensions(grid.shape[2], grid.shape[1], grid.shape[0])
    image.AllocateScalars(vtk.VTK_UNSIGNED_CHAR, 1)
    numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())[:] = mask.astype(np.uint8).ravel()
    image.SetImageToWorldMatrix(vtk_matrix(grid.ijk_to_world))
    logic = slicer.vtkSlicerSegmentationsModuleLogic
    if not logic.SetBinaryLabelmapToSegment(image, segmentation, segment_id, logic.MODE_REPLACE):
        raise InputError(segmentation.GetName(), f"could not write segment {segment_id}")


def set_volume_geometry(volume: slicer.vtkMRMLVolumeNode, ijk_to_world: np.ndarray) -> None:
    volume.SetIJKToRASMatrix(vtk_matrix(ijk_to_world))


def new_volume(scene: slicer.vtkMRMLScene, name: str, voxels: np.ndarray, ijk_to_world: np.ndarray) -> slicer.vtkMRMLScalarVolumeNode:
    """A scalar volume node holding `voxels` (k, j, i), placed by `ijk_to_world`."""
    volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
    set_volume_voxels(volume, voxels)
    set_volume_geometry(volume, ijk_to_world)
    return volume


def set_volume_voxels(volume: slicer.vtkMRMLScalarVolumeNode, voxels: np.ndarray) -> None:
    slicer.util.updateVolumeFromArray(volume, voxels)


def new_roi(scene: slicer.vtkMRMLScene, name: str, box: Box) -> slicer.vtkMRMLMarkupsROINode:
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", name)
    set_roi_box(roi, box)
    return roi


@dataclass(frozen=True)
class ListedPoint:
    """A point of a point list: its label and world position, whether it is drawn selected (None: as
    Slicer adds it, selected) and its description (the level points' source)."""

    label: str
    position: Sequence[float]
    selected: bool | None = None
    description: str = ""


POINT_LIST_CLASS = "vtkMRMLMarkupsFiducialNode"


def new_point_list(scene: slicer.vtkMRMLScene, name: str, points: Iterable[ListedPoint] = ()) -> slicer.vtkMRMLMarkupsFiducialNode:
    """A point list holding `points`: every point list EMHAssist makes is made here (a teaching case's
    level points, the overlays' levels and differential label, the laid-out labels' text lists)."""
    node = scene.AddNewNodeByClass(POINT_LIST_CLASS, name)
    add_points(node, points)
    return node


def add_points(node: slicer.vtkMRMLMarkupsFiducialNode, points: Iterable[ListedPoint]) -> None:
    for point in points:
        index = node.AddControlPoint(*point.position, point.label)
        if point.selected is not None:
            node.SetNthControlPointSelected(index, point.selected)
        if point.description:
            node.SetNthControlPointDescription(index, point.description)


def label_point(points: slicer.vtkMRMLMarkupsFiducialNode, index: int, label: str) -> None:
    points.SetNthControlPointLabel(index, label)


def set_roi_size(roi: slicer.vtkMRMLMarkupsROINode, size: Sequence[float]) -> None:
    """The ROI's extent along its own axes (mm), about its centre."""
    roi.SetSize(*size)


def set_roi_box(roi: slicer.vtkMRMLMarkupsROINode, box: Box) -> None:
    """Place an ROI node exactly on a box (centre, orientation and size)."""
    object_to_node = np.eye(4)
    object_to_node[:3, :3] = box.axes
    object_to_node[:3, 3] = box.center
    roi.SetSize(*(2 * box.half_size))
    roi.SetAndObserveObjectToNodeMatrix(vtk_matrix(object_to_node))


def new_text_node(scene: slicer.vtkMRMLScene, name: str) -> slicer.vtkMRMLTextNode:
    return scene.AddNewNodeByClass("vtkMRMLTextNode", name)


def new_node_to_place(scene: slicer.vtkMRMLScene, class_name: str, name: str) -> slicer.vtkMRMLMarkupsNode:
    """An empty markups node, named uniquely, that the user's clicks will place (the panel's Place
    buttons), with the display nodes the views draw it by; a point list made as every point list is."""
    unique = scene.GenerateUniqueName(name)
    node = new_point_list(scene, unique) if class_name == POINT_LIST_CLASS else scene.AddNewNodeByClass(class_name, unique)
    node.CreateDefaultDisplayNodes()
    return node


def set_place_target(selection: slicer.vtkMRMLSelectionNode, class_name: str, node: slicer.vtkMRMLMarkupsNode) -> None:
    """`node` (of `class_name`) becomes the one the user's next click in a view places a point of."""
    selection.SetReferenceActivePlaceNodeClassName(class_name)
    selection.SetActivePlaceNodeID(node.GetID())
