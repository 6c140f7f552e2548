"""The synthetic spine studies: geometry, signal, determinism and the case-spec format."""

import copy
import json
import time
from itertools import pairwise

import numpy as np
import pytest

from EMHAssistLib.errors import InputError
from EMHAssistLib.teaching import phantom
from EMHAssistLib.teaching.phantom_parts import anatomy, spine_layout

CASE = "mds_t5_t8"
REGION_TISSUE = {"cord": "cord", "mass": "mass", "marrow": "vertebral_body", "muscle": "muscle", "disc": "disc"}
THORACIC = [f"T{n}" for n in range(1, 13)]


@pytest.fixture(scope="module")
def study() -> phantom.SyntheticStudy:
    return phantom.build_study(CASE)


@pytest.fixture(scope="module")
def oblique() -> phantom.SyntheticStudy:
    return phantom.build_study(CASE, oblique_degrees=12.0)


def voxels_in_box(box: phantom.BoxSpec, shape: tuple[int, int, int], ijk_to_ras: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, j, i) indices and world centres of the voxels whose centre lies inside the box."""
    centre, axes, half = np.array(box.center), np.array(box.axes), np.array(box.size) / 2
    signs = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T
    corners = centre + (signs * half) @ axes
    world_to_ijk = np.linalg.inv(ijk_to_ras)
    corner_ijk = corners @ world_to_ijk[:3, :3].T + world_to_ijk[:3, 3]
    low = np.maximum(np.floor(corner_ijk.min(axis=0)), 0).astype(int)
    high = np.minimum(np.ceil(corner_ijk.max(axis=0)), np.array(shape[::-1]) - 1).astype(int)
    grids = np.meshgrid(*(np.arange(a, b + 1) for a, b in zip(low, high)), indexing="ij")
    ijk = np.stack([g.ravel() for g in grids], axis=1)
    world = ijk @ ijk_to_ras[:3, :3].T + ijk_to_ras[:3, 3]
    inside = np.all(np.abs((world - centre) @ axes.T) <= half + 1e-9, axis=1)
    return ijk[inside][:, ::-1], world[inside]


def labels_at(study: phantom.SyntheticStudy, world: np.ndarray) -> np.ndarray:
    """Label of the label-map voxel nearest to each world point; 255 outside the label map."""
    world_to_ijk = np.linalg.inv(study.label_grid)
    ijk = np.rint(world @ world_to_ijk[:3, :3].T + world_to_ijk[:3, 3]).astype(int)
    inside = np.all((ijk >= 0) & (ijk < np.array(study.labels.shape[::-1])), axis=1)
    found = np.full(len(world), 255, dtype=np.uint8)
    i, j, k = ijk[inside].T
    found[inside] = study.labels[k, j, i]
    return found


def clean_mean(study: phantom.SyntheticStudy, role: str, region: str) -> float:
    sequence = study.sequences[role]
    kji, _ = voxels_in_box(study.rois[region][0], sequence.clean.shape, sequence.ijk_to_ras)
    return float(sequence.clean[tuple(kji.T)].mean())


def label_id(study: phantom.SyntheticStudy, name: str) -> int:
    return next(label for label, label_name in study.label_names.items() if label_name == name)


def level_voxel(study: phantom.SyntheticStudy, level: str) -> tuple[int, int, int]:
    """(i, j, k) of the label-map voxel nearest to a level's body centre."""
    centre = np.array([*study.level_centres[level], 1.0])
    return tuple(int(v) for v in np.rint(np.linalg.inv(study.label_grid)[:3] @ centre))


def cord_diameters_mm(study: phantom.SyntheticStudy, level: str) -> tuple[float, float]:
    """AP extent in the thickest sagittal slice and RL extent in the widest column, at a level's height."""
    _, j, _ = level_voxel(study, level)
    cord = study.labels[:, j, :] == label_id(study, "cord")  # [k, i] = [RL, AP]
    spacing = np.linalg.norm(study.label_grid[:3, :3], axis=0)
    ap_counts = cord.sum(axis=1)
    widest_slice = int(np.argmax(ap_counts))
    widest_column = int(np.argmax(cord.sum(axis=0)))
    return ap_counts[widest_slice] * spacing[0], cord[:, widest_column].sum() * spacing[2]


def cord_centre_x(study: phantom.SyntheticStudy, level: str) -> float:
    _, j, _ = level_voxel(study, level)
    k_indices, _ = np.nonzero(study.labels[:, j, :] == label_id(study, "cord"))
    return float(np.mean(study.label_grid[0, 2] * k_indices + study.label_grid[0, 3]))


# --- The built-in case ----------------------------------------------------------------------------


def test_builtin_case_is_listed() -> None:
    assert CASE in phantom.case_names()


def test_study_describes_the_case(study: phantom.SyntheticStudy) -> None:
    assert study.name == CASE
    assert study.expected == "emh"
    assert study.title and len(study.story) > 200
    assert study.mass_levels == ("T5", "T8")
    assert study.compression_levels == ("T5", "T7")
    assert study.clinical == {
        "age": 79,
        "sex": "male",
        "conditions": ["myelodysplastic_syndrome", "chronic_anemia"],
        "findings": ["fever", "elevated_inflammatory_markers", "progressive_weakness"],
    }


