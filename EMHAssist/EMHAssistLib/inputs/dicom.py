"""A sequence given as a folder of DICOM, as scanners and PACS write it.

The folder holds one series of single-frame images (any transfer syntax GDCM decodes: native,
JPEG-LS, JPEG 2000), or one multi-frame object (Enhanced MR Image Storage, or a Legacy Converted
Enhanced MR made from a classic series), or a DICOMDIR listing its files in subfolders. A folder
with several series reads the one whose description names the role (`Sag T2 TSE` for T2) when
exactly one does; otherwise it is refused with the series listed. Before any pixel is decoded
every image's header is read: a file that is DICOM but unreadable, pixel data shorter than its
header declares, slices at one position, missing or unevenly spaced slices, or a mix of
orientations are refused, since ITK's series reader would drop the slice or invent the spacing
without a word.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.errors import InvalidDicomError

from ..errors import InputError
from ..limits import limits
from .confine import case_file
from .headers import check_budget
from .roles import recognise_role

DICOMDIR = "DICOMDIR"
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


@dataclass
class DicomVolume:
    """A sequence read from DICOM: voxels in [k, j, i] order, its IJK-to-RAS matrix, the
    identifying header fields of each file read (by DICOM keyword) and what was doubtful."""

    voxels: np.ndarray
    ijk_to_ras: np.ndarray
    headers: list[dict[str, str]]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Image:
    path: Path
    dataset: pydicom.Dataset


def read_dicom_folder(folder: Path, role: str, root: Path, header_keywords: Sequence[str]) -> DicomVolume:
    images, ignored = _images(folder, root)
    series = _one_series(folder, role, images)
    warnings = [f"{folder.name}: {ignored} file(s) that are not DICOM images ignored"] if ignored else []
    if len(series) == 1 and int(series[0].dataset.get("NumberOfFrames", 1) or 1) > 1:
        voxels, ijk_to_ras = _multiframe(series[0])
    else:
        voxels, ijk_to_ras, series = _single_frames(folder, series)
    headers = [
        {keyword: str(image.dataset.get(keyword, "")).strip(" \x00") for keyword in header_keywords if keyword in image.dataset}
        for image in series
    ]
    return DicomVolume(voxels, ijk_to_ras, headers, warnings)


def _images(folder: Path, root: Path) -> tuple[list[_Image], int]:
    """The image files of the folder (or those its DICOMDIR lists), headers and pixel data read
    and checked; and how many files were not DICOM images."""
    paths = _listed_files(folder, root)
    limit = limits().dicom_files_max
    if len(paths) > limit:
        raise InputError(str(folder), f"holds {len(paths):,} files, over the {limit:,} budget for one DICOM series (data/limits.json)")
    images, ignored = [], 0
    for path in paths:
        try:
            dataset = pydicom.dcmread(path)
        except InvalidDicomError:
            ignored += 1
            continue
        except Exception as error:  # noqa: BLE001 - pydicom raises many kinds on a damaged file
            raise InputError(str(path), f"is not a readable DICOM file ({type(error).__name__})") from None
        if "PixelData" not in dataset or "Rows" not in dataset:
            ignored += path.name != DICOMDIR
            continue
        _check_pixel_length(path, dataset)
        images.append(_Image(path, dataset))
    if not images:
        raise InputError(str(folder), "holds 0 DICOM series; a sequence folder must hold exactly one")
    return images, ignored


def _listed_files(folder: Path, root: Path) -> list[Path]:
    """The files a DICOMDIR lists (each inside the case, regular), else the folder's own files."""
    if not (folder / DICOMDIR).is_file():
        return sorted(path for path in folder.iterdir() if path.is_file())
    try:
        directory = pydicom.dcmread(folder / DICOMDIR)
        records = directory.DirectoryRecordSequence
    except Exception:  # noqa: BLE001
        raise InputError(str(folder / DICOMDIR), "is not a readable DICOMDIR") from None
    listed = []
    for record in records:
        parts = record.get("ReferencedFileID")
        if parts is None:
            continue
        parts = [parts] if isinstance(parts, str) else list(parts)
        path = folder.joinpath(*parts)
        if case_file(path, root, subject=folder / DICOMDIR) is None:
            raise InputError(str(folder / DICOMDIR), f"lists {'/'.join(parts)}, which does not exist")
        listed.append(path)
    return listed


