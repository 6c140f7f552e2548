"""The panel's Qt-free side on real MRML: clinical fields, the differential's rows, the report text
node, "Find levels" from one anchor, and every input and result the parameter node references
surviving a `.mrb` round trip."""

import ast
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import slicer
from golden_outputs import GOLDENS

from EMHAssistLib.errors import InputError
from EMHAssistLib.geometry import Box
from EMHAssistLib.inputs.nodes import box_of_roi, grid_of_volume, vtk_matrix
from EMHAssistLib.outputs.scene_writing import set_roi_box, set_segment_mask
from EMHAssistLib.live import LiveAnalysis
from EMHAssistLib.outputs.overlays import find_overlays
from EMHAssistLib.outputs.scene_writing import REPORT_ATTRIBUTE
from EMHAssistLib.report_model import FIRST_SCHEMA, Clinical
from EMHAssistLib.teaching.cases import DEFAULT_CASE, box_of_spec, build_study, case_names, study_into_scene
from EMHAssistLib.frontends.panel import (
    AGE_NOT_STATED,
    WhyBullet,
    anchor_step,
    checkbox_cells,
    checkbox_text,
    citation_label,
    clinical_choice_labels,
    clinical_choices,
    clinical_from_panel,
    clinical_step,
    find_levels_blocked_reason,
    name_anchor_when_placed,
    name_last_point,
    next_step_text,
    outlined_regions,
    point_labels,
    provisional_text,
    regions_step,
    sequences_step,
    update_blocked_reason,
    diagnosis_id,
    diagnosis_name,
    diagnosis_names,
    differential_rows,
    events_to_observe,
    find_levels,
    give_default_size,
    observations,
    overlay_node_ids,
    refuse_overlays,
    quiz_case_label,
    quiz_case_labels,
    quiz_case_name,
    read_report_node,
    reveal_text,
    save_results,
    write_report_node,
)
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.inputs.study import region_names, study_from_nodes
from EMHAssistLib.outputs.report import from_json
from EMHAssistLib.outputs.tables import read_results_table
from EMHAssistLib.teaching.quiz import Quiz

MODULE_FILE = Path(__file__).resolve().parents[1] / "EMHAssist" / "EMHAssistSlicer" / "module.py"


@pytest.fixture(scope="module")
def synthetic():
    return build_study(DEFAULT_CASE)


def test_empty_clinical_fields_state_nothing():
    assert clinical_from_panel(AGE_NOT_STATED, "", [], []) == Clinical()


def test_clinical_fields_become_a_checked_context():
    context = clinical_from_panel(79, "male", ["myelodysplastic_syndrome"], ["fever"])
    assert context == Clinical(age=79, sex="male", conditions=("myelodysplastic_syndrome",), findings=("fever",))
    with pytest.raises(InputError, match="clinical context: unknown condition 'thalassaemia'"):
        clinical_from_panel(40, "", ["thalassaemia"], [])
    with pytest.raises(InputError, match="'primary' is given but 'known_primary_cancer' is not among the conditions"):
        clinical_from_panel(60, "female", [], [], primary="breast")


@pytest.fixture(scope="module")
def complete_report(synthetic):
    scene = new_headless_scene()
    return LiveAnalysis().update(study_into_scene(synthetic, scene)).analysis.report


