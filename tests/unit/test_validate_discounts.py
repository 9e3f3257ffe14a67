"""A line's discount, as order exports and ERPs write it: an amount beside a unit price
before the discount (Shopify, Odoo, Business Central), or a percent of the list amount
(Odoo's Discount (%), Xero's DiscountRate, Dynamics' Line Discount %). Each test runs on
DuckDB and Spark (the ``engine`` fixture)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from tierwise.engine import ROW
from tierwise.io import RawInput
from tierwise.settings import Settings
from tierwise.validate import (
    DISCOUNT_FRACTION_OUTSIDE,
    DISCOUNT_PERCENT_OUTSIDE,
    canonicalize,
    check_transactions,
    emptied_values,
    split_rejects,
    validate_inputs,
)

TODAY = dt.date(2025, 1, 1)


def _lines(
    engine: Any, cols: dict[str, list[str]], settings: Settings | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(the lines used in row order, the rejects as (row, column, reason), the warnings) of
    invoice lines of customer A on 2024-06-01 with these columns."""
    s = settings or Settings()
    n = len(next(iter(cols.values())))
    data = {"customer_id": ["A"] * n, "date": ["2024-06-01"] * n, **cols}
    raw = engine.from_arrow(pa.table({**data, ROW: pa.array(range(2, n + 2), pa.int64())}))
    warnings: list[str] = []
    t = canonicalize(raw, "transactions", s, engine, file="x.csv", warnings=warnings, today=TODAY)
    t = check_transactions(t, s, as_of=None, today=TODAY, engine=engine, file="x.csv")
    used, rejects = split_rejects(t, "x.csv", "transactions")
    rows = engine.to_arrow(used.order_by(ROW)).to_pylist()
    rej = engine.to_arrow(rejects.select("row", "column", "reason").order_by("row")).to_pylist()
    return rows, rej, warnings


def _amounts(rows: list[dict[str, Any]]) -> list[tuple[float, float | None]]:
    return [(r["revenue"], r["list_revenue"]) for r in rows]


def test_a_unit_price_is_the_price_before_the_line_discount(engine: Any) -> None:
    # 2 × 10 less 3 off; no discount; a credit line of 2 × -10 whose discount of 3 is
    # given back with it
    cols = {
        "Lineitem price": ["10", "10", "-10"],
        "Lineitem quantity": ["2", "2", "2"],
        "Lineitem discount": ["3", "", "3"],
    }
    columns = {
        "unit_price": "Lineitem price",
        "quantity": "Lineitem quantity",
        "discount_amount": "Lineitem discount",
    }
    s = Settings.model_validate({"transactions": {"columns": columns}})
    rows, rej, warnings = _lines(engine, cols, s)
    assert rej == []
    assert _amounts(rows) == [(17.0, 20.0), (20.0, 20.0), (-17.0, -20.0)]
    said = [w for w in warnings if "unit_price_after_discount" in w]
    assert said == [
        "x.csv: revenue is unit_price × quantity less the discount ('Lineitem price' × "
        "'Lineitem quantity' less 'Lineitem discount'), the unit price read as the price "
        "before the discount; if the file's unit price is already net of the discount, set "
        "[transactions] unit_price_after_discount = true"
    ]
    # a unit price already net of the discount, as the setting says
    s = s.with_updates(transactions={"unit_price_after_discount": True})
    rows, rej, warnings = _lines(engine, cols, s)
    assert rej == [] and not [w for w in warnings if "unit_price_after_discount" in w]
    assert _amounts(rows) == [(20.0, 23.0), (20.0, 20.0), (-20.0, -23.0)]


def test_a_given_revenue_takes_the_discount_amount_as_before(engine: Any) -> None:
    rows, rej, warnings = _lines(engine, {"revenue": ["17", "-17"], "discount_amount": ["3", "3"]})
    assert rej == [] and warnings == []
    assert _amounts(rows) == [(17.0, 20.0), (-17.0, -20.0)]


