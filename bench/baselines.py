"""The two ways of measuring regions that EMHAssist's live update is compared against.

Both measure exactly what EMHAssist measures (every region on every sequence) on the same MRML
nodes, so the timings compare like with like:

- Segment Statistics' way (Slicer's `ScalarVolumeSegmentStatisticsPlugin`): the region becomes a
  binary label map on the whole volume's grid, which is thresholded into a stencil, and
  `vtkImageAccumulate` (count, mean, SD) and `vtkImageHistogramStatistics` (median) run over the
  whole image with that stencil. The box is rasterised onto the full grid with
  `vtkPolyDataToImageStencil`, the filter Slicer's closed-surface-to-label-map conversion uses.
- SimpleITK's `LabelStatisticsImageFilter` on a full label map holding all regions of a sequence,
  with histograms on (its median) or off (count, mean and SD only, its fastest form); a moved ROI
  is repainted in the label map first.
"""

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
import slicer
import vtk

from EMHAssistLib.geometry import Box, Grid, voxel_indices
from EMHAssistLib.inputs.nodes import box_of_roi, grid_of_volume
from EMHAssistLib.inputs.study import Study


@dataclass(frozen=True)
class BaselineStats:
    n: int
    mean: float
    sd: float
    median: float


# --- Segment Statistics' way -----------------------------------------------------------------


def box_label_map(box: Box, grid: Grid) -> vtk.vtkImageData:
    """The box as a 0/1 label map over the whole grid, in the volume's IJK space."""
    cube = vtk.vtkCubeSource()
    cube.SetXLength(2 * box.half_size[0])
    cube.SetYLength(2 * box.half_size[1])
    cube.SetZLength(2 * box.half_size[2])
    box_to_world = np.eye(4)
    box_to_world[:3, :3] = box.axes
    box_to_world[:3, 3] = box.center
    to_ijk = vtk.vtkTransform()
    to_ijk.SetMatrix((grid.world_to_ijk @ box_to_world).ravel().tolist())
    placed = vtk.vtkTransformPolyDataFilter()
    placed.SetInputConnection(cube.GetOutputPort())
    placed.SetTransform(to_ijk)
    rasterise = vtk.vtkPolyDataToImageStencil()
    rasterise.SetInputConnection(placed.GetOutputPort())
    rasterise.SetOutputOrigin(0.0, 0.0, 0.0)
    rasterise.SetOutputSpacing(1.0, 1.0, 1.0)
    nk, nj, ni = grid.shape
    rasterise.SetOutputWholeExtent(0, ni - 1, 0, nj - 1, 0, nk - 1)
    to_image = vtk.vtkImageStencilToImage()
    to_image.SetInputConnection(rasterise.GetOutputPort())
    to_image.SetInsideValue(1)
    to_image.SetOutsideValue(0)
    to_image.SetOutputScalarTypeToUnsignedChar()
    to_image.Update()
    return to_image.GetOutput()


def segment_statistics(volume: slicer.vtkMRMLScalarVolumeNode, label_map: vtk.vtkImageData) -> BaselineStats:
    """The steps of Slicer's scalar-volume Segment Statistics plugin, from its label map on."""
    threshold = vtk.vtkImageThreshold()
    threshold.SetInputData(label_map)
    threshold.ThresholdByLower(0)
    threshold.SetInValue(0)
    threshold.SetOutValue(1)
    threshold.SetOutputScalarTypeToUnsignedChar()
    threshold.Update()
    stencil = vtk.vtkImageToImageStencil()
    stencil.SetInputData(threshold.GetOutput())
    stencil.ThresholdByUpper(1)
    stencil.Update()
    accumulate = vtk.vtkImageAccumulate()
    accumulate.SetInputData(volume.GetImageData())
    accumulate.SetStencilData(stencil.GetOutput())
    accumulate.Update()
    histogram = vtk.vtkImageHistogramStatistics()
    histogram.SetInputData(volume.GetImageData())
    histogram.SetStencilData(stencil.GetOutput())
    histogram.Update()
    return BaselineStats(
        n=int(accumulate.GetVoxelCount()),
        mean=float(accumulate.GetMean()[0]),
        sd=float(accumulate.GetStandardDeviation()[0]),
        median=float(histogram.GetMedian()),
    )


def segment_statistics_update(study: Study) -> dict[str, dict[str, BaselineStats]]:
    """Every region on every sequence the Segment Statistics way (what its Apply recomputes)."""
    stats: dict[str, dict[str, BaselineStats]] = {}
    for region, sources in study.regions.items():
        box = box_of_roi(sources[0].node)
        stats[region] = {
            role: segment_statistics(volume, box_label_map(box, grid_of_volume(volume)))
            for role, volume in study.sequences.items()
        }
    return stats


# --- SimpleITK's label statistics ----------------------------------------------------------------


class LabelStatisticsBaseline:
    """Each sequence as a SimpleITK image with a full label map of all regions beside it."""

    def __init__(self, study: Study, use_histograms: bool) -> None:
        self.study = study
        self.use_histograms = use_histograms
        self.region_labels = {region: label for label, region in enumerate(study.regions, start=1)}
        self.images: dict[str, sitk.Image] = {}
        self.label_maps: dict[str, np.ndarray] = {}
        self.grids: dict[str, Grid] = {}
        for role, volume in study.sequences.items():
            self.images[role] = sitk.GetImageFromArray(slicer.util.arrayFromVolume(volume))
            self.grids[role] = grid_of_volume(volume)
            self.label_maps[role] = np.zeros(self.grids[role].shape, dtype=np.uint8)
            for region in study.regions:
                self.paint(role, region)

    def paint(self, role: str, region: str) -> None:
        """Repaint one region's voxels (the exact voxels EMHAssist measures) in a label map."""
        labels, label = self.label_maps[role], self.region_labels[region]
        labels[labels == label] = 0
        box = box_of_roi(self.study.regions[region][0].node)
        labels.ravel()[voxel_indices(self.grids[role], box)] = label

    def update(self, moved_region: str) -> dict[str, dict[str, BaselineStats]]:
        stats: dict[str, dict[str, BaselineStats]] = {region: {} for region in self.region_labels}
        for role, image in self.images.items():
            self.paint(role, moved_region)
            label_image = sitk.GetImageFromArray(self.label_maps[role])
            label_image.CopyInformation(image)
            measure = sitk.LabelStatisticsImageFilter()
            measure.SetUseHistograms(self.use_histograms)
            measure.Execute(image, label_image)
            for region, label in self.region_labels.items():
                if measure.HasLabel(label):
                    stats[region][role] = BaselineStats(
                        n=int(measure.GetCount(label)),
                        mean=float(measure.GetMean(label)),
                        sd=float(measure.GetSigma(label)),
                        median=float(measure.GetMedian(label)) if self.use_histograms else float("nan"),
                    )
        return stats
