"""The teaching phantom's anatomy: each tissue a layer (a signed distance in the spine frame, the
box that encloses it, an optional inner core and texture) in painting order — body wall, canal
walls, bones, canal and its contents, the cord with its compression, discs, bodies and their
lesions, and the masses, epidural and paraspinal, lobule by lobule."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

import numpy as np

from ...knowledge import load
from ...settings import format_version, keyed, parse, positive
from .case_spec import (
    SIDES,
    BodyLesionSpec,
    CaseSpec,
    CompressionSpec,
    MassSpec,
    RibExpansionSpec,
    StriationSpec,
)
from .shapes import (
    Coords,
    capsule_sd,
    ellipsoid_sd,
    intersection,
    rounded_intersection,
    slab_sd,
    union,
)
from .spine_layout import (
    ALONG_SPINE,
    CANAL_ANTERIOR_WALL,
    LEVEL_NAMES,
    LOWER_CANAL,
    RIB_RADIUS,
    SACRUM_TOP,
    THECAL_SAC_TAPER,
    CanalSection,
    PhantomVertebra,
    Spine,
)

# The label map's tissues.
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
LABEL_IDS = {name: label for label, name in LABEL_NAMES.items()}

# Millimetres in the spine frame (see spine_layout).
BODY_CORTEX, POSTERIOR_CORTEX = 1.5, 1.0
# An expanded rib swells from its head to this fraction of the way from tubercle to angle.
RIB_EXPANSION_REACH = 0.5
ARCH_THICKNESS, LIGAMENTUM_FLAVUM_THICKNESS = 5.5, 3.0
PEDICLE_LAMINA_BOUNDARY_U = -3.0  # pedicles lie anterior to it, laminae posterior
SKIN_U, SUBCUTANEOUS_FAT_U = -55.0, -46.0
MUSCLE_FRONT_U, MUSCLE_MIDLINE_GAP, MUSCLE_HALF_WIDTH, MUSCLE_HALF_DEPTH = -8.0, 2.5, 44.0, 26.0
LUNG_MEDIAL_X, LUNG_POSTERIOR_U = 17.0, -14.0
AORTA_X, AORTA_RADIUS, AORTA_GAP = -15.0, 11.0, 1.0
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


def _canal_ellipse_sd(section: CanalSection, c: Coords, growth: float = 0.0) -> np.ndarray:
    return ellipsoid_sd((c.x, section.canal_semi_rl + growth), (c.u, section.canal_semi_ap + growth))


def _canal_sd(section: CanalSection, c: Coords) -> np.ndarray:
    back_wall = LOWER_CANAL.back_wall(c.t, section.canal_semi_ap)
    return intersection(_canal_ellipse_sd(section, c), c.u - CANAL_ANTERIOR_WALL, back_wall - c.u, LOWER_CANAL.canal_end - c.t)


def _thecal_sac_sd(section: CanalSection, c: Coords) -> np.ndarray:
    radial = np.sqrt(c.x**2 + (c.u - section.dura_centre_u) ** 2)
    tip = (radial - (c.t - LOWER_CANAL.sac_end) * THECAL_SAC_TAPER) / math.hypot(1.0, THECAL_SAC_TAPER)
    return intersection(ellipsoid_sd((c.x, section.dura_semi_rl), (c.u - section.dura_centre_u, section.dura_semi_ap)), tip)


def _body_axial_sd(c: Coords, depth: float, width: float, bulge: float = 0.0) -> np.ndarray:
    """Axial outline of a body or disc: an ellipse cut flat by the canal's anterior wall."""
    ellipse = ellipsoid_sd((c.x, width / 2 + bulge), (c.u - (CANAL_ANTERIOR_WALL + 0.4 * depth), 0.6 * depth + bulge))
    return intersection(ellipse, CANAL_ANTERIOR_WALL - c.u)


# --- The cord and its compression --------------------------------------------------------------


