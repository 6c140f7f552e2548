"""The cord window on generated spines (Testing/spinegen) that the teaching phantom does not make:
the CSF read around a loosely drawn cord region on thin-ringed CSF, and a coil's bias field along a
long field of view (issue 13, point 2). Each case is the 30-seed sweep's own (bench/spine_sweep.py
--seed 1: seed S + n, every fourth healthy).

Both fail on today's engine and are strict xfails: a window that follows the cord's signal along the
spine and a CSF read on rays (bench/results/spine-sweep-2026-12-06-0223-seed1-n30.diff) makes them pass,
but broke Testing/test_real_spines.py's t2_lumbar bodies from T11, L2 and L3 (L2/L3, T12, T12/L1 off by
6.8-9.6 mm) and the built-in MDS case's area ratio seen 15 degrees oblique (24.4 % of 32.4); see
docs/spine-sweep.md."""

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


WINDOW_FIXED_AT_THE_SEED = "the cord window is read once at the cord region and kept along the whole cord (issue 13)"
CSF_FROM_THE_BLOCK = "the CSF signal is the 97th percentile of a block around the cord region, where a thin CSF ring is a few per cent of the voxels (issue 13)"


@pytest.mark.xfail(strict=True, reason=WINDOW_FIXED_AT_THE_SEED)
def test_a_coil_bias_field_does_not_narrow_the_cord_away_from_its_region(tmp_path):
    # Seed 25: a healthy spine, sagittal 2.5 mm, a cord region twice the cord's size in the neck and
    # a field of view of 290 mm of cord. With the window fixed at the cord region the traced AP fell
    # from 6.5 mm (of 7.1) there to 3.3 mm (of 5.5) at T8 and the report read a compression C2-T8.
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
    assert ratio > 0.75  # 0.6 with the window fixed at the seed


@pytest.mark.xfail(strict=True, reason=CSF_FROM_THE_BLOCK)
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
