"""The spine stage's tuning numbers that were inline literals (issue 16 point 5) are read from
data/levels.json: changing the setting changes what the code does, and the shipped value is the one the
literal was (test_goldens shows every built-in output unchanged)."""

from dataclasses import replace
from types import ModuleType

import numpy as np
import pytest
from EMHAssistLib.geometry import Box, Grid
from EMHAssistLib.inputs.plain import Outline, SequenceImage
from EMHAssistLib.settings import spine_settings
from EMHAssistLib.spine import cord, levels, masses


def _changed(monkeypatch: pytest.MonkeyPatch, module: ModuleType, section: str, **values: object) -> None:
    """`module` reads data/levels.json with `values` in its `section` instead of the shipped ones."""
    shipped = spine_settings()
    changed = replace(shipped, **{section: replace(getattr(shipped, section), **values)})
    monkeypatch.setattr(module, "spine_settings", lambda: changed)


def test_the_shipped_values_are_the_literals_they_replace():
    detection, cord_settings = spine_settings().detection, spine_settings().cord
    assert (cord_settings.seed_split_min_voxels, cord_settings.flat_seed_spread, cord_settings.near_reach_min, cord_settings.seed_block_margin_voxels) == (8, 0.05, 0.25, 12)
    assert (detection.direction_baseline_mm, detection.profile_samples, detection.period_least_repeats) == (2.0, (3, 5), (2.0, 1.5))
    assert (detection.next_disc_repeats, detection.edge_body_min_spacing, detection.disc_window_min_cover) == (1.5, 0.5, 0.6)
    assert spine_settings().mass.first_search_margin_voxels == 8


def test_a_cord_region_is_split_from_csf_only_above_the_least_voxels(monkeypatch):
    values = np.array([100.0, 100.0, 100.0, 101.0, 300.0, 300.0])  # four of cord, two of CSF
    assert cord._without_csf(values, 300.0, True).all()  # six voxels: under 8, all read as cord
    _changed(monkeypatch, cord, "cord", seed_split_min_voxels=4)
    assert cord._without_csf(values, 300.0, True).tolist() == [True] * 4 + [False] * 2


def test_the_cord_windows_flat_spread_and_least_reach_are_settings(monkeypatch):
    flat = np.full(20, 100.0)  # robust SD 0; the CSF 100 above it
    assert cord._cord_window(flat, 200.0, True).low == pytest.approx(75.0)  # the least reach, 0.25 of 100
    _changed(monkeypatch, cord, "cord", near_reach_min=0.1)
    assert cord._cord_window(flat, 200.0, True).low == pytest.approx(85.0)  # 3 SD of 5 % of 100
    _changed(monkeypatch, cord, "cord", flat_seed_spread=0.5)
    assert cord._cord_window(flat, 200.0, True).low == pytest.approx(70.0)  # 3 SD of 50, held to far_reach_max 0.3


def test_the_seed_block_grows_in_plane_by_its_setting(monkeypatch):
    seed = np.array([[5, 50, 50], [6, 52, 52]])
    assert cord._seed_block(seed, (20, 200, 200)) == (slice(5, 7), slice(38, 65), slice(38, 65))
    _changed(monkeypatch, cord, "cord", seed_block_margin_voxels=4)
    assert cord._seed_block(seed, (20, 200, 200)) == (slice(5, 7), slice(46, 57), slice(46, 57))


def test_the_spine_lines_direction_is_read_across_its_baseline(monkeypatch):
    arc = np.arange(-50.0, 51.0)
    line = levels.SpineLine(arc, np.stack([np.zeros_like(arc), 1e-3 * arc**3, arc], axis=1))  # a chord's slope: 1e-3 (3 a^2 + b^2)
    assert line.direction_at(10.0)[1] / line.direction_at(10.0)[2] == pytest.approx(1e-3 * (300 + 4))
    _changed(monkeypatch, levels, "detection", direction_baseline_mm=5.0)
    assert line.direction_at(10.0)[1] / line.direction_at(10.0)[2] == pytest.approx(1e-3 * (300 + 25))


def test_the_disc_profile_averages_its_samples_across(monkeypatch):
    arc = np.arange(0.0, 41.0)
    line = levels.SpineLine(arc, np.stack([np.zeros_like(arc), np.zeros_like(arc), arc], axis=1))
    patches = []
    monkeypatch.setattr(levels, "sample_nearest", lambda image, points: patches.append(len(points)) or np.ones(len(points)))
    levels.DiscProfile.sample(None, line)
    _changed(monkeypatch, levels, "detection", profile_samples=(2, 2))
    levels.DiscProfile.sample(None, line)
    assert patches == [41 * 15, 41 * 4]


