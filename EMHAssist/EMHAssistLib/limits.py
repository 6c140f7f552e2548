"""data/limits.json as typed, frozen data, validated on load: the budgets and tolerances the loader
checks a case against before it reads or allocates anything (issue 20); each key's reason is beside it
in the JSON (`_<key>`).

The cut with errors.py: every `InputError` cuts its message to two of these limits, and the reader
that validates a data file (settings.parse) reports a wrong value with an `InputError`. So errors.py
reads its two message lengths itself (`errors.message_limits`, checked there and failing with a plain
`ValueError`), and this module, a foundation module after settings.py, holds every limit, typed, for
the loader. Both check the same file: a wrong message length is named by either.
"""

import functools
from dataclasses import dataclass

from .knowledge import load
from .settings import fraction, parse, positive, within


@dataclass(frozen=True)
class SlicePositionTolerance:
    """DICOM slices: how far positions, gaps and orientations may differ and still make one volume."""

    mm: float = within(0.0)
    fraction: float = fraction()
    orientation: float = within(0.0)


@dataclass(frozen=True)
class Limits:
    """data/limits.json."""

    version: int
    image_bytes_max: int = positive()
    case_bytes_max: int = positive()
    json_bytes_max: int = positive()
    json_depth_max: int = positive()
    json_integer_digits_max: int = positive()
    dicom_files_max: int = positive()
    message_subject_chars: int = within(2)  # errors.message_limits reads these two itself
    message_problem_chars: int = within(2)
    orientation_tolerance: float = within(0.0)
    level_point_margin_mm: float = within(0.0)
    voxel_magnitude_range: tuple[float, float] = positive()
    slice_position_tolerance: SlicePositionTolerance
    position_mm_max: float = positive()
    voxel_spacing_mm_range: tuple[float, float] = positive()
    direction_tolerance: float = within(0.0)
    nifti_qform_sform_tolerance_mm: float = within(0.0)


@functools.cache
def limits() -> Limits:
    return parse(Limits, load("limits"), "limits")
