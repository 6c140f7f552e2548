"""Timing, machine description and table printing shared by the benchmarks."""

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

# The benchmarks import the engine and each other when run as `python bench/<script>.py`.
BENCH_DIR = Path(__file__).resolve().parent
REPOSITORY = BENCH_DIR.parent
IN_PLANE_SIZES = (256, 512, 1024)
REFERENCE_SIZE = 512  # the study size; other sizes show how cost grows
PACKAGES = ("numpy", "vtk", "slicer-core", "SimpleITK")


@dataclass
class Timing:
    """Wall times of repeated runs of one step, their CPU times (this process, all its threads: on
    a shared machine a fairer figure than wall time, which counts the waits for a core), and what its
    last run returned."""

    seconds: list[float]
    result: object = None
    cpu_seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_seconds)

    @property
    def cpu_spread(self) -> str:
        """Median CPU time with min and max, as `spread`."""
        return Timing(self.cpu_seconds).spread

    @property
    def spread(self) -> str:
        """Median with min and max, e.g. '3.10 ms (2.90-4.00, 200 runs)'."""
        low, high = min(self.seconds), max(self.seconds)
        return f"{milliseconds(self.median)} ({milliseconds(low)}-{milliseconds(high)}, {len(self.seconds)} runs)"


def timed_runs(
    run: Callable[[], object], repeats: int, prepare: Callable[[], object] = lambda: None, warm_up: bool = True
) -> Timing:
    """Wall time of `repeats` calls of `run`, each after an untimed call of `prepare`.

    With `warm_up`, one untimed call first warms caches and imports (the slow baselines skip it,
    which costs them at most their first call's share of the median).
    """
    if warm_up:
        prepare()
        run()
    timing = Timing([])
    for _ in range(repeats):
        prepare()
        start, cpu_start = time.perf_counter(), time.process_time()
        timing.result = run()
        timing.seconds.append(time.perf_counter() - start)
        timing.cpu_seconds.append(time.process_time() - cpu_start)
    return timing


def repeats_at(in_plane: int, reference: int, other: int) -> int:
    """More runs at the reference size, whose figures are the ones quoted, fewer elsewhere."""
    return reference if in_plane == REFERENCE_SIZE else other


def machine() -> str:
    return (
        f"{cpu_model()}, {os.cpu_count()} CPUs, {memory_gib():.1f} GiB RAM; Python {platform.python_version()}, "
        + ", ".join(f"{package} {version(package)}" for package in PACKAGES)
        + f"; {load_average()}"
    )


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages: the machine is shared, so other work may compete."""
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())


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


def extract_engine(commit: str, into: Path) -> Path:
    """The EMHAssist package of `commit` (`git archive`) in the folder `into`; its path."""
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(REPOSITORY), "archive", commit, "EMHAssist"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "EMHAssist"


def run_child(script: str, engine: Path, arguments: list[str]) -> dict:
    """`script --child arguments` in a fresh process on `engine`'s package; the JSON its last line prints."""
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(engine), str(BENCH_DIR)]))
    done = subprocess.run([sys.executable, script, "--child", *arguments], env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{engine}: the timed process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])
