"""`emhassist compare`: two exams of one patient, the teaching follow-up mds_t5_t8_treated (the
myelodysplasia case and a treated exam six months later on a tilted grid), and bad pairs."""

import base64
import csv
import json
import re
import shutil
from html import unescape
from pathlib import Path

import highdicom as hd
import jsonschema
import numpy as np
import pytest

from EMHAssistLib.errors import InputError
from EMHAssistLib.followup import Estimate, ExamFacts, summary_line, volume_change
from EMHAssistLib.geometry import Grid
from EMHAssistLib.frontends.cli import main
from EMHAssistLib.outputs.case_folder import save_case_folder
from EMHAssistLib.inputs.clinical import validate_clinical
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.outputs.comparison import COMPARISON_SCHEMA_FILE, comparison_schema
from EMHAssistLib.outputs.report_schema import schema_text
from EMHAssistLib.outputs.structured_report import tracking_uid
from EMHAssistLib.spine.masses import MassSegment
from EMHAssistLib.teaching.cases import study_into_scene
from EMHAssistLib.teaching.followup import build_pair

FOLLOW_UP = "mds_t5_t8_treated"


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> dict:
    """The two exams as case folders, with the phantom's true mass volume (mL) of each."""
    root = tmp_path_factory.mktemp("followup")
    exams = build_pair(FOLLOW_UP)
    folders, truth, grids = [], [], []
    for exam, name in zip(exams, ("earlier", "later")):
        save_case_folder(study_into_scene(exam, new_headless_scene()), root / name)
        folders.append(root / name)
        mass = next(label for label, tissue in exam.label_names.items() if tissue == "mass")
        truth.append(np.count_nonzero(exam.labels == mass) * abs(np.linalg.det(exam.label_grid[:3, :3])) / 1000)
        grids.append(exam.sequences["T2"].ijk_to_ras)
    return {"folders": folders, "truth_ml": truth, "grids": grids, "root": root}


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def comparison(pair) -> dict:
    out = pair["root"] / "comparison.json"
    assert main(["compare", *map(str, pair["folders"]), "--json", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_the_follow_up_is_acquired_on_another_grid(pair):
    earlier, later = pair["grids"]
    assert not np.allclose(earlier, later), "the later exam must not share the earlier exam's voxel grid"


def test_levels_are_matched_by_name_and_the_treated_mass_is_smaller(comparison, pair):
    assert comparison["schema"] == "emhassist.comparison/1"
    assert comparison["patient"] == "EMH-mds_t5_t8"
    assert comparison["matched_levels"] == ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12", "L1"]
    assert comparison["earlier"]["mass_levels"] == ["T5", "T6", "T7", "T8"]
    assert comparison["later"]["mass_levels"] == ["T6", "T7"]  # the spec: T6-T7 after treatment
    assert comparison["earlier"]["compressed_levels"] == ["T5", "T6", "T7"]
    assert comparison["later"]["compressed_levels"] == ["T6", "T7"]
    # Measured on seed 0 (docs/reports.md's comparison section): 5.40 mL -> 2.67 mL, -50 % (-70 to -19 %).
    change = comparison["volume_change"]
    assert change["value"] == pytest.approx(-0.505, abs=0.01)
    assert change["ci95"][0] < change["value"] < change["ci95"][1] < 0
    # The phantom's own label maps (both mass sites) shrink by 47 %: the interval holds the truth.
    truth_then, truth_now = pair["truth_ml"]
    assert change["ci95"][0] <= truth_now / truth_then - 1 <= change["ci95"][1]


def test_the_volume_interval_holds_the_grown_mass_and_is_half_its_boundary_layers():
    cube = np.zeros((5, 5, 5), bool)
    cube[1:4, 1:4, 1:4] = True  # 27 voxels: 26 on its surface, 54 face neighbours outside
    volume = MassSegment(Grid((5, 5, 5), np.diag([10.0, 10.0, 10.0, 1.0])), cube, given=False).volume_ml()  # 1 mL voxels
    assert volume.value == pytest.approx(27.0)
    assert tuple(volume.ci95) == pytest.approx((27 - 13, 27 + 27))
    change = volume_change(Estimate(10.0, (8.0, 12.0)), Estimate(5.0, (4.0, 6.0)))
    assert change.value == pytest.approx(-0.5)
    assert change.ci95 == pytest.approx((4 / 12 - 1, 6 / 8 - 1))


def test_levels_then_and_now_and_the_t2_ratio_falls(comparison):
    by_level = {level["level"]: level for level in comparison["levels"]}
    assert list(by_level) == ["T5", "T6", "T7", "T8"]
    assert (by_level["T5"]["compressed_then"], by_level["T5"]["compressed_now"]) == (True, False)
    assert (by_level["T6"]["bilsky_then"], by_level["T6"]["bilsky_now"]) == ("2", "2")
    assert by_level["T6"]["mscc_now"] < by_level["T6"]["mscc_then"]
    t2 = comparison["ratios"]["T2 mass/cord"]
    # The spec's T2 mass/cord falls from 0.3 to 0.2 (transfusional iron); the intervals do not overlap.
    assert t2["now"]["ci95"][1] < t2["then"]["ci95"][0]
    assert t2["then"]["value"] == pytest.approx(0.30, abs=0.02) and t2["now"]["value"] == pytest.approx(0.21, abs=0.02)


def test_the_summary_line_says_what_changed(comparison):
    # "smaller by 51 %" since session 14 (edges14's enhancing-wall rule: 50 % before, the volumes 5.4 and 2.7 mL either way)
    assert comparison["summary"] == (
        "mass smaller by 51 % (95 % CI -70 to -19 %) than 2026-06-02, mass now T6–T7 (was T5–T8), "
        "no longer compressing T5; still T6–T7, Bilsky 2 at T6 unchanged, T2 mass/cord 0.30 → 0.22"
    )


@pytest.mark.parametrize("then, now, stated", [
    ("2 at T6", "2 at T6", "Bilsky 2 at T6 unchanged"),
    ("3 at T6", "1c at T7", "Bilsky 3 at T6 → 1c at T7"),
    ("2 at T6", None, "Bilsky 2 at T6 → –"),
])
def test_the_summary_states_the_most_severe_bilsky_grade_once_when_it_holds(then, now, stated):
    def exam(grade: str | None) -> ExamFacts:
        return ExamFacts("case", "case", "patient", None, (), None, {}, grade)

    assert stated in summary_line(exam(then), exam(now), None, {}).split(", ")


def test_the_json_matches_its_published_schema(comparison):
    assert COMPARISON_SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(comparison_schema()), "tools/update_report_schema.py rewrites it"
    jsonschema.validate(comparison, comparison_schema())


def test_the_text_states_the_summary_and_the_caveat(pair, capsys, comparison):
    code, out, _ = run(["compare", *map(str, pair["folders"])], capsys)
    assert code == 0
    assert f"Summary: {comparison['summary']}" in out
    assert "Research and teaching use only" in out
    assert "T2 mass/cord           0.30 (0.29–0.31) → 0.22 (0.21–0.23)" in out


def _copy(pair, tmp_path, name: str) -> Path:
    copy = tmp_path / name
    shutil.copytree(pair["folders"][1], copy)
    return copy


def _set_clinical(folder: Path, **changes) -> None:
    clinical = json.loads((folder / "clinical.json").read_text(encoding="utf-8"))
    clinical.update(changes)
    clinical = {key: value for key, value in clinical.items() if value is not None}
    (folder / "clinical.json").write_text(json.dumps(clinical), encoding="utf-8")


def test_two_patients_are_refused_in_one_line(pair, tmp_path, capsys):
    other = _copy(pair, tmp_path, "other")
    _set_clinical(other, patient="EMH-someone-else")
    code, out, err = run(["compare", str(pair["folders"][0]), str(other)], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {other}: is an exam of patient 'EMH-someone-else', the earlier exam {pair['folders'][0]} of") and err.count("\n") == 1


def test_an_exam_without_a_patient_or_levels_is_refused(pair, tmp_path, capsys):
    anonymous = _copy(pair, tmp_path, "anonymous")
    _set_clinical(anonymous, patient=None)
    code, _, err = run(["compare", str(pair["folders"][0]), str(anonymous)], capsys)
    assert code == 2 and "names no patient" in err
    unlabelled = _copy(pair, tmp_path, "unlabelled")
    (unlabelled / "levels.mrk.json").unlink()
    code, _, err = run(["compare", str(pair["folders"][0]), str(unlabelled)], capsys)
    assert code == 2 and err.startswith(f"error: {unlabelled}: (LATER) has no vertebral levels") and err.count("\n") == 1


def test_a_missing_folder_is_one_line(pair, tmp_path, capsys):
    code, _, err = run(["compare", str(pair["folders"][0]), str(tmp_path / "nowhere")], capsys)
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1


def test_patient_and_exam_date_are_checked():
    assert validate_clinical({"patient": " EMH-1 ", "exam_date": "2026-06-02"}) == {"patient": "EMH-1", "exam_date": "2026-06-02"}
    with pytest.raises(InputError, match="exam_date"):
        validate_clinical({"exam_date": "2026-13-02"})
    with pytest.raises(InputError, match="patient"):
        validate_clinical({"patient": ""})


def test_two_exams_srs_share_each_findings_tracking_uid(pair, tmp_path):
    """Written separately at the two exams, the SRs link each finding by the same TID 1500 tracking UID."""
    from test_reports import dicom_case

    groups = []
    for folder in pair["folders"]:
        case = tmp_path / folder.name
        shutil.copytree(folder, case)
        dicom_case(case)
        assert main(["analyze", str(case), "--sr", str(tmp_path / f"{folder.name}.sr.dcm")]) == 0
        sr = hd.sr.srread(tmp_path / f"{folder.name}.sr.dcm")
        content = hd.sr.MeasurementReport.from_sequence([sr])
        groups.append({group.tracking_identifier: group.tracking_uid for group in content.get_image_measurement_groups()})
    earlier, later = groups
    regions = {"cord", "mass", "marrow", "muscle", "disc", "differential"}
    # Each graded level is a finding of its own (issue 17 point 6): T5-T8 graded 1a or above then (T4 and T9 too
    # before a level outside the report's mass levels was graded 0, session 13), T6-T7 now.
    assert set(earlier) == regions | {f"bilsky T{n}" for n in range(5, 9)} and set(later) == regions | {"bilsky T6", "bilsky T7"}
    assert all(later[finding] == earlier[finding] for finding in later)
    assert earlier["mass"] == tracking_uid("EMH-mds_t5_t8", "mass") != tracking_uid("EMH-someone-else", "mass")
    assert len(set(earlier.values())) == len(earlier)


def test_the_html_page_shows_both_exams_side_by_side_at_one_level(pair, comparison):
    page_path = pair["root"] / "comparison.html"
    assert main(["compare", *map(str, pair["folders"]), "--html", str(page_path)]) == 0
    page = page_path.read_text(encoding="utf-8")
    assert "<script" not in page and "default-src 'none'" in unescape(page)
    assert comparison["summary"] in unescape(page)
    pairs = re.findall(r'<div class="pair">(.*?)</div>', page, re.S)
    assert len(pairs) == 2  # a sagittal and an axial row
    # The worst compressed level (Bilsky 2 at T6 in both exams), not the first (T5, Bilsky 1c then).
    assert "Key images, earlier and later, at the same level: T6, the most compressed level" in page
    for row, orientation in zip(pairs, ("sagittal", "axial")):
        titles = re.findall(r'alt="([^"]+)"', row)
        assert titles == [f"Earlier exam (2026-06-02): T2 {orientation} at T6", f"Later exam (2026-12-01): T2 {orientation} at T6"]
        images = [base64.b64decode(src) for src in re.findall(r'src="data:image/png;base64,([^"]+)"', row)]
        assert len(images) == 2 and all(image.startswith(b"\x89PNG") for image in images)
        assert images[0] != images[1]
    assert "Research and teaching use only" in page


def test_a_stored_report_compares_like_its_case_folder(pair, comparison, capsys):
    stored = pair["root"] / "earlier-report.json"
    assert main(["analyze", str(pair["folders"][0]), "--json", str(stored)]) == 0
    out = pair["root"] / "from-stored.json"
    assert main(["compare", str(stored), str(pair["folders"][1]), "--json", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == comparison


def test_a_stored_reports_html_page_says_why_it_has_no_key_images(pair, comparison, capsys):
    stored = pair["root"] / "earlier-for-html.json"
    assert main(["analyze", str(pair["folders"][0]), "--json", str(stored)]) == 0
    page_path = pair["root"] / "from-stored.html"
    code, _, err = run(["compare", str(stored), str(pair["folders"][1]), "--html", str(page_path)], capsys)
    assert (code, err) == (0, "")
    page = unescape(page_path.read_text(encoding="utf-8"))
    assert comparison["summary"] in page and "<img" not in page
    no_images = re.search(r'<p id="no-images">(.*?)</p>', page).group(1)
    assert no_images == (
        f"No key images: {stored} is a stored report, and a stored report holds no images: give both exams as case folders to see them side by side."
    )
    assert "Research and teaching use only" in page


def test_the_per_level_table_is_written_as_csv(pair, comparison):
    out = pair["root"] / "levels.csv"
    assert main(["compare", *map(str, pair["folders"]), "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert [row["level"] for row in rows] == [level["level"] for level in comparison["levels"]] == ["T5", "T6", "T7", "T8"]
    by_level = {row["level"]: row for row in rows}
    assert (by_level["T5"]["compressed_then"], by_level["T5"]["compressed_now"]) == ("true", "false")
    assert (by_level["T6"]["bilsky_then"], by_level["T6"]["bilsky_now"]) == ("2", "2")
    for row, level in zip(rows, comparison["levels"]):
        for key in ("mscc_then", "mscc_now"):
            assert row[key] == ("" if level[key] is None else str(level[key]))


def test_the_same_exam_given_twice_is_remarked(tmp_path, capsys):
    stored = _stored_exam(tmp_path, "exam", "2026-06-01")
    assert main(["compare", str(stored), str(stored), "--json", str(tmp_path / "c.json")]) == 0
    comparison = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert comparison["same_study"] is True
    assert comparison["summary"].startswith("the two exams are the same study (one report given twice: nothing can have changed): mass volume unchanged")
    other = _stored_exam(tmp_path, "other", "2026-12-01")
    assert main(["compare", str(stored), str(other), "--json", str(tmp_path / "d.json")]) == 0
    different = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    assert different["same_study"] is False and "same study" not in different["summary"]


def test_the_panel_compares_its_report_with_an_earlier_exams_report(pair, comparison, scene):
    from EMHAssistLib.analysis import run_analysis
    from EMHAssistLib import CAVEAT
    from EMHAssistLib.frontends.panel import clinical_from_panel, compare_with_earlier, comparison_text, write_report_node
    from EMHAssistLib.outputs.comparison import level_rows
    from EMHAssistLib.inputs.casefolder import load_case_folder

    earlier = pair["root"] / "panel-earlier.json"
    assert main(["analyze", str(pair["folders"][0]), "--json", str(earlier)]) == 0
    context = clinical_from_panel(79, "male", [], [], patient="EMH-mds_t5_t8", exam_date="2026-12-01")
    assert (context.patient, context.exam_date) == ("EMH-mds_t5_t8", "2026-12-01")
    report = run_analysis(load_case_folder(pair["folders"][1], scene)).report
    node = scene.AddNewNodeByClass("vtkMRMLTextNode", "EMHAssist report")
    write_report_node(report, node)
    compared = compare_with_earlier(str(earlier), node)
    assert compared.summary == comparison["summary"]
    with pytest.raises(InputError, match="nowhere.json"):
        compare_with_earlier(str(pair["root"] / "nowhere.json"), node)
    unlabelled = json.loads(earlier.read_text(encoding="utf-8")) | {"levels": None}
    (pair["root"] / "panel-unlabelled.json").write_text(json.dumps(unlabelled), encoding="utf-8")
    with pytest.raises(InputError) as refused:  # named by the file, not by the case both reports hold
        compare_with_earlier(str(pair["root"] / "panel-unlabelled.json"), node)
    assert (refused.value.subject, refused.value.problem[:35]) == (str(pair["root"] / "panel-unlabelled.json"), "(EARLIER) has no vertebral levels (")
    # What the panel shows under its "Compare with an earlier exam" button.
    lines = comparison_text(compared).splitlines()
    assert lines[0] == f"Since earlier (2026-06-02): {comparison['summary']}"
    assert lines[1:6] == [
        "Level: Mass then / now, Compressed then / now, MSCC then / now, Bilsky then / now",
        *(f"{row[0]}: {', '.join(row[1:])}" for row in level_rows(compared)),
    ]
    assert lines[2] == "T5: yes / no, yes / no, 35 % / 3 %, 2 / 0"  # 37 % / 3 % with each level's narrowest single slice (before cord.CordProfile.judged); 35 % before the cord window followed the cord; 2 % now before the phantom's cord tapered (5b4e41e)
    assert lines[-1] == CAVEAT


def test_a_missing_report_file_is_one_line(pair, tmp_path, capsys):
    code, _, err = run(["compare", str(tmp_path / "old.json"), str(pair["folders"][1])], capsys)
    assert code == 2 and err.startswith(f"error: {tmp_path / 'old.json'}: is not a report file") and err.count("\n") == 1


def _stored_exam(folder: Path, name: str, exam_date: str) -> Path:
    """A built-in case's golden report stored as one exam of patient P1 on `exam_date`."""
    report = json.loads((Path(__file__).parent / "goldens" / "mds_t5_t8" / "report.json").read_text(encoding="utf-8"))
    report["clinical"] |= {"patient": "P1", "exam_date": exam_date}
    path = folder / f"{name}.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def test_exams_given_in_the_wrong_order_are_refused_in_one_line(tmp_path, capsys):
    earlier, later = _stored_exam(tmp_path, "first", "2026-12-01"), _stored_exam(tmp_path, "second", "2026-06-01")
    assert main(["compare", str(earlier), str(later)]) != 0
    error = capsys.readouterr().err.strip()
    # each exam named by its file: both reports hold the case mds_t5_t8, which named them before
    assert error == f"error: {earlier}: (EARLIER) is dated 2026-12-01, after {later} (LATER, 2026-06-01); give the earlier exam first"


def test_a_stored_reports_exam_date_is_checked_like_clinical_json(tmp_path, capsys):
    earlier, later = _stored_exam(tmp_path, "first", "not a date"), _stored_exam(tmp_path, "second", "2026-06-01")
    assert main(["compare", str(earlier), str(later)]) != 0
    assert capsys.readouterr().err.strip() == f"error: {earlier}: clinical: 'exam_date' must be a date written YYYY-MM-DD, not 'not a date'"


def test_a_stored_report_holding_nan_is_refused_naming_the_file(tmp_path, capsys):
    """Python's parser takes NaN, which JSON does not define: compare printed it as a ratio then ("→ nan")."""
    earlier, later = _stored_exam(tmp_path, "first", "2026-06-01"), _stored_exam(tmp_path, "second", "2026-12-01")
    later.write_text(later.read_text(encoding="utf-8").replace('"value": 0.3', '"value": NaN', 1), encoding="utf-8")
    assert "NaN" in later.read_text(encoding="utf-8")
    assert main(["compare", str(earlier), str(later)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {later}: is not valid JSON for a case: NaN is not a JSON number (a value not measured is null)"


def test_an_unchanged_volume_is_dated_since_the_earlier_exam(tmp_path, capsys):
    earlier, later = _stored_exam(tmp_path, "first", "2026-06-01"), _stored_exam(tmp_path, "second", "2026-12-01")
    assert main(["compare", str(earlier), str(later), "--json", str(tmp_path / "c.json")]) == 0
    summary = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))["summary"]
    assert summary.startswith("mass volume unchanged within its interval (0 %, 95 % CI -40 to +67 %) since 2026-06-01, ")
