"""The report model's ratio key (issue 16 point 1): built by measurement, parsed once where text is
read (a stored report, a results table, a knowledge file), written back as the same text."""

import pytest

from EMHAssistLib.differential import knowledge
from EMHAssistLib.errors import InputError
from EMHAssistLib.outputs.report import from_json, to_json
from EMHAssistLib.report_model import RatioKey


@pytest.mark.parametrize(
    ("text", "key", "inputs"),
    [
        ("T2 mass/cord", RatioKey("mass", "cord", sequence="T2"), (("mass", "T2"), ("cord", "T2"))),
        ("T1C/T1 mass", RatioKey("T1C", "T1", region="mass"), (("mass", "T1C"), ("mass", "T1"))),
    ],
)
def test_both_forms_of_a_key_read_and_write_the_same_text(text, key, inputs):
    assert RatioKey.parse(text) == key
    assert key.text == str(key) == text
    assert key.inputs() == inputs
    assert f"{key.sequence_label} {key.region_label}" == text


def test_the_sequence_pair_form_belongs_to_its_region_and_was_measured_on_both_sequences():
    pair = RatioKey.of_sequences("marrow", "OP", "IP")
    assert (pair.owner, pair.roles, pair.across_sequences) == ("marrow", ("OP", "IP"), True)
    regions = RatioKey.of_regions("T2", "mass", "cord")
    assert (regions.owner, regions.roles, regions.across_sequences) == ("mass", ("T2",), False)


@pytest.mark.parametrize("text", ["T2 mass", "T2 mass/cord/disc", "mass/cord", "T2  mass/cord", ""])
def test_text_in_neither_form_is_refused(text):
    with pytest.raises(ValueError, match="is neither"):
        RatioKey.parse(text)


def test_a_key_names_its_sequence_or_its_region_not_both():
    with pytest.raises(ValueError):
        RatioKey("mass", "cord", sequence="T2", region="mass")
    with pytest.raises(ValueError):
        RatioKey("mass", "cord")


def test_a_stored_reports_ratio_keys_are_parsed_once_and_written_back_as_they_were():
    stored = {"schema": "emhassist.report/1", "ratios": {"T2 mass/cord": {"value": 0.3, "ci95": [0.29, 0.31]}, "OP/IP marrow": {"value": 0.6, "ci95": [0.5, 0.7]}}}
    report = from_json(stored, "report.json")
    assert list(report["ratios"]) == [RatioKey.of_regions("T2", "mass", "cord"), RatioKey.of_sequences("marrow", "OP", "IP")]
    assert to_json(report) == stored


def test_a_stored_report_with_a_malformed_ratio_key_is_one_error_naming_the_file_and_key():
    with pytest.raises(InputError, match=r"^old.json: ratio 'T2 mass-cord' is neither"):
        from_json({"ratios": {"T2 mass-cord": {"value": 1.0, "ci95": [1.0, 1.0]}}}, "old.json")
    with pytest.raises(InputError, match=r"^old.json: its 'ratios' is not an object"):
        from_json({"ratios": ["T2 mass/cord"]}, "old.json")


def test_the_knowledge_files_ratio_tests_are_keys_parsed_on_load():
    tests = [feature.test for feature in knowledge().features]
    simple = [part for test in tests for part in test.get("all", [test])]
    ratios = [test["ratio"] for test in simple if "ratio" in test]
    assert ratios and all(isinstance(key, RatioKey) for key in ratios)
