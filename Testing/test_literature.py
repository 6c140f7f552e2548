"""The published-case set (Testing/literature): its records, its one split, the mechanical table that
encodes descriptions into reports, the evaluator's measures, and the figures the differential reaches
on the validation half (docs/literature-cases.md)."""

import dataclasses
import json
import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from literature.cases import HALVES, check_case, load_cases, load_set, stored_split_matches_seeds, stratified_split
from literature.encode import CLINICAL, IMAGING, encode, load_mapping
from literature.evaluate import (
    BASE_WEIGHTS_OUTWEIGH,
    EVIDENCE_FAVOURS_LEADER,
    LOG_LOSS_FLOOR,
    NOTHING_SEPARATES,
    TIE,
    CaseResult,
    brier,
    confidence_when_wrong,
    FIGURES,
    HALLMARK_MISS,
    evaluate,
    hallmark_stated,
    limit,
    limits,
    log_loss,
    markdown_table,
    named_in_line,
    overruled,
    overruled_lines,
    reliability,
    stated_shift,
    states_imaging,
    towards_leader,
    summarize,
    top_k_credit,
    unnamed_overruled,
)

# An encoded case is a plain report: these read it as the differential's typed input.
from case_findings import plain_assess as assess
from case_findings import plain_observe as observe
from EMHAssistLib.differential import knowledge
from EMHAssistLib.errors import InputError
from EMHAssistLib.report_model import RatioKey

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "literature-cases.md"
MIMICS = {"angiolipoma", "disc_fragment", "meningioma", "tb_spondylitis", "synovial_cyst"}
ENGINE_DIAGNOSES = {"emh", "metastasis", "lymphoma", "myeloma", "myeloid_sarcoma", "abscess", "hematoma", "nerve_sheath_tumor"}

# The validation half as the differential ranks it, measured with tools/evaluate_differential.py
# (docs/literature-cases.md) on the knowledge of the branch diff after issue 14's third pass (a T2-dark rim for the
# synovial cyst, 'epidural fluid collection' read as fluid) and with batches 4 and 5 (two more validation myeloid
# sarcomas and one EMH, 49 cases). The 46 cases before batch 4 read, with the third pass's knowledge, top-1 21.25, top-3 34.25, imaging
# alone 10, Brier 0.715, log loss 1.775; with the second pass's, top-3 34.25, imaging alone 9.5, Brier 0.720, log
# loss 1.782. Before issue 14 (ba81a09) those 46 cases read top-1 13.5, top-3 24.0,
# clinical alone 11.5, imaging alone 6.0, Brier 0.892, log loss 3.193, wrong first answers 0.44 on average and 5
# hallmark misses. Issue 14's fourth pass (a thoracic site counted once for the angiolipoma, decided on the tuning
# half) moved the log loss from 1.828 to 1.829 and nothing else here. Issue 14's fifth pass (no age factor for
# metastasis at 60, Wang 2019 and Hooten 2006, decided on the tuning half) moved context alone 13 -> 13.5 (13 -> 13.5
# where imaging is stated), Brier 0.721 -> 0.712, log loss 1.829 -> 1.810, wrong first answers 0.38 -> 0.37.
# Issue 14's sixth pass (mixed or homogeneous signal, Wen 2001 and Hu 2013) read top-1 23.25, imaging alone 10.5,
# Brier 0.704, log loss 1.793. The seventh pass (a T1-isointense mass + for the haematoma, Wen 2001, J Comput
# Assist Tomogr 1999 and Fukui 1999, where it was an unsourced -; no tuning figure moved) moved imaging alone
# 10.5 -> 10 (also where imaging is stated), Brier 0.704 -> 0.691, log loss 1.793 -> 1.770. The eighth pass
# (bilateral paraspinal masses and a paraspinal abscess join the group beyond_the_canal, decided on the tuning half:
# Brier 0.638 -> 0.633, log loss 1.523 -> 1.517, imaging alone 15.5 -> 16.5) moved Brier 0.691 -> 0.693 and log loss
# 1.770 -> 1.774 here. The ninth pass (a paraspinal part, on one side or both, + for the myeloid sarcoma, Radiology
# Review Manual; decided on the tuning half: Brier 0.6325 -> 0.6301, log loss 1.5167 -> 1.4870, top-1 unchanged) moved
# Brier 0.6926 -> 0.6924 and log loss 1.7741 -> 1.7751 here (no validation myeloid sarcoma states a paraspinal part).
# Whoever changes the knowledge or the set updates these with the reason.
VALIDATION = {
    "cases": 49,
    "top1": 23.25,
    "top3": 35.25,
    "top1_clinical_only": 13.5,
    "top1_imaging_only": 10,
    "imaging_stated": 45,
    "top1_imaging_only_where_stated": 10,
    "top1_clinical_only_where_stated": 13.5,
    "brier": 0.692,
    "log_loss": 1.775,
    "wrong_first_mean_probability": 0.38,
    "hallmark_misses": 0,
}


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return load_cases()


@pytest.fixture(scope="module")
def mapping() -> dict:
    return load_mapping()


# --- the records ------------------------------------------------------------------------------------


def test_every_case_is_complete_and_cited(cases):
    assert len(cases) >= 80
    assert [problem for case in cases for problem in check_case(case)] == []
    assert len({case["id"] for case in cases}) == len(cases)


def test_every_engine_diagnosis_and_every_mimic_has_cases(cases):
    counts = Counter(case["diagnosis"] for case in cases)
    assert set(counts) == ENGINE_DIAGNOSES | MIMICS == set(load_set()["diagnosis_ids"])
    assert min(counts.values()) >= 3
    assert counts["emh"] == max(counts.values())


