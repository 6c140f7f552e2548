"""The report's typed parts, shared by every stage: what a report can hold, read in one file.

Foundation layer: nothing here imports a stage (inputs, measurement, spine, ...); the stages build
these values and the outputs turn them into JSON (outputs/report.py `to_json` / `from_json`).

A signal-intensity ratio is named by a `RatioKey`, in one of two forms:

    regions on one sequence   "T2 mass/cord"   sequence T2, mass over cord
    one region on two sequences "T1C/T1 mass"  region mass, T1C over T1 (a sequence pair)

Its text is the ratio's key in the JSON report and the name knowledge files give it; it is parsed
once, where such text is read (a stored report, a knowledge file), never by the code that uses it.

`Report` and its sections below are the report as it is written (`emhassist.report/2`): every
field a report can hold, with its type. The published JSON Schema (data/schema/, made by
tools/update_report_schema.py) is generated from them and every built-in case's report is
checked against it. A field marked `optional` may be absent; a type with `None` may be null.

Three findings of the levels section are typed values (`Worded`): why compression was not assessed,
why there is no normalised MSCC, and what a Bilsky grade was decided on. The JSON holds each twice:
in words, which outputs/wording.py writes from data/wording.json for people (and for readers of
`emhassist.report/1`, which held only the words), and as its codes and numbers beside them
(`coded_name`), which is what a stored report is read from. A `/1` report is still read, its
findings read back from their words (outputs/report.py `from_json`).
"""

import re
from dataclasses import Field, dataclass, field
from enum import Enum
from typing import Literal

SCHEMA = "emhassist.report/2"
FIRST_SCHEMA = "emhassist.report/1"  # the words alone stood for the worded findings; still read

_REGION_RATIO = re.compile(r"^(\w+) (\w+)/(\w+)$")
_SEQUENCE_RATIO = re.compile(r"^(\w+)/(\w+) (\w+)$")


@dataclass(frozen=True)
class Ratio:
    """A ratio of two means (or an enhancement) with its 95 % confidence interval."""

    value: float
    ci95: tuple[float, float]

    def to_dict(self) -> dict:
        return {"value": self.value, "ci95": list(self.ci95)}


@dataclass(frozen=True)
class RatioKey:
    """Which means a ratio divides: `numerator` over `denominator`, both regions measured on
    `sequence`, or (`region` given instead) both sequences measured on `region`."""

    numerator: str
    denominator: str
    sequence: str | None = None
    region: str | None = None

    def __post_init__(self) -> None:
        if (self.sequence is None) == (self.region is None):
            raise ValueError("a ratio key names either its sequence or its region")

    @classmethod
    def of_regions(cls, sequence: str, numerator: str, denominator: str) -> "RatioKey":
        return cls(numerator, denominator, sequence=sequence)

    @classmethod
    def of_sequences(cls, region: str, post: str, pre: str) -> "RatioKey":
        return cls(post, pre, region=region)

    @classmethod
    def parse(cls, text: str) -> "RatioKey":
        """The key of a ratio's text; ValueError when the text is neither form."""
        match = _REGION_RATIO.match(text)
        if match:
            return cls.of_regions(*match.groups())
        match = _SEQUENCE_RATIO.match(text)
        if match:
            post, pre, region = match.groups()
            return cls.of_sequences(region, post, pre)
        raise ValueError(f"ratio {text!r} is neither '<SEQ> <region>/<region>' nor '<SEQ>/<SEQ> <region>'")

    @property
    def across_sequences(self) -> bool:
        return self.region is not None

    @property
    def sequence_label(self) -> str:
        """The sequence part of the text: "T2", or "T1C/T1" for a sequence pair."""
        return f"{self.numerator}/{self.denominator}" if self.across_sequences else self.sequence

    @property
    def region_label(self) -> str:
        """The region part of the text: "mass/cord", or "mass" for a sequence pair."""
        return self.region if self.across_sequences else f"{self.numerator}/{self.denominator}"

    @property
    def text(self) -> str:
        return f"{self.sequence_label} {self.region_label}"

    @property
    def owner(self) -> str:
        """The region the ratio describes: the numerator region, or the pair's one region."""
        return self.region if self.across_sequences else self.numerator

    @property
    def roles(self) -> tuple[str, ...]:
        """The sequences the ratio was measured on."""
        return (self.numerator, self.denominator) if self.across_sequences else (self.sequence,)

    def inputs(self) -> tuple[tuple[str, str], ...]:
        """The (region, sequence) measurements the ratio needs."""
        if self.across_sequences:
            return ((self.region, self.numerator), (self.region, self.denominator))
        return ((self.numerator, self.sequence), (self.denominator, self.sequence))

    def __str__(self) -> str:
        return self.text


