"""The attacker's pass on the surfaces added since the last hostile-input review: `emhassist compare`
over stored report JSONs, stored reports read back through `from_json`, and the files around them.

The promise (docs/robustness.md): bad input is exit 2 and exactly one line `error: <file or field>:
<what>` on stderr, never a traceback, and no input is overwritten. The two exams are the golden
mds_t5_t8 report written twice, as one patient's earlier and later exam; each entry edits one of
them and says how `compare` must answer. Entries that break the promise in files other engineers
own are strict xfails naming the file and the cause.
"""

import contextlib
import copy
import csv
import io
import json
import math
import os
import re
import shutil
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from small_case import grid_for, roi_box, write_small_case
from test_robustness import Refused, snapshot

from EMHAssistLib.errors import InputError
from EMHAssistLib.frontends.cli import main
from EMHAssistLib.geometry import voxel_indices
from EMHAssistLib.inputs.casefolder import load_case_folder
from EMHAssistLib.inputs.clinical import validate_clinical
from EMHAssistLib.inputs.headers import check_image_header
from EMHAssistLib.inputs.jsonfile import parse_json_text
from EMHAssistLib.outputs.scene_writing import set_segment_mask
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.outputs.report import from_json
from EMHAssistLib.report_codec import model_value
from EMHAssistLib.report_model import Clinical
from EMHAssistLib.spine.vertebrae import code_of

GOLDEN = Path(__file__).parent / "goldens" / "mds_t5_t8" / "report.json"
COMPARED = "compared"  # exit 0: the comparison is printed


@dataclass(frozen=True)
class StoredEdit:
    """An edit of one exam's stored report (returning text replaces the file's JSON) and the answer."""

    edit: Callable[[dict], object]
    outcome: Refused | str
    exam: str = "later"


def exam_report(case: str, date: str) -> dict:
    report = json.loads(GOLDEN.read_text(encoding="utf-8"))
    report["case"] = case
    report["clinical"].update(patient="EMH-0042", exam_date=date)
    return report


def set_field(*path_and_value: object) -> Callable[[dict], None]:
    *path, value = path_and_value

    def edit(report: dict) -> None:
        target = report
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def edit_ratio(**fields: object) -> Callable[[dict], None]:
    return lambda report: report["ratios"]["T2 mass/cord"].update(fields)


def edit_volume(**fields: object) -> Callable[[dict], None]:
    return lambda report: report["morphology"]["mass_volume_ml"].update(fields)


def rename_vertebrae(names: list[str]) -> Callable[[dict], None]:
    def edit(report: dict) -> None:
        for vertebra, name in zip(report["levels"]["vertebrae"], names):
            vertebra.update(name=name, code=code_of(name))

    return edit


def drop(key: str) -> Callable[[dict], None]:
    return lambda report: report.pop(key) and None


