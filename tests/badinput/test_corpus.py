"""The bad-input corpus: malformed files through ``tierwise run``, end to end.

Every case ends one of two ways, and never with a traceback or a silently lost row:

- a clear error: exit code 1, one line per problem starting ``error:``, naming the file (and,
  where it applies, the row and column) and what to do, and no output folder written;
- a finished run whose ``manifest.json`` accounts for every row:
  ``rows_read == rows_used + rows_rejected`` for each input, ``rows_read`` equal to the data
  rows the case wrote, and each rejected row in ``rejects.csv`` with its row, column and
  reason.

The files are generated here (byte for byte, so encodings and line endings are exact).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

H = "customer_id,date,revenue\n"
#: a clean transactions file: customers A and B
TX_OK = H + "A,2024-01-02,10\nB,2024-01-03,20\n"

Content = str | bytes | Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One malformed input and what ``tierwise run`` must do with it."""

    id: str
    #: input name -> (file name, content); str content is written as UTF-8
    files: dict[str, tuple[str, Content]]
    #: tierwise.toml text, if any
    config: str | None = None
    #: more command-line arguments
    args: tuple[str, ...] = ()
    #: for an error: text the error lines must contain (the file name is checked apart)
    error: tuple[str, ...] = ()
    #: which file the error must name (default: the first input's; "config" for the settings)
    error_file: str | None = None
    #: for a finished run: input name -> the number of data rows written in its file
    rows: dict[str, int] = field(default_factory=dict)
    #: rejects that must be in rejects.csv: (table, row, column or None, part of the reason)
    rejects: tuple[tuple[str, int, str | None, str], ...] = ()
    #: any further check on the finished run (customers.csv, …)
    check: Callable[..., None] | None = None
    #: files that are no input (a review-decisions file): name -> content, written beside
    #: the inputs; the settings refer to them as data/<name>
    others: dict[str, Content] = field(default_factory=dict)


def _xlsx(rows: list[list], sheet: str = "Invoices") -> Callable[[Path], None]:
    def write(path: Path) -> None:
        import openpyxl

        wb = openpyxl.Workbook()
        wb.active.title = sheet
        for r in rows:
            wb.active.append(r)
        wb.save(path)

    return write


