"""Render the Slicer panel from its .ui at Slicer's module-panel width, outside Slicer: a layout sketch.

Slicer's widgets (ctkCollapsibleButton, qMRMLNodeComboBox, ...) are stood in by plain Qt ones
(PySide6, offscreen), with a collapsed section showing only its title as in Slicer. The panel is
filled by the module's own display code (EMHAssistSlicer/view.py) from real analyses of the
built-in case: empty, mid-way (two sequences, two regions) and complete. Slicer's Qt 5 widgets and
style differ, so each image says it is a sketch.

    PYTHONPATH=EMHAssist .venv/bin/python tools/render_panel.py [--out docs/images]
"""

import argparse
import os
import sys
import types
from dataclasses import dataclass
import xml.etree.ElementTree as ET
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402
from PySide6.QtUiTools import QUiLoader  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
UI_FILE = ROOT / "EMHAssist" / "Resources" / "UI" / "EMHAssist.ui"
PANEL_WIDTH = 420  # Slicer's module panel
FOLD_HEIGHT = 900  # a laptop screen's panel height
SKETCH_NOTE = "Layout sketch: plain-Qt stand-ins for Slicer's widgets (Slicer's Qt 5 look differs)."
# Slicer's widget classes and the plain Qt class each is drawn as.
STAND_INS = {
    "qMRMLWidget": "QWidget",
    "ctkCollapsibleButton": "QGroupBox",
    "ctkCollapsibleGroupBox": "QGroupBox",
    "qMRMLNodeComboBox": "QComboBox",
    "qMRMLTableView": "QTableWidget",
    "qSlicerSimpleMarkupsWidget": "QTableWidget",
}
COLLAPSIBLE = ("ctkCollapsibleButton", "ctkCollapsibleGroupBox")


def stand_in_ui(path: Path = UI_FILE) -> tuple[bytes, dict[str, bool]]:
    """The .ui with every Slicer class replaced by its stand-in, and {collapsible name: collapsed}."""
    tree = ET.parse(path)
    collapsible = {}
    for widget in tree.getroot().iter("widget"):
        cls = widget.get("class")
        if cls in COLLAPSIBLE:
            collapsed = widget.find("property[@name='collapsed']/bool")
            collapsible[widget.get("name")] = collapsed is not None and collapsed.text == "true"
            text = widget.find("property[@name='text']")
            if text is not None:
                text.set("name", "title")
        if cls in STAND_INS:
            widget.set("class", STAND_INS[cls])
    for widget in tree.getroot().iter("widget"):
        for prop in list(widget.findall("property")):
            if prop.get("stdset") == "0" or prop.get("name") in ("collapsed", "nodeTypes", "showChildNodeTypes", "noneEnabled",
                                                                   "addEnabled", "removeEnabled", "renameEnabled", "baseName",
                                                                   "nodeSelectorVisible", "enterPlaceModeOnNodeChange"):
                widget.remove(prop)
    root = tree.getroot()
    for section in ("customwidgets", "connections"):
        for element in root.findall(section):
            root.remove(element)
    return ET.tostring(root, encoding="utf-8"), collapsible


def load_panel(path: Path = UI_FILE) -> tuple[QtWidgets.QWidget, types.SimpleNamespace]:
    """The panel built from the .ui with stand-ins, and its named children as Slicer's childWidgetVariables gives them."""
    text, collapsible = stand_in_ui(path)
    buffer = QtCore.QBuffer()
    buffer.setData(QtCore.QByteArray(text))
    buffer.open(QtCore.QIODevice.ReadOnly)
    panel = QUiLoader().load(buffer)
    if panel is None:
        raise RuntimeError(f"{path}: Qt could not build the panel")
    named = {child.objectName(): child for child in panel.findChildren(QtCore.QObject) if child.objectName()}
    for name, collapsed in collapsible.items():
        section = named[name]
        section.setTitle(("▸ " if collapsed else "▾ ") + section.title())
        if collapsed:
            for child in section.findChildren(QtWidgets.QWidget, options=QtCore.Qt.FindDirectChildrenOnly):
                child.hide()
            section.setMaximumHeight(section.fontMetrics().height() + 8)
    named[panel.objectName()] = panel
    return panel, types.SimpleNamespace(**named)


