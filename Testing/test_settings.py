"""The settings and style data files: typed and validated on load, every failure naming its file and key."""

import copy
import dataclasses
import math
import typing
from collections.abc import Iterator

import pytest

from EMHAssistLib import errors
from EMHAssistLib.errors import InputError, message_limits
from EMHAssistLib.frontends.panel import PanelSettings, panel_settings
from EMHAssistLib.knowledge import load
from EMHAssistLib.limits import Limits, limits
from EMHAssistLib.outputs.overlay_style import OverlayStyle, overlay_style
from EMHAssistLib.outputs.sr_codes import SrCodes, sr_codes
from EMHAssistLib.report_model import RatioKey
from EMHAssistLib.settings import (
    BatchSettings,
    BilskySettings,
    FollowupSettings,
    MeasurementSettings,
    NormativeCord,
    SequenceNames,
    SpineSettings,
    Vocabulary,
    batch_settings,
    bilsky_settings,
    followup_settings,
    measurement_settings,
    parse,
    spine_settings,
    vocabulary,
)
from EMHAssistLib.teaching.quiz_settings import QuizSettings, quiz_settings


def _refused(kind: type, name: str, data: dict) -> InputError:
    with pytest.raises(InputError) as caught:
        parse(kind, data, name)
    assert caught.value.subject == f"EMHAssistLib/data/{name}.json"
    return caught.value


def _levels() -> dict:
    return copy.deepcopy(load("levels"))


def test_the_shipped_settings_load_typed_and_keep_their_values():
    spine, measurement = spine_settings(), measurement_settings()
    assert spine.cord.csf_percentile == load("levels")["cord"]["csf_percentile"]
    assert spine.detection.recentre.passes == load("levels")["detection"]["recentre"]["passes"]
    assert [m.key for m in spine.compression.measures] == ["ap_mm", "rl_mm"]
    assert spine.compression.measures[1].needs_mass and not spine.compression.measures[0].needs_mass
    assert spine.typical_height_mm["T"] == load("levels")["typical_height_mm"]["T"]
    assert measurement.enhancement.post == load("measurement")["enhancement"]["post"]
    assert measurement.ratio_pairs[0] == tuple(load("measurement")["ratio_pairs"][0])
    # The tuning constants moved out of masses.py and regions.py (issue 16 point 5) keep their values.
    assert spine.mass.rim_min_voxels == 10 and measurement.percentiles == (5.0, 50.0, 95.0)


def test_settings_cannot_be_changed_after_load():
    with pytest.raises(AttributeError):
        spine_settings().cord.csf_percentile = 50.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        spine_settings().typical_height_mm["T"] = 1.0  # type: ignore[index]


def test_a_missing_key_is_named():
    data = _levels()
    del data["cord"]["csf_side_fraction"]
    assert _refused(SpineSettings, "levels", data).problem == "cord.csf_side_fraction: missing"


def test_a_missing_nested_key_is_named_with_its_path():
    data = _levels()
    del data["detection"]["recentre"]["passes"]
    assert _refused(SpineSettings, "levels", data).problem == "detection.recentre.passes: missing"


@pytest.mark.parametrize(
    ("section", "key", "value", "problem"),
    [
        ("cord", "csf_percentile", "97", "must be a number, not '97'"),
        ("cord", "csf_percentile", True, "must be a number, not True"),
        ("cord", "relocate_tries", 10.5, "must be a whole number, not 10.5"),
        ("cord", "sequence_preference", "T2", "must be a non-empty list"),
        ("compression", "conus_highest_level", 12, "must be a non-empty text, not 12"),
        ("mass", "search_margin_mm", [60.0, 40.0], "must be a list of 3 values, not 2"),
    ],
)
def test_a_value_of_the_wrong_type_is_named(section: str, key: str, value: object, problem: str):
    data = _levels()
    data[section][key] = value
    assert _refused(SpineSettings, "levels", data).problem == f"{section}.{key}: {problem}"


