"""ROIs placed the way radiologists draw them (tidy or not), and the level points.

Boxes are axis-aligned in RAS (drawn in Slicer's default slice views). Each is centred on a
point of the model in local coordinates; its half-sizes are chosen in mm. The cord ROI's
sloppiness (design.cord_roi):
- tight: inside the cord, 0.7 of its semi-axes across, 15 mm long;
- with_csf: over the thecal sac (cord and the CSF around it);
- offset: the tight box moved by design.cord_roi_offset (1-3 mm, any direction);
- double: twice the cord's semi-axes across (the cord and whatever lies beside it);
- none: no cord ROI.
The mass ROI sits in the mass's thickest part; design.mass_roi_poke_mm extends it that far
towards the cord (into the dura, CSF or cord) or, for a paraspinal mass, out of it.
"""

from dataclasses import dataclass

import numpy as np

from .scan import Grid
from .spine import Spine
from .truth import in_field

CORD_ROI_LENGTH_MM = 15.0
TIGHT_SHARE = 0.7


@dataclass
class RoiBox:
    name: str
    center: np.ndarray
    half_size: np.ndarray


def _box(spine: Spine, name: str, s: float, u: float, v: float, half_size) -> RoiBox:
    centre = spine.curve.world(np.array([s]), np.array([u]), np.array([v]))[0]
    return RoiBox(name, centre, np.asarray(half_size, float))


def _clear_of_mass(spine: Spine, grid: Grid, usable: np.ndarray) -> np.ndarray:
    """Arc positions (indices) with a healthy cord in the field, at least 25 mm from the mass."""
    s = spine.s
    ok = usable.copy()
    if spine.mass is not None:
        ok &= (s < spine.mass.top - 25.0) | (s > spine.mass.bottom + 25.0)
    return np.flatnonzero(ok)


def cord_roi(spine: Spine, grid: Grid, usable: np.ndarray) -> RoiBox | None:
    design = spine.design
    if design.cord_roi == "none":
        return None
    candidates = _clear_of_mass(spine, grid, usable)
    if candidates.size == 0:
        candidates = np.flatnonzero(usable)
    if candidates.size == 0:  # no cord in the field (a lumbar window below the conus)
        return None
    middle = 0.5 * (spine.window[0] + spine.window[1])
    index = int(candidates[np.argmin(np.abs(spine.s[candidates] - middle))])
    p = {key: float(values[index]) for key, values in spine.profiles.values.items()}
    s = float(spine.s[index])
    if design.cord_roi == "with_csf":
        return _box(spine, "cord", s, 0.0, p["sac_cv"], [p["sac_a"], p["sac_b"], CORD_ROI_LENGTH_MM / 2])
    scale = 2.0 if design.cord_roi == "double" else TIGHT_SHARE
    box = _box(spine, "cord", s, p["cord_cu"], p["cord_cv"], [scale * p["cord_a"], scale * p["cord_b"], CORD_ROI_LENGTH_MM / 2])
    if design.cord_roi == "offset":
        box.center = box.center + np.asarray(design.cord_roi_offset)
    return box


def mass_rois(spine: Spine) -> list[RoiBox]:
    """One box in each mass (a second site's box is written as mass-2.mrk.json)."""
    return [mass_roi(spine, mass) for mass in spine.masses]


def mass_roi(spine: Spine, mass) -> RoiBox:
    poke = spine.design.mass_roi_poke_mm
    if not mass.epidural:
        cs, cu, cv = mass.centre
        hs, hu, hv = mass.semi
        return _box(spine, "mass", cs, cu, cv, [0.5 * hu + poke, 0.5 * hv, 0.4 * hs])
    p = spine.profiles
    inside = np.flatnonzero(np.isfinite(p["front"]))
    direction = mass.direction if mass.direction is not None else (0.0, -1.0)
    along_ap = direction[0] == 0.0
    canal = p["canal_b"] if along_ap else p["canal_a"]
    if mass.direction is None:  # all round: measure its part behind the cord, outside its front ellipse
        front = p["cord_b"] + p["front"] - p["cord_cv"]
    else:
        front = p["front"]
    thickness = np.where(np.isfinite(front), canal - front, 0.0)[inside]
    index = int(inside[np.argmax(thickness)])
    depth = float(thickness.max())
    middle = float(canal[index] - depth / 2)
    half_along = max(0.35 * depth, 0.6)
    shift = poke / 2  # the box grows towards the cord by `poke`, its far face stays
    u, v = direction[0] * (middle - shift), direction[1] * (middle - shift)
    run = np.flatnonzero(np.isfinite(front) & (np.where(np.isfinite(front), canal - front, 0.0) > 0.6 * depth))
    length = max(float(spine.s[run[-1]] - spine.s[run[0]]) * 0.35, 1.5)
    across = 2.0
    half = [half_along + shift, across, length] if not along_ap else [across, half_along + shift, length]
    return _box(spine, "mass", float(spine.s[index]), u, v, half)


