"""Vertebral levels: names and SCT codes, level points in and out, levels per slice on SCT's data,
and single-anchor detection on the real lumbar T2 against the manual check in docs/levels-and-compression.md."""

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from test_compression import compression_found

from EMHAssistLib.errors import InputError
from EMHAssistLib.geometry import Box, Grid
from EMHAssistLib.inputs.casefolder import read_point_list, read_volume
from EMHAssistLib.inputs.nodes import point_list, sequence_image
from EMHAssistLib.inputs.plain import SequenceImage
from EMHAssistLib.outputs import overlays
from EMHAssistLib.spine import cord
from EMHAssistLib.spine import levels
from EMHAssistLib.spine import vertebrae

# Body centres read by eye on the mid-sagittal slices (i = 17-21) of t2_lumbar, as (i, j, k) voxels;
# the reading and the naming argument are in docs/levels-and-compression.md.
LUMBAR_MANUAL = {"T11": (19, 92, 176), "T12": (19, 97, 148), "L1": (19, 97, 117), "L2": (19, 100, 85), "L3": (19, 107, 52)}
LUMBAR_CORD_SEED = (23, 71, 150)
CENTRE_TOLERANCE_MM = 6.0


@pytest.mark.parametrize(("name", "code"), [("C1", 1), ("C7", 7), ("T1", 8), ("T5", 12), ("T8", 15), ("T12", 19), ("L1", 20), ("L5", 24), ("S1", 25), ("S5", 29), ("t6", 13)])
def test_names_and_sct_codes(name, code):
    assert vertebrae.code_of(name) == code
    assert vertebrae.name_of(code) == name.upper()


@pytest.mark.parametrize("bad", ["C8", "T13", "T0", "L6", "S6", "Co1", "X3", "", "T 5 6", "5"])
def test_other_names_are_refused_with_the_subject(bad):
    with pytest.raises(InputError, match=r"levels\.mrk\.json point 2.*not a vertebra name"):
        vertebrae.code_of(bad, "levels.mrk.json point 2")


def test_every_name_round_trips():
    names = vertebrae.vertebra_names()
    assert len(names) == 29
    assert [vertebrae.name_of(vertebrae.code_of(n)) for n in names] == names


def _points(scene, labelled: dict[str, tuple[float, float, float]], name: str = "levels"):
    node = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", name)
    for label, position in labelled.items():
        node.AddControlPointWorld(*position, label)
    return node


def test_user_points_read_sorted_and_duplicates_refused(scene):
    node = _points(scene, {"T8": (0, 20, -3), "T5": (0, 19, 68)})
    found = levels.user_vertebrae(point_list(node))
    assert [v.name for v in found] == ["T5", "T8"] and [v.code for v in found] == [12, 15]
    np.testing.assert_allclose(found[0].centre, [0, 19, 68])
    node.AddControlPointWorld(0, 0, 0, "T5")
    with pytest.raises(InputError, match="T5 is labelled twice"):
        levels.user_vertebrae(point_list(node))
    node.SetNthControlPointLabel(2, "T13")
    with pytest.raises(InputError, match="levels point 3"):
        levels.user_vertebrae(point_list(node))


def test_levels_fill_between_points_and_map_positions(scene):
    anchors = levels.user_vertebrae(point_list(_points(scene, {"T5": (0, 0, 60), "T8": (0, 0, 0)})))
    level_map = levels.build_level_map(anchors, None, None)
    assert [(v.name, v.source) for v in level_map.vertebrae] == [("T5", "user"), ("T6", "interpolated"), ("T7", "interpolated"), ("T8", "user")]
    # Boundaries run through the disc centres, halfway between bodies 20 mm apart; a point on a disc plane is in the level below.
    probes = np.array([[0, 0, 71], [0, 0, 69], [0, 0, 50], [0, 0, 50.0 - 1e-9], [0, 0, 31], [0, 0, -9], [0, 0, -11]])
    assert level_map.names_at(probes) == [None, "T5", "T6", "T6", "T6", "T8", None]
    involved = level_map.involved(np.array([[0, 0, z] for z in np.arange(5.0, 45.0)]), 0.25)
    assert [v.name for v in involved] == ["T6", "T7", "T8"]


