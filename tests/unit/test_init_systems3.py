"""``tierwise init`` on exports that name no buyer (Amazon's All Orders report), hold a
second table part-way down (returns appended under their own column names), list several
companies on one deal (HubSpot's Associated Company IDs), and on the exports of Magento,
BigCommerce, PrestaShop, Lightspeed, Dynamics 365 Sales, FreshBooks, Wave, MYOB, Zoho,
Odoo, Sage 50 and the French FEC.

Each test writes a few rows as the named system writes them and checks what init says or
maps where it misread the real export.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from init_support import flat as _flat
from init_support import guess_file as _guess
from init_support import init_file as _init
from tierwise.engine import Engine
from tierwise.errors import InputError
from tierwise.io.sample import read_sample
from tierwise.pipeline import load_and_validate
from tierwise.settings import Settings
from tierwise.settings._guess import guess_table
from tierwise.settings.template import init_settings

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
    assert note.startswith("no column's name reads as a customer: Amazon's All Orders")
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


def test_a_second_table_near_the_end_of_a_large_file_is_found(tmp_path: Path) -> None:
    # returns appended to a large export: their header lies in the sampled end of the file,
    # below the rows the sample keeps from it
    rows = ["Customer,Invoice Date,Product,Qty,Amount"]
    rows += [
        f"C{i % 50},2024-01-{i % 28 + 1:02d},P{i % 7},{i % 3 + 1},{10 + i % 9}.00"
        for i in range(30000)
    ]
    rows += ["Customer,Return Date,Product,Qty,Refund"]
    rows += [f"C{i % 50},2024-02-{i % 28 + 1:02d},P{i % 7},1,5.00" for i in range(200)]
    g = _guess(tmp_path, "sales.csv", "\n".join(rows) + "\n")
    assert any(
        n.startswith("line 30002 holds column names other than the header's") for n in g.notes
    )


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


@pytest.mark.parametrize(
    ("odd", "stops"),
    [
        # a second table that puts the customers elsewhere, or leaves them out
        (["Invoice Date", "Customer", "Refund", None, None], True),
        ([None, "Product", "Invoice Date", "Customer", None], True),
        # values that happen to be names, in a row without a customer: two, however many
        # cells hold them
        ([None, "Qty", "Qty", "Qty", "Product"], False),
        (["C9", "2024-01-19", "Product", "Qty", "5"], False),
    ],
)
def test_init_notes_a_second_table_on_a_sheet_where_the_run_stops_at_it(
    tmp_path: Path, odd: list[str | None], stops: bool
) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Customer", "Invoice Date", "Product", "Qty", "Amount"])
    for i in range(6):
        ws.append([f"C{i % 3}", f"2024-01-{i + 1:02d}", f"P{i % 2}", 1, 10.0])
    ws.append(odd)
    ws.append(["C1", "2024-01-20", "P1", 1, 10.0])
    path = tmp_path / "sales.xlsx"
    wb.save(path)
    g = guess_table("transactions", read_sample(path, name="transactions"))
    noted = [n for n in g.notes if "second table" in n]
    assert bool(noted) == stops
    if stops:
        assert noted[0].startswith("row 8 of the sheet holds column names other")
    # the run, on the same file
    settings = Settings().with_updates(
        transactions={
            "columns": {"customer_id": "Customer", "date": "Invoice Date", "revenue": "Amount"},
        }
    )
    engine = Engine()
    with engine.session():
        if not stops:
            load_and_validate({"transactions": path}, settings, engine)
            return
        with pytest.raises(InputError, match="row 8 holds column names"):
            load_and_validate({"transactions": path}, settings, engine)


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
    g = _guess(tmp_path, "deals.csv", _hubspot_deals(["101", '"1021,1033"']))
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


# -- Magento 2's order items ------------------------------------------------------------------


def test_magento_order_items_row_total_and_qty_ordered_are_read(tmp_path: Path) -> None:
    rows = ["Order #,Purchase Date,Customer Email,Status,SKU,Qty Ordered,Price,Row Total"]
    for i in range(24):
        price, qty = [34.0, 45.0, 29.0][i % 3], 1 + i % 2
        rows.append(
            f'{100000001 + i // 2:09d},"{["Jan", "Feb", "Mar"][i % 3]} {i % 27 + 1}, 2024 '
            f'{i % 12 + 1}:05:33 PM",{["roni@example.com", "john@example.com"][i % 2]},'
            f"{['complete', 'processing', 'canceled'][i % 3]},MH0{i % 4},{qty}.0000,"
            f"{price:.4f},{price * qty:.4f}"
        )
    mapping = _guess(tmp_path, "order_items.csv", "\n".join(rows) + "\n").mapping()
    assert mapping["revenue"] == "Row Total"
    assert mapping["quantity"] == "Qty Ordered"
    assert mapping["unit_price"] == "Price"


# -- a CRM's deals: the day a deal closed is its date -----------------------------------------


def test_zoho_crm_deals_closing_date_is_the_date_not_the_created_time(tmp_path: Path) -> None:
    rows = ["Record Id,Deal Name,Amount,Closing Date,Account Name,Stage,Created Time"]
    stages = ["Closed Won", "Closed Lost", "Negotiation/Review", "Closed Won", "Qualification"]
    for i in range(20):
        rows.append(
            f"zcrm_4876{i:012d},Deal {i},{[5000, 1200, 800][i % 3]},2024-{i % 12 + 1:02d}-"
            f"{i % 27 + 1:02d},{['Zylker', 'Acme', 'Globex'][i % 3]},{stages[i % 5]},"
            f"2023-12-{i % 27 + 1:02d} 10:00:00"
        )
    _, parsed = _init(tmp_path, "Deals_2024.csv", "\n".join(rows) + "\n")
    section = parsed["transactions"]
    assert isinstance(section, dict)
    assert section["columns"]["date"] == "Closing Date"
    assert section["columns"]["customer_id"] == "Account Name"
    assert section["keep_rows"] == {"Stage": ["Closed Won"]}


# -- a subtotal beside a total ----------------------------------------------------------------


def _odoo_order_lines() -> str:
    """Odoo's export of sale order lines: Subtotal before tax, Total with it; a quotation
    is no order yet."""
    rows = [
        "Order Reference,Customer,Order Date,Product,Quantity,Unit Price,Discount (%),"
        "Subtotal,Total,Status"
    ]
    statuses = ["Sales Order", "Sales Order", "Quotation", "Cancelled", "Sales Order", "Locked"]
    for i in range(24):
        price, qty, discount = [100.0, 40.0, 15.0][i % 3], 1 + i % 4, [0, 10, 0, 5][i % 4]
        subtotal = price * qty * (1 - discount / 100)
        rows.append(
            f"S{i // 2 + 1:05d},{['Azure Interior', 'Deco Addict', 'Gemini'][i % 3]},"
            f"2024-02-{i % 27 + 1:02d} 10:15:00,[FURN_{i % 5}] Desk {i % 5},{qty}.00,"
            f"{price:.2f},{discount:.2f},{subtotal:.2f},{subtotal * 1.15:.2f},{statuses[i % 6]}"
        )
    return "\n".join(rows) + "\n"


def test_odoo_order_lines_subtotal_before_tax_is_revenue(tmp_path: Path) -> None:
    g = _guess(tmp_path, "sale.order.line.csv", _odoo_order_lines())
    assert g.mapping()["revenue"] == "Subtotal"
    why = dict(g.unmapped)["Total"]
    assert why.startswith("reads as revenue, but is at least 'Subtotal' on all 24 sampled rows")


def test_odoo_quotations_are_left_out_as_no_sale(tmp_path: Path) -> None:
    _, parsed = _init(tmp_path, "sale.order.line.csv", _odoo_order_lines())
    section = parsed["transactions"]
    assert isinstance(section, dict)
    assert section["exclude_rows"] == {"Status": ["Quotation", "Cancelled"]}


def test_bigcommerce_subtotal_ex_tax_is_revenue_not_the_order_total(tmp_path: Path) -> None:
    # the order's total adds shipping (and its tax)
    rows = [
        "Order ID,Customer ID,Customer Email,Order Date,Order Status,Subtotal (inc tax),"
        "Subtotal (ex tax),Tax Total,Shipping Cost (ex tax),Order Total (inc tax),"
        "Order Total (ex tax)"
    ]
    for i in range(20):
        sub = [50.0, 120.0, 19.99][i % 3]
        rows.append(
            f"{100 + i},{[12, 34, 56][i % 3]},{['a@x.com', 'b@y.com', 'c@z.com'][i % 3]},"
            f"{i % 12 + 1:02d}/{i % 27 + 1:02d}/2024,Completed,{sub * 1.1:.2f},{sub:.2f},"
            f"{sub * 0.1:.2f},5.00,{sub * 1.1 + 5.5:.2f},{sub + 5:.2f}"
        )
    g = _guess(tmp_path, "orders-2024.csv", "\n".join(rows) + "\n")
    assert g.mapping()["revenue"] == "Subtotal (ex tax)"


def test_a_total_equal_to_its_subtotal_stays_revenue(tmp_path: Path) -> None:
    # no tax nor shipping on any row: nothing tells the subtotal from the total
    rows = ["Invoice,Customer,Date,Subtotal,Total"]
    for i in range(12):
        rows.append(f"{i},K{i % 3},2024-01-{i + 1:02d},{10 + i}.00,{10 + i}.00")
    g = _guess(tmp_path, "sales.csv", "\n".join(rows) + "\n")
    assert g.mapping()["revenue"] == "Total"


# -- the French FEC ---------------------------------------------------------------------------


def _fec() -> str:
    """A Fichier des Écritures Comptables (tab-separated, dates YYYYMMDD, comma decimals):
    each invoice a line on the customer's account (411, its auxiliary account the
    customer), one on sales (706) and one on VAT (44571)."""
    header = (
        "JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\t"
        "CompAuxLib\tPieceRef\tPieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\t"
        "ValidDate\tMontantdevise\tIdevise"
    )
    rows = [header]
    customers = [("C0001", "DUPONT SA"), ("C0002", "MARTIN SARL"), ("C0003", "BERNARD")]
    for i in range(15):
        net = [1000.0, 250.5, 4200.0][i % 3]
        day = f"2024{i % 12 + 1:02d}{i % 27 + 1:02d}"
        aux, name = customers[i % 3]
        lines = [
            ("411000", "Clients", aux, name, net * 1.2, 0.0),
            ("706000", "Prestations de services", "", "", 0.0, net),
            ("445710", "TVA collectée", "", "", 0.0, net * 0.2),
        ]
        for account, label, a, n, debit, credit in lines:
            d, c = (f"{v:.2f}".replace(".", ",") for v in (debit, credit))
            rows.append(
                f"VE\tVentes\tVE{i + 1:05d}\t{day}\t{account}\t{label}\t{a}\t{n}\tF{2024000 + i}\t"
                f"{day}\tFacture {name}\t{d}\t{c}\t\t\t{day}\t\t"
            )
    return "\n".join(rows) + "\n"


def test_fec_auxiliary_account_is_the_customer_and_the_foreign_amount_no_revenue(
    tmp_path: Path,
) -> None:
    g = _guess(tmp_path, "123456789FEC20241231.txt", _fec())
    mapping = g.mapping()
    assert mapping["customer_id"] == "CompAuxNum"
    assert mapping["order_id"] == "PieceRef"
    assert mapping["date"] in ("PieceDate", "EcritureDate")
    # the amount in a foreign currency is no revenue; the debit and credit pair gives it,
    # a sale a debit on the customer's account (411), of the sales journal
    assert "revenue" not in mapping
    assert (mapping["debit_amount"], mapping["credit_amount"]) == ("Debit", "Credit")
    assert g.options["ledger_sale_side"][0] == "debit"
    assert g.options["keep_rows"][0] == {"JournalCode": ("VE",)}
    # the entry's revenue and VAT lines are not given the customer of its 411 line
    assert "fill_from_order" not in g.options


# -- MYOB AccountRight's item sales ----------------------------------------------------------


def _myob(card_ids: list[str]) -> str:
    header = [
        *("Co./Last Name", "First Name", "Invoice #", "Date", "Item Number", "Quantity"),
        *("Description", "Price", "Discount", "Total", "Inc-Tax Total", "Tax Code"),
        *("Sale Status", "Card ID", "Record ID"),
    ]
    rows = ["\t".join(header)]
    for i in range(24):
        price, qty = [10.0, 25.5, 1200.0][i % 3], 1 + i % 3
        rows.append(
            "\t".join(
                [
                    *(["Harris Plumbing", "Smith", "Jones Bakery"][i % 3], ["", "John", ""][i % 3]),
                    *(f"{i // 2 + 1:08d}", f"{i % 27 + 1}/{i % 12 + 1}/2024", f"ITM{i % 5}"),
                    *(str(qty), "Widget", f"${price:,.2f}", "0%", f"${price * qty:,.2f}"),
                    *(f"${price * qty * 1.1:,.2f}", "GST", "I", card_ids[i % len(card_ids)]),
                    str(i % 3 + 1),
                ]
            )
        )
    return "\n".join(rows) + "\n"


def test_myob_card_id_is_the_customer(tmp_path: Path) -> None:
    mapping = _guess(tmp_path, "ITEMSALE.TXT", _myob(["CUS001", "CUS002", "CUS003"])).mapping()
    assert mapping["customer_id"] == "Card ID"
    assert mapping["revenue"] == "Total"


def test_myob_without_card_ids_reads_the_card_name(tmp_path: Path) -> None:
    # MYOB writes *None where a card has no ID: the card's name is the customer
    mapping = _guess(tmp_path, "ITEMSALE.TXT", _myob(["*None"])).mapping()
    assert mapping["customer_id"] == "Co./Last Name"


# -- Dynamics 365 Sales' opportunities --------------------------------------------------------


def test_dynamics_opportunities_potential_customer_and_actual_close_date_are_read(
    tmp_path: Path,
) -> None:
    rows = [
        "(Do Not Modify) Opportunity,(Do Not Modify) Row Checksum,(Do Not Modify) Modified On,"
        "Topic,Potential Customer,Est. Close Date,Actual Close Date,Est. Revenue,Actual Revenue,"
        "Status,Probability,Created On"
    ]
    statuses = ["Won", "Lost", "Open", "Won", "Lost"]
    for i in range(20):
        status, estimate = statuses[i % 5], [25000, 4000, 12000][i % 3]
        won = status == "Won"
        rows.append(
            f"{0xB1B2C3D4 + i:08x}-5555-ee11-8f6e-000d3a5c{i:04d},Zk{i}Qz==,"
            f"{i % 12 + 1}/{i % 27 + 1}/2024 10:00 AM,Deal {i},"
            f"{['Adventure Works', 'Fabrikam', 'Contoso'][i % 3]},{i % 12 + 1}/{i % 27 + 1}/2024,"
            f"{f'{i % 12 + 1}/{i % 27 + 1}/2024' if status != 'Open' else ''},"
            f'"${estimate:,.2f}",{f"{estimate * 0.9:.2f}" if won else ""},{status},'
            f"{[100, 0, 50, 100, 0][i % 5]},{i % 12 + 1}/1/2024 9:00 AM"
        )
    _, parsed = _init(tmp_path, "Opportunities.csv", "\n".join(rows) + "\n")
    section = parsed["transactions"]
    assert isinstance(section, dict)
    assert section["columns"]["customer_id"] == "Potential Customer"
    assert section["columns"]["date"] == "Actual Close Date"
    assert section["columns"]["revenue"] == "Actual Revenue"
    assert section["keep_rows"] == {"Status": ["Won"]}


# -- FreshBooks' invoice details: the item's name is the product ------------------------------


def _freshbooks(extra: str = "") -> str:
    rows = [
        "Client Name,Invoice #,Date Issued,Invoice Status,Item Name,Rate,Quantity,"
        f"Line Subtotal,Tax 1 Type,Tax 1 Amount,Line Total,Currency{extra and ',' + extra}"
    ]
    for i in range(24):
        rate, qty = [75.0, 120.0, 50.0][i % 3], 1 + i % 4
        rows.append(
            f"{['Acme Co', 'Globex', 'Initech', 'Umbrella'][i % 4]},{i // 2 + 1:07d},"
            f"{i % 12 + 1:02d}/{i % 27 + 1:02d}/2024,{['paid', 'sent', 'draft'][i % 3]},"
            f"{['Design', 'Consulting', 'Hosting'][i % 3]},{rate:.2f},{qty},{rate * qty:.2f},"
            f"HST,{rate * qty * 0.13:.2f},{rate * qty * 1.13:.2f},CAD"
            + (f",SKU-{i % 3}" if extra else "")
        )
    return "\n".join(rows) + "\n"


def test_freshbooks_item_name_is_the_product_where_no_column_numbers_it(tmp_path: Path) -> None:
    mapping = _guess(tmp_path, "invoice_details.csv", _freshbooks()).mapping()
    assert mapping["product_id"] == "Item Name"
    assert mapping["revenue"] == "Line Subtotal"


def test_a_product_number_is_taken_before_the_products_name(tmp_path: Path) -> None:
    mapping = _guess(tmp_path, "invoice_details.csv", _freshbooks("Product SKU")).mapping()
    assert mapping["product_id"] == "Product SKU"


# -- Lightspeed Retail's sales lines: walk-in sales name no customer --------------------------


def test_lines_without_a_customer_are_noted_lightspeed(tmp_path: Path) -> None:
    rows = ["Sale ID,Date,Customer,Item,Custom SKU,Qty,Subtotal,Discounts,Tax,Total"]
    for i in range(24):
        price, qty = [19.99, 5.49, 249.0][i % 3], [1, 2, 1, -1][i % 4]
        sub = price * qty
        rows.append(
            f"{1000 + i // 2},{i % 12 + 1}/{i % 27 + 1}/2024,{['Jane Doe', 'Bob Lee', ''][i % 3]},"
            f'Item {i % 3},BB-{i % 3},{qty},"${sub:,.2f}","$0.00","${sub * 0.08:,.2f}",'
            f'"${sub * 1.08:,.2f}"'
        )
    g = _guess(tmp_path, "sales_lines.csv", "\n".join(rows) + "\n")
    assert g.mapping()["customer_id"] == "Customer"
    assert any(
        n.startswith("customer_id 'Customer' is empty on 8 of 24 sampled rows: the run rejects")
        for n in g.notes
    )


def test_a_customer_on_every_line_gives_no_such_note(tmp_path: Path) -> None:
    g = _guess(tmp_path, "order_items.csv", _odoo_order_lines())
    assert not any("is empty on" in n for n in g.notes)


def test_amazon_order_report_buyer_email_and_quantity_purchased_are_read(tmp_path: Path) -> None:
    # the report the note above points to: the buyer's e-mail, the quantity purchased
    header = (
        "order-id\torder-item-id\tpurchase-date\tbuyer-email\tbuyer-name\tsku\tproduct-name\t"
        "quantity-purchased\tcurrency\titem-price\titem-tax\tshipping-price"
    )
    rows = [header]
    for o in range(24):
        qty, price = 1 + o % 2, [24.99, 9.49, 39.9][o % 3]
        rows.append(
            f"111-{3456789 + o:07d}-{1234567 + o:07d}\t{50000000000000 + o}\t"
            f"2024-02-{o % 27 + 1:02d}T10:10:05+00:00\t"
            f"{['abc123', 'def456', 'ghi789'][o % 3]}@marketplace.amazon.com\t"
            f"{['Jane', 'Bob', 'Ann'][o % 3]}\tSKU-{o % 3}\tWidget {o % 3}\t{qty}\tUSD\t"
            f"{price * qty:.2f}\t{price * qty * 0.08:.2f}\t5.99"
        )
    mapping = _guess(tmp_path, "Orders.txt", "\n".join(rows) + "\n").mapping()
    assert mapping["customer_id"] == "buyer-email"
    assert mapping["quantity"] == "quantity-purchased"
    assert mapping["revenue"] == "item-price"


def _rows(header: str, row: str, n: int = 24) -> str:
    """A CSV text of a header and ``n`` rows, ``row`` formatted with the row's number."""
    return "\n".join([header] + [row.format(i=i, d=i % 27 + 1, b=i % 2) for i in range(n)]) + "\n"


