"""A volume written as a classic DICOM MR series, one file per slice, as a scanner's export would be.

The built-in cases are made as NRRD; `emhassist demo --dicom` turns them into DICOM series so that a
DICOM Structured Report (`analyze --sr`), which must cite the instances it measured, can be shown
without a scanner. The voxel values are floats: they are stored as 16-bit integers with a rescale
slope chosen per series so that the largest magnitude fills most of the integer range, which keeps
every value to within half a slope step of the original.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from ..errors import InputError

_SLICE_FILE = re.compile(r"slice\d{4}\.dcm")
# The largest stored integer: short of int16's 32767 so that rounding never overflows it.
_STORED_MAX = 30000


@dataclass(frozen=True)
class SeriesIdentity:
    """Who and what a series belongs to; UIDs are derived from these texts, so a rerun writes the same ones."""

    patient_id: str
    patient_name: str
    study_key: str
    description: str


def write_dicom_series(image: sitk.Image, folder: Path, identity: SeriesIdentity) -> list[Path]:
    """Every slice of `image` (along its third axis) as one MR Image Storage file in `folder`."""
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(str(folder), "only a 3-D scalar volume can be written as a DICOM series")
    values = sitk.GetArrayFromImage(image).astype(np.float64)  # [k, j, i]
    slope = _rescale_slope(values)
    stored = np.rint(values / slope).astype(np.int16)
    folder.mkdir(parents=True, exist_ok=False)
    study_uid = generate_uid(entropy_srcs=[identity.patient_id, identity.study_key])
    series_uid = generate_uid(entropy_srcs=[identity.patient_id, identity.study_key, identity.description])
    paths = []
    for index in range(stored.shape[0]):
        dataset = _slice_dataset(image, index, identity, study_uid, series_uid)
        dataset.RescaleSlope = f"{slope:.10g}"
        dataset.RescaleIntercept = "0"
        dataset.PixelData = stored[index].tobytes()
        path = folder / f"slice{index + 1:04d}.dcm"
        dataset.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _rescale_slope(values: np.ndarray) -> float:
    largest = float(np.max(np.abs(values))) if values.size else 0.0
    if not np.isfinite(largest):
        raise InputError("DICOM series", "the volume holds non-finite values, which DICOM integers cannot store")
    return largest / _STORED_MAX if largest > 0 else 1.0


def _slice_dataset(image: sitk.Image, index: int, identity: SeriesIdentity, study_uid: str, series_uid: str) -> pydicom.Dataset:
    """The header of slice `index`: patient, study, series and the geometry tags a reader needs (LPS, as ITK's)."""
    instance_uid = generate_uid(entropy_srcs=[series_uid, str(index)])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = pydicom.Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID, dataset.SOPInstanceUID = MRImageStorage, instance_uid
    dataset.Modality = "MR"
    dataset.PatientID, dataset.PatientName = identity.patient_id, identity.patient_name
    dataset.StudyInstanceUID, dataset.SeriesInstanceUID = study_uid, series_uid
    dataset.StudyID, dataset.SeriesNumber, dataset.InstanceNumber = "1", "1", str(index + 1)
    dataset.SeriesDescription = identity.description
    direction = np.array(image.GetDirection()).reshape(3, 3)
    dataset.ImageOrientationPatient = [f"{value:.6f}" for value in (*direction[:, 0], *direction[:, 1])]
    dataset.ImagePositionPatient = [f"{value:.6f}" for value in image.TransformIndexToPhysicalPoint((0, 0, index))]
    column_mm, row_mm, slice_mm = image.GetSpacing()
    dataset.PixelSpacing = [f"{row_mm:.6f}", f"{column_mm:.6f}"]  # row spacing first, as DICOM orders it
    dataset.SliceThickness = f"{slice_mm:.6f}"
    dataset.Rows, dataset.Columns = image.GetHeight(), image.GetWidth()
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 16, 15, 1
    return dataset


def case_folder_as_dicom(folder: Path, roles: list[str], patient_id: str) -> None:
    """Each role's `<role>.nrrd` in a case folder replaced by a `<role>/` folder of one DICOM series."""
    for role in roles:
        volume = folder / f"{role}.nrrd"
        identity = SeriesIdentity(patient_id, "Synthetic^Case", folder.name, f"{role} (EMHAssist synthetic)")
        _clear_earlier_series(folder / role)
        write_dicom_series(sitk.ReadImage(str(volume)), folder / role, identity)
        volume.unlink()


def _clear_earlier_series(series: Path) -> None:
    """A rerun of the demo replaces the series it wrote before, and nothing else."""
    if not series.exists():
        return
    files = list(series.iterdir()) if series.is_dir() else []
    if not series.is_dir() or any(not (path.is_file() and _SLICE_FILE.fullmatch(path.name)) for path in files):
        raise InputError(str(series), "exists and holds files this command did not write; choose another --out")
    for path in files:
        path.unlink()
    series.rmdir()
