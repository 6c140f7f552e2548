"""The tuning settings of the spine and measurement stages as typed, frozen data, validated on load.

`data/levels.json` (levels, cord, compression, mass, morphology) and `data/measurement.json` are read
once into the dataclasses below; a missing key, a value of the wrong type or out of its range, or a
key no setting reads (a misspelling) is refused with an `InputError` naming the file and the key, as
the differential's knowledge is (`differential/rules.py`). Each setting's reason stays beside it in
the JSON (`<key>_reason`), so the code reads numbers and the data says why.
"""

import functools
import math
import threading
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass
from typing import Any, NoReturn, TypeVar

from .errors import InputError
from .knowledge import load
from .report_model import RatioKey

T = TypeVar("T")
# A setting's reason, and any other prose, is read by people, not by code: `<key>_reason`, `_<key>`
# (limits.json's style), and a section's own `about`, `reason`, `placement` or `source`.
_NOTE_SUFFIX = "_reason"
_NOTE_KEYS = ("about", "source", "reason", "placement")


# Every number a setting holds has a range from what it means, so a value no setting can mean (a digit too
# many: `ci_z` 1e308) is refused by name on load instead of run. The upper bounds:
BODY_MM = 2500.0  # a length, reach, margin or step on one patient's images: longer than any human body
SDS_MAX = 10.0  # a number of standard deviations (a z): a normal tail beyond 10 is 1.5e-23, no voxel's
MULTIPLE_MAX = 10.0  # a multiple of a measured size (a spread, period, radius, area, slope): tenfold is past any
COUNT_MAX = 1000  # rays, tries, passes, slices, voxels, sessions: repeats of one step, not a volume's size
VERTEBRAE_MAX = 33  # the human spine's vertebrae: 7 cervical, 12 thoracic, 5 lumbar, 5 sacral, 4 coccygeal
DEGREES_MAX = 360  # rays around one section: one a degree is finer than a voxel at the cord's radius
SCREEN_PX_MAX = 10_000  # pixels, or characters, across a screen: an 8K screen is 7680 pixels wide
TIMEOUT_S_MAX = threading.TIMEOUT_MAX  # Python's waits end in an OverflowError above it


def within(low: float | None = None, high: float | None = None) -> Any:
    """A field whose numbers (or each number of its tuple or mapping) lie within [low, high]."""
    return field(metadata={"range": (low, high)})


def positive(high: float) -> Any:
    """Lengths, counts and spreads: above zero (a zero window or step would find nothing or loop), at most `high`."""
    return field(metadata={"range": (0.0, high), "exclusive": True})


def fraction() -> Any:
    """Shares, opacities and colour components: from 0 to 1."""
    return within(0.0, 1.0)


def length() -> Any:
    """A length in millimetres that must not be zero (a step, a window, a reach)."""
    return positive(BODY_MM)


def distance() -> Any:
    """A length in millimetres that may be zero (a margin, a gap, a tolerance)."""
    return within(0.0, BODY_MM)


def sds() -> Any:
    return positive(SDS_MAX)


def multiple() -> Any:
    return positive(MULTIPLE_MAX)


def count() -> Any:
    return positive(COUNT_MAX)


def format_version() -> Any:
    """A data file's format version: 1, the only one its reader reads; another is refused, not misread."""
    return within(1, 1)


def keyed(keys: Callable[[], Iterable[str]], values: Any = None) -> Any:
    """A mapping whose keys are exactly `keys()` (the regions, the quiz's measures), each value checked as
    `values` (a `within`, `positive` or `fraction` field) says: a key left out was a KeyError where the
    setting is read, a misspelt one ignored."""
    return field(metadata={**(values.metadata if values is not None else {}), "keys": keys})


# ---------------------------------------------------------------------------------------------
# data/levels.json


@dataclass(frozen=True)
class CodingRegion:
    prefix: str
    count: int = positive(VERTEBRAE_MAX)
    offset: int = within(0, VERTEBRAE_MAX)


@dataclass(frozen=True)
class Coding:
    source: str
    regions: tuple[CodingRegion, ...]


