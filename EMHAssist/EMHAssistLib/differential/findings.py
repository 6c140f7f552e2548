"""Reading the report: every feature of the knowledge evaluated on the measured quantities.

A quantity with a 95 % interval is decided on the interval: a feature is present when the whole
interval lies on its side of the threshold, absent when the whole interval lies on the other side,
and undecided (listed, not counted) when the interval straddles it. A feature whose inputs were not
measured is left out with what it lacks, never counted as negative evidence.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..number_format import signed_percent, signed_percent_range
from ..report_model import CaseFindings, MorphologyValue, Ratio, RegionStatistics, Span
from ..settings import measurement_settings
from ..spine.vertebrae import code_of, name_of
from .rules import (
    ABSENT,
    PRESENT,
    SPINE_SEGMENTS,
    UNDECIDED,
    AllOf,
    Feature,
    FeatureTest,
    Knowledge,
    MorphologySpec,
    QuantityTest,
    Unit,
    is_number,
    knowledge,
)


@dataclass(frozen=True)
class Reading:
    """One quantity as measured: a value, its 95 % interval (equal bounds when exact) and its wording."""

    value: Any
    low: Any
    high: Any
    shown: str


@dataclass(frozen=True)
class MissingInput:
    kind: str  # "sequence", "region", "morphology", "levels" or "report"
    name: str
    sequence: str = ""
    label: str = ""

    @property
    def text(self) -> str:
        return {
            "sequence": f"no {self.name} sequence",
            "region": f"no {self.name} region measured on {self.sequence}",
            "morphology": f"no morphology '{self.name}'",
            "levels": f"no levels for the {self.name}",
            "report": f"'{self.name}' is not in the report",
        }[self.kind]

    @property
    def action(self) -> str:
        return {
            "sequence": f"Add the {self.name} sequence",
            "region": f"Outline the {self.name} region on {self.sequence}",
            "morphology": f"Assess the {self.label}",
            "levels": f"Mark the levels of the {self.name}",
            "report": f"Add '{self.name}' to the report",
        }[self.kind]


@dataclass(frozen=True)
class Verdict:
    """A test's reading of the report: present, absent or undecided, with what was measured."""

    state: str
    value: Any
    shown: str


@dataclass(frozen=True)
class Observation:
    feature: Feature
    verdict: Verdict


@dataclass(frozen=True)
class Unmeasured:
    feature: Feature
    missing: tuple[MissingInput, ...]


def observe(case: CaseFindings, kb: Knowledge | None = None) -> tuple[list[Observation], list[Unmeasured]]:
    """Every feature of the knowledge, evaluated on the case's findings or left out with what it lacks."""
    kb = kb or knowledge()
    observations, unmeasured = [], []
    for feature in kb.features:
        result = _evaluate(feature.test, case, kb)
        if isinstance(result, Verdict):
            observations.append(Observation(feature, result))
        else:
            unmeasured.append(Unmeasured(feature, result))
    return observations, unmeasured


def _evaluate(test: FeatureTest, case: CaseFindings, kb: Knowledge) -> Verdict | tuple[MissingInput, ...]:
    if isinstance(test, AllOf):
        return _evaluate_all(test.parts, case, kb)
    reading = _READERS[test.kind](test, case, kb)
    if not isinstance(reading, Reading):
        return reading
    return Verdict(_DECIDERS[test.op](reading, test.operand), reading.value, reading.shown)


def _evaluate_all(
    tests: tuple[QuantityTest, ...], case: CaseFindings, kb: Knowledge
) -> Verdict | tuple[MissingInput, ...]:
    parts = [(test, _evaluate(test, case, kb)) for test in tests]
    missing = tuple(dict.fromkeys(m for _, part in parts if not isinstance(part, Verdict) for m in part))
    if missing:
        return missing
    states = [part.state for _, part in parts]
    # One part clearly failing settles the combination even when another part is undecided.
    state = ABSENT if ABSENT in states else PRESENT if all(s == PRESENT for s in states) else UNDECIDED
    value = {test.name: part.value for test, part in parts}
    return Verdict(state, value, "; ".join(part.shown for _, part in parts))


