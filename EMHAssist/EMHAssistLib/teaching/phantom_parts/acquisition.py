"""The teaching phantom's acquisition: each tissue's signal per sequence (data/tissue_signal.json
with a case's overrides), the sequences' voxel grids (fixed thoracic-station protocols or a
composed field), painting the anatomy's layers onto a grid with soft edges, thick slices blended
from sub-slices, a smooth bias field and Rician noise."""

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np

from ...errors import InputError
from ...knowledge import DATA_DIR
from .anatomy import LABEL_IDS, SKIN_U, Anatomy, Bounds
from .shapes import Coords
from .spine_layout import CentreLine, Spine

SIGNAL_FILE = DATA_DIR / "tissue_signal.json"
LABEL_GRID_ROLE = "T2"  # the label map lies on this sequence's grid


# --- Tissue signal ---------------------------------------------------------------------------


def signal_table(overrides: dict[str, dict[str, Any]], subject: str) -> dict[str, dict[str, float]]:
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


# --- Acquisition grids ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Protocol:
    spacing: tuple[float, float, float]  # i (posterior), j (inferior), k (rightward) in mm
    matrix: tuple[int, int, int]  # ni, nj, nk
    offset: tuple[float, float, float]  # FOV centre relative to the study centre, RAS mm


# Different voxel sizes and fields of view on purpose: regions must be measured through world space.
_T1_PROTOCOL = _Protocol((0.8, 0.8, 3.0), (176, 440, 23), (0.0, 3.0, 4.0))
PROTOCOLS = {
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
STUDY_CENTRE_Y = 6.0
NOISE_FRACTION = 0.025  # Rician sigma as a fraction of the brightest tissue of the sequence
# Slices thicker than this many in-plane voxels are sampled at their centre and at these
# fractions of a slice either side (the centres of its thirds).
THICK_SLICE_RATIO, SUB_SLICE_OFFSETS = 1.5, (-1 / 3, 1 / 3)
BLOCK_HEIGHT_STEP = 25.0  # mm between the heights at which a layer's bounds are mapped onto a grid
BIAS_TERMS = ((0.07, 2, 1200.0), (0.02, 1, 500.0), (0.01, 0, 300.0))  # amplitude, RAS axis, wavelength mm


@dataclass(frozen=True)
class PhantomGrid:
    shape: tuple[int, int, int]  # numpy order
    ijk_to_ras: np.ndarray

    def shifted(self, slice_fraction: float) -> "PhantomGrid":
        """The same grid moved by a fraction of a voxel along k: a sample inside each thick slice."""
        matrix = self.ijk_to_ras.copy()
        matrix[:3, 3] += matrix[:3, 2] * slice_fraction
        return PhantomGrid(self.shape, matrix)

    def world(self) -> list[np.ndarray]:
        """R, A, S of the voxel centres as arrays that vary only along the axes they depend on."""
        nk, nj, ni = self.shape
        indices = (np.arange(ni).reshape(1, 1, ni), np.arange(nj).reshape(1, nj, 1), np.arange(nk).reshape(nk, 1, 1))
        coordinates = []
        for row in self.ijk_to_ras[:3]:
            terms = [row[axis] * indices[axis] for axis in range(3) if abs(row[axis]) > 1e-9]
            coordinates.append(reduce(np.add, terms, np.full((1, 1, 1), row[3])))
        return coordinates

    def block(self, bounds: Bounds | None, centre_line: CentreLine) -> tuple[slice, slice, slice] | None:
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


def field_protocols(levels: tuple[str, str], spine: Spine, rotation: np.ndarray) -> dict[str, _Protocol]:
    """A composed sagittal field (as a whole-spine examination joins its stations) over `levels`:
    each sequence keeps the thoracic station's voxels and slices, its matrix grown to cover the
    spine from FIELD_MARGIN_T above the first level to below the last, from FIELD_U behind the
    canal centre line to in front of it, in the acquisition's (possibly oblique) frame."""
    top, bottom = spine.span(levels)
    t = np.linspace(bottom - FIELD_MARGIN_T, top + FIELD_MARGIN_T, 400)
    outline = [spine.centre_line.to_world(np.full_like(t, u), t) for u in FIELD_U]
    y, z = (np.concatenate([part[axis] for part in outline]) for axis in (0, 1))
    centre = np.array([0.0, STUDY_CENTRE_Y, 0.0])
    acquired = rotation.T @ (np.stack([np.zeros_like(y), y, z]) - centre[:, None])  # the field's own frame
    low, high = acquired.min(axis=1), acquired.max(axis=1)
    protocols = {}
    for role, station in PROTOCOLS.items():
        spacing = np.array(station.spacing)
        matrix = (math.ceil((high[1] - low[1]) / spacing[0]), math.ceil((high[2] - low[2]) / spacing[1]), station.matrix[2])
        offset = (station.offset[0], float(low[1] + high[1]) / 2, float(low[2] + high[2]) / 2)
        protocols[role] = _Protocol(station.spacing, matrix, offset)
    return protocols


def protocol_grid(protocol: _Protocol, centre: np.ndarray, shape_scale: float, rotation: np.ndarray) -> PhantomGrid:
    fov = np.array(protocol.spacing) * np.array(protocol.matrix)
    matrix_size = np.array([max(1, round(n * shape_scale)) for n in protocol.matrix[:2]] + [protocol.matrix[2]])
    spacing = fov / matrix_size
    directions = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])  # columns: i -> P, j -> I, k -> R
    linear = rotation @ directions * spacing
    fov_centre = centre + rotation @ np.array(protocol.offset)
    ijk_to_ras = np.eye(4)
    ijk_to_ras[:3, :3] = linear
    ijk_to_ras[:3, 3] = fov_centre - linear @ ((matrix_size - 1) / 2)
    return PhantomGrid((int(matrix_size[2]), int(matrix_size[1]), int(matrix_size[0])), ijk_to_ras)


