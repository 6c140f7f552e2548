"""The package's layers, read from every module's imports (ast): results flow one way.

foundation -> inputs -> measurement -> spine -> differential -> analysis/live -> outputs -> teaching
-> frontends. A module may import from its own layer and the layers before it, never from a later
one. Three more rules keep MRML where it belongs:

- Writing MRML (creating, adding, removing or changing nodes) happens only in outputs/ (results drawn
  into the scene, outputs/scene_writing.py for the rest: a built case's nodes, a segment's voxels, the
  place target): teaching/, frontends/ and the Slicer shell (EMHAssistSlicer/) call its functions, and
  change no node themselves (issue 16 point 3: the quiz's state node and boxes are changed in
  outputs/quiz_scene.py); the stages before the outputs call none. inputs/ only reads nodes, but for
  the case folder's reader, which reads each file into a new node (`READS_FILES_INTO_NODES`). "Writing" is decided from the source: a call of one of the MRML methods that create, add,
  remove or change nodes (`MRML_WRITING_METHODS`, any `SetAndObserve...`), or a call of a package
  function that makes one (found to a fixed point across modules).
- The engine stages that compute (measurement/, spine/, differential/) take plain data: they import
  neither slicer, vtk nor MRML, nor a package module that does (one that reads or writes nodes).
- Every module belongs to a layer, so a new one has to be placed before it is imported from.
- The teaching phantom defines no class name the engine defines (its own are PhantomGrid, ...).
- The differential's public functions take and give the report model's types, never a dict or Any
  (issue 16: it read the report as a dict by string keys and gave its sections back as dicts).
"""

import argparse
import ast
import dataclasses
import importlib
import inspect
import json
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "EMHAssistLib"
ROOT = Path(__file__).resolve().parents[1] / "EMHAssist" / PACKAGE

# In flow order; a module's layer is the longest prefix that names it.
LAYERS = (
    ("foundation", ("", "errors", "knowledge", "settings", "limits", "geometry", "report_model", "report_codec", "number_format")),
    ("inputs", ("inputs",)),
    ("measurement", ("measurement",)),
    ("spine", ("spine",)),
    ("differential", ("differential",)),
    # The report's words: the analysis states the stages' typed findings through it, so it comes after
    # every stage that computes (none of which may import it) and before the analysis.
    ("wording", ("outputs.wording",)),
    ("analysis", ("analysis", "live", "followup")),
    ("outputs", ("outputs",)),
    ("teaching", ("teaching",)),
    ("frontends", ("frontends",)),
)
MAY_WRITE_MRML = ("inputs", "outputs")  # inputs/ only as READS_FILES_INTO_NODES says
MAY_CALL_MRML_WRITERS = (*MAY_WRITE_MRML, "teaching", "frontends")  # through the functions of outputs/
# What of inputs/ makes or changes a node: the case folder's reader reads each file (or DICOM series)
# of a case into a new node, through the node's storage node as Slicer's loaders do, marks a DICOM
# volume with its headers and source folder, and removes the node again when its file is refused.
# Reading a file into the scene is the one way a case comes in; nothing else in inputs/ may write.
READS_FILES_INTO_NODES = {
    "inputs.casefolder": {
        "load_case_folder", "_read_case_folder", "read_volume", "read_roi", "read_point_list", "_segment_sources",
        "_read_node", "_read_dicom_series", "_remove",
    },
}
# The Slicer shell: its widget and logic call the package's functions like any frontend. Its self-test
# class (a ScriptedLoadableModuleTest, run from Slicer's Reload and Test) builds its own scene, as Testing/ does.
SHELL = ROOT.parent / "EMHAssistSlicer"
SHELL_TESTS = "ScriptedLoadableModuleTest"
PLAIN_DATA = ("measurement", "spine", "differential")
MRML_LIBRARIES = ("slicer", "vtk", "mrml", "qt", "ctk")
# Methods of MRML nodes, scenes and slicer.util that create, add, remove or change nodes; generic
# setters that SimpleITK and VTK images share (SetSpacing, SetOrigin) are left out, so computing on
# images is not taken for writing.
MRML_WRITING_METHODS = frozenset({
    "AddNewNodeByClass", "AddNode", "CreateNodeByClass", "RemoveNode", "CopyContent",
    "CreateDefaultDisplayNodes", "CreateDefaultStorageNode", "AddSegment", "AddEmptySegment", "RemoveSegment",
    "AddControlPoint", "AddControlPointWorld", "RemoveAllControlPoints", "SetNthControlPointPosition",
    "SetNthControlPointPositionWorld", "SetNthControlPointLabel", "SetNthControlPointDescription",
    "SetAttribute", "SetIJKToRASMatrix", "SetRadiusXYZ", "WriteData",
    "updateVolumeFromArray", "updateSegmentBinaryLabelmapFromArray", "updateTableFromArray",
    "addVolumeFromArray", "SetBinaryLabelmapToSegment",
    # a node's content, name, state and look (text nodes, scripted-module nodes, display nodes, the selection)
    "SetText", "SetName", "SetParameter", "SetNodeReferenceID", "AddNodeReferenceID", "RemoveNthNodeReferenceID",
    "SetLocked", "SetHideFromEditors", "SetSize", "SetColor", "SetSelectedColor", "SetFillVisibility",
    "SetPropertiesLabelVisibility", "SetHandlesInteractive", "SetNthControlPointVisibility", "SetAutoWindowLevel",
    "SetWindowLevel", "SetActivePlaceNodeID", "SetReferenceActivePlaceNodeClassName",
})