def test_a_discount_larger_than_its_line_counts_up_to_the_line(engine: Any) -> None:
    # without the order number: 12 off a line of 9.90 leaves it at 0, a sale, not a
    # return, and the 2.10 beyond it is said to be left uncounted; a line of 100% off is
    # as written
    cols = {
        "customer_id": ["A", "A", "B", "B"],
        "date": ["2024-06-01"] * 4,
        "unit_price": ["9.90", "20", "5", "8"],
        "quantity": ["1", "1", "1", "1"],
        "discount_amount": ["12", "", "1", "8"],
    }
    s = Settings()
    raw = engine.from_arrow(pa.table({**cols, ROW: pa.array([2, 3, 4, 5], pa.int64())}))
    raws = {"transactions": RawInput("transactions", "tx.csv", raw)}
    warnings: list[str] = []
    canon = {
        "transactions": canonicalize(
            raw, "transactions", s, engine, file="tx.csv", warnings=warnings
        )
    }
    checked = validate_inputs(canon, raws, s, engine, as_of=None, today=TODAY, warnings=warnings)
    got = engine.to_arrow(checked.used["transactions"].order_by(ROW)).to_pylist()
    assert [(r["revenue"], r["list_revenue"], r["is_return"]) for r in got] == [
        (0.0, 9.9, False),
        (20.0, 20.0, False),
        (4.0, 5.0, False),
        (0.0, 8.0, False),
    ]
    assert [w for w in warnings if "larger than" in w] == [
        "tx.csv: the discount ('discount_amount') of 1 line is larger than the line's "
        "unit_price × quantity (first: row 2), by 2.10 in all: its revenue is 0 and the "
        "2.10 beyond it is left uncounted; an order's discount written on one of its lines "
        "(Shopify's Discount Amount, on the order's first line) is taken off the order's "
        "other lines where the order number is mapped as order_id in [transactions.columns]"
    ]


def test_an_orders_discount_beyond_its_first_line_is_taken_off_its_other_lines(
    engine: Any,
) -> None:
    # Shopify's Discount Amount on the order's first line: 12 on 9.90 + 40 (2.10 taken off
    # the 40); 10 on a free first line + 20 + 30 (4 and 6); 15 on 5 + 4 less its own 1
    # (7 of it beyond the order, uncounted); an order without the excess as written
    cols = {
        "Name": ["#1", "#1", "#2", "#2", "#2", "#3", "#3", "#4"],
        "unit_price": ["9.90", "20", "0", "20", "30", "5", "4", "10"],
        "quantity": ["1", "2", "1", "1", "1", "1", "1", "1"],
        "discount_amount": ["12", "", "10", "", "", "15", "1", "2"],
    }
    columns = {"order_id": "Name"}
    s = Settings.model_validate({"transactions": {"columns": columns}})
    rows, rej, warnings = _lines(engine, cols, s)
    assert rej == []
    assert [(r["revenue"], r["list_revenue"]) for r in rows] == [
        (0.0, 9.9),
        (pytest.approx(37.9), 40.0),
        (0.0, 0.0),
        (pytest.approx(16.0), 20.0),
        (pytest.approx(24.0), 30.0),
        (0.0, 5.0),
        (0.0, 4.0),
        (8.0, 10.0),
    ]
    assert [w for w in warnings if "larger than" in w] == [
        "x.csv: the discount ('discount_amount') of 3 lines is larger than the line's "
        "unit_price × quantity (first: row 2), by 22.10 in all, taken off the other lines of "
        "the same order ('Name') in proportion to their amounts; 7.00 of it, on 1 order, is "
        "larger than its lines together and left uncounted"
    ]


def test_a_discount_of_0_on_every_line_says_nothing_of_the_unit_price(engine: Any) -> None:
    cols = {"unit_price": ["10", "10"], "quantity": ["2", "1"], "Discount Amount": ["0", ""]}
    s = Settings.model_validate(
        {"transactions": {"columns": {"discount_amount": "Discount Amount"}}}
    )
    rows, rej, warnings = _lines(engine, cols, s)
    assert rej == [] and _amounts(rows) == [(20.0, 20.0), (10.0, 10.0)]
    assert warnings == []


def test_a_discount_percent_gives_the_list_amount_of_a_revenue(engine: Any) -> None:
    # Odoo's Discount (%): 10 and 10% are ten percent; 0.5 is half a percent; an empty
    # cell no discount; a line of 100% off has no list amount its revenue tells
    cols = {
        "Subtotal": ["18", "18", "-18", "18", "0", "199"],
        "Discount (%)": ["10", "10 %", "10", "", "100", "0.5"],
    }
    columns = {"revenue": "Subtotal", "discount_percent": "Discount (%)"}
    s = Settings.model_validate({"transactions": {"columns": columns}})
    rows, rej, warnings = _lines(engine, cols, s)
    assert rej == [] and warnings == []
    assert _amounts(rows) == [
        (18.0, 20.0),
        (18.0, 20.0),
        (-18.0, -20.0),
        (18.0, 18.0),
        (0.0, None),
        (199.0, 200.0),
    ]


