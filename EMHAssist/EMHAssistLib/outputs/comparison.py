"""A comparison of two exams (followup.py) as JSON (`emhassist.comparison/1`, its schema generated
from the dataclasses like the report's), as text, and as one self-contained HTML page with the two
exams' key images side by side (the report page's style, policy and escaping)."""

import json
from collections.abc import Sequence
from pathlib import Path

from .. import number_format as numbers
from ..errors import InputError
from ..followup import Comparison, Estimate
from ..inputs.jsonfile import read_json_file
from ..report_codec import plain_value
from ..report_model import Report
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
        "Level   mass then/now   compressed then/now   MSCC then/now   Bilsky then/now",
    ]
    for level in comparison.levels:
        lines.append(
            f"  {level.level:<5} {_yes(level.mass_then):>4} / {_yes(level.mass_now):<4}     {_yes(level.compressed_then):>4} / {_yes(level.compressed_now):<4}"
            f"        {_mscc(level.mscc_then):>5} / {_mscc(level.mscc_now):<5}   {level.bilsky_then or '–':>3} / {level.bilsky_now or '–'}"
        )
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


def write_html(comparison: Comparison, columns: tuple[Sequence[KeyImage], Sequence[KeyImage]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_page(comparison, columns), encoding="utf-8", errors="replace")


def html_page(comparison: Comparison, columns: tuple[Sequence[KeyImage], Sequence[KeyImage]]) -> str:
    """One self-contained page: the summary, the earlier and the later exam's key images side by side
    (row by row: the same view at the same level), the levels and the ratios then and now."""
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
        rows=[(figure(earlier), figure(later)) for earlier, later in zip(*columns)],
        overview=[
            ("Mass volume (95 % partial-volume bounds)", _volume(then.mass_volume_ml), _volume(now.mass_volume_ml)),
            ("Mass volume change", "", _change(comparison.volume_change)),
            ("Mass levels", _names(then.mass_levels), _names(now.mass_levels)),
            ("Compressed levels", _names(then.compressed_levels), _names(now.compressed_levels)),
        ],
        levels=[
            (level.level, f"{_yes(level.mass_then)} / {_yes(level.mass_now)}", f"{_yes(level.compressed_then)} / {_yes(level.compressed_now)}",
             f"{_mscc(level.mscc_then)} / {_mscc(level.mscc_now)}", f"{level.bilsky_then or '–'} / {level.bilsky_now or '–'}")
            for level in comparison.levels
        ],
        ratios=[(key.text, ratio_text(change.then), ratio_text(change.now)) for key, change in comparison.ratios.items()],
    )


# Two columns of figures, the earlier exam on the left.
COMPARISON_STYLE = """
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: .8rem; margin-bottom: .8rem; break-inside: avoid; }
.pair figure img { height: 20rem; }
"""


def shown_level(comparison: Comparison) -> str | None:
    """The level both exams' key images show: the first level compressed in either exam, else the
    first level the mass reaches in either, else none (no images)."""
    for attribute in ("compressed_then", "compressed_now", "mass_then", "mass_now"):
        level = next((change.level for change in comparison.levels if getattr(change, attribute)), None)
        if level is not None:
            return level
    return None
