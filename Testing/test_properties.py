"""Properties of the ROI masks, region statistics and ratios, checked by hypothesis.

test_geometry.py and test_measurement.py already compare masks with a brute-force point test
and statistics with numpy on random input; these add the invariances a measurement must have:
moving box and grid together changes nothing, voxel order and the path taken through the code
(counted integers or sorted floats, a block or rows of voxels) change nothing, and ratios
ignore the scale of the signal.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from EMHAssistLib.geometry import Box, Grid, Labelmap, voxel_indices
from EMHAssistLib.measurement.ratios import enhancement, ratio_of_means
from EMHAssistLib.measurement.regions import statistics

EXAMPLES = settings(max_examples=60, deadline=None)


def rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    angle = np.radians(degrees)
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


axes = st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)).filter(lambda v: np.linalg.norm(v) > 0.1)
angles = st.floats(-90, 90)
spacings = st.tuples(st.floats(0.3, 3), st.floats(0.3, 3), st.floats(0.3, 6))
centres = st.tuples(st.floats(-12, 12), st.floats(-12, 12), st.floats(-12, 12))
half_sizes = st.tuples(st.floats(0.2, 9), st.floats(0.2, 9), st.floats(0.2, 9))
SHAPE = (14, 18, 16)


def grid_of(spacing: tuple, axis: tuple, degrees: float, shape: tuple = SHAPE) -> Grid:
    matrix = np.eye(4)
    matrix[:3, :3] = rotation(np.array(axis), degrees) @ np.diag(spacing)
    matrix[:3, 3] = -matrix[:3, :3] @ ((np.array(shape[::-1]) - 1) / 2)
    return Grid(shape, matrix)


def box_of(centre: tuple, axis: tuple, degrees: float, half_size: tuple) -> Box:
    return Box(np.array(centre), rotation(np.array(axis), degrees), np.array(half_size))


def brute_force(grid: Grid, box: Box) -> list[int]:
    k, j, i = np.meshgrid(*(np.arange(n) for n in grid.shape), indexing="ij")
    centres = grid.to_world(np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1).astype(float))
    return np.flatnonzero(box.contains(centres)).tolist()


# --- ROI masks -----------------------------------------------------------------------------------


@EXAMPLES
@given(
    spacing=spacings,
    grid_axis=axes,
    grid_degrees=angles,
    centre=centres,
    box_axis=axes,
    box_degrees=angles,
    half_size=half_sizes,
    move_axis=axes,
    move_degrees=angles,
    shift=centres,
)
def test_moving_box_and_grid_together_keeps_the_mask(
    spacing, grid_axis, grid_degrees, centre, box_axis, box_degrees, half_size, move_axis, move_degrees, shift
):
    grid, box = grid_of(spacing, grid_axis, grid_degrees), box_of(centre, box_axis, box_degrees, half_size)
    motion = np.eye(4)
    motion[:3, :3] = rotation(np.array(move_axis), move_degrees)
    motion[:3, 3] = shift
    moved_grid = Grid(grid.shape, motion @ grid.ijk_to_world)
    moved_box = Box(motion[:3, :3] @ box.center + motion[:3, 3], motion[:3, :3] @ box.axes, box.half_size)
    before, after = voxel_indices(grid, box), voxel_indices(moved_grid, moved_box)
    # Rounding moves only voxel centres lying on a face (within the 1e-6 mm tolerance): none here.
    assume(before.tolist() == brute_force(grid, box) and after.tolist() == brute_force(moved_grid, moved_box))
    assert before.tolist() == after.tolist()


@EXAMPLES
@given(
    spacing=spacings,
    grid_axis=axes,
    grid_degrees=angles,
    centre=centres,
    half_size=half_sizes,
    flips=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    order=st.permutations([0, 1, 2]),
)
def test_relabelling_the_box_axes_keeps_the_mask(spacing, grid_axis, grid_degrees, centre, half_size, flips, order):
    """The same box described with its axes reordered or reversed selects the same voxels."""
    grid = grid_of(spacing, grid_axis, grid_degrees)
    box = box_of(centre, (0.3, -1.0, 0.5), 27.0, half_size)
    signs = np.where(flips, -1.0, 1.0)
    relabelled = Box(box.center, box.axes[:, order] * signs, box.half_size[order])
    assert voxel_indices(grid, relabelled).tolist() == voxel_indices(grid, box).tolist()


@EXAMPLES
@given(
    spacing=spacings,
    grid_axis=axes,
    grid_degrees=angles,
    centre=centres,
    box_axis=axes,
    box_degrees=angles,
    half_size=half_sizes,
    growth=st.tuples(st.floats(0, 3), st.floats(0, 3), st.floats(0, 3)),
)
def test_a_larger_box_holds_every_voxel_of_the_smaller(
    spacing, grid_axis, grid_degrees, centre, box_axis, box_degrees, half_size, growth
):
    grid = grid_of(spacing, grid_axis, grid_degrees)
    small = box_of(centre, box_axis, box_degrees, half_size)
    large = Box(small.center, small.axes, small.half_size + np.array(growth))
    assert set(voxel_indices(grid, small).tolist()) <= set(voxel_indices(grid, large).tolist())


@EXAMPLES
@given(
    spacing=spacings,
    centre=st.tuples(*[st.integers(-16, 16)] * 3),
    half=st.tuples(*[st.integers(1, 12)] * 3),
    grid_axis=axes,
    grid_degrees=angles,
    turns=st.permutations([0, 1, 2]),
)
def test_boxes_parallel_to_the_grid_with_faces_on_voxel_centres_match_the_point_test(
    spacing, centre, half, grid_axis, grid_degrees, turns
):
    """Boxes drawn along the volume's own axes take the block path; faces exactly on voxel
    centres (half-voxel multiples) are the ties where that path and the point test could part."""
    grid = grid_of(spacing, grid_axis, grid_degrees)
    directions = grid.ijk_to_world[:3, :3] / grid.spacing
    box = Box(
        grid.to_world(np.array(centre, float) / 2 + (np.array(SHAPE[::-1]) - 1) / 2)[0],
        directions[:, turns],
        np.array(half, float)[list(turns)] * grid.spacing[list(turns)] / 2,
    )
    assert voxel_indices(grid, box).tolist() == brute_force(grid, box)


@EXAMPLES
@given(
    spacing=spacings,
    grid_axis=axes,
    grid_degrees=angles,
    centre=centres,
    box_axis=axes,
    box_degrees=angles,
    half_size=half_sizes,
)
def test_a_box_and_its_own_label_map_select_the_same_voxels(
    spacing, grid_axis, grid_degrees, centre, box_axis, box_degrees, half_size
):
    grid = grid_of(spacing, grid_axis, grid_degrees)
    box = box_of(centre, box_axis, box_degrees, half_size)
    indices = voxel_indices(grid, box)
    assume(indices.size > 0)
    mask = np.zeros(grid.shape, dtype=bool)
    mask.ravel()[indices] = True
    assert voxel_indices(grid, Labelmap(grid, mask)).tolist() == indices.tolist()


# --- Statistics ----------------------------------------------------------------------------------

integer_values = st.lists(st.integers(-3000, 3000), min_size=1, max_size=300)


@EXAMPLES
@given(values=integer_values, seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from([np.int16, np.int32]))
def test_statistics_ignore_the_order_of_the_voxels(values, seed, dtype):
    array = np.array(values, dtype=dtype)
    shuffled = np.random.default_rng(seed).permutation(array)
    assert statistics(shuffled, 0.5) == statistics(array, 0.5)


@EXAMPLES
@given(values=integer_values, dtype=st.sampled_from([np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32]))
def test_counted_integers_give_what_numpy_gives(values, dtype):
    """Integer voxels are counted per grey level; the result must be numpy's, percentiles exactly."""
    info = np.iinfo(dtype)
    array = np.clip(np.array(values), info.min, info.max).astype(dtype)
    stats, as_float = statistics(array, 1.0), array.astype(np.float64)
    assert [stats.p5, stats.median, stats.p95] == np.percentile(as_float, [5, 50, 95]).tolist()
    assert stats.mean == pytest.approx(as_float.mean(), rel=1e-12, abs=1e-9)
    assert stats.sd == pytest.approx(as_float.std(ddof=1) if array.size > 1 else 0.0, rel=1e-9, abs=1e-9)


