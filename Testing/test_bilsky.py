"""Bilsky grade per level and canal compromise (issue 17, points 1 and 2).

Fast checks on an axial T2 canal built here, one per grade: a straight cord in its thecal sac
(CSF bright, the dura dark), epidural fat in a bony canal, and a mass placed as each grade's words
describe it. The grade on randomized generated spines is measured by `bench/bilsky_sweep.py` and
pinned by the slow test at the end.
"""

import importlib.util
from pathlib import Path
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from golden_outputs import levels_of
from test_compression import compression_found

from EMHAssistLib.geometry import Grid
from EMHAssistLib.inputs.plain import SequenceImage
from EMHAssistLib.report_model import BilskyCase, BilskyEntry
from EMHAssistLib.spine.bilsky import _grade_level, _SectionMeasures, grade_levels, graded_sequence, most_severe
from EMHAssistLib.outputs.wording import bilsky_explanation_text, summary_line
from EMHAssistLib.spine.compression import mass_contact
from EMHAssistLib.spine.cord import Cord, measure_profile
from EMHAssistLib.spine.levels import Boundary, LevelMap, Vertebra
from EMHAssistLib.spine.masses import MassSegment
from EMHAssistLib.spine.thecal_sac import Sections, cast_rays, trace_sections
from EMHAssistLib.spine.vertebrae import code_of

ROOT = Path(__file__).resolve().parents[1]
SIGNAL = {"bone": 40.0, "fat": 620.0, "dura": 80.0, "csf": 1000.0, "cord": 400.0, "mass": 220.0}
CANAL = (8.5, 7.5)  # semi-axes right-left, anterior-posterior (mm), centred at the origin
SAC = (6.5, 5.5, 0.5)  # semi-axes and the centre's anterior offset
CORD = (4.2, 3.0, 1.0)
DURA_MM = 0.6
LEVEL_EDGES = [60.0, 36.0, 12.0, -12.0, -36.0, -60.0]  # head-foot planes between T5 ... T9
LEVEL_NAMES = ["T5", "T6", "T7", "T8", "T9"]
CORE = (-6.0, 6.0)  # head-foot extent of the mass's full effect, inside T7
ONSET_MM = 6.0
THIN_TRACE = 1 / 3  # a section's AP and RL traced at this share of the cord's


def _weight(z: np.ndarray) -> np.ndarray:
    """1 over the mass's core, falling to 0 over the onset beyond each end."""
    beyond = np.maximum(CORE[0] - z, z - CORE[1])
    return np.clip(1.0 - beyond / ONSET_MM, 0.0, 1.0)


def _inside(x, y, cx, cy, a, b):
    return ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1.0


