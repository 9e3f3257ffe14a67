"""``tierwise init FILE… | DIR``: each file given without its input is taken for the input its
columns and name fit (tierwise.settings._which)."""

from __future__ import annotations

import random
import tomllib
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.errors import InputError, SettingsError
from tierwise.settings import load_settings
from tierwise.settings._which import named_inputs, sort_files
from tierwise.settings.template import init_settings

runner = CliRunner()


def _lines(n: int, seed: int = 1) -> list[tuple[str, str, str, int, str]]:
    rng = random.Random(seed)
    return [
        (
            f"K{rng.randint(1, 30)}",
            f"{rng.randint(10, 28)}.0{rng.randint(1, 9)}.2024",
            f"A{rng.randint(1, 9)}",
            rng.randint(1, 5),
            f"{rng.randint(10, 999)},{rng.randint(10, 99)}",
        )
        for _ in range(n)
    ]


def _invoices(path: Path, n: int = 300, seed: int = 1) -> Path:
    rows = "".join(";".join(map(str, r)) + "\n" for r in _lines(n, seed))
    path.write_text("Kundennr;Rechnungsdatum;Artikel;Menge;Umsatz\n" + rows, encoding="utf-8")
    return path


def _customers(path: Path) -> Path:
    rows = "".join(f"K{i};Firma {i} GmbH;Köln;Bau\n" for i in range(1, 31))
    path.write_text("Kundennr;Name;Ort;Branche\n" + rows, encoding="utf-8")
    return path


def _visits(path: Path) -> Path:
    rng = random.Random(2)
    rows = "".join(
        f"K{rng.randint(1, 30)};{rng.randint(10, 28)}.0{rng.randint(1, 9)}.2024;Besuch;V1\n"
        for _ in range(60)
    )
    path.write_text("Kundennr;Datum;Art;Vertreter\n" + rows, encoding="utf-8")
    return path


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """A folder of one company's exports, named as a user names them."""
    d = tmp_path / "exports"
    d.mkdir()
    _invoices(d / "Export_2024.csv")
    _customers(d / "Kunden.csv")
    _visits(d / "Besuche.csv")
    (d / "notes.txt").write_text("call Anna about the price list\n", encoding="utf-8")
    (d / "scan.pdf").write_bytes(b"%PDF-1.4")
    (d / "~$Kunden.xlsx").write_bytes(b"lock")  # Excel's lock file of an open workbook
    return d


def test_a_folder_of_exports_is_sorted_into_inputs_by_columns_and_names(exports: Path) -> None:
    found = sort_files([exports])
    assert {k: Path(v).name for k, v in found.inputs.items()} == {
        "transactions": "Export_2024.csv",  # no input in its name: its columns decide
        "customers": "Kunden.csv",
        "activities": "Besuche.csv",
    }
    assert found.why == {
        "transactions": "by its columns",
        "customers": "by its name and its columns",
        "activities": "by its name and its columns",
    }
    left = " | ".join(found.left_out)
    assert "notes.txt: not read (its columns fit no input)" in left
    assert "a file of another kind left out (scan.pdf)" in left
    assert "~$" not in left  # a lock file is no export and not worth a word


