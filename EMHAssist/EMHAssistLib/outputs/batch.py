"""Batch analysis for research: every case folder inside one folder, one CSV row per case.

A case that fails gets a row with its one-line error and the batch goes on. Ratio columns are the
ratios measured in at least one case, in the report's own order; a case without one leaves it
empty. Numbers are written unrounded so the CSV holds what the JSON report holds. `mass_from` and
`mass_to` are the mass's first and last level; `mass_spans` its spans joined by SPAN_SEPARATOR
("T5–T9; S1–S3" for a mass at levels apart, "T5–T8" for one span), for a program to split.
`bilsky_grade` and `bilsky_at` are the most severe Bilsky grade and its level; `bilsky_levels`
each level the mass reaches the canal at with its grade ("T5 1c; T6 2; T7 2"), joined the same way.

Nothing finished is lost: each case runs in a worker process (a pebble process pool, or a Dask
distributed cluster), and its row is on disk as soon as it finishes, so a crash or a kill of the
batch leaves every finished row. A worker that crashes, or a case still running after the time
limit (data/batch.json, `--time-limit`), becomes that case's error row; its worker is replaced.
When every case is done the file is rewritten in case order, as one sequential run writes it.
"""

import csv
import functools
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import as_completed
from pathlib import Path

import slicer

from ..errors import InputError
from ..report_model import Levels, Ratio, Report
from ..settings import batch_settings
from .wording import graded_levels, level_span, summary_line

TOP_DIAGNOSES = 3
WARNING_SEPARATOR = " | "
SPAN_SEPARATOR = "; "
Row = dict[str, str | float]  # CSV column -> cell: a true mapping, its columns the ratios measured, written by csv.DictWriter
FIXED_COLUMNS = [
    "case", "error", "sequences", "levels", "mass_from", "mass_to", "mass_spans", "compression_from", "compression_to",
    "compression_shown_by", "max_mscc_percent", "max_mscc_at", "area_ratio_percent", "rl_ratio_percent",
    "bilsky_grade", "bilsky_at", "bilsky_levels",
]
# A case folder whose name is not UTF-8 (its bytes lone surrogates, as os.fsdecode gives them) is one
# error row whose name shows '?' for those bytes, as the HTML report writes it; strict encoding
# raised a traceback at its row and every case after it was lost.
UNDECODABLE_NAMES = "replace"
CaseRunner = Callable[[str], Row]  # a case folder's path in, its CSV row out


def analyze_cases(
    folder: Path,
    csv_path: Path,
    progress: Callable[[str], None] = print,
    workers: int = 1,
    time_limit_s: float | None = None,
    scheduler: str | None = None,
    run_case: CaseRunner | None = None,
) -> bool:
    """Analyse each case folder in `folder` into `csv_path`, `workers` cases at a time (or on the Dask
    cluster at `scheduler`); True when every case was analysed. `run_case` is the per-case function,
    run in a worker process: it must be importable there (a module-level function)."""
    cases = case_folders(folder)
    limit = batch_settings().case_time_limit_s if time_limit_s is None else time_limit_s
    run_case = run_case or case_row_of
    rows_file = RowsFile(csv_path)  # created now: a path that cannot be written fails before any case runs
    finished = _dask_rows(cases, scheduler, limit, run_case) if scheduler else _pool_rows(cases, workers, limit, run_case)
    for case, row in finished:
        progress(f"{case.name}: " + (f"error: {row['error']}" if row["error"] else "ok"))
        rows_file.add(row)
    rows_file.finish([case.name for case in cases])
    return not any(row["error"] for row in rows_file.rows)


def case_row_of(case: str) -> Row:
    """The per-case function the workers run: the case folder's row, on this process's own scene."""
    return case_row(Path(case), _worker_scene())


@functools.cache
def _worker_scene() -> slicer.vtkMRMLScene:
    import vtk

    from ..inputs.scene import new_headless_scene

    vtk.vtkObject.GlobalWarningDisplayOff()  # as the command line does: errors are our one-line rows
    return new_headless_scene()


def warm_worker() -> None:
    """Make this worker process's scene now (importing Slicer's libraries), not inside the first case."""
    _worker_scene()