@pytest.mark.parametrize(
    ("section", "key", "value", "problem"),
    [
        ("cord", "csf_percentile", 120.0, "must be from 0 to 100, not 120.0"),
        ("cord", "upsample_mm", 0.0, "must be above 0 and at most 2500, not 0.0"),
        ("compression", "narrowing_threshold", -0.2, "must be from 0 to 1, not -0.2"),
        ("morphology", "one_side_fraction", 0.4, "must be from 0.5 to 1, not 0.4"),
        ("cord", "bridge_mm", math.inf, "must be a number, not inf"),
        ("mass", "rim_min_voxels", 0, "must be above 0 and at most 1000, not 0"),
    ],
)
def test_a_value_out_of_range_is_named(section: str, key: str, value: float, problem: str):
    data = _levels()
    data[section][key] = value
    assert _refused(SpineSettings, "levels", data).problem == f"{section}.{key}: {problem}"


def test_each_number_of_a_list_is_checked_with_its_index():
    data = _levels()
    data["mass"]["search_margin_mm"][2] = -150.0
    assert _refused(SpineSettings, "levels", data).problem == "mass.search_margin_mm[2]: must be above 0 and at most 2500, not -150.0"


def test_a_list_of_records_names_the_entry():
    data = _levels()
    data["compression"]["measures"][1]["needs_mass"] = "yes"
    problem = _refused(SpineSettings, "levels", data).problem
    assert problem == "compression.measures[1].needs_mass: must be true or false, not 'yes'"


def test_a_misspelt_key_is_refused_rather_than_ignored():
    data = _levels()
    data["cord"]["csf_percentil"] = 95.0
    assert _refused(SpineSettings, "levels", data).problem.startswith("cord.csf_percentil: is not a setting of cord (known: ")


def test_reasons_are_prose_beside_their_setting_and_not_read():
    data = _levels()
    data["cord"]["upsample_reason"] = 3  # a reason of any shape: people read it, code does not
    assert parse(SpineSettings, data, "levels").cord.upsample_mm == spine_settings().cord.upsample_mm


def test_a_section_of_the_wrong_shape_is_named():
    data = _levels()
    data["mass"] = [1, 2]
    assert _refused(SpineSettings, "levels", data).problem.startswith("mass: must be an object with window_sd, ")


def test_the_measurement_settings_are_checked_the_same_way():
    data = copy.deepcopy(load("measurement"))
    data["ratio_pairs"][1] = ["mass"]
    assert _refused(MeasurementSettings, "measurement", data).problem == "ratio_pairs[1]: must be a list of 2 values, not 1"
    data = copy.deepcopy(load("measurement"))
    data["min_voxels_for_stable_ratio"] = 1
    assert _refused(MeasurementSettings, "measurement", data).problem == "min_voxels_for_stable_ratio: must be from 2 to 1000, not 1"
    data = copy.deepcopy(load("measurement"))
    data["percentiles"][2] = 195.0
    assert _refused(MeasurementSettings, "measurement", data).problem == "percentiles[2]: must be from 0 to 100, not 195.0"
    data = copy.deepcopy(load("measurement"))
    del data["enhancement"]["pre"]
    assert _refused(MeasurementSettings, "measurement", data).problem == "enhancement.pre: missing"


def test_the_bilsky_settings_are_checked_the_same_way():
    """data/bilsky.json was read as a dict by string key, a wrong value found only when a grade was read."""
    assert bilsky_settings().grading.csf_visible_fraction == load("bilsky")["grading"]["csf_visible_fraction"]
    assert bilsky_settings().thecal_sac.reach_mm == load("bilsky")["thecal_sac"]["reach_mm"]
    data = copy.deepcopy(load("bilsky"))
    data["grading"]["csf_visible_fraction"] = 25
    assert _refused(BilskySettings, "bilsky", data).problem == "grading.csf_visible_fraction: must be from 0 to 1, not 25"
    data = copy.deepcopy(load("bilsky"))
    data["thecal_sac"]["reach_mm"] = "14 mm"
    assert _refused(BilskySettings, "bilsky", data).problem == "thecal_sac.reach_mm: must be a number, not '14 mm'"
    data = copy.deepcopy(load("bilsky"))
    data["grading"]["contact_distance_mm"] = 1.0
    assert _refused(BilskySettings, "bilsky", data).problem.startswith("grading.contact_distance_mm: is not a setting of grading")


def test_an_error_prints_as_one_line_naming_file_and_key():
    data = _levels()
    data["cord"]["csf_percentile"] = -1
    assert str(_refused(SpineSettings, "levels", data)) == (
        "EMHAssistLib/data/levels.json: cord.csf_percentile: must be from 0 to 100, not -1"
    )