# The levels the cord passes, C7 to its conus in L1.
CORD_LEVELS = tuple(LEVEL_NAMES[: LEVEL_NAMES.index("L1") + 1])
# A healthy cord's diameter at one level over its mid-thoracic one stays within these bounds.
CORD_FACTOR_MAX = 2.0


@dataclass(frozen=True)
class PhantomCordFactors:
    ap: float = positive(CORD_FACTOR_MAX)
    rl: float = positive(CORD_FACTOR_MAX)


@dataclass(frozen=True)
class PhantomCordShape:
    """data/phantom_cord.json: the healthy cord's diameters at each level over its mid-thoracic size."""

    version: int = format_version()
    by_level: dict[str, PhantomCordFactors] = keyed(lambda: CORD_LEVELS)


def _level_shape(spine: "Spine") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Body-centre heights (increasing) and the healthy cord's AP and RL factors there: the cord
    tapers along the spine as a real one does."""
    table = parse(PhantomCordShape, load("phantom_cord"), "phantom_cord").by_level
    levels = [spine.by_name[name] for name in reversed(CORD_LEVELS)]
    heights = np.array([vertebra.centre_t for vertebra in levels])
    return heights, *(np.array([getattr(table[vertebra.name], axis) for vertebra in levels]) for axis in ("ap", "rl"))


class PhantomCord:
    """The cord's elliptical section along t, flattened and pushed away where a mass compresses it."""

    def __init__(self, spine: "Spine", compression: CompressionSpec | None) -> None:
        self.compression = compression
        self.canal_section = spine.section
        self.conus_tip = spine.by_name["L1"].bottom
        self.level_shape = _level_shape(spine)
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
        heights, ap, rl = self.level_shape
        semi_x = (size.cord_semi_rl * np.interp(t, heights, rl)).astype(t.dtype)
        semi_u = (size.cord_semi_ap * np.interp(t, heights, ap)).astype(t.dtype)
        if self.compression is None:
            return centre_x, centre_u, semi_x * taper, semi_u * taper
        severity, side = self.severity(t), self.compression.side
        if side == "circumferential":
            semi_u = semi_u * (1 - severity)
        else:
            push_x, push_u = (-component for component in SIDES[side])
            displacement = size.cord_max_displacement * self.relative_severity(t)
            if push_u:
                centre_u = centre_u + push_u * (displacement + semi_u * severity)
                semi_u, semi_x = semi_u * (1 - severity), semi_x * (1 + 0.25 * severity)
            else:
                centre_x = centre_x + push_x * (displacement + semi_x * severity)
                semi_x, semi_u = semi_x * (1 - severity), semi_u * (1 + 0.25 * severity)
        return centre_x, centre_u, semi_x * taper, semi_u * taper

    def sd(self, c: Coords) -> np.ndarray:
        """The cord, its conus and the filum terminale, which leaves the field inside the sac."""
        centre_x, centre_u, semi_x, semi_u = self.section(c.t)
        return intersection(ellipsoid_sd((c.x - centre_x, semi_x), (c.u - centre_u, semi_u)), LOWER_CANAL.sac_end - c.t)

    def near_surface(self, t: np.ndarray, direction: tuple[float, float]) -> np.ndarray:
        """Distance from the canal centre to the cord surface that faces `direction`, along t."""
        centre_x, centre_u, semi_x, semi_u = self.section(t)
        return centre_x * direction[0] + centre_u * direction[1] + (semi_x if direction[0] else semi_u)

    def behind_centre_sd(self, c: Coords, direction: tuple[float, float]) -> np.ndarray:
        """Negative on the `direction` side of the cord's centre: a mass on one side stays there."""
        centre_x, centre_u, _, _ = self.section(c.t)
        return (centre_x - c.x) * direction[0] + (centre_u - c.u) * direction[1]

    def clearance(self, t: np.ndarray) -> np.ndarray:
        """How far a mass must stay from the cord: a gap where it is free, an overlap where compressed."""
        closeness = np.minimum(self.relative_severity(t) * 2.5, 2.0)
        return MASS_CORD_GAP - closeness * (MASS_CORD_GAP + MASS_CORD_OVERLAP) / 2

    def edema_sd(self, c: Coords) -> np.ndarray:
        top, bottom = self.span
        centre_x, centre_u, semi_x, semi_u = self.section(c.t)
        return ellipsoid_sd(
            (c.x - centre_x, 0.6 * semi_x), (c.u - centre_u, 0.6 * semi_u), (c.t - self.peak, 0.22 * (top - bottom))
        )


