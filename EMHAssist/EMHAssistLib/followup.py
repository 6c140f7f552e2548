"""Two analysed exams of one patient compared: what changed between them (`emhassist compare`).

The exams' vertebral levels are matched by name (each exam's own points, on its own grid: nothing is
resampled or registered); per level, whether the mass reaches it, whether the cord is compressed,
its MSCC and Bilsky grade then and now; the grown mass's volume with partial-volume bounds
(data/followup.json says how they are derived) and its change; every ratio both exams measured,
then and now, with its interval; and one summary line in data/followup.json's words.

It reads each exam's typed `Report` (report_model.py), so an exam is a case folder analysed now or a
report written earlier; only `exam_facts` reads the report, the rest works on the values it returns.
"""

from dataclasses import dataclass
from typing import Literal

from . import CAVEAT
from . import number_format as numbers
from .errors import InputError
from .report_codec import plain_value
from .report_model import CordCompression, Extent, LevelVertebra, Ratio, RatioKey, Report
from .settings import FollowupWording, followup_settings
from .spine.vertebrae import code_of

SCHEMA = "emhassist.comparison/1"


@dataclass(frozen=True)
class Estimate:
    """A measured quantity with its 95 % interval: a volume in mL (the report's morphology
    `mass_volume_ml`, partial-volume bounds, data/followup.json) or its change."""

    value: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class LevelFacts:
    """One vertebral level of one exam, as the comparison reads it."""

    name: str
    mass: bool  # the mass reaches the level
    compressed: bool  # the level lies in the compressed segment
    mscc_percent: float | None
    bilsky: str | None


@dataclass(frozen=True)
class ExamFacts:
    """What the comparison reads from one exam's report and its grown mass."""

    case: str
    given_as: str  # the file or folder the exam was given as, which a refusal names
    patient: str
    date: str | None
    levels: tuple[LevelFacts, ...]  # superior first
    mass_volume_ml: Estimate | None
    ratios: dict[RatioKey, Ratio]
    most_severe_bilsky: str | None  # "2 at T6", the report's own most severe level

    def level(self, name: str) -> LevelFacts | None:
        return next((level for level in self.levels if level.name == name), None)

    def names(self, attribute: str) -> list[str]:
        """The levels where `attribute` ("mass", "compressed") holds, superior first."""
        return [level.name for level in self.levels if getattr(level, attribute)]


@dataclass(frozen=True)
class LevelChange:
    level: str
    mass_then: bool
    mass_now: bool
    compressed_then: bool
    compressed_now: bool
    mscc_then: float | None
    mscc_now: float | None
    bilsky_then: str | None
    bilsky_now: str | None


@dataclass(frozen=True)
class RatioChange:
    """A ratio both exams measured, with its 95 % interval in each."""

    then: Ratio
    now: Ratio


@dataclass(frozen=True)
class ExamSummary:
    case: str
    date: str | None
    mass_levels: tuple[str, ...]
    compressed_levels: tuple[str, ...]
    mass_volume_ml: Estimate | None


@dataclass(frozen=True)
class Comparison:
    """Two exams of `patient` (`emhassist.comparison/1`); `volume_change` is later / earlier - 1."""

    schema: Literal["emhassist.comparison/1"]
    patient: str
    caveat: str
    earlier: ExamSummary
    later: ExamSummary
    matched_levels: tuple[str, ...]  # named in both exams, superior first
    only_earlier: tuple[str, ...]
    only_later: tuple[str, ...]
    volume_change: Estimate | None
    levels: tuple[LevelChange, ...]  # the matched levels where either exam has mass or compression
    ratios: dict[RatioKey, RatioChange]  # in the earlier report's order
    same_study: bool  # the two reports hold the same case, date and measurements: one exam given twice
    summary: str


