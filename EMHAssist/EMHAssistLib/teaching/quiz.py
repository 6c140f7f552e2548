"""Quiz mode: a teaching case opened with its answer hidden, the learner's reading, then the reveal.

The case opens with its sequences and level points only: no reference ROI, no expected diagnosis
and no analysis exist in the scene until the reveal. The learner outlines regions with their own
markups ROI nodes and picks a diagnosis; the reveal analyses the learner's ROIs, places the
reference ROIs and compares the two. MRML only, no Qt: the Slicer panel and the browser viewer
share this.

The quiz's state lives in the scene, so a saved `.mrb` reopens the quiz where it was: a scripted
module node, hidden from the Data module and the node selectors, references the case's sequences,
level points and the learner's and reference ROIs, and holds the pick and whether the answer was
revealed. Until the reveal nothing in the scene names the case or its answer: the node holds a
digest of the case's name, which only the code that ships the cases can match, and the reference
boxes are rebuilt from the case at the reveal, never stored.
"""

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np
import slicer

from ..analysis import Analysis, run_analysis
from ..differential import knowledge
from ..errors import InputError
from ..geometry import Box, Labelmap
from ..inputs.clinical import clinical_context
from ..inputs.nodes import box_of_roi
from ..inputs.study import RegionSource, Study, region_names, sequence_roles
from ..live import LiveAnalysis
from ..outputs import quiz_scene
from ..outputs.wording import finding_text, summary_line
from ..report_model import RankedDiagnosis, Ratio, RatioKey, Report
from .cases import CaseInfo, box_of_spec, build_study, case_info, case_names, case_rois, study_into_scene
from .quiz_settings import Colour, quiz_settings

LEARNER_ATTRIBUTE = "EMHAssist.quiz.learner"
REFERENCE_ATTRIBUTE = "EMHAssist.quiz.reference"
STATE_ATTRIBUTE = "EMHAssist.quiz.state"  # marks the node holding a quiz's state
STATE_NODE_NAME = "EMHAssist quiz"
# Parameters of the state node, and the node reference roles it files its nodes under.
_CASE_DIGEST, _PICKED, _REVEALED = "caseDigest", "picked", "revealed"
_LEVELS_ROLE = "levels"
# Overlap is counted on a regular grid of world points; this many at most keeps it well under a second.
_MAX_SAMPLES = 2_000_000
DICE, IN_CORD = "Dice", "in cord"


@dataclass(frozen=True)
class Choice:
    id: str
    name: str


@dataclass(frozen=True)
class RatioComparison:
    """One ratio measured on the learner's ROIs and on the reference ones."""

    key: RatioKey
    learner: float
    reference: float
    differ: bool  # the two 95 % confidence intervals do not overlap


@dataclass(frozen=True)
class SiteComparison:
    """One learner ROI against the reference site of its region whose centre lies nearest to it.

    A box site is scored by Dice (and IoU) against the reference box; the cord, whose reference
    box is only a thin sample of it, by the share of the ROI that lies inside the cord the
    reference analysis segmented ("in cord"), its distance measured to the cord's centreline."""

    region: str
    roi: str  # the learner ROI's name
    site: str  # the reference site: the region's name, "mass 2 of 2" when it has several
    measure: str  # "Dice" or "in cord"
    score: float
    iou: float | None  # box sites only
    centre_distance_mm: float
    on_target: bool  # the score reaches quiz.json's threshold for its measure

    def describe(self) -> str:
        """One line for the reveal, as the browser and the Slicer panel show it."""
        verdict_word = "on target" if self.on_target else "off target"
        score = f"{100 * self.score:.0f} % inside the cord" if self.measure == IN_CORD else f"Dice {self.score:.2f}, IoU {self.iou:.2f}"
        return f"{self.roi} on {self.site}: {score}, {self.centre_distance_mm:.1f} mm away ({verdict_word})"


