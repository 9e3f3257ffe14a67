"""Text numbers and dates as real exports write them, parsed the same on every engine (the
``engine`` fixture runs each test on DuckDB and on Spark): the rules are regular
expressions and casts, which the engines spell differently."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import ibis.expr.operations as ops
import pyarrow as pa
import pyarrow.parquet as pq

from tierwise.engine import ROW
from tierwise.io.readers import _left_out_by_row_filters, read_input
from tierwise.settings import Settings
from tierwise.settings.inputs import TableInput
from tierwise.validate import (
    GROWTH_MINUS_ONE_OR_BELOW,
    CurrencySeen,
    canonicalize,
    check_transactions,
    emptied_values,
    run_currency,
    split_rejects,
    store_checked,
    validate_inputs,
)

DATES = [
    "2024-01-31T10:15:00Z",
    "2024-01-31T10:15:00.123+01:00",
    "31.01.2024 10:15:00",
    "31-Jan-2024",
    "31 January 2024",
    "Jan 31, 2024 3:04 PM",
    "31-01-2024",
    "45322",
    "45322.75",  # a serial day with the time of day, as a Parquet float column's is read
    "45322,75",
    "2024-01-31",
    "31/01/2024",
]
AMOUNTS = ["(120.00)", "75.5-", "EUR 1,234.50", "99.00 usd", "$ (5.00)", "1,000", "7", "-3"]
AMOUNTS += ["0.5", "\u22122", "1", "2"]


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
        -120.0, -75.5, 1234.5, 99.0, -5.0, 1000.0, 7.0, -3.0, 0.5, -2.0, 1.0, 2.0,
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


def test_an_en_dash_or_a_minus_sign_is_a_minus(engine: Any) -> None:
    # U+2013 as word processors write a minus, U+2212 as typeset reports do; before the
    # digits, apart from them, after them as a trailing minus, before a currency sign
    amounts = ["\u2013 5", "\u20135", "\u22125", "\u2212 5", "12.50\u2013", "\u2013$ 3.25"]
    used, rejects = _canonical(
        engine, "transactions", _transactions(["2024-01-31"] * len(amounts), revenue=amounts)
    )
    assert rejects == []
    assert [r["revenue"] for r in used] == [-5.0, -5.0, -5.0, -5.0, -12.5, -3.25]


def test_a_lone_dash_of_any_kind_is_no_value(engine: Any) -> None:
    # "-" marks a missing value ([validate] missing_values); an en dash, an em dash or a
    # minus sign alone is read as it is, not rejected as not a number
    marks = ["-", "\u2013", "\u2014", "\u2212", "--", "\u2013\u2013"]
    used, rejects = _canonical(
        engine, "transactions", _transactions(["2024-01-31"] * len(marks), list_revenue=marks)
    )
    assert rejects == []
    assert [r["list_revenue"] for r in used] == [None] * len(marks)


def _canonical(
    engine: Any,
    table: str,
    cols: dict[str, list[Any]] | pa.Table,
    *,
    delimiter: str | None = None,
    settings: Settings | None = None,
    emptied: list[dict[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows used in row order, rejects as (row, column, reason)) of a raw table; the values
    emptied in the rows used, as (row, column, reason), added to ``emptied``."""
    data = cols if isinstance(cols, pa.Table) else pa.table(cols)
    raw = engine.from_arrow(data.append_column(ROW, pa.array(range(2, data.num_rows + 2))))
    t = canonicalize(
        raw,
        table,
        settings or Settings(),
        engine,
        file="x.csv",
        delimiter=delimiter,
        today=dt.date(2025, 1, 1),
    )
    used, rejects = split_rejects(t, "x.csv", table)
    rows = engine.to_arrow(used.order_by(ROW)).to_pylist()
    rej = engine.to_arrow(rejects.select("row", "column", "reason").order_by("row")).to_pylist()
    if emptied is not None:
        emptied += (
            emptied_values(engine, t, "x.csv", table)
            .select(["row", "column", "reason"])
            .to_pylist()
        )
    return rows, rej


def test_reasons_that_point_the_right_way_on_every_engine(engine: Any) -> None:
    from tierwise.io import RawInput

    # a French month name is not read (not "no such date"); the open-ended date of an
    # invoice is missing (not "in the future"); a totals line without a date is a totals
    # row (not "missing date"); a date rejected after the checks is shown as the file
    # writes it (2099-01-01, not "2099-01-01 00:00:00")
    dates = ["31 janvier 2024", "31 February 2024", "9999-12-31", "2024-01-31", "2099-01-01"]
    tx = {
        "customer_id": ["A", "B", "C", "D", "E", "Total"],
        "date": [*dates, ""],
        "revenue": ["1", "1", "1", "1", "1", "5"],
    }
    acts = {"customer_id": ["D", "D"], "date": ["2024-01-31", "2024-02-01"], "type": ["visit"] * 2}
    raws, canon = {}, {}
    for name, cols in (("transactions", tx), ("activities", acts)):
        data = pa.table(cols)
        raw = engine.from_arrow(data.append_column(ROW, pa.array(range(2, data.num_rows + 2))))
        raws[name] = RawInput(name, f"{name}.csv", raw)
        canon[name] = canonicalize(
            raw, name, Settings(), engine, file=f"{name}.csv", today=dt.date(2025, 1, 1)
        )
    checked = validate_inputs(
        canon, raws, Settings(), engine, as_of=None, today=dt.date(2025, 1, 1), warnings=[]
    )
    got = [
        (r["table"], r["row"], r["reason"][:30], r["value"]) for r in checked.rejects.to_pylist()
    ]
    assert sorted(got) == [
        ("activities", 3, "after the analysis date 2024-0", "2024-02-01"),
        ("transactions", 2, "date names its month in a word", "31 janvier 2024"),
        ("transactions", 3, "date is no such date (day or m", "31 February 2024"),
        ("transactions", 4, "missing date", "9999-12-31"),
        ("transactions", 6, "date in the future (after 2025", "2099-01-01"),
        ("transactions", 7, "a totals row (its revenue is t", "Total"),
    ]


def test_values_emptied_and_rejected_are_shown_as_written_on_every_engine(engine: Any) -> None:
    from tierwise.io import RawInput

    # an unreadable optional value of the master is emptied, its customer kept; a value
    # rejected once the tables are checked together (a duplicate id, an activity after the
    # last transaction, an unknown customer) is looked up in the input as written
    tables = {
        "transactions": {
            "customer_id": ["A", "B"],
            "date": ["31.01.2024", "30.01.2024"],
            "revenue": ["1.234,50", "10,00"],
        },
        "customers": {
            "customer_id": ["A", "B", " A "],
            "employees": ["ca. 50", "12", "3"],
            "created_date": ["32.13.2018", "01.02.2020", "01.01.2020"],
        },
        "activities": {
            "customer_id": ["A", "Z", "B"],
            "date": ["01.02.2024", "15.01.2024", "16.01.2024"],
            "type": ["visit"] * 3,
            "duration_minutes": ["ca. 5", "10", "1:5"],
        },
    }
    raws, canon = {}, {}
    for name, cols in tables.items():
        data = pa.table(cols)
        raw = engine.from_arrow(data.append_column(ROW, pa.array(range(2, data.num_rows + 2))))
        raws[name] = RawInput(name, f"{name}.csv", raw)
        canon[name] = canonicalize(
            raw, name, Settings(), engine, file=f"{name}.csv", today=dt.date(2025, 1, 1)
        )
    checked = validate_inputs(
        canon, raws, Settings(), engine, as_of=None, today=dt.date(2025, 1, 1), warnings=[]
    )
    rejected = [
        (r["table"], r["row"], r["column"], r["value"]) for r in checked.rejects.to_pylist()
    ]
    assert rejected == [
        ("customers", 4, "customer_id", " A "),
        ("activities", 2, "date", "01.02.2024"),
        ("activities", 3, "customer_id", "Z"),
    ]
    emptied = [(r["table"], r["row"], r["column"], r["value"]) for r in checked.emptied.to_pylist()]
    assert emptied == [
        ("customers", 2, "employees", "ca. 50"),
        ("customers", 2, "created_date", "32.13.2018"),
        ("activities", 4, "duration_minutes", "1:5"),
    ]
    master = engine.to_arrow(checked.used["customers"].order_by(ROW)).to_pylist()
    assert [(r["customer_id"], r["employees"], r["created_date"]) for r in master] == [
        ("A", None, None),
        ("B", 12.0, dt.date(2020, 2, 1)),
    ]


