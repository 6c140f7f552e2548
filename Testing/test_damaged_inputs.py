"""Damaged or doubtful inputs that gave a wrong number without a word, or a traceback (issue 20).

The same catalogue form as test_robustness.py (refused with one `error:` line naming the file, or
analysed with a warning), run in-process through the command line's `main`. Each entry was
analysed without complaint, or ended in a traceback, before issue 20; docs/robustness.md lists
them with their answers. Hypothesis then writes arbitrary JSON and markups fields and checks the
promise holds for all of them, and that every error line is one printable, bounded line.
"""

import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from small_case import VALUES, small_study
from test_robustness import (  # noqa: F401 (templates is a fixture)
    Analysed,
    Entry,
    Refused,
    analyse,
    assert_entry_answered,
    edit_level_points,
    edit_roi,
    move_roi_to,
    replace_header_field,
    templates,
)

from EMHAssistLib.errors import InputError
from EMHAssistLib.frontends.cli import main
from EMHAssistLib.geometry import Box, Grid, box_voxels
from EMHAssistLib.inputs.nodes import box_of_roi, vtk_matrix
from EMHAssistLib.inputs.noise import caught_messages
from EMHAssistLib.knowledge import load


def as_nifti(case: Path, role: str, compressed: bool) -> Path:
    image = sitk.ReadImage(str(case / f"{role}.nrrd"))
    (case / f"{role}.nrrd").unlink()
    path = case / f"{role}.nii{'.gz' if compressed else ''}"
    sitk.WriteImage(image, str(path))
    return path


def cut_in_half(path: Path) -> None:
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])


def nifti_without_geometry(case: Path, pixdim: float) -> None:
    """T2 as a NIfTI-1 with no qform and no sform and voxel size `pixdim` (NaN: ITK read 1 mm)."""
    path = as_nifti(case, "T2", compressed=False)
    header = bytearray(path.read_bytes())
    struct.pack_into("<3f", header, 80, pixdim, pixdim, pixdim)
    struct.pack_into("<2h", header, 252, 0, 0)
    path.write_bytes(bytes(header))


def metaimage(case: Path, role: str, compressed: bool) -> Path:
    image = sitk.ReadImage(str(case / f"{role}.nrrd"))
    (case / f"{role}.nrrd").unlink()
    path = case / f"{role}.mha"
    sitk.WriteImage(image, str(path), compressed)
    return path


def flag_compressed(path: Path) -> None:
    path.write_bytes(path.read_bytes().replace(b"CompressedData = False", b"CompressedData = True"))


def scale_float64(case: Path, role: str, factor: float) -> None:
    image = sitk.ReadImage(str(case / f"{role}.nrrd"))
    scaled = sitk.GetImageFromArray(sitk.GetArrayFromImage(image).astype(np.float64) * factor)
    scaled.CopyInformation(image)
    sitk.WriteImage(scaled, str(case / f"{role}.nrrd"))


def write_clinical(case: Path, text: str) -> None:
    (case / "clinical.json").write_text(text)


def check_t2_measured_exactly(report: dict) -> None:
    assert report["ratios"]["T2 mass/cord"]["value"] == pytest.approx(VALUES["T2"]["mass"] / VALUES["T2"]["cord"])


def add_second_markup(markup_file: Path) -> None:
    content = json.loads(markup_file.read_text())
    content["markups"].append(content["markups"][0])
    markup_file.write_text(json.dumps(content))


