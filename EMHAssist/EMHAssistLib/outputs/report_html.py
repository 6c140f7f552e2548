"""The report as one self-contained HTML page: key images, ratios, levels, differential, caveat.

Everything the page shows is embedded (images as data URIs, the style sheet inline), so the file
can be mailed, archived or printed to PDF as it is; it loads nothing from anywhere. The images come
from the caller (key_images.py renders them on the command line; the Slicer panel has its own views).
"""

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from itertools import groupby
from pathlib import Path

from ..differential import knowledge, percent_text
from ..spine.compression import level_span, not_assessed_phrase, stated_measures, summary_line
from .report import ratio_text

DIFFERENTIAL_SHOWN = 3

STYLE = """
:root { --ink: #1d2329; --muted: #5b6670; --line: #d5dbe1; --accent: #1f5f99; --warn: #8a4b00; }
* { box-sizing: border-box; }
body { font: 14px/1.45 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink);
       max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.15rem; color: var(--accent); border-bottom: 2px solid var(--accent);
     padding-bottom: .15rem; margin: 1.6rem 0 .6rem; }
h3 { font-size: 1rem; margin: .2rem 0 .3rem; }
.meta { color: var(--muted); margin: 0 0 .8rem; }
.caveat { border: 2px solid var(--warn); background: #fff4e5; color: #4a2a00; padding: .6rem .8rem;
          border-radius: 4px; font-weight: 600; }
.headline { font-size: 1.1rem; margin: .8rem 0; }
.figures { display: flex; flex-wrap: wrap; gap: .8rem; align-items: flex-start; }
figure { margin: 0; display: table; break-inside: avoid; }
figure img { display: block; height: 14.5rem; width: auto; max-width: 100%; object-fit: contain;
             border: 1px solid var(--line); background: #000; }
.figures figure:nth-child(-n+2) img { height: 24rem; }  /* the main sequence's sagittal and axial views */
figcaption { display: table-caption; caption-side: bottom; font-size: .8rem; color: var(--muted); margin-top: .2rem; }
table { border-collapse: collapse; min-width: 50%; margin: .3rem 0 .6rem; break-inside: avoid; }
th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f1f4f7; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.grouped { break-inside: auto; }
tr, li, table.grouped > tbody { break-inside: avoid; }
.columns { display: flex; gap: 1.5rem; flex-wrap: wrap; align-items: flex-start; }
.columns > table { flex: 0 1 auto; min-width: 0; }
.columns + .small { break-before: avoid; }  /* the note stays with the tables it explains */
.diagnosis { border: 1px solid var(--line); border-radius: 4px; padding: .5rem .8rem; margin: .6rem 0;
             -webkit-box-decoration-break: clone; box-decoration-break: clone; }
.diagnosis-head { break-inside: avoid; break-after: avoid; }  /* name, bar and summary stay with the first finding */
.prior { break-before: avoid; }  /* and the prior with the last one */
.bar { height: .55rem; background: #e6ebf0; border-radius: 3px; margin: .2rem 0 .4rem; }
.bar > span { display: block; height: 100%; background: var(--accent); border-radius: 3px; }
.diagnosis ul { margin: .2rem 0 .2rem 1.1rem; padding: 0; }
.for { color: #1e6b34; font-weight: 600; }
.against { color: #9b1c1c; font-weight: 600; }
.refs, .small { font-size: .8rem; color: var(--muted); }
ol.references li { margin-bottom: .3rem; }
footer { margin-top: 2rem; border-top: 1px solid var(--line); padding-top: .6rem; }
h2, h3 { break-after: avoid; }
@page { size: A4; margin: 13mm 12mm 17mm;
  @top-left { font: 7.5pt "DejaVu Sans", Arial, sans-serif; color: #5b6670; vertical-align: middle; }
  @bottom-left { width: 80%; padding-top: 3mm; font: 7pt/1.3 "DejaVu Sans", Arial, sans-serif; color: #4a2a00; vertical-align: top; }
  @bottom-right { padding-top: 3mm; font: 7.5pt "DejaVu Sans", Arial, sans-serif; color: #5b6670; vertical-align: top;
                  content: "Page " counter(page) " of " counter(pages); }
}
@page :first { @top-left { content: none; } }  /* the first page has the title itself */
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; line-height: 1.4; }
  th, td { padding: .1rem .45rem; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { margin-top: 1.1rem; }
  figure img { height: 70mm; }
  .figures figure:nth-child(-n+2) img { height: 85mm; }
  footer { margin-top: 1rem; break-before: avoid; }
}
"""


@dataclass(frozen=True)
class KeyImage:
    """One picture of the page: Slicer's views rendered offscreen (key_images.py) or captured in Slicer."""

    title: str
    caption: str
    png: bytes


def write_html(report: dict, images: Sequence[KeyImage], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_page(report, images), encoding="utf-8")


