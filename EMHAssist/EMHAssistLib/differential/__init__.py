"""The differential of an epidural or paraspinal mass compressing the cord, ranked and explained.

Research and teaching only: the ranking weighs measured signs and a clinical context the way a
textbook would; it never diagnoses (see `EMHAssistLib.CAVEAT`, carried by every output).

Input: a `CaseFindings` (report_model.py; data flows one way, nothing here reads MRML): the measured
sections of a report in the model's own types (`regions` of `RegionStatistics`, `ratios` by
`RatioKey` and `enhancement` as `Ratio`s, the levels the mass spans as a `Span`, `morphology`: a
reader's or the morphology step's findings, keys and kinds declared in data/differential/features.json)
and the checked clinical context (`Clinical`, built once where the case is read:
`inputs.clinical.clinical_context`). The analysis builds it from what it measured. Any section may
be empty: a feature whose inputs were not measured is left out and listed as such, never counted as
negative evidence.

Output: the report model's own types, which the analysis puts in the report as they are: a ranking
of `RankedDiagnosis` (most probable first), each with its `PriorFactor`s and `Evidence`, and a
`Differential` holding that ranking and its explanation (`KnowledgeInfo`, `NeutralTerm`s,
`NotMeasured`, `Observed`, `Undecided`, `SetAsideFeature`s, `PriorsDecide`, `NextBest`); each field's
meaning is written beside it in report_model.py.

Three steps, one module each: `rules` (the knowledge files, validated), `findings` (each feature
read from the case: present, absent, undecided or not measured), `ranking` (priors, evidence,
probabilities and explanations).

API
    rank(case) -> tuple[RankedDiagnosis, ...]          the ranking, most probable first
    explain(case, ranking) -> Differential             the ranking with what was left out, what stayed
                                                       undecided and what to do next
    assess(case) -> Differential                       explain(case, rank(case))
    observe(case) -> (observations, unmeasured)        every feature evaluated or left out
    knowledge() -> Knowledge                           the validated data files (cached)

An evidence item's `weight` is the natural-log likelihood ratio counted for its diagnosis (after the
caps and the group share), `lr` its exponential, `basis` the derivation of a sourced ratio; `value`
the measured number (or flag, or category; one per quantity for a combined test). Evidence is sorted
by the size of its weight. `priors_decide` is given when the prior, not the images, puts the leader
first: the images do not separate it from the runner-up (their evidence favours the leader by less than
features.json images_separate_lr), or they favour one or more candidates below it by that much, and its
line names each of them; `set_aside` lists the features measured but not counted (features.json set_aside:
marrow against muscle and disc when the marrow is iron-laden in a transfused patient).
"""

from .findings import observe
from .ranking import assess, explain, rank
from .rules import Knowledge, knowledge

__all__ = ["Knowledge", "assess", "explain", "knowledge", "observe", "rank"]