def test_the_stored_split_is_the_seeded_stratified_one(cases):
    batches = load_set()["split"]["batches"]
    assert stored_split_matches_seeds(cases, batches)
    assert [batch["cases"] for batch in batches] == [sum(c["batch"] == b["batch"] for c in cases) for b in batches]
    for batch in batches:
        members = [case for case in cases if case["batch"] == batch["batch"]]
        sizes = Counter(case["half"] for case in members)
        assert abs(sizes["tuning"] - sizes["validation"]) <= 1
        for diagnosis in {case["diagnosis"] for case in members}:
            per_half = Counter(case["half"] for case in members if case["diagnosis"] == diagnosis)
            assert abs(per_half["tuning"] - per_half["validation"]) <= 1, diagnosis


def test_moving_one_case_to_the_other_half_is_caught(cases):
    moved = [dict(case) for case in cases]
    moved[0]["half"] = "validation" if moved[0]["half"] == "tuning" else "tuning"
    assert not stored_split_matches_seeds(moved, load_set()["split"]["batches"])


def test_the_split_depends_on_the_seed_only_through_the_shuffle(cases):
    first = [case for case in cases if case["batch"] == 1]
    seed = load_set()["split"]["batches"][0]["seed"]
    other = stratified_split(first, seed + 1)
    assert Counter(other.values()) == Counter(case["half"] for case in first)
    assert other != {case["id"]: case["half"] for case in first}


# --- the mechanical table ---------------------------------------------------------------------------


def test_every_term_a_case_uses_is_in_the_table_and_its_quote_says_it(cases, mapping):
    """The table is applied mechanically: a term must be one of the table's, and the words quoted
    for it must match one of its patterns."""
    unmatched = []
    for case in cases:
        for section, table in (("findings", mapping["imaging"]), ("clinical", mapping["clinical"])):
            for entry in case[section]:
                rule = table[entry["term"]]
                if not any(re.search(pattern, entry["quote"], re.IGNORECASE) for pattern in rule["patterns"]):
                    unmatched.append((case["id"], entry["term"], entry["quote"]))
    assert unmatched == []


EPIDURAL_MASS_TERMS = {"epidural", "posterior_epidural", "anterior_epidural", "lateral_epidural", "circumferential_epidural"}


def test_an_epidural_mass_called_a_fluid_collection_is_read_as_fluid_on_t2(cases):
    """The rule of docs/literature-cases.md: words that call the epidural mass itself a fluid
    collection state its T2 signal, so the quote is read as `t2_fluid` too (issue 14, third pass: two
    cases, one in each half, had dropped it)."""
    dropped = [
        case["id"]
        for case in cases
        for entry in case["findings"]
        if entry["term"] in EPIDURAL_MASS_TERMS
        and re.search(r"fluid collection", entry["quote"], re.IGNORECASE)
        and "t2_fluid" not in {other["term"] for other in case["findings"]}
    ]
    assert dropped == []


SIGNAL_TERM = re.compile(r"t[12]_(?!heterogeneous|dark_rim)")


def test_a_mass_whose_signal_is_called_mixed_or_homogeneous_is_read_as_such(cases, mapping):
    """The rule of docs/literature-cases.md (issue 14's sixth pass): a T1 or T2 signal quote that calls
    the signal heterogeneous, mixed or inhomogeneous is read as `t1_heterogeneous` / `t2_heterogeneous`
    too, and any quote that calls the mass (not its enhancement) homogeneous as `signal_homogeneous`;
    both set the reader's finding `signal_heterogeneous`, in every case of both halves."""
    homogeneous = mapping["imaging"]["signal_homogeneous"]["patterns"]
    dropped = []
    for case in cases:
        terms = {entry["term"] for entry in case["findings"]}
        for entry in case["findings"]:
            if SIGNAL_TERM.match(entry["term"]) and re.search(r"heterogen|mixed|inhomogen", entry["quote"], re.IGNORECASE):
                if f"{entry['term'][:2]}_heterogeneous" not in terms:
                    dropped.append((case["id"], entry["quote"]))
            if any(re.search(pattern, entry["quote"], re.IGNORECASE) for pattern in homogeneous):
                if "signal_homogeneous" not in terms:
                    dropped.append((case["id"], entry["quote"]))
    assert dropped == []
    mixed = encode({"id": "x", "patient": {}, "clinical": [], "findings": [{"term": "t2_heterogeneous", "quote": "mixed"}]}, mapping)
    assert mixed.report["morphology"] == {"signal_heterogeneous": True}
    even = encode({"id": "x", "patient": {}, "clinical": [], "findings": [{"term": "signal_homogeneous", "quote": "a homogeneous mass"}]}, mapping)
    assert even.report["morphology"] == {"signal_heterogeneous": False}


def test_every_table_term_and_every_case_is_in_the_docs(mapping):
    docs = DOCS.read_text(encoding="utf-8")
    for section in ("imaging", "clinical"):
        for term, rule in mapping[section].items():
            assert rule["reason"].strip(), term
            assert f"`{term}`" in docs, f"{term} is missing from docs/literature-cases.md"
    for case in load_cases():
        assert f"`{case['id']}`" in docs, f"case {case['id']} is missing from docs/literature-cases.md"
    for diagnosis in mapping["hallmarks"]:
        if diagnosis != "about":
            assert f"`{diagnosis}`" in docs


def test_every_case_encodes_into_a_report_the_differential_accepts(cases, mapping):
    for case in cases:
        ranking = assess(encode(case, mapping).report)["differential"]
        assert abs(sum(entry["probability"] for entry in ranking) - 1) < 1e-9, case["id"]


