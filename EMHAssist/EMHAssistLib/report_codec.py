"""The report model's values to and from plain data: the one walk over the dataclasses' fields and
type hints (report_model.py) that turns a report into JSON values and reads JSON values back.

`plain_value` writes each dataclass as an object of its fields by their JSON names (an optional
field left out when it holds nothing), tuples as lists, ratio keys as their text, codes (enums) as
their values, and a `Worded` finding twice: in its words and, beside them, as its codes and numbers
(report_model's `coded_name`). `model_value` reads plain data as a model type, checking every value on
the way, a worded finding from its codes (never its words), and raises `Malformed` with the field's
path for anything the type cannot hold. Foundation layer: the analysis reads its stages' plain
sections with it, the outputs read stored reports (outputs/report.py `from_json`).
"""

import dataclasses
import functools
import json
import types
import typing
from enum import Enum

from .report_model import RatioKey, Worded, coded_name, json_name, left_out, may_be_absent


class Words(typing.Protocol):
    """How a `Worded` finding reads in the JSON (outputs/wording.py's `REPORT_WORDS`): its words, worded
    with the section that holds it (a Bilsky reading names its level's quantities); and, for a report
    of the first schema, which held only the words, a section with the findings its words state put
    beside them, as the present schema writes them (Malformed, at `path`, for words that state none)."""

    def text(self, value: Worded, holder: object) -> str: ...

    def coded(self, section: dict, cls: type, path: str) -> dict: ...


class Malformed(ValueError):
    """A value the model cannot hold, at `path` (dotted fields, [index], ['key'])."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


def plain_value(value: object, words: Words | None = None) -> object:
    """A model value as JSON values; each `Worded` finding of a section in its `words` and its codes
    (the report's JSON), or, without words, kept as the typed finding in place of both (`model_value`
    takes it back as it is): two reports' values compared, a report's sections changed and read back."""
    if dataclasses.is_dataclass(value):
        return _plain_object(value, words)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {key.text if isinstance(key, RatioKey) else key: plain_value(item, words) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain_value(item, words) for item in value]
    return value


def _plain_object(value: object, words: Words | None) -> dict:
    plain = {}
    worded = worded_fields(type(value))
    for model_field in dataclasses.fields(value):
        item = getattr(value, model_field.name)
        if left_out(model_field, item):
            continue
        name = json_name(model_field)
        if name in worded:
            plain[name], plain[coded_name(name)] = _worded_plain(item, value, words)
        else:
            plain[name] = plain_value(item, words)
    return plain


def _worded_plain(finding: Worded | None, holder: object, words: Words | None) -> tuple[object, object]:
    """A worded finding's words and its codes; without words (or without a finding) the finding itself in both places."""
    if words is None or finding is None:
        return finding, finding
    return words.text(finding, holder), _plain_object(finding, words)


def model_value(value: object, hint: object, path: str = "", words: Words | None = None) -> object:
    """`value` (JSON values, or a stage's plain section) read as the model's type `hint`; Malformed
    when it is not one. A value already of a model dataclass is taken as it is. With `words`, `value`
    is a report of the first schema, whose worded findings are read from their words (`Words.coded`)."""
    origin, args = _shape(hint)
    if origin in (typing.Union, types.UnionType):
        return _union_value(value, args, path, words)
    if hint in _PLAIN or origin is typing.Literal:
        if not _is_plain(value, hint):
            raise Malformed(path, f"expected {_described(hint)}, got {_shown(value)}")
        return value
    if origin is tuple:
        return _tuple_value(value, args, path, words)
    if origin is dict:
        return _dict_value(value, args, path, words)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return _code_value(value, hint, path)
    if dataclasses.is_dataclass(hint):
        return _dataclass_value(value, hint, path, words)
    raise TypeError(f"the report model uses a type JSON cannot be read as: {hint!r}")


def _code_value(value: object, codes: type[Enum], path: str) -> Enum:
    if isinstance(value, codes):
        return value
    for code in codes:
        if type(value) is type(code.value) and value == code.value:
            return code
    raise Malformed(path, f"expected {_described(codes)}, got {_shown(value)}")


def _union_value(value: object, arms: tuple, path: str, words: Words | None) -> object:
    problems = []
    for arm in arms:
        try:
            return model_value(value, arm, path, words)
        except Malformed as error:
            problems.append(error)
    # A value of the right kind fails deeper inside: that error says more than "none of these".
    deeper = [error for error in problems if error.path != path]
    if len(deeper) == 1:
        raise deeper[0]
    raise Malformed(path, f"expected {' or '.join(_described(arm) for arm in arms)}, got {_shown(value)}")


