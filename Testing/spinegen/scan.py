"""Imaging a generated spine: the acquisition grid, tissue fractions with partial volume, T1 and T2
signal, and the artefacts (coil bias field, Gibbs ringing, Rician noise).

Partial volume: each voxel is sampled at `n` points through its slice (one per SUBSLICE_MM of
thickness), and at each point every shape's edge is a linear ramp across the voxel's
in-plane footprint measured along the edge's normal (a plane cutting a box). Tissues are laid one
over another, outermost first (`over` compositing), so a voxel holds the mix of what it covers.
"""

from dataclasses import dataclass

import numpy as np

from .anatomy import knowledge
from .spine import Spine

VOXEL_BUDGET = 2_000_000  # voxels per volume; a larger field is cut down (head-foot last)
SAGITTAL_EXTENT = (120.0, 64.0)  # mm: AP in-plane, RL across the slices
AXIAL_EXTENT = (110.0, 110.0)  # mm: RL and AP in-plane
FOV_CENTRE_ANTERIOR_MM = 8.0
SUBSLICE_MM = 1.5  # through a thick slice, partial volume is sampled this often (finer in-slice: ramps)  # the field centres this far in front of the canal's axis


@dataclass
class Grid:
    shape: tuple[int, int, int]  # (k, j, i), numpy order
    ijk_to_ras: np.ndarray

    @property
    def spacing(self) -> np.ndarray:
        return np.linalg.norm(self.ijk_to_ras[:3, :3], axis=0)

    @property
    def axes(self) -> np.ndarray:
        """Unit direction of i, j, k as columns."""
        return self.ijk_to_ras[:3, :3] / self.spacing

    def world(self, ijk: np.ndarray) -> np.ndarray:
        return ijk @ self.ijk_to_ras[:3, :3].T + self.ijk_to_ras[:3, 3]


def rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    angle = np.radians(degrees)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


def acquisition_grid(spine: Spine) -> Grid:
    """Sagittal: i anterior to posterior, j superior to inferior, k right (DICOM's usual sagittal
    rows and columns); axial: i right to left, j anterior to posterior, k inferior to superior.
    Turned by the design's oblique angle about its axis; centred on the window's middle."""
    design = spine.design
    if design.orientation == "sagittal":
        axes = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]]).T
        extent = np.array([SAGITTAL_EXTENT[0], design.fov_si_mm, SAGITTAL_EXTENT[1]])
    else:
        axes = np.array([[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]]).T
        extent = np.array([AXIAL_EXTENT[0], AXIAL_EXTENT[1], design.fov_si_mm])
    axes = rotation(design.oblique_axis, design.oblique_deg) @ axes
    spacing = np.array([design.inplane_mm, design.inplane_mm, design.thickness_mm])
    counts = np.maximum(np.round(extent / spacing).astype(int), 8)
    head_foot = 1 if design.orientation == "sagittal" else 2
    # Cut the field down to the budget, to no less than 60 % of each extent nor less than what
    # holds a mass beside the spine (a field that misses the mass would make it untrue).
    least = 0.6 * extent
    if design.orientation == "sagittal":
        least[2] = max(least[2], _across_needed(spine))
    else:
        least[:2] = np.maximum(least[:2], _across_needed(spine))
    for axis in [a for a in range(3) if a != head_foot] + [head_foot]:
        if counts.prod() > VOXEL_BUDGET:
            counts[axis] = max(int(counts[axis] * VOXEL_BUDGET / counts.prod()), int(np.ceil(least[axis] / spacing[axis])))
    middle = 0.5 * (spine.window[0] + spine.window[1])
    centre = spine.curve.world(np.array([middle]), np.array([0.0]), np.array([FOV_CENTRE_ANTERIOR_MM]))[0]
    matrix = np.eye(4)
    matrix[:3, :3] = axes * spacing
    matrix[:3, 3] = centre - matrix[:3, :3] @ ((counts - 1) / 2)
    return Grid((int(counts[2]), int(counts[1]), int(counts[0])), matrix)


def _across_needed(spine: Spine) -> float:
    """Width (mm) a field centred on the canal needs right-left to hold every mass outside the
    canal with 5 mm to spare."""
    reach = [abs(mass.centre[1]) + mass.semi[1] + 5.0 for mass in spine.masses if not mass.epidural]
    return 2 * max(reach, default=0.0)


