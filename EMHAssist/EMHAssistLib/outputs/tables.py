"""The report's numbers as an MRML table node, so results live in the scene and save with it.

One row per region measured on a sequence (`kind` "statistics": the mean with its 95 % interval,
plus the spread), one per signal-intensity ratio and one per region's enhancement. Columns not
meaningful for a row hold NaN. Values are kept to six significant digits: Slicer's table
storage writes no more, so a scene saved and loaded again holds exactly the same table.
"""

import math
from dataclasses import dataclass

import slicer
import vtk

from ..errors import InputError
from ..report_model import Ratio, RatioKey, RegionStatistics, Report
from ..settings import measurement_settings

SIGNIFICANT_DIGITS = 6
STATISTICS, RATIO, ENHANCEMENT = "statistics", "ratio", "enhancement"
STATISTIC_NAMES = ("median", "sd", "p5", "p95", "n", "volume_mm3")


@dataclass(frozen=True)
class Column:
    name: str  # what code looks columns up by; never translated
    title: str
    description: str
    unit: str = ""


TEXT_COLUMNS = (
    Column("kind", "Kind", "statistics of a region on a sequence, a ratio of two means, or an enhancement"),
    Column("sequence", "Sequence", "sequence role, or post/pre sequence pair"),
    Column("region", "Region", "region, or numerator/denominator regions"),
)
NUMBER_COLUMNS = (
    Column("value", "Value", "mean signal, ratio of means, or enhancement (post/pre - 1)"),
    Column("ci95_low", "CI 95% low", "lower bound of the 95 % confidence interval of the value"),
    Column("ci95_high", "CI 95% high", "upper bound of the 95 % confidence interval of the value"),
    Column("median", "Median", "median signal (statistics rows)"),
    Column("sd", "SD", "standard deviation of the signal (statistics rows)"),
    Column("p5", "P5", "5th percentile of the signal (statistics rows)"),
    Column("p95", "P95", "95th percentile of the signal (statistics rows)"),
    Column("n", "Voxels", "number of voxels measured (statistics rows)"),
    Column("volume_mm3", "Volume", "volume of the voxels measured (statistics rows)", "mm3"),
)


def write_results_table(report: Report, table: slicer.vtkMRMLTableNode) -> None:
    """Replace the table's content with the report's statistics, ratios and enhancement."""
    rows = _statistics_rows(report) + _ratio_rows(report) + _enhancement_rows(report)
    modifying = table.StartModify()
    table.RemoveAllColumns()
    for column in TEXT_COLUMNS:
        _add_column(table, column, vtk.vtkStringArray(), [row[column.name] for row in rows])
    for column in NUMBER_COLUMNS:
        values = [significant(row.get(column.name, math.nan)) for row in rows]
        _add_column(table, column, vtk.vtkDoubleArray(), values)
    table.SetUseColumnTitleAsColumnHeader(True)
    table.SetLocked(True)  # results are recomputed, never edited by hand
    table.SetAttribute("EMHAssist.schema", report.schema)
    table.SetAttribute("EMHAssist.case", report.case)
    table.EndModify(modifying)


@dataclass(frozen=True)
class TableContent:
    """What a results table holds, as the report's own types (to the table's six significant digits)."""

    regions: dict[str, dict[str, RegionStatistics]]
    ratios: dict[RatioKey, Ratio]
    enhancement: dict[str, Ratio]


def read_results_table(table: slicer.vtkMRMLTableNode) -> TableContent:
    """The table's rows back as the report's region statistics, ratios and enhancement."""
    content = TableContent(regions={}, ratios={}, enhancement={})
    for row in _rows(table):
        if row["kind"] == STATISTICS:
            stats = {"mean": row["value"]} | {name: row[name] for name in STATISTIC_NAMES}
            if not stats["n"].is_integer():
                raise InputError(table.GetName(), f"{row['region']} on {row['sequence']}: a voxel count of {stats['n']}; not an EMHAssist results table of this version")
            stats["n"] = int(stats["n"])
            content.regions.setdefault(row["region"], {})[row["sequence"]] = RegionStatistics(**stats)
        elif row["kind"] == RATIO:
            content.ratios[_ratio_key(table, row)] = _interval(row)
        elif row["kind"] == ENHANCEMENT:
            content.enhancement[row["region"]] = _interval(row)
    return content


def significant(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def _statistics_rows(report: Report) -> list[dict]:
    z = measurement_settings().ci_z
    rows = []
    for region, by_role in report.regions.items():
        for role, stats in by_role.items():
            half_width = z * stats.sd / math.sqrt(stats.n)
            rows.append({
                "kind": STATISTICS, "sequence": role, "region": region, "value": stats.mean,
                "ci95_low": stats.mean - half_width, "ci95_high": stats.mean + half_width,
            } | {name: getattr(stats, name) for name in STATISTIC_NAMES})
    return rows


def _ratio_rows(report: Report) -> list[dict]:
    rows = []
    for key, ratio in report.ratios.items():
        rows.append(_interval_row(RATIO, key.sequence_label, key.region_label, ratio))
    return rows


def _ratio_key(table: slicer.vtkMRMLTableNode, row: dict) -> RatioKey:
    """A ratio row's key, from its two text cells (a table saved with a scene is read back as text)."""
    try:
        return RatioKey.parse(f"{row['sequence']} {row['region']}")
    except ValueError as error:
        raise InputError(table.GetName(), str(error)) from None


def _enhancement_rows(report: Report) -> list[dict]:
    roles = measurement_settings().enhancement
    sequence = f"{roles.post}/{roles.pre}"
    return [_interval_row(ENHANCEMENT, sequence, region, value) for region, value in report.enhancement.items()]


def _interval_row(kind: str, sequence: str, region: str, ratio: Ratio) -> dict:
    low, high = ratio.ci95
    return {"kind": kind, "sequence": sequence, "region": region, "value": ratio.value, "ci95_low": low, "ci95_high": high}


def _interval(row: dict) -> Ratio:
    return Ratio(row["value"], (row["ci95_low"], row["ci95_high"]))


def _add_column(table: slicer.vtkMRMLTableNode, column: Column, array: vtk.vtkAbstractArray, values: list) -> None:
    array.SetName(column.name)
    for value in values:
        array.InsertNextValue(value)
    table.AddColumn(array)
    table.SetColumnTitle(column.name, column.title)
    table.SetColumnDescription(column.name, column.description)
    if column.unit:
        table.SetColumnUnitLabel(column.name, column.unit)


def _rows(table: slicer.vtkMRMLTableNode) -> list[dict]:
    content = table.GetTable()
    columns = {}
    for column in TEXT_COLUMNS + NUMBER_COLUMNS:
        array = content.GetColumnByName(column.name)
        if array is None:
            raise InputError(table.GetName(), f"is not an EMHAssist results table (no column {column.name!r})")
        columns[column.name] = array
    numbers = {column.name for column in NUMBER_COLUMNS}
    return [
        {name: _number(table, index, name, array.GetValue(index)) if name in numbers else array.GetValue(index) for name, array in columns.items()}
        for index in range(table.GetNumberOfRows())
    ]


def _number(table: slicer.vtkMRMLTableNode, index: int, column: str, value: object) -> float:
    """A number cell as a float: a table saved by another version or edited by hand may hold text there."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(table.GetName(), f"row {index + 1}: {column} is not a number ({str(value)[:40]!r}); not an EMHAssist results table of this version") from None
