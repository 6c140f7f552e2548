"""A published case turned into the report dict `differential.assess` reads, by the one table in
mapping.json (docs/literature-cases.md). Nothing is inferred beyond the table: a term that sets
nothing, a clinical term the engine's vocabulary lacks, and two terms that contradict each other
are all left unmeasured and listed.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from EMHAssistLib.errors import InputError
from EMHAssistLib.inputs.clinical import clinical_terms
from EMHAssistLib.knowledge import load
from EMHAssistLib.report_model import RatioKey

MAPPING_FILE = Path(__file__).with_name("mapping.json")
IMAGING, CLINICAL = "imaging", "clinical"
ALL_SECTIONS = (IMAGING, CLINICAL)


@dataclass
class Encoded:
    """The report and what the table could not turn into a measurement."""

    report: dict
    unmeasured: list[str] = field(default_factory=list)  # terms recorded but setting nothing
    not_in_vocabulary: list[str] = field(default_factory=list)  # clinical targets the engine lacks
    conflicts: list[str] = field(default_factory=list)  # quantities two terms set differently


def load_mapping(path: Path = MAPPING_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def encode(case: dict, mapping: dict | None = None, sections: tuple[str, ...] = ALL_SECTIONS) -> Encoded:
    """The case's report, from its imaging terms, its clinical terms, or both (`sections`)."""
    mapping = mapping or load_mapping()
    encoded = Encoded(report={"ratios": {}, "enhancement": {}, "regions": {}, "morphology": {}, "clinical": {}})
    if IMAGING in sections:
        _encode_imaging(case, mapping["imaging"], encoded)
    if CLINICAL in sections:
        encoded.report["clinical"] = _encode_clinical(case, mapping["clinical"], encoded)
    return encoded


def _rule(table: dict, entry: dict, case: dict, section: str) -> dict:
    rule = table.get(entry.get("term"))
    if rule is None:
        raise InputError(f"case {case.get('id', '?')}", f"unknown {section} term {entry.get('term')!r} (not in mapping.json)")
    return rule


def _encode_imaging(case: dict, table: dict, encoded: Encoded) -> None:
    report = encoded.report
    intervals: dict[tuple[str, str | RatioKey], list[list[float]]] = {}
    flags: dict[str, list] = {}
    positions, alone_positions = [], []
    for entry in case["findings"]:
        rule = _rule(table, entry, case, "imaging")
        sets_something = False
        for key, triple in rule.get("ratios", {}).items():
            intervals.setdefault(("ratios", RatioKey.parse(key)), []).append(triple)
            sets_something = True
        if "enhancement" in rule:
            intervals.setdefault(("enhancement", "mass"), []).append(rule["enhancement"])
            sets_something = True
        if "adc" in rule:
            intervals.setdefault(("adc", "mass"), []).append(rule["adc"])
            sets_something = True
        for key, value in rule.get("morphology", {}).items():
            flags.setdefault(key, []).append(value)
            sets_something = True
        if "position" in rule:
            positions.append(rule["position"])
            sets_something = True
        if "position_if_alone" in rule:
            alone_positions.append(rule["position_if_alone"])
        if not sets_something and "position_if_alone" not in rule:
            encoded.unmeasured.append(entry["term"])
    for (section, key), triples in intervals.items():
        measured = _merged(triples)
        if section == "adc":
            report["regions"].setdefault(key, {})["ADC"] = _region_mean(measured)
        else:
            report[section][key] = measured
    for key, values in flags.items():
        if all(value == values[0] for value in values):
            report["morphology"][key] = _merged(values) if isinstance(values[0], list) else values[0]
        else:
            encoded.conflicts.append(key)
    position = _position(positions or alone_positions)
    if position:
        report["morphology"]["mass_position"] = position
    elif len(set(positions or alone_positions)) > 1:
        encoded.conflicts.append("mass_position")
    if case.get("levels"):
        report["levels"] = {"mass": {"from": case["levels"]["from"], "to": case["levels"]["to"]}}


def _merged(triples: list[list[float]]) -> dict:
    """One quantity stated by several terms: the interval that covers them all, centred between their values."""
    values = [t[0] for t in triples]
    low, high = min(t[1] for t in triples), max(t[2] for t in triples)
    value = min(max(sum(values) / len(values), low), high)
    return {"value": value, "ci95": [low, high]}


def _region_mean(measured: dict) -> dict:
    """A mass ADC region whose mean's 95 % interval is the stated one (n = 1, sd = half-width / z)."""
    half_width = (measured["ci95"][1] - measured["ci95"][0]) / 2
    return {"mean": measured["value"], "sd": half_width / load("measurement")["ci_z"], "n": 1}


def _position(candidates: list[str]) -> str | None:
    distinct = set(candidates)
    return candidates[0] if len(distinct) == 1 else None


def _encode_clinical(case: dict, table: dict, encoded: Encoded) -> dict:
    vocabulary = clinical_terms()
    known = {"conditions": set(vocabulary.conditions), "findings": set(vocabulary.findings)}
    clinical: dict = {}
    patient = case["patient"]
    if patient.get("age") is not None:
        clinical["age"] = patient["age"]
    if patient.get("sex") in vocabulary.sex:
        clinical["sex"] = patient["sex"]
    for entry in case["clinical"]:
        rule = _rule(table, entry, case, "clinical")
        for field_name in ("conditions", "findings"):
            for target in rule.get(field_name, []):
                if target not in known[field_name]:
                    encoded.not_in_vocabulary.append(target)
                elif target not in clinical.setdefault(field_name, []):
                    clinical[field_name].append(target)
        if "primary" in rule and rule["primary"] in vocabulary.primaries:
            clinical["primary"] = rule["primary"]
    return clinical