def test_sequences_have_the_promised_types(study: phantom.SyntheticStudy) -> None:
    assert list(study.sequences) == ["T1", "T2", "T1C"]
    for role, sequence in study.sequences.items():
        assert sequence.role == role
        assert sequence.image.dtype == np.float32 and sequence.clean.dtype == np.float32
        assert sequence.image.shape == sequence.clean.shape
        assert sequence.ijk_to_ras.shape == (4, 4) and sequence.ijk_to_ras.dtype == np.float64
        assert np.all(np.isfinite(sequence.image)) and sequence.image.min() >= 0
    assert study.labels.dtype == np.uint8
    assert study.labels.shape == study.sequences["T2"].image.shape
    np.testing.assert_array_equal(study.label_grid, study.sequences["T2"].ijk_to_ras)
    assert set(np.unique(study.labels)) - {0} <= set(study.label_names)


def test_t1_and_t2_grids_differ(study: phantom.SyntheticStudy) -> None:
    t1, t2 = study.sequences["T1"], study.sequences["T2"]
    spacing_t1 = np.linalg.norm(t1.ijk_to_ras[:3, :3], axis=0)
    spacing_t2 = np.linalg.norm(t2.ijk_to_ras[:3, :3], axis=0)
    assert t1.image.shape != t2.image.shape
    assert not np.allclose(spacing_t1, spacing_t2)
    assert spacing_t2[2] <= 1.5 and spacing_t1[2] >= 3.0  # fine T2 slices, thick T1 slices
    assert not np.allclose(t1.ijk_to_ras[:3, 3], t2.ijk_to_ras[:3, 3])
    np.testing.assert_array_equal(study.sequences["T1C"].ijk_to_ras, t1.ijk_to_ras)


def test_acquisition_is_sagittal(study: phantom.SyntheticStudy) -> None:
    for sequence in study.sequences.values():
        slice_axis = sequence.ijk_to_ras[:3, 2] / np.linalg.norm(sequence.ijk_to_ras[:3, 2])
        np.testing.assert_allclose(np.abs(slice_axis), [1, 0, 0], atol=1e-12)


def test_build_is_deterministic(study: phantom.SyntheticStudy) -> None:
    again = phantom.build_study(CASE, seed=0)
    for role, sequence in study.sequences.items():
        np.testing.assert_array_equal(again.sequences[role].image, sequence.image)
        np.testing.assert_array_equal(again.sequences[role].clean, sequence.clean)
    np.testing.assert_array_equal(again.labels, study.labels)
    assert again.rois == study.rois and again.level_centres == study.level_centres


def test_another_seed_changes_noise_not_anatomy(study: phantom.SyntheticStudy) -> None:
    other = phantom.build_study(CASE, seed=7)
    assert not np.array_equal(other.sequences["T2"].image, study.sequences["T2"].image)
    np.testing.assert_array_equal(other.labels, study.labels)
    assert other.rois == study.rois


def test_noise_and_bias_are_as_specified(study: phantom.SyntheticStudy) -> None:
    for sequence in study.sequences.values():
        kji, _ = voxels_in_box(study.rois["muscle"][0], sequence.clean.shape, sequence.ijk_to_ras)
        clean, noisy = sequence.clean[tuple(kji.T)], sequence.image[tuple(kji.T)]
        assert np.ptp(clean) / clean.mean() < 0.01  # a smooth bias field hardly varies inside a small box
        brightest = np.percentile(sequence.clean, 99.9)  # the brightest tissue, within the bias field
        assert 0.015 * brightest < np.std(noisy - clean) < 0.035 * brightest
    nominal_cord_t2 = json.loads(phantom.SIGNAL_FILE.read_text())["tissues"]["cord"]["T2"]
    assert 0.9 <= clean_mean(study, "T2", "cord") / nominal_cord_t2 <= 1.1  # bias within +-10 %


def test_levels_run_superior_to_inferior(study: phantom.SyntheticStudy) -> None:
    names = list(study.level_centres)
    assert names[:12] == THORACIC
    assert names[12:] in ([], ["L1"])
    heights = [centre[2] for centre in study.level_centres.values()]
    assert all(upper > lower for upper, lower in zip(heights, heights[1:]))
    gaps = -np.diff(heights)
    assert np.all((gaps > 15) & (gaps < 35))


def test_level_centres_are_in_vertebral_bodies(study: phantom.SyntheticStudy) -> None:
    centres = np.array(list(study.level_centres.values()))
    assert np.all(labels_at(study, centres) == label_id(study, "vertebral_body"))


def test_spine_is_kyphotic(study: phantom.SyntheticStudy) -> None:
    ap = np.array([study.level_centres[name][1] for name in THORACIC])
    assert 8 <= np.ptp(ap) <= 20
    apex = int(np.argmin(ap))
    assert 3 <= apex <= 8  # the most posterior body is mid-thoracic


@pytest.mark.parametrize("region", list(REGION_TISSUE))
def test_roi_voxels_lie_in_their_tissue_on_every_sequence(study: phantom.SyntheticStudy, region: str) -> None:
    box = study.rois[region][0]
    assert np.allclose(np.linalg.norm(np.array(box.axes), axis=1), 1)
    for sequence in study.sequences.values():
        _, world = voxels_in_box(box, sequence.image.shape, sequence.ijk_to_ras)
        assert len(world) >= 30, f"{region} on {sequence.role}: {len(world)} voxels"
        assert np.all(labels_at(study, world) == label_id(study, REGION_TISSUE[region]))


