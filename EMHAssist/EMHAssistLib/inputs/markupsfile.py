"""What a markups file must say before Slicer's reader takes it.

Slicer's markups reader reads the first markup of a file and ignores the rest, takes an unknown
`coordinateSystem` as LPS, keeps a sheared or scaled `orientation` (the box is then measured with
the wrong size and shape) and reads `insideOut` (the region outside the box) that no ratio can use.
Each is refused here with the file's name, before any number is measured from it.
"""

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..limits import limits

_COORDINATE_SYSTEMS = ("LPS", "RAS")


def check_markups(path: Path, content: dict, kind: str) -> None:
    """`content` (parsed from `path`) holds exactly one markup of `kind` ("ROI" or "Fiducial")
    in millimetres in LPS or RAS; an ROI a box with a rotation for orientation, not inside-out;
    every point of a point list a finite position."""
    markups = content.get("markups")
    if not isinstance(markups, list) or not markups or not all(isinstance(markup, dict) for markup in markups):
        return  # not a markups file at all: Slicer's reader says so
    if len(markups) != 1:
        raise InputError(str(path), f"holds {len(markups)} markups; one file must hold one {_NAMES[kind]}")
    markup = markups[0]
    if markup.get("type", kind) != kind:
        return  # the reader refuses the wrong type by name
    system = markup.get("coordinateSystem", "LPS")
    if system not in _COORDINATE_SYSTEMS:
        raise InputError(str(path), f"coordinateSystem is {system!r}; only LPS or RAS positions can be placed")
    units = markup.get("coordinateUnits", "mm")
    if units != "mm":
        raise InputError(str(path), f"coordinateUnits is {units!r}; positions must be in millimetres")
    if kind == "ROI":
        _check_roi(path, markup)  # a non-finite centre is refused with the region's name when the box is made
    farthest = limits().position_mm_max
    for index, point in enumerate(markup.get("controlPoints") or [], start=1):
        position = point.get("position") if isinstance(point, dict) else None
        label = (point.get("label") if isinstance(point, dict) else None) or index
        if kind != "ROI" and position is not None and not _finite_numbers(position, 3):
            raise InputError(str(path), f"point {label}: position {_shown(position)} is not three finite numbers")
        # A far level point costs only the levels (left out with a warning when the case is read).
        if kind == "ROI" and _finite_numbers(position, 3) and max(map(abs, position)) > farthest:
            raise InputError(str(path), f"point {label}: position {_shown(position)} lies more than {farthest:g} mm from the origin")
    centre = markup.get("center")
    if _finite_numbers(centre, 3) and max(map(abs, centre)) > farthest:
        raise InputError(str(path), f"centre {_shown(centre)} lies more than {farthest:g} mm from the origin")


_NAMES = {"ROI": "ROI", "Fiducial": "point list"}


def _check_roi(path: Path, markup: dict) -> None:
    if markup.get("insideOut") not in (None, False):
        raise InputError(str(path), "is an inside-out ROI (the space outside the box); only the inside of a box can be measured")
    size = markup.get("size")
    if not _numbers(size, 3):  # Slicer's reader takes a size left out, or written as text, for 0 mm: "no volume"
        raise InputError(str(path), "has no size" if size is None else f"size {_shown(size)} is not three numbers")
    points = [point.get("position") for point in markup.get("controlPoints") or [] if isinstance(point, dict)]
    for field, values in [("center", markup.get("center")), ("size", markup.get("size")), ("orientation", markup.get("orientation"))] + [
        ("a control point's position", position) for position in points
    ]:
        # Slicer's reader fails on a number past a double's range (1e400, read here as infinity) and
        # says only that the file is not an ROI file; NaN it reads, and the box refuses it by name.
        if isinstance(values, list) and any(isinstance(value, float) and math.isinf(value) for value in values):
            raise InputError(str(path), f"{field} {_shown(values)} holds a number too large for a double (infinite); the box's place and size are unknown")
    orientation = markup.get("orientation")
    if orientation is None:
        return
    if not _finite_numbers(orientation, 9):
        if _numbers(orientation, 9):
            return  # non-finite: refused with the region's name when the box is made
        raise InputError(str(path), f"orientation {_shown(orientation)} is not nine numbers")
    matrix = np.array(orientation, dtype=float).reshape(3, 3)
    error = float(np.max(np.abs(matrix.T @ matrix - np.eye(3))))
    if error > limits().orientation_tolerance:
        raise InputError(
            str(path), f"orientation is not a rotation (its axes are sheared or scaled, off by {error:.3g}); the box's shape is unknown"
        )


def _numbers(values: Any, count: int) -> bool:
    return (
        isinstance(values, list)
        and len(values) == count
        and all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values)
    )


def _finite_numbers(values: Any, count: int) -> bool:
    return _numbers(values, count) and all(math.isfinite(value) for value in values)


def _shown(values: Any) -> str:
    return repr(values)[:80]
