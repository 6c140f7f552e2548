"""A report's key images: Slicer's slice views with EMHAssist's overlays, rendered offscreen as PNG.

The overlays are drawn into the case's scene (as the Slicer module draws them), the study's own
inputs (ROIs, level points) are hidden so the pictures show what the analysis found, and a sagittal
and an axial slice through the mass are rendered on the cord's sequence, then a sagittal slice
through each other span of the mass (EMH at the mid-thoracic spine and again at the sacrum) on that
sequence, then a sagittal slice on every other sequence. The scene must be a live trame-slicer
application's (see render.py).
"""

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import slicer

from .. import number_format as numbers
from ..analysis import Analysis
from ..errors import InputError
from ..inputs.nodes import grid_of_volume
from ..inputs.study import Study, outlines
from ..report_model import Extent, Report, Span
from .mass_spans import leading_span, span_of_points
from .overlays import draw_overlays
from .render import Orientation, SliceRenderer, SliceShot, write_png
from .report_html import KeyImage
from .wording import level_span, spans_of, stated_measures

# The sequence the cord and mass are traced on when it is there (see compression.assess).
PREFERRED_BACKGROUNDS = ("T2", "STIR", "T2FS", "T1", "T1C")


@dataclass(frozen=True)
class ViewSpec:
    """A key image's size, the field of view it shows and how far behind the mass it is centred."""

    size_px: tuple[int, int]  # width, height
    field_of_view_mm: float
    shift_back_mm: float  # so the labels that run back from the mass stay in view


VIEWS: Mapping[Orientation, ViewSpec] = MappingProxyType({
    "Sagittal": ViewSpec(size_px=(440, 520), field_of_view_mm=190.0, shift_back_mm=25.0),
    "Axial": ViewSpec(size_px=(320, 280), field_of_view_mm=90.0, shift_back_mm=8.0),
})


def key_images(study: Study, analysis: Analysis) -> list[KeyImage]:
    """Sagittal and axial views through the mass on the main sequence, a sagittal view on each other one."""
    scene = next(iter(study.sequences.values())).GetScene()
    draw_overlays(scene, analysis.report, study, mass_mask=analysis.mass_mask, cord_mask=analysis.cord_mask)
    hidden = _hide_inputs(study)
    try:
        return _render(study, analysis)
    finally:
        for node in hidden:
            node.GetDisplayNode().SetVisibility(True)


def views_at_level(study: Study, analysis: Analysis, level: str, exam: str) -> list[KeyImage]:
    """A sagittal and an axial view of the main sequence at `level`'s body centre as this exam's own
    levels place it: two exams shown side by side at the same vertebra, whatever their grids."""
    report = analysis.report
    vertebra = next((v for v in (report.levels.vertebrae if report.levels else ()) if v.name == level), None)
    if vertebra is None:
        raise InputError(report.case, f"has no level {level} to show")
    scene = next(iter(study.sequences.values())).GetScene()
    draw_overlays(scene, analysis.report, study, mass_mask=analysis.mass_mask, cord_mask=analysis.cord_mask)
    hidden = _hide_inputs(study)
    try:
        main = _main_sequence(study)
        through = np.array(focus_point(study, analysis), dtype=float)
        through[2] = vertebra.centre[2]
        images = []
        with SliceRenderer(scene) as renderer, tempfile.TemporaryDirectory() as folder:
            for index, orientation in enumerate(("Sagittal", "Axial")):
                path = Path(folder) / f"{index}.png"
                write_png(renderer.render(study.sequences[main], shot(orientation, through)), path)
                caption = f"Case {report.case}; {level} placed by this exam's own level points."
                images.append(KeyImage(f"{exam}: {main} {orientation.lower()} at {level}", caption, path.read_bytes()))
        return images
    finally:
        for node in hidden:
            node.GetDisplayNode().SetVisibility(True)


def _main_sequence(study: Study) -> str:
    return next((role for role in PREFERRED_BACKGROUNDS if role in study.sequences), next(iter(study.sequences)))


def _render(study: Study, analysis: Analysis) -> list[KeyImage]:
    scene = next(iter(study.sequences.values())).GetScene()
    main = _main_sequence(study)
    sites = mass_sites(analysis)
    focus = sites[0][1] if sites else focus_point(study, analysis)
    first_span = sites[0][0] if len(sites) > 1 else None
    report = analysis.report
    plan = [
        (main, "Sagittal", focus, _caption(report, "Sagittal", first_span, leading=True)),
        (main, "Axial", axial_level(analysis, focus), _caption(report, "Axial")),
    ]
    plan += [(main, "Sagittal", through, _caption(report, "Sagittal", span)) for span, through in sites[1:]]
    plan += [(role, "Sagittal", focus, f"The same sagittal slice on {role}.") for role in study.sequences if role != main]
    images = []
    with SliceRenderer(scene) as renderer, tempfile.TemporaryDirectory() as folder:
        for index, (role, orientation, through, caption) in enumerate(plan):
            pixels = renderer.render(study.sequences[role], shot(orientation, through))
            path = Path(folder) / f"{index}.png"
            write_png(pixels, path)
            images.append(KeyImage(f"{role} {orientation.lower()}", caption, path.read_bytes()))
    return images


