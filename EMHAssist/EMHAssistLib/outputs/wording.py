"""Report wording: the levels section in the words a radiologist would dictate, shared by the text
summary, the batch CSV, the HTML page, the overlays, the browser viewer and the quiz; and the spine
stage's findings (spine/findings.py) in the words of data/wording.json, which the analysis states as
the report's warnings.

The spine step writes the levels section and names what it found; how it reads aloud lives here,
with the outputs that show it. Every function reads the typed section (report_model.py) or a typed
finding. This module is a layer of its own, after the stages that compute and before the analysis
that builds the report from their words (Testing/test_layers.py): no stage that measures imports it.
"""

import functools
import math
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from .. import number_format as numbers
from ..errors import InputError
from ..knowledge import load
from ..measurement.findings import RegionFinding, RegionFindingCode
from ..report_codec import Malformed, worded_fields
from ..report_model import (
    BilskyCase,
    BilskyEntry,
    BilskyGrade,
    BilskyReading,
    CordCompression,
    Extent,
    Levels,
    NormalisedMsccGap,
    NormalisedMsccGapCode,
    NotAssessed,
    NotAssessedCause,
    NotAssessedReason,
    Span,
    Worded,
    coded_name,
)
from ..settings import bilsky_settings, format_version, keyed, parse, spine_settings
from ..spine.findings import LevelFinding, LevelFindingCode, SpineFinding, SpineFindingCode, WalkStopReason
from ..spine.normative import covered_codes
from ..spine.vertebrae import code_of, name_of, spans_text


def _values(codes: type[Enum]) -> Callable[[], list[str]]:
    """The keys a data file gives one text each: the values of one kind of finding's codes."""
    return lambda: [code.value for code in codes]


@dataclass(frozen=True)
class Directions:
    """How a level finding says the way a walk went: beyond the body it stopped at."""

    superior: str
    inferior: str
    one_missed: str  # the pronoun for one level not found, "it"
    several_missed: str  # for several, "them"


@dataclass(frozen=True)
class Wording:
    """data/wording.json: the text of each finding, filled with what it names."""

    version: int = format_version()
    region_findings: dict[str, str] = keyed(_values(RegionFindingCode))
    level_findings: dict[str, str] = keyed(_values(LevelFindingCode))
    walk_stops: dict[str, str] = keyed(_values(WalkStopReason))
    walk_stop_advice: dict[str, str]  # by the WalkStopReason whose warning adds a step; checked in `wording`
    directions: Directions
    spine_findings: dict[str, str] = keyed(_values(SpineFindingCode))
    spine_findings_without_levels: dict[str, str]
    unnamed_level: str
    not_assessed_causes: dict[str, str] = keyed(_values(NotAssessedCause))
    not_assessed_separator: str
    normalised_mscc_unavailable: dict[str, str] = keyed(_values(NormalisedMsccGapCode))
    outside_named_levels: str
    bilsky_explanations: dict[str, str] = keyed(_values(BilskyCase))


@functools.cache
def wording() -> Wording:
    words = parse(Wording, load("wording"), "wording")
    for reason in words.walk_stop_advice.keys() - set(_values(WalkStopReason)()):
        raise InputError("EMHAssistLib/data/wording.json", f"walk_stop_advice.{reason}: is not a walk stop (known: {', '.join(_values(WalkStopReason)())})")
    return words


def region_finding_text(finding: RegionFinding) -> str:
    """What measuring a region found doubtful, as the report's warning and the panel's region status state it."""
    return wording().region_findings[finding.code.value].format(region=finding.region, role=finding.role, label=finding.label, voxels=finding.voxels)


def finding_text(finding: SpineFinding) -> str:
    """A spine finding as the report's warning states it."""
    words = wording()
    code = finding.code.value
    missing = finding.not_assessed
    levels = missing.levels if missing is not None else finding.levels
    reason = not_assessed_reason_text(missing.reason) if missing is not None else None
    if levels is None and code in words.spine_findings_without_levels:
        return words.spine_findings_without_levels[code].format(reason=reason)
    return words.spine_findings[code].format(
        levels=_levels_named(levels) if levels is not None else None,
        label=finding.label,
        error=str(finding.error) if finding.error is not None else None,
        reason=reason,
        level=level_finding_text(finding.level) if finding.level is not None else None,
        no_cord_found=words.not_assessed_causes[NotAssessedCause.NO_CORD_FOUND.value],
    )