@dataclass(frozen=True)
class RecentreSettings:
    passes: int = within(0, COUNT_MAX)
    search_mm: float = length()
    band_mm: float = distance()
    marrow_sample_mm: float = length()
    window_fraction: float = fraction()
    window_sd: float = sds()
    min_run_mm: float = distance()
    max_gap_mm: float = distance()
    local_agreement: float = fraction()
    local_sd_ratio: float = multiple()
    longest_run_repeats: float = multiple()
    max_along_repeats: float = multiple()
    thick_slice_mm: float = length()
    thick_band_mm: float = distance()
    side_contrast: float = fraction()


@dataclass(frozen=True)
class DetectionSettings:
    profile_step_mm: float = length()
    profile_half_width_mm: tuple[float, float] = distance()
    profile_smoothing_mm: float = length()
    profile_samples: tuple[int, int] = count()  # right-left, front-back
    direction_baseline_mm: float = length()
    period_least_repeats: tuple[float, float] = multiple()  # near window, wide window
    disc_window_min_cover: float = fraction()
    next_disc_repeats: float = multiple()
    edge_body_min_spacing: float = fraction()
    period_range_mm: dict[str, tuple[float, float]] = length()  # by region letter (C, T, L, S)
    period_window_mm: float = length()
    contrast_smoothing_mm: float = length()
    disc_window_fraction: tuple[float, float] = fraction()
    disc_spacing_sd: float = multiple()
    period_change_limit: tuple[float, float] = multiple()
    period_peak_fraction: float = fraction()
    straight_line_reach_mm: float = length()
    extension_mm: float = distance()
    extension_step_mm: float = length()
    anchor_beyond_guide_mm: float = distance()
    min_guide_mm: float = distance()
    max_extrapolation_mm: float = distance()
    cord_end_stretch_mm: float = length()
    body_depth_search_mm: float = length()
    fused_from: str
    body_sample_fraction: float = multiple()
    body_spread_fraction: float = multiple()
    disc_between_margin: float = within(0.0, 0.5)
    recentre: RecentreSettings
    edge_body_cover: float = multiple()
    named_body_cover: float = multiple()
    min_disc_contrast: float = within(0.0, MULTIPLE_MAX)
    levels_named_from_anchor: int = positive(VERTEBRAE_MAX)


@dataclass(frozen=True)
class FoundSeedSettings:
    """Finding the cord behind the labelled bodies when no cord region was drawn (`seed_behind_bodies`)."""

    reach_mm: float = length()
    ray_step_mm: float = length()
    band_mm: float = distance()
    min_depth_mm: float = distance()
    flank_mm: float = length()
    width_mm: tuple[float, float] = length()
    csf_flank_fraction: float = fraction()
    beyond_mm: float = distance()
    height_step_mm: float = length()
    tube_mm: float = distance()
    tube_step_mm: float = length()
    tries: int = count()
    half_size_mm: tuple[float, float, float] = length()


@dataclass(frozen=True)
class CordSettings:
    sequence_preference: tuple[str, ...]
    upsample_mm: float = length()
    ap_band_mm: float = length()
    ap_band_max_fraction_of_rl: float = multiple()
    centreline_smoothing_mm: float = length()
    search_radius_mm: float = length()
    min_area_fraction: float = fraction()
    stop_after_mm: float = length()
    max_shift_per_mm: float = multiple()
    bridge_mm: float = distance()
    bridge_area_fraction: float = fraction()
    bridge_mass_reach_mm: float = distance()
    bridge_check_margin_mm: float = distance()
    gap_shift_per_mm: float = multiple()
    bridge_confirm_mm: float = distance()
    gap_area_fraction: float = fraction()
    edge_max_area_fraction: float = multiple()
    reference_area_mm: float = positive(BODY_MM * BODY_MM)
    rays: int = positive(DEGREES_MAX)
    ray_step_mm: float = length()
    ray_median: int = positive(DEGREES_MAX)
    max_open_rays: float = fraction()
    ray_cap_radii: float = multiple()
    ray_cap_margin_mm: float = distance()
    relocate_radius_mm: float = distance()
    relocate_tries: int = within(0, COUNT_MAX)
    edge_min_contrast: float = within(0.0, MULTIPLE_MAX)
    seed_csf_separation: float = within(0.0, MULTIPLE_MAX)
    csf_percentile: float = within(0.0, 100.0)
    csf_ray_slices: int = count()
    csf_ray_quantile: float = fraction()
    core_coverage: float = fraction()
    bias_rate_per_mm: float = fraction()
    csf_side_fraction: float = fraction()
    window_sd: float = sds()
    far_reach_max: float = multiple()
    far_side_fraction: float = fraction()
    far_side_reach_mm: float = length()
    near_reach_min: float = fraction()
    flat_seed_spread: float = fraction()
    seed_split_min_voxels: int = count()
    seed_block_margin_voxels: int = count()
    found_seed: FoundSeedSettings