def _read_ratio(test: QuantityTest, case: CaseFindings, kb: Knowledge) -> Reading | tuple[MissingInput, ...]:
    key = test.subject
    entry = case.ratios.get(key)
    if entry is None:
        return _missing_measurements(case, key.inputs()) or (MissingInput("report", f"ratios.{key.text}"),)
    value, low, high = _interval(entry, f"ratios.{key.text}")
    return Reading(value, low, high, f"ratio {value:.2f}, 95 % CI {low:.2f}-{high:.2f}")


def _read_enhancement(test: QuantityTest, case: CaseFindings, kb: Knowledge) -> Reading | tuple[MissingInput, ...]:
    region = test.subject
    entry = case.enhancement.get(region)
    if entry is None:
        roles = measurement_settings().enhancement
        inputs = [(region, roles.post), (region, roles.pre)]
        return _missing_measurements(case, inputs) or (MissingInput("report", f"enhancement.{region}"),)
    value, low, high = _interval(entry, f"enhancement.{region}")
    return Reading(value, low, high, f"enhancement {_percent_with_interval(value, low, high)}")


def _percent_with_interval(value: float, low: float, high: float) -> str:
    return f"{signed_percent(value)}, 95 % CI {signed_percent_range(low, high)}"


def _read_region_mean(test: QuantityTest, case: CaseFindings, kb: Knowledge) -> Reading | tuple[MissingInput, ...]:
    region, sequence = test.subject, test.sequence
    stats = case.regions.get(region, {}).get(sequence)
    if stats is None:
        return _missing_measurements(case, [(region, sequence)])
    where = f"regions.{region}.{sequence}"
    mean = stats.mean
    if not is_number(mean):
        raise InputError("report", f"{where} needs a finite 'mean'")
    half_width = _half_width(stats)
    unit = kb.units.get(test.unit or "")
    factor, read_as = _unit_scale(unit, mean) if unit else (1.0, "")
    value, low, high = mean * factor, (mean - half_width) * factor, (mean + half_width) * factor
    canonical = f" {unit.canonical}" if unit else ""
    read = f", map read as {read_as}" if unit else ""
    return Reading(value, low, high, f"mean {sequence} {value:.2f}{canonical}, 95 % CI {low:.2f}-{high:.2f}{read}")


def _half_width(stats: RegionStatistics) -> float:
    sd, n = stats.sd, stats.n
    if is_number(sd) and is_number(n) and n > 0:
        return measurement_settings().ci_z * sd / math.sqrt(n)
    return 0.0


def _unit_scale(unit: Unit, mean: float) -> tuple[float, str]:
    scale = unit.scale_of(mean)
    return scale.factor, scale.read_as


def _read_morphology(test: QuantityTest, case: CaseFindings, kb: Knowledge) -> Reading | tuple[MissingInput, ...]:
    key = test.subject
    value = case.morphology.get(key)
    spec = kb.morphology[key]
    if value is None:
        # A measured morphology lacks first what it is measured from: "Add the T1C sequence" says more
        # than "assess the rim".
        return _missing_measurements(case, spec.measured_from) or (MissingInput("morphology", key, label=spec.label),)
    if spec.type == "fraction":
        value, low, high = _interval(value, f"morphology.{key}")
        return Reading(value, low, high, f"{spec.label} {_percent_with_interval(value, low, high)}")
    _check_morphology_value(key, value, spec)
    if spec.type == "bool":
        return Reading(value, None, None, f"{spec.label}: {'yes' if value else 'no'}, reader's assessment")
    if spec.type == "category":
        return Reading(value, None, None, f"{spec.label}: {value.replace('_', ' ')}")
    return Reading(value, value, value, f"{spec.label} {value:g}")


def _check_morphology_value(key: str, value: MorphologyValue, spec: MorphologySpec) -> None:
    valid = {
        "bool": lambda: isinstance(value, bool),
        "number": lambda: is_number(value),
        "category": lambda: value in spec.values,
    }[spec.type]()
    if not valid:
        expected = {
            "bool": "true or false",
            "number": "a number",
            "category": f"one of {', '.join(spec.values)}",
        }[spec.type]
        raise InputError("report morphology", f"'{key}' must be {expected}, not {value!r}")