@dataclass(frozen=True)
class Module:
    name: str  # dotted, relative to the package ("" for the package itself)
    tree: ast.Module
    is_package: bool = False  # an __init__.py

    @property
    def layer(self) -> int:
        matches = [
            (len(prefix), index)
            for index, (_, prefixes) in enumerate(LAYERS)
            for prefix in prefixes
            if self.name == prefix or (prefix and self.name.startswith(prefix + "."))
        ]
        return max(matches)[1] if matches else -1

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]


def _modules() -> dict[str, Module]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        found[name] = Module(name, ast.parse(path.read_text(encoding="utf-8")), is_package)
    return found


MODULES = _modules()


def _imports(module: Module) -> list[tuple[str, str | None]]:
    """(imported module, imported name or None) for every import in the module: package modules
    relative to the package ("" for it), other libraries by their absolute name prefixed with ':'."""
    found = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            found += [_absolute(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            for alias in node.names:
                submodule = f"{base}.{alias.name}" if base else alias.name
                found.append((submodule, None) if submodule in MODULES else (base, alias.name))
    return found


def _absolute(name: str) -> tuple[str, None]:
    if name == PACKAGE or name.startswith(PACKAGE + "."):
        return name[len(PACKAGE) + 1:], None
    return ":" + name, None


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return _absolute(node.module or "")[0]
    parts = module.package.split(".") if module.package else []
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def _imports_mrml(module: Module) -> bool:
    return any(target.startswith(":") and target[1:].split(".")[0] in MRML_LIBRARIES for target, _ in _imports(module))


def _writing_calls(node: ast.AST, writers: set[str]) -> list[str]:
    """The MRML-writing methods, and the package's writing functions (by imported name), `node` calls."""
    calls = []
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        name = call.func.attr if isinstance(call.func, ast.Attribute) else call.func.id if isinstance(call.func, ast.Name) else None
        if name is not None and (name in MRML_WRITING_METHODS or name.startswith("SetAndObserve") or name in writers):
            calls.append(name)
    return calls


def _writers() -> dict[str, set[str]]:
    """Per module, its top-level functions and classes that write MRML, followed through the
    package's imports to a fixed point."""
    writers: dict[str, set[str]] = {name: set() for name in MODULES}
    changed = True
    while changed:
        changed = False
        for name, module in MODULES.items():
            imported = {alias for target, alias in _imports(module) if alias and alias in writers.get(target, set())}
            local = writers[name] | imported
            for node in module.tree.body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name not in writers[name] and _writing_calls(node, local):
                    writers[name].add(node.name)
                    changed = True
    return writers


WRITERS = _writers()


def test_every_module_belongs_to_a_layer():
    unplaced = [name for name, module in MODULES.items() if module.layer < 0]
    assert not unplaced, f"modules in no layer of test_layers.LAYERS: {unplaced}"


def later_stage_imports() -> list[str]:
    found = []
    for name, module in MODULES.items():
        for target, _ in _imports(module):
            if target in MODULES and MODULES[target].layer > module.layer:
                found.append(f"{PACKAGE}.{name} ({LAYERS[module.layer][0]}) imports {PACKAGE}.{target} ({LAYERS[MODULES[target].layer][0]})")
    return sorted(set(found))


def mrml_writing_before_the_outputs() -> list[str]:
    """Modules of the stages that compute, the analysis and the foundation that write MRML, even through
    a package function."""
    found = []
    for name, module in MODULES.items():
        if LAYERS[module.layer][0] in MAY_CALL_MRML_WRITERS:
            continue
        imported = {alias for target, alias in _imports(module) if alias and alias in WRITERS.get(target, set())}
        calls = _writing_calls(module.tree, imported)
        if calls:
            found.append(f"{PACKAGE}.{name} writes MRML: {', '.join(sorted(set(calls)))}")
    return found


def mrml_in_plain_stages() -> list[str]:
    found = []
    for name, module in MODULES.items():
        if LAYERS[module.layer][0] not in PLAIN_DATA:
            continue
        libraries = sorted({target[1:] for target, _ in _imports(module) if target.startswith(":") and target[1:].split(".")[0] in MRML_LIBRARIES})
        node_modules = sorted({target for target, _ in _imports(module) if target in MODULES and _imports_mrml(MODULES[target])})
        if libraries or node_modules:
            found.append(f"{PACKAGE}.{name} reads MRML: imports {', '.join(libraries + [f'{PACKAGE}.{m}' for m in node_modules])}")
    return found


def mrml_changed_outside_inputs_and_outputs() -> list[str]:
    """Top-level functions and classes of teaching/, frontends/ and the Slicer shell that call an
    MRML-writing method themselves, rather than a function of outputs/."""
    found = []
    for name, module in MODULES.items():
        if LAYERS[module.layer][0] not in MAY_WRITE_MRML:
            found += _changed_itself(f"{PACKAGE}.{name}", module.tree)
    for path in sorted(SHELL.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tree.body = [node for node in tree.body if not (isinstance(node, ast.ClassDef) and any(_base_name(base) == SHELL_TESTS for base in node.bases))]
        found += _changed_itself(f"EMHAssistSlicer.{path.stem}", tree)
    return found


def _base_name(base: ast.expr) -> str | None:
    return base.attr if isinstance(base, ast.Attribute) else base.id if isinstance(base, ast.Name) else None


def _changed_itself(name: str, tree: ast.Module) -> list[str]:
    found = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and (calls := _writing_calls(node, set())):
            found.append(f"{name}.{node.name} writes MRML itself: {', '.join(sorted(set(calls)))}")
    statements = [node for node in tree.body if not isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    if calls := [call for statement in statements for call in _writing_calls(statement, set())]:
        found.append(f"{name} writes MRML at its top level: {', '.join(sorted(set(calls)))}")
    return found


def mrml_written_in_inputs() -> list[str]:
    """Functions and classes of inputs/ that make or change a node, themselves or through a package
    function, other than the case folder's reading of files into nodes."""
    found = []
    for name, module in MODULES.items():
        if LAYERS[module.layer][0] != "inputs":
            continue
        for writer in sorted(WRITERS[name] - READS_FILES_INTO_NODES.get(name, set())):
            found.append(f"{PACKAGE}.{name}.{writer} makes or changes a node: inputs/ only read (outputs/scene_writing.py writes)")
    return found


@pytest.mark.parametrize("rule", [later_stage_imports, mrml_writing_before_the_outputs, mrml_changed_outside_inputs_and_outputs, mrml_written_in_inputs, mrml_in_plain_stages])
def test_the_layers_hold(rule):
    violations = rule()
    assert not violations, "\n".join(violations)


def test_the_checks_see_what_they_look_for():
    """The rules are only as good as their reading of the source: each finds a planted violation."""
    planted = Module("spine.planted", ast.parse(
        "import slicer\nfrom ..outputs.overlays import draw_overlays\n"
        "def f(scene):\n    scene.AddNewNodeByClass('vtkMRMLTextNode')\n    draw_overlays(scene)\n"
    ))
    assert planted.layer == [layer for layer, _ in LAYERS].index("spine")
    assert ("outputs.overlays", "draw_overlays") in _imports(planted)
    assert _imports_mrml(planted)
    assert "draw_overlays" in WRITERS["outputs.overlays"]
    assert set(_writing_calls(planted.tree, {"draw_overlays"})) == {"AddNewNodeByClass", "draw_overlays"}
    shell = ast.parse("class Widget:\n    def onPlace(self):\n        slicer.mrmlScene.AddNewNodeByClass('vtkMRMLMarkupsROINode')\n")
    assert _changed_itself("EMHAssistSlicer.planted", shell) == ["EMHAssistSlicer.planted.Widget writes MRML itself: AddNewNodeByClass"]


def test_the_case_folders_readers_are_the_writers_of_inputs_it_names():
    """Each function READS_FILES_INTO_NODES lets write is one that does (no stale name hides a new writer)."""
    for name, readers in READS_FILES_INTO_NODES.items():
        assert readers <= WRITERS[name], readers - WRITERS[name]


def test_the_phantom_defines_no_type_name_the_engine_defines():
    """A reader who meets `Grid` or `Cord` knows which one it is: the teaching phantom keeps its own
    types (it shares no code with the engine it tests) under names of its own (PhantomGrid, ...)."""
    defined: dict[str, set[str]] = {"phantom": set(), "engine": set()}
    for name, module in MODULES.items():
        side = "phantom" if name.startswith("teaching.phantom") else "engine"
        defined[side] |= {node.name for node in module.tree.body if isinstance(node, ast.ClassDef)}
    assert defined["phantom"] & defined["engine"] == set()


def _shadowed_imports(tree: ast.Module) -> set[str]:
    """Names a module imports and then defines again at its top level (the later definition wins silently)."""
    imported = {alias.asname or alias.name.split(".")[0] for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))}
    return imported & defined


def test_no_module_redefines_a_name_it_imports():
    """A test module that imported `golden_report` and later defined its own of another signature broke
    an earlier test only when the whole file ran (CI on 4cc367c): no source or test module does that."""
    sources = [*ROOT.rglob("*.py"), *Path(__file__).parent.glob("*.py"), *ROOT.parents[1].glob("bench/*.py"), *ROOT.parents[1].glob("tools/*.py")]
    shadowed = {f"{path.name}: {sorted(names)}" for path in sources if (names := _shadowed_imports(ast.parse(path.read_text(encoding="utf-8"))))}
    assert not shadowed, shadowed
    assert _shadowed_imports(ast.parse("from a import f\ndef f(): pass\n")) == {"f"}


# The differential's modules whose public functions read a case and give the report's sections.
DIFFERENTIAL_STAGES = ("differential.findings", "differential.ranking")


def _holds_untyped(hint: object) -> bool:
    """Whether a type hint is, or holds (in a tuple, list or union), a plain dict or Any; a model
    dataclass is typed whatever its fields hold."""
    if hint is dict or hint is typing.Any or typing.get_origin(hint) is dict:
        return True
    return any(_holds_untyped(arg) for arg in typing.get_args(hint))


def untyped_crossings(function: typing.Callable) -> list[str]:
    hints = typing.get_type_hints(function)
    where = f"{function.__module__}.{function.__qualname__}"
    return [f"{where} {'returns' if name == 'return' else name}: {hint}" for name, hint in hints.items() if _holds_untyped(hint)]


def differential_public_functions() -> list[typing.Callable]:
    package = importlib.import_module(f"{PACKAGE}.differential")
    exported = [getattr(package, name) for name in package.__all__ if inspect.isfunction(getattr(package, name))]
    stages = [importlib.import_module(f"{PACKAGE}.{name}") for name in DIFFERENTIAL_STAGES]
    defined = [
        function
        for module in stages
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and function.__module__ == module.__name__
    ]
    return list(dict.fromkeys(exported + defined))


def test_no_dict_crosses_the_differentials_public_functions():
    functions = differential_public_functions()
    assert {"rank", "explain", "assess", "observe"} <= {function.__name__ for function in functions}
    crossings = [crossing for function in functions for crossing in untyped_crossings(function)]
    assert not crossings, "\n".join(crossings)


def test_the_dict_check_sees_a_dict_wherever_it_is_held():
    def planted(report: dict, ranking: list[dict] | None, kb: typing.Any) -> tuple[int, ...]:
        return ()

    assert [crossing.split(" ", 1)[1] for crossing in untyped_crossings(planted)] == [
        "report: <class 'dict'>",
        "ranking: list[dict] | None",
        "kb: typing.Any",
    ]


# Issue 16 point 3: report wording in the outputs. The stages that compute name what they found as typed
# findings (measurement/findings.py, spine/findings.py) and outputs/wording.py words them from
# data/wording.json; the wording layer
# comes after every computing stage (LAYERS), so none imports it, and only it reads the wording data.
# The levels section the spine stage builds (report_model's Levels) holds its findings typed as well
# (report_model.Worded), worded only when the report is written (test_the_levels_section_holds_no_words).
# Worded by design, not for want of typing: the differential's knowledge files carry the words its
# explanations quote (a feature's finding and meaning, why a test separates two diagnoses, why a history
# changes a prior), each written and reviewed beside its source in data/differential/*.json, as the
# knowledge itself is. The stage computes no sentence into them: every text they hold is one of those
# files' strings (test_knowledge_words_are_the_knowledge_files_own).
KNOWLEDGE_WORDED = {
    ("differential.rules", "Feature", "text"),
    ("differential.rules", "Fallback", "why"),
    ("differential.rules", "PriorModifier", "reason"),
    ("differential.rules", "SeparatingTest", "why"),
    ("differential.rules", "SetAside", "reason"),
}
WORDING_FIELDS = frozenset({"warning", "warnings", "why", "reason", "explanation", "unavailable", "message", "text"})
COMPUTING = ("measurement", "spine", "differential")


def _holds_text(hint: object) -> bool:
    return hint is str or any(_holds_text(arg) for arg in typing.get_args(hint))


def worded_fields(classes: list[type]) -> set[tuple[str, str, str]]:
    """(module, class, field) of each dataclass field named for words (a warning, a reason, an explanation)
    that holds text rather than a typed finding."""
    return {
        (cls.__module__.removeprefix(PACKAGE + "."), cls.__name__, name)
        for cls in classes
        for name, hint in typing.get_type_hints(cls).items()
        if name in WORDING_FIELDS and _holds_text(hint)
    }


def _computing_dataclasses() -> list[type]:
    modules = [importlib.import_module(f"{PACKAGE}.{name}") for name, module in MODULES.items() if LAYERS[module.layer][0] in COMPUTING]
    return [cls for module in modules for _, cls in inspect.getmembers(module, inspect.isclass) if cls.__module__ == module.__name__ and dataclasses.is_dataclass(cls)]


def test_the_computing_stages_name_findings_and_the_outputs_word_them():
    """The spine stage built its warnings as sentences (compression.assess: "no mass region: compression is
    judged from the cord's shape alone", ...); it gives typed findings now, worded by outputs/wording.py."""
    assert worded_fields(_computing_dataclasses()) == KNOWLEDGE_WORDED
    computing = [index for index, (layer, _) in enumerate(LAYERS) if layer in COMPUTING]
    assert MODULES["outputs.wording"].layer > max(computing)  # so `later_stage_imports` keeps them from it
    readers = {name for name, module in MODULES.items() for node in ast.walk(module.tree) if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "load" and node.args and getattr(node.args[0], "value", None) == "wording"}
    assert readers == {"outputs.wording"}

    @dataclasses.dataclass
    class Planted:
        warnings: list[str]
        reason: tuple[str, ...] | None
        levels: list[str]

    assert worded_fields([Planted]) == {(Planted.__module__, "Planted", "warnings"), (Planted.__module__, "Planted", "reason")}


def _model_classes_within(cls: type, seen: set[type]) -> set[type]:
    """`cls` and every dataclass its fields hold, however nested (tuples, unions, dicts)."""
    if cls in seen:
        return seen
    seen.add(cls)
    pending = list(typing.get_type_hints(cls).values())
    while pending:
        hint = pending.pop()
        pending.extend(typing.get_args(hint))
        if dataclasses.is_dataclass(hint) and hint not in seen:
            _model_classes_within(hint, seen)
    return seen


def test_the_levels_section_holds_no_words():
    """Issue 16 point 3's last piece: the spine stage builds the report's levels section (report_model's
    Levels) before the wording layer runs, and three of its fields were sentences written there
    (NotAssessed.reason, CordCompression.normalised_mscc_unavailable, BilskyEntry.explanation). Each is a
    typed finding now (report_model.Worded), worded by outputs/wording.py when the report is written."""
    model = importlib.import_module(f"{PACKAGE}.report_model")
    within = _model_classes_within(model.Levels, set())
    assert {model.NotAssessed, model.CordCompression, model.BilskyEntry, model.BilskyReading} <= within
    assert worded_fields(sorted(within, key=lambda cls: cls.__name__)) == set()


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, (tuple, list)):
        return [text for item in value for text in _strings(item)]
    return []


def _knowledge_words() -> dict[tuple[str, str, str], list[str]]:
    """Every text the loaded knowledge holds in a KNOWLEDGE_WORDED field, by (module, class, field)."""
    loaded = importlib.import_module(f"{PACKAGE}.differential.rules").knowledge()
    parts = [getattr(loaded, part.name) for part in dataclasses.fields(loaded)]
    held_objects = [item for part in parts for item in (part.values() if isinstance(part, dict) else part if isinstance(part, tuple) else (part,))]
    held: dict[tuple[str, str, str], list[str]] = {}
    for module, class_name, name in KNOWLEDGE_WORDED:
        cls = getattr(importlib.import_module(f"{PACKAGE}.{module}"), class_name)
        held[(module, class_name, name)] = [text for item in held_objects if isinstance(item, cls) for text in _strings(getattr(item, name))]
    return held


def _data_file_strings() -> set[str]:
    data = Path(importlib.import_module(PACKAGE).__file__).parent / "data" / "differential"
    return {text for path in sorted(data.glob("*.json")) for text in _strings(json.loads(path.read_text(encoding="utf-8")))}


def test_knowledge_words_are_the_knowledge_files_own():
    """The differential's worded fields are knowledge by design (KNOWLEDGE_WORDED): each holds only texts
    its data files give, none a sentence the stage composed from what it computed."""
    written = _data_file_strings()
    held = _knowledge_words()
    assert all(held.values()), {key: texts for key, texts in held.items() if not texts}  # each field is read from the knowledge
    composed = {key: [text for text in texts if text not in written] for key, texts in held.items()}
    assert not any(composed.values()), composed


# What issue 16's last part typed, where a plain dict was read by string key: the case's clinical
# context (checked once where the case is read), the knowledge's references, the healthy cord table, and
# the spine stage's levels section and morphology (built as the model, no longer read as it by the analysis).
TYPED_HOLDERS = (
    ("inputs.study", "Study", "clinical"),
    ("differential.rules", "Knowledge", "references"),
    ("settings", "NormativeCord", "levels"),
    ("settings", "SequenceNames", "roles"),
    ("spine.compression", "LevelsOutcome", "levels"),
    ("spine.compression", "LevelsOutcome", "morphology"),
)
TYPED_CROSSINGS = (
    ("inputs.study", "study_from_nodes"),
    ("inputs.casefolder", "read_clinical"),
    ("frontends.panel", "clinical_from_panel"),
    ("frontends.panel", "clinical_step"),
    ("outputs.citations", "full_citation"),
    ("spine.normative", "normative"),
    ("spine.compression", "levels_section"),
    ("spine.compression", "level_extent"),
    ("spine.compression", "not_assessed"),
    ("spine.compression", "cord_profile"),
    ("spine.compression", "_bilsky"),
    ("spine.compression", "_morphology"),
    ("spine.compression", "_not_assessed_warnings"),
    ("spine.levels", "LevelMap.reported"),
)
# Data files still read raw by a module, each for a reason: errors.py reads its two message limits before
# any InputError can be made; the differential checks its features against the vocabulary's names; the
# clinical terms are checked by their own reader (inputs.clinical.ClinicalTerms).
RAW_READS = {("errors", "limits"), ("differential.rules", "vocabulary"), ("inputs.clinical", "differential/clinical_terms")}


def _holds_raw_dict(hint: object) -> bool:
    """A plain dict or Any, or a mapping of them: `dict[str, Reference]` is typed, `dict[str, dict]` is not."""
    if hint is dict or hint is typing.Any:
        return True
    if typing.get_origin(hint) is dict:
        return not typing.get_args(hint) or _holds_raw_dict(typing.get_args(hint)[1])
    return any(_holds_raw_dict(arg) for arg in typing.get_args(hint))


def test_no_plain_dict_comes_back_where_the_contract_typed_it():
    held = [
        f"{module}.{kind}.{field}: {hint}"
        for module, kind, field in TYPED_HOLDERS
        if _holds_raw_dict(hint := typing.get_type_hints(getattr(importlib.import_module(f"{PACKAGE}.{module}"), kind))[field])
    ]
    crossing = [
        f"{module}.{name} {argument}: {hint}"
        for module, name in TYPED_CROSSINGS
        for argument, hint in typing.get_type_hints(_named(importlib.import_module(f"{PACKAGE}.{module}"), name)).items()
        if _holds_raw_dict(hint)
    ]
    assert not held + crossing, "\n".join(held + crossing)
    assert _holds_raw_dict(dict[str, dict]) and _holds_raw_dict(dict | None) and not _holds_raw_dict(dict[str, Module])


def test_the_measurement_hands_on_the_models_region_statistics():
    """Issue 16: each stage gives the report model's own types. measurement.regions kept a RegionStats
    of the same seven fields as the model's RegionStatistics, copied field by field by the analysis."""
    regions = importlib.import_module(f"{PACKAGE}.measurement.regions")
    model = importlib.import_module(f"{PACKAGE}.report_model")
    assert typing.get_type_hints(regions.RegionMeasurement)["stats"] == dict[str, model.RegionStatistics]
    assert typing.get_type_hints(regions.statistics)["return"] is model.RegionStatistics


def _named(module: object, dotted: str) -> object:
    """`Class.method` or a function of `module`."""
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def raw_data_reads(module: Module) -> set[tuple[str, str]]:
    """(module, data file) for each `load("<file>")` of the package's data that is not handed straight to
    its typed reader (`parse(Kind, load(...), ...)`)."""
    parsed = {id(argument) for node in ast.walk(module.tree) if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "parse" for argument in node.args}
    return {
        (module.name, node.args[0].value)
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "load" and node.args
        and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str) and id(node) not in parsed
    }