def test_the_followup_settings_are_checked_the_same_way():
    """data/followup.json was read as a dict by string key (followup.py, teaching/followup.py, spine/masses.py):
    a misspelt phrase or a ratio the reports never write surfaced only when a comparison was worded."""
    settings = followup_settings()
    assert settings.summary_ratio == RatioKey.of_regions("T2", "mass", "cord")
    assert settings.volume.boundary_share == load("followup")["volume"]["boundary_share"]
    assert settings.teaching_pairs["mds_t5_t8_treated"].dates == ("2026-06-02", "2026-12-01")
    data = copy.deepcopy(load("followup"))
    data["summary_ratio"] = "T2 mass-cord"
    assert _refused(FollowupSettings, "followup", data).problem.startswith("summary_ratio: ratio 'T2 mass-cord' is neither")
    data = copy.deepcopy(load("followup"))
    data["wording"]["smaler"] = data["wording"].pop("smaller")
    assert _refused(FollowupSettings, "followup", data).problem.startswith("wording.smaler: is not a setting of wording")
    data = copy.deepcopy(load("followup"))
    data["teaching_pairs"]["mds_t5_t8_treated"]["dates"] = ["2026-06-02"]
    assert _refused(FollowupSettings, "followup", data).problem == "teaching_pairs.mds_t5_t8_treated.dates: must be a list of 2 values, not 1"
    data = copy.deepcopy(load("followup"))
    data["volume"]["boundary_share"] = 2
    assert _refused(FollowupSettings, "followup", data).problem == "volume.boundary_share: must be from 0 to 1, not 2"


def test_the_overlay_style_is_checked_the_same_way():
    """data/overlays.json was read by string key in overlays.py and label_layout.py (~55 reads): a misspelt
    key or a colour of two components surfaced only when a case was drawn into a scene."""
    style = overlay_style()
    assert style.differential.wrap_chars == load("overlays")["differential"]["wrap_chars"]
    assert style.segments.regions["mass"].color == tuple(load("overlays")["segments"]["regions"]["mass"]["color"])
    assert style.layout.kept_clear_segments == ("mass", "cord")
    data = copy.deepcopy(load("overlays"))
    data["differential"]["wrap_char"] = data["differential"].pop("wrap_chars")
    assert _refused(OverlayStyle, "overlays", data).problem.startswith("differential.wrap_char: is not a setting of differential")
    data = copy.deepcopy(load("overlays"))
    data["segments"]["regions"]["cord"]["color"] = [0.2, 0.55]
    assert _refused(OverlayStyle, "overlays", data).problem == "segments.regions.cord.color: must be a list of 3 values, not 2"
    data = copy.deepcopy(load("overlays"))
    data["labels"]["background_opacity"] = 55
    assert _refused(OverlayStyle, "overlays", data).problem == "labels.background_opacity: must be from 0 to 1, not 55"
    data = copy.deepcopy(load("overlays"))
    data["layout"]["step_px"] = 0
    assert _refused(OverlayStyle, "overlays", data).problem == "layout.step_px: must be above 0 and at most 10000, not 0"


def test_the_structured_report_codes_are_checked_the_same_way():
    """data/structured_report.json was read by string key (structured_report.py, segment_statistics.py): a code
    of two parts or a misspelt concept surfaced only when an SR was written."""
    codes = sr_codes()
    assert codes.concepts.ratio == tuple(load("structured_report")["concepts"]["ratio"])
    assert codes.regions["marrow"].finding_site == tuple(load("structured_report")["regions"]["marrow"]["finding_site"])
    assert codes.regions["cord"].finding_site is None  # optional: the cord's finding type is its site
    data = copy.deepcopy(load("structured_report"))
    data["concepts"]["mscc"] = ["99EMHASSIST", "mscc"]
    assert _refused(SrCodes, "structured_report", data).problem == "concepts.mscc: must be a list of 3 values, not 2"
    data = copy.deepcopy(load("structured_report"))
    data["device"]["nam"] = data["device"].pop("name")
    assert _refused(SrCodes, "structured_report", data).problem.startswith("device.nam: is not a setting of device")
    data = copy.deepcopy(load("structured_report"))
    data["series"]["number"] = "901"
    assert _refused(SrCodes, "structured_report", data).problem == "series.number: must be a whole number, not '901'"
    data = copy.deepcopy(load("structured_report"))
    data["regions"]["disc"]["finding_site"] = ["SCT", "", "Disc"]
    assert _refused(SrCodes, "structured_report", data).problem == "regions.disc.finding_site[1]: must be a non-empty text, not ''"