def laid_out(panel: QtWidgets.QWidget, width: int = PANEL_WIDTH) -> QtWidgets.QWidget:
    """The panel in a scroll area of Slicer's panel width, laid out at that width; returns the scroll area."""
    scroll = QtWidgets.QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QtWidgets.QFrame.NoFrame)
    scroll.setWidget(panel)
    scroll.resize(width, FOLD_HEIGHT)
    scroll.show()
    QtWidgets.QApplication.processEvents()
    return scroll


def widest(panel: QtWidgets.QWidget) -> tuple[str, int]:
    """The visible widget needing the most width, by its minimum size hint, and that width in pixels."""
    hints = [(child.objectName() or type(child).__name__, child.minimumSizeHint().width())
             for child in [panel, *panel.findChildren(QtWidgets.QWidget)] if child.isVisibleTo(panel)]
    return max(hints, key=lambda pair: pair[1])


def top_in_panel(widget: QtWidgets.QWidget, panel: QtWidgets.QWidget) -> int:
    return widget.mapTo(panel, QtCore.QPoint(0, 0)).y()


def grab(scroll: QtWidgets.QScrollArea, panel: QtWidgets.QWidget, path: Path) -> None:
    """The whole panel (below the fold too) with the sketch note above it and a line where 900 px ends."""
    height = max(panel.sizeHint().height(), panel.height())
    panel.resize(scroll.viewport().width(), height)
    QtWidgets.QApplication.processEvents()
    image = panel.grab().toImage()
    note_height = 22
    canvas = QtGui.QImage(PANEL_WIDTH, image.height() + note_height, QtGui.QImage.Format_RGB32)
    canvas.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(canvas)
    painter.fillRect(0, 0, PANEL_WIDTH, note_height, QtGui.QColor("#fff3c4"))
    font = painter.font()
    font.setPointSizeF(7.5)
    painter.setFont(font)
    painter.drawText(QtCore.QRect(4, 0, PANEL_WIDTH - 8, note_height), QtCore.Qt.AlignVCenter, SKETCH_NOTE)
    painter.drawImage(0, note_height, image)
    painter.setPen(QtGui.QPen(QtGui.QColor("#d04040"), 1, QtCore.Qt.DashLine))
    fold = note_height + FOLD_HEIGHT
    if fold < canvas.height():
        painter.drawLine(0, fold, PANEL_WIDTH, fold)
        painter.drawText(4, fold - 3, "900 px: the fold of a laptop screen")
    painter.end()
    canvas.save(str(path))


# --- Filling the panel from real analyses ---------------------------------------------------------
STATES = ("empty", "midway", "complete")
MIDWAY_SEQUENCES, MIDWAY_REGIONS = ("T1", "T2"), ("cord", "marrow")


@dataclass
class PanelInputs:
    """What the parameter node would hold at one state of the reading, and the analysis of it."""

    sequences: dict
    sources: dict
    level_points: object
    clinical: object  # Clinical (report_model): the context the panel's fields hold
    anchor_level: str
    result: object  # LiveResult, or None before the first update


