"""The teaching phantom's spine: vertebrae from C7 to S5 stacked along the canal's centre line
(thoracic kyphosis, lumbar lordosis, the backward-tilted sacrum), the spine frame (x to the
patient's right, u anterior from the canal centre, t along the spine) that follows it, the canal's
cross-section, and where the canal's contents end below the cord."""

import math
from dataclasses import astuple, dataclass

import numpy as np

# Millimetres in the spine frame.
# Canal centre is u = 0; the posterior walls of bodies and discs are flat at u = +8.
CANAL_ANTERIOR_WALL = 8.0
RIB_RADIUS = 3.5
# The thecal sac ends in the middle of S2, tapering over its last few millimetres (this cone's
# radius grows by THECAL_SAC_TAPER per millimetre upwards); below it the sacral canal narrows to
# an AP depth of CANAL_ANTERIOR_WALL - SACRAL_CANAL_END_U at the bottom of S5.
THECAL_SAC_END_LEVEL, THECAL_SAC_TAPER, SACRAL_CANAL_END_U = "S2", 0.4, 0.0
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
class CanalSection:
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

    def scaled(self, factor: float) -> "CanalSection":
        """Every dimension times `factor`, about the canal centre; the bodies' walls stay where they are."""
        return CanalSection(*(value * factor for value in astuple(self)))


ADULT_SECTION = CanalSection()


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
class PhantomVertebra:
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


def _layout() -> list[PhantomVertebra]:
    """Vertebrae stacked from C7 down, centred so that T1's top and L1's bottom are equidistant from t = 0."""
    stacked: list[PhantomVertebra] = []
    top, disc_above = 0.0, 0.0
    for shape in _vertebra_table():
        stacked.append(PhantomVertebra(shape, top, disc_above))
        top -= shape.height + shape.disc_below
        disc_above = shape.disc_below
    by_name = {vertebra.name: vertebra for vertebra in stacked}
    shift = -(by_name["T1"].top + by_name["L1"].bottom) / 2
    return [PhantomVertebra(v.shape, v.top + shift, v.disc_above) for v in stacked]


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


class CentreLine:
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


LEVEL_NAMES = [shape.name for shape in _vertebra_table()]
LOWER_CANAL = _lower_canal()
SACRUM_TOP = next(vertebra.top for vertebra in _layout() if vertebra.shape.ala)


class Spine:
    def __init__(self, section: CanalSection = ADULT_SECTION) -> None:
        self.section = section
        self.vertebrae = _layout()
        self.by_name = {vertebra.name: vertebra for vertebra in self.vertebrae}
        apex = self.by_name[KYPHOSIS_APEX_LEVEL].centre_t
        far = max(abs(self.by_name["T1"].top - apex), abs(self.by_name["L1"].bottom - apex))
        anchors = [(self.by_name[name].at(where), degrees) for name, where, degrees in LUMBOSACRAL_ANGLES]
        self.centre_line = CentreLine(_Kyphosis(apex, far), anchors, ALONG_SPINE[0])

    def span(self, levels: tuple[str, str]) -> tuple[float, float]:
        """t of the superior endplate of the first level and the inferior endplate of the last."""
        return self.by_name[levels[0]].top, self.by_name[levels[1]].bottom

    def nearest(self, t: float) -> PhantomVertebra:
        return min(self.vertebrae, key=lambda vertebra: abs(vertebra.centre_t - t))

    def depth_at(self, t: np.ndarray) -> np.ndarray:
        centres = [vertebra.centre_t for vertebra in reversed(self.vertebrae)]
        depths = [vertebra.shape.depth for vertebra in reversed(self.vertebrae)]
        return np.interp(t, centres, depths).astype(np.float32)

    def below(self, vertebra: PhantomVertebra) -> PhantomVertebra:
        return self.vertebrae[self.vertebrae.index(vertebra) + 1]
