"""The teaching phantom's case specs: a case's JSON file in data/cases/ read into typed, validated
specs (masses, compression, body lesions, rib expansion, marrow striation, acquisition), with an
error naming the file and the key for anything wrong."""

import json
from collections.abc import Collection
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from ...errors import InputError
from .spine_layout import LEVEL_NAMES, RIB_RADIUS


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
SIDES = {"posterior": (0.0, -1.0), "anterior": (0.0, 1.0), "left": (-1.0, 0.0), "right": (1.0, 0.0)}
OBLIQUE_AXES = {"LR": (1.0, 0.0, 0.0), "AP": (0.0, 1.0, 0.0)}


@dataclass(frozen=True)
class _ShellSpec:
    thickness_mm: float
    tissue: str


@dataclass(frozen=True)
class MassSpec:
    position: _Position
    levels: tuple[str, str]
    lobules: int
    depth_mm: float  # radial thickness wherever the mass does not compress the cord
    width_mm: float
    tissue: str
    rim: _ShellSpec | None


@dataclass(frozen=True)
class CompressionSpec:
    levels: tuple[str, str]
    max_reduction: float  # fraction of the cord diameter lost at the middle of the range
    side: str
    cord_edema: bool


@dataclass(frozen=True)
class BodyLesionSpec:
    level: str
    diameters_mm: tuple[float, float, float]  # RL, AP, SI
    offset_mm: tuple[float, float, float]  # RL, AP, SI from the body centre
    tissue: str
    halo: _ShellSpec | None


@dataclass(frozen=True)
class RibExpansionSpec:
    levels: tuple[str, str]
    radius_mm: float  # of the expanded posterior end, cortex included (a normal rib's is RIB_RADIUS)
    tissue: str  # what fills the widened medulla


@dataclass(frozen=True)
class StriationSpec:
    period_mm: float  # between neighbouring thick vertical trabeculae
    contrast: float  # the marrow signal swings by this fraction either way


@dataclass(frozen=True)
class CaseSpec:
    name: str
    title: str
    story: str
    expected: str
    clinical: dict
    sequences: tuple[str, ...]
    oblique_degrees: float
    oblique_axis: str
    masses: tuple[MassSpec, ...]
    compression: CompressionSpec | None
    body_lesions: tuple[BodyLesionSpec, ...]
    signal: dict[str, dict[str, Any]]
    rib_expansion: "RibExpansionSpec | None" = None
    field_levels: tuple[str, str] | None = None  # a composed sagittal field over these levels; None: the thoracic station
    mass_spans: tuple[tuple[str, str], ...] = ()
    marrow_striation: StriationSpec | None = None


class SpecReader:
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
        if name not in LEVEL_NAMES:
            raise self.fail(f"unknown vertebra '{name}'")
        return name

    def level_range(self, data: dict, key: str) -> tuple[str, str]:
        pair = self.field(data, key, list)
        if len(pair) != 2:
            raise self.fail(f"'{key}' must name a first and a last vertebra")
        first, last = self.level(pair[0]), self.level(pair[1])
        if LEVEL_NAMES.index(first) > LEVEL_NAMES.index(last):
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
_CASE_KEYS = {
    "id", "title", "story", "outcome", "expected", "source", "assumptions", "clinical", "sequences",
    "acquisition", "masses", "compression", "body_lesions", "signal", "teaching_points", "rib_expansion", "mass_spans",
    "marrow_striation",
}


