"""`emhassist demo --dicom`: the built-in case as DICOM series, so that `analyze --sr` can be shown."""

import json
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from EMHAssistLib.errors import InputError
from EMHAssistLib.frontends.cli import main
from EMHAssistLib.inputs.casefolder import read_volume
from EMHAssistLib.outputs.dicom_series import SeriesIdentity, case_folder_as_dicom, write_dicom_series

IDENTITY = SeriesIdentity("EMH-TEST", "Test^Synthetic", "study", "T2 oblique")


def oblique_volume() -> sitk.Image:
    """Float values with a fractional part, on a grid turned 20 degrees about two axes."""
    values = np.random.default_rng(7).normal(400.0, 120.0, size=(9, 30, 24)).astype(np.float32)
    image = sitk.GetImageFromArray(values)
    image.SetSpacing((0.8, 0.7, 3.0))
    image.SetOrigin((-12.5, 40.25, 7.0))
    rotation = sitk.VersorTransform((1.0, 0.5, 0.0), np.radians(20.0))
    image.SetDirection(rotation.GetMatrix())
    return image


def test_a_series_reads_back_to_the_same_voxels_and_geometry(tmp_path, scene):
    image = oblique_volume()
    write_dicom_series(image, tmp_path / "T2", IDENTITY)
    node = read_volume(tmp_path / "T2", "T2", scene)
    import slicer

    read = slicer.util.arrayFromVolume(node)
    original = sitk.GetArrayFromImage(image)
    slope = float(np.abs(original).max()) / 30000
    assert read.shape == original.shape
    assert np.abs(read - original).max() <= slope / 2 + 1e-6
    assert np.allclose(node.GetSpacing(), image.GetSpacing(), atol=1e-5)
    ijk_to_ras = vtk_matrix(node)
    lps_origin = np.array(image.GetOrigin())
    assert np.allclose(ijk_to_ras[:3, 3], lps_origin * [-1, -1, 1], atol=1e-4)
    lps_columns = np.array(image.GetDirection()).reshape(3, 3) * image.GetSpacing()
    assert np.allclose(ijk_to_ras[:3, :3], lps_columns * np.array([[-1], [-1], [1]]), atol=1e-4)


def vtk_matrix(node) -> np.ndarray:
    import vtk

    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    return np.array([[matrix.GetElement(row, column) for column in range(4)] for row in range(4)])


def test_rewriting_a_case_replaces_its_own_series_and_refuses_anything_else(tmp_path):
    case = tmp_path / "case"
    case.mkdir()
    for _ in range(2):
        sitk.WriteImage(oblique_volume(), str(case / "T2.nrrd"))
        case_folder_as_dicom(case, ["T2"], patient_id="EMH-TEST")
    assert len(list((case / "T2").iterdir())) == 9
    (case / "T2" / "notes.txt").write_text("mine")
    sitk.WriteImage(oblique_volume(), str(case / "T2.nrrd"))
    with pytest.raises(InputError, match="did not write"):
        case_folder_as_dicom(case, ["T2"], patient_id="EMH-TEST")
    assert (case / "T2" / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_the_demo_as_dicom_gives_an_sr_citing_every_series(tmp_path, capsys):
    """The demo's series carry no birth date (type 2, left out as some exports do): the SR is still
    written, with the attribute empty (before: AttributeError from highdicom, a traceback)."""
    assert main(["demo", "--dicom", "--out", str(tmp_path)]) == 0
    case = tmp_path / "cases" / "mds_t5_t8"
    assert sorted(path.name for path in case.iterdir() if path.is_dir()) == ["T1", "T1C", "T2"]
    assert main(["analyze", str(case), "--sr", str(tmp_path / "report.sr.dcm"), "--json", str(tmp_path / "report.json")]) == 0
    sr = hd.sr.srread(tmp_path / "report.sr.dcm")
    cited = {item.ReferencedSOPInstanceUID for study in sr.CurrentRequestedProcedureEvidenceSequence for series in study.ReferencedSeriesSequence for item in series.ReferencedSOPSequence}
    written = {pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID for path in case.glob("*/slice*.dcm")}
    assert cited == written
    assert sr.PatientID == "EMH-mds_t5_t8" and sr.PatientBirthDate == ""
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["differential"][0]["id"] == "emh"
    assert Path(report["sequences"]["T2"]["file"]).name == "T2"
