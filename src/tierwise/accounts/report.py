"""The merge report: which accounts change class because their records were merged.

Each customer record is classed by its own revenue over the report window, and each
account by the revenue of all its records together, both by the Pareto ABC rule on
``[accounts] report_abc_cuts``: ranked by revenue, a record (account) is in class A while
those ranked above it hold less than the first cut of the total, in B below the second,
and so on; the rest with revenue form the next class, and those with no revenue (none, or
returns outweighing sales) the one after (D with the default two cuts). Ties in revenue
are broken by id, so the classes do not depend on the order rows arrive in.

The report lists the accounts of two or more records where some record's class differs
from the account's ("3 records (C, C, B) → one A account"), those the merge lifted above
every one of their records first.

Example
-------
>>> import pyarrow as pa
>>> from tierwise.settings import AccountSettings
>>> mapping = pa.table({"customer_id": ["1", "2", "3", "4"],
...                     "account_id": ["1", "1", "3", "4"]})
>>> revenue = pa.table({"customer_id": ["1", "2", "3", "4"],
...                     "revenue": [20.0, 20.0, 50.0, 30.0]})
>>> rep = merge_report(mapping, revenue, AccountSettings(report_abc_cuts=[0.5, 0.9]))
>>> rep.table.column("description").to_pylist()
['2 records (B, B) → one A account']
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import exact_sum
from ..errors import InputError
from ..settings.accounts import AccountSettings
from .rollup import class_changes

__all__ = ["MergeReport", "merge_report", "record_revenue", "revenue_classes", "window_start"]


@dataclass(frozen=True)
class MergeReport:
    """The merge report and its manifest block.

    Attributes
    ----------
    table
        ``account_id``, ``n_members``, ``member_ids``, ``classes_before``,
        ``class_after``, ``upgraded``, ``description`` (see
        :func:`tierwise.accounts.class_changes`): the merge_report output table.
    manifest
        ``window_months``, ``cuts``, ``classes`` (the labels, best first, the last for
        records without revenue), ``accounts_changing_class``, ``accounts_upgraded``,
        ``examples`` (the first ``[accounts] report_examples`` descriptions).
    """

    table: pa.Table
    manifest: dict[str, Any] = field(default_factory=dict)


def window_start(as_of: dt.date, months: int) -> dt.date:
    """The day ``months`` calendar months before ``as_of`` (clamped to the month's end).

    The report window is the days after this one, up to and including ``as_of``.

    Example
    -------
    >>> window_start(dt.date(2024, 3, 31), 1)
    datetime.date(2024, 2, 29)
    """
    y, m = divmod(as_of.month - 1 - months, 12)
    year, month = as_of.year + y, m + 1
    return dt.date(year, month, min(as_of.day, calendar.monthrange(year, month)[1]))


def record_revenue(
    transactions: ir.Table, *, as_of: dt.date, settings: AccountSettings
) -> ir.Table:
    """Each customer record's revenue over the report window, as an engine expression.

    Parameters
    ----------
    transactions
        Canonical transactions keyed by the *record* ids (before they are rewritten to
        account ids): ``customer_id``, ``date``, ``revenue`` (net: returns negative).
    as_of
        The analysis date; the window is the ``[accounts] report_window_months`` months
        ending on it.
    settings
        The ``[accounts]`` section.

    Returns
    -------
    An Ibis table ``customer_id``, ``revenue`` (exact sum, float64), one row per record
    with a line in the window, for the pipeline to materialise and hand to
    :func:`merge_report`.

    Example
    -------
    >>> import pyarrow as pa
    >>> from tierwise.engine import Engine
    >>> from tierwise.settings import AccountSettings
    >>> eng = Engine()
    >>> tx = eng.from_arrow(pa.table({"customer_id": ["1", "1", "2"],
    ...     "date": pa.array([dt.date(2024, 1, 5), dt.date(2025, 6, 1),
    ...                       dt.date(2025, 7, 1)]), "revenue": [5.0, 7.0, 3.0]}))
    >>> expr = record_revenue(tx, as_of=dt.date(2025, 12, 31), settings=AccountSettings())
    >>> eng.to_arrow(expr.order_by("customer_id"))["revenue"].to_pylist()
    [7.0, 3.0]
    """
    start = ibis.literal(window_start(as_of, settings.report_window_months), "date")
    end = ibis.literal(as_of, "date")
    recent = transactions.filter((transactions.date > start) & (transactions.date <= end))
    return recent.group_by("customer_id").aggregate(revenue=exact_sum(recent.revenue))


def class_labels(cuts: Sequence[float]) -> list[str]:
    """The class letters for ``cuts``: one per cut, one for the rest with revenue, and one
    for no revenue (``["A", "B", "C", "D"]`` for two cuts)."""
    return [chr(ord("A") + i) for i in range(len(cuts) + 2)]


def revenue_classes(values: np.ndarray, cuts: Sequence[float]) -> np.ndarray:
    """Pareto ABC classes by share of total revenue, ties broken by position.

    Parameters
    ----------
    values
        Revenue per record or account, in id order (NaN counts as none).
    cuts
        Increasing cumulative shares in (0, 1) that close the classes.

    Returns
    -------
    One letter per value (see :func:`class_labels`): positive revenue ranked from the
    largest; a value is in class *k* while those ranked above it hold less than cut *k*
    of the total; zero, negative or missing revenue gets the last letter.

    Example
    -------
    >>> revenue_classes(np.array([50.0, 30.0, 15.0, 5.0, 0.0]), [0.8, 0.95]).tolist()
    ['A', 'A', 'B', 'C', 'D']
    """
    labels = np.array(class_labels(cuts), dtype=object)
    v = np.asarray(values, dtype=np.float64)
    out = np.full(v.shape, labels[-1], dtype=object)
    positive = np.isfinite(v) & (v > 0)
    if not positive.any():
        return out
    idx = np.flatnonzero(positive)
    order = idx[np.argsort(-v[idx], kind="stable")]
    ranked = v[order]
    held_above = (np.cumsum(ranked) - ranked) / ranked.sum()
    pos = np.searchsorted(np.asarray(cuts, dtype=np.float64), held_above, side="right")
    out[order] = labels[pos]
    return out


def merge_report(mapping: pa.Table, revenue: pa.Table, settings: AccountSettings) -> MergeReport:
    """Which accounts change class because their records were merged.

    Parameters
    ----------
    mapping
        ``customer_id`` (record), ``account_id``: the accounts stage's mapping.
    revenue
        ``customer_id`` (record), ``revenue``: each record's revenue over the report window
        (:func:`record_revenue`); a record missing here has none. Records not in
        ``mapping`` are ignored.
    settings
        ``[accounts]``: ``report_abc_cuts``, ``report_window_months`` (stated in the
        manifest), ``report_examples``.

    Returns
    -------
    MergeReport
        The table (sorted: accounts the merge lifted first, then by account id) and the
        manifest block.

    Raises
    ------
    InputError
        ``revenue`` names a record twice.
    """
    m = mapping.select(["customer_id", "account_id"]).cast(
        pa.schema([("customer_id", pa.string()), ("account_id", pa.string())])
    )
    m = m.sort_by([("customer_id", "ascending")])
    rev_ids = revenue["customer_id"].cast(pa.string())
    if pc.count_distinct(rev_ids).as_py() != len(rev_ids):
        raise InputError("the merge report got two revenues for one customer record")
    at = pc.index_in(m["customer_id"], value_set=rev_ids.combine_chunks())
    rev = revenue["revenue"].cast(pa.float64()).combine_chunks().take(at)
    rev_np = np.asarray(pc.fill_null(rev, 0.0).to_numpy(zero_copy_only=False), dtype=np.float64)
    cuts = settings.report_abc_cuts
    before = pa.table(
        {"customer_id": m["customer_id"], "class": revenue_classes(rev_np, cuts).tolist()}
    )
    accounts = pc.unique(m["account_id"]).sort()
    code = np.asarray(
        pc.index_in(m["account_id"], value_set=accounts).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )
    acc_rev = np.zeros(len(accounts), dtype=np.float64)
    np.add.at(acc_rev, code, rev_np)
    after = pa.table({"account_id": accounts, "class": revenue_classes(acc_rev, cuts).tolist()})
    table = class_changes(before, after, m)
    upgraded = int(pc.sum(table["upgraded"]).as_py() or 0) if table.num_rows else 0
    manifest = {
        "window_months": settings.report_window_months,
        "cuts": list(cuts),
        "classes": class_labels(cuts),
        "accounts_changing_class": int(table.num_rows),
        "accounts_upgraded": upgraded,
        "examples": table["description"].to_pylist()[: settings.report_examples],
    }
    return MergeReport(table=table, manifest=manifest)