def case_with(findings=(), clinical=(), patient=None, levels=None) -> dict:
    return {
        "id": "unit",
        "diagnosis": "emh",
        "half": "tuning",
        "patient": patient or {"age": None, "sex": None},
        "findings": [{"term": term, "quote": quote} for term, quote in findings],
        "clinical": [{"term": term, "quote": quote} for term, quote in clinical],
        "levels": levels,
    }


def test_t2_hypointense_to_cord_reads_as_a_ratio_with_an_interval(mapping):
    report = encode(case_with([("t2_hypo", "hypointense on T2")]), mapping).report
    assert report["ratios"] == {RatioKey.parse("T2 mass/cord"): {"value": 0.65, "ci95": [0.5, 0.8]}}


def test_isointense_on_t1_and_marked_t2_darkness(mapping):
    report = encode(case_with([("t1_iso", "isointense"), ("t2_markedly_hypo", "markedly hypointense")]), mapping).report
    assert report["ratios"][RatioKey.parse("T1 mass/cord")] == {"value": 1.0, "ci95": [0.9, 1.1]}
    assert report["ratios"][RatioKey.parse("T2 mass/cord")] == {"value": 0.45, "ci95": [0.35, 0.55]}


def test_enhancement_grades(mapping):
    def enhancement(term):
        return encode(case_with([(term, "x")]), mapping).report["enhancement"]["mass"]

    assert enhancement("enh_none") == {"value": 0.02, "ci95": [0.0, 0.05]}
    assert enhancement("enh") == {"value": 0.6, "ci95": [0.45, 0.8]}
    assert enhancement("enh_marked")["ci95"][0] > enhancement("enh")["value"]


def test_rim_enhancement_sets_the_rim_measure_and_leaves_the_mass_mean_unmeasured(mapping):
    report = encode(case_with([("enh_rim", "peripheral enhancement")]), mapping).report
    assert report["morphology"]["rim_enhancement"] == {"value": 0.4, "ci95": [0.3, 0.5]}
    assert report["enhancement"] == {}


def test_two_statements_of_one_quantity_give_the_interval_covering_both(mapping):
    report = encode(case_with([("t1_iso", "isointense"), ("t1_hypo", "hypointense")]), mapping).report
    assert report["ratios"][RatioKey.parse("T1 mass/cord")] == {"value": pytest.approx(0.85), "ci95": [0.6, 1.1]}


def test_contradicting_flags_are_left_unmeasured_and_listed(mapping):
    encoded = encode(case_with([("vertebral_lesion", "vertebral body"), ("no_vertebral_lesion", "intact")]), mapping)
    assert "vertebral_body_lesion" not in encoded.report["morphology"]
    assert encoded.conflicts == ["vertebral_body_lesion"]


def test_a_term_that_sets_nothing_is_listed_as_unmeasured(mapping):
    encoded = encode(case_with([("epidural", "an epidural mass"), ("t2_heterogeneous", "heterogeneous")]), mapping)
    assert encoded.unmeasured == ["epidural"]
    # Mixed signal states no intensity, so no ratio; since issue 14's sixth pass it is a reader's finding.
    assert encoded.report["ratios"] == {} and encoded.report["morphology"] == {"signal_heterogeneous": True}


def test_an_epidural_position_wins_over_a_paraspinal_one(mapping):
    both = encode(case_with([("paraspinal_bilateral", "bilateral"), ("posterior_epidural", "posterior")]), mapping)
    alone = encode(case_with([("paraspinal_bilateral", "bilateral")]), mapping)
    assert both.report["morphology"]["mass_position"] == "posterior_epidural"
    assert both.report["morphology"]["paraspinal_bilateral"] is True
    assert alone.report["morphology"]["mass_position"] == "paraspinal_bilateral"


def test_a_paraspinal_part_on_an_unstated_side_is_encoded_without_guessing_the_side(mapping):
    encoded = encode(case_with([("paraspinal", "a paravertebral mass")]), mapping)
    assert encoded.unmeasured == []
    assert encoded.report["morphology"] == {"paraspinal_component": True}


def test_restricted_diffusion_becomes_a_mass_adc_region_with_the_stated_interval(mapping):
    report = encode(case_with([("dwi_restricted", "restriction")]), mapping).report
    observations = {o.feature.id: o.verdict for o in observe(report)[0]}
    assert report["regions"]["mass"]["ADC"]["mean"] == 0.6
    assert "95 % CI 0.50-0.70" in observations["mass_low_adc"].shown


def test_clinical_terms_map_to_the_vocabulary_and_unknown_targets_are_listed(mapping):
    encoded = encode(
        case_with(
            clinical=[("thalassemia_unspecified", "beta thalassemia"), ("prostate_cancer", "prostatic carcinoma"), ("sudden_pain", "sudden pain")],
            patient={"age": 61, "sex": "male"},
        ),
        mapping,
    )
    clinical = encoded.report["clinical"]
    assert clinical["conditions"] == ["hemolytic_anemia", "known_primary_cancer"]
    assert clinical["primary"] == "prostate"
    assert clinical["findings"] == ["sudden_onset"]
    assert clinical["age"] == 61 and clinical["sex"] == "male"


def test_a_clinical_target_missing_from_the_vocabulary_is_not_passed_on(mapping):
    mapping = {**mapping, "clinical": {**mapping["clinical"], "made_up": {"patterns": ["x"], "findings": ["no_such_finding"], "reason": "test"}}}
    encoded = encode(case_with(clinical=[("made_up", "x")]), mapping)
    assert encoded.not_in_vocabulary == ["no_such_finding"]
    assert "findings" not in encoded.report["clinical"]


