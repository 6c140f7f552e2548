"""The report in its two plain forms, JSON for machines and a short text for people, and the
number formats the other report forms (HTML, CSV) share with the text."""

import json
import math
from pathlib import Path

from .. import number_format as numbers
from ..errors import InputError
from ..inputs.clinical import validate_clinical
from ..report_codec import Malformed, model_value, plain_value
from ..report_model import FIRST_SCHEMA, SCHEMA, BilskyEntry, Extent, Levels, Ratio, Report
from ..settings import followup_settings
from ..spine.vertebrae import code_of
from .wording import REPORT_WORDS, normalised_mscc_phrase, summary_line


def write_json(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(report), indent=2) + "\n", encoding="utf-8")


def to_json(report: Report) -> dict:
    """The report as JSON values: each section an object of its fields by their JSON names, each
    ratio keyed by its key's text ("T2 mass/cord"), an optional field left out when it holds nothing,
    a typed finding of the levels section in its words (outputs/wording.py) and, beside them, as its
    codes and numbers."""
    return plain_value(report, REPORT_WORDS)


def from_json(data: dict, subject: str) -> Report:
    """The report a JSON object holds (a file, a scene's report node), checked field by field against
    the model; anything it cannot hold is an InputError naming `subject` and the field's path. A
    report of the first schema (`emhassist.report/1`, its worded findings in words alone) is read as
    the present schema's, its findings read back from their words."""
    first_schema = isinstance(data, dict) and data.get("schema") == FIRST_SCHEMA
    try:
        if isinstance(data, dict) and "schema" in data and data["schema"] not in (SCHEMA, FIRST_SCHEMA):
            raise Malformed("schema", f"expected {SCHEMA!r} or the first schema {FIRST_SCHEMA!r}, got {json.dumps(data['schema'])}")
        if first_schema:
            report = model_value(data | {"schema": SCHEMA}, Report, words=REPORT_WORDS)
        else:
            report = model_value(data, Report)
        _check_stored_values(report)
    except Malformed as error:
        raise InputError(subject, f"{error.path or 'the report'}: {error.problem}") from None
    return report


def _shown(name: str) -> str:
    """A name as the outputs show it: a folder name's bytes that are not UTF-8 (lone surrogates, as
    os.fsdecode gives them) become the replacement character, which is printable."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _check_stored_values(report: Report) -> None:
    """What the types cannot say and a report the analysis wrote always holds, so that an edited
    report is refused here rather than compared or shown as if measured: a printable case name, the
    clinical context as clinical.json's rules read it, every interval ordered
    around its value, the mass volume positive and within a field of view, MSCC at most 100 % (1 - narrowest/expected
    diameter), the levels named once each, by vertebra names, wherever they are referred to, and each
    Bilsky level's reading one of its own grade, its narrowings at most 100 % and its CSF a share."""
    if not _shown(report.case).isprintable():
        raise Malformed("case", f"must be printable text, not {report.case!r}")
    try:  # the rules clinical.json is read by: terms, age, the patient's identifier, the exam's date
        validate_clinical(plain_value(report.clinical), "clinical")
    except InputError as error:
        raise Malformed("clinical", error.problem) from None
    named_ratios = [(f"ratios['{key.text}']", ratio) for key, ratio in report.ratios.items()]
    named_ratios += [(f"enhancement['{key}']", ratio) for key, ratio in (report.enhancement or {}).items()]
    named_ratios += [(f"morphology.{key}", value) for key, value in (report.morphology or {}).items() if isinstance(value, Ratio)]
    for path, ratio in named_ratios:
        low, high = ratio.ci95
        if not low <= ratio.value <= high:
            raise Malformed(path, f"the value {ratio.value:g} lies outside its 95 % interval [{low:g}, {high:g}]")
    volume = (report.morphology or {}).get("mass_volume_ml")
    if volume is not None and not isinstance(volume, Ratio):  # read as "no volume" by the comparison otherwise
        raise Malformed("morphology.mass_volume_ml", f"must be a volume with its 95 % interval ({{\"value\": …, \"ci95\": […, …]}}), not {volume!r}")
    if isinstance(volume, Ratio) and volume.ci95[0] <= 0:
        raise Malformed("morphology.mass_volume_ml", f"a mass volume must be positive, not {volume.ci95[0]:g} mL")
    # The mass is grown on one sequence's voxels: it cannot be larger than the largest field of view.
    field_ml = max((math.prod(n * mm for n, mm in zip(info.size, info.spacing)) / 1000 for info in report.sequences.values()), default=math.inf)
    if isinstance(volume, Ratio) and volume.ci95[1] > field_ml:
        raise Malformed("morphology.mass_volume_ml", f"a mass volume of {volume.ci95[1]:g} mL is larger than any sequence's field of view ({field_ml:.0f} mL)")
    # Nor smaller than one voxel of the finest sequence less its boundary share, the least a grown mass's low
    # bound can be: `compare` divides by the earlier exam's bounds (1e-300 mL overflowed it, a traceback).
    least_ml = (1 - followup_settings().volume.boundary_share) * min((math.prod(info.spacing) / 1000 for info in report.sequences.values()), default=0.0)
    if isinstance(volume, Ratio) and volume.ci95[0] < least_ml:
        raise Malformed("morphology.mass_volume_ml", f"a mass volume of {volume.ci95[0]:g} mL is smaller than one voxel of the finest sequence makes ({least_ml:.3g} mL)")
    if report.levels is not None:
        _check_levels(report.levels)


