"""Columns of a customer-sized Arrow table as NumPy arrays, for the stages that work on them.

Examples
--------
>>> import pyarrow as pa
>>> t = pa.table({"b": [1, None], "s": ["x", None]})
>>> num_column(t, "a", "b").tolist()
[1.0, nan]
>>> text_column(t, "s").tolist(), text_column(t, "absent").tolist()
(['x', None], [None, None])
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["num_column", "text_column"]


def num_column(t: pa.Table, *names: str) -> np.ndarray:
    """The first of ``names`` the table has, as float64 (NaN where empty); all NaN if none."""
    for name in names:
        if name in t.column_names:
            col = pc.cast(t.column(name), pa.float64())
            return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    return np.full(t.num_rows, np.nan)


def text_column(t: pa.Table, name: str) -> np.ndarray:
    """A column as an object array of str (None where empty); all None when absent."""
    if name not in t.column_names:
        return np.full(t.num_rows, None, dtype=object)
    col = pc.cast(t.column(name), pa.string())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)