DAMAGED: dict[str, Entry] = {
    # Truncated or mislabelled data: zero-filled by ITK, measured as if whole.
    ".nii.gz cut to half its bytes": Entry(
        lambda c: cut_in_half(as_nifti(c, "T2", compressed=True)), Refused("T2.nii.gz", "data is truncated")
    ),
    ".nii cut to half its bytes": Entry(
        lambda c: cut_in_half(as_nifti(c, "T2", compressed=False)), Refused("T2.nii", "data is truncated")
    ),
    ".mha cut to half its bytes": Entry(
        lambda c: cut_in_half(metaimage(c, "T2", compressed=False)), Refused("T2.mha", "data is truncated")
    ),
    ".mha flagged compressed over raw data": Entry(
        lambda c: flag_compressed(metaimage(c, "T2", compressed=False)), Refused("T2.mha", "compressed data is corrupt")
    ),
    "detached .nhdr whose raw data file is short": Entry(
        lambda c: (
            sitk.WriteImage(sitk.ReadImage(str(c / "T2.nrrd")), str(c / "T2.nhdr")),
            (c / "T2.nrrd").unlink(),
            cut_in_half(c / "T2.raw"),
        ),
        Refused("T2.nhdr", "data is truncated"),
    ),
    "detached .nhdr whose data file is missing": Entry(
        lambda c: (
            sitk.WriteImage(sitk.ReadImage(str(c / "T2.nrrd")), str(c / "T2.nhdr")),
            (c / "T2.nrrd").unlink(),
            (c / "T2.raw").unlink(),
        ),
        Refused("T2.nhdr", "its data file"),
    ),
    "NIfTI with NaN pixdim and no qform or sform": Entry(
        lambda c: nifti_without_geometry(c, float("nan")), Refused("T2.nii", "voxel size (pixdim) is not a positive number")
    ),
    "NIfTI with zero pixdim": Entry(lambda c: nifti_without_geometry(c, 0.0), Refused("T2.nii", "is not a positive number")),
    "NIfTI with no qform or sform": Entry(
        lambda c: nifti_without_geometry(c, 0.7), Analysed("T2.nii: NIfTI header has no qform or sform")
    ),
    "whole .nii.gz, .mha and compressed .mha": Entry(
        lambda c: (as_nifti(c, "T2", True), metaimage(c, "T1", True), metaimage(c, "T1C", False)),
        Analysed(None, check_t2_measured_exactly),
    ),
    # Geometry ITK reads without a word.
    "NRRD space directions sheared": Entry(
        lambda c: replace_header_field(c / "T2.nrrd", b"space directions", b"(0.7,0.5,0) (0,0.7,0) (0,0,1.2)"),
        Refused("T2.nrrd", "its voxel axes are not perpendicular"),
    ),
    "NRRD voxel size 1e300 mm (ITK took 1 mm)": Entry(
        lambda c: replace_header_field(c / "T2.nrrd", b"space directions", b"(1e300,0,0) (0,1e300,0) (0,0,1e300)"),
        Refused("T2.nrrd", "which the image reader cannot take"),
    ),
    "NRRD voxel size 1e-300 mm": Entry(
        lambda c: replace_header_field(c / "T2.nrrd", b"space directions", b"(1e-300,0,0) (0,1e-300,0) (0,0,1e-300)"),
        Refused("T2.nrrd", "which the image reader cannot take"),
    ),
    "NRRD voxel size 5000 mm": Entry(
        lambda c: replace_header_field(c / "T1.nrrd", b"space directions", b"(5000,0,0) (0,5000,0) (0,0,5000)"),
        Refused("T1.nrrd", "voxel size [5000.0, 5000.0, 5000.0] mm is outside"),
    ),
    "NRRD origin at 1e300 mm": Entry(
        lambda c: replace_header_field(c / "T2.nrrd", b"space origin", b"(1e300,0,0)"), Refused("T2.nrrd", "its voxels reach 1e+300 mm")
    ),
    "ROI centre at 1e300 mm": Entry(
        lambda c: edit_roi(c, "mass", lambda m: move_roi_to(m, [1e300, 0.0, 0.0])), Refused("mass.mrk.json", "lies more than 100000 mm")
    ),
    # Values the statistics cannot square.
    "float64 volume times 1e-310": Entry(
        lambda c: scale_float64(c, "T2", 1e-310), Refused("T2.nrrd", "largest voxel magnitude is")
    ),
    "float64 volume times 1e200": Entry(lambda c: scale_float64(c, "T2", 1e200), Refused("T2.nrrd", "largest voxel magnitude is")),
    # ROI files Slicer's reader takes without a word.
    "ROI coordinateSystem XYZ": Entry(
        lambda c: edit_roi(c, "cord", lambda m: m.update(coordinateSystem="XYZ")), Refused("cord.mrk.json", "coordinateSystem is 'XYZ'")
    ),
    "ROI in inches": Entry(
        lambda c: edit_roi(c, "cord", lambda m: m.update(coordinateUnits="in")), Refused("cord.mrk.json", "coordinateUnits")
    ),
    "ROI orientation sheared": Entry(
        lambda c: edit_roi(c, "cord", lambda m: m.update(orientation=[1, 0.5, 0, 0, 1, 0, 0, 0, 1])),
        Refused("cord.mrk.json", "orientation is not a rotation"),
    ),
    "ROI orientation scaled": Entry(
        lambda c: edit_roi(c, "mass", lambda m: m.update(orientation=[2, 0, 0, 0, 2, 0, 0, 0, 2])),
        Refused("mass.mrk.json", "orientation is not a rotation"),
    ),
    "ROI orientation not nine numbers": Entry(
        lambda c: edit_roi(c, "mass", lambda m: m.update(orientation=[1, 0, 0])), Refused("mass.mrk.json", "is not nine numbers")
    ),
    "ROI insideOut": Entry(
        lambda c: edit_roi(c, "cord", lambda m: m.update(insideOut=True)), Refused("cord.mrk.json", "inside-out ROI")
    ),
    "two ROIs in one markups file": Entry(
        lambda c: add_second_markup(c / "disc.mrk.json"), Refused("disc.mrk.json", "holds 2 markups")
    ),
    # JSON that Python's parser takes badly.
    "duplicate JSON key in clinical.json": Entry(
        lambda c: write_clinical(c, '{"age": 40, "age": 79}'), Refused("clinical.json", "the key 'age' is given twice")
    ),
    "duplicate JSON key in an ROI file": Entry(
        lambda c: (c / "cord.mrk.json").write_text((c / "cord.mrk.json").read_text().replace('"type"', '"type": "ROI", "type"', 1)),
        Refused("cord.mrk.json", "given twice"),
    ),
    "JSON nested 100 000 deep": Entry(
        lambda c: write_clinical(c, "[" * 100_000 + "]" * 100_000), Refused("clinical.json", "nested too deep")
    ),
    "JSON nested 200 deep": Entry(
        lambda c: write_clinical(c, '{"age": ' + "[" * 200 + "]" * 200 + "}"), Refused("clinical.json", "nested deeper than 64")
    ),
    "5000-digit integer": Entry(
        lambda c: write_clinical(c, '{"age": ' + "9" * 5000 + "}"), Refused("clinical.json", "an integer of 5,000 digits")
    ),
    "clinical.json over the size budget": Entry(
        lambda c: write_clinical(c, json.dumps({"conditions": ["x" * (17 << 20)]})), Refused("clinical.json", "over the")
    ),
}