def html_page(report: dict, images: Sequence[KeyImage]) -> str:
    title = f"EMHAssist report — case {report['case']}"
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Sequences: {escape(", ".join(report["sequences"]) or "none")} · report schema {escape(report["schema"])}</p>',
        f'<p class="caveat" id="caveat">{escape(report["caveat"])}</p>',
        _headline(report),
        _section("images", "Key images", _figures(images)),
        _section("levels", "Levels and cord compression", _levels(report.get("levels"))),
        _section("ratios", "Signal-intensity ratios (95 % confidence interval)", _ratios(report)),
        _section("differential", "Differential diagnosis", _differential(report)),
        _section("warnings", "Warnings", _list(report["warnings"]) if report["warnings"] else "<p>None.</p>"),
        _section("regions", "Regions measured", _regions(report)),
        _section("references", "References", _references(report.get("differential") or [])),
        f'<footer><p class="caveat">{escape(report["caveat"])}</p></footer>',
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}{_page_margins(title, report['caveat'])}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _page_margins(title: str, caveat: str) -> str:
    """The title and the caveat in every printed page's margins (the page number is in STYLE)."""
    return f"@page {{ @top-left {{ content: {_css_string(title)}; }} @bottom-left {{ content: {_css_string(caveat)}; }} }}\n"


def _css_string(text: str) -> str:
    """Text as a quoted CSS string that cannot end the string or the <style> element early."""
    escaped = "".join(f"\\{ord(c):x} " if c in '"\\<>\n' else c for c in text)
    return f'"{escaped}"'


def _section(ident: str, heading: str, content: str) -> str:
    return f'<section id="{ident}">\n<h2>{escape(heading)}</h2>\n{content}\n</section>'


def _headline(report: dict) -> str:
    parts = []
    levels_line = summary_line(report.get("levels"))
    if levels_line:
        parts.append(f"<strong>Levels:</strong> {escape(levels_line)}")
    ranking = report.get("differential") or []
    if ranking:
        top = ranking[0]
        parts.append(f"<strong>Leading candidate:</strong> {escape(top['name'])} ({escape(percent_text(top['probability']))})")
    return f'<p class="headline">{"<br>".join(parts)}</p>' if parts else ""


def _figures(images: Sequence[KeyImage]) -> str:
    if not images:
        return "<p>No images.</p>"
    figures = []
    for image in images:
        data = base64.b64encode(image.png).decode("ascii")
        figures.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{escape(image.title)}">'
            f"<figcaption><strong>{escape(image.title)}.</strong> {escape(image.caption)}</figcaption></figure>"
        )
    return '<div class="figures">' + "".join(figures) + "</div>"


def _levels(levels: dict | None) -> str:
    if levels is None:
        return "<p>Levels were not assessed (no level points or no cord to follow).</p>"
    compression = levels["compression"]
    rows = [
        ("Mass", level_span(levels["mass"]) if levels["mass"] else "not found"),
        ("Cord compression", level_span(compression) if compression else "none found"),
    ]
    if levels.get("not_assessed"):
        rows.append(("Not assessed", not_assessed_phrase(levels["not_assessed"])))
    if compression:
        rows += [(f"{name} at {compression['at']}", f"{percent:.0f} %") for name, percent in stated_measures(compression)]
        if compression.get("area_ratio_percent") is not None:
            rows.append((f"Area ratio at {compression['at']}", f"{compression['area_ratio_percent']:.0f} %"))
        if compression.get("normalised_mscc_percent") is not None:
            rows.append(("MSCC against healthy cords of that level", f"{compression['normalised_mscc_percent']:.0f} %"))
    rows.append(("Vertebrae identified", ", ".join(v["name"] for v in levels["vertebrae"]) or "none"))
    summary = _table(["", ""], rows, header=False)
    profile = [
        (
            entry["level"],
            entry["slices"],
            _number(entry.get("area_mm2"), 1),
            _number(entry.get("ap_mm"), 1),
            _number(entry.get("rl_mm"), 1),
            _number(entry.get("mscc_percent"), 0),
            _number(entry.get("normalised_ratio"), 2),
        )
        for entry in levels.get("cord_profile") or []
    ]
    heading = ["Level", "Slices", "Area mm²", "AP mm", "RL mm", "MSCC %", "Against healthy"]
    profile_table = _table(heading, profile, numeric_from=1) if profile else ""
    return summary + ("<h3>Cord profile</h3>" + profile_table if profile_table else "")


def _ratios(report: dict) -> str:
    """A grid of ratio (rows) by sequence (columns), each cell the value and its interval."""
    if not report["ratios"] and not report["enhancement"]:
        return "<p>No ratio could be measured.</p>"
    split = {key: key.split(" ", 1) for key in report["ratios"]}
    sequences = list(dict.fromkeys(sequence for sequence, _ in split.values()))
    names = list(dict.fromkeys(name for _, name in split.values()))
    by_cell = {(name, sequence): ratio_text(report["ratios"][key]) for key, (sequence, name) in split.items()}
    rows = [(name, *(by_cell.get((name, sequence), "—") for sequence in sequences)) for name in names]
    tables = _table(["Ratio", *sequences], rows, numeric_from=1) if rows else ""
    enhancement = [(region, ratio_text(value, percent=True)) for region, value in report["enhancement"].items()]
    if enhancement:
        tables += _table(["Enhancement", "T1C over T1"], enhancement, numeric_from=1)
    note = (
        '<p class="small">Each cell: the ratio of the two ROI means and its 95 % interval. The interval comes from '
        "the two means' standard errors treating voxels as independent, so read it as a floor on the uncertainty. "
        "Enhancement is the T1C mean over the T1 mean, minus one.</p>"
    )
    return f'<div class="columns">{tables}</div>{note}'


