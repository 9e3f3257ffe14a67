"""Which column of a user's file is which canonical column: the guesses of ``tierwise init``.

Two kinds of evidence, in this order:

1. **The name.** A column name is read as words (:mod:`tierwise.settings._words`), each
   standing for concepts. A canonical column is described by the concepts it needs
   (``customer_id``: CUSTOMER and ID, or CUSTOMER alone), the concepts that may qualify it
   (``date``: INVOICE, ORDER …) and those that rule it out. The name score is the share of
   the name's words the description explains, times the weight of the description that
   matched; a word that names another canonical column (DATE in ``OrderDateKey`` for
   ``order_id``) rules the match out.
2. **The values**, from a sample of the file: dates, numbers with or without decimals,
   small whole numbers, codes repeating across rows, e-mail addresses, coordinates in range.
   Values that contradict the name (a "date" column of text) drop the guess; otherwise they
   break ties between names, and they alone guess a required column when exactly one
   unnamed column fits it.

Each source column is given to at most one canonical column and each canonical column takes
at most one source column: the best-scoring pairs first, ties broken by the order of the
canonical columns and then of the file's columns. A canonical column whose column went to a
better match says so (``contested``).

A column naming each line's document type (``Belegart``: Rechnung, Gutschrift) is taken as
``is_return`` when every value is an invoice's or a return's word, which are proposed as
the table's ``true_values`` and ``false_values``; failing one, a debit/credit flag (DATEV's
``Soll/Haben-Kennzeichen``: S, H) is, with the credit as the return. A debit and a credit
column of amounts are neither revenue, and a note says how to combine them.

A column holding one value in every one of many sampled rows identifies nothing: it is
never a customer, order, product or invoice id. A column filled on fewer than half the rows
(a shop's order-level field, on each order's first line) comes after a full one, and
revenue is then unit_price × quantity of each line.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from ..io.sample import Sample
from ..schema import MONEY_COLUMNS, TABLES, Column, column_key
from ._words import (
    ACCOUNTING_CURRENCY,
    CREDIT_WORDS,
    DEBIT_CREDIT_FLAGS,
    DEBIT_WORDS,
    DELETED_FLAGS,
    concepts_of,
    document_codes,
    document_kind,
    fold,
    ledger_account,
    no_sale_document,
    sales_journal,
    status_kind,
    status_name,
    won_stage,
    words,
)
from .validate import ValidateSettings

__all__ = ["ColumnGuess", "Profile", "TableGuess", "guess_table", "input_columns", "profile"]

#: a name score at least this high maps an optional column; required ones need NAME_REQUIRED
NAME_OPTIONAL = 0.6
NAME_REQUIRED = 0.5
#: below this share of values fitting the column's kind, the values overrule the name
CONTENT_VETO = 0.5
#: a column guessed from its values alone fits this well, and is the only one that does
CONTENT_ALONE = 0.8
#: the fewest non-empty sampled values that count as evidence
MIN_VALUES = 3
#: a column holding one value in at least this many sampled rows is a constant (a ledger
#: account, a company code), never an identifier of customers, orders or products
MIN_CONSTANT_ROWS = 20
#: a column filled on less than this share of the sampled rows loses to a full one
SPARSE = 0.5
#: the share of the sampled rows a full column fills
FULL = 0.9
#: the largest median of a column of counts (number_of_cds: 1 to 40 a line)
MAX_COUNT = 1000
#: the identifiers a constant column cannot be
_VARYING_IDS = frozenset({"customer_id", "order_id", "product_id", "invoice_id"})

_DERIVED = {
    "transactions": (
        Column(
            "unit_price",
            "number",
            doc="price per unit (revenue = unit_price × quantity); with a discount mapped, "
            "the price before the line's discount (revenue = unit_price × quantity less it)",
        ),
        Column(
            "discount_amount",
            "number",
            doc="discount on the line (list_revenue = revenue + discount_amount)",
        ),
        Column(
            "discount_percent",
            "number",
            doc="discount on the line as a percent of its list amount (10 = 10%)",
            percent=True,
        ),
        Column("unit_cost", "number", doc="cost of goods per unit (cost = unit_cost × quantity)"),
    )
}
_STAND_INS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "transactions": (("revenue", ("unit_price", "quantity")),)
}


def input_columns(table: str) -> tuple[Column, ...]:
    """Every column a file of ``table`` may map: the canonical ones and those deriving one.

    Examples
    --------
    >>> [c.name for c in input_columns("payments")]
    ['invoice_id', 'customer_id', 'due_date', 'paid_date', 'amount']
    """
    spec = TABLES[table]
    cols = getattr(spec, "input_columns", None)
    if cols is None:
        # derived columns (unit_price, discount_amount, unit_cost) where the schema lacks them
        cols = spec.columns + _DERIVED.get(table, ())
    return tuple(cols)


def _stand_ins(table: str) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Required columns other columns may stand in for, each with the ways they may
    (revenue: unit_price × quantity, or a ledger's debit_amount and credit_amount)."""
    pairs: tuple[tuple[str, tuple[str, ...]], ...] = getattr(
        TABLES[table], "stand_ins", None
    ) or _STAND_INS.get(table, ())
    out: dict[str, tuple[tuple[str, ...], ...]] = {}
    for name, others in pairs:
        out[name] = (*out.get(name, ()), others)
    return out


def _stood_in(ways: tuple[tuple[str, ...], ...], guesses: Mapping[str, object]) -> bool:
    """Whether every column of one of the ``ways`` is guessed."""
    return any(all(o in guesses for o in others) for others in ways)


# -- what each canonical column is called ------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    #: (concepts all needed, weight) — the best alternative that matches counts
    alts: tuple[tuple[frozenset[str], float], ...]
    quals: frozenset[str] = frozenset()
    vetoes: frozenset[str] = frozenset()


def _spec(alts: dict[str, float], quals: str = "", vetoes: str = "") -> _Spec:
    return _Spec(
        tuple((frozenset(k.split()), w) for k, w in alts.items()),
        frozenset(quals.split()),
        frozenset(vetoes.split()),
    )


#: a sum of money is not a percentage, a margin, a tax, nor a number identifying something
_MONEY_VETO = "PERCENT MARGIN TAX INCLTAX ID"
#: words that qualify any money column: its currency (Amount (LCY)) or that it is booked
#: (Cost Amount (Actual))
_MONEY_QUALS = "CURRENCY ACTUAL"
_DATE_QUALS = "INVOICE ORDER DOCUMENT SALES POSTING TRANSACTION TIME CLOSE ACTUAL"
#: billing, shipping or the customer's own address
_ADDRESS_QUALS = "CUSTOMER COMPANY INVOICE SHIPPING PAYER"

_SPECS: dict[str, _Spec] = {
    # an e-mail address identifies the customer in many shop exports; the customer billed
    # or paying (Bill-to Customer No., Payer) gives way to the one who ordered (Sell-to
    # Customer No., Sold-to Party); a business partner alone (Odoo's Partner, Partner/ID)
    # is the customer of a sales ledger; an organisation's account (Pipedrive's
    # Organization - ERP account no.) is the customer's; the customer's e-mail identifies
    # a shop's customer without an id (Magento's Customer Email)
    "customer_id": _spec(
        {
            "CUSTOMER ID": 1.0,
            "CUSTOMER": 0.9,
            "PAYER CUSTOMER ID": 0.95,
            "PAYER ID": 0.9,
            "PAYER CUSTOMER": 0.85,
            "PARTNER ID": 0.85,
            "PAYER": 0.8,
            "PARTNER": 0.75,
            "CUSTOMER EMAIL": 0.6,
            "EMAIL": 0.6,
        },
        "PARTNER COMPANY",
    ),
    # "Created at" of an order export is its date
    "date": _spec({"DATE": 1.0, "CREATED": 0.7}, _DATE_QUALS),
    # a price extended by the quantity is the line's amount (Ext. Price); "Netto" alone
    # too; an item's amount (Item Total) is the line's; a subtotal before shipping and tax
    # (Magento's Subtotal)
    "revenue": _spec(
        {"SALES": 0.95, "AMOUNT": 0.9, "EXTENDED PRICE": 0.9, "SUBTOTAL": 0.85, "NET": 0.8},
        f"SALES AMOUNT NET LINE PRODUCT INVOICE ORDER {_MONEY_QUALS}",
        f"{_MONEY_VETO} GROSS LIST",
    ),
    "order_id": _spec(
        {
            "ORDER ID": 1.0,
            "INVOICE ID": 1.0,
            "DOCUMENT ID": 0.95,
            "ORDER": 0.9,
            "INVOICE": 0.9,
            "DOCUMENT": 0.85,
            # a number alone on an invoice line is the invoice's (QuickBooks' "Num")
            "ID": 0.65,
        },
        "SALES INVOICE DOCUMENT",
        "LINE",
    ),
    # an item's name where no column numbers it (FreshBooks' Item Name)
    "product_id": _spec(
        {"PRODUCT ID": 1.0, "PRODUCT": 0.9, "PRODUCT NAME": 0.7}, "LINE", "DESCRIPTION"
    ),
    "product_category": _spec({"CATEGORY": 1.0}, "PRODUCT ID NAME"),
    # a count of things (number_of_cds, Item Count) is read by _COUNTED
    "quantity": _spec({"QUANTITY": 1.0, "COUNT": 1.0}, "ORDER INVOICE SALES PRODUCT LINE NET UNIT"),
    "cost": _spec(
        {"COST": 1.0},
        f"AMOUNT PRODUCT LINE SALES EXTENDED {_MONEY_QUALS}",
        f"{_MONEY_VETO} UNIT STANDARD PRICE",
    ),
    # an amount extended by the quantity before discount (AdventureWorks' ExtendedAmount)
    "list_revenue": _spec(
        {
            "LIST AMOUNT": 1.0,
            "LIST SALES": 1.0,
            "EXTENDED AMOUNT": 1.0,
            "EXTENDED SALES": 1.0,
            "GROSS AMOUNT": 0.9,
            "GROSS SALES": 0.9,
            # an item's amount before the order's discount (WooCommerce's item_subtotal)
            "PRODUCT SUBTOTAL": 0.9,
        },
        f"SALES AMOUNT LINE PRODUCT {_MONEY_QUALS}",
        _MONEY_VETO,
    ),
    "is_return": _spec({"RETURN": 1.0}, "FLAG"),
    "unit_price": _spec(
        {"PRICE": 1.0},
        f"UNIT NET SALES QUANTITY PRODUCT LINE {_MONEY_QUALS}",
        f"{_MONEY_VETO} LIST STANDARD EXTENDED",
    ),
    # a cost per unit (Unit Cost (LCY), Einstandspreis, ProductStandardCost), not the line's
    "unit_cost": _spec(
        {"UNIT COST": 1.0, "COST PRICE": 1.0, "STANDARD COST": 0.9},
        f"PRODUCT LINE {_MONEY_QUALS}",
        f"{_MONEY_VETO} AMOUNT EXTENDED TOTAL SALES",
    ),
    "discount_amount": _spec(
        {"DISCOUNT AMOUNT": 1.0, "DISCOUNT": 0.8},
        "LINE PRODUCT",
        f"{_MONEY_VETO} RATE UNIT PRICE",
    ),
    # a discount as a percent of the line (Odoo's Discount (%), Business Central's Line
    # Discount %, Xero's DiscountRate, Rabatt %): "%" reads as the word pct
    "discount_percent": _spec(
        {"DISCOUNT PERCENT": 1.0, "DISCOUNT RATE": 1.0},
        "LINE PRODUCT",
        "AMOUNT TAX MARGIN ID",
    ),
    # a name written whole (Odoo's Display Name) gives way to the company's name
    "name": _spec(
        {"NAME": 1.0, "COMPANY": 0.9, "FULL NAME": 0.85}, "CUSTOMER COMPANY PAYER PARTNER"
    ),
    "address": _spec({"ADDRESS": 1.0}, f"LINE {_ADDRESS_QUALS}"),
    # a part of an address (Shopify's Default Address City, Default Address Zip)
    "postcode": _spec({"POSTCODE": 1.0}, f"ID ADDRESS {_ADDRESS_QUALS}"),
    "city": _spec({"CITY": 1.0}, f"NAME ADDRESS {_ADDRESS_QUALS}"),
    "country": _spec({"COUNTRY": 1.0}, f"ID NAME ADDRESS {_ADDRESS_QUALS}"),
    "lat": _spec({"LAT": 1.0}, "CUSTOMER"),
    "lon": _spec({"LON": 1.0}, "CUSTOMER"),
    "industry": _spec({"INDUSTRY": 1.0}, "ID NAME CUSTOMER COMPANY"),
    "employees": _spec({"EMPLOYEES": 1.0}, "ID QUANTITY COUNT TOTAL AMOUNT COMPANY"),
    "annual_revenue": _spec(
        {"ANNUAL SALES": 1.0, "ANNUAL AMOUNT": 0.9, "SALES": 0.7},
        "COMPANY CUSTOMER NET AMOUNT",
        _MONEY_VETO,
    ),
    "region": _spec({"REGION": 1.0}, "SALES ID NAME CUSTOMER COMPANY"),
    "rep_id": _spec({"REP ID": 1.0, "REP": 0.95}, "SALES CUSTOMER COMPANY"),
    "current_channel": _spec({"CHANNEL": 1.0}, "CURRENT SALES CUSTOMER"),
    "created_date": _spec({"CREATED DATE": 1.0, "CREATED": 0.9}, "CUSTOMER TIME"),
    "payment_terms_days": _spec(
        {"PAYMENT TERMS": 1.0, "TERMS": 0.9, "PAYMENT DAYS": 0.9}, "DAYS NET"
    ),
    "parent_id": _spec({"PARENT ID": 1.0, "PARENT": 0.9}, "CUSTOMER COMPANY"),
    # GST Identification Number (GSTIN): the tax, its number and its abbreviation
    "tax_id": _spec({"TAX ID": 1.0, "TAXID": 1.0}, "CUSTOMER COMPANY ID TAX TAXID"),
    "phone": _spec({"PHONE": 1.0}, "ID CUSTOMER COMPANY", "FAX"),
    "email": _spec({"EMAIL": 1.0}, "ADDRESS CUSTOMER COMPANY ID"),
    "type": _spec({"TYPE": 1.0, "ACTIVITY": 0.85}, "ACTIVITY"),
    "duration_minutes": _spec({"DURATION": 1.0, "MINUTES": 0.9}, "MINUTES ACTIVITY COUNT", "HOURS"),
    "invoice_id": _spec(
        {"INVOICE ID": 1.0, "INVOICE": 0.9, "DOCUMENT ID": 0.9, "DOCUMENT": 0.8},
        "INVOICE DOCUMENT",
        "LINE",
    ),
    "due_date": _spec({"DUE DATE": 1.0, "DUE": 0.95}, "PAYMENT INVOICE NET"),
    "paid_date": _spec({"PAID DATE": 1.0, "PAID": 0.9, "PAYMENT DATE": 0.95}, "INVOICE PAYMENT"),
    "amount": _spec(
        {"AMOUNT": 1.0, "SALES": 0.8, "NET": 0.8},
        f"INVOICE PAYMENT NET GROSS {_MONEY_QUALS}",
        f"{_MONEY_VETO} DISCOUNT",
    ),
    "role": _spec({"ROLE": 1.0, "TYPE": 0.8}, "REP"),
    "hours_per_year": _spec({"HOURS": 1.0}, "ANNUAL REP SALES COUNT"),
    "home_lat": _spec({"HOME LAT": 1.0, "LAT": 0.9}, "REP"),
    "home_lon": _spec({"HOME LON": 1.0, "LON": 0.9}, "REP"),
    "market_size": _spec(
        {
            "MARKET SIZE": 1.0,
            "MARKET AMOUNT": 0.95,
            "MARKET SALES": 0.95,
            "SIZE": 0.8,
            "MARKET": 0.8,
        },
        "ANNUAL TOTAL",
        _MONEY_VETO,
    ),
    "growth_rate": _spec({"GROWTH": 1.0}, "RATE PERCENT ANNUAL MARKET"),
    # the currency of a line's amounts (Currency, DocCur, Währung)
    "currency": _spec({"CURRENCY": 1.0}, "ID DOCUMENT INVOICE ORDER LINE SALES"),
}

#: a customer master's own key under a generic name (Business Central's No., NetSuite's ID,
#: Exact's Code): an identifier alone is the customer's, when its values are unique; a
#: contact's (Zoho's Contact ID) in a list of contacts
_MASTER_KEY = _Spec(
    (*_SPECS["customer_id"].alts, (frozenset({"CONTACT", "ID"}), 0.95), (frozenset({"ID"}), 0.8)),
    _SPECS["customer_id"].quals,
    _SPECS["customer_id"].vetoes,
)

#: a name that counts (:func:`_counting`) read as the quantity: a count of items, units or
#: pieces, or of things no concept names (number_of_cds), when its values are counts
#: (:func:`_counts`); not a count of orders, lines or customers
_COUNTED = _spec({"COUNT": 1.0}, "PRODUCT UNIT QUANTITY")

#: the customer of invoice lines, activities and payments: also the customer's name
#: (Salesforce's Account Name, Customer Name) or the contact invoiced (Xero's ContactName)
#: where no column identifies the customer, after every other reading
_LINE_CUSTOMER = _Spec(
    (
        *_SPECS["customer_id"].alts,
        (frozenset({"CUSTOMER", "NAME"}), 0.5),
        (frozenset({"CONTACT", "NAME"}), 0.5),
    ),
    _SPECS["customer_id"].quals,
    _SPECS["customer_id"].vetoes,
)

#: the customer of activities and payments: also the organisation an activity is with
#: (Pipedrive's Activity - Organization), never a company alone (Odoo's Company, the
#: seller's own company of each payment)
_EVENT_CUSTOMER = _Spec(
    (*_LINE_CUSTOMER.alts, (frozenset({"ACTIVITY", "COMPANY"}), 0.7)),
    _LINE_CUSTOMER.quals | {"ACTIVITY"},
    _LINE_CUSTOMER.vetoes,
)

#: the customer of activities and payments: never a column of one value on every sampled
#: row, however few (the seller's own company beside each activity or payment)
_EVENT_KEYS = frozenset({("activities", "customer_id"), ("payments", "customer_id")})

#: the same column read differently in one table
_TABLE_SPECS: dict[tuple[str, str], _Spec] = {
    ("transactions", "customer_id"): _LINE_CUSTOMER,
    ("customers", "customer_id"): _MASTER_KEY,
    ("prospects", "customer_id"): _MASTER_KEY,
    # a sales team's list names each rep (an HR list's Name, Salesforce users' Full Name),
    # as the customer master's owner column does, where no column gives the rep's id
    ("reps", "rep_id"): _spec({"REP ID": 1.0, "REP": 0.95, "NAME": 0.6}, "SALES FULL"),
    ("activities", "customer_id"): _EVENT_CUSTOMER,
    ("payments", "customer_id"): _EVENT_CUSTOMER,
    # the date an activity is due (Pipedrive's Activity - Due date)
    ("activities", "date"): _spec({"DATE": 1.0, "DUE DATE": 0.9}, "ACTIVITY TIME"),
    # the CRM user an activity is assigned to (Pipedrive's Activity - Assigned to user)
    ("activities", "rep_id"): _spec({"REP ID": 1.0, "REP": 0.95}, "SALES CUSTOMER ACTIVITY USER"),
    ("activities", "cost"): _spec(
        {"COST": 1.0}, "ACTIVITY AMOUNT", f"{_MONEY_VETO} UNIT STANDARD PRICE"
    ),
}

