"""The accounts stage (duplicate records merged into accounts) and the group totals, declared
to the registry."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from ..registry import ColumnDoc, Stage, StageContext, StageResult, register
from .report import merge_report, record_revenue
from .resolve import resolve_accounts
from .rollup import group_totals

_C = ColumnDoc

ACCOUNT_DOCS = (
    _C(
        "member_ids",
        "list<string>",
        "",
        "",
        "the customer records merged into this account (its own id first); in CSV joined by ';'",
    ),
    _C("n_members", "int64", "count", "", "customer records merged into this account"),
    _C(
        "group_account_id",
        "string",
        "",
        "",
        "the top of the account's parent_id tree (itself when it has no parent)",
    ),
)


def _placed(table: pa.Table, file: str, *, header: bool = True) -> pa.Table:
    """``table`` with ``_file`` and ``_row`` (the line a person would look up: the header
    is line 1) for messages about its rows."""
    n = table.num_rows
    if "decided_at" in table.column_names and pa.types.is_timestamp(
        table.schema.field("decided_at").type
    ):
        # the dashboard's decisions carry times, a file's carry text: one type (ISO text,
        # to the microsecond) lets them be read as one table
        at = table.schema.get_field_index("decided_at")
        table = table.set_column(
            at, "decided_at", pc.strftime(table["decided_at"], format="%Y-%m-%dT%H:%M:%S")
        )
    start = 2 if header else 1
    return table.append_column("_file", pa.array([file] * n, pa.string())).append_column(
        "_row", pa.array(range(start, start + n), pa.int64())
    )


def _run_accounts(ctx: StageContext) -> StageResult:
    from ..io import read_decisions

    cfg = ctx.settings.accounts
    # the decisions the replaced output folder's run applied first, then the files in their
    # order, the dashboard's last: for a pair decided twice the later row wins
    earlier = ctx.handoff.get("earlier_decisions")
    parts = []
    if earlier is not None and earlier.num_rows:
        parts.append(_placed(earlier, "review_decisions.csv of the replaced output folder"))
    parts.extend(_placed(read_decisions(f), str(f)) for f in cfg.decisions_files)
    dashboard = ctx.handoff.get("review_decisions")
    if dashboard is not None and dashboard.num_rows:
        parts.append(_placed(dashboard, "the dashboard's review decisions", header=False))
    decisions = pa.concat_tables(parts, promote_options="permissive") if parts else None
    res = resolve_accounts(
        ctx.tables["customers"], cfg, engine=ctx.engine, decisions=decisions, seed=ctx.seed
    )
    engine = ctx.engine
    mapping = engine.from_arrow(
        res.mapping.select(["customer_id", "account_id"]), engine.fresh_name("account_map")
    )
    revenue = ctx.fetch(
        record_revenue(ctx.tables["transactions"], as_of=ctx.as_of, settings=cfg),
        "revenue per customer record",
    )
    report = merge_report(res.mapping, revenue, cfg)
    # the rows of the records merged into another's account take its id; the join reads
    # only those records (most keep their own id, and a join with every record copies the
    # lines several times slower)
    ids = res.mapping.select(["customer_id", "account_id"])
    moved = engine.from_arrow(
        ids.filter(pc.not_equal(ids["customer_id"], ids["account_id"])),
        engine.fresh_name("account_moves"),
    )
    rewrites: dict[str, ir.Table] = {}
    for name in ("transactions", "activities", "payments"):
        if name not in ctx.tables:
            continue
        t = ctx.tables[name]
        j = t.left_join(moved, "customer_id")
        cols = {c: j[c] for c in t.columns}
        cols["customer_id"] = ibis.coalesce(j.account_id, j.customer_id)
        rewrites[name] = j.select(**cols)
    # the account keeps the master record whose id it carries (its smallest member id)
    master = ctx.tables["customers"]
    rewrites["customers"] = master.filter(master.customer_id.isin(mapping.account_id))
    accounts = res.accounts
    keep = [c for c in ("account_id", "member_ids", "n_members", "group_account_id")]
    part = accounts.select(keep).rename_columns(["customer_id", *keep[1:]])
    warnings = [f"accounts: {w}" for w in res.warnings]
    tables = {
        "review_queue": res.review_queue,
        "account_members": res.mapping,
        "merge_report": report.table,
    }
    if res.decisions.num_rows:
        tables["review_decisions"] = res.decisions
    manifest = dict(res.summary)
    manifest["headline"] = res.headline
    manifest["merge_report"] = report.manifest
    return StageResult(
        customers=part,
        tables=tables,
        manifest=manifest,
        models={"accounts": res.params},
        warnings=warnings,
        rewrites=rewrites,
        # the lines of the few records merged take a new id in a join with those records
        # alone: read through that join, not copied
        light_rewrites=frozenset({"activities", "payments"}),
        detail=res,
    )


register(
    Stage(
        name="accounts",
        reads_details=(),
        help="Find duplicate customer records and roll them up to accounts (needs "
        "--customers); writes account_members, merge_report and review_queue.",
        run=_run_accounts,
        needs_inputs=("customers",),
        uses_inputs=("transactions", "activities", "payments"),
        columns=ACCOUNT_DOCS,
        tables=("review_queue", "review_decisions", "account_members", "merge_report"),
        rewrites=("transactions", "activities", "payments", "customers"),
        settings="accounts",
        command="dedupe",
    )
)


# -- group totals -------------------------------------------------------------------------

#: Figures a parent account sums over its subsidiaries (``group_<name>`` columns).
GROUP_FIGURES = ("revenue", "revenue_12m", "gross_margin", "net_profit", "clv", "wallet")

GROUP_DOCS = (
    _C(
        "group_n_accounts",
        "int64",
        "count",
        "",
        "accounts in this account's part of the parent_id tree (itself included)",
    ),
    *(
        _C(
            f"group_{f}",
            "float64",
            "currency",
            "as the column " + f,
            f"{f} summed over this account and every subsidiary below it",
        )
        for f in GROUP_FIGURES
    ),
)


def _run_groups(ctx: StageContext) -> StageResult:
    res = ctx.detail("accounts")
    if res is None or "parent_account_id" not in res.mapping.column_names:
        return StageResult()
    if res.mapping.column("parent_account_id").null_count == res.mapping.num_rows:
        return StageResult(manifest={"skipped": "no parent_id in the customer master"})
    customers = ctx.customers()
    cols = [c for c in GROUP_FIGURES if c in customers.column_names]
    totals = group_totals(customers.select(["customer_id", *cols]), res.mapping, cols)
    return StageResult(customers=totals)


register(
    Stage(
        name="groups",
        reads_details=("accounts",),
        help="Totals of each parent account over its subsidiaries.",
        run=_run_groups,
        needs_inputs=("customers",),
        needs=("accounts",),
        uses=("features", "profitability", "lifetime", "potential"),
        columns=GROUP_DOCS,
        public=False,
    )
)
