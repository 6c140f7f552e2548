"""The differential measured on the published cases: accuracy, calibration and where it fails.

For each case the encoded report goes to `differential.assess` three times: imaging and clinical
context together, clinical context alone, imaging alone. A true diagnosis the engine does not list
among its candidates gets probability 0 and is never in the top three. Research and teaching use only.
"""

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from EMHAssistLib.differential import knowledge

from .cases import HALVES
from .encode import ALL_SECTIONS, CLINICAL, IMAGING, encode, load_mapping

LOG_LOSS_FLOOR = 1e-3  # a true diagnosis the engine does not know (p = 0) costs -ln(0.001) = 6.9
TIE = 1e-9  # probabilities this close are equal: an order among them carries no information
HALLMARK_MISS = 0.05  # "the true diagnosis never below 5 % when its hallmark is stated" (issue 14)
WRONG_FIRST_GOAL = 0.60  # "a wrong first answer never above 60 % on average" (issue 14)
RELIABILITY_BINS = 5


def top_k_credit(probabilities: dict[str, float], truth: str, k: int) -> float:
    """How much of a top-k hit the truth earns: 1 when it is among the k most probable, 0 when not,
    and, when it ties with others across place k, the share of the tied places that fall within k
    (a tie for first between two candidates earns each half a top-1). The engine's order within a
    tie is a presentation choice, not evidence, so it earns nothing."""
    if truth not in probabilities:
        return 0.0
    p = probabilities[truth]
    above = sum(q > p + TIE for q in probabilities.values())
    tied = sum(abs(q - p) <= TIE for q in probabilities.values())
    return max(0, min(k, above + tied) - above) / tied


@dataclass(frozen=True)
class CaseResult:
    case_id: str
    diagnosis: str
    half: str
    probabilities: dict[str, float]  # imaging and clinical together, by candidate id
    ranked: list[str]  # candidate ids as the engine orders them
    clinical_only: dict[str, float]  # the same report with its imaging sections removed
    imaging_only: dict[str, float]  # the same report with an empty clinical context
    hallmark_stated: bool
    imaging_stated: bool  # the description states an imaging finding the engine reads
    # By candidate: the natural-log weight of everything the case states (its clinical context's prior factors
    # and its findings' evidence), that is the log posterior minus the log base weight, before the floor.
    stated: dict[str, float] = field(default_factory=dict)
    # By candidate and by what moved it, the natural-log weight: "base weights" (the log base weight), "context: <term>"
    # for each clinical factor, "finding: <feature>" for each counted finding. Their sum is the candidate's log score.
    components: dict[str, dict[str, float]] = field(default_factory=dict)
    # The two candidates the "priors decide" line of the explanation compares (leader, runner-up); empty when it
    # does not show.
    line_between: tuple[str, ...] = ()
    # Every candidate the line names (its `why` read for each candidate's short name): what a reader hears.
    line_named: tuple[str, ...] = ()

    @property
    def true_probability(self) -> float:
        return self.probabilities.get(self.diagnosis, 0.0)

    @property
    def top(self) -> str:
        return self.ranked[0]

    @property
    def top1(self) -> float:
        return top_k_credit(self.probabilities, self.diagnosis, 1)

    @property
    def top3(self) -> float:
        return top_k_credit(self.probabilities, self.diagnosis, 3)

    @property
    def wrong_first(self) -> bool:
        """A wrong answer is first, alone or tied with the truth."""
        return self.top1 < 1

    @property
    def best_wrong_probability(self) -> float:
        return max(p for candidate, p in self.probabilities.items() if candidate != self.diagnosis)

    @property
    def leader(self) -> str:
        """The most probable wrong candidate (the first answer when it is wrong)."""
        return max((c for c in self.probabilities if c != self.diagnosis), key=self.probabilities.get)


# Why a first answer is wrong (`limit`), from what the case states about the truth against the leader:
NOTHING_SEPARATES = "nothing stated separates them"  # the shift is 1: the base weights alone decide
BASE_WEIGHTS_OUTWEIGH = "stated evidence favours the truth; the base weights outweigh it"
EVIDENCE_FAVOURS_LEADER = "stated evidence favours the first answer"
LIMITS = (NOTHING_SEPARATES, BASE_WEIGHTS_OUTWEIGH, EVIDENCE_FAVOURS_LEADER)


