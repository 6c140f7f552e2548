"""Reports the tests write as plain sections (the vignettes of test_differential, the published cases
of Testing/literature) read as the differential's typed input, `CaseFindings`, and its answer read
back as the plain data a JSON report holds, so the tests' assertions read what a user's report shows.

A test's region gives only what the differential reads of a region's statistics (mean, sd, n); the
statistics it does not read are NaN here, so a differential that began to read them would be caught
by its own finite-value checks rather than run on a made-up number.
"""

import math

from EMHAssistLib.differential import assess, explain, observe, rank
from EMHAssistLib.differential.findings import Observation, Unmeasured
from EMHAssistLib.inputs.clinical import clinical_context
from EMHAssistLib.report_codec import model_value, plain_value
from EMHAssistLib.report_model import (
    CaseFindings,
    MorphologyValue,
    RankedDiagnosis,
    Ratio,
    RatioKey,
    RegionStatistics,
    Span,
)


def case_findings(report: dict) -> CaseFindings:
    """The plain sections of `report` (any may be missing) as the differential's input."""
    mass = (report.get("levels") or {}).get("mass")
    return CaseFindings(
        regions={
            region: {sequence: _statistics(stats) for sequence, stats in by_sequence.items()}
            for region, by_sequence in (report.get("regions") or {}).items()
        },
        ratios=model_value(report.get("ratios") or {}, dict[RatioKey, Ratio], "ratios"),
        enhancement=model_value(report.get("enhancement") or {}, dict[str, Ratio], "enhancement"),
        mass=Span(mass["from"], mass["to"]) if mass else None,
        morphology=model_value(report.get("morphology") or {}, dict[str, MorphologyValue], "morphology"),
        clinical=clinical_context(report.get("clinical")),
    )


def _statistics(stats: dict) -> RegionStatistics:
    unread = math.nan
    return RegionStatistics(stats["mean"], unread, stats["sd"], unread, unread, stats["n"], unread)


def plain_rank(report: dict) -> list[dict]:
    return plain_value(rank(case_findings(report)))


def plain_explain(report: dict, ranking: list[dict]) -> dict:
    """`explain` of a plain report and a plain ranking (as `plain_rank` gives it)."""
    typed_ranking = model_value(ranking, tuple[RankedDiagnosis, ...], "ranking")
    return plain_value(explain(case_findings(report), typed_ranking))


def plain_assess(report: dict) -> dict:
    return plain_value(assess(case_findings(report)))


def plain_observe(report: dict) -> tuple[list[Observation], list[Unmeasured]]:
    return observe(case_findings(report))

