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


# --- Signatures of Slicer's Python, read with ast ----------------------------------------------------
import ast  # noqa: E402
import inspect  # noqa: E402

# Where the names our code calls live in the host folder: module name -> file.
HOST_FILES = {
    "slicer.util": "Base/Python/slicer/util.py",
    "slicer.ScriptedLoadableModule": "Base/Python/slicer/ScriptedLoadableModule.py",
    "slicer.parameterNodeWrapper": "Base/Python/slicer/parameterNodeWrapper/__init__.py",
    "SampleData": "Modules/Scripted/SampleData/SampleData.py",
    "ScreenCapture": "Modules/Scripted/ScreenCapture/ScreenCapture.py",
    "SegmentStatistics": "Modules/Scripted/SegmentStatistics/SegmentStatistics.py",
    "SegmentStatisticsPlugins": "Modules/Scripted/SegmentStatistics/SegmentStatisticsPlugins/SegmentStatisticsPluginBase.py",
}


def signature_of(function: ast.FunctionDef, bound: bool) -> inspect.Signature:
    """The signature a def declares; `bound` drops its first parameter (self, cls)."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
    kinds = [inspect.Parameter.POSITIONAL_ONLY] * len(arguments.posonlyargs) + [inspect.Parameter.POSITIONAL_OR_KEYWORD] * len(arguments.args)
    parameters = [
        inspect.Parameter(arg.arg, kind, default=inspect.Parameter.empty if default is None else ...)
        for arg, kind, default in zip(positional, kinds, defaults)
    ]
    if bound:
        parameters = parameters[1:]
    if arguments.vararg:
        parameters.append(inspect.Parameter(arguments.vararg.arg, inspect.Parameter.VAR_POSITIONAL))
    parameters += [
        inspect.Parameter(arg.arg, inspect.Parameter.KEYWORD_ONLY, default=inspect.Parameter.empty if default is None else ...)
        for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults)
    ]
    if arguments.kwarg:
        parameters.append(inspect.Parameter(arguments.kwarg.arg, inspect.Parameter.VAR_KEYWORD))
    return inspect.Signature(parameters)


class HostDefinitions:
    """The functions and classes (with their methods and bases) of the host's Python files of one release."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.modules = {name: ast.parse(host_file(tag, path).read_text(encoding="utf-8")) for name, path in HOST_FILES.items()}

    def top_level(self, module: str, name: str) -> ast.AST | None:
        for node in self.modules[module].body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
                return node
        return None

    def find_class(self, name: str) -> ast.ClassDef | None:
        for module in self.modules:
            found = self.top_level(module, name)
            if isinstance(found, ast.ClassDef):
                return found
        return None

    def method(self, cls: ast.ClassDef, name: str) -> ast.FunctionDef | None:
        """A method of a host class or of its host bases."""
        for node in cls.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return node
        for base in cls.bases:
            parent = self.find_class(ast.unparse(base).split(".")[-1])
            found = self.method(parent, name) if parent is not None else None
            if found is not None:
                return found
        return None

    def exported(self, module: str) -> set[str]:
        """Names a module file defines or imports at top level (following a package's `from .x import *`)."""
        return file_names(host_file(self.tag, HOST_FILES[module]))


def file_names(path: Path, star: bool = False) -> set[str]:
    """The names a file offers: its __all__ when imported with *, else what it defines or imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 1 and [alias.name for alias in node.names] == ["*"]:
            names |= file_names(path.with_name(f"{node.module}.py"), star=True)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Assign):
            targets = {target.id for target in node.targets if isinstance(target, ast.Name)}
            if star and targets == {"__all__"}:
                return set(ast.literal_eval(node.value))
            names |= targets
    return names


def is_static(function: ast.FunctionDef) -> bool:
    return any(ast.unparse(decorator) == "staticmethod" for decorator in function.decorator_list)