def tissue_rois(spine: Spine, grid: Grid) -> list[RoiBox]:
    """Marrow (a body away from the mass), muscle (the right paraspinal muscle beside it) and disc
    (the nucleus below that body), each well inside its tissue."""
    bodies = [level for level in spine.levels[:-2] if in_field(grid, spine.curve.world(np.array([level.centre_s]), np.array([0.0]), np.array([level.dims["canal_ap"] / 2 + level.dims["body_ap"] / 2])), 25.0)[0]]
    if spine.mass is not None:
        far = [level for level in bodies if level.body_bottom < spine.mass.top - 5 or level.body_top > spine.mass.bottom + 5]
        bodies = far or bodies
    if not bodies:
        return []
    middle = 0.5 * (spine.window[0] + spine.window[1])
    level = min(bodies, key=lambda lv: abs(lv.centre_s - middle))
    index = spine.levels.index(level)
    below = spine.levels[index + 1]
    a, b, h = level.dims["body_rl"] / 2, level.dims["body_ap"] / 2, level.body_bottom - level.body_top
    body_v = level.dims["canal_ap"] / 2 + b
    rois = [_box(spine, "marrow", level.centre_s, 0.0, body_v, [0.35 * a, 0.3 * b, 0.25 * h])]
    canal_b = float(np.interp(level.centre_s, spine.s, spine.profiles["canal_b"]))
    body_rl = level.dims["body_rl"]
    muscle_b = 0.3 * body_rl + 4.0
    rois.append(_box(spine, "muscle", level.centre_s, 0.35 * body_rl + 8.0, -(canal_b + 7.0 + 0.9 * muscle_b), [0.3 * (0.25 * body_rl + 3.0), 0.3 * muscle_b, 8.0]))
    disc_s = 0.5 * (level.body_bottom + below.body_top)
    disc_b = 0.51 * (level.dims["body_ap"] + below.dims["body_ap"]) / 2
    disc_v = 0.5 * (body_v + below.dims["canal_ap"] / 2 + below.dims["body_ap"] / 2) - 0.1 * disc_b
    rois.append(_box(spine, "disc", disc_s, 0.0, disc_v, [0.25 * a, 0.25 * disc_b, 0.2 * (below.body_top - level.body_bottom)]))
    return rois


def at_least_a_voxel(rois: list[RoiBox], grid: Grid) -> list[RoiBox]:
    """Each box at least 0.6 voxel from its centre along each RAS axis (a voxel's extent along
    that axis), so it holds a voxel centre: a 2 mm tall disc box between 4 mm axial slices may
    hold none, and a reader drawing on those slices cannot draw it smaller than one."""
    extent = np.abs(grid.ijk_to_ras[:3, :3]).max(axis=1)
    for roi in rois:
        roi.half_size = np.maximum(roi.half_size, 0.6 * extent)
    return rois


def anchor_levels(spine: Spine, grid: Grid, vertebrae: list[dict]) -> list[str]:
    """The level points: design.anchors bodies in the field (not the sacrum below S1), drawn
    from the case's seed; one anchor is the body nearest the window's middle more often than not."""
    rng = np.random.default_rng([spine.design.seed, 4])
    names = [v["name"] for v in vertebrae if v["in_field"] and v["name"] not in ("S2", "S3")]
    count = min(spine.design.anchors, len(names))
    return sorted(rng.choice(names, size=count, replace=False).tolist(), key=[v["name"] for v in vertebrae].index)
