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
    assert any(
        "list.csv: not read (it fits the customers, which another file was taken for)" in s
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
