import importlib.util
import json
import os
import typing
from pathlib import Path
from typing import Annotated

import qt
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
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper

from slicer import (
    vtkMRMLMarkupsFiducialNode,
    vtkMRMLMarkupsROINode,
    vtkMRMLScalarVolumeNode,
    vtkMRMLSegmentationNode,
    vtkMRMLTableNode,
    vtkMRMLTextNode,
)

from EMHAssistLib import CAVEAT
from EMHAssistLib.errors import InputError
from EMHAssistLib.inputs.clinical import clinical_terms
from EMHAssistLib.live import LiveAnalysis, LiveResult
from EMHAssistLib.outputs.overlays import find_overlays, overlays_visible, set_overlays_visible
from EMHAssistLib.spine.vertebrae import vertebra_names
from EMHAssistLib.teaching.cases import build_study, case_names, study_into_scene
from EMHAssistLib.frontends.panel import (
    AGE_NOT_STATED,
    clinical_choices,
    clinical_from_panel,
    compare_with_earlier,
    comparison_text,
    diagnosis_id,
    diagnosis_name,
    diagnosis_names,
    events_to_observe,
    find_levels,
    give_default_size,
    levels_text,
    name_anchor_when_placed,
    observations,
    overlay_node_ids,
    panel_settings,
    parameter_node_choice,
    panel_state,
    refuse_overlays,
    quiz_case_label,
    quiz_case_labels,
    quiz_case_name,
    read_report_node,
    reveal_text,
    save_results,
    SR_AVAILABLE,
    SR_UNAVAILABLE,
    installed_versions,
    sr_export_packages,
    sr_export_plan,
    teaching_case_in_file,
    teaching_case_sample,
    TEACHING_CASE_FILE_TYPE,
    TEACHING_CASE_SUFFIX,
    warnings_text,
)
from EMHAssistSlicer.view import (
    add_clinical_checkboxes,
    relabel_clinical_choices,
    show_comparison,
    show_region_statuses,
    show_report,
    show_state,
)
from EMHAssistLib.inputs.roles import suggest_roles
from EMHAssistLib.inputs.study import Study, region_names, sequence_roles, study_from_nodes
from EMHAssistLib.outputs.report import summary_text, to_json, write_json
from EMHAssistLib.outputs.report_html import KeyImage, write_html
from EMHAssistLib.outputs.scene_writing import new_node_to_place, new_table, new_text_node, set_place_target
from EMHAssistLib.followup import Comparison
from EMHAssistLib.report_model import Report
from EMHAssistLib.teaching.quiz import Quiz, Reveal

MODULE_FOLDER = Path(__file__).resolve().parents[1]  # where EMHAssist.py and Resources/ are installed
RESULTS_TABLE_NAME = "EMHAssist results"
REPORT_NODE_NAME = "EMHAssist report"
REGION_ROW_WIDGETS = ("SourceSelector", "PlaceButton", "StatusLabel")
QUIZ_CLEARS_SCENE = _("Opening a quiz case clears the scene: anything not saved is lost. Open it?")


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
MRI sequence (T1, T2, STIR, post-contrast T1 and others), computes their signal-intensity ratios with
95 % confidence intervals, finds the vertebral levels and the levels of cord compression, and ranks a
teaching differential of the mass (extramedullary hematopoiesis and its mimics). Pick a volume per
sequence, place or pick an ROI or segment per region: results follow as the ROIs move.
See the <a href="https://github.com/EMHAssist/SlicerEMHAssist#readme">module documentation</a>.
""")
        self.parent.helpText += f"<p><b>{CAVEAT}</b></p>"
        self.parent.acknowledgementText = _("""
