"""EMHAssist checked against Slicer's own Python at every release in ../shared/slicer-host/.

Slicer's files are imported for real where they need no GUI (slicer_host.host_python stands in only
qt, ctk and slicer.i18n), so that Slicer's SegmentStatisticsLogic and SampleDataLogic call our code
on a real MRML scene; everything else is checked by parsing Slicer's files with `ast`: each call our
Slicer-side code makes into them must match the host's signature.
"""

import pytest
from slicer_host import host_packages, host_python, releases
from small_case import VALUES, roi_box, small_study

from EMHAssistLib.frontends.panel import SR_AVAILABLE, SR_INSTALL, SR_UNAVAILABLE, sr_export_plan, version_tuple
from EMHAssistLib.outputs.segment_statistics import ratio_keys, region_segmentation

RELEASES = releases()
SLICER_PLUGINS = ("LabelmapSegmentStatisticsPlugin", "ScalarVolumeSegmentStatisticsPlugin", "ClosedSurfaceSegmentStatisticsPlugin")


def test_the_host_folder_holds_the_supported_releases():
    assert RELEASES == ["v5.10.0", "v5.12.3"]


def ratios_segmentation(scene, roles=("T2",)):
    study = small_study(scene, roles=roles)
    volume = study.sequences[roles[0]]
    segmentation = region_segmentation(scene, volume, {region: roi_box(region) for region in ("mass", "cord", "muscle", "marrow")})
    return volume, segmentation


@pytest.mark.parametrize("tag", RELEASES)
def test_slicers_segment_statistics_logic_computes_our_ratios_and_its_own_statistics(scene, tag):
    """Registered as the module registers it, the plugin is called by Slicer's own logic: its options
    widget is built (getMeasurementInfo for every key), its ratios come back for the mass segment with
    DICOM codes, and Slicer's own plugins still compute their statistics on every segment."""
    volume, segmentation = ratios_segmentation(scene)
    with host_python(tag) as host:
        from EMHAssistPlugins.SegmentStatisticsRatios import EMHAssistRatiosPlugin

        logic_class = host.SegmentStatistics.SegmentStatisticsLogic
        registered = list(logic_class.registeredPlugins)
        try:
            logic_class.registerPlugin(EMHAssistRatiosPlugin())
            logic = logic_class()
            parameters = logic.getParameterNode()
            parameters.SetParameter("Segmentation", segmentation.GetID())
            parameters.SetParameter("ScalarVolume", volume.GetID())
            assert parameters.GetParameter("visibleSegmentsOnly") == "True"  # Slicer's default
            logic.computeStatistics()
            statistics = logic.getStatistics()
        finally:
            logic_class.registeredPlugins[:] = registered
        mass = segmentation.GetSegmentation().GetSegmentIdBySegmentName("mass")
        assert set(statistics["SegmentIDs"]) == {segmentation.GetSegmentation().GetNthSegmentID(i) for i in range(4)}
        expected = VALUES["T2"]["mass"] / VALUES["T2"]["cord"]
        assert statistics[mass, "EMHAssistRatiosPlugin.mass/cord"] == pytest.approx(expected, rel=1e-6)
        info = statistics["MeasurementInfo"]["EMHAssistRatiosPlugin.mass/cord"]
        assert info["title"] == "mass/cord ratio" and info["name"] == "EMHAssist mass/cord"
        assert info["DICOM.UnitsCode"] == "CodeValue:1|CodingSchemeDesignator:UCUM|CodeMeaning:no units"
        assert info["DICOM.QuantityCode"].startswith("CodeValue:ratio|CodingSchemeDesignator:99EMHASSIST")
        for segment in statistics["SegmentIDs"]:
            assert statistics[segment, "ScalarVolumeSegmentStatisticsPlugin.voxel_count"] > 0
            assert statistics[segment, "LabelmapSegmentStatisticsPlugin.volume_mm3"] > 0
        columns, titles = logic.getColumnNamesTitles()
        assert columns["EMHAssistRatiosPlugin.mass/cord"] == "EMHAssist mass/cord"
        assert titles["EMHAssistRatiosPlugin.mass/cord"] == "mass/cord ratio"


