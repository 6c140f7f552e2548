"""Built-in teaching cases: synthetic studies placed into an MRML scene as a user would have them."""

import numpy as np
import slicer

from ..geometry import Box
from ..inputs.clinical import clinical_context
from ..outputs.scene_writing import ListedPoint, new_point_list, new_roi, new_volume
from ..inputs.study import RegionSource, Study
from .phantom import BoxSpec, CaseInfo, SyntheticStudy, build_study, case_info, case_names, case_rois

DEFAULT_CASE = "mds_t5_t8"

__all__ = ["DEFAULT_CASE", "CaseInfo", "box_of_spec", "build_study", "case_info", "case_names", "case_rois", "study_into_scene"]


def study_into_scene(synthetic: SyntheticStudy, scene: slicer.vtkMRMLScene) -> Study:
    """Volumes, ROI nodes and level points of a synthetic study, added to `scene`."""
    study = Study(name=synthetic.name, clinical=clinical_context(synthetic.clinical, subject=f"{synthetic.name}: clinical context"))
    for role, sequence in synthetic.sequences.items():
        study.sequences[role] = new_volume(scene, role, sequence.image, sequence.ijk_to_ras)
    for region, specs in synthetic.rois.items():
        study.regions[region] = [
            RegionSource(new_roi(scene, region if index == 1 else f"{region}-{index}", box_of_spec(spec)))
            for index, spec in enumerate(specs, start=1)
        ]
    study.levels = new_point_list(scene, "levels", [ListedPoint(label, centre) for label, centre in synthetic.level_centres.items()])
    return study


def box_of_spec(spec: BoxSpec) -> Box:
    return Box(np.array(spec.center, float), np.array(spec.axes, float).T, np.array(spec.size, float) / 2)