def _tissues(x: np.ndarray, y: np.ndarray, z: np.ndarray, case: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(signal, cord, mass) at points in the canal's frame (x right, y anterior, z superior).

    The mass comes from behind (`posterior_*`) with its front at a height-dependent distance, or
    all round the cord (`circumferential`); the dura follows its front, as a sac pushed in does."""
    w = _weight(z)
    cord_b = CORD[1] * (1 - 0.45 * w) if case in ("compressed", "circumferential") else np.full_like(z, CORD[1])
    cord_cy = CORD[2] - (CORD[1] - cord_b) if case == "compressed" else np.full_like(z, CORD[2])  # pressed from behind
    cord = _inside(x, y, 0.0, cord_cy, CORD[0], cord_b)
    canal = _inside(x, y, 0.0, 0.0, *CANAL)
    sac = _inside(x, y, 0.0, SAC[2], SAC[0], SAC[1])
    csf = _inside(x, y, 0.0, SAC[2], SAC[0] - DURA_MM, SAC[1] - DURA_MM)
    back_of_cord = cord_cy - cord_b
    fronts = {  # the mass's front (y), where it reaches full effect
        "none": None,
        "epidural": SAC[2] - SAC[1] - 0.8,  # in the fat behind the sac, clear of it
        "sac": back_of_cord - 1.8,  # into the sac, CSF left between it and the cord
        "abutting": back_of_cord - DURA_MM,  # against the cord through the dura
        "compressed": back_of_cord - DURA_MM,
    }
    if case == "circumferential":
        mass = canal & ~_inside(x, y, 0.0, cord_cy, CORD[0] + DURA_MM, cord_b + DURA_MM) & (w > 0)
        dura = canal & ~mass & ~cord & (w > 0)
    elif fronts[case] is None:
        mass = np.zeros_like(cord)
        dura = sac & ~csf
    else:
        back_wall = -CANAL[1]
        front = back_wall + w * (fronts[case] - back_wall)
        mass = canal & (y <= front) & (w > 0)
        dura = (sac & ~csf & ~mass) | (canal & (y > front) & (y <= front + DURA_MM) & sac & (w > 0))
    signal = np.full(x.shape, SIGNAL["bone"])
    signal[canal] = SIGNAL["fat"]
    signal[csf & ~mass] = SIGNAL["csf"]
    signal[dura] = SIGNAL["dura"]
    signal[mass] = SIGNAL["mass"]
    signal[cord] = SIGNAL["cord"]
    return signal, cord, mass


def _case(case: str, noise_sd: float = 15.0, seed: int = 0, right_left_mm: float = 0.5):
    """The image, cord, mass and level map of one case on an axial grid of 0.5 x 0.5 x 1 mm, or
    `right_left_mm` thick right-left (as the slices of a sagittal stack are), over the same 24 mm."""
    spacing = np.array([right_left_mm, 0.5, 1.0])
    shape_ijk = np.array([int(round(24.0 / right_left_mm)), 48, 141])
    matrix = np.eye(4)
    matrix[:3, :3] = np.diag(spacing)
    matrix[:3, 3] = -spacing * (shape_ijk - 1) / 2
    grid = Grid((int(shape_ijk[2]), int(shape_ijk[1]), int(shape_ijk[0])), matrix)
    k, j, i = np.meshgrid(*(np.arange(n) for n in grid.shape), indexing="ij")
    signal = np.zeros(grid.shape)
    offsets = (np.arange(3) - 1)[:, None] / 3 * spacing[None, :2]  # 3 x 3 points per voxel in the plane: partial volume
    for dx in offsets[:, 0]:
        for dy in offsets[:, 1]:
            ijk = np.stack([i, j, k], axis=-1).reshape(-1, 3).astype(float)
            world = grid.to_world(ijk) + np.array([dx, dy, 0.0])
            part, _, _ = _tissues(world[:, 0], world[:, 1], world[:, 2], case)
            signal += part.reshape(grid.shape) / 9
    world = grid.to_world(np.stack([i, j, k], axis=-1).reshape(-1, 3).astype(float))
    _, cord, mass = _tissues(world[:, 0], world[:, 1], world[:, 2], case)
    rng = np.random.default_rng(seed)
    image = SequenceImage("T2", grid, (signal + rng.normal(0.0, noise_sd, signal.shape)).astype(np.float32))
    cord_mask = cord.reshape(grid.shape)
    cord_found = Cord(grid, cord_mask, measure_profile(cord_mask, grid), "T2", True, (False, False))
    mass_found = MassSegment(grid, mass.reshape(grid.shape), True) if mass.any() else None
    level_map = LevelMap(
        [Vertebra(name, code_of(name), np.array([0.0, 12.0, 0.5 * (top + bottom)]), "user") for name, top, bottom in zip(LEVEL_NAMES, LEVEL_EDGES, LEVEL_EDGES[1:])],
        [Boundary(np.array([0.0, 0.0, edge]), np.array([0.0, 0.0, 1.0])) for edge in LEVEL_EDGES],
    )
    return image, cord_found, mass_found, level_map


def _graded(case: str, **options) -> dict[str, BilskyEntry]:
    image, cord, mass, level_map = _case(case, **options)
    codes = level_map.codes_at(cord.profile.centreline.points)
    compression = compression_found(cord, codes, mass_contact(cord, mass) if mass is not None else None)
    return {level.level: level for level in grade_levels(image, cord, mass, level_map, compression)}


def test_rays_keep_what_no_mass_changes_and_trace_as_rays_cast_afresh():
    """The masks and cord signal a section trace reads that no mass changes are found once per rays
    (the live panel keeps the rays while the mass ROI moves) and a trace on kept rays equals one on
    rays cast afresh, field for field, with and without the mass."""
    image, cord, mass, _ = _case("compressed")
    rays = cast_rays(image, cord)
    first = trace_sections(image, cord, mass, rays)
    kept = {name: vars(rays)[name] for name in ("outside_cord", "near_cord", "beside_cord", "csf_share", "cord_signal")}
    without_mass = trace_sections(image, cord, None, rays)
    again = trace_sections(image, cord, mass, rays)
    assert all(vars(rays)[name] is found for name, found in kept.items())
    for traced, fresh in ((first, trace_sections(image, cord, mass)), (again, first), (without_mass, trace_sections(image, cord, None))):
        for name, value in vars(fresh).items():
            assert np.array_equal(vars(traced)[name], value, equal_nan=True), name


@pytest.mark.parametrize(("case", "grade"), [
    ("none", "0"), ("epidural", "1a"), ("sac", "1b"), ("abutting", "1c"), ("compressed", "2"), ("circumferential", "3"),
])
def test_each_grade_from_what_its_words_describe(case, grade):
    graded = _graded(case)
    assert graded["T7"].grade == grade, graded["T7"]
    assert graded["T5"].grade == "0" and graded["T9"].grade == "0"  # beyond the mass


def test_a_level_whose_compression_is_not_assessed_is_not_graded_and_still_a_reference():
    """The report leaves out the grade of a level whose compression it cannot judge (`unassessed`,
    computed once by the caller; before, every level was graded and the caller dropped some); its
    sections are still traced and read as the other levels' reference windows, so their grades and
    quantities are those read without it."""
    image, cord, mass, level_map = _case("compressed")
    codes = level_map.codes_at(cord.profile.centreline.points)
    compression = compression_found(cord, codes, mass_contact(cord, mass))
    every = {level.level: level for level in grade_levels(image, cord, mass, level_map, compression)}
    graded = {level.level: level for level in grade_levels(image, cord, mass, level_map, compression, unassessed=frozenset({code_of("T8")}))}
    assert graded == {name: level for name, level in every.items() if name != "T8"} and graded["T7"].grade == "2", graded


def test_no_csf_is_not_read_where_the_slices_do_not_resolve_it():
    """Grade 3 says no CSF around the cord. On 3 mm right-left slices (a sagittal stack) only the rays
    within about 60 degrees of front and back resolve a millimetre of CSF (14 of 36): a cord wrapped
    all round reads no CSF on them, but the flanks, where a cord pressed from in front or behind keeps
    its CSF, are not seen, so the compressed cord is graded 2 and its line says the flanks are not
    resolved. On the axial grid the same canal is grade 3. (Before: 3 on both.)"""
    sagittal = _graded("circumferential", right_left_mm=3.0)["T7"]
    assert sagittal.grade == "2" and sagittal.csf_fraction < 0.25, sagittal
    assert sagittal.explanation.case is BilskyCase.CSF_UNRESOLVED
    assert "not resolved" in bilsky_explanation_text(sagittal) and "grade 3 not read" in bilsky_explanation_text(sagittal)
    assert _graded("circumferential")["T7"].grade == "3"
    assert _graded("compressed", right_left_mm=3.0)["T7"].grade == "2"


def test_the_csf_around_a_compressed_cord_is_read_along_the_level():
    """Nine compressed sections of T7 keep CSF round half the cord; on one of them the cord's outline is
    traced wrong (narrowed 90 %, its rays starting in the CSF: none read around it). The level's
    narrowing is that section's, its CSF the median along the level: grade 2. (Before: the CSF read at
    that one section, grade 3.)"""
    count = 9
    narrowing, csf = np.full(count, 30.0), np.full(count, 0.5)
    narrowing[4], csf[4] = 90.0, 0.0
    flat = lambda value: np.full(count, value)  # noqa: E731
    measures = _SectionMeasures(indent_mm=flat(3.0), beyond_sac_mm=flat(-3.0), gap_mm=flat(0.0), contact_gap_mm=flat(0.0), narrowing=narrowing,
                                csf_fraction=csf, canal_ratio=flat(20.0), area_ratio=flat(20.0), resolved_share=flat(1.0))
    level = _grade_level(code_of("T7"), np.arange(count), measures, True, np.ones(count, dtype=bool), True)
    assert (level.grade, level.cord_narrowing_percent, level.csf_fraction) == ("2", 90.0, 0.5), level


@pytest.mark.parametrize(("mass_beyond_sac_mm", "grade"), [(0.5, "1b"), (2.5, "1a")])
def test_a_sac_narrowed_where_the_mass_lies_against_it_is_deformed(mass_beyond_sac_mm, grade):
    """No ray indented a millimetre (0.3 mm), the sac's front-to-back diameter 15 % short of the
    reference levels': deformed (1b) where the mass lies against the sac, not where it stays 2.5 mm
    clear of it (1a: a sac that narrows on its own from level to level). Before: 1a for both."""
    count = 9
    flat = lambda value: np.full(count, value)  # noqa: E731
    measures = _SectionMeasures(indent_mm=flat(0.3), beyond_sac_mm=flat(mass_beyond_sac_mm), gap_mm=flat(2.0), contact_gap_mm=flat(2.0), narrowing=flat(3.0),
                                csf_fraction=flat(1.0), canal_ratio=flat(15.0), area_ratio=flat(10.0), resolved_share=flat(1.0))
    level = _grade_level(code_of("T7"), np.arange(count), measures, False, np.zeros(count, dtype=bool), True)
    assert (level.grade, level.thecal_sac_deformed) == (grade, grade == "1b"), level
    if grade == "1b":
        assert bilsky_explanation_text(level) == "mass deforms the thecal sac at T7 (its front-to-back diameter narrowed 15 % where the mass lies against it), 2.0 mm clear of the cord"


def test_canal_compromise_follows_the_sac_pushed_in():
    """MCC on the sac's AP: the mass's front 1.8 mm behind the cord, its dura beyond, leaves the CSF
    space from the sac's anterior wall to the dura; healthy, the sac's AP reads within a few points."""
    graded = _graded("sac")
    anterior = SAC[2] + SAC[1] - DURA_MM
    healthy_ap = anterior - (SAC[2] - SAC[1] + DURA_MM)
    pushed_ap = anterior - (CORD[2] - CORD[1] - 1.8 + DURA_MM)
    expected = 100 * (1 - pushed_ap / healthy_ap)
    assert graded["T7"].mcc_percent == pytest.approx(expected, abs=4.0)
    assert graded["T7"].sac_area_ratio_percent > 3.0
    untouched = _graded("none")["T7"]
    assert abs(untouched.mcc_percent) < 3.0 and abs(untouched.sac_area_ratio_percent) < 3.0


def test_the_most_severe_level_leads_and_its_line_says_why():
    graded = list(_graded("compressed").values())
    worst = most_severe(graded)
    assert (worst.level, worst.grade) == ("T7", "2")
    explanation = bilsky_explanation_text(worst)
    assert explanation.startswith("cord compressed at T7 (narrowed ") and "CSF still visible around" in explanation
    assert most_severe([level for level in graded if level.level != "T7"]) is None  # nothing in the canal elsewhere


def test_among_equal_grades_and_narrowing_the_level_of_the_mscc_is_the_most_severe():
    """The haematoma's T7 and T8 share their narrowest section (36.01 % each) and MSCC is read at T8:
    the summary line names one level for both ("MSCC 36 % at T8, Bilsky 2 at T8"), not T8 then T7."""
    tied = [replace(_graded("compressed")["T7"], level=name, code=code_of(name)) for name in ("T7", "T8")]
    assert most_severe(tied).level == "T7"  # no MSCC level given: the superior one
    assert most_severe(tied, mscc_at="T8").level == "T8"
    assert most_severe(tied, mscc_at="T5").level == "T7"


def test_the_summary_line_names_the_most_severe_grade():
    levels = {"mass": {"from": "T5", "to": "T8"}, "compression": {"from": "T5", "to": "T7", "at": "T6", "max_mscc_percent": 41.0},
              "bilsky": {"sequence": "T2", "levels": [], "most_severe": {"level": "T6", "grade": "2"}}}
    assert summary_line(levels_of(**levels)) == "mass T5–T8, cord compressed T5–T7, MSCC 41 % at T6, Bilsky 2 at T6"
    levels["bilsky"]["most_severe"] = None
    assert summary_line(levels_of(**levels)) == "mass T5–T8, cord compressed T5–T7, MSCC 41 % at T6"


def test_no_grade_without_a_csf_bright_sequence():
    image, _, _, _ = _case("none")
    assert graded_sequence([SequenceImage("T1", image.grid, image.voxels)]) is None
    assert graded_sequence([SequenceImage("T1", image.grid, image.voxels), image]).role == "T2"


# ---------------------------------------------------------------------------------------------
# The generated spines' truth: a dent under a voxel (spinegen/bilsky.py, the lead's decision of session 12)


def _canal_mass_facts(**changed) -> dict:
    return {"mass_present": True, "thecal_sac_deformed": True, "cord_contacted": False, "cord_deformed": False, "csf_fraction_min": 0.9, **changed}


def test_a_sac_dented_less_than_a_voxel_may_read_1a_or_1b():
    """Only grade 1b gains 1a, and only where the dent is shallower than the voxel is long along it;
    the truth's own grade stays 1b."""
    from spinegen.bilsky import accepted_grades, bilsky_truth

    truth = {"compression": None, "mass": {"levels": ["T5", "T6", "T7"], "required": ["T6"]}, "levels": {
        "T5": _canal_mass_facts(sac_dent_mm=0.6, dent_voxel_mm=0.7),
        "T6": _canal_mass_facts(sac_dent_mm=0.7, dent_voxel_mm=0.7),
        "T7": _canal_mass_facts(sac_dent_mm=0.3, dent_voxel_mm=0.7, cord_contacted=True),
    }}
    assert accepted_grades(truth) == {"T5": {"1a", "1b"}, "T6": {"1b"}, "T7": {"1c"}}
    assert bilsky_truth(truth)["T5"] == "1b"


