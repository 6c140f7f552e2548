"""Slicer's slice views rendered offscreen: the overlays are drawn where they belong, and only there.

Every check compares a render with the overlays against the same view rendered before they were
drawn, so a pixel that changed was changed by an overlay.
"""

import json

import numpy as np
import pytest
import slicer
from overlay_case import MASKS, REPORT, VERTEBRAE
from small_case import TISSUE_BLOCKS, small_study

from EMHAssistLib.knowledge import load
from EMHAssistLib.outputs.overlays import draw_overlays, set_overlays_visible, set_segment_fill
from EMHAssistLib.outputs.label_layout import PixelBox, PlacedLabel
from EMHAssistLib.outputs.render import SliceRenderer, SliceShot, write_png

STYLE = load("overlays")
SAGITTAL = SliceShot("Sagittal", (0.0, -5.0, 5.0), (200, 300), 80.0)
AXIAL = SliceShot("Axial", (0.0, -5.0, 10.0), (200, 200), 60.0)
MASS_CENTRE, MASS_SIZE = (np.array(v, dtype=float) for v in TISSUE_BLOCKS["mass"])
CORD_CENTRE, CORD_SIZE = (np.array(v, dtype=float) for v in TISSUE_BLOCKS["cord"])
ROLES = ("explanation", "segments", "levels", "mass_extent", "differential")


class Rendered:
    """The small case with its overlays in a live scene, its renderer, and the views before drawing."""

    def __init__(self) -> None:
        from trame_slicer.core import SlicerApp

        self.app = SlicerApp()  # the views draw through its logics, so it must outlive them
        self.scene = self.app.scene
        slicer.mrmlScene = self.scene
        self.study = small_study(self.scene, roles=("T1", "T2"))
        for sources in self.study.regions.values():
            for source in sources:
                source.node.CreateDefaultDisplayNodes()
                source.node.GetDisplayNode().SetVisibility(False)  # only the overlays may change pixels
        self.renderer = SliceRenderer(self.scene)
        self.plain = {shot.orientation: self.render(shot) for shot in (SAGITTAL, AXIAL)}
        self.overlays = draw_overlays(self.scene, REPORT, self.study, **MASKS)

    def render(self, shot: SliceShot) -> np.ndarray:
        return self.renderer.render(self.study.sequences["T1"], shot)

    def render_only(self, shot: SliceShot, *roles: str) -> np.ndarray:
        nodes = self.overlays.by_role()
        for role in ROLES[1:]:
            for node in nodes[role]:
                node.GetDisplayNode().SetVisibility(role in roles)
        try:
            return self.render(shot)
        finally:
            for role in ROLES[1:]:
                for node in nodes[role]:
                    node.GetDisplayNode().SetVisibility(True)

    def pixel(self, shot: SliceShot, point) -> tuple[int, int]:
        row, column = self.renderer.pixel_of(shot.orientation, tuple(point))
        return int(round(row)), int(round(column))

    def changed(self, image: np.ndarray, orientation: str) -> np.ndarray:
        return np.any(image != self.plain[orientation], axis=2)


@pytest.fixture(scope="module")
def rendered():
    case = Rendered()
    yield case
    case.renderer.close()


def block_rectangle(case: Rendered, shot: SliceShot, centre, size, margin_mm: float) -> tuple[slice, slice]:
    """Pixel rows and columns covering a tissue block's section in the view, grown by a margin."""
    half = size / 2 + margin_mm
    corners = [centre + half * (2 * np.array(signs) - 1) for signs in np.ndindex(2, 2, 2)]
    pixels = np.array([case.pixel(shot, corner) for corner in corners])
    (top, left), (bottom, right) = pixels.min(axis=0), pixels.max(axis=0)
    return slice(max(top, 0), bottom + 1), slice(max(left, 0), right + 1)


def inside_points(centre, size, shrink_mm: float, plane_axis: int, plane_value: float) -> np.ndarray:
    """A grid of world points inside a block, shrunk by a margin, on one slice plane."""
    half = size / 2 - shrink_mm
    axes = [np.linspace(centre[a] - half[a], centre[a] + half[a], 5) for a in range(3)]
    axes[plane_axis] = np.array([plane_value])
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def expected_fill(plain_pixel: np.ndarray, color: list[float], opacity: float) -> np.ndarray:
    return (1 - opacity) * plain_pixel + opacity * 255 * np.array(color)


