"""The report in its two plain forms, JSON for machines and a short text for people, and the
number formats the other report forms (HTML, CSV) share with the text."""

import dataclasses
import functools
import json
import types
import typing
from pathlib import Path

from .. import number_format as numbers
from ..differential import summary_lines
from ..errors import InputError
from ..report_model import RatioKey, Report, json_name, left_out, may_be_absent
from .wording import normalised_mscc_phrase, summary_line


def write_json(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(report), indent=2) + "\n", encoding="utf-8")


def to_json(report: Report) -> dict:
    """The report as JSON values: each section an object of its fields by their JSON names, each
    ratio keyed by its key's text ("T2 mass/cord"), an optional field left out when it holds nothing."""
    return _json_value(report)


def from_json(data: dict, subject: str) -> Report:
    """The report a JSON object holds (a file, a scene's report node), checked field by field against
    the model; anything it cannot hold is an InputError naming `subject` and the field's path."""
    try:
        return _model_value(data, Report, "")
    except _Malformed as error:
        raise InputError(subject, f"{error.path or 'the report'}: {error.problem}") from None


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


class _Malformed(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


def _json_value(value: object) -> object:
    if dataclasses.is_dataclass(value):
        return {
            json_name(model_field): _json_value(getattr(value, model_field.name))
            for model_field in dataclasses.fields(value)
            if not left_out(model_field, getattr(value, model_field.name))
        }
    if isinstance(value, dict):
        return {key.text if isinstance(key, RatioKey) else key: _json_value(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [_json_value(item) for item in value]
    return value


def _model_value(value: object, hint: object, path: str) -> object:
    """`value` read from JSON as the model's type `hint`; _Malformed when it is not one."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _union_value(value, args, path)
    if hint in _PLAIN or origin is typing.Literal:
        if not _is_plain(value, hint):
            raise _Malformed(path, f"expected {_described(hint)}, got {_shown(value)}")
        return value
    if origin is tuple:
        return _tuple_value(value, args, path)
    if origin is dict:
        return _dict_value(value, args, path)
    if dataclasses.is_dataclass(hint):
        return _dataclass_value(value, hint, path)
    raise TypeError(f"the report model uses a type JSON cannot be read as: {hint!r}")


def _union_value(value: object, arms: tuple, path: str) -> object:
    problems = []
    for arm in arms:
        try:
            return _model_value(value, arm, path)
        except _Malformed as error:
            problems.append(error)
    # A value of the right kind fails deeper inside: that error says more than "none of these".
    deeper = [error for error in problems if error.path != path]
    if len(deeper) == 1:
        raise deeper[0]
    raise _Malformed(path, f"expected {' or '.join(_described(arm) for arm in arms)}, got {_shown(value)}")


def _tuple_value(value: object, args: tuple, path: str) -> tuple:
    if not isinstance(value, list):
        raise _Malformed(path, f"expected a list, got {_shown(value)}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_model_value(item, args[0], f"{path}[{index}]") for index, item in enumerate(value))
    if len(value) != len(args):
        raise _Malformed(path, f"expected a list of {len(args)}, got a list of {len(value)}")
    return tuple(_model_value(item, arg, f"{path}[{index}]") for index, (item, arg) in enumerate(zip(value, args)))


def _dict_value(value: object, args: tuple, path: str) -> dict:
    if not isinstance(value, dict):
        raise _Malformed(path, f"expected an object, got {_shown(value)}")
    key_type, item_type = args
    return {_key(text, key_type, path): _model_value(item, item_type, f"{path}[{text!r}]") for text, item in value.items()}


def _key(text: str, key_type: type, path: str) -> object:
    if key_type is not RatioKey:
        return text
    try:
        return RatioKey.parse(text)
    except ValueError as error:
        raise _Malformed(path, str(error)) from None


def _dataclass_value(value: object, cls: type, path: str) -> object:
    if not isinstance(value, dict):
        raise _Malformed(path, f"expected an object ({cls.__name__}), got {_shown(value)}")
    model_fields = {json_name(model_field): model_field for model_field in dataclasses.fields(cls)}
    unknown = [name for name in value if name not in model_fields]
    if unknown:
        raise _Malformed(path, f"unknown field {unknown[0]!r}")
    hints, read = _hints(cls), {}
    for name, model_field in model_fields.items():
        if name in value:
            read[model_field.name] = _model_value(value[name], hints[model_field.name], f"{path}.{name}".lstrip("."))
        elif not may_be_absent(model_field):
            raise _Malformed(path, f"field {name!r} is missing")
    return cls(**read)


@functools.cache
def _hints(cls: type) -> dict[str, object]:
    return typing.get_type_hints(cls)


# JSON's plain values: a bool is not a number here, though Python's bool is an int; an integer is
# a number (JSON does not tell 4 from 4.0, and the report keeps what was written).
_PLAIN = {str: "text", int: "an integer", float: "a number", bool: "true or false", type(None): "null"}


def _is_plain(value: object, hint: object) -> bool:
    if typing.get_origin(hint) is typing.Literal:
        return any(type(value) is type(choice) and value == choice for choice in typing.get_args(hint))
    if hint is float:
        return type(value) in (int, float)
    return type(value) is hint


def _described(hint: object) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(repr(choice) for choice in typing.get_args(hint))
    if hint in _PLAIN:
        return _PLAIN[hint]
    if typing.get_origin(hint) is tuple:
        return "a list"
    return "an object"


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def summary_text(report: dict) -> str:
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