#: concepts that name a canonical column: a name carrying one of them that the column does
#: not explain belongs to another column (ID is only ever a companion)
_HEADS = frozenset(c for s in _SPECS.values() for alt, _ in s.alts for c in alt) - {"ID"}


#: the description of a canonical column this module does not describe: no name fits it
_NO_SPEC = _Spec(())


def _spec_for(table: str, column: str) -> _Spec:
    return _TABLE_SPECS.get((table, column)) or _SPECS.get(column, _NO_SPEC)


def _name_score(spec: _Spec, ws: list[str]) -> float:
    """How well a name (its words) fits a column description, 0..1."""
    if not ws:
        return 0.0
    cs = [concepts_of(w) for w in ws]
    best = 0.0
    for needed, weight in spec.alts:
        used: set[int] = set()
        for concept in sorted(needed):
            i = next((i for i, c in enumerate(cs) if concept in c and i not in used), None)
            if i is None:
                break
            used.add(i)
        else:
            allowed = needed | spec.quals
            explained = 0
            ruled_out = False
            for i, c in enumerate(cs):
                if i in used or c & allowed:
                    explained += 1
                elif c & spec.vetoes or c & _HEADS:
                    ruled_out = True
            if not ruled_out:
                best = max(best, weight * explained / len(ws))
    return best


# -- what the values look like -------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What a sampled column's values look like (shares are of its non-empty values)."""

    n: int = 0
    #: the sampled rows, empty cells included
    rows: int = 0
    date: float = 0.0
    number: float = 0.0
    #: share of the numbers that are whole
    integer: float = 0.0
    low: float | None = None
    high: float | None = None
    median: float | None = None
    boolean: float = 0.0
    email: float = 0.0
    spaces: float = 0.0
    #: distinct values / values
    distinct: float = 0.0
    #: share of numbers with a trailing percent sign ("3.5%"), which a fraction column reads
    percent: float = 0.0
    #: share of durations written H:MM or H:MM:SS ("1:05"), which a minutes column reads
    clock: float = 0.0
    #: share of three-letter codes (EUR, usd), as a currency column holds
    code3: float = 0.0
    #: decimal separator the column's numbers use: ".", ",", "mixed" or None (undecided)
    decimal: str | None = None
    #: the date format that reads every date of the sample, if one does
    date_formats: tuple[str, ...] = ()
    #: share of the values read as dates only with a two-digit year (31.12.23), which a
    #: code (01.02.03) may look like too
    short_date: float = 0.0
    #: the two-digit-year formats that read some of those values, where no format reads
    #: every value (a column writing 05.01.24 and 05.01.2024)
    short_formats: tuple[str, ...] = ()
    #: a value that reads both ways and how it was read ("'11,000' = 11"), where the
    #: file's decimal comma decided it
    read_as: str = ""

    @property
    def sparse(self) -> bool:
        """Filled on fewer than half of many sampled rows (an order's total, written on its
        first line only)."""
        return self.rows >= MIN_CONSTANT_ROWS and self.n < SPARSE * self.rows

    @property
    def full(self) -> bool:
        """Filled on nearly every sampled row."""
        return self.rows > 0 and self.n >= FULL * self.rows

    def describe(self) -> str:
        """The values in a few words, for the comment beside a guess."""
        if self.n == 0:
            return "no values in the sample"
        if self.date >= 0.9:
            return "dates with two-digit years" if self.short_date >= 0.9 else "dates"
        if self.email >= 0.9:
            return "e-mail addresses"
        if self.number >= 0.9:
            read = f" ({self.read_as}, the file's decimal comma)" if self.read_as else ""
            if self.integer >= 0.95:
                lo, hi = self.low or 0.0, self.high or 0.0
                return f"whole numbers {lo:.0f} to {hi:.0f}{read}"
            return f"numbers with decimals{read}"
        if self.percent >= 0.9:
            return "percentages"
        if self.clock >= 0.9:
            return "durations H:MM"
        if self.boolean >= 0.9:
            return "yes/no values"
        if self.spaces >= 0.5:
            return "text"
        return "codes or words repeating across rows" if self.distinct <= 0.9 else "codes or words"


#: a time after a date, with seconds, fractions, AM/PM and a zone, which validation leaves
#: aside before reading the date (the same expression as ``tierwise.validate``'s)
TIME_AFTER_DATE = (
    r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[AaPp][Mm])?\s*"
    r"(?:Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?|UTC|GMT)?$"
)
#: a spreadsheet's serial day number, its fraction the time of day (45322.75 is 2024-01-31
#: 18:00), as validation reads it in a date column
_EXCEL_SERIAL = r"^[2-7]\d{4}(?:[.,]\d+)?$"
#: a serial day with a time of day no amount to the cent writes: a fraction of three digits
#: or more (45322.7534722222 is 18:05)
_SERIAL_TIME = r"^[2-7]\d{4}[.,]\d{3,}$"
#: a date whose year has two digits (05.01.24, 1/5/24), for the example beside a proposal
_SHORT_YEAR = r"^\d{1,2}[./ -](\d{1,2}|[A-Za-z]{3})[./ -]\d{2}($|\d{1,2}:)"

#: formats tried on sampled dates: the run's defaults, then month-first and other common ones
EXTRA_DATE_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%d/%m/%Y %I:%M %p",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d-%m-%Y",
    "%d-%m-%Y %H:%M",
    "%m-%d-%Y",
    "%Y.%m.%d",
    # two-digit years (31.12.23, 12/31/23), which the run reads only with date_format set
    "%d.%m.%y",
    "%d.%m.%y %H:%M",
    "%d/%m/%y",
    "%d/%m/%y %H:%M",
    "%m/%d/%y",
    "%m/%d/%y %H:%M",
    "%m/%d/%y %I:%M %p",
    "%d-%m-%y",
    "%m-%d-%y",
    # the month's name and a two-digit year (Tally's 1-Apr-22)
    "%d-%b-%y",
    "%d %b %y",
    # the month's name first, then the day (eBay's order reports: Mar-01-24)
    "%b-%d-%y",
    "%b-%d-%Y",
)
_MIN_YEAR, _MAX_YEAR = 1900, 2200
#: the texts a run reads as no value, upper case (a number of digits alone stays a number)
_MARKERS = pa.array(
    sorted({m.strip().upper() for m in ValidateSettings().missing_values if not m.isdigit()})
)
_BOOL_WORDS = [
    *("true", "false", "yes", "no", "y", "n", "t", "f", "1", "0", "x", "j", "ja", "nein"),
    *("oui", "non", "si", "sí", "da", "nu", "wahr", "falsch", "waar", "onwaar", "verdadero"),
    *("falso", "vrai", "faux"),
]
#: a number; digits grouped in threes, or the Indian way (2,28,835.04: lakh and crore)
_NUMBER = r"^[+-]?(\d+|\d{1,3}([.,]\d{3})+|\d{1,2}(,\d{2})+,\d{3})([.,]\d+)?$"
#: a duration as a clock writes it, as validation reads a minutes column ("0:28", "1:05:30")
_CLOCK = r"^\d+:[0-5]\d(:[0-5]\d)?$"
_COMMA_DECIMAL = r"^[+-]?(\d+|\d{1,3}(\.\d{3})+),(\d{1,2}|\d{4,})$|^[+-]?\d{1,3}(\.\d{3})+,\d+$"
_DOT_DECIMAL = (
    r"^[+-]?(\d+|\d{1,3}(,\d{3})+)\.(\d{1,2}|\d{4,})$|^[+-]?\d{1,3}(,\d{3})+\.\d+$"
    r"|^[+-]?\d{1,2}(,\d{2})+,\d{3}\.\d+$"
)


def _count(mask: pa.Array) -> int:
    return int(pc.sum(mask.cast(pa.int64())).as_py() or 0)


def _share(mask: pa.Array, n: int) -> float:
    return _count(mask) / n if n else 0.0


def _dates(text: pa.Array, formats: Iterable[str]) -> tuple[pa.Array, tuple[str, ...]]:
    """Which values read as a plausible date, and the formats that read every value."""
    any_ok = pa.array([False] * len(text))
    whole: list[str] = []
    for fmt in formats:
        parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
        year = pc.year(parsed)
        ok = pc.fill_null(
            pc.and_(pc.greater_equal(year, _MIN_YEAR), pc.less_equal(year, _MAX_YEAR)), False
        )
        any_ok = pc.or_(any_ok, ok)
        if len(text) and pc.all(ok).as_py():
            whole.append(fmt)
    return any_ok, tuple(whole)


def _without_currency(text: pa.Array) -> pa.Array:
    """Number text without the currency signs and codes a run drops (C$, €, EUR, zł) and
    without spaces and apostrophes."""
    from ..validate import _NOT_NUMBER  # settings are imported by validation: not above

    cleaned = pc.replace_substring_regex(text, _NOT_NUMBER, "")
    return pc.replace_substring_regex(cleaned, "[\\s'\u00a0\u202f]", "")


def _numbers(text: pa.Array, comma_first: bool = False) -> tuple[pa.Array, str | None]:
    """The numbers among text values (nulls elsewhere) and the column's decimal separator;
    with ``comma_first``, values that read both ways (11,000) are read with a decimal
    comma."""
    cleaned = _without_currency(text)
    comma = _count(pc.match_substring_regex(cleaned, _COMMA_DECIMAL))
    dot = _count(pc.match_substring_regex(cleaned, _DOT_DECIMAL))
    decimal = "mixed" if comma and dot else "," if comma else "." if dot else None
    # undecided: dots grouping thousands twice (1.234.567) mean comma decimals
    commas_mode = (
        decimal == ","
        or comma_first
        or (decimal is None and _count(pc.match_substring_regex(cleaned, r"\.\d{3}\.")) > 0)
    )
    if commas_mode:
        plain = pc.replace_substring(pc.replace_substring(cleaned, ".", ""), ",", ".")
    else:
        plain = pc.replace_substring(cleaned, ",", "")
    is_num = pc.and_(
        pc.match_substring_regex(cleaned, _NUMBER),
        pc.match_substring_regex(plain, r"^[+-]?\d+(\.\d+)?$"),
    )
    values = pc.if_else(is_num, plain, pa.scalar(None, pa.string()))
    return pc.cast(values, pa.float64()), decimal


def profile(
    column: pa.Array | pa.ChunkedArray, date_formats: Iterable[str] = (), *, comma: bool = False
) -> Profile:
    """Describe a sampled column's values.

    Parameters
    ----------
    column
        The sampled values: text (CSV, Excel) or typed (Parquet, DuckDB).
    date_formats
        Formats to read text dates with; by default the run's ([validate] date_formats)
        and :data:`EXTRA_DATE_FORMATS`.
    comma
        Read values that read both ways (``11,000``) with a decimal comma, as a run reads
        them in a file whose other columns write one; the first such value is quoted in
        :meth:`Profile.describe`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> p = profile(pa.array(["12,50", "3,99", "1.234,10", ""]))
    >>> (p.n, p.number, p.decimal, p.integer)
    (3, 1.0, ',', 0.0)
    >>> profile(pa.array(["2024-01-31", "2024-02-01"])).describe()
    'dates'
    """
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return dataclasses.replace(_profile(arr, date_formats, comma), rows=len(arr))


