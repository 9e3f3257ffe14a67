"""``tierwise init`` on exports of WooCommerce, Zoho Books, SAP S/4HANA, Tally, Dynamics 365
with Pipedrive, Sage 50, Magento and QuickBooks Online.

Each test writes a few rows as the named system writes them and checks what went wrong on
the real export: an order's total repeated on each of its lines taken as revenue, SAP's and
Sage's document codes left unread while the amounts are unsigned, void and draft rows
counted as sales, a guest checkout's customer id 0 taken for one customer, a voucher number
taken for the customer, plain names of required columns missed, rows appended at the end of
a file missed by the sample.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from init_support import flat as _flat
from init_support import init_paths
from tierwise.io.sample import read_sample
from tierwise.settings._guess import TableGuess, guess_table


def _guess(tmp_path: Path, table: str, name: str, text: str, encoding: str = "utf-8") -> TableGuess:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return guess_table(table, read_sample(path, name=table))


def _init(tmp_path: Path, **inputs: str) -> tuple[str, dict[str, object]]:
    """The settings init writes for files of the given texts (input name → file text),
    loaded back as the run loads them; the text and the parsed TOML."""
    paths = {}
    for table, text in inputs.items():
        paths[table] = tmp_path / f"{table}.csv"
        paths[table].write_text(text, encoding="utf-8")
    return init_paths(tmp_path, paths)


# -- an order's total on each of its lines is never revenue --------------------------------


def _woo(n_orders: int = 12) -> str:
    """WooCommerce's orders export, one row per item: the order's fields on every item."""
    rows = [
        "order_id,order_number,order_date,status,order_total,customer_id,billing_email,"
        "item_product_id,item_quantity,item_subtotal,item_total"
    ]
    for o in range(n_orders):
        items = [(100 + o % 5 + k, k + 1, 10.0 * (k + 1) + o) for k in range(o % 3 + 1)]
        total = round(sum(a for _, _, a in items) * 1.2 + 4.95, 2)
        status = ["completed", "completed", "cancelled", "completed", "pending", "failed"][o % 6]
        customer = 0 if o % 4 == 0 else 200 + o % 5
        for product, qty, amount in items:
            rows.append(
                f"{4001 + o},{4001 + o},2024-01-{o % 28 + 1:02d} 10:15:00,{status},{total:.2f},"
                f"{customer},buyer{o}@shop{o}.co.uk,{product},{qty},{amount + 1:.2f},{amount:.2f}"
            )
    return "\n".join(rows) + "\n"


def test_an_order_total_on_each_item_row_is_not_revenue_woocommerce(tmp_path: Path) -> None:
    g = _guess(tmp_path, "transactions", "orders-export.csv", _woo())
    assert g.mapping()["revenue"] == "item_total"
    assert g.mapping()["list_revenue"] == "item_subtotal"
    note = dict(g.unmapped)["order_total"]
    assert note.startswith(
        "reads as revenue, but holds one value per order ('order_id'), the same on each of "
        "its lines (2.0 lines an order on average in the sample)"
    )


def test_an_invoice_total_named_as_plainly_as_the_line_amount_is_not_revenue(
    tmp_path: Path,
) -> None:
    # Total comes first and reads as revenue as well as Amount does: only its values, one
    # per invoice on each of its lines, tell it is the invoice's
    lines = ["Invoice ID,Customer ID,Invoice Date,Total,Amount"]
    for inv in range(10):
        amounts = [12.5 * (k + 1) + inv for k in range(inv % 3 + 2)]
        lines += [
            f"{4500 + inv},C{inv % 4},2024-02-{inv + 1:02d},{sum(amounts) * 1.18:.2f},{a:.2f}"
            for a in amounts
        ]
    g = _guess(tmp_path, "transactions", "Invoice.csv", "\n".join(lines) + "\n")
    assert g.mapping()["revenue"] == "Amount"
    assert "an order's total, never revenue" in dict(g.unmapped)["Total"]


def test_an_invoice_total_alone_leaves_revenue_missing_and_says_why(tmp_path: Path) -> None:
    lines = ["Invoice ID,Customer ID,Invoice Date,Total,Quantity"]
    for inv in range(10):
        lines += [
            f"{4500 + inv},C{inv % 4},2024-02-{inv + 1:02d},{100 + inv * 7}.50,{k + 1}"
            for k in range(3)
        ]
    g = _guess(tmp_path, "transactions", "Invoice.csv", "\n".join(lines) + "\n")
    assert "revenue" not in g.mapping()
    assert dict(g.missing)["revenue"].startswith(
        "'Total' reads as it, but holds an order's total (see below)"
    )


def test_zoho_item_total_is_revenue_and_void_and_draft_invoices_are_left_out(
    tmp_path: Path,
) -> None:
    lines = [
        "Invoice Date,Invoice ID,Invoice Number,Invoice Status,Customer ID,Quantity,"
        "Item Price,Item Total,SubTotal,Total"
    ]
    statuses = ["Paid", "Paid", "Void", "Overdue", "Draft", "Paid"]
    for inv in range(12):
        items = [(k + 1, 100.0 * (inv % 4 + 1)) for k in range(inv % 3 + 1)]
        sub = sum(q * p for q, p in items)
        lines += [
            f"2022-01-{inv + 1:02d},{4500001 + inv},INV-{inv + 1:06d},{statuses[inv % 6]},"
            f"17300000{inv % 5},{q}.00,{p:.2f},{q * p:.2f},{sub:.2f},{sub * 1.18:.2f}"
            for q, p in items
        ]
    text, parsed = _init(tmp_path, transactions="\n".join(lines) + "\n")
    section = parsed["transactions"]
    assert isinstance(section, dict)
    assert section["columns"]["revenue"] == "Item Total"
    assert section["exclude_rows"] == {"Invoice Status": ["Void", "Draft"]}
    assert "'Invoice Status' holds Void (" in text


# -- document codes and unsigned amounts ---------------------------------------------------


def _sap() -> str:
    """SAP VBRK joined with VBRP (SE16H, German labels, tab-delimited, decimal commas): the
    header's net value (Nettowert, column 5) beside the item's (column 9)."""
    rows = [
        "Faktura\tFakturaart\tVertriebsbelegtyp\tFakturadatum\tNettowert\tAuftraggeber\t"
        "Position\tFakturierte Menge\tNettowert\tMaterial\tVerrechnungswert"
    ]
    types = [("F2", "M"), ("F2", "M"), ("G2", "O"), ("F2", "M"), ("S1", "N")]
    for doc in range(10):
        fkart, vbtyp = types[doc % 5]
        items = [(k + 1, 125.5 * (k + 1) + doc) for k in range(doc % 3 + 1)]
        header = sum(a for _, a in items)
        for pos, amount in items:
            rows.append(
                f"{90000001 + doc}\t{fkart}\t{vbtyp}\t{doc + 1:02d}.01.2022\t{header:.2f}".replace(
                    ".", ","
                )
                + f"\t{100017 + doc % 4}\t{pos * 10:06d}\t{pos * 3},000\t"
                + f"{amount:.2f}".replace(".", ",")
                + f"\tSKU-{pos:03d}\t"
                + f"{amount * 0.6:.2f}".replace(".", ",")
            )
    return "\r\n".join(rows) + "\r\n"


def test_sap_billing_types_are_is_return_and_the_item_net_value_is_revenue(
    tmp_path: Path,
) -> None:
    g = _guess(tmp_path, "transactions", "VBRK_VBRP.txt", _sap(), "cp1252")
    mapping = g.mapping()
    assert mapping["revenue"] == "Nettowert (column 9)"
    assert mapping["cost"] == "Verrechnungswert"
    assert mapping["is_return"] == "Fakturaart"
    assert g.options["true_values"][0] == ("G2", "S1")
    assert g.options["false_values"][0] == ("F2",)
    assert any("unsigned" in n and "SAP billing types" in n for n in g.notes)
    assert dict(g.unmapped)["Vertriebsbelegtyp"] == "also reads as is_return, taken by 'Fakturaart'"
    assert (
        "'Nettowert (column 5)' and 'Nettowert (column 9)'"
        in dict(g.unmapped)["Nettowert (column 5)"]
    )
    # 3,000 pieces read with the file's decimal comma: 3, quoted as read
    quantity = g.guessed("quantity")
    assert quantity is not None
    assert "whole numbers 3 to 9 ('3,000' = 3, the file's decimal comma)" in quantity.evidence


def test_sap_document_categories_are_read_only_under_their_name(tmp_path: Path) -> None:
    rows = ["Faktura;VBTYP;Fakturadatum;Auftraggeber;Nettowert"]
    rows += [
        f"{9000 + i};{'MMONM'[i % 5]};0{i % 9 + 1}.01.2022;K{i % 3};1{i},50" for i in range(10)
    ]
    g = _guess(tmp_path, "transactions", "vbrk.csv", "\n".join(rows) + "\n")
    assert g.mapping()["is_return"] == "VBTYP"
    assert g.options["true_values"][0] == ("O", "N")
    # the same letters under another name are no document type
    rows[0] = rows[0].replace("VBTYP", "Typ")
    g = _guess(tmp_path, "transactions", "other.csv", "\n".join(rows) + "\n")
    assert "is_return" not in g.mapping()


def test_sage_types_and_deleted_flag_make_is_return_and_exclude_rows(tmp_path: Path) -> None:
    lines = ["No,Type,Account,Nominal,Dept,Details,Date,Ref,Net,Tax,Deleted"]
    types = ["SI", "SI", "SC", "SR", "PI", "SI"]
    for i in range(30):
        deleted = "Y" if i % 10 == 7 else "N"
        lines.append(
            f"{i + 1},{types[i % 6]},TYNESI{i % 4:02d},4000,{i % 2},SKU-{i % 5:03d},"
            f"{i % 28 + 1:02d}/01/2022,{2155 + i},{100 + i}.00,{20 + i}.00,{deleted}"
        )
    text, parsed = _init(tmp_path, transactions="\n".join(lines) + "\n")
    section = parsed["transactions"]
    assert isinstance(section, dict)
    assert section["columns"]["is_return"] == "Type"
    assert (section["true_values"], section["false_values"]) == (["SC"], ["SI"])
    assert section["exclude_rows"] == {"Type": ["SR", "PI"], "Deleted": ["Y"]}
    assert "product_category" not in section["columns"]  # Dept is the ledger's department
    assert "'Deleted' flags as deleted Y (3) among 30 sampled rows" in _flat(text)


# -- rows by status ----------------------------------------------------------------------------


def test_pending_and_refunded_orders_are_proposed_commented_out(tmp_path: Path) -> None:
    text, parsed = _init(tmp_path, transactions=_woo(30))
    section = parsed["transactions"]
    assert isinstance(section, dict)
    assert section["exclude_rows"] == {"status": ["cancelled", "failed"]}
    commented = next(ln for ln in text.splitlines() if ln.startswith("# exclude_rows = "))
    assert commented.startswith('# exclude_rows = {"status" = ["cancelled", "failed", "pending"]}')
    flat = _flat(text)
    assert "pending may be sales or not, as the business counts them" in flat


def test_activities_still_to_do_are_left_out_pipedrive(tmp_path: Path) -> None:
    lines = [
        "Activity - ID,Activity - Subject,Activity - Type,Activity - Due date,Activity - Done,"
        "Activity - Assigned to user,Organization - Name,Organization - ERP account no."
    ]
    for i in range(20):
        done = "To do" if i % 5 == 0 else "Done"
        lines.append(
            f"{i + 1},Call with Firm {i % 4},call,2024-03-{i + 1:02d},{done},"
            f"{['Li Wang', 'Ann Lee'][i % 2]},Firm {i % 4},US-{i % 4:03d}"
        )
    text, parsed = _init(tmp_path, activities="\n".join(lines) + "\n")
    section = parsed["activities"]
    assert isinstance(section, dict)
    assert section["columns"] == {
        "customer_id": "Organization - ERP account no.",
        "date": "Activity - Due date",
        "type": "Activity - Type",
        "rep_id": "Activity - Assigned to user",
    }
    assert section["exclude_rows"] == {"Activity - Done": ["To do"]}
    assert "such rows are no activity" in _flat(text)


# -- a guest's placeholder customer id ---------------------------------------------------------


def test_a_guest_customer_id_gives_way_to_the_billing_email(tmp_path: Path) -> None:
    g = _guess(tmp_path, "transactions", "orders-export.csv", _woo(30))
    assert g.mapping()["customer_id"] == "billing_email"
    note = next(n for n in g.notes if n.startswith("customer_id 'customer_id' holds '0'"))
    assert "'billing_email' names 8 different buyers" in note


def test_a_customer_id_without_placeholders_stays(tmp_path: Path) -> None:
    text = _woo(30).replace(",0,buyer", ",7,buyer")
    g = _guess(tmp_path, "transactions", "orders-export.csv", text)
    assert g.guessed("customer_id") is not None
    assert g.mapping().get("customer_id") is None  # read by its name


# -- Tally's Day Book ------------------------------------------------------------------------


def test_tally_day_book_voucher_number_party_and_dates(tmp_path: Path) -> None:
    lines = [
        "Shree Balaji Steel Distributors",
        "Day Book",
        "1-Apr-22 to 30-Nov-24",
        "",
        "Date,Particulars,Vch Type,Vch No.,Debit Amount,Credit Amount",
    ]
    kinds = ["Sales", "Sales", "Receipt", "Credit Note", "Sales", "Purchase"]
    for i in range(30):
        kind = kinds[i % 6]
        amount = f'"{(i + 1) * 3},{i % 9 + 1}20.80"'
        debit, credit = (amount, "") if kind == "Sales" else ("", amount)
        lines.append(
            f"{i % 28 + 1}-Apr-22,Krishna Steel {i % 4} Pvt. Ltd.,{kind},{i + 1},{debit},{credit}"
        )
    text, parsed = _init(tmp_path, transactions="\n".join(lines) + "\n")
    section = parsed["transactions"]
    assert isinstance(section, dict)
    assert section["columns"]["customer_id"] == "Particulars"
    assert section["columns"]["order_id"] == "Vch No."
    assert section["date_format"] == "%d-%b-%y"
    assert section["columns"]["is_return"] == "Vch Type"
    assert section["exclude_rows"] == {"Vch Type": ["Receipt", "Purchase"]}
    # the party's debit and credit give the revenue (read by their names); nothing says on
    # which side a sale is
    assert "debit_amount" not in section["columns"]
    assert "ledger_sale_side" not in section
    flat = _flat(text)
    assert 'debit_amount = "Debit Amount" # read by its name' in flat
    assert "revenue is read from 'Debit Amount' and 'Credit Amount'" in flat
    assert 'set [transactions] ledger_sale_side = "debit" or "credit"' in flat


# -- plain names of columns -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "header", "row", "expected"),
    [
        # Dynamics 365: the account that ordered, the amount in the ledger's currency
        (
            "transactions",
            "InvoiceId,InvoiceDate,OrderAccount,InvoiceAccount,LineAmount,CurrencyCode,"
            "LineAmountMST",
            "INV-{i},2022-01-{d},US-{c},US-{c},1{i}.50,CAD,1{i}.10",
            {
                "order_id": "InvoiceId",
                "date": "InvoiceDate",
                "customer_id": "OrderAccount",
                "revenue": "LineAmountMST",
            },
        ),
        # Magento's order grid: the purchase date, the customer's e-mail as the customer
        (
            "transactions",
            "ID,Purchase Date,Status,Customer Email,Subtotal",
            '0000010{i},"Jan {d}, 2022 3:11:12 PM",complete,buyer@firm{c}.com,"$1,{i}9.40"',
            {
                "order_id": "ID",
                "date": "Purchase Date",
                "customer_id": "Customer Email",
                "revenue": "Subtotal",
            },
        ),
        # QuickBooks' Product/Service
        (
            "transactions",
            ",Date,Transaction Type,Num,Product/Service,Qty,Amount",
            ",01/{d}/2024,Invoice,{i},Cat1:SKU-0{c},2.00,1{i}.50",
            {
                "order_id": "Num",
                "product_id": "Product/Service",
                "quantity": "Qty",
                "revenue": "Amount",
            },
        ),
        # Zoho Books' contacts
        (
            "customers",
            "Contact ID,Display Name,Company Name,GST Identification Number (GSTIN),"
            "Billing City,Billing Code,EmailID,Created Time",
            "17300000{i},Firm {i},Firm {i} Pvt Ltd,27AAAC00{i}B1Z5,Pune,4000{i},a@f{i}.in,"
            "2021-04-{d} 10:00:00",
            {
                "customer_id": "Contact ID",
                "name": "Company Name",
                "tax_id": "GST Identification Number (GSTIN)",
                "city": "Billing City",
                "postcode": "Billing Code",
                "email": "EmailID",
                "created_date": "Created Time",
            },
        ),
        # SAP's KNA1: the VAT number
        (
            "customers",
            "Kunde;Name 1;Umsatzsteuer-Id.Nr",
            "1000{i};Bäcker Bau AG {i};DE1234567{i}",
            {"customer_id": "Kunde", "name": "Name 1", "tax_id": "Umsatzsteuer-Id.Nr"},
        ),
    ],
)
def test_plain_names_of_an_erp_are_read(
    table: str, header: str, row: str, expected: dict[str, str], tmp_path: Path
) -> None:
    rows = [row.format(i=10 + i, d=f"{i % 28 + 1:02d}", c=i % 3) for i in range(24)]
    g = _guess(tmp_path, table, "export.csv", header + "\n" + "\n".join(rows) + "\n")
    assert {k: v for k, v in g.mapping().items() if k in expected} == expected
    assert set(expected) <= set(g.mapping())


def test_revenue_in_the_ledger_currency_leaves_the_document_currency_unmapped(
    tmp_path: Path,
) -> None:
    rows = ["InvoiceId,InvoiceDate,OrderAccount,LineAmount,CurrencyCode,LineAmountMST"]
    rows += [f"INV-{i},2022-01-0{i % 9 + 1},US-{i % 3},1{i}.50,CAD,1{i}.10" for i in range(24)]
    g = _guess(tmp_path, "transactions", "CustInvoiceTrans.csv", "\n".join(rows) + "\n")
    assert "currency" not in g.mapping()
    assert "in the ledger's own currency already" in dict(g.unmapped)["CurrencyCode"]


# -- the end of a file -----------------------------------------------------------------------


def test_credit_notes_appended_at_the_end_of_a_large_file_are_sampled(tmp_path: Path) -> None:
    # Zoho's credit notes, exported apart and appended below the invoices
    lines = ["Invoice Date,Invoice ID,Customer ID,Type,Item Total"]
    lines += [
        f"2022-01-{i % 28 + 1:02d},{450000 + i},C{i % 50},Invoice,{i % 90}.50" for i in range(12000)
    ]
    lines += [
        f"2024-11-{i % 28 + 1:02d},{990000 + i},C{i % 50},Credit Note,{i}.25" for i in range(40)
    ]
    path = tmp_path / "Invoice.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > 400_000
    g = guess_table("transactions", read_sample(path, name="transactions"))
    assert g.options["true_values"][0] == ("Credit Note",)