def stated_shift(result: CaseResult) -> float:
    """What the case states moves the odds of the truth against the leader by this factor (1: nothing)."""
    return math.exp(result.stated.get(result.diagnosis, 0.0) - result.stated.get(result.leader, 0.0))


def limit(result: CaseResult) -> str | None:
    """Why the truth is not alone first: None when it is. A truth the engine does not list counts as
    stated evidence favouring the leader (no weight of the engine can reach it)."""
    if not result.wrong_first:
        return None
    if result.diagnosis not in result.probabilities:
        return EVIDENCE_FAVOURS_LEADER
    log_shift = math.log(stated_shift(result))
    if abs(log_shift) <= TIE:
        return NOTHING_SEPARATES
    return BASE_WEIGHTS_OUTWEIGH if log_shift > 0 else EVIDENCE_FAVOURS_LEADER


def limits(results: list[CaseResult]) -> dict:
    """The missed top-1 by why, and the top-1 the stated evidence allows at most: the cases won, plus
    those where it favours the truth over the leader (a ranking by the stated evidence alone could
    win them, if nothing else outranks the truth), each case counting what it misses (a tie half)."""
    by_limit: dict[str, list[CaseResult]] = {name: [] for name in LIMITS}
    for r in results:
        why = limit(r)
        if why:
            by_limit[why].append(r)
    won = sum(r.top1 for r in results)
    return {
        "cases": len(results),
        "top1": won,
        "missed": {name: sum(1 - r.top1 for r in group) for name, group in by_limit.items()},
        "members": {name: [r.case_id for r in group] for name, group in by_limit.items()},
        "hallmark_stated": {name: [r.case_id for r in group if r.hallmark_stated] for name, group in by_limit.items()},
        "reachable": won + sum(1 - r.top1 for r in by_limit[BASE_WEIGHTS_OUTWEIGH]),
    }


BASE_COMPONENT = "base weights"
FINDING_PREFIX = "finding: "


def odds_components(ranking: list[dict], base: dict[str, float]) -> dict[str, dict[str, float]]:
    """By candidate, its log score split by what moved it: the base weight, each clinical term, each finding."""
    components: dict[str, dict[str, float]] = {}
    for entry in ranking:
        parts = {BASE_COMPONENT: math.log(base[entry["id"]])}
        for factor in entry["prior_factors"]:
            key = f"context: {factor['term']}"
            parts[key] = parts.get(key, 0.0) + math.log(factor["factor"])
        for item in entry["evidence"]:
            key = f"{FINDING_PREFIX}{item['feature']}"
            parts[key] = parts.get(key, 0.0) + item["weight"]
        components[entry["id"]] = parts
    return components


def towards_leader(result: CaseResult) -> dict[str, float]:
    """What moved the odds of the leader (the most probable wrong candidate) against the truth, by component, in
    natural-log units (positive: towards the leader); empty when the engine does not list the truth."""
    if result.diagnosis not in result.components:
        return {}
    leader, truth = result.components[result.leader], result.components[result.diagnosis]
    shifts = {key: leader.get(key, 0.0) - truth.get(key, 0.0) for key in leader.keys() | truth.keys()}
    return {key: shift for key, shift in shifts.items() if abs(shift) > TIE}


def confidence_when_wrong(results: list[CaseResult]) -> dict:
    """Issue 14 point 4's 'a wrong first answer never above 60 % on average': the mean probability of the wrong
    first answers, how many exceed 60 %, and which components pushed them over the truth, summed over those cases
    (log-odds towards the leader, and in how many cases each pushed towards it)."""
    wrong = [r for r in results if r.wrong_first]
    summed: dict[str, float] = {}
    pushed: dict[str, int] = {}
    for r in wrong:
        for key, shift in towards_leader(r).items():
            summed[key] = summed.get(key, 0.0) + shift
            pushed[key] = pushed.get(key, 0) + (shift > 0)
    return {
        "cases": len(results),
        "wrong": len(wrong),
        "mean_probability": sum(r.best_wrong_probability for r in wrong) / len(wrong) if wrong else 0.0,
        "above": [r.case_id for r in wrong if r.best_wrong_probability > WRONG_FIRST_GOAL],
        "components": {key: (summed[key], pushed[key]) for key in sorted(summed, key=lambda k: -summed[k])},
    }


