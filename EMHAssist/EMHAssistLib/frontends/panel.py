"""The Slicer panel's Qt-free side: its fields turned into inputs, results kept in the scene.

The module widget only reads widgets and calls these; everything here runs headless on real MRML
and is tested there. Results live in nodes the parameter node references (the results table, the
report as JSON in a text node) and in the overlay folder, so a saved `.mrb` brings them all back.
"""

import importlib.metadata
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import slicer
import vtk

from ..analysis import SCHEMA, Analysis, read_sequences
from ..errors import InputError
from ..inputs.clinical import validate_clinical
from ..inputs.study import Study
from ..knowledge import load
from ..outputs.overlays import ROLE_ATTRIBUTE as OVERLAY_ROLE_ATTRIBUTE
from ..outputs.overlays import OverlayNodes, draw_overlays, evidence_lines
from ..outputs.tables import write_results_table
from ..spine.compression import assess as assess_levels
from ..spine.levels import level_point_node
from ..teaching.cases import case_names
from ..teaching.phantom import CASES_DIR
from ..teaching.quiz import Quiz, Reveal, verdict

AGE_NOT_STATED = -1  # the panel's age field shows "not stated" at this value
REPORT_ATTRIBUTE = "EMHAssist.schema"


def clinical_context(age: int, sex: str, conditions: list[str], findings: list[str], primary: str = "") -> dict:
    """The checked clinical context from the panel's fields; empty fields are simply not stated."""
    raw: dict = {"conditions": list(conditions), "findings": list(findings)}
    if age != AGE_NOT_STATED:
        raw["age"] = age
    if sex:
        raw["sex"] = sex
    if primary:
        raw["primary"] = primary
    return validate_clinical({key: value for key, value in raw.items() if value != []}, subject="clinical context")


@dataclass(frozen=True)
class DiagnosisRow:
    """One line of the panel's differential: a probability bar and its expandable explanation."""

    name: str
    percent: int
    prior_percent: int
    explanation: str


def differential_rows(report: dict) -> list[DiagnosisRow]:
    rows = []
    for diagnosis in report.get("differential") or []:
        priors = [f"prior: {factor['label']} ×{factor['factor']:g}" for factor in diagnosis.get("prior_factors") or []]
        rows.append(DiagnosisRow(
            name=diagnosis["name"],
            percent=round(100 * diagnosis["probability"]),
            prior_percent=round(100 * diagnosis["prior"]),
            explanation="\n".join([diagnosis.get("summary", ""), *evidence_lines(diagnosis), *priors]).strip(),
        ))
    return rows


def write_report_node(report: dict, node: slicer.vtkMRMLTextNode) -> None:
    """The whole report as JSON in a text node, which saves with the scene."""
    node.SetText(json.dumps(report, indent=2, ensure_ascii=False))
    node.SetAttribute(REPORT_ATTRIBUTE, report["schema"])


def read_report_node(node: slicer.vtkMRMLTextNode) -> dict:
    if node.GetAttribute(REPORT_ATTRIBUTE) != SCHEMA:
        raise InputError(node.GetName(), f"is not an EMHAssist report ({SCHEMA})")
    try:
        report = json.loads(node.GetText() or "")
    except json.JSONDecodeError:
        raise InputError(node.GetName(), "holds no readable report (not JSON)") from None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise InputError(node.GetName(), f"is not an EMHAssist report ({SCHEMA})")
    return report


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


SELECTION_NODE_ID = "vtkMRMLSelectionNodeSingleton"  # the application's selection node


@contextmanager
def keeping_place_target(scene: slicer.vtkMRMLScene) -> Iterator[None]:
    """Slicer's Markups logic makes every markups node added outside a batch the active place node:
    the overlays' point lists and lines would become the target of the user's next click, even
    half-way through placing an ROI. The selection node's active place node is put back afterwards."""
    selection = scene.GetNodeByID(SELECTION_NODE_ID)
    if selection is None:
        yield
        return
    class_name, node_id = selection.GetActivePlaceNodeClassName(), selection.GetActivePlaceNodeID()
    try:
        yield
    finally:
        if (selection.GetActivePlaceNodeClassName(), selection.GetActivePlaceNodeID()) != (class_name, node_id):
            selection.SetReferenceActivePlaceNodeClassName(class_name)
            selection.SetActivePlaceNodeID(node_id)


def find_levels(study: Study, scene: slicer.vtkMRMLScene, name: str) -> slicer.vtkMRMLMarkupsFiducialNode:
    """Every vertebra the images show, from the study's labelled points (one is enough), as an
    editable point list labelled with level names; each point's description says how it was found."""
    if study.levels is None or study.levels.GetNumberOfControlPoints() == 0:
        raise InputError("levels", "place at least one point on a vertebral body and label it (T5, L1, ...)")
    outcome = assess_levels(study, read_sequences(study))
    if outcome.level_map is None:
        raise InputError("levels", "; ".join(outcome.warnings) or "no level could be found")
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
    default = load("panel")["default_roi_size_mm"][region]
    if min(size) > 0:
        return False
    roi.SetSize(*[extent if extent > 0 else fallback for extent, fallback in zip(size, default)])
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
    lines += [f"- {ratio.key}: yours {ratio.learner:.2f}, reference {ratio.reference:.2f}" for ratio in differing]
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
    spec = load("panel")["sr_export"]
    package, version = spec["package"], spec["version"]
    if package in installed:
        return SrExportPlan(SR_AVAILABLE, f"{package} {installed[package]} is installed")
    too_old = [
        f"{name} {installed[name]} (needs {minimum} or later)"
        for name, minimum in spec["needs"].items()
        if name in installed and version_tuple(installed[name]) < version_tuple(minimum)
    ]
    if too_old:
        return SrExportPlan(
            SR_UNAVAILABLE,
            f"DICOM SR export needs {package} {version}, which needs a newer package than this Slicer ships: "
            f"{', '.join(too_old)}; replacing it could break Slicer's own modules. Export JSON or HTML instead.",
        )
    constraints = "".join(f"{name}=={installed[name]}\n" for name in spec["needs"] if name in installed)
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
    spec = load("panel")["sr_export"]
    return [spec["package"], *spec["needs"]]


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
        with open(path, encoding="utf-8") as stream:
            name = json.load(stream).get("id")
    except (OSError, ValueError, AttributeError) as error:
        raise InputError(path, f"is not an EMHAssist teaching case ({error})") from None
    if name not in case_names():
        raise InputError(path, f"names no built-in case (id {name!r}); expected one of {', '.join(case_names())}")
    return name