@pytest.mark.parametrize("tag", RELEASES)
def test_slicers_own_plugins_compute_after_ours_is_registered(scene, tag):
    """A Segment Statistics logic created after our plugin is registered (any module's, any
    extension's) still computes Slicer's own statistics; ours adds nothing to unnamed segments."""
    volume, segmentation = ratios_segmentation(scene)
    with host_python(tag) as host:
        from EMHAssistPlugins.SegmentStatisticsRatios import EMHAssistRatiosPlugin

        logic_class = host.SegmentStatistics.SegmentStatisticsLogic
        registered = list(logic_class.registeredPlugins)
        try:
            logic_class.registerPlugin(EMHAssistRatiosPlugin())
            other = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "liver")
            other.CreateDefaultDisplayNodes()
            other.GetSegmentation().CopySegmentFromSegmentation(segmentation.GetSegmentation(), "mass")
            other.GetSegmentation().GetSegment("mass").SetName("liver")
            logic = logic_class()
            logic.getParameterNode().SetParameter("Segmentation", other.GetID())
            logic.getParameterNode().SetParameter("ScalarVolume", volume.GetID())
            logic.computeStatistics()
            statistics = logic.getStatistics()
        finally:
            logic_class.registeredPlugins[:] = registered
        assert statistics["mass", "ScalarVolumeSegmentStatisticsPlugin.mean"] == pytest.approx(VALUES["T2"]["mass"])
        assert not [key for key in statistics if isinstance(key, tuple) and key[1].startswith("EMHAssistRatiosPlugin.")]


@pytest.mark.parametrize("tag", RELEASES)
def test_our_plugin_implements_what_the_base_class_documents(tag):
    with host_python(tag) as host:
        from EMHAssistPlugins.SegmentStatisticsRatios import EMHAssistRatiosPlugin

        plugin = EMHAssistRatiosPlugin()
        assert isinstance(plugin, host.SegmentStatistics.SegmentStatisticsPluginBase)
        assert plugin.name and plugin.title
        assert plugin.keys == ratio_keys() and set(plugin.defaultKeys) <= set(plugin.keys)
        for key in plugin.keys:
            info = plugin.getMeasurementInfo(key)
            assert {"name", "title", "description", "units", "DICOM.QuantityCode", "DICOM.UnitsCode"} <= info.keys(), key
        assert plugin.getMeasurementInfo("volume_mm3") is None


# --- DICOM SR export against each release's packages --------------------------------------------


def test_the_host_package_lists_are_read():
    assert host_packages("v5.10.0") == {"python": "3.12.10", "numpy": "2.0.2", "pydicom": "2.4.4"}
    assert host_packages("v5.12.3")["pydicom"] == "3.0.2"


@pytest.mark.parametrize("tag", RELEASES)
def test_sr_export_never_replaces_a_package_slicer_ships(tag):
    """5.10 pins pydicom 2.4.4, which highdicom 0.28.2 cannot use: SR export is unavailable there, saying
    why; 5.12's pydicom 3.0.2 suits it: installed on request, with Slicer's versions as pip constraints."""
    packages = host_packages(tag)
    plan = sr_export_plan(packages)
    if version_tuple(packages["pydicom"]) < (3, 0, 1):
        assert plan.action == SR_UNAVAILABLE
        assert f"pydicom {packages['pydicom']} (needs 3.0.1 or later)" in plan.message
        assert "JSON or HTML" in plan.message and not plan.requirement
    else:
        assert plan.action == SR_INSTALL
        assert plan.requirement == "highdicom==0.28.2"
        assert plan.constraints.splitlines() == [f"pydicom=={packages['pydicom']}", f"numpy=={packages['numpy']}"]
    assert sr_export_plan(packages | {"highdicom": "0.28.2"}).action == SR_AVAILABLE
