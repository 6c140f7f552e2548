"""Overlays in a real MRML scene: names, colours, labels, the subject-hierarchy folder, re-runs
that replace instead of duplicating, absent report sections drawing nothing, and a .mrb round trip."""

from dataclasses import replace

import numpy as np
import pytest
import slicer
import vtk
from golden_outputs import golden_report
from overlay_case import BARE_REPORT, MASKS, REPORT, VERTEBRAE, compression
from small_case import TISSUE_BLOCKS, roi_box, small_study

from EMHAssistLib import CAVEAT
from EMHAssistLib.geometry import Labelmap
from EMHAssistLib.inputs.nodes import labelmap_of_segment
from EMHAssistLib.inputs.study import Study
from EMHAssistLib.knowledge import load
from EMHAssistLib.outputs.overlays import (
    CASE_ATTRIBUTE,
    compressed_levels,
    differential_label,
    draw_overlays,
    find_overlays,
    key_finding,
    overlay_folder,
    overlays_visible,
    remove_overlays,
    set_overlays_visible,
    subject_hierarchy,
)
from EMHAssistLib.outputs.wording import summary_line
from EMHAssistLib.report_codec import plain_value
from EMHAssistLib.report_model import Report

STYLE = load("overlays")


@pytest.fixture
def live_scene():
    """A scene whose trame-slicer application stays alive: .mrb reading unpacks into the
    application's cache directory."""
    from trame_slicer.core import SlicerApp

    app = SlicerApp()
    slicer.mrmlScene = app.scene
    yield app.scene
    del app


def draw(scene, report=REPORT, study=None, **masks):
    study = study or small_study(scene, roles=("T1", "T2"))
    return study, draw_overlays(scene, report, study, **(masks or MASKS))


def labels(node) -> list[str]:
    return [node.GetNthControlPointLabel(i) for i in range(node.GetNumberOfControlPoints())]


def selected(node) -> list[bool]:
    return [bool(node.GetNthControlPointSelected(i)) for i in range(node.GetNumberOfControlPoints())]


def children(scene, item: int) -> list[int]:
    ids = vtk.vtkIdList()
    subject_hierarchy(scene).GetItemChildren(item, ids, False)
    return [ids.GetId(i) for i in range(ids.GetNumberOfIds())]


def folders_of(scene, case: str) -> list[int]:
    hierarchy = subject_hierarchy(scene)
    ids = vtk.vtkIdList()
    hierarchy.GetItemChildren(hierarchy.GetSceneItemID(), ids, True)
    items = [ids.GetId(i) for i in range(ids.GetNumberOfIds())]
    return [item for item in items if hierarchy.GetItemAttribute(item, CASE_ATTRIBUTE) == case]


def node_counts(scene) -> dict[str, int]:
    counts: dict[str, int] = {}
    for index in range(scene.GetNumberOfNodes()):
        name = scene.GetNthNode(index).GetClassName()
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_every_overlay_sits_in_one_folder_named_after_the_case(scene):
    _, overlays = draw(scene)
    hierarchy = subject_hierarchy(scene)
    assert hierarchy.GetItemName(overlays.folder) == "EMHAssist: small"
    assert hierarchy.GetItemLevel(overlays.folder) == "Folder"
    assert folders_of(scene, "small") == [overlays.folder]
    assert set(overlays.by_role()) == {"explanation", "segments", "levels", "mass_extent", "differential"}
    in_folder = {hierarchy.GetItemDataNode(item).GetID() for item in children(scene, overlays.folder)}
    assert in_folder == {node.GetID() for node in overlays.nodes()}


def test_segments_carry_names_colours_and_the_masks_voxels(scene):
    _, overlays = draw(scene)
    segmentation = overlays.segments.GetSegmentation()
    assert overlays.segments.GetName() == "EMHAssist segments: small"
    for region, mask in (("mass", MASKS["mass_mask"]), ("cord", MASKS["cord_mask"])):
        segment = segmentation.GetSegment(region)
        assert segment.GetName() == STYLE["segments"]["regions"][region]["name"]
        np.testing.assert_allclose(segment.GetColor(), STYLE["segments"]["regions"][region]["color"])
        assert labelmap_of_segment(overlays.segments, region).mask.sum() == mask.mask.sum()
    display = overlays.segments.GetDisplayNode()
    assert display.GetVisibility2DOutline() and not display.GetVisibility2DFill()  # outlines: the signal shows through
    assert display.GetSliceIntersectionThickness() == STYLE["segments"]["outline_thickness_px"]


