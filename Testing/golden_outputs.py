"""Every output of every built-in case, as today's engine writes it (issue 16, point 6).

`outputs_of(case, folder)` runs a case the way `emhassist demo` does (built, saved as a case folder,
read back, analysed) and returns each output as the bytes kept under goldens/<case>/:

    report.json      the JSON report (write_json)
    summary.txt      the text summary (summary_text)
    batch.csv        the case's batch row (report_row, write_rows)
    table.csv        the results table node (write_results_table), its columns as stored in the scene
    report.html      the HTML page with its key images, each image's data URI replaced by the
                     SHA-256 of its PNG: the page stays readable in a diff and still checks every pixel

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
from pathlib import Path

import slicer
from EMHAssistLib.analysis import run_analysis
from EMHAssistLib.inputs.casefolder import load_case_folder
from EMHAssistLib.outputs.case_folder import save_case_folder
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.outputs.batch import report_row, write_rows
from EMHAssistLib.outputs.key_images import key_images
from EMHAssistLib.outputs.report import from_json, summary_text, write_json
from EMHAssistLib.outputs.report_html import html_page
from EMHAssistLib.outputs.tables import write_results_table
from EMHAssistLib.report_codec import model_value
from EMHAssistLib.report_model import CordCompression, Levels, Report
from EMHAssistLib.teaching.cases import build_study, case_names, study_into_scene

GOLDENS = Path(__file__).resolve().parent / "goldens"
OUTPUT_NAMES = ("report.json", "summary.txt", "batch.csv", "table.csv", "report.html")
_DATA_URI = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")

__all__ = ["GOLDENS", "OUTPUT_NAMES", "case_names", "golden_report", "levels_of", "outputs_of"]
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
    measures not given null, and a mass extent given without spans one span."""
    section = _NO_LEVELS | fields
    if isinstance(section["compression"], dict):
        section["compression"] = {f.name if f.name != "from_" else "from": None for f in dataclasses.fields(CordCompression)} | {"shown_by": []} | section["compression"]
    if isinstance(section["mass"], dict):
        section["mass"] = {"spans": [{"from": section["mass"]["from"], "to": section["mass"]["to"]}]} | section["mass"]
    return model_value(section, Levels)


def outputs_of(case: str, folder: Path) -> dict[str, bytes]:
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
    }
    return {name: text.replace(str(folder), "<out>").encode("utf-8") for name, text in texts.items()}


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
