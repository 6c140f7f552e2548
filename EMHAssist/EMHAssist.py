from pathlib import Path

import vtk

import slicer
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin
from slicer.parameterNodeWrapper import parameterNodeWrapper

from slicer import (
    vtkMRMLMarkupsFiducialNode,
    vtkMRMLMarkupsROINode,
    vtkMRMLScalarVolumeNode,
    vtkMRMLSegmentationNode,
    vtkMRMLTableNode,
)

from EMHAssistLib import CAVEAT
from EMHAssistLib.analysis import run_analysis
from EMHAssistLib.overlays import draw_overlays
from EMHAssistLib.study import region_names, sequence_roles, study_from_nodes
from EMHAssistLib.tables import write_results_table

RESULTS_TABLE_NAME = "EMHAssist results"


#
# EMHAssist
#


class EMHAssist(ScriptedLoadableModule):
    """Uses ScriptedLoadableModule base class, available at:
    https://github.com/Slicer/Slicer/blob/main/Base/Python/slicer/ScriptedLoadableModule.py
    """

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("EMHAssist")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Quantification")]
        self.parent.dependencies = []
        self.parent.contributors = ["EMHAssist developers"]
        self.parent.helpText = _("""
Measures regions (spinal cord, mass, vertebral marrow, paraspinal muscle, disc) on every loaded spine
MRI sequence (T1, T2, STIR, post-contrast T1 and others) and computes their signal-intensity ratios
with 95 % confidence intervals, to help teach and study how extramedullary hematopoiesis differs
from its mimics. Select a volume per sequence and a markups ROI (or segments named like the regions)
per region, then Apply. See the <a href="https://github.com/EMHAssist/SlicerEMHAssist#readme">module documentation</a>.
""")
        self.parent.helpText += f"<p><b>{CAVEAT}</b></p>"
        self.parent.acknowledgementText = _("""
Built on 3D Slicer's scripted module template. The built-in teaching case is synthetic: no patient data
is shipped or downloaded.
""")


#
# EMHAssistParameterNode
#


def sequenceParameterName(role: str) -> str:
    """Parameter holding the volume of a sequence role: "T1C" -> "t1cVolume"."""
    return f"{role.lower()}Volume"


def regionParameterName(region: str) -> str:
    """Parameter holding the markups ROI of a region: "cord" -> "cordRoi"."""
    return f"{region}Roi"


@parameterNodeWrapper
class EMHAssistParameterNode:
    """
    The module's inputs and results, saved with the scene.

    t1Volume ... opVolume - The volume of each sequence role (T1, T2, STIR, post-contrast T1, fat-suppressed
        T1, T1C and T2, ADC map, in-phase and opposed-phase), or None if the study has no such sequence.
    cordRoi ... discRoi - A markups ROI box inside each region, or None.
    regionSegmentation - Optional segmentation whose segments named like regions outline them too.
    levelPoints - Optional point list of vertebral body centres labelled with their level.
    resultsTable - The table receiving the region statistics and ratios.
    """

    t1Volume: vtkMRMLScalarVolumeNode | None
    t2Volume: vtkMRMLScalarVolumeNode | None
    stirVolume: vtkMRMLScalarVolumeNode | None
    t1cVolume: vtkMRMLScalarVolumeNode | None
    t1fsVolume: vtkMRMLScalarVolumeNode | None
    t1cfsVolume: vtkMRMLScalarVolumeNode | None
    t2fsVolume: vtkMRMLScalarVolumeNode | None
    adcVolume: vtkMRMLScalarVolumeNode | None
    ipVolume: vtkMRMLScalarVolumeNode | None
    opVolume: vtkMRMLScalarVolumeNode | None
    cordRoi: vtkMRMLMarkupsROINode | None
    massRoi: vtkMRMLMarkupsROINode | None
    marrowRoi: vtkMRMLMarkupsROINode | None
    muscleRoi: vtkMRMLMarkupsROINode | None
    discRoi: vtkMRMLMarkupsROINode | None
    regionSegmentation: vtkMRMLSegmentationNode | None
    levelPoints: vtkMRMLMarkupsFiducialNode | None
    resultsTable: vtkMRMLTableNode | None


