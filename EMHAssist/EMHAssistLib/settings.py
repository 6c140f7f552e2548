"""The tuning settings of the spine and measurement stages as typed, frozen data, validated on load.

`data/levels.json` (levels, cord, compression, mass, morphology) and `data/measurement.json` are read
once into the dataclasses below; a missing key, a value of the wrong type or out of its range, or a
key no setting reads (a misspelling) is refused with an `InputError` naming the file and the key, as
the differential's knowledge is (`differential/rules.py`). Each setting's reason stays beside it in
the JSON (`<key>_reason`), so the code reads numbers and the data says why.
"""

import functools
import math
import types
import typing
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass
from typing import Any, NoReturn, TypeVar

from .errors import InputError
from .knowledge import load
from .report_model import RatioKey

T = TypeVar("T")
_NOTE_SUFFIX = "_reason"  # a setting's reason, and any other prose, is read by people, not by code
_NOTE_KEYS = ("source", "_about")


def _limit(low: float | None = None, high: float | None = None) -> Any:
    """A field whose numbers (or each number of its tuple or mapping) lie within [low, high]."""
    return field(metadata={"range": (low, high)})


def _positive() -> Any:
    """Lengths, counts and spreads: above zero (a zero window or step would find nothing or loop)."""
    return field(metadata={"range": (0.0, None), "exclusive": True})