def test_a_discount_percent_is_taken_off_the_unit_price(engine: Any) -> None:
    cols = {
        "unit_price": ["10", "10", "-10", "10"],
        "quantity": ["2", "2", "2", "1"],
        "discount_percent": ["10", "10%", "10", "100"],
    }
    rows, rej, warnings = _lines(engine, cols)
    assert rej == []
    assert _amounts(rows) == [(18.0, 20.0), (18.0, 20.0), (-18.0, -20.0), (0.0, 10.0)]
    assert any("less 'discount_percent'" in w for w in warnings)
    s = Settings().with_updates(transactions={"unit_price_after_discount": True})
    rows, rej, _ = _lines(engine, {k: v[:3] for k, v in cols.items()}, s)
    assert rej == []
    assert _amounts(rows) == [
        (20.0, pytest.approx(20 / 0.9)),
        (20.0, pytest.approx(20 / 0.9)),
        (-20.0, pytest.approx(-20 / 0.9)),
    ]


def test_a_discount_percent_outside_0_to_100_rejects_its_line_where_revenue_is_from_it(
    engine: Any,
) -> None:
    cols = {"unit_price": ["9", "9", "9"], "quantity": ["2", "2", "2"]}
    cols["Rabatt %"] = ["-5", "120", "20"]
    s = Settings.model_validate({"transactions": {"columns": {"discount_percent": "Rabatt %"}}})
    rows, rej, _ = _lines(engine, cols, s)
    assert _amounts(rows) == [(pytest.approx(14.4), 18.0)]
    assert rej == [
        {"row": 2, "column": "Rabatt %", "reason": DISCOUNT_PERCENT_OUTSIDE},
        {"row": 3, "column": "Rabatt %", "reason": DISCOUNT_PERCENT_OUTSIDE},
    ]


def test_a_discount_percent_outside_0_to_100_is_emptied_where_a_revenue_is_given(
    engine: Any,
) -> None:
    # the revenue is the file's: the line is kept, its percent emptied and listed
    cols = {"revenue": ["18", "18", "18"], "Rabatt %": ["-5", "120", "20"]}
    s = Settings.model_validate({"transactions": {"columns": {"discount_percent": "Rabatt %"}}})
    n = 3
    data = {"customer_id": ["A"] * n, "date": ["2024-06-01"] * n, **cols}
    raw = engine.from_arrow(pa.table({**data, ROW: pa.array(range(2, n + 2), pa.int64())}))
    t = canonicalize(raw, "transactions", s, engine, file="x.csv", today=TODAY)
    t = check_transactions(t, s, as_of=None, today=TODAY, engine=engine, file="x.csv")
    used, rejects = split_rejects(t, "x.csv", "transactions")
    assert engine.to_arrow(rejects).num_rows == 0
    rows = engine.to_arrow(used.order_by(ROW)).to_pylist()
    assert _amounts(rows) == [(18.0, 18.0), (18.0, 18.0), (18.0, 22.5)]
    emptied = emptied_values(engine, t, "x.csv", "transactions")
    assert emptied.select(["row", "column", "reason"]).to_pylist() == [
        {"row": 2, "column": "Rabatt %", "reason": DISCOUNT_PERCENT_OUTSIDE},
        {"row": 3, "column": "Rabatt %", "reason": DISCOUNT_PERCENT_OUTSIDE},
    ]
    # and in the run's listing of the values emptied, with a warning
    raws = {"transactions": RawInput("transactions", "x.csv", raw)}
    warnings: list[str] = []
    canon = {"transactions": canonicalize(raw, "transactions", s, engine, file="x.csv")}
    checked = validate_inputs(canon, raws, s, engine, as_of=None, today=TODAY, warnings=warnings)
    assert checked.emptied.column("row").to_pylist() == [2, 3]
    assert checked.emptied.column("value").to_pylist() == ["-5", "120"]
    assert [w for w in warnings if "emptied" in w]


def test_a_discount_amount_wins_over_a_discount_percent(engine: Any) -> None:
    cols = {"revenue": ["18"], "discount_amount": ["1"], "discount_percent": ["10"]}
    rows, rej, _ = _lines(engine, cols)
    assert rej == [] and _amounts(rows) == [(18.0, 19.0)]