@dataclass(frozen=True)
class Reveal:
    picked: str
    expected: str
    correct: bool
    report: Report  # the analysis on the learner's ROIs
    reference_report: Report  # the same analysis on the reference ROIs
    teaching_points: tuple[str, ...]
    outcome: str
    sites: tuple[SiteComparison, ...]  # each learner ROI against its region's nearest reference site
    missed_sites: tuple[str, ...]  # reference sites no learner ROI was nearest to
    ratios: tuple[RatioComparison, ...]  # ratios measured on both sides
    ratio_sites: tuple[str, ...]  # the reference sites the ratios were compared on, when not all of them
    levels_line: str  # the learner's levels finding, or why their analysis has none

    @property
    def ranking(self) -> tuple[RankedDiagnosis, ...]:
        return self.report.differential


class Quiz:
    """One case in quiz mode inside a scene, its state kept in a node of that scene."""

    def __init__(self, name: str, scene: slicer.vtkMRMLScene) -> None:
        """Open the built-in case `name` as a quiz: its sequences, its level points and the state node."""
        info = case_info(name)
        if _state_nodes(scene):
            raise InputError(STATE_NODE_NAME, "the scene already holds a quiz; close the scene before opening another")
        synthetic = build_study(name)
        study = study_into_scene(dataclasses.replace(synthetic, rois={}), scene)
        boxes = {region: [box_of_spec(spec) for spec in specs] for region, specs in synthetic.rois.items()}
        self._attach(info, _new_state_node(scene, name, study), boxes)

    @classmethod
    def in_scene(cls, scene: slicer.vtkMRMLScene) -> "Quiz | None":
        """The quiz a scene holds (one saved in a `.mrb` and loaded again), or None."""
        states = _state_nodes(scene)
        if not states:
            return None
        if len(states) > 1:
            raise InputError(STATE_NODE_NAME, f"the scene holds {len(states)} quizzes; load one quiz scene at a time")
        quiz = cls.__new__(cls)
        quiz._attach(case_info(_case_of_digest(states[0])), states[0], reference_boxes=None)
        return quiz

    def _attach(
        self, info: CaseInfo, state: slicer.vtkMRMLScriptedModuleNode, reference_boxes: dict[str, list[Box]] | None
    ) -> None:
        self.info: CaseInfo = info
        self._state = state
        self._reference_boxes = reference_boxes  # None: rebuilt from the case if the reveal places them
        self.reference_analysis: Analysis | None = None
        self.learner_analysis: Analysis | None = None

    @property
    def study(self) -> Study:
        """The case's sequences and level points, as the state node references them."""
        sequences = {role: self._state.GetNodeReference(_sequence_role(role)) for role in sequence_roles()}
        return Study(
            name=self.info.name,
            sequences={role: volume for role, volume in sequences.items() if volume is not None},
            levels=self._state.GetNodeReference(_LEVELS_ROLE),
            clinical=clinical_context(self.info.clinical, subject=f"{self.info.name}: clinical context"),
        )

    @property
    def learner_rois(self) -> dict[str, list[slicer.vtkMRMLMarkupsROINode]]:
        return self._rois(_learner_role)

    @property
    def reference_rois(self) -> dict[str, list[slicer.vtkMRMLMarkupsROINode]]:
        return self._rois(_reference_role)

    @property
    def picked(self) -> str | None:
        """The diagnosis the learner picked (its id), None before a pick."""
        return self._state.GetParameter(_PICKED) or None

    @property
    def revealed(self) -> bool:
        return self._state.GetParameter(_REVEALED) == "true"

    @staticmethod
    def choices() -> list[Choice]:
        return [Choice(diagnosis.id, diagnosis.name) for diagnosis in knowledge().diagnoses.values()]

    def pick(self, diagnosis: str) -> None:
        """Record the learner's diagnosis (an id of `choices()`) before the reveal."""
        _check_diagnosis(diagnosis)
        if self.revealed:
            raise InputError(diagnosis, f"the answer is already revealed; the pick stays {self.picked}")
        quiz_scene.set_parameter(self._state, _PICKED, diagnosis)

    def add_roi(self, region: str, center: tuple[float, float, float], size: tuple[float, float, float]) -> slicer.vtkMRMLMarkupsROINode:
        """A new learner ROI for `region`, axis-aligned, which the learner then moves and resizes."""
        box = Box(np.asarray(center, float), np.eye(3), np.asarray(size, float) / 2)
        return self.adopt_roi(region, self._new_roi(f"your {region}", box, LEARNER_ATTRIBUTE, quiz_settings().learner_color))

    def adopt_roi(self, region: str, roi: slicer.vtkMRMLMarkupsROINode) -> slicer.vtkMRMLMarkupsROINode:
        """Count an ROI node the learner placed themselves as outlining `region`."""
        check_region(region)
        if not roi.IsA("vtkMRMLMarkupsROINode"):
            raise InputError(roi.GetName(), "is not a markups ROI")
        quiz_scene.mark(roi, LEARNER_ATTRIBUTE, region)
        quiz_scene.add_reference(self._state, _learner_role(region), roi)
        return roi

    def remove_roi(self, roi: slicer.vtkMRMLNode) -> None:
        """Remove one of the learner's ROIs. Any other node (a sequence, a reference box, the quiz's own
        state) is refused: the browser names the node to remove, and a page is not to be trusted."""
        if roi.GetAttribute(LEARNER_ATTRIBUTE) is None:
            raise InputError(roi.GetName() or roi.GetID(), "is not one of your ROIs: only the boxes you placed can be removed")
        quiz_scene.drop_reference(self._state, [_learner_role(region) for region in region_names()], roi)
        quiz_scene.remove_node(roi, self._state.GetScene())

    def reveal(self, picked: str) -> Reveal:
        """Analyse the learner's ROIs, place and analyse the reference ones, and compare.

        The reveal is final: the learner's ROIs are locked, and revealing again (as when a saved
        quiz is reopened) takes the same pick and gives the same reveal."""
        _check_diagnosis(picked)
        if self.revealed and picked != self.picked:
            raise InputError(picked, f"the answer is already revealed; the pick stays {self.picked}")
        learner_rois = self.learner_rois
        if not learner_rois:
            raise InputError(self.info.name, "no ROI placed yet: outline at least the mass before the reveal")
        quiz_scene.set_parameter(self._state, _PICKED, picked)
        self.learner_analysis = run_analysis(self.learner_study())
        reference_rois = self.reference_rois or self._place_reference_rois()
        self.reference_analysis = run_analysis(
            self._study_with({r: [RegionSource(n) for n in rois] for r, rois in reference_rois.items()})
        )
        for rois in [*learner_rois.values(), *reference_rois.values()]:
            for roi in rois:
                lock_roi(roi)
        quiz_scene.set_parameter(self._state, _REVEALED, "true")
        reference_boxes = {region: [box_of_roi(roi) for roi in rois] for region, rois in reference_rois.items()}
        sites = [
            compare_site(region, roi.GetName(), box_of_roi(roi), reference_boxes[region], self.reference_analysis)
            for region, rois in learner_rois.items()
            if region in reference_boxes
            for roi in rois
        ]
        compared_on = _sites_compared(reference_rois, sites)
        reference_ratios = (
            self.reference_analysis.report.ratios
            if compared_on == reference_rois
            else LiveAnalysis().ratios(self._study_with({r: [RegionSource(n) for n in rois] for r, rois in compared_on.items()}))
        )
        return Reveal(
            picked=picked,
            expected=self.info.expected,
            correct=picked == self.info.expected,
            report=self.learner_analysis.report,
            reference_report=self.reference_analysis.report,
            teaching_points=self.info.teaching_points,
            outcome=self.info.outcome,
            sites=tuple(sites),
            missed_sites=tuple(
                name for region, boxes in reference_boxes.items() for name in site_names(region, len(boxes)) if name not in {c.site for c in sites}
            ),
            ratios=compare_ratios(self.learner_analysis.report.ratios, reference_ratios),
            ratio_sites=tuple(dict.fromkeys(c.site for c in sites if compared_on[c.region] != reference_rois[c.region])),
            levels_line=levels_line(self.learner_analysis),
        )

    def learner_study(self) -> Study:
        """The case's sequences and level points with the learner's ROIs as its regions."""
        return self._study_with({region: [RegionSource(roi) for roi in rois] for region, rois in self.learner_rois.items()})

    def _study_with(self, regions: dict[str, list[RegionSource]]) -> Study:
        return dataclasses.replace(self.study, regions=regions)

    def _place_reference_rois(self) -> dict[str, list[slicer.vtkMRMLMarkupsROINode]]:
        if self._reference_boxes is None:
            self._reference_boxes = {
                region: [box_of_spec(spec) for spec in specs] for region, specs in case_rois(self.info.name).items()
            }
        for region, boxes in self._reference_boxes.items():
            for box in boxes:
                roi = self._new_roi(f"reference {region}", box, REFERENCE_ATTRIBUTE, quiz_settings().reference_color)
                quiz_scene.add_reference(self._state, _reference_role(region), roi)
        return self.reference_rois

    def _rois(self, role_of) -> dict[str, list[slicer.vtkMRMLMarkupsROINode]]:
        rois = {}
        for region in region_names():
            role = role_of(region)
            nodes = [self._state.GetNthNodeReference(role, index) for index in range(self._state.GetNumberOfNodeReferences(role))]
            if nodes:
                rois[region] = nodes
        return rois

    def _new_roi(self, name: str, box: Box, attribute: str, color: Colour) -> slicer.vtkMRMLMarkupsROINode:
        roi = quiz_scene.new_marked_roi(self._state.GetScene(), name, box, attribute)
        style_roi(roi, color)
        return roi


