"""Timing, machine description and table printing shared by the benchmarks."""

import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

# The benchmarks import the engine and each other when run as `python bench/<script>.py`.
BENCH_DIR = Path(__file__).resolve().parent
IN_PLANE_SIZES = (256, 512, 1024)
REFERENCE_SIZE = 512


def median_seconds(
    run: Callable[[], object], repeats: int, prepare: Callable[[], object] = lambda: None, warm_up: bool = True
) -> float:
    """Median wall time of `repeats` calls of `run`, each after an untimed call of `prepare`.

    One untimed call first warms caches and imports.
    """
    if warm_up:
        prepare()
        run()
    times = []
    for _ in range(repeats):
        prepare()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> str:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{cpu_model()}, {os.cpu_count()} CPUs, {memory_gib():.1f} GiB RAM, Python {platform.python_version()}; load average {load}"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    print(f"\n{title}")
    print("  ".join(cell.ljust(width) for cell, width in zip(header, widths)))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