@EXAMPLES
@given(values=integer_values)
def test_integer_and_float_voxels_of_the_same_values_agree(values):
    counted, sorted_ = statistics(np.array(values, dtype=np.int16), 2.0), statistics(
        np.array(values, dtype=np.float32), 2.0
    )
    assert (counted.p5, counted.median, counted.p95, counted.n) == (sorted_.p5, sorted_.median, sorted_.p95, sorted_.n)
    assert counted.mean == pytest.approx(sorted_.mean, rel=1e-12, abs=1e-9)
    assert counted.sd == pytest.approx(sorted_.sd, rel=1e-9, abs=1e-9)


@EXAMPLES
@given(values=integer_values, offset=st.integers(-5000, 5000))
def test_a_constant_offset_moves_every_location_statistic_and_no_spread(values, offset):
    base = statistics(np.array(values, dtype=np.int32), 1.0)
    moved = statistics(np.array(values, dtype=np.int32) + offset, 1.0)
    for field in ("mean", "median", "p5", "p95"):
        assert getattr(moved, field) == pytest.approx(getattr(base, field) + offset, abs=1e-9)
    assert moved.sd == pytest.approx(base.sd, rel=1e-9, abs=1e-9)


@EXAMPLES
@given(values=integer_values)
def test_percentiles_lie_in_order_within_the_values(values):
    stats = statistics(np.array(values, dtype=np.int16), 1.0)
    assert min(values) <= stats.p5 <= stats.median <= stats.p95 <= max(values)
    assert stats.sd >= 0