def test_each_level_is_labelled_once_the_input_points_hidden_under_the_overlay(scene):
    study = small_study(scene, roles=("T1", "T2"))
    study.levels = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "levels")
    for vertebra in REPORT.levels.vertebrae:
        study.levels.AddControlPoint(*vertebra.centre, vertebra.name)
    _, overlays = draw(scene, study=study)
    shown = [
        node
        for node in (scene.GetNthNodeByClass(i, "vtkMRMLMarkupsFiducialNode") for i in range(scene.GetNumberOfNodesByClass("vtkMRMLMarkupsFiducialNode")))
        if node.GetDisplayNode() is not None and node.GetDisplayNode().GetVisibility()
        and any(node.GetNthControlPointLabel(i).startswith("T6") for i in range(node.GetNumberOfControlPoints()))
    ]
    assert shown == [overlays.levels]


def test_levels_are_labelled_and_the_compressed_ones_highlighted_with_their_mscc(scene):
    _, overlays = draw(scene)
    assert labels(overlays.levels) == ["T5 MSCC 22 %", "T6 MSCC 41 %", "T7", "T8"]
    assert selected(overlays.levels) == [True, True, False, False]
    display = overlays.levels.GetDisplayNode()
    np.testing.assert_allclose(display.GetSelectedColor(), STYLE["levels"]["compressed_color"])
    np.testing.assert_allclose(display.GetColor(), STYLE["levels"]["color"])
    np.testing.assert_allclose(
        [overlays.levels.GetNthControlPointPositionWorld(i) for i in range(4)], [v["centre"] for v in VERTEBRAE]
    )
    assert overlays.levels.GetLocked()


def test_the_mass_extent_is_a_bracket_behind_the_mass_labelled_with_its_levels(scene):
    _, overlays = draw(scene)
    (line,) = overlays.mass_extent
    assert labels(line) == ["", "mass T5–T8"] and line.GetName() == "EMHAssist mass extent T5–T8: small"
    top, bottom = (np.array(line.GetNthControlPointPositionWorld(i)) for i in range(2))
    mass_points = MASKS["mass_mask"].grid.to_world(np.argwhere(MASKS["mass_mask"].mask)[:, ::-1].astype(float))
    assert top[2] == pytest.approx(mass_points[:, 2].max()) and bottom[2] == pytest.approx(mass_points[:, 2].min())
    assert top[1] == bottom[1] == pytest.approx(mass_points[:, 1].min() - STYLE["mass_extent"]["margin_mm"])
    assert top[0] == bottom[0] == 0.0, "in the mid-sagittal plane of the level points"
    assert all(not line.GetNthMeasurement(i).GetEnabled() for i in range(line.GetNumberOfMeasurements()))


# Bodies 8 mm apart across the small case's mass block (z -2 to 22 mm): nearest-centre boundaries at
# z 22.5, 14, 6 and -2.5. The mass mask less z 5-15 leaves a part in T5 and a part in T7, T6 free.
SPAN_VERTEBRAE = [{"name": f"T{n}", "code": 7 + n, "centre": [0.0, 16.0, z], "source": "user"} for n, z in ((4, 27.0), (5, 18.0), (6, 10.0), (7, 2.0), (8, -7.0))]
TWO_SPANS = {"from": "T5", "to": "T7", "spans": [{"from": "T5", "to": "T5"}, {"from": "T7", "to": "T7"}]}


def with_levels(**changed) -> Report:
    """REPORT with some fields of its levels section replaced (JSON values)."""
    return golden_report(**plain_value(REPORT) | {"levels": plain_value(REPORT.levels) | changed})