def test_differential_rows_carry_bars_and_why_bullets(complete_report):
    rows = differential_rows(complete_report)
    assert [row.name for row in rows] == [entry.name for entry in complete_report.differential]
    assert rows[0].name == "Extramedullary hematopoiesis" and rows[0].percent == 86 and rows[0].prior_percent == 10
    assert abs(sum(row.percent for row in rows) - 100) <= len(rows)  # rounded shares of one whole
    first = rows[0].why[0]
    assert first.supports and first.finding.startswith("Mass markedly hypointense to cord on T2 (ratio 0.30")
    assert first.citation == "case report of thoracic cord compression +1"
    assert "Source: imaging of extramedullary hematopoiesis in haemoglobinopathies" in first.tooltip  # a seed: what and where
    carroll = next(bullet for row in rows for bullet in row.why if bullet.citation.startswith("Carroll 1997"))
    assert (  # a published source: its full citation (issue 17 point 5)
        "Source: Carroll KW, Feller JF, Tirman PFJ. Useful internal standards for distinguishing infiltrative marrow"
        " pathology from hematopoietic marrow at MRI. J Magn Reson Imaging 1997;7(2):394-398. doi:10.1002/jmri.1880070224."
    ) in carroll.tooltip
    assert first.tooltip.startswith("Threshold: T2 mass/cord < 0.6")
    assert rows[0].why[-1] == WhyBullet(True, "myelodysplastic syndrome (clinical context: prior ×15)", "", rows[0].why[-1].tooltip)
    assert any(not bullet.supports for row in rows for bullet in row.why)
    assert differential_rows(replace(complete_report, differential=())) == []


def test_citations_are_author_and_year_or_the_references_title():
    assert citation_label("carroll1997") == "Carroll 1997"
    assert citation_label("seed000") == "case report of thoracic cord compression"
    assert citation_label("seed003") == "teaching case of β-thalassemia major"
    assert citation_label("seed004") == "Shah 2011"  # the seed text is this published article


INTERNAL_KEY = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b|\bseed ?\d{3}\b|\[|\]|\b[a-z]+\d{4}\b")


@pytest.mark.parametrize("name", case_names())
def test_no_internal_key_anywhere_a_reader_looks(scene, name):
    report = LiveAnalysis().update(study_into_scene(build_study(name), scene)).analysis.report
    shown = [next_step_text(report)]
    for row in differential_rows(report):
        shown += [row.name, *(f"{bullet.finding} {bullet.citation}" for bullet in row.why)]
    leaks = [text for text in shown if INTERNAL_KEY.search(text)]
    assert not leaks, leaks


def test_next_best_step_names_the_top_two(complete_report):
    assert next_step_text(complete_report).startswith(
        "Next best step (Extramedullary hematopoiesis vs Myeloid sarcoma (leukaemic infiltrate)): Assess the fat signal"
    )
    assert complete_report.next_best.imaging.morphology == "fat_signal_suppressed"  # the key, as a field
    assert not INTERNAL_KEY.search(next_step_text(complete_report))
    assert next_step_text(replace(complete_report, next_best=replace(complete_report.next_best, text=""))) == ""


def test_steps_say_what_is_done_and_what_to_do_next():
    assert sequences_step([]).line() == "⚠ pick at least one sequence (T1 and T2 first)"
    assert sequences_step(["T1", "T2"]).line() == "✓ T1, T2"
    assert regions_step([]).line() == "⚠ 0 of 5 — next, mass: the epidural or paraspinal mass"
    assert regions_step(["mass", "cord"]).line() == "⚠ 2 of 5 — next, marrow: vertebral body at an uninvolved level"
    assert regions_step(region_names()).line() == "✓ all 5 regions outlined"
    assert anchor_step([]).done is False
    assert anchor_step([""]).line() == "⚠ name a point with its level (C1 … S5)"
    assert anchor_step(["T6"]).line() == "✓ anchor T6: Find levels names the others"
    assert anchor_step(["T4", "T5", "T6"]).line() == "✓ 3 levels, T4 to T6"
    assert clinical_step(Clinical()).done is False
    assert clinical_step(Clinical(age=79, sex="male", conditions=("myelodysplastic_syndrome",))).line() == "✓ age 79, male, 1 condition"


def test_the_differential_is_provisional_until_the_mass_and_a_reference_exist():
    assert provisional_text(["cord", "marrow"]) == "provisional — 2 of 5 regions"
    assert provisional_text(["mass"]) == "provisional — 1 of 5 regions"
    assert provisional_text(["mass", "muscle"]) == ""