STORED: dict[str, StoredEdit] = {
    "sequences a string": StoredEdit(set_field("sequences", "x"), Refused("l.json", "sequences: expected an object")),
    "regions a list": StoredEdit(set_field("regions", [1, 2]), Refused("l.json", "regions: expected an object")),
    "ratio value a string": StoredEdit(edit_ratio(value="0.3"), Refused("l.json", "value: expected a number")),
    "ratio interval of three": StoredEdit(edit_ratio(ci95=[0.2, 0.3, 0.4]), Refused("l.json", "ci95: expected a list of 2")),
    "ratio interval reversed": StoredEdit(edit_ratio(ci95=[0.4, 0.2]), Refused("l.json", "lies outside its 95 % interval")),
    "ratio of 0 outside its interval": StoredEdit(edit_ratio(value=0), Refused("l.json", "lies outside its 95 % interval")),
    "ratio negative outside its interval": StoredEdit(edit_ratio(value=-1.0), Refused("l.json", "lies outside its 95 % interval")),
    "ratio key not a ratio": StoredEdit(
        lambda r: r["ratios"].update(nonsense=r["ratios"]["T2 mass/cord"]), Refused("l.json", "ratio 'nonsense' is neither")
    ),
    "negative mass volume": StoredEdit(
        edit_volume(value=-5.0, ci95=[-6.0, -4.0]), Refused("l.json", "a mass volume must be positive")
    ),
    "zero mass volume in the earlier exam (divided by)": StoredEdit(
        edit_volume(value=0.0, ci95=[0.0, 0.0]), Refused("e.json", "a mass volume must be positive"), "earlier"
    ),
    "mass volume outside its interval": StoredEdit(edit_volume(value=50.0), Refused("l.json", "lies outside its 95 % interval")),
    "mass volume 1e308 mL (its change overflowed: an OverflowError traceback)": StoredEdit(
        edit_volume(value=1e308, ci95=[1e308, 1e308]), Refused("l.json", "is larger than any sequence's field of view")
    ),
    "mass volume a bare number (compared as 'no volume' without a word)": StoredEdit(
        lambda r: r["morphology"].update(mass_volume_ml=12.5), Refused("l.json", "morphology.mass_volume_ml: must be a volume with its 95 % interval")
    ),
    "morphology a list": StoredEdit(set_field("morphology", []), Refused("l.json", "morphology: expected an object or null")),
    "MSCC 1e308": StoredEdit(
        lambda r: r["levels"]["compression"].update(max_mscc_percent=1e308), Refused("l.json", "MSCC is at most 100 %")
    ),
    "cord profile MSCC 1e308": StoredEdit(
        lambda r: r["levels"]["cord_profile"][5].update(mscc_percent=1e308), Refused("l.json", "MSCC is at most 100 %")
    ),
    "unknown level name": StoredEdit(
        lambda r: r["levels"]["vertebrae"][0].update(name="Q9"), Refused("l.json", "'Q9' is not a vertebra name")
    ),
    "a level in vertebrae twice": StoredEdit(
        lambda r: r["levels"]["vertebrae"].append(r["levels"]["vertebrae"][3]), Refused("l.json", "T4 is given twice")
    ),
    "a vertebra's code not its name's": StoredEdit(
        lambda r: r["levels"]["vertebrae"][0].update(code=99), Refused("l.json", "T1 has the code 8, not 99")
    ),
    "mass extent names a level not in vertebrae": StoredEdit(
        lambda r: r["levels"]["mass"].update({"from": "C2"}), Refused("l.json", "names the level 'C2'")
    ),
    "compression at an unknown level": StoredEdit(
        lambda r: r["levels"]["compression"].update(at="Q3"), Refused("l.json", "names the level 'Q3'")
    ),
    "levels a string": StoredEdit(set_field("levels", "T5"), Refused("l.json", "levels: expected an object or null")),
    # named by its case ('b') before, which two stored reports of one case share
    "levels null": StoredEdit(set_field("levels", None), Refused("l.json", "(LATER) has no vertebral levels")),
    "no common level with the other exam": StoredEdit(
        lambda r: (
            rename_vertebrae([f"C{n}" for n in range(1, 8)] + [f"L{n}" for n in range(2, 6)] + ["S1", "S2"])(r),
            r["levels"].update(mass=None, compression=None, cord_profile=[], bilsky=None),
            r["morphology"].update(mass_levels_spanned=0),
        )
        and None,
        Refused("l.json", "shares no vertebral level with "),
    ),
    "patient id with control characters": StoredEdit(
        set_field("clinical", "patient", "EMH\x1b[31m-0042\n\x07"), Refused("l.json", "clinical: 'patient' must be a printable identifier")
    ),
    "patient id of 10 kB": StoredEdit(set_field("clinical", "patient", "P" * 10_000), Refused("l.json", "clinical: 'patient' must be a printable identifier of 1 to 64 characters")),
    "patient id a number": StoredEdit(set_field("clinical", "patient", 42), Refused("l.json", "clinical.patient: expected text")),
    "case name with control characters (printed raw to the terminal)": StoredEdit(
        set_field("case", "mds\x1b[2J\x07"), Refused("l.json", "case: must be printable text")
    ),
    "compression from below to above": StoredEdit(
        lambda r: r["levels"]["compression"].update({"from": r["levels"]["compression"]["to"], "to": r["levels"]["compression"]["from"]}),
        Refused("l.json", "levels.compression: runs from T7 to T5: a span is written head first"),
    ),
    "another patient": StoredEdit(set_field("clinical", "patient", "EMH-0043"), Refused("l.json", "compare takes two exams of one patient")),
    "exam_date Feb 30": StoredEdit(set_field("clinical", "exam_date", "2026-02-30"), Refused("l.json", "clinical: 'exam_date' must be a date")),
    "exam_date a number": StoredEdit(set_field("clinical", "exam_date", 20260602), Refused("l.json", "clinical.exam_date: expected text")),
    "earlier exam dated after the later": StoredEdit(
        set_field("clinical", "exam_date", "2027-06-02"), Refused("e.json", "give the earlier exam first"), "earlier"
    ),
    "schema missing": StoredEdit(drop("schema"), Refused("l.json", "field 'schema' is missing")),
    "a comparison given as a report": StoredEdit(
        set_field("schema", "emhassist.comparison/1"), Refused("l.json", "schema: expected 'emhassist.report/2' or the first schema 'emhassist.report/1', got \"emhassist.comparison/1\"")
    ),
    "case missing": StoredEdit(drop("case"), Refused("l.json", "field 'case' is missing")),
    "an unknown field": StoredEdit(set_field("hacker", 1), Refused("l.json", "unknown field 'hacker'")),
    "warnings an object": StoredEdit(set_field("warnings", {"a": 1}), Refused("l.json", "warnings: expected a list")),
    "bilsky grade unknown": StoredEdit(
        lambda r: r["levels"]["bilsky"]["levels"][0].update(grade="9z"), Refused("l.json", "grade: expected one of '0'")
    ),
    "bilsky canal compromise over 100 %": StoredEdit(
        lambda r: r["levels"]["bilsky"]["levels"][0].update(mcc_percent=250.0),
        Refused("l.json", "levels.bilsky.levels[0].mcc_percent: a narrowing is at most 100 %, not 250"),
    ),
    "bilsky CSF share of 3": StoredEdit(
        lambda r: r["levels"]["bilsky"]["levels"][1].update(csf_fraction=3.0),
        Refused("l.json", "levels.bilsky.levels[1].csf_fraction: a share of the cord's circumference lies between 0 and 1, not 3"),
    ),
    "a JSON array": StoredEdit(lambda r: "[1, 2]", Refused("l.json", "expected an object (Report)")),
    "an empty file": StoredEdit(lambda r: "", Refused("l.json", "is not valid JSON")),
    "NaN as a value": StoredEdit(
        lambda r: json.dumps(r).replace('"value": 5.4', '"value": NaN', 1), Refused("l.json", "NaN is not a JSON number")
    ),
    "an integer of 5000 digits": StoredEdit(
        lambda r: json.dumps(r).replace('"age": 79', '"age": 1' + "0" * 5000), Refused("l.json", "an integer of 5,001 digits")
    ),
    "schema of a later version (/3)": StoredEdit(set_field("schema", "emhassist.report/3"), Refused("l.json", "schema: expected 'emhassist.report/2' or the first schema 'emhassist.report/1', got \"emhassist.report/3\"")),
    "schema of an earlier version (/0)": StoredEdit(set_field("schema", "emhassist.report/0"), Refused("l.json", "schema: expected 'emhassist.report/2' or the first schema 'emhassist.report/1', got \"emhassist.report/0\"")),
    "levels.bilsky a string": StoredEdit(set_field("levels", "bilsky", "grade 2"), Refused("l.json", "levels.bilsky: expected an object or null")),
    "levels.bilsky a list": StoredEdit(set_field("levels", "bilsky", [{"level": 5}]), Refused("l.json", "levels.bilsky: expected an object or null")),
    "levels.cord_profile an object": StoredEdit(set_field("levels", "cord_profile", {"a": 1}), Refused("l.json", "levels.cord_profile: expected a list")),
    "levels.cord_profile rows of nulls": StoredEdit(set_field("levels", "cord_profile", [[None] * 3]), Refused("l.json", "levels.cord_profile[0]: expected an object (CordProfileEntry)")),
    "levels a list": StoredEdit(set_field("levels", []), Refused("l.json", "levels: expected an object or null")),
    "same date as the earlier exam": StoredEdit(set_field("clinical", "exam_date", "2026-01-05"), COMPARED),
    "ratio of 0 with its interval": StoredEdit(edit_ratio(value=0.0, ci95=[0.0, 0.0]), COMPARED),
    "later exam dated before the earlier one as an ISO week date (2026-W01-1 is 2025-12-29; ordered as text: compared)": StoredEdit(
        set_field("clinical", "exam_date", "2026-W01-1"), Refused("l.json", "'exam_date' must be a date written YYYY-MM-DD")
    ),
    "mass volume of 1e-300 mL in the earlier exam (its change overflowed: an OverflowError traceback)": StoredEdit(
        edit_volume(value=1e-300, ci95=[1e-310, 1e-300]), Refused("e.json", "is smaller than one voxel of the finest sequence makes"), "earlier"
    ),
    "mass volume of one voxel's tenth in the later exam": StoredEdit(
        edit_volume(value=1e-4, ci95=[1e-4, 1e-4]), Refused("l.json", "is smaller than one voxel of the finest sequence makes"),
    ),
}

