"""The differential of an epidural or paraspinal mass compressing the cord, ranked and explained.

Research and teaching only: the ranking weighs measured signs and a clinical context the way a
textbook would; it never diagnoses (see `EMHAssistLib.CAVEAT`, carried by every output).

Input: the plain report dict of `analysis.analyze` (data flows one way; nothing here reads MRML):
`clinical`, `regions`, `ratios` ("T1 marrow/muscle", "OP/IP marrow", each {value, ci95}),
`enhancement` (per region, {value, ci95}), optional `levels` ({"mass": {"from", "to"}}) and optional
`morphology` (reader's or morphology step's findings; its keys and types are declared in
data/differential/features.json). Any section may be missing: a feature whose inputs were not
measured is left out and listed as such, never counted as negative evidence.

API
    rank(report) -> list[dict]            the ranking, most probable first
    explain(report, ranking) -> dict       what was left out, what stayed undecided, what to do next
    assess(report) -> dict                 {"differential": rank(...), **explain(...)} for the JSON report
    summary_lines(ranking, n=3) -> list    the text output: caveat, top n with their main reasons
    observe(report) -> (observations, unmeasured)   every feature evaluated or left out
    knowledge() -> Knowledge               the validated data files (cached)

Ranking entry:
    {"id", "name", "summary", "probability", "prior",
     "prior_factors": [{"term", "label", "factor", "reason"}],     clinical terms that moved the prior
     "evidence": [{"feature", "state": "present"|"absent", "value", "supports", "weight", "lr",
                   "kind": "sourced"|"expert", "basis", "finding", "text", "rule", "refs"}]}
`weight` is the natural-log likelihood ratio counted for this diagnosis (after the caps and the
group share), `lr` its exponential, `basis` the derivation of a sourced ratio; `value` is the
measured number (or flag, or category; a dict of them for combined tests). Evidence is sorted by
the size of its weight; `supports` is `weight > 0`.

explain():
    {"caveat", "knowledge": {"versions", "max_likelihood_ratio", "probability_floor", "grades", "groups"},
     "neutral_clinical_terms": [{"term", "label", "reason"}],
     "not_measured": [{"feature", "name", "missing": [text]}],
     "observed": [{"feature", "name", "state", "value", "finding", "rule", "threshold"}],
     "undecided": [the observed entries whose state is "undecided", each with a "text"],
     "next_best": {"between": [id, id],
                   "imaging": {"input", "action", "features", "odds_factor", "text"} | None,
                   "test": {"id", "name", "odds_factor", "text", "refs"} | None,
                   "fallback": {"name", "why", "refs", "text"} | None,    only when neither exists
                   "text"}}                                                the better of the two

Method. Each feature is a test on one or more report quantities (declared in the data, evaluated by
a small set of operators). Quantities with a 95 % interval are decided on the interval: a feature
is present when the whole interval is on its side of the threshold, absent when the whole interval
is on the other side, and undecided (not counted, listed) when the interval straddles it. Each
outcome carries per diagnosis a likelihood ratio (sourced) or a grade (expert: ++ 4, + 2, - 1/2,
-- 1/4). The prior comes from stated expert base rates times clinical factors (the strongest per
group). Posterior log-odds are log prior plus the sum of the evidence (naive Bayes), normalised
over the candidates. Caps: no likelihood ratio beyond 20 or below 1/20 per feature; features of one
group (the same marrow against muscle and disc) share one weight; and a floor mixes the
probabilities with a uniform 0.5 % per candidate, which bounds the total (no candidate above
96.5 % with eight candidates) while keeping every monotonicity of naive Bayes.
"""

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, NoReturn

from . import CAVEAT
from .clinical import ClinicalTerms, validate_clinical
from .errors import InputError
from .knowledge import load

DATA_FILES = ("diagnoses", "features", "clinical_terms", "priors", "references", "separators")
PRESENT, ABSENT, UNDECIDED = "present", "absent", "undecided"
STATES = (PRESENT, ABSENT)
THRESHOLD_STATUSES = {
    "proposed": "threshold proposed by EMHAssist",
    "published": "published threshold",
    "reader": "reader's assessment",
}
QUANTITIES = ("ratio", "enhancement", "region_mean", "morphology", "levels_spanned")
PRIOR_CONDITIONS = ("condition", "finding", "primary", "age_at_least", "age_below")
_STRONG = math.log(4) - 1e-9
_REGION_RATIO = re.compile(r"^(\w+) (\w+)/(\w+)$")
_SEQUENCE_RATIO = re.compile(r"^(\w+)/(\w+) (\w+)$")
_VERTEBRA = re.compile(r"^\s*([A-Za-z])\s*(\d{1,2})\s*$")
_SYMBOLS = {">": ">", "<": "<", ">=": "≥"}


# --- the knowledge, validated on load ------------------------------------------------------------


@dataclass(frozen=True)
class Diagnosis:
    id: str
    name: str
    short: str
    summary: str
    refs: tuple[str, ...]


@dataclass(frozen=True)
class Weight:
    """One state's effect on one diagnosis: a stated likelihood ratio and the log-LR counted."""

    stated_lr: float
    log_lr: float
    kind: str
    basis: str
    refs: tuple[str, ...]

    @property
    def capped(self) -> bool:
        return not math.isclose(self.log_lr, math.log(self.stated_lr))


@dataclass(frozen=True)
class Feature:
    id: str
    name: str
    test: dict
    rule: str
    threshold_status: str
    threshold_basis: str
    source: str
    refs: tuple[str, ...]
    group: str | None
    text: dict[str, tuple[str, str]]
    weights: dict[str, dict[str, Weight]]

    def separation(self, first: str, second: str) -> float:
        """The largest log-odds shift between two diagnoses that either state can produce."""
        return max(abs(self._log_lr(state, first) - self._log_lr(state, second)) for state in STATES)

    def _log_lr(self, state: str, diagnosis: str) -> float:
        weight = self.weights[state].get(diagnosis)
        return weight.log_lr if weight else 0.0


@dataclass(frozen=True)
class PriorModifier:
    condition: str
    operand: Any
    group: str
    factors: dict[str, float]
    reason: str
    refs: tuple[str, ...]


@dataclass(frozen=True)
class SeparatingTest:
    id: str
    name: str
    log_lr: dict[str, float]
    why: str
    refs: tuple[str, ...]


