"""Case folders in Slicer's own formats, read into and written from MRML nodes.

A folder holds what a Slicer user writes with Save Data: volumes named by sequence role
(`T2.nrrd`, `t1c.nii.gz`, or a `T2/` folder of one DICOM series), markups ROI files
`<region>.mrk.json` / `<region>-2.mrk.json`, a segmentation `regions.seg.nrrd` whose segment
names are region names, a point list `levels.mrk.json` and an optional `clinical.json`.
"""

import json
import re
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import slicer

from ..errors import InputError
from ..knowledge import load
from .clinical import validate_clinical
from .nodes import set_volume_geometry
from .roles import role_of_name
from .study import RegionSource, Study, region_names, segment_sources

SEGMENTATION_FILE = "regions.seg.nrrd"
LEVELS_FILE = "levels.mrk.json"
CLINICAL_FILE = "clinical.json"
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])
# A NRRD header longer than this is taken as damaged (real ones are a few hundred bytes; a
# segmentation's, with its segment metadata, a few kilobytes per segment).
_NRRD_HEADER_LIMIT = 1 << 20
# ITK's NRRD reader crashes on a field line of about a thousand characters (real fields are under
# two hundred); comments and key/value pairs may be longer.
_NRRD_FIELD_LIMIT = 512
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
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(str(folder), "is not a case folder")
    study = Study(name=folder.name)
    for role, path in _sequence_paths(folder).items():
        study.sequences[role] = read_volume(path, role, scene)
    for region, paths in _roi_paths(folder).items():
        study.regions.setdefault(region, []).extend(RegionSource(read_roi(path, scene)) for path in paths)
    if (folder / SEGMENTATION_FILE).exists():
        for region, source in _segment_sources(folder / SEGMENTATION_FILE, scene):
            study.regions.setdefault(region, []).append(source)
    if (folder / LEVELS_FILE).exists():
        study.levels = read_point_list(folder / LEVELS_FILE, scene)
    if (folder / CLINICAL_FILE).exists():
        study.clinical = validate_clinical(read_json(folder / CLINICAL_FILE), subject=str(folder / CLINICAL_FILE))
    return study


def save_case_folder(study: Study, folder: Path) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    scene = next(iter(study.sequences.values())).GetScene()
    for role, volume in study.sequences.items():
        _write(scene, "vtkMRMLVolumeArchetypeStorageNode", volume, folder / f"{role}.nrrd")
    written_segmentations = set()
    for region, sources in study.regions.items():
        rois = [source.node for source in sources if source.segment_id is None]
        for index, roi in enumerate(rois, start=1):
            name = region if index == 1 else f"{region}-{index}"
            _write(scene, "vtkMRMLMarkupsROIJsonStorageNode", roi, folder / f"{name}.mrk.json")
        for source in sources:
            if source.segment_id is not None and source.node.GetID() not in written_segmentations:
                _write(scene, "vtkMRMLSegmentationStorageNode", source.node, folder / SEGMENTATION_FILE)
                written_segmentations.add(source.node.GetID())
    if study.levels is not None:
        _write(scene, "vtkMRMLMarkupsJsonStorageNode", study.levels, folder / LEVELS_FILE)
    if study.clinical:
        (folder / CLINICAL_FILE).write_text(json.dumps(study.clinical, indent=2) + "\n", encoding="utf-8")


def read_volume(path: Path, role: str, scene: slicer.vtkMRMLScene) -> slicer.vtkMRMLScalarVolumeNode:
    if path.is_dir():
        return _read_dicom_series(path, role, scene)
    _check_image_file(path)
    return _read_node(scene, path, role, "vtkMRMLScalarVolumeNode", "vtkMRMLVolumeArchetypeStorageNode", "could not be read as a volume")


def read_roi(path: Path, scene: slicer.vtkMRMLScene) -> slicer.vtkMRMLMarkupsROINode:
    read_json(path)
    name = path.name.removesuffix(".mrk.json")
    return _read_node(scene, path, name, "vtkMRMLMarkupsROINode", "vtkMRMLMarkupsROIJsonStorageNode", "is not a markups ROI file")


def read_point_list(path: Path, scene: slicer.vtkMRMLScene) -> slicer.vtkMRMLMarkupsFiducialNode:
    read_json(path)
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


def read_json(path: Path) -> dict:
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(str(path), f"is not valid JSON ({error})") from None
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
    for extension in sorted(load("vocabulary")["volume_extensions"], key=len, reverse=True):
        if lower.endswith(extension):
            return lower.removesuffix(extension)
    return None


def _roi_paths(folder: Path) -> dict[str, list[Path]]:
    pattern = re.compile(rf"^({'|'.join(region_names())})(-\d+)?\.mrk\.json$", re.IGNORECASE)
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*.mrk.json")):
        match = pattern.match(path.name)
        if match:
            found.setdefault(match.group(1).lower(), []).append(path)
    return found


def _segment_sources(path: Path, scene: slicer.vtkMRMLScene) -> list[tuple[str, RegionSource]]:
    _check_segmentation_file(path)
    segmentation = _read_node(
        scene, path, "regions", "vtkMRMLSegmentationNode", "vtkMRMLSegmentationStorageNode", "could not be read as a segmentation"
    )
    try:
        by_region = segment_sources(segmentation)
    except InputError as error:
        raise InputError(str(path), error.problem) from None
    return [(region, source) for region, sources in by_region.items() for source in sources]