# --- Layers: what is painted where, in painting order --------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """A box in the spine frame that encloses a layer, used to paint only nearby voxels."""

    x: tuple[float, float]
    u: tuple[float, float]
    t: tuple[float, float]


@dataclass(frozen=True)
class _Layer:
    tissue: str
    label: str
    sd: Callable[[Coords], np.ndarray]
    bounds: Bounds | None = None
    core: tuple[str, str, float] | None = None  # tissue, label and depth of an inner layer painted next
    texture: Callable[[Coords], np.ndarray] | None = None  # multiplies the core's signal


def _body_wall_layers(spine: Spine) -> list[_Layer]:
    lung_base = spine.by_name["T11"].centre_t
    aorta_top, aorta_bottom = spine.by_name["T4"].top, spine.by_name["T12"].bottom

    def aorta(c: Coords) -> np.ndarray:
        centre_u = CANAL_ANTERIOR_WALL + spine.depth_at(c.t) + AORTA_RADIUS + AORTA_GAP
        circle = np.sqrt((c.x - AORTA_X) ** 2 + (c.u - centre_u) ** 2) - AORTA_RADIUS
        return intersection(circle, slab_sd(c.t, aorta_bottom, aorta_top))

    pelvis = (spine.by_name[PELVIC_FAT_FULL_LEVEL].centre_t, spine.by_name["L5"].centre_t)

    def mediastinal_fat(c: Coords) -> np.ndarray:
        front = CANAL_ANTERIOR_WALL + spine.depth_at(c.t)
        pelvic = np.interp(c.t, pelvis, (1.0, 0.0)).astype(np.float32)
        depth = front + MEDIASTINAL_FAT_DEPTH + PELVIC_FAT_EXTRA_DEPTH * pelvic
        half_width = MEDIASTINAL_FAT_HALF_WIDTH + PELVIC_FAT_EXTRA_HALF_WIDTH * pelvic
        return intersection(slab_sd(c.u, front - 3.0, depth), np.abs(c.x) - half_width)

    def muscles(c: Coords) -> np.ndarray:
        # Erector spinae and transversospinalis fill the gutters beside the spinous processes;
        # the bones painted later carve their own shapes out of this block.
        lateral = ellipsoid_sd((c.x, MUSCLE_HALF_WIDTH), (c.u - (MUSCLE_FRONT_U + SUBCUTANEOUS_FAT_U) / 2, MUSCLE_HALF_DEPTH))
        return intersection(lateral, MUSCLE_MIDLINE_GAP - np.abs(c.x), slab_sd(c.u, SUBCUTANEOUS_FAT_U, MUSCLE_FRONT_U))

    muscle_u = (SUBCUTANEOUS_FAT_U - 2, MUSCLE_FRONT_U + 2)
    return [
        _Layer("soft_tissue", "soft_tissue", lambda c: SKIN_U - c.u),
        _Layer("lung", "lung", lambda c: intersection(LUNG_MEDIAL_X - np.abs(c.x), LUNG_POSTERIOR_U - c.u, lung_base - c.t)),
        _Layer("fat", "fat", mediastinal_fat),
        _Layer("vessel", "vessel", aorta, Bounds((-30, 0), (10, 80), (aorta_bottom - 2, aorta_top + 2))),
        _Layer(
            "fat",
            "fat",
            lambda c: intersection(SKIN_U - c.u, union(c.u - SUBCUTANEOUS_FAT_U, intersection(np.abs(c.x) - 7.0, c.u + 12.0))),
            Bounds((-60, 60), (SKIN_U - 2, -10), ALONG_SPINE),
        ),
        _Layer("muscle", "muscle", muscles, Bounds((-MUSCLE_HALF_WIDTH, MUSCLE_HALF_WIDTH), muscle_u, ALONG_SPINE)),
    ]