def optional(written_as_null: bool = False, **metadata) -> dict:
    """A field a report may leave out (not only null). None is written by leaving it out, or, with
    `written_as_null`, as null (a section reports written before it existed leave out)."""
    return field(default=None, metadata={"optional": True, "written_as_null": written_as_null, **metadata})


def named(json_name: str) -> dict:
    """A field whose JSON name is a Python keyword ("from")."""
    return field(metadata={"json": json_name})


def json_name(model_field: Field) -> str:
    return model_field.metadata.get("json", model_field.name)


def may_be_absent(model_field: Field) -> bool:
    return bool(model_field.metadata.get("optional"))


def left_out(model_field: Field, value: object) -> bool:
    """Whether a report writes nothing for this field holding `value`."""
    return value is None and may_be_absent(model_field) and not model_field.metadata.get("written_as_null")


@dataclass(frozen=True)
class SequenceInfo:
    file: str  # the file or DICOM series folder it was read from
    size: tuple[int, int, int]  # voxels along i, j, k
    spacing: tuple[float, float, float]  # mm, rounded to 4 decimals


@dataclass(frozen=True)
class RegionStatistics:
    """A region's signal on one sequence's own voxels."""

    mean: float
    median: float
    sd: float
    p5: float
    p95: float
    n: int  # voxels measured
    volume_mm3: float


@dataclass(frozen=True)
class LevelVertebra:
    name: str  # "T7", "S1"
    code: int  # the Spinal Cord Toolbox level code
    centre: tuple[float, float, float]  # body centre, RAS mm
    source: str  # how it was found: a user's point, or placed from an anchor


@dataclass(frozen=True)
class Span:
    from_: str = named("from")
    to: str


@dataclass(frozen=True)
class Extent:
    """Involved levels, superior first; `spans` are the runs of contiguous levels."""

    from_: str = named("from")
    to: str
    spans: tuple[Span, ...]


class Worded:
    """A typed finding the JSON report states in words: outputs/wording.py words it from
    data/wording.json when a report is written (report_codec's `words`), so the stage that finds it
    never writes the sentence. The JSON holds the finding itself beside its words (`coded_name`)."""


def coded_name(words_name: str) -> str:
    """The JSON name of a worded finding's codes and numbers, beside its words: "explanation_code"."""
    return f"{words_name}_code"


class NotAssessedCause(Enum):
    """Why compression was not assessed at some levels; each a key of data/wording.json's `not_assessed_causes`."""

    NOT_FOLLOWED = "not_followed"  # the cord could not be followed there
    TOLD_FROM_MASS = "told_from_mass"  # the cord was traced into the mass there
    NARROWED_UNJUDGED = "narrowed_unjudged"  # narrowed where the mass touches it, too little or too short to call
    NO_LEVELS = "no_levels"  # no vertebral levels to name
    NO_CORD_FOUND = "no_cord_found"  # no cord region, and none found behind the level points
    CORD_NOT_TRACED = "cord_not_traced"  # the tracker stopped on bad input: `error`


@dataclass(frozen=True)
class NotAssessedReason(Worded):
    """Why compression was not assessed: its causes, in the order the report states them."""

    causes: tuple[NotAssessedCause, ...]
    error: str | None = optional()  # CORD_NOT_TRACED: the tracker's InputError, its line as the error states it


@dataclass(frozen=True)
class NotAssessed:
    """Where the cord beside the mass was not followed, so compression was not assessed there."""

    levels: Extent | None
    reason: NotAssessedReason  # JSON: its words, and the reason itself as `reason_code`


class NormalisedMsccGapCode(Enum):
    """Why there is no normalised MSCC; each a key of data/wording.json's `normalised_mscc_unavailable`."""

    NO_WINDOWS = "no_windows"  # no cord measured above or below the compression
    NO_REFERENCE = "no_reference"  # a slice it needs lies at a level the healthy table does not hold


@dataclass(frozen=True)
class NormalisedMsccGap(Worded):
    """Why there is no normalised MSCC; its words also name the levels the healthy table covers
    (spine/normative.py), which are the table's, not the case's."""

    code: NormalisedMsccGapCode
    missing: tuple[int, ...] = ()  # NO_REFERENCE: the level codes without a healthy reference (0: outside every named level)


@dataclass(frozen=True)
class CordCompression:
    from_: str | None = named("from")
    to: str | None
    max_mscc_percent: float | None  # maximum spinal cord compression at `at`
    at: str | None  # the level of the narrowest slice
    area_ratio_percent: float | None
    rl_ratio_percent: float | None
    normalised_mscc_percent: float | None  # against healthy adult cords of the same levels (spine/normative.py)
    normalised_mscc_interval_percent: tuple[float, float] | None  # (low, high): the healthy means' 95 % confidence interval
    normalised_mscc_unavailable: NormalisedMsccGap | None  # why there is no normalised MSCC (JSON: its words, "no healthy reference at L2 ...", and its code); null when there is one
    shown_by: tuple[str, ...]  # the measures that show it, strongest first


