"""Synthetic sagittal spine MRI studies: EMHAssist's built-in cases and test data.

A case is a JSON spec in `data/cases/` (mass levels and position, cord compression, body
lesions, per-case tissue signal, field of view); the signal of every tissue on every sequence
comes from `data/tissue_signal.json`, a child's size from `data/body_size.json`. The anatomy runs
from C7 to the sacrum and is analytic: each structure is a signed distance in a frame that follows
the spine's curves (x to the patient's right, u anterior from the canal centre, t along the spine:
thoracic kyphosis, lumbar lordosis, the backward-tilted sacrum), so every voxel grid, oblique or
not, samples the same patient in world (RAS) space. A case images the thoracic station (T1 to L1)
unless its spec asks for a composed field over other levels. Sequences are painted tissue by tissue with soft edges (partial volume),
multiplied by a smooth bias field and given Rician noise.

Qt- and MRML-free. Arrays follow Slicer's numpy order [k, j, i]; matrices map (i, j, k, 1) to
(R, A, S, 1). Research and teaching data only.
"""

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from functools import reduce
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..knowledge import DATA_DIR

CASES_DIR = DATA_DIR / "cases"
SIGNAL_FILE = DATA_DIR / "tissue_signal.json"
BODY_SIZE_FILE = DATA_DIR / "body_size.json"


@dataclass(frozen=True)
class BoxSpec:
    """An ROI box in world (RAS) millimetres."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]  # full edge lengths along the box axes
    axes: tuple[tuple[float, float, float], ...]  # box x, y, z axes as unit RAS vectors


@dataclass(frozen=True)
class SequenceImage:
    role: str
    image: np.ndarray  # float32 [k, j, i], bias field and Rician noise
    clean: np.ndarray  # float32, same grid, bias field without noise
    ijk_to_ras: np.ndarray  # 4x4 float64


@dataclass(frozen=True)
class SyntheticStudy:
    name: str
    title: str
    story: str
    expected: str
    sequences: dict[str, SequenceImage]
    labels: np.ndarray  # uint8 tissue labels on the T2 grid
    label_names: dict[int, str]
    label_grid: np.ndarray  # 4x4 ijk_to_ras of `labels`
    rois: dict[str, list[BoxSpec]]  # "mass": one box for each separate site of masses
    level_centres: dict[str, tuple[float, float, float]]
    mass_levels: tuple[str, str]  # first and last level of the mass spans
    mass_spans: tuple[tuple[str, str], ...]  # the levels the analysis should report, superior first
    compression_levels: tuple[str, str] | None
    clinical: dict


LABEL_NAMES: dict[int, str] = {
    1: "vertebral_body",
    2: "disc",
    3: "csf",
    4: "cord",
    5: "epidural_fat",
    6: "muscle",
    7: "mass",
    8: "cortical_bone",
    9: "annulus",
    10: "posterior_element",
    11: "ligament",
    12: "fat",
    13: "soft_tissue",
    14: "lung",
    15: "vessel",
    16: "body_lesion",
    17: "nerve_root",
}
_LABEL_IDS = {name: label for label, name in LABEL_NAMES.items()}
_LABEL_GRID_ROLE = "T2"
# The default field: a thoracic station (fixed protocols below) with level points from T1 to L1.
THORACIC_STATION = ("T1", "L1")

# --- Anatomy in the spine frame, millimetres -------------------------------------------------
# Canal centre is u = 0; the posterior walls of bodies and discs are flat at u = +8.
CANAL_ANTERIOR_WALL = 8.0
BODY_CORTEX, POSTERIOR_CORTEX = 1.5, 1.0
RIB_RADIUS = 3.5
# An expanded rib swells from its head to this fraction of the way from tubercle to angle.
RIB_EXPANSION_REACH = 0.5
ARCH_THICKNESS, LIGAMENTUM_FLAVUM_THICKNESS = 5.5, 3.0
PEDICLE_LAMINA_BOUNDARY_U = -3.0  # pedicles lie anterior to it, laminae posterior
SKIN_U, SUBCUTANEOUS_FAT_U = -55.0, -46.0
MUSCLE_FRONT_U, MUSCLE_MIDLINE_GAP, MUSCLE_HALF_WIDTH, MUSCLE_HALF_DEPTH = -8.0, 2.5, 44.0, 26.0
MUSCLE_ROI_X, MUSCLE_ROI_U = 18.0, -30.0  # mid erector spinae, clear of ribs and processes
LUNG_MEDIAL_X, LUNG_POSTERIOR_U = 17.0, -14.0
AORTA_X, AORTA_RADIUS, AORTA_GAP = -15.0, 11.0, 1.0
# The thecal sac ends in the middle of S2, tapering over its last few millimetres (this cone's
# radius grows by THECAL_SAC_TAPER per millimetre upwards); below it the sacral canal narrows to
# an AP depth of CANAL_ANTERIOR_WALL - SACRAL_CANAL_END_U at the bottom of S5.
THECAL_SAC_END_LEVEL, THECAL_SAC_TAPER, SACRAL_CANAL_END_U = "S2", 0.4, 0.0
# Schematic cauda equina: roots (x, u at the sac's end) fanning out from the conus, lying back in
# the sac as they do in a supine patient.
NERVE_ROOT_ENDS = ((1.5, -1.0), (3.2, -2.0), (4.6, -0.5), (2.4, -3.4))
NERVE_ROOT_RADIUS = 0.6
# Posterior mediastinal fat in front of the bodies, between the lungs: it outlines the anterior
# cortex on T1 as on real images, instead of bone abutting uniform soft tissue.
MEDIASTINAL_FAT_DEPTH, MEDIASTINAL_FAT_HALF_WIDTH = 7.0, 16.0
# The same layer in front of the sacrum is the presacral and pelvic fat, deeper and wider by up to
# this much (mm; reached at PELVIC_FAT_FULL_LEVEL's centre, nothing above L5's): a presacral mass lies in fat.
PELVIC_FAT_EXTRA_DEPTH, PELVIC_FAT_EXTRA_HALF_WIDTH, PELVIC_FAT_FULL_LEVEL = 28.0, 30.0, "S2"
# A mass stays this far from an uncompressed cord and overlaps a compressed one, which the cord
# then paints over, so that the mass moulds itself onto the compressed cord.
MASS_CORD_GAP, MASS_CORD_OVERLAP = 1.0, 1.0
# Lobule length / pitch: neighbours overlap, leaving notches a few millimetres deep while the
# necks between lobules stay about 5 mm thick, so that the lobules read as one T5-T8 process
# and a segmentation grown from one lobule (with a one-voxel opening) keeps the others.
LOBULE_OVERLAP = 1.22
# A lobule over compressed cord touches it along the middle half of its length; CSF may remain
# in the notches between lobules, as between the separate masses of seed 000.
LOBULE_CONTACT = 0.5
ALONG_SPINE = (-460.0, 250.0)  # t range of every modelled structure (C7 to S5 lie within it)

# Kyphosis: down to LORDOSIS_START_Z the canal's AP position is a parabola in z with its most
# posterior point at T7 (the thoracic station every thoracic case images).
KYPHOSIS_APEX_LEVEL, KYPHOSIS_RISE = "T7", 12.0  # mm forward at T1's top and L1's bottom
# Below the L2-L3 disc (beyond the thoracic station's field, so thoracic cases are unchanged) the
# centre line follows its tangent angle from vertical, in degrees, positive while it runs forward
# as it descends, linear between these points (vertebra, "top", "centre" or "bottom"): lordosis
# most anterior at L3-L4, a sacral slope (S1's top against the horizontal) of about 35 degrees and
# L1-S1 lordosis of about 45 (usual adult values), the sacrum curving forward again towards its
# tip. The bends are spread over several levels: the skin, at a fixed distance behind the canal,
# must not fold behind the lumbosacral junction.
LORDOSIS_START_Z = -200.0
LUMBOSACRAL_ANGLES = (
    ("L3", "centre", 4.0),
    ("L4", "centre", -8.0),
    ("L5", "centre", -20.0),
    ("S1", "top", -33.0),
    ("S1", "centre", -40.0),
    ("S2", "centre", -44.0),
    ("S3", "centre", -36.0),
    ("S5", "bottom", -12.0),
)
CENTRE_LINE_STEP = 0.25  # mm of arc between the tabulated points of the lumbosacral curve


@dataclass(frozen=True)
class _CanalSection:
    """The canal's cross-section and its contents, in the spine frame (mm): the bony canal's ellipse
    about the canal centre (cut flat in front by the bodies at CANAL_ANTERIOR_WALL), the dura's and
    the cord's centres and semi-axes, and how far a compression pushes the cord's far side into the
    CSF at its peak. These are an adult's; a young child's are larger against its body (`section_scale`)."""

    canal_semi_ap: float = 9.0
    canal_semi_rl: float = 8.5
    dura_centre_u: float = 0.8
    dura_semi_ap: float = 6.0
    dura_semi_rl: float = 7.2
    cord_centre_u: float = 0.3
    cord_semi_ap: float = 3.25
    cord_semi_rl: float = 4.25
    cord_max_displacement: float = 1.5

    def scaled(self, factor: float) -> "_CanalSection":
        """Every dimension times `factor`, about the canal centre; the bodies' walls stay where they are."""
        return _CanalSection(*(value * factor for value in astuple(self)))


ADULT_SECTION = _CanalSection()


@dataclass(frozen=True)
class _VertebraShape:
    name: str
    height: float  # body height along the spine
    depth: float  # body AP depth
    width: float  # body RL width
    disc_below: float
    spinous: tuple[float, float, float]  # length, drop along the spine, radius
    has_ribs: bool
    ala: float = 0.0  # a sacral segment's lateral mass reaches this far beyond its body's side


def _vertebra_table() -> list[_VertebraShape]:
    """C7 to S5; thoracic bodies grow steadily (T1 about 15 x 16 x 27 mm, T12 about 24 x 28 x 40).

    The sacral segments (S1 about 24 x 32 x 48 mm, narrowing to S5) are fused: vestigial discs of
    1-2 mm, their posterior elements one plate (a segment with an `ala` is sacral).
    """
    thoracic = []
    for index in range(12):
        fraction = index / 11
        height = 14.5 + 9.0 * fraction
        thoracic.append(
            _VertebraShape(
                name=f"T{index + 1}",
                height=height,
                depth=16.0 + 12.0 * fraction,
                width=27.0 + 13.0 * fraction,
                disc_below=4.0 + 2.5 * fraction,
                spinous=(24.0, 0.8 * height + 6.0 - 10.0 * fraction, 3.6),  # steep mid-thoracic
                has_ribs=True,
            )
        )
    cervical = _VertebraShape("C7", 13.5, 16.0, 26.0, 4.5, (26.0, 8.0, 3.5), False)
    lumbar = [
        _VertebraShape("L1", 25.0, 30.0, 42.0, 8.0, (26.0, 4.0, 4.5), False),
        _VertebraShape("L2", 26.0, 31.0, 44.0, 9.0, (26.0, 4.0, 4.5), False),
        # Broad, nearly horizontal lumbar spinous processes ("hatchets").
        _VertebraShape("L3", 27.0, 33.0, 47.0, 10.0, (24.0, 2.0, 7.0), False),
        _VertebraShape("L4", 27.0, 34.0, 50.0, 10.0, (22.0, 2.0, 7.0), False),
        _VertebraShape("L5", 26.0, 34.0, 52.0, 9.0, (18.0, 2.0, 6.0), False),
    ]
    sacral = [
        _VertebraShape("S1", 24.0, 32.0, 48.0, 2.0, (8.0, 2.0, 3.0), False, ala=34.0),
        _VertebraShape("S2", 21.0, 27.0, 40.0, 1.5, (7.0, 2.0, 3.0), False, ala=26.0),
        _VertebraShape("S3", 18.0, 22.0, 32.0, 1.5, (6.0, 2.0, 2.5), False, ala=16.0),
        _VertebraShape("S4", 14.0, 17.0, 24.0, 1.2, (5.0, 2.0, 2.5), False, ala=8.0),
        _VertebraShape("S5", 11.0, 13.0, 18.0, 1.0, (4.0, 2.0, 2.0), False, ala=3.0),
    ]
    return [cervical, *thoracic, *lumbar, *sacral]


