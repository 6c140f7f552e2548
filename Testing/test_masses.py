"""The mass grown from its ROI stays the mass (issue 13: mass levels exact).

Grown through every voxel like the seed, masses on generated spines leaked along layers a voxel
thick (CSF against the cord averaging to an abscess, the soft-tissue borders behind the laminae
leading a posterior EMH into the paraspinal muscles) and were reported 1-9 levels too long.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from EMHAssistLib.analysis import analyze, run_analysis
from EMHAssistLib.errors import InputError
from EMHAssistLib.geometry import Box, Grid
from EMHAssistLib.inputs.casefolder import load_case_folder
from EMHAssistLib.inputs.plain import Outline, SequenceImage
from EMHAssistLib.inputs import study as study_module
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.inputs.study import RegionSource, read_outlines
from EMHAssistLib.spine.masses import _far_part_begins_thick, cord_wall, mass_sites, segment_mass
from EMHAssistLib.spine.masses import settings as mass_settings
from EMHAssistLib.outputs.report import to_json
from EMHAssistLib.outputs.scene_writing import new_roi
from EMHAssistLib.teaching.cases import build_study, study_into_scene
from small_case import small_study
from spinegen.case import generate, write_case
from spinegen.judge import judge_case

MASS, TISSUE = 400.0, 150.0


def _sagittal(values: np.ndarray) -> SequenceImage:
    """`values` (k, j, i) on sagittal slices: i anterior-posterior and j head-foot 1 mm, k 3 mm right-left."""
    spacing = np.array([1.0, 1.0, 3.0])
    matrix = np.diag([*spacing, 1.0])
    return SequenceImage("T2", Grid(values.shape, matrix), values.astype(np.float32))


def test_a_layer_a_voxel_thick_does_not_carry_the_mass_away():
    """A lobule 11 x 20 mm on 5 slices, and from its top a layer of its own signal one voxel thick
    running 60 mm up (the partial volume along a border): the mass keeps the lobule, its rim, and
    `taper_mm` of the layer beyond, where a thin end of the mass would lie, and no more. Before:
    36 mm of it, up to the edge of the growth's search box."""
    values = np.full((9, 120, 40), TISSUE)
    values[2:7, 20:40, 15:26] = MASS
    values[2:7, 40:100, 20] = MASS
    image = _sagittal(values)
    seed = Box(np.array([20.0, 30.0, 12.0]), np.eye(3), np.array([3.0, 5.0, 2.0]))
    grown = segment_mass([Outline("mass", seed, segment=False)], [image], image)
    ijk = np.rint(image.grid.to_ijk(grown.points_world())).astype(int)
    assert np.all(values[ijk[:, 2], ijk[:, 1], ijk[:, 0]] == MASS)
    assert len(ijk) >= 5 * 20 * 11  # the whole lobule
    reach = ijk[:, 1].max() - 39  # mm of the layer taken, above the lobule's top row (j = 39)
    assert reach == mass_settings().taper_mm + 1  # the lobule's rim (a voxel), then the taper


def test_a_thick_mass_joined_to_like_tissue_by_a_neck_a_voxel_wide_keeps_to_itself():
    """Two lobules of the same signal joined through one voxel-wide neck 20 mm long: the seeded one
    is the mass; the other (a muscle of the mass's signal beside a posterior EMH) is not. Before:
    both, up to the edge of the growth's search box."""
    values = np.full((9, 140, 40), TISSUE)
    values[2:7, 20:40, 15:26] = MASS
    values[2:7, 60:120, 10:30] = MASS  # the like tissue beyond
    values[4, 40:60, 20] = MASS  # the neck
    image = _sagittal(values)
    seed = Box(np.array([20.0, 30.0, 12.0]), np.eye(3), np.array([3.0, 5.0, 2.0]))
    ijk = np.rint(image.grid.to_ijk(segment_mass([Outline("mass", seed, segment=False)], [image], image).points_world())).astype(int)
    assert ijk[:, 1].max() < 60


