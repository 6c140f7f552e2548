"""An image file's header read before any image reader opens the file.

ITK's readers take what a header says on trust: a detached NRRD header or a MetaImage reads its
data from any path it names (`/etc/passwd`, `../outside.raw`), a header declaring 2048 x 2048 x 512
voxels is allocated before a byte is read, and compressed data that ends early is filled with
zeros without a word. So the header of each NRRD, NIfTI and MetaImage file is read here: every
data file it names must be a regular file inside the case folder, the voxels it declares must fit
the memory budget (data/limits.json), the data must hold every byte they need, and a NIfTI's
voxel size must be a number. Other formats are left to the readers.
"""

import bz2
import math
import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..limits import limits
from .confine import case_file

# A NRRD header longer than this is taken as damaged (real ones are a few hundred bytes; a
# segmentation's, with its segment metadata, a few kilobytes per segment).
_HEADER_LIMIT = 1 << 20
# ITK's NRRD reader crashes on a field line of about a thousand characters (real fields are under
# two hundred); comments and key/value pairs may be longer.
_NRRD_FIELD_LIMIT = 512
_CHUNK = 1 << 20
_NRRD_TYPE_BYTES = {
    **dict.fromkeys(("signed char", "int8", "int8_t", "uchar", "unsigned char", "uint8", "uint8_t"), 1),
    **dict.fromkeys(("short", "short int", "signed short", "signed short int", "int16", "int16_t"), 2),
    **dict.fromkeys(("ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t"), 2),
    **dict.fromkeys(("int", "signed int", "int32", "int32_t", "uint", "unsigned int", "uint32", "uint32_t"), 4),
    **dict.fromkeys(("longlong", "long long", "long long int", "signed long long", "signed long long int"), 8),
    **dict.fromkeys(("int64", "int64_t", "ulonglong", "unsigned long long", "unsigned long long int"), 8),
    **dict.fromkeys(("uint64", "uint64_t", "double"), 8),
    "float": 4,
}
_NRRD_ENCODINGS = {"raw": "raw", "gzip": "gzip", "gz": "gzip", "bzip2": "bzip2", "bz2": "bzip2"}
_META_TYPE_BYTES = {
    "MET_CHAR": 1, "MET_UCHAR": 1, "MET_SHORT": 2, "MET_USHORT": 2, "MET_INT": 4, "MET_UINT": 4,
    "MET_LONG": 4, "MET_ULONG": 4, "MET_LONG_LONG": 8, "MET_ULONG_LONG": 8, "MET_FLOAT": 4, "MET_DOUBLE": 8,
}
_NIFTI_SIZES = {348: "nifti1", 540: "nifti2"}


@dataclass(frozen=True)
class Payload:
    """Where an image file's voxels are: its data files, the header bytes before them in the first
    (attached data), how they are encoded, and how many decoded bytes the header declares."""

    files: list[Path]
    offset: int
    encoding: str  # raw, gzip, bzip2 or zlib; anything else is not checked for length
    expected: int
    warnings: tuple[str, ...] = ()
    # The voxel size along each spatial axis as the header writes it, when the format states it
    # in one place (NRRD space directions, MetaImage ElementSpacing): ITK puts 1 mm in place of
    # one it cannot take (1e300), so the two are compared once ITK has read the header.
    spacing: tuple[float, ...] | None = None