def test_sections_split_imaging_from_clinical_context(mapping):
    case = case_with([("t1_iso", "iso")], [("fever", "fever")], levels={"from": "T3", "to": "T8", "quote": "T3 to T8"})
    imaging = encode(case, mapping, (IMAGING,)).report
    clinical = encode(case, mapping, (CLINICAL,)).report
    assert imaging["clinical"] == {} and imaging["levels"] == {"mass": {"from": "T3", "to": "T8"}}
    assert clinical["ratios"] == {} and "levels" not in clinical and clinical["clinical"]["findings"] == ["fever"]


def test_an_unknown_term_is_one_line_naming_the_case(mapping):
    with pytest.raises(InputError) as error:
        encode(case_with([("t2_purple", "purple on T2")]), mapping)
    assert str(error.value) == "case unit: unknown imaging term 't2_purple' (not in mapping.json)"


def test_the_tool_reports_a_malformed_case_file_in_one_line(tmp_path):
    broken = tmp_path / "cases.json"
    broken.write_text(json.dumps({"cases": [{**case_with([("t2_purple", "x")]), "id": "bad"}]}))
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "evaluate_differential.py"), "--cases", str(broken)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr.strip() == "error: case bad: unknown imaging term 't2_purple' (not in mapping.json)"
    not_json = tmp_path / "not.json"
    not_json.write_text("{")
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "evaluate_differential.py"), "--cases", str(not_json)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr.startswith(f"error: {not_json}: cannot read the case set") and run.stderr.count("\n") == 1


def test_the_tool_can_show_the_tuning_half_alone(tmp_path):
    """`--half tuning` prints the tuning half's figures and cases only, so that whoever tunes the
    knowledge need not see the validation half."""
    two = tmp_path / "cases.json"
    tuning = {**case_with([("posterior_epidural", "posterior")]), "id": "tuned", "diagnosis": "emh", "half": "tuning"}
    validation = {**tuning, "id": "held_out", "half": "validation"}
    two.write_text(json.dumps({"cases": [tuning, validation]}))
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "evaluate_differential.py"), "--cases", str(two), "--half", "tuning"],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "tuning: 1 cases" in run.stdout and "tuned (tuning)" in run.stdout
    assert "validation:" not in run.stdout and "(validation)" not in run.stdout and "held_out" not in run.stdout


# --- the evaluator's measures -----------------------------------------------------------------------


def result(
    diagnosis: str, probabilities: dict[str, float], half: str = "validation", hallmark: bool = False, imaging: bool = True
) -> CaseResult:
    ranked = sorted(probabilities, key=probabilities.get, reverse=True)
    return CaseResult("c", diagnosis, half, probabilities, ranked, probabilities, probabilities, hallmark, imaging)


def test_brier_and_log_loss_on_known_values():
    right = result("emh", {"emh": 0.8, "lymphoma": 0.2})
    unknown = result("angiolipoma", {"emh": 0.5, "lymphoma": 0.5})
    assert brier(right) == pytest.approx(0.2**2 + 0.2**2)
    assert log_loss(right) == pytest.approx(-math.log(0.8))
    assert brier(unknown) == pytest.approx(0.25 + 0.25 + 1)
    assert log_loss(unknown) == pytest.approx(-math.log(LOG_LOSS_FLOOR))