@dataclass(frozen=True)
class Measure:
    """One cord diameter judged for compression: its profile key, its name in the report, its field."""

    key: str
    name: str
    field: str
    needs_mass: bool = False


@dataclass(frozen=True)
class CompressionSettings:
    reference_distance_mm: float = distance()
    reference_extent_mm: float = length()
    narrowing_threshold: float = fraction()
    measures: tuple[Measure, ...]
    growth_threshold: float = fraction()
    min_run_mm: float = distance()
    merge_gap_mm: float = distance()
    mass_contact_mm: float = distance()
    growth_contact_mm: float = distance()
    level_fraction: float = fraction()
    conus_highest_level: str
    conus_exclusion_mm: float = distance()
    judged_median_mm: float = distance()
    merged_area_ratio: float = within(1.0, MULTIPLE_MAX)
    fitted_beyond_edge_mm: float = distance()
    fitted_rise_sds: float = sds()
    fitted_positions: tuple[str, ...]
    fitted_mass_direction_share: float = fraction()
    fitted_min_narrowing: float = fraction()


@dataclass(frozen=True)
class MassSettings:
    window_sd: float = sds()
    window_fraction: float = fraction()
    seed_pure_share: float = fraction()
    search_margin_mm: tuple[float, float, float] = length()
    max_distance_from_cord_mm: float = length()
    neck_fraction: float = fraction()
    taper_mm: float = length()
    layer_far_mm: float = length()
    layer_min_voxels: int = count()
    layer_in_canal_share: float = fraction()
    layer_step_mm: float = length()
    layer_tolerance_mm: float = length()
    layer_thickness_reach_mm: float = length()
    layer_max_thickness_mm: float = length()
    layer_positions: tuple[str, ...]
    rim_mm: float = length()
    rim_min_voxels: int = count()
    marrow_sample_mm: float = length()
    roi_side_max_mm: float = length()
    wall_reach_voxels: int = count()
    first_search_margin_voxels: int = count()


@dataclass(frozen=True)
class MorphologySettings:
    canal_radius_mm: float = length()
    epidural_fraction: float = fraction()
    one_side_fraction: float = within(0.5, 1.0)


@dataclass(frozen=True)
class SpineSettings:
    """data/levels.json: the spine stage's settings."""

    version: int = format_version()
    coding: Coding
    detection: DetectionSettings
    typical_height_mm: dict[str, float] = length()
    cord: CordSettings
    compression: CompressionSettings
    mass: MassSettings
    morphology: MorphologySettings


# ---------------------------------------------------------------------------------------------
# data/measurement.json


@dataclass(frozen=True)
class Enhancement:
    """The sequences whose means give enhancement: post-contrast over pre-contrast, minus one."""

    post: str
    pre: str


@dataclass(frozen=True)
class MeasurementSettings:
    """data/measurement.json: which ratios are measured and how their intervals are drawn."""

    version: int = format_version()
    ratio_pairs: tuple[tuple[str, str], ...]
    enhancement: Enhancement
    sequence_pairs: tuple[tuple[str, str], ...]
    expected_sequences: tuple[str, ...]
    min_voxels_for_stable_ratio: int = within(2, COUNT_MAX)
    ci_z: float = sds()
    percentiles: tuple[float, float, float] = within(0.0, 100.0)


# ---------------------------------------------------------------------------------------------
# data/bilsky.json


@dataclass(frozen=True)
class ThecalSacSettings:
    """The rays cast across each section of the cord to find the thecal sac's CSF (spine/thecal_sac.py)."""

    ray_step_deg: float = within(0.0, 90.0)
    reach_mm: float = length()
    sample_mm: float = length()
    csf_fraction_of_contrast: float = fraction()
    csf_search_mm: float = length()
    csf_percentile: float = within(0.0, 100.0)
    beside_cord_mm: float = distance()
    resolved_voxel_mm: float = length()
    sac_start_within_mm: float = distance()


