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


def _xlsx(rows: list[list], sheet: str = "Invoices") -> Callable[[Path], None]:
    def write(path: Path) -> None:
        import openpyxl

        wb = openpyxl.Workbook()
        wb.active.title = sheet
        for r in rows:
            wb.active.append(r)
        wb.save(path)

    return write


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
        error=("row 1", "column 'revenue'", "appears twice", "rename one"),
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
        "parquet_that_is_really_text",
        {"transactions": ("tx.parquet", TX_OK)},
        error=("not a readable Parquet file",),
    ),
    Case(
        "duckdb_file_without_the_table",
        {"transactions": ("erp.duckdb", _duckdb("CREATE TABLE invoices AS SELECT 1 AS x"))},
        error=("no table 'transactions'", "set [transactions] table to one of: invoices"),
    ),
    Case("old_xls_file", {"transactions": ("tx.xls", b"\xd0\xcf\x11\xe0junk")}, error=(".xls",)),
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
        "second_input_empty",
        {"transactions": ("tx.csv", TX_OK), "customers": ("customers.csv", b"")},
        error=("empty",),
        error_file="customers",
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
                'D,2024-01-02,12.50 EUR\nE,2024-01-02,"1,234.50"\n',
            )
        },
        rows={"transactions": 5},
        rejects=(
            ("transactions", 2, "revenue", "revenue is not a number"),
            # the column reads with "." (1,234.50): 12,50 is rejected, never read as 1250
            ("transactions", 4, "revenue", 'not a number with "." as decimal separator'),
            ("transactions", 5, "revenue", "revenue is not a number"),
        ),
        check=_check_revenue({"B": 12.0, "E": 1234.5}),
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
            ("transactions", 4, "date", "date in the future"),
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
            ("transactions", 3, "customer_id", "missing customer_id"),
            ("transactions", 4, "revenue", "not a number"),
        ),
        check=_check_revenue({"A": 10.0, "1001": 2.5}),
    ),
    Case(
        "rows_after_the_analysis_date",
        {"transactions": ("tx.csv", TX_OK + "A,2024-03-01,5\n")},
        args=("--as-of", "2024-01-31"),
        rows={"transactions": 3},
        rejects=(("transactions", 4, "date", "after the analysis date 2024-01-31"),),
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