def _tuple_value(value: object, args: tuple, path: str, words: Words | None) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise Malformed(path, f"expected a list, got {_shown(value)}")
    if len(args) == 2 and args[1] is Ellipsis:
        if args[0] in _PLAIN and all(_is_plain(item, args[0]) for item in value):
            return tuple(value)  # a profile's hundreds of numbers, checked without a walk per number
        return tuple(model_value(item, args[0], f"{path}[{index}]", words) for index, item in enumerate(value))
    if len(value) != len(args):
        raise Malformed(path, f"expected a list of {len(args)}, got a list of {len(value)}")
    return tuple(model_value(item, arg, f"{path}[{index}]", words) for index, (item, arg) in enumerate(zip(value, args)))


def _dict_value(value: object, args: tuple, path: str, words: Words | None) -> dict:
    if not isinstance(value, dict):
        raise Malformed(path, f"expected an object, got {_shown(value)}")
    key_type, item_type = args
    return {_key(text, key_type, path): model_value(item, item_type, f"{path}[{str(text)!r}]", words) for text, item in value.items()}


def _key(text: str, key_type: type, path: str) -> object:
    if key_type is not RatioKey or isinstance(text, RatioKey):
        return text
    try:
        return RatioKey.parse(text)
    except ValueError as error:
        raise Malformed(path, str(error)) from None


def _dataclass_value(value: object, cls: type, path: str, words: Words | None) -> object:
    if isinstance(value, cls):
        return value  # built as the model already
    if not isinstance(value, dict):
        raise Malformed(path, f"expected an object ({cls.__name__}), got {_shown(value)}")
    worded = worded_fields(cls)
    if words is not None and worded:
        value = words.coded(value, cls, path)
    model_fields = _fields(cls)
    unknown = [name for name in value if name not in model_fields and name not in _coded_names(cls)]
    if unknown:
        raise Malformed(path, f"unknown field {unknown[0]!r}")
    read = {}
    for name, (attribute, hint, optional) in model_fields.items():
        if name in worded and name in value:
            read[attribute] = _worded_value(value, name, hint, path, words)
        elif name in value:
            read[attribute] = model_value(value[name], hint, f"{path}.{name}".lstrip("."), words)
        elif not optional:
            raise Malformed(path, f"field {name!r} is missing")
    return cls(**read)


def _worded_value(section: dict, name: str, hint: object, path: str, words: Words | None) -> object:
    """A worded finding of `section`: taken as it is where a section built in memory holds it (plain_value
    without words), else read from its codes beside its words, which must be text (null with no finding)."""
    given = section[name]
    if isinstance(given, Worded):
        return given
    model_value(given, str | None if type(None) in typing.get_args(hint) else str, f"{path}.{name}".lstrip("."))
    code = coded_name(name)
    if code not in section:
        raise Malformed(path, f"field {code!r} is missing")
    return model_value(section[code], hint, f"{path}.{code}".lstrip("."), words)


# The live panel reads every section again on each ROI move: what the walk asks of a type is
# worked out once per type (it halved the reading of a report).
@functools.cache
def _fields(cls: type) -> dict[str, tuple[str, object, bool]]:
    """Each field by its JSON name: its attribute, its type hint, whether it may be absent."""
    hints = typing.get_type_hints(cls)
    return {json_name(field): (field.name, hints[field.name], may_be_absent(field)) for field in dataclasses.fields(cls)}


@functools.cache
def worded_fields(cls: type) -> frozenset[str]:
    """The JSON names of `cls`'s fields that hold a `Worded` finding (or null): stated in words, each
    with its codes beside (`coded_name`)."""
    hints = typing.get_type_hints(cls)
    return frozenset(json_name(field) for field in dataclasses.fields(cls) if any(_is_worded(arm) for arm in (hints[field.name], *typing.get_args(hints[field.name]))))


@functools.cache
def _coded_names(cls: type) -> frozenset[str]:
    return frozenset(coded_name(name) for name in worded_fields(cls))


@functools.cache
def _shape(hint: object) -> tuple[object, tuple]:
    return typing.get_origin(hint), typing.get_args(hint)


# JSON's plain values: a bool is not a number here, though Python's bool is an int; an integer is
# a number (JSON does not tell 4 from 4.0, and the report keeps what was written).
_PLAIN = {str: "text", int: "an integer", float: "a number", bool: "true or false", type(None): "null"}


def _is_plain(value: object, hint: object) -> bool:
    origin, choices = _shape(hint)
    if origin is typing.Literal:
        return any(type(value) is type(choice) and value == choice for choice in choices)
    if isinstance(value, bool) or hint is type(None):
        return type(value) is hint
    return isinstance(value, (int, float) if hint is float else hint)


def _is_worded(hint: object) -> bool:
    return isinstance(hint, type) and issubclass(hint, Worded)


def _described(hint: object) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(repr(choice) for choice in typing.get_args(hint))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return "one of " + ", ".join(repr(code.value) for code in hint)
    if hint in _PLAIN:
        return _PLAIN[hint]
    if typing.get_origin(hint) is tuple:
        return "a list"
    return "an object"


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 40 else text[:39] + "…"
