"""The attacker's fourth pass: the Slicer side, on real MRML (slicer-core), never mocks.

The promise (docs/robustness.md) for the panel's nodes: a node the analysis cannot use is one line
`<node>: <what>` (InputError) naming it, from the live update and from a full analysis alike; a node
that is doubtful but usable gives a report warning; either way the user's volumes, ROIs and segments
stay in the scene as they were (node list, ROI geometry and voxels compared before and after).
Slicer's Segment Statistics logic of each supported release runs EMHAssist's plugin over hostile
segments and volumes, and must still give Slicer's own plugins' rows.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pytest
import slicer
import vtk
from vtk.util import numpy_support
from slicer_host import host_python, releases
from small_case import roi_box, small_study
from test_robustness import Analysed, Refused

from EMHAssistLib.analysis import run_analysis
from EMHAssistLib.errors import InputError
from EMHAssistLib.geometry import Grid
from EMHAssistLib.inputs.nodes import grid_of_volume, vtk_matrix
from EMHAssistLib.outputs.scene_writing import set_segment_mask
from EMHAssistLib.inputs.study import Study, study_from_nodes
from EMHAssistLib.live import LiveAnalysis
from EMHAssistLib.outputs.segment_statistics import region_segmentation


def scene_state(scene: slicer.vtkMRMLScene) -> list[tuple]:
    """Every node of the scene with what the user made of it: an ROI's geometry, a volume's voxels and
    matrix, a segmentation's segments (compared as bytes, so that NaN equals NaN)."""
    state = []
    for index in range(scene.GetNumberOfNodes()):
        node = scene.GetNthNode(index)
        content: tuple = ()
        if node.IsA("vtkMRMLMarkupsROINode"):
            content = (np.array(node.GetCenter()).tobytes(), np.array(node.GetSize()).tobytes(), slicer.util.arrayFromVTKMatrix(node.GetObjectToNodeMatrix()).tobytes())
        elif node.IsA("vtkMRMLVolumeNode") and node.GetImageData() is not None:
            matrix = vtk.vtkMatrix4x4()
            node.GetIJKToRASMatrix(matrix)
            scalars = node.GetImageData().GetPointData().GetScalars()
            voxels = numpy_support.vtk_to_numpy(scalars).tobytes() if scalars is not None else b""
            content = (voxels, slicer.util.arrayFromVTKMatrix(matrix).tobytes())
        elif node.IsA("vtkMRMLSegmentationNode"):
            segments = node.GetSegmentation()
            content = tuple((segments.GetNthSegmentID(n), segments.GetNthSegment(n).GetName()) for n in range(segments.GetNumberOfSegments()))
        state.append((node.GetID(), node.GetClassName(), node.GetName(), content))
    return state


def transform(scene: slicer.vtkMRMLScene, matrix: np.ndarray, name: str = "moved") -> slicer.vtkMRMLLinearTransformNode:
    node = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", name)
    node.SetMatrixTransformToParent(vtk_matrix(matrix))
    return node


def scaled(axis: int, factor: float) -> np.ndarray:
    matrix = np.eye(4)
    matrix[axis, axis] = factor
    return matrix


def shifted(mm: float) -> np.ndarray:
    matrix = np.eye(4)
    matrix[2, 3] = mm
    return matrix


def selection(study: Study) -> tuple[dict, dict]:
    """The study's nodes as the panel's selectors hold them: a volume per role, a node per region."""
    return dict(study.sequences), {region: sources[0].node for region, sources in study.regions.items()}


def region_node_replaced(region: str, make: Callable[[slicer.vtkMRMLScene, Study], slicer.vtkMRMLNode]) -> Callable:
    def edit(scene: slicer.vtkMRMLScene, study: Study) -> Study:
        sequences, rois = selection(study)
        return study_from_nodes(study.name, sequences, {**rois, region: make(scene, study)})

    return edit


def segment_of_other_geometry(scene: slicer.vtkMRMLScene, study: Study) -> slicer.vtkMRMLSegmentationNode:
    """A mass segment painted on a grid of its own (0.3 x 5 x 2 mm voxels, sheared off the volumes' axes)."""
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "mass painted elsewhere")
    segment = segmentation.GetSegmentation().AddEmptySegment("mass", "mass")
    matrix = np.eye(4)
    matrix[:3, :3] = np.diag([0.3, 5.0, 2.0])
    matrix[:3, 3] = roi_box("mass").center - [1.5, 5.0, 5.0]
    set_segment_mask(segmentation, segment, np.ones((5, 2, 10), bool), Grid((5, 2, 10), matrix))
    return segmentation


def edit_volume(change: Callable[[slicer.vtkMRMLScalarVolumeNode], None], role: str = "T1C") -> Callable:
    return lambda scene, study: change(study.sequences[role])