def _check_levels(levels: Levels) -> None:
    names: list[str] = []
    for index, vertebra in enumerate(levels.vertebrae):
        path = f"levels.vertebrae[{index}].name"
        try:
            code = code_of(vertebra.name)
        except InputError as error:
            raise Malformed(path, error.problem) from None
        if vertebra.name in names:
            raise Malformed(path, f"{vertebra.name} is given twice")
        if code != vertebra.code:
            raise Malformed(f"levels.vertebrae[{index}].code", f"{vertebra.name} has the code {code}, not {vertebra.code}")
        names.append(vertebra.name)
    referred = [("levels.mass", level) for extent in (levels.mass,) if extent for level in _extent_names(extent)]
    compression = levels.compression
    for path, first, last in _stated_spans(levels):
        if first in names and last in names and code_of(first) > code_of(last):
            raise Malformed(path, f"runs from {first} to {last}: a span is written head first")
    if compression is not None:
        referred += [("levels.compression", level) for level in (compression.from_, compression.to, compression.at) if level is not None]
        if compression.max_mscc_percent is not None and compression.max_mscc_percent > 100:
            raise Malformed("levels.compression.max_mscc_percent", f"MSCC is at most 100 %, not {compression.max_mscc_percent:g}")
    for index, row in enumerate(levels.cord_profile):
        referred.append((f"levels.cord_profile[{index}]", row.level))
        if row.mscc_percent is not None and row.mscc_percent > 100:
            raise Malformed(f"levels.cord_profile[{index}].mscc_percent", f"MSCC is at most 100 %, not {row.mscc_percent:g}")
    for index, row in enumerate(levels.bilsky.levels if levels.bilsky else ()):
        referred.append((f"levels.bilsky.levels[{index}]", row.level))
        _check_bilsky_measures(f"levels.bilsky.levels[{index}]", row)
        if row.explanation.case.grade != row.grade:
            case = row.explanation.case.value
            raise Malformed(f"levels.bilsky.levels[{index}].explanation_code.case", f"{case!r} is a reading of grade {row.explanation.case.grade}, not of the level's grade {row.grade}")
    for path, level in referred:
        if level not in names:
            raise Malformed(path, f"names the level {level!r}, which is not among the report's vertebrae")


def _check_bilsky_measures(path: str, row: BilskyEntry) -> None:
    """A level's percentages are MSCC's formula (1 - narrowest/reference), so at most 100 (below 0
    where the level is wider than its reference); its CSF a share of the cord's circumference."""
    percentages = {"cord_narrowing_percent": row.cord_narrowing_percent, "mcc_percent": row.mcc_percent,
                   "sac_narrowed_percent": row.sac_narrowed_percent, "sac_area_ratio_percent": row.sac_area_ratio_percent}
    for name, value in percentages.items():
        if value is not None and value > 100:
            raise Malformed(f"{path}.{name}", f"a narrowing is at most 100 %, not {value:g}")
    if not 0 <= row.csf_fraction <= 1:
        raise Malformed(f"{path}.csf_fraction", f"a share of the cord's circumference lies between 0 and 1, not {row.csf_fraction:g}")


