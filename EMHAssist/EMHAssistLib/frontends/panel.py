"""The Slicer panel's Qt-free side: its fields turned into inputs, results kept in the scene.

The module widget only reads widgets and calls these; everything here runs headless on real MRML
and is tested there. Results live in nodes the parameter node references (the results table, the
report as JSON in a text node) and in the overlay folder, so a saved `.mrb` brings them all back.
"""

import importlib.metadata
import functools
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import slicer
import vtk

from .. import CAVEAT
from .. import number_format as numbers
from ..analysis import Analysis, read_sequences
from ..differential.rules import knowledge
from ..errors import InputError
from ..followup import Comparison, compare
from ..inputs.clinical import clinical_context, clinical_terms
from ..inputs.jsonfile import parse_json_text, read_json_file
from ..inputs.study import Study, region_names, spine_inputs
from ..knowledge import load
from ..live import RegionStatus
from ..outputs.citations import citation_label, full_citation
from ..outputs.comparison import LEVEL_COLUMNS, level_rows, stored_report
from ..outputs.overlays import ROLE_ATTRIBUTE as OVERLAY_ROLE_ATTRIBUTE
from ..outputs.overlays import OverlayNodes, draw_overlays, level_point_node
from ..outputs.report import from_json
from ..outputs.scene_writing import REPORT_ATTRIBUTE, keeping_place_target, label_point, set_roi_size, write_report_node
from ..outputs.tables import write_results_table
from ..outputs.wording import finding_text, summary_line
from ..report_model import FIRST_SCHEMA, SCHEMA, Clinical, RankedDiagnosis, Report
from ..settings import SCREEN_PX_MAX, format_version, keyed, length, parse, positive, vocabulary, within
from ..spine.compression import assess as assess_levels
from ..spine.vertebrae import code_of
from ..teaching.cases import case_names
from ..teaching.phantom import CASES_DIR
from ..teaching.quiz import Quiz, Reveal, ratio_sites_line, verdict

AGE_NOT_STATED = -1  # the panel's age field shows "not stated" at this value


def clinical_from_panel(
    age: int, sex: str, conditions: list[str], findings: list[str], primary: str = "", patient: str = "", exam_date: str = ""
) -> Clinical:
    """The checked clinical context from the panel's fields; empty fields are simply not stated.
    `patient` and `exam_date` let "Compare with an earlier exam" match this exam to an earlier one."""
    raw: dict = {"conditions": list(conditions), "findings": list(findings)}
    if age != AGE_NOT_STATED:
        raw["age"] = age
    for key, value in (("sex", sex), ("primary", primary), ("patient", patient), ("exam_date", exam_date)):
        if value:
            raw[key] = value
    return clinical_context({key: value for key, value in raw.items() if value != []}, subject="clinical context")


@dataclass(frozen=True)
class Steps:
    """The panel's step checks: where each region is measured, and which regions are references."""

    region_hints: dict[str, str] = keyed(lambda: vocabulary().regions)
    reference_regions: tuple[str, ...]


@dataclass(frozen=True)
class SrExport:
    """The highdicom release the DICOM SR export installs, and the least versions it needs of Slicer's packages."""

    package: str
    version: str
    needs: dict[str, str]  # package -> least version

QTIMER_MS_MAX = 2**31 - 1  # Qt's timer interval is a C int of milliseconds


@dataclass(frozen=True)
class PanelSettings:
    """data/panel.json: read by this panel, the browser viewer (serve.py) and the Slicer module. Here,
    beside the panel it configures; a wrong key or value is refused naming the file and the key."""

    version: int = format_version()
    default_roi_size_mm: dict[str, tuple[float, float, float]] = keyed(lambda: vocabulary().regions, length())  # by region: R, A, S
    steps: Steps
    checkbox_column_chars: int = positive(SCREEN_PX_MAX)
    throttle_ms: int = within(0, QTIMER_MS_MAX)
    sr_export: SrExport


@functools.cache
def panel_settings() -> PanelSettings:
    return parse(PanelSettings, load("panel"), "panel")