def test_the_limits_are_checked_the_same_way():
    """data/limits.json was read by string key in seven input modules: a budget written as text or a
    tolerance of the wrong shape surfaced only when a case reached that check."""
    budget = limits()
    assert budget.case_bytes_max == load("limits")["case_bytes_max"]
    assert budget.slice_position_tolerance.fraction == load("limits")["slice_position_tolerance"]["fraction"]
    assert budget.voxel_spacing_mm_range == tuple(load("limits")["voxel_spacing_mm_range"])
    data = copy.deepcopy(load("limits"))
    data["json_depth_max"] = "64"
    assert _refused(Limits, "limits", data).problem == "json_depth_max: must be a whole number, not '64'"
    data = copy.deepcopy(load("limits"))
    data["slice_position_tolerance"]["fraction"] = 5
    assert _refused(Limits, "limits", data).problem == "slice_position_tolerance.fraction: must be from 0 to 1, not 5"
    data = copy.deepcopy(load("limits"))
    data["image_byte_max"] = data.pop("image_bytes_max")
    assert _refused(Limits, "limits", data).problem.startswith("image_byte_max: is not a setting of the file")
    data = copy.deepcopy(load("limits"))
    data["voxel_magnitude_range"] = [0.0, 1e100]
    assert _refused(Limits, "limits", data).problem == "voxel_magnitude_range[0]: must be above 0 and at most 1.34078e+154, not 0.0"


def test_the_error_lines_own_limits_are_checked_where_every_error_reads_them(monkeypatch):
    """An InputError cuts its message to two limits, so it reads them itself: the reader of every other
    data file reports through it, and limits.py cannot be what an error waits for."""
    assert message_limits() == (load("limits")["message_subject_chars"], load("limits")["message_problem_chars"])
    # Each bound and just past it; before, the lengths had a lower bound only (a 10**9 one was read).
    for key, value, accepted in (
        ("message_problem_chars", "400", False),
        ("message_problem_chars", True, False),
        ("message_problem_chars", 2, True),
        ("message_problem_chars", 1, False),
        ("message_subject_chars", 10_000, True),
        ("message_subject_chars", 10_001, False),
        ("message_subject_chars", 10**9, False),
    ):
        data = copy.deepcopy(load("limits")) | {key: value}
        monkeypatch.setattr(errors, "load", lambda name, data=data: data)
        message_limits.cache_clear()
        try:
            if accepted:
                assert value in message_limits(), (key, value)
            else:
                with pytest.raises(ValueError, match=rf"^EMHAssistLib/data/limits.json: {key}: must be a whole number from 2 to 10000, not {value!r}$"):
                    message_limits()
        finally:
            monkeypatch.undo()
            message_limits.cache_clear()
    assert message_limits()[1] == load("limits")["message_problem_chars"]


def test_the_batch_time_limits_are_checked_the_same_way():
    """data/batch.json was read by string key (outputs/batch.py, frontends/cli.py): a limit written as text
    failed inside float() or Dask's Client, a zero one ended every case at once."""
    assert batch_settings().case_time_limit_s == load("batch")["case_time_limit_s"]
    data = copy.deepcopy(load("batch"))
    data["case_time_limit_s"] = 0
    assert _refused(BatchSettings, "batch", data).problem == "case_time_limit_s: must be above 0 and at most 9.22337e+09, not 0"
    data = copy.deepcopy(load("batch"))
    data["dask_connect_timeout_s"] = "10 s"
    assert _refused(BatchSettings, "batch", data).problem == "dask_connect_timeout_s: must be a number, not '10 s'"
    data = copy.deepcopy(load("batch"))
    del data["serve_load_time_limit_s"]
    assert _refused(BatchSettings, "batch", data).problem == "serve_load_time_limit_s: missing"