def test_a_tie_earns_its_share_whatever_order_the_engine_shows():
    tied = {"emh": 0.4, "lymphoma": 0.4, "abscess": 0.2}
    assert top_k_credit(tied, "emh", 1) == 0.5 and top_k_credit(tied, "lymphoma", 1) == 0.5
    assert top_k_credit(tied, "emh", 3) == 1 and top_k_credit(tied, "abscess", 1) == 0
    three_way = {"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}
    assert top_k_credit(three_way, "d", 3) == pytest.approx(0.75)
    assert top_k_credit({"a": 0.5, "b": 0.5 - TIE / 2}, "b", 1) == 0.5
    assert top_k_credit({"a": 1.0}, "angiolipoma", 3) == 0
    shown_first = CaseResult("c", "emh", "validation", tied, ["emh", "lymphoma", "abscess"], tied, tied, False, True)
    assert shown_first.top1 == 0.5 and shown_first.wrong_first and shown_first.best_wrong_probability == 0.4


def test_summary_counts_wrong_answers_and_hallmark_misses():
    results = [
        result("emh", {"emh": 0.7, "lymphoma": 0.3}),
        result("emh", {"emh": 0.04, "lymphoma": 0.96}, hallmark=True),
        result("lymphoma", {"emh": 0.6, "lymphoma": 0.4}),
    ]
    summary = summarize(results)
    assert (summary["top1"], summary["top3"]) == (1, 3)
    assert summary["wrong_first_mean_probability"] == pytest.approx((0.96 + 0.6) / 2)
    assert summary["hallmark_misses"] == ["c"]
    assert summary["by_diagnosis"] == {"emh": (1, 2), "lymphoma": (0, 1)}


def test_reliability_bins_pool_every_candidate_and_count_unknown_truths_at_zero():
    table = reliability([result("emh", {"emh": 0.9, "lymphoma": 0.1}), result("angiolipoma", {"emh": 0.7, "lymphoma": 0.3})])
    lowest, *_, highest = table
    assert lowest["count"] == 2 and lowest["observed"] == pytest.approx(0.5)  # lymphoma 0.1 (no) and angiolipoma 0 (yes)
    assert highest["count"] == 1 and highest["observed"] == 1.0
    assert sum(row["count"] for row in table) == 5


def test_the_markdown_table_shows_every_figure_for_both_halves():
    results = [result("emh", {"emh": 0.7, "lymphoma": 0.3}, "tuning"), result("lymphoma", {"emh": 0.6, "lymphoma": 0.4})]
    table = markdown_table(results)
    assert table[0] == "| | tuning (1) | validation (1) | issue 14 goal (validation) |"
    assert table[2] == "| top-1 | 1/1 (100 %) | 0/1 (0 %) | ≥ 80 % |"
    assert len([line for line in table if line.startswith("| ")]) == 1 + len(FIGURES)


def test_a_description_that_names_only_an_epidural_mass_states_no_imaging_finding(mapping):
    silent = encode(case_with([("epidural", "an epidural mass")]), mapping, (IMAGING,)).report
    ribs = encode(case_with([("epidural", "an epidural mass"), ("rib_expansion", "ribs")]), mapping, (IMAGING,)).report
    levels_only = encode(case_with([("epidural", "an epidural mass")], levels={"from": "T3", "to": "T8"}), mapping, (IMAGING,)).report
    assert not states_imaging(silent)
    assert states_imaging(ribs) and states_imaging(levels_only)


def test_imaging_and_context_alone_are_also_counted_where_the_images_state_something():
    stated = CaseResult("a", "emh", "validation", {"emh": 1.0}, ["emh"], {"lymphoma": 1.0}, {"emh": 1.0}, False, True)
    silent = CaseResult("b", "emh", "validation", {"emh": 1.0}, ["emh"], {"emh": 1.0}, {"lymphoma": 1.0}, False, False)
    summary = summarize([stated, silent])
    assert (summary["top1_imaging_only"], summary["top1_clinical_only"]) == (1, 1)
    assert summary["imaging_stated"] == 1
    assert (summary["top1_imaging_only_where_stated"], summary["top1_clinical_only_where_stated"]) == (1, 0)


def test_hallmarks_need_every_term_of_one_group(mapping):
    lone_ribs = {**case_with([("rib_expansion", "ribs")]), "diagnosis": "emh"}
    half_group = {**case_with([("enh_rim", "rim")]), "diagnosis": "abscess"}
    assert hallmark_stated(lone_ribs, mapping)
    assert not hallmark_stated(half_group, mapping)


def test_why_a_first_answer_is_wrong_is_read_from_what_the_case_states_against_the_base_weights(mapping):
    # Issue 14's fifth pass: each missed top-1 is put in one class by the shift that everything the case
    # states (clinical factors and findings, before the floor) gives the truth against the first answer.
    silent = {**case_with([("epidural", "an epidural mass")]), "id": "silent", "diagnosis": "emh"}
    dumbbell = {**case_with([("foraminal_extension", "a dumbbell through the foramen")]), "id": "dumbbell",
                "diagnosis": "nerve_sheath_tumor"}
    destroyed = {**case_with([("vertebral_destruction", "a destroyed body")]), "id": "destroyed", "diagnosis": "emh"}
    won = {**destroyed, "id": "won", "diagnosis": "metastasis"}
    results = {r.case_id: r for r in evaluate([silent, dumbbell, destroyed, won], assess, mapping)}
    # An epidural mass and nothing else: the base weights put metastasis first and nothing stated moves it.
    assert results["silent"].leader == "metastasis" and stated_shift(results["silent"]) == pytest.approx(1)
    assert limit(results["silent"]) == NOTHING_SEPARATES
    # A foramen counts x4 (++) for the nerve-sheath tumour and nothing for metastasis: 0.08 x 4 ties 0.32.
    assert results["dumbbell"].top1 == 0.5 and stated_shift(results["dumbbell"]) == pytest.approx(4)
    assert limit(results["dumbbell"]) == BASE_WEIGHTS_OUTWEIGH
    # A destroyed body counts ++ for metastasis and -- for EMH: what is stated points away from the truth.
    assert stated_shift(results["destroyed"]) < 1 and limit(results["destroyed"]) == EVIDENCE_FAVOURS_LEADER
    assert limit(results["won"]) is None
    found = limits(list(results.values()))
    assert found["missed"] == {NOTHING_SEPARATES: 1, BASE_WEIGHTS_OUTWEIGH: 0.5, EVIDENCE_FAVOURS_LEADER: 1}
    assert found["reachable"] == pytest.approx(1 + 0.5 + 0.5)  # the won case, the tie's half, and its other half


def test_what_pushed_a_wrong_first_answer_over_the_truth_is_split_by_base_weight_term_and_finding(mapping):
    # Issue 14's eighth pass (point 4, a wrong first answer never above 60 % on average): which rules make the
    # engine confident when it is wrong. A destroyed body stated for an EMH (the term sets a body lesion too, the
    # two at half weight each): metastasis leads by its base weight (0.32 against 0.02, x16) and by the body
    # (lesion ++ and destruction ++ for metastasis, - and -- for EMH: 2^3.5); nothing else moved them.
    destroyed = {**case_with([("vertebral_destruction", "a destroyed body")]), "id": "destroyed", "diagnosis": "emh"}
    mds = {**case_with([("epidural", "an epidural mass")], [("myelodysplastic_syndrome", "myelodysplastic syndrome")]), "id": "mds", "diagnosis": "emh"}
    won = {**destroyed, "id": "won", "diagnosis": "metastasis"}
    results = {r.case_id: r for r in evaluate([destroyed, mds, won], assess, mapping)}
    shifts = towards_leader(results["destroyed"])
    assert results["destroyed"].leader == "metastasis"
    assert set(shifts) == {"base weights", "finding: vertebral_destruction", "finding: vertebral_body_lesion"}
    assert shifts["base weights"] == pytest.approx(math.log(16))
    assert shifts["finding: vertebral_destruction"] + shifts["finding: vertebral_body_lesion"] == pytest.approx(3.5 * math.log(2))
    # Myelodysplasia raises EMH (and the myeloid sarcoma) to weight 0.3: a push away from the leader, negative.
    assert towards_leader(results["mds"])["context: myelodysplastic_syndrome"] < 0
    found = confidence_when_wrong(list(results.values()))
    assert found["wrong"] == 2 and found["cases"] == 3
    assert found["mean_probability"] == pytest.approx((results["destroyed"].best_wrong_probability + results["mds"].best_wrong_probability) / 2)
    assert found["components"]["base weights"] == (pytest.approx(2 * math.log(16)), 2)
    assert found["above"] == [r for r in ("destroyed", "mds") if results[r].best_wrong_probability > 0.6]


def _tool_lines_on_one_case(tmp_path, option: str) -> list[str]:
    """tools/evaluate_differential.py's output with `option` on one tuning EMH case that states only an epidural mass."""
    one = tmp_path / "cases.json"
    silent = {**case_with([("epidural", "an epidural mass")]), "id": "silent", "diagnosis": "emh", "half": "tuning"}
    one.write_text(json.dumps({"cases": [silent]}))
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "evaluate_differential.py"), "--cases", str(one), option],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


