"""The results table node: its content for a report, re-runs in place, and a .mrb round trip."""

import math
from dataclasses import asdict, replace

import numpy as np
import pytest
import slicer
import vtk
from golden_outputs import golden_report

from EMHAssistLib.errors import InputError
from EMHAssistLib.outputs.tables import NUMBER_COLUMNS, TEXT_COLUMNS, read_results_table, significant, write_results_table

SECTIONS = {
    "case": "table case",
    "regions": {
        "cord": {
            "T1": {"mean": 400.123456789, "median": 401.5, "sd": 20.0, "p5": 370.25, "p95": 431.0, "n": 400, "volume_mm3": 972.0},
            "T2": {"mean": 500.0, "median": 499.0, "sd": 25.0, "p5": 460.0, "p95": 540.0, "n": 625, "volume_mm3": 918.75},
        },
        "mass": {
            "T1": {"mean": 420.0, "median": 419.0, "sd": 30.0, "p5": 372.0, "p95": 470.0, "n": 900, "volume_mm3": 2187.0},
            "T2": {"mean": 150.0, "median": 151.0, "sd": 0.0, "p5": 150.0, "p95": 150.0, "n": 1, "volume_mm3": 0.5},
        },
    },
    "ratios": {
        "T1 mass/cord": {"value": 1.0496914, "ci95": [1.0301, 1.0692]},
        "T2 mass/cord": {"value": 0.3, "ci95": [0.29, 0.31]},
        "OP/IP mass": {"value": 0.61, "ci95": [0.55, 0.67]},
    },
    "enhancement": {"mass": {"value": 0.4, "ci95": [0.35, 0.45]}},
}
REPORT = golden_report(**SECTIONS)
COLUMN_NAMES = [column.name for column in TEXT_COLUMNS + NUMBER_COLUMNS]


def rounded(numbers: dict) -> dict:
    """A report entry as the table keeps it: every number to six significant digits."""
    return {
        key: [significant(x) for x in value] if isinstance(value, list) else significant(value)
        for key, value in numbers.items()
    }


def new_table(scene: slicer.vtkMRMLScene) -> slicer.vtkMRMLTableNode:
    return scene.AddNewNodeByClass("vtkMRMLTableNode", "EMHAssist results")


def column_values(table: slicer.vtkMRMLTableNode, name: str) -> list:
    column = table.GetTable().GetColumnByName(name)
    return [column.GetValue(row) for row in range(column.GetNumberOfTuples())]


def assert_same_tables(actual: slicer.vtkMRMLTableNode, expected: slicer.vtkMRMLTableNode) -> None:
    assert [actual.GetColumnName(i) for i in range(actual.GetNumberOfColumns())] == COLUMN_NAMES
    for column in TEXT_COLUMNS:
        assert column_values(actual, column.name) == column_values(expected, column.name)
    for column in NUMBER_COLUMNS:
        # Exact equality, NaN matching NaN: the .mrb round trip must not change a digit.
        np.testing.assert_array_equal(column_values(actual, column.name), column_values(expected, column.name))
        assert actual.GetColumnTitle(column.name) == expected.GetColumnTitle(column.name)
        assert actual.GetColumnType(column.name) == vtk.VTK_DOUBLE


def test_one_row_per_region_on_each_sequence_per_ratio_and_per_enhancement(scene):
    table = new_table(scene)
    write_results_table(REPORT, table)
    assert table.GetNumberOfRows() == 4 + 3 + 1
    assert column_values(table, "kind") == ["statistics"] * 4 + ["ratio"] * 3 + ["enhancement"]
    assert column_values(table, "sequence") == ["T1", "T2", "T1", "T2", "T1", "T2", "OP/IP", "T1C/T1"]
    assert column_values(table, "region") == ["cord", "cord", "mass", "mass", "mass/cord", "mass/cord", "mass", "mass"]
    assert [table.GetColumnType(column.name) for column in TEXT_COLUMNS] == [vtk.VTK_STRING] * 3
    assert table.GetColumnTitle("ci95_low") == "CI 95% low"
    assert table.GetColumnUnitLabel("volume_mm3") == "mm3"
    assert table.GetUseColumnTitleAsColumnHeader()
    assert table.GetLocked()
    assert table.GetAttribute("EMHAssist.case") == "table case"
    assert table.GetAttribute("EMHAssist.schema") == "emhassist.report/2"


