"""Customer profitability: each customer's full P&L with activity-based cost-to-serve.

A customer's net profit (fully loaded) over the P&L period is

.. math::

    \\text{net profit} = \\underbrace{R - \\text{COGS}}_{\\text{gross margin}}
        - \\text{rebates} - \\sum_{p} \\text{CTS}_p

with :math:`R` the net revenue (after discount, returns and cancellations netted) and the
cost-to-serve pools :math:`p` costed activity by activity (activity-based costing, Kaplan &
Cooper): events × rate per event, or the activity's recorded cost or duration × rate.

Pools, and where their events come from:

=================  ==========================================================================
pool               events
=================  ==========================================================================
orders             orders with at least one sale line (transactions)
order_lines        sale lines (transactions)
small_orders       orders whose sale value is below ``drop_size_threshold`` (transactions)
deliveries         delivery activities; one per order when the activities hold none
returns            return activities; one per credit note when the activities hold none
order_changes      order-change activities; one per cancelled order when the activities
                   hold none
visits, calls,     activities of the types mapped to the pool (``activity_pools``)
emails, quotes,
support, other
late_payment       invoices due in the period: days beyond due date (and grace) × amount ×
                   cost_of_capital / 365 (payments)
=================  ==========================================================================

Pools that cannot be computed because an optional input is missing (no activities, no
payments) are null for every customer and listed in ``absent_pools`` with the reason; they are
never silently zero. Gross margin uses the line's ``cost``; where a line has none, the
``margin_rate`` when given, else the customer's gross margin (and net profit) is null.

References: R. S. Kaplan and R. Cooper, *Cost & Effect*, Harvard Business School Press, 1998;
R. S. Kaplan and V. G. Narayanan, "Measuring and Managing Customer Profitability", Journal of
Cost Management 15(5), 2001.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from ..errors import SettingsError
from ..settings.profitability import ProfitabilitySettings
from .cost_to_serve import Period, customer_aggregates, input_totals, period_for
from .ease import ease_scores, peer_relative
from .whale import whale_curve, whale_headline

__all__ = ["POOLS", "ProfitabilityResult", "profitability_stage"]

#: Cost-to-serve pools in report order (column ``cts_<pool>``, breakdown step ``<pool>``).
POOLS = (
    "orders",
    "order_lines",
    "small_orders",
    "deliveries",
    "returns",
    "order_changes",
    "visits",
    "calls",
    "emails",
    "quotes",
    "support",
    "other",
    "late_payment",
)

#: Relative tolerance for the reconciliation checks (floating-point summation order only).
_RTOL = 1e-9


@dataclass
class ProfitabilityResult:
    """What the profitability stage returns.

    Attributes
    ----------
    customers
        One row per customer (sorted by customer_id): revenue, list_revenue, discount,
        rebates, cogs, gross_margin, event counts ``n_<pool>``, costs ``cts_<pool>``,
        cost_to_serve, net_profit, net_margin_pct (a fraction of revenue, 0.12 = 12%, as
        ``gross_margin_pct``; null when revenue ≤ 0), profitable_per_order_unprofitable_all_in
        (gross margin > 0 but net profit < 0; null where the net profit is unknown),
        the ease components (raw and ``ease_<component>`` scores) and ease_score.
    breakdown
        Long form per customer: customer_id, step, amount, kind ("total" for subtotals,
        "change" for the signed steps between them): gross_revenue → discount → revenue →
        cogs → gross_margin → rebates → each pool → net_profit.
    whale
        The whale curve (see :func:`tierwise.features.whale.whale_curve`).
    headline
        Whale-curve headline figures and P&L totals for manifest.json.
    absent_pools
        ``{"pool": name, "reason": text}`` for every figure that could not be computed.
    pool_sources
        Pool → where its events came from.
    reconciliation
        Totals from the inputs next to the customers' sums, and ``reconciled``.
    period
        The P&L period.
    """

    customers: pa.Table
    breakdown: pa.Table
    whale: pa.Table
    headline: dict[str, Any]
    absent_pools: list[dict[str, str]]
    pool_sources: dict[str, str]
    reconciliation: dict[str, Any]
    period: Period
    ease_components: list[str] = field(default_factory=list)

    def manifest(self) -> dict[str, Any]:
        """The stage's entry for manifest.json (JSON-ready)."""
        return {
            "period": self.period.to_dict(),
            "headline": self.headline,
            "absent_pools": self.absent_pools,
            "pool_sources": self.pool_sources,
            "reconciliation": self.reconciliation,
            "ease_components": self.ease_components,
        }