def check_image_header(path: Path, root: Path, unreadable: str) -> Payload | None:
    """The payload of a NRRD, NIfTI or MetaImage file after its checks; None for other formats.
    Raises InputError (`unreadable` for a header that does not parse) naming the file."""
    with open(path, "rb") as stream:
        head = stream.read(_HEADER_LIMIT)
    if head.startswith(b"NRRD000"):
        payload = _nrrd_payload(path, head, unreadable)
    elif head.startswith(b"\x1f\x8b") and path.name.lower().endswith(".nii.gz"):
        payload = _nifti_payload(path, _gunzipped_head(path, unreadable), "gzip", unreadable)
    elif path.name.lower().endswith(".nii"):
        payload = _nifti_payload(path, head, "raw", unreadable)
    elif path.name.lower().endswith((".mha", ".mhd")):
        payload = _meta_payload(path, head, unreadable)
    else:
        return None
    files = [case_file(file, root, subject=path) if file != path else file for file in payload.files]
    if any(file is None for file in files):
        missing = next(name for name, file in zip(payload.files, files) if file is None)
        raise InputError(str(path), f"its data file {missing} does not exist")
    check_budget(path, payload.expected)
    _check_complete(path, Payload(files, payload.offset, payload.encoding, payload.expected))
    return payload


def check_budget(path: Path, nbytes: int) -> None:
    limit = limits().image_bytes_max
    if nbytes > limit:
        raise InputError(
            str(path), f"declares {_mib(nbytes)} of voxels, over the {_mib(limit)} budget for one image (data/limits.json)"
        )


def _mib(nbytes: int) -> str:
    return f"{nbytes / (1 << 20):,.0f} MiB"


# --- NRRD ---------------------------------------------------------------------------------------


def _nrrd_payload(path: Path, head: bytes, unreadable: str) -> Payload:
    """ITK's NRRD reader (SimpleITK's and Slicer's alike) crashes the process on some damaged
    headers, such as a field line running on into the binary data, so the header must read as
    lines of text before its fields are taken."""
    text = head.replace(b"\r\n", b"\n")
    header, blank, _ = text.partition(b"\n\n")
    complete = blank or (path.name.lower().endswith(".nhdr") and len(head) < _HEADER_LIMIT)
    try:
        lines = header.decode("utf-8").rstrip("\n").split("\n")
    except UnicodeDecodeError:
        lines = []
    fields, data_lines = _nrrd_fields(lines)
    field_lines = lines[: len(lines) - len(data_lines)]
    if not complete or not lines or not all(_is_nrrd_header_line(line) for line in field_lines):
        raise InputError(str(path), unreadable)
    try:
        sizes = [int(value) for value in fields["sizes"].split()]
        element = _NRRD_TYPE_BYTES[fields["type"].strip().lower()]
    except (KeyError, ValueError):
        raise InputError(str(path), unreadable) from None
    if not sizes or min(sizes) < 1:
        raise InputError(str(path), unreadable)
    encoding = _NRRD_ENCODINGS.get(fields.get("encoding", "").strip().lower(), "other")
    skip = _int_field(fields, "byte skip", path, unreadable)
    expected = math.prod(sizes) * element + max(skip, 0) * (encoding != "raw")
    spacing = _nrrd_spacing(fields.get("space directions"))
    data_file = fields.get("data file") or fields.get("datafile")
    if data_file is None:
        offset = len(header) + 2 + head.count(b"\r\n", 0, len(header) + 2)
        raw_skip = skip if encoding == "raw" and skip > 0 else 0
        return Payload([path], offset + raw_skip, encoding if skip >= 0 else "other", expected, spacing=spacing)
    files = [path.parent / name for name in _nrrd_data_files(data_file, data_lines, path, unreadable)]
    offset = skip if encoding == "raw" and skip > 0 else 0
    return Payload(files, offset, encoding if skip >= 0 else "other", expected, spacing=spacing)


def _nrrd_spacing(directions: str | None) -> tuple[float, ...] | None:
    """Lengths of the `space directions` vectors of the spatial axes (`none` marks the others)."""
    if directions is None:
        return None
    vectors = re.findall(r"\(([^)]*)\)", directions)
    try:
        return tuple(math.hypot(*(float(value) for value in vector.split(","))) for vector in vectors)
    except ValueError:
        return None  # the reader refuses what does not parse