@dataclass(frozen=True)
class _Vertebra:
    shape: _VertebraShape
    top: float  # t of the superior endplate
    disc_above: float

    @property
    def name(self) -> str:
        return self.shape.name

    @property
    def bottom(self) -> float:
        return self.top - self.shape.height

    @property
    def centre_t(self) -> float:
        return self.top - self.shape.height / 2

    @property
    def body_centre_u(self) -> float:
        return CANAL_ANTERIOR_WALL + self.shape.depth / 2

    def at(self, where: str) -> float:
        """t of the body's "top", "centre" or "bottom"."""
        return {"top": self.top, "centre": self.centre_t, "bottom": self.bottom}[where]


def _layout() -> list[_Vertebra]:
    """Vertebrae stacked from C7 down, centred so that T1's top and L1's bottom are equidistant from t = 0."""
    stacked: list[_Vertebra] = []
    top, disc_above = 0.0, 0.0
    for shape in _vertebra_table():
        stacked.append(_Vertebra(shape, top, disc_above))
        top -= shape.height + shape.disc_below
        disc_above = shape.disc_below
    by_name = {vertebra.name: vertebra for vertebra in stacked}
    shift = -(by_name["T1"].top + by_name["L1"].bottom) / 2
    return [_Vertebra(v.shape, v.top + shift, v.disc_above) for v in stacked]


@dataclass(frozen=True)
class _LowerCanal:
    """Where the canal's contents end: the thecal sac at S2 (the cord's conus lies in L1), and the
    sacral canal, which narrows from behind below the sac and ends at S5."""

    conus_tip: float  # t
    sac_end: float
    canal_end: float
    narrowing: tuple[float, float]  # t where the sacral canal starts to narrow and where it ends

    def back_wall(self, t: np.ndarray, canal_semi_ap: float) -> np.ndarray:
        """u of the sacral canal's posterior wall; far behind the canal above the narrowing."""
        top, bottom = self.narrowing
        wall = np.interp(t, (bottom, top, top + 1e-3), (SACRAL_CANAL_END_U, -canal_semi_ap, -100.0))
        return wall.astype(np.float32)


def _lower_canal() -> _LowerCanal:
    by_name = {vertebra.name: vertebra for vertebra in _layout()}
    sac_end = by_name[THECAL_SAC_END_LEVEL].centre_t
    return _LowerCanal(by_name["L1"].bottom, sac_end, by_name["S5"].bottom, (sac_end, by_name["S5"].bottom))


class _Kyphosis:
    """The canal centre line y = c(z) and the spine frame (x, u, t) that follows it."""

    def __init__(self, apex_z: float, far_distance: float) -> None:
        self.apex_z = apex_z
        self.k = KYPHOSIS_RISE / far_distance**2

    def canal_y(self, s: np.ndarray) -> np.ndarray:
        return self.k * (s - self.apex_z) ** 2

    def slope(self, s: np.ndarray) -> np.ndarray:
        return 2 * self.k * (s - self.apex_z)

    def to_local(self, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u, t) of world (y, z): Newton steps to the closest point of the centre line."""
        s = z
        for _ in range(3):
            offset, slope = y - self.canal_y(s), self.slope(s)
            gradient = (s - z) - offset * slope
            curvature = 1 + slope**2 - offset * 2 * self.k
            s = s - gradient / curvature
        slope = self.slope(s)
        u = ((y - self.canal_y(s)) - (z - s) * slope) / np.sqrt(1 + slope**2)
        return u, self._arc_length(s)

    def to_world(self, u: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = t - (2 / 3) * self.k**2 * (t - self.apex_z) ** 3
        slope = self.slope(s)
        norm = np.sqrt(1 + slope**2)
        return self.canal_y(s) + u / norm, s - u * slope / norm

    def frame(self, t: float) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        """Anterior and superior unit vectors (RAS) of the spine frame at t."""
        s = t - (2 / 3) * self.k**2 * (t - self.apex_z) ** 3
        slope = float(self.slope(np.float64(s)))
        norm = math.hypot(1.0, slope)
        return (0.0, 1 / norm, -slope / norm), (0.0, slope / norm, 1 / norm)

    def _arc_length(self, s: np.ndarray) -> np.ndarray:
        # Integral of sqrt(1 + c'^2) to second order; the centre line is gently curved.
        return s + (2 / 3) * self.k**2 * (s - self.apex_z) ** 3


class _Lordosis:
    """The centre line below the kyphosis, tabulated along t from its tangent angle."""

    def __init__(self, start: tuple[float, float, float, float], anchors: list[tuple[float, float]], t_end: float) -> None:
        t0, y0, z0, angle0 = start  # t, y, z and tangent angle (radians) where the kyphosis ends
        t = np.arange(t0, t_end - CENTRE_LINE_STEP, -CENTRE_LINE_STEP)
        known_t = np.array([t0, *(anchor_t for anchor_t, _ in anchors)])
        known_angle = np.array([angle0, *(math.radians(degrees) for _, degrees in anchors)])
        angle = np.interp(-t, -known_t, known_angle)
        middle = (angle[1:] + angle[:-1]) / 2  # midpoint rule: each step runs along its mean direction
        y = y0 + np.concatenate([[0.0], np.cumsum(np.sin(middle) * CENTRE_LINE_STEP)])
        z = z0 - np.concatenate([[0.0], np.cumsum(np.cos(middle) * CENTRE_LINE_STEP)])
        # Stored from inferior to superior, as np.interp wants increasing abscissae.
        self.t, self.y, self.z, self.angle = t[::-1], y[::-1], z[::-1], angle[::-1]
        self.bend = np.gradient(self.angle, self.t)  # d(angle)/dt

    def point(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """y, z and tangent angle at t (the line continues straight beyond the table)."""
        inside = np.clip(t, self.t[0], self.t[-1])
        angle = np.interp(inside, self.t, self.angle)
        beyond = t - inside  # negative below the table's end
        y = np.interp(inside, self.t, self.y) - beyond * np.sin(angle)
        z = np.interp(inside, self.t, self.z) + beyond * np.cos(angle)
        return y, z, angle

    def to_world(self, u: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y, z, angle = self.point(t)
        return y + u * np.cos(angle), z + u * np.sin(angle)

    def to_local(self, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u, t) of world (y, z): Newton steps on t from the height where the line is at z."""
        t = np.interp(z, self.z, self.t)
        for _ in range(8):
            line_y, line_z, angle = self.point(t)
            dy, dz = y - line_y, z - line_z
            along, u = -dy * np.sin(angle) + dz * np.cos(angle), dy * np.cos(angle) + dz * np.sin(angle)
            # Beyond the centre of curvature (skin behind a tight bend) the step is damped.
            stiffness = np.maximum(1 + u * np.interp(t, self.t, self.bend), 0.3)
            t = np.clip(t + along / stiffness, self.t[0] - 100, self.t[-1])
        line_y, line_z, angle = self.point(t)
        return (y - line_y) * np.cos(angle) + (z - line_z) * np.sin(angle), t

    def frame(self, t: float) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        angle = float(self.point(np.array([t]))[2][0])
        return (0.0, math.cos(angle), math.sin(angle)), (0.0, -math.sin(angle), math.cos(angle))


