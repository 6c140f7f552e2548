"""What a generated spine really holds, worked out from its model (never by running the engine).

- Body centroids: the centroid of each body's solid (an elliptic cylinder between its endplates
  in the local frame) in world RAS, by integrating over a 1 mm lattice of local coordinates
  weighted by the map's Jacobian |det d(x)/d(s,u,v)| = |T . dx/ds| (bodies wedge on a curve).
- Level extents: along the canal's arc, from the middle of the disc above to the middle of the
  disc below. A finding involves a level when it covers at least a quarter of the level's
  height (as docs/levels-and-compression.md defines it); the level holding most of it always
  counts. Levels whose decision changes between a strict and a lenient reading are listed as
  `borderline` (a report may name them or not): coverage 35 % / 15 %, and the finding's own
  extent read strictly or leniently (a compression narrowed by 15 % / 6 %, nominally 10 %;
  a mass at least 2 mm / 0.3 mm thick, nominally 1 mm: its tapering tips thinner than a voxel
  are not something an image shows).
- Compression: the painted cord's narrowing along the arc, 1 - (diameter / healthy diameter),
  on AP (a mass behind, in front or all round) or RL (a mass at the side). Compressed when the
  peak narrowing reaches 25 % (`borderline` between 15 and 25 %); the compressed run is the
  stretch around the peak narrowed by at least 10 %. MSCC (Miyanji) at the narrowest point of
  the leading measure: 1 - d_i / mean(d_a, d_b) with d_a, d_b the painted cord's mean AP over
  20 mm windows starting 10 mm beyond the run's ends along the arc (SCT's windows, as the
  engine's docs define them), a window outside the field, beyond the cord or within the conus's
  last 25 mm replaced by the other. The RL ratio likewise on RL.
- Per level (for Bilsky grading): mass present at the level; thecal sac deformed (the mass's
  surface inside the healthy sac); cord contacted (no CSF between dura and cord at some section);
  cord deformed (narrowed by 5 % or more); CSF around the cord: the share of the cord's outline
  with CSF 0.5 mm outside it, at the level's worst section (180 directions); the sac's deepest
  dent (how far the mass's front lies inside the healthy sac) and the voxel's length along the
  dent there (`dent_voxel_mm`), which says whether the image can show it (spinegen/bilsky.py); the
  share of the level's sections where the cord is contacted (`contact_share`), and whether at some
  section the CSF between the mass and a cord it does not touch is thinner than a voxel along them
  (`csf_layer_unresolved`).
"""

import numpy as np

from .anatomy import knowledge
from .scan import Grid
from .spine import Spine

COMPRESSED_PEAK = 0.25
BORDERLINE_PEAK = 0.15
RUN_THRESHOLDS = {"nominal": 0.10, "strict": 0.15, "lenient": 0.06}
LEVEL_FRACTION = {"nominal": 0.25, "strict": 0.35, "lenient": 0.15}
MASS_THICKNESS_MM = {"nominal": 1.0, "strict": 2.0, "lenient": 0.3}
REFERENCE_DISTANCE_MM, REFERENCE_EXTENT_MM = 10.0, 20.0
CONUS_EXCLUSION_MM = 25.0
POSITIONS = {"posterior": "posterior_epidural", "anterior": "anterior_epidural", "left": "lateral_epidural",
             "right": "lateral_epidural", "circumferential": "circumferential_epidural",
             "paraspinal_left": "paraspinal_left", "paraspinal_right": "paraspinal_right"}


def body_centroid(spine: Spine, level, step: float = 1.0) -> np.ndarray:
    b, a = level.dims["body_ap"] / 2, level.dims["body_rl"] / 2
    body_v = level.dims["canal_ap"] / 2 + b
    s, u, v = (_cell_centres(low, high, step) for low, high in ((level.body_top, level.body_bottom), (-a, a), (-b, b)))
    S, Uc, Vc = np.meshgrid(s, u, v, indexing="ij")
    inside = (Uc / a) ** 2 + (Vc / b) ** 2 <= 1.0
    S, Uc, Vc = S[inside], Uc[inside], Vc[inside] + body_v
    curve = spine.curve
    dU = np.stack([np.interp(S, curve.s, np.gradient(curve.U[:, k], curve.s)) for k in range(3)], axis=1)
    dV = np.stack([np.interp(S, curve.s, np.gradient(curve.V[:, k], curve.s)) for k in range(3)], axis=1)
    _, _, T = curve.frame(S)
    weight = np.abs(-1.0 + np.einsum("nk,nk->n", Uc[:, None] * dU + Vc[:, None] * dV, T))
    points = curve.world(S, Uc, Vc)
    return (points * weight[:, None]).sum(axis=0) / weight.sum()