LEVEL_DAMAGE: dict[str, Entry] = {
    "NaN level point": Entry(
        lambda c: edit_level_points(c, lambda points: points[0].update(position=[float("nan"), 0.0, 0.0])),
        Refused("levels.mrk.json", "is not three finite numbers"),
        "built-in",
    ),
}


@pytest.mark.parametrize("name", [*DAMAGED, *LEVEL_DAMAGE])
def test_damaged_input(name, templates, tmp_path, capsys):  # noqa: F811 (the fixture)
    assert_entry_answered({**DAMAGED, **LEVEL_DAMAGE}[name], templates, tmp_path, capsys)


# --- Properties -----------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
CLINICAL_FIELDS = st.dictionaries(st.sampled_from(["age", "sex", "conditions", "findings", "primary", "x"]), JSON_VALUES, max_size=5)


def assert_one_line_or_report(code: int, err: str, report: dict | None) -> None:
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    else:
        assert code == 0 and err == "" and isinstance(report["warnings"], list), err


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(clinical=CLINICAL_FIELDS | JSON_VALUES)
def test_any_json_as_clinical_json_is_analysed_or_refused_in_one_line(clinical, templates, tmp_path, capsys):  # noqa: F811
    case = tmp_path / "case"
    shutil.rmtree(case, ignore_errors=True)
    shutil.copytree(templates["small"], case)
    write_clinical(case, json.dumps(clinical))
    assert_one_line_or_report(*analyse(case, tmp_path / "report.json", capsys))


ROI_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "coordinateSystem": st.sampled_from(["LPS", "RAS", "XYZ", "", "lps"]) | JSON_VALUES,
        "orientation": st.lists(st.floats(-3, 3), min_size=9, max_size=9) | JSON_VALUES,
        "size": st.lists(st.floats(-50, 50), min_size=3, max_size=3) | JSON_VALUES,
        "center": st.lists(st.floats(-1e9, 1e9), min_size=3, max_size=3) | JSON_VALUES,
        "insideOut": JSON_VALUES,
        "type": st.sampled_from(["ROI", "Fiducial", "Line"]),
    },
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=ROI_FIELDS)
def test_any_roi_fields_are_analysed_or_refused_in_one_line(fields, templates, tmp_path, capsys):  # noqa: F811
    case = tmp_path / "case"
    shutil.rmtree(case, ignore_errors=True)
    shutil.copytree(templates["small"], case)
    edit_roi(case, "mass", lambda markup: markup.update(fields))
    assert_one_line_or_report(*analyse(case, tmp_path / "report.json", capsys))


@given(subject=st.text(max_size=2000), problem=st.text(max_size=20000))
def test_an_error_is_one_printable_line_of_bounded_length(subject, problem):
    limits = load("limits")
    text = str(InputError(subject, problem))
    assert text.isprintable()
    assert len(text) <= limits["message_subject_chars"] + 2 + limits["message_problem_chars"]
    if subject.isprintable() and len(subject) <= limits["message_subject_chars"]:
        assert text.startswith(subject + ": ")


