"""The cord window on generated spines (Testing/spinegen) that the teaching phantom does not make:
the CSF read around a loosely drawn cord region on thin-ringed CSF, and a coil's bias field along a
long field of view (issue 13, point 2). Each case is the 30-seed sweep's own (bench/spine_sweep.py
--seed 1: seed S + n, every fourth healthy).

Both failed with the window read once at the cord region from a block percentile of the CSF (strict
xfails until the CSF was read on rays and the window scaled along the cord by the cord's core
signal against the pooled core around the seed; docs/spine-sweep.md)."""

import numpy as np
from EMHAssistLib.analysis import read_sequences, run_analysis
from EMHAssistLib.inputs.casefolder import load_case_folder
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.inputs.study import spine_inputs
from EMHAssistLib.spine import cord as cord_module
from EMHAssistLib.outputs.report import to_json
from EMHAssistLib.outputs.wording import summary_line
from spinegen.case import generate, write_case
from spinegen.judge import judge_case


def _analysed(seed: int, folder, healthy: bool = True) -> tuple:
    case = generate(seed, healthy=healthy)
    study = load_case_folder(write_case(case, folder / f"seed{seed}"), new_headless_scene())
    return case, study, run_analysis(study)


def test_a_coil_bias_field_does_not_narrow_the_cord_away_from_its_region(tmp_path):
    # Seed 25: a healthy spine, sagittal 2.5 mm, a cord region twice the cord's size in the neck and
    # a field of view of 290 mm of cord. With the window fixed at the cord region the traced AP fell
    # from 6.5 mm (of 7.1) there to 3.3 mm (of 5.5) at T8 and the report read a compression C2-T8.
    # Followed along the cord, the lowest fifth reads 0.73 of the painted AP (0.38 with the CSF read
    # from the block and the window fixed at the region; 0.85 at the region itself: the 40 % cut
    # towards the CSF lies inside the partial-volume edge, a constant depth that weighs more on the
    # smaller cord below).
    case, _, analysis = _analysed(25, tmp_path)
    report = to_json(analysis.report)  # the judge reads the report's JSON
    assert report["levels"]["compression"] is None
    assert not judge_case(report, case.truth, case.spine)["false_compression"]
    cord = analysis.levels.cord
    profile = cord.profile
    painted = case.spine.profiles
    centres = case.spine.curve.world(case.spine.s, painted["cord_cu"], painted["cord_cv"])
    lowest = np.argsort(profile.centreline.points[:, 2])[: len(profile.ap_mm) // 5]  # the fifth of the cord farthest below the region
    nearest = [int(np.argmin(np.linalg.norm(centres - point, axis=1))) for point in profile.centreline.points[lowest]]
    ratio = np.nanmedian(profile.ap_mm[lowest] / (2 * painted["cord_b"][nearest]))
    assert ratio > 0.7  # 0.73 measured; 0.38 before


def test_the_csf_is_read_on_rays_through_its_thin_ring(tmp_path):
    # Seed 29: healthy, sagittal 1.4 mm slices, a cord region over cord and CSF. The CSF (about
    # 1,600) is a ring a voxel or two thin; the seed's neighbourhood block's 97th percentile read
    # 845, the window [585, 725] around a cord of 645 traced it 1-3 mm deep of its 6 mm.
    case, study, analysis = _analysed(29, tmp_path)
    image = cord_module.choose_sequence(read_sequences(study))
    layout, volume, seed_points, window = cord_module._seeded(image, spine_inputs(study).cord[0].shape)
    assert window.high - window.centre > 0.25 * window.centre  # the CSF side a quarter above the cord or more (0.12 before)
    profile = analysis.levels.cord.profile
    painted = case.spine.profiles
    centres = case.spine.curve.world(case.spine.s, painted["cord_cu"], painted["cord_cv"])
    nearest = [int(np.argmin(np.linalg.norm(centres - point, axis=1))) for point in profile.centreline.points]
    assert np.nanmedian(profile.ap_mm / (2 * painted["cord_b"][nearest])) > 0.7  # 0.3 before


# Compression on the sweep's generated spines (issue 13 points 2 and 4): each slice's AP, RL and area
# judged as the median over 3 mm of cord and the slice on either side (`cord.CordProfile.judged`),
# and a cord traced into a mass of its own signal said to be not assessed (`compression.merged_with_mass`).


def test_single_slice_dips_of_a_healthy_cord_are_no_compression(tmp_path):
    # Seed 13: healthy, sagittal 2.1 mm, SNR 15. Single traced slices dip to 0.55-0.68 of the painted
    # cord a few millimetres apart; joined across the 5 mm merge gap they made a compression at T10
    # (MSCC 37 %). Judged on the median over 3 mm they are none.
    case, _, analysis = _analysed(13, tmp_path)
    report = to_json(analysis.report)
    assert report["levels"]["compression"] is None
    assert not judge_case(report, case.truth, case.spine)["false_compression"]


def test_the_narrowest_slice_of_a_squeezed_cord_is_not_one_noisy_section(tmp_path):
    # Seed 3: a posterior lymphoma C4-C6 on sagittal 0.7 mm rows, the painted cord 4.0 mm at the
    # narrowing (MSCC 40.8 %). The narrowest single traced section read 1.4 mm among 3-4 mm and MSCC
    # 77 %; the median reads 54 %. The 13 points left are not the tracer's edge on the healthy cord:
    # there the traced coverage's middle RL row (3.86 mm thick) holds 6.9-7.1 mm of AP where the
    # painted cord is 7.1-7.3, and the 3 mm band through the centroid, interpolated across rows
    # 3.86 mm apart, reads 6.2 (an exact ellipse of 7.1 x 10.5 mm on such rows reads 6.4-6.9 by its
    # position). The squeezed cord (2.8-3.5 mm judged for 4.0) is traced against the mass's wall,
    # which is noise there: the lymphoma is the cord's own signal on T1 and T2. Not fixed here.
    case, _, analysis = _analysed(3, tmp_path, healthy=False)
    compression = to_json(analysis.report)["levels"]["compression"]
    truth = case.truth["compression"]
    assert (compression["from"], compression["to"], compression["at"]) == (truth["from"], truth["to"], truth["at"])
    assert abs(compression["max_mscc_percent"] - truth["mscc_percent"]) < 15  # 13.4 measured; 35.8 before


def test_a_cord_traced_into_the_mass_is_said_to_be_not_assessed(tmp_path):
    # Seed 16: axial 3.8 mm, a left haematoma at T2-T3 (T3 borderline in the truth) narrowing the cord
    # 29 % in RL. The tracer took the haematoma (the cord's own T2 signal) for cord: 72-117 mm2 sections
    # against the cord's median 54, no narrowing, and the report said nothing (silent). Now the level the
    # cord was traced into is not assessed, with a warning; since merged19b's section model its narrowing is
    # read there too, on one 3.8 mm slice, too short for a compression, and the warning says both.
    case, _, analysis = _analysed(16, tmp_path, healthy=False)
    report = to_json(analysis.report)
    levels = report["levels"]
    assert not judge_case(report, case.truth, case.spine)["silent"]
    missing = levels["not_assessed"]
    reason = ("the cord could not be told from the mass there; the cord is narrowed where the mass touches it, "
              "too little or over too short a stretch to call a compression")
    assert missing is not None and missing["reason"] == reason
    assert (missing["levels"]["from"], missing["levels"]["to"]) == ("T2", "T2")
    assert _unassessed(levels) == {"T2"}
    assert f"cord compression not assessed at T2: {reason}" in report["warnings"]


def test_a_cord_traced_into_a_mass_at_its_side_is_not_silent(tmp_path):
    # Seed 4: sagittal 2.0 mm, a right haematoma at C3-C4 narrowing the cord 30 % in RL (painted 8.5 mm
    # wide there), CSF effaced on both sides. Its T2 (about 650) lies inside the cord window (242 to 663
    # around the cord's 404), so the cord is traced again against the mass's wall; that tracing follows
    # every slice and is kept, but reads the cord 12.6-14.7 mm wide (judged RL) at C3-C4 where it reads
    # 9.8-12.6 mm elsewhere, sections of 64-86 mm2 against 48-72 mm2 elsewhere: under the 1.4 times the
    # median area that says a cord was traced into its mass, so neither a compression nor a warning is
    # reported (silent). From mass10's mass window (main as of 16:51 UTC) to 93c2502 it was not silent, but only
    # because its levels had collapsed: the cord traced against the new mass's wall moved the spine line, no repeat
    # length was found around the anchor C4, and C4 alone was reported (C2, C3, C5-C7 missing); its one level then
    # carried "cord compression not assessed at C4: the cord could not be told from the mass there". With C2-C7
    # found again (bodies11, spine/levels.py's repeat length sought in twice the window) the report reads no
    # compression and no warning, as before mass10: silent again, a strict xfail again (the cord's, not the levels').
    # Not silent since silent14 (`compression.narrowed_unjudged`): its sections narrowed where the mass touches
    # the cord, 3 of them 1.2 mm apart, span 2.4 mm between centres, under a compression's 3 mm run, but they
    # are the cord seen narrowed and not judged: C4 is said not assessed, with a warning and in the summary.
    case, _, analysis = _analysed(4, tmp_path, healthy=False)
    report = to_json(analysis.report)
    levels = report["levels"]
    assert not judge_case(report, case.truth, case.spine)["silent"]
    assert levels["compression"] is None
    assert "C4" in _unassessed(levels)
    assert "too little or over too short a stretch to call a compression" in levels["not_assessed"]["reason"]
    assert any(warning.startswith("cord compression not assessed at C") and "C4" in warning for warning in report["warnings"]), report["warnings"]
    assert "compression not assessed" in summary_line(analysis.report.levels)


def test_a_cord_narrowed_under_the_compression_threshold_beside_the_mass_is_not_silent(tmp_path):
    # Seed 83: an anterior haematoma at T5 narrowing the painted cord 33 % in AP (6.3 to 4.2 mm), sagittal
    # 2.2 mm. The trace lies a near-constant depth inside the cord, so it reads 4.4-4.9 mm at T5 against
    # 5.0-5.5 mm at T4 and T6: 0.84-0.92 of its level's expected AP, under the 20 % that names a
    # compression. The report read no compression and said nothing (silent). Now T5, seen narrowed by
    # 10 % or more where the mass touches the cord, is said not assessed.
    case, _, analysis = _analysed(83, tmp_path, healthy=False)
    report = to_json(analysis.report)
    levels = report["levels"]
    assert not judge_case(report, case.truth, case.spine)["silent"]
    assert "T5" in _unassessed(levels) | _compressed_levels(levels)
    assert "T5" in summary_line(analysis.report.levels)


def test_a_trace_that_alternates_between_normal_and_narrowed_sections_is_no_compression(tmp_path):
    # Seed 133: healthy, sagittal 2.4 mm, SNR 19, no mass region. The traced AP alternates from section
    # to section between 5.1-5.4 mm and 2.8-3.6 mm (painted 6.2 mm); a median of three keeps the
    # alternation one phase later, and the judged narrowed sections, joined across the 5 mm merge gap,
    # read a compression at T8 (MSCC 34 %). A run counts only where most of its own sections are narrowed.
    case, _, analysis = _analysed(133, tmp_path)
    report = to_json(analysis.report)
    assert report["levels"]["compression"] is None
    assert not judge_case(report, case.truth, case.spine)["false_compression"]


def test_a_cord_lost_above_a_mass_in_a_kyphosis_is_found_again_along_its_course(tmp_path):
    # Seed 7: thoracic kyphosis, sagittal 4.0 mm, a posterior mass at T2-T4 narrowing the cord 33 % in
    # AP (truth MSCC 36 % at T3), a gradual onset of 16 mm. The tracer loses the cord at the top of the
    # mass (T2) and looked for it again beyond only where it was lost; 30-50 mm down the kyphosis
    # carries the cord 8-10 mm forward of that point, so it was never found: the traced cord ended at
    # T2 and T2-T7 were not assessed. Sought along the course it had before it was lost, the cord is
    # found below the mass and traced back into it: T3, the most compressed level, is assessed.
    case, _, analysis = _analysed(7, tmp_path, healthy=False)
    report = to_json(analysis.report)
    painted = case.spine.profiles
    centres = case.spine.curve.world(case.spine.s, painted["cord_cu"], painted["cord_cv"])
    points = analysis.levels.cord.profile.centreline.points
    reached = max(case.spine.s[int(np.argmin(np.linalg.norm(centres - point, axis=1)))] for point in points)
    assert reached > case.truth["compression"]["at_s_mm"] + 30  # 160 mm (T2) before: above the compression at 181 mm
    assessed = {row["level"]: row["assessed"] for row in report["levels"]["cord_profile"]}
    assert assessed.get("T3") is not False and "T3" in assessed


def test_a_ray_that_leaves_the_image_puts_no_numpy_message_into_the_warnings(tmp_path):
    # Seed 10: a ray from the cord left the imaged plane, so the far side's plateau was read over
    # nothing and numpy's "All-NaN slice encountered" reached the report's warnings, a line that tells
    # a reader nothing. Only rays that leave the cord on its far side have a plateau to read.
    _, _, analysis = _analysed(10, tmp_path, healthy=False)
    assert not [warning for warning in to_json(analysis.report)["warnings"] if "NaN" in warning]


# The sweep's false compressions on seeds 91-200 (bench/spine_sweep.py --cases 200 --seed 1, 17:13 UTC
# on d26abbc: seeds 97, 133, 167, 178 and 199), each read against the painted cord.


def test_a_cord_that_runs_off_the_field_is_not_read_as_narrowed_at_the_edge(tmp_path):
    # Seed 97: healthy, sagittal 0.83 mm, 0.69 mm pixels, a field of 72 mm front to back centred at
    # C6. The cervical lordosis carries the canal out through the field's back edge at C1: the traced
    # section, cut by the edge, narrowed from 8.3 mm (painted 8.33) to 2.7 mm over the last 12 mm and
    # the report read a compression at C1, MSCC 60 %. A section cut by the edge is not the cord's: the
    # cord is not followed there and C1 is said not assessed.
    case, _, analysis = _analysed(97, tmp_path)
    report = to_json(analysis.report)
    assert report["levels"]["compression"] is None
    assert not judge_case(report, case.truth, case.spine)["false_compression"]
    assert report["levels"]["not_assessed"]["levels"]["from"] == "C1"
    assert "cord compression not assessed at C1: the cord could not be followed there" in report["warnings"]


def _unassessed(levels: dict) -> set[str]:
    """The levels the cord profile marks not assessed."""
    return {row["level"] for row in levels["cord_profile"] if row["assessed"] is False}


def _compressed_levels(levels: dict) -> set[str]:
    found = levels["compression"]
    return {span for span in (found["from"], found["to"], found["at"])} if found else set()


def test_no_compression_is_read_at_a_level_where_the_cord_could_not_be_told_from_the_mass(tmp_path):
    # Seed 199: a posterior metastasis at C3-C5 narrowing the cord 14 % (under the truth's 15 %),
    # sagittal 1.5 mm. At C4 the tracer took the mass in on some sections (80-88 mm2) and cut into the
    # cord on others (33-43 mm2; AP 1.4-7.6 mm where the painted cord is 6.1 mm throughout), and the
    # report read a compression at C4 (MSCC 28 %) beside its own warning that C4 was not assessed.
    case, _, analysis = _analysed(199, tmp_path, healthy=False)
    report = to_json(analysis.report)
    levels = report["levels"]
    assert not judge_case(report, case.truth, case.spine)["false_compression"]
    # Since silent14 C3 is not assessed too: the cord narrowed 14 % there is seen narrowed, not judged
    # (`compression.narrowed_unjudged`); C4 keeps its own reason.
    assert levels["not_assessed"]["reason"].startswith("the cord could not be told from the mass there")
    assert "C4" in _unassessed(levels)
    assert levels["compression"] is None


def test_a_level_said_not_assessed_beside_a_mass_is_never_reported_compressed(tmp_path):
    # Seed 178: a right haematoma at T5-T6 narrowing the cord 6 %, CSF effaced on both sides,
    # sagittal 2.3 mm, a bias field of 32 %. The cord was traced into the haematoma on two sections
    # at T6 and 2.2 mm off the painted cord on the rest of T6, and the report read a compression at
    # T6 (MSCC 44 %) while saying T6 was not assessed: the cord could not be told from the mass there.
    case, _, analysis = _analysed(178, tmp_path, healthy=False)
    report = to_json(analysis.report)
    levels = report["levels"]
    assert not judge_case(report, case.truth, case.spine)["false_compression"]
    merged = _unassessed(levels)
    assert "T6" in merged
    assert not _compressed_levels(levels) & merged


def test_a_level_whose_compression_is_not_assessed_gets_no_bilsky_grade(tmp_path):
    # Seed 134 (a compression truth of T10, peak 65 %, where the tracer could not tell the cord from
    # the mass) said "compression not assessed T10" and, on the same line, "Bilsky 1c at T10": a grade
    # that says the cord abuts the mass without being compressed, which the report had just said it
    # could not judge there. Seed 134 now reads its compression (the test below); seed 144 (an anterior
    # haematoma at T5-T6, compression truth T6) reads its T6 compression on merged19b's section model and
    # keeps T5, where the cord is still not told from the mass, not assessed and ungraded.
    _, _, analysis = _analysed(144, tmp_path, healthy=False)
    levels = to_json(analysis.report)["levels"]
    unassessed = _unassessed(levels)
    assert unassessed == {"T5"} and (levels["compression"]["from"], levels["compression"]["to"]) == ("T6", "T6")
    assert levels["bilsky"]["levels"] and not {level["level"] for level in levels["bilsky"]["levels"]} & unassessed
    line = summary_line(analysis.report.levels)
    assert line.endswith("compression not assessed T5") and "at T5" not in line, line


def test_a_narrowing_read_on_sections_traced_into_the_mass_is_reported(tmp_path):
    # Seed 134: a posterior abscess narrowing the cord 65 % at T10, sagittal 1.0 mm. Seven sections at
    # T10 took part of the abscess in (47-53 mm2 against the cord's median 34 away from the mass) and the
    # whole level was left out: "compression not assessed at T10", no compression. Those sections still
    # read AP 4.2-4.6 mm where the cord reads 5.4-7.1 mm at T9 and T11 (painted 2.2 mm): a section that
    # holds the cord and some mass reads the narrowing no deeper than it is. Now the compression is read
    # there, T10 as the truth, with a warning that its extent and MSCC are uncertain.
    case, _, analysis = _analysed(134, tmp_path, healthy=False)
    report = to_json(analysis.report)
    levels = report["levels"]
    judged = judge_case(report, case.truth, case.spine)
    assert judged["compression_exact"] and not judged["silent"] and not judged["false_compression"]
    assert "T10" not in _unassessed(levels)
    assert any(warning.startswith("cord compression at T10 read on sections that took in part of the mass") for warning in report["warnings"])


def test_a_level_traced_into_the_mass_where_no_narrowing_is_read_stays_not_assessed(tmp_path):
    # Seed 144: an anterior haematoma at T5-T6 narrowing the cord 45 % at T6, axial 2.2 mm. The cord
    # was traced into the haematoma at T5-T6 (sections judged 57-71 mm2 against a median of 36), and those
    # sections read AP 4.9-7.2 mm where the painted cord is 3.1: nothing narrowed is read on them. A
    # retrace against the mass's wall (session 12, reverted) counted T5-T6 as assessed and read no
    # compression: silent. A level traced into the mass is assessed only where a compression is read.
    case, _, analysis = _analysed(144, tmp_path, healthy=False)
    report = to_json(analysis.report)
    levels = report["levels"]
    assert not judge_case(report, case.truth, case.spine)["silent"]
    assert "T6" in _unassessed(levels) | _compressed_levels(levels)


def test_the_wall_beside_a_mass_reads_the_cord_signal_on_the_cord_not_on_a_loosely_drawn_region(tmp_path):
    # Seed 167: a posterior metastasis at C7-T2 narrowing the cord 11 % (no compression in the truth),
    # sagittal 1.6 mm, a cord region twice the cord's size. The region's main tissue on T1 is the CSF
    # (T1 185 against the traced cord's 580 and the metastasis's 364), so the wall that keeps the cord
    # out of the mass ran through the cord, and the cord traced against it read AP 2.1-3.9 mm at T2
    # where it is painted 5.9-6.1: a compression at T2 (MSCC 63 %). The wall now reads the cord's
    # signal on the cord as first traced, away from the mass (`masses.cord_wall`'s `cord_points`).
    case, _, analysis = _analysed(167, tmp_path, healthy=False)
    report = to_json(analysis.report)
    levels = report["levels"]
    assert not judge_case(report, case.truth, case.spine)["false_compression"]
    assert levels["compression"] is None
    t2 = next(row for row in levels["cord_profile"] if row["level"] == "T2")
    assert t2["min_ap_mm"] > 4.5, t2  # 2.16 with the wall read on the region's CSF