def test_pixel_of_finds_the_tissue_blocks_on_the_plain_render(rendered):
    plain = rendered.plain["Sagittal"].astype(int)
    background = plain[rendered.pixel(SAGITTAL, (0.0, -25.0, 5.0))]  # behind the mass: no tissue block
    for centre in (MASS_CENTRE, CORD_CENTRE):
        assert plain[rendered.pixel(SAGITTAL, centre)].mean() > background.mean() + 100


def test_the_mass_signal_shows_through_its_overlay(rendered):
    """By default cord and mass are outlined: inside the mass every pixel is the image's own."""
    for shot, axis in ((SAGITTAL, 0), (AXIAL, 2)):
        image = rendered.render_only(shot, "segments")
        plain = rendered.plain[shot.orientation]
        for point in inside_points(MASS_CENTRE, MASS_SIZE, 1.5, axis, shot.through[axis]):
            pixel = rendered.pixel(shot, point)
            assert image[pixel].tolist() == plain[pixel].tolist(), (shot.orientation, point)


def test_the_mass_is_outlined_in_its_colour(rendered):
    color = STYLE["segments"]["regions"]["mass"]["color"]
    for shot in (SAGITTAL, AXIAL):
        image = rendered.render_only(shot, "segments")
        rows, columns = block_rectangle(rendered, shot, MASS_CENTRE, MASS_SIZE, 1.0)
        assert near_color(image[rows, columns], color) > 40, shot.orientation


def test_a_fill_can_be_turned_up(rendered):
    segments = rendered.overlays.segments
    set_segment_fill(segments, 0.6)
    try:
        image = rendered.render_only(SAGITTAL, "segments").astype(float)
    finally:
        set_segment_fill(segments, STYLE["segments"]["fill_opacity_2d"])
    plain = rendered.plain["Sagittal"].astype(float)
    color = STYLE["segments"]["regions"]["mass"]["color"]
    for point in inside_points(MASS_CENTRE, MASS_SIZE, 2.5, 0, SAGITTAL.through[0]):
        pixel = rendered.pixel(SAGITTAL, point)
        np.testing.assert_allclose(image[pixel], expected_fill(plain[pixel], color, 0.6), atol=12, err_msg=str(point))


def test_no_segment_colour_far_from_the_segments(rendered):
    changed = rendered.changed(rendered.render_only(SAGITTAL, "segments"), "Sagittal")
    near = np.zeros_like(changed)
    for centre, size in ((MASS_CENTRE, MASS_SIZE), (CORD_CENTRE, CORD_SIZE)):
        near[block_rectangle(rendered, SAGITTAL, centre, size, 3.0)] = True
    assert changed[near].sum() > 100
    assert not changed[~near].any(), f"{changed[~near].sum()} pixels changed far from the segments"


def near_color(pixels: np.ndarray, color: list[float], tolerance: float = 40) -> int:
    return int(np.all(np.abs(pixels.astype(float) - 255 * np.array(color)) < tolerance, axis=-1).sum())


def level_labels(case: Rendered, orientation: str) -> dict[str, PlacedLabel]:
    """Each level's label as the latest render of that orientation laid it out, by level name."""
    levels = case.overlays.levels
    return {placed.text.split()[0]: placed for placed in case.renderer.labels(orientation) if placed.source is levels}


def box_pixels(box: PixelBox, height: int, inset_px: float = 0.0) -> tuple[slice, slice]:
    """An image's rows (first at the top) and columns inside a laid-out box (y up), shrunk by an inset."""
    inner = box.grown(-inset_px)
    rows = slice(max(int(np.floor(height - inner.top)), 0), int(np.ceil(height - inner.bottom)))
    return rows, slice(max(int(np.floor(inner.left)), 0), int(np.ceil(inner.right)))


def distance_to_box(box: PixelBox, point) -> float:
    return float(np.hypot(*(np.array(box.nearest_point(*point)) - np.asarray(point, dtype=float))))


def segment_mask(shape: tuple[int, int], start, end, half_width_px: float) -> np.ndarray:
    """The pixels (rows from the top) within a half width of the segment between two view points (y up)."""
    rows, columns = np.indices(shape)
    x, y = columns.astype(float), shape[0] - 1 - rows.astype(float)
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    along = end - start
    t = np.clip(((x - start[0]) * along[0] + (y - start[1]) * along[1]) / max(float(along @ along), 1e-9), 0, 1)
    return np.hypot(x - start[0] - t * along[0], y - start[1] - t * along[1]) <= half_width_px


