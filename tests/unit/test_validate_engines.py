"""Text numbers and dates as real exports write them, parsed the same on every engine (the
``engine`` fixture runs each test on DuckDB and on Spark): the rules are regular
expressions and casts, which the engines spell differently."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from tierwise.engine import ROW
from tierwise.settings import Settings
from tierwise.validate import canonicalize, split_rejects

DATES = [
    "2024-01-31T10:15:00Z",
    "2024-01-31T10:15:00.123+01:00",
    "31.01.2024 10:15:00",
    "31-Jan-2024",
    "31 January 2024",
    "Jan 31, 2024 3:04 PM",
    "31-01-2024",
    "45322",
    "2024-01-31",
    "31/01/2024",
]
AMOUNTS = ["(120.00)", "75.5-", "EUR 1,234.50", "99.00 usd", "$ (5.00)", "1,000", "7", "-3"]
AMOUNTS += ["0.5", "\u22122"]


def test_export_numbers_and_dates_parse_alike_on_every_engine(engine: Any) -> None:
    n = len(DATES)
    raw = engine.from_arrow(
        pa.table(
            {"customer_id": ["A"] * n, "date": DATES, "revenue": AMOUNTS, ROW: range(2, n + 2)}
        )
    )
    t = canonicalize(raw, "transactions", Settings(), engine, file="x.csv")
    used, rejects = split_rejects(t, "x.csv", "transactions")
    assert engine.to_arrow(rejects).num_rows == 0
    got = engine.to_arrow(used.select(ROW, "date", "revenue").order_by(ROW)).to_pylist()
    assert [r["date"] for r in got] == [dt.date(2024, 1, 31)] * n
    assert [r["revenue"] for r in got] == [
        -120.0, -75.5, 1234.5, 99.0, -5.0, 1000.0, 7.0, -3.0, 0.5, -2.0,
    ]  # fmt: skip


def test_a_sign_apart_from_its_digits_and_a_currency_inside_brackets(engine: Any) -> None:
    amounts = ["-$ 36.76", "- 36.76", "(54.50 EUR)", "(EUR 54.50)", "+ 5", "( € 2.00 )", "- x"]
    n = len(amounts)
    raw = engine.from_arrow(
        pa.table(
            {
                "customer_id": ["A"] * n,
                "date": ["2024-01-31"] * n,
                "revenue": amounts,
                ROW: range(2, n + 2),
            }
        )
    )
    t = canonicalize(raw, "transactions", Settings(), engine, file="x.csv")
    used, rejects = split_rejects(t, "x.csv", "transactions")
    got = engine.to_arrow(used.select(ROW, "revenue").order_by(ROW)).to_pylist()
    assert [r["revenue"] for r in got] == [-36.76, -36.76, -54.5, -54.5, 5.0, -2.0]
    # a sign before no number is still no number
    assert engine.to_arrow(rejects.select("row", "reason")).to_pylist() == [
        {"row": n + 1, "reason": "revenue is not a number"}
    ]
