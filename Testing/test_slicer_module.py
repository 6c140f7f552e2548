"""The Slicer module without Slicer: its files, CMake lists, .ui and module file checked statically,
and the node selections of its panel turned into a study against real MRML.

EMHAssist.py and the plugins need Qt, so they are read with `ast`, never imported.
"""

import ast
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import slicer

from EMHAssistLib.analysis import analyze
from EMHAssistLib.errors import InputError
from EMHAssistLib.geometry import Box
from EMHAssistLib.inputs.nodes import grid_of_volume
from EMHAssistLib.outputs import scene_writing
from EMHAssistLib.outputs.scene_writing import set_roi_box, set_segment_mask
from EMHAssistLib.inputs.study import region_names, sequence_roles, study_from_nodes
from EMHAssistLib.report_model import Clinical
from EMHAssistLib.teaching.cases import case_names

ROOT = Path(__file__).resolve().parents[1]
MODULE_DIR = ROOT / "EMHAssist"
LIB_DIR = MODULE_DIR / "EMHAssistLib"
PLUGINS_DIR = MODULE_DIR / "EMHAssistPlugins"
SLICER_DIR = MODULE_DIR / "EMHAssistSlicer"
MODULE_FILE = SLICER_DIR / "module.py"  # EMHAssist.py, the file Slicer loads, imports it on supported releases
UI_FILE = MODULE_DIR / "Resources" / "UI" / "EMHAssist.ui"
TEMPLATE_CLASSES = {
    "EMHAssist": "ScriptedLoadableModule",
    "EMHAssistParameterNode": None,
    "EMHAssistWidget": "ScriptedLoadableModuleWidget",
    "EMHAssistLogic": "ScriptedLoadableModuleLogic",
    "EMHAssistTest": "ScriptedLoadableModuleTest",
}
# The parameter node wrapper's GUI connectors match the widget class exactly (type(widget) == ...).
CONNECTED_WIDGET_TYPES = {"QSpinBox": "int", "QComboBox": "str", "QLineEdit": "str", "QCheckBox": "bool"}
MRML_WIDGET_CLASSES = ("qMRMLNodeComboBox", "qMRMLTableView", "qSlicerSimpleMarkupsWidget")


# --- CMake -------------------------------------------------------------------------------------


def cmake_list(path: Path, variable: str) -> list[str]:
    """The entries of `set(<variable> ...)`, with ${MODULE_NAME} expanded and comments dropped."""
    text = re.sub(r"#[^\n]*", "", path.read_text(encoding="utf-8"))
    match = re.search(rf"set\(\s*{variable}\s+([^)]*)\)", text)
    assert match, f"{path}: no set({variable} ...)"
    return [entry.replace("${MODULE_NAME}", "EMHAssist") for entry in match.group(1).split()]


