"""Validation on tiny hand-made raw tables: each parse rule, each reject reason, the flags.

Raw tables are built the way the CSV reader hands them over (every value text, ``_row`` the
line number) unless a test is about typed (Parquet) input.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tierwise.engine import ROW, Engine
from tierwise.errors import InputError, Problems, SettingsError
from tierwise.schema import TABLES
from tierwise.settings import Settings
from tierwise.validate import (
    _SHAPE_MIN_LINES,
    _placeholder_id,
    canonicalize,
    check_transactions,
    reject_duplicate_keys,
    reject_unknown_customers,
    split_rejects,
    validate_inputs,
)

TODAY = dt.date(2025, 1, 15)


@pytest.fixture(scope="module")
def eng() -> Engine:
    return Engine()


def _raw(eng: Engine, cols: dict[str, list[Any]]) -> Any:
    n = len(next(iter(cols.values())))
    return eng.from_arrow(pa.table({**cols, ROW: pa.array(range(2, n + 2), pa.int64())}))


def _tx_cols(n: int, **over: list[Any]) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {
        "customer_id": [f"c{i}" for i in range(n)],
        "date": ["2024-06-01"] * n,
        "revenue": ["10"] * n,
    }
    cols.update(over)
    return cols


def _activity_cols(ids: list[str]) -> dict[str, list[Any]]:
    """Visits on 2024-01-01 by the customers ``ids``, one row each."""
    return {"customer_id": ids, "date": ["2024-01-01"] * len(ids), "type": ["visit"] * len(ids)}


def _payment_cols(ids: list[str]) -> dict[str, list[Any]]:
    """One paid invoice of 1 per customer of ``ids`` (i1, i2, …), due 2024-01-01."""
    n = len(ids)
    return {
        "customer_id": ids,
        "invoice_id": [f"i{i + 1}" for i in range(n)],
        "due_date": ["2024-01-01"] * n,
        "paid_date": ["2024-01-05"] * n,
        "amount": ["1"] * n,
    }


def _validate(
    eng: Engine,
    cols: dict[str, list[Any]],
    *,
    table: str = "transactions",
    settings: Settings | None = None,
    as_of: dt.date | None = None,
    today: dt.date = TODAY,
    delimiter: str | None = None,
    warnings: list[str] | None = None,
) -> tuple[list[dict[str, Any]], dict[int, tuple[str, str]]]:
    """(rows used, in row order; {row: (column, reason)} of the rejects)."""
    settings = settings or Settings()
    t = canonicalize(
        _raw(eng, cols),
        table,
        settings,
        eng,
        file="f.csv",
        delimiter=delimiter,
        warnings=warnings,
        today=today,
        as_of=as_of,
    )
    if table == "transactions":
        t = check_transactions(
            t, settings, as_of=as_of, today=today, engine=eng, file="f.csv", warnings=warnings
        )
    used, rejects = split_rejects(t, "f.csv", table)
    rej = eng.to_arrow(rejects).to_pylist()
    n = len(next(iter(cols.values())))
    used_rows = eng.to_arrow(used.order_by(ROW)).to_pylist()
    assert len(used_rows) + len(rej) == n  # every row accounted for
    return used_rows, {r["row"]: (r["column"], r["reason"]) for r in rej}


# -- identifiers -----------------------------------------------------------------------


def test_ids_are_trimmed_and_empty_ids_are_missing(eng: Engine) -> None:
    used, rej = _validate(eng, _tx_cols(3, customer_id=["  A1 ", "", "   "]))
    assert [r["customer_id"] for r in used] == ["A1"]
    assert rej == {
        3: ("customer_id", "missing customer_id"),
        4: ("customer_id", "missing customer_id"),
    }


def test_rejects_an_id_longer_than_max_id_length(eng: Engine) -> None:
    s = Settings().with_updates(validate_={"max_id_length": 5})
    used, rej = _validate(eng, _tx_cols(2, customer_id=["abcde", "abcdef"]), settings=s)
    assert [r["customer_id"] for r in used] == ["abcde"]
    assert rej == {3: ("customer_id", "customer_id is longer than 5 characters")}


def test_ids_keep_leading_zeros_and_float_ids_lose_the_point_zero(eng: Engine) -> None:
    used, _ = _validate(eng, _tx_cols(1, customer_id=["00042"]))
    assert used[0]["customer_id"] == "00042"
    # a typed (Parquet) float column of ids exported from a spreadsheet
    cols = _tx_cols(2, customer_id=[1234.0, 12.5])
    used, _ = _validate(eng, cols)
    assert [r["customer_id"] for r in used] == ["1234", "12.5"]


def test_float_ids_are_their_digits_up_to_2_53_and_refused_beyond(eng: Engine) -> None:
    # every whole number below 2^53 is a float exactly; 2^53 may be 2^53 + 1 rounded, and
    # 1e17 + 144 another id
    ids = [9007199254740991.0, 1234567890123456.0, 1e17 + 144, float("inf"), 2.0**53]
    used, rej = _validate(eng, _tx_cols(len(ids), customer_id=ids))
    assert [r["customer_id"] for r in used] == ["9007199254740991", "1234567890123456"]
    assert rej[4][0] == "customer_id"
    assert rej[4][1].startswith("customer_id is a float of 2^53 or more")
    assert rej[5] == ("customer_id", "missing customer_id")
    assert rej[6][1].startswith("customer_id is a float of 2^53 or more")


# -- numbers ---------------------------------------------------------------------------


def test_numbers_with_thousands_separators_and_currency_signs(eng: Engine) -> None:
    revenue = ["1,234.50", "1,234,567", "12 345", "€ 99.5", "-3.25", "+7"]
    used, rej = _validate(eng, _tx_cols(len(revenue), revenue=revenue))
    assert rej == {}
    assert [r["revenue"] for r in used] == [1234.5, 1234567.0, 12345.0, 99.5, -3.25, 7.0]


def test_numbers_grouped_as_india_writes_them_read_in_lakh_and_crore(eng: Engine) -> None:
    # Tally's Day Book: the last three digits, then twos; a grouping in neither way stays
    # rejected
    revenue = ["2,28,835.04", "1,00,00,000", "12,34,567.5", "99,999", "1,23,45", "12,3,456"]
    used, rej = _validate(eng, _tx_cols(len(revenue), revenue=revenue))
    assert [r["revenue"] for r in used] == [228835.04, 10000000.0, 1234567.5, 99999.0]
    assert rej == {
        6: ("revenue", "revenue is not a number"),
        7: ("revenue", "revenue is not a number"),
    }


def test_negatives_as_accountants_and_erps_write_them_and_currency_codes(eng: Engine) -> None:
    # (120.00): an accounting export's credit note; 75.5-: SAP's trailing minus
    revenue = ["(120.00)", "( 1,250.00 )", "75.5-", "EUR 1,234.50", "99.00 usd", "$ (5.00)"]
    revenue += ["-3", "12-34", "(7", "-"]
    used, rej = _validate(eng, _tx_cols(len(revenue), revenue=revenue))
    assert [r["revenue"] for r in used] == [-120.0, -1250.0, -75.5, 1234.5, 99.0, -5.0, -3.0]
    # not numbers however read: a date-like 12-34, an unclosed bracket; a lone dash marks
    # a missing value ([validate] missing_values), which a required column cannot lack
    assert rej == {
        9: ("revenue", "revenue is not a number"),
        10: ("revenue", "revenue is not a number"),
        11: ("revenue", "missing revenue"),
    }
    # with comma decimals (a German export): 1.234,50- and (120,00) €
    s = Settings().with_updates(transactions={"decimal": ","})
    used, rej = _validate(eng, _tx_cols(2, revenue=["1.234,50-", "(120,00) €"]), settings=s)
    assert rej == {} and [r["revenue"] for r in used] == [-1234.5, -120.0]


def test_texts_marking_a_missing_value_leave_the_cell_empty_and_keep_the_row(
    eng: Engine,
) -> None:
    # SQL Server's NULL, Excel's #N/A and #WERT!, a dash: an ERP's or a spreadsheet's way
    # of writing nothing in an optional column must not cost the line its revenue
    cost = ["NULL", "#N/A", " n/a ", "-", "#WERT!", "6.5", "null", "?"]
    warnings: list[str] = []
    used, rej = _validate(eng, _tx_cols(len(cost), cost=cost), warnings=warnings)
    assert rej == {}
    assert [r["cost"] for r in used] == [None] * 5 + [6.5, None, None]
    assert [r["revenue"] for r in used] == [10.0] * len(cost)
    said = [w for w in warnings if "read as empty" in w]
    assert said == [
        "f.csv: 7 cells read as empty for a text that marks a missing value, such as NULL, "
        "N/A, #N/A, - or the open-ended date 31.12.9999 (7 in 'cost'); their rows are kept "
        "without those values (a - that Excel's Accounting format wrote for a zero too; a "
        "paid_date so read is an invoice not yet paid). [validate] missing_values lists "
        "such texts (set [] to reject the rows instead)"
    ]
    # a customer's firmographics, and an open invoice's paid date as SAP writes it
    used, rej = _validate(
        eng,
        {"customer_id": ["a", "b", "c"], "employees": ["NULL", "25", "#N/A"]},
        table="customers",
    )
    assert rej == {} and [r["employees"] for r in used] == [None, 25.0, None]
    pay = {
        "invoice_id": ["i1", "i2"],
        "customer_id": ["a", "b"],
        "due_date": ["01.02.2024", "01.03.2024"],
        "paid_date": ["05.02.2024", "00.00.0000"],
        "amount": ["100", "250"],
    }
    used, rej = _validate(eng, pay, table="payments")
    assert rej == {} and [r["paid_date"] for r in used] == [dt.date(2024, 2, 5), None]
    # a required column so marked rejects its row as missing, not as unreadable, and the
    # warning about cells read as empty (rows kept) does not count it
    warnings = []
    _, rej = _validate(
        eng,
        _tx_cols(2, revenue=["NULL", "10"], date=["2024-06-01", "#N/A"]),
        warnings=warnings,
    )
    assert rej == {2: ("revenue", "missing revenue"), 3: ("date", "missing date")}
    assert not [w for w in warnings if "read as empty" in w]
    # in a number column a marker that is a number stays one: 00000000 is 0, not a zero date
    used, rej = _validate(eng, _tx_cols(1, cost=["00000000"]))
    assert rej == {} and used[0]["cost"] == 0.0
    # with no markers set, such a row is rejected for what it says
    s = Settings().with_updates(validate={"missing_values": []})
    warnings = []
    used, rej = _validate(eng, _tx_cols(2, cost=["NULL", "1"]), settings=s, warnings=warnings)
    assert rej == {2: ("cost", "cost is not a number")} and len(used) == 1
    assert not [w for w in warnings if "read as empty" in w]


def test_the_open_ended_date_is_an_invoice_not_yet_paid(eng: Engine) -> None:
    # SAP writes 31.12.9999 for "not yet": an open invoice, not a payment in the future
    # (which is rejected), whether the file holds it as text or as a date
    for paid in (
        ["05.02.2024", "31.12.9999", " 31.12.9999 "],
        ["05.02.2024", "31.12.9999 00:00:00", "9999-12-31T00:00:00"],
        [dt.date(2024, 2, 5), dt.date(9999, 12, 31), dt.date(9999, 12, 31)],
        [
            dt.datetime(2024, 2, 5, 10, 30),
            dt.datetime(9999, 12, 31, 23, 59, 59),
            dt.datetime(9999, 12, 31),
        ],
    ):
        warnings: list[str] = []
        pay = {
            "invoice_id": ["i1", "i2", "i3"],
            "customer_id": ["a", "b", "c"],
            "due_date": ["01.02.2024", "01.03.2024", "01.04.2024"],
            "paid_date": paid,
            "amount": ["100", "250", "80"],
        }
        used, rej = _validate(eng, pay, table="payments", warnings=warnings)
        assert rej == {}
        assert [r["paid_date"] for r in used] == [dt.date(2024, 2, 5), None, None]
        assert [w for w in warnings if "2 cells read as empty" in w and "'paid_date'" in w]
    # any other date that far ahead is a payment in the future, rejected
    pay["paid_date"] = [dt.date(2024, 2, 5), dt.date(9999, 12, 30), dt.date(2024, 4, 2)]
    _, rej = _validate(eng, pay, table="payments")
    assert list(rej) == [3] and rej[3][1].startswith("paid_date is in the future")
    # without the markers, the open-ended date is refused as a date in the future too
    s = Settings().with_updates(validate={"missing_values": []})
    pay["paid_date"] = ["05.02.2024", "31.12.9999", "02.04.2024"]
    _, rej = _validate(eng, pay, table="payments", settings=s)
    assert list(rej) == [3] and rej[3][1].startswith("paid_date is in the future")


def test_two_amounts_mapped_to_one_column_are_said(eng: Engine) -> None:
    # cost and revenue both "Betrag": every margin would be 0 in silence
    s = Settings.model_validate(
        {"transactions": {"columns": {"revenue": "Betrag", "cost": "Betrag"}}}
    )
    warnings: list[str] = []
    cols = {"customer_id": ["a"], "date": ["2024-06-01"], "Betrag": ["10"]}
    used, rej = _validate(eng, cols, settings=s, warnings=warnings)
    assert rej == {} and used[0]["revenue"] == used[0]["cost"] == 10.0
    assert [w for w in warnings if "Betrag" in w] == [
        "f.csv: revenue and cost both read the column 'Betrag', so they hold the same value; "
        "map each to its own column in [transactions.columns], or leave out those the file "
        "does not hold"
    ]
    # an id and a name may share a column (a customer named by its id): nothing said
    s = Settings.model_validate({"customers": {"columns": {"name": "customer_id"}}})
    warnings = []
    _validate(eng, {"customer_id": ["a"]}, table="customers", settings=s, warnings=warnings)
    assert not [w for w in warnings if "read the column" in w]


def test_a_column_named_like_one_the_mapping_reads_as_another_yields_to_the_mapping(
    eng: Engine,
) -> None:
    # the file's "order_id" holds product codes: product_id = "order_id" reads it as the
    # product, and order_id, matched by its name alone, is left out instead of reading it too
    s = Settings.model_validate({"transactions": {"columns": {"product_id": "order_id"}}})
    warnings: list[str] = []
    used, rej = _validate(eng, _tx_cols(2, order_id=["P1", "P2"]), settings=s, warnings=warnings)
    assert rej == {} and [(r["product_id"], r["order_id"]) for r in used] == [
        ("P1", None),
        ("P2", None),
    ]
    assert [w for w in warnings if "'order_id'" in w] == [
        "f.csv: the column 'order_id' is read as product_id ([transactions.columns] "
        'product_id = "order_id"), not also as order_id, which its name reads as and which '
        "cannot share it; map order_id in [transactions.columns] if the file holds it in "
        "another column"
    ]
    # a required column so left out is missing, and the hint names the mapping that took it
    s = Settings.model_validate({"transactions": {"columns": {"customer_id": "date"}}})
    with pytest.raises(InputError) as info:
        _validate(eng, _tx_cols(1), settings=s)
    assert info.value.one_line() == (
        "f.csv, column 'date': required column 'date' is missing (the column 'date' is read "
        'as customer_id ([transactions.columns] customer_id = "date"), which date cannot '
        "share; map customer_id to its own column, or date in [transactions.columns] "
        'date = "<your column>")'
    )
    # a column that may be shared is still read by its name too: a customer named by its id
    s = Settings.model_validate({"customers": {"columns": {"name": "customer_id"}}})
    used, _ = _validate(eng, {"customer_id": ["a"]}, table="customers", settings=s)
    assert used[0]["customer_id"] == used[0]["name"] == "a"


def test_two_mappings_reading_one_column_that_cannot_share_it_stop_the_run(eng: Engine) -> None:
    # spelt differently, "Date" and "date" name one column of the file: the run refuses it
    # (settings loaded from a file refuse the same spelling twice already at load)
    s = Settings.model_validate(
        {"transactions": {"columns": {"customer_id": "Date", "date": "date"}}}
    )
    with pytest.raises(SettingsError) as info:
        _validate(eng, _tx_cols(1), settings=s)
    assert str(info.value) == (
        "[transactions.columns] customer_id: reads the column 'date' of f.csv, as date does; "
        "customer_id and date cannot share one column: map each to its own column of the "
        "file, or remove the one the file does not hold"
    )


def test_the_typographic_minus_sign_is_a_minus(eng: Engine) -> None:
    # U+2212, as Apple Numbers, typeset reports and some BI exports write a negative
    revenue = ["\u2212120.50", "\u22121,250.00", "EUR \u221212.00"]
    used, rej = _validate(eng, _tx_cols(len(revenue), revenue=revenue))
    assert rej == {} and [r["revenue"] for r in used] == [-120.5, -1250.0, -12.0]
    # a return flagged by its sign: negative quantity too
    used, rej = _validate(eng, _tx_cols(1, revenue=["10"], quantity=["\u22122"]))
    assert rej == {} and used[0]["quantity"] == -2.0 and used[0]["is_return"]


def test_comma_decimals_when_set_or_for_semicolon_files(eng: Engine) -> None:
    revenue = ["1.234,50", "3,5", "-0,25", "1.234.567"]
    expected = [1234.5, 3.5, -0.25, 1234567.0]
    s = Settings().with_updates(transactions={"decimal": ","})
    used, rej = _validate(eng, _tx_cols(4, revenue=revenue), settings=s)
    assert rej == {} and [r["revenue"] for r in used] == expected
    # a ';'-delimited file defaults to comma decimals
    used, rej = _validate(eng, _tx_cols(4, revenue=revenue), delimiter=";")
    assert rej == {} and [r["revenue"] for r in used] == expected


def test_a_value_against_the_columns_decimal_separator_is_rejected_with_a_hint(
    eng: Engine,
) -> None:
    # two values read only with "." decimals, one only with ",": the column is "." and the
    # odd one out is rejected, never read as 1.23450 or 123450
    _, rej = _validate(eng, _tx_cols(4, revenue=["12.5", "3.25", "1.234,50", "abc"]))
    assert rej[4] == (
        "revenue",
        'revenue is not a number with "." as decimal separator, as in the rest of the column '
        '(set [transactions] decimal if the column uses ",")',
    )
    assert rej[5] == ("revenue", "revenue is not a number")
    assert len(rej) == 2


def test_a_semicolon_file_with_dot_decimals_keeps_every_value(eng: Engine) -> None:
    # the defect: 7.125 became 7125 (a thousands group) while 12.5 stayed 12.5
    warnings: list[str] = []
    used, rej = _validate(
        eng, _tx_cols(3, revenue=["7.125", "12.5", "1.250"]), delimiter=";", warnings=warnings
    )
    assert rej == {}
    assert [r["revenue"] for r in used] == [7.125, 12.5, 1.25]
    assert warnings == []


def test_a_comma_file_with_comma_decimals_keeps_every_value(eng: Engine) -> None:
    used, rej = _validate(eng, _tx_cols(3, revenue=["7,125", "12,5", "1.250,75"]))
    assert rej == {}
    assert [r["revenue"] for r in used] == [7.125, 12.5, 1250.75]


def test_a_column_that_reads_both_ways_is_a_warning_naming_file_column_and_setting(
    eng: Engine,
) -> None:
    warnings: list[str] = []
    used, rej = _validate(
        eng, _tx_cols(2, revenue=["1.250", "2.500"]), delimiter=";", warnings=warnings
    )
    assert rej == {}
    # a ";" file defaults to "," decimals: 1.250 is one thousand two hundred and fifty
    assert [r["revenue"] for r in used] == [1250.0, 2500.0]
    assert len(warnings) == 1
    assert "f.csv" in warnings[0] and "'revenue'" in warnings[0]
    assert "[transactions] decimal" in warnings[0]
    # the setting decides, and then nothing is assumed
    s = Settings().with_updates(transactions={"decimal": "."})
    warnings.clear()
    used, _ = _validate(
        eng, _tx_cols(2, revenue=["1.250", "2.500"]), settings=s, delimiter=";", warnings=warnings
    )
    assert [r["revenue"] for r in used] == [1.25, 2.5]
    assert warnings == []


def test_a_two_way_column_follows_the_files_other_number_columns(eng: Engine) -> None:
    warnings: list[str] = []
    cols = _tx_cols(2, revenue=["1.250", "2.500"], cost=["10.5", "0.75"])
    used, rej = _validate(eng, cols, delimiter=";", warnings=warnings)
    assert rej == {}
    assert [r["revenue"] for r in used] == [1.25, 2.5]
    assert len(warnings) == 1 and "like the file's other number columns" in warnings[0]


def test_an_underscore_is_not_a_digit_separator(eng: Engine) -> None:
    _, rej = _validate(eng, _tx_cols(2, revenue=["1_000", "1000"]))
    assert rej == {2: ("revenue", 'revenue is not a number ("_" is not a digit separator)')}


def test_digits_grouped_other_than_in_threes_are_rejected(eng: Engine) -> None:
    _, rej = _validate(eng, _tx_cols(4, revenue=["1,23.5", "12 34", "1.5", "1 234.5"]))
    assert sorted(rej) == [2, 3]


def test_the_thousands_setting_limits_the_grouping_characters(eng: Engine) -> None:
    s = Settings().with_updates(transactions={"thousands": ""})
    _, rej = _validate(eng, _tx_cols(2, revenue=["1,234.5", "1234.5"]), settings=s)
    assert list(rej) == [2]
    s = Settings().with_updates(transactions={"decimal": ",", "thousands": " "})
    used, rej = _validate(eng, _tx_cols(2, revenue=["1 234,5", "1\u00a0234,5"]), settings=s)
    assert rej == {} and [r["revenue"] for r in used] == [1234.5, 1234.5]


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity"])
def test_rejects_nan_and_infinity_text(eng: Engine, text: str) -> None:
    _, rej = _validate(eng, _tx_cols(1, revenue=[text]))
    assert rej == {2: ("revenue", "revenue is not a finite number")}


def test_rejects_nan_and_infinity_in_typed_columns(eng: Engine) -> None:
    cols = _tx_cols(3, revenue=[1.0, float("nan"), float("inf")])
    used, rej = _validate(eng, cols)
    assert [r["revenue"] for r in used] == [1.0]
    assert rej == {
        3: ("revenue", "revenue is not a finite number"),
        4: ("revenue", "revenue is not a finite number"),
    }


def test_optional_number_that_is_empty_is_null_not_rejected(eng: Engine) -> None:
    used, rej = _validate(eng, _tx_cols(2, quantity=["", "2"], cost=["  ", "1.5"]))
    assert rej == {}
    assert [(r["quantity"], r["cost"]) for r in used] == [(None, None), (2.0, 1.5)]


def test_missing_revenue_is_rejected(eng: Engine) -> None:
    _, rej = _validate(eng, _tx_cols(1, revenue=[""]))
    assert rej == {2: ("revenue", "missing revenue")}


# -- dates -----------------------------------------------------------------------------


def test_text_dates_in_several_formats_mixed_in_one_column(eng: Engine) -> None:
    dates = [
        "2024-01-31",
        "2024-01-31 10:15:00",
        "2024-01-31T10:15:00",
        "20240131",
        "31/01/2024",
        "31.01.2024",
        "2024/01/31",
    ]
    used, rej = _validate(eng, _tx_cols(len(dates), date=dates))
    assert rej == {}
    assert {r["date"] for r in used} == {dt.date(2024, 1, 31)}


def test_dates_as_apis_erps_and_spreadsheets_export_them(eng: Engine) -> None:
    dates = [
        "2024-01-31T10:15:00Z",  # ISO 8601 in UTC (Shopify, Salesforce)
        "2024-01-31T10:15:00.123+01:00",  # with fractions and an offset
        "31.01.2024 10:15:00",  # a German ERP's date and time
        "31-Jan-2024",  # Oracle, SAP
        "31 January 2024",
        "Jan 31, 2024 3:04 PM",
        "31-01-2024",
        "45322",  # the serial day of a spreadsheet cell formatted as a number
    ]
    used, rej = _validate(eng, _tx_cols(len(dates), date=dates))
    assert rej == {}
    assert [r["date"] for r in used] == [dt.date(2024, 1, 31)] * len(dates)
    # a number that is no plausible serial day is not read as a date
    _, rej = _validate(eng, _tx_cols(2, date=["12345", "123456"]))
    assert set(rej) == {2, 3}


@pytest.mark.parametrize("fmt", ["%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p"])
def test_a_time_after_the_date_is_left_aside_whatever_the_date_format(
    eng: Engine, fmt: str
) -> None:
    dates = ["12/1/2010 8:26", "12/01/2010 12:00 AM", "12/1/2010 3:04:05 PM", "12/1/2010"]
    s = Settings().with_updates(transactions={"date_format": fmt})
    used, rej = _validate(eng, _tx_cols(len(dates), date=dates), settings=s)
    assert rej == {}
    assert [r["date"] for r in used] == [dt.date(2010, 12, 1)] * len(dates)


def test_us_dates_when_the_format_list_puts_them_first(eng: Engine) -> None:
    s = Settings().with_updates(validate_={"date_formats": ["%m/%d/%Y", "%d/%m/%Y"]})
    used, _ = _validate(eng, _tx_cols(1, date=["02/03/2024"]), settings=s)
    assert used[0]["date"] == dt.date(2024, 2, 3)
    used, _ = _validate(eng, _tx_cols(1, date=["02/03/2024"]))
    assert used[0]["date"] == dt.date(2024, 3, 2)


def test_a_column_with_dates_only_month_first_is_read_month_first(eng: Engine) -> None:
    # 01/13 can only be 13 January: the whole column is then month-first, 02/03 too
    used, rej = _validate(eng, _tx_cols(2, date=["01/13/2024", "02/03/2024 10:15"]))
    assert rej == {}
    assert [r["date"] for r in used] == [dt.date(2024, 1, 13), dt.date(2024, 2, 3)]
    # invalid in the chosen order: rejected, the others kept
    used, rej = _validate(eng, _tx_cols(3, date=["01/13/2024", "02/30/2024", "2024-05-06"]))
    assert list(rej) == [3] and rej[3][1].startswith("date is no such date")
    assert [r["date"] for r in used] == [dt.date(2024, 1, 13), dt.date(2024, 5, 6)]


def test_a_column_with_dates_only_day_first_and_only_month_first_stops_the_run(
    eng: Engine,
) -> None:
    with pytest.raises(InputError) as caught:
        _validate(eng, _tx_cols(3, date=["13/01/2024", "01/13/2024", "02/03/2024"]))
    err = caught.value
    assert err.file == "f.csv" and err.column == "date"
    assert "13/01/2024" in err.message and "01/13/2024" in err.message
    assert "[transactions] date_format" in (err.hint or "")
    # the format set for the table decides: no question asked, the other order rejected
    s = Settings().with_updates(transactions={"date_format": "%m/%d/%Y"})
    used, rej = _validate(eng, _tx_cols(2, date=["13/01/2024", "01/13/2024"]), settings=s)
    assert list(rej) == [2] and used[0]["date"] == dt.date(2024, 1, 13)


def test_dates_whose_separators_show_two_orders_are_each_read_in_their_own(eng: Engine) -> None:
    # a German system's dotted dates beside a US one's slashed dates in one column: dots are
    # day first, slashes month first, and 01/06/2024 reads as the slashes do
    dates = ["31.12.2024", "12/30/2024", "05.01.2024", "01/06/2024", "13.02.2024", "45655"]
    warnings: list[str] = []
    used, rej = _validate(eng, _tx_cols(len(dates), date=dates), warnings=warnings)
    assert rej == {}
    assert [r["date"] for r in used] == [
        dt.date(2024, 12, 31),
        dt.date(2024, 12, 30),
        dt.date(2024, 1, 5),
        dt.date(2024, 1, 6),
        dt.date(2024, 2, 13),
        dt.date(2024, 12, 29),
    ]
    (said,) = [w for w in warnings if "each is read so" in w]
    assert "with '/' month first, with '.' day first" in said
    # one separator showing both orders still stops the run
    with pytest.raises(InputError, match="only day first"):
        _validate(eng, _tx_cols(3, date=["13.01.2024", "13/01/2024", "01/13/2024"]))


def test_date_formats_the_user_set_read_a_column_of_both_orders(eng: Engine) -> None:
    # the setting the docs give for a column mixing two orders reads it, where the column
    # was refused before the formats were tried
    s = Settings().with_updates(validate_={"date_formats": ["%d/%m/%Y", "%m/%d/%Y"]})
    used, rej = _validate(eng, _tx_cols(2, date=["13/01/2024", "01/14/2024"]), settings=s)
    assert rej == {}
    assert [r["date"] for r in used] == [dt.date(2024, 1, 13), dt.date(2024, 1, 14)]


def test_a_slip_in_a_column_that_shows_its_order_is_rejected_not_an_error(eng: Engine) -> None:
    # 150 dates day first, one typed month first: the column's order stands, the slip is a
    # date that does not exist in it (a run of 150 good rows is not stopped by one)
    days = [f"{13 + i % 15}/{1 + i % 12:02d}/2024" for i in range(150)]
    warnings: list[str] = []
    used, rej = _validate(eng, _tx_cols(151, date=[*days, "01/25/2024"]), warnings=warnings)
    assert list(rej) == [152] and rej[152][1].startswith("date is no such date")
    assert len(used) == 150 and used[0]["date"] == dt.date(2024, 1, 13)
    (said,) = [w for w in warnings if "only the other way round" in w]
    assert "writes its dates day first (150 values show it)" in said
    assert "1 value that reads only the other way round (first: 01/25/2024) is rejected" in said


def test_a_slip_in_a_month_first_column_leaves_it_month_first(eng: Engine) -> None:
    dates = ["01/13/2024"] * 150 + ["02/03/2024", "25/01/2024"]
    used, rej = _validate(eng, _tx_cols(len(dates), date=dates))
    assert list(rej) == [153]  # the day-first slip, 25/01
    assert {r["date"] for r in used} == {dt.date(2024, 1, 13), dt.date(2024, 2, 3)}


def test_date_formats_the_user_set_are_tried_as_given(eng: Engine) -> None:
    # US slashes and German dots in one setting: each format reads its own dates
    s = Settings().with_updates(validate_={"date_formats": ["%m/%d/%Y", "%d.%m.%Y"]})
    used, rej = _validate(eng, _tx_cols(2, date=["01/13/2024", "02.03.2024"]), settings=s)
    assert rej == {}
    assert [r["date"] for r in used] == [dt.date(2024, 1, 13), dt.date(2024, 3, 2)]


def test_a_column_whose_dates_read_both_ways_is_read_day_first_with_a_warning(
    eng: Engine,
) -> None:
    warnings: list[str] = []
    used, _ = _validate(eng, _tx_cols(2, date=["02/03/2024", "2024-05-06"]), warnings=warnings)
    assert used[0]["date"] == dt.date(2024, 3, 2)
    assert len(warnings) == 1
    assert "f.csv" in warnings[0] and "'date'" in warnings[0]
    assert "02/03/2024 is 2 March 2024" in warnings[0]
    assert '[transactions] date_format = "%m/%d/%Y"' in warnings[0]
    # no numeric date, no warning
    warnings = []
    _validate(eng, _tx_cols(1, date=["2024-05-06"]), warnings=warnings)
    assert warnings == []


def test_an_explicit_date_format_is_the_only_one_tried(eng: Engine) -> None:
    s = Settings().with_updates(transactions={"date_format": "%d.%m.%Y"})
    used, rej = _validate(eng, _tx_cols(2, date=["31.01.2024", "2024-01-31"]), settings=s)
    assert [r["date"] for r in used] == [dt.date(2024, 1, 31)]
    assert rej[3][0] == "date" and "not a date in a known format (%d.%m.%Y)" in rej[3][1]


def test_rejects_unparseable_and_missing_dates(eng: Engine) -> None:
    _, rej = _validate(eng, _tx_cols(3, date=["2024-1-1x", "soon", ""]))
    assert rej[2][1].startswith("date is not a date in a known format")
    assert rej[3][1].startswith("date is not a date in a known format")
    assert rej[4] == ("date", "missing date")


def test_a_date_that_does_not_exist_is_no_such_date(eng: Engine) -> None:
    _, rej = _validate(eng, _tx_cols(3, date=["31.02.2024", "2024-02-30", "31/31/2024"]))
    assert {r: why.split(" (")[0] for r, (_, why) in rej.items()} == {
        2: "date is no such date",
        3: "date is no such date",
        4: "date is no such date",
    }


def test_a_two_digit_year_is_named_as_such(eng: Engine) -> None:
    # DuckDB reads "24" with %Y as the year 24: that is a two-digit year, not "before 1900"
    _, rej = _validate(eng, _tx_cols(2, date=["15.3.24", "15/03/24"]))
    assert [why.split(":")[0] for _, why in rej.values()] == [
        "date has a two-digit year",
        "date has a two-digit year",
    ]
    s = Settings().with_updates(transactions={"date_format": "%d.%m.%y"})
    used, rej = _validate(eng, _tx_cols(1, date=["15.3.24"]), settings=s)
    assert rej == {} and used[0]["date"] == dt.date(2024, 3, 15)


def test_one_table_may_write_one_date_column_with_two_digit_years(eng: Engine) -> None:
    # due dates 01.01.24, paid dates 05.01.2024: a table-wide date_format would break one
    # of them; the list of formats tried value by value reads both, the %y one first
    pay = {
        "invoice_id": ["i1", "i2"],
        "customer_id": ["a", "b"],
        "due_date": ["01.01.24", "28.02.24"],
        "paid_date": ["05.01.2024", "01.03.2024"],
        "amount": ["100", "250"],
    }
    _, rej = _validate(eng, pay, table="payments")
    assert next(why for _, why in rej.values()).endswith(
        "(when another date column of the table writes years in full, add the format to "
        "[validate] date_formats instead)"
    )
    formats = [*Settings().validate_.date_formats, "%d.%m.%y"]
    s = Settings().with_updates(validate_={"date_formats": formats})
    used, rej = _validate(eng, pay, table="payments", settings=s)
    assert rej == {}
    assert [(r["due_date"], r["paid_date"]) for r in used] == [
        (dt.date(2024, 1, 1), dt.date(2024, 1, 5)),
        (dt.date(2024, 2, 28), dt.date(2024, 3, 1)),
    ]


def test_no_date_formats_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="at least one date format"):
        Settings().with_updates(validate_={"date_formats": []})


def test_rejects_dates_before_min_year(eng: Engine) -> None:
    _, rej = _validate(eng, _tx_cols(2, date=["1899-12-31", "1900-01-01"]))
    assert rej == {2: ("date", "date is before 1900")}
    s = Settings().with_updates(validate_={"min_year": 2000})
    _, rej = _validate(eng, _tx_cols(2, date=["1999-12-31", "2000-01-01"]), settings=s)
    assert rej == {2: ("date", "date is before 2000")}


def test_typed_dates_and_timestamps_are_taken_as_they_are(eng: Engine) -> None:
    cols = _tx_cols(1, date=[dt.date(2024, 5, 6)])
    assert _validate(eng, cols)[0][0]["date"] == dt.date(2024, 5, 6)
    cols = _tx_cols(1, date=[dt.datetime(2024, 5, 6, 23, 59)])
    assert _validate(eng, cols)[0][0]["date"] == dt.date(2024, 5, 6)


def test_dates_stored_as_numbers_are_read_as_their_digits_in_a_csv_file(eng: Engine) -> None:
    # Parquet or Excel columns of YYYYMMDD integers or spreadsheet serial days
    cols = _tx_cols(3, date=pa.array([20240131, 45322, 123], pa.int32()))
    used, rej = _validate(eng, cols)
    assert [r["date"] for r in used] == [dt.date(2024, 1, 31)] * 2
    assert rej[4][0] == "date" and rej[4][1].startswith("date is ")
    # a serial day's fraction is the time of day; NaN is no date
    cols = _tx_cols(3, date=pa.array([45322.75, 20240131.0, float("nan")], pa.float64()))
    used, rej = _validate(eng, cols)
    assert [r["date"] for r in used] == [dt.date(2024, 1, 31)] * 2
    assert rej == {4: ("date", "missing date")}


def test_the_first_reason_in_column_order_wins(eng: Engine) -> None:
    _, rej = _validate(eng, _tx_cols(1, customer_id=[""], date=["x"], revenue=["y"]))
    assert rej == {2: ("customer_id", "missing customer_id")}


# -- booleans and flags ------------------------------------------------------------------


def test_booleans_in_many_spellings(eng: Engine) -> None:
    flags = ["true", "Yes", "Y", "1", "x", "false", "no", "0", "", "N"]
    used, rej = _validate(eng, _tx_cols(len(flags), is_return=flags))
    assert rej == {}
    assert [r["is_return"] for r in used] == [True] * 5 + [False] * 5


def test_rejects_a_boolean_it_cannot_read(eng: Engine) -> None:
    _, rej = _validate(eng, _tx_cols(1, is_return=["maybe"]))
    assert rej == {
        2: (
            "is_return",
            "is_return is not true/false: use true/false, yes/no or 1/0, or list the file's "
            "own words in [transactions] true_values and false_values",
        )
    }


def test_a_document_type_column_reads_as_returns_with_the_tables_own_words(
    eng: Engine,
) -> None:
    # an ERP's document type (Belegart): credit notes and cancellations are the returns,
    # written with a positive amount; an invoice is not. "x" is told to be false here,
    # which wins over its built-in reading as true
    settings = Settings.model_validate(
        {
            "transactions": {
                "true_values": [" Gutschrift", "STORNO"],
                "false_values": ["Rechnung", "x"],
            }
        }
    )
    kinds = ["Rechnung", "gutschrift", "Storno ", "RECHNUNG", "x", "yes", "Lieferschein"]
    used, rej = _validate(
        eng,
        _tx_cols(len(kinds), is_return=kinds, revenue=["100", "30", "20", "10", "5", "7", "1"]),
        settings=settings,
    )
    assert [r["is_return"] for r in used] == [False, True, True, False, False, True]
    assert [r["revenue"] for r in used] == [100.0, -30.0, -20.0, 10.0, 5.0, -7.0]
    assert list(rej) == [8] and "[transactions] true_values" in rej[8][1]


def test_a_word_both_true_and_false_is_refused_in_the_settings() -> None:
    with pytest.raises(ValueError, match="'gutschrift' is in both true_values and false_values"):
        Settings.model_validate(
            {"transactions": {"true_values": ["Gutschrift"], "false_values": ["gutschrift "]}}
        )


def test_is_return_from_flag_negative_quantity_or_negative_revenue(eng: Engine) -> None:
    cols = _tx_cols(
        4,
        revenue=["10", "10", "-10", "10"],
        quantity=["1", "-1", "1", ""],
        is_return=["", "", "", "yes"],
    )
    used, _ = _validate(eng, cols)
    assert [r["is_return"] for r in used] == [False, True, True, True]


def test_is_return_reads_the_yes_no_words_init_maps_it_on(eng: Engine) -> None:
    # a German ERP's J/N flag and a German or French spreadsheet's TRUE/FALSE as its CSV
    # export writes them: tierwise init maps such a column as is_return ("yes/no values"),
    # and the run rejected every J, WAHR and VRAI line as "not true/false"
    words = ["J", "N", "WAHR", "FALSCH", "Vrai", "faux", "verdadero", "FALSO", "waar", "onwaar"]
    cols = _tx_cols(len(words), revenue=["10"] * len(words), is_return=words)
    used, rejected = _validate(eng, cols)
    assert rejected == {}
    assert [r["is_return"] for r in used] == [True, False] * 5


def test_is_cancel_from_the_order_prefix(eng: Engine) -> None:
    cols = _tx_cols(3, order_id=["C100", "SO100", ""], revenue=["-10", "10", "10"])
    used, _ = _validate(eng, cols)
    assert [r["is_cancel"] for r in used] == [True, False, False]
    s = Settings().with_updates(validate_={"cancel_prefix": "STORNO-"})
    cols = _tx_cols(3, order_id=["STORNO-1", "C1", "C2"], quantity=["-1", "-1", "1"])
    used, _ = _validate(eng, cols, settings=s)
    assert [r["is_cancel"] for r in used] == [True, False, False]
    s = Settings().with_updates(validate_={"cancel_prefix": ""})
    used, _ = _validate(eng, _tx_cols(2, order_id=["C1", "S1"], revenue=["-1", "2"]), settings=s)
    assert [r["is_cancel"] for r in used] == [False, False]


def test_orders_numbered_co_are_not_cancellations_and_the_run_says_so(eng: Engine) -> None:
    # the defect: every order of an ERP numbering orders CO-1001 became a cancellation
    warnings: list[str] = []
    cols = _tx_cols(4, order_id=["CO-1001", "CO-1002", "CO-1003", "CO-1004"])
    used, _ = _validate(eng, cols, warnings=warnings)
    assert [r["is_cancel"] for r in used] == [False] * 4
    assert len(warnings) == 1
    assert "4 lines" in warnings[0] and "'C'" in warnings[0]
    assert "[validate] cancel_prefix" in warnings[0]


def test_the_cancel_decision_may_wait_for_the_materialised_table(eng: Engine) -> None:
    from tierwise.validate import decide_cancellations

    s = Settings()
    for orders, revenue, believed in (
        (["C1", "S2", "S3"], ["-5", "10", "10"], [True, False, False]),
        (["CO-1", "CO-2", "CO-3"], ["5", "10", "10"], [False, False, False]),
    ):
        raw = _raw(eng, _tx_cols(3, order_id=orders, revenue=revenue))
        t = canonicalize(raw, "transactions", s, eng, file="f.csv", today=TODAY)
        t = check_transactions(t, s, as_of=None, today=TODAY, decide_cancel=False)
        t = eng.materialize(t)
        said: list[str] = []
        t = decide_cancellations(t, s, engine=eng, file="f.csv", warnings=said)
        assert eng.to_arrow(t.order_by(ROW)).column("is_cancel").to_pylist() == believed
        # believed or not, the run says what it made of the prefix, naming the first id
        assert len(said) == 1 and f"(the first: {orders[0]!r})" in said[0]
        assert ("not treated as" not in said[0]) == believed[0]


def test_credit_notes_numbered_c_are_returns_when_the_file_flags_returns(eng: Engine) -> None:

    # Zoho's credit notes CN-00001 beside invoices INV-…, with the document type mapped as
    # is_return: returns on their own date, not cancellations paired with a purchase
    n = 6
    cols = _tx_cols(
        n,
        order_id=["INV-1", "INV-2", "INV-3", "INV-4", "CN-00001", "INV-5"],
        revenue=["10", "10", "10", "10", "10", "10"],
        Type=["Invoice"] * 4 + ["Credit Note", "Invoice"],
    )
    s = Settings().with_updates(
        transactions={
            "columns": {"is_return": "Type"},
            "true_values": ["Credit Note"],
            "false_values": ["Invoice"],
        }
    )
    checked, warnings = _validated(eng, {"transactions": cols}, s)
    got = eng.to_arrow(checked.used["transactions"].order_by(ROW)).to_pylist()
    assert [(r["is_return"], r["is_cancel"], r["revenue"]) for r in got][4] == (True, False, -10.0)
    assert not any(r["is_cancel"] for r in got)
    (said,) = [w for w in warnings if "cancel" in w]
    assert "1 line with an order id starting with 'C' (the first: 'CN-00001')" in said
    assert "is_return is mapped" in said
    # a prefix before the id of the order it cancels (C + INV-2) is a cancellation still,
    # return flag or not: paired with that order's purchase
    cols["order_id"][4] = "CINV-2"
    checked, warnings = _validated(eng, {"transactions": cols}, s)
    got = eng.to_arrow(checked.used["transactions"].order_by(ROW)).to_pylist()
    assert [r["is_cancel"] for r in got] == [False] * 4 + [True, False]
    (said,) = [w for w in warnings if "cancel" in w]
    assert "(the first: 'CINV-2') is taken as a cancellation, each paired" in said


def test_a_prefix_on_positive_lines_is_not_believed(eng: Engine) -> None:
    # a minority carries the prefix, but its lines are sales, not negative cancellations
    warnings: list[str] = []
    cols = _tx_cols(4, order_id=["C1", "S2", "S3", "S4"])
    used, _ = _validate(eng, cols, warnings=warnings)
    assert [r["is_cancel"] for r in used] == [False] * 4
    assert len(warnings) == 1 and "1 line with an order id" in warnings[0]
    assert "negative" in warnings[0]


def test_the_lines_cost_is_unit_cost_times_quantity(eng: Engine) -> None:
    # an ERP's cost per unit (Unit Cost (LCY), Einstandspreis) and no cost of the line
    cols = _tx_cols(
        4,
        quantity=["2", "1", "-3", "5"],
        unit_cost=["6,5", "4", "4", ""],
        is_return=["no", "yes", "", "no"],
    )
    used, rejects = _validate(eng, cols)
    assert not rejects
    # a return's cost is negative (flagged, or by its quantity); a line without its unit
    # cost has no cost
    assert [r["cost"] for r in used] == [13.0, -4.0, -12.0, None]
    # a unit cost without a quantity to multiply: no cost, and said
    warnings: list[str] = []
    alone = {k: v for k, v in cols.items() if k != "quantity"}
    used, _ = _validate(eng, alone, warnings=warnings)
    assert [r["cost"] for r in used] == [None] * 4
    assert any("unit_cost is mapped" in w and "map quantity" in w for w in warnings)
    # the file's own line cost wins over the unit cost
    cols["cost"] = ["1", "2", "-3", "4"]
    used, _ = _validate(eng, cols)
    assert [r["cost"] for r in used] == [1.0, -2.0, -3.0, 4.0]


def test_a_flagged_return_with_a_positive_amount_is_negative_revenue(eng: Engine) -> None:
    # the defect: a return of 30 flagged is_return but written +30 added to revenue
    cols = _tx_cols(
        4,
        revenue=["100", "30", "-30", "12"],
        quantity=["2", "1", "-1", "-2"],
        cost=["60", "18", "-18", "7"],
        list_revenue=["110", "33", "-33", "13"],
        is_return=["no", "yes", "", ""],
    )
    used, _ = _validate(eng, cols)
    got = [(r["revenue"], r["quantity"], r["cost"], r["list_revenue"]) for r in used]
    assert got == [
        (100.0, 2.0, 60.0, 110.0),
        (-30.0, -1.0, -18.0, -33.0),  # flagged, written positive
        (-30.0, -1.0, -18.0, -33.0),  # written negative
        (-12.0, -2.0, -7.0, -13.0),  # negative quantity only: the amounts follow it
    ]
    assert sum(r["revenue"] for r in used) == 28.0  # 100 - 30 - 30 - 12


# -- duplicates --------------------------------------------------------------------------


def test_a_totals_row_below_the_transactions_is_rejected(eng: Engine) -> None:
    cols = _tx_cols(
        4, customer_id=["C1", "C2", "C3", "** Summe:"], revenue=["100", "50", "-20", "130"]
    )
    used, rej = _validate(eng, cols)
    assert [r["customer_id"] for r in used] == ["C1", "C2", "C3"]
    assert rej == {5: ("customer_id", "a totals row (its revenue is the sum of the rows above)")}


def test_a_totals_row_above_a_footer_line_is_rejected(eng: Engine) -> None:
    cols = _tx_cols(
        4, customer_id=["C1", "C2", "Total", "Printed"], revenue=["100", "50", "150", "x"]
    )
    cols["date"] = ["2024-01-02", "2024-01-03", "2024-01-31", ""]
    used, rej = _validate(eng, cols)
    assert [r["customer_id"] for r in used] == ["C1", "C2"]
    assert rej[4] == ("customer_id", "a totals row (its revenue is the sum of the rows above)")
    assert 5 in rej  # the footer, for its own reason


def test_a_total_word_whose_revenue_is_not_the_sum_is_kept_with_a_warning(eng: Engine) -> None:
    warnings: list[str] = []
    cols = _tx_cols(3, customer_id=["C1", "C2", "TOTAL"], revenue=["100", "50", "149"])
    used, rej = _validate(eng, cols, warnings=warnings)
    assert rej == {} and used[-1]["customer_id"] == "TOTAL"
    assert len(warnings) == 1 and "f.csv: row 4" in warnings[0] and "'TOTAL'" in warnings[0]
    # not below the other rows: a customer called Total, no warning
    warnings = []
    cols = _tx_cols(3, customer_id=["Total", "C1", "C2"], revenue=["150", "100", "50"])
    used, rej = _validate(eng, cols, warnings=warnings)
    assert rej == {} and warnings == []


def test_duplicate_lines_are_kept_by_default_and_rejected_when_configured(eng: Engine) -> None:
    cols = _tx_cols(4, customer_id=["A", "A", "A", "B"], revenue=["5", "5", "6", "5"])
    used, rej = _validate(eng, cols)
    assert len(used) == 4 and rej == {}
    s = Settings().with_updates(validate_={"drop_duplicate_lines": True})
    used, rej = _validate(eng, cols, settings=s)
    assert [r[ROW] for r in used] == [2, 4, 5]
    assert rej == {3: (None, "duplicate of an earlier identical line (row 2)")}


def test_duplicate_keys_in_the_customer_master(eng: Engine) -> None:
    raw = _raw(eng, {"customer_id": ["A", "B", "A ", "A"], "name": ["x", "y", "z", "w"]})
    t = canonicalize(raw, "customers", Settings(), eng, file="c.csv")
    t = reject_duplicate_keys(t, TABLES["customers"].key)
    used, rejects = split_rejects(t, "c.csv", "customers")
    assert eng.to_arrow(used.order_by(ROW)).column("name").to_pylist() == ["x", "y"]
    rej = eng.to_arrow(rejects.order_by("row")).to_pylist()
    assert [(r["row"], r["column"], r["reason"]) for r in rej] == [
        (4, "customer_id", "duplicate customer_id (first at row 2)"),
        (5, "customer_id", "duplicate customer_id (first at row 2)"),
    ]


# -- activities --------------------------------------------------------------------------


def test_activities_with_unknown_customer_ids_are_rejected(eng: Engine) -> None:
    known = eng.from_arrow(pa.table({"customer_id": ["A", "B"]}))
    raw = _raw(
        eng,
        {"customer_id": ["A", "Z", "B"], "date": ["2024-01-01"] * 3, "type": ["visit"] * 3},
    )
    t = canonicalize(raw, "activities", Settings(), eng, file="a.csv")
    t = reject_unknown_customers(t, known, "activities")
    used, rejects = split_rejects(t, "a.csv", "activities")
    assert eng.to_arrow(used.order_by(ROW)).column("customer_id").to_pylist() == ["A", "B"]
    (r,) = eng.to_arrow(rejects).to_pylist()
    assert (r["row"], r["column"], r["value"]) == (3, "customer_id", "Z")
    assert r["reason"].startswith("customer_id not found in customers or transactions")


def test_activity_types_are_folded_to_one_spelling_by_the_schema(eng: Engine) -> None:
    assert TABLES["activities"].columns[2].fold  # declared in the data contract
    types = ["Order Change", "order-change", "ORDER -  change", "visit", "Field Visit"]
    raw = _raw(eng, {"customer_id": ["A"] * 5, "date": ["2024-01-01"] * 5, "type": types})
    used, _ = split_rejects(
        canonicalize(raw, "activities", Settings(), eng, file="a.csv"), "a.csv", "activities"
    )
    assert eng.to_arrow(used.order_by(ROW)).column("type").to_pylist() == [
        "order_change",
        "order_change",
        "order_change",
        "visit",
        "field_visit",
    ]


def test_tables_declared_known_customers_are_checked_against_master_and_transactions(
    eng: Engine,
) -> None:
    from tierwise.io import RawInput

    declared = {name for name, spec in TABLES.items() if spec.known_customers}
    assert declared == {"activities", "payments"}
    tables = {
        "transactions": {
            "customer_id": ["T1", "T2"],
            "date": ["2024-01-01", "2024-01-02"],
            "revenue": ["10", "20"],
        },
        "customers": {"customer_id": ["M1", "T1"], "name": ["m", "t"]},
        "activities": {
            "customer_id": ["T2", "M1", "X9", "M1"],
            "date": ["2024-01-01"] * 4,
            "type": ["visit", "Phone Call", "visit", "email"],
        },
        "payments": {
            "invoice_id": ["I1", "I2"],
            "customer_id": ["X8", "T1"],
            "due_date": ["2024-01-01"] * 2,
            "amount": ["5", "6"],
        },
    }
    raws, canon = {}, {}
    for name, cols in tables.items():
        raws[name] = RawInput(name, f"{name}.csv", _raw(eng, cols))
        canon[name] = canonicalize(raws[name].table, name, Settings(), eng, file=f"{name}.csv")
    warnings: list[str] = []
    checked = validate_inputs(
        canon, raws, Settings(), eng, as_of=None, today=dt.date(2025, 1, 1), warnings=warnings
    )
    assert checked.as_of == dt.date(2024, 1, 2)
    acts = eng.to_arrow(checked.used["activities"].order_by(ROW))
    assert acts.column("customer_id").to_pylist() == ["T2", "M1", "M1"]
    assert acts.column("type").to_pylist() == ["visit", "phone_call", "email"]
    rej = {(r["table"], r["row"], r["value"]) for r in checked.rejects.to_pylist()}
    assert rej == {("activities", 4, "X9"), ("payments", 2, "X8")}
    for name, account in checked.accounts.items():
        assert account.rows_read == account.rows_used + account.rows_rejected, name
    assert checked.accounts["activities"].rows_rejected == 1
    (missing,) = [w for w in warnings if "not in the customer master" in w]
    assert missing.startswith("1 customer in the transactions is not in the customer master")
    assert "leading zeros" not in missing  # T2 is simply absent from the master


def _validated(
    eng: Engine, tables: dict[str, dict[str, list[Any]]], settings: Settings | None = None
) -> tuple[Any, list[str]]:
    """These input tables (CSV-like text columns) validated together: the result and the
    warnings."""
    from tierwise.io import RawInput

    s = settings or Settings()
    raws, canon = {}, {}
    for name, cols in tables.items():
        raws[name] = RawInput(name, f"{name}.csv", _raw(eng, cols))
        canon[name] = canonicalize(raws[name].table, name, s, eng, file=f"{name}.csv")
    warnings: list[str] = []
    checked = validate_inputs(
        canon, raws, s, eng, as_of=None, today=dt.date(2025, 1, 1), warnings=warnings
    )
    return checked, warnings


def _validated_warnings(eng: Engine, tables: dict[str, dict[str, list[Any]]]) -> list[str]:
    """The warnings of validating these input tables together (CSV-like text columns)."""
    return _validated(eng, tables)[1]


_PLACEHOLDER = (
    "customer_id stands for no customer (a guest or walk-in sale: [validate] placeholder_ids)"
)


def test_a_customer_id_standing_for_no_customer_is_left_out_and_counted(eng: Engine) -> None:

    # WooCommerce writes customer 0 for every guest checkout, a till "CASH" or "Walk-in"
    ids = ["0", "C1", " guest ", "000", "Walk-In", "C2", "0", "C10", "-1", "cash customer"]
    cols = _tx_cols(len(ids), customer_id=ids)
    checked, warnings = _validated(eng, {"transactions": cols})
    got = eng.to_arrow(checked.used["transactions"].order_by(ROW)).column("customer_id")
    assert got.to_pylist() == ["C1", "C2", "C10"]
    reasons = {r["row"]: r["reason"] for r in checked.rejects.to_pylist()}
    assert sorted(reasons) == [2, 4, 5, 6, 8, 10, 11]
    assert set(reasons.values()) == {_PLACEHOLDER}
    (said,) = [w for w in warnings if "placeholder_ids" in w]
    assert "7 lines name a customer id that stands for no customer ('0' (2), " in said
    assert "e-mail" in said
    # an empty list reads them as ids
    s = Settings().with_updates(validate_={"placeholder_ids": []})
    used, rej = _validate(eng, cols, settings=s)
    assert not rej and len(used) == len(ids)


@pytest.mark.parametrize("words", [None, [], ["Kasse", "İade"]])
def test_duckdb_finds_the_same_placeholder_ids_as_the_general_test(
    eng: Engine, words: list[str] | None
) -> None:
    # DuckDB tests only the ids as long as a placeholder or starting with a zero
    ids = [
        "0",
        "000",
        "0012",
        "C0077630",
        "GUEST",
        "Walk-In",
        "walkin ",
        "İADE",
        "iade",
        "KASSE",
        "kasse1",
        "",
        "Ⓒash",
        "ǅ",
        "00000000-0000-0000-0000-000000000000",
        None,
        "-1",
        "-10",
    ]
    vs = Settings().validate_
    if words is not None:
        vs = vs.model_copy(update={"placeholder_ids": words})
    t = eng.from_arrow(pa.table({"v": pa.array(ids, pa.string())}))
    fast = _placeholder_id(t.v, vs, "duckdb").name("fast")
    general = _placeholder_id(t.v, vs, "pyspark").name("general")
    got = eng.to_arrow(t.select(fast, general))
    assert got.column("fast").to_pylist() == got.column("general").to_pylist()
    # zeros only stand for no customer whatever the list
    assert got.column("fast").to_pylist()[:3] == [True, True, False]
    assert got.column("fast").to_pylist()[4] == (words is None)


def test_placeholder_ids_in_the_master_and_contacts_are_left_out_and_counted(
    eng: Engine,
) -> None:
    tables = {
        "transactions": _tx_cols(2, customer_id=["C1", "C2"]),
        "customers": {"customer_id": ["C1", "0", "Walk-In", "C2", "000"]},
        "activities": _activity_cols(["C1", "guest", "C2"]),
        "payments": _payment_cols(["-1", "C2"]),
    }
    checked, warnings = _validated(eng, tables)
    reasons = {(r["table"], r["row"]): r["reason"] for r in checked.rejects.to_pylist()}
    assert sorted(reasons) == [
        ("activities", 3),
        ("customers", 3),
        ("customers", 4),
        ("customers", 6),
        ("payments", 2),
    ]
    assert set(reasons.values()) == {_PLACEHOLDER}
    said = {w.split(":")[0]: w for w in warnings if "placeholder_ids" in w}
    assert sorted(said) == ["activities", "customers", "payments"]  # one warning per file
    assert said["customers"].startswith(
        "customers: 3 rows of customers.csv name in column 'customer_id' a customer id that "
        "stands for no customer ('0' (1), '000' (1), 'Walk-In' (1)) and are left out"
    )
    assert "1 row of activities.csv names" in said["activities"]
    assert "('-1' (1))" in said["payments"]
    assert all("[validate] placeholder_ids = []" in w for w in said.values())


def test_sap_ids_with_and_without_leading_zeros_are_one_customer_when_told(eng: Engine) -> None:

    # SAP's KNA1 writes 0000100017, its billing list 100017
    tables = {
        "transactions": _tx_cols(3, customer_id=["100017", "100018", "A-7"]),
        "customers": {"customer_id": ["0000100017", "0000100018", "A-7", "000"]},
    }

    def validated(s: Settings) -> tuple[list[str], list[str], list[str]]:
        checked, warnings = _validated(eng, tables, s)
        ids = {
            n: eng.to_arrow(t.order_by(ROW)).column("customer_id").to_pylist()
            for n, t in checked.used.items()
        }
        return ids["transactions"], ids["customers"], warnings

    tx, master, warnings = validated(Settings())
    assert master == ["0000100017", "0000100018", "A-7"]  # zeros only: no customer
    (said,) = [w for w in warnings if "not in the customer master" in w]
    assert "2 of them match a master id" in said and 'id_leading_zeros = "ignore"' in said
    s = Settings().with_updates(validate_={"id_leading_zeros": "ignore"})
    tx, master, warnings = validated(s)
    # matched without the zeros, shown as the master writes them
    assert master == ["0000100017", "0000100018", "A-7"]
    assert tx == ["0000100017", "0000100018", "A-7"]
    assert not [w for w in warnings if "not in the customer master" in w]


def test_ids_matched_without_leading_zeros_take_the_masters_form_in_every_table(
    eng: Engine,
) -> None:
    # a CRM export or an overrides file keyed on the master's ids still matches them
    ignore = Settings().with_updates(validate_={"id_leading_zeros": "ignore"})
    tables = {
        "transactions": _tx_cols(5, customer_id=["42", "00042", "7", "0099", "A-1"]),
        "customers": {"customer_id": ["00042", "0007", "A-1", "50"]},
        "activities": _activity_cols(["042", "007", "099", "0050", "5"]),
        "payments": _payment_cols(["42", "0099"]),
    }
    checked, warnings = _validated(eng, tables, ignore)
    ids = {
        n: eng.to_arrow(t.order_by(ROW)).column("customer_id").to_pylist()
        for n, t in checked.used.items()
    }
    assert ids["customers"] == ["00042", "0007", "A-1", "50"]
    # 0099 is in no master: written without its zeros, in every table alike
    assert ids["transactions"] == ["00042", "00042", "0007", "99", "A-1"]
    assert ids["activities"] == ["00042", "0007", "99", "50"]
    assert ids["payments"] == ["00042", "99"]
    reasons = {(r["table"], r["row"]): r["reason"] for r in checked.rejects.to_pylist()}
    assert list(reasons) == [("activities", 6)]
    assert not [w for w in warnings if "leading zeros" in w]


def test_master_ids_one_but_for_their_leading_zeros_keep_the_first_rows(eng: Engine) -> None:
    ignore = Settings().with_updates(validate_={"id_leading_zeros": "ignore"})
    master = ["042", "0007", "A-1", "00042", "7", "042"]
    tables = {
        "transactions": _tx_cols(3, customer_id=["42", "00007", "A-1"]),
        "customers": {"customer_id": master, "name": [f"n{i}" for i in range(6)]},
    }
    for _ in range(2):  # the same choice each run
        checked, warnings = _validated(eng, tables, ignore)
        used = {n: eng.to_arrow(t.order_by(ROW)).to_pylist() for n, t in checked.used.items()}
        assert [(r["customer_id"], r["name"]) for r in used["customers"]] == [
            ("042", "n0"),
            ("0007", "n1"),
            ("A-1", "n2"),
        ]
        assert [r["customer_id"] for r in used["transactions"]] == ["042", "0007", "A-1"]
        rej = {r["row"]: (r["reason"], r["value"]) for r in checked.rejects.to_pylist()}
        assert sorted(rej) == [5, 6, 7]
        assert rej[5][0].startswith("duplicate customer_id (first at row 2; ")
        assert "[validate] id_leading_zeros" in rej[5][0]
        assert rej[6][1] == "7" and rej[7][1] == "042"
        (said,) = [w for w in warnings if "leading zeros" in w]
        assert said.startswith("customers.csv: 2 customer ids are written in more than one way")
        assert "'042' (row 2) and '00042' (row 5); '0007' (row 3) and '7' (row 6)" in said


def test_costs_posted_negative_are_read_with_their_sign_turned(eng: Engine) -> None:

    # a Dynamics export: CostAmountPosted is negative on a sale (goods issued) and positive
    # on a credit note (goods received back); margins above revenue otherwise
    n = 60
    cols = _tx_cols(
        n,
        revenue=["100"] * (n - 2) + ["-100", "50"],
        CostAmountPosted=["-60"] * (n - 2) + ["60", "-30"],
    )

    def used_costs(cost_sign: str) -> tuple[list[float], list[str]]:
        s = Settings().with_updates(
            transactions={"columns": {"cost": "CostAmountPosted"}, "cost_sign": cost_sign}
        )
        checked, warnings = _validated(eng, {"transactions": cols}, s)
        got = eng.to_arrow(checked.used["transactions"].order_by(ROW)).column("cost")
        return got.to_pylist(), [w for w in warnings if "cost_sign" in w]

    costs, said = used_costs("auto")
    assert costs == [60.0] * (n - 2) + [-60.0, 30.0]  # the credit note's cost comes back
    assert len(said) == 1 and "negative on 59 of the 59 sale lines with a cost (100%)" in said[0]
    costs, said = used_costs("positive")
    assert costs == [-60.0] * (n - 2) + [-60.0, -30.0] and not said
    # costs written positive stay as they are, and nothing is said
    cols["CostAmountPosted"] = ["60"] * (n - 2) + ["60", "30"]
    costs, said = used_costs("auto")
    assert costs == [60.0] * (n - 2) + [-60.0, 30.0] and not said


def test_ids_that_lost_their_leading_zeros_are_named_as_the_likely_cause(eng: Engine) -> None:
    tables = {
        "transactions": {
            "customer_id": ["42", "7", "x9", "99", "1001.0"],
            "date": ["2024-01-01"] * 5,
            "revenue": ["10"] * 5,
        },
        "customers": {
            "customer_id": ["00042", "007", "X9", "1001"],
            "name": ["a", "b", "c", "d"],
        },
    }
    warnings = _validated_warnings(eng, tables)
    (missing,) = [w for w in warnings if "not in the customer master" in w]
    assert missing.startswith("5 customers in the transactions are not in the customer master")
    assert (
        "4 of them match a master id once leading zeros, a decimal part .0 and letter case "
        "are ignored" in missing
    )


def test_contacts_whose_ids_lost_their_leading_zeros_are_named_as_the_likely_cause(
    eng: Engine,
) -> None:
    # the CRM writes the ids as numbers, the ERP as zero-padded text
    tables = {
        "transactions": {
            "customer_id": ["00042", "00007"],
            "date": ["2024-01-01"] * 2,
            "revenue": ["10"] * 2,
        },
        "activities": _activity_cols(["00042", "42", "7", "7", "555"]),
    }
    warnings = _validated_warnings(eng, tables)
    (said,) = [w for w in warnings if w.startswith("activities:")]
    assert said.startswith(
        "activities: 4 rows of activities.csv rejected as customer_id not found; 3 of them "
        "match a known customer once leading zeros, a decimal part .0 and letter case are "
        "ignored"
    )


def test_a_header_repeated_inside_the_file_is_rejected_as_such(eng: Engine) -> None:
    # an export that repeats its column names at each page break
    cols = {
        "customer_id": ["c1", "customer_id", "c2"],
        "date": ["2024-06-01", " date ", "2024-06-02"],
        "revenue": ["10", "revenue", "12"],
    }
    used, rej = _validate(eng, cols)
    assert [r["customer_id"] for r in used] == ["c1", "c2"]
    assert rej == {3: ("customer_id", "the column names again (a header repeated inside the file)")}


# -- the analysis date -------------------------------------------------------------------


def test_rows_after_an_explicit_as_of_are_rejected(eng: Engine) -> None:
    dates = ["2024-06-30", "2024-07-01"]
    used, rej = _validate(eng, _tx_cols(2, date=dates), as_of=dt.date(2024, 6, 30))
    assert [r["date"] for r in used] == [dt.date(2024, 6, 30)]
    assert rej == {3: ("date", "after the analysis date 2024-06-30 (--as-of)")}


def test_contacts_after_an_explicit_as_of_are_rejected_not_said_used(eng: Engine) -> None:
    acts = {
        "customer_id": ["a", "a", "b"],
        "date": ["2024-06-30", "2024-07-01", "2024-12-01"],
        "type": ["visit", "call", "email"],
    }
    used, rej = _validate(eng, acts, table="activities", as_of=dt.date(2024, 6, 30))
    assert [r["date"] for r in used] == [dt.date(2024, 6, 30)]
    why = "after the analysis date 2024-06-30 (--as-of)"
    assert rej == {3: ("date", why), 4: ("date", why)}


def test_without_as_of_only_dates_beyond_today_plus_tolerance_are_rejected(eng: Engine) -> None:
    # today 2025-01-15, tolerance 2 days: the 17th is kept, the 18th is in the future
    dates = ["2025-01-15", "2025-01-17", "2025-01-18", "2031-01-01"]
    used, rej = _validate(eng, _tx_cols(4, date=dates))
    assert [r["date"] for r in used] == [dt.date(2025, 1, 15), dt.date(2025, 1, 17)]
    reason = "date in the future (after 2025-01-17, today + 2 days tolerance)"
    assert rej == {4: ("date", reason), 5: ("date", reason)}


def test_future_tolerance_comes_from_settings(eng: Engine) -> None:
    s = Settings().with_updates(validate_={"future_tolerance_days": 0})
    _, rej = _validate(eng, _tx_cols(2, date=["2025-01-15", "2025-01-16"]), settings=s)
    assert list(rej) == [3]


# -- file-level problems -----------------------------------------------------------------


def test_missing_required_columns_are_all_reported_together(eng: Engine) -> None:
    raw = _raw(eng, {"customer": ["A"], "amount": ["1"]})
    with pytest.raises(Problems) as exc:
        canonicalize(raw, "transactions", Settings(), eng, file="f.csv")
    msgs = [e.one_line() for e in exc.value.errors]
    assert len(msgs) == 3
    assert all(isinstance(e, InputError) for e in exc.value.errors)
    assert any("required column 'date' is missing" in m for m in msgs)
    assert all(m.startswith("f.csv, column ") for m in msgs)


def test_a_mapping_to_an_absent_column_suggests_the_close_one(eng: Engine) -> None:
    raw = _raw(eng, {"Kundennr": ["A"], "date": ["2024-01-01"], "revenue": ["1"]})
    s = Settings().with_updates(transactions={"columns": {"customer_id": "Kundenr"}})
    with pytest.raises(InputError, match="did you mean 'Kundennr'"):
        canonicalize(raw, "transactions", s, eng, file="f.csv")


def test_a_mapping_of_an_unknown_canonical_column_is_a_settings_error(eng: Engine) -> None:
    raw = _raw(eng, {"customer_id": ["A"], "date": ["2024-01-01"], "revenue": ["1"]})
    s = Settings().with_updates(transactions={"columns": {"revenu": "revenue"}})
    with pytest.raises(SettingsError, match="did you mean revenue"):
        canonicalize(raw, "transactions", s, eng, file="f.csv")


def test_mapped_columns_are_used_and_names_match_ignoring_case(eng: Engine) -> None:
    raw = _raw(eng, {"Kunde": ["A"], "DATE": ["2024-01-01"], "Net Amount": ["2,5"]})
    s = Settings().with_updates(
        transactions={"columns": {"customer_id": "Kunde", "revenue": "Net Amount"}, "decimal": ","}
    )
    used, rej = _validate(
        eng, {"Kunde": ["A"], "DATE": ["2024-01-01"], "Net Amount": ["2,5"]}, settings=s
    )
    assert rej == {}
    assert (used[0]["customer_id"], used[0]["date"], used[0]["revenue"]) == (
        "A",
        dt.date(2024, 1, 1),
        2.5,
    )
    del raw


# -- the user's own columns ----------------------------------------------------------------


def test_extra_columns_are_kept_typed_and_never_reject_a_row(eng: Engine) -> None:
    s = Settings().with_updates(customers={"extra_columns": ["Sites", "tag", "mixed"]})
    used, rej = _validate(
        eng,
        {
            "customer_id": ["A", "B", "C"],
            "Sites": ["3", " 12 ", ""],
            "tag": ["x", None, "=y"],
            "mixed": ["1", "two", "3"],
        },
        table="customers",
        settings=s,
    )
    assert rej == {}
    assert [r["Sites"] for r in used] == [3.0, 12.0, None]  # every value reads as a number
    assert [r["tag"] for r in used] == ["x", None, "=y"]
    assert [r["mixed"] for r in used] == ["1", "two", "3"]  # one word makes the column text


def test_extra_columns_stored_as_numbers_stay_numbers(eng: Engine) -> None:
    s = Settings().with_updates(customers={"extra_columns": ["sites"]})
    used, _ = _validate(
        eng, {"customer_id": ["A", "B"], "sites": [4, 7]}, table="customers", settings=s
    )
    assert [r["sites"] for r in used] == [4.0, 7.0]


def test_extra_columns_absent_or_canonical_are_reported_together(eng: Engine) -> None:
    raw = _raw(eng, {"customer_id": ["A"], "Sites": ["1"]})
    s = Settings().with_updates(customers={"extra_columns": ["sitez", "name"]})
    with pytest.raises(Problems) as exc:
        canonicalize(raw, "customers", s, eng, file="c.csv")
    msgs = [e.one_line() for e in exc.value.errors]
    assert len(msgs) == 2
    assert any("c.csv, column 'sitez'" in m and "did you mean 'Sites'" in m for m in msgs)
    assert any("'name' is a canonical customers column, and the file has no" in m for m in msgs)
    # a canonical column the file holds is kept anyway
    raw = _raw(eng, {"customer_id": ["A"], "Name": ["Acme"]})
    s = Settings().with_updates(customers={"extra_columns": ["Name"]})
    with pytest.raises(SettingsError, match="'Name' is read as the canonical column name; it"):
        canonicalize(raw, "customers", s, eng, file="c.csv")


def test_a_column_named_as_a_canonical_one_but_not_read_as_it_is_kept_as_the_users_own(
    eng: Engine,
) -> None:
    # an ERP's customer number is mapped as customer_id; its "Customer ID" column (a CRM's
    # id) is the user's own, kept under its name
    s = Settings().with_updates(
        customers={"columns": {"customer_id": "Kundennr"}, "extra_columns": ["Customer ID"]}
    )
    used, rej = _validate(
        eng,
        {"Kundennr": ["10001", "10002"], "Customer ID": ["CRM-7", "CRM-9"]},
        table="customers",
        settings=s,
    )
    assert not rej
    assert [(r["customer_id"], r["Customer ID"]) for r in used] == [
        ("10001", "CRM-7"),
        ("10002", "CRM-9"),
    ]
    # kept under a canonical column's own name, it would stand in that column's place
    s = Settings().with_updates(
        customers={"columns": {"customer_id": "Kundennr"}, "extra_columns": ["customer_id"]}
    )
    raw = _raw(eng, {"Kundennr": ["1"], "customer_id": ["CRM-7"]})
    with pytest.raises(SettingsError, match="'customer_id' is the name of a canonical customers"):
        canonicalize(raw, "customers", s, eng, file="c.csv")


def test_rows_left_out_by_status_are_rejected_naming_the_setting(eng: Engine) -> None:
    # a Zoho-like export: void and draft invoices are no sales; the status decides before
    # any value is read (a draft's unreadable amount is left out, not "not a number")
    status = ["Paid", " void ", "Draft", None, "VOID", "Overdue"]
    cols = _tx_cols(6, revenue=["1", "2", "x", "4", "5", "6"], **{"Invoice Status": status})
    s = Settings().with_updates(
        transactions={"exclude_rows": {"invoice status": ["Void", "Draft"]}}
    )
    used, rej = _validate(eng, cols, settings=s)
    assert [r["revenue"] for r in used] == [1.0, 4.0, 6.0]
    why = "left out by [transactions] exclude_rows (Invoice Status: 'Void', 'Draft')"
    assert rej == {
        3: ("Invoice Status", why),
        4: ("Invoice Status", why),
        6: ("Invoice Status", why),
    }
    # keep_rows: only the listed values are used; an empty cell is "" (listed or not)
    s = Settings().with_updates(transactions={"keep_rows": {"Invoice Status": ["paid", ""]}})
    used, rej = _validate(eng, cols, settings=s)
    assert [r["revenue"] for r in used] == [1.0, 4.0]
    assert sorted(rej) == [3, 4, 6, 7]
    assert rej[7] == (
        "Invoice Status",
        "not kept by [transactions] keep_rows (Invoice Status: 'paid', '')",
    )
    # a column the file does not have is named, with the columns it has
    s = Settings().with_updates(transactions={"exclude_rows": {"Stauts": ["Void"]}})
    with pytest.raises(SettingsError, match=r"exclude_rows names 'Stauts', which is not a col"):
        _validate(eng, cols, settings=s)
    with pytest.raises(SettingsError, match="exclude_rows: lists no value for 'Status'"):
        Settings().with_updates(transactions={"exclude_rows": {"Status": []}})


def test_columns_other_settings_name_are_kept_where_the_file_has_them(eng: Engine) -> None:
    s = Settings().with_updates(
        profitability={"rebate_column": "Rebate"},
        potential={"extra_feature_columns": ["sites", "not_in_file"]},
    )
    used, rej = _validate(
        eng,
        {"customer_id": ["A", "B"], "Rebate": ["0.02", ""], "sites": ["3", "4"]},
        table="customers",
        settings=s,
    )
    assert rej == {}
    assert [(r["Rebate"], r["sites"]) for r in used] == [(0.02, 3.0), (None, 4.0)]
    assert "not_in_file" not in used[0]  # named but absent: the wallet model reports it


def test_the_inputs_as_read_are_freed_once_validated(tmp_path) -> None:
    from tierwise.features import customer_features
    from tierwise.pipeline import load_and_validate

    # two CSV files parsed in the engine (every column text) and one read by Python (a
    # blank line inside a quoted value sends it there)
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,revenue\nA,2024-06-01,10\nB,2024-06-02,x\n", encoding="utf-8")
    master = tmp_path / "customers.csv"
    master.write_text('customer_id,name\nA,"Acme\n\nLtd"\nB,Bolt\n', encoding="utf-8")
    eng = Engine()

    def text_tables() -> set[str]:
        # tables (not views) with a text column named as the files' columns
        return {
            r[0]
            for r in eng.con.con.execute(
                "SELECT table_name FROM duckdb_columns() WHERE data_type = 'VARCHAR' "
                "AND column_name IN ('revenue', 'name') AND table_name IN "
                "(SELECT table_name FROM duckdb_tables())"
            ).fetchall()
        }

    ctx = load_and_validate(
        {"transactions": str(tx), "customers": str(master)},
        Settings(),
        eng,
        as_of=dt.date(2024, 12, 31),
        today=TODAY,
    )
    # the customers' names stay text in the master kept; no table of raw revenue text is left
    left = text_tables()
    assert all(n.startswith("tw_cache") for n in left), left
    assert [a.rows_rejected for a in ctx.inputs.values()] == [1, 0]
    # what validation kept still computes
    f = customer_features(ctx.tables["transactions"], as_of=ctx.as_of, settings=Settings().features)
    assert eng.to_arrow(f).column("revenue").to_pylist() == [10.0]
    names = eng.to_arrow(ctx.tables["customers"].order_by(ROW)).column("name").to_pylist()
    assert names == ["Acme\n\nLtd", "Bolt"]
    eng.close()


# -- currencies --------------------------------------------------------------------------------


def test_amounts_with_several_currency_signs_are_named_in_a_warning(eng: Engine) -> None:
    warnings: list[str] = []
    cols = _tx_cols(4, revenue=["$100.00", "€100.00", "£50.00", "€7"])
    used, _ = _validate(eng, cols, warnings=warnings)
    # read as they are (the sum mixes currencies), and said so
    assert [r["revenue"] for r in used] == [100.0, 100.0, 50.0, 7.0]
    said = [w for w in warnings if "more than one currency" in w]
    assert len(said) == 1 and "€ in 2 values, $ in 1 value, £ in 1 value" in said[0]
    assert "exchange_rates" in said[0]
    # one sign throughout: no warning
    warnings.clear()
    _validate(eng, _tx_cols(2, revenue=["€1", "€2"]), warnings=warnings)
    assert not [w for w in warnings if "currency" in w]


def test_dollars_of_several_countries_and_ledger_currency_words_read_as_numbers(
    eng: Engine,
) -> None:
    # a Canadian export writes C$, an Australian A$, a Brazilian R$; Nordic and Central
    # European ledgers a word after the amount (kr, zł, Kč, Ft, lei); a code not in the
    # list of words (KRW) is dropped whole, not read as "kr" and a stray "W"
    revenue = ["C$ 1,234.50", "US$12", "-A$ 3.5", "NZ$7", "R$ 10", "99.50 kr", "12 zł"]
    revenue += ["KRW 1,000", "15 Ft", "20 lei", "₹ 40", "Rs. 50", "5 CHF", "(HK$ 8)"]
    used, rej = _validate(eng, _tx_cols(len(revenue), revenue=revenue))
    assert rej == {}
    assert [r["revenue"] for r in used] == [
        *(1234.5, 12.0, -3.5, 7.0, 10.0, 99.5, 12.0),
        *(1000.0, 15.0, 20.0, 40.0, 50.0, 5.0, -8.0),
    ]


def test_dollars_of_two_countries_in_one_column_are_named_in_a_warning(eng: Engine) -> None:
    warnings: list[str] = []
    cols = _tx_cols(5, revenue=["C$100.00", "US$ 100.00", "C$ 5", "CAD 7", "$3"])
    used, _ = _validate(eng, cols, warnings=warnings)
    assert [r["revenue"] for r in used] == [100.0, 100.0, 5.0, 7.0, 3.0]
    said = [w for w in warnings if "more than one currency" in w]
    # CAD is written for C$
    assert len(said) == 1 and "(C$ in 3 values, $ in 1 value, US$ in 1 value)" in said[0]
    # dollars of one country, however the letters are written: no warning
    warnings.clear()
    _validate(eng, _tx_cols(3, revenue=["C$1", "CA$2", "c$ 3"]), warnings=warnings)
    assert not [w for w in warnings if "currency" in w]


def test_amounts_whose_currency_is_a_word_among_other_signs_are_named_in_a_warning(
    eng: Engine,
) -> None:
    # a ledger's forint, rupees and złoty among euro amounts: the words are dropped to read
    # the numbers, and the mix is said
    warnings: list[str] = []
    revenue = ["€ 10", "€ 12", "12 ft", "Rs. 40", "zł 5", "€3"]
    used, rej = _validate(eng, _tx_cols(len(revenue), revenue=revenue), warnings=warnings)
    assert not rej and [r["revenue"] for r in used] == [10.0, 12.0, 12.0, 40.0, 5.0, 3.0]
    (said,) = [w for w in warnings if "more than one currency" in w]
    assert "(€ in 3 values, ₹ in 1 value, HUF and PLN in 2 values)" in said
    # a word or code for the currency the signs write, or for one another, is one currency
    for same in (
        ["€1", "EUR 2", "3 eur", "(4.00 EUR)"],
        ["12 zł", "5 PLN", "3"],
        ["5 kr", "6 SEK"],
    ):
        warnings.clear()
        _validate(eng, _tx_cols(len(same), revenue=same), warnings=warnings)
        assert not [w for w in warnings if "currency" in w], same
    warnings.clear()
    words = ["12.50 zł", "KRW 1,000", "5 HUF", "(Kč 8)", "€ 1"]
    _validate(eng, _tx_cols(len(words), revenue=words), warnings=warnings)
    (said,) = [w for w in warnings if "more than one currency" in w]
    assert "(€ in 1 value, CZK, PLN and 2 others in 4 values)" in said


def test_a_currency_column_of_several_codes_is_counted_without_rates(eng: Engine) -> None:
    warnings: list[str] = []
    cols = _tx_cols(5, currency=["USD", "eur", "EUR ", "GBP", "EUR"])
    used, rejects = _validate(eng, cols, warnings=warnings)
    assert not rejects and [r["revenue"] for r in used] == [10.0] * 5
    said = [w for w in warnings if "more than one currency" in w]
    assert len(said) == 1
    assert "(EUR 3 lines, GBP 1 line, USD 1 line)" in said[0] and "exchange_rates" in said[0]


def _run_currency(
    tmp_path: Path, files: dict[str, str], settings: Settings | None = None
) -> tuple[Any, list[str]]:
    """These CSV texts, read and validated as a run reads them: the currency the run takes
    (the manifest's ``currency`` block, or None) and the warnings that speak of it."""
    from tierwise.pipeline import load_and_validate

    inputs = {}
    for name, text in files.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        inputs[name] = str(path)
    eng = Engine()
    try:
        ctx = load_and_validate(inputs, settings or Settings(), eng, today=TODAY)
    finally:
        eng.close()
    said = [w.replace(str(tmp_path) + "/", "") for w in ctx.warnings if "currenc" in w]
    return ctx.currency, said


def test_the_one_currency_the_amounts_name_is_the_runs(tmp_path: Path) -> None:
    head = "customer_id;date;revenue;cost\n"
    tx = head + "A;2024-06-01;EUR 12,00;EUR 5,00\nB;2024-06-02;1.234,50 EUR;3\n"
    got, said = _run_currency(tmp_path, {"transactions": tx})
    assert got == {
        "symbol": "€",
        "read_from": [
            {"file": f"{tmp_path}/transactions.csv", "column": "revenue", "values": 2},
            {"file": f"{tmp_path}/transactions.csv", "column": "cost", "values": 1},
        ],
    }
    assert said == [
        "the amounts are in €, as the inputs name it (transactions.csv, column 'revenue': "
        "2 values, column 'cost': € on 1 of 2 values): money is shown with € in report.html, "
        "plan.xlsx, "
        "the dashboard and the reasons; set [segments] currency_symbol to show another symbol"
    ]
    # a currency without a sign of its own is shown by its code; a dollar by its sign
    got, _ = _run_currency(tmp_path, {"transactions": head + "A;2024-06-01;12,00 zł;5\n"})
    assert got["symbol"] == "PLN "
    got, _ = _run_currency(tmp_path, {"transactions": head + "A;2024-06-01;$1,234.50;5\n"})
    assert got["symbol"] == "$"
    # the symbol set wins: nothing read, nothing said
    s = Settings().with_updates(segments={"currency_symbol": "CHF "})
    assert _run_currency(tmp_path, {"transactions": tx}, s) == (None, [])
    # amounts without a sign name none
    plain = head + "A;2024-06-01;12,00;5\n"
    assert _run_currency(tmp_path, {"transactions": plain}) == (None, [])


def test_a_currency_column_of_one_code_is_the_runs_currency(tmp_path: Path) -> None:
    tx = "customer_id,date,revenue,currency\nA,2024-06-01,12,EUR\nB,2024-06-02,5,eur\n"
    got, said = _run_currency(tmp_path, {"transactions": tx})
    assert got["symbol"] == "€"
    assert got["read_from"][0]["code"] == "EUR" and got["read_from"][0]["lines"] == 2
    assert "currency column 'currency': EUR on 2 lines" in said[0]
    # the amounts' $ is the dollar the column's code names
    tx = "customer_id,date,revenue,currency\nA,2024-06-01,$12,USD\n"
    assert _run_currency(tmp_path, {"transactions": tx})[0]["symbol"] == "US$"
    # converted by exchange_rates: the run's currency is not the lines'
    s = Settings().with_updates(transactions={"exchange_rates": {"EUR": 1.0}})
    assert _run_currency(tmp_path, {"transactions": tx.replace("USD", "EUR")}, s) == (None, [])


def test_amounts_in_several_currencies_take_none(tmp_path: Path) -> None:
    # one column of two: its warning stays, and no currency is taken
    tx = "customer_id,date,revenue\nA,2024-06-01,€12\nB,2024-06-02,$5\n"
    got, said = _run_currency(tmp_path, {"transactions": tx})
    assert got is None and len(said) == 1 and "more than one currency" in said[0]
    # a currency column of two codes likewise
    tx = "customer_id,date,revenue,currency\nA,2024-06-01,12,EUR\nB,2024-06-02,5,USD\n"
    got, said = _run_currency(tmp_path, {"transactions": tx})
    assert got is None and len(said) == 1 and "more than one currency" in said[0]
    # two files of one currency each: said, and none taken
    tx = "customer_id,date,revenue\nA,2024-06-01,€12\n"
    customers = "customer_id,annual_revenue\nA,£1000\n"
    got, said = _run_currency(tmp_path, {"transactions": tx, "customers": customers})
    assert got is None
    assert said == [
        "the inputs name more than one currency (€ in transactions.csv, column 'revenue': "
        "1 value; £ in customers.csv, column 'annual_revenue': 1 value), so the money is "
        "shown without a symbol: convert the amounts to one currency, or set [segments] "
        "currency_symbol to the one they are in"
    ]
    # another input's currency alone is not the invoices'
    tx = "customer_id,date,revenue\nA,2024-06-01,12\n"
    assert _run_currency(tmp_path, {"transactions": tx, "customers": customers}) == (None, [])


def test_amounts_a_decimal_setting_kept_unread_leave_the_currency_unknown(
    tmp_path: Path,
) -> None:
    # [customers] decimal set: the customers' amounts are not read for a sign, so the £
    # they hold is not known to differ from the invoices' €; no symbol, and said so
    tx = "customer_id,date,revenue\nA,2024-06-01,€12\n"
    customers = "customer_id,annual_revenue\nA,£1000\n"
    s = Settings().with_updates(customers={"decimal": "."})
    got, said = _run_currency(tmp_path, {"transactions": tx, "customers": customers}, s)
    assert got is None
    assert said == [
        "the amounts of customers.csv were not read for a currency sign, as [customers] "
        "decimal is set, so whether they are in € as the invoices are is not known: the "
        "money is shown without a symbol; set [segments] currency_symbol to show one"
    ]
    # [transactions] decimal set: the invoices' amounts are not read, whatever the currency
    # column says
    tx = "customer_id,date,revenue,currency\nA,2024-06-01,€12,EUR\n"
    s = Settings().with_updates(transactions={"decimal": "."})
    got, said = _run_currency(tmp_path, {"transactions": tx}, s)
    assert got is None and len(said) == 1
    assert said[0].startswith("transactions.csv: the amounts were not read for a currency sign")


def test_a_currency_column_of_no_currency_code_takes_none(tmp_path: Path) -> None:
    for word in ("TBD", "XXX", "Euro"):
        tx = f"customer_id,date,revenue,currency\nA,2024-06-01,12,{word}\nB,2024-06-02,5,\n"
        got, said = _run_currency(tmp_path, {"transactions": tx})
        assert got is None, word
        assert said == [
            "transactions.csv: the currency column 'currency' holds no currency code "
            f"({word.upper()} on 1 of 2 lines), so the money is shown without a symbol: map "
            "the column that holds the ISO codes (EUR, USD) as currency in "
            "[transactions.columns], or set [segments] currency_symbol"
        ]
    # a code of ISO 4217 the amounts never name is one
    tx = "customer_id,date,revenue,currency\nA,2024-06-01,12,KZT\n"
    assert _run_currency(tmp_path, {"transactions": tx})[0]["symbol"] == "KZT "


def test_a_sign_other_currencies_share_is_the_currency_columns_code(tmp_path: Path) -> None:
    head = "customer_id;date;revenue;currency\n"
    for amount, code, symbol in (
        ("1 234,50 kr", "SEK", "SEK "),
        ("12 kr", "nok", "NOK "),
        ("¥12", "CNY", "CNY "),
        ("¥12", "JPY", "¥"),
        ("$12", "ARS", "ARS "),
        ("$12", "MXN", "MX$"),
        ("$12", "CAD", "C$"),
    ):
        tx = f"{head}A;2024-06-01;{amount};{code}\n"
        got, said = _run_currency(tmp_path, {"transactions": tx})
        assert got is not None and got["symbol"] == symbol, (amount, code, said)
    # a sign of another currency still disagrees with the code
    got, said = _run_currency(tmp_path, {"transactions": f"{head}A;2024-06-01;€12;SEK\n"})
    assert got is None and "more than one currency" in said[0]


def test_a_dollar_alone_takes_no_country_from_another_file(tmp_path: Path) -> None:
    customers = "customer_id,annual_revenue\nA,US$1000\n"
    tx = "customer_id,date,revenue\nA,2024-06-01,$12\n"
    got, _ = _run_currency(tmp_path, {"transactions": tx, "customers": customers})
    assert got is not None and got["symbol"] == "$"
    # the transactions' own columns do make it their country's dollar
    tx = "customer_id,date,revenue,cost\nA,2024-06-01,$12,C$5\n"
    got, _ = _run_currency(tmp_path, {"transactions": tx, "customers": customers})
    assert got is None
    tx = "customer_id,date,revenue,cost\nA,2024-06-01,$12,US$5\n"
    got, _ = _run_currency(tmp_path, {"transactions": tx, "customers": customers})
    assert got is not None and got["symbol"] == "US$"


def test_amounts_of_two_signs_against_one_code_say_why_none_is_shown(tmp_path: Path) -> None:
    tx = (
        "customer_id,date,revenue,currency\n"
        "A,2024-06-01,€12,EUR\nB,2024-06-02,$5,EUR\nC,2024-06-03,7,EUR\n"
    )
    got, said = _run_currency(tmp_path, {"transactions": tx})
    assert got is None
    assert said == [
        "the inputs name more than one currency ($ and € in transactions.csv, column "
        "'revenue': $ on 1 of 3 values, € on 1 of 3 values; € in transactions.csv, currency "
        "column 'currency': EUR on 3 lines), so the money is shown without a symbol: convert "
        "the amounts to one currency, or set [segments] currency_symbol to the one they are in"
    ]


def test_exchange_rates_convert_each_lines_amounts(eng: Engine) -> None:
    s = Settings().with_updates(
        transactions={"exchange_rates": {"EUR": 1.0, "usd": 0.9, "GBP": 1.2}}
    )
    warnings: list[str] = []
    cols = _tx_cols(
        5,
        revenue=["$100.00", "100", "50", "10", "10"],
        cost=["60", "40", "20", "1", "1"],
        currency=["USD", "eur", "GBP", "CHF", ""],
    )
    used, rejects = _validate(eng, cols, settings=s, warnings=warnings)
    assert [(r["revenue"], r["cost"]) for r in used] == [
        pytest.approx((90.0, 54.0)),
        (100.0, 40.0),
        pytest.approx((60.0, 24.0)),
    ]
    assert rejects[5] == (
        "currency",
        "no exchange rate for this currency: add it to [transactions] exchange_rates "
        "(which lists EUR, USD, GBP)",
    )
    assert rejects[6][1].startswith("missing currency")
    # converted: neither the signs nor the codes are warned about
    assert not [w for w in warnings if "currency" in w]


def test_exchange_rates_need_a_currency_column_and_positive_rates(eng: Engine) -> None:
    s = Settings().with_updates(transactions={"exchange_rates": {"USD": 0.9}})
    with pytest.raises(SettingsError, match=r"exchange_rates needs each line.s currency"):
        _validate(eng, _tx_cols(1), settings=s)
    with pytest.raises(SettingsError, match=r"the rate of 'USD' is -0\.9"):
        Settings().with_updates(transactions={"exchange_rates": {"USD": -0.9}})


def test_lines_all_of_one_customer_or_mostly_negative_are_warned_of(eng: Engine) -> None:
    n = _SHAPE_MIN_LINES
    # a ledger's account code mapped as the customer, sales written as credits
    tx = {
        "customer_id": ["400000"] * n,
        "date": ["2024-01-01"] * n,
        "revenue": ["-100"] * (n - 5) + ["30"] * 5,
    }
    said = _validated_warnings(eng, {"transactions": tx})
    one = [w for w in said if "names the same customer" in w]
    assert len(one) == 1 and "'400000'" in one[0] and "customer_id" in one[0]
    signs = [w for w in said if "sales as negative amounts" in w]
    assert len(signs) == 1 and "45 of the 50 lines (90%)" in signs[0]
    # two customers, and most lines sales: neither warning
    tx["customer_id"][0] = "400001"
    tx["revenue"] = ["100"] * (n - 5) + ["-30"] * 5
    said = _validated_warnings(eng, {"transactions": tx})
    assert not [w for w in said if "same customer" in w or "negative amounts" in w]


def test_customer_ids_in_scientific_notation_are_warned_of(engine: Engine) -> None:
    eng = engine
    # account numbers a spreadsheet saved as 4.00123E+11: their last digits are lost
    tx = {
        "customer_id": ["4.00123E+11", "4.00123E+11", "4.00124E+11", "K1E+5", "4E10"],
        "date": ["2024-01-01"] * 5,
        "revenue": ["100"] * 5,
    }
    said = [w for w in _validated_warnings(eng, {"transactions": tx}) if "scientific" in w]
    assert len(said) == 1
    assert "3 lines name the customer" in said[0] and "'4.00123E+11'" in said[0]
    tx["customer_id"] = ["400123456789", "K1E+5", "4E10", "1.5", "E+11"]
    assert not [w for w in _validated_warnings(eng, {"transactions": tx}) if "scientific" in w]


def test_a_customer_id_holding_several_ids_is_warned_of(engine: Engine) -> None:
    # HubSpot's deals: Associated Company IDs names each company of a deal, 123;456
    tx = {
        "Associated Company IDs": ["123;456", "123", "456; 789", "123;456", "A;", ";B"],
        "date": ["2024-01-01"] * 6,
        "revenue": ["100"] * 6,
    }
    s = Settings.model_validate(
        {"transactions": {"columns": {"customer_id": "Associated Company IDs"}}}
    )
    checked, warnings = _validated(engine, {"transactions": tx}, s)
    assert [w for w in warnings if "several ids" in w] == [
        "transactions.csv: the customer id (column 'Associated Company IDs') of 3 lines holds "
        "several ids separated by ';' (first: '123;456'), as HubSpot's Associated Company IDs "
        "does for a deal of several companies: each such value is read as one customer of its "
        "own; export the lines so that each names one customer, or map a column that does as "
        "customer_id in [transactions.columns]"
    ]
    # each still read as one customer
    ids = engine.to_arrow(checked.used["transactions"].order_by(ROW)).column("customer_id")
    assert ids.to_pylist() == ["123;456", "123", "456; 789", "123;456", "A;", ";B"]
    # a name with an HTML entity holds one id
    tx["Associated Company IDs"] = ["123", "A;", ";B", "AT&amp;T", "O&#39;Brien Ltd", "789"]
    _, warnings = _validated(engine, {"transactions": tx}, s)
    assert not [w for w in warnings if "several ids" in w]


def test_order_fields_on_the_first_line_only_are_filled_from_the_order(eng: Engine) -> None:
    # a Shopify order export: the e-mail and date on each order's first line only
    cols = {
        "Name": ["#1001", "#1001", "#1002", "#1002", "#1003", ""],
        "Email": ["a@x.com", "", "b@y.com", " ", "", "c@z.com"],
        "Created at": ["2024-03-01", "", "2024-03-02", "", "", "2024-03-04"],
        "revenue": ["20", "5", "7.5", "3", "1", "2"],
    }
    columns = {"order_id": "Name", "customer_id": "Email", "date": "Created at"}
    plain = Settings().with_updates(transactions={"columns": columns})
    used, rejects = _validate(eng, cols, settings=plain)
    assert len(used) == 3 and {r for r, (c, _) in rejects.items() if c == "Email"} == {3, 5, 6}
    s = plain.with_updates(transactions={"fill_from_order": ["email", "Created at"]})
    used, rejects = _validate(eng, cols, settings=s)
    got = [(r["order_id"], r["customer_id"], r["date"].day) for r in used]
    assert got == [
        ("#1001", "a@x.com", 1),
        ("#1001", "a@x.com", 1),
        ("#1002", "b@y.com", 2),
        ("#1002", "b@y.com", 2),
        (None, "c@z.com", 4),
    ]
    # an order none of whose lines names its customer stays without one
    assert rejects == {6: ("Email", "missing customer_id")}
    # an order number two stores used: its lines name two customers, and the empty one is
    # given to neither
    twice = {k: [*v, v[0]] for k, v in cols.items()}
    twice["Email"][-1] = "z@other.com"
    twice["Created at"][-1] = "2024-02-28"
    used, rejects = _validate(eng, twice, settings=s)
    assert rejects[3] == ("Email", "missing customer_id")
    assert [(r["customer_id"], r["date"].day) for r in used if r["order_id"] == "#1001"] == [
        ("a@x.com", 1),
        ("z@other.com", 28),
    ]
    bad = plain.with_updates(transactions={"fill_from_order": ["E-Mail address"]})
    with pytest.raises(SettingsError, match="fill_from_order names 'E-Mail address'"):
        _validate(eng, cols, settings=bad)
    no_order = Settings().with_updates(
        transactions={
            "fill_from_order": ["Email"],
            "columns": {"customer_id": "Email", "date": "Created at"},
        }
    )
    with pytest.raises(SettingsError, match="fill_from_order needs the lines' order numbers"):
        _validate(eng, {k: v for k, v in cols.items() if k != "Name"}, settings=no_order)


def test_no_usable_rows_counts_each_reason_once(tmp_path: Path) -> None:
    import openpyxl

    import tierwise

    # every revenue a formula without a stored value: rows the reader refuses, which the
    # message counts by reason as it counts the engine's
    wb = openpyxl.Workbook()
    wb.active.append(["customer_id", "date", "revenue"])
    for i in range(2, 6):
        wb.active.append([f"C{i}", "2024-01-02", f"=B{i}*2"])
    wb.save(tmp_path / "tx.xlsx")
    with pytest.raises(InputError) as info:
        tierwise.validate(tmp_path / "tx.xlsx")
    message = str(info.value)
    assert "no usable transaction rows: formula without a stored value" in message
    assert message.count("formula without a stored value") == 1
    assert "(4 rows, first at row 2)" in message


def test_excel_numbers_beside_numbers_stored_as_text_with_a_decimal_comma(tmp_path: Path) -> None:
    import openpyxl

    import tierwise

    # a German sheet pasted from an ERP: some amounts are numbers, others numbers stored as
    # text with a decimal comma; the numbers are read as they are, not rejected (or, for
    # 1234.567, misread as 1,234,567) for the column's comma
    wb = openpyxl.Workbook()
    wb.active.append(["customer_id", "date", "revenue"])
    for i, amount in enumerate(["1.234,50", 136.96, "42,46", 1234.567, "7,00", 3.0]):
        wb.active.append([f"C{i}", "2024-01-02", amount])
    wb.save(tmp_path / "tx.xlsx")
    v = tierwise.validate(tmp_path / "tx.xlsx", as_of="2024-06-30")["transactions"]
    assert v.rejects.num_rows == 0
    assert v.table.column("revenue").to_pylist() == [1234.5, 136.96, 42.46, 1234.567, 7.0, 3.0]
    # [transactions] decimal = "," reads a sheet of real numbers as the numbers they are
    wb = openpyxl.Workbook()
    wb.active.append(["customer_id", "date", "revenue"])
    wb.active.append(["C1", "2024-01-02", 136.96])
    wb.save(tmp_path / "numbers.xlsx")
    comma = Settings().with_updates(transactions={"decimal": ","})
    v = tierwise.validate(tmp_path / "numbers.xlsx", settings=comma, as_of="2024-06-30")
    assert v["transactions"].table.column("revenue").to_pylist() == [136.96]
