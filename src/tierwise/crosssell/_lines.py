"""Sale lines as baskets of items, and running engine queries with errors for people."""

from __future__ import annotations

import datetime as _dt
import functools
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from ..engine import NARROW_SUM_LIMIT, fetch
from ..errors import InputError, SettingsError

__all__ = [
    "Level",
    "LineFacts",
    "as_date",
    "basket_lines",
    "line_facts",
    "months_before",
    "run_query",
]

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

    opt = functools.partial(_optional, tx)
    date = tx.date.cast("date")
    order_id = opt("order_id", "string")
    basket = order_id.fill_null(tx.customer_id.cast("string").concat("|", date.cast("string")))
    lines = tx.filter(_is_sale(tx, level))
    return lines.select(
        customer_id=lines.customer_id.cast("string"),
        date=date,
        basket=basket,
        item=tx[col].cast("string"),
        category=opt("product_category", "string"),
        revenue=tx.revenue.cast("float64"),
        quantity=opt("quantity", "float64"),
        cost=opt("cost", "float64"),
    )


def _optional(tx: ir.Table, name: str, kind: str) -> ir.Value:
    """Column ``name`` of ``tx`` as ``kind``; a NULL of that type without the column."""
    return tx[name].cast(kind) if name in tx.columns else ibis.null().cast(kind)


def _is_sale(tx: ir.Table, level: Level) -> ir.BooleanValue:
    """Whether a row of ``tx`` is a sale line of ``level`` (:func:`basket_lines`): neither a
    return nor a cancellation, with an item."""
    revenue = tx.revenue.cast("float64")
    is_return = tx.is_return.fill_null(False) if "is_return" in tx.columns else revenue < 0
    is_cancel = _optional(tx, "is_cancel", "boolean").fill_null(False)
    return ~is_return & ~is_cancel & tx[_ITEM_COLUMN[level]].cast("string").notnull()


@dataclass(frozen=True)
class LineFacts:
    """What the stage needs to know of the transactions before grouping them, read by one
    query (:func:`line_facts`).

    Attributes
    ----------
    present
        Per item level, whether some row fills its column.
    first_sale
        Per item level with its column, the first sale line's date (None without one).
    wide
        Per item level with its column and amount (revenue, cost, quantity), whether a
        sale line dated up to the analysis date holds a value of that amount too large to
        be summed in 18 digits (:func:`tierwise.engine.sums_fit_narrow`).
    n_categories
        The distinct categories of the category sale lines (0 without the column).
    categories_alone
        The category sale lines dated up to the analysis date without a product (None
        without both columns): where there is none, the baskets of categories are those of
        the product lines' categories.
    """

    present: dict[str, bool]
    first_sale: dict[str, _dt.date | None]
    wide: dict[tuple[str, str], bool]
    n_categories: int
    categories_alone: int | None = None

    def narrow(self, level: Level, *, quantity: bool) -> bool:
        """Whether the revenue and cost (and ``quantity``) of the sale lines of ``level``
        up to the analysis date may be summed in 18 digits
        (:func:`tierwise.engine.exact_sum`'s ``narrow``)."""
        amounts = ("revenue", "cost", *(("quantity",) if quantity else ()))
        return not any(self.wide.get((level, a), False) for a in amounts)


def line_facts(tx: ir.Table, as_of: _dt.date) -> LineFacts:
    """The :class:`LineFacts` of ``tx`` at the analysis date ``as_of``, from one query.

    Examples
    --------
    >>> import datetime as dt
    >>> t = ibis.memtable({"customer_id": ["a", "a"], "date": [dt.date(2024, 1, 2)] * 2,
    ...     "revenue": [5.0, 2e9], "product_id": ["p", None]})
    >>> f = line_facts(t, dt.date(2024, 6, 30))
    >>> f.present, f.first_sale["product"], f.narrow("product", quantity=False)
    ({'product': True, 'category': False}, datetime.date(2024, 1, 2), True)
    """
    date = tx.date.cast("date")
    up_to = date <= ibis.literal(as_of)
    aggs: dict[str, ir.Scalar] = {}
    levels: list[Level] = ["product", "category"]
    for level in levels:
        col = _ITEM_COLUMN[level]
        if col not in tx.columns:
            continue
        aggs[f"present_{level}"] = tx[col].notnull().any()
        if not all(c in tx.columns for c in ("customer_id", "date", "revenue")):
            continue
        sale = _is_sale(tx, level)
        aggs[f"first_{level}"] = ibis.ifelse(sale, date, ibis.null("date")).min()
        for amount in ("revenue", "cost", "quantity"):
            if amount not in tx.columns:
                continue
            v = tx[amount].cast("float64")
            # a flag per value, as sums_fit_narrow takes it (NaN is not below the limit)
            big = ibis.ifelse(v.isnull() | (v.abs() < NARROW_SUM_LIMIT), 0, 1)
            aggs[f"wide_{level}_{amount}"] = ibis.ifelse(
                sale & up_to, big, ibis.null("int64")
            ).max()
        if level == "category":
            category = tx[col].cast("string")
            aggs["n_categories"] = ibis.ifelse(sale, category, ibis.null("string")).nunique()
            if "product_id" in tx.columns:
                alone = sale & up_to & tx.product_id.cast("string").isnull()
                aggs["categories_alone"] = alone.cast("int64").sum().fill_null(0).cast("int64")
    row = run_query(tx.aggregate(**aggs), "what the transactions hold").to_pylist()[0]
    return LineFacts(
        present={lv: bool(row.get(f"present_{lv}")) for lv in levels},
        first_sale={lv: row[f"first_{lv}"] for lv in levels if f"first_{lv}" in row},
        wide={
            (lv, a): bool(row[k])
            for lv in levels
            for a in ("revenue", "cost", "quantity")
            if (k := f"wide_{lv}_{a}") in row
        },
        n_categories=int(row.get("n_categories") or 0),
        categories_alone=(int(row["categories_alone"] or 0) if "categories_alone" in row else None),
    )


def run_query(expr: ir.Table, what: str) -> pa.Table:
    """Execute ``expr`` and return it as Arrow; an engine failure names ``what``
    (:func:`tierwise.engine.fetch`)."""
    return fetch(expr, what)
