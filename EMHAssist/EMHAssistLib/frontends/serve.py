"""`emhassist serve`: a local web app (trame-slicer) showing Slicer's own slice views of one case.

A case folder opens with its analysis shown: overlays in the views, the levels line, the ratios,
the differential with its explanations and the caveat. A built-in case opens as a quiz: the
learner adds ROIs (moved and resized with their handles in the views, or by the numbers in the
panel), picks a diagnosis and reveals; the results then show as for a case folder, beside the
quiz's verdict; "Start this case again" and "Next case" go on without a restart, and the page keeps
the session's score. A case folder served with `--earlier EXAM` (a report JSON or a case folder of an
earlier exam of the same patient, one or more, chosen at launch on the server's side) offers "Compare
with an earlier exam": the comparison's summary and its per-level table (followup.py). Each browser session has a process, scene and quiz of its own (sessions.py):
two tabs never share a quiz. The panel scrolls, zooms and
windows the views. The scene is loaded when the first browser connects: slice views set up before
then come out garbled. Headless use only; never imported inside Slicer.

Only the page the server itself serves may talk to it: every HTTP and WebSocket request must name
this server's own host and port (127.0.0.1, localhost or the --host given, and the bound port) in
its Host header and, when it has one, its Origin, so a page of another site in the user's browser,
even one whose name was rebound to 127.0.0.1, is refused; and the WebSocket session needs a secret
drawn afresh at each launch (never wslink's public default), given to the page in the URL printed at
start; each session's process has a secret of its own, which the launcher hands to that session's page. Before the server starts, the case folder is loaded once in a child process with a time
limit: a case whose files never finish reading (a FIFO, a stalled network share) is refused there,
so it never blocks the server's event loop; SIGTERM and SIGINT keep their default action (end the
process at once), which no blocked call can hold up.
"""

import asyncio
import multiprocessing
import secrets
import signal
import socket
import tempfile
from pathlib import Path

import numpy as np
import slicer
import vtk

from .. import CAVEAT
from .. import number_format as numbers
from ..analysis import Analysis, run_analysis
from ..errors import SHOWN_ERRORS, InputError
from ..followup import compare, exam_facts
from ..geometry import Box
from ..inputs.nodes import box_of_roi
from ..inputs.study import Study, outlines, region_names
from ..live import LiveAnalysis
from ..outputs.citations import cited_keys, listed_citation
from ..outputs.comparison import LEVEL_COLUMNS, level_rows, stored_report
from ..outputs.key_images import axial_level, focus_point
from ..outputs.label_layout import lay_out_again_when_resized, lay_out_labels, lay_out_texts_of
from ..outputs.overlays import draw_overlays, evidence_lines
from ..outputs.report import ratio_text
from ..outputs.scene_writing import displayed, set_roi_box, set_window_level
from ..report_model import Clinical, Ratio, RatioKey, Report
from ..teaching.cases import case_names
from ..teaching.quiz import IN_CORD, LEARNER_ATTRIBUTE, Quiz, QuizSession, Reveal, check_region, levels_line, ratio_sites_line, style_roi, verdict
from ..teaching.quiz_settings import quiz_settings
from .panel import panel_settings

LAYOUT = "EMHAssist"
VIEW_TAGS = {"Sagittal": "Yellow", "Axial": "Red"}
# After a released ROI's ratios are pushed, the levels and differential start this much later, so the event
# loop sends the ratios first (started at once, the update ran before the send: the page saw the ratios
# 9.2 s after the release, with the levels, instead of 1.0 s, at load average 15-19).
RESULTS_AFTER_RATIOS_S = 0.05


def resolve_source(source: str) -> tuple[str, str]:
    """("folder", path) or ("case", name); anything else is refused with the names it could be."""
    if Path(source).is_dir():
        return "folder", source
    if source in case_names():
        return "case", source
    raise InputError(source, f"is neither a case folder nor a built-in case ({', '.join(case_names())})")