def panel_inputs(state: str) -> PanelInputs:
    """The built-in case at a state of the reading: "empty" (the module opened on the loaded volumes,
    roles filled from their names), "midway" (T1 and T2, cord and marrow outlined, analysed: provisional),
    "complete" (every input, the anchor found into levels, the clinical context, analysed)."""
    from EMHAssistLib.inputs.scene import new_headless_scene
    from EMHAssistLib.inputs.study import study_from_nodes
    from EMHAssistLib.live import LiveAnalysis
    from EMHAssistLib.report_model import Clinical
    from EMHAssistLib.teaching.cases import DEFAULT_CASE, build_study, study_into_scene

    study = study_into_scene(build_study(DEFAULT_CASE), new_headless_scene())
    if state == "empty":
        return PanelInputs(dict(study.sequences), {}, None, Clinical(), "", None)
    if state == "midway":
        sequences = {role: study.sequences[role] for role in MIDWAY_SEQUENCES}
        sources = {region: study.regions[region][0].node for region in MIDWAY_REGIONS}
        partial = study_from_nodes(study.name, sequences, sources)
        return PanelInputs(sequences, sources, None, Clinical(), "", LiveAnalysis().update(partial))
    sources = {region: entries[0].node for region, entries in study.regions.items()}
    anchor = study.levels.GetNthControlPointLabel(study.levels.GetNumberOfControlPoints() // 2)
    return PanelInputs(dict(study.sequences), sources, study.levels, study.clinical, anchor, LiveAnalysis().update(study))


def fill(ui: types.SimpleNamespace, inputs: PanelInputs) -> None:
    """The stand-in selectors show the chosen nodes' names; the rest is the module's own display code."""
    from EMHAssistLib.frontends.panel import AGE_NOT_STATED, clinical_choices, levels_text, panel_state, warnings_text
    from EMHAssistLib.inputs.clinical import clinical_terms
    from EMHAssistLib.inputs.study import region_names, sequence_roles
    from EMHAssistLib.spine.vertebrae import vertebra_names
    from EMHAssistSlicer import view

    for role in sequence_roles():
        node = inputs.sequences.get(role)
        getattr(ui, f"{role.lower()}VolumeSelector").addItem(node.GetName() if node else "None")
    for region in region_names():
        node = inputs.sources.get(region)
        getattr(ui, f"{region}SourceSelector").addItem(node.GetName() if node else "None")
    view.show_region_statuses(ui, inputs.result.statuses if inputs.result else {})
    for name in ("regionSegmentationSelector", "resultsTableSelector", "levelPointsSelector"):
        getattr(ui, name).addItem("None")
    terms = clinical_terms()
    # As the parameter node's connector fills them (the values, chosen by index), then relabelled as the module does.
    ui.sexComboBox.addItems(clinical_choices("sex"))
    ui.sexComboBox.setCurrentIndex(clinical_choices("sex").index(inputs.clinical.sex or ""))
    ui.primaryComboBox.addItems(clinical_choices("primaries"))
    view.relabel_clinical_choices(ui)
    ui.ageSpinBox.setRange(AGE_NOT_STATED, int(terms.age_range[1]))
    age = inputs.clinical.age if inputs.clinical.age is not None else AGE_NOT_STATED
    ui.ageSpinBox.setValue(age)
    ui.anchorLevelComboBox.addItems(["", *vertebra_names()])
    ui.anchorLevelComboBox.setCurrentText(inputs.anchor_level)
    boxes = view.add_clinical_checkboxes(QtWidgets, ui, terms)
    for (section, term), box in boxes.items():
        box.setChecked(term in (getattr(inputs.clinical, section) or ()))
    clinical = inputs.clinical
    fields = (age, clinical.sex or "", list(clinical.conditions or ()), list(clinical.findings or ()), clinical.primary or "")
    analysis = inputs.result.analysis if inputs.result else None
    ui.saveReportButton.setMenu(QtWidgets.QMenu(ui.saveReportButton))  # the module fills it; its arrow shows here
    view.show_state(ui, panel_state(inputs.sequences, inputs.sources, None, inputs.level_points, fields, inputs.anchor_level, analysis is not None))
    report = analysis.report if analysis else None
    view.show_report(QtWidgets, ui, report, levels_text(report) if report else "", warnings_text(report.warnings) if report else "")
    view.show_comparison(ui, "")  # as the module's _showReport: no comparison until one is asked for


def open_first_why(ui: types.SimpleNamespace) -> None:
    ui.differentialGroupBox.findChildren(QtWidgets.QToolButton)[0].setChecked(True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    app.setStyle("Fusion")
    for state in (*STATES, "why"):
        panel, ui = load_panel()
        scroll = laid_out(panel)
        fill(ui, panel_inputs(state if state != "why" else "complete"))
        if state == "why":
            open_first_why(ui)
        QtWidgets.QApplication.processEvents()
        path = args.out / f"panel-{state}.png"
        grab(scroll, panel, path)
        name, width = widest(panel)
        summary_bottom = top_in_panel(ui.resultsCollapsibleButton, panel) + ui.resultsCollapsibleButton.height()
        print(f"{path}: widest {name} {width} px; summary ends at {summary_bottom} px; panel {panel.height()} px tall")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
