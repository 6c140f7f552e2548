"""Medians as numpy's `median` and `nanmedian` give them, bit for bit, without their per-call overhead.

The cord tracer takes a median on every slice it follows (its core signal, the circular median of
its rays, the judged profile's windows), a few thousand calls a levels step on a 512-section cord,
each on a few dozen values: there `np.median`'s dispatch, checks and `np.mean` of the middle pair
cost far more than the partition itself (0.28 s of the 1.86 s step under cProfile, bench_levels.py,
2026-12-08). Each function here reads the same middle values and adds and halves them in the same
type and order as numpy does, so the results are equal to the last bit (Testing/test_medians.py
compares them on random arrays with ties, infinities and nan).
"""

import numpy as np


def median_of(values: np.ndarray | list[float]) -> np.floating:
    """`np.median(values)` of a 1-D array or list: nan if any value is nan; the mean of the middle
    two in the values' float type (float64 for integers), as `np.mean` takes it."""
    array = np.asarray(values)
    if array.dtype.kind not in "f":
        array = array.astype(np.float64)  # np.median of integers is their float64 mean
    count = array.size
    if count == 0:
        return np.median(array)  # nan, with numpy's warning
    if np.isnan(array).any():
        return array.dtype.type(np.nan)
    half = count // 2
    if count % 2:
        return np.partition(array, half)[half]
    middle = np.partition(array, (half - 1, half))
    return (middle[half - 1] + middle[half]) / array.dtype.type(2)


def row_medians(rows: np.ndarray) -> np.ndarray:
    """`np.median(rows, axis=1)` of a 2-D float array with at least one column: each row's middle
    value, or the mean of its middle two; nan for a row holding a nan."""
    count = rows.shape[1]
    half = count // 2
    if count % 2:
        found = np.partition(rows, half, axis=1)[:, half].copy()
    else:
        middle = np.partition(rows, (half - 1, half), axis=1)
        found = (middle[:, half - 1] + middle[:, half]) / rows.dtype.type(2)
    found[np.isnan(rows).any(axis=1)] = np.nan
    return found


def column_nanmedians(columns: np.ndarray) -> np.ndarray:
    """`np.nanmedian(columns, axis=0)` of a 2-D float64 array of fewer than 600 rows (numpy's
    masked-array path): each column's median over its values that are not nan, the middle one or
    the mean of the middle two; nan for a column of nan alone (without numpy's warning)."""
    ordered = np.sort(columns, axis=0)  # nan last
    counts = np.sum(~np.isnan(columns), axis=0)
    high = counts // 2
    low = np.where(counts % 2 == 1, high, high - 1)
    picked = np.take_along_axis(ordered, np.stack([np.maximum(low, 0), high]).clip(max=len(ordered) - 1), axis=0)
    found = (picked[0] + picked[1]) / 2.0
    found[counts == 0] = np.nan
    return found
