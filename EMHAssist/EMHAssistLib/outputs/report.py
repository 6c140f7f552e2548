"""The report in its two plain forms, JSON for machines and a short text for people, and the
number formats the other report forms (HTML, CSV) share with the text."""

import json
from pathlib import Path

from .. import number_format as numbers
from ..differential import summary_lines
from ..errors import InputError
from ..report_codec import Malformed, model_value, plain_value
from ..report_model import Ratio, Report
from .wording import normalised_mscc_phrase, summary_line


def write_json(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(report), indent=2) + "\n", encoding="utf-8")


def to_json(report: Report) -> dict:
    """The report as JSON values: each section an object of its fields by their JSON names, each
    ratio keyed by its key's text ("T2 mass/cord"), an optional field left out when it holds nothing."""
    return plain_value(report)


def from_json(data: dict, subject: str) -> Report:
    """The report a JSON object holds (a file, a scene's report node), checked field by field against
    the model; anything it cannot hold is an InputError naming `subject` and the field's path."""
    try:
        return model_value(data, Report)
    except Malformed as error:
        raise InputError(subject, f"{error.path or 'the report'}: {error.problem}") from None


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
        lines += [""] + summary_lines(plain_value(report.differential))[1:]
        if report.next_best.text:
            lines.append(f"Next best step: {report.next_best.text}")
    if report.warnings:
        lines += ["", "Warnings:"] + [f"  - {warning}" for warning in report.warnings]
    return "\n".join(lines) + "\n"


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
