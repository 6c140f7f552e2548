"""EMHAssist checked against Slicer's own Python at every release in ../shared/slicer-host/.

Slicer's files are imported for real where they need no GUI (slicer_host.host_python stands in only
qt, ctk and slicer.i18n), so that Slicer's SegmentStatisticsLogic and SampleDataLogic call our code
on a real MRML scene; everything else is checked by parsing Slicer's files with `ast`: each call our
Slicer-side code makes into them must match the host's signature.
"""

import pytest
import ast
import json
import re
import subprocess
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from slicer_host import HOST, MODULE_DIR, HOST_FILES, HostDefinitions, host_modules, host_packages, host_python, is_static, python_for, releases, signature_of
from small_case import VALUES, roi_box, small_study

import slicer

from EMHAssistLib.errors import InputError
from EMHAssistLib.frontends.panel import (
    SR_AVAILABLE,
    SR_INSTALL,
    SR_UNAVAILABLE,
    TEACHING_CASE_FILE_TYPE,
    TEACHING_CASE_SUFFIX,
    sr_export_plan,
    teaching_case_in_file,
    teaching_case_sample,
    version_tuple,
)
from EMHAssistLib.teaching.cases import DEFAULT_CASE, build_study, study_into_scene
from EMHAssistLib.outputs.segment_statistics import ratio_keys, region_segmentation

RELEASES = releases()
SLICER_PLUGINS = ("LabelmapSegmentStatisticsPlugin", "ScalarVolumeSegmentStatisticsPlugin", "ClosedSurfaceSegmentStatisticsPlugin")


def test_the_host_folder_holds_the_supported_releases():
    assert RELEASES == ["v5.10.0", "v5.12.3"]


def ratios_segmentation(scene, roles=("T2",)):
    study = small_study(scene, roles=roles)
    volume = study.sequences[roles[0]]
    segmentation = region_segmentation(scene, volume, {region: roi_box(region) for region in ("mass", "cord", "muscle", "marrow")})
    return volume, segmentation


@contextmanager
def our_plugin_registered(host) -> Iterator[type]:
    """The host's SegmentStatisticsLogic class with our plugin registered as the module registers it;
    the class-wide registry is put back afterwards, so no other test sees our plugin."""
    from EMHAssistPlugins.SegmentStatisticsRatios import EMHAssistRatiosPlugin

    logic_class = host.SegmentStatistics.SegmentStatisticsLogic
    registered = list(logic_class.registeredPlugins)
    try:
        logic_class.registerPlugin(EMHAssistRatiosPlugin())
        yield logic_class
    finally:
        logic_class.registeredPlugins[:] = registered


@pytest.mark.parametrize("tag", RELEASES)
def test_slicers_segment_statistics_logic_computes_our_ratios_and_its_own_statistics(scene, tag):
    """Registered as the module registers it, the plugin is called by Slicer's own logic: its options
    widget is built (getMeasurementInfo for every key), its ratios come back for the mass segment with
    DICOM codes, and Slicer's own plugins still compute their statistics on every segment."""
    volume, segmentation = ratios_segmentation(scene)
    with host_python(tag) as host, our_plugin_registered(host) as logic_class:
        logic = logic_class()
        parameters = logic.getParameterNode()
        parameters.SetParameter("Segmentation", segmentation.GetID())
        parameters.SetParameter("ScalarVolume", volume.GetID())
        assert parameters.GetParameter("visibleSegmentsOnly") == "True"  # Slicer's default
        logic.computeStatistics()
        statistics = logic.getStatistics()
        mass = segmentation.GetSegmentation().GetSegmentIdBySegmentName("mass")
        assert set(statistics["SegmentIDs"]) == {segmentation.GetSegmentation().GetNthSegmentID(i) for i in range(4)}
        expected = VALUES["T2"]["mass"] / VALUES["T2"]["cord"]
        assert statistics[mass, "EMHAssistRatiosPlugin.mass/cord"] == pytest.approx(expected, rel=1e-6)
        info = statistics["MeasurementInfo"]["EMHAssistRatiosPlugin.mass/cord"]
        assert info["title"] == "mass/cord ratio" and info["name"] == "EMHAssist mass/cord"
        assert info["DICOM.UnitsCode"] == "CodeValue:1|CodingSchemeDesignator:UCUM|CodeMeaning:no units"
        assert info["DICOM.QuantityCode"].startswith("CodeValue:ratio|CodingSchemeDesignator:99EMHASSIST")
        for segment in statistics["SegmentIDs"]:
            assert statistics[segment, "ScalarVolumeSegmentStatisticsPlugin.voxel_count"] > 0
            assert statistics[segment, "LabelmapSegmentStatisticsPlugin.volume_mm3"] > 0
        columns, titles = logic.getColumnNamesTitles()
        assert columns["EMHAssistRatiosPlugin.mass/cord"] == "EMHAssist mass/cord"
        assert titles["EMHAssistRatiosPlugin.mass/cord"] == "mass/cord ratio"


