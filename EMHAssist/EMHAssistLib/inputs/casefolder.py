"""Case folders in Slicer's own formats, read into MRML nodes (outputs/case_folder.py writes them).

A folder holds what a Slicer user writes with Save Data: volumes named by sequence role
(`T2.nrrd`, `t1c.nii.gz`, or a `T2/` folder of one DICOM series), markups ROI files
`<region>.mrk.json` / `<region>-2.mrk.json`, a segmentation `regions.seg.nrrd` whose segment
names are region names, a point list `levels.mrk.json` and an optional `clinical.json`.
"""

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import slicer

from ..errors import InputError
from ..geometry import Grid
from ..limits import limits
from ..report_model import Clinical
from ..settings import vocabulary
from .clinical import clinical_context
from .confine import case_file, case_folder, case_root
from .dicom import read_dicom_folder
from .headers import check_budget, check_image_header
from .jsonfile import read_json_file
from .markupsfile import check_markups
from .nodes import check_value_range, check_volume_geometry, grid_of_volume, vtk_matrix
from .noise import caught_messages
from .roles import role_of_name
from .study import RegionSource, Study, drop_far_level_points, overlap_warnings, region_names, segment_sources

SEGMENTATION_FILE = "regions.seg.nrrd"
LEVELS_FILE = "levels.mrk.json"
CLINICAL_FILE = "clinical.json"
# A DICOM series' slice headers (patient, study, series and instance identifiers), kept as JSON on
# its volume node so a DICOM Structured Report can cite the very instances that were measured.
DICOM_HEADERS_ATTRIBUTE = "EMHAssist.dicomHeaders"
# The folder a DICOM series was read from: its volume has no storage node to name it.
SOURCE_FOLDER_ATTRIBUTE = "EMHAssist.sourceFolder"
DICOM_HEADER_TAGS = {
    "0008|0016": "SOPClassUID",
    "0008|0018": "SOPInstanceUID",
    "0020|000d": "StudyInstanceUID",
    "0020|000e": "SeriesInstanceUID",
    "0010|0010": "PatientName",
    "0010|0020": "PatientID",
    "0010|0030": "PatientBirthDate",
    "0010|0040": "PatientSex",
    "0008|0020": "StudyDate",
    "0008|0030": "StudyTime",
    "0008|0050": "AccessionNumber",
    "0008|0090": "ReferringPhysicianName",
    "0020|0010": "StudyID",
    "0008|0060": "Modality",
}
_UNREADABLE_IMAGE = "is not a readable image file (corrupt or unknown format)"
_UNREADABLE_SEGMENTATION = "is not a readable segmentation file (corrupt or truncated)"


def load_case_folder(folder: Path, scene: slicer.vtkMRMLScene) -> Study:
    """The study a case folder holds. It reads only regular files inside the folder (links and
    data files leading out of it are refused, FIFOs and devices refused before they are opened),
    within the memory budget of data/limits.json; what it reads but doubts is in `study.warnings`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(str(folder), "is not a case folder")
    with caught_messages() as messages:
        study = _read_case_folder(folder, scene)
    study.warnings.extend(f"{folder.name}: an image reader reported: {message}" for message in messages)
    return study


def _read_case_folder(folder: Path, scene: slicer.vtkMRMLScene) -> Study:
    case = CaseReading(case_root(folder))
    study = Study(name=folder.name, warnings=case.warnings)
    for role, path in _sequence_paths(folder).items():
        study.sequences[role] = read_volume(path, role, scene, case)
    for region, paths in _roi_paths(folder, case.warnings).items():
        study.regions.setdefault(region, []).extend(RegionSource(read_roi(path, scene, case)) for path in paths)
    if _present(folder / SEGMENTATION_FILE):
        for region, source in _segment_sources(folder / SEGMENTATION_FILE, scene, case):
            study.regions.setdefault(region, []).append(source)
    if _present(folder / LEVELS_FILE):
        study.levels = read_point_list(folder / LEVELS_FILE, scene, case)
        drop_far_level_points(study, LEVELS_FILE)
    study.clinical = _read_clinical(folder, case)
    return study


def read_clinical(folder: Path) -> Clinical:
    """A case folder's clinical context as the loader reads it (none stated without a clinical.json), for a
    caller that needs it before the case is loaded (serve checks the patient of an earlier exam)."""
    return _read_clinical(Path(folder), CaseReading(case_root(Path(folder))))


def _read_clinical(folder: Path, case: "CaseReading") -> Clinical:
    if not _present(folder / CLINICAL_FILE):
        return Clinical()
    return clinical_context(read_json(folder / CLINICAL_FILE, case), subject=str(folder / CLINICAL_FILE))


@dataclass
class CaseReading:
    """What reading one case folder keeps track of: the folder every file must stay in, the bytes
    of voxels read so far against the case's budget, and the warnings about what was read."""

    root: Path
    image_bytes: int = 0
    warnings: list[str] = field(default_factory=list)

    def file(self, path: Path) -> Path:
        """`path` checked before it is opened: a regular file inside the case, or a dangling link
        (left for the reader to name as unreadable). The path stays as given, so messages name
        the file as the user knows it."""
        case_file(path, self.root)
        return path

    def account(self, path: Path, nbytes: int) -> None:
        check_budget(path, nbytes)
        self.image_bytes += nbytes
        limit = limits().case_bytes_max
        if self.image_bytes > limit:
            raise InputError(
                str(path), f"brings the case's images to {self.image_bytes / (1 << 20):,.0f} MiB, over the {limit / (1 << 20):,.0f} MiB budget for one case (data/limits.json)"
            )


