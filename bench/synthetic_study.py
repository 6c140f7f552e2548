"""A four-sequence sagittal spine study of any in-plane size, built straight into an MRML scene.

The benchmarks need a study far larger than the built-in phantom's (512x512x200 int16 per
sequence), so this draws a simple analytic spine with numpy: vertebral bodies and discs, a canal
with CSF around the cord, a posterior epidural mass, paraspinal muscles and fat. Coordinates are
world RAS millimetres; each sagittal slice (one k) is drawn as a plane, so building never holds
more than one float plane per sequence besides the int16 volume itself.
"""

from dataclasses import dataclass

import numpy as np
import slicer

try:
    from EMHAssistLib.geometry import Box
except ImportError:  # a baseline engine from before the layer order (issue 16) keeps it in measurement/
    from EMHAssistLib.measurement.geometry import Box
from EMHAssistLib.outputs.scene_writing import set_roi_box, set_volume_geometry
from EMHAssistLib.inputs.study import RegionSource, Study

FIELD_OF_VIEW_MM = 320.0
SLICES = 200
SLICE_MM = 1.0
NOISE_SD = 15.0
ROLES = ("T1", "T2", "T1C", "STIR")

# Label of each tissue in the drawing, and its signal on each sequence.
TISSUES = ("air", "fat", "muscle", "marrow", "disc", "csf", "cord", "mass")
SIGNAL = {
    "T1": (0, 800, 350, 520, 380, 150, 400, 400),
    "T2": (0, 700, 250, 450, 900, 1200, 500, 150),
    "T1C": (0, 800, 360, 560, 400, 150, 410, 560),
    "STIR": (0, 50, 200, 200, 800, 1300, 450, 600),
}
# The T2 grid is tilted about the left-right axis and the STIR grid shifted by half a voxel, so
# regions are measured on grids that differ, as in a real study.
GRID_TILT_DEGREES = {"T1": 0.0, "T2": 4.0, "T1C": 0.0, "STIR": 0.0}
GRID_SHIFT_VOXELS = {"T1": 0.0, "T2": 0.0, "T1C": 0.0, "STIR": 0.5}

LEVEL_PITCH_MM, BODY_HEIGHT_MM = 26.0, 20.0
BODY_A_MM, BODY_HALF_WIDTH_MM = (10.0, 40.0), 20.0
CANAL_SEMI_MM, CORD_SEMI_MM, CORD_CENTRE_A_MM = (9.0, 8.0), (4.5, 3.5), 0.5  # (R, A) semi-axes
MASS_CENTRE_MM, MASS_SEMI_MM = (0.0, -6.0, 0.0), (7.0, 3.0, 30.0)
MUSCLE_A_MM, MUSCLE_R_MM = (-55.0, -10.0), (5.0, 45.0)
BODY_SEMI_MM, BODY_CENTRE_A_MM = (140.0, 90.0), -5.0


def level_centre_s(number: int) -> float:
    """Superior coordinate of thoracic body `number`'s centre; T7 sits at the study's centre."""
    return (7 - number) * LEVEL_PITCH_MM