def test_every_level_label_is_nearer_its_own_point_than_any_other_levels(rendered):
    """A reader pairs a label with the nearest point: in this 200 x 300 px view the compressed T6's
    label cannot sit beside its point (the view's edge on one side, the cord on the other), and once
    went 55 px down beside T7's point; wherever it goes, it stays nearer T6's."""
    rendered.render_only(SAGITTAL, "levels")
    labels = level_labels(rendered, "Sagittal")
    assert sorted(labels) == sorted(vertebra["name"] for vertebra in VERTEBRAE)
    for name, label in labels.items():
        own = distance_to_box(label.box, label.anchor_px)
        for other_name, other in labels.items():
            if other_name != name:
                assert own < distance_to_box(label.box, other.anchor_px), (name, other_name, label.box)


def test_every_level_label_is_drawn_in_its_box_and_nothing_but_points_and_leaders_outside(rendered):
    image = rendered.render_only(SAGITTAL, "levels")
    changed = rendered.changed(image, "Sagittal")
    allowed = np.zeros_like(changed)
    for name, label in level_labels(rendered, "Sagittal").items():
        rows, columns = box_pixels(label.box, changed.shape[0])
        assert changed[rows, columns].sum() > 30, f"no label drawn in {name}'s box"
        allowed[rows, columns] = True
        allowed |= segment_mask(changed.shape, label.anchor_px, label.anchor_px, 6.0)  # its point's glyph
        allowed |= segment_mask(changed.shape, label.anchor_px, label.box.nearest_point(*label.anchor_px), 3.0)  # its leader
    assert not changed[~allowed].any(), f"{changed[~allowed].sum()} pixels drawn outside the labels, points and leaders"


def test_compressed_levels_are_drawn_in_the_highlight_colour_and_the_others_not(rendered):
    image = rendered.render_only(SAGITTAL, "levels")
    for name, label in level_labels(rendered, "Sagittal").items():
        pixels = image[box_pixels(label.box, image.shape[0])]
        highlighted = near_color(pixels, STYLE["levels"]["compressed_color"])
        plain_coloured = near_color(pixels, STYLE["levels"]["color"])
        if name in ("T5", "T6"):
            assert highlighted > 20 and plain_coloured == 0, (name, highlighted, plain_coloured)
        else:
            assert plain_coloured > 5 and highlighted == 0, (name, highlighted, plain_coloured)


def test_the_compressed_label_is_longer_than_a_plain_one(rendered):
    changed = rendered.changed(rendered.render_only(SAGITTAL, "levels"), "Sagittal")
    widths = {}
    for name, label in level_labels(rendered, "Sagittal").items():
        # Inset past the box's margin, where only the text (not a leader's end) is drawn.
        columns = np.flatnonzero(changed[box_pixels(label.box, changed.shape[0], inset_px=3.0)].any(axis=0))
        widths[name] = columns.max() - columns.min()
    assert min(widths["T5"], widths["T6"]) > 2 * max(widths["T7"], widths["T8"]), widths


def test_the_mass_extent_bracket_spans_the_mass_height_behind_it(rendered):
    changed = rendered.changed(rendered.render_only(SAGITTAL, "mass_extent"), "Sagittal")
    top = rendered.pixel(SAGITTAL, MASS_CENTRE + [0, 0, MASS_SIZE[2] / 2])
    bottom = rendered.pixel(SAGITTAL, MASS_CENTRE - [0, 0, MASS_SIZE[2] / 2])
    behind = rendered.pixel(SAGITTAL, MASS_CENTRE - [0, MASS_SIZE[1] / 2 + STYLE["mass_extent"]["margin_mm"], 0])
    line_column = behind[1]
    assert changed[top[0] + 5 : bottom[0] - 5, line_column - 2 : line_column + 3].any(axis=1).all()
    # Its label cannot run right of the foot here (the view's edge): it is moved, but never over the mass.
    assert not changed[block_rectangle(rendered, SAGITTAL, MASS_CENTRE, MASS_SIZE, 0.0)].any(), "nothing over the mass"


def test_hiding_the_folder_hides_every_overlay_and_showing_it_brings_them_back(rendered):
    folder = rendered.overlays.folder
    set_overlays_visible(rendered.scene, folder, False)
    try:
        for shot in (SAGITTAL, AXIAL):
            assert not rendered.changed(rendered.render(shot), shot.orientation).any(), shot.orientation
    finally:
        set_overlays_visible(rendered.scene, folder, True)
    assert rendered.changed(rendered.render(SAGITTAL), "Sagittal").sum() > 1000


