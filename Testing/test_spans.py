"""A mass at levels apart (EMH in thalassaemia: mid-thoracic and sacral) is reported as separate spans:
the extent's wording, synthetic level maps down to the sacrum, and a phantom case written here with two
thoracic masses separated by uninvolved levels."""

import copy
import csv
import json

import numpy as np
import SimpleITK as sitk
from golden_outputs import GOLDENS, golden_report, levels_of

from EMHAssistLib.analysis import read_sequences
from EMHAssistLib.inputs.study import spine_inputs
from EMHAssistLib.outputs import batch, mass_spans
from EMHAssistLib.outputs import wording
from EMHAssistLib.report_codec import plain_value
from EMHAssistLib.report_model import Extent, Span
from EMHAssistLib.spine import compression, levels
from EMHAssistLib.spine.vertebrae import code_of, vertebra_names
from EMHAssistLib.teaching import phantom
from EMHAssistLib.teaching.cases import build_study, study_into_scene


def codes(*names: str) -> list[int]:
    return [code_of(name) for name in names]


def test_levels_in_two_runs_are_two_spans_superior_first():
    extent = compression.level_extent(codes("S3", "T5", "T6", "T7", "T8", "T9", "S1", "S2"))
    assert extent == Extent("T5", "S3", (Span("T5", "T9"), Span("S1", "S3")))


def test_contiguous_levels_are_one_span_and_one_level_a_span_of_itself():
    assert compression.level_extent(codes("T6", "T7")) == Extent("T6", "T7", (Span("T6", "T7"),))
    assert compression.level_extent(codes("L5", "S1")) == Extent("L5", "S1", (Span("L5", "S1"),))
    assert compression.level_extent(codes("T4", "T6")) == Extent("T4", "T6", (Span("T4", "T4"), Span("T6", "T6")))


def test_level_span_words_each_span():
    assert wording.level_span(compression.level_extent(codes("T5", "T6", "T7", "T8", "T9", "S1", "S2", "S3"))) == "T5–T9 and S1–S3"
    assert wording.level_span(compression.level_extent(codes("T3", "T6", "T7", "S2"))) == "T3, T6–T7 and S2"
    assert wording.level_span(compression.level_extent(codes("T5", "T6", "S1", "S2", "S3")), "; ") == "T5–T6; S1–S3"
    assert wording.level_span(compression.level_extent(codes("T5"))) == "T5"
    # A compression, which is one segment of the cord, has no spans.
    assert wording.level_span(Span("T5", "T8")) == "T5–T8"
    assert wording.level_span(Span("T5", "T8"), "; ") == "T5–T8"


def test_summary_line_names_each_span_of_the_mass():
    levels_section = levels_of(mass=compression.level_extent(codes("T6", "T7", "T8", "S1", "S2")), compression={"from": "T6", "to": "T8", "max_mscc_percent": 30.4, "at": "T7"})
    assert wording.summary_line(levels_section) == "mass T6–T8 and S1–S2, cord compressed T6–T8, MSCC 30 % at T7"


# --- Level maps down to the sacrum -----------------------------------------------------------------

# Bodies 30 mm apart down a straight spine, C1 at the top: every vertebra of the coding, user points.
SPACING_MM = 30.0


def whole_spine_map() -> levels.LevelMap:
    anchors = [levels.Vertebra(name, code_of(name), np.array([0.0, 20.0, -SPACING_MM * n]), "user") for n, name in enumerate(vertebra_names())]
    return levels.build_level_map(anchors, None, None)


def heights(first: str, last: str, step_mm: float = 1.0) -> np.ndarray:
    """Points on the spine line from the top of `first`'s level to the bottom of `last`'s."""
    top = -SPACING_MM * (code_of(first) - 1) + SPACING_MM / 2 - 0.5
    bottom = -SPACING_MM * (code_of(last) - 1) - SPACING_MM / 2 + 0.5
    return np.array([[0.0, 20.0, z] for z in np.arange(top, bottom, -step_mm)])


