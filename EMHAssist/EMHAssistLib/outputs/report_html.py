"""The report as one self-contained HTML page: key images, ratios, levels, differential, caveat.

Everything the page shows is embedded (images as data URIs, the style sheet inline), so the file
can be mailed, archived or printed to PDF as it is; it loads nothing from anywhere, and its
Content-Security-Policy forbids any load but its own images and style sheet. The images come
from the caller (key_images.py renders them on the command line; the Slicer panel has its own views).

The page is the Jinja2 template templates/report.html.j2 with autoescaping: this module turns the
report into plain values (text and numbers) and the template writes them, escaped, into element
content and attributes only. No user text is written into the style sheet: the printed pages'
margins carry the title and the caveat as CSS strings made of hex escapes alone (`\\00004a`...), which
no character of a case name can end early.
"""

import base64
import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING


from .. import number_format as numbers
from ..report_model import Levels, RankedDiagnosis, Report
from .citations import citation_label, cited_keys, listed_citation
from .report import ratio_text
from .wording import (
    bilsky_explanation_text,
    bilsky_meanings,
    graded_levels,
    level_span,
    normalised_mscc_phrase,
    not_assessed_phrase,
    stated_measures,
    summary_line,
)

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Only the page's own data: images and its one style sheet (allowed by its hash); no script, font,
# frame, form or base URL. The report is self-contained, so nothing it shows needs the network.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'sha256-{style_hash}'; base-uri 'none'; form-action 'none'"

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
/* On screen each key image one image pixel to one screen pixel: its labels are drawn at a fixed size in
   pixels, and scaled down (the T1 and T1C views were shown at 45 %) they could not be read. Two 440 px
   sagittal views fit side by side in the page's 60 rem. */
figure img { display: block; height: auto; width: auto; max-width: 100%;
             border: 1px solid var(--line); background: #000; }
figcaption { display: table-caption; caption-side: bottom; font-size: .8rem; color: var(--muted); margin-top: .2rem; }
table { border-collapse: collapse; min-width: 50%; margin: .3rem 0 .6rem; break-inside: avoid; }
th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f1f4f7; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }  /* a heading may wrap: the Bilsky table's eight columns fit an A4 page then */
table.grouped, table.long { break-inside: auto; }  /* a level per row: kept whole, a blank half page before it */
tr, li, table.grouped > tbody { break-inside: avoid; }
.columns { display: flex; gap: 1.5rem; flex-wrap: wrap; align-items: flex-start; }
.columns > table { flex: 0 1 auto; min-width: 0; }
.columns + .small { break-before: avoid; }  /* the note stays with the tables it explains */
.diagnosis { border: 1px solid var(--line); border-radius: 4px; padding: .5rem .8rem; margin: .6rem 0;
             -webkit-box-decoration-break: clone; box-decoration-break: clone; }
.diagnosis-head { break-inside: avoid; break-after: avoid; }  /* name, bar and summary stay with the first finding */
.prior { break-before: avoid; }  /* and the prior with the last one */
.bar { height: .55rem; background: #e6ebf0; border-radius: 3px; margin: .2rem 0 .4rem; }
.bar > span { display: block; height: 100%; background: var(--accent); border-radius: 3px; }  /* width: .bar-N below */
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
  figure img { height: 85mm; }  /* every view as tall as the main one: two sagittal views fit side by side */
  footer { margin-top: 1rem; break-before: avoid; }
}
"""


@dataclass(frozen=True)
class KeyImage:
    """One picture of the page: Slicer's views rendered offscreen (key_images.py) or captured in Slicer."""

    title: str
    caption: str
    png: bytes


def write_html(report: Report, images: Sequence[KeyImage], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_page(report, images), encoding="utf-8", errors="replace")  # a folder name that is not UTF-8


