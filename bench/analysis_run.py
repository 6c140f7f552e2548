"""One case folder analysed in a fresh process: file reading, whole-analysis time and peak memory.

Run by `whole_analysis.py` (a fresh process keeps the building of the study out of the memory
figures). Prints one JSON object on stdout.

Memory is measured in the first run of `analyze`, right after loading (before any timed run can
leave freed memory behind for later runs to reuse unseen), three ways:
- tracemalloc: the peak of everything allocated during the analysis that Python's allocators
  see, numpy arrays included (numpy reports its data buffers to tracemalloc), on top of the
  loaded volumes; VTK's and ITK's own C++ allocations are not traced;
- resident set, analysis: the loaded volumes plus how far the process's high-water mark
  (VmHWM, reset through /proc/self/clear_refs just before) rose above its size just before
  the analysis; this adds every C++ allocation;
- resident set, process: that high-water mark minus the process's size before the case was
  loaded, which also counts what reading the files left behind in the allocator: an upper bound.
"""

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import slicer

from EMHAssistLib.analysis import analyze
from EMHAssistLib.inputs.casefolder import load_case_folder
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.outputs.report import to_json


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def reset_high_water_mark() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def top_functions(profile: cProfile.Profile, count: int) -> list[list]:
    """The engine functions that took longest (cumulative), as [seconds, 'module:function']."""
    stats = pstats.Stats(profile, stream=io.StringIO())
    rows = []
    for (filename, _, function), (_, _, _, cumulative, _) in stats.stats.items():
        if "EMHAssistLib" in filename and function not in ("analyze", "<module>"):
            rows.append([round(cumulative, 3), f"{Path(filename).stem}.{function}"])
    return sorted(rows, reverse=True)[:count]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("case", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    scene = new_headless_scene()
    rss_before_kib = status_kib("VmRSS")
    start = time.perf_counter()
    study = load_case_folder(args.case, scene)
    reading = time.perf_counter() - start
    volume_bytes = sum(slicer.util.arrayFromVolume(volume).nbytes for volume in study.sequences.values())

    rss_before_analysis_kib = status_kib("VmRSS")
    hwm_reset = reset_high_water_mark()
    tracemalloc.start()
    analyze(study)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_peak_kib = status_kib("VmHWM")

    durations = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        report = analyze(study)
        durations.append(time.perf_counter() - start)

    profile = cProfile.Profile()
    profile.runcall(analyze, study)

    print(
        json.dumps(
            {
                "reading_s": reading,
                "analysis_s": statistics.median(durations),
                "analyses_s": durations,
                "volume_bytes": volume_bytes,
                "traced_peak_bytes": traced_peak,
                "rss_rise_in_analysis_bytes": (rss_peak_kib - rss_before_analysis_kib) * 1024,
                "rss_peak_over_baseline_bytes": (rss_peak_kib - rss_before_kib) * 1024,
                "hwm_reset": hwm_reset,
                "warnings": list(report.warnings),
                "sections": sorted(key for key, value in to_json(report).items() if value),
                "slowest": top_functions(profile, 8),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
