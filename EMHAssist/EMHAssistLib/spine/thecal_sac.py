"""The thecal sac (the CSF space inside the dura) around the cord, section by section, from a T2-like image.

On T2 the CSF is the brightest tissue in the canal: brighter than the cord it surrounds, the
epidural fat outside the dura, and the dark dura, ligaments and bone. On each cord section (the
plane perpendicular to the centreline at one of the profile's slices) rays leave the cord's centre
every few degrees; along each the sac runs from the cord's edge outward while the signal stays
CSF-like, and ends where it falls (dura, fat, bone) or where the grown mass begins. What each ray
finds is kept: the cord's edge, the sac's edge, where the mass begins, whether CSF lies just outside
the cord. The Bilsky grade (`bilsky.py`) and the canal compromise are read from these sections.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..settings import bilsky_settings
from ..geometry import Labelmap
from ..inputs.plain import SequenceImage
from .cord import Cord, sample_linear
from .masses import MassSegment


@dataclass(frozen=True)
class Sections:
    """Rays across every cord section, one row per profile slice, one column per ray direction
    (angle 0 right, 90 degrees anterior, in the section's own right/anterior frame). Radii in mm
    from the centreline point; `mass_mm` is inf on a ray that meets no mass within reach."""

    angles: np.ndarray  # (R,) radians
    cord_mm: np.ndarray  # (N, R) the cord's edge: its measured AP and RL as an ellipse
    sac_mm: np.ndarray  # (N, R) the sac's outer edge; the cord's edge where no CSF lies beyond it
    mass_mm: np.ndarray  # (N, R) the first mass sample along the ray
    csf_beside_cord: np.ndarray  # (N, R) bool: CSF-like signal just outside the cord's edge
    csf_before_mass: np.ndarray  # (N, R) bool: CSF-like signal between the cord's edge and the mass
    resolved: np.ndarray  # (R,) or (N, R) bool: the image resolves the CSF along the ray (voxels thin enough across it)
    measured: np.ndarray  # (N,) bool: the section has a cord diameter to start from
    cord_signal: float
    csf_signal: float

    def sac_area_mm2(self) -> np.ndarray:
        """Area inside the sac's outline on each section (the polygon of the ray ends; the cord included)."""
        step = 2 * np.pi / len(self.angles)
        return 0.5 * np.sum(self.sac_mm**2, axis=1) * step

    def sac_ap_mm(self) -> np.ndarray:
        """The sac's anterior-posterior diameter through the cord's centre on each section."""
        anterior = int(np.argmin(np.abs(self.angles - np.pi / 2)))
        posterior = int(np.argmin(np.abs(self.angles - 3 * np.pi / 2)))
        return self.sac_mm[:, anterior] + self.sac_mm[:, posterior]


@dataclass(frozen=True)
class Rays:
    """What the rays of every section read that no mass changes: where they run and the image's
    signal along them. Cast once per cord and image (`cast_rays`); the live panel keeps them while
    only the mass ROI moves, as sampling them is most of the grade's time (36 rays of 57 samples
    on each of a few hundred sections, trilinear)."""

    angles: np.ndarray  # (R,) radians
    radii: np.ndarray  # (S,) mm from the centreline point
    cord_mm: np.ndarray  # (N, R) the cord's edge: its measured AP and RL as an ellipse
    usual_cord_mm: np.ndarray  # (R,) the cord's usual edge: its median AP and RL over the measured sections as an ellipse
    points: np.ndarray  # (N * R * S, 3) world
    signal: np.ndarray  # (N, R, S) the image, trilinear
    extent: np.ndarray  # (N, R) a voxel's length along each ray
    measured: np.ndarray  # (N,) bool: the section has a cord diameter to start from
    low: np.ndarray  # (N, 3) least world coordinates of each section's samples
    high: np.ndarray  # (N, 3) greatest

    @cached_property
    def outside_cord(self) -> np.ndarray:
        """(N, R, S) bool: the samples at or beyond the cord's edge."""
        return self.radii[None, None, :] >= self.cord_mm[:, :, None]

    @cached_property
    def cord_signal(self) -> float:
        """The cord's own signal: the median over the inner half of every measured section (nan without one)."""
        inner = (self.radii[None, None, :] <= 0.5 * self.cord_mm[:, :, None]) & self.measured[:, None, None]
        values = self.signal[inner & np.isfinite(self.signal)]
        return float(np.median(values)) if values.size else float("nan")

    @cached_property
    def near_cord(self) -> np.ndarray:
        """(N, R, S) bool: the samples within `csf_search_mm` outside a measured section's cord, with a
        signal: where the CSF's signal is read, but for those in the mass."""
        reach = self.cord_mm[:, :, None] + bilsky_settings().thecal_sac.csf_search_mm
        return self.outside_cord & (self.radii[None, None, :] <= reach) & self.measured[:, None, None] & np.isfinite(self.signal)

    @cached_property
    def csf_share(self) -> np.ndarray:
        """(N, R) the share of the cord-CSF contrast a sample must reach to be CSF-like: along a ray a
        voxel spans more than the CSF layer is deep, the CSF is averaged with what lies beside it, so
        the share asked for falls with the voxel's length."""
        config = bilsky_settings().thecal_sac
        return config.csf_fraction_of_contrast * np.minimum(1.0, config.resolved_voxel_mm / self.extent)

    @cached_property
    def real_edge_mm(self) -> np.ndarray:
        """(N, R) the cord's real edge: the measured one, or the cord's usual one where the section
        measures it narrower (a cord traced too thin leaves its real edge, and the CSF beside it and
        the sac's start, farther out)."""
        return np.maximum(self.cord_mm, self.usual_cord_mm[None, :])

    @cached_property
    def beside_cord(self) -> np.ndarray:
        """(N, R, S) bool: where CSF beside the cord is sought: beyond the measured edge, up to
        `beside_cord_mm` and half a voxel beyond the real one (`real_edge_mm`)."""
        edge = self.real_edge_mm + bilsky_settings().thecal_sac.beside_cord_mm + 0.5 * self.extent
        return self.outside_cord & (self.radii[None, None, :] <= edge[:, :, None])

    def in_mass(self, mass: MassSegment | None) -> np.ndarray:
        """(N, R, S) bool: the samples inside the mass. Only the samples within the mass's bounds
        (on the sections whose samples reach them) are looked up: a sample outside them is outside it."""
        inside = np.zeros(self.signal.shape, dtype=bool)
        if mass is None:
            return inside
        corners = Labelmap(mass.grid, mass.mask).corners_world()
        if corners.size == 0:
            return inside
        margin = float(np.linalg.norm(mass.grid.spacing))  # a voxel's diagonal, for rounding to the nearest voxel
        low, high = corners.min(axis=0) - margin, corners.max(axis=0) + margin
        near = np.flatnonzero(np.all((self.high >= low) & (self.low <= high), axis=1))
        per_section = self.signal.shape[1] * self.signal.shape[2]
        at = (near[:, None] * per_section + np.arange(per_section)[None, :]).ravel()
        points = self.points[at]  # gathered once
        within = np.all((points >= low) & (points <= high), axis=1)
        inside.reshape(-1)[at[within]] = Labelmap(mass.grid, mass.mask).contains(points[within])
        return inside


def cast_rays(image: SequenceImage, cord: Cord) -> Rays:
    """The rays of every section of the cord's profile on `image`, and the signal along them."""
    config = bilsky_settings().thecal_sac
    profile = cord.profile
    centreline = profile.centreline
    angles = np.radians(np.arange(0.0, 360.0, config.ray_step_deg))
    radii = np.arange(0.0, config.reach_mm + 1e-9, config.sample_mm)
    count = len(centreline.points)
    measured = np.isfinite(profile.ap_mm) & np.isfinite(profile.rl_mm)
    half_ap = np.where(measured, profile.ap_mm / 2, 0.0)
    half_rl = np.where(measured, profile.rl_mm / 2, 0.0)
    # The cord's edge on each ray: its measured diameters as an ellipse about the centreline point.
    cord_mm = _ellipse_radii(half_ap[:, None], half_rl[:, None], angles[None, :])
    usual = (np.median(profile.ap_mm[measured]) / 2, np.median(profile.rl_mm[measured]) / 2) if measured.any() else (0.0, 0.0)
    cos, sin = np.cos(angles), np.sin(angles)
    frames = centreline.frames
    right = np.array([frame[0] for frame in frames])
    anterior = np.array([frame[1] for frame in frames])
    directions = cos[None, :, None] * right[:, None, :] + sin[None, :, None] * anterior[:, None, :]  # (N, R, 3)
    points = centreline.points[:, None, None, :] + radii[None, None, :, None] * directions[:, :, None, :]  # (N, R, S, 3)
    flat = points.reshape(-1, 3)
    signal = sample_linear(image, flat).reshape(count, len(angles), len(radii))
    return Rays(angles, radii, cord_mm, _ellipse_radii(*usual, angles), flat, signal, _voxel_extent(image, directions), measured,
                points.reshape(count, -1, 3).min(axis=1), points.reshape(count, -1, 3).max(axis=1))


def trace_sections(image: SequenceImage, cord: Cord, mass: MassSegment | None, rays: Rays | None = None) -> Sections:
    """The rays of every section of the cord's profile on `image` (T2-like: CSF bright); `rays`:
    `cast_rays(image, cord)` cast before (they do not depend on the mass), cast here when not given."""
    config = bilsky_settings().thecal_sac
    rays = rays if rays is not None else cast_rays(image, cord)
    angles, radii, cord_mm, signal, extent, measured = rays.angles, rays.radii, rays.cord_mm, rays.signal, rays.extent, rays.measured
    in_mass = rays.in_mass(mass)
    outside_cord = rays.outside_cord  # this and the other masks of `rays` read no mass: kept while the mass moves
    cord_signal, csf_signal = _signals(rays, in_mass)
    csf_like = (signal >= cord_signal + rays.csf_share[:, :, None] * (csf_signal - cord_signal)) & ~in_mass
    csf_beside_cord = np.any(csf_like & rays.beside_cord, axis=2) & measured[:, None]
    mass_mm = np.where(np.any(in_mass & outside_cord, axis=2), radii[np.argmax(in_mass & outside_cord, axis=2)], np.inf)
    csf_before_mass = np.any(csf_like & outside_cord & (radii[None, None, :] < mass_mm[:, :, None]), axis=2)
    sac_mm = _sac_edges(csf_like, in_mass, outside_cord, radii, cord_mm, rays.real_edge_mm, config.sac_start_within_mm)
    return Sections(angles, np.where(measured[:, None], cord_mm, np.nan), np.where(measured[:, None], sac_mm, np.nan), mass_mm, csf_beside_cord, csf_before_mass,
                    extent <= config.resolved_voxel_mm, measured, cord_signal, csf_signal)


def _ellipse_radii(half_ap: np.ndarray, half_rl: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """The distance from an ellipse's centre to its edge along each ray (angle 0 right, 90 degrees anterior)."""
    return 1.0 / np.sqrt((np.cos(angles) / np.maximum(half_rl, 1e-6)) ** 2 + (np.sin(angles) / np.maximum(half_ap, 1e-6)) ** 2)


def _voxel_extent(image: SequenceImage, directions: np.ndarray) -> np.ndarray:
    """How long a voxel is along each ray (mm): its extent along the direction, the sum of each
    grid axis's spacing times the direction's share of it. A 4 mm sagittal slice spans 4 mm along a
    right-left ray, across which a 2 mm layer of CSF is averaged with cord and fat."""
    axes = image.grid.ijk_to_world[:3, :3]  # columns: one voxel step along i, j, k in world mm
    return np.abs(directions @ axes).sum(axis=-1)


def _signals(rays: Rays, in_mass: np.ndarray) -> tuple[float, float]:
    """The cord's own signal (`Rays.cord_signal`) and the CSF's (a high percentile of what lies within
    a few millimetres outside the cord, the mass's samples left out: the brightest tissue there on T2);
    both nan when either has no sample."""
    csf_values = rays.signal[rays.near_cord & ~in_mass]
    if np.isnan(rays.cord_signal) or csf_values.size == 0:
        return float("nan"), float("nan")
    return rays.cord_signal, float(np.percentile(csf_values, bilsky_settings().thecal_sac.csf_percentile))


def _sac_edges(csf_like: np.ndarray, in_mass: np.ndarray, outside_cord: np.ndarray, radii: np.ndarray, cord_mm: np.ndarray, real_edge_mm: np.ndarray,
               start_within: float) -> np.ndarray:
    """Along each ray, the end of the first run of CSF-like samples outside the measured edge
    (`cord_mm`) that starts within `start_within` mm of the cord's real one (`real_edge_mm`: the
    measured edge, or the usual one where the section is traced thinner); the measured edge itself
    where none does (the sac lies on the cord there). A run ends at the first sample that is not
    CSF-like (dura, fat, bone, mass)."""
    started = csf_like & outside_cord & (radii[None, None, :] <= real_edge_mm[:, :, None] + start_within)
    has_run = started.any(axis=2)
    first = np.argmax(started, axis=2)
    index = np.arange(len(radii))[None, None, :]
    stop = ~csf_like | in_mass
    after = stop & (index > first[:, :, None])
    last = np.where(after.any(axis=2), np.argmax(after, axis=2), len(radii)) - 1
    step = radii[1] - radii[0]
    return np.where(has_run, radii[np.clip(last, 0, len(radii) - 1)] + step / 2, cord_mm)