def _fraction() -> Any:
    return _limit(0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# data/levels.json


@dataclass(frozen=True)
class CodingRegion:
    prefix: str
    count: int = _positive()
    offset: int = _limit(0)


@dataclass(frozen=True)
class Coding:
    source: str
    regions: tuple[CodingRegion, ...]


@dataclass(frozen=True)
class RecentreSettings:
    passes: int = _limit(0)
    search_mm: float = _positive()
    band_mm: float = _limit(0.0)
    marrow_sample_mm: float = _positive()
    window_fraction: float = _fraction()
    window_sd: float = _positive()
    min_run_mm: float = _limit(0.0)
    max_gap_mm: float = _limit(0.0)
    local_agreement: float = _fraction()
    local_sd_ratio: float = _positive()
    longest_run_repeats: float = _positive()


@dataclass(frozen=True)
class DetectionSettings:
    profile_step_mm: float = _positive()
    profile_half_width_mm: tuple[float, float] = _limit(0.0)
    profile_smoothing_mm: float = _positive()
    period_range_mm: dict[str, tuple[float, float]] = _positive()  # by region letter (C, T, L, S)
    period_window_mm: float = _positive()
    contrast_smoothing_mm: float = _positive()
    disc_window_fraction: tuple[float, float] = _fraction()
    disc_spacing_sd: float = _positive()
    period_change_limit: tuple[float, float] = _positive()
    period_peak_fraction: float = _fraction()
    straight_line_reach_mm: float = _positive()
    extension_mm: float = _limit(0.0)
    extension_step_mm: float = _positive()
    anchor_beyond_guide_mm: float = _limit(0.0)
    min_guide_mm: float = _limit(0.0)
    max_extrapolation_mm: float = _limit(0.0)
    fused_from: str
    body_sample_fraction: float = _positive()
    body_spread_fraction: float = _positive()
    disc_between_margin: float = _limit(0.0, 0.5)
    recentre: RecentreSettings
    edge_body_cover: float = _positive()
    min_disc_contrast: float = _limit(0.0)


@dataclass(frozen=True)
class FoundSeedSettings:
    """Finding the cord behind the labelled bodies when no cord region was drawn (`seed_behind_bodies`)."""

    reach_mm: float = _positive()
    ray_step_mm: float = _positive()
    band_mm: float = _limit(0.0)
    min_depth_mm: float = _limit(0.0)
    flank_mm: float = _positive()
    width_mm: tuple[float, float] = _positive()
    csf_flank_fraction: float = _fraction()
    beyond_mm: float = _limit(0.0)
    height_step_mm: float = _positive()
    tube_mm: float = _limit(0.0)
    tube_step_mm: float = _positive()
    tries: int = _positive()
    half_size_mm: tuple[float, float, float] = _positive()


@dataclass(frozen=True)
class CordSettings:
    sequence_preference: tuple[str, ...]
    upsample_mm: float = _positive()
    ap_band_mm: float = _positive()
    ap_band_max_fraction_of_rl: float = _positive()
    centreline_smoothing_mm: float = _positive()
    search_radius_mm: float = _positive()
    min_area_fraction: float = _fraction()
    stop_after_mm: float = _positive()
    max_shift_per_mm: float = _positive()
    bridge_mm: float = _limit(0.0)
    bridge_area_fraction: float = _fraction()
    bridge_mass_reach_mm: float = _limit(0.0)
    bridge_check_margin_mm: float = _limit(0.0)
    gap_shift_per_mm: float = _positive()
    bridge_confirm_mm: float = _limit(0.0)
    gap_area_fraction: float = _fraction()
    edge_max_area_fraction: float = _positive()
    reference_area_mm: float = _positive()
    rays: int = _positive()
    ray_step_mm: float = _positive()
    ray_median: int = _positive()
    max_open_rays: float = _fraction()
    ray_cap_radii: float = _positive()
    ray_cap_margin_mm: float = _limit(0.0)
    relocate_radius_mm: float = _limit(0.0)
    relocate_tries: int = _limit(0)
    edge_min_contrast: float = _limit(0.0)
    seed_csf_separation: float = _limit(0.0)
    csf_percentile: float = _limit(0.0, 100.0)
    csf_ray_slices: int = _positive()
    csf_ray_quantile: float = _fraction()
    core_coverage: float = _fraction()
    bias_rate_per_mm: float = _limit(0.0)
    csf_side_fraction: float = _fraction()
    window_sd: float = _positive()
    far_reach_max: float = _positive()
    far_side_fraction: float = _fraction()
    far_side_reach_mm: float = _positive()
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
    reference_distance_mm: float = _limit(0.0)
    reference_extent_mm: float = _positive()
    narrowing_threshold: float = _fraction()
    measures: tuple[Measure, ...]
    growth_threshold: float = _fraction()
    touched_narrowing_threshold: float = _fraction()
    min_run_mm: float = _limit(0.0)
    merge_gap_mm: float = _limit(0.0)
    mass_contact_mm: float = _limit(0.0)
    mass_touch_mm: float = _limit(0.0)
    level_fraction: float = _fraction()
    conus_highest_level: str
    conus_exclusion_mm: float = _limit(0.0)
    judged_median_mm: float = _limit(0.0)
    merged_area_ratio: float = _limit(1.0)


@dataclass(frozen=True)
class MassSettings:
    window_sd: float = _positive()
    window_fraction: float = _fraction()
    search_margin_mm: tuple[float, float, float] = _positive()
    max_distance_from_cord_mm: float = _positive()
    neck_fraction: float = _fraction()
    taper_mm: float = _positive()
    rim_mm: float = _positive()
    rim_min_voxels: int = _positive()
    marrow_sample_mm: float = _positive()


@dataclass(frozen=True)
class MorphologySettings:
    canal_radius_mm: float = _positive()
    epidural_fraction: float = _fraction()
    one_side_fraction: float = _limit(0.5, 1.0)


@dataclass(frozen=True)
class SpineSettings:
    """data/levels.json: the spine stage's settings."""

    version: int
    coding: Coding
    detection: DetectionSettings
    typical_height_mm: dict[str, float] = _positive()
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

    version: int
    ratio_pairs: tuple[tuple[str, str], ...]
    enhancement: Enhancement
    sequence_pairs: tuple[tuple[str, str], ...]
    expected_sequences: tuple[str, ...]
    min_voxels_for_stable_ratio: int = _limit(2)
    ci_z: float = _positive()
    percentiles: tuple[float, float, float] = _limit(0.0, 100.0)


# ---------------------------------------------------------------------------------------------
# data/bilsky.json


@dataclass(frozen=True)
class ThecalSacSettings:
    """The rays cast across each section of the cord to find the thecal sac's CSF (spine/thecal_sac.py)."""

    ray_step_deg: float = _limit(0.0, 90.0)
    reach_mm: float = _positive()
    sample_mm: float = _positive()
    csf_fraction_of_contrast: float = _fraction()
    csf_search_mm: float = _positive()
    csf_percentile: float = _limit(0.0, 100.0)
    beside_cord_mm: float = _limit(0.0)
    resolved_voxel_mm: float = _positive()
    sac_start_within_mm: float = _limit(0.0)


@dataclass(frozen=True)
class GradingSettings:
    """What each Bilsky grade is decided on (spine/bilsky.py)."""

    epidural_margin_mm: float = _limit(0.0)
    sac_indent_mm: float = _limit(0.0)
    mass_against_sac_mm: float = _limit(0.0)
    contact_mm: float = _limit(0.0)
    csf_visible_fraction: float = _fraction()
    csf_absent_needs_resolved_share: float = _fraction()
    smoothing_mm: float = _positive()


@dataclass(frozen=True)
class GradeMeaning:
    grade: str
    meaning: str


@dataclass(frozen=True)
class BilskySettings:
    """data/bilsky.json: the graded sequences, the grades and their wording, the sac and the grading."""

    sequences: tuple[str, ...]
    grades: tuple[GradeMeaning, ...]
    explanations: dict[str, str]
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

    boundary_share: float = _fraction()


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

    version: int
    teaching_pairs: dict[str, TeachingPair]
    volume: VolumeBounds
    wording: FollowupWording
    summary_ratio: RatioKey  # written as the report writes it: "T2 mass/cord"


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
        if is_dataclass(kind):
            return self._record(kind, raw, key)
        if origin is tuple:
            return self._tuple(args, raw, key, spec)
        if origin is dict:
            if not isinstance(raw, dict) or not raw:
                self.fail(key, "must be a non-empty object")
            return types.MappingProxyType({name: self._value(args[1], value, f"{key}.{name}", spec) for name, value in raw.items()})
        return self._scalar(kind, raw, key, spec)

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
        return f"from {low:g} to {high:g}"
    return f"above {low:g}" if exclusive else f"at least {low:g}" if high is None else f"at most {high:g}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_note(key: str) -> bool:
    return key.endswith(_NOTE_SUFFIX) or key in _NOTE_KEYS