Built on 3D Slicer's scripted module template. The teaching cases are synthetic and generated on the
user's computer: no patient data is shipped or downloaded.
""")
        # Other modules' registries are filled once the application has loaded them all.
        slicer.app.connect("startupCompleted()", registerSampleData)
        slicer.app.connect("startupCompleted()", registerSegmentStatisticsPlugin)


def registerSampleData():
    """The teaching cases in the Sample Data module; they are built on this computer when chosen (by the
    button or by a script's SampleData.downloadSample(name)), never downloaded: see EMHAssistFileReader."""
    import SampleData

    iconPath = str(MODULE_FOLDER / "Resources" / "Icons" / "EMHAssist.png")
    for name in case_names():
        SampleData.SampleDataLogic.registerCustomSampleDataSource(**teaching_case_sample(name, iconPath))


class EMHAssistFileReader:
    """Slicer's IO manager calls this reader (found by its name, <module>FileReader) for a teaching-case
    file, which Sample Data copies from the module's case specs: the case is built into the scene and
    selected as the module's inputs."""

    def __init__(self, parent):
        self.parent = parent

    def description(self):
        return _("EMHAssist teaching case")

    def fileType(self):
        return TEACHING_CASE_FILE_TYPE

    def extensions(self):
        return [_("EMHAssist teaching case") + f" (*{TEACHING_CASE_SUFFIX})"]

    def canLoadFile(self, filePath):
        return str(filePath).endswith(TEACHING_CASE_SUFFIX)

    def load(self, properties):
        with slicer.util.tryWithErrorDisplay(_("Failed to build the teaching case."), waitCursor=True):
            logic = EMHAssistLogic()
            study = logic.loadTeachingCase(teaching_case_in_file(properties["fileName"]), logic.getParameterNode())
            self.parent.loadedNodes = [volume.GetID() for volume in study.sequences.values()]
            return True
        return False


def registerSegmentStatisticsPlugin():
    """EMHAssist's ratios as Segment Statistics measurements, when that module is present."""
    try:
        from SegmentStatistics import SegmentStatisticsLogic
    except ImportError:
        return
    from EMHAssistPlugins.SegmentStatisticsRatios import EMHAssistRatiosPlugin

    if EMHAssistRatiosPlugin not in SegmentStatisticsLogic.registeredPlugins:
        SegmentStatisticsLogic.registerPlugin(EMHAssistRatiosPlugin())


#
# EMHAssistParameterNode
#


def sequenceParameterName(role: str) -> str:
    """Parameter holding the volume of a sequence role: "T1C" -> "t1cVolume"."""
    return f"{role.lower()}Volume"


def regionParameterName(region: str) -> str:
    """Parameter holding the markups ROI or segmentation of a region: "cord" -> "cordSource"."""
    return f"{region}Source"


def regionWidgetName(region: str, kind: str) -> str:
    """Object name in the .ui of a widget in a region's row: ("cord", "PlaceButton") -> "cordPlaceButton"."""
    return f"{region}{kind}"


def sequenceWidgetName(role: str) -> str:
    """Object name in the .ui of a sequence role's selector: "T1C" -> "t1cVolumeSelector"."""
    return f"{sequenceParameterName(role)}Selector"


# Node fields are nullable as they are; a union of node types must end in None (the wrapper's rule).
RegionSourceNode = typing.Union[vtkMRMLMarkupsROINode, vtkMRMLSegmentationNode, None]


@parameterNodeWrapper
class EMHAssistParameterNode:
    """
    The module's inputs and results, saved with the scene.

    t1Volume ... opVolume - The volume of each sequence role (T1, T2, STIR, post-contrast T1, fat-suppressed
        T1, T1C and T2, ADC map, in-phase and opposed-phase), or None if the study has no such sequence.
    cordSource ... discSource - A markups ROI, or a segmentation (its segment named like the region, else its
        only segment), outlining each region.
    regionSegmentation - Optional segmentation whose segments named like regions outline them too.
    levelPoints - Point list of vertebral body centres labelled with their level (one is enough to find the rest).
    age, sex, conditions, findings, primary - The clinical context, in the vocabulary of the differential.
    caseName - Names the overlay folder and the report; the saved scene's name when left empty.
    patient, examDate - Who and when (YYYY-MM-DD), kept in the report's clinical context so that
        "Compare with an earlier exam" matches this exam to an earlier one of the same patient.
    liveUpdate - Recompute as soon as an input changes.
    resultsTable - The table receiving the region statistics and ratios.
    report - Text node holding the last report as JSON.
    quizCase - The built-in case the quiz opens, by number (names and titles would give the answer away).
    quizDiagnosis - The learner's diagnosis, revealed against the case's expected answer.
    """

    t1Volume: vtkMRMLScalarVolumeNode
    t2Volume: vtkMRMLScalarVolumeNode
    stirVolume: vtkMRMLScalarVolumeNode
    t1cVolume: vtkMRMLScalarVolumeNode
    t1fsVolume: vtkMRMLScalarVolumeNode
    t1cfsVolume: vtkMRMLScalarVolumeNode
    t2fsVolume: vtkMRMLScalarVolumeNode
    adcVolume: vtkMRMLScalarVolumeNode
    ipVolume: vtkMRMLScalarVolumeNode
    opVolume: vtkMRMLScalarVolumeNode
    cordSource: RegionSourceNode
    massSource: RegionSourceNode
    marrowSource: RegionSourceNode
    muscleSource: RegionSourceNode
    discSource: RegionSourceNode
    regionSegmentation: vtkMRMLSegmentationNode
    levelPoints: vtkMRMLMarkupsFiducialNode
    age: Annotated[int, WithinRange(AGE_NOT_STATED, int(clinical_terms().age_range[1]))] = AGE_NOT_STATED
    sex: Annotated[str, Choice(clinical_choices("sex"))] = ""
    conditions: list[str]
    findings: list[str]
    primary: Annotated[str, Choice(clinical_choices("primaries"))] = ""
    caseName: str
    patient: str
    examDate: str
    liveUpdate: bool = True
    resultsTable: vtkMRMLTableNode
    report: vtkMRMLTextNode
    quizCase: Annotated[str, Choice(quiz_case_labels())] = quiz_case_labels()[0]
    quizDiagnosis: Annotated[str, Choice(["", *diagnosis_names()])] = ""


# Fields the widget sets from code rather than through a widget bound in the .ui.
UNBOUND_PARAMETERS = ("conditions", "findings", "report")


#
# EMHAssistWidget
#


class EMHAssistWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """Uses ScriptedLoadableModuleWidget base class, available at:
    https://github.com/Slicer/Slicer/blob/main/Base/Python/slicer/ScriptedLoadableModule.py

    A thin shell: it reads widgets and calls EMHAssistLogic; the computation is in EMHAssistLib.
    """

    def __init__(self, parent=None) -> None:
        """Called when the user opens the module the first time and the widget is initialized."""
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)  # needed for parameter node observation
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._live = LiveAnalysis()
        self._observedInputs = []
        self._clinicalCheckBoxes = {}
        self._updateTimer = None
        self.srExportAction = None

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

        # A drag sends many modified events; results follow the last one after a pause.
        self._updateTimer = qt.QTimer()
        self._updateTimer.setSingleShot(True)
        self._updateTimer.interval = panel_settings().throttle_ms
        self._updateTimer.connect("timeout()", self.updateResults)

        self._clinicalCheckBoxes = add_clinical_checkboxes(qt, self.ui, clinical_terms())
        for checkBox in self._clinicalCheckBoxes.values():
            checkBox.connect("toggled(bool)", self.onClinicalCheckBoxToggled)
        self.ui.anchorLevelComboBox.addItems(["", *vertebra_names()])
        self.ui.anchorLevelComboBox.connect("currentIndexChanged(int)", lambda index: self._showState())

        # Keep the parameter node valid across scene close.
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndImportEvent, self.onSceneEndImport)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.NodeAddedEvent, self.onNodeAdded)

        for region in region_names():
            placeButton = getattr(self.ui, regionWidgetName(region, "PlaceButton"))
            placeButton.connect("clicked(bool)", lambda checked, region=region: self.onPlaceRegion(region))
        self.ui.autoFillButton.connect("clicked(bool)", self.onAutoFillButton)
        self.ui.placeAnchorButton.connect("clicked(bool)", self.onPlaceAnchorButton)
        self.ui.loadLevelsButton.connect("clicked(bool)", self.onLoadLevelsButton)
        self.ui.findLevelsButton.connect("clicked(bool)", self.onFindLevelsButton)
        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
        self.ui.overlaysVisibleCheckBox.connect("toggled(bool)", self.onOverlaysVisibleToggled)
        self.ui.compareButton.connect("clicked(bool)", self.onCompareButton)
        show_comparison(self.ui, "")
        self._addSaveReportMenu()
        self.ui.openQuizButton.connect("clicked(bool)", lambda checked: self.onOpenQuizButton(askFirst=True))
        self.ui.revealButton.connect("clicked(bool)", self.onRevealButton)

        # Needed after a module reload, when the scene already holds a parameter node.
        self.initializeParameterNode()

    def cleanup(self) -> None:
        """Called when the application closes and the module widget is destroyed."""
        self._updateTimer.stop()
        self.removeObservers()

    def enter(self) -> None:
        """Called each time the user opens this module: the sequence roles are filled from the loaded
        volumes' names (only empty roles, each by the one volume naming it)."""
        self.initializeParameterNode()
        self.onAutoFillButton()

    def exit(self) -> None:
        """Called each time the user opens a different module."""
        # Results stay live while another module (Markups, Data) is used to edit the ROIs.

    def onSceneStartClose(self, caller, event) -> None:
        """Called just before the scene is closed."""
        # The parameter node and every observed input are about to be removed with the scene.
        self._updateTimer.stop()
        self.setParameterNode(None)
        self._live.reset()
        self.logic.quiz = None

    def onSceneEndClose(self, caller, event) -> None:
        """Called just after the scene is closed."""
        if self.parent.isEntered:
            self.initializeParameterNode()

    def onSceneEndImport(self, caller, event) -> None:
        """Called after a scene (a saved .mrb) is loaded: its inputs, results and quiz come back."""
        if self.parent.isEntered:
            self.initializeParameterNode()

    @vtk.calldata_type(vtk.VTK_OBJECT)
    def onNodeAdded(self, caller, event, node) -> None:
        # A volume's name is set after it is added: fill the roles once the event has passed.
        if node.IsA("vtkMRMLScalarVolumeNode") and not slicer.mrmlScene.IsImporting():
            qt.QTimer.singleShot(0, self.onAutoFillButton)

    def initializeParameterNode(self) -> None:
        """Ensure parameter node exists and observed, and bring back a quiz the scene holds."""
        self.setParameterNode(self.logic.getParameterNode())
        if self.logic.parameterNodeNote:
            self.ui.statusLabel.text = self.logic.parameterNodeNote
        if self.logic.quiz is None:
            self._restoreQuiz()

    def setParameterNode(self, inputParameterNode: EMHAssistParameterNode | None) -> None:
        """Set and observe the parameter node, so the GUI follows every change to it."""
        if self._parameterNode and inputParameterNode and self._parameterNode.parameterNode is inputParameterNode.parameterNode:
            # Already connected. Slicer 5.10's disconnectGui leaves connectGui's observer on the node
            # (5.12 removes it), so reconnecting at every enter() would pile observers up there.
            return
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.onParameterNodeModified)
        self._removeInputObservers()
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            # Widgets carrying a "SlicerParameterName" dynamic property in the .ui are bound here.
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            relabel_clinical_choices(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.onParameterNodeModified)
            self.onParameterNodeModified()
            self._showSavedReport()

    def onParameterNodeModified(self, caller=None, event=None) -> None:
        self._updateClinicalCheckBoxes()
        self.ui.levelPointsWidget.setCurrentNode(self._parameterNode.levelPoints)
        self._showState()
        quiz = self.logic.quiz
        self.ui.revealButton.enabled = bool(quiz and not quiz.revealed and self._parameterNode.quizDiagnosis)
        with slicer.util.tryWithErrorDisplay(_("Failed to record the diagnosis.")):
            self.logic.recordQuizPick(self._parameterNode)
        self._observeInputs()
        self._scheduleUpdate()

    def _showState(self) -> None:
        """Each step's check, whether the differential is provisional, and why a button is disabled."""
        if not self._parameterNode:
            return
        p = self._parameterNode
        state = panel_state(
            {role: getattr(p, sequenceParameterName(role)) for role in sequence_roles()},
            {region: getattr(p, regionParameterName(region)) for region in region_names()},
            p.regionSegmentation,
            p.levelPoints,
            (p.age, p.sex, list(p.conditions), list(p.findings), p.primary),
            self.ui.anchorLevelComboBox.currentText,
            p.report is not None,
        )
        show_state(self.ui, state)

    # --- Live updates --------------------------------------------------------------------------

    def _observeInputs(self) -> None:
        """Observe every selected input, so that moving or editing it schedules an update. Only the
        observations that changed are added or removed, each (node, event) once even when one node
        feeds two inputs."""
        wanted = observations(self.logic.inputEvents(self._parameterNode))
        for node, event in self._observedInputs:
            if not any(node is other and event == otherEvent for other, otherEvent in wanted):
                self.removeObserver(node, event, self.onInputModified)
        for node, event in wanted:
            if not any(node is other and event == otherEvent for other, otherEvent in self._observedInputs):
                self.addObserver(node, event, self.onInputModified)
        self._observedInputs = wanted

    def _removeInputObservers(self) -> None:
        for node, event in self._observedInputs:
            self.removeObserver(node, event, self.onInputModified)
        self._observedInputs = []

    def onInputModified(self, caller, event) -> None:
        # A point placed or relabelled changes step 3's check and enables Find levels.
        self._showState()
        self._scheduleUpdate()

    def _scheduleUpdate(self) -> None:
        if self._parameterNode and self._parameterNode.liveUpdate and self.logic.canProcess(self._parameterNode):
            self._updateTimer.start()

    def updateResults(self) -> None:
        """Recompute what changed, write the results into the scene and show them."""
        if not self._parameterNode or slicer.mrmlScene.IsClosing():
            return
        with slicer.util.tryWithErrorDisplay(_("Failed to update the results."), waitCursor=True):
            result = self.logic.update(self._parameterNode, self._live)
            self._showStatuses(result)
            if result.analysis is not None:
                self._showReport(result.analysis.report)

    def onApplyButton(self) -> None:
        self.updateResults()

    # --- Inputs ---------------------------------------------------------------------------------

    def onAutoFillButton(self) -> None:
        if self._parameterNode:
            self.logic.fillSequenceRoles(self._parameterNode)

    def onPlaceRegion(self, region: str) -> None:
        """Start placing a new ROI for the region as Slicer places ROIs: two clicks at opposite corners in a
        slice view (two clicks on one spot give the region's default-sized box there). In an open quiz the ROI is the learner's, kept out of the
        results until the reveal."""
        quiz = self.logic.quiz
        inQuiz = quiz is not None and not quiz.revealed
        roi = new_node_to_place(slicer.mrmlScene, "vtkMRMLMarkupsROINode", f"your {region}" if inQuiz else region)
        roi.AddObserver(
            slicer.vtkMRMLMarkupsNode.PointPositionDefinedEvent, lambda caller, event: give_default_size(caller, region)
        )
        if inQuiz:
            quiz.adopt_roi(region, roi)
        else:
            setattr(self._parameterNode, regionParameterName(region), roi)
        set_place_target(slicer.app.applicationLogic().GetSelectionNode(), "vtkMRMLMarkupsROINode", roi)
        slicer.app.applicationLogic().GetInteractionNode().SetCurrentInteractionMode(slicer.vtkMRMLInteractionNode.Place)

    def onPlaceAnchorButton(self) -> None:
        """Place one point on the anchor vertebra as Slicer places any point; it takes the level picked
        in the combo box. The point joins the level points (a new list if there is none)."""
        with slicer.util.tryWithErrorDisplay(_("Failed to place the anchor vertebra.")):
            self._placeAnchor(self.ui.anchorLevelComboBox.currentText)

    def _placeAnchor(self, level: str) -> None:
        points = self._parameterNode.levelPoints
        if points is None:
            points = new_node_to_place(slicer.mrmlScene, "vtkMRMLMarkupsFiducialNode", "level anchor")
            self._parameterNode.levelPoints = points
        name_anchor_when_placed(points, level)
        set_place_target(slicer.app.applicationLogic().GetSelectionNode(), "vtkMRMLMarkupsFiducialNode", points)
        interactionNode = slicer.app.applicationLogic().GetInteractionNode()
        interactionNode.SetPlaceModePersistence(0)
        interactionNode.SetCurrentInteractionMode(slicer.vtkMRMLInteractionNode.Place)

    def onLoadLevelsButton(self) -> None:
        fileFilter = _("Markups (*.mrk.json *.fcsv *.json)")
        path = qt.QFileDialog.getOpenFileName(self.parent, _("Load level points"), "", fileFilter)
        if path:
            with slicer.util.tryWithErrorDisplay(_("Failed to load the level points."), waitCursor=True):
                self._parameterNode.levelPoints = slicer.util.loadMarkups(path)

    def onFindLevelsButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Failed to find the levels."), waitCursor=True):
            self.logic.findLevels(self._parameterNode)

    def onClinicalCheckBoxToggled(self, checked: bool) -> None:
        if not self._parameterNode:
            return
        for section in ("conditions", "findings"):
            chosen = [term for (part, term), box in self._clinicalCheckBoxes.items() if part == section and box.checked]
            setattr(self._parameterNode, section, chosen)

    def _updateClinicalCheckBoxes(self) -> None:
        for (section, term), checkBox in self._clinicalCheckBoxes.items():
            wasBlocked = checkBox.blockSignals(True)
            checkBox.checked = term in getattr(self._parameterNode, section)
            checkBox.blockSignals(wasBlocked)

    # --- Results --------------------------------------------------------------------------------

    def _showStatuses(self, result: LiveResult) -> None:
        show_region_statuses(self.ui, result.statuses)
        messages = ([str(result.error)] if result.error else []) + result.notes + ([self.logic.parameterNodeNote] if self.logic.parameterNodeNote else [])
        self.ui.statusLabel.text = "\n".join(messages) if messages else _("Results are up to date.")

    def _showSavedReport(self) -> None:
        """After a scene is loaded, show the report saved in it."""
        if self._parameterNode.report is None:
            return
        try:
            self._showReport(read_report_node(self._parameterNode.report))
        except InputError as error:
            self.ui.statusLabel.text = str(error)

    def _showReport(self, report: Report | None) -> None:
        """Show a report's levels, warnings and differential; None clears them. A comparison shown
        was made with the report before: it is cleared too."""
        self._showState()
        show_comparison(self.ui, "")
        if report is None:
            show_report(qt, self.ui, None, "", "")
            self.ui.overlaysVisibleCheckBox.enabled = False
            return
        show_report(qt, self.ui, report, levels_text(report), warnings_text(report.warnings))
        self._hideOverlaysFromSelectors()
        overlays = find_overlays(slicer.mrmlScene, report.case)
        self.ui.overlaysVisibleCheckBox.enabled = overlays is not None
        if overlays is not None:
            wasBlocked = self.ui.overlaysVisibleCheckBox.blockSignals(True)
            self.ui.overlaysVisibleCheckBox.checked = overlays_visible(slicer.mrmlScene, overlays.folder)
            self.ui.overlaysVisibleCheckBox.blockSignals(wasBlocked)

    def _hideOverlaysFromSelectors(self) -> None:
        """The overlays are results, redrawn (replaced) at every update: the input selectors do not offer
        them (the logic also refuses one picked otherwise, see refuse_overlays)."""
        hidden = overlay_node_ids(slicer.mrmlScene)
        for selector in slicer.util.findChildren(self.parent, className="qMRMLNodeComboBox"):
            selector.sortFilterProxyModel().hiddenNodeIDs = hidden

    def onOverlaysVisibleToggled(self, visible: bool) -> None:
        report = self.logic.savedReport(self._parameterNode)
        overlays = find_overlays(slicer.mrmlScene, report.case) if report else None
        if overlays is not None:
            set_overlays_visible(slicer.mrmlScene, overlays.folder, visible)

    # --- Quiz -----------------------------------------------------------------------------------

    def onOpenQuizButton(self, askFirst: bool = False) -> None:
        """Open the chosen case in an emptied scene with its answer hidden: sequences and level points only.
        The button asks first, since the scene is cleared."""
        if askFirst and not slicer.util.confirmOkCancelDisplay(QUIZ_CLEARS_SCENE, windowTitle=_("Open quiz")):
            return
        with slicer.util.tryWithErrorDisplay(_("Failed to open the quiz case."), waitCursor=True):
            quiz = self.logic.openQuiz(self._parameterNode.quizCase)
            self._showReport(None)
            self._showQuiz(quiz)
            slicer.util.setSliceViewerLayers(background=next(iter(quiz.study.sequences.values())), fit=True)
            self.onParameterNodeModified()

    def onRevealButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Failed to reveal the answer."), waitCursor=True):
            self._showReveal(self.logic.revealQuiz(self._parameterNode))
            self.onParameterNodeModified()

    def _restoreQuiz(self) -> None:
        """A loaded scene's quiz comes back as it was saved: answer hidden, or the reveal shown again."""
        with slicer.util.tryWithErrorDisplay(_("Failed to restore the quiz."), waitCursor=True):
            quiz = self.logic.restoreQuiz(self._parameterNode)
            if quiz is None:
                return
            self._showQuiz(quiz)
            if quiz.revealed:
                self._showReveal(quiz.reveal(quiz.picked))
            self.onParameterNodeModified()

    def _showQuiz(self, quiz: Quiz) -> None:
        self.ui.quizStoryLabel.text = quiz.info.story
        self.ui.quizResultLabel.text = ""
        self.ui.statusLabel.text = _("Quiz: outline the regions with the Place buttons of step 2, pick a diagnosis, then Reveal.")

    def _showReveal(self, reveal: Reveal) -> None:
        self.ui.quizResultLabel.text = reveal_text(reveal, self.logic.quiz.info.title)
        self._showReport(reveal.report)
        self.ui.statusLabel.text = _("Revealed: your ROIs' results below; the reference boxes are green.")
        centre = self.logic.quiz.reference_rois["mass"][0].GetCenter()
        slicer.modules.markups.logic().JumpSlicesToLocation(*centre, True)

    # --- Export ---------------------------------------------------------------------------------

    def _exportPath(self, title: str, suffix: str, fileFilter: str) -> Path | None:
        report = self.logic.savedReport(self._parameterNode)
        if report is None:
            slicer.util.errorDisplay(_("There are no results to export yet."))
            return None
        path = qt.QFileDialog.getSaveFileName(self.parent, title, f"{report.case}{suffix}", fileFilter)
        return Path(path) if path else None

    def onExportJsonButton(self) -> None:
        path = self._exportPath(_("Save the report as JSON"), ".json", _("JSON (*.json)"))
        if path:
            with slicer.util.tryWithErrorDisplay(_("Failed to save the report."), waitCursor=True):
                write_json(self.logic.savedReport(self._parameterNode), path)

    def onExportSummaryButton(self) -> None:
        path = self._exportPath(_("Save the report as text"), ".txt", _("Text (*.txt)"))
        if path:
            with slicer.util.tryWithErrorDisplay(_("Failed to save the report."), waitCursor=True):
                path.write_text(summary_text(self.logic.savedReport(self._parameterNode)), encoding="utf-8")

    def onExportHtmlButton(self) -> None:
        path = self._exportPath(_("Save the report as a web page"), ".html", _("Web page (*.html)"))
        if path:
            with slicer.util.tryWithErrorDisplay(_("Failed to save the report."), waitCursor=True):
                if self.logic.ensureJinja2():
                    write_html(self.logic.savedReport(self._parameterNode), self.logic.sliceViewImages(), path)

    def onExportSrButton(self) -> None:
        path = self._exportPath(_("Save the report as a DICOM Structured Report"), ".sr.dcm", _("DICOM (*.dcm)"))
        if path:
            # Installing highdicom can fail too (no network, pip refusing the constraints): shown, never lost.
            with slicer.util.tryWithErrorDisplay(_("Failed to save the DICOM Structured Report."), waitCursor=True):
                if self.logic.ensureHighdicom():
                    self.logic.writeStructuredReport(self._parameterNode, path)

    def onCompareButton(self) -> None:
        """Compare the results shown with an earlier exam's report JSON of the same patient."""
        if self.logic.savedReport(self._parameterNode) is None:
            slicer.util.errorDisplay(_("There are no results to compare yet."))
            return
        path = qt.QFileDialog.getOpenFileName(
            self.parent, _("Open the report JSON of an earlier exam"), "", _("EMHAssist report (*.json)")
        )
        if not path:
            return
        with slicer.util.tryWithErrorDisplay(_("Failed to compare with the earlier exam."), waitCursor=True):
            show_comparison(self.ui, comparison_text(self.logic.compareWithEarlier(self._parameterNode, Path(path))))

    def _addSaveReportMenu(self) -> None:
        """One "Save report" menu, narrow enough for the panel. Where this Slicer's packages rule
        highdicom out, the SR entry is disabled and says why; JSON, text and HTML remain."""
        menu = qt.QMenu(self.ui.saveReportButton)
        menu.toolTipsVisible = True
        for text, toolTip, handler in (
            (_("Report as JSON..."), _("The whole report, every number and explanation."), self.onExportJsonButton),
            (_("Summary as text..."), _("The readable summary the command line prints."), self.onExportSummaryButton),
            (_("Web page with slice views..."), _("One self-contained page: the slice views as shown, levels, ratios, the differential with its reasons and references, the caveat."), self.onExportHtmlButton),
            (_("DICOM Structured Report..."), _("TID 1500, citing the source images; every sequence must have been loaded from DICOM."), self.onExportSrButton),
            (_("Screenshot of the views..."), _("The view layout, overlays included, as a PNG image."), self.onScreenshotButton),
        ):
            action = menu.addAction(text)
            action.toolTip = toolTip
            action.connect("triggered()", handler)
            if handler == self.onExportSrButton:
                self.srExportAction = action
        plan = sr_export_plan(installed_versions(sr_export_packages()))
        self.srExportAction.enabled = plan.action != SR_UNAVAILABLE
        if plan.action == SR_UNAVAILABLE:
            self.srExportAction.toolTip = plan.message
        self.ui.saveReportButton.setMenu(menu)

    def onScreenshotButton(self) -> None:
        path = self._exportPath(_("Save a screenshot of the views"), ".png", _("PNG image (*.png)"))
        if path:
            import ScreenCapture

            with slicer.util.tryWithErrorDisplay(_("Failed to save the screenshot."), waitCursor=True):
                ScreenCapture.ScreenCaptureLogic().captureImageFromView(None, str(path))


