"""Whole analysis with the files loaded, file reading apart, and peak memory, at three sizes.

Each size's study is saved as a Slicer case folder (compressed NRRD, as Save Data writes) and
analysed by `analysis_run.py` in a fresh process. Run with the project's Python:
`python bench/whole_analysis.py`.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import BENCH_DIR, IN_PLANE_SIZES, REFERENCE_SIZE, load_average, machine, milliseconds, print_table, repeats_at
from synthetic_study import build_study

from EMHAssistLib.outputs.case_folder import save_case_folder
from EMHAssistLib.inputs.scene import new_headless_scene

ANALYSIS_TARGET_S = 1.5
MEMORY_TARGET = 1.5  # peak memory of the analysis as a multiple of the loaded volumes' bytes


def write_case(in_plane: int, folder: Path) -> Path:
    case = folder / f"bench{in_plane}"
    save_case_folder(build_study(new_headless_scene(), in_plane), case)
    return case


def analyse_in_fresh_process(case: Path, repeats: int) -> dict:
    command = [sys.executable, str(BENCH_DIR / "analysis_run.py"), str(case), "--repeats", str(repeats)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(IN_PLANE_SIZES), help="in-plane matrix sizes")
    parser.add_argument("--repeats", type=int, default=7, help=f"timed analyses at {REFERENCE_SIZE}²")
    parser.add_argument("--other-repeats", type=int, default=3, help="timed analyses at the other sizes")
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="emhassist-bench-") as folder:
        for size in args.sizes:
            case = write_case(size, Path(folder))
            results[size] = analyse_in_fresh_process(case, repeats_at(size, args.repeats, args.other_repeats))
            print(f"{size}²×200 measured; {load_average()}", flush=True)
            for path in case.iterdir():
                path.unlink()
    rows = []
    for size, r in results.items():
        volumes = r["volume_bytes"]
        rows.append(
            [
                f"{size}²×200",
                f"{volumes / 2**20:.0f} MiB",
                milliseconds(r["reading_s"]),
                f"{milliseconds(r['analysis_s'])} ({milliseconds(min(r['analyses_s']))}-{milliseconds(max(r['analyses_s']))}, {len(r['analyses_s'])} runs)"
                + ("" if r["analysis_s"] <= ANALYSIS_TARGET_S else f"  (over {ANALYSIS_TARGET_S} s)"),
                f"{(volumes + r['traced_peak_bytes']) / volumes:.2f}×",
                f"{(volumes + r['rss_rise_in_analysis_bytes']) / volumes:.2f}×"
                + ("" if r["hwm_reset"] else " (lifetime peak)"),
                f"{r['rss_peak_over_baseline_bytes'] / volumes:.2f}×",
            ]
        )
    print_table(
        f"Whole analysis, files loaded: median (min-max, runs); memory as a multiple of the volumes' bytes (target ≤ {MEMORY_TARGET}×)",
        ["volume", "4 volumes", "reading files", "analysis", "peak: tracemalloc", "resident set: analysis", "resident set: process"],
        rows,
    )
    if REFERENCE_SIZE in results:
        r = results[REFERENCE_SIZE]
        memory = (r["volume_bytes"] + r["traced_peak_bytes"]) / r["volume_bytes"]
        print(
            f"\nTargets at {REFERENCE_SIZE}²×200: analysis {milliseconds(r['analysis_s'])} against ≤ {ANALYSIS_TARGET_S} s"
            f" ({'met' if r['analysis_s'] <= ANALYSIS_TARGET_S else 'MISSED'}); peak memory {memory:.2f}× the volumes"
            f" (tracemalloc) against ≤ {MEMORY_TARGET}× ({'met' if memory <= MEMORY_TARGET else 'MISSED'})"
        )
    first = results[args.sizes[0]]
    print_table(
        f"Scaling against {args.sizes[0]}²",
        ["volume", "reading files", "analysis"],
        [
            [
                f"{size}²×200",
                f"{r['reading_s'] / first['reading_s']:.1f}×",
                f"{r['analysis_s'] / first['analysis_s']:.1f}×",
            ]
            for size, r in results.items()
        ],
    )
    for size, r in results.items():
        print(f"\n{size}²×200: report sections {', '.join(r['sections'])}")
        print("  warnings: " + ("; ".join(r["warnings"]) or "none"))
        print(
            "  slowest engine steps (cumulative s): " + ", ".join(f"{name} {seconds}" for seconds, name in r["slowest"])
        )
    print(f"\nFinished; {load_average()}")


if __name__ == "__main__":
    main(sys.argv[1:])
