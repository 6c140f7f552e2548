"""Cord measurements against the Spinal Cord Toolbox's own checks, and tracking on a synthetic tube."""

import numpy as np
import pytest

from EMHAssistLib.errors import InputError
from EMHAssistLib.geometry import Box, Grid
from EMHAssistLib.inputs.casefolder import read_volume
from EMHAssistLib.inputs.nodes import sequence_image
from EMHAssistLib.inputs.plain import SequenceImage
from EMHAssistLib.spine import cord
from EMHAssistLib.spine.compression import metric_ratio, reference_windows

SCT_SLICE_10 = {"area": 78.58643257836141, "ap": 7.842507960401277, "rl": 12.537767663676533}


def test_sct_t2_slice_10_within_3_percent(shared_data, scene):
    path = shared_data / "sct_testing_data" / "t2" / "t2_seg-manual.nii.gz"
    seg = sequence_image("seg", read_volume(path, "seg", scene))
    profile = cord.measure_profile(seg.voxels > 0, seg.grid)
    n = list(profile.centreline.slices).index(10)
    measured = {"area": profile.area_mm2[n], "ap": profile.ap_mm[n], "rl": profile.rl_mm[n]}
    for key, expected in SCT_SLICE_10.items():
        assert measured[key] == pytest.approx(expected, rel=0.03), key


def sct_box_phantom() -> tuple[np.ndarray, Grid]:
    """SCT's compression phantom: 15 x 13 voxels (RL x AP) over 81 slices, AP 10 at slice 48; 1 mm voxels."""
    data = np.zeros((32, 32, 81), dtype=bool)  # nibabel order (x=R, y=A, z=S)
    data[9:24, 10:23, :] = True
    data[9:24, 10:23, 48] = False
    data[9:24, 11:21, 48] = True
    return np.transpose(data, (2, 1, 0)).copy(), Grid((81, 32, 32), np.eye(4))


def test_sct_box_phantom_ap_and_mscc():
    mask, grid = sct_box_phantom()
    profile = cord.measure_profile(mask, grid)
    slices = list(profile.centreline.slices)
    at = slices.index(48)
    assert profile.ap_mm[at] == pytest.approx(10.0, abs=0.01)
    assert profile.ap_mm[slices.index(60)] == pytest.approx(13.0, abs=0.01)
    above, below = reference_windows(profile.arc_mm, np.array([at]), np.ones(len(slices), dtype=bool))
    mscc = metric_ratio(profile.ap_mm[at], np.mean(profile.ap_mm[above]), np.mean(profile.ap_mm[below]))
    assert mscc == pytest.approx(23.07, abs=0.01)
    area_ratio = metric_ratio(profile.area_mm2[at], np.mean(profile.area_mm2[above]), np.mean(profile.area_mm2[below]))
    assert area_ratio == pytest.approx(23.07, abs=0.01)


def tube_phantom(tilt_degrees: float = 0.0, narrowing: float = 0.0) -> tuple[SequenceImage, float]:
    """A T2-like elliptic cord (AP 6, RL 9 mm) in a CSF tube, tilted in the sagittal plane; 0.5 mm voxels.

    With `narrowing`, the AP diameter is cut by that fraction over 20 mm in the middle.
    """
    shape = (160, 96, 48)
    spacing = 0.5
    matrix = np.diag([spacing, spacing, spacing, 1.0])
    matrix[:3, 3] = -(np.array(shape[::-1]) - 1) / 2 * spacing
    grid = Grid(shape, matrix)
    k, j, i = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    points = grid.to_world(np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1).astype(float))
    tilt = np.radians(tilt_degrees)
    along = points[:, 2] * np.cos(tilt) + points[:, 1] * np.sin(tilt)
    across_a = points[:, 1] * np.cos(tilt) - points[:, 2] * np.sin(tilt)
    half_ap = np.where(np.abs(along) <= 10.0, 3.0 * (1 - narrowing), 3.0)
    inside_cord = (points[:, 0] / 4.5) ** 2 + (across_a / half_ap) ** 2 <= 1.0
    inside_csf = points[:, 0] ** 2 + across_a**2 <= 7.0**2
    image = np.where(inside_cord, 300.0, np.where(inside_csf, 1000.0, 150.0)).reshape(shape).astype(np.float32)
    return SequenceImage("T2", grid, image), float(np.pi * 4.5 * 3.0)