def test_user_points_name_the_lumbar_spine_and_sacrum():
    level_map = whole_spine_map()
    assert [v.name for v in level_map.vertebrae][-10:] == ["L1", "L2", "L3", "L4", "L5", "S1", "S2", "S3", "S4", "S5"]
    assert [v.code for v in level_map.vertebrae][-5:] == [25, 26, 27, 28, 29]
    centres = np.array([v.centre for v in level_map.vertebrae])
    assert level_map.names_at(centres) == vertebra_names()


def test_mass_points_mid_thoracic_and_sacral_are_two_spans():
    level_map = whole_spine_map()
    # A few points reaching a quarter-level short into T10 (under the level fraction) do not join the spans.
    points = np.concatenate([heights("T5", "T9"), heights("S1", "S3"), heights("T10", "T10")[:5]])
    involved = level_map.involved(points, compression.settings().level_fraction)
    assert [v.name for v in involved] == ["T5", "T6", "T7", "T8", "T9", "S1", "S2", "S3"]
    extent = compression.level_extent([v.code for v in involved])
    assert extent.spans == (Span("T5", "T9"), Span("S1", "S3"))
    assert wording.level_span(extent) == "T5–T9 and S1–S3"


def test_a_mass_across_the_lumbosacral_junction_is_one_span():
    involved = whole_spine_map().involved(heights("L4", "S2"), compression.settings().level_fraction)
    assert compression.level_extent([v.code for v in involved]).spans == (Span("L4", "S2"),)


# --- A phantom case with two thoracic masses apart ------------------------------------------------

# The built-in case's posterior epidural mass split in two: T3-T4 and T9-T10, four uninvolved levels between.
TWO_MASSES = {
    "masses": [
        {"position": "posterior_epidural", "levels": ["T3", "T4"], "lobules": 2, "depth_mm": 4.5, "width_mm": 14.0, "tissue": "mass"},
        {"position": "posterior_epidural", "levels": ["T9", "T10"], "lobules": 2, "depth_mm": 4.5, "width_mm": 14.0, "tissue": "mass"},
    ],
    "compression": None,
}


def write_spec(tmp_path, monkeypatch, name: str, changes: dict, base: str = "mds_t5_t8") -> None:
    spec = json.loads((phantom.CASES_DIR / f"{base}.json").read_text())
    spec.update(copy.deepcopy(changes), id=name)
    (tmp_path / f"{name}.json").write_text(json.dumps(spec))
    monkeypatch.setattr(phantom, "CASES_DIR", tmp_path)


def box_in_second_mass(synthetic: phantom.SyntheticStudy) -> phantom.BoxSpec:
    """A box like the first mass's ROI, centred deepest in the mass label's other connected part
    (the phantom draws an ROI in the first mass only), shrunk until it holds mass labels alone."""
    mass_label = next(label for label, name in synthetic.label_names.items() if name == "mass")
    first = synthetic.rois["mass"][0]
    components = sitk.ConnectedComponent(sitk.GetImageFromArray((synthetic.labels == mass_label).astype(np.uint8)))
    parts = sitk.GetArrayFromImage(components)
    count = int(parts.max())
    to_ijk = np.linalg.inv(synthetic.label_grid)
    first_ijk = np.rint(to_ijk[:3, :3] @ np.array(first.center) + to_ijk[:3, 3]).astype(int)
    first_part = parts[first_ijk[2], first_ijk[1], first_ijk[0]]
    other = [part for part in range(1, count + 1) if part != first_part]
    assert first_part and len(other) == 1, "the spec draws two separate masses"
    inside = sitk.GetImageFromArray((parts == other[0]).astype(np.uint8))
    depth = -sitk.GetArrayFromImage(sitk.SignedMaurerDistanceMap(inside, insideIsPositive=False, useImageSpacing=False))
    centre_ijk = np.array(np.unravel_index(np.argmax(depth), depth.shape))[::-1].astype(float)
    centre = synthetic.label_grid[:3, :3] @ centre_ijk + synthetic.label_grid[:3, 3]
    axes = np.array(first.axes)
    size = np.array(first.size)
    offsets = np.array(np.meshgrid(*[np.linspace(-0.5, 0.5, 5)] * 3, indexing="ij")).reshape(3, -1).T
    while True:
        corners = centre + (offsets * size) @ axes
        ijk = np.rint(corners @ to_ijk[:3, :3].T + to_ijk[:3, 3]).astype(int)
        if np.all(synthetic.labels[ijk[:, 2], ijk[:, 1], ijk[:, 0]] == mass_label):
            return phantom.BoxSpec(tuple(float(c) for c in centre), tuple(float(s) for s in size), first.axes)
        size *= 0.9


