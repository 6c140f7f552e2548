"""The Bilsky grade per level on randomized generated spines against the generator's truth (issue 17).

    .venv/bin/python bench/bilsky_sweep.py --seed 1 --cases 30 [--folder DIR]

Seeds S .. S+n-1 are made with a mass (`healthy=false`; the rest of each seed's design as drawn),
written as case folders (kept in --folder, reused when there), analysed by EMHAssistLib.analysis,
and each level's reported grade compared with the truth's (spinegen/bilsky.py: from the generator's
per-level facts). Prints exact and within-one agreement overall, by truth grade, and over the
levels where the report's mass and compressed levels agree with the truth's; writes every level
to bench/results/bilsky-sweep-<date>-seed<S>-n<n>.json.

    .venv/bin/python bench/bilsky_sweep.py --seed 1 --cases 40 --folder DIR --keep-inputs INPUTS
    .venv/bin/python bench/bilsky_sweep.py --seed 1 --cases 40 --folder DIR --regrade INPUTS [--label NAME]

The grade feeds nothing the report computes after it, so a change to the grading alone
(spine/bilsky.py, spine/thecal_sac.py, data/bilsky.json) is measured by grading again what the
engine handed it: `--keep-inputs` keeps each seed's `grade_levels` inputs (a pickle per seed, with
the report's mass and compressed levels), `--regrade` grades them again with the code as it is now
(a second or two per seed instead of a minute; the folder gives the truth). Pickles are read back
only from a folder this script wrote.
"""

import argparse
import datetime
import json
import pickle
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT / "EMHAssist", ROOT / "Testing"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def graded_case(seed: int, folder: Path, keep_inputs: Path | None = None) -> dict:
    """One seed's compared levels; the case folder is written first when it is not there. With
    `keep_inputs`, what the engine hands `bilsky.grade_levels` is kept there (`--regrade` reads it)."""
    from EMHAssistLib.analysis import analyze
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.inputs.scene import new_headless_scene
    from EMHAssistLib.outputs.report import to_json
    from EMHAssistLib.spine import bilsky
    from spinegen.bilsky import compared_levels
    from spinegen.case import TRUTH_FILE, generate, write_case

    case_folder = folder / f"seed{seed}"
    if not (case_folder / TRUTH_FILE).exists():
        write_case(generate(seed, healthy=False), case_folder)
    truth = json.loads((case_folder / TRUTH_FILE).read_text(encoding="utf-8"))
    grade_levels, handed = bilsky.grade_levels, []
    bilsky.grade_levels = lambda *args: handed.append(args) or grade_levels(*args)  # compression._bilsky imports it when it grades
    try:
        report = to_json(analyze(load_case_folder(case_folder, new_headless_scene())))
    finally:
        bilsky.grade_levels = grade_levels
    if keep_inputs is not None:
        keep_inputs.mkdir(parents=True, exist_ok=True)
        upstream = {key: (report.get("levels") or {}).get(key) for key in ("mass", "compression")}
        (keep_inputs / f"seed{seed}.pkl").write_bytes(pickle.dumps({"grade_levels": handed[-1] if handed else None, "levels": upstream}))
    return _case_row(seed, truth, compared_levels(report, truth))


def _case_row(seed: int, truth: dict, levels: list[dict]) -> dict:
    mass = truth["mass"]
    return {"seed": seed, "side": truth["design"]["side"], "orientation": truth["design"]["orientation"],
            "epidural": bool(mass) and not mass["position"].startswith("paraspinal"), "levels": levels}


def regraded_case(seed: int, folder: Path, inputs: Path) -> dict:
    """One seed's compared levels, graded again from the inputs `graded_case` kept (`--keep-inputs`)."""
    from dataclasses import asdict

    from EMHAssistLib.spine.bilsky import grade_levels
    from spinegen.bilsky import compared_levels
    from spinegen.case import TRUTH_FILE

    truth = json.loads((folder / f"seed{seed}" / TRUTH_FILE).read_text(encoding="utf-8"))
    kept = pickle.loads((inputs / f"seed{seed}.pkl").read_bytes())
    if kept["grade_levels"] is None:  # the engine graded nothing (no levels or no T2-like sequence)
        return _case_row(seed, truth, [])
    graded = [asdict(entry) for entry in grade_levels(*kept["grade_levels"])]
    return _case_row(seed, truth, compared_levels({"levels": {**kept["levels"], "bilsky": {"levels": graded}}}, truth))


def sweep(seeds: list[int], folder: Path, keep_inputs: Path | None = None, regrade: Path | None = None) -> dict:
    from spinegen.bilsky import agreement

    cases = [regraded_case(seed, folder, regrade) if regrade is not None else graded_case(seed, folder, keep_inputs) for seed in seeds]
    rows = [row for case in cases for row in case["levels"]]
    return {"cases": cases, "agreement": agreement(rows)}


def _table(result: dict) -> str:
    lines = []
    figures = result["agreement"]
    for label, row in [("all levels", figures["all"]), ("where mass and compression levels agree with the truth", figures["upstream_agrees"])] + \
            [(f"truth grade {grade}", row) for grade, row in figures["by_truth_grade"].items()]:
        n = row["levels"]
        if n:
            lines.append(f"{label}: {n} levels, exact {row['exact']} ({100 * row['exact'] / n:.0f} %), within one grade {row['within_one']} ({100 * row['within_one'] / n:.0f} %), worst {row['max_off']} grades off")
    grades = list(figures["confusion"])
    lines.append("confusion (rows truth, columns reported): " + " ".join(f"{grade:>3}" for grade in grades))
    for truth, row in figures["confusion"].items():
        lines.append(f"  truth {truth:>2}: " + " ".join(f"{row[grade]:>3}" for grade in grades))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--folder", type=Path, help="where the case folders are kept (a temporary folder when not given)")
    parser.add_argument("--keep-inputs", type=Path, help="keep each seed's grading inputs in this folder, for --regrade")
    parser.add_argument("--regrade", type=Path, help="grade again the inputs --keep-inputs kept in this folder (with --folder, the same cases)")
    parser.add_argument("--label", default="", help="appended to the result file's name")
    args = parser.parse_args()
    if args.regrade is not None and args.folder is None:
        parser.error("--regrade reads the truth from the case folders: give --folder")
    seeds = list(range(args.seed, args.seed + args.cases))
    with tempfile.TemporaryDirectory(prefix="bilsky-sweep-") as scratch:
        result = sweep(seeds, args.folder or Path(scratch), args.keep_inputs, args.regrade)
    print(_table(result))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H%M")
    label = f"-{args.label}" if args.label else ""
    out = ROOT / "bench" / "results" / f"bilsky-sweep-{stamp}-seed{args.seed}-n{args.cases}{label}.json"
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