@pytest.mark.parametrize("tilt", [0.0, 20.0])
def test_tracking_finds_the_whole_cord_and_measures_it(tilt):
    image, area = tube_phantom(tilt)
    seed = Box(np.zeros(3), np.eye(3), np.array([1.0, 1.0, 2.0]))
    coverage, ends = cord.segment_cord(image, seed)
    profile = cord.measure_profile(coverage.values >= 0.5, coverage.grid, coverage.values)
    assert ends == (False, False)
    assert len(profile.centreline.slices) >= 150
    middle = slice(20, -20)
    assert np.median(profile.area_mm2[middle]) == pytest.approx(area, rel=0.06)
    assert np.median(profile.ap_mm[middle]) == pytest.approx(6.0, rel=0.06)
    assert np.median(profile.rl_mm[middle]) == pytest.approx(9.0, rel=0.06)


def test_tracking_follows_a_narrowed_cord():
    image, _ = tube_phantom(0.0, narrowing=0.4)
    seed = Box(np.array([0.0, 0.0, 25.0]), np.eye(3), np.array([1.0, 1.0, 2.0]))
    coverage, _ = cord.segment_cord(image, seed)
    profile = cord.measure_profile(coverage.values >= 0.5, coverage.grid, coverage.values)
    s = profile.centreline.points[:, 2]
    assert np.median(profile.ap_mm[np.abs(s) <= 8]) == pytest.approx(3.6, rel=0.1)
    assert np.median(profile.ap_mm[np.abs(s) >= 15]) == pytest.approx(6.0, rel=0.06)


def test_choose_sequence_prefers_t2():
    grid = Grid((2, 2, 2), np.eye(4))
    images = [SequenceImage(role, grid, np.zeros((2, 2, 2))) for role in ("T1", "T1C", "T2")]
    assert cord.choose_sequence(images).role == "T2"
    assert cord.choose_sequence(images[:2]).role == "T1"
    assert cord.choose_sequence(images[1:2]) is None


def test_perpendicular_frames_worked_out_together_are_the_bits_of_one_at_a_time():
    rng = np.random.default_rng(3)
    tangents = rng.normal(size=(2000, 3)) + [0.0, 0.0, 2.0]
    tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
    for tangent, (right, anterior) in zip(tangents, cord.perpendicular_frames(tangents)):
        alone = cord.WORLD_ANTERIOR - np.dot(cord.WORLD_ANTERIOR, tangent) * tangent
        alone /= np.linalg.norm(alone)
        across = np.cross(alone, tangent)
        assert np.array_equal(anterior, alone) and np.array_equal(right, across / np.linalg.norm(across))
        np.testing.assert_allclose([right @ right, right @ anterior, right @ tangent, anterior @ tangent], [1, 0, 0, 0], atol=1e-12)
    with pytest.raises(InputError, match="runs antero-posteriorly"):
        cord.perpendicular_frames(np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]))


