"""Shared fixtures: a real headless MRML scene and the data shipped beside the project."""

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import EMHAssistLib
import pytest
import slicer
from browser import Browser, chromium_path
from EMHAssistLib.inputs.scene import close_headless_scene, new_headless_scene

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# pyproject's `pythonpath` puts this checkout's package first for pytest's own process only: a process a
# test starts (`emhassist serve` under the browser tests, the installed command, a tool) imported the
# package the shared .venv's editable install points to, /work/main's when run from a worktree.
os.environ["PYTHONPATH"] = os.pathsep.join([str(Path(EMHAssistLib.__file__).resolve().parents[1]), *filter(None, [os.environ.get("PYTHONPATH")])])


@pytest.fixture(scope="module", autouse=True)
def _release_scenes() -> Iterator[None]:
    """Frees, when a test module ends, every Slicer application its scenes kept alive.

    A headless scene holds its application in a Python attribute and the application's logics hold
    the scene in C++: a cycle Python's collector cannot see, so without this every scene a test made
    (about 8 MB with its volumes) lived to the end of the run: a serial run's process held 10 GB 23 minutes
    in. Module scope, not function scope: module-scoped fixtures share one scene between their tests.
    Clearing the scene frees its nodes; about 2.5 MB an application stays in Slicer's own C++.
    """
    yield
    release_scenes()


def release_scenes() -> None:
    from trame_slicer.core import SlicerApp

    for application in [held for held in gc.get_objects() if isinstance(held, SlicerApp)]:
        close_headless_scene(application.scene)
    gc.collect()


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