def package_files() -> list[str]:
    """Every file of the module's Python packages (EMHAssistLib and EMHAssistPlugins), relative to the module."""
    return sorted(
        path.relative_to(MODULE_DIR).as_posix()
        for folder in (LIB_DIR, PLUGINS_DIR, SLICER_DIR)
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def test_every_package_python_file_is_a_cmake_script_and_every_data_file_a_resource():
    scripts = set(cmake_list(MODULE_DIR / "CMakeLists.txt", "MODULE_PYTHON_SCRIPTS"))
    resources = set(cmake_list(MODULE_DIR / "CMakeLists.txt", "MODULE_PYTHON_RESOURCES"))
    unlisted = [
        name for name in package_files() if name not in (scripts if name.endswith(".py") else resources)
    ]
    assert not unlisted, f"add to EMHAssist/CMakeLists.txt (else Slicer does not install them): {unlisted}"
    assert "EMHAssistPlugins/SegmentStatisticsRatios.py" in scripts


def test_cmake_lists_are_sorted_as_the_house_keeps_them():
    for variable in ("MODULE_PYTHON_SCRIPTS", "MODULE_PYTHON_RESOURCES"):
        entries = cmake_list(MODULE_DIR / "CMakeLists.txt", variable)
        packaged = [entry for entry in entries if entry.startswith(("EMHAssistLib/", "EMHAssistPlugins/", "EMHAssistSlicer/"))]
        assert packaged == sorted(packaged), variable


def test_every_cmake_entry_exists_and_has_its_kind():
    scripts = cmake_list(MODULE_DIR / "CMakeLists.txt", "MODULE_PYTHON_SCRIPTS")
    resources = cmake_list(MODULE_DIR / "CMakeLists.txt", "MODULE_PYTHON_RESOURCES")
    assert [entry for entry in scripts + resources if not (MODULE_DIR / entry).is_file()] == []
    assert all(entry.endswith(".py") for entry in scripts)
    assert not any(entry.endswith(".py") for entry in resources)
    assert "EMHAssist.py" in scripts
    assert {"Resources/UI/EMHAssist.ui", "Resources/Icons/EMHAssist.png"} <= set(resources)


@pytest.mark.parametrize("path", ["EMHAssist.py", "EMHAssistSlicer/module.py", "EMHAssistPlugins/__init__.py", "EMHAssistPlugins/SegmentStatisticsRatios.py"])
def test_qt_side_python_files_parse(path):
    source = (MODULE_DIR / path).read_text(encoding="utf-8")
    compile(source, str(MODULE_DIR / path), "exec")  # syntax only: these need Slicer's Qt to import


def test_module_cmake_builds_a_scripted_module_with_its_tests():
    text = (MODULE_DIR / "CMakeLists.txt").read_text(encoding="utf-8")
    assert re.search(r"slicerMacroBuildScriptedModule\(\s*NAME \$\{MODULE_NAME\}", text)
    assert re.search(r"slicerMacroBuildScriptedModule\([^)]*WITH_GENERIC_TESTS", text)
    assert re.search(r"if\(BUILD_TESTING\).*slicer_add_python_unittest\(SCRIPT \$\{MODULE_NAME\}\.py\)", text, re.S)
    assert (MODULE_DIR / "Testing" / "CMakeLists.txt").read_text(encoding="utf-8").strip() == "add_subdirectory(Python)"
    assert (MODULE_DIR / "Testing" / "Python" / "CMakeLists.txt").is_file()


def test_extension_cmake_has_the_template_form():
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    assert re.search(r"^project\(EMHAssist\)$", text, re.M)
    for variable in ("HOMEPAGE", "CONTRIBUTORS", "DESCRIPTION", "ICONURL", "SCREENSHOTURLS", "DEPENDS"):
        assert re.search(rf"^set\(EXTENSION_{variable} ", text, re.M), f"EXTENSION_{variable} is not set"
    order = ["find_package(Slicer REQUIRED)", "include(${Slicer_USE_FILE})", "add_subdirectory(EMHAssist)",
             "include(${Slicer_EXTENSION_GENERATE_CONFIG})", "include(${Slicer_EXTENSION_CPACK})"]
    positions = [text.find(line) for line in order]
    assert -1 not in positions and positions == sorted(positions)


@pytest.mark.parametrize("path", ["EMHAssist/Resources/Icons/EMHAssist.png", "Resources/Icons/EMHAssist.png"])
def test_icons_are_128_pixel_pngs(path):
    header = (ROOT / path).read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR"
    assert struct.unpack(">II", header[16:24]) == (128, 128)


# --- The .ui and the module file ---------------------------------------------------------------


@pytest.fixture(scope="module")
def module_tree() -> ast.Module:
    return ast.parse(MODULE_FILE.read_text(encoding="utf-8"), filename=str(MODULE_FILE))


@pytest.fixture(scope="module")
def ui_root() -> ET.Element:
    return ET.parse(UI_FILE).getroot()


def ui_widgets(ui_root: ET.Element) -> dict[str, ET.Element]:
    return {widget.get("name"): widget for widget in ui_root.iter("widget")}


def ui_parameter_names(ui_root: ET.Element) -> dict[str, str]:
    """Widget name -> the SlicerParameterName it is bound to."""
    return {
        widget.get("name"): widget.find("property[@name='SlicerParameterName']/string").text
        for widget in ui_root.iter("widget")
        if widget.find("property[@name='SlicerParameterName']") is not None
    }


def parameter_fields(module_tree: ast.Module) -> dict[str, str]:
    """Field name -> annotation source of the @parameterNodeWrapper class."""
    node = module_class(module_tree, "EMHAssistParameterNode")
    assert any(ast.unparse(decorator) == "parameterNodeWrapper" for decorator in node.decorator_list)
    return {
        statement.target.id: ast.unparse(statement.annotation)
        for statement in node.body
        if isinstance(statement, ast.AnnAssign)
    }


def module_constant(module_tree: ast.Module, name: str):
    """A top-level assignment of EMHAssist.py: a literal's value, else the source of its expression."""
    value = next(node.value for node in module_tree.body if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == name)
    try:
        return ast.literal_eval(value)
    except ValueError:
        return ast.unparse(value)


def module_class(module_tree: ast.Module, name: str) -> ast.ClassDef:
    found = [node for node in module_tree.body if isinstance(node, ast.ClassDef) and node.name == name]
    assert found, f"EMHAssist.py defines no class {name}"
    return found[0]


def module_function(module_tree: ast.Module, name: str):
    """A top-level function of EMHAssist.py with those it calls, compiled on their own (builtins only)."""
    definitions = {node.name: node for node in module_tree.body if isinstance(node, ast.FunctionDef)}
    called = {ast.unparse(call.func) for call in ast.walk(definitions[name]) if isinstance(call, ast.Call)}
    body = [definitions[other] for other in sorted(called & set(definitions))] + [definitions[name]]
    namespace: dict = {}
    exec(compile(ast.Module(body=body, type_ignores=[]), str(MODULE_FILE), "exec"), namespace)
    return namespace[name]


def test_module_file_defines_the_five_template_classes(module_tree):
    for name, base in TEMPLATE_CLASSES.items():
        node = module_class(module_tree, name)
        if base is not None:
            assert base in [ast.unparse(b) for b in node.bases], f"{name} does not derive from {base}"
    assert "VTKObservationMixin" in [ast.unparse(b) for b in module_class(module_tree, "EMHAssistWidget").bases]


def test_every_ui_name_the_widget_uses_exists_in_the_ui(module_tree, ui_root):
    used = {
        node.attr
        for node in ast.walk(module_tree)
        if isinstance(node, ast.Attribute) and ast.unparse(node.value) in ("self.ui", "widget.ui")
    }
    assert len(used) > 10, "EMHAssist.py uses few self.ui.<name>; the static check would prove little"
    assert sorted(used - set(ui_widgets(ui_root))) == []


def test_every_widget_named_by_role_or_region_exists_in_the_ui(module_tree, ui_root):
    widgets = ui_widgets(ui_root)
    region_widget = module_function(module_tree, "regionWidgetName")
    sequence_widget = module_function(module_tree, "sequenceWidgetName")
    expected = {region_widget(region, kind) for region in region_names() for kind in module_constant(module_tree, "REGION_ROW_WIDGETS")}
    expected |= {sequence_widget(role) for role in sequence_roles()}
    assert sorted(expected - set(widgets)) == []
    for region in region_names():
        assert widgets[region_widget(region, "PlaceButton")].get("class") == "QPushButton"
        assert widgets[region_widget(region, "StatusLabel")].get("class") == "QLabel"


def test_no_two_widgets_share_a_cell_of_a_layout(ui_root):
    """Qt Designer files are hand-edited here: two items in one row and column of a form or grid layout
    make Qt warn "Cell (3, 1) already occupied" and draw one widget over the other (the
    "Fill from volume names" button lay on the results table selector)."""
    taken: dict[tuple[str, int, int], str] = {}
    for layout in ui_root.iter("layout"):
        if layout.get("class") not in ("QFormLayout", "QGridLayout"):
            continue
        for item in layout.findall("item"):
            row, column = int(item.get("row", 0)), int(item.get("column", 0))
            held = item.find("widget") if item.find("widget") is not None else item.find("layout")
            name = held.get("name") if held is not None else "spacer"
            for spanned in range(column, column + int(item.get("colspan", 1))):
                cell = (layout.get("name"), row, spanned)
                assert cell not in taken, f"{name} and {taken[cell]} share row {row}, column {spanned} of {cell[0]}"
                taken[cell] = name


def test_group_boxes_filled_from_code_have_layouts(ui_root):
    widgets = ui_widgets(ui_root)
    for name in ("conditionsGroupBox", "findingsGroupBox", "differentialGroupBox"):
        assert widgets[name].get("class") == "QGroupBox" and widgets[name].find("layout") is not None, name


def test_every_slicer_parameter_name_is_a_parameter_node_field_and_back(module_tree, ui_root):
    bound = ui_parameter_names(ui_root)
    fields = parameter_fields(module_tree)
    unbound = module_constant(module_tree, "UNBOUND_PARAMETERS")
    assert sorted(set(bound.values()) - set(fields)) == []
    assert sorted(set(fields) - set(bound.values()) - set(unbound)) == [], "fields without a widget in the .ui"
    assert set(unbound) <= set(fields) and not set(unbound) & set(bound.values())
    assert len(set(bound.values())) == len(bound), "two widgets bound to one parameter"


def test_bound_plain_widgets_have_the_type_their_gui_connector_needs(module_tree, ui_root):
    fields = parameter_fields(module_tree)
    widgets = ui_widgets(ui_root)
    for widget_name, field in ui_parameter_names(ui_root).items():
        wanted = CONNECTED_WIDGET_TYPES.get(widgets[widget_name].get("class"))
        if wanted is not None:
            annotation = fields[field]
            assert annotation == wanted or annotation.startswith(f"Annotated[{wanted},"), f"{field}: {annotation}"
            if widgets[widget_name].get("class") == "QComboBox":
                assert "Choice(" in annotation, f"{field}: the combo box connector needs a Choice"


def test_parameter_fields_use_unions_the_wrapper_recognises(module_tree):
    # The wrapper's serializers and node connectors recognise typing.Union (a union of node types
    # ending in None), not `X | None`, which Python before 3.14 makes a different kind of union:
    # such a field fails when the module loads. Node fields are nullable as they are.
    fields = parameter_fields(module_tree)
    assert [field for field, annotation in fields.items() if "|" in annotation] == []
    alias = module_constant(module_tree, "RegionSourceNode")
    assert alias == "typing.Union[vtkMRMLMarkupsROINode, vtkMRMLSegmentationNode, None]"


def test_every_sequence_role_and_region_has_its_field_and_selector(module_tree, ui_root):
    fields = parameter_fields(module_tree)
    bound = ui_parameter_names(ui_root)
    widgets = ui_widgets(ui_root)
    sequence_field = module_function(module_tree, "sequenceParameterName")
    region_field = module_function(module_tree, "regionParameterName")
    expected = {sequence_field(role): ("vtkMRMLScalarVolumeNode", ["vtkMRMLScalarVolumeNode"]) for role in sequence_roles()}
    expected |= {region_field(region): ("RegionSourceNode", ["vtkMRMLMarkupsROINode", "vtkMRMLSegmentationNode"]) for region in region_names()}
    expected |= {
        "regionSegmentation": ("vtkMRMLSegmentationNode", ["vtkMRMLSegmentationNode"]),
        "levelPoints": ("vtkMRMLMarkupsFiducialNode", ["vtkMRMLMarkupsFiducialNode"]),
        "resultsTable": ("vtkMRMLTableNode", ["vtkMRMLTableNode"]),
    }
    for field, (annotation, node_types) in expected.items():
        assert fields.get(field) == annotation, f"{field}: {fields.get(field)}"
        [widget_name] = [name for name, parameter in bound.items() if parameter == field]
        widget = widgets[widget_name]
        assert widget.get("class") == "qMRMLNodeComboBox"
        assert [node_type.text for node_type in widget.find("property[@name='nodeTypes']").iter("string")] == node_types
        # Without "none", a selector picks the first node of its class: every role would get one volume.
        assert widget.find("property[@name='noneEnabled']/bool").text == "true"
    assert fields["report"] == "vtkMRMLTextNode"


def test_every_mrml_widget_receives_the_scene(ui_root):
    mrml_widgets = {widget.get("name") for widget in ui_root.iter("widget") if widget.get("class") in MRML_WIDGET_CLASSES}
    receivers = {
        connection.findtext("receiver")
        for connection in ui_root.iter("connection")
        if connection.findtext("sender") == "EMHAssist"
        and connection.findtext("signal") == "mrmlSceneChanged(vtkMRMLScene*)"
        and connection.findtext("slot") == "setMRMLScene(vtkMRMLScene*)"
    }
    assert "levelPointsWidget" in mrml_widgets
    assert sorted(mrml_widgets - receivers) == []
    assert ui_root.find("widget").get("class") == "qMRMLWidget"
    assert ui_root.find("widget").get("name") == "EMHAssist"


def test_results_view_shows_the_selected_results_table(ui_root):
    connections = {
        (c.findtext("sender"), c.findtext("signal"), c.findtext("receiver"), c.findtext("slot"))
        for c in ui_root.iter("connection")
    }
    assert (
        "resultsTableSelector", "currentNodeChanged(vtkMRMLNode*)", "resultsTableView", "setMRMLTableNode(vtkMRMLNode*)"
    ) in connections


def test_ui_has_its_sections_and_declares_its_custom_widgets(ui_root):
    widgets = ui_widgets(ui_root)
    # Slicer's module layout: results on top, then Inputs, Outputs, a closed Advanced, and the quiz last.
    sections = [widget.get("name") for widget in ui_root.find("widget").find("layout").iter("widget") if widget.get("class") == "ctkCollapsibleButton"]
    assert sections == [f"{name}CollapsibleButton" for name in ("results", "inputs", "outputs", "advanced", "quiz")]
    collapsed = {name for name in sections if widgets[name].find("property[@name='collapsed']/bool") is not None}
    assert collapsed == {"advancedCollapsibleButton", "quizCollapsibleButton"}
    for name in ("moreSequencesGroupBox", "editPointsGroupBox", "detailsGroupBox"):
        assert widgets[name].get("class") == "ctkCollapsibleGroupBox"
        assert widgets[name].find("property[@name='collapsed']/bool").text == "true", name
    assert widgets["applyButton"].get("class") == "QPushButton"
    assert widgets["applyButton"].find("property[@name='enabled']/bool").text == "false"
    assert widgets["resultsTableView"].get("class") == "qMRMLTableView"
    declared = {custom.findtext("class") for custom in ui_root.iter("customwidget")}
    assert {widget.get("class") for widget in widgets.values() if widget.get("class").startswith(("qMRML", "qSlicer", "ctk"))} <= declared


def test_module_test_runs_every_test_and_downloads_nothing(module_tree):
    test_class = module_class(module_tree, "EMHAssistTest")
    source = ast.unparse(test_class)
    assert "from EMHAssistLib.frontends.selftest import run_selftest" in source
    assert "run_selftest(slicer.mrmlScene)" in source
    text = MODULE_FILE.read_text(encoding="utf-8")
    # SampleData.downloadSample of a teaching case copies a local file (test_slicer_host.py runs it).
    assert not re.search(r"downloadFromURL|urlretrieve|https?://(?!github\.com/(Slicer|EMHAssist))", text)
    run_test = next(node for node in test_class.body if isinstance(node, ast.FunctionDef) and node.name == "runTest")
    called = [ast.unparse(node.func) for node in ast.walk(run_test) if isinstance(node, ast.Call)]
    test_methods = {
        f"self.{node.name}" for node in test_class.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }
    assert len(test_methods) >= 4 and test_methods <= set(called), "runTest() must run every test method"
    assert called.count("self.setUp") == len(test_methods), "each test starts from an empty scene"


def test_sample_data_registers_every_case_with_a_local_builder_and_plugins_register_at_startup(module_tree):
    register = next(node for node in module_tree.body if isinstance(node, ast.FunctionDef) and node.name == "registerSampleData")
    source = ast.unparse(register)
    assert "for name in case_names()" in source and "**teaching_case_sample(name, iconPath)" in source
    reader = ast.unparse(module_class(module_tree, "EMHAssistFileReader"))
    assert "return TEACHING_CASE_FILE_TYPE" in reader and "teaching_case_in_file(properties['fileName'])" in reader
    assert case_names(), "no teaching case to register"
    init = ast.unparse(module_class(module_tree, "EMHAssist"))
    for function in ("registerSampleData", "registerSegmentStatisticsPlugin"):
        assert f"slicer.app.connect('startupCompleted()', {function})" in init
    plugin = ast.unparse(next(node for node in module_tree.body if isinstance(node, ast.FunctionDef) and node.name == "registerSegmentStatisticsPlugin"))
    assert "except ImportError" in plugin, "Segment Statistics may be absent: registering must not fail then"


def test_segment_statistics_plugin_is_a_thin_adapter():
    tree = ast.parse((PLUGINS_DIR / "SegmentStatisticsRatios.py").read_text(encoding="utf-8"))
    [plugin] = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert [ast.unparse(base) for base in plugin.bases] == ["SegmentStatisticsPluginBase"]
    methods = {node.name for node in plugin.body if isinstance(node, ast.FunctionDef)}
    assert methods == {"__init__", "computeStatistics", "getMeasurementInfo"}
    imported = {alias.name for node in tree.body if isinstance(node, ast.ImportFrom) and node.module.startswith("EMHAssistLib") for alias in node.names}
    assert {"ratio_keys", "segment_ratios"} <= imported
    assert sum(isinstance(node, (ast.For, ast.While)) for node in ast.walk(plugin)) == 0, "no computation of its own"




def add_volume(scene, name):
    volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
    slicer.util.updateVolumeFromArray(volume, np.full((10, 10, 10), 100.0, dtype=np.float32))
    return volume


def add_roi(scene, name, centre=(4.0, 4.0, 4.0)):
    """A box holding the 3x3x3 voxel centres around `centre` (a default volume's IJK is RAS)."""
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", name)
    set_roi_box(roi, Box(np.array(centre, float), np.eye(3), np.full(3, 1.25)))
    return roi


def test_unselected_roles_are_left_out_and_selected_nodes_kept(scene):
    t1, t2 = add_volume(scene, "a"), add_volume(scene, "b")
    cord = add_roi(scene, "box")
    study = study_from_nodes("case", {"T1": t1, "T2": t2, "STIR": None}, {"cord": cord, "mass": None})
    assert study.name == "case"
    assert study.sequences == {"T1": t1, "T2": t2}
    assert list(study.regions) == ["cord"] and study.regions["cord"][0].node is cord
    assert study.levels is None and study.clinical == Clinical()


def test_segments_named_like_regions_join_the_rois(scene):
    t1 = add_volume(scene, "T1")
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "outlines")
    grid = grid_of_volume(t1)
    for name, corner in ((" Mass ", 0), ("cord", 5), ("not a region", 2)):
        segment_id = segmentation.GetSegmentation().AddEmptySegment("", name)
        mask = np.zeros(grid.shape, bool)
        mask[corner:corner + 3, corner:corner + 3, corner:corner + 3] = True
        set_segment_mask(segmentation, segment_id, mask, grid)
    cord_box = add_roi(scene, "cord box", centre=(1, 1, 1))
    levels = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "levels")
    study = study_from_nodes("case", {"T1": t1}, {"cord": cord_box}, segmentation=segmentation, levels=levels,
                             clinical=Clinical(age=60))
    assert sorted(study.regions) == ["cord", "mass"]
    assert [source.segment_id is None for source in study.regions["cord"]] == [True, False]
    assert [source.label for source in study.regions["mass"]] == ["outlines/ Mass "]
    assert study.levels is levels and study.clinical == Clinical(age=60)
    report = analyze(study)
    assert report.regions["mass"]["T1"].n == 27
    assert report.regions["cord"]["T1"].n == 27 + 27  # the segment's voxels and the box's, apart


