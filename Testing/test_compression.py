"""MSCC by SCT's check, the normative table against its derivation, the built-in cases end to end
against the phantom's own label map (among them a mass of the cord's own signal), and synthetic
cases written as specs here (a healthy spine, a mass that spares the cord)."""

import copy
import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from golden_outputs import levels_of

from EMHAssistLib.analysis import analyze, read_sequences
from EMHAssistLib.geometry import voxel_indices
from EMHAssistLib.inputs.study import spine_inputs
from EMHAssistLib.knowledge import load
from EMHAssistLib.outputs.report import summary_text
from EMHAssistLib.outputs import wording
from EMHAssistLib.outputs.wording import finding_text
from EMHAssistLib.report_model import Extent, NotAssessed, NotAssessedCause, NotAssessedReason, Span
from EMHAssistLib.spine import compression, normative
from EMHAssistLib.spine.findings import SpineFinding, SpineFindingCode
from EMHAssistLib.teaching import phantom
from EMHAssistLib.teaching.cases import build_study, study_into_scene

ROOT = Path(__file__).resolve().parents[1]


def test_mscc_matches_sct_ground_truth():
    assert compression.metric_ratio(at=6.85, above=7.65, below=7.02) == pytest.approx(6.612133606, abs=1e-4)


def test_normalised_ratio_divides_each_place_by_healthy_cords():
    # A cord 10 % thinner than healthy everywhere has no normalised compression.
    assert normative.normalised_metric_ratio((5.4, 6.3, 5.04), (6.0, 7.0, 5.6)) == pytest.approx(0.0, abs=1e-9)
    assert normative.normalised_metric_ratio((6.0, 6.0, 3.0), (6.0, 6.0, 6.0)) == pytest.approx(50.0)


