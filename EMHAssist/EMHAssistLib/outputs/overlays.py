"""The analysis drawn into the MRML scene: segments, labelled levels and the differential beside the mass.

Every node lives under one subject-hierarchy folder per case, so the overlays save with the scene,
hide and show with the folder's visibility, and are replaced, never duplicated, when the analysis
runs again. A report section that is absent draws nothing. MRML only, no Qt: the same code runs
inside Slicer and headless. Colours, wording and placement come from `data/overlays.json`. Text
nodes are not drawn in views; the explanation node holds the full reasoning for the module panel
and the saved scene.
"""

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import slicer
import vtk

from .. import CAVEAT
from .. import number_format as numbers
from ..differential import knowledge
from ..geometry import Labelmap
from ..inputs.study import Study, outlines
from ..report_model import BilskyGrade, Extent, Levels, LevelVertebra, RankedDiagnosis, Report, Span
from ..spine.levels import LevelMap
from ..spine.vertebrae import code_of
from .case_folder import write_node_file
from .citations import citation_label
from .label_layout import POINTS_AT_ATTRIBUTE, lay_out_labels
from .mass_spans import leading_span, span_of_points
from .overlay_style import Colour, ExplanationStyle, LevelsStyle, overlay_style
from .scene_writing import ListedPoint, new_point_list, set_segment_mask
from .wording import grade_phrase, graded_levels, level_span, spans_of, summary_line

CASE_ATTRIBUTE = "EMHAssist.case"
ROLE_ATTRIBUTE = "EMHAssist.overlay"
# Slicer's folder plugin marks a folder's display node so that node selectors do not offer it.
_EXCLUDE_FROM_SELECTORS = "SubjectHierarchy.ExcludeFromPotentialNodesList"


@dataclass(frozen=True)
class OverlayNodes:
    """The nodes drawn for one case; a field is None (the mass extent empty) when the report had
    nothing to draw for it."""

    folder: int  # subject-hierarchy item holding every node below
    explanation: slicer.vtkMRMLTextNode
    segments: slicer.vtkMRMLSegmentationNode | None = None
    levels: slicer.vtkMRMLMarkupsFiducialNode | None = None
    mass_extent: tuple[slicer.vtkMRMLMarkupsLineNode, ...] = ()  # one bracket per span of the mass, superior first
    differential: slicer.vtkMRMLMarkupsFiducialNode | None = None
    # The texts of levels, brackets and differential as laid out for each slice view, with their leader
    # lines (label_layout): the labelled nodes above draw their points without text.
    labels: tuple[slicer.vtkMRMLMarkupsNode, ...] = ()

    def by_role(self) -> dict[str, tuple[slicer.vtkMRMLNode, ...]]:
        """The nodes that exist, keyed by the field name they are stored under: one node a role, but a
        bracket for each span of the mass extent."""
        found = {}
        for role in (field.name for field in fields(self) if field.name != "folder"):
            value = getattr(self, role)
            nodes = value if isinstance(value, tuple) else (value,) if value is not None else ()
            if nodes:
                found[role] = nodes
        return found

    def nodes(self) -> list[slicer.vtkMRMLNode]:
        return [node for group in self.by_role().values() for node in group]


