"""Per-customer repeat-buying summary computed in the engine: x, t_x, T and monetary value.

The definitions follow ``lifetimes.utils.summary_data_from_transaction_data``: a purchase is
a distinct purchase day of a customer (several lines or orders on one day count once, their
revenue summed); ``x`` is the number of purchase days after the first, ``t_x`` the time from
the first to the last purchase day, ``T`` the time from the first purchase day to the
analysis date, and ``monetary_value`` the mean revenue of the repeat purchase days (0 when
``x = 0``). Purchases are net of the cancellations paired with them
(:func:`tierwise.features.cancellations.net_lines`): a day whose purchases were all cancelled
is no purchase day, a partly cancelled one counts with its reduced revenue. Returns and
cancellation lines are left out. Times are in days or weeks (days / 7).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from ..engine import Engine, exact_sum
from ..errors import InputError
from ..features.cancellations import net_lines

__all__ = ["SUMMARY_COLUMNS", "purchase_days", "rfm_summary", "rfm_summary_expr"]

#: Columns of the summary, in order.
SUMMARY_COLUMNS = (
    "customer_id",
    "x",
    "t_x",
    "T",
    "monetary_value",
    "first_date",
    "last_date",
    "recency_days",
    "total_revenue",
)


def _days_per_unit(time_unit: str) -> float:
    if time_unit == "days":
        return 1.0
    if time_unit == "weeks":
        return 7.0
    raise InputError(f"time_unit must be 'days' or 'weeks', not {time_unit!r}")


def purchase_days(
    tx: ir.Table, *, start: dt.date | None = None, end: dt.date | None = None
) -> ir.Table:
    """One row per customer and purchase day: ``customer_id, date, value`` (an Ibis table).

    Purchase lines net of their paired cancellations (lines cancelled in full, returns and
    cancellation lines are left out); ``value`` is the day's net revenue. ``start`` and
    ``end`` (both inclusive) restrict the dates.
    """
    t = net_lines(tx)
    keep = t.is_purchase & t.customer_id.notnull() & t.date.notnull()
    if start is not None:
        keep &= t.date >= ibis.literal(start)
    if end is not None:
        keep &= t.date <= ibis.literal(end)
    t = t.filter(keep)
    return t.group_by(["customer_id", "date"]).aggregate(
        value=exact_sum(t.net_revenue).fill_null(0.0)
    )


def rfm_summary_expr(
    tx: ir.Table,
    as_of: dt.date,
    *,
    engine: Engine,
    time_unit: Literal["days", "weeks"] = "weeks",
    start: dt.date | None = None,
) -> ir.Table:
    """The summary as an Ibis expression (nothing is computed yet).

    Parameters
    ----------
    tx
        Canonical transactions (``customer_id``, ``date``, ``revenue``, ``is_return``,
        ``is_cancel``).
    as_of
        End of the observation period (inclusive); later transactions are ignored.
    engine
        The engine that holds ``tx`` (it spells the first-day value).
    time_unit
        ``"days"`` or ``"weeks"`` for ``t_x`` and ``T``.
    start
        Ignore transactions before this date (customers are then those first seen after it).
    """
    per_unit = _days_per_unit(time_unit)
    days = purchase_days(tx, start=start, end=as_of)
    g = days.group_by("customer_id").aggregate(
        n=days.date.count(),
        first_date=days.date.min(),
        last_date=days.date.max(),
        total_revenue=exact_sum(days.value),
        first_value=engine.first_by(days.value, days.date),  # the first day's revenue
    )
    g = g.mutate(repeat_value=g.total_revenue - g.first_value)
    end = ibis.literal(as_of)
    x = (g.n - 1).cast("float64")
    return g.select(
        customer_id=g.customer_id,
        x=x,
        t_x=g.last_date.delta(g.first_date, unit="day").cast("float64") / per_unit,
        T=end.delta(g.first_date, unit="day").cast("float64") / per_unit,
        monetary_value=ibis.ifelse(g.n > 1, g.repeat_value / x, 0.0),
        first_date=g.first_date,
        last_date=g.last_date,
        recency_days=end.delta(g.last_date, unit="day").cast("int64"),
        total_revenue=g.total_revenue,
    ).order_by("customer_id")


def rfm_summary(
    tx: ir.Table,
    as_of: dt.date,
    *,
    engine: Engine,
    time_unit: Literal["days", "weeks"] = "weeks",
    start: dt.date | None = None,
) -> pa.Table:
    """Compute the per-customer summary in the engine and return it as Arrow.

    Columns: ``customer_id`` (string), ``x`` (repeat purchase days), ``t_x`` and ``T``
    (in ``time_unit``), ``monetary_value`` (mean revenue of the repeat purchase days),
    ``first_date``, ``last_date``, ``recency_days`` (days from the last purchase to
    ``as_of``), ``total_revenue`` (all purchase days). One row per customer who bought on or
    before ``as_of``, sorted by ``customer_id``.

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> from tierwise.engine import Engine
    >>> eng = Engine()
    >>> tx = eng.from_arrow(pa.table({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "date": [dt.date(2024, 1, 1), dt.date(2024, 1, 8), dt.date(2024, 1, 8),
    ...              dt.date(2024, 1, 3)],
    ...     "revenue": [10.0, 5.0, 7.0, 4.0],
    ...     "is_return": [False, False, False, False]}))
    >>> s = rfm_summary(tx, dt.date(2024, 1, 15), engine=eng, time_unit="days")
    >>> s.select(["customer_id", "x", "t_x", "T", "monetary_value"]).to_pylist()[0]
    {'customer_id': 'a', 'x': 1.0, 't_x': 7.0, 'T': 14.0, 'monetary_value': 12.0}
    """
    return engine.to_arrow(
        rfm_summary_expr(tx, as_of, engine=engine, time_unit=time_unit, start=start),
        "the lifetime summary",
    )
