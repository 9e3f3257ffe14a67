"""Tables a notebook user already holds: pandas, Polars, PyArrow, Ibis or Spark DataFrames.

:func:`as_arrow` is the one conversion every public function uses; :func:`frame_input` turns
such a table into a raw input for validation, with ``_row`` numbering its rows from 1 in the
order given.

A pandas index with a name is a column, as ``df.reset_index()`` would make it; an index
without a name (0, 1, 2, … or the row labels left by a filter) is not. A pandas ``object``
column that Arrow cannot hold as one type (ids partly numbers and partly text, a revenue of
floats with one ``"n/a"`` typed in, what ``pd.read_excel`` gives) is read as text, as a CSV
file is, so that validation rejects only the rows whose value cannot be used.

Example
-------
>>> import pandas as pd
>>> as_arrow(pd.DataFrame({"customer_id": ["A"], "revenue": [1.5]})).column_names
['customer_id', 'revenue']
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..engine import ROW, Engine
from ..errors import InputError

__all__ = ["as_arrow", "frame_input", "is_frame"]


def prospects_in(t: pa.Table) -> int:
    """How many rows of a customer table are prospects (``is_prospect`` true; none in a
    table without the column)."""
    if "is_prospect" not in t.column_names:
        return 0
    return int(pc.sum(pc.fill_null(t.column("is_prospect"), False)).as_py() or 0)


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
            return _from_pandas(obj, what)
        if mod == "polars":
            if type(obj).__name__ == "LazyFrame":
                obj = obj.collect()
            return obj.to_arrow()
        if mod == "ibis":
            return obj.to_pyarrow()
        if mod == "pyspark":
            return obj.toArrow()
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{what}: could not convert the {type(obj).__name__}: {exc}") from exc
    if hasattr(obj, "__arrow_c_stream__"):
        return pa.table(obj)
    raise InputError(
        f"{what}: a {type(obj).__module__}.{type(obj).__name__} is not a table; give a file "
        "path, or a pandas, Polars, PyArrow, Ibis or Spark DataFrame"
    )


def _from_pandas(df: Any, what: str) -> pa.Table:
    """A pandas DataFrame as Arrow: its named index levels as columns, its mixed ``object``
    columns as text."""
    import pandas as pd

    names = [str(c) for c in df.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(
            f"the DataFrame has more than one column named {twice[0]!r}",
            file=f"<DataFrame {what}>",
            column=twice[0],
            hint="rename or drop all but one of them",
        )
    keep = []
    for level, name in enumerate(df.index.names):
        if name is None:
            continue
        if str(name) in names:
            if df.index.get_level_values(level).equals(pd.Index(df[name])):
                continue  # a copy of the column (set_index(..., drop=False))
            raise InputError(
                f"the DataFrame's index {str(name)!r} and its column {str(name)!r} hold "
                "different values",
                file=f"<DataFrame {what}>",
                column=str(name),
                hint="rename one of them, or drop the index with df.reset_index(drop=True)",
            )
        keep.append(level)
    if keep:
        df = df.reset_index(level=keep)
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    df = df.copy(deep=False)
    for col in [c for c in df.columns if df[c].dtype == object]:
        try:
            pa.array(df[col], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            df[col] = df[col].map(_as_text, na_action="ignore").astype(object)
    return pa.Table.from_pandas(df, preserve_index=False)


def _as_text(value: Any) -> str | None:
    """A cell of a mixed column as a CSV file would hold it: ``42`` for an int and for a
    whole float a float holds exactly (``1001.0`` is ``1001``, as an Excel cell is read),
    the shortest digits for another float, ``None`` for a missing value."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
    return str(value)


def _check_loadable(table: pa.Table, name: str, shown: str) -> pa.Table:
    """Refuse, with what to do, column names the engine cannot tell apart and types it
    cannot hold; a decimal256 that fits 38 digits becomes a decimal128."""
    by_lower: dict[str, list[str]] = {}
    for col in table.column_names:
        by_lower.setdefault(col.lower(), []).append(col)
    for alike in by_lower.values():
        if len(alike) > 1:
            same = len(set(alike)) == 1
            raise InputError(
                f"the table has more than one column named {alike[0]!r}"
                if same
                else f"columns {' and '.join(map(repr, alike))} differ only in case, which "
                "the engine does not tell apart",
                file=shown,
                column=alike[-1],
                hint="rename or drop all but one of them" if same else "rename one of them",
            )
    for i, f in enumerate(table.schema):
        if isinstance(f.type, pa.ExtensionType):
            kind = f.type.extension_name
            hint = (
                f"convert it to timestamps first: df[{f.name!r}] = df[{f.name!r}].dt.to_timestamp()"
                if kind == "pandas.period"
                else "convert it to text, numbers or dates first"
            )
            raise InputError(
                f"a column of type {kind}, which tierwise cannot read",
                file=shown,
                column=f.name,
                hint=hint,
            )
        if pa.types.is_decimal256(f.type):
            if f.type.precision > 38:
                raise InputError(
                    f"a decimal of {f.type.precision} digits, more than the engine holds (38)",
                    file=shown,
                    column=f.name,
                    hint="cast it to float64, or to a decimal of at most 38 digits (decimal128)",
                )
            wanted = pa.decimal128(f.type.precision, f.type.scale)
            table = table.set_column(i, f.name, table.column(i).cast(wanted))
    return table


def frame_input(name: str, obj: Any, engine: Engine) -> Any:
    """A raw input (see :class:`tierwise.io.RawInput`) from a table held in memory.

    Columns keep their types; validation maps and checks them as it does a Parquet file's.
    The fingerprint is the SHA-256 of the table's Arrow IPC bytes.
    """
    from .readers import RawInput, _wall_clock

    if engine.backend == "spark" and _module(obj) == "pyspark":
        # a Spark DataFrame on the Spark engine stays in Spark (no copy to the driver)
        t, digest = engine.from_spark_frame(obj, name, session_clock=True)
        return RawInput(
            name=name,
            path=f"<{type(obj).__name__} {name}>",
            table=t,
            sha256=digest,
            fmt="frame",
            source_columns=[c for c in t.columns if c != ROW],
        )
    shown = f"<{type(obj).__name__} {name}>"
    table = _check_loadable(as_arrow(obj, name), name, shown)
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
    # a timestamp with a time zone gives the date its own zone showed, as in a Parquet file
    t = _wall_clock(t, table.schema, engine)
    return RawInput(
        name=name,
        path=shown,
        table=t,
        sha256=digest,
        fmt="frame",
        source_columns=source_columns,
    )