NOT_STATED = {"sex": "not stated", "primaries": "none or not stated"}


def clinical_choices(section: str) -> list[str]:
    """The values of the panel's Sex or Primary combo box ("" first: not stated), as the parameter node's Choice lists them."""
    return ["", *getattr(clinical_terms(), section)]


def clinical_choice_labels(section: str) -> list[str]:
    """What the combo box shows for each of clinical_choices(section): the terms' labels, not their keys.
    Slicer's combo-box connector reads and writes the choice by index, so the items can be relabelled."""
    return [NOT_STATED[section], *getattr(clinical_terms(), section).values()]


@dataclass(frozen=True)
class WhyBullet:
    """One reason for or against a diagnosis as a reader scans it: the finding with its measured value
    and a short citation; the threshold and the full references in the tooltip."""

    supports: bool
    finding: str
    citation: str  # the first reference's short citation, "+N" for the others (all of them in the tooltip)
    tooltip: str


@dataclass(frozen=True)
class DiagnosisRow:
    """One line of the panel's differential: a probability bar and its "Why" bullets."""

    name: str
    percent: int  # the bar's length
    prior_percent: int
    shown: str  # the bar's text, as every other surface prints a probability ("<1 %", "87 %")
    prior_shown: str
    why: list[WhyBullet]


def why_bullets(diagnosis: RankedDiagnosis) -> list[WhyBullet]:
    """Each measured finding for or against the diagnosis, strongest first, then the clinical terms
    that moved its prior; the threshold rule and the full citations go into the tooltip."""
    references = knowledge().references
    bullets = []
    for item in diagnosis.evidence:
        refs = item.refs
        labels = list(dict.fromkeys(citation_label(key) for key in refs))
        cited = labels[0] + (f" +{len(labels) - 1}" if len(labels) > 1 else "") if labels else ""
        sources = [full_citation(references[key]) for key in refs if key in references]
        tooltip = "\n".join([f"Threshold: {item.rule}", *(f"Source: {source}" for source in sources)])
        bullets.append(WhyBullet(item.supports, item.finding, cited, tooltip))
    for factor in diagnosis.prior_factors:
        text = f"{factor.label} (clinical context: prior ×{factor.factor:g})"
        bullets.append(WhyBullet(factor.factor > 1, text, "", factor.reason))
    return bullets


def differential_rows(report: Report) -> list[DiagnosisRow]:
    return [
        DiagnosisRow(
            name=diagnosis.name,
            percent=round(100 * diagnosis.probability),
            prior_percent=round(100 * diagnosis.prior),
            shown=numbers.probability(diagnosis.probability),
            prior_shown=numbers.probability(diagnosis.prior),
            why=why_bullets(diagnosis),
        )
        for diagnosis in report.differential
    ]


def next_step_text(report: Report) -> str:
    """The next best step between the top two diagnoses, named by their names, or "" when there is none."""
    step = report.next_best
    if not step.text:
        return ""
    names = {diagnosis.id: diagnosis.name for diagnosis in report.differential}
    between = " vs ".join(names.get(key, key) for key in step.between)
    return f"Next best step ({between}): {step.text}" if between else f"Next best step: {step.text}"


def levels_text(report: Report) -> str:
    return f"Levels: {summary_line(report.levels)}" if report.levels else "Levels not assessed (step 3)."


def warnings_text(warnings: list[str]) -> str:
    return "" if not warnings else "Warnings:\n" + "\n".join(f"- {warning}" for warning in warnings)


# --- The panel's steps ------------------------------------------------------------------------------
DONE, TO_DO = "✓", "⚠"


@dataclass(frozen=True)
class StepCheck:
    """Whether a numbered step of the panel is complete, with one line saying what it has or what to do."""

    done: bool
    hint: str

    def line(self) -> str:
        return f"{DONE if self.done else TO_DO} {self.hint}"


def sequences_step(selected: list[str]) -> StepCheck:
    if not selected:
        return StepCheck(False, "pick at least one sequence (T1 and T2 first)")
    return StepCheck(True, ", ".join(selected))


