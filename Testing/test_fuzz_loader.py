"""A short fuzz run of the case loader: random byte damage to a valid case's files.

Each run copies the case, damages one of its files (bytes flipped, cut, repeated or inserted)
and runs `emhassist analyze` on it. Every run must end with exit 0, or with exit 2 and a single
line `error: ...` on stderr: never a traceback, never a crash. The runs happen in a child
process (this file run as a script) so that a crash inside a C++ reader fails the test instead
of killing pytest, and each run's stderr is caught at the file-descriptor level, where the C++
libraries write too.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

RUNS = 40
SEED = 20260611
MUTATIONS = ("flip", "cut", "repeat", "insert")


def damage(content: bytes, mutation: str, rng: np.random.Generator) -> bytes:
    """The file's bytes with one kind of damage at a random place (the header is often hit)."""
    if not content:
        return bytes(rng.integers(0, 256, 16, dtype=np.uint8))
    at = int(rng.integers(0, len(content)))
    if rng.random() < 0.5:
        at = int(rng.integers(0, min(len(content), 400)))  # headers hold most of the structure
    if mutation == "flip":
        changed = bytearray(content)
        for position in rng.integers(0, len(content), int(rng.integers(1, 9))):
            changed[position] ^= int(rng.integers(1, 256))
        return bytes(changed)
    if mutation == "cut":
        return content[:at] + content[at + int(rng.integers(1, 200)) :]
    if mutation == "repeat":
        return content[:at] + content[at : at + 64] * 3 + content[at:]
    return content[:at] + bytes(rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8)) + content[at:]


def run_once(case: Path, stderr_file: Path) -> int:
    """`emhassist analyze case` in this process, with everything written to fd 2 caught."""
    from EMHAssistLib.frontends.cli import main

    saved = os.dup(2)
    with open(stderr_file, "w") as caught:
        os.dup2(caught.fileno(), 2)
        sys.stderr = open(2, "w", closefd=False)
        try:
            return main(["analyze", str(case), "--json", str(case.parent / "report.json")])
        except BaseException as error:  # recorded, so the parent names the damage that caused it
            print(f"Traceback: {type(error).__name__}: {error}", file=sys.stderr)
            return -1
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sys.stderr = sys.__stderr__


def fuzz(template: Path, runs: int, seed: int) -> None:
    """The child's work: one JSON line per run on stdout."""
    rng = np.random.default_rng(seed)
    files = sorted(path.name for path in template.iterdir())
    with tempfile.TemporaryDirectory() as folder:
        for run in range(runs):
            case = Path(folder) / f"run{run}" / "case"
            shutil.copytree(template, case)
            name, mutation = files[int(rng.integers(len(files)))], MUTATIONS[int(rng.integers(len(MUTATIONS)))]
            (case / name).write_bytes(damage((case / name).read_bytes(), mutation, rng))
            code = run_once(case, case.parent / "stderr.txt")
            stderr = (case.parent / "stderr.txt").read_text(errors="replace")
            print(
                json.dumps({"run": run, "file": name, "mutation": mutation, "code": code, "stderr": stderr}), flush=True
            )


def test_damaged_case_files_end_in_a_report_or_one_error_line(tmp_path, scene):
    from small_case import write_small_case
    from test_cli import write_segmentation_of_rois

    template = write_small_case(tmp_path / "template", scene)
    write_segmentation_of_rois(template / "regions.seg.nrrd", scene)
    child = subprocess.run(
        [sys.executable, __file__, str(template), str(RUNS), str(SEED)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).parent,
    )
    results = [json.loads(line) for line in child.stdout.splitlines() if line.startswith("{")]
    last = results[-1] if results else "none"
    assert child.returncode == 0, f"the loader crashed after run {last}: {child.stderr[-2000:]}"
    assert len(results) == RUNS
    for result in results:
        lines = result["stderr"].strip().splitlines()
        assert "Traceback" not in result["stderr"], result
        assert result["code"] in (0, 2), result
        if result["code"] == 2:
            assert len(lines) == 1 and lines[0].startswith("error: "), result
    assert {result["code"] for result in results} == {0, 2}, "the damage should both break and spare some cases"


if __name__ == "__main__":
    fuzz(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
