"""The differential's knowledge: the data files of `data/differential/`, validated on load.

Each feature is a test on one or more report quantities (a ratio, an enhancement, a region mean, a
morphology finding, the levels a mass spans), read by an operator against a threshold, range,
flag or list of categories; each outcome carries per diagnosis a likelihood ratio (sourced) or a
grade (expert). A malformed entry is refused with an `InputError` naming the file and the entry.
"""

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from ..errors import InputError
from ..inputs.clinical import ClinicalTerms
from ..knowledge import load
from ..report_model import Clinical, RatioKey
from ..settings import measurement_settings

DATA_FILES = ("diagnoses", "features", "clinical_terms", "priors", "references", "separators")
PRESENT, ABSENT, UNDECIDED = "present", "absent", "undecided"
STATES = (PRESENT, ABSENT)
THRESHOLD_STATUSES = {
    "proposed": "threshold proposed by EMHAssist",
    "published": "published threshold",
    "reader": "reader's assessment",
}
QUANTITIES = ("ratio", "enhancement", "region_mean", "morphology", "levels_spanned", "spine_segment")
# The one region whose levels the report gives (levels.mass), read by levels_spanned and spine_segment.
LEVELLED_REGION = "mass"
# The spine segment of a region's middle level, by the first letter of its vertebra name.
SPINE_SEGMENTS = {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "sacral"}
# A morphology is a reader's flag (bool), a category, a count (number, exact) or a measured fraction
# with its 95 % interval ({value, ci95}, shown in percent).
MORPHOLOGY_TYPES = ("bool", "number", "category", "fraction")
# Each operator of a feature test and the key of the test that holds its operand.
OPERAND_KEYS = {
    ">": "threshold",
    "<": "threshold",
    ">=": "threshold",
    "between": "range",
    "is": "value",
    "in": "values",
}
PRIOR_CONDITIONS = ("condition", "finding", "primary", "age_at_least", "age_below")
_SYMBOLS = {">": ">", "<": "<", ">=": "≥"}


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
class QuantityTest:
    """One quantity of a case read by an operator against its operand: `kind` (one of QUANTITIES)
    says what is read, `subject` which one (a ratio's key; else a region or a morphology key)."""

    kind: str
    subject: str | RatioKey
    op: str  # one of OPERAND_KEYS
    operand: float | bool | tuple[float, float] | tuple[str, ...]  # threshold, flag, range or categories
    sequence: str | None = None  # the sequence a region mean is read on
    unit: str | None = None  # a region mean's unit, one of features.json units

    @property
    def parts(self) -> tuple["QuantityTest", ...]:
        return (self,)

    @property
    def name(self) -> str:
        """The quantity's name in a combined test's values: the ratio or morphology key, else kind and region."""
        return str(self.subject) if self.kind in ("ratio", "morphology") else f"{self.kind} {self.subject}"


@dataclass(frozen=True)
class AllOf:
    """Tests that must all hold: one failing settles it, else one undecided leaves it undecided."""

    parts: tuple[QuantityTest, ...]


FeatureTest = QuantityTest | AllOf


@dataclass(frozen=True)
class MorphologySpec:
    """A morphology key of the report: its kind (one of MORPHOLOGY_TYPES) and label; a category's
    values; the (region, sequence) measurements a measured one is made from."""

    type: str
    label: str
    values: tuple[str, ...] = ()
    measured_from: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_raw(cls, spec: dict) -> "MorphologySpec":
        pairs = tuple((region, sequence) for region, sequence in spec.get("measured_from", []))
        return cls(spec["type"], spec["label"], tuple(spec.get("values", [])), pairs)


@dataclass(frozen=True)
class UnitScale:
    factor: float  # the stored value times this is in the canonical unit
    read_as: str  # the unit the map was taken to be written in
    below: float | None  # the scale applies to means below this size; None on the last, open scale


@dataclass(frozen=True)
class Unit:
    """A region mean's canonical unit and the scales a map may be written in, told apart by size."""

    canonical: str
    scales: tuple[UnitScale, ...]

    @classmethod
    def from_raw(cls, spec: dict) -> "Unit":
        scales = tuple(UnitScale(s["factor"], s["read_as"], s.get("below")) for s in spec["scales"])
        return cls(spec["canonical"], scales)

    def scale_of(self, mean: float) -> UnitScale:
        # The last scale has no upper limit (checked on load), so one always matches.
        return next(s for s in self.scales if s.below is None or abs(mean) < s.below)