def regions_step(outlined: list[str]) -> StepCheck:
    """Complete with every region outlined; otherwise the next one to outline and where: the mass
    first, then the references in the vocabulary's order."""
    regions = region_names()
    missing = [region for region in regions if region not in outlined]
    if not missing:
        return StepCheck(True, f"all {len(regions)} regions outlined")
    hints = panel_settings().steps.region_hints
    first = "mass" if "mass" in missing else missing[0]
    return StepCheck(False, f"{len(regions) - len(missing)} of {len(regions)} — next, {first}: {hints[first]}")


def anchor_step(labels: list[str]) -> StepCheck:
    """The level points' labels: one labelled vertebra is enough for Find levels to name the rest."""
    named = [label for label in labels if is_vertebra_name(label)]
    if not labels:
        return StepCheck(False, "pick the level, then place one point on that vertebral body")
    if not named:
        return StepCheck(False, "name a point with its level (C1 … S5)")
    if len(named) == 1:
        return StepCheck(True, f"anchor {named[0]}: Find levels names the others")
    return StepCheck(True, f"{len(named)} levels, {named[0]} to {named[-1]}")


def clinical_step(context: Clinical) -> StepCheck:
    """Optional, but the context moves the ranking most; the check says what is stated."""
    if context == Clinical():
        return StepCheck(False, "optional, yet it moves the ranking most: age, sex, conditions")
    stated = [f"age {context.age}"] if context.age is not None else []
    stated += [context.sex] if context.sex is not None else []
    for field, terms in (("conditions", context.conditions), ("findings", context.findings)):
        count = len(terms or ())
        if count:
            stated.append(f"{count} {field[:-1] if count == 1 else field}")
    return StepCheck(True, ", ".join(stated))


def provisional_text(outlined: list[str]) -> str:
    """"" once the mass and a reference region are outlined; until then the differential is marked."""
    references = panel_settings().steps.reference_regions
    if "mass" in outlined and any(region in outlined for region in references):
        return ""
    return f"provisional — {len(outlined)} of {len(region_names())} regions"


def update_blocked_reason(has_sequence: bool, outlined: list[str]) -> str:
    """Why results cannot be computed yet ("" when they can): the disabled button's tooltip and label."""
    if not has_sequence:
        return "Pick a sequence in step 1 first."
    if not outlined:
        return "Outline a region in step 2 first (the mass to start)."
    return ""


def find_levels_blocked_reason(labels: list[str]) -> str:
    if not any(is_vertebra_name(label) for label in labels):
        return "Place the anchor vertebra first (step 3)."
    return ""


def anchor_blocked_reason(level: str) -> str:
    return "" if is_vertebra_name(level) else "Pick the anchor's level first (C1 … S5)."


def compare_blocked_reason(analysed: bool) -> str:
    return "" if analysed else "Compute this exam's results first (Update now): the comparison reads its report."


@dataclass(frozen=True)
class PanelState:
    """Everything the panel says about where the reader is: a check per numbered step, the line
    above the differential, and why each step button is disabled ("" when it is enabled)."""

    steps: dict[str, StepCheck]
    result_state: str
    update_blocked: str
    find_levels_blocked: str
    anchor_blocked: str
    compare_blocked: str