def compare(earlier: Report, later: Report, given_as: tuple[str, str] | None = None) -> Comparison:
    """The change from `earlier` to `later`; InputError for two patients or no shared level, naming
    each exam as `given_as` names it (the files or folders given; by default each report's case,
    which two stored reports of one case share)."""
    earlier_name, later_name = given_as or (earlier.case, later.case)
    then, now = exam_facts(earlier, "EARLIER", earlier_name), exam_facts(later, "LATER", later_name)
    if then.patient != now.patient:
        raise InputError(now.given_as, f"is an exam of patient {now.patient!r}, the earlier exam {then.given_as} of {then.patient!r}; compare takes two exams of one patient")
    if then.date and now.date and then.date > now.date:
        raise InputError(then.given_as, f"(EARLIER) is dated {then.date}, after {now.given_as} (LATER, {now.date}); give the earlier exam first")
    then_names, now_names = [level.name for level in then.levels], [level.name for level in now.levels]
    matched = tuple(name for name in then_names if name in now_names)
    if not matched:
        raise InputError(now.given_as, f"shares no vertebral level with {then.given_as} ({_listed(then_names)} against {_listed(now_names)}); label the levels in both exams")
    changes = tuple(_level_change(name, then.level(name), now.level(name)) for name in matched)
    volume = volume_change(then.mass_volume_ml, now.mass_volume_ml)
    comparison_levels = tuple(change for change in changes if change.mass_then or change.mass_now or change.compressed_then or change.compressed_now)
    ratios = {key: RatioChange(then.ratios[key], now.ratios[key]) for key in then.ratios if key in now.ratios}
    same_study = plain_value(earlier) == plain_value(later)
    summary = summary_line(then, now, volume, ratios)
    return Comparison(
        schema=SCHEMA,
        patient=then.patient,
        caveat=CAVEAT,
        earlier=_summary(then),
        later=_summary(now),
        matched_levels=matched,
        only_earlier=tuple(name for name in then_names if name not in now_names),
        only_later=tuple(name for name in now_names if name not in then_names),
        volume_change=volume,
        levels=comparison_levels,
        ratios=ratios,
        same_study=same_study,
        summary=f"{followup_settings().wording.same_study}: {summary}" if same_study else summary,
    )


def exam_facts(report: Report, which: str, given_as: str) -> ExamFacts:
    """The levels, mass volume and ratios of one analysed exam; InputError naming `given_as` (the
    exam's file or folder) when it names no patient or has no vertebral levels."""
    if not report.clinical.patient:
        raise InputError(given_as, f"({which}) names no patient: compare needs 'patient' in each exam's clinical.json")
    levels = report.levels
    if levels is None or not levels.vertebrae:
        raise InputError(given_as, f"({which}) has no vertebral levels (levels.mrk.json), so its levels cannot be matched")
    mass_levels = set(_extent_levels(levels.mass, levels.vertebrae))
    compressed = set(_extent_levels(levels.compression, levels.vertebrae))
    mscc = {row.level: row.mscc_percent for row in levels.cord_profile}
    grading = levels.bilsky
    bilsky = {row.level: row.grade for row in grading.levels} if grading else {}
    facts = tuple(
        LevelFacts(vertebra.name, vertebra.name in mass_levels, vertebra.name in compressed, mscc.get(vertebra.name), bilsky.get(vertebra.name))
        for vertebra in levels.vertebrae
    )
    worst = grading.most_severe if grading else None
    grown = (report.morphology or {}).get("mass_volume_ml")
    volume = Estimate(grown.value, grown.ci95) if isinstance(grown, Ratio) else None
    return ExamFacts(
        report.case, given_as, report.clinical.patient, report.clinical.exam_date, facts, volume, dict(report.ratios), f"{worst.grade} at {worst.level}" if worst else None
    )


def volume_change(then: Estimate | None, now: Estimate | None) -> Estimate | None:
    """later / earlier - 1, its interval from the extreme ratios of the two exams' bounds."""
    if then is None or now is None:
        return None
    return Estimate(now.value / then.value - 1, (now.ci95[0] / then.ci95[1] - 1, now.ci95[1] / then.ci95[0] - 1))


