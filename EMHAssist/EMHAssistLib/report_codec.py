"""The report model's values to and from plain data: the one walk over the dataclasses' fields and
type hints (report_model.py) that turns a report into JSON values and reads JSON values back.

`plain_value` writes each dataclass as an object of its fields by their JSON names (an optional
field left out when it holds nothing), tuples as lists, ratio keys as their text. `model_value`
reads plain data as a model type, checking every value on the way, and raises `Malformed` with the
field's path for anything the type cannot hold. Foundation layer: the analysis reads its stages'
plain sections with it, the outputs read stored reports (outputs/report.py `from_json`).
"""

import dataclasses
import functools
import json
import types
import typing

from .report_model import RatioKey, Worded, json_name, left_out, may_be_absent


class Words(typing.Protocol):
    """How a `Worded` finding reads in the JSON (outputs/wording.py's `REPORT_WORDS`): its words, and
    the finding its words state (ValueError for words that state none)."""

    def text(self, value: Worded) -> str: ...

    def read(self, text: str, cls: type[Worded]) -> Worded: ...


class Malformed(ValueError):
    """A value the model cannot hold, at `path` (dotted fields, [index], ['key'])."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


def plain_value(value: object, words: Words | None = None) -> object:
    """A model value as JSON values; each `Worded` finding in its `words` (the report's JSON), or,
    without them, kept as the typed finding (`model_value` takes it back as it is): two reports'
    values compared, a report's sections changed and read back."""
    if isinstance(value, Worded):
        return words.text(value) if words is not None else value
    if dataclasses.is_dataclass(value):
        return {
            json_name(model_field): plain_value(getattr(value, model_field.name), words)
            for model_field in dataclasses.fields(value)
            if not left_out(model_field, getattr(value, model_field.name))
        }
    if isinstance(value, dict):
        return {key.text if isinstance(key, RatioKey) else key: plain_value(item, words) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain_value(item, words) for item in value]
    return value


def model_value(value: object, hint: object, path: str = "", words: Words | None = None) -> object:
    """`value` (JSON values, or a stage's plain section) read as the model's type `hint`; Malformed
    when it is not one. A value already of a model dataclass is taken as it is; a `Worded` finding
    given as text is read by `words`."""
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
    if _is_worded(hint):
        return _worded_value(value, hint, path, words)
    if dataclasses.is_dataclass(hint):
        return _dataclass_value(value, hint, path, words)
    raise TypeError(f"the report model uses a type JSON cannot be read as: {hint!r}")


def _worded_value(value: object, cls: type[Worded], path: str, words: Words | None) -> Worded:
    if isinstance(value, cls):
        return value
    if not isinstance(value, str):
        raise Malformed(path, f"expected text, got {_shown(value)}")
    if words is None:
        raise TypeError(f"{path}: reading {cls.__name__} from its words needs the report's words (outputs/wording.py)")
    try:
        return words.read(value, cls)
    except ValueError as error:
        raise Malformed(path, str(error)) from None


def _union_value(value: object, arms: tuple, path: str, words: Words | None) -> object:
    problems = []
    for arm in arms:
        try:
            return model_value(value, arm, path, words)
        except Malformed as error:
            problems.append(error)
    # A value of the right kind fails deeper inside, or text fails as a finding's words: that error
    # says more than "none of these".
    deeper = [error for error, arm in zip(problems, arms) if error.path != path or (isinstance(value, str) and _is_worded(arm))]
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
    model_fields = _fields(cls)
    unknown = [name for name in value if name not in model_fields]
    if unknown:
        raise Malformed(path, f"unknown field {unknown[0]!r}")
    read = {}
    for name, (attribute, hint, optional) in model_fields.items():
        if name in value:
            read[attribute] = model_value(value[name], hint, f"{path}.{name}".lstrip("."), words)
        elif not optional:
            raise Malformed(path, f"field {name!r} is missing")
    return cls(**read)


# The live panel reads every section again on each ROI move: what the walk asks of a type is
# worked out once per type (it halved the reading of a report).
@functools.cache
def _fields(cls: type) -> dict[str, tuple[str, object, bool]]:
    """Each field by its JSON name: its attribute, its type hint, whether it may be absent."""
    hints = typing.get_type_hints(cls)
    return {json_name(field): (field.name, hints[field.name], may_be_absent(field)) for field in dataclasses.fields(cls)}


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
    if _is_worded(hint):
        return "text"
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(repr(choice) for choice in typing.get_args(hint))
    if hint in _PLAIN:
        return _PLAIN[hint]
    if typing.get_origin(hint) is tuple:
        return "a list"
    return "an object"


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 40 else text[:39] + "…"