# Broken in files other engineers own: the lead fixes them after merging.
def write_exams(folder: Path, entry: StoredEdit) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    exams = {"earlier": exam_report("a", "2026-01-05"), "later": exam_report("b", "2026-06-02")}
    edited = entry.edit(exams[entry.exam])
    paths = {"earlier": folder / "e.json", "later": folder / "l.json"}
    for which, report in exams.items():
        text = edited if which == entry.exam and isinstance(edited, str) else json.dumps(report)
        paths[which].write_text(text, encoding="utf-8")
    return paths["earlier"], paths["later"]


def assert_refused(code: int, err: str, outcome: Refused) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    subject, _, problem = err.removeprefix("error: ").partition(": ")
    assert subject.endswith(outcome.subject) and outcome.problem in problem, err
    assert err.isprintable() or err[:-1].isprintable(), err


def compare_answer(entry: StoredEdit, tmp_path: Path, capsys) -> None:
    earlier, later = write_exams(tmp_path / "exams", entry)
    before = snapshot(tmp_path / "exams")
    code = main(["compare", str(earlier), str(later)])
    err = capsys.readouterr().err
    assert snapshot(tmp_path / "exams") == before
    if entry.outcome == COMPARED:
        assert code == 0 and err == "", err
    else:
        assert_refused(code, err, entry.outcome)


@pytest.mark.parametrize("name", STORED)
def test_compare_answers_an_edited_stored_report(name, tmp_path, capsys):
    compare_answer(STORED[name], tmp_path, capsys)


def test_every_golden_report_passes_the_stored_value_checks():
    """The checks hold for what the analysis writes: every golden report reads back."""
    goldens = sorted(GOLDEN.parent.parent.glob("*/report.json"))
    assert len(goldens) == 8
    for golden in goldens:
        assert from_json(json.loads(golden.read_text(encoding="utf-8")), str(golden)).case


# --- The files given to compare ----------------------------------------------------------------------


@pytest.fixture
def exams(tmp_path) -> tuple[Path, Path]:
    return write_exams(tmp_path / "exams", StoredEdit(lambda report: None, COMPARED))