@pytest.mark.parametrize("seed, level, along", [(3, "C7", "inplane_mm"), (5, "C3", "thickness_mm")])
def test_the_dent_is_weighed_against_the_voxel_along_it(seed, level, along):
    """Seed 3: a mass behind the cord on a sagittal stack, dented 0.67 mm: against the 0.70 mm pixel
    (front to back), not the 3.9 mm slice. Seed 5: a mass at the right, dented 0.42 mm: against the
    2.1 mm slice (right to left). Both read 1a by the engine before the decision."""
    from spinegen.bilsky import accepted_grades
    from spinegen.design import sample_design
    from spinegen.scan import acquisition_grid
    from spinegen.spine import build_spine
    from spinegen.truth import case_truth

    design = sample_design(seed, healthy=False)
    truth = case_truth(spine := build_spine(design), acquisition_grid(spine))
    facts = truth["levels"][level]
    spacing = getattr(design, along)
    assert 0 < facts["sac_dent_mm"] < spacing <= facts["dent_voxel_mm"] <= 1.1 * spacing + 0.1 * design.inplane_mm, facts
    assert accepted_grades(truth)[level] - {"0"} == {"1a", "1b"}  # seed 3 C7 accepts 0 too: its mass truth names it only leniently


def test_a_level_the_mass_truth_names_only_leniently_or_not_at_all_may_read_0():
    """The lead's decision of session 13: where the mass truth's nominal (1 mm) and strict (2 mm)
    readings leave a level out, the mass there is about a voxel thick or less, and grade 0 is
    accepted beside the facts' grade, which stays the truth's grade; a level either reading names keeps its grades."""
    from spinegen.bilsky import accepted_grades, bilsky_truth

    facts = _canal_mass_facts(sac_dent_mm=2.0, dent_voxel_mm=0.7)
    truth = {"compression": None, "levels": {"T4": facts, "T5": facts, "T6": facts, "T7": facts},
             "mass": {"levels": ["T5"], "required": ["T6"], "allowed": ["T4", "T5"]}}
    assert accepted_grades(truth) == {"T4": {"0", "1b"}, "T5": {"1b"}, "T6": {"1b"}, "T7": {"0", "1b"}}
    assert set(bilsky_truth(truth).values()) == {"1b"}
    assert accepted_grades(truth | {"mass": None})["T5"] == {"0", "1b"}


