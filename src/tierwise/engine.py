"""The dataframe engine: the one place that knows DuckDB from Spark.

Stage code builds Ibis expressions; this module creates the connection, registers inputs,
and executes expressions. The few operations whose spelling differs by engine (forgiving
date parsing, reading a file with its row numbers) live here as methods, so stage code stays
portable.

Example
-------
>>> import pyarrow as pa
>>> eng = Engine()
>>> t = eng.from_arrow(pa.table({"x": [1, 2, 3]}), "demo_x")
>>> eng.to_arrow(t.x.sum().name("total").as_table()).column("total")[0].as_py()
6
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from .errors import EngineError, SettingsError

__all__ = ["ROW", "Engine", "exact_sum"]

#: Name of the column that carries each input row's number as the user sees it.
ROW = "_row"

_names = itertools.count()

#: Sums of money and quantities are taken in exact decimal arithmetic (this many digits after
#: the point) and turned back into float64: a float sum depends on the order the engine's
#: threads add the lines in, so it could differ in the last bits from one run to the next.
_SUM_TYPE = dt.Decimal(38, 9)


def exact_sum(x: ir.NumericValue) -> ir.FloatingScalar:
    """Sum of a float column that does not depend on the order the engine adds the rows in.

    Examples
    --------
    >>> import pyarrow as pa
    >>> eng = Engine()
    >>> t = eng.from_arrow(pa.table({"x": [0.1, 0.2, 0.3]}))
    >>> eng.scalar(exact_sum(t.x))
    0.6
    """
    return x.cast(_SUM_TYPE).sum().cast("float64")


@ibis.udf.scalar.builtin(name="try_strptime")
def _duckdb_try_strptime(s: str, fmt: str) -> dt.timestamp:  # type: ignore[empty-body]
    """DuckDB's forgiving parser: NULL where the text does not match the format."""


@ibis.udf.scalar.builtin(name="try_to_timestamp")
def _spark_try_to_timestamp(s: str, fmt: str) -> dt.timestamp:  # type: ignore[empty-body]
    """Spark's forgiving parser: NULL where the text does not match the format."""


def _strftime_to_java(fmt: str) -> str:
    """Translate the strftime codes tierwise accepts into Spark's datetime pattern."""
    table = {
        "%Y": "yyyy",
        "%m": "MM",
        "%d": "dd",
        "%H": "HH",
        "%M": "mm",
        "%S": "ss",
        "%y": "yy",
        "%b": "MMM",
        "%B": "MMMM",
        "%f": "SSSSSS",
    }
    out, i = [], 0
    while i < len(fmt):
        code = fmt[i : i + 2]
        if code in table:
            out.append(table[code])
            i += 2
        else:
            ch = fmt[i]
            out.append(f"'{ch}'" if ch.isalpha() else ch)
            i += 1
    return "".join(out)