def test_an_error_line_escapes_control_characters_once():
    error = InputError("case\nname\f", "bad\r\nvalue")
    assert str(error) == "case\\nname\\x0c: bad\\r\\nvalue"
    assert str(InputError(error.subject, error.problem)) == str(error)



def test_a_library_warning_becomes_a_report_warning_and_nothing_reaches_stderr(templates, tmp_path, capfd):  # noqa: F811
    """ITK's NIfTI reader writes its warning on a sform with unexpected scales straight to file
    descriptor 2 (twice: SimpleITK's and Slicer's readers); it now comes once, as a warning."""
    case = Path(shutil.copytree(templates["small"], tmp_path / "case"))
    path = as_nifti(case, "T2", compressed=False)
    header = bytearray(path.read_bytes())
    struct.pack_into("<4f", header, 280, 0.7, 0.3, 0.0, 0.0)  # srow_x: a sheared sform
    path.write_bytes(bytes(header))
    code = main(["analyze", str(case), "--json", str(tmp_path / "r.json")])
    out, err = capfd.readouterr()
    assert code == 0 and err == "", err
    warnings = [w for w in json.loads((tmp_path / "r.json").read_text())["warnings"] if "image reader reported" in w]
    assert warnings == ["case: an image reader reported: " + f"{path} has unexpected scales in sform"], warnings


def test_a_box_or_grid_at_1e300_mm_holds_no_voxel_without_a_numpy_warning():
    """Its index bounds overflowed int64 in a cast (numpy's RuntimeWarning on stderr) before the
    bounds were clipped; the input checks now refuse such positions, and geometry stays quiet."""
    grid = Grid((4, 4, 4), np.eye(4))
    far = Box(np.array([1e300, 0.0, 0.0]), np.eye(3), np.array([1.0, 1.0, 1.0]))
    huge = Box(np.zeros(3), np.eye(3), np.array([1e300, 1e300, 1e300]))
    with np.errstate(all="raise"):
        assert box_voxels(grid, far).block == (slice(0, 0),) * 3
        assert box_voxels(grid, huge).block == (slice(0, 4),) * 3


def test_messages_on_file_descriptor_2_and_python_warnings_are_caught_once_each(capfd):
    with caught_messages() as messages:
        os.write(2, b"WARNING: In /src/itkNiftiImageIO.cxx, line 2008\nNiftiImageIO (0x55ab): odd sform\n\n")
        os.write(2, b"WARNING: In /src/itkNiftiImageIO.cxx, line 2008\nNiftiImageIO (0x77cd): odd sform\n")
        np.mean(np.array([]))
    assert capfd.readouterr().err == ""
    assert messages[0] == "odd sform"
    assert len(messages) == 3 and messages[1].startswith("Mean of empty slice")


def test_numpy_warnings_of_the_analysis_become_report_warnings_not_stderr(templates, tmp_path, capfd):  # noqa: F811
    """T2 moved to the origin: the regions leave its field of view, and spine/masses.py took the
    mean of an empty slice, whose RuntimeWarnings went to stderr beside an exit-0 report."""
    case = Path(shutil.copytree(templates["small"], tmp_path / "case"))
    replace_header_field(case / "T2.nrrd", b"space origin", b"(0,0,0)")
    code = main(["analyze", str(case), "--json", str(tmp_path / "r.json")])
    out, err = capfd.readouterr()
    assert code == 0 and err == "", err


def test_an_roi_under_a_shearing_transform_is_refused_by_name(scene):
    """A parent transform that shears the box: its axes were normalised one by one and measured as
    if perpendicular. Scaling alone stays a box (its size scales)."""
    study = small_study(scene, roles=("T2",))
    roi = study.regions["mass"][0].node
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    roi.SetAndObserveTransformNodeID(transform.GetID())
    transform.SetMatrixTransformToParent(vtk_matrix(np.diag([2.0, 2.0, 2.0, 1.0])))
    assert box_of_roi(roi).half_size == pytest.approx(2 * box_of_roi_without_transform(roi))
    shear = np.eye(4)
    shear[0, 1] = 0.5
    transform.SetMatrixTransformToParent(vtk_matrix(shear))
    with pytest.raises(InputError, match="mass: ROI's axes are not perpendicular"):
        box_of_roi(roi)


def box_of_roi_without_transform(roi) -> np.ndarray:
    return np.array(roi.GetSize()) / 2