def draw_overlays(
    scene: slicer.vtkMRMLScene,
    report: Report,
    study: Study,
    *,
    mass_mask: Labelmap | None = None,
    cord_mask: Labelmap | None = None,
) -> OverlayNodes:
    """Draw `report` for `study`, replacing whatever an earlier run drew for the same case.

    The masks become the mass and cord segments. Without a mass mask, the study's own mass
    regions (ROIs or segments) still place the extent bracket and the differential label.
    Nodes that others filed in the case's folder (a results table, say) are left alone.
    """
    folder = overlay_folder(scene, study.name)
    _remove_overlay_nodes(scene, folder)
    levels = report.levels
    vertebrae = levels.vertebrae if levels else ()
    mass = _MassOutline.of(study, mass_mask, vertebrae)
    overlays = OverlayNodes(
        folder=folder,
        explanation=_explanation_node(scene, study.name, report),
        segments=_segments_node(scene, study.name, {"mass": mass_mask, "cord": cord_mask}),
        levels=_levels_node(scene, study.name, levels),
        mass_extent=_mass_extent_nodes(scene, study.name, levels.mass if levels else None, mass, vertebrae),
        differential=_differential_node(scene, study.name, report.differential, mass.leading_part(levels) if mass is not None else None),
    )
    if overlays.levels is not None and study.levels is not None:
        # The overlay labels every level again (with its MSCC): the input points' own labels, in
        # another colour a few pixels away, would print each level twice.
        study.levels.CreateDefaultDisplayNodes()
        study.levels.GetDisplayNode().SetVisibility(False)
    for role, nodes in overlays.by_role().items():
        for node in nodes:
            file_in_folder(scene, folder, node, study.name, role)
    labels = [label for slice_node in _slice_nodes(scene) for label in lay_out_labels(scene, slice_node).nodes]
    return replace(overlays, labels=tuple(labels))


def file_in_folder(scene: slicer.vtkMRMLScene, folder: int, node: slicer.vtkMRMLNode, case: str, role: str) -> None:
    """Mark a node as the case's overlay of that role and file it in the case's folder."""
    node.SetAttribute(ROLE_ATTRIBUTE, role)
    node.SetAttribute(CASE_ATTRIBUTE, case)
    _file_under(subject_hierarchy(scene), folder, node)


def all_overlays(scene: slicer.vtkMRMLScene) -> list[tuple[str, OverlayNodes]]:
    """Every case's overlays in the scene, with the case's name."""
    hierarchy = subject_hierarchy(scene)
    cases = [
        hierarchy.GetItemAttribute(item, CASE_ATTRIBUTE)
        for item in _children(hierarchy, hierarchy.GetSceneItemID(), recursive=True)
        if hierarchy.GetItemAttribute(item, CASE_ATTRIBUTE) and hierarchy.GetItemLevel(item) == "Folder"
    ]
    found = [(case, find_overlays(scene, case)) for case in cases]
    return [(case, overlays) for case, overlays in found if overlays is not None]


def _slice_nodes(scene: slicer.vtkMRMLScene) -> list[slicer.vtkMRMLSliceNode]:
    """The scene's slice views (Slicer's Red, Yellow and Green; the browser's two), where labels are laid out."""
    return [scene.GetNthNodeByClass(index, "vtkMRMLSliceNode") for index in range(scene.GetNumberOfNodesByClass("vtkMRMLSliceNode"))]


def find_overlays(scene: slicer.vtkMRMLScene, case: str) -> OverlayNodes | None:
    """The overlays drawn for `case`, as found in the scene (for example after loading a `.mrb`)."""
    folder = _existing_folder(subject_hierarchy(scene), case)
    if folder is None:
        return None
    by_role: dict[str, list[slicer.vtkMRMLNode]] = {}
    for node in _overlay_nodes(scene, folder):
        by_role.setdefault(node.GetAttribute(ROLE_ATTRIBUTE), []).append(node)
    if "explanation" not in by_role:
        return None
    brackets = sorted(by_role.pop("mass_extent", []), key=lambda line: -line.GetNthControlPointPositionWorld(0)[2])
    labels = tuple(by_role.pop("labels", []))
    return OverlayNodes(folder=folder, mass_extent=tuple(brackets), labels=labels, **{role: nodes[0] for role, nodes in by_role.items()})


def set_overlays_visible(scene: slicer.vtkMRMLScene, folder: int, visible: bool) -> None:
    """Show or hide everything in the folder at once, as the folder's eye in the Data module does."""
    subject_hierarchy(scene).GetItemDataNode(folder).SetVisibility(visible)


