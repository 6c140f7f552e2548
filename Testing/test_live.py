"""The panel's live analysis on real MRML: ROIs moved and resized give the same report as a fresh
full analysis, only what a move changes is recomputed, removed nodes give warnings, and an update
while the scene closes or after it closed does no harm."""

from dataclasses import fields, replace

import numpy as np
import pytest
import slicer
from small_case import small_study

from EMHAssistLib.analysis import run_analysis
from EMHAssistLib.geometry import Box
from EMHAssistLib.inputs.nodes import box_of_roi, grid_of_volume
from EMHAssistLib.outputs.scene_writing import set_roi_box
from EMHAssistLib.inputs import study as study_module
from EMHAssistLib.live import LiveAnalysis, coverage, without_removed_nodes
from EMHAssistLib.teaching.cases import DEFAULT_CASE, build_study, study_into_scene


@pytest.fixture(scope="module")
def synthetic():
    return build_study(DEFAULT_CASE)


@pytest.fixture
def case(scene, synthetic):
    return study_into_scene(synthetic, scene)


def roi(study, region):
    return study.regions[region][0].node


def move(node, offset_mm):
    centre = np.array(node.GetCenter()) + offset_mm
    node.SetCenter(*centre)


def test_first_update_measures_everything_and_equals_a_full_analysis(case):
    result = LiveAnalysis().update(case)
    assert result.error is None and result.notes == []
    assert result.recomputed == ["cord", "mass", "marrow", "muscle", "disc", "levels"]
    assert result.analysis.report == run_analysis(case).report


def test_a_moved_roi_is_remeasured_alone_and_the_report_equals_a_fresh_analysis(case):
    live = LiveAnalysis()
    first = live.update(case)
    assert live.update(case).recomputed == []
    move(roi(case, "marrow"), [0.0, 0.0, 2.5])
    moved = live.update(case)
    assert moved.recomputed == ["marrow"]
    assert moved.analysis.report == run_analysis(case).report
    assert moved.analysis.report.regions["marrow"] != first.analysis.report.regions["marrow"]
    assert moved.analysis.report.regions["cord"] == first.analysis.report.regions["cord"]


def test_resizing_the_mass_redoes_the_levels_too(case):
    live = LiveAnalysis()
    live.update(case)
    node = roi(case, "mass")
    size = np.array(node.GetSize())
    node.SetSize(*(size * [1.0, 1.0, 0.8]))
    resized = live.update(case)
    assert resized.recomputed == ["mass", "levels"]
    assert resized.analysis.report == run_analysis(case).report


def test_a_moved_mass_keeps_the_traced_cord_and_level_map_and_equals_a_fresh_analysis(case):
    live = LiveAnalysis()
    first = live.update(case).analysis.levels
    move(roi(case, "mass"), [0.0, 0.0, 1.5])
    moved = live.update(case)
    assert moved.recomputed == ["mass", "levels"]
    assert moved.analysis.levels.cord is first.cord and moved.analysis.levels.level_map is first.level_map
    assert moved.analysis.levels.mass.mask.sum() != first.mass.mask.sum()  # the mass itself was grown again
    assert moved.analysis.report == run_analysis(case).report


def test_a_mass_move_reads_the_mass_region_once(case, monkeypatch):
    """The measurement's read of the mass region (checked where it is read: check_mass_boxes) is the
    spine stage's too, as in `analyze` (test_masses' count): before, the levels step read and checked it
    again (`spine_inputs`) on every mass move, 2 reads a move."""
    checked = []
    monkeypatch.setattr(study_module, "check_mass_boxes", checked.append)
    live = LiveAnalysis()
    live.update(case)
    assert len(checked) == 1
    move(roi(case, "mass"), [0.0, 0.0, 1.5])
    moved = live.update(case)
    assert moved.recomputed == ["mass", "levels"] and len(checked) == 2
    move(roi(case, "mass"), [0.0, 0.0, -1.5])
    live.ratios(case)  # what a surface shows the moment the ROI is let go: the mass measured, read once
    assert live.update(case).recomputed == ["levels"] and len(checked) == 3


def test_the_ratios_alone_after_a_mass_move_are_the_full_analysiss_and_leave_only_the_levels_to_update(case):
    """What the browser shows the moment an ROI is let go: the moved mass measured again, the ratios
    those of a fresh full analysis; a new LiveAnalysis gives every ratio too."""
    live = LiveAnalysis()
    first = live.update(case).analysis.report.ratios
    move(roi(case, "mass"), [0.0, 0.0, 1.5])
    ratios = live.ratios(case)
    fresh = run_analysis(case).report.ratios
    assert ratios == fresh and ratios != first
    assert LiveAnalysis().ratios(case).keys() == fresh.keys()