def run(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


FILES: dict[str, tuple[Callable[[Path], Path], Refused]] = {
    "a directory named x.json": (lambda d: (d / "x.json").mkdir() or d / "x.json", Refused("x.json", "no sequence volume")),
    "a FIFO": (lambda d: os.mkfifo(d / "f.json") or d / "f.json", Refused("f.json", "is not a report file")),
    "a symlink loop": (lambda d: os.symlink("loop.json", d / "loop.json") or d / "loop.json", Refused("loop.json", "is not a report file")),
    "a missing file": (lambda d: d / "missing.json", Refused("missing.json", "is not a report file")),
    "a DICOM SR of another tool (Basic Text SR)": (lambda d: other_tools_sr(d / "other.sr.dcm"), Refused("other.sr.dcm", "is neither a case folder nor a report JSON")),
    "a DICOM SR cut to half its bytes": (lambda d: cut_in_half(other_tools_sr(d / "cut.sr.dcm")), Refused("cut.sr.dcm", "is neither a case folder nor a report JSON")),
}


def other_tools_sr(path: Path) -> Path:
    """A Basic Text SR of the patient, as another tool writes one (not EMHAssist's TID 1500)."""
    import pydicom
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = pydicom.dataset.FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.88.11", generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = pydicom.Dataset()
    dataset.file_meta, dataset.preamble = meta, b"\0" * 128
    dataset.SOPClassUID, dataset.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    dataset.Modality, dataset.PatientID, dataset.ValueType, dataset.ContentSequence = "SR", "EMH-0042", "CONTAINER", []
    dataset.save_as(path, enforce_file_format=True)
    return path


def cut_in_half(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("name", FILES)
def test_compare_refuses_an_exam_that_is_not_a_report_file(name, exams, capsys):
    make, outcome = FILES[name]
    code, err = run(["compare", str(make(exams[0].parent)), str(exams[1])], capsys)
    assert_refused(code, err, outcome)


def test_an_unreadable_report_is_read_as_root_and_refused_otherwise(exams, capsys):
    """chmod 000: root (these tests' user) reads it anyway and compares; anyone else gets one line."""
    exams[0].chmod(0)
    code, err = run(["compare", str(exams[0]), str(exams[1])], capsys)
    if os.geteuid() == 0:
        assert code == 0 and err == "", err
    else:
        assert_refused(code, err, Refused("e.json", "could not"))


def test_compare_json_onto_a_stored_report_is_refused_and_the_report_kept(exams, capsys):
    """It used to replace the earlier exam's report with the comparison (exit 0): work lost."""
    before = exams[0].read_bytes()
    code, err = run(["compare", str(exams[0]), str(exams[1]), "--json", str(exams[0])], capsys)
    assert_refused(code, err, Refused("e.json", "is one of the stored reports being compared"))
    assert exams[0].read_bytes() == before


def test_compare_json_into_a_folder_or_beside_is_answered(exams, capsys):
    code, err = run(["compare", str(exams[0]), str(exams[1]), "--json", str(exams[0].parent)], capsys)
    assert_refused(code, err, Refused("exams", "is a folder; --json takes a file name"))
    out = exams[0].parent / "comparison.json"
    assert run(["compare", str(exams[0]), str(exams[1]), "--json", str(out)], capsys) == (0, "")
    assert json.loads(out.read_text(encoding="utf-8"))["schema"] == "emhassist.comparison/1"


def test_from_json_names_the_subject_and_field_for_a_scene_node_name():
    """A report node's JSON edited in the scene is read by from_json with the node's name as subject."""
    report = exam_report("a", "2026-01-05")
    report["levels"]["vertebrae"][2]["name"] = "T2"
    with pytest.raises(InputError) as refused:
        from_json(copy.deepcopy(report), "EMHAssist report")
    assert str(refused.value) == "EMHAssist report: levels.vertebrae[2].name: T2 is given twice"


# --- emhassist demo --out ------------------------------------------------------------------------------


@pytest.mark.parametrize("out", ["a-file", "a-file/sub", "o\\ut"])
def test_demo_out_onto_or_under_a_file_is_refused_before_building(out, tmp_path, capsys):
    """It ended in a NotADirectoryError traceback (exit 1) after the exams were built; `o\\ut` had the
    volumes written into o/ut (Slicer's writers split the path there) and the rest into o\\ut."""
    (tmp_path / "a-file").write_text("kept\n")
    code, err = run(["demo", "--case", "mds_t5_t8_treated", "--out", str(tmp_path / out)], capsys)
    assert_refused(code, err, Refused(out, "--out takes a folder"))
    assert (tmp_path / "a-file").read_text() == "kept\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file"]


# --- A report read back from a scene's text node (frontends/panel.read_report_node) --------------------

GOLDEN_TEXT = GOLDEN.read_text(encoding="utf-8")


def golden_edited(pattern: str, replacement: str) -> str:
    """The golden report's text with the first match of `pattern` replaced (a golden regenerated with
    other numbers must not leave the edit undone and the test asserting nothing)."""
    edited = re.sub(pattern, replacement, GOLDEN_TEXT, count=1)
    assert edited != GOLDEN_TEXT, pattern
    return edited


NODE_TEXTS: dict[str, tuple[str, str]] = {
    "nested 100,000 deep": ('{"schema": "emhassist.report/2", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deep"),
    "an integer of 5000 digits": (golden_edited(r'"code": 8\b', '"code": 1' + "0" * 5000), "an integer of 5,001 digits"),
    "MSCC -Infinity": (golden_edited(r'"max_mscc_percent": [0-9.]+', '"max_mscc_percent": -Infinity'), "is not a JSON number"),
    "a key given twice": (golden_edited(r'"case": "mds_t5_t8"', '"case": "mds_t5_t8", "case": "other"'), "given twice"),
}


@pytest.fixture(scope="module")
def report_node():
    from EMHAssistLib.inputs.scene import new_headless_scene

    scene = new_headless_scene()
    node = scene.AddNewNodeByClass("vtkMRMLTextNode", "EMHAssist report")
    return node


@pytest.mark.parametrize("name", NODE_TEXTS)
def test_a_report_text_is_parsed_under_the_json_file_rules(name):
    text, problem = NODE_TEXTS[name]
    with pytest.raises(InputError, match=f"^EMHAssist report: .*{problem}"):
        parse_json_text(text, "EMHAssist report", finite=True)


@pytest.mark.parametrize("name", NODE_TEXTS)
def test_a_scene_report_node_edited_is_refused_in_one_line(name, report_node):
    from EMHAssistLib.frontends.panel import REPORT_ATTRIBUTE, read_report_node

    report_node.SetAttribute(REPORT_ATTRIBUTE, "emhassist.report/2")
    report_node.SetText(NODE_TEXTS[name][0])
    with pytest.raises(InputError, match=f"^EMHAssist report: .*{NODE_TEXTS[name][1]}"):
        read_report_node(report_node)


# --- clinical.json's patient and exam_date (inputs/clinical.py) -----------------------------------------

CLINICAL: dict[str, tuple[dict, str | None]] = {
    "patient empty": ({"patient": ""}, "'patient' must be a printable identifier"),
    "patient blank": ({"patient": "   "}, "'patient' must be a printable identifier"),
    "patient with a NUL": ({"patient": "a\x00b"}, "'patient' must be a printable identifier"),
    "patient with a right-to-left override": ({"patient": "\u202eRTL"}, "'patient' must be a printable identifier"),
    "patient of 65 characters": ({"patient": "P" * 65}, "'patient' must be a printable identifier"),
    "patient a list": ({"patient": ["x"]}, "'patient' must be a printable identifier"),
    "patient of 64 accented letters": ({"patient": "é" * 64}, None),
    "exam_date Feb 30": ({"exam_date": "2026-02-30"}, "'exam_date' must be a date written YYYY-MM-DD"),
    "exam_date without zero padding": ({"exam_date": "2026-2-3"}, "'exam_date' must be a date written YYYY-MM-DD"),
    "exam_date in full-width digits": ({"exam_date": "２０２６-０１-０１"}, "'exam_date' must be a date written YYYY-MM-DD"),
    "exam_date with a time": ({"exam_date": "2026-01-01T00"}, "'exam_date' must be a date written YYYY-MM-DD"),
    "exam_date a number": ({"exam_date": 20260101}, "'exam_date' must be a date written YYYY-MM-DD"),
    # Python 3.11 reads ISO week dates: clinical.json's was turned into 2026-06-01, a stored report's kept as
    # written and compared as text, so "2026-W01-1" (2025-12-29) was taken for a date after "2026-01-05".
    "exam_date as an ISO week date": ({"exam_date": "2026-W23-1"}, "'exam_date' must be a date written YYYY-MM-DD"),
}


@pytest.mark.parametrize("name", CLINICAL)
def test_clinical_patient_and_exam_date_are_checked(name):
    from EMHAssistLib.inputs.clinical import validate_clinical

    clinical, problem = CLINICAL[name]
    if problem is None:
        assert validate_clinical(clinical) == clinical
        return
    with pytest.raises(InputError) as refused:
        validate_clinical(clinical)
    assert str(refused.value).startswith(f"clinical.json: {problem}") and str(refused.value).isprintable()


# --- The command line's own arguments (frontends/cli.py) ------------------------------------------------

ARGUMENTS: dict[str, tuple[list[str], Refused]] = {
    "no command (a usage block of three lines, 'emhassist: error: ...')": ([], Refused("emhassist", "the following arguments are required: COMMAND")),
    "an unknown command": (["frobnicate"], Refused("COMMAND", "invalid choice: 'frobnicate'")),
    "analyze without a case": (["analyze"], Refused("emhassist analyze", "the following arguments are required: case")),
    "a misspelt option": (["analyze", "case", "--jsn", "x"], Refused("emhassist", "unrecognized arguments: --jsn x")),
    "an abbreviated option (--jso was taken for --json)": (["analyze", "case", "--jso", "x"], Refused("emhassist", "unrecognized arguments: --jso x")),
    "compare --cs (taken for --csv)": (["compare", "a", "b", "--cs", "x"], Refused("emhassist", "unrecognized arguments: --cs x")),
    "serve --po (taken for --port)": (["serve", "case", "--po", "8081"], Refused("emhassist", "unrecognized arguments: --po 8081")),
    "demo --dic (taken for --dicom)": (["demo", "--dic"], Refused("emhassist", "unrecognized arguments: --dic")),
    "--workers abc": (["analyze", "cases", "--csv", "rows.csv", "--workers", "abc"], Refused("--workers", "invalid int value: 'abc'")),
    "--time-limit nan (never ran out: exit 0)": (
        ["analyze", "cases", "--csv", "rows.csv", "--time-limit", "nan"], Refused("--time-limit", "must be a positive number of seconds, at most 604800, not 'nan'")
    ),
    "--time-limit -1": (["analyze", "cases", "--csv", "rows.csv", "--time-limit", "-1"], Refused("--time-limit", "must be a positive number of seconds")),
    "serve --port 99999 (an OverflowError traceback)": (["serve", "case", "--port", "99999"], Refused("--port", "must be a port number from 1 to 65535, not '99999'")),
    "serve --port -1 (an OverflowError traceback)": (["serve", "case", "--port", "-1"], Refused("--port", "must be a port number from 1 to 65535")),
    "serve --port 0 (the printed address would name port 0)": (["serve", "case", "--port", "0"], Refused("--port", "must be a port number from 1 to 65535")),
    "serve --port ² (a digit int() cannot read)": (["serve", "case", "--port", "²"], Refused("--port", "must be a port number from 1 to 65535")),
    "serve --load-time-limit 0 (refused as the case's: 'did not finish loading within 0 s')": (
        ["serve", "case", "--load-time-limit", "0"], Refused("--load-time-limit", "must be a positive number of seconds")
    ),
    "serve --load-time-limit nan": (["serve", "case", "--load-time-limit", "nan"], Refused("--load-time-limit", "must be a positive number of seconds")),
    "serve --load-time-limit 1e10 (an OverflowError traceback from multiprocessing's join)": (
        ["serve", "case", "--load-time-limit", "1e10"], Refused("--load-time-limit", "must be a positive number of seconds, at most 604800, not '1e10'")
    ),
    "--time-limit 1e308": (["analyze", "cases", "--csv", "rows.csv", "--time-limit", "1e308"], Refused("--time-limit", "at most 604800, not '1e308'")),
}


@pytest.mark.parametrize("name", ARGUMENTS)
def test_a_bad_argument_is_one_error_line_naming_it(name, tmp_path, capsys, monkeypatch):
    """argparse's complaints were a usage block and `emhassist analyze: error: ...`; out-of-range
    ports an OverflowError traceback; a NaN time limit was taken. Nothing runs: each is refused while
    the arguments are read."""
    monkeypatch.chdir(tmp_path)
    argv, outcome = ARGUMENTS[name]
    code, err = run(argv, capsys)
    assert_refused(code, err, outcome)
    assert "--help` lists the arguments" in err
    assert list(tmp_path.iterdir()) == []


# --- clinical.json's age, as the report holds it (inputs/clinical.py, report_model.Clinical) -------------

AGES: dict[str, tuple[object, int | None]] = {
    "60.5 (a Malformed traceback from the report model)": (60.5, None),
    "-0.0 (a Malformed traceback: 'expected an integer')": (-0.0, 0),
    "60.0": (60.0, 60),
    "0": (0, 0),
    "120": (120, 120),
    "150": (150, None),
    "'60'": ("60", None),
    "true": (True, None),
}


@pytest.mark.parametrize("name", AGES)
def test_an_age_is_whole_years_the_report_model_holds(name):
    age, years = AGES[name]
    if years is None:
        with pytest.raises(InputError, match=r"^clinical.json: age must be a number of years from 0 to 120 \(whole years\), not "):
            validate_clinical({"age": age})
        return
    checked = validate_clinical({"age": age})
    assert type(checked["age"]) is int and checked["age"] == years
    assert model_value(checked, Clinical).age == years


# --- A batch over a folder of which some cases are broken (outputs/batch.py) -----------------------------

BROKEN_CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    # name -> damage to a copy of the small case, and the error its row must hold
    "b_corrupt_volume": (lambda case: (case / "T2.nrrd").write_bytes(b"NRRD0004\nbroken"), "T2.nrrd: is not a readable image file"),
    "b_fractional_age": (lambda case: (case / "clinical.json").write_text('{"age": 60.5}'), "clinical.json: age must be a number of years"),
    "b_empty": (lambda case: [path.unlink() for path in case.iterdir()] and None, "b_empty: no sequence volume"),
    "b_fifo_roi": (lambda case: ((case / "cord.mrk.json").unlink(), os.mkfifo(case / "cord.mrk.json")) and None, "cord.mrk.json: is a FIFO"),
    # a folder name that is not UTF-8: its row raised UnicodeEncodeError in the CSV writer, and the batch
    # ended in a traceback with every later case lost
    os.fsdecode(b"b_\xff_not_utf8"): (lambda case: None, "its path is not valid UTF-8"),
}


@pytest.fixture(scope="module")
def broken_batch(tmp_path_factory) -> tuple[Path, Path, int, str, str, dict]:
    root = tmp_path_factory.mktemp("batch")
    template = write_small_case(root / "template", new_headless_scene())
    folder = root / "cases"
    for name in ("a_good", "c_good"):
        shutil.copytree(template, folder / name)
    for name, (damage, _) in BROKEN_CASES.items():
        shutil.copytree(template, folder / name)
        damage(folder / name)
    before = {case.name: snapshot(case) for case in folder.iterdir() if case.name != "b_fifo_roi"}
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["analyze", str(folder), "--csv", str(root / "rows.csv")])
    return folder, root / "rows.csv", code, out.getvalue(), err.getvalue(), before


