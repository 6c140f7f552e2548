"""MRML nodes read into plain geometry and arrays: the only module that knows how volumes, markups
ROIs and segmentations store their geometry; everything downstream works on `geometry.Grid`,
`geometry.Box`, `geometry.Labelmap` and numpy. It only reads: nodes are made and changed in
outputs/scene_writing.py (Testing/test_layers.py)."""

import numpy as np
import slicer
import vtk
from vtk.util import numpy_support

from ..errors import InputError
from ..geometry import Box, Grid, Labelmap
from ..limits import limits
from .plain import LabelledPoint, PointList, SequenceImage


class EmptySegmentError(InputError):
    """A segment with no voxel painted (Segment Editor's Add makes one): a region it is the only
    outline of is refused, one that other outlines give is measured without it (`study.read_outlines`)."""


def node_to_world(node: slicer.vtkMRMLTransformableNode) -> np.ndarray:
    """4x4 matrix from the node's own coordinates to world, through any linear parent transforms."""
    transform = node.GetParentTransformNode()
    if transform is None:
        return np.eye(4)
    if not transform.IsTransformToWorldLinear():
        raise InputError(node.GetName(), "sits under a non-linear transform; harden or remove it first")
    matrix = vtk.vtkMatrix4x4()
    transform.GetMatrixTransformToWorld(matrix)
    return slicer.util.arrayFromVTKMatrix(matrix)


def sequence_image(role: str, volume: slicer.vtkMRMLScalarVolumeNode) -> SequenceImage:
    """A sequence's voxels (the volume's own array, not copied) and their grid, read once per analysis."""
    grid = grid_of_volume(volume)
    check_volume_geometry(volume.GetName(), grid)
    return SequenceImage(role, grid, scalar_array(volume))


def point_list(points: slicer.vtkMRMLMarkupsFiducialNode) -> PointList:
    """A markups point list's labels and world positions, in the list's order."""
    found = []
    for n in range(points.GetNumberOfControlPoints()):
        position = np.zeros(3)
        points.GetNthControlPointPositionWorld(n, position)
        if not np.all(np.isfinite(position)):
            raise InputError(points.GetName(), f"point {n + 1} ({points.GetNthControlPointLabel(n)}) has no finite position: {position.tolist()}")
        found.append(LabelledPoint(points.GetNthControlPointLabel(n), position))
    return PointList(points.GetName(), tuple(found))


def grid_of_volume(volume: slicer.vtkMRMLVolumeNode) -> Grid:
    image = volume.GetImageData()
    if image is None:
        raise InputError(volume.GetName(), "volume has no image data")
    matrix = vtk.vtkMatrix4x4()
    volume.GetIJKToRASMatrix(matrix)
    dims = image.GetDimensions()
    return Grid((dims[2], dims[1], dims[0]), node_to_world(volume) @ slicer.util.arrayFromVTKMatrix(matrix))


def check_volume_geometry(subject: str, grid: Grid) -> None:
    """A grid whose voxel axes are perpendicular, whose voxel sizes are those of an image and whose
    corners lie within the position budget; ITK reads sheared or absurd headers without a word, and
    a scene's volume node can hold any matrix (zero spacing, a singular or non-finite parent
    transform), which no voxel could be placed by."""
    budget = limits()
    spacing = grid.spacing
    low, high = budget.voxel_spacing_mm_range
    if not np.all(np.isfinite(spacing)) or not np.all((spacing >= low) & (spacing <= high)):
        raise InputError(subject, f"voxel size {np.round(spacing, 6).tolist()} mm is outside {low:g} to {high:g} mm; its geometry (header or parent transform) is damaged")
    direction = grid.ijk_to_world[:3, :3] / spacing
    departure = float(np.max(np.abs(direction.T @ direction - np.eye(3))))
    if departure > budget.direction_tolerance:
        raise InputError(subject, f"its voxel axes are not perpendicular (sheared by {departure:.3g}); where its voxels lie is unknown")
    corners = grid.corners_world()
    if not np.all(np.isfinite(corners)) or np.max(np.abs(corners)) > budget.position_mm_max:
        raise InputError(subject, f"its voxels reach {np.max(np.abs(corners)):.3g} mm from the origin, beyond {budget.position_mm_max:g} mm; its geometry (header or parent transform) is damaged")


