"""A headless MRML scene set up as Slicer sets up its own (logics, colours, I/O managers)."""

import slicer


def new_headless_scene() -> slicer.vtkMRMLScene:
    """A scene with the Volumes, Segmentations and Markups logics attached, outside Slicer.

    trame-slicer's application object does the same set-up Slicer's application does; it is only
    imported here, so code running inside Slicer never needs it. The scene keeps its application
    alive: when the application goes, its colour logic takes the default colour tables out of the
    scene and its I/O manager the cache folder that reading `.mrb` files needs.
    """
    from trame_slicer.core import SlicerApp

    application = SlicerApp()
    scene = application.scene
    scene.emhassist_application = application
    slicer.mrmlScene = scene  # slicer.util helpers look the scene up here
    return scene