@pytest.mark.parametrize("tag", RELEASES)
def test_slicers_own_plugins_compute_after_ours_is_registered(scene, tag):
    """A Segment Statistics logic created after our plugin is registered (any module's, any
    extension's) still computes Slicer's own statistics; ours adds nothing to unnamed segments."""
    volume, segmentation = ratios_segmentation(scene)
    with host_python(tag) as host, our_plugin_registered(host) as logic_class:
        other = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "liver")
        other.CreateDefaultDisplayNodes()
        other.GetSegmentation().CopySegmentFromSegmentation(segmentation.GetSegmentation(), "mass")
        other.GetSegmentation().GetSegment("mass").SetName("liver")
        logic = logic_class()
        logic.getParameterNode().SetParameter("Segmentation", other.GetID())
        logic.getParameterNode().SetParameter("ScalarVolume", volume.GetID())
        logic.computeStatistics()
        statistics = logic.getStatistics()
        assert statistics["mass", "ScalarVolumeSegmentStatisticsPlugin.mean"] == pytest.approx(VALUES["T2"]["mass"])
        assert not [key for key in statistics if isinstance(key, tuple) and key[1].startswith("EMHAssistRatiosPlugin.")]


@pytest.mark.parametrize("tag", RELEASES)
def test_our_plugin_implements_what_the_base_class_documents(tag):
    with host_python(tag) as host:
        from EMHAssistPlugins.SegmentStatisticsRatios import EMHAssistRatiosPlugin

        plugin = EMHAssistRatiosPlugin()
        assert isinstance(plugin, host.SegmentStatistics.SegmentStatisticsPluginBase)
        assert plugin.name and plugin.title
        assert plugin.keys == ratio_keys() and set(plugin.defaultKeys) <= set(plugin.keys)
        for key in plugin.keys:
            info = plugin.getMeasurementInfo(key)
            assert {"name", "title", "description", "units", "DICOM.QuantityCode", "DICOM.UnitsCode"} <= info.keys(), key
        assert plugin.getMeasurementInfo("volume_mm3") is None


# --- DICOM SR export against each release's packages --------------------------------------------


def test_the_host_package_lists_are_read():
    assert host_packages("v5.10.0") == {"python": "3.12.10", "numpy": "2.0.2", "pydicom": "2.4.4"}
    assert host_packages("v5.12.3")["pydicom"] == "3.0.2"


@pytest.mark.parametrize("tag", RELEASES)
def test_sr_export_never_replaces_a_package_slicer_ships(tag):
    """5.10 pins pydicom 2.4.4, which highdicom 0.28.2 cannot use: SR export is unavailable there, saying
    why; 5.12's pydicom 3.0.2 suits it: installed on request, with Slicer's versions as pip constraints."""
    packages = host_packages(tag)
    plan = sr_export_plan(packages)
    if version_tuple(packages["pydicom"]) < (3, 0, 1):
        assert plan.action == SR_UNAVAILABLE
        assert f"pydicom {packages['pydicom']} (needs 3.0.1 or later)" in plan.message
        assert "JSON or HTML" in plan.message and not plan.requirement
    else:
        assert plan.action == SR_INSTALL
        assert plan.requirement == "highdicom==0.28.2"
        assert plan.constraints.splitlines() == [f"pydicom=={packages['pydicom']}", f"numpy=={packages['numpy']}"]
    assert sr_export_plan(packages | {"highdicom": "0.28.2"}).action == SR_AVAILABLE


# --- The load path on the host's Python -------------------------------------------------------------
HOST_IMPORT = Path(__file__).with_name("host_import.py")
OUR_PACKAGES = {"EMHAssist", "EMHAssistLib", "EMHAssistPlugins", "EMHAssistSlicer"}
SLICER_58_PYTHON = "3.9"  # Slicer 5.8 shipped Python 3.9.10 (host folder README)


