"""EMHAssist's region ratios for Slicer's Segment Statistics module, without Qt.

Segment Statistics measures one segmentation on one scalar volume, a segment at a time. For a
segment named like a region ("mass"), the ratios whose numerator it is ("mass/cord", ...) are
computed against the segments of the same segmentation named like the other regions, on that
volume's own voxels, by the same code as the module. The Qt plugin in EMHAssistPlugins only
hands its parameter node's segmentation and volume over.
"""

from dataclasses import dataclass

import numpy as np
import slicer

from .. import CAVEAT
from ..inputs.nodes import grid_of_volume, set_segment_mask
from ..inputs.study import segment_sources
from ..knowledge import load
from ..measurement.ratios import region_ratios
from ..measurement.geometry import Box, voxel_indices
from ..measurement.regions import SequenceImage, measure_region
from ..settings import measurement_settings

# Segment Statistics shows one measured volume, whichever sequence it is: its ratios are keyed
# without a role.
VOLUME_ROLE = "volume"


def ratio_keys() -> list[str]:
    """Every measurement the plugin offers: each configured pair, its value and its 95 % interval."""
    keys = []
    for numerator, denominator in measurement_settings().ratio_pairs:
        pair = f"{numerator}/{denominator}"
        keys += [pair, f"{pair} CI95 low", f"{pair} CI95 high"]
    return keys


def segment_ratios(segmentation: slicer.vtkMRMLSegmentationNode, segment_id: str, volume: slicer.vtkMRMLScalarVolumeNode) -> dict[str, float]:
    """The ratios of the segment's region over the other regions' segments on `volume`, keyed as
    `ratio_keys`; empty when the segment is not named like a region or has no partner segment."""
    segment = segmentation.GetSegmentation().GetSegment(segment_id)
    region = segment.GetName().strip().lower() if segment is not None else None
    partners = [den for num, den in measurement_settings().ratio_pairs if num == region]
    if not partners:
        return {}
    sources = segment_sources(segmentation)
    images = [SequenceImage.from_node(VOLUME_ROLE, volume)]
    stats = {
        name: measure_region(name, sources[name], images).stats
        for name in [region, *partners]
        if name in sources
    }
    values: dict[str, float] = {}
    for key, ratio in region_ratios(stats).items():
        pair = key.removeprefix(f"{VOLUME_ROLE} ")
        if pair.startswith(f"{region}/"):
            values |= {pair: ratio.value, f"{pair} CI95 low": ratio.ci95[0], f"{pair} CI95 high": ratio.ci95[1]}
    return values


@dataclass(frozen=True)
class MeasurementInfo:
    """What Segment Statistics shows about one key: its column name (machine-readable), title,
    description and units, and the DICOM codes (scheme, value, meaning) of its quantity and units,
    the same codes the DICOM SR export writes for a ratio."""

    name: str
    title: str
    description: str
    units: str
    quantity_code: tuple[str, str, str]
    units_code: tuple[str, str, str]


def measurement_info(key: str) -> MeasurementInfo | None:
    """The description of a key of `ratio_keys`; None for any other key."""
    if key not in ratio_keys():
        return None
    pair = key.split(" ")[0]
    numerator, denominator = pair.split("/")
    description = f"Mean signal of the {numerator} segment over that of the {denominator} segment on the scalar volume"
    title = f"{pair} ratio"
    if "CI95" in key:
        bound = "lower" if key.endswith("low") else "upper"
        description = f"{bound.capitalize()} bound of the 95 % confidence interval of the {pair} ratio (voxels taken as independent)"
        title = f"{pair} ratio, 95 % CI {bound} bound"
    codes = load("structured_report")
    scheme, value, meaning = codes["concepts"]["ratio"]
    unit_scheme, unit_value, unit_meaning = codes["units"]["ratio"]
    return MeasurementInfo(
        name=f"EMHAssist {key}",
        title=title,
        description=f"{description}. {CAVEAT}",
        units="",  # a ratio of two signals has no unit
        quantity_code=(scheme, value, meaning),
        units_code=(unit_scheme, unit_value, unit_meaning),
    )


def region_segmentation(
    scene: slicer.vtkMRMLScene, volume: slicer.vtkMRMLScalarVolumeNode, boxes: dict[str, Box], name: str = "regions"
) -> slicer.vtkMRMLSegmentationNode:
    """A segmentation with one segment per region (named like it) holding the volume's voxels in its box,
    and a display node: Segment Statistics measures only the visible segments by default, which it reads
    from the display node."""
    grid = grid_of_volume(volume)
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", name)
    segmentation.CreateDefaultDisplayNodes()
    for region, box in boxes.items():
        mask = np.zeros(grid.shape, bool)
        mask.ravel()[voxel_indices(grid, box)] = True
        set_segment_mask(segmentation, segmentation.GetSegmentation().AddEmptySegment(region, region), mask, grid)
    return segmentation
