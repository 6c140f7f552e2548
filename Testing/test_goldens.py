"""Every built-in case's JSON report, text summary, CSV tables, HTML page and DICOM SR, byte for byte as
stored under goldens/ (issue 16, point 6): a refactor that changes any output fails here. A result
changed on purpose is rewritten with tools/update_goldens.py, and the commit shows its diff. The JSON
report holds the whole report: read back, it is the one analysed."""

import difflib
import json

import pytest
from golden_outputs import GOLDENS, OUTPUT_NAMES, analysed_outputs, case_names

from EMHAssistLib.outputs.report import from_json

@pytest.mark.slow  # about half a minute a case on the shared machine
@pytest.mark.parametrize("case", case_names())
def test_every_output_of_the_case_is_its_golden(case, tmp_path):
    analysed, outputs = analysed_outputs(case, tmp_path)
    # the JSON as written (outputs name the case folder <out>): its worded findings read from their codes
    assert from_json(json.loads((tmp_path / "report.json").read_text(encoding="utf-8")), case) == analysed
    assert sorted(outputs) == sorted(OUTPUT_NAMES)
    changed = [name for name in OUTPUT_NAMES if outputs[name] != (GOLDENS / case / name).read_bytes()]
    assert not changed, f"{case}: {', '.join(changed)} differ from Testing/goldens/{case}/ (tools/update_goldens.py rewrites them)\n" + "".join(
        _first_differences(GOLDENS / case / name, outputs[name]) for name in changed
    )


def _first_differences(golden, produced: bytes, lines: int = 40) -> str:
    """The head of a unified diff of an output against its golden, so a run that cannot be repeated
    shows what moved (on 2026-12-07 it showed an SR's file meta length, which follows its random UID's)."""
    diff = difflib.unified_diff(golden.read_text(encoding="utf-8").splitlines(True), produced.decode("utf-8").splitlines(True), str(golden), "produced")
    return "".join(list(diff)[:lines])


def test_every_built_in_case_has_its_goldens():
    assert sorted(path.name for path in GOLDENS.iterdir()) == sorted(case_names())