def test_a_mass_in_two_spans_gets_a_bracket_behind_each_part(live_scene, tmp_path):
    mass = MASKS["mass_mask"]
    points = mass.grid.to_world(np.argwhere(mass.mask)[:, ::-1].astype(float))
    split = mass.mask.copy()
    gap = (points[:, 2] > 5.0) & (points[:, 2] < 15.0)
    split[tuple(np.argwhere(mass.mask)[gap].T)] = False
    report = with_levels(vertebrae=SPAN_VERTEBRAE, mass=TWO_SPANS)
    _, overlays = draw(live_scene, report, mass_mask=Labelmap(mass.grid, split), cord_mask=MASKS["cord_mask"])
    upper, lower = overlays.mass_extent
    assert (labels(upper), labels(lower)) == (["", "mass T5"], ["", "mass T7"])
    assert (upper.GetName(), lower.GetName()) == ("EMHAssist mass extent T5: small", "EMHAssist mass extent T7: small")
    for line, part in ((upper, points[~gap & (points[:, 2] >= 15.0)]), (lower, points[~gap & (points[:, 2] <= 5.0)])):
        top, bottom = (np.array(line.GetNthControlPointPositionWorld(i)) for i in range(2))
        assert (top[2], bottom[2]) == pytest.approx((part[:, 2].max(), part[:, 2].min()))
        assert top[1] == bottom[1] == pytest.approx(part[:, 1].min() - STYLE["mass_extent"]["margin_mm"])
    hierarchy = subject_hierarchy(live_scene)
    assert {hierarchy.GetItemParent(hierarchy.GetItemByDataNode(line)) for line in overlays.mass_extent} == {overlays.folder}
    # Saved and loaded, the brackets come back superior first.
    bundle = tmp_path / "spans.mrb"
    assert live_scene.WriteToMRB(str(bundle))
    from trame_slicer.core import SlicerApp

    app = SlicerApp()
    assert app.scene.ReadFromMRB(str(bundle))
    loaded = find_overlays(app.scene, "small")
    assert [labels(line) for line in loaded.mass_extent] == [["", "mass T5"], ["", "mass T7"]]
    del app


@pytest.mark.parametrize(("compressed_at", "gap_to", "labelled"), [("T7", 15.0, "T7"), ("T5", 15.0, "T5"), (None, 17.0, "T7"), ("T6", 11.0, "T5")])
def test_the_differential_label_of_a_mass_in_two_spans_sits_at_the_compressed_part_else_the_largest(scene, compressed_at, gap_to, labelled):
    # The two-span mask above, the upper (T5) part shortened for the case without compression so that
    # the lower (T7) part is the larger, lengthened for a compression at T6, which no span holds.
    mass = MASKS["mass_mask"]
    points = mass.grid.to_world(np.argwhere(mass.mask)[:, ::-1].astype(float))
    gap = (points[:, 2] > 5.0) & (points[:, 2] < gap_to)
    split = mass.mask.copy()
    split[tuple(np.argwhere(mass.mask)[gap].T)] = False
    compressed = compression(compressed_at, compressed_at, compressed_at, 30.0) if compressed_at else None
    report = with_levels(vertebrae=SPAN_VERTEBRAE, mass=TWO_SPANS, compression=compressed)
    _, overlays = draw(scene, report, mass_mask=Labelmap(mass.grid, split), cord_mask=MASKS["cord_mask"])
    part = points[~gap & ((points[:, 2] >= gap_to) if labelled == "T5" else (points[:, 2] <= 5.0))]
    anchor = np.array(overlays.differential.GetNthControlPointPositionWorld(0))
    assert anchor[2] == pytest.approx(np.median(part[:, 2])), f"at the {labelled} part's median height"
    style = STYLE["differential"]
    assert anchor[1] == pytest.approx(max(part[:, 1].min() - style["clear_of_mass_mm"], np.median(part[:, 1]) - style["reach_from_mass_mm"]))


def test_the_differential_label_sits_behind_the_mass_with_top_diagnoses_key_finding_and_caveat(scene):
    _, overlays = draw(scene)
    label = overlays.differential
    assert label.GetNumberOfControlPoints() == 1
    lines = label.GetNthControlPointLabel(0).split("\n")
    assert lines[:3] == ["EMH 78 %", "metastasis 12 %", "lymphoma 6 %"]
    assert " ".join(lines[3:]).startswith("key: Mass markedly hypointense to cord on T2 (ratio 0.30)")
    assert " ".join(lines).endswith(STYLE["differential"]["caveat"])
    assert "abscess" not in label.GetNthControlPointLabel(0), f"only the top {STYLE['differential']['top']}"
    assert all(len(line) <= STYLE["differential"]["wrap_chars"] for line in lines)
    anchor = np.array(label.GetNthControlPointPositionWorld(0))
    mass_a = MASKS["mass_mask"].grid.to_world(np.argwhere(MASKS["mass_mask"].mask)[:, ::-1].astype(float))[:, 1]
    style = STYLE["differential"]
    expected_a = max(mass_a.min() - style["clear_of_mass_mm"], np.median(mass_a) - style["reach_from_mass_mm"])
    assert anchor[1] == pytest.approx(expected_a) and anchor[1] < mass_a.min()
    assert label.GetDisplayNode().GetTextProperty().GetJustificationAsString() == "Centered"
    centre, size = TISSUE_BLOCKS["mass"]
    assert centre[2] - size[2] / 2 <= anchor[2] <= centre[2] + size[2] / 2