def level_finding_text(finding: LevelFinding) -> str:
    """What the level detection found doubtful (spine/levels.py), as the report's warning states it."""
    words = wording()
    stop = finding.stop
    if stop is None:
        return words.level_findings[finding.code.value]
    beyond = words.directions.superior if stop.direction < 0 else words.directions.inferior
    why = words.walk_stops[stop.reason.value].format(beyond=beyond, start=stop.start, extrapolation_mm=stop.extrapolation_mm)
    advice = words.walk_stop_advice.get(stop.reason.value, "").format(beyond=beyond)
    head_first = sorted(finding.missing, key=code_of)  # `missing` runs outward from `after`: upward it ran "T8–T1"
    missed = spans_text([(head_first[0], head_first[-1])]) if head_first else None
    them = words.directions.one_missed if len(finding.missing) == 1 else words.directions.several_missed
    return words.level_findings[finding.code.value].format(beyond=beyond, after=finding.after, why=why, advice=advice, missing=missed, them=them)


def _levels_named(levels: Extent | CordCompression) -> str:
    """The levels as every output names them; a compression at no named level as the wording data says."""
    if isinstance(levels, CordCompression) and levels.from_ is None:
        return levels.at or wording().unnamed_level
    return level_span(levels)


def summary_line(levels: Levels | None) -> str | None:
    """One line as a radiologist would dictate it: "mass T5–T8, cord compressed T5–T7, MSCC 41 % at T6, Bilsky 2 at T6";
    a compression shown by another measure names it first: "cord compressed T5, RL ratio 37 % at T5, MSCC 3 %"."""
    if levels is None:
        return None
    parts = []
    if levels.mass is not None:
        parts.append(f"mass {level_span(levels.mass)}")
    compression = levels.compression
    missing = levels.not_assessed
    if compression is not None:
        at = f" at {compression.at}"
        said = [f", {name} {percent:.0f} %{at if index == 0 else ''}" for index, (name, percent) in enumerate(stated_measures(compression))]
        parts.append(f"cord compressed {level_span(compression)}" + "".join(said))
    elif not missing or (missing.levels and not _spans_meet(levels.mass, missing.levels)):
        # Where the cord beside the mass was not followed, "no cord compression" would claim what was not seen.
        parts.append("no cord compression")
    worst = levels.bilsky.most_severe if levels.bilsky else None
    if worst is not None:
        parts.append(f"{grade_phrase(worst.grade)} at {worst.level}")
    if missing:
        parts.append(not_assessed_phrase(missing))
    return ", ".join(parts)


def level_span(extent: Extent | Span | CordCompression, separator: str | None = None) -> str:
    """"T5–T8", "T5" for a single level, "T5–T9 and S1–S3" for an extent in separate spans (its
    `spans`; a compression, one segment of the cord, has none). With a `separator` the spans are
    joined by it instead ("T5–T9; S1–S3"), for a table cell a program splits."""
    return spans_text([(span.from_, span.to) for span in spans_of(extent)], separator)


def spans_of(extent: Extent | Span | CordCompression) -> tuple[Extent | Span | CordCompression, ...]:
    """The extent's spans, superior first; an extent without them (a compression) is one span."""
    return extent.spans if isinstance(extent, Extent) and extent.spans else (extent,)


def _spans_meet(mass: Extent | None, span: Extent) -> bool:
    if mass is None:
        return False
    return code_of(mass.from_) <= code_of(span.to) and code_of(span.from_) <= code_of(mass.to)


def not_assessed_phrase(missing: NotAssessed) -> str:
    """The levels section's `not_assessed` in words, as the summary line ends and the HTML table says it."""
    return f"compression not assessed {level_span(missing.levels)}" if missing.levels else "compression not assessed (no vertebral levels)"


def stated_measures(compression: CordCompression) -> list[tuple[str, float]]:
    """The measures a compression is stated by, as (name, percent) at its worst slice: the one that
    showed it first, then MSCC, which is always said (a compression without `shown_by` was found by it)."""
    measures = spine_settings().compression.measures
    fields = {measure.name: measure.field for measure in measures}
    mscc = measures[0].name
    lead = (compression.shown_by or (mscc,))[0]
    named = [lead] + ([mscc] if lead != mscc else [])
    return [(name, getattr(compression, fields[name])) for name in named if getattr(compression, fields[name]) is not None]


def normalised_mscc_phrase(compression: CordCompression) -> str:
    """The compression's MSCC against healthy cords of the same levels with its interval,
    "41 % (39 to 44 %)", or why there is none: "no healthy reference at L2 (the healthy table covers C1–L1)"."""
    if compression.normalised_mscc_percent is None:
        gap = compression.normalised_mscc_unavailable
        return normalised_mscc_gap_text(gap) if gap is not None else "not measured"
    low, high = compression.normalised_mscc_interval_percent
    return numbers.percent_interval(compression.normalised_mscc_percent, low, high)