#
# EMHAssistLogic
#


class EMHAssistLogic(ScriptedLoadableModuleLogic):
    """Hands the selected MRML nodes to EMHAssistLib, the Qt-free engine the command line also uses,
    and keeps its results in the scene (a table node, the report in a text node, the overlays).
    Usable without the widget.
    Uses ScriptedLoadableModuleLogic base class, available at:
    https://github.com/Slicer/Slicer/blob/main/Base/Python/slicer/ScriptedLoadableModule.py
    """

    def __init__(self) -> None:
        """Called when the logic class is instantiated. Can be used for initializing member variables."""
        ScriptedLoadableModuleLogic.__init__(self)
        self.quiz: Quiz | None = None
        self.parameterNodeNote: str | None = None

    def getParameterNode(self):
        # Slicer's singleton, else the first EMHAssist node of the scene rather than a new, empty one
        # (panel.parameter_node_choice); the note naming the others is shown by the widget.
        choice = parameter_node_choice(slicer.mrmlScene, self.moduleName)
        self.parameterNodeNote = choice.note
        return EMHAssistParameterNode(choice.node or super().getParameterNode())

    def canProcess(self, parameterNode: EMHAssistParameterNode) -> bool:
        """True when at least one sequence and one region source are selected."""
        anySequence = any(getattr(parameterNode, sequenceParameterName(role)) for role in sequence_roles())
        anyRegion = any(getattr(parameterNode, regionParameterName(region)) for region in region_names())
        return anySequence and (anyRegion or parameterNode.regionSegmentation is not None)

    def study(self, parameterNode: EMHAssistParameterNode) -> Study:
        """The selected nodes and clinical context as a study. Raises InputError naming what is wrong."""
        refuse_overlays(self.selectedInputs(parameterNode))
        if not parameterNode.caseName:
            parameterNode.caseName = caseName(slicer.mrmlScene)
        p = parameterNode
        clinical = clinical_from_panel(p.age, p.sex, list(p.conditions), list(p.findings), p.primary, p.patient.strip(), p.examDate.strip())
        return study_from_nodes(
            parameterNode.caseName,
            {role: getattr(parameterNode, sequenceParameterName(role)) for role in sequence_roles()},
            {region: getattr(parameterNode, regionParameterName(region)) for region in region_names()},
            segmentation=parameterNode.regionSegmentation,
            levels=parameterNode.levelPoints,
            clinical=clinical,
        )

    def update(self, parameterNode: EMHAssistParameterNode, live: LiveAnalysis) -> LiveResult:
        """Recompute what changed since `live` last ran and keep the results in the scene."""
        if self.quiz is not None and not self.quiz.revealed:
            return LiveResult(None, InputError(_("Quiz"), _("the results show at the reveal.")), {})
        try:
            study = self.study(parameterNode)
        except InputError as error:
            return LiveResult(None, error, {})
        result = live.update(study)
        if result.analysis is not None and self._resultsChanged(parameterNode, result.analysis.report):
            self._saveResults(parameterNode, result.analysis, study)
        return result

    def _saveResults(self, parameterNode: EMHAssistParameterNode, analysis, study: Study) -> None:
        if parameterNode.resultsTable is None:
            parameterNode.resultsTable = new_table(slicer.mrmlScene, RESULTS_TABLE_NAME)
        if parameterNode.report is None:
            parameterNode.report = new_text_node(slicer.mrmlScene, REPORT_NODE_NAME)
        save_results(slicer.mrmlScene, analysis, study, parameterNode.resultsTable, parameterNode.report)

    def process(self, parameterNode: EMHAssistParameterNode) -> Report:
        """Analyse the selected nodes from scratch, keep the results in the scene and return the report.

        Raises InputError, naming the node, when an input cannot be measured.
        """
        result = self.update(parameterNode, LiveAnalysis())
        if result.analysis is None:
            raise result.error or InputError(parameterNode.caseName, "; ".join(result.notes))
        return result.analysis.report

    def _resultsChanged(self, parameterNode: EMHAssistParameterNode, report: Report) -> bool:
        """Whether the scene lacks these results: unchanged ones are not written (and redrawn) again."""
        if parameterNode.resultsTable is None or parameterNode.report is None:
            return True
        try:
            saved = to_json(read_report_node(parameterNode.report))
        except InputError:
            return True
        return saved != json.loads(json.dumps(to_json(report))) or find_overlays(slicer.mrmlScene, report.case) is None

    def ensureJinja2(self) -> bool:
        """The web page is written from a Jinja2 template; Slicer does not ship Jinja2 (a pure-Python
        package that pins nothing of Slicer's), so it is installed on request."""
        if importlib.util.find_spec("jinja2") is not None:
            return True
        if not slicer.util.confirmOkCancelDisplay(_("Saving the report as a web page needs the Python package Jinja2, which Slicer does not include. Install it now?")):
            return False
        slicer.util.pip_install("Jinja2==3.1.6")
        importlib.invalidate_caches()
        return importlib.util.find_spec("jinja2") is not None

    def ensureHighdicom(self) -> bool:
        """highdicom writes the DICOM SR. Slicer does not ship it: where Slicer's own packages allow it
        (sr_export_plan) it is installed on request, Slicer's packages held at their versions."""
        plan = sr_export_plan(installed_versions(sr_export_packages()))
        if plan.action == SR_AVAILABLE:
            return True
        if plan.action == SR_UNAVAILABLE:
            slicer.util.errorDisplay(plan.message)
            return False
        if not slicer.util.confirmOkCancelDisplay(plan.message):
            return False
        constraints = Path(slicer.app.temporaryPath) / "EMHAssist-pip-constraints.txt"
        constraints.write_text(plan.constraints, encoding="utf-8")
        slicer.util.pip_install([plan.requirement, "-c", str(constraints)])
        importlib.invalidate_caches()
        try:
            import highdicom  # noqa: F401
        except ImportError:
            slicer.util.infoDisplay(_("highdicom is installed. Restart Slicer, then save the DICOM Structured Report again."))
            return False
        return True

    def writeStructuredReport(self, parameterNode: EMHAssistParameterNode, path: Path) -> None:
        """The DICOM SR of the saved results, citing the instances of every sequence as Slicer's DICOM
        database holds them (every sequence must have been loaded from DICOM)."""
        from EMHAssistLib.outputs.structured_report import evidence_from_files, write_structured_report

        sequences = self.study(parameterNode).sequences
        files = {
            role: [slicer.dicomDatabase.fileForInstance(uid) for uid in (volume.GetAttribute("DICOM.instanceUIDs") or "").split()]
            for role, volume in sequences.items()
        }
        write_structured_report(self.savedReport(parameterNode), evidence_from_files(files), path)

    def sliceViewImages(self) -> list[KeyImage]:
        """The slice views as they are shown now (overlays included), for the HTML report."""
        import tempfile

        import ScreenCapture

        capture = ScreenCapture.ScreenCaptureLogic()
        layout = slicer.app.layoutManager()
        images = []
        with tempfile.TemporaryDirectory() as folder:
            for name in layout.sliceViewNames():
                sliceWidget = layout.sliceWidget(name)
                if not sliceWidget.isVisible():
                    continue
                path = Path(folder) / f"{name}.png"
                capture.captureImageFromView(sliceWidget.sliceView(), str(path))
                orientation = sliceWidget.mrmlSliceNode().GetOrientation()
                caption = _("The {name} slice view as shown in Slicer when the report was saved.").format(name=name)
                images.append(KeyImage(f"{orientation} ({name})", caption, path.read_bytes()))
        return images

    def compareWithEarlier(self, parameterNode: EMHAssistParameterNode, earlierReport: Path) -> Comparison:
        """The saved results against an earlier exam's report JSON (the same patient, named in both
        exams' clinical context); an InputError line when the file or the pair is refused."""
        if parameterNode.report is None:
            raise InputError(str(earlierReport), "there are no results of this exam to compare it with yet")
        return compare_with_earlier(str(earlierReport), parameterNode.report)

    def savedReport(self, parameterNode: EMHAssistParameterNode) -> Report | None:
        return read_report_node(parameterNode.report) if parameterNode.report is not None else None

    def selectedInputs(self, parameterNode: EMHAssistParameterNode) -> list:
        """Every input node selected in the panel (sequences, region sources, segmentation, level points)."""
        nodes = [getattr(parameterNode, sequenceParameterName(role)) for role in sequence_roles()]
        nodes += [getattr(parameterNode, regionParameterName(region)) for region in region_names()]
        nodes += [parameterNode.regionSegmentation, parameterNode.levelPoints]
        return [node for node in nodes if node is not None]

    def inputEvents(self, parameterNode: EMHAssistParameterNode) -> list:
        """(node, events) for every selected input whose change alters the results."""
        return [(node, events_to_observe(node)) for node in self.selectedInputs(parameterNode)]

    def fillSequenceRoles(self, parameterNode: EMHAssistParameterNode) -> dict:
        """Select, for each empty role, the one unselected volume whose name or DICOM series
        description names it; roles two volumes claim are left for the user."""
        selected = {getattr(parameterNode, sequenceParameterName(role)) for role in sequence_roles()}
        taken = [role for role in sequence_roles() if getattr(parameterNode, sequenceParameterName(role)) is not None]
        candidates = {
            volume: volumeNames(volume)
            for volume in slicer.util.getNodesByClass("vtkMRMLScalarVolumeNode")
            if volume not in selected and not volume.IsA("vtkMRMLLabelMapVolumeNode")
        }
        suggestions = suggest_roles(candidates, taken)
        for role, volume in suggestions.items():
            setattr(parameterNode, sequenceParameterName(role), volume)
        return suggestions

    def findLevels(self, parameterNode: EMHAssistParameterNode) -> vtkMRMLMarkupsFiducialNode:
        """Every vertebra from the labelled level points (one is enough), as an editable point list
        that becomes the levels input."""
        found = find_levels(self.study(parameterNode), slicer.mrmlScene, slicer.mrmlScene.GenerateUniqueName("levels found"))
        parameterNode.levelPoints = found
        return found

    def loadTeachingCase(self, name: str, parameterNode: EMHAssistParameterNode) -> Study:
        """Build a synthetic teaching case into the scene and select it as the module's inputs."""
        study = study_into_scene(build_study(name), slicer.mrmlScene)
        with slicer.util.NodeModify(parameterNode.parameterNode):
            for role, volume in study.sequences.items():
                setattr(parameterNode, sequenceParameterName(role), volume)
            for region, sources in study.regions.items():
                setattr(parameterNode, regionParameterName(region), sources[0].node)
            parameterNode.levelPoints = study.levels
            parameterNode.caseName = study.name
            clinical = study.clinical
            parameterNode.age = clinical.age if clinical.age is not None else AGE_NOT_STATED
            parameterNode.sex = clinical.sex or ""
            parameterNode.conditions = list(clinical.conditions or ())
            parameterNode.findings = list(clinical.findings or ())
            parameterNode.primary = clinical.primary or ""
        return study

    def openQuiz(self, label: str) -> Quiz:
        """Empty the scene (an earlier case could show the answer) and open a built-in case as a quiz:
        its sequences and level points become the inputs; the learner's ROIs stay out of them."""
        name = quiz_case_name(label)
        slicer.mrmlScene.Clear()
        self.quiz = Quiz(name, slicer.mrmlScene)
        parameterNode = self.getParameterNode()
        with slicer.util.NodeModify(parameterNode.parameterNode):
            parameterNode.quizCase = label
            for role, volume in self.quiz.study.sequences.items():
                setattr(parameterNode, sequenceParameterName(role), volume)
            parameterNode.levelPoints = self.quiz.study.levels
        return self.quiz

    def restoreQuiz(self, parameterNode: EMHAssistParameterNode) -> Quiz | None:
        """The quiz the scene holds (a saved quiz loaded again), if any; its case and the learner's
        pick go back into the panel's fields."""
        self.quiz = Quiz.in_scene(slicer.mrmlScene)
        if self.quiz is not None:
            with slicer.util.NodeModify(parameterNode.parameterNode):
                parameterNode.quizCase = quiz_case_label(self.quiz.info.name)
                parameterNode.quizDiagnosis = diagnosis_name(self.quiz.picked) if self.quiz.picked else ""
        return self.quiz

    def recordQuizPick(self, parameterNode: EMHAssistParameterNode) -> None:
        """The diagnosis chosen in the panel becomes the open quiz's pick, saved with the scene."""
        if self.quiz is not None and not self.quiz.revealed and parameterNode.quizDiagnosis:
            self.quiz.pick(diagnosis_id(parameterNode.quizDiagnosis))

    def revealQuiz(self, parameterNode: EMHAssistParameterNode) -> Reveal:
        """Compare the learner's ROIs and diagnosis with the case's; the learner's results go into
        the results table, the report node and the overlays, the reference boxes into the scene."""
        if self.quiz is None:
            raise InputError("quiz", "open a quiz case first")
        reveal = self.quiz.reveal(diagnosis_id(parameterNode.quizDiagnosis))
        self._saveResults(parameterNode, self.quiz.learner_analysis, self.quiz.learner_study())
        return reveal