def test_detected_levels_written_back_as_a_point_list_file(scene, tmp_path):
    anchors = levels.user_vertebrae(point_list(_points(scene, {"T5": (0, 0, 60), "T7": (0, 0, 20)})))
    level_map = levels.build_level_map(anchors, None, None)
    node = overlays.level_point_node(level_map, scene, "levels (detected)")
    path = tmp_path / "levels.mrk.json"
    overlays.write_level_points(node, path)
    again = read_point_list(path, scene)
    assert [again.GetNthControlPointLabel(n) for n in range(again.GetNumberOfControlPoints())] == ["T5", "T6", "T7"]
    assert again.GetNthControlPointDescription(1) == "interpolated"
    reread = levels.user_vertebrae(point_list(again))
    np.testing.assert_allclose([v.centre for v in reread], [v.centre for v in level_map.vertebrae], atol=1e-3)


def _labelled_points(path: Path) -> dict[int, np.ndarray]:
    """SCT point labels (value -> world RAS) from a NIfTI label image."""
    image = sitk.ReadImage(str(path))
    array = sitk.GetArrayFromImage(image)
    found = {}
    for k, j, i in np.argwhere(array > 0):
        lps = np.array(image.TransformIndexToPhysicalPoint((int(i), int(j), int(k))))
        found[int(array[k, j, i])] = lps * [-1, -1, 1]
    return found


def _sct_levels_per_slice(shared_data: Path, scene, name_offset: int) -> tuple[list, list]:
    """Our level of each cord slice of SCT's t2 and the manual labelled cord's, slice by slice."""
    folder = shared_data / "sct_testing_data" / "t2"
    seg = sequence_image("seg", read_volume(folder / "t2_seg-manual.nii.gz", "seg", scene))
    labelled = sequence_image("lab", read_volume(folder / "t2_seg-manual_labeled.nii.gz", "lab", scene))
    image = sequence_image("T2", read_volume(folder / "t2.nii.gz", "T2", scene))
    centres = _labelled_points(folder / "t2_labeled_center_manual.nii.gz")
    anchors = [levels.Vertebra(vertebrae.name_of(v + name_offset), v + name_offset, p, "user") for v, p in centres.items()]
    profile = cord.measure_profile(seg.voxels > 0, seg.grid)
    level_map = levels.build_level_map(anchors, image, profile.centreline)
    ours, theirs = [], []
    for n, index in enumerate(profile.centreline.slices):
        values = labelled.voxels[:, index, :]
        values = values[values > 0]
        if values.size == 0:
            continue  # SCT left this cord slice unlabelled
        theirs.append(int(np.bincount(values.astype(int)).argmax()))
        ours.append(int(level_map.codes_at(profile.centreline.points[n])[0]))
    return ours, theirs


def test_levels_per_slice_match_sct_manual_labelled_cord(shared_data, scene):
    # t2_seg-manual_labeled names each level one lower than t2_labeled_center_manual does (see the docs);
    # here the points carry the labelled cord's own names, so only boundaries and counting are tested.
    ours, theirs = _sct_levels_per_slice(shared_data, scene, name_offset=-1)
    agreement = np.mean(np.array(ours) == np.array(theirs))
    assert len(theirs) >= 50
    # Measured: 48 of 52 labelled slices (92 %; 44 before a boundary with no disc between the bodies
    # fell midway). The misses: the three slices below the C4/C5 disc, below the lowest point where
    # no body C5 is found (the field of view ends 9 mm below C4's centre), and one slice at the C3/C4
    # disc, which the profile puts 1 mm above the labelled cord's boundary.
    assert agreement >= 0.9, list(zip(ours, theirs))


def test_sct_body_centre_file_names_one_level_above_the_labelled_cord(shared_data, scene):
    ours, theirs = _sct_levels_per_slice(shared_data, scene, name_offset=0)
    assert np.mean(np.array(ours) == np.array(theirs) + 1) >= 0.9