def test_write_png_keeps_the_pixels(rendered, tmp_path):
    import vtk
    from vtk.util import numpy_support

    path = tmp_path / "sagittal.png"
    image = rendered.render(SAGITTAL)
    write_png(image, path)
    reader = vtk.vtkPNGReader()
    reader.SetFileName(str(path))
    reader.Update()
    width, height, _ = reader.GetOutput().GetDimensions()
    read = numpy_support.vtk_to_numpy(reader.GetOutput().GetPointData().GetScalars()).reshape(height, width, -1)
    np.testing.assert_array_equal(read[::-1, :, :3], image)


def test_a_scene_that_is_not_the_current_applications_is_refused():
    with pytest.raises(RuntimeError, match="most recent"):
        SliceRenderer(slicer.vtkMRMLScene())


def test_a_scene_whose_application_was_collected_is_refused():
    # A new SlicerApp takes over the displayable managers' application logic; the module's
    # views were made by the fixture and keep theirs.
    import gc

    from trame_slicer.core import SlicerApp

    app = SlicerApp()
    orphan = app.scene
    del app
    gc.collect()
    with pytest.raises(RuntimeError, match="colour tables"):
        SliceRenderer(orphan)


# --- The differential label inside the view -------------------------------------------------------
# The browser's sagittal view is about 400 px wide at about 2.5 px/mm, centred on the mass at the
# reveal; the report's key image is 440 px wide, centred just behind the mass. A label drawn to its
# point's right once ran off the browser's view.
NARROW_SAGITTAL = SliceShot("Sagittal", tuple(MASS_CENTRE), (400, 500), 200.0)


