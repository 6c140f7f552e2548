"""The JSON Schema of `emhassist.report/1`, generated from the report model (report_model.py).

Each dataclass becomes an object of `$defs` whose properties are its fields (by their JSON names),
required unless the field is marked optional, and nothing else allowed; `X | None` may be null;
a tuple is an array (of fixed length when its items are listed); a dict is an object whose values
have the dict's value type; ratio keys are held to their two text forms. The file in data/schema/
is written by tools/update_report_schema.py and checked against this function by the tests.
"""

import dataclasses
import json
import types
import typing
from pathlib import Path

from .. import CAVEAT
from ..report_model import RatioKey, Report, json_name, may_be_absent

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "data" / "schema" / "emhassist.report-1.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
# The two text forms of a ratio key (RatioKey.parse): "T2 mass/cord" and "T1C/T1 mass".
RATIO_KEY_PATTERN = r"^(\w+ \w+/\w+|\w+/\w+ \w+)$"
_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


def report_schema() -> dict:
    definitions: dict[str, dict] = {}
    root = _object_schema(Report, definitions)
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_FILE.name,
        "title": "EMHAssist report (emhassist.report/1)",
        "description": f"{Report.__doc__.strip()} {CAVEAT}",
        **root,
        "$defs": dict(sorted(definitions.items())),
    }


def schema_text() -> str:
    return json.dumps(report_schema(), indent=2, ensure_ascii=False) + "\n"


def _object_schema(cls: type, definitions: dict[str, dict]) -> dict:
    hints = typing.get_type_hints(cls)
    properties, required = {}, []
    for model_field in dataclasses.fields(cls):
        name = json_name(model_field)
        properties[name] = _type_schema(hints[model_field.name], definitions)
        if not may_be_absent(model_field):
            required.append(name)
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _type_schema(hint: object, definitions: dict[str, dict]) -> dict:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}
    if origin in (typing.Union, types.UnionType):
        return _union_schema(args, definitions)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _type_schema(args[0], definitions)}
        items = [_type_schema(arg, definitions) for arg in args]
        return {"type": "array", "prefixItems": items, "items": False, "minItems": len(items)}
    if origin is dict:
        keys = {"propertyNames": {"pattern": RATIO_KEY_PATTERN}} if args[0] is RatioKey else {}
        return {"type": "object", **keys, "additionalProperties": _type_schema(args[1], definitions)}
    if dataclasses.is_dataclass(hint):
        if hint.__name__ not in definitions:
            definitions[hint.__name__] = {}  # a placeholder while its fields are described
            definitions[hint.__name__] = _described(hint) | _object_schema(hint, definitions)
        return {"$ref": f"#/$defs/{hint.__name__}"}
    raise TypeError(f"the report model uses a type the schema cannot describe: {hint!r}")


def _described(cls: type) -> dict:
    # A dataclass without a docstring gets its signature as one: not a description.
    doc = (cls.__doc__ or "").strip()
    return {"description": " ".join(doc.split())} if doc and not doc.startswith(f"{cls.__name__}(") else {}


def _union_schema(args: tuple, definitions: dict[str, dict]) -> dict:
    if all(arg in _SIMPLE for arg in args):
        return {"type": [_SIMPLE[arg] for arg in args]}
    return {"anyOf": [_type_schema(arg, definitions) for arg in args]}