def test_every_data_file_is_read_through_its_typed_reader():
    """sequence_names.json (inputs/roles.py), normative_cord.json (spine/normative.py) and references.json
    (outputs/citations.py, frontends/panel.py and serve.py) were read as raw JSON by string key."""
    raw = set().union(*(raw_data_reads(module) for module in MODULES.values()))
    assert raw - RAW_READS == set()
    planted = Module("planted", ast.parse('a = load("normative_cord")["levels"]\nb = parse(Kind, load("levels"), "levels")'))
    assert raw_data_reads(planted) == {("planted", "normative_cord")}


# Every argparse parser of the package and the tools matches options whole: argparse's default takes an
# abbreviation (`--jso` for `--json`), so a typo ran with an option nobody named.
TOOLS = Path(__file__).resolve().parents[1] / "tools"


def abbreviating_parsers(name: str, tree: ast.AST) -> list[str]:
    """`name:line` of each `ArgumentParser(...)` built without `allow_abbrev=False`, and of each class
    derived from it that does not pass `allow_abbrev=False` to its base."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) == "ArgumentParser" and not _no_abbreviations(node):
            found.append(f"{name}:{node.lineno}")
        if isinstance(node, ast.ClassDef) and any(_called(base) == "ArgumentParser" for base in node.bases):
            calls = [call for call in ast.walk(node) if isinstance(call, ast.Call) and _called(call) == "__init__"]
            if not any(_no_abbreviations(call) for call in calls):
                found.append(f"{name}:{node.lineno}")
    return found


def _called(node: ast.AST) -> str | None:
    target = node.func if isinstance(node, ast.Call) else node
    return target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)


def _no_abbreviations(call: ast.Call) -> bool:
    return any(keyword.arg == "allow_abbrev" and isinstance(keyword.value, ast.Constant) and keyword.value.value is False for keyword in call.keywords)


def test_every_argument_parser_matches_options_whole():
    trees = {name: module.tree for name, module in MODULES.items()} | {f"tools/{path.name}": ast.parse(path.read_text(encoding="utf-8")) for path in TOOLS.glob("*.py")}
    assert sum(_called(node) == "ArgumentParser" for tree in trees.values() for node in ast.walk(tree) if isinstance(node, ast.Call)) >= 10
    assert [where for name, tree in trees.items() for where in abbreviating_parsers(name, tree)] == []
    planted = ast.parse("p = argparse.ArgumentParser(description='x')\nclass P(ArgumentParser):\n    def __init__(self):\n        super().__init__()\n")
    assert sorted(abbreviating_parsers("planted", planted)) == ["planted:1", "planted:2"]
    from EMHAssistLib.frontends.cli import OneLineParser, _parser

    parser = _parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    assert isinstance(parser, OneLineParser) and not parser.allow_abbrev
    assert {name for name, command in commands.choices.items() if command.allow_abbrev} == set()