def test_rois_sit_where_a_radiologist_would_put_them(study: phantom.SyntheticStudy) -> None:
    heights = {name: centre[2] for name, centre in study.level_centres.items()}
    cord, mass, marrow = (study.rois[name][0].center for name in ("cord", "mass", "marrow"))
    assert cord[2] > heights["T5"]  # above the compression
    assert heights["T8"] - 12 < mass[2] < heights["T5"] + 12
    assert mass[1] < cord[1]  # behind the cord: a posterior epidural mass
    assert heights["T8"] - 12 < marrow[2] < heights["T5"] + 12
    assert study.rois["muscle"][0].center[2] == pytest.approx(marrow[2], abs=2.0)  # same level, tilted frame


@pytest.mark.parametrize(
    ("role", "numerator", "denominator", "target"),
    [
        ("T2", ("T2", "mass"), ("T2", "cord"), 0.3),
        ("T1", ("T1", "mass"), ("T1", "cord"), 1.0),
        ("T1", ("T1", "marrow"), ("T1", "muscle"), 1.2),
        ("T1C", ("T1C", "mass"), ("T1", "mass"), 1.4),
    ],
)
def test_clean_ratios_match_the_case(study: phantom.SyntheticStudy, role: str, numerator, denominator, target: float) -> None:
    ratio = clean_mean(study, *numerator) / clean_mean(study, *denominator)
    assert ratio == pytest.approx(target, rel=0.03)


def test_tissue_contrasts_look_like_mri(study: phantom.SyntheticStudy) -> None:
    t1 = {region: clean_mean(study, "T1", region) for region in REGION_TISSUE}
    t2 = {region: clean_mean(study, "T2", region) for region in REGION_TISSUE}
    assert t1["marrow"] > t1["disc"]  # hyperplastic, not infiltrated, marrow
    assert t2["disc"] > t2["cord"] > t2["muscle"] > t2["mass"]  # a markedly T2-dark mass
    assert clean_mean(study, "T1C", "cord") == pytest.approx(t1["cord"], rel=0.01)


def test_cord_is_compressed_only_at_the_compression_levels(study: phantom.SyntheticStudy) -> None:
    ap = {level: cord_diameters_mm(study, level)[0] for level in THORACIC}
    free = [ap[level] for level in ("T2", "T3", "T4", "T8", "T9", "T10", "T11")]
    reference = float(np.median(free))
    assert 6.0 <= reference <= 7.0
    assert all(abs(value - reference) <= 1.0 for value in free)  # the mass at T8 does not touch the cord
    for level in ("T5", "T6", "T7"):
        assert ap[level] <= reference - 1.0, (level, ap[level], reference)
    assert ap["T6"] == pytest.approx(0.6 * reference, abs=1.0)  # 40 % loss in the middle


def test_compressed_cord_is_pushed_forward(study: phantom.SyntheticStudy) -> None:
    canal_contents = [label_id(study, name) for name in ("cord", "csf", "epidural_fat")]

    def cord_centre_behind_the_bodies_mm(level: str) -> float:
        """How far the cord's centre lies behind the posterior wall of the canal, in the midline."""
        _, j, k = level_voxel(study, level)
        row = study.labels[k, j, :]  # i runs from anterior to posterior
        cord_columns = np.nonzero(row == label_id(study, "cord"))[0]
        wall = cord_columns.min()
        while row[wall - 1] in canal_contents:
            wall -= 1
        return (cord_columns.mean() - wall + 0.5) * np.linalg.norm(study.label_grid[:3, 0])

    assert cord_centre_behind_the_bodies_mm("T6") < cord_centre_behind_the_bodies_mm("T3") - 1.5


