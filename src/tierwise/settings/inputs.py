"""Settings for each input table: where it is, how to read it, and its column names."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

from pydantic import Field, field_serializer, field_validator, model_validator

from ..schema import TABLES, Column
from ._base import Section, check_date_format

__all__ = ["TableInput", "cannot_share", "shared_column_clashes", "shared_column_fix"]


class TableInput(Section):
    """How to read one input table. Everything is optional: a file whose columns already carry
    the canonical names needs nothing here but its path (or ``--transactions FILE``)."""

    path: str | None = None
    """File path, or a PostgreSQL URL (postgresql://user@host/db); a relative path is relative
    to the settings file's folder (not the folder the command runs in), and ``~/`` starts
    from your home folder. Default: none (given on the command line). A password in the URL
    is never shown or stored (the manifest carries the URL with the password masked);
    better, leave it out and use ~/.pgpass."""

    table: str | None = None
    """Table (or schema.table) inside a DuckDB file or PostgreSQL database. Default: the
    input's own name (e.g. ``transactions``)."""

    sheet: str | None = None
    """Excel worksheet name. Default: the first sheet not hidden (as Excel opens the
    workbook)."""

    header_row: int | None = Field(default=None, ge=1)
    """The row of an Excel sheet or the line of a CSV file (1 = the first) holding the
    column names; what is above it (a report's title, a date line) is not read, and rows
    keep their numbers in the file. Default: found — Excel: the first of the first 30 rows
    whose filled cells are all text and fill at least half the table's width; CSV: after
    the leading lines (10 at most) with one filled field at most; lines skipped are said
    as a warning."""

    delimiter: str | None = None
    """CSV field delimiter, one character, or "whitespace" for text aligned in columns (fields
    apart by runs of spaces or tabs, no field holding a blank). Default: sniffed from the
    file (text that no delimiter splits, whose lines split at blanks into the same fields,
    is read as "whitespace")."""

    encoding: str | None = None
    """CSV text encoding (utf-8, utf-8-sig, cp1252, latin-1). Default: sniffed (a BOM, else
    UTF-8, else Windows-1252, else Latin-1)."""

    decimal: str | None = None
    """Decimal separator in text numbers, "." or ",". Default: decided per column from all
    its values (a column holding 12.5 is read with "."; one holding 12,5 or 1.234,50 with
    ","); a column whose every value reads both ways (only values like 1.250) follows the
    file's other columns, else "," when the CSV delimiter is ";" and "." otherwise, with a
    warning naming the column."""

    thousands: str | None = None
    """Thousands separator in text numbers: ",", ".", " ", "'" or "" for none. Default:
    the one of "." and "," that is not the decimal separator, and spaces or apostrophes,
    each only where it groups digits in threes (1,234.50, 1.234,50, 1 234,50, 1'234.50).
    A value grouped any other way (1,23.4, 1_000) is rejected, never guessed."""

    date_format: str | None = None
    """strftime format of dates, e.g. "%d/%m/%Y": the date with the codes %Y, %m, %d, %y,
    %b, %B (those both engines read), then possibly a time (%H, %I, %M, %S, %f, %p, %z,
    %Z), which is left aside. Default: tried in turn from
    [validate] date_formats, so one column may mix ISO and other formats, with the day or
    the month first as the column's values show."""

    columns: dict[str, str] = Field(default_factory=dict)
    """Canonical column name → the name in your file, e.g. customer_id = "Kundennr".
    Default: columns already carry the canonical names. Two canonical columns may read one
    column of the file where that makes sense: an id and a text (a customer named by its
    id, or known by its e-mail address), two amounts (with a warning). A date shares its
    column with nothing, an id with nothing but a text: customer_id = "Datum" beside date =
    "Datum" is refused. A column of the file named like a canonical one is not read by its
    name where a mapping reads it as a column it cannot share (product_id = "order_id": no
    order_id, with a warning)."""

    extra_columns: list[str] = Field(default_factory=list)
    """Columns of your own to keep beside the canonical ones, by their name in the file
    (customers and prospects: they are carried into customers.parquet, and
    [potential] extra_feature_columns may name them). A column whose every value reads as a
    number is a number (float), otherwise text. A column named like a canonical one that
    ``columns`` reads from elsewhere ("Customer ID" beside customer_id = "Kundennr") is kept
    as your own. Default none."""

    true_values: list[str] = Field(default_factory=list)
    """Words a true/false column (``is_return``) holds for true, beside those read
    already (true, t, yes, y, 1, x, j, ja, oui, si, sí, da, and a spreadsheet's TRUE in
    German, French, Spanish and Dutch: wahr, vrai, verdadero, waar), case and surrounding
    spaces ignored: e.g. ["Gutschrift", "Credit memo"] with ``is_return = "Belegart"`` for
    a document-type column whose credit notes are the returns. A word listed here is true
    even where it would otherwise read as false. Default none."""

    false_values: list[str] = Field(default_factory=list)
    """Words a true/false column holds for false, beside those read already (false, f,
    no, n, 0, an empty cell, nein, non, nu, falsch, faux, falso, onwaar): e.g. ["Rechnung",
    "Invoice"]. A word listed here is false even where it would otherwise read as true.
    Default none."""

    fill_from_order: list[str] = Field(default_factory=list)
    """Transactions: columns of the file that an export writes on each order's first line
    only (Shopify's Email, Created at, Currency), by their name in the file: a line where
    such a column is empty takes the value of its order's other lines (the lines of the same
    order_id, which must be mapped). Default none."""

    fill_down: list[str] = Field(default_factory=list)
    """Columns of the file that a report grouped by them writes once, on a heading row above
    its group's rows (QuickBooks' Sales by Customer Detail writes each customer's name on a
    row of its own, the invoice lines under it with that cell empty), by their name in the
    file: a row where such a column is empty takes the value above it, as a spreadsheet's
    fill-down does. A heading row (such a column filled, every other column empty) is
    rejected as a group heading, so the rows stay accounted for; a subtotal row ("Total for
    …") is rejected for its missing date. A name that is no column of the file makes a
    column of that name from the headings written alone: a CSV file's lines of one field
    (Xero's Sales by Customer Detail writes each customer's name alone on a line) and rows
    filling one cell only (the same report as a workbook), whose text moves to the new
    column; the columns may then map it (customer_id = "Customer"). Default none."""

    cost_sign: Literal["auto", "positive", "negative"] = "auto"
    """Transactions: how the cost column signs a sale's cost. "positive": as written, a
    sale's cost is positive; "negative": the file posts the cost of a sale negative (an
    ERP's inventory issue, Dynamics' CostAmountPosted), so each sale's cost is read with its
    sign turned (a return's cost is negative either way). Default "auto": "negative" when
    at least 80% of the sale lines with a cost have a negative one (from 50 lines on), with
    a warning; otherwise as written."""

    unit_price_after_discount: bool = False
    """Transactions whose revenue is unit_price × quantity (no revenue column) and that
    map a discount (discount_amount or discount_percent): whether the unit price is already
    net of the line's discount. false: the unit price is the price before the discount, as
    order exports write it (Shopify's Lineitem price, Odoo's, Business Central's unit
    price): list_revenue = unit_price × quantity and revenue = that less the discount (a
    discount larger than the line counts up to the line's amount, the rest taken off the
    other lines of its order where order_id is mapped), with a warning naming the columns
    where some discount is not 0; true: revenue = unit_price × quantity and list_revenue =
    revenue plus the discount. Default false."""

    discount_percent_scale: Literal["percent", "fraction"] = "percent"
    """Transactions that map discount_percent: how its values are written. "percent": 10
    (or 10%) is 10%, as Odoo's Discount (%) and Business Central's Line Discount % write
    it; "fraction": 0.1 (or 10%) is 10%, as AdventureWorks' UnitPriceDiscount writes it,
    and a value outside 0 to 1 is out of range as a percent outside 0 to 100 is. A column
    of percents all 1 or less is named in a warning. Default "percent"."""

    ledger_sale_side: Literal["debit", "credit"] = "debit"
    """Transactions whose revenue is a general ledger's debit and credit (debit_amount and
    credit_amount mapped, no revenue column): the side on which the lines book a sale.
    "debit": the lines are on customers' accounts (an FEC's 411 lines with the customer in
    CompAuxNum, DATEV's Debitoren, Accounts Receivable), where an invoice is a debit and a
    credit note a credit: revenue = debit − credit; "credit": the lines are on revenue
    accounts (an FEC's 706/707, a ledger's Sales or Income account), where a sale is a
    credit: revenue = credit − debit. Either way a line whose revenue comes out negative is
    a return. Default "debit", as the line that names the customer is the one on the
    customer's account; a warning names this setting when it is not set. Rows on other
    accounts or of other journals (payments, VAT) are no sales: leave them out by
    keep_rows."""

    exclude_rows: dict[str, list[str]] = Field(default_factory=dict)
    """Rows to leave out by what a column of the file holds, e.g. {"Status" = ["Void",
    "Draft", "Cancelled"]}, {"Deleted" = ["Y"]}: column name in the file → the values whose
    rows are not used (case and surrounding spaces ignored; "" for an empty cell). Each
    such row is rejected with the value and this setting as its reason, so the rows stay
    accounted for. Default none: every row whose values read is used, whatever its status."""

    keep_rows: dict[str, list[str]] = Field(default_factory=dict)
    """Rows to use by what a column of the file holds, e.g. {"Status" = ["Completed",
    "Shipped"]}: column name in the file → the values whose rows are used; a row holding
    any other value (an empty cell too, unless "" is listed) is rejected with its value and
    this setting as its reason. Several columns: a row must hold a listed value in each.
    Default none."""

    @field_validator("exclude_rows", "keep_rows")
    @classmethod
    def _row_values(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for column, values in v.items():
            if not column.strip():
                raise ValueError("names an empty column; name the file's column")
            if not values:
                raise ValueError(f"lists no value for {column!r}; list the values, or remove it")
        return v

    exchange_rates: dict[str, float] = Field(default_factory=dict)
    """Transactions in several currencies: the value of one unit of each currency in the
    currency the run reports in, by the code the mapped ``currency`` column holds, e.g.
    {EUR = 1.0, USD = 0.92, GBP = 1.17}. Each line's revenue, cost and list revenue are
    multiplied by its currency's rate; a line whose currency is missing or not listed is
    rejected, naming it. Default none: amounts are added up as they are (when the
    ``currency`` column holds more than one code, a warning says so)."""

    @field_validator("exchange_rates")
    @classmethod
    def _rates(cls, v: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for code, rate in v.items():
            key = code.strip().upper()
            if not key:
                raise ValueError("holds an empty currency code")
            if not math.isfinite(rate) or rate <= 0:
                raise ValueError(f"the rate of {code!r} is {rate}; a rate is a positive number")
            if key in out:
                raise ValueError(f"{code!r} is listed twice (codes are read in upper case)")
            out[key] = float(rate)
        return out

    @field_validator("true_values", "false_values")
    @classmethod
    def _words(cls, v: list[str]) -> list[str]:
        for word in v:
            if not word.strip():
                raise ValueError("holds an empty word; an empty cell is already false")
        return v

    @model_validator(mode="after")
    def _true_or_false(self) -> TableInput:
        both = sorted(
            {w.strip().lower() for w in self.true_values}
            & {w.strip().lower() for w in self.false_values}
        )
        if both:
            raise ValueError(
                f"{', '.join(map(repr, both))} is in both true_values and false_values; "
                "keep it in one"
            )
        return self

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, v: str | None) -> str | None:
        return None if v is None else check_date_format(v)

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str | None) -> str | None:
        if v is not None and v.lower() == "whitespace":
            return "whitespace"
        if v is not None and len(v) != 1:
            raise ValueError(
                "must be exactly one character, e.g. ';' or '\\t', or \"whitespace\" for "
                "columns apart by runs of blanks"
            )
        return v

    @field_validator("decimal")
    @classmethod
    def _decimal(cls, v: str | None) -> str | None:
        if v is not None and v not in {".", ","}:
            raise ValueError('must be "." or ","')
        return v

    @field_validator("thousands")
    @classmethod
    def _thousands(cls, v: str | None) -> str | None:
        if v is not None and v not in {",", ".", " ", "'", ""}:
            raise ValueError('must be ",", ".", " ", "\'" or "" (none)')
        return v

    @model_validator(mode="after")
    def _separators_differ(self) -> TableInput:
        if self.decimal is not None and self.thousands == self.decimal:
            raise ValueError(f"decimal and thousands are both {self.decimal!r}; they must differ")
        return self

    @field_serializer("path", when_used="json")
    def _path_without_password(self, v: str | None) -> str | None:
        # the manifest stores settings as JSON: a database URL without its password
        from ..io.urls import redact_url

        return None if v is None else redact_url(v)


def cannot_share(a: Column, b: Column) -> bool:
    """Whether two canonical columns cannot read one column of the file: a date shares it
    with nothing (a date is no customer, no amount, and two dates of a row differ), an
    identifier with nothing but text (a customer named by its id, a customer known by its
    e-mail address or tax number). Two amounts may share one, which validation warns of.

    Examples
    --------
    >>> from tierwise.schema import TABLES
    >>> tx, cu = TABLES["transactions"], TABLES["customers"]
    >>> cannot_share(tx.column("customer_id"), tx.column("date"))
    True
    >>> cannot_share(cu.column("customer_id"), cu.column("name"))
    False
    >>> cannot_share(tx.column("revenue"), tx.column("cost"))
    False
    """
    kinds = {a.kind, b.kind}
    if "date" in kinds:
        return True
    if "id" in kinds:
        return kinds != {"id", "text"}
    return False


def shared_column_clashes(table: str, columns: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """The pairs of canonical columns that ``columns`` (canonical → the file's column) maps
    to one column of the file and that cannot share it (:func:`cannot_share`): (the first
    in the table's order, the other, the file's column) each. Names that are no column of
    ``table`` are left to the check that names them.

    Examples
    --------
    >>> shared_column_clashes("transactions", {"customer_id": "date", "date": "date"})
    [('customer_id', 'date', 'date')]
    >>> shared_column_clashes("customers", {"name": "Kundennr", "customer_id": "Kundennr"})
    []
    """
    spec = TABLES[table]
    mapped = [(c, columns[c.name]) for c in spec.input_columns if c.name in columns]
    return [
        (a.name, b.name, source)
        for i, (a, source) in enumerate(mapped)
        for b, other in mapped[i + 1 :]
        if other == source and cannot_share(a, b)
    ]


def shared_column_fix(a: str, b: str) -> str:
    """What to do where ``a`` and ``b`` read one column of the file (:func:`cannot_share`)."""
    return (
        f"{a} and {b} cannot share one column: map each to its own column of the file, or "
        "remove the one the file does not hold"
    )