def test_disabled_buttons_say_why():
    assert update_blocked_reason(False, ["mass"]) == "Pick a sequence in step 1 first."
    assert update_blocked_reason(True, []) == "Outline a region in step 2 first (the mass to start)."
    assert update_blocked_reason(True, ["mass"]) == ""
    assert find_levels_blocked_reason([]) == "Place the anchor vertebra first (step 3)."
    assert find_levels_blocked_reason(["", "T6"]) == ""


def test_outlined_regions_count_rois_and_segments_named_like_regions(scene):
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "mass")
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode")
    segmentation.GetSegmentation().AddEmptySegment("marrow", "marrow")
    segmentation.GetSegmentation().AddEmptySegment("other", "other")
    assert outlined_regions({"mass": roi, "cord": None}, segmentation) == ["mass", "marrow"]
    assert outlined_regions({}, None) == []


def test_the_next_point_placed_takes_the_anchor_level_once(scene):
    points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "level anchor")
    name_anchor_when_placed(points, "T6")
    points.AddControlPoint(0.0, 0.0, 0.0)
    points.AddControlPoint(0.0, 0.0, 30.0)
    assert point_labels(points) == ["T6", "level anchor-2"]
    with pytest.raises(InputError, match="'X9' is not a vertebra name"):
        name_anchor_when_placed(points, "X9")


def test_the_anchor_takes_the_level_picked_in_the_panel(scene):
    points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "anchor")
    points.AddControlPoint(0.0, 0.0, 0.0)
    name_last_point(points, "T6")
    assert point_labels(points) == ["T6"]
    with pytest.raises(InputError, match="'X9' is not a vertebra name"):
        name_last_point(points, "X9")


def test_report_node_round_trip_and_refusals(scene):
    node = scene.AddNewNodeByClass("vtkMRMLTextNode", "report")
    report = from_json(json.loads((GOLDENS / "mds_t5_t8" / "report.json").read_text(encoding="utf-8")), "report.json")
    write_report_node(report, node)
    assert read_report_node(node) == report
    # a scene saved before the present schema holds a report of the first (Testing/test_report_model.py)
    first = json.loads((Path(__file__).resolve().parent / "data" / "stored_report_schema_1_mds_t5_t8.json").read_text(encoding="utf-8"))
    saved_before = scene.AddNewNodeByClass("vtkMRMLTextNode", "report of /1")
    saved_before.SetAttribute(REPORT_ATTRIBUTE, FIRST_SCHEMA)
    saved_before.SetText(json.dumps(first))
    assert read_report_node(saved_before) == from_json(first, "old.json")
    other = scene.AddNewNodeByClass("vtkMRMLTextNode", "notes")
    other.SetText("{}")
    with pytest.raises(InputError, match="notes: is not an EMHAssist report"):
        read_report_node(other)
    node.SetText("{broken")
    with pytest.raises(InputError, match="report: is not valid JSON"):
        read_report_node(node)


def test_find_levels_from_one_anchor_gives_an_editable_labelled_point_list(scene, synthetic):
    study = study_into_scene(synthetic, scene)
    anchor = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "anchor")
    anchor.AddControlPoint(*synthetic.level_centres["T6"], "T6")
    study.levels = anchor
    found = find_levels(study, scene, "levels found")
    labels = [found.GetNthControlPointLabel(n) for n in range(found.GetNumberOfControlPoints())]
    assert {"T5", "T6", "T7", "T8"} <= set(labels) and len(labels) >= 6
    assert not found.GetLocked()
    t6 = labels.index("T6")
    assert found.GetNthControlPointDescription(t6) == "user"
    for name in ("T5", "T8"):
        position = found.GetNthControlPointPositionWorld(labels.index(name))
        assert np.linalg.norm(np.array(position) - synthetic.level_centres[name]) < 6.0, name
    anchor.RemoveAllControlPoints()
    with pytest.raises(InputError, match="levels: place at least one point on a vertebral body"):
        find_levels(study, scene, "none")