@pytest.fixture(scope="module")
def lumbar(shared_data):
    from EMHAssistLib.inputs.scene import new_headless_scene

    scene = new_headless_scene()
    volume = read_volume(shared_data / "sct_tutorial_data" / "t2_lumbar" / "t2_lumbar.nii.gz", "T2", scene)
    image = sequence_image("T2", volume)
    seed = Box(image.grid.to_world(np.array([LUMBAR_CORD_SEED], float))[0], np.eye(3), np.array([1.5, 1.5, 5.0]))
    coverage, ends = cord.segment_cord(image, seed)
    mask = coverage.values >= 0.5
    return image, cord.Cord(coverage.grid, mask, cord.measure_profile(mask, coverage.grid, coverage.values), "T2", False, ends)


@pytest.mark.parametrize("anchor", ["T11", "T12", "L1", "L2", "L3"])
def test_lumbar_bodies_from_one_anchor_match_the_manual_check(lumbar, anchor):
    image, tracked = lumbar
    manual = {name: image.grid.to_world(np.array([ijk], float))[0] for name, ijk in LUMBAR_MANUAL.items()}
    start = levels.Vertebra(anchor, vertebrae.code_of(anchor), manual[anchor], "user")
    level_map = levels.build_level_map([start], image, tracked.profile.centreline)
    found = {v.name: v.centre for v in level_map.vertebrae}
    assert [v.source for v in level_map.vertebrae].count("user") == 1
    checked = [name for name in manual if name in found and name != anchor]
    assert len(checked) >= 3, f"from {anchor} only {sorted(found)} were found"
    for name in checked:
        assert abs(found[name][2] - manual[name][2]) <= CENTRE_TOLERANCE_MM, (name, found[name], manual[name])


def test_lumbar_cord_ends_at_the_conus_and_is_not_compressed(lumbar):
    image, tracked = lumbar
    assert tracked.ends_inside == (True, False)  # the conus ends inside the field of view; the top is cut by it
    manual_l1 = image.grid.to_world(np.array([LUMBAR_MANUAL["L1"]], float))[0]
    level_map = levels.build_level_map([levels.Vertebra("L1", 20, manual_l1, "user")], image, tracked.profile.centreline)
    codes = level_map.codes_at(tracked.profile.centreline.points)
    assert {vertebrae.name_of(int(c)) for c in codes if c} >= {"T12", "L1"}
    assert compression_found(tracked, codes, None) is None


# Cord regions drawn as radiologists draw them on t2_lumbar (centre (i, j, k) voxel, half-size mm):
# a tight box on the cord; over the conus with the CSF beside it; 3 mm off the cord into the CSF
# behind it; twice the cord's size. Before: the second and third gave "no cord-like T2 tissue
# around the cord region" and no levels; the ones that tracked read a healthy cord "compressed
# T11/T12" by an RL ratio of 17-26 %.
LOOSE_CORD_ROIS = {
    "tight": ((23, 71, 150), (1.5, 1.5, 5.0)),
    "with CSF over the conus": ((21, 71, 140), (6.0, 6.0, 10.0)),
    "3 mm off": ((23, 68, 150), (1.5, 1.5, 5.0)),
    "twice the cord": ((23, 72, 150), (3.0, 4.0, 5.0)),
    "long, with CSF": ((23, 74, 150), (3.0, 3.0, 10.0)),
}