def graded_levels(levels: Levels | None) -> tuple[BilskyEntry, ...]:
    """The levels whose Bilsky grade every surface states, superior first: those the mass reaches the
    canal at (1a and above). A level graded 0 has no epidural mass, so saying it would add a line per
    vertebra and nothing the summary line does not already say."""
    if levels is None or levels.bilsky is None:
        return ()
    return tuple(entry for entry in levels.bilsky.levels if entry.grade != "0")


def grade_phrase(grade: BilskyGrade) -> str:
    """ "Bilsky 2", as the summary line, the HTML page and the overlay labels say a grade."""
    return f"Bilsky {grade}"


def bilsky_meanings() -> list[tuple[str, str]]:
    """Each Bilsky grade with what it means (data/bilsky.json, after Bilsky et al. 2010)."""
    return [(grade.grade, grade.meaning) for grade in bilsky_settings().grades]


# ---------------------------------------------------------------------------------------------
# The levels section's typed findings (report_model.Worded) in words, and back from a stored report


def not_assessed_reason_text(reason: NotAssessedReason) -> str:
    """Why compression was not assessed, as the levels section's `not_assessed.reason` states it."""
    words = wording()
    return words.not_assessed_separator.join(words.not_assessed_causes[cause.value].format(error=reason.error) for cause in reason.causes)


def normalised_mscc_gap_text(gap: NormalisedMsccGap) -> str:
    """Why there is no normalised MSCC: "no healthy reference at L2 (the healthy table covers C1–L1)",
    the levels the healthy table covers read from the table (spine/normative.py)."""
    words = wording()
    missing = ", ".join(name_of(code) if code else words.outside_named_levels for code in gap.missing)
    first, last = covered_codes()
    return words.normalised_mscc_unavailable[gap.code.value].format(missing=missing, covered=spans_text([(name_of(first), name_of(last))]))


def bilsky_explanation_text(entry: BilskyEntry) -> str:
    """What a level's grade was decided on, in the level's quantities its reading names, so a reader can check it against the image."""
    return _explanation(entry.explanation.case, entry.level, _stated_quantities(entry))


def _stated_quantities(entry: BilskyEntry) -> dict[str, float]:
    """The quantities data/wording.json's `bilsky_explanations` name, from the level's own; one not
    measured at the level is stated as no indent or narrowing, and a gap to the cord as infinite."""
    return {
        "sac_narrowed_percent": entry.sac_narrowed_percent if entry.sac_narrowed_percent is not None else 0.0,
        "sac_indent_mm": entry.sac_indent_mm if entry.sac_indent_mm is not None else 0.0,
        "mass_gap_mm": entry.mass_gap_mm if entry.mass_gap_mm is not None else math.inf,
        "cord_narrowing_percent": round(entry.cord_narrowing_percent or 0.0),  # a whole percent, never "-0"
        "csf_percent": 100 * entry.csf_fraction,
    }


def _explanation(case: BilskyCase, level: str, quantities: dict[str, float]) -> str:
    return wording().bilsky_explanations[case.value].format(level=level, **quantities)


def _field_names(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


# Each field matched as narrowly as it is written, so that refusing a stored report's crafted words takes
# time in proportion to their length: a number format ("{gap_mm:.1f}") holds a number, and a field beside
# others (a level's name, a list of them) no bracket; the one field of a template (a tracker's error) any
# text. With every field matched as any text, an explanation repeating the literals between its fields
# (" (1 mm inside its reference outline), " 800 times, 30 kB) took 39 s to refuse, as the cube of its length.
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|inf|nan)"


def _filled(template: str, text: str) -> dict[str, str] | None:
    """The text each of `template`'s fields holds in `text`, or None where `text` is not the template filled."""
    parts = list(string.Formatter().parse(template))
    alone = sum(1 for _, name, _, _ in parts if name) == 1
    pattern = "".join(re.escape(literal) + (_field_pattern(name, spec, alone) if name else "") for literal, name, spec, _ in parts)
    match = re.fullmatch(pattern, text, re.DOTALL)
    return match.groupdict() if match else None


def _field_pattern(name: str, spec: str | None, alone: bool) -> str:
    if spec and spec[-1] in "dfeg%":
        return f"(?P<{name}>{_NUMBER})"
    return f"(?P<{name}>{'.+?' if alone else '[^()]+?'})"


# Each refusal says what is wrong before the text it read: an error line is cut to its length budget
# (data/limits.json), and a long stored text would push the reason out.