def _canal_surroundings(section: CanalSection, c: Coords, growth: float) -> np.ndarray:
    """A band of `growth` mm around the bony canal, behind the bodies."""
    return intersection(_canal_ellipse_sd(section, c, growth), -_canal_ellipse_sd(section, c), c.u - CANAL_ANTERIOR_WALL)


def _canal_wall_layers(section: CanalSection) -> list[_Layer]:
    """Foraminal fat beside the canal and the ligaments behind it; bone is painted over them."""
    reach = section.canal_semi_rl + ARCH_THICKNESS + 2
    band = Bounds((-reach, reach), (-50, CANAL_ANTERIOR_WALL + 1), ALONG_SPINE)

    def foramina(c: Coords) -> np.ndarray:
        return intersection(_canal_surroundings(section, c, ARCH_THICKNESS + 1), PEDICLE_LAMINA_BOUNDARY_U - c.u)

    def ligaments(c: Coords) -> np.ndarray:
        flavum = intersection(_canal_surroundings(section, c, LIGAMENTUM_FLAVUM_THICKNESS), c.u - PEDICLE_LAMINA_BOUNDARY_U)
        interspinous = intersection(np.abs(c.x) - 2.0, slab_sd(c.u, SUBCUTANEOUS_FAT_U + 2, -section.canal_semi_ap))
        # None behind the sacrum's fused plate.
        return intersection(union(flavum, interspinous), SACRUM_TOP - c.t)

    return [_Layer("epidural_fat", "epidural_fat", foramina, band), _Layer("ligament", "ligament", ligaments, band)]


def rib_points(vertebra: PhantomVertebra, side: int) -> tuple[tuple[float, float, float], ...]:
    """Head, tubercle and lateral point (x, u, t) of one rib's posterior part."""
    shape, tc, h = vertebra.shape, vertebra.centre_t, vertebra.shape.height
    head = (side * (shape.width / 2 - 2.0), CANAL_ANTERIOR_WALL + 0.25 * shape.depth, vertebra.top)
    tubercle = (side * 24.0, -11.0, tc + 0.05 * h)
    lateral = (side * 46.0, -20.0, tc - 0.1 * h)
    return head, tubercle, lateral


def _expanded_rib_layer(vertebra: PhantomVertebra, expansion: RibExpansionSpec, section: CanalSection) -> _Layer:
    """The posterior ends of a vertebra's ribs widened by marrow expansion (seed 001), cortex thinned."""

    def sd(c: Coords) -> np.ndarray:
        parts = []
        for side in (-1, 1):
            head, tubercle, lateral = rib_points(vertebra, side)
            end = tuple(a + RIB_EXPANSION_REACH * (b - a) for a, b in zip(tubercle, lateral))
            parts.append(capsule_sd((c.x, c.u, c.t), head, tubercle, expansion.radius_mm))
            parts.append(capsule_sd((c.x, c.u, c.t), tubercle, end, expansion.radius_mm))
        # Kept out of the canal and the body, which the ribs only abut.
        return intersection(union(*parts), -_canal_ellipse_sd(section, c, ARCH_THICKNESS), -_body_sd(vertebra, c))

    reach = expansion.radius_mm + 2
    bounds = Bounds((-52, 52), (-35, CANAL_ANTERIOR_WALL + vertebra.shape.depth), (vertebra.bottom - reach - 4, vertebra.top + reach))
    return _Layer("cortical_bone", "cortical_bone", sd, bounds, core=(expansion.tissue, "posterior_element", POSTERIOR_CORTEX / 2))