def overlays_visible(scene: slicer.vtkMRMLScene, folder: int) -> bool:
    return bool(subject_hierarchy(scene).GetItemDataNode(folder).GetVisibility())


def remove_overlays(scene: slicer.vtkMRMLScene, case: str) -> bool:
    """Remove the case's overlay nodes and its folder; False when there was nothing to remove.

    Nodes that others filed in the folder move up to the scene instead of going with it.
    """
    hierarchy = subject_hierarchy(scene)
    folder = _existing_folder(hierarchy, case)
    if folder is None:
        return False
    _remove_overlay_nodes(scene, folder)
    for child in _children(hierarchy, folder):
        hierarchy.SetItemParent(child, hierarchy.GetSceneItemID())
    display = hierarchy.GetItemDataNode(folder)
    hierarchy.RemoveItem(folder, False, False)
    scene.RemoveNode(display)
    return True


def overlay_folder(scene: slicer.vtkMRMLScene, case: str) -> int:
    """The case's subject-hierarchy folder, made (with its display node) if it does not exist yet."""
    hierarchy = subject_hierarchy(scene)
    folder = _existing_folder(hierarchy, case)
    if folder is not None:
        return folder
    name = overlay_style().folder.format(case=case)
    folder = hierarchy.CreateFolderItem(hierarchy.GetSceneItemID(), name)
    hierarchy.SetItemAttribute(folder, CASE_ATTRIBUTE, case)
    _add_folder_display_node(scene, hierarchy, folder, name)
    return folder


def subject_hierarchy(scene: slicer.vtkMRMLScene) -> slicer.vtkMRMLSubjectHierarchyNode:
    return slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)


def differential_label(differential: tuple[RankedDiagnosis, ...]) -> str:
    """The top diagnoses with probabilities, the key finding for the first, and the caveat, one per line."""
    style = overlay_style().differential
    lines = [
        style.diagnosis.format(name=_short_name(diagnosis), percent=numbers.probability(diagnosis.probability))
        for diagnosis in differential[: style.top]
    ]
    finding = key_finding(differential[0])
    if finding:
        lines += _wrapped(style.key_finding.format(finding=finding), style.wrap_chars)
    lines += _wrapped(style.caveat, style.wrap_chars)
    return "\n".join(lines)


def _wrapped(text: str, width: int) -> list[str]:
    # Never split "0.29-0.31": a range broken at its hyphen reads as two numbers.
    return textwrap.wrap(text, width, break_on_hyphens=False)


def key_finding(diagnosis: RankedDiagnosis) -> str | None:
    """The stated finding of the strongest evidence for a diagnosis (largest log likelihood ratio)."""
    supporting = [item for item in diagnosis.evidence if item.supports]
    if not supporting:
        return None
    return max(supporting, key=lambda item: item.weight).finding


def explanation_text(case: str, report: Report) -> str:
    """The whole reading in plain text: caveat, levels, every diagnosis with its evidence, warnings."""
    style = overlay_style().explanation
    blocks = [style.title.format(case=case), report.caveat or CAVEAT]
    levels_line = summary_line(report.levels)
    if levels_line:
        blocks.append(style.levels.format(summary=levels_line))
    if report.differential:
        blocks.append(_differential_block(style, report.differential))
    if report.next_best.text:
        blocks.append(style.next_best.format(text=report.next_best.text))
    if report.warnings:
        blocks.append("\n".join([style.warnings_heading, *(f"- {warning}" for warning in report.warnings)]))
    return "\n\n".join(blocks) + "\n"


def _add_folder_display_node(
    scene: slicer.vtkMRMLScene, hierarchy: slicer.vtkMRMLSubjectHierarchyNode, folder: int, name: str
) -> None:
    # Slicer's folder plugin keeps a folder's visibility in a folder display node, and the
    # displayable managers apply it to every node below: that is what makes the folder toggle.
    display = scene.AddNewNodeByClass("vtkMRMLFolderDisplayNode", name)
    display.SetHideFromEditors(False)
    display.SetAttribute(_EXCLUDE_FROM_SELECTORS, "1")
    own_item = hierarchy.GetItemByDataNode(display)
    if own_item:
        hierarchy.RemoveItem(own_item, False, False)
    hierarchy.SetItemDataNode(folder, display)


