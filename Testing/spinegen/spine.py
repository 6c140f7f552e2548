"""One generated spine: the curve, its levels, and the cross-sections along it (cord narrowed by
the mass, the mass's front), built from a `Design`.

The mass is described by how it deforms the cord, so the painted cord has exactly the narrowing
asked for: along the curve a weight w(s) is 1 over the compression's core and falls to 0 over
the onset length beyond each end (a smoothstep); the cord's diameter towards the mass is scaled
by 1 - severity * w(s), its other diameter widened a little (a flattened cord), and its far edge
moved away from the mass by the displacement (the CSF on the far side given up first). The mass's
front lies on the cord's deformed surface plus the CSF left on that side (none when effaced) and
the dura; past the compression the front recedes to the canal wall over the mass's tapering ends.
"""

from dataclasses import dataclass

import numpy as np

from .anatomy import DS, MARGIN, Curve, Level, Profiles, knowledge, layout_levels, level_table
from .design import Design

# Widening of the cord's other diameter per unit of narrowing (a cord pressed flat widens;
# a cord pressed from all sides narrows in both, less across).
WIDENING_ALONG_AP_PRESS = 0.2
WIDENING_ALONG_RL_PRESS = 0.1
CIRCUMFERENTIAL_RL_SHARE = 0.6
RESIDUAL_CSF_MM = 1.0  # CSF left between mass and cord when it is not effaced
_DIRECTIONS = {"posterior": (0.0, -1.0), "anterior": (0.0, 1.0), "left": (-1.0, 0.0), "right": (1.0, 0.0)}


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


@dataclass
class Mass:
    """An epidural mass (a front in the canal: a half-plane along `direction` or, all around, an
    ellipse) or a paraspinal one (an ellipsoid beside the body)."""

    kind: str
    side: str
    top: float  # s of its upper and lower ends
    bottom: float
    direction: tuple[float, float] | None = None
    # paraspinal ellipsoid: centre (s, u, v) and semi-axes (s, u, v)
    centre: tuple[float, float, float] | None = None
    semi: tuple[float, float, float] | None = None

    @property
    def epidural(self) -> bool:
        return self.centre is None


@dataclass
class Spine:
    design: Design
    curve: Curve
    levels: list[Level]
    profiles: Profiles
    mass: Mass | None
    window: tuple[float, float]  # s of the field of view's top and bottom along the curve
    conus_tip: float
    second_mass: Mass | None = None

    @property
    def masses(self) -> list[Mass]:
        return [mass for mass in (self.mass, self.second_mass) if mass is not None]

    @property
    def s(self) -> np.ndarray:
        return self.curve.s

    def level_of(self, name: str) -> Level:
        return next(level for level in self.levels if level.name == name)

    def level_bounds(self) -> list[tuple[Level, float, float]]:
        """Each level's extent along the curve from the middle of the disc above to the middle of
        the disc below (the first level from its body's top less half its disc)."""
        bounds = []
        for n, level in enumerate(self.levels):
            upper = 0.5 * (self.levels[n - 1].body_bottom + level.body_top) if n else first_level_top(self.levels)
            lower = 0.5 * (level.body_bottom + level.disc_bottom)
            bounds.append((level, upper, lower))
        return bounds


def build_spine(design: Design) -> Spine:
    rng = np.random.default_rng([design.seed, 1])
    levels = layout_levels(design.body_scale, rng)
    s = np.arange(-MARGIN, levels[-1].disc_bottom + MARGIN + DS / 2, DS)
    centre = next(level for level in levels if level.name == design.window_centre)
    sagittal, coronal = _angles(design, levels, s, centre.centre_s)
    curve = Curve.from_angles(s, sagittal, coronal, np.zeros(3))
    # The window's centre (canal axis at the centre level) at a random scanner position.
    shift = np.array([rng.uniform(-10, 10), rng.uniform(-40, 0), rng.uniform(-60, 60)]) - curve.point(np.array([centre.centre_s]))[0]
    curve.points = curve.points + shift
    conus = knowledge()["conus"]
    l1 = next(level for level in levels if level.name == conus["level"])
    tip = l1.body_top + rng.uniform(*conus["position_in_body"]) * (l1.body_bottom - l1.body_top)
    profiles = _healthy_profiles(design, levels, s, tip, conus["taper_mm"], rng)
    half = design.fov_si_mm / 2
    window = (centre.centre_s - half, centre.centre_s + half)
    mass = None
    if not design.healthy:
        mass = _place_mass(design, levels, profiles, s, rng)
    second = None
    if design.second_mass_level is not None and not design.healthy:
        second = _second_mass(design, next(level for level in levels if level.name == design.second_mass_level))
    return Spine(design, curve, levels, profiles, mass, window, tip, second)