def _present(path: Path) -> bool:
    """A name in the folder, whatever it is (a FIFO or a dangling link must be refused, not missed)."""
    return path.is_symlink() or path.exists()


def read_volume(path: Path, role: str, scene: slicer.vtkMRMLScene, case: CaseReading | None = None) -> slicer.vtkMRMLScalarVolumeNode:
    """A volume file or a DICOM folder; read on its own (no `case`), confined to the folder it lies in."""
    case = case or CaseReading(case_root(path.parent))
    if path.is_dir():
        case_folder(path, case.root)
        return _read_dicom_series(path, role, scene, case)
    _check_image_file(case.file(path), case)
    volume = _read_node(scene, path, role, "vtkMRMLScalarVolumeNode", "vtkMRMLVolumeArchetypeStorageNode", "could not be read as a volume")
    check_value_range(str(path), slicer.util.arrayFromVolume(volume))
    check_volume_geometry(str(path), grid_of_volume(volume))
    return volume


def read_roi(path: Path, scene: slicer.vtkMRMLScene, case: CaseReading | None = None) -> slicer.vtkMRMLMarkupsROINode:
    check_markups(path, read_json(path, case or CaseReading(case_root(path.parent))), "ROI")
    name = path.name.removesuffix(".mrk.json")
    return _read_node(scene, path, name, "vtkMRMLMarkupsROINode", "vtkMRMLMarkupsROIJsonStorageNode", "is not a markups ROI file")


def read_point_list(path: Path, scene: slicer.vtkMRMLScene, case: CaseReading | None = None) -> slicer.vtkMRMLMarkupsFiducialNode:
    check_markups(path, read_json(path, case or CaseReading(case_root(path.parent))), "Fiducial")
    name = path.name.removesuffix(".mrk.json")
    return _read_node(scene, path, name, "vtkMRMLMarkupsFiducialNode", "vtkMRMLMarkupsJsonStorageNode", "is not a markups point list file")


def _read_node(scene: slicer.vtkMRMLScene, path: Path, name: str, node_class: str, storage_class: str, problem: str) -> slicer.vtkMRMLNode:
    """A node read from `path` through its storage node; on failure neither is left in the scene."""
    node = scene.AddNewNodeByClass(node_class, name)
    storage = scene.AddNewNodeByClass(storage_class)
    storage.SetFileName(str(path))
    if storage.IsA("vtkMRMLVolumeArchetypeStorageNode"):
        # One file is one volume: otherwise the archetype reader takes a single-slice volume for
        # one slice of a numbered series (T1, T2, ...) and, finding the folder's other volumes, fails.
        storage.SetSingleFile(1)
    node.SetAndObserveStorageNodeID(storage.GetID())
    if not storage.ReadData(node):
        _remove(scene, node, storage)
        raise InputError(str(path), problem)
    return node


def read_json(path: Path, case: CaseReading) -> dict:
    content = read_json_file(case.file(path))
    if not isinstance(content, dict):
        raise InputError(str(path), "must hold a JSON object")
    return content