def volumeNames(volume: vtkMRMLScalarVolumeNode) -> list[str]:
    """The names a volume goes by: its node name and, when loaded from DICOM, its series description."""
    names = [volume.GetName()]
    instances = (volume.GetAttribute("DICOM.instanceUIDs") or "").split()
    if instances and slicer.dicomDatabase:
        description = slicer.dicomDatabase.fileValue(slicer.dicomDatabase.fileForInstance(instances[0]), "0008,103E")
        if description:
            names.append(description)
    return names


def caseName(scene) -> str:
    """The saved scene's file name names the case in the report; an unsaved scene has none."""
    return Path(scene.GetURL()).stem or "unsaved scene"


#
# EMHAssistTest
#


class EMHAssistTest(ScriptedLoadableModuleTest):
    """Runs on synthetic cases built in the scene: no sample data is downloaded.
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
        self.test_EMHAssistWorkflow()
        self.setUp()
        self.test_EMHAssistPanel()
        self.setUp()
        self.test_EMHAssistSegmentStatistics()
        self.setUp()
        self.test_EMHAssistQuiz()

    def test_EMHAssistBuiltInCase(self):
        """The built-in case against its noise-free images: the self-test body pytest also runs."""
        from EMHAssistLib.frontends.selftest import run_selftest

        self.delayDisplay("Analysing the built-in case and its noise-free images")
        run_selftest(slicer.mrmlScene)
        self.delayDisplay("Test passed")

    def test_EMHAssistWorkflow(self):
        """Sample Data's teaching case, live updates as an ROI moves, Find levels, and a .mrb round trip."""
        from EMHAssistLib.analysis import run_analysis
        from EMHAssistLib.teaching.cases import DEFAULT_CASE
        from EMHAssistLib.outputs.tables import read_results_table

        self.delayDisplay("Loading the teaching case by script, as SampleData.downloadSample does (nothing is downloaded)")
        registerSampleData()
        import SampleData

        firstVolume = SampleData.downloadSample(DEFAULT_CASE)
        logic = EMHAssistLogic()
        parameterNode = logic.getParameterNode()
        self.assertTrue(logic.canProcess(parameterNode))
        study = logic.study(parameterNode)
        self.assertEqual(study.name, DEFAULT_CASE)
        self.assertIn(firstVolume, study.sequences.values())

        self.delayDisplay("Results (as Apply computes them) leave the user's placement target alone")
        selectionNode = slicer.app.applicationLogic().GetSelectionNode()
        target = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "placement target")
        selectionNode.SetReferenceActivePlaceNodeClassName("vtkMRMLMarkupsROINode")
        selectionNode.SetActivePlaceNodeID(target.GetID())
        live = LiveAnalysis()
        first = logic.update(parameterNode, live)
        self.assertEqual(selectionNode.GetActivePlaceNodeID(), target.GetID())
        slicer.mrmlScene.RemoveNode(target)

        self.delayDisplay("Then a moved marrow ROI re-measured alone (live update)")
        self.assertIsNone(first.error)
        tableRatios = read_results_table(parameterNode.resultsTable).ratios
        self.assertEqual(tableRatios.keys(), first.analysis.report.ratios.keys())
        self.assertEqual(logic.savedReport(parameterNode), first.analysis.report)
        self.assertIsNotNone(find_overlays(slicer.mrmlScene, study.name))
        marrow = parameterNode.marrowSource
        centre = marrow.GetCenter()
        marrow.SetCenter(centre[0], centre[1], centre[2] + 2.0)
        moved = logic.update(parameterNode, live)
        self.assertEqual(moved.recomputed, ["marrow"])
        self.assertEqual(moved.analysis.report, run_analysis(logic.study(parameterNode)).report)
        logic.update(parameterNode, live)
        self.assertEqual(len(slicer.util.getNodesByClass("vtkMRMLTableNode")), 1)

        self.delayDisplay("Find levels from one anchor")
        anchor = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "anchor")
        levels = study.levels
        middle = levels.GetNumberOfControlPoints() // 2
        position = slicer.util.arrayFromMarkupsControlPoints(levels, world=True)[middle]
        anchor.AddControlPointWorld(*position, levels.GetNthControlPointLabel(middle))
        parameterNode.levelPoints = anchor
        found = logic.findLevels(parameterNode)
        self.assertEqual(parameterNode.levelPoints, found)
        self.assertGreaterEqual(found.GetNumberOfControlPoints(), levels.GetNumberOfControlPoints() - 2)

        self.delayDisplay("Roles filled from volume names")
        parameterNode.t2Volume = None
        self.assertEqual(logic.fillSequenceRoles(parameterNode), {"T2": study.sequences["T2"]})

        self.delayDisplay("Export: JSON, a web page with the slice views, and the DICOM SR offered as this Slicer allows")
        report = logic.process(parameterNode)
        exported = Path(slicer.app.temporaryPath) / "EMHAssistTest.json"
        write_json(logic.savedReport(parameterNode), exported)
        self.assertEqual(json.loads(exported.read_text(encoding="utf-8"))["ratios"].keys(), to_json(report)["ratios"].keys())
        page = exported.with_suffix(".html")
        if importlib.util.find_spec("jinja2") is None:
            self.delayDisplay("Web page export skipped: Jinja2 is not installed (Save report as a web page offers to install it)")
        else:
            write_html(logic.savedReport(parameterNode), logic.sliceViewImages(), page)
            self.assertIn("Research and teaching use only", page.read_text(encoding="utf-8"))
        plan = sr_export_plan(installed_versions(sr_export_packages()))
        slicer.util.selectModule("EMHAssist")
        widget = slicer.util.getModuleWidget("EMHAssist")
        self.assertEqual(widget.srExportAction.enabled, plan.action != SR_UNAVAILABLE)
        print(f"EMHAssist self-test: DICOM SR export is {plan.action} here ({plan.message})")

        self.delayDisplay("Saving and loading the scene as .mrb")
        bundle = os.path.join(slicer.app.temporaryPath, "EMHAssistTest.mrb")
        self.assertTrue(slicer.util.saveScene(bundle))
        slicer.mrmlScene.Clear()
        slicer.util.loadScene(bundle)
        restored = EMHAssistLogic().getParameterNode()
        self.assertEqual(restored.t2Volume.GetName(), "T2")
        self.assertEqual(restored.marrowSource.GetName(), marrow.GetName())
        self.assertEqual(restored.conditions, list(study.clinical.conditions or ()))
        self.assertEqual(EMHAssistLogic().savedReport(restored).ratios, report.ratios)
        self.assertIsNotNone(find_overlays(slicer.mrmlScene, study.name))
        self.delayDisplay("Test passed")

    def test_EMHAssistPanel(self):
        """The panel shows statuses, the levels line and the differential once a case is loaded."""
        from EMHAssistLib.teaching.cases import DEFAULT_CASE

        self.delayDisplay("Opening the module with a teaching case")
        slicer.util.selectModule("EMHAssist")
        widget = slicer.util.getModuleWidget("EMHAssist")
        EMHAssistLogic().loadTeachingCase(DEFAULT_CASE, widget._parameterNode)
        widget.updateResults()
        self.assertTrue(widget.ui.cordStatusLabel.text.startswith("✓ ≥ "))
        self.assertIn("mass T5", widget.ui.levelsLineLabel.text)
        self.assertEqual(widget.ui.differentialGroupBox.layout().count(), 3)
        self.assertGreater(widget.ui.otherDiagnosesGroupBox.layout().count(), 0)
        self.assertTrue(widget.ui.nextStepLabel.text.startswith("Next best step"))
        self.assertEqual(widget.ui.resultStateLabel.text, "")
        self.assertTrue(widget.ui.findLevelsButton.enabled)
        self.assertEqual(widget.ui.statusLabel.text, "Results are up to date.")

        self.delayDisplay("The anchor vertebra placed like a point takes the level picked")
        widget._parameterNode.levelPoints = None
        self.assertFalse(widget.ui.findLevelsButton.enabled)
        widget.ui.anchorLevelComboBox.currentText = "T6"
        widget.onPlaceAnchorButton()
        anchor = widget._parameterNode.levelPoints
        anchor.AddControlPoint(0.0, 0.0, 0.0)  # as a click in Place mode defines it
        self.assertEqual(anchor.GetNthControlPointLabel(0), "T6")
        self.assertTrue(widget.ui.findLevelsButton.enabled)  # the point's events refreshed step 3
        self.assertEqual(widget.ui.anchorCheckLabel.text, "✓ anchor T6: Find levels names the others")
        slicer.app.applicationLogic().GetInteractionNode().SetCurrentInteractionMode(slicer.vtkMRMLInteractionNode.ViewTransform)
        self.delayDisplay("Test passed")

    def test_EMHAssistSegmentStatistics(self):
        """Segment Statistics with the EMHAssist ratios plugin enabled gives EMHAssist's ratios for segments
        named like regions, and Slicer's own plugins still compute their statistics."""
        import SegmentStatistics
        from EMHAssistLib.teaching.cases import DEFAULT_CASE
        from EMHAssistLib.inputs.nodes import box_of_roi
        from EMHAssistLib.outputs.segment_statistics import region_segmentation, segment_ratios

        self.delayDisplay("Segment Statistics with the EMHAssist ratios plugin")
        registerSegmentStatisticsPlugin()
        study = study_into_scene(build_study(DEFAULT_CASE), slicer.mrmlScene)
        volume = study.sequences["T2"]
        boxes = {region: box_of_roi(study.regions[region][0].node) for region in ("mass", "cord")}
        segmentation = region_segmentation(slicer.mrmlScene, volume, boxes)
        logic = SegmentStatistics.SegmentStatisticsLogic()
        parameters = logic.getParameterNode()
        parameters.SetParameter("Segmentation", segmentation.GetID())
        parameters.SetParameter("ScalarVolume", volume.GetID())
        parameters.SetParameter("EMHAssistRatiosPlugin.enabled", "True")
        logic.computeStatistics()
        statistics = logic.getStatistics()
        measured = statistics["mass", "EMHAssistRatiosPlugin.mass/cord"]
        self.assertAlmostEqual(measured, segment_ratios(segmentation, "mass", volume)["mass/cord"])
        for segment in ("mass", "cord"):
            self.assertGreater(statistics[segment, "ScalarVolumeSegmentStatisticsPlugin.voxel_count"], 0)
        table = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLTableNode", "Segment statistics")
        logic.exportToTable(table)
        self.assertEqual(table.GetNumberOfRows(), 2)

        self.delayDisplay("Slicer's own Segment Statistics module still computes")
        slicer.util.selectModule("SegmentStatistics")
        ownLogic = slicer.util.getModuleLogic("SegmentStatistics")
        ownLogic.getParameterNode().SetParameter("Segmentation", segmentation.GetID())
        ownLogic.getParameterNode().SetParameter("ScalarVolume", volume.GetID())
        ownLogic.computeStatistics()
        self.assertGreater(ownLogic.getStatistics()["mass", "LabelmapSegmentStatisticsPlugin.volume_mm3"], 0)
        self.delayDisplay("Test passed")

    def test_EMHAssistQuiz(self):
        """A quiz case opens with its answer hidden; ROIs on the reference boxes and the right pick
        reveal a right verdict, Dice 1 for every region, the learner's results and the reference boxes."""
        from EMHAssistLib.teaching.cases import DEFAULT_CASE, box_of_spec
        from EMHAssistLib.outputs.scene_writing import set_roi_box
        from EMHAssistLib.teaching.quiz import REFERENCE_ATTRIBUTE
        from EMHAssistLib.outputs.tables import read_results_table

        self.delayDisplay("Opening the built-in case as a quiz")
        slicer.util.selectModule("EMHAssist")
        widget = slicer.util.getModuleWidget("EMHAssist")
        label = quiz_case_labels()[case_names().index(DEFAULT_CASE)]
        widget._parameterNode.quizCase = label
        widget.onOpenQuizButton()
        quiz = widget.logic.quiz
        parameterNode = widget._parameterNode
        self.assertEqual(quiz.info.name, DEFAULT_CASE)
        self.assertEqual(parameterNode.quizCase, label)
        self.assertEqual(slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLMarkupsROINode"), 0)
        self.assertEqual(slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode"), 0)
        self.assertEqual(parameterNode.t2Volume, quiz.study.sequences["T2"])
        self.assertFalse(widget.ui.revealButton.enabled)

        self.delayDisplay("Placing ROIs on the reference boxes; no results before the reveal")
        for region, specs in build_study(DEFAULT_CASE).rois.items():
            for spec in specs:
                widget.onPlaceRegion(region)
                roi = slicer.mrmlScene.GetNodeByID(
                    slicer.app.applicationLogic().GetSelectionNode().GetActivePlaceNodeID()
                )
                set_roi_box(roi, box_of_spec(spec))
        slicer.app.applicationLogic().GetInteractionNode().SetCurrentInteractionMode(slicer.vtkMRMLInteractionNode.ViewTransform)
        self.assertEqual(set(quiz.learner_rois), set(build_study(DEFAULT_CASE).rois))
        self.assertIsNone(parameterNode.massSource)
        self.assertIsNone(widget.logic.update(parameterNode, LiveAnalysis()).analysis)
        self.assertIsNone(parameterNode.report)

        self.delayDisplay("Picking a diagnosis, saving the scene mid-quiz and loading it again")
        parameterNode.quizDiagnosis = "Extramedullary hematopoiesis"
        self.assertEqual(quiz.picked, "emh")
        bundle = os.path.join(slicer.app.temporaryPath, "EMHAssistQuiz.mrb")
        self.assertTrue(slicer.util.saveScene(bundle))
        slicer.mrmlScene.Clear()
        self.assertIsNone(widget.logic.quiz)
        slicer.util.loadScene(bundle)
        quiz = widget.logic.quiz
        parameterNode = widget._parameterNode
        self.assertEqual(quiz.info.name, DEFAULT_CASE)
        self.assertFalse(quiz.revealed)
        self.assertEqual(set(quiz.learner_rois), set(build_study(DEFAULT_CASE).rois))
        self.assertFalse(any(node.GetAttribute(REFERENCE_ATTRIBUTE) for node in slicer.util.getNodesByClass("vtkMRMLMarkupsROINode")))
        self.assertEqual(parameterNode.quizDiagnosis, "Extramedullary hematopoiesis")
        self.assertEqual(widget.ui.quizStoryLabel.text, quiz.info.story)
        self.assertEqual(widget.ui.quizResultLabel.text, "")

        self.delayDisplay("Revealing")
        self.assertTrue(widget.ui.revealButton.enabled)
        widget.onRevealButton()
        self.assertTrue(quiz.revealed)
        self.assertTrue(widget.ui.quizResultLabel.text.startswith("Right: Extramedullary hematopoiesis."))
        self.assertIn("- mass: Dice 1.00, IoU 1.00", widget.ui.quizResultLabel.text)
        self.assertFalse(widget.ui.revealButton.enabled)
        report = widget.logic.savedReport(parameterNode)
        self.assertEqual(report.differential[0].id, "emh")
        self.assertEqual(read_results_table(parameterNode.resultsTable).ratios.keys(), report.ratios.keys())
        self.assertIsNotNone(find_overlays(slicer.mrmlScene, report.case))
        self.assertEqual(widget.ui.differentialGroupBox.layout().count(), 3)
        references = slicer.util.getNodesByClass("vtkMRMLMarkupsROINode")
        self.assertEqual(
            sum(1 for node in references if node.GetAttribute(REFERENCE_ATTRIBUTE)),
            sum(map(len, build_study(DEFAULT_CASE).rois.values())),
        )

        self.delayDisplay("Saving the revealed quiz and loading it again: the reveal is shown again")
        revealed = widget.ui.quizResultLabel.text
        self.assertTrue(slicer.util.saveScene(bundle))
        slicer.mrmlScene.Clear()
        slicer.util.loadScene(bundle)
        self.assertTrue(widget.logic.quiz.revealed)
        self.assertEqual(widget.ui.quizResultLabel.text, revealed)
        self.assertFalse(widget.ui.revealButton.enabled)
        self.delayDisplay("Test passed")
