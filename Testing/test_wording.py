"""Issue 16 point 3: the stages that compute give typed findings and outputs/wording.py states them in
the words of data/wording.json. Each finding below is worded as the stage itself wrote it before the
move (session 15's f-strings in measurement/regions.py and spine/levels.py), so every report reads the
same; test_goldens.py checks the built-in cases' outputs byte for byte."""

import copy

import pytest

from EMHAssistLib.errors import InputError
from EMHAssistLib.knowledge import load
from EMHAssistLib.measurement.findings import RegionFinding, RegionFindingCode
from EMHAssistLib.outputs import wording
from EMHAssistLib.report_model import Extent, NotAssessed, NotAssessedCause, NotAssessedReason, Span
from EMHAssistLib.spine.findings import LevelFinding, LevelFindingCode, SpineFinding, SpineFindingCode, WalkStop, WalkStopReason

REGION_WORDS = [
    (RegionFinding(RegionFindingCode.SEGMENT_LEFT_OUT, "cord", label="regions/Cord"), "regions/Cord: segment is empty; left out of the cord region, which its other outlines give"),
    (RegionFinding(RegionFindingCode.OUTSIDE_FIELD, "muscle", "T1", label="muscle"), "muscle: muscle region extends outside the T1 field of view"),
    (RegionFinding(RegionFindingCode.NO_VOXEL_CENTRE, "mass", "T1C"), "mass: no T1C voxel centre falls inside the region; not measured on T1C"),
    (RegionFinding(RegionFindingCode.ALL_NON_FINITE, "mass", "T2", voxels=120), "mass: all 120 T2 voxels are non-finite (NaN or infinite); not measured on T2"),
    (RegionFinding(RegionFindingCode.NON_FINITE_LEFT_OUT, "mass", "T2", voxels=7), "mass: 7 non-finite T2 voxels left out"),
    (RegionFinding(RegionFindingCode.FEW_VOXELS, "disc", "T1", voxels=1), "disc: only 1 T1 voxels; its ratios are unstable"),
]


@pytest.mark.parametrize(("finding", "text"), REGION_WORDS, ids=[finding.code.value for finding, _ in REGION_WORDS])
def test_a_region_finding_reads_as_the_measurement_worded_it(finding: RegionFinding, text: str):
    assert wording.region_finding_text(finding) == text


def _stop(reason: WalkStopReason, direction: int = 1, start: str = "T7", mm: float | None = None) -> WalkStop:
    return WalkStop(reason, direction, start, mm)


LEVEL_WORDS = [
    (LevelFinding(LevelFindingCode.ONE_VERTEBRA), "only one vertebra could be placed; its boundaries assume a typical height for its region"),
    (
        LevelFinding(LevelFindingCode.WALK_STOPPED, _stop(WalkStopReason.FUSED, start="L4"), "S1"),
        "level detection stopped below S1: the sacral segments are fused, their discs vestigial; label a point on each sacral body below it to name it",
    ),
    (
        LevelFinding(LevelFindingCode.WALK_STOPPED, _stop(WalkStopReason.EXTRAPOLATED, -1, mm=120.0), "C4"),
        "level detection stopped above C4: farther on the spine line is extrapolated more than 120 mm beyond the cord and the labelled points; label a point on a body above it to name more levels",
    ),
    (
        LevelFinding(LevelFindingCode.LEVELS_MISSED, _stop(WalkStopReason.NO_DISC, -1), "T2", ("C7",)),
        "level detection stopped above T2: no disc above it stands out in the image; C7 not found, though the field of view holds it; label a point on a body above T2 to name more levels",
    ),
    (  # missed upward: named head first, as every span (held-out seed 225 read "T8–T1 not found" before session 16)
        LevelFinding(LevelFindingCode.LEVELS_MISSED, _stop(WalkStopReason.NO_DISC, -1), "T9", ("T8", "T7", "T6")),
        "level detection stopped above T9: no disc above it stands out in the image; T6\u2013T8 not found, though the field of view holds them; label a point on a body above T9 to name more levels",
    ),
    (
        LevelFinding(LevelFindingCode.LEVELS_MISSED, _stop(WalkStopReason.NO_REPEAT), "T8", ("T9", "T10", "T11", "T12")),
        "level detection stopped below T8: the image along the spine shows no vertebral repeat (body and disc) near T7; T9\u2013T12 not found, though the field of view holds them; label a point on a body below T8 to name more levels",
    ),
    (
        LevelFinding(LevelFindingCode.LEVELS_MISSED, _stop(WalkStopReason.UNIFORM), "T7", ("T8", "T9")),
        "level detection stopped below T7: the image along the spine is uniform near T7; T8\u2013T9 not found, though the field of view holds them; label a point on a body below T7 to name more levels",
    ),
    (
        LevelFinding(LevelFindingCode.LEVELS_MISSED, _stop(WalkStopReason.EXTRAPOLATED, mm=120.0), "L5", ("S1",)),
        "level detection stopped below L5: farther on the spine line is extrapolated more than 120 mm beyond the cord and the labelled points; S1 not found, though the field of view holds it; label a point on a body below L5 to name more levels",
    ),
]