@pytest.mark.parametrize("drawn", sorted(LOOSE_CORD_ROIS))
def test_a_loosely_drawn_cord_region_still_finds_the_cord_and_every_level(shared_data, scene, drawn):
    from EMHAssistLib.outputs.scene_writing import set_roi_box
    from EMHAssistLib.inputs.study import RegionSource, Study, spine_inputs
    from EMHAssistLib.outputs import wording
    from EMHAssistLib.spine import compression

    volume = read_volume(shared_data / "sct_tutorial_data" / "t2_lumbar" / "t2_lumbar.nii.gz", "T2", scene)
    image = sequence_image("T2", volume)
    centre, half = LOOSE_CORD_ROIS[drawn]
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "cord")
    set_roi_box(roi, Box(image.grid.to_world(np.array([centre], float))[0], np.eye(3), np.array(half)))
    points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "levels")
    points.AddControlPointWorld(*image.grid.to_world(np.array([LUMBAR_MANUAL["L1"]], float))[0], "L1")
    outcome = compression.assess(spine_inputs(Study("lumbar", {"T2": volume}, {"cord": [RegionSource(roi)]}, points)), [image])
    assert outcome.levels is not None, outcome.warnings
    assert outcome.levels.cord.slices >= 60  # the cord from the top of the field to the conus
    names = {v.name for v in outcome.levels.vertebrae}
    assert {"T12", "L1", "L2", "L3"} <= names
    assert outcome.levels.compression is None
    assert wording.summary_line(outcome.levels) == "no cord compression"


def bent_column(drift_mm: float, lateral_mm: float = 0.0) -> tuple[SequenceImage, dict[str, np.ndarray], cord.Centreline]:
    """Bodies T4-T10 (marrow 500, 30 mm deep, 36 mm wide, 20 mm tall) 26 mm apart with 6 mm discs
    (900) in soft tissue (200), 1 mm voxels; the column bends forward (and to the right) away from
    a straight vertical cord 25 mm behind T7: each body's centre moves `drift_mm` (`lateral_mm`)
    per level from T7, as in a lordosis or a scoliosis. Returns the image, the body centres and
    the cord's centreline."""
    shape = (240, 120, 90)  # k (S), j (A), i (R)
    matrix = np.eye(4)
    matrix[:3, 3] = [-45.0, -60.0, -120.0]
    grid = Grid(shape, matrix)
    k, j, i = np.meshgrid(*(np.arange(n, dtype=float) for n in shape), indexing="ij")
    x, y, z = i - 45.0, j - 60.0, k - 120.0
    image = np.full(shape, 200.0, dtype=np.float32)
    centres = {}
    for n in range(4, 11):
        steps = 7 - n  # T7 at 0, T4 3 levels above
        centre = np.array([lateral_mm * abs(steps), 10.0 + drift_mm * abs(steps), 26.0 * steps])
        centres[f"T{n}"] = centre
        body = (np.abs(x - centre[0]) <= 18) & (np.abs(y - centre[1]) <= 15) & (np.abs(z - centre[2]) <= 10)
        disc = (np.abs(x - centre[0]) <= 18) & (np.abs(y - centre[1]) <= 15) & (np.abs(z - centre[2] - 13) <= 3)
        image[body] = 500.0
        image[disc] = 900.0
    heights = np.arange(-100.0, 101.0, 2.0)
    points = np.stack([np.zeros_like(heights), np.full_like(heights, -15.0), heights], axis=1)
    tangents = np.tile([0.0, 0.0, 1.0], (len(heights), 1))
    return SequenceImage("T2", grid, image), centres, cord.Centreline(np.arange(len(heights)), points, tangents)


@pytest.mark.parametrize(("drift", "lateral"), [(4.0, 0.0), (-4.0, 0.0), (0.0, 3.0), (6.0, 0.0), (0.0, 6.0), (0.0, 8.0)])
def test_detected_bodies_lie_on_the_bodies_of_a_column_that_bends_away_from_the_cord(drift, lateral):
    """Before: the centres sat on the cord shifted by T7's offset, 4 mm per level off (12 mm at T4).
    Then, 6-8 mm a level: each body was sought from the line, which had left it by more than half
    its depth or width three levels out, and T4, T10 (and T5, T9 sideways) stayed 12-24 mm off."""
    image, centres, guide = bent_column(drift, lateral)
    anchor = levels.Vertebra("T7", vertebrae.code_of("T7"), centres["T7"], "user")
    found = {v.name: v.centre for v in levels.build_level_map([anchor], image, guide).vertebrae}
    assert set(found) >= {"T5", "T6", "T8", "T9"}
    for name in found:
        assert np.linalg.norm(found[name] - centres[name]) <= 5.0, (name, found[name], centres[name])



