"""The one error type for bad input: it names the file, node or region and what is wrong."""

import functools

from .knowledge import DataFileError, load

_ELLIPSIS = "…"
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


class InputError(Exception):
    """Bad input that the user can fix; printed as one line, never as a traceback.

    Subject and problem often echo the input (a folder name, a condition), so both are made
    printable on one line (control characters escaped) and cut to a sane length here, where every
    error passes, rather than at each place that raises one.
    """

    def __init__(self, subject: str, problem: str) -> None:
        subject_chars, problem_chars = message_limits()
        self.subject = _cut_middle(one_line(str(subject)), subject_chars)
        self.problem = _cut_end(one_line(str(problem)), problem_chars)
        super().__init__(f"{self.subject}: {self.problem}")


# What a front end shows as its one error line: bad input, and a data file of the package that is not
# JSON (kept apart from InputError: code that catches InputError to go on without a case's file would
# go on without the package's, or name the case's file for it). `serve` and the Slicer panel caught
# InputError alone, and showed a data file cut short as an exception.
SHOWN_ERRORS = (InputError, DataFileError)


# Bounds of the two message lengths (data/limits.json): one character and the ellipsis at least; an
# error is one line to read, not a page, at most. limits.py checks the same keys against the same bounds.
MESSAGE_CHARS_MIN = 2
MESSAGE_CHARS_MAX = 10_000


@functools.cache
def message_limits() -> tuple[int, int]:
    """The longest subject and problem an error line shows (data/limits.json). Read here, not through
    limits.py: validating a data file raises an `InputError`, so the error cannot wait for that."""
    raw = load("limits")
    return _message_limit(raw, "message_subject_chars"), _message_limit(raw, "message_problem_chars")


def _message_limit(raw: dict, key: str) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not MESSAGE_CHARS_MIN <= value <= MESSAGE_CHARS_MAX:
        raise ValueError(f"EMHAssistLib/data/limits.json: {key}: must be a whole number from {MESSAGE_CHARS_MIN} to {MESSAGE_CHARS_MAX}, not {value!r}")
    return value


def one_line(text: str) -> str:
    """`text` with every character that is not printable on one line escaped (`\\n`, `\\x0c`, ...).
    Already escaped text stays as it is."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _ESCAPES.get(char) or _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _cut_end(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + _ELLIPSIS


def _cut_middle(text: str, limit: int) -> str:
    """Cut in the middle: a path's end (the file name) and its start both stay."""
    if len(text) <= limit:
        return text
    tail = (limit - 1) // 2
    return text[: limit - 1 - tail] + _ELLIPSIS + text[len(text) - tail :]