def panel_state(
    sequences: dict[str, slicer.vtkMRMLNode | None],
    sources: dict[str, slicer.vtkMRMLNode | None],
    segmentation: slicer.vtkMRMLSegmentationNode | None,
    level_points: slicer.vtkMRMLMarkupsFiducialNode | None,
    clinical_fields: tuple,
    anchor_level: str,
    analysed: bool,
) -> PanelState:
    """The panel's state from its inputs as the parameter node holds them; `clinical_fields` are
    clinical_from_panel's arguments (age, sex, conditions, findings, primary)."""
    selected_roles = [role for role, node in sequences.items() if node is not None]
    outlined = outlined_regions(sources, segmentation)
    labels = point_labels(level_points)
    try:
        clinical: Clinical | InputError = clinical_from_panel(*clinical_fields)
    except InputError as error:
        clinical = error
    blocked = update_blocked_reason(bool(selected_roles), outlined)
    if isinstance(clinical, InputError):
        clinical_check = StepCheck(False, str(clinical))
    else:
        clinical_check = clinical_step(clinical)
    if not analysed:
        result_state = "No results yet." if blocked else "No results yet: press Update now."
    else:
        provisional = provisional_text(outlined)
        result_state = f"{provisional[0].upper()}{provisional[1:]}: outline the mass and a reference region (step 2)." if provisional else ""
    return PanelState(
        steps={
            "sequences": sequences_step(selected_roles),
            "regions": regions_step(outlined),
            "anchor": anchor_step(labels),
            "clinical": clinical_check,
        },
        result_state=result_state,
        update_blocked=blocked,
        find_levels_blocked=find_levels_blocked_reason(labels),
        anchor_blocked=anchor_blocked_reason(anchor_level),
        compare_blocked=compare_blocked_reason(analysed),
    )


def region_status_text(status: RegionStatus) -> str:
    """A region's status in one short line: its smallest voxel count and the sequences it leaves
    partly (or wholly) outside their field of view, then its warnings; status.line(), every sequence's
    figures, goes into the tooltip."""
    if not status.voxels and not status.coverage:
        return "; ".join(status.warnings)
    smallest = min(status.voxels.values(), default=0)
    partial = [f"{fraction:.0%} inside {role}" for role, fraction in status.coverage.items() if fraction < 1]
    covered = ", ".join(partial) if partial else f"inside all {len(status.coverage)} sequences"
    return "; ".join([f"{DONE if not partial else TO_DO} ≥ {smallest} voxels, {covered}", *status.warnings])


BRACKETED = re.compile(r" \([^)]*\)")


def checkbox_text(label: str) -> str:
    """A clinical term's label as its checkbox shows it, bracketed examples left to the tooltip
    ("recent spinal procedure (surgery, ...)" -> "recent spinal procedure")."""
    return BRACKETED.sub("", label)


def checkbox_cells(texts: list[str], columns: int = 2) -> list[tuple[int, int, int]]:
    """(row, column, column span) of each checkbox in a grid of `columns`, in order: a text longer
    than a column holds (panel.json) takes a row of its own, so that nothing widens Slicer's panel."""
    fits = panel_settings().checkbox_column_chars
    cells, row, column = [], 0, 0
    for text in texts:
        if len(text) > fits:
            if column:
                row, column = row + 1, 0
            cells.append((row, 0, columns))
            row += 1
            continue
        cells.append((row, column, 1))
        column += 1
        if column == columns:
            row, column = row + 1, 0
    return cells


def outlined_regions(sources: dict[str, slicer.vtkMRMLNode | None], segmentation: slicer.vtkMRMLSegmentationNode | None) -> list[str]:
    """The regions outlined by an ROI or segment of their own, or by a segment named like them in the
    regions' segmentation, in the vocabulary's order."""
    named = set()
    if segmentation is not None:
        segments = segmentation.GetSegmentation()
        named = {region for region in region_names() if segments.GetSegmentIdBySegmentName(region)}
    return [region for region in region_names() if sources.get(region) is not None or region in named]


def point_labels(points: slicer.vtkMRMLMarkupsFiducialNode | None) -> list[str]:
    if points is None:
        return []
    return [points.GetNthControlPointLabel(index) for index in range(points.GetNumberOfControlPoints())]


def name_last_point(points: slicer.vtkMRMLMarkupsFiducialNode, level: str) -> None:
    """The anchor just placed takes the level picked in the panel's combo box."""
    code_of(level)  # refuses a name that is no vertebra
    label_point(points, points.GetNumberOfControlPoints() - 1, level)


def name_anchor_when_placed(points: slicer.vtkMRMLMarkupsFiducialNode, level: str) -> None:
    """The next point placed on `points` (Slicer defines its position at the click) takes `level`;
    the observation ends with it."""
    code_of(level)  # refuses a name that is no vertebra before anything is placed

    def name(caller: slicer.vtkMRMLMarkupsFiducialNode, event: str) -> None:
        caller.RemoveObserver(observation)
        name_last_point(caller, level)

    observation = points.AddObserver(slicer.vtkMRMLMarkupsNode.PointPositionDefinedEvent, name)


