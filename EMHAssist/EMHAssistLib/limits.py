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
import math
import sys
from dataclasses import dataclass

from .errors import MESSAGE_CHARS_MAX, MESSAGE_CHARS_MIN
from .knowledge import load
from .settings import distance, format_version, fraction, parse, positive, within

# The upper bounds of the budgets, from what each counts (a budget above its bound is a typo, refused by name):
MEMORY_BYTES_MAX = sys.maxsize  # the largest object Python can address
PYTHON_RECURSION_LIMIT = sys.getrecursionlimit()  # json's reader fails by recursion before a deeper limit is met
PYTHON_INT_DIGITS = sys.int_info.default_max_str_digits  # Python refuses to read a longer integer itself
DICOM_IS_MAX = 2**31 - 1  # DICOM's Integer String (IS: Instance Number, Series Number) holds at most this
SQUARE_SAFE_MAX = math.sqrt(sys.float_info.max)  # statistics square the voxels: a larger one's square is infinite
SCANNER_MM_MAX = 1e9  # a double keeps micrometres (15 significant digits) only below 1e9 mm


@dataclass(frozen=True)
class SlicePositionTolerance:
    """DICOM slices: how far positions, gaps and orientations may differ and still make one volume."""

    mm: float = distance()
    fraction: float = fraction()
    orientation: float = within(0.0, 1.0)  # a direction cosine (`fraction` is the field above)


@dataclass(frozen=True)
class Limits:
    """data/limits.json."""

    version: int = format_version()
    image_bytes_max: int = positive(MEMORY_BYTES_MAX)
    case_bytes_max: int = positive(MEMORY_BYTES_MAX)
    json_bytes_max: int = positive(MEMORY_BYTES_MAX)
    json_depth_max: int = positive(PYTHON_RECURSION_LIMIT)
    json_integer_digits_max: int = positive(PYTHON_INT_DIGITS)
    dicom_files_max: int = positive(DICOM_IS_MAX)
    message_subject_chars: int = within(MESSAGE_CHARS_MIN, MESSAGE_CHARS_MAX)  # errors.message_limits reads these two itself
    message_problem_chars: int = within(MESSAGE_CHARS_MIN, MESSAGE_CHARS_MAX)
    orientation_tolerance: float = fraction()
    level_point_margin_mm: float = distance()
    voxel_magnitude_range: tuple[float, float] = positive(SQUARE_SAFE_MAX)
    slice_position_tolerance: SlicePositionTolerance
    position_mm_max: float = positive(SCANNER_MM_MAX)
    voxel_spacing_mm_range: tuple[float, float] = positive(SCANNER_MM_MAX)
    direction_tolerance: float = fraction()
    nifti_qform_sform_tolerance_mm: float = distance()


@functools.cache
def limits() -> Limits:
    return parse(Limits, load("limits"), "limits")