def test_a_segmentation_without_region_segments_is_refused(scene):
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "other")
    segmentation.GetSegmentation().AddEmptySegment("", "liver")
    with pytest.raises(InputError, match="other: has no segment named cord, disc, marrow, mass, muscle"):
        study_from_nodes("case", {"T1": add_volume(scene, "T1")}, {}, segmentation=segmentation)


@pytest.mark.parametrize(("sequences", "rois", "message"), [
    ({"T3": None}, {}, "T3: is not a sequence role"),
    ({}, {"tumour": None}, "tumour: is not a region"),
])
def test_unknown_roles_and_regions_are_refused(sequences, rois, message):
    with pytest.raises(InputError, match=message):
        study_from_nodes("case", sequences, rois)


def segmentation_with(scene, volume, names):
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "outlines")
    grid = grid_of_volume(volume)
    for index, name in enumerate(names):
        segment_id = segmentation.GetSegmentation().AddEmptySegment("", name)
        mask = np.zeros(grid.shape, bool)
        mask[3 * index:3 * index + 2, 0:2, 0:2] = True
        set_segment_mask(segmentation, segment_id, mask, grid)
    return segmentation


def test_a_region_selector_may_hold_a_segmentation_its_named_or_only_segment_outlines_the_region(scene):
    t1 = add_volume(scene, "T1")
    both = segmentation_with(scene, t1, ["Mass", "cord"])
    single = segmentation_with(scene, t1, ["Segment_1"])
    study = study_from_nodes("case", {"T1": t1}, {"mass": both, "cord": both, "disc": single})
    labels = {region: [source.label for source in sources] for region, sources in study.regions.items()}
    assert labels == {"mass": ["outlines/Mass"], "cord": ["outlines/cord"], "disc": ["outlines/Segment_1"]}
    assert analyze(study).regions["disc"]["T1"].n == 8