def edit_roi(change: Callable[[slicer.vtkMRMLMarkupsROINode], None], region: str = "disc") -> Callable:
    return lambda scene, study: change(study.regions[region][0].node)


def four_components(volume: slicer.vtkMRMLScalarVolumeNode) -> None:
    image = vtk.vtkImageData()
    image.SetDimensions(8, 8, 8)
    image.AllocateScalars(vtk.VTK_FLOAT, 4)
    volume.SetAndObserveImageData(image)


def times(factor: float) -> Callable:
    return lambda volume: slicer.util.updateVolumeFromArray(volume, slicer.util.arrayFromVolume(volume).astype(np.float64) * factor)


def ijk_to_ras(matrix: np.ndarray) -> Callable:
    return lambda volume: volume.SetIJKToRASMatrix(vtk_matrix(matrix))


SINGULAR = np.eye(4)
SINGULAR[:3, :3] = [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
NAN_ORIGIN = np.eye(4)
NAN_ORIGIN[0, 3] = np.nan


def under_transform(matrix: np.ndarray | None, kind: str = "volume") -> Callable:
    """The T1C volume or the disc ROI under a linear transform of `matrix`, or a grid (non-linear) one."""

    def edit(scene: slicer.vtkMRMLScene, study: Study) -> None:
        node = study.sequences["T1C"] if kind == "volume" else study.regions["disc"][0].node
        parent = transform(scene, matrix) if matrix is not None else scene.AddNewNodeByClass("vtkMRMLGridTransformNode", "warp")
        node.SetAndObserveTransformNodeID(parent.GetID())

    return edit


def level_point_at(position: tuple[float, float, float]) -> Callable:
    def edit(scene: slicer.vtkMRMLScene, study: Study) -> None:
        study.levels = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "levels")
        study.levels.AddControlPoint(*position, "T5")

    return edit


def level_points_selected_at(position: tuple[float, float, float]) -> Callable:
    """Level points picked in the panel's selector, so the study is built as the panel builds it."""

    def edit(scene: slicer.vtkMRMLScene, study: Study) -> Study:
        points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "levels")
        points.AddControlPoint(*position, "T5")
        return study_from_nodes(study.name, *selection(study), levels=points)

    return edit


def volume_without_image(scene: slicer.vtkMRMLScene, study: Study) -> None:
    study.sequences["T1C"] = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T1C not loaded")


def labels_as_a_sequence(scene: slicer.vtkMRMLScene, study: Study) -> None:
    labels = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "labels")
    slicer.util.updateVolumeFromArray(labels, np.ones((8, 8, 8), np.int16))
    study.sequences["T1C"] = labels


def one_volume_for_two_roles(scene: slicer.vtkMRMLScene, study: Study) -> Study:
    sequences, rois = selection(study)
    return study_from_nodes(study.name, {**sequences, "T2": sequences["T1"]}, rois)


def one_roi_for_two_regions(scene: slicer.vtkMRMLScene, study: Study) -> Study:
    sequences, rois = selection(study)
    return study_from_nodes(study.name, sequences, {**rois, "disc": rois["cord"]})


def one_segment_for_two_regions(scene: slicer.vtkMRMLScene, study: Study) -> Study:
    """A segmentation of one segment picked for two regions: its only segment outlines each."""
    sequences, rois = selection(study)
    only = region_segmentation(scene, study.sequences["T2"], {"Segment_1": roi_box("marrow")}, name="marrow outline")
    return study_from_nodes(study.name, sequences, {**rois, "marrow": only, "disc": only})


def empty_mass_segment(scene: slicer.vtkMRMLScene, study: Study) -> slicer.vtkMRMLSegmentationNode:
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "mass segmentation")
    segmentation.GetSegmentation().AddEmptySegment("mass", "mass")
    return segmentation


def mass_segment_beside_an_empty_one(scene: slicer.vtkMRMLScene, study: Study) -> slicer.vtkMRMLSegmentationNode:
    """The mass painted, and a second segment named mass added after it and never painted."""
    segmentation = region_segmentation(scene, study.sequences["T2"], {"mass": roi_box("mass")}, name="mass segmentation")
    segmentation.GetSegmentation().AddEmptySegment("mass 2", "mass")
    return segmentation


def markups_named(name: str) -> Callable:
    """An ROI renamed, and flattened so that the error line echoes its name."""

    def edit(node: slicer.vtkMRMLMarkupsROINode) -> None:
        node.SetName(name)
        node.SetSize(0.0, 5.0, 5.0)

    return edit_roi(edit)