def label_pixels(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    changed = np.any(after != before, axis=2)
    assert changed.sum() > 500, "the label is drawn"
    return changed


def assert_clear_of_the_edges(changed: np.ndarray, margin_px: int = 2) -> None:
    columns, rows = np.flatnonzero(changed.any(axis=0)), np.flatnonzero(changed.any(axis=1))
    width, height = changed.shape[1], changed.shape[0]
    assert columns.min() >= margin_px and columns.max() < width - margin_px, f"columns {columns.min()}-{columns.max()} of {width}"
    assert rows.min() >= margin_px and rows.max() < height - margin_px, f"rows {rows.min()}-{rows.max()} of {height}"


def test_the_differential_label_is_centred_above_its_point_clear_of_mass_cord_and_the_views_edges(rendered):
    changed = label_pixels(rendered.render_only(NARROW_SAGITTAL), rendered.render_only(NARROW_SAGITTAL, "differential"))
    row, column = rendered.pixel(NARROW_SAGITTAL, rendered.overlays.differential.GetNthControlPointPositionWorld(0))
    assert changed[row - 40 : row + 5, column - 60 : column].sum() > 100, "text on the point's left"
    assert changed[row - 40 : row + 5, column : column + 60].sum() > 100, "and on its right"
    assert not changed[block_rectangle(rendered, NARROW_SAGITTAL, MASS_CENTRE, MASS_SIZE, 0.0)].any()
    assert not changed[block_rectangle(rendered, NARROW_SAGITTAL, CORD_CENTRE, CORD_SIZE, 0.0)].any()
    assert_clear_of_the_edges(changed)


@pytest.mark.parametrize("case", ["mds_t5_t8", "hematoma_t6_t9"])
def test_a_built_in_cases_differential_label_stays_inside_the_browsers_and_the_reports_views(case):
    """The README's case and the deepest mass (the haematoma), as the browser and the report show them."""
    from trame_slicer.core import SlicerApp

    from EMHAssistLib.analysis import run_analysis
    from EMHAssistLib.teaching.cases import build_study, study_into_scene
    from EMHAssistLib.outputs.key_images import focus_point, shot

    app = SlicerApp()
    slicer.mrmlScene = app.scene
    study = study_into_scene(build_study(case), app.scene)
    for sources in study.regions.values():
        for source in sources:
            source.node.CreateDefaultDisplayNodes()
            source.node.GetDisplayNode().SetVisibility(False)
    analysis = run_analysis(study)
    label = draw_overlays(app.scene, analysis.report, study, mass_mask=analysis.mass_mask, cord_mask=analysis.cord_mask).differential
    focus = focus_point(study, analysis)
    browser = SliceShot("Sagittal", tuple(focus), (400, 780))  # fitted to the volume, then centred on the mass
    with SliceRenderer(app.scene) as renderer:
        for view in (browser, shot("Sagittal", focus)):
            label.GetDisplayNode().SetVisibility(False)
            before = renderer.render(study.sequences["T2"], view)
            label.GetDisplayNode().SetVisibility(True)
            assert_clear_of_the_edges(label_pixels(before, renderer.render(study.sequences["T2"], view)))


def test_with_no_compression_the_axial_view_is_at_the_mass_largest_section(scene):
    """The myelodysplasia case's grown mass cut to a wedge (each axial section keeps a share of the
    mass's front-back depth that grows from none at its foot to all at its head) and its compression
    taken away: the axial key image and the browser's axial view go through the wedge's largest
    section, at its head, not through its bulk (the volume's median, 0.71 of the way up)."""
    import dataclasses

    from EMHAssistLib.analysis import run_analysis
    from EMHAssistLib.outputs.key_images import axial_level, focus_point
    from EMHAssistLib.teaching.cases import build_study, study_into_scene

    study = study_into_scene(build_study("mds_t5_t8"), scene)
    analysis = run_analysis(study)
    mass = analysis.levels.mass
    occupied = np.argwhere(mass.mask)
    points = mass.grid.to_world(occupied[:, ::-1].astype(float))
    up = (points[:, 2] - points[:, 2].min()) / np.ptp(points[:, 2])
    forward = (points[:, 1] - points[:, 1].min()) / np.ptp(points[:, 1])
    kept = forward <= up
    wedge = np.zeros_like(mass.mask)
    wedge[tuple(occupied[kept].T)] = True
    report = analysis.report
    uncompressed = dataclasses.replace(
        analysis,
        report=dataclasses.replace(report, levels=dataclasses.replace(report.levels, compression=None)),
        levels=dataclasses.replace(analysis.levels, mass=dataclasses.replace(mass, mask=wedge)),
    )
    heights, counts = np.unique(np.round(points[kept, 2], 2), return_counts=True)
    largest = heights[np.argmax(counts)]
    focus = focus_point(study, uncompressed)
    assert abs(focus[2] - largest) > 5, "the wedge's bulk and its largest section should be apart"
    assert abs(axial_level(uncompressed, focus)[2] - largest) <= 0.6


def test_every_key_image_in_the_html_is_shown_at_its_own_pixel_size(browser, tmp_path):
    """The HTML report in a 1400 px wide browser window: each key image (the main sequence's sagittal
    and axial, then the same sagittal on T1 and T1C, at the sizes key_images renders them) is shown
    one image pixel to one screen pixel, so its labels are as large as Slicer draws them (before, the
    T1 and T1C views were scaled to 14.5 rem, 232 of their 520 px, their labels 45 % of their size)."""
    from golden_outputs import GOLDENS

    from EMHAssistLib.outputs.key_images import VIEWS
    from EMHAssistLib.outputs.report import from_json
    from EMHAssistLib.outputs.report_html import KeyImage, write_html

    report = from_json(json.loads((GOLDENS / "mds_t5_t8" / "report.json").read_text()), "report.json")
    rng = np.random.default_rng(0)
    images = []
    for role, orientation in (("T2", "Sagittal"), ("T2", "Axial"), ("T1", "Sagittal"), ("T1C", "Sagittal")):
        width, height = VIEWS[orientation].size_px
        write_png(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), tmp_path / "view.png")
        images.append(KeyImage(f"{role} {orientation.lower()}", "A view.", (tmp_path / "view.png").read_bytes()))
    write_html(report, images, tmp_path / "report.html")
    browser.navigate((tmp_path / "report.html").as_uri())
    browser.wait_for("Array.from(document.images).length === 4 && Array.from(document.images).every(i => i.complete && i.naturalWidth)", 20, "the key images loaded")
    shown = browser.evaluate("Array.from(document.images).map(i => [i.alt, i.naturalWidth, i.naturalHeight, i.clientWidth, i.clientHeight])")
    for alt, natural_width, natural_height, width, height in shown:
        assert (width, height) == (natural_width, natural_height), f"{alt!r}: shown {width}x{height} px, drawn {natural_width}x{natural_height}"
