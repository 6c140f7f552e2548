"""Every built-in case's JSON report, text summary, CSV tables, HTML page and DICOM SR, byte for byte as
stored under goldens/ (issue 16, point 6) but for full-precision numbers' last bits, which follow the CPU
(`same_output`): a refactor that changes any output fails here. A result changed on purpose is rewritten
with tools/update_goldens.py, and the commit shows its diff. The JSON report holds the whole report: read
back, it is the one analysed."""

import difflib
import json
import math
import re

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
    changed = [name for name in OUTPUT_NAMES if not same_output(outputs[name], (GOLDENS / case / name).read_bytes())]
    assert not changed, f"{case}: {', '.join(changed)} differ from Testing/goldens/{case}/ (tools/update_goldens.py rewrites them)\n" + "".join(
        _first_differences(GOLDENS / case / name, outputs[name]) for name in changed
    )


# A number written with more digits than a float's last bit leaves alone (17 significant figures).
_FULL_PRECISION = re.compile(rb"-?\d+\.\d{9,}(?:e[-+]?\d+)?")
# numpy's reductions (the regions' SD, a ratio's interval) add in an order set by the CPU's SIMD width: on
# 2026-12-07 a machine with AVX2 and no AVX-512 (numpy's X86_V3) wrote breast_metastasis_t7's T1C sd
# 23.722967431848147 where the goldens, written on an AVX-512 machine, hold 23.722967431848144, one unit in
# the last place (4e-16 of it). Such numbers are compared to 1e-13 of their size, a few hundred units in the
# last place; every other byte exactly.
_LAST_BITS = 1e-13


def same_output(produced: bytes, golden: bytes) -> bool:
    """Byte for byte, but for full-precision numbers, which may differ in their last bits between CPUs."""
    if produced == golden:
        return True
    if _FULL_PRECISION.split(produced) != _FULL_PRECISION.split(golden):
        return False
    pairs = zip(_FULL_PRECISION.findall(produced), _FULL_PRECISION.findall(golden))
    return all(math.isclose(float(a), float(b), rel_tol=_LAST_BITS) for a, b in pairs)


def test_numbers_that_differ_in_their_last_bits_are_the_same_output_and_nothing_else_is():
    golden = b'{"sd": 23.722967431848144, "level": "T7", "n": 54}'
    assert same_output(b'{"sd": 23.722967431848147, "level": "T7", "n": 54}', golden)
    assert not same_output(b'{"sd": 23.722967431948144, "level": "T7", "n": 54}', golden)  # 4e-12 of it: a real change
    assert not same_output(b'{"sd": 23.722967431848144, "level": "T8", "n": 54}', golden)
    assert not same_output(b'{"sd": 23.722967431848144, "level": "T7", "n": 55}', golden)


def _first_differences(golden, produced: bytes, lines: int = 40) -> str:
    """The head of a unified diff of an output against its golden, so a run that cannot be repeated
    shows what moved (on 2026-12-07 it showed an SR's file meta length, which follows its random UID's)."""
    diff = difflib.unified_diff(golden.read_text(encoding="utf-8").splitlines(True), produced.decode("utf-8").splitlines(True), str(golden), "produced")
    return "".join(list(diff)[:lines])


def test_every_built_in_case_has_its_goldens():
    assert sorted(path.name for path in GOLDENS.iterdir()) == sorted(case_names())
