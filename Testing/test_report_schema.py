"""The published schema of `emhassist.report/1` (issue 16 point 2): the file in the package is the
one the report model generates, and every built-in case's report (Testing/goldens) is valid against
it, while a report with a field the model does not know, or a wrong type, is not."""

import copy
import json

import jsonschema
import pytest
from golden_outputs import GOLDENS

from EMHAssistLib.outputs.report_schema import SCHEMA_FILE, schema_text


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def stored_report(case: str) -> dict:
    return json.loads((GOLDENS / case / "report.json").read_text(encoding="utf-8"))


def test_the_published_schema_is_the_one_the_model_generates():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), "tools/update_report_schema.py rewrites it"


@pytest.mark.parametrize("case", sorted(path.name for path in GOLDENS.iterdir()))
def test_every_built_in_cases_report_is_valid(case, validator):
    errors = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(stored_report(case))]
    assert not errors, errors[:5]


def changed(report: dict, edit) -> dict:
    copied = copy.deepcopy(report)
    edit(copied)
    return copied


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: r.update(bilsky="1b"),  # a section the model does not hold
        lambda r: r["levels"]["compression"].update(max_mscc_percent="40 %"),  # a number as text
        lambda r: r["ratios"].update({"T2 mass-cord": {"value": 1.0, "ci95": [1.0, 1.0]}}),  # a key in neither form
        lambda r: r["ratios"]["T2 mass/cord"].update(ci95=[0.9]),  # an interval without its upper bound
        lambda r: r["differential"][0]["evidence"][0].update(state="likely"),  # a state the ranking never writes
        lambda r: r.pop("warnings"),  # a required section left out
    ],
)
def test_a_report_the_model_cannot_hold_is_invalid(edit, validator):
    assert not validator.is_valid(changed(stored_report("mds_t5_t8"), edit))