def test_a_segmentation_with_several_unnamed_segments_is_refused_for_a_region(scene):
    t1 = add_volume(scene, "T1")
    two = segmentation_with(scene, t1, ["a", "b"])
    with pytest.raises(InputError, match="outlines: has 2 segments and none named marrow; name the marrow segment"):
        study_from_nodes("case", {"T1": t1}, {"marrow": two})


def test_quiz_section_binds_its_case_and_diagnosis_combo_boxes(module_tree, ui_root):
    widgets = ui_widgets(ui_root)
    bound = ui_parameter_names(ui_root)
    fields = parameter_fields(module_tree)
    assert bound["quizCaseComboBox"] == "quizCase" and bound["quizDiagnosisComboBox"] == "quizDiagnosis"
    assert fields["quizCase"] == "Annotated[str, Choice(quiz_case_labels())]"
    assert fields["quizDiagnosis"] == "Annotated[str, Choice(['', *diagnosis_names()])]"
    for name, widget_class in (("openQuizButton", "QPushButton"), ("revealButton", "QPushButton"),
                               ("quizStoryLabel", "QLabel"), ("quizResultLabel", "QLabel")):
        assert widgets[name].get("class") == widget_class, name
    # The reveal is enabled from code once a quiz is open and a diagnosis picked.
    assert widgets["revealButton"].find("property[@name='enabled']/bool").text == "false"
    test_names = [node.name for node in module_class(module_tree, "EMHAssistTest").body if isinstance(node, ast.FunctionDef)]
    assert "test_EMHAssistQuiz" in test_names
    run_test = next(node for node in module_class(module_tree, "EMHAssistTest").body if getattr(node, "name", "") == "runTest")
    assert "self.test_EMHAssistQuiz" in ast.unparse(run_test)


