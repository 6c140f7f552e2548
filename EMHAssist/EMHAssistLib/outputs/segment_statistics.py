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
from ..geometry import Box, voxel_indices
from ..inputs.nodes import check_value_range, grid_of_volume, sequence_image
from .scene_writing import set_segment_mask
from ..inputs.study import outlines, segment_sources
from ..measurement.ratios import region_ratios
from ..measurement.regions import measure_region
from ..report_model import RatioKey
from ..settings import measurement_settings
from .sr_codes import Code, sr_codes

# Segment Statistics shows one measured volume, whichever sequence it is: its ratios are keyed
# without a role.
VOLUME_ROLE = "volume"


def ratio_keys() -> list[str]:
    """Every measurement the plugin offers: each configured pair, its value and its 95 % interval."""
    return list(_offered())


def _offered() -> dict[str, tuple[RatioKey, str | None]]:
    """Each measurement's key, with the ratio it shows and which bound of its interval (None: the value)."""
    offered = {}
    for numerator, denominator in measurement_settings().ratio_pairs:
        ratio = RatioKey.of_regions(VOLUME_ROLE, numerator, denominator)
        offered |= {name: (ratio, bound) for name, bound in zip(_measurement_names(ratio), (None, "lower", "upper"))}
    return offered


def _measurement_names(ratio: RatioKey) -> tuple[str, str, str]:
    """The keys of a ratio's value and of its interval's bounds: "mass/cord", "mass/cord CI95 low", ..."""
    pair = ratio.region_label
    return pair, f"{pair} CI95 low", f"{pair} CI95 high"


def segment_ratios(segmentation: slicer.vtkMRMLSegmentationNode, segment_id: str, volume: slicer.vtkMRMLScalarVolumeNode) -> dict[str, float]:
    """The ratios of the segment's region over the other regions' segments on `volume`, keyed as
    `ratio_keys`; empty when the segment is not named like a region or has no partner segment."""
    segment = segmentation.GetSegmentation().GetSegment(segment_id)
    region = segment.GetName().strip().lower() if segment is not None else None
    partners = [den for num, den in measurement_settings().ratio_pairs if num == region]
    if not partners:
        return {}
    sources = segment_sources(segmentation)
    images = [sequence_image(VOLUME_ROLE, volume)]
    check_value_range(volume.GetName(), images[0].voxels)
    stats = {
        name: measure_region(name, outlines(sources[name]), images).stats
        for name in [region, *partners]
        if name in sources
    }
    values: dict[str, float] = {}
    for key, ratio in region_ratios(stats).items():
        if key.numerator == region:
            values |= dict(zip(_measurement_names(key), (ratio.value, *ratio.ci95)))
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
    quantity_code: Code
    units_code: Code


def measurement_info(key: str) -> MeasurementInfo | None:
    """The description of a key of `ratio_keys`; None for any other key."""
    offered = _offered().get(key)
    if offered is None:
        return None
    ratio, bound = offered
    pair = ratio.region_label
    description = f"Mean signal of the {ratio.numerator} segment over that of the {ratio.denominator} segment on the scalar volume"
    title = f"{pair} ratio"
    if bound is not None:
        description = f"{bound.capitalize()} bound of the 95 % confidence interval of the {pair} ratio (voxels taken as independent)"
        title = f"{pair} ratio, 95 % CI {bound} bound"
    codes = sr_codes()
    return MeasurementInfo(
        name=f"EMHAssist {key}",
        title=title,
        description=f"{description}. {CAVEAT}",
        units="",  # a ratio of two signals has no unit
        quantity_code=codes.concepts.ratio,
        units_code=codes.units.ratio,
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