def _check_image_file(path: Path) -> None:
    _check_nrrd_header(path, _UNREADABLE_IMAGE)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        raise InputError(str(path), _UNREADABLE_IMAGE) from None
    _check_sequence_shape(str(path), reader.GetDimension(), reader.GetNumberOfComponents())


def _check_segmentation_file(path: Path) -> None:
    """Slicer's segmentation reader aborts the whole process on a corrupt or truncated file, so
    the file is read through SimpleITK first, where a bad file is only an error."""
    _check_nrrd_header(path, _UNREADABLE_SEGMENTATION)
    try:
        sitk.ReadImage(str(path))
    except RuntimeError:
        raise InputError(str(path), _UNREADABLE_SEGMENTATION) from None


def _check_nrrd_header(path: Path, problem: str) -> None:
    """ITK's NRRD reader (SimpleITK's and Slicer's alike) crashes the process on some damaged
    headers, such as a field line running on into the binary data, so a NRRD header must first
    read as lines of text. Files of other formats are left to the readers."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(_NRRD_HEADER_LIMIT)
    except OSError:
        return  # the image reader then names the file as unreadable
    if not head.startswith(b"NRRD000"):
        return
    header, blank, _ = head.replace(b"\r\n", b"\n").partition(b"\n\n")
    complete = blank or (path.name.lower().endswith(".nhdr") and len(head) < _NRRD_HEADER_LIMIT)
    try:
        lines = header.decode("utf-8").rstrip("\n").split("\n")
    except UnicodeDecodeError:
        lines = []
    if not complete or not lines or not all(_is_nrrd_header_line(line) for line in lines):
        raise InputError(str(path), problem)


def _is_nrrd_header_line(line: str) -> bool:
    """The magic, a comment, a key/value pair (`key:=value`) or a field (`name: value`) of
    reasonable length, as text."""
    if not line.replace("\t", " ").isprintable():
        return False
    if line.startswith(("NRRD000", "#")) or ":=" in line:
        return True
    return ":" in line and len(line) <= _NRRD_FIELD_LIMIT


def _check_sequence_shape(subject: str, dimension: int, components: int) -> None:
    if dimension != 3:
        raise InputError(subject, f"is a {dimension}-D image; a sequence must be a 3-D volume")
    if components != 1:
        raise InputError(subject, f"has {components} components per voxel; a sequence must be a scalar volume")


def _read_dicom_series(folder: Path, role: str, scene: slicer.vtkMRMLScene) -> slicer.vtkMRMLScalarVolumeNode:
    series = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    if len(series) != 1:
        raise InputError(str(folder), f"holds {len(series)} DICOM series; a sequence folder must hold exactly one")
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), series[0]))
    reader.MetaDataDictionaryArrayUpdateOn()  # each slice's header, for reports that cite the source images
    try:
        image = reader.Execute()
    except RuntimeError:
        raise InputError(str(folder), "DICOM series could not be read") from None
    _check_sequence_shape(str(folder), image.GetDimension(), image.GetNumberOfComponentsPerPixel())
    volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", role)
    slicer.util.updateVolumeFromArray(volume, sitk.GetArrayFromImage(image))
    set_volume_geometry(volume, _ijk_to_ras(image))
    volume.SetAttribute(DICOM_HEADERS_ATTRIBUTE, json.dumps(_dicom_headers(reader)))
    volume.SetAttribute(SOURCE_FOLDER_ATTRIBUTE, str(folder))
    return volume


def source_of(volume: slicer.vtkMRMLScalarVolumeNode) -> str:
    """Where a sequence was read from, as the case folder's path was given: its file, or its DICOM
    series' folder; a volume made in the scene, by its node name."""
    storage = volume.GetStorageNode()
    if storage is not None and storage.GetFileName():
        return storage.GetFileName()
    return volume.GetAttribute(SOURCE_FOLDER_ATTRIBUTE) or volume.GetName()


def _dicom_headers(reader: sitk.ImageSeriesReader) -> list[dict[str, str]]:
    """The identifying header fields of each slice read, by DICOM keyword, as the files spell them."""
    headers = []
    for index in range(len(reader.GetFileNames())):
        present = {tag for tag in DICOM_HEADER_TAGS if reader.HasMetaDataKey(index, tag)}
        headers.append({DICOM_HEADER_TAGS[tag]: reader.GetMetaData(index, tag).strip(" \x00") for tag in present})
    return headers


def _ijk_to_ras(image: sitk.Image) -> np.ndarray:
    direction = np.array(image.GetDirection()).reshape(3, 3)
    matrix = np.eye(4)
    matrix[:3, :3] = _LPS_TO_RAS @ direction @ np.diag(image.GetSpacing())
    matrix[:3, 3] = _LPS_TO_RAS @ np.array(image.GetOrigin())
    return matrix


def _write(scene: slicer.vtkMRMLScene, storage_class: str, node: slicer.vtkMRMLNode, path: Path) -> None:
    storage = scene.AddNewNodeByClass(storage_class)
    storage.SetFileName(str(path))
    if storage_class == "vtkMRMLVolumeArchetypeStorageNode":
        storage.SetUseCompression(1)
    ok = storage.WriteData(node)
    scene.RemoveNode(storage)
    if not ok:
        raise InputError(str(path), f"could not write {node.GetName()}")


def _remove(scene: slicer.vtkMRMLScene, *nodes: slicer.vtkMRMLNode) -> None:
    for node in nodes:
        scene.RemoveNode(node)