def test_mass_is_lobulated_and_spans_its_levels(study: phantom.SyntheticStudy) -> None:
    mass = study.labels == label_id(study, "mass")
    rows_with_mass = np.nonzero(mass.any(axis=(0, 2)))[0]
    heights = study.label_grid[2, 1] * rows_with_mass + study.label_grid[2, 3]
    centres = study.level_centres
    assert heights.max() > centres["T5"][2] and heights.min() < centres["T8"][2]
    midline = mass[mass.shape[0] // 2]
    thickness = midline.sum(axis=1)[rows_with_mass]
    deepest_before = np.maximum.accumulate(thickness)
    deepest_after = np.maximum.accumulate(thickness[::-1])[::-1]
    notch_depth = np.minimum(deepest_before, deepest_after) - thickness
    assert notch_depth.max() >= 2  # lobules, not one smooth spindle


# --- Oblique acquisition ---------------------------------------------------------------------------


def test_oblique_turns_every_grid(study: phantom.SyntheticStudy, oblique: phantom.SyntheticStudy) -> None:
    for role in study.sequences:
        straight, turned = study.sequences[role].ijk_to_ras[:3, :3], oblique.sequences[role].ijk_to_ras[:3, :3]
        cosine = np.sum(straight * turned, axis=0) / (np.linalg.norm(straight, axis=0) * np.linalg.norm(turned, axis=0))
        np.testing.assert_allclose(cosine[2], 1.0, atol=1e-12)  # about LR: slices stay sagittal
        np.testing.assert_allclose(cosine[:2], np.cos(np.radians(12.0)), atol=1e-9)


def test_oblique_keeps_the_anatomy_in_place(study: phantom.SyntheticStudy, oblique: phantom.SyntheticStudy) -> None:
    assert oblique.rois == study.rois
    assert oblique.level_centres.keys() <= study.level_centres.keys()
    for name, centre in oblique.level_centres.items():
        assert centre == study.level_centres[name]
    rng = np.random.default_rng(3)
    points = np.column_stack([rng.uniform(-20, 20, 20000), rng.uniform(-40, 40, 20000), rng.uniform(-120, 120, 20000)])
    straight, turned = labels_at(study, points), labels_at(oblique, points)
    both = (straight != 255) & (turned != 255)
    assert both.sum() > 15000
    assert np.mean(straight[both] == turned[both]) > 0.93  # only voxels on a boundary may differ
    for region in REGION_TISSUE:
        assert clean_mean(oblique, "T1", region) == pytest.approx(clean_mean(study, "T1", region), rel=0.01)


@pytest.mark.parametrize("region", list(REGION_TISSUE))
def test_oblique_roi_voxels_lie_in_their_tissue(oblique: phantom.SyntheticStudy, region: str) -> None:
    for sequence in oblique.sequences.values():
        _, world = voxels_in_box(oblique.rois[region][0], sequence.image.shape, sequence.ijk_to_ras)
        assert len(world) >= 30
        assert np.all(labels_at(oblique, world) == label_id(oblique, REGION_TISSUE[region]))


def test_shape_scale_changes_the_matrix_not_the_field_of_view(study: phantom.SyntheticStudy) -> None:
    small = phantom.build_study(CASE, shape_scale=0.5)
    for role, sequence in study.sequences.items():
        shape, small_shape = sequence.image.shape, small.sequences[role].image.shape
        assert small_shape[0] == shape[0]
        assert small_shape[1:] == (round(shape[1] * 0.5), round(shape[2] * 0.5))
        extent = np.linalg.norm(sequence.ijk_to_ras[:3, :2], axis=0) * np.array(shape[:0:-1])
        small_extent = np.linalg.norm(small.sequences[role].ijk_to_ras[:3, :2], axis=0) * np.array(small_shape[:0:-1])
        np.testing.assert_allclose(small_extent, extent)


def test_default_case_builds_quickly() -> None:
    # CPU time, so that other jobs on a shared machine do not make the test flaky.
    start = time.process_time()
    phantom.build_study(CASE, seed=11)
    assert time.process_time() - start < 5.0


# --- The case-spec format carries other cases without code changes ------------------------------------


def write_case(tmp_path, monkeypatch, name: str, changes: dict) -> None:
    spec = json.loads((phantom.CASES_DIR / f"{CASE}.json").read_text())
    spec.update(copy.deepcopy(changes), id=name)
    (tmp_path / f"{name}.json").write_text(json.dumps(spec))
    monkeypatch.setattr(phantom, "CASES_DIR", tmp_path)


def test_thalassemia_mass_longer_than_its_compression(tmp_path, monkeypatch) -> None:
    write_case(
        tmp_path,
        monkeypatch,
        "thalassemia",
        {
            "expected": "emh",
            "masses": [
                {"position": "posterior_epidural", "levels": ["T3", "T8"], "lobules": 4, "depth_mm": 4.0, "width_mm": 14.0},
                {"position": "left_paraspinal", "levels": ["T5", "T9"], "lobules": 3, "depth_mm": 12.0, "width_mm": 16.0},
                {"position": "right_paraspinal", "levels": ["T5", "T9"], "lobules": 3, "depth_mm": 12.0, "width_mm": 16.0},
            ],
            "compression": {"levels": ["T4", "T7"], "max_reduction": 0.35},
            "signal": {"mass": {"T1": {"of": "cord"}, "T2": {"of": "cord"}}},
        },
    )
    case = phantom.build_study("thalassemia")
    assert "thalassemia" in phantom.case_names()
    assert case.mass_levels == ("T3", "T8") and case.compression_levels == ("T4", "T7")
    ap = {level: cord_diameters_mm(case, level)[0] for level in ("T2", "T3", "T5", "T6", "T8", "T9")}
    assert ap["T5"] < ap["T2"] - 1 and ap["T6"] < ap["T2"] - 1
    assert abs(ap["T3"] - ap["T2"]) <= 1 and abs(ap["T8"] - ap["T9"]) <= 1
    assert clean_mean(case, "T2", "mass") / clean_mean(case, "T2", "cord") == pytest.approx(1.0, rel=0.03)
    mass = case.labels == label_id(case, "mass")
    slice_x = case.label_grid[0, 2] * np.arange(mass.shape[0]) + case.label_grid[0, 3]
    slices_with_mass = slice_x[mass.any(axis=(1, 2))]
    assert slices_with_mass.min() < -20 and slices_with_mass.max() > 20  # masses on both sides


def test_left_mass_pushes_the_cord_right(tmp_path, monkeypatch) -> None:
    write_case(
        tmp_path,
        monkeypatch,
        "sickle_cell",
        {
            "masses": [
                {"position": "left_epidural", "levels": ["T4", "T6"], "lobules": 2, "depth_mm": 3.0, "width_mm": 12.0},
                {"position": "left_paraspinal", "levels": ["T4", "T6"], "lobules": 2, "depth_mm": 14.0, "width_mm": 20.0},
            ],
            "compression": {"levels": ["T5", "T5"], "max_reduction": 0.4},
        },
    )
    case = phantom.build_study("sickle_cell")
    assert cord_centre_x(case, "T5") > cord_centre_x(case, "T3") + 1.0
    assert cord_diameters_mm(case, "T5")[1] < cord_diameters_mm(case, "T3")[1] - 1.5
    assert case.rois["mass"][0].center[0] < 0 and case.rois["muscle"][0].center[0] > 0
    for region in REGION_TISSUE:
        _, world = voxels_in_box(case.rois[region][0], case.labels.shape, case.label_grid)
        assert np.all(labels_at(case, world) == label_id(case, REGION_TISSUE[region]))


def test_metastasis_with_body_lesion_and_dark_marrow(tmp_path, monkeypatch) -> None:
    write_case(
        tmp_path,
        monkeypatch,
        "breast_metastasis",
        {
            "expected": "metastasis",
            "masses": [{"position": "anterior_epidural", "levels": ["T7", "T7"], "lobules": 1, "depth_mm": 3.0, "width_mm": 12.0}],
            "compression": {"levels": ["T7", "T7"], "max_reduction": 0.3},
            "body_lesions": [
                {"level": "T7", "diameters_mm": [14, 12, 12], "offset_mm": [0, -4, 0], "halo": {"thickness_mm": 1.5, "tissue": "lesion_halo"}}
            ],
            "signal": {"vertebral_body": {"T1": {"of": "muscle", "ratio": 0.85}}, "mass": {"T2": {"of": "cord", "ratio": 1.8}}},
            "acquisition": {"oblique_degrees": 4.0, "oblique_axis": "AP"},
        },
    )
    case = phantom.build_study("breast_metastasis")
    assert case.expected == "metastasis"
    lesion_centre = np.array(case.level_centres["T7"]) + [0.0, -4.0, 0.0]
    assert labels_at(case, lesion_centre[None])[0] == label_id(case, "body_lesion")
    assert abs(case.rois["marrow"][0].center[2] - case.level_centres["T7"][2]) > 10  # representative marrow, not the lesion
    assert clean_mean(case, "T1", "marrow") / clean_mean(case, "T1", "muscle") == pytest.approx(0.85, rel=0.03)
    t2 = case.sequences["T2"]
    assert abs(t2.ijk_to_ras[2, 2]) > 0.05  # slices tilted about AP
    assert cord_diameters_mm(case, "T7")[0] < cord_diameters_mm(case, "T4")[0] - 1


def test_abscess_rim_enhances_around_a_dark_core(tmp_path, monkeypatch) -> None:
    write_case(
        tmp_path,
        monkeypatch,
        "abscess",
        {
            "expected": "abscess",
            "masses": [
                {
                    "position": "posterior_epidural",
                    "levels": ["T9", "T11"],
                    "lobules": 1,
                    "depth_mm": 6.0,
                    "width_mm": 14.0,
                    "rim": {"thickness_mm": 1.5, "tissue": "mass_rim"},
                }
            ],
            "compression": {"levels": ["T10", "T10"], "max_reduction": 0.3},
            "signal": {
                "mass": {"T1": {"of": "cord", "ratio": 0.7}, "T2": {"of": "csf", "ratio": 0.9}, "T1C": {"role": "T1"}},
                "mass_rim": {"T1C": {"of": "mass", "role": "T1", "ratio": 2.5}},
            },
        },
    )
    case = phantom.build_study("abscess")
    assert clean_mean(case, "T1C", "mass") / clean_mean(case, "T1", "mass") == pytest.approx(1.0, rel=0.02)
    t1c = case.sequences["T1C"]
    k = int(round((np.linalg.inv(t1c.ijk_to_ras) @ [0.0, 0.0, 0.0, 1.0])[2]))  # the midline slice
    j, i = np.indices(t1c.clean.shape[1:])
    ijk = np.column_stack([i.ravel(), j.ravel(), np.full(i.size, k)])
    in_mass = labels_at(case, ijk @ t1c.ijk_to_ras[:3, :3].T + t1c.ijk_to_ras[:3, 3]) == label_id(case, "mass")
    core = clean_mean(case, "T1C", "mass")
    assert np.percentile(t1c.clean[k].ravel()[in_mass], 95) > 1.8 * core


def test_lymphoma_wraps_the_canal(tmp_path, monkeypatch) -> None:
    write_case(
        tmp_path,
        monkeypatch,
        "lymphoma",
        {
            "expected": "lymphoma",
            "masses": [{"position": "circumferential_epidural", "levels": ["T8", "T10"], "lobules": 3, "depth_mm": 2.5, "width_mm": 14.0}],
            "compression": {"levels": ["T9", "T9"], "max_reduction": 0.3},
            "signal": {},
        },
    )
    case = phantom.build_study("lymphoma")
    _, j, k = level_voxel(case, "T9")
    mass_columns = np.nonzero(case.labels[k, j, :] == label_id(case, "mass"))[0]
    cord_columns = np.nonzero(case.labels[k, j, :] == label_id(case, "cord"))[0]
    assert mass_columns.min() < cord_columns.min() and mass_columns.max() > cord_columns.max()  # in front and behind


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"masses": [{"position": "inside_the_cord", "levels": ["T5", "T8"], "depth_mm": 4, "width_mm": 10}]}, "position"),
        ({"masses": [{"position": "posterior_epidural", "levels": ["T8", "T5"], "depth_mm": 4, "width_mm": 10}]}, "superior"),
        ({"compression": {"levels": ["T5", "T7"], "max_reduction": 1.5}}, "max_reduction"),
        ({"signal": {"tumour": {"T1": 3}}}, "tumour"),
        ({"signal": {"mass": {"T1": {"of": "mass", "role": "T1C"}}}}, "circular"),
        ({"sequences": ["T1", "T1C"]}, "T2"),
        ({"colour": "blue"}, "colour"),
        ({"masses": [{"position": "posterior_epidural", "levels": ["T6", "T6"], "depth_mm": 1, "width_mm": 4}], "compression": None}, "too thin"),
    ],
)
def test_bad_specs_are_named(tmp_path, monkeypatch, change: dict, message: str) -> None:
    write_case(tmp_path, monkeypatch, "broken", change)
    with pytest.raises(InputError, match=message):
        phantom.build_study("broken")


