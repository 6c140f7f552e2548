"""A catalogue of bad or awkward inputs and what `emhassist analyze` does with each.

Every entry damages a copy of a valid case folder and states the outcome: exit 2 with one line
`error: <file or region>: <what is wrong>` naming it, or exit 0 with the report (and a warning
where something was left out). Either way the folder's bytes are exactly what they were before
the analysis. docs/robustness.md keeps the same catalogue as a table; test_cli.py holds eight
more bad inputs (corrupt volume header, vector and 4-D volumes, ROI wholly outside, flat ROI,
corrupt ROI file, zero reference, missing folder) that are not repeated here.
"""

import json
import os
import shutil
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import slicer
from small_case import BACKGROUND, TISSUE_BLOCKS, VALUES, grid_for, roi_box, small_study, write_small_case
from test_cli import write_segmentation_of_rois

from EMHAssistLib.analysis import analyze
from EMHAssistLib.errors import InputError
from EMHAssistLib.frontends.cli import main
from EMHAssistLib.geometry import Box, Grid
from EMHAssistLib.outputs.case_folder import save_case_folder
from EMHAssistLib.outputs.scene_writing import set_roi_box
from EMHAssistLib.inputs.plain import SequenceImage
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.inputs.study import RegionSource, outlines
from EMHAssistLib.measurement.regions import measure_region
from EMHAssistLib.teaching.cases import build_study, study_into_scene

BUILT_IN_CASE = "mds_t5_t8"


@dataclass(frozen=True)
class Refused:
    """Exit 2, one line on stderr naming `subject` (a file or region) and saying `problem`."""

    subject: str
    problem: str


@dataclass(frozen=True)
class Analysed:
    """Exit 0 with a report; `warning`, when given, is part of one of its warnings."""

    warning: str | None = None
    check: Callable[[dict], None] | None = None


@dataclass(frozen=True)
class Entry:
    damage: Callable[[Path], None]
    outcome: Refused | Analysed
    case: str = "small"  # or "built-in", for the entries that need level points


# --- Damage to files -------------------------------------------------------------------------------


def read_image(case: Path, role: str) -> sitk.Image:
    return sitk.ReadImage(str(case / f"{role}.nrrd"))


def write_image(image: sitk.Image, case: Path, role: str) -> None:
    sitk.WriteImage(image, str(case / f"{role}.nrrd"))


def change_voxels(case: Path, role: str, change: Callable[[np.ndarray], np.ndarray], dtype: type = np.float32) -> None:
    image = read_image(case, role)
    changed = sitk.GetImageFromArray(change(sitk.GetArrayFromImage(image).astype(dtype)))
    changed.CopyInformation(image)
    write_image(changed, case, role)


def edit_roi(case: Path, region: str, edit: Callable[[dict], None]) -> None:
    path = case / f"{region}.mrk.json"
    content = json.loads(path.read_text())
    edit(content["markups"][0])
    path.write_text(json.dumps(content))


def move_roi_to(markup: dict, centre_lps: list[float]) -> None:
    markup["center"] = centre_lps
    markup["controlPoints"][0]["position"] = centre_lps


def edit_level_points(case: Path, edit: Callable[[list[dict]], None]) -> None:
    path = case / "levels.mrk.json"
    content = json.loads(path.read_text())
    edit(content["markups"][0]["controlPoints"])
    path.write_text(json.dumps(content))


def replace_with_dangling_link(path: Path) -> None:
    path.unlink()
    os.symlink(path.parent / "nowhere" / path.name, path)


def truncate(path: Path) -> None:
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])


def lengthen_header_field(path: Path, field: bytes) -> None:
    """A header field line runs on for thousands of characters, as when it loses its end and runs
    into the data: ITK's NRRD reader crashed the process on it (found by the fuzz run)."""
    content = path.read_bytes()
    end = content.index(b"\n", content.index(field + b":"))
    path.write_bytes(content[:end] + b"0" * 5000 + content[end:])


def replace_header_field(path: Path, field: bytes, value: bytes) -> None:
    header, _, body = path.read_bytes().partition(b"\n\n")
    lines = [line for line in header.split(b"\n") if not line.startswith(field + b":")]
    path.write_bytes(b"\n".join([*lines, field + b": " + value]) + b"\n\n" + body)


def shifted(image: sitk.Image, millimetres: float) -> sitk.Image:
    moved = sitk.Image(image)
    moved.SetOrigin([value + millimetres for value in image.GetOrigin()])
    return moved