def summary_line(then: ExamFacts, now: ExamFacts, volume: Estimate | None, ratios: dict[RatioKey, RatioChange]) -> str:
    """"mass smaller by 54 % (…) than 2026-06-02, mass now T6–T7 (was T5–T8), no longer compressing T5; still T6–T7, …"."""
    words = followup_settings().wording
    parts = [_volume_phrase(volume, words, then.date)]
    mass_then, mass_now = then.names("mass"), now.names("mass")
    if mass_then != mass_now:
        parts.append(words.span_changed.format(now=_runs_text(mass_now) or "none", then=_runs_text(mass_then) or "none"))
    parts.append(_compression_phrase(then.names("compressed"), now.names("compressed"), words))
    worst_then, worst_now = then.most_severe_bilsky, now.most_severe_bilsky
    if worst_then and worst_then == worst_now:
        parts.append(words.bilsky_unchanged.format(now=worst_now))
    elif worst_then or worst_now:
        parts.append(words.bilsky.format(then=worst_then or "–", now=worst_now or "–"))
    stated = followup_settings().summary_ratio
    if stated in ratios:
        change = ratios[stated]
        parts.append(words.ratio.format(key=stated.text, then=numbers.ratio(change.then.value), now=numbers.ratio(change.now.value)))
    return ", ".join(parts)


def _volume_phrase(volume: Estimate | None, words: FollowupWording, earlier_date: str | None) -> str:
    """The volume's change, dated against the earlier exam: "smaller … than <date>", "unchanged … since <date>"."""
    if volume is None:
        return words.no_mass
    low, high = volume.ci95
    interval = f"95 % CI {numbers.signed_percent_range(low, high)}"
    if low <= 0 <= high:
        phrase, dated = words.unchanged.format(change=numbers.signed_percent(volume.value), interval=interval), words.since
    else:
        changed = words.smaller if volume.value < 0 else words.larger
        phrase, dated = changed.format(percent=numbers.percent(abs(100 * volume.value)).removesuffix(" %"), interval=interval), words.than
    return f"{phrase} {dated.format(date=earlier_date)}" if earlier_date else phrase


def _compression_phrase(then: list[str], now: list[str], words: FollowupWording) -> str:
    if not then and not now:
        return words.no_compression
    phrases = []
    gone, kept, new = [n for n in then if n not in now], [n for n in then if n in now], [n for n in now if n not in then]
    if gone:
        phrases.append(words.no_longer_compressing.format(levels=_runs_text(gone)))
    if kept:
        phrases.append(words.still_compressing.format(levels=_runs_text(kept)))
    if new:
        phrases.append(words.newly_compressing.format(levels=_runs_text(new)))
    return "; ".join(phrases)


def _level_change(name: str, then: LevelFacts, now: LevelFacts) -> LevelChange:
    return LevelChange(name, then.mass, now.mass, then.compressed, now.compressed, then.mscc_percent, now.mscc_percent, then.bilsky, now.bilsky)


def _summary(exam: ExamFacts) -> ExamSummary:
    return ExamSummary(exam.case, exam.date, tuple(exam.names("mass")), tuple(exam.names("compressed")), exam.mass_volume_ml)


def _extent_levels(extent: Extent | CordCompression | None, vertebrae: tuple[LevelVertebra, ...]) -> list[str]:
    """The named vertebrae inside each span of an extent (or of a compression's from–to range)."""
    if extent is None or extent.from_ is None:
        return []
    names = []
    for span in getattr(extent, "spans", None) or [extent]:
        low, high = code_of(span.from_), code_of(span.to)
        names += [vertebra.name for vertebra in vertebrae if low <= vertebra.code <= high]
    return names


def _runs_text(names: list[str]) -> str:
    """Level names as contiguous runs: ["T5", "T6", "T7", "T9"] -> "T5–T7, T9"."""
    runs: list[list[str]] = []
    for name in sorted(names, key=code_of):
        if runs and code_of(name) == code_of(runs[-1][-1]) + 1:
            runs[-1].append(name)
        else:
            runs.append([name])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]}–{run[-1]}" for run in runs)


def _listed(names: list[str]) -> str:
    return _runs_text(names) or "none"
