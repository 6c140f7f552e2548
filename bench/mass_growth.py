"""Where a generated case's grown mass lies against the mass the generator painted (issue 13 point 5).

    PYTHONPATH=$PWD/EMHAssist .venv/bin/python bench/mass_growth.py --seeds 234,246

Each seed is made by Testing/spinegen (healthy iff (seed - 1) % 4 == 0, as bench/spine_sweep.py
makes it), written as a case folder and analysed by EMHAssistLib.analysis; the grown mass's voxels
are then placed on the generator's own anatomy (its arc coordinate s along the canal, and the tissue
the generator painted at each voxel centre). Printed per seed: the report's mass levels against the
truth's, the painted mass's run along the arc, the grown mass's, the voxels the engine's level map
puts in each level (with the share of the level's height they cover: the quarter-height rule), and
what tissue the grown voxels more than `BEYOND_MM` beyond the painted run are. This is how a mass
level that is not exact is told apart by cause: a like layer past a thin end, growth along a
neighbour tissue of like signal (the epidural fat, the cord), a mass grown short, or a level map off.
"""

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT / "EMHAssist", ROOT / "Testing"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

BEYOND_MM = 3.0  # grown voxels farther than this past the painted run (its lenient reading) are counted as overgrowth


def painted_tissue(spine, grid, points: np.ndarray) -> list[str]:
    """The tissue filling most of the voxel at each world point, as spinegen's renderer composes its
    layers (each layer covers its share of what lies under it; "soft" under all)."""
    from spinegen.scan import _Footprint, _Sampler, tissue_fractions

    s, u, v = spine.curve.local(points)
    sampler = _Sampler(s, u, v, _Footprint(spine.curve.frame(s), grid, 1))
    shares = {"soft": np.ones(len(s))}
    for tissue, where, share in tissue_fractions(spine, sampler):
        at = np.arange(len(s)) if where is None else where
        for name in shares:
            shares[name][at] *= 1.0 - share
        shares.setdefault(tissue, np.zeros(len(s)))[at] += share
    names = list(shares)
    return [names[n] for n in np.argmax(np.stack([shares[name] for name in names]), axis=0)]


def mass_case(seed: int) -> dict:
    """One seed's grown mass against its painted mass (see the module's docstring)."""
    from EMHAssistLib.analysis import run_analysis
    from EMHAssistLib.inputs.casefolder import load_case_folder
    from EMHAssistLib.inputs.scene import new_headless_scene
    from EMHAssistLib.outputs.report import to_json
    from spinegen.case import generate, write_case
    from spinegen.judge import judge_case
    from spinegen.truth import mass_runs

    case = generate(seed, healthy=(seed - 1) % 4 == 0)
    with tempfile.TemporaryDirectory(prefix="mass-growth-") as folder:
        write_case(case, Path(folder) / f"seed{seed}")
        analysis = run_analysis(load_case_folder(Path(folder) / f"seed{seed}", new_headless_scene()))
    outcome = judge_case(to_json(analysis.report), case.truth, case.spine)
    spine, mass, level_map = case.spine, analysis.levels.mass, analysis.levels.level_map
    found = {"seed": seed, "design": case.design.to_dict(), "mass_levels": outcome.get("mass_levels"), "exact": outcome["mass_exact"]}
    if mass is None or spine.mass is None:
        return found
    runs = [mass_runs(spine, painted)["lenient"] for painted in spine.masses]
    points = mass.points_world()
    s, _, _ = spine.curve.local(points)
    tissues = np.array(painted_tissue(spine, case.grid, points))
    bounds = {level.name: (upper, lower) for level, upper, lower in spine.level_bounds()}
    levels = []
    if level_map is not None:
        codes = level_map.codes_at(points)
        for n, vertebra in enumerate(level_map.vertebrae):
            inside = codes == vertebra.code
            if inside.any():
                along = (points[inside] - vertebra.centre) @ level_map.axis(n)
                levels.append({"level": vertebra.name, "voxels": int(inside.sum()), "coverage": float((along.max() - along.min()) / level_map.height_mm(n)),
                               "s": (float(s[inside].min()), float(s[inside].max())), "truth_s": bounds.get(vertebra.name)})
        found["no_level_voxels"] = int(np.count_nonzero(codes == 0))
    within = np.zeros(len(s), dtype=bool)
    for top, bottom in runs:
        within |= (s >= top - BEYOND_MM) & (s <= bottom + BEYOND_MM)
    found.update(painted_s=runs, grown_s=(float(s.min()), float(s.max())), voxels=len(s), levels=levels,
                 tissues=Counter(tissues.tolist()).most_common(), beyond=int(np.count_nonzero(~within)),
                 beyond_tissues=Counter(tissues[~within].tolist()).most_common())
    return found


def lines(found: dict) -> list[str]:
    design = found["design"]
    head = (f"seed {found['seed']}: {design['mass_kind']} {design['side']} at {design['mass_level']}, {design['orientation']} "
            f"{design['thickness_mm']:.1f} mm slices, {design['inplane_mm']:.2f} mm in-plane; exact {found['exact']}")
    out = [head, f"  levels {found['mass_levels']}"]
    if "grown_s" not in found:
        return out + ["  no grown mass"]
    painted = ", ".join(f"{top:.1f}..{bottom:.1f}" for top, bottom in found["painted_s"])
    out.append(f"  painted s {painted} (at least 0.3 mm thick); grown {found['voxels']} voxels, s {found['grown_s'][0]:.1f}..{found['grown_s'][1]:.1f}")
    for level in found["levels"]:
        truth = "not modelled" if level["truth_s"] is None else f"{level['truth_s'][0]:.1f}..{level['truth_s'][1]:.1f}"
        out.append(f"    {level['level']}: {level['voxels']} voxels over {100 * level['coverage']:.0f} % of its height, s {level['s'][0]:.1f}..{level['s'][1]:.1f} (truth's level {truth})")
    if found.get("no_level_voxels"):
        out.append(f"    in no level of the level map: {found['no_level_voxels']} voxels")
    out.append(f"  tissues painted under the grown voxels: {found['tissues']}")
    if found["beyond"]:
        out.append(f"  {found['beyond']} voxels more than {BEYOND_MM:g} mm past the painted run: {found['beyond_tissues']}")
    return out


def _seed_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=_seed_list, required=True, help="comma-separated seeds")
    for seed in parser.parse_args(argv).seeds:
        print("\n".join(lines(mass_case(seed))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