def test_a_batch_with_broken_cases_writes_each_as_its_error_row_and_every_good_one(broken_batch):
    folder, rows_csv, code, out, err, before = broken_batch
    assert code == 1 and err == "", err  # a case failed: exit 1, nothing on stderr
    with rows_csv.open(newline="", encoding="utf-8") as stream:
        rows = {row["case"]: row for row in csv.DictReader(stream)}
    shown = {name: name.encode("utf-8", "replace").decode("utf-8") for name in [*BROKEN_CASES, "a_good", "c_good"]}
    assert set(rows) == set(shown.values())
    for good in ("a_good", "c_good"):
        assert rows[good]["error"] == "" and float(rows[good]["T2 mass/cord"]) == pytest.approx(150 / 500)
    for name, (_, problem) in BROKEN_CASES.items():
        assert problem in rows[shown[name]]["error"] and rows[shown[name]]["T2 mass/cord"] == "", rows[shown[name]]
    assert len(out.splitlines()) == len(rows) and all(line.isprintable() for line in out.splitlines())
    assert {case.name: snapshot(case) for case in folder.iterdir() if case.name in before} == before


# --- serve --earlier (frontends/serve.py, wt-view's) -----------------------------------------------------


EARLIER_EXAMS: dict[str, tuple[dict, dict, Refused]] = {
    # the case's clinical.json, the earlier report's changed fields, the refusal; each but the first was
    # offered and the server started: the page's Compare gave the refusal
    "another patient": ({"patient": "EMH-0042", "exam_date": "2026-09-01"}, {"clinical": {"patient": "EMH-0099", "exam_date": "2026-01-05"}}, Refused("other.json", "another patient")),
    "no vertebral levels": ({"patient": "EMH-0042", "exam_date": "2026-09-01"}, {"levels": None}, Refused("other.json", "(EARLIER) has no vertebral levels")),
    "no patient, nor the case": ({"exam_date": "2026-09-01"}, {"clinical": {"exam_date": "2026-01-05"}}, Refused("other.json", "(EARLIER) names no patient")),
    "dated after the case": (
        {"patient": "EMH-0042", "exam_date": "2026-09-01"},
        {"clinical": {"patient": "EMH-0042", "exam_date": "2027-01-05"}},
        Refused("other.json", "(EARLIER) is dated 2027-01-05, after the case (2026-09-01); --earlier takes an earlier exam of the same patient"),
    ),
}


