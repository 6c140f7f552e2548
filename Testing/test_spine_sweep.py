"""A handful of generated spines (Testing/spinegen) through the whole engine, judged against the
generator's truth by the outcomes of issue 13 (spinegen/judge.py): every body within 8 levels
of the anchor reported inside its body and within 5 mm; the mass's levels exact; the
compression's levels exact and its MSCC (or RL ratio) within 10 points; no compression on a
healthy spine; never silent about a compression it could not assess. The full sweep of 200
cases is `make sweep` (docs/spine-sweep.md)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from EMHAssistLib.analysis import analyze
from EMHAssistLib.inputs.casefolder import load_case_folder
from EMHAssistLib.outputs.report import to_json
from spinegen.case import generate, write_case
from spinegen.judge import judge_case

ROOT = Path(__file__).resolve().parents[1]

# Mass types are set (EMH dark on T2, metastasis brighter than cord): a mass of the cord's own
# signal on T1 and T2 (lymphoma), whose only edge is a dura thinner than a voxel, is left to the sweep.
SMALL = {"fov_si_mm": 200.0, "inplane_mm": 0.8, "snr": 25.0, "oblique_deg": 0.0, "anchors": 1, "mass_roi_poke_mm": 0.0}
CASES = {
    "straight, posterior, abrupt": {**SMALL, "curvature": "straight", "healthy": False, "side": "posterior", "mass_level": "T6", "mass_kind": "emh",
                                    "window_centre": "T6", "severity": 0.5, "core_mm": 15.0, "onset_mm": 1.0, "effacement": "one",
                                    "orientation": "sagittal", "thickness_mm": 3.0, "cord_roi": "tight", "spares_cord": False},
    "kyphotic, posterior, gradual, CSF effaced both sides": {
        **SMALL, "curvature": "physiological", "thoracic_kyphosis_deg": 45.0, "healthy": False, "side": "posterior", "mass_kind": "emh",
        "mass_level": "T8", "window_centre": "T7", "severity": 0.6, "core_mm": 10.0, "onset_mm": 20.0, "effacement": "both",
        "orientation": "sagittal", "thickness_mm": 2.5, "cord_roi": "with_csf", "spares_cord": False},
    "scoliotic 20 degrees, lateral, cord ROI offset": {
        **SMALL, "curvature": "scoliotic", "scoliosis_deg": 20.0, "healthy": False, "side": "left", "mass_level": "T5", "mass_kind": "metastasis",
        "window_centre": "T5", "severity": 0.5, "core_mm": 20.0, "onset_mm": 5.0, "effacement": "one",
        "orientation": "sagittal", "thickness_mm": 3.0, "cord_roi": "offset", "cord_roi_offset": [1.5, 1.5, 1.0], "spares_cord": False},
    "kyphotic, lateral, gradual, axial stack": {
        **SMALL, "curvature": "physiological", "thoracic_kyphosis_deg": 40.0, "healthy": False, "side": "right", "mass_level": "T9", "mass_kind": "emh",
        "window_centre": "T9", "severity": 0.45, "core_mm": 15.0, "onset_mm": 15.0, "effacement": "none",
        "orientation": "axial", "thickness_mm": 3.0, "cord_roi": "double", "spares_cord": False},
    "straight, posterior, abrupt, oblique 10 degrees, cord ROI twice the cord": {
        **SMALL, "curvature": "straight", "healthy": False, "side": "posterior", "mass_level": "T4", "window_centre": "T5", "mass_kind": "metastasis",
        "severity": 0.35, "core_mm": 25.0, "onset_mm": 1.5, "effacement": "one", "orientation": "sagittal", "thickness_mm": 3.5,
        "oblique_deg": 10.0, "oblique_axis": [0.0, 0.0, 1.0], "cord_roi": "double", "spares_cord": False},
    "healthy, physiological, no cord ROI": {
        **SMALL, "curvature": "physiological", "healthy": True, "window_centre": "T10", "orientation": "sagittal",
        "thickness_mm": 3.0, "cord_roi": "none"},
}
SEEDS = {name: 21 + n for n, name in enumerate(CASES)}


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    from EMHAssistLib.inputs.scene import new_headless_scene

    cache: dict[str, dict] = {}

    def run(name: str) -> dict:
        if name not in cache:
            case = generate(SEEDS[name], **CASES[name])
            folder = write_case(case, tmp_path_factory.mktemp("spinegen") / f"seed{SEEDS[name]}")
            report = to_json(analyze(load_case_folder(folder, new_headless_scene())))  # the judge reads the report's JSON
            cache[name] = {"truth": case.truth, "report": report, "outcome": judge_case(report, case.truth, case.spine)}
        return cache[name]

    return run


def _problems(outcome: dict) -> list[str]:
    problems = [f"body {f['level']}: {f['problem']}" + (f" ({f['distance_mm']} mm)" if "distance_mm" in f else "") for f in outcome["bodies"]["failures"]]
    if outcome.get("mass_exact") is False:
        problems.append(f"mass levels {outcome['mass_levels']}")
    if outcome.get("compression_exact") is False:
        problems.append(f"compression levels: reported {outcome['reported_compression']}")
    if outcome.get("mscc_within") is False:
        problems.append(f"MSCC {outcome.get('mscc')}")
    if outcome.get("false_compression"):
        problems.append(f"false compression {outcome['reported_compression']}")
    if outcome.get("silent"):
        problems.append("silent: no compression and no warning")
    return problems


# What each case still gets wrong, measured in a run started at 20:13 UTC on 2026-12-05 on the
# worktree's engine as it stood (HEAD b993520 and uncommitted changes); strict, so a case that starts to pass says so. The engine's
# engineer is making them pass (issue 13 points 1-4).
ENGINE_FAILS = {
    "straight, posterior, abrupt": "MSCC 65.7 % against the painted cord's 50.2 %",
    "kyphotic, posterior, gradual, CSF effaced both sides": "T9-T11 centres 11.5-26.7 mm off their bodies; mass T7-T10 (truth T7-T9); no compression reported where the truth has one",
    # Its bodies are all within 5 mm on aaf211f (7/7 judged; remeasured 2026-12-06 22:50 UTC, branch bodies12).
    "scoliotic 20 degrees, lateral, cord ROI offset": "compression reported T4-T6 at T5 (truth T5, T6 allowed); RL ratio 60.4 % against the painted cord's 50.2 %",
    "straight, posterior, abrupt, oblique 10 degrees, cord ROI twice the cord": "8 of 9 bodies not reported; no mass levels (truth T4-T5); no compression",
}


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=ENGINE_FAILS[name])) if name in ENGINE_FAILS else name
                                  for name in CASES])
def test_a_generated_spine_is_read_as_its_truth(judged, name):
    result = judged(name)
    truth = result["truth"]
    assert truth["mass"] is None if CASES[name]["healthy"] else truth["compression"] is not None  # the case is what it says
    assert result["outcome"]["bodies"]["judged"] >= 3
    problems = _problems(result["outcome"])
    assert not problems, "; ".join(problems)


def test_the_sweep_lists_the_seeds_whose_outcomes_moved_against_a_baseline(tmp_path):
    """`bench/spine_sweep.py --from-results NEW --against BASELINE`: how an engine change is judged
    seed by seed (docs/spine-sweep.md), so a seed lost is seen beside the seeds gained."""
    def run(*cases):
        return [{"seed": seed, "outcome": {"bodies": {"within": within}, "mass_exact": mass, "false_compression": False}} for seed, within, mass in cases]
    baseline, new = tmp_path / "baseline.jsonl", tmp_path / "new.jsonl"
    baseline.write_text("\n".join(json.dumps(case) for case in run((1, 8, True), (2, 5, False), (3, 7, None))))
    new.write_text("\n".join(json.dumps(case) for case in run((1, 8, True), (2, 6, True), (3, 7, None), (4, 2, None))))
    sweep = subprocess.run([sys.executable, str(ROOT / "bench" / "spine_sweep.py"), "--from-results", str(new), "--against", str(baseline)],
                           capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "EMHAssist")})
    assert sweep.stdout.splitlines() == ["seed 2: bodies: 5 -> 6, mass_exact: False -> True", "seed 4: not in the baseline"]
