"""``tierwise init`` on exports that name no buyer (Amazon's All Orders report), hold a
second table part-way down (returns appended under their own column names), list several
companies on one deal (HubSpot's Associated Company IDs), and on the exports of Magento,
BigCommerce, PrestaShop, Lightspeed, Dynamics 365 Sales, FreshBooks, Wave, MYOB, Zoho,
Odoo, Sage 50 and the French FEC.

Each test writes a few rows as the named system writes them and checks what init says or
maps where it misread the real export.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from tierwise.io.sample import read_sample
from tierwise.settings import load_settings
from tierwise.settings._guess import TableGuess, guess_table
from tierwise.settings.template import init_settings


def _guess(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> TableGuess:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return guess_table("transactions", read_sample(path, name="transactions"))


def _flat(text: str) -> str:
    """The settings text as one line, comment marks left out (a wrapped note read whole)."""
    return " ".join(w for ln in text.splitlines() for w in ln.removeprefix("#").split())


def _init(tmp_path: Path, name: str, text: str) -> tuple[str, dict[str, object]]:
    """The settings init writes for a transactions file of the given text, loaded back as
    the run loads them; the text and the parsed TOML."""
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    settings = tmp_path / "tierwise.toml"
    result = init_settings({"transactions": path}, settings_path=settings)
    settings.write_text(result.text, encoding="utf-8")
    load_settings(settings)  # every proposal is a setting the run reads
    return result.text, tomllib.loads(result.text)


# -- a file that names no buyer ---------------------------------------------------------------


def _amazon_all_orders() -> str:
    """Amazon Seller Central's All Orders report (tab-separated): no buyer in it."""
    rows = [
        "amazon-order-id\tpurchase-date\torder-status\tship-service-level\tproduct-name\t"
        "sku\tasin\tquantity\tcurrency\titem-price\tship-city"
    ]
    for o in range(24):
        rows.append(
            f"111-{3456789 + o * 7:07d}-{1234567 + o * 13:07d}\t"
            f"2024-02-{o % 28 + 1:02d}T10:10:05+00:00\tShipped\t"
            f"{'Expedited' if o % 3 == 0 else 'Standard'}\tWidget {o % 3}\tWID-{o % 3}\t"
            f"B07XJ8C8F{o % 3}\t{1 + o % 2}\tUSD\t{24.99 * (1 + o % 2):.2f}\t"
            f"{['SEATTLE', 'Austin', 'Denver'][o % 3]}"
        )
    return "\n".join(rows) + "\n"


def test_a_file_that_names_no_buyer_says_so_rather_than_suggesting_columns(
    tmp_path: Path,
) -> None:
    g = _guess(tmp_path, "All Orders 2024-02.txt", _amazon_all_orders())
    missing = dict(g.missing)
    assert "customer_id" not in g.mapping()
    note = missing["customer_id"]
    assert note.startswith("the file names no buyer")
    assert "buyer-email" in note and "could be" not in note
    assert "ship-service-level" not in note


def test_columns_named_by_their_place_are_still_suggested_by_their_values(
    tmp_path: Path,
) -> None:
    # a file without a header's names: its columns are named by their place, and values
    # alone can point at the customer
    rows = ["column_1,column_2,Date,Amount"]
    for i in range(12):
        rows.append(f"K{i % 4},P{i % 3},2024-01-{i + 1:02d},{10 + i}.50")
    g = _guess(tmp_path, "export.csv", "\n".join(rows) + "\n")
    assert dict(g.missing)["customer_id"] == "by their values it could be 'column_1' or 'column_2'"


# -- a second table part-way down -------------------------------------------------------------


def _sales_then_returns(returns_header: str) -> str:
    rows = ["Customer,Invoice Date,Product,Qty,Amount"]
    for i in range(10):
        rows.append(f"C{i % 3},2024-01-{i + 1:02d},P{i % 4},{i % 3 + 1},{10 * (i % 3 + 1)}.00")
    rows.append(returns_header)
    rows.append("C1,2024-01-20,P1,1,10.00" + ",broken" * returns_header.count(",Reason"))
    return "\n".join(rows) + "\n"