def assess_probabilities(report: dict, assess: Callable[[dict], dict]) -> tuple[dict[str, float], list[str]]:
    ranking = assess(report)["differential"]
    return {entry["id"]: entry["probability"] for entry in ranking}, [entry["id"] for entry in ranking]


def stated_weights(ranking: list[dict], base: dict[str, float]) -> dict[str, float]:
    """By candidate, the log weight of what the report states: its prior against the base prior, plus its evidence."""
    return {e["id"]: math.log(e["prior"] / base[e["id"]]) + sum(item["weight"] for item in e["evidence"]) for e in ranking}


def base_priors(assess: Callable[[dict], dict], mapping: dict) -> dict[str, float]:
    """The priors of a report that states nothing: the base weights, normalised."""
    silent = {"id": "nothing stated", "patient": {}, "findings": [], "clinical": [], "levels": None}
    return {e["id"]: e["prior"] for e in assess(encode(silent, mapping).report)["differential"]}


def evaluate_case(case: dict, assess: Callable[[dict], dict], mapping: dict, base: dict[str, float] | None = None) -> CaseResult:
    base = base or base_priors(assess, mapping)
    assessed = assess(encode(case, mapping, ALL_SECTIONS).report)
    ranking = assessed["differential"]
    both, ranked = {e["id"]: e["probability"] for e in ranking}, [e["id"] for e in ranking]
    clinical_only, _ = assess_probabilities(encode(case, mapping, (CLINICAL,)).report, assess)
    imaging_report = encode(case, mapping, (IMAGING,)).report
    imaging_only, _ = assess_probabilities(imaging_report, assess)
    return CaseResult(
        case_id=case["id"],
        diagnosis=case["diagnosis"],
        half=case["half"],
        probabilities=both,
        ranked=ranked,
        clinical_only=clinical_only,
        imaging_only=imaging_only,
        hallmark_stated=hallmark_stated(case, mapping),
        imaging_stated=states_imaging(imaging_report),
        stated=stated_weights(ranking, base),
        components=odds_components(ranking, base),
        line_between=tuple((assessed.get("priors_decide") or {}).get("between", ())),
        line_named=named_in_line(assessed.get("priors_decide")),
    )


def named_in_line(deciding: dict | None) -> tuple[str, ...]:
    """The candidates the "priors decide" line names, by their short name as a word of its `why` (or of `text`
    in a report written before `why` was kept apart), in knowledge order; none when the line does not show."""
    if not deciding:
        return ()
    line = deciding.get("why") or deciding["text"]
    return tuple(dx for dx, d in knowledge().diagnoses.items() if re.search(rf"\b{re.escape(d.short)}\b", line))


def states_imaging(report: dict) -> bool:
    """Whether an encoded report holds anything the engine reads from the images: a ratio, an
    enhancement, a region, a morphology fact or the mass levels. A description that names only
    'an epidural mass' holds none, and imaging alone can then return nothing but the base priors."""
    return any(report.get(section) for section in ("ratios", "enhancement", "regions", "morphology", "levels"))


def evaluate(cases: Iterable[dict], assess: Callable[[dict], dict], mapping: dict | None = None) -> list[CaseResult]:
    mapping = mapping or load_mapping()
    base = base_priors(assess, mapping)
    return [evaluate_case(case, assess, mapping, base) for case in cases]


def hallmark_stated(case: dict, mapping: dict) -> bool:
    """Whether the case states every term of one of its diagnosis's hallmark sets (mapping.json hallmarks)."""
    rule = mapping["hallmarks"].get(case["diagnosis"])
    if not rule:
        return False
    terms = {entry["term"] for entry in case["findings"] + case["clinical"]}
    return any(set(group) <= terms for group in rule["any_of"])


def brier(result: CaseResult) -> float:
    """Multi-class Brier score over the engine's candidates and the true diagnosis (0 best, 2 worst)."""
    classes = set(result.probabilities) | {result.diagnosis}
    return sum((result.probabilities.get(c, 0.0) - (c == result.diagnosis)) ** 2 for c in classes)


def log_loss(result: CaseResult) -> float:
    return -math.log(max(result.true_probability, LOG_LOSS_FLOOR))


