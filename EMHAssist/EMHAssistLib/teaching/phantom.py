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

The parts live in `phantom_parts/`: `shapes` (signed-distance primitives), `spine_layout`
(vertebrae, the centre line and the canal's cross-section), `case_spec` (the spec reader),
`anatomy` (cord, layers, masses) and `acquisition` (signal, grids, painting, noise). This module
finds the case files, fits the boxes a radiologist would draw, sizes a child and builds the study.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..knowledge import DATA_DIR
from .phantom_parts.acquisition import (
    BIAS_TERMS,
    LABEL_GRID_ROLE,
    NOISE_FRACTION,
    PROTOCOLS,
    SIGNAL_FILE,
    STUDY_CENTRE_Y,
    SUB_SLICE_OFFSETS,
    THICK_SLICE_RATIO,
    PhantomGrid,
    bias_field,
    field_protocols,
    protocol_grid,
    render_thick,
    rician,
    roles_by_protocol,
    rotation_about,
    signal_table,
)
from .phantom_parts.anatomy import (
    LABEL_NAMES,
    Anatomy,
    PhantomCord,
    build_anatomy,
    canal_mass_thickness,
    mass_layers,
    mass_lobules,
    wall_distance,
)
from .phantom_parts.case_spec import (
    OBLIQUE_AXES,
    SIDES,
    CaseSpec,
    MassSpec,
    SpecReader,
    read_case,
)
from .phantom_parts.shapes import Coords, intersection
from .phantom_parts.spine_layout import (
    ADULT_SECTION,
    CANAL_ANTERIOR_WALL,
    LEVEL_NAMES,
    CentreLine,
    Spine,
)

__all__ = [
    "BODY_SIZE_FILE",
    "CASES_DIR",
    "FOLLOW_UP_DIR",
    "LABEL_NAMES",
    "SIGNAL_FILE",
    "THORACIC_STATION",
    "BoxSpec",
    "CaseInfo",
    "PhantomSequenceImage",
    "SyntheticStudy",
    "body_scale",
    "build_study",
    "case_info",
    "case_names",
    "section_scale",
]

CASES_DIR = DATA_DIR / "cases"
# Later exams of a teaching case's patient (teaching/followup.py): built like any case, never listed as one.
FOLLOW_UP_DIR = CASES_DIR / "followup"
BODY_SIZE_FILE = DATA_DIR / "body_size.json"


@dataclass(frozen=True)
class BoxSpec:
    """An ROI box in world (RAS) millimetres."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]  # full edge lengths along the box axes
    axes: tuple[tuple[float, float, float], ...]  # box x, y, z axes as unit RAS vectors


@dataclass(frozen=True)
class PhantomSequenceImage:
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
    sequences: dict[str, PhantomSequenceImage]
    labels: np.ndarray  # uint8 tissue labels on the T2 grid
    label_names: dict[int, str]
    label_grid: np.ndarray  # 4x4 ijk_to_ras of `labels`
    rois: dict[str, list[BoxSpec]]  # "mass": one box for each separate site of masses
    level_centres: dict[str, tuple[float, float, float]]
    mass_levels: tuple[str, str]  # first and last level of the mass spans
    mass_spans: tuple[tuple[str, str], ...]  # the levels the analysis should report, superior first
    compression_levels: tuple[str, str] | None
    clinical: dict


# The default field: a thoracic station (the fixed protocols of phantom_parts.acquisition) with level points from T1 to L1.
THORACIC_STATION = ("T1", "L1")
MUSCLE_ROI_X, MUSCLE_ROI_U = 18.0, -30.0  # mid erector spinae, clear of ribs and processes


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
    reader = SpecReader(path)
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
    path = next((folder / f"{name}.json" for folder in (CASES_DIR, FOLLOW_UP_DIR) if (folder / f"{name}.json").is_file()), None)
    if path is None:
        raise InputError(name, f"no such case; known cases: {', '.join(case_names())}")
    return path


# --- Regions a radiologist would draw ------------------------------------------------------------

# Every point of a fitted box stays this far inside its tissue: half an in-plane voxel of soft
# edge plus the distance from any point to the nearest label-map voxel centre.
ROI_MARGIN, ROI_SMALLEST_HALF = 1.0, 0.4
# How far beyond its centre plane a thick slice's sub-samples reach.
_SLICE_REACH = max(
    protocol.spacing[2] * max(SUB_SLICE_OFFSETS)
    for protocol in PROTOCOLS.values()
    if protocol.spacing[2] > THICK_SLICE_RATIO * min(protocol.spacing[:2])
)


def _box(centre_line: CentreLine, centre: tuple[float, float, float], half: tuple[float, float, float]) -> BoxSpec:
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
    spine: Spine, cord: PhantomCord, mass: MassSpec, case: str
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Centre and half-size (x, u, t) of a box in the thickest lobule, fitted inside its core."""
    lobules = mass_lobules(spine, cord, mass)
    lobule = max(lobules, key=lambda l: l.radial_depth)
    if mass.position.kind == "paraspinal":
        centre, half = lobule.centre, tuple(0.5 * semi for semi in lobule.semis)
    else:
        direction = mass.position.direction or SIDES["posterior"]
        depth = canal_mass_thickness(cord, lobules, direction, np.array([lobule.centre[2]]))[0]
        radial = wall_distance(spine.section, direction) - depth / 2
        lateral_half, t_half = mass.width_mm / 4, 0.5 * lobule.semis[2]
        if direction[0]:
            centre, half = (direction[0] * radial, 0.0, lobule.centre[2]), (depth / 2, lateral_half, t_half)
        else:
            centre, half = (0.0, direction[1] * radial, lobule.centre[2]), (lateral_half, depth / 2, t_half)
    layer = mass_layers(spine, cord, mass)[0]
    core_depth = layer.core[2] if layer.core else 0.0

    def visible_core_sd(c: Coords) -> np.ndarray:
        return intersection(layer.sd(c) + np.float32(core_depth), -cord.sd(c))

    fitted = _fit_inside(visible_core_sd, centre, half)
    if fitted is None:
        where = f"the {mass.position.kind} mass at {'-'.join(dict.fromkeys(mass.levels))}"
        raise InputError(case, f"{where} is too thin or too small for a measurement box (the first mass of each site holds one); make it deeper or wider")
    return centre, fitted


def _fit_inside(
    region_sd: Callable[[Coords], np.ndarray], centre: tuple[float, float, float], half: tuple[float, float, float]
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
        sd = region_sd(Coords(*points.reshape(-1, 3).T)).reshape(len(offsets), len(reach))
        outside = np.any(sd > -ROI_MARGIN, axis=1)
        if not outside.any():
            return tuple(float(h) for h in size)
        shrink = np.any(offsets[outside] != 0, axis=0)
        if not shrink.any():  # the centre itself is too close to the edge
            return None
        size = np.where(shrink, size * 0.9, size)
    return None


def _mass_sites(masses: Sequence[MassSpec]) -> list[MassSpec]:
    """The first-listed mass of each site, the primary site first: masses whose levels overlap or
    adjoin, directly or through another mass, form one site."""
    ranges = [[LEVEL_NAMES.index(level) for level in mass.levels] for mass in masses]
    groups: list[list[int]] = []
    reach = -2
    for index in sorted(range(len(masses)), key=lambda i: ranges[i][0]):
        if ranges[index][0] > reach + 1:
            groups.append([])
        groups[-1].append(index)
        reach = max(reach, ranges[index][1])
    return [masses[min(group)] for group in sorted(groups, key=min)]


def _rois(anatomy: Anatomy, spec: CaseSpec) -> dict[str, list[BoxSpec]]:
    spine, cord, centre_line = anatomy.spine, anatomy.cord, anatomy.spine.centre_line
    primary = spec.masses[0]
    mass_centre, mass_half = _mass_roi(spine, cord, primary, spec.name)
    other_sites = [_mass_roi(spine, cord, mass, spec.name) for mass in _mass_sites(spec.masses)[1:]]

    first_affected = primary.levels[0]
    if spec.compression and LEVEL_NAMES.index(spec.compression.levels[0]) < LEVEL_NAMES.index(first_affected):
        first_affected = spec.compression.levels[0]
    cord_level = spine.vertebrae[max(LEVEL_NAMES.index(first_affected) - 1, 0)]
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
    first, last = (LEVEL_NAMES.index(level) for level in levels)
    return LEVEL_NAMES[first : last + 1]


def _level_centres(spine: Spine, grid: PhantomGrid, levels: tuple[str, str]) -> dict[str, tuple[float, float, float]]:
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
    signal = signal_table(spec.signal, str(_case_path(name)))
    anatomy = _case_anatomy(spec)
    degrees = spec.oblique_degrees if oblique_degrees is None else oblique_degrees
    rotation = rotation_about(OBLIQUE_AXES[spec.oblique_axis], degrees)
    centre = np.array([0.0, STUDY_CENTRE_Y, 0.0])

    seeds = np.random.SeedSequence(seed).spawn(1 + len(spec.sequences))
    phases = np.random.default_rng(seeds[0]).uniform(0, 2 * np.pi, len(BIAS_TERMS))
    noise_rngs = {role: np.random.default_rng(child) for role, child in zip(spec.sequences, seeds[1:])}

    sequences: dict[str, PhantomSequenceImage] = {}
    labels, label_grid = None, None
    protocols = field_protocols(spec.field_levels, anatomy.spine, rotation) if spec.field_levels else PROTOCOLS
    for protocol, roles in roles_by_protocol(spec.sequences, protocols).items():
        grid = protocol_grid(protocol, centre, shape_scale, rotation)
        with_labels = LABEL_GRID_ROLE in roles
        values, grid_labels = render_thick(anatomy, grid, roles, signal, with_labels)
        if with_labels:
            labels, label_grid = grid_labels, grid
        bias = bias_field(grid, phases, centre, protocol.matrix[1] / PROTOCOLS[roles[0]].matrix[1])
        for role in roles:
            clean = values[role] * bias
            sigma = NOISE_FRACTION * max(roles_of_tissue[role] for roles_of_tissue in signal.values())
            image = rician(clean, sigma, noise_rngs[role])
            sequences[role] = PhantomSequenceImage(role, image, clean, grid.ijk_to_ras.copy())

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
        rois=_scaled_rois(anatomy, spec),
        level_centres={
            name: _scaled_point(centre, scale) for name, centre in _level_centres(anatomy.spine, label_grid, spec.field_levels or THORACIC_STATION).items()
        },
        mass_levels=(spec.mass_spans[0][0], spec.mass_spans[-1][1]),
        mass_spans=spec.mass_spans,
        compression_levels=spec.compression.levels if spec.compression else None,
        clinical=dict(spec.clinical),
    )


def case_rois(name: str) -> dict[str, list[BoxSpec]]:
    """The reference ROIs of the case `name`, as `build_study(name).rois`, without rendering its images."""
    spec = _read_case(name)
    return _scaled_rois(_case_anatomy(spec), spec)


def _read_case(name: str) -> CaseSpec:
    return read_case(_case_path(name), name, PROTOCOLS, LABEL_GRID_ROLE)


def _case_anatomy(spec: CaseSpec) -> Anatomy:
    return build_anatomy(spec, ADULT_SECTION.scaled(section_scale(spec.clinical.get("age"))))


def _scaled_rois(anatomy: Anatomy, spec: CaseSpec) -> dict[str, list[BoxSpec]]:
    scale = body_scale(spec.clinical.get("age"))
    return {region: [_scaled_box(box, scale) for box in boxes] for region, boxes in _rois(anatomy, spec).items()}


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


def _scaled_sequence(sequence: PhantomSequenceImage, scale: float) -> PhantomSequenceImage:
    return PhantomSequenceImage(sequence.role, sequence.image, sequence.clean, _scaled_matrix(sequence.ijk_to_ras, scale))


def _scaled_point(point: tuple[float, float, float], scale: float) -> tuple[float, float, float]:
    return tuple(float(value * scale) for value in point)


def _scaled_box(box: BoxSpec, scale: float) -> BoxSpec:
    return BoxSpec(_scaled_point(box.center, scale), _scaled_point(box.size, scale), box.axes)