def _differential(report: dict) -> str:
    ranking = report.get("differential") or []
    if not ranking:
        return "<p>No differential was ranked.</p>"
    blocks = ['<p class="small">Probability after the measured findings; the prior comes from the clinical context.</p>']
    for place, entry in enumerate(ranking[:DIFFERENTIAL_SHOWN], start=1):
        blocks.append(_diagnosis(place, entry))
    rest = ranking[DIFFERENTIAL_SHOWN:]
    if rest:
        blocks.append("<p>Also considered: " + escape("; ".join(f"{e['name']} ({percent_text(e['probability'])})" for e in rest)) + ".</p>")
    next_step = (report.get("next_best") or {}).get("text")
    if next_step:
        blocks.append(f"<p><strong>Next best step:</strong> {escape(next_step)}</p>")
    not_measured = report.get("not_measured") or []
    if not_measured:
        blocks.append('<p class="small"><strong>Not measured:</strong> ' + escape("; ".join(item["name"] for item in not_measured)) + ".</p>")
    return "\n".join(blocks)


def _diagnosis(place: int, entry: dict) -> str:
    width = max(0.5, 100 * entry["probability"])
    lines = [
        '<div class="diagnosis">',
        '<div class="diagnosis-head">',
        f"<h3>{place}. {escape(entry['name'])} — {escape(percent_text(entry['probability']))}"
        f' <span class="small">(prior {escape(percent_text(entry["prior"]))})</span></h3>',
        f'<div class="bar"><span style="width:{width:.1f}%"></span></div>',
        f'<p class="small">{escape(entry["summary"])}</p>',
        "</div>",
    ]
    evidence = [
        f'<li><span class="{"for" if item["supports"] else "against"}">{"For" if item["supports"] else "Against"}:</span> '
        f"{escape(item['text'])}{_cited(item['refs'])}</li>"
        for item in entry["evidence"]
    ]
    if evidence:
        lines.append("<ul>" + "".join(evidence) + "</ul>")
    if entry["prior_factors"]:
        factors = "; ".join(f"{f['label']} ×{f['factor']:g} ({f['reason']})" for f in entry["prior_factors"])
        lines.append(f'<p class="small prior"><strong>Prior:</strong> {escape(factors)}</p>')
    lines.append("</div>")
    return "\n".join(lines)


def _cited(refs: Iterable[str]) -> str:
    references = knowledge().references
    shorts = [references[ref]["short"] for ref in refs]
    return f' <span class="refs">[{escape(", ".join(shorts))}]</span>' if shorts else ""


def _references(ranking: list[dict]) -> str:
    cited = dict.fromkeys(ref for entry in ranking for item in entry["evidence"] for ref in item["refs"])
    if not cited:
        return "<p>No reference cited.</p>"
    references = knowledge().references
    items = [f"<li><strong>{escape(references[ref]['short'])}</strong>: {escape(references[ref]['citation'])}</li>" for ref in cited]
    return '<ol class="references">' + "".join(items) + "</ol>"


def _regions(report: dict) -> str:
    rows = [
        (region, role, _number(s["mean"], 1), _number(s["median"], 1), _number(s["sd"], 1), s["n"], _number(s["volume_mm3"], 0))
        for region, by_role in report["regions"].items()
        for role, s in by_role.items()
    ]
    if not rows:
        return "<p>No region was measured.</p>"
    return _table(["Region", "Sequence", "Mean", "Median", "SD", "Voxels", "Volume mm³"], rows, numeric_from=2, grouped=True)


def _list(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


def _table(
    heading: Sequence[str], rows: Iterable[Sequence], header: bool = True, numeric_from: int | None = None, grouped: bool = False
) -> str:
    """A table; `grouped`: rows sharing their first cell form a group that a printed page does not split,
    and the table may run onto the next page between groups (its header row repeated there)."""

    def cell(tag: str, index: int, value) -> str:
        numeric = numeric_from is not None and index >= numeric_from
        attribute = ' class="num"' if numeric else ""
        return f"<{tag}{attribute}>{escape(str(value))}</{tag}>"

    def row_html(row: Sequence) -> str:
        return "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>"

    head = "<thead><tr>" + "".join(cell("th", i, h) for i, h in enumerate(heading)) + "</tr></thead>" if header else ""
    groups = [list(group) for _, group in groupby(rows, key=lambda row: row[0])] if grouped else [list(rows)]
    body = "".join("<tbody>" + "".join(row_html(row) for row in group) + "</tbody>" for group in groups)
    css_class = ' class="grouped"' if grouped else ""
    return f"<table{css_class}>{head}{body}</table>"


def _number(value: float | None, decimals: int) -> str:
    return "—" if value is None else f"{value:.{decimals}f}"