def test_a_second_table_part_way_down_a_csv_file_is_named_by_its_line(tmp_path: Path) -> None:
    text, _ = _init(
        tmp_path, "sales.csv", _sales_then_returns("Customer,Return Date,Product,Qty,Refund")
    )
    flat = _flat(text)
    assert "line 12 holds column names other than the header's ('Customer', 'Return Date'" in flat
    assert "a second table, or an export with other columns appended to the first" in flat
    assert "the run stops at it" in flat


def test_an_export_with_other_columns_appended_is_named_by_its_line(tmp_path: Path) -> None:
    header = "Customer,Return Date,Product,Qty,Refund,Reason"
    text, _ = _init(tmp_path, "sales.csv", _sales_then_returns(header))
    flat = _flat(text)
    assert "line 12 holds column names other than the header's" in flat
    assert "the run rejects its lines, which hold another number of fields" in flat


def test_a_row_of_data_holding_column_names_is_no_second_table(tmp_path: Path) -> None:
    # a customer whose product and quantity cells hold placeholders that happen to be
    # column names: its first column holds a value, as a row of data does
    text, _ = _init(tmp_path, "sales.csv", _sales_then_returns("C9,2024-01-19,Product,Qty,5"))
    assert "second table" not in _flat(text)


def test_a_second_table_on_a_sheet_is_named_by_its_row(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Customer", "Invoice Date", "Product", "Qty", "Amount"])
    for i in range(6):
        ws.append([f"C{i % 3}", f"2024-01-{i + 1:02d}", f"P{i % 2}", 1, 10.0])
    ws.append([])
    ws.append(["Customer", "Return Date", "Product", "Qty", "Refund"])
    ws.append(["C1", "2024-01-20", "P1", 1, 10.0])
    path = tmp_path / "sales.xlsx"
    wb.save(path)
    g = guess_table("transactions", read_sample(path, name="transactions"))
    assert any(n.startswith("row 9 of the sheet holds column names other") for n in g.notes)


# -- several customers in one value -----------------------------------------------------------


def _hubspot_deals(ids: list[str]) -> str:
    rows = ["Record ID,Deal Name,Deal Stage,Close Date,Amount,Associated Company IDs"]
    for i in range(12):
        rows.append(
            f"{15000000000 + i},Deal {i},Closed Won,2024-01-{i + 1:02d} 17:00,"
            f"{1000 + 10 * i},{ids[i % len(ids)]}"
        )
    return "\n".join(rows) + "\n"


def test_several_company_ids_on_a_deal_are_noted(tmp_path: Path) -> None:
    g = _guess(tmp_path, "deals.csv", _hubspot_deals(["9876543210", "9876543211;9876543212"]))
    assert g.mapping()["customer_id"] == "Associated Company IDs"
    note = next(n for n in g.notes if "several ids" in n)
    assert "separated by ';' on 6 of 12 sampled rows ('9876543211;9876543212')" in note
    assert "one customer of its own" in note


def test_several_ids_in_a_quoted_value_or_separated_by_a_bar_are_noted(tmp_path: Path) -> None:
    g = _guess(tmp_path, "deals.csv", _hubspot_deals(["101", '"102,103"']))
    assert any("separated by ','" in n for n in g.notes)
    g = _guess(tmp_path, "deals.csv", _hubspot_deals(["101", "102|103"]))
    assert any("separated by '|'" in n for n in g.notes)


def test_a_customer_name_with_a_comma_is_one_customer(tmp_path: Path) -> None:
    rows = ["Customer,Date,Amount"]
    for i in range(12):
        name = ['"Smith, John"', '"Acme, Inc."', "Globex"][i % 3]
        rows.append(f"{name},2024-01-{i + 1:02d},{10 + i}")
    g = _guess(tmp_path, "sales.csv", "\n".join(rows) + "\n")
    assert g.mapping()["customer_id"] == "Customer"
    assert not any("several ids" in n for n in g.notes)