def parameter_node_fields() -> dict[str, list[str]]:
    """Field name -> node classes of EMHAssist.py's @parameterNodeWrapper node fields (read, not imported);
    a union alias is resolved to its members."""
    tree = ast.parse(MODULE_FILE.read_text(encoding="utf-8"))
    aliases = {
        ast.unparse(node.targets[0]): [ast.unparse(member) for member in node.value.slice.elts]
        for node in tree.body
        if isinstance(node, ast.Assign) and ast.unparse(node.value).startswith("typing.Union[")
    }
    wrapper = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "EMHAssistParameterNode")
    annotations = {s.target.id: ast.unparse(s.annotation) for s in wrapper.body if isinstance(s, ast.AnnAssign)}
    return {name: aliases.get(annotation, [annotation]) for name, annotation in annotations.items()}


def reference_role(field: str, classes: list[str], node: slicer.vtkMRMLNode) -> str:
    """The node reference role the parameter node wrapper writes a node field under: the field's
    name, or for a union the name and the index of the node's class among the union's members."""
    return field if len(classes) == 1 else f"{field}_{classes.index(node.GetClassName())}"


def test_inputs_and_results_referenced_by_the_parameter_node_come_back_from_an_mrb(live_scene, synthetic, tmp_path):
    study = study_into_scene(synthetic, live_scene)
    table = live_scene.AddNewNodeByClass("vtkMRMLTableNode", "EMHAssist results")
    report_node = live_scene.AddNewNodeByClass("vtkMRMLTextNode", "EMHAssist report")
    analysis = LiveAnalysis().update(study).analysis
    save_results(live_scene, analysis, study, table, report_node)

    # What the parameter node wrapper writes: node fields as node references (plus an empty
    # parameter of the same name), other fields as text parameters.
    selected = {f"{role.lower()}Volume": node for role, node in study.sequences.items()}
    selected |= {f"{region}Source": sources[0].node for region, sources in study.regions.items()}
    selected |= {"levelPoints": study.levels, "resultsTable": table, "report": report_node}
    fields = parameter_node_fields()
    assert set(selected) <= set(fields), sorted(set(selected) - set(fields))
    parameters = live_scene.AddNewNodeByClass("vtkMRMLScriptedModuleNode", "EMHAssist")
    parameters.SetAttribute("ModuleName", "EMHAssist")
    roles = {name: reference_role(name, fields[name], node) for name, node in selected.items()}
    assert roles["cordSource"] == "cordSource_0" and roles["t2Volume"] == "t2Volume"
    for name, node in selected.items():
        parameters.SetParameter(roles[name], "")
        parameters.SetNodeReferenceID(roles[name], node.GetID())
    parameters.SetParameter("age", "79")
    bundle = tmp_path / "case.mrb"
    assert live_scene.WriteToMRB(str(bundle))

    from trame_slicer.core import SlicerApp

    app = SlicerApp()
    loaded = app.scene
    assert loaded.ReadFromMRB(str(bundle))
    restored = loaded.GetFirstNodeByName("EMHAssist")
    assert restored.GetParameter("age") == "79"
    nodes = {name: restored.GetNodeReference(roles[name]) for name in selected}
    assert {name: node.GetName() for name, node in nodes.items()} == {name: node.GetName() for name, node in selected.items()}
    for region, sources in study.regions.items():
        before, after = box_of_roi(sources[0].node), box_of_roi(nodes[f"{region}Source"])
        np.testing.assert_allclose(after.center, before.center, atol=1e-4)
        np.testing.assert_allclose(after.half_size, before.half_size, atol=1e-4)
    assert read_report_node(nodes["report"]) == analysis.report
    table_content = read_results_table(nodes["resultsTable"])
    assert table_content.ratios.keys() == analysis.report.ratios.keys()
    assert find_overlays(loaded, study.name) is not None

    # The restored inputs analyse to the same results (file names aside: the bundle's own).
    again = study_from_nodes(
        study.name,
        {role: nodes[f"{role.lower()}Volume"] for role in study.sequences},
        {region: nodes[f"{region}Source"] for region in study.regions},
        levels=nodes["levelPoints"],
        clinical=study.clinical,
    )
    report = LiveAnalysis().update(again).analysis.report
    for section in ("regions", "ratios", "enhancement", "levels", "differential", "warnings"):
        assert getattr(report, section) == getattr(analysis.report, section), section
    del app