def test_a_discount_percent_of_fractions_is_warned_of_or_read_as_set(engine: Any) -> None:
    # AdventureWorks' UnitPriceDiscount: 0.1 for 10%
    cols = {"unit_price": ["10", "10", "10"], "quantity": ["2", "1", "1"]}
    cols["UnitPriceDiscount"] = ["0.10", "0", "0.05"]
    columns = {"discount_percent": "UnitPriceDiscount"}
    s = Settings.model_validate({"transactions": {"columns": columns}})
    rows, rej, warnings = _lines(engine, cols, s)
    assert rej == [] and [r["revenue"] for r in rows] == [
        pytest.approx(19.98),
        10.0,
        pytest.approx(9.995),
    ]
    assert [w for w in warnings if "fraction" in w] == [
        "x.csv: every discount percent ('UnitPriceDiscount') is 1 or less, 2 lines above 0 "
        "(first: 0.05): read as percents (0.05 as 0.05%); if they are fractions of the line "
        '(0.05 for 5%), set [transactions] discount_percent_scale = "fraction"'
    ]
    s = s.with_updates(transactions={"discount_percent_scale": "fraction"})
    rows, rej, warnings = _lines(engine, cols, s)
    assert rej == [] and not [w for w in warnings if "fraction" in w]
    assert [r["revenue"] for r in rows] == [18.0, 10.0, 9.5]


def test_a_discount_fraction_above_1_is_emptied_where_a_revenue_is_given(engine: Any) -> None:
    # with discount_percent_scale = "fraction" 1.5 is 150%: it read as no discount without
    # a word where the revenue is the file's; it is emptied and listed as a percent outside
    # 0 to 100 is, and a percent sign reads as hundredths ("10%" is 0.1)
    fraction = {"discount_percent_scale": "fraction"}
    s = Settings.model_validate({"transactions": fraction})
    cols = {"revenue": ["18", "18", "18", "18", "18"]}
    cols["discount_percent"] = ["1.5", "-0.1", "0.1", "10%", "1"]
    n = len(cols["revenue"])
    data = {"customer_id": ["A"] * n, "date": ["2024-06-01"] * n, **cols}
    raw = engine.from_arrow(pa.table({**data, ROW: pa.array(range(2, n + 2), pa.int64())}))
    t = canonicalize(raw, "transactions", s, engine, file="x.csv", today=TODAY)
    t = check_transactions(t, s, as_of=None, today=TODAY, engine=engine, file="x.csv")
    used, rejects = split_rejects(t, "x.csv", "transactions")
    assert engine.to_arrow(rejects).num_rows == 0
    rows = engine.to_arrow(used.order_by(ROW)).to_pylist()
    assert _amounts(rows) == [
        (18.0, 18.0),
        (18.0, 18.0),
        (18.0, pytest.approx(20.0)),
        (18.0, pytest.approx(20.0)),
        (18.0, None),  # 100% off
    ]
    emptied = emptied_values(engine, t, "x.csv", "transactions")
    assert emptied.select(["row", "column", "reason"]).to_pylist() == [
        {"row": 2, "column": "discount_percent", "reason": DISCOUNT_FRACTION_OUTSIDE},
        {"row": 3, "column": "discount_percent", "reason": DISCOUNT_FRACTION_OUTSIDE},
    ]
    raws = {"transactions": RawInput("transactions", "x.csv", raw)}
    warnings: list[str] = []
    canon = {"transactions": canonicalize(raw, "transactions", s, engine, file="x.csv")}
    checked = validate_inputs(canon, raws, s, engine, as_of=None, today=TODAY, warnings=warnings)
    assert checked.emptied.column("value").to_pylist() == ["1.5", "-0.1"]
    (warning,) = [w for w in warnings if "emptied" in w]
    assert "2 values of column 'discount_percent' were out of range and were emptied" in warning
    assert "row 2, '1.5': discount_percent is outside 0 to 1" in warning


def test_a_discount_fraction_above_1_rejects_its_line_where_revenue_is_from_it(
    engine: Any,
) -> None:
    s = Settings.model_validate({"transactions": {"discount_percent_scale": "fraction"}})
    cols = {"unit_price": ["9", "9", "9"], "quantity": ["2", "2", "2"]}
    cols["discount_percent"] = ["1.2", "-0.05", "0.2"]
    rows, rej, _ = _lines(engine, cols, s)
    assert _amounts(rows) == [(pytest.approx(14.4), 18.0)]
    assert rej == [
        {"row": 2, "column": "discount_percent", "reason": DISCOUNT_FRACTION_OUTSIDE},
        {"row": 3, "column": "discount_percent", "reason": DISCOUNT_FRACTION_OUTSIDE},
    ]


def test_a_100_percent_discount_beside_a_revenue_is_warned_of(engine: Any) -> None:
    cols = {"revenue": ["18", "5", "0"], "discount_percent": ["10", "100", "100"]}
    rows, rej, warnings = _lines(engine, cols)
    assert rej == [] and _amounts(rows) == [(18.0, 20.0), (5.0, None), (0.0, None)]
    assert warnings == [
        "x.csv: 1 line has a discount of 100% ('discount_percent') and a revenue that is not "
        "0 (first: row 3): its list_revenue is empty, as no list amount is 100% off a revenue"
    ]