def _pool_rows(cases: Sequence[Path], workers: int, limit_s: float, run_case: CaseRunner) -> Iterator[tuple[Path, Row]]:
    """(case, row) as each case finishes in a pool of `workers` spawned processes. Spawned, not forked:
    a fork of a process holding VTK's and ITK's threads can deadlock."""
    import multiprocessing

    from pebble import ProcessPool

    with ProcessPool(max_workers=workers, context=multiprocessing.get_context("spawn"), initializer=warm_worker) as pool:
        futures = {pool.schedule(run_case, args=(str(case),), timeout=limit_s): case for case in cases}
        try:
            for future in as_completed(futures):
                case = futures[future]
                yield case, _row_of_future(case, future.exception, future.result, limit_s)
        finally:
            pool.stop()  # a batch stopped early (an error writing the CSV) leaves no worker running


def _dask_rows(cases: Sequence[Path], address: str, limit_s: float, run_case: CaseRunner) -> Iterator[tuple[Path, Row]]:
    """(case, row) as each case finishes on the Dask cluster at `address`. No more cases are given to the
    cluster than it has threads, so a case's clock starts about when it starts; one still running after
    the limit becomes an error row and is cancelled (Dask cannot stop a running task: its worker thread
    stays busy until the case ends)."""
    from distributed import Client, wait

    try:
        client = Client(address, timeout=batch_settings().dask_connect_timeout_s)
    except (OSError, TimeoutError) as error:
        raise InputError(f"--dask-scheduler {address}", f"could not be reached ({error})") from None
    with client:
        client.run(warm_worker)  # imports and scene made before any case's clock starts, as the pool's initializer does
        waiting = list(cases)
        slots = max(1, sum(client.nthreads().values()))
        running: dict[object, tuple[Path, float]] = {}  # Dask future -> its case and deadline
        while waiting or running:
            while waiting and len(running) < slots:
                case = waiting.pop(0)
                running[client.submit(run_case, str(case), pure=False)] = (case, time.monotonic() + limit_s)
            next_deadline = min(deadline for _, deadline in running.values())
            try:
                done, _ = wait(list(running), timeout=max(0.0, next_deadline - time.monotonic()), return_when="FIRST_COMPLETED")
            except TimeoutError:  # Dask's wait raises when nothing finished in time
                done = set()
            for future in done:
                case, _ = running.pop(future)
                yield case, _row_of_future(case, future.exception, future.result, limit_s)
            for future, (case, deadline) in list(running.items()):
                if future not in done and time.monotonic() >= deadline:
                    del running[future]
                    future.cancel()
                    yield case, _error_row(case, f"did not finish within {limit_s:g} s (--time-limit); cancelled on the cluster")


def _row_of_future(case: Path, exception: Callable, result: Callable, limit_s: float) -> Row:
    """The row a finished future holds, or the error row of a case whose worker timed out or died."""
    from pebble import ProcessExpired

    error = exception()
    if error is None:
        return result()
    if isinstance(error, TimeoutError):
        return _error_row(case, f"did not finish within {limit_s:g} s (--time-limit); its worker was stopped")
    if isinstance(error, ProcessExpired):
        return _error_row(case, f"its worker process died (exit code {error.exitcode}) while analysing it")
    if type(error).__name__ == "KilledWorker":  # Dask gave up after the case's workers kept dying (by name: a local batch never imports Dask)
        return _error_row(case, "its Dask workers died while analysing it")
    return _error_row(case, f"analysis failed: {type(error).__name__}: {error}")


def _error_row(case: Path, problem: str) -> Row:
    return {"case": case.name, "error": str(InputError(str(case), problem))}