HOSTILE_NAME = "<b>disc</b>\x1b[31m\n\r\u202eevil"
# Each hostile node: how the study is edited (returning a new study when the selection changes) and
# what the live update and a full analysis must answer.
NODES: dict[str, tuple[Callable, Refused | Analysed]] = {
    "a volume node without image data": (volume_without_image, Refused("T1C not loaded", "volume has no image data")),
    "a volume of 4 components (Slicer has no 4-D image)": (edit_volume(four_components), Refused("T1C", "has 4 components per voxel; a sequence must be a scalar volume")),
    "a 2-D image (one slice)": (edit_volume(lambda v: slicer.util.updateVolumeFromArray(v, np.ones((1, 20, 20), np.float32))), Analysed("no T1C voxel centre falls inside the region; not measured on T1C")),
    "a zero voxel spacing": (edit_volume(lambda v: v.SetSpacing(0.0, 1.0, 1.0)), Refused("T1C", "voxel size [0.0, 1.0, 1.0] mm is outside 0.001 to 1000 mm")),
    "a singular IJK-to-RAS": (edit_volume(ijk_to_ras(SINGULAR)), Refused("T1C", "voxel size [1.414214, nan, 1.0] mm is outside 0.001 to 1000 mm")),
    "a NaN in the IJK-to-RAS": (edit_volume(ijk_to_ras(NAN_ORIGIN)), Refused("T1C", "its voxels reach nan mm from the origin")),
    "a volume under a flattening transform": (under_transform(scaled(2, 0.0)), Refused("T1C", "voxel size [0.9, 0.9, 0.0] mm")),
    "a volume under a NaN transform": (under_transform(scaled(0, np.nan)), Refused("T1C", "voxel size [nan, nan, nan] mm")),
    "voxels of 1e200 (float64)": (edit_volume(times(1e200)), Refused("T1C", "its largest voxel magnitude is 5.88e+202, outside 1e-100 to 1e+100")),
    "voxels of 1e-300 (float64)": (edit_volume(times(1e-300)), Refused("T1C", "its largest voxel magnitude is 5.88e-298, outside 1e-100 to 1e+100")),
    "a volume under a moving transform": (under_transform(shifted(3.0)), Analysed()),
    "a volume under a non-linear transform": (
        under_transform(None),
        Refused("T1C", "sits under a non-linear transform; harden or remove it first"),
    ),
    "a label map as a sequence": (
        labels_as_a_sequence,
        Refused("labels", "is a label map, not an MR sequence"),
    ),
    "an ROI of zero size": (edit_roi(lambda roi: roi.SetSize(0.0, 0.0, 0.0)), Refused("disc", "ROI has no volume (size [0.0, 0.0, 0.0] mm)")),
    "an ROI of infinite size": (edit_roi(lambda roi: roi.SetSize(np.inf, 5.0, 5.0)), Refused("disc", "ROI has no volume (size [inf, 5.0, 5.0] mm)")),
    "an ROI with a NaN centre": (edit_roi(lambda roi: roi.SetCenter(np.nan, 0.0, 0.0)), Refused("disc", "ROI position or orientation is not a finite number")),
    "an ROI 1e300 mm away": (edit_roi(lambda roi: roi.SetCenter(1e300, 0.0, 0.0)), Refused("disc", "ROI position or orientation is not a finite number")),
    "an ROI outside every volume": (edit_roi(lambda roi: roi.SetCenter(1e4, 0.0, 0.0)), Refused("disc", "disc region lies wholly outside every volume")),
    # was measured clipped to the images (every mass ratio over most of the volume) while the levels
    # step refused it: the mass is refused as a whole, as its growth refuses it (data/levels.json)
    "a mass ROI longer than the spine (501 mm)": (
        edit_roi(lambda roi: roi.SetSize(5.0, 5.0, 501.0), "mass"),
        Refused("mass", "the mass ROI is 501 mm along its longest side; a mass ROI may be at most 500 mm"),
    ),
    "an ROI whose control points were removed": (edit_roi(lambda roi: roi.RemoveAllControlPoints()), Refused("disc", "ROI has no volume")),
    "an ROI under a moving transform": (under_transform(shifted(3.0), "roi"), Analysed()),
    "an ROI under a flattening transform": (under_transform(scaled(2, 0.0), "roi"), Refused("disc", "ROI has no volume (size [5.0, 5.0, 0.0] mm)")),
    "an ROI named with markup and control characters": (markups_named(HOSTILE_NAME), Refused(r"<b>disc</b>\x1b[31m\n\r\u202eevil", "ROI has no volume")),
    "a point list picked as a region": (
        region_node_replaced("mass", lambda scene, study: scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "points")),
        Refused("points", "is a vtkMRMLMarkupsFiducialNode, not a markups ROI or a segmentation; it cannot outline the mass region"),
    ),
    "a segmentation with an empty mass segment": (region_node_replaced("mass", empty_mass_segment), Refused("mass segmentation/mass", "segment is empty")),
    # was refused as a whole (`mass segmentation/mass: segment is empty`), every mass ratio lost
    "a second, empty mass segment beside the painted one": (
        region_node_replaced("mass", mass_segment_beside_an_empty_one),
        Analysed("mass segmentation/mass: segment is empty; left out of the mass region, which its other outlines give"),
    ),
    "a mass segment painted on another geometry": (region_node_replaced("mass", segment_of_other_geometry), Analysed()),
    "a level point with a NaN position": (level_point_at((np.nan, 0.0, 0.0)), Refused("levels", "point 1 (T5) has no finite position: [nan, 0.0, 0.0]")),
    # Only the case-folder loader left far points out: the levels walk the span between points
    # millimetre by millimetre (1e6 mm took 42 s and 3.6 GB from a case folder before that check).
    "a level point 1e6 mm away, picked in the panel": (
        level_points_selected_at((0.0, 0.0, 1e6)),
        Analysed("levels: point T5 lies 1e+06 mm outside every volume's field of view"),
    ),
    "one volume picked for two roles": (one_volume_for_two_roles, Analysed("T1: is picked as the T1 and the T2 sequence; ratios between them compare the volume with itself")),
    "one ROI picked for two regions": (one_roi_for_two_regions, Analysed("cord: outlines the cord and the disc regions; ratios between them compare the region with itself")),
    "one segment picked for two regions": (
        one_segment_for_two_regions,
        Analysed("marrow outline/Segment_1: outlines the marrow and the disc regions; ratios between them compare the region with itself"),
    ),
}


