"""`emhassist analyze` on case folders: results, equivalent region formats, and bad input."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from small_case import VALUES, grid_for, roi_box, write_small_case

from EMHAssistLib.frontends.cli import main
from EMHAssistLib.geometry import voxel_indices
from EMHAssistLib.outputs.scene_writing import set_segment_mask


@pytest.fixture
def case(tmp_path, scene) -> Path:
    return write_small_case(tmp_path / "case", scene)


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def analyse_to_json(folder: Path, capsys) -> dict:
    out = folder.parent / f"{folder.name}.json"
    code, _, err = run(["analyze", str(folder), "--json", str(out)], capsys)
    assert code == 0, err
    return json.loads(out.read_text())


def test_analyze_writes_the_report_schema(case, capsys):
    report = analyse_to_json(case, capsys)
    assert report["schema"] == "emhassist.report/2"
    assert report["case"] == "case"
    assert set(report["sequences"]) == {"T1", "T2", "T1C"}
    assert report["sequences"]["T2"]["file"].endswith("T2.nrrd")
    assert set(report["regions"]) == {"cord", "mass", "marrow", "muscle", "disc"}
    assert set(report["regions"]["mass"]["T2"]) == {"mean", "median", "sd", "p5", "p95", "n", "volume_mm3"}
    assert report["ratios"]["T2 mass/cord"]["value"] == pytest.approx(VALUES["T2"]["mass"] / VALUES["T2"]["cord"])
    assert "Research and teaching use only" in report["caveat"]


def test_analyze_prints_a_readable_summary(case, capsys):
    code, out, _ = run(["analyze", str(case)], capsys)
    assert code == 0
    assert "T2 mass/cord" in out and "0.30" in out
    assert "Research and teaching use only" in out


def test_volume_file_names_are_case_insensitive_and_nifti_works(case, capsys):
    t2 = sitk.ReadImage(str(case / "T2.nrrd"))
    (case / "T2.nrrd").unlink()
    sitk.WriteImage(t2, str(case / "t2.nii.gz"))
    report = analyse_to_json(case, capsys)
    assert report["ratios"]["T2 mass/cord"]["value"] == pytest.approx(0.3, rel=1e-6)


def test_segmentation_regions_give_the_same_ratios_as_roi_files(case, tmp_path, scene, capsys):
    from_rois = analyse_to_json(case, capsys)
    segmented = tmp_path / "segmented"
    shutil.copytree(case, segmented)
    for roi_file in segmented.glob("*.mrk.json"):
        roi_file.unlink()
    write_segmentation_of_rois(segmented / "regions.seg.nrrd", scene)
    from_segments = analyse_to_json(segmented, capsys)
    assert from_segments["ratios"].keys() == from_rois["ratios"].keys()
    for key, ratio in from_rois["ratios"].items():
        assert from_segments["ratios"][key]["value"] == pytest.approx(ratio["value"], rel=1e-9)
    for region in from_rois["regions"]:
        assert from_segments["regions"][region]["T2"]["n"] == from_rois["regions"][region]["T2"]["n"]


def write_segmentation_of_rois(path: Path, scene) -> None:
    """Segments drawn on the T2 grid holding exactly the T2 voxels of each ROI box."""
    grid = grid_for("T2")
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "regions")
    for region in VALUES["T2"]:
        mask = np.zeros(grid.shape, dtype=bool)
        mask.ravel()[voxel_indices(grid, roi_box(region))] = True
        segment_id = segmentation.GetSegmentation().AddEmptySegment("", region.capitalize())
        set_segment_mask(segmentation, segment_id, mask, grid)
    storage = scene.AddNewNodeByClass("vtkMRMLSegmentationStorageNode")
    storage.SetFileName(str(path))
    assert storage.WriteData(segmentation)


def test_several_boxes_of_one_region_are_measured_as_their_union(case, capsys):
    single = analyse_to_json(case, capsys)["regions"]["mass"]["T1"]["n"]
    shutil.copy(case / "mass.mrk.json", case / "mass-2.mrk.json")
    overlapping = analyse_to_json(case, capsys)["regions"]["mass"]["T1"]["n"]
    assert overlapping == single  # the same box twice adds no voxel
    centre = json.loads((case / "mass-2.mrk.json").read_text())["markups"][0]["center"]
    move_roi(case / "mass-2.mrk.json", [centre[0], centre[1], centre[2] + 6.0])  # half overlapping
    assert single < analyse_to_json(case, capsys)["regions"]["mass"]["T1"]["n"] < 2 * single


def move_roi(path: Path, centre_lps: list[float]) -> None:
    """Move an ROI file's box; the control point is the ROI's centre, so both are edited."""
    roi = json.loads(path.read_text())
    roi["markups"][0]["center"] = centre_lps
    roi["markups"][0]["controlPoints"][0]["position"] = centre_lps
    path.write_text(json.dumps(roi))


def roi_moved_far(case: Path, region: str) -> None:
    move_roi(case / f"{region}.mrk.json", [900.0, 900.0, 900.0])


def roi_made_flat(case: Path, region: str) -> None:
    roi = json.loads((case / f"{region}.mrk.json").read_text())
    roi["markups"][0]["size"] = [5.0, 0.0, 5.0]
    (case / f"{region}.mrk.json").write_text(json.dumps(roi))


def corrupt(path: Path) -> None:
    path.write_bytes(b"NRRD0004\ngarbage that is no header\n\x00\x01")


def zero_volume(case: Path, role: str) -> None:
    image = sitk.ReadImage(str(case / f"{role}.nrrd"))
    zeros = sitk.Image(image.GetSize(), sitk.sitkFloat32)
    zeros.CopyInformation(image)
    sitk.WriteImage(zeros, str(case / f"{role}.nrrd"))


def vector_volume(case: Path, role: str) -> None:
    image = sitk.ReadImage(str(case / f"{role}.nrrd"))
    sitk.WriteImage(sitk.Compose(image, image, image), str(case / f"{role}.nrrd"))


def four_d_volume(case: Path, role: str) -> None:
    sitk.WriteImage(sitk.Image([8, 8, 8, 3], sitk.sitkInt16), str(case / f"{role}.nrrd"))


BAD_INPUTS = {
    "corrupt volume": (lambda c: corrupt(c / "T2.nrrd"), "T2.nrrd: is not a readable image file"),
    "vector volume": (lambda c: vector_volume(c, "T1"), "T1.nrrd: has 3 components per voxel"),
    "4-D volume": (lambda c: four_d_volume(c, "T1C"), "T1C.nrrd: is a 4-D image"),
    "ROI outside every volume": (lambda c: roi_moved_far(c, "muscle"), "muscle: muscle region lies wholly outside every volume"),
    "empty ROI": (lambda c: roi_made_flat(c, "disc"), "disc: ROI has no volume"),
    "corrupt ROI file": (lambda c: (c / "cord.mrk.json").write_text("{not json"), "cord.mrk.json: is not valid JSON"),
    "zero reference": (lambda c: zero_volume(c, "T1"), "on T1: mean signal is 0.0"),
    "not a folder": (lambda c: shutil.rmtree(c), "case: is not a case folder"),
    "unknown clinical term": (
        lambda c: (c / "clinical.json").write_text('{"conditions": ["thalassaemia_maximus"]}'),
        "clinical.json: unknown condition 'thalassaemia_maximus'; known: ",
    ),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_exits_2_with_one_line_naming_it(case, capsys, name):
    damage, message = BAD_INPUTS[name]
    damage(case)
    code, out, err = run(["analyze", str(case)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert message in err
    assert out == ""


def test_installed_command_reports_bad_input_without_a_traceback(case):
    corrupt(case / "T2.nrrd")
    command = Path(sys.executable).parent / "emhassist"
    result = subprocess.run([str(command), "analyze", str(case)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [f"error: {case / 'T2.nrrd'}: is not a readable image file (corrupt or unknown format)"]


def test_a_process_a_test_starts_imports_this_checkouts_package():
    """From a worktree sharing /work/main's .venv, the browser tests' `emhassist serve` ran main's package."""
    import EMHAssistLib

    command = [sys.executable, "-c", "import EMHAssistLib; print(EMHAssistLib.__file__)"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd="/")
    assert result.stdout.strip() == EMHAssistLib.__file__, result.stderr