def _posterior_element_layer(vertebra: PhantomVertebra, section: CanalSection) -> _Layer:
    """Pedicles, laminae, spinous and transverse processes and rib necks of one vertebra."""
    shape, tc, h = vertebra.shape, vertebra.centre_t, vertebra.shape.height
    length, drop, radius = shape.spinous
    spinous_root = (-(section.canal_semi_ap + ARCH_THICKNESS / 2), tc - 0.05 * h)
    spinous_tip = (spinous_root[0] - length, spinous_root[1] - drop)
    lamina_t = (tc - h / 2 - shape.disc_below / 2 - 2.0, tc + 0.3 * h)
    pedicle_t = (tc - 0.2 * h, tc + 0.42 * h)
    process_t = tc + 0.05 * h

    def sd(c: Coords) -> np.ndarray:
        ring = _canal_surroundings(section, c, ARCH_THICKNESS)
        pedicles = intersection(ring, PEDICLE_LAMINA_BOUNDARY_U - c.u, slab_sd(c.t, *pedicle_t))
        laminae = intersection(ring, c.u - PEDICLE_LAMINA_BOUNDARY_U, slab_sd(c.t, *lamina_t))
        spinous = intersection(capsule_sd((c.u, c.t), spinous_root, spinous_tip, radius), np.abs(c.x) - 3.0)
        parts = [pedicles, laminae, spinous]
        for side in (-1, 1):
            process = capsule_sd((c.x, c.u), (side * 11.0, -4.0), (side * 25.0, -13.0), 3.5)
            parts.append(intersection(process, np.abs(c.t - process_t) - 5.0))
            if shape.has_ribs:
                head, tubercle, lateral = rib_points(vertebra, side)
                parts.append(capsule_sd((c.x, c.u, c.t), head, tubercle, RIB_RADIUS))
                parts.append(capsule_sd((c.x, c.u, c.t), tubercle, lateral, RIB_RADIUS))
        return union(*parts)

    bounds = Bounds((-52, 52), (spinous_tip[0] - radius - 2, CANAL_ANTERIOR_WALL + shape.depth), (spinous_tip[1] - radius - 2, vertebra.top + 5))
    return _Layer("cortical_bone", "cortical_bone", sd, bounds, core=("posterior_element", "posterior_element", POSTERIOR_CORTEX))


def _sacral_element_layer(vertebra: PhantomVertebra, fused_above: bool, section: CanalSection) -> _Layer:
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

    def sd(c: Coords) -> np.ndarray:
        back = LOWER_CANAL.back_wall(c.t, section.canal_semi_ap) - ARCH_THICKNESS
        plate = intersection(_canal_ellipse_sd(section, c, ARCH_THICKNESS), -_canal_sd(section, c), c.u - CANAL_ANTERIOR_WALL, back - c.u)
        crest = intersection(capsule_sd((c.u, c.t), crest_root, crest_tip, radius), np.abs(c.x) - 3.0, back - c.u)
        alae = ellipsoid_sd((np.abs(c.x) - ala_x, ala_semi_x), (c.u - ala_u, ala_semi_u))
        return intersection(union(plate, crest, alae), slab_sd(c.t, *t_range))

    reach_x = ala_x + ala_semi_x + 2
    bounds = Bounds((-reach_x, reach_x), (crest_tip[0] - radius - 2, ala_u + ala_semi_u + 2), (t_range[0] - 2, t_range[1] + 2))
    return _Layer("cortical_bone", "cortical_bone", sd, bounds, core=("posterior_element", "posterior_element", POSTERIOR_CORTEX))


def _element_layers(spine: "Spine") -> list[_Layer]:
    layers = []
    for above, vertebra in zip([None, *spine.vertebrae], spine.vertebrae):
        if vertebra.shape.ala:
            layers.append(_sacral_element_layer(vertebra, bool(above and above.shape.ala), spine.section))
        else:
            layers.append(_posterior_element_layer(vertebra, spine.section))
    return layers


def _canal_bounds(section: CanalSection, t: tuple[float, float], margin: float) -> Bounds:
    return Bounds(
        (-section.canal_semi_rl - margin, section.canal_semi_rl + margin), (-section.canal_semi_ap - margin, CANAL_ANTERIOR_WALL + margin), t
    )