def swap_labels(first: dict, second: dict) -> None:
    first["label"], second["label"] = second["label"], first["label"]


def keep_first_only(points: list[dict]) -> None:
    del points[1:]


def lps(ras: np.ndarray) -> list[float]:
    return [-float(ras[0]), -float(ras[1]), float(ras[2])]


def nearest_voxel_centre(role: str, point: np.ndarray) -> np.ndarray:
    grid = grid_for(role)
    return grid.to_world(np.rint(grid.to_ijk(point)))[0]


def write_roi(case: Path, region: str, box: Box) -> None:
    scene = new_headless_scene()
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", region)
    set_roi_box(roi, box)
    storage = scene.AddNewNodeByClass("vtkMRMLMarkupsROIJsonStorageNode")
    storage.SetFileName(str(case / f"{region}.mrk.json"))
    assert storage.WriteData(roi)


def rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    angle = np.radians(degrees)
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


ROTATED_MASS_BOX = Box(
    np.array(TISSUE_BLOCKS["mass"][0]), rotation(np.array([0.4, -1.0, 0.3]), 33.0), np.array([2.0, 2.5, 4.0])
)
ANISOTROPIC_SPACING = (0.3, 0.3, 8.0)


def anisotropic_grid() -> Grid:
    matrix = np.diag([*ANISOTROPIC_SPACING, 1.0])
    shape = (21, 200, 200)
    matrix[:3, 3] = -np.array(ANISOTROPIC_SPACING) * (np.array(shape[::-1]) - 1) / 2
    return Grid(shape, matrix)


def replace_t1_with_anisotropic_volume(case: Path) -> None:
    """T1 drawn again on 0.3 x 0.3 x 8 mm voxels, with the same tissue blocks in world space."""
    grid = anisotropic_grid()
    k, j, i = np.meshgrid(*(np.arange(n) for n in grid.shape), indexing="ij")
    points = grid.to_world(np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1).astype(float))
    voxels = np.full(len(points), BACKGROUND, dtype=np.float32)
    for region, (centre, size) in TISSUE_BLOCKS.items():
        voxels[np.all(np.abs(points - centre) <= np.array(size) / 2, axis=1)] = VALUES["T1"][region]
    image = sitk.GetImageFromArray(voxels.reshape(grid.shape))
    image.SetSpacing(ANISOTROPIC_SPACING)
    image.SetOrigin(lps(grid.ijk_to_world[:3, 3]))
    image.SetDirection((-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0))
    write_image(image, case, "T1")


def voxel_centres_inside(grid: Grid, box: Box) -> int:
    k, j, i = np.meshgrid(*(np.arange(n) for n in grid.shape), indexing="ij")
    return int(box.contains(grid.to_world(np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1).astype(float))).sum())


# --- Checks on reports ------------------------------------------------------------------------------


def ratio(report: dict, key: str) -> float:
    return report["ratios"][key]["value"]


def exact_ratios_on(role: str) -> Callable[[dict], None]:
    def check(report: dict) -> None:
        assert ratio(report, f"{role} mass/cord") == pytest.approx(
            VALUES[role]["mass"] / VALUES[role]["cord"], rel=1e-6
        )
        assert ratio(report, f"{role} marrow/disc") == pytest.approx(
            VALUES[role]["marrow"] / VALUES[role]["disc"], rel=1e-6
        )

    return check


def not_measured_on(role: str, measured_on: str) -> Callable[[dict], None]:
    def check(report: dict) -> None:
        assert all(role not in by_role for by_role in report["regions"].values())
        assert not any(key.startswith(f"{role} ") for key in report["ratios"])
        exact_ratios_on(measured_on)(report)

    return check


def check_half_outside(report: dict) -> None:
    assert 0 < report["regions"]["muscle"]["T1"]["n"] < report["regions"]["cord"]["T1"]["n"]


def check_one_voxel(report: dict) -> None:
    assert report["regions"]["disc"]["T1"]["n"] == 1
    assert report["regions"]["disc"]["T1"]["mean"] == VALUES["T1"]["disc"]
    assert ratio(report, "T1 marrow/disc") == pytest.approx(VALUES["T1"]["marrow"] / VALUES["T1"]["disc"])


def check_finite_part_measured(report: dict) -> None:
    assert report["regions"]["disc"]["T2"]["mean"] == VALUES["T2"]["disc"]
    exact_ratios_on("T2")(report)