def test_dollars_of_other_countries_and_ledger_currency_words_on_every_engine(
    engine: Any,
) -> None:
    # C$ and US$ in one column: read as numbers, and named in one warning (regular
    # expressions with a group and a case-insensitive word list, spelt apart by the engines)
    amounts = ["C$ 1,234.50", "US$12", "C$5", "12.50 zł", "KRW 1,000", "₹ 40", "(Kč 8)"]
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
    warnings: list[str] = []
    t = canonicalize(raw, "transactions", Settings(), engine, file="x.csv", warnings=warnings)
    used, rejects = split_rejects(t, "x.csv", "transactions")
    assert engine.to_arrow(rejects).num_rows == 0
    got = engine.to_arrow(used.select(ROW, "revenue").order_by(ROW)).to_pylist()
    assert [r["revenue"] for r in got] == [1234.5, 12.0, 5.0, 12.5, 1000.0, 40.0, -8.0]
    said = [w for w in warnings if "more than one currency" in w]
    assert len(said) == 1 and (
        "(C$ in 2 values, US$ in 1 value, ₹ in 1 value, CZK, PLN and 1 other in 3 values)"
        in said[0]
    )


def test_the_one_currency_of_the_amounts_alike_on_every_engine(engine: Any) -> None:
    # the format scan's counts and the currency column's codes, read the same on each engine
    amounts = ["EUR 12,00", "1.234,50 €", "7", "(3,00 eur)"]
    n = len(amounts)
    raw = engine.from_arrow(
        pa.table(
            {
                "customer_id": ["A"] * n,
                "date": ["2024-01-31"] * n,
                "revenue": amounts,
                "currency": ["eur", "EUR", "EUR", None],
                ROW: range(2, n + 2),
            }
        )
    )
    seen: list[CurrencySeen] = []
    warnings: list[str] = []
    canonicalize(
        raw, "transactions", Settings(), engine, file="x.csv", warnings=warnings, currencies=seen
    )
    assert [(s.column, s.names, s.codes) for s in seen] == [
        ("revenue", (("€", 3),), ()),
        ("currency", (("€", 3),), (("EUR", 3),)),
    ]
    got = run_currency(seen, Settings(), warnings)
    assert got is not None and got["symbol"] == "€"


def test_rows_left_out_or_kept_by_status_alike_on_every_engine(engine: Any) -> None:
    status = ["Completed", " cancelled", None, "FAILED", "completed "]
    n = len(status)
    raw = engine.from_arrow(
        pa.table(
            {
                "customer_id": ["A"] * n,
                "date": ["2024-01-31"] * n,
                "revenue": ["1", "2", "3", "x", "5"],
                "status": status,
                ROW: range(2, n + 2),
            }
        )
    )
    for setting, values, used_rows in (
        ("exclude_rows", ["Cancelled", "failed"], [2, 4, 6]),
        ("keep_rows", ["completed"], [2, 6]),
    ):
        s = Settings().with_updates(transactions={setting: {"status": values}})
        t = canonicalize(raw, "transactions", s, engine, file="x.csv")
        used, rejects = split_rejects(t, "x.csv", "transactions")
        assert engine.to_arrow(used.select(ROW).order_by(ROW)).column(ROW).to_pylist() == used_rows
        got = engine.to_arrow(rejects.select("row", "reason", "value").order_by("row")).to_pylist()
        assert {r["reason"].split(" (")[0] for r in got} == {
            f"left out by [transactions] {setting}"
            if setting == "exclude_rows"
            else "not kept by [transactions] keep_rows"
        }
        assert [r["row"] for r in got] == sorted(set(range(2, n + 2)) - set(used_rows))


def test_rows_left_out_by_values_in_another_case_alike_on_every_engine(engine: Any) -> None:
    # "İ" lowers to "i" on DuckDB and to "i" and a combining dot on Spark (and in Python),
    # a word-final "Σ" to "σ" on DuckDB and to "ς" on Spark, and "ß" is "ss" on none: a
    # value so written left nothing out where the cell was in another case
    city = ["istanbul", "İstanbul", "ISTANBUL", "οδος", "Οδος", "ΟΔΟΣ", "strasse", "STRAẞE"]
    city += ["Straße", "Ankara", "Οδός", " STRASSE ", "ıstanbul"]
    out = [*range(2, 11), 13]  # not Ankara, an accented Οδός, a dotless ı
    n = len(city)
    cols = {"customer_id": ["A"] * n, "date": ["2024-01-31"] * n, "revenue": ["1"] * n}
    raw = engine.from_arrow(pa.table({**cols, "City": city, ROW: range(2, n + 2)}))
    for values in (["İSTANBUL", "ΟΔΟΣ", "Straße"], ["istanbul", "οδος", "STRASSE"]):
        for setting in ("exclude_rows", "keep_rows"):
            s = Settings().with_updates(transactions={setting: {"City": values}})
            t = canonicalize(raw, "transactions", s, engine, file="x.csv")
            _, rejects = split_rejects(t, "x.csv", "transactions")
            got = sorted(engine.to_arrow(rejects.select("row")).column("row").to_pylist())
            assert got == (
                out if setting == "exclude_rows" else sorted(set(range(2, n + 2)) - set(out))
            ), (values, setting)
            # and a sheet's hidden rows are told left out by the same rule (Arrow's)
            ti = TableInput(**{setting: {"City": values}})
            sheet = pa.table({"City": city, ROW: range(2, n + 2)})
            left, _ = _left_out_by_row_filters(sheet, ti)
            assert [r for r, o in zip(range(2, n + 2), left, strict=True) if o] == got


