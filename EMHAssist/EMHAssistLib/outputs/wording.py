"""Report wording: the levels section in the words a radiologist would dictate, shared by the text
summary, the batch CSV, the HTML page, the overlays, the browser viewer and the quiz.

The spine step writes the levels section; how it reads aloud lives here, with the outputs that
show it.
"""

from .. import number_format as numbers
from ..settings import spine_settings
from ..spine.compression import level_span
from ..spine.vertebrae import code_of


def summary_line(levels: dict | None) -> str | None:
    """One line as a radiologist would dictate it: "mass T5–T8, cord compressed T5–T7, MSCC 41 % at T6, Bilsky 2 at T6";
    a compression shown by another measure names it first: "cord compressed T5, RL ratio 37 % at T5, MSCC 3 %"."""
    if levels is None:
        return None
    parts = []
    if levels["mass"] is not None:
        parts.append(f"mass {level_span(levels['mass'])}")
    compression = levels["compression"]
    missing = levels.get("not_assessed")
    if compression is not None:
        at = f" at {compression['at']}"
        said = [f", {name} {percent:.0f} %{at if index == 0 else ''}" for index, (name, percent) in enumerate(stated_measures(compression))]
        parts.append(f"cord compressed {level_span(compression)}" + "".join(said))
    elif not missing or (missing["levels"] and not _spans_meet(levels["mass"], missing["levels"])):
        # Where the cord beside the mass was not followed, "no cord compression" would claim what was not seen.
        parts.append("no cord compression")
    worst = (levels.get("bilsky") or {}).get("most_severe")
    if worst is not None:
        parts.append(f"Bilsky {worst['grade']} at {worst['level']}")
    if missing:
        parts.append(not_assessed_phrase(missing))
    return ", ".join(parts)


def _spans_meet(mass: dict | None, span: dict) -> bool:
    if mass is None:
        return False
    return code_of(mass["from"]) <= code_of(span["to"]) and code_of(span["from"]) <= code_of(mass["to"])


def not_assessed_phrase(missing: dict) -> str:
    """The levels section's `not_assessed` in words, as the summary line ends and the HTML table says it."""
    return f"compression not assessed {level_span(missing['levels'])}" if missing["levels"] else "compression not assessed (no vertebral levels)"


def stated_measures(compression: dict) -> list[tuple[str, float]]:
    """The measures a compression is stated by, as (name, percent) at its worst slice: the one that
    showed it first, then MSCC, which is always said (a compression without `shown_by` was found by it)."""
    measures = spine_settings().compression.measures
    fields = {measure.name: measure.field for measure in measures}
    mscc = measures[0].name
    lead = (compression.get("shown_by") or [mscc])[0]
    named = [lead] + ([mscc] if lead != mscc else [])
    return [(name, compression[fields[name]]) for name in named if compression.get(fields[name]) is not None]


def normalised_mscc_phrase(compression: dict) -> str:
    """The compression's MSCC against healthy cords of the same levels with its interval,
    "41 % (39 to 44 %)", or why there is none: "no healthy reference at L2 (the healthy table covers C1–L1)"."""
    if compression.get("normalised_mscc_percent") is None:
        return compression.get("normalised_mscc_unavailable") or "not measured"
    low, high = compression["normalised_mscc_interval_percent"]
    return numbers.percent_interval(compression["normalised_mscc_percent"], low, high)