def is_vertebra_name(label: str) -> bool:
    try:
        code_of(label)
    except InputError:
        return False
    return True


PARAMETER_NODE_CLASS = "vtkMRMLScriptedModuleNode"


@dataclass(frozen=True)
class ParameterNodeChoice:
    """Which of the scene's parameter nodes of a module the panel shows, and a note naming the others."""

    node: slicer.vtkMRMLScriptedModuleNode | None  # None: Slicer's own choice, the module's singleton (made if missing)
    note: str | None


def parameter_node_choice(scene: slicer.vtkMRMLScene, module_name: str) -> ParameterNodeChoice:
    """The module's singleton parameter node when the scene holds one (Slicer's template:
    `ScriptedLoadableModuleLogic.getParameterNode`), else the first node in scene order whose
    ModuleName is the module's (Slicer's rule for a module without a singleton). Slicer's singleton rule
    alone adds a new, empty node beside parameter nodes that lack the singleton tag (a script's, another
    tool's scene) and shows that, so the panel would come up blank over the selections the scene holds.
    Several nodes are one note naming the node shown and the others, never a silent pick."""
    singleton = scene.GetSingletonNode(module_name, PARAMETER_NODE_CLASS)
    found = [scene.GetNthNodeByClass(index, PARAMETER_NODE_CLASS) for index in range(scene.GetNumberOfNodesByClass(PARAMETER_NODE_CLASS))]
    own = [node for node in found if node is singleton or node.GetAttribute("ModuleName") == module_name]
    if not own:
        return ParameterNodeChoice(None, None)
    shown = singleton or own[0]
    others = [node.GetName() for node in own if node is not shown]
    note = None
    if others:
        why = "the module's own (its singleton)" if singleton else "the first in the scene; none is the module's singleton"
        note = f"{', '.join(others)}: {'another' if len(others) == 1 else 'other'} {module_name} parameter node{'' if len(others) == 1 else 's'}; the panel shows {shown.GetName()}, {why}"
    return ParameterNodeChoice(None if singleton else shown, note)


def read_report_node(node: slicer.vtkMRMLTextNode) -> Report:
    """The report a scene's report node holds, of the present schema or (a scene saved before it) the first."""
    schemas = (SCHEMA, FIRST_SCHEMA)
    refused = InputError(node.GetName(), f"is not an EMHAssist report ({' or '.join(schemas)})")
    if node.GetAttribute(REPORT_ATTRIBUTE) not in schemas:
        raise refused
    report = parse_json_text(node.GetText() or "", node.GetName(), finite=True)  # a scene's text is an input as a file is
    if not isinstance(report, dict) or report.get("schema") != node.GetAttribute(REPORT_ATTRIBUTE):
        raise refused
    return from_json(report, node.GetName())


def compare_with_earlier(earlier_report: str, report_node: slicer.vtkMRMLTextNode) -> Comparison:
    """"Compare with an earlier exam": the report now in the panel against an earlier exam's report
    JSON (the panel's "Save report as JSON" or `emhassist analyze --json`) of the same patient, named
    by both exams' clinical context; the earlier report is read strictly and checked against the model."""
    earlier = stored_report(Path(earlier_report))
    return compare(earlier, read_report_node(report_node), given_as=(earlier_report, report_node.GetName()))


def comparison_text(comparison: Comparison) -> str:
    """What the panel shows under "Compare with an earlier exam": the summary line dated against the
    earlier exam, the per-level table a line per level (the HTML page's columns), and the caveat."""
    earlier = comparison.earlier
    since = f"{earlier.case} ({earlier.date})" if earlier.date else earlier.case
    heading, *columns = LEVEL_COLUMNS
    lines = [f"Since {since}: {comparison.summary}", f"{heading}: {', '.join(columns)}"]
    lines += [f"{level}: {', '.join(cells)}" for level, *cells in level_rows(comparison)]
    return "\n".join([*lines, CAVEAT])