def method_sources(module_tree: ast.Module, class_name: str) -> dict[str, str]:
    return {node.name: ast.unparse(node) for node in module_class(module_tree, class_name).body if isinstance(node, ast.FunctionDef)}


def test_a_loaded_scene_brings_its_quiz_back_into_the_panel(module_tree):
    """The quiz's state is in the scene (teaching/quiz.py, tested on real MRML); the panel must look
    for it whenever it takes up a scene, record the pick in it, and show a revealed quiz's reveal again."""
    widget = method_sources(module_tree, "EMHAssistWidget")
    assert "slicer.mrmlScene.EndImportEvent, self.onSceneEndImport" in widget["setup"]
    assert "self.initializeParameterNode()" in widget["onSceneEndImport"]
    assert "self._restoreQuiz()" in widget["initializeParameterNode"]
    assert "self.logic.restoreQuiz(self._parameterNode)" in widget["_restoreQuiz"]
    assert "self._showReveal(quiz.reveal(quiz.picked))" in widget["_restoreQuiz"]
    assert "self.logic.recordQuizPick(self._parameterNode)" in widget["onParameterNodeModified"]
    logic = method_sources(module_tree, "EMHAssistLogic")
    assert "self.quiz = Quiz.in_scene(slicer.mrmlScene)" in logic["restoreQuiz"]
    assert "parameterNode.quizDiagnosis = diagnosis_name(self.quiz.picked)" in logic["restoreQuiz"]
    assert "self.quiz.pick(diagnosis_id(parameterNode.quizDiagnosis))" in logic["recordQuizPick"]
    # Slicer's own self-test saves and reloads the quiz mid-way and after the reveal.
    quiz_test = method_sources(module_tree, "EMHAssistTest")["test_EMHAssistQuiz"]
    assert quiz_test.count("slicer.util.saveScene(bundle)") == 2 and quiz_test.count("slicer.util.loadScene(bundle)") == 2