def _nrrd_fields(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """Fields by lower-case name, and the lines after a `data file: LIST` field (its file names)."""
    fields: dict[str, str] = {}
    for index, line in enumerate(lines[1:], start=1):
        if line.startswith("#") or ":=" in line:
            continue
        name, _, value = line.partition(":")
        name = name.strip().lower()
        fields[name] = value.strip()
        if name in ("data file", "datafile") and value.split()[:1] == ["LIST"]:
            return fields, lines[index + 1 :]
    return fields, []


def _nrrd_data_files(value: str, listed: list[str], path: Path, unreadable: str) -> list[str]:
    """The file names a `data file:` field gives: one name, `LIST` (one per following line), or a
    printf pattern with first, last and step (`T2.%03d.raw 1 20 1`)."""
    words = value.split()
    if words[0] == "LIST":
        return [line for line in listed if line.strip()]
    if "%" in words[0] and len(words) in (4, 5):
        try:
            first, last, step = (int(word) for word in words[1:4])
            if step == 0 or (last - first) / step < 0 or abs((last - first) // step) > limits().dicom_files_max:
                raise ValueError
            return [words[0] % number for number in range(first, last + (1 if step > 0 else -1), step)]
        except (ValueError, TypeError):
            raise InputError(str(path), unreadable) from None
    return [value]


def _int_field(fields: dict[str, str], name: str, path: Path, unreadable: str) -> int:
    try:
        return int(fields.get(name, "0"))
    except ValueError:
        raise InputError(str(path), unreadable) from None


def _is_nrrd_header_line(line: str) -> bool:
    """The magic, a comment, a key/value pair (`key:=value`) or a field (`name: value`) of
    reasonable length, as text."""
    if not line.replace("\t", " ").isprintable():
        return False
    if line.startswith(("NRRD000", "#")) or ":=" in line:
        return True
    return ":" in line and len(line) <= _NRRD_FIELD_LIMIT


# --- NIfTI --------------------------------------------------------------------------------------


def _nifti_payload(path: Path, head: bytes, encoding: str, unreadable: str) -> Payload:
    """NIfTI-1 or -2, either byte order. A voxel size that is not a positive number is refused (ITK
    reads NaN as 1 mm); no qform and no sform leaves the orientation unknown: ITK places the
    volume along its axes at the origin, as Slicer shows it, and the report says so."""
    for order in "<>":
        if len(head) >= 4 and struct.unpack_from(f"{order}i", head)[0] in _NIFTI_SIZES:
            break
    else:
        raise InputError(str(path), unreadable)
    version = _NIFTI_SIZES[struct.unpack_from(f"{order}i", head)[0]]
    try:
        if version == "nifti1":
            dims = struct.unpack_from(f"{order}8h", head, 40)
            bitpix = struct.unpack_from(f"{order}h", head, 72)[0]
            pixdim = struct.unpack_from(f"{order}8f", head, 76)
            offset = struct.unpack_from(f"{order}f", head, 108)[0]
            scaling = struct.unpack_from(f"{order}2f", head, 112)
            codes = struct.unpack_from(f"{order}2h", head, 252)
            quatern = struct.unpack_from(f"{order}6f", head, 256)
            srows = struct.unpack_from(f"{order}12f", head, 280)
        else:
            bitpix = struct.unpack_from(f"{order}h", head, 14)[0]
            dims = struct.unpack_from(f"{order}8q", head, 16)
            pixdim = struct.unpack_from(f"{order}8d", head, 104)
            offset = struct.unpack_from(f"{order}q", head, 168)[0]
            scaling = struct.unpack_from(f"{order}2d", head, 176)
            codes = struct.unpack_from(f"{order}2i", head, 344)
            quatern = struct.unpack_from(f"{order}6d", head, 352)
            srows = struct.unpack_from(f"{order}12d", head, 400)
    except struct.error:
        raise InputError(str(path), unreadable) from None
    rank = dims[0]
    if not 1 <= rank <= 7 or min(dims[1 : rank + 1]) < 1 or bitpix <= 0 or bitpix % 8 or not math.isfinite(offset) or offset < 0:
        raise InputError(str(path), unreadable)
    spatial = pixdim[1 : min(rank, 3) + 1]
    if not all(math.isfinite(size) and size > 0 for size in spatial):
        shown = ", ".join(f"{size:g}" for size in spatial)
        raise InputError(str(path), f"voxel size (pixdim) is not a positive number ({shown}); its geometry is unknown")
    warnings: tuple[str, ...] = ()
    if codes == (0, 0):
        warnings = (
            f"{path.name}: NIfTI header has no qform or sform, so the volume's orientation and position are not "
            "recorded; read along its voxel axes from the origin, as Slicer shows it",
        )
    elif min(codes) > 0:
        apart = _qform_sform_apart(quatern, srows, pixdim, (*dims[1 : min(rank, 3) + 1], 1, 1)[:3])
        if apart > limits().nifti_qform_sform_tolerance_mm:
            warnings = (
                f"{path.name}: its qform and sform place the volume's corners up to {apart:.3g} mm apart; read by the "
                "sform, as Slicer reads it (tools that read the qform place it elsewhere)",
            )
    slope, intercept = scaling
    if not (math.isfinite(slope) and math.isfinite(intercept)) or (slope == 0 and intercept != 0):
        warnings += (
            f"{path.name}: its voxel scaling (scl_slope {slope:g}, scl_inter {intercept:g}) is not a finite linear scaling; "
            "the values are read as the image reader takes them, which may not be what was meant",
        )
    voxels = math.prod(dims[1 : rank + 1]) * bitpix // 8
    if encoding == "gzip":  # the header and its padding are inside the compressed stream
        return Payload([path], 0, encoding, int(offset) + voxels, warnings)
    return Payload([path], int(offset), encoding, voxels, warnings)


def _qform_sform_apart(quatern: tuple[float, ...], srows: tuple[float, ...], pixdim: tuple[float, ...], shape: tuple[int, ...]) -> float:
    """How far apart (mm) a NIfTI header's two voxel-to-world maps put the volume's corner voxels: the
    qform (a rotation quaternion, voxel size and the qfac sign, NIfTI-1 standard) and the sform's rows."""
    b, c, d, *offset = quatern
    a = math.sqrt(max(0.0, 1.0 - b * b - c * c - d * d))
    rotation = [
        [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
        [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
        [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
    ]
    steps = (pixdim[1], pixdim[2], pixdim[3] * (-1.0 if pixdim[0] < 0 else 1.0))
    apart = 0.0
    for corner in _corners(shape):
        qform = [sum(rotation[row][axis] * steps[axis] * corner[axis] for axis in range(3)) + offset[row] for row in range(3)]
        sform = [sum(srows[4 * row + axis] * corner[axis] for axis in range(3)) + srows[4 * row + 3] for row in range(3)]
        apart = max(apart, math.dist(qform, sform))
    return apart


def _corners(shape: tuple[int, ...]) -> list[tuple[int, int, int]]:
    return [(i, j, k) for i in (0, shape[0] - 1) for j in (0, shape[1] - 1) for k in (0, shape[2] - 1)]


def _gunzipped_head(path: Path, unreadable: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            return zlib.decompressobj(47).decompress(stream.read(_CHUNK), 1024)
    except zlib.error:
        raise InputError(str(path), unreadable) from None


# --- MetaImage ----------------------------------------------------------------------------------


def _meta_payload(path: Path, head: bytes, unreadable: str) -> Payload:
    """A MetaImage header: `Key = Value` lines ending with `ElementDataFile`, which is LOCAL (data
    after the header), a file name, `LIST` (names on the following lines) or a printf pattern."""
    fields: dict[str, str] = {}
    position = 0
    while True:
        end = head.find(b"\n", position)
        if end < 0:
            raise InputError(str(path), unreadable)
        line = head[position:end].decode("latin-1").strip()
        position = end + 1
        key, equals, value = line.partition("=")
        if not equals:
            raise InputError(str(path), unreadable)
        fields[key.strip().lower()] = value.strip()
        if key.strip().lower() == "elementdatafile":
            break
    try:
        sizes = [int(value) for value in fields["dimsize"].split()]
        element = _META_TYPE_BYTES[fields["elementtype"].upper()] * int(fields.get("elementnumberofchannels", "1"))
    except (KeyError, ValueError):
        raise InputError(str(path), unreadable) from None
    if not sizes or min(sizes) < 1 or element < 1:
        raise InputError(str(path), unreadable)
    encoding = "zlib" if fields.get("compresseddata", "false").lower() == "true" else "raw"
    expected = math.prod(sizes) * element
    try:
        spacing = tuple(float(value) for value in fields["elementspacing"].split()) if "elementspacing" in fields else None
    except ValueError:
        spacing = None
    data_file = fields["elementdatafile"]
    if data_file.upper() == "LOCAL":
        return Payload([path], position, encoding, expected, spacing=spacing)
    if data_file.split()[:1] == ["LIST"]:
        names = [line.strip() for line in head[position:].decode("latin-1").split("\n") if line.strip()]
    else:
        names = _nrrd_data_files(data_file, [], path, unreadable)
    # HeaderSize: bytes to skip in a data file; -1 puts the data at its end (its length not checked).
    try:
        header_size = int(fields.get("headersize", "0"))
    except ValueError:
        raise InputError(str(path), unreadable) from None
    return Payload(
        [path.parent / name for name in names], max(header_size, 0), encoding if header_size >= 0 else "other", expected, spacing=spacing
    )


# --- Complete data ------------------------------------------------------------------------------


def _check_complete(path: Path, payload: Payload) -> None:
    """The data files hold at least the bytes the header declares. Compressed data is decoded in
    chunks and counted, never kept; decoding stops once enough is counted."""
    if payload.encoding == "other":
        return
    found = 0
    for index, file in enumerate(payload.files):
        offset = payload.offset if index == 0 or payload.files[0] != path else 0
        if payload.encoding == "raw":
            found += max(os.stat(file).st_size - offset, 0)
        else:
            found += _decoded_length(file, offset, payload.encoding, payload.expected - found, path)
        if found >= payload.expected:
            return
    raise InputError(
        str(path), f"data is truncated: it holds {found:,} of the {payload.expected:,} bytes its header declares"
    )


def _decoded_length(file: Path, offset: int, encoding: str, wanted: int, path: Path) -> int:
    """Decoded bytes of a compressed data file from `offset`, counted up to `wanted` and never more
    than a chunk of them held at once (a small file may decode to gigabytes)."""
    found = 0
    try:
        with open(file, "rb") as stream:
            stream.seek(offset)
            decoder = _decoder(encoding)
            pending = b""
            while found < wanted:
                if not pending:
                    pending = stream.read(_CHUNK)
                    if not pending:
                        return found
                found += len(decoder.decompress(pending, _CHUNK))
                pending = decoder.unconsumed_tail if encoding != "bzip2" else b""
                while encoding == "bzip2" and not decoder.needs_input and not decoder.eof and found < wanted:
                    found += len(decoder.decompress(b"", _CHUNK))
                if decoder.eof:
                    if not decoder.unused_data.startswith(b"\x1f\x8b"):  # gzip allows further members
                        return found
                    decoder, pending = _decoder(encoding), decoder.unused_data
    except (zlib.error, OSError, EOFError, ValueError) as error:
        raise InputError(str(path), f"compressed data is corrupt ({error})") from None
    return found


def _decoder(encoding: str) -> "zlib._Decompress | bz2.BZ2Decompressor":
    if encoding == "bzip2":
        return bz2.BZ2Decompressor()
    return zlib.decompressobj(47 if encoding == "gzip" else 15)
