"""MSCC by SCT's check, the normative table against its derivation, and the built-in cases end to end."""

import importlib.util
from pathlib import Path

import pytest

from EMHAssistLib import compression
from EMHAssistLib.analysis import analyze, read_sequences
from EMHAssistLib.cases import build_study, study_into_scene
from EMHAssistLib.knowledge import load
from EMHAssistLib.report import summary_text

ROOT = Path(__file__).resolve().parents[1]


def test_mscc_matches_sct_ground_truth():
    assert compression.metric_ratio(at=6.85, above=7.65, below=7.02) == pytest.approx(6.612133606, abs=1e-4)


def test_normalised_ratio_divides_each_place_by_healthy_cords():
    # A cord 10 % thinner than healthy everywhere has no normalised compression.
    assert compression.normalised_metric_ratio((5.4, 6.3, 5.04), (6.0, 7.0, 5.6)) == pytest.approx(0.0, abs=1e-9)
    assert compression.normalised_metric_ratio((6.0, 6.0, 3.0), (6.0, 6.0, 6.0)) == pytest.approx(50.0)


def test_shipped_normative_table_matches_a_fresh_derivation(shared_data):
    spec = importlib.util.spec_from_file_location("derive_normative_cord", ROOT / "tools" / "derive_normative_cord.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    derived = module.derive(shared_data / "PAM50-normalized-metrics")
    assert derived == load("normative_cord")
    assert derived["subjects"] == 58 and set(derived["levels"]) == {str(code) for code in range(1, 21)}


def test_summary_line_reads_like_a_dictation():
    levels = {"mass": {"from": "T5", "to": "T8"}, "compression": {"from": "T5", "to": "T7", "max_mscc_percent": 41.2, "at": "T6"}}
    assert compression.summary_line(levels) == "mass T5–T8, cord compressed T5–T7, MSCC 41 % at T6"
    assert compression.summary_line({"mass": None, "compression": None}) == "no cord compression"


def _assess(scene, *, oblique_degrees=None, keep_only=None):
    study = study_into_scene(build_study("mds_t5_t8", oblique_degrees=oblique_degrees), scene)
    if keep_only is not None:
        points = study.levels
        for n in reversed(range(points.GetNumberOfControlPoints())):
            if points.GetNthControlPointLabel(n) != keep_only:
                points.RemoveNthControlPoint(n)
    return study, compression.assess(study, read_sequences(study))


def _expected():
    synthetic = build_study("mds_t5_t8")
    return synthetic.mass_levels, synthetic.compression_levels


@pytest.mark.parametrize(("label", "options"), [("as built", {}), ("oblique 15 degrees", {"oblique_degrees": 15.0}), ("single anchor T6", {"keep_only": "T6"})])
def test_built_in_case_levels_exactly_right(scene, label, options):
    mass_levels, compression_levels = _expected()
    _, outcome = _assess(scene, **options)
    levels = outcome.levels
    assert (levels["mass"]["from"], levels["mass"]["to"]) == tuple(mass_levels), label
    assert levels["compression"] is not None, label
    assert (levels["compression"]["from"], levels["compression"]["to"]) == tuple(compression_levels), label
    assert 25.0 <= levels["compression"]["max_mscc_percent"] <= 60.0


def test_single_anchor_names_every_body_of_the_case(scene):
    study, outcome = _assess(scene, keep_only="T6")
    names = [(v["name"], v["source"]) for v in outcome.levels["vertebrae"]]
    assert ("T6", "user") in names
    assert [n for n, _ in names] == [f"T{n}" for n in range(1, 13)] + ["L1"]


def test_report_has_levels_and_morphology_and_the_summary_line(scene):
    study = study_into_scene(build_study("mds_t5_t8"), scene)
    report = analyze(study)
    assert report["morphology"]["mass_position"] == "posterior_epidural"
    assert report["morphology"]["mass_levels_spanned"] == 4
    assert "Levels: mass T5–T8, cord compressed" in summary_text(report)


def test_missing_cord_region_is_a_warning(scene):
    study = study_into_scene(build_study("mds_t5_t8"), scene)
    del study.regions["cord"]
    outcome = compression.assess(study, read_sequences(study))
    assert outcome.levels is None and "no cord region" in outcome.warnings[0]