def _xlsx_sheets(sheets: dict[str, list[list]]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        import openpyxl

        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for title, rows in sheets.items():
            ws = wb.create_sheet(title)
            for r in rows:
                ws.append(r)
        wb.save(path)

    return write


def _xlsx_hiding(rows: list[list], hidden: list[int]) -> Callable[[Path], None]:
    """A workbook whose sheet hides the rows numbered ``hidden`` (as a filter does)."""

    def write(path: Path) -> None:
        import openpyxl

        wb = openpyxl.Workbook()
        for r in rows:
            wb.active.append(r)
        for n in hidden:
            wb.active.row_dimensions[n].hidden = True
        wb.save(path)

    return write


def _xlsx_1904(rows: list[list]) -> Callable[[Path], None]:
    """A workbook of Excel's 1904 date system (Excel for Mac's before 2011)."""

    def write(path: Path) -> None:
        import openpyxl
        from openpyxl.utils.datetime import CALENDAR_MAC_1904

        wb = openpyxl.Workbook()
        wb.epoch = CALENDAR_MAC_1904
        for r in rows:
            wb.active.append(r)
        wb.save(path)

    return write


def _check_first_purchase(expected: dict[str, str]) -> Callable[..., None]:
    def check(run) -> None:
        got = {k: v["first_purchase"] for k, v in _customers_by_id(run).items()}
        assert got == expected

    return check


def _parquet(table: pa.Table) -> Callable[[Path], None]:
    return lambda path: pq.write_table(table, path)


def _duckdb(sql: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        import duckdb

        with duckdb.connect(str(path)) as con:
            con.execute(sql)

    return write


def _customers_by_id(run) -> dict[str, dict[str, str]]:
    return {r["customer_id"]: r for r in run.customers}


def _check_accented_names(run) -> None:
    names = {k: (v["name"], v["city"]) for k, v in _customers_by_id(run).items()}
    assert names == {
        "A": ("Müller Gärtnerei", "Zürich"),
        "B": ("Société Générale", "Besançon"),
    }


def _check_bom(run) -> None:
    assert _customers_by_id(run)["A"]["name"] == "Åsa Öberg"


def _check_long_name_kept(run) -> None:
    assert len(_customers_by_id(run)["A"]["name"]) == 100_000


def _check_revenue(expected: dict[str, float]) -> Callable[..., None]:
    def check(run) -> None:
        got = {k: float(v["revenue"]) for k, v in _customers_by_id(run).items()}
        assert got == pytest.approx(expected)

    return check


def _check_returns(run) -> None:
    a = _customers_by_id(run)["A"]
    # line 2 is a sale of 10, line 3 a return of -4 (negative quantity and revenue)
    assert float(a["revenue"]) == pytest.approx(6.0)
    assert float(a["returns_value"]) == pytest.approx(4.0)
    assert a["n_return_lines"] == "1"


def _check_multiline_name(run) -> None:
    assert _customers_by_id(run)["A"]["name"] == "Acme GmbH\nWerk 2"


def _check_values(expected: dict[int, str], table: str = "transactions") -> Callable[..., None]:
    """rejects.csv shows each value exactly as the file had it."""

    def check(run) -> None:
        got = {int(r["row"]): r["value"] for r in run.rejects if r["table"] == table}
        assert {k: got.get(k) for k in expected} == expected

    return check


def _check_emptied(expected: dict[tuple[str, int, str], str]) -> Callable[..., None]:
    """emptied_values.csv lists exactly these values, (table, row, column): the value as the
    file had it."""

    def check(run) -> None:
        got = {(r["table"], int(r["row"]), r["column"]): r["value"] for r in run.emptied}
        assert got == expected

    return check


def _check_emptied_reasons(expected: dict[tuple[str, int, str], str]) -> Callable[..., None]:
    """emptied_values.csv gives exactly these reasons, (table, row, column): the reason."""

    def check(run) -> None:
        got = {(r["table"], int(r["row"]), r["column"]): r["reason"] for r in run.emptied}
        assert {k: got.get(k) for k in expected} == expected

    return check


def _check_master(expected: dict[str, tuple[str, str, str]]) -> Callable[..., None]:
    """Each customer's name, region and employees as customers.csv writes them."""

    def check(run) -> None:
        got = {
            k: (v["name"], v["region"], v["employees"]) for k, v in _customers_by_id(run).items()
        }
        assert got == expected

    return check


def _check_orders(expected: dict[str, int]) -> Callable[..., None]:
    def check(run) -> None:
        got = {k: int(float(v["n_orders"])) for k, v in _customers_by_id(run).items()}
        assert got == expected

    return check


def _check_warning(*parts: str) -> Callable[..., None]:
    """A warning of the manifest holds every part."""

    def check(run) -> None:
        said = run.manifest["warnings"]
        assert any(all(p in w for p in parts) for w in said), said
        assert any(all(p in ln for p in parts) for ln in run.output.splitlines()), run.output

    return check


def _check_accounts_skipped(*parts: str) -> Callable[..., None]:
    """The accounts stage was skipped for a reason holding every part, said alike on
    screen, in the manifest and in report.html's duplicates section."""

    def check(run) -> None:
        import html

        _check_warning("accounts skipped: ", *parts)(run)
        skipped = run.manifest["accounts"]["skipped"]
        assert all(p in skipped for p in parts), skipped
        report = (run.out_dir / "report.html").read_text(encoding="utf-8")
        assert html.escape(f"duplicates were not looked for: {skipped}") in report

    return check


def _check_all(*checks: Callable[..., None]) -> Callable[..., None]:
    def check(run) -> None:
        for c in checks:
            c(run)

    return check


def _check_no_warning(part: str) -> Callable[..., None]:
    def check(run) -> None:
        assert not any(part in w for w in run.manifest["warnings"])

    return check


def _check_sqlite(path: Path) -> None:
    import sqlite3

    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE transactions (customer_id, date, revenue)")


def _encrypted_xlsx(path: Path) -> None:
    # an encrypted .xlsx is an OLE2 compound file holding an "EncryptedPackage" stream
    # (MS-OFFCRYPTO); its header and the stream's name are what the reader looks for
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    path.write_bytes(head + "EncryptedPackage".encode("utf-16-le") + bytes(64))


LONG = "X" * 100_000

CASES = [
    # -- file-level problems: one clear line, exit 1 ---------------------------------------
    Case(
        "missing_required_column",
        {"transactions": ("tx.csv", "customer_id,date\nA,2024-01-02\n")},
        error=(
            "column 'revenue'",
            "required column 'revenue' is missing",
            "[transactions.columns]",
        ),
    ),
    Case(
        "wrong_delimiter_in_settings",
        {"transactions": ("tx.csv", TX_OK)},
        config='[transactions]\ndelimiter = ";"\n',
        error=("required column", "header reads as one column", "set [transactions] delimiter"),
    ),
    Case("empty_file", {"transactions": ("tx.csv", b"")}, error=("empty",)),
    Case(
        "whitespace_only_file", {"transactions": ("tx.csv", b"  \r\n\t\n   \n")}, error=("empty",)
    ),
    Case(
        "duplicated_header",
        {"transactions": ("tx.csv", "customer_id,date,revenue,revenue\nA,2024-01-02,1,2\n")},
        error=("column 'revenue'", "holds 'revenue' 2 times", "'revenue (column 4)'"),
    ),
    Case(
        "settings_typo_in_key",
        {"transactions": ("tx.csv", TX_OK)},
        config="[validate]\nfuture_tolerence_days = 3\n",
        error=("[validate] future_tolerence_days", "did you mean future_tolerance_days?"),
        error_file="config",
    ),
    Case(
        "settings_typo_in_section",
        {"transactions": ("tx.csv", TX_OK)},
        config='[transaction]\ndelimiter = ";"\n',
        error=("[transaction]", "unknown section", "did you mean transactions?"),
        error_file="config",
    ),
    Case(
        "settings_value_of_wrong_type",
        {"transactions": ("tx.csv", TX_OK)},
        config='[validate]\nfuture_tolerance_days = "soon"\n',
        error=("[validate] future_tolerance_days", "'soon'"),
        error_file="config",
    ),
    Case(
        "settings_not_toml",
        {"transactions": ("tx.csv", TX_OK)},
        config="[transactions\npath = \n",
        error=("not valid TOML",),
        error_file="config",
    ),
    Case(
        "mapped_column_not_in_file",
        {"transactions": ("tx.csv", "customer_id,date,Umsaz\nA,2024-01-02,1\n")},
        config='[transactions.columns]\nrevenue = "Umsatz"\n',
        error=("maps revenue to 'Umsatz'", "did you mean 'Umsaz'?"),
    ),
    Case(
        "excel_wrong_sheet_name",
        {
            "transactions": (
                "tx.xlsx",
                _xlsx([["customer_id", "date", "revenue"], ["A", "2024-01-02", 1]]),
            )
        },
        config='[transactions]\nsheet = "Sheet1"\n',
        error=("no sheet named 'Sheet1'", "set [transactions] sheet to one of: 'Invoices'"),
    ),
    Case(
        "excel_data_on_the_second_sheet",
        {
            "transactions": (
                "tx.xlsx",
                _xlsx_sheets(
                    {
                        "Notes": [["Notes"], ["exported from the ERP"]],
                        "Invoices": [["customer_id", "date", "revenue"], ["A", "2024-01-02", 1]],
                    }
                ),
            )
        },
        error=(
            "required column 'customer_id' is missing",
            "the workbook has sheets 'Notes', 'Invoices': set [transactions] sheet = \"Invoices\"",
        ),
    ),
    Case(
        "header_row_beyond_the_file",
        {"transactions": ("tx.csv", TX_OK)},
        config="[transactions]\nheader_row = 99999\n",
        error=(
            "header_row 99999 is beyond the file's 3 lines",
            "set [transactions] header_row to the line holding the column names",
        ),
    ),
    Case(
        "header_row_on_the_blank_lines_at_the_end",
        {"transactions": ("tx.csv", TX_OK + "\n\n")},
        config="[transactions]\nheader_row = 4\n",
        error=("header_row 4 and the lines after it are empty (the file has 5 lines)",),
    ),
    Case(
        "parquet_that_is_really_text",
        {"transactions": ("tx.parquet", TX_OK)},
        error=("not a readable Parquet file",),
    ),
    Case(
        "parquet_of_no_bytes",
        {"transactions": ("tx.parquet", b"")},
        error=("the file is empty (0 bytes) (export it again)",),
    ),
    Case(
        "duckdb_file_without_the_table",
        {"transactions": ("erp.duckdb", _duckdb("CREATE TABLE invoices AS SELECT 1 AS x"))},
        error=("no table 'transactions'", "set [transactions] table to one of: invoices"),
    ),
    Case("old_xls_file", {"transactions": ("tx.xls", b"\xd0\xcf\x11\xe0junk")}, error=(".xls",)),
    Case(
        "html_table_named_xls",
        {
            "transactions": (
                "tx.xls",
                '<html xmlns:o="urn:schemas-microsoft-com:office:office">\n<body><table>'
                "<tr><td>customer_id</td><td>date</td><td>revenue</td></tr></table></body></html>",
            )
        },
        error=("a web page saved as .xls", "open it in Excel and save it as .xlsx or CSV"),
    ),
    Case(
        "sign_in_page_named_csv",
        {"transactions": ("tx.csv", "<!DOCTYPE html>\n<html><title>Sign in</title></html>\n")},
        error=("a web page (HTML)", "download the export again"),
    ),
    Case(
        "xml_spreadsheet_named_xls",
        {
            "transactions": (
                "tx.xls",
                '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
                '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>\n',
            )
        },
        error=("Excel 2003 XML spreadsheet", "save it as .xlsx or CSV"),
    ),
    Case(
        "unicode_text_named_xls",
        {"transactions": ("tx.xls", TX_OK.replace(",", "\t").encode("utf-16"))},
        rows={"transactions": 2},
    ),
    Case(
        "json_records_named_csv",
        {"transactions": ("tx.csv", '[{"customer_id": "A", "date": "2024-01-02", "revenue": 1}]')},
        error=("the file is JSON", "export the table as CSV, Parquet or .xlsx"),
    ),
    Case(
        "json_lines_file",
        {
            "transactions": (
                "tx.json",
                '\ufeff{"customer_id": "A", "date": "2024-01-02", "revenue": 1}\n'
                '{"customer_id": "B", "date": "2024-01-03", "revenue": 2}\n',
            )
        },
        error=("the file is JSON",),
    ),
    Case(
        "binary_file_as_csv",
        {"transactions": ("tx.csv", bytes(range(256)) * 8)},
        error=("binary file",),
    ),
    Case(
        "quote_never_closed",
        {"transactions": ("tx.csv", H + 'A,2024-01-02,1\nB,"2024-01-02,2\nC,2024-01-03,3\n')},
        error=("row 3", "never closed", "remove the stray quote"),
    ),
    Case(
        "unknown_encoding_in_settings",
        {"transactions": ("tx.csv", TX_OK)},
        config='[transactions]\nencoding = "klingon"\n',
        error=("cannot decode the file as klingon", "[transactions] encoding"),
    ),
    Case(
        "header_only",
        {"transactions": ("tx.csv", H)},
        error=("no usable transaction rows",),
    ),
    Case(
        "every_row_unusable",
        {"transactions": ("tx.csv", H + "A,someday,1\n,2024-01-02,2\n")},
        error=("no usable transaction rows",),
    ),
    Case(
        "two_columns_read_as_the_same_name",
        {"transactions": ("tx.csv", "Customer ID,customer_id,date,revenue\nX,A,2024-01-02,1\n")},
        error=("columns 'Customer ID' and 'customer_id' both read as customer_id",),
    ),
    Case(
        # the run read the date column as the customer ids too, without a word
        "one_column_mapped_as_customer_id_and_date",
        {"transactions": ("tx.csv", TX_OK)},
        config='[transactions.columns]\ncustomer_id = "date"\ndate = "date"\n',
        error=(
            "tierwise.toml [transactions.columns] customer_id: reads the column 'date', as "
            "date does; customer_id and date cannot share one column",
        ),
        error_file="config",
    ),
    Case(
        # the date column, read as customer_id by the mapping, is not read as date by its name
        "the_date_column_mapped_as_customer_id",
        {"transactions": ("tx.csv", TX_OK)},
        config='[transactions.columns]\ncustomer_id = "date"\n',
        error=(
            "required column 'date' is missing (the column 'date' is read as customer_id "
            '([transactions.columns] customer_id = "date"), which date cannot share',
        ),
    ),
    Case(
        "second_input_empty",
        {"transactions": ("tx.csv", TX_OK), "customers": ("customers.csv", b"")},
        error=("empty",),
        error_file="customers",
    ),
    Case(
        "sqlite_database",
        {"transactions": ("erp.db", _check_sqlite)},
        error=("SQLite database", "export the table as CSV"),
    ),
    Case(
        "password_protected_workbook",
        {"transactions": ("tx.xlsx", _encrypted_xlsx)},
        error=("password-protected",),
    ),
    Case(
        "no_date_formats_in_settings",
        {"transactions": ("tx.csv", TX_OK)},
        config="[validate]\ndate_formats = []\n",
        error=("[validate] date_formats", "at least one date format"),
        error_file="config",
    ),
    Case(
        "market_without_industry_or_region_columns",
        {
            "transactions": ("tx.csv", TX_OK),
            "market": ("market.csv", "segment,market_size\nRetail,100\n"),
        },
        error=("needs a column 'industry' or 'region'",),
        error_file="market",
    ),
    Case(
        "decisions_file_without_its_columns",
        {
            "transactions": ("tx.csv", TX_OK),
            "customers": ("customers.csv", "customer_id,name\nA,Acme\nB,Beta\n"),
        },
        config='[accounts]\ndecisions_file = "data/my_decisions.csv"\n',
        others={"my_decisions.csv": "left,right,decision\n1,2,confirm\n"},
        error=("lacks the columns left_id, right_id",),
        error_file="my_decisions.csv",
    ),
    Case(
        "activities_without_type_column",
        {
            "transactions": ("tx.csv", TX_OK),
            "activities": ("act.csv", "customer_id,date\nA,2024-01-02\n"),
        },
        error=("required column 'type' is missing",),
        error_file="activities",
    ),
    # -- row-level problems: the run finishes and rejects.csv says why -----------------------
    Case(
        "text_in_amount_column",
        {
            "transactions": (
                "tx.csv",
                H + 'A,2024-01-02,abc\nB,2024-01-02,12\nC,2024-01-02,"12,50"\n'
                'D,2024-01-02,12.50 EUR\nE,2024-01-02,"1,234.50"\nF,2024-01-02,12.50 pcs\n',
            )
        },
        rows={"transactions": 6},
        rejects=(
            ("transactions", 2, "revenue", "revenue is not a number"),
            # the column reads with "." (1,234.50): 12,50 is rejected, never read as 1250
            ("transactions", 4, "revenue", 'not a number with "." as decimal separator'),
            # a currency code is dropped as a currency sign is; any other word is not
            ("transactions", 7, "revenue", "revenue is not a number"),
        ),
        check=_check_revenue({"B": 12.0, "D": 12.5, "E": 1234.5}),
    ),
    Case(
        # a general ledger's Debit and Credit: text in either rejects its line as any amount
        # column's does; both empty rejects it too; one empty reads as 0
        "text_in_a_ledgers_debit",
        {
            "transactions": (
                "gl.csv",
                "Date;Contact;Debit;Credit\n2024-01-02;A;1.234,50;\n2024-01-03;A;;100,00\n"
                "2024-01-04;B;abc;\n2024-01-05;B;;\n2024-01-06;B;50,00;\n",
            )
        },
        config='[transactions]\nledger_sale_side = "debit"\n\n[transactions.columns]\n'
        'customer_id = "Contact"\ndebit_amount = "Debit"\ncredit_amount = "Credit"\n',
        rows={"transactions": 5},
        rejects=(
            ("transactions", 4, "Debit", "debit_amount is not a number"),
            ("transactions", 5, "Debit", "missing debit_amount and credit_amount"),
        ),
        check=_check_revenue({"A": 1134.5, "B": 50.0}),
    ),
    Case(
        "mixed_date_formats",
        {
            "transactions": (
                "tx.csv",
                H + "A,2024-01-02,1\nB,03/01/2024,2\nC,04.01.2024,3\n"
                "D,20240105,4\nE,Jan 5 2024,5\nF,2024-02-30,6\nG,2024/13/01,7\n",
            )
        },
        rows={"transactions": 7},
        rejects=(
            ("transactions", 6, "date", "not a date in a known format"),
            ("transactions", 7, "date", "no such date"),
            ("transactions", 8, "date", "no such date"),
        ),
        check=_check_revenue({"A": 1, "B": 2, "C": 3, "D": 4}),
    ),
    Case(
        "dates_far_in_the_future_or_past",
        {
            "transactions": (
                "tx.csv",
                H + "A,2024-01-02,1\nB,2999-01-01,2\nC,9999-12-31,3\nD,1850-06-01,4\n",
            )
        },
        rows={"transactions": 4},
        rejects=(
            ("transactions", 3, "date", "date in the future"),
            # the open-ended date ERPs write for "not yet" is no date: missing, as documented
            ("transactions", 4, "date", "missing date"),
            ("transactions", 5, "date", "before 1900"),
        ),
    ),
    Case(
        "nan_and_infinity",
        {
            "transactions": (
                "tx.csv",
                H + "A,2024-01-02,NaN\nB,2024-01-02,inf\nC,2024-01-02,-Infinity\n"
                "D,2024-01-02,1e400\nE,2024-01-02,5\n",
            )
        },
        rows={"transactions": 5},
        rejects=tuple(("transactions", r, "revenue", "not a finite number") for r in (2, 3, 4, 5)),
        check=_check_revenue({"E": 5.0}),
    ),
    Case(
        "parquet_with_nan_inf_and_null_ids",
        {
            "transactions": (
                "tx.parquet",
                _parquet(
                    pa.table(
                        {
                            "customer_id": ["A", None, "C", "D"],
                            "date": pa.array([dt.date(2024, 1, 2)] * 4, pa.date32()),
                            "revenue": [1.0, 2.0, float("nan"), float("-inf")],
                        }
                    )
                ),
            )
        },
        rows={"transactions": 4},
        rejects=(
            ("transactions", 2, "customer_id", "missing customer_id"),
            ("transactions", 3, "revenue", "not a finite number"),
            ("transactions", 4, "revenue", "not a finite number"),
        ),
    ),
    Case(
        # pandas writes integer ids with a gap as floats: 1001.0 is id "1001", NaN is no id
        "parquet_float_ids_with_nan",
        {
            "transactions": (
                "tx.parquet",
                _parquet(
                    pa.table(
                        {
                            "customer_id": [1001.0, float("nan"), 12.5, float("inf")],
                            "date": pa.array([dt.date(2024, 1, 2)] * 4, pa.date32()),
                            "revenue": [1.0, 2.0, 3.0, 4.0],
                        }
                    )
                ),
            )
        },
        rows={"transactions": 4},
        rejects=(
            ("transactions", 2, "customer_id", "missing customer_id"),
            ("transactions", 4, "customer_id", "missing customer_id"),
        ),
        check=_check_revenue({"1001": 1.0, "12.5": 3.0}),
    ),
    Case(
        "latin1_with_accents",
        {
            "transactions": ("tx.csv", TX_OK),
            "customers": (
                "customers.csv",
                "customer_id;name;city\nA;Müller Gärtnerei;Zürich\n"
                "B;Société Générale;Besançon\n".encode("latin-1"),
            ),
        },
        rows={"transactions": 2, "customers": 2},
        check=_check_accented_names,
    ),
    Case(
        "byte_order_mark",
        {
            "transactions": ("tx.csv", ("\ufeff" + TX_OK).encode("utf-8")),
            "customers": ("customers.csv", "\ufeffcustomer_id,name\nA,Åsa Öberg\nB,Zoë\n"),
        },
        rows={"transactions": 2, "customers": 2},
        check=_check_bom,
    ),
    Case(
        "cp1252_euro_amounts",
        {
            "transactions": (
                "tx.csv",
                "customer_id;date;revenue\nA;02.01.2024;12,50 €\nB;03.01.2024;1.234,00 €\n".encode(
                    "cp1252"
                ),
            )
        },
        rows={"transactions": 2},
        check=_check_revenue({"A": 12.5, "B": 1234.0}),
    ),
    Case(
        "extremely_long_strings",
        {
            "transactions": ("tx.csv", TX_OK + f"{LONG},2024-01-04,5\n"),
            "customers": ("customers.csv", f"customer_id,name\nA,{LONG}\n{LONG},Long Id Ltd\n"),
        },
        rows={"transactions": 3, "customers": 2},
        rejects=(
            ("transactions", 4, "customer_id", "longer than 200 characters"),
            ("customers", 3, "customer_id", "longer than 200 characters"),
        ),
        check=_check_long_name_kept,
    ),
    Case(
        "unknown_customer_ids_in_activities",
        {
            "transactions": ("tx.csv", TX_OK),
            "activities": (
                "act.csv",
                "customer_id,date,type\nA,2024-01-02,Visit\n"
                "ZZZ,2024-01-02,call\n,2024-01-02,call\nB,2024-01-02,\n",
            ),
        },
        rows={"transactions": 2, "activities": 4},
        rejects=(
            ("activities", 3, "customer_id", "customer_id not found"),
            ("activities", 4, "customer_id", "missing customer_id"),
            ("activities", 5, "type", "missing type"),
        ),
    ),
    Case(
        "ragged_rows",
        {
            "transactions": (
                "tx.csv",
                H + "A,2024-01-02,1\nB,2024-01-02\nC,2024-01-02,3,extra\nD,2024-01-02,4\n",
            )
        },
        rows={"transactions": 4},
        rejects=(
            ("transactions", 3, None, "expected 3 fields, found 2"),
            ("transactions", 4, None, "expected 3 fields, found 4"),
        ),
    ),
    Case(
        "blank_lines",
        {"transactions": ("tx.csv", (H + "A,2024-01-02,1\r\n\r\n,,\r\n   \r\nB,2024-01-02,2\r\n"))},
        rows={"transactions": 5},
        rejects=tuple(("transactions", r, None, "blank line") for r in (3, 4, 5)),
    ),
    Case(
        "european_comma_decimals",
        {
            "transactions": (
                "tx.csv",
                "customer_id;date;revenue\nA;02.01.2024;1.234,50\n"
                "B;03.01.2024;10,25\nB;04.01.2024;-0,25\n",
            )
        },
        rows={"transactions": 3},
        check=_check_revenue({"A": 1234.5, "B": 10.0}),
    ),
    Case(
        "quoted_newlines",
        {
            "transactions": ("tx.csv", TX_OK),
            "customers": (
                "customers.csv",
                'customer_id,name,city\nA,"Acme GmbH\nWerk 2",Köln\nB,"Beta, ""the"" firm",Bonn\n',
            ),
        },
        rows={"transactions": 2, "customers": 2},
        check=_check_multiline_name,
    ),
    Case(
        "duplicate_customer_ids_in_master",
        {
            "transactions": ("tx.csv", TX_OK),
            "customers": ("customers.csv", "customer_id,name\nA,Acme\nB,Beta\nA,Acme again\n"),
        },
        rows={"transactions": 2, "customers": 3},
        rejects=(("customers", 4, "customer_id", "duplicate customer_id (first at row 2)"),),
    ),
    Case(
        "payments_with_unparseable_due_dates",
        {
            "transactions": ("tx.csv", TX_OK),
            "payments": (
                "pay.csv",
                "invoice_id,customer_id,due_date,paid_date,amount\n"
                "I1,A,2024-02-01,2024-02-03,10\nI2,B,soon,,20\nI3,A,,,5\n"
                "I4,B,2024-02-01,never,5\nI1,A,2024-03-01,,1\n",
            ),
        },
        rows={"transactions": 2, "payments": 5},
        rejects=(
            ("payments", 3, "due_date", "not a date"),
            ("payments", 4, "due_date", "missing due_date"),
            ("payments", 5, "paid_date", "not a date"),
            ("payments", 6, "invoice_id", "duplicate invoice_id (first at row 2)"),
        ),
    ),
    Case(
        "negative_and_zero_quantities_are_returns",
        {
            "transactions": (
                "tx.csv",
                "customer_id,date,revenue,quantity\nA,2024-01-02,10,1\n"
                "A,2024-01-03,-4,-1\nB,2024-01-03,0,0\n",
            )
        },
        rows={"transactions": 3},
        check=_check_returns,
    ),
    Case(
        "missing_customer_ids",
        {"transactions": ("tx.csv", H + "A,2024-01-02,1\n,2024-01-02,2\n   ,2024-01-02,3\n")},
        rows={"transactions": 3},
        rejects=(
            ("transactions", 3, "customer_id", "missing customer_id"),
            ("transactions", 4, "customer_id", "missing customer_id"),
        ),
    ),
    Case(
        "duplicate_lines_when_configured",
        {"transactions": ("tx.csv", H + "A,2024-01-02,1\nA,2024-01-02,1\nA,2024-01-02,1\n")},
        config="[validate]\ndrop_duplicate_lines = true\n",
        rows={"transactions": 3},
        rejects=(
            ("transactions", 3, None, "duplicate of an earlier identical line (row 2)"),
            ("transactions", 4, None, "duplicate of an earlier identical line (row 2)"),
        ),
        check=_check_revenue({"A": 1.0}),
    ),
    Case(
        "unreadable_return_flag",
        {
            "transactions": (
                "tx.csv",
                "customer_id,date,revenue,is_return\nA,2024-01-02,1,no\n"
                "A,2024-01-03,2,maybe\nA,2024-01-04,3,YES\n",
            )
        },
        rows={"transactions": 3},
        rejects=(("transactions", 3, "is_return", "not true/false"),),
    ),
    Case(
        "excel_with_blank_and_text_rows",
        {
            "transactions": (
                "tx.xlsx",
                _xlsx(
                    [
                        ["customer_id", "date", "revenue"],
                        ["A", dt.datetime(2024, 1, 2), 10],
                        [None, None, None],
                        ["B", "2024-01-03", "lots"],
                        [1001, "03.01.2024", 2.5],
                    ]
                ),
            )
        },
        rows={"transactions": 4},
        rejects=(
            # an empty row of the sheet, as a CSV file's blank line
            ("transactions", 3, None, "blank line"),
            ("transactions", 4, "revenue", "not a number"),
        ),
        check=_check_revenue({"A": 10.0, "1001": 2.5}),
    ),
    Case(
        # the defect: 7.125 read as 7125 (a thousands group) beside 12.5 in the same column
        "semicolon_file_with_dot_decimals",
        {
            "transactions": (
                "tx.csv",
                "customer_id;date;revenue\nA;2024-01-02;7.125\nB;2024-01-02;12.5\n"
                "B;2024-01-03;1.250\n",
            )
        },
        rows={"transactions": 3},
        check=_check_revenue({"A": 7.125, "B": 13.75}),
    ),
    Case(
        "underscore_and_bad_grouping_in_amounts",
        {
            "transactions": (
                "tx.csv",
                H + 'A,2024-01-02,1_000\nB,2024-01-02,"1,23.5"\n' + "C,2024-01-02,5\n",
            )
        },
        rows={"transactions": 3},
        rejects=(
            ("transactions", 2, "revenue", '"_" is not a digit separator'),
            ("transactions", 3, "revenue", "revenue is not a number"),
        ),
        check=_check_revenue({"C": 5.0}),
    ),
    Case(
        # the defect: a return flagged but written +30 was added (130 instead of 70)
        "return_flag_with_a_positive_amount",
        {
            "transactions": (
                "tx.csv",
                "customer_id,date,revenue,quantity,is_return\n"
                "A,2024-01-02,100,2,no\nA,2024-01-05,30,1,yes\n",
            )
        },
        rows={"transactions": 2},
        check=_check_revenue({"A": 70.0}),
    ),
    Case(
        # the defect: every order of an ERP numbering orders CO-… became a cancellation
        "orders_numbered_co_are_not_cancellations",
        {
            "transactions": (
                "tx.csv",
                "customer_id,date,revenue,order_id\nA,2024-01-02,10,CO-1001\n"
                "A,2024-02-02,10,CO-1002\nB,2024-01-03,20,CO-1003\n",
            )
        },
        rows={"transactions": 3},
        check=_check_orders({"A": 2, "B": 1}),
    ),
    Case(
        "unit_price_times_quantity_without_a_revenue_column",
        {
            "transactions": (
                "tx.csv",
                "customer_id,date,Preis,Menge\nA,2024-01-02,2.5,4\nB,2024-01-02,3,\n",
            )
        },
        config='[transactions.columns]\nunit_price = "Preis"\nquantity = "Menge"\n',
        rows={"transactions": 2},
        rejects=(("transactions", 3, "Menge", "missing quantity (revenue is unit_price"),),
        check=_check_revenue({"A": 10.0}),
    ),
    Case(
        "two_digit_years_and_dates_that_do_not_exist",
        {
            "transactions": (
                "tx.csv",
                H + "A,15.3.24,1\nB,31.02.2024,2\nC,03.01.2099,3\nD,2024-01-02,4\n",
            )
        },
        rows={"transactions": 4},
        rejects=(
            ("transactions", 2, "date", "two-digit year"),
            ("transactions", 3, "date", "no such date"),
            ("transactions", 4, "date", "date in the future"),
        ),
        # rejects.csv shows each value as the file had it, not the parsed date
        check=_check_values({2: "15.3.24", 3: "31.02.2024", 4: "03.01.2099"}),
    ),
    Case(
        # the defect: a NUL byte inside an id made a new customer "C00\0 00004"
        "nul_byte_inside_a_customer_id",
        {"transactions": ("tx.csv", TX_OK.encode() + b"C00\x00 00004,2024-01-04,5\n")},
        rows={"transactions": 3},
        rejects=(("transactions", 4, "customer_id", "control character"),),
        check=_check_revenue({"A": 10.0, "B": 20.0}),
    ),
    Case(
        # the defect: one Windows-1252 line garbled every name of a UTF-8 file ("MÃ¼ller")
        "one_windows_line_in_a_utf8_customer_file",
        {
            "transactions": ("tx.csv", TX_OK),
            "customers": (
                "customers.csv",
                "customer_id;name;city\nA;Müller Gärtnerei;Zürich\n".encode()
                + "B;Société Générale;Besançon\n".encode("cp1252"),
            ),
        },
        rows={"transactions": 2, "customers": 2},
        check=_check_accented_names,
    ),
    Case(
        # the defect: one unreadable optional value rejected the whole customer record, so
        # the customer lost its name, region and segment
        "customer_master_with_unreadable_optional_values",
        {
            "transactions": ("tx.csv", TX_OK),
            "customers": (
                "customers.csv",
                "customer_id;name;region;employees;payment_terms_days\n"
                "A;Alpha GmbH;North;ca. 50;30\nB;Beta AG;South;120;Net 30\n",
            ),
        },
        rows={"transactions": 2, "customers": 2},
        check=_check_all(
            _check_emptied(
                {
                    ("customers", 2, "employees"): "ca. 50",
                    ("customers", 3, "payment_terms_days"): "Net 30",
                }
            ),
            _check_warning("customers.csv", "column 'employees'", "row 2, 'ca. 50'"),
            _check_warning("column 'payment_terms_days'", "emptied_values.csv"),
            _check_master({"A": ("Alpha GmbH", "North", ""), "B": ("Beta AG", "South", "120")}),
        ),
    ),
    Case(
        # the defect: an activity after the last transaction was listed as 2024-02-01
        "activity_after_the_analysis_date_shown_as_written",
        {
            "transactions": ("tx.csv", "customer_id;date;revenue\nA;02.01.2024;1.234,50\n"),
            "activities": (
                "act.csv",
                "customer_id;date;type\nA;01.02.2024;visit\nA;01.01.2024;call\n",
            ),
        },
        rows={"transactions": 1, "activities": 2},
        rejects=(("activities", 2, "date", "after the analysis date 2024-01-02"),),
        check=_check_values({2: "01.02.2024"}, "activities"),
    ),
    Case(
        # the defect: one value out of its range rejected the whole customer record
        "customers_with_impossible_coordinates_and_terms",
        {
            "transactions": ("tx.csv", TX_OK),
            "customers": (
                "customers.csv",
                "customer_id,lat,lon,payment_terms_days,employees\nA,999,8.5,30,10\n"
                "B,48.1,-200,30,10\nC,48.1,11.6,-30,10\nD,48.1,11.6,30,-5\nE,48.1,11.6,30,10\n",
            ),
        },
        rows={"transactions": 2, "customers": 5},
        check=_check_all(
            _check_emptied(
                {
                    ("customers", 2, "lat"): "999",
                    ("customers", 3, "lon"): "-200",
                    ("customers", 4, "payment_terms_days"): "-30",
                    ("customers", 5, "employees"): "-5",
                }
            ),
            _check_warning(
                "customers.csv: 1 value of column 'lat' was out of range and was emptied",
                "row 2, '999': lat is outside -90 to 90 degrees",
            ),
            _check_warning("column 'employees'", "emptied_values.csv"),
        ),
    ),
    Case(
        # the defect: a negative cost raised a customer's net profit by 20,000; such a value
        # is emptied, the activity costed at its pool's rate
        "activities_with_negative_cost_or_duration",
        {
            "transactions": ("tx.csv", TX_OK),
            "activities": (
                "act.csv",
                "customer_id,date,type,duration_minutes,cost\nA,2024-01-02,visit,60,-20000\n"
                "A,2024-01-03,call,-15,5\nB,2024-01-03,call,5000,5\nB,2024-01-03,call,10,5\n",
            ),
        },
        rows={"transactions": 2, "activities": 4},
        check=_check_all(
            _check_emptied(
                {
                    ("activities", 2, "cost"): "-20000",
                    ("activities", 3, "duration_minutes"): "-15",
                    ("activities", 4, "duration_minutes"): "5000",
                }
            ),
            _check_warning("column 'cost'", "cost is negative"),
            _check_warning(
                "2 values of column 'duration_minutes' were out of range and were emptied",
                "row 3, '-15': duration_minutes is negative",
            ),
        ),
    ),
    Case(
        "payments_paid_in_2099_or_years_before_due",
        {
            "transactions": ("tx.csv", TX_OK),
            "payments": (
                "pay.csv",
                "invoice_id,customer_id,due_date,paid_date,amount\n"
                "I1,A,2024-02-01,2099-02-03,10\nI2,B,2024-02-01,2018-02-01,20\n"
                "I3,A,2024-02-01,2024-01-15,5\n",
            ),
        },
        rows={"transactions": 2, "payments": 3},
        rejects=(
            ("payments", 2, "paid_date", "paid_date is in the future"),
            ("payments", 3, "paid_date", "days before due_date"),
        ),
        check=_check_values({2: "2099-02-03", 3: "2018-02-01"}, "payments"),
    ),
    Case(
        "prospects_with_bad_ids_and_coordinates",
        {
            "transactions": ("tx.csv", TX_OK),
            "prospects": (
                "prospects.csv",
                b"customer_id,name,lat\nP1,Alpha,48.1\nP1,Alpha again,48.1\n"
                b"P\x002,Beta,48.1\nP3,Gamma,-91\n",
            ),
        },
        rows={"transactions": 2, "prospects": 4},
        rejects=(
            ("prospects", 3, "customer_id", "duplicate customer_id (first at row 2)"),
            ("prospects", 4, "customer_id", "control character"),
        ),
        check=_check_emptied({("prospects", 5, "lat"): "-91"}),
    ),
    Case(
        "reps_with_zero_or_negative_hours",
        {
            "transactions": ("tx.csv", TX_OK),
            "reps": (
                "reps.csv",
                "rep_id,role,hours_per_year\nR1,field,1600\nR2,inside,0\nR3,field,-40\n"
                "R4,field,9000\n",
            ),
        },
        rows={"transactions": 2, "reps": 4},
        rejects=(
            ("reps", 3, "hours_per_year", "zero or negative"),
            ("reps", 4, "hours_per_year", "zero or negative"),
            ("reps", 5, "hours_per_year", "max_rep_hours_per_year"),
        ),
    ),
    Case(
        # the defect: with every rep rejected the plan was made without any limit on hours
        "reps_every_row_rejected",
        {
            "transactions": ("tx.csv", TX_OK),
            "reps": ("reps.csv", "rep_id,role,hours_per_year\nr1,field,-5\nr2,field,0\n"),
        },
        error=("no usable rep row (2 rows read)", "zero or negative", "leave --reps out"),
        error_file="reps",
    ),
    Case(
        # the defect: a market row with no key was counted used, then dropped
        "market_rows_without_a_key_or_repeated",
        {
            "transactions": ("tx.csv", TX_OK),
            "market": (
                "market.csv",
                "industry,region,market_size,growth_rate\nRetail,North,1000,0.02\n"
                ",,500,0.01\nRetail,North,2000,0.03\nFood,,800,-1.5\n",
            ),
        },
        rows={"transactions": 2, "market": 4},
        rejects=(
            ("market", 3, "industry", "no industry and no region"),
            ("market", 4, "industry", "first at row 2"),
        ),
        check=_check_emptied({("market", 5, "growth_rate"): "-1.5"}),
    ),
    Case(
        # 5 meant 5%: read as 500% a year, it inflated every wallet; -5 meant -5%. Either
        # value is emptied, its row kept, as any optional value out of its range
        "market_growth_rate_a_percentage_without_its_sign",
        {
            "transactions": ("tx.csv", TX_OK),
            "market": (
                "market.csv",
                "industry,region,market_size,growth_rate\nRetail,North,1000,0.02\n"
                "Food,North,800,5\nFood,South,900,1\nWood,North,700,-5\n",
            ),
        },
        rows={"transactions": 2, "market": 4},
        check=_check_all(
            _check_emptied({("market", 3, "growth_rate"): "5", ("market", 5, "growth_rate"): "-5"}),
            _check_emptied_reasons(
                {
                    ("market", 3, "growth_rate"): "growth_rate is above 1 (100% a year): it is "
                    "a fraction, write 0.035 or 3.5% for 3.5%",
                    ("market", 5, "growth_rate"): "growth_rate is -1 or below (-100% a year): "
                    "it is a fraction, write -0.035 or -3.5% for -3.5%",
                }
            ),
            _check_warning(
                "market.csv: 2 values of column 'growth_rate' were out of range and were "
                "emptied, their rows kept (first: row 3, '5': growth_rate is above 1 (100% a "
                "year): it is a fraction, write 0.035 or 3.5% for 3.5%)",
                "emptied_values.csv",
            ),
            _check_no_warning("looks like percentages"),
        ),
    ),
    Case(
        "market_growth_rates_mostly_percentages_without_the_sign",
        {
            "transactions": ("tx.csv", TX_OK),
            "market": (
                "market.csv",
                "industry,region,market_size,Growth\nRetail,North,1000,3.5\n"
                "Food,North,800,4.74\nFood,South,700,0.4\n",
            ),
        },
        config='[market.columns]\ngrowth_rate = "Growth"\n',
        rows={"transactions": 2, "market": 3},
        check=_check_all(
            _check_emptied({("market", 2, "Growth"): "3.5", ("market", 3, "Growth"): "4.74"}),
            _check_warning(
                "market.csv: 2 values of column 'Growth' (read as growth_rate) were out of "
                "range and were emptied",
                "it is a fraction, write 0.035 or 3.5% for 3.5%",
            ),
            _check_warning(
                "market.csv: column 'Growth': 2 of 3 growth rates are above 1 (100% a year; "
                "emptied, their rows kept)",
                "looks like percentages written without the % sign",
                "the other value is read as a fraction (0.4 as 40% a year)",
            ),
        ),
    ),
    Case(
        # "0.5" among "3.5%" values may mean 0.5% as well as 50% a year: read as a fraction,
        # and said so
        "market_growth_rates_with_and_without_the_percent_sign",
        {
            "transactions": ("tx.csv", TX_OK),
            "market": (
                "market.csv",
                "industry,region,market_size,growth_rate\nRetail,North,1000,3.5%\n"
                "Food,North,800,2 %\nFood,South,700,0.5\n",
            ),
        },
        rows={"transactions": 2, "market": 3},
        check=_check_warning(
            "market.csv: column 'growth_rate' mixes values with a % sign (2 values) and "
            "without one (1 value): those without are read as fractions (0.5 as 50%",
        ),
    ),
    Case(
        # a young company's export: its "12-month" figures are of 4 months, and said so
        "transactions_of_four_months_only",
        {
            "transactions": (
                "tx.csv",
                H + "A,2024-01-05,10\nB,2024-02-03,20\nA,2024-03-10,5\nB,2024-05-02,7\n",
            )
        },
        rows={"transactions": 4},
        check=_check_warning(
            "the transactions go back 4 months only (the first purchase on 2024-01-05): "
            "revenue_12m and the figures of the last 12 months ([features] recent_months)"
        ),
    ),
    Case(
        # a stage reading the market found an empty table and blamed its columns
        "market_every_row_rejected",
        {
            "transactions": ("tx.csv", TX_OK),
            "market": (
                "market.csv",
                "industry,region,market_size,growth_rate\n,,1000,0.025\n"
                "industry,region,market_size,growth_rate\n,,900,0.01\n",
            ),
        },
        rows={"transactions": 2, "market": 3},
        rejects=(
            ("market", 2, "industry", "no industry and no region"),
            ("market", 3, "industry", "the column names again"),
            ("market", 4, "industry", "no industry and no region"),
        ),
        check=_check_warning(
            "market: every row of ",
            "market.csv was rejected (3 rows), so the run goes on without it: the market row "
            "has no industry and no region (its key) (2 rows, first at row 2)",
            "the column names again",
            "rejects.csv lists every row",
        ),
    ),
    Case(
        "customer_master_with_a_header_only",
        {
            "transactions": ("tx.csv", TX_OK),
            "customers": ("customers.csv", "customer_id,name,industry\n"),
        },
        rows={"transactions": 2, "customers": 0},
        check=_check_all(
            _check_warning(
                "customers: the customer master ",
                "customers.csv is empty (a header, no data rows)",
            ),
            _check_accounts_skipped("the customer master ", "customers.csv has no rows"),
            _check_warning("potential skipped: the customer master ", "has no row to use"),
        ),
    ),
    Case(
        "customer_master_with_every_row_rejected",
        {
            "transactions": ("tx.csv", TX_OK),
            "customers": ("customers.csv", "customer_id,name\n,Acme\n,Beta\n"),
        },
        rows={"transactions": 2, "customers": 2},
        rejects=(
            ("customers", 2, "customer_id", "missing customer_id"),
            ("customers", 3, "customer_id", "missing customer_id"),
        ),
        check=_check_accounts_skipped(
            "every row of the customer master ",
            "customers.csv was rejected (2 rows; rejects.csv lists why)",
        ),
    ),
    Case(
        # a Parquet file has column names but no header line: "no rows", not CSV's words
        "customer_master_as_an_empty_parquet_file",
        {
            "transactions": ("tx.csv", TX_OK),
            "customers": (
                "customers.parquet",
                _parquet(pa.table({"customer_id": pa.array([], pa.string())})),
            ),
        },
        rows={"transactions": 2, "customers": 0},
        check=_check_all(
            _check_warning(
                "customers: the customer master ", "customers.parquet is empty (no rows)"
            ),
            _check_no_warning("header"),
        ),
    ),
    Case(
        "sheet_set_for_a_csv_file",
        {"transactions": ("tx.csv", TX_OK)},
        config='[transactions]\nsheet = "Invoices"\n',
        rows={"transactions": 2},
        check=_check_warning(
            "tx.csv: [transactions] sheet = 'Invoices' names a sheet, but the file is not a "
            "workbook (CSV)",
        ),
    ),
    Case(
        "excel_formula_without_a_stored_value",
        {
            "transactions": (
                "tx.xlsx",
                _xlsx(
                    [
                        ["customer_id", "date", "revenue"],
                        ["A", "2024-01-02", 10],
                        ["B", "2024-01-03", "=C2*2"],
                    ]
                ),
            )
        },
        rows={"transactions": 2},
        rejects=(("transactions", 3, "revenue", "formula without a stored value"),),
    ),
    Case(
        "rows_after_the_analysis_date",
        {"transactions": ("tx.csv", TX_OK + "A,2024-03-01,5\n")},
        args=("--as-of", "2024-01-31"),
        rows={"transactions": 3},
        rejects=(("transactions", 4, "date", "after the analysis date 2024-01-31"),),
    ),
    Case(
        # without --as-of the analysis date is the last transaction's: a visit logged
        # after it is no part of the analysis and is rejected, not said used
        "activities_after_the_last_transaction",
        {
            "transactions": ("tx.csv", TX_OK),
            "activities": (
                "act.csv",
                "customer_id,Datum,type\nA,2024-01-02,visit\nB,2024-01-04,call\n",
            ),
        },
        config='[activities.columns]\ndate = "Datum"\n',
        rows={"transactions": 2, "activities": 2},
        rejects=(
            (
                "activities",
                3,
                "Datum",
                "after the analysis date 2024-01-03, the last transaction date (give --as-of",
            ),
        ),
    ),
    Case(
        # the defect: the returns table below the sales was read as more sales, its "amount"
        # as revenue
        "excel_sheet_with_a_second_table_below_the_first",
        {
            "transactions": (
                "tx.xlsx",
                _xlsx(
                    [
                        ["customer_id", "date", "revenue"],
                        ["A", "2024-01-02", 10],
                        ["B", "2024-01-03", 20],
                        [],
                        ["Returns"],
                        ["customer_id", "date", "amount"],
                        ["A", "2024-01-05", 3],
                    ]
                ),
            )
        },
        error=(
            "row 6, column 'revenue': row 6 holds column names ('customer_id', 'date') "
            "that are not row 1's: a second table starts there",
            "put each table on a sheet of its own and set [transactions] sheet",
        ),
    ),
    Case(
        # the defect: a second table whose header puts the customers elsewhere ("date" over
        # the first table's customer ids) ran on, its rows rejected for their dates
        "excel_sheet_with_a_second_table_keyed_elsewhere",
        {
            "transactions": (
                "tx.xlsx",
                _xlsx(
                    [
                        ["customer_id", "date", "revenue"],
                        ["A", "2024-01-02", 10],
                        ["B", "2024-01-03", 20],
                        [],
                        ["Returns"],
                        ["date", "customer_id", "amount"],
                        ["2024-01-05", "A", 3],
                    ]
                ),
            )
        },
        error=(
            "row 6, column 'customer_id': row 6 holds column names ('date', 'customer_id') "
            "that are not row 1's: a second table starts there",
            "put each table on a sheet of its own and set [transactions] sheet",
        ),
    ),
    Case(
        # the defect: DuckDB's own words ("Conversion Error: Unimplemented type for cast"),
        # naming no file
        "parquet_with_a_list_column_read_as_revenue",
        {
            "transactions": (
                "tx.parquet",
                _parquet(
                    pa.table(
                        {
                            "customer_id": ["A", "B"],
                            "date": ["2024-01-02", "2024-01-03"],
                            "revenue": pa.array([[10.0], [20.0]]),
                        }
                    )
                ),
            )
        },
        error=("column 'revenue': the column holds lists", "write the column as plain values"),
    ),
    Case(
        # a nested column the run does not read is left aside
        "parquet_with_a_nested_column_not_read",
        {
            "transactions": (
                "tx.parquet",
                _parquet(
                    pa.table(
                        {
                            "customer_id": ["A", "B"],
                            "date": ["2024-01-02", "2024-01-03"],
                            "revenue": [10.0, 20.0],
                            "tags": pa.array([["x"], []]),
                            "address": pa.array([{"city": "Ulm"}, {"city": "Bern"}]),
                        }
                    )
                ),
            )
        },
        rows={"transactions": 2},
    ),
    Case(
        # the defect: `cat jan.csv feb.csv` of two exports with a byte-order mark each: the
        # second header was rejected as "date is not a date"
        "two_exports_with_a_byte_order_mark_each_appended",
        {"transactions": ("tx.csv", "\ufeff" + TX_OK + "\ufeff" + H + "C,2024-01-04,30\n")},
        rows={"transactions": 4},
        rejects=(("transactions", 4, "customer_id", "the column names again"),),
    ),
    Case(
        # the defect: the returns below the sales, under column names of their own, were
        # read as more sales, their amount as revenue
        "csv_file_with_a_second_table_below_the_first",
        {
            "transactions": (
                "tx.csv",
                TX_OK + "\nReturns,,\ncustomer_id,date,amount\nA,2024-01-05,3\n",
            )
        },
        error=(
            "row 6, column 'revenue': row 6 holds column names other than the header's (the "
            "column 'revenue' holds 'amount' there): a second table",
            "give each table a file of its own",
        ),
    ),
    Case(
        # the defect: a second table whose header puts the customers elsewhere ("date" over
        # the first table's customer ids) was read on, its rows under the first's names
        "csv_file_with_a_second_table_keyed_elsewhere",
        {
            "transactions": (
                "tx.csv",
                TX_OK + "\nReturns,,\nDate,Customer_ID,Amount\n2024-01-05,A,3\n",
            )
        },
        error=(
            "row 6, column 'customer_id': row 6 holds column names other than the header's "
            "(the column 'customer_id' holds 'Date' there): a second table",
            "give each table a file of its own",
        ),
    ),
    Case(
        # the defect: so was one whose header leaves the customers out
        "csv_file_with_a_second_table_without_the_key",
        {
            "transactions": (
                "tx.csv",
                "customer_id,date,revenue,order_id\nA,2024-01-02,10,O1\nB,2024-01-03,20,O2\n"
                "\nReturns,,,\n,order_id,date,revenue\n,O1,2024-01-05,3\n",
            ),
        },
        error=(
            "row 6, column 'date': row 6 holds column names other than the header's (the "
            "column 'date' holds 'order_id' there): a second table",
            "give each table a file of its own",
        ),
    ),
    Case(
        # a private customer (no company) whose preferred contact and lead source are
        # values that are also names of columns is a customer, not a second table's header
        "a_csv_customer_without_a_company_whose_values_are_column_names_is_data",
        {
            "transactions": ("tx.csv", TX_OK),
            "customers": (
                "customers.csv",
                "customer_id,Company,Name,Email,Phone,Preferred Contact,Lead Source\n"
                "A,Acme GmbH,Max Muster,max@acme.de,+49 1,Phone,Website\n"
                "B,,Jane Doe,,,Email,Phone\n"
                "C,,Name,,,phone,email\n",
            ),
        },
        config='[customers]\nextra_columns = ["Preferred Contact", "Lead Source"]\n',
        rows={"transactions": 2, "customers": 3},
    ),
    Case(
        # a customer whose city and region hold the placeholders "city" and "region" (a
        # form's defaults, as CRM data keeps them) is a customer, not a second table's
        # header: the run stopped on it; so in a workbook ("City", "Region")
        "a_row_whose_values_are_column_names_is_data_when_it_has_an_id",
        {
            "transactions": ("tx.csv", TX_OK),
            "customers": (
                "customers.csv",
                "customer_id,name,city,region\nA,Acme,Ulm,South\nB,Gamma,city,region\n",
            ),
        },
        rows={"transactions": 2, "customers": 2},
    ),
    Case(
        "a_workbook_row_whose_values_are_column_names_is_data_when_it_has_an_id",
        {
            "transactions": ("tx.csv", TX_OK),
            "customers": (
                "customers.xlsx",
                _xlsx(
                    [
                        ["customer_id", "name", "city", "region"],
                        ["A", "Acme", "Ulm", "South"],
                        ["B", "Gamma", "City", "Region"],
                    ],
                    sheet="Customers",
                ),
            ),
        },
        rows={"transactions": 2, "customers": 2},
    ),
    Case(
        # a header repeated at a page break that holds a name twice (read as "Amount
        # (column 3)") is the header again, rejected as such: the run stopped on it
        "a_repeated_header_holding_a_name_twice_is_the_header_again",
        {
            "transactions": (
                "tx.csv",
                "customer_id,date,Amount,Amount\nA,2024-01-02,10,12\n"
                "customer_id,date,Amount,Amount\nB,2024-01-03,20,24\n",
            )
        },
        config='[transactions.columns]\nrevenue = "Amount (column 3)"\n',
        rows={"transactions": 3},
        rejects=(("transactions", 3, "customer_id", "the column names again"),),
    ),
    Case(
        # a filter hid the credit notes: they are read, as a CSV export of the sheet would
        # hold them, and the run says so (it said nothing)
        "excel_rows_hidden_by_a_filter",
        {
            "transactions": (
                "tx.xlsx",
                _xlsx_hiding(
                    [
                        ["customer_id", "date", "revenue"],
                        ["A", "2024-01-02", 10],
                        ["B", "2024-01-03", 20],
                        ["B", "2024-01-04", -20],
                    ],
                    hidden=[4],
                ),
            )
        },
        rows={"transactions": 3},
        check=_check_warning(
            "tx.xlsx: 1 row of data is hidden in the sheet (row 4: a filter, or rows hidden "
            "by hand) and is read as any other row",
            "[transactions] exclude_rows",
        ),
    ),
    Case(
        # hidden rows that exclude_rows leaves out are decided: the warning names only the
        # hidden row still read (row 3), where it named row 4 too
        "excel_hidden_rows_left_out_by_exclude_rows",
        {
            "transactions": (
                "tx.xlsx",
                _xlsx_hiding(
                    [
                        ["customer_id", "date", "revenue", "Status"],
                        ["A", "2024-01-02", 10, "Paid"],
                        ["B", "2024-01-03", 20, "Paid"],
                        ["B", "2024-01-04", 30, " VOID "],
                    ],
                    hidden=[3, 4],
                ),
            )
        },
        config='[transactions]\nexclude_rows = {status = ["Void"]}\n',
        rows={"transactions": 3},
        rejects=(("transactions", 4, "Status", "left out by [transactions] exclude_rows"),),
        check=_check_warning(
            "tx.xlsx: 1 row of data is hidden in the sheet (row 3: a filter, or rows hidden "
            "by hand) and is read as any other row"
        ),
    ),
    Case(
        # every hidden row left out by keep_rows: no warning of hidden rows
        "excel_hidden_rows_not_kept_by_keep_rows",
        {
            "transactions": (
                "tx.xlsx",
                _xlsx_hiding(
                    [
                        ["customer_id", "date", "revenue", "Status"],
                        ["A", "2024-01-02", 10, "Paid"],
                        ["B", "2024-01-03", 20, None],
                        ["B", "2024-01-04", 30, "Draft"],
                    ],
                    hidden=[3, 4],
                ),
            )
        },
        config='[transactions]\nkeep_rows = {Status = ["paid"]}\n',
        rows={"transactions": 3},
        rejects=(
            ("transactions", 3, "Status", "not kept by [transactions] keep_rows"),
            ("transactions", 4, "Status", "not kept by [transactions] keep_rows"),
        ),
        check=_check_no_warning("hidden in the sheet"),
    ),
    Case(
        # the defect: a date column of plain day numbers in a workbook of the 1904 date
        # system was read as counted from 1899-12-30, every date 4 years and a day early
        "excel_1904_date_system_with_dates_as_day_numbers",
        {
            "transactions": (
                "tx.xlsx",
                _xlsx_1904(
                    [["customer_id", "date", "revenue"], ["A", 43831, 10], ["B", 43832, 20]]
                ),
            )
        },
        rows={"transactions": 2},
        check=_check_first_purchase({"A": "2024-01-02", "B": "2024-01-03"}),
    ),
]


def _write(path: Path, content: Content) -> None:
    if callable(content):
        content(path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))


def _setup(case: Case, tmp_path: Path) -> tuple[list[str], dict[str, Path], Path | None]:
    data = tmp_path / "data"
    data.mkdir()
    paths = {}
    args = ["run"]
    for name, (filename, content) in case.files.items():
        paths[name] = data / filename
        _write(paths[name], content)
        args += [f"--{name}", str(paths[name])]
    for filename, content in case.others.items():
        paths[filename] = data / filename
        _write(paths[filename], content)
    config = None
    if case.config is not None:
        config = tmp_path / "tierwise.toml"
        config.write_text(case.config, encoding="utf-8")
        args += ["--config", str(config)]
    return [*args, *case.args], paths, config


def test_the_corpus_is_big_enough():
    assert len(CASES) >= 20
    assert len({c.id for c in CASES}) == len(CASES)
    assert sum(1 for c in CASES if c.error) >= 10
    assert sum(1 for c in CASES if not c.error) >= 10


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_a_clear_error_or_a_reasoned_reject(case, tmp_path, tierwise_cli):
    args, paths, config = _setup(case, tmp_path)
    run = tierwise_cli(*args)
    assert "Traceback" not in run.output
    assert "unexpected" not in run.output, run.output
    if case.error:
        assert run.exit_code == 1, run.output
        lines = [ln for ln in run.output.splitlines() if ln.strip()]
        assert lines and all(ln.startswith("error: ") for ln in lines), run.output
        where = config if case.error_file == "config" else paths[case.error_file or "transactions"]
        assert where is not None
        assert any(where.name in ln for ln in lines), run.output
        for text in case.error:
            assert any(text in ln for ln in lines), (text, run.output)
        assert not run.out_dir.exists()
        return
    assert run.exit_code == 0, run.output
    inputs = run.manifest["inputs"]
    assert set(inputs) == set(case.files)
    assert {r[0] for r in case.rejects} <= set(case.files)
    rejects = run.rejects
    for name, acc in inputs.items():
        assert acc["rows_read"] == acc["rows_used"] + acc["rows_rejected"], name
        assert acc["rows_read"] == case.rows[name], name
        mine = [r for r in rejects if r["table"] == name]
        assert len(mine) == acc["rows_rejected"], name
        assert all(r["file"] == str(paths[name]) and r["row"] and r["reason"] for r in mine)
    got = {(r["table"], int(r["row"]), r["column"] or None): r["reason"] for r in rejects}
    for table, row, column, reason in case.rejects:
        assert (table, row, column) in got, (table, row, column, rejects)
        assert reason in got[(table, row, column)]
    assert len(rejects) == len(case.rejects), rejects
    if case.check is not None:
        case.check(run)


def test_the_corpus_covers_every_input_table():
    from tierwise.settings import INPUT_TABLES

    finished = {name for c in CASES if not c.error for name in c.files}
    rejected = {r[0] for c in CASES for r in c.rejects}
    assert finished == set(INPUT_TABLES)
    assert rejected == set(INPUT_TABLES)


def test_a_pipe_as_input_is_read(tmp_path, tierwise_cli):
    # `tierwise run --transactions <(cat invoices.csv)` hands over a pipe, readable once
    import os
    import threading

    fifo = tmp_path / "fd63"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as f:
            f.write(TX_OK.encode())

    writer = threading.Thread(target=feed)
    writer.start()
    run = tierwise_cli("run", "--transactions", fifo)
    writer.join(timeout=30)
    assert run.exit_code == 0, run.output
    assert run.manifest["inputs"]["transactions"]["rows_used"] == 2


def test_unknown_option_is_a_usage_error(tmp_path, tierwise_cli):
    tx = tmp_path / "tx.csv"
    tx.write_text(TX_OK, encoding="utf-8")
    run = tierwise_cli("run", "--transactions", tx, "--transacshuns", tx)
    assert run.exit_code == 2
    assert "No such option: --transacshuns" in run.output
    assert "Traceback" not in run.output
    assert not run.out_dir.exists()


def test_a_bad_date_on_the_command_line_is_a_usage_error(tmp_path, tierwise_cli):
    tx = tmp_path / "tx.csv"
    tx.write_text(TX_OK, encoding="utf-8")
    run = tierwise_cli("run", "--transactions", tx, "--as-of", "31/01/2024")
    assert run.exit_code == 2
    assert "use YYYY-MM-DD" in run.output


def _tierwise_as_a_user(*args: str | Path) -> tuple[int, str]:
    """``tierwise`` run in a new process that file permissions apply to: as it is, or, when
    the tests run as root (who reads and writes any file), through setpriv without the
    capabilities that override permissions. Skips where setpriv cannot drop them; under
    CI (``CI`` set, as .ci/run does) that is a failure, so that CI never passes by
    skipping the permission tests."""
    import os
    import shutil
    import subprocess
    import sys

    import tierwise

    cmd = [sys.executable, "-c", "from tierwise.cli import main; main()", *map(str, args)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        drop = "-dac_override,-dac_read_search"
        prefix = [str(setpriv), f"--bounding-set={drop}", f"--inh-caps={drop}"]
        if setpriv is None or subprocess.run([*prefix, "true"], check=False).returncode:
            reason = "root reads any file, and setpriv cannot drop that power here"
            if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
                pytest.fail(f"CI is set but {reason}")
            pytest.skip(reason)
        cmd = [*prefix, *cmd]
    src = str(Path(tierwise.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("ci", ["1", ""])
def test_the_permission_tests_fail_under_ci_where_root_keeps_its_power(ci, monkeypatch):
    import os
    import shutil

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises((pytest.fail.Exception, pytest.skip.Exception)) as stopped:
        _tierwise_as_a_user("--version")
    assert stopped.type is (pytest.fail.Exception if ci else pytest.skip.Exception)


@pytest.mark.parametrize(
    "kind", ["csv", "xlsx", "parquet", "folder", "in_a_locked_folder", "glob_in_a_locked_folder"]
)
def test_an_unreadable_input_says_to_give_read_access(kind, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    given = None
    if kind == "csv":
        locked = data / "tx.csv"
        locked.write_text(TX_OK, encoding="utf-8")
    elif kind in ("in_a_locked_folder", "glob_in_a_locked_folder"):
        locked = data / "inbox"
        locked.mkdir()
        (locked / "tx.csv").write_text(TX_OK, encoding="utf-8")
        given = locked / ("tx.csv" if kind == "in_a_locked_folder" else "*.parquet")
    elif kind == "xlsx":
        locked = data / "tx.xlsx"
        _xlsx([["customer_id", "date", "revenue"], ["A", "2024-01-02", 10]])(locked)
    elif kind == "parquet":
        locked = data / "tx.parquet"
        pq.write_table(pa.table({"customer_id": ["A"], "revenue": [10]}), locked)
    else:
        locked = data / "lake"
        locked.mkdir()
        pq.write_table(pa.table({"customer_id": ["A"], "revenue": [10]}), locked / "a.parquet")
    given = given or locked
    locked.chmod(0)
    try:
        code, out = _tierwise_as_a_user("run", "--transactions", given, "--out", tmp_path / "o")
    finally:
        locked.chmod(0o700)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert code == 1, out
    assert len(lines) == 1 and lines[0].startswith(f"error: {given}: "), out
    assert "permission denied" in lines[0]
    if given == locked:
        assert "give the user running tierwise read access" in lines[0]
    else:
        assert "give the user running tierwise access to the folders on its path" in lines[0]
    # Excel may hold a workbook or CSV file it has open locked, not a Parquet file
    assert ("open in Excel" in lines[0]) == (kind in ("csv", "xlsx")), out
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("locked", "given", "mode"),
    [
        ("year=2023", "lake", 0),
        ("year=2024/b.parquet", "lake", 0),
        ("year=2023", "lake/**/*.parquet", 0),
        ("year=2023", "lake/year=*/*.parquet", 0),
        # a folder that may be read but not entered: a glob lists its files, cannot open them
        ("year=2023", "lake/year=*/*.parquet", 0o444),
        ("year=2024/b.parquet", "lake/*/*.parquet", 0),
    ],
)
def test_an_unreadable_part_of_a_parquet_folder_stops_the_run(locked, given, mode, tmp_path):
    # a partition folder or file the user may not read: its rows would be left out, or the
    # file called damaged
    lake = tmp_path / "lake"
    for part, who in [("year=2023/a.parquet", "A"), ("year=2024/a.parquet", "B")]:
        (lake / part).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            pa.table({"customer_id": [who], "date": ["2024-01-02"], "revenue": [10]}),
            lake / part,
        )
    pq.write_table(
        pa.table({"customer_id": ["C"], "date": ["2024-01-03"], "revenue": [5]}),
        lake / "year=2024/b.parquet",
    )
    (lake / locked).chmod(mode)
    try:
        code, out = _tierwise_as_a_user(
            "run", "--transactions", tmp_path / given, "--out", tmp_path / "o"
        )
    finally:
        (lake / locked).chmod(0o700)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert code == 1, out
    assert len(lines) == 1, out
    assert lines[0].startswith(
        f"error: {tmp_path / given}: tierwise cannot read {locked} inside it: permission denied"
    ), out
    assert "give the user running tierwise read access to it" in lines[0]
    assert not (tmp_path / "o").exists()


def test_an_unwritable_output_folder_says_to_give_write_access(tmp_path):
    tx = tmp_path / "tx.csv"
    tx.write_text(TX_OK, encoding="utf-8")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, out = _tierwise_as_a_user("run", "--transactions", tx, "--out", locked / "out")
    finally:
        locked.chmod(0o700)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert code == 1, out
    assert len(lines) == 1 and str(locked) in lines[0], out
    assert "give the user running tierwise write access" in lines[0]