@dataclass(frozen=True)
class Knowledge:
    versions: dict[str, int]
    diagnoses: dict[str, Diagnosis]
    features: tuple[Feature, ...]
    base_priors: dict[str, float]
    modifiers: tuple[PriorModifier, ...]
    neutral_terms: dict[str, str]
    references: dict[str, dict]
    tests: tuple[SeparatingTest, ...]
    fallback: dict
    grades: dict[str, float]
    max_lr: float
    floor: float
    morphology: dict[str, dict]
    units: dict[str, dict]
    groups: dict[str, str]
    terms: ClinicalTerms

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> "Knowledge":
        """Builds and checks the knowledge from the parsed data files, keyed by file stem."""
        versions = {name: _version(raw.get(name), name) for name in DATA_FILES}
        terms = ClinicalTerms.from_raw(raw["clinical_terms"], _subject("clinical_terms"))
        references = _references(raw["references"])
        diagnoses = _diagnoses(raw["diagnoses"])
        settings = _feature_settings(raw["features"], len(diagnoses))
        features = tuple(_features(raw["features"], diagnoses, settings))
        base, modifiers, neutral = _priors(raw["priors"], diagnoses, terms)
        tests, fallback = _separators(raw["separators"], diagnoses, settings["grades"])
        knowledge = cls(
            versions=versions,
            diagnoses=diagnoses,
            features=features,
            base_priors=base,
            modifiers=modifiers,
            neutral_terms=neutral,
            references=references,
            tests=tests,
            fallback=fallback,
            terms=terms,
            **settings,
        )
        _check_references_exist(knowledge)
        return knowledge

    def citations(self) -> dict[str, tuple[str, ...]]:
        """Every reference id cited, mapped to where it is cited (for the reference check)."""
        cited: dict[str, list[str]] = {}
        places = [(f"diagnosis '{d.id}'", d.refs) for d in self.diagnoses.values()]
        places += [(f"feature '{f.id}'", f.refs) for f in self.features]
        places += [
            (f"feature '{f.id}' {state} {dx}", weight.refs)
            for f in self.features
            for state, by_dx in f.weights.items()
            for dx, weight in by_dx.items()
        ]
        places += [(f"prior modifier {m.condition} {m.operand}", m.refs) for m in self.modifiers]
        places += [(f"test '{t.id}'", t.refs) for t in self.tests]
        places += [("fallback", tuple(self.fallback["refs"]))]
        for place, refs in places:
            for ref in refs:
                cited.setdefault(ref, []).append(place)
        return {ref: tuple(where) for ref, where in cited.items()}


@functools.cache
def knowledge() -> Knowledge:
    return Knowledge.from_raw({name: load(f"differential/{name}") for name in DATA_FILES})


def _subject(name: str) -> str:
    return f"EMHAssistLib/data/differential/{name}.json"