@pytest.mark.parametrize("name", EARLIER_EXAMS)
def test_serve_refuses_an_earlier_exam_compare_would_refuse_before_it_starts(name, exams, tmp_path, capsys, monkeypatch):
    from EMHAssistLib.frontends import sessions

    case_clinical, changed, refused = EARLIER_EXAMS[name]
    case = write_small_case(tmp_path / "case", new_headless_scene())
    (case / "clinical.json").write_text(json.dumps(case_clinical))
    other = exams[0].parent / "other.json"
    other.write_text(json.dumps(exam_report("other", "2026-01-05") | changed))
    started = []
    monkeypatch.setattr(sessions, "run_launcher", lambda *args: started.append(args))  # the server must not start
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, err = run(["serve", str(case), "--earlier", str(other), "--port", str(port)], capsys)
    assert started == []
    assert_refused(code, err, refused)


# --- NIfTI headers as other tools write them (inputs/headers.py) ----------------------------------------


def nifti_edit(offset: int, fmt: str, change: Callable[[tuple], tuple]) -> Callable[[bytes], bytes]:
    """A NIfTI-1 header field (little-endian, as SimpleITK writes it) changed in place."""

    def edit(content: bytes) -> bytes:
        edited = bytearray(content)
        struct.pack_into(fmt, edited, offset, *change(struct.unpack_from(fmt, content, offset)))
        return bytes(edited)

    return edit


NIFTI_HEADERS: dict[str, tuple[Callable[[bytes], bytes], str | None]] = {
    # name -> the edit and a part of the one warning it must give (None: no warning)
    "as SimpleITK writes it (oblique)": (lambda content: content, None),
    "qform moved 40 mm from the sform (read by the sform without a word)": (
        nifti_edit(268, "<f", lambda x: (x[0] + 40.0,)),
        "T2.nii: its qform and sform place the volume's corners up to 40 mm apart; read by the sform, as Slicer reads it",
    ),
    "qform rotated (quaternion b 0.3) from the sform": (nifti_edit(256, "<f", lambda b: (0.3,)), "its qform and sform place the volume's corners up to"),
    "qform moved 0.01 mm (float rounding)": (nifti_edit(268, "<f", lambda x: (x[0] + 0.01,)), None),
    "sform code 0 (only the qform)": (nifti_edit(254, "<h", lambda code: (0,)), None),
    "scl_slope 0, scl_inter 0 (no scaling, the standard's default)": (nifti_edit(112, "<2f", lambda s: (0.0, 0.0)), None),
    "scl_slope 2 (a real scaling)": (nifti_edit(112, "<2f", lambda s: (2.0, 0.0)), None),
    "scl_slope NaN, scl_inter 5 (ITK adds 5 and ignores the slope)": (
        nifti_edit(112, "<2f", lambda s: (math.nan, 5.0)),
        "T2.nii: its voxel scaling (scl_slope nan, scl_inter 5) is not a finite linear scaling",
    ),
    "scl_slope inf (ITK reads unscaled)": (nifti_edit(112, "<2f", lambda s: (math.inf, 0.0)), "(scl_slope inf, scl_inter 0) is not a finite linear scaling"),
    "scl_slope 0, scl_inter 5 (the standard: no scaling; ITK adds 5)": (
        nifti_edit(112, "<2f", lambda s: (0.0, 5.0)), "(scl_slope 0, scl_inter 5) is not a finite linear scaling"
    ),
    "scl_inter NaN (ITK scales and ignores it)": (nifti_edit(112, "<2f", lambda s: (2.0, math.nan)), "(scl_slope 2, scl_inter nan)"),
}


