"""Benchmark: `emhassist analyze FOLDER --csv` throughput with 1 and 2 worker processes, same run.

The cohort is every built-in teaching case saved as a case folder (REPEATS copies of each), analysed
by outputs.batch.analyze_cases as the command line runs it: worker processes spawned, each row
written to disk as its case finishes. The wall time includes the workers' start-up (importing
Slicer's libraries), as a user waits for it. Prints cases per minute for each worker count, the
speed-up, and the machine's load (2 cores shared: other work competes).

    .venv/bin/python bench/batch_throughput.py
"""

import csv
import tempfile
import time
from pathlib import Path

from common import load_average, machine, print_table

from EMHAssistLib.outputs.case_folder import save_case_folder
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.outputs.batch import analyze_cases
from EMHAssistLib.teaching.cases import build_study, case_names, study_into_scene

REPEATS = 2  # copies of each built-in case: enough cases that start-up is not most of the time
WORKER_COUNTS = (1, 2)


def cohort(folder: Path) -> int:
    for name in case_names():
        save_case_folder(study_into_scene(build_study(name), new_headless_scene()), folder / f"{name}_0")
    for copy in range(1, REPEATS):
        for name in case_names():
            source, target = folder / f"{name}_0", folder / f"{name}_{copy}"
            target.mkdir()
            for path in source.iterdir():
                (target / path.name).write_bytes(path.read_bytes())
    return len(case_names()) * REPEATS


def main() -> None:
    print(f"Machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="emhassist-batch-bench-") as scratch:
        folder = Path(scratch) / "cohort"
        cases = cohort(folder)
        rows, per_minute = [], {}
        for workers in WORKER_COUNTS:
            out = Path(scratch) / f"rows-{workers}.csv"
            started = time.perf_counter()
            all_ok = analyze_cases(folder, out, progress=lambda _: None, workers=workers)
            seconds = time.perf_counter() - started
            with out.open(newline="", encoding="utf-8") as stream:
                written = list(csv.DictReader(stream))
            assert all_ok and len(written) == cases, f"{workers} workers: {len(written)} rows of {cases}, all ok {all_ok}"
            per_minute[workers] = 60 * cases / seconds
            rows.append([str(workers), str(cases), f"{seconds:.1f} s", f"{per_minute[workers]:.1f}", load_average()])
    print_table("Batch throughput (analyze FOLDER --csv, built-in cases, worker start-up included)", ["workers", "cases", "wall", "cases/min", "after"], rows)
    print(f"\n2 workers against 1: x{per_minute[2] / per_minute[1]:.2f}")


if __name__ == "__main__":
    main()
