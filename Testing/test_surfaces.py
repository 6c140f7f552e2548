"""The Bilsky grades on every surface agree with the JSON report (issue 17 point 6), for every built-in case.

The JSON's typed levels.bilsky section is the one source: the text summary names the most severe
grade, the HTML page's per-level table and the batch CSV's columns list each level the mass reaches
the canal at with its grade (and the table its measured quantities), the DICOM SR holds a finding per
such level, and the overlays write the grade beside each compressed level's label. The text, HTML
and CSV are read from the goldens, which test_goldens.py checks are what the engine writes today; the
SR and the overlays are made here from the golden report.
"""

import csv
import io
import json
from html.parser import HTMLParser

import highdicom as hd
import pydicom
import pytest
from golden_outputs import GOLDENS, case_names
from pydicom.uid import MRImageStorage, generate_uid

from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.inputs.study import Study
from EMHAssistLib.outputs.overlays import compressed_levels, draw_overlays
from EMHAssistLib.outputs.report import from_json
from EMHAssistLib.outputs.structured_report import structured_report
from EMHAssistLib.outputs.wording import bilsky_explanation_text
from EMHAssistLib.report_model import Report


def golden(case: str) -> Report:
    return from_json(json.loads((GOLDENS / case / "report.json").read_text(encoding="utf-8")), f"{case} report.json")


def in_canal(report: Report) -> list[tuple[str, str]]:
    """(level, grade) of each level the JSON grades above 0, superior first (the JSON lists them inferior first)."""
    return [(entry.level, entry.grade) for entry in sorted(report.levels.bilsky.levels, key=lambda entry: entry.code) if entry.grade != "0"]


class BilskyTable(HTMLParser):
    """The cells of the page's Bilsky table: the first table after its heading."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._after_heading = self._in_table = self._in_cell = False
        self._heading = ""
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "h3":
            self._heading = ""
        if tag == "table" and self._after_heading and not self.rows:
            self._in_table = True
        if self._in_table and tag == "tr":
            self.rows.append([])
        if self._in_table and tag in ("td", "th"):
            self._in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        if tag == "h3":
            self._after_heading = self._heading.startswith("Bilsky grade per level")
        if tag == "table":
            self._in_table = False
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        self._heading += data
        if self._in_cell:
            self.rows[-1][-1] += data


def sr_evidence(report: Report) -> dict[str, list[pydicom.Dataset]]:
    """One MR instance header per sequence, enough for highdicom to cite it."""
    study = generate_uid()
    evidence = {}
    for role in report.sequences:
        dataset = pydicom.Dataset()
        for keyword in ("PatientName", "PatientBirthDate", "PatientSex", "AccessionNumber", "StudyID", "StudyDate", "StudyTime", "ReferringPhysicianName"):
            setattr(dataset, keyword, "")
        dataset.PatientID, dataset.StudyInstanceUID, dataset.SeriesInstanceUID = "surfaces", study, generate_uid()
        dataset.SOPClassUID, dataset.SOPInstanceUID, dataset.Modality = MRImageStorage, generate_uid(), "MR"
        evidence[role] = [dataset]
    return evidence


@pytest.mark.parametrize("case", case_names())
def test_every_surface_states_the_bilsky_grades_of_the_json(case):
    report = golden(case)
    graded, worst = in_canal(report), report.levels.bilsky.most_severe
    assert graded and worst is not None, "every built-in case has a mass in the canal"

    summary = (GOLDENS / case / "summary.txt").read_text(encoding="utf-8")
    levels_line = next(line for line in summary.splitlines() if line.startswith("Levels: "))
    assert f"Bilsky {worst.grade} at {worst.level}" in levels_line

    rows = BilskyTable((GOLDENS / case / "report.html").read_text(encoding="utf-8")).rows
    assert rows[0][:2] == ["Level", "Bilsky"]
    assert [(row[0], row[1]) for row in rows[1:]] == graded
    by_level = {entry.level: entry for entry in report.levels.bilsky.levels}
    for row in rows[1:]:
        entry = by_level[row[0]]
        assert row[5] == f"{100 * entry.csf_fraction:.0f}" and row[-1] == bilsky_explanation_text(entry)
        assert row[6] == ("—" if entry.mcc_percent is None else f"{entry.mcc_percent:.0f}")

    (row,) = csv.DictReader(io.StringIO((GOLDENS / case / "batch.csv").read_text(encoding="utf-8")))
    assert (row["bilsky_grade"], row["bilsky_at"]) == (worst.grade, worst.level)
    assert row["bilsky_levels"] == "; ".join(f"{level} {grade}" for level, grade in graded)

    content = hd.sr.MeasurementReport.from_sequence([structured_report(report, sr_evidence(report))])
    findings = [group for group in content.get_image_measurement_groups() if group.tracking_identifier.startswith("bilsky ")]
    assert [group.tracking_identifier for group in findings] == [f"bilsky {level}" for level, _ in graded]
    for group, (level, grade) in zip(findings, graded):
        assert [site.value.meaning for site in group.finding_sites] == [f"{level} vertebra"]
        (evaluation,) = group.get_qualitative_evaluations()
        assert (evaluation.value.value, evaluation.value.meaning) == (f"bilsky-{grade}", f"Bilsky {grade}")

    overlays = draw_overlays(new_headless_scene(), report, Study(name=case))
    labels = {overlays.levels.GetNthControlPointLabel(i).split(" ")[0]: overlays.levels.GetNthControlPointLabel(i) for i in range(overlays.levels.GetNumberOfControlPoints())}
    compressed = compressed_levels(report.levels)
    assert compressed, "every built-in case compresses the cord"
    for level, label in labels.items():
        grade = dict(graded).get(level)
        if level in compressed and grade is not None:
            assert label.endswith(f"\nBilsky {grade}"), label  # on its own line under the MSCC (the compressed label wraps)
        else:
            assert "Bilsky" not in label, label
