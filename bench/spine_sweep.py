"""The spine engine judged on randomized spines it has never seen (issue 13, point 5).

    .venv/bin/python bench/spine_sweep.py --cases 200 --seed 1

Each case is made by Testing/spinegen from seed S + n (seeds 1, 5, 9, ... healthy), written as
a case folder, loaded by the project's case-folder loader and analysed by EMHAssistLib.analysis,
and its report judged against the generator's truth (spinegen/judge.py). Prints the figures,
overall and by factor, writes them to docs/spine-sweep.md (--doc) with the command and date, and
every case's outcome and failures to bench/results/spine-sweep-<date>.json.
"""

import argparse
import datetime
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The code judged: a snapshot of EMHAssistLib and spinegen taken when the sweep starts (other work
# may change the tree during a run of an hour), else the tree itself.
CODE = Path(os.environ.get("SPINE_SWEEP_CODE", ROOT))
for path in (CODE / "EMHAssist", CODE / "Testing"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

HEALTHY_EVERY = 4  # seed k is a healthy spine when (k - 1) % 4 == 0: 50 of 200, and any one seed re-run alone (--seed k --cases 1) is the case the 200-seed run made
MAX_WORKERS = 2  # the machine's two cores are shared


def run_case(job: tuple[int, bool]) -> dict:
    seed, healthy = job
    from EMHAssistLib.analysis import analyze
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.inputs.scene import new_headless_scene
    from EMHAssistLib.outputs.report import to_json
    from spinegen.case import generate, write_case
    from spinegen.design import sample_design
    from spinegen.judge import judge_case

    started = time.perf_counter()
    try:
        case = generate(seed, healthy=healthy)
    except Exception as problem:  # the generator's own failure: counted, and the sweep goes on
        return {"seed": seed, "design": sample_design(seed, healthy=healthy).to_dict(), "truth": None,
                "error": f"generating the case: {type(problem).__name__}: {problem}", "seconds": {"generate": time.perf_counter() - started}}
    made = time.perf_counter()
    result = {"seed": seed, "design": case.design.to_dict(), "truth": {k: case.truth[k] for k in ("mass", "compression", "anchors")}}
    with tempfile.TemporaryDirectory(prefix="spinegen-") as folder:
        write_case(case, Path(folder) / f"seed{seed}")
        try:
            report = analyze(load_case_folder(Path(folder) / f"seed{seed}", new_headless_scene()))
        except Exception as problem:  # a crash is an outcome to count, not the end of the sweep
            result.update(error=f"{type(problem).__name__}: {problem}", seconds={"generate": made - started})
            return result
    analysed = time.perf_counter()
    try:
        result["outcome"] = judge_case(to_json(report), case.truth, case.spine)  # the judge reads the report's JSON
    except Exception as problem:  # a report the judge cannot read is counted as an error too
        result.update(error=f"judging the report: {type(problem).__name__}: {problem}", seconds={"generate": made - started})
        return result
    result["warnings"] = list(report.warnings)
    result["seconds"] = {"generate": round(made - started, 2), "analyse": round(analysed - made, 2)}
    return result


def factors(design: dict) -> dict[str, str]:
    """The factor values a case is broken down by."""
    region = {"C": "cervical lordosis", "T": "thoracic kyphosis", "L": "lumbar lordosis", "S": "lumbar lordosis"}[design["window_centre"][0]]
    curvature = {"straight": "straight", "scoliotic": "scoliosis"}.get(design["curvature"], region)
    thickness = design["thickness_mm"]
    onset = design["onset_mm"]
    healthy = design["healthy"]
    return {
        "curvature": curvature,
        "slice thickness": "0.8-1.5 mm" if thickness <= 1.5 else ("1.5-3 mm" if thickness <= 3 else "3-4 mm"),
        "orientation": design["orientation"] + (" oblique" if design["oblique_deg"] > 0 else ""),
        "onset": "healthy" if healthy else ("abrupt 1-3 mm" if onset <= 3 else ("3-10 mm" if onset < 10 else "gradual 10-20 mm")),
        "side": "healthy" if healthy else design["side"] + (" (spares cord)" if design["spares_cord"] else ""),
        "cord ROI": design["cord_roi"],
    }


class Tally:
    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def add(self, key: str, passed: bool | None) -> None:
        if passed is None:
            return
        self.counts[key][0] += int(bool(passed))
        self.counts[key][1] += 1

    def cell(self, key: str) -> str:
        good, total = self.counts.get(key, [0, 0])
        if key in COUNTED:
            return str(good)
        return f"{good}/{total} ({100 * good / total:.0f} %)" if total else "–"


def tally(results: list[dict]) -> Tally:
    t = Tally()
    for result in results:
        t.add("cases", True)
        if "error" in result:
            t.add("errors", True)
            continue
        outcome = result["outcome"]
        bodies = outcome["bodies"]
        t.counts["bodies"][0] += bodies["within"]
        t.counts["bodies"][1] += bodies["judged"]
        t.add("mass exact", outcome.get("mass_exact"))
        compressed = "compression_exact" in outcome
        if compressed:
            t.add("compression exact", outcome["compression_exact"])
            t.add("compression off by <=1", outcome["compression_off_by_one"])
            t.add("MSCC within 10", outcome["mscc_within"])
        if "silent" in outcome:
            t.add("silent", outcome["silent"])
        if result["truth"]["compression"] is None:
            key = "false compression (healthy)" if result["design"]["healthy"] else "false compression (mass, cord narrowed < 15 %)"
            t.add(key, outcome["false_compression"])
    return t


# Columns of good (or, for false compressions and silence, bad) cases over the cases judged;
# `cases` and `errors` are plain counts.
COLUMNS = ["cases", "errors", "bodies", "mass exact", "compression exact", "compression off by <=1", "MSCC within 10",
           "false compression (healthy)", "false compression (mass, cord narrowed < 15 %)", "silent"]
COUNTED = ("cases", "errors")


def table(groups: dict[str, Tally]) -> list[str]:
    lines = ["| | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, t in groups.items():
        lines.append(f"| {name} | " + " | ".join(t.cell(c) for c in COLUMNS) + " |")
    return lines


def summary(results: list[dict]) -> list[str]:
    legend = ("Each cell: cases (for bodies: bodies) meeting the outcome over those judged. For false compressions and "
              "silence the count is of cases that failed. `bodies`: within 5 mm and inside the body; `MSCC within 10`: "
              "MSCC, or the RL ratio for a mass at the side, within 10 points of the truth.")
    target = ("Issue 13's targets: bodies ≥ 98 %, mass levels exact ≥ 95 %, compression levels exact ≥ 95 % and off by "
              "one level at most in all, MSCC within 10 points ≥ 90 %, no false compression on ≥ 50 healthy spines, no case silent.")
    lines = [legend, "", target, "", "### All cases", ""] + table({"all": tally(results)})
    names = list(factors(results[0]["design"])) if results else []
    for factor in names:
        groups: dict[str, list[dict]] = defaultdict(list)
        for result in results:
            groups[factors(result["design"])[factor]].append(result)
        lines += ["", f"### By {factor}", ""] + table({value: tally(group) for value, group in sorted(groups.items())})
    return lines


# The judged outcomes a case fails on, each with the value that fails it and how a failure reads.
FAILING = {"mass_exact": (False, "mass exact failed"), "compression_exact": (False, "compression exact failed"),
           "mscc_within": (False, "mscc within failed"), "false_compression": (True, "false compression"), "silent": (True, "silent")}


def failures(results: list[dict]) -> list[dict]:
    out = []
    for result in results:
        outcome = result.get("outcome")
        if "error" in result:
            problems = [result["error"]]
        else:
            problems = [{"bodies": outcome["bodies"]["failures"]}] if outcome["bodies"]["failures"] else []
            outcomes = judged(result)
            problems += [words for key, (failed, words) in FAILING.items() if outcomes[key] is failed]
        if problems:
            out.append({"seed": result["seed"], "factors": factors(result["design"]), "problems": problems,
                        "truth": result["truth"], "outcome": outcome, "warnings": result.get("warnings")})
    return out


def _revision(diff_file: Path) -> str:
    """The commit the code was taken from; uncommitted changes to the engine or the generator are
    saved beside the results so the run can be repeated."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    diff = subprocess.run(["git", "-C", str(ROOT), "diff", "HEAD", "--", "EMHAssist", "Testing/spinegen"], capture_output=True, text=True).stdout
    if not diff:
        return head
    diff_file.write_text(diff, encoding="utf-8")
    return f"{head} with uncommitted changes ({diff_file.relative_to(ROOT)})"


def _seed_list(text: str) -> list[int]:
    """'212,224,230' as seeds; argparse turns the ValueError of a bad one into a one-line usage error."""
    return sorted({int(part) for part in text.split(",") if part.strip()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=_seed_list, help="these seeds only, comma-separated (a failure class), instead of --seed/--cases")
    parser.add_argument("--workers", type=int, default=MAX_WORKERS)
    parser.add_argument("--doc", type=Path, help="write the figures to this markdown file (docs/spine-sweep.md)")
    parser.add_argument("--resume", type=Path, help="a cut-short run's .jsonl: run its missing seeds with the code snapshot --code and finish it")
    parser.add_argument("--code", type=Path, help="with --resume: the cut-short run's code snapshot (spine-sweep-code-* in the temporary folder)")
    parser.add_argument("--from-results", type=Path, help="summarise a run's .json (or a cut-short run's .jsonl) instead of running")
    parser.add_argument("--bodies", action="store_true", help="with --from-results: print the per-body failures, a case a row, instead of the figures")
    parser.add_argument("--against", type=Path, help="with --from-results: print the seeds whose judged outcomes differ from this baseline run's (.json or .jsonl)")
    args = parser.parse_args(argv)
    if args.from_results and args.against:
        print("\n".join(changes_against(read_results(args.from_results), read_results(args.against))))
        return 0
    if args.from_results and args.bodies:
        print("\n".join(body_table(read_results(args.from_results))))
        return 0
    if args.from_results:
        return summarise_run(args.from_results, args.doc)
    workers = max(1, min(args.workers, MAX_WORKERS))
    seeds = args.seeds or list(range(args.seed, args.seed + args.cases))
    jobs = [(seed, (seed - 1) % HEALTHY_EVERY == 0) for seed in seeds]
    run_name = f"seeds{seeds[0]}-{seeds[-1]}-n{len(seeds)}" if args.seeds else f"seed{args.seed}-n{args.cases}"
    date = datetime.datetime.now(datetime.timezone.utc)
    results = []
    if args.resume:
        stem = args.resume.resolve().with_suffix("")
        results = [json.loads(line) for line in args.resume.read_text(encoding="utf-8").splitlines() if line.strip()]
        done = {result["seed"] for result in results}
        jobs = [job for job in jobs if job[0] not in done]
        revision = f"the code snapshot of {stem.name}"
        revision = json.loads(stem.with_suffix(".revision").read_text()) if stem.with_suffix(".revision").exists() else revision
        snapshot = args.code
    else:
        stem = ROOT / "bench" / "results" / f"spine-sweep-{date:%Y-%m-%d-%H%M}-{run_name}"
        revision = _revision(stem.with_suffix(".diff"))
        stem.with_suffix(".revision").write_text(json.dumps(revision), encoding="utf-8")
        snapshot = Path(tempfile.mkdtemp(prefix="spine-sweep-code-"))
        shutil.copytree(ROOT / "EMHAssist" / "EMHAssistLib", snapshot / "EMHAssist" / "EMHAssistLib")
        shutil.copytree(ROOT / "Testing" / "spinegen", snapshot / "Testing" / "spinegen")
    os.environ["SPINE_SWEEP_CODE"] = str(snapshot)
    started = time.perf_counter()
    progress = stem.with_suffix(".jsonl")  # each case as it ends: a run cut short keeps what it did
    with multiprocessing.get_context("spawn").Pool(workers, maxtasksperchild=8) as pool, progress.open("a" if args.resume else "w", encoding="utf-8") as log:
        for result in pool.imap_unordered(run_case, jobs):
            results.append(result)
            log.write(json.dumps(result) + "\n")
            log.flush()
            problems = failures([result])
            state = "; ".join(p if isinstance(p, str) else "bodies" for p in problems[0]["problems"]) if problems else "ok"
            print(f"[{len(results)}/{len(seeds)}] seed {result['seed']}: {state} ({time.perf_counter() - started:.0f} s)", flush=True)
    shutil.rmtree(snapshot, ignore_errors=True)
    elapsed = time.perf_counter() - started
    results.sort(key=lambda r: r["seed"])
    selection = f"--seeds {','.join(map(str, seeds))}" if args.seeds else f"--cases {args.cases} --seed {args.seed}"
    command = f".venv/bin/python bench/spine_sweep.py {selection}"
    per_case = sorted(sum(r["seconds"].values()) for r in results)
    head = [f"Command: `{command}`", f"Run: {date:%Y-%m-%d %H:%M} UTC, engine at {revision}, {workers} worker processes, "
            f"{elapsed / 60:.1f} min wall ({per_case[len(per_case) // 2]:.0f} s per case median, generation and analysis)", ""]
    text = "\n".join(head + summary(results)) + "\n"
    print(text)
    out = stem.with_suffix(".json")
    out.write_text(json.dumps({"command": command, "revision": revision, "run": head[1], "failures": failures(results), "cases": results}, indent=1) + "\n", encoding="utf-8")
    print(f"per-case outcomes and failures: {out.relative_to(ROOT)}")
    if args.doc:
        write_doc(args.doc, text, out.relative_to(ROOT))
    return 0


def summarise_run(path: Path, doc: Path | None) -> int:
    """Figures from a run's saved outcomes (its .jsonl; the command, revision and times from its
    .json when the run finished)."""
    finished = path.with_suffix(".json")
    meta = json.loads(finished.read_text(encoding="utf-8")) if finished.exists() else {}
    results = read_results(path)
    head = [f"Command: `{meta.get('command', 'see ' + str(path.name))}`", f"{meta.get('run', '')}", ""]
    text = "\n".join(head + summary(results)) + "\n"
    print(text)
    if doc:
        write_doc(doc, text, path.relative_to(ROOT) if path.is_absolute() else path)
    return 0


def read_results(path: Path) -> list[dict]:
    """A run's per-case results, by seed, from its .json or (a run cut short) its .jsonl."""
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))["cases"]
    return sorted((json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()), key=lambda r: r["seed"])


