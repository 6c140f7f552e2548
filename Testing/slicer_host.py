"""Slicer's own Python files (../shared/slicer-host/<tag>/) imported for real, with only the GUI stood in.

The host folder holds Slicer's pure-Python files at each supported release tag. Files whose logic needs
no GUI (ScriptedLoadableModule, Segment Statistics and its plugins, Sample Data) are imported here
unchanged, so that Slicer's code calls ours on a real MRML scene (slicer-core). Only `qt`, `ctk` and
`slicer.i18n` are stood in, by permissive objects that accept any call; the compiled VTK modules
Slicer's plugins import by their in-application names (vtkITK, vtkSegmentationCorePython) are
slicer-core's own.
"""

import importlib
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import slicer

HOST = Path(__file__).resolve().parents[2] / "shared" / "slicer-host"
MODULE_DIR = Path(__file__).resolve().parents[1] / "EMHAssist"


def releases() -> list[str]:
    """Every release tag the host folder holds (v5.10.0, v5.12.3, ...)."""
    return sorted(path.name for path in HOST.iterdir() if path.is_dir() and path.name.startswith("v"))


def host_file(tag: str, relative: str) -> Path:
    path = HOST / tag / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not in the host folder")
    return path


class StandIn:
    """Any Qt or CTK object: every call and attribute gives another stand-in; set attributes stick."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __getattr__(self, name: str) -> "StandIn":
        if name.startswith("__"):
            raise AttributeError(name)
        return StandIn()

    def __call__(self, *args, **kwargs) -> "StandIn":
        return StandIn()

    def __bool__(self) -> bool:
        return False


def stand_in_module(name: str) -> types.ModuleType:
    """A module whose every name is a stand-in class (so that `class X(qt.QDialog)` works too)."""
    module = types.ModuleType(name)
    module.__getattr__ = lambda attribute: type(attribute, (StandIn,), {})  # type: ignore[attr-defined]
    return module


def i18n_module() -> types.ModuleType:
    """slicer.i18n without Qt's translator: every text is its source text."""
    module = types.ModuleType("slicer.i18n")
    module.tr = lambda text: text  # type: ignore[attr-defined]
    module.translate = lambda context, text: text  # type: ignore[attr-defined]
    return module


def load_file(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# Module names the host context puts in sys.modules; they are taken out again on leaving it.
_HOST_NAMES = (
    "qt", "ctk", "slicer.i18n", "slicer.ScriptedLoadableModule", "vtkITK", "vtkSegmentationCorePython",
    "SegmentStatistics", "SegmentStatisticsPlugins", "SampleData",
)


@contextmanager
def host_python(tag: str) -> Iterator[types.SimpleNamespace]:
    """Slicer's ScriptedLoadableModule, SegmentStatistics (with its plugins) and SampleData of release
    `tag`, imported from the host folder; our plugin package importable as Slicer imports it."""
    saved_modules = {name: sys.modules.get(name) for name in sys.modules if name in _HOST_NAMES or name.startswith(("SegmentStatisticsPlugins.", "EMHAssistPlugins"))}
    saved_path = list(sys.path)
    saved_attributes = {name: getattr(slicer, name) for name in ("i18n", "ScriptedLoadableModule", "selfTests") if hasattr(slicer, name)}
    try:
        for name in [*_HOST_NAMES, *[n for n in sys.modules if n.startswith(("SegmentStatisticsPlugins.", "EMHAssistPlugins"))]]:
            sys.modules.pop(name, None)
        sys.modules["qt"] = stand_in_module("qt")
        sys.modules["ctk"] = stand_in_module("ctk")
        sys.modules["slicer.i18n"] = slicer.i18n = i18n_module()
        sys.modules["vtkITK"] = slicer.vtkITK
        sys.modules["vtkSegmentationCorePython"] = slicer.vtkSegmentationCore
        root = HOST / tag
        slicer.ScriptedLoadableModule = load_file("slicer.ScriptedLoadableModule", host_file(tag, "Base/Python/slicer/ScriptedLoadableModule.py"))
        sys.path[:0] = [
            str(root / "Modules" / "Scripted" / "SegmentStatistics"),
            str(root / "Modules" / "Scripted" / "SampleData"),
            str(MODULE_DIR),
        ]
        yield types.SimpleNamespace(
            SegmentStatistics=importlib.import_module("SegmentStatistics"),
            SampleData=importlib.import_module("SampleData"),
        )
    finally:
        for name in [n for n in sys.modules if n in _HOST_NAMES or n.startswith(("SegmentStatisticsPlugins.", "EMHAssistPlugins"))]:
            del sys.modules[name]
        sys.modules.update({name: module for name, module in saved_modules.items() if module is not None})
        sys.path[:] = saved_path
        for name in ("i18n", "ScriptedLoadableModule", "selfTests"):
            if name in saved_attributes:
                setattr(slicer, name, saved_attributes[name])
            elif hasattr(slicer, name):
                delattr(slicer, name)


def host_packages(tag: str) -> dict[str, str]:
    """The versions of the Python packages release `tag` ships, as the host folder's README tables them
    ("python", "numpy", "pydicom"; read from each tag's SuperBuild/External_python*.cmake)."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in (HOST / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]
    header = [cell.lower() for cell in rows[0]]
    for row in rows[1:]:
        if row[0] == tag:
            return {name: value for name, value in zip(header, row) if name not in ("tag", "released")}
    raise KeyError(f"{HOST / 'README.md'}: no package row for {tag}")


# Slicer itself: its Python package, the Qt and CTK bindings and VTK, and the compiled VTK modules
# Slicer's own plugins import under these names (read in the host's SegmentStatisticsPlugins).
SLICER_CORE_MODULES = ("slicer", "qt", "ctk", "vtk", "vtkITK", "vtkSegmentationCorePython")
# Slicer builds SimpleITK into its Python (SuperBuild/External_SimpleITK.cmake, Slicer_USE_SimpleITK on
# by default). The host folder's README does not table it: this entry is the one not read from the
# host folder; EMHAssistLib.inputs.casefolder imports it at load.
NOT_TABLED_IN_HOST_README = ("SimpleITK",)


def host_modules(tag: str) -> list[str]:
    """Every top-level module Slicer release `tag` offers to an extension's Python: Slicer itself, its
    scripted modules in the host folder, and the packages its README tables."""
    scripted = [path.name for path in (HOST / tag / "Modules" / "Scripted").iterdir() if path.is_dir()]
    scripted += [path.name for path in (HOST / tag / "Modules" / "Scripted").glob("*/*Plugins") if path.is_dir()]
    packages = [name for name in host_packages(tag) if name != "python"]
    return sorted({*SLICER_CORE_MODULES, *scripted, *packages, *NOT_TABLED_IN_HOST_README})


def python_for(version: str) -> Path:
    """A pyenv Python of the same minor version as `version` ("3.12.10" -> ~/.pyenv/versions/3.12.1)."""
    minor = ".".join(version.split(".")[:2])
    found = sorted(Path.home().glob(f".pyenv/versions/{minor}.*/bin/python{minor}"))
    if not found:
        raise FileNotFoundError(f"no Python {minor} under ~/.pyenv/versions: install it with `pyenv install {minor}`")
    return found[-1]