@pytest.fixture
def small(scene) -> Study:
    return small_study(scene)


@pytest.mark.parametrize("name", NODES)
def test_a_hostile_node_is_named_in_one_line_or_warned_and_the_scene_is_kept(name, scene, small):
    edit, outcome = NODES[name]
    try:
        study = edit(scene, small) or small
    except InputError as refused:  # the selection itself is refused, as the panel's logic.study() refuses it
        assert isinstance(outcome, Refused) and (refused.subject, refused.problem[: len(outcome.problem)]) == (outcome.subject, outcome.problem)
        return
    before = scene_state(scene)
    live = LiveAnalysis().update(study)
    if isinstance(outcome, Refused):
        assert live.analysis is None and isinstance(live.error, InputError), live.error
        assert live.error.subject == outcome.subject
        assert "\n" not in str(live.error) and "\r" not in str(live.error)
        assert live.error.problem.startswith(outcome.problem), live.error.problem
        with pytest.raises(InputError) as full:
            run_analysis(study)
        assert str(full.value) == str(live.error)
    else:
        assert live.error is None, live.error
        warnings = run_analysis(study).report.warnings
        assert live.analysis.report.warnings == warnings
        if outcome.warning:
            assert any(outcome.warning in warning for warning in warnings), warnings
    assert scene_state(scene) == before


def test_the_live_update_checks_a_volumes_voxels_once_per_content(scene, small):
    """The scan of voxel magnitudes is kept across live updates (a 512 x 512 x 200 volume takes 59 ms,
    over the 5 ms a live update may take) and done again when the voxels change."""
    live = LiveAnalysis()
    assert live.update(small).error is None
    volume = small.sequences["T1C"]
    volume.GetImageData().GetPointData().GetScalars().SetValue(0, 1e-300)  # not seen: the content's time did not move
    assert live.update(small).error is None
    times(1e200)(volume)
    assert str(live.update(small).error).startswith("T1C: its largest voxel magnitude is 5.88e+202")


def segmentation_study(scene) -> tuple[Study, slicer.vtkMRMLSegmentationNode]:
    """The small case with its cord and mass outlined by segments of one segmentation, the rest by ROIs."""
    small = small_study(scene, roles=("T1", "T2"))
    segmentation = region_segmentation(scene, small.sequences["T2"], {region: roi_box(region) for region in ("mass", "cord")})
    sequences, rois = selection(small)
    return study_from_nodes(small.name, sequences, {region: node for region, node in rois.items() if region not in ("mass", "cord")}, segmentation=segmentation), segmentation


def remove_cord_segment(scene, study, segmentation) -> None:
    segmentation.GetSegmentation().RemoveSegment(segmentation.GetSegmentation().GetSegmentIdBySegmentName("cord"))


# Each change between two live updates, and the second update's error (None: analysed) and notes.
BETWEEN_UPDATES: dict[str, tuple[Callable, str | None, list[str]]] = {
    "the segmentation removed from the scene": (
        lambda scene, study, segmentation: scene.RemoveNode(segmentation),
        None,
        ["regions: was removed from the scene; the mass region is left out", "regions: was removed from the scene; the cord region is left out"],
    ),
    "the cord segment deleted": (remove_cord_segment, "regions/cord: segment no longer exists", []),
    "every segment deleted": (lambda scene, study, segmentation: segmentation.GetSegmentation().RemoveAllSegments(), "regions/cord: segment no longer exists", []),
    "a volume's image data taken away": (lambda scene, study, segmentation: study.sequences["T1"].SetAndObserveImageData(None), "T1: volume has no image data", []),
    "the ROI's parent transform removed from the scene": (
        lambda scene, study, segmentation: (study.regions["disc"][0].node.SetAndObserveTransformNodeID(transform(scene, shifted(1.0)).GetID()), scene.RemoveNode(scene.GetFirstNodeByName("moved"))),
        None,
        [],
    ),
}


