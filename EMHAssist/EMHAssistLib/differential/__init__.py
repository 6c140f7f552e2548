"""The differential of an epidural or paraspinal mass compressing the cord, ranked and explained.

Research and teaching only: the ranking weighs measured signs and a clinical context the way a
textbook would; it never diagnoses (see `EMHAssistLib.CAVEAT`, carried by every output).

Input: the report dict of `analysis.analyze` (data flows one way; nothing here reads MRML; every
field it can hold is in report_model.py): `clinical`, `regions`, `ratios` (keyed by `RatioKey`, the
key of "T1 marrow/muscle" or "OP/IP marrow", each {value, ci95}; a stored report's text keys are
parsed by outputs.report.from_json),
`enhancement` (per region, {value, ci95}), optional `levels` ({"mass": {"from", "to"}}) and optional
`morphology` (reader's or morphology step's findings, a measured one such as `rim_enhancement` as
{value, ci95}; its keys and types are declared in data/differential/features.json). Any section may be missing: a feature whose inputs were not
measured is left out and listed as such, never counted as negative evidence.

Three steps, one module each: `rules` (the knowledge files, validated), `findings` (each feature
read from the report: present, absent, undecided or not measured), `ranking` (priors, evidence,
probabilities and explanations).

API
    rank(report) -> list[dict]            the ranking, most probable first
    explain(report, ranking) -> dict       what was left out, what stayed undecided, what to do next
    assess(report) -> dict                 {"differential": rank(...), **explain(...)} for the JSON report
    observe(report) -> (observations, unmeasured)   every feature evaluated or left out
    knowledge() -> Knowledge               the validated data files (cached)

Ranking entry:
    {"id", "name", "summary", "probability", "prior",
     "prior_factors": [{"term", "label", "factor", "reason"}],     clinical terms that moved the prior
     "evidence": [{"feature", "state": "present"|"absent", "value", "supports", "weight", "lr",
                   "kind": "sourced"|"expert", "basis", "finding", "text", "rule", "refs"}]}
`weight` is the natural-log likelihood ratio counted for this diagnosis (after the caps and the
group share), `lr` its exponential, `basis` the derivation of a sourced ratio; `value` is the
measured number (or flag, or category; a dict of them for combined tests). Evidence is sorted by
the size of its weight; `supports` is `weight > 0`.

explain():
    {"caveat", "knowledge": {"versions", "max_likelihood_ratio", "probability_floor", "grades", "groups"},
     "neutral_clinical_terms": [{"term", "label", "reason"}],
     "not_measured": [{"feature", "name", "missing": [text]}],
     "observed": [{"feature", "name", "state", "value", "finding", "rule", "threshold"}],
     "undecided": [the observed entries whose state is "undecided", each with a "text"],
     "set_aside": [{"feature", "name", "rule", "reason", "refs"}],   measured but not counted (features.json
                   set_aside: marrow against muscle and disc when the marrow is iron-laden in a transfused patient)
     "priors_decide": {"between": [id, id], "text", "why"} | None,   when the images do not separate the two
                   leaders (their evidence favours the leader by less than features.json images_separate_lr)
                   and the prior puts the leader first: `why` says so in one line, `text` adds the next best step
     "next_best": {"between": [id, id],
                   "imaging": {"input", "action", "features", "odds_factor", "text", "morphology"} | None,
                              morphology: the report's morphology key to assess, or None when the input is
                              a sequence, region or levels (the text names the finding in words)
                   "test": {"id", "name", "odds_factor", "text", "refs"} | None,
                   "fallback": {"name", "why", "refs", "text"} | None,    only when neither exists
                   "text"}}                                                the better of the two
"""

from .findings import observe
from .ranking import assess, explain, rank
from .rules import Knowledge, knowledge

__all__ = ["Knowledge", "assess", "explain", "knowledge", "observe", "rank"]