class Engine:
    """A connection to the dataframe engine.

    Parameters
    ----------
    backend
        ``"duckdb"`` (in-process, the default) or ``"spark"``.
    threads, memory_limit
        Engine resources; ``None`` keeps the engine's defaults.
    spark_session
        An existing SparkSession to use when ``backend="spark"``.
    """

    def __init__(
        self,
        backend: str = "duckdb",
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        spark_session: Any = None,
    ) -> None:
        self.backend = backend
        if backend == "duckdb":
            self.con = ibis.duckdb.connect()
            raw = self.con.con
            # deterministic row order for reads and inserts
            raw.execute("SET preserve_insertion_order = true")
            # tierwise shows its own progress; DuckDB's bar would mix into the output
            raw.execute("SET enable_progress_bar = false")
            if threads:
                raw.execute(f"SET threads = {int(threads)}")
            if memory_limit:
                raw.execute(f"SET memory_limit = '{memory_limit}'")
        elif backend == "spark":
            try:
                from pyspark.sql import SparkSession
            except ImportError as exc:  # pragma: no cover - depends on the extra
                raise SettingsError(
                    "engine = 'spark' needs PySpark: pip install 'tierwise[spark]'"
                ) from exc
            session = spark_session or (
                SparkSession.builder.master(f"local[{threads or '*'}]")
                .config("spark.sql.session.timeZone", "UTC")
                .getOrCreate()
            )
            self.con = ibis.pyspark.connect(session)
        else:
            raise SettingsError(f"[run] engine: unknown engine {backend!r} (use duckdb or spark)")

    # -- registering data -------------------------------------------------------------

    @staticmethod
    def fresh_name(prefix: str) -> str:
        return f"tw_{prefix}_{next(_names)}"

    def from_arrow(self, table: pa.Table, name: str | None = None) -> ir.Table:
        """Register an Arrow table in the engine (copied in) and return it as an Ibis table."""
        name = name or self.fresh_name("arrow")
        try:
            if self.backend == "duckdb":
                return self.con.create_table(name, table, temp=True, overwrite=True)
            # Spark: a temporary view over a DataFrame built from Arrow directly (nulls stay
            # nulls; through pandas a missing float became NaN, which Spark does not treat
            # as missing), and nothing written under ./spark-warehouse
            session = self.con._session
            session.createDataFrame(table).createOrReplaceTempView(name)
            return self.con.table(name)
        except Exception as exc:
            raise EngineError(f"could not load table {name!r} into the engine: {exc}") from exc

    def read_parquet(self, path: str | Path, *, with_row_numbers: bool = True) -> ir.Table:
        """Register a Parquet file (read lazily); ``_row`` is each record's 1-based number."""
        name = self.fresh_name("parquet")
        try:
            if self.backend == "duckdb":
                t = self.con.read_parquet(str(path), table_name=name, file_row_number=True)
                if with_row_numbers:
                    t = t.mutate(**{ROW: (t.file_row_number + 1).cast("int64")})
                return t.drop("file_row_number")
            t = self.con.read_parquet(str(path), table_name=name)
            if with_row_numbers:
                t = t.mutate(**{ROW: (ibis.row_number() + 1).cast("int64")})
            return t
        except Exception as exc:
            raise EngineError(f"{path}: could not read as Parquet: {exc}") from exc

    def read_duckdb_table(self, path: str | Path, table: str) -> ir.Table:
        """A table inside a DuckDB database file, with ``_row`` numbers (1-based)."""
        if self.backend != "duckdb":
            raise SettingsError("reading a DuckDB file needs engine = 'duckdb'")
        alias = self.fresh_name("db")
        self.con.attach(str(path), name=alias, read_only=True)
        schema, _, tname = table.rpartition(".")
        t = self.con.table(tname, database=(alias, schema or "main"))
        return t.mutate(**{ROW: (ibis.row_number() + 1).cast("int64")})

    def materialize(self, expr: ir.Table, name: str | None = None) -> ir.Table:
        """Compute ``expr`` once and keep the result in the engine (for tables used twice)."""
        name = name or self.fresh_name("cache")
        try:
            if self.backend == "duckdb":
                return self.con.create_table(name, expr, temp=True, overwrite=True)
            return expr.cache()
        except Exception as exc:
            raise EngineError(f"could not compute table {name!r}: {exc}") from exc

    # -- executing --------------------------------------------------------------------

    def to_arrow(self, expr: ir.Table, what: str = "table") -> pa.Table:
        """Execute an expression and return the result as an Arrow table."""
        try:
            return expr.to_pyarrow()
        except Exception as exc:
            raise EngineError(f"the engine failed computing {what}: {exc}") from exc

    def scalar(self, expr: ir.Scalar, what: str = "value") -> Any:
        """Execute a scalar expression and return the Python value."""
        try:
            return expr.to_pyarrow().as_py()
        except Exception as exc:
            raise EngineError(f"the engine failed computing {what}: {exc}") from exc

    def count(self, expr: ir.Table, what: str = "rows") -> int:
        return int(self.scalar(expr.count(), what))

    @contextmanager
    def session(self) -> Iterator[Engine]:
        try:
            yield self
        finally:
            self.close()

    def close(self) -> None:
        try:
            if self.backend == "duckdb":
                self.con.disconnect()
        except Exception:  # pragma: no cover - closing is best effort
            pass

    # -- engine-specific spellings ------------------------------------------------------

    def try_parse_date(self, text: ir.StringValue, fmt: str) -> ir.DateValue:
        """Parse text with a strftime format; NULL where it does not match."""
        if self.backend == "duckdb":
            return _duckdb_try_strptime(text, fmt).date()
        return _spark_try_to_timestamp(text, _strftime_to_java(fmt)).date()

    def first_by(self, arg: ir.FloatingValue, key: ir.Value) -> ir.FloatingScalar:
        """The aggregate of ``arg`` at the row with the smallest ``key`` in each group.

        Spelt ``min_by`` (a hash aggregate in both DuckDB and Spark); Ibis's own ``argmin``
        becomes an ordered ``FIRST(... ORDER BY ...)`` on DuckDB, several times slower.

        Examples
        --------
        >>> import datetime as _d, pyarrow as pa
        >>> eng = Engine()
        >>> t = eng.from_arrow(pa.table({"v": [5.0, 7.0], "d": [_d.date(2024, 2, 1),
        ...                                                    _d.date(2024, 1, 1)]}))
        >>> eng.scalar(eng.first_by(t.v, t.d))
        7.0
        """

        @ibis.udf.agg.builtin(name="min_by")
        def _min_by(arg: float, key: dt.date) -> float:  # type: ignore[empty-body]
            """``arg`` at the smallest ``key``."""

        return _min_by(arg, key)  # type: ignore[no-any-return]