class _Footprint:
    """How wide a voxel is along a direction given in the local frame (u, v, s): the extent of
    its in-plane footprint (and of one sub-slice across it) along that direction in world space."""

    def __init__(self, frames: tuple[np.ndarray, np.ndarray, np.ndarray], grid: Grid, subslices: int):
        widths = grid.spacing / np.array([1.0, 1.0, subslices])
        axes = grid.axes
        # coefficients[frame][axis]: the frame vector's component along the grid axis, in mm of that axis
        self.coefficients = [[frame @ axes[:, x] * widths[x] for x in range(3)] for frame in frames]

    def subset(self, index: np.ndarray) -> "_Footprint":
        part = object.__new__(_Footprint)
        part.coefficients = [[c[index] for c in frame] for frame in self.coefficients]
        return part

    def __call__(self, nu: np.ndarray | float, nv: np.ndarray | float, ns: np.ndarray | float) -> np.ndarray:
        (u0, u1, u2), (v0, v1, v2), (s0, s1, s2) = self.coefficients
        width = np.abs(nu * u0 + nv * v0 + ns * s0)
        width += np.abs(nu * u1 + nv * v1 + ns * s1)
        width += np.abs(nu * u2 + nv * v2 + ns * s2)
        return np.maximum(width, 1e-3, out=width)


def _ramp(distance: np.ndarray, width: np.ndarray) -> np.ndarray:
    """The share of a voxel inside a shape from its signed distance to the edge (negative inside)."""
    return np.clip(0.5 - distance / width, 0.0, 1.0)


class _Sampler:
    """Shape fractions at a batch of points given by local coordinates."""

    def __init__(self, s: np.ndarray, u: np.ndarray, v: np.ndarray, footprint: _Footprint):
        self.s, self.u, self.v, self.footprint = s, u, v, footprint

    def subset(self, index: np.ndarray) -> "_Sampler":
        return _Sampler(self.s[index], self.u[index], self.v[index], self.footprint.subset(index))

    def ellipse(self, cu, cv, a, b) -> np.ndarray:
        a, b = np.maximum(a, 1e-3), np.maximum(b, 1e-3)
        du, dv = self.u - cu, self.v - cv
        radius = np.hypot(du / a, dv / b)
        gu, gv = du / a**2, dv / b**2
        gradient = np.hypot(gu, gv) + 1e-9
        distance = (radius - 1.0) / gradient
        inside = _ramp(distance, self.footprint(gu / gradient, gv / gradient, 0.0))
        return np.where((np.asarray(a) > 2e-3) & (np.asarray(b) > 2e-3), inside, 0.0)

    def slab(self, top: float, bottom: float) -> np.ndarray:
        return _ramp(np.maximum(top - self.s, self.s - bottom), self.footprint(0.0, 0.0, 1.0))

    def halfplane(self, direction: tuple[float, float], front: np.ndarray, slope: np.ndarray) -> np.ndarray:
        """The side of the plane q . n = front(s) that n points to (the mass's side)."""
        nu, nv = direction
        length = np.sqrt(1.0 + slope**2)
        distance = (front - (nu * self.u + nv * self.v)) / length
        distance = np.where(np.isfinite(distance), distance, 1e6)
        return _ramp(distance, self.footprint(-nu / length, -nv / length, slope / length))

    def band(self, low: float, high: float, along: str) -> np.ndarray:
        value = self.u if along == "u" else self.v
        normal = (1.0, 0.0) if along == "u" else (0.0, 1.0)
        return _ramp(np.maximum(low - value, value - high), self.footprint(*normal, 0.0))


Layer = tuple[str, np.ndarray | None, np.ndarray]


@dataclass
class _Canal:
    """The bony canal at the sampled points, shared by the arch, the fat and the mass."""

    a: np.ndarray
    b: np.ndarray
    outside: np.ndarray  # share of each voxel outside the canal
    behind: np.ndarray  # share behind the canal's front third (where the arch is)
    ring: np.ndarray  # the arch's outline around the canal: ligament, or bone at a level

    def subset(self, index: np.ndarray) -> "_Canal":
        return _Canal(*(getattr(self, name)[index] for name in ("a", "b", "outside", "behind", "ring")))


