"""The run: load → validate → resolve accounts → features → models → outputs.

This is the only module that materialises tables, times stages and writes the output folder
(through :mod:`tierwise.io`). Each stage is a pure function of its own module; the
``_stage_*`` functions here are the glue that feeds them and collects their results.

Example
-------
>>> import tempfile, pathlib, pyarrow as pa, pyarrow.csv as pacsv, datetime as dt
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> pacsv.write_csv(pa.table({"customer_id": ["A", "B"], "date": ["2024-01-02", "2024-02-03"],
...                           "revenue": [10.0, 20.0]}), d / "tx.csv")
>>> result = run_pipeline({"transactions": d / "tx.csv"}, out_dir=d / "out")
>>> result.manifest["inputs"]["transactions"]["rows_used"]
2
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from . import __version__
from .engine import ROW, Engine, exact_sum
from .errors import (
    EngineError,
    InputError,
    ModelError,
    Problems,
    SettingsError,
    TierwiseError,
)
from .features import customer_features
from .io import REJECT_SCHEMA, RawInput, read_input
from .io.outputs import OutputFolder
from .schema import TABLES
from .settings import INPUT_TABLES, Settings
from .validate import (
    canonicalize,
    check_transactions,
    reject_duplicate_keys,
    reject_unknown_customers,
    split_rejects,
)

__all__ = ["RunContext", "RunResult", "load_and_validate", "run_pipeline"]

Progress = Callable[[str], None]


@dataclass
class InputAccount:
    """Row accounting of one input."""

    path: str
    sha256: str
    rows_read: int
    rows_used: int
    rows_rejected: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_rejected": self.rows_rejected,
        }


@dataclass
class RunContext:
    """Everything a run has computed so far; stages read from it and add to it."""

    settings: Settings
    engine: Engine
    as_of: dt.date
    #: canonical tables of the rows used, by input name
    tables: dict[str, ir.Table] = field(default_factory=dict)
    inputs: dict[str, InputAccount] = field(default_factory=dict)
    rejects: pa.Table = field(default_factory=REJECT_SCHEMA.empty_table)
    #: customer-level results, each keyed by customer_id, joined into customers.parquet
    customer_parts: list[pa.Table] = field(default_factory=list)
    #: extra tables for the output folder: stem -> table (written as CSV and Parquet)
    extra_outputs: dict[str, pa.Table] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    manifest_extra: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    #: each stage's full result object, for later stages and the Python API
    results: dict[str, Any] = field(default_factory=dict)
    #: things a user should know about the run (stages skipped and why)
    warnings: list[str] = field(default_factory=list)

    @contextmanager
    def timed(self, stage: str, progress: Progress | None = None) -> Iterator[None]:
        if progress:
            progress(stage)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = round(
                self.timings.get(stage, 0.0) + time.perf_counter() - start, 4
            )


@dataclass
class RunResult:
    """What a run produced."""

    out_dir: Path | None
    manifest: dict[str, Any]
    customers: pa.Table
    rejects: pa.Table


# -- load and validate -----------------------------------------------------------------


def _raw_count(raw: RawInput, engine: Engine) -> int:
    return engine.count(raw.table, f"rows of {raw.path}")


def load_and_validate(
    inputs: Mapping[str, str | Path],
    settings: Settings,
    engine: Engine,
    *,
    as_of: dt.date | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
) -> RunContext:
    """Read every input, map and parse it, and split the rows used from the rejects.

    Raises
    ------
    Problems
        Every file-level problem of every input (missing required columns, unreadable files),
        reported together.
    """
    today = today or dt.date.today()
    as_of = as_of or settings.run.as_of
    unknown = set(inputs) - set(INPUT_TABLES)
    if unknown:
        raise InputError(f"unknown input {sorted(unknown)}; inputs are {', '.join(INPUT_TABLES)}")
    if "transactions" not in inputs:
        raise InputError(
            "no transactions given", hint="pass --transactions FILE or set [transactions] path"
        )
    timings = timings if timings is not None else {}
    start = time.perf_counter()
    if progress:
        progress("load")
    raws: dict[str, RawInput] = {}
    canon: dict[str, ir.Table] = {}
    problems: list[TierwiseError] = []
    for name, path in inputs.items():
        try:
            raw = read_input(name, path, settings.table_input(name), engine)
            raws[name] = raw
            canon[name] = canonicalize(
                raw.table,
                name,
                settings,
                engine,
                file=raw.path,
                source_columns=raw.source_columns,
                delimiter=raw.delimiter,
            )
        except Problems as many:
            problems.extend(many.errors)
        except TierwiseError as exc:
            problems.append(exc)
    Problems.raise_if_any(problems)
    timings["load"] = round(time.perf_counter() - start, 4)

    start = time.perf_counter()
    if progress:
        progress("validate")
    tx = check_transactions(canon["transactions"], settings, as_of=as_of, today=today)
    tx = engine.materialize(tx, "tw_checked_transactions")
    tx_used, tx_rejects = split_rejects(tx, raws["transactions"].path, "transactions")
    if as_of is None:
        last = engine.scalar(tx_used.date.max(), "the last transaction date")
        if last is None:
            raise InputError(
                "no usable transaction rows: "
                + _top_reasons(engine, tx_rejects, raws["transactions"]),
                file=raws["transactions"].path,
                hint="fix the rows or the column mapping, then run again",
            )
        as_of = last if isinstance(last, dt.date) else dt.date.fromisoformat(str(last)[:10])
    ctx = RunContext(settings=settings, engine=engine, as_of=as_of, timings=timings)
    used: dict[str, ir.Table] = {"transactions": tx_used}
    reject_parts: dict[str, ir.Table] = {"transactions": tx_rejects}

    for name in ("customers", "prospects", "reps", "payments"):
        if name in canon:
            spec = TABLES[name]
            t = reject_duplicate_keys(canon[name], spec.key) if spec.key else canon[name]
            canon[name] = t
    known: ir.Table | None = None
    for name in ("customers", "prospects", "reps", "market"):
        if name in canon:
            t = engine.materialize(canon[name])
            used[name], reject_parts[name] = split_rejects(t, raws[name].path, name)
    ids = [tx_used.select("customer_id")]
    if "customers" in used:
        ids.append(used["customers"].select("customer_id"))
    known_ids = ibis.union(*ids) if len(ids) > 1 else ids[0]
    known = engine.materialize(known_ids.distinct(), "tw_known_customers")
    for name in ("activities", "payments"):
        if name in canon:
            t = reject_unknown_customers(canon[name], known, name)
            if name == "activities":
                # already trimmed by validation (no strip(): see validate._trim)
                t = t.mutate(type=t.type.lower().re_replace(r"[\s\-]+", "_"))
            t = engine.materialize(t)
            used[name], reject_parts[name] = split_rejects(t, raws[name].path, name)

    reject_tables = []
    for name, raw in raws.items():
        rej = engine.to_arrow(reject_parts[name], f"rejects of {name}")
        rej = pa.concat_tables([raw.malformed, rej.cast(REJECT_SCHEMA)]).sort_by(
            [("row", "ascending")]
        )
        n_read = _raw_count(raw, engine) + raw.n_malformed
        n_used = engine.count(used[name], f"rows used of {name}")
        account = InputAccount(raw.path, raw.sha256, n_read, n_used, rej.num_rows)
        if account.rows_read != account.rows_used + account.rows_rejected:
            raise EngineError(
                f"{raw.path}: row accounting does not add up: read {n_read}, used {n_used}, "
                f"rejected {rej.num_rows}"
            )
        ctx.inputs[name] = account
        reject_tables.append(rej)
    ctx.rejects = pa.concat_tables([REJECT_SCHEMA.empty_table(), *reject_tables])
    ctx.tables = used
    timings["validate"] = round(time.perf_counter() - start, 4)
    return ctx


def _top_reasons(engine: Engine, rejects: ir.Table, raw: RawInput, n: int = 3) -> str:
    """The commonest reject reasons, for a message when nothing can be used."""
    counts = engine.to_arrow(
        rejects.group_by("reason").aggregate(rows=rejects.count(), first=rejects.row.min())
    ).to_pylist()
    counts += [
        {"reason": r, "rows": 1, "first": row}
        for r, row in zip(
            raw.malformed.column("reason").to_pylist(),
            raw.malformed.column("row").to_pylist(),
            strict=True,
        )
    ]
    if not counts:
        return "the file has a header but no data rows"
    counts.sort(key=lambda c: (-c["rows"], c["first"]))
    return "; ".join(
        f"{c['reason']} ({c['rows']:,} rows, first at row {c['first']})" for c in counts[:n]
    )


# -- stages ------------------------------------------------------------------------------


def _add_part(ctx: RunContext, table: pa.Table, prefix: str) -> None:
    """Add a customer-level table; a column another stage already gave gets ``prefix``."""
    taken = {c for part in ctx.customer_parts for c in part.column_names}
    if "customers" in ctx.tables:
        taken |= set(ctx.tables["customers"].columns)
    names = [
        c if c == "customer_id" or c not in taken else f"{prefix}{c}" for c in table.column_names
    ]
    ctx.customer_parts.append(table.rename_columns(names))


def _stage_accounts(ctx: RunContext) -> None:
    """Merge duplicate customer records into accounts before anything is aggregated."""
    from .accounts import resolve_accounts
    from .io import read_decisions

    cfg = ctx.settings.accounts
    if "customers" not in ctx.tables:
        ctx.manifest_extra["accounts"] = {"skipped": "no customer master given"}
        return
    decisions = None
    if cfg.decisions_files:
        # later files after earlier ones: for a pair decided twice the later row wins
        decisions = pa.concat_tables(
            [read_decisions(f) for f in cfg.decisions_files], promote_options="permissive"
        )
    res = resolve_accounts(
        ctx.tables["customers"],
        cfg,
        engine=ctx.engine,
        decisions=decisions,
        seed=ctx.settings.run.seed,
    )
    engine = ctx.engine
    mapping = engine.from_arrow(
        res.mapping.select(["customer_id", "account_id"]), engine.fresh_name("account_map")
    )
    _merge_report(ctx, res.mapping)
    for name in ("transactions", "activities", "payments"):
        if name not in ctx.tables:
            continue
        t = ctx.tables[name]
        j = t.left_join(mapping, "customer_id")
        cols = {c: j[c] for c in t.columns}
        cols["customer_id"] = ibis.coalesce(j.account_id, j.customer_id)
        ctx.tables[name] = engine.materialize(j.select(**cols))
    # the account keeps the master record whose id it carries (its smallest member id)
    master = ctx.tables["customers"]
    ctx.tables["customers"] = master.filter(master.customer_id.isin(mapping.account_id))
    accounts = res.accounts
    keep = [
        c
        for c in ("account_id", "member_ids", "n_members", "group_account_id")
        if c in accounts.column_names
    ]
    part = accounts.select(keep).rename_columns(
        ["customer_id" if c == "account_id" else c for c in keep]
    )
    ctx.customer_parts.append(part)
    ctx.results["accounts"] = res
    if cfg.enabled and res.summary.get("model_skipped_reason"):
        ctx.warnings.append(
            f"duplicate records were not looked for: {res.summary['model_skipped_reason']}"
        )
    ctx.extra_outputs["review_queue"] = res.review_queue
    if res.decisions.num_rows:
        ctx.extra_outputs["review_decisions"] = res.decisions
    ctx.extra_outputs["account_members"] = res.mapping
    ctx.manifest_extra["accounts"] = res.summary
    ctx.models["accounts"] = res.params


def _merge_report(ctx: RunContext, mapping: pa.Table) -> None:
    """Which accounts change class because their records were merged (ABC by revenue)."""
    from .accounts import class_changes
    from .features.basic import _months_before
    from .segments import abc_classes

    tx = ctx.tables["transactions"]
    start = _months_before(ctx.as_of, 12)
    recent = tx.filter(tx.date > start)
    per_record = ctx.engine.to_arrow(
        recent.group_by("customer_id").aggregate(revenue=exact_sum(recent.revenue)),
        "revenue per customer record",
    )
    m = mapping.select(["customer_id", "account_id"])
    records = m.join(per_record, "customer_id", join_type="left outer")
    rev = pc.fill_null(records.column("revenue"), 0.0).to_numpy(zero_copy_only=False)
    cuts = ctx.settings.accounts.report_abc_cuts
    before = pa.table(
        {"customer_id": records.column("customer_id"), "class": abc_classes(rev, cuts).tolist()}
    )
    per_account = records.group_by("account_id", use_threads=False).aggregate([("revenue", "sum")])
    acc_rev = pc.fill_null(per_account.column("revenue_sum"), 0.0).to_numpy(zero_copy_only=False)
    after = pa.table(
        {
            "account_id": per_account.column("account_id"),
            "class": abc_classes(acc_rev, cuts).tolist(),
        }
    )
    changes = class_changes(before, after, m)
    ctx.extra_outputs["merge_report"] = changes
    ctx.manifest_extra["merge_report"] = {
        "accounts_changing_class": changes.num_rows,
        "accounts_upgraded": int(pc.sum(changes.column("upgraded")).as_py() or 0),
        "examples": changes.column("description").to_pylist()[:10],
    }


def _stage_features(ctx: RunContext) -> None:
    tx = ctx.tables["transactions"]
    feats = customer_features(tx, as_of=ctx.as_of, settings=ctx.settings.features)
    table = ctx.engine.to_arrow(feats, "customer features")
    n_lines = int(pa.compute.sum(table.column("n_lines")).as_py() or 0)
    if n_lines != ctx.inputs["transactions"].rows_used:
        raise EngineError(
            f"features used {n_lines} transaction lines, validation passed "
            f"{ctx.inputs['transactions'].rows_used}"
        )
    ctx.customer_parts.append(table)


def _stage_profitability(ctx: RunContext) -> None:
    from .features.profitability import profitability_stage

    res = profitability_stage(
        ctx.tables["transactions"],
        activities=ctx.tables.get("activities"),
        payments=ctx.tables.get("payments"),
        customers=ctx.tables.get("customers"),
        as_of=ctx.as_of,
        settings=ctx.settings.profitability,
        margin_rate=ctx.settings.features.margin_rate,
    )
    if res.reconciliation.get("reconciled") is False:
        raise EngineError(
            f"profitability totals do not reconcile with the inputs: {res.reconciliation}"
        )
    _add_part(ctx, res.customers, "pnl_")
    ctx.extra_outputs["whale_curve"] = res.whale
    ctx.extra_outputs["profit_breakdown"] = res.breakdown
    ctx.manifest_extra["profitability"] = res.manifest()
    ctx.results["profitability"] = res


def _stage_lifetime(ctx: RunContext) -> None:
    from .lifetime import lifetime_stage

    margin = None
    prof = ctx.results.get("profitability")
    if prof is not None and "net_margin_pct" in prof.customers.column_names:
        margin = prof.customers.select(["customer_id", "net_margin_pct"]).rename_columns(
            ["customer_id", "net_margin_rate"]
        )
    # every known customer without a purchase gets a status too (prospect): master accounts
    # that never bought and the prospects file
    ids = [
        ctx.tables[k].select("customer_id") for k in ("customers", "prospects") if k in ctx.tables
    ]
    prospects = None
    if ids:
        known = (ibis.union(*ids) if len(ids) > 1 else ids[0]).distinct().order_by("customer_id")
        prospects = ctx.engine.to_arrow(known, "known customers")
    res = lifetime_stage(
        ctx.tables["transactions"],
        ctx.as_of,
        ctx.settings.lifetime,
        engine=ctx.engine,
        margin=margin,
        prospects=prospects,
        seed=ctx.settings.run.seed,
    )
    _add_part(ctx, res.customers, "lt_")
    ctx.models.update(res.models)
    ctx.extra_outputs.update(res.outputs)
    ctx.manifest_extra["lifetime"] = {**res.headline, "warnings": res.warnings}
    ctx.results["lifetime"] = res


def _stage_potential(ctx: RunContext) -> None:
    from .potential import potential_stage

    customers = _assemble_customers(ctx)
    prospects = (
        ctx.engine.to_arrow(ctx.tables["prospects"].order_by(ROW).drop(ROW), "prospects")
        if "prospects" in ctx.tables
        else None
    )
    market = (
        ctx.engine.to_arrow(ctx.tables["market"].order_by(ROW).drop(ROW), "market data")
        if "market" in ctx.tables
        else None
    )
    profit = "net_profit" if "net_profit" in customers.column_names else None
    res = potential_stage(
        customers,
        spend_column="revenue_12m",
        prospects=prospects,
        market=market,
        profit_column=profit,
        settings=ctx.settings.potential,
        seed=ctx.settings.run.seed,
    )
    _add_part(ctx, res.customers, "pot_")
    if prospects is not None:
        ctx.extra_outputs["prospects"] = res.prospects
    ctx.extra_outputs["ideal_customer_profile"] = res.icp
    ctx.extra_outputs["market_penetration"] = res.market_penetration
    ctx.manifest_extra["potential"] = {**res.manifest, "icp_sentences": res.icp_sentences}
    ctx.results["potential"] = res


# Stages run in this order; each takes the context and adds to it.
STAGES: list[tuple[str, Callable[[RunContext], None]]] = [
    ("accounts", _stage_accounts),
    ("features", _stage_features),
    ("profitability", _stage_profitability),
    ("lifetime", _stage_lifetime),
    ("potential", _stage_potential),
]


# -- assembling outputs --------------------------------------------------------------------


def _assemble_customers(ctx: RunContext) -> pa.Table:
    """Join the customer master and every stage's customer-level table on customer_id.

    One row per customer in the master or with transactions (per account once duplicates
    are merged), sorted by customer_id.
    """
    engine = ctx.engine
    id_tables: list[ir.Table] = [ctx.tables["transactions"].select("customer_id")]
    if "customers" in ctx.tables:
        id_tables.append(ctx.tables["customers"].select("customer_id"))
    t = (ibis.union(*id_tables) if len(id_tables) > 1 else id_tables[0]).distinct()
    if "customers" in ctx.tables:
        master = ctx.tables["customers"].drop(ROW)
        t = t.left_join(master, "customer_id").drop("customer_id_right")
    for part in ctx.customer_parts:
        p = engine.from_arrow(part)
        t = t.left_join(p, "customer_id").drop("customer_id_right")
    return engine.to_arrow(t.order_by("customer_id"), "customers table")


#: Figures a parent account sums over its subsidiaries (``group_<name>`` columns).
GROUP_FIGURES = ("revenue", "revenue_12m", "gross_margin", "net_profit", "clv", "wallet")


def _with_group_totals(ctx: RunContext, customers: pa.Table) -> pa.Table:
    """Add each account's totals over its part of the parent_id hierarchy.

    A parent account's ``group_<figure>`` sums its own figure and every subsidiary's below
    it; ``group_n_accounts`` counts them. Only when the customer master has parent ids.
    """
    from .accounts import group_totals

    res = ctx.results.get("accounts")
    if res is None or "parent_account_id" not in res.mapping.column_names:
        return customers
    if res.mapping.column("parent_account_id").null_count == res.mapping.num_rows:
        return customers
    cols = [c for c in GROUP_FIGURES if c in customers.column_names]
    totals = group_totals(customers.select(["customer_id", *cols]), res.mapping, cols)
    for name in totals.column_names:
        if name != "customer_id" and name not in customers.column_names:
            customers = customers.append_column(name, totals.column(name))
    return customers


def _manifest(ctx: RunContext, settings: Settings) -> dict[str, Any]:
    return {
        "version": __version__,
        "seed": settings.run.seed,
        "as_of": ctx.as_of.isoformat(),
        "engine": ctx.engine.backend,
        "settings": settings.to_dict(),
        "inputs": {name: acc.as_dict() for name, acc in ctx.inputs.items()},
        "timings": dict(ctx.timings),
        "models": ctx.models,
        "warnings": list(ctx.warnings),
        **ctx.manifest_extra,
    }


def run_pipeline(
    inputs: Mapping[str, str | Path],
    settings: Settings | None = None,
    *,
    out_dir: str | Path | None = None,
    as_of: dt.date | None = None,
    today: dt.date | None = None,
    engine: Engine | None = None,
    progress: Progress | None = None,
    stages: Sequence[str] | None = None,
) -> RunResult:
    """Run tierwise end to end and (when ``out_dir`` is given) write the output folder.

    Parameters
    ----------
    inputs
        Input name (``transactions``, ``customers``, ``activities``, ``payments``,
        ``prospects``, ``reps``, ``market``) → file path or PostgreSQL URL.
    settings
        The run's settings (defaults when omitted).
    out_dir
        Output folder, replaced atomically; ``None`` computes without writing.
    as_of
        Analysis date; defaults to ``[run] as_of``, then to the last transaction date.
    today
        The date future-dated rows are checked against (defaults to the machine's date).
    engine
        An engine to reuse; by default one is made from ``[run]`` and closed at the end.
    progress
        Called with each stage's name as it starts.
    stages
        Run only these stages (names from :data:`STAGES`); features always run. ``None``
        runs them all.
    """
    known = [name for name, _ in STAGES]
    if stages is not None:
        unknown = [s for s in stages if s not in known]
        if unknown:
            raise SettingsError(f"unknown stage {unknown[0]!r}; stages are {', '.join(known)}")
    settings = settings or Settings()
    own_engine = engine is None
    eng = engine or Engine(
        settings.run.engine, threads=settings.run.threads, memory_limit=settings.run.memory_limit
    )
    try:
        timings: dict[str, float] = {}
        ctx = load_and_validate(
            inputs, settings, eng, as_of=as_of, today=today, progress=progress, timings=timings
        )
        for name, stage in STAGES:
            if stages is not None and name not in stages and name != "features":
                continue
            with ctx.timed(name, progress):
                try:
                    stage(ctx)
                except ModelError as exc:
                    if name == "features":
                        raise
                    # a model the data cannot support is left out, said so in the manifest
                    reason = exc.one_line()
                    ctx.manifest_extra[name] = {"skipped": reason}
                    ctx.warnings.append(f"{name} skipped: {reason}")
        with ctx.timed("outputs", progress):
            customers = _with_group_totals(ctx, _assemble_customers(ctx))
            manifest = _manifest(ctx, settings)
            written: Path | None = None
            if out_dir is not None:
                out = OutputFolder(out_dir)
                try:
                    out.write_table("customers", customers)
                    for stem, table in ctx.extra_outputs.items():
                        out.write_table(stem, table)
                    out.write_table("rejects", ctx.rejects, parquet=False)
                    manifest["timings"] = dict(ctx.timings)
                    out.write_json("manifest.json", manifest)
                    written = out.commit()
                except BaseException:
                    out.abort()
                    raise
        manifest["timings"] = dict(ctx.timings)
        return RunResult(written, manifest, customers, ctx.rejects)
    finally:
        if own_engine:
            eng.close()
