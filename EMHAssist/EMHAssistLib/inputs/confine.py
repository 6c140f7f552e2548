"""A case reads only regular files inside its own folder.

Every path a case folder leads to (its volumes, ROI files, a detached header's data files, a DICOM
series' slices) is resolved, links and `..` included, and must stay inside the case folder; and it
must be a regular file, checked with `os.stat` before anything opens it: opening a FIFO blocks for
ever and a device can be read without end.
"""

import os
import stat
from pathlib import Path

from ..errors import InputError

_KINDS = {
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
    stat.S_ISDIR: "a folder",
}


def case_root(folder: Path) -> Path:
    return Path(os.path.realpath(folder))


def inside_case(path: Path, root: Path, subject: Path | None = None) -> Path:
    """`path` resolved; refused when it leads outside the case folder `root` (already resolved).
    `subject` names the file that led there (a header naming its data file), else `path` itself."""
    resolved = Path(os.path.realpath(path))
    if not _utf8(str(resolved)):
        # Slicer's and ITK's readers take paths as UTF-8 C strings: such a path aborted the process.
        raise InputError(str(subject or path), "its path is not valid UTF-8, which the image readers cannot open; rename it")
    if "\\" in str(resolved):
        # Slicer's readers take a backslash for a folder separator: a case folder named `a\b` was
        # refused as "T1.nrrd: could not be read as a volume", blaming a file that is whole.
        raise InputError(str(subject or path), "its path holds a backslash, which Slicer's readers take for a folder separator; rename it")
    if resolved != root and root not in resolved.parents:
        raise InputError(str(subject or path), f"leads outside the case folder (to {resolved}); a case reads only its own files")
    return resolved


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes of the file system, kept by Python as lone surrogates
        return False
    return True


def case_file(path: Path, root: Path, subject: Path | None = None) -> Path | None:
    """`path` resolved, when it is a regular file inside the case folder; None when it does not exist
    (a dangling link: the reader then names it as unreadable). Anything else is refused before it
    is opened."""
    resolved = inside_case(path, root, subject)
    try:
        mode = os.stat(resolved).st_mode
    except OSError:
        return None
    if not stat.S_ISREG(mode):
        what = "is" if subject is None else f"its data file {path} is"
        raise InputError(str(subject or path), f"{what} {_kind(mode)}, not a regular file; refused unread")
    return resolved


def case_folder(path: Path, root: Path) -> Path:
    """A folder inside the case (a DICOM series) whose every entry is a regular file inside the case
    or a folder; refused otherwise, before any entry is opened."""
    resolved = inside_case(path, root)
    for entry in sorted(resolved.iterdir()):
        if not entry.is_dir():
            if case_file(entry, root) is None:
                raise InputError(str(entry), "is a link to nothing; refused")
    return resolved


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS.items() if test(mode)), "not a regular file")
