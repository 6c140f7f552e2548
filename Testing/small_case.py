"""A small two-sequence case with known region values, written as a Slicer case folder.

Tissue values are constants per region and sequence (plus optional Gaussian noise), so every
statistic and ratio has an exact expected value. T1 and T2 use different, oblique grids.
"""

from pathlib import Path

import numpy as np
import slicer

from EMHAssistLib.geometry import Box, Grid
from EMHAssistLib.outputs.case_folder import save_case_folder
from EMHAssistLib.outputs.scene_writing import set_roi_box, set_volume_geometry
from EMHAssistLib.inputs.study import RegionSource, Study
from EMHAssistLib.report_model import Clinical

BACKGROUND = 50.0
VALUES = {
    "T1": {"cord": 400.0, "mass": 420.0, "marrow": 520.0, "muscle": 400.0, "disc": 380.0},
    "T2": {"cord": 500.0, "mass": 150.0, "marrow": 300.0, "muscle": 250.0, "disc": 700.0},
    "T1C": {"cord": 410.0, "mass": 588.0, "marrow": 560.0, "muscle": 410.0, "disc": 400.0},
}
# Each tissue block is larger than its ROI so every ROI voxel is pure tissue on every grid.
TISSUE_BLOCKS = {
    "cord": ((0.0, 0.0, 10.0), (10.0, 10.0, 24.0)),
    "mass": ((0.0, -14.0, 10.0), (12.0, 10.0, 24.0)),
    "marrow": ((0.0, 16.0, -14.0), (20.0, 16.0, 16.0)),
    "muscle": ((-20.0, -14.0, -14.0), (12.0, 12.0, 20.0)),
    "disc": ((0.0, 16.0, -32.0), (20.0, 16.0, 14.0)),
}
ROI_SIZE = (5.0, 5.0, 12.0)


def rotation_about(axis: int, degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    a, b = [n for n in range(3) if n != axis]
    matrix = np.eye(3)
    matrix[a, a], matrix[a, b], matrix[b, a], matrix[b, b] = c, -s, s, c
    return matrix


GRIDS = {
    "T1": (np.diag([0.9, 0.9, 3.0]), (56, 70, 70), 0.0),
    "T2": (rotation_about(0, 12.0) @ np.diag([0.7, 0.7, 1.2]), (70, 90, 90), 12.0),
    "T1C": (np.diag([0.9, 0.9, 3.0]), (56, 70, 70), 0.0),
}


def grid_for(role: str) -> Grid:
    linear, shape, _ = GRIDS[role]
    matrix = np.eye(4)
    matrix[:3, :3] = linear
    centre_ijk = (np.array(shape[::-1]) - 1) / 2
    matrix[:3, 3] = -linear @ centre_ijk
    return Grid(shape, matrix)


def tissue_image(role: str, noise_sd: float, rng: np.random.Generator) -> np.ndarray:
    grid = grid_for(role)
    k, j, i = np.meshgrid(*(np.arange(n) for n in grid.shape), indexing="ij")
    points = grid.to_world(np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1).astype(float))
    image = np.full(len(points), BACKGROUND)
    for region, (centre, size) in TISSUE_BLOCKS.items():
        inside = np.all(np.abs(points - centre) <= np.array(size) / 2, axis=1)
        image[inside] = VALUES[role][region]
    image = image + rng.normal(0, noise_sd, image.shape) if noise_sd else image
    return image.reshape(grid.shape).astype(np.float32)


def roi_box(region: str) -> Box:
    centre, _ = TISSUE_BLOCKS[region]
    return Box(np.array(centre), np.eye(3), np.array(ROI_SIZE) / 2)


def small_study(scene: slicer.vtkMRMLScene, roles=("T1", "T2", "T1C"), noise_sd: float = 0.0, seed: int = 1) -> Study:
    rng = np.random.default_rng(seed)
    study = Study(name="small", clinical=Clinical(age=40, sex="female", conditions=(), findings=()))
    for role in roles:
        volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", role)
        slicer.util.updateVolumeFromArray(volume, tissue_image(role, noise_sd, rng))
        set_volume_geometry(volume, grid_for(role).ijk_to_world)
        study.sequences[role] = volume
    for region in TISSUE_BLOCKS:
        roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", region)
        set_roi_box(roi, roi_box(region))
        study.regions[region] = [RegionSource(roi)]
    return study


def write_small_case(folder: Path, scene: slicer.vtkMRMLScene, **options) -> Path:
    save_case_folder(small_study(scene, **options), folder)
    return folder
