"""Quiz mode on real MRML: the answer stays hidden until the reveal, which compares the learner's ROIs."""

import numpy as np
import pytest
from EMHAssistLib.errors import InputError
from EMHAssistLib.inputs.nodes import box_of_roi, set_roi_box
from EMHAssistLib.measurement.geometry import Box
from EMHAssistLib.teaching.cases import box_of_spec, build_study, case_info
from EMHAssistLib.teaching.quiz import REFERENCE_ATTRIBUTE, Quiz, compare_boxes, verdict

CASE = "mds_t5_t8"


@pytest.fixture(scope="module")
def reference_boxes() -> dict[str, list[Box]]:
    return {region: [box_of_spec(spec) for spec in specs] for region, specs in build_study(CASE).rois.items()}


@pytest.fixture
def quiz(scene) -> Quiz:
    return Quiz(CASE, scene)


def _nodes(scene, class_name: str) -> list:
    return [scene.GetNthNodeByClass(index, class_name) for index in range(scene.GetNumberOfNodesByClass(class_name))]


def _copy_reference(quiz: Quiz, scene, boxes: dict[str, list[Box]], shift_mm: dict[str, np.ndarray] | None = None) -> None:
    """The learner draws their own ROI nodes exactly over the reference boxes (shifted where asked)."""
    for region, region_boxes in boxes.items():
        for box in region_boxes:
            roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", f"drawn {region}")
            offset = (shift_mm or {}).get(region, np.zeros(3))
            set_roi_box(roi, Box(box.center + offset, box.axes, box.half_size))
            quiz.adopt_roi(region, roi)


def test_case_opens_with_the_answer_hidden(quiz, scene):
    assert set(quiz.study.sequences) == {"T1", "T2", "T1C"}
    assert quiz.study.levels is not None and quiz.study.levels.GetNumberOfControlPoints() > 0
    assert _nodes(scene, "vtkMRMLMarkupsROINode") == []
    assert _nodes(scene, "vtkMRMLSegmentationNode") == []
    assert _nodes(scene, "vtkMRMLTextNode") == []
    assert not quiz.study.regions and not quiz.revealed
    ids = [choice.id for choice in quiz.choices()]
    assert case_info(CASE).expected in ids and len(ids) >= 5


def test_reveal_on_the_reference_boxes(quiz, scene, reference_boxes):
    _copy_reference(quiz, scene, reference_boxes)
    reveal = quiz.reveal("emh")
    assert reveal.correct and reveal.expected == "emh"
    assert verdict(reveal) == "Right: Extramedullary hematopoiesis."
    assert reveal.ranking[0]["id"] == "emh"
    assert reveal.teaching_points == case_info(CASE).teaching_points and reveal.teaching_points
    assert {c.region for c in reveal.regions} == set(reference_boxes) and not reveal.missed_regions
    for comparison in reveal.regions:
        assert comparison.dice == pytest.approx(1.0) and comparison.iou == pytest.approx(1.0)
        assert comparison.centre_distance_mm < 0.1
    assert reveal.ratios and not any(ratio.differ for ratio in reveal.ratios)
    assert "T2 mass/cord" in {ratio.key for ratio in reveal.ratios}
    references = [node for node in _nodes(scene, "vtkMRMLMarkupsROINode") if node.GetAttribute(REFERENCE_ATTRIBUTE)]
    assert len(references) == sum(map(len, reference_boxes.values()))
    assert all(node.GetLocked() for node in references)


def test_shifted_mass_box_loses_overlap_as_boxes_say(quiz, scene, reference_boxes):
    mass = reference_boxes["mass"][0]
    shift = 3.0 * mass.axes[:, 2]  # 3 mm along the box's own head-foot axis
    _copy_reference(quiz, scene, {"cord": reference_boxes["cord"], "mass": [mass]}, {"mass": shift})
    reveal = quiz.reveal("lymphoma")
    assert not reveal.correct and reveal.expected == "emh"
    by_region = {c.region: c for c in reveal.regions}
    length = 2 * mass.half_size[2]
    assert by_region["mass"].dice == pytest.approx((length - 3.0) / length, abs=0.02)
    assert by_region["mass"].iou == pytest.approx((length - 3.0) / (length + 3.0), abs=0.02)
    assert by_region["mass"].centre_distance_mm == pytest.approx(3.0, abs=0.1)
    assert set(reveal.missed_regions) == {"marrow", "muscle", "disc"}
    assert verdict(reveal) == (
        "Not this time: you picked Spinal epidural lymphoma; the answer is Extramedullary hematopoiesis."
    )


def test_mass_box_on_muscle_changes_the_ratios(quiz, scene, reference_boxes):
    muscle = reference_boxes["muscle"][0]
    _copy_reference(quiz, scene, {"cord": reference_boxes["cord"]})
    quiz.add_roi("mass", tuple(muscle.center), tuple(2 * muscle.half_size))
    reveal = quiz.reveal("emh")
    by_region = {c.region: c for c in reveal.regions}
    assert by_region["mass"].dice == 0.0 and by_region["mass"].centre_distance_mm > 20
    differing = {ratio.key for ratio in reveal.ratios if ratio.differ}
    assert "T2 mass/cord" in differing


def test_added_roi_is_an_axis_aligned_box_of_the_given_size(quiz):
    roi = quiz.add_roi("mass", (1.0, 2.0, 3.0), (10.0, 12.0, 20.0))
    box = box_of_roi(roi)
    assert np.allclose(box.center, [1, 2, 3]) and np.allclose(2 * box.half_size, [10, 12, 20])
    quiz.remove_roi(roi)
    assert not quiz.learner_rois


def test_compare_boxes_analytic():
    a = Box(np.zeros(3), np.eye(3), np.array([5.0, 5.0, 5.0]))
    b = Box(np.array([5.0, 0, 0]), np.eye(3), np.array([5.0, 5.0, 5.0]))
    comparison = compare_boxes("mass", [a], [b])
    assert comparison.dice == pytest.approx(0.5, abs=0.01)
    assert comparison.iou == pytest.approx(1 / 3, abs=0.01)
    assert comparison.centre_distance_mm == pytest.approx(5.0, abs=0.05)


def test_bad_quiz_input_is_named(quiz, scene):
    with pytest.raises(InputError, match="no ROI placed"):
        quiz.reveal("emh")
    quiz.add_roi("mass", (0.0, 0.0, 0.0), (5.0, 5.0, 5.0))
    with pytest.raises(InputError, match="not-a-diagnosis: is not a diagnosis"):
        quiz.reveal("not-a-diagnosis")
    with pytest.raises(InputError, match="kidney: is not a region"):
        quiz.add_roi("kidney", (0.0, 0.0, 0.0), (5.0, 5.0, 5.0))
    with pytest.raises(InputError, match="unknown_case"):
        Quiz("unknown_case", scene)
