"""Settings for validation: what makes a row unusable, and how returns are recognised."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ._base import Section, check_date_format


class ValidateSettings(Section):
    """Row-level checks. Rows that fail go to rejects.csv with their reason; a value of an
    optional column of the customers, prospects, activities, reps or market that cannot be
    read or is out of its plausible range is emptied instead, its row kept
    (emptied_values.csv)."""

    future_tolerance_days: int = Field(default=2, ge=0)
    """A transaction dated, or a payment paid, more than this many days after today (or a
    transaction after the analysis date) is rejected as a date in the future; days.
    Default 2."""

    cancel_prefix: str | None = "C"
    """An order_id starting with this text marks a cancellation line, but only where such
    lines are a minority (see cancel_max_share) and mostly carry a negative quantity or
    amount (see cancel_min_negative_share); otherwise they are ordinary orders and the run
    says so in its warnings. Default "C" (the Online Retail convention, C536379); set to ""
    to switch off."""

    cancel_max_share: float = Field(default=0.5, gt=0, le=1)
    """The cancel prefix is believed only when at most this share of the lines with an
    order_id carry it; fraction. Default 0.5."""

    cancel_min_negative_share: float = Field(default=0.9, ge=0, le=1)
    """The cancel prefix is believed only when at least this share of the lines carrying it
    have a negative quantity or revenue (or a return flag); fraction. Default 0.9."""

    placeholder_ids: list[str] = Field(
        default_factory=lambda: [
            "0",
            "-1",
            "guest",
            "walk-in",
            "walkin",
            "walk-in customer",
            "cash",
            "cash customer",
            "cash sale",
            "anonymous",
            "00000000-0000-0000-0000-000000000000",
        ]
    )
    """Customer ids that stand for no customer: a web shop's guest checkout (WooCommerce's
    customer 0), a till's walk-in or cash sale, an empty GUID. Compared without regard to
    case, after trimming; an id of zeros only (000000) is one too while the list is not
    empty. A row naming one is rejected (in every table that names customers), and a warning
    per file counts the rows so left out: many buyers under one id would otherwise be one
    large customer. Map a column every buyer has (its e-mail) as customer_id to keep
    them apart. Default: 0, -1, guest, walk-in, walkin, walk-in customer, cash, cash
    customer, cash sale, anonymous and the empty GUID; set [] to read them as ordinary
    ids."""

    id_leading_zeros: Literal["keep", "ignore"] = "keep"
    """Whether a customer id of digits only keeps its leading zeros. "ignore": ids are
    matched without them, in every table (SAP writes 0000100017 in its tables and 100017 in
    its lists: one customer), and shown as the customers file writes them: an id of another
    file that matches a master id takes the master's form, one that matches none is written
    without its zeros. Of two master ids one but for their zeros (00042 and 042) the first
    row's is kept, the later row is rejected as a duplicate and a warning names both.
    Default "keep": 00042 and 42 are two customers; a warning says when ids of the
    transactions match the master's only without them."""

    drop_duplicate_lines: bool = False
    """Reject a transaction line identical in every column to an earlier one. Default false
    (identical lines are legitimate in many ERPs)."""

    max_id_length: int = Field(default=200, ge=1)
    """An identifier longer than this is rejected as garbage (an optional one, such as a
    customer's rep_id, is emptied instead, its row kept); characters. Default 200."""

    date_formats: list[str] = Field(
        default_factory=lambda: [
            "%Y-%m-%d",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y%m%d",
            "%d/%m/%Y",
            "%d.%m.%Y",
            "%Y/%m/%d",
            "%d-%m-%Y",
            "%d-%b-%Y",
            "%d %b %Y",
            "%d %B %Y",
            "%b %d, %Y",
            "%B %d, %Y",
        ]
    )
    """Date formats tried in turn for text dates (strftime codes). Default: ISO, ISO with
    time (with or without seconds), YYYYMMDD, DD/MM/YYYY, DD.MM.YYYY, YYYY/MM/DD,
    DD-MM-YYYY, and English month names (02-Jan-2024, 2 Jan 2024, 2 January 2024,
    Jan 2, 2024, January 2, 2024). Whether the day or the month comes first is decided per
    column from its values (01/13/2024 can only be month first); a column whose every value
    reads both ways (02/03/2024) takes the order of the first such format here (put
    "%m/%d/%Y" before "%d/%m/%Y" for US files). At least one format. A time after the date
    (10:15, T10:15:00Z, 3:04 PM) is left aside, also when [table] date_format is set; unless
    it is set, a five-digit number is read as a spreadsheet's serial day (45293 is
    2024-01-02)."""

    missing_values: list[str] = Field(
        default_factory=lambda: [
            "NULL",
            "NA",
            "N/A",
            "n.a.",
            "#N/A",
            "#NA",
            "#NV",
            "None",
            "<NA>",
            "\\N",
            "nil",
            "-",
            "--",
            "?",
            "k.A.",
            "n.v.",
            "#VALUE!",
            "#WERT!",
            "#VALEUR!",
            "#DIV/0!",
            "#REF!",
            "#BEZUG!",
            "#NAME?",
            "#NOM?",
            "#NUM!",
            "#ZAHL!",
            "#NOMBRE!",
            "#NULL!",
            "0000-00-00",
            "00.00.0000",
            "00/00/0000",
            "00000000",
            "9999-12-31",
            "31.12.9999",
            "31/12/9999",
            "12/31/9999",
            "99991231",
        ]
    )
    """Texts that mark a missing value in a number or date column, read as an empty cell
    (compared without regard to case, after trimming): the row is kept without that value,
    as with an empty cell, and the run's warnings count them per column. A required column
    (a transaction's date or revenue) so left empty rejects its row as "missing".
    A marker of hyphens (-, --) is also read written with the en dash, the em dash or the
    minus sign (–, —, −), as word processors and spreadsheets write a lone dash. Default:
    the database and spreadsheet spellings of nothing (NULL, NA, N/A, #N/A, None, -, ?, and
    \\N, as MySQL's SELECT … INTO OUTFILE and PostgreSQL's COPY write a NULL),
    Excel's error values in English, German and French (#VALUE!, #WERT!, #DIV/0!, #NV, …),
    the zero dates of SAP and MySQL (00.00.0000, 0000-00-00; in a number column a text
    of digits alone, 00000000, stays a number) and the open-ended date 31 December 9999
    that SAP and other ERPs write for "not yet" (an invoice not yet paid: an empty
    paid_date), in text or as a date a spreadsheet or Parquet file stores. Excel's
    Accounting format writes a zero as "-", which is then read as missing too. Set [] to
    reject such rows instead. NaN and infinity are not among them: they are numbers,
    rejected as not finite."""

    max_abs_number: float = Field(default=1e15, gt=0)
    """A number (amount, quantity, coordinate) larger than this in absolute value is rejected
    as implausible (an optional one of the customers, prospects, activities, reps or market
    is emptied instead, its row kept): such values are export errors, and sums of money are
    kept exact only below about 1e28. Default 1e15."""

    min_year: int = 1900
    """Dates before 1 January of this year are rejected as implausible (an optional one, such
    as a customer's created_date, is emptied instead, its row kept). Default 1900."""

    max_paid_before_due_days: int = Field(default=365, ge=0)
    """A payment whose paid_date is more than this many days before its due_date is
    rejected as a typing error in the year (prepayments within it are kept); days.
    Default 365."""

    max_payment_terms_days: float = Field(default=365, ge=0)
    """A customer's payment_terms_days above this is implausible (negative terms always
    are): the value is emptied, the customer kept (emptied_values.csv); days. Default 365."""

    max_activity_minutes: float = Field(default=1440, gt=0)
    """An activity's duration_minutes above this is implausible (negative durations and
    costs always are): the value is emptied, the activity kept (emptied_values.csv); minutes.
    Default 1440 (one day)."""

    max_rep_hours_per_year: float = Field(default=4000, gt=0)
    """A rep's hours_per_year above this is rejected as implausible (zero or negative hours
    always are); hours. Default 4000 (a year has 8760)."""

    @field_validator("date_formats")
    @classmethod
    def _some_format(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError('give at least one date format, e.g. ["%Y-%m-%d", "%d.%m.%Y"]')
        for fmt in v:
            check_date_format(fmt)
        return v