def test_dates_named_by_the_ordering_are_the_date(tmp_path: Path) -> None:
    # Magento 1's order grid: Purchased On; elsewhere Ordered On, Purchased At
    m1 = _rows(
        "Order #,Purchased On,Bill to Name,Status,G.T. (Base)",
        '1000{i:02d},"Jan {d}, 2024 10:00:00 AM",Ann {i},Complete,$2{i}.00',
    )
    assert _guess(tmp_path, "m1.csv", m1).mapping()["date"] == "Purchased On"
    ordered_on = _rows("Order,Customer,Ordered On,Amount", "O{i},K{i},2024-01-{d:02d},1{i}")
    assert _guess(tmp_path, "o.csv", ordered_on).mapping()["date"] == "Ordered On"
    at = _rows("Sale ID,Email,Purchased At,Price", "S{i},k{i}@x.com,2024-01-{d:02d} 10:00,1{i}")
    assert _guess(tmp_path, "p.csv", at).mapping()["date"] == "Purchased At"


def test_a_yes_no_column_named_ordered_or_purchased_is_no_order_id(tmp_path: Path) -> None:
    for name, yes, no in (("Ordered", "Yes", "No"), ("Purchased", "TRUE", "FALSE")):
        text = _rows(
            f"Customer,Date,Product,{name},Amount",
            "K{i},2024-01-{d:02d},P{i},YES,1{i}".replace("YES", yes),
        ).replace(f",{yes},1", f",{no},1", 12)
        assert "order_id" not in _guess(tmp_path, f"{name}.csv", text).mapping()