@pytest.fixture(scope="module")
def nifti_t2(tmp_path_factory) -> bytes:
    case = write_small_case(tmp_path_factory.mktemp("nifti") / "case", new_headless_scene())
    sitk.WriteImage(sitk.ReadImage(str(case / "T2.nrrd")), str(case / "T2.nii"))
    return (case / "T2.nii").read_bytes()


@pytest.mark.parametrize("name", NIFTI_HEADERS)
def test_a_doubtful_nifti_header_is_read_with_a_warning(name, nifti_t2, tmp_path):
    edit, warning = NIFTI_HEADERS[name]
    path = tmp_path / "T2.nii"
    path.write_bytes(edit(nifti_t2))
    warnings = check_image_header(path, tmp_path, "unreadable").warnings
    if warning is None:
        assert warnings == ()
    else:
        assert len(warnings) == 1 and warnings[0].startswith("T2.nii: ") and warning in warnings[0], warnings


def test_a_qform_sform_disagreement_reaches_the_studys_warnings(nifti_t2, tmp_path):
    """The header's warning is the study's (the report's) warning; the case folder is read, not analysed."""
    case = write_small_case(tmp_path / "case", new_headless_scene(), roles=("T2",))
    (case / "T2.nrrd").unlink()
    (case / "T2.nii").write_bytes(NIFTI_HEADERS["qform moved 40 mm from the sform (read by the sform without a word)"][0](nifti_t2))
    before = snapshot(case)
    study = load_case_folder(case, new_headless_scene())
    assert [warning for warning in study.warnings if "qform" in warning] == [
        "T2.nii: its qform and sform place the volume's corners up to 40 mm apart; read by the sform, as Slicer reads it (tools that read the qform place it elsewhere)"
    ]
    assert snapshot(case) == before


# --- Case folder names as users write them (inputs/confine.py) ------------------------------------------

FOLDER_NAMES: dict[str, str | None] = {
    # a case folder's name -> a part of the error its load must give (None: it loads)
    "case\\name (was 'T1.nrrd: could not be read as a volume', the file whole)": "its path holds a backslash, which Slicer's readers take for a folder separator",
    "<img src=x onerror=alert(1)>{{ 7*7 }}": None,
    "case\x1b[31m\u202ename %s *?[1]#": None,
}


@pytest.mark.parametrize("name", FOLDER_NAMES)
def test_a_case_folder_name_loads_or_is_refused_naming_the_reason(name, tmp_path):
    folder_name = name.split(" (was")[0]
    case = write_small_case(tmp_path / "written", new_headless_scene()).rename(tmp_path / folder_name)  # Slicer's writers too take `\\` for a separator
    before = snapshot(case)
    problem = FOLDER_NAMES[name]
    if problem is None:
        assert load_case_folder(case, new_headless_scene()).name == folder_name
    else:
        with pytest.raises(InputError) as refused:
            load_case_folder(case, new_headless_scene())
        assert f"{folder_name}/" in refused.value.subject and problem in refused.value.problem and str(refused.value).isprintable()
    assert snapshot(case) == before


# --- Segmentations as Segment Editor leaves them (inputs/study.py, inputs/nodes.py) ---------------------


def region_mask(region: str) -> np.ndarray:
    grid = grid_for("T2")
    mask = np.zeros(grid.shape, dtype=bool)
    mask.ravel()[voxel_indices(grid, roi_box(region.lower()))] = True
    return mask


SEGMENTATIONS: dict[str, tuple[Callable[[], list[tuple[str, np.ndarray | None]]], str | None, str | None]] = {
    # name -> the segments (name, mask on the T2 grid or None: added, never painted), the error, the warning
    "one segment per region": (lambda: [(region, region_mask(region)) for region in REGIONS], None, None),
    "a mass segment added and never painted (was 'mass region lies wholly outside every volume')": (
        lambda: [(region, None if region == "Mass" else region_mask(region)) for region in REGIONS], "regions/Mass: segment is empty", None
    ),
    "the cord painted over the whole volume (measured in both, without a word)": (
        lambda: [(region, np.ones_like(region_mask(region)) if region == "Cord" else region_mask(region)) for region in REGIONS],
        None,
        "regions.seg.nrrd: the cord and mass segments share 568 voxels, which are measured in both regions",
    ),
    "a second segment named mass over the cord": (
        lambda: [(region, region_mask(region)) for region in REGIONS] + [("Mass", region_mask("cord"))],
        None,
        "regions.seg.nrrd: the cord and mass segments share 568 voxels, which are measured in both regions",
    ),
}
REGIONS = ("Cord", "Mass", "Marrow", "Muscle", "Disc")


@pytest.fixture(scope="module")
def roi_free_case(tmp_path_factory) -> Path:
    case = write_small_case(tmp_path_factory.mktemp("segmentation") / "case", new_headless_scene())
    for roi_file in case.glob("*.mrk.json"):
        roi_file.unlink()
    return case