def _check_pixel_length(path: Path, dataset: pydicom.Dataset) -> None:
    """Native (uncompressed) pixel data holds every byte its header declares; compressed data is
    checked by its decoder."""
    if dataset.file_meta.get("TransferSyntaxUID") is not None and dataset.file_meta.TransferSyntaxUID.is_compressed:
        return
    declared = _pixel_bytes(dataset)
    if len(dataset.PixelData) < declared:
        raise InputError(str(path), f"pixel data is truncated: it holds {len(dataset.PixelData):,} of {declared:,} bytes")


def _pixel_bytes(dataset: pydicom.Dataset) -> int:
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    return int(dataset.Rows) * int(dataset.Columns) * frames * int(dataset.get("SamplesPerPixel", 1)) * int(dataset.BitsAllocated) // 8


def _one_series(folder: Path, role: str, images: list[_Image]) -> list[_Image]:
    by_uid: dict[str, list[_Image]] = {}
    for image in images:
        by_uid.setdefault(str(image.dataset.get("SeriesInstanceUID", "")), []).append(image)
    if len(by_uid) == 1:
        return images
    naming = [uid for uid, members in by_uid.items() if recognise_role(str(members[0].dataset.get("SeriesDescription", ""))) == role]
    if len(naming) == 1:
        return by_uid[naming[0]]
    listed = "; ".join(
        f"{str(members[0].dataset.get('SeriesDescription', '')) or 'no description'!r} ({len(members)} file(s), series {uid})"
        for uid, members in by_uid.items()
    )
    raise InputError(
        str(folder), f"holds {len(by_uid)} DICOM series and {'none' if not naming else 'more than one'} is described as {role}: {listed}"
    )


# --- Geometry -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stack:
    """Slices in order along their normal: the order of the given slices, origin (LPS) and the
    direction matrix and spacing ITK would give."""

    order: list[int]
    origin: np.ndarray
    direction: np.ndarray  # columns: along i (rows' direction), along j, along k
    spacing: np.ndarray  # i, j, k


def _stack(subject: Path, orientations: list[Sequence[float]], positions: list[Sequence[float]], pixel_spacing: Sequence[float]) -> _Stack:
    tolerance = limits().slice_position_tolerance
    first = np.array(orientations[0], dtype=float)
    if any(not np.allclose(np.array(o, dtype=float), first, atol=tolerance.orientation) for o in orientations):
        raise InputError(str(subject), "its slices do not all share one orientation; the volume's geometry is unknown")
    row, column = first[:3], first[3:]
    normal = np.cross(row, column)
    if not math.isclose(float(np.linalg.norm(normal)), 1.0, abs_tol=tolerance.orientation):
        raise InputError(str(subject), "ImageOrientationPatient is not two perpendicular unit vectors")
    points = np.array(positions, dtype=float)
    along = points @ normal
    order = list(np.argsort(along, kind="stable"))
    gaps = np.diff(along[order])
    if len(points) > 1:
        if gaps.min() <= tolerance.mm:
            raise InputError(
                str(subject), f"{int(np.sum(gaps <= tolerance.mm)) + 1} slices share one position; the spacing between slices is unknown"
            )
        if gaps.max() - gaps.min() > tolerance.mm + tolerance.fraction * gaps.min():
            raise InputError(
                str(subject),
                f"slices are missing or unevenly spaced (gaps from {gaps.min():.4g} to {gaps.max():.4g} mm); the volume's geometry is unknown",
            )
    gap = float(gaps.mean()) if len(points) > 1 else 1.0
    spacing = np.array([float(pixel_spacing[1]), float(pixel_spacing[0]), gap])
    return _Stack(order, points[order[0]], np.column_stack([row, column, normal]), spacing)


def _ijk_to_ras(stack: _Stack) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3] = _LPS_TO_RAS @ stack.direction @ np.diag(stack.spacing)
    matrix[:3, 3] = _LPS_TO_RAS @ stack.origin
    return matrix


# --- Classic series: one file per slice, decoded by GDCM --------------------------------------------