def placed_roi(scene, region: str, *clicks):
    """An ROI placed as Slicer's markups placement does, one control point per click, with the panel's
    handler on PointPositionDefinedEvent."""
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", region)
    roi.AddObserver(slicer.vtkMRMLMarkupsNode.PointPositionDefinedEvent, lambda caller, event: give_default_size(caller, region))
    for click in clicks:
        roi.AddControlPoint(*click)
    return roi


def test_an_roi_placed_by_two_corner_clicks_keeps_the_box_slicer_places(scene):
    """A box ROI takes two clicks (its two control points): the first click leaves it alone (resizing it
    there ended the placement and refused the second click), the second gives Slicer's box."""
    drawn = placed_roi(scene, "mass", (10.0, 20.0, 30.0), (20.0, 26.0, 30.0))
    assert drawn.GetControlPointPlacementComplete()
    assert list(drawn.GetCenter()) == [15.0, 23.0, 30.0]
    assert drawn.GetSize()[0] == 10.0 and drawn.GetSize()[1] == 6.0 and drawn.GetSize()[2] > 0  # Slicer sets the depth
    half = placed_roi(scene, "mass", (10.0, 20.0, 30.0))
    assert not half.GetControlPointPlacementComplete() and list(half.GetSize()) == [0.0, 0.0, 0.0]


def test_two_clicks_on_one_spot_give_the_regions_default_size_there(scene):
    clicked = placed_roi(scene, "mass", (10.0, 20.0, 30.0), (10.0, 20.0, 30.0))
    assert list(clicked.GetSize()) == [12.0, 12.0, 20.0] and list(clicked.GetCenter()) == [10.0, 20.0, 30.0]
    drawn = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "disc")
    drawn.SetSize(20.0, 8.0, 4.0)
    assert not give_default_size(drawn, "disc")
    assert list(drawn.GetSize()) == [20.0, 8.0, 4.0]


def test_drawing_the_overlays_leaves_the_users_placement_target_alone(scene, synthetic):
    """Slicer's Markups logic makes each markups node added outside a batch the active place node; the
    overlays' point lists and lines must not take the user's next click."""
    study = study_into_scene(synthetic, scene)
    selection = scene.GetNodeByID("vtkMRMLSelectionNodeSingleton")
    target = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "your mass")
    assert selection.GetActivePlaceNodeID() == target.GetID()  # as Slicer's Markups logic does on add
    table = scene.AddNewNodeByClass("vtkMRMLTableNode", "results")
    report = scene.AddNewNodeByClass("vtkMRMLTextNode", "report")
    overlays = save_results(scene, LiveAnalysis().update(study).analysis, study, table, report)
    assert any(node.IsA("vtkMRMLMarkupsNode") for node in overlays.nodes())
    assert selection.GetActivePlaceNodeID() == target.GetID()
    assert selection.GetActivePlaceNodeClassName() == "vtkMRMLMarkupsROINode"