def test_unknown_case_is_an_input_error() -> None:
    with pytest.raises(InputError, match=CASE):
        phantom.build_study("no_such_case")


def test_expanded_ribs_are_wide_and_filled_with_the_specs_tissue(tmp_path, monkeypatch, study: phantom.SyntheticStudy) -> None:
    write_case(tmp_path, monkeypatch, "ribs", {"rib_expansion": {"levels": ["T5", "T8"], "radius_mm": 7.0, "tissue": "mass"}})
    case = phantom.build_study("ribs")
    spine = spine_layout.Spine()
    head, tubercle, _ = (np.array(point) for point in anatomy.rib_points(spine.by_name["T6"], 1))
    axis = tubercle - head
    across = np.cross(axis, [1.0, 0.0, 0.0])
    x, u, t = (head + tubercle) / 2 + 5.0 * across / np.linalg.norm(across)  # beyond a normal rib's 3.5 mm
    y, z = spine.centre_line.to_world(np.float64(u), np.float64(t))
    point = np.array([[x, y, z]])
    assert labels_at(case, point)[0] == label_id(case, "posterior_element")
    assert labels_at(study, point)[0] != label_id(study, "posterior_element")
    thin = json.loads((tmp_path / "ribs.json").read_text())
    thin.update(id="thin", rib_expansion={"levels": ["T5", "T8"], "radius_mm": 2.0})
    (tmp_path / "thin.json").write_text(json.dumps(thin))
    with pytest.raises(InputError, match="radius_mm"):
        phantom.build_study("thin")