def test_a_time_limit_past_the_longest_is_refused_naming_it():
    """1e10 s was taken, and overflowed Python's waits (an OverflowError traceback from `serve`'s load
    check); any limit is now at most a week, data/batch.json's longest_time_limit_s."""
    for key in ("case_time_limit_s", "dask_connect_timeout_s", "serve_load_time_limit_s"):
        data = copy.deepcopy(load("batch")) | {key: 1e9}
        assert _refused(BatchSettings, "batch", data).problem == f"{key}: must be at most longest_time_limit_s (604800 s), not 1000000000.0"
        data[key] = 1e10  # past what Python's waits take: refused by its own range
        assert _refused(BatchSettings, "batch", data).problem.startswith(f"{key}: must be above 0 and at most 9.22337e+09")


@pytest.mark.parametrize(
    "text, problem",
    [
        ('{"a": 1, "a": 2}', "the key 'a' is given twice in one object; which one holds is unknown"),
        ('{"a": {"b": NaN}}', "NaN is not a JSON number; write a number"),
        ('{"a": -Infinity}', "-Infinity is not a JSON number; write a number"),
        ('{"a": 1,', "is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 9 (char 8))"),
        (b"\xff\xfe{}", "cannot be read (UnicodeDecodeError:"),
    ],
)
def test_a_data_file_that_is_not_strict_json_is_one_line_naming_it(text, problem, tmp_path, monkeypatch, capsys):
    """A data file cut short was a JSONDecodeError traceback; a key given twice kept its last value and
    NaN was read as a number, both without a word. The command line prints one line naming the file."""
    from EMHAssistLib import knowledge
    from EMHAssistLib.frontends.cli import main

    (tmp_path / "batch.json").write_bytes(text.encode() if isinstance(text, str) else text)
    monkeypatch.setattr(knowledge, "DATA_DIR", tmp_path)
    knowledge.load.cache_clear()
    batch_settings.cache_clear()
    try:
        assert main(["cases"]) == 2
    finally:
        monkeypatch.undo()
        knowledge.load.cache_clear()
        batch_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.startswith(f"error: EMHAssistLib/data/batch.json: {problem}") and err.count("\n") == 1, err


KEYED: dict[str, tuple[type, str, tuple[str, ...], str]] = {
    # a mapping the code reads by key: (its type, its file, the path to it, a key the code reads) -- each
    # key left out was taken, and a KeyError traceback where the setting is read (quiz.compare_site,
    # panel.give_default_size, panel.regions_step, structured_report's region coding)
    "the quiz's pass marks": (QuizSettings, "quiz", ("on_target",), "Dice"),
    "the panel's default ROI sizes": (PanelSettings, "panel", ("default_roi_size_mm",), "marrow"),
    "the panel's region hints": (PanelSettings, "panel", ("steps", "region_hints"), "disc"),
    "the SR's region codes": (SrCodes, "structured_report", ("regions",), "muscle"),
}


@pytest.mark.parametrize("name", KEYED)
def test_a_mapping_read_by_key_must_give_every_key_and_no_other(name):
    kind, file, path, key = KEYED[name]
    data = copy.deepcopy(load(file))
    mapping = data
    for part in path:
        mapping = mapping[part]
    value = mapping.pop(key)
    where = ".".join(path)
    assert _refused(kind, file, data).problem.startswith(f"{where}: must give ") and _refused(kind, file, data).problem.endswith(f"; {key} missing")
    mapping[key.upper() + "x"] = value  # misspelt: it was ignored
    mapping[key] = value
    assert _refused(kind, file, data).problem.startswith(f"{where}.{key.upper()}x: is not one of ")


def test_the_quiz_settings_are_checked_the_same_way():
    """data/quiz.json was read by string key (teaching/quiz.py, frontends/sessions.py), a colour chosen by
    passing its key's text: a misspelt key or a session limit written as text surfaced only in a class."""
    settings = quiz_settings()
    assert settings.learner_color == tuple(load("quiz")["learner_color"])
    assert settings.on_target["in cord"] == load("quiz")["on_target"]["in cord"]
    assert settings.sessions.max == load("quiz")["sessions"]["max"] and settings.roi_look.fill is False
    data = copy.deepcopy(load("quiz"))
    data["sessions"]["max"] = "8"
    assert _refused(QuizSettings, "quiz", data).problem == "sessions.max: must be a whole number, not '8'"
    data = copy.deepcopy(load("quiz"))
    data["on_target"]["Dice"] = 50
    assert _refused(QuizSettings, "quiz", data).problem == "on_target.Dice: must be from 0 to 1, not 50"
    data = copy.deepcopy(load("quiz"))
    data["roi_look"]["fill"] = "no"
    assert _refused(QuizSettings, "quiz", data).problem == "roi_look.fill: must be true or false, not 'no'"
    data = copy.deepcopy(load("quiz"))
    data["learner_colour"] = data.pop("learner_color")
    assert _refused(QuizSettings, "quiz", data).problem.startswith("learner_colour: is not a setting of the file")