def test_two_thoracic_masses_apart_are_reported_as_two_spans(scene, tmp_path, monkeypatch):
    write_spec(tmp_path, monkeypatch, "two_masses", TWO_MASSES)
    synthetic = build_study("two_masses")
    synthetic.rois["mass"].append(box_in_second_mass(synthetic))
    study = study_into_scene(synthetic, scene)
    outcome = compression.assess(spine_inputs(study), read_sequences(study))
    mass = outcome.levels.mass
    assert mass == Extent("T3", "T10", (Span("T3", "T4"), Span("T9", "T10")))
    assert outcome.morphology["mass_levels_spanned"] == 4
    # Each 4.5 mm posterior mass indents the thecal sac without reaching the cord: Bilsky 1b, a
    # grade the summary line states even when the cord is not compressed (T3, T4, T9 and T10 all read
    # 1b; the summary names the one with the narrowest cord: T9 while the phantom's cord had one size,
    # T3 since it tapers as a real cord does, 5b4e41e).
    assert wording.summary_line(outcome.levels) == "mass T3–T4 and T9–T10, no cord compression, Bilsky 1b at T3"


# --- The batch CSV ---------------------------------------------------------------------------------


def test_batch_row_keeps_first_and_last_level_and_gives_the_spans_in_one_column(tmp_path):
    stored = json.loads((GOLDENS / "mds_t5_t8" / "report.json").read_text(encoding="utf-8"))["levels"]
    mass = plain_value(compression.level_extent(codes("T5", "T6", "T7", "T8", "T9", "S1", "S2", "S3")))
    # The whole spine's bodies: a stored report names only levels its vertebrae hold (S1-S3 here).
    bodies = plain_value(whole_spine_map().reported())
    levels = stored | {"vertebrae": bodies, "mass": mass, "compression": None, "not_assessed": None, "bilsky": None}
    report = golden_report(case="thal", levels=levels, ratios={}, enhancement={}, warnings=[])
    path = tmp_path / "batch.csv"
    batch.write_rows([batch.report_row(report)], path)
    with path.open(encoding="utf-8", newline="") as stream:
        (row,) = csv.DictReader(stream)
    assert (row["mass_from"], row["mass_to"], row["mass_spans"]) == ("T5", "S3", "T5–T9; S1–S3")
    assert row["levels"] == "mass T5–T9 and S1–S3, no cord compression"
    assert [span.split("–") for span in row["mass_spans"].split(batch.SPAN_SEPARATOR)] == [["T5", "T9"], ["S1", "S3"]]


def test_each_mass_point_belongs_to_the_span_beside_its_nearest_body():
    vertebrae = whole_spine_map().reported()
    extent = compression.level_extent(codes("T5", "T6", "T7", "T8", "T9", "S1", "S2", "S3"))
    centre = {v.name: np.array(v.centre) for v in vertebrae}
    points = np.array([centre["T5"], centre["T9"] + [0, -30, 0], centre["T10"], centre["L5"], centre["S3"] + [0, 25, 0], centre["S5"]])
    # T10 (not involved) is nearer the first span, L5 and S5 nearer the second.
    levels = levels_of(vertebrae=vertebrae, mass=extent)
    assert mass_spans.span_of_points(points, levels.mass, levels.vertebrae).tolist() == [0, 0, 0, 1, 1, 1]
    whole = levels_of(vertebrae=vertebrae, mass={"from": "T5", "to": "S3"})
    assert mass_spans.span_of_points(points, whole.mass, whole.vertebrae).tolist() == [0] * 6