def _profile(arr: pa.Array, date_formats: Iterable[str], comma: bool = False) -> Profile:
    formats = tuple(date_formats) or (*ValidateSettings().date_formats, *EXTRA_DATE_FORMATS)
    typ = arr.type
    if pa.types.is_temporal(typ):
        n = len(arr) - arr.null_count
        return Profile(n=n, date=1.0 if n else 0.0, distinct=_distinct(arr.drop_null(), n))
    if pa.types.is_boolean(typ):
        n = len(arr) - arr.null_count
        return Profile(n=n, boolean=1.0 if n else 0.0, distinct=_distinct(arr.drop_null(), n))
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        values = pc.cast(arr.drop_null(), pa.float64())
        values = values.filter(pc.is_finite(values))
        n = len(values)
        # whole numbers of eight digits may be dates (20240131)
        as_text = pc.cast(
            pc.cast(values.filter(pc.equal(values, pc.floor(values))), pa.int64()), pa.string()
        )
        dates, fmts = (
            _dates(as_text, ("%Y%m%d",)) if len(as_text) else (pa.array([], pa.bool_()), ())
        )
        date = _share(dates, n)
        if n and _serial_times(values):
            date = 1.0
        return _numeric_profile(values, n, date=date, date_formats=fmts)
    text = pc.utf8_trim_whitespace(pc.cast(arr, pa.string()).fill_null(""))
    # an empty cell, and a text the run reads as one ([validate] missing_values: NULL, #N/A,
    # the open-ended date 31.12.9999), say nothing of the column's kind
    text = text.filter(
        pc.and_(
            pc.greater(pc.utf8_length(text), 0),
            pc.invert(pc.is_in(pc.utf8_upper(text), value_set=_MARKERS)),
        )
    )
    n = len(text)
    if n == 0:
        return Profile()
    long_dates, fmts = _dates(text, [f for f in formats if "%y" not in f])
    short_dates, short_fmts = _dates(text, [f for f in formats if "%y" in f])
    if not pc.all(pc.or_(long_dates, short_dates)).as_py():
        # a time the formats do not read (fractions of a second, a zone: 10:15:00.000,
        # 10:15:00 -0500) is left aside as the run leaves it aside, and the date read alone
        bare = pc.replace_substring_regex(text, TIME_AFTER_DATE, "")
        more, more_fmts = _dates(bare, [f for f in formats if "%y" not in f])
        long_dates = pc.or_(long_dates, more)
        fmts = fmts or more_fmts
        more, more_fmts = _dates(bare, [f for f in formats if "%y" in f])
        short_dates = pc.or_(short_dates, more)
        short_fmts = short_fmts or more_fmts
    dates = pc.or_(long_dates, short_dates)
    # a spreadsheet's serial day (45293, 45293.75 with its time of day), which the run reads
    # as a date, among real dates (a sheet's date column partly formatted as a number);
    # alone a whole one is a number, and so are amounts to the cent, but a column of serial
    # days with times of day (a date-time column exported unformatted) holds dates
    serial = pc.and_(pc.match_substring_regex(text, _EXCEL_SERIAL), pc.invert(dates))
    if _count(dates) >= max(MIN_VALUES, 0.1 * n) or (
        pc.all(serial).as_py() and pc.any(pc.match_substring_regex(text, _SERIAL_TIME)).as_py()
    ):
        dates = pc.or_(dates, serial)
    only_short = pc.and_(short_dates, pc.invert(long_dates))
    numbers, decimal = _numbers(text, comma)
    numeric = numbers.drop_null()
    read_as = ""
    if comma and decimal is None:
        both = pc.match_substring_regex(text, r"^[+-]?\d{1,3}(,\d{3})+$")
        if pc.any(both).as_py():
            first = pc.index(both, True).as_py()
            read_as = f"{text[first].as_py()!r} = {numbers[first].as_py():g}"
    base = _numeric_profile(numeric, n, date=_share(dates, n), date_formats=fmts + short_fmts)
    lowered = pc.utf8_lower(text)
    # numbers before a percent sign ("3,5 %")
    signed = pc.match_substring_regex(text, "%$")
    # the space before the sign may be a no-break or narrow no-break one, as validation reads
    before_sign, _ = _numbers(pc.replace_substring_regex(text, "[\\s\u00a0\u202f]*%$", ""))
    return Profile(
        n=n,
        date=base.date,
        number=base.number,
        integer=base.integer,
        low=base.low,
        high=base.high,
        median=base.median,
        boolean=_share(pc.is_in(lowered, value_set=pa.array(_BOOL_WORDS)), n),
        percent=_share(pc.and_(signed, pc.is_valid(before_sign)), n),
        clock=_share(pc.match_substring_regex(text, _CLOCK), n),
        code3=_share(pc.match_substring_regex(text, r"^[A-Za-z]{3}$"), n),
        email=_share(pc.match_substring_regex(text, r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"), n),
        spaces=_share(pc.match_substring(text, " "), n),
        distinct=_distinct(text, n),
        decimal=decimal,
        date_formats=base.date_formats,
        short_date=_share(only_short, n),
        short_formats=(
            _short_formats(text, only_short, [f for f in formats if "%y" in f])
            if not fmts + short_fmts and pc.any(only_short).as_py()
            else ()
        ),
        read_as=read_as,
    )


def _serial_times(values: pa.Array) -> bool:
    """Whether numbers are a spreadsheet's serial days with times of day (a date-time column
    stored as numbers, :data:`_EXCEL_SERIAL`): each a day of the years 1954–2119, and some
    with a fraction that is no amount to the cent (:data:`_SERIAL_TIME`)."""
    days = pc.and_(pc.greater_equal(values, 20000.0), pc.less(values, 80000.0))
    if not pc.all(days).as_py():
        return False
    hundredths = pc.multiply(pc.subtract(values, pc.floor(values)), 100.0)
    off_cent = pc.greater(pc.abs(pc.subtract(hundredths, pc.round(hundredths))), 1e-6)
    return bool(pc.any(off_cent).as_py())


def _short_formats(text: pa.Array, only_short: pa.Array, formats: list[str]) -> tuple[str, ...]:
    """The two-digit-year formats that read every value only they read (1/15/24 beside
    1/15/2024: month first only), the time after a date left aside as the run leaves it."""
    values = text.filter(only_short)
    whole = _dates(values, formats)[1]
    if not whole:
        whole = _dates(pc.replace_substring_regex(values, TIME_AFTER_DATE, ""), formats)[1]
    return whole


def _distinct(values: pa.Array, n: int) -> float:
    return (pc.count_distinct(values).as_py() or 0) / n if n else 0.0


def _numeric_profile(
    values: pa.Array, n: int, *, date: float, date_formats: tuple[str, ...]
) -> Profile:
    m = len(values)
    if m == 0:
        return Profile(n=n, date=date, date_formats=date_formats)
    whole = _share(pc.equal(values, pc.floor(values)), m)
    return Profile(
        n=n,
        date=date,
        number=m / n,
        integer=whole,
        low=pc.min(values).as_py(),
        high=pc.max(values).as_py(),
        median=pc.approximate_median(values).as_py(),
        boolean=_share(pc.is_in(values, value_set=pa.array([0.0, 1.0])), n),
        distinct=_distinct(values, n),
        date_formats=date_formats,
    )


#: the columns in currency units, of any table (:data:`~tierwise.schema.MONEY_COLUMNS`)
_MONEY = frozenset(c for columns in MONEY_COLUMNS.values() for c in columns)
#: columns a guess from the values alone may fill
_BY_VALUES = frozenset({"customer_id", "date", "created_date", "revenue", "amount", "email"})


_KIND_WORDS = {
    "date": "dates",
    "number": "numbers",
    "int": "whole numbers",
    "bool": "yes/no values",
    "id": "codes",
    "text": "text",
}


def _not_id(p: Profile) -> float:
    """How far values are from identifiers: dates and numbers with decimals are not ids
    (a date with a two-digit year may be a code written alike: 01.02.03)."""
    return max(p.date - p.short_date, p.number * (1.0 - p.integer))


def _in_range(p: Profile, lo: float, hi: float) -> float:
    """1 when every number is within [lo, hi] (also when there is none), else 0."""
    if p.low is None or p.high is None:
        return 1.0
    return 1.0 if p.low >= lo and p.high <= hi else 0.0


def _serial_days(p: Profile) -> bool:
    """Whether every sampled value is a number in the range of a spreadsheet's serial days
    (:data:`_EXCEL_SERIAL`: 20000–79999, the years 1954–2119), as a date column formatted as
    a number exports it. Alone such numbers may be amounts or codes; under a name that reads
    as a date they are the dates, at any time of day (45322.75 is 18:00)."""
    return (
        p.n >= MIN_VALUES
        and p.date < 0.9
        and p.number >= 1.0
        and (p.low or 0.0) >= 20000.0
        and (p.high or 0.0) < 80000.0
    )


def _named_fit(table: str, col: Column, p: Profile) -> tuple[float, str]:
    """:func:`_fits` for a column whose name reads as ``col``, and the values described: a
    date column's serial day numbers fit it (see :func:`_serial_days`)."""
    if col.kind == "date" and _serial_days(p):
        return 1.0, "a spreadsheet's serial day numbers"
    return _fits(table, col, p), p.describe()


def _fits(table: str, col: Column, p: Profile) -> float:
    """How well the values fit the column's kind, 0..1 (1 when the sample says nothing)."""
    if p.n < MIN_VALUES:
        return 1.0
    name = col.name
    if col.kind == "date":
        return p.date
    if col.kind == "bool":
        return p.boolean
    if name == "currency":
        return p.code3
    if col.kind in ("number", "int"):
        # the forms validation also reads in such a column: 3.5% as a fraction, 1:05 as minutes
        fit = p.number + p.percent * (col.fraction or col.percent) + p.clock * col.minutes
        if name in ("lat", "home_lat"):
            fit *= _in_range(p, -90, 90)
        elif name in ("lon", "home_lon"):
            fit *= _in_range(p, -180, 180)
        elif name in ("employees", "duration_minutes", "payment_terms_days", "hours_per_year"):
            fit *= _in_range(p, 0, float("inf"))
        if col.kind == "int":
            fit *= p.integer
        return fit
    return 1.0 - _not_id(p)


def _shape(table: str, col: Column, p: Profile) -> float:
    """How typical the values are of this very column (beyond its kind), 0..1."""
    if p.n < MIN_VALUES:
        return 0.0
    name = col.name
    fit = _fits(table, col, p)
    if name in _MONEY:
        return fit * min(1.0, 0.5 + (1.0 - p.integer))
    if name == "quantity":
        small = 1.0 if p.median is not None and abs(p.median) <= 1000 else 0.0
        return fit * p.integer * small
    if name in ("lat", "lon", "home_lat", "home_lon"):
        return fit * (1.0 - p.integer)
    if name == "email":
        return p.email
    if col.kind == "id":
        if p.boolean >= 0.99:
            # a flag (Salesforce's Task, 1 or 0) identifies nothing
            return 0.0
        key = name in TABLES[table].key
        plain = 1.0 - p.spaces
        if key:
            return fit * plain * (1.0 if p.distinct >= 0.99 else 0.3)
        if name in ("customer_id", "product_id"):
            # repeating, but not one value for every row (a currency, a status)
            varied = p.distinct * p.n >= 2
            return fit * plain * (1.0 if p.distinct <= 0.9 and varied else 0.3)
        return fit * plain
    return fit


# -- the guess ----------------------------------------------------------------------------


#: a reading option's value: one setting (decimal = ",") or a list (true_values = [...])
OptionValue = str | int | tuple[str, ...] | dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class ColumnGuess:
    """One canonical column and the file's column taken for it."""

    canonical: str
    source: str
    #: 0..1: the name's fit, adjusted by how well the values fit
    confidence: float
    #: why, in a few words (name words, what the values are)
    evidence: str
    #: the file's column already carries the canonical name (it is read without a mapping)
    by_name: bool = False


@dataclass(frozen=True)
class TableGuess:
    """The guesses for one input table."""

    table: str
    source_columns: tuple[str, ...]
    columns: tuple[ColumnGuess, ...]
    #: the file's columns left out, each with a note (what it looks like instead)
    unmapped: tuple[tuple[str, str], ...]
    #: required canonical columns not found, each with a note
    missing: tuple[tuple[str, str], ...]
    #: reading options the sample calls for (sheet, table, header_row, decimal, date_format,
    #: true_values, false_values), with why
    options: dict[str, tuple[OptionValue, str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: canonical columns not found whose best-reading source column went to a better match:
    #: canonical → (source, the canonical column that took it)
    contested: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: reading options proposed commented out, for the user to decide (exclude_rows with
    #: statuses that may be sales: pending, refunded), with why
    commented: dict[str, tuple[OptionValue, str]] = field(default_factory=dict)

    def mapping(self) -> dict[str, str]:
        """Canonical → source column for the columns that need a mapping (not by name)."""
        return {g.canonical: g.source for g in self.columns if not g.by_name}

    def guessed(self, canonical: str) -> ColumnGuess | None:
        """The guess for one canonical column, if any."""
        return next((g for g in self.columns if g.canonical == canonical), None)


def guess_table(table: str, sample: Sample) -> TableGuess:
    """Guess the canonical column behind each column of a sampled input.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from tierwise.io.sample import Sample
    >>> t = pa.table({"Kundennummer": ["K1", "K1", "K2"], "Rechnungsdatum": ["01.02.2024"] * 3,
    ...               "Umsatz": ["10,50", "3", "7,25"], "Ort": ["Köln", "Köln", "Bonn"]})
    >>> g = guess_table("transactions", Sample("x.csv", "csv", t.column_names, t, ";"))
    >>> g.mapping()
    {'customer_id': 'Kundennummer', 'date': 'Rechnungsdatum', 'revenue': 'Umsatz'}
    >>> g.unmapped
    (('Ort', 'looks like city, a column of customers and prospects'),)
    """
    cols = input_columns(table)
    header = sample.columns
    sample = _by_place(sample)
    sources = list(dict.fromkeys(sample.columns))
    twice = {s: header[i] for i, s in enumerate(sample.columns) if s != header[i]}
    names = sample.table.column_names
    have = {s for s in names if names.count(s) == 1}
    profiles = {s: profile(sample.table.column(s)) if s in have else Profile() for s in sources}
    if _file_decimal(sample, profiles) == ",":
        # values that read both ways (11,000) are read as the file's other columns write
        for s, p in profiles.items():
            if p.decimal is None and p.number >= 0.9 and s in have:
                profiles[s] = profile(sample.table.column(s), comma=True)
    by_col = {c.name: c for c in cols}
    guesses: dict[str, ColumnGuess] = {}
    taken: dict[str, str] = {}  # source → canonical
    notes: dict[str, str] = {}
    usable = sources
    # 1. columns already carrying a canonical name are read by that name
    for c in cols:
        src = next((s for s in usable if column_key(s) == c.name and s not in taken), None)
        if src is not None:
            p = profiles[src]
            fit, ev = _named_fit(table, c, p)
            if fit < CONTENT_VETO:
                ev += f" (not {c.kind} values: check them)"
            conf = 0.75 + 0.25 * fit
            guesses[c.name] = ColumnGuess(c.name, src, conf, ev, by_name=True)
            taken[src] = c.name
    # 2. names
    scored: list[tuple[float, int, int, str, str, float, float]] = []
    #: canonical → why a column reading as it was ruled out for holding one value
    constant: dict[str, str] = {}
    for ci, c in enumerate(cols):
        if c.name in guesses:
            continue
        spec = _spec_for(table, c.name)
        floor = NAME_REQUIRED if c.required or c.name in _stand_ins(table) else NAME_OPTIONAL
        for si, s in enumerate(usable):
            if s in taken:
                continue
            counted = c.name == "quantity" and _counting(s)
            ns = _name_score(_COUNTED if counted else spec, words(s))
            if ns < floor:
                continue
            p = profiles[s]
            generic_key = c.name in TABLES[table].key and _generic(s)
            if generic_key and p.n >= MIN_VALUES and p.distinct < 0.99:
                notes.setdefault(
                    s, f"the name alone could be {c.name}, the table's key, but its values repeat"
                )
                continue
            if c.name in TABLES[table].key and p.n == 0 and p.rows >= MIN_VALUES:
                # the table's key is on every row (Salesforce users' Manager, empty beside
                # each user's name, is no rep's id)
                notes.setdefault(s, f"the name reads as {c.name}, the table's key, but it is empty")
                continue
            if c.name in _VARYING_IDS and (
                _constant(p) or (_one_value(p) and (table, c.name) in _EVENT_KEYS)
            ):
                why = _constant_note(sample, s, p)
                notes.setdefault(s, f"the name reads as {c.name}, but {why}")
                constant.setdefault(c.name, f"{s!r} reads as it, but {why}")
                continue
            fit, described = _named_fit(table, c, p)
            if fit < CONTENT_VETO:
                notes.setdefault(
                    s,
                    f"the name reads as {c.name}, but the values are not {_KIND_WORDS[c.kind]} "
                    f"({described})",
                )
                continue
            if counted and not _counts(p):
                notes.setdefault(
                    s,
                    f"the name reads as a count, quantity, but the values are not small whole "
                    f"numbers ({described})",
                )
                continue
            key = ns + 0.04 * _shape(table, c, p) + _level(c.name, s)
            if p.sparse:
                # a column mostly empty (an order-level field on the order's first line)
                # comes after every candidate filled on more rows
                key -= 1.0
            scored.append((-key, ci, si, c.name, s, ns, fit))
    # the best pairs first: a column that two canonical columns read goes to the better
    # match, and the other one says so
    contested: dict[str, tuple[str, str]] = {}
    for _, _, _, cname, s, ns, fit in sorted(scored):
        if cname in guesses:
            continue
        if s in taken:
            contested.setdefault(cname, (s, taken[s]))
            continue
        p = profiles[s]
        conf = ns * (0.75 + 0.25 * fit)
        ev = f"{'|'.join(words(s))}; {_named_fit(table, by_col[cname], p)[1]}"
        guesses[cname] = ColumnGuess(cname, s, conf, ev)
        taken[s] = cname
    ranked = [(cname, s, ns, fit) for _, _, _, cname, s, ns, fit in sorted(scored)]
    per_order = _drop_order_totals(sample, ranked, profiles, guesses, taken, notes)
    _prefer_line_level(table, sample, usable, have, profiles, guesses, taken, notes)
    _drop_tax_included(sample, have, profiles, guesses, taken, notes)
    _revenue_before_total(sample, have, profiles, guesses, taken, notes)
    _drop_issued_quantity(sample, profiles, guesses, taken, notes)
    _drop_discount_rate(sample, profiles, guesses, taken, notes)
    if table == "transactions":
        _item_by_generic_name(sample, have, profiles, guesses, taken)
    # 2b. a document type (Belegart: Rechnung, Gutschrift) as is_return, with the file's words
    doc_options: dict[str, tuple[OptionValue, str]] = {}
    doc_notes: list[str] = []
    if "is_return" in by_col:
        free = [s for s in usable if s not in taken and s in have]
        doc_options, doc_notes = _returns_by_document_type(sample, free, guesses, taken, notes)
    # 3. values alone, for a few columns, where exactly one column without a telling name fits
    # (neither of a debit and credit pair of amounts is revenue alone)
    pair = _debit_credit_pair(sample, profiles) if "revenue" in by_col else None
    ledger = None
    if (
        pair is not None
        and "revenue" not in guesses
        and "debit_amount" in by_col
        and taken.get(pair[0], "debit_amount") == "debit_amount"
        and taken.get(pair[1], "credit_amount") == "credit_amount"
    ):
        # revenue is the ledger's debit less its credit, or the other way round (a pair
        # named debit_amount and credit_amount is read by its names already)
        readable = [s for s in usable if s in have]
        ledger = _ledger(sample, pair, profiles, guesses, taken, notes, readable)
    unnamed = [
        s for s in usable if s not in taken and not _names_anything(s) and s not in (pair or ())
    ]
    missing_notes: dict[str, str] = {}
    stand_ins = _stand_ins(table)
    for c in cols:
        if c.name in guesses or c.name not in _BY_VALUES:
            continue
        if _stood_in(stand_ins.get(c.name, ()), guesses):
            # revenue is unit_price × quantity, or debit − credit: a guess by values alone is
            # weaker
            continue
        fitting = [
            s
            for s in unnamed
            if s not in taken
            and not profiles[s].sparse
            and _shape(table, c, profiles[s]) >= CONTENT_ALONE
            and not (c.name == "created_date" and _changed(s))
        ]
        if len(fitting) == 1 and profiles[fitting[0]].n >= MIN_VALUES:
            s = fitting[0]
            p = profiles[s]
            conf = 0.5 * _shape(table, c, p)
            guesses[c.name] = ColumnGuess(c.name, s, conf, f"by its values only: {p.describe()}")
            taken[s] = c.name
        elif (
            table == "transactions"
            and c.name == "customer_id"
            and not _names_a_customer(table, sources)
        ):
            missing_notes[c.name] = _no_customer_note(fitting, sources)
        elif len(fitting) > 1:
            missing_notes[c.name] = "by their values it could be " + " or ".join(map(repr, fitting))
    contested = {c: v for c, v in contested.items() if c not in guesses}
    for cname, (s, other) in contested.items():
        missing_notes.setdefault(cname, _contested_note(s, other))
    for cname, why in {**constant, **per_order}.items():
        missing_notes.setdefault(cname, why)
    more_notes: list[str] = []
    if table == "transactions":
        _price_of_the_line(sample, profiles, guesses, taken, more_notes)
    guest = _guest_customers(sample, guesses, taken, profiles)
    if guest is not None:
        more_notes.append(guest)
    no_card = _cards_without_id(table, sample, guesses, taken, profiles)
    if no_card is not None:
        more_notes.append(no_card)
    if table == "transactions":
        by_name = _product_by_name(sample, profiles, guesses, taken)
        if by_name is not None:
            more_notes.append(by_name)
    several = _several_customers(sample, guesses)
    if several is not None:
        more_notes.append(several)
    rg, cur = guesses.get("revenue"), guesses.get("currency")
    if rg is not None and cur is not None and set(words(rg.source)) & ACCOUNTING_CURRENCY:
        # the amounts are in the ledger's own currency: the line's currency code is the
        # document's, and converting them by it would convert them twice
        del guesses["currency"]
        del taken[cur.source]
        notes[cur.source] = (
            f"reads as currency, but revenue {rg.source!r} is in the ledger's own currency "
            f"already: {cur.source!r} is the document's currency, of the other amounts"
        )
    fill: dict[str, tuple[OptionValue, str]] = {}
    headed = _group_headings(sample, have)
    target = next(
        (
            c
            for c in ("customer_id", "product_id")
            if c in by_col and (c not in guesses or guesses[c].evidence.startswith("by its"))
        ),
        None,
    )
    heads = sample.headings or (_single_cells(sample, have) if headed is None else ())
    if headed is None and len(heads) >= MIN_HEADINGS + 1 and target is not None:
        # the headings are lines of one field, or rows of one cell in a column the lines
        # fill with other values (Xero): the run reads them as a column of their own,
        # named here, when fill_down names it
        named = {column_key(c) for c in sample.columns}
        column = _new_column("Customer" if target == "customer_id" else "Product", named)
        if target in guesses:
            del taken[guesses[target].source]
        guesses[target] = ColumnGuess(
            target,
            column,
            0.75,
            f"the rows of one field above each group of rows ({len(heads)} in "
            f"the sample, the first {heads[0]!r})",
        )
        taken[column] = target
        fill["fill_down"] = (
            (column,),
            "the rows of one field above each group of rows, read as this column",
        )
    if headed is not None and headed[0] not in taken and target is not None:
        # a report grouped by customer (QuickBooks' Sales by Customer Detail): the group's
        # name on a heading row, its lines under it with that cell empty
        s, n_heads = headed
        if target in guesses:
            del taken[guesses[target].source]
        guesses[target] = ColumnGuess(
            target, s, 0.8, f"the heading above each group of rows ({n_heads} in the sample)"
        )
        taken[s] = target
        fill["fill_down"] = (
            (s,),
            "written on a heading row above each group of rows only: carried down to them",
        )
    ordered = tuple(guesses[c.name] for c in cols if c.name in guesses)
    cg = guesses.get("customer_id")
    if (
        cg is not None
        and cg.source in profiles
        and profiles[cg.source].sparse
        and not TABLES[table].key
    ):
        p = profiles[cg.source]
        og = guesses.get("order_id")
        if table == "transactions" and og is not None and not profiles[og.source].sparse:
            # the order's fields on its first line only (a shop export): the run fills
            # them from the order's other lines
            # an order's amount (Shopify's Discount Amount, the order's whole discount)
            # stays on its first line: copied to every line it would count once a line
            sparse = [
                g.source
                for g in ordered
                if profiles[g.source].sparse and g.canonical not in _LINE_AMOUNTS
            ]
            fill["fill_from_order"] = (
                tuple(sparse),
                f"filled on only {p.n} of {p.rows} sampled rows, an order's first line: "
                f"taken from the order's other lines by {og.source!r}",
            )
        else:
            more_notes.append(
                f"customer_id {cg.source!r} is filled on only {p.n} of {p.rows} sampled "
                "rows: the run rejects a line without it. A shop export writes the customer "
                "on an order's first line only; map its order number as order_id and list "
                "the column in [transactions] fill_from_order"
            )
    elif (
        table == "transactions"
        and cg is not None
        and cg.source in profiles
        and "fill_down" not in fill
        and 0 < profiles[cg.source].n < profiles[cg.source].rows
        and (lines := _sale_lines_without(sample, guesses, cg.source))[0] > 0
    ):
        empty, rows = lines
        more_notes.append(
            f"customer_id {cg.source!r} is empty on {empty} of {rows} sampled rows: "
            "the run rejects each such line as missing customer_id, its revenue counted for "
            "no customer. A till writes no customer for a walk-in sale; where the export "
            "writes the customer on an order's first line only, list the column in "
            "[transactions] fill_from_order"
        )
    if ledger is not None:
        more_notes += ledger.notes
        from_order = fill.get("fill_from_order", ((), ""))
        if "fill_from_order" in fill and isinstance(from_order[0], tuple):
            # an entry's other lines (revenue, VAT) filled with the customer of its line on
            # the customer's account would count against the customer, and cancel its sale;
            # a debit or credit filled from the entry's first line would move its amount to
            # the other lines, where a side left empty reads as 0
            kept = tuple(c for c in from_order[0] if c != ledger.no_fill and c not in (pair or ()))
            if kept:
                fill["fill_from_order"] = (kept, from_order[1])
            else:
                del fill["fill_from_order"]
    elif pair is not None:
        mapped = guesses["revenue"].source if "revenue" in guesses else None
        more_notes.append(_pair_note(*pair, mapped))
        for s in pair:
            if s not in taken:
                notes[s] = "one of a debit and credit pair (see the note above)"
        missing_notes.setdefault(
            "revenue", f"{pair[0]!r} and {pair[1]!r} are a debit and credit pair (see the note)"
        )
    for s, name in twice.items():
        places = [s2 for s2, n2 in twice.items() if n2.lower() == name.lower()]
        said = notes.get(s) or _elsewhere(table, s, guesses)
        notes[s] = (
            f"{name!r} appears twice in the header (names are compared ignoring case): the "
            f"run reads each by its place, as {' and '.join(map(repr, places))}; this one: " + said
        )
    if table == "reps" and "hours_per_year" not in guesses:
        fte = _share_of_full_time(sources, profiles, taken)
        if fte is not None:
            missing_notes.setdefault(
                "hours_per_year",
                f"{fte!r} gives each rep's share of full time (1 = full time), not hours: add "
                f"a column of each rep's selling hours a year ({fte} × a full-time rep's "
                "selling hours) and map it",
            )
            notes[fte] = "a share of full time, not hours (see the note on hours_per_year)"
    missing = _missing(table, guesses, missing_notes)
    options, opt_notes = _reading_options(table, sample, ordered, by_col, profiles)
    options.update(doc_options)
    options.update(fill)
    if ledger is not None:
        options.update(ledger.options)
    free = [s for s in sources if s not in taken and s in have]
    excluded, unsure, status_notes = _row_statuses(table, sample, free)
    if table == "transactions":
        won = _won_deals(sample, [s for s in free if s not in {**excluded, **unsure}])
        if won is not None:
            stage, kept, note = won
            ledger_kept = options.get("keep_rows", ({}, ""))[0]
            options["keep_rows"] = (
                {**(ledger_kept if isinstance(ledger_kept, dict) else {}), stage: kept},
                "only won deals are sales (see the note)",
            )
            notes[stage] = "holds the deals' stage (see the note above)"
            status_notes.append(note)
    for s in {**excluded, **unsure}:
        notes[s] = "holds the rows' status (see the note above)"
    people = _people_rows(table, sample, [s for s in free if s not in excluded])
    if people is not None:
        s, values, note = people
        if values:
            excluded[s] = values
        notes[s] = "says which rows are companies (see the note above)"
        status_notes.append(note)
    commented: dict[str, tuple[OptionValue, str]] = {}
    no_sale = options.get("exclude_rows", ({}, ""))[0]
    excluded = {**(no_sale if isinstance(no_sale, dict) else {}), **excluded}
    if excluded:
        row = _ROWS_ARE.get(table, ("row", "rows"))[0]
        options["exclude_rows"] = (excluded, f"rows that are no {row} (see the note)")
    if unsure:
        every = {s: (*excluded.get(s, ()), *unsure.get(s, ())) for s in {**excluded, **unsure}}
        commented["exclude_rows"] = (every, "with the statuses that may be sales (see the note)")
    if "fill_from_order" in options:
        # an order's status on its first line only (Shopify's Financial Status): filled
        # from the order's other lines, so that exclude_rows leaves out every line of a
        # voided order, not its first alone
        filled, why = options["fill_from_order"]
        statuses = [
            s
            for s in {**excluded, **unsure}
            if s in profiles and profiles[s].sparse and isinstance(filled, tuple)
        ]
        if statuses and isinstance(filled, tuple):
            options["fill_from_order"] = ((*filled, *statuses), why)
    unmapped = tuple(
        (s, notes.get(s) or _elsewhere(table, s, guesses)) for s in sources if s not in taken
    )
    return TableGuess(
        table,
        tuple(sample.columns),
        ordered,
        unmapped,
        missing,
        options,
        tuple([*sample.notes, *opt_notes, *doc_notes, *more_notes, *status_notes]),
        contested,
        commented,
    )


#: money columns of a line, which an order's total repeated on each of its lines is not
_LINE_AMOUNTS = ("revenue", "list_revenue", "cost", "discount_amount")
#: how much a line's amount (Item Total, LineAmount) is preferred to an order's or an
#: invoice's (order_total, Invoice Amount) of the same name score; a third of it, the
#: ledger's own currency (LineAmountMST) to the document's
LEVEL = 0.03
#: the fewest orders of several lines in the sample that tell an order's total
MIN_ORDERS = 5


#: the concepts of the date a line is booked on (Invoice Date, Posting Date, Belegdatum),
#: which comes before an order's date of the same name score (Order Date): revenue counts
#: when it is invoiced
_BOOKED = frozenset({"INVOICE", "POSTING", "DOCUMENT"})


def _level(canonical: str, source: str) -> float:
    """The preference of a money column of a line by its name (see :data:`LEVEL`), and of
    the date it is booked on (a third of it, see :data:`_BOOKED`)."""
    ws = words(source)
    cs = frozenset().union(*(concepts_of(w) for w in ws))
    if canonical == "date":
        return LEVEL / 3 if cs & _BOOKED else 0.0
    if canonical not in _LINE_AMOUNTS:
        return 0.0
    bonus = LEVEL / 3 if set(ws) & ACCOUNTING_CURRENCY else 0.0
    if cs & {"LINE", "PRODUCT"}:
        return bonus + LEVEL
    if cs & {"ORDER", "INVOICE", "DOCUMENT"}:
        return bonus - LEVEL
    return bonus


def _order_totals(
    sample: Sample, order: str, candidates: list[str], profiles: dict[str, Profile]
) -> dict[str, float]:
    """The ``candidates`` holding one value on every line of each order of several lines
    (by the ``order`` column), while a number column of the file varies within some
    order: an order's total, repeated on its lines; each with the average lines an order.

    Such a column varies across orders (three values at least): a column of zeros
    (no discount on any order) says nothing. At least :data:`MIN_ORDERS` orders of
    several lines are needed.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from tierwise.io.sample import Sample
    >>> t = pa.table({"order": [str(i // 2) for i in range(12)],
    ...               "order_total": [str(10 * (i // 2) + 5) for i in range(12)],
    ...               "item_total": [str(i + 1) for i in range(12)]})
    >>> s = Sample("x.csv", "csv", t.column_names, t)
    >>> ps = {c: profile(t.column(c)) for c in t.column_names}
    >>> _order_totals(s, "order", ["order_total", "item_total"], ps)
    {'order_total': 2.0}
    """
    names = sample.table.column_names
    numbers = [c for c in names if names.count(c) == 1 and profiles[c].number >= 0.9]
    wanted = [c for c in dict.fromkeys([*candidates, *numbers]) if c != order and c in numbers]
    if order not in names or not wanted:
        return {}
    text = {
        c: pc.utf8_trim_whitespace(pc.cast(sample.table.column(c), pa.string()).fill_null(""))
        for c in [order, *wanted]
    }
    keyed = pa.table(text).filter(pc.greater(pc.utf8_length(text[order]), 0))
    if keyed.num_rows == 0:
        return {}
    grouped = keyed.group_by(order).aggregate(
        [(order, "count"), *((c, "count_distinct") for c in wanted)]
    )
    lines = grouped.column(f"{order}_count")
    several = pc.greater_equal(lines, 2)
    if _count(several) < MIN_ORDERS:
        return {}
    multi = grouped.filter(several)
    distinct = {c: multi.column(f"{c}_count_distinct") for c in wanted}
    if not any(pc.any(pc.greater(d, 1)).as_py() for d in distinct.values()):
        return {}  # no line differs from the others of its order: no lines to compare
    per_line = keyed.num_rows / grouped.num_rows
    out: dict[str, float] = {}
    for c in candidates:
        if c not in distinct or not pc.all(pc.equal(distinct[c], 1)).as_py():
            continue
        orders = keyed.filter(pc.is_in(keyed.column(order), value_set=multi.column(order)))
        if pc.count_distinct(orders.column(c)).as_py() >= 3:
            out[c] = per_line
    return out


def _drop_order_totals(
    sample: Sample,
    ranked: list[tuple[str, str, float, float]],
    profiles: dict[str, Profile],
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
    notes: dict[str, str],
) -> dict[str, str]:
    """Drop the guesses of money columns of a line (revenue, cost …) that hold an order's
    total, one value on every line of an order (:func:`_order_totals`), taking the next
    candidate instead (adding to ``guesses``, ``taken`` and ``notes``); ``ranked`` is the
    (canonical, source, name score, fit) pairs, best first. Returns, for each such
    canonical column left without a guess, why."""
    og = guesses.get("order_id")
    if og is None or profiles[og.source].sparse:
        return {}
    candidates = list(dict.fromkeys(s for c, s, _, _ in ranked if c in _LINE_AMOUNTS))
    totals = _order_totals(sample, og.source, candidates, profiles)
    if not totals:
        return {}
    why: dict[str, str] = {}
    for cname in _LINE_AMOUNTS:
        g = guesses.get(cname)
        if g is None or g.by_name or g.source not in totals:
            continue
        del guesses[cname]
        del taken[g.source]
        for c, s, ns, fit in ranked:
            if c == cname and s not in taken and s not in totals:
                guesses[cname] = ColumnGuess(
                    cname, s, ns * (0.75 + 0.25 * fit), _named(s, profiles)
                )
                taken[s] = cname
                break
        else:
            why[cname] = f"{g.source!r} reads as it, but holds an order's total (see below)"
    for s, per_line in totals.items():
        if s in taken:
            continue
        reads = next(c for c, src, _, _ in ranked if src == s)
        notes[s] = (
            f"reads as {reads}, but holds one value per order ({og.source!r}), the same on "
            f"each of its lines ({per_line:.1f} lines an order on average in the sample): "
            f"an order's total, never {reads}, which would count it once per line"
        )
    return why


#: how far an amount including tax may lie from the net amount plus the tax (a cent of
#: rounding each way)
TAX_ROUNDING = 0.015


def _amounts(sample: Sample, source: str, comma: bool) -> pa.Array:
    """A sampled column's numbers as the guesses read them (nulls where none)."""
    column = sample.table.column(source).combine_chunks()
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return pc.cast(column, pa.float64())
    return _numbers(pc.cast(column, pa.string()), comma)[0]


def _drop_tax_included(
    sample: Sample,
    have: set[str],
    profiles: dict[str, Profile],
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
    notes: dict[str, str],
) -> None:
    """Drop the guess of list_revenue (adding to ``taken`` and ``notes``) when its column is
    revenue plus a tax column of the file, row by row: a gross amount including tax
    (``Bruttobetrag`` = ``Nettobetrag`` + ``MwSt``), which as the price before discount
    would give every line the tax rate as its discount.

    Examples
    --------
    >>> t = pa.table({"Netto": ["100,00", "50,00", "10,00"], "MwSt": ["19,00", "9,50", "0,70"],
    ...               "Brutto": ["119,00", "59,50", "10,70"]})
    >>> s = Sample("x.csv", "csv", t.column_names, t, ";")
    >>> ps = {c: profile(t.column(c)) for c in t.column_names}
    >>> g = {"revenue": ColumnGuess("revenue", "Netto", 0.9, ""),
    ...      "list_revenue": ColumnGuess("list_revenue", "Brutto", 0.9, "")}
    >>> notes = {}
    >>> taken = {"Netto": "revenue", "Brutto": "list_revenue"}
    >>> _drop_tax_included(s, set(t.column_names), ps, g, taken, notes)
    >>> sorted(g), notes["Brutto"][:61]
    (['revenue'], "reads as list_revenue, but is revenue 'Netto' plus tax 'MwSt'")
    """
    _revenue_net_of_tax(sample, have, profiles, guesses, taken, notes)
    lg, rg = guesses.get("list_revenue"), guesses.get("revenue")
    if lg is None or rg is None or lg.by_name:
        return
    taxes = [
        s
        for s in sample.table.column_names
        if s in have
        and s not in (lg.source, rg.source)
        and profiles[s].number >= 0.9
        and any("TAX" in concepts_of(w) for w in words(s))
        and not any(concepts_of(w) & _NO_AMOUNT for w in words(s))
    ]
    if not taxes:
        return
    comma = _file_decimal(sample, profiles) == ","
    gross, net = (_amounts(sample, g.source, comma) for g in (lg, rg))
    for tax in taxes:
        amount = _amounts(sample, tax, comma)
        off = pc.abs(pc.subtract(gross, pc.add(net, amount)))
        both = off.drop_null()
        within = _count(pc.less_equal(both, TAX_ROUNDING))
        if len(both) < MIN_VALUES or within < 0.9 * len(both):
            continue
        del guesses["list_revenue"]
        del taken[lg.source]
        notes[lg.source] = (
            f"reads as list_revenue, but is revenue {rg.source!r} plus tax {tax!r} on "
            f"{within} of {len(both)} sampled rows: an amount including tax, not the price "
            "before discount"
        )
        return


def _tax_columns(sample: Sample, have: set[str], profiles: dict[str, Profile]) -> list[str]:
    """The sampled number columns named as a tax (MwSt, Tax, VAT), not a rate of it."""
    return [
        s
        for s in sample.table.column_names
        if s in have
        and profiles[s].number >= 0.9
        and any("TAX" in concepts_of(w) for w in words(s))
        and not any(concepts_of(w) & _NO_AMOUNT for w in words(s))
    ]


def _retake(
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
    was: ColumnGuess,
    source: str,
    confidence: float,
    evidence: str,
) -> None:
    """Guess ``source`` for the canonical column ``was`` guessed, in its place: the column
    ``was`` read is free again, ``source`` taken."""
    del taken[was.source]
    guesses[was.canonical] = ColumnGuess(was.canonical, source, confidence, evidence)
    taken[source] = was.canonical


def _named(source: str, profiles: dict[str, Profile]) -> str:
    """The evidence of a guess by a column's name: its words and what its values are."""
    return f"{'|'.join(words(source))}; {profiles[source].describe()}"


def _revenue_net_of_tax(
    sample: Sample,
    have: set[str],
    profiles: dict[str, Profile],
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
    notes: dict[str, str],
) -> None:
    """Take as revenue the amount before tax where the column guessed is that amount plus a
    tax column of the file on the rows where the tax is not 0, at least :data:`MIN_VALUES`
    of them, 90% of them matching, the amount before tax below the total on them in size (Stripe's
    invoices: ``Total`` = ``Subtotal`` + ``Tax``): revenue is net of tax. The amount before tax is a
    number column not taken for another column; a note says why (in ``notes``).

    Examples
    --------
    >>> t = pa.table({"Total": ["108.00", "54.00", "21.60", "10.00"],
    ...               "Tax": ["8.00", "4.00", "1.60", "0.00"],
    ...               "Subtotal": ["100.00", "50.00", "20.00", "10.00"]})
    >>> s = Sample("x.csv", "csv", t.column_names, t)
    >>> ps = {c: profile(t.column(c)) for c in t.column_names}
    >>> g = {"revenue": ColumnGuess("revenue", "Total", 0.9, "")}
    >>> notes = {}
    >>> _revenue_net_of_tax(s, set(t.column_names), ps, g, {"Total": "revenue"}, notes)
    >>> g["revenue"].source, notes["Total"][:56]
    ('Subtotal', "reads as revenue, but is 'Subtotal' plus tax 'Tax' on 3 ")
    """
    rg = guesses.get("revenue")
    if rg is None or rg.by_name or rg.source not in have:
        return
    taxes = [t for t in _tax_columns(sample, have, profiles) if t not in taken]
    nets = [
        s
        for s in sample.table.column_names
        if s in have
        and s not in taken
        and s not in taxes
        and profiles[s].number >= 0.9
        and profiles[s].date < 0.5
    ]
    if not taxes or not nets:
        return
    comma = _file_decimal(sample, profiles) == ","
    gross = _amounts(sample, rg.source, comma)
    for tax in taxes:
        amount = _amounts(sample, tax, comma)
        # only the rows with a tax tell it: where the tax is 0 any copy of revenue matches
        taxed = pc.not_equal(amount, 0.0).fill_null(False)
        if _count(taxed) < MIN_VALUES:
            continue
        for net in nets:
            before = _amounts(sample, net, comma)
            off = pc.abs(pc.subtract(gross, pc.add(before, amount))).filter(taxed)
            below = pc.less(pc.abs(before), pc.abs(gross)).filter(taxed)
            fits = pc.and_(pc.less_equal(off, TAX_ROUNDING), below).drop_null()
            within = _count(fits)
            if len(fits) < MIN_VALUES or within < 0.9 * len(fits):
                continue
            _retake(guesses, taken, rg, net, rg.confidence, _named(net, profiles))
            notes.pop(net, None)
            notes[rg.source] = (
                f"reads as revenue, but is {net!r} plus tax {tax!r} on {within} of "
                f"{len(fits)} sampled rows with a tax: an amount including tax; revenue is "
                f"taken as {net!r}, before tax"
            )
            return


def _revenue_before_total(
    sample: Sample,
    have: set[str],
    profiles: dict[str, Profile],
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
    notes: dict[str, str],
) -> None:
    """Take as revenue a subtotal beside the total guessed (Odoo's order lines: Subtotal
    and Total; BigCommerce's Subtotal (ex tax) and Order Total (ex tax)) where the subtotal
    is at most the total on every sampled row and below it on at least :data:`MIN_VALUES`:
    the total adds tax or shipping, which are no sale. A note says why (in ``notes``).
    Where a discount amount is not zero on sampled rows, the subtotal is taken only where
    the total is it plus the tax and shipping columns alone (it is after the discount);
    else the total stays revenue and a note on the subtotal says why.

    Examples
    --------
    >>> t = pa.table({"Subtotal": ["100.00", "50.00", "20.00", "10.00"],
    ...               "Total": ["115.00", "57.50", "23.00", "11.50"]})
    >>> s = Sample("x.csv", "csv", t.column_names, t)
    >>> ps = {c: profile(t.column(c)) for c in t.column_names}
    >>> g = {"revenue": ColumnGuess("revenue", "Total", 0.9, "")}
    >>> notes = {}
    >>> _revenue_before_total(s, set(t.column_names), ps, g, {"Total": "revenue"}, notes)
    >>> g["revenue"].source, notes["Total"][:58]
    ('Subtotal', "reads as revenue, but is at least 'Subtotal' on all 4 samp")
    """
    rg = guesses.get("revenue")
    if rg is None or rg.by_name or rg.source not in have or "total" not in words(rg.source):
        return
    spec = _spec_for("transactions", "revenue")
    subtotals = [
        s
        for s in sample.table.column_names
        if s in have
        and s not in taken
        and any("SUBTOTAL" in concepts_of(w) for w in words(s))
        and _name_score(spec, words(s)) >= NAME_REQUIRED
        and profiles[s].number >= 0.9
        and profiles[s].sparse == profiles[rg.source].sparse
    ]
    comma = _file_decimal(sample, profiles) == ","
    total = pc.abs(_amounts(sample, rg.source, comma))
    for sub in subtotals:
        before = pc.abs(_amounts(sample, sub, comma))
        at_most = pc.less_equal(before, pc.add(total, TAX_ROUNDING)).drop_null()
        below = _count(pc.less(pc.add(before, TAX_ROUNDING), total).fill_null(False))
        if len(at_most) < MIN_VALUES or _count(at_most) < len(at_most) or below < MIN_VALUES:
            continue
        discount = _discount_before(sample, have, profiles, (rg.source, sub), total, before, comma)
        if discount is not None:
            notes[sub] = (
                f"reads as revenue before tax or shipping, but {discount!r} is not zero on "
                f"sampled rows and {rg.source!r} is not {sub!r} plus the tax and shipping "
                f"columns alone: {sub!r} may be before the discount, so revenue is kept as "
                f"{rg.source!r}. Map {sub!r} as revenue if it is after the discount"
            )
            return
        _retake(guesses, taken, rg, sub, rg.confidence, _named(sub, profiles))
        notes.pop(sub, None)
        notes[rg.source] = (
            f"reads as revenue, but is at least {sub!r} on all {len(at_most)} sampled rows "
            f"and above it on {below}: the total with tax or shipping added; revenue is "
            f"taken as {sub!r}, before them"
        )
        return


#: words naming what a total adds to a subtotal besides tax and shipping
_ADDED_CHARGES = frozenset({"fee", "fees", "freight", "handling"})


def _discount_before(
    sample: Sample,
    have: set[str],
    profiles: dict[str, Profile],
    pair: tuple[str, str],
    total: pa.Array,
    before: pa.Array,
    comma: bool,
) -> str | None:
    """The discount amount's column that is not zero on sampled rows where the subtotal
    is not shown to be after it (the total is not the subtotal plus the tax, shipping and fee
    columns alone, on each row: WooCommerce's order_subtotal and an ERP's Subtotal are
    before the Discount); ``None`` where no such column is, or the subtotal is after it."""
    numeric = [
        s
        for s in sample.table.column_names
        if s in have and s not in pair and profiles[s].number >= 0.9
    ]
    discounts = [
        s
        for s in numeric
        if any("DISCOUNT" in concepts_of(w) for w in words(s))
        # a discount's percentage (Odoo's Discount (%), whose Subtotal is after it)
        and not any("PERCENT" in concepts_of(w) for w in words(s))
        and _count(pc.not_equal(_amounts(sample, s, comma), 0.0).fill_null(False)) > 0
    ]
    if not discounts:
        return None
    added = [
        s
        for s in numeric
        if s not in discounts
        and any({"TAX", "SHIPPING"} & set(concepts_of(w)) or w in _ADDED_CHARGES for w in words(s))
    ]
    if not added:
        return discounts[0]
    extra = pc.abs(_amounts(sample, added[0], comma)).fill_null(0.0)
    for s in added[1:]:
        extra = pc.add(extra, pc.abs(_amounts(sample, s, comma)).fill_null(0.0))
    gap = pc.abs(pc.subtract(total, pc.add(before, extra))).drop_null()
    if len(gap) and _count(pc.less_equal(gap, 2 * TAX_ROUNDING)) == len(gap):
        return None
    return discounts[0]


#: the share of the sampled sale lines (revenue above zero) with a negative quantity from
#: which the quantity column is read as goods issued from stock, not a quantity sold
ISSUED_SHARE = 0.8
#: the fewest sampled sale lines with a quantity that tell it
MIN_ISSUED_LINES = 10


#: the share of a bare Discount column's non-zero values that are round percents (a
#: multiple of 0.5) from which it reads as a percent of the line (Xero's Discount)
ROUND_PERCENTS = 0.8


def _drop_discount_rate(
    sample: Sample,
    profiles: dict[str, Profile],
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
    notes: dict[str, str],
) -> None:
    """Drop the guess of discount_amount (adding to ``taken`` and ``notes``) when its column
    is named Discount alone, beside a unit price, and every sampled value lies in 0 to 100:
    a percent of the line, as Xero's Discount is, which read as an amount would take that
    many currency units off each line. With a revenue guessed beside the unit price and
    the quantity, it is one when the revenue is the price × quantity less that percent on
    more lines than less that amount; without, when the values are mostly round (5, 10,
    12.5). The note says to map it as discount_percent."""
    g = guesses.get("discount_amount")
    if g is None or g.by_name or g.source not in profiles:
        return
    if not all("DISCOUNT" in concepts_of(w) for w in words(g.source)):
        return
    priced = any(
        "PRICE" in cs or "UNIT" in cs
        for s in sample.columns
        if s != g.source
        for cs in (frozenset().union(*(concepts_of(w) for w in words(s))),)
    )
    p = profiles[g.source]
    if not priced or p.n < MIN_VALUES or p.low is None or p.high is None:
        return
    if p.low < 0 or p.high > 100 or p.high == 0:
        return

    def amounts(source: str) -> pa.Array:
        return _amounts(sample, source, profiles[source].decimal == ",")

    values = amounts(g.source)
    sources = [guesses[c].source for c in ("unit_price", "quantity", "revenue") if c in guesses]
    if len(sources) == 3 and all(s in profiles for s in sources):
        # a revenue beside them tells: price × quantity less the discount, or less that
        # percent of it, on more of the lines
        price, qty, rev = (amounts(s) for s in sources)
        listed = pc.multiply(price, qty)
        as_amount = pc.subtract(listed, pc.fill_null(values, 0.0))
        off = pc.divide(pc.multiply(listed, pc.fill_null(values, 0.0)), 100.0)
        as_percent = pc.subtract(listed, off)

        def near(a: pa.Array) -> int:
            gap = pc.abs(pc.subtract(a, rev))
            return _count(pc.less_equal(gap, pc.add(pc.multiply(pc.abs(rev), 0.005), 0.01)))

        if near(as_percent) <= near(as_amount):
            return
    else:
        given = values.drop_null()
        given = given.filter(pc.not_equal(given, 0.0))
        halves = pc.multiply(given, 2.0)
        round_ = _count(pc.equal(halves, pc.round(halves)))
        if round_ < ROUND_PERCENTS * len(given):
            return
    del guesses["discount_amount"]
    del taken[g.source]
    notes[g.source] = (
        f"reads as discount_amount, but its values are round numbers from {p.low:g} to "
        f"{p.high:g}, as a percent of the line is (Xero's Discount): map it as "
        "discount_percent, or as discount_amount if it is an amount in currency units"
    )


def _drop_issued_quantity(
    sample: Sample,
    profiles: dict[str, Profile],
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
    notes: dict[str, str],
) -> None:
    """Drop the guess of quantity (adding to ``taken`` and ``notes``) when its column is
    negative on most sampled lines of positive revenue: the goods issued from stock, as an
    inventory ledger writes a sale (Business Central's Value Entries: ``Invoiced Quantity``
    -5 beside ``Sales Amount (Actual)`` 500). The run reads a negative quantity as a return,
    which would turn every such sale into one.

    Examples
    --------
    >>> t = pa.table({"Qty": [f"-{i % 4 + 1}" for i in range(12)],
    ...               "Sales": [f"{10 + i},50" for i in range(12)]})
    >>> s = Sample("x.csv", "csv", t.column_names, t, ";")
    >>> ps = {c: profile(t.column(c)) for c in t.column_names}
    >>> g = {"revenue": ColumnGuess("revenue", "Sales", 0.9, ""),
    ...      "quantity": ColumnGuess("quantity", "Qty", 0.9, "")}
    >>> notes = {}
    >>> taken = {"Sales": "revenue", "Qty": "quantity"}
    >>> _drop_issued_quantity(s, ps, g, taken, notes)
    >>> sorted(g), notes["Qty"][:58]
    (['revenue'], 'reads as quantity, but is negative on 12 of the 12 sampled')
    """
    qg, rg = guesses.get("quantity"), guesses.get("revenue")
    if qg is None or rg is None or qg.by_name:
        return
    # a header without sampled values (guess_columns on names alone) has nothing to show
    table = sample.table
    if table is None or not {qg.source, rg.source} <= set(table.column_names):
        return
    comma = _file_decimal(sample, profiles) == ","
    quantity, revenue = (_amounts(sample, g.source, comma) for g in (qg, rg))
    sale = pc.and_(pc.greater(revenue, 0.0), pc.not_equal(quantity, 0.0))
    n_sale = _count(sale.fill_null(False))
    issued = _count(pc.and_(sale, pc.less(quantity, 0.0)).fill_null(False))
    if n_sale < MIN_ISSUED_LINES or issued < ISSUED_SHARE * n_sale:
        return
    del guesses["quantity"]
    del taken[qg.source]
    notes[qg.source] = (
        f"reads as quantity, but is negative on {issued} of the {n_sale} sampled lines of "
        f"positive revenue ({rg.source!r}), as a stock ledger writes the goods issued for a "
        "sale: the run reads a negative quantity as a return, which would turn those sales "
        "into returns; map a quantity written positive for a sale, if the file has one"
    )


#: products whose sampled lines show two quantities or more, needed to tell a line's amount
#: from a price per unit (two may be chance)
MIN_PRICED_PRODUCTS = 3
#: how far the amounts a unit of one product may lie apart and still be one price (a cent of
#: rounding on an amount of a few units)
PRICE_TOLERANCE = 0.005


def _price_of_the_line(
    sample: Sample,
    profiles: dict[str, Profile],
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
    notes: list[str],
) -> None:
    """Take the column guessed as ``unit_price`` as ``revenue`` when its values are the
    line's amount, the price times the quantity (Amazon's order reports: ``item-price``
    24.99 for one, 49.98 for two), where the file has no revenue column: on the lines of
    each product bought in two quantities or more, the amount a unit stays one while the
    column itself changes with the quantity. Revenue read as ``unit_price`` × ``quantity``
    would count such a line's amount once per unit. Needs :data:`MIN_PRICED_PRODUCTS`
    such products, and none whose column stays one while the quantity changes.

    Examples
    --------
    >>> t = pa.table({"sku": ["A", "A", "B", "B", "C", "C"],
    ...               "quantity": ["1", "2", "1", "3", "2", "1"],
    ...               "item-price": ["5.00", "10.00", "2.50", "7.50", "9.00", "4.50"]})
    >>> s = Sample("x.txt", "csv", t.column_names, t, "\t")
    >>> ps = {c: profile(t.column(c)) for c in t.column_names}
    >>> g = {"product_id": ColumnGuess("product_id", "sku", 0.9, ""),
    ...      "quantity": ColumnGuess("quantity", "quantity", 1.0, "", True),
    ...      "unit_price": ColumnGuess("unit_price", "item-price", 0.9, "")}
    >>> notes = []
    >>> _price_of_the_line(s, ps, g, {"item-price": "unit_price"}, notes)
    >>> g["revenue"].source, "unit_price" in g
    ('item-price', False)
    """
    pg, qg, ig = (guesses.get(c) for c in ("unit_price", "quantity", "product_id"))
    table = sample.table
    if "revenue" in guesses or pg is None or qg is None or ig is None or table is None:
        return
    # a column named as the price per unit (unit_price) is one, whatever its values
    if pg.by_name or not {pg.source, qg.source, ig.source} <= set(table.column_names):
        return
    comma = _file_decimal(sample, profiles) == ","
    price, quantity = (_amounts(sample, g.source, comma) for g in (pg, qg))
    item = pc.utf8_trim_whitespace(pc.cast(table.column(ig.source), pa.string()).fill_null(""))
    lines = pa.table(
        {"item": item, "price": price, "quantity": quantity, "each": pc.divide(price, quantity)}
    ).filter(
        pc.and_(
            pc.and_(pc.greater(price, 0.0), pc.greater(quantity, 0.0)),
            pc.greater(pc.utf8_length(item), 0),
        ).fill_null(False)
    )
    if lines.num_rows == 0:
        return
    per = lines.group_by("item").aggregate(
        [("quantity", "count_distinct"), ("price", "min_max"), ("each", "min_max")]
    )
    per = per.filter(pc.greater_equal(per.column("quantity_count_distinct"), 2))
    if per.num_rows == 0:
        return

    def one(column: str) -> pa.Array:
        lo, hi = pc.struct_field(per.column(column), 0), pc.struct_field(per.column(column), 1)
        return pc.less_equal(pc.subtract(hi, lo), pc.multiply(lo, PRICE_TOLERANCE))

    per_unit, fixed = one("price_min_max"), one("each_min_max")
    amounts = _count(pc.and_(fixed, pc.invert(per_unit)))
    if amounts < MIN_PRICED_PRODUCTS or _count(per_unit) > 0:
        return
    del guesses["unit_price"]
    guesses["revenue"] = ColumnGuess(
        "revenue", pg.source, pg.confidence, f"{pg.evidence}; the line's amount (see the note)"
    )
    taken[pg.source] = "revenue"
    notes.append(
        f"{pg.source!r} reads as unit_price, but holds the line's amount: on the sampled "
        f"lines of {amounts} products bought in several quantities ({qg.source!r}) it "
        "changes with the quantity while its amount a unit stays one; it is taken as "
        "revenue, as unit_price × quantity would count it once per unit"
    )


def _item_by_generic_name(
    sample: Sample,
    have: set[str],
    profiles: dict[str, Profile],
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
) -> None:
    """Guess product_id (adding to ``guesses`` and ``taken``) as a column of invoice lines
    named only as an identifier (Business Central's ``No.``) beside a description, when
    the customer and the document have columns of their own (``Sell-to Customer No.``,
    ``Document No.``) and no column names the product: the item on the line. Its values
    repeat across rows, as items do; a line's own id (unique on each line) is none.

    Examples
    --------
    >>> t = pa.table({"Document No.": [f"1030{i // 2}" for i in range(6)],
    ...               "Sell-to Customer No.": ["10000", "20000"] * 3,
    ...               "No.": ["1900-S", "1906-S", "1900-S", "1920-S", "1906-S", "1900-S"],
    ...               "Description": ["Chair", "Desk", "Chair", "Lamp", "Desk", "Chair"]})
    >>> s = Sample("x.csv", "csv", t.column_names, t, ";")
    >>> ps = {c: profile(t.column(c)) for c in t.column_names}
    >>> g = {"order_id": ColumnGuess("order_id", "Document No.", 0.9, ""),
    ...      "customer_id": ColumnGuess("customer_id", "Sell-to Customer No.", 0.9, "")}
    >>> taken = {"Document No.": "order_id", "Sell-to Customer No.": "customer_id"}
    >>> _item_by_generic_name(s, set(t.column_names), ps, g, taken)
    >>> g["product_id"].source, taken["No."]
    ('No.', 'product_id')
    """
    if "product_id" in guesses or not {"order_id", "customer_id"} <= set(guesses):
        return
    free = [s for s in sample.table.column_names if s in have and s not in taken]
    if not any("DESCRIPTION" in concepts_of(w) for s in free for w in words(s)):
        return
    generic = [
        s
        for s in free
        if _generic(s)
        and profiles[s].n >= MIN_VALUES
        and profiles[s].distinct < 0.99
        and not _constant(profiles[s])
    ]
    if len(generic) != 1:
        return
    s = generic[0]
    guesses["product_id"] = ColumnGuess(
        "product_id",
        s,
        0.6,
        f"{'|'.join(words(s))}: an identifier alone beside a description, the customer's "
        f"({guesses['customer_id'].source!r}) and the document's "
        f"({guesses['order_id'].source!r}): the item on the line; codes repeating across rows",
    )
    taken[s] = "product_id"


def _file_decimal(sample: Sample, profiles: dict[str, Profile]) -> str | None:
    """The decimal separator a run reads a CSV file's undecided columns with: the one its
    other columns write, else "," for a file delimited by ";" and "." otherwise."""
    if sample.fmt != "csv":
        return None
    decided = {p.decimal for p in profiles.values()} & {".", ","}
    if len(decided) == 1:
        return decided.pop()
    return None if decided else "," if sample.delimiter == ";" else "."


def _by_place(sample: Sample) -> Sample:
    """The sample with each column whose name the header holds twice (names compared
    ignoring case) named by its place, as a run names it: ``Nettowert (column 18)``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table([pa.array(["1"]), pa.array(["2"]), pa.array(["3"])], ["A", "Wert", "wert"])
    >>> _by_place(Sample("x.csv", "csv", t.column_names, t)).columns
    ['A', 'Wert (column 2)', 'wert (column 3)']
    """
    lowered = [s.lower() for s in sample.columns]
    if len(set(lowered)) == len(lowered):
        return sample
    named = [
        f"{s} (column {i})" if lowered.count(s.lower()) > 1 else s
        for i, s in enumerate(sample.columns, 1)
    ]
    table = sample.table
    if table.num_columns == len(named):
        table = table.rename_columns(named)
    return dataclasses.replace(sample, columns=named, table=table)


#: an order's number as a shop writes it (Shopify's Name: #1001)
_ORDER_NUMBER = r"^#\d+$"


def _prefer_line_level(
    table: str,
    sample: Sample,
    usable: list[str],
    have: set[str],
    profiles: dict[str, Profile],
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
    notes: dict[str, str],
) -> None:
    """Drop guesses of columns filled only on an order's first line where every line has
    what is needed (adding to ``guesses``, ``taken`` and ``notes``): revenue when
    unit_price and quantity fill every line, order_id when a column of order numbers
    (#1001) does."""

    def sparse(cname: str) -> ColumnGuess | None:
        g = guesses.get(cname)
        return g if g is not None and not g.by_name and profiles[g.source].sparse else None

    def drop(g: ColumnGuess, instead: str) -> None:
        del guesses[g.canonical]
        del taken[g.source]
        p = profiles[g.source]
        filled = (
            f"is empty on all {p.rows} sampled rows"
            if p.n == 0
            else f"is filled on only {p.n} of {p.rows} sampled rows (an order's own field, "
            "on its first line)"
        )
        notes[g.source] = f"reads as {g.canonical}, but {filled}: {instead}"

    for cname, ways in _stand_ins(table).items():
        for parts in ways:
            g = sparse(cname)
            if g is not None and all(
                o in guesses and profiles[guesses[o].source].full for o in parts
            ):
                drop(g, f"{cname} is taken as {' × '.join(parts)} of each line")
    if "order_id" not in {c.name for c in input_columns(table)}:
        return
    g = guesses.get("order_id")
    if g is not None and sparse("order_id") is None:
        return
    numbered = [
        s
        for s in usable
        if s not in taken
        and s in have
        and profiles[s].full
        and profiles[s].distinct * profiles[s].n >= 2
        and pa.types.is_string(sample.table.column(s).type)
        and _count(pc.match_substring_regex(_filled(sample.table.column(s)), _ORDER_NUMBER))
        == profiles[s].n
    ]
    if len(numbered) != 1:
        return
    s = numbered[0]
    if g is not None:
        drop(g, f"order_id is taken as {s!r}, order numbers on every line")
    guesses["order_id"] = ColumnGuess("order_id", s, 0.6, "order numbers like #1001, every line")
    taken[s] = "order_id"
    notes.pop(s, None)


def _filled(column: pa.ChunkedArray) -> pa.Array:
    """The non-empty values of a text column, trimmed."""
    text = pc.utf8_trim_whitespace(column.combine_chunks().drop_null())
    return text.filter(pc.greater(pc.utf8_length(text), 0))


def _counting(source: str) -> bool:
    """The name says it counts something (number_of_cds, No. of Units, Item Count)."""
    return any("COUNT" in concepts_of(w) for w in words(source))


def _counts(p: Profile) -> bool:
    """Values a count holds: whole numbers, most of them 0 or more (a return's line may
    count negative) and small (their median at most :data:`MAX_COUNT`); true when the sample
    says nothing."""
    if p.n < MIN_VALUES:
        return True
    median = p.median if p.median is not None else -1.0
    return p.number >= 0.9 and p.integer >= 0.95 and 0.0 <= median <= MAX_COUNT


def _generic(source: str) -> bool:
    """The name says only that it identifies something (No., ID, Code)."""
    return all(concepts_of(w) == {"ID"} for w in words(source))


def _constant(p: Profile) -> bool:
    """One value in every one of many sampled rows: a constant, which identifies nothing."""
    return p.n >= MIN_CONSTANT_ROWS and round(p.distinct * p.n) == 1


def _one_value(p: Profile) -> bool:
    """One value in every one of a few sampled rows (:data:`MIN_VALUES` or more)."""
    return p.n >= MIN_VALUES and p.n == p.rows and round(p.distinct * p.n) == 1


def _constant_note(sample: Sample, source: str, p: Profile) -> str:
    example = _example(sample, [source]) or "one value"
    return f"it holds {example} in all {p.n} sampled rows, which identifies nothing"


def _sale_lines_without(
    sample: Sample, guesses: dict[str, ColumnGuess], source: str
) -> tuple[int, int]:
    """How many sampled rows carry a sale (an amount or a date guessed; else an order id)
    but leave ``source`` empty, and how many carry a sale: a blank line or a report's
    footer (eBay's "18 record(s) downloaded", "Seller ID : …") is no line without a
    customer."""
    t = sample.table
    names = t.column_names

    def cells(column: str) -> pa.Array:
        text = pc.cast(t.column(column), pa.string()).combine_chunks()
        return pc.fill_null(pc.match_substring_regex(text, r"\S"), False)

    sale = [
        guesses[c].source
        for c in ("revenue", "unit_price", "date")
        if c in guesses and names.count(guesses[c].source) == 1
    ]
    if not sale and "order_id" in guesses and names.count(guesses["order_id"].source) == 1:
        sale = [guesses["order_id"].source]
    if not sale:
        return 0, 0
    carries = cells(sale[0])
    for c in sale[1:]:
        carries = pc.or_(carries, cells(c))
    empty = pc.and_(carries, pc.invert(cells(source)))
    return _count(empty), _count(carries)


#: names of a column holding a product's code where the file names no product id
#: (Amazon's ASIN, a Barcode, a Model, Odoo's Internal Ref), folded
_PRODUCT_CODES = ("asin", "barcode", "model", "ref", "internalref")


def _product_by_name(
    sample: Sample,
    profiles: dict[str, Profile],
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
) -> str | None:
    """Where product_id is guessed as a product's name (Product Name, Item Name), take a
    column of codes named in :data:`_PRODUCT_CODES` instead (values without spaces, nearly
    all with a digit; changing ``guesses`` and ``taken``); else a note that names spelt
    differently are different products. ``None`` where product_id is no name."""
    pg = guesses.get("product_id")
    names = sample.table.column_names
    if pg is None or pg.by_name or not any("NAME" in concepts_of(w) for w in words(pg.source)):
        return None
    for s in names:
        if s in taken or names.count(s) != 1:
            continue
        if re.sub(r"[^a-z]", "", s.casefold()) not in _PRODUCT_CODES:
            continue
        values = _filled(sample.table.column(s)).to_pylist()
        if len(values) < MIN_VALUES or any(any(ch.isspace() for ch in v) for v in values):
            continue
        if sum(any(ch.isdigit() for ch in v) for v in values) < 0.9 * len(values):
            continue
        _retake(guesses, taken, pg, s, 0.6, f"{profiles[s].describe()}, the product's code")
        return None
    return (
        f"product_id is taken as {pg.source!r}, the product's name: names spelt differently "
        "(Blue Shirt, Blue shirt) count as different products. Map a column of the "
        "product's code if the file has one"
    )


#: a name a program gives a column whose header cell is empty (column_3, Unnamed: 3, F3)
_PLACEHOLDER = re.compile(r"(?i)(column|col|field|unnamed:?|spalte|f)[ _]?\d+")


def _names_a_customer(table: str, sources: Iterable[str]) -> bool:
    """Some column's name reads as a customer (a buyer, an account, a partner), whether
    or not its values let it be taken."""
    spec = _spec_for(table, "customer_id")
    return any(_name_score(spec, words(s)) >= NAME_REQUIRED for s in sources)


def _no_customer_note(fitting: list[str], sources: Iterable[str]) -> str:
    """Why customer_id is not found in a transactions file whose columns' names read as
    no customer: the columns its values could be, or, in Amazon's All Orders report
    (amazon-order-id), that the report leaves the buyer out.

    Examples
    --------
    >>> _no_customer_note(["Kürzel", "Matchcode"], ["Belegnr", "Kürzel", "Matchcode"])
    "no column's name reads as a customer; by their values it could be 'Kürzel' or 'Matchcode'"
    """
    unnamed = [s for s in fitting if _PLACEHOLDER.fullmatch(s.strip())]
    if unnamed:
        return "by their values it could be " + " or ".join(map(repr, unnamed))
    if any(re.sub(r"[^a-z]", "", s.casefold()) == "amazonorderid" for s in sources):
        return (
            "no column's name reads as a customer: Amazon's All Orders report leaves the "
            "buyer out; export the order report that names the buyer (buyer-email), or map "
            "the column you know identifies a customer"
        )
    if fitting:
        return "no column's name reads as a customer; by their values it could be " + (
            " or ".join(map(repr, fitting))
        )
    return "no column's name reads as a customer: map the column that identifies a customer"


def _contested_note(source: str, other: str) -> str:
    """Why a canonical column is not found though a column reads as it."""
    return f"{source!r} reads as it too, but is taken by {other}, a better match"


# -- a placeholder customer ----------------------------------------------------------------

#: the customer ids a shop or a till writes for a buyer without an account, folded
PLACEHOLDER_IDS = frozenset(
    {"0", "-1", "guest", "gast", "walk-in", "walk in", "walkin", "walk-in customer",
     "cash", "cash customer", "anonymous", "anonym"}
)  # fmt: skip
#: an all-zero GUID, another placeholder
_ZERO_GUID = r"^\{?0{8}-0{4}-0{4}-0{4}-0{12}\}?$"


#: the fewest heading rows in a sample that tell a report grouped by one column
MIN_HEADINGS = 2


def _filled_cells(sample: Sample, have: set[str]) -> tuple[list[str], list[pa.Array], pa.Array]:
    """The sampled columns read (those of ``have``), whether each of their cells holds
    more than spaces, and how many cells each row fills."""
    t = sample.table
    names = [c for c in t.column_names if c in have]
    filled = [
        pc.fill_null(pc.match_substring_regex(pc.cast(t.column(c), pa.string()), r"\S"), False)
        for c in names
    ]
    n_filled = pa.array([0] * t.num_rows, pa.int64())
    for f in filled:
        n_filled = pc.add(n_filled, f.cast(pa.int64()))
    return names, filled, n_filled


def _group_headings(sample: Sample, have: set[str]) -> tuple[str, int] | None:
    """The column a report grouped by it fills on heading rows only, and the number of them
    in the sample: a row filling that column alone (every other cell empty), at least
    :data:`MIN_HEADINGS` of them, and the column empty on most rows that fill others (the
    group's lines under its heading; a subtotal row, "Total for …", fills it too)."""
    if sample.table.num_rows < 2 * MIN_HEADINGS:
        return None
    names, filled, n_filled = _filled_cells(sample, have)
    if len(names) < 3:
        return None
    alone = pc.equal(n_filled, 1)
    for c, f in zip(names, filled, strict=True):
        heads = _count(pc.and_(f, alone))
        if heads < MIN_HEADINGS:
            continue
        others = pc.greater(pc.subtract(n_filled, f.cast(pa.int64())), 0)
        lines = _count(others)
        empty_on_lines = _count(pc.and_(others, pc.invert(f)))
        if lines >= heads and empty_on_lines >= 0.5 * lines:
            return c, heads
    return None


def _single_cells(sample: Sample, have: set[str]) -> tuple[str, ...]:
    """The values of the sampled rows that fill one cell only, where all of them are in one
    column (a workbook's group headings: the customer's name in the first cell of a row of
    its own); none otherwise."""
    names, filled, n_filled = _filled_cells(sample, have)
    if len(names) < 2:
        return ()
    alone = pc.equal(n_filled, 1)
    columns = {i for i, f in enumerate(filled) if pc.any(pc.and_(alone, f)).as_py()}
    if len(columns) != 1:
        return ()
    (i,) = columns
    text = pc.cast(sample.table.column(names[i]), pa.string())
    return tuple(v.strip() for v in text.filter(alone).to_pylist() if v)


def _new_column(base: str, named: set[str]) -> str:
    """``base``, or ``base`` followed by a number, whichever no column of ``named`` (keys of
    :func:`~tierwise.schema.column_key`) is."""
    column, k = base, 1
    while column_key(column) in named:
        k += 1
        column = f"{base} {k}"
    return column


def _guest_customers(
    sample: Sample,
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
    profiles: dict[str, Profile],
) -> str | None:
    """Where the customer_id guessed holds a placeholder (0, GUEST, Walk-in, an all-zero
    GUID) on sampled rows whose e-mail column names several buyers (WooCommerce's guest
    checkouts: customer_id 0), take the e-mail column as customer_id (changing ``guesses``
    and ``taken``), and say so; ``None`` otherwise."""
    cg = guesses.get("customer_id")
    names = sample.table.column_names
    if cg is None or cg.source not in names:
        return None
    emails = [
        s
        for s in names
        if s not in taken and profiles.get(s, Profile()).email >= 0.9 and names.count(s) == 1
    ]
    if not emails:
        return None
    ids = pc.utf8_lower(
        pc.utf8_trim_whitespace(pc.cast(sample.table.column(cg.source), pa.string()))
    )
    held = pc.or_(
        pc.is_in(ids, value_set=pa.array(sorted(PLACEHOLDER_IDS))),
        pc.match_substring_regex(ids, _ZERO_GUID),
    )
    held = pc.fill_null(held, False)
    rows = _count(held)
    if rows == 0:
        return None
    mail = emails[0]
    buyers = pc.count_distinct(_filled(sample.table.column(mail).filter(held))).as_py()
    if buyers < 2:
        return None
    placeholder = pc.utf8_trim_whitespace(pc.cast(sample.table.column(cg.source), pa.string()))
    value = placeholder.filter(held)[0].as_py()
    ev = f"{profiles[mail].describe()}, the buyer where {cg.source!r} is {value!r}"
    _retake(guesses, taken, cg, mail, 0.6, ev)
    return (
        f"customer_id {cg.source!r} holds {value!r} on {rows} of {len(ids)} sampled rows, "
        f"where {mail!r} names {buyers} different buyers: buyers without an account (guest "
        f"checkouts) under one placeholder, which a run takes for one big customer. "
        f"customer_id is taken from {mail!r} instead; the customer master's customer_id "
        f"must then be the e-mail address too (or map {cg.source!r} back, and the "
        "placeholder stays one customer)"
    )


#: what MYOB writes as the Card ID of a card without one
_NO_CARD_ID = "*none"
#: the share of the sampled customer ids that are :data:`_NO_CARD_ID` from which the
#: card's name is taken as the customer instead
NO_CARD_SHARE = 0.25


def _cards_without_id(
    table: str,
    sample: Sample,
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
    profiles: dict[str, Profile],
) -> str | None:
    """Where the customer_id guessed holds MYOB's ``*None`` (a card without a Card ID) on
    sampled rows, a note: on at least :data:`NO_CARD_SHARE` of them, and where a column's
    name reads as the customer's name (Co./Last Name), that column is taken as
    customer_id instead (changing ``guesses`` and ``taken``); else the run would read
    every such card as one customer ``*None``. ``None`` where no id is ``*None``."""
    cg = guesses.get("customer_id")
    names = sample.table.column_names
    if cg is None or names.count(cg.source) != 1:
        return None
    ids = [
        v.strip().casefold()
        for v in pc.cast(sample.table.column(cg.source), pa.string()).to_pylist()
        if v and v.strip()
    ]
    none = sum(v == _NO_CARD_ID for v in ids)
    if none == 0:
        return None
    spec = _spec_for(table, "customer_id")
    cards = [
        s
        for s in names
        if s not in taken
        and names.count(s) == 1
        and "NAME" in {c for w in words(s) for c in concepts_of(w)}
        and _name_score(spec, words(s)) >= NAME_REQUIRED
        and profiles.get(s, Profile()).n == profiles.get(s, Profile()).rows > 0
    ]
    said = (
        f"customer_id {cg.source!r} is *None (a card without an ID) on {none} of "
        f"{len(ids)} sampled rows"
    )
    if cards and none >= NO_CARD_SHARE * len(ids):
        card = cards[0]
        _retake(guesses, taken, cg, card, 0.6, f"{profiles[card].describe()}, the card's name")
        return (
            f"{said}: customer_id is taken as {card!r}, the card's name, as the run would "
            f"read every such card as one customer '*None'. Two cards of one name are one "
            f"customer; give each card an ID and map {cg.source!r} to keep them apart"
        )
    return (
        f"{said}: the run reads every such card as one customer '*None'. Give each card "
        "an ID, or map the card's name as customer_id"
    )


#: an id in a list of several (HubSpot's Associated Company IDs: 123;456): a word of
#: letters, digits and the signs ids and e-mail addresses use, with a digit or an @
_LISTED_ID = re.compile(r"[\w.@+/-]*[\d@][\w.@+/-]*")
#: a number written with thousands separators (1,234 or 1,500.00), no list of ids
_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")
#: what separates the ids of such a list
_ID_SEPARATORS = (";", "|", ",")


def _several_customers(sample: Sample, guesses: dict[str, ColumnGuess]) -> str | None:
    """A note when the customer_id guessed holds several ids in one value on sampled rows
    (a deal of several companies: ``123;456``, ``123|456``, ``"123,456"``): the run reads
    such a line as one customer of its own; ``None`` otherwise."""
    cg = guesses.get("customer_id")
    names = sample.table.column_names
    if cg is None or names.count(cg.source) != 1:
        return None
    values = [
        v.strip()
        for v in pc.cast(sample.table.column(cg.source), pa.string()).to_pylist()
        if v and v.strip()
    ]
    for sep in _ID_SEPARATORS:
        listed = [
            v
            for v in values
            if sep in v
            and all(_LISTED_ID.fullmatch(part.strip()) for part in v.split(sep))
            and not (sep == "," and _THOUSANDS.fullmatch(v))
        ]
        if listed:
            return (
                f"customer_id {cg.source!r} holds several ids separated by {sep!r} on "
                f"{len(listed)} of {len(values)} sampled rows ({listed[0]!r}): the run reads "
                "such a line as one customer of its own, none of the customers it names. "
                "Export one customer a line (a deal's primary company), or map a column "
                "holding one customer"
            )
    return None


# -- rows that are no sale ----------------------------------------------------------------

#: the most distinct values a column of rows' statuses holds
MAX_STATUSES = 20
#: what a table's rows are, for the note on their status
_ROWS_ARE = {
    "transactions": ("sale", "sales"),
    "activities": ("activity", "activities"),
    "payments": ("invoice", "invoices"),
    "customers": ("customer", "customers"),
    "prospects": ("prospect", "prospects"),
}


def _row_statuses(
    table: str, sample: Sample, sources: list[str]
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]], list[str]]:
    """Columns of the rows' status among ``sources`` (Status: Void, Draft; Activity - Done:
    To do; a Deleted flag: Y): the values saying a row is no sale (or no activity done),
    to leave out by exclude_rows; those that may be a sale or not (pending, refunded); and
    a note for each column, naming the values and their rows in the sample.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from tierwise.io.sample import Sample
    >>> t = pa.table({"Status": ["Paid", "Void", "Draft", "Paid", "Pending"],
    ...               "Deleted": ["N", "N", "N", "Y", "N"]})
    >>> out, unsure, _ = _row_statuses("transactions", Sample("x", "csv", t.column_names, t),
    ...                                ["Status", "Deleted"])
    >>> out, unsure
    ({'Status': ('Void', 'Draft'), 'Deleted': ('Y',)}, {'Status': ('Pending',)})
    """
    excluded: dict[str, tuple[str, ...]] = {}
    unsure: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []
    row, rows = _ROWS_ARE.get(table, ("row", "rows"))
    for s in sources:
        column = sample.table.column(s)
        if not pa.types.is_string(column.type):
            continue
        text = _filled(column)
        counts = pc.value_counts(text).to_pylist()
        if not counts or len(counts) > MAX_STATUSES:
            continue
        by_value = {c["values"]: int(c["counts"]) for c in counts}
        deleted_flag = bool(set(words(s)) & DELETED_FLAGS) and all(
            fold(v) in (*READ_TRUE, *READ_FALSE) for v in by_value
        )
        if deleted_flag:
            out = tuple(v for v in by_value if fold(v) in READ_TRUE)
            maybe: tuple[str, ...] = ()
        else:
            named = status_name(s)
            out = tuple(v for v in by_value if status_kind(v, named=named) is True)
            maybe = tuple(v for v in by_value if status_kind(v, named=named) is None)
        if not out and not maybe:
            continue
        listed = ", ".join(f"{v} ({by_value[v]})" for v in (*out, *maybe))
        said = f"flags as deleted {listed}" if deleted_flag else f"holds {listed}"
        note = (
            f"{s!r} {said} among {len(sample.table)} sampled rows: such rows are no {row}, "
            f"and a run counts them as {rows} unless they are left out"
        )
        if out:
            excluded[s] = out
            note += f". exclude_rows leaves out {', '.join(out)} (each row rejected as such)"
        if maybe:
            unsure[s] = maybe
            note += (
                f". {', '.join(maybe)} may be {rows} or not, as the business counts them: "
                "add them to exclude_rows if not (the line commented out below)"
            )
        notes.append(note)
    return excluded, unsure, notes


def _people_rows(
    table: str, sample: Sample, sources: list[str]
) -> tuple[str, tuple[str, ...], str] | None:
    """A customer master's column saying whether a row is a company (Odoo's Is a Company),
    where the file lists companies and their people (contacts) alike: the column, the
    values of the people's rows to leave out by exclude_rows (empty where they are not all
    people of a company), and a note.

    The column is named for that alone (Is a Company, not Is Company Active) and holds both
    true and false on the sampled rows. Its false rows are people of a company, to leave
    out, only where each gives its company (Odoo's Related Company, a Parent Company)
    beside it; where some do not, they may be private customers (a consumer shop's
    contacts), and the note only says so.

    Examples
    --------
    >>> t = pa.table(
    ...     {
    ...         "Is a Company": ["True", "False", "False", "True"],
    ...         "Related Company": ["", "Acme", "Hooli", ""],
    ...     }
    ... )
    >>> _people_rows("customers", Sample("x", "csv", t.column_names, t), ["Is a Company"])[:2]
    ('Is a Company', ('False',))
    """
    if table not in ("customers", "prospects"):
        return None
    for s in sources:
        column = sample.table.column(s)
        said = [concepts_of(w) for w in words(s)]
        if not pa.types.is_string(column.type) or not any("COMPANY" in c for c in said):
            continue
        if not any("FLAG" in c for c in said) or any(not c & {"FLAG", "COMPANY"} for c in said):
            continue
        counts = {
            c["values"]: int(c["counts"]) for c in pc.value_counts(_filled(column)).to_pylist()
        }
        people = tuple(v for v in counts if fold(v) in READ_FALSE)
        if not people or any(fold(v) not in (*READ_TRUE, *READ_FALSE) for v in counts):
            continue
        if not any(fold(v) in READ_TRUE for v in counts):
            continue
        listed = ", ".join(f"{v} ({counts[v]})" for v in people)
        held = f"{s!r} holds {listed} among {len(sample.table)} sampled rows"
        parent = _people_company(sample, s, people)
        if parent is None:
            return (
                s,
                (),
                f"{held}, not all of them with a related or parent company: they may be "
                "private customers, counted as customers. If they are the people "
                f"(contacts) of the companies, leave them out by exclude_rows = "
                f"{{ {s!r} = [{', '.join(repr(v) for v in people)}] }}",
            )
        return (
            s,
            people,
            f"{held}, each with its company in {parent!r}: the file lists people "
            "(contacts) beside their companies, and a run counts each as a customer "
            f"unless left out. exclude_rows leaves out the rows of {', '.join(people)} (each "
            "row rejected as such)",
        )
    return None


def _people_company(sample: Sample, flag: str, people: tuple[str, ...]) -> str | None:
    """The column naming the company of every sampled row of ``people`` in ``flag``
    (Odoo's Related Company, a Parent Company), or None: a column named for a company or a
    parent, filled on each of those rows, and not one value on every sampled row (the
    seller's own company in a multi-company export)."""
    rows = pc.is_in(sample.table.column(flag), pa.array(people))
    for s in sample.table.column_names:
        column = sample.table.column(s)
        if s == flag or not pa.types.is_string(column.type):
            continue
        if not any(concepts_of(w) & {"COMPANY", "PARENT"} for w in words(s)):
            continue
        theirs = _filled(column.filter(rows))
        if len(theirs) < pc.sum(rows).as_py() or len(_filled(column).unique()) < 2:
            continue
        return s
    return None


def _won_deals(sample: Sample, sources: list[str]) -> tuple[str, tuple[str, ...], str] | None:
    """The first of ``sources`` named as a deal's stage or status and holding it, won
    (Closed Won) on some sampled rows and another stage (Closed Lost, Prospecting) on
    others, as a CRM exports its opportunities or deals with their products: the won
    stages to keep, and a note. Every other stage, lost or still open, is no sale.

    Examples
    --------
    >>> t = pa.table({"Stage": ["Closed Won", "Closed Lost", "Prospecting", "Closed Won"]})
    >>> _won_deals(Sample("x", "csv", t.column_names, t), ["Stage"])[:2]
    ('Stage', ('Closed Won',))
    """
    for s in sources:
        column = sample.table.column(s)
        # Won is also a currency (Currency Name): only a column named as a stage tells it
        if not pa.types.is_string(column.type) or not status_name(s):
            continue
        counts = pc.value_counts(_filled(column)).to_pylist()
        if len(counts) < 2 or len(counts) > MAX_STATUSES:
            continue
        by_value = {c["values"]: int(c["counts"]) for c in counts}
        won = tuple(v for v in by_value if won_stage(v))
        if not won:
            continue
        others = [v for v in by_value if v not in won]
        listed = ", ".join(f"{v} ({by_value[v]})" for v in others)
        return (
            s,
            won,
            f"{s!r} holds {', '.join(won)} ({sum(by_value[v] for v in won)}) and {listed} "
            f"among {len(sample.table)} sampled rows: a deal is a sale once won, and a run "
            f"counts every row as one unless the others are left out. keep_rows keeps the "
            f"rows of {', '.join(won)}, each other row rejected with its stage",
        )
    return None


# -- a document type as is_return ----------------------------------------------------------

#: a column naming each line's document type: is_return when its values are invoice and
#: return words (:func:`tierwise.settings._words.document_kind`)
_DOCUMENT_TYPE = _spec({"DOCUMENT TYPE": 1.0, "INVOICE TYPE": 1.0, "TYPE": 0.9}, "SALES RETURN")
#: the most distinct values a document-type column may hold
MAX_DOCUMENT_TYPES = 12
#: the words validation reads as true and as false in a true/false column, lower case
READ_TRUE = (
    *("true", "t", "yes", "y", "1", "x", "j", "ja", "oui", "si", "sí", "da"),
    # a spreadsheet's TRUE in German, French, Spanish and Dutch, as its CSV export writes it
    *("wahr", "vrai", "verdadero", "waar"),
)
READ_FALSE = (
    *("false", "f", "no", "n", "0", "", "nein", "non", "nu"),
    *("falsch", "faux", "falso", "onwaar"),
)


@dataclass(frozen=True)
class _DocumentWords:
    """A column's distinct values as document types, each as the file first writes it."""

    returns: tuple[str, ...]
    invoices: tuple[str, ...]
    #: values neither a return, nor an invoice, nor read as true or false
    others: tuple[str, ...]
    #: the system whose codes the values are (SAP billing types), if codes
    system: str = ""
    #: codes of lines that are no sale (Sage's SR receipts, PI purchase invoices)
    no_sale: tuple[str, ...] = ()

    @property
    def fits(self) -> bool:
        """Every value reads as a return or an invoice (or true or false), and some are."""
        return not self.others and bool(self.returns or self.invoices)


def _document_words(column: pa.Array | pa.ChunkedArray, name: str = "") -> _DocumentWords | None:
    """The column's values sorted into returns, invoices and others (case ignored, values
    read as true or false left out); ``None`` for a column of other than a few texts.
    Values that are all one system's codes (SAP's billing types F2, G2, S1 in a column
    ``name``-d as a document type) are read as that system means them
    (:func:`~tierwise.settings._words.document_codes`).

    Examples
    --------
    >>> import pyarrow as pa
    >>> w = _document_words(pa.array(["Rechnung", "Gutschrift", "RECHNUNG", "Storno", ""]))
    >>> w.returns, w.invoices, w.fits
    (('Gutschrift', 'Storno'), ('Rechnung',), True)
    >>> _document_words(pa.array(["Invoice", "Delivery Note", "Payment"])).others
    ('Delivery Note',)
    >>> w = _document_words(pa.array(["SI", "SC", "SR", "SI"]), "Type")
    >>> w.returns, w.invoices, w.no_sale, w.system
    (('SC',), ('SI',), ('SR',), 'Sage 50 transaction types')
    """
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    text = pc.utf8_trim_whitespace(arr.drop_null())
    values = [v for v in pc.unique(text).to_pylist() if v]
    if not values or len(values) > MAX_DOCUMENT_TYPES:
        return None
    coded = document_codes(values, name)
    if coded is not None:
        system, by_code = coded
        spelled: dict[bool | None, dict[str, str]] = {True: {}, False: {}, None: {}}
        for v, kind in by_code.items():
            spelled[kind].setdefault(v.upper(), v)
        returns, invoices, codes = (tuple(spelled[k].values()) for k in (True, False, None))
        return _DocumentWords(returns, invoices, (), system.system, codes)
    kinds: dict[bool | None, dict[str, str]] = {True: {}, False: {}, None: {}}
    no_sale: dict[str, str] = {}
    for v in values:
        low = v.lower()
        if no_sale_document(v):
            no_sale.setdefault(low, v)
        elif low not in READ_TRUE and low not in READ_FALSE:
            kinds[document_kind(v)].setdefault(low, v)
    returns, invoices, others = (tuple(kinds[k].values()) for k in (True, False, None))
    return _DocumentWords(returns, invoices, others, no_sale=tuple(no_sale.values()))


def _returns_by_document_type(
    sample: Sample,
    free: list[str],
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
    notes: dict[str, str],
) -> tuple[dict[str, tuple[OptionValue, str]], list[str]]:
    """Map is_return to a document-type column of invoice and return words (among the
    ``free`` columns) unless a column is mapped already, adding to ``guesses``, ``taken``
    and ``notes``; the true_values and false_values that read its words, with notes."""
    current = guesses.get("is_return")
    kinds: _DocumentWords | None = None
    if current is None:
        documents, unread = _document_type_columns(free, sample)
        if documents:
            s, ns, kinds = documents[0]
            ev = f"{'|'.join(words(s))}; {_describe_kinds(kinds)}"
            guesses["is_return"] = ColumnGuess("is_return", s, ns, ev)
            taken[s] = "is_return"
            notes.pop(s, None)
            for other, _, _ in documents[1:]:
                notes[other] = f"also reads as is_return, taken by {s!r}"
        else:
            flag = _debit_credit_flag(sample, free)
            if flag is not None:
                s, debit, credit = flag
                ev = f"{'|'.join(words(s))}; debit/credit flags {debit}, {credit}"
                guesses["is_return"] = ColumnGuess("is_return", s, 0.6, ev)
                taken[s] = "is_return"
                notes.pop(s, None)
                return _flag_words(s, debit, credit)
        for s, others in unread.items():
            notes[s] = (
                f"reads as a document type, but {', '.join(map(repr, others))} "
                f"{'is' if len(others) == 1 else 'are'} neither an invoice nor a return "
                "(a quote or a delivery note is no sale, and a run counts its lines as "
                "sales): export only invoices and credit notes, then map is_return to it "
                "and list its words in true_values and false_values"
            )
    elif current.source in sample.table.column_names:
        kinds = _document_words(sample.table.column(current.source), current.source)
    if kinds is None or not kinds.fits:
        return {}, []
    return _truth_words(guesses["is_return"].source, kinds)


def _debit_credit_flag(sample: Sample, sources: list[str]) -> tuple[str, str, str] | None:
    """A column flagging each line debit or credit (DATEV's Soll/Haben-Kennzeichen: S, H)
    beside an unsigned amount: its name says debit or credit, its values are the two flags
    of one pair (:data:`~tierwise.settings._words.DEBIT_CREDIT_FLAGS`); the column and its
    debit and credit values as the file writes them."""
    for s in sources:
        if not set(words(s)) & (DEBIT_WORDS | CREDIT_WORDS):
            continue
        column = sample.table.column(s)
        if not pa.types.is_string(column.type):
            continue
        values = [v for v in pc.unique(pc.utf8_trim_whitespace(column)).to_pylist() if v]
        spelled = {fold(v): v for v in values}
        for debit, credit in DEBIT_CREDIT_FLAGS:
            if values and set(spelled) <= {debit, credit}:
                return s, spelled.get(debit, debit.upper()), spelled.get(credit, credit.upper())
    return None


def _flag_words(
    source: str, debit: str, credit: str
) -> tuple[dict[str, tuple[OptionValue, str]], list[str]]:
    """true_values and false_values for a debit/credit flag, with the note to check them."""
    options: dict[str, tuple[OptionValue, str]] = {
        "true_values": ((credit,), f"is_return: credit lines in {source!r} (check the note)"),
        "false_values": ((debit,), f"is_return: debit lines in {source!r}"),
    }
    note = (
        f"is_return reads {source!r}: {credit!r} (credit) as a credit note, {debit!r} "
        "(debit) as an invoice, as they are booked on a customer's account; check which "
        "letter marks a credit note in this export (on a revenue account it is the other "
        "way round) and swap true_values and false_values if need be. The amount is "
        "unsigned: without is_return every credit note counts as a sale"
    )
    return options, [note]


def _debit_credit_pair(sample: Sample, profiles: dict[str, Profile]) -> tuple[str, str] | None:
    """Two amount columns, one named debit (Soll, Debit) and one credit (Haben, Credit)."""

    def side(s: str, side_words: frozenset[str]) -> bool:
        ws = words(s)
        named = [w for w in ws if w in side_words]
        rest = [w for w in ws if w not in side_words and not concepts_of(w) & _PAIR_QUALS]
        p = profiles.get(s, Profile())
        return len(named) == 1 and not rest and p.n > 0 and p.number >= 0.9

    debit = next((s for s in sample.columns if side(s, DEBIT_WORDS)), None)
    credit = next((s for s in sample.columns if side(s, CREDIT_WORDS)), None)
    return (debit, credit) if debit is not None and credit is not None else None


#: words that may stand beside debit or credit in the name of an amount (Debit (EUR))
_PAIR_QUALS = frozenset({"AMOUNT", "CURRENCY", "NET"})


@dataclass(frozen=True)
class _Ledger:
    """What init proposes for a general ledger's debit and credit columns."""

    #: ledger_sale_side and keep_rows where the sample tells them, with why
    options: dict[str, tuple[OptionValue, str]]
    notes: list[str]
    #: the customer's column, which the lines of an entry other than the customer's do not
    #: take from it (no fill_from_order)
    no_fill: str | None = None


#: the words of a column naming a general ledger's account (Account, CompteNum, Konto)
_ACCOUNT_WORDS = frozenset({"account", "compte", "konto", "sachkonto", "cuenta", "rekening"})
#: the concepts of a column naming the other party of a ledger's line (Contact, Name)
_PARTY_CONCEPTS = frozenset({"CONTACT", "CUSTOMER", "PARTNER", "NAME"})


def _texts(sample: Sample, s: str) -> list[str]:
    """The distinct non-empty values of a sampled column as text, in the file's order."""
    column = sample.table.column(s)
    if not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    return list(dict.fromkeys(_filled(column).to_pylist()))


def _listed(values: Iterable[str], n: int = 6) -> str:
    values = list(values)
    more = f" and {len(values) - n} more" if len(values) > n else ""
    return ", ".join(values[:n]) + more


def _ledger(
    sample: Sample,
    pair: tuple[str, str],
    profiles: dict[str, Profile],
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
    notes: dict[str, str],
    sources: list[str],
) -> _Ledger:
    """A general ledger's debit and credit columns mapped as debit_amount and
    credit_amount, and the side a sale is booked on ([transactions] ledger_sale_side) where
    the sample tells it: an FEC whose customer is the auxiliary account (CompAuxNum) of the
    customers' account 411 books a sale as a debit; a ledger whose account column holds
    accounts of sales books it as a credit (beside other accounts, keep_rows keeps those of
    sales). A journal column is said in a note, keep_rows keeping the sales journal where
    its code or name says it (VE, Ventes, Sales Journal). The customer guessed on the account
    column goes to the line's contact (Contact, Name)."""
    debit, credit = pair
    for cname, s, other in (("debit_amount", debit, credit), ("credit_amount", credit, debit)):
        if taken.get(s) == cname:
            continue  # read by its name (Debit Amount)
        guesses[cname] = ColumnGuess(
            cname,
            s,
            0.9,
            f"{'|'.join(words(s))}; a ledger's {cname.split('_')[0]} beside {other!r}, "
            f"{profiles[s].describe()}",
        )
        taken[s] = cname
    options: dict[str, tuple[OptionValue, str]] = {}
    out: list[str] = []
    keys = {column_key(c): c for c in sources}
    cg = guesses.get("customer_id")
    fec = cg is not None and "comptenum" in keys and cg.source == keys.get("compauxnum")
    # the ledger's account column: named as one, some of its values accounts of customers
    # or of sales
    account, kinds = None, {}
    for s in sources:
        if s in pair or not set(words(s)) & _ACCOUNT_WORDS or s == keys.get("compauxnum"):
            continue
        found = {v: ledger_account(v) for v in _texts(sample, s)}
        read = [k for k in found.values() if k]
        # most of its values, or both kinds: a customer's name with a word of sales in it
        # (Acme Sales Inc) makes no column of customers an account column
        if read and (2 * len(read) >= len(found) or len(set(read)) == 2):
            account, kinds = s, found
            break
    no_fill = None
    side = ""
    if fec and cg is not None:
        side = "debit"
        no_fill = cg.source
        number = keys["comptenum"]
        sales = [v for v, k in kinds.items() if k == "revenue"] if account == number else []
        if account is not None:
            notes[account] = "holds the ledger's accounts (see the note above)"
        options["ledger_sale_side"] = (
            "debit",
            f"an FEC: the customer {cg.source!r} is the auxiliary account of the customers' "
            "account (411), where a sale is a debit (see the note)",
        )
        out.append(
            f"an FEC: revenue is {debit!r} − {credit!r} of the lines on the customers' account "
            f"(411), whose auxiliary account {cg.source!r} names the customer: an invoice is "
            "a debit there, a credit note a credit (read as a return). These lines carry each "
            "invoice's total including VAT, so the revenue includes VAT (tierwise's revenue is "
            "otherwise before tax). The lines on revenue (70…) and VAT (445…) accounts "
            "name no customer and are rejected as missing customer_id (they are not filled "
            "from the invoice's line, which would count them against the customer). For "
            'revenue net of VAT instead, set ledger_sale_side = "credit" and fill_from_order '
            f'= ["{cg.source}"] (the customer taken from the invoice\'s line of the same '
            f'order_id), and add "{number}" = '
            f"[{', '.join(json.dumps(v) for v in sales or ['706000'])}, …] (every revenue "
            "account of the ledger, 70…) to keep_rows"
        )
    elif account is not None:
        values = list(kinds)
        revenue = [v for v in values if kinds[v] == "revenue"]
        receivable = [v for v in values if kinds[v] == "receivable"]
        notes[account] = "holds the ledger's accounts (see the note above)"
        if cg is not None and cg.source == account:
            _party_for_account(sample, account, profiles, guesses, taken, sources)
        if len(revenue) == len(values):
            side = "credit"
            options["ledger_sale_side"] = (
                "credit",
                f"every account of {account!r} in the sample is one of sales ("
                f"{_listed(revenue)}), where a sale is a credit",
            )
            out.append(
                f"revenue is {credit!r} − {debit!r}: the lines are on accounts of sales "
                f"({account!r}: {_listed(revenue)}), where a sale is a credit and a credit "
                "note a debit (read as a return)"
            )
        elif len(receivable) == len(values):
            side = "debit"
            options["ledger_sale_side"] = (
                "debit",
                f"every account of {account!r} in the sample is the customers' ("
                f"{_listed(receivable)}), where a sale is a debit",
            )
            out.append(
                f"revenue is {debit!r} − {credit!r}: the lines are on the customers' accounts "
                f"({account!r}: {_listed(receivable)}), where an invoice is a debit and a "
                "credit note a credit (read as a return); a payment is a credit there too: "
                "leave payments out (keep_rows or exclude_rows on the column saying the "
                "document's type or journal)"
            )
        elif revenue:
            side = "credit"
            others = [v for v in values if v not in revenue]
            options["ledger_sale_side"] = (
                "credit",
                "the lines kept are on accounts of sales, where a sale is a credit (see the note)",
            )
            options["keep_rows"] = (
                {account: tuple(revenue)},
                "only the lines on accounts of sales are sales (see the note)",
            )
            out.append(
                f"{account!r} holds the ledger's accounts: of sales {_listed(revenue)}; others "
                f"{_listed(others)}. Each sale is booked on both sides, so only the lines of "
                f"one kind of account are sales: keep_rows keeps those on the accounts of "
                f"sales, where a sale is a credit and a credit note a debit (read as a "
                f"return); revenue is {credit!r} − {debit!r}, net of tax. Each other line "
                "(receivables, payments, tax) is rejected with its account, and so is a line "
                "on an account of sales the sample does not show: add it to the list"
            )
    if not side:
        out.append(
            f"revenue is read from {debit!r} and {credit!r}, a ledger's debit and credit: "
            "debit − credit where the lines are on customers' accounts (an invoice is a debit "
            "there), credit − debit where they are on revenue accounts. Nothing in the sample "
            'tells which: set [transactions] ledger_sale_side = "debit" or "credit" (a run '
            'reads "debit" until then, and warns). Lines on other accounts (payments, tax) are '
            "no sales: leave them out by [transactions] keep_rows"
        )
    if "unit_price" in guesses and "quantity" in guesses:
        out.append(
            f"revenue is read from {debit!r} and {credit!r}, the amounts booked, rather than "
            f"unit_price × quantity ({guesses['unit_price'].source!r} × "
            f"{guesses['quantity'].source!r}), which counts a credit note's lines as sales "
            "unless is_return is mapped"
        )
    journal = _sales_journal(sample, sources, options, notes)
    if journal is not None:
        out.append(journal)
    return _Ledger(options, out, no_fill)


def _party_for_account(
    sample: Sample,
    account: str,
    profiles: dict[str, Profile],
    guesses: dict[str, ColumnGuess],
    taken: dict[str, str],
    sources: list[str],
) -> None:
    """The customer of a ledger's lines taken from its account column (Account, which the
    name reads as a customer's) and given to the column naming each line's other party
    (Contact, Name, Customer), where one does."""
    del guesses["customer_id"]
    del taken[account]
    for s in sources:
        column = sample.table.column(s)
        if s in taken or s == account or not pa.types.is_string(column.type):
            continue
        if profiles[s].n and any(concepts_of(w) & _PARTY_CONCEPTS for w in words(s)):
            guesses["customer_id"] = ColumnGuess(
                "customer_id",
                s,
                0.7,
                f"{'|'.join(words(s))}; the other party of a ledger's line ({account!r} holds "
                "its accounts)",
            )
            taken[s] = "customer_id"
            return


#: words of a column naming a ledger's entry rather than its journal (Journal Entry)
_ENTRY_WORDS = frozenset({"entry", "entries", "ecriture", "num", "number", "nr", "no", "id"})
#: the most distinct values a ledger's journal column holds in a sample
MAX_JOURNALS = 20


def _sales_journal(
    sample: Sample,
    sources: list[str],
    options: dict[str, tuple[OptionValue, str]],
    notes: dict[str, str],
) -> str | None:
    """The note on a ledger's journal column (JournalCode, Journal): only the sales
    journal's lines are sales; keep_rows keeps them where the column's values name the
    sales journal (VE, Ventes, Sales Journal), added to ``options``."""
    # a journal's code or name, not an entry's number (Journal Entry, Journal No.): a few
    # values
    named = [s for s in sources if "journal" in words(s) and not set(words(s)) & _ENTRY_WORDS]
    found = [(s, v) for s in named if len(v := _texts(sample, s)) <= MAX_JOURNALS]
    journals = [s for s, _ in found]
    if not found:
        return None
    s, values = next(((s, v) for s, v in found if any(map(sales_journal, v))), found[0])
    for j in journals:
        notes[j] = "names the lines' journal (see the note above)"
    sales = tuple(v for v in values if sales_journal(v))
    if not sales:
        return (
            f"{s!r} names each line's journal ({_listed(values)}): only the lines of the sales "
            "journal are sales (its lines on customers' accounts, or on revenue accounts); "
            f'list its code in [transactions] keep_rows = {{"{s}" = ["…"]}}'
        )
    kept = options.get("keep_rows", ({}, ""))[0]
    options["keep_rows"] = (
        {**(kept if isinstance(kept, dict) else {}), s: sales},
        "only the sales journal's lines are sales (see the note)",
    )
    others = [v for v in values if v not in sales]
    return (
        f"{s!r} names each line's journal: the sales journal {_listed(sales)}, and "
        f"{_listed(others) or 'no other in the sample'}. Only the sales journal's lines are "
        "sales (a customer's payment is booked on its account too, in the bank's journal): "
        "keep_rows keeps them, each other line rejected with its journal"
    )


def _pair_note(debit: str, credit: str, revenue: str | None) -> str:
    """A debit and credit pair left beside the column mapped as revenue: the sign to check,
    and how to read the revenue from the pair instead."""
    check = ""
    if revenue is not None:
        check = (
            f"revenue is mapped to {revenue!r}: check its sign after a validate run (a sale "
            "booked on a revenue account is a credit, negative as debit − credit). "
        )
    return (
        f"{debit!r} and {credit!r} look like a debit and a credit column; {check}To read "
        "the revenue from the two instead, map them as debit_amount and credit_amount in "
        "[transactions.columns], leave revenue out, and set [transactions] ledger_sale_side "
        '("debit" for lines on customers\' accounts, "credit" for lines on revenue accounts)'
    )


def _document_type_columns(
    sources: list[str], sample: Sample
) -> tuple[list[tuple[str, float, _DocumentWords]], dict[str, tuple[str, ...]]]:
    """The columns named as a document type (or a return) whose values are all invoice and
    return words, best-named first, with their name score and words; and those so named
    that hold such words and others too, with the others."""
    fitting: list[tuple[str, float, _DocumentWords]] = []
    unread: dict[str, tuple[str, ...]] = {}
    for s in sources:
        ws = words(s)
        ns = max(_name_score(_DOCUMENT_TYPE, ws), _name_score(_SPECS["is_return"], ws))
        if ns < NAME_OPTIONAL:
            continue
        found = _document_words(sample.table.column(s), s)
        if found is not None and found.fits:
            fitting.append((s, ns, found))
        elif found is not None and found.others and (found.returns or found.invoices):
            unread[s] = found.others
    fitting.sort(key=lambda f: -f[1])  # stable: the file's order among equals
    return fitting, unread


def _describe_kinds(kinds: _DocumentWords) -> str:
    returns, invoices = kinds.returns, kinds.invoices
    parts = [f"returns {', '.join(returns)}" if returns else "no return in the sample"]
    if invoices:
        parts.append(f"invoices {', '.join(invoices)}")
    if kinds.no_sale:
        parts.append(f"no sale {', '.join(kinds.no_sale)}")
    return (kinds.system or "document types") + ": " + "; ".join(parts)


def _truth_words(
    source: str, kinds: _DocumentWords
) -> tuple[dict[str, tuple[OptionValue, str]], list[str]]:
    """true_values and false_values for a document-type column, and a note where the
    sample shows no return."""
    returns, invoices = kinds.returns, kinds.invoices
    options: dict[str, tuple[OptionValue, str]] = {}
    notes: list[str] = []
    if returns:
        options["true_values"] = (returns, f"is_return: returns and credit notes in {source!r}")
    else:
        notes.append(
            f"no return or credit note among the sampled values of {source!r}: add the word "
            "the file writes for one to true_values (a value in neither list is rejected)"
        )
    if invoices:
        options["false_values"] = (invoices, f"is_return: invoices in {source!r}")
    if kinds.system:
        said = "; ".join(
            f"{kind} {', '.join(values)}"
            for kind, values in (
                ("credit notes", returns),
                ("invoices", invoices),
                ("no sale", kinds.no_sale),
            )
            if values
        )
        notes.append(
            f"{source!r} holds {kinds.system} ({said}). Such a system writes every amount "
            "unsigned and the document type gives the sign: is_return with true_values "
            "turns the credit notes and cancellations negative; without it each counts as "
            "a sale"
        )
    if kinds.no_sale:
        options["exclude_rows"] = ({source: kinds.no_sale}, f"lines of no sale in {source!r}")
        notes.append(
            f"{', '.join(map(repr, kinds.no_sale))} in {source!r} "
            f"{'is' if len(kinds.no_sale) == 1 else 'are'} no sale (a payment, a purchase): "
            "exclude_rows leaves those lines out, each rejected as such"
        )
    return options, notes


#: concepts that name a column of no canonical kind: a rate (an exchange rate, SAP's Kurs)
_NO_AMOUNT = frozenset({"RATE", "PERCENT"})


def _names_anything(source: str) -> bool:
    """The name carries a concept that names some canonical column, or a rate."""
    return any(concepts_of(w) & (_HEADS | _NO_AMOUNT) for w in words(source))


def _elsewhere(table: str, source: str, guesses: dict[str, ColumnGuess]) -> str:
    """What an unused column looks like: a column taken by another, or another table's."""
    ws = words(source)
    for c in input_columns(table):
        if _name_score(_spec_for(table, c.name), ws) >= NAME_OPTIONAL and c.name in guesses:
            return f"also reads as {c.name}, taken by {guesses[c.name].source!r}"
    best: tuple[float, str, list[str]] = (0.0, "", [])
    for other in TABLES:
        if other == table:
            continue
        for c in input_columns(other):
            ns = _name_score(_spec_for(other, c.name), ws)
            if ns > best[0] + 1e-9:
                best = (ns, c.name, [other])
            elif ns >= NAME_OPTIONAL and abs(ns - best[0]) < 1e-9 and c.name == best[1]:
                best[2].append(other)
    if best[0] >= NAME_OPTIONAL:
        tables = best[2]
        where = ", ".join(tables[:-1]) + " and " + tables[-1] if len(tables) > 1 else tables[0]
        return f"looks like {best[1]}, a column of {where}"
    return f"not a {table} column"


#: the words of a record's last change (Dynamics 365's Modified On, Updated At)
_CHANGE_WORDS = frozenset(
    [
        "modified",
        "modify",
        "modification",
        "updated",
        "update",
        "changed",
        "change",
        "last",
        "geandert",
        "geaendert",
        "aenderung",
        "anderung",
        "letzte",
        "modifie",
        "modificado",
        "modificacion",
        "actualizado",
        "gewijzigd",
        "wijziging",
    ]
)


def _changed(source: str) -> bool:
    """The name says when a record last changed, which is no date it was created."""
    return any(w in _CHANGE_WORDS for w in words(source))


def _share_of_full_time(
    sources: Iterable[str], profiles: dict[str, Profile], taken: dict[str, str]
) -> str | None:
    """A reps file's column of each rep's share of full time (FTE: 1, 0.8, 0.5), which is no
    count of hours: named as a head count, its numbers 0 to 1.5."""
    for s in sources:
        p = profiles[s]
        if (
            s not in taken
            and any("EMPLOYEES" in concepts_of(w) for w in words(s))
            and p.n >= MIN_VALUES
            and p.number >= 0.9
            and p.low is not None
            and p.high is not None
            and p.low >= 0
            and p.high <= 1.5
        ):
            return s
    return None


def _missing(
    table: str, guesses: dict[str, ColumnGuess], notes: dict[str, str]
) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    stand_ins = _stand_ins(table)
    for c in TABLES[table].columns:
        if not c.required or c.name in guesses:
            continue
        ways = stand_ins.get(c.name, ())
        if _stood_in(ways, guesses):
            continue  # revenue from unit_price × quantity, or from debit and credit
        others = ways[0] if ways else ()
        note = notes.get(c.name, "no column of the file reads as it")
        if others:
            have = [o for o in others if o in guesses]
            lack = " and ".join(o for o in others if o not in have)
            if have:
                note += f"; {' and '.join(have)} found, but no {lack} to compute it from"
            else:
                note += f"; nor {lack} to compute it from"
        out.append((c.name, note))
    return tuple(out)


def _reading_options(
    table: str,
    sample: Sample,
    guesses: tuple[ColumnGuess, ...],
    by_col: dict[str, Column],
    profiles: dict[str, Profile],
) -> tuple[dict[str, tuple[OptionValue, str]], list[str]]:
    """decimal, date_format and table where the sample needs them; notes where unsure."""
    options: dict[str, tuple[OptionValue, str]] = {}
    notes: list[str] = []
    if sample.sheet is not None:
        options["sheet"] = (sample.sheet, "the sheet whose columns fit this input best")
    if sample.header_row is not None:
        options["header_row"] = (sample.header_row, "the line holding the column names")
    if sample.table_name and sample.fmt == "postgres":
        options["table"] = (sample.table_name, "the table read from the database")
    elif sample.table_name:
        options["table"] = (sample.table_name, "the only table in the database")
    # decimal separator: from the mapped number columns, against the default for the file
    if sample.fmt == "csv":
        default = "," if sample.delimiter == ";" else "."
        seps: dict[str, list[str]] = {}
        for g in guesses:
            if by_col[g.canonical].kind in ("number", "int"):
                sep = profiles[g.source].decimal
                if sep is not None:
                    seps.setdefault(sep, []).append(g.source)
        if "mixed" in seps:
            notes.append(
                f"{', '.join(seps['mixed'])}: both '.' and ',' decimals in one column; "
                "check the numbers after a validate run"
            )
        found = sorted(s for s in seps if s != "mixed")
        if len(found) == 1 and found[0] != default:
            options["decimal"] = (found[0], _decimal_why(sample, found[0], seps[found[0]]))
        elif len(found) > 1:
            notes.append(
                "columns use different decimal separators ("
                + "; ".join(f"{s!r}: {', '.join(seps[s])}" for s in found)
                + "); set decimal for the one that matters most"
            )
    # dates: one format for the table's text dates, when the defaults do not read them right
    date_cols = [
        g.source
        for g in guesses
        if by_col[g.canonical].kind == "date"
        and g.source in sample.table.column_names
        and pa.types.is_string(sample.table.schema.field(g.source).type)
        # serial day numbers need no format: the run reads them only while none is set
        and not _serial_days(profiles[g.source])
    ]
    if date_cols:
        fmts: set[str] | None = None
        for s in date_cols:
            p = profiles[s]
            if p.n == 0:
                continue
            fmts = set(p.date_formats) if fmts is None else fmts & set(p.date_formats)
        defaults = ValidateSettings().date_formats
        # two-digit years beside years in full, in one column or across the table's columns:
        # one date_format cannot read both, the run's list of formats with the short one can
        short = sorted(
            {
                f
                for s in date_cols
                for f in (profiles[s].short_formats or profiles[s].date_formats)
                if "%y" in f and profiles[s].short_date > 0
            },
            key=lambda f: (not f.startswith("%d"), len(f), f),
        )
        full = any(profiles[s].date - profiles[s].short_date > 0 for s in date_cols)
        if short and full:
            chosen = short[0]
            example = _example(sample, date_cols, _SHORT_YEAR)
            like = f" like {example}" if example else ""
            both = [f for f in short if f.startswith("%m")] and chosen.startswith("%d")
            if both:
                notes.append(
                    "day and month are both 12 or less in every sampled two-digit-year "
                    f"date: read as day first; if the file writes month first, put "
                    f'"{next(f for f in short if f.startswith("%m"))}" in [validate] '
                    "date_formats instead"
                )
            # month first: the years in full are read month first too (the first format
            # that reads a value both ways decides)
            first = ("%m/%d/%Y",) if chosen.startswith("%m") and "/" in chosen else ()
            options["validate_date_formats"] = (
                (*first, *(f for f in defaults if f not in first), chosen),
                f"two-digit years{like} beside years in full: the defaults and {chosen!r}"
                + (", month first" if first else ""),
            )
            fmts = None
        if fmts is not None:
            # the shortest format first: the date alone before a date with a time
            day_first = sorted((f for f in fmts if f.startswith("%d")), key=lambda f: (len(f), f))
            month_first = sorted((f for f in fmts if f.startswith("%m")), key=lambda f: (len(f), f))
            example = _example(sample, date_cols)
            as_in = f", as in {example}" if example else ""
            if month_first and not day_first:
                options["date_format"] = (month_first[0], f"month first{as_in}")
            elif month_first and day_first:
                notes.append(
                    "day and month are both 12 or less in every sampled date: read as "
                    f"day first; if the file writes month first, set date_format = "
                    f'"{month_first[0]}"'
                )
                if not any(f in defaults for f in fmts):
                    options["date_format"] = (day_first[0], "day first (see the note above)")
            elif fmts and not any(f in defaults for f in fmts):
                chosen = sorted(fmts, key=lambda f: (len(f), f))[0]
                two_digit = " (two-digit years)" if "%y" in chosen else ""
                like = f"dates like {example}" if example else "the dates of the sample"
                options["date_format"] = (chosen, like + two_digit)
            elif not fmts and any(profiles[s].date < 1.0 for s in date_cols):
                notes.append(
                    f"some sampled values of {', '.join(date_cols)} are not dates in a known "
                    "format; set date_format"
                )
    return options, notes


def _example(sample: Sample, columns: list[str], pattern: str = "") -> str | None:
    """The first sampled value of ``columns`` (matching ``pattern``, if given), quoted."""
    for column in columns:
        if column not in sample.table.column_names:
            continue
        text = pc.utf8_trim_whitespace(pc.cast(sample.table.column(column), pa.string()))
        text = text.filter(pc.greater(pc.utf8_length(text), 0))
        if pattern:
            cleaned = _without_currency(text)
            text = text.filter(pc.match_substring_regex(cleaned, pattern))
        if len(text):
            return repr(text[0].as_py())
    return None


def _decimal_why(sample: Sample, sep: str, columns: list[str]) -> str:
    """Why ``decimal`` is set: a value showing the separator, else the columns using it."""
    example = _example(sample, columns, _DOT_DECIMAL if sep == "." else _COMMA_DECIMAL)
    if example is not None:
        return f"numbers like {example}"
    name = "point" if sep == "." else "comma"
    return f"the decimal {name} of {', '.join(map(repr, columns))}"