def focus_point(study: Study, analysis: Analysis) -> np.ndarray:
    """Where the views are centred: the bulk of the grown mass (of its first site, see mass_sites)
    on the levels' mid-sagittal plane, else the centre of the mass region (or of the cord region),
    else of the first sequence."""
    mass = analysis.mass_mask
    if mass is not None and mass.mask.any():
        sites = mass_sites(analysis)
        return sites[0][1] if sites else _on_midline(np.median(_voxels_world(mass), axis=0), analysis.report)
    for region in ("mass", "cord"):
        if study.regions.get(region):
            return outlines(study.regions[region])[0].shape.corners_world().mean(axis=0)
    return grid_of_volume(next(iter(study.sequences.values()))).corners_world().mean(axis=0)


def mass_sites(analysis: Analysis) -> list[tuple[Extent | Span, np.ndarray]]:
    """Each span of the grown mass with the bulk of its voxels on the levels' mid-sagittal plane.
    A mass in several spans (EMH at the mid-thoracic spine and again at the sacrum) is split as its
    overlays are (`mass_spans.span_of_points`); the leading span comes first (the one the
    differential label sits at, `mass_spans.leading_span`), then the others superior first.
    Empty without levels or a grown mass."""
    return [(span, _on_midline(np.median(points, axis=0), analysis.report)) for span, points in _site_voxels(analysis)]


def _site_voxels(analysis: Analysis) -> list[tuple[Extent | Span, np.ndarray]]:
    """Each span of the grown mass with the world points of its voxels, in mass_sites' order."""
    levels, mass = analysis.report.levels, analysis.mass_mask
    if mass is None or not mass.mask.any() or levels is None or not levels.mass or not levels.vertebrae:
        return []
    points = _voxels_world(mass)
    spans = spans_of(levels.mass)
    owner = span_of_points(points, levels.mass, levels.vertebrae)
    lead = leading_span(levels.mass, levels.compression, owner)
    order = [lead] + [n for n in range(len(spans)) if n != lead and np.any(owner == n)]
    return [(spans[n], points[owner == n]) for n in order]


def _voxels_world(mass) -> np.ndarray:
    k, j, i = np.nonzero(mass.mask)
    return mass.grid.to_world(np.stack([i, j, k], axis=1).astype(float))


def _on_midline(point: np.ndarray, report: Report) -> np.ndarray:
    """The point moved right-left onto the levels' mid-sagittal plane, where there are levels."""
    vertebrae = report.levels.vertebrae if report.levels else ()
    if vertebrae:
        point[0] = np.median([vertebra.centre[0] for vertebra in vertebrae])
    return point


def axial_level(analysis: Analysis, focus: np.ndarray) -> np.ndarray:
    """The axial plane through the body centre of the most compressed level; with none, through the
    mass's largest axial section (of its leading site, mass_sites' first), where a reader measures
    it; with no grown mass, through the focus."""
    levels = analysis.report.levels
    worst = levels.compression.at if levels and levels.compression else None
    through = np.array(focus, dtype=float)
    centres = {vertebra.name: vertebra.centre for vertebra in (levels.vertebrae if levels else ())}
    if worst in centres:
        through[2] = centres[worst][2]
        return through
    largest = _largest_axial_section(analysis)
    if largest is not None:
        through[2] = largest
    return through


def _largest_axial_section(analysis: Analysis) -> float | None:
    """The head-foot (S) position of the axial plane through the most of the mass's voxels (its
    leading site's, when the levels split it): the voxels counted in slabs one voxel thick along S."""
    mass = analysis.mass_mask
    if mass is None or not mass.mask.any():
        return None
    sites = _site_voxels(analysis)
    points = sites[0][1] if sites else _voxels_world(mass)
    thickness = float(np.sum(np.abs(mass.grid.ijk_to_world[2, :3])))  # one voxel's extent along S
    slab = np.floor((points[:, 2] - points[:, 2].min()) / thickness).astype(int)
    counts = np.bincount(slab)
    fullest = int(np.argmax(counts))
    return float(np.median(points[slab == fullest, 2]))


def _caption(report: Report, orientation: Orientation, span: Extent | Span | None = None, leading: bool = False) -> str:
    """A main-sequence view's caption; `span`: the part of a mass in several spans the view shows,
    `leading` when it is the leading span's (mass_sites' first), where the differential is labelled."""
    compression = report.levels.compression if report.levels else None
    if orientation == "Axial" and compression:
        stated = ", ".join(f"{name} {numbers.percent(percent)}" for name, percent in stated_measures(compression))
        return f"Axial slice at {compression.at}, the most compressed level ({stated})."
    if orientation == "Axial":
        return "Axial slice through the mass's largest section."
    if span and not leading:  # the leading diagnosis is labelled beside the leading span's part only
        return f"Sagittal slice through the mass at {level_span(span)}: the mass and cord as found, the levels."
    if span:
        return f"Sagittal slice through the mass at {level_span(span)}: the mass and cord as found, the levels and the leading diagnosis."
    return "Sagittal slice through the mass: the mass and cord as found, the levels and the leading diagnosis."


def shot(orientation: Orientation, through: np.ndarray) -> SliceShot:
    view = VIEWS[orientation]
    centre = np.array(through, dtype=float)
    centre[1] -= view.shift_back_mm
    return SliceShot(orientation, tuple(float(v) for v in centre), view.size_px, view.field_of_view_mm)


def _hide_inputs(study: Study) -> list[slicer.vtkMRMLNode]:
    """Hide the visible inputs; the ones hidden, to be shown again."""
    inputs: list[slicer.vtkMRMLNode] = [source.node for sources in study.regions.values() for source in sources]
    if study.levels is not None:
        inputs.append(study.levels)
    hidden = []
    for node in inputs:
        node.CreateDefaultDisplayNodes()
        if node.GetDisplayNode().GetVisibility():
            node.GetDisplayNode().SetVisibility(False)
            hidden.append(node)
    return hidden