# Seed 7 of the 30-case sweep (bench/spine_sweep.py --cases 30 --seed 1), its design pinned: a
# posterior epidural EMH at T2-T4 on 4 mm sagittal slices, grown into the paraspinal muscles (EMH's
# T1 and T2 window holds muscle) along the soft-tissue borders behind the laminae: reported C3-T7.
POSTERIOR_EMH = {
    "curvature": "physiological", "cervical_lordosis_deg": 36.9, "thoracic_kyphosis_deg": 47.1, "lumbar_lordosis_deg": 36.8,
    "scoliosis_deg": 9.5, "tilt_deg": 3.7, "window_centre": "T1", "fov_si_mm": 298.5, "body_scale": 1.06, "cord_scale": 0.99,
    "orientation": "sagittal", "oblique_deg": 3.8, "oblique_axis": [-0.8008, -0.0252, 0.5984], "thickness_mm": 3.99,
    "inplane_mm": 1.055, "snr": 29.4, "bias": 0.0, "gibbs": 0.13, "healthy": False, "mass_kind": "emh", "side": "posterior",
    "mass_level": "T3", "core_mm": 23.0, "severity": 0.33, "onset_mm": 15.6, "effacement": "one", "displacement": 0.51,
    "spares_cord": False, "cord_roi": "tight", "cord_roi_offset": [0.161, -1.073, -0.887], "mass_roi_poke_mm": 0.0, "anchors": 2,
}
# Seed 18: a right epidural abscess at T9 on 0.9 mm sagittal slices, grown up and down the canal
# along the CSF's border with the cord (their average reads as the abscess on T1 and T2): T6-L1.
LATERAL_ABSCESS = {
    "curvature": "physiological", "cervical_lordosis_deg": 31.5, "thoracic_kyphosis_deg": 29.8, "lumbar_lordosis_deg": 32.5,
    "scoliosis_deg": 19.5, "tilt_deg": 0.64, "window_centre": "T10", "fov_si_mm": 269.2, "body_scale": 1.0, "cord_scale": 0.92,
    "orientation": "sagittal", "oblique_deg": 0.0, "thickness_mm": 0.88, "inplane_mm": 1.017, "snr": 30.8, "bias": 0.0,
    "gibbs": 0.0, "healthy": False, "mass_kind": "abscess", "side": "right", "mass_level": "T9", "core_mm": 5.26, "severity": 0.64,
    "onset_mm": 1.48, "effacement": "one", "displacement": 0.55, "spares_cord": False, "cord_roi": "offset",
    "cord_roi_offset": [-1.678, 0.614, -2.087], "mass_roi_poke_mm": 1.88, "anchors": 2,
}

