"""The panel as laid out from its .ui, outside Slicer: plain-Qt stand-ins for Slicer's widgets
(PySide6, offscreen, as tools/render_panel.py draws docs/images/panel-*.png), filled by the module's
own display code from real analyses of the built-in case. It must fit Slicer's 420 px module panel,
show the results summary above the fold of a 900 px screen, and hold every widget the Python names."""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import render_panel  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402

PYTHON_USING_THE_UI = {
    ROOT / "EMHAssist" / "EMHAssistSlicer" / "module.py": ("self.ui", "widget.ui"),
    ROOT / "EMHAssist" / "EMHAssistSlicer" / "view.py": ("ui",),
    ROOT / "tools" / "render_panel.py": ("ui",),
}


@pytest.fixture(scope="module")
def app():
    application = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    application.setStyle("Fusion")
    return application


@pytest.fixture(scope="module", params=render_panel.STATES)
def filled(request, app):
    """The panel at one state of the reading, in a scroll area of Slicer's panel width."""
    panel, ui = render_panel.load_panel()
    scroll = render_panel.laid_out(panel)
    render_panel.fill(ui, render_panel.panel_inputs(request.param))
    QtWidgets.QApplication.processEvents()
    yield request.param, panel, ui, scroll
    scroll.close()


def test_nothing_is_wider_than_slicers_panel(filled, app):
    state, panel, ui, scroll = filled
    scrollbar = app.style().pixelMetric(QtWidgets.QStyle.PM_ScrollBarExtent)
    name, width = render_panel.widest(panel)
    assert width + scrollbar <= render_panel.PANEL_WIDTH, f"{state}: {name} needs {width} px + {scrollbar} px scroll bar"


def test_the_results_summary_is_above_the_fold(filled):
    state, panel, ui, scroll = filled
    bottom = render_panel.top_in_panel(ui.resultsCollapsibleButton, panel) + ui.resultsCollapsibleButton.height()
    assert bottom <= render_panel.FOLD_HEIGHT, f"{state}: the summary ends at {bottom} px"
    if state == "complete":
        assert ui.differentialGroupBox.isVisibleTo(panel) and ui.differentialGroupBox.layout().count() == 3
        assert ui.levelsLineLabel.text().startswith("Levels: mass T5")
        assert ui.nextStepLabel.text().startswith("Next best step")


def test_each_state_says_what_to_do_next(filled):
    state, panel, ui, scroll = filled
    if state == "empty":
        assert not ui.applyButton.isEnabled() and ui.applyButton.toolTip() == "Outline a region in step 2 first (the mass to start)."
        assert ui.applyBlockedLabel.text() == ui.applyButton.toolTip()
        assert not ui.placeAnchorButton.isEnabled() and not ui.findLevelsButton.isEnabled()
        assert ui.regionsCheckLabel.text() == "⚠ 0 of 5 — next, mass: the epidural or paraspinal mass"
        assert not ui.compareButton.isEnabled()
        assert ui.compareButton.toolTip() == "Compute this exam's results first (Update now): the comparison reads its report."
    if state == "midway":
        assert ui.resultStateLabel.text().startswith("Provisional — 2 of 5 regions")
        assert ui.applyButton.isEnabled()
    if state == "complete":
        assert not ui.resultStateLabel.isVisibleTo(panel)
        assert all(getattr(ui, name).text().startswith("✓") for name in ("sequencesCheckLabel", "regionsCheckLabel", "anchorCheckLabel", "clinicalCheckLabel"))
        assert ui.findLevelsButton.isEnabled()
        assert ui.compareButton.isEnabled() and not ui.comparisonLabel.isVisibleTo(panel)
        assert (ui.sexComboBox.currentText(), ui.primaryComboBox.currentText()) == ("male", "none or not stated")


def ui_names_used(path: Path, owners: tuple[str, ...]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute) and ast.unparse(node.value) in owners}


def test_every_widget_name_the_python_uses_exists_in_the_ui(app):
    panel, ui = render_panel.load_panel()
    for path, owners in PYTHON_USING_THE_UI.items():
        used = ui_names_used(path, owners)
        assert used, f"{path.name}: no ui.<name> found; the check would prove nothing"
        assert sorted(used - set(vars(ui))) == [], path.name


def test_collapsed_sections_show_only_their_title(app):
    panel, ui = render_panel.load_panel()
    scroll = render_panel.laid_out(panel)  # kept: the panel is deleted with it
    assert not ui.resultsTableView.isVisibleTo(panel)  # under the closed Details
    assert not ui.openQuizButton.isVisibleTo(panel)  # the quiz is closed
    assert ui.t1VolumeSelector.isVisibleTo(panel) and not ui.ipVolumeSelector.isVisibleTo(panel)
    scroll.close()