def tissue_fractions(spine: Spine, sampler: _Sampler) -> list[Layer]:
    """The layers at the sampled points, outermost first: (tissue, which points (None: all),
    their share of the voxel). A level's bones are worked out only at points near it."""
    at = lambda key: np.interp(sampler.s, spine.s, spine.profiles[key])  # noqa: E731
    layers = _muscles(spine, sampler) + _paraspinal_mass(spine, sampler)
    a, b = at("canal_a"), at("canal_b")
    outside = 1.0 - sampler.ellipse(0.0, 0.0, a, b)
    behind = sampler.band(-1e3, 0.3 * b.max(), "v")
    canal = _Canal(a, b, outside, behind, sampler.ellipse(0.0, -1.0, a + 5.0, b + 7.0) * outside * behind)
    layers.append(("ligament", None, canal.ring))
    for n, level in enumerate(spine.levels):
        near = np.flatnonzero((sampler.s > level.body_top - 2.0) & (sampler.s < level.disc_bottom + 2.0))
        if near.size:
            below = spine.levels[n + 1] if n + 1 < len(spine.levels) else None
            layers += [(tissue, near, share) for tissue, share in _level_layers(level, below, sampler.subset(near), canal.subset(near))]
    return layers + _canal_contents(spine, sampler, canal, at)


def _muscles(spine: Spine, sampler: _Sampler) -> list[Layer]:
    """The paraspinal muscles: an ellipse each side behind the arch, sized by the body's width."""
    body_rl = np.interp(sampler.s, [lv.centre_s for lv in spine.levels], [lv.dims["body_rl"] for lv in spine.levels])
    canal_b = np.interp(sampler.s, spine.s, spine.profiles["canal_b"])
    muscle_a, muscle_b = 0.25 * body_rl + 3.0, 0.3 * body_rl + 4.0
    muscle_v = -(canal_b + 7.0 + 0.9 * muscle_b)
    return [("muscle", None, sampler.ellipse(sign * (0.35 * body_rl + 8.0), muscle_v, muscle_a, muscle_b)) for sign in (-1.0, 1.0)]


def _paraspinal_mass(spine: Spine, sampler: _Sampler) -> list[Layer]:
    """Masses outside the canal (paraspinal, presacral): ellipsoids."""
    layers: list[Layer] = []
    for mass in spine.masses:
        if mass.epidural:
            continue
        cs, cu, cv = mass.centre
        hs, hu, hv = mass.semi
        radius = np.sqrt(((sampler.s - cs) / hs) ** 2 + ((sampler.u - cu) / hu) ** 2 + ((sampler.v - cv) / hv) ** 2)
        layers.append((f"mass:{mass.kind}", None, _ramp((radius - 1.0) * min(hu, hv), spine.design.inplane_mm)))
    return layers


