"""Normalised MSCC: the cord's narrowing against healthy adult cords of the same levels, with the
interval its healthy reference allows, or why there is none.

SCT's normalised MSCC (Valosek, Bedard et al., Imaging Neuroscience 2024) divides the cord's AP
diameter at the narrowest slice and in the reference windows above and below by healthy cords'
at the same levels (data/normative_cord.json, 58 adults of PAM50-normalized-metrics, C1-L1), so
a level that is narrow in every healthy adult (the thoracic cord below the cervical enlargement)
is not read as compressed. The interval is that of the healthy means: each level's mean moved by
`interval.z` standard errors (SD / sqrt(subjects)), the narrowest slice's one way and the windows'
the other, which bounds the ratio. Where a slice it needs lies at a level the table does not hold,
the report says so instead of a silent null.
"""

from dataclasses import dataclass

import numpy as np

from ..report_model import NormalisedMsccGap, NormalisedMsccGapCode
from ..settings import NormativeLevel, normative_cord


@dataclass(frozen=True)
class NormalisedMscc:
    percent: float | None
    interval_percent: tuple[float, float] | None  # (low, high)
    unavailable: NormalisedMsccGap | None  # why there is no value; None when there is one


def normative() -> dict[int, NormativeLevel]:
    return normative_cord().by_code()


def metric_ratio(at: float, above: float, below: float) -> float:
    """Miyanji's MSCC (or the same ratio on area): (1 - m_i / ((m_a + m_b) / 2)) * 100."""
    return (1.0 - at / ((above + below) / 2.0)) * 100.0


def normalised_metric_ratio(patient: tuple[float, float, float], healthy: tuple[float, float, float]) -> float:
    """SCT's normalised ratio: each of (above, below, at) divided by healthy cords at the same place."""
    above, below, at = (p / h for p, h in zip(patient, healthy))
    return metric_ratio(at, above, below)


def covered_codes() -> tuple[int, int]:
    """The first and last level code the healthy table holds (C1, L1), as a missing reference's words name them."""
    codes = sorted(normative())
    return codes[0], codes[-1]


def normalised_mscc(ap_mm: np.ndarray, codes: np.ndarray, at: int, above: np.ndarray, below: np.ndarray) -> NormalisedMscc:
    """The normalised MSCC at slice `at` against the reference windows `above` and `below` (slice
    indices), each slice's healthy AP that of its level (`codes`, 0 outside every level)."""
    if above.size == 0 or below.size == 0:
        return NormalisedMscc(None, None, NormalisedMsccGap(NormalisedMsccGapCode.NO_WINDOWS))
    table = normative()
    involved = [int(codes[at])] + [int(c) for c in codes[above]] + [int(c) for c in codes[below]]
    missing = sorted({code for code in involved if code not in table})
    if missing:
        return NormalisedMscc(None, None, NormalisedMsccGap(NormalisedMsccGapCode.NO_REFERENCE, tuple(missing)))
    z = normative_cord().interval.z
    mean = np.array([table[int(c)].ap_mm.mean if int(c) in table else np.nan for c in codes])
    error = np.array([table[int(c)].ap_mm.sd / np.sqrt(table[int(c)].subjects) if int(c) in table else np.nan for c in codes])
    patient = (float(np.mean(ap_mm[above])), float(np.mean(ap_mm[below])), float(ap_mm[at]))

    def ratio(window_shift: float, at_shift: float) -> float:
        healthy = mean + window_shift * error
        return normalised_metric_ratio(patient, (float(np.mean(healthy[above])), float(np.mean(healthy[below])), float(mean[at] + at_shift * error[at])))

    # Healthy windows wider and the healthy narrowest level thinner lower the ratio; the reverse raises it.
    return NormalisedMscc(ratio(0.0, 0.0), (ratio(z, -z), ratio(-z, z)), None)