@dataclass(frozen=True)
class CordProfileEntry:
    """One level's cord size; the measures are null at a level the cord was not followed through
    (`slices` 0, not `assessed`), and `rl_mm` where no slice gave a right-left width."""

    level: str
    code: int
    slices: int
    area_mm2: float | None
    ap_mm: float | None
    rl_mm: float | None
    min_ap_mm: float | None
    mscc_percent: float | None
    normalised_ratio: float | None
    assessed: bool


@dataclass(frozen=True)
class CordTrace:
    sequence: str  # the sequence the cord was traced on
    segmentation: str  # "given" or "grown from the cord region"
    slices: int


BilskyGrade = Literal["0", "1a", "1b", "1c", "2", "3"]


class BilskyCase(Enum):
    """Which reading of a grade a level's explanation states; each a key of data/wording.json's `bilsky_explanations`."""

    GRADE_0 = "0"
    GRADE_1A = "1a"
    GRADE_1B = "1b"
    GRADE_1C = "1c"
    GRADE_2 = "2"
    GRADE_3 = "3"
    BEYOND_MASS_LEVELS = "0 beyond the mass levels"  # the mass's tip reaches the canal at a level the report's mass levels leave out
    SAC_NARROWED = "1b narrowed"  # 1b on the sac's narrowed diameter, no one ray indented a millimetre
    CSF_UNRESOLVED = "2 unresolved"  # 2 where the slices do not resolve the CSF on enough rays to read 3

    @property
    def grade(self) -> str:
        """The grade this reading is of: "1b" for SAC_NARROWED."""
        return self.value.split(" ")[0]


@dataclass(frozen=True)
class BilskyReading(Worded):
    """Which reading of its grade a level's explanation states; the quantities it names are the
    level's own (`BilskyEntry`), worded with it."""

    case: BilskyCase


@dataclass(frozen=True)
class BilskyEntry:
    """One level's Bilsky (ESCC) grade and the quantities it was decided on (spine/bilsky.py)."""

    level: str
    code: int
    grade: BilskyGrade
    mass_in_canal: bool
    thecal_sac_deformed: bool
    cord_contact: bool  # the mass against the cord with no CSF between
    cord_compressed: bool  # the compressed segment involves the level
    sac_indent_mm: float | None
    mass_gap_mm: float | None
    cord_narrowing_percent: float | None
    csf_fraction: float  # share of the cord's circumference with CSF just outside it
    mcc_percent: float | None  # maximum canal compromise, on the thecal sac's AP diameter
    sac_narrowed_percent: float | None  # the sac's AP diameter narrowed where the mass lies against it (deformed at data/bilsky.json's `sac_narrowed_percent`)
    sac_area_ratio_percent: float | None
    explanation: BilskyReading  # JSON: its words, and the reading itself as `explanation_code`


@dataclass(frozen=True)
class BilskyWorst:
    level: str
    grade: BilskyGrade


@dataclass(frozen=True)
class BilskyGrading:
    """Every level's grade, superior first, read on `sequence`, and the most severe level."""

    sequence: str
    levels: tuple[BilskyEntry, ...]
    most_severe: BilskyWorst | None


@dataclass(frozen=True)
class Levels:
    vertebrae: tuple[LevelVertebra, ...]
    coordinate_system: Literal["RAS"]
    not_assessed: NotAssessed | None
    mass: Extent | None
    compression: CordCompression | None
    cord_profile: tuple[CordProfileEntry, ...]
    cord: CordTrace | None  # null where no cord could be followed: levels from the level points and the image alone
    # null without vertebral levels or a T2-like sequence; absent in reports written before the Bilsky stage
    bilsky: BilskyGrading | None = optional(written_as_null=True)


@dataclass(frozen=True)
class Clinical:
    """The clinical context, its terms checked against data/differential/clinical_terms.json."""

    age: int | None = optional()
    sex: str | None = optional()
    conditions: tuple[str, ...] | None = optional()
    findings: tuple[str, ...] | None = optional()
    primary: str | None = optional()
    patient: str | None = optional()  # an identifier: `emhassist compare` matches two exams by it
    exam_date: str | None = optional()  # YYYY-MM-DD

    @property
    def terms(self) -> tuple[str, ...]:
        """The conditions and findings given, conditions first."""
        return (self.conditions or ()) + (self.findings or ())


# A feature's measured value: a number, a flag or a category, or one per quantity of a combined test.
FeatureValue = float | bool | str | dict[str, float | bool | str]


@dataclass(frozen=True)
class PriorFactor:
    term: str
    label: str
    factor: float
    reason: str