def _level_layers(level, below, sampler: _Sampler, canal: _Canal) -> list[tuple[str, np.ndarray]]:
    """One vertebra's bone and the disc below it."""
    cortex = knowledge()["cortex_mm"]
    height = level.body_bottom - level.body_top
    body_a, body_b = level.dims["body_rl"] / 2, level.dims["body_ap"] / 2
    body_v = level.dims["canal_ap"] / 2 + body_b
    # Posterior elements: the arch behind the canal and the spinous process, from the body's
    # upper fifth to partway down its disc (the laminae slope down).
    arch_top, arch_bottom = level.body_top + 0.15 * height, level.body_bottom + 0.6 * (level.disc_bottom - level.body_bottom)
    slab = sampler.slab(arch_top, arch_bottom)
    inner_slab = sampler.slab(arch_top + cortex, arch_bottom - cortex)
    # The spinous process: a bar 6 mm wide and 28 mm long from the arch, as tall as the lower
    # two thirds of the arch.
    spinous_slab = sampler.slab(arch_top + 0.35 * (arch_bottom - arch_top), arch_bottom)
    reach = canal.b.max() + 28.0
    spinous = sampler.band(-3.0, 3.0, "u") * sampler.band(-reach, 0.0, "v") * canal.outside * spinous_slab
    spinous_inner = sampler.band(-3.0 + cortex, 3.0 - cortex, "u") * sampler.band(-(reach - cortex), 0.0, "v") * spinous_slab
    grown_canal = 1.0 - sampler.ellipse(0.0, 0.0, canal.a + cortex, canal.b + cortex)
    arch_inner = sampler.ellipse(0.0, -1.0, canal.a + 5.0 - cortex, canal.b + 7.0 - cortex) * canal.behind * inner_slab
    layers = [
        ("cortex", np.maximum(canal.ring * slab, spinous)),
        ("post_marrow", np.maximum(arch_inner, spinous_inner) * grown_canal),
        # Body: cortex 1 mm thick around marrow.
        ("cortex", sampler.ellipse(0.0, body_v, body_a, body_b) * sampler.slab(level.body_top, level.body_bottom)),
        ("marrow", sampler.ellipse(0.0, body_v, body_a - cortex, body_b - cortex) * sampler.slab(level.body_top + cortex, level.body_bottom - cortex)),
    ]
    if below is None:
        return layers
    disc_a = 0.51 * (level.dims["body_rl"] + below.dims["body_rl"]) / 2
    disc_b = 0.51 * (level.dims["body_ap"] + below.dims["body_ap"]) / 2
    disc_v = 0.5 * (body_v + below.dims["canal_ap"] / 2 + below.dims["body_ap"] / 2)
    disc = sampler.ellipse(0.0, disc_v, disc_a, disc_b) * sampler.slab(level.body_bottom, below.body_top)
    if level.name.startswith("S"):
        return layers + [("sacral_disc", disc)]
    thickness = below.body_top - level.body_bottom
    nucleus = sampler.ellipse(0.0, disc_v - 0.1 * disc_b, 0.55 * disc_a, 0.55 * disc_b)
    return layers + [("annulus", disc), ("nucleus", nucleus * sampler.slab(level.body_bottom + 0.15 * thickness, below.body_top - 0.15 * thickness))]


def _canal_contents(spine: Spine, sampler: _Sampler, canal: _Canal, at) -> list[Layer]:
    """Epidural fat, an epidural mass, the dura, the CSF and the cord, each over the last."""
    dura = knowledge()["dura_mm"]
    layers: list[Layer] = [("epidural_fat", None, 1.0 - canal.outside)]
    sac_cv, sac_a, sac_b = at("sac_cv"), at("sac_a"), at("sac_b")
    cord_cu, cord_cv, cord_a, cord_b = at("cord_cu"), at("cord_cv"), at("cord_a"), at("cord_b")
    free, free_inner = 1.0, 1.0  # share of each voxel on the cord's side of the mass (and of its dura)
    mass = spine.mass
    if mass is not None and mass.epidural:
        front = at("front")
        if mass.direction is not None:
            slope = np.interp(sampler.s, spine.s, np.gradient(np.where(np.isfinite(spine.profiles["front"]), spine.profiles["front"], 0.0), spine.s))
            slope = np.where(np.isfinite(front), slope, 0.0)
            taken = sampler.halfplane(mass.direction, front, slope)
            free = 1.0 - taken
            free_inner = 1.0 - sampler.halfplane(mass.direction, front - dura, slope)
        else:
            reach = np.where(np.isfinite(front), front, 1e3)
            free = sampler.ellipse(cord_cu, cord_cv, cord_a + reach, cord_b + reach)
            taken = 1.0 - free
            free_inner = sampler.ellipse(cord_cu, cord_cv, cord_a + reach - dura, cord_b + reach - dura)
        layers.append((f"mass:{mass.kind}", None, taken * (1.0 - canal.outside)))
    layers.append(("dura", None, sampler.ellipse(0.0, sac_cv, sac_a, sac_b) * free))
    layers.append(("csf", None, sampler.ellipse(0.0, sac_cv, sac_a - dura, sac_b - dura) * free_inner))
    layers.append(("cord", None, sampler.ellipse(cord_cu, cord_cv, cord_a, cord_b)))
    return layers