def test_the_repeat_length_asks_each_window_for_its_least_repeats(monkeypatch):
    asked = []
    monkeypatch.setattr(levels, "_autocorrelation_peak", lambda arc, values, regions, least: asked.append(least))
    profile = levels.DiscProfile(np.arange(0.0, 200.0), np.ones(200))
    levels._repeat_length(profile, 100.0, frozenset({"T"}))
    _changed(monkeypatch, levels, "detection", period_least_repeats=(3.0, 2.5))
    levels._repeat_length(profile, 100.0, frozenset({"T"}))
    assert asked == [2.0, 1.5, 3.0, 2.5]


def test_the_field_ends_before_the_next_disc_by_its_setting(monkeypatch):
    arc = np.arange(0.0, 151.0)
    profile = levels.DiscProfile(arc, np.where(arc <= 100.0, 1.0, np.nan))  # the field ends at 100
    assert not levels._field_ends_past_body(profile, 50.0, 1, 30.0)  # it holds 50 + 1.5 x 30
    _changed(monkeypatch, levels, "detection", next_disc_repeats=2.0)
    assert levels._field_ends_past_body(profile, 50.0, 1, 30.0)  # it does not hold 50 + 2 x 30


def test_a_disc_window_mostly_outside_the_field_is_searched_only_past_its_least_cover(monkeypatch):
    arc = np.arange(0.0, 61.0)
    values = np.where(arc <= 31.0, 1.0, np.nan)
    values[28] = 5.0  # a disc, 28 mm on
    profile = levels.DiscProfile(arc, values)
    # The window runs from 21 to 40.5 mm: 11 of its samples are in the field, under 0.6 of 19.5.
    assert levels._find_disc(profile, 0.0, 1, 30.0, 30.0, 1.0, 1.0) is None
    _changed(monkeypatch, levels, "detection", disc_window_min_cover=0.4)
    assert levels._find_disc(profile, 0.0, 1, 30.0, 30.0, 1.0, 1.0) == pytest.approx(28.0, abs=1.0)  # drawn towards the expected 30


def test_an_edge_body_pulled_back_onto_its_neighbour_is_dropped_by_its_setting(monkeypatch):
    monkeypatch.setattr(levels, "_marrow_signal", lambda centres, image: 1.0)
    monkeypatch.setattr(levels, "_is_marrow", lambda local, signal: True)
    placed = [levels.Vertebra("T1", 8, np.array([0.0, 0.0, 30.0]), levels.EDGE), levels.Vertebra("T2", 9, np.zeros(3), "detected")]
    recentred = [replace(placed[0], centre=np.array([0.0, 0.0, 12.0])), placed[1]]  # 0.4 of the placed distance
    assert [body.name for body in levels._edge_bodies_kept(placed, recentred, levels._BodyMarrow((placed[1],), None))] == ["T2"]
    _changed(monkeypatch, levels, "detection", edge_body_min_spacing=0.3)
    assert [body.name for body in levels._edge_bodies_kept(placed, recentred, levels._BodyMarrow((placed[1],), None))] == ["T1", "T2"]


def test_the_mass_grows_the_same_whatever_its_first_search_margin(monkeypatch):
    """The first margin around the seeds is for speed: the block grows until the mass lies inside."""
    values = np.full((9, 120, 40), 150.0)
    values[2:7, 20:40, 15:26] = 400.0  # a lobule 11 x 20 mm on 5 slices
    image = SequenceImage("T2", Grid(values.shape, np.diag([1.0, 1.0, 3.0, 1.0])), values.astype(np.float32))
    seed = [Outline("mass", Box(np.array([20.0, 30.0, 12.0]), np.eye(3), np.array([3.0, 5.0, 2.0])), segment=False)]
    shipped = masses.segment_mass(seed, [image], image).points_world()
    _changed(monkeypatch, masses, "mass", first_search_margin_voxels=1)
    np.testing.assert_array_equal(masses.segment_mass(seed, [image], image).points_world(), shipped)


def test_the_body_depth_ray_steps_by_the_profile_step(monkeypatch):
    """`_body_depth` read its ray every 1.0 mm inline (review of walk16); it steps by the disc profile's
    step, and a run's least length stays in millimetres."""
    monkeypatch.setattr(levels, "sample_nearest", lambda image, points: np.where((points[:, 1] >= 10.3) & (points[:, 1] <= 19.0), 500.0, 100.0))
    signal = levels.MarrowSignal(500.0, 10.0, 50.0)  # marrow 10.3-19.0 mm in front of the cord
    frame = (np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))

    def depth() -> float | None:
        return levels._body_depth(np.zeros(3), np.array([0.0, 0.0, 1.0]), frame, None, signal)

    assert depth() == pytest.approx(15.0)  # samples at 11-19 mm
    _changed(monkeypatch, levels, "detection", profile_step_mm=0.5)
    assert depth() == pytest.approx(14.75)  # samples at 10.5-19.0 mm