def test_bad_input_leaves_the_users_files_unchanged(case, capsys):
    roi_moved_far(case, "muscle")
    before = {path.name: path.read_bytes() for path in case.iterdir()}
    assert run(["analyze", str(case)], capsys)[0] == 2
    assert {path.name: path.read_bytes() for path in case.iterdir()} == before


def write_independent_dicom_series(image: sitk.Image, folder: Path) -> None:
    """One DICOM file per slice, with the geometry tags a scanner writes: written here with SimpleITK,
    independently of the package's own writer (outputs.dicom_series.write_dicom_series), so the
    reader is tested against files the package did not make."""
    folder.mkdir()
    image = sitk.Cast(image, sitk.sitkInt16)
    direction = image.GetDirection()
    series_uid = "1.2.826.0.1.3680043.2.1125.1.42"
    for index in range(image.GetDepth()):
        piece = image[:, :, index]
        origin = image.TransformIndexToPhysicalPoint((0, 0, index))
        tags = {
            "0008|0060": "MR",
            "0008|103e": "T2 sagittal",
            "0020|000d": "1.2.826.0.1.3680043.2.1125.1.41",
            "0020|000e": series_uid,
            "0020|0013": str(index + 1),
            "0020|0032": "\\".join(f"{value:.6f}" for value in origin),
            "0020|0037": "\\".join(f"{value:.6f}" for value in direction[0::3] + direction[1::3]),
            "0028|0030": "\\".join(f"{value:.6f}" for value in image.GetSpacing()[1::-1]),
            "0018|0050": f"{image.GetSpacing()[2]:.6f}",
        }
        for tag, value in tags.items():
            piece.SetMetaData(tag, value)
        writer = sitk.ImageFileWriter()
        writer.KeepOriginalImageUIDOn()
        writer.SetFileName(str(folder / f"slice{index:03d}.dcm"))
        writer.Execute(piece)


