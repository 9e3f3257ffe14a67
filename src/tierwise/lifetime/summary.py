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

Every summary here starts from each customer's lines summed per day
(:func:`customer_days`). A caller that computes several summaries of the same transactions
(the lifetime stage: the whole history, the holdout, the defection features at two cutoffs)
keeps that table in the engine once (:meth:`CustomerDays.kept`) and passes it in place of
the transactions, so that the invoice lines are read once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from ..engine import _SUM_TYPE, Engine, exact_sum
from ..errors import InputError
from ..features.cancellations import net_lines

__all__ = [
    "SUMMARY_COLUMNS",
    "CustomerDays",
    "customer_days",
    "first_repeat_wait",
    "purchase_days",
    "rfm_summary",
    "rfm_summary_expr",
]

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


@dataclass(frozen=True)
class CustomerDays:
    """Each customer's lines summed per day (:func:`customer_days`).

    Attributes
    ----------
    table
        One row per customer and day with a line (customer and date known): ``customer_id``,
        ``date``, ``bought`` (a purchase line that day, net of its cancellations),
        ``revenue`` (the day's net purchase revenue), ``returned`` (revenue of its returns
        and unpaired cancellations, positive) and, when the lines carry a cost,
        ``costed_revenue`` and ``cost`` (net purchase revenue and cost of the purchase
        lines with a cost). The sums are exact decimals, so that summing them again over
        days gives the same figure as summing the lines.
    has_cost
        Whether the lines carry a cost.
    """

    table: ir.Table
    has_cost: bool

    def kept(self, engine: Engine) -> CustomerDays:
        """The same table computed once and kept in the engine (free it with
        :meth:`release`)."""
        return CustomerDays(
            engine.materialize(self.table, engine.fresh_name("customer_days")), self.has_cost
        )

    def release(self, engine: Engine) -> None:
        """Free a table made by :meth:`kept`."""
        engine.release(self.table)


def customer_days(tx: ir.Table, *, end: dt.date | None = None) -> CustomerDays:
    """Each customer's lines summed per day, as an Ibis expression (see
    :class:`CustomerDays`).

    ``tx`` are canonical transactions (best after
    :func:`~tierwise.features.cancellations.pair_cancellations`); lines after ``end`` are
    left out.
    """
    t = net_lines(tx)
    keep = t.customer_id.notnull() & t.date.notnull()
    if end is not None:
        keep &= t.date <= ibis.literal(end)
    t = t.filter(keep)
    buy = t.is_purchase
    zero = ibis.literal(0.0)
    sums = {
        "revenue": ibis.ifelse(buy, t.net_revenue, zero),
        "returned": ibis.ifelse(t.is_credit, -t.revenue, zero),
    }
    has_cost = "cost" in t.columns
    if has_cost:
        costed = buy & t.cost.notnull()
        sums["costed_revenue"] = ibis.ifelse(costed, t.net_revenue, zero)
        sums["cost"] = ibis.ifelse(costed, t.net_cost, zero)
    days = t.group_by(["customer_id", "date"]).aggregate(
        bought=buy.any(), **{k: v.cast(_SUM_TYPE).sum() for k, v in sums.items()}
    )
    return CustomerDays(days, has_cost)


def as_days(tx: ir.Table | CustomerDays) -> CustomerDays:
    """The per-day table of ``tx`` (transactions, or that table already)."""
    return tx if isinstance(tx, CustomerDays) else customer_days(tx)


def purchase_days(
    tx: ir.Table | CustomerDays, *, start: dt.date | None = None, end: dt.date | None = None
) -> ir.Table:
    """One row per customer and purchase day: ``customer_id, date, value`` (an Ibis table).

    Purchase lines net of their paired cancellations (lines cancelled in full, returns and
    cancellation lines are left out); ``value`` is the day's net revenue. ``start`` and
    ``end`` (both inclusive) restrict the dates. ``tx`` are canonical transactions or their
    :class:`CustomerDays`.
    """
    d = as_days(tx).table
    keep = d.bought
    if start is not None:
        keep &= d.date >= ibis.literal(start)
    if end is not None:
        keep &= d.date <= ibis.literal(end)
    d = d.filter(keep)
    return d.select("customer_id", "date", value=d.revenue.cast("float64").fill_null(0.0))


def rfm_summary_expr(
    tx: ir.Table | CustomerDays,
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
        ``is_cancel``), or their :class:`CustomerDays`.
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
    tx: ir.Table | CustomerDays,
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


def first_repeat_wait(tx: ir.Table | CustomerDays, as_of: dt.date, *, engine: Engine) -> pa.Table:
    """Days from each repeat buyer's first purchase day to its second, up to ``as_of``.

    One row per customer with at least two purchase days: ``customer_id`` and
    ``wait_days`` (int64), sorted by ``customer_id``. The one-off buyers'
    P(alive) under BG/NBD rests on it (:mod:`tierwise.lifetime.oneoff`).

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> from tierwise.engine import Engine
    >>> eng = Engine()
    >>> tx = eng.from_arrow(pa.table({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "date": [dt.date(2024, 1, 1), dt.date(2024, 1, 8), dt.date(2024, 1, 20),
    ...              dt.date(2024, 1, 3)],
    ...     "revenue": [10.0, 5.0, 7.0, 4.0],
    ...     "is_return": [False, False, False, False]}))
    >>> first_repeat_wait(tx, dt.date(2024, 1, 31), engine=eng).to_pylist()
    [{'customer_id': 'a', 'wait_days': 7}]
    """
    days = purchase_days(tx, end=as_of)
    first = days.group_by("customer_id").aggregate(first_date=days.date.min())
    later = days.join(first, "customer_id")
    later = later.filter(later.date > later.first_date)
    second = later.group_by("customer_id").aggregate(
        first_date=later.first_date.min(), second_date=later.date.min()
    )
    expr = second.select(
        customer_id=second.customer_id,
        wait_days=second.second_date.delta(second.first_date, unit="day").cast("int64"),
    ).order_by("customer_id")
    return engine.to_arrow(expr, "the wait for a second purchase day")