def _existing_folder(hierarchy: slicer.vtkMRMLSubjectHierarchyNode, case: str) -> int | None:
    for item in _children(hierarchy, hierarchy.GetSceneItemID(), recursive=True):
        if hierarchy.GetItemAttribute(item, CASE_ATTRIBUTE) == case and hierarchy.GetItemLevel(item) == "Folder":
            return item
    return None


def _children(hierarchy: slicer.vtkMRMLSubjectHierarchyNode, item: int, recursive: bool = False) -> list[int]:
    ids = vtk.vtkIdList()
    hierarchy.GetItemChildren(item, ids, recursive)
    return [ids.GetId(index) for index in range(ids.GetNumberOfIds())]


def _overlay_nodes(scene: slicer.vtkMRMLScene, folder: int) -> Iterator[slicer.vtkMRMLNode]:
    hierarchy = subject_hierarchy(scene)
    for item in _children(hierarchy, folder):
        node = hierarchy.GetItemDataNode(item)
        if node is not None and node.GetAttribute(ROLE_ATTRIBUTE):
            yield node


def _remove_overlay_nodes(scene: slicer.vtkMRMLScene, folder: int) -> None:
    hierarchy = subject_hierarchy(scene)
    for node in list(_overlay_nodes(scene, folder)):
        remove_node(scene, node)


def remove_node(scene: slicer.vtkMRMLScene, node: slicer.vtkMRMLNode) -> None:
    """Remove a node with its display and storage nodes and its subject-hierarchy item."""
    # Removing a node takes neither its display and storage nodes nor (without Slicer's
    # subject-hierarchy plugins) its item with it; left behind, they would pile up.
    hierarchy = subject_hierarchy(scene)
    helpers = []
    if node.IsA("vtkMRMLDisplayableNode"):
        helpers += [node.GetNthDisplayNode(index) for index in range(node.GetNumberOfDisplayNodes())]
    if node.IsA("vtkMRMLStorableNode"):
        helpers += [node.GetNthStorageNode(index) for index in range(node.GetNumberOfStorageNodes())]
    item = hierarchy.GetItemByDataNode(node)
    if item:
        hierarchy.RemoveItem(item, False, False)
    for leftover in [node, *helpers]:
        if leftover is not None and scene.IsNodePresent(leftover):
            scene.RemoveNode(leftover)


def _file_under(hierarchy: slicer.vtkMRMLSubjectHierarchyNode, folder: int, node: slicer.vtkMRMLNode) -> None:
    # Inside Slicer every new node already has an item; headless scenes have no plugin making one.
    item = hierarchy.GetItemByDataNode(node)
    if item:
        hierarchy.SetItemParent(item, folder)
    else:
        hierarchy.CreateItem(folder, node)