def test_the_explanation_holds_caveat_levels_every_diagnosis_with_evidence_and_warnings(scene):
    _, overlays = draw(scene)
    text = overlays.explanation.GetText()
    assert overlays.explanation.GetName() == "EMHAssist explanation: small"
    assert CAVEAT in text
    assert "Levels: mass T5–T8, cord compressed T5–T6, MSCC 41 % at T6." in text
    for rank, diagnosis in enumerate(REPORT.differential, start=1):
        assert f"{rank}. {diagnosis.name}: {diagnosis.probability * 100:.0f} %" in text
    supporting = "   for: Mass markedly hypointense to cord on T2 (ratio 0.30): iron-laden haematopoietic tissue."
    assert f"{supporting} [case report of thoracic cord compression]" in text  # as a reader cites it, not the key
    assert "   against: Fever (present): raises the odds of an abscess." in text
    assert "To separate the top two: Add the ADC sequence: low ADC separates them." in text
    assert "- mass: only 24 T1 voxels; its ratios are unstable" in text


def test_a_second_run_replaces_every_overlay_without_adding_a_node(scene):
    study, first = draw(scene)
    before = node_counts(scene)
    _, second = draw(scene, study=study)
    assert node_counts(scene) == before
    assert second.folder == first.folder and folders_of(scene, "small") == [first.folder]
    for node in first.nodes():
        assert scene.GetNodeByID(node.GetID()) is not node, f"{node.GetName()} was left behind"
    assert len(children(scene, second.folder)) == len(second.nodes())


def test_a_rerun_with_fewer_sections_removes_the_stale_overlays(scene):
    study, full = draw(scene)
    _, bare = draw(scene, BARE_REPORT, study)
    assert set(bare.by_role()) == {"explanation", "segments"}
    for role in ("levels", "mass_extent", "differential"):
        assert all(scene.GetNodeByID(node.GetID()) is None for node in full.by_role()[role])
    assert len(children(scene, bare.folder)) == 2


def test_absent_sections_and_masks_draw_nothing_but_the_explanation(scene):
    study = small_study(scene, roles=("T1", "T2"))
    overlays = draw_overlays(scene, BARE_REPORT, study)
    assert set(overlays.by_role()) == {"explanation"}
    text = overlays.explanation.GetText()
    assert CAVEAT in text and "Levels" not in text and "Differential" not in text


def test_without_a_mass_mask_the_mass_regions_place_bracket_and_label(scene):
    study = small_study(scene, roles=("T1", "T2"))
    overlays = draw_overlays(scene, REPORT, study)
    assert overlays.segments is None
    (line,) = overlays.mass_extent
    top, bottom = (np.array(line.GetNthControlPointPositionWorld(i)) for i in range(2))
    corners = roi_box("mass").corners_world()
    assert top[2] == pytest.approx(corners[:, 2].max()) and bottom[2] == pytest.approx(corners[:, 2].min())
    assert top[1] == pytest.approx(corners[:, 1].min() - STYLE["mass_extent"]["margin_mm"])
    assert overlays.differential is not None


def test_without_any_mass_geometry_there_is_no_bracket_and_no_label(scene):
    study = small_study(scene, roles=("T1", "T2"))
    del study.regions["mass"]
    overlays = draw_overlays(scene, REPORT, study, cord_mask=MASKS["cord_mask"])
    assert overlays.mass_extent == () and overlays.differential is None
    assert overlays.levels is not None and overlays.segments is not None


def test_no_compression_leaves_every_level_plain_and_says_so(scene):
    report = with_levels(compression=None)
    _, overlays = draw(scene, report)
    assert labels(overlays.levels) == ["T5", "T6", "T7", "T8"]
    assert selected(overlays.levels) == [False] * 4
    assert "no cord compression" in overlays.explanation.GetText()


def test_compressed_levels_take_profile_mscc_and_the_summary_maximum_at_the_worst_level():
    levels = REPORT.levels
    assert compressed_levels(levels) == {"T5": 22.4, "T6": 41.2}
    reversed_range = replace(levels, compression=replace(levels.compression, from_="T6", to="T5"))
    assert compressed_levels(reversed_range) == {"T5": 22.4, "T6": 41.2}
    unmeasured = replace(levels, cord_profile=())
    assert compressed_levels(unmeasured) == {"T5": None, "T6": 41.2}
    without_level_names = replace(levels, compression=replace(levels.compression, from_=None, to=None, at=None, max_mscc_percent=30.0))
    assert compressed_levels(without_level_names) == {}


