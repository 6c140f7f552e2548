"""Every output of every built-in case, as today's engine writes it (issue 16, point 6).

`outputs_of(case, folder)` runs a case the way `emhassist demo` does (built, saved as a case folder,
read back, analysed) and returns each output as the bytes kept under goldens/<case>/:

    report.json      the JSON report (write_json)
    summary.txt      the text summary (summary_text)
    batch.csv        the case's batch row (report_row, write_rows)
    table.csv        the results table node (write_results_table), its columns as stored in the scene
    report.html      the HTML page with its key images, each image's data URI replaced by the
                     SHA-256 of its PNG: the page stays readable in a diff and still checks every pixel
    report.sr.txt    the DICOM Structured Report (`analyze --sr`) of the report, citing the case's
                     sequences written as DICOM series (`emhassist demo --dicom`'s writer, whose UIDs
                     are derived from the case, so they stay), every element listed (`_sr_text`:
                     what is written afresh for each SR is shown by what it is, and the 1,100 source
                     images a case's measurements cite each are kept as their count and digest)

The case folder's path, which the reports name, is written as `<out>` so the files do not depend on
where they were made. tools/update_goldens.py writes them; test_goldens.py compares them byte for byte.
"""

import base64
import csv
import dataclasses
import hashlib
import io
import json
import re
import shutil
from pathlib import Path

import slicer
from EMHAssistLib.analysis import run_analysis
from EMHAssistLib.inputs.casefolder import load_case_folder
from EMHAssistLib.outputs.case_folder import save_case_folder
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.outputs.batch import report_row, write_rows
from EMHAssistLib.outputs.dicom_series import case_folder_as_dicom
from EMHAssistLib.outputs.key_images import key_images
from EMHAssistLib.outputs.report import from_json, summary_text, write_json
from EMHAssistLib.outputs.report_html import html_page
from EMHAssistLib.outputs.structured_report import dicom_evidence, structured_report
from EMHAssistLib.outputs.tables import write_results_table
from EMHAssistLib.report_codec import model_value
from EMHAssistLib.report_model import CordCompression, Levels, Report, coded_name
from EMHAssistLib.teaching.cases import build_study, case_names, study_into_scene

GOLDENS = Path(__file__).resolve().parent / "goldens"
OUTPUT_NAMES = ("report.json", "summary.txt", "batch.csv", "table.csv", "report.html", "report.sr.txt")
_DATA_URI = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")

__all__ = ["GOLDENS", "OUTPUT_NAMES", "analysed_outputs", "case_names", "golden_report", "levels_of", "outputs_of"]
_NO_LEVELS = {
    "vertebrae": [], "coordinate_system": "RAS", "not_assessed": None, "mass": None, "compression": None, "cord_profile": [],
    "cord": {"sequence": "T2", "segmentation": "given", "slices": 0}, "bilsky": None,
}


def golden_report(golden: str = "mds_t5_t8", **sections) -> Report:
    """A built-in case's stored report (its golden JSON), with `sections` (JSON values) put in
    place of its own: a complete Report for a test about a few of its sections."""
    data = json.loads((GOLDENS / golden / "report.json").read_text(encoding="utf-8"))
    return from_json(data | sections, f"{golden} report with {', '.join(sections) or 'nothing'} replaced")


def levels_of(**fields) -> Levels:
    """A levels section from `fields` (JSON values or the model's own, a test's few fields), the fields
    not given empty: no levels, mass, compression or grades; a compression given as JSON values with its
    measures not given null (and no reason for a missing normalised MSCC), and a mass extent given
    without spans one span."""
    section = _NO_LEVELS | fields
    if isinstance(section["compression"], dict):
        measures = {f.name if f.name != "from_" else "from": None for f in dataclasses.fields(CordCompression)} | {coded_name("normalised_mscc_unavailable"): None}
        section["compression"] = measures | {"shown_by": []} | section["compression"]
    if isinstance(section["mass"], dict):
        section["mass"] = {"spans": [{"from": section["mass"]["from"], "to": section["mass"]["to"]}]} | section["mass"]
    return model_value(section, Levels)


def outputs_of(case: str, folder: Path) -> dict[str, bytes]:
    return analysed_outputs(case, folder)[1]


def analysed_outputs(case: str, folder: Path) -> tuple[Report, dict[str, bytes]]:
    """The case's report as analysed, and its outputs as the goldens hold them (written under `folder`)."""
    case_folder = folder / "cases" / case
    save_case_folder(study_into_scene(build_study(case), new_headless_scene()), case_folder)
    study = load_case_folder(case_folder, new_headless_scene())
    analysis = run_analysis(study)
    write_json(analysis.report, folder / "report.json")
    write_rows([report_row(analysis.report)], folder / "batch.csv")
    table = study.sequences[next(iter(study.sequences))].GetScene().AddNewNodeByClass("vtkMRMLTableNode", "results")
    write_results_table(analysis.report, table)
    page = _DATA_URI.sub(_png_digest, html_page(analysis.report, key_images(study, analysis)))
    texts = {
        "report.json": (folder / "report.json").read_text(encoding="utf-8"),
        "summary.txt": summary_text(analysis.report),
        "batch.csv": (folder / "batch.csv").read_text(encoding="utf-8"),
        "table.csv": _table_csv(table),
        "report.html": page,
        "report.sr.txt": _sr_text(structured_report(analysis.report, _dicom_evidence(case_folder, folder / "dicom" / case, list(study.sequences)))),
    }
    return analysis.report, {name: text.replace(str(folder), "<out>").encode("utf-8") for name, text in texts.items()}


