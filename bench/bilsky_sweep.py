"""The Bilsky grade per level on randomized generated spines against the generator's truth (issue 17).

    .venv/bin/python bench/bilsky_sweep.py --seed 1 --cases 30 [--folder DIR]

Seeds S .. S+n-1 are made with a mass (`healthy=false`; the rest of each seed's design as drawn),
written as case folders (kept in --folder, reused when there), analysed by EMHAssistLib.analysis,
and each level's reported grade compared with the truth's (spinegen/bilsky.py: from the generator's
per-level facts). Prints exact and within-one agreement overall, by truth grade, and over the
levels where the report's mass and compressed levels agree with the truth's; writes every level
to bench/results/bilsky-sweep-<date>-seed<S>-n<n>.json.
"""

import argparse
import datetime
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT / "EMHAssist", ROOT / "Testing"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def graded_case(seed: int, folder: Path) -> dict:
    """One seed's compared levels; the case folder is written first when it is not there."""
    from EMHAssistLib.analysis import analyze
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.inputs.scene import new_headless_scene
    from EMHAssistLib.outputs.report import to_json
    from spinegen.bilsky import compared_levels
    from spinegen.case import TRUTH_FILE, generate, write_case

    case_folder = folder / f"seed{seed}"
    if not (case_folder / TRUTH_FILE).exists():
        write_case(generate(seed, healthy=False), case_folder)
    truth = json.loads((case_folder / TRUTH_FILE).read_text(encoding="utf-8"))
    report = analyze(load_case_folder(case_folder, new_headless_scene()))
    mass = truth["mass"]
    return {"seed": seed, "side": truth["design"]["side"], "orientation": truth["design"]["orientation"],
            "epidural": bool(mass) and not mass["position"].startswith("paraspinal"), "levels": compared_levels(to_json(report), truth)}


def sweep(seeds: list[int], folder: Path) -> dict:
    from spinegen.bilsky import agreement

    cases = [graded_case(seed, folder) for seed in seeds]
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
    args = parser.parse_args()
    seeds = list(range(args.seed, args.seed + args.cases))
    with tempfile.TemporaryDirectory(prefix="bilsky-sweep-") as scratch:
        result = sweep(seeds, args.folder or Path(scratch))
    print(_table(result))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H%M")
    out = ROOT / "bench" / "results" / f"bilsky-sweep-{stamp}-seed{args.seed}-n{args.cases}.json"
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
