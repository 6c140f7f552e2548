"""What the panel shows, written onto its widgets: the step checks, the results summary with the top
three diagnoses and their "Why", the other diagnoses under Details, and the clinical checkboxes.

Only Qt calls that PythonQt (Slicer) and PySide6 share are used (setText, setVisible, signal.connect),
and `qt` is passed in, so tools/render_panel.py draws the panel with this same code outside Slicer.
The wording and the state come from html import escape

from EMHAssistLib.frontends.panel.
"""

from html import escape

from EMHAssistLib.frontends.panel import (
    DiagnosisRow,
    PanelState,
    checkbox_cells,
    checkbox_text,
    clinical_choice_labels,
    differential_rows,
    next_step_text,
    region_status_text,
)
from EMHAssistLib.inputs.study import region_names
from EMHAssistLib.live import RegionStatus
from EMHAssistLib.report_model import Report

BAR_WIDTH = 72  # pixels: the probability bar beside the name, which may wrap
SUMMARY_DIAGNOSES = 3  # the top three with bars above the fold; the others under Details
STEP_LABELS = {"sequences": "sequencesCheckLabel", "regions": "regionsCheckLabel", "anchor": "anchorCheckLabel", "clinical": "clinicalCheckLabel"}
DISABLED_BUTTONS = {"update_blocked": "applyButton", "find_levels_blocked": "findLevelsButton", "anchor_blocked": "placeAnchorButton", "compare_blocked": "compareButton"}


def show_state(ui, state: PanelState) -> None:
    """Each step's check, the line above the differential, and each disabled button's reason as its
    tooltip (Apply's also as a line under it, since a disabled button shows no tooltip on some styles)."""
    for step, name in STEP_LABELS.items():
        getattr(ui, name).setText(state.steps[step].line())
    ui.resultStateLabel.setText(state.result_state)
    ui.resultStateLabel.setVisible(bool(state.result_state))
    for field, name in DISABLED_BUTTONS.items():
        reason = getattr(state, field)
        button = getattr(ui, name)
        button.setEnabled(not reason)
        if reason:
            button.setToolTip(reason)
    ui.applyBlockedLabel.setText(state.update_blocked)
    ui.applyBlockedLabel.setVisible(bool(state.update_blocked))


def show_comparison(ui, text: str) -> None:
    """The comparison with an earlier exam under its button (panel.comparison_text); "" hides it."""
    ui.comparisonLabel.setText(text)
    ui.comparisonLabel.setVisible(bool(text))


def show_region_statuses(ui, statuses: dict[str, RegionStatus]) -> None:
    """One short line under each outlined region, every sequence's figures in its tooltip; none under the others."""
    for region in region_names():
        label = getattr(ui, f"{region}StatusLabel")
        status = statuses.get(region)
        label.setText(region_status_text(status) if status else "")
        label.setToolTip(status.line() if status else "")
        label.setVisible(status is not None)


def show_report(qt, ui, report: Report | None, levels_line: str, warnings: str) -> None:
    """The summary: levels line, the top three diagnoses with bars and a "Why" each, the next best step,
    warnings; the other diagnoses under Details. None clears them."""
    rows = differential_rows(report) if report else []
    ui.levelsLineLabel.setText(levels_line)
    ui.levelsLineLabel.setVisible(bool(levels_line))
    ui.warningsLabel.setText(warnings)
    ui.warningsLabel.setVisible(bool(warnings))
    step = next_step_text(report) if report else ""
    ui.nextStepLabel.setText(step)
    ui.nextStepLabel.setVisible(bool(step))
    ui.differentialGroupBox.setVisible(bool(rows))
    fill_rows(qt, ui.differentialGroupBox.layout(), rows[:SUMMARY_DIAGNOSES])
    fill_rows(qt, ui.otherDiagnosesGroupBox.layout(), rows[SUMMARY_DIAGNOSES:])
    ui.otherDiagnosesGroupBox.setVisible(len(rows) > SUMMARY_DIAGNOSES)


def fill_rows(qt, layout, rows: list[DiagnosisRow]) -> None:
    while layout.count():
        layout.takeAt(0).widget().deleteLater()
    for row in rows:
        layout.addWidget(diagnosis_widget(qt, row))


def diagnosis_widget(qt, row: DiagnosisRow):
    """A probability bar, the diagnosis's name, and a "Why" button opening its For/Against bullets."""
    section = qt.QWidget()
    sectionLayout = qt.QVBoxLayout(section)
    sectionLayout.setContentsMargins(0, 0, 0, 0)
    bar = qt.QProgressBar()
    bar.setValue(row.percent)
    bar.setFormat(row.shown)
    bar.setFixedWidth(BAR_WIDTH)
    bar.setToolTip(f"{row.shown} (prior {row.prior_shown} before the images)")
    name = qt.QLabel(row.name)
    name.setWordWrap(True)
    whyButton = qt.QToolButton()
    whyButton.setText("Why")
    whyButton.setCheckable(True)
    bullets = qt.QWidget()
    bulletsLayout = qt.QVBoxLayout(bullets)
    bulletsLayout.setContentsMargins(12, 0, 0, 4)
    for heading, supports in (("For", True), ("Against", False)):
        chosen = [bullet for bullet in row.why if bullet.supports == supports]
        if not chosen:
            continue
        bulletsLayout.addWidget(qt.QLabel(f"<b>{heading}</b>"))
        for bullet in chosen:
            cited = f' <span style="color:gray">— {escape(bullet.citation)}</span>' if bullet.citation else ""
            label = qt.QLabel(f"• {escape(bullet.finding)}{cited}")
            label.setWordWrap(True)
            label.setToolTip(bullet.tooltip)
            bulletsLayout.addWidget(label)
    bullets.setVisible(False)
    whyButton.toggled.connect(bullets.setVisible)
    barRow = qt.QHBoxLayout()
    barRow.addWidget(bar)
    barRow.addWidget(name, 1)
    barRow.addWidget(whyButton)
    sectionLayout.addLayout(barRow)
    sectionLayout.addWidget(bullets)
    return section


def relabel_clinical_choices(ui) -> None:
    """The Sex and Primary combo boxes show the terms' labels; the parameter node's connector filled
    them with the keys and reads them by index, which relabelling keeps."""
    for name, section in (("sexComboBox", "sex"), ("primaryComboBox", "primaries")):
        combo = getattr(ui, name)
        for index, label in enumerate(clinical_choice_labels(section)):
            combo.setItemText(index, label)


def add_clinical_checkboxes(qt, ui, terms, columns: int = 2) -> dict:
    """One checkbox per condition and finding in two columns (a long label on a row of its own), keyed
    (section, term); the full label in the tooltip."""
    boxes = {}
    for section, groupBox in (("conditions", ui.conditionsGroupBox), ("findings", ui.findingsGroupBox)):
        labels = getattr(terms, section)
        texts = [checkbox_text(label) for label in labels.values()]
        for (term, label), text, (row, column, span) in zip(labels.items(), texts, checkbox_cells(texts, columns)):
            checkBox = qt.QCheckBox(text)
            checkBox.setToolTip(label)
            groupBox.layout().addWidget(checkBox, row, column, 1, span)
            boxes[section, term] = checkBox
    return boxes
