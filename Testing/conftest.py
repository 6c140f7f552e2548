"""Shared fixtures: a real headless MRML scene and the data shipped beside the project."""

import os
from collections.abc import Iterator
from pathlib import Path

import EMHAssistLib
import pytest
import slicer
from browser import Browser, chromium_path
from EMHAssistLib.inputs.scene import new_headless_scene

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# pyproject's `pythonpath` puts this checkout's package first for pytest's own process only: a process a
# test starts (`emhassist serve` under the browser tests, the installed command, a tool) imported the
# package the shared .venv's editable install points to, /work/main's when run from a worktree.
os.environ["PYTHONPATH"] = os.pathsep.join([str(Path(EMHAssistLib.__file__).resolve().parents[1]), *filter(None, [os.environ.get("PYTHONPATH")])])


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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium over the DevTools protocol, one per test module."""
    if chromium_path() is None:
        pytest.fail("Debian's chromium is missing (/usr/bin/chromium): `make test` installs it, or run apt-get install chromium")
    with Browser() as opened:
        yield opened
