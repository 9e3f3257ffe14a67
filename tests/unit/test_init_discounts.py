"""What `tierwise init` guesses of a line's discount: an amount, or a percent of the line
(Odoo's Discount (%), Business Central's Line Discount %, Xero's DiscountRate and its
Discount, which is a rate too)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tierwise.io.sample import Sample
from tierwise.settings._guess import TableGuess, guess_table


def _guess(columns: dict[str, list[str]]) -> TableGuess:
    t = pa.table(columns)
    return guess_table("transactions", Sample("x.csv", "csv", t.column_names, t, ","))


def _lines(discount: str, values: list[str]) -> dict[str, list[str]]:
    n = len(values)
    return {
        "Customer": [f"C{i % 4}" for i in range(n)],
        "Invoice Date": [f"2024-01-{i + 1:02d}" for i in range(n)],
        "Quantity": [str(i % 3 + 1) for i in range(n)],
        "Unit Price": [f"{20 + i}.50" for i in range(n)],
        discount: values,
    }


@pytest.mark.parametrize(
    "name", ["Discount (%)", "Line Discount %", "DiscountRate", "Rabatt %", "Discount Pct"]
)
def test_a_discount_named_a_percent_or_rate_is_guessed_as_discount_percent(name: str) -> None:
    g = _guess(_lines(name, ["0", "10", "12.5", "0", "5", "10", "0", "20"]))
    m = g.mapping()
    assert m.get("discount_percent") == name
    assert "discount_amount" not in m


def test_a_discount_amount_is_guessed_as_an_amount() -> None:
    g = _guess(_lines("Discount Amount", ["0", "1.37", "2.05", "0", "4.10", "0.99", "0", "3.33"]))
    guessed = g.guessed("discount_amount")
    assert guessed is not None and guessed.source == "Discount Amount"


def test_a_bare_discount_of_round_percents_is_not_taken_for_an_amount() -> None:
    # Xero's Discount beside UnitAmount: a rate, 10 for 10%
    g = _guess(_lines("Discount", ["10", "12.5", "", "12.5", "5", "10", "", "20"]))
    m = g.mapping()
    assert "discount_amount" not in m and "discount_percent" not in m
    note = dict(g.unmapped)["Discount"]
    assert "map it as discount_percent" in note and "from 5 to 20" in note


def test_a_bare_discount_of_amounts_is_guessed_as_an_amount() -> None:
    g = _guess(_lines("Discount", ["1.37", "2.05", "", "4.10", "0.99", "3.33", "", "7.21"]))
    assert g.mapping().get("discount_amount") == "Discount"


def test_a_bare_discount_a_revenue_shows_to_be_a_percent_is_not_taken_for_an_amount() -> None:
    # the line's amount is the price × quantity less that percent of it, not that amount
    cols = _lines("Discount", ["10", "0", "20", "10", "0", "25", "10", "0"])
    cols["Net Amount"] = [
        f"{float(p) * float(q) * (1 - float(d) / 100):.2f}"
        for p, q, d in zip(cols["Unit Price"], cols["Quantity"], cols["Discount"], strict=True)
    ]
    g = _guess(cols)
    assert "discount_amount" not in g.mapping()
    assert "map it as discount_percent" in dict(g.unmapped)["Discount"]