def _canal_layers(section: CanalSection) -> list[_Layer]:
    canal = _canal_bounds(section, ALONG_SPINE, 1.0)
    return [
        _Layer("epidural_fat", "epidural_fat", lambda c: _canal_sd(section, c), canal),
        _Layer("csf", "csf", lambda c: _thecal_sac_sd(section, c), canal),
    ]


def _cauda_equina_layer(section: CanalSection) -> _Layer:
    """Nerve roots from the conus to the end of the thecal sac, kept inside the sac."""
    start_t, end_t = LOWER_CANAL.conus_tip + 12.0, LOWER_CANAL.sac_end + 6.0

    def sd(c: Coords) -> np.ndarray:
        roots = [
            capsule_sd((c.x, c.u, c.t), (side * 0.4 * x, section.cord_centre_u, start_t), (side * x, u, end_t), NERVE_ROOT_RADIUS)
            for side in (-1, 1)
            for x, u in NERVE_ROOT_ENDS
        ]
        return intersection(union(*roots), _thecal_sac_sd(section, c) + NERVE_ROOT_RADIUS)

    dura_x, dura_u = section.dura_semi_rl, section.dura_semi_ap
    return _Layer("nerve_root", "nerve_root", sd, Bounds((-dura_x, dura_x), (-dura_u, dura_u + 1), (end_t - 2, start_t + 2)))


def _cord_layers(cord: PhantomCord) -> list[_Layer]:
    canal = _canal_bounds(cord.canal_section, ALONG_SPINE, 0.0)
    layers = [_Layer("cord", "cord", cord.sd, canal)]
    if cord.compression and cord.compression.cord_edema:
        layers.append(_Layer("cord_edema", "cord", cord.edema_sd, Bounds(canal.x, canal.u, (cord.span[1], cord.span[0]))))
    return layers


def _disc_layers(upper: PhantomVertebra, lower: PhantomVertebra) -> list[_Layer]:
    height = upper.shape.disc_below
    centre_t = upper.bottom - height / 2
    depth, width = (upper.shape.depth + lower.shape.depth) / 2, (upper.shape.width + lower.shape.width) / 2
    # Half a millimetre into each endplate, so that no gap opens between disc and body.
    t_range = (centre_t - height / 2 - 0.5, centre_t + height / 2 + 0.5)
    nucleus_u = CANAL_ANTERIOR_WALL + depth / 2
    bounds = Bounds((-width / 2 - 2, width / 2 + 2), (CANAL_ANTERIOR_WALL - 1, CANAL_ANTERIOR_WALL + depth + 2), (t_range[0] - 1, t_range[1] + 1))
    return [
        _Layer("annulus", "annulus", lambda c: intersection(_body_axial_sd(c, depth, width, bulge=0.5), slab_sd(c.t, *t_range)), bounds),
        _Layer(
            "disc",
            "disc",
            lambda c: intersection(ellipsoid_sd((c.x, 0.3 * width), (c.u - nucleus_u, 0.28 * depth)), slab_sd(c.t, *t_range)),
            bounds,
        ),
    ]


def _striation(spec: "StriationSpec", vertebra: PhantomVertebra) -> Callable[[Coords], np.ndarray]:
    """Thick vertical trabeculae and no horizontal ones: columns of darker and brighter marrow,
    `period_mm` apart front to back and twice that side to side (so that they survive a 3 mm
    sagittal slice), constant along the spine, averaging to the marrow's own signal."""
    wave = 2 * math.pi / spec.period_mm

    def texture(c: Coords) -> np.ndarray:
        pattern = np.cos(wave / 2 * c.x) * np.cos(wave * (c.u - vertebra.body_centre_u))
        return (1 + spec.contrast * pattern).astype(np.float32)

    return texture


