"""EMHAssist's region ratios for Slicer's Segment Statistics module, without Qt.

Segment Statistics measures one segmentation on one scalar volume, a segment at a time. For a
segment named like a region ("mass"), the ratios whose numerator it is ("mass/cord", ...) are
computed against the segments of the same segmentation named like the other regions, on that
volume's own voxels, by the same code as the module. The Qt plugin in EMHAssistPlugins only
hands its parameter node's segmentation and volume over.
"""

import slicer

from ..inputs.study import segment_sources
from ..knowledge import load
from ..measurement.ratios import region_ratios
from ..measurement.regions import SequenceImage, measure_region

# Segment Statistics shows one measured volume, whichever sequence it is: its ratios are keyed
# without a role.
VOLUME_ROLE = "volume"


def ratio_keys() -> list[str]:
    """Every measurement the plugin offers: each configured pair, its value and its 95 % interval."""
    keys = []
    for numerator, denominator in load("measurement")["ratio_pairs"]:
        pair = f"{numerator}/{denominator}"
        keys += [pair, f"{pair} CI95 low", f"{pair} CI95 high"]
    return keys


def segment_ratios(segmentation: slicer.vtkMRMLSegmentationNode, segment_id: str, volume: slicer.vtkMRMLScalarVolumeNode) -> dict[str, float]:
    """The ratios of the segment's region over the other regions' segments on `volume`, keyed as
    `ratio_keys`; empty when the segment is not named like a region or has no partner segment."""
    segment = segmentation.GetSegmentation().GetSegment(segment_id)
    region = segment.GetName().strip().lower() if segment is not None else None
    partners = [den for num, den in load("measurement")["ratio_pairs"] if num == region]
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
