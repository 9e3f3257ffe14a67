"""Engine side of the profitability stage: the customer-sized aggregates of the inputs.

Everything here builds Ibis expressions over the canonical tables (transactions, activities,
payments, customers); nothing is executed except :func:`customer_aggregates`, which runs the
one query that brings the customer-sized result back as Arrow, and :func:`input_totals`, which
computes the independent totals used to reconcile it.

The transactions are read once: lines are grouped by (customer, order) and the orders by
customer in the same query, so that order values (for the small-drop surcharge) and order
counts come out of one scan without ``COUNT(DISTINCT ...)``.

An order is identified by ``order_id``; lines without one are grouped by (customer, date),
i.e. each customer-day counts as one order.
"""

from __future__ import annotations

import calendar
import datetime as _dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from ..engine import fetch
from ..errors import InputError, SettingsError
from ..settings.profitability import ACTIVITY_POOLS, ProfitabilitySettings
from .basic import exact_sum
from .cancellations import net_lines

__all__ = [
    "Period",
    "activity_costs",
    "customer_aggregates",
    "input_totals",
    "period_for",
]


@dataclass(frozen=True)
class Period:
    """The P&L period: dates after ``start`` (exclusive) up to ``end`` (inclusive).

    ``start`` is ``None`` for the whole history.
    """

    start: _dt.date | None
    end: _dt.date

    def contains(self, d: ir.DateValue) -> ir.BooleanValue:
        """An Ibis predicate: the date lies in the period."""
        inside = d <= ibis.literal(self.end)
        if self.start is not None:
            inside = inside & (d > ibis.literal(self.start))
        return inside

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_exclusive": self.start.isoformat() if self.start else None,
            "end_inclusive": self.end.isoformat(),
        }


def _as_date(value: _dt.date | _dt.datetime | str) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise SettingsError(f"as_of: not a date (got {value!r}); use YYYY-MM-DD") from exc


def period_for(as_of: _dt.date | _dt.datetime | str, months: int) -> Period:
    """The period of ``months`` calendar months ending at ``as_of`` (0: the whole history).

    Examples
    --------
    >>> period_for(_dt.date(2024, 2, 29), 12)
    Period(start=datetime.date(2023, 2, 28), end=datetime.date(2024, 2, 29))
    >>> period_for("2024-06-30", 0).start is None
    True
    """
    end = _as_date(as_of)
    if months == 0:
        return Period(None, end)
    y, m0 = divmod(end.year * 12 + end.month - 1 - months, 12)
    day = min(end.day, calendar.monthrange(y, m0 + 1)[1])
    return Period(_dt.date(y, m0 + 1, day), end)


def _column(t: ir.Table, name: str, kind: str) -> ir.Value:
    """``t[name]`` cast to ``kind``, or a typed NULL when the table lacks the column."""
    if name in t.columns:
        return t[name].cast(kind)
    return ibis.null().cast(kind)


def _require(t: ir.Table, table: str, names: tuple[str, ...]) -> None:
    missing = [n for n in names if n not in t.columns]
    if missing:
        raise InputError(
            f"the {table} table has no column {missing[0]!r}",
            file=table,
            column=missing[0],
            hint="map it in tierwise.toml or rename it in the file",
        )


# -- transactions ---------------------------------------------------------------------