def check_constant_image(report: dict) -> None:
    mass = report["regions"]["mass"]["T1C"]
    assert (mass["mean"], mass["sd"], mass["p5"], mass["p95"]) == (321.0, 0.0, 321.0, 321.0)
    assert report["ratios"]["T1C mass/cord"] == {"value": 1.0, "ci95": [1.0, 1.0]}
    assert report["enhancement"]["mass"]["value"] == pytest.approx(321.0 / VALUES["T1"]["mass"] - 1)


def check_single_slice(report: dict) -> None:
    assert report["sequences"]["T1"]["size"][2] == 1
    assert report["regions"]["cord"]["T1"]["mean"] == VALUES["T1"]["cord"]
    assert "T1" not in report["regions"]["marrow"]


def check_anisotropic(report: dict) -> None:
    assert report["sequences"]["T1"]["spacing"] == list(ANISOTROPIC_SPACING)
    assert report["regions"]["cord"]["T1"]["n"] == voxel_centres_inside(anisotropic_grid(), roi_box("cord"))
    exact_ratios_on("T1")(report)


def check_rotated_roi(report: dict) -> None:
    assert report["regions"]["mass"]["T2"]["n"] == voxel_centres_inside(grid_for("T2"), ROTATED_MASS_BOX)
    assert report["regions"]["mass"]["T2"]["mean"] == VALUES["T2"]["mass"]


def check_levels_named(report: dict) -> None:
    vertebrae = report["levels"]["vertebrae"]
    assert [v["source"] for v in vertebrae].count("user") == 1
    assert len(vertebrae) >= 10
    assert report["levels"]["mass"]["from"] == "T5"


def check_no_level_named(report: dict) -> None:
    assert not (report["levels"] or {}).get("vertebrae")
    assert report["ratios"]["T2 mass/cord"]["value"] > 0


