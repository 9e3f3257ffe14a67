"""The Python API: the whole run and each stage as a function, for notebooks and scripts.

Every function takes its inputs as file paths or as tables already in memory (pandas,
Polars, PyArrow, Ibis or Spark DataFrames), validates them exactly as ``tierwise run`` does
(rows that cannot be used are returned with their reason, never silently dropped), and
returns Arrow tables.

Example
-------
>>> import pandas as pd
>>> import tierwise
>>> tx = pd.DataFrame({"customer_id": ["A", "A", "B"],
...                    "date": ["2024-01-05", "2024-03-01", "2024-02-10"],
...                    "revenue": [120.0, 80.0, 45.0]})
>>> res = tierwise.features(transactions=tx)
>>> res.customers.select(["customer_id", "n_orders", "revenue"]).to_pydict()
{'customer_id': ['A', 'B'], 'n_orders': [2, 1], 'revenue': [200.0, 45.0]}
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import registry
from .engine import ROW, Engine
from .errors import SettingsError
from .pipeline import RunResult, run_pipeline
from .registry import StageResult
from .settings import INPUT_TABLES, Settings

__all__ = ["ValidationResult", "run", "run_stage", "validate"]


def _inputs(settings: Settings | None, **tables: Any) -> dict[str, Any]:
    """The inputs given, and for each one not given (None) the ``[table] path`` of the
    settings, as ``tierwise run --config`` takes them (:func:`tierwise.load_settings` reads a
    relative path as relative to the settings file)."""
    unknown = [k for k in tables if k not in INPUT_TABLES]
    if unknown:
        raise TypeError(f"unknown input {unknown[0]!r}; inputs are {', '.join(INPUT_TABLES)}")
    given = {k: v for k, v in tables.items() if v is not None}
    if settings is not None:
        for name in INPUT_TABLES:
            path = settings.table_input(name).path
            if name not in given and path:
                given[name] = str(path)
    return given


def run(
    transactions: Any,
    customers: Any = None,
    activities: Any = None,
    payments: Any = None,
    prospects: Any = None,
    reps: Any = None,
    market: Any = None,
    *,
    settings: Settings | None = None,
    out: str | Path | None = None,
    as_of: dt.date | str | np.datetime64 | None = None,
    previous: str | Path | None = None,
    engine: Engine | None = None,
    spark_session: Any = None,
    keep_details: bool = True,
) -> RunResult:
    """Run every stage, as ``tierwise run`` does; write the output folder when ``out`` is
    given.

    An input given as None (``transactions`` too) is read from the settings' ``[table]
    path`` when it names one, as ``tierwise run --config`` reads it:
    ``run(None, settings=load_settings("tierwise.toml"))`` runs on the files the settings
    name, relative to the settings file.

    ``engine`` reuses an engine; ``spark_session`` runs on that SparkSession (a notebook's);
    Spark DataFrames as inputs run on their own session unless ``[run] engine = "duckdb"``
    is set. By default the engine is the one ``[run]`` asks for. ``keep_details=False``
    frees each stage's ``detail`` once no later stage reads it (the results then carry
    ``detail=None``, and ``customers=None`` where the customer table holds a copy of those
    columns), as ``tierwise run`` does: less memory on large data. With ``out`` as well,
    each stage's output tables are written when the stage ends and freed (``tables`` then
    holds those the report and plan read; the others are in the folder).

    Returns
    -------
    RunResult
        ``customers`` (the customer table), ``tables`` (every output table by name; with
        ``keep_details=False`` and ``out``, those the report and plan read), ``results``
        (each stage's result), ``rejects`` and ``manifest``.
    """
    inputs = _inputs(
        settings,
        transactions=transactions,
        customers=customers,
        activities=activities,
        payments=payments,
        prospects=prospects,
        reps=reps,
        market=market,
    )
    with _engine(engine, spark_session) as eng:
        return run_pipeline(
            inputs,
            settings,
            out_dir=out,
            as_of=_as_of(as_of),
            engine=eng,
            previous=previous,
            keep_details=keep_details,
        )


def _as_of(value: Any) -> dt.date | None:
    """``as_of`` as a date: a ``datetime.date``, a ``datetime`` or ``pd.Timestamp`` (its
    date), a ``numpy.datetime64``, or ISO text such as ``"2024-06-30"``.

    Raises
    ------
    SettingsError
        For anything else, naming the forms taken.
    """
    if value is None:
        return None
    day: object = None
    try:
        if isinstance(value, dt.datetime):
            day = value.date()
        elif isinstance(value, dt.date | np.datetime64):
            day = value if isinstance(value, dt.date) else value.astype("datetime64[D]").item()
        elif isinstance(value, str):
            day = dt.datetime.fromisoformat(value.strip()).date()
    except (ValueError, OverflowError):
        pass
    if type(day) is dt.date:  # not NaT, which passes for a datetime
        return day
    raise SettingsError(
        f"as_of: {value!r} is not a date; give a datetime.date such as "
        "datetime.date(2024, 6, 30), a datetime, a pandas Timestamp, a numpy datetime64 or "
        'ISO text such as "2024-06-30"'
    )


@contextlib.contextmanager
def _engine(engine: Engine | None, spark_session: Any) -> Iterator[Engine | None]:
    """The engine given, one on the SparkSession given (closed after), or None (the run
    makes the one its settings ask for)."""
    if engine is not None or spark_session is None:
        yield engine
        return
    eng = Engine("spark", spark_session=spark_session)
    with eng.session():
        yield eng


def run_stage(
    name: str,
    transactions: Any,
    *,
    settings: Settings | None = None,
    as_of: dt.date | str | np.datetime64 | None = None,
    engine: Engine | None = None,
    spark_session: Any = None,
    **tables: Any,
) -> StageResult:
    """Run one stage (and the stages it depends on) and return its result.

    Parameters
    ----------
    name
        A stage name (:func:`tierwise.registry.stages`).
    transactions, tables
        The inputs, by input name (``customers=…``, ``activities=…``, …).
    """
    inputs = _inputs(settings, transactions=transactions, **tables)
    with _engine(engine, spark_session) as eng:
        res = run_pipeline(inputs, settings, as_of=_as_of(as_of), engine=eng, stages=(name,))
    if name not in res.results:
        reason = res.manifest.get(name, {}).get("skipped", "it did not run")
        from .errors import ModelError

        raise ModelError(f"the {name} stage did not run: {reason}")
    out = res.results[name]
    table = out.customers
    if isinstance(table, pa.Table) and "customer_id" in table.column_names:
        # the engine's row order is not the input's: hand back one order, by customer
        order = pc.sort_indices(table, sort_keys=[("customer_id", "ascending")])
        out = dataclasses.replace(out, customers=table.take(order))
    return out


def _stage_function(stage: registry.Stage) -> Any:
    def fn(
        transactions: Any,
        customers: Any = None,
        activities: Any = None,
        payments: Any = None,
        prospects: Any = None,
        reps: Any = None,
        market: Any = None,
        *,
        settings: Settings | None = None,
        as_of: dt.date | str | np.datetime64 | None = None,
        engine: Engine | None = None,
        spark_session: Any = None,
    ) -> StageResult:
        return run_stage(
            stage.name,
            transactions,
            settings=settings,
            as_of=as_of,
            engine=engine,
            spark_session=spark_session,
            customers=customers,
            activities=activities,
            payments=payments,
            prospects=prospects,
            reps=reps,
            market=market,
        )

    fn.__name__ = stage.name
    fn.__qualname__ = stage.name
    fn.__doc__ = (
        f"{stage.help}\n\nThe ``{stage.name}`` stage (and the stages it depends on) on the "
        "given inputs: file paths, or pandas, Polars, PyArrow, Ibis or Spark DataFrames.\n\n"
        "Returns\n-------\nStageResult\n    ``customers`` (customer_id and the stage's "
        "columns), ``tables``, ``manifest``, ``warnings``, ``detail``.\n"
    )
    return fn


class ValidationResult:
    """A table checked as ``tierwise validate`` checks it.

    Attributes
    ----------
    table
        The canonical table of the rows used (canonical column names and types, ``_row`` the
        row number in the input).
    rejects
        Every row not used, with file, row, column, reason and value.
    emptied
        Every value emptied in a row used (an optional value that cannot be read, such as
        employees written ``ca. 50``, or that is out of its plausible range, such as a
        latitude of 95), in the layout of ``rejects``.
    """

    def __init__(self, table: pa.Table, rejects: pa.Table, emptied: pa.Table | None = None) -> None:
        self.table = table
        self.rejects = rejects
        self.emptied = emptied if emptied is not None else rejects.schema.empty_table()

    def __repr__(self) -> str:
        return (
            f"ValidationResult({self.table.num_rows} rows used, {self.rejects.num_rows} rejected)"
        )


def validate(
    transactions: Any,
    customers: Any = None,
    activities: Any = None,
    payments: Any = None,
    prospects: Any = None,
    reps: Any = None,
    market: Any = None,
    *,
    settings: Settings | None = None,
    as_of: dt.date | str | np.datetime64 | None = None,
) -> dict[str, ValidationResult]:
    """Map, parse and check inputs into canonical tables, with the rows not used.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["A", None], "date": ["2024-01-05", "2024-01-06"],
    ...                    "revenue": ["12.5", "3"]})
    >>> v = validate(tx)["transactions"]
    >>> v.table.column("revenue").to_pylist(), v.rejects.column("reason").to_pylist()
    ([12.5], ['missing customer_id'])
    """
    from .pipeline import load_and_validate

    inputs = _inputs(
        settings,
        transactions=transactions,
        customers=customers,
        activities=activities,
        payments=payments,
        prospects=prospects,
        reps=reps,
        market=market,
    )
    settings = settings or Settings()
    eng = Engine.from_settings(settings.run, inputs=inputs.values())
    with eng.session():
        ctx = load_and_validate(inputs, settings, eng, as_of=_as_of(as_of))
        out: dict[str, ValidationResult] = {}
        for name, t in ctx.tables.items():
            table = eng.to_arrow(t.order_by(ROW), f"{name} rows used")
            rej = ctx.rejects.filter(pa.compute.equal(ctx.rejects.column("table"), name))
            emptied = ctx.emptied.filter(pa.compute.equal(ctx.emptied.column("table"), name))
            out[name] = ValidationResult(table, rej, emptied)
        return out
