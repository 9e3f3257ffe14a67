"""``tierwise init`` on exports of ERPs and shops it was tried on later: Odoo, Xero, DATEV,
Lexware, Business Central, NetSuite, Exact, SAP Business One, Shopify, SQL Server.

Each test writes a few rows as the named system writes them and checks the guesses that
went wrong on the real export: a constant ledger account taken for the customer, a
debit/credit flag ignored, timestamps with fractions or a zone read as no dates, a customer
master's generic key, SAP Business One's field names, a shop's order-level columns taken
over its line items, DATEV's format line read as the header, a workbook's notes sheet read
for every input.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tierwise.io.sample import read_sample
from tierwise.settings import load_settings
from tierwise.settings._guess import TableGuess, guess_table, profile
from tierwise.settings.template import init_settings


def _guess(tmp_path: Path, table: str, name: str, text: str, encoding: str = "utf-8") -> TableGuess:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return guess_table(table, read_sample(path, name=table))


def _rows(header: str, make: object, n: int = 30) -> str:
    assert callable(make)
    return header + "\n" + "".join(make(i) + "\n" for i in range(n))


# -- a constant column is no identifier ---------------------------------------------------


def test_a_constant_ledger_account_is_not_the_customer_odoo(tmp_path: Path) -> None:
    text = _rows(
        "Date,Journal Entry,Partner,Partner/ID,Product,Quantity,Account,Debit,Credit,Balance",
        lambda i: (
            f"2024-01-{i % 28 + 1:02d},INV/2024/{i // 3:05d},Firma {i % 7},"
            f"__export__.res_partner_{i % 7},[P{i % 5}] Widget,{i % 9 + 1},"
            f"400000 Product Sales,0.0,{10 + i}.50,-{10 + i}.50"
        ),
    )
    g = _guess(tmp_path, "transactions", "account.move.line.csv", text)
    assert g.mapping()["customer_id"] == "Partner/ID"
    notes = dict(g.unmapped)
    # the account, one of sales, says on which side a sale is booked
    assert "holds the ledger's accounts" in notes["Account"]
    assert g.options["ledger_sale_side"][0] == "credit"
    assert any("('Account': 400000 Product Sales)" in n for n in g.notes)
    # an entry's number is no journal
    assert "journal" not in notes["Journal Entry"]


def test_a_constant_account_code_leaves_the_customer_missing_xero(tmp_path: Path) -> None:
    text = _rows(
        "Date,Source,Reference,Quantity,Unit Price,Total,Account Code",
        lambda i: f"19 Mar 2022,Receivable Invoice,INV{100 + i},{i % 5 + 1},4.50,{i}.00,200",
    )
    g = _guess(tmp_path, "transactions", "Sales_By_Customer_Detail.csv", text)
    assert g.guessed("customer_id") is None
    missing = dict(g.missing)
    assert "'Account Code' reads as it" in missing["customer_id"]
    assert "identifies nothing" in missing["customer_id"]


def test_a_customer_column_repeating_in_a_short_sample_is_still_taken(tmp_path: Path) -> None:
    # three rows of one customer say nothing of the column: too few to call it constant
    text = "Kundennummer;Datum;Umsatz\nK1;02.01.2024;10,5\nK1;03.01.2024;2\nK1;04.01.2024;3\n"
    g = _guess(tmp_path, "transactions", "r.csv", text)
    assert g.mapping()["customer_id"] == "Kundennummer"


# -- a debit/credit flag and a debit/credit pair ------------------------------------------


DATEV = _rows(
    '"Umsatz (ohne Soll/Haben-Kz)";"Soll/Haben-Kennzeichen";"WKZ Umsatz";"Konto";'
    '"Gegenkonto (ohne BU-Schlüssel)";"Belegdatum";"Belegfeld 1";"Buchungstext"',
    lambda i: (
        f'{100 + i},50;"{"H" if i % 6 == 0 else "S"}";"EUR";{10030 + i % 4};8400;'
        f'{i % 28 + 1:02d}.01.2022;"INV{100000 + i}";"Erlöse"'
    ),
)


def test_a_datev_soll_haben_flag_is_is_return_with_h_as_the_credit_note(tmp_path: Path) -> None:
    g = _guess(tmp_path, "transactions", "buchungen.csv", DATEV, "cp1252")
    m = g.mapping()
    assert m["revenue"] == "Umsatz (ohne Soll/Haben-Kz)"
    assert m["is_return"] == "Soll/Haben-Kennzeichen"
    assert g.options["true_values"][0] == ("H",)
    assert g.options["false_values"][0] == ("S",)
    assert any("check which letter marks a credit note" in n for n in g.notes)


def test_a_flag_of_other_letters_is_not_taken_as_debit_credit(tmp_path: Path) -> None:
    text = DATEV.replace('"H"', '"X"')
    g = _guess(tmp_path, "transactions", "buchungen.csv", text, "cp1252")
    assert g.guessed("is_return") is None
    assert "true_values" not in g.options


def test_a_soll_haben_pair_of_amounts_is_mapped_with_a_note_on_the_side_lexware(
    tmp_path: Path,
) -> None:
    text = _rows(
        "Datum;Belegnr.;Kundennr.;Buchungstext;Soll;Haben;Währung",
        lambda i: (
            f"{i % 28 + 1:02d}.01.2022;INV{100000 + i};000{i % 9};Erlöse;"
            + (f";{i},95" if i % 5 == 0 else f"{i},95;")
            + ";EUR"
        ),
    )
    g = _guess(tmp_path, "transactions", "kontoblatt.csv", text, "cp1252")
    m = g.mapping()
    assert (m["debit_amount"], m["credit_amount"]) == ("Soll", "Haben")
    assert "revenue" not in dict(g.missing)
    # nothing in the file says whether the lines are on customers' or revenue accounts
    assert "ledger_sale_side" not in g.options
    note = next(n for n in g.notes if "ledger_sale_side" in n)
    assert "'Soll' and 'Haben'" in note and "Nothing in the sample tells which" in note


def test_a_debit_credit_pair_beside_a_mapped_balance_says_to_check_its_sign(
    tmp_path: Path,
) -> None:
    text = _rows(
        "Date,Partner,Amount,Debit,Credit",
        lambda i: f"2024-01-{i % 28 + 1:02d},Firma {i % 7},{10 + i}.50,0.0,{10 + i}.50",
    )
    g = _guess(tmp_path, "transactions", "odoo.csv", text)
    note = next(n for n in g.notes if "debit and a credit column" in n)
    revenue = g.mapping().get("revenue")
    assert revenue is not None and f"revenue is mapped to {revenue!r}" in note
    assert "map them as debit_amount and credit_amount" in note
    assert "debit_amount" not in g.mapping()


def test_a_debit_credit_pair_beside_a_running_balance_gives_the_revenue_odoo(
    tmp_path: Path,
) -> None:
    # an Odoo partner ledger: the balance is a running total, no line's revenue
    text = _rows(
        "Date,Partner,Debit,Credit,Balance",
        lambda i: f"2024-01-{i % 28 + 1:02d},Firma {i % 7},0.0,{10 + i}.50,-{10 + i}.50",
    )
    g = _guess(tmp_path, "transactions", "odoo.csv", text)
    m = g.mapping()
    assert (m["debit_amount"], m["credit_amount"]) == ("Debit", "Credit")
    assert "revenue" not in m and "revenue" not in dict(g.missing)
    assert dict(g.unmapped)["Balance"] == "not a transactions column"
    # nothing says on which side the partner's sales are: the note names the setting
    assert "ledger_sale_side" not in g.options
    note = next(n for n in g.notes if "ledger_sale_side" in n)
    assert "'Debit' and 'Credit'" in note and "Nothing in the sample tells which" in note
    assert "[transactions] keep_rows" in note


# -- timestamps the run reads -------------------------------------------------------------


def test_timestamps_with_fractions_or_a_zone_are_dates() -> None:
    for values in (
        ["2024-06-19 00:00:00.000", "2024-07-03 00:00:00.000", "2024-07-04 13:05:00.123"],
        ["2024-06-19 10:15:00 -0500", "2024-07-03 10:15:00 -0500", "2024-07-04 09:00:00 +0100"],
    ):
        p = profile(__import__("pyarrow").array(values))
        assert p.date == 1.0, values
        assert "%Y-%m-%d" in p.date_formats


def test_init_leaves_a_time_aside_as_validation_does() -> None:
    from tierwise.settings._guess import TIME_AFTER_DATE
    from tierwise.validate import _TIME_AFTER_DATE

    assert TIME_AFTER_DATE == _TIME_AFTER_DATE


def test_sql_server_and_shopify_timestamps_are_mapped_as_dates(tmp_path: Path) -> None:
    text = _rows(
        "DocNum,DocDate,CardCode,LineTotal,Created at",
        lambda i: (
            f"{1000 + i},2024-06-{i % 28 + 1:02d} 00:00:00.000,C{i % 7:05d},{i}.50,"
            f"2024-06-{i % 28 + 1:02d} 10:15:00 -0500"
        ),
    )
    g = _guess(tmp_path, "transactions", "invoices.csv", text)
    assert g.mapping()["date"] == "DocDate"
    assert not any("not dates" in n for n in g.notes)
    assert "date_format" not in g.options


# -- a customer master's generic key, and more names --------------------------------------


def test_a_business_central_customer_no_is_the_key_not_the_email(tmp_path: Path) -> None:
    text = _rows(
        "No.,Name,Address,City,Post Code,Country/Region Code,Salesperson Code,Phone No.,E-Mail",
        lambda i: (
            f"{i + 1:05d},Firma {i} GmbH,Hauptstr. {i},München,{23000 + i},DE,R0{i % 4},"
            f"+49 30 {1710000 + i},info@firma{i}.de"
        ),
    )
    g = _guess(tmp_path, "customers", "customers.csv", text)
    m = g.mapping()
    assert m["customer_id"] == "No."
    assert m["email"] == "E-Mail"
    assert m["postcode"] == "Post Code"
    assert m["country"] == "Country/Region Code"
    assert not g.missing


def test_netsuite_id_and_exact_code_are_the_customer_key(tmp_path: Path) -> None:
    ns = _rows(
        '"Internal ID","ID","Company Name","Sales Rep","Billing Zip"',
        lambda i: f'"{5000 + i}","CUST{i + 1:05d}","Firma {i}","R0{i % 3}","{66000 + i}"',
    )
    assert _guess(tmp_path, "customers", "ns.csv", ns).mapping()["customer_id"] == "ID"
    exact = _rows(
        "Code;Naam;Plaats;Btw-nummer",
        lambda i: f"{i + 1};Firma {i} B.V.;Köln;NL{i:09d}B01",
    )
    assert _guess(tmp_path, "customers", "exact.csv", exact).mapping()["customer_id"] == "Code"


def test_a_generic_code_whose_values_repeat_is_not_the_customer_key(tmp_path: Path) -> None:
    text = _rows("Code,Name,E-Mail", lambda i: f"G{i % 3},Firma {i},info@firma{i}.de")
    g = _guess(tmp_path, "customers", "c.csv", text)
    assert g.mapping().get("customer_id") != "Code"
    assert "its values repeat" in dict(g.unmapped)["Code"]


def test_sap_business_one_field_names_are_read(tmp_path: Path) -> None:
    lines = _rows(
        "DocNum\tObjType\tDocDate\tCardCode\tCardName\tItemCode\tDscription\tQuantity\tPrice\t"
        "LineTotal\tGrssProfit\tDocCur\tSlpCode",
        lambda i: (
            f"{100001 + i // 3}\t13\t2022-01-{i % 28 + 1:02d} 00:00:00.000\tC{i % 9:05d}\t"
            f"Firma {i % 9} GmbH\tP0{i % 7}\tWidget\t{i % 5 + 1}.0\t4.5\t{i}.5\t1.81\tEUR\t{i % 3}"
        ),
    )
    g = _guess(tmp_path, "transactions", "invoices.txt", lines, "utf-16")
    m = g.mapping()
    assert m["customer_id"] == "CardCode"
    assert m["date"] == "DocDate"
    assert m["order_id"] == "DocNum"
    assert m["revenue"] == "LineTotal"
    assert "GrssProfit" not in m.values()
    master = _rows(
        "CardCode\tCardName\tZipCode\tSlpCode\tLicTradNum",
        lambda i: f"C{i:05d}\tFirma {i} GmbH\t{38000 + i}\t{i % 4}\tDE{100000000 + i}",
    )
    mm = _guess(tmp_path, "customers", "ocrd.txt", master, "utf-16").mapping()
    assert mm["customer_id"] == "CardCode"
    assert mm["name"] == "CardName"
    assert mm["rep_id"] == "SlpCode"
    assert mm["tax_id"] == "LicTradNum"


# -- line-level columns before an order's first-line fields (Shopify) ---------------------


def _shopify_orders() -> str:
    lines = [
        "Name,Email,Total,Created at,Lineitem quantity,Lineitem price,Lineitem sku,Id,"
        "Receipt Number"
    ]
    for order in range(12):
        for line in range(3):
            first = line == 0
            lines.append(
                f"#{1001 + order},"
                + (f"buyer{order}@shop.com,{100 + order}.50," if first else ",,")
                + f"2024-01-{order + 1:02d} 10:00:00 -0500,{line + 1},{9 + line}.90,P{line},"
                + (f"54000{order}," if first else ",")
            )
    return "\n".join(lines) + "\n"


def test_shopify_line_items_win_over_order_totals_on_the_first_line(tmp_path: Path) -> None:
    g = _guess(tmp_path, "transactions", "orders_export_1.csv", _shopify_orders())
    m = g.mapping()
    assert m["order_id"] == "Name"
    assert m["unit_price"] == "Lineitem price"
    assert m["quantity"] == "Lineitem quantity"
    assert m["date"] == "Created at"
    assert "revenue" not in m and not g.missing
    notes = dict(g.unmapped)
    assert "filled on only 12 of 36 sampled rows" in notes["Total"]
    assert "unit_price × quantity" in notes["Total"]
    assert "'Name'" in notes["Id"]
    assert notes["Receipt Number"] == (
        "reads as order_id, but is empty on all 36 sampled rows: order_id is taken as "
        "'Name', order numbers on every line"
    )
    # Email, on each order's first line only: the run takes it from the order's other lines
    value, why = g.options["fill_from_order"]
    assert value == ("Email",) and "by 'Name'" in why


def test_a_shop_export_read_with_inits_settings_keeps_every_line(tmp_path: Path) -> None:
    from tierwise.api import validate

    path = tmp_path / "orders_export_1.csv"
    path.write_text(_shopify_orders(), encoding="utf-8")
    target = tmp_path / "tierwise.toml"
    target.write_text(
        init_settings({"transactions": path}, settings_path=target).text, encoding="utf-8"
    )
    v = validate(str(path), settings=load_settings(target), as_of="2024-12-31")["transactions"]
    # every line of the 12 orders used, each with its order's customer
    assert v.rejects.num_rows == 0 and v.table.num_rows == 36
    rows = v.table.select(["order_id", "customer_id"]).to_pylist()
    assert all(r["customer_id"] == f"buyer{int(r['order_id'][1:]) - 1001}@shop.com" for r in rows)


def test_a_voided_shop_order_is_left_out_with_all_its_lines(tmp_path: Path) -> None:
    from tierwise.api import validate

    # Shopify writes the order's Financial Status on its first line only
    lines = ["Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem price"]
    for order in range(12):
        status = "voided" if order == 4 else "paid"
        for line in range(3):
            first = line == 0
            lines.append(
                f"#{1001 + order},"
                + (f"buyer{order}@shop.com,{status}," if first else ",,")
                + f"2024-01-{order + 1:02d} 10:00:00 -0500,{line + 1},{9 + line}.90"
            )
    path = tmp_path / "orders_export_1.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = tmp_path / "tierwise.toml"
    r = init_settings({"transactions": path}, settings_path=target)
    g = r.tables["transactions"]
    assert g.options["fill_from_order"][0] == ("Email", "Financial Status")
    assert g.options["exclude_rows"][0] == {"Financial Status": ("voided",)}
    target.write_text(r.text, encoding="utf-8")
    v = validate(str(path), settings=load_settings(target), as_of="2024-12-31")["transactions"]
    # the voided order's three lines rejected as voided, the other 33 used
    assert v.table.num_rows == 33
    assert sorted(v.rejects.column("row").to_pylist()) == [14, 15, 16]
    assert set(v.rejects.column("reason").to_pylist()) == {
        "left out by [transactions] exclude_rows (Financial Status: 'voided')"
    }


# -- a stock ledger's quantities (Business Central's Value Entries) ------------------------


def _value_entries() -> str:
    header = (
        "Posting Date;Document Type;Document No.;Item No.;Source No.;Invoiced Quantity;"
        "Sales Amount (Actual);Cost Amount (Actual)"
    )
    # a sale issues goods from stock: its quantity and cost are negative, its amount not;
    # a credit memo the other way round
    lines = [
        f"{i % 28 + 1:02d}.03.2024;Sales Invoice;1030{i:02d};19{i % 6:02d}-S;C1000{i % 7};"
        f"-{i % 5 + 1};{120 + i},50;-{80 + i},25"
        for i in range(30)
    ]
    lines += [
        f"2{i}.04.2024;Sales Credit Memo;1040{i:02d};1900-S;C10001;2;-200,50;140,35"
        for i in range(2)
    ]
    return header + "\n" + "\n".join(lines) + "\n"


def test_a_stock_ledgers_negative_quantity_is_not_mapped_business_central(
    tmp_path: Path,
) -> None:
    from tierwise.api import validate

    path = tmp_path / "Value Entries.csv"
    path.write_text(_value_entries(), encoding="utf-8-sig")
    target = tmp_path / "tierwise.toml"
    r = init_settings({"transactions": path}, settings_path=target)
    g = r.tables["transactions"]
    m = g.mapping()
    assert m["revenue"] == "Sales Amount (Actual)"
    assert m["is_return"] == "Document Type"
    assert "quantity" not in m
    note = dict(g.unmapped)["Invoiced Quantity"]
    assert "negative on 30 of the 30 sampled lines of positive revenue" in note
    assert "reads a negative quantity as a return" in note
    target.write_text(r.text, encoding="utf-8")
    v = validate(str(path), settings=load_settings(target), as_of="2024-12-31")["transactions"]
    # the 30 sales stay sales; the two credit memos are the returns
    assert v.rejects.num_rows == 0
    assert v.table.column("is_return").to_pylist() == [False] * 30 + [True] * 2
    assert all(x > 0 for x in v.table.column("revenue").to_pylist()[:30])


def test_business_centrals_no_on_sales_invoice_lines_is_the_item(tmp_path: Path) -> None:
    text = _rows(
        "Document No.;Line No.;Sell-to Customer No.;Type;No.;Description;Posting Date;"
        "Quantity;Unit Price;Line Amount",
        lambda i: (
            f"1030{i // 2:02d};{10000 * (i % 2 + 1)};{10000 + 10 * (i % 6)};Item;"
            f"19{i % 7:02d}-S;Item {i % 7};{i % 28 + 1:02d}.03.2024;{i % 5 + 1};"
            f"{100 + i},50;{(i % 5 + 1) * (100 + i)},00"
        ),
    )
    g = _guess(tmp_path, "transactions", "Sales Invoice Lines.csv", text)
    m = g.mapping()
    assert m["customer_id"] == "Sell-to Customer No."
    assert m["order_id"] == "Document No."
    assert m["product_id"] == "No."
    pg = g.guessed("product_id")
    assert pg is not None and "the item on the line" in pg.evidence


def test_a_shop_orders_discount_is_counted_once_not_on_each_line(tmp_path: Path) -> None:
    from tierwise.api import validate

    # Shopify writes the order's whole Discount Amount on its first line only
    lines = ["Name,Email,Discount Amount,Created at,Lineitem quantity,Lineitem price"]
    for order in range(12):
        for line in range(3):
            first = line == 0
            lines.append(
                f"#{1001 + order},"
                + (f"buyer{order}@shop.com,{order}.00," if first else ",,")
                + f"2024-01-{order + 1:02d} 10:00:00 -0500,{line + 1},{9 + line}.90"
            )
    path = tmp_path / "orders_export_1.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = tmp_path / "tierwise.toml"
    r = init_settings({"transactions": path}, settings_path=target)
    assert r.tables["transactions"].options["fill_from_order"][0] == ("Email",)
    target.write_text(r.text, encoding="utf-8")
    v = validate(str(path), settings=load_settings(target), as_of="2024-12-31")["transactions"]
    t = v.table
    assert t.num_rows == 36
    # the orders' discounts, 0 + 1 + … + 11 = 66, once each, taken off the lines' prices
    # (Lineitem price is the price before the discount): the part of a discount beyond the
    # order's first line (10 and 11 on 9.90) off the order's other lines
    listed, net = t.column("list_revenue").to_pylist(), t.column("revenue").to_pylist()
    gap = [a - b for a, b in zip(listed, net, strict=True)]
    assert round(sum(gap), 6) == 66.0
    at_list = 12 * sum((line + 1) * (9.9 + line) for line in range(3))
    assert sum(listed) == pytest.approx(at_list) and sum(net) == pytest.approx(at_list - 66)


def test_shopify_financial_statuses_are_read_as_sales_or_not(tmp_path: Path) -> None:
    statuses = ["paid", "expired", "authorized", "partially_refunded", "refunded", "voided"]
    lines = ["Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem price"]
    lines += [
        f"#{1001 + i},buyer{i % 7}@shop.com,{statuses[i % 6]},"
        f"2024-01-{i % 28 + 1:02d} 10:00:00 +0100,{i % 3 + 1},{9 + i}.90"
        for i in range(30)
    ]
    g = _guess(tmp_path, "transactions", "orders_export_1.csv", "\n".join(lines) + "\n")
    assert g.options["exclude_rows"][0] == {"Financial Status": ("expired", "voided")}
    assert g.commented["exclude_rows"][0] == {
        "Financial Status": ("expired", "voided", "authorized", "partially_refunded", "refunded")
    }


# -- DATEV's format line ------------------------------------------------------------------


def test_a_datev_extf_line_gets_header_row_2(tmp_path: Path) -> None:
    extf = '"EXTF";700;21;"Buchungsstapel";13;20250115093000000;;"RE";"Admin";"";12345\n'
    path = tmp_path / "EXTF_Buchungsstapel.csv"
    path.write_bytes((extf + DATEV).encode("cp1252"))
    r = init_settings({"transactions": path}, settings_path=tmp_path / "tierwise.toml")
    g = r.tables["transactions"]
    assert g.options["header_row"][0] == 2
    assert g.mapping()["customer_id"] == "Konto"
    assert g.mapping()["revenue"] == "Umsatz (ohne Soll/Haben-Kz)"
    assert any("DATEV's format line" in n for n in g.notes)
    (tmp_path / "tierwise.toml").write_text(r.text, encoding="utf-8")
    assert load_settings(tmp_path / "tierwise.toml").transactions.header_row == 2


# -- a workbook of several sheets -----------------------------------------------------------


def test_each_input_reads_the_sheet_whose_columns_fit_it(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Hinweise"
    notes["A1"] = "Bitte nur Werte einfügen!"
    kunden = wb.create_sheet("Kunden")
    kunden.append(["Kd.-Nr.", "Firma", "PLZ", "Ort"])
    for i in range(10):
        kunden.append([f"K{i:03d}", f"Firma {i}", f"{50000 + i}", "Köln"])
    sales = wb.create_sheet("Umsätze")
    sales.append(["Kundennummer", "Datum", "Beleg", "Menge", "Betrag"])
    for i in range(30):
        sales.append([f"K{i % 10:03d}", dt.date(2024, 1, i % 28 + 1), f"R{i}", i % 4 + 1, 10.5 + i])
    path = tmp_path / "Umsatzliste.xlsx"
    wb.save(path)
    r = init_settings(
        {"transactions": path, "customers": path}, settings_path=tmp_path / "tierwise.toml"
    )
    t, c = r.tables["transactions"], r.tables["customers"]
    assert t.options["sheet"][0] == "Umsätze"
    assert c.options["sheet"][0] == "Kunden"
    assert t.mapping()["customer_id"] == "Kundennummer" and not t.missing
    assert c.mapping()["customer_id"] == "Kd.-Nr."
    (tmp_path / "tierwise.toml").write_text(r.text, encoding="utf-8")
    s = load_settings(tmp_path / "tierwise.toml")
    assert (s.transactions.sheet, s.customers.sheet) == ("Umsätze", "Kunden")


def test_init_passes_over_a_hidden_sheet_of_the_same_columns(tmp_path: Path) -> None:
    import openpyxl

    # the hidden first sheet holds a few lines of an old export, with the same columns as
    # the visible one: the visible sheet is the data, as Excel shows it
    wb = openpyxl.Workbook()
    old = wb.active
    old.title = "Alt"
    sales = wb.create_sheet("Umsätze")
    for ws, n in ((old, 3), (sales, 30)):
        ws.append(["Kundennummer", "Datum", "Beleg", "Menge", "Betrag"])
        for i in range(n):
            ws.append([f"K{i % 10:03d}", dt.date(2024, 1, i % 28 + 1), f"R{i}", i % 4 + 1, 10.5])
    old.sheet_state = "hidden"
    path = tmp_path / "Umsatzliste.xlsx"
    wb.save(path)
    r = init_settings({"transactions": path}, settings_path=tmp_path / "tierwise.toml")
    t = r.tables["transactions"]
    assert t.options.get("sheet", ("Umsätze",))[0] == "Umsätze"
    assert read_sample(path).table.num_rows == 30


def test_init_never_suggests_a_hidden_sheet_and_names_it_hidden(tmp_path: Path) -> None:
    import openpyxl

    # the hidden sheet has more columns than the visible one: the note names it as hidden
    # and suggests no sheet (the visible one, read, is the data)
    wb = openpyxl.Workbook()
    old = wb.active
    old.title = "Alt"
    old.append(["Kundennummer", "Datum", "Beleg", "Menge", "Betrag", "Filiale", "Notiz"])
    old.append(["K001", dt.date(2020, 1, 2), "R1", 1, 10.5, "Nord", "x"])
    old.sheet_state = "hidden"
    sales = wb.create_sheet("Umsätze")
    sales.append(["Kundennummer", "Datum", "Beleg", "Menge", "Betrag"])
    for i in range(30):
        sales.append([f"K{i % 10:03d}", dt.date(2024, 1, i % 28 + 1), f"R{i}", i % 4 + 1, 10.5])
    path = tmp_path / "Umsatzliste.xlsx"
    wb.save(path)
    notes = read_sample(path, name="transactions").notes
    (note,) = [n for n in notes if "sheets" in n]
    assert "'Alt' (hidden)" in note and "'Umsätze', was read" in note
    assert 'sheet = "Alt"' not in note
    r = init_settings({"transactions": path}, settings_path=tmp_path / "tierwise.toml")
    assert 'sheet = "Alt"' not in r.text and "'Alt' (hidden)" in r.text
    assert r.tables["transactions"].options.get("sheet", ("Umsätze",))[0] == "Umsätze"


def test_init_picks_the_sheet_of_a_workbook_sent_in_a_zip_archive(tmp_path: Path) -> None:
    import zipfile

    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Info"
    wb.active["A1"] = "Export aus dem ERP"
    sales = wb.create_sheet("Umsätze")
    sales.append(["Kundennummer", "Datum", "Beleg", "Menge", "Betrag"])
    for i in range(30):
        sales.append([f"K{i % 10:03d}", dt.date(2024, 1, i % 28 + 1), f"R{i}", i % 4 + 1, 10.5])
    wb.save(tmp_path / "Umsatzliste.xlsx")
    path = tmp_path / "Umsatzliste.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.write(tmp_path / "Umsatzliste.xlsx", "Umsatzliste.xlsx")
    r = init_settings({"transactions": path}, settings_path=tmp_path / "tierwise.toml")
    t = r.tables["transactions"]
    assert t.options["sheet"][0] == "Umsätze"
    assert t.mapping()["customer_id"] == "Kundennummer" and not t.missing


def test_serial_days_among_dates_are_dates_but_alone_are_numbers() -> None:
    import pyarrow as pa

    mixed = ["2022-01-05 00:00:00", "44567", "2022-02-01 00:00:00", "44600", "2022-03-01"]
    assert profile(pa.array(mixed)).date == 1.0
    accounts = ["10036", "10037", "10040", "10036", "10041"]
    assert profile(pa.array(accounts)).date == 0.0


def test_a_column_of_serial_days_with_times_of_day_is_the_date(tmp_path: Path) -> None:
    import pyarrow as pa

    # an Excel date-time column exported unformatted: the day's serial number, its fraction
    # the time of day (45322.75 is 2024-01-31 18:00)
    text = _rows(
        "Kunde,Zeitpunkt,Wert",
        lambda i: f"K{i % 7},{45322 + i}.{(7534722222 + 911 * i) if i % 3 else 75},{10 + i}.50",
    )
    g = _guess(tmp_path, "transactions", "export.csv", text)
    assert g.mapping()["date"] == "Zeitpunkt"
    assert "date_format" not in g.options  # the run reads serial days only without one
    floats = [45322.75, 45323.7534722222, 45324.5, 45325.3409722222, 45326.0]
    assert profile(pa.array(floats)).date == 1.0  # a workbook's number cells alike
    # amounts to the cent in the same range are numbers, as whole serial days alone are
    amounts = ["45322.75", "45323.10", "45324.5", "45325.34", "45326"]
    assert profile(pa.array(amounts)).date == 0.0
    assert profile(pa.array([float(a) for a in amounts])).date == 0.0


def test_serial_days_under_a_date_name_are_the_date_at_any_time_of_day(tmp_path: Path) -> None:
    # every time of day a quarter day (45322.75 is 18:00), or none: the values alone read as
    # amounts to the cent or whole numbers, the name says they are the invoice date
    for name, day in (
        ("quarters", lambda i: f"{45322 + i}.{(25, 5, 75)[i % 3]}"),
        ("whole", lambda i: f"{45322 + i}"),
    ):
        text = _rows(
            "Kunde,Rechnungsdatum,Wert", lambda i, day=day: f"K{i % 7},{day(i)},{10 + i}.50"
        )
        g = _guess(tmp_path, "transactions", f"{name}.csv", text)
        assert g.mapping()["date"] == "Rechnungsdatum", name
        evidence = {c.canonical: c.evidence for c in g.columns}
        assert "serial day" in evidence["date"], name
        assert "date_format" not in g.options, name  # the run reads serial days only without
        assert not any("date" in n for n in g.notes), (name, g.notes)
    # numbers outside the serial days' range (1954–2119) under that name are no dates
    text = _rows("Kunde,Rechnungsdatum,Wert", lambda i: f"K{i % 7},{100 + i}.75,{10 + i}.50")
    assert "date" not in _guess(tmp_path, "transactions", "low.csv", text).mapping()
    # nor are serial-looking numbers under a name that does not read as a date
    text = _rows("Kunde,Belegnummer,Wert", lambda i: f"K{i % 7},{45322 + i}.75,{10 + i}.50")
    assert _guess(tmp_path, "transactions", "num.csv", text).mapping().get("date") is None


def test_a_currency_column_of_codes_is_mapped_and_a_currency_key_is_not(tmp_path: Path) -> None:
    text = _rows("CardCode,DocDate,LineTotal,DocCur", lambda i: f"C{i % 5},2024-01-02,{i}.5,EUR")
    assert _guess(tmp_path, "transactions", "a.csv", text).mapping()["currency"] == "DocCur"
    keyed = _rows(
        "CardCode,DocDate,LineTotal,CurrencyKey", lambda i: f"C{i % 5},2024-01-02,{i}.5,100"
    )
    assert "currency" not in _guess(tmp_path, "transactions", "b.csv", keyed).mapping()


def test_address_parts_of_shopify_and_xero_contacts_are_read(tmp_path: Path) -> None:
    shop = _rows(
        "Customer ID,Email,Default Address City,Default Address Country Code,Default Address Zip",
        lambda i: f"{7000 + i},b{i}@x.com,Köln,DE,{50000 + i}",
    )
    m = _guess(tmp_path, "customers", "customers_export.csv", shop).mapping()
    assert (m["city"], m["country"], m["postcode"]) == (
        "Default Address City",
        "Default Address Country Code",
        "Default Address Zip",
    )
    xero = _rows(
        "AccountNumber,EmailAddress,POCity,POPostalCode",
        lambda i: f"A{i},b{i}@x.com,Leeds,LS{i} 1AA",
    )
    m = _guess(tmp_path, "customers", "Contacts.csv", xero).mapping()
    assert (m["city"], m["postcode"]) == ("POCity", "POPostalCode")


def test_a_debit_credit_pair_beside_price_and_quantity_gives_the_revenue(
    tmp_path: Path,
) -> None:
    text = _rows(
        "Date,Partner,Quantity,Unit Price,Debit,Credit",
        lambda i: f"2024-01-{i % 28 + 1:02d},Firma {i % 7},{i % 4 + 1},4.50,0.0,{10 + i}.50",
    )
    g = _guess(tmp_path, "transactions", "odoo.csv", text)
    assert g.mapping()["debit_amount"] == "Debit"
    note = next(n for n in g.notes if "rather than unit_price × quantity" in n)
    assert "counts a credit note's lines as sales" in note


# -- a report grouped by customer ---------------------------------------------------------


QUICKBOOKS_SALES_BY_CUSTOMER = """Sales by Customer Detail
Craig's Design and Landscaping Services
"January 1 - December 31, 2024"

