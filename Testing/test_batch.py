"""`emhassist analyze FOLDER --csv`: a batch that loses nothing.

Rows are on disk as each case finishes (a killed batch leaves them), cases run in worker processes
(a hung or crashed worker becomes that case's error row, the others go on), the same per-case
function runs on a Dask LocalCluster, and an output path that cannot be written is refused before
any case runs. The hanging and crashing cases are real processes that hang or die: the per-case
function below wraps the real one and is imported by the spawned workers.
"""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from small_case import write_small_case

from EMHAssistLib.frontends.cli import main
from EMHAssistLib.outputs.batch import analyze_cases, case_row_of

TESTING = Path(__file__).resolve().parent


def hanging_or_crashing(case: str) -> dict:
    """The real per-case function, except that a case named hang_* never ends and crash_* kills its worker."""
    name = Path(case).name
    if name.startswith("hang"):
        time.sleep(3600)
    if name.startswith("crash"):
        os.kill(os.getpid(), signal.SIGKILL)
    if name.startswith("bug"):
        raise ZeroDivisionError("float division by zero")
    return case_row_of(case)


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture
def cohort(tmp_path, scene) -> Path:
    folder = tmp_path / "cohort"
    write_small_case(folder / "a_first", scene)
    write_small_case(folder / "b_second", scene)
    return folder


def test_a_hung_a_crashed_and_a_failing_case_become_error_rows_and_the_others_finish(cohort, tmp_path):
    for name in ("crash_me", "hang_me", "bug_me"):
        (cohort / name).mkdir()
    out = tmp_path / "rows.csv"
    lines = []
    started = time.monotonic()
    finished = analyze_cases(cohort, out, progress=lines.append, workers=2, time_limit_s=8, run_case=hanging_or_crashing)
    assert time.monotonic() - started < 120, "the hung case held the batch past its time limit"
    assert finished is False
    rows = {row["case"]: row for row in read_rows(out)}
    assert list(rows) == ["a_first", "b_second", "bug_me", "crash_me", "hang_me"], "the final file is in case order"
    assert rows["a_first"]["error"] == rows["b_second"]["error"] == ""
    assert float(rows["a_first"]["T2 mass/cord"]) == pytest.approx(0.3)
    assert rows["hang_me"]["error"] == f"{cohort / 'hang_me'}: did not finish within 8 s (--time-limit); its worker was stopped"
    assert rows["crash_me"]["error"] == f"{cohort / 'crash_me'}: its worker process died (exit code -9) while analysing it"
    assert rows["bug_me"]["error"] == f"{cohort / 'bug_me'}: analysis failed: ZeroDivisionError: float division by zero"
    assert sorted(line.split(":")[0] for line in lines) == sorted(rows)


KILLED_BATCH = """
import sys
from pathlib import Path
from test_batch import hanging_or_crashing
from EMHAssistLib.outputs.batch import analyze_cases
analyze_cases(Path(sys.argv[1]), Path(sys.argv[2]), workers=1, time_limit_s=3600, run_case=hanging_or_crashing)
"""


def test_a_killed_batch_leaves_every_finished_row_on_disk(cohort, tmp_path):
    """The batch is killed (SIGKILL, no clean-up) while its third case hangs: the two finished rows are in the CSV."""
    (cohort / "hang_c").mkdir()
    out = tmp_path / "rows.csv"
    environment = os.environ | {"PYTHONPATH": os.pathsep.join([str(TESTING), *sys.path])}
    batch = subprocess.Popen(
        [sys.executable, "-c", KILLED_BATCH, str(cohort), str(out)], env=environment, start_new_session=True, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and len(read_rows(out)) == 2):
            assert batch.poll() is None, batch.stderr.read().decode()
            assert time.monotonic() < deadline, "the two first cases' rows never reached the disk"
            time.sleep(0.2)
    finally:
        os.killpg(batch.pid, signal.SIGKILL)  # the batch and its worker, which hangs
        batch.wait(10)
    rows = read_rows(out)
    assert [row["case"] for row in rows] == ["a_first", "b_second"]
    assert all(row["error"] == "" and float(row["T2 mass/cord"]) == pytest.approx(0.3) for row in rows)


def test_the_same_per_case_function_runs_on_a_dask_local_cluster(cohort, tmp_path):
    from distributed import LocalCluster

    (cohort / "bug_me").mkdir()
    local = tmp_path / "local.csv"
    assert analyze_cases(cohort, local, progress=lambda _: None, workers=1, run_case=hanging_or_crashing) is False
    distributed = tmp_path / "dask.csv"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert analyze_cases(cohort, distributed, progress=lambda _: None, scheduler=cluster.scheduler_address, run_case=hanging_or_crashing) is False
    assert read_rows(distributed) == read_rows(local)
    assert read_rows(local)[2]["error"].endswith("bug_me: analysis failed: ZeroDivisionError: float division by zero")


def test_an_unreachable_dask_scheduler_is_one_error_line(cohort, tmp_path, capsys):
    code = main(["analyze", str(cohort), "--csv", str(tmp_path / "rows.csv"), "--dask-scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: --dask-scheduler tcp://127.0.0.1:9: could not be reached")


@pytest.mark.parametrize("kind", ["folder", "device", "under a file", "inside a case"])
def test_a_csv_path_that_cannot_be_written_is_refused_before_any_case_runs(cohort, tmp_path, capsys, kind):
    (tmp_path / "a_file").write_text("kept\n")
    paths = {
        "folder": tmp_path,
        "device": Path("/dev/full"),
        "under a file": tmp_path / "a_file" / "rows.csv",
        "inside a case": cohort / "a_first" / "rows.csv",
    }
    started = time.monotonic()
    code = main(["analyze", str(cohort), "--csv", str(paths[kind])])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1 and captured.err.startswith(f"error: {paths[kind]}: ")
    assert captured.out == "", "a case ran before the output was refused"
    assert time.monotonic() - started < 5
    assert (tmp_path / "a_file").read_text() == "kept\n"
    assert not (cohort / "a_first" / "rows.csv").exists()


def test_a_newline_in_a_case_folder_name_stays_on_its_progress_line(tmp_path, scene, capsys):
    folder = tmp_path / "cohort"
    write_small_case(folder / "evil\nname", scene)
    (folder / "evil\nname" / "T2.nrrd").write_bytes(b"NRRD0004\nbroken")
    assert main(["analyze", str(folder), "--csv", str(tmp_path / "rows.csv")]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("evil\\nname: error: ")
    (row,) = read_rows(tmp_path / "rows.csv")
    assert row["case"] == "evil\nname", "the CSV keeps the name as it is, quoted"


def test_a_case_past_the_time_limit_on_the_dask_cluster_becomes_its_error_row_and_the_batch_ends(cohort, tmp_path):
    from distributed import LocalCluster

    (cohort / "hang_me").mkdir()
    out = tmp_path / "dask.csv"
    started = time.monotonic()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        finished = analyze_cases(cohort, out, progress=lambda _: None, time_limit_s=20, scheduler=cluster.scheduler_address, run_case=hanging_or_crashing)
    assert time.monotonic() - started < 90
    assert finished is False
    rows = {row["case"]: row for row in read_rows(out)}
    assert rows["a_first"]["error"] == rows["b_second"]["error"] == ""
    assert rows["hang_me"]["error"] == f"{cohort / 'hang_me'}: did not finish within 20 s (--time-limit); cancelled on the cluster"