# --- Ratios --------------------------------------------------------------------------------------

positive_values = st.lists(st.floats(1, 4000), min_size=2, max_size=80)


@EXAMPLES
@given(numerator=positive_values, denominator=positive_values, scale=st.floats(1e-3, 1e3))
def test_ratios_ignore_the_scale_of_the_signal(numerator, denominator, scale):
    """Scanners scale signal arbitrarily; a ratio of means and its interval must not notice."""
    a, b = np.array(numerator), np.array(denominator)
    plain = ratio_of_means(statistics(a, 1.0), statistics(b, 1.0))
    scaled = ratio_of_means(statistics(a * scale, 1.0), statistics(b * scale, 1.0))
    assert scaled.value == pytest.approx(plain.value, rel=1e-9)
    assert scaled.ci95 == pytest.approx(plain.ci95, rel=1e-9, abs=1e-12)


@EXAMPLES
@given(numerator=positive_values, denominator=positive_values)
def test_swapping_the_regions_inverts_the_ratio(numerator, denominator):
    a, b = statistics(np.array(numerator), 1.0), statistics(np.array(denominator), 1.0)
    assert ratio_of_means(a, b).value * ratio_of_means(b, a).value == pytest.approx(1.0, rel=1e-12)


@EXAMPLES
@given(numerator=positive_values, denominator=positive_values)
def test_more_voxels_of_the_same_tissue_narrow_the_interval(numerator, denominator):
    a, b = np.array(numerator), np.array(denominator)
    assume(a.std() > 1e-6 * a.mean())
    once = ratio_of_means(statistics(a, 1.0), statistics(b, 1.0))
    four_times = ratio_of_means(statistics(np.tile(a, 4), 1.0), statistics(np.tile(b, 4), 1.0))
    assert four_times.value == pytest.approx(once.value, rel=1e-12)
    assert four_times.ci95[1] - four_times.ci95[0] < once.ci95[1] - once.ci95[0]


@EXAMPLES
@given(pre=positive_values, gain=st.floats(-0.9, 5))
def test_enhancement_is_the_gain_of_post_over_pre(pre, gain):
    values = np.array(pre)
    stats = {"mass": {"T1": statistics(values, 1.0), "T1C": statistics(values * (1 + gain), 1.0)}}
    assert enhancement(stats)["mass"].value == pytest.approx(gain, rel=1e-9, abs=1e-9)
