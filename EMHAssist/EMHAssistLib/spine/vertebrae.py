"""Vertebra names and their Spinal Cord Toolbox integer codes (Cn = n, Tn = 7+n, Ln = 19+n, Sn = 24+n).

MRML-free, so the differential can read a report's levels with the same rule the levels step writes them.
"""

import re

from ..errors import InputError
from ..settings import CodingRegion, spine_settings

_NAME = re.compile(r"^\s*([CTLS])\s*(\d{1,2})\s*$", re.IGNORECASE)


def _coding() -> tuple[CodingRegion, ...]:
    return spine_settings().coding.regions


def vertebra_names() -> list[str]:
    return [f"{region.prefix}{n}" for region in _coding() for n in range(1, region.count + 1)]


def code_of(name: object, subject: str = "level") -> int:
    """SCT integer code of a vertebra name (C3 -> 3, T5 -> 12, L1 -> 20, S1 -> 25)."""
    match = _NAME.match(name) if isinstance(name, str) else None
    if match:
        prefix, number = match.group(1).upper(), int(match.group(2))
        for region in _coding():
            if region.prefix == prefix and 1 <= number <= region.count:
                return region.offset + number
    raise InputError(subject, f"'{name}' is not a vertebra name; use C1-C7, T1-T12, L1-L5 or S1-S5")


def name_of(code: int) -> str:
    for region in _coding():
        if region.offset < code <= region.offset + region.count:
            return f"{region.prefix}{code - region.offset}"
    raise ValueError(f"{code} is not a vertebral level code (1-29)")


def is_valid_code(code: int) -> bool:
    return 1 <= code <= sum(region.count for region in _coding())


def spans_text(spans: list[tuple[str, str]], separator: str | None = None) -> str:
    """Level spans, each (from, to) superior first, in words: "T5–T8", "T5" for a single level,
    "T5–T9 and S1–S3" for several; with a `separator` joined by it instead ("T5–T9; S1–S3"), for a
    table cell a program splits. The one wording of spans: the spine's warnings and every output."""
    pieces = [first if first == last else f"{first}–{last}" for first, last in spans]
    if separator is not None or len(pieces) == 1:
        return (separator or "").join(pieces)
    return ", ".join(pieces[:-1]) + " and " + pieces[-1]

