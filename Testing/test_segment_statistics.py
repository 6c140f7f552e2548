"""The Segment Statistics adapter on real MRML: a segmentation whose segments are named like regions,
measured on one volume, gives the module's own ratios (exact on the small case's constant tissues)."""

import numpy as np
import pytest
from small_case import VALUES, roi_box, small_study

from EMHAssistLib.geometry import voxel_indices
from EMHAssistLib.inputs.nodes import grid_of_volume
from EMHAssistLib.outputs.scene_writing import set_segment_mask
from EMHAssistLib.knowledge import load
from EMHAssistLib.outputs.segment_statistics import ratio_keys, segment_ratios


def region_segmentation(scene, volume, names):
    """Segments on the volume's own grid holding exactly the voxels of each region's ROI box."""
    grid = grid_of_volume(volume)
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "regions")
    ids = {}
    for name in names:
        mask = np.zeros(grid.shape, bool)
        mask.ravel()[voxel_indices(grid, roi_box(name.strip().lower()))] = True
        ids[name] = segmentation.GetSegmentation().AddEmptySegment("", name)
        set_segment_mask(segmentation, ids[name], mask, grid)
    return segmentation, ids


def test_keys_are_every_configured_pair_with_its_interval_and_no_dots():
    pairs = [f"{n}/{d}" for n, d in load("measurement")["ratio_pairs"]]
    assert ratio_keys()[::3] == pairs
    assert all("." not in key for key in ratio_keys())  # Segment Statistics splits plugin keys at dots


def test_a_mass_segment_gets_its_ratios_to_the_other_regions(scene):
    study = small_study(scene, roles=("T2",))
    volume = study.sequences["T2"]
    segmentation, ids = region_segmentation(scene, volume, ["Mass", "cord", "muscle", "marrow"])
    ratios = segment_ratios(segmentation, ids["Mass"], volume)
    expected = {pair: VALUES["T2"]["mass"] / VALUES["T2"][pair.split("/")[1]] for pair in ("mass/cord", "mass/muscle", "mass/marrow")}
    assert ratios.keys() == {f"{pair}{suffix}" for pair in expected for suffix in ("", " CI95 low", " CI95 high")}
    for pair, value in expected.items():
        assert ratios[pair] == pytest.approx(value, rel=1e-6)
        assert ratios[f"{pair} CI95 low"] == pytest.approx(value) == ratios[f"{pair} CI95 high"]  # noise-free


def test_partners_missing_or_other_names_give_what_can_be_measured(scene):
    study = small_study(scene, roles=("T1",))
    volume = study.sequences["T1"]
    segmentation, ids = region_segmentation(scene, volume, ["marrow", "disc", "cord"])
    assert set(segment_ratios(segmentation, ids["marrow"], volume)) == {"marrow/disc", "marrow/disc CI95 low", "marrow/disc CI95 high"}
    assert segment_ratios(segmentation, ids["disc"], volume) == {}  # disc is no pair's numerator
    assert segment_ratios(segmentation, ids["cord"], volume) == {}  # its partner, muscle, has no segment
    other = segmentation.GetSegmentation().AddEmptySegment("", "liver")
    assert segment_ratios(segmentation, other, volume) == {}