class CaseViewer:
    """The trame app: views on the left, the case, quiz and results on the right."""

    def __init__(self, server, source: str, earlier: dict[str, str] | None = None) -> None:
        from trame_slicer.core import LayoutManager
        from trame_slicer.rca_view import register_rca_factories
        from trame_slicer.views import Layout, LayoutDirection, ViewLayoutDefinition

        from ..inputs.scene import new_headless_scene

        self._kind, self._source = resolve_source(source)
        self._server = server
        self.scene = new_headless_scene()
        self._app = self.scene.emhassist_application
        register_rca_factories(self._app.view_manager, server)
        self._layout = LayoutManager(self.scene, self._app.view_manager, server)
        views = [ViewLayoutDefinition.sagittal_view(), ViewLayoutDefinition.axial_view()]
        self._layout.register_layout_dict({LAYOUT: Layout(LayoutDirection.Horizontal, views)})
        self._layout.set_layout(LAYOUT)
        self.study: Study | None = None
        self.session: QuizSession | None = None
        self._earlier = earlier or {}  # label -> the earlier exam's stored report JSON (earlier_exams)
        self._report: Report | None = None  # the case's report as shown now, which a comparison reads
        self._shown: Report | None = None  # the report whose results the page shows (the learner's after a reveal)
        # Each analysis a line of the page may speak for, by the name the line gives it: after a reveal the
        # learner's results and the reference's, which can disagree (a cord box judged on target, yet no compression).
        self._named: dict[str, Report] = {}
        self._targets: dict[str, np.ndarray] = {}  # a "go to" button's id -> the world point the axial view goes through
        self._init_state()
        self._build_ui()
        # The views exist once the page's layout is built; the browser sizes them after it opens.
        for view in self._slice_views().values():
            lay_out_again_when_resized(self.scene, view.get_view_node(), view.schedule_render)
        server.controller.on_client_connected.add(self._load_once)
        server.state.change("sequence")(self._show_sequence)
        server.state.change("roi_edit")(self._edit_roi)
        server.state.change("slice_Sagittal", "slice_Axial")(self._scroll)
        server.state.change("window", "level")(self._window_level)

    # --- loading ------------------------------------------------------------------------------
    def _load_once(self, **_) -> None:
        if self.study is not None:
            return
        with self._server.state:  # pushed to the browser on leaving: no client event triggered this
            try:
                self._load()
            except SHOWN_ERRORS as error:
                self._server.state.error = str(error)

    @property
    def quiz(self) -> Quiz | None:
        return self.session.quiz if self.session is not None else None

    def _load(self) -> None:
        state = self._server.state
        if self._kind == "case":
            self.session = QuizSession(self.scene, self._source)
            self._start_quiz()
            return
        from ..inputs.casefolder import load_case_folder

        self.study = load_case_folder(Path(self._source), self.scene)
        state.case_title, state.case_story = self.study.name, ""
        state.mode = "results"
        analysis = run_analysis(self.study)
        self._report = analysis.report
        self._show_analysis(analysis, self.study)
        self._named = {"": analysis.report}
        self._show_study()
        self._centre_on_finding(analysis, self.study)
        self._live = LiveAnalysis()
        for sources in self.study.regions.values():
            for source in sources:
                if source.segment_id is None:  # an ROI: drawn as the quiz's reference boxes, dragged by its handles
                    style_roi(source.node, quiz_settings().reference_color)
                    source.node.AddObserver(slicer.vtkMRMLMarkupsNode.PointEndInteractionEvent, self._region_released)

    def _start_quiz(self) -> None:
        """The session's current quiz in a clean page: its story, no ROI, no pick, nothing revealed."""
        state = self._server.state
        self.study = self.quiz.study
        state.update(_QUIZ_START)
        self._shown, self._targets, self._named = None, {}, {}
        try:  # from the knowledge files: one of them broken shows its line, and the page still opens
            state.choices = [{"title": c.name, "value": c.id} for c in Quiz.choices()]
        except SHOWN_ERRORS as error:
            state.choices, state.error = [], str(error)
        # A case's title can name its answer ("Mimic: ..."): it shows at the reveal.
        state.case_title, state.case_story = "Quiz case", self.quiz.info.story
        state.cases_opened += 1  # the panel is keyed on it: a new case's panel opens at its top, its story in view
        state.mode = "quiz"
        if self.study.levels is not None:  # no overlay labels the levels until the reveal
            lay_out_texts_of(self.study.levels)
        self._publish_score()
        self._show_study()

    def _publish_score(self) -> None:
        state = self._server.state
        state.score_line, state.history = self.session.score(), [attempt.describe() for attempt in self.session.history]

    def restart_case(self) -> None:
        self._open_case(self.session.reset)

    def next_case(self) -> None:
        self._open_case(self.session.next_case)

    def _open_case(self, open_it) -> None:
        try:
            open_it()
        except SHOWN_ERRORS as error:
            self._fail(error)
            return
        self._start_quiz()

    def _show_study(self) -> None:
        state = self._server.state
        state.sequences = list(self.study.sequences)
        state.sequence = "T2" if "T2" in self.study.sequences else state.sequences[0]
        self._show_sequence(state.sequence)
        self._centre_views(self._level_centre())
        state.loaded = True

    def _fail(self, error: Exception) -> None:
        with self._server.state as state:
            state.error = str(error)

    # --- views --------------------------------------------------------------------------------
    def _slice_views(self) -> dict[str, object]:
        return {view.get_orientation(): view for view in self._app.view_manager.get_slice_views()}

    def _show_sequence(self, sequence: str | None, **_) -> None:
        if self.study is None or sequence not in self.study.sequences:
            return
        volume = self.study.sequences[sequence]
        display = displayed(volume)
        for view in self._slice_views().values():
            view.set_background_volume_id(volume.GetID())
            view.schedule_render()
        low, high = volume.GetImageData().GetScalarRange()
        state = self._server.state
        state.window_range = [0.0, round(float(high - low), 1) or 1.0]
        state.level_range = [round(float(low), 1), round(float(high), 1)]
        state.window, state.level = round(display.GetWindow(), 1), round(display.GetLevel(), 1)

    def _window_level(self, window, level, **_) -> None:
        """The panel's window and level sliders, on the sequence shown (Slicer's own window/level)."""
        if self.study is None or window is None or level is None:
            return
        display = self.study.sequences[self._server.state.sequence].GetDisplayNode()
        if abs(display.GetWindow() - float(window)) < 0.05 and abs(display.GetLevel() - float(level)) < 0.05:
            return
        set_window_level(display, max(float(window), 1e-3), float(level))
        for view in self._slice_views().values():
            view.schedule_render()

    def _scroll(self, **values) -> None:
        """The panel's slice sliders: each view through the slice its slider names (mm along its normal)."""
        for orientation, view in self._slice_views().items():
            value = values.get(f"slice_{orientation}")
            if value is not None and abs(view.get_slice_value() - float(value)) >= view.get_slice_step() / 2:
                view.set_slice_value(float(value))
                lay_out_labels(self.scene, view.get_view_node())
                view.schedule_render()

    def zoom(self, orientation: str, factor: float) -> None:
        view = self._slice_views()[orientation]
        view.zoom(factor)
        self._lay_out_labels()

    def _lay_out_labels(self) -> None:
        """The overlay labels placed again for each view as it now stands (label_layout), then drawn."""
        for view in self._slice_views().values():
            lay_out_labels(self.scene, view.get_view_node())
            view.schedule_render()

    def _publish_slices(self) -> None:
        """The slice sliders' ranges and positions, after the views were moved from here."""
        state = self._server.state
        for orientation, view in self._slice_views().items():
            low, high = view.get_slice_range()
            state[f"slice_range_{orientation}"] = [round(low, 1), round(high, 1), round(view.get_slice_step(), 2)]
            state[f"slice_{orientation}"] = round(view.get_slice_value(), 1)

    def _centre_views(self, point: np.ndarray) -> None:
        for view in self._slice_views().values():
            view.fit_view_to_content()
            view.get_view_node().JumpSliceByCentering(*point)
        self._lay_out_labels()
        self._publish_slices()

    def _centre_on_finding(self, analysis: Analysis, study: Study) -> None:
        """The sagittal view on the mass's bulk, the axial view on the most compressed level (else
        through the mass's largest section), as the report's key images are; the page names the axial
        level and which analysis finds it most compressed."""
        focus = focus_point(study, analysis)
        through = {"Sagittal": focus, "Axial": axial_level(analysis, focus)}
        for orientation, view in self._slice_views().items():
            show_through(view.get_view_node(), through[orientation])
        self._lay_out_labels()
        self._publish_slices()
        self._server.state.axial_at = axial_line(through["Axial"], self._named)

    def _level_centre(self) -> np.ndarray:
        """The middle level point, on the spine's midline: where a reader starts."""
        levels = self.study.levels
        if levels is None or levels.GetNumberOfControlPoints() == 0:
            return np.asarray(self.study.sequences[self._server.state.sequence].GetOrigin(), float)
        points = slicer.util.arrayFromMarkupsControlPoints(levels)
        return points[len(points) // 2]

    def _sagittal_centre(self) -> np.ndarray:
        slice_to_ras = slicer.util.arrayFromVTKMatrix(self._slice_views()["Sagittal"].get_view_node().GetSliceToRAS())
        return slice_to_ras[:3, 3]

    # --- quiz ---------------------------------------------------------------------------------
    def add_roi(self) -> None:
        region = self._server.state.quiz_region
        try:
            size = panel_settings().default_roi_size_mm[check_region(region)]
            roi = self.quiz.add_roi(region, tuple(self._sagittal_centre()), tuple(size))
        except SHOWN_ERRORS as error:
            self._fail(error)
            return
        # Dragged in a view, the box's numbers in the panel follow it; let go, the labels make way for its handles.
        roi.AddObserver(vtk.vtkCommand.ModifiedEvent, self._roi_moved)
        roi.AddObserver(slicer.vtkMRMLMarkupsNode.PointEndInteractionEvent, lambda *_: self._lay_out_labels())
        self._server.state.roi_selected = roi.GetID()
        self._publish_rois()
        self._lay_out_labels()

    def _roi_moved(self, roi, _event) -> None:
        if roi.GetID() == self._server.state.roi_selected and self.quiz is not None and not self.quiz.revealed:
            with self._server.state:
                self._publish_rois()

    def remove_roi(self, node_id: str) -> None:
        roi = self.scene.GetNodeByID(node_id)
        if roi is not None:
            try:
                self.quiz.remove_roi(roi)
            except SHOWN_ERRORS as error:
                self._fail(error)
                return
        self._publish_rois()
        self._lay_out_labels()

    def select_roi(self, node_id: str) -> None:
        self._server.state.roi_selected = node_id
        self._publish_rois()
        roi = self.scene.GetNodeByID(node_id)
        if roi is not None:
            self._axial_through(box_of_roi(roi).center, roi.GetName())

    def go_to(self, target: str) -> None:
        """A "go to" button of the results: the axial view through that level's body centre or region's centre."""
        if target in self._targets:
            self._axial_through(self._targets[target], target)

    def _axial_through(self, point: np.ndarray, named: str) -> None:
        """The axial view through a clicked level or ROI; the page names the level it is at."""
        view = self._slice_views()["Axial"]
        show_through(view.get_view_node(), point)
        lay_out_labels(self.scene, view.get_view_node())
        view.schedule_render()
        self._publish_slices()
        level = axial_line(point, self._named)
        self._server.state.axial_at = level if level.startswith(named) else f"{level} ({named})" if level else named

    def _edit_roi(self, roi_edit: dict | None, **_) -> None:
        """The panel's numbers for the selected ROI (centre R, A, S and size in mm) moved it."""
        roi = self.scene.GetNodeByID(self._server.state.roi_selected or "")
        if roi is None or not roi_edit:
            return
        try:
            center = np.array([float(roi_edit[axis]) for axis in ("R", "A", "S")])
            size = np.array([float(roi_edit[f"size_{axis}"]) for axis in ("R", "A", "S")])
        except (KeyError, TypeError, ValueError):
            return  # half-typed numbers: the box stays until the field holds a number
        if np.any(size <= 0):
            return
        current = box_of_roi(roi)
        # The panel shows 0.1 mm: a box dragged in a view is not snapped back to the shown numbers.
        if np.allclose(current.center, center, atol=0.051) and np.allclose(2 * current.half_size, size, atol=0.051):
            return
        set_roi_box(roi, Box(center, current.axes, size / 2))
        self._lay_out_labels()

    def _publish_rois(self) -> None:
        state = self._server.state
        rows = []
        for region, rois in self.quiz.learner_rois.items():
            for roi in rois:
                rows.append({"id": roi.GetID(), "name": roi.GetName(), "region": region})
        state.rois = rows
        roi = self.scene.GetNodeByID(state.roi_selected or "")
        if roi is not None and roi.GetAttribute(LEARNER_ATTRIBUTE):
            box = box_of_roi(roi)
            values = dict(zip(("R", "A", "S"), np.round(box.center, 1).tolist()))
            values.update({f"size_{axis}": v for axis, v in zip(("R", "A", "S"), np.round(2 * box.half_size, 1).tolist())})
            state.roi_edit = values
        else:
            state.roi_selected, state.roi_edit = None, None

    def reveal(self) -> None:
        state = self._server.state
        try:
            result = self.session.reveal(state.quiz_pick or "")
        except SHOWN_ERRORS as error:
            self._fail(error)
            return
        state.error = ""
        state.verdict = verdict(result)
        state.case_title = self.quiz.info.title
        state.teaching_points = list(result.teaching_points)
        state.outcome = result.outcome
        state.roi_rows = _roi_rows(result)
        state.ratio_rows = _ratio_comparison_rows(result)
        state.ratio_sites = ratio_sites_line(result)
        self._show_analysis(self.quiz.learner_analysis, self.quiz.learner_study())
        self._named = {YOURS: self.quiz.learner_analysis.report, REFERENCE: self.quiz.reference_analysis.report}
        state.results_of = "Your analysis"
        state.reference_levels_line = levels_line(self.quiz.reference_analysis)
        # Centred where the answer is (the reference boxes, drawn in green), which the learner's boxes may have missed.
        self._centre_on_finding(self.quiz.reference_analysis, self.quiz.learner_study())
        self._publish_score()
        state.revealed = True

    # --- results ------------------------------------------------------------------------------
    def _region_released(self, _roi, _event) -> None:
        """A case's ROI let go after a drag in a view: its new ratios at once (only the moved region is
        measured again), then, once the page has them, the levels and the differential."""
        try:
            ratios = self._live.ratios(self.study)
        except SHOWN_ERRORS as error:
            self._fail(error)
            return
        with self._server.state as state:  # sent now, before the slower update below holds the loop
            state.ratios = ratio_rows(ratios)
            state.updating = True
        # The push above is sent by the event loop once this handler returns; the update waits for it.
        asyncio.get_running_loop().call_later(RESULTS_AFTER_RATIOS_S, self._update_results)

    def _update_results(self) -> None:
        result = self._live.update(self.study)
        with self._server.state as state:
            if result.error is not None:
                state.error = str(result.error)
            else:
                state.error = ""
                self._report = result.analysis.report
                self._named = {"": self._report}
                self._show_analysis(result.analysis, self.study)
                state.update(_NO_COMPARISON)  # made with the report before the drag
            state.updating = False

    def compare_earlier(self) -> None:
        """The page's "Compare": the chosen earlier exam's report against the case's report as shown."""
        state = self._server.state
        label = state.earlier_pick
        try:
            if self._report is None or label not in self._earlier:
                raise InputError(str(label), "is not an earlier exam this server was given (--earlier), or the case has no results yet")
            comparison = compare(stored_report(Path(self._earlier[label])), self._report, given_as=(str(label), self._report.case))
        except SHOWN_ERRORS as error:
            state.update(_NO_COMPARISON)
            self._fail(error)
            return
        state.error = ""
        state.comparison_against = label
        state.comparison_summary = comparison.summary
        state.comparison_levels = [dict(zip(COMPARISON_FIELDS, row)) for row in level_rows(comparison)]

    def _show_analysis(self, analysis: Analysis, study: Study) -> None:
        draw_overlays(self.scene, analysis.report, study, mass_mask=analysis.mass_mask, cord_mask=analysis.cord_mask)
        report = analysis.report
        self._shown = report
        state = self._server.state
        state.levels_line = levels_line(analysis)
        self._targets = _go_to_targets(report, study)
        state.targets = list(self._targets)
        state.ranking, state.ratios, state.enhancement = ranking_rows(report), ratio_rows(report.ratios), enhancement_rows(report)
        state.means = [
            {"key": f"{region} {role}", "region": region, "role": role, "mean": f"{stats.mean:.0f}", "n": stats.n}
            for region, by_role in report.regions.items()
            for role, stats in by_role.items()
        ]
        state.clinical = _clinical_line(report.clinical)
        state.references = _cited_references(report)
        state.warnings = list(report.warnings)
        state.analyses_shown += 1  # a page (or a test) knows an update was shown even when nothing in it changed
        for view in self._slice_views().values():
            view.schedule_render()

    # --- page ---------------------------------------------------------------------------------
    def _init_state(self) -> None:
        state = self._server.state
        state.trame__title = "EMHAssist"
        state.caveat = CAVEAT
        state.update(
            {
                "loaded": False,
                "panel_open": True,
                "cases_opened": 0,
                "mode": "",
                "case_title": "",
                "case_story": "",
                "sequences": [],
                "sequence": None,
                "regions": region_names(),
                "quiz_region": "mass",
                "choices": [],
                "score_line": "",
                "window": None,
                "level": None,
                "window_range": [0, 1],
                "level_range": [0, 1],
                "slice_Sagittal": None,
                "slice_Axial": None,
                "slice_range_Sagittal": [0, 1, 1],
                "slice_range_Axial": [0, 1, 1],
                "history": [],
                "earlier_choices": list(self._earlier),
                "earlier_pick": next(iter(self._earlier), None),
                **_NO_COMPARISON,
                **_QUIZ_START,
            }
        )

    def _build_ui(self) -> None:
        from trame.widgets import html
        from trame.widgets import vuetify3 as v
        from trame_vuetify.ui.vuetify3 import SinglePageLayout

        with SinglePageLayout(self._server, full_height=True) as layout:
            # The bar's menu button shows and hides the panel: the views take the whole window for a class.
            layout.toolbar.clear()
            with layout.toolbar:
                layout.icon = v.VAppBarNavIcon(id="menu", click="panel_open = !panel_open")
                layout.title = v.VToolbarTitle("EMHAssist")
            with layout.content, html.Div(style="display: flex; height: calc(100vh - 64px); width: 100%;"):
                with html.Div(id="views", style="flex: 3; position: relative; min-width: 0;"):
                    self._layout.initialize_layout_grid(layout)
                with html.Div(id="panel", key=("cases_opened",), v_show="panel_open", style="flex: 2; overflow-y: auto; padding: 12px; font-size: 14px;"):
                    self._panel_ui(html, v)
        self.ui = layout

    def _panel_ui(self, html, v) -> None:
        v.VAlert("{{ caveat }}", id="caveat", type="warning", density="compact", variant="tonal", classes="mb-2")
        v.VAlert("{{ error }}", id="error", v_if="error", type="error", density="compact", classes="mb-2")
        html.Div("Loading the case…", v_if="!loaded && !error", id="loading")
        html.H3("{{ case_title }}", id="case-title")
        html.P("{{ case_story }}", v_if="case_story", style="font-size: 13px;")
        v.VSelect(label="Sequence", v_model=("sequence",), items=("sequences",), density="compact", hide_details=True, classes="my-2", v_if="loaded")
        with html.Div(v_if="loaded", id="view-controls", style="font-size: 12px;"):
            for orientation in ("Sagittal", "Axial"):
                with html.Div(style="display: flex; gap: 4px; align-items: center;"):
                    v.VSlider(
                        label=f"{orientation} slice",
                        v_model=(f"slice_{orientation}",),
                        min=(f"slice_range_{orientation}[0]",),
                        max=(f"slice_range_{orientation}[1]",),
                        step=(f"slice_range_{orientation}[2]",),
                        density="compact",
                        hide_details=True,
                        id=f"slice-{orientation.lower()}",
                    )
                    v.VBtn("+", size="x-small", variant="tonal", id=f"zoom-in-{orientation.lower()}", click=(self.zoom, f"['{orientation}', 0.2]"))
                    v.VBtn("−", size="x-small", variant="tonal", id=f"zoom-out-{orientation.lower()}", click=(self.zoom, f"['{orientation}', -0.2]"))
            v.VSlider(label="Window", v_model=("window",), min=("window_range[0]",), max=("window_range[1]",), density="compact", hide_details=True, id="window")
            v.VSlider(label="Level", v_model=("level",), min=("level_range[0]",), max=("level_range[1]",), density="compact", hide_details=True, id="level")
        with html.Div(v_if="mode == 'quiz'", id="quiz", classes="my-2"):
            html.H4("Quiz: outline the regions, then pick a diagnosis")
            html.P(
                "An ROI is added at the centre of the sagittal view: drag its handles in the views, or type its centre and size.",
                style="font-size: 12px;",
            )
            with html.Div(style="display: flex; gap: 8px; align-items: center;", v_if="!revealed"):
                v.VSelect(label="Region", v_model=("quiz_region",), items=("regions",), density="compact", hide_details=True)
                v.VBtn("Add ROI", id="add-roi", click=self.add_roi, color="primary", variant="tonal")
            with html.Div(v_for="roi in rois", key="roi.id", style="display: flex; gap: 6px; align-items: center;"):
                v.VBtn(
                    "{{ roi.name }}", size="small", variant=("roi.id == roi_selected ? 'flat' : 'text'",), click=(self.select_roi, "[roi.id]"), classes="select-roi"
                )
                v.VBtn("remove", size="x-small", variant="text", color="error", click=(self.remove_roi, "[roi.id]"), v_if="!revealed")
            with html.Div(v_if="roi_edit && !revealed", style="display: grid; grid-template-columns: repeat(3, 1fr); gap: 4px;"):
                for key, label in [("R", "centre R"), ("A", "centre A"), ("S", "centre S"), ("size_R", "size R"), ("size_A", "size A"), ("size_S", "size S")]:
                    v.VTextField(
                        label=f"{label} (mm)",
                        model_value=(f"roi_edit.{key}",),
                        update_modelValue=f"roi_edit = {{...roi_edit, {key}: $event}}",
                        type="number",
                        density="compact",
                        hide_details=True,
                    )
            with v.VRadioGroup(v_model=("quiz_pick",), label="Your diagnosis", density="compact", disabled=("revealed",), classes="mt-2"):
                v.VRadio(v_for="choice in choices", key="choice.value", label=("choice.title",), value=("choice.value",), id=("'pick-' + choice.value",))
            v.VBtn("Reveal", id="reveal", click=self.reveal, color="primary", disabled=("!quiz_pick || revealed || !loaded",))
            with html.Div(style="display: flex; gap: 8px;", classes="mt-2"):
                v.VBtn("Start this case again", id="restart-case", click=self.restart_case, variant="tonal", disabled=("!loaded",))
                v.VBtn("Next case", id="next-case", click=self.next_case, variant="tonal", disabled=("!loaded",))
            with html.Div(id="score", classes="mt-2", style="font-size: 12px;"):
                html.B("This session: {{ score_line }}")
                with html.Ol(id="history"):
                    html.Li("{{ line }}", v_for="line in history", key="line")
        with html.Div(v_if="revealed", id="verdict-block", classes="my-2"):
            html.H4("{{ verdict }}", id="verdict")
            html.P("Your analysis: {{ levels_line }}", id="your-levels", style="font-weight: 600;")
            html.P("Reference analysis: {{ reference_levels_line }}", id="reference-levels", style="font-size: 13px;")
            html.P("{{ outcome }}", style="font-size: 13px;")
            html.B("Teaching points")
            with html.Ul():
                html.Li("{{ point }}", v_for="point in teaching_points", key="point")
            html.B("Your ROIs against the reference ROIs (green boxes in the views)")
            _state_table(html, "roi_rows", "site", {"site": "your ROI → reference site", "score": "overlap", "distance": "distance", "verdict": ""})
            html.B("Ratios: yours against the reference")
            html.P("{{ ratio_sites }}", v_if="ratio_sites", id="ratio-sites", style="font-size: 13px;")
            _state_table(html, "ratio_rows", "key", {"key": "ratio", "learner": "yours", "reference": "reference", "differ": ""})
        with html.Div(v_if="mode == 'results' && earlier_choices.length", id="compare", classes="my-2"):
            html.H4("Compare with an earlier exam")
            with html.Div(style="display: flex; gap: 8px; align-items: center;"):
                v.VSelect(label="Earlier exam", v_model=("earlier_pick",), items=("earlier_choices",), density="compact", hide_details=True, id="earlier-pick")
                v.VBtn("Compare", id="compare-button", click=self.compare_earlier, color="primary", variant="tonal", disabled=("!analyses_shown || !earlier_pick",))
            with html.Div(v_if="comparison_summary", id="comparison"):
                html.P("Since {{ comparison_against }}: {{ comparison_summary }}", id="comparison-summary", style="font-weight: 600;")
                with html.Div(id="comparison-levels"):
                    _state_table(html, "comparison_levels", "level", dict(zip(COMPARISON_FIELDS, LEVEL_COLUMNS)))
        with html.Div(v_if="analyses_shown", id="results", classes="my-2"):
            _heading(html, "Levels", id="levels-heading")
            html.P("{{ levels_line }}", id="levels-line")
            html.P("Axial view at {{ axial_at }}", v_if="axial_at", id="axial-at", style="font-size: 12px;")
            with html.Div(id="go-to", style="display: flex; flex-wrap: wrap; gap: 2px; align-items: center; font-size: 12px;"):
                html.Span("Axial view through:")
                v.VBtn("{{ target }}", v_for="target in targets", key="target", size="x-small", variant="text", id=("'go-' + target",), click=(self.go_to, "[target]"))
            _heading(html, "Differential (ranked)")
            with html.Ol(id="ranking", style="padding-left: 20px;"), html.Li(v_for="item in ranking", key="item.name"):
                html.Span("{{ item.name }}: {{ item.percent }}", style="font-weight: 600;")
                html.Div("{{ item.summary }}", classes="summary", style="font-size: 12px;")
                html.Div("{{ item.prior }}", classes="prior", style="font-size: 11px; color: #666;")
                with html.Details(classes="why", style="font-size: 12px;"):
                    html.Summary("why")
                    with html.Ul():
                        html.Li("{{ line }}", v_for="line in item.evidence", key="line")
            html.P("Clinical context: {{ clinical }}", id="clinical", style="font-size: 12px;")
            _heading(html, "Signal-intensity ratios (95 % CI)")
            html.P("Levels and differential updating…", v_if="updating", id="updating", style="font-size: 12px; font-style: italic;")
            with html.Div(id="ratios"):
                _state_table(html, "ratios", "key", {"key": "ratio", "value": "value", "ci": "95 % CI"})
            _heading(html, "Enhancement (T1C/T1 − 1, 95 % CI)", v_if="enhancement.length")
            with html.Div(id="enhancement", v_if="enhancement.length"):
                _state_table(html, "enhancement", "region", {"region": "region", "value": "enhancement"})
            _heading(html, "Region means")
            with html.Div(id="means"):
                _state_table(html, "means", "key", {"region": "region", "role": "sequence", "mean": "mean signal", "n": "voxels"})
            html.H4("References", v_if="references.length")
            with html.Ul(id="references", style="font-size: 12px;"):
                html.Li("{{ ref.label }}{{ ref.rest }}", v_for="ref in references", key="ref.key")
            with html.Div(v_if="warnings.length"):
                html.H4("Warnings")
                with html.Ul(style="font-size: 12px;"):
                    html.Li("{{ w }}", v_for="w in warnings", key="w")
            html.P("{{ caveat }}", style="font-size: 12px; font-style: italic;")


# The page's quiz and results state at a quiz's start: what a reset or the next case clears.
_QUIZ_START = {
    "error": "",
    "quiz_pick": None,
    "rois": [],
    "roi_selected": None,
    "roi_edit": None,
    "revealed": False,
    "verdict": "",
    "teaching_points": [],
    "outcome": "",
    "roi_rows": [],
    "ratio_rows": [],
    "ratio_sites": "",
    "analyses_shown": 0,
    "updating": False,
    "levels_line": "",
    "axial_at": "",
    "results_of": "",
    "reference_levels_line": "",
    "targets": [],
    "ranking": [],
    "ratios": [],
    "warnings": [],
    "means": [],
    "enhancement": [],
    "clinical": "",
    "references": [],
}


# The comparison's per-level table in the page's state: a field per column of outputs/comparison.py's table.
COMPARISON_FIELDS = ("level", "mass", "compressed", "mscc", "bilsky")
# The page with no comparison shown: at the start, after a failed one, and once the results change.
_NO_COMPARISON = {"comparison_against": "", "comparison_summary": "", "comparison_levels": []}


def show_through(slice_node: slicer.vtkMRMLSliceNode, point: np.ndarray) -> None:
    """The view's slice through `point`, panned to centre it only when it lies outside the field of view:
    centred on the thoracic mass at the reveal, the whole-spine sagittal view of thal_major_teaching had
    slid its sacrum, and the sacral mass, out of the window."""
    slice_node.JumpSliceByOffsetting(*point)
    x, y, _ = (np.linalg.inv(slicer.util.arrayFromVTKMatrix(slice_node.GetXYToRAS())) @ np.append(point, 1.0))[:3]
    width, height, _ = slice_node.GetDimensions()
    if not (0 <= x <= width and 0 <= y <= height):
        slice_node.JumpSliceByCentering(*point)


def ranking_rows(report: Report) -> list[dict]:
    """The differential as the page lists it: each diagnosis with its probability, summary, prior and why."""
    return [
        {
            "rank": rank,
            "name": diagnosis.name,
            "percent": numbers.probability(diagnosis.probability),
            "summary": diagnosis.summary or "",
            "prior": f"prior {numbers.probability(diagnosis.prior)}" + "".join(f"; {factor.label} ×{factor.factor:g}" for factor in diagnosis.prior_factors),
            "evidence": evidence_lines(diagnosis),
        }
        for rank, diagnosis in enumerate(report.differential, start=1)
    ]


def ratio_rows(ratios: dict[RatioKey, Ratio]) -> list[dict]:
    """The ratios table's rows, from the report's ratios."""
    return [
        {"key": key.text, "value": numbers.ratio(ratio.value), "ci": f"{numbers.ratio(ratio.ci95[0])}–{numbers.ratio(ratio.ci95[1])}"}
        for key, ratio in ratios.items()
    ]


def enhancement_rows(report: Report) -> list[dict]:
    return [{"region": region, "value": ratio_text(value, percent=True)} for region, value in report.enhancement.items()]


def _clinical_line(clinical: Clinical) -> str:
    """The clinical context the priors were taken from, in one line."""
    parts = [f"{clinical.age} years" if clinical.age is not None else "", clinical.sex or ""]
    parts += [term.replace("_", " ") for term in (*(clinical.conditions or ()), *(clinical.findings or ()))]
    return ", ".join(part for part in parts if part) or "none given"


def _cited_references(report: Report) -> list[dict]:
    """Every reference the ranking's evidence cites, in order of first citation: its key (the JSON's), the
    label its evidence lines cite it by and the rest of its entry (`listed_citation`)."""
    return [dict(zip(("key", "label", "rest"), (key, *listed_citation(key)))) for key in cited_keys(report.differential)]


# The names the quiz's page gives the two analyses it shows after a reveal.
YOURS, REFERENCE = "your analysis", "the reference analysis"


def axial_line(point: np.ndarray, named: dict[str, Report]) -> str:
    """The level whose body centre lies nearest head-foot to the point, and which of the `named` analyses
    (name -> report; one unnamed, "", for a case folder's) find it the most compressed level: after a reveal
    the page had said "T7 (most compressed)", the reference's finding, under the learner's own "no cord
    compression". Every analysis here shares the case's level points, so the first with levels names it."""
    vertebrae = next((report.levels.vertebrae for report in named.values() if report.levels and report.levels.vertebrae), ())
    if not vertebrae:
        return ""
    nearest = min(vertebrae, key=lambda vertebra: abs(vertebra.centre[2] - point[2])).name
    finding = [name for name, report in named.items() if report.levels and report.levels.compression and report.levels.compression.at == nearest]
    if not finding:
        return nearest
    if finding == [""]:
        return f"{nearest} (most compressed)"
    return f"{nearest} (most compressed in {' and '.join(finding)})"


def _go_to_targets(report: Report, study: Study) -> dict[str, np.ndarray]:
    """The places the axial view can be sent to: each level's body centre (head first) and the centre of
    each of the study's regions' ROIs or segments (named as the report names them, "mass 2" for a second)."""
    targets = {vertebra.name: np.asarray(vertebra.centre, dtype=float) for vertebra in (report.levels.vertebrae if report.levels else ())}
    for region, sources in study.regions.items():
        shapes = [outline.shape for outline in outlines(sources)]  # an empty segment has no centre to go to
        for number, shape in enumerate(shapes, start=1):
            name = region if len(shapes) == 1 else f"{region} {number}"
            targets[name] = shape.corners_world().mean(axis=0)
    return targets


def _heading(html, title: str, **attributes) -> None:
    """A results heading, naming whose analysis it shows when the page has two (after a quiz's reveal:
    "Your analysis: levels"; the reference's shows only in the comparison tables)."""
    lower = title[0].lower() + title[1:]
    html.H4(f"{{{{ results_of ? results_of + ': {lower}' : '{title}' }}}}", **attributes)


def _state_table(html, rows: str, key: str, columns: dict[str, str]) -> None:
    """A table with a row per entry of the state list `rows`: its fields `columns` (field -> title)."""
    with html.Table(style="width: 100%; font-size: 12px;"):
        with html.Tr():
            for title in columns.values():
                html.Th(title, style="text-align: left;")
        with html.Tr(v_for=f"row in {rows}", key=f"row.{key}"):
            for field in columns:
                html.Td(f"{{{{ row.{field} }}}}")


def _roi_rows(result: Reveal) -> list[dict]:
    rows = [
        {
            "site": f"{c.roi} → {c.site}",
            "score": f"{numbers.percent(100 * c.score)} in cord" if c.measure == IN_CORD else f"Dice {numbers.ratio(c.score)}",
            "distance": numbers.millimetres(c.centre_distance_mm),
            "verdict": "on target" if c.on_target else "off target",
        }
        for c in result.sites
    ]
    rows += [{"site": site, "score": "not outlined", "distance": "", "verdict": ""} for site in result.missed_sites]
    return rows


def _ratio_comparison_rows(result: Reveal) -> list[dict]:
    return [
        {
            "key": ratio.key.text,
            "learner": numbers.ratio(ratio.learner),
            "reference": numbers.ratio(ratio.reference),
            "differ": "differs (95 % CIs apart)" if ratio.differ else "agrees",
        }
        for ratio in result.ratios
    ]


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def serve(source: str, port: int, host: str, load_time_limit_s: float, earlier: list[str] | None = None) -> None:
    """Serve the case until interrupted, a process per browser session (sessions.py); the case and
    the earlier exams are checked before the server starts."""
    from ..inputs.casefolder import read_clinical
    from .sessions import run_launcher

    kind, _ = resolve_source(source)
    if earlier and kind != "folder":
        raise InputError(source, "is a built-in case, which opens as a quiz; --earlier compares a case folder's results with an earlier exam")
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, signal.SIG_DFL)  # ends the process even while a call is blocked
    _check_port_free(host, port)
    if kind == "folder":
        _check_loads_in_time(source, load_time_limit_s)
    with tempfile.TemporaryDirectory(prefix="emhassist-earlier-") as reports:
        clinical = read_clinical(Path(source)) if earlier else Clinical()
        offered = earlier_exams(earlier or [], clinical.patient, load_time_limit_s, Path(reports), clinical.exam_date)
        secret = secrets.token_urlsafe(32)
        print(f"EMHAssist serving {source} at http://{host}:{port}/?secret={secret}  ({CAVEAT})", flush=True)
        try:
            run_launcher(source, host, port, secret, own_origin_only(host), offered)
        except OSError as error:  # the port taken between the check and the start
            raise InputError(f"{host}:{port}", f"cannot listen there: {error.strerror or error}") from None