def squeezed_cord(mscc: float, onset_mm: float, effaced: str = "both", mass_value: float = 400.0, noise: float = 0.0) -> SequenceImage:
    """A T2 cord (AP 6, RL 9 mm, 300) in a CSF canal (radius 8 mm, 1000) squeezed from behind by a
    mass (`mass_value`, inside the cord window: the CSF behind the cord is effaced) over |z| <= 10 mm,
    its AP cut by `mscc` and the cord pushed forward, narrowing over `onset_mm` (1: abrupt, 20: gradual);
    `effaced` "both": the CSF beside the cord goes as well. Axial 3 mm slices of 0.75 mm pixels,
    each voxel the mean of 27 sub-samples (partial volume)."""
    spacing = np.array([0.75, 0.75, 3.0])
    counts = np.round(np.array([40.0, 50.0, 160.0]) / spacing).astype(int)
    matrix = np.diag([*spacing, 1.0])
    matrix[:3, 3] = -(counts - 1) / 2 * spacing
    grid = Grid(tuple(counts[::-1]), matrix)
    k, j, i = np.meshgrid(*(np.arange(n) for n in grid.shape), indexing="ij")
    base = np.stack([i, j, k], axis=-1).reshape(-1, 3).astype(float)
    total = np.zeros(len(base))
    for shift in np.stack(np.meshgrid(*[np.linspace(-1 / 3, 1 / 3, 3)] * 3, indexing="ij"), axis=-1).reshape(-1, 3):
        x, y, z = grid.to_world(base + shift).T
        squeeze = np.clip((10.0 + onset_mm - np.abs(z)) / onset_mm, 0.0, 1.0)
        half_ap = 3.0 * (1 - mscc * squeeze)
        centre = 3.0 * mscc * squeeze
        cord_ = (x / 4.5) ** 2 + ((y - centre) / half_ap) ** 2 <= 1
        canal = x**2 + (y - 1.0) ** 2 <= 8.0**2
        mass = canal & ~cord_ & (squeeze > 0) & (y < centre - half_ap)
        if effaced == "both":
            mass |= canal & ~cord_ & (squeeze > 0.5) & (y < centre + 0.3 * half_ap) & (np.abs(x) > 3.5 * (1 - 0.3 * squeeze))
        total += np.where(cord_, 300.0, np.where(mass, mass_value, np.where(canal, 1000.0, 150.0)))
    image = (total / 27).reshape(grid.shape)
    if noise:
        image = image + np.random.default_rng(7).normal(0.0, noise, image.shape)
    return SequenceImage("T2", grid, image.astype(np.float32))


MASS_BOX = Box(np.array([0.0, -5.0, 0.0]), np.eye(3), np.array([3.0, 2.0, 8.0]))
CORD_SEED = Box(np.array([0.0, 0.0, 50.0]), np.eye(3), np.array([1.5, 1.5, 4.0]))


@pytest.mark.parametrize(
    ("mscc", "onset_mm", "effaced", "noise"),
    [(0.5, 1.0, "both", 0.0), (0.7, 1.0, "one", 0.0), (0.7, 20.0, "both", 0.0), (0.7, 20.0, "both", 20.0), (0.3, 20.0, "both", 20.0)],
)
def test_the_cord_is_followed_through_a_compression_beside_a_mass(mscc, onset_mm, effaced, noise):
    """Before the bridge the tracker stopped at the top edge of every one of these compressions
    (z = 12 mm abrupt, 30 mm gradual) and the cord below was never traced."""
    image = squeezed_cord(mscc, onset_mm, effaced, noise=noise)
    coverage, ends = cord.segment_cord(image, CORD_SEED, masses=[MASS_BOX])
    profile = cord.measure_profile(coverage.values >= 0.5, coverage.grid, coverage.values)
    z = profile.centreline.points[:, 2]
    assert ends == (False, False)
    assert z.min() < -70 and z.max() > 70  # followed to both ends of the field
    traced = set(np.round(z).astype(int))
    lost = np.concatenate(coverage.unfollowed)[:, 2] if coverage.unfollowed else np.zeros(0)
    # every slice of the field is traced or named as lost, and what is lost lies in the squeezed part
    assert len(traced) + len(lost) == image.grid.shape[0]
    assert np.all(np.abs(lost) <= 10.0 + onset_mm)
    assert np.median(profile.ap_mm[np.abs(z) >= 35]) == pytest.approx(6.0, rel=0.15)


def test_a_lost_cord_is_not_sought_beyond_away_from_a_mass():
    image = squeezed_cord(0.7, 1.0)
    coverage, ends = cord.segment_cord(image, CORD_SEED)
    assert ends == (True, False)
    lost = np.concatenate(coverage.unfollowed)
    assert lost[:, 2].max() <= 12.0 and lost[:, 2].min() < -70  # from where it was lost to the field's end



