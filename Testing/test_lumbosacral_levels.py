"""Levels below the thoracic spine: the spine line past the cord's end (the conus), detection into the
lumbar spine and the sacrum, and where it must stop rather than name levels that are not there.

The image is a straight column of bodies 30 mm apart (24 mm bodies, 6 mm discs) filling a 400 mm
field; the cord, the guide, ends at z = 200 mm, as a conus ends inside a whole-spine field.
"""

import numpy as np
import pytest

from EMHAssistLib.geometry import Grid
from EMHAssistLib.inputs.plain import SequenceImage
from EMHAssistLib.inputs.study import RegionSource
from EMHAssistLib.outputs.wording import level_finding_text
from EMHAssistLib.spine import levels, masses
from EMHAssistLib.spine.cord import Centreline
from EMHAssistLib.spine.findings import LevelFindingCode, WalkStopReason
from EMHAssistLib.spine.vertebrae import code_of

PERIOD_MM, DISC_MM = 30.0, 6.0
BODY_X, BODY_Y = 20.0, 50.0
CORD_Y, CONUS_Z = 25.0, 200.0
L1_Z = 215.0  # body centres at L1_Z - 30 n


def column_image(forward_below: tuple[float, float] = (0.0, 0.0)) -> SequenceImage:
    """The column; `forward_below` (z, mm): the bodies below that height moved that far in front, as a
    column that leaves the straight line past the conus."""
    k, j, i = np.mgrid[0:400, 0:100, 0:40].astype(np.float32)
    image = np.full(k.shape, 200.0, dtype=np.float32)
    below, forward = forward_below
    in_column = (np.abs(i - BODY_X) <= 10) & (np.abs(j - BODY_Y - np.where(k < below, forward, 0.0)) <= 12)
    phase = np.abs(((k - L1_Z) % PERIOD_MM) - PERIOD_MM / 2)  # 0 at a disc centre, 15 at a body centre
    image[in_column] = np.where(phase[in_column] < DISC_MM / 2, 100.0, 400.0)
    return SequenceImage("T2", Grid(image.shape, np.eye(4)), image)


def cord_guide() -> Centreline:
    z = np.arange(CONUS_Z, 400.0)
    points = np.stack([np.full_like(z, BODY_X), np.full_like(z, CORD_Y), z], axis=1)
    return Centreline(z.astype(int), points, np.tile([0.0, 0.0, 1.0], (len(z), 1)))


def body(name: str, source: str = "user") -> levels.Vertebra:
    z = L1_Z - PERIOD_MM * (code_of(name) - code_of("L1"))
    return levels.Vertebra(name, code_of(name), np.array([BODY_X, BODY_Y, z]), source)


def names_and_heights(level_map: levels.LevelMap) -> list[tuple[str, float]]:
    return [(v.name, round(float(v.centre[2]), 1)) for v in level_map.vertebrae]


def test_detection_past_the_conus_goes_on_while_the_line_runs_in_the_bodies():
    """Beyond max_extrapolation_mm a body is taken where the straight line's point for it lies in
    marrow like the labelled body's: S1, 135 mm below the cord's end on this straight column, is
    placed, and the walk stops at the fused sacrum (generated seeds 209, 53 and 88 lost L5, T8 and C3
    at the limit with the line within 3 mm of them)."""
    level_map = levels.build_level_map([body("L1")], column_image(), cord_guide())
    found = names_and_heights(level_map)
    assert found[-6:] == [("L1", 215.0), ("L2", 185.0), ("L3", 155.0), ("L4", 125.0), ("L5", 95.0), ("S1", 65.0)]
    (finding,) = level_map.warnings
    assert (finding.code, finding.stop.reason, finding.after) == (LevelFindingCode.WALK_STOPPED, WalkStopReason.FUSED, "S1")


def test_detection_past_the_conus_stops_where_the_line_is_a_long_extrapolation_off_the_column_and_says_so():
    # The sacrum 30 mm in front of the straight line: its point for S1 lies in soft tissue.
    level_map = levels.build_level_map([body("L1")], column_image(forward_below=(80.0, 30.0)), cord_guide())
    found = names_and_heights(level_map)
    # L2-L5 lie 15-105 mm below the cord's end; S1, 135 mm below, is not taken though the image goes on.
    assert found[-5:] == [("L1", 215.0), ("L2", 185.0), ("L3", 155.0), ("L4", 125.0), ("L5", 95.0)]
    # Up to the top of the field: T7's body (383-407 mm) is two thirds inside the 400 mm field, its centre
    # (395 mm) in it, so it is placed (data/levels.json edge_body_cover: 0.6 of a repeat at the field's edge).
    assert found[:6] == [("T7", 395.0), ("T8", 365.0), ("T9", 335.0), ("T10", 305.0), ("T11", 275.0), ("T12", 245.0)]
    (finding,) = level_map.warnings
    assert (finding.code, finding.stop.reason, finding.after, finding.missing) == (LevelFindingCode.LEVELS_MISSED, WalkStopReason.EXTRAPOLATED, "L5", ("S1",))
    warning = level_finding_text(finding)
    assert warning.startswith("level detection stopped below L5: farther on the spine line is extrapolated more than 120 mm")
    # S1, the last level the walk may name here (the sacrum below it is fused), lies whole in the field:
    # named as not found. T6, above T7, lies beyond the field's top edge: not named.
    assert "; S1 not found, though the field of view holds it;" in warning