def test_the_tool_prints_how_confident_the_wrong_first_answers_are(tmp_path):
    lines = _tool_lines_on_one_case(tmp_path, "--confidence")
    assert lines[0] == "tuning: 1 of 1 first answers wrong, mean probability 30.4 %; above 60 %: none"
    assert "    base weights: +2.77; 1" in lines
    assert "    silent: emh -> metastasis (30 %): base weights x16" in lines


def test_a_truth_the_engine_does_not_list_counts_as_evidence_for_the_leader():
    unknown = result("synovial_cyst_of_the_ligament", {"emh": 0.6, "lymphoma": 0.4})
    assert limit(unknown) == EVIDENCE_FAVOURS_LEADER


def test_the_tool_prints_why_each_first_answer_is_wrong(tmp_path):
    lines = _tool_lines_on_one_case(tmp_path, "--limits")
    assert lines[0] == "tuning: top-1 0/1; at most 0 with the stated evidence as the engine reads it"
    assert f"  {NOTHING_SEPARATES}: 1 missed, 1 cases" in lines
    assert "    silent: emh -> metastasis, stated shift x1" in lines


def test_a_candidate_the_images_favour_below_the_first_answer_is_found_and_whether_the_line_names_it():
    # Issue 14 point 6 beyond the two leaders: the base weights put metastasis first; the findings favour the
    # haematoma (x2, the threshold at which images separate) and EMH (x4), ranked below the runner-up; the
    # abscess's x1.5 does not separate it, and a clinical factor is not an image.
    probabilities = {"metastasis": 0.4, "abscess": 0.3, "hematoma": 0.2, "emh": 0.1}
    components = {
        "metastasis": {"base weights": math.log(0.32)},
        "abscess": {"base weights": math.log(0.12), "finding: mass_fluid_bright_T2": math.log(1.5), "context: fever": math.log(3)},
        "hematoma": {"base weights": math.log(0.08), "finding: mass_signal_heterogeneous": math.log(2)},
        "emh": {"base weights": math.log(0.02), "finding: rib_expansion": math.log(4)},
    }
    found = CaseResult(
        "c", "hematoma", "tuning", probabilities, list(probabilities), probabilities, probabilities, False, True,
        components=components, line_between=("metastasis", "abscess"), line_named=("metastasis", "abscess"),
    )
    assert overruled(found, 2) == ["hematoma", "emh"]
    assert unnamed_overruled(found, 2) == ["hematoma", "emh"]
    assert unnamed_overruled(dataclasses.replace(found, line_named=("metastasis", "hematoma")), 2) == ["emh"]
    assert unnamed_overruled(dataclasses.replace(found, line_named=("metastasis", "hematoma", "emh")), 2) == []
    assert overruled(found, 5) == []
    lines = overruled_lines([found], 2)
    assert lines[0].startswith("tuning: in 1 of 1 cases the images favour a candidate ranked below the first answer by x2")
    assert "the 'priors decide' line leaves one or more of them unnamed in 1 (shows no line in 0); the truth is among the unnamed in 1" in lines[0]
    assert lines[1] == "    c: hematoma; first metastasis; line names: metastasis, abscess; images favour hematoma x2 (rank 3), emh x4 (rank 4)"


# The explanation's "priors decide" line names every candidate the images favour over the leader by x2 or more and
# the prior holds back (ranking.challengers; issue 14 point 6, docs/differential.md, ninth to eleventh passes). Measured
# with `tools/evaluate_differential.py --overruled`, the candidates named read from the line's words (evaluate.named_in_line):
# ninth pass, the runner-up only: tuning 12, 10, 3, 2; validation 24, 20, 1, 4; tenth pass, the first candidate the images
# favour: tuning 12, 6, 0, 1; validation 24, 18, 0, 3; eleventh pass, all of them: as pinned. Both halves (an explanation's
# honesty, not an accuracy figure): per half, the cases with such a candidate, those where the line leaves one or more of
# them unnamed, those of these with no line at all, and those where the truth is among the unnamed. Pinned so that a
# change to the line (engine code) shows here.
OVERRULED = {"tuning": (12, 0, 0, 0), "validation": (24, 0, 0, 0)}