@pytest.mark.parametrize("seed, level, thickest_mm", [(25, "T6", 0.12), (4, "C2", 0.76)])
def test_a_generated_mass_thinner_than_a_voxel_at_a_level_may_read_0(seed, level, thickest_mm):
    """Two of the levels the engine read 0 where the truth had a mass (2026-12-06): the generator's
    mass there is at most 0.12 / 0.76 mm thick, and its mass truth does not name the level under the
    nominal reading; the grade of the next level, where it does, does not accept 0."""
    from spinegen.bilsky import accepted_grades, bilsky_truth
    from spinegen.design import sample_design
    from spinegen.scan import acquisition_grid
    from spinegen.spine import build_spine
    from spinegen.truth import case_truth

    spine = build_spine(sample_design(seed, healthy=False))
    truth = case_truth(spine, acquisition_grid(spine))
    upper, lower = next((top, bottom) for each, top, bottom in spine.level_bounds() if each.name == level)
    within = (spine.s >= upper) & (spine.s < lower)
    assert spine.profiles["mass_thickness"][within].max() == pytest.approx(thickest_mm, abs=0.01)
    accepted = accepted_grades(truth)
    assert "0" in accepted[level] and bilsky_truth(truth)[level] != "0"
    named = truth["mass"]["levels"]
    assert named and all("0" not in accepted[name] for name in named)


