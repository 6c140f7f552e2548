"""Shared fixtures: a real headless MRML scene and the data shipped beside the project."""

from pathlib import Path

import pytest
import slicer

from EMHAssistLib.inputs.scene import new_headless_scene

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def scene():
    """A fresh scene with Slicer's logics attached, as the command line uses."""
    return new_headless_scene()


@pytest.fixture
def live_scene():
    """A scene whose application stays alive while a second one reads a `.mrb` back."""
    from trame_slicer.core import SlicerApp

    app = SlicerApp()
    slicer.mrmlScene = app.scene
    yield app.scene
    del app


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA}: the project's shared data folder is missing")
    return SHARED_DATA