# --- The whole-spine field: lumbar spine, sacrum, conus and thecal sac ------------------------------

WHOLE_SPINE_CASE = "thal_major_teaching"
LUMBAR, SACRAL = ["L1", "L2", "L3", "L4", "L5"], ["S1", "S2", "S3", "S4", "S5"]


@pytest.fixture(scope="module")
def whole_spine() -> phantom.SyntheticStudy:
    return phantom.build_study(WHOLE_SPINE_CASE)


def canal_labels_at(study: phantom.SyntheticStudy, level: str, offset_mm: float = 0.0) -> list[str]:
    """Label names along the spine frame's u axis through the canal (u from -12 to +7 mm) at a level's height."""
    spine = spine_layout.Spine()
    t = spine.by_name[level].centre_t + offset_mm
    u = np.arange(-12.0, 8.0, 0.5)
    y, z = spine.centre_line.to_world(u, np.full_like(u, t))
    found = labels_at(study, np.column_stack([np.zeros_like(u), y, z]))
    return [study.label_names.get(int(label), "none") for label in found]


def test_one_volume_per_sequence_covers_t1_to_the_sacrum(whole_spine: phantom.SyntheticStudy, study: phantom.SyntheticStudy) -> None:
    assert list(whole_spine.level_centres) == THORACIC + LUMBAR + SACRAL
    centres = np.array(list(whole_spine.level_centres.values()))
    assert np.all(labels_at(whole_spine, centres) == label_id(whole_spine, "vertebral_body"))
    for role, sequence in whole_spine.sequences.items():
        station = study.sequences[role]
        np.testing.assert_allclose(np.linalg.norm(sequence.ijk_to_ras[:3, :3], axis=0), np.linalg.norm(station.ijk_to_ras[:3, :3], axis=0))
        ijk = np.linalg.inv(sequence.ijk_to_ras) @ np.column_stack([centres, np.ones(len(centres))]).T
        assert np.all((ijk[:3] >= -0.5).all(axis=0) & (ijk[:3].T <= np.array(sequence.image.shape[::-1]) - 0.5).all(axis=1)), role
        assert sequence.image.size < 3.5 * station.image.size  # a composed field, not a volume of the whole body