def test_after_the_ratios_alone_the_update_redoes_only_the_levels(case):
    """ratios() did no levels step, and the update after it measures no region again."""
    live = LiveAnalysis()
    live.update(case)
    move(roi(case, "mass"), [0.0, 0.0, 1.5])
    live.ratios(case)
    assert live.update(case).recomputed == ["levels"]


def test_a_moved_mass_reuses_the_rays_and_cord_voxels_and_each_report_section_equals_a_fresh_analysis(case, monkeypatch):
    """The Bilsky stage's rays and the cord's voxels (read for cord contact) are found once per cord;
    after mass moves that change the grades, every section of the live report equals a full analysis."""
    from EMHAssistLib.spine import compression

    cast = {"rays": 0, "cord voxels": 0}
    for name, what in (("cast_rays", "rays"), ("cord_voxels", "cord voxels")):
        found = getattr(compression, name)
        monkeypatch.setattr(compression, name, lambda cord, *rest, found=found, what=what: cast.__setitem__(what, cast[what] + 1) or found(cord, *rest))
    live = LiveAnalysis()
    first = live.update(case).analysis.report
    assert cast == {"rays": 1, "cord voxels": 1}
    grades = []
    for offset in ([0.0, 0.0, 10.0], [0.0, 0.0, -10.0], [0.0, 1.0, 4.0]):
        move(roi(case, "mass"), offset)
        moved = live.update(case)
        live_report = moved.analysis.report
        grades.append(live_report.levels.bilsky)
        assert moved.recomputed == ["mass", "levels"]
        fresh = run_analysis(case).report
        for section in fields(fresh):
            if section.name == "levels":
                for key in fields(fresh.levels):
                    assert getattr(live_report.levels, key.name) == getattr(fresh.levels, key.name), key.name
            assert getattr(live_report, section.name) == getattr(fresh, section.name), section.name
    assert cast == {"rays": 1 + 3, "cord voxels": 1 + 3}  # the live panel's first cast, then one per fresh analysis
    assert any(graded != first.levels.bilsky for graded in grades)  # the moves changed the grades: a kept grade would be stale


def test_a_moved_cord_roi_or_new_level_points_trace_the_cord_again(case):
    live = LiveAnalysis()
    first = live.update(case).analysis.levels
    move(roi(case, "cord"), [0.0, 0.0, 2.0])
    moved = live.update(case)
    assert moved.recomputed == ["cord", "levels"] and moved.analysis.levels.cord is not first.cord
    assert moved.analysis.report == run_analysis(case).report
    position = case.levels.GetNthControlPointPositionWorld(0)
    case.levels.SetNthControlPointPositionWorld(0, position[0], position[1], position[2] + 1.0)
    renamed = live.update(case)
    assert renamed.recomputed == ["levels"] and renamed.analysis.levels.level_map is not moved.analysis.levels.level_map
    assert renamed.analysis.report == run_analysis(case).report


def test_a_rotated_roi_and_new_level_points_are_noticed(case):
    live = LiveAnalysis()
    live.update(case)
    node = roi(case, "muscle")
    box = box_of_roi(node)
    turn = np.array([[np.cos(0.3), -np.sin(0.3), 0.0], [np.sin(0.3), np.cos(0.3), 0.0], [0.0, 0.0, 1.0]])
    set_roi_box(node, Box(box.center, turn @ box.axes, box.half_size))
    assert live.update(case).recomputed == ["muscle"]
    case.levels.RemoveNthControlPoint(case.levels.GetNumberOfControlPoints() - 1)
    updated = live.update(case)
    assert updated.recomputed == ["levels"]
    assert updated.analysis.report == run_analysis(case).report


def test_new_voxels_in_a_sequence_remeasure_every_region(case, synthetic):
    live = LiveAnalysis()
    live.update(case)
    volume = case.sequences["T2"]
    slicer.util.updateVolumeFromArray(volume, synthetic.sequences["T2"].clean)
    updated = live.update(case)
    assert updated.recomputed == ["cord", "mass", "marrow", "muscle", "disc", "levels"]
    assert updated.analysis.report == run_analysis(case).report


def test_statuses_give_voxels_and_coverage_per_sequence(case):
    result = LiveAnalysis().update(case)
    report = result.analysis.report
    for region, status in result.statuses.items():
        assert status.voxels == {role: stats.n for role, stats in report.regions[region].items()}
        assert status.coverage == {role: 1.0 for role in case.sequences}
    assert result.statuses["cord"].line().startswith("T1 51 vx, 100% covered; T2 124 vx")