def summarize(results: list[CaseResult]) -> dict:
    """The figures issue 14 asks for, on one group of cases. Top-1 and top-3 count a tie by its share
    (top_k_credit), so they can be fractions."""
    n = len(results)
    wrong = [r for r in results if r.wrong_first]
    by_diagnosis: dict[str, list[float]] = {}
    for r in results:
        hits = by_diagnosis.setdefault(r.diagnosis, [0.0, 0])
        hits[0] += r.top1
        hits[1] += 1
    return {
        "cases": n,
        "top1": sum(r.top1 for r in results),
        "top3": sum(r.top3 for r in results),
        "ties_for_first": sum(0 < r.top1 < 1 for r in results),
        "by_diagnosis": {d: tuple(v) for d, v in sorted(by_diagnosis.items())},
        "brier": sum(brier(r) for r in results) / n,
        "log_loss": sum(log_loss(r) for r in results) / n,
        "wrong_first_mean_probability": (sum(r.best_wrong_probability for r in wrong) / len(wrong)) if wrong else 0.0,
        "hallmark_misses": [r.case_id for r in results if r.hallmark_stated and r.true_probability < HALLMARK_MISS],
        "hallmark_stated": sum(r.hallmark_stated for r in results),
        "top1_clinical_only": sum(top_k_credit(r.clinical_only, r.diagnosis, 1) for r in results),
        "top1_imaging_only": sum(top_k_credit(r.imaging_only, r.diagnosis, 1) for r in results),
        "imaging_stated": sum(r.imaging_stated for r in results),
        "top1_imaging_only_where_stated": sum(top_k_credit(r.imaging_only, r.diagnosis, 1) for r in results if r.imaging_stated),
        "top1_clinical_only_where_stated": sum(top_k_credit(r.clinical_only, r.diagnosis, 1) for r in results if r.imaging_stated),
        "unknown_to_engine": sorted({r.diagnosis for r in results if r.diagnosis not in r.probabilities}),
    }


def reliability(results: list[CaseResult], bins: int = RELIABILITY_BINS) -> list[dict]:
    """Every (case, candidate) probability against whether that candidate was the truth, in equal-width bins."""
    pairs = [(p, candidate == r.diagnosis) for r in results for candidate, p in r.probabilities.items()]
    # A true diagnosis the engine does not list was given probability 0: it counts in the lowest bin.
    pairs += [(0.0, True) for r in results if r.diagnosis not in r.probabilities]
    table = []
    for index in range(bins):
        low, high = index / bins, (index + 1) / bins
        members = [(p, y) for p, y in pairs if low <= p < high or (index == bins - 1 and p == 1.0)]
        if members:
            table.append({
                "bin": (low, high),
                "count": len(members),
                "mean_predicted": sum(p for p, _ in members) / len(members),
                "observed": sum(y for _, y in members) / len(members),
            })
    return table


def _number(value: float) -> str:
    """A count that may hold shares of ties, to two decimals at most (20.75, 13.5, 12)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _count(key: str) -> Callable[[dict], str]:
    return lambda s: f"{_number(s[key])}/{s['cases']} ({100 * s[key] / s['cases']:.0f} %)" if s["cases"] else "0/0"


# Each figure issue 14 asks for: its label, how it is shown, and the goal on the validation half.
FIGURES: tuple[tuple[str, Callable[[dict], str], str], ...] = (
    ("top-1", _count("top1"), "≥ 80 %"),
    ("top-3", _count("top3"), "≥ 95 %"),
    ("top-1, clinical context alone", _count("top1_clinical_only"), ""),
    ("top-1, imaging alone", _count("top1_imaging_only"), "more than context alone"),
    (
        "top-1 where the description states an imaging finding the engine reads: imaging alone, context alone",
        lambda s: f"{_number(s['top1_imaging_only_where_stated'])}, {_number(s['top1_clinical_only_where_stated'])} of {s['imaging_stated']}",
        "",
    ),
    ("Brier score", lambda s: f"{s['brier']:.3f}", ""),
    ("log loss", lambda s: f"{s['log_loss']:.3f}", ""),
    ("mean probability of a wrong first answer", lambda s: f"{100 * s['wrong_first_mean_probability']:.0f} %", "≤ 60 %"),
    ("true diagnosis under 5 % with its hallmark stated", lambda s: f"{len(s['hallmark_misses'])} of {s['hallmark_stated']}", "0"),
    ("cases whose truth ties for first (counted by share)", lambda s: f"{s['ties_for_first']}", ""),
)


def _by_diagnosis(summary: dict) -> str:
    return ", ".join(f"{d} {_number(hit)}/{total}" for d, (hit, total) in summary["by_diagnosis"].items())


def summary_lines(name: str, summary: dict) -> list[str]:
    lines = [f"{name}: {summary['cases']} cases"]
    lines += [f"  {label}: {shown(summary)}" for label, shown, _ in FIGURES]
    if summary["hallmark_misses"]:
        lines.append("  hallmark stated, truth under 5 %: " + ", ".join(summary["hallmark_misses"]))
    lines.append("  top-1 by diagnosis: " + _by_diagnosis(summary))
    if summary["unknown_to_engine"]:
        lines.append("  diagnoses the engine does not list (probability 0): " + ", ".join(summary["unknown_to_engine"]))
    return lines


def image_weight(result: CaseResult, candidate: str) -> float:
    """The candidate's summed log weight from the findings alone (its 'finding: ...' components)."""
    return sum(w for key, w in result.components.get(candidate, {}).items() if key.startswith(FINDING_PREFIX))