def test_init_on_a_folder_writes_settings_a_run_reads(
    exports: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the settings written into the folder of exports itself, the way a user works in it
    monkeypatch.chdir(exports)
    res = runner.invoke(app, ["init", "."])
    assert res.exit_code == 0, res.output
    assert "transactions: Export_2024.csv (by its columns)" in res.output
    assert "customers: Kunden.csv (by its name and its columns)" in res.output
    text = (exports / "tierwise.toml").read_text(encoding="utf-8")
    parsed = tomllib.loads(text)
    assert parsed["transactions"]["path"] == "Export_2024.csv"
    assert parsed["activities"]["columns"]["type"] == "Art"
    assert "taken for the customers by its name and its columns" in text
    settings = load_settings(exports / "tierwise.toml")
    assert settings.customers.path is not None
    res = runner.invoke(app, ["validate"])
    assert res.exit_code == 0, res.output


def test_two_invoice_files_stop_init_naming_both(tmp_path: Path) -> None:
    a = _invoices(tmp_path / "invoices_2023.csv", seed=1)
    b = _invoices(tmp_path / "invoices_2024.csv", seed=2)
    with pytest.raises(SettingsError) as err:
        sort_files([a, b])
    msg = str(err.value)
    assert "invoices_2023.csv" in msg and "invoices_2024.csv" in msg
    assert "both look like the transactions" in msg and "--transactions FILE" in msg


def test_a_list_of_companies_is_prospects_only_by_its_name(tmp_path: Path) -> None:
    tx = _invoices(tmp_path / "sales.csv")
    master = _customers(tmp_path / "customers.csv")
    other = _customers(tmp_path / "list.csv")
    found = sort_files([tx, master, other])
    assert Path(found.inputs["customers"]).name == "customers.csv"
    assert "prospects" not in found.inputs
    # a list of companies not named as prospects: the user is told how to give it as such
    assert any(
        "list.csv: not read (it fits the customers, which another file was taken for; give "
        "it with --prospects if it lists companies that have not bought yet)" in s
        for s in found.left_out
    )
    leads = _customers(tmp_path / "leads.csv")
    found = sort_files([tx, master, leads])
    assert Path(found.inputs["prospects"]).name == "leads.csv"


def test_invoice_lines_are_no_customer_master(tmp_path: Path) -> None:
    """Lines whose customer ids repeat fit the customers' one required column but are no
    list of customers: a second invoice file is not taken for one."""
    tx = _invoices(tmp_path / "export_a.csv", seed=1)
    lines = _invoices(tmp_path / "export_b.csv", seed=3)
    # two files of lines: the one not taken fits only the transactions, which stops init
    with pytest.raises(SettingsError, match="both look like the transactions"):
        sort_files([tx, lines])
    found = sort_files([tx])
    assert list(found.inputs) == ["transactions"]


def test_a_workbook_of_several_sheets_gives_each_sheet_its_input(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Invoices"
    ws.append(["Customer", "Invoice Date", "Product", "Qty", "Amount"])
    for cid, day, product, qty, amount in _lines(80):
        ws.append([cid, day, product, qty, float(amount.replace(",", "."))])
    cs = wb.create_sheet("Customers")
    cs.append(["Customer", "Company Name", "City"])
    for i in range(1, 31):
        cs.append([f"K{i}", f"Firma {i}", "Köln"])
    wb.create_sheet("Read me").append(["Exported from the ERP on 2024-10-01"])
    path = tmp_path / "ERP export.xlsx"
    wb.save(path)
    target = tmp_path / "tierwise.toml"
    result = init_settings(settings_path=target, files=[path])
    parsed = tomllib.loads(result.text)
    assert parsed["transactions"]["sheet"] == "Invoices"
    assert parsed["customers"]["sheet"] == "Customers"
    assert parsed["transactions"]["path"] == parsed["customers"]["path"] == "ERP export.xlsx"
    assert "sheet 'Invoices' of the workbook was taken for the transactions" in result.text
    # a sheet of a workbook that was read is not listed as left out
    assert result.sorted_files is not None and result.sorted_files.left_out == ()
    target.write_text(result.text, encoding="utf-8")
    load_settings(target)


def test_an_input_named_is_kept_and_the_other_files_are_sorted_around_it(
    exports: Path,
) -> None:
    own = _invoices(exports.parent / "my_lines.csv", seed=5)
    found = sort_files([exports], {"transactions": str(own)})
    assert "transactions" not in found.inputs
    # with the transactions given, the export that fits them fits nothing left
    assert Path(found.inputs["customers"]).name == "Kunden.csv"
    assert any(s.startswith(str(exports / "Export_2024.csv")) for s in found.left_out)
    # the named file given again among the loose ones is not sorted twice
    found = sort_files(
        [exports / "Export_2024.csv", exports / "Kunden.csv"],
        {"transactions": str(exports / "Export_2024.csv")},
    )
    assert list(found.inputs) == ["customers"] and found.left_out == ()


def test_a_file_named_that_fits_no_input_stops_init(tmp_path: Path) -> None:
    path = tmp_path / "minutes.csv"
    path.write_text("Topic;Owner\nPrices;Anna\nStock;Ben\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"minutes\.csv: its columns fit no input"):
        sort_files([path])
    with pytest.raises(InputError, match="no such file or folder"):
        sort_files([tmp_path / "missing.csv"])


def test_a_folder_of_parquet_files_is_one_input(tmp_path: Path) -> None:
    lake = tmp_path / "lines"
    lake.mkdir()
    rows = _lines(100)
    for part in range(2):
        chunk = rows[part * 50 : part * 50 + 50]
        pq.write_table(
            pa.table(
                {
                    "customer_id": [r[0] for r in chunk],
                    "date": [f"2024-0{r[1][4]}-{r[1][:2]}" for r in chunk],
                    "revenue": [float(r[4].replace(",", ".")) for r in chunk],
                }
            ),
            lake / f"part-{part}.parquet",
        )
    found = sort_files([lake, _customers(tmp_path / "customers.csv")])
    assert found.inputs["transactions"] == str(lake)


def test_init_never_writes_the_settings_over_a_file_given(tmp_path: Path) -> None:
    tx = _invoices(tmp_path / "sales.csv")
    res = runner.invoke(app, ["init", str(tx), "--out", str(tx), "--force"])
    assert res.exit_code != 0
    assert "is an input given" in res.output
    assert tx.read_text(encoding="utf-8").startswith("Kundennr;")


@pytest.mark.parametrize(
    ("name", "inputs"),
    [
        ("Kundenliste_2024.xlsx", {"customers"}),
        ("sales_reps.csv", {"reps"}),
        ("AR Aging.csv", {"payments"}),
        ("Offene Posten.xlsx", {"payments"}),
        ("report.csv", set()),  # no rep in a report
        ("Accounting export.csv", set()),  # no account in accounting
        ("Sales by Customer Detail.csv", {"transactions", "customers"}),  # left to the columns
        ("hubspot-deals.csv", {"transactions"}),
        ("Interessenten.csv", {"prospects"}),
        ("customer_visits.csv", {"activities"}),
        # people, not the companies that buy: left to the columns beside companies.csv
        ("hubspot-contacts.csv", set()),
    ],
)
def test_a_files_name_names_its_input(name: str, inputs: set[str]) -> None:
    assert named_inputs(name) == inputs


def _plain_invoices(path: Path, seed: int = 1) -> Path:
    rng = random.Random(seed)
    rows = "".join(
        f"INV{n},2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)},C{rng.randint(1, 25)},"
        f"{rng.randint(10, 900)}.{rng.randint(10, 99)},Rep {rng.randint(1, 3)}\n"
        for n in range(200)
    )
    path.write_text("invoice_no,invoice_date,customer_no,net_amount,sales_rep\n" + rows)
    return path


def _plain_customers(path: Path, repeat: int = 1) -> Path:
    rows = "".join(f"C{i},Company {i} Ltd,Leeds\n" for i in range(1, 26) for _ in range(repeat))
    path.write_text("customer_no,name,city\n" + rows)
    return path


@pytest.mark.parametrize(
    ("invoices", "customers"),
    [
        # a word of another input inside a longer word names nothing
        ("Amazon Marketplace Orders.csv", "customers.csv"),
        ("commercial_invoices.csv", "clients.csv"),
        ("export.csv", "Industrial Customers.csv"),
        ("Rechnungen.csv", "terminated_customers.csv"),
    ],
)
def test_a_word_inside_a_longer_word_does_not_send_a_file_to_another_input(
    tmp_path: Path, invoices: str, customers: str
) -> None:
    tx = _plain_invoices(tmp_path / invoices)
    cust = _plain_customers(tmp_path / customers)
    found = sort_files([tmp_path])
    assert found.inputs == {"transactions": str(tx), "customers": str(cust)}


def test_a_file_that_fits_comes_before_one_only_named_like_the_input(tmp_path: Path) -> None:
    _plain_customers(tmp_path / "Salesforce Accounts.csv")
    contacts = tmp_path / "Sales Contacts.csv"  # named like sales, holding no sale
    contacts.write_text(
        "Contact ID,Account ID,Name,Email\n"
        + "".join(f"P{i},C{i % 9},Person {i},p{i}@x.com\n" for i in range(40))
    )
    tx = _plain_invoices(tmp_path / "export_q1.csv")
    found = sort_files([tmp_path])
    assert found.inputs["transactions"] == str(tx)
    assert found.why["transactions"] == "by its columns"


def test_a_file_named_like_the_market_is_taken_only_where_it_fits(tmp_path: Path) -> None:
    _plain_invoices(tmp_path / "invoices.csv")
    _plain_customers(tmp_path / "customers.csv")
    (tmp_path / "Market_Campaigns.csv").write_text(
        "campaign,channel,spend,start\nSpring,email,1200,2024-03-01\n"
    )
    found = sort_files([tmp_path])
    assert "market" not in found.inputs
    assert any("Market_Campaigns.csv: not read" in s for s in found.left_out)


def test_a_customer_list_whose_ids_repeat_says_so(tmp_path: Path) -> None:
    _plain_invoices(tmp_path / "invoices.csv")
    cust = _plain_customers(tmp_path / "customers.csv", repeat=2)  # a row per ship-to
    found = sort_files([tmp_path])
    # named so and no other file fits: taken, with what is wrong with it
    assert found.inputs["customers"] == str(cust)
    assert found.why["customers"] == (
        "by its name, though its customer ids repeat, where a list of companies has one row each"
    )


def test_a_report_of_totals_by_customer_is_no_customer_master(tmp_path: Path) -> None:
    tx = _plain_invoices(tmp_path / "invoices.csv")
    cust = _plain_customers(tmp_path / "customers.csv")
    (tmp_path / "revenue_by_customer.csv").write_text(
        "customer_no,total_revenue\n" + "".join(f"C{i},{i * 100}.5\n" for i in range(1, 26))
    )
    found = sort_files([tmp_path])
    assert found.inputs == {"transactions": str(tx), "customers": str(cust)}
    left = " | ".join(found.left_out)
    assert (
        "revenue_by_customer.csv: not read (named like the customers, but it holds no name" in left
    )


def test_the_other_sheets_that_fit_are_said_or_stop_init(tmp_path: Path) -> None:
    def workbook(name: str, sheets: list[str]) -> Path:
        wb = openpyxl.Workbook()
        first = wb.active
        assert first is not None
        wb.remove(first)
        for title in sheets:
            ws = wb.create_sheet(title)
            if title == "Customers":
                ws.append(["customer_no", "name", "city"])
                for i in range(1, 26):
                    ws.append([f"C{i}", f"Company {i}", "Leeds"])
            elif title == "Notes":
                ws.append(["Exported on 2024-10-01"])
            else:
                ws.append(["invoice_no", "invoice_date", "customer_no", "net_amount"])
                for n, (_, _, _, qty, _) in enumerate(_lines(40, seed=len(title))):
                    ws.append([f"I{n}", f"2024-03-{10 + qty}", f"C{n % 25 + 1}", 10.0 * qty])
        path = tmp_path / name
        wb.save(path)
        return path

    two_years = workbook("Sales.xlsx", ["Invoices 2023", "Invoices 2024", "Customers"])
    with pytest.raises(SettingsError, match=r"sheet 'Invoices 2023' and .*sheet 'Invoices 2024'"):
        sort_files([two_years])
    # a sheet of credit notes beside the invoices: one sheet is read per input
    book = workbook("Sales 2024.xlsx", ["Invoices", "Credit notes", "Customers", "Notes"])
    with pytest.raises(SettingsError, match=r"set \[transactions\] sheet to the one to read"):
        sort_files([book])
    # a sheet not named as an input that fits one is said to be left out
    book = workbook("Export.xlsx", ["Invoices", "Lines 2", "Customers", "Notes"])
    found = sort_files([book])
    assert found.sheets == {"transactions": "Invoices", "customers": "Customers"}
    left = " | ".join(found.left_out)
    assert "sheet 'Lines 2': not read (it fits the transactions" in left
    assert "Notes" not in left  # a sheet that fits nothing beside those read


def test_a_folders_folders_are_a_lake_or_said_to_be_left_out(tmp_path: Path) -> None:
    d = tmp_path / "exports"
    (d / "sales_lake").mkdir(parents=True)
    (d / "archive").mkdir()
    _plain_invoices(d / "archive" / "old.csv")
    pq.write_table(
        pa.table(
            {
                "customer_id": ["C1", "C1", "C2"],
                "date": ["2024-01-02"] * 3,
                "revenue": [1.0, 2.0, 3.0],
            }
        ),
        d / "sales_lake" / "part-0.parquet",
    )
    _plain_customers(d / "customers.csv")
    found = sort_files([d])
    assert found.inputs["transactions"] == str(d / "sales_lake")
    assert f"{d}: folder 'archive' not looked in (give a folder's files)" in found.left_out


def test_a_folder_where_nothing_fits_stops_init(tmp_path: Path) -> None:
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "hubspot-export.zip").write_bytes(b"PK\x03\x04")
    with pytest.raises(SettingsError, match="no file given fits an input") as err:
        sort_files([tmp_path])
    assert "unzip an archive of several files first" in str(err.value)


def test_a_file_left_out_for_an_input_given_says_so(tmp_path: Path) -> None:
    a = _plain_invoices(tmp_path / "invoices_2023.csv", seed=1)
    b = _plain_invoices(tmp_path / "invoices_2024.csv", seed=2)
    found = sort_files([tmp_path], {"transactions": str(b)})
    assert f"{a}: not read (it fits the transactions, given with --transactions)" in found.left_out


def test_a_file_given_twice_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _plain_invoices(tmp_path / "invoices.csv")
    found = sort_files(["invoices.csv", str(tmp_path / "invoices.csv"), "invoices.csv"])
    assert found.inputs == {"transactions": "invoices.csv"} and found.left_out == ()


def test_a_long_list_of_files_not_read_is_cut_short_on_screen(tmp_path: Path) -> None:
    _plain_invoices(tmp_path / "invoices.csv")
    for n in range(10):
        (tmp_path / f"memo_{n}.csv").write_text("Topic;Owner\nPrices;Anna\n")
    result = init_settings(settings_path=tmp_path / "tierwise.toml", files=[tmp_path])
    assert result.sorted_files is not None and len(result.sorted_files.left_out) == 10
    said = [line for line in result.hint.splitlines() if "memo_" in line]
    assert len(said) == 7
    assert "  … and 3 more not read" in result.hint.splitlines()