def _sequence_paths(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        stem = path.name if path.is_dir() else _volume_stem(path.name)
        role = role_of_name(stem) if stem is not None else None
        if role is None:
            continue
        if role in found:
            raise InputError(str(path), f"a second {role} volume; {found[role].name} is already the {role}")
        found[role] = path
    return found


def _volume_stem(filename: str) -> str | None:
    lower = filename.lower()
    for extension in sorted(vocabulary().volume_extensions, key=len, reverse=True):
        if lower.endswith(extension):
            return lower.removesuffix(extension)
    return None


def _roi_paths(folder: Path, warnings: list[str]) -> dict[str, list[Path]]:
    """The ROI files of each region (`mass.mrk.json`, `mass-2.mrk.json`, ...). A markups file named after a
    region in another way (`mass_T2.mrk.json`, `mass T1.mrk.json`: one ROI per sequence) is not read, with a
    warning: left out without a word, the region was measured without it, or said to be missing."""
    regions = "|".join(region_names())
    pattern = re.compile(rf"^({regions})(-\d+)?\.mrk\.json$", re.IGNORECASE)
    named_like = re.compile(rf"^({regions})(?![a-z])", re.IGNORECASE)
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*.mrk.json")):
        match = pattern.match(path.name)
        if match:
            found.setdefault(match.group(1).lower(), []).append(path)
        elif like := named_like.match(path.name):
            region = like.group(1).lower()
            warnings.append(f"{path.name}: not read; a {region} ROI file is named {region}.mrk.json, or {region}-2.mrk.json, {region}-3.mrk.json, ... for more than one")
    return found


def _segment_sources(path: Path, scene: slicer.vtkMRMLScene, case: CaseReading) -> list[tuple[str, RegionSource]]:
    _check_segmentation_file(case.file(path), case)
    segmentation = _read_node(
        scene, path, "regions", "vtkMRMLSegmentationNode", "vtkMRMLSegmentationStorageNode", "could not be read as a segmentation"
    )
    try:
        by_region = segment_sources(segmentation)
    except InputError as error:
        raise InputError(str(path), error.problem) from None
    case.warnings.extend(overlap_warnings(by_region, path.name))
    return [(region, source) for region, sources in by_region.items() for source in sources]


def _check_image_file(path: Path, case: CaseReading) -> None:
    reader = _image_information(path, case, _UNREADABLE_IMAGE)
    _check_sequence_shape(str(path), reader.GetDimension(), reader.GetNumberOfComponents())


def _check_segmentation_file(path: Path, case: CaseReading) -> None:
    """Slicer's segmentation reader aborts the whole process on a corrupt or truncated file, so
    the file is read through SimpleITK first, where a bad file is only an error."""
    _image_information(path, case, _UNREADABLE_SEGMENTATION)
    try:
        sitk.ReadImage(str(path))
    except RuntimeError:
        raise InputError(str(path), _UNREADABLE_SEGMENTATION) from None


def _image_information(path: Path, case: CaseReading, unreadable: str) -> sitk.ImageFileReader:
    """A reader holding the header of the image file `path`, once the header's own checks passed
    (data files inside the case, data complete, voxel size a number) and its voxels fit the
    budget; nothing of the voxels is read yet."""
    try:
        payload = check_image_header(path, case.root, unreadable)
    except OSError:
        payload = None  # unreadable: ITK's reader below names it so
    if payload is not None:
        case.warnings.extend(payload.warnings)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        raise InputError(str(path), unreadable) from None
    case.account(path, math.prod(reader.GetSize()) * reader.GetNumberOfComponents() * _component_bytes(reader.GetPixelID()))
    if payload is not None and payload.spacing is not None:
        _check_spacing_taken(path, payload.spacing, reader.GetSpacing())
    return reader


def _check_spacing_taken(path: Path, written: tuple[float, ...], taken: tuple[float, ...]) -> None:
    """ITK replaces a voxel size it cannot take (1e300, or 0 along an axis) by 1 mm without a word."""
    if len(written) != len(taken) or not np.allclose(written, taken, rtol=1e-6, atol=0.0):
        shown = ", ".join(f"{size:g}" for size in written)
        raise InputError(str(path), f"its header gives voxel size ({shown}) mm, which the image reader cannot take; the geometry is unknown")


def _component_bytes(pixel_id: int) -> int:
    """Bytes of one component of a SimpleITK pixel type, from its name ("32-bit float", "vector
    of 16-bit signed integer", "64-bit complex" ...)."""
    name = sitk.GetPixelIDValueAsString(pixel_id)
    bits = re.search(r"(\d+)-bit", name)
    size = int(bits.group(1)) // 8 if bits else 8
    return size * (2 if name.startswith("complex") else 1)


def _check_sequence_shape(subject: str, dimension: int, components: int) -> None:
    if dimension != 3:
        raise InputError(subject, f"is a {dimension}-D image; a sequence must be a 3-D volume")
    if components != 1:
        raise InputError(subject, f"has {components} components per voxel; a sequence must be a scalar volume")


def _read_dicom_series(folder: Path, role: str, scene: slicer.vtkMRMLScene, case: CaseReading) -> slicer.vtkMRMLScalarVolumeNode:
    dicom = read_dicom_folder(folder, role, case.root, list(DICOM_HEADER_TAGS.values()))
    case.account(folder, dicom.voxels.nbytes)
    check_value_range(str(folder), dicom.voxels)
    check_volume_geometry(str(folder), Grid(dicom.voxels.shape, dicom.ijk_to_ras))
    case.warnings.extend(dicom.warnings)
    # Read into a new volume as _read_node reads a file through its storage node: inputs make a node
    # only to hold what they read (Testing/test_layers.py).
    volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", role)
    slicer.util.updateVolumeFromArray(volume, dicom.voxels)
    volume.SetIJKToRASMatrix(vtk_matrix(dicom.ijk_to_ras))
    volume.SetAttribute(DICOM_HEADERS_ATTRIBUTE, json.dumps(dicom.headers))
    volume.SetAttribute(SOURCE_FOLDER_ATTRIBUTE, str(folder))
    return volume


def source_of(volume: slicer.vtkMRMLScalarVolumeNode) -> str:
    """Where a sequence was read from, as the case folder's path was given: its file, or its DICOM
    series' folder; a volume made in the scene, by its node name."""
    storage = volume.GetStorageNode()
    if storage is not None and storage.GetFileName():
        return storage.GetFileName()
    return volume.GetAttribute(SOURCE_FOLDER_ATTRIBUTE) or volume.GetName()


def _remove(scene: slicer.vtkMRMLScene, *nodes: slicer.vtkMRMLNode) -> None:
    for node in nodes:
        scene.RemoveNode(node)