def earlier_exams(given: list[str], patient: str | None, load_time_limit_s: float, reports: Path, case_date: str | None = None) -> dict[str, str]:
    """The earlier exams the page offers, each as given on the command line -> a stored report JSON:
    a report JSON is read (and checked against the model) once now; a case folder is checked to load
    in time, then analysed now and its report written into `reports`, so a session's comparison only
    reads a file. A path that is neither, an exam of a patient other than the case's (`patient`,
    its clinical.json's), or one `compare` would refuse (no patient, no vertebral levels, dated after
    `case_date`) is one error line, before the server starts."""
    from ..inputs.casefolder import load_case_folder
    from ..inputs.scene import new_headless_scene
    from ..outputs.report import write_json

    offered = {}
    for index, exam in enumerate(given):
        path = Path(exam)
        if path.is_dir():
            _check_loads_in_time(exam, load_time_limit_s)
            report = run_analysis(load_case_folder(path, new_headless_scene())).report
            path = reports / f"earlier-{index}.json"
            write_json(report, path)
        else:
            report = stored_report(path)
        if report.clinical.patient != patient:
            raise InputError(exam, f"is an exam of another patient ({report.clinical.patient!r}; the case's is {patient!r}); --earlier takes an earlier exam of the same patient")
        facts = exam_facts(report, "EARLIER", exam)  # what the page's Compare would refuse, refused before the server starts
        if case_date and facts.date and facts.date > case_date:
            raise InputError(exam, f"(EARLIER) is dated {facts.date}, after the case ({case_date}); --earlier takes an earlier exam of the same patient")
        offered[exam] = str(path)
    return offered