def test_the_panels_highdicom_requirement_is_the_pinned_one():
    """The panel installs highdicom into Slicer on request: the release the DICOM SR is tested with,
    and the minimum versions it states are the ones that release's Requires-Dist asks for."""
    import importlib.metadata

    from EMHAssistLib.knowledge import load

    spec = load("panel")["sr_export"]
    pinned = [line.strip() for line in (MODULE_DIR.parent / "requirements.txt").read_text().splitlines() if line.startswith("highdicom")]
    assert pinned == [f"{spec['package']}=={spec['version']}"] == [f"highdicom=={importlib.metadata.version('highdicom')}"]
    requires = {re.match(r"[\w-]+", line).group(0): line for line in importlib.metadata.requires("highdicom") if "extra ==" not in line}
    assert {name: f"{name}>={minimum}" for name, minimum in spec["needs"].items()} == {name: requires[name] for name in spec["needs"]}


def test_run_test_covers_what_a_slicer_user_relies_on(module_tree):
    """runTest() (Reload and Test, or slicer.selfTests['EMHAssist']()) goes through load, Apply and live
    update, overlays without taking the placement target, Segment Statistics with the plugin and Slicer's
    own module after it, Sample Data by script, export, and scene save and reload (docs/slicer.md)."""
    source = ast.unparse(module_class(module_tree, "EMHAssistTest"))
    for call in (
        "SampleData.downloadSample(DEFAULT_CASE)",
        "logic.update(parameterNode, live)",
        "selectionNode.GetActivePlaceNodeID()",
        "find_overlays(slicer.mrmlScene, study.name)",
        "parameters.SetParameter('EMHAssistRatiosPlugin.enabled', 'True')",
        "slicer.util.getModuleLogic('SegmentStatistics')",
        "write_json(",
        "write_html(",
        "sr_export_plan(",
        "slicer.util.saveScene(bundle)",
        "slicer.util.loadScene(bundle)",
    ):
        assert call in source, call