# Generated spines (Testing/spinegen, judged by spinegen/judge.py as bench/spine_sweep.py judges them)
# on which bodies were misplaced, each for a cause fixed in spine/levels.py; the seeds are the sweep's
# (`--seed 1`: seed S + n is healthy when n % 4 == 0).
GENERATED_SPINES = {
    # Anchor C3, no cord region: a repeat length of two cervical levels (37 mm, beyond the cervical
    # range) outweighed the single one; every detected body was one more level off.
    "cervical, scoliotic, found cord": 28,
    # The marrow read at a point off the body (prevertebral soft tissue, 71 % of marrow on T2) was
    # taken as that body's own, and recentring kept T3-T5 9 mm in front (bodies interpolated
    # between C6 and T9).
    "thoracic kyphosis, two anchors": 19,
    # Axial 2.6 mm, anchors T2, T3 and T10: the bodies between T3 and T10, spaced evenly, lay up to
    # 5.8 mm off in height (the bodies grow downwards), recentred only across the spine. Recentred
    # along it too without a limit on the run's length, T4 went 11 mm down onto its disc with T5
    # (the run of marrow-like signal along the axis held both bodies: the thick slices blur the disc).
    "thoracic kyphosis, axial, bodies between anchors": 6,
    # Anchor C5; C3 is the last body in the field (C2's centroid lies within half its height of the
    # field's top): the walk places bodies between two discs, found no disc above C3 in the field,
    # and C3 was not reported.
    "scoliosis, the last body in the field": 14,
    # Anchor L5, no cord region: the cord found behind L5 was the sac, traced over 12.6 mm, and the
    # spine line went on along its tilted tangent; L2-L4 lay 7-15 mm off sideways, T12 and L1 were
    # not reported. A guide that short is not followed (`min_guide_mm`).
    "lumbar scoliosis, a few millimetres of cord behind the anchor": 17,
    # Anchor C4 inside a right haematoma (C3-C4) that pushes the cord 2-4 mm aside: the spine line,
    # the cord shifted by C4's offset from it, runs 6-7 mm off the other bodies and its arc between
    # C3 and C4 is stretched; the autocorrelation within 45 mm of C4 had no peak in the cervical
    # range, no repeat length, no walk, and C2-C7 were not reported, with no warning. Lost when the
    # mass's seed window changed (mass10, 39c9de6): the mass, the cord traced with it as a wall and
    # so the line moved by a millimetre or two. Now the repeat is sought in twice the window.
    "scoliosis, the anchor beside a mass that displaces the cord": 4,
    # Axial 3.4 mm, anchor T7: the walk went on by its last step, clamped to within 0.75-1.3 of the one
    # before; a step taken short (an endplate's dip for the disc) shortened the next, T9 lay 17 mm off
    # and T10-L1 were not reported. The repeat length is read again around each body placed.
    "thoracic, axial thick slices, the walk's steps shrinking": 151,
    # Sagittal 3.4 mm, anchor T12: lumbar steps of 29-31 mm against a repeat of 35-39 mm (the same
    # runaway, downwards), L3 18 mm and L4-L5 42 mm off, one level high.
    "lumbar lordosis, the walk's steps shrinking": 109,
    # Sagittal 2.4 mm, anchor T7 (a held-out seed of the 201-260 run): going up, the repeat re-read around T3
    # was two vertebrae (33 mm, its single peak) against a right step of 19; taken for the step, the
    # walk went on at 33 mm and C6-T1 lay 20-38 mm off, the mass's levels one low. A step agreeing
    # with half the re-read repeat is kept.
    "physiological curves, the re-read repeat two vertebrae": 202,
    # Sagittal 3.0 mm, anchor T2 (held-out): C6, its whole body inside the field's top, was not
    # reported and no warning named it: the disc profile held 15 mm (0.68 of the 22 mm repeat)
    # past the C6-C7 disc, under the 0.8 an edge body needed (`edge_body_cover`).
    "straight, the last body at the field's top": 242,
    # Sagittal 2.2 mm, anchor T12 (held-out, healthy): L5, 145 mm below the cord's end with the line
    # 2.6 mm from its centre, was not reported: past 120 mm of extrapolation the walk stopped. It goes
    # on there while the line's point for the body reads as marrow, and the line runs on past the field.
    "straight, the lumbar column past the 120 mm of extrapolation": 209,
    # Sagittal 3.9 mm, anchor T7, scoliosis 18 degrees: side to side the tissue beside the bodies
    # (235-291) read within the marrow window (344 +- 133); the run of marrow-like samples ran on to
    # the field's edge and C6, T3-T5 stayed where the straight line put them, 5.7-6.6 mm to the side.
    # Across thick slices the reported centres keep the run to the marrow's side of the profile's
    # two-group cut (the disc planes stay on the centres recentred without it).
    "scoliosis, thick sagittal slices, the tissue beside the bodies like marrow": 181,
}


