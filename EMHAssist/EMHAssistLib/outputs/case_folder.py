"""A case in a scene written as a case folder in Slicer's own formats, as Save Data writes it, for
inputs/casefolder.py to read back: volumes by sequence role, ROI files by region, the segmentation,
the level points and, when given, the clinical context."""

import json
from pathlib import Path

import slicer

from ..errors import InputError
from ..inputs.casefolder import CLINICAL_FILE, LEVELS_FILE, SEGMENTATION_FILE
from ..inputs.study import Study
from ..report_codec import plain_value
from ..report_model import Clinical


def save_case_folder(study: Study, folder: Path) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for role, volume in study.sequences.items():
        write_node_file(volume, "vtkMRMLVolumeArchetypeStorageNode", folder / f"{role}.nrrd")
    written_segmentations = set()
    for region, sources in study.regions.items():
        rois = [source.node for source in sources if source.segment_id is None]
        for index, roi in enumerate(rois, start=1):
            name = region if index == 1 else f"{region}-{index}"
            write_node_file(roi, "vtkMRMLMarkupsROIJsonStorageNode", folder / f"{name}.mrk.json")
        for source in sources:
            if source.segment_id is not None and source.node.GetID() not in written_segmentations:
                write_node_file(source.node, "vtkMRMLSegmentationStorageNode", folder / SEGMENTATION_FILE)
                written_segmentations.add(source.node.GetID())
    if study.levels is not None:
        write_node_file(study.levels, "vtkMRMLMarkupsJsonStorageNode", folder / LEVELS_FILE)
    if study.clinical != Clinical():
        (folder / CLINICAL_FILE).write_text(json.dumps(plain_value(study.clinical), indent=2) + "\n", encoding="utf-8")


def write_node_file(node: slicer.vtkMRMLNode, storage_class: str, path: Path) -> None:
    """`node` saved to `path` through a storage node of `storage_class`, which is removed again; a
    volume compressed, as Save Data writes it."""
    scene = node.GetScene()
    storage = scene.AddNewNodeByClass(storage_class)
    storage.SetFileName(str(path))
    if storage_class == "vtkMRMLVolumeArchetypeStorageNode":
        storage.SetUseCompression(1)
    ok = storage.WriteData(node)
    scene.RemoveNode(storage)
    if not ok:
        raise InputError(str(path), f"could not write {node.GetName()}")