def test_the_panel_settings_are_checked_the_same_way():
    """data/panel.json was read by string key (frontends/panel.py, serve.py, the Slicer module): a region's
    default box of two sizes or a misspelt SR package key surfaced only when a box was placed or an SR exported."""
    settings = panel_settings()
    assert settings.default_roi_size_mm["disc"] == tuple(load("panel")["default_roi_size_mm"]["disc"])
    assert settings.sr_export.needs == load("panel")["sr_export"]["needs"] and settings.throttle_ms == load("panel")["throttle_ms"]
    data = copy.deepcopy(load("panel"))
    data["default_roi_size_mm"]["cord"] = [6.0, 6.0]
    assert _refused(PanelSettings, "panel", data).problem == "default_roi_size_mm.cord: must be a list of 3 values, not 2"
    data = copy.deepcopy(load("panel"))
    data["default_roi_size_mm"]["mass"][2] = 0.0
    assert _refused(PanelSettings, "panel", data).problem == "default_roi_size_mm.mass[2]: must be above 0 and at most 2500, not 0.0"
    data = copy.deepcopy(load("panel"))
    data["sr_export"]["packge"] = data["sr_export"].pop("package")
    assert _refused(PanelSettings, "panel", data).problem.startswith("sr_export.packge: is not a setting of sr_export")
    data = copy.deepcopy(load("panel"))
    data["steps"]["reference_regions"] = "cord"
    assert _refused(PanelSettings, "panel", data).problem == "steps.reference_regions: must be a non-empty list"


def test_the_vocabulary_is_checked_the_same_way():
    """data/vocabulary.json was read by string key (inputs/study.py, inputs/casefolder.py)."""
    assert list(vocabulary().regions) == list(load("vocabulary")["regions"])
    assert vocabulary().volume_extensions == tuple(load("vocabulary")["volume_extensions"])
    data = copy.deepcopy(load("vocabulary"))
    data["regions"] = ["cord", "mass"]
    assert _refused(Vocabulary, "vocabulary", data).problem == "regions: must be a non-empty object"
    data = copy.deepcopy(load("vocabulary"))
    data["volume_extensions"][0] = ""
    assert _refused(Vocabulary, "vocabulary", data).problem == "volume_extensions[0]: must be a non-empty text, not ''"


# Every typed data file, by file stem: its numbers each have a range from what they mean (issue 16).
TYPED_FILES = {
    "levels": SpineSettings,
    "measurement": MeasurementSettings,
    "bilsky": BilskySettings,
    "followup": FollowupSettings,
    "vocabulary": Vocabulary,
    "batch": BatchSettings,
    "limits": Limits,
    "quiz": QuizSettings,
    "panel": PanelSettings,
    "structured_report": SrCodes,
    "overlays": OverlayStyle,
    "sequence_names": SequenceNames,
    "normative_cord": NormativeCord,
}


def _numeric(kind: object) -> bool:
    args = [arg for arg in typing.get_args(kind) if arg not in (type(None), Ellipsis)]
    return kind in (int, float) or any(_numeric(arg) for arg in args)


def _numbers(kind: type, data: dict, key: str = "") -> Iterator[tuple[str, list, dataclasses.Field]]:
    """Each numeric setting of `data` read as `kind`: its key as an error names it, its path in the JSON, its field."""
    hints = typing.get_type_hints(kind)
    for spec in dataclasses.fields(kind):
        if spec.name not in data:
            continue
        name = f"{key}.{spec.name}" if key else spec.name
        yield from _leaves(hints[spec.name], data[spec.name], name, [spec.name], spec)