def test_how_often_the_line_leaves_unnamed_a_candidate_the_images_favour_over_the_first_answer(cases, mapping):
    separate = knowledge().images_separate_lr
    for half, pinned in OVERRULED.items():
        results = evaluate([case for case in cases if case["half"] == half], assess, mapping)
        some = [r for r in results if overruled(r, separate)]
        unnamed = [r for r in some if unnamed_overruled(r, separate)]
        truth = [r for r in unnamed if r.diagnosis in unnamed_overruled(r, separate)]
        assert (len(some), len(unnamed), sum(not r.line_between for r in unnamed), len(truth)) == pinned, half
        assert sum(len(overruled(r, separate)) > 1 for r in some) >= 5, half  # the line names several somewhere
        for r in results:
            shown = assess(encode(next(c for c in cases if c["id"] == r.case_id), mapping).report)["priors_decide"]
            assert r.line_between == tuple(shown["between"] if shown else ()), r.case_id
            assert set(r.line_between) <= set(r.line_named), r.case_id


def test_the_candidates_a_line_names_are_read_from_its_words():
    deciding = {
        "between": ["metastasis", "disc_fragment"],
        "why": "The images favour 3 candidates over metastasis (the measured findings shift the odds towards disc fragment "
        "by ×16 and towards EMH and nerve-sheath tumour by ×2); the clinical history outweighs them (prior 66 % against 1 % to 8 %).",
        "text": "… To separate metastasis from disc fragment: Assess the lymphoma marker …",
    }
    assert named_in_line(deciding) == ("emh", "metastasis", "nerve_sheath_tumor", "disc_fragment")
    assert named_in_line(None) == ()
    assert named_in_line({**deciding, "why": None, "text": "The images do not separate EMH from lymphoma (×1)."}) == ("emh", "lymphoma")
    assert named_in_line({**deciding, "why": "EMHAssist weighs nothing here."}) == ()  # a word, not a part of one
    # The reading holds only while no candidate's short name is a word of another's ("epidural abscess" and a
    # candidate called "abscess" would both be read from the first).
    shorts = [d.short for d in knowledge().diagnoses.values()]
    assert [(a, b) for a in shorts for b in shorts if a != b and re.search(rf"\b{re.escape(a)}\b", b)] == []


# --- the figures on the validation half -------------------------------------------------------------


def test_when_the_history_ranks_the_leaders_the_line_says_how_the_images_stand_and_names_a_step(cases, mapping):
    # Issue 14 point 6 on every published case (an explanation's honesty, not an accuracy figure, so
    # both halves): where the prior puts the leader first, the line says whether the images do not
    # separate it from the candidate set against it or favour that candidate, as the measured shift says,
    # and names a sequence, finding or test that would separate them (not the generic fallback). Before, 22
    # cases read "the images do not separate" while the images favoured the runner-up by x2 to x16. The
    # candidates set against the leader are the runner-up unless the images favour one or more candidates over the
    # leader by x2 or more: then every one of those the prior holds back, in ranked order, the step separating the
    # leader from the first (eleventh pass; the tenth named only the first, and left others unnamed in 6 tuning and
    # 18 validation cases; before the tenth, the line left such a candidate unnamed in 10 tuning and 20 validation cases).
    separating = math.log(knowledge().images_separate_lr) - 1e-9  # a shift of exactly x2 separates them
    fallback, diagnoses = knowledge().fallback, knowledge().diagnoses
    shown = challenged = several = 0
    for case in cases:
        result = assess(encode(case, mapping).report)
        first, *rest = result["differential"]
        images = {entry["id"]: sum(item["weight"] for item in entry["evidence"]) for entry in result["differential"]}
        favoured = [entry for entry in rest if images[entry["id"]] - images[first["id"]] >= separating]
        named = [entry for entry in favoured or rest[:1] if images[first["id"]] - images[entry["id"]] < separating and first["prior"] > entry["prior"]]
        deciding = result["priors_decide"]
        assert (deciding is not None) == bool(named), case["id"]
        if deciding is None:
            continue
        second = named[0]
        shown += 1
        challenged += second is not rest[0]
        several += len(named) > 1
        assert deciding["between"] == [first["id"], second["id"]], case["id"]
        claim = "The images favour" if favoured else "The images do not separate"
        assert deciding["text"].startswith(claim), (case["id"], deciding["text"])
        assert all(re.search(rf"\b{re.escape(diagnoses[entry['id']].short)}\b", deciding["why"]) for entry in named), case["id"]
        # The prior is named for what made it (seventh pass): the history only when a clinical term
        # moved the leader's or a named candidate's prior, else the base weights.
        history = any(entry["prior_factors"] for entry in (first, *named))
        assert ("clinical history" in deciding["text"]) == history, (case["id"], deciding["text"])
        assert ("base weight" in deciding["text"]) != history, (case["id"], deciding["text"])
        pair = "them" if len(named) == 1 else f"{diagnoses[first['id']].short} from {diagnoses[second['id']].short}"
        step = deciding["text"].split(f" To separate {pair}: ", 1)[1]
        assert step and not step.startswith(f"{fallback.name}:"), case["id"]
        if second is rest[0]:
            assert result["next_best"]["fallback"] is None and step == result["next_best"]["text"], case["id"]
    # the check ran where the history decides, on the candidates further down, and where it names several
    assert shown >= 10 and challenged >= 5 and several >= 10


@pytest.fixture(scope="module")
def validation_results(cases, mapping) -> list[CaseResult]:
    return evaluate([case for case in cases if case["half"] == "validation"], assess, mapping)


