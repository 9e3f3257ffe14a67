"""The stage contract: what each stage needs, what it provides, and the order they run in.

A stage declares itself once with :func:`register`:

- what it **needs**: input tables (``needs_inputs``; optional ones in ``uses_inputs``) and
  other stages (``needs``: their results are required; ``uses``: read when they ran;
  ``reads_details``: the stages whose own result object it reads, when not all of them;
  ``reads_customers``: the stages whose result's customer columns it reads itself);
- what it **provides**: the customer columns it owns (``columns``, each documented), the
  output tables it writes (``tables``), and the input tables it rewrites for the stages after
  it (``rewrites``: duplicate records merged into accounts, cancellations paired);
- how it **runs**: ``run(ctx) -> StageResult``.

The pipeline orders stages by these declarations, runs them, materialises and writes — nothing
else. A column has one owner: registering a second stage that provides a column already owned
raises :class:`RegistryError` naming both stages, at import time. A stage run alone runs every
stage it needs or uses first, so its figures are the same as in a whole run.

Example
-------
A stage from outside the package:

>>> import pyarrow as pa
>>> def _run(ctx):
...     c = ctx.customers()
...     return StageResult(customers=pa.table({
...         "customer_id": c.column("customer_id"),
...         "lines_per_order": pa.compute.divide(
...             pa.compute.cast(c.column("n_lines"), pa.float64()), c.column("n_orders"))}))
>>> spec = register(Stage(
...     name="example_lines_per_order", help="Invoice lines per order.", run=_run,
...     needs=("features",),
...     columns=(ColumnDoc("lines_per_order", "float64", "lines", "whole history",
...                        "invoice lines per order"),)))
>>> "example_lines_per_order" in [s.name for s in ordered(["example_lines_per_order"])]
True
>>> unregister("example_lines_per_order")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .errors import TierwiseError

if TYPE_CHECKING:
    import datetime as dt
    from pathlib import Path

    import ibis.expr.types as ir

    from .engine import Engine
    from .settings import Settings

__all__ = [
    "ColumnDoc",
    "RegistryError",
    "Stage",
    "StageContext",
    "StageResult",
    "column_owner",
    "columns",
    "get",
    "ordered",
    "register",
    "stages",
    "unregister",
]


class RegistryError(TierwiseError):
    """A stage declaration clashes with another one (a column or a name owned twice)."""


#: Types a customer column may have (Arrow names).
COLUMN_TYPES = ("string", "float64", "int64", "bool", "date", "list<string>")


@dataclass(frozen=True)
class ColumnDoc:
    """One column of customers.parquet / customers.csv, documented.

    Parameters
    ----------
    name
        The public column name.
    type
        Arrow type name: one of :data:`COLUMN_TYPES`.
    unit
        ``currency``, ``days``, ``fraction`` (0.25 = 25%), ``count``, ``score 0-100``, … or
        ``""`` for text and flags.
    period
        What time the figure covers: ``whole history``, ``last 12 months``, ``profit period``,
        ``next 365 days``, ``at the analysis date``, … or ``""``.
    meaning
        One sentence a sales analyst understands.
    """

    name: str
    type: str
    unit: str
    period: str
    meaning: str

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise RegistryError(f"column {self.name}: type {self.type!r} not in {COLUMN_TYPES}")

    @property
    def arrow_type(self) -> pa.DataType:
        return {
            "string": pa.string(),
            "float64": pa.float64(),
            "int64": pa.int64(),
            "bool": pa.bool_(),
            "date": pa.date32(),
            "list<string>": pa.list_(pa.string()),
        }[self.type]


@dataclass
class StageResult:
    """What every stage returns.

    Attributes
    ----------
    customers
        ``customer_id`` and the columns the stage owns (one row per account or prospect).
    tables
        Output tables by file stem, written as CSV and Parquet.
    manifest
        The stage's block of manifest.json (method, parameters, headline figures).
    models
        Fitted models' manifest entries by model name.
    warnings
        Assumptions made for lack of data and steps left out, each naming the setting that
        changes it.
    rewrites
        Input tables replaced for the stages after this one (Ibis tables).
    light_rewrites
        The names among ``rewrites`` that are cheap to compute again at every read (the
        table as it was, joined with a customer-sized one): they are kept as expressions
        instead of being computed into the engine, which would copy every row.
    detail
        The stage's own result object, for later stages and for notebook users.
    """

    customers: pa.Table | None = None
    tables: dict[str, pa.Table] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rewrites: dict[str, ir.Table] = field(default_factory=dict)
    light_rewrites: frozenset[str] = frozenset()
    detail: Any = None


@dataclass(frozen=True)
class Stage:
    """A stage's declaration. See the module docstring."""

    name: str
    help: str
    run: Callable[[StageContext], StageResult]
    needs_inputs: tuple[str, ...] = ("transactions",)
    uses_inputs: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    columns: tuple[ColumnDoc, ...] = ()
    tables: tuple[str, ...] = ()
    rewrites: tuple[str, ...] = ()
    #: the settings section it reads (``None``: none of its own)
    settings: str | None = None
    #: command-line name (``None``: the stage has no command of its own)
    command: str | None = None
    #: a stage the CLI shows as a step of its own (False for glue such as output builders)
    public: bool = True
    #: the stages whose ``detail`` it reads (:meth:`StageContext.detail`); ``None``: any
    #: stage it needs or uses. A run that does not keep details frees each one once no
    #: stage still to run reads it.
    reads_details: tuple[str, ...] | None = None
    #: the stages whose result's ``customers`` it reads from ``ctx.results`` itself rather
    #: than through :meth:`StageContext.customers`; a run that does not keep details keeps
    #: those until the stage has run (the customer table may hold the columns in a copy of
    #: its own, and the result's are then freed)
    reads_customers: tuple[str, ...] = ()

    @property
    def input_tables(self) -> tuple[str, ...]:
        """The input tables the stage reads (needed or used when given)."""
        return (*self.needs_inputs, *self.uses_inputs)

    @property
    def detail_sources(self) -> tuple[str, ...]:
        """The stages whose ``detail`` this stage may read."""
        return (*self.needs, *self.uses) if self.reads_details is None else self.reads_details


