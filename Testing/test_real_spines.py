"""Vertebral body centres on real MRI judged in 3-D, not by height alone (issue 13, point 6).

Each study is analysed as a user would set it up: the T2 volume, a cord ROI on the cord and one
labelled point on one body; `compression.assess` then reports every body it finds. Each body the
truth knows must have a reported centre within 5 mm (3-D) of its own centre, up to 8 levels from
the anchor (issue 13, point 1), and where the truth is a mask, inside the body. Positions are
matched by nearness, not by name: the names of two of these studies are uncertain by a level.

Truth: SCT's cervical `t2` and lumbar `t2_lumbar` carry no 3-D body centres (SCT's
`t2_labeled_center_manual` points lie in the cord at each body's mid-height), so their centres were
read by eye in 3-D (`Testing/data/real_spine_body_centres.json`, with how); TPTBox's sample has
vertebra and sub-region masks, whose body voxels give centroids. SCT's per-slice level checks
against `t2_seg-manual_labeled` and the `t2_lumbar` height checks stay in `test_levels.py`.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from EMHAssistLib.analysis import read_sequences
from EMHAssistLib.geometry import Box, Grid
from EMHAssistLib.inputs.casefolder import read_volume
from EMHAssistLib.inputs.nodes import sequence_image
from EMHAssistLib.outputs.scene_writing import set_roi_box, set_segment_mask
from EMHAssistLib.inputs.plain import SequenceImage
from EMHAssistLib.inputs.study import RegionSource, Study, spine_inputs
from EMHAssistLib.outputs.wording import finding_text
from EMHAssistLib.spine import compression

READINGS = json.loads((Path(__file__).parent / "data" / "real_spine_body_centres.json").read_text())["studies"]
TOLERANCE_MM = 5.0  # issue 13, point 1: every reported body centre within 5 mm (3-D) of the body's centroid
MOST_LEVELS_FROM_ANCHOR = 8
CORD_BOX_HALF_MM = (2.0, 2.0, 5.0)  # a cord ROI 4 x 4 x 10 mm on the cord, as a user draws a tight one
TPTBOX_BODY = 49  # sub-region label of the vertebral body (TPTBox's convention: 41-48 the posterior parts)
TPTBOX_CORD = 60
TPTBOX_VERTEBRAE = (5, 6, 7)
# The instance labels say C5-C7, but the bodies are about 30 mm tall with thick discs between them and
# the cord ends in a conus at the top of vertebra 7's body (thoraco-lumbar): the anchor is named as the
# body that commonest conus level makes it (7 = L1), and positions are judged, not names.
TPTBOX_NAMES = {5: "T11", 6: "T12", 7: "L1"}


def cord_roi(scene, centre: np.ndarray) -> RegionSource:
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "cord")
    set_roi_box(roi, Box(np.asarray(centre, dtype=float), np.eye(3), np.array(CORD_BOX_HALF_MM)))
    return RegionSource(roi)


def cord_segment(scene, mask: np.ndarray, grid: Grid) -> RegionSource:
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "cord segmentation")
    segment_id = segmentation.GetSegmentation().AddEmptySegment("cord", "cord")
    set_segment_mask(segmentation, segment_id, mask, grid)
    return RegionSource(segmentation, segment_id)


def assessed(scene, volume, cord: RegionSource, anchor: str, anchor_centre: np.ndarray) -> compression.LevelsOutcome:
    """The levels step's outcome for one anchor point and the cord region."""
    points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "levels")
    points.AddControlPointWorld(*anchor_centre, anchor)
    study = Study("real", {"T2": volume}, {"cord": [cord]}, points)
    outcome = compression.assess(spine_inputs(study), read_sequences(study))
    assert outcome.levels is not None, outcome.warnings
    return outcome


def reported_centres(scene, volume, cord: RegionSource, anchor: str, anchor_centre: np.ndarray) -> dict[str, np.ndarray]:
    """Body centres (world RAS) the levels step reports for one anchor point and the cord region."""
    outcome = assessed(scene, volume, cord, anchor, anchor_centre)
    return {vertebra.name: np.array(vertebra.centre) for vertebra in outcome.levels.vertebrae}


def misplaced(truth: dict[str, np.ndarray], reported: dict[str, np.ndarray], anchor: str) -> dict[str, float | None]:
    """Each true body but the anchor's with its distance (mm) to the nearest reported centre, where that
    exceeds the tolerance or no centre was reported (None); nearness, not names, pairs them."""
    order = list(truth)
    far = {}
    for name, centre in truth.items():
        if name == anchor or abs(order.index(name) - order.index(anchor)) > MOST_LEVELS_FROM_ANCHOR:
            continue
        distance = min((float(np.linalg.norm(found - centre)) for found in reported.values()), default=None)
        if distance is None or distance > TOLERANCE_MM:
            far[name] = None if distance is None else round(distance, 1)
    return far


def read_by_eye(scene, shared_data: Path, study: str) -> tuple[object, SequenceImage, dict[str, np.ndarray]]:
    reading = READINGS[study]
    volume = read_volume(shared_data / reading["file"], "T2", scene)
    image = sequence_image("T2", volume)
    centres = {name: image.grid.to_world(np.array([ijk], dtype=float))[0] for name, ijk in reading["bodies"].items()}
    return volume, image, centres


