"""Slicer's own slice views rendered offscreen to images, through trame-slicer (headless use only).

Volume, segments and markups labels are drawn by Slicer's displayable managers exactly as in the
application's slice views, into an EGL window with no display. The views draw through the
application logic trame-slicer set up for the scene, so the scene must come from a `SlicerApp`
that is still alive. Never imported inside Slicer, which has real views.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import slicer
import vtk
from vtk.util import numpy_support

from .label_layout import PlacedLabel, lay_out_labels

Orientation = Literal["Axial", "Sagittal", "Coronal"]


@dataclass(frozen=True)
class SliceShot:
    """One slice view: its orientation, a world point it passes through and is centred on, its size."""

    orientation: Orientation
    through: tuple[float, float, float]  # RAS
    size_px: tuple[int, int] = (320, 320)  # width, height
    field_of_view_mm: float | None = None  # height shown; None fits the background volume


class SliceRenderer:
    """Offscreen slice views of one scene, one per orientation, made on first use and reused.

    A view is tied to its slice node for life: a second view made on the same slice node draws
    a broken image, so views are kept for every render and each renderer names its own nodes.
    """

    def __init__(self, scene: slicer.vtkMRMLScene) -> None:
        _use_offscreen_egl()
        self._scene = scene
        self._application = _application_logic(scene)
        self._views: dict[str, object] = {}
        self._labels: dict[str, list[PlacedLabel]] = {}

    def render(self, background: slicer.vtkMRMLScalarVolumeNode, shot: SliceShot) -> np.ndarray:
        """The slice view as an RGB image, uint8 array (height, width, 3), first row at the top."""
        view = self._view(shot.orientation)
        _frame(view, background, shot)
        # As the browser and Slicer do when a view moves.
        self._labels[shot.orientation] = lay_out_labels(self._scene, view.get_view_node()).placed
        view.render()
        return _grab(view.render_window())

    def render_again(self, orientation: Orientation) -> np.ndarray:
        """The view of that orientation drawn again as last framed, its labels where they were placed
        (a scene change since, such as a node hidden, shows)."""
        view = self._views[orientation]
        view.render()
        return _grab(view.render_window())

    def labels(self, orientation: Orientation) -> list[PlacedLabel]:
        """Where the latest render of that orientation laid out each label's text."""
        return self._labels[orientation]

    def slice_node(self, orientation: Orientation) -> slicer.vtkMRMLSliceNode:
        return self._views[orientation].get_view_node()

    def pixel_of(self, orientation: Orientation, point_ras: tuple[float, float, float]) -> tuple[float, float]:
        """(row, column) where a world point falls in the latest render of that orientation, row 0 at the top."""
        slice_node = self._views[orientation].get_view_node()
        ras_to_xy = np.linalg.inv(slicer.util.arrayFromVTKMatrix(slice_node.GetXYToRAS()))
        x, y, _, _ = ras_to_xy @ np.append(np.asarray(point_ras, dtype=float), 1.0)
        _, height = self._views[orientation].render_window().GetSize()
        return height - 1 - y, x

    def close(self) -> None:
        for view in self._views.values():
            # Still showing a volume, a closed view's pipeline would keep updating as the scene changes.
            view.set_render_blocked(True)
            view.set_background_volume_id(None)
            slice_logic = self._application.GetSliceLogic(view.get_view_node())
            slice_logic.SetMRMLScene(None)
            self._application.GetSliceLogics().RemoveItem(slice_logic)
            view.finalize()
        self._views.clear()
        self._labels.clear()

    def __enter__(self) -> "SliceRenderer":
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def _view(self, orientation: Orientation):
        if orientation not in self._views:
            from trame_slicer.views import SliceView

            self._views[orientation] = SliceView(self._scene, self._application, self._unused_name(orientation))
        return self._views[orientation]

    def _unused_name(self, orientation: Orientation) -> str:
        taken = {
            self._scene.GetNthNodeByClass(index, "vtkMRMLSliceNode").GetName()
            for index in range(self._scene.GetNumberOfNodesByClass("vtkMRMLSliceNode"))
        }
        number = 1
        while f"EMHAssist{orientation}{number}" in taken:
            number += 1
        return f"EMHAssist{orientation}{number}"


def write_png(image: np.ndarray, path: Path) -> None:
    """Write an RGB uint8 image (first row at the top) as PNG."""
    height, width, _ = image.shape
    data = vtk.vtkImageData()
    data.SetDimensions(width, height, 1)
    # VTK images start at the bottom row.
    scalars = numpy_support.numpy_to_vtk(np.ascontiguousarray(image[::-1]).reshape(-1, 3), deep=True)
    data.GetPointData().SetScalars(scalars)
    writer = vtk.vtkPNGWriter()
    writer.SetFileName(str(path))
    writer.SetInputData(data)
    writer.Write()


def _use_offscreen_egl() -> None:
    # Read when a render window is made, so setting it here is early enough; a caller's choice wins.
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


def _application_logic(scene: slicer.vtkMRMLScene) -> slicer.vtkMRMLApplicationLogic:
    application = slicer.vtkMRMLSliceViewDisplayableManagerFactory.GetInstance().GetMRMLApplicationLogic()
    if application is None or application.GetMRMLScene() is not scene:
        raise RuntimeError("slice views need the scene of the most recent trame-slicer SlicerApp")
    # A SlicerApp that was garbage-collected took its colour logic, and with it the scene's
    # colour tables: volumes would render with no lookup table.
    if scene.GetFirstNodeByName("Grey") is None:
        raise RuntimeError("the scene has lost its colour tables: keep its trame-slicer SlicerApp alive to render it")
    return application


def _frame(view, background: slicer.vtkMRMLScalarVolumeNode, shot: SliceShot) -> None:
    width, height = shot.size_px
    view.render_window().SetSize(width, height)
    view.update_size(width, height)
    view.set_orientation(shot.orientation)
    if background.GetDisplayNode() is None:
        background.CreateDefaultDisplayNodes()  # as Slicer does when a volume is first shown
    view.set_background_volume_id(background.GetID())
    view.fit_view_to_content()
    slice_node = view.get_view_node()
    if shot.field_of_view_mm is not None:
        fov_height = shot.field_of_view_mm
        slice_node.SetFieldOfView(fov_height * width / height, fov_height, slice_node.GetFieldOfView()[2])
    slice_node.JumpSliceByCentering(*shot.through)


def _grab(window: vtk.vtkRenderWindow) -> np.ndarray:
    grabber = vtk.vtkWindowToImageFilter()
    grabber.SetInput(window)
    grabber.SetInputBufferTypeToRGB()
    grabber.ReadFrontBufferOff()
    grabber.Update()
    image = grabber.GetOutput()
    width, height, _ = image.GetDimensions()
    pixels = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars()).reshape(height, width, 3)
    return pixels[::-1].copy()