def html_page(report: Report, images: Sequence[KeyImage]) -> str:
    from markupsafe import Markup  # with Jinja2, which Slicer does not ship: imported when a page is written

    title = f"EMHAssist report — case {report.case}"
    ranking = report.differential
    style = STYLE + page_margins(title, report.caveat) + _bar_widths(ranking[:DIFFERENTIAL_SHOWN])
    return _template().render(
        policy=content_policy(style),
        style=Markup(style),  # built here from constants, numbers and hex escapes only
        title=title,
        sequences=", ".join(report.sequences) or "none",
        schema=report.schema,
        caveat=report.caveat,
        headline=_headline(report),
        images=[figure(image) for image in images],
        levels=_levels(report.levels),
        ratios=_ratios(report),
        differential=_differential(report),
        warnings=report.warnings,
        regions=_regions(report),
        references=_references(ranking),
    )


def content_policy(style: str) -> str:
    """The page's Content-Security-Policy, allowing its one style sheet by hash."""
    return CONTENT_SECURITY_POLICY.format(style_hash=base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii"))


def _template() -> "jinja2.Template":
    return template("report.html.j2")


@functools.cache
def template(name: str) -> "jinja2.Template":
    """A page template of templates/, autoescaped (the report's, the comparison's)."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    environment.filters["groupby_first"] = lambda rows: [list(group) for _, group in groupby(rows, key=lambda row: row[0])]
    return environment.get_template(name)


def page_margins(title: str, caveat: str) -> str:
    """The title and the caveat in every printed page's margins (the page number is in STYLE)."""
    return f"@page {{ @top-left {{ content: {_css_string(title)}; }} @bottom-left {{ content: {_css_string(caveat)}; }} }}\n"


def _css_string(text: str) -> str:
    """Text as a quoted CSS string written wholly in six-digit hex escapes: the style sheet holds only
    backslashes and hex digits for it, so no character of the text can end the string, the rule or the
    <style> element (a form feed, a quote, `</style>` all become escapes)."""
    return '"' + "".join(f"\\{ord(c):06x}" for c in text) + '"'


def _bar_widths(shown: Sequence[RankedDiagnosis]) -> str:
    """Each shown diagnosis's probability bar width: numbers only, in the style sheet so that the page
    needs no style attribute (the policy allows the one style sheet and nothing else)."""
    return "".join(f".bar-{place} {{ width: {max(0.5, 100 * entry.probability):.1f}%; }}\n" for place, entry in enumerate(shown, start=1))


def _headline(report: Report) -> list[tuple[str, str]]:
    parts = []
    levels_line = summary_line(report.levels)
    if levels_line:
        parts.append(("Levels", levels_line))
    if report.differential:
        top = report.differential[0]
        parts.append(("Leading candidate", f"{top.name} ({numbers.probability(top.probability)})"))
    return parts


def figure(image: KeyImage) -> dict:
    return {"src": "data:image/png;base64," + base64.b64encode(image.png).decode("ascii"), "title": image.title, "caption": image.caption}


def _levels(levels: Levels | None) -> dict | None:
    if levels is None:
        return None
    compression = levels.compression
    rows = [
        ("Mass", level_span(levels.mass) if levels.mass else "not found"),
        ("Cord compression", level_span(compression) if compression else "none found"),
    ]
    if levels.not_assessed:
        rows.append(("Not assessed", not_assessed_phrase(levels.not_assessed)))
    if compression:
        rows += [(f"{name} at {compression.at}", numbers.percent(percent)) for name, percent in stated_measures(compression)]
        if compression.area_ratio_percent is not None:
            rows.append((f"Area ratio at {compression.at}", numbers.percent(compression.area_ratio_percent)))
        rows.append((f"MSCC against healthy cords at {compression.at} (95 % CI)", normalised_mscc_phrase(compression)))
    rows.append(("Vertebrae identified", ", ".join(v.name for v in levels.vertebrae) or "none"))
    profile = [
        (
            entry.level,
            entry.slices,
            _number(entry.area_mm2, 1),
            _number(entry.ap_mm, 1),
            _number(entry.rl_mm, 1),
            _number(entry.mscc_percent, 0),
            _number(entry.normalised_ratio, 2),
        )
        for entry in levels.cord_profile
    ]
    return {"summary": rows, "profile": profile, "bilsky": _bilsky(levels)}


def _bilsky(levels: Levels) -> dict | None:
    """The Bilsky grade of each level the mass reaches the canal at, with the quantities it was
    decided on and its explanation (wording.graded_levels), and what each grade means."""
    if levels.bilsky is None:
        return None
    rows = [
        (
            entry.level,
            entry.grade,  # the heading says Bilsky: "Bilsky 1b" in each cell made the table wider than an A4 print
            _number(entry.sac_indent_mm, 1),
            _number(entry.mass_gap_mm, 1),
            _number(entry.cord_narrowing_percent, 0),
            _number(100 * entry.csf_fraction, 0),
            _number(entry.mcc_percent, 0),
            _number(entry.sac_area_ratio_percent, 0),
            bilsky_explanation_text(entry),
        )
        for entry in graded_levels(levels)
    ]
    meanings = "; ".join(f"{grade} {meaning}" for grade, meaning in bilsky_meanings())
    return {"sequence": levels.bilsky.sequence, "rows": rows, "meanings": meanings}


def _ratios(report: Report) -> dict | None:
    """A grid of ratio (rows) by sequence (columns), each cell the value and its interval."""
    if not report.ratios and not report.enhancement:
        return None
    sequences = list(dict.fromkeys(key.sequence_label for key in report.ratios))
    names = list(dict.fromkeys(key.region_label for key in report.ratios))
    by_cell = {(key.region_label, key.sequence_label): ratio_text(ratio) for key, ratio in report.ratios.items()}
    rows = [(name, *(by_cell.get((name, sequence), "—") for sequence in sequences)) for name in names]
    enhancement = [(region, ratio_text(value, percent=True)) for region, value in report.enhancement.items()]
    return {"sequences": sequences, "rows": rows, "enhancement": enhancement}


def _differential(report: Report) -> dict:
    ranking = report.differential
    return {
        "shown": [_diagnosis(place, entry) for place, entry in enumerate(ranking[:DIFFERENTIAL_SHOWN], start=1)],
        "rest": "; ".join(f"{e.name} ({numbers.probability(e.probability)})" for e in ranking[DIFFERENTIAL_SHOWN:]),
        # Why the prior, not the images, puts the leader first (the next best step follows on its own line).
        "priors_decide": (report.priors_decide.why or report.priors_decide.text) if report.priors_decide else "",
        "next_step": report.next_best.text or "",
        "not_measured": "; ".join(item.name for item in report.not_measured),
    }


def _diagnosis(place: int, entry: RankedDiagnosis) -> dict:
    return {
        "place": place,
        "name": entry.name,
        "probability": numbers.probability(entry.probability),
        "prior": numbers.probability(entry.prior),
        "summary": entry.summary,
        "evidence": [{"supports": item.supports, "text": item.text, "cited": _cited(item.refs)} for item in entry.evidence],
        "prior_factors": "; ".join(f"{f.label} ×{f.factor:g} ({f.reason})" for f in entry.prior_factors),
    }


def _cited(refs: Iterable[str]) -> str:
    return ", ".join(dict.fromkeys(citation_label(ref) for ref in refs))


def _references(ranking: Sequence[RankedDiagnosis]) -> list[tuple[str, str]]:
    return [listed_citation(ref) for ref in cited_keys(ranking)]


def _regions(report: Report) -> list[tuple]:
    return [
        (region, role, _number(s.mean, 1), _number(s.median, 1), _number(s.sd, 1), s.n, _number(s.volume_mm3, 0))
        for region, by_role in report.regions.items()
        for role, s in by_role.items()
    ]


def _number(value: float | None, decimals: int) -> str:
    return "—" if value is None else f"{value:.{decimals}f}"
