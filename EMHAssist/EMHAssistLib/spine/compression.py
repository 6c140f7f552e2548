"""Cord compression: MSCC and area ratio (Miyanji / SCT), normalised ratios, and the "levels" report.

A slice is narrowed when its AP or its RL diameter falls well below what its level's healthy
cords predict, scaled to this patient's cord; it is compressed when it is narrowed where the mass
touches the cord (or, without a mass region, anywhere but the conus's natural taper). The
compressed segment's MSCC (and the same ratio on RL and area) uses SCT's reference windows above
and below it along the centreline.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np

from ..errors import InputError
from ..geometry import Grid, Labelmap, Shape, voxel_indices
from ..inputs.plain import Outline, SequenceImage, SpineInputs
from ..measurement.regions import robust_sd
from ..report_model import (
    BilskyGrading,
    BilskyWorst,
    CordCompression,
    CordProfileEntry,
    CordTrace,
    Extent,
    LevelVertebra,
    Levels,
    MorphologyValue,
    NotAssessed,
    NotAssessedCause,
    NotAssessedReason,
    Span,
)
from ..settings import CompressionSettings, spine_settings
from .cord import (
    Cord,
    CordProfile,
    choose_sequence,
    cord_from_segment,
    looks_like_cord,
    measure_profile,
    seed_behind_bodies,
    sample_linear,
    sample_nearest,
    segment_cord,
    slice_points,
)
from .cord import settings as cord_settings
from .findings import SpineFinding, SpineFindingCode
from .levels import LevelMap, Vertebra, build_level_map, spine_past_cord, user_vertebrae
from .masses import MassSegment, body_marrow, cord_wall, position, reach_of, rim_enhancement, rival_windows, segment_mass
from .normative import NormalisedMscc, metric_ratio, normalised_mscc, normative
from .thecal_sac import cast_rays
from .vertebrae import code_of, name_of


T = TypeVar("T")


def settings() -> CompressionSettings:
    return spine_settings().compression


# ---------------------------------------------------------------------------------------------
# Finding the compressed segment


@dataclass(frozen=True)
class Compression:
    slices: np.ndarray  # indices into the profile
    worst: int  # index into the profile of the narrowest slice
    mscc_percent: float
    area_ratio_percent: float
    rl_ratio_percent: float
    normalised: NormalisedMscc
    shown_by: tuple[str, ...]  # names of the measures narrowed in the core, the one `worst` is read on first


def measured(profile: CordProfile, key: str) -> np.ndarray:
    """One per-slice measure of the profile by its normative key (ap_mm, rl_mm, area_mm2)."""
    return getattr(profile, key)


def expected_size(profile: CordProfile, key: str, codes: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """The measure each slice should have: healthy mean of its level, scaled to this cord."""
    table = normative()
    values = measured(profile, key)
    healthy = np.array([getattr(table[c], key).mean if c in table else np.nan for c in codes])
    ratios = values / healthy
    known = usable & np.isfinite(ratios)
    if known.sum() >= 3:
        return np.where(np.isfinite(healthy), healthy * float(np.median(ratios[known])), float(np.nanmedian(values[usable])))
    if not usable.any():
        return np.full(len(codes), np.nan)  # nothing measurable: no slice can be judged narrowed
    return np.full(len(codes), float(np.nanmedian(values[usable])))


def conus_zone(cord: Cord) -> np.ndarray:
    """Slices in the last centimetres of a cord that ends inside the field of view (its natural taper)."""
    arc = cord.profile.arc_mm
    zone = np.zeros(len(arc), dtype=bool)
    if cord.ends_inside[0]:
        zone |= arc <= arc[0] + settings().conus_exclusion_mm
    return zone


@dataclass(frozen=True)
class _Reading:
    """The profile as compression judges it (`_compression_read` and `narrowed_unjudged` alike)."""

    judged: CordProfile  # `CordProfile.judged`
    bounded: CordProfile  # `_bounded`: a section traced into the mass read as its upper bound
    own: CordProfile  # each section's own measure, a section traced into the mass as `bounded` reads it
    measurable: np.ndarray
    usable: np.ndarray  # judged at all: measurable, in contact with the mass, not at a level whose cord took the mass in
    growable: np.ndarray  # what a compression's segment may grow over (`_grown`): as `usable`, the mass within its growth reach
    keys: tuple[str, ...]  # the measures judged (RL only beside a mass)
    merged: np.ndarray  # `merged_with_mass`
    beside_mass: bool  # a mass region was given (`contact` known)
    fitted: CordProfile | None = None  # `fitted_sections`: a section traced into the mass read on its section model


def _reading(
    cord: Cord, codes: np.ndarray, contact: np.ndarray | None, merged: np.ndarray, near: np.ndarray | None = None, fitted: CordProfile | None = None
) -> _Reading:
    """`near`: per slice, the mass within `growth_contact_mm` of the cord (`mass_distance`); `contact` where not given.
    `fitted`: `fitted_sections`, read on the sections traced into the mass where it fitted one."""
    judged = cord.profile.judged
    bounded = _bounded(cord.profile, merged, fitted)
    own = replace(bounded, **{key: np.where(merged, _section_own(bounded, fitted, key), measured(cord.profile, key)) for key in ("ap_mm", "rl_mm", "area_mm2")})
    # A slice outside every level is not judged: a compression is reported with its levels or not at all.
    measurable = np.isfinite(judged.ap_mm) & ~conus_zone(cord) & (codes > 0)
    apart = ~at_levels_merged_with_mass(codes, merged) | merged
    usable = measurable & contact & apart if contact is not None else measurable
    growable = measurable & (contact if near is None else near) & apart if contact is not None else measurable
    keys = tuple(measure.key for measure in settings().measures if contact is not None or not measure.needs_mass)
    return _Reading(judged, bounded, own, measurable, usable, growable, keys, merged, contact is not None, fitted)


def _cores(reading: _Reading, codes: np.ndarray, threshold: float, compression_core: bool) -> dict[str, np.ndarray]:
    """Per measure, the runs (`_runs`) of usable slices narrowed by `threshold` or more against the
    healthy mean of their level scaled to this cord; none where no run is found.
    `compression_core`: the core of a compression to report (`_compression_read`), else a run seen
    narrowed in a report that names none (`narrowed_unjudged`). A compression's core is as long as
    the span between its sections' centres, and a section whose own reading is narrowed by less
    than the growth threshold against its expected size is not in it, though its judged median is:
    a squeezed cord is squeezed on every section, while noise that stops the tracer's rays short
    dips single sections, and the median of a dip and its neighbours reads the dip
    (data/levels.json, compression.min_run_reason: healthy generated seed 205). A run seen narrowed
    is as long as the cord its sections cover (`_runs`, `covered`)."""
    arc = reading.judged.arc_mm
    cores = {}
    for key in reading.keys:
        expected = expected_size(reading.judged, key, codes, reading.measurable)
        bound = (1 - threshold) * expected
        own = measured(reading.own, key)
        flags = reading.usable & (measured(reading.bounded, key) <= bound)
        if compression_core:
            flags &= ~(own > (1 - settings().growth_threshold) * expected)
        core = _runs(flags, arc, reading.usable & np.isfinite(own), own <= bound, covered=not compression_core)
        if core.any():
            cores[key] = core
    return cores


def _compression_read(cord: Cord, codes: np.ndarray, reading: _Reading) -> Compression | None:
    """The compressed segment: a core narrowed against healthy cords in AP or RL, grown along the
    cord while the slices stay narrowed in that measure against the segment's own reference windows
    (SCT's MSCC windows). Its worst slice is the narrowest in the measure that reads the larger ratio.
    Every measure is read as `reading` (`_reading`) gives it: as `CordProfile.judged` does, the median
    over a few millimetres of cord; a section traced into the mass (`merged_with_mass`) as `_bounded`
    reads it, and its level's other sections not at all."""
    profile, bounded = reading.judged, reading.bounded
    cores = _cores(reading, codes, settings().narrowing_threshold, compression_core=True)
    if not cores:
        return None
    expected = {key: expected_size(profile, key, codes, reading.measurable) for key in cores}
    compressed = _grown(np.logical_or.reduce(list(cores.values())), profile, bounded, reading, expected)
    slices = np.flatnonzero(compressed)
    above, below = reference_windows(profile.arc_mm, slices, np.isfinite(profile.ap_mm) & ~compressed & ~conus_zone(cord))
    # the segment's sections as judged; the windows' as before, but a modelled section on its model, not
    # on its upper bound (generated seed 27, old generator: windows read on traced 8.5-10.9 mm AP made a false MSCC 31 %)
    modelled = reading.fitted is not None and np.isfinite(reading.fitted.ap_mm)
    read = _bounded(cord.profile, reading.merged & (compressed | modelled), reading.fitted)
    ratios = {key: _window_ratio(measured(read, key), _narrowest(read, key, slices), above, below) for key in cores}
    shown_by = sorted(cores, key=lambda key: -ratios[key] if np.isfinite(ratios[key]) else np.inf)
    if _on_fitted_sections(reading, slices) and not ratios[shown_by[0]] >= 100 * settings().fitted_min_narrowing:
        return None  # read on the section model, a slight narrowing is not told from the model's edge noise
    worst = _narrowest(read, shown_by[0], slices)
    return Compression(
        slices,
        worst,
        _window_ratio(read.ap_mm, worst, above, below),
        _window_ratio(read.area_mm2, worst, above, below),
        _window_ratio(read.rl_mm, worst, above, below),
        normalised_mscc(read.ap_mm, codes, worst, above, below),
        tuple(_measure_name(key) for key in shown_by),
    )


def _section_own(bounded: CordProfile, fitted: CordProfile | None, key: str) -> np.ndarray:
    """A section traced into the mass as read on its own: its section model's measure where one
    was fitted (`fitted_sections`; `_bounded` judges it on the model's median), else as bounded."""
    read = measured(bounded, key)
    if fitted is None:
        return read
    model = measured(fitted, key)
    return np.where(np.isfinite(model), model, read)


def _on_fitted_sections(reading: _Reading, slices: np.ndarray) -> bool:
    """Whether a compressed segment holds a section read on its section model (`fitted_sections`)."""
    return reading.fitted is not None and bool(np.isfinite(reading.fitted.ap_mm[slices][reading.merged[slices]]).any())


def narrowed_unjudged(cord: Cord, codes: np.ndarray, reading: _Reading, compression: Compression | None) -> np.ndarray:
    """Per profile slice: the cord seen narrowed where the mass touches it, in a report that names no
    compression, too little or over too short a stretch to be called one: a run of sections
    narrowed by the growth threshold (10 %) against the healthy mean of their level scaled to this
    cord, covering the minimum run of cord (`_runs`, `covered`), most of them narrowed one by one,
    and its narrowest reading that much below its own reference windows too (none to read: still
    seen). The report says these levels were not assessed rather than saying nothing (issue 13
    point 2). Generated seed 83 (an anterior haematoma at T5 narrowing the painted cord 33 %): traced
    4.4-4.9 mm there against 5.0-5.5 mm at T4 and T6 (painted 6.3: the trace lies a constant depth
    inside), 0.84-0.92 of its expected 5.3 mm, under the 20 % that names a compression: no
    compression and no warning. Seed 4 (a right haematoma at C3-C4, RL narrowed 30 %): its sections
    narrowed in contact, 3 sections 1.2 mm apart, span 2.4 mm between centres, under the 3 mm run,
    though they cover 3.6 mm of cord. Without a mass region nothing is seen beside a mass. A report
    that names a compression is not silent: beside one, such runs are the tapering ends of the
    compression or noise (generated seeds 48 C6 and 134 T11, levels no truth names, were said not
    assessed beside compressions read exactly)."""
    unjudged = np.zeros(len(codes), dtype=bool)
    if not reading.beside_mass or compression is not None:
        return unjudged
    allowed = np.isfinite(reading.judged.ap_mm) & ~conus_zone(cord)
    growth = settings().growth_threshold
    for key, runs in _cores(reading, codes, growth, compression_core=False).items():
        for run in np.split(np.flatnonzero(runs), np.flatnonzero(np.diff(np.flatnonzero(runs)) > 1) + 1):
            above, below = reference_windows(reading.judged.arc_mm, run, allowed)
            ratio = _window_ratio(measured(reading.bounded, key), _narrowest(reading.bounded, key, run), above, below)
            if not np.isfinite(ratio) or ratio >= 100 * growth:
                unjudged[run] = True
    return unjudged


def _bounded(profile: CordProfile, merged: np.ndarray, fitted: CordProfile | None = None) -> CordProfile:
    """The profile as compression reads it: `judged`, and on a section traced into the mass
    (`merged`) its section model's measure where one was fitted (`fitted_sections`), else the larger
    of its own measure and the judged one. Such a section holds the cord and
    some of the mass, so it mostly reads each diameter no smaller than the cord's: a narrowing read
    on it stands, while a normal width there says nothing (its levels stay not assessed unless a
    compression is read on them; `data/levels.json`, `merged_area_reason`, measured how often the
    bound holds). Its own measure, because the judged median may hold a neighbour whose outline cut
    into the cord."""
    judged = profile.judged
    if not merged.any():
        return judged

    def bound(key: str) -> np.ndarray:
        median = measured(judged, key)
        read = np.where(merged, np.fmax(measured(profile, key), median), median)
        if fitted is None:
            return read
        # judged as every section is, on the median over `judged_median_mm` of the modelled sections:
        # the model's edge noise dips single sections (generated seed 27, old generator: 3.2-5.8 mm
        # among 7.7, which joined into a false compression)
        model = measured(fitted.judged, key)
        return np.where(merged & np.isfinite(measured(fitted, key)), model, read)

    return replace(judged, area_mm2=bound("area_mm2"), ap_mm=bound("ap_mm"), rl_mm=bound("rl_mm"))


def _narrowest(profile: CordProfile, key: str, slices: np.ndarray) -> int:
    values = measured(profile, key)[slices]
    return int(slices[np.nanargmin(values)])


def _measure_name(key: str) -> str:
    return next(measure.name for measure in settings().measures if measure.key == key)


def _grown(core: np.ndarray, profile: CordProfile, bounded: CordProfile, reading: _Reading, expected: dict[str, np.ndarray]) -> np.ndarray:
    """Extend each end of the compressed segment while a slice within the merge gap beyond it is
    narrowed by at least the growth threshold, in one of the measures that made the core (the keys
    of `expected`, each slice's expected size, `expected_size`), against the reference windows
    beyond the segment (one noisy slice does not end a compression, as it does not split one in
    `_runs`). The windows read `profile`, the slices judged `bounded` (`_bounded`).
    The segment takes slices in contact with the mass (`_Reading.usable`), and, going one way,
    those with the mass within its growth reach (`growable`) only while the window at its other end
    reads the cord at its expected size (`_reads_expected`); why both, with the seeds that showed it:
    data/levels.json's compression.growth_contact_reason."""
    compressed = core.copy()
    limit = 1 - settings().growth_threshold
    gap = settings().merge_gap_mm
    healthy = np.isfinite(profile.ap_mm)
    arc = profile.arc_mm
    while True:
        slices = np.flatnonzero(compressed)
        above, below = reference_windows(arc, slices, healthy & ~compressed)
        if above.size == 0:
            return compressed
        narrowed = np.zeros(len(arc), dtype=bool)
        for key in expected:
            values = measured(profile, key)
            reference = (np.nanmean(values[above]) + np.nanmean(values[below])) / 2
            narrowed |= reading.growable & (measured(bounded, key) <= limit * reference)
        added = False
        for edge, step, other in ((slices[0], -1, above), (slices[-1], +1, below)):
            usable = reading.growable if _reads_expected(profile, expected, other) else reading.usable
            beyond = np.arange(edge + step, len(arc) if step > 0 else -1, step)
            reach = beyond[(np.abs(arc[beyond] - arc[edge]) <= gap) & usable[beyond]] if beyond.size else beyond
            hits = reach[narrowed[reach]]
            if hits.size:
                nearest = hits[0]
                compressed[min(edge, nearest):max(edge, nearest) + 1] = True
                added = True
        if not added:
            return compressed


def _reads_expected(profile: CordProfile, expected: dict[str, np.ndarray], window: np.ndarray) -> bool:
    """Whether the cord in a reference window reads, in every measure of `expected`, within the
    growth threshold of its expected size (`expected_size`)."""
    limit = 1 - settings().growth_threshold
    return all(np.nanmean(measured(profile, key)[window]) >= limit * np.nanmean(sizes[window]) for key, sizes in expected.items())


def _runs(flags: np.ndarray, arc: np.ndarray, counted: np.ndarray, each_narrowed: np.ndarray, covered: bool) -> np.ndarray:
    """Flagged slices joined across short gaps, keeping only runs long enough to be real where more
    than half of the `counted` sections (per slice: judged at all) between their ends are narrowed
    one by one (`each_narrowed`: narrowed on its own section).
    A judged slice is the median of it and its neighbours, and a traced AP that alternates between
    normal and narrowed from one section to the next keeps alternating in the median, one phase
    later: generated seed 133 (healthy, SNR 19) read AP 5.1-5.4 and 2.8-3.6 mm on every other section
    where the painted cord is 6.2 mm, and its judged narrowed sections, joined across the merge gap,
    read a compression at T8 (MSCC 34 %). A narrowed cord is narrowed on most of its own sections.
    `covered`: a run is as long as the cord its sections cover (the span between the first and last
    centre plus the median slice spacing), for `narrowed_unjudged` only: as the length of a
    compression it made 3-section runs of noise at 1.1 mm pixels compressions (e9a9b36)."""
    config = settings()
    extra = float(np.median(np.diff(arc))) if covered and len(arc) > 1 else 0.0
    indices = np.flatnonzero(flags)
    kept = np.zeros(len(flags), dtype=bool)
    if indices.size == 0:
        return kept
    groups = [[indices[0]]]
    for index in indices[1:]:
        if arc[index] - arc[groups[-1][-1]] <= config.merge_gap_mm:
            groups[-1].append(index)
        else:
            groups.append([index])
    for group in groups:
        span = slice(group[0], group[-1] + 1)
        if arc[group[-1]] - arc[group[0]] + extra < config.min_run_mm:
            continue
        if 2 * np.count_nonzero(each_narrowed[span] & counted[span]) <= np.count_nonzero(counted[span]):
            continue
        kept[span] = True
    return kept


def reference_windows(arc: np.ndarray, slices: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SCT's windows: `extent` mm starting `distance` mm beyond the highest and lowest given slice.

    The arc runs inferior to superior. When one window has no usable slice the other is used for
    both, as SCT does.
    """
    config = settings()
    distance, extent = config.reference_distance_mm, config.reference_extent_mm
    top, bottom = arc[slices].max(), arc[slices].min()
    above = np.flatnonzero(allowed & (arc >= top + distance) & (arc < top + distance + extent))
    below = np.flatnonzero(allowed & (arc <= bottom - distance) & (arc > bottom - distance - extent))
    if above.size == 0:
        above = below
    if below.size == 0:
        below = above
    return above, below


def _window_ratio(values: np.ndarray, at: int, above: np.ndarray, below: np.ndarray) -> float:
    if above.size == 0 or not np.isfinite(values[above]).any() or not np.isfinite(values[below]).any():
        return float("nan")
    return metric_ratio(float(values[at]), float(np.nanmean(values[above])), float(np.nanmean(values[below])))


# ---------------------------------------------------------------------------------------------
# The whole step, from the spine inputs to the report sections


@dataclass
class LevelsOutcome:
    levels: Levels | None
    morphology: dict[str, MorphologyValue] | None
    warnings: list[SpineFinding]  # in the order the report states them (outputs/wording.py words them)
    cord: Cord | None = None
    mass: MassSegment | None = None
    level_map: LevelMap | None = None


@dataclass
class MassFreeSteps:
    """The parts of `assess` that do not read the mass region: the cord traced from its region alone,
    and what is built along a cord (the level map, where a mass may grow). The live panel passes one
    back while only the mass moves (it keys it by the sequences, the cord region and the level
    points), so a mass drag redoes the mass and what reads it, not the cord tracing (0.43 s of the
    1.04 s update at 512 x 512 x 200); the outcome is the one `assess` gives afresh."""

    cord: Cord | None = None
    found: Outline | None = None  # the cord region (a box in the cord) found behind the level points, when none was drawn
    _along: dict[str, tuple[Cord, object]] = field(default_factory=dict)

    def along(self, what: str, cord: Cord, build: Callable[[], T]) -> T:
        """`build()`, or what it gave before for this very cord (traced again with a wall, it is another)."""
        found = self._along.get(what)
        if found is None or found[0] is not cord:
            found = self._along[what] = (cord, build())
        return found[1]


def assess(inputs: SpineInputs, images: list[SequenceImage], kept: MassFreeSteps | None = None) -> LevelsOutcome:
    """The "levels" and "morphology" report sections; missing inputs give warnings, not errors.
    `kept`: the mass-free steps of an earlier call on the same sequences, cord region and level points."""
    image = choose_sequence(images)
    if image is None:
        return LevelsOutcome(None, None, [SpineFinding(SpineFindingCode.NO_T2_SEQUENCE)])
    kept = kept or MassFreeSteps()
    notes: list[SpineFinding] = []
    try:
        if not inputs.cord:
            found = _cord_behind_level_points(inputs, image, kept)
            if found is None:
                return _without_cord(inputs, images, image, None)
            inputs = replace(inputs, cord=(found,))
            notes.append(SpineFinding(SpineFindingCode.CORD_FOUND_BEHIND_POINTS, label=found.label))
        if kept.cord is None:
            try:
                kept.cord = _cord(inputs, image)
            except InputError as error:
                return _without_cord(inputs, images, image, error)
        outcome = _assess(inputs, images, image, kept)
    except InputError as error:
        # The ratios stand on their own; a cord or level problem only costs this section.
        return LevelsOutcome(None, None, [SpineFinding(SpineFindingCode.LEVELS_FAILED, error=error)])
    outcome.warnings[:0] = notes
    return outcome


def _without_cord(inputs: SpineInputs, images: list[SequenceImage], image: SequenceImage, error: InputError | None) -> LevelsOutcome:
    """The levels section where no cord could be followed (`error`, the tracker's; None where none was
    found behind the level points): the bodies placed from the
    level points and the image alone (`build_level_map` without a guide) and the mass's levels on
    them, every level's compression not assessed; with no level points, no section. Without this,
    a lumbar window below the conus or a cord the tracker could not start on lost every level
    (generated seeds 41, 106 and 117: "vertebral levels and cord compression are not assessed")."""
    anchors = _level_points(inputs)
    if not anchors:
        return LevelsOutcome(None, None, [SpineFinding(SpineFindingCode.NO_CORD if error else SpineFindingCode.NO_CORD_FOUND, error=error)])
    level_map = build_level_map(anchors, image, None)
    cord_region = [source.shape for source in inputs.cord] or None
    mass = segment_mass(inputs.mass, images, image, cord_region=cord_region, marrow=body_marrow(anchors)) if inputs.mass else None
    codes = [vertebra.code for vertebra in level_map.vertebrae]
    mass_codes = mass_level_codes(level_map, mass)
    section = Levels(
        vertebrae=level_map.reported(),
        coordinate_system="RAS",
        not_assessed=NotAssessed(level_extent(codes), _without_cord_reason(error)),
        mass=_extent_or_none(mass_codes),
        compression=None,
        cord_profile=tuple(_unfollowed_row(code) for code in codes),
        cord=None,
        bilsky=None,
    )
    return LevelsOutcome(section, None, [*_map_findings(level_map), *_not_assessed_warnings(section)], None, mass, level_map)


def _without_cord_reason(error: InputError | None) -> NotAssessedReason:
    if error is None:
        return NotAssessedReason((NotAssessedCause.NO_CORD_FOUND,))
    return NotAssessedReason((NotAssessedCause.CORD_NOT_TRACED,), str(error))


def _cord_behind_level_points(inputs: SpineInputs, image: SequenceImage, kept: MassFreeSteps) -> Outline | None:
    """The cord region found behind the labelled bodies, the first the tracker can follow (its cord
    kept for `_assess`, traced again only when the live panel's cord key changes); None without
    level points or when no candidate is followed."""
    anchors = _level_points(inputs)
    if kept.cord is not None and kept.found is not None:
        return kept.found
    for box in seed_behind_bodies(image, [anchor.centre for anchor in anchors]):
        try:
            cord = _traced(image, box)
        except InputError:
            continue
        kept.cord = cord
        kept.found = Outline(", ".join(anchor.name for anchor in anchors), box, False)
        return kept.found
    return None


def _assess(inputs: SpineInputs, images: list[SequenceImage], image: SequenceImage, kept: MassFreeSteps) -> LevelsOutcome:
    warnings: list[SpineFinding] = []
    cord = kept.cord  # traced by `assess`
    mass = _mass(inputs, images, image, cord, kept)
    if mass is not None and not cord.given:
        cord = _cord_beside_mass(inputs, images, image, cord, mass)
    if mass is not None and not mass.given:
        mass = mass.without(cord.mask, cord.grid)  # border voxels the cord's outline took: segments do not overlap
    level_map, map_warnings = kept.along("level map", cord, lambda: _level_map(inputs, image, cord))
    warnings.extend(map_warnings)
    if level_map is not None:
        warnings.extend(_map_findings(level_map))
    codes = level_map.codes_at(cord.profile.centreline.points) if level_map is not None else np.zeros(len(cord.profile.ap_mm), dtype=int)
    nearest = mass_distance(cord, mass, kept.along("cord voxels", cord, lambda: cord_voxels(cord))) if mass is not None else None
    contact = nearest <= settings().mass_contact_mm if nearest is not None else None
    near = nearest <= settings().growth_contact_mm if nearest is not None else None
    if mass is None:
        warnings.append(SpineFinding(SpineFindingCode.NO_MASS_REGION))
    traced_into_mass = merged_with_mass(cord, codes, contact)
    fitted = fitted_sections(cord, image, mass, codes, traced_into_mass) if mass is not None else None
    reading = _reading(cord, codes, contact, traced_into_mass, near, fitted)
    compression = _compression_read(cord, codes, reading)
    merged = traced_into_mass & ~_read_compressed(compression, codes, level_map, cord)
    unjudged = narrowed_unjudged(cord, codes, reading, compression)
    unassessed = frozenset(unassessed_codes(cord, level_map, codes, merged | unjudged))
    mass_codes = mass_level_codes(level_map, mass)
    section = levels_section(cord, codes, level_map, mass_codes, compression, merged, unassessed, unjudged)
    mscc_at = section.compression.at if section.compression else None
    section = replace(section, bilsky=_bilsky(images, cord, mass, level_map, compression, kept, mscc_at, unassessed, mass_codes))
    warnings.extend(_not_assessed_warnings(section))
    if compression is not None and traced_into_mass[compression.slices].any():
        warnings.append(SpineFinding(SpineFindingCode.READ_ON_MASS_SECTIONS, section.compression))
    morphology = _morphology(mass, cord, level_map, images, mass_codes) if mass is not None else None
    return LevelsOutcome(section, morphology, warnings, cord, mass, level_map)


def _read_compressed(compression: Compression | None, codes: np.ndarray, level_map: LevelMap | None, cord: Cord) -> np.ndarray:
    """Per profile slice: at a level the compression names. A level where the cord was traced into
    the mass and a compression is read all the same (on those sections' upper bounds, `_bounded`)
    is assessed: the report names its compression rather than saying it could not judge it."""
    if compression is None:
        return np.zeros(len(codes), dtype=bool)
    return np.isin(codes, compressed_codes(compression, codes, level_map, cord.profile.centreline.points))


def _bilsky(
    images: list[SequenceImage],
    cord: Cord,
    mass: MassSegment | None,
    level_map: LevelMap | None,
    compression: Compression | None,
    kept: MassFreeSteps,
    mscc_at: str | None,
    unassessed: frozenset[int],
    mass_codes: set[int],
) -> BilskyGrading | None:
    """The levels section's `bilsky`: each level's grade and what it was read from, and the most
    severe; None without levels or a T2-like sequence. The rays across the cord's sections do not
    read the mass: cast once per cord (`kept`). A level whose compression is not assessed (`unassessed`:
    the cord not followed there, or not told from the mass) is not graded: its grade would say whether
    the cord is compressed, which the same report says it cannot judge there (generated seed 134 read
    "Bilsky 1c at T10, compression not assessed T10")."""
    from .bilsky import graded_sequence, grade_levels, most_severe  # bilsky reads this module's windows and segments

    image = graded_sequence(images)
    if level_map is None or image is None:
        return None
    rays = kept.along("rays", cord, lambda: cast_rays(image, cord))
    graded = grade_levels(image, cord, mass, level_map, compression, rays, unassessed, mass_codes)
    worst = most_severe(graded, mscc_at)
    return BilskyGrading(
        sequence=image.role,
        levels=tuple(graded),
        most_severe=BilskyWorst(worst.level, worst.grade) if worst is not None else None,
    )


def _cord(inputs: SpineInputs, image: SequenceImage, wall: np.ndarray | None = None, masses: list = ()) -> Cord:
    sources = inputs.cord
    segments = [source for source in sources if source.segment]
    if segments:
        mask = np.zeros(image.grid.shape, dtype=bool)
        for source in segments:
            mask |= cord_from_segment(image, source.shape, image.role)
        profile = measure_profile(mask, image.grid)
        return Cord(image.grid, mask, profile, image.role, True, (False, False))
    return _traced(image, sources[0].shape, wall, masses)


def _traced(image: SequenceImage, seed: Shape, wall: np.ndarray | None = None, masses: list = ()) -> Cord:
    """The cord tracked from a seed region (`segment_cord`), with its profile."""
    coverage, ends = segment_cord(image, seed, wall, masses)
    mask = coverage.values >= 0.5
    return Cord(coverage.grid, mask, measure_profile(mask, coverage.grid, coverage.values), image.role, False, ends, coverage.unfollowed)


def _cord_beside_mass(inputs: SpineInputs, images: list[SequenceImage], image: SequenceImage, cord: Cord, mass: MassSegment) -> Cord:
    """The cord traced again knowing the mass, or as first traced. A mass of the cord's own signal on
    this sequence (told apart on another) leaves the first tracing no edge, and it runs into the mass
    or stops: traced with the mass as a wall. A cord the first tracing lost (it knows no mass, and
    the live panel keeps it while the mass moves) is sought beyond the mass, without the wall too:
    a wall from a mass grown along the cord also blocks the cord beyond the narrowing. Of these,
    the tracing that leaves the fewest slices unfollowed (the walled one on a tie). The wall is given
    the first tracing's voxels away from the mass (`_cord_apart_from`): where the drawn cord region's
    signal misses theirs, the cord's signal is read on them (`masses._cord_window`)."""
    masses = [source.shape for source in inputs.mass]
    tracings = []
    if _mass_hides_cord_edge(inputs, image):
        wall = cord_wall(mass, images, image, [source.shape for source in inputs.cord], _cord_apart_from(cord, mass))
        tracings.append(_cord(inputs, image, wall, masses))
    if _lost_near_mass(cord, masses):
        tracings.append(_cord(inputs, image, None, masses))
    return min(tracings, key=lambda traced: sum(len(stretch) for stretch in traced.unfollowed), default=cord)


def _cord_apart_from(cord: Cord, mass: MassSegment) -> np.ndarray:
    """World centres of the cord's voxels on its profile slices the mass does not touch
    (`mass_contact`); all of them where it touches every one."""
    points, slice_of = cord_voxels(cord)
    apart = ~mass_contact(cord, mass, (points, slice_of))
    return points[apart[slice_of]] if apart.any() else points


def _lost_near_mass(cord: Cord, masses: list[Shape]) -> bool:
    """Whether the cord, traced without knowing the mass, ended inside the field of view within
    reach of a mass region: only there does tracing it again knowing the mass seek it beyond
    (`segment_cord`, `bridge_mass_reach_mm`); elsewhere that tracing follows the first one slice for
    slice. So a cord ending at its conus far from the mass is not traced again on every move of the
    mass ROI in the live panel."""
    reach = cord_settings().bridge_mass_reach_mm + cord_settings().bridge_check_margin_mm
    heights = np.concatenate([shape.corners_world()[:, 2] for shape in masses])
    along = cord.profile.centreline.points[:, 2]
    ends = (along.min(), along.max())  # inferior, superior: the order of `ends_inside`
    return any(inside and heights.min() - reach <= end <= heights.max() + reach for inside, end in zip(cord.ends_inside, ends))


def _mass(inputs: SpineInputs, images: list[SequenceImage], image: SequenceImage, cord: Cord, kept: MassFreeSteps) -> MassSegment | None:
    """The mass grown by its signal alone, which keeps it out of a cord that differs from it on any
    sequence even where the tracked cord ran into the mass; if it takes the cord region itself, the
    cord looks like the mass on every sequence and the tracked cord bounds it instead."""
    sources = inputs.mass
    if not sources:
        return None
    cord_region = [source.shape for source in inputs.cord]
    bodies = _level_points(inputs)
    marrow = body_marrow(bodies)
    past_cord = spine_past_cord(bodies, cord.profile.centreline)
    reach = kept.along("reach", cord, lambda: reach_of(image.grid, cord.profile.centreline, past_cord))
    rivals = kept.along("rival windows", cord, lambda: rival_windows(images, cord_region, marrow))
    mass = segment_mass(sources, images, image, None, cord.profile.centreline, cord_region, past_cord, marrow, reach, rivals)
    if mass.given or not _takes_cord_region(mass, inputs, image):
        return mass
    cord_mask = Labelmap(cord.grid, cord.mask).mask_on(image.grid)
    return segment_mass(sources, images, image, cord_mask, cord.profile.centreline, cord_region, past_cord, marrow, reach, rivals)


def _mass_hides_cord_edge(inputs: SpineInputs, image: SequenceImage) -> bool:
    """Whether the mass region's mean signal on the cord's sequence lies in the tracer's cord window."""
    values = np.concatenate([image.voxels.ravel()[voxel_indices(image.grid, source.shape)] for source in inputs.mass])
    return values.size > 0 and looks_like_cord(image, inputs.cord[0].shape, float(np.mean(values)))


def _takes_cord_region(mass: MassSegment, inputs: SpineInputs, image: SequenceImage) -> bool:
    """Whether a voxel of the cord region is one of the mass's (each mass voxel on its nearest voxel
    of `image`), compared as voxel indices rather than as two whole-volume masks."""
    ijk = np.rint(image.grid.to_ijk(mass.points_world())).astype(np.int64)
    ijk = ijk[np.all((ijk >= 0) & (ijk < image.grid.size_ijk), axis=1)]
    taken = np.ravel_multi_index((ijk[:, 2], ijk[:, 1], ijk[:, 0]), image.grid.shape)
    seed = np.concatenate([voxel_indices(image.grid, source.shape) for source in inputs.cord])
    return bool(np.isin(seed, taken).any())


def _level_map(inputs: SpineInputs, image: SequenceImage, cord: Cord) -> tuple[LevelMap | None, list[SpineFinding]]:
    """The level map along the cord and its warnings (the map's own are in it), none without level points."""
    anchors = _level_points(inputs)
    if not anchors:
        return None, [SpineFinding(SpineFindingCode.NO_LEVEL_POINTS)]
    return build_level_map(anchors, image, cord.profile.centreline), []


def _level_points(inputs: SpineInputs) -> list[Vertebra]:
    """The labelled bodies of the level point list; none without one."""
    if inputs.level_points is None or not inputs.level_points.points:
        return []
    return user_vertebrae(inputs.level_points)


def mass_contact(cord: Cord, mass: MassSegment, voxels: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Per profile slice: does the mass come within the contact distance of the cord?
    `voxels`: `cord_voxels(cord)` found before (they do not depend on the mass)."""
    return mass_distance(cord, mass, voxels) <= settings().mass_contact_mm


def mass_distance(cord: Cord, mass: MassSegment, voxels: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Per profile slice: the least distance (mm) of a cord voxel from the mass, inf where none is
    within the mass's distance map. `voxels`: as `mass_contact`'s."""
    points, slice_of = voxels if voxels is not None else cord_voxels(cord)
    distance = mass.distance_map_mm()
    ijk = np.rint(mass.grid.to_ijk(points)).astype(int)
    inside = np.all((ijk >= 0) & (ijk < mass.grid.size_ijk), axis=1)
    i, j, k = ijk[inside].T
    nearest = np.full(len(cord.profile.ap_mm), np.inf)  # each slice's least distance of a cord voxel from the mass
    np.minimum.at(nearest, slice_of[inside], distance[k, j, i])
    return nearest


def cord_voxels(cord: Cord) -> tuple[np.ndarray, np.ndarray]:
    """World centres of the cord's voxels on its profile's slices, and the profile slice of each:
    found once per cord (the live panel keeps them while the mass ROI moves)."""
    found = slice_points(cord.mask, cord.grid, cord.profile.centreline.slices)
    return np.concatenate(found).reshape(-1, 3), np.repeat(np.arange(len(found)), [len(points) for points in found])


def levels_section(
    cord: Cord,
    codes: np.ndarray,
    level_map: LevelMap | None,
    mass_codes: set[int],
    compression: Compression | None,
    merged: np.ndarray | None = None,
    unassessed: frozenset[int] | None = None,
    unjudged: np.ndarray | None = None,
) -> Levels:
    """The levels section, its Bilsky grading left to the caller (`_assess`). `mass_codes`: the mass's
    levels (`mass_level_codes`); `merged`: per profile
    slice, the cord traced into the mass (`merged_with_mass`), not assessed; `unjudged`: per profile
    slice, the cord seen narrowed but not judged (`narrowed_unjudged`), not assessed; `unassessed`:
    `unassessed_codes` of both, when the caller has it."""
    if unassessed is None:
        unassessed = frozenset(unassessed_codes(cord, level_map, codes, _either(merged, unjudged)))
    points = cord.profile.centreline.points
    return Levels(
        vertebrae=level_map.reported() if level_map is not None else (),
        coordinate_system="RAS",  # body centres in Slicer's world (RAS); .mrk.json files store LPS
        not_assessed=not_assessed(cord, level_map, unassessed, merged, unjudged),
        mass=_extent_or_none(mass_codes),
        compression=_compression_found(compression, codes, level_map, points) if compression is not None else None,
        cord_profile=cord_profile(cord, codes, compression, unassessed),
        cord=CordTrace(cord.role, "given" if cord.given else "grown from the cord region", int(len(points))),
    )


def _compression_found(compression: Compression, codes: np.ndarray, level_map: LevelMap | None, points: np.ndarray) -> CordCompression:
    at = int(codes[compression.worst])
    compressed = compressed_codes(compression, codes, level_map, points)
    interval = compression.normalised.interval_percent
    return CordCompression(
        from_=name_of(compressed[0]) if compressed else None,
        to=name_of(compressed[-1]) if compressed else None,
        max_mscc_percent=_round(compression.mscc_percent),
        at=name_of(at) if at else None,
        area_ratio_percent=_round(compression.area_ratio_percent),
        rl_ratio_percent=_round(compression.rl_ratio_percent),
        normalised_mscc_percent=_round(compression.normalised.percent),
        normalised_mscc_interval_percent=tuple(_round(bound) for bound in interval) if interval else None,
        normalised_mscc_unavailable=compression.normalised.unavailable,
        shown_by=tuple(compression.shown_by),
    )


def _extent_or_none(codes: set[int]) -> Extent | None:
    """`level_extent` of the codes; None for none."""
    return level_extent(sorted(codes)) if codes else None


def mass_level_codes(level_map: LevelMap | None, mass: MassSegment | None) -> set[int]:
    """The codes of the levels the mass involves (the quarter-height rule): the report's mass levels."""
    if level_map is None or mass is None:
        return set()
    return {vertebra.code for vertebra in level_map.involved(mass.points_world(), settings().level_fraction)}


def compressed_codes(compression: Compression, codes: np.ndarray, level_map: LevelMap | None, points: np.ndarray) -> list[int]:
    """The levels the compressed segment involves (the quarter-height rule), the narrowest slice's
    level always among them; `codes` and `points` per profile slice."""
    at = int(codes[compression.worst])
    involved = {v.code for v in level_map.involved(points[compression.slices], settings().level_fraction)} if level_map is not None else set()
    return sorted(involved | ({at} if at else set()))


def level_extent(codes: list[int]) -> Extent:
    """The involved levels and their spans, superior first: a level between two involved
    levels that is not itself involved (EMH at the mid-thoracic spine and again at the sacrum) ends
    one span and the next begins; a contiguous extent is one span."""
    runs: list[list[int]] = []
    for code in sorted(codes):
        if runs and code == runs[-1][-1] + 1:
            runs[-1].append(code)
        else:
            runs.append([code])
    spans = tuple(Span(name_of(run[0]), name_of(run[-1])) for run in runs)
    return Extent(spans[0].from_, spans[-1].to, spans)


def merged_with_mass(cord: Cord, codes: np.ndarray, contact: np.ndarray | None) -> np.ndarray:
    """Per profile slice: the cord traced into the mass, its section where the mass touches it larger
    than `merged_area_ratio` times the cord's median area where the mass does not. A cord pressed by
    a mass is no larger than that; a section that is has taken in a mass of the cord's own signal,
    and its diameters say nothing about a narrowing (generated seed 16, axial 3.8 mm: a left
    haematoma narrowing the cord 29 % in RL, traced at 72-117 mm2 against the cord's median 54,
    read no compression and said nothing). Against the cord's own area, not its levels' healthy
    means scaled to it: the teaching phantom's cord has one area at every level, and the built-in
    MDS case's compressed T5 and T7 read over 1.4 times their scaled healthy means."""
    merged = np.zeros(len(codes), dtype=bool)
    if contact is None:
        return merged
    profile = cord.profile.judged
    measurable = np.isfinite(profile.ap_mm) & ~conus_zone(cord) & (codes > 0)
    away = measurable & ~contact
    if not away.any():
        return merged  # the mass touches the cord wherever it was measured: nothing to compare with
    return measurable & contact & (profile.area_mm2 > settings().merged_area_ratio * float(np.median(profile.area_mm2[away])))


def fitted_sections(cord: Cord, image: SequenceImage, mass: MassSegment, codes: np.ndarray, merged: np.ndarray) -> CordProfile | None:
    """The cord's section model on each section traced into the mass (`merged_with_mass`): the
    profile with, on such a section where the model fits, the cord's AP, RL and area read from it
    (`_fitted_section`), nan elsewhere; None where no section was traced into the mass. The cord's
    signal, its noise and its expected size come from the followed cord above and below (the
    sections not traced into the mass within `reference_extent_mm` along it)."""
    if not merged.any() or position(mass, cord.profile.centreline) not in settings().fitted_positions:
        return None  # a mass all round the cord, or beside the canal, has no one side to read the cord's edge against
    profile = cord.profile
    followed = np.isfinite(profile.judged.ap_mm) & ~conus_zone(cord) & (codes > 0) & ~merged
    if not followed.any():
        return None
    expected = {key: expected_size(profile.judged, key, codes, followed) for key in ("ap_mm", "rl_mm")}
    points, slice_of = cord_voxels(cord)
    signal = sample_nearest(image, points)
    arc = profile.arc_mm
    fitted = {key: np.full(len(codes), np.nan) for key in ("area_mm2", "ap_mm", "rl_mm")}
    for n in np.flatnonzero(merged):
        nearby = followed & (np.abs(arc - arc[n]) <= settings().reference_extent_mm)
        values = signal[nearby[slice_of]]
        values = values[np.isfinite(values)]
        if values.size < 10:
            continue
        cord_signal = float(np.median(values))
        noise = robust_sd(values, cord_signal)
        section = _fitted_section(cord, image, mass, n, cord_signal, noise, (expected["ap_mm"][n], expected["rl_mm"][n]))
        if section is not None:
            for key, value in zip(("ap_mm", "rl_mm"), section):
                fitted[key][n] = value
            fitted["area_mm2"][n] = np.pi / 4 * section[0] * section[1]
    return replace(profile, **fitted)


def _fitted_section(
    cord: Cord, image: SequenceImage, mass: MassSegment, n: int, cord_signal: float, noise: float, expected: tuple[float, float]
) -> tuple[float, float] | None:
    """(AP, RL) of the cord on profile section `n`, traced into the mass, from a section model;
    None where the model does not fit. Along the axis (AP or RL) that points at the mass, the
    signal averaged over a band across the section (`ap_band_mm`) is read through the traced
    outline and `fitted_beyond_edge_mm` beyond it: the cord is the run around the sample nearest
    the cord's own signal, each end where the signal has gone halfway to the farthest it reaches
    from the cord's on that side (the mass on one, CSF or dura on the other), a side that never
    departs by `fitted_rise_sds` noise SDs of the band's mean ending at the traced edge. The
    cord is no longer than its expected size along that axis, and across it no wider than traced
    nor than expected (a compression narrows the cord towards the mass, the shape prior).
    Why: a section traced into the mass has taken in, beside the cord, signal the tracer's window
    cannot tell from it, on the mass's side or on the far side's thin CSF
    (docs/spine-sweep.md, branch merged19)."""
    config = settings()
    centre = cord.profile.centreline.points[n]
    right, anterior = cord.profile.centreline.frame(n)
    toward = _mass_side(mass, centre, right, anterior)
    if toward is None:
        return None
    along, across, axis = toward
    band = cord_settings().ap_band_mm
    step = cord_settings().upsample_mm
    reach = max(expected) + config.fitted_beyond_edge_mm
    t = np.arange(-reach, reach + step / 2, step)
    w = np.arange(-band / 2, band / 2 + step / 2, step)
    grid = centre + t[:, None, None] * along + w[None, :, None] * across
    flat = grid.reshape(-1, 3)
    traced = _mask_at(cord.grid, cord.mask, flat).reshape(len(t), len(w)).mean(axis=1) >= 0.5
    signal = np.nanmean(sample_linear(image, flat).reshape(len(t), len(w)), axis=1)
    middle = len(t) // 2
    if not traced[middle]:
        return None
    lo = middle - int(np.argmin(traced[middle::-1])) + 1 if not traced[: middle + 1].all() else 0
    hi = middle + int(np.argmin(traced[middle:])) - 1 if not traced[middle:].all() else len(t) - 1
    pixel = float(np.sort(image.grid.spacing)[:2].mean())  # the in-plane pixel, or a sagittal stack's rows
    width = max(1, int(round(pixel / step)))
    smooth = np.convolve(np.nan_to_num(signal, nan=cord_signal), np.ones(width) / width, mode="same")
    departure = smooth - cord_signal
    core = max(1, int(round(expected[axis] / 2 / step)))  # the cord's core: half its expected length
    closeness = np.convolve(np.abs(departure), np.ones(core) / core, mode="same")
    start = lo + int(np.argmin(closeness[lo:hi + 1]))
    # the departures from the cord's own signal on this section: its core's (a bias field, partial volume)
    departure = smooth - float(np.median(smooth[max(start - core // 2, 0):start + core // 2 + 1]))
    spread = noise / np.sqrt(max(1.0, band / pixel) * width)
    beyond = int(round(config.fitted_beyond_edge_mm / step))
    significant = config.fitted_rise_sds * spread
    far_edge = _edge_on_side(departure[max(lo - beyond, 0):start + 1][::-1], significant)
    near_edge = _edge_on_side(departure[start:min(hi + beyond, len(t) - 1) + 1], significant)
    if far_edge is None and near_edge is None:
        return None  # no edge read on either side: the model says nothing the trace did not
    far = start - far_edge if far_edge is not None else lo
    near = start + near_edge if near_edge is not None else hi
    length = min((near - far) * step, expected[axis])
    traced_across = (cord.profile.ap_mm[n], cord.profile.rl_mm[n])[1 - axis]
    other = float(np.fmin(traced_across, expected[1 - axis]))
    return (length, other) if axis == 0 else (other, length)


def _edge_on_side(departure: np.ndarray, significant: float) -> int | None:
    """The cord's edge along one side of a section's signal (`departure`: the signal less the
    cord's, from the cord outwards): the first sample that departs by `significant` begins the
    tissue beside the cord (CSF, dura or the mass: brighter or darker); the edge is where the
    signal first goes halfway to that tissue's extreme, read over the run of samples departing the
    same way. None where nothing departs that far."""
    departs = np.abs(departure) >= significant
    if not departs.any():
        return None
    first = int(np.argmax(departs))
    sign = np.sign(departure[first])
    run = sign * departure[first:]
    extreme = float(run[: int(np.argmax(run <= 0)) if (run <= 0).any() else len(run)].max())
    return int(np.argmax(sign * departure >= extreme / 2))


def _mass_side(mass: MassSegment, centre: np.ndarray, right: np.ndarray, anterior: np.ndarray) -> tuple[np.ndarray, np.ndarray, int] | None:
    """The axis of the section (anterior or right) pointing at the mass beside the cord, the other
    axis, and 0 for AP or 1 for RL; None where the mass lies all round (the mean offset of its
    voxels in the section's plane, within half `reference_extent_mm`, is under
    `fitted_mass_direction_share` of their mean distance)."""
    reach = settings().reference_extent_mm / 2
    offsets = np.arange(-reach, reach + 0.25, 0.5)
    u, v = np.meshgrid(offsets, offsets, indexing="ij")
    plane = centre + u[..., None] * right + v[..., None] * anterior
    inside = _mask_at(mass.grid, mass.mask, plane.reshape(-1, 3))
    if not inside.any():
        return None
    spots = np.stack([u.ravel()[inside], v.ravel()[inside]], axis=1)
    mean = spots.mean(axis=0)
    if np.linalg.norm(mean) < settings().fitted_mass_direction_share * float(np.linalg.norm(spots, axis=1).mean()):
        return None
    if abs(mean[1]) >= abs(mean[0]):
        return np.sign(mean[1]) * anterior, right, 0
    return np.sign(mean[0]) * right, anterior, 1


def _mask_at(grid: Grid, mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    """A mask on `grid` at world points (nearest voxel; false outside the grid)."""
    ijk = np.rint(grid.to_ijk(points)).astype(int)
    inside = np.all((ijk >= 0) & (ijk < grid.size_ijk), axis=1)
    found = np.zeros(len(points), dtype=bool)
    found[inside] = mask[ijk[inside, 2], ijk[inside, 1], ijk[inside, 0]]
    return found


def _either(first: np.ndarray | None, second: np.ndarray | None) -> np.ndarray | None:
    """Per slice, flagged in either mask; None where neither is given."""
    if first is None or second is None:
        return first if second is None else second
    return first | second


def at_levels_merged_with_mass(codes: np.ndarray, merged: np.ndarray) -> np.ndarray:
    """Per profile slice: at a level where the cord was traced into the mass on some slice
    (`merged_with_mass`), which the report says is not assessed. The tracer's edge against a mass of
    the cord's own signal is not to be trusted on that level's other slices either: one slice takes
    the mass in, the next cuts into the cord. Generated seed 199 (a posterior metastasis at C3-C5
    narrowing the cord 14 %, painted AP 6.1 mm throughout C4): sections of 80-88 mm2 between ones of
    33-43 mm2, AP traced 1.4-7.6 mm, read as a compression at C4 (MSCC 28 %) beside the warning that
    C4 was not assessed; seed 178 (a right haematoma, 6 %) likewise at T6, MSCC 44 %."""
    return np.isin(codes, codes[merged]) & (codes > 0)


def unassessed_codes(cord: Cord, level_map: LevelMap | None, codes: np.ndarray | None = None, merged: np.ndarray | None = None) -> list[int]:
    """The levels where the cord in the field of view could not be followed (`Cord.unfollowed`),
    leaving out those from `conus_highest_level` down below the cord's inferior end: a cord ending
    there is the conus; and the levels of the profile slices (`codes`) where it was traced into the
    mass (`merged`). A gap the tracker bridged, with cord traced below it, is no conus at any level:
    a compression at T12-L2 bridged over was left out, and the report said nothing of it."""
    found = {int(code) for code in codes[merged]} if codes is not None and merged is not None else set()
    if level_map is None or (not cord.unfollowed and not found):
        return []
    lowest = code_of(settings().conus_highest_level)
    for stretch in cord.unfollowed:
        stretch_codes = level_map.codes_at(stretch)
        found |= {int(code) for code in stretch_codes if code < lowest or not _below_the_cord(cord, stretch)}
    return sorted(code for code in found if code > 0)


def _below_the_cord(cord: Cord, stretch: np.ndarray) -> bool:
    """Whether an unfollowed stretch (world points) lies wholly below the traced cord's inferior end
    (head-foot), where a cord ending inside the field of view ends at its conus."""
    return bool(stretch[:, 2].max() < cord.profile.centreline.points[:, 2].min())


def not_assessed(
    cord: Cord, level_map: LevelMap | None, found: frozenset[int], merged: np.ndarray | None = None, unjudged: np.ndarray | None = None
) -> NotAssessed | None:
    """The levels (None without a level map) and the reason where cord compression could not be judged (`found`:
    `unassessed_codes`), else None."""
    if level_map is None:
        return NotAssessed(None, NotAssessedReason((NotAssessedCause.NO_LEVELS,)))
    if not found:
        return None
    causes = (
        ([NotAssessedCause.NOT_FOLLOWED] if unassessed_codes(cord, level_map) else [])
        + ([NotAssessedCause.TOLD_FROM_MASS] if merged is not None and merged.any() else [])
        + ([NotAssessedCause.NARROWED_UNJUDGED] if unjudged is not None and unjudged.any() else [])
    )
    return NotAssessed(level_extent(sorted(found)), NotAssessedReason(tuple(causes)))


def _not_assessed_warnings(section: Levels) -> list[SpineFinding]:
    missing = section.not_assessed
    return [SpineFinding(SpineFindingCode.COMPRESSION_NOT_ASSESSED, not_assessed=missing)] if missing else []


def _map_findings(level_map: LevelMap) -> list[SpineFinding]:
    return [SpineFinding(SpineFindingCode.LEVEL_MAP, level=finding) for finding in level_map.warnings]


def _unfollowed_row(code: int) -> CordProfileEntry:
    """A level's cord profile row where the cord was not followed through it: nothing measured, not assessed."""
    return CordProfileEntry(name_of(code), code, 0, None, None, None, None, None, None, assessed=False)


def cord_profile(cord: Cord, codes: np.ndarray, compression: Compression | None, unassessed: frozenset[int]) -> tuple[CordProfileEntry, ...]:
    """Per level (superior first): mean area, AP, RL; narrowest AP, its MSCC and healthy ratio, and
    whether the cord was followed through it (`assessed`: false where part of the cord in the field
    could not be, `unassessed_codes`; such a level without any measured slice has a row of its own).

    The narrowest slice is sought outside the conus's taper; a level wholly within it has none. It
    and its MSCC are read as the compression reads them (`CordProfile.judged`), the means as measured."""
    profile = cord.profile
    narrowed = profile.judged
    table = normative()
    usable = np.isfinite(profile.ap_mm) & ~conus_zone(cord)
    compressed = np.zeros(len(codes), dtype=bool)
    if compression is not None:
        compressed[compression.slices] = True
    rows = []
    for code in sorted({int(c) for c in codes if c} | unassessed):
        inside = np.flatnonzero((codes == code) & np.isfinite(profile.ap_mm))
        if inside.size == 0:
            if code in unassessed:
                rows.append(_unfollowed_row(code))
            continue
        judged = inside[usable[inside] & np.isfinite(narrowed.ap_mm[inside])]  # the conus's natural taper is no narrowing
        worst = int(judged[np.argmin(narrowed.ap_mm[judged])]) if judged.size else None
        if worst is None:
            above = below = np.array([], dtype=int)
        elif compression is not None and compressed[worst]:
            above, below = reference_windows(profile.arc_mm, compression.slices, usable & ~compressed)
        else:
            above, below = reference_windows(profile.arc_mm, judged, usable & ~compressed)
        healthy = table.get(code)
        rows.append(CordProfileEntry(
            level=name_of(code),
            code=code,
            slices=int(inside.size),
            area_mm2=_round(np.mean(profile.area_mm2[inside])),
            ap_mm=_round(np.mean(profile.ap_mm[inside])),
            rl_mm=_round(_finite_mean(profile.rl_mm[inside])),
            min_ap_mm=_round(narrowed.ap_mm[worst]) if worst is not None else None,
            mscc_percent=_round(_window_ratio(narrowed.ap_mm, worst, above, below)) if worst is not None else None,
            normalised_ratio=_round(narrowed.ap_mm[worst] / healthy.ap_mm.mean, 3) if healthy and worst is not None else None,
            assessed=code not in unassessed,
        ))
    return tuple(rows)


def _morphology(mass: MassSegment, cord: Cord, level_map: LevelMap | None, images: list[SequenceImage], mass_codes: set[int]) -> dict[str, MorphologyValue]:
    facts: dict[str, MorphologyValue] = {
        "mass_position": position(mass, cord.profile.centreline),
        "mass_volume_mm3": _round(mass.volume_mm3, 0),
        "mass_volume_ml": mass.volume_ml(),
    }
    if facts["mass_position"] == "paraspinal_bilateral":
        facts["paraspinal_bilateral"] = True
    if level_map is not None:
        facts["mass_levels_spanned"] = len(mass_codes)
    by_role = {image.role: image for image in images}
    if "T1" in by_role and "T1C" in by_role:
        rim = rim_enhancement(mass, by_role["T1"], by_role["T1C"])
        if rim is not None:
            facts["rim_enhancement"] = rim
    return facts


def _finite_mean(values: np.ndarray) -> float | None:
    """Mean of the measurable values; None where no slice of the level could be measured."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else None


def _round(value: float | None, digits: int = 2) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)