def _leaves(kind: object, raw: object, key: str, path: list, spec: dataclasses.Field) -> Iterator[tuple[str, list, dataclasses.Field]]:
    args = [arg for arg in typing.get_args(kind) if arg not in (type(None), Ellipsis)]
    if dataclasses.is_dataclass(kind):
        for name, inner, field in _numbers(kind, raw, key):
            yield name, path + inner, field
    elif typing.get_origin(kind) is dict:
        first = next(iter(raw))
        yield from _leaves(args[1], raw[first], f"{key}.{first}", path + [first], spec)
    elif typing.get_origin(kind) is tuple:
        yield from _leaves(args[0], raw[0], f"{key}[0]", path + [0], spec)
    elif _numeric(kind):
        yield key, path, spec


@pytest.mark.parametrize("name", TYPED_FILES)
def test_every_number_a_settings_file_holds_has_a_stated_range(name):
    """Before issue 16's last part 28 and more fields had no upper bound (`ci_z` 1e308 was accepted)."""
    unbounded = [key for key, _, spec in _numbers(TYPED_FILES[name], load(name)) if None in spec.metadata.get("range", (None, None))]
    assert unbounded == [], f"{name}.json: no stated range for {', '.join(unbounded)}"


@pytest.mark.parametrize("name", TYPED_FILES)
def test_a_number_past_its_range_is_refused_naming_the_file_and_key(name):
    walked = 0
    for key, path, spec in _numbers(TYPED_FILES[name], load(name)):
        high = spec.metadata["range"][1]
        past = high + 1 if isinstance(high, int) else high * 2
        data = copy.deepcopy(load(name))
        holder = data
        for part in path[:-1]:
            holder = holder[part]
        holder[path[-1]] = past
        assert _refused(TYPED_FILES[name], name, data).problem.startswith(f"{key}: must be "), key
        walked += 1
    assert walked


def test_a_z_of_1e308_is_refused():
    data = copy.deepcopy(load("measurement"))
    data["ci_z"] = 1e308
    assert _refused(MeasurementSettings, "measurement", data).problem == "ci_z: must be above 0 and at most 10, not 1e+308"


def test_the_sequence_names_are_checked_the_same_way():
    """Read raw by inputs/roles.py before: a rule naming an unknown marker never matched, a misspelt role was
    suggested for no volume, and a rule without 'markers' was a KeyError on the first name read."""
    data = copy.deepcopy(load("sequence_names"))
    data["roles"][0]["role"] = "T3"
    assert _refused(SequenceNames, "sequence_names", data).problem == "roles[0].role: 'T3' is not a sequence role of vocabulary.json"
    data = copy.deepcopy(load("sequence_names"))
    data["roles"][1]["without"] = ["fatsat"]
    assert _refused(SequenceNames, "sequence_names", data).problem.startswith("roles[1]: marker 'fatsat' is not one of markers (t1, t2,")
    del data["roles"][2]["markers"]
    assert _refused(SequenceNames, "sequence_names", data).problem == "roles[2].markers: missing"


def test_the_healthy_cord_table_is_checked_the_same_way():
    """Read raw by spine/normative.py before: a level without 'subjects' was a KeyError in the middle of an analysis."""
    data = copy.deepcopy(load("normative_cord"))
    del data["levels"]["6"]["subjects"]
    assert _refused(NormativeCord, "normative_cord", data).problem == "levels.6.subjects: missing"
    data = copy.deepcopy(load("normative_cord"))
    data["levels"]["T6"] = data["levels"].pop("6")
    assert _refused(NormativeCord, "normative_cord", data).problem.startswith("levels.T6: must be a level code")
    data = copy.deepcopy(load("normative_cord"))
    data["interval"]["z"] = 19.6
    assert _refused(NormativeCord, "normative_cord", data).problem == "interval.z: must be above 0 and at most 10, not 19.6"


def test_the_wording_is_checked_the_same_way():
    """data/wording.json holds the spine findings' words (issue 16 point 3): one text per finding code, so
    a code the spine gives with no words, or words no code has, stops the load naming the key."""
    from EMHAssistLib.outputs.wording import Wording, wording
    from EMHAssistLib.spine.findings import SpineFindingCode

    assert set(wording().spine_findings) == {code.value for code in SpineFindingCode}
    data = copy.deepcopy(load("wording"))
    del data["spine_findings"]["no_mass_region"]
    assert _refused(Wording, "wording", data).problem.startswith("spine_findings")
    data = copy.deepcopy(load("wording"))
    data["unnamed_levels"] = data.pop("unnamed_level")
    assert _refused(Wording, "wording", data).problem.startswith("unnamed_levels: is not a setting")
