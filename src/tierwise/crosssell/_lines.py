"""Sale lines as baskets of items, and running engine queries with errors for people."""

from __future__ import annotations

import datetime as _dt
from typing import Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from ..engine import fetch
from ..errors import InputError, SettingsError

__all__ = ["Level", "as_date", "basket_lines", "months_before", "run_query"]

Level = Literal["product", "category"]

_ITEM_COLUMN = {"product": "product_id", "category": "product_category"}


def as_date(value: _dt.date | _dt.datetime | str) -> _dt.date:
    """A date from a date, a datetime or ISO text.

    Examples
    --------
    >>> as_date("2024-06-30")
    datetime.date(2024, 6, 30)
    """
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise SettingsError(f"as_of: not a date (got {value!r}); use YYYY-MM-DD") from exc


def months_before(day: _dt.date, months: int) -> _dt.date:
    """The same day ``months`` calendar months earlier (the month's last day when shorter).

    Examples
    --------
    >>> months_before(_dt.date(2024, 3, 31), 1)
    datetime.date(2024, 2, 29)
    """
    from ..features.cost_to_serve import period_for

    start = period_for(day, months).start
    assert start is not None
    return start


def basket_lines(tx: ir.Table, level: Level) -> ir.Table:
    """The sale lines of the transactions with their basket and item.

    A sale line is neither a return nor a cancellation and has an item; its basket is its
    order (or, without an order number, its customer's day). Columns: customer_id, date,
    basket, item, category, revenue, quantity, cost.

    Examples
    --------
    >>> import datetime as dt
    >>> t = ibis.memtable({"customer_id": ["a", "a"], "date": [dt.date(2024, 1, 2)] * 2,
    ...     "revenue": [5.0, -5.0], "order_id": ["1", "R1"], "product_id": ["p", "p"],
    ...     "is_return": [False, True]})
    >>> basket_lines(t, "product").to_pyarrow().column("basket").to_pylist()
    ['1']
    """
    if level not in _ITEM_COLUMN:
        raise SettingsError(f"[crosssell] level: unknown item level {level!r} (product, category)")
    col = _ITEM_COLUMN[level]
    missing = [c for c in ("customer_id", "date", "revenue", col) if c not in tx.columns]
    if missing:
        raise InputError(
            f"the transactions have no column {missing[0]!r}: baskets need it",
            file="transactions",
            column=missing[0],
            hint="map it in tierwise.toml [transactions.columns]",
        )

    def opt(name: str, kind: str) -> ir.Value:
        return tx[name].cast(kind) if name in tx.columns else ibis.null().cast(kind)

    revenue = tx.revenue.cast("float64")
    is_return = tx.is_return.fill_null(False) if "is_return" in tx.columns else revenue < 0
    is_cancel = opt("is_cancel", "boolean").fill_null(False)
    date = tx.date.cast("date")
    order_id = opt("order_id", "string")
    basket = order_id.fill_null(tx.customer_id.cast("string").concat("|", date.cast("string")))
    item = tx[col].cast("string")
    lines = tx.filter(~is_return & ~is_cancel & item.notnull())
    return lines.select(
        customer_id=lines.customer_id.cast("string"),
        date=date,
        basket=basket,
        item=item,
        category=opt("product_category", "string"),
        revenue=revenue,
        quantity=opt("quantity", "float64"),
        cost=opt("cost", "float64"),
    )


def run_query(expr: ir.Table, what: str) -> pa.Table:
    """Execute ``expr`` and return it as Arrow; an engine failure names ``what``
    (:func:`tierwise.engine.fetch`)."""
    return fetch(expr, what)