@dataclass(frozen=True)
class Evidence:
    """One observed feature's weight for one diagnosis (see differential/__init__.py)."""

    feature: str
    state: Literal["present", "absent"]
    value: FeatureValue
    supports: bool  # weight > 0
    weight: float  # natural-log likelihood ratio counted, after caps and group share
    lr: float
    kind: Literal["sourced", "expert"]
    basis: str
    finding: str
    text: str
    rule: str
    refs: tuple[str, ...]


@dataclass(frozen=True)
class RankedDiagnosis:
    id: str
    name: str
    summary: str
    probability: float
    prior: float
    prior_factors: tuple[PriorFactor, ...]
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class KnowledgeInfo:
    versions: dict[str, int]
    max_likelihood_ratio: float
    probability_floor: float
    grades: dict[str, float]
    groups: dict[str, str]


@dataclass(frozen=True)
class NeutralTerm:
    term: str
    label: str
    reason: str


@dataclass(frozen=True)
class NotMeasured:
    feature: str
    name: str
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Observed:
    feature: str
    name: str
    state: Literal["present", "absent", "undecided"]
    value: FeatureValue
    finding: str
    rule: str
    threshold: str


@dataclass(frozen=True)
class Undecided(Observed):
    text: str


@dataclass(frozen=True)
class SetAsideFeature:
    feature: str
    name: str
    rule: str
    reason: str
    refs: tuple[str, ...]


@dataclass(frozen=True)
class PriorsDecide:
    between: tuple[str, str]
    text: str  # `why`, then what would separate the two (the next best step's text)
    # Why the prior and not the images puts the leader first, in one line; absent in reports written
    # before it was kept apart from `text`.
    why: str | None = optional()


@dataclass(frozen=True)
class ImagingStep:
    input: str
    action: str
    features: tuple[str, ...]
    odds_factor: float
    text: str  # names a reader's finding in words, never by its key
    # The report's morphology key to assess when the missing input is a reader's finding, else null;
    # absent in reports written before issue 14's fourth pass.
    morphology: str | None = optional(written_as_null=True)


@dataclass(frozen=True)
class TestStep:
    id: str
    name: str
    odds_factor: float
    text: str
    refs: tuple[str, ...]


@dataclass(frozen=True)
class FallbackStep:
    name: str
    why: str
    refs: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class NextBest:
    between: tuple[str, str]
    imaging: ImagingStep | None
    test: TestStep | None
    fallback: FallbackStep | None  # only when neither an imaging input nor a test separates them
    text: str


# Morphology: the mass's measured or read findings, keys declared in data/differential/features.json.
MorphologyValue = bool | float | str | Ratio


@dataclass(frozen=True)
class CaseFindings:
    """What the differential reads of a case: the measured sections of its report (each its own
    type), the levels the mass spans and the clinical context. A section may be empty: a feature
    whose inputs were not measured is left out, never counted as negative evidence."""

    regions: dict[str, dict[str, RegionStatistics]]
    ratios: dict[RatioKey, Ratio]
    enhancement: dict[str, Ratio]
    mass: Span | None  # levels.mass: the involved levels, superior first
    morphology: dict[str, MorphologyValue]
    clinical: Clinical


@dataclass(frozen=True)
class Differential:
    """The differential's sections of a report: the ranking and its explanation."""

    differential: tuple[RankedDiagnosis, ...]  # most probable first
    knowledge: KnowledgeInfo
    neutral_clinical_terms: tuple[NeutralTerm, ...]
    not_measured: tuple[NotMeasured, ...]
    observed: tuple[Observed, ...]
    undecided: tuple[Undecided, ...]
    set_aside: tuple[SetAsideFeature, ...]
    priors_decide: PriorsDecide | None
    next_best: NextBest


@dataclass(frozen=True)
class Report:
    """One analysed case (`emhassist.report/2`)."""

    schema: Literal["emhassist.report/2"]
    case: str
    caveat: str
    sequences: dict[str, SequenceInfo]  # by sequence role
    regions: dict[str, dict[str, RegionStatistics]]  # region -> sequence role -> statistics
    ratios: dict[RatioKey, Ratio]
    enhancement: dict[str, Ratio]  # by region: post/pre - 1
    levels: Levels | None  # None when the cord could not be assessed (see warnings)
    morphology: dict[str, MorphologyValue] | None
    clinical: Clinical
    warnings: tuple[str, ...]
    differential: tuple[RankedDiagnosis, ...]  # most probable first
    knowledge: KnowledgeInfo
    neutral_clinical_terms: tuple[NeutralTerm, ...]
    not_measured: tuple[NotMeasured, ...]
    observed: tuple[Observed, ...]
    undecided: tuple[Undecided, ...]
    set_aside: tuple[SetAsideFeature, ...]
    priors_decide: PriorsDecide | None
    next_best: NextBest