def import_as_slicer_does(python: Path, stood_in: list[str]) -> dict:
    """EMHAssist.py imported (and the Segment Statistics plugin, as at Slicer's startup) by `python`, in a
    fresh process, Slicer's own modules stood in; see host_import.py."""
    completed = subprocess.run(
        [str(python), "-I", str(HOST_IMPORT), str(MODULE_DIR), *stood_in],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return json.loads(completed.stdout)


@pytest.mark.parametrize("tag", RELEASES)
def test_every_file_compiles_and_the_load_path_imports_on_the_hosts_python(tag):
    """Everything Slicer imports when it loads the module (EMHAssist.py, the module, the engine, the
    plugin) imports under the host's Python version and pulls in only the standard library, our own
    packages and what the host ships."""
    python = python_for(host_packages(tag)["python"])
    files = sorted(str(path) for path in MODULE_DIR.rglob("*.py"))
    compiled = subprocess.run(
        [str(python), "-I", "-c", "import sys\nfor f in sys.argv[1:]: compile(open(f, encoding='utf-8').read(), f, 'exec')", *files],
        capture_output=True, text=True, timeout=120,
    )
    assert compiled.returncode == 0, compiled.stderr
    result = import_as_slicer_does(python, host_modules(tag))
    assert result["error"] is None, result["error"]
    assert {"EMHAssist", "EMHAssistWidget", "EMHAssistLogic", "EMHAssistTest", "EMHAssistFileReader"} <= set(result["defines"])
    foreign = set(result["imported"]) - set(result["stdlib"]) - OUR_PACKAGES - set(host_modules(tag))
    assert foreign == set(), f"the load path needs packages Slicer {tag} does not ship"


def test_slicer_58_gets_a_module_saying_which_releases_are_supported():
    """Slicer 5.8's Python 3.9 cannot evaluate the engine's annotations: instead of a traceback, a
    module of the same name whose panel names the supported releases, importing nothing else."""
    result = import_as_slicer_does(python_for(SLICER_58_PYTHON + ".0"), host_modules(RELEASES[0]))
    assert result["error"] is None, result["error"]
    assert result["defines"] == ["EMHAssist", "EMHAssistWidget"]
    assert "3D Slicer 5.10 and 5.12 (Python 3.12); this Slicer's Python is 3.9" in result["message"]
    assert set(result["imported"]) <= {"EMHAssist", "qt", "slicer"}


# --- CMake ----------------------------------------------------------------------------------------


def cmake_range(path: Path) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The (minimum, policy maximum) of a CMakeLists' cmake_minimum_required(VERSION min...max)."""
    match = re.search(r"cmake_minimum_required\(VERSION (\d+(?:\.\d+)*)(?:\.\.\.(\d+(?:\.\d+)*))?", path.read_text(encoding="utf-8"))
    low, high = match.group(1), match.group(2) or match.group(1)
    return tuple(map(int, low.split("."))), tuple(map(int, high.split(".")))


def test_cmake_minimum_is_what_every_supported_releases_template_asks():
    """One source builds against 5.10 (its template asks CMake 3.20.6) and 5.12 (3.28.0): the minimum is
    the lowest template's, the policy maximum the highest's."""
    templates = [cmake_range(HOST / tag / "Utilities/Templates/Extensions/Default/CMakeLists.txt") for tag in RELEASES]
    ours = cmake_range(MODULE_DIR.parent / "CMakeLists.txt")
    assert ours == (min(low for low, _ in templates), max(high for _, high in templates))


# --- Sample Data by script --------------------------------------------------------------------------


class IOManager:
    """Slicer's core IO manager as Sample Data uses it: loadNodes(fileType, properties, loaded) hands the
    file to the reader registered for the type, here our reader's stand-in (what EMHAssistFileReader.load
    does, without the module's parameter node: teaching_case_in_file, then the case built into the scene)."""

    def __init__(self, scene):
        self.scene = scene
        self.calls = []

    def loadNodes(self, fileType, properties, loadedNodes, userMessages=None):
        self.calls.append((fileType, dict(properties)))
        if fileType != TEACHING_CASE_FILE_TYPE:
            return False
        study = study_into_scene(build_study(teaching_case_in_file(properties["fileName"])), self.scene)
        for volume in study.sequences.values():
            loadedNodes.AddItem(volume)
        return True


@pytest.mark.parametrize("tag", RELEASES)
def test_a_script_loads_a_teaching_case_through_slicers_sample_data(scene, tag, tmp_path, monkeypatch):
    """Slicer's own SampleData.downloadSample(name) ignores customDownloader; registered as the module
    registers it, a teaching case is "downloaded" from the module's own case spec (a file:// URL) into
    Slicer's cache and handed to our reader's file type, which builds the case."""
    io = IOManager(scene)
    app = types.SimpleNamespace(testingEnabled=lambda: False, coreIOManager=lambda: io)
    monkeypatch.setattr(slicer, "app", app, raising=False)
    monkeypatch.setattr(slicer, "modules", types.SimpleNamespace(), raising=False)
    cache = tmp_path / "cache"
    scene.GetCacheManager().SetRemoteCacheDirectory(str(cache))
    with host_python(tag) as host:
        host.SampleData.SampleDataLogic.registerCustomSampleDataSource(**teaching_case_sample(DEFAULT_CASE, "EMHAssist.png"))
        first = host.SampleData.downloadSample(DEFAULT_CASE)
    [(file_type, properties)] = io.calls
    assert file_type == TEACHING_CASE_FILE_TYPE and properties["name"] == DEFAULT_CASE
    assert properties["fileName"] == f"{cache}/{DEFAULT_CASE}{TEACHING_CASE_SUFFIX}"
    assert first.IsA("vtkMRMLScalarVolumeNode") and first.GetScene() is scene
    assert scene.GetNumberOfNodesByClass("vtkMRMLMarkupsROINode") > 0


def test_a_file_naming_no_case_is_refused(tmp_path):
    stray = tmp_path / f"x{TEACHING_CASE_SUFFIX}"
    stray.write_text('{"id": "liver"}', encoding="utf-8")
    with pytest.raises(InputError, match="names no built-in case"):
        teaching_case_in_file(str(stray))
    assert teaching_case_in_file(teaching_case_sample(DEFAULT_CASE, "")["uris"][0].removeprefix("file://")) == DEFAULT_CASE


# --- Every call into Slicer's Python against the host's signatures -----------------------------------
HOST_MODULE_PREFIXES = {"slicer.util": "slicer.util", "SampleData": "SampleData", "ScreenCapture": "ScreenCapture", "SegmentStatistics": "SegmentStatistics"}
HOST_BASES = {
    "ScriptedLoadableModule", "ScriptedLoadableModuleWidget", "ScriptedLoadableModuleLogic", "ScriptedLoadableModuleTest",
    "SegmentStatisticsPluginBase", "VTKObservationMixin",
}


def our_slicer_side_files() -> list[Path]:
    """Every Python file of the module: all of it runs inside Slicer, with Slicer's slicer.util."""
    return sorted(path for path in MODULE_DIR.rglob("*.py") if "__pycache__" not in path.parts)


def host_callee(host, text: str):
    """The host def a dotted callee names ("slicer.util.loadScene", "SampleData.SampleDataLogic.x",
    "ScreenCapture.ScreenCaptureLogic().captureImageFromView", "ScriptedLoadableModule.__init__"), with
    whether it is called bound; None when the text names nothing of the host's; "missing" when it
    names a host module or class that lacks the name."""
    for prefix, module in HOST_MODULE_PREFIXES.items():
        if text.startswith(prefix + "."):
            parts = text[len(prefix) + 1:].split(".")
            break
    else:
        head, _, rest = text.partition(".")
        if head not in HOST_BASES or not rest:
            return None
        cls = host.find_class(head)
        method = host.method(cls, rest) if cls is not None and "." not in rest else None
        return (method, False) if method is not None else "missing"
    node = host.top_level(module, parts[0].removesuffix("()"))
    if node is None:
        return "missing"
    instance = parts[0].endswith("()")
    for part in parts[1:]:
        if not isinstance(node, ast.ClassDef):
            return None  # an attribute of a returned object: not followed
        method = host.method(node, part)
        if method is None:
            return "missing"
        return method, instance or not is_static(method)
    if isinstance(node, ast.ClassDef):
        init = host.method(node, "__init__")
        return (init, True) if init is not None else None
    return node, False


def call_problems(host, path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems = []
    host_classes = {
        cls.name: cls for cls in ast.walk(tree)
        if isinstance(cls, ast.ClassDef) and {ast.unparse(base).split(".")[-1] for base in cls.bases} & HOST_BASES
    }
    for cls in [None, *host_classes.values()]:
        scope = tree if cls is None else cls
        own = {node.name for node in cls.body if isinstance(node, ast.FunctionDef)} if cls is not None else set()
        bases = [host.find_class(ast.unparse(base).split(".")[-1]) for base in cls.bases] if cls is not None else []
        for call in (node for node in ast.walk(scope) if isinstance(node, ast.Call)):
            text = ast.unparse(call.func)
            where = f"{path.relative_to(MODULE_DIR)}:{call.lineno} {text}"
            if cls is not None and text.startswith("self.") and text.count(".") == 1:
                name = text[5:]
                found = [host.method(base, name) for base in bases if base is not None]
                found = [method for method in found if method is not None]
                if name in own or not found:
                    continue  # ours, or unittest's and Qt's (checked by running runTest in Slicer)
                resolved = (found[0], not is_static(found[0]))
            elif cls is None:
                resolved = host_callee(host, text)
            else:
                continue  # calls inside host-derived classes other than self.x(...) are seen at module level
            if resolved is None:
                continue
            if resolved == "missing":
                problems.append(f"{where}: not in Slicer {host.tag}")
                continue
            function, bound = resolved
            signature = signature_of(function, bound)
            spread = any(isinstance(arg, ast.Starred) for arg in call.args) or any(keyword.arg is None for keyword in call.keywords)
            args = [object()] * len([arg for arg in call.args if not isinstance(arg, ast.Starred)])
            kwargs = {keyword.arg: object() for keyword in call.keywords if keyword.arg is not None}
            try:
                (signature.bind_partial if spread else signature.bind)(*args, **kwargs)
            except TypeError as error:
                problems.append(f"{where}: {error} (Slicer {host.tag}: {function.name}{signature})")
    return problems


@pytest.mark.parametrize("tag", RELEASES)
def test_every_call_into_slicers_python_matches_the_hosts_signature(tag):
    """slicer.util, Sample Data, Screen Capture, Segment Statistics and the ScriptedLoadableModule and
    plugin base classes, as each supported release defines them."""
    host = HostDefinitions(tag)
    problems = [problem for path in our_slicer_side_files() for problem in call_problems(host, path)]
    assert problems == []


@pytest.mark.parametrize("tag", RELEASES)
def test_the_call_check_sees_our_calls_and_refuses_a_wrong_one(tag, tmp_path):
    host = HostDefinitions(tag)
    assert host_callee(host, "slicer.util.loadScene")[0].name == "loadScene"
    assert host_callee(host, "SampleData.SampleDataLogic.registerCustomSampleDataSource")[1] is False  # a staticmethod
    assert host_callee(host, "ScreenCapture.ScreenCaptureLogic().captureImageFromView")[1] is True
    assert host_callee(host, "slicer.util.noSuchHelper") == "missing"
    wrong = MODULE_DIR / "EMHAssistSlicer" / "_wrong_call_check.py"
    wrong.write_text(
        "import slicer\nfrom SegmentStatisticsPlugins import SegmentStatisticsPluginBase\n"
        "slicer.util.loadScene()\n"
        "class P(SegmentStatisticsPluginBase):\n"
        "    def getMeasurementInfo(self, key):\n"
        "        return self.createMeasurementInfo(name=key, description='', units='')\n",
        encoding="utf-8",
    )
    try:
        problems = call_problems(host, wrong)
    finally:
        wrong.unlink()
    assert len(problems) == 2
    assert "missing a required argument: 'filename'" in problems[0]
    assert "missing a required argument: 'title'" in problems[1]


@pytest.mark.parametrize("tag", RELEASES)
def test_imports_from_slicers_python_exist_in_the_host(tag):
    """Names our files import from slicer.util, slicer.ScriptedLoadableModule, slicer.parameterNodeWrapper
    and the Segment Statistics plugins package exist there; Sample Data accepts our registration's keywords."""
    host = HostDefinitions(tag)
    missing = []
    for path in our_slicer_side_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in HOST_FILES:
                missing += [f"{path.name}: {node.module}.{alias.name}" for alias in node.names if alias.name not in host.exported(node.module)]
    assert missing == []
    register = host.method(host.find_class("SampleDataLogic"), "registerCustomSampleDataSource")
    signature_of(register, bound=False).bind(**teaching_case_sample(DEFAULT_CASE, "icon.png"))


def test_a_teaching_case_file_giving_its_id_twice_is_refused_naming_it(tmp_path):
    """Read strictly, as every JSON input is: Python's reader kept the last 'id' without a word."""
    doubled = tmp_path / f"x{TEACHING_CASE_SUFFIX}"
    doubled.write_text(f'{{"id": "liver", "id": "{DEFAULT_CASE}"}}', encoding="utf-8")
    with pytest.raises(InputError, match="given twice") as caught:
        teaching_case_in_file(str(doubled))
    assert caught.value.subject == str(doubled)
    doubled.write_text('{"id": 7}', encoding="utf-8")
    with pytest.raises(InputError, match="'id' must name a built-in case, not 7"):
        teaching_case_in_file(str(doubled))
