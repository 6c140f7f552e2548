"""Quiz mode: a teaching case opened with its answer hidden, the learner's reading, then the reveal.

The case opens with its sequences and level points only: no reference ROI, no expected diagnosis
and no analysis exist in the scene until the reveal. The learner outlines regions with their own
markups ROI nodes and picks a diagnosis; the reveal analyses the learner's ROIs, places the
reference ROIs and compares the two. MRML only, no Qt: the Slicer panel and the browser viewer
share this.
"""

import dataclasses
from dataclasses import dataclass

import numpy as np
import slicer

from ..analysis import Analysis, run_analysis
from ..errors import InputError
from ..inputs.nodes import box_of_roi, set_roi_box
from ..inputs.study import RegionSource, Study, region_names
from ..knowledge import load
from ..measurement.geometry import Box
from .cases import CaseInfo, box_of_spec, build_study, case_info, study_into_scene

LEARNER_ATTRIBUTE = "EMHAssist.quiz.learner"
REFERENCE_ATTRIBUTE = "EMHAssist.quiz.reference"
# Overlap is counted on a regular grid of world points; this many at most keeps it well under a second.
_MAX_SAMPLES = 2_000_000


@dataclass(frozen=True)
class Choice:
    id: str
    name: str


@dataclass(frozen=True)
class RatioComparison:
    """One ratio measured on the learner's ROIs and on the reference ones."""

    key: str
    learner: float
    reference: float
    differ: bool  # the two 95 % confidence intervals do not overlap


@dataclass(frozen=True)
class RegionComparison:
    """How close the learner's boxes for one region came to the reference boxes (unions of each)."""

    region: str
    dice: float
    iou: float
    centre_distance_mm: float


@dataclass(frozen=True)
class Reveal:
    picked: str
    expected: str
    correct: bool
    report: dict  # the analysis on the learner's ROIs
    reference_report: dict  # the same analysis on the reference ROIs
    teaching_points: tuple[str, ...]
    outcome: str
    regions: tuple[RegionComparison, ...]  # regions both the learner and the reference outlined
    missed_regions: tuple[str, ...]  # outlined in the reference, not by the learner
    ratios: tuple[RatioComparison, ...]  # ratios measured on both sides

    @property
    def ranking(self) -> list[dict]:
        return self.report.get("differential") or []


class Quiz:
    """One case in quiz mode inside `scene`."""

    def __init__(self, name: str, scene: slicer.vtkMRMLScene) -> None:
        self.info: CaseInfo = case_info(name)
        self._scene = scene
        synthetic = build_study(name)
        self._reference_boxes = {region: [box_of_spec(spec) for spec in specs] for region, specs in synthetic.rois.items()}
        self.study: Study = study_into_scene(dataclasses.replace(synthetic, rois={}), scene)
        self.learner_rois: dict[str, list[slicer.vtkMRMLMarkupsROINode]] = {}
        self.reference_rois: dict[str, list[slicer.vtkMRMLMarkupsROINode]] = {}
        self.reference_analysis: Analysis | None = None
        self.learner_analysis: Analysis | None = None

    @property
    def revealed(self) -> bool:
        return self.reference_analysis is not None

    @staticmethod
    def choices() -> list[Choice]:
        return [Choice(entry["id"], entry["name"]) for entry in load("differential/diagnoses")["diagnoses"]]

    def add_roi(self, region: str, center: tuple[float, float, float], size: tuple[float, float, float]) -> slicer.vtkMRMLMarkupsROINode:
        """A new learner ROI for `region`, axis-aligned, which the learner then moves and resizes."""
        box = Box(np.asarray(center, float), np.eye(3), np.asarray(size, float) / 2)
        return self.adopt_roi(region, self._new_roi(f"your {region}", box, LEARNER_ATTRIBUTE, "learner_color"))

    def adopt_roi(self, region: str, roi: slicer.vtkMRMLMarkupsROINode) -> slicer.vtkMRMLMarkupsROINode:
        """Count an ROI node the learner placed themselves as outlining `region`."""
        if region not in region_names():
            raise InputError(region, f"is not a region; expected one of {', '.join(region_names())}")
        if not roi.IsA("vtkMRMLMarkupsROINode"):
            raise InputError(roi.GetName(), "is not a markups ROI")
        roi.SetAttribute(LEARNER_ATTRIBUTE, region)
        self.learner_rois.setdefault(region, []).append(roi)
        return roi

    def remove_roi(self, roi: slicer.vtkMRMLMarkupsROINode) -> None:
        for rois in self.learner_rois.values():
            if roi in rois:
                rois.remove(roi)
        self.learner_rois = {region: rois for region, rois in self.learner_rois.items() if rois}
        if self._scene.IsNodePresent(roi):
            self._scene.RemoveNode(roi)

    def reveal(self, picked: str) -> Reveal:
        """Analyse the learner's ROIs, place and analyse the reference ones, and compare."""
        known = [choice.id for choice in self.choices()]
        if picked not in known:
            raise InputError(picked, f"is not a diagnosis; expected one of {', '.join(known)}")
        if not self.learner_rois:
            raise InputError(self.info.name, "no ROI placed yet: outline at least the mass before the reveal")
        self.learner_analysis = run_analysis(self.learner_study())
        if not self.reference_rois:
            self.reference_rois = {
                region: [self._new_roi(f"reference {region}", box, REFERENCE_ATTRIBUTE, "reference_color") for box in boxes]
                for region, boxes in self._reference_boxes.items()
            }
            for rois in self.reference_rois.values():
                for roi in rois:
                    roi.SetLocked(True)
        self.reference_analysis = run_analysis(
            self._study_with({r: [RegionSource(n) for n in rois] for r, rois in self.reference_rois.items()})
        )
        learner_boxes = {region: [box_of_roi(roi) for roi in rois] for region, rois in self.learner_rois.items()}
        return Reveal(
            picked=picked,
            expected=self.info.expected,
            correct=picked == self.info.expected,
            report=self.learner_analysis.report,
            reference_report=self.reference_analysis.report,
            teaching_points=self.info.teaching_points,
            outcome=self.info.outcome,
            regions=tuple(
                compare_boxes(region, learner_boxes[region], self._reference_boxes[region])
                for region in region_names()
                if region in learner_boxes and region in self._reference_boxes
            ),
            missed_regions=tuple(r for r in region_names() if r in self._reference_boxes and r not in learner_boxes),
            ratios=compare_ratios(self.learner_analysis.report, self.reference_analysis.report),
        )

    def learner_study(self) -> Study:
        """The case's sequences and level points with the learner's ROIs as its regions."""
        return self._study_with({region: [RegionSource(roi) for roi in rois] for region, rois in self.learner_rois.items()})

    def _study_with(self, regions: dict[str, list[RegionSource]]) -> Study:
        return dataclasses.replace(self.study, regions=regions)

    def _new_roi(self, name: str, box: Box, attribute: str, color: str) -> slicer.vtkMRMLMarkupsROINode:
        roi = self._scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", name)
        set_roi_box(roi, box)
        roi.CreateDefaultDisplayNodes()
        roi.GetDisplayNode().SetColor(load("quiz")[color])
        roi.GetDisplayNode().SetSelectedColor(load("quiz")[color])
        roi.SetAttribute(attribute, name)
        return roi


