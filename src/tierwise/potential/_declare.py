"""The potential stage, declared to the registry."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..engine import ROW
from ..errors import ModelError
from ..registry import ColumnDoc, Stage, StageContext, StageResult, register
from .stage import potential_stage

_C = ColumnDoc
_Y = "a year"

POTENTIAL_DOCS = (
    _C(
        "wallet",
        "float64",
        "currency",
        _Y,
        "what the customer spends on our kind of products "
        "with every supplier (estimated; at least its spend with us)",
    ),
    _C("wallet_low", "float64", "currency", _Y, "low end of the wallet's range"),
    _C("wallet_high", "float64", "currency", _Y, "high end of the wallet's range"),
    _C(
        "wallet_model",
        "float64",
        "currency",
        _Y,
        "the wallet model's estimate before it is floored at the customer's spend",
    ),
    _C(
        "wallet_planning",
        "float64",
        "currency",
        "[potential] planning_years ahead",
        "wallet grown by the market's growth rate",
    ),
    _C(
        "share_of_wallet",
        "float64",
        "fraction",
        "last 12 months",
        "revenue_12m as a fraction of the wallet (0 for prospects)",
    ),
    _C("headroom", "float64", "currency", _Y, "wallet minus revenue_12m: what we do not sell yet"),
    _C(
        "growth_potential",
        "float64",
        "currency",
        "[potential] planning_years ahead",
        "wallet_planning minus revenue_12m",
    ),
    _C(
        "market_growth_rate",
        "float64",
        "fraction per year",
        "",
        "yearly growth of the customer's market (industry and region)",
    ),
    _C(
        "lookalike_score",
        "float64",
        "fraction",
        "",
        "prospects: share of its look-alikes among the best customers",
    ),
    _C(
        "wallet_missing_inputs",
        "string",
        "",
        "",
        "firmographic inputs the wallet model missed for this customer (the range is wider)",
    ),
    _C("wallet_method", "string", "", "", "the wallet model used (gbm, linear, lookalike, blend)"),
)

_RENAMES = {
    "growth_rate": "market_growth_rate",
    "missing_inputs": "wallet_missing_inputs",
    "method": "wallet_method",
}


def _rename(t: pa.Table) -> pa.Table:
    return t.rename_columns([_RENAMES.get(c, c) for c in t.column_names])


def _run_potential(ctx: StageContext) -> StageResult:
    everyone = ctx.customers()
    customers = everyone.filter(pc.invert(everyone.column("is_prospect")))
    prospects = (
        ctx.fetch(ctx.tables["prospects"].order_by(ROW).drop(ROW), "prospects")
        if "prospects" in ctx.tables
        else None
    )
    market = (
        ctx.fetch(ctx.tables["market"].order_by(ROW).drop(ROW), "market data")
        if "market" in ctx.tables
        else None
    )
    profit = "net_profit" if "net_profit" in customers.column_names else None
    try:
        res = potential_stage(
            customers,
            spend_column="revenue_12m",
            prospects=prospects,
            market=market,
            profit_column=profit,
            settings=ctx.settings.potential,
            seed=ctx.seed,
        )
    except ModelError as exc:
        if "customers" in ctx.tables:
            raise
        given = ctx.files.get("customers")
        # a master given without a row to use (empty, or every row rejected) is not "not given"
        which = (
            f"the customer master {given} has no row to use"
            if given
            else "no customer master was given (--customers FILE, or customers= in Python)"
        )
        raise ModelError(
            f"{which}, and wallets are estimated from its firmographic columns: {exc}"
        ) from exc
    part = _rename(res.customers)
    tables = {
        "ideal_customer_profile": res.icp,
        "market_penetration": res.market_penetration,
    }
    if prospects is not None:
        tables["prospects"] = res.prospects
        pros = _rename(res.prospects)
        # prospects in the customer table: no spend yet, so the whole wallet is headroom
        known = pc.is_in(pros.column("customer_id"), value_set=part.column("customer_id"))
        pros = pros.filter(pc.invert(known))
        n = pros.num_rows
        cols = {}
        for name in [*part.column_names, "lookalike_score"]:
            if name in pros.column_names:
                cols[name] = pros.column(name)
            elif name == "share_of_wallet":
                cols[name] = pa.array([0.0] * n, pa.float64())
            elif name == "headroom":
                cols[name] = pros.column("wallet")
            elif name == "growth_potential":
                cols[name] = pros.column("wallet_planning")
            elif name == "wallet_model":
                cols[name] = pros.column("wallet")
            else:
                cols[name] = pa.nulls(n, part.schema.field(name).type)
        part = part.append_column("lookalike_score", pa.nulls(part.num_rows, pa.float64()))
        part = pa.concat_tables([part, pa.table(cols).cast(part.schema)])
    return StageResult(
        customers=part,
        tables=tables,
        manifest={**res.manifest, "icp_sentences": res.icp_sentences},
        warnings=[f"potential: {w}" for w in res.warnings],
        detail=res,
    )


register(
    Stage(
        name="potential",
        reads_details=(),
        help="Wallet (potential value), share of wallet, headroom, prospects and the ideal "
        "customer profile.",
        run=_run_potential,
        uses_inputs=("customers", "prospects", "market"),
        needs=("features",),
        uses=("accounts", "profitability"),
        columns=POTENTIAL_DOCS,
        tables=("prospects", "ideal_customer_profile", "market_penetration"),
        settings="potential",
        command="potential",
    )
)
