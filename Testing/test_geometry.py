"""ROI and segment masks on oblique volumes, checked against Slicer's own IsPointInROIWorld."""

import numpy as np
import pytest
import slicer
from hypothesis import given, settings
from hypothesis import strategies as st

from EMHAssistLib.geometry import Box, Grid, Labelmap, lies_within, product_by_rows, voxel_indices
from EMHAssistLib.inputs.nodes import box_of_roi, grid_of_volume, labelmap_of_segment
from EMHAssistLib.outputs.scene_writing import set_roi_box, set_segment_mask, set_volume_geometry


def rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    angle = np.radians(degrees)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


def oblique_grid(shape=(12, 20, 16), spacing=(0.8, 1.1, 2.5), degrees=23.0, origin=(-9.0, 4.0, -20.0)) -> Grid:
    matrix = np.eye(4)
    matrix[:3, :3] = rotation(np.array([1.0, 0.4, 0.2]), degrees) @ np.diag(spacing)
    matrix[:3, 3] = origin
    return Grid(shape, matrix)


def rotated_box(center=(0.0, 8.0, -5.0), size=(9.0, 5.0, 14.0), degrees=37.0) -> Box:
    return Box(np.array(center), rotation(np.array([0.3, -1.0, 0.5]), degrees), np.array(size) / 2)


def volume_node(scene, grid: Grid, name: str = "T2") -> slicer.vtkMRMLScalarVolumeNode:
    volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
    slicer.util.updateVolumeFromArray(volume, np.zeros(grid.shape, dtype=np.int16))
    set_volume_geometry(volume, grid.ijk_to_world)
    return volume


def roi_node(scene, box: Box, name: str = "mass") -> slicer.vtkMRMLMarkupsROINode:
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", name)
    set_roi_box(roi, box)
    return roi


def all_voxel_centres(grid: Grid) -> np.ndarray:
    k, j, i = np.meshgrid(*(np.arange(n) for n in grid.shape), indexing="ij")
    return grid.to_world(np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1).astype(float))


def test_roi_mask_on_oblique_volume_matches_slicer(scene):
    grid = oblique_grid()
    volume, roi = volume_node(scene, grid), roi_node(scene, rotated_box())
    indices = voxel_indices(grid_of_volume(volume), box_of_roi(roi))
    expected = [n for n, point in enumerate(all_voxel_centres(grid)) if roi.IsPointInROIWorld(point)]
    assert len(expected) > 50
    assert indices.tolist() == expected


def test_roi_under_a_linear_transform_is_measured_where_it_is_drawn(scene):
    grid = oblique_grid()
    volume, roi = volume_node(scene, grid), roi_node(scene, rotated_box())
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    matrix = np.eye(4)
    matrix[:3, :3] = rotation(np.array([0.0, 0.0, 1.0]), 15)
    matrix[:3, 3] = [2.0, -3.0, 1.5]
    from EMHAssistLib.inputs.nodes import vtk_matrix

    transform.SetMatrixTransformToParent(vtk_matrix(matrix))
    roi.SetAndObserveTransformNodeID(transform.GetID())
    indices = voxel_indices(grid_of_volume(volume), box_of_roi(roi))
    expected = [n for n, point in enumerate(all_voxel_centres(grid)) if roi.IsPointInROIWorld(point)]
    assert indices.tolist() == expected


def test_segment_mask_maps_through_world_onto_another_grid(scene):
    segment_grid = oblique_grid(shape=(10, 14, 12), spacing=(1.0, 1.0, 1.0), degrees=0.0, origin=(-6.0, 0.0, -10.0))
    mask = np.zeros(segment_grid.shape, dtype=bool)
    mask[3:7, 4:9, 2:8] = True
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "regions")
    segment_id = segmentation.GetSegmentation().AddEmptySegment("", "mass")
    set_segment_mask(segmentation, segment_id, mask, segment_grid)
    labelmap = labelmap_of_segment(segmentation, segment_id)
    target = oblique_grid(spacing=(0.7, 0.7, 0.7), degrees=11.0, origin=(-6.0, 2.0, -9.0))
    indices = voxel_indices(target, labelmap)
    centres = all_voxel_centres(target)
    nearest = np.rint(segment_grid.to_ijk(centres)).astype(int)
    inside_grid = np.all((nearest >= 0) & (nearest < segment_grid.size_ijk), axis=1)
    expected = np.flatnonzero(inside_grid)[mask[nearest[inside_grid, 2], nearest[inside_grid, 1], nearest[inside_grid, 0]]]
    assert indices.size > 100
    assert indices.tolist() == expected.tolist()