class StageContext:
    """What a stage sees: settings, the engine, the inputs and earlier stages' results.

    Stages never execute queries behind the pipeline's back: they ask through
    :meth:`fetch` and :meth:`materialize`, which the pipeline implements (naming the table
    and operation when the engine fails).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        as_of: dt.date,
        tables: dict[str, ir.Table],
        results: dict[str, StageResult] | None = None,
        assemble: Callable[[StageContext], pa.Table] | None = None,
        previous: Path | None = None,
        files: Mapping[str, str] | None = None,
        handoff: Mapping[str, pa.Table] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.as_of = as_of
        self.tables = tables
        self.results: dict[str, StageResult] = results if results is not None else {}
        self.previous = previous
        #: the input files by table name (paths as shown to users, credentials redacted)
        self.files: dict[str, str] = dict(files or {})
        #: what people decided over the last output folder, by kind, for the stages that
        #: apply them: in the dashboard (``review_decisions``, ``class_overrides``), and the
        #: review decisions the run that wrote the folder applied (``earlier_decisions``,
        #: when a review queue filled in there is named in ``[accounts] decisions_file``)
        self.handoff: dict[str, pa.Table] = dict(handoff or {})
        self._assemble = assemble
        self._customers: tuple[tuple[str, ...], pa.Table] | None = None
        #: the stage the pipeline is running (set and cleared by the pipeline)
        self.running: Stage | None = None

    @property
    def seed(self) -> int:
        return self.settings.run.seed

    def detail(self, stage: str) -> Any:
        """The ``detail`` of a stage that ran, or ``None``.

        Raises
        ------
        RegistryError
            When the stage running does not declare ``stage`` among the details it reads
            (:attr:`Stage.detail_sources`): a run may have freed it.
        """
        running = self.running
        if running is not None and stage not in running.detail_sources:
            raise RegistryError(
                f"the {running.name} stage reads the {stage} stage's detail without declaring "
                f"it: add {stage!r} to its reads_details"
            )
        res = self.results.get(stage)
        return None if res is None else res.detail

    def fetch(self, expr: ir.Table, what: str) -> pa.Table:
        """Execute an expression and return it as Arrow (the engine names ``what`` on
        failure)."""
        return self.engine.to_arrow(expr, what)

    def materialize(
        self, expr: ir.Table, name: str | None = None, *, large: bool = False
    ) -> ir.Table:
        """Compute an expression once and keep it in the engine; ``large`` for a table the
        size of the invoice lines, which DuckDB then writes compressed as it makes it
        (:meth:`Engine.materialize <tierwise.engine.Engine.materialize>`)."""
        return self.engine.materialize(expr, name, large=large)

    def customers(self) -> pa.Table:
        """The customer table so far: master data and every earlier stage's columns, one row
        per account and prospect, sorted by customer_id."""
        if self._assemble is None:
            raise TierwiseError("this context has no customer table")
        key = tuple(self.results)
        if self._customers is None or self._customers[0] != key:
            self._customers = (key, self._assemble(self))
        return self._customers[1]


# -- the registry ---------------------------------------------------------------------------

_STAGES: dict[str, Stage] = {}
#: columns the inputs provide (the customer master), owner name "inputs"
_INPUT_COLUMNS: dict[str, ColumnDoc] = {}


def register(stage: Stage) -> Stage:
    """Add a stage to the registry.

    Raises
    ------
    RegistryError
        When the name is taken, or a column it provides is already owned by another stage
        (the message names both).
    """
    if stage.name in _STAGES:
        raise RegistryError(f"a stage named {stage.name!r} is registered already")
    seen: set[str] = set()
    for col in stage.columns:
        if col.name in seen:
            raise RegistryError(f"stage {stage.name!r} declares column {col.name!r} twice")
        seen.add(col.name)
        owner = column_owner(col.name)
        if owner is not None:
            raise RegistryError(
                f"column {col.name!r} is provided by both stage {owner!r} and stage "
                f"{stage.name!r}; a column has one owner: rename one of them"
            )
    for t in stage.tables:
        for other in _STAGES.values():
            if t in other.tables:
                raise RegistryError(
                    f"output table {t!r} is written by both stage {other.name!r} and stage "
                    f"{stage.name!r}"
                )
    for dep in (*stage.needs, *stage.uses):
        if dep == stage.name:
            raise RegistryError(f"stage {stage.name!r} depends on itself")
    _STAGES[stage.name] = stage
    return stage


def unregister(name: str) -> None:
    """Remove a stage (for tests and notebooks that register their own)."""
    _STAGES.pop(name, None)


def register_input_columns(cols: Iterable[ColumnDoc]) -> None:
    """The columns the customer master provides (owned by ``inputs``)."""
    for c in cols:
        _INPUT_COLUMNS[c.name] = c


def stages() -> list[Stage]:
    """Every registered stage, in registration order."""
    _load_builtin()
    return list(_STAGES.values())


def get(name: str) -> Stage:
    """A stage by name."""
    _load_builtin()
    try:
        return _STAGES[name]
    except KeyError:
        raise TierwiseError(f"unknown stage {name!r}; stages are {', '.join(_STAGES)}") from None


def column_owner(name: str) -> str | None:
    """The stage that provides a customer column (``"inputs"`` for master data)."""
    if name in _INPUT_COLUMNS:
        return "inputs"
    for s in _STAGES.values():
        if any(c.name == name for c in s.columns):
            return s.name
    return None


def columns() -> list[tuple[str, ColumnDoc]]:
    """Every documented customer column with its owner, master data first, then by stage
    order."""
    _load_builtin()
    out: list[tuple[str, ColumnDoc]] = [("inputs", c) for c in _INPUT_COLUMNS.values()]
    for s in ordered(None):
        out.extend((s.name, c) for c in s.columns)
    return out


def ordered(names: Sequence[str] | None) -> list[Stage]:
    """The stages to run for ``names`` (``None``: all), dependencies first.

    Every stage a requested one needs or uses is included; among stages free to run, the
    registration order decides (so the order is the same in every run).
    """
    _load_builtin()
    wanted = list(_STAGES) if names is None else list(names)
    for n in wanted:
        get(n)
    closure: set[str] = set()
    todo = list(wanted)
    while todo:
        n = todo.pop()
        if n in closure:
            continue
        closure.add(n)
        st = _STAGES[n]
        for dep in (*st.needs, *st.uses):
            if dep not in _STAGES:
                raise RegistryError(f"stage {n!r} depends on unknown stage {dep!r}")
            todo.append(dep)
    # rewriting stages come before every stage reading what they rewrite
    graph: dict[str, set[str]] = {n: set() for n in closure}
    for n in closure:
        st = _STAGES[n]
        graph[n] |= {d for d in (*st.needs, *st.uses) if d in closure}
        reads = set(st.input_tables)
        for m in closure:
            if m != n and set(_STAGES[m].rewrites) & reads and n not in _rewriters_before(m):
                graph[n].add(m)
    position = {n: i for i, n in enumerate(_STAGES)}
    remaining = {n: set(d) for n, d in graph.items()}
    out: list[str] = []
    while remaining:
        ready = [n for n, d in remaining.items() if not d]
        if not ready:
            raise RegistryError(
                "stages depend on each other in a circle: " + ", ".join(sorted(remaining))
            )
        # the earliest registered among those free to run: the same order in every run
        first = min(ready, key=position.__getitem__)
        out.append(first)
        del remaining[first]
        for d in remaining.values():
            d.discard(first)
    return [_STAGES[n] for n in out]


def _rewriters_before(name: str) -> set[str]:
    """Stages that a rewriting stage itself depends on (they read the input before it is
    rewritten)."""
    st = _STAGES[name]
    deps: set[str] = set()
    todo = [*st.needs, *st.uses]
    while todo:
        d = todo.pop()
        if d in deps or d not in _STAGES:
            continue
        deps.add(d)
        todo.extend((*_STAGES[d].needs, *_STAGES[d].uses))
    return deps


_loaded = False


def _load_builtin() -> None:
    """Import the built-in stages once (they register themselves)."""
    global _loaded
    if not _loaded:
        _loaded = True
        from . import _builtin  # noqa: F401