def test_labelled_lumbar_and_sacral_points_name_the_levels_between_and_detection_stops_at_the_fused_sacrum():
    level_map = levels.build_level_map([body("L1"), body("S1")], column_image(), cord_guide())
    found = {name: (z, v.source) for (name, z), v in zip(names_and_heights(level_map), level_map.vertebrae)}
    assert [found[name] for name in ("L2", "L5", "S1")] == [(185.0, "interpolated"), (95.0, "interpolated"), (65.0, "user")]
    assert "S2" not in found  # the column has a disc below S1, a sacrum would not
    (finding,) = level_map.warnings
    assert (finding.code, finding.stop.reason, finding.after) == (LevelFindingCode.WALK_STOPPED, WalkStopReason.FUSED, "S1")
    assert level_finding_text(finding).startswith("level detection stopped below S1: the sacral segments are fused")
    # A mass in front of L5 and S1 belongs to those levels, though no cord runs there.
    mass = np.array([[BODY_X, BODY_Y + 20.0, z] for z in np.arange(55.0, 105.0)])
    assert [v.name for v in level_map.involved(mass, 0.25)] == ["L5", "S1"]


def test_an_s1_anchor_alone_names_the_lumbar_levels_above_it():
    level_map = levels.build_level_map([body("S1")], column_image(), cord_guide())
    found = names_and_heights(level_map)
    assert [name for name, _ in found][-6:] == ["L1", "L2", "L3", "L4", "L5", "S1"]
    assert all(z == L1_Z - PERIOD_MM * (code_of(name) - code_of("L1")) for name, z in found)
    assert level_finding_text(level_map.warnings[0]).startswith("level detection stopped below S1: the sacral segments are fused")


def test_the_spine_line_runs_through_labelled_bodies_beyond_the_cord_as_the_spine_bends():
    # Bodies 20 mm in front of a straight cord, then bending backwards below its end, as lumbar
    # lordosis and the sacrum do.
    beside = [levels.Vertebra(name, code_of(name), np.array([BODY_X, CORD_Y + 20.0, z]), "user") for name, z in (("T12", 300.0), ("L1", 260.0))]
    bent = [levels.Vertebra(name, code_of(name), np.array([BODY_X, y, z]), "user") for name, y, z in (("L4", 35.0, 150.0), ("S1", 20.0, 70.0))]
    line = levels.SpineLine.through(beside + bent, cord_guide())
    for anchor in beside + bent:
        assert np.min(np.linalg.norm(line.points - anchor.centre, axis=1)) < 0.5, anchor.name
    # Anchored down to S1; beyond it the line runs straight on along the last leg, L4 to S1.
    s1_arc = line.anchored[0]
    np.testing.assert_allclose(line.at(s1_arc), bent[1].centre, atol=0.05)
    assert line.extrapolated_mm(s1_arc + 1.0) == 0.0 and line.extrapolated_mm(s1_arc - 40.0) == pytest.approx(40.0)
    direction = line.at(s1_arc - 40.0) - bent[1].centre
    np.testing.assert_allclose(direction / np.linalg.norm(direction), (bent[1].centre - bent[0].centre) / np.linalg.norm(bent[1].centre - bent[0].centre), atol=1e-6)


def test_without_anchors_past_the_cord_the_line_continues_straight_from_its_end():
    line = levels.SpineLine.through([body("T12"), body("L1")], cord_guide())
    below = line.points[line.arc < line.arc_of(np.array([BODY_X, BODY_Y, CONUS_Z]))]
    np.testing.assert_allclose(below[:, :2], np.tile([BODY_X, BODY_Y], (len(below), 1)), atol=1e-9)
    assert line.extrapolated_mm(line.arc[0]) == 400.0


def test_a_sacral_mass_grows_along_the_labelled_bodies_past_the_cords_straight_continuation(scene):
    # A mass in front of S1-S2 (z 40-90 mm, 14-28 mm in front of the bodies' centre line), beyond
    # the 45 mm the growth keeps to around the cord centreline continued straight from the conus.
    column = column_image()
    k, j, i = np.indices(column.voxels.shape)
    in_mass = (np.abs(i - BODY_X) <= 8) & (j >= 64) & (j <= 78) & (k >= 40) & (k <= 90)
    voxels = np.where(in_mass, np.float32(600.0), column.voxels)
    image = SequenceImage("T2", column.grid, voxels)
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "mass")
    roi.SetCenter(BODY_X, 71.0, 65.0)
    roi.SetSize(6.0, 6.0, 10.0)
    anchors = [body("L1"), body("S1")]
    past_cord = levels.spine_past_cord(anchors, cord_guide())
    assert np.min(np.linalg.norm(past_cord - body("S1").centre, axis=1)) < 1.0  # every millimetre down to S1
    grown = masses.segment_mass([RegionSource(roi).outline()], [image], image, None, cord_guide(), None, past_cord)
    assert grown.mask.sum() == in_mass.sum()
    straight_only = masses.segment_mass([RegionSource(roi).outline()], [image], image, None, cord_guide())
    assert straight_only.mask.sum() < 0.8 * in_mass.sum()


def test_a_mass_is_placed_around_the_cord_by_its_part_alongside_the_cord():
    # Behind the cord at z 260-320 mm (posterior epidural), and a larger presacral part far below the
    # cord's end at z 40-100 mm, in front of the bodies: only the first lies around a cord.
    grid = column_image().grid
    k, j, i = np.indices(grid.shape)
    behind = (np.abs(i - BODY_X) <= 3) & (j >= CORD_Y - 9) & (j <= CORD_Y - 5) & (k >= 260) & (k <= 320)
    presacral = (np.abs(i - BODY_X) <= 10) & (j >= 64) & (j <= 78) & (k >= 40) & (k <= 100)
    assert presacral.sum() > 3 * behind.sum()
    mass = masses.MassSegment(grid, behind | presacral, given=True)
    assert masses.position(mass, cord_guide()) == "posterior_epidural"
    assert masses.position(masses.MassSegment(grid, behind, given=True), cord_guide()) == "posterior_epidural"