def test_the_cord_is_found_from_the_next_seed_slice_when_the_middle_one_fails():
    """A voxel of CSF signal (noise) at the seed's centre on its middle slice: the cord is found
    from the slice beside it. Before, the middle slice was the only one tried and the whole cord
    was lost ('no cord-like T2 tissue'), as on generated seed 29 of the sweep (a box over the
    thecal sac, its cord window 585-725 while the cord's inner voxels read 494-650: no levels at
    all). Fails before: InputError."""
    image, _ = tube_phantom()
    seed = Box(np.zeros(3), np.eye(3), np.array([1.0, 1.0, 2.0]))
    layout = cord._SliceLayout.of(image.grid)
    points = layout.positions(image.grid, np.unique(cord.voxel_indices(image.grid, seed)))
    slices = np.unique(points[:, 0])
    middle = slices[len(slices) // 2]
    centre = np.round(points[points[:, 0] == middle, 1:].mean(axis=0)).astype(int)
    stacked = layout.stack(image.voxels.copy())
    stacked[middle, centre[0] - 1:centre[0] + 2, centre[1] - 1:centre[1] + 2] = 1000.0
    spiked = SequenceImage("T2", image.grid, layout.unstack(stacked))
    coverage, ends = cord.segment_cord(spiked, seed)
    profile = cord.measure_profile(coverage.values >= 0.5, coverage.grid, coverage.values)
    assert ends == (False, False)
    assert len(profile.centreline.slices) >= 150


# --- The cord found behind the level points (no cord region) ----------------------------------

FOUND_SEED_CASES = {
    # T12 labelled: rays through the discs show a dip between the bright nucleus and the CSF (the
    # annulus) deeper than the cord's.
    "T12 anchor, rays through discs": (17, {}),
    # A scoliotic column leaves rays cast level with the single labelled body beside the canal far from it.
    "scoliotic 20 degrees, one thoracic anchor": (9, {"curvature": "scoliotic", "scoliosis_deg": 20.0, "healthy": True, "window_centre": "T6", "anchors": 1, "orientation": "sagittal", "thickness_mm": 2.0}),
    "kyphotic, axial stack": (24, {"curvature": "physiological", "thoracic_kyphosis_deg": 45.0, "healthy": True, "window_centre": "T8", "anchors": 2, "orientation": "axial", "thickness_mm": 3.0}),
}


@pytest.mark.parametrize("name", list(FOUND_SEED_CASES))
def test_the_first_seed_found_behind_the_labelled_bodies_lies_in_the_cord(name):
    """Issue 13 point 3: with no cord region the tracker starts from a box found behind the level
    points; the first box lies inside the generated spine's painted cord (semi-axes and centre of
    the cord's cross-section at its arc length, from the generator's own profiles)."""
    from spinegen.case import generate

    seed, fixed = FOUND_SEED_CASES[name]
    case = generate(seed, cord_roi="none", **fixed)
    image = SequenceImage("T2", Grid(tuple(case.grid.shape), case.grid.ijk_to_ras), case.images["T2"])
    centroids = {v["name"]: np.array(v["centroid"]) for v in case.truth["vertebrae"]}
    boxes = cord.seed_behind_bodies(image, [centroids[name] for name in case.anchors])
    assert boxes, "no seed found"
    spine = case.spine
    s, u, v = (float(value[0]) for value in spine.curve.local(boxes[0].center[None]))
    profile = {key: float(np.interp(s, spine.s, spine.profiles[key])) for key in ("cord_a", "cord_b", "cord_cu", "cord_cv")}
    assert profile["cord_a"] > 0, f"the seed lies past the conus (s {s:.0f} mm)"
    inside = ((u - profile["cord_cu"]) / profile["cord_a"]) ** 2 + ((v - profile["cord_cv"]) / profile["cord_b"]) ** 2
    assert inside <= 1.0, f"seed at u {u:.1f}, v {v:.1f} mm; cord centred at {profile['cord_cu']:.1f}, {profile['cord_cv']:.1f} with semi-axes {profile['cord_a']:.1f}, {profile['cord_b']:.1f}"


def test_sampling_between_voxel_centres_is_trilinear_and_nan_beyond_them():
    """A linear ramp is reproduced exactly between the voxel centres of a tilted, anisotropic grid, at
    next to the corner centres too, and nothing is read beyond the outermost centres (the Bilsky rays
    sample about a million points through this)."""
    matrix = np.eye(4)
    matrix[:3, :3] = np.diag([0.5, 0.7, 4.0]) @ np.array([[0.99, 0.1, 0.0], [-0.1, 0.99, 0.0], [0.0, 0.0, 1.0]])
    matrix[:3, 3] = [-100.0, -120.0, -80.0]
    grid = Grid((5, 7, 6), matrix)
    k, j, i = np.indices(grid.shape)
    image = SequenceImage("T2", grid, (i + 10.0 * j + 100.0 * k).astype(np.float32))
    ijk = np.random.default_rng(0).uniform(0, [5, 6, 4], (2000, 3))
    ijk[:3] = np.array([[5, 6, 4], [0, 0, 0], [5, 0, 4]]) - 1e-9 * np.array([[1, 1, 1], [-1, -1, -1], [1, -1, 1]])  # just inside the corner centres
    sampled = cord.sample_linear(image, grid.to_world(ijk))
    assert sampled == pytest.approx(ijk[:, 0] + 10 * ijk[:, 1] + 100 * ijk[:, 2], abs=1e-9)
    beyond = cord.sample_linear(image, grid.to_world(np.array([[5.01, 3, 2], [2, -0.01, 2], [2, 3, 4.2]])))
    assert np.isnan(beyond).all()


def _elliptic_tube(ap_mm: float, rl_mm: float, pixel_mm: float, centre_px: float) -> tuple[np.ndarray, Grid]:
    """A straight cord of an elliptic section along S as soft coverage (each voxel's share inside
    the ellipse, from a 20 x 20 subsampling), centred `centre_px` pixels into the plane."""
    size, sub = 40, 20
    centres = (np.arange(size * sub) + 0.5) / sub - centre_px  # pixels from the ellipse's centre
    inside = (centres[:, None] * pixel_mm / (ap_mm / 2)) ** 2 + (centres[None, :] * pixel_mm / (rl_mm / 2)) ** 2 <= 1  # (A, R)
    plane = inside.reshape(size, sub, size, sub).mean(axis=(1, 3)).astype(np.float32)
    volume = np.repeat(plane[None], 12, axis=0)  # numpy order (S, A, R)
    return volume, Grid(volume.shape, np.diag([pixel_mm, pixel_mm, pixel_mm, 1.0]))


@pytest.mark.parametrize("centre_px", [20.0, 20.5])
def test_the_ap_band_is_as_wide_as_it_says_wherever_the_cord_lies_on_the_grid(centre_px):
    """The AP is the mean AP over a 3 mm band through the centroid. Counted in whole 0.175 mm cells,
    the band held 17 or 18 of them as the cord lay against the grid: an ellipse of AP 7.1 mm on
    0.7 mm pixels read 6.54 mm centred on a pixel corner and 7.07 mm on a pixel centre, where its
    mean AP over the band is 7.00 mm. Fails before each cell's share of the band was counted."""
    ap, rl, band = 7.1, 10.5, 3.0
    weights, grid = _elliptic_tube(ap, rl, 0.7, centre_px)
    profile = cord.measure_profile(weights >= 0.5, grid, weights)
    x = np.linspace(-band / 2, band / 2, 2001)
    band_mean = ap * float(np.mean(np.sqrt(1 - (x / (rl / 2)) ** 2)))
    assert np.nanmedian(profile.ap_mm) == pytest.approx(band_mean, rel=0.01)
