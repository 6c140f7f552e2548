"""Built-in teaching cases: synthetic studies placed into an MRML scene as a user would have them."""

import numpy as np
import slicer

from ..geometry import Box
from ..inputs.clinical import clinical_context
from ..inputs.nodes import set_roi_box, set_volume_geometry
from ..inputs.study import RegionSource, Study
from .phantom import BoxSpec, CaseInfo, SyntheticStudy, build_study, case_info, case_names, case_rois

DEFAULT_CASE = "mds_t5_t8"

__all__ = ["DEFAULT_CASE", "CaseInfo", "box_of_spec", "build_study", "case_info", "case_names", "case_rois", "study_into_scene"]


def study_into_scene(synthetic: SyntheticStudy, scene: slicer.vtkMRMLScene) -> Study:
    """Volumes, ROI nodes and level points of a synthetic study, added to `scene`."""
    study = Study(name=synthetic.name, clinical=clinical_context(synthetic.clinical, subject=f"{synthetic.name}: clinical context"))
    for role, sequence in synthetic.sequences.items():
        volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", role)
        slicer.util.updateVolumeFromArray(volume, sequence.image)
        set_volume_geometry(volume, sequence.ijk_to_ras)
        study.sequences[role] = volume
    for region, specs in synthetic.rois.items():
        study.regions[region] = [
            RegionSource(_roi_node(scene, region if index == 1 else f"{region}-{index}", spec))
            for index, spec in enumerate(specs, start=1)
        ]
    study.levels = _level_points(scene, synthetic.level_centres)
    return study


def box_of_spec(spec: BoxSpec) -> Box:
    return Box(np.array(spec.center, float), np.array(spec.axes, float).T, np.array(spec.size, float) / 2)


def _roi_node(scene: slicer.vtkMRMLScene, name: str, spec: BoxSpec) -> slicer.vtkMRMLMarkupsROINode:
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", name)
    set_roi_box(roi, box_of_spec(spec))
    return roi


def _level_points(scene: slicer.vtkMRMLScene, centres: dict[str, tuple[float, float, float]]) -> slicer.vtkMRMLMarkupsFiducialNode:
    points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "levels")
    for name, centre in centres.items():
        points.AddControlPoint(*centre, name)
    return points