def test_every_change_a_user_makes_to_an_input_fires_an_observed_event(scene, synthetic):
    study = study_into_scene(synthetic, scene)
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "moved")
    fired: list[str] = []

    def watch(node, name):
        for event in events_to_observe(node):
            node.AddObserver(event, lambda caller, event_id, name=name: fired.append(name))

    def changes(name, change) -> bool:
        fired.clear()
        change()
        return name in fired

    volume, roi, levels = study.sequences["T2"], study.regions["marrow"][0].node, study.levels
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "outlines")
    segment = segmentation.GetSegmentation().AddEmptySegment("mass", "mass")
    grid = grid_of_volume(volume)
    for node, name in ((volume, "volume"), (roi, "roi"), (levels, "levels"), (segmentation, "segmentation")):
        watch(node, name)
    assert changes("volume", lambda: slicer.util.updateVolumeFromArray(volume, synthetic.sequences["T2"].clean))
    assert changes("volume", lambda: volume.SetAndObserveTransformNodeID(transform.GetID()))
    assert changes("roi", lambda: roi.SetCenter(*(np.array(roi.GetCenter()) + 1.0)))
    assert changes("roi", lambda: roi.SetSize(5.0, 6.0, 7.0))
    assert changes("roi", lambda: roi.SetAndObserveObjectToNodeMatrix(vtk_matrix(np.diag([1.0, -1.0, -1.0, 1.0]))))
    assert changes("levels", lambda: levels.SetNthControlPointLabel(0, "T3"))
    assert changes("levels", lambda: levels.SetNthControlPointPosition(0, 1.0, 2.0, 3.0))
    assert changes("levels", lambda: levels.AddControlPoint(0.0, 0.0, 0.0, "T12"))
    assert changes("levels", lambda: levels.RemoveNthControlPoint(0))
    mask = np.zeros(grid.shape, bool)
    mask[20:24, 100:110, 60:70] = True
    assert changes("segmentation", lambda: set_segment_mask(segmentation, segment, mask, grid))
    transform.SetMatrixTransformToParent(vtk_matrix(np.diag([1.0, 1.0, 1.0, 1.0]) + np.eye(4, k=3)))
    assert changes("segmentation", lambda: segmentation.SetAndObserveTransformNodeID(transform.GetID()))


def test_one_node_feeding_two_inputs_is_observed_once_without_warnings(scene, synthetic):
    """Slicer's VTKObservationMixin warns "already has observer" for a second identical observation
    and "does not have observer" when removing one twice."""
    import warnings

    study = study_into_scene(synthetic, scene)
    roi, volume = study.regions["mass"][0].node, study.sequences["T2"]
    inputs = [(volume, events_to_observe(volume)), (roi, events_to_observe(roi)), (roi, events_to_observe(roi))]
    pairs = observations(inputs)
    assert len(pairs) == len(events_to_observe(volume)) + len(events_to_observe(roi))
    mixin = slicer.util.VTKObservationMixin()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for node, event in pairs:
            mixin.addObserver(node, event, print)
        for node, event in pairs:
            mixin.removeObserver(node, event, print)


def test_overlays_are_hidden_from_the_selectors_and_refused_as_inputs(scene, synthetic):
    study = study_into_scene(synthetic, scene)
    table = scene.AddNewNodeByClass("vtkMRMLTableNode", "results")
    report = scene.AddNewNodeByClass("vtkMRMLTextNode", "report")
    overlays = save_results(scene, LiveAnalysis().update(study).analysis, study, table, report)
    refuse_overlays([study.sequences["T2"], study.regions["mass"][0].node, None])
    hidden = overlay_node_ids(scene)  # what the panel's selectors hide
    assert sorted(hidden) == sorted(node.GetID() for node in overlays.nodes())
    assert not {node.GetID() for node in [*study.sequences.values(), study.levels]} & set(hidden)
    for node in (overlays.segments, overlays.levels):
        with pytest.raises(InputError, match=f"^{node.GetName()}: is drawn by EMHAssist"):
            refuse_overlays([study.levels, node])


# --- Quiz ----------------------------------------------------------------------------------------


def test_quiz_cases_are_numbered_without_their_names(scene):
    labels = quiz_case_labels()
    assert len(labels) == len(case_names()) and len(set(labels)) == len(labels)
    assert [quiz_case_name(label) for label in labels] == case_names()
    assert [quiz_case_label(name) for name in case_names()] == labels
    for label in labels:
        assert not any(word in label.lower() for name in case_names() for word in name.split("_") if len(word) > 3)
    with pytest.raises(InputError, match="Case 99"):
        quiz_case_name("Case 99")