def style_roi(roi: slicer.vtkMRMLMarkupsROINode, color: Colour) -> None:
    """The quiz's look for a box (quiz.json): `color` (the learner's or the reference's), an outline
    with its handles, unnamed in the views."""
    look = quiz_settings().roi_look
    quiz_scene.style_roi(roi, color, look.fill, look.name_labels)


def lock_roi(roi: slicer.vtkMRMLMarkupsROINode) -> None:
    """A box no one may move any more (every box once the answer is revealed): locked, and drawn
    without the handles and centre point that would only clutter the views (quiz.json, `roi_look`)."""
    quiz_scene.lock_roi(roi, quiz_settings().roi_look.locked_handles)


def case_digest(name: str) -> str:
    """What the state node holds instead of the case's name, which would give the answer away."""
    return hashlib.sha256(f"EMHAssist quiz case {name}".encode()).hexdigest()


def _case_of_digest(state: slicer.vtkMRMLScriptedModuleNode) -> str:
    by_digest = {case_digest(name): name for name in case_names()}
    digest = state.GetParameter(_CASE_DIGEST)
    if digest not in by_digest:
        raise InputError(state.GetName(), "names a teaching case this version of EMHAssist does not have")
    return by_digest[digest]


def _new_state_node(scene: slicer.vtkMRMLScene, name: str, study: Study) -> slicer.vtkMRMLScriptedModuleNode:
    references = {_sequence_role(role): volume.GetID() for role, volume in study.sequences.items()}
    references[_LEVELS_ROLE] = study.levels.GetID()
    return quiz_scene.new_state_node(scene, STATE_NODE_NAME, STATE_ATTRIBUTE, {_CASE_DIGEST: case_digest(name)}, references)


