"""How every surface prints a number (the text summary, the HTML report, the browser viewer, the
Slicer panel and overlays, the ranking's and the findings' texts): one function per kind of number,
so the same value reads the same wherever it is shown.

Percentages are whole numbers with a space before the sign ("41 %", as SI writes it); a change (an
enhancement, a shift) carries its sign ("+41 %", "-12 %"), except a change that rounds to nothing,
which is "0 %" (never "-0 %"). A probability under half a percent is "<1 %". Ratios have two
decimals, millimetres one, voxel spacings at most two.
"""


def percent(value: float) -> str:
    """A percentage already in percent (an MSCC of 43.2 -> "43 %")."""
    return f"{_whole(value)} %"


def signed_percent(fraction: float) -> str:
    """A change given as a fraction (an enhancement of 0.41 -> "+41 %"; -0.004 -> "0 %")."""
    return f"{_signed_whole(fraction)} %"


def signed_percent_range(low: float, high: float) -> str:
    """The bounds of a change's interval, the unit once: "+39 to +43 %", "0 to +2 %"."""
    return f"{_signed_whole(low)} to {_signed_whole(high)} %"


def signed_percent_interval(fraction: float, low: float, high: float) -> str:
    """A change with its 95 % interval: "+41 % (+39 to +43 %)"."""
    return f"{signed_percent(fraction)} ({signed_percent_range(low, high)})"


def percent_interval(value: float, low: float, high: float) -> str:
    """A percentage with its 95 % interval, the unit once: "41 % (39 to 44 %)", "1 % (-3 to 5 %)"
    ("to", not a dash, which a negative bound would run into)."""
    return f"{_whole(value)} % ({_whole(low)} to {_whole(high)} %)"


def probability(value: float) -> str:
    """A probability (0-1): "80 %", "<1 %"."""
    whole = _whole(100 * value)
    return "<1 %" if whole < 1 else f"{whole} %"


def ratio(value: float) -> str:
    """A signal-intensity ratio, or an overlap score: two decimals."""
    return f"{value:.2f}"


def ratio_interval(value: float, low: float, high: float) -> str:
    """A ratio with its 95 % interval: "0.30 (0.29–0.31)"."""
    return f"{ratio(value)} ({ratio(low)}–{ratio(high)})"


def millimetres(value: float) -> str:
    return f"{value:.1f} mm"


def spacing(values) -> str:
    """A voxel spacing: each size to at most two decimals, "0.94×0.94×3 mm" (a scanner's 0.9375 is 0.94)."""
    return "×".join(f"{round(float(v), 2):g}" for v in values) + " mm"


def _signed_whole(fraction: float) -> str:
    whole = _whole(100 * fraction)
    return f"{whole:+d}" if whole else "0"


def _whole(value: float) -> int:
    # As Python's format rounds (half to even), which the levels' summary line (spine/compression)
    # uses too: "MSCC 43 %" there and on the label beside the level is the same number.
    return round(value)