def _dicom_evidence(case_folder: Path, dicom_folder: Path, roles: list[str]):
    """The headers an SR cites: the case's sequences written as DICOM series, as `emhassist demo --dicom` writes them, read back."""
    shutil.copytree(case_folder, dicom_folder)
    case_folder_as_dicom(dicom_folder, roles, patient_id=f"EMH-{case_folder.name}")
    return dicom_evidence(load_case_folder(dicom_folder, new_headless_scene()))


# Written afresh for every SR, so shown by what they are: the UIDs highdicom makes for the SR itself
# (its series and instance, the device observer; under highdicom's root, numbered in order of first
# appearance so that the places one UID is repeated still match), the time it was written, and
# highdicom's version. Every other element is written out as it is.
_FRESH_UID_ROOT = "1.2.826.0.1.3680043.10.511."
_WRITTEN_AT = frozenset({"InstanceCreationDate", "InstanceCreationTime", "ContentDate", "ContentTime", "ContributionDateTime"})
_LIBRARY_VERSION = frozenset({"ImplementationVersionName", "SoftwareVersions"})
# The file meta group's length counts the SR's own instance UID, whose length varies: highdicom's UIDs
# are the root and a random number, 64 characters in 90 % of 20,000 drawn, 62 or fewer in 1 % (the
# length padded to even), so about 1 SR in 90 read 224 for 226 (test_goldens failed on an SR three times
# on 2026-12-07; the one diff kept, hematoma_t6_t9's, shows this line and nothing else).
_FRESH_LENGTH = frozenset({"FileMetaInformationGroupLength"})
# An instance cited by each measurement, 1,200 a case: a list of them is kept as its count and digest.
_CITED_INSTANCE = frozenset({"ReferencedSOPClassUID", "ReferencedSOPInstanceUID"})
_CITED = re.compile(r"^(\s*ReferencedSOPSequence: )\d+ instances?, sha256 [0-9a-f]+$")


def _sr_text(sr) -> str:
    fresh: dict[str, str] = {}
    lines: list[str] = []
    _sr_lines(sr.file_meta, "", fresh, lines)
    _sr_lines(sr, "", fresh, lines)
    return "\n".join(lines) + "\n"


def _sr_lines(dataset, indent: str, fresh: dict[str, str], lines: list[str]) -> None:
    for element in dataset:
        name = element.keyword or str(element.tag)
        if element.VR == "SQ":
            lines += _sequence_lines(element.value, f"{indent}{name}", indent, fresh)
        elif element.keyword in _WRITTEN_AT:
            lines.append(f"{indent}{name}: <when written>")
        elif element.keyword in _LIBRARY_VERSION:
            lines.append(f"{indent}{name}: <highdicom's version>")
        elif element.keyword in _FRESH_LENGTH:
            lines.append(f"{indent}{name}: <as long as the SR's own UIDs>")
        else:
            value = str(element.value)
            if value.startswith(_FRESH_UID_ROOT):
                value = fresh.setdefault(value, f"<SR's own UID {len(fresh) + 1}>")
            lines.append(f"{indent}{name}: {value}")


def _sequence_lines(items, head: str, indent: str, fresh: dict[str, str]) -> list[str]:
    if items and all(set(item.dir()) == _CITED_INSTANCE for item in items):
        cited = "\n".join(f"{item.ReferencedSOPClassUID} {item.ReferencedSOPInstanceUID}" for item in items)
        return [f"{head}: {len(items)} instances, sha256 {hashlib.sha256(cited.encode()).hexdigest()}"]
    lines = [f"{head}: {len(items)} item(s)"]
    for shape, cited in _alike_runs(items, indent + "    ", fresh):
        if len(cited) == 1:
            lines.append(f"{indent}  -")
        else:  # a measurement's source images, one content item an instance: kept as one, with the count and digest
            lines.append(f"{indent}  - {len(cited)} items alike but for the instance each cites, sha256 {hashlib.sha256(chr(10).join(cited).encode()).hexdigest()}")
        lines += shape
    return lines


def _alike_runs(items, indent: str, fresh: dict[str, str]) -> list[tuple[list[str], list[str]]]:
    """Consecutive items alike but for the instances they cite, as (the lines of the first, or with the
    instance left out where there are several, and each one's cited instances)."""
    runs: list[tuple[list[str], list[str], list[str]]] = []
    for item in items:
        lines: list[str] = []
        _sr_lines(item, indent, fresh, lines)
        cited = "".join(line for line in lines if _CITED.match(line))
        shape = [_CITED.sub(r"\1<the instance it cites>", line) for line in lines]
        if runs and cited and runs[-1][1] == shape:
            runs[-1][2].append(cited)
        else:
            runs.append((lines, shape, [cited]))
    return [(lines if len(cited) == 1 else shape, cited) for lines, shape, cited in runs]


def _png_digest(match: re.Match) -> str:
    return "data:image/png;sha256," + hashlib.sha256(base64.b64decode(match.group(1))).hexdigest()


def _table_csv(table: slicer.vtkMRMLTableNode) -> str:
    content = table.GetTable()
    columns = [content.GetColumn(index) for index in range(content.GetNumberOfColumns())]
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([column.GetName() for column in columns])
    for row in range(content.GetNumberOfRows()):
        writer.writerow([repr(column.GetValue(row)) if isinstance(column.GetValue(row), float) else column.GetValue(row) for column in columns])
    return stream.getvalue()