def _state_nodes(scene: slicer.vtkMRMLScene) -> list[slicer.vtkMRMLScriptedModuleNode]:
    nodes = (scene.GetNthNodeByClass(index, "vtkMRMLScriptedModuleNode") for index in range(scene.GetNumberOfNodesByClass("vtkMRMLScriptedModuleNode")))
    return [node for node in nodes if node.GetAttribute(STATE_ATTRIBUTE)]


def _check_diagnosis(diagnosis: str) -> None:
    known = [choice.id for choice in Quiz.choices()]
    if diagnosis not in known:
        raise InputError(diagnosis, f"is not a diagnosis; expected one of {', '.join(known)}")


def _sequence_role(role: str) -> str:
    return f"sequence_{role}"


def check_region(region: str) -> str:
    """`region` if it is one the quiz outlines, else a one-line error naming it and the regions."""
    if region not in region_names():
        raise InputError(str(region), f"is not a region; expected one of {', '.join(region_names())}")
    return region


def _learner_role(region: str) -> str:
    return f"learner_{region}"


def _reference_role(region: str) -> str:
    return f"reference_{region}"


def ratio_sites_line(result: Reveal) -> str:
    """Which reference sites the ratio comparison used, when the learner outlined only some of a region's."""
    if not result.ratio_sites:
        return ""
    sites = "the site" if len(result.ratio_sites) == 1 else "the sites"
    return f"The reference ratios are measured on {', '.join(result.ratio_sites)}, {sites} your ROIs were scored against."


