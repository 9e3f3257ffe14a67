"""The lifetime stage, declared to the registry."""

from __future__ import annotations

import ibis

from ..registry import ColumnDoc, Stage, StageContext, StageResult, register
from .stage import lifetime_stage

_C = ColumnDoc
_H = "the forecast horizon ([lifetime] forecast_horizon_days, 365 by default)"

LIFETIME_DOCS = (
    _C(
        "status",
        "string",
        "",
        "at the analysis date",
        "prospect, new, active, at_risk, inactive or lapsed",
    ),
    _C("status_reason", "string", "", "", "why the status was given, in plain words"),
    _C(
        "p_alive",
        "float64",
        "fraction",
        "at the analysis date",
        "probability the customer is still buying (the lifetime model named in the manifest; "
        "under BG/NBD a customer with a single purchase day gets the share of first-time "
        "buyers who, as long without a second order, still placed one; when no model could "
        "be used, from the customer's own rhythm: 1 up to the at-risk point, then down by a "
        "factor e per further usual gap)",
    ),
    _C(
        "expected_purchases",
        "float64",
        "purchases",
        _H,
        "purchases expected over the forecast horizon",
    ),
    _C(
        "expected_order_value",
        "float64",
        "currency",
        "",
        "expected value of a future order (Gamma-Gamma spend model; a customer with a "
        "single purchase day is read from its first order)",
    ),
    _C(
        "clv",
        "float64",
        "currency",
        "[lifetime] clv_horizon_months",
        "customer lifetime value: "
        "discounted expected future margin (net profit terms when profitability ran)",
    ),
    _C(
        "defection_risk",
        "float64",
        "fraction",
        "[lifetime] defection_window_days",
        "probability of no purchase in the defection window",
    ),
    _C("value_at_risk", "float64", "currency", "", "clv × defection_risk"),
    _C("high_value", "bool", "", "", "among the top [lifetime] high_value_share by CLV"),
    _C("high_value_at_risk", "bool", "", "", "listed in high_value_at_risk.csv"),
)


def _run_lifetime(ctx: StageContext) -> StageResult:
    prof = ctx.results.get("profitability")
    margin = None
    if prof is not None and prof.customers is not None:
        cols = prof.customers.column_names
        if "net_margin_rate" in cols:
            keep = ["customer_id", "net_margin_rate"]
            # the net profit behind each margin: its revenue weighs the peers' margin
            if "net_profit" in cols:
                keep.append("net_profit")
            # the orders behind each margin: the evidence its shrinkage weighs
            if "n_orders_pnl" in cols:
                keep.append("n_orders_pnl")
            margin = prof.customers.select(keep).rename_columns(
                [{"n_orders_pnl": "n_orders"}.get(c, c) for c in keep]
            )
    # every known company without a purchase gets a status too (prospect)
    ids = [
        ctx.tables[k].select("customer_id") for k in ("customers", "prospects") if k in ctx.tables
    ]
    prospects = None
    if ids:
        known = (ibis.union(*ids) if len(ids) > 1 else ids[0]).distinct().order_by("customer_id")
        prospects = ctx.fetch(known, "known customers")
    res = lifetime_stage(
        ctx.tables["transactions"],
        ctx.as_of,
        ctx.settings.lifetime,
        engine=ctx.engine,
        margin=margin,
        prospects=prospects,
        seed=ctx.seed,
    )
    c = res.customers
    horizon = f"expected_purchases_{ctx.settings.lifetime.forecast_horizon_days}d"
    c = c.rename_columns(["expected_purchases" if n == horizon else n for n in c.column_names])
    manifest = dict(res.manifest)
    if isinstance(manifest.get("columns"), dict):
        manifest["columns"] = {
            ("expected_purchases" if k == horizon else k): v for k, v in manifest["columns"].items()
        }
    return StageResult(
        customers=c,
        tables=dict(res.tables),
        manifest=manifest,
        models=res.models,
        warnings=[f"lifetime: {w}" for w in res.warnings],
        detail=res,
    )


register(
    Stage(
        name="lifetime",
        reads_details=(),
        reads_customers=("profitability",),
        help="Status, P(alive), expected purchases, CLV and defection risk (BG/NBD, "
        "Pareto/NBD, MBG/NBD, Gamma-Gamma).",
        run=_run_lifetime,
        uses_inputs=("customers", "prospects"),
        uses=("accounts", "cancellations", "profitability"),
        columns=LIFETIME_DOCS,
        tables=(
            "high_value_at_risk",
            "lifetime_conditional_expectation",
            "lifetime_tracking",
            "defection_comparison",
            "lifetime_summary",
        ),
        settings="lifetime",
        command="lifetime",
    )
)
