"""The module's self-test body, shared by `EMHAssistTest.runTest()` inside Slicer and by pytest.

It builds the built-in teaching case into the scene twice, once with its noisy images and once
with the noise-free images the phantom started from, analyses both with the same code, writes the
results table, and checks that noise moves no ratio by more than the tolerance. Qt-free and
offline: no sample data is downloaded.
"""

import math
from collections.abc import Mapping

import slicer

from ..analysis import analyze
from ..inputs.study import Study
from ..outputs.scene_writing import add_name_suffix, new_table, set_volume_voxels
from ..outputs.tables import read_results_table, write_results_table
from ..report_model import Ratio, RatioKey, Report
from ..settings import measurement_settings
from ..teaching.cases import DEFAULT_CASE, build_study, study_into_scene
from ..teaching.phantom import SyntheticStudy

RATIO_TOLERANCE = 0.03  # relative; the built-in case's noise and bias field stay within it
RESULTS_TABLE_NAME = "EMHAssist self-test results"
NOISE_FREE_SUFFIX = " (noise-free)"


def run_selftest(scene: slicer.vtkMRMLScene) -> None:
    """Raise AssertionError, naming what differs, unless the built-in case analyses as expected."""
    synthetic = build_study(DEFAULT_CASE)
    study = study_into_scene(synthetic, scene)
    report = analyze(study)
    reference = analyze(noise_free_study(synthetic, scene))
    table = new_table(scene, RESULTS_TABLE_NAME)
    write_results_table(report, table)

    check_every_region_on_every_sequence(report, list(synthetic.rois), list(synthetic.sequences))
    check_ratios_near_reference(report, reference, RATIO_TOLERANCE)
    check_table_holds_report(table, report)


def noise_free_study(synthetic: SyntheticStudy, scene: slicer.vtkMRMLScene) -> Study:
    """The same case placed again, its volumes holding the phantom's noise-free images.

    Its nodes are renamed so a user who runs the self-test in Slicer can tell the two apart.
    """
    study = study_into_scene(synthetic, scene)
    for role, volume in study.sequences.items():
        set_volume_voxels(volume, synthetic.sequences[role].clean)
    nodes = list(study.sequences.values()) + [source.node for sources in study.regions.values() for source in sources]
    add_name_suffix(nodes + ([study.levels] if study.levels is not None else []), NOISE_FREE_SUFFIX)
    study.name += NOISE_FREE_SUFFIX
    return study


def check_every_region_on_every_sequence(report: Report, regions: list[str], roles: list[str]) -> None:
    missing = [
        f"{region} on {role}"
        for region in regions
        for role in roles
        if role not in report.regions.get(region, {}) or report.regions[region][role].n == 0
    ]
    if missing:
        raise AssertionError(f"regions not measured: {', '.join(missing)}")


def check_ratios_near_reference(report: Report, reference: Report, tolerance: float) -> None:
    """Every ratio, and every enhancement as post/pre, within `tolerance` of the noise-free value."""
    if report.ratios.keys() != reference.ratios.keys():
        raise AssertionError(f"ratios differ: {_texts(report.ratios)} on the noisy images, {_texts(reference.ratios)} noise-free")
    if not report.ratios:
        raise AssertionError("no ratio was computed")
    pairs = {key: (ratio.value, reference.ratios[key].value) for key, ratio in report.ratios.items()}
    # Enhancement is post/pre - 1 and can be near zero, so compare the post/pre ratio itself.
    roles = measurement_settings().enhancement
    for region, value in report.enhancement.items():
        if region not in reference.enhancement:
            raise AssertionError(f"enhancement of {region} missing on the noise-free images")
        pairs[f"{roles.post}/{roles.pre} {region}"] = (value.value + 1, reference.enhancement[region].value + 1)
    failures = [
        f"{key}: {value:.4f} vs {expected:.4f} noise-free"
        for key, (value, expected) in pairs.items()
        if not abs(value - expected) <= tolerance * abs(expected)  # relative to the noise-free value
    ]
    if failures:
        raise AssertionError(f"ratios more than {tolerance:.0%} off their noise-free values: {'; '.join(failures)}")


def check_table_holds_report(table: slicer.vtkMRMLTableNode, report: Report) -> None:
    expected_rows = sum(len(by_role) for by_role in report.regions.values())
    expected_rows += len(report.ratios) + len(report.enhancement)
    if table.GetNumberOfRows() != expected_rows:
        raise AssertionError(f"{table.GetName()}: {table.GetNumberOfRows()} rows, expected {expected_rows}")
    content = read_results_table(table)
    if content.ratios.keys() != report.ratios.keys():
        raise AssertionError(f"{table.GetName()}: ratios {_texts(content.ratios)}, expected {_texts(report.ratios)}")
    for key, ratio in report.ratios.items():
        if not math.isclose(content.ratios[key].value, ratio.value, rel_tol=1e-5):
            raise AssertionError(f"{table.GetName()}: {key.text} is {content.ratios[key].value}, the report says {ratio.value}")


def _texts(ratios: Mapping[RatioKey, Ratio]) -> list[str]:
    return sorted(key.text for key in ratios)