def test_a_dicom_series_folder_is_read_as_its_sequence(case, capsys):
    from_nrrd = analyse_to_json(case, capsys)
    write_independent_dicom_series(sitk.ReadImage(str(case / "T2.nrrd")), case / "T2")
    (case / "T2.nrrd").unlink()
    from_dicom = analyse_to_json(case, capsys)
    assert from_dicom["sequences"]["T2"]["size"] == from_nrrd["sequences"]["T2"]["size"]
    assert from_dicom["sequences"]["T2"]["spacing"] == pytest.approx(from_nrrd["sequences"]["T2"]["spacing"], abs=1e-3)
    for region in from_nrrd["regions"]:
        assert from_dicom["regions"][region]["T2"]["n"] == from_nrrd["regions"][region]["T2"]["n"]
    assert from_dicom["ratios"]["T2 mass/cord"]["value"] == pytest.approx(from_nrrd["ratios"]["T2 mass/cord"]["value"])


def case_bytes(case: Path) -> dict[str, bytes]:
    return {str(path.relative_to(case)): path.read_bytes() for path in sorted(case.rglob("*")) if path.is_file()}


BAD_OUTPUTS = {
    "a folder": (lambda case, tmp: ["--json", str(tmp)], "is a folder; --json takes a file name"),
    "a full device": (lambda case, tmp: ["--json", "/dev/full"], "is not a regular file (a device, FIFO or socket)"),
    "under a file": (lambda case, tmp: ["--html", str(case / "T2.nrrd" / "report.html")], "cannot be created: "),
    "under a file outside the case": (lambda case, tmp: ["--json", str(tmp / "plain" / "r.json")], "is a file, not a folder"),
    "an input volume": (lambda case, tmp: ["--json", str(case / "T2.nrrd")], "is inside the case folder"),
    "the case folder by ..": (lambda case, tmp: ["--html", str(tmp / "elsewhere" / ".." / "case" / "r.html")], "is inside the case folder"),
    "the case folder through a link": (lambda case, tmp: ["--html", str(tmp / "link" / "r.html")], "is inside the case folder"),
    "an input through a link": (lambda case, tmp: ["--json", str(tmp / "outside.nrrd")], "is an input of the case"),
    "one file for two outputs": (lambda case, tmp: ["--json", str(tmp / "r.out"), "--html", str(tmp / "r.out")], "is given for both --json and --html"),
}


@pytest.mark.parametrize("name", BAD_OUTPUTS)
def test_an_output_that_cannot_or_must_not_be_written_is_one_error_line_and_the_case_stays_untouched(case, tmp_path, capsys, name):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "plain").write_text("a file\n")
    (tmp_path / "link").symlink_to(case)
    # An input kept outside the case, linked from it: writing over the link's target overwrites the input.
    shutil.move(case / "T1C.nrrd", tmp_path / "outside.nrrd")
    (case / "T1C.nrrd").symlink_to(tmp_path / "outside.nrrd")
    before, outside = case_bytes(case), (tmp_path / "outside.nrrd").read_bytes()
    options, message = BAD_OUTPUTS[name]
    code, out, err = run(["analyze", str(case), *options(case, tmp_path)], capsys)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err
    assert "Traceback" not in err and out == ""
    assert case_bytes(case) == before and (tmp_path / "outside.nrrd").read_bytes() == outside
    assert (tmp_path / "plain").read_text() == "a file\n"


def test_a_newline_or_a_huge_name_in_the_case_path_stays_one_cut_error_line(tmp_path, capsys):
    hostile = tmp_path / ("evil\nerror: DIAGNOSIS CONFIRMED\f" + "x" * 200)
    code, _, err = run(["analyze", str(hostile)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "evil\\nerror: DIAGNOSIS CONFIRMED\\x0c" in err
    assert len(err) < 1000