def test_statistics_rows_carry_the_mean_with_its_interval_and_the_spread(scene):
    table = new_table(scene)
    write_results_table(REPORT, table)
    half_width = 1.959964 * 20.0 / math.sqrt(400)
    assert column_values(table, "value")[0] == significant(400.123456789) == 400.123
    assert column_values(table, "ci95_low")[0] == significant(400.123456789 - half_width)
    assert column_values(table, "ci95_high")[0] == significant(400.123456789 + half_width)
    assert column_values(table, "n")[:4] == [400, 625, 900, 1]
    single_voxel = [column_values(table, name)[3] for name in ("value", "ci95_low", "ci95_high")]
    assert single_voxel == [150.0, 150.0, 150.0]


def test_ratio_rows_leave_the_spread_columns_empty(scene):
    table = new_table(scene)
    write_results_table(REPORT, table)
    for name in ("median", "sd", "p5", "p95", "n", "volume_mm3"):
        assert all(math.isnan(value) for value in column_values(table, name)[4:])
    assert column_values(table, "value")[4:] == [significant(1.0496914), 0.3, 0.61, 0.4]


def test_reading_the_table_back_gives_the_report_to_six_significant_digits(scene):
    table = new_table(scene)
    write_results_table(REPORT, table)
    back = read_results_table(table)
    for region, by_role in SECTIONS["regions"].items():
        assert {role: asdict(stats) for role, stats in back.regions[region].items()} == {role: rounded(stats) for role, stats in by_role.items()}
        assert all(isinstance(stats.n, int) for stats in back.regions[region].values())
    for section in ("ratios", "enhancement"):
        assert {key: ratio.to_dict() for key, ratio in getattr(back, section).items()} == {
            key: rounded(ratio.to_dict()) for key, ratio in getattr(REPORT, section).items()
        }


def test_rewriting_the_same_node_replaces_its_rows(scene):
    table = new_table(scene)
    write_results_table(REPORT, table)
    first = read_results_table(table)
    write_results_table(REPORT, table)
    assert table.GetNumberOfColumns() == len(COLUMN_NAMES)
    assert table.GetNumberOfRows() == 8
    assert read_results_table(table) == first
    smaller = replace(REPORT, ratios={}, enhancement={})
    write_results_table(smaller, table)
    assert table.GetNumberOfRows() == 4
    assert read_results_table(table).ratios == {}


def test_an_empty_report_gives_the_columns_and_no_rows(scene):
    table = new_table(scene)
    write_results_table(replace(REPORT, regions={}, ratios={}, enhancement={}), table)
    assert table.GetNumberOfRows() == 0
    assert [table.GetColumnName(i) for i in range(table.GetNumberOfColumns())] == COLUMN_NAMES


def test_a_table_of_other_columns_is_refused(scene):
    table = new_table(scene)
    table.AddColumn().SetName("something")
    with pytest.raises(InputError, match="not an EMHAssist results table"):
        read_results_table(table)


@pytest.fixture
def loading_scene():
    """A scene that can read .mrb files: its application object, which owns the cache
    directory that .mrb reading unpacks into, must stay alive as long as the scene."""
    from trame_slicer.core import SlicerApp

    app = SlicerApp()
    yield app.scene
    del app


def test_a_scene_saved_as_mrb_reads_back_with_the_same_table(scene, loading_scene, tmp_path):
    table = new_table(scene)
    write_results_table(REPORT, table)
    bundle = tmp_path / "results.mrb"
    assert scene.WriteToMRB(str(bundle))
    assert loading_scene.ReadFromMRB(str(bundle))
    loaded = loading_scene.GetFirstNodeByName("EMHAssist results")
    assert loaded is not None and loaded.IsA("vtkMRMLTableNode")
    assert_same_tables(loaded, table)
    assert read_results_table(loaded) == read_results_table(table)
    assert loaded.GetLocked()
    assert loaded.GetAttribute("EMHAssist.case") == "table case"


def test_a_ratio_row_whose_cells_name_no_ratio_is_refused_naming_the_table(scene):
    table = new_table(scene)
    write_results_table(REPORT, table)
    table.GetTable().GetColumnByName("region").SetValue(4, "mass cord")
    with pytest.raises(InputError, match=r"^EMHAssist results: ratio .T1 mass cord. is neither"):
        read_results_table(table)