def save_results(
    scene: slicer.vtkMRMLScene,
    analysis: Analysis,
    study: Study,
    table: slicer.vtkMRMLTableNode,
    report_node: slicer.vtkMRMLTextNode,
) -> OverlayNodes:
    """Table, report node and overlays for one analysis, replacing those of the last run. The user's
    placement target stays as it was (see keeping_place_target)."""
    write_results_table(analysis.report, table)
    write_report_node(analysis.report, report_node)
    with keeping_place_target(scene):
        return draw_overlays(scene, analysis.report, study, mass_mask=analysis.mass_mask, cord_mask=analysis.cord_mask)


def find_levels(study: Study, scene: slicer.vtkMRMLScene, name: str) -> slicer.vtkMRMLMarkupsFiducialNode:
    """Every vertebra the images show, from the study's labelled points (one is enough), as an
    editable point list labelled with level names; each point's description says how it was found."""
    if study.levels is None or study.levels.GetNumberOfControlPoints() == 0:
        raise InputError("levels", "place at least one point on a vertebral body and label it (T5, L1, ...)")
    outcome = assess_levels(spine_inputs(study), read_sequences(study))
    if outcome.level_map is None:
        raise InputError("levels", "; ".join(finding_text(finding) for finding in outcome.warnings) or "no level could be found")
    return level_point_node(outcome.level_map, scene, name)


def give_default_size(roi: slicer.vtkMRMLMarkupsROINode, region: str) -> bool:
    """Once Slicer has placed the ROI, give every axis left without extent its region's default size;
    True if it did. Slicer places a box ROI with two clicks at opposite corners (its two control
    points) and sets the depth itself; until the second click the box has no size and is left alone,
    since resizing it then would end the placement after one click. Two clicks on one spot leave a
    box without extent, which takes the default size there."""
    if not roi.GetControlPointPlacementComplete():
        return False
    size = list(roi.GetSize())
    default = panel_settings().default_roi_size_mm[region]
    if min(size) > 0:
        return False
    set_roi_size(roi, [extent if extent > 0 else fallback for extent, fallback in zip(size, default)])
    return True


def events_to_observe(node: slicer.vtkMRMLNode) -> tuple[int, ...]:
    """The events by which an input node announces a change the results depend on: new voxels, a
    moved or resized ROI, an edited segment, a level point added, moved, relabelled or removed, or
    a parent transform changed. The panel observes these and throttles its updates."""
    transformed = slicer.vtkMRMLTransformableNode.TransformModifiedEvent
    if node.IsA("vtkMRMLVolumeNode"):
        return (slicer.vtkMRMLVolumeNode.ImageDataModifiedEvent, transformed)
    if node.IsA("vtkMRMLSegmentationNode"):
        return (slicer.vtkSegmentation.RepresentationModified, transformed)
    markups = slicer.vtkMRMLMarkupsNode
    points = (markups.PointModifiedEvent, markups.PointAddedEvent, markups.PointRemovedEvent, transformed)
    # An ROI's size and orientation change through the node's own modified event.
    return (vtk.vtkCommand.ModifiedEvent, *points) if node.IsA("vtkMRMLMarkupsROINode") else points


def observations(inputs: list[tuple[slicer.vtkMRMLNode, tuple[int, ...]]]) -> list[tuple[slicer.vtkMRMLNode, int]]:
    """Each (node, event) to observe once, however many inputs the node feeds: Slicer's
    VTKObservationMixin warns "already has observer" for a second one (and "does not have observer"
    when it is removed twice)."""
    pairs: list[tuple[slicer.vtkMRMLNode, int]] = []
    for node, events in inputs:
        pairs += [(node, event) for event in events if not any(node is seen and event == e for seen, e in pairs)]
    return pairs


def refuse_overlays(nodes: list[slicer.vtkMRMLNode | None]) -> None:
    """An overlay node picked as an input would be deleted by the next update, which redraws it."""
    for node in nodes:
        if node is not None and node.GetAttribute(OVERLAY_ROLE_ATTRIBUTE):
            raise InputError(node.GetName(), "is drawn by EMHAssist and replaced at every update; pick an ROI, segmentation or point list of your own")