def verdict(result: Reveal) -> str:
    """The one-line verdict the browser and the Slicer panel show at the reveal."""
    names = {choice.id: choice.name for choice in Quiz.choices()}
    if result.correct:
        return f"Right: {names[result.expected]}."
    return f"Not this time: you picked {names[result.picked]}; the answer is {names[result.expected]}."


def levels_line(analysis: Analysis) -> str:
    """The levels finding in one line, or why there is none (the first thing a learner whose
    analysis found no levels needs to know: usually no cord ROI, or one off the cord)."""
    found = summary_line(analysis.report.levels)
    if found:
        return found
    return "no level finding: " + ("; ".join(finding_text(finding) for finding in analysis.levels.warnings) or "the analysis found no cord to measure along")


def site_names(region: str, count: int) -> list[str]:
    return [region] if count == 1 else [f"{region} {index} of {count}" for index in range(1, count + 1)]


def compare_site(region: str, roi: str, learner: Box, reference: list[Box], reference_analysis: Analysis | None) -> SiteComparison:
    """The learner's box against the reference site of `region` whose centre is nearest its centre;
    the cord against the reference analysis's cord segmentation when it has one."""
    thresholds = quiz_settings().on_target
    cord = reference_analysis.levels.cord if reference_analysis is not None else None
    if region == "cord" and cord is not None:
        share = float(np.mean(Labelmap(cord.grid, cord.mask).contains(_points_in(learner))))
        distance = float(np.min(np.linalg.norm(cord.profile.centreline.points - learner.center, axis=1)))
        return SiteComparison(region, roi, "cord", IN_CORD, share, None, distance, share >= thresholds[IN_CORD])
    distances = [float(np.linalg.norm(box.center - learner.center)) for box in reference]
    nearest = int(np.argmin(distances))
    dice, iou, distance = compare_boxes([learner], [reference[nearest]])
    site = site_names(region, len(reference))[nearest]
    return SiteComparison(region, roi, site, DICE, dice, iou, distance, dice >= thresholds[DICE])


def compare_boxes(learner: list[Box], reference: list[Box]) -> tuple[float, float, float]:
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
    return float(2 * both / total) if total else 0.0, float(both / either) if either else 0.0, float(distance)


def _points_in(box: Box) -> np.ndarray:
    """A regular grid of world points filling the box, as fine as compare_boxes's."""
    step = max(0.25, float(np.cbrt(box.volume_mm3 / _MAX_SAMPLES)))
    axes = [np.arange(-h + step / 2, h, step) if h > step / 2 else np.zeros(1) for h in box.half_size]
    local = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    return local @ box.axes.T + box.center


