"""What EMHAssist writes into a scene beside its overlays (overlays.py) and its results table
(tables.py): the report kept as a text node that saves with the scene, Slicer's place target kept
while results are drawn, a volume's display as the browser viewer shows it, and the names the
self-test gives its second copy of a case. The frontends call these rather than changing nodes
themselves (Testing/test_layers.py: MRML is changed only in inputs/ and outputs/)."""

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import slicer

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