def rotation_about(axis: tuple[float, float, float], degrees: float) -> np.ndarray:
    """Rodrigues rotation about a unit RAS axis."""
    angle = math.radians(degrees)
    a = np.array(axis)
    cross = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle) * cross + (1 - math.cos(angle)) * cross @ cross


def _local_coords(grid: PhantomGrid, centre_line: CentreLine) -> Coords:
    x, y, z = grid.world()
    y, z = np.broadcast_arrays(y, z)
    u, t = centre_line.to_local(y, z)
    return Coords(x.astype(np.float32), u.astype(np.float32), t.astype(np.float32))


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
    anatomy: Anatomy, grid: PhantomGrid, roles: Sequence[str], signal: dict[str, dict[str, float]], with_labels: bool
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
        local = Coords(_take(coords.x, block), _take(coords.u, block), _take(coords.t, block))
        sd = layer.sd(local)
        tissue = {role: signal[layer.tissue][role] for role in roles}
        _paint(values, labels, block, sd, tissue, LABEL_IDS[layer.label], edge_width)
        if layer.core:
            core_tissue, core_label, depth = layer.core
            core = {role: signal[core_tissue][role] for role in roles}
            if layer.texture:
                pattern = layer.texture(local)
                core = {role: value * pattern for role, value in core.items()}
            _paint(values, labels, block, sd + np.float32(depth), core, LABEL_IDS[core_label], edge_width)
    return values, labels


def render_thick(
    anatomy: Anatomy, grid: PhantomGrid, roles: Sequence[str], signal: dict[str, dict[str, float]], with_labels: bool
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


def bias_field(grid: PhantomGrid, phases: np.ndarray, centre: np.ndarray, stretch: float) -> np.ndarray:
    """A smooth multiplicative field; `stretch` widens its head-foot wavelength over a composed
    field, whose stations are each normalised, so that it varies no more than over one station."""
    world = grid.world()
    field = np.ones(grid.shape, dtype=np.float32)
    for (amplitude, axis, wavelength), phase in zip(BIAS_TERMS, phases):
        length = wavelength * stretch if axis == 2 else wavelength
        field += (amplitude * np.cos(2 * np.pi * (world[axis] - centre[axis]) / length + phase)).astype(np.float32)
    return field


def rician(clean: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    real = clean + np.float32(sigma) * rng.standard_normal(clean.shape, dtype=np.float32)
    imaginary = np.float32(sigma) * rng.standard_normal(clean.shape, dtype=np.float32)
    return np.sqrt(real**2 + imaginary**2)


def roles_by_protocol(roles: Sequence[str], protocols: dict[str, _Protocol]) -> dict[_Protocol, list[str]]:
    """Sequences that share a geometry are rendered together from one anatomy pass."""
    grouped: dict[_Protocol, list[str]] = {}
    for role in roles:
        grouped.setdefault(protocols[role], []).append(role)
    return grouped
