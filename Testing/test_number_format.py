"""One number, one spelling: a value prints the same in the text summary, the HTML report, the
browser viewer and the Slicer overlays (number_format.py)."""

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from EMHAssistLib import number_format as numbers
from EMHAssistLib.frontends.panel import differential_rows
from EMHAssistLib.frontends.serve import enhancement_rows, ranking_rows, ratio_rows
from EMHAssistLib.outputs.overlays import differential_label, explanation_text
from EMHAssistLib.outputs.report import from_json, summary_text
from EMHAssistLib.outputs.report_html import html_page

GOLDEN_REPORT = Path(__file__).parent / "goldens" / "mds_t5_t8" / "report.json"


@pytest.mark.parametrize(
    ("fraction", "expected"), [(0.41, "+41 %"), (-0.12, "-12 %"), (-0.004, "0 %"), (0.004, "0 %"), (0.0, "0 %")]
)
def test_a_change_carries_its_sign_but_never_a_negative_zero(fraction, expected):
    assert numbers.signed_percent(fraction) == expected


def test_probabilities_percentages_ratios_and_spacings():
    assert [numbers.probability(p) for p in (0.871, 0.004, 0.0051)] == ["87 %", "<1 %", "1 %"]
    assert numbers.percent(43.2) == "43 %" and numbers.ratio(0.3049) == "0.30"
    assert numbers.spacing([0.9375, 0.9375, 3.0]) == "0.94×0.94×3 mm"


def test_the_same_value_prints_the_same_on_every_surface():
    report = from_json(json.loads(GOLDEN_REPORT.read_text()), str(GOLDEN_REPORT))
    text, page = summary_text(report), html_page(report, [])
    enhancement = numbers.signed_percent_interval(report.enhancement["mass"].value, *report.enhancement["mass"].ci95)
    assert enhancement in text and enhancement in page
    assert {"region": "mass", "value": enhancement} in enhancement_rows(report)
    first = report.differential[0]
    probability = numbers.probability(first.probability)
    assert ranking_rows(report)[0]["percent"] == probability
    assert f": {probability} (prior" in text and probability in page
    assert differential_label(report.differential).splitlines()[0].endswith(f" {probability}")
    assert f"1. {first.name}: {probability}" in explanation_text("mds", report)
    key, ratio = next(iter(report.ratios.items()))
    assert ratio_rows(report.ratios)[0]["value"] == numbers.ratio(ratio.value) and numbers.ratio_interval(ratio.value, *ratio.ci95) in text
    shown = re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>|style=\"[^\"]*\"", " ", page, flags=re.S))  # the page's text, not its CSS
    for surface in (text, shown, explanation_text("mds", report)):
        assert not re.search(r"[-−]0 %", surface), "a negative zero"
        assert not re.search(r"\d%", surface), "a percentage without its space"


def test_the_slicer_panel_prints_a_probability_as_every_other_surface_does():
    report = from_json(json.loads(GOLDEN_REPORT.read_text()), str(GOLDEN_REPORT))
    rows = differential_rows(report)
    for row, diagnosis in zip(rows, report.differential):
        assert row.shown == numbers.probability(diagnosis.probability)
        assert row.prior_shown == numbers.probability(diagnosis.prior)
    last = replace(report.differential[-1], probability=0.003)
    assert differential_rows(replace(report, differential=(last,)))[0].shown == "<1 %"  # the bar read "0 %" before
