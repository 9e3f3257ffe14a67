"""The data contract: canonical tables, their columns, types and which are required.

Every input lands in the engine under these names and types, whatever the user's file
called them (the mapping lives in the table's settings section, ``[transactions.columns]``).

Types are the canonical kinds tierwise parses into:

- ``id``     text identifier (kept as text, trimmed; leading zeros are kept)
- ``text``   free text (names, addresses)
- ``date``   calendar date
- ``number`` floating-point number (money, quantities, coordinates)
- ``int``    whole number
- ``bool``   true/false (accepts true/false, yes/no, y/n, 1/0, t/f)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CASE_FOLDS",
    "FOLD_SEPARATORS",
    "TABLES",
    "Column",
    "TableSpec",
    "case_key",
    "column_key",
    "fold_text",
    "table_spec",
]


def column_key(name: str) -> str:
    """A column's name as settings and files are matched by it: case, spaces and
    punctuation ignored ("Customer No." and "customer_no" are one column)."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


#: The columns of each input table in currency units: the amounts whose currency must be the
#: invoices' one (validation), and what a guess from a column's values reads as money
MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "transactions": (
        "revenue",
        "cost",
        "list_revenue",
        "unit_price",
        "discount_amount",
        "unit_cost",
        "debit_amount",
        "credit_amount",
    ),
    "customers": ("annual_revenue",),
    "prospects": ("annual_revenue",),
    "activities": ("cost",),
    "payments": ("amount",),
    "market": ("market_size",),
}

#: What a folded column (:attr:`Column.fold`) writes as one underscore: each run of spaces
#: and hyphens
FOLD_SEPARATORS = r"[\s\-]+"


#: What a cell and a setting's values are read alike by beyond lower case, where a cell is
#: matched to values given in the settings ([table] exclude_rows and keep_rows, in the
#: engine and in Arrow alike): each text is lowered by the engine's (or Arrow's) own
#: ``lower``, then each of these is replaced. The engines lower alike but for "İ" (Spark,
#: as Java and Python, lowers it to "i" and a combining dot, DuckDB and Arrow to "i") and
#: a word-final "Σ" (Spark lowers it to "ς", DuckDB and Arrow to "σ"); and no ``lower``
#: reads "ß" (or "ẞ", lowered to it) as the "ss" STRASSE is written with. Other letters
#: that Unicode's case folding reads alike and lower case does not (the ligature "ﬁ" and
#: "fi") are told apart.
CASE_FOLDS: tuple[tuple[str, str], ...] = (("i\u0307", "i"), ("\u03c2", "\u03c3"), ("\u00df", "ss"))


def case_key(text: str) -> str:
    """Text lowered as the engines lower a cell to match it case aside (Python lowers "İ"
    and a word-final "Σ" as Spark does), then each of :data:`CASE_FOLDS` replaced: a name
    so read is compared with a cell so read in DuckDB, Spark or Arrow.

    >>> case_key("İSTANBUL"), case_key("ΟΔΟΣ"), case_key("STRAẞE")
    ('istanbul', 'οδοσ', 'strasse')
    """
    key = text.lower()
    for written, read in CASE_FOLDS:
        key = key.replace(written, read)
    return key


def fold_text(text: str) -> str:
    """A value of a folded column (:attr:`Column.fold`) as validation reads it, for the
    settings that name such values (an activity type written "E-Mail" is ``e_mail``).

    Examples
    --------
    >>> fold_text(" E-Mail "), fold_text("Phone  Call"), fold_text("Besuch")
    ('e_mail', 'phone_call', 'besuch')
    """
    return re.sub(FOLD_SEPARATORS, "_", text.strip().lower())


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # id | text | date | number | int | bool
    required: bool = False
    doc: str = ""
    #: text in one spelling: lower case, runs of spaces and hyphens as one underscore
    #: (activity types ``Order Change`` and ``order-change`` are both ``order_change``)
    fold: bool = False
    #: a number that is a fraction (0.03 = 3%): text with a trailing percent sign reads as
    #: that many hundredths (``3.5%`` and ``3,5 %`` are 0.035)
    fraction: bool = False
    #: a number of minutes: text written as a clock duration, H:MM or H:MM:SS, reads as
    #: minutes (``1:05`` is 65, ``0:28:30`` is 28.5)
    minutes: bool = False
    #: a number in percent (10 = 10%): a trailing percent sign is dropped, the value kept
    #: (``10%`` and ``10`` are 10)
    percent: bool = False