def _read_levels_spanned(test: QuantityTest, case: CaseFindings, kb: Knowledge) -> Reading | tuple[MissingInput, ...]:
    region = test.subject
    counted = case.morphology.get(f"{region}_levels_spanned")
    if counted is not None:
        _check_morphology_value(f"{region}_levels_spanned", counted, kb.morphology[f"{region}_levels_spanned"])
        return Reading(counted, counted, counted, f"{counted:g} levels")
    span = _mass_levels(case)
    if span is None:
        return (MissingInput("levels", region),)
    count = abs(code_of(span.to, "report levels") - code_of(span.from_, "report levels")) + 1
    return Reading(count, count, count, f"{count} levels, {span.from_}-{span.to}")


def _read_spine_segment(test: QuantityTest, case: CaseFindings, kb: Knowledge) -> Reading | tuple[MissingInput, ...]:
    region = test.subject
    span = _mass_levels(case)
    if span is None:
        return (MissingInput("levels", region),)
    codes = [code_of(end, "report levels") for end in (span.from_, span.to)]
    middle = name_of(sum(codes) // 2)  # the cranial one of two middle levels
    segment = SPINE_SEGMENTS[middle[0]]
    return Reading(segment, None, None, f"{segment} spine, {span.from_}-{span.to}")


def _mass_levels(case: CaseFindings) -> Span | None:
    """The levels the mass spans (the one region with levels, checked on load), when both ends were found."""
    span = case.mass
    return span if span is not None and span.from_ and span.to else None


def _interval(entry: MorphologyValue, where: str) -> tuple[float, float, float]:
    # A morphology's value is one of several kinds: a fraction must be the measured one, with its interval.
    value = entry.value if isinstance(entry, Ratio) else None
    if not is_number(value):
        raise InputError("report", f"{where} needs a finite 'value'")
    bounds = entry.ci95
    pair = isinstance(bounds, (list, tuple)) and len(bounds) == 2 and all(map(is_number, bounds))
    if not (pair and bounds[0] <= value <= bounds[1]):
        raise InputError("report", f"{where}: 'ci95' must be [low, high] around the value, not {bounds!r}")
    return value, bounds[0], bounds[1]


def _missing_measurements(case: CaseFindings, inputs: Sequence[tuple[str, str]]) -> tuple[MissingInput, ...]:
    regions = case.regions
    measured_sequences = {sequence for by_sequence in regions.values() for sequence in by_sequence}
    missing = [MissingInput("sequence", s) for s in dict.fromkeys(s for _, s in inputs) if s not in measured_sequences]
    missing += [
        MissingInput("region", region, sequence)
        for region, sequence in inputs
        if sequence in measured_sequences and sequence not in (regions.get(region) or {})
    ]
    return tuple(missing)


def _above(reading: Reading, threshold: float) -> str:
    return PRESENT if reading.low > threshold else ABSENT if reading.high <= threshold else UNDECIDED


def _below(reading: Reading, threshold: float) -> str:
    return PRESENT if reading.high < threshold else ABSENT if reading.low >= threshold else UNDECIDED


def _at_least(reading: Reading, threshold: float) -> str:
    return PRESENT if reading.low >= threshold else ABSENT if reading.high < threshold else UNDECIDED


def _within(reading: Reading, bounds: tuple[float, float]) -> str:
    low, high = bounds
    if low <= reading.low and reading.high <= high:
        return PRESENT
    return ABSENT if reading.high < low or reading.low > high else UNDECIDED


def _equals(reading: Reading, value: Any) -> str:
    return PRESENT if reading.value == value else ABSENT


def _one_of(reading: Reading, values: tuple[str, ...]) -> str:
    return PRESENT if reading.value in values else ABSENT


_DECIDERS: dict[str, Callable[[Reading, Any], str]] = {
    ">": _above,
    "<": _below,
    ">=": _at_least,
    "between": _within,
    "is": _equals,
    "in": _one_of,
}

_READERS: dict[str, Callable[[QuantityTest, CaseFindings, Knowledge], Reading | tuple[MissingInput, ...]]] = {
    "ratio": _read_ratio,
    "enhancement": _read_enhancement,
    "region_mean": _read_region_mean,
    "morphology": _read_morphology,
    "levels_spanned": _read_levels_spanned,
    "spine_segment": _read_spine_segment,
}