def _body_layer(vertebra: PhantomVertebra, striation: "StriationSpec | None" = None) -> _Layer:
    shape = vertebra.shape

    def sd(c: Coords) -> np.ndarray:
        return rounded_intersection(_body_axial_sd(c, shape.depth, shape.width), slab_sd(c.t, vertebra.bottom, vertebra.top), 1.5)

    bounds = Bounds(
        (-shape.width / 2 - 1, shape.width / 2 + 1), (CANAL_ANTERIOR_WALL - 1, CANAL_ANTERIOR_WALL + shape.depth + 1), (vertebra.bottom - 1, vertebra.top + 1)
    )
    texture = _striation(striation, vertebra) if striation else None
    return _Layer("cortical_bone", "cortical_bone", sd, bounds, core=("vertebral_body", "vertebral_body", BODY_CORTEX), texture=texture)


def _body_sd(vertebra: PhantomVertebra, c: Coords) -> np.ndarray:
    return _body_layer(vertebra).sd(c)


def _body_lesion_layers(spine: Spine, lesion: BodyLesionSpec) -> list[_Layer]:
    vertebra = spine.by_name[lesion.level]
    centre = (lesion.offset_mm[0], vertebra.body_centre_u + lesion.offset_mm[1], vertebra.centre_t + lesion.offset_mm[2])
    semis = [diameter / 2 for diameter in lesion.diameters_mm]

    def lesion_sd(c: Coords) -> np.ndarray:
        return ellipsoid_sd(*zip((c.x - centre[0], c.u - centre[1], c.t - centre[2]), semis))

    reach = max(semis) + (lesion.halo.thickness_mm if lesion.halo else 0) + 2
    bounds = Bounds((centre[0] - reach, centre[0] + reach), (centre[1] - reach, centre[1] + reach), (centre[2] - reach, centre[2] + reach))
    layers = []
    if lesion.halo:
        thickness = lesion.halo.thickness_mm
        layers.append(_Layer(lesion.halo.tissue, "body_lesion", lambda c: intersection(lesion_sd(c) - thickness, _body_sd(vertebra, c)), bounds))
    layers.append(_Layer(lesion.tissue, "body_lesion", lesion_sd, bounds))
    return layers


# --- Masses -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lobule:
    centre: tuple[float, float, float]  # x, u, t
    semis: tuple[float, float, float]  # along x, u, t
    radial_depth: float  # thickness from the canal wall (epidural) or the body's side (paraspinal)


def wall_distance(section: CanalSection, direction: tuple[float, float]) -> float:
    """Distance from the canal centre to its bony wall along an axis direction."""
    if direction[1] > 0:
        return CANAL_ANTERIOR_WALL
    return section.canal_semi_ap if direction[1] < 0 else section.canal_semi_rl


def _lobule_layout(spine: Spine, cord: PhantomCord, mass: MassSpec) -> list[tuple[float, float]]:
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


def _canal_lobules(spine: Spine, cord: PhantomCord, mass: MassSpec) -> list[_Lobule]:
    """Epidural lobules: from the canal wall inwards, deep enough to reach the cord where it is compressed."""
    direction = mass.position.direction or SIDES["posterior"]
    wall = wall_distance(spine.section, direction)
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


def _paraspinal_lobules(spine: Spine, cord: PhantomCord, mass: MassSpec) -> list[_Lobule]:
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


def _lobules_sd(lobules: list[_Lobule], c: Coords) -> np.ndarray:
    return union(
        *(
            ellipsoid_sd(*zip((c.x - lobule.centre[0], c.u - lobule.centre[1], c.t - lobule.centre[2]), lobule.semis))
            for lobule in lobules
        )
    )


def _circumferential_sd(section: CanalSection, lobules: list[_Lobule], c: Coords) -> np.ndarray:
    """A sleeve lining the canal wall whose thickness swells lobule by lobule."""
    thickness = reduce(
        np.maximum,
        (lobule.radial_depth * np.sqrt(np.clip(1 - ((c.t - lobule.centre[2]) / lobule.semis[2]) ** 2, 0, 1)) for lobule in lobules),
    )
    canal = _canal_sd(section, c)
    return intersection(canal, -(canal + thickness), slab_sd(c.t, *_lobules_t(lobules)))


def _lobules_t(lobules: list[_Lobule]) -> tuple[float, float]:
    return min(l.centre[2] - l.semis[2] for l in lobules), max(l.centre[2] + l.semis[2] for l in lobules)