@dataclass(frozen=True)
class _MassOutline:
    """Where the mass is: world points on it, and the sagittal plane the labels beside it go in."""

    points: np.ndarray  # (N, 3) RAS: its voxels when segmented, else the corners of its regions
    midplane_right: float  # R of the spine's mid-sagittal plane, or of the mass when no level is known

    @classmethod
    def of(cls, study: Study, mass_mask: Labelmap | None, vertebrae: tuple[LevelVertebra, ...]) -> "_MassOutline | None":
        points = _mass_points(study, mass_mask)
        if points is None:
            return None
        # A spine is read on its mid-sagittal slice, where the level points are; labels placed
        # there are seen with the levels even when the mass bulges to one side.
        centres = [vertebra.centre[0] for vertebra in vertebrae]
        midplane = float(np.median(centres)) if centres else float(np.median(points[:, 0]))
        return cls(points, midplane)

    def by_span(self, extent: Extent, vertebrae: tuple[LevelVertebra, ...]) -> list[tuple[Extent | Span, "_MassOutline"]]:
        """The mass's part in each span of its extent, superior first (`mass_spans.span_of_points`)."""
        spans = spans_of(extent)
        if len(spans) == 1:
            return [(extent, self)]
        owner = span_of_points(self.points, extent, vertebrae)
        return [(span, replace(self, points=self.points[owner == n])) for n, span in enumerate(spans) if np.any(owner == n)]

    def leading_part(self, levels: Levels | None) -> "_MassOutline":
        """The mass's part in its leading span (`mass_spans.leading_span`: the compressing part of a
        mid-thoracic and sacral mass, not the bulk of both), the whole mass without mass levels."""
        extent = levels.mass if levels else None
        if not extent:
            return self
        owner = span_of_points(self.points, extent, levels.vertebrae)
        return replace(self, points=self.points[owner == leading_span(extent, levels.compression, owner)])

    def extent_bracket(self, margin_mm: float) -> tuple[np.ndarray, np.ndarray]:
        """Top and bottom of a head-foot line just behind (posterior to) the mass."""
        behind = self.points[:, 1].min() - margin_mm
        top = np.array([self.midplane_right, behind, self.points[:, 2].max()])
        bottom = np.array([self.midplane_right, behind, self.points[:, 2].min()])
        return top, bottom

    def back(self) -> np.ndarray:
        """The back (posterior edge) of the mass at its median height, in the mid-sagittal plane."""
        return np.array([self.midplane_right, self.points[:, 1].min(), float(np.median(self.points[:, 2]))])

    def label_anchor(self, clear_mm: float, reach_mm: float) -> np.ndarray:
        """`clear_mm` behind (posterior to) the mass at its median height, in the mid-sagittal plane,
        but no more than `reach_mm` behind the mass's bulk, on which views centre: a deep mass's
        label overlaps its back rather than leave the view."""
        clear = self.points[:, 1].min() - clear_mm
        reach = float(np.median(self.points[:, 1])) - reach_mm
        return np.array([self.midplane_right, max(clear, reach), float(np.median(self.points[:, 2]))])


def _mass_points(study: Study, mass_mask: Labelmap | None) -> np.ndarray | None:
    if mass_mask is not None and mass_mask.mask.any():
        k, j, i = np.nonzero(mass_mask.mask)
        return mass_mask.grid.to_world(np.stack([i, j, k], axis=1).astype(float))
    corners = [outline.shape.corners_world() for outline in outlines(study.regions.get("mass", []))]
    corners = [c for c in corners if c.size]
    return np.concatenate(corners) if corners else None


def _segments_node(
    scene: slicer.vtkMRMLScene, case: str, masks: dict[str, Labelmap | None]
) -> slicer.vtkMRMLSegmentationNode | None:
    present = {region: mask for region, mask in masks.items() if mask is not None and mask.mask.any()}
    if not present:
        return None
    style = overlay_style().segments
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", style.node.format(case=case))
    segmentation.CreateDefaultDisplayNodes()
    display = segmentation.GetDisplayNode()
    display.SetVisibility2DOutline(True)
    display.SetSliceIntersectionThickness(style.outline_thickness_px)
    set_segment_fill(segmentation, style.fill_opacity_2d)
    for region, mask in present.items():
        look = style.regions[region]
        segment_id = segmentation.GetSegmentation().AddEmptySegment(region, look.name, look.color)
        set_segment_mask(segmentation, segment_id, mask.mask, mask.grid)
    return segmentation


def set_segment_fill(segmentation: slicer.vtkMRMLSegmentationNode, opacity: float) -> None:
    """The cord and mass fills' opacity in slice views (0: outlines only, the default, so the signal shows)."""
    display = segmentation.GetDisplayNode()
    display.SetOpacity2DFill(opacity)
    display.SetVisibility2DFill(opacity > 0)