CATALOGUE: dict[str, Entry] = {
    # Volumes
    "volume file is a dangling link": Entry(
        lambda c: replace_with_dangling_link(c / "T2.nrrd"), Refused("T2.nrrd", "is not a readable image file")
    ),
    "volume file is empty": Entry(
        lambda c: (c / "T2.nrrd").write_bytes(b""), Refused("T2.nrrd", "is not a readable image file")
    ),
    "volume data truncated": Entry(
        lambda c: truncate(c / "T1.nrrd"), Refused("T1.nrrd", "data is truncated: it holds")
    ),
    "volume header field running on for 5000 characters": Entry(
        lambda c: lengthen_header_field(c / "T1C.nrrd", b"space directions"),
        Refused("T1C.nrrd", "is not a readable image file"),
    ),
    "segmentation header field running on for 5000 characters": Entry(
        lambda c: (
            write_segmentation_of_rois(c / "regions.seg.nrrd", new_headless_scene()),
            lengthen_header_field(c / "regions.seg.nrrd", b"sizes"),
        ),
        Refused("regions.seg.nrrd", "is not a readable segmentation file"),
    ),
    "volume with zero spacing": Entry(
        lambda c: replace_header_field(c / "T1.nrrd", b"space directions", b"(0,0,0) (0,-0.9,0) (0,0,3)"),
        Refused("T1.nrrd", "could not be read as a volume"),
    ),
    "no volume at all": Entry(
        lambda c: [path.unlink() for path in c.glob("*.nrrd")], Refused("case", "no sequence volume")
    ),
    "two files for one role": Entry(
        lambda c: sitk.WriteImage(read_image(c, "T2"), str(c / "t2.nii.gz")), Refused("t2.nii.gz", "a second T2 volume")
    ),
    "2-D image as a sequence": Entry(
        lambda c: sitk.WriteImage(sitk.Image([8, 8], sitk.sitkInt16), str(c / "T1C.nrrd")),
        Refused("T1C.nrrd", "is a 2-D image"),
    ),
    "RGB volume as a sequence": Entry(
        lambda c: sitk.WriteImage(sitk.Image([8, 8, 8], sitk.sitkVectorUInt8, 3), str(c / "T1C.nrrd")),
        Refused("T1C.nrrd", "has 3 components per voxel"),
    ),
    "empty DICOM folder as a sequence": Entry(
        lambda c: ((c / "T1C.nrrd").unlink(), (c / "T1C").mkdir()), Refused("T1C", "holds 0 DICOM series")
    ),
    "single-slice volume": Entry(
        lambda c: write_image(read_image(c, "T1")[:, :, 30:31], c, "T1"),
        Analysed("no T1 voxel centre falls inside the region", check_single_slice),
    ),
    "very anisotropic spacing (0.3 x 0.3 x 8 mm)": Entry(
        replace_t1_with_anisotropic_volume, Analysed(None, check_anisotropic)
    ),
    "sequence not overlapping the others": Entry(
        lambda c: write_image(shifted(read_image(c, "T1C"), 5000.0), c, "T1C"),
        Analysed("not measured on T1C", not_measured_on("T1C", "T2")),
    ),
    # Voxel values
    "NaN voxels in a region": Entry(
        lambda c: change_voxels(
            c, "T2", lambda a: np.where((a == VALUES["T2"]["disc"]) & (np.indices(a.shape)[2] % 2 == 0), np.nan, a)
        ),
        Analysed("non-finite T2 voxels left out", check_finite_part_measured),
    ),
    "a sequence all NaN": Entry(
        lambda c: change_voxels(c, "T2", lambda a: np.full_like(a, np.nan)),
        Analysed("T2 voxels are non-finite (NaN or infinite); not measured on T2", not_measured_on("T2", "T1")),
    ),
    "infinite voxels in a region": Entry(
        lambda c: change_voxels(
            c, "T1", lambda a: np.where((a == VALUES["T1"]["marrow"]) & (np.indices(a.shape)[1] % 2 == 0), np.inf, a)
        ),
        Analysed("non-finite T1 voxels left out", exact_ratios_on("T1")),
    ),
    "negative voxels outside the regions": Entry(
        lambda c: change_voxels(c, "T2", lambda a: np.where(a == BACKGROUND, -200.0, a)),
        Analysed(None, exact_ratios_on("T2")),
    ),
    "reference region with a negative mean": Entry(
        lambda c: change_voxels(c, "T2", lambda a: np.where(a == VALUES["T2"]["cord"], -500.0, a)),
        Refused("cord on T2", "mean signal is -500.0; a ratio's reference must be positive"),
    ),
    "constant image": Entry(
        lambda c: change_voxels(c, "T1C", lambda a: np.full_like(a, 321.0)), Analysed(None, check_constant_image)
    ),
    # Regions
    "ROI file holds a JSON array": Entry(
        lambda c: (c / "cord.mrk.json").write_text("[]"), Refused("cord.mrk.json", "must hold a JSON object")
    ),
    "ROI file without markups": Entry(
        lambda c: (c / "cord.mrk.json").write_text('{"@schema": "none"}'),
        Refused("cord.mrk.json", "is not a markups ROI file"),
    ),
    "ROI file holds a point list": Entry(
        lambda c: edit_roi(c, "cord", lambda m: m.update(type="Fiducial")),
        Refused("cord.mrk.json", "is not a markups ROI file"),
    ),
    "ROI file not UTF-8": Entry(
        lambda c: (c / "cord.mrk.json").write_bytes(b"\xff\xfe\x00{"), Refused("cord.mrk.json", "is not valid JSON")
    ),
    "ROI with a NaN centre": Entry(
        lambda c: edit_roi(c, "cord", lambda m: move_roi_to(m, [float("nan")] * 3)),
        Refused("cord", "ROI position or orientation is not a finite number"),
    ),
    "ROI with a negative size": Entry(
        lambda c: edit_roi(c, "cord", lambda m: m.update(size=[-5.0, 5.0, 12.0])), Refused("cord", "ROI has no volume")
    ),
    "ROI half outside the volumes": Entry(
        lambda c: edit_roi(c, "muscle", lambda m: move_roi_to(m, [m["center"][0], m["center"][1], -83.0])),
        Analysed("muscle: muscle region extends outside the T1 field of view", check_half_outside),
    ),
    "ROI smaller than a voxel, between voxel centres": Entry(
        lambda c: edit_roi(c, "disc", lambda m: m.update(size=[0.05, 0.05, 0.05])),
        Refused("disc", "holds no finite voxel of any sequence"),
    ),
    "one-voxel region": Entry(
        lambda c: edit_roi(
            c,
            "disc",
            lambda m: (
                move_roi_to(m, lps(nearest_voxel_centre("T1", roi_box("disc").center))),
                m.update(size=[0.4, 0.4, 0.4]),
            ),
        ),
        Analysed("disc: only 1 T1 voxels; its ratios are unstable", check_one_voxel),
    ),
    "rotated ROI on an oblique volume": Entry(
        lambda c: write_roi(c, "mass", ROTATED_MASS_BOX), Analysed(None, check_rotated_roi)
    ),
    "segmentation file corrupt": Entry(
        lambda c: (c / "regions.seg.nrrd").write_bytes(b"NRRD0004\nnonsense\n"),
        Refused("regions.seg.nrrd", "is not a readable segmentation file"),
    ),
    "segmentation file truncated": Entry(
        lambda c: (
            write_segmentation_of_rois(c / "regions.seg.nrrd", new_headless_scene()),
            truncate(c / "regions.seg.nrrd"),
        ),
        Refused("regions.seg.nrrd", "is not a readable segmentation file"),
    ),
    "segmentation without region names": Entry(
        lambda c: sitk.WriteImage(sitk.Image([8, 8, 8], sitk.sitkUInt8), str(c / "regions.seg.nrrd")),
        Refused("regions.seg.nrrd", "has no segment named"),
    ),
    # Clinical context
    "clinical.json not JSON": Entry(
        lambda c: (c / "clinical.json").write_text("age: 79"), Refused("clinical.json", "is not valid JSON")
    ),
    "clinical.json unknown condition": Entry(
        lambda c: (c / "clinical.json").write_text(json.dumps({"age": 79, "conditions": ["dragon_pox"]})),
        Refused("clinical.json", "unknown condition 'dragon_pox'"),
    ),
    "clinical.json age not a number": Entry(
        lambda c: (c / "clinical.json").write_text(json.dumps({"age": "old"})),
        Refused("clinical.json", "age must be a number"),
    ),
    # The folder
    "case path is a file": Entry(
        lambda c: (shutil.rmtree(c), c.write_text("not a folder")), Refused("case", "is not a case folder")
    ),
    "stray files beside the case": Entry(
        lambda c: (
            (c / "notes.txt").write_text("x"),
            (c / "old.mrk.json").write_text("{}"),
            (c / "T9.nrrd").write_text("x"),
        ),
        Analysed(None, exact_ratios_on("T2")),
    ),
    # Level points (levels.py)
    "level points file not JSON": Entry(
        lambda c: (c / "levels.mrk.json").write_text("{broken"),
        Refused("levels.mrk.json", "is not valid JSON"),
        "built-in",
    ),
    "level point with an unknown name": Entry(
        lambda c: edit_level_points(c, lambda points: points[0].update(label="Q9")),
        Analysed("'Q9' is not a vertebra name", check_no_level_named),
        "built-in",
    ),
    "level labels out of order": Entry(
        lambda c: edit_level_points(c, lambda points: swap_labels(points[0], points[-1])),
        Analysed("the level labels are out of order", check_no_level_named),
        "built-in",
    ),
    "level label used twice": Entry(
        lambda c: edit_level_points(c, lambda points: points[1].update(label=points[0]["label"])),
        Analysed("is labelled twice", check_no_level_named),
        "built-in",
    ),
    "one level point only": Entry(
        lambda c: edit_level_points(c, keep_first_only), Analysed(None, check_levels_named), "built-in"
    ),
    "no level points": Entry(
        lambda c: edit_level_points(c, list.clear), Analysed("no level points", check_no_level_named), "built-in"
    ),
}


