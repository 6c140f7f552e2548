"""Where each overlay label goes in one slice view, so that no two labels overlap or leave the view.

Slicer's markups write a point's text at a fixed size in pixels (whatever the zoom) beside the
point, so whether labels collide depends on the view: its size, zoom and slice. This step places
the labels of one view: each label where Slicer would draw it when there is room, else moved the
least distance (a level's name: to the clear place nearest its point) that clears the labels placed
before it, the ROI handles, the level points and the view's edges, with a leader line back to what it names. The texts are then drawn by one markups
node per labelled node and view, shown in that view only (its display node's view list), and the
labelled nodes draw their points without text. The browser, the report's key images and the
Slicer module call it for their own views (`lay_out_labels`), again whenever a view moves.

The placement itself (`place_boxes`) is plain geometry on pixel boxes; the markups side measures
the texts with VTK's own text renderer at the font size the markups draw them with.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import slicer
import vtk
from vtk.util import numpy_support

from .overlay_style import overlay_style
from .scene_writing import ListedPoint, add_points, new_point_list

LABELS_FOR_ATTRIBUTE = "EMHAssist.labelsFor"  # on a label node: the ID of the node whose texts it draws
VIEW_ATTRIBUTE = "EMHAssist.labelsView"  # on a label node or leader: the slice node it is laid out for
POINTS_AT_ATTRIBUTE = "EMHAssist.pointsAt"  # on a labelled node: the world point its leader lines end at ("R A S")
LABELLED_ROLES = ("levels", "mass_extent", "differential")  # overlay roles whose points carry text; first placed first
# On a point list outside the overlays whose texts the layout places too (the quiz's level points before the reveal).
LAID_OUT_ATTRIBUTE = "EMHAssist.labelsLaidOut"


@dataclass(frozen=True)
class PixelBox:
    """A rectangle in a view's pixels, x to the right and y up (VTK's display coordinates)."""

    left: float
    bottom: float
    right: float
    top: float

    def overlaps(self, other: "PixelBox") -> bool:
        return self.left < other.right and other.left < self.right and self.bottom < other.top and other.bottom < self.top

    def inside(self, width: float, height: float) -> bool:
        return self.left >= 0 and self.bottom >= 0 and self.right <= width and self.top <= height

    def shifted(self, dx: float, dy: float) -> "PixelBox":
        return PixelBox(self.left + dx, self.bottom + dy, self.right + dx, self.top + dy)

    def grown(self, margin: float) -> "PixelBox":
        return PixelBox(self.left - margin, self.bottom - margin, self.right + margin, self.top + margin)

    def nearest_point(self, x: float, y: float) -> tuple[float, float]:
        return float(np.clip(x, self.left, self.right)), float(np.clip(y, self.bottom, self.top))

    def as_array(self) -> np.ndarray:
        return np.array([self.left, self.bottom, self.right, self.top], dtype=float)


@dataclass(frozen=True)
class Obstacle:
    """Something a label must not cover; `owner` is the label it belongs to (its own point), if any, and
    `points_of` the node whose points it is one of (a level among the levels). A point that draws a glyph
    (`drawn`: a level's dot) is kept clear by its own label too; one that draws none (the differential's
    anchor) only by the others."""

    box: PixelBox
    owner: int | None = None
    points_of: str = ""
    drawn: bool = False


def place_boxes(
    natural: list[PixelBox], obstacles: list[Obstacle], width: float, height: float, covered: np.ndarray | None = None
) -> list[PixelBox | None]:
    """Each label's box, in order: its natural box when that is clear, else the nearest shift of it that
    is inside the view and clear of the boxes placed before and of every obstacle but its own point when
    that draws nothing (both grown by the layout's gap). Among those, a label with a point of its own (an obstacle it owns)
    keeps nearer that point than any other point of the same node (`points_of`: a level's label than
    any other level's point), as a reader pairs a label with the nearest point of its kind, and takes
    the clear place nearest that point, then the least shift (the least shift alone had left S4's name
    in a sacrum 16.5 px off its point, as far from S3's and S5's); and a box keeps off the `covered` pixels (rows y up, columns x), or where no shift within
    the search reach is clear of them, covers the fewest (a label over the cord beats one that names
    the wrong level or hides another label). A label that cannot keep nearer its point is placed as
    if it had none; None for a label no shift can place at all."""
    style = overlay_style().layout
    offsets = _candidate_offsets(style.step_px, style.reach_px)
    points = {obstacle.owner: obstacle for obstacle in obstacles if obstacle.owner is not None}
    placed: list[PixelBox | None] = []
    for index, box in enumerate(natural):
        strict = _place_one(index, box, [o for o in obstacles if o.owner != index or o.drawn], points, placed, offsets, width, height, covered)
        # Off its own dot where that costs no kept-clear pixel: a name over a quarter of its dot reads, one over the
        # cord hides the compression (mds_t5_t8's T6 in the browser's 307 px view had no place clear of both).
        loose = _place_one(index, box, [o for o in obstacles if o.owner != index], points, placed, offsets, width, height, covered)
        placed.append(strict[0] if strict[0] is not None and strict[1] <= loose[1] else loose[0])
    return placed


def _place_one(
    index: int,
    box: PixelBox,
    obstacles: list[Obstacle],
    points: dict[int, Obstacle],
    placed: list[PixelBox | None],
    offsets: np.ndarray,
    width: float,
    height: float,
    covered: np.ndarray | None,
) -> tuple[PixelBox | None, float]:
    """One label's place among `obstacles` (see place_boxes) and how many covered pixels it holds."""
    gap = overlay_style().layout.gap_px
    blocking = [obstacle.box for obstacle in obstacles]
    blocking += [other for other in placed if other is not None]
    candidates = box.as_array()[None, :] + np.concatenate([offsets, offsets], axis=1)
    ok = (candidates[:, 0] >= gap) & (candidates[:, 1] >= gap) & (candidates[:, 2] <= width - gap) & (candidates[:, 3] <= height - gap)
    for other in blocking:
        o = other.grown(gap).as_array()
        ok &= ~((candidates[:, 0] < o[2]) & (o[0] < candidates[:, 2]) & (candidates[:, 1] < o[3]) & (o[1] < candidates[:, 3]))
    # How far each place leaves the text from its own point, where other points of its kind could be taken for it.
    apart = np.zeros(len(candidates))
    if index in points:
        own = points[index]
        others = [p.box for owner, p in points.items() if owner != index and p.points_of == own.points_of]
        paired = ok & _nearer_own_point(candidates, own.box, others)
        ok = paired if paired.any() else ok
        if others:
            apart = _distances_to(candidates, own.box)
    first = np.flatnonzero(ok)
    if not first.size:
        return None, float("inf")
    hidden = _covered_counts(covered, candidates[first]) if covered is not None and covered.any() else np.zeros(first.size)
    order = np.lexsort((np.arange(first.size), apart[first], hidden))
    return PixelBox(*candidates[first[order[0]]]), float(hidden[order[0]])


def _nearer_own_point(boxes: np.ndarray, own: PixelBox, others: list[PixelBox]) -> np.ndarray:
    """For boxes (N, 4: left, bottom, right, top), whether each is nearer the centre of `own` than the
    centre of every box in `others`."""
    own_distance = _distances_to(boxes, own)
    nearer = np.ones(len(boxes), dtype=bool)
    for other in others:
        nearer &= own_distance < _distances_to(boxes, other)
    return nearer


def _distances_to(boxes: np.ndarray, point: PixelBox) -> np.ndarray:
    """For boxes (N, 4: left, bottom, right, top), the distance from the centre of `point` to the nearest pixel of each."""
    x, y = (point.left + point.right) / 2, (point.bottom + point.top) / 2
    dx = np.maximum(np.maximum(boxes[:, 0] - x, x - boxes[:, 2]), 0)
    dy = np.maximum(np.maximum(boxes[:, 1] - y, y - boxes[:, 3]), 0)
    return np.hypot(dx, dy)


def _covered_counts(covered: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """For boxes (N, 4: left, bottom, right, top in pixels), how many covered pixels each holds (a
    summed-area table: four look-ups a box)."""
    table = np.zeros((covered.shape[0] + 1, covered.shape[1] + 1), dtype=np.int64)
    table[1:, 1:] = covered.cumsum(axis=0).cumsum(axis=1)
    height, width = covered.shape
    left, right = (np.clip(np.floor(boxes[:, 0]), 0, width).astype(int), np.clip(np.ceil(boxes[:, 2]), 0, width).astype(int))
    bottom, top = (np.clip(np.floor(boxes[:, 1]), 0, height).astype(int), np.clip(np.ceil(boxes[:, 3]), 0, height).astype(int))
    return table[top, right] - table[bottom, right] - table[top, left] + table[bottom, left]


def _candidate_offsets(step: float, reach: float) -> np.ndarray:
    """Shifts on a grid of `step` pixels within `reach`, nearest first; at equal distance sideways
    before up and down, as a label beside its point reads best."""
    steps = np.arange(-reach, reach + step / 2, step)
    dx, dy = (grid.ravel() for grid in np.meshgrid(steps, steps))
    order = np.lexsort((np.abs(dy), np.hypot(dx, dy)))
    return np.stack([dx[order], dy[order]], axis=1)


# --- The markups side ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Label:
    source: slicer.vtkMRMLMarkupsNode
    point: int  # control point index in the source
    text: str
    anchor_px: np.ndarray  # (x, y) of the labelled point in the view
    box: PixelBox  # where the layout's text node draws the text with its own (invisible) point on the labelled point
    natural: PixelBox  # where the text goes when nothing is in the way: `box`, beside the labelled point's glyph if it draws one
    points_at_px: np.ndarray  # where a leader line from the moved text ends


class _View:
    """A slice view's geometry: world to pixels and back, and which points it shows."""

    def __init__(self, slice_node: slicer.vtkMRMLSliceNode) -> None:
        self.node = slice_node
        self.xy_to_ras = slicer.util.arrayFromVTKMatrix(slice_node.GetXYToRAS())
        self.ras_to_xy = np.linalg.inv(self.xy_to_ras)
        self.width, self.height, _ = slice_node.GetDimensions()

    def to_xy(self, ras) -> np.ndarray:
        return (self.ras_to_xy @ np.append(np.asarray(ras, dtype=float), 1.0))[:3]

    def to_ras(self, x: float, y: float) -> np.ndarray:
        return (self.xy_to_ras @ np.array([x, y, 0.0, 1.0]))[:3]

    def shows(self, ras) -> bool:
        """A point inside the view, within half a slice of its plane (where markups draw it; the third
        XY coordinate counts slices): a point out of view is not labelled."""
        x, y, z = self.to_xy(ras)
        return abs(z) <= 0.5 and 0 <= x <= self.width and 0 <= y <= self.height


@dataclass(frozen=True)
class PlacedLabel:
    """One point's text as laid out in a view."""

    source: slicer.vtkMRMLMarkupsNode  # the labelled node
    point: int  # its control point
    text: str
    anchor_px: tuple[float, float]  # the labelled point in the view's pixels (x right, y up)
    box: PixelBox  # where the text is drawn, its margin included


@dataclass(frozen=True)
class ViewLabels:
    """What `lay_out_labels` made for one view: its label and leader nodes and where each text went."""

    nodes: list[slicer.vtkMRMLNode]
    placed: list[PlacedLabel]


def lay_out_labels(scene: slicer.vtkMRMLScene, slice_node: slicer.vtkMRMLSliceNode) -> ViewLabels:
    """Place, for one slice view, the texts of every case's overlays (`overlays.find_overlays`), replacing
    the labels an earlier call placed for that view; the label and leader nodes made, filed in each
    case's overlay folder, and each text's box. A view not yet sized (0 pixels) gets none."""
    from .overlays import all_overlays, file_in_folder, overlays_visible

    _remove_labels(scene, slice_node)
    view = _View(slice_node)
    if view.width <= 0 or view.height <= 0:
        return ViewLabels([], [])
    made, placed = [], []
    for case, overlays in all_overlays(scene):
        if not overlays_visible(scene, overlays.folder):
            continue
        by_role = overlays.by_role()
        labels = _labels_in_view([source for role in LABELLED_ROLES for source in by_role.get(role, ())], view)
        nodes, laid_out = _place_labels(scene, view, labels, kept_clear_pixels(overlays, view))
        for node in nodes:
            file_in_folder(scene, overlays.folder, node, case, "labels")
        made += nodes
        placed += laid_out
    lists = [scene.GetNthNodeByClass(index, "vtkMRMLMarkupsFiducialNode") for index in range(scene.GetNumberOfNodesByClass("vtkMRMLMarkupsFiducialNode"))]
    for source in [points for points in lists if points.GetAttribute(LAID_OUT_ATTRIBUTE)]:
        nodes, laid_out = _place_labels(scene, view, _labels_in_view([source], view), None)
        made += nodes
        placed += laid_out
    return ViewLabels(made, placed)


def lay_out_again_when_resized(scene: slicer.vtkMRMLScene, slice_node: slicer.vtkMRMLSliceNode, then: Callable[[], None]) -> None:
    """Have the view's labels laid out again (`lay_out_labels`, then `then`) whenever its size in pixels
    changes. The layout works in the view's pixels, and the browser gives its views their size after the
    page has opened: laid out at the size a view had before, thal_major_teaching's quiz opened with T5's
    name 125 px from its point and S4's out in the soft tissue behind the sacrum."""
    laid_out_at = [tuple(slice_node.GetDimensions()[:2])]

    def resized(node: slicer.vtkMRMLSliceNode, _event: int) -> None:
        size = tuple(node.GetDimensions()[:2])
        if size != laid_out_at[0]:
            laid_out_at[0] = size
            lay_out_labels(scene, node)
            then()

    slice_node.AddObserver(vtk.vtkCommand.ModifiedEvent, resized)


def lay_out_texts_of(points: slicer.vtkMRMLMarkupsFiducialNode) -> None:
    """Have `lay_out_labels` place the texts of a point list that is no overlay (the quiz's level points
    before the reveal): drawn where Slicer draws them, a learner's ROI dropped on a level put its handles
    over that level's name. The list draws its points, at the overlay levels' glyph size (Slicer's default
    dot is as wide as a laid-out text's first letter, which starts on its point); the layout's text nodes
    draw its texts, at the overlay levels' size on the overlay labels' dark background."""
    style = overlay_style()
    points.SetAttribute(LAID_OUT_ATTRIBUTE, "1")
    points.CreateDefaultDisplayNodes()
    display = points.GetDisplayNode()
    display.SetGlyphScale(style.levels.glyph_scale)
    display.SetTextScale(style.levels.text_scale)
    display.GetTextProperty().SetBackgroundColor(style.labels.background_color)
    display.GetTextProperty().SetBackgroundOpacity(style.labels.background_opacity)
    display.SetPointLabelsVisibility(False)


def _place_labels(
    scene: slicer.vtkMRMLScene, view: _View, labels: list["_Label"], covered: np.ndarray | None
) -> tuple[list[slicer.vtkMRMLNode], list[PlacedLabel]]:
    """The text and leader nodes of one group of labels placed in a view, and where each text went."""
    boxes = place_boxes([label.natural for label in labels], _obstacles(scene, view, labels), view.width, view.height, covered)
    # A label nothing can place is drawn at its natural place: covered, never lost.
    boxes = [box if box is not None else label.natural for box, label in zip(boxes, labels)]
    placed = [PlacedLabel(label.source, label.point, label.text, tuple(label.anchor_px), box) for label, box in zip(labels, boxes)]
    return _label_nodes(scene, view, labels, boxes), placed


def _labels_in_view(sources: list[slicer.vtkMRMLMarkupsNode], view: _View) -> list[_Label]:
    """The texts of the shown points of `sources` that the view shows, in the order given (first placed first).
    A text that points at something else (the differential, at the mass's back) is laid out when the view
    shows what it points at, even with its own point outside: in the browser's 408 px sagittal view of
    sickle_cell_d4_d6, not panned to the mass, the differential's point fell 20 px past the right edge and
    the view had no differential; the layout moves the text inside, with its leader to the mass."""
    labels = []
    for source in sources:
        display = source.GetDisplayNode()
        if display is None or not display.GetVisibility():
            continue
        target = source.GetAttribute(POINTS_AT_ATTRIBUTE)
        for point in range(source.GetNumberOfControlPoints()):
            text = source.GetNthControlPointLabel(point)
            anchor = source.GetNthControlPointPositionWorld(point)
            points_at = [float(v) for v in target.split()] if target else anchor
            if text and view.shows(points_at):
                anchor_px = view.to_xy(anchor)[:2]
                box = _text_box(display, text, anchor_px)
                natural = _beside_glyph(box, anchor_px) if _draws_glyph(source) else box
                labels.append(_Label(source, point, text, anchor_px, box, natural, view.to_xy(points_at)[:2]))
    return labels


def _draws_glyph(source: slicer.vtkMRMLMarkupsNode) -> bool:
    """Whether the labelled node draws its points (a level's dot), not only texts placed by the layout (a
    0.01 glyph, as the differential's) or a bracket's ends."""
    if source.GetClassName() == "vtkMRMLMarkupsLineNode":
        return False
    return source.GetDisplayNode().GetGlyphScale() > overlay_style().layout.text_glyph_scale


def _beside_glyph(box: PixelBox, anchor_px: np.ndarray) -> PixelBox:
    """The text box moved right until it clears its own point's glyph (point_clear_px around the point) by
    the layout's gap: drawn from its point, a level's name had covered half its own dot (in the quiz's
    sagittal view of thal_major_teaching, 19-32 of each level dot's 39-57 pixels, all 22 levels)."""
    style = overlay_style().layout
    return box.shifted(anchor_px[0] + style.point_clear_px + style.gap_px - box.left, 0.0)


def _text_box(display: slicer.vtkMRMLMarkupsDisplayNode, text: str, anchor_px: np.ndarray) -> PixelBox:
    """Where Slicer's markups draw a point's text: its font is 5 points per unit of text scale at 72 dpi
    (measured: a label is the same size in pixels in a 200, 400 and 1000 pixel view), the text's
    reference point on the point, lines stacked upwards."""
    style = overlay_style().layout
    properties = vtk.vtkTextProperty()
    properties.ShallowCopy(display.GetTextProperty())
    properties.SetFontSize(int(style.font_points_per_text_scale * display.GetTextScale()))
    bounds = [0, 0, 0, 0]
    vtk.vtkTextRenderer().GetBoundingBox(properties, text, bounds, 72)
    x, y = anchor_px
    return PixelBox(x + bounds[0], y + bounds[2], x + bounds[1] + 1, y + bounds[3] + 1).grown(style.text_margin_px)


def _obstacles(scene: slicer.vtkMRMLScene, view: _View, labels: list[_Label]) -> list[Obstacle]:
    """The labelled points themselves (a point that draws a glyph kept clear by every label, its own
    included; one that draws none, by the others) and the handles of every ROI shown: its corners, the
    middles of its faces and its centre, wherever the handles are drawn."""
    style = overlay_style().layout
    obstacles = [
        Obstacle(
            PixelBox(*label.anchor_px, *label.anchor_px).grown(style.point_clear_px),
            owner=index,
            points_of=label.source.GetID(),
            drawn=_draws_glyph(label.source),
        )
        for index, label in enumerate(labels)
        if label.source.GetClassName() != "vtkMRMLMarkupsLineNode"  # a bracket's end is a line, not a glyph
    ]
    for index in range(scene.GetNumberOfNodesByClass("vtkMRMLMarkupsROINode")):
        roi = scene.GetNthNodeByClass(index, "vtkMRMLMarkupsROINode")
        display = roi.GetDisplayNode()
        if display is None or not display.GetVisibility() or not display.IsDisplayableInView(view.node.GetID()):
            continue
        for handle in _roi_handles(roi):
            x, y, _ = view.to_xy(handle)
            obstacles.append(Obstacle(PixelBox(x, y, x, y).grown(style.handle_clear_px)))
    return obstacles


def kept_clear_pixels(overlays, view: _View) -> np.ndarray | None:
    """The view's pixels (rows y up, columns x) that the segments named in overlays.json's layout
    (`kept_clear_segments`: the mass and the cord) cover on the slice shown: a label over them would
    hide what the reader judges there (the mass's T2 darkness and enhancement, the cord's
    compression and signal). None when the overlays have none of them."""
    if overlays.segments is None:
        return None
    segmentation = overlays.segments.GetSegmentation()
    segments = [segmentation.GetSegment(name) for name in overlay_style().layout.kept_clear_segments]
    masks = [_segment_pixels(segment, view) for segment in segments if segment is not None]
    return np.logical_or.reduce(masks) if masks else None


def _segment_pixels(segment, view: _View) -> np.ndarray:
    """The view's pixels where a segment's labelmap encloses it on the slice shown."""
    image = segment.GetRepresentation(slicer.vtkSegmentationConverter.GetBinaryLabelmapRepresentationName())
    dims, extent = image.GetDimensions(), image.GetExtent()
    voxels = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars()).reshape(dims[::-1])
    ijk = np.argwhere(voxels == segment.GetLabelValue())[:, ::-1] + np.array(extent[::2])
    to_world = vtk.vtkMatrix4x4()
    image.GetImageToWorldMatrix(to_world)
    to_xy = view.ras_to_xy @ slicer.util.arrayFromVTKMatrix(to_world)
    xyz = (to_xy @ np.concatenate([ijk, np.ones((len(ijk), 1))], axis=1).T).T[:, :3]
    # A voxel is on the slice when the plane passes through it: within half its size (in slices) of it.
    voxel_px = np.linalg.norm(to_xy[:3, :3], axis=0)
    on_slice = np.abs(xyz[:, 2]) <= max(0.5, float(np.max(np.abs(to_xy[2, :3]))) / 2)
    covered = np.zeros((view.height, view.width), dtype=bool)
    reach = int(np.ceil(float(np.max(voxel_px[:2] if voxel_px.size else [1.0])) / 2))
    columns, rows = np.round(xyz[on_slice, 0]).astype(int), np.round(xyz[on_slice, 1]).astype(int)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            y, x = rows + dy, columns + dx
            inside = (y >= 0) & (y < view.height) & (x >= 0) & (x < view.width)
            covered[y[inside], x[inside]] = True
    return covered


def _roi_handles(roi: slicer.vtkMRMLMarkupsROINode) -> list[np.ndarray]:
    """The world points of an ROI's corners, face and edge middles and centre. Its object-to-world
    matrix already places the object's origin at the box's centre (adding the centre again put the
    handles at twice it: in the browser's reveal the marrow box's handles sat on "T6 MSCC 42 %")."""
    to_world = slicer.util.arrayFromVTKMatrix(roi.GetObjectToWorldMatrix())
    half = np.array(roi.GetSize()) / 2
    offsets = [np.array(signs, dtype=float) for signs in np.ndindex(3, 3, 3)]
    return [(to_world @ np.append((offset - 1) * half, 1.0))[:3] for offset in offsets]


def _label_nodes(scene: slicer.vtkMRMLScene, view: _View, labels: list[_Label], boxes: list[PixelBox]) -> list[slicer.vtkMRMLNode]:
    """One text node per labelled node (its colours and size), and a leader for each moved label."""
    style = overlay_style().layout
    made: dict[str, slicer.vtkMRMLMarkupsFiducialNode] = {}
    leaders = []
    for label, box in zip(labels, boxes):
        node = made.get(label.source.GetID())
        if node is None:
            node = made[label.source.GetID()] = _text_node(scene, view, label.source)
        dx, dy = box.left - label.box.left, box.bottom - label.box.bottom
        add_points(node, [ListedPoint(label.text, view.to_ras(label.anchor_px[0] + dx, label.anchor_px[1] + dy), label.source.GetNthControlPointSelected(label.point))])
        end = np.array(box.nearest_point(*label.points_at_px))
        moved = np.hypot(box.left - label.natural.left, box.bottom - label.natural.bottom)
        if moved > style.leader_from_px and np.hypot(*(end - label.points_at_px)) > style.leader_from_px:
            leaders.append(_leader(scene, view, label, box))
    return [*made.values(), *leaders]


def _text_node(scene: slicer.vtkMRMLScene, view: _View, source: slicer.vtkMRMLMarkupsNode) -> slicer.vtkMRMLMarkupsFiducialNode:
    node = new_point_list(scene, f"{source.GetName()} ({view.node.GetName()} labels)")
    node.SetAttribute(LABELS_FOR_ATTRIBUTE, source.GetID())
    node.SetAttribute(VIEW_ATTRIBUTE, view.node.GetID())
    node.SetLocked(True)
    node.CreateDefaultDisplayNodes()
    display, own = node.GetDisplayNode(), source.GetDisplayNode()
    display.SetColor(own.GetColor())
    display.SetSelectedColor(own.GetSelectedColor())
    display.SetTextScale(own.GetTextScale())
    display.GetTextProperty().ShallowCopy(own.GetTextProperty())
    display.SetPropertiesLabelVisibility(False)
    display.SetGlyphScale(overlay_style().layout.text_glyph_scale)  # the text only: the point is the source's
    display.SetViewNodeIDs([view.node.GetID()])
    return node


def _leader(scene: slicer.vtkMRMLScene, view: _View, label: _Label, box: PixelBox) -> slicer.vtkMRMLMarkupsLineNode:
    line = scene.AddNewNodeByClass("vtkMRMLMarkupsLineNode", f"{label.source.GetName()} ({view.node.GetName()} leader)")
    line.SetAttribute(LABELS_FOR_ATTRIBUTE, label.source.GetID())
    line.SetAttribute(VIEW_ATTRIBUTE, view.node.GetID())
    line.AddControlPoint(*view.to_ras(*label.points_at_px), "")
    line.AddControlPoint(*view.to_ras(*box.nearest_point(*label.points_at_px)), "")
    for index in range(2):
        line.SetNthControlPointLabel(index, "")  # an empty label given when adding is replaced by a generated one
    for index in range(line.GetNumberOfMeasurements()):
        line.GetNthMeasurement(index).SetEnabled(False)
    line.SetLocked(True)
    line.CreateDefaultDisplayNodes()
    display = line.GetDisplayNode()
    # In its text's colour (a compressed level's is its selected colour), so line and text read as one.
    own = label.source.GetDisplayNode()
    color = own.GetSelectedColor() if label.source.GetNthControlPointSelected(label.point) else own.GetColor()
    display.SetColor(color)
    display.SetSelectedColor(color)
    display.SetGlyphScale(overlay_style().layout.text_glyph_scale)
    display.SetLineThickness(overlay_style().layout.leader_line_thickness)  # a fraction of that glyph's size
    display.SetPointLabelsVisibility(False)
    display.SetPropertiesLabelVisibility(False)
    display.SetViewNodeIDs([view.node.GetID()])
    return line


def _remove_labels(scene: slicer.vtkMRMLScene, slice_node: slicer.vtkMRMLSliceNode) -> None:
    from .overlays import remove_node

    stale = [
        scene.GetNthNode(index)
        for index in range(scene.GetNumberOfNodes())
        if scene.GetNthNode(index).GetAttribute(VIEW_ATTRIBUTE) == slice_node.GetID()
    ]
    for node in stale:
        remove_node(scene, node)