def _erp_lines(*, after_discount: bool) -> str:
    """An ERP's invoice lines: Subtotal, Discount, Tax and Total; the Subtotal before the
    Discount (Total = Subtotal - Discount + Tax) or after it (Total = Subtotal + Tax)."""
    rows = [
        "Invoice No,Invoice Date,Customer No,Item No,Qty,Unit Price,Subtotal,Discount,Tax,Total"
    ]
    for i in range(24):
        gross, discount = 12.0 * (1 + i % 4), [0.6, 0.0, 0.0][i % 3]
        sub = gross - discount if after_discount else gross
        net = gross - discount
        rows.append(
            f"INV-{100 + i // 2},2024-02-{i % 27 + 1:02d},K{100 + i % 5},A{i % 4},{1 + i % 4},"
            f"12.00,{sub:.2f},{discount:.2f},{net * 0.19:.2f},{net * 1.19:.2f}"
        )
    return "\n".join(rows) + "\n"


def test_a_subtotal_before_the_discount_is_not_taken_as_revenue(tmp_path: Path) -> None:
    g = _guess(tmp_path, "lines.csv", _erp_lines(after_discount=False))
    assert g.mapping()["revenue"] == "Total"
    why = dict(g.unmapped)["Subtotal"]
    assert "'Discount' is not zero" in why and "may be before the discount" in why