def overlay_node_ids(scene: slicer.vtkMRMLScene) -> list[str]:
    """The IDs of every overlay node in the scene, which the panel's input selectors hide (Slicer's
    node combo boxes filter by ID through their sortFilterProxyModel's hiddenNodeIDs)."""
    return [
        node.GetID()
        for node in (scene.GetNthNode(index) for index in range(scene.GetNumberOfNodes()))
        if node.GetAttribute(OVERLAY_ROLE_ATTRIBUTE)
    ]


# --- Quiz --------------------------------------------------------------------------------------
# The panel's quiz lists cases by number: their names and titles ("abscess_t9_t11", "Mimic: ...")
# would give the answer away.
QUIZ_CASE_LABEL = "Case {number}"


def quiz_case_labels() -> list[str]:
    return [QUIZ_CASE_LABEL.format(number=number) for number in range(1, len(case_names()) + 1)]


def quiz_case_name(label: str) -> str:
    """The built-in case a quiz label stands for."""
    labels = quiz_case_labels()
    if label not in labels:
        raise InputError(label or "quiz case", f"is not a quiz case; expected one of {', '.join(labels)}")
    return case_names()[labels.index(label)]


def quiz_case_label(name: str) -> str:
    """The label the panel lists a built-in case under (a restored quiz shows its own)."""
    return quiz_case_labels()[case_names().index(name)]


def diagnosis_names() -> list[str]:
    """The diagnoses the learner picks from, as the panel's combo box shows them."""
    return [choice.name for choice in Quiz.choices()]


def diagnosis_id(name: str) -> str:
    ids = {choice.name: choice.id for choice in Quiz.choices()}
    if name not in ids:
        raise InputError("diagnosis", "pick a diagnosis before the reveal" if not name else f"{name!r} is not one of the choices")
    return ids[name]


def diagnosis_name(diagnosis: str) -> str:
    """The name the panel's combo box shows for a diagnosis id (a restored quiz's pick)."""
    return {choice.id: choice.name for choice in Quiz.choices()}[diagnosis]


def reveal_text(reveal: Reveal, title: str) -> str:
    """The reveal as the panel shows it beside the results: the verdict and the case's title, the
    teaching points, how close the learner's boxes came to the reference ones, and the ratios that differ."""
    lines = [verdict(reveal), f"Your levels: {reveal.levels_line}", f"The case: {title}", "", "Teaching points:", *(f"- {point}" for point in reveal.teaching_points)]
    if reveal.outcome:
        lines += ["", f"Outcome: {reveal.outcome}"]
    lines += ["", "Your boxes against the reference (green):"]
    lines += [f"- {c.describe()}" for c in reveal.sites]
    lines += [f"- {site}: not outlined" for site in reveal.missed_sites]
    differing = [ratio for ratio in reveal.ratios if ratio.differ]
    agreement = "Ratios whose 95 % intervals do not overlap the reference's:"
    lines += ["", agreement if differing else "Every ratio agrees with the reference's (95 % intervals overlap)."]
    lines += [line for line in (ratio_sites_line(reveal),) if line]
    lines += [f"- {ratio.key.text}: yours {ratio.learner:.2f}, reference {ratio.reference:.2f}" for ratio in differing]
    return "\n".join(lines)


# --- DICOM SR export inside Slicer ----------------------------------------------------------------
SR_AVAILABLE, SR_INSTALL, SR_UNAVAILABLE = "available", "install on request", "unavailable"


@dataclass(frozen=True)
class SrExportPlan:
    """How the Export menu offers the DICOM SR on one Slicer: `message` is the install prompt or the
    reason it is unavailable; `requirement` and `constraints` (pip's constraints-file text holding
    Slicer's own packages at their versions) are set when the package is to be installed on request."""

    action: str
    message: str
    requirement: str = ""
    constraints: str = ""


