"""Live update after the mass ROI moves, this engine against a baseline commit's, in the same run.

Moving the mass ROI in the panel makes `LiveAnalysis.update` redo the levels step (mass growth,
compression, morphology) because that step reads the mass. The timed call is that update on the
512 x 512 x 200 four-sequence study of `synthetic_study.py`, the mass ROI dragged 0.4 mm back and
forth along the spine. The same script times the engine of the baseline commit (by default 64ea15f,
from before the mass-growth rules and the Bilsky stage, 184 ms a move on a quiet machine; issue
13's first "today", 7162fcd, traced the cord again on every move) extracted with `git archive` into a
temporary folder; each engine runs in its own process on the same study, the two alternating, and
the speed-up is the ratio of their medians. Each update is checked to have redone the mass and the
levels and nothing else, and this engine's last report to equal a fresh full analysis of the same
nodes (`analysis.run_analysis`).

    .venv/bin/python bench/live_mass_drag.py [--repeats 15] [--rounds 2] [--baseline 64ea15f] [--engine COMMIT]
    PYTHONPATH=$PWD/EMHAssist .venv/bin/python bench/live_mass_drag.py --profile 8

Without --engine, "this engine" is the work tree's EMHAssist (uncommitted changes included).
--profile N times nothing against a baseline: it profiles N mass moves of this engine in process CPU
time (cProfile; two untimed moves first) and prints where a move's time goes, cumulative.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from common import REPOSITORY, Timing, extract_engine, load_average, machine, milliseconds, print_table, run_child

BASELINE = "64ea15f"
IN_PLANE = 512
TARGET_S = 0.150  # issue 13: median of a mass move, levels redone, cord kept
DRAG_STEP_MM = 0.4


def timed_drags(repeats: int) -> dict:
    """In a child process: the study, one untimed first update, then `repeats` timed mass moves."""
    import time

    import numpy as np

    from synthetic_study import build_study

    from EMHAssistLib.analysis import run_analysis
    from EMHAssistLib.inputs.scene import new_headless_scene
    from EMHAssistLib.live import LiveAnalysis

    study = build_study(new_headless_scene(), IN_PLANE)
    live = LiveAnalysis()
    live.update(study)
    roi = study.regions["mass"][0].node
    start = np.array(roi.GetCenter())
    seconds, cpu_seconds = [], []
    for move in range(1, repeats + 1):
        roi.SetCenter(*(start + [0.0, 0.0, DRAG_STEP_MM * (move % 2)]))
        began, cpu_began = time.perf_counter(), time.process_time()
        result = live.update(study)
        seconds.append(time.perf_counter() - began)
        cpu_seconds.append(time.process_time() - cpu_began)
        if result.error is not None or result.recomputed != ["mass", "levels"]:
            raise SystemExit(f"mass moved: error {result.error!r}, recomputed {result.recomputed}")
    fresh = run_analysis(study).report
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "equals_full_analysis": result.analysis.report == fresh,
        "report": json.dumps(_as_json(result.analysis.report), sort_keys=True, default=str),
    }


def profiled_drags(moves: int, shown: int = 40, wall: bool = False, dump: str | None = None) -> None:
    """cProfile of `moves` mass moves, in process CPU time (on a busy machine wall time mostly
    measures the other processes), after the first update and two untimed moves. `wall`: in wall
    time instead, which shows a thread waiting for another (OpenBLAS's, spinning after a BLAS call);
    `dump`: the stats written there for pstats (two runs compared function by function) rather than printed."""
    import cProfile
    import pstats
    import time

    import numpy as np

    from synthetic_study import build_study

    from EMHAssistLib.inputs.scene import new_headless_scene
    from EMHAssistLib.live import LiveAnalysis

    study = build_study(new_headless_scene(), IN_PLANE)
    live = LiveAnalysis()
    live.update(study)
    roi = study.regions["mass"][0].node
    start = np.array(roi.GetCenter())
    profile = cProfile.Profile(time.perf_counter if wall else time.process_time)
    for move in range(1, moves + 3):
        roi.SetCenter(*(start + [0.0, 0.0, DRAG_STEP_MM * (move % 2)]))
        if move > 2:
            profile.enable()
        live.update(study)
        profile.disable()
    if dump:
        profile.dump_stats(dump)
        return
    print(f"{moves} mass moves, {IN_PLANE}x{IN_PLANE}x200, {'wall' if wall else 'process CPU'} time; {load_average()}")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(shown)


def _as_json(report: dict) -> dict:
    """The report as its JSON file holds it; a baseline engine from before the typed ratio keys
    (RatioKey, issue 16) already keeps its report as JSON values."""
    try:
        from EMHAssistLib.outputs.report import to_json
    except ImportError:
        return report
    return to_json(report)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15, help="timed mass moves per process")
    parser.add_argument("--rounds", type=int, default=2, help="processes per engine, the engines alternating")
    parser.add_argument("--baseline", default=BASELINE, help="commit whose engine is the baseline")
    parser.add_argument("--engine", help="commit whose engine is timed (default: the work tree's)")
    parser.add_argument("--profile", type=int, metavar="N", help="profile N mass moves of this engine instead")
    parser.add_argument("--wall", action="store_true", help="with --profile: wall time instead of process CPU time")
    parser.add_argument("--dump", metavar="OUT.prof", help="with --profile: write the stats for pstats instead of printing them")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.profile:
        profiled_drags(args.profile, wall=args.wall, dump=args.dump)
        return
    if args.child:
        print(json.dumps(timed_drags(args.repeats)))
        return
    print(f"Machine: {machine()}")
    print(f"this engine: {args.engine or 'the work tree'}; baseline: {args.baseline}")
    with tempfile.TemporaryDirectory() as folder:
        engines = {"this engine": extract_engine(args.engine, Path(folder) / "engine") if args.engine else REPOSITORY / "EMHAssist"}
        engines[f"baseline {args.baseline}"] = extract_engine(args.baseline, Path(folder) / "baseline")
        runs: dict[str, list[dict]] = {name: [] for name in engines}
        for round_number in range(args.rounds):
            for name, engine in engines.items():
                runs[name].append(run_child(__file__, engine, ["--repeats", str(args.repeats)]))
                print(f"round {round_number + 1}, {name}: done; {load_average()}", flush=True)
    timings = {
        name: Timing([s for run in found for s in run["seconds"]], cpu_seconds=[s for run in found for s in run["cpu_seconds"]])
        for name, found in runs.items()
    }
    ours, baseline = timings["this engine"], timings[f"baseline {args.baseline}"]
    print_table(
        f"LiveAnalysis.update after the mass ROI moved, {IN_PLANE}x{IN_PLANE}x200, four sequences: median (min-max, runs)",
        ["engine", "update (wall)", "against the baseline", "CPU time of the process", "against the baseline (CPU)"],
        [
            [name, timing.spread, f"{baseline.median / timing.median:.2f}× faster", timing.cpu_spread, f"{baseline.cpu_median / timing.cpu_median:.2f}× faster"]
            for name, timing in timings.items()
        ],
    )
    equal = all(run["equals_full_analysis"] for run in runs["this engine"])
    same = {run["report"] for found in runs.values() for run in found}
    print(f"\nthis engine's live report equals a fresh full analysis: {'yes' if equal else 'NO'}")
    print(f"reports of both engines after the last move identical: {'yes' if len(same) == 1 else 'no (the engines differ)'}")
    print(
        f"median {milliseconds(ours.median)} against ≤ {milliseconds(TARGET_S)} ({'met' if ours.median <= TARGET_S else 'MISSED'}); "
        f"{baseline.median / ours.median:.2f}× the baseline's speed; {load_average()}"
    )
    if not equal:
        raise SystemExit("the live report after a mass move differs from a full analysis")


if __name__ == "__main__":
    main(sys.argv[1:])
