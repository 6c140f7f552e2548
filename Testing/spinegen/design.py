"""The random choices that make one generated case, drawn from a seed.

`sample_design(seed, **fixed)` draws every factor from a numpy Generator seeded with `seed`; any
factor given in `fixed` is used as given instead (the draws still happen, so the other factors of
a seed do not change when one is fixed). The same seed and `fixed` always give the same design.
"""

from dataclasses import asdict, dataclass, field

import numpy as np

from .anatomy import level_names

SIDES = ("posterior", "anterior", "left", "right", "circumferential")
MASS_KINDS = ("emh", "metastasis", "lymphoma", "abscess", "haematoma")
CURVATURES = ("straight", "physiological", "scoliotic")
CORD_ROI_MODES = ("tight", "with_csf", "offset", "double", "none")
# Levels the window may centre on, and those a cord-compressing mass may sit at (cord present,
# with room for the reference windows above and below inside the cord).
WINDOW_CENTRES = ("C4", "C5", "C6", "T2", "T4", "T6", "T7", "T8", "T10", "T12", "L2", "L3", "L4")
CORD_LEVELS = ("C3", "C4", "C5", "C6", "C7", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11")


@dataclass
class Design:
    seed: int
    curvature: str
    cervical_lordosis_deg: float
    thoracic_kyphosis_deg: float
    lumbar_lordosis_deg: float
    scoliosis_deg: float
    tilt_deg: float
    window_centre: str
    fov_si_mm: float
    body_scale: float
    cord_scale: float
    orientation: str  # sagittal | axial
    oblique_deg: float
    oblique_axis: list
    thickness_mm: float
    inplane_mm: float
    snr: float
    bias: float
    gibbs: float
    healthy: bool
    mass_kind: str | None
    side: str | None  # SIDES, or paraspinal_left / paraspinal_right
    mass_level: str | None  # the level at the middle of the compression (or of a sparing mass)
    core_mm: float
    severity: float  # wanted narrowing of the cord's diameter across the mass, 0-0.7
    onset_mm: float
    effacement: str  # none | one | both
    displacement: float
    spares_cord: bool
    cord_roi: str
    cord_roi_offset: list = field(default_factory=list)
    mass_roi_poke_mm: float = 0.0
    anchors: int = 1
    # A second mass at another site (EMH of the mid-thoracic spine and the sacrum), beside or in
    # front of this level's body; never drawn at random (the sweep's seeds stay as they were),
    # set it to make a mass in two spans.
    second_mass_level: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def sample_design(seed: int, **fixed) -> Design:
    rng = np.random.default_rng(seed)
    draws: dict = {"seed": seed}
    draws["curvature"] = CURVATURES[rng.choice(3, p=[0.3, 0.45, 0.25])]
    draws["cervical_lordosis_deg"] = float(rng.uniform(10, 40))
    draws["thoracic_kyphosis_deg"] = float(rng.uniform(20, 55))
    draws["lumbar_lordosis_deg"] = float(rng.uniform(30, 60))
    draws["scoliosis_deg"] = float(rng.uniform(5, 20))
    draws["tilt_deg"] = float(rng.uniform(-5, 5))
    draws["window_centre"] = str(rng.choice(WINDOW_CENTRES))
    draws["fov_si_mm"] = float(rng.uniform(200, 320))
    draws["body_scale"] = float(rng.uniform(0.9, 1.1))
    draws["cord_scale"] = float(rng.uniform(0.9, 1.1))
    draws["orientation"] = "axial" if rng.uniform() < 0.25 else "sagittal"
    draws["oblique_deg"] = float(rng.uniform(0, 15)) if rng.uniform() < 0.35 else 0.0
    axis = rng.normal(size=3)
    draws["oblique_axis"] = (axis / np.linalg.norm(axis)).round(4).tolist()
    draws["thickness_mm"] = float(rng.uniform(0.8, 4.0))
    draws["inplane_mm"] = float(rng.uniform(0.5, 1.2))
    draws["snr"] = float(rng.uniform(12, 40))
    draws["bias"] = float(rng.uniform(0, 0.35)) if rng.uniform() < 0.6 else 0.0
    draws["gibbs"] = float(rng.uniform(0.1, 0.3)) if rng.uniform() < 0.4 else 0.0
    draws["healthy"] = bool(rng.uniform() < 0.25)
    draws["mass_kind"] = str(rng.choice(MASS_KINDS))
    draws["side"] = str(rng.choice(SIDES + ("paraspinal_left", "paraspinal_right"), p=[0.34, 0.14, 0.11, 0.11, 0.14, 0.08, 0.08]))
    draws["mass_level"] = str(rng.choice(CORD_LEVELS))
    draws["core_mm"] = float(rng.uniform(5, 40))
    draws["severity"] = float(rng.uniform(0, 0.7))
    draws["onset_mm"] = float(np.exp(rng.uniform(np.log(1.0), np.log(20.0))))
    draws["effacement"] = str(rng.choice(["none", "one", "both"], p=[0.25, 0.5, 0.25]))
    draws["displacement"] = float(rng.uniform(0, 1))
    draws["spares_cord"] = bool(rng.uniform() < 0.15)
    draws["cord_roi"] = str(rng.choice(CORD_ROI_MODES, p=[0.3, 0.2, 0.2, 0.2, 0.1]))
    offset = rng.normal(size=3)
    draws["cord_roi_offset"] = (offset / np.linalg.norm(offset) * rng.uniform(1.0, 3.0)).round(3).tolist()
    draws["mass_roi_poke_mm"] = float(rng.uniform(0, 3)) if rng.uniform() < 0.5 else 0.0
    draws["anchors"] = int(rng.choice([1, 2, 3], p=[0.6, 0.25, 0.15]))
    draws["second_mass_level"] = None
    # A case with a mass is imaged around it: the window centres up to two levels from the mass.
    names = level_names()
    mass_level = fixed.get("mass_level", draws["mass_level"])
    if not fixed.get("healthy", draws["healthy"]) and "window_centre" not in fixed:
        centre = names.index(mass_level) + int(rng.integers(-2, 3))
        draws["window_centre"] = names[int(np.clip(centre, 1, len(names) - 3))]
    if fixed.get("orientation", draws["orientation"]) == "axial" and "thickness_mm" not in fixed:
        draws["thickness_mm"] = float(rng.uniform(2.0, 4.0))  # axial stacks of thin slices would not cover the levels
    unknown = set(fixed) - set(draws)
    if unknown:
        raise TypeError(f"unknown design factors: {sorted(unknown)}")
    draws.update(fixed)
    design = Design(**draws)
    _check(design)
    return design


def _check(design: Design) -> None:
    names = level_names()
    if any(name is not None and name not in names for name in (design.window_centre, design.mass_level, design.second_mass_level)):
        raise ValueError("window_centre, mass_level and second_mass_level must name levels C2-S3")
    if design.orientation not in ("sagittal", "axial"):
        raise ValueError(f"orientation {design.orientation!r}: sagittal or axial")
    if not (design.side is None or design.side in SIDES or design.side.startswith("paraspinal_")):
        raise ValueError(f"side {design.side!r}")