class _CentreLine:
    """The canal centre line and the spine frame (x, u, t) that follows it: the thoracic parabola,
    continued below LORDOSIS_START_Z by the lumbar lordosis and the sacrum."""

    def __init__(self, kyphosis: _Kyphosis, anchors: list[tuple[float, float]], t_end: float) -> None:
        self.kyphosis = kyphosis
        self.t_join = float(kyphosis._arc_length(np.float64(LORDOSIS_START_Z)))
        start_y = float(kyphosis.canal_y(np.float64(LORDOSIS_START_Z)))
        start_angle = math.atan(-float(kyphosis.slope(np.float64(LORDOSIS_START_Z))))
        self.lordosis = _Lordosis((self.t_join, start_y, LORDOSIS_START_Z, start_angle), anchors, t_end)

    def to_local(self, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u, t = self.kyphosis.to_local(y, z)
        below = t < self.t_join
        if below.any():
            u[below], t[below] = self.lordosis.to_local(y[below], z[below])
        return u, t

    def to_world(self, u: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y, z = self.kyphosis.to_world(u, t)
        below = np.asarray(t) < self.t_join
        if not below.any():
            return y, z
        lower_y, lower_z = self.lordosis.to_world(u, t)
        return np.where(below, lower_y, y), np.where(below, lower_z, z)

    def frame(self, t: float) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        """Anterior and superior unit vectors (RAS) of the spine frame at t."""
        return self.kyphosis.frame(t) if t >= self.t_join else self.lordosis.frame(t)


# --- Case specs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Position:
    kind: str  # "epidural", "circumferential" or "paraspinal"
    side: str  # where the pressure on the cord comes from
    direction: tuple[float, float] | None  # (x, u) unit vector from the canal centre towards the mass


_POSITIONS = {
    "posterior_epidural": _Position("epidural", "posterior", (0.0, -1.0)),
    "anterior_epidural": _Position("epidural", "anterior", (0.0, 1.0)),
    "left_epidural": _Position("epidural", "left", (-1.0, 0.0)),
    "right_epidural": _Position("epidural", "right", (1.0, 0.0)),
    "circumferential_epidural": _Position("circumferential", "circumferential", None),
    "left_paraspinal": _Position("paraspinal", "left", (-1.0, 0.0)),
    "right_paraspinal": _Position("paraspinal", "right", (1.0, 0.0)),
    "prevertebral": _Position("paraspinal", "anterior", (0.0, 1.0)),  # in front of the bodies: presacral at the sacrum
}
_SIDES = {"posterior": (0.0, -1.0), "anterior": (0.0, 1.0), "left": (-1.0, 0.0), "right": (1.0, 0.0)}
_OBLIQUE_AXES = {"LR": (1.0, 0.0, 0.0), "AP": (0.0, 1.0, 0.0)}


@dataclass(frozen=True)
class _ShellSpec:
    thickness_mm: float
    tissue: str


@dataclass(frozen=True)
class _MassSpec:
    position: _Position
    levels: tuple[str, str]
    lobules: int
    depth_mm: float  # radial thickness wherever the mass does not compress the cord
    width_mm: float
    tissue: str
    rim: _ShellSpec | None


@dataclass(frozen=True)
class _CompressionSpec:
    levels: tuple[str, str]
    max_reduction: float  # fraction of the cord diameter lost at the middle of the range
    side: str
    cord_edema: bool


@dataclass(frozen=True)
class _BodyLesionSpec:
    level: str
    diameters_mm: tuple[float, float, float]  # RL, AP, SI
    offset_mm: tuple[float, float, float]  # RL, AP, SI from the body centre
    tissue: str
    halo: _ShellSpec | None


@dataclass(frozen=True)
class _RibExpansionSpec:
    levels: tuple[str, str]
    radius_mm: float  # of the expanded posterior end, cortex included (a normal rib's is RIB_RADIUS)
    tissue: str  # what fills the widened medulla


@dataclass(frozen=True)
class _StriationSpec:
    period_mm: float  # between neighbouring thick vertical trabeculae
    contrast: float  # the marrow signal swings by this fraction either way


@dataclass(frozen=True)
class _CaseSpec:
    name: str
    title: str
    story: str
    expected: str
    clinical: dict
    sequences: tuple[str, ...]
    oblique_degrees: float
    oblique_axis: str
    masses: tuple[_MassSpec, ...]
    compression: _CompressionSpec | None
    body_lesions: tuple[_BodyLesionSpec, ...]
    signal: dict[str, dict[str, Any]]
    rib_expansion: "_RibExpansionSpec | None" = None
    field_levels: tuple[str, str] | None = None  # a composed sagittal field over these levels; None: the thoracic station
    mass_spans: tuple[tuple[str, str], ...] = ()
    marrow_striation: _StriationSpec | None = None


def case_names() -> list[str]:
    """Ids of the case specs shipped in data/cases/."""
    return sorted(path.stem for path in CASES_DIR.glob("*.json"))


@dataclass(frozen=True)
class CaseInfo:
    """What a teaching case tells the learner, read from its spec without building it."""

    name: str
    title: str
    story: str
    outcome: str
    teaching_points: tuple[str, ...]
    expected: str
    source: str
    assumptions: str
    clinical: dict


def case_info(name: str) -> CaseInfo:
    path = _case_path(name)
    with open(path, encoding="utf-8") as stream:
        data = json.load(stream)
    reader = _SpecReader(path)
    points = reader.field(data, "teaching_points", list, [])
    if not all(isinstance(point, str) and point for point in points):
        raise reader.fail("'teaching_points' must be a list of sentences")
    return CaseInfo(
        name=name,
        title=reader.field(data, "title", str),
        story=reader.field(data, "story", str),
        outcome=reader.field(data, "outcome", str, ""),
        teaching_points=tuple(points),
        expected=reader.field(data, "expected", str),
        source=reader.field(data, "source", str, ""),
        assumptions=reader.field(data, "assumptions", str, ""),
        clinical=reader.field(data, "clinical", dict),
    )


def _case_path(name: str) -> Path:
    path = CASES_DIR / f"{name}.json"
    if not path.is_file():
        raise InputError(name, f"no such case; known cases: {', '.join(case_names())}")
    return path


class _SpecReader:
    """Typed access to one case file's JSON, with errors that name the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, problem: str) -> InputError:
        return InputError(str(self.path), problem)

    def field(self, data: dict, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in data:
            if default is ...:
                raise self.fail(f"missing '{key}'")
            return default
        value = data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(f"'{key}' has the wrong type ({type(value).__name__})")
        return value

    def only(self, data: dict, allowed: set[str], where: str) -> None:
        unknown = set(data) - allowed
        if unknown:
            raise self.fail(f"unknown keys in {where}: {', '.join(sorted(unknown))}")

    def level(self, name: str) -> str:
        if name not in _LEVEL_NAMES:
            raise self.fail(f"unknown vertebra '{name}'")
        return name

    def level_range(self, data: dict, key: str) -> tuple[str, str]:
        pair = self.field(data, key, list)
        if len(pair) != 2:
            raise self.fail(f"'{key}' must name a first and a last vertebra")
        first, last = self.level(pair[0]), self.level(pair[1])
        if _LEVEL_NAMES.index(first) > _LEVEL_NAMES.index(last):
            raise self.fail(f"'{key}' must run from superior to inferior")
        return first, last

    def triple(self, data: dict, key: str, default: Any = ...) -> tuple[float, float, float]:
        values = self.field(data, key, list, default)
        if len(values) != 3:
            raise self.fail(f"'{key}' needs three numbers (RL, AP, SI)")
        return tuple(float(value) for value in values)

    def shell(self, data: dict, key: str) -> _ShellSpec | None:
        shell = self.field(data, key, (dict, type(None)), None)
        if shell is None:
            return None
        self.only(shell, {"thickness_mm", "tissue"}, key)
        return _ShellSpec(float(self.field(shell, "thickness_mm", (int, float))), self.field(shell, "tissue", str))


_LEVEL_NAMES = [shape.name for shape in _vertebra_table()]
_LOWER_CANAL = _lower_canal()
_SACRUM_TOP = next(vertebra.top for vertebra in _layout() if vertebra.shape.ala)
_CASE_KEYS = {
    "id", "title", "story", "outcome", "expected", "source", "assumptions", "clinical", "sequences",
    "acquisition", "masses", "compression", "body_lesions", "signal", "teaching_points", "rib_expansion", "mass_spans",
    "marrow_striation",
}


def _read_case(name: str) -> _CaseSpec:
    path = _case_path(name)
    with open(path, encoding="utf-8") as stream:
        data = json.load(stream)
    reader = _SpecReader(path)
    reader.only(data, _CASE_KEYS, "the case")
    if reader.field(data, "id", str) != name:
        raise reader.fail("'id' must equal the file name")
    acquisition = reader.field(data, "acquisition", dict, {})
    reader.only(acquisition, {"oblique_degrees", "oblique_axis", "field_levels"}, "acquisition")
    masses = tuple(_read_mass(reader, mass) for mass in reader.field(data, "masses", list))
    if not masses:
        raise reader.fail("a case needs at least one mass")
    sequences = tuple(reader.field(data, "sequences", list, ["T1", "T2", "T1C"]))
    if _LABEL_GRID_ROLE not in sequences or not set(sequences) <= set(_PROTOCOLS):
        raise reader.fail(f"'sequences' must include T2 and use only {', '.join(sorted(_PROTOCOLS))}")
    oblique_axis = reader.field(acquisition, "oblique_axis", str, "LR")
    if oblique_axis not in _OBLIQUE_AXES:
        raise reader.fail(f"'oblique_axis' must be one of {', '.join(_OBLIQUE_AXES)}")
    compression = reader.field(data, "compression", (dict, type(None)), None)
    return _CaseSpec(
        name=name,
        title=reader.field(data, "title", str),
        story=reader.field(data, "story", str),
        expected=reader.field(data, "expected", str),
        clinical=reader.field(data, "clinical", dict),
        sequences=sequences,
        oblique_degrees=float(reader.field(acquisition, "oblique_degrees", (int, float), 0.0)),
        oblique_axis=oblique_axis,
        masses=masses,
        compression=None if compression is None else _read_compression(reader, compression, masses),
        body_lesions=tuple(_read_body_lesion(reader, lesion) for lesion in reader.field(data, "body_lesions", list, [])),
        signal=reader.field(data, "signal", dict, {}),
        rib_expansion=_read_rib_expansion(reader, reader.field(data, "rib_expansion", (dict, type(None)), None)),
        field_levels=reader.level_range(acquisition, "field_levels") if "field_levels" in acquisition else None,
        mass_spans=_read_mass_spans(reader, data, masses),
        marrow_striation=_read_striation(reader, reader.field(data, "marrow_striation", (dict, type(None)), None)),
    )


def _read_striation(reader: _SpecReader, data: dict | None) -> _StriationSpec | None:
    if data is None:
        return None
    reader.only(data, {"period_mm", "contrast"}, "marrow_striation")
    period = float(reader.field(data, "period_mm", (int, float)))
    contrast = float(reader.field(data, "contrast", (int, float)))
    if not 1.5 <= period <= 8.0 or not 0 < contrast < 0.5:
        raise reader.fail("'marrow_striation' needs a period_mm of 1.5-8 and a contrast between 0 and 0.5")
    return _StriationSpec(period, contrast)


def _read_mass_spans(reader: _SpecReader, data: dict, masses: tuple["_MassSpec", ...]) -> tuple[tuple[str, str], ...]:
    """The mass levels the analysis should find: 'mass_spans', superior first, apart from each other;
    by default the first mass's levels."""
    spans = reader.field(data, "mass_spans", list, [list(masses[0].levels)])
    if not spans:
        raise reader.fail("'mass_spans' needs at least one span")
    read = tuple(reader.level_range({"mass_spans": span}, "mass_spans") for span in spans)
    for upper, lower in pairwise(read):
        if _LEVEL_NAMES.index(lower[0]) <= _LEVEL_NAMES.index(upper[1]) + 1:
            raise reader.fail("'mass_spans' must run from superior to inferior with levels between them")
    return read


def _read_rib_expansion(reader: _SpecReader, data: dict | None) -> _RibExpansionSpec | None:
    if data is None:
        return None
    reader.only(data, {"levels", "radius_mm", "tissue"}, "rib_expansion")
    radius = float(reader.field(data, "radius_mm", (int, float)))
    if not RIB_RADIUS < radius <= 3 * RIB_RADIUS:
        raise reader.fail(f"'radius_mm' of an expanded rib must lie between {RIB_RADIUS} and {3 * RIB_RADIUS}")
    return _RibExpansionSpec(reader.level_range(data, "levels"), radius, reader.field(data, "tissue", str, "posterior_element"))


def _read_mass(reader: _SpecReader, data: dict) -> _MassSpec:
    reader.only(data, {"position", "levels", "lobules", "depth_mm", "width_mm", "tissue", "rim"}, "a mass")
    position = reader.field(data, "position", str)
    if position not in _POSITIONS:
        raise reader.fail(f"unknown mass position '{position}'; use one of {', '.join(_POSITIONS)}")
    lobules = reader.field(data, "lobules", int, 1)
    if lobules < 1:
        raise reader.fail("'lobules' must be at least 1")
    return _MassSpec(
        position=_POSITIONS[position],
        levels=reader.level_range(data, "levels"),
        lobules=lobules,
        depth_mm=float(reader.field(data, "depth_mm", (int, float))),
        width_mm=float(reader.field(data, "width_mm", (int, float))),
        tissue=reader.field(data, "tissue", str, "mass"),
        rim=reader.shell(data, "rim"),
    )


def _read_compression(reader: _SpecReader, data: dict, masses: tuple[_MassSpec, ...]) -> _CompressionSpec:
    reader.only(data, {"levels", "max_reduction", "from", "cord_edema"}, "compression")
    canal_masses = [mass for mass in masses if mass.position.kind != "paraspinal"]
    if not canal_masses:
        raise reader.fail("compression needs an epidural mass")
    side = reader.field(data, "from", str, canal_masses[0].position.side)
    if side not in _SIDES and side != "circumferential":
        raise reader.fail(f"unknown compression side '{side}'")
    reduction = float(reader.field(data, "max_reduction", (int, float)))
    if not 0 < reduction < 0.9:
        raise reader.fail("'max_reduction' must be a fraction between 0 and 0.9")
    return _CompressionSpec(reader.level_range(data, "levels"), reduction, side, reader.field(data, "cord_edema", bool, False))


def _read_body_lesion(reader: _SpecReader, data: dict) -> _BodyLesionSpec:
    reader.only(data, {"level", "diameters_mm", "offset_mm", "tissue", "halo"}, "a body lesion")
    return _BodyLesionSpec(
        level=reader.level(reader.field(data, "level", str)),
        diameters_mm=reader.triple(data, "diameters_mm"),
        offset_mm=reader.triple(data, "offset_mm", [0.0, 0.0, 0.0]),
        tissue=reader.field(data, "tissue", str, "body_lesion"),
        halo=reader.shell(data, "halo"),
    )


# --- Tissue signal ---------------------------------------------------------------------------


def _signal_table(overrides: dict[str, dict[str, Any]], subject: str) -> dict[str, dict[str, float]]:
    """Every tissue's value per role, with the case's overrides applied and references resolved."""
    with open(SIGNAL_FILE, encoding="utf-8") as stream:
        base = json.load(stream)["tissues"]
    entries = {tissue: {role: value for role, value in roles.items() if role != "source"} for tissue, roles in base.items()}
    for tissue, roles in overrides.items():
        if tissue not in entries:
            raise InputError(subject, f"signal override for unknown tissue '{tissue}'")
        for role, value in roles.items():
            if role == "source":
                continue
            if role not in entries[tissue]:
                raise InputError(subject, f"signal override for unknown role '{role}' of '{tissue}'")
            entries[tissue][role] = value
    resolved: dict[tuple[str, str], float] = {}

    def value_of(tissue: str, role: str, chain: tuple[tuple[str, str], ...]) -> float:
        key = (tissue, role)
        if key in chain:
            raise InputError(subject, f"circular signal reference through {tissue} {role}")
        if key not in resolved:
            if tissue not in entries or role not in entries[tissue]:
                raise InputError(subject, f"signal reference to unknown {tissue} {role}")
            entry = entries[tissue][role]
            if isinstance(entry, dict):
                source = (entry.get("of", tissue), entry.get("role", role))
                resolved[key] = float(entry.get("ratio", 1.0)) * value_of(*source, chain + (key,))
            else:
                resolved[key] = float(entry)
        return resolved[key]

    return {tissue: {role: value_of(tissue, role, ()) for role in roles} for tissue, roles in entries.items()}


# --- Signed distances (negative inside) --------------------------------------------------------


def _ellipsoid_sd(*terms: tuple[np.ndarray, Any]) -> np.ndarray:
    """Distance to an axis-aligned ellipse or ellipsoid given (offset, semi-axis) pairs.

    Exact on the axes and first-order accurate elsewhere near the surface, which is all the
    one-voxel soft edges and the few-millimetre clearances below rely on.
    """
    rho = np.sqrt(sum((offset / semi) ** 2 for offset, semi in terms)) + np.float32(1e-6)
    gradient = np.sqrt(sum((offset / semi**2) ** 2 for offset, semi in terms))
    largest = max(float(np.max(semi)) for _, semi in terms)
    return (rho - 1) * rho / np.maximum(gradient, rho / largest)


def _slab_sd(value: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.abs(value - (low + high) / 2) - (high - low) / 2


def _intersection(*distances: np.ndarray) -> np.ndarray:
    return reduce(np.maximum, distances)


def _union(*distances: np.ndarray) -> np.ndarray:
    return reduce(np.minimum, distances)


def _rounded_intersection(first: np.ndarray, second: np.ndarray, radius: float) -> np.ndarray:
    """Intersection of two roughly orthogonal shapes with its edges rounded by `radius`."""
    outside = np.sqrt(np.maximum(first + radius, 0) ** 2 + np.maximum(second + radius, 0) ** 2)
    return outside + np.minimum(np.maximum(first, second) + radius, 0) - radius


def _capsule_sd(points: Sequence[np.ndarray], start: Sequence[float], end: Sequence[float], radius: float) -> np.ndarray:
    along = [b - a for a, b in zip(start, end)]
    length2 = sum(component**2 for component in along)
    relative = [p - a for p, a in zip(points, start)]
    h = np.clip(sum(r * a for r, a in zip(relative, along)) / length2, 0, 1)
    return np.sqrt(sum((r - a * h) ** 2 for r, a in zip(relative, along))) - radius


@dataclass(frozen=True)
class _Coords:
    """Spine-frame coordinates of a block of voxels, as arrays that broadcast to the block."""

    x: np.ndarray
    u: np.ndarray
    t: np.ndarray


def _canal_ellipse_sd(section: _CanalSection, c: _Coords, growth: float = 0.0) -> np.ndarray:
    return _ellipsoid_sd((c.x, section.canal_semi_rl + growth), (c.u, section.canal_semi_ap + growth))


def _canal_sd(section: _CanalSection, c: _Coords) -> np.ndarray:
    back_wall = _LOWER_CANAL.back_wall(c.t, section.canal_semi_ap)
    return _intersection(_canal_ellipse_sd(section, c), c.u - CANAL_ANTERIOR_WALL, back_wall - c.u, _LOWER_CANAL.canal_end - c.t)


def _thecal_sac_sd(section: _CanalSection, c: _Coords) -> np.ndarray:
    radial = np.sqrt(c.x**2 + (c.u - section.dura_centre_u) ** 2)
    tip = (radial - (c.t - _LOWER_CANAL.sac_end) * THECAL_SAC_TAPER) / math.hypot(1.0, THECAL_SAC_TAPER)
    return _intersection(_ellipsoid_sd((c.x, section.dura_semi_rl), (c.u - section.dura_centre_u, section.dura_semi_ap)), tip)


def _body_axial_sd(c: _Coords, depth: float, width: float, bulge: float = 0.0) -> np.ndarray:
    """Axial outline of a body or disc: an ellipse cut flat by the canal's anterior wall."""
    ellipse = _ellipsoid_sd((c.x, width / 2 + bulge), (c.u - (CANAL_ANTERIOR_WALL + 0.4 * depth), 0.6 * depth + bulge))
    return _intersection(ellipse, CANAL_ANTERIOR_WALL - c.u)


# --- The cord and its compression --------------------------------------------------------------


class _Cord:
    """The cord's elliptical section along t, flattened and pushed away where a mass compresses it."""

    def __init__(self, spine: "_Spine", compression: _CompressionSpec | None) -> None:
        self.compression = compression
        self.canal_section = spine.section
        self.conus_tip = spine.by_name["L1"].bottom
        if compression is None:
            self.span = (0.0, 0.0)
            return
        first, last = spine.by_name[compression.levels[0]], spine.by_name[compression.levels[1]]
        # From the middle of the disc above the first level to the middle of the disc below the last.
        self.span = (first.top + first.disc_above / 2, last.bottom - last.shape.disc_below / 2)

    @property
    def peak(self) -> float | None:
        """t of the greatest compression, or None without compression."""
        return sum(self.span) / 2 if self.compression else None

    def severity(self, t: np.ndarray) -> np.ndarray:
        """Fraction of the diameter lost at t: zero at both ends of the range, the maximum in its middle."""
        if self.compression is None:
            return np.zeros_like(t)
        top, bottom = self.span
        fraction = np.clip((top - t) / (top - bottom), 0, 1)
        return (self.compression.max_reduction * np.sin(np.pi * fraction)).astype(t.dtype)

    def relative_severity(self, t: np.ndarray) -> np.ndarray:
        return self.severity(t) / self.compression.max_reduction if self.compression else np.zeros_like(t)

    def section(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Centre (x, u) and semi-axes (RL, AP) of the cord at t."""
        taper = np.sqrt(np.clip((t - self.conus_tip) / 20.0, 0.05, 1.0))  # conus medullaris
        size = self.canal_section
        centre_x, centre_u = np.zeros_like(t), np.full_like(t, size.cord_centre_u)
        semi_x, semi_u = np.full_like(t, size.cord_semi_rl), np.full_like(t, size.cord_semi_ap)
        if self.compression is None:
            return centre_x, centre_u, semi_x * taper, semi_u * taper
        severity, side = self.severity(t), self.compression.side
        if side == "circumferential":
            semi_u = semi_u * (1 - severity)
        else:
            push_x, push_u = (-component for component in _SIDES[side])
            displacement = size.cord_max_displacement * self.relative_severity(t)
            if push_u:
                centre_u = centre_u + push_u * (displacement + semi_u * severity)
                semi_u, semi_x = semi_u * (1 - severity), semi_x * (1 + 0.25 * severity)
            else:
                centre_x = centre_x + push_x * (displacement + semi_x * severity)
                semi_x, semi_u = semi_x * (1 - severity), semi_u * (1 + 0.25 * severity)
        return centre_x, centre_u, semi_x * taper, semi_u * taper

    def sd(self, c: _Coords) -> np.ndarray:
        """The cord, its conus and the filum terminale, which leaves the field inside the sac."""
        centre_x, centre_u, semi_x, semi_u = self.section(c.t)
        return _intersection(_ellipsoid_sd((c.x - centre_x, semi_x), (c.u - centre_u, semi_u)), _LOWER_CANAL.sac_end - c.t)

    def near_surface(self, t: np.ndarray, direction: tuple[float, float]) -> np.ndarray:
        """Distance from the canal centre to the cord surface that faces `direction`, along t."""
        centre_x, centre_u, semi_x, semi_u = self.section(t)
        return centre_x * direction[0] + centre_u * direction[1] + (semi_x if direction[0] else semi_u)

    def behind_centre_sd(self, c: _Coords, direction: tuple[float, float]) -> np.ndarray:
        """Negative on the `direction` side of the cord's centre: a mass on one side stays there."""
        centre_x, centre_u, _, _ = self.section(c.t)
        return (centre_x - c.x) * direction[0] + (centre_u - c.u) * direction[1]

    def clearance(self, t: np.ndarray) -> np.ndarray:
        """How far a mass must stay from the cord: a gap where it is free, an overlap where compressed."""
        closeness = np.minimum(self.relative_severity(t) * 2.5, 2.0)
        return MASS_CORD_GAP - closeness * (MASS_CORD_GAP + MASS_CORD_OVERLAP) / 2

    def edema_sd(self, c: _Coords) -> np.ndarray:
        top, bottom = self.span
        centre_x, centre_u, semi_x, semi_u = self.section(c.t)
        return _ellipsoid_sd(
            (c.x - centre_x, 0.6 * semi_x), (c.u - centre_u, 0.6 * semi_u), (c.t - self.peak, 0.22 * (top - bottom))
        )


# --- Layers: what is painted where, in painting order --------------------------------------------


@dataclass(frozen=True)
class _Bounds:
    """A box in the spine frame that encloses a layer, used to paint only nearby voxels."""

    x: tuple[float, float]
    u: tuple[float, float]
    t: tuple[float, float]


@dataclass(frozen=True)
class _Layer:
    tissue: str
    label: str
    sd: Callable[[_Coords], np.ndarray]
    bounds: _Bounds | None = None
    core: tuple[str, str, float] | None = None  # tissue, label and depth of an inner layer painted next
    texture: Callable[[_Coords], np.ndarray] | None = None  # multiplies the core's signal


class _Spine:
    def __init__(self, section: _CanalSection = ADULT_SECTION) -> None:
        self.section = section
        self.vertebrae = _layout()
        self.by_name = {vertebra.name: vertebra for vertebra in self.vertebrae}
        apex = self.by_name[KYPHOSIS_APEX_LEVEL].centre_t
        far = max(abs(self.by_name["T1"].top - apex), abs(self.by_name["L1"].bottom - apex))
        anchors = [(self.by_name[name].at(where), degrees) for name, where, degrees in LUMBOSACRAL_ANGLES]
        self.centre_line = _CentreLine(_Kyphosis(apex, far), anchors, ALONG_SPINE[0])

    def span(self, levels: tuple[str, str]) -> tuple[float, float]:
        """t of the superior endplate of the first level and the inferior endplate of the last."""
        return self.by_name[levels[0]].top, self.by_name[levels[1]].bottom

    def nearest(self, t: float) -> _Vertebra:
        return min(self.vertebrae, key=lambda vertebra: abs(vertebra.centre_t - t))

    def depth_at(self, t: np.ndarray) -> np.ndarray:
        centres = [vertebra.centre_t for vertebra in reversed(self.vertebrae)]
        depths = [vertebra.shape.depth for vertebra in reversed(self.vertebrae)]
        return np.interp(t, centres, depths).astype(np.float32)

    def below(self, vertebra: _Vertebra) -> _Vertebra:
        return self.vertebrae[self.vertebrae.index(vertebra) + 1]


def _body_wall_layers(spine: _Spine) -> list[_Layer]:
    lung_base = spine.by_name["T11"].centre_t
    aorta_top, aorta_bottom = spine.by_name["T4"].top, spine.by_name["T12"].bottom

    def aorta(c: _Coords) -> np.ndarray:
        centre_u = CANAL_ANTERIOR_WALL + spine.depth_at(c.t) + AORTA_RADIUS + AORTA_GAP
        circle = np.sqrt((c.x - AORTA_X) ** 2 + (c.u - centre_u) ** 2) - AORTA_RADIUS
        return _intersection(circle, _slab_sd(c.t, aorta_bottom, aorta_top))

    pelvis = (spine.by_name[PELVIC_FAT_FULL_LEVEL].centre_t, spine.by_name["L5"].centre_t)

    def mediastinal_fat(c: _Coords) -> np.ndarray:
        front = CANAL_ANTERIOR_WALL + spine.depth_at(c.t)
        pelvic = np.interp(c.t, pelvis, (1.0, 0.0)).astype(np.float32)
        depth = front + MEDIASTINAL_FAT_DEPTH + PELVIC_FAT_EXTRA_DEPTH * pelvic
        half_width = MEDIASTINAL_FAT_HALF_WIDTH + PELVIC_FAT_EXTRA_HALF_WIDTH * pelvic
        return _intersection(_slab_sd(c.u, front - 3.0, depth), np.abs(c.x) - half_width)

    def muscles(c: _Coords) -> np.ndarray:
        # Erector spinae and transversospinalis fill the gutters beside the spinous processes;
        # the bones painted later carve their own shapes out of this block.
        lateral = _ellipsoid_sd((c.x, MUSCLE_HALF_WIDTH), (c.u - (MUSCLE_FRONT_U + SUBCUTANEOUS_FAT_U) / 2, MUSCLE_HALF_DEPTH))
        return _intersection(lateral, MUSCLE_MIDLINE_GAP - np.abs(c.x), _slab_sd(c.u, SUBCUTANEOUS_FAT_U, MUSCLE_FRONT_U))

    muscle_u = (SUBCUTANEOUS_FAT_U - 2, MUSCLE_FRONT_U + 2)
    return [
        _Layer("soft_tissue", "soft_tissue", lambda c: SKIN_U - c.u),
        _Layer("lung", "lung", lambda c: _intersection(LUNG_MEDIAL_X - np.abs(c.x), LUNG_POSTERIOR_U - c.u, lung_base - c.t)),
        _Layer("fat", "fat", mediastinal_fat),
        _Layer("vessel", "vessel", aorta, _Bounds((-30, 0), (10, 80), (aorta_bottom - 2, aorta_top + 2))),
        _Layer(
            "fat",
            "fat",
            lambda c: _intersection(SKIN_U - c.u, _union(c.u - SUBCUTANEOUS_FAT_U, _intersection(np.abs(c.x) - 7.0, c.u + 12.0))),
            _Bounds((-60, 60), (SKIN_U - 2, -10), ALONG_SPINE),
        ),
        _Layer("muscle", "muscle", muscles, _Bounds((-MUSCLE_HALF_WIDTH, MUSCLE_HALF_WIDTH), muscle_u, ALONG_SPINE)),
    ]


def _canal_surroundings(section: _CanalSection, c: _Coords, growth: float) -> np.ndarray:
    """A band of `growth` mm around the bony canal, behind the bodies."""
    return _intersection(_canal_ellipse_sd(section, c, growth), -_canal_ellipse_sd(section, c), c.u - CANAL_ANTERIOR_WALL)


def _canal_wall_layers(section: _CanalSection) -> list[_Layer]:
    """Foraminal fat beside the canal and the ligaments behind it; bone is painted over them."""
    reach = section.canal_semi_rl + ARCH_THICKNESS + 2
    band = _Bounds((-reach, reach), (-50, CANAL_ANTERIOR_WALL + 1), ALONG_SPINE)

    def foramina(c: _Coords) -> np.ndarray:
        return _intersection(_canal_surroundings(section, c, ARCH_THICKNESS + 1), PEDICLE_LAMINA_BOUNDARY_U - c.u)

    def ligaments(c: _Coords) -> np.ndarray:
        flavum = _intersection(_canal_surroundings(section, c, LIGAMENTUM_FLAVUM_THICKNESS), c.u - PEDICLE_LAMINA_BOUNDARY_U)
        interspinous = _intersection(np.abs(c.x) - 2.0, _slab_sd(c.u, SUBCUTANEOUS_FAT_U + 2, -section.canal_semi_ap))
        # None behind the sacrum's fused plate.
        return _intersection(_union(flavum, interspinous), _SACRUM_TOP - c.t)

    return [_Layer("epidural_fat", "epidural_fat", foramina, band), _Layer("ligament", "ligament", ligaments, band)]


def _rib_points(vertebra: _Vertebra, side: int) -> tuple[tuple[float, float, float], ...]:
    """Head, tubercle and lateral point (x, u, t) of one rib's posterior part."""
    shape, tc, h = vertebra.shape, vertebra.centre_t, vertebra.shape.height
    head = (side * (shape.width / 2 - 2.0), CANAL_ANTERIOR_WALL + 0.25 * shape.depth, vertebra.top)
    tubercle = (side * 24.0, -11.0, tc + 0.05 * h)
    lateral = (side * 46.0, -20.0, tc - 0.1 * h)
    return head, tubercle, lateral


def _expanded_rib_layer(vertebra: _Vertebra, expansion: _RibExpansionSpec, section: _CanalSection) -> _Layer:
    """The posterior ends of a vertebra's ribs widened by marrow expansion (seed 001), cortex thinned."""

    def sd(c: _Coords) -> np.ndarray:
        parts = []
        for side in (-1, 1):
            head, tubercle, lateral = _rib_points(vertebra, side)
            end = tuple(a + RIB_EXPANSION_REACH * (b - a) for a, b in zip(tubercle, lateral))
            parts.append(_capsule_sd((c.x, c.u, c.t), head, tubercle, expansion.radius_mm))
            parts.append(_capsule_sd((c.x, c.u, c.t), tubercle, end, expansion.radius_mm))
        # Kept out of the canal and the body, which the ribs only abut.
        return _intersection(_union(*parts), -_canal_ellipse_sd(section, c, ARCH_THICKNESS), -_body_sd(vertebra, c))

    reach = expansion.radius_mm + 2
    bounds = _Bounds((-52, 52), (-35, CANAL_ANTERIOR_WALL + vertebra.shape.depth), (vertebra.bottom - reach - 4, vertebra.top + reach))
    return _Layer("cortical_bone", "cortical_bone", sd, bounds, core=(expansion.tissue, "posterior_element", POSTERIOR_CORTEX / 2))


def _posterior_element_layer(vertebra: _Vertebra, section: _CanalSection) -> _Layer:
    """Pedicles, laminae, spinous and transverse processes and rib necks of one vertebra."""
    shape, tc, h = vertebra.shape, vertebra.centre_t, vertebra.shape.height
    length, drop, radius = shape.spinous
    spinous_root = (-(section.canal_semi_ap + ARCH_THICKNESS / 2), tc - 0.05 * h)
    spinous_tip = (spinous_root[0] - length, spinous_root[1] - drop)
    lamina_t = (tc - h / 2 - shape.disc_below / 2 - 2.0, tc + 0.3 * h)
    pedicle_t = (tc - 0.2 * h, tc + 0.42 * h)
    process_t = tc + 0.05 * h

    def sd(c: _Coords) -> np.ndarray:
        ring = _canal_surroundings(section, c, ARCH_THICKNESS)
        pedicles = _intersection(ring, PEDICLE_LAMINA_BOUNDARY_U - c.u, _slab_sd(c.t, *pedicle_t))
        laminae = _intersection(ring, c.u - PEDICLE_LAMINA_BOUNDARY_U, _slab_sd(c.t, *lamina_t))
        spinous = _intersection(_capsule_sd((c.u, c.t), spinous_root, spinous_tip, radius), np.abs(c.x) - 3.0)
        parts = [pedicles, laminae, spinous]
        for side in (-1, 1):
            process = _capsule_sd((c.x, c.u), (side * 11.0, -4.0), (side * 25.0, -13.0), 3.5)
            parts.append(_intersection(process, np.abs(c.t - process_t) - 5.0))
            if shape.has_ribs:
                head, tubercle, lateral = _rib_points(vertebra, side)
                parts.append(_capsule_sd((c.x, c.u, c.t), head, tubercle, RIB_RADIUS))
                parts.append(_capsule_sd((c.x, c.u, c.t), tubercle, lateral, RIB_RADIUS))
        return _union(*parts)

    bounds = _Bounds((-52, 52), (spinous_tip[0] - radius - 2, CANAL_ANTERIOR_WALL + shape.depth), (spinous_tip[1] - radius - 2, vertebra.top + 5))
    return _Layer("cortical_bone", "cortical_bone", sd, bounds, core=("posterior_element", "posterior_element", POSTERIOR_CORTEX))


def _sacral_element_layer(vertebra: _Vertebra, fused_above: bool, section: _CanalSection) -> _Layer:
    """A sacral segment's share of the fused dorsal plate around the sacral canal, its lateral
    masses (alae) and a tubercle of the median crest."""
    shape, tc, h = vertebra.shape, vertebra.centre_t, vertebra.shape.height
    top = vertebra.top + vertebra.disc_above / 2 + 0.5 if fused_above else vertebra.top - 0.1 * h
    t_range = (vertebra.bottom - shape.disc_below / 2 - 0.5, top)
    length, drop, radius = shape.spinous
    crest_root = (-(section.canal_semi_ap + ARCH_THICKNESS / 2), tc)
    crest_tip = (crest_root[0] - length, tc - drop)
    ala_x, ala_semi_x = shape.width / 2 + shape.ala / 2 - 4.0, shape.ala / 2 + 6.0
    ala_u, ala_semi_u = CANAL_ANTERIOR_WALL + 0.2 * shape.depth - 4.0, 0.4 * shape.depth + 4.0

    def sd(c: _Coords) -> np.ndarray:
        back = _LOWER_CANAL.back_wall(c.t, section.canal_semi_ap) - ARCH_THICKNESS
        plate = _intersection(_canal_ellipse_sd(section, c, ARCH_THICKNESS), -_canal_sd(section, c), c.u - CANAL_ANTERIOR_WALL, back - c.u)
        crest = _intersection(_capsule_sd((c.u, c.t), crest_root, crest_tip, radius), np.abs(c.x) - 3.0, back - c.u)
        alae = _ellipsoid_sd((np.abs(c.x) - ala_x, ala_semi_x), (c.u - ala_u, ala_semi_u))
        return _intersection(_union(plate, crest, alae), _slab_sd(c.t, *t_range))

    reach_x = ala_x + ala_semi_x + 2
    bounds = _Bounds((-reach_x, reach_x), (crest_tip[0] - radius - 2, ala_u + ala_semi_u + 2), (t_range[0] - 2, t_range[1] + 2))
    return _Layer("cortical_bone", "cortical_bone", sd, bounds, core=("posterior_element", "posterior_element", POSTERIOR_CORTEX))


def _element_layers(spine: "_Spine") -> list[_Layer]:
    layers = []
    for above, vertebra in zip([None, *spine.vertebrae], spine.vertebrae):
        if vertebra.shape.ala:
            layers.append(_sacral_element_layer(vertebra, bool(above and above.shape.ala), spine.section))
        else:
            layers.append(_posterior_element_layer(vertebra, spine.section))
    return layers


def _canal_bounds(section: _CanalSection, t: tuple[float, float], margin: float) -> _Bounds:
    return _Bounds(
        (-section.canal_semi_rl - margin, section.canal_semi_rl + margin), (-section.canal_semi_ap - margin, CANAL_ANTERIOR_WALL + margin), t
    )


def _canal_layers(section: _CanalSection) -> list[_Layer]:
    canal = _canal_bounds(section, ALONG_SPINE, 1.0)
    return [
        _Layer("epidural_fat", "epidural_fat", lambda c: _canal_sd(section, c), canal),
        _Layer("csf", "csf", lambda c: _thecal_sac_sd(section, c), canal),
    ]


def _cauda_equina_layer(section: _CanalSection) -> _Layer:
    """Nerve roots from the conus to the end of the thecal sac, kept inside the sac."""
    start_t, end_t = _LOWER_CANAL.conus_tip + 12.0, _LOWER_CANAL.sac_end + 6.0

    def sd(c: _Coords) -> np.ndarray:
        roots = [
            _capsule_sd((c.x, c.u, c.t), (side * 0.4 * x, section.cord_centre_u, start_t), (side * x, u, end_t), NERVE_ROOT_RADIUS)
            for side in (-1, 1)
            for x, u in NERVE_ROOT_ENDS
        ]
        return _intersection(_union(*roots), _thecal_sac_sd(section, c) + NERVE_ROOT_RADIUS)

    dura_x, dura_u = section.dura_semi_rl, section.dura_semi_ap
    return _Layer("nerve_root", "nerve_root", sd, _Bounds((-dura_x, dura_x), (-dura_u, dura_u + 1), (end_t - 2, start_t + 2)))


def _cord_layers(cord: _Cord) -> list[_Layer]:
    canal = _canal_bounds(cord.canal_section, ALONG_SPINE, 0.0)
    layers = [_Layer("cord", "cord", cord.sd, canal)]
    if cord.compression and cord.compression.cord_edema:
        layers.append(_Layer("cord_edema", "cord", cord.edema_sd, _Bounds(canal.x, canal.u, (cord.span[1], cord.span[0]))))
    return layers


def _disc_layers(upper: _Vertebra, lower: _Vertebra) -> list[_Layer]:
    height = upper.shape.disc_below
    centre_t = upper.bottom - height / 2
    depth, width = (upper.shape.depth + lower.shape.depth) / 2, (upper.shape.width + lower.shape.width) / 2
    # Half a millimetre into each endplate, so that no gap opens between disc and body.
    t_range = (centre_t - height / 2 - 0.5, centre_t + height / 2 + 0.5)
    nucleus_u = CANAL_ANTERIOR_WALL + depth / 2
    bounds = _Bounds((-width / 2 - 2, width / 2 + 2), (CANAL_ANTERIOR_WALL - 1, CANAL_ANTERIOR_WALL + depth + 2), (t_range[0] - 1, t_range[1] + 1))
    return [
        _Layer("annulus", "annulus", lambda c: _intersection(_body_axial_sd(c, depth, width, bulge=0.5), _slab_sd(c.t, *t_range)), bounds),
        _Layer(
            "disc",
            "disc",
            lambda c: _intersection(_ellipsoid_sd((c.x, 0.3 * width), (c.u - nucleus_u, 0.28 * depth)), _slab_sd(c.t, *t_range)),
            bounds,
        ),
    ]


def _striation(spec: "_StriationSpec", vertebra: _Vertebra) -> Callable[[_Coords], np.ndarray]:
    """Thick vertical trabeculae and no horizontal ones: columns of darker and brighter marrow,
    `period_mm` apart front to back and twice that side to side (so that they survive a 3 mm
    sagittal slice), constant along the spine, averaging to the marrow's own signal."""
    wave = 2 * math.pi / spec.period_mm

    def texture(c: _Coords) -> np.ndarray:
        pattern = np.cos(wave / 2 * c.x) * np.cos(wave * (c.u - vertebra.body_centre_u))
        return (1 + spec.contrast * pattern).astype(np.float32)

    return texture


def _body_layer(vertebra: _Vertebra, striation: "_StriationSpec | None" = None) -> _Layer:
    shape = vertebra.shape

    def sd(c: _Coords) -> np.ndarray:
        return _rounded_intersection(_body_axial_sd(c, shape.depth, shape.width), _slab_sd(c.t, vertebra.bottom, vertebra.top), 1.5)

    bounds = _Bounds(
        (-shape.width / 2 - 1, shape.width / 2 + 1), (CANAL_ANTERIOR_WALL - 1, CANAL_ANTERIOR_WALL + shape.depth + 1), (vertebra.bottom - 1, vertebra.top + 1)
    )
    texture = _striation(striation, vertebra) if striation else None
    return _Layer("cortical_bone", "cortical_bone", sd, bounds, core=("vertebral_body", "vertebral_body", BODY_CORTEX), texture=texture)


def _body_sd(vertebra: _Vertebra, c: _Coords) -> np.ndarray:
    return _body_layer(vertebra).sd(c)


def _body_lesion_layers(spine: _Spine, lesion: _BodyLesionSpec) -> list[_Layer]:
    vertebra = spine.by_name[lesion.level]
    centre = (lesion.offset_mm[0], vertebra.body_centre_u + lesion.offset_mm[1], vertebra.centre_t + lesion.offset_mm[2])
    semis = [diameter / 2 for diameter in lesion.diameters_mm]

    def lesion_sd(c: _Coords) -> np.ndarray:
        return _ellipsoid_sd(*zip((c.x - centre[0], c.u - centre[1], c.t - centre[2]), semis))

    reach = max(semis) + (lesion.halo.thickness_mm if lesion.halo else 0) + 2
    bounds = _Bounds((centre[0] - reach, centre[0] + reach), (centre[1] - reach, centre[1] + reach), (centre[2] - reach, centre[2] + reach))
    layers = []
    if lesion.halo:
        thickness = lesion.halo.thickness_mm
        layers.append(_Layer(lesion.halo.tissue, "body_lesion", lambda c: _intersection(lesion_sd(c) - thickness, _body_sd(vertebra, c)), bounds))
    layers.append(_Layer(lesion.tissue, "body_lesion", lesion_sd, bounds))
    return layers


# --- Masses -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lobule:
    centre: tuple[float, float, float]  # x, u, t
    semis: tuple[float, float, float]  # along x, u, t
    radial_depth: float  # thickness from the canal wall (epidural) or the body's side (paraspinal)


def _wall_distance(section: _CanalSection, direction: tuple[float, float]) -> float:
    """Distance from the canal centre to its bony wall along an axis direction."""
    if direction[1] > 0:
        return CANAL_ANTERIOR_WALL
    return section.canal_semi_ap if direction[1] < 0 else section.canal_semi_rl


def _lobule_layout(spine: _Spine, cord: _Cord, mass: _MassSpec) -> list[tuple[float, float]]:
    """(centre t, half-length) of each lobule, evenly along the mass's levels.

    When the cord is compressed within the mass, the grid is stretched so that one lobule sits on
    the point of greatest compression: that lobule is the one doing the compressing.
    """
    top, bottom = spine.span(mass.levels)
    pitch = (top - bottom) / mass.lobules
    centres = top - pitch * (np.arange(mass.lobules) + 0.5)
    peak = cord.peak
    if mass.position.kind != "paraspinal" and peak is not None and bottom < peak < top:
        anchor = centres[np.argmin(np.abs(centres - peak))]
        centres = np.where(
            centres >= anchor,
            peak + (centres - anchor) * (top - peak) / (top - anchor),
            peak - (anchor - centres) * (peak - bottom) / (anchor - bottom),
        )
    boundaries = np.concatenate([[top], (centres[1:] + centres[:-1]) / 2, [bottom]])
    return [(float(c), LOBULE_OVERLAP * float(upper - lower) / 2) for c, upper, lower in zip(centres, boundaries, boundaries[1:])]


def _canal_lobules(spine: _Spine, cord: _Cord, mass: _MassSpec) -> list[_Lobule]:
    """Epidural lobules: from the canal wall inwards, deep enough to reach the cord where it is compressed."""
    direction = mass.position.direction or _SIDES["posterior"]
    wall = _wall_distance(spine.section, direction)
    lobules = []
    for t, semi_t in _lobule_layout(spine, cord, mass):
        central = np.linspace(t - LOBULE_CONTACT * semi_t, t + LOBULE_CONTACT * semi_t, 9)
        compressed = central[cord.severity(central) > 0]
        if compressed.size:
            # Deep enough that the ellipsoid still reaches the cord at the edge of its central part.
            q = math.sqrt(1 - LOBULE_CONTACT**2)
            reach = wall + 0.5 * (1 - q) - float(cord.near_surface(compressed, direction).min()) + MASS_CORD_OVERLAP
            depth = max(mass.depth_mm, 2 * reach / (1 + q))
        else:
            closest = float(cord.near_surface(central, direction).max())
            depth = min(mass.depth_mm, wall - closest - MASS_CORD_GAP - 0.5)
        radial_centre = wall - depth / 2 + 0.5  # half a millimetre beyond the wall, trimmed by the canal
        radial_semi, lateral_semi = depth / 2 + 0.5, mass.width_mm / 2
        if direction[0]:
            lobule = _Lobule((direction[0] * radial_centre, 0.0, t), (radial_semi, lateral_semi, semi_t), depth)
        else:
            lobule = _Lobule((0.0, direction[1] * radial_centre, t), (lateral_semi, radial_semi, semi_t), depth)
        lobules.append(lobule)
    return lobules


def _paraspinal_lobules(spine: _Spine, cord: _Cord, mass: _MassSpec) -> list[_Lobule]:
    """Lobules against the side of the bodies, or in front of them (a millimetre into the bone)."""
    side, forward = mass.position.direction
    lobules = []
    for t, semi_t in _lobule_layout(spine, cord, mass):
        beside = spine.nearest(t).shape
        if forward:
            centre = (0.0, CANAL_ANTERIOR_WALL + beside.depth + mass.depth_mm / 2 - 1.0, t)
            semis = (mass.width_mm / 2, mass.depth_mm / 2, semi_t)
        else:
            centre = (side * (beside.width / 2 + mass.depth_mm / 2 - 1.0), CANAL_ANTERIOR_WALL + 0.3 * beside.depth, t)
            semis = (mass.depth_mm / 2, mass.width_mm / 2, semi_t)
        lobules.append(_Lobule(centre, semis, mass.depth_mm))
    return lobules


def _lobules_sd(lobules: list[_Lobule], c: _Coords) -> np.ndarray:
    return _union(
        *(
            _ellipsoid_sd(*zip((c.x - lobule.centre[0], c.u - lobule.centre[1], c.t - lobule.centre[2]), lobule.semis))
            for lobule in lobules
        )
    )


def _circumferential_sd(section: _CanalSection, lobules: list[_Lobule], c: _Coords) -> np.ndarray:
    """A sleeve lining the canal wall whose thickness swells lobule by lobule."""
    thickness = reduce(
        np.maximum,
        (lobule.radial_depth * np.sqrt(np.clip(1 - ((c.t - lobule.centre[2]) / lobule.semis[2]) ** 2, 0, 1)) for lobule in lobules),
    )
    canal = _canal_sd(section, c)
    return _intersection(canal, -(canal + thickness), _slab_sd(c.t, *_lobules_t(lobules)))


def _lobules_t(lobules: list[_Lobule]) -> tuple[float, float]:
    return min(l.centre[2] - l.semis[2] for l in lobules), max(l.centre[2] + l.semis[2] for l in lobules)


def _mass_lobules(spine: _Spine, cord: _Cord, mass: _MassSpec) -> list[_Lobule]:
    if mass.position.kind == "paraspinal":
        return _paraspinal_lobules(spine, cord, mass)
    return _canal_lobules(spine, cord, mass)


def _mass_layers(spine: _Spine, cord: _Cord, mass: _MassSpec) -> list[_Layer]:
    lobules = _mass_lobules(spine, cord, mass)
    t_low, t_high = _lobules_t(lobules)
    if mass.position.kind == "paraspinal":
        def sd(c: _Coords) -> np.ndarray:
            return _lobules_sd(lobules, c)

        reach = max(max(l.semis[:2]) + abs(l.centre[0]) for l in lobules) + 2
        front = max(l.centre[1] + l.semis[1] for l in lobules) + 2
        bounds = _Bounds((-reach, reach), (-10, max(60.0, front)), (t_low - 2, t_high + 2))
    else:
        direction = mass.position.direction

        def sd(c: _Coords) -> np.ndarray:
            # Inside the bony canal, and clear of the cord except where the cord is compressed.
            inside_canal = _intersection(_canal_sd(spine.section, c), cord.clearance(c.t) - cord.sd(c))
            if direction is None:
                return _intersection(_circumferential_sd(spine.section, lobules, c), inside_canal)
            return _intersection(_lobules_sd(lobules, c), inside_canal, cord.behind_centre_sd(c, direction))

        bounds = _canal_bounds(spine.section, (t_low - 2, t_high + 2), 1.0)
    if mass.rim is None:
        return [_Layer(mass.tissue, "mass", sd, bounds)]
    return [_Layer(mass.rim.tissue, "mass", sd, bounds, core=(mass.tissue, "mass", mass.rim.thickness_mm))]


def _expanded_rib_layers(spine: _Spine, expansion: _RibExpansionSpec | None) -> list[_Layer]:
    if expansion is None:
        return []
    first, last = (_LEVEL_NAMES.index(level) for level in expansion.levels)
    return [_expanded_rib_layer(v, expansion, spine.section) for v in spine.vertebrae[first : last + 1] if v.shape.has_ribs]


@dataclass(frozen=True)
class _Anatomy:
    spine: _Spine
    cord: _Cord
    layers: list[_Layer]


def _anatomy(spec: _CaseSpec) -> _Anatomy:
    spine = _Spine(ADULT_SECTION.scaled(section_scale(spec.clinical.get("age"))))
    cord = _Cord(spine, spec.compression)
    canal_masses = [mass for mass in spec.masses if mass.position.kind != "paraspinal"]
    paraspinal_masses = [mass for mass in spec.masses if mass.position.kind == "paraspinal"]
    pairs = zip(spine.vertebrae, spine.vertebrae[1:])
    layers = [
        *_body_wall_layers(spine),
        *_canal_wall_layers(spine.section),
        *_element_layers(spine),
        *_expanded_rib_layers(spine, spec.rib_expansion),
        *_canal_layers(spine.section),
        # The thoracic station's images stop at L2 and are left as they were built before the cauda
        # equina was modelled; a composed field reaching the lumbar spine shows it.
        *([_cauda_equina_layer(spine.section)] if spec.field_levels else []),
        *(layer for mass in canal_masses for layer in _mass_layers(spine, cord, mass)),
        *_cord_layers(cord),
        *(layer for upper, lower in pairs for layer in _disc_layers(upper, lower)),
        *(_body_layer(vertebra, spec.marrow_striation) for vertebra in spine.vertebrae),
        *(layer for lesion in spec.body_lesions for layer in _body_lesion_layers(spine, lesion)),
        *(layer for mass in paraspinal_masses for layer in _mass_layers(spine, cord, mass)),
    ]
    return _Anatomy(spine, cord, layers)


# --- Acquisition grids ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Protocol:
    spacing: tuple[float, float, float]  # i (posterior), j (inferior), k (rightward) in mm
    matrix: tuple[int, int, int]  # ni, nj, nk
    offset: tuple[float, float, float]  # FOV centre relative to the study centre, RAS mm


# Different voxel sizes and fields of view on purpose: regions must be measured through world space.
_T1_PROTOCOL = _Protocol((0.8, 0.8, 3.0), (176, 440, 23), (0.0, 3.0, 4.0))
_PROTOCOLS = {
    "T2": _Protocol((1.0, 1.0, 1.2), (128, 336, 60), (0.0, 0.0, 0.0)),
    "T1": _T1_PROTOCOL,
    "T1C": _T1_PROTOCOL,
    "STIR": _Protocol((1.0, 1.0, 3.0), (128, 336, 23), (0.0, 0.0, 0.0)),
}
# A composed field covers the spine from this far behind to this far in front of the canal centre
# line (the thoracic station's skin to beyond the bodies and what lies in front of the sacrum), and
# this far beyond the first and last levels.
FIELD_U, FIELD_MARGIN_T = (SKIN_U - 3.0, 66.0), 12.0
# The FOV's AP centre lies this far anterior to the canal at the kyphosis apex.
_STUDY_CENTRE_Y = 6.0
NOISE_FRACTION = 0.025  # Rician sigma as a fraction of the brightest tissue of the sequence
# Slices thicker than this many in-plane voxels are sampled at their centre and at these
# fractions of a slice either side (the centres of its thirds).
THICK_SLICE_RATIO, SUB_SLICE_OFFSETS = 1.5, (-1 / 3, 1 / 3)
BLOCK_HEIGHT_STEP = 25.0  # mm between the heights at which a layer's bounds are mapped onto a grid
BIAS_TERMS = ((0.07, 2, 1200.0), (0.02, 1, 500.0), (0.01, 0, 300.0))  # amplitude, RAS axis, wavelength mm


@dataclass(frozen=True)
class _Grid:
    shape: tuple[int, int, int]  # numpy order
    ijk_to_ras: np.ndarray

    def shifted(self, slice_fraction: float) -> "_Grid":
        """The same grid moved by a fraction of a voxel along k: a sample inside each thick slice."""
        matrix = self.ijk_to_ras.copy()
        matrix[:3, 3] += matrix[:3, 2] * slice_fraction
        return _Grid(self.shape, matrix)

    def world(self) -> list[np.ndarray]:
        """R, A, S of the voxel centres as arrays that vary only along the axes they depend on."""
        nk, nj, ni = self.shape
        indices = (np.arange(ni).reshape(1, 1, ni), np.arange(nj).reshape(1, nj, 1), np.arange(nk).reshape(nk, 1, 1))
        coordinates = []
        for row in self.ijk_to_ras[:3]:
            terms = [row[axis] * indices[axis] for axis in range(3) if abs(row[axis]) > 1e-9]
            coordinates.append(reduce(np.add, terms, np.full((1, 1, 1), row[3])))
        return coordinates

    def block(self, bounds: _Bounds | None, centre_line: _CentreLine) -> tuple[slice, slice, slice] | None:
        """Voxel ranges (numpy order) that cover a layer's bounds, or None when none do."""
        if bounds is None:
            return (slice(None),) * 3
        # The bounds' corners, at heights close enough that the curved spine bulges little between them.
        heights = np.linspace(*bounds.t, max(3, math.ceil((bounds.t[1] - bounds.t[0]) / BLOCK_HEIGHT_STEP) + 1))
        x, u, t = np.meshgrid(bounds.x, bounds.u, heights, indexing="ij")
        y, z = centre_line.to_world(u.ravel(), t.ravel())
        corners = np.stack([x.ravel(), y, z, np.ones_like(y)])
        ijk = (np.linalg.inv(self.ijk_to_ras) @ corners)[:3]
        margin = 2.0 / np.linalg.norm(self.ijk_to_ras[:3, :3], axis=0) + 1  # curvature and edge softness
        low = np.maximum(np.floor(ijk.min(axis=1) - margin), 0).astype(int)
        high = np.minimum(np.ceil(ijk.max(axis=1) + margin), np.array(self.shape[::-1]) - 1).astype(int)
        if np.any(low > high):
            return None
        return tuple(slice(low[axis], high[axis] + 1) for axis in (2, 1, 0))


def _field_protocols(levels: tuple[str, str], spine: _Spine, rotation: np.ndarray) -> dict[str, _Protocol]:
    """A composed sagittal field (as a whole-spine examination joins its stations) over `levels`:
    each sequence keeps the thoracic station's voxels and slices, its matrix grown to cover the
    spine from FIELD_MARGIN_T above the first level to below the last, from FIELD_U behind the
    canal centre line to in front of it, in the acquisition's (possibly oblique) frame."""
    top, bottom = spine.span(levels)
    t = np.linspace(bottom - FIELD_MARGIN_T, top + FIELD_MARGIN_T, 400)
    outline = [spine.centre_line.to_world(np.full_like(t, u), t) for u in FIELD_U]
    y, z = (np.concatenate([part[axis] for part in outline]) for axis in (0, 1))
    centre = np.array([0.0, _STUDY_CENTRE_Y, 0.0])
    acquired = rotation.T @ (np.stack([np.zeros_like(y), y, z]) - centre[:, None])  # the field's own frame
    low, high = acquired.min(axis=1), acquired.max(axis=1)
    protocols = {}
    for role, station in _PROTOCOLS.items():
        spacing = np.array(station.spacing)
        matrix = (math.ceil((high[1] - low[1]) / spacing[0]), math.ceil((high[2] - low[2]) / spacing[1]), station.matrix[2])
        offset = (station.offset[0], float(low[1] + high[1]) / 2, float(low[2] + high[2]) / 2)
        protocols[role] = _Protocol(station.spacing, matrix, offset)
    return protocols


def _protocol_grid(protocol: _Protocol, centre: np.ndarray, shape_scale: float, rotation: np.ndarray) -> _Grid:
    fov = np.array(protocol.spacing) * np.array(protocol.matrix)
    matrix_size = np.array([max(1, round(n * shape_scale)) for n in protocol.matrix[:2]] + [protocol.matrix[2]])
    spacing = fov / matrix_size
    directions = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])  # columns: i -> P, j -> I, k -> R
    linear = rotation @ directions * spacing
    fov_centre = centre + rotation @ np.array(protocol.offset)
    ijk_to_ras = np.eye(4)
    ijk_to_ras[:3, :3] = linear
    ijk_to_ras[:3, 3] = fov_centre - linear @ ((matrix_size - 1) / 2)
    return _Grid((int(matrix_size[2]), int(matrix_size[1]), int(matrix_size[0])), ijk_to_ras)


def _rotation(axis: tuple[float, float, float], degrees: float) -> np.ndarray:
    """Rodrigues rotation about a unit RAS axis."""
    angle = math.radians(degrees)
    a = np.array(axis)
    cross = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle) * cross + (1 - math.cos(angle)) * cross @ cross


def _local_coords(grid: _Grid, centre_line: _CentreLine) -> _Coords:
    x, y, z = grid.world()
    y, z = np.broadcast_arrays(y, z)
    u, t = centre_line.to_local(y, z)
    return _Coords(x.astype(np.float32), u.astype(np.float32), t.astype(np.float32))


def _take(array: np.ndarray, block: tuple[slice, slice, slice]) -> np.ndarray:
    return array[tuple(part if size > 1 else slice(None) for part, size in zip(block, array.shape))]


def _paint(
    values: dict[str, np.ndarray],
    labels: np.ndarray | None,
    block: tuple[slice, slice, slice],
    sd: np.ndarray,
    tissue: dict[str, float],
    label: int,
    edge_width: float,
) -> None:
    """Lay one tissue over what is already painted; the soft edge gives partial volume."""
    alpha = np.float32(0.5) - sd * np.float32(1 / edge_width)
    np.clip(alpha, 0, 1, out=alpha)
    if not alpha.any():
        return
    for role, value in values.items():
        target = value[block]
        change = np.float32(tissue[role]) - target
        change *= alpha
        target += change
    if labels is not None:
        target = labels[block]
        np.copyto(target, np.uint8(label), where=np.broadcast_to(sd < 0, target.shape))


def _render(
    anatomy: _Anatomy, grid: _Grid, roles: Sequence[str], signal: dict[str, dict[str, float]], with_labels: bool
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Noise-free, bias-free images of `roles` on one grid, plus its label map if asked."""
    coords = _local_coords(grid, anatomy.spine.centre_line)
    values = {role: np.full(grid.shape, signal["air"][role], dtype=np.float32) for role in roles}
    labels = np.zeros(grid.shape, dtype=np.uint8) if with_labels else None
    edge_width = float(np.linalg.norm(grid.ijk_to_ras[:3, :2], axis=0).min())
    for layer in anatomy.layers:
        block = grid.block(layer.bounds, anatomy.spine.centre_line)
        if block is None:
            continue
        local = _Coords(_take(coords.x, block), _take(coords.u, block), _take(coords.t, block))
        sd = layer.sd(local)
        tissue = {role: signal[layer.tissue][role] for role in roles}
        _paint(values, labels, block, sd, tissue, _LABEL_IDS[layer.label], edge_width)
        if layer.core:
            core_tissue, core_label, depth = layer.core
            core = {role: signal[core_tissue][role] for role in roles}
            if layer.texture:
                pattern = layer.texture(local)
                core = {role: value * pattern for role, value in core.items()}
            _paint(values, labels, block, sd + np.float32(depth), core, _LABEL_IDS[core_label], edge_width)
    return values, labels


def _render_thick(
    anatomy: _Anatomy, grid: _Grid, roles: Sequence[str], signal: dict[str, dict[str, float]], with_labels: bool
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Average sub-slices of thick slices, so that a 3 mm slice blends what it spans."""
    values, labels = _render(anatomy, grid, roles, signal, with_labels)
    spacing = np.linalg.norm(grid.ijk_to_ras[:3, :3], axis=0)
    if spacing[2] <= THICK_SLICE_RATIO * spacing[:2].min():
        return values, labels
    for offset in SUB_SLICE_OFFSETS:
        extra, _ = _render(anatomy, grid.shifted(offset), roles, signal, False)
        for role in roles:
            values[role] += extra[role]
    for role in roles:
        values[role] /= 1 + len(SUB_SLICE_OFFSETS)
    return values, labels


def _bias_field(grid: _Grid, phases: np.ndarray, centre: np.ndarray, stretch: float) -> np.ndarray:
    """A smooth multiplicative field; `stretch` widens its head-foot wavelength over a composed
    field, whose stations are each normalised, so that it varies no more than over one station."""
    world = grid.world()
    field = np.ones(grid.shape, dtype=np.float32)
    for (amplitude, axis, wavelength), phase in zip(BIAS_TERMS, phases):
        length = wavelength * stretch if axis == 2 else wavelength
        field += (amplitude * np.cos(2 * np.pi * (world[axis] - centre[axis]) / length + phase)).astype(np.float32)
    return field


def _rician(clean: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    real = clean + np.float32(sigma) * rng.standard_normal(clean.shape, dtype=np.float32)
    imaginary = np.float32(sigma) * rng.standard_normal(clean.shape, dtype=np.float32)
    return np.sqrt(real**2 + imaginary**2)


# --- Regions a radiologist would draw ------------------------------------------------------------

# Every point of a fitted box stays this far inside its tissue: half an in-plane voxel of soft
# edge plus the distance from any point to the nearest label-map voxel centre.
ROI_MARGIN, ROI_SMALLEST_HALF = 1.0, 0.4
# How far beyond its centre plane a thick slice's sub-samples reach.
_SLICE_REACH = max(
    protocol.spacing[2] * max(SUB_SLICE_OFFSETS)
    for protocol in _PROTOCOLS.values()
    if protocol.spacing[2] > THICK_SLICE_RATIO * min(protocol.spacing[:2])
)


def _box(centre_line: _CentreLine, centre: tuple[float, float, float], half: tuple[float, float, float]) -> BoxSpec:
    """A box given in the spine frame (x, u, t), aligned with the spine where it sits."""
    x, u, t = centre
    y, z = centre_line.to_world(np.float64(u), np.float64(t))
    anterior, superior = centre_line.frame(t)
    return BoxSpec(
        center=(float(x), float(y), float(z)),
        size=tuple(float(2 * h) for h in half),
        axes=((1.0, 0.0, 0.0), anterior, superior),
    )


def _mass_roi(
    spine: _Spine, cord: _Cord, mass: _MassSpec, case: str
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Centre and half-size (x, u, t) of a box in the thickest lobule, fitted inside its core."""
    lobules = _mass_lobules(spine, cord, mass)
    lobule = max(lobules, key=lambda l: l.radial_depth)
    if mass.position.kind == "paraspinal":
        centre, half = lobule.centre, tuple(0.5 * semi for semi in lobule.semis)
    else:
        direction = mass.position.direction or _SIDES["posterior"]
        depth = _canal_mass_thickness(cord, lobules, direction, np.array([lobule.centre[2]]))[0]
        radial = _wall_distance(spine.section, direction) - depth / 2
        lateral_half, t_half = mass.width_mm / 4, 0.5 * lobule.semis[2]
        if direction[0]:
            centre, half = (direction[0] * radial, 0.0, lobule.centre[2]), (depth / 2, lateral_half, t_half)
        else:
            centre, half = (0.0, direction[1] * radial, lobule.centre[2]), (lateral_half, depth / 2, t_half)
    layer = _mass_layers(spine, cord, mass)[0]
    core_depth = layer.core[2] if layer.core else 0.0

    def visible_core_sd(c: _Coords) -> np.ndarray:
        return _intersection(layer.sd(c) + np.float32(core_depth), -cord.sd(c))

    fitted = _fit_inside(visible_core_sd, centre, half)
    if fitted is None:
        where = f"the {mass.position.kind} mass at {'-'.join(dict.fromkeys(mass.levels))}"
        raise InputError(case, f"{where} is too thin or too small for a measurement box (the first mass of each site holds one); make it deeper or wider")
    return centre, fitted


def _canal_mass_thickness(cord: _Cord, lobules: list[_Lobule], direction: tuple[float, float], t: np.ndarray) -> np.ndarray:
    """Thickness of an epidural mass from the canal wall at heights t."""
    wall, radial_axis = _wall_distance(cord.canal_section, direction), 0 if direction[0] else 1
    inner = np.full_like(t, np.inf)
    for lobule in lobules:
        reach = np.sqrt(np.clip(1 - ((t - lobule.centre[2]) / lobule.semis[2]) ** 2, 0, None))
        lobule_inner = wall + 1 - lobule.semis[radial_axis] * (1 + reach)
        inner = np.where(reach > 0, np.minimum(inner, lobule_inner), inner)
    # Where the cord is compressed it paints over the mass, so the mass ends at the cord's surface.
    front = np.maximum(inner, cord.near_surface(t, direction) + np.maximum(cord.clearance(t), 0))
    return np.maximum(wall - front, 0)


def _fit_inside(
    region_sd: Callable[[_Coords], np.ndarray], centre: tuple[float, float, float], half: tuple[float, float, float]
) -> tuple[float, float, float] | None:
    """Shrink a box about its centre until it lies inside a region on every grid, or None.

    Points of the box, and the same points moved by the reach of thick-slice sub-samples along
    x, must lie ROI_MARGIN inside the region. Only the axes along which the offending points lie
    off-centre are shrunk, so a box limited by its length keeps its depth.
    """
    steps = np.linspace(-1, 1, 5)
    offsets = np.array(np.meshgrid(steps, steps, steps, indexing="ij")).reshape(3, -1).T
    reach = np.array([[0.0, 0.0, 0.0], [-_SLICE_REACH, 0.0, 0.0], [_SLICE_REACH, 0.0, 0.0]])
    size = np.array(half, dtype=float)
    while size.min() > ROI_SMALLEST_HALF:
        points = ((np.array(centre) + offsets * size)[:, None, :] + reach).astype(np.float32)
        sd = region_sd(_Coords(*points.reshape(-1, 3).T)).reshape(len(offsets), len(reach))
        outside = np.any(sd > -ROI_MARGIN, axis=1)
        if not outside.any():
            return tuple(float(h) for h in size)
        shrink = np.any(offsets[outside] != 0, axis=0)
        if not shrink.any():  # the centre itself is too close to the edge
            return None
        size = np.where(shrink, size * 0.9, size)
    return None


def _mass_sites(masses: Sequence[_MassSpec]) -> list[_MassSpec]:
    """The first-listed mass of each site, the primary site first: masses whose levels overlap or
    adjoin, directly or through another mass, form one site."""
    ranges = [[_LEVEL_NAMES.index(level) for level in mass.levels] for mass in masses]
    groups: list[list[int]] = []
    reach = -2
    for index in sorted(range(len(masses)), key=lambda i: ranges[i][0]):
        if ranges[index][0] > reach + 1:
            groups.append([])
        groups[-1].append(index)
        reach = max(reach, ranges[index][1])
    return [masses[min(group)] for group in sorted(groups, key=min)]


def _rois(anatomy: _Anatomy, spec: _CaseSpec) -> dict[str, list[BoxSpec]]:
    spine, cord, centre_line = anatomy.spine, anatomy.cord, anatomy.spine.centre_line
    primary = spec.masses[0]
    mass_centre, mass_half = _mass_roi(spine, cord, primary, spec.name)
    other_sites = [_mass_roi(spine, cord, mass, spec.name) for mass in _mass_sites(spec.masses)[1:]]

    first_affected = primary.levels[0]
    if spec.compression and _LEVEL_NAMES.index(spec.compression.levels[0]) < _LEVEL_NAMES.index(first_affected):
        first_affected = spec.compression.levels[0]
    cord_level = spine.vertebrae[max(_LEVEL_NAMES.index(first_affected) - 1, 0)]
    cord_x, cord_u, _, _ = (v.item() for v in cord.section(np.array([cord_level.centre_t])))

    lesion_levels = {lesion.level for lesion in spec.body_lesions}
    candidates = [v for v in spine.vertebrae if v.name not in lesion_levels and v.name in _levels_between(THORACIC_STATION)]
    marrow_level = min(candidates, key=lambda v: abs(v.centre_t - mass_centre[2]))
    below = spine.below(marrow_level)  # the disc under the marrow box; L2 is modelled below L1
    disc_depth = (marrow_level.shape.depth + below.shape.depth) / 2
    disc_height = marrow_level.shape.disc_below
    disc_t = marrow_level.bottom - disc_height / 2

    muscle_side = 1.0 if primary.position.side == "left" else -1.0
    shape = marrow_level.shape
    return {
        "cord": [_box(centre_line, (cord_x, cord_u, cord_level.centre_t), (2.0, 1.2, 7.0))],
        "mass": [_box(centre_line, centre, half) for centre, half in [(mass_centre, mass_half), *other_sites]],
        "marrow": [
            _box(centre_line, (0.0, marrow_level.body_centre_u, marrow_level.centre_t), (5.0, 0.22 * shape.depth, 0.25 * shape.height))
        ],
        "muscle": [_box(centre_line, (muscle_side * MUSCLE_ROI_X, MUSCLE_ROI_U, marrow_level.centre_t), (3.0, 5.0, 5.0))],
        "disc": [
            _box(
                centre_line,
                (0.0, CANAL_ANTERIOR_WALL + disc_depth / 2, disc_t),
                (4.0, 0.2 * disc_depth, min(1.0, disc_height / 2 - 1.2)),
            )
        ],
    }


def _levels_between(levels: tuple[str, str]) -> list[str]:
    first, last = (_LEVEL_NAMES.index(level) for level in levels)
    return _LEVEL_NAMES[first : last + 1]


def _level_centres(spine: _Spine, grid: _Grid, levels: tuple[str, str]) -> dict[str, tuple[float, float, float]]:
    """World body centres of the field's vertebrae whose centre lies inside `grid`, superior first."""
    centres = {}
    world_to_ijk = np.linalg.inv(grid.ijk_to_ras)
    for name in _levels_between(levels):
        vertebra = spine.by_name[name]
        y, z = spine.centre_line.to_world(np.float64(vertebra.body_centre_u), np.float64(vertebra.centre_t))
        ijk = (world_to_ijk @ np.array([0.0, y, z, 1.0]))[:3]
        if np.all(ijk >= -0.5) and np.all(ijk <= np.array(grid.shape[::-1]) - 0.5):
            centres[name] = (0.0, float(y), float(z))
    return centres


# --- The study --------------------------------------------------------------------------------------


def build_study(name: str, seed: int = 0, *, oblique_degrees: float | None = None, shape_scale: float = 1.0) -> SyntheticStudy:
    """A synthetic study of the case `name`; the same seed always gives the same images.

    `oblique_degrees` overrides the case's obliquity: every grid turns about the case's oblique
    axis while the anatomy stays where it is in world space. `shape_scale` scales the in-plane
    matrix (same field of view) for benchmarks.
    """
    if shape_scale <= 0:
        raise InputError("shape_scale", "must be positive")
    spec = _read_case(name)
    signal = _signal_table(spec.signal, str(CASES_DIR / f"{name}.json"))
    anatomy = _anatomy(spec)
    degrees = spec.oblique_degrees if oblique_degrees is None else oblique_degrees
    rotation = _rotation(_OBLIQUE_AXES[spec.oblique_axis], degrees)
    centre = np.array([0.0, _STUDY_CENTRE_Y, 0.0])

    seeds = np.random.SeedSequence(seed).spawn(1 + len(spec.sequences))
    phases = np.random.default_rng(seeds[0]).uniform(0, 2 * np.pi, len(BIAS_TERMS))
    noise_rngs = {role: np.random.default_rng(child) for role, child in zip(spec.sequences, seeds[1:])}

    sequences: dict[str, SequenceImage] = {}
    labels, label_grid = None, None
    protocols = _field_protocols(spec.field_levels, anatomy.spine, rotation) if spec.field_levels else _PROTOCOLS
    for protocol, roles in _roles_by_protocol(spec.sequences, protocols).items():
        grid = _protocol_grid(protocol, centre, shape_scale, rotation)
        with_labels = _LABEL_GRID_ROLE in roles
        values, grid_labels = _render_thick(anatomy, grid, roles, signal, with_labels)
        if with_labels:
            labels, label_grid = grid_labels, grid
        bias = _bias_field(grid, phases, centre, protocol.matrix[1] / _PROTOCOLS[roles[0]].matrix[1])
        for role in roles:
            clean = values[role] * bias
            sigma = NOISE_FRACTION * max(roles_of_tissue[role] for roles_of_tissue in signal.values())
            image = _rician(clean, sigma, noise_rngs[role])
            sequences[role] = SequenceImage(role, image, clean, grid.ijk_to_ras.copy())

    scale = body_scale(spec.clinical.get("age"))
    return SyntheticStudy(
        name=spec.name,
        title=spec.title,
        story=spec.story,
        expected=spec.expected,
        sequences={role: _scaled_sequence(sequences[role], scale) for role in spec.sequences},
        labels=labels,
        label_names=dict(LABEL_NAMES),
        label_grid=_scaled_matrix(label_grid.ijk_to_ras, scale),
        rois={region: [_scaled_box(box, scale) for box in boxes] for region, boxes in _rois(anatomy, spec).items()},
        level_centres={
            name: _scaled_point(centre, scale) for name, centre in _level_centres(anatomy.spine, label_grid, spec.field_levels or THORACIC_STATION).items()
        },
        mass_levels=(spec.mass_spans[0][0], spec.mass_spans[-1][1]),
        mass_spans=spec.mass_spans,
        compression_levels=spec.compression.levels if spec.compression else None,
        clinical=dict(spec.clinical),
    )


def body_scale(age: object) -> float:
    """The patient's size against the adult phantom, from age (data/body_size.json); 1 without an age."""
    table = _body_size_table()
    if not _is_age(age):
        return 1.0
    ages, lengths = zip(*table["by_age"])
    return min(float(np.interp(age, ages, lengths)) / table["adult_mm"], 1.0)


def section_scale(age: object) -> float:
    """How much larger the canal's cross-section and the cord are against the body than the adult
    phantom's, from age (data/body_size.json's cord_section); 1 for an adult or without an age. The
    whole study is then scaled by `body_scale`, so the cord ends up its age's size."""
    if not _is_age(age):
        return 1.0
    ages, factors = zip(*_body_size_table()["cord_section"]["by_age"])
    return min(float(np.interp(age, ages, factors)), 1.0) / body_scale(age)


def _is_age(age: object) -> bool:
    return isinstance(age, (int, float)) and not isinstance(age, bool)


def _body_size_table() -> dict:
    with open(BODY_SIZE_FILE, encoding="utf-8") as stream:
        return json.load(stream)


# A child's study is the adult phantom scaled about the world origin: anatomy, field of view and
# voxels alike, so every image array is the adult's and only the geometry shrinks.
def _scaled_matrix(ijk_to_ras: np.ndarray, scale: float) -> np.ndarray:
    scaled = ijk_to_ras.copy()
    scaled[:3] *= scale
    return scaled


def _scaled_sequence(sequence: SequenceImage, scale: float) -> SequenceImage:
    return SequenceImage(sequence.role, sequence.image, sequence.clean, _scaled_matrix(sequence.ijk_to_ras, scale))


def _scaled_point(point: tuple[float, float, float], scale: float) -> tuple[float, float, float]:
    return tuple(float(value * scale) for value in point)


def _scaled_box(box: BoxSpec, scale: float) -> BoxSpec:
    return BoxSpec(_scaled_point(box.center, scale), _scaled_point(box.size, scale), box.axes)


def _roles_by_protocol(roles: Sequence[str], protocols: dict[str, _Protocol]) -> dict[_Protocol, list[str]]:
    """Sequences that share a geometry are rendered together from one anatomy pass."""
    grouped: dict[_Protocol, list[str]] = {}
    for role in roles:
        grouped.setdefault(protocols[role], []).append(role)
    return grouped