def _num(t: pa.Table, name: str, fill: float | None = None) -> np.ndarray:
    """A column as float64 NumPy (nulls → NaN, or ``fill``); all-NaN when absent."""
    if name not in t.column_names:
        return np.full(t.num_rows, np.nan if fill is None else fill)
    col = t.column(name)
    out = (
        np.asarray(col.to_numpy(zero_copy_only=False), dtype=float) if t.num_rows else (np.zeros(0))
    )
    if fill is not None:
        out = np.where(np.isnan(out), fill, out)
    return out


def _arr(x: np.ndarray) -> pa.Array:
    """Float array with NaN as null."""
    return pa.array(np.asarray(x, dtype=float), from_pandas=True)


def _count_arr(x: np.ndarray) -> pa.Array:
    x = np.asarray(x, dtype=float)
    mask = np.isnan(x)
    return pa.array(np.where(mask, 0, x).astype(np.int64), mask=mask)


def profitability_stage(
    tx: ir.Table,
    *,
    activities: ir.Table | None = None,
    payments: ir.Table | None = None,
    customers: ir.Table | None = None,
    as_of: _dt.date | _dt.datetime | str,
    settings: ProfitabilitySettings | None = None,
    margin_rate: float | None = None,
) -> ProfitabilityResult:
    """Each customer's full P&L over the period, the whale curve and the ease score.

    Parameters
    ----------
    tx
        Canonical transactions (Ibis): customer_id, date, revenue (net, negative on
        returns), and where available order_id, quantity, cost, list_revenue, is_return,
        is_cancel.
    activities, payments, customers
        Canonical optional tables (Ibis) or ``None``.
    as_of
        The analysis date; the period is the ``settings.period_months`` months up to it.
    settings
        The ``[profitability]`` section (defaults when ``None``).
    margin_rate
        Gross margin as a fraction of revenue for lines without a cost (the ``[features]``
        margin_rate); ``None`` leaves such customers' margin empty.

    Returns
    -------
    ProfitabilityResult

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> from tierwise.engine import Engine
    >>> eng = Engine()
    >>> tx = eng.from_arrow(pa.table({
    ...     "customer_id": ["a", "a", "b"], "date": [dt.date(2024, 3, 1)] * 3,
    ...     "order_id": ["1", "1", "2"], "revenue": [600.0, 400.0, 100.0],
    ...     "cost": [300.0, 200.0, 60.0]}))
    >>> res = profitability_stage(tx, as_of=dt.date(2024, 6, 30))
    >>> # a: 500 margin - 20 order - 2 lines x 2 - 40 delivery (one per order);
    >>> # b: 40 margin - 20 - 2 - 25 small-order surcharge - 40
    >>> res.customers.column("net_profit").to_pylist()
    [436.0, -47.0]
    >>> [p["pool"] for p in res.absent_pools]
    ['discount', 'visits', 'calls', 'emails', 'quotes', 'support', 'other', 'late_payment']
    """
    s = settings or ProfitabilitySettings()
    if margin_rate is not None and not 0.0 <= margin_rate <= 1.0:
        raise SettingsError(f"[features] margin_rate: must be between 0 and 1 (got {margin_rate})")
    period = period_for(as_of, s.period_months)
    agg = customer_aggregates(
        tx,
        activities=activities,
        payments=payments,
        customers=customers,
        period=period,
        settings=s,
    )
    n = agg.num_rows
    absent: list[dict[str, str]] = []
    sources: dict[str, str] = {}

    # -- revenue, discount, rebates, margin ---------------------------------------------
    revenue = _num(agg, "revenue", 0.0)
    sale_revenue = _num(agg, "sale_revenue", 0.0)
    return_revenue = _num(agg, "return_revenue", 0.0)
    list_revenue = _num(agg, "list_revenue")
    discount = _num(agg, "discount")
    has_list = bool((~np.isnan(list_revenue)).any())
    if not has_list:
        absent.append({"pool": "discount", "reason": "no list_revenue in the transactions"})

    rebate_rate = np.where(
        np.isnan(_num(agg, "rebate_rate")), s.rebate_rate, _num(agg, "rebate_rate")
    )
    rebates = rebate_rate * np.maximum(revenue, 0.0)
    if s.rebate_column and customers is None:
        sources["rebates"] = (
            f"rebate_rate {s.rebate_rate} for every customer: no customers table to read "
            f"rebate_column {s.rebate_column!r} from"
        )
    elif s.rebate_column:
        sources["rebates"] = (
            f"customers column {s.rebate_column!r}; rebate_rate {s.rebate_rate} where empty"
        )
    else:
        sources["rebates"] = f"rebate_rate {s.rebate_rate}"

    cost_known = _num(agg, "cost", 0.0)
    revenue_no_cost = _num(agg, "revenue_no_cost", 0.0)
    lines_no_cost = _num(agg, "lines_no_cost", 0.0)
    if margin_rate is not None:
        cogs = cost_known + (1.0 - margin_rate) * revenue_no_cost
        if (lines_no_cost > 0).any():
            sources["cogs"] = f"cost column; margin_rate {margin_rate} where cost is missing"
        else:
            sources["cogs"] = "cost column"
    else:
        cogs = np.where(lines_no_cost > 0, np.nan, cost_known)
        total_lines = float(_num(agg, "n_lines", 0.0).sum())
        missing = float(lines_no_cost.sum())
        if total_lines > 0 and missing == total_lines:
            sources["cogs"] = "none"
            absent.append(
                {
                    "pool": "cogs",
                    "reason": "no cost in the transactions and no [features] margin_rate; "
                    "gross margin and net profit cannot be computed",
                }
            )
        elif missing > 0:
            k = int((lines_no_cost > 0).sum())
            sources["cogs"] = (
                f"cost column; {k} customers have lines without cost and no margin_rate: "
                "their gross margin is empty"
            )
        else:
            sources["cogs"] = "cost column"
    gross_margin = revenue - cogs

    # -- cost-to-serve pools ------------------------------------------------------------
    n_orders = _num(agg, "n_orders", 0.0)
    counts: dict[str, np.ndarray] = {
        "orders": n_orders,
        "order_lines": _num(agg, "n_order_lines", 0.0),
        "small_orders": _num(agg, "n_small_orders", 0.0),
    }
    costs: dict[str, np.ndarray] = {
        "orders": counts["orders"] * s.cost_per_order,
        "order_lines": counts["order_lines"] * s.cost_per_order_line,
        "small_orders": counts["small_orders"] * s.small_order_surcharge,
    }
    sources.update(orders="transactions", order_lines="transactions", small_orders="transactions")

    fallback = {
        "deliveries": (n_orders, s.cost_per_delivery, "transactions (one delivery per order)"),
        "returns": (
            _num(agg, "n_credit_notes", 0.0),
            s.cost_per_return,
            "transactions (one return per credit note)",
        ),
        "order_changes": (
            _num(agg, "n_cancelled_orders", 0.0),
            s.cost_per_order_change,
            "transactions (one change per cancelled order)",
        ),
    }
    activity_only = ("visits", "calls", "emails", "quotes", "support", "other")
    have_acts = activities is not None
    act_cost_total = np.zeros(n)
    for pool in (*fallback, *activity_only):
        n_act = _num(agg, f"n_act_{pool}", 0.0)
        c_act = _num(agg, f"cost_act_{pool}", 0.0)
        if have_acts:
            act_cost_total = act_cost_total + c_act
        if have_acts and (pool in activity_only or n_act.sum() > 0):
            counts[pool], costs[pool] = n_act, c_act
            sources[pool] = "activities"
        elif pool in fallback:
            ev, rate, src = fallback[pool]
            counts[pool], costs[pool] = ev, ev * rate
            why = "no activities table" if not have_acts else f"no {pool} activities in the period"
            sources[pool] = f"{src}: {why}"
        else:
            counts[pool] = np.full(n, np.nan)
            costs[pool] = np.full(n, np.nan)
            absent.append({"pool": pool, "reason": "no activities table"})

    if payments is not None:
        n_inv = _num(agg, "n_invoices", 0.0)
        counts["late_payment"] = _num(agg, "n_invoices_late", 0.0)
        costs["late_payment"] = _num(agg, "late_payment_cost", 0.0)
        sources["late_payment"] = "payments"
    else:
        n_inv = np.full(n, np.nan)
        counts["late_payment"] = np.full(n, np.nan)
        costs["late_payment"] = np.full(n, np.nan)
        absent.append({"pool": "late_payment", "reason": "no payments table"})

    absent_names = {a["pool"] for a in absent}
    present = [p for p in POOLS if p not in absent_names]
    cost_to_serve = np.zeros(n)
    for p in present:
        cost_to_serve = cost_to_serve + costs[p]
    net_profit = gross_margin - rebates - cost_to_serve
    with np.errstate(invalid="ignore", divide="ignore"):
        net_margin_pct = np.where(revenue > 0, net_profit / revenue, np.nan)
        gross_margin_pct = np.where(revenue > 0, gross_margin / revenue, np.nan)
        discount_depth = np.where(list_revenue > 0, discount / list_revenue, np.nan)
    # profitable per transaction (positive gross margin) but not all in; unknown (null) where
    # the gross margin, hence the net profit, cannot be computed
    profit_known = ~np.isnan(net_profit)
    flag = (gross_margin > 0) & (net_profit < 0)

    # -- ease of doing business ---------------------------------------------------------
    components, ease_names = _ease_components(
        agg,
        s,
        n_inv=n_inv,
        n_orders=n_orders,
        sale_revenue=sale_revenue,
        return_revenue=return_revenue,
        revenue=revenue,
        discount_depth=discount_depth,
        order_changes=counts["order_changes"],
        visits=counts["visits"],
        calls=counts["calls"],
        gross_margin=gross_margin,
    )
    scores, ease_total = ease_scores(components, s.ease_weights)

    # -- tables ---------------------------------------------------------------------------
    cols: dict[str, Any] = {
        "customer_id": agg.column("customer_id"),
        "revenue": _arr(revenue),
        "list_revenue": _arr(list_revenue),
        "discount": _arr(discount),
        "discount_depth": _arr(discount_depth),
        "rebates": _arr(rebates),
        "cogs": _arr(cogs),
        "gross_margin": _arr(gross_margin),
        "gross_margin_pct": _arr(gross_margin_pct),
    }
    for p in POOLS:
        cols[f"n_{p}"] = _count_arr(counts[p])
    cols["n_invoices"] = _count_arr(n_inv)
    for p in POOLS:
        cols[f"cts_{p}"] = _arr(costs[p])
    cols.update(
        cost_to_serve=_arr(cost_to_serve),
        net_profit=_arr(net_profit),
        net_margin_pct=_arr(net_margin_pct),
        profitable_per_order_unprofitable_all_in=pa.array(flag, mask=~profit_known),
    )
    for name, raw in components.items():
        cols[_RAW_NAMES[name]] = _arr(raw)
    for name, sc in scores.items():
        cols[f"ease_{name}"] = _arr(sc)
    cols["ease_score"] = _arr(ease_total)
    customers_out = pa.table(cols)

    breakdown = _breakdown(
        agg.column("customer_id"),
        revenue=revenue,
        discount=np.nan_to_num(discount) if has_list else None,
        cogs=cogs,
        rebates=rebates,
        costs={p: costs[p] for p in present},
        net_profit=net_profit,
    )
    whale = whale_curve(agg.column("customer_id"), net_profit)
    headline = whale_headline(whale, n_without_profit=int(np.isnan(net_profit).sum()))
    headline.update(
        total_revenue=float(revenue.sum()),
        # over the customers whose gross margin is known; null when nobody's is
        total_gross_margin=(
            float(np.nansum(gross_margin)) if (~np.isnan(gross_margin)).any() else None
        ),
        total_rebates=float(rebates.sum()),
        total_cost_to_serve=float(cost_to_serve.sum()),
        cost_to_serve_by_pool={p: float(costs[p].sum()) for p in present},
        # among the customers with a net profit (those in the whale curve)
        share_of_customers_profitable_per_order_unprofitable_all_in=(
            float(flag[profit_known].mean()) if profit_known.any() else None
        ),
    )

    reconciliation: dict[str, Any] = {
        "customers": n,
        "revenue_customers": float(revenue.sum()),
        "lines_customers": float(_num(agg, "n_lines", 0.0).sum()),
    }
    if have_acts:
        reconciliation["activity_cost_pools"] = float(act_cost_total.sum())
    if payments is not None:
        reconciliation["late_payment_cost_customers"] = float(costs["late_payment"].sum())
    if s.reconcile:
        tot = input_totals(tx, activities=activities, payments=payments, period=period, settings=s)
        reconciliation["revenue_transactions"] = tot["revenue"]
        reconciliation["lines_transactions"] = tot["lines"]
        checks = [
            ("revenue_customers", "revenue_transactions"),
            ("lines_customers", "lines_transactions"),
        ]
        if have_acts:
            reconciliation["activity_cost_input"] = tot["activity_cost"]
            checks.append(("activity_cost_pools", "activity_cost_input"))
        if payments is not None:
            reconciliation["late_payment_cost_input"] = tot["late_payment_cost"]
            checks.append(("late_payment_cost_customers", "late_payment_cost_input"))
        reconciliation["reconciled"] = all(
            abs(reconciliation[a] - reconciliation[b])
            <= _RTOL * max(1.0, abs(reconciliation[a]), abs(reconciliation[b]))
            for a, b in checks
        )

    return ProfitabilityResult(
        customers=customers_out,
        breakdown=breakdown,
        whale=whale,
        headline=headline,
        absent_pools=absent,
        pool_sources=sources,
        reconciliation=reconciliation,
        period=period,
        ease_components=ease_names,
    )


