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


def close_headless_scene(scene: slicer.vtkMRMLScene) -> None:
    """Frees a scene `new_headless_scene` made, and lets its application go.

    The scene holds its application in a Python attribute while the application's logics hold the
    scene in C++: a cycle Python's collector cannot see. Clearing the scene frees its nodes (the
    volumes); dropping the attribute lets the application be collected.
    """
    scene.Clear(True)
    vars(scene).pop("emhassist_application", None)