def case_with_segments(roi_free_case: Path, folder: Path, segments: list[tuple[str, np.ndarray | None]]) -> Path:
    """The ROI-free small case with `regions.seg.nrrd` of these segments (a mask on the T2 grid, or None: never painted)."""
    case = shutil.copytree(roi_free_case, folder)
    scene = new_headless_scene()
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "regions")
    for segment_name, mask in segments:
        segment_id = segmentation.GetSegmentation().AddEmptySegment("", segment_name)
        if mask is not None:
            set_segment_mask(segmentation, segment_id, mask, grid_for("T2"))
    storage = scene.AddNewNodeByClass("vtkMRMLSegmentationStorageNode")
    storage.SetFileName(str(case / "regions.seg.nrrd"))
    assert storage.WriteData(segmentation)
    return case


@pytest.mark.parametrize("name", SEGMENTATIONS)
def test_a_segmentation_with_an_empty_or_overlapping_segment_is_refused_or_warned(name, roi_free_case, tmp_path):
    segments, error, warning = SEGMENTATIONS[name]
    case = case_with_segments(roi_free_case, tmp_path / "case", segments())
    before = snapshot(case)
    if error is not None:
        with pytest.raises(InputError) as refused:
            load_case_folder(case, new_headless_scene())
        assert str(refused.value) == error
    else:
        shared = [line for line in load_case_folder(case, new_headless_scene()).warnings if "share" in line]
        assert (warning is None and shared == []) or warning in shared, shared
    assert snapshot(case) == before


def test_a_second_cord_segment_never_painted_is_left_out_with_a_warning_and_the_ratios_kept(roi_free_case, tmp_path):
    """Segment Editor's Add beside the painted cord: the case was refused (`regions/Cord 2: segment is
    empty`) and lost every cord ratio; now the empty segment is left out, named in a warning, and the
    ratios are those of the painted cord alone."""
    painted = [(region, region_mask(region)) for region in REGIONS]
    plain = from_json(_analysed_json(case_with_segments(roi_free_case, tmp_path / "plain", painted), tmp_path / "plain.json"), "plain")
    case = case_with_segments(roi_free_case, tmp_path / "case", [*painted, ("Cord", None)])
    before = snapshot(case)
    report = from_json(_analysed_json(case, tmp_path / "report.json"), "report")
    assert "regions/Cord: segment is empty; left out of the cord region, which its other outlines give" in report.warnings
    assert report.ratios and report.ratios == plain.ratios
    assert snapshot(case) == before


def _analysed_json(case: Path, output: Path) -> dict:
    assert main(["analyze", str(case), "--json", str(output)]) == 0
    return json.loads(output.read_text())


# --- The attacker's fifth pass: ROI files a case folder can hold (inputs/markupsfile.py) ------------------


def roi_written(field: str, text: str) -> Callable[[Path], None]:
    """The mass ROI file with `field` written as raw JSON text (1e400: past a double's range)."""

    def edit(case: Path) -> None:
        path = case / "mass.mrk.json"
        content = json.loads(path.read_text(encoding="utf-8"))
        content["markups"][0][field] = "__RAW__"
        path.write_text(json.dumps(content).replace('"__RAW__"', text), encoding="utf-8")

    return edit


ROI_FILES: dict[str, tuple[Callable[[Path], None], Refused]] = {
    # each was `mass.mrk.json: is not a markups ROI file` (Slicer's reader fails on the number, silently)
    "size 1e400": (roi_written("size", "[1e400, 5, 5]"), Refused("mass.mrk.json", "size [inf, 5, 5] holds a number too large for a double (infinite)")),
    "centre -1e400": (roi_written("center", "[0, -1e400, 0]"), Refused("mass.mrk.json", "center [0, -inf, 0] holds a number too large for a double")),
    "orientation with 1e999": (roi_written("orientation", "[1e999, 0, 0, 0, 1, 0, 0, 0, 1]"), Refused("mass.mrk.json", "orientation [inf, 0, 0, 0, 1, 0, 0, 0, 1] holds")),
    # these two were `mass: ROI has no volume (size [0.0, 0.0, 0.0] mm)`: Slicer's reader takes them for 0 mm
    "size written as text": (roi_written("size", '["5", "5", "12"]'), Refused("mass.mrk.json", "size ['5', '5', '12'] is not three numbers")),
    "size left out": (lambda case: roi_written("size", "0")(case) or (case / "mass.mrk.json").write_text((case / "mass.mrk.json").read_text().replace(', "size": 0', "")), Refused("mass.mrk.json", "has no size")),
}


@pytest.mark.parametrize("name", ROI_FILES)
def test_an_roi_file_with_a_size_or_number_slicer_misreads_is_refused_naming_the_field(name, tmp_path, capsys):
    edit, refused = ROI_FILES[name]
    case = write_small_case(tmp_path / "case", new_headless_scene())
    edit(case)
    before = snapshot(case)
    assert_refused(*run(["analyze", str(case)], capsys), refused)
    assert snapshot(case) == before


# --- ROI files of one region named per sequence (inputs/casefolder.py) ----------------------------------

# A copy of the mass ROI under each name: the region the warning names, or None (read, or no region's name).
ROI_NAMES: dict[str, str | None] = {
    "mass_T2.mrk.json": "mass",
    "Mass T1.mrk.json": "mass",
    "mass2.mrk.json": "mass",
    "cord (1).mrk.json": "cord",
    "mass-2.mrk.json": None,
    "massive.mrk.json": None,
    "old.mrk.json": None,
}


@pytest.mark.parametrize("filename", ROI_NAMES)
def test_an_roi_file_named_after_a_region_but_not_read_is_warned_about(filename, tmp_path):
    """Before: `mass_T2.mrk.json` beside `mass.mrk.json` (one ROI per sequence) was left out without a word,
    the mass measured on the first ROI alone; alone, it left the report saying only 'no mass region'."""
    region = ROI_NAMES[filename]
    case = write_small_case(tmp_path / "case", new_headless_scene())
    shutil.copy(case / "mass.mrk.json", case / filename)
    study = load_case_folder(case, new_headless_scene())
    found = [warning for warning in study.warnings if warning.startswith(f"{filename}: not read")]
    said = f"{filename}: not read; a {region} ROI file is named {region}.mrk.json, or {region}-2.mrk.json, {region}-3.mrk.json, ... for more than one"
    assert found == ([said] if region else []), study.warnings
    assert len(study.regions["mass"]) == (2 if filename == "mass-2.mrk.json" else 1)