@pytest.mark.parametrize("name", sorted(GENERATED_SPINES))
def test_bodies_of_a_generated_spine_lie_on_their_bodies(name, scene, tmp_path):
    from EMHAssistLib.analysis import analyze
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.outputs.report import to_json
    from spinegen.case import generate, write_case
    from spinegen.judge import judge_bodies

    seed = GENERATED_SPINES[name]
    case = generate(seed, healthy=(seed - 1) % 4 == 0)
    report = to_json(analyze(load_case_folder(write_case(case, tmp_path / f"seed{seed}"), scene)))
    bodies = judge_bodies(report, case.truth, case.spine)
    assert bodies["judged"] >= 5
    assert not bodies["failures"], bodies["failures"]


def test_bodies_above_a_sacral_anchor_with_the_cord_traced_over_a_few_millimetres(scene, tmp_path):
    """Generated seed 9 (healthy, lumbar scoliosis, anchor S1, the field from T12): the cord was traced
    5.1 mm above the conus, and the spine line, that stub shifted by S1's offset from it, passed
    55-79 mm from L1-L4; L2 and L3 were not reported, L4 and L5 lay 53 and 33 mm off. Its L1 (the
    lordosis turns it 19 mm back from L2) and T12 are still off: see docs/spine-sweep.md."""
    from EMHAssistLib.analysis import analyze
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.outputs.report import to_json
    from spinegen.case import generate, write_case
    from spinegen.judge import judge_bodies

    case = generate(9, healthy=True)
    report = to_json(analyze(load_case_folder(write_case(case, tmp_path / "seed9"), scene)))
    failed = {failure["level"] for failure in judge_bodies(report, case.truth, case.spine)["failures"]}
    assert not failed & {"L2", "L3", "L4", "L5"}, failed


def test_bodies_beside_the_cord_from_an_anchor_beyond_its_end(scene, tmp_path):
    """Generated seed 51 (scoliotic, sagittal 4 mm, anchor C3 73 mm above the top of the cord traced
    from T3 to C7): the line, the cord shifted by C3's offset from the cord's top, ran 9-11 mm behind
    C6-T3 (the offset held the lordosis between them), and C2 and C6-T4 were not reported (2 of 9
    within 5 mm). The shift is now read from the image in front of the cord's end (within 1.2 mm of
    C4-T2). Its C7 lies 6.4 mm from its centroid, inside the body (its height off, another cause):
    one failure is allowed."""
    from EMHAssistLib.analysis import analyze
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.outputs.report import to_json
    from spinegen.case import generate, write_case
    from spinegen.judge import judge_bodies

    case = generate(51, healthy=False)
    report = to_json(analyze(load_case_folder(write_case(case, tmp_path / "seed51"), scene)))
    bodies = judge_bodies(report, case.truth, case.spine)
    assert bodies["judged"] == 9
    assert bodies["within"] >= 8, bodies["failures"]