,Date,Transaction Type,Num,Product/Service,Memo/Description,Qty,Sales Price,Amount,Balance
Amy's Bird Sanctuary,,,,,,,,,
,01/05/2024,Invoice,1001,Design,Custom Design,4,75.00,300.00,300.00
,02/11/2024,Invoice,1021,Gardening,Weekly Gardening Service,2,25.00,50.00,350.00
Total for Amy's Bird Sanctuary,,,,,,,,$350.00,
Bill's Windsurf Shop,,,,,,,,,
,03/15/2024,Invoice,1030,Installation,Installation of landscape design,6,50.00,300.00,300.00
,04/02/2024,Credit Memo,1044,Installation,Refund,-1,50.00,-50.00,250.00
,05/20/2024,Sales Receipt,1050,"Pump","Fountain Pump",1,"1,250.00","1,250.00","1,500.00"
Total for Bill's Windsurf Shop,,,,,,,,"$1,500.00",
Cool Cars,,,,,,,,,
,06/01/2024,Invoice,1060,Design,,2,75.00,150.00,150.00
Total for Cool Cars,,,,,,,,$150.00,
TOTAL,,,,,,,,"$2,000.00",

"Accrual Basis Sunday, December 1, 2024 10:15 AM GMT-05:00"
"""


def test_a_quickbooks_report_grouped_by_customer_is_filled_down(tmp_path: Path) -> None:
    from tierwise.api import validate

    # QuickBooks Online's Sales by Customer Detail, as its CSV export writes it: the customer
    # on a heading row above its lines (whose first cell is empty), "Total for" rows; the
    # running Balance, a whole number, was the customer by its values alone
    path = tmp_path / "sales.csv"
    path.write_text(QUICKBOOKS_SALES_BY_CUSTOMER, encoding="utf-8")
    target = tmp_path / "tierwise.toml"
    r = init_settings({"transactions": path}, settings_path=target)
    g = r.tables["transactions"]
    assert g.mapping()["customer_id"] == "column_1"
    assert g.options["fill_down"][0] == ("column_1",)
    assert g.options["false_values"][0] == ("Invoice", "Sales Receipt")  # a cash sale
    target.write_text(r.text, encoding="utf-8")
    s = load_settings(target)
    assert s.transactions.fill_down == ["column_1"]
    v = validate(str(path), settings=s, as_of="2024-12-31")["transactions"]
    # every line under a heading used with its customer; the headings, the subtotals, the
    # blank line and the footer rejected
    got = v.table.select(["customer_id", "revenue"]).to_pylist()
    totals: dict[str, float] = {}
    for row in got:
        totals[row["customer_id"]] = totals.get(row["customer_id"], 0.0) + row["revenue"]
    assert totals == {
        "Amy's Bird Sanctuary": 350.0,
        "Bill's Windsurf Shop": 1500.0,
        "Cool Cars": 150.0,
    }
    reasons = v.rejects.column("reason").to_pylist()
    assert v.table.num_rows + v.rejects.num_rows == 15
    assert sum(x.startswith("a group heading") for x in reasons) == 3
    assert reasons.count("missing date") == 4


def test_a_heading_row_alone_is_no_group_heading(tmp_path: Path) -> None:
    # one row filling one cell (a note above the lines) and a column mostly empty on the
    # lines (a sparse memo): no fill_down
    text = "Customer,Date,Amount,Memo\nNote: prices in EUR,,,\n" + "".join(
        f"C{i % 4},2024-01-{i + 1:02d},{10 + i}.50,\n" for i in range(20)
    )
    g = _guess(tmp_path, "transactions", "a.csv", text)
    assert "fill_down" not in g.options
    assert g.mapping()["customer_id"] == "Customer"


def test_a_report_whose_headings_are_lines_of_one_field_gets_a_customer_column(
    tmp_path: Path,
) -> None:
    from tierwise.api import validate

    # Xero's Sales by Customer Detail: each customer's name alone on a line (quoted where it
    # holds the delimiter), no column of the header for it
    path = tmp_path / "SalesByCustomerDetail.csv"
    path.write_text(
        'Date,Invoice,Amount\n"Acme, Ltd"\n2024-01-02,INV-1,10\n2024-01-05,INV-2,5\n'
        "Beta Co\n2024-01-03,INV-3,7\nGamma Inc\n2024-02-03,INV-4,9\n",
        encoding="utf-8",
    )
    target = tmp_path / "tierwise.toml"
    r = init_settings({"transactions": path}, settings_path=target)
    g = r.tables["transactions"]
    assert g.mapping()["customer_id"] == "Customer"
    assert g.options["fill_down"][0] == ("Customer",)
    assert "Customer from the group headings" in r.hint
    target.write_text(r.text, encoding="utf-8")
    v = validate(str(path), settings=load_settings(target), as_of="2024-12-31")["transactions"]
    got = v.table.select(["order_id", "customer_id"]).sort_by("order_id").to_pylist()
    assert [r["customer_id"] for r in got] == ["Acme, Ltd", "Acme, Ltd", "Beta Co", "Gamma Inc"]
    assert v.rejects.num_rows == 3
    # two stray lines of one field are no headings
    path.write_text("Date,Invoice,Amount\nx\n2024-01-02,INV-1,10\ny\n2024-01-03,INV-2,4\n")
    g = init_settings({"transactions": path}, settings_path=target).tables["transactions"]
    assert "fill_down" not in g.options and "customer_id" not in g.mapping()


def test_a_workbook_whose_headings_are_rows_of_one_cell_gets_a_customer_column(
    tmp_path: Path,
) -> None:
    from openpyxl import Workbook

    from tierwise.api import validate

    # Xero's Sales by Customer Detail as a workbook: the customer's name in the first cell
    # of a row of its own, in the column the invoice lines fill with their dates
    wb = Workbook()
    ws = wb.active
    ws.append(["Sales by Customer Detail"])
    ws.append([])
    ws.append(["Date", "Invoice", "Amount"])
    for name, lines in (
        ("Acme, Ltd", [(2, "INV-1", 10.0), (5, "INV-2", 5.0)]),
        ("Beta Co", [(3, "INV-3", 7.0)]),
        ("Gamma Inc", [(4, "INV-4", 9.0)]),
    ):
        ws.append([name])
        for day, invoice, amount in lines:
            ws.append([dt.datetime(2024, 1, day), invoice, amount])
        ws.append([f"Total {name}", None, sum(a for _, _, a in lines)])
    path = tmp_path / "SalesByCustomerDetail.xlsx"
    wb.save(path)
    target = tmp_path / "tierwise.toml"
    r = init_settings({"transactions": path}, settings_path=target)
    g = r.tables["transactions"]
    assert g.mapping()["customer_id"] == "Customer"
    assert g.options["fill_down"][0] == ("Customer",)
    target.write_text(r.text, encoding="utf-8")
    v = validate(str(path), settings=load_settings(target), as_of="2024-12-31")["transactions"]
    got = v.table.select(["order_id", "customer_id"]).sort_by("order_id").to_pylist()
    assert [r["customer_id"] for r in got] == ["Acme, Ltd", "Acme, Ltd", "Beta Co", "Gamma Inc"]
    reasons = v.rejects.column("reason").to_pylist()
    assert sum(x.startswith("a group heading") for x in reasons) == 3
    assert v.rejects.num_rows == 6  # and the three subtotal rows
