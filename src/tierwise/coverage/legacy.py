"""Today's coverage from the activity history, aggregated in the engine (Ibis).

- :func:`contact_counts`: per customer, the visits, calls and e-mails recorded in a window
  and the rep who made most of its visits — today's coverage (over the last
  ``activity_window_months``) and, with ``--previous``, what was done since the last plan.
- :func:`half_year_panel`: per customer and half-year, the contacts and the revenue — the
  history the response estimate reads.

Activity types map to contacts through ``[coverage] activity_types``.
"""

from __future__ import annotations

import datetime as _dt

import ibis
import ibis.expr.types as ir

from ..engine import exact_sum
from ..errors import InputError
from ..settings.coverage import CoverageSettings

__all__ = ["CONTACT_COLUMNS", "contact_counts", "half_year_panel"]

#: The contact counts :func:`contact_counts` returns per customer.
CONTACT_COLUMNS = ("visits", "calls", "emails")
_PLURAL = {"visit": "visits", "call": "calls", "email": "emails"}


def _require(t: ir.Table, names: tuple[str, ...]) -> None:
    for n in names:
        if n not in t.columns:
            raise InputError(
                f"the activities table has no column {n!r}",
                file="activities",
                column=n,
                hint="map it in tierwise.toml or rename it in the file",
            )


def _kind(a: ir.Table, s: CoverageSettings) -> ir.StringValue:
    # types arrive lower case with underscores (validate); lower() again for tables given
    # straight to the API (no strip(): see features.cost_to_serve on Spark's TRIM)
    t = a.type.cast("string").lower().replace(" ", "_")
    mapping = {name: kind for kind, names in s.activity_types.items() for name in names}
    return t.substitute(mapping, else_="other") if mapping else ibis.literal("other")


def contact_counts(
    activities: ir.Table,
    s: CoverageSettings,
    *,
    start: _dt.date,
    end: _dt.date,
) -> ir.Table:
    """Contacts per customer recorded after ``start`` up to ``end`` (inclusive).

    Returns an Ibis table: customer_id, visits, calls, emails (counts in the window), and
    visit_rep (the rep with most of the customer's visits; ties to the smallest id; NULL
    without a visit by a known rep).

    Examples
    --------
    >>> import pyarrow as pa, datetime as dt
    >>> from tierwise.engine import Engine
    >>> a = Engine().from_arrow(pa.table({
    ...     "customer_id": ["a", "a", "a", "b", "b"],
    ...     "date": [dt.date(2024, 3, 1)] * 4 + [dt.date(2022, 1, 1)],
    ...     "type": ["visit", "visit", "phone_call", "email", "visit"],
    ...     "rep_id": ["R2", "R1", "R9", None, "R1"]}))
    >>> t = contact_counts(a, CoverageSettings(), start=dt.date(2023, 6, 30),
    ...                    end=dt.date(2024, 6, 30)).to_pyarrow().sort_by("customer_id")
    >>> t.select(["visits", "calls", "emails", "visit_rep"]).to_pydict()
    {'visits': [2, 0], 'calls': [1, 0], 'emails': [0, 1], 'visit_rep': ['R1', None]}
    """
    _require(activities, ("customer_id", "date", "type"))
    d = activities.date.cast("date")
    a = activities.filter((d > ibis.literal(start)) & (d <= ibis.literal(end)))
    a = a.mutate(_kind=_kind(a, s), customer_id=a.customer_id.cast("string"))
    counts = a.group_by("customer_id").aggregate(
        **{_PLURAL[k]: (a._kind == k).cast("int64").sum() for k in ("visit", "call", "email")}
    )
    if "rep_id" not in a.columns:
        return counts.mutate(visit_rep=ibis.null("string"))
    v = a.filter((a._kind == "visit") & a.rep_id.notnull())
    per_rep = v.group_by(["customer_id", v.rep_id.cast("string").name("rep")]).aggregate(
        n=ibis._.count()
    )
    w = ibis.window(group_by="customer_id", order_by=[ibis.desc("n"), "rep"])
    top = (
        per_rep.mutate(_rank=ibis.row_number().over(w))
        .filter(ibis._._rank == 0)
        .select("customer_id", visit_rep="rep")
    )
    j = counts.left_join(top, "customer_id")
    return j.select("customer_id", *CONTACT_COLUMNS, "visit_rep")


def half_year_panel(
    activities: ir.Table | None,
    transactions: ir.Table,
    s: CoverageSettings,
    *,
    as_of: _dt.date,
) -> ir.Table:
    """Contacts and revenue per customer and half-year over the last
    ``estimate_half_years`` half-years before ``as_of``.

    Half-year ``h`` = 0 is the latest (the 182 days up to ``as_of``). Only customer ×
    half-year cells with a contact or a sale are returned: customer_id, h, visits, calls,
    emails, revenue.

    Examples
    --------
    >>> import pyarrow as pa, datetime as dt
    >>> from tierwise.engine import Engine
    >>> e = Engine()
    >>> a = e.from_arrow(pa.table({"customer_id": ["a", "a"], "date": [dt.date(2024, 6, 1),
    ...     dt.date(2023, 6, 1)], "type": ["visit", "call"]}))
    >>> tx = e.from_arrow(pa.table({"customer_id": ["a"], "date": [dt.date(2024, 5, 1)],
    ...     "revenue": [100.0]}))
    >>> p = half_year_panel(a, tx, CoverageSettings(), as_of=dt.date(2024, 6, 30))
    >>> p.to_pyarrow().sort_by("h").select(["h", "visits", "calls", "revenue"]).to_pydict()
    {'h': [0, 2], 'visits': [1, 0], 'calls': [0, 1], 'revenue': [100.0, 0.0]}
    """
    H = s.estimate_half_years
    lit = ibis.literal(as_of)

    def half(t: ir.Table) -> ir.Table:
        age = lit.delta(t.date.cast("date"), unit="day")
        t = t.mutate(h=(age // 183).cast("int64"), customer_id=t.customer_id.cast("string"))
        return t.filter((age >= 0) & (t.h < H))

    tx = half(transactions)
    rev = tx.group_by(["customer_id", "h"]).aggregate(revenue=exact_sum(tx.revenue.cast("float64")))
    if activities is None:
        panel = rev.mutate(
            visits=ibis.literal(0, "int64"),
            calls=ibis.literal(0, "int64"),
            emails=ibis.literal(0, "int64"),
        )
        return panel.select("customer_id", "h", *CONTACT_COLUMNS, "revenue")
    _require(activities, ("customer_id", "date", "type"))
    a = half(activities)
    a = a.mutate(_kind=_kind(a, s))
    acts = a.group_by(["customer_id", "h"]).aggregate(
        **{_PLURAL[k]: (a._kind == k).cast("int64").sum() for k in ("visit", "call", "email")}
    )
    j = acts.outer_join(rev, ["customer_id", "h"])
    return j.select(
        customer_id=ibis.coalesce(j.customer_id, j.customer_id_right),
        h=ibis.coalesce(j.h, j.h_right),
        visits=j.visits.fill_null(0),
        calls=j.calls.fill_null(0),
        emails=j.emails.fill_null(0),
        revenue=j.revenue.fill_null(0.0),
    )
