"""The published-case set: loading, checking and the one stratified split into tuning and validation.

Each case is a published spinal epidural or paraspinal mass with an MRI description and a proven
diagnosis, recorded as read (citation, address, patient, quoted findings); see
docs/literature-cases.md. Nothing here looks at the engine.
"""

import json
import random
from collections import defaultdict
from pathlib import Path

from EMHAssistLib.errors import InputError

CASES_FILE = Path(__file__).with_name("cases.json")
HALVES = ("tuning", "validation")
REQUIRED = ("id", "batch", "diagnosis", "diagnosis_text", "proof", "proof_kind", "citation", "url", "patient", "clinical", "findings", "levels", "half")
PROOF_KINDS = ("histology", "surgery", "microbiology", "clinical", "not_stated")


def load_set(path: Path = CASES_FILE) -> dict:
    """The whole file: the split's seeds and method, the diagnosis ids and the cases."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(str(path), f"cannot read the case set ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise InputError(str(path), "must be an object with a 'cases' list")
    return data


def load_cases(path: Path = CASES_FILE) -> list[dict]:
    return load_set(path)["cases"]


def check_case(case: dict) -> list[str]:
    """What is missing or malformed in one case (empty when it is complete)."""
    problems = [f"{case.get('id', '?')}: no '{key}'" for key in REQUIRED if key not in case]
    if problems:
        return problems
    where = case["id"]
    citation = case["citation"]
    if not citation.get("title") or not citation.get("journal") or not citation.get("authors"):
        problems.append(f"{where}: the citation needs authors, title and journal (or 'not shown on the page read')")
    if not case["url"].startswith("http"):
        problems.append(f"{where}: the address read is not a URL")
    if case["proof_kind"] not in PROOF_KINDS:
        problems.append(f"{where}: proof_kind '{case['proof_kind']}' is not one of {', '.join(PROOF_KINDS)}")
    if case["half"] not in HALVES:
        problems.append(f"{where}: half '{case['half']}' is not one of {', '.join(HALVES)}")
    for section in ("clinical", "findings"):
        for entry in case[section]:
            if not entry.get("term") or not entry.get("quote"):
                problems.append(f"{where}: a {section} entry needs a term and the quote it came from")
    return problems


def stratified_split(cases: list[dict], seed: int) -> dict[str, str]:
    """Case id -> half. Within each diagnosis the ids (sorted) are shuffled with one generator and
    dealt alternately; a diagnosis with an odd count gives its extra case to the half that has
    fewer so far, tuning first when they are level, so the halves differ by at most one case."""
    by_diagnosis: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        by_diagnosis[case["diagnosis"]].append(case["id"])
    rng = random.Random(seed)
    halves: dict[str, str] = {}
    sizes = dict.fromkeys(HALVES, 0)
    for diagnosis in sorted(by_diagnosis):
        ids = sorted(by_diagnosis[diagnosis])
        rng.shuffle(ids)
        first = min(HALVES, key=lambda half: (sizes[half], HALVES.index(half)))
        order = (first, next(h for h in HALVES if h != first))
        for index, case_id in enumerate(ids):
            half = order[index % 2]
            halves[case_id] = half
            sizes[half] += 1
    return halves


def stored_split_matches_seeds(cases: list[dict], batches: list[dict]) -> bool:
    """Each batch of cases was split once, by itself, with its own stated seed; earlier batches are
    never re-dealt when cases are added."""
    for batch in batches:
        members = [case for case in cases if case["batch"] == batch["batch"]]
        if {case["id"]: case["half"] for case in members} != stratified_split(members, batch["seed"]):
            return False
    return {case["batch"] for case in cases} == {batch["batch"] for batch in batches}


def half(cases: list[dict], name: str) -> list[dict]:
    return [case for case in cases if case["half"] == name]
