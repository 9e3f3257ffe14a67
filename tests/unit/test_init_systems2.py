"""``tierwise init`` on exports of eBay, Amazon Seller Central, Stripe, Salesforce, HubSpot and
Exact Online.

Each test writes a few rows as the named system writes them and checks what went wrong on
the real export: eBay's dates (``Mar-01-24``) not read as dates, its buyer's user name and
its ``Sold For`` price missed, Amazon's ``item-price`` (the line's amount, the price times
the quantity) taken for a price per unit, Salesforce's report footer taken for a report's
group headings (the customer made of them), its account's name and its opportunity missed,
lost and open deals counted as sales, HubSpot's associated company missed, Exact's Dutch
currency column and draft and cancelled invoices missed, Stripe's total with tax taken for
revenue and its payment's attempts for the quantity.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from init_support import flat as _flat
from init_support import guess_file as _guess
from init_support import init_file as _init
from tierwise.engine import Engine
from tierwise.io import read_input
from tierwise.settings import TableInput, load_settings
from tierwise.settings.template import init_settings

# -- eBay Seller Hub's orders report --------------------------------------------------------

_EBAY_COLUMNS = [
    *("Sales Record Number", "Order Number", "Buyer Username", "Buyer Name", "Buyer Email"),
    *("Buyer City", "Buyer Zip", "Item Number", "Item Title", "Custom Label", "Quantity"),
    *("Sold For", "Shipping And Handling", "Total Price", "Sale Date", "Paid On Date"),
    *("Shipped On Date", "Transaction ID"),
]


def _ebay() -> str:
    """eBay's orders report (Seller Hub, Orders, Download report): an empty line above the
    names and one under them, dates as Mar-01-24, dollar amounts; an order of several items
    on a line of its own (the buyer, the total) above a line per item; two lines of totals
    and the seller at the end."""
    buyers = [
        ("jdoe_77", "John Doe", "a1b2c3@members.ebay.com"),
        ("retro.finds", "Mary Lane", "d4e5@members.ebay.com"),
        ("bargain-hunter99", "Sam Ortiz", "f6g7@members.ebay.com"),
        ("kc_collects", "Kim Chan", "h8i9@members.ebay.com"),
    ]
    items = [
        ("314159265358", "Vintage Camera Lens 50mm", "LENS-50", 89.00),
        ("271828182845", "Leather Strap", "STRAP-L", 19.50),
        ("161803398874", "Film Roll 36exp", "FILM-36", 12.25),
    ]

    def line(values: dict[str, str]) -> str:
        return ",".join(f'"{values.get(c, "")}"' for c in _EBAY_COLUMNS)

    out = [line({}), ",".join(f'"{c}"' for c in _EBAY_COLUMNS), line({})]
    for o in range(18):
        buyer, name, email = buyers[o % 4]
        date = f"{['Jan', 'Feb', 'Mar'][o // 8]}-{o % 8 * 3 + 1:02d}-24"
        order = {
            "Sales Record Number": str(1001 + o),
            "Order Number": f"{12 + o:02d}-{10450 + o * 3:05d}-{70000 + o * 11:05d}",
            "Buyer Username": buyer,
        }
        buyer_fields = {"Buyer Name": name, "Buyer Email": email, "Buyer City": "Springfield"}
        bought = [items[(o + k) % 3] for k in range(2 if o % 4 == 1 else 1)]
        total = f"${sum(p for *_, p in bought) + 4.99:,.2f}"
        paid = {"Sale Date": date, "Paid On Date": date, "Shipping And Handling": "$4.99"}
        if len(bought) > 1:
            out.append(
                line({**order, **buyer_fields, **paid, "Quantity": "2", "Total Price": total})
            )
        for k, (number, title, label, price) in enumerate(bought):
            fields = {**order, "Sale Date": date, "Transaction ID": str(2000000000 + o * 10 + k)}
            if len(bought) == 1:
                fields |= {**buyer_fields, **paid, "Total Price": total}
            item = {"Item Number": number, "Item Title": title, "Custom Label": label}
            out.append(line({**fields, **item, "Quantity": "1", "Sold For": f"${price:.2f}"}))
    out.append(line({}))
    out.append(line({"Sales Record Number": "18", "Order Number": "record(s) downloaded"}))
    out.append(line({"Sales Record Number": "Seller ID : vintage_optics_shop"}))
    return "\r\n".join(out) + "\r\n"


def test_ebay_dates_buyer_user_name_and_sold_for_are_read(tmp_path: Path) -> None:
    text, parsed = _init(tmp_path, "eBay-OrdersReport-Mar-25-2024.csv", _ebay())
    section = parsed["transactions"]
    assert isinstance(section, dict)
    columns = section["columns"]
    # Mar-01-24: the month's name first, then the day and a two-digit year
    assert columns["date"] == "Sale Date"
    assert section["date_format"] == "%b-%d-%y"
    # the buyer's user name is on every line, the e-mail on an order's first line only
    assert columns["customer_id"] == "Buyer Username"
    # what an item sold for, times the quantity: the order's Total Price (with shipping,
    # on the order's own line) is no line's revenue
    assert columns["unit_price"] == "Sold For"
    assert "revenue" not in columns
    assert "'Jan-01-24'" in text


# -- Amazon Seller Central's All Orders report ----------------------------------------------


def _amazon() -> str:
    """Amazon's All Orders report (tab-separated): item-price is the amount paid for the
    line's quantity, not a price per unit; cancelled lines have no price."""
    columns = [
        *("amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date"),
        *("order-status", "fulfillment-channel", "sales-channel", "ship-service-level"),
        *("product-name", "sku", "asin", "item-status", "quantity", "currency", "item-price"),
        *("item-tax", "shipping-price", "item-promotion-discount", "ship-city"),
        *("ship-postal-code", "ship-country", "is-business-order"),
    ]
    products = [
        ("Widget Pro 12-pack", "WID-12", "B07XJ8C8F5", 24.99),
        ("Cable USB-C 2m", "CAB-2M", "B08L5VJWCV", 9.49),
        ("Desk Lamp LED", "LAMP-01", "B09G3HRMVB", 39.90),
    ]
    rows = ["\t".join(columns)]
    for o in range(30):
        status = ["Shipped", "Shipped", "Shipped", "Cancelled", "Pending", "Shipped"][o % 6]
        when = f"2024-02-{o % 28 + 1:02d}T{8 + o % 10:02d}:10:05+00:00"
        for k in range(o % 2 + 1):
            name, sku, asin, price = products[(o + k) % 3]
            qty = 1 + (o // 2 + k) % 2
            amount = "" if status == "Cancelled" else f"{price * qty:.2f}"
            tax = "" if status == "Cancelled" else f"{price * qty * 0.08:.2f}"
            rows.append(
                "\t".join(
                    [
                        f"11{o}-{3456789 + o * 7:07d}-{1234567 + o * 13:07d}",
                        "",
                        when,
                        when,
                        status,
                        "Amazon" if o % 2 else "Merchant",
                        "Amazon.com",
                        "Expedited" if o % 3 == 0 else "Standard",
                        name,
                        sku,
                        asin,
                        "Unshipped" if status == "Pending" else status,
                        str(qty),
                        "USD",
                        amount,
                        tax,
                        "5.99" if amount else "",
                        "0.00" if amount else "",
                        ["SEATTLE", "Austin", "BROOKLYN", "Denver", "Portland"][o % 5],
                        ["98101-1234", "78701", "11201", "80202-5512", "97201"][o % 5],
                        "US",
                        "false",
                    ]
                )
            )
    return "\n".join(rows) + "\n"


def test_amazon_item_price_is_the_line_amount_not_a_price_per_unit(tmp_path: Path) -> None:
    g = _guess(tmp_path, "All Orders 2024-02.txt", _amazon())
    mapping = g.mapping()
    assert mapping["revenue"] == "item-price"
    assert "unit_price" not in mapping
    assert any(
        n.startswith("'item-price' reads as unit_price, but holds the line's amount")
        for n in g.notes
    )
    assert mapping["date"] == "purchase-date"
    # the report has no buyer: nothing is taken for the customer
    assert "customer_id" not in mapping


def test_a_price_per_unit_stays_unit_price(tmp_path: Path) -> None:
    # the same price on a product's lines whatever the quantity: a price per unit
    rows = ["Order,Customer,Date,SKU,Qty,Item Price"]
    prices = {"A": 5.0, "B": 2.5, "C": 9.0}
    for i in range(24):
        sku = "ABC"[i % 3]
        rows.append(
            f"{100 + i // 2},K{i % 4},2024-01-{i + 1:02d},{sku},{i % 3 + 1},{prices[sku]:.2f}"
        )
    g = _guess(tmp_path, "lines.csv", "\n".join(rows) + "\n")
    assert g.mapping()["unit_price"] == "Item Price"
    assert "revenue" not in g.mapping()


# -- Salesforce's opportunity product report ------------------------------------------------


def _salesforce() -> str:
    """An opportunity product report exported as CSV (Details Only): the account's name and
    no account id, the opportunity's stage, US dates, and a footer of lines of one field
    after a blank one (the report's name, copyright, who ran it, the company)."""
    columns = [
        *("Opportunity Owner", "Account Name", "Opportunity Name", "Stage", "Close Date"),
        *("Product Name", "Product Code", "Quantity", "Sales Price", "Total Price"),
        "Opportunity ID",
    ]
    accounts = ["Acme Corp", "Globex Inc.", "Initech", "Umbrella Holdings", "Stark Industries"]
    stages = ["Closed Won", "Closed Won", "Closed Lost", "Closed Won", "Negotiation/Review"]
    stages += ["Closed Won", "Prospecting"]
    products = [
        ("GenWatt Diesel 1000kW", "GC1060", 100000.0),
        ("Installation: Industrial - High", "IN7080", 85000.0),
        ("SLA: Gold", "SL9060", 20000.0),
    ]
    out = [",".join(f'"{c}"' for c in columns)]
    for o in range(20):
        account = accounts[o % 5]
        for k in range(o % 3 + 1):
            name, code, price = products[(o + k) % 3]
            qty = 1 + (o + k) % 2
            values = [
                *("Jane Smith" if o % 2 else "Raj Patel", account, f"{account} - {o}"),
                *(stages[o % 7], f"{o % 12 + 1}/{o % 27 + 1}/2024", name, code, f"{qty:.2f}"),
                *(f"{price:.2f}", f"{price * qty:.2f}", f"0065g00000{o:03d}XyZAA{o % 10}"),
            ]
            out.append(",".join(f'"{v}"' for v in values))
    out += [
        '""',
        '"Opportunity Product Report"',
        '"Copyright (c) 2000-2024 salesforce.com, inc. All rights reserved."',
        '"Confidential Information - Do Not Distribute"',
        '"Generated By:  Jane Smith  3/25/2024 10:22 AM"',
        '"Acme Sales Co."',
    ]
    return "\n".join(out) + "\n"


def test_salesforce_report_footer_account_name_and_won_stage(tmp_path: Path) -> None:
    text, parsed = _init(tmp_path, "report1711362120000.csv", _salesforce())
    section = parsed["transactions"]
    assert isinstance(section, dict)
    columns = section["columns"]
    # the footer's lines of one field head no rows: no customer made of them
    assert "fill_down" not in section
    assert "Opportunity Product Report" not in text
    # the account's name is the customer where no column identifies it; the opportunity
    # is the order
    assert columns["customer_id"] == "Account Name"
    assert columns["order_id"] == "Opportunity ID"
    assert columns["date"] == "Close Date"
    # a lost or still open deal is no sale: only the won ones are kept
    assert section["keep_rows"] == {"Stage": ["Closed Won"]}
    assert "'Stage' holds Closed Won (" in text


def test_a_footer_of_one_field_lines_is_said_as_such_not_as_group_headings(
    tmp_path: Path,
) -> None:
    path = tmp_path / "report.csv"
    path.write_text(_salesforce(), encoding="utf-8")
    raw = read_input("transactions", path, TableInput(), Engine())
    said = [w for w in raw.warnings if "one field" in w]
    assert len(said) == 1
    assert "the last 5 lines, after the rows, are a footer of one field each" in said[0]
    assert "'Opportunity Product Report'" in said[0]
    assert "fill_down" not in said[0]


# -- Exact Online's sales invoice lines (Dutch) ---------------------------------------------


def _nl(v: float) -> str:
    """An amount as a Dutch export writes it: 1.249,00."""
    text = f"{abs(v):,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return ("-" if v < 0 else "") + text


def _exact() -> str:
    """Exact Online's sales invoice lines, exported in Dutch (semicolons, decimal commas,
    Windows-1252): the currency in Valuta, draft (Concept) and cancelled (Geannuleerd)
    invoices beside processed ones (Verwerkt), a credit note with a negative quantity."""
    rows = [
        "Factuurnummer;Factuurdatum;Debiteur;Naam;Artikel;Omschrijving;Aantal;"
        "Prijs per eenheid;Korting;Bedrag excl. btw;Btw-bedrag;Valuta;Status"
    ]
    debtors = [
        ("1001", "Bakkerij de Vries B.V."),
        ("1002", "Jansen Installatietechniek"),
        ("1003", "Café 't Hoekje"),
        ("1004", "Van Dijk Logistiek"),
    ]
    items = [
        ("ART-100", "Koffiebonen 1kg", 18.5),
        ("ART-200", "Espressomachine Pro", 1249.0),
        ("ART-300", "Onderhoudsbeurt", 95.0),
    ]
    statuses = ["Verwerkt", "Verwerkt", "Verwerkt", "Concept", "Verwerkt", "Geannuleerd"]
    for i in range(24):
        code, name = debtors[i % 4]
        for k in range(i % 2 + 1):
            item, text, price = items[(i + k) % 3]
            qty = (k + 1) * (2 if price < 100 else 1)
            discount = round(price * qty * 0.05, 2) if i % 3 == 0 else 0.0
            net = price * qty - discount
            rows.append(
                f"{20240001 + i};{i % 28 + 1:02d}-{i // 8 + 1:02d}-2024;{code};{name};{item};"
                f"{text};{qty};{_nl(price)};{_nl(discount)};{_nl(net)};{_nl(net * 0.21)};EUR;"
                f"{statuses[i % 6]}"
            )
    rows.append(
        "20240025;28-03-2024;1002;Jansen Installatietechniek;ART-200;"
        "Creditnota: Espressomachine Pro;-1;1.249,00;0,00;-1.249,00;-262,29;EUR;Verwerkt"
    )
    return "\r\n".join(rows) + "\r\n"


def test_exact_online_valuta_and_dutch_draft_and_cancelled_invoices(tmp_path: Path) -> None:
    path = tmp_path / "Verkoopfacturen.csv"
    path.write_bytes(_exact().encode("cp1252"))
    settings = tmp_path / "tierwise.toml"
    text = init_settings({"transactions": path}, settings_path=settings).text
    settings.write_text(text, encoding="utf-8")
    load_settings(settings)
    section = tomllib.loads(text)["transactions"]
    columns = section["columns"]
    assert columns["customer_id"] == "Debiteur"
    assert columns["revenue"] == "Bedrag excl. btw"
    # Valuta: the currency, in Dutch (and Italian, Romanian)
    assert columns["currency"] == "Valuta"
    # Concept is a draft, Geannuleerd cancelled: no sale
    assert section["exclude_rows"] == {"Status": ["Concept", "Geannuleerd"]}


# -- Stripe's invoices export ----------------------------------------------------------------


def _stripe() -> str:
    """Stripe's invoices export (Dashboard, Invoices, Export): one row an invoice, amounts
    in major units, Total = Subtotal + Tax, the payment's Attempt Count, statuses paid,
    open, void, draft and uncollectible."""
    rows = [
        "id,Customer,Customer Email,Customer Name,Date (UTC),Due Date (UTC),Number,Status,"
        "Subscription,Amount Due,Amount Paid,Amount Remaining,Currency,Subtotal,Total,Tax,"
        "Attempt Count,Paid,Closed,Forgiven,Application Fee Amount"
    ]
    customers = [
        ("cus_PqR7sT2uVw3xYz", "ops@acme.io", "Acme Inc"),
        ("cus_Ab1Cd2Ef3Gh4Ij", "billing@globex.com", "Globex"),
        ("cus_Kl5Mn6Op7Qr8St", "ap@initech.co", "Initech"),
        ("cus_Uv9Wx0Yz1Ab2Cd", "finance@hooli.xyz", "Hooli"),
    ]
    statuses = ["paid", "paid", "paid", "open", "void", "draft", "paid", "uncollectible"]
    for i in range(30):
        cus, email, name = customers[i % 4]
        status = statuses[i % 8]
        sub = [49.0, 199.0, 1490.0, 29.0][i % 4] * (1 + i % 2)
        tax = round(sub * 0.08, 2)
        total = sub + tax
        paid = total if status == "paid" else 0.0
        number = "" if status == "draft" else f"A1B2C3D4-{i + 1:04d}"
        when = f"2024-{i // 10 + 1:02d}-{i % 10 * 3 + 1:02d} 14:22:05"
        due = f"2024-{i // 10 + 2:02d}-{i % 10 * 3 + 1:02d} 14:22:05"
        closed = "true" if status in ("paid", "void", "uncollectible") else "false"
        rows.append(
            f"in_1Ox{i:03d}AbCdEfGh,{cus},{email},{name},{when},{due},{number},{status},"
            f"sub_1N{i % 4}Xyz,{total:.2f},{paid:.2f},{total - paid:.2f},usd,{sub:.2f},"
            f"{total:.2f},{tax:.2f},{0 if status == 'draft' else 1},"
            f"{'true' if status == 'paid' else 'false'},{closed},false,"
        )
    return "\n".join(rows) + "\n"


def test_stripe_revenue_is_before_tax_and_attempts_are_no_quantity(tmp_path: Path) -> None:
    text, parsed = _init(tmp_path, "invoices.csv", _stripe())
    section = parsed["transactions"]
    assert isinstance(section, dict)
    columns = section["columns"]
    assert columns["customer_id"] == "Customer"
    # Total is Subtotal plus Tax on every row: revenue is the amount before tax
    assert columns["revenue"] == "Subtotal"
    assert "\"Total\": reads as revenue, but is 'Subtotal' plus tax 'Tax'" in _flat(text)
    # the payment's tries are no units sold
    assert "quantity" not in columns
    assert section["exclude_rows"] == {"Status": ["void", "draft"]}
    # an invoice written off may be a sale or not, as the business counts it
    assert 'exclude_rows = {"Status" = ["void", "draft", "uncollectible"]}' in text


def _ledger(names: str, gross_first: bool) -> str:
    """A ledger of 30 invoices with VAT on 3 of them: the amount with VAT and the one
    before it are the same on the other 27."""
    rows = [f"Invoice,Date,Customer,{names},VAT"]
    for i in range(30):
        net = 100.0 + 7 * i
        vat = round(net * 0.2, 2) if i % 10 == 2 else 0.0
        amounts = (net + vat, net) if gross_first else (net, net + vat)
        rows.append(
            f"INV{i},2024-01-{i % 28 + 1:02d},C{i % 5},{amounts[0]:.2f},{amounts[1]:.2f},{vat:.2f}"
        )
    return "\n".join(rows) + "\n"


def test_revenue_is_not_moved_to_the_amount_with_tax_where_most_rows_have_no_tax(
    tmp_path: Path,
) -> None:
    # with VAT 0 on most rows the amount with VAT equals revenue there: only the rows
    # with VAT tell which amount is before it
    g = _guess(tmp_path, "ledger.csv", _ledger("Gross,Net", gross_first=True))
    assert g.mapping()["revenue"] == "Net"
    g = _guess(tmp_path, "ledger2.csv", _ledger("Amount,Total incl. VAT", gross_first=False))
    assert g.mapping()["revenue"] == "Amount"
    # Stripe's Amount Due is the Total; Subtotal is the amount before Tax
    rows = ["id,Customer,Date (UTC),Status,Amount Due,Currency,Subtotal,Total,Tax"]
    for i in range(30):
        sub = 49.0 + 13 * i
        tax = round(sub * 0.08, 2) if i % 10 == 3 else 0.0
        rows.append(
            f"in_{i:04d},cus_{i % 4}AbC,2024-01-{i % 28 + 1:02d} 14:22:05,paid,"
            f"{sub + tax:.2f},usd,{sub:.2f},{sub + tax:.2f},{tax:.2f}"
        )
    g = _guess(tmp_path, "invoices.csv", "\n".join(rows) + "\n")
    assert g.mapping()["revenue"] == "Subtotal"


# -- HubSpot's deals export ------------------------------------------------------------------


def test_hubspot_deals_associated_company_is_the_customer_and_only_won_deals_count(
    tmp_path: Path,
) -> None:
    rows = [
        "Record ID,Deal Name,Deal Stage,Close Date,Amount,Pipeline,Deal owner,"
        "Associated Company,Associated Company IDs,Create Date,Deal Type"
    ]
    companies = [("Acme Corp", "9876543210"), ("Globex", "9876543211"), ("Initech", "9876543212")]
    stages = ["Closed Won", "Closed Won", "Closed Lost", "Appointment Scheduled", "Contract Sent"]
    for i in range(30):
        name, company = companies[i % 3]
        rows.append(
            f"{15000000000 + i * 7},{name} - renewal {i},{stages[i % 5]},"
            f"2024-{i % 12 + 1:02d}-{i % 27 + 1:02d} 17:00,{[5000, 12000, 750][i % 3] * 2},"
            f"Sales Pipeline,Jane Smith,{name},{company},2023-{i % 12 + 1:02d}-01 09:12,"
            f"{'existingbusiness' if i % 3 else 'newbusiness'}"
        )
    _, parsed = _init(tmp_path, "hubspot-crm-exports-all-deals.csv", "\n".join(rows) + "\n")
    section = parsed["transactions"]
    assert isinstance(section, dict)
    assert section["columns"]["customer_id"] == "Associated Company IDs"
    assert section["columns"]["revenue"] == "Amount"
    assert section["keep_rows"] == {"Deal Stage": ["Closed Won"]}


# -- footers and group headings ------------------------------------------------------------


def test_a_report_aligned_in_columns_keeps_its_group_headings(tmp_path: Path) -> None:
    # text aligned in columns with a heading of one word above each customer's lines: the
    # headings are no footer, though the lines hold no tab
    rows = ["Date        Invoice   Amount"]
    for name in ("Acme", "Beta", "Gamma", "Delta"):
        rows.append(name)
        rows += [f"2024-01-0{i + 1}  INV-{name[0]}{i}     {10 + i}.00" for i in range(4)]
    g = _guess(tmp_path, "report.txt", "\n".join(rows) + "\n")
    assert g.mapping()["customer_id"] == "Customer"
    assert g.options["fill_down"][0] == ("Customer",)


def _grouped_with_a_multiline_last_value() -> str:
    """A report grouped by customer (a heading line above each customer's invoices) whose
    last row's description is quoted over three lines."""
    return (
        'Date,Invoice,Amount,Description\n"Acme, Ltd"\n2024-01-02,INV-1,10,Widgets\n'
        "2024-01-05,INV-2,5,Gadgets\nBeta Co\n2024-01-03,INV-3,7,Bolts\nGamma Inc\n"
        '2024-02-03,INV-4,9,Nuts\n2024-02-04,INV-5,9,"Consulting\nphase 2\nsite visit"\n'
    )


def test_the_lines_of_a_quoted_value_in_the_last_row_are_no_footer(tmp_path: Path) -> None:
    g = _guess(tmp_path, "sales.csv", _grouped_with_a_multiline_last_value())
    assert g.mapping()["customer_id"] == "Customer"
    assert g.options["fill_down"][0] == ("Customer",)
    raw = read_input("transactions", tmp_path / "sales.csv", TableInput(), Engine())
    said = [w for w in raw.warnings if "one field" in w]
    assert len(said) == 1
    assert "footer" not in said[0]
    assert "3 lines hold one field only" in said[0]


def test_a_cashiers_user_name_is_no_customer(tmp_path: Path) -> None:
    # a till's export: Username is who rang the sale up, not who bought
    rows = ["Date,Receipt,Username,Item,Qty,Total"]
    for i in range(24):
        qty = 1 + i % 2
        rows.append(
            f"2024-01-{i % 28 + 1:02d},R{100 + i},{['jsmith', 'akhan', 'lwu'][i % 3]},"
            f"{['Latte', 'Muffin'][i % 2]},{qty},{4.5 * qty:.2f}"
        )
    g = _guess(tmp_path, "pos.csv", "\n".join(rows) + "\n")
    assert "customer_id" not in g.mapping()


def _sales_with(column: str, values: list[str]) -> str:
    rows = [f"Date,Invoice,Customer,Amount,{column}"]
    for i in range(24):
        rows.append(
            f"2024-01-{i % 28 + 1:02d},INV{i},C{i % 5},{1000 + 10 * i},{values[i % len(values)]}"
        )
    return "\n".join(rows) + "\n"


def test_status_words_on_a_column_not_named_as_a_status_leave_every_row_in(
    tmp_path: Path,
) -> None:
    # Concept is a draft in a Dutch Status column, a product's phase or collection elsewhere
    for column in ("Phase", "Collection"):
        g = _guess(tmp_path, "sales.csv", _sales_with(column, ["Concept", "Design", "Modern"]))
        assert "exclude_rows" not in g.options, column
    g = _guess(tmp_path, "sales.csv", _sales_with("Status", ["Concept", "Betaald", "Open"]))
    assert g.options["exclude_rows"][0] == {"Status": ("Concept",)}
    # Won is Korea's currency as well as a deal's stage
    g = _guess(tmp_path, "sales.csv", _sales_with("Currency Name", ["Dollar", "Won", "Euro"]))
    assert "keep_rows" not in g.options
    g = _guess(tmp_path, "sales.csv", _sales_with("Deal Stage", ["Lost", "Won", "Open"]))
    assert g.options["keep_rows"][0] == {"Deal Stage": ("Won",)}


def _priced_lines(names: str, products: int) -> str:
    """Lines of ``products`` products, each bought once as 1 and once as 2 units, the
    price column doubling with the quantity."""
    rows = [names]
    for p in range(products):
        for q in (1, 2):
            i = 2 * p + q
            rows.append(f"INV{i},2024-01-{i:02d},C{i % 3},{'ABCDEF'[p]},{q},{(5 + p) * q:.2f}")
    return "\n".join(rows) + "\n"


def test_a_price_growing_with_the_quantity_is_revenue_only_on_enough_products_unless_named(
    tmp_path: Path,
) -> None:
    names = "Invoice,Date,Customer,SKU,Qty,Price"
    g = _guess(tmp_path, "three.csv", _priced_lines(names, 3))
    assert g.mapping()["revenue"] == "Price"
    # two products may double by chance
    g = _guess(tmp_path, "two.csv", _priced_lines(names, 2))
    assert g.mapping()["unit_price"] == "Price"
    # a column named unit_price is the price per unit
    canon = "order_id,date,customer_id,product_id,quantity,unit_price"
    g = _guess(tmp_path, "canon.csv", _priced_lines(canon, 3))
    sources = {c.canonical: c.source for c in g.columns}
    assert sources["unit_price"] == "unit_price"
    assert "revenue" not in sources


def test_pipedrive_deals_won_time_is_the_date(tmp_path: Path) -> None:
    rows = [
        "Deal - Title,Deal - Value,Deal - Currency,Deal - Status,Deal - Won time,"
        "Deal - Organization,Deal - ID"
    ]
    for i in range(30):
        rows.append(
            f"Deal {i},{1000 + 10 * i},USD,{['won', 'lost', 'open'][i % 3]},"
            f"2024-01-{i % 28 + 1:02d} 10:00:00,Org {i % 4},{500 + i}"
        )
    g = _guess(tmp_path, "deals.csv", "\n".join(rows) + "\n")
    assert g.mapping()["date"] == "Deal - Won time"
    assert g.mapping()["order_id"] == "Deal - ID"


def test_a_report_footer_makes_no_customer_where_the_file_names_none(tmp_path: Path) -> None:
    # the report's name, copyright and who ran it, under the rows: no group headings
    rows = ['"Close Date","Opportunity Name","Product","Quantity","Total Price"']
    for i in range(20):
        qty = 1 + i % 2
        rows.append(f'"{i % 12 + 1}/{i + 1}/2024","Opp {i}","P{i % 3}","{qty}","{100 * qty:.2f}"')
    rows += [
        '""',
        '"Opportunity Product Report"',
        '"Copyright (c) 2000-2024 salesforce.com, inc. All rights reserved."',
        '"Confidential Information - Do Not Distribute"',
        '"Generated By:  Jane Smith  3/25/2024 10:22 AM"',
        '"Acme Sales Co."',
    ]
    g = _guess(tmp_path, "report.csv", "\n".join(rows) + "\n")
    assert "customer_id" not in g.mapping()
    assert "fill_down" not in g.options