def rotation_about_r(degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


REGION_BOXES = {
    "cord": (np.array([0.0, CORD_CENTRE_A_MM, level_centre_s(5)]), rotation_about_r(4.0), np.array([4.0, 3.0, 16.0])),
    "mass": (np.array(MASS_CENTRE_MM), np.eye(3), np.array([8.0, 3.0, 24.0])),
    "marrow": (np.array([0.0, 25.0, level_centre_s(8)]), np.eye(3), np.array([16.0, 16.0, 12.0])),
    "muscle": (np.array([-25.0, -30.0, level_centre_s(8)]), np.eye(3), np.array([15.0, 15.0, 15.0])),
    "disc": (np.array([0.0, 25.0, level_centre_s(8) - LEVEL_PITCH_MM / 2]), np.eye(3), np.array([14.0, 16.0, 3.0])),
}
CLINICAL = {
    "age": 79,
    "sex": "male",
    "conditions": ["myelodysplastic_syndrome", "chronic_anemia"],
    "findings": ["progressive_weakness"],
}



def study_clinical() -> object:
    """CLINICAL as the engine under test's Study holds it: checked once into a Clinical since issue 16's
    last part; the plain dict in a baseline engine from before."""
    if Study.__dataclass_fields__["clinical"].type is dict:
        return dict(CLINICAL)
    from EMHAssistLib.inputs.clinical import clinical_context

    return clinical_context(CLINICAL, subject="bench clinical context")


@dataclass(frozen=True)
class StudyGeometry:
    in_plane: int

    @property
    def shape(self) -> tuple[int, int, int]:
        return (SLICES, self.in_plane, self.in_plane)

    @property
    def voxel_bytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(np.int16).itemsize

    def ijk_to_world(self, role: str) -> np.ndarray:
        """Sagittal grid: i runs posterior, j inferior, k rightward; centred on the spine."""
        pixel = FIELD_OF_VIEW_MM / self.in_plane
        directions = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
        linear = rotation_about_r(GRID_TILT_DEGREES[role]) @ directions @ np.diag([pixel, pixel, SLICE_MM])
        centre_ijk = (np.array(self.shape[::-1]) - 1) / 2 - np.array([0.0, 0.0, GRID_SHIFT_VOXELS[role]])
        matrix = np.eye(4)
        matrix[:3, :3] = linear
        matrix[:3, 3] = -linear @ centre_ijk
        return matrix


def tissue_plane(r: float, a: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Tissue labels of one sagittal plane at right-left position `r` (world mm)."""
    labels = np.zeros(a.shape, dtype=np.uint8)
    inside_body = (r / BODY_SEMI_MM[0]) ** 2 + ((a - BODY_CENTRE_A_MM) / BODY_SEMI_MM[1]) ** 2 <= 1
    labels[inside_body] = TISSUES.index("fat")
    if MUSCLE_R_MM[0] <= abs(r) <= MUSCLE_R_MM[1]:
        labels[inside_body & (a >= MUSCLE_A_MM[0]) & (a <= MUSCLE_A_MM[1])] = TISSUES.index("muscle")
    if abs(r) <= BODY_HALF_WIDTH_MM:
        in_column = (a >= BODY_A_MM[0]) & (a <= BODY_A_MM[1])
        phase = np.mod(s + BODY_HEIGHT_MM / 2, LEVEL_PITCH_MM)
        labels[in_column] = TISSUES.index("disc")
        labels[in_column & (phase <= BODY_HEIGHT_MM)] = TISSUES.index("marrow")
    _paint_ellipse(labels, "csf", (r / CANAL_SEMI_MM[0]) ** 2 + (a / CANAL_SEMI_MM[1]) ** 2)
    mass = sum(((value - centre) / semi) ** 2 for value, centre, semi in zip((r, a, s), MASS_CENTRE_MM, MASS_SEMI_MM))
    _paint_ellipse(labels, "mass", mass)
    _paint_ellipse(labels, "cord", (r / CORD_SEMI_MM[0]) ** 2 + ((a - CORD_CENTRE_A_MM) / CORD_SEMI_MM[1]) ** 2)
    return labels


def _paint_ellipse(labels: np.ndarray, tissue: str, normalised_radius: np.ndarray | float) -> None:
    labels[np.broadcast_to(normalised_radius <= 1, labels.shape)] = TISSUES.index(tissue)


def sequence_voxels(geometry: StudyGeometry, role: str, rng: np.random.Generator) -> np.ndarray:
    matrix = geometry.ijk_to_world(role)
    nk, nj, ni = geometry.shape
    i, j = np.meshgrid(np.arange(ni, dtype=np.float64), np.arange(nj, dtype=np.float64), indexing="xy")
    signal = np.array(SIGNAL[role], dtype=np.float32)
    voxels = np.empty(geometry.shape, dtype=np.int16)
    for k in range(nk):
        world = [matrix[axis, 0] * i + matrix[axis, 1] * j + matrix[axis, 2] * k + matrix[axis, 3] for axis in range(3)]
        r = float(world[0][0, 0])  # tilts are about R, so R is constant within a sagittal slice
        plane = signal[tissue_plane(r, world[1], world[2])]
        plane += rng.normal(0.0, NOISE_SD, plane.shape).astype(np.float32)
        voxels[k] = np.clip(np.rint(plane), -32768, 32767)
    return voxels


def build_study(scene: slicer.vtkMRMLScene, in_plane: int = 512, seed: int = 7) -> Study:
    """The study as MRML nodes in `scene`: four sequences, five ROIs, level points, clinical context."""
    geometry = StudyGeometry(in_plane)
    rng = np.random.default_rng(seed)
    study = Study(name=f"bench{in_plane}", clinical=study_clinical())
    for role in ROLES:
        volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", role)
        slicer.util.updateVolumeFromArray(volume, sequence_voxels(geometry, role, rng))
        set_volume_geometry(volume, geometry.ijk_to_world(role))
        study.sequences[role] = volume
    for region, (centre, axes, size) in REGION_BOXES.items():
        roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", region)
        set_roi_box(roi, Box(centre, axes, size / 2))
        study.regions[region] = [RegionSource(roi)]
    study.levels = level_points(scene)
    return study


def level_points(scene: slicer.vtkMRMLScene) -> slicer.vtkMRMLMarkupsFiducialNode:
    points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "levels")
    for number in range(2, 13):
        index = points.AddControlPoint(0.0, float(np.mean(BODY_A_MM)), level_centre_s(number))
        points.SetNthControlPointLabel(index, f"T{number}")
    return points