def verdict(result: Reveal) -> str:
    """The one-line verdict the browser and the Slicer panel show at the reveal."""
    names = {choice.id: choice.name for choice in Quiz.choices()}
    if result.correct:
        return f"Right: {names[result.expected]}."
    return f"Not this time: you picked {names[result.picked]}; the answer is {names[result.expected]}."


def compare_boxes(region: str, learner: list[Box], reference: list[Box]) -> RegionComparison:
    """Dice and IoU of the two unions of boxes in world space, and the distance of their centroids.

    Counted on one regular grid of points over both unions, fine enough for millimetre boxes.
    """
    corners = np.concatenate([box.corners_world() for box in [*learner, *reference]])
    low, high = corners.min(axis=0), corners.max(axis=0)
    step = max(0.5, float(np.cbrt(np.prod(high - low) / _MAX_SAMPLES)))
    axes = [np.arange(lo + step / 2, hi, step) for lo, hi in zip(low, high)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    inside_learner = _inside_any(learner, points)
    inside_reference = _inside_any(reference, points)
    both = np.count_nonzero(inside_learner & inside_reference)
    either = np.count_nonzero(inside_learner | inside_reference)
    total = np.count_nonzero(inside_learner) + np.count_nonzero(inside_reference)
    distance = np.linalg.norm(_centroid(learner, points, inside_learner) - _centroid(reference, points, inside_reference))
    return RegionComparison(region, float(2 * both / total) if total else 0.0, float(both / either) if either else 0.0, float(distance))


def compare_ratios(learner: dict, reference: dict) -> tuple[RatioComparison, ...]:
    """Every ratio both reports measured; they differ when their 95 % intervals do not overlap."""
    compared = []
    for key, mine in (learner.get("ratios") or {}).items():
        theirs = (reference.get("ratios") or {}).get(key)
        if theirs is None:
            continue
        (low, high), (ref_low, ref_high) = mine["ci95"], theirs["ci95"]
        compared.append(RatioComparison(key, mine["value"], theirs["value"], high < ref_low or ref_high < low))
    return tuple(compared)


def _centroid(boxes: list[Box], points: np.ndarray, inside: np.ndarray) -> np.ndarray:
    # A box thinner than the grid's step holds no point; its centre still says where it is.
    return points[inside].mean(axis=0) if inside.any() else np.mean([box.center for box in boxes], axis=0)


def _inside_any(boxes: list[Box], points: np.ndarray) -> np.ndarray:
    inside = np.zeros(len(points), bool)
    for box in boxes:
        inside |= box.contains(points)
    return inside