def test_a_contact_over_less_than_a_quarter_of_the_level_or_behind_a_csf_layer_thinner_than_a_voxel_reads_either_way():
    """A finding involves a level where it covers a quarter of it (the mass's and the compression's
    levels): a contact over less may read 1b as well as 1c; a CSF layer between mass and cord thinner
    than a voxel along them is not seen, and 1c is accepted beside 1b. The truth's grade stays the facts'."""
    from spinegen.bilsky import accepted_grades, bilsky_truth

    truth = {"compression": None, "mass": {"levels": ["T4", "T5", "T6", "T7"]}, "levels": {
        "T4": _canal_mass_facts(cord_contacted=True, contact_share=0.1, sac_dent_mm=2.0, dent_voxel_mm=0.7),
        "T5": _canal_mass_facts(cord_contacted=True, contact_share=0.3, sac_dent_mm=2.0, dent_voxel_mm=0.7),
        "T6": _canal_mass_facts(csf_layer_unresolved=True, sac_dent_mm=2.0, dent_voxel_mm=0.7),
        "T7": _canal_mass_facts(sac_dent_mm=2.0, dent_voxel_mm=0.7),
    }}
    assert accepted_grades(truth) == {"T4": {"1b", "1c"}, "T5": {"1c"}, "T6": {"1b", "1c"}, "T7": {"1b"}}
    assert bilsky_truth(truth) == {"T4": "1c", "T5": "1c", "T6": "1b", "T7": "1b"}