def test_box_outside_the_grid_selects_nothing_and_is_not_within():
    grid = oblique_grid()
    far = rotated_box(center=(500.0, 500.0, 500.0))
    assert voxel_indices(grid, far).size == 0
    assert not lies_within(grid, far)


def test_half_outside_box_is_flagged_and_clipped():
    grid = Grid((10, 10, 10), np.eye(4))
    box = Box(np.array([0.0, 4.5, 4.5]), np.eye(3), np.array([3.0, 2.0, 2.0]))
    indices = voxel_indices(grid, box)
    assert not lies_within(grid, box)
    k, j, i = np.unravel_index(indices, grid.shape)
    assert i.min() == 0 and i.max() == 3
    assert indices.size == 4 * 4 * 4  # centres 0..3 along i, 3..6 along j and k


def test_empty_labelmap_selects_nothing():
    grid = Grid((4, 4, 4), np.eye(4))
    assert voxel_indices(grid, Labelmap(grid, np.zeros(grid.shape, bool))).size == 0


@settings(max_examples=40, deadline=None)
@given(
    degrees=st.floats(-80, 80),
    box_degrees=st.floats(-80, 80),
    size=st.tuples(st.floats(1, 12), st.floats(1, 12), st.floats(1, 12)),
    center=st.tuples(st.floats(-15, 15), st.floats(-5, 25), st.floats(-30, 15)),
)
def test_mask_equals_brute_force_inside_test(degrees, box_degrees, size, center):
    grid = oblique_grid(degrees=degrees)
    box = rotated_box(center=center, size=size, degrees=box_degrees)
    expected = np.flatnonzero(box.contains(all_voxel_centres(grid)))
    assert voxel_indices(grid, box).tolist() == expected.tolist()


@pytest.mark.parametrize("points_per_slab", [7, 1 << 20])
def test_slabs_do_not_change_the_mask(monkeypatch, points_per_slab):
    import EMHAssistLib.geometry as geometry

    grid = oblique_grid()
    box = rotated_box(size=(20.0, 20.0, 30.0))
    reference = voxel_indices(grid, box)
    monkeypatch.setattr(geometry, "_POINTS_PER_SLAB", points_per_slab)
    assert voxel_indices(grid, box).tolist() == reference.tolist()


def test_a_grid_maps_many_points_in_blocks_bit_for_bit_as_one_product():
    """`Grid.to_ijk` and `to_world` multiply in blocks of rows (one BLAS thread each, for speed):
    a million points, across block edges, give exactly the values of one matrix product."""
    rng = np.random.default_rng(7)
    matrix = np.eye(4)
    matrix[:3, :] = rng.normal(size=(3, 4)) * 3
    grid = Grid((40, 512, 512), matrix)
    for count in (1, 43689, 43690, 1_000_003):
        points = rng.uniform(-300, 300, (count, 3))
        assert np.array_equal(grid.to_world(points), points @ matrix[:3, :3].T + matrix[:3, 3])
        assert np.array_equal(grid.to_ijk(points), points @ grid.world_to_ijk[:3, :3].T + grid.world_to_ijk[:3, 3])


def test_a_product_by_rows_is_the_matrix_product():
    rng = np.random.default_rng(8)
    left, right = rng.normal(size=(5000, 3)), rng.normal(size=(3, 600))
    assert np.allclose(product_by_rows(left, right), left @ right, rtol=0, atol=1e-12)
    assert product_by_rows(left[:10], right).shape == (10, 600)