@pytest.mark.parametrize("name", BETWEEN_UPDATES)
def test_a_node_changed_between_two_updates_is_named_or_left_out_with_a_note(name, scene):
    study, segmentation = segmentation_study(scene)
    live = LiveAnalysis()
    assert live.update(study).error is None
    change, error, notes = BETWEEN_UPDATES[name]
    change(scene, study, segmentation)
    before = [entry for entry in scene_state(scene) if entry[1] == "vtkMRMLMarkupsROINode"]
    result = live.update(study)
    assert (str(result.error) if result.error else None, result.notes) == (error, notes)
    assert [entry for entry in scene_state(scene) if entry[1] == "vtkMRMLMarkupsROINode"] == before


# --- Segment Statistics (EMHAssist's plugin) run by Slicer's own logic ------------------------------


def shared_segmentation(scene) -> tuple[slicer.vtkMRMLScalarVolumeNode, slicer.vtkMRMLSegmentationNode]:
    volume = small_study(scene, roles=("T2",)).sequences["T2"]
    return volume, region_segmentation(scene, volume, {region: roi_box(region) for region in ("mass", "cord", "muscle", "marrow")})


def empty_cord(volume, segmentation) -> None:
    grid = grid_of_volume(volume)
    set_segment_mask(segmentation, segmentation.GetSegmentation().GetSegmentIdBySegmentName("cord"), np.zeros(grid.shape, bool), grid)


def cord_elsewhere(volume, segmentation) -> None:
    matrix = np.eye(4)
    matrix[:3, 3] = [1e4, 0.0, 0.0]
    set_segment_mask(segmentation, segmentation.GetSegmentation().GetSegmentIdBySegmentName("cord"), np.ones((3, 3, 3), bool), Grid((3, 3, 3), matrix))


def cord_on_another_grid(volume, segmentation) -> None:
    matrix = np.eye(4)
    matrix[:3, :3] = np.diag([0.3, 5.0, 2.0])
    matrix[:3, 3] = roi_box("cord").center - [1.0, 1.0, 5.0]
    set_segment_mask(segmentation, segmentation.GetSegmentation().GetSegmentIdBySegmentName("cord"), np.ones((5, 1, 6), bool), Grid((5, 1, 6), matrix))


def second_empty_cord(volume, segmentation) -> None:
    segmentation.GetSegmentation().AddEmptySegment("cord 2", "cord")


def segmentation_under(matrix: np.ndarray) -> Callable:
    return lambda volume, segmentation: segmentation.SetAndObserveTransformNodeID(transform(volume.GetScene(), matrix).GetID())


def volume_edit(change: Callable) -> Callable:
    return lambda volume, segmentation: change(volume)


def volume_under_a_grid_transform(volume, segmentation) -> None:
    volume.SetAndObserveTransformNodeID(volume.GetScene().AddNewNodeByClass("vtkMRMLGridTransformNode", "warp").GetID())


# Each hostile input to Segment Statistics: how the volume or segmentation is edited, and the
# mass/cord ratio our plugin gives (None: not computed, with a warning in Slicer's log).
PLUGIN_INPUTS: dict[str, tuple[Callable, float | None]] = {
    "an empty cord segment": (empty_cord, None),
    "a second, empty cord segment (was: no ratio)": (second_empty_cord, 0.3),
    "the cord segment outside the volume": (cord_elsewhere, None),
    "the cord segment on another grid": (cord_on_another_grid, 0.3),
    "the segmentation under a moving transform": (segmentation_under(shifted(1.0)), 0.3),
    "the segmentation under a NaN transform": (segmentation_under(scaled(2, np.nan)), None),
    "a zero voxel spacing": (volume_edit(lambda volume: volume.SetSpacing(0.0, 1.0, 1.0)), None),
    "the volume under a non-linear transform": (volume_under_a_grid_transform, None),
    "voxels of 1e200": (volume_edit(times(1e200)), None),
    "voxels of 1e-300": (volume_edit(times(1e-300)), None),
    "all voxels NaN": (volume_edit(lambda volume: slicer.util.updateVolumeFromArray(volume, np.full(slicer.util.arrayFromVolume(volume).shape, np.nan, np.float32))), None),
    "all voxels zero": (volume_edit(lambda volume: slicer.util.updateVolumeFromArray(volume, np.zeros(slicer.util.arrayFromVolume(volume).shape, np.float32))), None),
    "a segmentation named with markup and control characters": (lambda volume, segmentation: segmentation.SetName(HOSTILE_NAME), 0.3),
}