def overruled(result: CaseResult, separate_lr: float) -> list[str]:
    """Issue 14 point 6: the candidates ranked below the first answer although the findings favour them over it by
    separate_lr or more (features.json explanation.images_separate_lr): for each, the prior, not the images, put
    the first answer ahead. In ranked order."""
    leader = result.ranked[0]
    margin = math.log(separate_lr) - TIE
    return [c for c in result.ranked[1:] if image_weight(result, c) - image_weight(result, leader) >= margin]


def unnamed_overruled(result: CaseResult, separate_lr: float) -> list[str]:
    """The overruled candidates the explanation's "priors decide" line does not name."""
    return [c for c in overruled(result, separate_lr) if c not in result.line_named]


def overruled_lines(results: list[CaseResult], separate_lr: float) -> list[str]:
    """Per half: in how many cases the prior put the first answer ahead of a candidate the images favour, and in how
    many of those the explanation's line leaves one or more of them unnamed; on the tuning
    half each such case by name."""
    lines = []
    for name in HALVES:
        group = [r for r in results if r.half == name]
        if not group:
            continue
        some = [r for r in group if overruled(r, separate_lr)]
        unnamed = [r for r in some if unnamed_overruled(r, separate_lr)]
        truth = [r for r in unnamed if r.diagnosis in unnamed_overruled(r, separate_lr)]
        no_line = sum(not r.line_between for r in unnamed)
        lines.append(
            f"{name}: in {len(some)} of {len(group)} cases the images favour a candidate ranked below the first answer "
            f"by x{separate_lr:g} or more (the prior put the first answer ahead); the 'priors decide' line leaves "
            f"one or more of them unnamed in {len(unnamed)} (shows no line in {no_line}); the truth is among the "
            f"unnamed in {len(truth)}"
        )
        if name != HALVES[0]:
            continue
        for r in unnamed:
            shown = ", ".join(
                f"{c} x{math.exp(image_weight(r, c) - image_weight(r, r.ranked[0])):.2g} (rank {r.ranked.index(c) + 1})"
                for c in unnamed_overruled(r, separate_lr)
            )
            line = ", ".join(r.line_named) or "no line"
            lines.append(f"    {r.case_id}: {r.diagnosis}; first {r.ranked[0]}; line names: {line}; images favour {shown}")
    return lines


def markdown_table(results: list[CaseResult]) -> list[str]:
    """The per-half figures as the markdown table docs/literature-cases.md shows, with issue 14's goals."""
    summaries = {name: summarize([r for r in results if r.half == name]) for name in HALVES}
    header = " | ".join(f"{name} ({summaries[name]['cases']})" for name in HALVES)
    lines = [f"| | {header} | issue 14 goal (validation) |", "|---|---|---|---|"]
    lines += [f"| {label} | " + " | ".join(shown(summaries[n]) for n in HALVES) + f" | {goal} |" for label, shown, goal in FIGURES]
    for name in HALVES:
        lines += ["", f"Top-1 by diagnosis, {name}: {_by_diagnosis(summaries[name])}."]
    return lines