# Seeds 42 and 49 of the unseen sweep (bench/spine_sweep.py --cases 30 --seed 31), their designs pinned: an
# anterior cervical abscess on 1.5 mm sagittal slices at SNR 14, whose box holds the abscess, the dura and the CSF
# beside it (the whole box's median and spread spanned them: reported C1-T5 for C3-C5), and a posterior abscess
# whose box also holds darker tissue (a third of its T2 values at or below the cord's), grown through the CSF
# (C1-T3 for C4-C7); abscesses are nearly as bright as CSF on T2.
ANTERIOR_ABSCESS_IN_CSF = {
    "curvature": "scoliotic", "cervical_lordosis_deg": 23.16635319256157, "thoracic_kyphosis_deg": 50.050927196898385,
    "lumbar_lordosis_deg": 50.92104087178092, "scoliosis_deg": 6.412660218314743, "tilt_deg": 4.756223516367559,
    "window_centre": "C6", "fov_si_mm": 294.32771663323444, "body_scale": 0.9256227265351092,
    "cord_scale": 0.9900771875791134, "orientation": "sagittal", "oblique_deg": 0.0,
    "oblique_axis": [0.054, 0.9224, 0.3825], "thickness_mm": 1.5271639097112861, "inplane_mm": 0.8882093509110843,
    "snr": 13.786883170916909, "bias": 0.0, "gibbs": 0.0, "healthy": False, "mass_kind": "abscess", "side": "anterior",
    "mass_level": "C4", "core_mm": 36.25923924627692, "severity": 0.5448684479516333, "onset_mm": 1.791557689077852,
    "effacement": "one", "displacement": 0.04380376578722878, "spares_cord": False, "cord_roi": "offset",
    "cord_roi_offset": [1.665, -0.316, -0.398], "mass_roi_poke_mm": 0.5684140772528571, "anchors": 1,
}
POSTERIOR_ABSCESS_WITH_DURA = {
    "curvature": "physiological", "cervical_lordosis_deg": 27.79651780509197,
    "thoracic_kyphosis_deg": 33.718257418746546, "lumbar_lordosis_deg": 48.71097857029841,
    "scoliosis_deg": 14.837220140856612, "tilt_deg": -4.8641413832198035, "window_centre": "C4",
    "fov_si_mm": 319.49053826664704, "body_scale": 1.0018575654834891, "cord_scale": 0.9223328206763661,
    "orientation": "sagittal", "oblique_deg": 0.0, "oblique_axis": [0.8655, 0.3886, 0.316],
    "thickness_mm": 2.6187281141431757, "inplane_mm": 0.513129227417515, "snr": 15.95272888462829, "bias": 0.0,
    "gibbs": 0.2703579404019996, "healthy": False, "mass_kind": "abscess", "side": "posterior", "mass_level": "C6",
    "core_mm": 34.381564513775515, "severity": 0.4054767370827682, "onset_mm": 13.567359057933112, "effacement": "one",
    "displacement": 0.8441750545616906, "spares_cord": False, "cord_roi": "tight",
    "cord_roi_offset": [1.683, 0.287, 1.869], "mass_roi_poke_mm": 0.0, "anchors": 3,
}

# Held-out seed 246: a posterior haematoma at T10 beside epidural fat of its own signal (T1 and T2 within a
# noise SD of it): grown along the fat it read T9-T11 for T10 (s 285.9-347.2 mm for the painted 295.0-323.2).
POSTERIOR_HAEMATOMA_BESIDE_FAT = {
    "curvature": "straight", "cervical_lordosis_deg": 19.556775578827356, "thoracic_kyphosis_deg": 47.40088318736444,
    "lumbar_lordosis_deg": 51.59087948569146, "scoliosis_deg": 16.53034615765995, "tilt_deg": -2.8675702226189994,
    "window_centre": "T12", "fov_si_mm": 316.2677553081236, "body_scale": 0.9259411711930686, "cord_scale": 0.9344315326302143,
    "orientation": "sagittal", "oblique_deg": 13.367624151213246, "oblique_axis": [-0.3521, 0.9193, -0.1757],
    "thickness_mm": 1.958636986791145, "inplane_mm": 0.5248530561818433, "snr": 13.099298789235037, "bias": 0.07905281073267842,
    "gibbs": 0.28456573209480995, "healthy": False, "mass_kind": "haematoma", "side": "posterior", "mass_level": "T10",
    "core_mm": 5.636829093522812, "severity": 0.6342746794705393, "onset_mm": 2.5510361812707054, "effacement": "both",
    "displacement": 0.002395773620236241, "spares_cord": True, "cord_roi": "tight", "cord_roi_offset": [0.035, -2.078, 1.476],
    "mass_roi_poke_mm": 0.0, "anchors": 1,
}

