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


def _canonical(
    engine: Any, table: str, cols: dict[str, list[Any]], *, delimiter: str | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows used in row order, rejects as (row, column, reason)) of a raw text table."""
    n = len(next(iter(cols.values())))
    raw = engine.from_arrow(pa.table({**cols, ROW: range(2, n + 2)}))
    t = canonicalize(
        raw, table, Settings(), engine, file="x.csv", delimiter=delimiter, today=dt.date(2025, 1, 1)
    )
    used, rejects = split_rejects(t, "x.csv", table)
    rows = engine.to_arrow(used.order_by(ROW)).to_pylist()
    rej = engine.to_arrow(rejects.select("row", "column", "reason").order_by("row")).to_pylist()
    return rows, rej


def test_a_growth_rate_with_a_percent_sign_is_hundredths(engine: Any) -> None:
    rates = ["3.5%", "0.035", "-2%", "12 %", "-150%"]
    market = {"industry": [f"i{i}" for i in range(len(rates))], "growth_rate": rates}
    used, rejects = _canonical(engine, "market", market)
    assert [r["growth_rate"] for r in used] == [0.035, 0.035, -0.02, 0.12]
    # read as a fraction, -150% is below -1 and named as such
    assert rejects == [
        {
            "row": 6,
            "column": "growth_rate",
            "reason": "growth_rate is -1 or below (it is a fraction: 0.03 = 3%)",
        }
    ]
    # decimal commas before the sign: the column's separator is decided without it
    rates = ["3,5 %", "1,25%", "-0,5 %"]
    market = {"industry": [f"i{i}" for i in range(len(rates))], "growth_rate": rates}
    used, rejects = _canonical(engine, "market", market, delimiter=",")
    assert rejects == []
    assert [r["growth_rate"] for r in used] == [0.035, 0.0125, -0.005]


def test_a_percent_reads_as_the_same_float_as_its_fraction_and_a_line_break_is_no_end(
    engine: Any,
) -> None:
    """ "1.1%" is the float 0.011 (a division by 100 gives 0.011000000000000001); a value
    ending in a line break after the sign or the clock is not read on either engine
    (Java's ``$`` on Spark matches before it)."""
    rates = ["1.1%", "0.07%", "9.99%", "3%\n"]
    market = {"industry": [f"i{i}" for i in range(len(rates))], "growth_rate": rates}
    used, rejects = _canonical(engine, "market", market)
    assert [r["growth_rate"] for r in used] == [0.011, 0.0007, 0.0999]
    assert [(r["row"], r["column"]) for r in rejects] == [(5, "growth_rate")]
    activities = {
        "customer_id": ["A", "A"],
        "date": ["2024-01-31"] * 2,
        "type": ["call"] * 2,
        "duration_minutes": ["1:05\n", "1:05"],
    }
    used, rejects = _canonical(engine, "activities", activities)
    assert [r["duration_minutes"] for r in used] == [65.0]
    assert [(r["row"], r["column"]) for r in rejects] == [(2, "duration_minutes")]


def test_a_percent_sign_in_a_money_column_is_not_a_number(engine: Any) -> None:
    tx = {"customer_id": ["A", "A"], "date": ["2024-01-31"] * 2, "revenue": ["3.5%", "3.5"]}
    used, rejects = _canonical(engine, "transactions", tx)
    assert [r["revenue"] for r in used] == [3.5]
    assert rejects == [{"row": 2, "column": "revenue", "reason": "revenue is not a number"}]


def test_a_duration_written_as_a_clock_is_minutes(engine: Any) -> None:
    durations = ["0:28", "1:05", "0:28:30", "45", "12.5", "", "1:5", "0:60", "25:00"]
    n = len(durations)
    activities = {
        "customer_id": ["A"] * n,
        "date": ["2024-01-31"] * n,
        "type": ["call"] * n,
        "duration_minutes": durations,
    }
    used, rejects = _canonical(engine, "activities", activities)
    assert [r["duration_minutes"] for r in used] == [28.0, 65.0, 28.5, 45.0, 12.5, None]
    unreadable = "duration_minutes is not a number of minutes nor a duration H:MM or H:MM:SS"
    assert rejects == [
        {"row": 8, "column": "duration_minutes", "reason": unreadable},
        {"row": 9, "column": "duration_minutes", "reason": unreadable},
        # 25 hours
        {
            "row": 10,
            "column": "duration_minutes",
            "reason": "duration_minutes is above 1440 ([validate] max_activity_minutes)",
        },
    ]
    # a money column is no clock
    tx = {"customer_id": ["A"], "date": ["2024-01-31"], "revenue": ["1:05"]}
    assert _canonical(engine, "transactions", tx)[1] == [
        {"row": 2, "column": "revenue", "reason": "revenue is not a number"}
    ]