def _second_mass(design: Design, level: Level) -> Mass:
    """An ellipsoid in front of a sacral body (presacral) or beside any other (paraspinal, right),
    spanning about the body's height; its own random stream, so the first mass is unchanged."""
    rng = np.random.default_rng([design.seed, 5])
    height = level.body_bottom - level.body_top
    semi_s, semi_u, semi_v = 0.5 * height + rng.uniform(0, 6), rng.uniform(8, 13), rng.uniform(8, 12)
    body_v = level.dims["canal_ap"] / 2 + level.dims["body_ap"] / 2
    if level.name.startswith("S"):
        side, u, v = "presacral", 0.0, body_v + level.dims["body_ap"] / 2 + semi_v + rng.uniform(1, 4)
    else:
        side, u, v = "paraspinal_right", level.dims["body_rl"] / 2 + semi_u + rng.uniform(2, 6), body_v
    return Mass(design.mass_kind, side, level.centre_s - semi_s, level.centre_s + semi_s, centre=(level.centre_s, u, v), semi=(semi_s, semi_u, semi_v))


def _angles(design: Design, levels: list[Level], s: np.ndarray, centre_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Tangent tilts along the curve (degrees). Sagittal: each region's Cobb angle spread evenly
    over it (lordosis turns the tangent backward going down, kyphosis forward), smoothed over
    15 mm; zero at the window's centre plus the patient's tilt. Coronal: one scoliotic curve whose
    tangent turns by its Cobb angle over six levels around the window's centre."""
    curvature = np.zeros_like(s)
    if design.curvature != "straight":
        regions = [("C2", "C7", -design.cervical_lordosis_deg), ("T1", "T12", design.thoracic_kyphosis_deg),
                   ("L1", "L5", -design.lumbar_lordosis_deg), ("S1", "S3", -30.0)]
        for first, last, cobb in regions:
            top = next(level.body_top for level in levels if level.name == first)
            bottom = next(level.disc_bottom for level in levels if level.name == last)
            inside = (s >= top) & (s < bottom)
            curvature[inside] = cobb / (bottom - top)
        kernel = np.exp(-0.5 * (np.arange(-45, 45 + DS / 2, DS) / 15.0) ** 2)
        curvature = np.convolve(curvature, kernel / kernel.sum(), mode="same")
    sagittal = np.cumsum(curvature) * DS
    sagittal += design.tilt_deg - np.interp(centre_s, s, sagittal)
    coronal = np.zeros_like(s)
    if design.curvature == "scoliotic":
        span = 6 * 22.0
        coronal = 0.5 * design.scoliosis_deg * np.sin(np.clip(np.pi * (s - centre_s) / span, -np.pi / 2, np.pi / 2))
    return sagittal, coronal


def _healthy_profiles(design: Design, levels: list[Level], s: np.ndarray, tip: float, taper: float, rng: np.random.Generator) -> Profiles:
    profiles = Profiles()
    profiles["canal_a"] = level_table(levels, s, "canal_rl") / 2
    profiles["canal_b"] = level_table(levels, s, "canal_ap") / 2
    profiles["sac_a"] = level_table(levels, s, "sac_rl") / 2
    profiles["sac_b"] = level_table(levels, s, "sac_ap") / 2
    # The sac lies against the front of the canal: the epidural fat is mostly behind it.
    profiles["sac_cv"] = 0.7 * (profiles["canal_b"] - profiles["sac_b"])
    corded = [level for level in levels if level.dims["cord_ap"] is not None]
    centres = np.array([level.centre_s for level in corded])
    scale = design.cord_scale * np.sqrt(smoothstep((tip - s) / taper))
    cord_a = np.interp(s, centres, [level.dims["cord_rl"] / 2 for level in corded]) * scale
    cord_b = np.interp(s, centres, [level.dims["cord_ap"] / 2 for level in corded]) * scale
    dura = knowledge()["dura_mm"]
    # The cord sits a little forward in the sac (more so in the kyphotic thoracic spine), and
    # always leaves at least 1 mm of CSF inside the dura on every side.
    forward = rng.uniform(0.0, 1.0)
    room_b = np.maximum(profiles["sac_b"] - dura - cord_b - 1.0, 0.0)
    room_a = np.maximum(profiles["sac_a"] - dura - cord_a - 1.0, 0.0)
    cord_cv = profiles["sac_cv"] + np.minimum(forward, room_b)
    cord_cu = np.clip(rng.uniform(-0.5, 0.5), -room_a, room_a)
    cord_a = np.minimum(cord_a, profiles["sac_a"] - dura - 1.0)
    cord_b = np.minimum(cord_b, profiles["sac_b"] - dura - 1.0)
    for key, value in (("cord_a", cord_a), ("cord_b", cord_b), ("cord_cu", cord_cu), ("cord_cv", cord_cv)):
        profiles[key + "0"] = np.clip(value, 0.0, None)
        profiles[key] = profiles[key + "0"].copy()
    profiles["weight"] = np.zeros_like(s)
    profiles["narrowing"] = np.zeros_like(s)
    profiles["front"] = np.full_like(s, np.inf)
    profiles["residual"] = np.zeros_like(s)
    return profiles


def first_level_top(levels: list[Level]) -> float:
    """Where the first modelled level begins along the curve: its body's top less half its disc."""
    first = levels[0]
    return first.body_top - 0.5 * (first.disc_bottom - first.body_bottom)


def _below_the_first_level(middle: float, design: Design, levels: list[Level], ends: np.ndarray) -> float:
    """The mass's middle moved down as far as its upper end would run above the first modelled
    level (C2, from half a disc above its body): above it the truth has no level to name, where a
    real spine has C1 (seeds 27 34 60 110 164 180 248 270 painted mass up to 19 mm above C2)."""
    upper = first_level_top(levels)
    reach = design.core_mm / 2 + (ends.mean() if design.side.startswith("paraspinal") else design.onset_mm + ends[0])
    return max(middle, upper + reach)


def _place_mass(design: Design, levels: list[Level], profiles: Profiles, s: np.ndarray, rng: np.random.Generator) -> Mass:
    level = next(level for level in levels if level.name == design.mass_level)
    middle = level.centre_s + rng.uniform(-0.3, 0.3) * (level.body_bottom - level.body_top)
    ends = rng.uniform(3.0, 15.0, size=2)
    middle = _below_the_first_level(middle, design, levels, ends)
    core_top, core_bottom = middle - design.core_mm / 2, middle + design.core_mm / 2
    if design.side.startswith("paraspinal"):
        sign = -1.0 if design.side.endswith("left") else 1.0
        semi_u, semi_v = rng.uniform(7, 13), rng.uniform(9, 15)
        u = sign * (level.dims["body_rl"] / 2 + semi_u + rng.uniform(2, 6))
        v = profiles["canal_b"][np.searchsorted(s, middle)] + level.dims["body_ap"] / 2
        half = design.core_mm / 2 + ends.mean()
        return Mass(design.mass_kind, design.side, middle - half, middle + half, centre=(middle, u, v), semi=(half, semi_u, semi_v))
    top, bottom = core_top - design.onset_mm - ends[0], core_bottom + design.onset_mm + ends[1]
    weight = smoothstep(1 - np.maximum(core_top - s, s - core_bottom) / design.onset_mm)
    weight[(s >= core_top) & (s <= core_bottom)] = 1.0
    severity = 0.0 if design.spares_cord else design.severity
    narrowing = severity * weight
    dura = knowledge()["dura_mm"]
    p = profiles
    if design.side == "circumferential":
        direction = None
        p["cord_b"] = p["cord_b0"] * (1 - narrowing)
        p["cord_a"] = p["cord_a0"] * (1 - CIRCUMFERENTIAL_RL_SHARE * narrowing)
        residual = np.full_like(s, RESIDUAL_CSF_MM if design.effacement == "none" else 0.0)
        # The front: the distance from the cord's surface to the mass, an ellipse around the cord.
        touch = residual + dura + (1.5 + rng.uniform(0, 1.5) if design.spares_cord else 0.0)
        recede = _receding(s, top, bottom, ends) * 20.0
        front = np.where((s >= top) & (s <= bottom), touch + recede, np.inf)
        # thickness behind the cord: from the front ellipse's back to the canal's back wall
        thickness = p["canal_b"] - (p["cord_b"] + front - p["cord_cv"])
    else:
        direction = _DIRECTIONS[design.side]
        along_ap = direction[0] == 0.0
        near, far = ("cord_b", "cord_a") if along_ap else ("cord_a", "cord_b")
        sac_semi = p["sac_b"] if along_ap else p["sac_a"]
        sac_centre = (p["sac_cv"] if along_ap else 0.0) * (direction[1] if along_ap else direction[0])
        cord_centre = p["cord_cv0"] * direction[1] + p["cord_cu0"] * direction[0]
        far_csf = np.maximum((cord_centre - p[near + "0"]) - (sac_centre - sac_semi + dura), 0.0)
        shift = (1.0 if design.effacement == "both" else design.displacement) * far_csf * weight
        p[near] = p[near + "0"] * (1 - narrowing)
        p[far] = p[far + "0"] * (1 + (WIDENING_ALONG_AP_PRESS if along_ap else WIDENING_ALONG_RL_PRESS) * narrowing)
        centre = cord_centre - shift - narrowing * p[near + "0"]
        p["cord_cv"] = p["cord_cv0"] + (centre - cord_centre) * direction[1]
        p["cord_cu"] = p["cord_cu0"] + (centre - cord_centre) * direction[0]
        near_csf = np.maximum((sac_centre + sac_semi - dura) - (cord_centre + p[near + "0"]), 0.0)
        residual = np.minimum(RESIDUAL_CSF_MM, near_csf) if design.effacement == "none" else np.zeros_like(s)
        gap = residual + (1.5 + rng.uniform(0, 1.5) if design.spares_cord else 0.0)
        touching = centre + p[near] + gap + dura
        canal = p["canal_b"] if along_ap else p["canal_a"]
        # In a canal the cord nearly fills (the cervical spine) a mass kept clear of the cord
        # would have no room: it is at least 1 mm thick where it is thickest, nearer the cord.
        touching = np.minimum(touching, canal - 1.0)
        recede = _receding(s, top, bottom, ends) * (canal - touching)
        front = np.where((s >= top) & (s <= bottom), touching + np.maximum(recede, 0.0), np.inf)
        thickness = canal - front
    p["weight"] = weight
    p["narrowing"] = narrowing
    p["front"] = front
    p["residual"] = residual
    p["mass_thickness"] = np.where(np.isfinite(front), np.maximum(thickness, 0.0), 0.0)
    return Mass(design.mass_kind, design.side, top, bottom, direction=direction)


def _receding(s: np.ndarray, top: float, bottom: float, ends: np.ndarray) -> np.ndarray:
    """0 between the mass's tapering ends, rising to 1 at its top and bottom (a smoothstep over
    each end's own length)."""
    upper = (top + ends[0] - s) / ends[0]
    lower = (s - (bottom - ends[1])) / ends[1]
    return smoothstep(np.maximum(upper, lower))
