"""The features and profitability stages, declared to the registry."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import EngineError
from ..registry import ColumnDoc, Stage, StageContext, StageResult, register
from ..settings.profitability import ProfitabilitySettings
from ..validate import count_text
from .basic import customer_features
from .cancellations import pair_cancellations
from .cost_to_serve import unmapped_activity_types
from .profitability import POOLS, profitability_stage

_C = ColumnDoc

FEATURE_DOCS = (
    _C("first_purchase", "date", "", "whole history", "date of the first purchase"),
    _C("last_purchase", "date", "", "whole history", "date of the latest purchase"),
    _C(
        "n_orders",
        "int64",
        "count",
        "whole history",
        "orders placed (returns and cancellations are not orders)",
    ),
    _C("n_lines", "int64", "count", "whole history", "invoice lines, returns included"),
    _C("units", "float64", "units", "whole history", "units bought, returns not deducted"),
    _C("revenue", "float64", "currency", "whole history", "net revenue after returns"),
    _C("revenue_12m", "float64", "currency", "last 12 months", "net revenue after returns"),
    _C(
        "returns_value",
        "float64",
        "currency",
        "whole history",
        "value of returns and unpaired cancellations (positive)",
    ),
    _C("n_return_lines", "int64", "count", "whole history", "return and cancellation lines"),
    _C(
        "cost",
        "float64",
        "currency",
        "whole history",
        "cost of goods sold (empty when a line has no cost and no [features] margin_rate is set)",
    ),
    _C("gross_margin", "float64", "currency", "whole history", "revenue minus cost of goods sold"),
    _C(
        "gross_margin_rate",
        "float64",
        "fraction",
        "whole history",
        "gross margin as a fraction of revenue (0.25 = 25%)",
    ),
    _C("avg_order_value", "float64", "currency", "whole history", "sales revenue per order"),
    _C("recency_days", "int64", "days", "at the analysis date", "days since the latest purchase"),
    _C("tenure_days", "int64", "days", "at the analysis date", "days since the first purchase"),
    _C(
        "orders_last_period",
        "int64",
        "count",
        "last [features] window_months",
        "orders in the latest window",
    ),
    _C(
        "orders_prev_period",
        "int64",
        "count",
        "the window before",
        "orders in the window before the latest",
    ),
    _C(
        "order_trend",
        "float64",
        "ratio",
        "",
        "orders in the latest window divided by the "
        "window before (empty when there were none before)",
    ),
)

_FEATURE_RENAMES = {"gross_margin_pct": "gross_margin_rate"}


def _run_cancellations(ctx: StageContext) -> StageResult:
    tx, counts = pair_cancellations(
        ctx.tables["transactions"], ctx.settings.features, engine=ctx.engine
    )
    warnings = []
    if counts.get("unpaired"):
        warnings.append(
            f"{counts['unpaired']:,} cancellation lines match no earlier purchase of the same "
            "customer and product: counted as returns ([features] pair_cancellations)"
        )
    return StageResult(manifest=counts, warnings=warnings, rewrites={"transactions": tx})


register(
    Stage(
        name="cancellations",
        reads_details=(),
        help="Pair each cancellation line with the purchase it cancels.",
        run=_run_cancellations,
        uses=("accounts",),
        rewrites=("transactions",),
        settings="features",
        public=False,
    )
)


def _run_features(ctx: StageContext) -> StageResult:
    tx = ctx.tables["transactions"]
    feats = customer_features(tx, as_of=ctx.as_of, settings=ctx.settings.features)
    table = ctx.fetch(feats, "customer features")
    table = table.rename_columns([_FEATURE_RENAMES.get(c, c) for c in table.column_names])
    n_lines = int(pc.sum(table.column("n_lines")).as_py() or 0)
    used = ctx.engine.count(tx, "transaction lines")
    if n_lines != used:
        raise EngineError(f"features used {n_lines} transaction lines, validation passed {used}")
    warnings: list[str] = []
    rate = ctx.settings.features.margin_rate
    if rate is not None:
        n_no_cost = ctx.engine.count(tx.filter(tx.cost.isnull()), "lines without cost")
        if n_no_cost:
            warnings.append(
                f"{n_no_cost:,} invoice lines have no cost: their gross margin assumes the "
                f"margin rate {rate:.0%} ([features] margin_rate)"
            )
    # a young company (or a short export): the year's figures cover less than a year
    first = pc.min(table.column("first_purchase")).as_py() if table.num_rows else None
    months = ctx.settings.features.recent_months
    if first is not None:
        span = (ctx.as_of - first).days / 30.4375
        if span < months - 0.5:
            warnings.append(
                f"the transactions go back {span:.0f} months only (the first purchase on "
                f"{first.isoformat()}): revenue_12m and the figures of the last {months} "
                f"months ([features] recent_months) cover those {span:.0f} months, and "
                "wallets, classes and targets read them as a year's; give a longer export "
                "if there is one"
            )
    warnings += ids_written_two_ways(table.column("customer_id"))
    return StageResult(customers=table, manifest={}, warnings=warnings)


def ids_written_two_ways(ids: pa.ChunkedArray | pa.Array) -> list[str]:
    """A warning when customer ids (each once) match another once leading zeros, a decimal
    part .0 and letter case are ignored: '00042' and '42', as a folder of files where one
    stored the ids as numbers and another as text gives them. Vectorised over customers.

    >>> import pyarrow as pa
    >>> (w,) = ids_written_two_ways(pa.array(["00042", "42", "A7", "a7", "9", "1001.0"]))
    >>> w[:78]
    "2 customers have ids written two ways (4 ids): '00042' and '42' differ only by"
    >>> ids_written_two_ways(pa.array(["0", "00", "B1", "1001.0", "1001"]))[0][:45]
    '2 customers have ids written two ways (4 ids)'
    >>> ids_written_two_ways(pa.array(["1", "10", "01a"]))
    []
    """
    text = pc.cast(ids, pa.string())
    loose = pc.replace_substring_regex(text, r"^0+(\d)", r"\1")
    loose = pc.replace_substring_regex(loose, r"^(\d+)\.0+$", r"\1")
    loose = pc.utf8_upper(loose)
    counted = (
        pa.table({"loose": loose, "id": text})
        .group_by("loose")
        .aggregate([("id", "count"), ("id", "min"), ("id", "max")])
    )
    twice = counted.filter(pc.greater(counted.column("id_count"), 1))
    if not twice.num_rows:
        return []
    first = twice.sort_by("loose").slice(0, 1).to_pylist()[0]
    n_ids = int(pc.sum(twice.column("id_count")).as_py())
    return [
        f"{count_text(twice.num_rows, 'customer has', 'customers have')} ids written two "
        f"ways ({n_ids:,} ids): {first['id_min']!r} and {first['id_max']!r} differ only by "
        "leading zeros, a decimal part .0 or letter case, and are analysed as different "
        "customers. If they are one, export the ids the same way in every file (as text, "
        "from the program that wrote them as numbers)"
    ]


register(
    Stage(
        name="features",
        reads_details=(),
        help="Per-customer purchase figures: orders, revenue, margin, recency, trend.",
        run=_run_features,
        uses=("accounts", "cancellations"),
        columns=FEATURE_DOCS,
        settings="features",
        command="features",
    )
)


# -- profitability --------------------------------------------------------------------------

_POOL_TEXT = {
    "orders": "orders",
    "order_lines": "order lines",
    "small_orders": "orders below the drop-size threshold",
    "deliveries": "deliveries",
    "returns": "returns",
    "order_changes": "order changes",
    "visits": "sales visits",
    "calls": "sales calls",
    "emails": "sales emails",
    "quotes": "quotes",
    "support": "support cases",
    "other": "other activities",
    "late_payment": "invoices paid late",
}

_EASE = (
    ("avg_days_late", "days", "average days invoices were paid after their due date"),
    ("share_invoices_late", "fraction", "share of invoices paid late"),
    ("order_size_ratio", "ratio", "average order value against peers' median"),
    ("order_change_rate", "fraction", "order changes per order"),
    ("returns_rate", "fraction", "returned value as a fraction of sales"),
    ("discount_depth_vs_peers", "fraction", "discount depth minus peers' median"),
    ("effort_per_margin_unit", "ratio", "sales and service cost per unit of gross margin"),
)
_EASE_SCORES = (
    "payment_days_late",
    "share_invoices_late",
    "order_size",
    "order_changes",
    "returns",
    "discount_depth",
    "sales_effort",
)

#: profitability's own names that another stage already uses → its public names
_PNL_RENAMES = {
    "gross_margin": "gross_margin_pnl",
    "gross_margin_pct": "gross_margin_rate_pnl",
    "n_orders": "n_orders_pnl",
    "net_margin_pct": "net_margin_rate",
}
#: profitability figures that stay in profit_breakdown only (the same figure is a column of
#: another stage: revenue in the profit period is revenue_12m)
_PNL_DROPPED = ("revenue",)

_P = "profit period"
PROFIT_DOCS = (
    _C("list_revenue", "float64", "currency", _P, "revenue at list price, before discount"),
    _C("discount", "float64", "currency", _P, "list revenue minus invoiced revenue"),
    _C("discount_depth", "float64", "fraction", _P, "discount as a fraction of list revenue"),
    _C("rebates", "float64", "currency", _P, "off-invoice rebates"),
    _C("cogs", "float64", "currency", _P, "cost of goods sold"),
    _C("gross_margin_pnl", "float64", "currency", _P, "revenue minus cost of goods sold"),
    _C("gross_margin_rate_pnl", "float64", "fraction", _P, "gross margin as a fraction of revenue"),
    *(
        _C(
            "n_orders_pnl" if p == "orders" else f"n_{p}",
            "int64",
            "count",
            _P,
            f"number of {_POOL_TEXT[p]} (the cost driver of cts_{p})",
        )
        for p in POOLS
    ),
    _C("n_invoices", "int64", "count", _P, "invoices falling due in the period"),
    *(_C(f"cts_{p}", "float64", "currency", _P, f"cost to serve: {_POOL_TEXT[p]}") for p in POOLS),
    _C("cost_to_serve", "float64", "currency", _P, "all cost-to-serve pools together"),
    _C("net_profit", "float64", "currency", _P, "gross margin minus rebates and cost to serve"),
    _C("net_margin_rate", "float64", "fraction", _P, "net profit as a fraction of revenue"),
    _C(
        "profitable_per_order_unprofitable_all_in",
        "bool",
        "",
        _P,
        "gross margin positive but net profit negative",
    ),
    *(_C(n, "float64", u, _P, m) for n, u, m in _EASE),
    *(
        _C(
            f"ease_{n}",
            "float64",
            "score 0-100",
            _P,
            f"ease of doing business: {n.replace('_', ' ')} (100 = easiest among peers)",
        )
        for n in _EASE_SCORES
    ),
    _C(
        "ease_score",
        "float64",
        "score 0-100",
        _P,
        "ease of doing business, weighted over its components ([profitability] ease_weights)",
    ),
)

#: the cost rates a user is expected to set: their defaults are an assumption
_RATE_FIELDS = (
    "cost_per_visit",
    "cost_per_call",
    "cost_per_email",
    "cost_per_order",
    "cost_per_order_line",
    "cost_per_delivery",
    "cost_per_return",
    "cost_per_order_change",
    "cost_per_quote",
    "cost_per_support_case",
)


#: the other amounts in currency units whose defaults assume a euro-sized currency
_AMOUNT_FIELDS = ("drop_size_threshold", "small_order_surcharge")

#: built-in rates are out of scale when the median order is this many times the built-in
#: cost of handling an order and the whole cost to serve is under 0.5% of revenue (the
#: rates sized for a euro-like currency applied to amounts in yen, say), or when the cost
#: to serve exceeds half the revenue (the other way round)
_ORDER_COST_RATIO = 1_000.0


def _median_order(customers: pa.Table) -> float | None:
    """The median over customers of their average order value in the profit period."""
    if not {"revenue", "n_orders"} <= set(customers.column_names):
        return None
    rev = np.asarray(pc.fill_null(customers.column("revenue"), np.nan), dtype=np.float64)
    n = np.asarray(pc.fill_null(customers.column("n_orders"), 0), dtype=np.float64)
    ok = (n > 0) & np.isfinite(rev) & (rev > 0)
    return float(np.median(rev[ok] / n[ok])) if ok.any() else None


def _rates_out_of_scale(
    s: ProfitabilitySettings,
    defaults: list[str],
    order: float | None,
    total_cts: float,
    total_rev: float,
) -> str | None:
    """Why the built-in cost rates look sized for another currency, or None."""
    if not defaults or order is None or total_rev <= 0:
        return None
    share = total_cts / total_rev
    small = share < 0.005 and order >= _ORDER_COST_RATIO * s.cost_per_order
    large = share > 0.5
    if not (small or large):
        return None
    fields = ", ".join(f for f in (*defaults, *_AMOUNT_FIELDS) if f not in s.model_fields_set)
    effect = "hardly lowers any customer's profit" if small else "outweighs most margins"
    return (
        f"; these amounts look sized for another currency: against the data's median order "
        f"of {order:,.0f} the built-in order cost of {s.cost_per_order:g} is "
        f"{'negligible' if small else 'out of proportion'} and the cost to serve comes to "
        f"{share:.1%} of revenue, so cost to serve {effect}; "
        f"set in the data's currency: [profitability] {fields}"
    )


def _run_profitability(ctx: StageContext) -> StageResult:
    s = ctx.settings.profitability
    res = profitability_stage(
        ctx.tables["transactions"],
        activities=ctx.tables.get("activities"),
        payments=ctx.tables.get("payments"),
        customers=ctx.tables.get("customers"),
        as_of=ctx.as_of,
        settings=s,
        margin_rate=ctx.settings.features.margin_rate,
    )
    if res.reconciliation.get("reconciled") is False:
        raise EngineError(
            f"profitability totals do not reconcile with the inputs: {res.reconciliation}"
        )
    t = res.customers.drop_columns([c for c in _PNL_DROPPED if c in res.customers.column_names])
    t = t.rename_columns([_PNL_RENAMES.get(c, c) for c in t.column_names])
    warnings: list[str] = []
    defaults = [f for f in _RATE_FIELDS if f not in s.model_fields_set]
    total_cts = float(res.headline.get("total_cost_to_serve") or 0.0)
    total_rev = float(res.headline.get("total_revenue") or 0.0)
    order = _median_order(res.customers)
    scale = _rates_out_of_scale(s, defaults, order, total_cts, total_rev)
    if defaults and total_cts > 0:
        share = f" = {total_cts / total_rev:.0%} of revenue" if total_rev > 0 else ""
        rates = ", ".join(f"{f.removeprefix('cost_per_')} {getattr(s, f):g}" for f in defaults[:5])
        warnings.append(
            f"cost to serve uses built-in rates for {len(defaults)} cost pools ({rates}, …)"
            f"{share}; set your own in [profitability] cost_per_order, cost_per_delivery"
            + (scale or ", …")
        )
    acts = ctx.tables.get("activities")
    if acts is not None and "type" in acts.columns:
        # the activities costed: those of the period
        costed = acts.filter(res.period.contains(acts.date.cast("date")))
        unmapped = ctx.fetch(
            unmapped_activity_types(costed, s), "activity types without a cost pool"
        ).to_pylist()
        if unmapped:
            n_acts = sum(int(r["n"]) for r in unmapped)
            listed = ", ".join(f"{r['type']} {int(r['n']):,}" for r in unmapped[:5])
            more = ", …" if len(unmapped) > 5 else ""
            acts_text = count_text(n_acts, "activity", "activities")
            warnings.append(
                f"{acts_text} of {count_text(len(unmapped), 'type')} no "
                f"cost pool names ({listed}{more}) are costed as other activities and not "
                "counted as visits, calls or e-mails; map each type in [profitability] "
                'activity_pools ("other" keeps it there) and [coverage] activity_types'
            )
    nan_profit = int(pc.sum(pc.is_null(t.column("net_profit"), nan_is_null=True)).as_py() or 0)
    manifest = res.manifest()
    manifest["customers_without_net_profit"] = nan_profit
    manifest["amount_defaults"] = {
        "settings": [f for f in (*_RATE_FIELDS, *_AMOUNT_FIELDS) if f not in s.model_fields_set],
        "median_order_value": order,
        "out_of_scale": scale is not None,
    }
    return StageResult(
        customers=t,
        tables={"whale_curve": res.whale, "profit_breakdown": res.breakdown},
        manifest=manifest,
        warnings=warnings,
        detail=res,
    )


register(
    Stage(
        name="profitability",
        reads_details=(),
        help="Customer profitability: cost-to-serve pools, net profit, whale curve, ease of "
        "doing business.",
        run=_run_profitability,
        uses_inputs=("activities", "payments", "customers"),
        uses=("accounts", "cancellations"),
        columns=PROFIT_DOCS,
        tables=("whale_curve", "profit_breakdown"),
        settings="profitability",
        command="profit",
    )
)