def version_tuple(version: str) -> tuple[int, ...]:
    """The numeric release part of a version ("2.4.4" -> (2, 4, 4), "3.0.2rc1" -> (3, 0, 2))."""
    parts = []
    for part in version.split("."):
        digits = "".join(itertools.takewhile(str.isdigit, part))
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def sr_export_plan(installed: dict[str, str]) -> SrExportPlan:
    """What the Export menu does about the DICOM SR, given the versions of the packages Slicer's Python
    has (`installed_versions`): available when highdicom is there; install on request when every
    package highdicom needs is already at a version it accepts; otherwise unavailable, saying why.
    Installing never replaces a package Slicer ships: pip gets Slicer's versions as constraints."""
    spec = panel_settings().sr_export
    package, version = spec.package, spec.version
    if package in installed:
        return SrExportPlan(SR_AVAILABLE, f"{package} {installed[package]} is installed")
    too_old = [
        f"{name} {installed[name]} (needs {minimum} or later)"
        for name, minimum in spec.needs.items()
        if name in installed and version_tuple(installed[name]) < version_tuple(minimum)
    ]
    if too_old:
        return SrExportPlan(
            SR_UNAVAILABLE,
            f"DICOM SR export needs {package} {version}, which needs a newer package than this Slicer ships: "
            f"{', '.join(too_old)}; replacing it could break Slicer's own modules. Export JSON or HTML instead.",
        )
    constraints = "".join(f"{name}=={installed[name]}\n" for name in spec.needs if name in installed)
    return SrExportPlan(
        SR_INSTALL,
        f"Saving a DICOM Structured Report needs the Python package {package} {version}, which Slicer does not ship. "
        f"Install it now? Slicer's own packages are kept as they are ({', '.join(constraints.split()) or 'none affected'}).",
        requirement=f"{package}=={version}",
        constraints=constraints,
    )


def installed_versions(names: list[str]) -> dict[str, str]:
    """The version of each named package this Python has; absent packages are left out."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def sr_export_packages() -> list[str]:
    """The packages whose versions decide the SR export plan."""
    spec = panel_settings().sr_export
    return [spec.package, *spec.needs]


# --- Teaching cases in Slicer's Sample Data module --------------------------------------------------
# Slicer's SampleData.downloadSample(name) (a script's way) loads a source's files through the IO
# manager and ignores customDownloader, which only the module's buttons call. So a teaching case is a
# file: the case's spec (data/cases/<name>.json, installed with the module) is "downloaded" from its
# file:// URL into Slicer's cache and loaded with loadFileTypes naming EMHAssist's file reader
# (EMHAssistFileReader), which builds the case. Buttons and scripts go the same way.
TEACHING_CASE_FILE_TYPE = "EMHAssistTeachingCase"
TEACHING_CASE_SUFFIX = ".emhcase.json"
SAMPLE_DATA_CATEGORY = "EMHAssist teaching cases"


def teaching_case_sample(name: str, thumbnail: str) -> dict:
    """Keyword arguments of SampleDataLogic.registerCustomSampleDataSource for a built-in case."""
    return {
        "category": SAMPLE_DATA_CATEGORY,
        "sampleName": name,
        "uris": [(CASES_DIR / f"{name}.json").as_uri()],
        "fileNames": [f"{name}{TEACHING_CASE_SUFFIX}"],
        "nodeNames": [name],
        "thumbnailFileName": thumbnail,
        "loadFileTypes": [TEACHING_CASE_FILE_TYPE],
    }


def teaching_case_in_file(path: str) -> str:
    """The built-in case a teaching-case file (a copy of its spec) stands for."""
    try:
        content = read_json_file(Path(path))
    except OSError as error:
        raise InputError(path, f"is not an EMHAssist teaching case ({error})") from None
    name = content.get("id") if isinstance(content, dict) else None
    if not isinstance(name, str):
        raise InputError(path, f"is not an EMHAssist teaching case: 'id' must name a built-in case, not {name!r}")
    if name not in case_names():
        raise InputError(path, f"names no built-in case (id {name!r}); expected one of {', '.join(case_names())}")
    return name