def test_the_key_finding_is_the_strongest_supporting_evidence():
    emh = REPORT.differential[0]
    assert key_finding(emh) == "Mass markedly hypointense to cord on T2 (ratio 0.30)"
    assert key_finding(replace(emh, evidence=emh.evidence[2:])) is None
    assert key_finding(REPORT.differential[1]) is None
    label = differential_label(REPORT.differential[1:])
    assert label.startswith("metastasis 12 %\nlymphoma 6 %\nepidural abscess 4 %\n") and "key:" not in label


def test_an_unknown_diagnosis_id_is_labelled_by_its_name():
    label = differential_label((replace(REPORT.differential[0], id="sarcoidosis", name="Sarcoidosis", probability=0.5, evidence=()),))
    assert label.startswith("Sarcoidosis 50 %\n")


def test_the_folder_toggles_the_visibility_of_everything_in_it(scene):
    _, overlays = draw(scene)
    assert overlays_visible(scene, overlays.folder)
    set_overlays_visible(scene, overlays.folder, False)
    assert not overlays_visible(scene, overlays.folder)
    for node in overlays.nodes():
        if node.IsA("vtkMRMLDisplayableNode"):
            assert not slicer.vtkMRMLFolderDisplayNode.GetHierarchyVisibility(node), node.GetName()
    set_overlays_visible(scene, overlays.folder, True)
    assert all(
        slicer.vtkMRMLFolderDisplayNode.GetHierarchyVisibility(node)
        for node in overlays.nodes()
        if node.IsA("vtkMRMLDisplayableNode")
    )


def test_hiding_survives_a_rerun(scene):
    study, overlays = draw(scene)
    set_overlays_visible(scene, overlays.folder, False)
    _, again = draw(scene, study=study)
    assert not overlays_visible(scene, again.folder)
    assert not slicer.vtkMRMLFolderDisplayNode.GetHierarchyVisibility(again.levels)


def test_nodes_others_file_in_the_folder_survive_reruns_and_removal(scene):
    study, overlays = draw(scene)
    hierarchy = subject_hierarchy(scene)
    table = scene.AddNewNodeByClass("vtkMRMLTableNode", "EMHAssist results")
    hierarchy.CreateItem(overlay_folder(scene, "small"), table)
    draw(scene, study=study)
    assert scene.GetNodeByID(table.GetID()) is table
    assert remove_overlays(scene, "small")
    assert scene.GetNodeByID(table.GetID()) is table
    assert hierarchy.GetItemParent(hierarchy.GetItemByDataNode(table)) == hierarchy.GetSceneItemID()
    assert folders_of(scene, "small") == [] and find_overlays(scene, "small") is None
    assert scene.GetNumberOfNodesByClass("vtkMRMLFolderDisplayNode") == 0
    assert not remove_overlays(scene, "small")


def test_two_cases_keep_two_folders_and_a_rerun_of_one_leaves_the_other(scene):
    study, first = draw(scene)
    other = small_study(scene, roles=("T1",))
    other.name = "other"
    second = draw_overlays(scene, replace(BARE_REPORT, case="other"), other)
    draw(scene, study=study)
    assert second.folder != first.folder
    assert find_overlays(scene, "other").explanation.GetID() == second.explanation.GetID()


def test_removing_then_redrawing_leaves_the_scene_as_after_the_first_draw(scene):
    study, _ = draw(scene)
    after_first = node_counts(scene)
    remove_overlays(scene, "small")
    draw(scene, study=study)
    assert node_counts(scene) == after_first


