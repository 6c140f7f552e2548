"""A headless MRML scene set up as Slicer sets up its own (logics, colours, I/O managers)."""

import slicer


def new_headless_scene() -> slicer.vtkMRMLScene:
    """A scene with the Volumes, Segmentations and Markups logics attached, outside Slicer.

    trame-slicer's application object does the same set-up Slicer's application does; it is only
    imported here, so code running inside Slicer never needs it.
    """
    from trame_slicer.core import SlicerApp

    scene = SlicerApp().scene
    slicer.mrmlScene = scene  # slicer.util helpers look the scene up here
    return scene
