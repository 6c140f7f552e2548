"""Normalised MSCC against healthy cords of the same levels, with its interval, or why there is none (issue 17 point 3)."""

import numpy as np
import pytest
from golden_outputs import golden_report, levels_of

from EMHAssistLib.outputs.report import summary_text
from EMHAssistLib.outputs.report_html import _levels
from EMHAssistLib.outputs.wording import normalised_mscc_gap_text, normalised_mscc_phrase
from EMHAssistLib.report_codec import plain_value
from EMHAssistLib.report_model import NormalisedMsccGap, NormalisedMsccGapCode
from EMHAssistLib.spine.normative import normalised_mscc, normative
from EMHAssistLib.spine.vertebrae import code_of


def _healthy_cord(levels: list[str], slices_per_level: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """A cord whose AP is the healthy mean of each of `levels` (superior first), and the slices' level codes."""
    table = normative()
    codes = np.repeat([code_of(name) for name in levels], slices_per_level)
    ap = np.array([table[int(code)].ap_mm.mean if int(code) in table else 6.0 for code in codes])
    return ap, codes


def test_thoracic_normalised_mscc_comes_with_its_interval():
    """A T6 slice at 60 % of the healthy T6 AP between healthy T4 and T8: 40 % against healthy cords,
    the interval around it from the healthy means' standard errors (58 adults)."""
    ap, codes = _healthy_cord(["T4", "T5", "T6", "T7", "T8"])
    at = 50  # the middle of T6
    ap[at] *= 0.6
    above, below = np.arange(0, 10), np.arange(90, 100)
    result = normalised_mscc(ap, codes, at, above, below)
    assert result.unavailable is None
    assert result.percent == pytest.approx(40.0, abs=1e-6)
    low, high = result.interval_percent
    assert low < result.percent < high
    # The width follows the table: T6's AP mean is known to about SD / sqrt(n) = a few hundredths of a mm.
    t6 = normative()[code_of("T6")].ap_mm
    assert 0.2 < high - low < 4 * 1.96 * 100 * t6.sd / np.sqrt(normative()[code_of("T6")].subjects) / t6.mean


def test_no_healthy_reference_below_the_table_is_said_not_left_null():
    ap, codes = _healthy_cord(["T12", "L1", "L2", "L3"])
    at = 50  # L2, which the healthy table (C1-L1) does not hold
    ap[at] *= 0.6
    result = normalised_mscc(ap, codes, at, np.arange(0, 10), np.arange(70, 80))
    assert result.percent is None and result.interval_percent is None
    assert result.unavailable == NormalisedMsccGap(NormalisedMsccGapCode.NO_REFERENCE, (code_of("L2"), code_of("L3")))
    assert normalised_mscc_gap_text(result.unavailable) == "no healthy reference at L2, L3 (the healthy table covers C1–L1)"


# A stored report names only levels its vertebrae hold: T5-T8 and L2, placed 30 mm apart.
BODIES = [{"name": name, "code": code_of(name), "centre": [0.0, 0.0, -30.0 * index], "source": "user"} for index, name in enumerate(("T5", "T6", "T7", "T8", "L2"))]


def test_every_surface_says_the_normalised_mscc_or_why_not():
    compression = {"from": "T5", "to": "T7", "at": "T6", "max_mscc_percent": 41.0, "area_ratio_percent": 30.0, "rl_ratio_percent": 5.0,
                   "normalised_mscc_percent": 38.6, "normalised_mscc_interval_percent": [36.9, 40.2], "normalised_mscc_unavailable": None,
                   "shown_by": ["MSCC"]}
    levels = levels_of(vertebrae=BODIES, mass={"from": "T5", "to": "T8"}, compression=compression)
    report = golden_report(case="x", levels=plain_value(levels))
    assert normalised_mscc_phrase(levels.compression) == "39 % (37 to 40 %)"
    assert "MSCC against healthy cords at T6 (95 % CI): 39 % (37 to 40 %)" in summary_text(report)
    assert ("MSCC against healthy cords at T6 (95 % CI)", "39 % (37 to 40 %)") in _levels(levels)["summary"]
    compression |= {"at": "L2", "normalised_mscc_percent": None, "normalised_mscc_interval_percent": None,
                    "normalised_mscc_unavailable": NormalisedMsccGap(NormalisedMsccGapCode.NO_REFERENCE, (code_of("L2"),))}
    levels = levels_of(vertebrae=BODIES, mass={"from": "T5", "to": "T8"}, compression=compression)
    report = golden_report(case="x", levels=plain_value(levels))
    assert "MSCC against healthy cords at L2 (95 % CI): no healthy reference at L2 (the healthy table covers C1–L1)" in summary_text(report)
    assert ("MSCC against healthy cords at L2 (95 % CI)", "no healthy reference at L2 (the healthy table covers C1–L1)") in _levels(levels)["summary"]
