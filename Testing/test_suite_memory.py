"""The suite's own memory: what a test module's scenes hold is freed when the module ends (conftest.py)."""

import weakref

from conftest import release_scenes
from EMHAssistLib.inputs.scene import new_headless_scene


def test_releasing_frees_the_application_a_scene_kept_and_the_scenes_volumes():
    """A headless scene and its application hold each other across Python and C++, where the collector cannot
    see the cycle: before conftest released them, every scene of a serial run lived to its end (10 GB RSS)."""
    scene = new_headless_scene()
    scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode")
    application = weakref.ref(scene.emhassist_application)
    release_scenes()
    assert application() is None
    assert scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode") == 0
