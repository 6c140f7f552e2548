"""The JSON Schema of `emhassist.report/2`, generated from the report model (report_model.py).

Each dataclass becomes an object of `$defs` whose properties are its fields (by their JSON names),
required unless the field is marked optional, and nothing else allowed; `X | None` may be null;
a tuple is an array (of fixed length when its items are listed); a dict is an object whose values
have the dict's value type; ratio keys are held to their two text forms; codes (enums) are one of
their values; a `Worded` finding is two properties, its words (a string) and its codes beside them
(`coded_name`, an object). The file in data/schema/ is written by tools/update_report_schema.py and
checked against this function by the tests; the first schema's file (`emhassist.report-1`) stays as
it was published, for the reports written before.
"""

import dataclasses
import json
import types
import typing
from enum import Enum
from pathlib import Path

from .. import CAVEAT
from ..report_codec import worded_fields
from ..report_model import SCHEMA, RatioKey, Report, coded_name, json_name, may_be_absent

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "data" / "schema"
SCHEMA_FILE = SCHEMA_DIR / f"{SCHEMA.replace('/', '-')}.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
# The two text forms of a ratio key (RatioKey.parse): "T2 mass/cord" and "T1C/T1 mass".
RATIO_KEY_PATTERN = r"^(\w+ \w+/\w+|\w+/\w+ \w+)$"
_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


def report_schema() -> dict:
    return model_schema(Report, SCHEMA_FILE.name, f"EMHAssist report ({SCHEMA})")


def model_schema(root_model: type, schema_id: str, title: str) -> dict:
    """The JSON Schema of a document whose root is the dataclass `root_model` (a report, a comparison)."""
    definitions: dict[str, dict] = {}
    root = _object_schema(root_model, definitions)
    return {
        "$schema": DRAFT,
        "$id": schema_id,
        "title": title,
        "description": f"{root_model.__doc__.strip()} {CAVEAT}",
        **root,
        "$defs": dict(sorted(definitions.items())),
    }


def schema_text(schema: dict | None = None) -> str:
    return json.dumps(schema or report_schema(), indent=2, ensure_ascii=False) + "\n"


def _object_schema(cls: type, definitions: dict[str, dict]) -> dict:
    hints = typing.get_type_hints(cls)
    properties, required = {}, []
    worded = worded_fields(cls)
    for model_field in dataclasses.fields(cls):
        name, hint = json_name(model_field), hints[model_field.name]
        if name in worded:
            properties[name] = _type_schema(str | None if type(None) in typing.get_args(hint) else str, definitions)
            properties[coded_name(name)] = _type_schema(hint, definitions)
            required.append(name)
            required.append(coded_name(name))
            continue
        properties[name] = _type_schema(hint, definitions)
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
    if isinstance(hint, type) and issubclass(hint, Enum):
        return {"enum": [code.value for code in hint]}
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
