"""``tierwise init`` reads ERP column names and document-type words as the ERPs mean them.

Column names as Navision / Business Central, SAP (English headers), DATEV-style German and US
ERP exports write them, each read from its name alone; and the words a document-type column
(Belegart, Document Type) holds for an invoice and for a return.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from tierwise.settings._guess import READ_FALSE, READ_TRUE
from tierwise.settings._words import document_kind, words
from tierwise.settings.template import guess_columns
from tierwise.validate import _FALSE, _TRUE


@pytest.mark.parametrize(
    ("table", "name", "canonical"),
    [
        # a price extended by the quantity is the line's amount, as is a bare "Netto"
        ("transactions", "Extended Price", "revenue"),
        ("transactions", "Ext Price", "revenue"),
        ("transactions", "Ext. Price", "revenue"),
        ("transactions", "ExtPrice", "revenue"),
        ("transactions", "Extended Cost", "cost"),
        ("transactions", "Ext. Cost", "cost"),
        ("transactions", "Netto", "revenue"),
        # AdventureWorks' ExtendedAmount stays the amount before discount
        ("transactions", "ExtendedAmount", "list_revenue"),
        # Navision / Business Central, SAP
        ("transactions", "Sell-to Customer No.", "customer_id"),
        ("transactions", "Bill-to Customer No.", "customer_id"),
        ("transactions", "Sold-to Party", "customer_id"),
        ("transactions", "Sold-To Party", "customer_id"),
        ("transactions", "Billing Document", "order_id"),
        ("transactions", "Billed Quantity", "quantity"),
        ("transactions", "Invoiced Quantity", "quantity"),
        ("payments", "Billing Document", "invoice_id"),
        ("payments", "Closed at Date", "paid_date"),
        # German "am" (on): a date
        ("payments", "Fällig am", "due_date"),
        ("payments", "Bezahlt am", "paid_date"),
        ("customers", "Angelegt am", "created_date"),
        ("customers", "Erstellt am", "created_date"),
        ("customers", "Erfasst am", "created_date"),
        # read already, kept so
        ("transactions", "Belegdatum", "date"),
        ("transactions", "Buchungsdatum", "date"),
        ("transactions", "Posting Date", "date"),
        ("transactions", "Document Date", "date"),
        ("transactions", "Billing Date", "date"),
        ("transactions", "Nettobetrag", "revenue"),
        ("transactions", "Net Amount", "revenue"),
        ("transactions", "Net Value", "revenue"),
        ("transactions", "Amount (LCY)", "revenue"),
        ("transactions", "Amount", "revenue"),
        ("transactions", "Customer No.", "customer_id"),
        ("transactions", "Kundennummer", "customer_id"),
        ("transactions", "Debitor", "customer_id"),
        ("transactions", "Debitorennummer", "customer_id"),
        ("transactions", "Artikelnummer", "product_id"),
        ("transactions", "Material", "product_id"),
        ("transactions", "Menge", "quantity"),
        ("payments", "Payment Date", "paid_date"),
    ],
)
def test_an_erp_column_name_reads_as_its_canonical_column(
    table: str, name: str, canonical: str
) -> None:
    assert guess_columns(table, ["Other", name]) == {canonical: name}


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Bill-to Customer No.", ["billto", "customer", "no"]),
        ("Sell-to Customer No.", ["customer", "customer", "no"]),
        ("Sold-To Party", ["customer", "party"]),
        ("Fällig am", ["fallig"]),
        ("Ext. Price", ["ext", "price"]),
    ],
)
def test_erp_column_names_are_read_as_words(name: str, parts: list[str]) -> None:
    assert words(name) == parts


@pytest.mark.parametrize("ext", ["Ext Price", "Ext. Price", "Extended Price"])
def test_an_extended_price_is_never_a_unit_price(ext: str) -> None:
    assert guess_columns("transactions", ["Customer", "Invoice Date", ext]) == {
        "customer_id": "Customer",
        "date": "Invoice Date",
        "revenue": ext,
    }
    assert guess_columns("transactions", ["Customer", "Invoice Date", "Price", ext]) == {
        "customer_id": "Customer",
        "date": "Invoice Date",
        "revenue": ext,
        "unit_price": "Price",
    }


@pytest.mark.parametrize(
    "header",
    [
        ["Bill-to Customer No.", "Sell-to Customer No.", "Posting Date", "Amount"],
        ["Sell-to Customer No.", "Bill-to Customer No.", "Posting Date", "Amount"],
        ["Payer", "Sold-to Party", "Billing Date", "Net Value"],
    ],
)
def test_the_customer_who_ordered_wins_over_the_one_billed(header: list[str]) -> None:
    """Sell-to (Navision) and Sold-to (SAP) name the customer; Bill-to and Payer who pays."""
    got = guess_columns("transactions", header)
    assert got["customer_id"] in ("Sell-to Customer No.", "Sold-to Party")


@pytest.mark.parametrize(
    "name", ["Einstandspreis", "Unit Cost", "Unit Cost (LCY)", "ProductStandardCost"]
)
def test_a_cost_per_unit_is_unit_cost_not_the_lines_cost(name: str) -> None:
    got = guess_columns("transactions", ["Kunde", "Datum", "Umsatz", name])
    # "Unit Cost" is the canonical name itself, read without a mapping
    mapped = {} if name == "Unit Cost" else {"unit_cost": name}
    assert got == {"customer_id": "Kunde", "date": "Datum", "revenue": "Umsatz", **mapped}


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("Rechnung", False),
        ("Gutschrift", True),
        ("Storno", True),
        ("Faktura", False),
        ("Invoice", False),
        ("Credit Memo", True),
        ("Credit Note", True),
        ("credit-note", True),
        ("Return", True),
        ("Facture", False),
        ("Avoir", True),
        ("Factura", False),
        ("Nota de crédito", True),
        ("Abono", True),
        ("Factuur", False),
        ("Creditnota", True),
        ("Fattura", False),
        ("Nota di credito", True),
        ("Lieferschein", None),
        ("Payment", None),
        ("Reminder", None),
    ],
)
def test_document_types_read_as_invoices_or_returns(value: str, kind: bool | None) -> None:
    assert document_kind(value) is kind


def test_the_words_init_counts_as_true_or_false_are_those_validation_reads() -> None:
    # a document-type column is proposed only when every value reads back: the built-in
    # words init leaves out of true_values and false_values must be those validation reads
    assert set(READ_TRUE) == set(_TRUE)
    assert set(READ_FALSE) == set(_FALSE)


def test_texts_a_run_reads_as_empty_do_not_hide_a_columns_kind() -> None:
    # SAP's open items: most paid dates are the open-ended 31.12.9999; NULL and #N/A in a
    # number column; the column is still dates, or numbers, as the run reads it
    from tierwise.settings._guess import profile

    paid = profile(pa.array(["31.12.9999"] * 8 + ["05.02.2024", "17.03.2024"]))
    assert paid.date == 1.0 and paid.n == 2
    amounts = profile(pa.array(["NULL", "#N/A", "12,50", "3,99", "n/a"]))
    assert amounts.number == 1.0 and amounts.decimal == ","


# -- a count of things is a quantity; a number identifying one is not ----------------------------

#: sampled lines: a customer, a date, an amount, and the column under test
_LINES = {
    "Kunde": ["K1", "K2", "K1", "K3", "K2", "K1"],
    "Datum": ["2024-01-05", "2024-01-09", "2024-02-01", "2024-02-03", "2024-03-01", "2024-03-04"],
    "Umsatz": ["12.50", "3.99", "25.00", "7.10", "8.00", "19.90"],
}


def _guess_with(name: str, values: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The mapping init proposes for the sampled lines with a column ``name`` holding
    ``values``, and the notes on the columns it leaves out."""
    from tierwise.io.sample import Sample
    from tierwise.settings._guess import guess_table

    t = pa.table({**_LINES, name: values})
    g = guess_table("transactions", Sample("x.csv", "csv", t.column_names, t))
    return g.mapping(), dict(g.unmapped)