# --- Running the catalogue ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("templates")
    small = write_small_case(folder / "small", new_headless_scene())
    built_in = folder / "built-in"
    save_case_folder(study_into_scene(build_study(BUILT_IN_CASE), new_headless_scene()), built_in)
    return {"small": small, "built-in": built_in}


def snapshot(path: Path) -> dict[str, object]:
    """Every file's bytes (links by target, folders by name) under `path`, or the file itself."""
    if path.is_file():
        return {path.name: path.read_bytes()}
    content: dict[str, object] = {}
    for item in sorted(path.rglob("*")):
        key = str(item.relative_to(path))
        content[key] = (
            ("link", os.readlink(item)) if item.is_symlink() else "folder" if item.is_dir() else item.read_bytes()
        )
    return content


def analyse(case: Path, out: Path, capsys) -> tuple[int, str, dict | None]:
    code = main(["analyze", str(case), "--json", str(out)])
    err = capsys.readouterr().err
    return code, err, json.loads(out.read_text()) if code == 0 else None


@pytest.mark.parametrize("name", CATALOGUE)
def test_catalogue(name, templates, tmp_path, capsys):
    assert_entry_answered(CATALOGUE[name], templates, tmp_path, capsys)


def assert_entry_answered(entry: Entry, templates: dict, tmp_path: Path, capsys) -> None:
    """The damaged copy of the entry's case is refused in one line naming its subject, or analysed
    with the entry's warning and check; either way the user's files are unchanged."""
    case = tmp_path / "case"
    shutil.copytree(templates[entry.case], case)
    entry.damage(case)
    before = snapshot(case)
    code, err, report = analyse(case, tmp_path / "report.json", capsys)
    assert snapshot(case) == before, "the analysis changed the user's files"
    if isinstance(entry.outcome, Refused):
        assert code == 2, err
        assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
        subject, _, problem = err.removeprefix("error: ").partition(": ")
        assert subject.endswith(entry.outcome.subject) and entry.outcome.problem in problem, err
        return
    assert code == 0, err
    if entry.outcome.warning is not None:
        assert any(entry.outcome.warning in warning for warning in report["warnings"]), report["warnings"]
    if entry.outcome.check is not None:
        entry.outcome.check(report)


