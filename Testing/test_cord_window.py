"""The cord window on generated spines (Testing/spinegen) that the teaching phantom does not make:
the CSF read around a loosely drawn cord region on thin-ringed CSF, and a coil's bias field along a
long field of view (issue 13, point 2). Each case is the 30-seed sweep's own (bench/spine_sweep.py
--seed 1: seed S + n, every fourth healthy).

Both failed with the window read once at the cord region from a block percentile of the CSF (strict
xfails until the CSF was read on rays and the window scaled along the cord by the cord's core
signal against the pooled core around the seed; docs/spine-sweep.md)."""

import numpy as np
import pytest
from EMHAssistLib.analysis import read_sequences, run_analysis
from EMHAssistLib.inputs.casefolder import load_case_folder
from EMHAssistLib.inputs.scene import new_headless_scene
from EMHAssistLib.inputs.study import spine_inputs
from EMHAssistLib.spine import cord as cord_module
from EMHAssistLib.outputs.report import to_json
from spinegen.case import generate, write_case
from spinegen.judge import judge_case


def _analysed(seed: int, folder) -> tuple:
    case = generate(seed, healthy=True)
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