JUDGED_OUTCOMES = ("mass_exact", "compression_exact", "compression_off_by_one", "mscc_within", "false_compression", "silent")


def judged(result: dict) -> dict:
    """A case's judged outcomes: bodies within 5 mm, then each yes/no outcome (None where not judged)."""
    outcome = result.get("outcome") or {}
    bodies = outcome.get("bodies") or {}
    return {"bodies": bodies.get("within"), **{key: outcome.get(key) for key in JUDGED_OUTCOMES}} | ({"error": True} if "error" in result else {})


def changes_against(results: list[dict], baseline: list[dict]) -> list[str]:
    """A row for each seed whose judged outcomes differ from the baseline run's, "key: before -> now"."""
    before = {result["seed"]: judged(result) for result in baseline}
    rows = []
    for result in results:
        now, then = judged(result), before.get(result["seed"])
        if then is None:
            rows.append(f"seed {result['seed']}: not in the baseline")
            continue
        moved = [f"{key}: {then.get(key)} -> {now.get(key)}" for key in now.keys() | then.keys() if then.get(key) != now.get(key)]
        if moved:
            rows.append(f"seed {result['seed']}: " + ", ".join(sorted(moved)))
    return rows or ["every seed's judged outcomes as in the baseline"]


def body_table(results: list[dict]) -> list[str]:
    """The cases with a body not within 5 mm of its centroid and inside it, a row each: the case's
    factors and anchors, then each failed body with its distance (mm; "out": outside the body) or
    "missing" (not reported)."""
    rows = ["| seed | curvature | window | orientation, slice | cord ROI | anchors | bodies | failed bodies |", "|---|---|---|---|---|---|---|---|"]
    for result in results:
        bodies = (result.get("outcome") or {}).get("bodies")
        if not bodies or not bodies["failures"]:
            continue
        design = result["design"]
        failed = ", ".join(f"{f['level']} " + (f"{f['distance_mm']:.1f}" + ("" if f.get("inside") is not False else " out") if "distance_mm" in f else "missing")
                           for f in bodies["failures"])
        rows.append(f"| {result['seed']} | {factors(design)['curvature']} | {design['window_centre']} | {design['orientation']} {design['thickness_mm']:.1f} mm | "
                    f"{design['cord_roi']} | {', '.join(result['truth']['anchors'])} | {bodies['within']}/{bodies['judged']} | {failed} |")
    return rows


def write_doc(path: Path, figures: str, results: Path) -> None:
    intro = (Path(path).read_text(encoding="utf-8").split("<!-- figures -->")[0] if Path(path).exists() else "# Spine sweep\n\n")
    Path(path).write_text(intro.rstrip() + "\n\n<!-- figures -->\n" + figures + f"\nPer-case outcomes and failures: `{results}`.\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