@pytest.mark.parametrize("seed, level, fact, grades", [(16, "T1", "contact_share", {"1b", "1c"}), (29, "T4", "csf_layer_unresolved", {"1b", "1c"})])
def test_a_generated_contact_the_image_cannot_show_either_way_reads_either_way(seed, level, fact, grades):
    """Seed 16 T1 (axial, a mass at the left): the cord is touched only over the level's lowest 2 mm,
    where the mass rises into T2 (a tenth of the level; 3.8 mm slices); the engine read 1b (2026-12-07).
    Seed 29 T4 (sagittal, a mass at the left): 0.9 mm of CSF left between mass and cord against 1.4 mm
    slices across it; the engine read 1c where the truth accepted only 0, 1a or 1b."""
    from spinegen.bilsky import accepted_grades
    from spinegen.design import sample_design
    from spinegen.scan import acquisition_grid
    from spinegen.spine import build_spine
    from spinegen.truth import case_truth

    spine = build_spine(sample_design(seed, healthy=False))
    truth = case_truth(spine, acquisition_grid(spine))
    facts = truth["levels"][level]
    assert 0 < facts["contact_share"] < 0.25 if fact == "contact_share" else facts[fact] and not facts["cord_contacted"], facts
    assert grades <= accepted_grades(truth)[level]


# ---------------------------------------------------------------------------------------------
# The traced sac on real T2: TPTBox's sample (1.5 mm isotropic, cord and spinal canal masks)


def _sac_against_canal(shared_data) -> tuple[list[float], list[float]]:
    """Per section of the cord (its profile from TPTBox's cord mask, the conus's taper left out):
    the Dice of the traced sac (the ray ends, the cord inside) with the cord-and-canal mask on the
    section's plane (sampled every 0.25 mm), and the traced area over the mask's."""
    from EMHAssistLib.geometry import Labelmap
    from EMHAssistLib.inputs.casefolder import read_volume
    from EMHAssistLib.inputs.nodes import sequence_image
    from EMHAssistLib.inputs.scene import new_headless_scene
    from EMHAssistLib.spine.compression import conus_zone

    folder = shared_data / "tptbox_sample_mri"
    scene = new_headless_scene()
    image = sequence_image("T2", read_volume(folder / "sub-mri_label-6_T2w.nii.gz", "T2", scene))
    parts = sequence_image("subreg", read_volume(folder / "sub-mri_seg-subreg_label-6_msk.nii.gz", "subreg", scene)).voxels
    cord_mask = parts == 60  # TPTBox's sub-regions: 60 spinal cord, 61 spinal canal
    cord = Cord(image.grid, cord_mask, measure_profile(cord_mask, image.grid), "T2", True, (True, False))  # the conus ends inside
    sections = trace_sections(image, cord, None)
    canal = Labelmap(image.grid, cord_mask | (parts == 61))
    axis = np.arange(-16.0, 16.0 + 1e-9, 0.25)
    u, v = np.meshgrid(axis, axis)
    radius, angle = np.hypot(u, v), np.mod(np.arctan2(v, u), 2 * np.pi)
    closed = np.append(sections.angles, 2 * np.pi)
    dice, area = [], []
    for at in np.flatnonzero(sections.measured & ~conus_zone(cord)):
        right, anterior = cord.profile.centreline.frames[at][:2]
        plane = cord.profile.centreline.points[at] + u.reshape(-1, 1) * right + v.reshape(-1, 1) * anterior
        truth = canal.contains(plane).reshape(u.shape)
        traced = radius <= np.interp(angle, closed, np.append(sections.sac_mm[at], sections.sac_mm[at][0]))
        dice.append(2 * float((truth & traced).sum()) / float(truth.sum() + traced.sum()))
        area.append(float(traced.sum()) / float(truth.sum()))
    return dice, area


def test_the_traced_sac_against_a_real_canal_mask(shared_data):
    """Measured 2026-12-06 on TPTBox's sample: 21 sections, Dice median 0.70 (0.24-0.75), the traced
    area a median 55 % of the mask's. On a mid section (arc 42 mm) the trace ends 1.5-2.5 mm inside
    the mask in front (7.4-9.6 mm from the cord's centre against 9-11.8 mm) and 2-2.5 mm inside it
    right and left (where it finds no CSF run and stops at the cord's edge, 4.7 mm, against 6.5-7.2 mm),
    and agrees behind the cord (3.1 against 3.5 mm): the mask's canal holds a dark rim (a quarter of
    its voxels below 85, against the CSF's 260 and the cord's 65), the dura and what the 1.5 mm voxels
    average with it, which the trace leaves out. See docs/levels-and-compression.md (Bilsky grade)."""
    dice, area = _sac_against_canal(shared_data)
    assert len(dice) == 21
    assert np.median(dice) == pytest.approx(0.70, abs=0.02) and min(dice) == pytest.approx(0.24, abs=0.02)
    assert np.median(area) == pytest.approx(0.55, abs=0.02)


# ---------------------------------------------------------------------------------------------
# Randomized generated spines: the measured agreement, pinned