@dataclass(frozen=True)
class GradingSettings:
    """What each Bilsky grade is decided on (spine/bilsky.py)."""

    epidural_margin_mm: float = distance()
    sac_indent_mm: float = distance()
    sac_narrowed_percent: float = within(0.0, 100.0)
    mass_against_sac_mm: float = distance()
    reference_min_sections: int = count()
    contact_mm: float = distance()
    csf_visible_fraction: float = fraction()
    csf_absent_needs_resolved_share: float = fraction()
    smoothing_mm: float = length()
    smoothing_sections: int = count()
    smoothing_spacing_slack: float = multiple()


@dataclass(frozen=True)
class GradeMeaning:
    grade: str
    meaning: str


@dataclass(frozen=True)
class BilskySettings:
    """data/bilsky.json: the graded sequences, the grades and their meaning, the sac and the grading
    (a level's explanation is worded by outputs/wording.py, data/wording.json's `bilsky_explanations`)."""

    sequences: tuple[str, ...]
    grades: tuple[GradeMeaning, ...]
    thecal_sac: ThecalSacSettings
    grading: GradingSettings


# ---------------------------------------------------------------------------------------------
# data/followup.json


@dataclass(frozen=True)
class TeachingPair:
    """A built-in case's earlier exam, the patient both exams name and their two dates (earlier, later)."""

    earlier: str
    patient: str
    dates: tuple[str, str]


@dataclass(frozen=True)
class VolumeBounds:
    """How the mass volume's partial-volume interval is drawn (spine/masses.py)."""

    boundary_share: float = fraction()


@dataclass(frozen=True)
class FollowupWording:
    """The phrases of the follow-up's summary line; `{...}` fields are filled by followup.py."""

    smaller: str
    larger: str
    unchanged: str
    no_mass: str
    span_changed: str
    no_longer_compressing: str
    still_compressing: str
    newly_compressing: str
    no_compression: str
    bilsky: str
    bilsky_unchanged: str
    ratio: str
    than: str
    since: str
    same_study: str


@dataclass(frozen=True)
class FollowupSettings:
    """data/followup.json: the teaching follow-ups, the volume interval and the summary line's words."""

    version: int = format_version()
    teaching_pairs: dict[str, TeachingPair]
    volume: VolumeBounds
    wording: FollowupWording
    summary_ratio: RatioKey  # written as the report writes it: "T2 mass/cord"


# ---------------------------------------------------------------------------------------------
# data/vocabulary.json: here, as the foundation, because every stage names sequences and regions.


@dataclass(frozen=True)
class Vocabulary:
    """data/vocabulary.json: the sequence roles and regions EMHAssist knows (name -> what it is), in the
    order the reports list them, and the file extensions a case folder's volumes may have."""

    version: int = format_version()
    sequences: dict[str, str]
    regions: dict[str, str]
    volume_extensions: tuple[str, ...]


@functools.cache
def vocabulary() -> Vocabulary:
    return parse(Vocabulary, load("vocabulary"), "vocabulary")


# ---------------------------------------------------------------------------------------------
# data/sequence_names.json: here, because inputs/roles.py reads it and inputs come after the foundation.


@dataclass(frozen=True)
class RoleRule:
    """A sequence role a name is read as when all of `markers` and none of `without` are among its words."""

    role: str
    markers: tuple[str, ...]
    without: tuple[str, ...] = ()


@dataclass(frozen=True)
class SequenceNames:
    """data/sequence_names.json: each marker's spellings, and the roles' rules, most specific first."""

    version: int = format_version()
    markers: dict[str, tuple[str, ...]]
    roles: tuple[RoleRule, ...]

    def __post_init__(self) -> None:
        for index, rule in enumerate(self.roles):
            if rule.role not in vocabulary().sequences:
                raise InputError(SEQUENCE_NAMES_FILE, f"roles[{index}].role: {rule.role!r} is not a sequence role of vocabulary.json")
            unknown = [marker for marker in (*rule.markers, *rule.without) if marker not in self.markers]
            if unknown:
                raise InputError(SEQUENCE_NAMES_FILE, f"roles[{index}]: marker {unknown[0]!r} is not one of markers ({', '.join(self.markers)})")


SEQUENCE_NAMES_FILE = "EMHAssistLib/data/sequence_names.json"


@functools.cache
def sequence_names() -> SequenceNames:
    return parse(SequenceNames, load("sequence_names"), "sequence_names")


# ---------------------------------------------------------------------------------------------
# data/normative_cord.json: the healthy cords spine/normative.py divides by.

