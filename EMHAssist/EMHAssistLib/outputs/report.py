"""The report in its two plain forms, JSON for machines and a short text for people, and the
number formats the other report forms (HTML, CSV) share with the text."""

import json
from pathlib import Path

from .. import number_format as numbers
from ..differential import summary_lines
from ..errors import InputError
from ..report_codec import Malformed, model_value, plain_value
from ..report_model import RatioKey, Report
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


def legacy_dict(report: Report | dict) -> dict:
    """Transitional (issue 16): the report as the dict it was before the model, ratio keys parsed,
    for the readers not yet moved to reading attributes. A dict (the hand-written partial reports
    of the tests of those readers) is taken as it is."""
    if isinstance(report, dict):
        return report
    return to_json(report) | {"ratios": {key: plain_value(ratio) for key, ratio in report.ratios.items()}}


def dict_from_json(data: dict, subject: str) -> dict:
    """Transitional (issue 16): the report as a dict with its ratio keys parsed, for the readers not
    yet moved to `Report`."""
    ratios = data.get("ratios")
    if ratios is None:
        return data
    if not isinstance(ratios, dict):
        raise InputError(subject, "its 'ratios' is not an object")
    try:
        return data | {"ratios": {RatioKey.parse(text): ratio for text, ratio in ratios.items()}}
    except ValueError as error:
        raise InputError(subject, str(error)) from None


def summary_text(report: Report) -> str:
    # transitional (issue 16): read as the dict it was until this module reads attributes
    report = legacy_dict(report)
    lines = [f"EMHAssist — case {report['case']}", report["caveat"], ""]
    lines += _sequence_lines(report) + [""] + _region_lines(report) + [""] + _ratio_lines(report)
    levels_line = summary_line(report.get("levels"))
    if levels_line:
        lines += ["", f"Levels: {levels_line}"]
    compression = (report.get("levels") or {}).get("compression")
    if compression:
        lines.append(f"MSCC against healthy cords at {compression['at']} (95 % CI): {normalised_mscc_phrase(compression)}")
    if report.get("differential"):
        lines += [""] + summary_lines(report["differential"])[1:]
        if (report.get("next_best") or {}).get("text"):
            lines.append(f"Next best step: {report['next_best']['text']}")
    if report["warnings"]:
        lines += ["", "Warnings:"] + [f"  - {warning}" for warning in report["warnings"]]
    return "\n".join(lines) + "\n"


def _sequence_lines(report: dict) -> list[str]:
    lines = ["Sequences:"]
    for role, info in report["sequences"].items():
        size = "×".join(str(n) for n in info["size"])
        lines.append(f"  {role:<6} {size} voxels of {numbers.spacing(info['spacing'])}  ({info['file']})")
    return lines


def _region_lines(report: dict) -> list[str]:
    lines = ["Region means (sd, voxels):"]
    for region, by_role in report["regions"].items():
        cells = [f"{role} {s['mean']:.1f} ({s['sd']:.1f}, {s['n']})" for role, s in by_role.items()]
        lines.append(f"  {region:<7} " + "   ".join(cells))
    return lines


def _ratio_lines(report: dict) -> list[str]:
    lines = ["Signal-intensity ratios (95 % CI):"]
    lines += [f"  {key.text:<22} {ratio_text(ratio)}" for key, ratio in report["ratios"].items()]
    lines += [f"  enhancement {region:<10} {ratio_text(value, percent=True)}" for region, value in report["enhancement"].items()]
    return lines


def ratio_text(ratio: dict, percent: bool = False) -> str:
    """A ratio with its 95 % interval, or (`percent`) a change such as an enhancement (number_format.py)."""
    low, high = ratio["ci95"]
    if percent:
        return numbers.signed_percent_interval(ratio["value"], low, high)
    return numbers.ratio_interval(ratio["value"], low, high)
