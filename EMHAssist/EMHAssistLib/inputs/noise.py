"""Messages of the libraries that read images, caught instead of printed.

ITK, MetaIO, GDCM, HDF5 and VTK write their warnings from C++ straight to the process's standard
error (file descriptor 2), past Python; numpy warns through Python's warnings. Either would print
lines around our one `error:` line or beside a report that does not mention them. Inside
`caught_messages` both are collected instead, for the loader to turn into the report's warnings
(or to drop, when the read fails and its own error line says why).
"""

import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A library's message is cut to this many characters in a report warning: ITK's run to a dozen
# lines of file names and object addresses.
_MESSAGE_CHARS = 300
# ITK's and VTK's preamble to a message: where in their sources it was raised, and which object.
_PREAMBLE = re.compile(r"^(WARNING|ERROR|Warning|Error): In \S+, line \d+ (\w+ \(0x[0-9a-fA-F]+\): )?")


@contextmanager
def caught_messages() -> Iterator[list[str]]:
    """A list that, once the block ends, holds every message written to file descriptor 2 or
    warned through Python inside it, one entry per message, whitespace folded."""
    messages: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        os.dup2(sink.fileno(), 2)
        try:
            yield messages
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            found = _split(sink.read().decode("utf-8", "replace")) + [
                _fold(f"{warning.message} ({Path(warning.filename).name}, line {warning.lineno})") for warning in warned
            ]
            messages.extend(dict.fromkeys(found))  # each message once: two readers of one file repeat it


def _split(text: str) -> list[str]:
    """ITK's and VTK's messages begin with a line `WARNING: In <file>, line <n>` (or ERROR):
    each such block is one message."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if not blocks or line.startswith(("WARNING", "ERROR", "Warning", "Error")):
            blocks.append([])
        blocks[-1].append(line.strip())
    return [_fold(_PREAMBLE.sub("", " ".join(block))) for block in blocks]


def _fold(text: str) -> str:
    folded = " ".join(text.split())
    return folded if len(folded) <= _MESSAGE_CHARS else folded[: _MESSAGE_CHARS - 1] + "…"