def _sites_compared(
    reference: dict[str, list[slicer.vtkMRMLMarkupsROINode]], sites: list[SiteComparison]
) -> dict[str, list[slicer.vtkMRMLMarkupsROINode]]:
    """Each region's reference ROIs at the sites the learner's ROIs were scored against (all of them for a
    region the learner left out): a box on one of two masses is compared with what that mass measures,
    not with both masses pooled."""
    compared = {}
    for region, rois in reference.items():
        named = {site.site for site in sites if site.region == region}
        chosen = [roi for roi, name in zip(rois, site_names(region, len(rois))) if name in named]
        compared[region] = chosen or rois
    return compared


def compare_ratios(learner: dict[RatioKey, Ratio], reference: dict[RatioKey, Ratio]) -> tuple[RatioComparison, ...]:
    """Every ratio both sides measured; they differ when their 95 % intervals do not overlap."""
    compared = []
    for key, mine in learner.items():
        theirs = reference.get(key)
        if theirs is None:
            continue
        (low, high), (ref_low, ref_high) = mine.ci95, theirs.ci95
        compared.append(RatioComparison(key, mine.value, theirs.value, high < ref_low or ref_high < low))
    return tuple(compared)


def _centroid(boxes: list[Box], points: np.ndarray, inside: np.ndarray) -> np.ndarray:
    # A box thinner than the grid's step holds no point; its centre still says where it is.
    return points[inside].mean(axis=0) if inside.any() else np.mean([box.center for box in boxes], axis=0)


def _inside_any(boxes: list[Box], points: np.ndarray) -> np.ndarray:
    inside = np.zeros(len(points), bool)
    for box in boxes:
        inside |= box.contains(points)
    return inside


@dataclass(frozen=True)
class Attempt:
    """One revealed quiz in a session's score history."""

    case_title: str
    picked: str  # the diagnosis's name
    correct: bool
    on_target: int  # learner ROIs on target
    rois: int  # learner ROIs scored

    def describe(self) -> str:
        mark = "right" if self.correct else "wrong"
        return f"{self.case_title}: {self.picked} ({mark}), {self.on_target} of {self.rois} ROIs on target"


class QuizSession:
    """Quizzes one after another in one scene: the current case started again, the next case,
    and the score history of the session. Each start clears the scene, so nothing of the case
    before (its reference ROIs, its overlays) remains to give the next one away."""

    def __init__(self, scene: slicer.vtkMRMLScene, first: str) -> None:
        self._scene = scene
        self.history: list[Attempt] = []
        self.quiz = Quiz(first, scene)

    def reveal(self, picked: str) -> Reveal:
        """The current quiz's reveal, counted once in the history however often it is shown."""
        counted = self.quiz.revealed
        result = self.quiz.reveal(picked)
        if not counted:
            names = {choice.id: choice.name for choice in Quiz.choices()}
            on_target = sum(site.on_target for site in result.sites)
            self.history.append(Attempt(self.quiz.info.title, names[picked], result.correct, on_target, len(result.sites)))
        return result

    def reset(self) -> Quiz:
        """The current case again, from the start: no ROI, no pick, answer hidden."""
        return self._open(self.quiz.info.name)

    def next_case(self) -> Quiz:
        """The next built-in case (after the last, the first again)."""
        names = case_names()
        return self._open(names[(names.index(self.quiz.info.name) + 1) % len(names)])

    def score(self) -> str:
        """The session's score in one line."""
        if not self.history:
            return "no case revealed yet"
        right = sum(attempt.correct for attempt in self.history)
        on_target = sum(attempt.on_target for attempt in self.history)
        rois = sum(attempt.rois for attempt in self.history)
        return f"{right} of {len(self.history)} diagnoses right, {on_target} of {rois} ROIs on target"

    def _open(self, name: str) -> Quiz:
        self._scene.Clear(False)
        self.quiz = Quiz(name, self._scene)
        return self.quiz