def check_value_range(subject: str, voxels: np.ndarray) -> None:
    """Floating-point voxels whose largest magnitude the statistics can square in float64 (a volume
    scaled by 1e-310 divided by zero); all-zero or non-finite volumes are left to the measurement,
    which names them."""
    if not np.issubdtype(voxels.dtype, np.floating) or voxels.size == 0:
        return
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(voxels)
        largest = float(max(abs(np.min(voxels, where=finite, initial=0.0)), abs(np.max(voxels, where=finite, initial=0.0))))
    low, high = limits().voxel_magnitude_range
    if largest != 0.0 and not low <= largest <= high:
        raise InputError(subject, f"its largest voxel magnitude is {largest:.3g}, outside {low:g} to {high:g}: the statistics cannot square such values; rescale the volume")


def scalar_array(volume: slicer.vtkMRMLVolumeNode) -> np.ndarray:
    """The voxel array of a single-component 3-D scalar volume (a view, not a copy)."""
    check_scalar_volume(volume)
    return slicer.util.arrayFromVolume(volume)


def check_scalar_volume(volume: slicer.vtkMRMLVolumeNode) -> None:
    name = volume.GetName()
    if volume.IsA("vtkMRMLLabelMapVolumeNode"):
        raise InputError(name, "is a label map, not an MR sequence")
    image = volume.GetImageData()
    if image is None:
        raise InputError(name, "volume has no image data")
    if image.GetNumberOfScalarComponents() != 1 or not volume.IsA("vtkMRMLScalarVolumeNode"):
        raise InputError(name, f"has {image.GetNumberOfScalarComponents()} components per voxel; a sequence must be a scalar volume")
    if min(image.GetDimensions()) < 1 or image.GetNumberOfPoints() == 0:
        raise InputError(name, "volume is empty")


def box_of_roi(roi: slicer.vtkMRMLMarkupsROINode) -> Box:
    with np.errstate(invalid="ignore", over="ignore"):  # a centre of 1e300 mm is refused just below, not warned about
        object_to_world = node_to_world(roi) @ slicer.util.arrayFromVTKMatrix(roi.GetObjectToNodeMatrix())
    if not np.all(np.isfinite(object_to_world)):
        raise InputError(roi.GetName(), "ROI position or orientation is not a finite number")
    linear = object_to_world[:3, :3]
    scale = np.linalg.norm(linear, axis=0)
    size = np.array(roi.GetSize()) * scale
    if not np.all(np.isfinite(size)) or np.any(size <= 0):
        raise InputError(roi.GetName(), f"ROI has no volume (size {np.round(size, 3).tolist()} mm)")
    axes = linear / scale
    departure = float(np.max(np.abs(axes.T @ axes - np.eye(3))))
    if departure > limits().orientation_tolerance:
        raise InputError(
            roi.GetName(), f"ROI's axes are not perpendicular (sheared by {departure:.3g}, by its orientation or a parent transform); its shape is unknown"
        )
    return Box(center=object_to_world[:3, 3], axes=axes, half_size=size / 2)


def labelmap_of_segment(segmentation: slicer.vtkMRMLSegmentationNode, segment_id: str) -> Labelmap:
    image = slicer.vtkOrientedImageData()
    empty = EmptySegmentError(f"{segmentation.GetName()}/{segmentation.GetSegmentation().GetSegment(segment_id).GetName()}", "segment is empty")
    if not segmentation.GetBinaryLabelmapRepresentation(segment_id, image) or image.GetNumberOfPoints() == 0:
        raise empty
    extent = image.GetExtent()
    dims = (extent[5] - extent[4] + 1, extent[3] - extent[2] + 1, extent[1] - extent[0] + 1)
    mask = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars()).reshape(dims) != 0
    if not mask.any():  # a segment added and never painted has its layer's extent, all zero
        raise empty
    matrix = vtk.vtkMatrix4x4()
    image.GetImageToWorldMatrix(matrix)
    extent_origin = np.eye(4)
    extent_origin[:3, 3] = [extent[0], extent[2], extent[4]]
    ijk_to_world = node_to_world(segmentation) @ slicer.util.arrayFromVTKMatrix(matrix) @ extent_origin
    return Labelmap(Grid(dims, ijk_to_world), mask)


def vtk_matrix(array: np.ndarray) -> vtk.vtkMatrix4x4:
    matrix = vtk.vtkMatrix4x4()
    for row in range(4):
        for column in range(4):
            matrix.SetElement(row, column, float(array[row, column]))
    return matrix