@dataclass(frozen=True)
class FeatureSettings:
    """features.json's settings beside its features: the caps, the grades, the morphology keys and
    units the tests read, the groups, and the explanation's thresholds."""

    images_separate_lr: float
    strong_lr: float
    grades: dict[str, float]  # expert grade -> its likelihood ratio
    max_lr: float
    floor: float
    morphology: dict[str, MorphologySpec]
    units: dict[str, Unit]
    groups: dict[str, str]  # group -> why its features share one weight


@dataclass(frozen=True)
class Feature:
    id: str
    name: str
    test: FeatureTest
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
    raised: frozenset[str] = frozenset()  # the diagnoses this history raises to a stated weight


@dataclass(frozen=True)
class SetAside:
    """Features not counted when another feature is present with one of some clinical terms."""

    id: str
    features: tuple[str, ...]
    when_present: str
    clinical_any: tuple[str, ...]
    reason: str
    refs: tuple[str, ...]

    def applies(self, present: set[str], clinical: Clinical) -> bool:
        return self.when_present in present and bool(set(clinical.terms) & set(self.clinical_any))


@dataclass(frozen=True)
class SeparatingTest:
    id: str
    name: str
    log_lr: dict[str, float]
    why: str
    refs: tuple[str, ...]


@dataclass(frozen=True)
class Fallback:
    """What to do when neither a missing input nor an outside test separates the two leaders."""

    name: str
    why: str
    refs: tuple[str, ...]


@dataclass(frozen=True)
class Reference:
    """A source of references.json: its citation fields (None where no page showed one, which its `note`
    says why), the pages it was verified from, and, for a seed whose article is not identified, what it is."""

    short: str
    authors: tuple[str, ...] | None
    title: str | None
    journal: str | None
    year: int | None
    volume: str | None
    pages: str | None
    doi: str | None
    pmid: str | None
    verified_from: tuple[str, ...]
    location: str | None = None
    note: str | None = None
    issue: str | None = None
    pmcid: str | None = None
    described_as: str | None = None
    not_applicable: tuple[str, ...] = ()  # citation fields the source has none of (a web case has no volume)
    et_al: bool = False


