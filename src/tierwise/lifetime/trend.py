"""The base's year-on-year trend: do the customers who bought in both years buy less?

The status and P(alive) measure each customer against its own pace, so a decline shared by
the whole base (every customer buying half as much as last year) leaves everyone "active".
This compares, among the customers with a purchase day in both of the last two 12-month
periods (``(as_of - 365, as_of]`` and the 365 days before), their net purchase revenue and
their purchase days in the last period with the period before, and warns when either fell
by more than ``[lifetime] base_decline_warning``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis

from ..engine import Engine, exact_sum
from ..settings.lifetime import LifetimeSettings
from .summary import CustomerDays, purchase_days

__all__ = ["YEAR_DAYS", "base_trend"]

#: Length of each compared period; days.
YEAR_DAYS = 365


def base_trend(
    days: CustomerDays, as_of: dt.date, settings: LifetimeSettings, *, engine: Engine
) -> tuple[dict[str, Any], str | None]:
    """The year-on-year trend of the customers who bought in both years, and the warning.

    Returns ``(figures, warning)``: ``figures`` for the manifest (the periods, the number of
    customers in both, their revenue and purchase days in each period and the change of
    each, ``None`` when nobody bought in both); ``warning`` one line when revenue or purchase
    days fell by more than ``base_decline_warning``, else ``None``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from tierwise.lifetime.summary import customer_days
    >>> eng = Engine()
    >>> tx = eng.from_arrow(pa.table({
    ...     "customer_id": ["a", "a", "a"], "revenue": [100.0, 100.0, 50.0],
    ...     "date": pa.array([dt.date(2023, 3, 1), dt.date(2023, 9, 1), dt.date(2024, 6, 1)]),
    ...     "is_return": [False] * 3, "is_cancel": [False] * 3}))
    >>> fig, warn = base_trend(customer_days(tx), dt.date(2024, 12, 31),
    ...                        LifetimeSettings(), engine=eng)
    >>> fig["revenue_change"], fig["purchase_days_change"]
    (-0.75, -0.5)
    >>> warn.split(":")[0]
    'the base is declining'
    """
    last_start = as_of - dt.timedelta(days=YEAR_DAYS - 1)
    before_start = last_start - dt.timedelta(days=YEAR_DAYS)
    d = purchase_days(days, start=before_start, end=as_of)
    last = d.date >= ibis.literal(last_start)
    zero = ibis.literal(0.0)
    per = d.group_by("customer_id").aggregate(
        rev_last=exact_sum(ibis.ifelse(last, d.value, zero), keep_exact=True),
        rev_before=exact_sum(ibis.ifelse(last, zero, d.value), keep_exact=True),
        n_last=last.cast("int64").sum(),
        n_before=(~last).cast("int64").sum(),
    )
    per = per.filter((per.n_last > 0) & (per.n_before > 0))
    tot = engine.to_arrow(
        per.aggregate(
            n_customers=per.count(),
            revenue_last=exact_sum(per.rev_last),
            revenue_before=exact_sum(per.rev_before),
            days_last=per.n_last.sum(),
            days_before=per.n_before.sum(),
        ),
        "the base's year-on-year trend",
    ).to_pylist()[0]
    n = int(tot["n_customers"] or 0)
    figures: dict[str, Any] = {
        "last_period": [last_start.isoformat(), as_of.isoformat()],
        "period_before": [
            before_start.isoformat(),
            (last_start - dt.timedelta(days=1)).isoformat(),
        ],
        "n_customers_in_both": n,
        "revenue_last": None,
        "revenue_before": None,
        "revenue_change": None,
        "purchase_days_last": None,
        "purchase_days_before": None,
        "purchase_days_change": None,
        "decline_warning": settings.base_decline_warning,
    }
    if n == 0:
        return figures, None
    rev_last, rev_before = float(tot["revenue_last"]), float(tot["revenue_before"])
    days_last, days_before = int(tot["days_last"]), int(tot["days_before"])
    rev_change = rev_last / rev_before - 1.0 if rev_before > 0 else None
    days_change = days_last / days_before - 1.0
    figures.update(
        revenue_last=rev_last,
        revenue_before=rev_before,
        revenue_change=rev_change,
        purchase_days_last=days_last,
        purchase_days_before=days_before,
        purchase_days_change=days_change,
    )
    limit = -settings.base_decline_warning
    if not ((rev_change is not None and rev_change < limit) or days_change < limit):
        return figures, None
    rev_text = (
        f"spent {_pct(rev_change, 'less')} ({rev_last:,.0f} against {rev_before:,.0f})"
        if rev_change is not None
        else f"spent {rev_last:,.0f} against {rev_before:,.0f}"
    )
    warning = (
        f"the base is declining: the {n:,} customers who bought in both of the last two "
        f"12-month periods {rev_text} on {_pct(days_change, 'fewer')} purchase days "
        f"({days_last:,} against {days_before:,}) in the 12 months to {as_of} than in the "
        "12 before; status and P(alive) measure each customer against its own pace, so "
        "they do not show a decline the whole base shares (set [lifetime] "
        "base_decline_warning to change the threshold)"
    )
    return figures, warning


def _pct(change: float, fewer: str) -> str:
    """-0.45 -> '45% less' (or 'fewer'), 0.1 -> '10% more'."""
    return f"{abs(change):.0%} {fewer if change < 0 else 'more'}"