def limits_lines(results: list[CaseResult]) -> list[str]:
    """Per half: the missed top-1 by why, each case with the first answer and the stated shift, and the
    top-1 the stated evidence allows at most (docs/differential.md, issue 14's fifth pass)."""
    lines = []
    for name in HALVES:
        group = [r for r in results if r.half == name]
        if not group:
            continue
        found = limits(group)
        lines.append(
            f"{name}: top-1 {_number(found['top1'])}/{found['cases']}; at most {_number(found['reachable'])} "
            "with the stated evidence as the engine reads it"
        )
        for why in LIMITS:
            members = [r for r in group if limit(r) == why]
            lines.append(f"  {why}: {_number(found['missed'][why])} missed, {len(members)} cases")
            for r in members:
                hallmark = "; hallmark stated" if r.hallmark_stated else ""
                lines.append(f"    {r.case_id}: {r.diagnosis} -> {r.leader}, stated shift x{stated_shift(r):.3g}{hallmark}")
    return lines


def confidence_lines(results: list[CaseResult]) -> list[str]:
    """Per half: the mean probability of a wrong first answer, the cases above 60 %, and what pushed the wrong
    answers over the truth (docs/differential.md, issue 14's eighth pass), each case with its largest pushes."""
    lines = []
    for name in HALVES:
        group = [r for r in results if r.half == name]
        if not group:
            continue
        found = confidence_when_wrong(group)
        # The cases by name only on the tuning half, the half one may look at; the validation half by count.
        above = (", ".join(found["above"]) or "none") if name == HALVES[0] else str(len(found["above"]))
        lines.append(
            f"{name}: {found['wrong']} of {found['cases']} first answers wrong, mean probability "
            f"{100 * found['mean_probability']:.1f} %; above {100 * WRONG_FIRST_GOAL:.0f} %: {above}"
        )
        lines.append("  towards the wrong first answer (summed log-odds; cases where it pushed towards it):")
        lines += [f"    {key}: {shift:+.2f}; {count}" for key, (shift, count) in found["components"].items()]
        if name != HALVES[0]:
            continue
        for r in group:
            if r.wrong_first:
                shifts = sorted(towards_leader(r).items(), key=lambda kv: -kv[1])[:3]
                shown = ", ".join(f"{key} x{math.exp(shift):.2g}" for key, shift in shifts)
                lines.append(f"    {r.case_id}: {r.diagnosis} -> {r.leader} ({100 * r.best_wrong_probability:.0f} %): {shown}")
    return lines


def report_lines(results: list[CaseResult]) -> list[str]:
    """Both halves, then every case: its truth, the engine's first answer and the truth's probability."""
    lines = ["Research and teaching use only: a published-case check of a teaching aid, not a validation for diagnosis."]
    for name in HALVES:
        group = [r for r in results if r.half == name]
        if group:
            lines += summary_lines(name, summarize(group))
    lines.append("case (half): truth -> first answer (its probability); truth's probability")
    for r in results:
        lines.append(
            f"  {r.case_id} ({r.half}): {r.diagnosis} -> {r.top} ({100 * r.probabilities[r.top]:.0f} %); "
            f"truth {100 * r.true_probability:.1f} %"
        )
    return lines


def draw_reliability(results: list[CaseResult], path, title: str) -> None:
    """Predicted probability against observed frequency, one line per half, bins labelled with their counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5.2, 5.2), dpi=110)
    axes.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect calibration")
    for name, colour in zip(HALVES, ("tab:blue", "tab:orange")):
        table = reliability([r for r in results if r.half == name])
        xs = [row["mean_predicted"] for row in table]
        ys = [row["observed"] for row in table]
        axes.plot(xs, ys, marker="o", color=colour, label=name)
        for row in table:
            point = (row["mean_predicted"], row["observed"])
            axes.annotate(str(row["count"]), point, textcoords="offset points", xytext=(4, -10), fontsize=7, color=colour)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("predicted probability (bin mean)")
    axes.set_ylabel("observed frequency of the true diagnosis")
    axes.set_title(title, fontsize=9)
    axes.legend(loc="upper left", fontsize=8)
    caption = "Research and teaching use only. Numbers: candidate probabilities in each bin."
    figure.text(0.5, 0.005, caption, ha="center", fontsize=7)
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    figure.savefig(path)
    plt.close(figure)