@dataclass(frozen=True)
class Knowledge:
    versions: dict[str, int]
    diagnoses: dict[str, Diagnosis]
    features: tuple[Feature, ...]
    base_priors: dict[str, float]
    modifiers: tuple[PriorModifier, ...]
    neutral_terms: dict[str, str]
    proxy_groups: dict[str, str]
    references: dict[str, Reference]
    tests: tuple[SeparatingTest, ...]
    fallback: Fallback
    grades: dict[str, float]
    max_lr: float
    floor: float
    morphology: dict[str, MorphologySpec]
    units: dict[str, Unit]
    groups: dict[str, str]
    set_asides: tuple[SetAside, ...]
    images_separate_lr: float
    strong_lr: float
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
        set_asides = _set_asides(raw["features"], features, terms)
        base, modifiers, neutral, proxies = _priors(raw["priors"], diagnoses, terms)
        tests, fallback = _separators(raw["separators"], diagnoses, settings.grades)
        knowledge = cls(
            versions=versions,
            diagnoses=diagnoses,
            features=features,
            base_priors=base,
            modifiers=modifiers,
            neutral_terms=neutral,
            proxy_groups=proxies,
            references=references,
            tests=tests,
            fallback=fallback,
            set_asides=set_asides,
            terms=terms,
            images_separate_lr=settings.images_separate_lr,
            strong_lr=settings.strong_lr,
            grades=settings.grades,
            max_lr=settings.max_lr,
            floor=settings.floor,
            morphology=settings.morphology,
            units=settings.units,
            groups=settings.groups,
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
        places += [(f"set_aside '{a.id}'", a.refs) for a in self.set_asides]
        places += [("fallback", self.fallback.refs)]
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


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _version(data: Any, name: str) -> int:
    entry = _Entry(name, "file")
    entry.require(isinstance(data, dict), "must be a JSON object")
    entry.require(isinstance(data.get("version"), int), "needs an integer 'version'")
    return data["version"]


# A reference's citation fields: each must be present; null only where no page read showed it, and
# then its 'note' says so (references.json "about"). The check of each non-null value's type.
CITATION_FIELDS: dict[str, Callable[[Any], bool]] = {
    "authors": lambda v: isinstance(v, list) and bool(v) and all(_text(a) for a in v),
    "title": _text,
    "journal": _text,
    "year": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1800 <= v <= 2100,
    "volume": _text,
    "pages": _text,
    "doi": lambda v: isinstance(v, str) and bool(re.fullmatch(r"10\.\d{4,9}/\S+", v)),
    "pmid": lambda v: isinstance(v, str) and v.isdigit(),
}


_REFERENCE_TEXTS = ("location", "note", "issue", "pmcid", "described_as")


def _references(data: dict) -> dict[str, Reference]:
    references = data.get("references")
    _Entry("references", "references").require(isinstance(references, dict) and bool(references), "must be an object")
    return {ref_id: _reference(_Entry("references", f"reference '{ref_id}'"), reference) for ref_id, reference in references.items()}


def _reference(entry: _Entry, reference: Any) -> Reference:
    entry.require(isinstance(reference, dict) and _text(reference.get("short")), "needs a 'short' name")
    sources = reference.get("verified_from")
    entry.require(isinstance(sources, list) and bool(sources) and all(_text(s) for s in sources), "needs 'verified_from': the pages read")
    for field, valid in CITATION_FIELDS.items():
        entry.require(field in reference, f"needs '{field}' (null when no page showed it)")
        entry.require(reference[field] is None or valid(reference[field]), f"'{field}' is not valid: {reference[field]!r}")
    missing = [field for field in CITATION_FIELDS if reference[field] is None]
    entry.require(not missing or _text(reference.get("note")), f"{', '.join(missing)} unknown: a 'note' must say why")
    entry.require(reference["title"] is not None or _text(reference.get("described_as")), "needs a 'title' or what the source is ('described_as')")
    known = {"short", "verified_from", "not_applicable", "et_al", *CITATION_FIELDS, *_REFERENCE_TEXTS}
    unknown = sorted(set(reference) - known)
    if unknown:
        entry.fail(f"'{unknown[0]}' is not a field of a reference (known: {', '.join(sorted(known))})")
    for field in _REFERENCE_TEXTS:
        entry.require(reference.get(field) is None or _text(reference[field]), f"'{field}' must be a non-empty text")
    not_applicable = reference.get("not_applicable", [])
    entry.require(isinstance(not_applicable, list) and set(not_applicable) <= set(CITATION_FIELDS), "'not_applicable' must list citation fields")
    entry.require(isinstance(reference.get("et_al", False), bool), "'et_al' must be true or false")
    authors = reference["authors"]
    return Reference(
        **{field: reference[field] for field in CITATION_FIELDS if field != "authors"},
        **{field: reference.get(field) for field in _REFERENCE_TEXTS},
        short=reference["short"],
        authors=tuple(authors) if authors is not None else None,
        verified_from=tuple(sources),
        not_applicable=tuple(not_applicable),
        et_al=reference.get("et_al", False),
    )


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


def _feature_settings(data: dict, n_diagnoses: int) -> FeatureSettings:
    caps = _Entry("features", "caps")
    max_lr = (data.get("caps") or {}).get("max_likelihood_ratio")
    floor = (data.get("caps") or {}).get("probability_floor")
    caps.require(is_number(max_lr) and max_lr > 1, "'max_likelihood_ratio' must be a number above 1")
    caps.require(
        is_number(floor) and 0 <= floor < 1 / n_diagnoses, f"'probability_floor' must lie in [0, 1/{n_diagnoses})"
    )
    grades = data.get("grades")
    _Entry("features", "grades").require(isinstance(grades, dict) and bool(grades), "must map grade -> {lr}")
    for grade, spec in grades.items():
        valid = isinstance(spec, dict) and is_number(spec.get("lr")) and spec["lr"] > 0
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
    separate = (data.get("explanation") or {}).get("images_separate_lr")
    _Entry("features", "explanation").require(
        is_number(separate) and separate >= 1, "'images_separate_lr' must be a number of at least 1"
    )
    strong = (data.get("explanation") or {}).get("strong_lr")
    _Entry("features", "explanation").require(is_number(strong) and strong > 1, "'strong_lr' must be a number above 1")
    return FeatureSettings(
        images_separate_lr=separate,
        strong_lr=strong,
        grades={grade: spec["lr"] for grade, spec in grades.items()},
        max_lr=max_lr,
        floor=floor,
        morphology={key: MorphologySpec.from_raw(spec) for key, spec in morphology.items()},
        units={unit: Unit.from_raw(spec) for unit, spec in units.items()},
        groups=dict(groups),
    )


def _set_asides(data: dict, features: tuple[Feature, ...], terms: ClinicalTerms) -> tuple[SetAside, ...]:
    known = {f.id for f in features}
    set_asides = []
    for index, raw in enumerate(data.get("set_aside") or []):
        name = f"set_aside '{raw.get('id', index)}'" if isinstance(raw, dict) else f"set_aside {index}"
        entry = _Entry("features", name)
        entry.require(isinstance(raw, dict) and _identifier(raw.get("id")), "needs an identifier 'id'")
        listed = raw.get("features")
        listed_known = isinstance(listed, list) and bool(listed) and set(listed) <= known
        entry.require(listed_known, "'features' must list known features")
        entry.require(raw.get("when_present") in known, "'when_present' must name a known feature")
        clinical = raw.get("clinical_any")
        vocabulary = set(terms.conditions) | set(terms.findings)
        entry.require(
            isinstance(clinical, list) and bool(clinical) and set(clinical) <= vocabulary,
            "'clinical_any' must list conditions or findings of clinical_terms",
        )
        entry.require(_text(raw.get("reason")), "needs a 'reason'")
        refs = entry.refs(raw.get("refs"))
        set_asides.append(SetAside(raw["id"], tuple(listed), raw["when_present"], tuple(clinical), raw["reason"], refs))
    return tuple(set_asides)


def _check_morphology_spec(entry: _Entry, spec: Any) -> None:
    types = ", ".join(MORPHOLOGY_TYPES)
    typed = isinstance(spec, dict) and spec.get("type") in MORPHOLOGY_TYPES and _text(spec.get("label"))
    entry.require(typed, f"needs a 'type' ({types}) and a 'label'")
    if spec["type"] == "category":
        values = spec.get("values")
        entry.require(isinstance(values, list) and bool(values) and all(map(_text, values)), "needs its 'values'")
    if "measured_from" in spec:
        vocabulary = load("vocabulary")
        pairs = spec["measured_from"]
        known = isinstance(pairs, list) and bool(pairs) and all(
            isinstance(pair, list) and len(pair) == 2 and pair[0] in vocabulary["regions"] and pair[1] in vocabulary["sequences"]
            for pair in pairs
        )
        entry.require(known, "'measured_from' must list [region, sequence] pairs of the vocabulary")


def _check_unit(entry: _Entry, spec: Any) -> None:
    scales = spec.get("scales") if isinstance(spec, dict) else None
    entry.require(_text(spec.get("canonical")) and isinstance(scales, list) and bool(scales), "needs canonical, scales")
    limits = [scale.get("below") for scale in scales[:-1]]
    rising = all(is_number(limit) for limit in limits) and limits == sorted(limits) and "below" not in scales[-1]
    entry.require(rising, "scales need rising 'below' limits, the last one open")
    for scale in scales:
        entry.require(is_number(scale.get("factor")) and scale["factor"] > 0, "each scale needs a positive 'factor'")
        entry.require(_text(scale.get("read_as")), "each scale needs 'read_as'")


def _features(data: dict, diagnoses: dict[str, Diagnosis], settings: FeatureSettings) -> list[Feature]:
    listed = data.get("features")
    _Entry("features", "features").require(isinstance(listed, list) and bool(listed), "must be a non-empty list")
    features: list[Feature] = []
    for index, raw in enumerate(listed):
        feature = _feature(raw, index, diagnoses, settings)
        duplicate = any(f.id == feature.id for f in features)
        _Entry("features", f"feature '{feature.id}'").require(not duplicate, "the id is used twice")
        features.append(feature)
    return features


def _feature(raw: Any, index: int, diagnoses: dict[str, Diagnosis], settings: FeatureSettings) -> Feature:
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
        group is None or group in settings.groups, f"unknown group {group!r}; known: {', '.join(settings.groups)}"
    )
    return Feature(
        id=raw["id"],
        name=raw["name"],
        test=_typed_test(raw["test"]),
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
    entry: _Entry, weights: Any, diagnoses: dict[str, Diagnosis], settings: FeatureSettings
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


def _weight(entry: _Entry, spec: Any, settings: FeatureSettings) -> Weight:
    if isinstance(spec, str):
        spec = {"grade": spec}
    one_kind = isinstance(spec, dict) and (("lr" in spec) != ("grade" in spec))
    entry.require(one_kind, "must be a grade or an object with exactly one of 'lr' and 'grade'")
    if "lr" in spec:
        sourced = is_number(spec["lr"]) and spec["lr"] > 0 and _text(spec.get("basis"))
        entry.require(sourced, "a sourced weight needs a positive 'lr' and its 'basis'")
        stated, kind = float(spec["lr"]), "sourced"
    else:
        grades = settings.grades
        entry.require(spec["grade"] in grades, f"unknown grade {spec['grade']!r}; known: {', '.join(grades)}")
        stated, kind = float(grades[spec["grade"]]), "expert"
    cap = math.log(settings.max_lr)
    log_lr = max(-cap, min(cap, math.log(stated)))
    return Weight(stated, log_lr, kind, spec.get("basis", ""), entry.refs(spec.get("refs", [])))


def _check_test(entry: _Entry, test: dict, settings: FeatureSettings) -> None:
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
    entry.require(
        test.get("op") in OPERAND_KEYS, f"unknown operator {test.get('op')!r}; known: {', '.join(OPERAND_KEYS)}"
    )
    _check_operand(entry, test)
    _QUANTITY_CHECKS[kinds[0]](entry, test, settings)


def _check_operand(entry: _Entry, test: dict) -> None:
    operand_key = OPERAND_KEYS[test["op"]]
    operand = test.get(operand_key)
    valid = {
        "threshold": lambda: is_number(operand),
        "range": lambda: (
            isinstance(operand, list) and len(operand) == 2 and all(map(is_number, operand)) and operand[0] < operand[1]
        ),
        "value": lambda: isinstance(operand, bool),
        "values": lambda: isinstance(operand, list) and bool(operand) and all(isinstance(v, str) for v in operand),
    }[operand_key]()
    entry.require(valid, f"operator '{test['op']}' needs a valid '{operand_key}'")


def _check_ratio_test(entry: _Entry, test: dict, settings: FeatureSettings) -> None:
    vocabulary = load("vocabulary")
    try:
        inputs = RatioKey.parse(test["ratio"]).inputs()
    except (TypeError, ValueError):
        entry.fail(f"ratio '{test['ratio']}' is neither '<SEQ> <region>/<region>' nor '<SEQ>/<SEQ> <region>'")
    known = all(region in vocabulary["regions"] and seq in vocabulary["sequences"] for region, seq in inputs)
    entry.require(known, f"ratio '{test['ratio']}' names an unknown region or sequence")
    _require_numeric_op(entry, test)


def _check_enhancement_test(entry: _Entry, test: dict, settings: FeatureSettings) -> None:
    entry.require(test["enhancement"] in load("vocabulary")["regions"], f"unknown region '{test['enhancement']}'")
    _require_numeric_op(entry, test)


def _check_region_mean_test(entry: _Entry, test: dict, settings: FeatureSettings) -> None:
    vocabulary = load("vocabulary")
    known = test["region_mean"] in vocabulary["regions"] and test.get("sequence") in vocabulary["sequences"]
    entry.require(known, "a region mean needs a known region and 'sequence'")
    entry.require(test.get("unit") is None or test["unit"] in settings.units, f"unknown unit {test.get('unit')!r}")
    _require_numeric_op(entry, test)


def _check_morphology_test(entry: _Entry, test: dict, settings: FeatureSettings) -> None:
    declared = settings.morphology
    spec = declared.get(test["morphology"])
    entry.require(
        spec is not None, f"morphology '{test['morphology']}' is not declared; declared: {', '.join(declared)}"
    )
    numeric = (">", "<", ">=", "between")
    allowed = {"bool": ("is",), "category": ("in",), "number": numeric, "fraction": numeric}[spec.type]
    entry.require(test["op"] in allowed, f"a {spec.type} morphology takes {' or '.join(allowed)}")
    if spec.type == "category":
        unknown = [v for v in test["values"] if v not in spec.values]
        entry.require(not unknown, f"unknown {test['morphology']} {unknown}; known: {', '.join(spec.values)}")


def _check_levels_test(entry: _Entry, test: dict, settings: FeatureSettings) -> None:
    _require_levelled(entry, test["levels_spanned"])
    key = f"{test['levels_spanned']}_levels_spanned"
    declared = key in settings.morphology and settings.morphology[key].type == "number"
    entry.require(declared, f"levels_spanned needs the number morphology '{key}' declared")
    _require_numeric_op(entry, test)


def _check_spine_segment_test(entry: _Entry, test: dict, settings: FeatureSettings) -> None:
    _require_levelled(entry, test["spine_segment"])
    entry.require(test["op"] == "in", "a spine segment takes 'in'")
    unknown = [v for v in test["values"] if v not in SPINE_SEGMENTS.values()]
    entry.require(not unknown, f"unknown spine segment {unknown}; known: {', '.join(SPINE_SEGMENTS.values())}")


def _require_levelled(entry: _Entry, region: Any) -> None:
    # The report gives vertebral levels to the mass alone (levels.mass).
    entry.require(region == LEVELLED_REGION, f"only the {LEVELLED_REGION} has levels, not {region!r}")


def _require_numeric_op(entry: _Entry, test: dict) -> None:
    entry.require(test["op"] in (">", "<", ">=", "between"), f"a numeric quantity cannot take '{test['op']}'")


_QUANTITY_CHECKS: dict[str, Callable[[_Entry, dict, FeatureSettings], None]] = {
    "ratio": _check_ratio_test,
    "enhancement": _check_enhancement_test,
    "region_mean": _check_region_mean_test,
    "morphology": _check_morphology_test,
    "levels_spanned": _check_levels_test,
    "spine_segment": _check_spine_segment_test,
}


def _describe_test(test: dict, settings: FeatureSettings) -> str:
    if "all" in test:
        return " and ".join(_describe_test(part, settings) for part in test["all"])
    kind = next(key for key in QUANTITIES if key in test)
    if kind == "morphology" and settings.morphology[test["morphology"]].type in ("bool", "category"):
        label = settings.morphology[test["morphology"]].label
        return label if test["op"] == "is" else f"{label}: {' or '.join(v.replace('_', ' ') for v in test['values'])}"
    if kind == "spine_segment":
        return f"middle level of the {test['spine_segment']} in the {' or '.join(test['values'])} spine"
    roles = measurement_settings().enhancement
    subject = {
        "ratio": lambda: RatioKey.parse(test["ratio"]).text,
        "enhancement": lambda: f"enhancement ({roles.post}/{roles.pre} - 1) of the {test['enhancement']}",
        "region_mean": lambda: f"{test['sequence']} mean of the {test['region_mean']}",
        "morphology": lambda: settings.morphology[test["morphology"]].label,
        "levels_spanned": lambda: f"levels spanned by the {test['levels_spanned']}",
    }[kind]()
    unit = f" {settings.units[test['unit']].canonical}" if test.get("unit") else ""
    if test["op"] == "between":
        low, high = test["range"]
        return f"{subject} within {low:g}-{high:g}{unit}"
    return f"{subject} {_SYMBOLS[test['op']]} {test['threshold']:g}{unit}"


def _priors(
    data: dict, diagnoses: dict[str, Diagnosis], terms: ClinicalTerms
) -> tuple[dict[str, float], tuple[PriorModifier, ...], dict[str, str], dict[str, str]]:
    base = data.get("base")
    entry = _Entry("priors", "base")
    entry.require(
        isinstance(base, dict) and set(base) == set(diagnoses),
        f"needs a prior for exactly the diagnoses {', '.join(diagnoses)}",
    )
    entry.require(all(is_number(p) and p > 0 for p in base.values()), "priors must be positive numbers")
    entry.require(
        math.isclose(sum(base.values()), 1.0, abs_tol=1e-6), f"priors must sum to 1, not {sum(base.values()):g}"
    )
    groups = data.get("groups")
    _Entry("priors", "groups").require(isinstance(groups, dict) and bool(groups), "must map group -> meaning")
    base = {dx: float(base[dx]) for dx in diagnoses}
    modifiers = tuple(
        _prior_modifier(raw, index, base, terms, groups) for index, raw in enumerate(data.get("modifiers") or [])
    )
    proxies = data.get("proxy_groups") or {}
    for group, reason in proxies.items():
        entry = _Entry("priors", f"proxy group '{group}'")
        entry.require(group in groups and _text(reason), "must name a group of 'groups' with its reason")
    neutral = data.get("neutral_terms") or {}
    for term, reason in neutral.items():
        entry = _Entry("priors", f"neutral term '{term}'")
        entry.require(
            term in terms.conditions or term in terms.findings, "is not a condition or finding of clinical_terms"
        )
        entry.require(_text(reason), "needs its reason")
    return base, modifiers, dict(neutral), dict(proxies)


def _prior_modifier(raw: Any, index: int, base: dict[str, float], terms: ClinicalTerms, groups: dict) -> PriorModifier:
    when = raw.get("when") if isinstance(raw, dict) else None
    single = isinstance(when, dict) and len(when) == 1 and next(iter(when)) in PRIOR_CONDITIONS
    _Entry("priors", f"modifier {index}").require(single, f"'when' needs exactly one of {', '.join(PRIOR_CONDITIONS)}")
    condition, operand = next(iter(when.items()))
    entry = _Entry("priors", f"modifier {condition} {operand}")
    known = {"condition": terms.conditions, "finding": terms.findings, "primary": terms.primaries}.get(condition)
    if known is not None:
        entry.require(operand in known, f"unknown {condition} '{operand}'; known: {', '.join(known)}")
    else:
        entry.require(is_number(operand), "an age bound must be a number")
    entry.require(raw.get("group") in groups, f"unknown group {raw.get('group')!r}; known: {', '.join(groups)}")
    factors, targets = raw.get("factors") or {}, raw.get("raises_to") or {}
    entry.require(
        isinstance(factors, dict) and isinstance(targets, dict) and bool(factors or targets),
        "needs 'factors' (diagnosis -> multiplier) or 'raises_to' (diagnosis -> prior weight)",
    )
    entry.require(not set(factors) & set(targets), "a diagnosis is in both 'factors' and 'raises_to'")
    for dx, factor in factors.items():
        entry.require(dx in base, f"unknown diagnosis '{dx}'; known: {', '.join(base)}")
        entry.require(is_number(factor) and factor > 0, f"factor for '{dx}' must be a positive number")
    for dx, target in targets.items():
        entry.require(dx in base, f"unknown diagnosis '{dx}'; known: {', '.join(base)}")
        entry.require(is_number(target) and target > base[dx], f"'raises_to' for '{dx}' must exceed its base prior")
    entry.require(_text(raw.get("reason")), "needs a 'reason'")
    # A stated prior weight is the factor that lifts the base weight to it, so both kinds combine alike.
    combined = {**factors, **{dx: target / base[dx] for dx, target in targets.items()}}
    refs = entry.refs(raw.get("refs"))
    return PriorModifier(condition, operand, raw["group"], combined, raw["reason"], refs, frozenset(targets))


def _separators(
    data: dict, diagnoses: dict[str, Diagnosis], grades: dict[str, float]
) -> tuple[tuple[SeparatingTest, ...], Fallback]:
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
    return tuple(tests), Fallback(fallback["name"], fallback["why"], entry.refs(fallback.get("refs")))


def _check_references_exist(kb: Knowledge) -> None:
    for ref, places in kb.citations().items():
        if ref not in kb.references:
            raise InputError(_subject("references"), f"reference '{ref}' cited by {places[0]} is not defined")


def _typed_test(test: dict) -> FeatureTest:
    """A checked test as its type, a ratio's text parsed once into the key the report's ratios carry."""
    if "all" in test:
        return AllOf(tuple(_typed_test(part) for part in test["all"]))
    kind = next(key for key in QUANTITIES if key in test)
    subject = RatioKey.parse(test["ratio"]) if kind == "ratio" else test[kind]
    operand = test[OPERAND_KEYS[test["op"]]]
    operand = tuple(operand) if isinstance(operand, list) else operand
    return QuantityTest(kind, subject, test["op"], operand, test.get("sequence"), test.get("unit"))