def _cell_centres(low: float, high: float, step: float) -> np.ndarray:
    """Midpoints of equal cells of about `step` exactly filling [low, high] (the midpoint rule)."""
    count = int(np.ceil((high - low) / step))
    return low + (np.arange(count) + 0.5) * (high - low) / count


def in_field(grid: Grid, points: np.ndarray, margin_mm: float) -> np.ndarray:
    """Whether world points lie inside the grid's field of view, at least `margin_mm` from its faces."""
    ijk = (np.atleast_2d(points) - grid.ijk_to_ras[:3, 3]) @ np.linalg.inv(grid.ijk_to_ras[:3, :3]).T
    size = np.array(grid.shape[::-1], float)
    margin = margin_mm / grid.spacing
    return np.all((ijk >= -0.5 + margin) & (ijk <= size - 0.5 - margin), axis=1)


def involved(bounds, top: float, bottom: float, fraction: float) -> list[str]:
    """Levels whose extent [upper, lower] is covered by [top, bottom] over at least `fraction`."""
    names, best, best_cover = [], None, 0.0
    for level, upper, lower in bounds:
        cover = max(0.0, min(bottom, lower) - max(top, upper))
        if cover >= fraction * (lower - upper):
            names.append(level.name)
        if cover > best_cover:
            best, best_cover = level.name, cover
    if best is not None and best not in names:
        names.append(best)
    return names


def _extent(names: list[str], order: list[str]) -> dict | None:
    if not names:
        return None
    ordered = sorted(names, key=order.index)
    return {"from": ordered[0], "to": ordered[-1], "levels": ordered}


def _judged_levels(bounds, extents: list[dict[str, tuple[float, float]]], order: list[str]) -> dict:
    """Nominal levels (and their spans: runs of adjacent levels) and the borderline ones (named
    under some but not all of the readings), over one or more findings' extents per reading."""
    sets = {name: set().union(*(involved(bounds, *runs[name], LEVEL_FRACTION[name]) for runs in extents)) for name in LEVEL_FRACTION}
    nominal = _extent(sorted(sets["nominal"]), order)
    borderline = sorted(sets["lenient"] - sets["strict"], key=order.index)
    spans: list[list[str]] = []
    for name in (nominal or {}).get("levels", []):
        if spans and order.index(name) == order.index(spans[-1][-1]) + 1:
            spans[-1].append(name)
        else:
            spans.append([name])
    return {**(nominal or {}), "spans": [{"from": run[0], "to": run[-1]} for run in spans], "borderline": borderline,
            "required": sorted(sets["strict"], key=order.index), "allowed": sorted(sets["lenient"] | sets["nominal"], key=order.index)}


def cord_usable(spine: Spine, grid: Grid) -> np.ndarray:
    """Along the arc: the cord is there, inside the field, and outside the conus's last 25 mm."""
    s = spine.s
    centre = spine.curve.world(s, spine.profiles["cord_cu"], spine.profiles["cord_cv"])
    return (spine.profiles["cord_b0"] > 0.5) & (s < spine.conus_tip - CONUS_EXCLUSION_MM) & in_field(grid, centre, 2.0)


def _run(values: np.ndarray, peak: int, threshold: float) -> tuple[int, int]:
    first = last = peak
    while first > 0 and values[first - 1] >= threshold:
        first -= 1
    while last < len(values) - 1 and values[last + 1] >= threshold:
        last += 1
    return first, last


def _window_ratio(spine: Spine, key: str, at: int, run: tuple[int, int], usable: np.ndarray) -> float | None:
    s = spine.s
    diameter = 2 * spine.profiles[key]
    top, bottom = s[run[0]], s[run[1]]
    above = usable & (s <= top - REFERENCE_DISTANCE_MM) & (s > top - REFERENCE_DISTANCE_MM - REFERENCE_EXTENT_MM)
    below = usable & (s >= bottom + REFERENCE_DISTANCE_MM) & (s < bottom + REFERENCE_DISTANCE_MM + REFERENCE_EXTENT_MM)
    if not above.any():
        above = below
    if not below.any():
        below = above
    if not above.any():
        return None
    reference = 0.5 * (diameter[above].mean() + diameter[below].mean())
    return float(100 * (1 - diameter[at] / reference))