#
# EMHAssistWidget
#


class EMHAssistWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """Uses ScriptedLoadableModuleWidget base class, available at:
    https://github.com/Slicer/Slicer/blob/main/Base/Python/slicer/ScriptedLoadableModule.py
    """

    def __init__(self, parent=None) -> None:
        """Called when the user opens the module the first time and the widget is initialized."""
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)  # needed for parameter node observation
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None

    def setup(self) -> None:
        """Called when the user opens the module the first time and the widget is initialized."""
        ScriptedLoadableModuleWidget.setup(self)

        uiWidget = slicer.util.loadUI(self.resourcePath("UI/EMHAssist.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)

        # The .ui connects the top-level qMRMLWidget's mrmlSceneChanged(vtkMRMLScene*) signal to every
        # MRML widget's setMRMLScene(vtkMRMLScene*) slot, so this reaches all of them.
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.ui.caveatLabel.text = CAVEAT

        self.logic = EMHAssistLogic()

        # Keep the parameter node valid across scene close.
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)

        # Needed after a module reload, when the scene already holds a parameter node.
        self.initializeParameterNode()

    def cleanup(self) -> None:
        """Called when the application closes and the module widget is destroyed."""
        self.removeObservers()

    def enter(self) -> None:
        """Called each time the user opens this module."""
        self.initializeParameterNode()

    def exit(self) -> None:
        """Called each time the user opens a different module."""
        # The GUI is refreshed from the parameter node on the next enter().
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._checkCanApply)

    def onSceneStartClose(self, caller, event) -> None:
        """Called just before the scene is closed."""
        # The parameter node is about to be removed with the scene.
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        """Called just after the scene is closed."""
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        """Ensure parameter node exists and observed."""
        self.setParameterNode(self.logic.getParameterNode())

    def setParameterNode(self, inputParameterNode: EMHAssistParameterNode | None) -> None:
        """Set and observe the parameter node, so the GUI follows every change to it."""
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._checkCanApply)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            # Widgets carrying a "SlicerParameterName" dynamic property in the .ui are bound here.
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._checkCanApply)
            self._checkCanApply()

    def _checkCanApply(self, caller=None, event=None) -> None:
        if self._parameterNode and self.logic.canProcess(self._parameterNode):
            self.ui.applyButton.toolTip = _("Measure every region on every selected sequence and compute the ratios")
            self.ui.applyButton.enabled = True
        else:
            self.ui.applyButton.toolTip = _("Select at least one sequence volume and one region (ROI or segmentation)")
            self.ui.applyButton.enabled = False

    def onApplyButton(self) -> None:
        """Run the analysis when the user clicks "Apply"."""
        with slicer.util.tryWithErrorDisplay(_("Failed to compute results."), waitCursor=True):
            report = self.logic.process(self._parameterNode)
            self.ui.warningsLabel.text = warningsText(report["warnings"])


def warningsText(warnings: list[str]) -> str:
    if not warnings:
        return _("No warnings.")
    return _("Warnings:") + "\n" + "\n".join(f"- {warning}" for warning in warnings)


#
# EMHAssistLogic
#