# bench/bilsky_sweep.py --seed 1 --cases 40, run at 09:13-09:20 UTC 2026-12-06 on branch bilsky8 (main 4262acb, grade 3 read
# only where the slices resolve the cord's flanks, the CSF share a median along the level's compressed sections;
# bench/results/bilsky-sweep-2026-12-06-0920-seed1-n40.json): 102 levels graded by both, exact 34 (33 %), within one grade
# 77 (75 %), worst 4 grades off; where the report's mass and compressed levels agree with the truth's, 67 levels, exact 27
# (40 %), within one 58 (87 %). The confusion matrix and why each wrong level is wrong: docs/levels-and-compression.md.
# 19:38-19:49 UTC 2026-12-06, branch bilsky11 (main 93c2502 and the sac deformed where its AP diameter is narrowed 10 %
# with the mass against it; bench/results/bilsky-sweep-2026-12-06-1949-seed1-n40.json): 105 levels, exact 51, within one 91,
# worst 3; before it (19:15, …-1915-…) 47 and 91.
# 23:45-23:56 UTC 2026-12-06, branch bilsky12 (main aaf211f, where a level not assessed is not graded, and the truth's 1b
# accepting 1a where the sac's dent is shallower than a voxel; bench/results/bilsky-sweep-2026-12-06-2356-seed1-n40.json):
# 82 levels, exact 43, within one 75, worst 3; at the start (22:43-23:03, …-2303-…) 39 and 71 against the old truth.
# 02:25-02:38 UTC 2026-12-07, main 8f050b2 (bench/results/bilsky-sweep-2026-12-07-0238-seed1-n40.json): 81 levels, exact 43,
# within one 74, worst 3; re-graded with the truth accepting 0 where the mass truth names the level only leniently or not at
# all (bilsky13, the engine not run again): exact 51, within one 74, worst 3.
# 07:15-07:25 UTC 2026-12-07, branch bilsky14 (85c8870's engine with the running median over at least 3 sections, the truth
# accepting 1b beside 1c for a contact over less than a quarter of the level and 1c beside 1b behind a CSF layer thinner
# than a voxel; bench/results/bilsky-sweep-2026-12-07-0725-seed1-n40.json): 78 levels, exact 58, within one 74, worst 4; the
# same reports against the truth before: exact 54, within one 73; at the start (06:57-07:10, 85c8870 unchanged) 53 and 73.
MEASURED = "measured 74 % exact, 95 % within one grade, worst 4 grades off over 78 levels of seeds 1-40 (bilsky14's engine, 2026-12-07 07:25; the running median over at least 3 sections), the truth's grades 2-3 where its compression names the level, 1a accepted for a sac dented less than a voxel, 0 where the mass truth names the level only leniently or not at all, 1b beside 1c for a contact over less than a quarter of the level, 1c beside 1b behind a CSF layer thinner than a voxel (target 90 % exact, never more than one off)"


def _bench():
    spec = importlib.util.spec_from_file_location("bilsky_sweep", ROOT / "bench" / "bilsky_sweep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_slice_of_an_axial_stack_does_not_grade_a_level(tmp_path):
    """Generated seed 6 (axial, 2.6 mm slices, a mass behind the cord): on one slice of T8 the grown
    mass took a CSF voxel 0.9 mm from the cord, where the generator keeps 2.9 mm of CSF and dura
    between them; the 3 mm running median held that slice alone and T8 read 1c (2026-12-07). Over the
    slice and its neighbours it reads the truth's 1b."""
    graded = {row["level"]: row for row in _bench().graded_case(6, tmp_path)["levels"]}
    assert graded["T8"]["reported"] in graded["T8"]["accepted"], graded["T8"]


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=MEASURED)
def test_generated_spines_are_graded_as_their_truth(tmp_path):
    """Issue 17's target over seeds 1-40 with a mass: at least 90 % of levels exact, none off by more than one grade."""
    figures = _bench().sweep(list(range(1, 41)), tmp_path)["agreement"]["all"]
    assert figures["exact"] >= 0.9 * figures["levels"] and figures["max_off"] <= 1, figures


def test_the_smoothing_widths_slack_is_a_setting(monkeypatch):
    """The running median's width over sparse sections was widened by an inline 1.05 (issue 16 point 5):
    it is data/bilsky.json's grading.smoothing_spacing_slack now, and the width follows it."""
    from EMHAssistLib.spine import bilsky

    settings = bilsky.bilsky_settings()
    arc = np.arange(0.0, 40.0, 4.0)  # an axial stack's slices, 4 mm apart: wider than smoothing_mm
    usable = np.ones(arc.size, bool)
    assert bilsky._smoothing_width(arc, usable) == pytest.approx(1.05 * (settings.grading.smoothing_sections - 1) * 4.0)
    slacker = replace(settings, grading=replace(settings.grading, smoothing_spacing_slack=1.5))
    monkeypatch.setattr(bilsky, "bilsky_settings", lambda: slacker)
    assert bilsky._smoothing_width(arc, usable) == pytest.approx(1.5 * (settings.grading.smoothing_sections - 1) * 4.0)