def _levels_node(scene: slicer.vtkMRMLScene, case: str, levels: Levels | None) -> slicer.vtkMRMLMarkupsFiducialNode | None:
    if levels is None or not levels.vertebrae:
        return None
    style = overlay_style().levels
    compressed = compressed_levels(levels)
    grades = {entry.level: entry.grade for entry in graded_levels(levels) if entry.level in compressed}
    # Markups draw selected points in their own colour: selection is the per-point highlight.
    points = new_point_list(
        scene, style.node.format(case=case),
        [ListedPoint(_level_label(style, vertebra.name, compressed, grades), vertebra.centre, vertebra.name in compressed) for vertebra in levels.vertebrae],
    )
    points.SetLocked(True)
    _style_markups(points, style.color, style.text_scale, style.glyph_scale)
    points.GetDisplayNode().SetSelectedColor(style.compressed_color)
    return points


def level_point_node(level_map: LevelMap, scene: slicer.vtkMRMLScene, name: str = "levels") -> slicer.vtkMRMLMarkupsFiducialNode:
    """A point list with one labelled point per vertebra, the source in each point's description: the
    levels found, as points the user can check, move and save as the case's `levels.mrk.json`."""
    return new_point_list(scene, name, [ListedPoint(vertebra.name, vertebra.centre, description=vertebra.source) for vertebra in level_map.vertebrae])


def write_level_points(node: slicer.vtkMRMLMarkupsFiducialNode, path: Path) -> None:
    """Save a point list as a Slicer markups JSON file (`levels.mrk.json`), as Save Data does."""
    write_node_file(node, "vtkMRMLMarkupsJsonStorageNode", path)


def _level_label(style: LevelsStyle, name: str, compressed: dict[str, float | None], grades: dict[str, BilskyGrade]) -> str:
    """A level's label: its name, its MSCC where it is compressed, and beside that its Bilsky grade."""
    mscc = compressed.get(name)
    label = style.label.format(level=name) if mscc is None else style.compressed_label.format(level=name, mscc=numbers.percent(mscc))
    return style.graded_label.format(label=label, grade=grade_phrase(grades[name])) if name in grades else label


def compressed_levels(levels: Levels) -> dict[str, float | None]:
    """The vertebrae in the compressed range, each with its MSCC (None where none was measured).

    The level of maximal compression takes the summary's maximum, so labels and summary agree.
    """
    compression = levels.compression
    if not compression or not compression.from_ or not compression.to:
        return {}
    low, high = sorted((code_of(compression.from_), code_of(compression.to)))
    mscc = {entry.level: entry.mscc_percent for entry in levels.cord_profile}
    compressed = {v.name: mscc.get(v.name) for v in levels.vertebrae if low <= v.code <= high}
    if compression.at in compressed and compression.max_mscc_percent is not None:
        compressed[compression.at] = compression.max_mscc_percent
    return compressed


def _mass_extent_nodes(
    scene: slicer.vtkMRMLScene, case: str, mass_levels: Extent | None, mass: _MassOutline | None, vertebrae: tuple[LevelVertebra, ...]
) -> tuple[slicer.vtkMRMLMarkupsLineNode, ...]:
    """A bracket for each span of the mass's levels: a mass mid-thoracic and again at the sacrum is
    two masses to the reader, not one reaching across the levels between."""
    if not mass_levels or mass is None:
        return ()
    return tuple(_mass_bracket(scene, case, level_span(span), part) for span, part in mass.by_span(mass_levels, vertebrae))


def _mass_bracket(scene: slicer.vtkMRMLScene, case: str, span: str, mass: _MassOutline) -> slicer.vtkMRMLMarkupsLineNode:
    style = overlay_style().mass_extent
    line = scene.AddNewNodeByClass("vtkMRMLMarkupsLineNode", style.node.format(case=case, span=span))
    top, bottom = mass.extent_bracket(style.margin_mm)
    # Labelled at its foot: the differential label rises from the mass's mid-height above it.
    line.AddControlPoint(*top, "")
    line.SetNthControlPointLabel(0, "")  # an empty label given when adding is replaced by a generated one
    line.AddControlPoint(*bottom, style.label.format(span=span))
    # The bracket says which levels, not how long; a length readout would only crowd the view.
    for index in range(line.GetNumberOfMeasurements()):
        line.GetNthMeasurement(index).SetEnabled(False)
    line.SetLocked(True)
    _style_markups(line, style.color, style.text_scale)
    return line