def test_a_body_recentred_along_the_spine_stays_off_its_neighbour(scene, tmp_path):
    """Generated seed 16 (axial 3.8 mm, anchors T3, T4 and T8): the walk put C6 3.6 mm from its
    centroid; recentred along the spine it went 12 mm up, 4.2 mm from C5's centre (15.5 mm off its
    own). A middle more than half a repeat length from where the walk placed a body is the
    neighbour's (`max_along_repeats`). Lost with mass10's seed window (39c9de6), which moved the
    traced cord and so the line the bodies are recentred from. C2 and C3 are misplaced by the walk itself (its C2-C3
    step 13 mm against 18), not by the recentring: see docs/spine-sweep.md."""
    from EMHAssistLib.analysis import analyze
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.outputs.report import to_json
    from spinegen.case import generate, write_case
    from spinegen.judge import judge_bodies

    case = generate(16, healthy=False)
    report = to_json(analyze(load_case_folder(write_case(case, tmp_path / "seed16"), scene)))
    failed = {failure["level"] for failure in judge_bodies(report, case.truth, case.spine)["failures"]}
    assert not failed & {"C4", "C5", "C6", "C7", "T1", "T2", "T5", "T6", "T7"}, failed


def _named_not_found(warnings: list[str]) -> set[str]:
    """The levels the report's warnings say were not found ("C7 not found", "T9\u2013T12 not found")."""
    import re

    named = set()
    for first, last in re.findall(r"([CTLS]\d+)(?:\u2013([CTLS]\d+))? not found", " ".join(warnings)):
        named.update(vertebrae.name_of(code) for code in range(vertebrae.code_of(first), vertebrae.code_of(last or first) + 1))
    return named


def test_a_level_the_field_holds_but_detection_did_not_place_is_named_in_a_warning(scene, tmp_path):
    """Generated seed 59 (anchors T5, T6 and T9, no cord region, sagittal 1.1 mm): the walk up from T5
    found no disc above T1, and C7, whose whole body the field holds, was left out of the report
    without a word. Every body the judge finds not reported must be named as not found. Seed 59's C7
    is placed since the edge body needs 0.6 of a repeat in the field, not 0.8 (session 17); seed 53's
    T8, above the 120 mm of extrapolation, since the walk goes on there where the line lies in marrow
    (session 18); seed 176 (anchor T7, no cord region, sagittal 3.9 mm, scoliosis) still leaves C6 and
    C7 out: above T1 the line is extrapolated more than 120 mm and has left the column."""
    from EMHAssistLib.analysis import analyze
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.outputs.report import to_json
    from spinegen.case import generate, write_case
    from spinegen.judge import judge_bodies

    case = generate(176, healthy=False)
    report = to_json(analyze(load_case_folder(write_case(case, tmp_path / "seed176"), scene)))
    unreported = {failure["level"] for failure in judge_bodies(report, case.truth, case.spine)["failures"] if failure["problem"] == "not reported"}
    assert unreported  # the case still shows what the warning is for
    assert unreported <= _named_not_found(report["warnings"]), report["warnings"]


def test_levels_without_a_cord_come_from_the_level_points_and_the_image(scene, tmp_path):
    """Generated seed 106 (a posterior metastasis at T7-T8 narrowing the cord, no cord region, anchor
    T8, oblique sagittal 3.1 mm): no cord is found behind T8, and the report had no levels at all
    ("vertebral levels and cord compression are not assessed"). The bodies and the mass's levels are
    read from the level point and the image alone; the compression is said not assessed at every
    level, in the section, its profile and the warnings, never reported absent."""
    from EMHAssistLib.analysis import analyze
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.outputs.report import to_json
    from EMHAssistLib.outputs.wording import summary_line
    from spinegen.case import generate, write_case
    from spinegen.judge import judge_case

    case = generate(106, healthy=False)
    typed = analyze(load_case_folder(write_case(case, tmp_path / "seed106"), scene))
    report = to_json(typed)
    outcome = judge_case(report, case.truth, case.spine)
    assert outcome["bodies"]["judged"] >= 5 and not outcome["bodies"]["failures"], outcome["bodies"]
    assert outcome["mass_exact"], outcome["mass_levels"]
    levels = report["levels"]
    assert levels["compression"] is None and levels["cord"] is None
    named = [vertebra["name"] for vertebra in levels["vertebrae"]]
    assert levels["not_assessed"]["levels"]["from"] == named[0] and levels["not_assessed"]["levels"]["to"] == named[-1]
    assert [row["level"] for row in levels["cord_profile"]] == named and not any(row["assessed"] for row in levels["cord_profile"])
    assert any(warning.startswith(f"cord compression not assessed at {named[0]}\u2013{named[-1]}") for warning in report["warnings"]), report["warnings"]
    assert not outcome["silent"]
    assert summary_line(typed.levels).endswith(f"compression not assessed {named[0]}\u2013{named[-1]}")