def test_lumbar_lordosis_and_sacral_tilt(whole_spine: phantom.SyntheticStudy) -> None:
    ap = {name: centre[1] for name, centre in whole_spine.level_centres.items()}
    height = {name: centre[2] for name, centre in whole_spine.level_centres.items()}
    assert max(LUMBAR, key=ap.get) in ("L3", "L4")  # the lordosis is most anterior mid-lumbar
    assert ap["L3"] > ap["L1"] + 5 and ap["L3"] > ap["L5"] + 5
    assert all(ap[upper] > ap[lower] for upper, lower in pairwise(SACRAL))  # the sacrum runs backwards
    tilt = np.degrees(np.arctan2(ap["S1"] - ap["S3"], height["S1"] - height["S3"]))
    assert 35 <= tilt <= 65  # upper sacrum against the vertical
    tip = np.degrees(np.arctan2(ap["S4"] - ap["S5"], height["S4"] - height["S5"]))
    assert tip < tilt - 10  # and it curves forward towards its tip


def test_sacral_segments_are_fused_by_thin_discs(whole_spine: phantom.SyntheticStudy) -> None:
    spine = spine_layout.Spine()
    heights = {name: spine.by_name[name].shape.height for name in SACRAL}
    assert all(heights[upper] > heights[lower] for upper, lower in pairwise(SACRAL))  # narrowing

    def disc_thickness(upper: str) -> float:
        vertebra = spine.by_name[upper]
        t = np.arange(vertebra.bottom - 12, vertebra.bottom + 2, 0.1)
        u = np.full_like(t, vertebra.body_centre_u)
        y, z = spine.centre_line.to_world(u, t)
        found = labels_at(whole_spine, np.column_stack([np.zeros_like(t), y, z]))
        return np.isin(found, [label_id(whole_spine, "disc"), label_id(whole_spine, "annulus")]).sum() * 0.1

    assert disc_thickness("L4") >= 8.0
    assert all(disc_thickness(name) <= 2.5 for name in SACRAL[:-1])


def test_cord_ends_at_the_conus_and_the_sac_at_s2(whole_spine: phantom.SyntheticStudy) -> None:
    assert canal_labels_at(whole_spine, "T12").count("cord") >= 8  # 4 mm and more
    assert canal_labels_at(whole_spine, "L3").count("cord") <= 2  # below the conus: the filum at most
    for level in ("L3", "L5", "S1"):
        assert canal_labels_at(whole_spine, level).count("csf") >= 10, level
    for level in ("S3", "S4"):
        labels = canal_labels_at(whole_spine, level)
        assert "csf" not in labels and "epidural_fat" in labels, level
    roots = (whole_spine.labels == label_id(whole_spine, "nerve_root")).nonzero()
    heights = whole_spine.label_grid[2, 1] * roots[1] + whole_spine.label_grid[2, 3]
    assert heights.max() < whole_spine.level_centres["L1"][2] and heights.min() > whole_spine.level_centres["S3"][2]


def test_masses_and_mass_boxes_at_both_sites(whole_spine: phantom.SyntheticStudy) -> None:
    assert whole_spine.mass_spans == (("T6", "T8"), ("S1", "S3"))
    thoracic, sacral = whole_spine.rois["mass"]
    centres = whole_spine.level_centres
    assert centres["T8"][2] < thoracic.center[2] < centres["T6"][2]
    assert centres["S3"][2] - 10 < sacral.center[2] < centres["S1"][2] + 10
    for box in (thoracic, sacral):
        _, world = voxels_in_box(box, whole_spine.labels.shape, whole_spine.label_grid)
        assert len(world) >= 30 and np.all(labels_at(whole_spine, world) == label_id(whole_spine, "mass"))
    assert "mass" in canal_labels_at(whole_spine, "S1")  # epidural, in the sacral canal
    spine = spine_layout.Spine()
    s2 = spine.by_name["S2"]
    in_front = s2.body_centre_u + s2.shape.depth / 2 + 8
    y, z = spine.centre_line.to_world(np.float64(in_front), np.float64(s2.centre_t))
    assert labels_at(whole_spine, np.array([[0.0, y, z]]))[0] == label_id(whole_spine, "mass")  # presacral
    y, z = spine.centre_line.to_world(np.float64(in_front + 16), np.float64(s2.centre_t))
    assert labels_at(whole_spine, np.array([[0.0, y, z]]))[0] == label_id(whole_spine, "fat")  # in the presacral fat


@pytest.mark.parametrize("spans", [[["T5", "T6"], ["T7", "T8"]], [["S1", "S2"], ["T5", "T6"]], []])
def test_mass_spans_must_be_apart_and_ordered(tmp_path, monkeypatch, spans: list) -> None:
    write_case(tmp_path, monkeypatch, "spans", {"mass_spans": spans})
    with pytest.raises(InputError, match="mass_spans"):
        phantom.build_study("spans")


# --- A child: the phantom scaled by age ------------------------------------------------------------


def cord_area_mm2(study: phantom.SyntheticStudy, level: str) -> float:
    """Cross-sectional area of the cord's labels in the label-map row through a level's body centre."""
    _, j, _ = level_voxel(study, level)
    spacing = np.linalg.norm(study.label_grid[:3, :3], axis=0)
    return float((study.labels[:, j, :] == label_id(study, "cord")).sum() * spacing[0] * spacing[2])


