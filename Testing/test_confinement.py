"""A case reads only regular files inside its folder, within a memory budget, and never hangs.

Each input here hung `emhassist analyze` for ever (a FIFO), read a file outside the case (a link,
`..`, a detached header's data file) or asked for gigabytes from a few kilobytes (a segmentation
header, level points moved far away) before issue 20. The analysis runs in a child process with
a time limit and an address-space limit, so that a regression fails the test instead of hanging
or exhausting the machine; `guarded_analyze` is shared with test_damaged_inputs.py.
"""

import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import zlib
from pathlib import Path

import EMHAssistLib
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
import SimpleITK as sitk
from small_case import write_small_case
from test_robustness import edit_level_points, snapshot

from EMHAssistLib.outputs.case_folder import save_case_folder
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.knowledge import load
from EMHAssistLib.teaching.cases import build_study, study_into_scene

PACKAGE_PARENT = Path(EMHAssistLib.__file__).resolve().parents[1]
MEMORY_LIMIT = 3 << 30  # bytes of address space for the child: the budgets must refuse well before
TIME_LIMIT_S = 120


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def guarded_analyze(case: Path, out: Path, timeout: float = TIME_LIMIT_S) -> tuple[int | str, str, dict | None]:
    """`emhassist analyze case --json out` in a child process limited in time and memory: its
    exit status ("timeout" when it had to be killed), its stderr and its report."""
    environment = dict(os.environ, PYTHONPATH=str(PACKAGE_PARENT))
    command = [sys.executable, "-m", "EMHAssistLib.frontends.cli", "analyze", str(case), "--json", str(out)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, preexec_fn=_limit_memory, env=environment,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return "timeout", "", None
    report = json.loads(out.read_text()) if done.returncode == 0 and out.exists() else None
    return done.returncode, done.stderr, report


def assert_refused(result: tuple, subject: str, problem: str) -> None:
    code, err, _ = result
    assert code == 2, (code, err)
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    named, _, said = err.removeprefix("error: ").partition(": ")
    assert named.endswith(subject) and problem in said, err


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return write_small_case(tmp_path_factory.mktemp("template") / "small", new_headless_scene())


@pytest.fixture
def case(template, tmp_path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "case"))


def detach_header(case: Path, role: str, data_file: str, compressed: bool = False) -> None:
    """`<role>.nrrd` rewritten as `<role>.nhdr` with its voxels in `<role>.raw` (`.raw.gz` when
    compressed), and the header's `data file:` then changed to `data_file`."""
    image = sitk.ReadImage(str(case / f"{role}.nrrd"))
    (case / f"{role}.nrrd").unlink()
    sitk.WriteImage(image, str(case / f"{role}.nhdr"), compressed)
    header = (case / f"{role}.nhdr").read_text()
    lines = [line for line in header.splitlines() if not line.startswith("data file:")]
    (case / f"{role}.nhdr").write_text("\n".join([*lines, f"data file: {data_file}", ""]))


def metaimage_with_data_file(case: Path, role: str, data_file: str) -> None:
    image = sitk.ReadImage(str(case / f"{role}.nrrd"))
    (case / f"{role}.nrrd").unlink()
    sitk.WriteImage(image, str(case / f"{role}.mha"))
    content = (case / f"{role}.mha").read_bytes()
    header = content[: content.index(b"ElementDataFile = LOCAL")]
    (case / f"{role}.mha").write_bytes(header + f"ElementDataFile = {data_file}\n".encode())