def test_every_hallmark_names_its_sources(mapping):
    references = knowledge().references
    hallmarks = {dx: rule for dx, rule in mapping["hallmarks"].items() if dx != "about"}
    assert set(hallmarks) <= set(knowledge().diagnoses)
    for diagnosis, rule in hallmarks.items():
        assert isinstance(rule.get("source"), str) and rule["source"].strip(), diagnosis
        assert isinstance(rule.get("refs"), list), diagnosis
        assert all(ref in references for ref in rule["refs"]), (diagnosis, rule["refs"])
        # A hallmark with no reference in the knowledge says it is an expert rule.
        assert rule["refs"] or "expert rule" in rule["source"], diagnosis


def test_on_the_validation_half_a_stated_hallmark_keeps_the_truth_at_5_percent_or_more(validation_results):
    stated = [r for r in validation_results if r.hallmark_stated]
    assert len(stated) >= 5  # the goal is checked on cases that state a hallmark, not vacuously
    assert [(r.case_id, round(r.true_probability, 3)) for r in stated if r.true_probability < HALLMARK_MISS] == []


def test_validation_half_figures(validation_results):
    summary = summarize(validation_results)
    measured = {
        "cases": summary["cases"],
        "top1": round(summary["top1"], 2),
        "top3": round(summary["top3"], 2),
        "top1_clinical_only": round(summary["top1_clinical_only"], 2),
        "top1_imaging_only": round(summary["top1_imaging_only"], 2),
        "imaging_stated": summary["imaging_stated"],
        "top1_imaging_only_where_stated": round(summary["top1_imaging_only_where_stated"], 2),
        "top1_clinical_only_where_stated": round(summary["top1_clinical_only_where_stated"], 2),
        "brier": round(summary["brier"], 3),
        "log_loss": round(summary["log_loss"], 3),
        "wrong_first_mean_probability": round(summary["wrong_first_mean_probability"], 2),
        "hallmark_misses": len(summary["hallmark_misses"]),
    }
    assert measured == VALIDATION


def test_both_halves_are_reported(cases):
    assert {case["half"] for case in cases} == set(HALVES)


TOOL_OPTIONS = {
    # options -> the one error line (exit 2): each was an exit 0 with an empty table or a wrong line, or a traceback
    "a proof kind misspelt (an empty table, exit 0)": (["--proof", "histolgy"], "error: --proof: unknown proof kind 'histolgy'; known: histology, surgery, microbiology, clinical, not_stated"),
    "a selection of no case with --markdown (a ZeroDivisionError traceback)": (
        ["--half", "validation", "--markdown"], "error: --half/--proof: select no case of the set (half validation, proof any)"
    ),
    "a figure without a suffix (written as FIG.png, 'reliability diagram: FIG' printed)": (["--figure", "{tmp}/figure"], "error: {tmp}/figure: names no image format matplotlib writes; end it in one of: .avif,"),
    "a figure named .txt (a ValueError traceback)": (["--figure", "{tmp}/figure.txt"], "error: {tmp}/figure.txt: names no image format matplotlib writes"),
    "a figure onto a folder (written as FOLDER.png)": (["--figure", "{tmp}"], "error: {tmp}: is a folder; --figure takes a file name"),
    "a figure onto /dev/full (written as /dev/full.png)": (["--figure", "/dev/full"], "error: /dev/full: is not a regular file (a device, FIFO or socket); --figure takes a file name"),
    # argparse's own complaints: each printed its usage block above a line of another form
    "a half misspelt": (["--half", "tunning"], "error: --half: invalid choice: 'tunning' (choose from 'tuning', 'validation')"),
    "an option the tool does not have": (["--tuning"], "error: evaluate_differential.py: unrecognized arguments: --tuning"),
    "an option without its value": (["--proof"], "error: --proof: expected one argument"),
    "two views (--overruled was ignored beside --markdown, exit 0)": (["--markdown", "--overruled"], "error: --overruled: not allowed with argument --markdown"),
}


@pytest.mark.parametrize("name", TOOL_OPTIONS)
def test_the_tool_refuses_an_odd_option_in_one_line_before_it_evaluates(name, tmp_path):
    one = tmp_path / "cases.json"
    one.write_text(json.dumps({"cases": [{**case_with([("epidural", "an epidural mass")]), "id": "silent", "diagnosis": "emh", "half": "tuning"}]}))
    options, error = TOOL_OPTIONS[name]
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "evaluate_differential.py"), "--cases", str(one), *(option.format(tmp=tmp_path) for option in options)],
        capture_output=True, text=True, timeout=120,
    )
    assert (run.returncode, run.stdout) == (2, ""), run.stderr
    assert run.stderr.startswith(error.format(tmp=tmp_path)) and run.stderr.count("\n") == 1, run.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cases.json"] and not Path("/dev/full.png").exists()


def test_the_tool_writes_its_figure_into_a_folder_it_makes_and_takes_one_view_at_a_time(tmp_path):
    one = tmp_path / "cases.json"
    one.write_text(json.dumps({"cases": [{**case_with([("epidural", "an epidural mass")]), "id": "silent", "diagnosis": "emh", "half": "tuning"}]}))
    tool = [sys.executable, str(ROOT / "tools" / "evaluate_differential.py"), "--cases", str(one)]
    run = subprocess.run([*tool, "--figure", str(tmp_path / "new" / "figure.png")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and (tmp_path / "new" / "figure.png").stat().st_size > 0, run.stderr  # was a FileNotFoundError traceback
    both = subprocess.run([*tool, "--markdown", "--limits"], capture_output=True, text=True, timeout=120)
    assert (both.returncode, both.stderr.splitlines()[0]) == (2, both.stderr.rstrip("\n"))  # one line
    assert both.stderr.startswith("error: --limits: not allowed with argument --markdown")  # --limits was ignored