@pytest.mark.parametrize(("finding", "text"), LEVEL_WORDS, ids=[f"{finding.code.value}-{finding.stop.reason.value if finding.stop else ''}" for finding, _ in LEVEL_WORDS])
def test_a_level_finding_reads_as_the_level_detection_worded_it(finding: LevelFinding, text: str):
    assert wording.level_finding_text(finding) == text
    assert wording.finding_text(SpineFinding(SpineFindingCode.LEVEL_MAP, level=finding)) == text


def test_the_spine_findings_that_quoted_a_message_now_name_what_they_carry():
    error = InputError("cord", "the tracker lost the cord after 3 slices")
    missing = NotAssessed(Extent("T5", "T8", (Span("T5", "T8"),)), NotAssessedReason((NotAssessedCause.NOT_FOLLOWED,)))
    assert wording.finding_text(SpineFinding(SpineFindingCode.NO_CORD, error=error)) == "cord: the tracker lost the cord after 3 slices: vertebral levels and cord compression are not assessed"
    assert wording.finding_text(SpineFinding(SpineFindingCode.LEVELS_FAILED, error=error)) == "cord: the tracker lost the cord after 3 slices; vertebral levels and cord compression are not assessed"
    assert wording.finding_text(SpineFinding(SpineFindingCode.NO_CORD_FOUND)) == "no cord region, and no cord found behind the level points: vertebral levels and cord compression are not assessed"
    assert wording.finding_text(SpineFinding(SpineFindingCode.CORD_FOUND_BEHIND_POINTS, label="T1, T2")).startswith("no cord region: the cord was found behind the level points (T1, T2); ")
    assert wording.finding_text(SpineFinding(SpineFindingCode.COMPRESSION_NOT_ASSESSED, not_assessed=missing)) == "cord compression not assessed at T5\u2013T8: the cord could not be followed there"
    no_levels = NotAssessed(None, NotAssessedReason((NotAssessedCause.NO_LEVELS,)))
    assert wording.finding_text(SpineFinding(SpineFindingCode.COMPRESSION_NOT_ASSESSED, not_assessed=no_levels)) == "cord compression not assessed: no vertebral levels: place a labelled point on a vertebral body"


def test_a_walk_advice_for_no_walk_stop_is_refused_naming_the_file_and_key(monkeypatch: pytest.MonkeyPatch):
    raw = copy.deepcopy(load("wording"))
    raw["walk_stop_advice"]["extrapolate"] = "; misspelt"
    monkeypatch.setattr(wording, "load", lambda name: raw)
    wording.wording.cache_clear()
    try:
        with pytest.raises(InputError, match="wording.json: walk_stop_advice.extrapolate: is not a walk stop"):
            wording.wording()
    finally:
        wording.wording.cache_clear()


def test_the_levels_sections_typed_reasons_read_as_the_spine_stage_wrote_them():
    """Before session 17 spine/compression.py wrote these sentences into the levels section itself."""
    error = InputError("cord region", "the cord is lost after 3 slices; draw the cord region on it")
    reasons = {
        (NotAssessedCause.NOT_FOLLOWED, NotAssessedCause.TOLD_FROM_MASS): "the cord could not be followed there; the cord could not be told from the mass there",
        (NotAssessedCause.NO_CORD_FOUND,): "no cord region, and no cord found behind the level points",
    }
    assert {causes: wording.not_assessed_reason_text(NotAssessedReason(causes)) for causes in reasons} == reasons
    traced = NotAssessedReason((NotAssessedCause.CORD_NOT_TRACED,), str(error))
    assert wording.not_assessed_reason_text(traced) == "cord region: the cord is lost after 3 slices; draw the cord region on it"
    # a report of the first schema, which held only these words, reads them back as the reason
    stored = {"levels": None, "reason": wording.REPORT_WORDS.text(traced, None)}
    assert wording.REPORT_WORDS.coded(stored, NotAssessed, "levels.not_assessed") == stored | {"reason_code": traced}