def _stated_spans(levels: Levels) -> list[tuple[str, str, str]]:
    """(path, from, to) of the mass's extent and spans and of the compression."""
    spans = []
    if levels.mass:
        spans.append(("levels.mass", levels.mass.from_, levels.mass.to))
        spans += [(f"levels.mass.spans[{index}]", span.from_, span.to) for index, span in enumerate(levels.mass.spans)]
    compression = levels.compression
    if compression is not None and compression.from_ is not None and compression.to is not None:
        spans.append(("levels.compression", compression.from_, compression.to))
    return spans


def _extent_names(extent: Extent) -> list[str]:
    return [extent.from_, extent.to] + [name for span in extent.spans for name in (span.from_, span.to)]


def summary_text(report: Report) -> str:
    lines = [f"EMHAssist — case {report.case}", report.caveat, ""]
    lines += _sequence_lines(report) + [""] + _region_lines(report) + [""] + _ratio_lines(report)
    levels_line = summary_line(report.levels)
    if levels_line:
        lines += ["", f"Levels: {levels_line}"]
    compression = report.levels.compression if report.levels else None
    if compression:
        lines.append(f"MSCC against healthy cords at {compression.at} (95 % CI): {normalised_mscc_phrase(compression)}")
    if report.differential:
        lines += [""] + differential_lines(report)
        if report.next_best.text:
            lines.append(f"Next best step: {report.next_best.text}")
    if report.warnings:
        lines += ["", "Warnings:"] + [f"  - {warning}" for warning in report.warnings]
    return "\n".join(lines) + "\n"


def differential_lines(report: Report, shown: int = 3) -> list[str]:
    """The top candidates with their probability, prior and main reasons, and why the prior decides
    when it does (the caveat heads the whole summary)."""
    lines = ["Differential (probability; prior from the clinical context):"]
    for place, entry in enumerate(report.differential[:shown], start=1):
        lines.append(f"{place}. {entry.name}: {numbers.probability(entry.probability)} (prior {numbers.probability(entry.prior)})")
        reasons_for = [item.finding for item in entry.evidence if item.supports][:2]
        reasons_against = [item.finding for item in entry.evidence if not item.supports][:2]
        if reasons_for:
            lines.append(f"   for: {'; '.join(reasons_for)}")
        if reasons_against:
            lines.append(f"   against: {'; '.join(reasons_against)}")
        if entry.prior_factors:
            lines.append("   prior: " + ", ".join(f"{factor.label} ×{factor.factor:.3g}" for factor in entry.prior_factors))
    if report.priors_decide is not None:
        lines.append(report.priors_decide.why or report.priors_decide.text)
    return lines


def _sequence_lines(report: Report) -> list[str]:
    lines = ["Sequences:"]
    for role, info in report.sequences.items():
        size = "×".join(str(n) for n in info.size)
        lines.append(f"  {role:<6} {size} voxels of {numbers.spacing(info.spacing)}  ({info.file})")
    return lines


def _region_lines(report: Report) -> list[str]:
    lines = ["Region means (sd, voxels):"]
    for region, by_role in report.regions.items():
        cells = [f"{role} {s.mean:.1f} ({s.sd:.1f}, {s.n})" for role, s in by_role.items()]
        lines.append(f"  {region:<7} " + "   ".join(cells))
    return lines


def _ratio_lines(report: Report) -> list[str]:
    lines = ["Signal-intensity ratios (95 % CI):"]
    lines += [f"  {key.text:<22} {ratio_text(ratio)}" for key, ratio in report.ratios.items()]
    lines += [f"  enhancement {region:<10} {ratio_text(value, percent=True)}" for region, value in report.enhancement.items()]
    return lines


def ratio_text(ratio: Ratio, percent: bool = False) -> str:
    """A ratio with its 95 % interval, or (`percent`) a change such as an enhancement (number_format.py)."""
    low, high = ratio.ci95
    if percent:
        return numbers.signed_percent_interval(ratio.value, low, high)
    return numbers.ratio_interval(ratio.value, low, high)