def _single_frames(folder: Path, series: list[_Image]) -> tuple[np.ndarray, np.ndarray, list[_Image]]:
    """Voxels and IJK-to-RAS matrix of a classic series, and its files in slice order."""
    shapes = {(int(image.dataset.Rows), int(image.dataset.Columns)) for image in series}
    if len(shapes) != 1:
        raise InputError(str(folder), f"its slices differ in size ({', '.join(f'{r} x {c}' for r, c in sorted(shapes))})")
    for image in series:
        for keyword in ("ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing"):
            if len(image.dataset.get(keyword) or ()) not in (2, 3, 6):
                raise InputError(str(image.path), f"has no {keyword}; the slice cannot be placed")
    check_budget(folder, sum(_pixel_bytes(image.dataset) for image in series))
    stack = _stack(
        folder,
        [image.dataset.ImageOrientationPatient for image in series],
        [image.dataset.ImagePositionPatient for image in series],
        series[0].dataset.PixelSpacing,
    )
    ordered = [series[index] for index in stack.order]
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames([str(image.path) for image in ordered])
    try:
        image = reader.Execute()
    except RuntimeError:
        raise InputError(str(folder), "DICOM series could not be read (its pixel data could not be decoded)") from None
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(str(folder), "has more than one component per voxel; a sequence must be a scalar volume")
    return sitk.GetArrayFromImage(image), _ijk_to_ras(stack), ordered


# --- Multi-frame objects: Enhanced MR, Legacy Converted Enhanced MR ------------------------------------


def _multiframe(image: _Image) -> tuple[np.ndarray, np.ndarray]:
    """Voxels and IJK-to-RAS matrix of one multi-frame object, its frames placed by their
    functional groups (per frame, else shared)."""
    dataset = image.dataset
    check_budget(image.path, _pixel_bytes(dataset))
    shared = (dataset.get("SharedFunctionalGroupsSequence") or [pydicom.Dataset()])[0]
    frames = dataset.get("PerFrameFunctionalGroupsSequence") or []
    count = int(dataset.NumberOfFrames)
    if len(frames) != count:
        raise InputError(str(image.path), f"has {count} frames but {len(frames)} per-frame descriptions; its frames cannot be placed")

    def attribute(frame: pydicom.Dataset, group: str, keyword: str) -> object:
        for source in (frame, shared):
            if group in source and keyword in source[group].value[0]:
                return source[group].value[0][keyword].value
        raise InputError(str(image.path), f"gives no {keyword} ({group}); its frames cannot be placed")

    orientations = [attribute(frame, "PlaneOrientationSequence", "ImageOrientationPatient") for frame in frames]
    positions = [attribute(frame, "PlanePositionSequence", "ImagePositionPatient") for frame in frames]
    spacings = {tuple(float(v) for v in attribute(frame, "PixelMeasuresSequence", "PixelSpacing")) for frame in frames}
    if len(spacings) != 1:
        raise InputError(str(image.path), "its frames differ in pixel spacing")
    stack = _stack(image.path, orientations, positions, next(iter(spacings)))
    try:
        pixels = dataset.pixel_array
    except Exception as error:  # noqa: BLE001 - pydicom's decoders raise many kinds
        raise InputError(str(image.path), f"pixel data could not be decoded ({type(error).__name__}: {error})") from None
    if pixels.ndim != 3:
        raise InputError(str(image.path), "has more than one component per voxel; a sequence must be a scalar volume")
    voxels = np.stack([_rescaled(pixels[index], frames[index], shared) for index in stack.order])
    return voxels, _ijk_to_ras(stack)


def _rescaled(pixels: np.ndarray, frame: pydicom.Dataset, shared: pydicom.Dataset) -> np.ndarray:
    """A frame's stored values turned into its real values by its rescale slope and intercept,
    kept in their own type when these are 1 and 0 (as GDCM reads a classic series)."""
    for source in (frame, shared):
        group = source.get("PixelValueTransformationSequence")
        if group:
            slope, intercept = float(group[0].get("RescaleSlope", 1)), float(group[0].get("RescaleIntercept", 0))
            if (slope, intercept) != (1.0, 0.0):
                return pixels.astype(np.float64) * slope + intercept
    return pixels