def statistics_of(host, volume, segmentation) -> dict:
    """Slicer's SegmentStatisticsLogic (of the release `host` imported), our plugin registered as the
    module registers it, run on the segmentation and volume; the class-wide registry is put back."""
    from EMHAssistPlugins.SegmentStatisticsRatios import EMHAssistRatiosPlugin

    logic_class = host.SegmentStatistics.SegmentStatisticsLogic
    registered = list(logic_class.registeredPlugins)
    try:
        logic_class.registerPlugin(EMHAssistRatiosPlugin())
        logic = logic_class()
        logic.getParameterNode().SetParameter("Segmentation", segmentation.GetID())
        logic.getParameterNode().SetParameter("ScalarVolume", volume.GetID())
        logic.computeStatistics()
        return logic.getStatistics()
    finally:
        logic_class.registeredPlugins[:] = registered


@pytest.mark.parametrize("tag", releases())
@pytest.mark.parametrize("name", PLUGIN_INPUTS)
def test_a_hostile_segment_or_volume_never_stops_slicers_own_segment_statistics(name, tag, scene):
    volume, segmentation = shared_segmentation(scene)
    edit, mass_cord = PLUGIN_INPUTS[name]
    edit(volume, segmentation)
    before = scene_state(scene)
    with host_python(tag) as host:
        statistics = statistics_of(host, volume, segmentation)
    segments = segmentation.GetSegmentation()
    ids = [segments.GetNthSegmentID(n) for n in range(segments.GetNumberOfSegments())]
    assert statistics["SegmentIDs"] == ids
    for segment in ids:  # Slicer's own label-map plugin gave every segment its row
        assert (segment, "LabelmapSegmentStatisticsPlugin.voxel_count") in statistics
    mass = segments.GetSegmentIdBySegmentName("mass")
    ours = statistics.get((mass, "EMHAssistRatiosPlugin.mass/cord"))
    assert ours == (pytest.approx(mass_cord, rel=1e-6) if mass_cord is not None else None)
    assert [entry for entry in scene_state(scene) if entry[2] != "SegmentStatistics"] == before  # Slicer's logic adds its parameter node


def test_an_error_we_did_not_foresee_costs_only_our_columns(scene, monkeypatch, caplog):
    """Slicer's logic calls every plugin in one loop, unguarded: whatever our code raises, Slicer's own
    plugins still give every segment its row, and Slicer's log names the segmentation and segment."""
    volume, segmentation = shared_segmentation(scene)

    def unforeseen(*arguments):
        raise ZeroDivisionError("float division by zero")

    with host_python(releases()[-1]) as host:
        import EMHAssistPlugins.SegmentStatisticsRatios as plugin

        monkeypatch.setattr(plugin, "segment_ratios", unforeseen)
        statistics = statistics_of(host, volume, segmentation)
    assert len(statistics["SegmentIDs"]) == 4
    assert all((segment, "ScalarVolumeSegmentStatisticsPlugin.mean") in statistics for segment in statistics["SegmentIDs"])
    assert not [key for key in statistics if isinstance(key, tuple) and key[1].startswith("EMHAssistRatiosPlugin.")]
    assert "EMHAssist ratios: regions/mass: not computed (ZeroDivisionError: float division by zero)" in caplog.text


# --- A scene saved as .mrb and opened again (slicer-core's storage) -------------------------------


def old_results_table(scene, name: str, cells: dict[str, str]) -> slicer.vtkMRMLTableNode:
    """A results table as another version (or a hand edit) left it: every column text, one row."""
    from EMHAssistLib.outputs.tables import NUMBER_COLUMNS, TEXT_COLUMNS

    table = scene.AddNewNodeByClass("vtkMRMLTableNode", name)
    for column in TEXT_COLUMNS + NUMBER_COLUMNS:
        array = vtk.vtkStringArray()
        array.SetName(column.name)
        array.InsertNextValue(cells.get(column.name, "abc"))
        table.AddColumn(array)
    return table


