"""What a user finds of a value the run could not use: an optional value of the customer
master (and the other tables that keep such rows) emptied with its row kept and listed, and
every value in rejects.csv or emptied_values.csv as the file wrote it (``31.12.2025``, not
``2025-12-31``).

Raw tables are built as the CSV reader hands them over: every value text, ``_row`` the line.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from tierwise.engine import ROW, Engine
from tierwise.io import RawInput
from tierwise.schema import TABLES
from tierwise.settings import Settings
from tierwise.validate import Validated, canonicalize, validate_inputs

TODAY = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def eng() -> Engine:
    return Engine()


def _validated(
    eng: Engine, tables: dict[str, dict[str, list[Any]]], settings: Settings | None = None
) -> tuple[Validated, list[str]]:
    """These input tables (CSV-like text columns) validated together: the result and the
    warnings."""
    s = settings or Settings()
    raws, canon = {}, {}
    for name, cols in tables.items():
        n = len(next(iter(cols.values())))
        data = pa.table({**cols, ROW: pa.array(range(2, n + 2), pa.int64())})
        raws[name] = RawInput(name, f"{name}.csv", eng.from_arrow(data))
        canon[name] = canonicalize(raws[name].table, name, s, eng, file=f"{name}.csv", today=TODAY)
    warnings: list[str] = []
    checked = validate_inputs(canon, raws, s, eng, as_of=None, today=TODAY, warnings=warnings)
    for name, account in checked.accounts.items():
        assert account.rows_read == account.rows_used + account.rows_rejected, name
    return checked, warnings


def _tx(ids: list[str], date: str = "2025-12-31") -> dict[str, list[Any]]:
    return {"customer_id": ids, "date": [date] * len(ids), "revenue": ["10"] * len(ids)}


def _rows(eng: Engine, checked: Validated, table: str) -> list[dict[str, Any]]:
    return eng.to_arrow(checked.used[table].order_by(ROW)).to_pylist()


def _listed(listing: pa.Table) -> list[tuple[Any, ...]]:
    return [
        (r["table"], r["row"], r["column"], r["reason"], r["value"]) for r in listing.to_pylist()
    ]


# -- an optional value that cannot be read -------------------------------------------------


def test_an_unreadable_optional_value_is_emptied_and_the_customer_keeps_its_master_data(
    eng: Engine,
) -> None:
    customers = {
        "customer_id": ["C1", "C2", "C3", "C4"],
        "name": ["Alpha GmbH", "Beta AG", "Gamma KG", "Delta"],
        "region": ["North", "South", "West", "East"],
        "employees": ["ca. 50", "120", "ca. 10", "80"],
        "payment_terms_days": ["30", "Net 30", "14", "7"],
        "created_date": ["01.02.2020", "15.03.2019", "32.13.2018", "01.01.2020"],
    }
    checked, warnings = _validated(eng, {"transactions": _tx(["C1"]), "customers": customers})
    rows = _rows(eng, checked, "customers")
    assert [r["name"] for r in rows] == ["Alpha GmbH", "Beta AG", "Gamma KG", "Delta"]
    assert [r["region"] for r in rows] == ["North", "South", "West", "East"]
    assert [r["employees"] for r in rows] == [None, 120.0, None, 80.0]
    assert [r["payment_terms_days"] for r in rows] == [30.0, None, 14.0, 7.0]
    assert [r["created_date"] for r in rows][:2] == [dt.date(2020, 2, 1), dt.date(2019, 3, 15)]
    assert rows[2]["created_date"] is None
    assert checked.rejects.num_rows == 0
    assert checked.accounts["customers"].rows_used == 4
    no_such_date = (
        "created_date is no such date (day or month out of range; set [customers] "
        "date_format if the column's order of day and month was misread)"
    )
    assert _listed(checked.emptied) == [
        ("customers", 2, "employees", "employees is not a number", "ca. 50"),
        ("customers", 3, "payment_terms_days", "payment_terms_days is not a number", "Net 30"),
        ("customers", 4, "employees", "employees is not a number", "ca. 10"),
        ("customers", 4, "created_date", no_such_date, "32.13.2018"),
    ]
    (employees,) = [w for w in warnings if "'employees'" in w]
    assert employees == (
        "customers.csv: 2 values of column 'employees' could not be read and were emptied, "
        "their rows kept (first: row 2, 'ca. 50': employees is not a number); correct the "
        "file, or map the column that holds employees in [customers.columns]; "
        "the run's emptied_values.csv lists each"
    )
    (terms,) = [w for w in warnings if "'payment_terms_days'" in w]
    assert terms.startswith("customers.csv: 1 value of column 'payment_terms_days' could not")
    assert "was emptied, its row kept (first: row 3, 'Net 30'" in terms


def test_a_mapped_column_is_named_as_the_file_names_it(eng: Engine) -> None:
    s = Settings().with_updates(customers={"columns": {"employees": "Mitarbeiter"}})
    customers = {"customer_id": ["C1", "C2"], "Mitarbeiter": ["50", "ca. 50"]}
    checked, warnings = _validated(eng, {"transactions": _tx(["C1"]), "customers": customers}, s)
    assert _listed(checked.emptied) == [
        ("customers", 3, "Mitarbeiter", "employees is not a number", "ca. 50")
    ]
    (said,) = [w for w in warnings if "emptied" in w]
    assert "column 'Mitarbeiter' (read as employees) could not be read" in said
    assert "map the column that holds employees in [customers.columns]" in said


def test_which_tables_keep_a_row_whose_optional_value_cannot_be_read() -> None:
    # the transactions' amounts and return flag belong together; a payment's empty paid
    # date is an invoice not yet paid: there an unreadable value still rejects the row
    kept = {name for name, spec in TABLES.items() if spec.empties_unreadable}
    assert kept == {"customers", "prospects", "activities", "reps", "market"}


def test_the_other_tables_optional_values_are_emptied_too(eng: Engine) -> None:
    tables = {
        "transactions": _tx(["C1", "C2"]),
        "prospects": {"customer_id": ["P1", "P2"], "lat": ["52,5x", "48.1"]},
        "activities": {
            "customer_id": ["C1", "C2", "C1"],
            "date": ["2025-11-01"] * 3,
            "type": ["visit", "call", "call"],
            "duration_minutes": ["30", "ca. 5", "1:05"],
            "rep_id": ["R1", "R1", "R\n2"],
        },
        "reps": {
            "rep_id": ["R1", "R2"],
            "role": ["field", "inside"],
            "hours_per_year": ["1600", "1500"],
            "home_lat": ["52.5", "north"],
        },
        "market": {
            "industry": ["metal", "wood"],
            "market_size": ["1000000", "about a million"],
            "growth_rate": ["3%", "2%"],
        },
    }
    checked, _ = _validated(eng, tables)
    assert checked.rejects.num_rows == 0
    for name in ("prospects", "activities", "reps", "market"):
        assert checked.accounts[name].rows_used == len(next(iter(tables[name].values())))
    got = {(t, row, column, value) for t, row, column, _, value in _listed(checked.emptied)}
    assert got == {
        ("prospects", 2, "lat", "52,5x"),
        ("activities", 3, "duration_minutes", "ca. 5"),
        ("activities", 4, "rep_id", "R\n2"),
        ("reps", 3, "home_lat", "north"),
        ("market", 3, "market_size", "about a million"),
    }
    acts = _rows(eng, checked, "activities")
    assert [r["duration_minutes"] for r in acts] == [30.0, None, 65.0]
    assert [r["rep_id"] for r in acts] == ["R1", "R1", None]
    assert [r["home_lat"] for r in _rows(eng, checked, "reps")] == [52.5, None]
    market = _rows(eng, checked, "market")
    assert [(r["market_size"], r["growth_rate"]) for r in market] == [
        (1000000.0, 0.03),
        (None, 0.02),
    ]


def test_a_required_value_and_the_transactions_and_payments_still_reject_the_row(
    eng: Engine,
) -> None:
    tables = {
        "transactions": {**_tx(["C1", "C2"]), "cost": ["4", "ca. 4"]},
        "customers": {"customer_id": ["C1", "C2"], "employees": ["5", "6"]},
        "activities": {
            "customer_id": ["C1", "C2"],
            "date": ["2025-11-01", "early November"],
            "type": ["visit", "call"],
        },
        "payments": {
            "invoice_id": ["I1", "I2"],
            "customer_id": ["C1", "C2"],
            "due_date": ["2025-10-01"] * 2,
            "paid_date": ["2025-10-05", "paid"],
            "amount": ["10", "10"],
        },
        "reps": {"rep_id": ["R1", "R2"], "role": ["field"] * 2, "hours_per_year": ["1600", "x"]},
    }
    checked, _ = _validated(eng, tables)
    assert checked.emptied.num_rows == 0
    got = {(r["table"], r["row"], r["column"], r["value"]) for r in checked.rejects.to_pylist()}
    assert got == {
        ("transactions", 3, "cost", "ca. 4"),
        ("activities", 3, "date", "early November"),
        ("payments", 3, "paid_date", "paid"),
        ("reps", 3, "hours_per_year", "x"),
    }


def test_a_value_out_of_its_range_is_emptied_and_the_customer_keeps_its_master_data(
    eng: Engine,
) -> None:
    customers = {
        "customer_id": ["C1", "C2", "C3"],
        "name": ["Alpha GmbH", "Beta AG", "Gamma KG"],
        "region": ["North", "South", "West"],
        "lat": ["95,0", "52,5", "48,1"],
        "lon": ["8,5", "13,4", "11,6"],
        "employees": ["-5", "3", "ca. 9"],
        "payment_terms_days": ["30", "400", "14"],
    }
    checked, warnings = _validated(eng, {"transactions": _tx(["C1"]), "customers": customers})
    rows = _rows(eng, checked, "customers")
    assert [(r["name"], r["region"]) for r in rows] == [
        ("Alpha GmbH", "North"),
        ("Beta AG", "South"),
        ("Gamma KG", "West"),
    ]
    assert [(r["lat"], r["lon"]) for r in rows] == [(None, 8.5), (52.5, 13.4), (48.1, 11.6)]
    assert [r["employees"] for r in rows] == [None, 3.0, None]
    assert [r["payment_terms_days"] for r in rows] == [30.0, None, 14.0]
    assert checked.rejects.num_rows == 0
    assert checked.accounts["customers"].rows_used == 3
    assert _listed(checked.emptied) == [
        ("customers", 2, "lat", "lat is outside -90 to 90 degrees", "95,0"),
        ("customers", 2, "employees", "employees is negative", "-5"),
        (
            "customers",
            3,
            "payment_terms_days",
            "payment_terms_days is above 365 ([validate] max_payment_terms_days)",
            "400",
        ),
        ("customers", 4, "employees", "employees is not a number", "ca. 9"),
    ]
    (lat,) = [w for w in warnings if "'lat'" in w]
    assert lat == (
        "customers.csv: 1 value of column 'lat' was out of range and was emptied, its row "
        "kept (first: row 2, '95,0': lat is outside -90 to 90 degrees); correct the file, or "
        "map the column that holds lat in [customers.columns]; "
        "the run's emptied_values.csv lists it"
    )
    (employees,) = [w for w in warnings if "'employees'" in w]
    assert employees.startswith(
        "customers.csv: 2 values of column 'employees' could not be read or were out of "
        "range and were emptied, their rows kept (first: row 2, '-5': employees is negative)"
    )


def test_the_other_tables_values_out_of_range_are_emptied_too(eng: Engine) -> None:
    tables = {
        "transactions": _tx(["C1"]),
        "activities": {
            "customer_id": ["C1", "C1", "C1"],
            "date": ["2025-11-01"] * 3,
            "type": ["visit", "call", "call"],
            "duration_minutes": ["30", "-15", "25:00"],
            "cost": ["-20000", "5", "5"],
        },
        "reps": {
            "rep_id": ["R1", "R2"],
            "role": ["field", "inside"],
            "hours_per_year": ["1600", "1500"],
            "home_lat": ["52.5", "91"],
            "home_lon": ["200", "13.4"],
        },
        "market": {
            "industry": ["metal", "wood", "stone"],
            "market_size": ["-1000", "5000", "3000"],
            "growth_rate": ["0.02", "-150%", "5"],
        },
    }
    checked, _ = _validated(eng, tables)
    assert checked.rejects.num_rows == 0
    for name in ("activities", "reps", "market"):
        assert checked.accounts[name].rows_used == len(next(iter(tables[name].values())))
    got = {(t, row, column, value) for t, row, column, _, value in _listed(checked.emptied)}
    assert got == {
        ("activities", 2, "cost", "-20000"),
        ("activities", 3, "duration_minutes", "-15"),
        ("activities", 4, "duration_minutes", "25:00"),
        ("reps", 2, "home_lon", "200"),
        ("reps", 3, "home_lat", "91"),
        ("market", 2, "market_size", "-1000"),
        ("market", 3, "growth_rate", "-150%"),
        ("market", 4, "growth_rate", "5"),
    }
    acts = _rows(eng, checked, "activities")
    assert [(r["duration_minutes"], r["cost"]) for r in acts] == [
        (30.0, None),
        (None, 5.0),
        (None, 5.0),
    ]
    reps = _rows(eng, checked, "reps")
    assert [(r["home_lat"], r["home_lon"]) for r in reps] == [(52.5, None), (None, 13.4)]
    assert [(r["market_size"], r["growth_rate"]) for r in _rows(eng, checked, "market")] == [
        (None, 0.02),
        (5000.0, None),
        (3000.0, None),
    ]


def test_a_value_out_of_range_still_rejects_a_row_that_needs_it(eng: Engine) -> None:
    # a rep's hours are required; a market row needs its key; a payment is judged with its
    # due date
    tables = {
        "transactions": _tx(["C1"]),
        "payments": {
            "invoice_id": ["I1", "I2"],
            "customer_id": ["C1", "C1"],
            "due_date": ["2025-10-01"] * 2,
            "paid_date": ["2025-10-05", "2018-02-01"],
            "amount": ["10", "10"],
        },
        "reps": {
            "rep_id": ["R1", "R2", "R3"],
            "role": ["field"] * 3,
            "hours_per_year": ["1600", "-40", "9000"],
            "home_lat": ["52.5", "95", "52.5"],
        },
        "market": {
            "industry": ["metal", "", "wood"],
            "region": ["", "", ""],
            "market_size": ["5000", "-1", "7000"],
            "growth_rate": ["0.02", "0.01", "0.035"],
        },
    }
    checked, warnings = _validated(eng, tables)
    got = [(r["table"], r["row"], r["column"], r["value"]) for r in checked.rejects.to_pylist()]
    assert sorted(got) == [
        ("market", 3, "industry", ""),
        ("payments", 3, "paid_date", "2018-02-01"),
        ("reps", 3, "hours_per_year", "-40"),
        ("reps", 4, "hours_per_year", "9000"),
    ]
    # a rejected row's values are not listed as emptied
    assert checked.emptied.num_rows == 0
    assert not [w for w in warnings if "emptied" in w]
    assert [checked.accounts[n].rows_rejected for n in ("payments", "reps", "market")] == [1, 2, 1]


def test_a_rejected_rows_unreadable_values_are_not_listed_as_emptied(eng: Engine) -> None:
    # the second C1 is a duplicate: rejects.csv lists it, emptied_values.csv does not
    customers = {"customer_id": ["C1", "C1", ""], "employees": ["7", "ca. 50", "ca. 9"]}
    checked, warnings = _validated(eng, {"transactions": _tx(["C1"]), "customers": customers})
    assert checked.emptied.num_rows == 0
    assert not [w for w in warnings if "emptied" in w]
    assert [(r["row"], r["reason"][:9]) for r in checked.rejects.to_pylist()] == [
        (3, "duplicate"),
        (4, "missing c"),
    ]


# -- rejects.csv shows the value as the file wrote it --------------------------------------


def test_a_date_rejected_after_the_checks_is_shown_as_the_file_wrote_it(eng: Engine) -> None:
    # the analysis date is the last transaction's: an activity after it is rejected once the
    # transactions are checked, and shown as written (31.12.2025), not as read (2025-12-31)
    s = Settings().with_updates(activities={"columns": {"date": "Datum"}})
    tables = {
        "transactions": _tx(["C1"], date="30.11.2025"),
        "activities": {
            "customer_id": ["C1", "C1"],
            "Datum": ["31.12.2025", "01.11.2025"],
            "type": ["visit", "call"],
        },
    }
    checked, _ = _validated(eng, tables, s)
    ((r),) = checked.rejects.to_pylist()
    assert (r["table"], r["row"], r["column"], r["value"]) == (
        "activities",
        2,
        "Datum",
        "31.12.2025",
    )
    assert r["reason"].startswith("after the analysis date 2025-11-30")


def test_ids_rejected_after_the_checks_are_shown_as_the_file_wrote_them(eng: Engine) -> None:
    s = Settings().with_updates(
        validate_={"id_leading_zeros": "ignore"},
        customers={"columns": {"customer_id": "Kundennr"}},
        activities={"columns": {"customer_id": "Kunde"}},
    )
    tables = {
        "transactions": {
            "customer_id": ["00042", "7", " Summe "],
            "date": ["2025-11-01", "2025-11-02", "2025-11-02"],
            "revenue": ["1.234,50", "10,00", "1.244,50"],
        },
        "customers": {"Kundennr": ["00042", "7", " 7 "], "name": ["a", "b", "c"]},
        "activities": {
            "Kunde": ["0099", "42"],
            "date": ["2025-11-01"] * 2,
            "type": ["visit"] * 2,
        },
    }
    checked, _ = _validated(eng, tables, s)
    got = [(r["table"], r["row"], r["column"], r["value"]) for r in checked.rejects.to_pylist()]
    assert got == [
        ("transactions", 4, "customer_id", " Summe "),
        ("customers", 4, "Kundennr", " 7 "),
        ("activities", 2, "Kunde", "0099"),
    ]
    reasons = [r["reason"] for r in checked.rejects.to_pylist()]
    assert reasons[0].startswith("a totals row") and reasons[1].startswith("duplicate")
    assert reasons[2].startswith("customer_id not found")


def test_a_number_out_of_its_range_is_shown_as_the_file_wrote_it(eng: Engine) -> None:
    customers = {"customer_id": ["C1", "C2"], "payment_terms_days": ["1.234,50", "30,00"]}
    reps = {"rep_id": ["R1", "R2"], "role": ["field"] * 2, "hours_per_year": ["9.000,00", "1,5"]}
    tables = {"transactions": _tx(["C1"]), "customers": customers, "reps": reps}
    checked, _ = _validated(eng, tables)
    ((emptied),) = checked.emptied.to_pylist()
    assert (emptied["row"], emptied["column"], emptied["value"]) == (
        2,
        "payment_terms_days",
        "1.234,50",
    )
    ((rejected),) = checked.rejects.to_pylist()
    assert (rejected["row"], rejected["column"], rejected["value"]) == (
        2,
        "hours_per_year",
        "9.000,00",
    )


# -- a stock ledger's negative quantities ----------------------------------------------------


def test_sales_turned_returns_by_a_negative_quantity_name_the_quantity(eng: Engine) -> None:
    # Business Central's Value Entries: a sale's amount positive, its quantity issued negative
    n = 60
    tx = {
        "Source No.": [f"C{i % 7}" for i in range(n)],
        "Posting Date": ["2025-12-01"] * n,
        "Sales Amount (Actual)": [f"{100 + i}" for i in range(n)],
        "Invoiced Quantity": [f"-{i % 4 + 1}" for i in range(n)],
    }
    s = Settings.model_validate(
        {
            "transactions": {
                "columns": {
                    "customer_id": "Source No.",
                    "date": "Posting Date",
                    "revenue": "Sales Amount (Actual)",
                    "quantity": "Invoiced Quantity",
                }
            }
        }
    )
    _, warnings = _validated(eng, {"transactions": tx}, s)
    (said,) = [w for w in warnings if "are returns and the net revenue" in w]
    assert "(now 'Sales Amount (Actual)')" in said
    assert "where 'Invoiced Quantity' is negative for a sale" in said