def read_case(path: Path, name: str, roles: Collection[str], label_grid_role: str) -> CaseSpec:
    """The case `name` from its file; `roles` are the sequences the phantom can acquire, one of
    which, `label_grid_role`, every case must have (the label map lies on its grid)."""
    with open(path, encoding="utf-8") as stream:
        data = json.load(stream)
    reader = SpecReader(path)
    reader.only(data, _CASE_KEYS, "the case")
    if reader.field(data, "id", str) != name:
        raise reader.fail("'id' must equal the file name")
    acquisition = reader.field(data, "acquisition", dict, {})
    reader.only(acquisition, {"oblique_degrees", "oblique_axis", "field_levels"}, "acquisition")
    masses = tuple(_read_mass(reader, mass) for mass in reader.field(data, "masses", list))
    if not masses:
        raise reader.fail("a case needs at least one mass")
    sequences = tuple(reader.field(data, "sequences", list, ["T1", "T2", "T1C"]))
    if label_grid_role not in sequences or not set(sequences) <= set(roles):
        raise reader.fail(f"'sequences' must include {label_grid_role} and use only {', '.join(sorted(roles))}")
    oblique_axis = reader.field(acquisition, "oblique_axis", str, "LR")
    if oblique_axis not in OBLIQUE_AXES:
        raise reader.fail(f"'oblique_axis' must be one of {', '.join(OBLIQUE_AXES)}")
    compression = reader.field(data, "compression", (dict, type(None)), None)
    return CaseSpec(
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


def _read_striation(reader: SpecReader, data: dict | None) -> StriationSpec | None:
    if data is None:
        return None
    reader.only(data, {"period_mm", "contrast"}, "marrow_striation")
    period = float(reader.field(data, "period_mm", (int, float)))
    contrast = float(reader.field(data, "contrast", (int, float)))
    if not 1.5 <= period <= 8.0 or not 0 < contrast < 0.5:
        raise reader.fail("'marrow_striation' needs a period_mm of 1.5-8 and a contrast between 0 and 0.5")
    return StriationSpec(period, contrast)


def _read_mass_spans(reader: SpecReader, data: dict, masses: tuple["MassSpec", ...]) -> tuple[tuple[str, str], ...]:
    """The mass levels the analysis should find: 'mass_spans', superior first, apart from each other;
    by default the first mass's levels."""
    spans = reader.field(data, "mass_spans", list, [list(masses[0].levels)])
    if not spans:
        raise reader.fail("'mass_spans' needs at least one span")
    read = tuple(reader.level_range({"mass_spans": span}, "mass_spans") for span in spans)
    for upper, lower in pairwise(read):
        if LEVEL_NAMES.index(lower[0]) <= LEVEL_NAMES.index(upper[1]) + 1:
            raise reader.fail("'mass_spans' must run from superior to inferior with levels between them")
    return read


def _read_rib_expansion(reader: SpecReader, data: dict | None) -> RibExpansionSpec | None:
    if data is None:
        return None
    reader.only(data, {"levels", "radius_mm", "tissue"}, "rib_expansion")
    radius = float(reader.field(data, "radius_mm", (int, float)))
    if not RIB_RADIUS < radius <= 3 * RIB_RADIUS:
        raise reader.fail(f"'radius_mm' of an expanded rib must lie between {RIB_RADIUS} and {3 * RIB_RADIUS}")
    return RibExpansionSpec(reader.level_range(data, "levels"), radius, reader.field(data, "tissue", str, "posterior_element"))


def _read_mass(reader: SpecReader, data: dict) -> MassSpec:
    reader.only(data, {"position", "levels", "lobules", "depth_mm", "width_mm", "tissue", "rim"}, "a mass")
    position = reader.field(data, "position", str)
    if position not in _POSITIONS:
        raise reader.fail(f"unknown mass position '{position}'; use one of {', '.join(_POSITIONS)}")
    lobules = reader.field(data, "lobules", int, 1)
    if lobules < 1:
        raise reader.fail("'lobules' must be at least 1")
    return MassSpec(
        position=_POSITIONS[position],
        levels=reader.level_range(data, "levels"),
        lobules=lobules,
        depth_mm=float(reader.field(data, "depth_mm", (int, float))),
        width_mm=float(reader.field(data, "width_mm", (int, float))),
        tissue=reader.field(data, "tissue", str, "mass"),
        rim=reader.shell(data, "rim"),
    )


def _read_compression(reader: SpecReader, data: dict, masses: tuple[MassSpec, ...]) -> CompressionSpec:
    reader.only(data, {"levels", "max_reduction", "from", "cord_edema"}, "compression")
    canal_masses = [mass for mass in masses if mass.position.kind != "paraspinal"]
    if not canal_masses:
        raise reader.fail("compression needs an epidural mass")
    side = reader.field(data, "from", str, canal_masses[0].position.side)
    if side not in SIDES and side != "circumferential":
        raise reader.fail(f"unknown compression side '{side}'")
    reduction = float(reader.field(data, "max_reduction", (int, float)))
    if not 0 < reduction < 0.9:
        raise reader.fail("'max_reduction' must be a fraction between 0 and 0.9")
    return CompressionSpec(reader.level_range(data, "levels"), reduction, side, reader.field(data, "cord_edema", bool, False))


def _read_body_lesion(reader: SpecReader, data: dict) -> BodyLesionSpec:
    reader.only(data, {"level", "diameters_mm", "offset_mm", "tissue", "halo"}, "a body lesion")
    return BodyLesionSpec(
        level=reader.level(reader.field(data, "level", str)),
        diameters_mm=reader.triple(data, "diameters_mm"),
        offset_mm=reader.triple(data, "offset_mm", [0.0, 0.0, 0.0]),
        tissue=reader.field(data, "tissue", str, "body_lesion"),
        halo=reader.shell(data, "halo"),
    )
