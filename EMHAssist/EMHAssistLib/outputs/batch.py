"""Batch analysis for research: every case folder inside one folder, one CSV row per case.

A case that fails gets a row with its one-line error and the batch goes on. Ratio columns are the
ratios measured in at least one case, in the report's own order; a case without one leaves it
empty. Numbers are written unrounded so the CSV holds what the JSON report holds. `mass_from` and
`mass_to` are the mass's first and last level; `mass_spans` its spans joined by SPAN_SEPARATOR
("T5–T9; S1–S3" for a mass at levels apart, "T5–T8" for one span), for a program to split.
"""

import csv
from collections.abc import Callable
from pathlib import Path

import slicer

from ..errors import InputError
from ..spine.compression import level_span, summary_line

TOP_DIAGNOSES = 3
WARNING_SEPARATOR = " | "
SPAN_SEPARATOR = "; "
FIXED_COLUMNS = [
    "case", "error", "sequences", "levels", "mass_from", "mass_to", "mass_spans", "compression_from", "compression_to",
    "compression_shown_by", "max_mscc_percent", "max_mscc_at", "area_ratio_percent", "rl_ratio_percent",
]


def analyze_cases(folder: Path, csv_path: Path, progress: Callable[[str], None] = print) -> bool:
    """Analyse each case folder in `folder` into `csv_path`; True when every case was analysed."""
    from ..inputs.scene import new_headless_scene

    cases = case_folders(folder)
    scene = new_headless_scene()
    rows = []
    for case in cases:
        row = case_row(case, scene)
        progress(f"{case.name}: " + (f"error: {row['error']}" if row["error"] else "ok"))
        rows.append(row)
    write_rows(rows, csv_path)
    return not any(row["error"] for row in rows)


def case_folders(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise InputError(str(folder), "is not a folder of case folders")
    cases = sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith("."))
    if not cases:
        raise InputError(str(folder), "holds no case folder")
    return cases


def case_row(case: Path, scene: slicer.vtkMRMLScene) -> dict:
    """The case's row; the scene is emptied afterwards, so a long batch does not keep every case's volumes."""
    from ..analysis import analyze
    from ..inputs.casefolder import load_case_folder

    try:
        report = analyze(load_case_folder(case, scene))
    except InputError as error:
        return {"case": case.name, "error": str(error)}
    finally:
        scene.Clear(False)
    return report_row(report) | {"case": case.name}


def report_row(report: dict) -> dict:
    row = {"case": report["case"], "error": "", "sequences": " ".join(report["sequences"])}
    row |= _levels_cells(report.get("levels"))
    for key, ratio in report["ratios"].items():
        row |= _ratio_cells(key, ratio)
    for region, value in report["enhancement"].items():
        row |= _ratio_cells(f"enhancement {region}", value)
    for place, entry in enumerate((report.get("differential") or [])[:TOP_DIAGNOSES], start=1):
        row[f"diagnosis_{place}"] = entry["name"]
        row[f"probability_{place}"] = entry["probability"]
    row["warnings"] = WARNING_SEPARATOR.join(report["warnings"])
    return row


def write_rows(rows: list[dict], path: Path) -> None:
    measured = [column for row in rows for column in row if column not in FIXED_COLUMNS and not _is_tail(column)]
    diagnoses = [name for place in range(1, TOP_DIAGNOSES + 1) for name in (f"diagnosis_{place}", f"probability_{place}")]
    columns = FIXED_COLUMNS + list(dict.fromkeys(measured)) + diagnoses + ["warnings"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


def _is_tail(column: str) -> bool:
    return column == "warnings" or column.startswith(("diagnosis_", "probability_"))


def _levels_cells(levels: dict | None) -> dict:
    if levels is None:
        return {}
    cells = {"levels": summary_line(levels) or ""}
    if levels["mass"]:
        mass = levels["mass"]
        cells |= {"mass_from": mass["from"], "mass_to": mass["to"], "mass_spans": level_span(mass, SPAN_SEPARATOR)}
    compression = levels["compression"]
    if compression:
        cells |= {
            "compression_from": compression["from"] or "",
            "compression_to": compression["to"] or "",
            "compression_shown_by": WARNING_SEPARATOR.join(compression.get("shown_by") or []),
            "max_mscc_at": compression["at"] or "",
        }
        cells |= {field: _blank_if_none(compression.get(field)) for field in ("max_mscc_percent", "area_ratio_percent", "rl_ratio_percent")}
    return cells


def _ratio_cells(name: str, ratio: dict) -> dict:
    low, high = ratio["ci95"]
    return {name: ratio["value"], f"{name} ci95 low": low, f"{name} ci95 high": high}


def _blank_if_none(value: float | None) -> float | str:
    return "" if value is None else value