def test_diagnosis_names_map_to_the_quiz_choices():
    assert [diagnosis_id(name) for name in diagnosis_names()] == [choice.id for choice in Quiz.choices()]
    assert [diagnosis_name(choice.id) for choice in Quiz.choices()] == diagnosis_names()
    with pytest.raises(InputError, match="pick a diagnosis"):
        diagnosis_id("")


def _learner_boxes_on_reference(quiz: Quiz, scene, name: str, shift_mass_mm: float = 0.0) -> None:
    for region, specs in build_study(name).rois.items():
        for spec in specs:
            box = box_of_spec(spec)
            roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", f"your {region}")
            offset = shift_mass_mm * box.axes[:, 2] if region == "mass" else np.zeros(3)
            set_roi_box(roi, Box(box.center + offset, box.axes, box.half_size))
            quiz.adopt_roi(region, roi)


def test_reveal_text_for_boxes_on_the_reference(scene):
    name = quiz_case_name(quiz_case_labels()[case_names().index(DEFAULT_CASE)])
    quiz = Quiz(name, scene)
    _learner_boxes_on_reference(quiz, scene, name)
    reveal = quiz.reveal(diagnosis_id("Extramedullary hematopoiesis"))
    text = reveal_text(reveal, quiz.info.title)
    lines = text.splitlines()
    assert lines[0] == "Right: Extramedullary hematopoiesis." and lines[2] == f"The case: {quiz.info.title}"
    assert lines[1].startswith("Your levels: mass T5–T8, cord compressed")
    for point in quiz.info.teaching_points:
        assert f"- {point}" in lines
    for region in build_study(name).rois:
        if region == "cord":
            assert "- your cord on cord: 100 % inside the cord" in text
        else:
            assert f"- your {region} on {region}: Dice 1.00, IoU 1.00, 0.0 mm away (on target)" in lines
    assert "Every ratio agrees with the reference's (95 % intervals overlap)." in lines


def test_reveal_text_names_a_missed_region_a_wrong_pick_and_a_shifted_box(scene):
    quiz = Quiz(DEFAULT_CASE, scene)
    _learner_boxes_on_reference(quiz, scene, DEFAULT_CASE, shift_mass_mm=3.0)
    quiz.remove_roi(quiz.learner_rois["disc"][0])
    text = reveal_text(quiz.reveal("lymphoma"), quiz.info.title)
    assert text.startswith("Not this time: you picked Spinal epidural lymphoma; the answer is Extramedullary hematopoiesis.")
    assert "- disc: not outlined" in text.splitlines()
    [mass_line] = [line for line in text.splitlines() if line.startswith("- your mass on mass: Dice")]
    assert "3.0 mm away (on target)" in mass_line and "Dice 1.00" not in mass_line


def test_sex_and_primary_combos_show_labels_for_the_values_they_hold():
    for section in ("sex", "primaries"):
        assert len(clinical_choice_labels(section)) == len(clinical_choices(section))
    primaries = dict(zip(clinical_choices("primaries"), clinical_choice_labels("primaries")))
    assert primaries[""] == "none or not stated" and primaries["breast"] == "breast cancer"
    assert dict(zip(clinical_choices("sex"), clinical_choice_labels("sex")))["other"] == "other or not stated"


def test_checkboxes_fill_two_columns_and_a_long_label_takes_its_own_row():
    assert checkbox_text("sudden (apoplectic) onset of back or neck pain") == "sudden onset of back or neck pain"
    texts = ["fever", "sudden onset of back or neck pain", "back pain", "weight loss", "night sweats"]
    assert checkbox_cells(texts) == [(0, 0, 1), (1, 0, 2), (2, 0, 1), (2, 1, 1), (3, 0, 1)]