COHORT_MAX = 1_000_000  # subjects: ten times the largest imaging cohort (UK Biobank's 100,000)


@dataclass(frozen=True)
class LengthSpread:
    mean: float = length()
    sd: float = distance()


@dataclass(frozen=True)
class AreaSpread:
    mean: float = positive(BODY_MM * BODY_MM)
    sd: float = within(0.0, BODY_MM * BODY_MM)


@dataclass(frozen=True)
class NormativeLevel:
    """One vertebral level's healthy cord: subjects measured there, and the mean and SD of each measure."""

    subjects: int = within(2, COHORT_MAX)  # an SD needs two
    area_mm2: AreaSpread
    ap_mm: LengthSpread
    rl_mm: LengthSpread


@dataclass(frozen=True)
class NormativeInterval:
    z: float = sds()


@dataclass(frozen=True)
class NormativeCord:
    """data/normative_cord.json: healthy adult cords by level code (spine/vertebrae.py's codes)."""

    version: int = format_version()
    method: str
    subjects: int = within(2, COHORT_MAX)
    interval: NormativeInterval
    levels: dict[str, NormativeLevel]

    def __post_init__(self) -> None:
        for code in self.levels:
            if not code.isdigit() or int(code) < 1:
                raise InputError(NORMATIVE_CORD_FILE, f"levels.{code}: must be a level code (a whole number from 1), as spine/vertebrae.py numbers them")

    def by_code(self) -> dict[int, NormativeLevel]:
        return {int(code): level for code, level in self.levels.items()}


NORMATIVE_CORD_FILE = "EMHAssistLib/data/normative_cord.json"


@functools.cache
def normative_cord() -> NormativeCord:
    return parse(NormativeCord, load("normative_cord"), "normative_cord")


# ---------------------------------------------------------------------------------------------
# data/batch.json: here rather than in outputs/batch.py, because the command line reads its defaults
# before it parses its arguments and must not import Slicer (which outputs/batch.py does) to do so.


@dataclass(frozen=True)
class BatchSettings:
    """data/batch.json: the time limits of `analyze FOLDER --csv`, `--dask-scheduler` and `serve`."""

    case_time_limit_s: float = positive(TIMEOUT_S_MAX)
    dask_connect_timeout_s: float = positive(TIMEOUT_S_MAX)
    serve_load_time_limit_s: float = positive(TIMEOUT_S_MAX)
    longest_time_limit_s: float = positive(TIMEOUT_S_MAX)

    def __post_init__(self) -> None:
        for key in ("case_time_limit_s", "dask_connect_timeout_s", "serve_load_time_limit_s"):
            if getattr(self, key) > self.longest_time_limit_s:
                raise InputError("EMHAssistLib/data/batch.json", f"{key}: must be at most longest_time_limit_s ({self.longest_time_limit_s:g} s), not {getattr(self, key)!r}")


@functools.cache
def batch_settings() -> BatchSettings:
    return parse(BatchSettings, load("batch"), "batch")


@functools.cache
def bilsky_settings() -> BilskySettings:
    return parse(BilskySettings, load("bilsky"), "bilsky")


@functools.cache
def followup_settings() -> FollowupSettings:
    return parse(FollowupSettings, load("followup"), "followup")


@functools.cache
def spine_settings() -> SpineSettings:
    return parse(SpineSettings, load("levels"), "levels")


@functools.cache
def measurement_settings() -> MeasurementSettings:
    return parse(MeasurementSettings, load("measurement"), "measurement")


# ---------------------------------------------------------------------------------------------
# Validation: each dataclass field's type (and range) is what its JSON value must hold.


def parse(kind: type[T], data: Any, name: str) -> T:
    """`data` (the parsed `data/<name>.json`) as a `kind`, or an `InputError` naming the file and key."""
    return _Reader(f"EMHAssistLib/data/{name}.json")._record(kind, data, "")