@dataclass(frozen=True)
class TableSpec:
    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    #: columns a file may give that are not kept in the canonical table but derive one
    #: (transactions: unit_price, discount_amount, discount_percent, unit_cost, currency);
    #: mapped like the others
    derive_from: tuple[Column, ...] = ()
    #: a required column that other columns may stand in for when the file lacks it
    #: (transactions: revenue from unit_price × quantity, or from a ledger's debit and
    #: credit); a column may be listed more than once, each entry one way to derive it
    stand_ins: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: columns of which the file must have at least one, and each row a value in one
    #: (market: industry and/or region)
    one_of: tuple[str, ...] = ()
    #: each row must name a customer of the master or of the transactions; a row naming
    #: another is rejected (activities, payments)
    known_customers: bool = False
    #: a value of an optional column that cannot be read (``ca. 50`` employees, ``Net 30``
    #: payment terms, no such date) or is out of its plausible range (a latitude of 95,
    #: negative employees) is emptied and its row kept, each such value listed in
    #: emptied_values.csv and counted in the warnings; otherwise it rejects the row. Not for
    #: the transactions (a line's amounts and return flag belong together: a line read
    #: without one would count wrong) nor the payments (an empty paid_date is an invoice
    #: not yet paid)
    empties_unreadable: bool = False

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical table's columns."""
        return tuple(c.name for c in self.columns)

    @property
    def input_columns(self) -> tuple[Column, ...]:
        """Every column a file may map: the canonical ones, then those that derive one."""
        return self.columns + self.derive_from

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.input_columns)

    def column(self, name: str) -> Column:
        for c in self.input_columns:
            if c.name == name:
                return c
        raise KeyError(name)


_FIRMOGRAPHICS = (
    Column("customer_id", "id", True, "the customer's identifier"),
    Column("name", "text", doc="company or person name"),
    Column("address", "text", doc="street address"),
    Column("postcode", "text", doc="postal code"),
    Column("city", "text"),
    Column("country", "text"),
    Column("lat", "number", doc="latitude, degrees"),
    Column("lon", "number", doc="longitude, degrees"),
    Column("industry", "text"),
    Column("employees", "number", doc="head count"),
    Column("annual_revenue", "number", doc="the customer's own yearly turnover, currency units"),
    Column("region", "text"),
    Column("rep_id", "id", doc="owning sales rep"),
    Column("current_channel", "text", doc="how the customer is served today"),
    Column("created_date", "date"),
    Column("payment_terms_days", "number", doc="agreed payment terms, days"),
    Column("parent_id", "id", doc="customer_id of the parent company, if any"),
    Column("tax_id", "text", doc="VAT or tax number"),
    Column("phone", "text"),
    Column("email", "text"),
)