@pytest.fixture(scope="module")
def reopened(tmp_path_factory):
    """A scene with the panel's inputs and results, where the results are of other versions, one
    parameter node references a node that is gone and a second EMHAssist parameter node exists;
    saved as .mrb and read into a second application's scene."""
    from trame_slicer.core import SlicerApp

    from EMHAssistLib.frontends.panel import REPORT_ATTRIBUTE, write_report_node
    from EMHAssistLib.outputs.tables import write_results_table

    saving = SlicerApp()
    slicer.mrmlScene = scene = saving.scene
    study = small_study(scene)
    report = run_analysis(study).report
    table = scene.AddNewNodeByClass("vtkMRMLTableNode", "EMHAssist results")
    write_results_table(report, table)
    for schema in ("emhassist.report/0", "emhassist.report/3"):
        node = scene.AddNewNodeByClass("vtkMRMLTextNode", f"report {schema}")
        write_report_node(report, node)
        node.SetAttribute(REPORT_ATTRIBUTE, schema)
    old_results_table(scene, "ratio table of text", {"kind": "ratio", "sequence": "T2", "region": "mass/cord"})
    old_results_table(scene, "statistics table of text", {"kind": "statistics", "sequence": "T2", "region": "mass"})
    for name, reference in (("EMHAssist", "vtkMRMLScalarVolumeNode99"), ("EMHAssist 2", study.sequences["T1"].GetID())):
        parameters = scene.AddNewNodeByClass("vtkMRMLScriptedModuleNode", name)
        parameters.SetAttribute("ModuleName", "EMHAssist")
        parameters.SetParameter("t1Volume", "")
        parameters.SetNodeReferenceID("t1Volume", reference)
    rois = {region: scene_state_of_roi(sources[0].node) for region, sources in study.regions.items()}
    bundle = tmp_path_factory.mktemp("mrb") / "hostile.mrb"
    assert scene.WriteToMRB(str(bundle))
    opening = SlicerApp()
    assert opening.scene.ReadFromMRB(str(bundle))
    yield opening.scene, report, rois
    del saving, opening


def scene_state_of_roi(roi: slicer.vtkMRMLMarkupsROINode) -> tuple:
    return tuple(np.round(roi.GetCenter(), 6)), tuple(np.round(roi.GetSize(), 6))


def test_a_reopened_report_node_of_another_version_is_refused_in_one_line(reopened):
    from EMHAssistLib.frontends.panel import read_report_node

    scene, _, _ = reopened
    for schema in ("emhassist.report/0", "emhassist.report/3"):
        with pytest.raises(InputError) as refused:
            read_report_node(scene.GetFirstNodeByName(f"report {schema}"))
        assert str(refused.value) == f"report {schema}: is not an EMHAssist report (emhassist.report/2 or emhassist.report/1)"


@pytest.mark.parametrize(
    "name, problem",
    [
        ("ratio table of text", "row 1: value is not a number ('abc'); not an EMHAssist results table of this version"),
        ("statistics table of text", "row 1: value is not a number ('abc'); not an EMHAssist results table of this version"),
    ],
)
def test_a_reopened_results_table_of_another_version_is_refused_in_one_line_and_replaced_by_the_next_results(name, problem, reopened):
    """The ratio table was read back with 'abc' as its ratio, the statistics table raised a ValueError
    traceback (int('abc')); the next results replace either in place."""
    from EMHAssistLib.outputs.tables import read_results_table, write_results_table

    scene, report, _ = reopened
    table = scene.GetFirstNodeByName(name)
    with pytest.raises(InputError) as refused:
        read_results_table(table)
    assert (refused.value.subject, refused.value.problem) == (name, problem)
    write_results_table(report, table)
    assert read_results_table(table).ratios.keys() == report.ratios.keys()


def test_a_reopened_parameter_node_whose_node_is_gone_selects_nothing_and_the_rois_come_back(reopened):
    scene, report, rois = reopened
    parameters = [scene.GetNthNodeByClass(n, "vtkMRMLScriptedModuleNode") for n in range(scene.GetNumberOfNodesByClass("vtkMRMLScriptedModuleNode"))]
    emhassist = {node.GetName(): node for node in parameters if node.GetAttribute("ModuleName") == "EMHAssist"}
    assert sorted(emhassist) == ["EMHAssist", "EMHAssist 2"]
    assert emhassist["EMHAssist"].GetNodeReference("t1Volume") is None  # the panel's T1 selector is empty: not a crash
    assert emhassist["EMHAssist 2"].GetNodeReference("t1Volume").GetName() == "T1"
    restored = {region: scene.GetFirstNodeByName(region) for region in rois}
    assert {region: scene_state_of_roi(node) for region, node in restored.items()} == rois


def test_an_empty_segment_ahead_of_the_painted_one_neither_stops_the_views_nor_the_overlays(scene, small):
    """Where the key images are centred and where the mass label sits fall back on the mass region's
    outlines when no mass was grown; an empty segment listed first raised `segment is empty` there."""
    from EMHAssistLib.outputs.key_images import focus_point
    from EMHAssistLib.outputs.overlays import _mass_points

    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "mass segmentation")
    segmentation.GetSegmentation().AddEmptySegment("mass 0", "mass")
    painted = region_segmentation(scene, small.sequences["T2"], {"mass": roi_box("mass")}, name="painted")
    segmentation.GetSegmentation().CopySegmentFromSegmentation(painted.GetSegmentation(), painted.GetSegmentation().GetNthSegmentID(0))
    study = region_node_replaced("mass", lambda scene, study: segmentation)(scene, small)
    analysis = run_analysis(study)
    without_grown_mass = replace(analysis, levels=replace(analysis.levels, mass=None))
    centre = roi_box("mass").center
    assert np.linalg.norm(focus_point(study, without_grown_mass) - centre) < 1.0
    assert np.linalg.norm(_mass_points(study, None).mean(axis=0) - centre) < 1.0


