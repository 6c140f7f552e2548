"""Real DICOM as scanners and PACS write it, each read to the voxels and geometry of the classic
series it was made from (issue 20).

The classic series is written slice by slice from the small case's T2 (test_cli's writer); each
variant is made from it with the tools a PACS or a converter would use: highdicom's Legacy
Converted Enhanced MR (one multi-frame object), pydicom with its encoders for the JPEG-LS and
JPEG 2000 lossless transfer syntaxes, pydicom's FileSet for a DICOMDIR, and a folder holding a
second series. Damaged series (a slice missing, slices at one position, an unreadable slice, a
mix of orientations) are refused where ITK dropped the slice or invented the spacing.
"""

import shutil
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
import slicer
import vtk
from pydicom.fileset import FileSet
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, generate_uid
from small_case import write_small_case
from test_cli import write_independent_dicom_series
from test_robustness import analyse

from EMHAssistLib.errors import InputError
from EMHAssistLib.inputs.casefolder import load_case_folder
from EMHAssistLib.inputs.scene import new_headless_scene


def classic_datasets(folder: Path) -> list[pydicom.Dataset]:
    """The classic series' files as a scanner leaves them: with the SOP class, patient and study
    module fields that converters and DICOMDIRs require."""
    datasets = []
    for path in sorted(folder.iterdir()):
        dataset = pydicom.dcmread(path)
        dataset.SOPClassUID = pydicom.uid.MRImageStorage
        dataset.file_meta.MediaStorageSOPClassUID = dataset.SOPClassUID
        dataset.PatientName, dataset.PatientID, dataset.PatientSex = "Test^Synthetic", "EMH-1", "O"
        dataset.PatientBirthDate, dataset.StudyDate, dataset.StudyTime = "19700101", "20260101", "120000"
        dataset.AccessionNumber, dataset.ReferringPhysicianName, dataset.StudyID = "A1", "", "1"
        dataset.Manufacturer, dataset.SeriesNumber, dataset.FrameOfReferenceUID = "EMHAssist test", 1, "1.2.826.0.1.3680043.2.1125.1.43"
        dataset.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
        dataset.ScanningSequence, dataset.SequenceVariant, dataset.ScanOptions, dataset.MRAcquisitionType = "SE", "NONE", "", "2D"
        dataset.EchoTrainLength, dataset.RepetitionTime, dataset.EchoTime = 1, 3000.0, 90.0
        dataset.save_as(path)
        datasets.append(dataset)
    return datasets


@pytest.fixture(scope="module")
def classic(tmp_path_factory) -> Path:
    """A case whose T2 is a classic single-frame DICOM series."""
    case = write_small_case(tmp_path_factory.mktemp("classic") / "case", new_headless_scene())
    write_independent_dicom_series(sitk.ReadImage(str(case / "T2.nrrd")), case / "T2")
    (case / "T2.nrrd").unlink()
    classic_datasets(case / "T2")
    return case


def variant_of(classic: Path, tmp_path: Path) -> tuple[Path, list[pydicom.Dataset]]:
    case = Path(shutil.copytree(classic, tmp_path / "case"))
    datasets = [pydicom.dcmread(path) for path in sorted((case / "T2").iterdir())]
    shutil.rmtree(case / "T2")
    (case / "T2").mkdir()
    return case, datasets


def t2_as_read(case: Path) -> tuple[np.ndarray, np.ndarray]:
    volume = load_case_folder(case, new_headless_scene()).sequences["T2"]
    return slicer.util.arrayFromVolume(volume).copy(), ijk_to_ras(volume)


def ijk_to_ras(volume: slicer.vtkMRMLScalarVolumeNode) -> np.ndarray:
    matrix = vtk.vtkMatrix4x4()
    volume.GetIJKToRASMatrix(matrix)
    return slicer.util.arrayFromVTKMatrix(matrix)


def assert_same_as_classic(case: Path, classic: Path) -> None:
    voxels, matrix = t2_as_read(case)
    expected_voxels, expected_matrix = t2_as_read(classic)
    assert voxels.shape == expected_voxels.shape
    assert np.array_equal(voxels.astype(np.float64), expected_voxels.astype(np.float64))
    assert np.allclose(matrix, expected_matrix, atol=1e-4)


# --- Valid variants: the same voxels and geometry ------------------------------------------------------


def test_the_classic_series_reads_as_the_nrrd_it_was_written_from(classic, tmp_path, capsys):
    nrrd = write_small_case(tmp_path / "nrrd", new_headless_scene())
    voxels, matrix = t2_as_read(classic)
    volume = load_case_folder(nrrd, new_headless_scene()).sequences["T2"]
    assert np.array_equal(voxels, np.rint(slicer.util.arrayFromVolume(volume)).astype(voxels.dtype))
    assert np.allclose(matrix, ijk_to_ras(volume), atol=1e-4)


def test_a_legacy_converted_enhanced_mr_reads_as_its_classic_series(classic, tmp_path, capsys):
    """One multi-frame object made by highdicom: it was refused as `is a 4-D image`."""
    case, datasets = variant_of(classic, tmp_path)
    enhanced = hd.legacy.LegacyConvertedEnhancedMRImage(
        legacy_datasets=datasets, series_instance_uid=generate_uid(), series_number=2, sop_instance_uid=generate_uid(), instance_number=1
    )
    enhanced.save_as(case / "T2" / "enhanced.dcm")
    assert int(pydicom.dcmread(case / "T2" / "enhanced.dcm").NumberOfFrames) == len(datasets)
    assert_same_as_classic(case, classic)
    code, err, report = analyse(case, tmp_path / "r.json", capsys)
    assert code == 0, err
    classic_report = analyse(classic, tmp_path / "c.json", capsys)[2]
    assert report["ratios"] == classic_report["ratios"]