def test_woocommerce_order_subtotal_before_the_discount_is_not_revenue(tmp_path: Path) -> None:
    rows = [
        "order_id,order_date,shipping_total,tax_total,discount_total,order_total,"
        "order_subtotal,customer_id"
    ]
    for i in range(24):
        sub, ship, disc = 40.0 + 10 * (i % 5), [0.0, 5.0][i % 2], [0.0, 0.0, 4.0][i % 3]
        tax = (sub - disc) * 0.2
        rows.append(
            f"{3000 + i},2024-04-{i % 27 + 1:02d} 12:00:00,{ship:.2f},{tax:.2f},{disc:.2f},"
            f"{sub - disc + ship + tax:.2f},{sub:.2f},{11 + i % 7}"
        )
    g = _guess(tmp_path, "orders.csv", "\n".join(rows) + "\n")
    assert g.mapping()["revenue"] == "order_total"


def test_a_subtotal_after_the_discount_is_revenue(tmp_path: Path) -> None:
    g = _guess(tmp_path, "lines.csv", _erp_lines(after_discount=True))
    assert g.mapping()["revenue"] == "Subtotal"


def test_a_file_without_amazons_columns_is_not_said_to_be_amazons(tmp_path: Path) -> None:
    for who in ("Company", "Firma", "Deal - Organization", "Name"):
        text = _rows(
            f"Invoice,Date,{who},Product,Amount", "I{i},2024-01-{d:02d},Acme {b},P{i},1{i}"
        )
        note = dict(_guess(tmp_path, "sales.csv", text).missing).get("customer_id", "")
        assert "Amazon" not in note and "names no buyer" not in note


