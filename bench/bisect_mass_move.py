"""Time a mass move on several commits of main in one run, the commits alternating, to find where it slowed.

Each commit is checked out detached (`git worktree add --detach`) under --trees and timed by its own
`bench/live_mass_drag.py` (`timed_drags`) on its own engine and its own synthetic study, in a fresh
process, so a commit is timed as its own benchmark timed it; by default on one thread (`ONE_THREAD`),
where the process CPU time of each update is the work it does, which the other engineers' load moves far
less than wall time (--default-threads: as the panel runs). The commits take turns (round-robin, --rounds
times), so a change in the machine's load falls on all of them alike; compare medians within one run only.
The checkouts are kept for later runs: `git worktree remove` each when done.

    .venv/bin/python bench/bisect_mass_move.py --repeats 8 --rounds 2 b54fef3 8c364e9 652778d
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
# One thread for BLAS and ITK: a thread waiting on a busy core spins and its CPU time counts, so with the
# default threads the process CPU time grows with the other engineers' load. On one thread it is the work.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS": "1"}


def checkout(commit: str, trees: Path) -> Path:
    """A detached work tree of `commit` under `trees` (made once, kept for later runs)."""
    tree = trees / commit
    if not tree.exists():
        subprocess.run(["git", "-C", str(REPOSITORY), "worktree", "add", "-q", "--detach", str(tree), commit], check=True)
    return tree


def timed_child(tree: Path, repeats: int, one_thread: bool) -> dict:
    """The commit's own `live_mass_drag.timed_drags` on its own engine and study, in a fresh process,
    with the process CPU time of each `LiveAnalysis.update` recorded too (older benchmarks time wall
    only, which on the shared machine measures the other engineers' load): its seconds and cpu_seconds."""
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree / "EMHAssist"), str(tree / "bench")]), **(ONE_THREAD if one_thread else {}))
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(repeats)], cwd=tree, env=environment, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{tree.name}: the timed process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def child(repeats: int) -> None:
    """In the commit's process: its timed drags, each update's process CPU time beside them (the
    first, untimed update left out as the benchmark leaves it out)."""
    import time

    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]  # the commit's bench/ (PYTHONPATH), not this one's
    import live_mass_drag
    from EMHAssistLib.live import LiveAnalysis

    cpu_seconds: list[float] = []
    update = LiveAnalysis.update

    def timed_update(self, study):
        began = time.process_time()
        result = update(self, study)
        cpu_seconds.append(time.process_time() - began)
        return result

    LiveAnalysis.update = timed_update
    found = live_mass_drag.timed_drags(repeats)
    print(json.dumps({"seconds": found["seconds"], "cpu_seconds": cpu_seconds[1:]}))


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        child(int(argv[1]))
        return
    from common import load_average, machine

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commits", nargs="+", help="commits to time, oldest first")
    parser.add_argument("--repeats", type=int, default=8, help="timed mass moves per process")
    parser.add_argument("--rounds", type=int, default=2, help="processes per commit, the commits taking turns")
    parser.add_argument("--default-threads", action="store_true", help="BLAS and ITK on their default threads, as the panel runs")
    parser.add_argument("--trees", type=Path, default=Path("/tmp/bisect-mass-move"), help="where the detached checkouts go")
    args = parser.parse_args(argv)
    args.trees.mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}")
    print(f"threads: {'the default' if args.default_threads else ONE_THREAD}")
    trees = {commit: checkout(commit, args.trees) for commit in args.commits}
    wall: dict[str, list[float]] = {commit: [] for commit in args.commits}
    cpu: dict[str, list[float]] = {commit: [] for commit in args.commits}
    for round_number in range(args.rounds):
        for commit, tree in trees.items():
            found = timed_child(tree, args.repeats, not args.default_threads)
            wall[commit] += found["seconds"]
            cpu[commit] += found["cpu_seconds"]
            print(
                f"round {round_number + 1}, {commit}: wall median {statistics.median(found['seconds']) * 1000:.0f} ms, "
                f"CPU {statistics.median(found['cpu_seconds']) * 1000:.0f} ms; {load_average()}",
                flush=True,
            )
    print("\ncommit | wall median (min-max, moves) | CPU median of the process")
    for commit in args.commits:
        spread = f"{statistics.median(wall[commit]) * 1000:.0f} ms ({min(wall[commit]) * 1000:.0f}-{max(wall[commit]) * 1000:.0f}, {len(wall[commit])})"
        cpu_median = f"{statistics.median(cpu[commit]) * 1000:.0f} ms ({min(cpu[commit]) * 1000:.0f}-{max(cpu[commit]) * 1000:.0f})"
        print(f"{commit} | {spread} | {cpu_median}")
    print(load_average())


if __name__ == "__main__":
    main(sys.argv[1:])
