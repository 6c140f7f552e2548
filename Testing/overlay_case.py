"""A report with every overlay section, on the small two-sequence case, for the overlay and render tests.

Levels, compression and differential are made up; the level points lie in the small case's
mid-sagittal plane, in front of its cord block, where vertebral bodies would be.
"""

import numpy as np
from golden_outputs import golden_report
from small_case import TISSUE_BLOCKS, grid_for

from EMHAssistLib import CAVEAT
from EMHAssistLib.geometry import Box, Labelmap, voxel_indices

VERTEBRAE = [
    {"name": "T5", "code": 12, "centre": [0.0, 16.0, 30.0], "source": "user"},
    {"name": "T6", "code": 13, "centre": [0.0, 16.0, 10.0], "source": "user"},
    {"name": "T7", "code": 14, "centre": [0.0, 16.0, -10.0], "source": "user"},
    {"name": "T8", "code": 15, "centre": [0.0, 16.0, -30.0], "source": "user"},
]
# As the differential reports it: `weight` is the log likelihood ratio, `supports` its sign,
# `finding` the finding with its measured value, `text` that finding with its meaning.
_EVIDENCE = {"state": "present", "lr": 2.0, "kind": "expert", "basis": "made up for the overlay tests", "rule": "made up"}
EVIDENCE_FOR_EMH = [
    _EVIDENCE | {"feature": "marrow_brighter_than_muscle_T1", "value": 1.3, "supports": True, "weight": 0.69,
     "finding": "Marrow brighter than muscle on T1 (ratio 1.30)",
     "text": "Marrow brighter than muscle on T1 (ratio 1.30): hyperplastic red marrow.", "refs": ["carroll1997"]},
    _EVIDENCE | {"feature": "mass_hypointense_to_cord_T2", "value": 0.3, "supports": True, "weight": 1.39,
     "finding": "Mass markedly hypointense to cord on T2 (ratio 0.30)",
     "text": "Mass markedly hypointense to cord on T2 (ratio 0.30): iron-laden haematopoietic tissue.",
     "refs": ["seed000"]},
    _EVIDENCE | {"feature": "fever", "value": True, "supports": False, "weight": -2.3, "lr": 0.1,
     "finding": "Fever (present)", "text": "Fever (present): raises the odds of an abscess.", "refs": []},
]


def compression(from_: str | None, to: str | None, at: str | None, mscc: float) -> dict:
    """A compression section stating MSCC alone (the other measures not taken)."""
    return {
        "from": from_, "to": to, "max_mscc_percent": mscc, "at": at, "area_ratio_percent": None, "rl_ratio_percent": None,
        "normalised_mscc_percent": None, "normalised_mscc_interval_percent": None,
        "normalised_mscc_unavailable": None, "normalised_mscc_unavailable_code": None, "shown_by": ["MSCC"],
    }


def profile_entry(level: str, code: int, mscc: float) -> dict:
    return {"level": level, "code": code, "slices": 5, "area_mm2": None, "ap_mm": None, "rl_mm": None, "min_ap_mm": None,
            "mscc_percent": mscc, "normalised_ratio": None, "assessed": True}


def diagnosis(id_: str, name: str, probability: float, evidence: list[dict]) -> dict:
    return {"id": id_, "name": name, "summary": "", "probability": probability, "prior": 0.25, "prior_factors": [], "evidence": evidence}


LEVELS = {
    "vertebrae": VERTEBRAE,
    "coordinate_system": "RAS",
    "not_assessed": None,
    "mass": {"from": "T5", "to": "T8", "spans": [{"from": "T5", "to": "T8"}]},
    "compression": compression("T5", "T6", "T6", 41.2),
    "cord_profile": [profile_entry("T5", 12, 22.4), profile_entry("T6", 13, 39.0), profile_entry("T7", 14, 3.1)],
    "cord": {"sequence": "T2", "segmentation": "given", "slices": 40},
    "bilsky": None,
}
_NEXT_BEST = {"between": ["emh", "metastasis"], "imaging": None, "test": None, "fallback": None}
REPORT = golden_report(
    case="small",
    caveat=CAVEAT,
    levels=LEVELS,
    differential=[
        diagnosis("emh", "Extramedullary hematopoiesis", 0.78, EVIDENCE_FOR_EMH),
        diagnosis("metastasis", "Epidural metastasis", 0.12, []),
        diagnosis("lymphoma", "Spinal epidural lymphoma", 0.06, []),
        diagnosis("abscess", "Epidural abscess", 0.04, []),
    ],
    next_best=_NEXT_BEST | {"text": "Add the ADC sequence: low ADC separates them."},
    warnings=["mass: only 24 T1 voxels; its ratios are unstable"],
)
# A report with no section to draw: no levels, no differential, nothing to say next.
BARE_REPORT = golden_report(case="small", caveat=CAVEAT, levels=None, differential=[], next_best=_NEXT_BEST | {"text": ""}, warnings=[])


def block_mask(region: str, role: str = "T2") -> Labelmap:
    """The tissue block of a region of the small case as a mask on that sequence's grid."""
    grid = grid_for(role)
    centre, size = TISSUE_BLOCKS[region]
    mask = np.zeros(grid.shape, dtype=bool)
    mask.flat[voxel_indices(grid, Box(np.array(centre), np.eye(3), np.array(size) / 2))] = True
    return Labelmap(grid, mask)


MASKS = {"mass_mask": block_mask("mass"), "cord_mask": block_mask("cord")}