def _transactions_by_customer(
    tx: ir.Table, period: Period, settings: ProfitabilitySettings
) -> ir.Table:
    _require(tx, "transactions", ("customer_id", "date", "revenue"))
    revenue = tx.revenue.cast("float64")
    is_cancel = _column(tx, "is_cancel", "boolean").fill_null(False)
    is_return = tx.is_return.fill_null(False) if "is_return" in tx.columns else revenue < 0
    if "cancel_pairing" in tx.columns:
        # cancellations paired with their purchases (features.cancellations): a purchase
        # cancelled in full is no sale (no order, line or delivery to serve), one cancelled
        # in part counts what is left of it
        tx = net_lines(tx)
        sale, ret, sale_value = tx.is_purchase, tx.is_credit, tx.net_revenue
        cancel = tx.is_cancel.fill_null(False)
    else:
        sale, ret, cancel, sale_value = (
            ~is_return & ~is_cancel,
            is_return & ~is_cancel,
            is_cancel,
            revenue,
        )
    order_id = _column(tx, "order_id", "string")
    cost = _column(tx, "cost", "float64")
    list_revenue = _column(tx, "list_revenue", "float64")
    lines = tx.filter(period.contains(tx.date.cast("date"))).select(
        customer_id=tx.customer_id.cast("string"),
        order_id=order_id,
        # a line without an order number belongs to its customer-day
        order_day=ibis.ifelse(order_id.isnull(), tx.date.cast("date"), ibis.null("date")),
        revenue=tx.revenue.cast("float64"),
        sale_value=sale_value,
        sale=sale,
        ret=ret,
        cancel=cancel,
        cost=cost,
        list_revenue=list_revenue,
    )
    orders = lines.group_by(["customer_id", "order_id", "order_day"]).aggregate(
        revenue=exact_sum(lines.revenue),
        sale_revenue=exact_sum(ibis.ifelse(lines.sale, lines.sale_value, 0.0)),
        return_revenue=exact_sum(ibis.ifelse(lines.ret, lines.revenue, 0.0)),
        list_revenue=exact_sum(lines.list_revenue),
        discount=exact_sum(lines.list_revenue - lines.revenue),
        cost=exact_sum(lines.cost),
        revenue_no_cost=exact_sum(ibis.ifelse(lines.cost.isnull(), lines.revenue, 0.0)),
        lines_no_cost=lines.cost.isnull().cast("int64").sum(),
        sale_lines=lines.sale.cast("int64").sum(),
        lines=lines.count(),
        has_sale=lines.sale.any(),
        has_return=lines.ret.any(),
        has_cancel=lines.cancel.any(),
    )
    small = orders.has_sale & (orders.sale_revenue < settings.drop_size_threshold)
    return orders.group_by("customer_id").aggregate(
        revenue=exact_sum(orders.revenue),
        sale_revenue=exact_sum(orders.sale_revenue),
        return_revenue=exact_sum(orders.return_revenue),
        list_revenue=exact_sum(orders.list_revenue),
        discount=exact_sum(orders.discount),
        cost=exact_sum(orders.cost),
        revenue_no_cost=exact_sum(orders.revenue_no_cost),
        lines_no_cost=orders.lines_no_cost.sum(),
        n_lines=orders.lines.sum(),
        n_order_lines=orders.sale_lines.sum(),
        n_orders=orders.has_sale.cast("int64").sum(),
        n_credit_notes=orders.has_return.cast("int64").sum(),
        n_cancelled_orders=orders.has_cancel.cast("int64").sum(),
        n_small_orders=small.cast("int64").sum(),
    )


# -- activities -----------------------------------------------------------------------


