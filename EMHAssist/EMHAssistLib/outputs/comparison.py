"""A comparison of two exams (followup.py) as JSON (`emhassist.comparison/1`, its schema generated
from the dataclasses like the report's), as text, as a CSV of its per-level table, and as one
self-contained HTML page with the two exams' key images side by side (the report page's style,
policy and escaping)."""

import csv
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from .. import number_format as numbers
from ..errors import InputError
from ..followup import Comparison, Estimate, LevelChange
from ..inputs.jsonfile import read_json_file
from ..report_codec import plain_value
from ..report_model import Report
from ..spine.bilsky import GRADES
from .report import from_json, ratio_text
from .report_html import STYLE, KeyImage, content_policy, figure, page_margins, template
from .report_schema import SCHEMA_DIR, model_schema

COMPARISON_SCHEMA_FILE = SCHEMA_DIR / "emhassist.comparison-1.schema.json"


def comparison_schema() -> dict:
    return model_schema(Comparison, COMPARISON_SCHEMA_FILE.name, "EMHAssist comparison of two exams (emhassist.comparison/1)")


def to_json(comparison: Comparison) -> dict:
    return plain_value(comparison)


def write_json(comparison: Comparison, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(comparison), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def stored_report(path: Path) -> Report:
    """A report `analyze --json` (or the panel) wrote earlier, read strictly (inputs/jsonfile.py) and
    checked against the model; one InputError line for a missing file or a field the model cannot hold."""
    if not path.is_file():
        raise InputError(str(path), "is not a report file: give a case folder or a report JSON that `emhassist analyze --json` wrote")
    return from_json(read_json_file(path, finite=True), str(path))


def summary_text(comparison: Comparison) -> str:
    then, now = comparison.earlier, comparison.later
    lines = [
        f"EMHAssist — patient {comparison.patient}: {_exam(then)} against {_exam(now)}",
        comparison.caveat,
        "",
        f"Summary: {comparison.summary}",
        "",
        f"Levels matched by name: {', '.join(comparison.matched_levels)}",
    ]
    if comparison.only_earlier or comparison.only_later:
        lines.append(f"  only earlier: {', '.join(comparison.only_earlier) or 'none'}; only later: {', '.join(comparison.only_later) or 'none'}")
    lines += [
        f"Mass volume (grown mass, 95 % partial-volume bounds): then {_volume(then.mass_volume_ml)}, now {_volume(now.mass_volume_ml)}",
        f"  change {_change(comparison.volume_change)}",
        f"Mass levels: then {_names(then.mass_levels)}, now {_names(now.mass_levels)}",
        f"Compressed levels: then {_names(then.compressed_levels)}, now {_names(now.compressed_levels)}",
        "",
    ]
    lines += _aligned([LEVEL_COLUMNS, *level_rows(comparison)])
    lines += ["", "Signal-intensity ratios, then → now (95 % CI):"]
    lines += [f"  {key.text:<22} {ratio_text(change.then)} → {ratio_text(change.now)}" for key, change in comparison.ratios.items()]
    return "\n".join(lines) + "\n"


def _exam(exam) -> str:
    return f"{exam.case} ({exam.date})" if exam.date else exam.case


def _volume(volume: Estimate | None) -> str:
    if volume is None:
        return "no mass"
    low, high = volume.ci95
    return f"{volume.value:.1f} mL ({low:.1f}–{high:.1f})"


def _change(change: Estimate | None) -> str:
    return numbers.signed_percent_interval(change.value, *change.ci95) if change else "not measured"


def _names(levels: tuple[str, ...]) -> str:
    return ", ".join(levels) or "none"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _mscc(value: float | None) -> str:
    return "–" if value is None else numbers.percent(value)


def _aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows as text columns, each as wide as its widest cell."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def _grade(grade: str | None) -> str:
    return grade or "–"


# The per-level table's columns as the HTML page, the panel and the browser viewer show them.
LEVEL_COLUMNS = ("Level", "Mass then / now", "Compressed then / now", "MSCC then / now", "Bilsky then / now")


def level_rows(comparison: Comparison) -> list[tuple[str, str, str, str, str]]:
    """The per-level table as read on a page: one row per level with mass or compression in either exam."""
    return [
        (
            level.level,
            f"{_yes(level.mass_then)} / {_yes(level.mass_now)}",
            f"{_yes(level.compressed_then)} / {_yes(level.compressed_now)}",
            f"{_mscc(level.mscc_then)} / {_mscc(level.mscc_now)}",
            f"{_grade(level.bilsky_then)} / {_grade(level.bilsky_now)}",
        )
        for level in comparison.levels
    ]


# The CSV's columns: LevelChange's fields, so a spreadsheet reads the JSON's per-level values.
CSV_COLUMNS = tuple(field.name for field in dataclasses.fields(LevelChange))


def write_csv(comparison: Comparison, path: Path) -> None:
    """The per-level table, one row per level with mass or compression in either exam: booleans as
    true/false, MSCC in percent, an empty cell where an exam has no value."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(CSV_COLUMNS)
        for level in comparison.levels:
            writer.writerow([_csv_cell(getattr(level, column)) for column in CSV_COLUMNS])


def _csv_cell(value: str | bool | float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_html(comparison: Comparison, columns: tuple[Sequence[KeyImage], Sequence[KeyImage]], path: Path, no_images: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_page(comparison, columns, no_images), encoding="utf-8", errors="replace")


def html_page(comparison: Comparison, columns: tuple[Sequence[KeyImage], Sequence[KeyImage]], no_images: str = "") -> str:
    """One self-contained page: the summary, the earlier and the later exam's key images side by side
    (row by row: the same view at the same level), the levels and the ratios then and now. Without
    images, `no_images` says why (else the page says neither exam has a finding to show)."""
    from markupsafe import Markup  # with Jinja2, imported when a page is written, as report_html does

    title = f"EMHAssist comparison — patient {comparison.patient}"
    style = STYLE + page_margins(title, comparison.caveat) + COMPARISON_STYLE
    then, now = comparison.earlier, comparison.later
    return template("comparison.html.j2").render(
        policy=content_policy(style),
        style=Markup(style),  # constants and hex escapes only, as the report's page
        title=title,
        schema=comparison.schema,
        caveat=comparison.caveat,
        summary=comparison.summary,
        exams=(_exam(then), _exam(now)),
        shown=_shown_heading(comparison),
        no_images=no_images or "No images: neither exam has a mass or a compressed level.",
        rows=[(figure(earlier), figure(later)) for earlier, later in zip(*columns)],
        overview=[
            ("Mass volume (95 % partial-volume bounds)", _volume(then.mass_volume_ml), _volume(now.mass_volume_ml)),
            ("Mass volume change", "", _change(comparison.volume_change)),
            ("Mass levels", _names(then.mass_levels), _names(now.mass_levels)),
            ("Compressed levels", _names(then.compressed_levels), _names(now.compressed_levels)),
        ],
        level_columns=LEVEL_COLUMNS,
        levels=level_rows(comparison),
        ratios=[(key.text, ratio_text(change.then), ratio_text(change.now)) for key, change in comparison.ratios.items()],
    )


# Two columns of figures, the earlier exam on the left.
COMPARISON_STYLE = """
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: .8rem; margin-bottom: .8rem; break-inside: avoid; }
.pair figure img { height: 20rem; }
"""


def shown_level(comparison: Comparison) -> str | None:
    """The level both exams' key images show: the worst compressed level of either exam (the most
    severe Bilsky grade then or now, then the larger MSCC, then the superior level), else the first
    level the mass reaches in either, else none (no images)."""
    compressed = [change for change in comparison.levels if change.compressed_then or change.compressed_now]
    if compressed:
        return max(compressed, key=_severity).level  # max keeps the first (superior) of equals
    return next((change.level for change in comparison.levels if change.mass_then or change.mass_now), None)


def _shown_heading(comparison: Comparison) -> str:
    """Which level the key images show and why, for the images' heading ("" without images)."""
    level = shown_level(comparison)
    if level is None:
        return ""
    compressed = any(change.compressed_then or change.compressed_now for change in comparison.levels)
    return f"{level}, the most compressed level" if compressed else f"{level}, the first level the mass reaches"


def _severity(change: LevelChange) -> tuple[int, float]:
    """How badly a level is compressed in the worse of the two exams: Bilsky grade, then MSCC."""
    grades = [GRADES.index(grade) for grade in (change.bilsky_then, change.bilsky_now) if grade in GRADES]
    msccs = [value for value in (change.mscc_then, change.mscc_now) if value is not None]
    return max(grades, default=-1), max(msccs, default=float("-inf"))
