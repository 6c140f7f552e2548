"""Every built-in case's JSON report, text summary, CSV tables, HTML page and DICOM SR, byte for byte as
stored under goldens/ (issue 16, point 6): a refactor that changes any output fails here. A result
changed on purpose is rewritten with tools/update_goldens.py, and the commit shows its diff."""

import pytest
from golden_outputs import GOLDENS, OUTPUT_NAMES, case_names, outputs_of

@pytest.mark.slow  # about half a minute a case on the shared machine
@pytest.mark.parametrize("case", case_names())
def test_every_output_of_the_case_is_its_golden(case, tmp_path):
    outputs = outputs_of(case, tmp_path)
    assert sorted(outputs) == sorted(OUTPUT_NAMES)
    changed = [name for name in OUTPUT_NAMES if outputs[name] != (GOLDENS / case / name).read_bytes()]
    assert not changed, f"{case}: {', '.join(changed)} differ from Testing/goldens/{case}/ (tools/update_goldens.py rewrites them)"


def test_every_built_in_case_has_its_goldens():
    assert sorted(path.name for path in GOLDENS.iterdir()) == sorted(case_names())