@dataclass(frozen=True)
class _Entry:
    """One entry of one data file: what a validation error names."""

    file: str
    name: str

    def require(self, condition: bool, problem: str) -> None:
        if not condition:
            self.fail(problem)

    def fail(self, problem: str) -> NoReturn:
        raise InputError(_subject(self.file), f"{self.name}: {problem}")

    def refs(self, value: Any) -> tuple[str, ...]:
        self.require(isinstance(value, list) and all(isinstance(r, str) for r in value), "'refs' must be a list of ids")
        return tuple(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _version(data: Any, name: str) -> int:
    entry = _Entry(name, "file")
    entry.require(isinstance(data, dict), "must be a JSON object")
    entry.require(isinstance(data.get("version"), int), "needs an integer 'version'")
    return data["version"]


def _references(data: dict) -> dict[str, dict]:
    references = data.get("references")
    _Entry("references", "references").require(isinstance(references, dict) and bool(references), "must be an object")
    for ref_id, reference in references.items():
        valid = isinstance(reference, dict) and _text(reference.get("short")) and _text(reference.get("citation"))
        _Entry("references", f"reference '{ref_id}'").require(valid, "needs a 'short' name and a 'citation'")
    return dict(references)


def _diagnoses(data: dict) -> dict[str, Diagnosis]:
    listed = data.get("diagnoses")
    _Entry("diagnoses", "diagnoses").require(isinstance(listed, list) and len(listed) >= 2, "must list two or more")
    diagnoses: dict[str, Diagnosis] = {}
    for index, raw in enumerate(listed):
        entry = _Entry("diagnoses", f"diagnosis {raw.get('id', index) if isinstance(raw, dict) else index}")
        entry.require(isinstance(raw, dict) and _identifier(raw.get("id")), "needs an identifier 'id'")
        entry.require(raw["id"] not in diagnoses, "the id is used twice")
        entry.require(all(_text(raw.get(key)) for key in ("name", "short", "summary")), "needs name, short, summary")
        refs = entry.refs(raw.get("refs"))
        diagnoses[raw["id"]] = Diagnosis(raw["id"], raw["name"], raw["short"], raw["summary"], refs)
    return diagnoses


def _identifier(value: Any) -> bool:
    return isinstance(value, str) and value.isidentifier()


def _feature_settings(data: dict, n_diagnoses: int) -> dict[str, Any]:
    caps = _Entry("features", "caps")
    max_lr = (data.get("caps") or {}).get("max_likelihood_ratio")
    floor = (data.get("caps") or {}).get("probability_floor")
    caps.require(_is_number(max_lr) and max_lr > 1, "'max_likelihood_ratio' must be a number above 1")
    caps.require(
        _is_number(floor) and 0 <= floor < 1 / n_diagnoses, f"'probability_floor' must lie in [0, 1/{n_diagnoses})"
    )
    grades = data.get("grades")
    _Entry("features", "grades").require(isinstance(grades, dict) and bool(grades), "must map grade -> {lr}")
    for grade, spec in grades.items():
        valid = isinstance(spec, dict) and _is_number(spec.get("lr")) and spec["lr"] > 0
        _Entry("features", f"grade '{grade}'").require(valid, "needs a positive 'lr'")
    morphology = data.get("morphology")
    _Entry("features", "morphology").require(isinstance(morphology, dict), "must declare the morphology keys")
    for key, spec in morphology.items():
        _check_morphology_spec(_Entry("features", f"morphology '{key}'"), spec)
    units = data.get("units") or {}
    for unit, spec in units.items():
        _check_unit(_Entry("features", f"unit '{unit}'"), spec)
    groups = data.get("groups") or {}
    _Entry("features", "groups").require(isinstance(groups, dict), "must map group -> reason")
    return {
        "grades": {grade: spec["lr"] for grade, spec in grades.items()},
        "max_lr": max_lr,
        "floor": floor,
        "morphology": dict(morphology),
        "units": dict(units),
        "groups": dict(groups),
    }


def _check_morphology_spec(entry: _Entry, spec: Any) -> None:
    typed = isinstance(spec, dict) and spec.get("type") in ("bool", "number", "category") and _text(spec.get("label"))
    entry.require(typed, "needs a 'type' (bool, number or category) and a 'label'")
    if spec["type"] == "category":
        values = spec.get("values")
        entry.require(isinstance(values, list) and bool(values) and all(map(_text, values)), "needs its 'values'")


def _check_unit(entry: _Entry, spec: Any) -> None:
    scales = spec.get("scales") if isinstance(spec, dict) else None
    entry.require(_text(spec.get("canonical")) and isinstance(scales, list) and bool(scales), "needs canonical, scales")
    limits = [scale.get("below") for scale in scales[:-1]]
    rising = all(_is_number(limit) for limit in limits) and limits == sorted(limits) and "below" not in scales[-1]
    entry.require(rising, "scales need rising 'below' limits, the last one open")
    for scale in scales:
        entry.require(_is_number(scale.get("factor")) and scale["factor"] > 0, "each scale needs a positive 'factor'")
        entry.require(_text(scale.get("read_as")), "each scale needs 'read_as'")


def _features(data: dict, diagnoses: dict[str, Diagnosis], settings: dict) -> list[Feature]:
    listed = data.get("features")
    _Entry("features", "features").require(isinstance(listed, list) and bool(listed), "must be a non-empty list")
    features: list[Feature] = []
    for index, raw in enumerate(listed):
        feature = _feature(raw, index, diagnoses, settings)
        duplicate = any(f.id == feature.id for f in features)
        _Entry("features", f"feature '{feature.id}'").require(not duplicate, "the id is used twice")
        features.append(feature)
    return features


def _feature(raw: Any, index: int, diagnoses: dict[str, Diagnosis], settings: dict) -> Feature:
    entry = _Entry("features", f"feature '{raw.get('id', index)}'" if isinstance(raw, dict) else f"feature {index}")
    entry.require(isinstance(raw, dict) and _identifier(raw.get("id")), "needs an identifier 'id'")
    entry.require(_text(raw.get("name")), "needs a 'name'")
    entry.require(isinstance(raw.get("test"), dict), "needs a 'test' (its definition on the report)")
    _check_test(entry, raw["test"], settings)
    threshold = raw.get("threshold")
    statuses = ", ".join(THRESHOLD_STATUSES)
    known_status = isinstance(threshold, dict) and threshold.get("status") in THRESHOLD_STATUSES
    entry.require(
        known_status and _text(threshold.get("basis")), f"needs 'threshold' with 'status' ({statuses}), 'basis'"
    )
    entry.require(_text(raw.get("source")), "needs a 'source' (a citation or \"expert rule\")")
    group = raw.get("group")
    entry.require(
        group is None or group in settings["groups"], f"unknown group {group!r}; known: {', '.join(settings['groups'])}"
    )
    return Feature(
        id=raw["id"],
        name=raw["name"],
        test=raw["test"],
        rule=f"{_describe_test(raw['test'], settings)} ({THRESHOLD_STATUSES[threshold['status']]})",
        threshold_status=threshold["status"],
        threshold_basis=threshold["basis"],
        source=raw["source"],
        refs=entry.refs(raw.get("refs")),
        group=group,
        text=_feature_text(entry, raw.get("text")),
        weights=_feature_weights(entry, raw.get("weights"), diagnoses, settings),
    )


def _feature_text(entry: _Entry, text: Any) -> dict[str, tuple[str, str]]:
    wording: dict[str, tuple[str, str]] = {}
    for state in STATES:
        part = text.get(state) if isinstance(text, dict) else None
        worded = isinstance(part, dict) and _text(part.get("finding")) and _text(part.get("meaning"))
        entry.require(worded, f"needs text.{state} with a 'finding' and a 'meaning'")
        wording[state] = (part["finding"], part["meaning"])
    return wording


def _feature_weights(
    entry: _Entry, weights: Any, diagnoses: dict[str, Diagnosis], settings: dict
) -> dict[str, dict[str, Weight]]:
    both = isinstance(weights, dict) and all(isinstance(weights.get(o), dict) for o in STATES)
    entry.require(both, "needs 'weights' with 'present' and 'absent' objects (diagnosis -> grade or {lr})")
    entry.require(any(weights[o] for o in STATES), "weighs no diagnosis in either direction")
    parsed: dict[str, dict[str, Weight]] = {}
    for state in STATES:
        side = _Entry(entry.file, f"{entry.name} {state}")
        unknown = [dx for dx in weights[state] if dx not in diagnoses]
        side.require(not unknown, f"unknown diagnosis '{unknown[0] if unknown else ''}'; known: {', '.join(diagnoses)}")
        parsed[state] = {
            dx: _weight(_Entry(entry.file, f"{side.name} {dx}"), spec, settings) for dx, spec in weights[state].items()
        }
    return parsed


def _weight(entry: _Entry, spec: Any, settings: dict) -> Weight:
    if isinstance(spec, str):
        spec = {"grade": spec}
    one_kind = isinstance(spec, dict) and (("lr" in spec) != ("grade" in spec))
    entry.require(one_kind, "must be a grade or an object with exactly one of 'lr' and 'grade'")
    if "lr" in spec:
        sourced = _is_number(spec["lr"]) and spec["lr"] > 0 and _text(spec.get("basis"))
        entry.require(sourced, "a sourced weight needs a positive 'lr' and its 'basis'")
        stated, kind = float(spec["lr"]), "sourced"
    else:
        grades = settings["grades"]
        entry.require(spec["grade"] in grades, f"unknown grade {spec['grade']!r}; known: {', '.join(grades)}")
        stated, kind = float(grades[spec["grade"]]), "expert"
    cap = math.log(settings["max_lr"])
    log_lr = max(-cap, min(cap, math.log(stated)))
    return Weight(stated, log_lr, kind, spec.get("basis", ""), entry.refs(spec.get("refs", [])))


def _check_test(entry: _Entry, test: dict, settings: dict) -> None:
    if "all" in test:
        parts = test["all"]
        combined = set(test) == {"all"} and isinstance(parts, list) and len(parts) >= 2
        entry.require(combined, "'all' takes a list of at least two tests and nothing else")
        for part in parts:
            entry.require(isinstance(part, dict) and "all" not in part, "'all' combines simple tests")
            _check_test(entry, part, settings)
        return
    kinds = [key for key in QUANTITIES if key in test]
    entry.require(len(kinds) == 1, f"a test reads exactly one of {', '.join(QUANTITIES)}")
    entry.require(test.get("op") in OPERATORS, f"unknown operator {test.get('op')!r}; known: {', '.join(OPERATORS)}")
    _check_operand(entry, test)
    _QUANTITY_CHECKS[kinds[0]](entry, test, settings)


def _check_operand(entry: _Entry, test: dict) -> None:
    _, operand_key = OPERATORS[test["op"]]
    operand = test.get(operand_key)
    valid = {
        "threshold": lambda: _is_number(operand),
        "range": lambda: isinstance(operand, list)
        and len(operand) == 2
        and all(map(_is_number, operand))
        and operand[0] < operand[1],
        "value": lambda: isinstance(operand, bool),
        "values": lambda: isinstance(operand, list) and bool(operand) and all(isinstance(v, str) for v in operand),
    }[operand_key]()
    entry.require(valid, f"operator '{test['op']}' needs a valid '{operand_key}'")


def _check_ratio_test(entry: _Entry, test: dict, settings: dict) -> None:
    vocabulary = load("vocabulary")
    try:
        inputs = _ratio_inputs(test["ratio"])
    except ValueError:
        entry.fail(f"ratio '{test['ratio']}' is neither '<SEQ> <region>/<region>' nor '<SEQ>/<SEQ> <region>'")
    known = all(region in vocabulary["regions"] and seq in vocabulary["sequences"] for region, seq in inputs)
    entry.require(known, f"ratio '{test['ratio']}' names an unknown region or sequence")
    _require_numeric_op(entry, test)


def _check_enhancement_test(entry: _Entry, test: dict, settings: dict) -> None:
    entry.require(test["enhancement"] in load("vocabulary")["regions"], f"unknown region '{test['enhancement']}'")
    _require_numeric_op(entry, test)


def _check_region_mean_test(entry: _Entry, test: dict, settings: dict) -> None:
    vocabulary = load("vocabulary")
    known = test["region_mean"] in vocabulary["regions"] and test.get("sequence") in vocabulary["sequences"]
    entry.require(known, "a region mean needs a known region and 'sequence'")
    entry.require(test.get("unit") is None or test["unit"] in settings["units"], f"unknown unit {test.get('unit')!r}")
    _require_numeric_op(entry, test)


def _check_morphology_test(entry: _Entry, test: dict, settings: dict) -> None:
    declared = settings["morphology"]
    spec = declared.get(test["morphology"])
    entry.require(
        spec is not None, f"morphology '{test['morphology']}' is not declared; declared: {', '.join(declared)}"
    )
    allowed = {"bool": ("is",), "category": ("in",), "number": (">", "<", ">=", "between")}[spec["type"]]
    entry.require(test["op"] in allowed, f"a {spec['type']} morphology takes {' or '.join(allowed)}")
    if spec["type"] == "category":
        unknown = [v for v in test["values"] if v not in spec["values"]]
        entry.require(not unknown, f"unknown {test['morphology']} {unknown}; known: {', '.join(spec['values'])}")


def _check_levels_test(entry: _Entry, test: dict, settings: dict) -> None:
    key = f"{test['levels_spanned']}_levels_spanned"
    declared = settings["morphology"].get(key, {}).get("type") == "number"
    entry.require(declared, f"levels_spanned needs the number morphology '{key}' declared")
    _require_numeric_op(entry, test)


def _require_numeric_op(entry: _Entry, test: dict) -> None:
    entry.require(test["op"] in (">", "<", ">=", "between"), f"a numeric quantity cannot take '{test['op']}'")


_QUANTITY_CHECKS: dict[str, Callable[[_Entry, dict, dict], None]] = {
    "ratio": _check_ratio_test,
    "enhancement": _check_enhancement_test,
    "region_mean": _check_region_mean_test,
    "morphology": _check_morphology_test,
    "levels_spanned": _check_levels_test,
}


def _describe_test(test: dict, settings: dict) -> str:
    if "all" in test:
        return " and ".join(_describe_test(part, settings) for part in test["all"])
    kind = next(key for key in QUANTITIES if key in test)
    if kind == "morphology" and settings["morphology"][test["morphology"]]["type"] != "number":
        label = settings["morphology"][test["morphology"]]["label"]
        return label if test["op"] == "is" else f"{label}: {' or '.join(v.replace('_', ' ') for v in test['values'])}"
    roles = load("measurement")["enhancement"]
    subject = {
        "ratio": lambda: test["ratio"],
        "enhancement": lambda: f"enhancement ({roles['post']}/{roles['pre']} - 1) of the {test['enhancement']}",
        "region_mean": lambda: f"{test['sequence']} mean of the {test['region_mean']}",
        "morphology": lambda: settings["morphology"][test["morphology"]]["label"],
        "levels_spanned": lambda: f"levels spanned by the {test['levels_spanned']}",
    }[kind]()
    unit = f" {settings['units'][test['unit']]['canonical']}" if test.get("unit") else ""
    if test["op"] == "between":
        low, high = test["range"]
        return f"{subject} within {low:g}-{high:g}{unit}"
    return f"{subject} {_SYMBOLS[test['op']]} {test['threshold']:g}{unit}"


def _priors(
    data: dict, diagnoses: dict[str, Diagnosis], terms: ClinicalTerms
) -> tuple[dict[str, float], tuple[PriorModifier, ...], dict[str, str]]:
    base = data.get("base")
    entry = _Entry("priors", "base")
    entry.require(
        isinstance(base, dict) and set(base) == set(diagnoses),
        f"needs a prior for exactly the diagnoses {', '.join(diagnoses)}",
    )
    entry.require(all(_is_number(p) and p > 0 for p in base.values()), "priors must be positive numbers")
    entry.require(
        math.isclose(sum(base.values()), 1.0, abs_tol=1e-6), f"priors must sum to 1, not {sum(base.values()):g}"
    )
    groups = data.get("groups")
    _Entry("priors", "groups").require(isinstance(groups, dict) and bool(groups), "must map group -> meaning")
    modifiers = tuple(
        _prior_modifier(raw, index, diagnoses, terms, groups) for index, raw in enumerate(data.get("modifiers") or [])
    )
    neutral = data.get("neutral_terms") or {}
    for term, reason in neutral.items():
        entry = _Entry("priors", f"neutral term '{term}'")
        entry.require(
            term in terms.conditions or term in terms.findings, "is not a condition or finding of clinical_terms"
        )
        entry.require(_text(reason), "needs its reason")
    return {dx: float(base[dx]) for dx in diagnoses}, modifiers, dict(neutral)


def _prior_modifier(
    raw: Any, index: int, diagnoses: dict[str, Diagnosis], terms: ClinicalTerms, groups: dict
) -> PriorModifier:
    when = raw.get("when") if isinstance(raw, dict) else None
    single = isinstance(when, dict) and len(when) == 1 and next(iter(when)) in PRIOR_CONDITIONS
    _Entry("priors", f"modifier {index}").require(single, f"'when' needs exactly one of {', '.join(PRIOR_CONDITIONS)}")
    condition, operand = next(iter(when.items()))
    entry = _Entry("priors", f"modifier {condition} {operand}")
    known = {"condition": terms.conditions, "finding": terms.findings, "primary": terms.primaries}.get(condition)
    if known is not None:
        entry.require(operand in known, f"unknown {condition} '{operand}'; known: {', '.join(known)}")
    else:
        entry.require(_is_number(operand), "an age bound must be a number")
    entry.require(raw.get("group") in groups, f"unknown group {raw.get('group')!r}; known: {', '.join(groups)}")
    factors = raw.get("factors")
    entry.require(isinstance(factors, dict) and bool(factors), "needs 'factors' (diagnosis -> multiplier)")
    for dx, factor in factors.items():
        entry.require(dx in diagnoses, f"unknown diagnosis '{dx}'; known: {', '.join(diagnoses)}")
        entry.require(_is_number(factor) and factor > 0, f"factor for '{dx}' must be a positive number")
    entry.require(_text(raw.get("reason")), "needs a 'reason'")
    return PriorModifier(condition, operand, raw["group"], dict(factors), raw["reason"], entry.refs(raw.get("refs")))


def _separators(
    data: dict, diagnoses: dict[str, Diagnosis], grades: dict[str, float]
) -> tuple[tuple[SeparatingTest, ...], dict]:
    tests = []
    for index, raw in enumerate(data.get("tests") or []):
        entry = _Entry("separators", f"test '{raw.get('id', index)}'" if isinstance(raw, dict) else f"test {index}")
        named = isinstance(raw, dict) and all(_text(raw.get(key)) for key in ("id", "name", "why"))
        entry.require(named, "needs 'id', 'name' and 'why'")
        points_to = raw.get("points_to")
        entry.require(isinstance(points_to, dict) and bool(points_to), "needs 'points_to' (diagnosis -> grade)")
        for dx, grade in points_to.items():
            entry.require(dx in diagnoses, f"unknown diagnosis '{dx}'; known: {', '.join(diagnoses)}")
            entry.require(grade in grades, f"unknown grade {grade!r}; known: {', '.join(grades)}")
        log_lr = {dx: math.log(grades[grade]) for dx, grade in points_to.items()}
        tests.append(SeparatingTest(raw["id"], raw["name"], log_lr, raw["why"], entry.refs(raw.get("refs"))))
    fallback = data.get("fallback")
    entry = _Entry("separators", "fallback")
    entry.require(
        isinstance(fallback, dict) and _text(fallback.get("name")) and _text(fallback.get("why")), "needs name, why"
    )
    entry.refs(fallback.get("refs"))
    return tuple(tests), dict(fallback)


def _check_references_exist(kb: Knowledge) -> None:
    for ref, places in kb.citations().items():
        if ref not in kb.references:
            raise InputError(_subject("references"), f"reference '{ref}' cited by {places[0]} is not defined")


# --- reading the report ----------------------------------------------------------------------------


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
            "morphology": f"Assess the {self.label} (morphology '{self.name}')",
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


def observe(report: dict, kb: Knowledge | None = None) -> tuple[list[Observation], list[Unmeasured]]:
    """Every feature of the knowledge, evaluated on the report or left out with what it lacks."""
    kb = kb or knowledge()
    observations, unmeasured = [], []
    for feature in kb.features:
        result = _evaluate(feature.test, report, kb)
        if isinstance(result, Verdict):
            observations.append(Observation(feature, result))
        else:
            unmeasured.append(Unmeasured(feature, result))
    return observations, unmeasured


def _evaluate(test: dict, report: dict, kb: Knowledge) -> Verdict | tuple[MissingInput, ...]:
    if "all" in test:
        return _evaluate_all(test["all"], report, kb)
    kind = next(key for key in QUANTITIES if key in test)
    reading = _READERS[kind](test, report, kb)
    if not isinstance(reading, Reading):
        return reading
    compare, operand_key = OPERATORS[test["op"]]
    return Verdict(compare(reading, test[operand_key]), reading.value, reading.shown)


def _evaluate_all(tests: list[dict], report: dict, kb: Knowledge) -> Verdict | tuple[MissingInput, ...]:
    parts = [(test, _evaluate(test, report, kb)) for test in tests]
    missing = tuple(dict.fromkeys(m for _, part in parts if not isinstance(part, Verdict) for m in part))
    if missing:
        return missing
    states = [part.state for _, part in parts]
    # One part clearly failing settles the combination even when another part is undecided.
    state = ABSENT if ABSENT in states else PRESENT if all(s == PRESENT for s in states) else UNDECIDED
    value = {_quantity_name(test): part.value for test, part in parts}
    return Verdict(state, value, "; ".join(part.shown for _, part in parts))


def _quantity_name(test: dict) -> str:
    kind = next(key for key in QUANTITIES if key in test)
    return test[kind] if kind in ("ratio", "morphology") else f"{kind} {test[kind]}"


def _read_ratio(test: dict, report: dict, kb: Knowledge) -> Reading | tuple[MissingInput, ...]:
    key = test["ratio"]
    entry = (report.get("ratios") or {}).get(key)
    if entry is None:
        return _missing_measurements(report, _ratio_inputs(key)) or (MissingInput("report", f"ratios.{key}"),)
    value, low, high = _interval(entry, f"ratios.{key}")
    return Reading(value, low, high, f"ratio {value:.2f}, 95 % CI {low:.2f}-{high:.2f}")


def _read_enhancement(test: dict, report: dict, kb: Knowledge) -> Reading | tuple[MissingInput, ...]:
    region = test["enhancement"]
    entry = (report.get("enhancement") or {}).get(region)
    if entry is None:
        roles = load("measurement")["enhancement"]
        inputs = [(region, roles["post"]), (region, roles["pre"])]
        return _missing_measurements(report, inputs) or (MissingInput("report", f"enhancement.{region}"),)
    value, low, high = _interval(entry, f"enhancement.{region}")
    return Reading(
        value, low, high, f"enhancement {value * 100:+.0f} %, 95 % CI {low * 100:+.0f} to {high * 100:+.0f} %"
    )


def _read_region_mean(test: dict, report: dict, kb: Knowledge) -> Reading | tuple[MissingInput, ...]:
    region, sequence = test["region_mean"], test["sequence"]
    stats = ((report.get("regions") or {}).get(region) or {}).get(sequence)
    if stats is None:
        return _missing_measurements(report, [(region, sequence)])
    where = f"regions.{region}.{sequence}"
    mean = stats.get("mean") if isinstance(stats, dict) else None
    if not _is_number(mean):
        raise InputError("report", f"{where} needs a finite 'mean'")
    half_width = _half_width(stats)
    unit = kb.units.get(test.get("unit") or "")
    factor, read_as = _unit_scale(unit, mean) if unit else (1.0, "")
    value, low, high = mean * factor, (mean - half_width) * factor, (mean + half_width) * factor
    canonical = f" {unit['canonical']}" if unit else ""
    read = f", map read as {read_as}" if unit else ""
    return Reading(value, low, high, f"mean {sequence} {value:.2f}{canonical}, 95 % CI {low:.2f}-{high:.2f}{read}")


def _half_width(stats: dict) -> float:
    sd, n = stats.get("sd"), stats.get("n")
    if _is_number(sd) and _is_number(n) and n > 0:
        return load("measurement")["ci_z"] * sd / math.sqrt(n)
    return 0.0


def _unit_scale(unit: dict, mean: float) -> tuple[float, str]:
    # The last scale has no upper limit (checked on load), so one always matches.
    scale = next(s for s in unit["scales"] if "below" not in s or abs(mean) < s["below"])
    return scale["factor"], scale["read_as"]


def _read_morphology(test: dict, report: dict, kb: Knowledge) -> Reading | tuple[MissingInput, ...]:
    key = test["morphology"]
    value = (report.get("morphology") or {}).get(key)
    spec = kb.morphology[key]
    if value is None:
        return (MissingInput("morphology", key, label=spec["label"]),)
    _check_morphology_value(key, value, spec)
    if spec["type"] == "bool":
        return Reading(value, None, None, f"{spec['label']}: {'yes' if value else 'no'}, reader's assessment")
    if spec["type"] == "category":
        return Reading(value, None, None, f"{spec['label']}: {value.replace('_', ' ')}")
    return Reading(value, value, value, f"{spec['label']} {value:g}")


def _check_morphology_value(key: str, value: Any, spec: dict) -> None:
    valid = {
        "bool": lambda: isinstance(value, bool),
        "number": lambda: _is_number(value),
        "category": lambda: value in spec.get("values", []),
    }[spec["type"]]()
    if not valid:
        expected = {
            "bool": "true or false",
            "number": "a number",
            "category": f"one of {', '.join(spec.get('values', []))}",
        }[spec["type"]]
        raise InputError("report morphology", f"'{key}' must be {expected}, not {value!r}")


def _read_levels_spanned(test: dict, report: dict, kb: Knowledge) -> Reading | tuple[MissingInput, ...]:
    region = test["levels_spanned"]
    counted = (report.get("morphology") or {}).get(f"{region}_levels_spanned")
    if counted is not None:
        _check_morphology_value(f"{region}_levels_spanned", counted, {"type": "number"})
        return Reading(counted, counted, counted, f"{counted:g} levels")
    span = ((report.get("levels") or {}).get(region)) or {}
    if not span.get("from") or not span.get("to"):
        return (MissingInput("levels", region),)
    count = abs(_vertebra_code(span["to"]) - _vertebra_code(span["from"])) + 1
    return Reading(count, count, count, f"{count} levels, {span['from']}-{span['to']}")


def _vertebra_code(name: Any) -> int:
    match = _VERTEBRA.match(name) if isinstance(name, str) else None
    if match:
        prefix, number = match.group(1).upper(), int(match.group(2))
        for region in load("levels")["coding"]["regions"]:
            if region["prefix"] == prefix and 1 <= number <= region["count"]:
                return region["offset"] + number
    raise InputError("report levels", f"{name!r} is not a vertebra name (C1-C7, T1-T12, L1-L5, S1-S5)")


def _interval(entry: Any, where: str) -> tuple[float, float, float]:
    value = entry.get("value") if isinstance(entry, dict) else None
    if not _is_number(value):
        raise InputError("report", f"{where} needs a finite 'value'")
    bounds = entry.get("ci95") or [value, value]
    pair = isinstance(bounds, (list, tuple)) and len(bounds) == 2 and all(map(_is_number, bounds))
    if not (pair and bounds[0] <= value <= bounds[1]):
        raise InputError("report", f"{where}: 'ci95' must be [low, high] around the value, not {bounds!r}")
    return value, bounds[0], bounds[1]


def _ratio_inputs(key: str) -> list[tuple[str, str]]:
    """The (region, sequence) measurements a ratio key needs."""
    match = _REGION_RATIO.match(key)
    if match:
        sequence, numerator, denominator = match.groups()
        return [(numerator, sequence), (denominator, sequence)]
    match = _SEQUENCE_RATIO.match(key)
    if match:
        post, pre, region = match.groups()
        return [(region, post), (region, pre)]
    raise ValueError(key)


def _missing_measurements(report: dict, inputs: list[tuple[str, str]]) -> tuple[MissingInput, ...]:
    regions = report.get("regions") or {}
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


def _within(reading: Reading, bounds: list[float]) -> str:
    low, high = bounds
    if low <= reading.low and reading.high <= high:
        return PRESENT
    return ABSENT if reading.high < low or reading.low > high else UNDECIDED


def _equals(reading: Reading, value: Any) -> str:
    return PRESENT if reading.value == value else ABSENT


def _one_of(reading: Reading, values: list[str]) -> str:
    return PRESENT if reading.value in values else ABSENT


OPERATORS: dict[str, tuple[Callable[[Reading, Any], str], str]] = {
    ">": (_above, "threshold"),
    "<": (_below, "threshold"),
    ">=": (_at_least, "threshold"),
    "between": (_within, "range"),
    "is": (_equals, "value"),
    "in": (_one_of, "values"),
}

_READERS: dict[str, Callable[[dict, dict, Knowledge], Reading | tuple[MissingInput, ...]]] = {
    "ratio": _read_ratio,
    "enhancement": _read_enhancement,
    "region_mean": _read_region_mean,
    "morphology": _read_morphology,
    "levels_spanned": _read_levels_spanned,
}


# --- ranking ---------------------------------------------------------------------------------------


def rank(report: dict) -> list[dict]:
    """The candidate diagnoses with probabilities, priors and the evidence for and against each."""
    kb = knowledge()
    clinical = validate_clinical(report.get("clinical"), terms=kb.terms)
    priors, prior_factors = _clinical_priors(kb, clinical)
    observations, _ = observe(report, kb)
    evidence = _evidence(kb, observations)
    scores = {dx: math.log(priors[dx]) + sum(item["weight"] for item in evidence[dx]) for dx in kb.diagnoses}
    probabilities = _floored_softmax(scores, kb.floor)
    ranking = [
        {
            "id": dx,
            "name": kb.diagnoses[dx].name,
            "summary": kb.diagnoses[dx].summary,
            "probability": probabilities[dx],
            "prior": priors[dx],
            "prior_factors": prior_factors[dx],
            "evidence": sorted(evidence[dx], key=lambda item: -abs(item["weight"])),
        }
        for dx in kb.diagnoses
    ]
    return sorted(ranking, key=lambda entry: -entry["probability"])


def _clinical_priors(kb: Knowledge, clinical: dict) -> tuple[dict[str, float], dict[str, list[dict]]]:
    weights = dict(kb.base_priors)
    factors: dict[str, list[dict]] = {dx: [] for dx in kb.diagnoses}
    applying = [m for m in kb.modifiers if _modifier_applies(m, clinical)]
    for group in dict.fromkeys(m.group for m in applying):
        in_group = [m for m in applying if m.group == group]
        for dx in kb.diagnoses:
            # Within a group only the strongest push each way counts: overlapping terms (thalassemia
            # and chronic anaemia) describe one background, not two.
            raising = [m for m in in_group if m.factors.get(dx, 1) > 1]
            lowering = [m for m in in_group if m.factors.get(dx, 1) < 1]
            chosen = [max(raising, key=lambda m: m.factors[dx])] if raising else []
            chosen += [min(lowering, key=lambda m: m.factors[dx])] if lowering else []
            for modifier in chosen:
                weights[dx] *= modifier.factors[dx]
                factors[dx].append(_prior_factor(kb, modifier, dx, clinical))
    total = sum(weights.values())
    return {dx: weight / total for dx, weight in weights.items()}, factors


def _modifier_applies(modifier: PriorModifier, clinical: dict) -> bool:
    age = clinical.get("age")
    return {
        "condition": lambda: modifier.operand in clinical.get("conditions", []),
        "finding": lambda: modifier.operand in clinical.get("findings", []),
        "primary": lambda: clinical.get("primary") == modifier.operand,
        "age_at_least": lambda: age is not None and age >= modifier.operand,
        "age_below": lambda: age is not None and age < modifier.operand,
    }[modifier.condition]()


def _prior_factor(kb: Knowledge, modifier: PriorModifier, dx: str, clinical: dict) -> dict:
    if modifier.condition == "age_at_least":
        term, label = "age", f"age {clinical['age']:g} ({modifier.operand:g} or over)"
    elif modifier.condition == "age_below":
        term, label = "age", f"age {clinical['age']:g} (under {modifier.operand:g})"
    else:
        term, label = modifier.operand, kb.terms.label(modifier.operand)
    return {"term": term, "label": label, "factor": modifier.factors[dx], "reason": modifier.reason}


def _evidence(kb: Knowledge, observations: list[Observation]) -> dict[str, list[dict]]:
    members = Counter(obs.feature.group for obs in observations if obs.feature.group)
    evidence: dict[str, list[dict]] = {dx: [] for dx in kb.diagnoses}
    for obs in observations:
        if obs.verdict.state == UNDECIDED:
            continue
        share = 1 / members[obs.feature.group] if obs.feature.group else 1.0
        for dx, weight in obs.feature.weights[obs.verdict.state].items():
            evidence[dx].append(_evidence_item(kb, obs, kb.diagnoses[dx], weight, share))
    return evidence


def _evidence_item(kb: Knowledge, obs: Observation, diagnosis: Diagnosis, weight: Weight, share: float) -> dict:
    feature = obs.feature
    finding, meaning = feature.text[obs.verdict.state]
    counted = weight.log_lr * share
    refs = tuple(dict.fromkeys(feature.refs + weight.refs))
    stated = f"{finding} ({obs.verdict.shown})"
    verdict = f"{_verb(counted)} {diagnosis.short} ({_strength(kb, feature, weight, share)})"
    return {
        "feature": feature.id,
        "state": obs.verdict.state,
        "value": obs.verdict.value,
        "supports": counted > 0,
        "weight": counted,
        "lr": math.exp(counted),
        "kind": weight.kind,
        "basis": weight.basis,
        "finding": stated,
        "text": f"{stated}: {meaning}. {verdict}.",
        "rule": feature.rule,
        "refs": list(refs),
    }


def _verb(log_lr: float) -> str:
    if log_lr >= _STRONG:
        return "Strongly favours"
    if log_lr > 0:
        return "Favours"
    return "Strongly argues against" if log_lr <= -_STRONG else "Argues against"


def _strength(kb: Knowledge, feature: Feature, weight: Weight, share: float) -> str:
    if weight.kind == "sourced":
        cited = ", ".join(kb.references[ref]["short"] for ref in weight.refs) or feature.source
        parts = [f"likelihood ratio {weight.stated_lr:.2g}, {cited}"]
        if weight.capped:
            parts.append(f"counted as {math.exp(weight.log_lr):.2g} by the per-feature cap")
    else:
        parts = [f"expert weight, likelihood ratio {weight.stated_lr:g}"]
    if share < 1:
        parts.append(f"counted at 1/{round(1 / share)}: one of the measurements grouped as '{feature.group}'")
    if feature.threshold_status == "proposed":
        parts.append(THRESHOLD_STATUSES["proposed"])
    return "; ".join(parts)


def _floored_softmax(scores: dict[str, float], floor: float) -> dict[str, float]:
    top = max(scores.values())
    exponentials = {dx: math.exp(score - top) for dx, score in scores.items()}
    total = sum(exponentials.values())
    spread = 1 - floor * len(scores)
    return {dx: floor + spread * value / total for dx, value in exponentials.items()}


# --- explanation -----------------------------------------------------------------------------------


def explain(report: dict, ranking: list[dict]) -> dict:
    """What the ranking could not use, what stayed undecided, and what would best separate the top two."""
    kb = knowledge()
    clinical = validate_clinical(report.get("clinical"), terms=kb.terms)
    observations, unmeasured = observe(report, kb)
    return {
        "caveat": CAVEAT,
        "knowledge": {
            "versions": kb.versions,
            "max_likelihood_ratio": kb.max_lr,
            "probability_floor": kb.floor,
            "grades": kb.grades,
            "groups": kb.groups,
        },
        "neutral_clinical_terms": _neutral_terms(kb, clinical),
        "not_measured": [
            {"feature": u.feature.id, "name": u.feature.name, "missing": [m.text for m in u.missing]}
            for u in unmeasured
        ],
        "observed": [_observed(obs) for obs in observations],
        "undecided": [_undecided(obs) for obs in observations if obs.verdict.state == UNDECIDED],
        "next_best": _next_best(kb, ranking, observations, unmeasured),
    }


def assess(report: dict) -> dict:
    """The differential section of the JSON report: the ranking and its explanation."""
    ranking = rank(report)
    return {"differential": ranking, **explain(report, ranking)}


def _neutral_terms(kb: Knowledge, clinical: dict) -> list[dict]:
    given = clinical.get("conditions", []) + clinical.get("findings", [])
    return [
        {"term": t, "label": kb.terms.label(t), "reason": kb.neutral_terms[t]} for t in given if t in kb.neutral_terms
    ]


def _observed(obs: Observation) -> dict:
    return {
        "feature": obs.feature.id,
        "name": obs.feature.name,
        "state": obs.verdict.state,
        "value": obs.verdict.value,
        "finding": obs.verdict.shown,
        "rule": obs.feature.rule,
        "threshold": obs.feature.threshold_basis,
    }


def _undecided(obs: Observation) -> dict:
    straddles = "the 95 % interval straddles the threshold, so it is not counted; a larger region narrows it"
    return {**_observed(obs), "text": f"{obs.feature.name} ({obs.verdict.shown}): {straddles}"}


def _next_best(
    kb: Knowledge, ranking: list[dict], observations: list[Observation], unmeasured: list[Unmeasured]
) -> dict:
    """The missing input and the outside test that could best separate the two leading candidates."""
    first, second = ranking[0]["id"], ranking[1]["id"]
    imaging = _best_missing_input(kb, first, second, observations, unmeasured)
    test = _best_test(kb, first, second)
    fallback = None if imaging or test else {**kb.fallback, "text": f"{kb.fallback['name']}: {kb.fallback['why']}."}
    best = max([choice for choice in (imaging, test) if choice], key=lambda c: c["odds_factor"], default=fallback)
    return {"between": [first, second], "imaging": imaging, "test": test, "fallback": fallback, "text": best["text"]}


def _best_missing_input(
    kb: Knowledge, first: str, second: str, observations: list[Observation], unmeasured: list[Unmeasured]
) -> dict | None:
    # Credit an input only with the features it alone would unlock, and only with the single most
    # separating of them: the features of one sequence are mostly exclusive bands of one ratio.
    measured_groups = Counter(obs.feature.group for obs in observations if obs.feature.group)

    def separation(feature: Feature) -> float:
        share = 1 / (measured_groups[feature.group] + 1) if feature.group else 1.0
        return feature.separation(first, second) * share

    candidates: dict[MissingInput, list[Feature]] = {}
    for item in unmeasured:
        if len(item.missing) == 1 and separation(item.feature) > 0:
            candidates.setdefault(item.missing[0], []).append(item.feature)
    if not candidates:
        return None
    missing, features = max(candidates.items(), key=lambda kv: max(map(separation, kv[1])))
    strongest = max(features, key=separation)
    factor = math.exp(separation(strongest))
    names = ", ".join(f"'{f.name}'" for f in features)
    text = (
        f"{missing.action}: it would measure {names}; '{strongest.name}' alone can shift the odds of "
        f"{kb.diagnoses[first].short} against {kb.diagnoses[second].short} by up to ×{factor:.3g}."
    )
    return {
        "input": missing.text,
        "action": missing.action,
        "features": [f.id for f in features],
        "odds_factor": factor,
        "text": text,
    }


def _best_test(kb: Knowledge, first: str, second: str) -> dict | None:
    def separation(test: SeparatingTest) -> float:
        return abs(test.log_lr.get(first, 0.0) - test.log_lr.get(second, 0.0))

    useful = [test for test in kb.tests if separation(test) > 0]
    if not useful:
        return None
    test = max(useful, key=separation)
    factor = math.exp(separation(test))
    pair = f"{kb.diagnoses[first].short} and {kb.diagnoses[second].short}"
    text = f"{test.name}: {test.why} (expert weight: up to ×{factor:.3g} between {pair})."
    return {"id": test.id, "name": test.name, "odds_factor": factor, "text": text, "refs": list(test.refs)}


# --- text output -----------------------------------------------------------------------------------


def summary_lines(ranking: list[dict], n: int = 3) -> list[str]:
    """The caveat, then the top `n` candidates with their probability, prior and main reasons."""
    lines = [CAVEAT, "Differential (probability; prior from the clinical context):"]
    for place, entry in enumerate(ranking[:n], start=1):
        lines.append(f"{place}. {entry['name']}: {_percent(entry['probability'])} (prior {_percent(entry['prior'])})")
        reasons_for = [item["finding"] for item in entry["evidence"] if item["supports"]][:2]
        reasons_against = [item["finding"] for item in entry["evidence"] if not item["supports"]][:2]
        if reasons_for:
            lines.append(f"   for: {'; '.join(reasons_for)}")
        if reasons_against:
            lines.append(f"   against: {'; '.join(reasons_against)}")
        if entry["prior_factors"]:
            lines.append("   prior: " + ", ".join(f"{f['label']} ×{f['factor']:g}" for f in entry["prior_factors"]))
    return lines


def _percent(probability: float) -> str:
    return "<1 %" if probability < 0.005 else f"{probability:.0%}".replace("%", " %")