def cord_centre_of(mask: np.ndarray, image: SequenceImage) -> np.ndarray:
    """Where a user would put a tight cord ROI: the centroid of the third of the cord's height that
    holds most of its voxels (away from a conus's taper, where a 4 mm box is mostly CSF)."""
    points = image.grid.to_world(np.argwhere(mask)[:, ::-1].astype(float))
    height = points[:, 2]
    third = np.minimum(((height - height.min()) / (np.ptp(height) + 1e-9) * 3).astype(int), 2)
    return points[third == np.bincount(third, minlength=3).argmax()].mean(axis=0)


# ---------------------------------------------------------------------------------------------
# SCT t2 (cervical, 1 mm): centres read by eye, the cord ROI on SCT's manual cord segmentation


@pytest.fixture(scope="module")
def sct_t2(shared_data):
    from EMHAssistLib.inputs.scene import new_headless_scene

    scene = new_headless_scene()
    volume, image, centres = read_by_eye(scene, shared_data, "sct_t2")
    cord = sequence_image("cord", read_volume(shared_data / "sct_testing_data" / "t2" / "t2_seg-manual.nii.gz", "cord", scene))
    return scene, volume, centres, cord_centre_of(cord.voxels > 0, cord)


def test_sct_t2_reading_puts_the_bodies_in_front_of_sct_cord_points(shared_data, sct_t2):
    # The reading's heights are SCT's points' heights and its centres lie 14-18 mm in front of them:
    # SCT's points are in the cord, so a test against them in 3-D would ask for centres in the cord.
    _, _, centres, _ = sct_t2
    sct_points = {"C3": [-7.2, 0.8, 24.7], "C4": [-7.2, 0.8, 6.7], "C5": [-7.2, -0.2, -10.3]}  # t2_labeled_center_manual, RAS
    for name, point in sct_points.items():
        offset = centres[name] - np.array(point)
        assert abs(offset[2]) <= 0.5 and 14.0 <= offset[1] <= 18.0 and abs(offset[0]) <= 2.0, (name, offset)


def not_yet(measured: str, on: str | None = None):
    """A case the engine still fails (issue 13, point 1), with what was measured; strict, so that the
    mark must go when it passes."""
    return pytest.mark.xfail(strict=True, reason=f"issue 13 point 1, measured on {on or f'commit {MEASURED_ON}'}: {measured}")


MEASURED_ON = "0113256"


@pytest.mark.parametrize("anchor", [
    pytest.param("C3", marks=not_yet("no body but the anchor reported ('only one vertebra could be placed')")),
    "C4",  # passes since the last body in the field is placed past the last disc (2026-12-06)
    "C5",  # passes since the bodies are recentred outwards from the anchor (2026-12-06)
])
def test_sct_t2_body_centres_in_3d_from_one_anchor(sct_t2, anchor):
    scene, volume, centres, cord_centre = sct_t2
    reported = reported_centres(scene, volume, cord_roi(scene, cord_centre), anchor, centres[anchor])
    assert misplaced(centres, reported, anchor) == {}, reported


def test_sct_t2_no_level_beyond_the_field_is_named_as_held(sct_t2):
    """From a C5 point C3 and C4 are found and the walk stops above C3, at the field's top (35.2 mm,
    10.5 mm above C3's centre: only C3's upper disc, not C2's body). The warning said "C2 not found,
    though the field of view holds it": the field was measured to its farthest corner along the
    column, 20.4 mm past the C3 found, the field being 60 mm front to back."""
    scene, volume, centres, cord_centre = sct_t2
    outcome = assessed(scene, volume, cord_roi(scene, cord_centre), "C5", centres["C5"])
    worded = [finding_text(finding) for finding in outcome.warnings]
    assert not [warning for warning in worded if "not found" in warning], worded


# ---------------------------------------------------------------------------------------------
# SCT t2_lumbar (lower thoracic and lumbar, 1 mm, no labels): centres read by eye


LUMBAR_CORD_IJK = (23, 71, 150)  # on the cord at T12, as in test_levels.py


@pytest.fixture(scope="module")
def lumbar(shared_data):
    from EMHAssistLib.inputs.scene import new_headless_scene

    scene = new_headless_scene()
    volume, image, centres = read_by_eye(scene, shared_data, "sct_t2_lumbar")
    return scene, volume, centres, image.grid.to_world(np.array([LUMBAR_CORD_IJK], dtype=float))[0]


