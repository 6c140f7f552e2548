"""JSON input files read strictly: a size, nesting and integer budget, and no key given twice.

Python's parser keeps the last of two equal keys without a word (a clinical.json with two "age"s
changes the priors), overflows its stack on deep nesting and spends quadratic time on long
integers before refusing them; each of these is one error line here instead.
"""

import json
import os
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..limits import limits


class _Refusal(Exception):
    """Raised inside the parser's hooks, turned into an InputError naming the file."""


def read_json_file(path: Path, *, finite: bool = False) -> Any:
    """The parsed content of a JSON file that `confine.case_file` has already let through. `finite`:
    refuse NaN and Infinity, which JSON does not define and Python's parser takes (a stored report
    holds none: a value not measured is null; Slicer's own markups files may hold them, so not there)."""
    budget = limits()
    size = os.stat(path).st_size
    if size > budget.json_bytes_max:
        raise InputError(str(path), f"is {size:,} bytes, over the {budget.json_bytes_max:,}-byte budget for a JSON input (data/limits.json)")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(str(path), f"is not valid JSON ({error})") from None
    return parse_json_text(text, str(path), finite=finite)


def parse_json_text(text: str, subject: str, *, finite: bool = False) -> Any:
    """`text` parsed under the same rules as a JSON file (a report held in a scene's text node)."""
    limit = limits().json_depth_max
    try:
        content = json.loads(text, object_pairs_hook=_unique_keys, parse_int=_bounded_int, parse_constant=_refused_constant if finite else None)
    except _Refusal as refusal:
        raise InputError(subject, f"is not valid JSON for a case: {refusal}") from None
    except RecursionError:
        raise InputError(subject, "is not valid JSON for a case: nested too deep") from None
    except (json.JSONDecodeError, ValueError) as error:
        raise InputError(subject, f"is not valid JSON ({error})") from None
    if _depth(content) > limit:
        raise InputError(subject, f"is not valid JSON for a case: nested deeper than {limit} levels")
    return content


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    content: dict = {}
    for key, value in pairs:
        if key in content:
            raise _Refusal(f"the key {key!r} is given twice in one object")
        content[key] = value
    return content


def _bounded_int(digits: str) -> int:
    limit = limits().json_integer_digits_max
    if len(digits.lstrip("-")) > limit:
        raise _Refusal(f"an integer of {len(digits.lstrip('-')):,} digits (at most {limit})")
    return int(digits)


def _refused_constant(name: str) -> float:
    raise _Refusal(f"{name} is not a JSON number (a value not measured is null)")


def _depth(content: Any) -> int:
    """How deeply arrays and objects nest (a scalar is 0), walked without recursion."""
    deepest = 0
    pending = [(content, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in children)
    return deepest