@pytest.mark.parametrize(
    "name",
    [
        "number_of_cds",
        "Number of Items",
        "NumberOfUnits",
        "No. of Units",
        "no_of_pieces",
        "# of items",
        "num_items",
        "num_cds",
        "n_items",
        "n_cds",
        "count_of_items",
        "count_of_cds",
        "item_count",
        "cd_count",
        "ItemCount",
        # read as a quantity already, kept so
        "Anzahl",
        "Menge",
        "Quantité",
        "Cantidad",
        "Stückzahl",
    ],
)
def test_a_count_of_things_is_the_quantity(name: str) -> None:
    mapping, _ = _guess_with(name, ["1", "2", "1", "4", "1", "3"])
    assert mapping.get("quantity") == name


@pytest.mark.parametrize(
    ("name", "reads_as"),
    [
        # a number identifying a customer, an invoice or an order, and a number alone (an
        # invoice's, as QuickBooks' "Num"), also where its values are small whole numbers
        ("customer number", "customer_id"),
        ("Kundennummer", "customer_id"),
        ("num_cliente", "customer_id"),
        ("invoice number", "order_id"),
        ("Number of invoice", "order_id"),
        ("N° de facture", "order_id"),
        ("Número de pedido", "order_id"),
        ("order no", "order_id"),
        ("number", "order_id"),
        # a count of customers or orders counts no units
        ("number of orders", None),
        ("n_lines", None),
        ("customer_count", None),
    ],
)
def test_a_number_that_identifies_or_counts_no_units_is_not_the_quantity(
    name: str, reads_as: str | None
) -> None:
    header = [n for n in _LINES if n != "Kunde"] if reads_as == "customer_id" else list(_LINES)
    from tierwise.settings.template import guess_columns as guess

    t = pa.table({**{n: _LINES[n] for n in header}, name: ["1", "2", "1", "4", "1", "3"]})
    mapping = guess("transactions", t.column_names, t)
    assert "quantity" not in mapping
    if reads_as is not None:
        assert mapping[reads_as] == name
    else:
        assert name not in mapping.values()