# The cord tracer now ends at the conus (k = 118): with the cord window fixed at the cord region it
# went on 37 mm down the nerve roots and the thecal sac (to k = 81, sections of 70-100 mm2 against
# the cord's 45), and the spine line below the cord followed that sac's curve. Beyond the cord's end
# the line now runs straight on (levels.SpineLine), off the lordosis: issue 13 point 1's "levels
# follow the column's own curve, found from the image", not the cord tracer's to fake.
# Measured again on branch bodies8 (bodies recentred head to foot, 2026-12-06): what is left is
# left-right. From T12 the reported L2 and L3 lie 5.2 and 7.7 mm left of the reading, and from L3
# T12 and L1 7.7 and 4.9 mm right of it, within 2.8 mm front-to-back and head-foot (T11 and L1
# anchors not broken down). The 38 mm sagittal slab is narrower than the bodies from L1 down (at
# L2's height the marrow runs to the slab's edge at i = 37), so the side-to-side run has no middle
# and recentring keeps the line's left-right position (the cord's, shifted by the anchor's offset),
# while the reading takes there the thecal sac's midline, about 3 mm uncertain (its JSON says so).
SIDEWAYS = "bodies8 (the bodies' left-right middle outside the 38 mm slab)"


@pytest.mark.parametrize("anchor", [
    pytest.param("T11", marks=not_yet("L2 6.4 mm, L3 8.4 mm from the reading", SIDEWAYS)),
    pytest.param("T12", marks=not_yet("L2 5.8 mm, L3 7.8 mm from the reading", SIDEWAYS)),
    pytest.param("L1", marks=not_yet("L3 5.3 mm", SIDEWAYS)),
    "L2",  # passes since bodies are recentred head to foot too (2026-12-06)
    # Passes since the cord is shifted onto the bodies by the image in front of its end where every
    # labelled point lies beyond it (walk16, 2026-12-07): L3 lies below the conus, and its offset
    # from the cord's end held the lordosis between them; T11-L2 were 1.6, 8.2, 5.6, 3.2 mm off, now 1.6-1.8.
    "L3",
])
def test_lumbar_body_centres_in_3d_from_one_anchor(lumbar, anchor):
    scene, volume, centres, cord_centre = lumbar
    reported = reported_centres(scene, volume, cord_roi(scene, cord_centre), anchor, centres[anchor])
    assert misplaced(centres, reported, anchor) == {}, reported


# ---------------------------------------------------------------------------------------------
# TPTBox's sample (1.5 mm, vertebra instance and sub-region masks): body centroids from the masks


@pytest.fixture(scope="module")
def tptbox(shared_data):
    from EMHAssistLib.inputs.scene import new_headless_scene

    scene = new_headless_scene()
    folder = shared_data / "tptbox_sample_mri"
    volume = read_volume(folder / "sub-mri_label-6_T2w.nii.gz", "T2", scene)
    image = sequence_image("T2", volume)
    vertebrae = sequence_image("vert", read_volume(folder / "sub-mri_seg-vert_label-6_msk.nii.gz", "vert", scene)).voxels
    parts = sequence_image("subreg", read_volume(folder / "sub-mri_seg-subreg_label-6_msk.nii.gz", "subreg", scene)).voxels
    bodies = {label: (vertebrae == label) & (parts == TPTBOX_BODY) for label in TPTBOX_VERTEBRAE}
    centroids = {label: image.grid.to_world(np.argwhere(mask)[:, ::-1].astype(float)).mean(axis=0) for label, mask in bodies.items()}
    return scene, volume, image, bodies, centroids, cord_segment(scene, parts == TPTBOX_CORD, image.grid)


def whole_in_view(mask: np.ndarray) -> bool:
    """Whether a body mask stays off the array's faces (a body the field cuts has no true centroid in it)."""
    return not any(np.take(mask, index, axis=axis).any() for axis in range(3) for index in (0, -1))


def test_tptbox_only_the_middle_body_is_whole_in_view(tptbox):
    # The field of view (78 mm high) cuts the top of vertebra 5's body and the bottom of 7's, so only
    # 6 has a true centroid; 5 and 7 are judged by whether the centre found for them lies inside them.
    _, _, _, bodies, _, _ = tptbox
    assert [label for label, mask in bodies.items() if whole_in_view(mask)] == [6]


@pytest.mark.parametrize("anchor", [
    pytest.param(5, marks=not_yet("one body found below it, between 6 and 7 (18.8 and 18.7 mm from their centroids), inside neither")),
    pytest.param(6, marks=not_yet("no body but the anchor reported")),
    pytest.param(7, marks=not_yet("vertebra 6's centre found inside its body but 6.2 mm from its centroid; none found in 5")),
])
def test_tptbox_body_centres_in_3d_from_one_anchor(tptbox, anchor):
    scene, volume, image, bodies, centroids, cord = tptbox
    reported = reported_centres(scene, volume, cord, TPTBOX_NAMES[anchor], centroids[anchor])
    wrong = {}
    for label, mask in bodies.items():
        if label == anchor:
            continue
        nearest = min(reported.values(), key=lambda centre: np.linalg.norm(centre - centroids[label]))
        distance = round(float(np.linalg.norm(nearest - centroids[label])), 1)
        i, j, k = np.rint(image.grid.to_ijk(nearest[None])[0]).astype(int)
        inside = bool(mask[k, j, i]) if np.all((0 <= np.array([i, j, k])) & (np.array([i, j, k]) < image.grid.size_ijk)) else False
        if not inside or (whole_in_view(mask) and distance > TOLERANCE_MM):
            wrong[label] = {"mm to its centroid": distance, "inside the body": inside}
    assert wrong == {}, reported