def test_a_child_is_the_adult_phantom_scaled_by_age_with_a_cord_of_its_age(tmp_path, monkeypatch) -> None:
    """The sickle-cell case's two-year-old: every world coordinate (grids, level points) is an adult
    build's times the thoracic spine length at age 2 over the adult's, the bodies are the adult's, and
    the canal and cord are scaled by their own, larger factor (body_size.json's cord_section), so the
    cord has a two-year-old's size rather than half an adult's; the left mass still pushes it right."""
    child = phantom.build_study("sickle_cell_d4_d6")
    scale = phantom.body_scale(child.clinical["age"])
    assert child.clinical["age"] == 2 and 0.45 <= scale <= 0.55  # about 14 of 28 cm
    assert phantom.body_scale(37) == phantom.body_scale(None) == 1.0
    assert phantom.section_scale(37) == phantom.section_scale(None) == 1.0
    cord_factor = scale * phantom.section_scale(2)
    assert 0.55 <= cord_factor <= 0.7  # a newborn's thoracic cord is 3.3 mm AP, an adult's about 6.5
    data = json.loads((phantom.CASES_DIR / "sickle_cell_d4_d6.json").read_text())
    data.update(id="grown_up", clinical={**data["clinical"], "age": 30})
    (tmp_path / "grown_up.json").write_text(json.dumps(data))
    monkeypatch.setattr(phantom, "CASES_DIR", tmp_path)
    adult = phantom.build_study("grown_up")
    for role, sequence in child.sequences.items():
        assert sequence.image.shape == adult.sequences[role].image.shape
        np.testing.assert_allclose(sequence.ijk_to_ras[:3], scale * adult.sequences[role].ijk_to_ras[:3])
    body = label_id(child, "vertebral_body")
    np.testing.assert_array_equal(child.labels == body, adult.labels == body)
    for name, centre in child.level_centres.items():
        np.testing.assert_allclose(centre, scale * np.array(adult.level_centres[name]))
    length = child.level_centres["T1"][2] - child.level_centres["T12"][2]
    assert 110 <= length <= 150  # T1 to T12 body centres of a two-year-old, in mm
    # The healthy cord (T8) is the adult's times the cord's factor, in area, not times the body's.
    assert cord_area_mm2(child, "T8") == pytest.approx(cord_factor**2 * cord_area_mm2(adult, "T8"), rel=0.08)
    assert cord_area_mm2(child, "T8") > 1.3 * scale**2 * cord_area_mm2(adult, "T8")
    assert cord_centre_x(child, "T5") > cord_centre_x(child, "T3") + 0.5
    assert cord_diameters_mm(child, "T5")[1] < 0.75 * cord_diameters_mm(child, "T3")[1]
    assert child.rois["mass"][0].center[0] < 0
    for region in REGION_TISSUE:
        _, world = voxels_in_box(child.rois[region][0], child.labels.shape, child.label_grid)
        assert len(world) >= 30, region
        assert np.all(labels_at(child, world) == label_id(child, REGION_TISSUE[region])), region


def test_striated_marrow_runs_vertically_and_keeps_the_marrow_ratio(whole_spine: phantom.SyntheticStudy) -> None:
    """Seed 003's striated bodies: the T2 signal across a body (front to back) swings with the
    trabeculae, along the body (head to foot) it hardly does; the marrow box still reads the case's ratio."""
    spine = spine_layout.Spine()
    t7 = spine.by_name["T7"]
    centre_line = spine.centre_line

    def clean_t2_along(u: np.ndarray, t: np.ndarray) -> np.ndarray:
        y, z = centre_line.to_world(u, t)
        sequence = whole_spine.sequences["T2"]
        ijk = np.rint(np.linalg.inv(sequence.ijk_to_ras)[:3] @ np.stack([np.zeros_like(y), y, z, np.ones_like(y)])).astype(int)
        return sequence.clean[ijk[2], ijk[1], ijk[0]]

    across = clean_t2_along(t7.body_centre_u + np.arange(-6.0, 6.0, 0.5), np.full(24, t7.centre_t))
    along = clean_t2_along(np.full(24, t7.body_centre_u), t7.centre_t + np.arange(-6.0, 6.0, 0.5))
    assert np.ptp(across) > 0.3 * np.mean(across) and np.ptp(along) < 0.1 * np.mean(along)
    ratio = clean_mean(whole_spine, "T1", "marrow") / clean_mean(whole_spine, "T1", "muscle")
    assert ratio == pytest.approx(1.2, rel=0.03)


def test_every_box_of_the_whole_spine_case_lies_in_its_tissue(whole_spine: phantom.SyntheticStudy) -> None:
    for region, boxes in whole_spine.rois.items():
        for box in boxes:
            for sequence in whole_spine.sequences.values():
                _, world = voxels_in_box(box, sequence.image.shape, sequence.ijk_to_ras)
                assert len(world) >= 30, (region, sequence.role)
                assert np.all(labels_at(whole_spine, world) == label_id(whole_spine, REGION_TISSUE[region])), (region, sequence.role)


@pytest.mark.parametrize("name", ["mds_t5_t8", "sickle_cell_d4_d6"])
def test_case_rois_are_the_studys_without_rendering_it(name: str) -> None:
    """The quiz rebuilds a reopened case's reference boxes from case_rois; they must be build_study's own."""
    assert phantom.case_rois(name) == phantom.build_study(name).rois