def run_session(source: str, port: int, secret: str, earlier: dict[str, str] | None = None) -> None:
    """One browser session's app: the case in its own scene and views, on a loopback port only the
    launcher talks to, with the session's own secret; it ends with the launcher (sessions.py's
    entry point arranges that before this module is imported)."""
    vtk.vtkObject.GlobalWarningDisplayOff()
    from trame.app import get_server

    server = get_server("emhassist", client_type="vue3")
    # trame reads wslink's options from its own parser: the session's secret, and no signal handlers of
    # aiohttp's (they run in the event loop, which a blocked call would hold up).
    server.cli.set_defaults(authKey=secret, nosignalhandlers=True)
    server.controller.on_server_bind.add(lambda wslink_server: wslink_server.app.middlewares.append(own_origin_only("127.0.0.1")))
    CaseViewer(server, source, earlier)
    server.start(port=port, host="127.0.0.1", open_browser=False, timeout=0, show_connection_info=False)


def own_origin_only(host: str):
    """aiohttp middleware: a request whose Host, or Origin when given, is not this server (its loopback
    names or `host`, and the port it is bound to) is refused with 403 before any handler sees it."""
    from aiohttp import web

    names = {*LOOPBACK_NAMES, host if ":" not in host else f"[{host}]"}

    @web.middleware
    async def guard(request: web.Request, handler):
        port = request.transport.get_extra_info("sockname")[1] if request.transport else None
        allowed = {f"{name}:{port}" for name in names}
        origin = request.headers.get("Origin")
        if request.headers.get("Host") not in allowed or (origin is not None and origin not in {f"http://{a}" for a in allowed}):
            raise web.HTTPForbidden(text="EMHAssist serves only its own page on this machine\n")
        return await handler(request)

    return guard


def _check_port_free(host: str, port: int) -> None:
    """A port in use is one error line, before the case is loaded (aiohttp would raise a traceback)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds: a closed socket's TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as error:
            raise InputError(f"{host}:{port}", f"cannot listen there: {error.strerror or error}; choose another --port") from None


def _check_loads_in_time(folder: str, limit_s: float) -> None:
    """Load the case folder once in a spawned child process; refuse it when the load has not ended
    within the limit (the child is killed). Its result is not used: errors show in the page as before."""
    child = multiprocessing.get_context("spawn").Process(target=_load_folder, args=(folder,), daemon=True)
    child.start()
    child.join(limit_s)
    if child.is_alive():
        child.kill()
        child.join()
        raise InputError(folder, f"did not finish loading within {limit_s:g} s (a FIFO or a stalled file system?); not served")


def _load_folder(folder: str) -> None:
    from .sessions import die_with_parent

    die_with_parent()
    from ..inputs.casefolder import load_case_folder
    from ..inputs.scene import new_headless_scene

    vtk.vtkObject.GlobalWarningDisplayOff()
    try:
        load_case_folder(Path(folder), new_headless_scene())
    except Exception:  # noqa: BLE001 - the server shows the load's errors in the page, as before
        pass
