"""The run: load → validate → the registered stages in dependency order → outputs.

This module orders the stages by what they declare (:mod:`tierwise.registry`), runs them,
materialises what they hand over, times them and writes the output folder (through
:mod:`tierwise.io`) — nothing else. Business rules live in the stages.

Example
-------
>>> import tempfile, pathlib, pyarrow as pa, pyarrow.csv as pacsv
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> pacsv.write_csv(pa.table({"customer_id": ["A", "B"], "date": ["2024-01-02", "2024-02-03"],
...                           "revenue": [10.0, 20.0]}), d / "tx.csv")
>>> result = run_pipeline({"transactions": d / "tx.csv"}, out_dir=d / "out")
>>> result.manifest["inputs"]["transactions"]["rows_used"]
2
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import datetime as dt
import gc
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from . import __version__, _stop, registry
from ._threads import thread_limit
from .engine import ROW, Engine
from .errors import InputError, ModelError, Problems, SettingsError, TierwiseError
from .io import REJECT_SCHEMA, RawInput, read_input
from .io.frames import frame_input, is_frame
from .io.outputs import OutputFolder, check_output_target
from .io.previous import check_previous
from .registry import Stage, StageContext, StageResult
from .settings import INPUT_TABLES, Settings
from .validate import (
    CurrencySeen,
    InputAccount,
    canonicalize,
    count_text,
    future_analysis_date,
    run_currency,
    validate_inputs,
)

__all__ = [
    "InputAccount",
    "RunContext",
    "RunResult",
    "give_back_memory",
    "load_and_validate",
    "run_pipeline",
]

Progress = Callable[[str], None]


@dataclass
class RunContext:
    """The validated inputs of a run and their accounting."""

    settings: Settings
    engine: Engine
    as_of: dt.date
    #: canonical tables of the rows used, by input name
    tables: dict[str, ir.Table] = field(default_factory=dict)
    inputs: dict[str, InputAccount] = field(default_factory=dict)
    rejects: pa.Table = field(default_factory=REJECT_SCHEMA.empty_table)
    #: the values emptied in rows used (an optional value that cannot be read or is out of
    #: its plausible range)
    emptied: pa.Table = field(default_factory=REJECT_SCHEMA.empty_table)
    timings: dict[str, float] = field(default_factory=dict)
    #: things a user should know about the inputs
    warnings: list[str] = field(default_factory=list)
    #: the one currency the amounts name, when ``[segments] currency_symbol`` is not set
    #: (the manifest's ``currency`` block: :func:`~tierwise.validate.run_currency`)
    currency: dict[str, Any] | None = None


@dataclass
class RunResult:
    """What a run produced.

    Attributes
    ----------
    out_dir
        The output folder written (``None`` when none was asked for).
    manifest
        The run's manifest (as written to manifest.json).
    customers
        The customer table (customers.parquet).
    rejects
        Every input row not used, with its reason.
    results
        Each stage's :class:`~tierwise.registry.StageResult`, by stage name.
    tables
        Every output table by file stem (what the output folder holds as CSV/Parquet); a
        run that keeps no details and writes a folder holds only those the views read
        (:data:`_VIEW_TABLES`), the others written when their stage ended.
    emptied
        Every value emptied in an input row used (an optional value that cannot be read,
        such as employees written ``ca. 50``, or that is out of its plausible range, such
        as a latitude of 95), with the reason and the value as written
        (emptied_values.csv).
    """

    out_dir: Path | None
    manifest: dict[str, Any]
    customers: pa.Table
    rejects: pa.Table
    results: dict[str, StageResult] = field(default_factory=dict)
    tables: dict[str, pa.Table] = field(default_factory=dict)
    emptied: pa.Table = field(default_factory=REJECT_SCHEMA.empty_table)


# -- load and validate -----------------------------------------------------------------


def _read(name: str, source: Any, settings: Settings, engine: Engine) -> RawInput:
    if is_frame(source):
        raw: RawInput = frame_input(name, source, engine)
        return raw
    return read_input(name, source, settings.table_input(name), engine)


def load_and_validate(
    inputs: Mapping[str, Any],
    settings: Settings,
    engine: Engine,
    *,
    as_of: dt.date | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
) -> RunContext:
    """Read every input, map and parse it, and split the rows used from the rejects.

    ``inputs`` maps input names to file paths, URLs or tables held in memory (pandas,
    Polars, PyArrow, Ibis or Spark DataFrames).

    Raises
    ------
    Problems
        Every file-level problem of every input (missing required columns, unreadable files),
        reported together.
    InputError
        When no transaction row can be used.
    """
    today = today or dt.date.today()
    given = "--as-of" if as_of is not None else "[run] as_of"
    as_of = as_of or settings.run.as_of
    if as_of is not None and (why := future_analysis_date(as_of, today, settings.validate_)):
        raise SettingsError(f"{given} {why}")
    unknown = set(inputs) - set(INPUT_TABLES)
    if unknown:
        raise InputError(f"unknown input {sorted(unknown)}; inputs are {', '.join(INPUT_TABLES)}")
    if "transactions" not in inputs:
        raise InputError(
            "no transactions given",
            hint="pass --transactions FILE, or transactions= in Python, or set [transactions] path",
        )
    timings = timings if timings is not None else {}
    start = time.perf_counter()
    if progress:
        progress("load")
    raws: dict[str, RawInput] = {}
    canon: dict[str, ir.Table] = {}
    problems: list[TierwiseError] = []
    warnings: list[str] = []
    currencies: list[CurrencySeen] = []
    for name, source in inputs.items():
        try:
            raw = _read(name, source, settings, engine)
            raws[name] = raw
            warnings.extend(raw.warnings)
            canon[name] = canonicalize(
                raw.table,
                name,
                settings,
                engine,
                file=raw.path,
                source_columns=raw.source_columns,
                delimiter=raw.delimiter,
                warnings=warnings,
                today=today,
                as_of=as_of,
                sheets=raw.sheets,
                sheet=raw.sheet,
                currencies=currencies,
                serial_origin=raw.serial_origin,
            )
        except Problems as many:
            problems.extend(many.errors)
        except TierwiseError as exc:
            problems.append(exc)
    Problems.raise_if_any(problems)
    timings["load"] = round(time.perf_counter() - start, 4)

    start = time.perf_counter()
    _stop.check()
    if progress:
        progress("validate")
    checked = validate_inputs(
        canon, raws, settings, engine, as_of=as_of, today=today, warnings=warnings
    )
    currency = run_currency(currencies, settings, warnings)
    # the rows used and the rejects are in tables of their own now: free the inputs as read
    engine.release_inputs()
    ctx = RunContext(
        settings=settings,
        engine=engine,
        as_of=checked.as_of,
        tables=checked.used,
        inputs=checked.accounts,
        rejects=checked.rejects,
        emptied=checked.emptied,
        timings=timings,
        warnings=warnings,
        currency=currency,
    )
    timings["validate"] = round(time.perf_counter() - start, 4)
    return ctx


def _with_currency(settings: Settings, currency: dict[str, Any] | None) -> Settings:
    """The settings the stages read: ``[segments] currency_symbol`` the symbol of the one
    currency the amounts name (``currency``) when it is not set, for the reasons to show
    money as report.html and plan.xlsx do (the manifest records the settings as given)."""
    if currency is None or settings.segments.currency_symbol:
        return settings
    segments = settings.segments.model_copy(update={"currency_symbol": currency["symbol"]})
    return settings.model_copy(update={"segments": segments})


# -- the customer table ------------------------------------------------------------------


def _master(ctx: StageContext) -> ir.Table:
    """One row per customer and prospect: ids from the transactions, the master and the
    prospects file, with their master data and ``is_prospect``."""
    tables = ctx.tables
    bought = tables["transactions"].select("customer_id").distinct()
    ids: list[ir.Table] = [bought]
    if "customers" in tables:
        ids.append(tables["customers"].select("customer_id"))
    customer_ids = (ibis.union(*ids) if len(ids) > 1 else ids[0]).distinct()
    t = customer_ids.mutate(is_prospect=ibis.literal(False))
    if "prospects" in tables:
        p = tables["prospects"].select("customer_id").distinct()
        p = p.filter(~p.customer_id.isin(customer_ids.customer_id))
        t = ibis.union(t, p.mutate(is_prospect=ibis.literal(True)))
    people = []
    if "customers" in tables:
        people.append(tables["customers"].drop(ROW))
    if "prospects" in tables:
        pr = tables["prospects"].drop(ROW)
        if "customers" in tables:
            pr = pr.filter(~pr.customer_id.isin(tables["customers"].customer_id))
            master = tables["customers"].drop(ROW)
            pr = pr.select([c for c in master.columns if c in pr.columns])
            extra = [c for c in master.columns if c not in pr.columns]
            pr = pr.mutate(**{c: ibis.null(master[c].type()) for c in extra}).select(master.columns)
        people.append(pr)
    if people:
        m = ibis.union(*people) if len(people) > 1 else people[0]
        t = t.left_join(m, "customer_id").drop("customer_id_right")
    cols = ["customer_id", *(c for c in t.columns if c not in ("customer_id", "is_prospect"))]
    return t.select(*cols, "is_prospect")


#: the input tables the customer table's master rows are read from (:func:`_master`)
_MASTER_INPUTS = ("transactions", "customers", "prospects")


class _Assembler:
    """Builds the customer table: master data and every stage's columns so far, sorted by
    customer_id. The master rows are read from the engine once per set of input tables
    they come from (again after a stage rewrites one), until :meth:`keep_master` fixes
    them; each stage's columns are aligned to them by id in Arrow (customer-sized work).
    A stage's column already in the table's order and in one piece is shared with the
    stage's result, not copied; the stages whose columns were copied are noted
    (:meth:`release_copied`)."""

    def __init__(self) -> None:
        self._key: tuple[int, ...] | None = None
        self._base: pa.Table | None = None
        self._done: list[str] = []
        self._table: pa.Table | None = None
        self._kept = False
        self._copied: list[str] = []

    def keep_master(self, ctx: StageContext) -> None:
        """Read the master rows now (when not read yet from the current tables) and keep
        them from here on, whatever becomes of the input tables: before the pipeline frees
        the tables they are read from."""
        self._read_master(ctx)
        self._kept = True

    def _read_master(self, ctx: StageContext) -> None:
        if self._kept:
            return
        key = tuple(id(ctx.tables[k]) for k in _MASTER_INPUTS if k in ctx.tables)
        if key != self._key or self._base is None:
            self._key = key
            self._base = ctx.fetch(_master(ctx).order_by("customer_id"), "customers table")
            self._done, self._table, self._copied = [], self._base, []

    def __call__(self, ctx: StageContext) -> pa.Table:
        self._read_master(ctx)
        assert self._table is not None
        table = self._table
        ids = table.column("customer_id")
        for name, res in ctx.results.items():
            if name in self._done:
                continue
            self._done.append(name)
            part = res.customers
            if part is None or part.num_columns <= 1:
                continue
            if table.num_rows and part.column("customer_id").equals(ids):
                # in the table's order already: a column in one piece is shared as it is (a
                # copy would come out in one piece too)
                for col in part.column_names:
                    if col != "customer_id":
                        column = part.column(col)
                        if column.num_chunks != 1:
                            column = pa.chunked_array([pa.concat_arrays(column.chunks)])
                        table = table.append_column(col, column)
                continue
            at = pc.index_in(ids, value_set=part.column("customer_id"))
            for col in part.column_names:
                if col != "customer_id":
                    table = table.append_column(col, pc.take(part.column(col), at))
            self._copied.append(name)
        self._table = table
        return table

    def release_copied(self, results: dict[str, StageResult], later: Sequence[Stage]) -> None:
        """Drop from ``results`` the customer columns of the stages that the table holds in
        copies of its own (a stage's rows not in the table's order, or only some customers:
        the profitability stage's, say), once the master rows are kept (:meth:`keep_master`):
        the table is then never built again from the stages' columns, and the columns
        would otherwise be held twice to the end of the run. Not those a stage in ``later``
        reads itself (:attr:`~tierwise.registry.Stage.reads_customers`)."""
        if not self._kept:
            return
        wanted = {name for st in later for name in st.reads_customers}
        for name in [n for n in self._copied if n not in wanted]:
            res = results.get(name)
            if res is not None and res.customers is not None:
                results[name] = dataclasses.replace(res, customers=None)
        self._copied = [n for n in self._copied if n in wanted]


def _finish_customers(
    customers: pa.Table, owners: Mapping[str, str], ran: Collection[str] = ()
) -> tuple[pa.Table, list[str]]:
    """Types as documented, no infinities, and stage columns without a single value left out.

    Returns the table and the names of the columns without data: those left out, then the
    documented columns of the stages that ran (``ran``) that the table does not have at all
    (previous_class without a previous run, lookalike_score without prospects).
    """
    docs = {c.name: c for _, c in registry.columns()}
    out: dict[str, pa.ChunkedArray] = {}
    empty: list[str] = []
    for name in customers.column_names:
        col = customers.column(name)
        doc = docs.get(name)
        if doc is not None:
            target = doc.arrow_type
            if pa.types.is_floating(col.type) and pa.types.is_integer(target):
                col = pc.cast(pc.round(col), target)
            elif col.type != target and not pa.types.is_null(col.type):
                col = col.cast(target)
            elif pa.types.is_null(col.type):
                col = pa.chunked_array([pa.nulls(len(col), target)])
        if pa.types.is_floating(col.type):
            finite = pc.is_finite(col)
            if pc.any(pc.invert(pc.fill_null(finite, True))).as_py():
                col = pc.if_else(pc.fill_null(finite, True), col, None)
        if owners.get(name, "inputs") != "inputs" and col.null_count == len(col) and len(col):
            empty.append(name)
            continue
        out[name] = col
    absent = [
        name
        for name, owner in owners.items()
        if owner in ran and name not in customers.column_names and name not in empty
    ]
    return pa.table(out), [*empty, *absent]


# -- the run -----------------------------------------------------------------------------


def _no_usable_rows(name: str, account: InputAccount, rejects_written: bool) -> str:
    """Why an input given has no row to use: it has none, or every row was rejected (and
    rejects.csv says why, when the run writes it)."""
    what = f"the customer master {account.path}" if name == "customers" else account.path
    if not account.rows_read:
        return f"{what} has no rows"
    where = "; rejects.csv lists why" if rejects_written else ""
    return f"every row of {what} was rejected ({count_text(account.rows_rejected, 'row')}{where})"


def _skip_reason(
    stage: Stage,
    tables: Mapping[str, Any],
    skipped: Mapping[str, str],
    given: Mapping[str, InputAccount] | None = None,
    rejects_written: bool = True,
) -> str | None:
    missing = [t for t in stage.needs_inputs if t not in tables]
    if missing:
        unusable = [t for t in missing if given and t in given]
        if unusable and given:
            # given, but without a row to use (validation said why)
            return "; ".join(_no_usable_rows(t, given[t], rejects_written) for t in unusable)
        return f"no {' or '.join(missing)} given"
    dead = [d for d in stage.needs if d in skipped]
    if dead:
        return f"it needs the {dead[0]} stage, which did not run ({skipped[dead[0]]})"
    return None


def _check_result(stage: Stage, res: StageResult) -> None:
    """A stage hands back only the columns it declared, keyed by customer_id."""
    if res.customers is None:
        return
    names = res.customers.column_names
    if "customer_id" not in names:
        raise TierwiseError(f"stage {stage.name!r} returned a customer table without customer_id")
    declared = {c.name for c in stage.columns}
    extra = [n for n in names if n != "customer_id" and n not in declared]
    if extra:
        raise TierwiseError(
            f"stage {stage.name!r} returned columns it does not declare: {', '.join(extra)}"
        )


def _handoff(target: Path | None, previous: Path | None) -> tuple[dict[str, pa.Table], Any]:
    """What people decided in the dashboard (``tierwise serve``) over the output folder this
    run replaces — or, for a run into a new folder, over ``--previous`` — and where from."""
    from .app.store import OVERRIDES_FILE, read_overrides, read_review_decisions

    for folder in (target, previous):
        if folder is not None and (folder / OVERRIDES_FILE).is_file():
            tables = {
                "review_decisions": read_review_decisions(folder),
                "class_overrides": read_overrides(folder),
            }
            block = {"folder": str(folder), **{k: t.num_rows for k, t in tables.items()}}
            return tables, block
    return {}, None


def _decisions_in_folder(out_dir: str | Path, settings: Settings) -> tuple[str, ...]:
    """The names of the ``[accounts] decisions_file`` files that lie in the output folder
    itself (a review queue filled in where the run wrote it)."""
    folder = Path(out_dir).expanduser().absolute().resolve()
    names = []
    for f in settings.accounts.decisions_files:
        try:
            fp = Path(f).expanduser().resolve()
        except OSError:
            continue
        if fp.parent == folder:
            names.append(fp.name)
    return tuple(names)


def _carried_decisions(
    target: Path | None, read_first: Sequence[str]
) -> tuple[pa.Table | None, Any]:
    """The review decisions the run that wrote the output folder applied (its
    review_decisions.csv), and where from, when this run reads a review queue filled in
    there (``read_first``): the new queue leaves the decided pairs out, so without them a
    later run would no longer apply those decisions."""
    from .io import read_decisions
    from .io.outputs import MARKER

    if target is None or not read_first:
        return None, None
    path = target / "review_decisions.csv"
    if not path.is_file() or not (target / MARKER).is_file():
        return None, None
    table = read_decisions(path)
    return table, {"file": str(path), "rows": table.num_rows}


#: the output tables the views read (:func:`_write_views`): kept to the end of a run
_VIEW_TABLES = ("rep_plan", "segments", "terms", "targets", "cross_sell", "overrides_applied")


def _write_views(
    out: OutputFolder,
    customers: pa.Table,
    tables: Mapping[str, pa.Table],
    manifest: Any,
    settings: Settings,
) -> None:
    """What people look at, from what the run wrote: crm_export.csv, plan.xlsx, report.html
    (of the output tables, those in :data:`_VIEW_TABLES`)."""
    from .report import build_report, crm_export
    from .report.xlsx import write_plan

    s = settings.report
    out.write_table(
        "crm_export",
        crm_export(
            customers, tables.get("cross_sell"), settings=s, rep_plan=tables.get("rep_plan")
        ),
        parquet=False,
    )
    # every table the plan reads, given (None: the run has none), so that it reads nothing
    # from the folder being written
    plan_tables = {k: tables.get(k) for k in _VIEW_TABLES}
    write_plan(out.path("plan.xlsx"), customers, plan_tables, manifest=manifest, settings=s)
    build_report(out.tmp, s, target=out.path("report.html"))


def _write_early(out: OutputFolder, res: StageResult) -> StageResult:
    """Write a stage's output tables that no view reads now, and return its result without
    them: a run that keeps no details does not hold them to the end (the profitability
    stage's profit_breakdown is a row per customer and cost pool, the cross-sell stage's
    up_sell a few rows per customer). The same files, written earlier."""
    done = [stem for stem in sorted(res.tables) if stem not in _VIEW_TABLES]
    if not done:
        return res
    for stem in done:
        out.write_table(stem, res.tables[stem])
    kept = {stem: t for stem, t in res.tables.items() if stem in _VIEW_TABLES}
    return dataclasses.replace(res, tables=kept)


def _input_paths(inputs: Mapping[str, Any]) -> list[Path]:
    return [Path(v) for v in inputs.values() if not is_frame(v) and "://" not in str(v)]


def _same_folder(a: Path, b: Path) -> bool:
    a, b = a.expanduser().absolute(), b.expanduser().absolute()
    return a == b or (a.exists() and b.exists() and a.samefile(b))


def _free_details(results: dict[str, StageResult], later: Sequence[Stage]) -> None:
    """Drop the ``detail`` of each stage in ``results`` that no stage in ``later`` reads
    (:attr:`~tierwise.registry.Stage.detail_sources`)."""
    wanted = {d for st in later for d in st.detail_sources}
    for name, res in results.items():
        if res.detail is not None and name not in wanted:
            results[name] = dataclasses.replace(res, detail=None)


def _free_inputs(
    ctx: StageContext, later: Sequence[Stage], engine: Engine, assembler: _Assembler
) -> None:
    """Free the input tables (as validated, or as a stage rewrote them) that no stage in
    ``later`` reads (:attr:`~tierwise.registry.Stage.needs_inputs`, ``uses_inputs``): the
    engine keeps none of them for the outputs. The customer table's master rows are read
    first when one of their tables goes."""
    wanted = {t for st in later for t in st.input_tables}
    gone = [name for name in ctx.tables if name not in wanted]
    if not gone:
        return
    if any(name in _MASTER_INPUTS for name in gone):
        assembler.keep_master(ctx)
    freed = [ctx.tables.pop(name) for name in gone]
    engine.release_replaced(freed, ctx.tables.values())


def _rewrites_master(later: Sequence[Stage]) -> bool:
    """Whether a stage in ``later`` rewrites an input table the customer table's master rows
    are read from (:data:`_MASTER_INPUTS`)."""
    return any(name in _MASTER_INPUTS for st in later for name in st.rewrites)


def _rewritten_next(name: str, later: Sequence[Stage]) -> bool:
    """Whether the next stage in ``later`` that reads the input table ``name`` rewrites it
    too. Such a rewrite is kept as an expression instead of being computed into the engine:
    the stage after reads it a few times and writes its own version, so the lines are
    written once, not twice (the accounts stage's new customer ids on the invoice lines are
    written with the cancellation pairs)."""
    for st in later:
        if name in st.input_tables:
            return name in st.rewrites
    return False


def _compute_pending(
    stage: Stage, pending: dict[str, str], tables: dict[str, Any], engine: Engine
) -> None:
    """Compute into the engine the rewritten tables kept as expressions that ``stage``
    reads without rewriting them (the stage meant to rewrite them was skipped)."""
    for name in [n for n in pending if n in stage.input_tables]:
        if name in tables and name not in stage.rewrites:
            kept = tables[name]
            tables[name] = engine.materialize(
                kept, engine.fresh_name(f"{pending[name]}_{name}"), large=True
            )
            del pending[name]
            engine.release_replaced([kept], tables.values())


def give_back_memory(engine: Engine | None = None) -> None:
    """Hand memory freed in Python (and by ``engine``, when given) back to the system:
    between stages, and after the demo's data is written and dropped.

    Arrow's allocator keeps freed pages for reuse, and so does the C library's: once a large
    array has been freed, glibc raises the size from which it maps arrays apart (up to
    32 MiB), so the next stage's arrays come from a heap it rarely returns. A stage's peak
    then stacks on what the stages before it freed; on the 1,000,000-customer demo the
    process stayed near 12 GB between stages that hold a fraction of that. The engine's
    allocator keeps its freed pages too (:meth:`Engine.give_back_memory`). Best effort.
    """
    gc.collect()
    if engine is not None:
        engine.give_back_memory()
    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        with suppress(OSError, AttributeError):
            ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def run_pipeline(
    inputs: Mapping[str, Any],
    settings: Settings | None = None,
    *,
    out_dir: str | Path | None = None,
    as_of: dt.date | None = None,
    today: dt.date | None = None,
    engine: Engine | None = None,
    progress: Progress | None = None,
    stages: Sequence[str] | None = None,
    previous: str | Path | None = None,
    keep_details: bool = True,
) -> RunResult:
    """Run tierwise and (when ``out_dir`` is given) write the output folder.

    Parameters
    ----------
    inputs
        Input name (``transactions``, ``customers``, ``activities``, ``payments``,
        ``prospects``, ``reps``, ``market``) → file path, PostgreSQL URL, or a table held in
        memory (pandas, Polars, PyArrow, Ibis or Spark DataFrame).
    settings
        The run's settings (defaults when omitted).
    out_dir
        Output folder: a new or empty folder, or one a previous run wrote (it is replaced
        atomically); ``None`` computes without writing.
    as_of
        Analysis date; defaults to ``[run] as_of``, then to the last transaction date.
    today
        The date future-dated rows are checked against (defaults to the machine's date).
    engine
        An engine to reuse; by default one is made from ``[run]`` and closed at the end.
    progress
        Called with each step's name as it starts.
    stages
        Run only these stages and those they depend on (names from
        :func:`tierwise.registry.stages`); ``None`` runs them all.
    previous
        A previous run's output folder, for the yearly review.
    keep_details
        Keep every stage's ``detail`` (its own result object: the coverage menu, the
        cross-sell working tables) in the returned ``results``. With False each is freed as
        soon as no stage still to run reads it (:attr:`Stage.detail_sources`), and
        the returned results carry ``detail=None``: the command line's runs, which hand
        nothing back, so the run does not hold what only a notebook would read (gigabytes
        at a million customers). Then too a stage's ``customers`` is freed (``None`` in the
        returned results) once the customer table holds its columns in a copy of its own
        (rows in another order, or only some customers); the columns are in the returned
        ``customers``. With ``out_dir`` as well, each stage's output tables are written
        when the stage ends and freed: the returned ``tables`` hold only those the views
        read (:data:`_VIEW_TABLES`), the others are in the folder.

    Raises
    ------
    InputError
        When a stage asked for by name lacks its input (``tierwise dedupe`` without a
        customer master), or when no transaction row can be used.
    """
    settings = settings or Settings()
    plan = registry.ordered(stages)
    requested = set(stages or ())
    for st in plan:
        missing = [t for t in st.needs_inputs if t not in inputs]
        if st.name in requested and missing:
            raise InputError(
                f"the {st.name} stage needs the {' and '.join(missing)} input",
                hint="pass "
                + " ".join(f"--{m} FILE" for m in missing)
                + ", or "
                + ", ".join(f"{m}=" for m in missing)
                + " in Python",
            )
    target = None
    # review queues filled in inside the output folder, read before the folder is replaced
    # (only by a run whose accounts stage reads them)
    read_first: tuple[str, ...] = ()
    if out_dir is not None:
        if "customers" in inputs and any(st.name == "accounts" for st in plan):
            read_first = _decisions_in_folder(out_dir, settings)
        target = check_output_target(
            out_dir, _input_paths(inputs), settings.referenced_files(), read_first=read_first
        )
    prev = Path(previous) if previous is not None else None
    if prev is not None:
        # found before any stage runs, in the words the stages reading it use
        check_previous(prev, classes=any(st.name == "segments" for st in plan))
    if target is not None and prev is not None and _same_folder(target, prev):
        raise SettingsError(
            f"--out {out_dir} is the --previous folder: the new plan would replace the one "
            "it is compared with; give another output folder (keep last year's folder as it is)"
        )
    handoff, handoff_block = _handoff(target, prev)
    earlier, earlier_block = _carried_decisions(target, read_first)
    if earlier is not None:
        handoff["earlier_decisions"] = earlier
    own_engine = engine is None
    out: OutputFolder | None = None
    eng = engine or Engine.from_settings(settings.run, inputs=inputs.values())
    if eng.backend != settings.run.engine:
        # the engine the run is on (Spark DataFrames given, or an engine passed in) is the
        # one its settings record: a run again from the manifest's settings runs there too
        settings = settings.with_updates(run={"engine": eng.backend})
    # [run] threads (or a given engine's) bounds tierwise's own threads too, not only the
    # engine's: the model fits, the output files, Arrow and the BLAS libraries
    limit = ExitStack()
    limit.enter_context(thread_limit(settings.run.threads or eng.threads))
    try:
        timings: dict[str, float] = {}
        vctx = load_and_validate(
            inputs, settings, eng, as_of=as_of, today=today, progress=progress, timings=timings
        )
        assembler = _Assembler()
        ctx = StageContext(
            settings=_with_currency(settings, vctx.currency),
            engine=eng,
            as_of=vctx.as_of,
            tables=dict(vctx.tables),
            assemble=assembler,
            previous=prev,
            files={k: a.path for k, a in vctx.inputs.items()},
            handoff=handoff,
        )
        warnings = list(vctx.warnings)
        manifest_blocks: dict[str, Any] = {}
        models: dict[str, Any] = {}
        skipped: dict[str, str] = {}
        if target is not None:
            # made now: a run that keeps no details writes each stage's output tables as
            # soon as the stage ends (_write_early)
            out = OutputFolder(target, csv_locale=settings.output.csv_locale, read_first=read_first)
        early_s = 0.0
        # rewritten tables kept as expressions (see _rewritten_next), by the stage that
        # rewrote them
        pending: dict[str, str] = {}
        for st in plan:
            # a stage asked for by name stops the run before rejects.csv is written
            reason = _skip_reason(
                st, ctx.tables, skipped, vctx.inputs, rejects_written=st.name not in requested
            )
            if reason is not None:
                if st.name in requested:
                    # a stage asked for by name does not end in a folder without its result
                    rejected = any(
                        vctx.inputs[t].rows_read for t in st.needs_inputs if t in vctx.inputs
                    )
                    raise InputError(
                        f"the {st.name} stage cannot run: {reason}",
                        hint="run tierwise validate with the same inputs: it lists why "
                        "the rows were rejected"
                        if rejected
                        else "export the file again with its rows",
                    )
                skipped[st.name] = reason
                manifest_blocks[st.name] = {"skipped": reason}
                if st.public:
                    warnings.append(f"{st.name} skipped: {reason}")
                continue
            # a stop the user asked for that a finaliser or library dropped ends the run here
            _stop.check()
            if progress:
                progress(st.name)
            start = time.perf_counter()
            _compute_pending(st, pending, ctx.tables, eng)
            ctx.running = st
            try:
                res = st.run(ctx)
            except ModelError as exc:
                # a model the data cannot support is left out, and said so
                if st.name in requested:
                    raise
                skipped[st.name] = exc.one_line()
                manifest_blocks[st.name] = {"skipped": exc.one_line()}
                warnings.append(f"{st.name} skipped: {exc.one_line()}")
                timings[st.name] = round(time.perf_counter() - start, 4)
                continue
            finally:
                ctx.running = None
            _check_result(st, res)
            later = plan[plan.index(st) + 1 :]
            replaced = [ctx.tables[n] for n in res.rewrites if n in ctx.tables]
            for name, table in res.rewrites.items():
                if name in res.light_rewrites:
                    pending.pop(name, None)
                    ctx.tables[name] = table
                elif _rewritten_next(name, later):
                    pending[name] = st.name
                    ctx.tables[name] = table
                else:
                    pending.pop(name, None)
                    ctx.tables[name] = eng.materialize(
                        table, eng.fresh_name(f"{st.name}_{name}"), large=True
                    )
            # the tables rewritten are read by nothing now: their copies are freed
            eng.release_replaced(replaced, ctx.tables.values())
            if res.rewrites and not any(later_st.rewrites for later_st in later):
                # the input tables as every stage still to run reads them: kept compressed
                eng.compress()
            ctx.results[st.name] = res
            if res.manifest:
                manifest_blocks[st.name] = res.manifest
            models.update(res.models)
            warnings.extend(res.warnings)
            # the results are held in ctx.results only: a detail freed there is freed
            del res
            if not keep_details:
                _free_details(ctx.results, later)
            early = time.perf_counter()
            if out is not None and not keep_details:
                ctx.results[st.name] = _write_early(out, ctx.results[st.name])
            # the time writing the stage's tables took counts as the outputs' time
            early = time.perf_counter() - early
            early_s += early
            _free_inputs(ctx, later, eng, assembler)
            if not keep_details and not pending and not _rewrites_master(later):
                # the customer table's master rows are final: its columns copied from the
                # stages' results are the only ones kept
                assembler.keep_master(ctx)
                assembler.release_copied(ctx.results, later)
            give_back_memory(eng)
            timings[st.name] = round(time.perf_counter() - start - early, 4)

        _stop.check()
        if progress:
            progress("outputs")
        start = time.perf_counter()
        owners = {c.name: owner for owner, c in registry.columns()}
        customers, empty = _finish_customers(assembler(ctx), owners, ctx.results)
        tables: dict[str, pa.Table] = {}
        for res in ctx.results.values():
            tables.update(res.tables)
        warnings = list(dict.fromkeys(warnings))
        manifest: dict[str, Any] = {
            "version": __version__,
            "seed": settings.run.seed,
            "as_of": ctx.as_of.isoformat(),
            "engine": eng.backend,
            "settings": settings.to_dict(),
            "inputs": {name: acc.as_dict() for name, acc in vctx.inputs.items()},
            "stages": [st.name for st in plan if st.name in ctx.results],
            "timings": timings,
            "models": models,
            "warnings": warnings,
            "customers_columns_without_data": empty,
            **({"currency": vctx.currency} if vctx.currency else {}),
            "dashboard_decisions": handoff_block,
            "earlier_decisions": earlier_block,
            **manifest_blocks,
        }
        written: Path | None = None
        if out is not None:
            # a filled-in queue the accounts stage did not read is the user's to keep
            out.read_first = read_first if "accounts" in ctx.results else ()
            out.write_table("customers", customers)
            for stem in sorted(tables):
                out.write_table(stem, tables[stem])
            out.write_table("rejects", vctx.rejects, parquet=False)
            out.write_table("emptied_values", vctx.emptied, parquet=False)
            timings["outputs"] = round(time.perf_counter() - start + early_s, 4)
            out.write_json("manifest.json", manifest)
            _write_views(out, customers, tables, manifest, settings)
            # written again with the time of every output, the views' included (the
            # views read the manifest, not its timings)
            timings["outputs"] = round(time.perf_counter() - start + early_s, 4)
            out.write_json("manifest.json", manifest)
            _stop.check()
            written = out.commit()
        else:
            timings["outputs"] = round(time.perf_counter() - start, 4)
        return RunResult(
            written,
            manifest,
            customers,
            vctx.rejects,
            dict(ctx.results),
            tables,
            emptied=vctx.emptied,
        )
    except BaseException:
        if out is not None:
            out.abort()
        raise
    finally:
        try:
            if own_engine:
                eng.close()
        finally:
            limit.close()