def activity_costs(
    activities: ir.Table, period: Period, settings: ProfitabilitySettings
) -> ir.Table:
    """Each activity in the period with its pool and its cost (customer_id, pool, cost).

    Cost: the recorded ``cost`` (when ``use_recorded_cost``), else ``duration_minutes`` ×
    the pool's per-minute rate (when set), else the pool's flat rate.

    Examples
    --------
    >>> import pyarrow as pa, datetime as dt
    >>> from tierwise.engine import Engine
    >>> acts = Engine().from_arrow(pa.table({"customer_id": ["a"], "date": [dt.date(2024, 1, 2)],
    ...                                      "type": ["visit"]}))
    >>> s = ProfitabilitySettings()
    >>> activity_costs(acts, period_for("2024-06-30", 12), s).to_pyarrow().column("cost")[0]
    <pyarrow.DoubleScalar: 150.0>
    """
    _require(activities, "activities", ("customer_id", "date", "type"))
    flat = {
        "visits": settings.cost_per_visit,
        "calls": settings.cost_per_call,
        "emails": settings.cost_per_email,
        "deliveries": settings.cost_per_delivery,
        "returns": settings.cost_per_return,
        "order_changes": settings.cost_per_order_change,
        "quotes": settings.cost_per_quote,
        "support": settings.cost_per_support_case,
        "other": settings.cost_per_other_activity,
    }
    a = activities.filter(period.contains(activities.date.cast("date")))
    # canonical types are trimmed, lower case, spaces as underscores (validate); case and
    # spaces are normalised again here for tables passed straight to the API. No strip(): Ibis
    # compiles it for Spark as TRIM(' \t\n\r\v\f' FROM ...), which Spark reads as also
    # trimming the letters 'v' and 'f' ("visit" became "isit", costed as "other").
    kind = a.type.cast("string").lower().replace(" ", "_")
    pool = (
        kind.substitute(settings.activity_pools, else_="other")
        if settings.activity_pools
        else (ibis.literal("other"))
    )
    a = a.mutate(_pool=pool)
    flat_rate = a._pool.substitute(flat, else_=0.0).cast("float64")
    cost = flat_rate
    if settings.cost_per_minute:
        minute_rate = a._pool.substitute(settings.cost_per_minute, else_=ibis.null("float64"))
        cost = ibis.coalesce(
            _column(a, "duration_minutes", "float64") * minute_rate.cast("float64"), cost
        )
    if settings.use_recorded_cost:
        cost = ibis.coalesce(_column(a, "cost", "float64"), cost)
    return a.select(customer_id=a.customer_id.cast("string"), pool=a._pool, cost=cost)


def unmapped_activity_types(activities: ir.Table, settings: ProfitabilitySettings) -> ir.Table:
    """The activity types no cost pool names (``activity_pools``), with how many activities
    each has, most frequent first (in the engine): type, n.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from tierwise.engine import Engine
    >>> acts = Engine().from_arrow(pa.table({"type": ["Besuch", "visit", "besuch", "Anruf"]}))
    >>> unmapped_activity_types(acts, ProfitabilitySettings()).to_pyarrow().to_pylist()
    [{'type': 'besuch', 'n': 2}, {'type': 'anruf', 'n': 1}]
    """
    kind = activities.type.cast("string").lower().replace(" ", "_")
    t = activities.select(type=kind)
    unmapped = t.type.notnull()
    if settings.activity_pools:
        unmapped = unmapped & ~t.type.isin(list(settings.activity_pools))
    t = t.filter(unmapped)
    return t.group_by("type").aggregate(n=t.count()).order_by([ibis.desc("n"), "type"])


def _activities_by_customer(
    activities: ir.Table, period: Period, settings: ProfitabilitySettings
) -> ir.Table:
    a = activity_costs(activities, period, settings)
    aggs: dict[str, ir.Value] = {}
    for p in ACTIVITY_POOLS:
        hit = a.pool == p
        aggs[f"n_act_{p}"] = hit.cast("int64").sum()
        aggs[f"cost_act_{p}"] = exact_sum(ibis.ifelse(hit, a.cost, 0.0))
    return a.group_by("customer_id").aggregate(**aggs)


# -- payments -------------------------------------------------------------------------


def _late_days(payments: ir.Table, period: Period, settings: ProfitabilitySettings) -> ir.Table:
    _require(payments, "payments", ("customer_id", "due_date", "amount"))
    p = payments.filter(period.contains(payments.due_date.cast("date")))
    end = ibis.literal(period.end)
    paid = _column(p, "paid_date", "date")
    # unpaid, or paid after the analysis date: late up to the analysis date
    settled = ibis.least(paid.fill_null(end), end)
    days = ibis.greatest(settled.delta(p.due_date.cast("date"), unit="day"), 0)
    financed = ibis.greatest(days - settings.payment_grace_days, 0)
    amount = ibis.greatest(p.amount.cast("float64").fill_null(0.0), 0.0)
    return p.select(
        customer_id=p.customer_id.cast("string"),
        days=days.cast("float64"),
        late=(days > settings.payment_grace_days),
        unpaid=paid.isnull() | (paid > end),
        financing=financed.cast("float64") * amount * (settings.cost_of_capital / 365.0),
    )