def signal_tables(spine: Spine) -> dict[str, dict[str, float]]:
    """Each tissue's relative signal per sequence for this case: the knowledge file's values,
    each scaled by up to +-10 % (drawn from the case's seed)."""
    rng = np.random.default_rng([spine.design.seed, 2])
    known = knowledge()
    tables: dict[str, dict[str, float]] = {"T1": {}, "T2": {}}
    for name, values in list(known["tissues"].items()) + [(f"mass:{k}", v) for k, v in known["masses"].items()]:
        for sequence in tables:
            tables[sequence][name] = values[sequence] * rng.uniform(0.9, 1.1)
    return tables


def render(spine: Spine, grid: Grid, tables: dict[str, dict[str, float]]) -> dict[str, np.ndarray]:
    """Noise-free images (float32, relative units) on the grid, one per sequence."""
    subslices = max(1, int(round(grid.spacing[2] / SUBSLICE_MM)))
    images = {sequence: np.zeros(grid.shape, np.float32) for sequence in tables}
    nk, nj, ni = grid.shape
    jj, ii = np.meshgrid(np.arange(nj), np.arange(ni), indexing="ij")
    for k in range(nk):
        for sub in range(subslices):
            offset = (sub + 0.5) / subslices - 0.5
            ijk = np.stack([ii.ravel(), jj.ravel(), np.full(ii.size, k + offset)], axis=1).astype(float)
            s, u, v = spine.curve.local(grid.world(ijk))
            footprint = _Footprint(spine.curve.frame(s), grid, subslices)
            sampler = _Sampler(s, u, v, footprint)
            values = {sequence: np.full(s.shape, table["soft"]) for sequence, table in tables.items()}
            for tissue, where, share in tissue_fractions(spine, sampler):
                for sequence, table in tables.items():
                    if where is None:
                        values[sequence] += share * (table[tissue] - values[sequence])
                    else:
                        values[sequence][where] += share * (table[tissue] - values[sequence][where])
            for sequence in tables:
                images[sequence][k] += values[sequence].reshape(nj, ni) / subslices
    return images


def add_artefacts(images: dict[str, np.ndarray], spine: Spine, grid: Grid) -> dict[str, np.ndarray]:
    """Bias field, Gibbs ringing and Rician noise, then scanner-like integer values.

    Bias: a smooth multiplicative field exp(bias * g . x / 100 mm) along a random direction g
    (a receive coil's fall-off), the same for both sequences. Gibbs: the outer `gibbs` share of
    k-space zeroed along both in-plane axes (a truncated acquisition rings at sharp edges). Noise:
    complex Gaussian of SD = (brightest tissue's signal) / SNR, magnitude taken (Rician)."""
    design = spine.design
    rng = np.random.default_rng([design.seed, 3])
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    nk, nj, ni = grid.shape
    step = grid.ijk_to_ras[:3, :3].T @ direction  # mm along the direction per step in i, j, k
    along = sum(np.arange(n, dtype=np.float32).reshape(shape) * step[axis] - (n - 1) / 2 * step[axis]
                for axis, n, shape in ((0, ni, (1, 1, -1)), (1, nj, (1, -1, 1)), (2, nk, (-1, 1, 1))))
    bias = np.exp(np.float32(design.bias / 100.0) * along)
    out = {}
    for sequence, image in images.items():
        scale = rng.uniform(700, 1400)
        image = image * bias * scale
        if design.gibbs > 0:
            image = _truncate_kspace(image, design.gibbs)
        sigma = scale * max(knowledge()["tissues"]["csf"][sequence], knowledge()["tissues"]["epidural_fat"][sequence]) / design.snr
        noisy = np.hypot(image + rng.normal(0, sigma, image.shape).astype(np.float32), rng.normal(0, sigma, image.shape).astype(np.float32))
        out[sequence] = np.clip(np.round(noisy), 0, 32767).astype(np.int16)
    return out


def _truncate_kspace(image: np.ndarray, share: float) -> np.ndarray:
    for axis in (1, 2):
        spectrum = np.fft.fft(image, axis=axis)
        frequencies = np.abs(np.fft.fftfreq(image.shape[axis]))
        keep = (frequencies <= 0.5 * (1 - share)).astype(float)
        shape = [1, 1, 1]
        shape[axis] = -1
        image = np.real(np.fft.ifft(spectrum * keep.reshape(shape), axis=axis))
    return image