# --- Which parameter node the panel shows (EMHAssistLogic.getParameterNode, on Slicer's own logic) ------


def parameter_nodes(scene: slicer.vtkMRMLScene) -> list[slicer.vtkMRMLScriptedModuleNode]:
    return [scene.GetNthNodeByClass(n, "vtkMRMLScriptedModuleNode") for n in range(scene.GetNumberOfNodesByClass("vtkMRMLScriptedModuleNode"))]


def shown_parameter_node(scene: slicer.vtkMRMLScene, tag: str) -> tuple[slicer.vtkMRMLScriptedModuleNode, str | None, slicer.vtkMRMLScriptedModuleNode]:
    """The node EMHAssistLogic.getParameterNode shows (module.py: our choice, else the host's
    `ScriptedLoadableModuleLogic.getParameterNode` of release `tag`), its note, and the node the host's
    logic alone would show (asked last: it may add a node)."""
    from EMHAssistLib.frontends.panel import parameter_node_choice

    saved = getattr(slicer, "mrmlScene", None)
    slicer.mrmlScene = scene
    try:
        with host_python(tag):
            logic_class = type("EMHAssistLogic", (slicer.ScriptedLoadableModule.ScriptedLoadableModuleLogic,), {})
            logic = logic_class()
            assert logic.moduleName == "EMHAssist"  # Slicer names the module after the logic's class
            choice = parameter_node_choice(scene, logic.moduleName)
            shown = choice.node or logic.getParameterNode()
            return shown, choice.note, logic.getParameterNode()
    finally:
        slicer.mrmlScene = saved


def add_parameter_node(scene: slicer.vtkMRMLScene, name: str, module: str = "EMHAssist", singleton: bool = False) -> slicer.vtkMRMLScriptedModuleNode:
    node = scene.CreateNodeByClass("vtkMRMLScriptedModuleNode")
    node.UnRegister(None)
    if singleton:
        node.SetSingletonTag(module)
    node.SetAttribute("ModuleName", module)
    node.SetName(name)
    return scene.AddNode(node)


@pytest.mark.parametrize("tag", releases())
def test_two_parameter_nodes_without_the_singleton_show_the_first_with_a_note_not_a_new_empty_one(tag, scene):
    """Slicer's singleton rule alone added a third, empty node and the panel showed it: the selections the
    scene's nodes hold (a script's, another tool's, a scene saved without the tag) were hidden."""
    first = add_parameter_node(scene, "EMHAssist")
    add_parameter_node(scene, "Other module's", module="SegmentStatistics")
    add_parameter_node(scene, "EMHAssist 2")
    shown, note, slicers_own = shown_parameter_node(scene, tag)
    assert shown is first
    assert note == "EMHAssist 2: another EMHAssist parameter node; the panel shows EMHAssist, the first in the scene; none is the module's singleton"
    assert slicers_own.GetName() == "EMHAssist_1" and slicers_own.GetSingletonTag() == "EMHAssist"  # what the host's logic alone does


@pytest.mark.parametrize("tag", releases())
def test_the_singleton_parameter_node_is_shown_and_the_others_named(tag, scene):
    add_parameter_node(scene, "EMHAssist 2")
    own = add_parameter_node(scene, "EMHAssist", singleton=True)
    add_parameter_node(scene, "EMHAssist 3")
    count = len(parameter_nodes(scene))
    shown, note, slicers_own = shown_parameter_node(scene, tag)
    assert shown is own is slicers_own and len(parameter_nodes(scene)) == count
    assert note == "EMHAssist 2, EMHAssist 3: other EMHAssist parameter nodes; the panel shows EMHAssist, the module's own (its singleton)"


@pytest.mark.parametrize("tag", releases())
def test_one_or_no_parameter_node_gives_no_note(tag, scene):
    shown, note, _ = shown_parameter_node(scene, tag)
    assert note is None and shown.GetSingletonTag() == "EMHAssist" and len(parameter_nodes(scene)) == 1  # made by Slicer's logic
    assert shown_parameter_node(scene, tag)[:2] == (shown, None)


def test_the_reopened_scenes_two_parameter_nodes_show_the_first(reopened):
    """The saved scene of two EMHAssist parameter nodes (neither the singleton): the first is shown, named."""
    from EMHAssistLib.frontends.panel import parameter_node_choice

    scene, _, _ = reopened
    choice = parameter_node_choice(scene, "EMHAssist")
    assert choice.node.GetName() == "EMHAssist" and choice.note.startswith("EMHAssist 2: another EMHAssist parameter node; the panel shows EMHAssist,")