def _payments_by_customer(
    payments: ir.Table, period: Period, settings: ProfitabilitySettings
) -> ir.Table:
    p = _late_days(payments, period, settings)
    return p.group_by("customer_id").aggregate(
        n_invoices=p.count(),
        n_invoices_late=p.late.cast("int64").sum(),
        n_invoices_open=p.unpaid.cast("int64").sum(),
        days_late_sum=exact_sum(p.days),
        late_payment_cost=exact_sum(p.financing),
    )


# -- customers ------------------------------------------------------------------------


def _customer_attributes(customers: ir.Table, settings: ProfitabilitySettings) -> ir.Table:
    _require(customers, "customers", ("customer_id",))
    if settings.rebate_column and settings.rebate_column not in customers.columns:
        raise SettingsError(
            f"[profitability] rebate_column: the customers table has no column "
            f"{settings.rebate_column!r}"
        )
    c = customers.select(
        customer_id=customers.customer_id.cast("string"),
        industry=_column(customers, "industry", "string"),
        employees=_column(customers, "employees", "float64"),
        rebate_rate=(
            customers[settings.rebate_column].cast("float64")
            if settings.rebate_column
            else ibis.null("float64")
        ),
    )
    # one row per customer even if the master repeats one (deterministic: the max)
    return c.group_by("customer_id").aggregate(
        industry=c.industry.max(), employees=c.employees.max(), rebate_rate=c.rebate_rate.max()
    )


# -- the one query --------------------------------------------------------------------


def customer_aggregates(
    tx: ir.Table,
    *,
    activities: ir.Table | None,
    payments: ir.Table | None,
    customers: ir.Table | None,
    period: Period,
    settings: ProfitabilitySettings,
) -> pa.Table:
    """Run the aggregation and return one row per customer, sorted by customer_id.

    The customers are those with a transaction, an activity or an invoice in the period.
    Columns of an input that was not given are absent from the result.
    """
    parts: list[ir.Table] = [_transactions_by_customer(tx, period, settings)]
    if activities is not None:
        parts.append(_activities_by_customer(activities, period, settings))
    if payments is not None:
        parts.append(_payments_by_customer(payments, period, settings))
    if customers is not None:
        parts.append(_customer_attributes(customers, settings))
    ids = parts[0].select("customer_id")
    n_events = len(parts) - (customers is not None)
    for part in parts[1:n_events]:
        ids = ids.union(part.select("customer_id"), distinct=True)
    joined = ids.distinct()
    for part in parts:
        keep = [*joined.columns, *(c for c in part.columns if c != "customer_id")]
        joined = joined.left_join(part, "customer_id").select(keep)
    return fetch(joined.order_by("customer_id"), "customer profitability")


def input_totals(
    tx: ir.Table,
    *,
    activities: ir.Table | None,
    payments: ir.Table | None,
    period: Period,
    settings: ProfitabilitySettings,
) -> dict[str, float]:
    """Totals computed straight from the inputs, to reconcile the customers' figures with.

    One scan of the transactions (revenue and line count in the period) and one of the
    activities (their costed total).
    """
    what = "the input totals"
    t = tx.filter(period.contains(tx.date.cast("date")))
    tot = t.aggregate(revenue=exact_sum(t.revenue.cast("float64")), lines=t.count())
    out: dict[str, Any] = fetch(tot, what).to_pylist()[0]
    if activities is not None:
        a = activity_costs(activities, period, settings)
        agg = a.aggregate(activity_cost=exact_sum(a.cost), activities=a.count())
        out.update(fetch(agg, what).to_pylist()[0])
    if payments is not None:
        p = _late_days(payments, period, settings)
        agg = p.aggregate(late_payment_cost=exact_sum(p.financing), invoices=p.count())
        out.update(fetch(agg, what).to_pylist()[0])
    return {k: float(v or 0.0) for k, v in out.items()}