@pytest.mark.parametrize(
    ("values", "described"),
    [
        (["1.5", "2.25", "0.5", "4.75", "1.2", "3.3"], "numbers with decimals"),
        (["40210", "40211", "50212", "40213", "60214", "40215"], "whole numbers 40210 to 60214"),
        (["-1", "-2", "-1", "-4", "-1", "3"], "whole numbers -4 to 3"),
    ],
)
def test_a_count_whose_values_are_no_small_whole_numbers_is_not_the_quantity(
    values: list[str], described: str
) -> None:
    mapping, unmapped = _guess_with("number_of_cds", values)
    assert "quantity" not in mapping
    assert unmapped["number_of_cds"] == (
        f"the name reads as a count, quantity, but the values are not small whole numbers "
        f"({described})"
    )


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("number_of_cds", ["count"]),
        ("Number of Items", ["count", "items"]),
        ("n_orders", ["count", "orders"]),
        ("cd_count", ["count"]),
        ("customer number", ["customer", "number"]),
        ("invoice number", ["invoice", "number"]),
        ("Number of invoice", ["number", "invoice"]),
        ("n_status", ["n", "status"]),
        ("N° de factures", ["n", "factures"]),
    ],
)
def test_a_count_is_read_from_number_of_and_a_plural(name: str, parts: list[str]) -> None:
    assert words(name) == parts


@pytest.mark.parametrize(
    ("table", "name", "canonical"),
    [
        # a count of employees, hours or minutes is that column, not a quantity
        ("customers", "Number of Employees", "employees"),
        ("reps", "Number of Hours", "hours_per_year"),
        ("activities", "Number of Minutes", "duration_minutes"),
    ],
)
def test_a_count_of_a_unit_is_that_units_column(table: str, name: str, canonical: str) -> None:
    assert guess_columns(table, ["Other", name]).get(canonical) == name