def _differential_node(
    scene: slicer.vtkMRMLScene, case: str, differential: tuple[RankedDiagnosis, ...], mass: _MassOutline | None
) -> slicer.vtkMRMLMarkupsFiducialNode | None:
    if not differential or mass is None:
        return None
    style = overlay_style().differential
    anchor = mass.label_anchor(style.clear_of_mass_mm, style.reach_from_mass_mm)
    label = new_point_list(scene, style.node.format(case=case), [ListedPoint(differential_label(differential), anchor)])
    label.SetAttribute(POINTS_AT_ATTRIBUTE, " ".join(f"{v:.3f}" for v in mass.back()))
    label.SetLocked(True)
    _style_markups(label, style.color, style.text_scale)
    # Only its text is drawn (label_layout), with a leader to the mass's back when it must move.
    label.GetDisplayNode().SetGlyphScale(overlay_style().layout.text_glyph_scale)
    # Centred on its point, the text reaches half as far back as one drawn to the point's right,
    # so it stays inside a view centred on the mass (as the report's and the browser's are).
    label.GetDisplayNode().GetTextProperty().SetJustificationToCentered()
    return label


def _short_name(diagnosis: RankedDiagnosis) -> str:
    known = knowledge().diagnoses.get(diagnosis.id)
    return known.short if known else diagnosis.name


def _style_markups(
    node: slicer.vtkMRMLMarkupsNode, color: Colour, text_scale: float, glyph_scale: float | None = None
) -> None:
    node.CreateDefaultDisplayNodes()
    display = node.GetDisplayNode()
    display.SetColor(color)
    display.SetSelectedColor(color)
    display.SetTextScale(text_scale)
    if glyph_scale is not None:
        display.SetGlyphScale(glyph_scale)
    display.SetPropertiesLabelVisibility(False)
    # The texts are drawn per view, where label_layout places them clear of each other.
    display.SetPointLabelsVisibility(False)
    background = overlay_style().labels
    display.GetTextProperty().SetBackgroundColor(background.background_color)
    display.GetTextProperty().SetBackgroundOpacity(background.background_opacity)


def _explanation_node(scene: slicer.vtkMRMLScene, case: str, report: Report) -> slicer.vtkMRMLTextNode:
    style = overlay_style().explanation
    text = scene.AddNewNodeByClass("vtkMRMLTextNode", style.node.format(case=case))
    text.SetText(explanation_text(case, report))
    return text


def evidence_lines(diagnosis: RankedDiagnosis) -> list[str]:
    """A diagnosis's evidence, one finding a line: for or against, the measured text, its references as a
    reader cites them (the full citations are listed apart; the report's JSON keeps the keys)."""
    style = overlay_style().explanation
    lines = []
    for item in diagnosis.evidence:
        direction = style.supports if item.supports else style.opposes
        labels = dict.fromkeys(citation_label(ref) for ref in item.refs)
        lines.append(f"{direction}: {item.text}" + (f" [{'; '.join(labels)}]" if labels else ""))
    return lines


def _differential_block(style: ExplanationStyle, differential: tuple[RankedDiagnosis, ...]) -> str:
    lines = [style.differential_heading]
    for rank, diagnosis in enumerate(differential, start=1):
        lines.append(style.diagnosis.format(rank=rank, name=diagnosis.name, percent=numbers.probability(diagnosis.probability)))
        lines += [f"   {line}" for line in evidence_lines(diagnosis)]
    return "\n".join(lines)