def compression_truth(spine: Spine, grid: Grid, bounds, order: list[str]) -> dict | None:
    mass = spine.mass
    if mass is None or not mass.epidural:
        return None
    p = spine.profiles
    lateral = mass.side in ("left", "right")
    key = "cord_a" if lateral else "cord_b"
    usable = cord_usable(spine, grid)
    narrowing = np.where(usable, 1 - p[key] / np.maximum(p[key + "0"], 1e-6), 0.0)
    peak = int(np.argmax(narrowing))
    if narrowing[peak] < BORDERLINE_PEAK:
        return None
    # A flat-bottomed narrowing has no one narrowest point: its middle is taken, and every level
    # the flat bottom (within 2 % of the peak) reaches may be reported as the most compressed.
    bottom = _run(narrowing, peak, narrowing[peak] - 0.02)
    peak = (bottom[0] + bottom[1]) // 2
    runs = {name: _run(narrowing, peak, threshold) for name, threshold in RUN_THRESHOLDS.items()}
    levels = _judged_levels(bounds, [{name: (spine.s[a], spine.s[b]) for name, (a, b) in runs.items()}], order)
    at = next(level.name for level, upper, lower in bounds if upper <= spine.s[peak] < lower)
    at_allowed = [level.name for level, upper, lower in bounds if upper < spine.s[bottom[1]] and lower > spine.s[bottom[0]]]
    for key in ("required", "allowed"):
        levels[key] = sorted(set(levels[key]) | {at}, key=order.index)
    return {
        **levels,
        "at_allowed": at_allowed,
        "borderline_presence": bool(narrowing[peak] < COMPRESSED_PEAK),
        "measure": "RL ratio" if lateral else "MSCC",
        "at": at,
        "at_s_mm": round(float(spine.s[peak]), 2),
        "peak_narrowing_percent": round(float(100 * narrowing[peak]), 2),
        "mscc_percent": _rounded(_window_ratio(spine, "cord_b", peak, runs["nominal"], usable)),
        "rl_ratio_percent": _rounded(_window_ratio(spine, "cord_a", peak, runs["nominal"], usable)),
        "min_ap_mm": round(float(2 * p["cord_b"][peak]), 3),
        "min_rl_mm": round(float(2 * p["cord_a"][peak]), 3),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def dent_voxel_mm(spine: Spine, grid: Grid, index: int, direction: tuple[float, float]) -> float:
    """How long a voxel of the acquisition is along a direction (u, v) of the cross-section at
    `index`: the sum of the grid's three voxel steps projected on it (a 0.7 x 0.7 x 3.9 mm sagittal
    voxel is 0.7 mm front to back and 3.9 mm right to left), the footprint across which scan.py's
    partial volume ramps an edge lying across that direction."""
    U, V, _ = spine.curve.frame(spine.s[index : index + 1])
    world = direction[0] * U[0] + direction[1] * V[0]
    return float(np.abs(world @ grid.ijk_to_ras[:3, :3]).sum())


def section_facts(spine: Spine, grid: Grid, index: int) -> dict:
    """Bilsky's quantities at one cross-section (index into the arc's table)."""
    p = {key: float(values[index]) for key, values in spine.profiles.values.items()}
    dura = knowledge()["dura_mm"]
    mass = spine.mass
    front = p["front"]
    present = mass is not None and mass.epidural and np.isfinite(front)
    angles = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    a, b = p["cord_a"], p["cord_b"]
    if a < 0.2 or b < 0.2:
        return {"mass_present": bool(present), "cord": False}
    cu, cv = p["cord_cu"], p["cord_cv"]
    outline = np.stack([cu + a * np.cos(angles), cv + b * np.sin(angles)], axis=1)
    normal = np.stack([np.cos(angles) / a, np.sin(angles) / b], axis=1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    probe = outline + 0.5 * normal
    in_sac = ((probe[:, 0] / (p["sac_a"] - dura)) ** 2 + ((probe[:, 1] - p["sac_cv"]) / (p["sac_b"] - dura)) ** 2) <= 1.0
    contacted = csf_layer_unresolved = False
    dents: list[tuple[float, tuple[float, float]]] = []  # (depth inside the healthy sac, its direction)
    free = np.ones(len(angles), bool)
    if present and mass.direction is not None:
        n = np.array(mass.direction)
        free = probe @ n < front - dura
        sac_far = (p["sac_cv"] * n[1]) + (p["sac_b"] if n[0] == 0 else p["sac_a"])
        dents = [(sac_far - front, mass.direction)]
        cord_near = cu * n[0] + cv * n[1] + (b if n[0] == 0 else a)
        layer = front - dura - cord_near  # the CSF between the dura the mass pushes and the cord
        contacted = layer <= 0.05
        csf_layer_unresolved = not contacted and layer < dent_voxel_mm(spine, grid, index, mass.direction)
    elif present:
        reach = front - dura
        free = ((probe[:, 0] - cu) / (a + reach)) ** 2 + ((probe[:, 1] - cv) / (b + reach)) ** 2 <= 1.0
        dents = [(p["sac_b"] - (b + front + abs(cv - p["sac_cv"])), (0.0, 1.0)), (p["sac_a"] - (a + front + abs(cu)), (1.0, 0.0))]
        contacted = reach <= 0.05
        # All round the cord: the ring shows wherever one direction's voxel is shorter than it is deep.
        csf_layer_unresolved = not contacted and reach < min(dent_voxel_mm(spine, grid, index, along) for along in ((0.0, 1.0), (1.0, 0.0)))
    deepest = max(dents, default=(0.0, (0.0, 1.0)), key=lambda dent: dent[0])
    sac_deformed = deepest[0] > 0
    narrowing = max(1 - a / max(p["cord_a0"], 1e-6), 1 - b / max(p["cord_b0"], 1e-6))
    return {"mass_present": bool(present), "cord": True, "thecal_sac_deformed": bool(sac_deformed),
            "cord_contacted": bool(contacted), "csf_layer_unresolved": bool(csf_layer_unresolved), "cord_deformed": bool(narrowing >= 0.05),
            "csf_fraction": float(np.mean(in_sac & free)),
            "sac_dent_mm": max(float(deepest[0]), 0.0), "dent_voxel_mm": dent_voxel_mm(spine, grid, index, deepest[1])}


def level_facts(spine: Spine, grid: Grid, bounds) -> dict:
    usable = cord_usable(spine, grid)
    out = {}
    for level, upper, lower in bounds:
        indices = np.flatnonzero((spine.s >= upper) & (spine.s < lower) & usable)[::2]
        sections = [section_facts(spine, grid, int(i)) for i in indices]
        sections = [f for f in sections if f["cord"]]
        if not sections:
            continue
        dent = max(sections, key=lambda f: f["sac_dent_mm"])
        out[level.name] = {
            "mass_present": any(f["mass_present"] for f in sections),
            "thecal_sac_deformed": any(f["thecal_sac_deformed"] for f in sections),
            "cord_contacted": any(f["cord_contacted"] for f in sections),
            "contact_share": round(float(np.mean([f["cord_contacted"] for f in sections])), 3),
            "csf_layer_unresolved": any(f["csf_layer_unresolved"] for f in sections),
            "cord_deformed": any(f["cord_deformed"] for f in sections),
            "csf_fraction_min": round(min(f["csf_fraction"] for f in sections), 3),
            "sac_dent_mm": round(dent["sac_dent_mm"], 3),
            "dent_voxel_mm": round(dent["dent_voxel_mm"], 3),
        }
    return out


def mass_runs(spine: Spine, mass) -> dict[str, tuple[float, float]]:
    """A mass's head-foot extent along the arc where it is at least as thick as each reading
    asks (epidural: from its front to the canal wall; paraspinal: the ellipsoid's width)."""
    s = spine.s
    if mass.epidural:
        thickness = spine.profiles["mass_thickness"]
    else:
        cs, _, _ = mass.centre
        hs, hu, _ = mass.semi
        thickness = 2 * hu * np.sqrt(np.clip(1 - ((s - cs) / hs) ** 2, 0.0, None))
    runs = {}
    for name, least in MASS_THICKNESS_MM.items():
        thick = np.flatnonzero(thickness >= least)
        runs[name] = (float(s[thick[0]]), float(s[thick[-1]])) if thick.size else (float(s[np.argmax(thickness)]),) * 2
    return runs


def case_truth(spine: Spine, grid: Grid, unseen: list | None = None) -> dict:
    """The whole truth; `unseen` masses (their box outside the field) are left out of the mass levels."""
    order = [level.name for level in spine.levels]
    bounds = spine.level_bounds()
    vertebrae = []
    for level in spine.levels:
        centroid = body_centroid(spine, level)
        vertebrae.append({"name": level.name, "code": level.code, "centroid": [round(float(c), 3) for c in centroid],
                          "in_field": bool(in_field(grid, centroid, 0.5 * (level.body_bottom - level.body_top))[0]),
                          "height_mm": round(level.body_bottom - level.body_top, 2)})
    mass = spine.mass
    mass_truth = None
    extents = [mass_runs(spine, each) for each in spine.masses if all(each is not gone for gone in unseen or [])]
    if mass is not None and extents:
        mass_truth = {"kind": mass.kind, "side": mass.side, "position": POSITIONS[mass.side], "spares_cord": spine.design.spares_cord or not mass.epidural,
                      "s_mm": [[round(runs["lenient"][0], 2), round(runs["lenient"][1], 2)] for runs in extents],
                      "second_site": spine.second_mass.side if spine.second_mass is not None else None,
                      **_judged_levels(bounds, extents, order)}
    return {
        "coordinate_system": "RAS",
        "vertebrae": vertebrae,
        "mass": mass_truth,
        "compression": compression_truth(spine, grid, bounds, order),
        "levels": level_facts(spine, grid, bounds),
        "conus_tip_s_mm": round(spine.conus_tip, 2),
    }
