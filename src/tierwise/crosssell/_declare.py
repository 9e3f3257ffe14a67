"""The cross-sell stage, declared to the registry."""

from __future__ import annotations

from ..registry import ColumnDoc, Stage, StageContext, StageResult, register
from .stage import crosssell_stage

_C = ColumnDoc

CROSSSELL_DOCS = (
    _C(
        "next_best_products",
        "string",
        "",
        "the next year",
        "the items to offer next, best first, separated by '; ' (cross_sell.csv has each with "
        "its score, value and reason)",
    ),
    _C(
        "cross_sell_value",
        "float64",
        "currency",
        "a year",
        "expected yearly margin of the next best products together (probability × typical "
        "spend × margin)",
    ),
    _C(
        "up_sell",
        "string",
        "",
        "the last 12 months",
        "categories the customer buys below its peers' typical quantity or price",
    ),
    _C(
        "up_sell_value",
        "float64",
        "currency",
        "a year",
        "expected yearly margin of closing the up-sell gaps",
    ),
)


def _run_crosssell(ctx: StageContext) -> StageResult:
    res = crosssell_stage(
        ctx.tables["transactions"],
        ctx.customers(),
        ctx.settings.crosssell,
        as_of=ctx.as_of,
        seed=ctx.seed,
        margin_rate=ctx.settings.features.margin_rate,
        engine=ctx.engine,
    )
    return StageResult(
        customers=res.customers,
        tables=dict(res.tables),
        manifest=dict(res.manifest),
        warnings=[f"cross-sell: {w}" for w in res.warnings],
        detail=res,
    )


register(
    Stage(
        name="crosssell",
        reads_details=(),
        help="Association rules, next best products per customer with reasons, up-sell leads, "
        "and the hit rate of the recommendations against popularity.",
        run=_run_crosssell,
        uses_inputs=("customers", "prospects"),
        needs=("features",),
        uses=("accounts", "cancellations", "segments"),
        columns=CROSSSELL_DOCS,
        tables=("cross_sell", "up_sell", "basket_rules"),
        settings="crosssell",
        command="crosssell",
    )
)
