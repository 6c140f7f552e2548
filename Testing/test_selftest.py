"""The self-test body that EMHAssistTest.runTest() runs inside Slicer, run here on a headless scene,
and its checks shown to fail when they should."""

from dataclasses import replace

import pytest
from golden_outputs import golden_report

from EMHAssistLib.frontends.selftest import (
    NOISE_FREE_SUFFIX,
    RATIO_TOLERANCE,
    RESULTS_TABLE_NAME,
    check_every_region_on_every_sequence,
    check_ratios_near_reference,
    check_table_holds_report,
    run_selftest,
)
from EMHAssistLib.outputs.tables import write_results_table
from EMHAssistLib.report_model import Ratio, RatioKey, Report


def test_selftest_passes_on_the_built_in_case(scene):
    run_selftest(scene)
    table = scene.GetFirstNodeByName(RESULTS_TABLE_NAME)
    assert table is not None and table.GetNumberOfRows() > 0
    volumes = [scene.GetNthNodeByClass(i, "vtkMRMLScalarVolumeNode") for i in range(scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode"))]
    noisy = sorted(volume.GetName() for volume in volumes if not volume.GetName().endswith(NOISE_FREE_SUFFIX))
    clean = sorted(volume.GetName().removesuffix(NOISE_FREE_SUFFIX) for volume in volumes if volume.GetName().endswith(NOISE_FREE_SUFFIX))
    assert noisy and noisy == clean, "each sequence once with noise and once noise-free"


def ratio(value: float) -> dict:
    return {"value": value, "ci95": [value * 0.9, value * 1.1]}


def report_with(ratios: dict, enhancement: dict | None = None) -> Report:
    return golden_report(ratios=ratios, enhancement=enhancement or {})


def test_ratios_just_inside_the_tolerance_pass():
    reference = report_with({"T2 mass/cord": ratio(0.5)}, {"mass": ratio(0.4)})
    inside = 1 + RATIO_TOLERANCE * 0.99
    check_ratios_near_reference(
        report_with({"T2 mass/cord": ratio(0.5 * inside)}, {"mass": ratio(1.4 * inside - 1)}), reference, RATIO_TOLERANCE
    )


def test_a_ratio_just_outside_the_tolerance_fails_and_is_named():
    reference = report_with({"T2 mass/cord": ratio(0.5), "T1 mass/cord": ratio(1.0)})
    noisy = report_with({"T2 mass/cord": ratio(0.5 * (1 + RATIO_TOLERANCE * 1.01)), "T1 mass/cord": ratio(1.0)})
    with pytest.raises(AssertionError, match=r"T2 mass/cord: 0\.515\d vs 0\.5000 noise-free") as error:
        check_ratios_near_reference(noisy, reference, RATIO_TOLERANCE)
    assert "T1 mass/cord" not in str(error.value)


def test_enhancement_is_compared_as_post_over_pre_not_as_a_near_zero_difference():
    # 0.01 vs 0.02 enhancement is a 100 % difference but a 1 % difference of T1C/T1.
    check_ratios_near_reference(
        report_with({"T1 mass/cord": ratio(1.0)}, {"cord": ratio(0.01)}),
        report_with({"T1 mass/cord": ratio(1.0)}, {"cord": ratio(0.02)}),
        RATIO_TOLERANCE,
    )
    with pytest.raises(AssertionError, match=r"T1C/T1 mass: 1\.2000 vs 1\.4000"):
        check_ratios_near_reference(
            report_with({"T1 mass/cord": ratio(1.0)}, {"mass": ratio(0.2)}),
            report_with({"T1 mass/cord": ratio(1.0)}, {"mass": ratio(0.4)}),
            RATIO_TOLERANCE,
        )


def test_different_or_missing_ratios_fail():
    with pytest.raises(AssertionError, match="ratios differ"):
        check_ratios_near_reference(report_with({"T2 mass/cord": ratio(0.5)}), report_with({}), RATIO_TOLERANCE)
    with pytest.raises(AssertionError, match="no ratio was computed"):
        check_ratios_near_reference(report_with({}), report_with({}), RATIO_TOLERANCE)
    with pytest.raises(AssertionError, match="enhancement of mass missing"):
        check_ratios_near_reference(
            report_with({"T1 mass/cord": ratio(1.0)}, {"mass": ratio(0.4)}), report_with({"T1 mass/cord": ratio(1.0)}), RATIO_TOLERANCE
        )


def test_a_region_missing_on_a_sequence_fails_and_is_named():
    stats = {"mean": 1.0, "median": 1.0, "sd": 0.1, "p5": 0.9, "p95": 1.1, "n": 10, "volume_mm3": 10.0}
    report = golden_report(regions={"cord": {"T1": stats, "T2": stats}, "mass": {"T1": stats}})
    check_every_region_on_every_sequence(report, ["cord"], ["T1", "T2"])
    with pytest.raises(AssertionError, match="regions not measured: mass on T2, disc on T1, disc on T2"):
        check_every_region_on_every_sequence(report, ["cord", "mass", "disc"], ["T1", "T2"])


def test_a_table_that_does_not_hold_the_report_fails(scene):
    stats = {"mean": 2.0, "median": 2.0, "sd": 0.5, "p5": 1.5, "p95": 2.5, "n": 40, "volume_mm3": 40.0}
    report = golden_report(
        case="check", regions={"cord": {"T1": stats}, "mass": {"T1": stats | {"mean": 1.0}}}, ratios={"T1 mass/cord": ratio(0.5)}, enhancement={}
    )
    table = scene.AddNewNodeByClass("vtkMRMLTableNode", "results")
    write_results_table(report, table)
    check_table_holds_report(table, report)
    with pytest.raises(AssertionError, match="results: 3 rows, expected 4"):
        check_table_holds_report(table, replace(report, enhancement={"mass": Ratio(0.4, (0.36, 0.44))}))
    with pytest.raises(AssertionError, match="T1 mass/cord is 0.5, the report says 0.6"):
        check_table_holds_report(table, replace(report, ratios={RatioKey.parse("T1 mass/cord"): Ratio(0.6, (0.54, 0.66))}))