TABLES: dict[str, TableSpec] = {
    "transactions": TableSpec(
        "transactions",
        "invoice lines: one row per product line of an invoice (returns are negative)",
        (
            Column("customer_id", "id", True),
            Column("date", "date", True, "invoice date"),
            Column(
                "revenue",
                "number",
                True,
                "net revenue of the line after discount (or unit_price × quantity, less the "
                "line's discount)",
            ),
            Column("order_id", "id", doc="invoice or order number"),
            Column("product_id", "id"),
            Column("product_category", "text"),
            Column("quantity", "number", doc="units"),
            Column("cost", "number", doc="cost of goods sold for the line"),
            Column(
                "list_revenue",
                "number",
                doc="revenue at list price, before discount (or unit_price × quantity, or "
                "revenue + discount_amount)",
            ),
            Column("is_return", "bool", doc="line is a return or credit note"),
        ),
        derive_from=(
            Column(
                "unit_price",
                "number",
                doc="price per unit: revenue = unit_price × quantity when the file has no "
                "revenue column; with a discount mapped, the price before the line's discount "
                "(list_revenue = unit_price × quantity, revenue = that less the discount) "
                "unless [transactions] unit_price_after_discount",
            ),
            Column(
                "discount_amount",
                "number",
                doc="discount on the line, currency units: list_revenue = revenue + "
                "discount_amount when the file has no list_revenue column",
            ),
            Column(
                "discount_percent",
                "number",
                doc="discount on the line as a percent of its list amount (10 = 10%; 10% "
                "reads as 10, 0.1 as 0.1%, or as 10% with [transactions] "
                'discount_percent_scale = "fraction"), where the file has no discount_amount: '
                "list_revenue = revenue / (1 − discount_percent/100), or with revenue from "
                "unit_price × quantity, revenue = that × (1 − discount_percent/100); a "
                "percent outside 0 to 100 (a fraction outside 0 to 1) rejects its line where "
                "the revenue is derived from it, and is emptied otherwise (emptied_values)",
                percent=True,
            ),
            Column(
                "unit_cost",
                "number",
                doc="cost of goods per unit: cost = unit_cost × quantity when the file has no "
                "cost column",
            ),
            Column(
                "debit_amount",
                "number",
                doc="a general ledger's debit (Debit, Soll) of the line, where the file has "
                "no revenue column and gives the amount as a debit and a credit column: "
                "revenue = debit_amount − credit_amount for lines on customers' accounts, "
                'credit_amount − debit_amount with [transactions] ledger_sale_side = "credit" '
                "for lines on revenue accounts; an empty side reads as 0",
            ),
            Column(
                "credit_amount",
                "number",
                doc="a general ledger's credit (Credit, Haben) of the line, beside "
                "debit_amount (see there): a credit note on a customer's account, or a sale "
                "on a revenue account",
            ),
            Column(
                "currency",
                "text",
                doc="currency code of the line's amounts (EUR, USD …): converted to one "
                "currency by [transactions] exchange_rates",
            ),
        ),
        stand_ins=(
            ("revenue", ("unit_price", "quantity")),
            ("revenue", ("debit_amount", "credit_amount")),
        ),
    ),
    "customers": TableSpec(
        "customers",
        "the customer master: one row per customer record",
        _FIRMOGRAPHICS,
        key=("customer_id",),
        empties_unreadable=True,
    ),
    "prospects": TableSpec(
        "prospects",
        "companies that have not bought yet, same columns as customers",
        _FIRMOGRAPHICS,
        key=("customer_id",),
        empties_unreadable=True,
    ),
    "activities": TableSpec(
        "activities",
        "sales and service events: visits, calls, emails, deliveries, order changes, ...",
        (
            Column("customer_id", "id", True),
            Column("date", "date", True),
            Column(
                "type",
                "text",
                True,
                "visit, call, email, delivery, order_change, return, ...",
                fold=True,
            ),
            Column(
                "duration_minutes",
                "number",
                doc="length of the activity, minutes (H:MM and H:MM:SS read as minutes: 1:05 = 65)",
                minutes=True,
            ),
            Column("cost", "number", doc="recorded cost of the activity, currency units"),
            Column("rep_id", "id"),
        ),
        known_customers=True,
        empties_unreadable=True,
    ),
    "payments": TableSpec(
        "payments",
        "invoices with their due and paid dates",
        (
            Column("invoice_id", "id", True),
            Column("customer_id", "id", True),
            Column("due_date", "date", True),
            Column("paid_date", "date", doc="empty while unpaid"),
            Column("amount", "number", True),
        ),
        key=("invoice_id",),
        known_customers=True,
    ),
    "reps": TableSpec(
        "reps",
        "sales reps and their capacity",
        (
            Column("rep_id", "id", True),
            Column("role", "text", True, "field, inside or key_account"),
            Column("hours_per_year", "number", True, "selling hours available per year"),
            Column("region", "text"),
            Column("home_lat", "number"),
            Column("home_lon", "number"),
        ),
        key=("rep_id",),
        empties_unreadable=True,
    ),
    "market": TableSpec(
        "market",
        "market size and growth by industry and/or region",
        (
            Column("industry", "text"),
            Column("region", "text"),
            Column("market_size", "number", doc="yearly market size, currency units"),
            Column(
                "growth_rate",
                "number",
                doc="yearly growth, fraction (0.03 = 3%; a value with a percent sign, 3%, "
                "reads as 0.03)",
                fraction=True,
            ),
        ),
        one_of=("industry", "region"),
        empties_unreadable=True,
    ),
}


def table_spec(name: str) -> TableSpec:
    """The contract of a canonical table by name."""
    return TABLES[name]
