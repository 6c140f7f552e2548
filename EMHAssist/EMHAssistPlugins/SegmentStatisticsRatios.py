"""Segment Statistics plugin: EMHAssist's region ratios as columns of the Segment Statistics table.

A thin adapter: the measurement is EMHAssistLib.outputs.segment_statistics, which is tested headless; this
class only reads the segmentation and volume Segment Statistics was given.
"""

import logging

import slicer
from SegmentStatisticsPlugins import SegmentStatisticsPluginBase

from EMHAssistLib import CAVEAT
from EMHAssistLib.errors import InputError
from EMHAssistLib.outputs.segment_statistics import ratio_keys, segment_ratios


class EMHAssistRatiosPlugin(SegmentStatisticsPluginBase):
    """Ratios of a segment named like a region (mass, marrow, cord) to the other region segments."""

    def __init__(self):
        super().__init__()
        self.name = "EMHAssist ratios"
        self.keys = ratio_keys()
        self.defaultKeys = [key for key in self.keys if "CI95" not in key]

    def computeStatistics(self, segmentID):
        requested = self.getRequestedKeys()
        parameters = self.getParameterNode()
        segmentation = slicer.mrmlScene.GetNodeByID(parameters.GetParameter("Segmentation"))
        volume = slicer.mrmlScene.GetNodeByID(parameters.GetParameter("ScalarVolume"))
        if not requested or segmentation is None or volume is None:
            return {}
        try:
            ratios = segment_ratios(segmentation, segmentID, volume)
        except InputError as error:
            logging.warning(f"EMHAssist ratios: {error}")
            return {}
        return {key: value for key, value in ratios.items() if key in requested}

    def getMeasurementInfo(self, key):
        if key not in self.keys:
            return None
        pair = key.split(" ")[0]
        numerator, denominator = pair.split("/")
        description = f"Mean signal of the {numerator} segment over that of the {denominator} segment on the scalar volume"
        if "CI95" in key:
            bound = "lower" if key.endswith("low") else "upper"
            description = f"{bound.capitalize()} bound of the 95 % confidence interval of the {pair} ratio (voxels taken as independent)"
        return self.createMeasurementInfo(name=f"EMHAssist {key}", description=f"{description}. {CAVEAT}", units="")