def test_a_growth_rate_with_a_percent_sign_is_hundredths(engine: Any) -> None:
    rates = ["3.5%", "0.035", "-2%", "12 %", "-150%"]
    market = {"industry": [f"i{i}" for i in range(len(rates))], "growth_rate": rates}
    emptied: list[dict[str, Any]] = []
    used, rejects = _canonical(engine, "market", market, emptied=emptied)
    assert [r["growth_rate"] for r in used] == [0.035, 0.035, -0.02, 0.12, None]
    # read as a fraction, -150% is below -1 and named as such: emptied, its row kept
    assert rejects == []
    assert emptied == [
        {
            "row": 6,
            "column": "growth_rate",
            "reason": GROWTH_MINUS_ONE_OR_BELOW,
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
    emptied: list[dict[str, Any]] = []
    used, rejects = _canonical(engine, "market", market, emptied=emptied)
    # an optional value that is not read is emptied, its row kept
    assert [r["growth_rate"] for r in used] == [0.011, 0.0007, 0.0999, None]
    assert rejects == [] and [(r["row"], r["column"]) for r in emptied] == [(5, "growth_rate")]
    activities = {
        "customer_id": ["A", "A"],
        "date": ["2024-01-31"] * 2,
        "type": ["call"] * 2,
        "duration_minutes": ["1:05\n", "1:05"],
    }
    emptied = []
    used, rejects = _canonical(engine, "activities", activities, emptied=emptied)
    assert [r["duration_minutes"] for r in used] == [None, 65.0]
    assert rejects == [] and [(r["row"], r["column"]) for r in emptied] == [(2, "duration_minutes")]


def test_a_value_out_of_its_range_is_emptied_and_a_required_one_rejects_on_every_engine(
    engine: Any,
) -> None:
    customers = {
        "customer_id": ["A", "B", "C"],
        "name": ["Alpha", "Beta", "Gamma"],
        "lat": ["95", "52.5", "-90.5"],
        "lon": ["8.5", "200", "11.6"],
        "employees": ["-5", "3", "7"],
    }
    emptied: list[dict[str, Any]] = []
    used, rejects = _canonical(engine, "customers", customers, emptied=emptied)
    assert rejects == []
    assert [(r["name"], r["lat"], r["lon"], r["employees"]) for r in used] == [
        ("Alpha", None, 8.5, None),
        ("Beta", 52.5, None, 3.0),
        ("Gamma", None, 11.6, 7.0),
    ]
    assert [(r["row"], r["column"], r["reason"]) for r in emptied] == [
        (2, "lat", "lat is outside -90 to 90 degrees"),
        (2, "employees", "employees is negative"),
        (3, "lon", "lon is outside -180 to 180 degrees"),
        (4, "lat", "lat is outside -90 to 90 degrees"),
    ]
    reps = {"rep_id": ["R1", "R2"], "role": ["field"] * 2, "hours_per_year": ["0", "1600"]}
    emptied = []
    used, rejects = _canonical(engine, "reps", reps, emptied=emptied)
    assert [r["rep_id"] for r in used] == ["R2"] and emptied == []
    assert rejects == [
        {"row": 2, "column": "hours_per_year", "reason": "hours_per_year is zero or negative"}
    ]


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
    emptied: list[dict[str, Any]] = []
    used, rejects = _canonical(engine, "activities", activities, emptied=emptied)
    # a duration that reads neither way, or reads as more than a day (25 hours), is
    # emptied, the activity kept
    assert [r["duration_minutes"] for r in used] == [
        *(28.0, 65.0, 28.5, 45.0, 12.5),
        *(None, None, None, None),
    ]
    unreadable = "duration_minutes is not a number of minutes nor a duration H:MM or H:MM:SS"
    assert emptied == [
        {"row": 8, "column": "duration_minutes", "reason": unreadable},
        {"row": 9, "column": "duration_minutes", "reason": unreadable},
        {
            "row": 10,
            "column": "duration_minutes",
            "reason": "duration_minutes is above 1440 ([validate] max_activity_minutes)",
        },
    ]
    assert rejects == []
    # a money column is no clock
    tx = {"customer_id": ["A"], "date": ["2024-01-31"], "revenue": ["1:05"]}
    assert _canonical(engine, "transactions", tx)[1] == [
        {"row": 2, "column": "revenue", "reason": "revenue is not a number"}
    ]


def _text_rejects(
    engine: Any,
    table: str,
    names: list[str],
    rows: list[list[Any]],
    settings: Settings,
    *,
    file: str,
) -> list[dict[str, Any]]:
    """The rejects (row, reason) of a text file's ``rows`` under the header ``names``, every
    cell read as written (the first row is row 2)."""
    raw = engine.from_arrow(
        pa.table(
            {
                **{n: [r[i] for r in rows] for i, n in enumerate(names)},
                ROW: range(2, len(rows) + 2),
            }
        )
    )
    t = canonicalize(raw, table, settings, engine, file=file, source_columns=names)
    _, rejects = split_rejects(t, file, table)
    return engine.to_arrow(rejects.select("row", "reason")).to_pylist()


def _transactions(dates: list[Any], **more: list[Any]) -> dict[str, list[Any]]:
    n = len(dates)
    return {"customer_id": ["A"] * n, "date": dates, "revenue": ["1"] * n, **more}


def test_a_day_or_month_without_its_leading_zero_reads_on_every_engine(engine: Any) -> None:
    """Spark's "dd" and "MM" read exactly two digits; "d" and "M" one or two, as DuckDB's
    %d and %m do."""
    dates = ["5.3.2024", "15.3.2024", "05.03.2024", "1/5/2024", "2024-1-5", "2024-01-05"]
    dates += ["2 Jan 2024", "March 9, 2024", "20240105"]
    used, rejects = _canonical(engine, "transactions", _transactions(dates))
    assert rejects == []
    assert [r["date"] for r in used] == [
        dt.date(2024, 3, 5), dt.date(2024, 3, 15), dt.date(2024, 3, 5), dt.date(2024, 5, 1),
        dt.date(2024, 1, 5), dt.date(2024, 1, 5), dt.date(2024, 1, 2), dt.date(2024, 3, 9),
        dt.date(2024, 1, 5),
    ]  # fmt: skip
    # a format the user sets, with a time (the Online Retail export), and one whose codes
    # touch (no separator ends the first: each reads its full width)
    for fmt, texts in (
        ("%m/%d/%Y %H:%M", ["12/1/2010 8:26", "1/13/2011 10:05", "12/01/2010 08:26"]),
        ("%Y%m%d%H%M", ["201012010826", "201101131005", "201012010826"]),
    ):
        settings = Settings(transactions=TableInput(date_format=fmt))
        used, rejects = _canonical(engine, "transactions", _transactions(texts), settings=settings)
        assert rejects == [], fmt
        assert [r["date"] for r in used] == [
            dt.date(2010, 12, 1),
            dt.date(2011, 1, 13),
            dt.date(2010, 12, 1),
        ], fmt


def test_a_two_digit_year_is_in_the_same_century_on_every_engine(engine: Any) -> None:
    """%y reads 69-99 as 1969-1999 and 00-68 as 2000-2068 (DuckDB's and Python's rule)."""
    texts = ["15.03.99", "15.03.69", "15.03.68", "29.02.96", "15.03.24", "01.01.00"]
    settings = Settings(transactions=TableInput(date_format="%d.%m.%y"))
    used, rejects = _canonical(engine, "transactions", _transactions(texts), settings=settings)
    assert [r["date"] for r in used] == [
        dt.date(1999, 3, 15), dt.date(1969, 3, 15), dt.date(1996, 2, 29),
        dt.date(2024, 3, 15), dt.date(2000, 1, 1),
    ]  # fmt: skip
    assert [(r["row"], r["reason"].split(" (")[0]) for r in rejects] == [(4, "date in the future")]


def test_a_nan_in_a_float_date_column_is_a_rejected_row(engine: Any, tmp_path: Path) -> None:
    """Dates stored as numbers in Parquet: NaN and infinity reach no cast to an integer
    (DuckDB failed the whole query on a NaN) and are missing dates."""
    for dates in (
        [20240131.0, float("nan"), 45322.0],
        [20240131.0, float("inf"), 45322.0, float("nan")],
    ):
        n = len(dates)
        path = tmp_path / f"tx{n}.parquet"
        ids = ["a", "b", "c", "d"][:n]
        pq.write_table(pa.table({"customer_id": ids, "date": dates, "revenue": [1.0] * n}), path)
        raw = read_input("transactions", path, TableInput(), engine)
        t = canonicalize(raw.table, "transactions", Settings(), engine, file=str(path))
        # computed once, as validation does (Spark plans the whole query otherwise)
        used, rejects = split_rejects(engine.materialize(t), str(path), "transactions")
        got = engine.to_arrow(used.order_by(ROW)).to_pylist()
        assert [(r["customer_id"], r["date"]) for r in got] == [
            ("a", dt.date(2024, 1, 31)),
            ("c", dt.date(2024, 1, 31)),
        ]
        rej = engine.to_arrow(rejects.select("row", "column", "reason").order_by("row"))
        assert rej.to_pylist() == [
            {"row": r, "column": "date", "reason": "missing date"} for r in range(2, n + 1, 2)
        ]


def test_a_nan_in_parquet_floats_is_rejected_on_every_engine(engine: Any, tmp_path: Path) -> None:
    """Arrow's writer leaves NaN out of a column's statistics and DuckDB took them to fold
    isnan() to false: a NaN revenue was used (and summed) and a NaN id became "nan"."""
    path = tmp_path / "tx.parquet"
    pq.write_table(
        pa.table(
            {
                "customer_id": [1001.0, float("nan"), 1003.0, 1004.0],
                "date": ["2024-01-31"] * 4,
                "revenue": [1.0, 2.0, float("nan"), 3.0],
            }
        ),
        path,
    )
    raw = read_input("transactions", path, TableInput(), engine)
    t = canonicalize(raw.table, "transactions", Settings(), engine, file=str(path))
    used, rejects = split_rejects(engine.materialize(t), str(path), "transactions")
    got = engine.to_arrow(used.order_by(ROW)).to_pylist()
    assert [(r["customer_id"], r["revenue"]) for r in got] == [("1001", 1.0), ("1004", 3.0)]
    rej = engine.to_arrow(rejects.select("row", "column", "reason").order_by("row"))
    assert rej.to_pylist() == [
        {"row": 2, "column": "customer_id", "reason": "missing customer_id"},
        {"row": 3, "column": "revenue", "reason": "revenue is not a finite number"},
    ]


def test_white_space_around_a_number_or_a_date_is_the_same_on_every_engine(engine: Any) -> None:
    """A vertical tab or a line break after a value (a spreadsheet's line break in a cell)
    is white space around it on both engines: Java's ``\\s`` holds the vertical tab and
    RE2's does not, and DuckDB's strptime skips a line break that Spark's parser does not."""
    tx = _transactions(
        ["2024-03-01", "2024-03-01\n", "2024-03-01\x0b", "\n2024-03-01 ", "01.03.2024\r\n"],
        revenue=["12.50\x0b", "6", "7\n", "\x0b8", "9 EUR\n"],
    )
    used, rejects = _canonical(engine, "transactions", tx)
    assert rejects == []
    assert [(r["date"], r["revenue"]) for r in used] == [
        (dt.date(2024, 3, 1), v) for v in (12.5, 6.0, 7.0, 8.0, 9.0)
    ]


def test_nanosecond_timestamps_in_parquet_read_on_every_engine(engine: Any, tmp_path: Path) -> None:
    """pandas and pyarrow write timestamps in nanoseconds by default, which Spark refuses
    (PARQUET_TYPE_ILLEGAL) unless it reads them as longs; with and without a time zone."""
    stamps = [
        dt.datetime(2024, 1, 1, 10, 0),
        dt.datetime(2024, 1, 2, 23, 30),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
    ]
    for zone, dates in (
        (None, [dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(1969, 12, 31)]),
        # the wall-clock date in Berlin, as the clock there showed it
        ("Europe/Berlin", [dt.date(2024, 1, 1), dt.date(2024, 1, 3), dt.date(1970, 1, 1)]),
    ):
        when = pa.array(stamps, pa.timestamp("ns"))
        if zone is not None:
            when = pa.array([s.replace(tzinfo=dt.UTC) for s in stamps], pa.timestamp("ns", tz=zone))
        path = tmp_path / f"tx_{zone is not None}.parquet"
        pq.write_table(
            pa.table({"customer_id": ["a", "b", "c"], "date": when, "revenue": [1.0] * 3}), path
        )
        raw = read_input("transactions", path, TableInput(), engine)
        got = engine.to_arrow(raw.table.order_by(ROW)).to_pylist()
        assert [r["date"].date() for r in got] == dates, zone


def test_a_stored_checked_table_reads_back_the_same_rows_and_rejects(engine: Any) -> None:
    """store_checked writes one reject column for two and leaves out a column the input
    lacks; the rows used and every reject (column, reason, value as in the file) read
    back as before it was stored, whatever a value holds: the separator, a line break,
    nothing at all, or no value."""
    ids = ["A", "B\tC", "D", "", "E", "F"]
    revenue = ["10", "5", "12,5 kg\x1fx\ny", "7", None, "3"]
    n = len(ids)
    raw = engine.from_arrow(
        pa.table(
            {
                "customer_id": ids,
                "date": ["2024-01-31"] * n,
                "revenue": revenue,
                ROW: range(2, 2 + n),
            }
        )
    )
    t = check_transactions(
        canonicalize(raw, "transactions", Settings(), engine, file="x.csv"),
        Settings(),
        as_of=None,
        today=dt.date(2024, 2, 1),
        file="x.csv",
    )
    stored = store_checked(engine, t)
    [table] = [n for n in stored.op().find(ops.DatabaseTable)]
    written = set(table.schema.names)
    assert {"_reject", "_reason"} <= written
    assert not written & {"_reject_column", "_reject_value", "list_revenue", "product_category"}

    def read(t: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        used, rejects = split_rejects(t, "x.csv", "transactions")
        return (
            engine.to_arrow(used.order_by(ROW)).to_pylist(),
            engine.to_arrow(rejects.order_by("row")).to_pylist(),
        )

    before, after = read(t), read(stored)
    assert after == before
    used, rejects = after
    assert [r[ROW] for r in used] == [2, 7]
    assert [(r["row"], r["column"], r["value"]) for r in rejects] == [
        (3, "customer_id", "B\tC"),
        (4, "revenue", "12,5 kg\x1fx\ny"),
        (5, "customer_id", ""),
        (6, "revenue", None),
    ]
    assert list(used[0]) == [c for c in t.columns if not c.startswith("_re")]


def test_psql_timestamps_with_an_offset_give_the_date_as_written_on_every_engine(
    engine: Any,
) -> None:
    """psql writes a timestamptz with the session's offset in hours, or hours and minutes
    (and seconds, for a zone's local mean time before 1900): the date is the one written,
    whatever the offset."""
    texts = [
        "2024-03-05 10:00:00+01",
        "2024-03-05 23:30:00+05:30",
        "2024-03-05 00:15:00-03",
        "2024-03-05 23:59:59.999999-09:30",
        "2024-03-05 00:00:00+14",
        "2024-03-05 10:00:00+00:53:28",
        "2024-03-05T10:00:00-0330",
    ]
    used, rejects = _canonical(engine, "transactions", _transactions(texts))
    assert rejects == []
    assert [r["date"] for r in used] == [dt.date(2024, 3, 5)] * len(texts)


def test_infinity_is_a_rejected_date_on_every_engine(engine: Any) -> None:
    """A PostgreSQL export writes an open end as infinity; a word is no date, whatever an
    engine's parser takes it for (DuckDB read infinity as 9999-12-31, -infinity as the
    year 1, epoch as 1970-01-01)."""
    texts = ["infinity", "-infinity", "Infinity", "+infinity", "epoch", "2024-03-05"]
    used, rejects = _canonical(engine, "transactions", _transactions(texts))
    assert [r["date"] for r in used] == [dt.date(2024, 3, 5)]
    infinite = "date is infinity or -infinity (an open end, as PostgreSQL writes one), not a date"
    assert [(r["row"], r["reason"].split(" (%")[0]) for r in rejects] == [
        (2, infinite),
        (3, infinite),
        (4, infinite),
        (5, infinite),
        (6, "date is not a date in a known format"),
    ]


def test_an_infinite_number_has_one_reason_on_every_engine(engine: Any) -> None:
    """1e400 read from text is infinity, as is an infinite float of a typed column: "not a
    finite number" on every engine, never "implausibly large" on one of them."""
    texts = ["1e400", "-1e400", "1e20", "5"]
    used, rejects = _canonical(
        engine, "transactions", _transactions(["2024-01-02"] * 4, revenue=texts)
    )
    assert [r["revenue"] for r in used] == [5.0]
    assert [(r["row"], r["reason"].split(" (")[0]) for r in rejects] == [
        (2, "revenue is not a finite number"),
        (3, "revenue is not a finite number"),
        (4, "revenue is implausibly large"),
    ]
    inf = float("inf")
    typed = pa.table(
        {
            "customer_id": pa.array([inf, 7.0, 8.0]),
            "date": ["2024-01-02"] * 3,
            "revenue": pa.array([1.0, -inf, 2.0]),
        }
    )
    used, rejects = _canonical(engine, "transactions", typed)
    assert [r["customer_id"] for r in used] == ["8"]
    assert [(r["row"], r["column"], r["reason"]) for r in rejects] == [
        (2, "customer_id", "missing customer_id"),
        (3, "revenue", "revenue is not a finite number"),
    ]


def test_a_one_digit_year_is_read_by_no_engine(engine: Any) -> None:
    """%y is a year of two digits; a text with one (5.3.4) is no date on any engine."""
    texts = ["5.3.4", "5.3.04", "05.03.24"]
    settings = Settings(transactions=TableInput(date_format="%d.%m.%y"))
    used, rejects = _canonical(engine, "transactions", _transactions(texts), settings=settings)
    assert [r["date"] for r in used] == [dt.date(2004, 3, 5), dt.date(2024, 3, 5)]
    assert [(r["row"], r["reason"]) for r in rejects] == [
        (2, "date is not a date in a known format (%d.%m.%y); set date_format")
    ]
    # the same with a time after the date, read by a format that has one
    settings = Settings(transactions=TableInput(date_format="%d.%m.%y %H:%M"))
    timed = [f"{v} 10:15" for v in texts]
    used, rejects = _canonical(engine, "transactions", _transactions(timed), settings=settings)
    assert [r["date"] for r in used] == [dt.date(2004, 3, 5), dt.date(2024, 3, 5)]
    assert [r["row"] for r in rejects] == [2]


def test_a_rejected_float_is_written_alike_on_every_engine(engine: Any) -> None:
    """The value of a rejected row from a typed float column reads as Python writes the
    float (DuckDB wrote 1e+20, Spark 1.0E20)."""
    revenue = [1e20, 1.5e16, -3.25e300, 4503599627370497.5, float("inf"), float("nan"), 2.5]
    ids = [2.0**53, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    n = len(revenue)
    typed = pa.table(
        {
            "customer_id": pa.array(ids),
            "date": ["2024-01-02"] * n,
            "revenue": pa.array(revenue),
        }
    )
    raw = engine.from_arrow(typed.append_column(ROW, pa.array(range(2, n + 2))))
    t = canonicalize(raw, "transactions", Settings(), engine, file="x.parquet")
    _, rejects = split_rejects(t, "x.parquet", "transactions")
    got = engine.to_arrow(rejects.select("row", "column", "value").order_by("row")).to_pylist()
    assert [(r["row"], r["column"]) for r in got] == [(2, "customer_id")] + [
        (row, "revenue") for row in range(3, n + 1)
    ]
    assert [r["value"] for r in got] == [repr(ids[0])] + [repr(v) for v in revenue[1:-1]]


def test_stray_control_characters_leave_customer_text_on_every_engine(engine: Any) -> None:
    # an escape sequence that recolours a terminal, a bell, a NUL byte: removed from names
    # and cities, each counted in a warning; a line break of a multi-line name stays
    names = ["Acme\x1b[1;31m GmbH\x1b[0m", "Bell\x07 Ltd", "Nul\x00l AG", "Werk 1\nWerk 2", "Plain"]
    n = len(names)
    raw = engine.from_arrow(
        pa.table(
            {
                "customer_id": [f"c{i}" for i in range(n)],
                "name": names,
                "city": ["Berlin", "Paris\x7f", "Wien", "Bern", "Rom"],
                ROW: range(2, n + 2),
            }
        )
    )
    warnings: list[str] = []
    t = canonicalize(raw, "customers", Settings(), engine, file="c.csv", warnings=warnings)
    used, rejects = split_rejects(t, "c.csv", "customers")
    assert engine.to_arrow(rejects).num_rows == 0
    got = engine.to_arrow(used.select(ROW, "name", "city").order_by(ROW)).to_pylist()
    # an escape sequence goes whole, not only its escape character
    assert [r["name"] for r in got] == ["Acme GmbH", "Bell Ltd", "Null AG", *names[3:]]
    assert [r["city"] for r in got] == ["Berlin", "Paris", "Wien", "Bern", "Rom"]
    said = [w for w in warnings if "control characters" in w]
    assert len(said) == 1 and "3 in 'name', 1 in 'city'" in said[0]


def test_an_iso_week_date_is_named_as_one_on_every_engine(engine: Any) -> None:
    raw = engine.from_arrow(
        pa.table(
            {
                "customer_id": ["A", "B"],
                "date": ["2024-W25-3", "2024-06-19"],
                "revenue": ["1", "2"],
                ROW: [2, 3],
            }
        )
    )
    t = canonicalize(raw, "transactions", Settings(), engine, file="x.csv")
    _, rejects = split_rejects(t, "x.csv", "transactions")
    (r,) = engine.to_arrow(rejects).to_pylist()
    assert r["row"] == 2 and r["reason"].startswith("date is an ISO week date")


def test_a_second_tables_column_names_and_1904_day_numbers_on_every_engine(engine: Any) -> None:
    from tierwise.validate import OTHER_NAMES

    raw = engine.from_arrow(
        pa.table(
            {
                "customer_id": ["A", "customer_id", "\ufeffcustomer_id", "B"],
                "date": ["43831", "date", "date", "43832"],
                "revenue": ["1", "amount", "revenue", "2"],
                ROW: [2, 3, 4, 5],
            }
        )
    )
    t = canonicalize(
        raw,
        "transactions",
        Settings(),
        engine,
        file="x.xlsx",
        serial_origin=dt.date(1904, 1, 1),
    )
    used, rejects = split_rejects(t, "x.xlsx", "transactions")
    got = {(r["row"], r["column"], r["reason"]) for r in engine.to_arrow(rejects).to_pylist()}
    assert got == {
        (3, "customer_id", OTHER_NAMES),
        (4, "customer_id", "the column names again (a header repeated inside the file)"),
    }
    dates = engine.to_arrow(used.order_by(ROW)).column("date").to_pylist()
    assert dates == [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]


#: rows below the header customer_id, date, revenue, Straße, region, and whether each is the
#: header of a second table (as a workbook's row is read: tests/unit/test_readers.py)
SECOND_HEADERS = [
    # no key, and names of other columns over the dates and the customers
    (["date", "customer_id", "amount", "", ""], True),
    (["Date", "Customer_ID", "Amount", None, None], True),  # in any case
    (["\ufeffdate", "customer_id", "amount", "", ""], True),  # an appended export's mark
    (["", "revenue", "date", "customer_id", ""], True),
    ([None, "Revenue", "Date", "Customer_ID", "Region"], True),
    (["date", "revenue", "", "", ""], True),
    (["STRASSE", "customer_id", "", "", ""], True),  # "ß" read as "ss"
    # a placeholder holds its own column's name: a customer without an id, not a header
    (["", "date", "revenue", "", ""], False),
    ([None, "2024-01-04", "5", "STRASSE", "region"], False),
    # a row with an id is data, whatever names its other cells hold
    (["C", "region", "straße", "", ""], False),
    # one name of another column only
    (["", "date", "amount", "", ""], False),
    (["customer_id ", "Datum", "amount", "x", ""], False),
    # values that happen to be names: two, with no key, or beside two values or more
    (["", "revenue", "date", "", ""], False),
    (["", "Revenue", "Date", None, None], False),
    (["", "2024-01-04", "5", "Region", "Strasse"], False),
    (["", "Jane Doe", "Region", "STRASSE", "Date"], False),
    # the header again in another case, as a workbook's is read (as written, it is the
    # header repeated)
    (["CUSTOMER_ID", "Date", "Revenue", "strasse", "Region"], True),
    (["customer_id", "date", "revenue", "STRASSE", "region"], True),
    (["CUSTOMER_ID", "DATE", "", "", ""], False),  # two names of five
    # a name in several cells counts once: two names, with no key
    (["", "revenue", "date", "revenue", "Date"], False),
]


def test_a_second_tables_header_without_the_key_in_a_text_file_on_every_engine(
    engine: Any,
) -> None:
    from tierwise.validate import OTHER_NAMES

    names = ["customer_id", "date", "revenue", "Straße", "region"]
    rows = [["A", "2024-01-02", "10", "Ulm", "South"], *(r for r, _ in SECOND_HEADERS)]
    s = Settings().with_updates(transactions={"extra_columns": ["Straße", "region"]})
    got = _text_rejects(engine, "transactions", names, rows, s, file="x.csv")
    other = sorted(r["row"] for r in got if r["reason"] == OTHER_NAMES)
    assert other == [i + 3 for i, (_, stops) in enumerate(SECOND_HEADERS) if stops]


def test_a_customer_whose_values_are_other_columns_names_is_data_on_every_engine(
    engine: Any,
) -> None:
    # a private customer (no company) whose preferred contact and lead source are values
    # that are also names of columns, in a customer master keyed by the company
    from tierwise.validate import OTHER_NAMES

    names = ["Company", "Name", "Email", "Phone", "Preferred Contact", "Lead Source"]
    rows = [
        ["Acme GmbH", "Max Muster", "max@acme.de", "+49 1", "Phone", "Website"],
        [None, "Jane Doe", "jane@example.com", None, "Email", "Phone"],
        [None, "Jane Doe", None, None, "Email", "Phone"],
        [None, None, None, None, "Email", "Phone"],
        [None, "Jane Doe", "jane@example.com", "+1 555", "Phone", "Email"],
        [None, "Name", None, None, "phone", "email"],
        ["Beta AG", "Eva", "eva@beta.ch", "+41 2", "Email", "Referral"],
    ]
    s = Settings().with_updates(
        customers={
            "columns": {"customer_id": "Company", "name": "Name"},
            "extra_columns": ["Preferred Contact", "Lead Source"],
        }
    )
    got = _text_rejects(engine, "customers", names, rows, s, file="c.csv")
    # no company, no customer id: rejected as such, and read on
    assert sorted((r["row"], r["reason"]) for r in got) == [
        (row, "missing customer_id") for row in range(3, 8)
    ]
    assert OTHER_NAMES not in {r["reason"] for r in got}


def test_a_name_in_several_cells_of_a_row_without_the_key_counts_once_on_every_engine(
    engine: Any,
) -> None:
    # a private customer (no company) whose contacts, first and fallback, are values that
    # are also names of columns: two names, however many cells hold them
    from tierwise.validate import OTHER_NAMES

    names = ["Company", "Name", "Email", "Phone", "Preferred Contact", "Fallback", "Source"]
    rows = [
        ["Acme GmbH", "Max Muster", "max@acme.de", "+49 1", "Phone", "Email", "Website"],
        [None, "Jane Doe", None, None, "Email", "Phone", "Email"],
        [None, None, None, None, "Phone", "EMAIL", "email"],
        [None, "Jane Doe", None, None, "Phone", "Phone", "Phone"],
    ]
    s = Settings().with_updates(
        customers={
            "columns": {"customer_id": "Company", "name": "Name"},
            "extra_columns": ["Preferred Contact", "Fallback", "Source"],
        }
    )
    got = _text_rejects(engine, "customers", names, rows, s, file="c.csv")
    assert sorted((r["row"], r["reason"]) for r in got) == [
        (row, "missing customer_id") for row in range(3, 6)
    ]
    assert OTHER_NAMES not in {r["reason"] for r in got}


def test_ids_matched_without_leading_zeros_show_the_masters_form_on_every_engine(
    engine: Any,
) -> None:
    from tierwise.io import RawInput

    tables = {
        "transactions": {
            "customer_id": ["42", "0099", "007"],
            "date": ["2024-01-31"] * 3,
            "revenue": ["1"] * 3,
        },
        "customers": {"customer_id": ["00042", "7", "042"]},
    }
    s = Settings().with_updates(validate_={"id_leading_zeros": "ignore"})
    raws, canon = {}, {}
    for name, cols in tables.items():
        data = pa.table(cols)
        raw = engine.from_arrow(data.append_column(ROW, pa.array(range(2, data.num_rows + 2))))
        raws[name] = RawInput(name, f"{name}.csv", raw)
        canon[name] = canonicalize(raw, name, s, engine, file=f"{name}.csv")
    warnings: list[str] = []
    checked = validate_inputs(
        canon, raws, s, engine, as_of=None, today=dt.date(2025, 1, 1), warnings=warnings
    )
    ids = {
        n: engine.to_arrow(t.order_by(ROW)).column("customer_id").to_pylist()
        for n, t in checked.used.items()
    }
    assert ids == {"transactions": ["00042", "99", "7"], "customers": ["00042", "7"]}
    assert checked.rejects.column("row").to_pylist() == [4]
    assert [w for w in warnings if "'00042' (row 2) and '042' (row 4)" in w]


def test_a_report_grouped_by_customer_is_filled_down_on_every_engine(engine: Any) -> None:
    # QuickBooks' Sales by Customer Detail: each customer's name on a heading row of its own,
    # its lines under it with the first cell empty, a subtotal row after them; the rows are
    # shuffled in the engine's table, the file's order is _row
    rows = [
        (6, "Amy's Bird Sanctuary", None, None),
        (7, None, "01/05/2024", "300.00"),
        (8, "  ", "02/11/2024", "50.00"),
        (9, "Total for Amy's Bird Sanctuary", None, "$350.00"),
        (10, "Bill's Windsurf Shop", None, None),
        (11, None, "03/15/2024", "300.00"),
        (12, "Cool Cars", "", ""),
        (13, None, "06/01/2024", "150.00"),
        (14, None, "06/02/2024", "20.00"),
    ]
    order = [4, 0, 8, 2, 6, 1, 7, 3, 5]
    raw = engine.from_arrow(
        pa.table(
            {
                "column_1": [rows[i][1] for i in order],
                "Date": [rows[i][2] for i in order],
                "Amount": [rows[i][3] for i in order],
                ROW: [rows[i][0] for i in order],
            }
        )
    )
    s = Settings().with_updates(
        transactions={
            "fill_down": ["Column 1"],  # the file's name, read as other settings read it
            "date_format": "%m/%d/%Y",
            "columns": {"customer_id": "column_1", "date": "Date", "revenue": "Amount"},
        }
    )
    # stored as a run stores it (on Spark the checks then run once, on the filled rows)
    t = store_checked(engine, canonicalize(raw, "transactions", s, engine, file="x.csv"))
    used, rejects = split_rejects(t, "x.csv", "transactions")
    got = engine.to_arrow(used.select(ROW, "customer_id", "revenue").order_by(ROW)).to_pylist()
    assert [(r[ROW], r["customer_id"], r["revenue"]) for r in got] == [
        (7, "Amy's Bird Sanctuary", 300.0),
        (8, "Amy's Bird Sanctuary", 50.0),
        (11, "Bill's Windsurf Shop", 300.0),
        (13, "Cool Cars", 150.0),
        (14, "Cool Cars", 20.0),
    ]
    out = engine.to_arrow(rejects.select("row", "reason", "value").order_by("row")).to_pylist()
    reasons = {r["row"]: r["reason"] for r in out}
    assert set(reasons) == {6, 9, 10, 12}  # every row used or rejected
    for row in (6, 10, 12):
        assert reasons[row].startswith("a group heading: its column_1 is carried down"), reasons
    assert reasons[9] == "missing date"
    # without the setting the lines under a heading carry no customer of their own
    plain = Settings().with_updates(
        transactions={
            "date_format": "%m/%d/%Y",
            "columns": {"customer_id": "column_1", "date": "Date", "revenue": "Amount"},
        }
    )
    t = store_checked(engine, canonicalize(raw, "transactions", plain, engine, file="x.csv"))
    assert engine.count(split_rejects(t, "x.csv", "transactions")[0]) == 0


def test_the_null_of_mysql_and_postgresql_text_exports_is_no_value_on_every_engine(
    engine: Any,
) -> None:
    # SELECT … INTO OUTFILE and COPY … TO write a NULL as \N: such a cost rejected its line as
    # "not a number"; a lone N stays a value, for the engine's string escapes not to eat it
    raw = engine.from_arrow(
        pa.table(
            {
                "customer_id": ["A", "B", "C"],
                "date": ["2024-01-31", "\\N", "2024-01-31"],
                "revenue": ["10", "5", "7"],
                "cost": ["\\N", "3", "N"],
                ROW: [2, 3, 4],
            }
        )
    )
    t = canonicalize(raw, "transactions", Settings(), engine, file="x.csv")
    used, rejects = split_rejects(t, "x.csv", "transactions")
    got = engine.to_arrow(used.select(ROW, "cost").order_by(ROW)).to_pylist()
    assert got == [{ROW: 2, "cost": None}]
    rej = engine.to_arrow(rejects.order_by("row")).select(["row", "reason"]).to_pylist()
    assert rej == [
        {"row": 3, "reason": "missing date"},
        {"row": 4, "reason": "cost is not a number"},
    ]


def test_an_id_with_excels_text_apostrophe_is_the_id_on_every_engine(engine: Any) -> None:
    # '00123 in the transactions is the master's 00123 (and the other way round); an id
    # tierwise wrote as '=A1 or '-x (its formula guard) reads back as written before;
    # an apostrophe alone, before a space or doubled is text kept as it is
    from tierwise.io import RawInput
    from tierwise.io.outputs import neutralise_formulas

    written = neutralise_formulas(pa.table({"id": ["=A1", "-x"]}))["id"].to_pylist()
    assert written == ["'=A1", "'-x"]
    tables = {
        "transactions": {
            "customer_id": ["'00123", "00124", *written, "' 7", "''8", "'"],
            "date": ["2024-01-31"] * 7,
            "revenue": ["1"] * 7,
        },
        "customers": {"customer_id": ["00123", "'00124", "=A1", "-x"]},
    }
    s = Settings()
    raws, canon = {}, {}
    warnings: list[str] = []
    for name, cols in tables.items():
        data = pa.table(cols)
        raw = engine.from_arrow(data.append_column(ROW, pa.array(range(2, data.num_rows + 2))))
        raws[name] = RawInput(name, f"{name}.csv", raw)
        canon[name] = canonicalize(raw, name, s, engine, file=f"{name}.csv", warnings=warnings)
    t = engine.to_arrow(canon["transactions"].order_by(ROW)).column("customer_id").to_pylist()
    assert t == ["00123", "00124", "=A1", "-x", "' 7", "''8", "'"]
    c = engine.to_arrow(canon["customers"].order_by(ROW)).column("customer_id").to_pylist()
    assert c == ["00123", "00124", "=A1", "-x"]
    said = [w for w in warnings if "Excel's mark for text" in w]
    assert said == [
        "transactions.csv: 3 ids began with an apostrophe, Excel's mark for text such as "
        "'00123 (3 in 'customer_id'); the apostrophe is dropped, so that they match the same "
        "ids written without it in the other files",
        "customers.csv: 1 id began with an apostrophe, Excel's mark for text such as '00123 "
        "(1 in 'customer_id'); the apostrophe is dropped, so that they match the same ids "
        "written without it in the other files",
    ]


def test_an_amount_marked_credit_or_debit_after_it_reads_on_every_engine(engine: Any) -> None:
    # a ledger's "CR" after an amount is a credit (negative), "DR" a debit; an amount with
    # a sign of its own as well, or a mark without an amount, is refused, not guessed at
    amounts = ["123.45 CR", "123.45 DR", "1,234.50Cr", "EUR 5 cr", "7.00 EUR Dr", "75.5-"]
    amounts += ["-5 CR", "(5) DR", "CR"]
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
    assert [r["revenue"] for r in got] == [-123.45, 123.45, -1234.5, -5.0, 7.0, -75.5]
    refused = engine.to_arrow(rejects).sort_by("row").to_pylist()
    assert [(r["row"], r["reason"]) for r in refused] == [
        (8, "revenue is not a number"),
        (9, "revenue is not a number"),
        (10, "revenue is not a number"),
    ]


def _validated(engine: Any, tables: dict[str, dict[str, list[Any]]]) -> tuple[Any, list[str]]:
    """The checked inputs of ``tables`` (each a file of that name) and the warnings."""
    from tierwise.io import RawInput

    raws, canon = {}, {}
    for name, cols in tables.items():
        data = pa.table(cols)
        raw = engine.from_arrow(data.append_column(ROW, pa.array(range(2, data.num_rows + 2))))
        raws[name] = RawInput(name, f"{name}.csv", raw)
        canon[name] = canonicalize(
            raw, name, Settings(), engine, file=f"{name}.csv", today=dt.date(2025, 1, 1)
        )
    warnings: list[str] = []
    checked = validate_inputs(
        canon, raws, Settings(), engine, as_of=None, today=dt.date(2025, 1, 1), warnings=warnings
    )
    return checked, warnings


def _customers_of(engine: Any, checked: Any, name: str) -> list[tuple[int, str]]:
    rows = engine.to_arrow(checked.used[name].order_by(ROW)).to_pylist()
    return [(r[ROW], r["customer_id"]) for r in rows]


def _rejected(checked: Any, name: str) -> list[tuple[int, str, str]]:
    return sorted(
        (r["row"], r["value"], r["reason"])
        for r in checked.rejects.to_pylist()
        if r["table"] == name
    )


def test_activities_and_payments_naming_the_customer_by_its_name(engine: Any) -> None:
    # a CRM's activities and an accounting program's payments name the account, not its id
    # (Salesforce's Account Name, QuickBooks' Customer): a name of one customer of the master
    # reads as its id, a name two customers share is no customer
    tables = {
        "transactions": {
            "customer_id": ["A", "B", "C"],
            "date": ["2024-01-31"] * 3,
            "revenue": ["10", "20", "30"],
        },
        "customers": {
            "customer_id": ["A", "B", "C", "D"],
            "name": ["Acme Corp", "Globex", "Twin", "twin "],
        },
        "activities": {
            "customer_id": [" acme CORP", "Globex", "B", "Twin", "Nobody", "Globex"],
            "date": ["2024-01-15"] * 5 + ["not a date"],
            "type": ["visit"] * 6,
        },
        "payments": {
            "invoice_id": ["1", "2"],
            "customer_id": ["Globex", "C"],
            "due_date": ["2024-01-10"] * 2,
            "amount": ["20", "30"],
        },
    }
    checked, warnings = _validated(engine, tables)
    assert _customers_of(engine, checked, "activities") == [(2, "A"), (3, "B"), (4, "B")]
    pays = engine.to_arrow(checked.used["payments"].order_by(ROW)).to_pylist()
    assert [(r["invoice_id"], r["customer_id"]) for r in pays] == [("1", "B"), ("2", "C")]
    rejected = _rejected(checked, "activities")
    assert [(row, value) for row, value, _ in rejected] == [
        (5, "Twin"),
        (6, "Nobody"),
        (7, "not a date"),
    ]
    assert (
        rejected[0][2]
        == "customer_id names 2 customers of the master (customers.csv, column 'name')"
    )
    assert rejected[1][2].startswith("customer_id not found")
    # the row rejected for its date is no row named by name
    said = [w for w in warnings if "by its name" in w or "share" in w]
    assert said == [
        "activities: 2 rows of activities.csv name the customer in column 'customer_id' by "
        "its name, not its id: each is read as the customer of that name in customers.csv "
        "(column 'name'); map the column of the customer's id in [activities.columns] if the "
        "file has one",
        "activities: 1 row of activities.csv names in column 'customer_id' a customer by a "
        "name that several customers of customers.csv (column 'name') share: rejected; map "
        "the column of the customer's id in [activities.columns] if the file has one",
        "payments: 1 row of payments.csv names the customer in column 'customer_id' by its "
        "name, not its id: each is read as the customer of that name in customers.csv (column "
        "'name'); map the column of the customer's id in [payments.columns] if the file has one",
    ]


def test_a_name_with_sharp_s_is_not_the_name_written_ss(engine: Any) -> None:
    # lower case folds a name alike on every engine: Straße and Strasse stay two names
    tables = {
        "transactions": {
            "customer_id": ["A", "B"],
            "date": ["2024-01-31"] * 2,
            "revenue": ["10", "20"],
        },
        "customers": {"customer_id": ["A", "B"], "name": ["Straße GmbH", "Strasse GmbH"]},
        "activities": {
            "customer_id": ["STRASSE GMBH", "straße gmbh"],
            "date": ["2024-01-15"] * 2,
            "type": ["visit"] * 2,
        },
    }
    checked, _ = _validated(engine, tables)
    assert _customers_of(engine, checked, "activities") == [(2, "B"), (3, "A")]


def test_ids_of_digits_are_not_read_as_names(engine: Any) -> None:
    # names of digits ("7") are ids written as the master writes its ids, not names
    tables = {
        "transactions": {
            "customer_id": ["1", "2"],
            "date": ["2024-01-31"] * 2,
            "revenue": ["10", "20"],
        },
        "customers": {"customer_id": ["1", "2", "3"], "name": ["2", "7", "1"]},
        "activities": {
            "customer_id": ["1", "2", "7"],
            "date": ["2024-01-15"] * 3,
            "type": ["visit"] * 3,
        },
    }
    checked, warnings = _validated(engine, tables)
    assert _customers_of(engine, checked, "activities") == [(2, "1"), (3, "2")]
    assert [v for _, v, _ in _rejected(checked, "activities")] == ["7"]
    assert not [w for w in warnings if "by its name" in w]


def test_ids_mostly_of_no_customer_are_not_read_as_names(engine: Any) -> None:
    # one value of three is a customer's name: the column holds ids of another program
    tables = {
        "transactions": {"customer_id": ["C1"], "date": ["2024-01-31"], "revenue": ["10"]},
        "customers": {"customer_id": ["C1", "C2"], "name": ["Acme Corp", "Globex"]},
        "activities": {
            "customer_id": ["Acme Corp", "Old Account", "Gone Account"],
            "date": ["2024-01-15"] * 3,
            "type": ["visit"] * 3,
        },
    }
    checked, _ = _validated(engine, tables)
    assert [(row, value) for row, value, _ in _rejected(checked, "activities")] == [
        (2, "Acme Corp"),
        (3, "Old Account"),
        (4, "Gone Account"),
    ]


def test_a_known_id_that_is_another_customers_name_stays_that_id(engine: Any) -> None:
    # Hooli is a customer of the transactions and the name of the master's C3
    tables = {
        "transactions": {
            "customer_id": ["C1", "Hooli"],
            "date": ["2024-01-31"] * 2,
            "revenue": ["10", "20"],
        },
        "customers": {"customer_id": ["C1", "C2", "C3"], "name": ["Acme Corp", "Globex", "Hooli"]},
        "activities": {
            "customer_id": ["Hooli", "Acme Corp", "Globex"],
            "date": ["2024-01-15"] * 3,
            "type": ["visit"] * 3,
        },
    }
    checked, _ = _validated(engine, tables)
    assert _customers_of(engine, checked, "activities") == [(2, "Hooli"), (3, "C1"), (4, "C2")]


#: accounts' Salesforce ids of 18 characters, their last 3 the check characters
_SALESFORCE_IDS = ["001Dn00000AbCdEIAV", "001Dn00000AbCdFIAV", "001Dn00000XyZ12IAF"]


def test_a_salesforce_id_of_15_characters_is_the_masters_of_18(engine: Any) -> None:
    # a data export writes an account's id with 18 characters, a report with the first 15
    long = _SALESFORCE_IDS
    tables = {
        "transactions": {
            "customer_id": [long[0][:15], long[1], long[2][:15], "001Dn00000QQQQQ"],
            "date": ["2024-01-31"] * 4,
            "revenue": ["10", "20", "30", "40"],
        },
        "customers": {"customer_id": long},
        "activities": {
            "customer_id": [long[1][:15], long[0][:15].lower(), long[2][:15]],
            "date": ["2024-01-15", "2024-01-15", "not a date"],
            "type": ["visit"] * 3,
        },
    }
    checked, warnings = _validated(engine, tables)
    tx = engine.to_arrow(checked.used["transactions"].order_by(ROW)).to_pylist()
    assert [r["customer_id"] for r in tx] == [*long, "001Dn00000QQQQQ"]
    # a Salesforce id tells letter case apart: the lower-case one is no customer
    assert _customers_of(engine, checked, "activities") == [(2, long[1])]
    said = [w for w in warnings if "Salesforce" in w]
    # the activity rejected for its date is not counted
    assert said == [
        "transactions: 2 rows of transactions.csv give in column 'customer_id' a Salesforce "
        "id of 15 characters, as a Salesforce report writes it, where customers.csv writes "
        "the same id with 18: each is read as the master's customer",
        "activities: 1 row of activities.csv gives in column 'customer_id' a Salesforce id "
        "of 15 characters, as a Salesforce report writes it, where customers.csv writes the "
        "same id with 18: each is read as the master's customer",
    ]


def test_ids_of_18_digits_are_no_salesforce_ids(engine: Any) -> None:
    # 18 digits have no upper-case letter, so their check characters would be AAA
    long = ["123456789012345678", "223456789012345678"]
    tables = {
        "transactions": {
            "customer_id": [*long, long[0][:15]],
            "date": ["2024-01-31"] * 3,
            "revenue": ["10", "20", "30"],
        },
        "customers": {"customer_id": long},
    }
    checked, warnings = _validated(engine, tables)
    tx = engine.to_arrow(checked.used["transactions"].order_by(ROW)).to_pylist()
    assert [r["customer_id"] for r in tx] == [*long, long[0][:15]]
    assert not [w for w in warnings if "Salesforce" in w]


def test_a_master_not_all_of_salesforce_ids_reads_no_short_id(engine: Any) -> None:
    long = [_SALESFORCE_IDS[0], "CUSTOMER-000000001"]
    tables = {
        "transactions": {
            "customer_id": [*long, long[0][:15]],
            "date": ["2024-01-31"] * 3,
            "revenue": ["10", "20", "30"],
        },
        "customers": {"customer_id": long},
    }
    checked, warnings = _validated(engine, tables)
    tx = engine.to_arrow(checked.used["transactions"].order_by(ROW)).to_pylist()
    assert [r["customer_id"] for r in tx] == [*long, long[0][:15]]
    assert not [w for w in warnings if "Salesforce" in w]


def test_a_ledgers_debit_and_credit_give_the_revenue_on_every_engine(engine: Any) -> None:
    # a general ledger's two amount columns: revenue is the sale's side less the other, an
    # empty side read as 0, the amounts read as any amount is (a decimal comma, a thousands
    # separator, a currency sign); both sides empty, or text, reject the line
    debit = ["1.234,50", "", "12,00 €", "", "abc", "-", "0,00"]
    credit = ["", "100,00", "2,00", "", "", "5,5", "€ 1 000,25"]
    n = len(debit)
    cols = {
        "customer_id": [f"C{i}" for i in range(n)],
        "date": ["31.01.2024"] * n,
        "Debit": debit,
        "Credit": credit,
    }
    ledger = {"columns": {"debit_amount": "Debit", "credit_amount": "Credit"}}
    used, rejects = _canonical(
        engine,
        "transactions",
        cols,
        delimiter=";",
        settings=Settings().with_updates(transactions=ledger),
    )
    assert [(r[ROW], r["revenue"]) for r in used] == [
        (2, 1234.5), (3, -100.0), (4, 10.0), (7, -5.5), (8, -1000.25),
    ]  # fmt: skip
    assert rejects == [
        {
            "row": 5,
            "column": "Debit",
            "reason": "missing debit_amount and credit_amount (revenue is debit_amount − "
            "credit_amount)",
        },
        {"row": 6, "column": "Debit", "reason": "debit_amount is not a number"},
    ]
    # lines of revenue accounts: a sale is a credit
    sales_on_credit = {**ledger, "ledger_sale_side": "credit"}
    used, _ = _canonical(
        engine,
        "transactions",
        cols,
        delimiter=";",
        settings=Settings().with_updates(transactions=sales_on_credit),
    )
    assert [r["revenue"] for r in used] == [-1234.5, 100.0, -10.0, 5.5, 1000.25]