# Held-out seed 240: a left metastasis at T9-T11 whose 13 mm gradual end runs more than 20 mm past its ROI, 3 mm from
# the cord and 45 % of it behind the cord's centre: a thinning end beside the cord, not the posterior fat. Cut as a
# layer (its far part not required to lie behind the cord) it read T10-T11.
LATERAL_METASTASIS_WITH_A_LONG_END = {
    "curvature": "physiological", "cervical_lordosis_deg": 10.441837660413588, "thoracic_kyphosis_deg": 28.37685092572101,
    "lumbar_lordosis_deg": 42.54649202686173, "scoliosis_deg": 12.804040190635185, "tilt_deg": -4.348043176658258,
    "window_centre": "T8", "fov_si_mm": 286.2745356367474, "body_scale": 1.070716132456401, "cord_scale": 0.9741705841316876,
    "orientation": "sagittal", "oblique_deg": 13.81797135018412, "oblique_axis": [-0.4294, 0.8969, 0.1054],
    "thickness_mm": 2.586769777059678, "inplane_mm": 0.9560831148581275, "snr": 16.362705515398154, "bias": 0.0,
    "gibbs": 0.0, "healthy": False, "mass_kind": "metastasis", "side": "left", "mass_level": "T10",
    "core_mm": 8.196711204978882, "severity": 0.2936931728083891, "onset_mm": 12.962377254512699, "effacement": "both",
    "displacement": 0.08859569030216796, "spares_cord": False, "cord_roi": "offset", "cord_roi_offset": [0.029, 0.433, -1.194],
    "mass_roi_poke_mm": 0.0, "anchors": 1,
}

# Tuning seed 102: a right-sided haematoma at T8-T9 (lateral_epidural) whose grown far part lay behind the cord
# and began thin: cut as the posterior fat layer (3,780 voxels to 2,201) it read T9 alone.
LATERAL_HAEMATOMA_WITH_A_FAR_PART_BEHIND = {
    "curvature": "straight", "cervical_lordosis_deg": 27.57830544520682, "thoracic_kyphosis_deg": 48.83428720139962,
    "lumbar_lordosis_deg": 38.91780710280889, "scoliosis_deg": 15.27349282319453, "tilt_deg": -0.36115839694017016,
    "window_centre": "T7", "fov_si_mm": 267.78479144357095, "body_scale": 1.0986383983217787, "cord_scale": 0.9485043120129814,
    "orientation": "axial", "oblique_deg": 11.688217488713631, "oblique_axis": [-0.4941, -0.3021, 0.8152],
    "thickness_mm": 2.284539202224235, "inplane_mm": 0.6136167004931324, "snr": 28.5219911764084, "bias": 0.0,
    "gibbs": 0.0, "healthy": False, "mass_kind": "haematoma", "side": "right", "mass_level": "T9",
    "core_mm": 31.008946020282156, "severity": 0.40107163569136167, "onset_mm": 1.4612811401456758, "effacement": "none",
    "displacement": 0.5244697831413181, "spares_cord": False, "cord_roi": "offset", "cord_roi_offset": [0.897, 0.71, 0.118],
    "mass_roi_poke_mm": 2.4405160633591327, "anchors": 1,
}


def test_a_lateral_mass_is_not_cut_as_the_posterior_fat_layer(tmp_path):
    """The layer cut is only for a mass lying behind the cord or all round it, where the fat is."""
    case = generate(102, **LATERAL_HAEMATOMA_WITH_A_FAR_PART_BEHIND)
    analysis = run_analysis(load_case_folder(write_case(case, tmp_path / "seed102"), new_headless_scene()))
    report = to_json(analysis.report)
    outcome = judge_case(report, case.truth, case.spine)
    assert outcome["mass_levels"]["reported"] == ["T8", "T9"], outcome["mass_levels"]


@pytest.mark.parametrize(("seed", "design"), [(7, POSTERIOR_EMH), (18, LATERAL_ABSCESS), (42, ANTERIOR_ABSCESS_IN_CSF), (49, POSTERIOR_ABSCESS_WITH_DURA),
                                              (246, POSTERIOR_HAEMATOMA_BESIDE_FAT), (240, LATERAL_METASTASIS_WITH_A_LONG_END)],
    ids=["posterior EMH", "lateral abscess", "anterior abscess in CSF", "posterior abscess with dura", "posterior haematoma beside fat of its signal",
         "lateral metastasis with a long end"],
)
def test_a_generated_mass_is_grown_over_its_own_levels(tmp_path, seed, design):
    case = generate(seed, **design)
    folder = write_case(case, tmp_path / f"seed{seed}")
    analysis = run_analysis(load_case_folder(folder, new_headless_scene()))
    outcome = judge_case(to_json(analysis.report), case.truth, case.spine)  # the judge reads the report's JSON
    assert outcome["mass_exact"], outcome["mass_levels"]
    # And the segment itself: along the spine, within the painted mass's extent and a taper's reach.
    mass = analysis.levels.mass
    s, _, _ = case.spine.curve.local(mass.grid.to_world(np.argwhere(mass.mask)[:, ::-1].astype(float)))
    top, bottom = min(run[0] for run in case.truth["mass"]["s_mm"]), max(run[1] for run in case.truth["mass"]["s_mm"])
    reach = mass_settings().taper_mm
    assert top - reach <= s.min() and s.max() <= bottom + reach, (s.min(), s.max(), top, bottom)


