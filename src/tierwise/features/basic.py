"""First per-customer figures from the transactions, computed in the engine.

One aggregation of the canonical transactions per customer, and one of their orders (per
customer and order, then per customer), give, per customer: first and last purchase date,
orders, lines, units, revenue (net of returns), returns, cost, gross margin, average order
value, recency, tenure, and orders in the last window against the window before.

An *order* is a distinct ``order_id`` with at least one purchase line left after its
cancellations (see :mod:`tierwise.features.cancellations`); lines without an order_id count
one order per customer and day. An order cancelled in full is no order and no purchase
date; a partly cancelled one counts with its reduced value and units. Returns and unpaired
cancellations are not orders; their (negative) revenue is netted into revenue and reported
as ``returns_value``. Sums over a window (``revenue_12m``) take a cancellation off its
purchase's date.
"""

from __future__ import annotations

import calendar
import datetime as dt

import ibis
import ibis.expr.types as ir

from ..engine import exact_sum, sums_fit_narrow
from ..settings import FeatureSettings
from .cancellations import net_lines

__all__ = ["FEATURE_COLUMNS", "customer_features", "exact_sum"]

#: Output columns, in order (the public names in customers.parquet).
FEATURE_COLUMNS = (
    "customer_id",
    "first_purchase",
    "last_purchase",
    "n_orders",
    "n_lines",
    "units",
    "revenue",
    "revenue_12m",
    "returns_value",
    "n_return_lines",
    "cost",
    "gross_margin",
    "gross_margin_pct",
    "avg_order_value",
    "recency_days",
    "tenure_days",
    "orders_last_period",
    "orders_prev_period",
    "order_trend",
)


def _months_before(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 - months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def customer_features(tx: ir.Table, *, as_of: dt.date, settings: FeatureSettings) -> ir.Table:
    """Per-customer figures from canonical transactions.

    Parameters
    ----------
    tx
        Canonical transactions (see ``docs/architecture.md``), rows on or before ``as_of``,
        after :func:`~tierwise.features.cancellations.pair_cancellations` (without it every
        cancellation counts as a return).
    as_of
        Analysis date: recency and tenure are measured back from it, in days.
    settings
        ``[features]``: ``margin_rate`` for lines without cost, ``window_months`` for the
        order trend, ``recent_months`` for ``revenue_12m``.

    Returns
    -------
    ibis.Table
        One row per customer with :data:`FEATURE_COLUMNS`. ``order_trend`` is orders in the
        last window divided by orders in the window before (NULL when there were none
        before). ``revenue_12m`` is net revenue in the ``recent_months`` (12) months up to
        ``as_of``.

    Examples
    --------
    >>> import pyarrow as pa, datetime as dt
    >>> from tierwise.engine import Engine
    >>> eng = Engine()
    >>> tx = eng.from_arrow(pa.table({
    ...     "customer_id": ["A", "A", "B"], "date": [dt.date(2024, 1, 1), dt.date(2024, 3, 1),
    ...     dt.date(2024, 2, 1)], "revenue": [100.0, 50.0, 20.0], "order_id": ["1", "2", "3"],
    ...     "quantity": [1.0, 1.0, 2.0], "cost": [60.0, 30.0, None],
    ...     "is_return": [False, False, False], "is_cancel": [False, False, False]}))
    >>> f = eng.to_arrow(customer_features(tx, as_of=dt.date(2024, 3, 31),
    ...                  settings=FeatureSettings(margin_rate=0.25)).order_by("customer_id"))
    >>> f.column("gross_margin").to_pylist()
    [60.0, 5.0]
    """
    w = settings.window_months
    last_start = _months_before(as_of, w)
    prev_start = _months_before(as_of, 2 * w)
    recent_start = _months_before(as_of, settings.recent_months)
    as_of_lit = ibis.literal(as_of, "date")

    t = net_lines(tx)
    buy = t.is_purchase
    if settings.margin_rate is not None:
        line_cost = ibis.coalesce(t.cost, t.revenue * (1 - settings.margin_rate))
    else:
        line_cost = t.cost
    zero = ibis.literal(0.0)

    # The sums per customer straight from the lines; the orders apart, from the purchase
    # lines only: one row per customer and order, then their count per customer (so no
    # COUNT(DISTINCT …) runs over the lines, and the sums are not carried through the
    # order rows). Exact sums are taken in 18 digits where every value summed allows it.
    summed = {
        "units": ibis.ifelse(buy, t.net_quantity, zero),
        "revenue": t.revenue,
        "revenue_12m": ibis.ifelse(t.date > recent_start, t.net_revenue, zero),
        "returns_value": ibis.ifelse(t.is_credit, -t.revenue, zero),
        "sale_revenue": ibis.ifelse(buy, t.net_revenue, zero),
        "cost": line_cost,
    }
    narrow = sums_fit_narrow(t, list(summed.values()), "the transactions' amounts")
    per = t.group_by(customer_id=t.customer_id).aggregate(
        first_purchase=ibis.ifelse(buy, t.date, ibis.null("date")).min(),
        last_purchase=ibis.ifelse(buy, t.date, ibis.null("date")).max(),
        n_lines=t.count(),
        n_return_lines=t.is_credit.cast("int64").sum(),
        n_cost_missing=line_cost.isnull().cast("int64").sum(),
        **{k: exact_sum(v, narrow=narrow) for k, v in summed.items()},
    )
    b = t.filter(buy)
    o = b.group_by(
        customer_id=b.customer_id, _order=ibis.coalesce(b.order_id, "day:" + b.date.cast(str))
    ).aggregate(
        in_last=((b.date > last_start) & (b.date <= as_of_lit)).any(),
        in_prev=((b.date > prev_start) & (b.date <= last_start)).any(),
    )
    orders = o.group_by(o.customer_id).aggregate(
        n_orders=o.count(),
        orders_last_period=o.in_last.cast("int64").sum(),
        orders_prev_period=o.in_prev.cast("int64").sum(),
    )
    g = per.left_join(orders, "customer_id")
    g = g.select(
        *(c for c in per.columns),
        **{c: g[c].fill_null(0) for c in ("n_orders", "orders_last_period", "orders_prev_period")},
    )
    gross_margin = ibis.ifelse(g.n_cost_missing == 0, g.revenue - g.cost, ibis.null("float64"))
    return g.select(
        customer_id=g.customer_id,
        first_purchase=g.first_purchase,
        last_purchase=g.last_purchase,
        n_orders=g.n_orders.cast("int64"),
        n_lines=g.n_lines.cast("int64"),
        units=g.units.fill_null(0.0),
        revenue=g.revenue,
        revenue_12m=g.revenue_12m,
        returns_value=g.returns_value,
        n_return_lines=g.n_return_lines,
        cost=ibis.ifelse(g.n_cost_missing == 0, g.cost, ibis.null("float64")),
        gross_margin=gross_margin,
        gross_margin_pct=ibis.ifelse(g.revenue > 0, gross_margin / g.revenue, ibis.null("float64")),
        avg_order_value=ibis.ifelse(
            g.n_orders > 0, g.sale_revenue / g.n_orders, ibis.null("float64")
        ),
        recency_days=as_of_lit.delta(g.last_purchase, unit="day").cast("int64"),
        tenure_days=as_of_lit.delta(g.first_purchase, unit="day").cast("int64"),
        orders_last_period=g.orders_last_period.cast("int64"),
        orders_prev_period=g.orders_prev_period.cast("int64"),
        order_trend=ibis.ifelse(
            g.orders_prev_period > 0,
            g.orders_last_period.cast("float64") / g.orders_prev_period,
            ibis.null("float64"),
        ),
    )