def _read_not_assessed(text: str) -> NotAssessedReason:
    words = wording()
    by_text = {template: NotAssessedCause(code) for code, template in words.not_assessed_causes.items() if not _field_names(template)}
    parts = text.split(words.not_assessed_separator)
    if all(part in by_text for part in parts):
        return NotAssessedReason(tuple(by_text[part] for part in parts))
    # Not the stage's own causes: the tracker's input error, whose text is its own (and may hold the separator).
    filled = _filled(words.not_assessed_causes[NotAssessedCause.CORD_NOT_TRACED.value], text)
    if filled is None:
        raise ValueError(f"the text is none of the reasons data/wording.json's not_assessed_causes give: {text!r}")
    return NotAssessedReason((NotAssessedCause.CORD_NOT_TRACED,), filled["error"])


def _level_codes_named(names: str) -> tuple[int, ...]:
    outside = wording().outside_named_levels
    return tuple(0 if name == outside else code_of(name) for name in names.split(", "))


def _read_gap(text: str) -> NormalisedMsccGap:
    for code, template in wording().normalised_mscc_unavailable.items():
        filled = _filled(template, text)
        if filled is None:
            continue
        if "missing" not in filled:
            return NormalisedMsccGap(NormalisedMsccGapCode(code))
        try:
            return NormalisedMsccGap(NormalisedMsccGapCode(code), _level_codes_named(filled["missing"]))
        except InputError as error:
            raise ValueError(error.problem) from None
    raise ValueError(f"the text is none of the texts data/wording.json's normalised_mscc_unavailable give: {text!r}")


def _read_bilsky(text: str) -> tuple[BilskyCase, str, dict[str, float]]:
    """The case a level's explanation states, the level it names and the quantities it shows."""
    for case, template in wording().bilsky_explanations.items():
        filled = _filled(template, text)
        if filled is None:
            continue
        try:
            quantities = {name: float(value) for name, value in filled.items() if name != "level"}
        except ValueError:
            continue  # a quantity that is not a number: the words of another case
        return BilskyCase(case), filled["level"], quantities
    raise ValueError(f"the text is none of the explanations data/wording.json's bilsky_explanations give: {text!r}")


def _read_back(worded: str, text: str) -> None:
    """Words are read as a finding only where that finding is worded as the very same text (`worded`)."""
    if worded != text:
        raise ValueError(f"the text does not read back as the words data/wording.json gives it ({worded!r}): {text!r}")


def _reason_coded(text: str, section: dict) -> dict:
    reason = _read_not_assessed(text)
    _read_back(not_assessed_reason_text(reason), text)
    return {coded_name("reason"): reason}


def _gap_coded(text: str, section: dict) -> dict:
    gap = _read_gap(text)
    _read_back(normalised_mscc_gap_text(gap), text)
    return {coded_name("normalised_mscc_unavailable"): gap}


def _explanation_coded(text: str, section: dict) -> dict:
    """A level's reading, and the sac's narrowing, which the first schema kept only in the words of a
    "1b narrowed" explanation (at the precision they show; null at a level whose words do not say it)."""
    case, level, quantities = _read_bilsky(text)
    _read_back(_explanation(case, level, quantities), text)
    if level != section.get("level", level):
        raise ValueError(f"the explanation names the level {level}, its entry {section['level']}: {text!r}")
    narrowed = {"sac_narrowed_percent": quantities.get("sac_narrowed_percent")} if "sac_narrowed_percent" not in section else {}
    return {coded_name("explanation"): BilskyReading(case)} | narrowed


# The readers of the first schema's words, by the section and the field that holds them.
_CODED = {
    (NotAssessed, "reason"): _reason_coded,
    (CordCompression, "normalised_mscc_unavailable"): _gap_coded,
    (BilskyEntry, "explanation"): _explanation_coded,
}
_WRITERS = {
    NotAssessedReason: lambda reason, _: not_assessed_reason_text(reason),
    NormalisedMsccGap: lambda gap, _: normalised_mscc_gap_text(gap),
    BilskyReading: lambda _, entry: bilsky_explanation_text(entry),
}


class ReportWords:
    """The report's `Worded` findings in the words of data/wording.json (report_codec.Words); and a
    section of a report of the first schema (`emhassist.report/1`), which held only the words, read as
    the present schema writes it: each finding its words state put beside them, accepted only where that
    finding is worded as the very same text (a Bilsky reading: with the quantities its words show)."""

    def text(self, value: Worded, holder: object) -> str:
        return _WRITERS[type(value)](value, holder)

    def coded(self, section: dict, cls: type, path: str) -> dict:
        for name in sorted(worded_fields(cls)):
            text = section.get(name)
            if text is None and name in section:
                section = section | {coded_name(name): None}  # no finding
            if not isinstance(text, str):
                continue  # not words: the model's reading says what is wrong
            try:
                section = section | _CODED[cls, name](text, section)
            except ValueError as error:
                raise Malformed(f"{path}.{name}".lstrip("."), str(error)) from None
        return section


REPORT_WORDS = ReportWords()