@dataclass(frozen=True)
class _Reader:
    subject: str

    def fail(self, key: str, problem: str) -> NoReturn:
        raise InputError(self.subject, f"{key or 'the file'}: {problem}")

    def _record(self, kind: type[T], data: Any, path: str) -> T:
        if not isinstance(data, dict):
            self.fail(path, f"must be an object with {', '.join(f.name for f in fields(kind))}")
        known = {f.name for f in fields(kind)}
        for key in data:
            if key not in known and not _is_note(key):
                self.fail(_join(path, key), f"is not a setting of {path or 'the file'} (known: {', '.join(sorted(known))})")
        hints = typing.get_type_hints(kind)
        values = {}
        for spec in fields(kind):
            key = _join(path, spec.name)
            if spec.name in data:
                values[spec.name] = self._value(hints[spec.name], data[spec.name], key, spec)
            elif spec.default is MISSING:
                self.fail(key, "missing")
        return kind(**values)

    def _value(self, kind: Any, raw: Any, key: str, spec: Field) -> Any:
        origin, args = typing.get_origin(kind), typing.get_args(kind)
        if kind is RatioKey:
            return self._ratio_key(raw, key)
        if origin is types.UnionType and type(None) in args:  # optional: absent takes the field's default
            (kind,) = (arg for arg in args if arg is not type(None))
            return self._value(kind, raw, key, spec)
        if is_dataclass(kind):
            return self._record(kind, raw, key)
        if origin is tuple:
            return self._tuple(args, raw, key, spec)
        if origin is dict:
            if not isinstance(raw, dict) or not raw:
                self.fail(key, "must be a non-empty object")
            if "keys" in spec.metadata:
                self._check_keys(raw, key, list(spec.metadata["keys"]()))
            return types.MappingProxyType({name: self._value(args[1], value, f"{key}.{name}", spec) for name, value in raw.items()})
        return self._scalar(kind, raw, key, spec)

    def _check_keys(self, raw: dict, key: str, expected: list[str]) -> None:
        missing = [name for name in expected if name not in raw]
        if missing:
            self.fail(key, f"must give {', '.join(expected)}; {', '.join(missing)} missing")
        unknown = [name for name in raw if name not in expected]
        if unknown:
            self.fail(f"{key}.{unknown[0]}", f"is not one of {', '.join(expected)}")

    def _ratio_key(self, raw: Any, key: str) -> RatioKey:
        """A ratio named as the report names it ("T2 mass/cord"), read once here, never parsed where it is used."""
        if not isinstance(raw, str):
            self.fail(key, f"must be a ratio's text, not {raw!r}")
        try:
            return RatioKey.parse(raw)
        except ValueError as error:
            self.fail(key, str(error))

    def _tuple(self, args: tuple, raw: Any, key: str, spec: Field) -> tuple:
        if not isinstance(raw, list) or not raw:
            self.fail(key, "must be a non-empty list")
        if args[-1] is Ellipsis:
            return tuple(self._value(args[0], item, f"{key}[{n}]", spec) for n, item in enumerate(raw))
        if len(raw) != len(args):
            self.fail(key, f"must be a list of {len(args)} values, not {len(raw)}")
        return tuple(self._value(arg, item, f"{key}[{n}]", spec) for n, (arg, item) in enumerate(zip(args, raw)))

    def _scalar(self, kind: type, raw: Any, key: str, spec: Field) -> Any:
        if kind is str:
            if not isinstance(raw, str) or not raw.strip():
                self.fail(key, f"must be a non-empty text, not {raw!r}")
            return raw
        if kind is bool:
            if not isinstance(raw, bool):
                self.fail(key, f"must be true or false, not {raw!r}")
            return raw
        number = isinstance(raw, (int, float)) and not isinstance(raw, bool)
        if kind is int and not (number and isinstance(raw, int)):
            self.fail(key, f"must be a whole number, not {raw!r}")
        if not number or not math.isfinite(raw):
            self.fail(key, f"must be a number, not {raw!r}")
        self._check_range(raw, key, spec)
        return raw  # as written: 25 stays an int where a report or message shows it

    def _check_range(self, value: float, key: str, spec: Field) -> None:
        low, high = spec.metadata.get("range", (None, None))
        exclusive = spec.metadata.get("exclusive", False)
        below = low is not None and (value <= low if exclusive else value < low)
        if below or (high is not None and value > high):
            self.fail(key, f"must be {_describe(low, high, exclusive)}, not {value!r}")


def _describe(low: float | None, high: float | None, exclusive: bool) -> str:
    if low is not None and high is not None:
        return f"above {low:g} and at most {high:g}" if exclusive else f"from {low:g} to {high:g}"
    return f"above {low:g}" if exclusive else f"at least {low:g}" if high is None else f"at most {high:g}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_note(key: str) -> bool:
    return key.endswith(_NOTE_SUFFIX) or key.startswith("_") or key in _NOTE_KEYS
