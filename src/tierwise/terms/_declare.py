"""The terms stage (trading terms, discount audit, KPI targets, routes to market), declared
to the registry."""

from __future__ import annotations

from ..registry import ColumnDoc, Stage, StageContext, StageResult, register
from .stage import terms_stage

_C = ColumnDoc

TERMS_DOCS = (
    _C(
        "trading_terms",
        "string",
        "",
        "",
        "the terms package the customer is offered (its tier's, see terms.csv)",
    ),
    _C(
        "terms_net_value",
        "float64",
        "currency",
        "a year",
        "cost the terms remove minus the rebates they pay, for this customer",
    ),
    _C(
        "discount_flag",
        "string",
        "",
        "profit period",
        "discount depth against the class's band: within band, above band (leakage), below "
        "band, below band at risk, no band, or no discount data",
    ),
    _C(
        "recommended_depth",
        "float64",
        "fraction",
        "",
        "the discount depth the class's band recommends for this customer",
    ),
    _C(
        "discount_margin_effect",
        "float64",
        "currency",
        "a year",
        "margin gained (or given) by moving the customer into its band",
    ),
    _C(
        "revenue_target",
        "float64",
        "currency",
        "the next year",
        "revenue target: with the coverage plan, revenue_12m plus the plan's change "
        "(expected_revenue_plan - expected_revenue_today; a prospect's expected revenue), "
        "else spend plus a share of headroom",
    ),
    _C("margin_target", "float64", "currency", "the next year", "gross-margin target"),
    _C(
        "observed_channel",
        "string",
        "",
        "profit period",
        "the channel the customer is served through today, from its activities",
    ),
)


def _run_terms(ctx: StageContext) -> StageResult:
    prof = ctx.settings.profitability
    cov = ctx.settings.coverage
    res = terms_stage(
        ctx.customers(),
        ctx.settings.terms,
        cost_of_capital=prof.cost_of_capital,
        period_months=prof.period_months,
        tx=ctx.tables["transactions"],
        as_of=ctx.as_of,
        channels=[*cov.channels, *cov.band_channels],
        customers_file=ctx.files.get("customers", "customers"),
    )
    return StageResult(
        customers=res.customers,
        tables=dict(res.tables),
        manifest=dict(res.manifest),
        warnings=[f"terms: {w}" for w in res.warnings],
        detail=res,
    )


register(
    Stage(
        name="terms",
        reads_details=(),
        help="Trading terms per tier priced by the costs they remove, the discount audit, KPI "
        "targets per rep and segment, and routes to market per segment.",
        run=_run_terms,
        uses_inputs=("customers", "prospects", "activities", "payments"),
        needs=("features",),
        uses=("accounts", "cancellations", "profitability", "potential", "segments", "coverage"),
        columns=TERMS_DOCS,
        tables=("terms", "discount_audit", "discount_audit_summary", "targets", "routes_to_market"),
        settings="terms",
        command="terms",
    )
)