@pytest.mark.parametrize("syntax", [JPEGLSLossless, JPEG2000Lossless], ids=["JPEG-LS lossless", "JPEG 2000 lossless"])
def test_a_series_in_a_lossless_compressed_transfer_syntax_reads_as_the_classic_one(classic, tmp_path, syntax):
    case, datasets = variant_of(classic, tmp_path)
    for index, dataset in enumerate(datasets):
        dataset.compress(syntax)
        dataset.save_as(case / "T2" / f"IM{index:04d}")
    assert pydicom.dcmread(case / "T2" / "IM0000").file_meta.TransferSyntaxUID == syntax
    assert_same_as_classic(case, classic)


def test_a_compressed_enhanced_mr_reads_as_the_classic_one(classic, tmp_path):
    case, datasets = variant_of(classic, tmp_path)
    enhanced = hd.legacy.LegacyConvertedEnhancedMRImage(
        legacy_datasets=datasets, series_instance_uid=generate_uid(), series_number=2, sop_instance_uid=generate_uid(), instance_number=1
    )
    enhanced.compress(JPEGLSLossless)
    enhanced.save_as(case / "T2" / "enhanced.dcm")
    assert_same_as_classic(case, classic)


def test_a_dicomdir_with_its_files_in_subfolders_reads_as_the_classic_series(classic, tmp_path):
    case, datasets = variant_of(classic, tmp_path)
    fileset = FileSet()
    for dataset in datasets:
        fileset.add(dataset)
    fileset.write(case / "T2")
    assert (case / "T2" / "DICOMDIR").is_file() and not list((case / "T2").glob("*.dcm"))
    assert_same_as_classic(case, classic)


def second_series(datasets: list[pydicom.Dataset], description: str) -> list[pydicom.Dataset]:
    uid = generate_uid()
    copies = []
    for dataset in datasets:
        copy = dataset.copy()
        copy.SeriesInstanceUID, copy.SOPInstanceUID, copy.SeriesDescription = uid, generate_uid(), description
        copy.file_meta.MediaStorageSOPInstanceUID = copy.SOPInstanceUID
        copy.PixelData = (copy.pixel_array // 2).astype(copy.pixel_array.dtype).tobytes()
        copies.append(copy)
    return copies


def write_series(folder: Path, datasets: list[pydicom.Dataset], prefix: str) -> None:
    for index, dataset in enumerate(datasets):
        dataset.save_as(folder / f"{prefix}{index:04d}.dcm")


def test_a_folder_of_two_series_reads_the_one_whose_description_names_the_role(classic, tmp_path):
    case, datasets = variant_of(classic, tmp_path)
    for dataset in datasets:
        dataset.SeriesDescription = "Sag T2 TSE"
    write_series(case / "T2", datasets, "a")
    write_series(case / "T2", second_series(datasets, "Sag T1 TSE"), "b")
    assert_same_as_classic(case, classic)


def test_a_folder_of_two_series_neither_named_for_the_role_is_refused_with_both_listed(classic, tmp_path):
    case, datasets = variant_of(classic, tmp_path)
    for dataset in datasets:
        dataset.SeriesDescription = "localizer"
    write_series(case / "T2", datasets, "a")
    write_series(case / "T2", second_series(datasets, "survey"), "b")
    with pytest.raises(InputError, match=r"T2: holds 2 DICOM series and none is described as T2: 'localizer' \(70 file\(s\).*'survey' \(70"):
        load_case_folder(case, new_headless_scene())


# --- Damaged series: refused, never guessed ------------------------------------------------------------


def damaged(classic: Path, tmp_path: Path) -> tuple[Path, list[Path]]:
    case = Path(shutil.copytree(classic, tmp_path / "case"))
    return case, sorted((case / "T2").iterdir(), key=lambda path: float(pydicom.dcmread(path).ImagePositionPatient[2]))


def refusal(case: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_case_folder(case, new_headless_scene())
    return str(caught.value)


def test_a_series_with_a_slice_missing_is_refused(classic, tmp_path):
    """ITK read it with the gap spread over every slice (spacing stretched) and only its own
    stderr said so."""
    case, files = damaged(classic, tmp_path)
    files[30].unlink()
    assert "slices are missing or unevenly spaced" in refusal(case)


def test_a_series_with_an_unreadable_slice_is_refused_by_the_slices_name(classic, tmp_path):
    case, files = damaged(classic, tmp_path)
    files[30].write_bytes(files[30].read_bytes()[:2000])
    message = refusal(case)
    assert files[30].name in message and ("truncated" in message or "not a readable DICOM file" in message), message


def test_slices_all_at_one_position_are_refused(classic, tmp_path):
    """ITK invented a 1 mm spacing for them."""
    case, files = damaged(classic, tmp_path)
    for path in files:
        dataset = pydicom.dcmread(path)
        dataset.ImagePositionPatient = pydicom.dcmread(files[0]).ImagePositionPatient
        dataset.save_as(path)
    assert "slices share one position" in refusal(case)


def test_slices_in_two_orientations_are_refused(classic, tmp_path):
    case, files = damaged(classic, tmp_path)
    dataset = pydicom.dcmread(files[10])
    dataset.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
    dataset.save_as(files[10])
    assert "do not all share one orientation" in refusal(case)


def test_a_file_that_is_not_dicom_beside_the_series_is_ignored_with_a_warning(classic, tmp_path):
    case, _ = damaged(classic, tmp_path)
    (case / "T2" / "notes.txt").write_text("acquired on the 3 T scanner\n")
    study = load_case_folder(case, new_headless_scene())
    assert any("not DICOM images ignored" in warning for warning in study.warnings)