def test_the_catalogue_holds_thirty_entries_and_both_outcomes():
    outcomes = [type(entry.outcome) for entry in CATALOGUE.values()]
    assert len(CATALOGUE) >= 30 and outcomes.count(Refused) >= 10 and outcomes.count(Analysed) >= 10


def test_analysing_twice_gives_the_same_report_and_leaves_the_folder_alone(templates, tmp_path, capsys):
    case = shutil.copytree(templates["small"], tmp_path / "case")
    before = snapshot(case)
    first = analyse(case, tmp_path / "first.json", capsys)
    second = analyse(case, tmp_path / "second.json", capsys)
    assert first[0] == second[0] == 0
    assert first[2] == second[2]
    assert snapshot(case) == before


# --- Inputs that only MRML nodes can make ------------------------------------------------------------


def test_label_map_node_as_a_sequence_is_refused(scene):
    study = small_study(scene, roles=("T2",))
    labels = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "T2 labels")
    slicer.util.updateVolumeFromArray(labels, np.zeros((4, 4, 4), dtype=np.uint8))
    study.sequences["T2"] = labels
    with pytest.raises(InputError, match="T2 labels: is a label map, not an MR sequence"):
        analyze(study)


def test_vector_volume_node_as_a_sequence_is_refused(scene):
    study = small_study(scene, roles=("T2",))
    colour = scene.AddNewNodeByClass("vtkMRMLVectorVolumeNode", "T2 colour")
    slicer.util.updateVolumeFromArray(colour, np.zeros((4, 4, 4, 3), dtype=np.uint8))
    study.sequences["T2"] = colour
    with pytest.raises(InputError, match="T2 colour: has 3 components per voxel"):
        analyze(study)


def test_a_huge_volume_is_measured_in_memory_bounded_by_its_regions(scene):
    """A 1024 x 1024 x 256 int16 volume (512 MiB, never touched but where the ROIs lie): measuring
    all five regions allocates well under 1 % of it."""
    shape = (256, 1024, 1024)
    matrix = np.diag([0.3, 0.3, 1.0, 1.0])
    matrix[:3, 3] = -np.array([0.3, 0.3, 1.0]) * (np.array(shape[::-1]) - 1) / 2
    huge = SequenceImage("T2", Grid(shape, matrix), np.zeros(shape, dtype=np.int16))
    study = small_study(scene, roles=())
    tracemalloc.start()
    for region, sources in study.regions.items():
        assert measure_region(region, outlines(sources), [huge]).stats["T2"].n > 0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.01 * huge.voxels.nbytes


def test_a_region_of_nodes_deleted_from_the_scene_is_refused_by_name(scene):
    """The nearest a headless run comes to nodes deleted while observed: the segment is gone."""
    study = small_study(scene, roles=("T2",))
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "regions")
    segment_id = segmentation.GetSegmentation().AddEmptySegment("", "mass")
    study.regions["mass"] = [RegionSource(segmentation, segment_id)]
    segmentation.GetSegmentation().RemoveSegment(segment_id)
    with pytest.raises(InputError, match="regions/.*: segment no longer exists"):
        analyze(study)