_RAW_NAMES = {
    "payment_days_late": "avg_days_late",
    "share_invoices_late": "share_invoices_late",
    "order_size": "order_size_ratio",
    "order_changes": "order_change_rate",
    "returns": "returns_rate",
    "discount_depth": "discount_depth_vs_peers",
    "sales_effort": "effort_per_margin_unit",
}


def _ease_components(
    agg: pa.Table,
    s: ProfitabilitySettings,
    *,
    n_inv: np.ndarray,
    n_orders: np.ndarray,
    sale_revenue: np.ndarray,
    return_revenue: np.ndarray,
    revenue: np.ndarray,
    discount_depth: np.ndarray,
    order_changes: np.ndarray,
    visits: np.ndarray,
    calls: np.ndarray,
    gross_margin: np.ndarray,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Raw ease components per customer (NaN where not measurable)."""
    n = agg.num_rows
    nan = np.full(n, np.nan)
    comps: dict[str, np.ndarray] = dict.fromkeys(_RAW_NAMES, nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        has_inv = np.nan_to_num(n_inv) > 0
        safe_inv = np.where(has_inv, n_inv, 1.0)
        comps["payment_days_late"] = np.where(
            has_inv, _num(agg, "days_late_sum", 0.0) / safe_inv, np.nan
        )
        comps["share_invoices_late"] = np.where(
            has_inv, _num(agg, "n_invoices_late", 0.0) / safe_inv, np.nan
        )
        has_orders = n_orders > 0
        safe_orders = np.where(has_orders, n_orders, 1.0)
        if s.economic_order > 0:
            comps["order_size"] = np.where(
                has_orders, sale_revenue / safe_orders / s.economic_order, np.nan
            )
        comps["order_changes"] = np.where(has_orders, order_changes / safe_orders, np.nan)
        comps["returns"] = np.where(
            sale_revenue > 0,
            -return_revenue / np.where(sale_revenue > 0, sale_revenue, 1.0),
            np.nan,
        )
        if not np.isnan(discount_depth).all():
            industry = agg.column("industry") if "industry" in agg.column_names else None
            comps["discount_depth"] = peer_relative(
                discount_depth,
                industry,
                _num(agg, "employees"),
                revenue,
                s.size_bands,
                s.revenue_bands,
            )
        if not np.isnan(visits).all():
            effort = np.nan_to_num(visits) + np.nan_to_num(calls)
            per = gross_margin / s.effort_margin_unit
            per_effort = np.where(per > 0, effort / np.where(per > 0, per, 1.0), np.inf)
            comps["sales_effort"] = np.where(
                np.isnan(gross_margin), np.nan, np.where(effort == 0, 0.0, per_effort)
            )
    return comps, [k for k, v in comps.items() if not np.isnan(v).all()]


_TOTAL, _CHANGE = "total", "change"


def _breakdown(
    customer_id: pa.ChunkedArray,
    *,
    revenue: np.ndarray,
    discount: np.ndarray | None,
    cogs: np.ndarray,
    rebates: np.ndarray,
    costs: dict[str, np.ndarray],
    net_profit: np.ndarray,
) -> pa.Table:
    """The P&L steps per customer in long form (customer, then step order)."""
    steps: list[tuple[str, str, np.ndarray]] = []
    if discount is not None:
        steps += [
            ("gross_revenue", _TOTAL, revenue + discount),
            ("discount", _CHANGE, -discount),
        ]
    steps += [
        ("revenue", _TOTAL, revenue),
        ("cogs", _CHANGE, -cogs),
        ("gross_margin", _TOTAL, revenue - cogs),
        ("rebates", _CHANGE, -rebates),
    ]
    steps += [(p, _CHANGE, -c) for p, c in costs.items()]
    steps.append(("net_profit", _TOTAL, net_profit))
    n, k = len(revenue), len(steps)
    amounts = np.column_stack([a for _, _, a in steps]).ravel() if n else np.zeros(0)
    idx = np.repeat(np.arange(n), k)
    step_codes = np.tile(np.arange(k, dtype=np.int32), n)
    names = pa.array([name for name, _, _ in steps])
    kinds = pa.array([kind for _, kind, _ in steps])
    kind_codes = pa.array(
        np.tile(np.array([0 if kd == _TOTAL else 1 for _, kd, _ in steps], np.int32), n)
    )
    return pa.table(
        {
            "customer_id": customer_id.take(pa.array(idx)),
            "step": pa.DictionaryArray.from_arrays(pa.array(step_codes), names),
            "amount": _arr(amounts),
            "kind": pa.DictionaryArray.from_arrays(
                kind_codes, pa.array([_TOTAL, _CHANGE]) if kinds else kinds
            ),
        }
    )
