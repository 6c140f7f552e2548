"""One generated case from a seed, and its case folder.

`generate(seed, **fixed)` makes the spine, its images and ROIs and the truth; `write_case(case,
folder)` writes what Slicer's Save Data would: `T2.nrrd`, `T1.nrrd`, one `<region>.mrk.json` per
ROI (slicer-core's vtkMRMLMarkupsROIJsonStorageNode, which stores LPS), `levels.mrk.json` (the
anchor points at the true body centroids, labelled) and `truth.json` (RAS, see truth.py).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .design import Design, sample_design
from .rois import RoiBox, anchor_levels, at_least_a_voxel, cord_roi, mass_rois, tissue_rois
from .scan import Grid, acquisition_grid, add_artefacts, render, signal_tables
from .spine import Spine, build_spine
from .truth import case_truth, cord_usable, in_field

TRUTH_FILE = "truth.json"


@dataclass
class Case:
    design: Design
    spine: Spine
    grid: Grid
    images: dict[str, np.ndarray]  # int16, numpy order (k, j, i)
    rois: list[RoiBox]
    anchors: list[str]
    truth: dict


def generate(seed: int, **fixed) -> Case:
    design = sample_design(seed, **fixed)
    spine = build_spine(design)
    grid = acquisition_grid(spine)
    images = add_artefacts(render(spine, grid, signal_tables(spine)), spine, grid)
    cord = cord_roi(spine, grid, cord_usable(spine, grid))
    mass_boxes = mass_rois(spine)
    masses = {id(roi): mass for roi, mass in zip(mass_boxes, spine.masses)}
    rois = at_least_a_voxel(([cord] if cord is not None else []) + mass_boxes + tissue_rois(spine, grid), grid)
    # A box whose centre the field does not hold is one nobody could draw (a muscle beside a
    # narrow field, a second mass site beyond its end): left out, and said so in the truth; a
    # mass left without its box is not in the truth's mass levels.
    outside = [roi for roi in rois if not in_field(grid, roi.center, 0.0)[0]]
    rois = [roi for roi in rois if all(roi is not gone for gone in outside)]
    truth = case_truth(spine, grid, unseen=[masses[id(roi)] for roi in outside if id(roi) in masses])
    anchors = anchor_levels(spine, grid, truth["vertebrae"])
    truth["design"] = design.to_dict()
    truth["anchors"] = anchors
    truth["rois_left_out"] = [roi.name for roi in outside]
    truth["rois"] = [{"name": roi.name, "center": roi.center.round(3).tolist(), "half_size": roi.half_size.round(3).tolist()} for roi in rois]
    truth["grid"] = {"shape_kji": list(grid.shape), "ijk_to_ras": grid.ijk_to_ras.round(6).tolist()}
    return Case(design, spine, grid, images, rois, anchors, truth)


def write_case(case: Case, folder: Path) -> Path:
    """The case folder, through slicer-core's own storage nodes (the project's case-folder writer)."""
    import slicer
    from EMHAssistLib.outputs.case_folder import save_case_folder
    from EMHAssistLib.outputs.scene_writing import set_roi_box, set_volume_geometry
    from EMHAssistLib.inputs.scene import new_headless_scene
    from EMHAssistLib.inputs.study import RegionSource, Study
    from EMHAssistLib.geometry import Box

    folder = Path(folder)
    scene = new_headless_scene()
    study = Study(name=folder.name)
    for role, image in case.images.items():
        volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", role)
        slicer.util.updateVolumeFromArray(volume, image)
        set_volume_geometry(volume, case.grid.ijk_to_ras)
        study.sequences[role] = volume
    for roi in case.rois:
        node = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", roi.name)
        set_roi_box(node, Box(center=roi.center, axes=np.eye(3), half_size=roi.half_size))
        study.regions.setdefault(roi.name, []).append(RegionSource(node))
    points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "levels")
    centroids = {v["name"]: v["centroid"] for v in case.truth["vertebrae"]}
    for name in case.anchors:
        points.AddControlPoint(*centroids[name], name)
    study.levels = points
    save_case_folder(study, folder)
    (folder / TRUTH_FILE).write_text(json.dumps(case.truth, indent=1) + "\n", encoding="utf-8")
    return folder