class EMHAssistLogic(ScriptedLoadableModuleLogic):
    """Hands the selected MRML nodes to EMHAssistLib, the Qt-free engine the command line also uses,
    and writes its results to a table node in the scene. Usable without the widget.
    Uses ScriptedLoadableModuleLogic base class, available at:
    https://github.com/Slicer/Slicer/blob/main/Base/Python/slicer/ScriptedLoadableModule.py
    """

    def __init__(self) -> None:
        """Called when the logic class is instantiated. Can be used for initializing member variables."""
        ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self):
        return EMHAssistParameterNode(super().getParameterNode())

    def canProcess(self, parameterNode: EMHAssistParameterNode) -> bool:
        """True when at least one sequence and one region source are selected."""
        anySequence = any(getattr(parameterNode, sequenceParameterName(role)) for role in sequence_roles())
        anyRegion = any(getattr(parameterNode, regionParameterName(region)) for region in region_names())
        return anySequence and (anyRegion or parameterNode.regionSegmentation is not None)

    def process(self, parameterNode: EMHAssistParameterNode) -> dict:
        """Analyse the selected nodes, fill the results table (made if none is selected), draw the overlays
        into the views and return the report.

        Raises EMHAssistLib.errors.InputError, naming the node, when an input cannot be measured.
        """
        study = study_from_nodes(
            caseName(slicer.mrmlScene),
            {role: getattr(parameterNode, sequenceParameterName(role)) for role in sequence_roles()},
            {region: getattr(parameterNode, regionParameterName(region)) for region in region_names()},
            segmentation=parameterNode.regionSegmentation,
            levels=parameterNode.levelPoints,
        )
        analysis = run_analysis(study)
        if parameterNode.resultsTable is None:
            parameterNode.resultsTable = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLTableNode", RESULTS_TABLE_NAME)
        write_results_table(analysis.report, parameterNode.resultsTable)
        draw_overlays(slicer.mrmlScene, analysis.report, study, mass_mask=analysis.mass_mask, cord_mask=analysis.cord_mask)
        return analysis.report


def caseName(scene) -> str:
    """The saved scene's file name names the case in the report; an unsaved scene has none."""
    return Path(scene.GetURL()).stem or "unsaved scene"


#
# EMHAssistTest
#


class EMHAssistTest(ScriptedLoadableModuleTest):
    """Runs on a synthetic case built in the scene: no sample data is downloaded.
    Uses ScriptedLoadableModuleTest base class, available at:
    https://github.com/Slicer/Slicer/blob/main/Base/Python/slicer/ScriptedLoadableModule.py
    """

    def setUp(self):
        """Start each test from an empty scene."""
        slicer.mrmlScene.Clear()

    def runTest(self):
        """Run every test; Slicer's self-test and "Reload and Test" call this."""
        self.setUp()
        self.test_EMHAssistBuiltInCase()
        self.setUp()
        self.test_EMHAssistLogic()

    def test_EMHAssistBuiltInCase(self):
        """The built-in case against its noise-free images: the self-test body pytest also runs."""
        from EMHAssistLib.selftest import run_selftest

        self.delayDisplay("Analysing the built-in case and its noise-free images")
        run_selftest(slicer.mrmlScene)
        self.delayDisplay("Test passed")

    def test_EMHAssistLogic(self):
        """The panel's path: node selections in the parameter node, Apply, results in one table node."""
        from EMHAssistLib.cases import DEFAULT_CASE, build_study, study_into_scene
        from EMHAssistLib.tables import read_results_table

        self.delayDisplay("Analysing the built-in case through the parameter node")
        study = study_into_scene(build_study(DEFAULT_CASE), slicer.mrmlScene)
        logic = EMHAssistLogic()
        parameterNode = logic.getParameterNode()
        self.assertFalse(logic.canProcess(parameterNode))
        for role, volume in study.sequences.items():
            setattr(parameterNode, sequenceParameterName(role), volume)
        # The panel holds one box per region: the first of each region's boxes.
        for region, sources in study.regions.items():
            setattr(parameterNode, regionParameterName(region), sources[0].node)
        parameterNode.levelPoints = study.levels
        self.assertTrue(logic.canProcess(parameterNode))

        report = logic.process(parameterNode)
        table = parameterNode.resultsTable
        self.assertIsNotNone(table)
        self.assertEqual(read_results_table(table)["ratios"].keys(), report["ratios"].keys())
        self.assertEqual(read_results_table(table)["regions"].keys(), report["regions"].keys())

        logic.process(parameterNode)
        self.assertEqual(parameterNode.resultsTable.GetID(), table.GetID())
        self.assertEqual(len(slicer.util.getNodesByClass("vtkMRMLTableNode")), 1)
        self.delayDisplay("Test passed")
