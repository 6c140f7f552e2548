"""Segment Statistics plugin: EMHAssist's region ratios as columns of the Segment Statistics table.

A thin adapter: the measurement and the description of each key are EMHAssistLib.outputs.segment_statistics,
tested headless; this class implements what SegmentStatisticsPluginBase documents (name, title, keys,
defaultKeys, computeStatistics, getMeasurementInfo through createMeasurementInfo) and only reads the
segmentation and volume Segment Statistics was given. Testing/test_slicer_host.py runs it through
Slicer's own SegmentStatisticsLogic of each supported release.
"""

import logging

import slicer
from slicer.i18n import tr as _
from SegmentStatisticsPlugins import SegmentStatisticsPluginBase

from EMHAssistLib.errors import InputError
from EMHAssistLib.outputs.segment_statistics import measurement_info, ratio_keys, segment_ratios


class EMHAssistRatiosPlugin(SegmentStatisticsPluginBase):
    """Ratios of a segment named like a region (mass, marrow, cord) to the other region segments."""

    def __init__(self):
        super().__init__()
        self.name = "EMHAssist ratios"  # not translated: names the plugin's columns
        self.title = _("EMHAssist ratios")
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
        except Exception as error:  # noqa: BLE001
            # Slicer's logic calls every plugin in one loop: an exception out of ours would stop the
            # rows of Slicer's own plugins too. A failure we did not foresee costs only our columns.
            logging.error(f"EMHAssist ratios: {segmentation.GetName()}/{segmentID}: not computed ({type(error).__name__}: {error})")
            return {}
        return {key: value for key, value in ratios.items() if key in requested}

    def getMeasurementInfo(self, key):
        info = measurement_info(key)
        if info is None:
            return None
        return self.createMeasurementInfo(
            name=info.name,
            title=_(info.title),
            description=_(info.description),
            units=info.units,
            quantityDicomCode=self.createCodedEntry(info.quantity_code[1], info.quantity_code[0], info.quantity_code[2], True),
            unitsDicomCode=self.createCodedEntry(info.units_code[1], info.units_code[0], info.units_code[2], True),
        )