def mass_lobules(spine: Spine, cord: PhantomCord, mass: MassSpec) -> list[_Lobule]:
    if mass.position.kind == "paraspinal":
        return _paraspinal_lobules(spine, cord, mass)
    return _canal_lobules(spine, cord, mass)


def mass_layers(spine: Spine, cord: PhantomCord, mass: MassSpec) -> list[_Layer]:
    lobules = mass_lobules(spine, cord, mass)
    t_low, t_high = _lobules_t(lobules)
    if mass.position.kind == "paraspinal":
        def sd(c: Coords) -> np.ndarray:
            return _lobules_sd(lobules, c)

        reach = max(max(l.semis[:2]) + abs(l.centre[0]) for l in lobules) + 2
        front = max(l.centre[1] + l.semis[1] for l in lobules) + 2
        bounds = Bounds((-reach, reach), (-10, max(60.0, front)), (t_low - 2, t_high + 2))
    else:
        direction = mass.position.direction

        def sd(c: Coords) -> np.ndarray:
            # Inside the bony canal, and clear of the cord except where the cord is compressed.
            inside_canal = intersection(_canal_sd(spine.section, c), cord.clearance(c.t) - cord.sd(c))
            if direction is None:
                return intersection(_circumferential_sd(spine.section, lobules, c), inside_canal)
            return intersection(_lobules_sd(lobules, c), inside_canal, cord.behind_centre_sd(c, direction))

        bounds = _canal_bounds(spine.section, (t_low - 2, t_high + 2), 1.0)
    if mass.rim is None:
        return [_Layer(mass.tissue, "mass", sd, bounds)]
    return [_Layer(mass.rim.tissue, "mass", sd, bounds, core=(mass.tissue, "mass", mass.rim.thickness_mm))]


def _expanded_rib_layers(spine: Spine, expansion: RibExpansionSpec | None) -> list[_Layer]:
    if expansion is None:
        return []
    first, last = (LEVEL_NAMES.index(level) for level in expansion.levels)
    return [_expanded_rib_layer(v, expansion, spine.section) for v in spine.vertebrae[first : last + 1] if v.shape.has_ribs]


@dataclass(frozen=True)
class Anatomy:
    spine: Spine
    cord: PhantomCord
    layers: list[_Layer]


def build_anatomy(spec: CaseSpec, section: CanalSection) -> Anatomy:
    """The case's anatomy, its canal and cord of `section`'s size."""
    spine = Spine(section)
    cord = PhantomCord(spine, spec.compression)
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
        *(layer for mass in canal_masses for layer in mass_layers(spine, cord, mass)),
        *_cord_layers(cord),
        *(layer for upper, lower in pairs for layer in _disc_layers(upper, lower)),
        *(_body_layer(vertebra, spec.marrow_striation) for vertebra in spine.vertebrae),
        *(layer for lesion in spec.body_lesions for layer in _body_lesion_layers(spine, lesion)),
        *(layer for mass in paraspinal_masses for layer in mass_layers(spine, cord, mass)),
    ]
    return Anatomy(spine, cord, layers)


def canal_mass_thickness(cord: PhantomCord, lobules: list[_Lobule], direction: tuple[float, float], t: np.ndarray) -> np.ndarray:
    """Thickness of an epidural mass from the canal wall at heights t."""
    wall, radial_axis = wall_distance(cord.canal_section, direction), 0 if direction[0] else 1
    inner = np.full_like(t, np.inf)
    for lobule in lobules:
        reach = np.sqrt(np.clip(1 - ((t - lobule.centre[2]) / lobule.semis[2]) ** 2, 0, None))
        lobule_inner = wall + 1 - lobule.semis[radial_axis] * (1 + reach)
        inner = np.where(reach > 0, np.minimum(inner, lobule_inner), inner)
    # Where the cord is compressed it paints over the mass, so the mass ends at the cord's surface.
    front = np.maximum(inner, cord.near_surface(t, direction) + np.maximum(cord.clearance(t), 0))
    return np.maximum(wall - front, 0)