def test_columns_a_customer_could_be_by_their_values_are_listed(tmp_path: Path) -> None:
    text = _rows("Belegnr;Datum;Kürzel;Matchcode;Betrag", "D{i};01.01.2024;K10{b};MC{b};10,00")
    note = dict(_guess(tmp_path, "belege.csv", text).missing)["customer_id"]
    assert note == (
        "no column's name reads as a customer; by their values it could be 'Kürzel' or 'Matchcode'"
    )


def test_other_tables_than_transactions_get_no_note_on_a_buyer(tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_text(_rows("Company Name,Industry,City", "Firm {i},Retail,Berlin"))
    for table in ("customers", "payments", "activities"):
        g = guess_table(table, read_sample(path, name=table))
        assert "reads as a customer" not in dict(g.missing).get("customer_id", "")


def test_myob_with_many_cards_without_an_id_reads_the_card_name(tmp_path: Path) -> None:
    g = _guess(tmp_path, "ITEMSALE.TXT", _myob(["*None", "*None", "*None", "CUS9"]))
    assert g.mapping()["customer_id"] == "Co./Last Name"
    assert any("'Card ID' is *None (a card without an ID) on 18 of 24" in n for n in g.notes)


def test_myob_with_a_few_cards_without_an_id_notes_them(tmp_path: Path) -> None:
    ids = ["*None"] + [f"CUS{i:03d}" for i in range(11)]
    g = _guess(tmp_path, "ITEMSALE.TXT", _myob(ids))
    assert g.mapping()["customer_id"] == "Card ID"
    assert any("one customer '*None'" in n for n in g.notes)


def test_numbers_with_thousands_separators_are_no_list_of_ids(tmp_path: Path) -> None:
    for ids in (['"1,234"', '"2,345"', "999"], ['"1,500.00"', '"12,250.50"', "980.00"]):
        g = _guess(tmp_path, "deals.csv", _hubspot_deals(ids))
        assert not any("several ids" in n for n in g.notes)


def test_blank_lines_and_a_footer_are_no_lines_without_a_customer(tmp_path: Path) -> None:
    # eBay's orders report: a blank line under the header, blank lines and a footer below
    cols = '"Sales Record Number","Order Number","Buyer Username","Item Number","Quantity"'
    blank = ",".join(['""'] * 7)
    rows = [blank, cols + ',"Sold For","Sale Date"', blank]
    for i in range(24):
        rows.append(
            f'"{1000 + i}","29-10501-{70000 + i}","buyer.{i % 5}","1618033{i:05d}","1",'
            f'"${10 + i}.25","Mar-{i % 27 + 1:02d}-24"'
        )
    rows += [blank, '"24","record(s) downloaded","","","","",""']
    rows += ['"Seller ID : vintage_optics_shop","","","","","",""']
    g = _guess(tmp_path, "eBay-OrdersReport-Mar-25-2024.csv", "\r\n".join(rows) + "\r\n")
    assert g.mapping()["customer_id"] == "Buyer Username"
    assert not any("is empty on" in n for n in g.notes)


@pytest.mark.parametrize(
    ("odd", "stops"),
    [
        # two names of five in their columns: read on
        ("Customer,Invoice Date,,,", False),
        # the header again as written: rejected as such, read on
        ("Customer,Invoice Date,Product,Qty,Amount", False),
        # the header again in another case, or in part: a second table's
        ("customer,invoice date,product,qty,amount", True),
        ("CUSTOMER,INVOICE DATE,PRODUCT,Units,Refund", True),
        # a second table that leaves the customers out or puts them elsewhere
        ("Invoice Date,Customer,Refund,Qty,Product", True),
        (",Product,Invoice Date,Customer,", True),
        # values that happen to be names, in a row without a customer: two, however many
        # cells hold them
        (",Qty,Product,Qty,", False),
        (",Qty,Qty,Qty,Product", False),
        # a row of data: a customer in its column
        ("C9,2024-01-19,Product,Qty,5", False),
    ],
)
def test_init_notes_a_second_table_where_the_run_stops_at_it(
    tmp_path: Path, odd: str, stops: bool
) -> None:
    rows = ["Customer,Invoice Date,Product,Qty,Amount"]
    rows += [f"C{i % 3},2024-01-{i + 1:02d},P{i % 4},1,{10 + i}.00" for i in range(20)]
    text = "\n".join([*rows[:11], odd, *rows[11:]]) + "\n"
    g = _guess(tmp_path, "sales.csv", text)
    noted = [n for n in g.notes if "second table" in n]
    assert bool(noted) == stops
    if stops:
        assert noted[0].startswith("line 12 holds column names other than the header's")
    # the run, on the same file
    settings = Settings().with_updates(
        transactions={
            "columns": {"customer_id": "Customer", "date": "Invoice Date", "revenue": "Amount"},
            "extra_columns": ["Product", "Qty"],
        }
    )
    engine = Engine()
    with engine.session():
        if not stops:
            load_and_validate({"transactions": tmp_path / "sales.csv"}, settings, engine)
            return
        with pytest.raises(InputError, match="row 12 holds column names other than the header"):
            load_and_validate({"transactions": tmp_path / "sales.csv"}, settings, engine)


def test_a_products_name_taken_as_product_id_is_noted(tmp_path: Path) -> None:
    g = _guess(tmp_path, "invoice_details.csv", _freshbooks())
    assert any("names spelt differently" in n and "'Item Name'" in n for n in g.notes)


def test_a_column_of_codes_named_model_asin_or_ref_comes_before_a_name(tmp_path: Path) -> None:
    for code in ("ASIN", "Barcode", "Model", "Ref", "Internal Ref"):
        text = _rows(
            f"Order,Date,Customer,Product Name,{code},Qty,Line Amount",
            "O{i},2024-01-{d:02d},C{b},Blue Shirt {b},ST-{i},1,12.5",
        )
        g = _guess(tmp_path, "lines.csv", text)
        assert g.mapping()["product_id"] == code
        assert not any("names spelt differently" in n for n in g.notes)


def test_a_quotation_in_other_languages_is_no_sale_in_a_status_column() -> None:
    from tierwise.settings._words import status_kind

    quotes = (
        *("Devis envoyé", "Presupuesto enviado", "Angebot versendet", "Angebot gesendet"),
        *("Offerte", "Offerte verzonden", "Cotización", "Preventivo"),
    )
    assert all(status_kind(v, named=True) for v in quotes)
    assert not any(status_kind(v) for v in quotes)


def test_xero_contact_name_is_the_customer(tmp_path: Path) -> None:
    text = _rows(
        "ContactName,EmailAddress,InvoiceNumber,InvoiceDate,Total,InventoryItemCode,Quantity,"
        "UnitAmount,LineAmount,Currency,Type,Sent,Status",
        '"Smith {b}, John",,INV-{i:04d},01/{d:02d}/2024,1{i}.50,ITM{i},1,1{i}.50,'
        "1{i}.50,NZD,Sales invoice,Sent,AUTHORISED",
    ).replace("AUTHORISED", "PAID", 10)
    assert _guess(tmp_path, "Export.csv", text).mapping()["customer_id"] == "ContactName"


def test_a_customer_masters_contact_name_is_not_the_company_name(tmp_path: Path) -> None:
    # the person to ask for beside the company: the company names the customer
    path = tmp_path / "customers.csv"
    path.write_text(
        "Customer No,Company,Contact Name,Email,City\n"
        + "".join(f"C{i:03d},Firm {i} Ltd,Person {i},p{i}@firm{i}.com,Leeds\n" for i in range(12)),
        encoding="utf-8",
    )
    r = init_settings({"customers": path}, settings_path=tmp_path / "tierwise.toml")
    assert r.tables["customers"].mapping()["name"] == "Company"