def test_shipped_normative_table_matches_a_fresh_derivation(shared_data):
    spec = importlib.util.spec_from_file_location("derive_normative_cord", ROOT / "tools" / "derive_normative_cord.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    derived = module.derive(shared_data / "PAM50-normalized-metrics")
    assert derived == load("normative_cord")
    assert derived["subjects"] == 58 and set(derived["levels"]) == {str(code) for code in range(1, 21)}


def test_summary_line_reads_like_a_dictation():
    levels = levels_of(mass={"from": "T5", "to": "T8"}, compression={"from": "T5", "to": "T7", "max_mscc_percent": 41.2, "at": "T6"})
    assert wording.summary_line(levels) == "mass T5–T8, cord compressed T5–T7, MSCC 41 % at T6"
    assert wording.summary_line(levels_of()) == "no cord compression"
    sideways = levels_of(compression={"from": "T5", "to": "T5", "max_mscc_percent": 3.3, "rl_ratio_percent": 37.6, "at": "T5", "shown_by": ["RL ratio"]})
    assert wording.summary_line(sideways) == "cord compressed T5, RL ratio 38 % at T5, MSCC 3 %"


def _assess(scene, *, oblique_degrees=None, keep_only=None):
    study = study_into_scene(build_study("mds_t5_t8", oblique_degrees=oblique_degrees), scene)
    if keep_only is not None:
        points = study.levels
        for n in reversed(range(points.GetNumberOfControlPoints())):
            if points.GetNthControlPointLabel(n) != keep_only:
                points.RemoveNthControlPoint(n)
    return study, compression.assess(spine_inputs(study), read_sequences(study))


def _expected():
    synthetic = build_study("mds_t5_t8")
    return synthetic.mass_levels, synthetic.compression_levels


@pytest.mark.parametrize(("label", "options"), [("as built", {}), ("oblique 15 degrees", {"oblique_degrees": 15.0}), ("single anchor T6", {"keep_only": "T6"})])
def test_built_in_case_levels_exactly_right(scene, label, options):
    mass_levels, compression_levels = _expected()
    _, outcome = _assess(scene, **options)
    levels = outcome.levels
    assert (levels.mass.from_, levels.mass.to) == tuple(mass_levels), label
    assert levels.compression is not None, label
    assert (levels.compression.from_, levels.compression.to) == tuple(compression_levels), label
    assert 25.0 <= levels.compression.max_mscc_percent <= 60.0


def test_single_anchor_names_every_body_of_the_case(scene):
    study, outcome = _assess(scene, keep_only="T6")
    names = [(v.name, v.source) for v in outcome.levels.vertebrae]
    assert ("T6", "user") in names
    assert [n for n, _ in names] == [f"T{n}" for n in range(1, 13)] + ["L1"]


def test_report_has_levels_and_morphology_and_the_summary_line(scene):
    study = study_into_scene(build_study("mds_t5_t8"), scene)
    report = analyze(study)
    assert report.morphology["mass_position"] == "posterior_epidural"
    assert report.morphology["mass_levels_spanned"] == 4
    assert "Levels: mass T5–T8, cord compressed" in summary_text(report)


def test_without_a_cord_region_the_cord_is_found_behind_the_level_points(scene):
    """Issue 13 point 3: no cord region drawn, the cord is found from the level points and the
    canal, and the mass and compression levels are those found with the cord region (before: no
    levels at all, "no cord region: ... not assessed")."""
    mass_levels, compression_levels = _expected()
    study = study_into_scene(build_study("mds_t5_t8"), scene)
    del study.regions["cord"]
    outcome = compression.assess(spine_inputs(study), read_sequences(study))
    assert outcome.levels is not None, outcome.warnings
    first = outcome.warnings[0]
    assert first.code is SpineFindingCode.CORD_FOUND_BEHIND_POINTS and first.label.startswith("T1, T2, ")
    assert finding_text(first).startswith(f"no cord region: the cord was found behind the level points ({first.label}); draw a cord region")
    assert (outcome.levels.mass.from_, outcome.levels.mass.to) == tuple(mass_levels)
    assert (outcome.levels.compression.from_, outcome.levels.compression.to) == tuple(compression_levels)


def test_missing_cord_region_and_level_points_is_a_warning(scene):
    study = study_into_scene(build_study("mds_t5_t8"), scene)
    del study.regions["cord"]
    study.levels = None
    outcome = compression.assess(spine_inputs(study), read_sequences(study))
    assert outcome.levels is None and outcome.warnings == [SpineFinding(SpineFindingCode.NO_CORD_FOUND)]
    assert finding_text(outcome.warnings[0]) == "no cord region, and no cord found behind the level points: vertebral levels and cord compression are not assessed"


# --- Ground truth from the phantom's label map ---------------------------------------------------

CORD_LABEL, MASS_LABEL = (next(label for label, name in phantom.LABEL_NAMES.items() if name == tissue) for tissue in ("cord", "mass"))
# The truth is read from a label map with 0.5 mm in-plane voxels turned 10 degrees about
# right-left, so that voxel rows cross the cord's edges at every phase and counting label voxels
# resolves the diameter to a small fraction of a voxel (on the case's own 1 mm grid, parallel to
# the cord, every compressed row counts 4 voxels whether the cord is 3.9 or 4.3 mm thick). Read
# this way the label map follows the phantom's analytic cord section within 0.1 mm.
TRUTH_SCALE, TRUTH_OBLIQUE_DEGREES = 2.0, 10.0
TRUTH_BAND_MM, TRUTH_STRETCH_MM = 2.4, 6.0
# Measured MSCC against the label map's: the truth itself is good to about 1.5 points (0.1 mm on
# a 6.5 mm cord); the tracked outline on the case's 1 mm voxels sits up to a quarter voxel inside
# the cord's edge (healthy AP measured 5.97 mm where the labels give 6.43 mm), which on a 3.9 mm
# cord moves MSCC by about 2.5 points. 4 points stays below the 5 points that separate T6 (40 %)
# from the most compressed slices of T5 and T7 (34-36 % by the phantom's cord section).
MSCC_TOLERANCE_POINTS = 4.0
# Area ratio against the label map's (32.4 % at T6): the outline sits about a quarter voxel inside
# the cord where CSF surrounds it (the healthy cord's area reads 40 mm2 against 43 mm2) and the
# compressed cord's thin lateral tips fall within the 1.2 mm right-left pixels, so the ratio reads
# 1-4 points low over the as-built, 15 degree oblique and single-anchor runs; 5 points. (The window's
# bound alone as the cord's edge against the mass read 21-27 %.)
AREA_RATIO_TOLERANCE_POINTS = 5.0
CONUS_TAPER_MM = 30.0


def write_spec(tmp_path: Path, monkeypatch, name: str, changes: dict, base: str = "mds_t5_t8") -> None:
    """A case spec: the built-in case `base` with `changes`, read from tmp_path by the phantom."""
    spec = json.loads((phantom.CASES_DIR / f"{base}.json").read_text())
    spec.update(copy.deepcopy(changes), id=name)
    (tmp_path / f"{name}.json").write_text(json.dumps(spec))
    monkeypatch.setattr(phantom, "CASES_DIR", tmp_path)


def label_cord_section(study: phantom.SyntheticStudy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(height S, AP diameter, area) along the cord, from the label map alone: the volume of cord
    labels per TRUTH_STRETCH_MM of height, in the sagittal slices within TRUTH_BAND_MM of the midline
    over the band's width (SCT's AP: band area over band width) and in all of them (area), both
    corrected for the cord's local tilt."""
    matrix = study.label_grid
    k, j, i = np.nonzero(study.labels == CORD_LABEL)
    cord = (matrix @ np.stack([i, j, k, np.ones_like(i)]).astype(float))[:3].T
    points = cord[np.abs(cord[:, 0]) <= TRUTH_BAND_MM / 2]
    band = np.unique(np.round(points[:, 0], 3)).size * float(np.linalg.norm(matrix[:3, 2]))
    voxel = abs(float(np.linalg.det(matrix[:3, :3])))
    heights = np.arange(points[:, 2].min() + 10.0, points[:, 2].max() - 10.0, 1.0)
    diameters, areas = [], []
    for height in heights:
        near = np.abs(points[:, 2] - height) <= 10.0
        tilt = np.hypot(1.0, np.polyfit(points[near, 2], points[near, 1], 1)[0])
        inside = (points[:, 2] >= height - TRUTH_STRETCH_MM / 2) & (points[:, 2] < height + TRUTH_STRETCH_MM / 2)
        diameters.append(inside.sum() * voxel / (TRUTH_STRETCH_MM * band) / tilt)
        section = (cord[:, 2] >= height - TRUTH_STRETCH_MM / 2) & (cord[:, 2] < height + TRUTH_STRETCH_MM / 2)
        areas.append(section.sum() * voxel / TRUTH_STRETCH_MM / tilt)
    return heights, np.array(diameters), np.array(areas)


def level_of_height(study: phantom.SyntheticStudy, height: float) -> str:
    """The level a height lies in, boundaries halfway between the phantom's body centres."""
    names = list(study.level_centres)
    centres = np.array([study.level_centres[name][2] for name in names])
    return names[int(np.searchsorted(-(centres[:-1] + centres[1:]) / 2, -height))]


def truth_from_labels(folder: Path, name: str, changes: dict, base: str = "mds_t5_t8") -> dict:
    """Max MSCC, its level and the area ratio there, from a case's label map alone (T2 grid only, to save time)."""
    with pytest.MonkeyPatch.context() as patch:
        write_spec(folder, patch, name, {**changes, "sequences": ["T2"]}, base)
        study = phantom.build_study(name, oblique_degrees=TRUTH_OBLIQUE_DEGREES, shape_scale=TRUTH_SCALE)
    heights, diameters, areas = label_cord_section(study)
    levels = np.array([level_of_height(study, h) for h in heights])
    # The healthy cord beside the compression: at T4 and T9 the phantom's cord has its mid-thoracic
    # size (data/phantom_cord.json), the size the case's narrowing is built against.
    far_from_compression = np.isin(levels, ["T4", "T9"])
    healthy, healthy_area = (float(np.median(values[far_from_compression])) for values in (diameters, areas))
    conus = heights < heights.min() + CONUS_TAPER_MM  # the phantom's cord tapers to its tip in L1
    narrowest = int(np.argmin(np.where(far_from_compression | conus, np.inf, diameters)))
    return {
        "mscc": 100 * (1 - diameters[narrowest] / healthy),
        "at": str(levels[narrowest]),
        "healthy_ap": healthy,
        "area_ratio": 100 * (1 - areas[narrowest] / healthy_area),
        "healthy_area": healthy_area,
        "ap_by_level": {level: float(np.median(diameters[levels == level])) for level in ("T1", "T4", "T9", "T11")},
    }


@pytest.fixture(scope="module")
def label_truth(tmp_path_factory) -> dict:
    return truth_from_labels(tmp_path_factory.mktemp("truth"), "mds_truth", {})


def test_label_truth_follows_the_phantoms_spec(label_truth):
    # The case asks for 40 % of the cord's AP diameter lost at the middle of T5-T7, a 6.5 mm cord.
    assert label_truth["at"] == "T6"
    assert label_truth["mscc"] == pytest.approx(40.0, abs=1.5)
    assert label_truth["healthy_ap"] == pytest.approx(6.5, abs=0.15)
    # Analytically the section loses 40 % of AP and gains 10 % of RL at the peak (area ratio 34 %);
    # over the 6 mm the truth averages, 32.4 %. A 4.25 x 3.25 mm ellipse is 43.4 mm2.
    assert label_truth["area_ratio"] == pytest.approx(33.0, abs=1.5)
    assert label_truth["healthy_area"] == pytest.approx(43.4, abs=1.0)


def test_label_truth_cord_tapers_as_a_healthy_cord_does(label_truth):
    """Away from its compression the phantom's cord is the size data/phantom_cord.json gives each level
    (the narrowing is built against it): wider towards the cervical enlargement (T1 x 1.10 in AP) and
    the lumbar one (T11 x 1.06) than at T4-T9. Before, one size from C7 to the conus, against which
    the engine's expected size (healthy cords taper) read thal_major_teaching's 30 % narrowing as 21 %."""
    ap = label_truth["ap_by_level"]
    assert ap["T4"] == pytest.approx(6.5, abs=0.15) and ap["T9"] == pytest.approx(6.5, abs=0.15)
    assert ap["T1"] / ap["T4"] == pytest.approx(1.10, abs=0.02)
    assert ap["T11"] / ap["T9"] == pytest.approx(1.06, abs=0.02)


@pytest.mark.parametrize(("label", "options"), [("as built", {}), ("oblique 15 degrees", {"oblique_degrees": 15.0}), ("single anchor T6", {"keep_only": "T6"})])
def test_built_in_case_max_mscc_and_level_match_the_label_map(scene, label_truth, label, options):
    _, outcome = _assess(scene, **options)
    found = outcome.levels.compression
    assert found.at == label_truth["at"], label
    assert found.max_mscc_percent == pytest.approx(label_truth["mscc"], abs=MSCC_TOLERANCE_POINTS), label
    assert found.area_ratio_percent == pytest.approx(label_truth["area_ratio"], abs=AREA_RATIO_TOLERANCE_POINTS), label


# --- Cases written here as specs ------------------------------------------------------------------


def _assess_spec(scene, tmp_path, monkeypatch, name: str, changes: dict, *, drop_mass_region: bool = False):
    write_spec(tmp_path, monkeypatch, name, changes)
    synthetic = build_study(name)
    study = study_into_scene(synthetic, scene)
    if drop_mass_region:
        del study.regions["mass"]
    return synthetic, compression.assess(spine_inputs(study), read_sequences(study))


# A healthy spine: the spec format needs one mass, so this one is made of epidural fat and lies
# in the posterior epidural space (4 mm deep: the fat, 3.8 mm, and a sliver of CSF), which leaves the images
# those of a healthy spine; no mass region is drawn, as for a healthy study.
HEALTHY_SPINE = {
    "masses": [{"position": "posterior_epidural", "levels": ["T6", "T6"], "lobules": 1, "depth_mm": 4.0, "width_mm": 12.0, "tissue": "epidural_fat"}],
    "compression": None,
}


def test_healthy_spine_reports_no_compression(scene, tmp_path, monkeypatch):
    _, outcome = _assess_spec(scene, tmp_path, monkeypatch, "healthy", HEALTHY_SPINE, drop_mass_region=True)
    levels = outcome.levels
    assert levels.compression is None and levels.mass is None
    assert wording.summary_line(levels) == "no cord compression"
    # Every level's narrowest slice within normal variation; the conus's taper (in L1) is not judged.
    profile = {row.level: row.mscc_percent for row in levels.cord_profile}
    assert profile.pop("L1") is None and all(mscc < 10.0 for mscc in profile.values()), profile
    assert [v.name for v in levels.vertebrae][:12] == [f"T{n}" for n in range(1, 13)]


def test_mass_that_spares_the_cord_has_levels_but_no_compression(scene, tmp_path, monkeypatch):
    spared = {"masses": [{"position": "right_paraspinal", "levels": ["T6", "T7"], "lobules": 2, "depth_mm": 9.0, "width_mm": 14.0}], "compression": None}
    _, outcome = _assess_spec(scene, tmp_path, monkeypatch, "spared", spared)
    levels = outcome.levels
    assert (levels.mass.from_, levels.mass.to) == ("T6", "T7")
    assert levels.compression is None
    assert wording.summary_line(levels) == "mass T6–T7, no cord compression"


# Seed 001, case 1 (thalassaemia intermedia), the built-in case: lobulated extradural masses from
# the posterior elements from D3 to D8, compressing the cord at D4-D7, isointense to the cord on T1
# and T2 and enhancing homogeneously, with paraspinal masses beside them.
THALASSAEMIA_CASE = "thal_intermedia_d3_d8"


# The label map gives 35.2 % at T5 (read as for the built-in case); measured 39.0 %. The healthy
# cord's outline sits a quarter voxel inside its CSF edge, which alone reads the built-in case's
# MSCC 3 points high; the wall between cord and mass comes from T1C, whose 3 mm right-left slices
# average the curved back of the cord with the mass beside it (about a point more). 5 points.
THALASSAEMIA_MSCC_TOLERANCE_POINTS = 5.0


def test_mass_of_the_cords_own_signal_grows_to_its_levels_and_not_into_the_cord(scene, tmp_path):
    synthetic = build_study(THALASSAEMIA_CASE)
    study = study_into_scene(synthetic, scene)
    images = read_sequences(study)
    outcome = compression.assess(spine_inputs(study), images)
    levels = outcome.levels
    assert (levels.mass.from_, levels.mass.to) == ("T3", "T8")
    # The grown mass keeps out of the cord the phantom labelled (partial-volume voxels on its border
    # aside) and takes most of the epidural mass.
    t2 = next(image for image in images if image.role == outcome.cord.role)  # the label map's grid
    labels = synthetic.labels[outcome.mass.mask_on(t2.grid)]
    assert np.mean(labels == CORD_LABEL) < 0.02 and np.mean(labels == MASS_LABEL) > 0.9
    # The cord is traced through the compression, walled off from the mass where T1C tells them apart.
    assert (levels.compression.from_, levels.compression.to) == ("T4", "T7")
    truth = truth_from_labels(tmp_path, "thalassaemia_truth", {}, THALASSAEMIA_CASE)
    assert truth["mscc"] == pytest.approx(35.0, abs=1.5)  # the case's 35 % of the diameter
    assert levels.compression.max_mscc_percent == pytest.approx(truth["mscc"], abs=THALASSAEMIA_MSCC_TOLERANCE_POINTS)
    assert levels.compression.area_ratio_percent == pytest.approx(truth["area_ratio"], abs=AREA_RATIO_TOLERANCE_POINTS)


POSTERIOR_ELEMENT_LABEL = next(label for label, name in phantom.LABEL_NAMES.items() if name == "posterior_element")


def test_a_mass_bright_on_t1_does_not_grow_into_the_posterior_elements(scene):
    # The haematoma (T1 1.4 and T2 1.5 times the cord, no enhancement) has the signal of the
    # marrow of the laminae and spinous processes within its window on every sequence. Grown
    # without comparing it with the bodies' marrow it spread through the posterior elements into
    # all 23 sagittal T1 slices: 17,447 mm3 against the label map's 6,689, 54 % of it posterior
    # element, Dice 0.48. Now 5,825 mm3, 3 % posterior element, Dice 0.86.
    synthetic = build_study("hematoma_t6_t9")
    study = study_into_scene(synthetic, scene)
    images = read_sequences(study)
    outcome = compression.assess(spine_inputs(study), images)
    t2 = next(image for image in images if image.role == outcome.cord.role)  # the label map's grid
    grown = outcome.mass.mask_on(t2.grid)
    truth = synthetic.labels == MASS_LABEL
    assert 2 * np.sum(grown & truth) / (grown.sum() + truth.sum()) > 0.8
    assert np.mean(synthetic.labels[grown] == POSTERIOR_ELEMENT_LABEL) < 0.1
    assert (outcome.levels.mass.from_, outcome.levels.mass.to) == ("T6", "T9")


def test_a_mass_grows_through_its_seeded_component_and_not_into_an_unseeded_one(scene):
    # The sickle cell case's ROI lies in the left epidural mass; the left paraspinal mass of the
    # same site is a separate component of the label map (1,981 of its 2,428 mm3 of mass) that no
    # ROI seeds, so growth, which keeps only what connects to a seed, leaves it out by design. Against
    # the seeded component alone the grown mass reads Dice 0.88 (355 of its 447 mm3, the rest within
    # 1.6 mm of its outline); against all the mass labels 0.25.
    synthetic = build_study(SICKLE_CELL_CASE)
    study = study_into_scene(synthetic, scene)
    images = read_sequences(study)
    outcome = compression.assess(spine_inputs(study), images)
    t2 = next(image for image in images if image.role == outcome.cord.role)  # the label map's grid
    grown = outcome.mass.mask_on(t2.grid)
    components = sitk.GetArrayFromImage(sitk.ConnectedComponent(sitk.GetImageFromArray((synthetic.labels == MASS_LABEL).astype(np.uint8)), True))
    seeds = np.concatenate([voxel_indices(t2.grid, source.shape()) for source in study.regions["mass"]])
    seeded_ids = np.unique(components.ravel()[seeds])
    seeded = np.isin(components, seeded_ids[seeded_ids > 0])
    unseeded = (components > 0) & ~seeded
    assert unseeded.sum() > seeded.sum() and not np.any(grown & unseeded)
    assert 2 * np.sum(grown & seeded) / (grown.sum() + seeded.sum()) > 0.8


# Seed 001, case 2 (sickle cell anaemia), the built-in case: a left extradural mass D4-D6 narrows
# the cord from the side at D5. The phantom takes 40 % of the cord's RL diameter at the middle of
# T5 and adds 10 % to its AP (area: 1 - 0.6 x 1.1 = 34 %), so MSCC alone cannot see it. The ratios
# are checked against those analytic figures, which the label map follows within 0.1 mm; 5 points
# as for the area ratio above (the outline's quarter-voxel bias on a 4.7 mm wide cord).
SICKLE_CELL_CASE = "sickle_cell_d4_d6"
SIDE_RATIO_TOLERANCE_POINTS = 5.0
# A cord whose AP diameter is not narrowed reads MSCC within this of zero (the healthy spine's
# levels read 1.2-4.1 %, and the bound there is 10 % too).
SMALL_MSCC_PERCENT = 10.0
# The case's compressed extent is on the edge of its levels (test_cases.EXTENT_ON_THE_EDGE): built at T5
# from the middle of the disc above to the middle of the disc below, the two-year-old's and the
# newborn's cords read T4-T6 since the phantom's cord tapers (data/phantom_cord.json), T5 before.
SICKLE_EXTENT_ON_THE_EDGE = pytest.mark.xfail(strict=True, reason="compression grows from T5 into T4 and T6 (test_cases.EXTENT_ON_THE_EDGE)")


@SICKLE_EXTENT_ON_THE_EDGE
def test_cord_narrowed_from_the_side_is_compressed_by_its_rl_ratio(scene):
    synthetic = build_study(SICKLE_CELL_CASE)
    study = study_into_scene(synthetic, scene)
    levels = compression.assess(spine_inputs(study), read_sequences(study)).levels
    found = levels.compression
    assert found is not None and (found.from_, found.to) == tuple(synthetic.compression_levels) == ("T5", "T5")
    assert found.shown_by == ("RL ratio",) and found.at == "T5"
    assert found.rl_ratio_percent == pytest.approx(40.0, abs=SIDE_RATIO_TOLERANCE_POINTS)
    assert found.area_ratio_percent == pytest.approx(34.0, abs=SIDE_RATIO_TOLERANCE_POINTS)
    # The AP diameter is not narrowed (the phantom's grows by 10 %), so MSCC reads small. With SCT's
    # fixed 3 mm AP band it read 15.2 %: the two-year-old's cord (0.63 of an adult's) narrows to about
    # 3.1 mm wide, and the band's mean AP took in its curved sides; the band now keeps within 0.8 of
    # the cord's RL diameter (3.5 %).
    assert abs(found.max_mscc_percent) < SMALL_MSCC_PERCENT
    assert wording.summary_line(levels) == f"mass T4–T6, cord compressed T5, RL ratio {found.rl_ratio_percent:.0f} % at T5, MSCC {found.max_mscc_percent:.0f} %, Bilsky 2 at T5"


@SICKLE_EXTENT_ON_THE_EDGE
def test_a_newborn_sized_cord_narrowed_from_the_side_keeps_a_small_mscc(tmp_path, monkeypatch, scene):
    # The sickle cell case at birth: cord and canal 0.51 of an adult's (body_size.json), the cord
    # about 2.4 mm wide where the mass narrows it. With the fixed 3 mm AP band, wider than the cord,
    # the band's mean AP was the whole section over 3 mm and MSCC read 24.4 %; now 0.1 %.
    spec = json.loads((phantom.CASES_DIR / f"{SICKLE_CELL_CASE}.json").read_text())
    write_spec(tmp_path, monkeypatch, "sickle_cell_newborn", {"clinical": {**spec["clinical"], "age": 0}}, SICKLE_CELL_CASE)
    study = study_into_scene(build_study("sickle_cell_newborn"), scene)
    found = compression.assess(spine_inputs(study), read_sequences(study)).levels.compression
    assert found is not None and (found.from_, found.to, found.at) == ("T5", "T5", "T5")
    assert found.shown_by == ("RL ratio",)
    assert abs(found.max_mscc_percent) < SMALL_MSCC_PERCENT


# --- Never silent: a compression names its levels, what was not followed is said (issue 13) -----


def compression_found(cord, codes, contact):
    """The compression `assess` reads on a traced cord (its steps as `_assess` takes them): the cord
    traced into the mass, the profile as judged, then the compressed segment."""
    reading = compression._reading(cord, codes, contact, compression.merged_with_mass(cord, codes, contact))
    return compression._compression_read(cord, codes, reading)


def _squeezed_levels(masses):
    """The squeezed cord of test_cord (abrupt, MSCC 70 %, mass at |z| <= 10 mm) with bodies T3-T10
    every 24 mm (T6 centred on z = 12, T7 on -12); the cord traced with or without the mass region."""
    from test_cord import CORD_SEED, squeezed_cord

    from EMHAssistLib.spine.cord import Cord, measure_profile, segment_cord
    from EMHAssistLib.spine.levels import Vertebra, build_level_map

    image = squeezed_cord(0.7, 1.0)
    coverage, ends = segment_cord(image, CORD_SEED, masses=masses)
    mask = coverage.values >= 0.5
    traced = Cord(coverage.grid, mask, measure_profile(mask, coverage.grid, coverage.values), "T2", False, ends, coverage.unfollowed)
    bodies = [Vertebra(f"T{n}", 7 + n, np.array([0.0, 20.0, 12.0 - 24.0 * (n - 6)]), "user") for n in range(3, 11)]
    level_map = build_level_map(bodies, None, None)
    codes = level_map.codes_at(traced.profile.centreline.points)
    return traced, level_map, codes


def test_a_cord_lost_for_good_leaves_its_levels_not_assessed_and_says_so():
    """Before: the profile ended at T6 and the report said "no cord compression", nothing more."""
    traced, level_map, codes = _squeezed_levels(masses=())
    section = compression.levels_section(traced, codes, level_map, set(), compression_found(traced, codes, None))
    assert section.not_assessed.levels == Extent("T6", "T10", (Span("T6", "T10"),))
    assert wording.summary_line(section) == "no cord compression, compression not assessed T6–T10"
    rows = {row.level: row for row in section.cord_profile}
    assert [name for name, row in rows.items() if not row.assessed] == ["T6", "T7", "T8", "T9", "T10"]
    assert rows["T8"].slices == 0 and rows["T8"].mscc_percent is None
    assert [finding_text(finding) for finding in compression._not_assessed_warnings(section)] == ["cord compression not assessed at T6–T10: the cord could not be followed there"]


def test_a_gap_bridged_from_t12_down_is_not_taken_for_the_conus():
    """The squeezed cord traced with its mass region is lost at the compression and found again below
    it; with the same bodies named T10-L5 the gap falls at L1-L2. Before: levels from T12 down were
    never said unassessed (taken for the conus, which ends a cord, never lies inside it), and the gap
    went without a word. A cord ending inside the field below T12 still says nothing (the test below)."""
    from test_cord import MASS_BOX

    from EMHAssistLib.spine.levels import Vertebra, build_level_map
    from EMHAssistLib.spine.vertebrae import name_of

    traced, _, _ = _squeezed_levels(masses=[MASS_BOX])
    assert traced.unfollowed and not any(traced.ends_inside)  # a gap, cord on both sides of it
    lumbar = [Vertebra(name_of(14 + n), 14 + n, np.array([0.0, 20.0, 12.0 - 24.0 * (n - 6)]), "user") for n in range(3, 11)]
    level_map = build_level_map(lumbar, None, None)
    codes = level_map.codes_at(traced.profile.centreline.points)
    section = compression.levels_section(traced, codes, level_map, set(), compression_found(traced, codes, None))
    assert section.not_assessed.levels == Extent("L1", "L2", (Span("L1", "L2"),))
    assert [finding_text(finding) for finding in compression._not_assessed_warnings(section)] == ["cord compression not assessed at L1–L2: the cord could not be followed there"]


def test_a_cord_ending_below_t12_is_its_conus_and_not_said_unassessed():
    traced, _, _ = _squeezed_levels(masses=())  # lost for good at the compression: ends inside the field
    from EMHAssistLib.spine.levels import Vertebra, build_level_map
    from EMHAssistLib.spine.vertebrae import name_of

    lumbar = [Vertebra(name_of(14 + n), 14 + n, np.array([0.0, 20.0, 12.0 - 24.0 * (n - 6)]), "user") for n in range(3, 11)]
    level_map = build_level_map(lumbar, None, None)
    assert traced.ends_inside[0] and compression.unassessed_codes(traced, level_map) == []


def test_a_cord_followed_through_the_mass_is_compressed_at_the_mass_levels():
    from test_cord import MASS_BOX

    traced, level_map, codes = _squeezed_levels(masses=[MASS_BOX])
    found = compression_found(traced, codes, None)
    section = compression.levels_section(traced, codes, level_map, set(), found)
    assert section.compression.from_ in ("T6", "T7") and section.compression.to in ("T6", "T7")
    assert section.not_assessed is None or {section.not_assessed.levels.from_, section.not_assessed.levels.to} <= {"T6", "T7"}
    assert all(row.assessed for row in section.cord_profile if row.level not in ("T6", "T7"))


def test_no_compression_is_reported_where_no_level_is_known():
    """Before: a compression outside every level came out with from, to and at null ("RL ratio at None")."""
    traced, level_map, codes = _squeezed_levels(masses=())
    narrowed = compression.Compression  # the healthy cord above the loss is judged only inside the levels
    nowhere = np.zeros_like(codes)
    assert compression_found(traced, nowhere, None) is None
    section = compression.levels_section(traced, nowhere, None, set(), None)
    assert section.compression is None and section.not_assessed == NotAssessed(None, NotAssessedReason((NotAssessedCause.NO_LEVELS,)))
    assert wording.summary_line(section) == "compression not assessed (no vertebral levels)"
    assert narrowed is not None


def test_every_report_surface_states_levels_and_compression_as_the_summary_line(scene, tmp_path):
    """The JSON, the text report, the HTML (headline and table), the overlays' explanation and the SR
    say the same levels; a compression in any of them names from, to and at."""
    from EMHAssistLib.analysis import run_analysis
    from EMHAssistLib.outputs.overlays import compressed_levels, explanation_text
    from EMHAssistLib.outputs.report_html import html_page

    study = study_into_scene(build_study("mds_t5_t8"), scene)
    report = run_analysis(study).report
    levels = report.levels
    assert levels.coordinate_system == "RAS"
    below = NotAssessed(compression.level_extent([15, 16]), NotAssessedReason((NotAssessedCause.NOT_FOLLOWED,)))
    variants = {
        "as analysed": levels,
        "not assessed below": replace(levels, not_assessed=below),
        "no compression": replace(levels, compression=None),
    }
    for name, variant in variants.items():
        shown = replace(report, levels=variant)
        line = wording.summary_line(variant)
        assert f"Levels: {line}" in summary_text(shown), name
        page = html_page(shown, [])
        assert line.replace("–", "&ndash;") in page or line in page, name
        assert "None" not in page.split('id="levels"')[1].split("</section>")[0], name
        assert line in explanation_text("case", shown), name
        compressed = variant.compression
        if compressed is None:
            assert compressed_levels(variant) == {}
        else:
            assert compressed.from_ and compressed.to and compressed.at
            assert f"cord compressed {wording.level_span(compressed)}" in line
            assert list(compressed_levels(variant))[0] == compressed.from_ and list(compressed_levels(variant))[-1] == compressed.to
        if variant.not_assessed:
            assert line.endswith("compression not assessed T8–T9") and "compression not assessed T8–T9" in page


def test_a_mass_box_poking_into_the_csf_grows_the_mass_alone():
    """Issue 13 point 3: a mass region drawn a third into the CSF beside the mass. Before, the seed's
    mean and SD took in the CSF and the mass grew into the canal, with the box's CSF voxels in it."""
    from test_cord import squeezed_cord

    from EMHAssistLib.geometry import Box
    from EMHAssistLib.inputs.plain import Outline
    from EMHAssistLib.spine.masses import segment_mass

    image = squeezed_cord(0.5, 1.0, effaced="behind")  # mass (400) fills the canal behind the cord over |z| <= 11 mm
    poking = Box(np.array([6.0, -1.0, 0.0]), np.eye(3), np.array([1.2, 3.0, 6.0]))  # y -4 to 0 mass, 0 to 2 CSF (1000)
    points = segment_mass([Outline("mass", poking, segment=False)], [image], image).points_world()
    ijk = np.rint(image.grid.to_ijk(points)).astype(int)
    values = image.voxels[ijk[:, 2], ijk[:, 1], ijk[:, 0]]
    assert values.max() < 700, "a CSF voxel was taken"
    assert np.sum(values == 400.0) >= 0.9 * np.sum(image.voxels == 400.0)  # the mass's own voxels, all but a few
    assert np.sum(values == 150.0) == 0  # nor the tissue round the canal (before: 188,203 voxels in all)


def test_the_summary_claims_no_compression_only_where_the_cord_beside_the_mass_was_followed():
    """A cord not followed at the mass's levels cannot show that the mass spares it (the quiz's
    learner line read "mass T5–T8, no cord compression, compression not assessed T1–T11")."""
    from EMHAssistLib.outputs.wording import summary_line

    def not_assessed(from_: str, to: str) -> dict:
        return {"levels": {"from": from_, "to": to, "spans": [{"from": from_, "to": to}]}, "reason": NotAssessedReason((NotAssessedCause.NOT_FOLLOWED,))}

    beside = levels_of(mass={"from": "T5", "to": "T8"}, not_assessed=not_assessed("T1", "T11"))
    assert summary_line(beside) == "mass T5–T8, compression not assessed T1–T11"
    apart = levels_of(mass={"from": "T5", "to": "T8"}, not_assessed=not_assessed("T1", "T3"))
    assert summary_line(apart) == "mass T5–T8, no cord compression, compression not assessed T1–T3"


def test_a_compression_grows_over_its_narrowed_cord_where_csf_still_parts_it_from_the_mass(tmp_path):
    """Generated seed 152 (Testing/spinegen; the sweep's seed 152, a posterior haematoma at T2-T4
    narrowing the cord 54 % over T2-T3, the CSF between them not effaced, sagittal 2.8 mm). The
    grown haematoma's edge lies 3.0-4.4 mm from the traced cord along the narrowing, and the
    compressed segment, which grew only over slices with the mass within 3 mm, stopped inside T3:
    "T3" for the truth's T2-T3. It grows over slices with the mass within 5 mm (`growth_contact_mm`)."""
    from EMHAssistLib.analysis import run_analysis
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.inputs.scene import new_headless_scene
    from EMHAssistLib.outputs.report import to_json
    from spinegen.case import generate, write_case
    from spinegen.judge import judge_case

    case = generate(152, healthy=False)
    study = load_case_folder(write_case(case, tmp_path / "seed152"), new_headless_scene())
    report = to_json(run_analysis(study).report)
    found = report["levels"]["compression"]
    assert (found["from"], found["to"], found["at"]) == ("T2", "T3", "T3"), found
    assert judge_case(report, case.truth, case.spine)["compression_exact"]


def test_a_healthy_cord_dipped_by_noise_on_single_sections_reads_no_compression(scene, tmp_path):
    """Held-out generated seed 205 (healthy, sagittal 3.8 mm, SNR 19): with C4 found at the field's
    top (`edge_body_cover` 0.6), the cord there read a compression at C4, MSCC 41 %. The painted cord
    is 8.3 mm AP; its traced sections at 119-123 mm along the cord read 3.4, 6.3, 4.6, 5.9, 3.8 and
    3.4 mm: on 3.8 mm rows the rays along AP all cross the cord's middle row, one noisy pixel there
    stops them, and the judged median of a dip and its neighbours is the dip. Sections that read the
    cord at its expected size split a compression's core."""
    from EMHAssistLib.analysis import analyze
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.outputs.report import to_json
    from spinegen.case import generate, write_case

    case = generate(205, healthy=True)
    report = to_json(analyze(load_case_folder(write_case(case, tmp_path / "seed205"), scene)))
    assert "C4" in {vertebra["name"] for vertebra in report["levels"]["vertebrae"]}  # the level the dip had no name at before
    assert report["levels"]["compression"] is None, report["levels"]["compression"]


def test_a_cord_edge_in_a_section_model_lies_halfway_to_the_first_tissue_beside_the_cord():
    """`compression._edge_on_side`: from the cord outwards, the first sample departing from the
    cord's signal by the significant amount begins the tissue beside it; the edge is where the
    signal first goes halfway to that tissue's extreme. Generated seed 16's far side: a thin CSF
    layer partial-volumed a little above the cord, then the dura far below it: the edge is at the
    CSF, not at the dura's halfway."""
    csf_then_dura = np.array([0.0, 1.0, -1.0, 8.0, 12.0, 12.0, -30.0, -40.0])
    assert compression._edge_on_side(csf_then_dura, 10.0) == 3  # 8 is past half of the CSF's 12
    into_mass = np.array([0.0, -2.0, 1.0, 20.0, 40.0, 41.0, 40.0])
    assert compression._edge_on_side(into_mass, 10.0) == 4  # 20 is not yet halfway to 41, 40 is
    assert compression._edge_on_side(np.array([0.0, 3.0, -4.0, 5.0]), 10.0) is None  # nothing departs


def test_a_cord_traced_into_the_mass_is_read_on_its_section_model(tmp_path):
    """Generated seed 122 (Testing/spinegen; axial 2.8 mm slices, an anterior abscess narrowing
    the cord to 2.7 mm AP at T3, MSCC 59.8 %). The traced sections at T3 took in the thin posterior
    CSF, partial-volumed to 60-72 against the cord's 51 and within the tracer's window, and read AP
    6.3-7.5 mm, larger than the cord's 1.4 times its area: main said "compression not assessed at
    T3: the cord could not be told from the mass there" and named none. On the section model
    (`compression.fitted_sections`: along the axis at the mass, the cord's run between the
    halfway crossings to the CSF behind and the abscess in front) they read AP 3.0, 4.8 and 3.2 mm,
    judged on their median (3.9, 3.2, 4.0 mm): T3, MSCC 49.67 % (branch merged19b, 2026-12-08; 52.82 %
    read on the sections one by one, branch merged19). The truth's 59.78 % is 10.1 away."""
    from EMHAssistLib.analysis import run_analysis
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.inputs.scene import new_headless_scene
    from EMHAssistLib.outputs.report import to_json
    from spinegen.case import generate, write_case
    from spinegen.judge import judge_case

    case = generate(122, healthy=False)
    study = load_case_folder(write_case(case, tmp_path / "seed122"), new_headless_scene())
    report = to_json(run_analysis(study).report)
    found = report["levels"]["compression"]
    assert found is not None, report["warnings"]
    assert (found["from"], found["to"], found["at"]) == ("T3", "T3", "T3"), found
    assert found["max_mscc_percent"] == pytest.approx(49.67, abs=0.01)
    assert judge_case(report, case.truth, case.spine)["compression_exact"]


def test_a_single_section_dip_of_the_section_model_is_judged_on_its_neighbours():
    """`compression._bounded`: a section traced into the mass and read on its section model is
    judged, as every section is, on the median over `judged_median_mm` of the modelled sections
    beside it, its own reading kept for the core's one-by-one count. Generated seed 27 on the
    generator before 2026-12-08 (sagittal 3.2 mm, sections 0.7 mm apart, a cord narrowed 8 %): the
    model read 7.7 mm on most sections and single ones at 3.2-5.8 mm, and read as they were they
    made a false compression C2-C4 at MSCC 59 % (branch merged19)."""
    from EMHAssistLib.spine.cord import Centreline, CordProfile

    count = 7
    points = np.stack([np.zeros(count), np.zeros(count), 0.7 * np.arange(count)], axis=1)
    centreline = Centreline(np.arange(count), points, np.tile([0.0, 0.0, 1.0], (count, 1)))
    traced = np.full(count, 10.0)  # traced into the mass: larger than the cord
    profile = CordProfile(centreline, np.full(count, 110.0), traced, np.full(count, 16.0))
    merged = np.array([False, True, True, True, True, True, False])
    model_ap = np.array([np.nan, 7.7, 7.7, 3.2, 7.7, 7.7, np.nan])
    fitted = CordProfile(centreline, np.pi / 4 * model_ap * 12.0, model_ap, np.where(merged, 12.0, np.nan))
    bounded = compression._bounded(profile, merged, fitted)
    assert bounded.ap_mm[3] == pytest.approx(7.7)  # the dip's median: 7.7, 7.7, 3.2, 7.7, 7.7
    assert bounded.ap_mm[0] == pytest.approx(10.0)  # not traced into the mass: the judged trace
    assert compression._section_own(bounded, fitted, "ap_mm")[3] == pytest.approx(3.2)