def test_the_input_selectors_hide_the_overlays(module_tree):
    """Every node combo box of the panel hides the overlay nodes (by ID, through Slicer's
    qMRMLSortFilterProxyModel.hiddenNodeIDs) each time results are shown."""
    widget = ast.unparse(module_class(module_tree, "EMHAssistWidget"))
    assert "slicer.util.findChildren(self.parent, className='qMRMLNodeComboBox')" in widget
    assert "selector.sortFilterProxyModel().hiddenNodeIDs = hidden" in widget
    assert "hidden = overlay_node_ids(slicer.mrmlScene)" in widget
    show_report = next(node for node in module_class(module_tree, "EMHAssistWidget").body if isinstance(node, ast.FunctionDef) and node.name == "_showReport")
    assert "self._hideOverlaysFromSelectors()" in ast.unparse(show_report)


def test_the_place_buttons_point_list_is_made_as_every_point_list(scene, monkeypatch):
    """The panel's Place buttons' empty node to place (`new_node_to_place`): named uniquely, with its
    display nodes; a point list is made by `new_point_list`, the one builder of point lists (before:
    `new_node_to_place` built its own)."""
    made = []
    builder = scene_writing.new_point_list
    monkeypatch.setattr(scene_writing, "new_point_list", lambda *args, **kwargs: made.append(args[1:]) or builder(*args, **kwargs))
    first = scene_writing.new_node_to_place(scene, "vtkMRMLMarkupsFiducialNode", "level anchor")
    second = scene_writing.new_node_to_place(scene, "vtkMRMLMarkupsFiducialNode", "level anchor")
    roi = scene_writing.new_node_to_place(scene, "vtkMRMLMarkupsROINode", "mass")
    assert made == [(first.GetName(),), (second.GetName(),)] and first.GetName() != second.GetName()
    assert first.IsA("vtkMRMLMarkupsFiducialNode") and roi.IsA("vtkMRMLMarkupsROINode") and roi.GetName() == "mass"
    assert all(node.GetDisplayNode() is not None and node.GetNumberOfControlPoints() == 0 for node in (first, second, roi))