def test_csf_beside_a_cord_traced_too_thin_is_sought_beyond_the_cords_usual_edge():
    """A healthy cord in its sac (1.4-2.4 mm of CSF all round) whose T7 sections are traced at a third
    of its AP and RL, as generated spines' compressed sections were (seed 48 C7: AP 0.8-4.0 mm where the
    cord's median is 6.5 mm). The window that looks for CSF beside the cord, 1.25 mm and half a voxel past
    the traced edge, ended inside the real cord on every ray: no CSF seen on T7 (before). It now reaches
    past the cord's usual outline (its median AP and RL) where a section is traced narrower: CSF all round
    on T7, as on the sections traced right."""
    image, cord, _, level_map = _case("none")
    t7 = level_map.codes_at(cord.profile.centreline.points) == code_of("T7")
    thin = np.where(t7, THIN_TRACE, 1.0)
    traced_thin = replace(cord, profile=replace(cord.profile, ap_mm=cord.profile.ap_mm * thin, rl_mm=cord.profile.rl_mm * thin))
    sections = trace_sections(image, traced_thin, None)
    assert sections.csf_beside_cord[t7].all() and sections.csf_beside_cord[~t7 & sections.measured].mean() > 0.95


def test_the_sac_of_a_cord_traced_too_thin_starts_from_the_cords_usual_edge():
    """The same healthy canal with T7 traced at a third of the cord's AP and RL. The sac's run of CSF
    had to start within 2 mm of the traced edge: the CSF begins 3 mm past it (1.4 mm of CSF in front of a
    6 mm cord), so no run started, the sac was put on the traced cord (AP 1.99 mm where it is 9.25-9.75
    mm) and the healthy T7 read MCC 78.8 % (its neighbours -40 %: their reference window held T7),
    as generated seed 69 T2 read 80 % and 1b beside a paraspinal mass (truth 0; sections traced 1.7-2.1 mm AP, the cord's median 3.7 mm). The run now may start
    within 2 mm of the cord's usual edge where a section is traced thinner: the sac as traced right on
    every ray, MCC 1.3 % (measured 2026-12-08)."""
    image, cord, _, level_map = _case("none")
    t7 = level_map.codes_at(cord.profile.centreline.points) == code_of("T7")
    thin = np.where(t7, THIN_TRACE, 1.0)
    traced_thin = replace(cord, profile=replace(cord.profile, ap_mm=cord.profile.ap_mm * thin, rl_mm=cord.profile.rl_mm * thin))
    right, traced = trace_sections(image, cord, None), trace_sections(image, traced_thin, None)
    assert np.array_equal(traced.sac_mm[t7], right.sac_mm[t7])
    graded = {level.level: level for level in grade_levels(image, traced_thin, None, level_map, None)}
    assert graded["T7"].mcc_percent == pytest.approx(1.27, abs=0.01) and abs(graded["T6"].mcc_percent) < 2.0


def test_one_section_clear_of_the_mass_is_no_outline_for_the_sac():
    """A mass grown along the whole field against the sac (0.1 mm beyond its 4 mm radius on every ray)
    leaves one section clear of it, 100 mm away, where the sac's radius is 5.5 mm (another region of
    the spine). Before, that one section was every level's reference outline: the sac's edge read
    pushed 1.5 mm in and its diameter 27 % narrowed, the level 1b. So read generated seed 22 T5-T6
    (truth 1a and 0) once the sac's trace started from the cord's usual edge: the grown mass lies
    against the sac from T7 to T4 and the only clear section is in C7, its sac 10.5 mm against 8 mm.
    A single section is one noisy slice: an outline now needs `reference_min_sections` (3) sections;
    without one the sac is not read as deformed (1a)."""
    count, angles = 61, np.radians(np.arange(0.0, 360.0, 10.0))
    arc = np.concatenate([np.arange(60.0), [160.0]])
    sac = np.full((count, len(angles)), 4.0)
    sac[-1] = 5.5
    mass = sac + 0.1
    mass[-1] = np.inf
    flat = np.full((count, len(angles)), 1.0)
    sections = Sections(angles, flat * 2.0, sac, mass, flat > 0, flat > 0, flat > 0,
                        np.ones(count, dtype=bool), 400.0, 1000.0)
    profile = SimpleNamespace(arc_mm=arc, ap_mm=np.full(count, 6.0), rl_mm=np.full(count, 8.0))
    codes = np.where(arc < 20.0, code_of("T8"), np.where(arc < 40.0, code_of("T7"), code_of("T6")))
    codes[-1] = code_of("C7")
    measures = _SectionMeasures.of(sections, SimpleNamespace(profile=profile), codes, np.ones(count, dtype=bool), None)
    inside = np.flatnonzero(codes == code_of("T7"))
    level = _grade_level(code_of("T7"), inside, measures, False, np.zeros(count, dtype=bool), True)
    assert (level.grade, level.sac_indent_mm, level.mcc_percent) == ("1a", None, None), level