def test_overlays_come_back_from_an_mrb_bundle(live_scene, tmp_path):
    _, drawn = draw(live_scene)
    set_overlays_visible(live_scene, drawn.folder, False)
    bundle = tmp_path / "overlays.mrb"
    assert live_scene.WriteToMRB(str(bundle))

    from trame_slicer.core import SlicerApp

    app = SlicerApp()
    loaded_scene = app.scene
    assert loaded_scene.ReadFromMRB(str(bundle))
    loaded = find_overlays(loaded_scene, "small")
    assert loaded is not None
    assert {role: [node.GetName() for node in nodes] for role, nodes in loaded.by_role().items()} == {
        role: [node.GetName() for node in nodes] for role, nodes in drawn.by_role().items()
    }
    assert loaded.explanation.GetText() == drawn.explanation.GetText()
    assert labels(loaded.levels) == labels(drawn.levels) and selected(loaded.levels) == selected(drawn.levels)
    np.testing.assert_allclose(loaded.levels.GetDisplayNode().GetSelectedColor(), STYLE["levels"]["compressed_color"])
    assert [labels(line) for line in loaded.mass_extent] == [["", "mass T5–T8"]]
    assert labels(loaded.differential) == labels(drawn.differential)
    for region in ("mass", "cord"):
        segment = loaded.segments.GetSegmentation().GetSegment(region)
        np.testing.assert_allclose(segment.GetColor(), STYLE["segments"]["regions"][region]["color"], atol=1e-6)
        assert labelmap_of_segment(loaded.segments, region).mask.sum() == MASKS[f"{region}_mask"].mask.sum()
    assert not overlays_visible(loaded_scene, loaded.folder)
    del app


def test_a_rerun_after_loading_replaces_the_loaded_overlays(live_scene, tmp_path):
    draw(live_scene)
    bundle = tmp_path / "overlays.mrb"
    assert live_scene.WriteToMRB(str(bundle))

    from trame_slicer.core import SlicerApp

    app = SlicerApp()
    loaded_scene = app.scene
    assert loaded_scene.ReadFromMRB(str(bundle))
    before = node_counts(loaded_scene)
    draw_overlays(loaded_scene, REPORT, Study(name="small"), **MASKS)
    after = node_counts(loaded_scene)
    # The loaded overlays' storage nodes go with them; the new ones get theirs when next saved.
    assert {kind: n for kind, n in after.items() if "Storage" not in kind} == {
        kind: n for kind, n in before.items() if "Storage" not in kind
    }
    assert all(after.get(kind, 0) <= n for kind, n in before.items())
    assert len(folders_of(loaded_scene, "small")) == 1
    del app


@pytest.fixture(scope="module")
def built_in_case():
    """The built-in case analysed as the module does: report, differential, mass and cord masks."""
    from trame_slicer.core import SlicerApp

    from EMHAssistLib.analysis import run_analysis
    from EMHAssistLib.teaching.cases import DEFAULT_CASE, build_study, study_into_scene

    app = SlicerApp()
    study = study_into_scene(build_study(DEFAULT_CASE), app.scene)
    analysis = run_analysis(study)
    report = analysis.report
    masks = {"mass_mask": analysis.mass_mask, "cord_mask": analysis.cord_mask}
    overlays = draw_overlays(app.scene, report, study, **masks)
    yield report, masks, overlays
    del app


def test_the_built_in_case_labels_its_levels_from_the_real_report(built_in_case):
    report, _, overlays = built_in_case
    levels = report.levels
    compressed = compressed_levels(levels)
    assert set(compressed) == {"T5", "T6", "T7"}, "the case compresses T5-T7"
    grades = {entry.level: entry.grade for entry in levels.bilsky.levels}
    expected = [f"{v.name} MSCC {compressed[v.name]:.0f} %\nBilsky {grades[v.name]}" if v.name in compressed else v.name for v in levels.vertebrae]
    assert labels(overlays.levels) == expected
    assert selected(overlays.levels) == [v.name in compressed for v in levels.vertebrae]
    at = levels.compression.at
    assert f"{at} MSCC {levels.compression.max_mscc_percent:.0f} %\nBilsky {grades[at]}" in labels(overlays.levels)


def test_the_built_in_case_brackets_its_mass_and_names_its_differential(built_in_case):
    report, masks, overlays = built_in_case
    (line,) = overlays.mass_extent
    assert labels(line) == ["", "mass T5–T8"]
    mass = masks["mass_mask"]
    heights = mass.grid.to_world(np.argwhere(mass.mask)[:, ::-1].astype(float))[:, 2]
    top, bottom = (line.GetNthControlPointPositionWorld(i)[2] for i in range(2))
    assert (top, bottom) == pytest.approx((heights.max(), heights.min()))
    first = report.differential[0]
    label = overlays.differential.GetNthControlPointLabel(0)
    assert first.id == "emh" and label.startswith(f"EMH {100 * first.probability:.0f} %\n")
    assert f"key: {key_finding(first)}" in " ".join(label.split("\n"))
    text = overlays.explanation.GetText()
    assert summary_line(report.levels) in text and report.next_best.text in text
    assert labelmap_of_segment(overlays.segments, "mass").mask.sum() == mass.mask.sum()