class RowsFile:
    """The batch's CSV, holding every finished row at every moment: a row whose columns the header
    already has is appended and flushed to disk; one bringing new columns (a ratio no earlier case
    had) rewrites the file with the wider header, atomically, so a kill never leaves it half written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: list[Row] = []
        self._columns = columns_of(self.rows)
        write_rows(self.rows, path)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        if not row.keys() <= set(self._columns):
            self._columns = columns_of(self.rows)
            write_rows(self.rows, self.path)
            return
        with self.path.open("a", newline="", encoding="utf-8", errors=UNDECODABLE_NAMES) as stream:
            csv.DictWriter(stream, fieldnames=self._columns, restval="").writerow(row)
            stream.flush()
            os.fsync(stream.fileno())

    def finish(self, case_order: list[str]) -> None:
        """The rows in case order (the order they finished in depends on the workers)."""
        place = {name: index for index, name in enumerate(case_order)}
        self.rows.sort(key=lambda row: place[row["case"]])
        write_rows(self.rows, self.path)


def case_folders(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise InputError(str(folder), "is not a folder of case folders")
    cases = sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith("."))
    if not cases:
        raise InputError(str(folder), "holds no case folder")
    return cases


def case_row(case: Path, scene: slicer.vtkMRMLScene) -> Row:
    """The case's row; the scene is emptied afterwards, so a long batch does not keep every case's volumes."""
    from ..analysis import analyze
    from ..inputs.casefolder import load_case_folder

    try:
        report = analyze(load_case_folder(case, scene))
    except InputError as error:
        return {"case": case.name, "error": str(error)}
    finally:
        scene.Clear(False)
    return report_row(report) | {"case": case.name}


def report_row(report: Report) -> Row:
    row = {"case": report.case, "error": "", "sequences": " ".join(report.sequences)}
    row |= _levels_cells(report.levels)
    for key, ratio in report.ratios.items():
        row |= _ratio_cells(key.text, ratio)
    for region, value in report.enhancement.items():
        row |= _ratio_cells(f"enhancement {region}", value)
    for place, entry in enumerate(report.differential[:TOP_DIAGNOSES], start=1):
        row[f"diagnosis_{place}"] = entry.name
        row[f"probability_{place}"] = entry.probability
    row["warnings"] = WARNING_SEPARATOR.join(report.warnings)
    return row


def columns_of(rows: Sequence[Row]) -> list[str]:
    measured = [column for row in rows for column in row if column not in FIXED_COLUMNS and not _is_tail(column)]
    diagnoses = [name for place in range(1, TOP_DIAGNOSES + 1) for name in (f"diagnosis_{place}", f"probability_{place}")]
    return FIXED_COLUMNS + list(dict.fromkeys(measured)) + diagnoses + ["warnings"]


def write_rows(rows: Sequence[Row], path: Path) -> None:
    """The whole CSV, written beside `path` and moved over it: the file is the old or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with partial.open("w", newline="", encoding="utf-8", errors=UNDECODABLE_NAMES) as stream:
            writer = csv.DictWriter(stream, fieldnames=columns_of(rows), restval="")
            writer.writeheader()
            writer.writerows(rows)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _is_tail(column: str) -> bool:
    return column == "warnings" or column.startswith(("diagnosis_", "probability_"))


def _levels_cells(levels: Levels | None) -> Row:
    if levels is None:
        return {}
    cells = {"levels": summary_line(levels) or ""}
    if levels.mass:
        mass = levels.mass
        cells |= {"mass_from": mass.from_, "mass_to": mass.to, "mass_spans": level_span(mass, SPAN_SEPARATOR)}
    compression = levels.compression
    if compression:
        cells |= {
            "compression_from": compression.from_ or "",
            "compression_to": compression.to or "",
            "compression_shown_by": WARNING_SEPARATOR.join(compression.shown_by),
            "max_mscc_at": compression.at or "",
        }
        cells |= {field: _blank_if_none(getattr(compression, field)) for field in ("max_mscc_percent", "area_ratio_percent", "rl_ratio_percent")}
    worst = levels.bilsky.most_severe if levels.bilsky else None
    if worst is not None:
        cells |= {"bilsky_grade": worst.grade, "bilsky_at": worst.level}
    if levels.bilsky is not None:
        cells["bilsky_levels"] = SPAN_SEPARATOR.join(f"{entry.level} {entry.grade}" for entry in graded_levels(levels))
    return cells


def _ratio_cells(name: str, ratio: Ratio) -> Row:
    low, high = ratio.ci95
    return {name: ratio.value, f"{name} ci95 low": low, f"{name} ci95 high": high}


def _blank_if_none(value: float | None) -> float | str:
    return "" if value is None else value