def _far_millimetres(start_mm: float, thickness_mm: list[float], nearest_mm: float, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Grown voxels along the cord (arc, distance from the cord): per millimetre from `start_mm` (on
    by `step`, +1 or -1), one voxel nearest the cord and one `thickness_mm` of it farther out."""
    arc = np.repeat(start_mm + step * (np.arange(len(thickness_mm)) + 0.5), 2)
    radial = np.ravel([(nearest_mm, nearest_mm + thickness) for thickness in thickness_mm])
    return arc, radial


def test_a_far_part_as_thick_as_a_mass_where_it_begins_is_the_mass_not_a_layer():
    """Per millimetre, the far part's thickness across the canal as measured on the grown masses
    (2026-12-08): the built-in abscess's lower end 4.77, 3.80, 3.79, 3.60, 3.66 mm over its first 5 mm
    (median 3.79) then thinning to nothing; the fat grown from held-out seed 246's haematoma 2.08-2.38.
    Past 20 mm of the ROI (top 50, bottom 120 here) the end is the mass's own, the fat a layer; a side
    without a far part says nothing, and one thick side is enough (the built-in haematoma's lower far
    part is its 5 mm tip, 0.28 mm, its upper 4.50)."""
    abscess_end = _far_millimetres(120.0, [4.77, 3.80, 3.79, 3.60, 3.66, 3.65, 3.01, 2.31, 1.97, 0.21], 4.1, +1)
    fat = _far_millimetres(50.0, [2.21, 1.96, 2.35, 2.38, 2.08, 2.06, 2.15, 2.10], 6.3, -1)
    haematoma_tip = _far_millimetres(120.0, [4.1, 4.1, 0.3, 0.3, 0.0], 5.0, +1)
    haematoma_end = _far_millimetres(50.0, [4.5, 4.4, 4.6, 4.5, 4.3, 3.0, 1.0], 4.7, -1)
    assert _far_part_begins_thick(*abscess_end, 50.0, 120.0)
    assert not _far_part_begins_thick(*fat, 50.0, 120.0)
    assert not _far_part_begins_thick(*haematoma_tip, 50.0, 120.0)
    assert _far_part_begins_thick(*(np.concatenate(pair) for pair in zip(haematoma_tip, haematoma_end)), 50.0, 120.0)
    # the threshold is the data file's: a layer just under it is a layer, one at it the mass
    limit = mass_settings().layer_max_thickness_mm
    assert not _far_part_begins_thick(*_far_millimetres(50.0, [limit - 0.01] * 5, 4.0, -1), 50.0, 120.0)
    assert _far_part_begins_thick(*_far_millimetres(50.0, [limit] * 5, 4.0, -1), 50.0, 120.0)


def test_a_box_over_the_mass_and_the_csf_beside_it_grows_the_mass_alone():
    """A box drawn over a thin mass (40 % of it), the CSF column beside it (35 %) and the dark dura
    between (25 %), as radiologists draw one (issue 13 point 3): the mass is the tissue filling most
    of the box, and the CSF running the whole canal is not taken. Before: the whole box's median and
    MAD made a window from the dura's signal to above the CSF's, and the mass ran the image's length."""
    csf, dura = 550.0, 50.0
    values = np.full((9, 120, 40), TISSUE)
    values[2:7, 50:70, 14:18] = MASS  # the mass, 4 mm thick, 20 mm long
    values[2:7, 50:70, 18:21] = dura
    values[2:7, :, 21:30] = csf  # the CSF column, from end to end
    values[2:7, 50:70, 21:24] = csf
    image = _sagittal(values)
    seed = Box(np.array([18.5, 60.0, 12.0]), np.eye(3), np.array([5.0, 5.0, 3.0]))  # i 14-23: 4 mass, 3 dura, 3 CSF columns
    ijk = np.rint(image.grid.to_ijk(segment_mass([Outline("mass", seed, segment=False)], [image], image).points_world())).astype(int)
    assert np.all(values[ijk[:, 2], ijk[:, 1], ijk[:, 0]] == MASS)
    assert ijk[:, 1].min() == 50 and ijk[:, 1].max() == 69


def test_a_far_mass_site_does_not_change_how_the_thoracic_mass_meets_the_cord(scene):
    """thal_major_teaching drawn with its thoracic mass ROI alone, and with the sacral ROI too: the
    thoracic compression, mass levels and Bilsky grades are the same, as each site is grown (and walls
    the cord) from its own signal. Before, the sacral ROI's darker signal was pooled into the thoracic
    mass's window: alone, "no cord compression, Bilsky 1c at T7"; with it, "cord compressed T6-T8,
    Bilsky 2". Built compressed 30 % there, it reads so both ways now that the phantom's cord tapers
    as a healthy cord does (data/phantom_cord.json)."""
    synthetic = build_study("thal_major_teaching")
    both = to_json(analyze(study_into_scene(synthetic, scene)))
    study = study_into_scene(synthetic, new_headless_scene())
    study.regions["mass"] = study.regions["mass"][:1]  # the thoracic ROI alone
    thoracic = to_json(analyze(study))

    def at_the_thoracic_mass(levels: dict) -> tuple:
        grades = {level["level"]: level["grade"] for level in levels["bilsky"]["levels"] if level["level"].startswith("T")}
        return levels["compression"], grades, levels["mass"]["spans"][0]

    assert at_the_thoracic_mass(thoracic["levels"]) == at_the_thoracic_mass(both["levels"])
    # Built compressed 30 % at T6-T8 (read as 21 % against the expected size while the phantom's cord had one size).
    assert (thoracic["levels"]["compression"]["from"], thoracic["levels"]["compression"]["to"]) == ("T6", "T8")
    assert thoracic["levels"]["mass"]["spans"] == [{"from": "T6", "to": "T8"}]


def test_mass_rois_are_grouped_into_sites_by_overlap():
    """Boxes that overlap, directly or through a third, are one site; a box apart is another."""
    def box(z: float, half: float = 5.0) -> Box:
        return Box(np.array([0.0, 0.0, z]), np.eye(3), np.full(3, half))

    first, touching, through, apart = box(0.0), box(8.0), box(16.0), box(200.0)
    sites = mass_sites([first, apart, through, touching])
    assert [[id(box) for box in site] for site in sites] == [[id(first), id(through), id(touching)], [id(apart)]]


def test_a_mass_roi_longer_than_the_limit_is_refused_by_name():
    """A mass ROI of 1e5 mm (clipped to the images, the whole volume its seed) grew T1 to L1 in
    288-355 s; it is refused in one line naming the ROI where the mass region is read, before any growth."""
    scene = new_headless_scene()
    limit = mass_settings().roi_side_max_mm

    def mass_roi(name: str, length_mm: float) -> RegionSource:
        return RegionSource(new_roi(scene, name, Box(np.array([20.0, 60.0, 12.0]), np.eye(3), np.array([5.0, length_mm / 2, 5.0]))))

    with pytest.raises(InputError) as refused:
        read_outlines("mass", [mass_roi("mass-3", 1e5)])
    assert refused.value.subject == "mass-3" and f"at most {limit:g} mm" in refused.value.problem
    just = read_outlines("mass", [mass_roi("mass", limit)])[0]
    image = _sagittal(np.full((9, 120, 40), TISSUE))
    assert segment_mass(just, [image], image).mask.any()


def test_the_mass_boxes_are_checked_once_an_analysis(monkeypatch):
    """Checked where the mass region is read (inputs), not again for the spine stage nor in the
    growth: before, the measurement's reading, spine_inputs' and segment_mass each checked them."""
    checked = []
    monkeypatch.setattr(study_module, "check_mass_boxes", checked.append)
    analyze(small_study(new_headless_scene(), roles=("T2",)))
    assert len(checked) == 1


def test_the_cord_wall_beside_one_mass_turns_halfway_between_cord_and_mass():
    """A cord column (signal 150) and a mass (400) against it, on noisy sagittal slices: the wall
    field, negative where the signal is the cord's and positive where it is the mass's, crosses zero
    halfway between the cord's last voxel and the mass's first, where the signal turns. The field is
    kept below -1: taken as the larger of -1 and each site's value (65194ed), the cord's side read -1
    against the mass side's +11 here and the crossing fell 8 % of a voxel from the cord's edge (on
    lymphoma_t8_t10, one mass site, MSCC read 37 % instead of 31, built 30)."""
    rng = np.random.default_rng(7)
    values = np.full((9, 120, 40), 80.0)
    values[:, 20:100, 10:16] = TISSUE  # the cord, i = 10-15
    values[2:7, 40:70, 16:26] = MASS  # the mass against it from i = 16
    image = _sagittal(values + rng.normal(0.0, 10.0, values.shape))
    seed = Box(np.array([20.0, 55.0, 12.0]), np.eye(3), np.array([3.0, 8.0, 4.0]))
    cord = Box(np.array([12.5, 30.0, 12.0]), np.eye(3), np.array([1.5, 5.0, 6.0]))
    mass = segment_mass([Outline("mass", seed, segment=False)], [image], image)
    assert mass.sites == ((seed,),)  # the wall beside each site is drawn from the sites the mass was grown from
    wall = cord_wall(mass, [image], image, [cord])
    cord_side, mass_side = wall[3:6, 45:65, 15], wall[3:6, 45:65, 16]
    assert np.all(cord_side < 0) and np.all(mass_side > 0)
    crossing = float(np.mean(cord_side / (cord_side - mass_side)))  # fraction of a voxel from the cord's edge
    assert 0.35 <= crossing <= 0.65, crossing


def test_the_cord_wall_reads_the_cords_own_signal_where_the_cord_region_holds_mostly_csf():
    """A cord column (150) between CSF in front (700) and a mass behind (400), the cord region drawn over
    the CSF and a third of the cord: the region's main tissue is the CSF, and against its signal the
    cord's own voxels lie nearer the mass's, so the wall ran through the cord (generated seed 167: a
    false compression). Given the cord's own voxels (`cord_points`, as the first tracing found them),
    the wall turns between the cord and the mass again."""
    rng = np.random.default_rng(11)
    values = np.full((9, 120, 40), 80.0)
    values[:, 20:100, 2:10] = 700.0  # CSF, i = 2-9
    values[:, 20:100, 10:16] = TISSUE  # the cord, i = 10-15
    values[2:7, 40:70, 16:26] = MASS  # the mass against it from i = 16
    image = _sagittal(values + rng.normal(0.0, 10.0, values.shape))
    seed = Box(np.array([20.0, 55.0, 12.0]), np.eye(3), np.array([3.0, 8.0, 4.0]))
    region = Box(np.array([7.0, 30.0, 12.0]), np.eye(3), np.array([5.0, 5.0, 6.0]))  # i = 2-12: 8 voxels of CSF, 3 of cord
    mass = segment_mass([Outline("mass", seed, segment=False)], [image], image)
    k, j, i = np.meshgrid(np.arange(2, 7), np.arange(20, 40), np.arange(10, 16), indexing="ij")
    cord_points = np.stack([i.ravel(), j.ravel(), 3.0 * k.ravel()], axis=1).astype(float)  # world = (i, j, 3 k) mm
    cut = cord_wall(mass, [image], image, [region])
    assert np.all(cut[3:6, 45:65, 15] > 0)  # the cord's last voxel beyond the wall: the region's CSF taken as the cord
    wall = cord_wall(mass, [image], image, [region], cord_points)
    assert np.all(wall[3:6, 45:65, 15] < 0) and np.all(wall[3:6, 45:65, 16] > 0)


def test_a_mass_grows_through_its_enhancing_wall_where_its_pre_contrast_signal_is_the_seeds():
    """An abscess (built-in abscess_t9_t11): a lobule whose wall, a voxel front and back, gains 2.5 times
    on T1C, and below it a thin tail of the collection, wall-core-wall across. Judged against the
    seed's T1C window the wall was not the mass, and the tail's one core voxel was too thin to grow
    through: the mass stopped `taper_mm` into the tail (the built-in abscess read T9-T10 for T9-T11).
    Enhancing more than the seed is no evidence against the mass where the pre-contrast T1 is the
    seed's; fat beside it, as bright before contrast as after, is still left out."""
    lobule = (slice(2, 7), slice(20, 40), slice(14, 27))
    tail = (slice(2, 7), slice(40, 70), slice(19, 22))  # within the search box (40 mm beyond the seed head-foot)
    mass, wall = np.zeros((9, 120, 40), dtype=bool), np.zeros((9, 120, 40), dtype=bool)
    for part, (front, back) in ((lobule, (14, 26)), (tail, (19, 21))):
        mass[part] = True
        wall[part[0], part[1], front] = wall[part[0], part[1], back] = True
    fat = (slice(2, 7), slice(20, 70), slice(27, 31))
    images = []
    for role, inside, on_wall, in_fat in (("T1", 300.0, 300.0, 600.0), ("T2", MASS, MASS, MASS), ("T1C", 300.0, 750.0, 600.0)):
        values = np.full(mass.shape, TISSUE)
        values[mass], values[wall] = inside, on_wall
        values[fat] = in_fat
        images.append(SequenceImage(role, _sagittal(values).grid, values.astype(np.float32)))
    seed = Box(np.array([20.0, 30.0, 12.0]), np.eye(3), np.array([3.0, 5.0, 2.0]))  # in the lobule's core
    grown = segment_mass([Outline("mass", seed, segment=False)], images, images[1])
    ijk = np.rint(images[1].grid.to_ijk(grown.points_world())).astype(int)
    taken = (ijk[:, 2], ijk[:, 1], ijk[:, 0])
    assert np.all(mass[taken])  # no fat, nothing around
    assert ijk[:, 1].max() == 69  # the whole tail
    assert np.sum(wall[taken]) >= 0.9 * wall.sum()


def test_the_mass_growth_bench_reads_the_tissue_the_generator_painted():
    """bench/mass_growth.py tells a grown voxel's tissue by spinegen's own layers, each over the last:
    generated seed 246's posterior haematoma lies over the epidural fat it displaces (painted as fat
    first, then the mass over it), so the mass's middle reads the haematoma, the posterior epidural
    space 40 mm away the fat, and the cord's centre the cord (not the CSF and dura painted under it)."""
    from spinegen.design import sample_design
    from spinegen.scan import acquisition_grid
    from spinegen.spine import build_spine

    spec = importlib.util.spec_from_file_location("mass_growth", Path(__file__).resolve().parents[1] / "bench" / "mass_growth.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    spine = build_spine(sample_design(246, healthy=False))
    profiles, s = spine.profiles, spine.s
    at = int(np.argmax(profiles["mass_thickness"]))
    away = int(np.argmin(np.abs(s - (s[at] + 40.0))))
    mass_v = -(profiles["canal_b"][at] - profiles["mass_thickness"][at] / 2)
    fat_v = (profiles["sac_cv"][away] - profiles["sac_b"][away] - profiles["canal_b"][away]) / 2  # between the sac's back and the canal's
    points = spine.curve.world(np.array([s[at], s[away], s[away]]), np.array([0.0, 0.0, profiles["cord_cu"][away]]),
                               np.array([mass_v, fat_v, profiles["cord_cv"][away]]))
    assert bench.painted_tissue(spine, acquisition_grid(spine), points) == ["mass:haematoma", "epidural_fat", "cord"]
