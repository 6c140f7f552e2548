"""The quiz's own nodes in a scene, changed here: its state node (a scripted-module node, hidden from
the editors, holding the quiz's parameters and its nodes by reference role) and the look of its boxes.
teaching/quiz.py reads them and decides what to change; this module changes them, so that MRML is
written only in inputs/ and outputs/ (Testing/test_layers.py). The look's values come from the caller
(the quiz's settings live with the teaching layer, after this one)."""

from collections.abc import Mapping, Sequence

import slicer

from ..geometry import Box
from .scene_writing import new_roi


def new_state_node(scene: slicer.vtkMRMLScene, name: str, marker: str, parameters: Mapping[str, str], references: Mapping[str, str]) -> slicer.vtkMRMLScriptedModuleNode:
    """A hidden state node named `name`, marked by the attribute `marker`, holding `parameters` and
    referencing each node id of `references` under its role."""
    state = scene.AddNewNodeByClass("vtkMRMLScriptedModuleNode", name)
    state.SetHideFromEditors(True)
    state.SetAttribute(marker, "1")
    for key, value in parameters.items():
        state.SetParameter(key, value)
    for role, node_id in references.items():
        state.SetNodeReferenceID(role, node_id)
    return state


def set_parameter(state: slicer.vtkMRMLScriptedModuleNode, key: str, value: str) -> None:
    state.SetParameter(key, value)


def add_reference(state: slicer.vtkMRMLScriptedModuleNode, role: str, node: slicer.vtkMRMLNode) -> None:
    state.AddNodeReferenceID(role, node.GetID())


def drop_reference(state: slicer.vtkMRMLScriptedModuleNode, roles: Sequence[str], node: slicer.vtkMRMLNode) -> None:
    """Every reference of `state` to `node` under `roles`."""
    for role in roles:
        for index in reversed(range(state.GetNumberOfNodeReferences(role))):
            if state.GetNthNodeReferenceID(role, index) == node.GetID():
                state.RemoveNthNodeReferenceID(role, index)


def mark(node: slicer.vtkMRMLNode, attribute: str, value: str) -> None:
    node.SetAttribute(attribute, value)


def remove_node(node: slicer.vtkMRMLNode, scene: slicer.vtkMRMLScene) -> None:
    if scene.IsNodePresent(node):
        scene.RemoveNode(node)


def new_marked_roi(scene: slicer.vtkMRMLScene, name: str, box: Box, attribute: str) -> slicer.vtkMRMLMarkupsROINode:
    """An ROI on `box` whose `attribute` holds its name."""
    roi = new_roi(scene, name, box)
    mark(roi, attribute, name)
    return roi


def style_roi(roi: slicer.vtkMRMLMarkupsROINode, color: tuple[float, float, float], fill: bool, name_labels: bool) -> None:
    """A box drawn in `color` (also when selected), filled or as an outline, its name shown or not."""
    roi.CreateDefaultDisplayNodes()
    display = roi.GetDisplayNode()
    display.SetColor(color)
    display.SetSelectedColor(color)
    display.SetFillVisibility(fill)
    display.SetPropertiesLabelVisibility(name_labels)


def lock_roi(roi: slicer.vtkMRMLMarkupsROINode, handles: bool) -> None:
    """A box no one may move any more, its handles and centre point shown or not."""
    roi.SetLocked(True)
    roi.CreateDefaultDisplayNodes()
    roi.GetDisplayNode().SetHandlesInteractive(handles)
    for point in range(roi.GetNumberOfControlPoints()):
        roi.SetNthControlPointVisibility(point, handles)