def fifo_in_place_of(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


# --- Non-regular files: refused before they are opened ------------------------------------------------


@pytest.mark.parametrize("name", ["T2.nrrd", "cord.mrk.json", "clinical.json"])
def test_a_fifo_in_the_case_is_refused_unread_instead_of_blocking(case, tmp_path, name):
    fifo_in_place_of(case / name)
    assert_refused(guarded_analyze(case, tmp_path / "r.json", timeout=60), name, "is a FIFO (named pipe), not a regular file")


def test_a_fifo_as_a_segmentation_or_level_points_is_refused(case, tmp_path):
    os.mkfifo(case / "regions.seg.nrrd")
    assert_refused(guarded_analyze(case, tmp_path / "r.json", timeout=60), "regions.seg.nrrd", "is a FIFO")
    (case / "regions.seg.nrrd").unlink()
    os.mkfifo(case / "levels.mrk.json")
    assert_refused(guarded_analyze(case, tmp_path / "r.json", timeout=60), "levels.mrk.json", "is a FIFO")


def test_a_fifo_as_a_detached_headers_data_file_is_refused(case, tmp_path):
    detach_header(case, "T2", "T2.raw")
    fifo_in_place_of(case / "T2.raw")
    assert_refused(guarded_analyze(case, tmp_path / "r.json", timeout=60), "T2.nhdr", "its data file")


def test_a_fifo_in_a_dicom_folder_is_refused(case, tmp_path):
    (case / "T1C.nrrd").unlink()
    (case / "T1C").mkdir()
    os.mkfifo(case / "T1C" / "IM0001")
    assert_refused(guarded_analyze(case, tmp_path / "r.json", timeout=60), "IM0001", "is a FIFO")


def test_a_device_and_a_socket_are_refused_unread(case, tmp_path):
    (case / "T2.nrrd").unlink()
    (case / "T2.nrrd").symlink_to("/dev/zero")  # outside the case as well: refused for either
    assert_refused(guarded_analyze(case, tmp_path / "r.json", timeout=60), "T2.nrrd", "leads outside the case folder")
    (case / "T2.nrrd").unlink()
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind(str(case / "T2.nrrd"))
        assert_refused(guarded_analyze(case, tmp_path / "r.json", timeout=60), "T2.nrrd", "is a socket, not a regular file")
    finally:
        listener.close()


# --- Nothing read outside the case --------------------------------------------------------------------


@pytest.mark.parametrize("data_file", ["/etc/passwd", "../outside.raw", "sub/../../outside.raw"])
def test_a_detached_nrrd_header_naming_a_file_outside_the_case_is_refused(case, tmp_path, data_file):
    (tmp_path / "outside.raw").write_bytes(b"\0" * 4 * 90 * 90 * 70)
    detach_header(case, "T2", data_file)
    before = snapshot(case)
    assert_refused(guarded_analyze(case, tmp_path / "r.json"), "T2.nhdr", "leads outside the case folder")
    assert snapshot(case) == before


def test_a_detached_nrrd_header_listing_a_file_outside_is_refused(case, tmp_path):
    detach_header(case, "T2", "LIST")
    with open(case / "T2.nhdr", "a") as header:
        header.write("/etc/passwd\n")
    assert_refused(guarded_analyze(case, tmp_path / "r.json"), "T2.nhdr", "leads outside the case folder")


@pytest.mark.parametrize("data_file", ["/etc/passwd", "../outside.raw"])
def test_a_metaimage_whose_element_data_file_lies_outside_is_refused(case, tmp_path, data_file):
    (tmp_path / "outside.raw").write_bytes(b"\0" * 4 * 90 * 90 * 70)
    metaimage_with_data_file(case, "T2", data_file)
    assert_refused(guarded_analyze(case, tmp_path / "r.json"), "T2.mha", "leads outside the case folder")


def test_a_volume_linked_from_outside_the_case_is_refused(case, tmp_path):
    shutil.move(case / "T2.nrrd", tmp_path / "elsewhere.nrrd")
    (case / "T2.nrrd").symlink_to(tmp_path / "elsewhere.nrrd")
    assert_refused(guarded_analyze(case, tmp_path / "r.json"), "T2.nrrd", "leads outside the case folder")


def test_an_roi_and_a_dicom_folder_linked_from_outside_are_refused(case, tmp_path):
    shutil.move(case / "cord.mrk.json", tmp_path / "cord.mrk.json")
    (case / "cord.mrk.json").symlink_to(tmp_path / "cord.mrk.json")
    assert_refused(guarded_analyze(case, tmp_path / "r.json"), "cord.mrk.json", "leads outside the case folder")
    shutil.move(tmp_path / "cord.mrk.json", case / "cord.mrk.json", copy_function=shutil.copy)
    (case / "T1C.nrrd").unlink()
    (tmp_path / "series").mkdir()
    (case / "T1C").symlink_to(tmp_path / "series")
    assert_refused(guarded_analyze(case, tmp_path / "r.json"), "T1C", "leads outside the case folder")


def test_links_and_data_files_that_stay_inside_the_case_are_read(case, tmp_path):
    """Confinement refuses only what leaves the case: a header with its data beside it, a data
    file in a subfolder and a link within the case are measured exactly as the plain files."""
    plain = guarded_analyze(case, tmp_path / "plain.json")[2]
    (case / "data").mkdir()
    detach_header(case, "T2", "data/T2.raw.gz", compressed=True)
    shutil.move(case / "T2.raw.gz", case / "data" / "T2.raw.gz")
    shutil.move(case / "T1.nrrd", case / "data" / "t1-original.nrrd")
    (case / "T1.nrrd").symlink_to(Path("data") / "t1-original.nrrd")
    code, err, report = guarded_analyze(case, tmp_path / "r.json")
    assert code == 0, err
    assert report["ratios"] == plain["ratios"]


# --- Budgets ------------------------------------------------------------------------------------------


def gzip_of_zeros(nbytes: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 24)
    parts = [compressor.compress(chunk) for _ in range(nbytes // len(chunk))]
    return b"".join([*parts, compressor.flush()])


def test_a_small_segmentation_declaring_gigabytes_is_refused_before_it_is_read(case, tmp_path):
    """2048 x 2048 x 512 voxels in about 2 MB of gzip: it took 8.7 GB and ended in a traceback."""
    header = (
        b"NRRD0004\ntype: unsigned char\ndimension: 3\nspace: left-posterior-superior\nsizes: 2048 2048 512\n"
        b"space directions: (1,0,0) (0,1,0) (0,0,1)\nkinds: domain domain domain\nencoding: gzip\n"
        b"space origin: (0,0,0)\n\n"
    )
    (case / "regions.seg.nrrd").write_bytes(header + gzip_of_zeros(2048 * 2048 * 512))
    assert (case / "regions.seg.nrrd").stat().st_size < 4 << 20
    assert_refused(guarded_analyze(case, tmp_path / "r.json"), "regions.seg.nrrd", "over the 1,024 MiB budget for one image")


def test_a_volume_header_declaring_more_than_the_budget_is_refused_unread(case, tmp_path):
    detach_header(case, "T2", "T2.raw")
    header = (case / "T2.nhdr").read_text().replace("sizes: 90 90 70", "sizes: 4096 4096 4096")
    (case / "T2.nhdr").write_text(header)
    assert_refused(guarded_analyze(case, tmp_path / "r.json"), "T2.nhdr", "over the 1,024 MiB budget")


def test_the_budget_is_a_stated_setting_with_its_reason():
    limits = load("limits")
    for key in ("image_bytes_max", "case_bytes_max", "json_bytes_max", "level_point_margin_mm"):
        assert isinstance(limits[key], (int, float)) and limits[f"_{key}"].strip()


@pytest.fixture(scope="module")
def built_in(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("built-in") / "case"
    save_case_folder(study_into_scene(build_study("mds_t5_t8"), new_headless_scene()), folder)
    return folder


@pytest.mark.parametrize("distance", [1e8, 1e6])
def test_level_points_far_outside_every_volume_are_left_out_with_a_warning(built_in, tmp_path, distance):
    """A point 1e8 mm away took 9.9 GB and a MemoryError; 1e6 mm took 42 s and 3.6 GB and still
    named the vertebrae. Now the level points are left out and the report says why."""
    case = Path(shutil.copytree(built_in, tmp_path / "case"))

    def move_away(points: list[dict]) -> None:
        points[0]["position"] = [points[0]["position"][0], points[0]["position"][1], distance]

    edit_level_points(case, move_away)
    code, err, report = guarded_analyze(case, tmp_path / "r.json", timeout=90)
    assert code == 0, err
    assert any("outside every volume's field of view" in warning and "level points are left out" in warning for warning in report["warnings"])
    assert not (report["levels"] or {}).get("vertebrae")
    assert report["ratios"]["T2 mass/cord"]["value"] > 0


NRRD_FIELD_VALUES = {
    b"sizes": st.sampled_from([b"90 90 70", b"0 90 70", b"-1 90 70", b"90 90", b"90 90 70 2", b"99999 99999 99999", b"x"]),
    b"type": st.sampled_from([b"float", b"double", b"short", b"uchar", b"int64", b"block", b"nonsense"]),
    b"encoding": st.sampled_from([b"gzip", b"raw", b"bzip2", b"ascii", b"hex", b"zstd"]),
    b"space directions": st.sampled_from(
        [b"(0.7,0,0) (0,0.7,0) (0,0,1.2)", b"(nan,0,0) (0,1,0) (0,0,1)", b"(0,0,0) (0,1,0) (0,0,1)", b"(1,1,0) (0,1,0) (0,0,1)", b"none (0,1,0) (0,0,1)", b"(1e308,0,0) (0,1,0) (0,0,1)"]
    ),
    b"space origin": st.sampled_from([b"(0,0,0)", b"(inf,0,0)", b"(1e200,0,0)", b"(1,2)"]),
    b"byte skip": st.sampled_from([b"0", b"-1", b"100", b"99999999999", b"x"]),
    b"data file": st.sampled_from([b"T2.raw", b"/etc/passwd", b"../x.raw", b"T2.%03d.raw 1 999999999 1", b"LIST", b"/dev/zero"]),
}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(changes={b"type": b"uchar"})  # the cord read 0 at the seed: the window's scale divided by it (ZeroDivisionError)
@given(changes=st.dictionaries(st.sampled_from(list(NRRD_FIELD_VALUES)), st.just(None), min_size=1, max_size=3).flatmap(
    lambda fields: st.fixed_dictionaries({field: NRRD_FIELD_VALUES[field] for field in fields})
))
def test_any_nrrd_header_fields_end_in_a_report_or_one_error_line_within_the_budget(changes, template, tmp_path):
    """Header fields from a list of valid, damaged and hostile values, up to three at a time, in a
    child process limited in memory and time (an ITK crash or hang fails the test, not pytest)."""
    case = tmp_path / "case"
    shutil.rmtree(case, ignore_errors=True)
    shutil.copytree(template, case)
    path = case / "T2.nrrd"
    header, _, body = path.read_bytes().partition(b"\n\n")
    lines = [line for line in header.split(b"\n") if line.split(b":")[0] not in changes]
    path.write_bytes(b"\n".join([*lines, *(field + b": " + value for field, value in changes.items())]) + b"\n\n" + body)
    code, err, report = guarded_analyze(case, tmp_path / "r.json", timeout=60)
    assert code in (0, 2), (code, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    else:
        assert err == "" and report is not None


def test_a_case_folder_whose_name_is_not_utf8_is_refused_not_aborted(case, tmp_path):
    """Such a name (bytes the file system keeps, Python as a lone surrogate) reached Slicer's reader
    as a C string and aborted the process (exit 134, 'basic_string ... null not valid'), no error line."""
    renamed = Path(os.fsdecode(bytes(tmp_path) + b"/bad\xffname"))
    case.rename(renamed)
    code, err, _ = guarded_analyze(renamed, tmp_path / "report.json")
    assert code == 2, (code, err)
    assert err.count("\n") == 1 and err.startswith("error: ") and "not valid UTF-8" in err, err
