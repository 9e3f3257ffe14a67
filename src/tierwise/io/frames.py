"""Tables a notebook user already holds: pandas, Polars, PyArrow, Ibis or Spark DataFrames.

:func:`as_arrow` is the one conversion every public function uses; :func:`frame_input` turns
such a table into a raw input for validation, with ``_row`` numbering its rows from 1 in the
order given.

Example
-------
>>> import pandas as pd
>>> as_arrow(pd.DataFrame({"customer_id": ["A"], "revenue": [1.5]})).column_names
['customer_id', 'revenue']
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow as pa

from ..engine import ROW, Engine
from ..errors import InputError

__all__ = ["as_arrow", "frame_input", "is_frame"]


def is_frame(obj: Any) -> bool:
    """True for a table object (not a path or URL)."""
    return not isinstance(obj, str | bytes) and not hasattr(obj, "__fspath__")


def _module(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def as_arrow(obj: Any, what: str = "table") -> pa.Table:
    """A pandas, Polars, PyArrow, Ibis or Spark DataFrame as an Arrow table.

    Raises
    ------
    InputError
        For anything else, naming what was given.
    """
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    mod = _module(obj)
    try:
        if mod == "pandas":
            return pa.Table.from_pandas(obj, preserve_index=False)
        if mod == "polars":
            if type(obj).__name__ == "LazyFrame":
                obj = obj.collect()
            return obj.to_arrow()
        if mod == "ibis":
            return obj.to_pyarrow()
        if mod == "pyspark":
            return obj.toArrow()
    except Exception as exc:
        raise InputError(f"{what}: could not convert the {type(obj).__name__}: {exc}") from exc
    if hasattr(obj, "__arrow_c_stream__"):
        return pa.table(obj)
    raise InputError(
        f"{what}: a {type(obj).__module__}.{type(obj).__name__} is not a table; give a file "
        "path, or a pandas, Polars, PyArrow, Ibis or Spark DataFrame"
    )


def frame_input(name: str, obj: Any, engine: Engine) -> Any:
    """A raw input (see :class:`tierwise.io.RawInput`) from a table held in memory.

    Columns keep their types; validation maps and checks them as it does a Parquet file's.
    The fingerprint is the SHA-256 of the table's Arrow IPC bytes.
    """
    from .readers import RawInput

    if engine.backend == "spark" and _module(obj) == "pyspark":
        # a Spark DataFrame on the Spark engine stays in Spark (no copy to the driver)
        t, digest = engine.from_spark_frame(obj, name)
        return RawInput(
            name=name,
            path=f"<{type(obj).__name__} {name}>",
            table=t,
            sha256=digest,
            fmt="frame",
            source_columns=[c for c in t.columns if c != ROW],
        )
    table = as_arrow(obj, name)
    # a column with no value at all has no type (pandas object columns of None): read as text
    for i, f in enumerate(table.schema):
        if pa.types.is_null(f.type):
            table = table.set_column(i, f.name, pa.nulls(table.num_rows, pa.string()))
    if ROW in table.column_names:
        raise InputError(f"{name}: the column name {ROW!r} is reserved", column=ROW)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    digest = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
    source_columns = list(table.column_names)
    numbered = table.append_column(ROW, pa.array(range(1, table.num_rows + 1), pa.int64()))
    t = engine.from_arrow(numbered, engine.fresh_name(f"frame_{name}"))
    return RawInput(
        name=name,
        path=f"<{type(obj).__name__} {name}>",
        table=t,
        sha256=digest,
        fmt="frame",
        source_columns=source_columns,
    )
