"""A report with every overlay section, on the small two-sequence case, for the overlay and render tests.

Levels, compression and differential are made up; the level points lie in the small case's
mid-sagittal plane, in front of its cord block, where vertebral bodies would be.
"""

import numpy as np
from small_case import TISSUE_BLOCKS, grid_for

from EMHAssistLib import CAVEAT
from EMHAssistLib.geometry import Box, Labelmap, voxel_indices

VERTEBRAE = [
    {"name": "T5", "code": 12, "centre": [0.0, 16.0, 30.0]},
    {"name": "T6", "code": 13, "centre": [0.0, 16.0, 10.0]},
    {"name": "T7", "code": 14, "centre": [0.0, 16.0, -10.0]},
    {"name": "T8", "code": 15, "centre": [0.0, 16.0, -30.0]},
]
# As the differential reports it: `weight` is the log likelihood ratio, `supports` its sign,
# `finding` the finding with its measured value, `text` that finding with its meaning.
EVIDENCE_FOR_EMH = [
    {"feature": "marrow_brighter_than_muscle_T1", "value": 1.3, "supports": True, "weight": 0.69,
     "finding": "Marrow brighter than muscle on T1 (ratio 1.30)",
     "text": "Marrow brighter than muscle on T1 (ratio 1.30): hyperplastic red marrow.", "refs": ["carroll1997"]},
    {"feature": "mass_hypointense_to_cord_T2", "value": 0.3, "supports": True, "weight": 1.39,
     "finding": "Mass markedly hypointense to cord on T2 (ratio 0.30)",
     "text": "Mass markedly hypointense to cord on T2 (ratio 0.30): iron-laden haematopoietic tissue.",
     "refs": ["seed000"]},
    {"feature": "fever", "value": True, "supports": False, "weight": -2.3,
     "finding": "Fever (present)", "text": "Fever (present): raises the odds of an abscess.", "refs": []},
]
REPORT = {
    "case": "small",
    "caveat": CAVEAT,
    "levels": {
        "vertebrae": VERTEBRAE,
        "mass": {"from": "T5", "to": "T8"},
        "compression": {"from": "T5", "to": "T6", "max_mscc_percent": 41.2, "at": "T6"},
        "cord_profile": [
            {"level": "T5", "mscc_percent": 22.4},
            {"level": "T6", "mscc_percent": 39.0},
            {"level": "T7", "mscc_percent": 3.1},
        ],
    },
    "differential": [
        {"id": "emh", "name": "Extramedullary hematopoiesis", "probability": 0.78, "evidence": EVIDENCE_FOR_EMH},
        {"id": "metastasis", "name": "Epidural metastasis", "probability": 0.12, "evidence": []},
        {"id": "lymphoma", "name": "Spinal epidural lymphoma", "probability": 0.06, "evidence": []},
        {"id": "abscess", "name": "Epidural abscess", "probability": 0.04, "evidence": []},
    ],
    "next_best": {"between": ["emh", "metastasis"], "text": "Add the ADC sequence: low ADC separates them."},
    "warnings": ["mass: only 24 T1 voxels; its ratios are unstable"],
}
BARE_REPORT = {"case": "small", "caveat": CAVEAT, "warnings": []}


def block_mask(region: str, role: str = "T2") -> Labelmap:
    """The tissue block of a region of the small case as a mask on that sequence's grid."""
    grid = grid_for(role)
    centre, size = TISSUE_BLOCKS[region]
    mask = np.zeros(grid.shape, dtype=bool)
    mask.flat[voxel_indices(grid, Box(np.array(centre), np.eye(3), np.array(size) / 2))] = True
    return Labelmap(grid, mask)


MASKS = {"mass_mask": block_mask("mass"), "cord_mask": block_mask("cord")}