def test_without_a_cord_the_line_runs_through_the_level_points_in_order(scene, tmp_path):
    """Generated seed 41 (healthy, lumbar lordosis and scoliosis, anchors L3, L4 and L5, a cord region
    drawn over the cauda equina that the tracker cannot follow): with no cord the spine line was
    straight through the first and last points, and L2 and S1, beyond the bend, were placed 17 and
    20 mm off (12 and 17 mm in front of their bodies). Through the points in order and on along the
    leg to each end point, they are within 5 mm."""
    from EMHAssistLib.analysis import analyze
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.outputs.report import to_json
    from spinegen.case import generate, write_case
    from spinegen.judge import judge_bodies

    case = generate(41, healthy=True)
    report = to_json(analyze(load_case_folder(write_case(case, tmp_path / "seed41"), scene)))
    failed = {failure["level"] for failure in judge_bodies(report, case.truth, case.spine)["failures"]}
    assert not failed & {"L2", "S1"}, failed


def test_the_walk_from_t12_down_seeks_a_lumbar_repeat(scene, tmp_path):
    """Held-out generated seed 257 (healthy, body scale 1.09, sagittal 3.9 mm, anchor T12 near the field's
    top): the column repeats every 34-43 mm around and below T12; the first repeat length was sought
    in the thoracic range alone (up to 38 mm), none was found and L1-S1 were not reported (0 of 5
    within 5 mm). The first step from T12 down is sought in the thoracic and lumbar ranges together.
    L3-L5, where the straight line past the conus leaves the lordosis by 15-37 mm, are still not
    found: see docs/spine-sweep.md."""
    from EMHAssistLib.analysis import analyze
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.outputs.report import to_json
    from spinegen.case import generate, write_case
    from spinegen.judge import judge_bodies

    case = generate(257, healthy=True)
    report = to_json(analyze(load_case_folder(write_case(case, tmp_path / "seed257"), scene)))
    failed = {failure["level"] for failure in judge_bodies(report, case.truth, case.spine)["failures"]}
    assert not failed & {"L1", "L2"}, failed


def test_the_labelled_bodies_marrow_is_read_once_for_a_level_map(monkeypatch):
    """The labelled bodies' marrow signal (a cube read at every anchor) was read three times for each
    level map: for the walk past `max_extrapolation_mm` (built on every map, though most walks never
    go that far), for placing the bodies on the image and for keeping the edge bodies (issue 13 point
    7: the map is rebuilt on every mass-ROI move). It is read once, when first needed; the map is the same."""
    image, centres, guide = bent_column(4.0)
    anchors = [levels.Vertebra(name, vertebrae.code_of(name), centres[name], "user") for name in ("T6", "T7")]
    reads = []
    marrow_signal = levels._marrow_signal

    def counted(points: list[np.ndarray], image: SequenceImage) -> levels.MarrowSignal | None:
        reads.append(any(point is anchor.centre for point in points for anchor in anchors))
        return marrow_signal(points, image)

    monkeypatch.setattr(levels, "_marrow_signal", counted)
    found = levels.build_level_map(anchors, image, guide).vertebrae
    assert sum(reads) == 1
    assert [v.name for v in found] == ["T4", "T5", "T6", "T7", "T8", "T9", "T10"]