def test_coverage_of_a_box_half_outside_the_field_of_view(scene):
    study = small_study(scene, roles=("T1",))
    grid = grid_of_volume(study.sequences["T1"])
    edge = grid.corners_world().max(axis=0)  # the grid is axis-aligned: its top corner in R
    half_out = Box(np.array([0.0, 0.0, edge[2]]), np.eye(3), np.array([2.0, 2.0, 4.0]))
    assert coverage([half_out], grid) == pytest.approx(0.5)
    assert coverage([replace(half_out, center=np.array([0.0, 0.0, edge[2] + 10]))], grid) == 0.0


def test_a_region_error_is_one_line_and_the_other_regions_keep_their_status(case):
    live = LiveAnalysis()
    node = roi(case, "disc")
    node.SetSize(0.0, 5.0, 5.0)
    result = live.update(case)
    assert result.analysis is None
    assert (result.error.subject, result.error.problem) == ("disc", "ROI has no volume (size [0.0, 5.0, 5.0] mm)")
    assert result.statuses["disc"].warnings == [str(result.error)]
    assert result.statuses["cord"].voxels["T2"] == 124
    with pytest.raises(Exception, match="ROI has no volume"):
        run_analysis(case)


def test_a_removed_roi_is_left_out_with_a_note_not_a_crash(case, scene):
    live = LiveAnalysis()
    live.update(case)
    scene.RemoveNode(roi(case, "disc"))
    result = live.update(case)
    assert result.notes == ["disc: was removed from the scene; the disc region is left out"]
    assert result.error is None and "disc" not in result.statuses
    assert "no disc region: its ratios are not measured" in result.analysis.report.warnings
    remaining, _ = without_removed_nodes(case)
    assert result.analysis.report == run_analysis(remaining).report


def test_removed_level_points_and_volume_are_left_out(case, scene):
    live = LiveAnalysis()
    live.update(case)
    scene.RemoveNode(case.levels)
    scene.RemoveNode(case.sequences["T1C"])
    result = live.update(case)
    assert result.notes == [
        "T1C: was removed from the scene; the T1C sequence is left out",
        "levels: was removed from the scene; the level points is left out",
    ]
    assert "T1C" not in result.analysis.report.sequences
    assert result.recomputed == ["cord", "mass", "marrow", "muscle", "disc", "levels"]


def test_an_update_while_the_scene_closes_does_nothing_and_after_it_reports_the_loss(case, scene):
    live = LiveAnalysis()
    live.update(case)
    during = []
    scene.AddObserver(slicer.vtkMRMLScene.StartCloseEvent, lambda caller, event: during.append(live.update(case)))
    scene.Clear(0)
    assert [(result.error, result.notes) for result in during] == [(None, ["the scene is closing; results are not updated"])]
    assert during[0].analysis is None and during[0].statuses == {}
    after = live.update(case)
    assert after.analysis is None
    assert (after.error.subject, after.error.problem) == (case.name, "no sequence volume (T1, T2, STIR, T1C, ...) was given")
    assert len(after.notes) == len(case.sequences) + sum(map(len, case.regions.values())) + 1
    live.reset()
    assert str(live.update(case).error) == str(after.error)


def test_a_data_file_cut_short_is_the_updates_error_not_an_exception(case, tmp_path, monkeypatch):
    """data/bilsky.json cut short: the Slicer panel's and the browser's update raised a DataFileError
    traceback (LiveAnalysis caught InputError alone); now the update gives its one line as the error,
    and once the file is whole again the next update analyses the same scene."""
    import shutil

    from EMHAssistLib import knowledge
    from EMHAssistLib.settings import bilsky_settings

    data = tmp_path / "data"
    shutil.copytree(knowledge.DATA_DIR, data)
    whole = (data / "bilsky.json").read_bytes()
    (data / "bilsky.json").write_bytes(whole[:300])
    monkeypatch.setattr(knowledge, "DATA_DIR", data)
    knowledge.load.cache_clear()
    bilsky_settings.cache_clear()
    try:
        result = LiveAnalysis().update(case)
        assert result.analysis is None and str(result.error).startswith("EMHAssistLib/data/bilsky.json: is not valid JSON (")
        (data / "bilsky.json").write_bytes(whole)
        assert LiveAnalysis().update(case).analysis is not None
    finally:
        monkeypatch.undo()
        knowledge.load.cache_clear()
        bilsky_settings.cache_clear()
