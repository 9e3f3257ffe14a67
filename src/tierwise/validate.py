"""From the user's raw tables to canonical tables, with every unusable row accounted for.

Validation maps the user's column names to the canonical ones (``schema.py``), parses text
into dates, numbers and flags in the engine, and marks each row that cannot be used with the
first reason found. The pipeline then splits each table into the rows used and the rejects
(file, row, column, reason, value) that go to ``rejects.csv``.

Two kinds of problem are told apart:

- a problem with the *file or settings* (a required column missing, a mapped column absent)
  stops the run: it raises :class:`~tierwise.errors.InputError`, every such problem listed;
- a problem with a *row* (a missing customer id, an unparseable date, a date in the future,
  a value outside its plausible range) rejects that row only, with its reason; in the
  tables that keep such rows (``TableSpec.empties_unreadable``), an optional value that
  cannot be read or is out of its range is emptied instead, the row kept.

What validation had to assume for lack of information (a column whose numbers read both
ways, an order prefix that does not mark cancellations) is appended to the ``warnings``
list the caller passes, each naming the setting that decides it.

Example
-------
>>> import pyarrow as pa
>>> from tierwise.engine import Engine, ROW
>>> from tierwise.settings import Settings
>>> eng = Engine()
>>> raw = eng.from_arrow(pa.table({"customer_id": ["A", ""], "date": ["2024-01-31", "x"],
...                                "revenue": ["10.5", "3"], ROW: [2, 3]}))
>>> t = canonicalize(raw, "transactions", Settings(), eng, file="tx.csv")
>>> used, rejects = split_rejects(t, "tx.csv", "transactions")
>>> eng.to_arrow(rejects).column("reason").to_pylist()
['missing customer_id']
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.datatypes as idt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .engine import ROW, Engine, fetch, floor_int, not_finite
from .errors import EngineError, InputError, Problems, SettingsError, TierwiseError
from .io import REJECT_SCHEMA, RawInput
from .schema import (
    CASE_FOLDS,
    FOLD_SEPARATORS,
    MONEY_COLUMNS,
    TABLES,
    Column,
    TableSpec,
    case_key,
    column_key,
)
from .settings import Settings, TableInput, ValidateSettings
from .settings.inputs import cannot_share, shared_column_clashes, shared_column_fix

__all__ = [
    "REASON",
    "AsWritten",
    "CurrencySeen",
    "InputAccount",
    "Validated",
    "canonicalize",
    "check_transactions",
    "count_text",
    "customers_by_name",
    "decide_cancellations",
    "emptied_values",
    "match_columns",
    "reject_duplicate_keys",
    "reject_if",
    "reject_totals_rows",
    "reject_unknown_customers",
    "run_currency",
    "split_rejects",
    "validate_inputs",
]

REASON, RCOL, RVAL = "_reason", "_reject_column", "_reject_value"
#: the number of the rule a row fails first, while :func:`_reject_where` marks it
_RULE = "_reject_rule"
_VALUE_CHARS = 200
#: before a reject's column (``_reject_column``): its value is shown as the input wrote it
#: in that column, looked up once the rejects are known (:class:`AsWritten`)
_WRITTEN = "\x1e"
#: a column of a listing (the rejects, the values emptied) that marks the rows whose value
#: is looked up in the input as written (:func:`_values_as_written`)
_LOOKUP = "_as_written"
#: the prefix of the columns of a checked table that mark a value emptied, one per column
#: that may be (``TableSpec.empties_unreadable``): the file's column and the reason, NULL
#: where the value was kept
_EMPTIED = "_emptied__"


@dataclass(frozen=True)
class AsWritten:
    """A reject's value, given to :func:`reject_if`, to show as the input wrote it.

    A rule that runs on the checked table (a customer id not found, a date after the
    analysis date) holds the value as read: a date as a date, an id trimmed or without
    its leading zeros. Shown as written, ``31.12.2025`` stays ``31.12.2025`` in rejects.csv:
    the text of the reject's column in that row of the input, looked up for the rejected
    rows only when the rejects are listed (:func:`validate_inputs`). ``read`` is shown
    where the input holds no text there (a cell a setting filled, a table checked alone).
    """

    read: Any


_TRUE = (
    *("true", "t", "yes", "y", "1", "x", "j", "ja", "oui", "si", "sí", "da"),
    # a spreadsheet's TRUE in German, French, Spanish and Dutch, as its CSV export writes it
    *("wahr", "vrai", "verdadero", "waar"),
)
_FALSE = (
    *("false", "f", "no", "n", "0", "", "nein", "non", "nu"),
    *("falsch", "faux", "falso", "onwaar"),
)
#: latitude and longitude, by definition of the coordinates (degrees)
_LAT_RANGE, _LON_RANGE = (-90.0, 90.0), (-180.0, 180.0)
#: An identifier never holds a control character (a NUL byte, a line break, a tab …).
#: A value without a control character, matched whole (one character class from start to
#: end, which the regular expression engines run faster than a search for a control
#: character anywhere). The end is ``\z``, not ``$``: Java's ``$`` (Spark) also matches
#: before a line break that ends the value.
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*\z"
#: Below this a float64 holds every whole number exactly; an id read from a float column at
#: or beyond it may no longer be the id it was (2**53 + 1 is stored as 2**53: two became one)
_EXACT_FLOAT = 2**53


def count_text(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun in the right number, with thousands separators.

    Examples
    --------
    >>> count_text(1, "row"), count_text(2, "row"), count_text(12345, "entry", "entries")
    ('1 row', '2 rows', '12,345 entries')
    """
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def match_columns(
    source_columns: list[str],
    spec: TableSpec,
    ti: TableInput,
    *,
    file: str,
    sheets: Mapping[str, list[str]] | None = None,
    sheet: str | None = None,
    warnings: list[str] | None = None,
) -> dict[str, str | None]:
    """Map each column a file may give (``spec.input_columns``) to the user's column, or
    ``None`` when not supplied.

    Explicit mappings in ``[table.columns]`` win; otherwise a column whose name equals the
    canonical name (ignoring case, spaces and punctuation) is taken, unless an explicit
    mapping reads that column as a canonical column it cannot share with
    (:func:`~tierwise.settings.inputs.cannot_share`: ``product_id = "order_id"`` leaves
    order_id unread, said in ``warnings``). A required column may be stood in for (revenue
    by unit_price and quantity); a table with ``one_of`` columns needs at least one of them.

    ``sheets`` (a workbook's sheets with their column names) and ``sheet`` (the one read)
    add to a missing column's hint the sheet to set in ``[table] sheet``.

    Raises
    ------
    Problems
        Every missing required column, every mapping that names no column of the file, and
        every two explicit mappings reading one column of the file that cannot share it.
    """
    problems: list[InputError | SettingsError] = []
    by_norm = {column_key(c): c for c in source_columns}
    known = spec.input_names
    for canonical in ti.columns:
        if canonical not in known:
            close = difflib.get_close_matches(canonical, known, n=1)
            fix = f" (did you mean {close[0]}?)" if close else ""
            problems.append(
                SettingsError(
                    f"[{spec.name}.columns] {canonical}: not a {spec.name} column{fix}; "
                    f"known: {', '.join(known)}"
                )
            )
    mapping: dict[str, str | None] = {}
    missing: list[Column] = []
    # the file's columns the explicit mappings read, each with the canonical columns reading it
    explicit: dict[str, list[Column]] = {}
    for col in spec.input_columns:
        wanted = ti.columns.get(col.name)
        if wanted is not None:
            found = wanted if wanted in source_columns else by_norm.get(column_key(wanted))
            if found is not None:
                explicit.setdefault(found, []).append(col)
    #: canonical → (the file's column its name reads as, the canonical column mapped to it)
    yielded: dict[str, tuple[str, str]] = {}
    for col in spec.input_columns:
        src: str | None = None
        if col.name in ti.columns:
            wanted = ti.columns[col.name]
            if wanted in source_columns:
                src = wanted
            elif column_key(wanted) in by_norm:
                src = by_norm[column_key(wanted)]
            else:
                problems.append(
                    InputError(
                        f"[{spec.name}.columns] maps {col.name} to {wanted!r}, which is not in "
                        "the file",
                        file=file,
                        column=wanted,
                        hint=_columns_hint(wanted, source_columns)
                        + _sheet_hint(spec.name, wanted, sheets, sheet),
                    )
                )
                continue
        else:
            src = by_norm.get(column_key(col.name))
            alike = [c for c in source_columns if column_key(c) == column_key(col.name)]
            if len(alike) > 1:
                problems.append(
                    InputError(
                        f"columns {' and '.join(map(repr, alike))} both read as {col.name}",
                        file=file,
                        column=alike[-1],
                        hint=f'rename one, or map it in [{spec.name}.columns] {col.name} = "…"',
                    )
                )
                continue
            if src is not None:
                # a mapping of the user's reads the column as a canonical column it cannot share
                mapped = next((o for o in explicit.get(src, ()) if cannot_share(col, o)), None)
                if mapped is not None:
                    yielded[col.name] = (src, mapped.name)
                    src = None
        if src is None and col.required:
            missing.append(col)
        mapping[col.name] = src
    for col in missing:
        ways = [others for name, others in spec.stand_ins if name == col.name]
        if any(all(mapping.get(o) for o in others) for others in ways):
            continue
        hint = f"the file has {_preview(source_columns)}"
        if col.name in yielded:
            src, taker = yielded[col.name]
            hint = (
                f'the column {src!r} is read as {taker} ([{spec.name}.columns] {taker} = "'
                f'{ti.columns[taker]}"), which {col.name} cannot share; map {taker} to its own '
                f'column, or {col.name} in [{spec.name}.columns] {col.name} = "<your column>"'
            )
        elif _twice(col.name, source_columns):
            hint = _columns_hint(col.name, source_columns) + (
                f' in [{spec.name}.columns] {col.name} = "…"'
            )
        elif len(source_columns) == 1 and any(d in source_columns[0] for d in ";,\t|"):
            hint = (
                f"the header reads as one column {source_columns[0]!r}: set [{spec.name}] delimiter"
            )
        else:
            hint += f'; map it in [{spec.name}.columns] {col.name} = "<your column>"'
            if ways:
                hint += f" (or map {', or '.join(' and '.join(others) for others in ways)})"
        hint += _sheet_hint(spec.name, col.name, sheets, sheet)
        problems.append(
            InputError(
                f"required column {col.name!r} is missing",
                file=file,
                column=col.name,
                hint=hint,
            )
        )
    explicit_sources = {c: src for c in ti.columns if (src := mapping.get(c)) is not None}
    for a, b, src in shared_column_clashes(spec.name, explicit_sources):
        problems.append(
            SettingsError(
                f"[{spec.name}.columns] {a}: reads the column {src!r} of {file}, as {b} does; "
                + shared_column_fix(a, b)
            )
        )
    if ti.exchange_rates and not mapping.get("currency"):
        problems.append(
            SettingsError(
                f"[{spec.name}] exchange_rates needs each line's currency: "
                + (
                    f'map the file\'s currency column in [{spec.name}.columns] currency = "…"'
                    if "currency" in known
                    else f"only the transactions are converted; remove it from [{spec.name}]"
                )
            )
        )
    if spec.one_of and not any(mapping.get(c) for c in spec.one_of):
        problems.append(
            InputError(
                f"the {spec.name} table needs a column {' or '.join(map(repr, spec.one_of))}",
                file=file,
                hint=f"the file has {_preview(source_columns)}; map one in "
                f'[{spec.name}.columns] {spec.one_of[0]} = "<your column>"',
            )
        )
    Problems.raise_if_any(problems)
    if warnings is not None:
        for name, (src, taker) in yielded.items():
            warnings.append(
                f"{file}: the column {src!r} is read as {taker} ([{spec.name}.columns] {taker} "
                f'= "{ti.columns[taker]}"), not also as {name}, which its name reads as and '
                f"which cannot share it; map {name} in [{spec.name}.columns] if the file holds "
                "it in another column"
            )
    return mapping


def _sheet_hint(
    table: str, wanted: str, sheets: Mapping[str, list[str]] | None, sheet: str | None
) -> str:
    """For a column missing from a workbook's sheet: the workbook's sheets, and the one to
    set in ``[table] sheet`` (the first other sheet holding the column, when one does)."""
    others = [s for s in (sheets or {}) if s != sheet]
    if not sheets or not others:
        return ""
    listed = ", ".join(map(repr, sheets))
    holder = next(
        (s for s in others if column_key(wanted) in {column_key(c) for c in sheets[s]}),
        None,
    )
    if holder is None:
        return f"; the workbook has sheets {listed}: set [{table}] sheet to the one holding it"
    return f'; the workbook has sheets {listed}: set [{table}] sheet = "{holder}"'


def _twice(name: str, source_columns: list[str]) -> list[str]:
    """The columns of a name the header holds more than once, which the reader names by
    their place ("Name (column 3)", "Name (column 4)")."""
    shape = re.compile(rf"{re.escape(name)} \(column \d+\)", re.I)
    found = [c for c in source_columns if shape.fullmatch(c)]
    return found if len(found) > 1 else []


def _columns_hint(wanted: str, source_columns: list[str]) -> str:
    """The file's columns, and the one closest to ``wanted`` (for a column not found)."""
    twice = _twice(wanted, source_columns)
    if len(twice) > 1:
        return (
            f"the header holds {wanted!r} {len(twice)} times: map the one you mean, "
            + " or ".join(map(repr, twice))
        )
    close = difflib.get_close_matches(wanted, source_columns, n=1)
    fix = f"; did you mean {close[0]!r}?" if close else ""
    return f"columns are: {_preview(source_columns)}{fix}"


def _preview(cols: list[str], n: int = 12) -> str:
    shown = ", ".join(repr(c[:40]) for c in cols[:n])
    return shown + (f", … ({len(cols)} columns)" if len(cols) > n else "")


def reject_if(
    t: ir.Table, cond: ir.BooleanValue, column: str | None, reason: Any, value: Any = None
) -> ir.Table:
    """Mark rows where ``cond`` holds as rejected, unless an earlier reason already did.

    ``reason`` and ``value`` may be strings or string expressions.
    """
    return _reject_where(t, [(cond, column, reason, value)])


def _reject_where(
    t: ir.Table,
    rules: Sequence[tuple[ir.BooleanValue, str | None, Any, Any]],
    *,
    instead: bool = False,
) -> ir.Table:
    """Mark rows with the first rule (condition, column, reason, value) they fail, unless an
    earlier reason already did (with ``instead``: in place of an earlier reason). One
    projection, however many rules."""

    def text(v: Any) -> ir.StringValue:
        if isinstance(v, AsWritten):
            v = v.read
        return ibis.null(str) if v is None else ibis.literal(v) if isinstance(v, str) else v

    def named(col: str | None, v: Any) -> str | None:
        # a value to show as written marks its column (see _WRITTEN)
        return _WRITTEN + col if col is not None and isinstance(v, AsWritten) else col

    # the rule each row fails first, found once: the reason, the column and the value each
    # read it (a condition that joins another table, such as a customer id checked against
    # those known, is then one join, not three). A condition that is NULL is not met (SQL's
    # CASE), so none needs a fill_null.
    rule = ibis.cases(*[(c, i) for i, (c, _, _, _) in enumerate(rules)], else_=ibis.null("int16"))
    t = t.mutate(**{_RULE: rule.cast("int16")})
    failed = [t[_RULE] == i for i in range(len(rules))]
    fresh = t[REASON].isnull() | t[_RULE].notnull() if instead else t[REASON].isnull()
    reason = ibis.cases(*[(f, text(r)) for f, (_, _, r, _) in zip(failed, rules, strict=True)])
    column = ibis.cases(
        *[
            (f, ibis.literal(named(col, v), str))
            for f, (_, col, _, v) in zip(failed, rules, strict=True)
        ]
    )
    value = ibis.cases(
        *[
            (f, text(v).cast(str).substr(0, _VALUE_CHARS))
            for f, (_, _, _, v) in zip(failed, rules, strict=True)
        ]
    )
    marks = {REASON: reason}
    if _PACKED in t.columns:
        # a table stored by store_checked: the column and value go into the packed column
        marks[_PACKED] = _pack(reason, column, value)
    else:
        marks.update({RCOL: column, RVAL: value})
    # a projection of the columns kept, not drop(): _always_null reads through projections
    kept = [c for c in t.columns if c != _RULE]
    return t.select(
        *[ibis.ifelse(fresh, marks[c], t[c]).name(c) if c in marks else t[c] for c in kept]
    ).view()


#: a check: (the row is bad, the reason — text or a text expression)
Check = tuple[ir.BooleanValue, Any]


#: white space as both engines' regular expressions read it, spelt out: ``\s`` is a
#: different set on each (Java's holds the vertical tab, RE2's does not)
_WHITE = r"\t\n\x0b\f\r "


def _trim(text: ir.StringValue, *, line_breaks: bool = False) -> ir.StringValue:
    """Text without surrounding white space, for values that start or end with a space or
    a tab (padded CHAR exports, hand-typed cells); only those pay for the trim.

    ``line_breaks``: line breaks, vertical tabs and form feeds around the text go too (a
    date typed with Alt+Enter after it); an identifier keeps them, to be refused.

    The tests cost the engine far less than a regular expression or a trim of every value:
    a value that sorts before ``"!"`` starts with a space, a tab or another control
    character (one comparison of the first bytes, in DuckDB and Spark alike), and a few
    suffix tests find the end.
    """
    if line_breaks:
        # the last character sorts before "!" (a literal "\v" or "\f" in an endswith would
        # be a letter on Spark, as below)
        chars, edge = _WHITE, (text < "!") | (text.right(1) < "!")
    else:
        chars, edge = r" \t", ibis.or_(text < "!", *[text.endswith(c) for c in (" ", "\t")])
    # a regular expression rather than strip(): Ibis spells strip() on Spark as a TRIM whose
    # character list Spark reads as letters ("\v", "\f"), cutting the "v" off "visit"
    return ibis.ifelse(edge, text.re_replace(f"^[{chars}]+|[{chars}]+\\z", ""), text)


# -- numbers: the decimal and thousands separators of a column ---------------------------

#: spaces that group digits: space, no-break space, narrow no-break space (French)
_SPACES = " \u00a0\u202f"
#: currency signs counted apart when a column mixes them (``$`` is counted with the letters
#: before it: :data:`_DOLLARS`)
_CURRENCY = "€£¥₹"
#: further currency signs: dropped, not counted
_RARE_SIGNS = "₩₽₺₪₫₴₦₱฿"
#: the dollars told apart by the letters written before ``$`` (upper case), each with the
#: letters that write it: ``$`` alone, ``US$``, ``C$`` (Canada), ``A$``, ``NZ$``, ``HK$``,
#: ``S$`` (Singapore), ``R$`` (Brazil's real), ``MX$``; other letters are "another $"
_DOLLARS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("$", ("",)),
    ("US$", ("US", "U")),
    ("C$", ("C", "CA", "CAN")),
    ("A$", ("A", "AU")),
    ("NZ$", ("NZ",)),
    ("HK$", ("HK",)),
    ("S$", ("S", "SG")),
    ("R$", ("R",)),
    ("MX$", ("MX",)),
)
#: ISO 4217 codes of the commonest invoicing currencies, before or after the number, then the
#: short words some ledgers write instead (kr, zł, Kč, Ft, lei, Fr., Rs.); the codes come
#: first, so that ``KRW`` is not read as ``kr`` and a ``W``
_CODES = (
    "EUR|USD|GBP|CHF|SEK|NOK|DKK|PLN|CZK|HUF|RON|JPY|CNY|CAD|AUD|NZD|INR|ZAR|BRL|MXN"
    "|HKD|SGD|TRY|ILS|KRW|RUB|UAH|BGN|ISK|AED|SAR|QAR|EGP|MAD|KES|NGN|PHP|THB|IDR|MYR|TWD"
    "|VND|PKR|CLP|COP|ARS|PEN"
    "|kr\\.?|zł|Zł|ZŁ|Kč|KČ|Ft|lei|s?Fr\\.?|Rs\\.?"
)
#: the currency a code or word of :data:`_CODES` names (upper case, without its dot) where
#: it is not the code itself: the sign counted for the same currency, where there is one
#: (``CAD`` is ``C$``), else the ISO code (``zł`` is ``PLN``)
_CODE_CURRENCY = {
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
    "RS": "₹",
    "USD": "US$",
    "CAD": "C$",
    "AUD": "A$",
    "NZD": "NZ$",
    "HKD": "HK$",
    "SGD": "S$",
    "BRL": "R$",
    "MXN": "MX$",
    "ZŁ": "PLN",
    "Zł": "PLN",
    "KČ": "CZK",
    "Kč": "CZK",
    "FT": "HUF",
    "LEI": "RON",
    "FR": "CHF",
    "SFR": "CHF",
    "KR": "kr",
}
#: the currencies a ledger writes "kr" for
_KRONOR = ("SEK", "NOK", "DKK", "ISK")
#: the ISO 4217 codes of the currencies invoices are written in (without the funds, metals
#: and test codes such as XXX), which a currency column's code must be to name a currency
_ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD
    MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
    PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP
    SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG
    XOF XPF YER ZAR ZMW ZWG ZWL""".split()  # noqa: SIM905
)
#: the currencies written with a ``$`` that :data:`_DOLLARS` has no sign for: pesos and
#: the dollars of other countries (a ``$`` alone, or "another $", may be any of them)
_DOLLAR_CODES = frozenset(
    """ARS CLP COP CUP DOP UYU TWD JMD TTD BBD BSD BZD FJD LRD NAD SBD SRD XCD GYD KYD BMD
    BND TOP WST""".split()  # noqa: SIM905
)
#: what is dropped from number text: currency signs anywhere (a ``$`` with the letters
#: before it), a currency code at either end (with the white space around it)
_NOT_NUMBER = (
    f"[A-Za-z]{{0,3}}\\$|[{_CURRENCY}{_RARE_SIGNS}]"
    f"|^[{_WHITE}]*(?i:{_CODES})[{_WHITE}{_SPACES}]*"
    f"|[{_WHITE}{_SPACES}]*(?i:{_CODES})[{_WHITE}]*\\z"
)


#: a credit or a debit written after an amount (``120.00 CR``, ``120.00 Dr``), as ledgers and
#: invoice-line exports mark its sign
_CREDIT_DEBIT = ("CR", "Cr", "cr", "DR", "Dr", "dr")


#: the open-ended date ERPs write for "not yet" (SAP's 31.12.9999): among
#: ``[validate] missing_values``, it reads as no date in a date column stored as dates too
OPEN_DATE = dt.date(9999, 12, 31)
OPEN_DATE_TEXT = OPEN_DATE.isoformat()
#: the open-ended date as text, with a time after it or not (31.12.9999 00:00:00)
_OPEN_DATE_RE = r"^(9999-12-31|31\.12\.9999|31/12/9999|12/31/9999|99991231)([ T].*)?$"


def _currency_word(text: ir.StringValue) -> ir.StringValue:
    """The currency a number text names by a code or word at either end (:data:`_CODES`,
    inside accounting brackets too: ``(Kč 8)``), as :data:`_CODE_CURRENCY` writes it; NULL
    when it names none."""
    edge = f"[{_WHITE}{_SPACES}]*"
    lead = text.re_extract(f"^{edge}[(+-]?{edge}((?i:{_CODES}))", 1).nullif("")
    trail = text.re_extract(f"((?i:{_CODES})){edge}[)-]?{edge}\\z", 1).nullif("")
    word = lead.coalesce(trail).upper().replace(".", "")
    return word.substitute(_CODE_CURRENCY, else_=word)


@dataclass(frozen=True)
class CurrencySeen:
    """The currencies one column of an input names: its amounts by a sign or a code
    (``$1,234.50``, ``EUR 12,00``, ``12,00 zł``), or the codes of the transactions'
    currency column (``codes``, as the lines hold them)."""

    table: str
    file: str
    column: str
    #: each currency named, as the warning of several names it (``€``, ``US$``, ``PLN``,
    #: ``another $``), with how many values name it, the commonest first
    names: tuple[tuple[str, int], ...]
    #: the currency column's codes with their lines (empty for amounts)
    codes: tuple[tuple[str, int], ...] = ()
    #: how many values the column holds (amounts), or lines the table has (codes)
    total: int = 0
    #: False for amounts whose signs were not looked at (``[table] decimal`` set): which
    #: currency they name, if any, is not known
    read: bool = True


#: every currency sign counted (:data:`_CURRENCY`, :data:`_DOLLARS`)
_SIGNS = frozenset([*_CURRENCY, *(sign for sign, _ in _DOLLARS)])


def _code_currency(code: str) -> str:
    """The currency a code of a currency column names, as the amounts' signs and codes are
    counted (``EUR`` is ``€``, ``CAD`` is ``C$``, ``zł`` is ``PLN``).

    Examples
    --------
    >>> [_code_currency(c) for c in ("EUR", "usd", "PLN", "zł", "€", "Euro")]
    ['€', 'US$', 'PLN', 'PLN', '€', 'EURO']
    """
    word = code.strip().upper().replace(".", "")
    if code.strip() in _SIGNS:
        return code.strip()
    return _CODE_CURRENCY.get(word, word)


def _currency_symbol(name: str) -> str | None:
    """The symbol money is shown with for a currency named ``name`` (a sign as it is, an ISO
    4217 code or "kr" with a space after it), or None for one that cannot be shown
    ("another $", a word that is no currency code: NAN, TBD, XXX).

    Examples
    --------
    >>> [_currency_symbol(n) for n in ("€", "US$", "PLN", "kr", "another $", "EURO", "TBD")]
    ['€', 'US$', 'PLN ', 'kr ', None, None, None]
    """
    if name in _SIGNS:
        return name
    if name in _ISO_4217 or name == "kr":
        return f"{name} "
    return None


def _writes(name: str) -> frozenset[str]:
    """The signs a currency named ``name`` shares with others, which name it where its code
    is known: "kr" for a krona or krone, "¥" for the yuan (the yen is "¥" itself), "$" for a
    dollar or peso, and "another $" for one that :data:`_DOLLARS` has no sign for.

    Examples
    --------
    >>> [sorted(_writes(n)) for n in ("SEK", "CNY", "C$", "ARS", "€", "$")]
    [['kr'], ['¥'], ['$'], ['$', 'another $'], [], []]
    """
    if name in _KRONOR:
        return frozenset(["kr"])
    if name == "CNY":
        return frozenset(["¥"])
    if name in _DOLLAR_CODES:
        return frozenset(["$", "another $"])
    if name != "$" and name in _SIGNS and name.endswith("$"):
        return frozenset(["$"])
    return frozenset()


def _same_currency(own: str, other: str) -> bool:
    """Whether another input's currency ``other`` may be the transactions' ``own``: the same,
    or a sign one of them shares with the other (``kr`` and ``SEK``); a ``$`` alone is any
    dollar (the transactions' ``$`` takes no country from another file)."""
    return (
        other == own
        or other in _writes(own)
        or own in _writes(other)
        or (own == "$" and other.endswith("$"))
    )


def _currency_where(seen: CurrencySeen) -> str:
    """Where a currency was read, in words: "column 'Amount': 3 values", "column 'Amount':
    $ on 3 of 120 values", or "currency column 'Cur': EUR on 4 lines" ("on 4 of 6 lines"
    when other lines have no code).

    Examples
    --------
    >>> _currency_where(CurrencySeen("transactions", "t.csv", "Amount", (("$", 3),), total=120))
    "column 'Amount': $ on 3 of 120 values"
    >>> _currency_where(CurrencySeen("transactions", "t.csv", "Amount", (("$", 3),), total=3))
    "column 'Amount': 3 values"
    """
    if seen.codes:
        code, n = seen.codes[0]
        of = (
            f"{n:,} of {count_text(seen.total, 'line')}"
            if n < seen.total
            else count_text(n, "line")
        )
        return f"currency column {seen.column!r}: {code} on {of}"
    (_, n), *more = seen.names
    if not more and n >= seen.total:
        return f"column {seen.column!r}: {count_text(n, 'value')}"
    shown = ", ".join(
        f"{name} on {n:,} of {count_text(seen.total, 'value')}" for name, n in seen.names if n
    )
    return f"column {seen.column!r}: {shown}"


def run_currency(
    seen: Sequence[CurrencySeen], settings: Settings, warnings: list[str]
) -> dict[str, Any] | None:
    """The one currency the run's amounts are in as the data names it, for the money shown
    when ``[segments] currency_symbol`` is not set: the manifest's ``currency`` block
    (``symbol``, ``read_from``), with a warning saying where it was read; None when the
    symbol is set, when ``[transactions] exchange_rates`` converts the lines, when the
    transactions name no currency or their amounts were not read for one (``[transactions]
    decimal`` set), or when the data names more than one or a code that is no currency (a
    warning says so when no column alone did).

    The transactions must name it (by a sign or code in their amounts, or one code in their
    currency column); a sign other currencies share is the one the transactions' code or
    country names (``kr`` with SEK, ``¥`` with CNY, ``$`` with CAD or ``US$``). The other
    inputs' amounts, where they name a currency, must name the same, and must have been read
    (their ``[table] decimal`` not set): a ``$`` of the transactions stays ``$`` whichever
    dollar another file names.
    """
    if settings.segments.currency_symbol or settings.transactions.exchange_rates:
        return None
    own = [s for s in seen if s.table == "transactions"]
    codes = [s for s in own if s.codes]
    if any(not s.read for s in own):
        if codes and len(codes[0].codes) == 1:
            warnings.append(
                f"{codes[0].file}: the amounts were not read for a currency sign, as "
                "[transactions] decimal is set, so whether they are all in the "
                f"{codes[0].codes[0][0]} the currency column {codes[0].column!r} names is not "
                "known: the money is shown without a symbol; set [segments] currency_symbol "
                "to show one"
            )
        return None
    named = [s for s in seen if s.names]
    if not any(s.table == "transactions" for s in named):
        return None
    for s in codes:
        if len(s.names) == 1 and _currency_symbol(s.names[0][0]) is None:
            warnings.append(
                f"{s.file}: the currency column {s.column!r} holds no currency code "
                f"({_currency_where(s).split(': ', 1)[1]}), so the money is shown without a "
                "symbol: map the column that holds the ISO codes (EUR, USD) as currency in "
                "[transactions.columns], or set [segments] currency_symbol"
            )
            return None
    if any(len(s.names) > 1 and not any(c.file == s.file for c in codes) for s in named):
        # a column of several currencies, and no currency column to tell which they are:
        # its warning says so
        return None
    said = {n for s in own for n, _ in s.names}
    # the transactions' currency: the one their other names are shared signs of
    mine = [n for n in said if all(m == n or m in _writes(n) for m in said)]
    others = [s for s in named if s.table != "transactions"]
    if len(mine) != 1 or any(not _same_currency(mine[0], n) for s in others for n, _ in s.names):
        if any(len(s.names) > 1 for s in codes):
            # a currency column of several codes: its warning says so
            return None
        shown = "; ".join(
            f"{' and '.join(n for n, k in s.names if k)} in {s.file}, {_currency_where(s)}"
            for s in named
        )
        warnings.append(
            f"the inputs name more than one currency ({shown}), so the money is shown "
            "without a symbol: convert the amounts to one currency, or set [segments] "
            "currency_symbol to the one they are in"
        )
        return None
    name = mine[0]
    unread = list(dict.fromkeys((s.table, s.file) for s in seen if not s.read))
    if unread:
        files = ", ".join(f for _, f in unread)
        tables = ", ".join(f"[{t}] decimal" for t in dict.fromkeys(t for t, _ in unread))
        warnings.append(
            f"the amounts of {files} were not read for a currency sign, as {tables} is set, "
            f"so whether they are in {name} as the invoices are is not known: the money is "
            f"shown without a symbol; set [segments] currency_symbol to show one"
        )
        return None
    symbol = _currency_symbol(name)
    if symbol is None:
        return None
    read_from = [
        {
            "file": s.file,
            "column": s.column,
            **({"code": s.codes[0][0], "lines": s.codes[0][1]} if s.codes else {}),
            **({} if s.codes else {"values": sum(n for _, n in s.names)}),
        }
        for s in named
    ]
    by_file: dict[str, list[str]] = {}
    for s in named:
        by_file.setdefault(s.file, []).append(_currency_where(s))
    where = "; ".join(f"{f}, {', '.join(w)}" for f, w in by_file.items())
    warnings.append(
        f"the amounts are in {name}, as the inputs name it ({where}): money is shown "
        f"with {symbol.strip()} in report.html, plan.xlsx, the dashboard and the reasons; "
        "set [segments] currency_symbol to show another symbol"
    )
    return {"symbol": symbol, "read_from": read_from}


def _or_word(hit: ir.BooleanValue, word: ir.StringValue | None, sign: str) -> ir.BooleanValue:
    """A value carries ``sign``, or names its currency in a word (:func:`_currency_word`;
    None: not looked for)."""
    return hit if word is None else hit | (word == sign)


def _open_date_marked(markers: Sequence[str]) -> bool:
    """Whether ``[validate] missing_values`` holds the open-ended date."""
    return any(_is_open_date(m) for m in markers)


def _warn_shared_number_columns(
    spec: TableSpec,
    mapping: Mapping[str, str | None],
    table: str,
    file: str,
    warnings: list[str] | None,
) -> None:
    """Say, in ``warnings``, where two number columns of a table read one column of the file
    (cost and revenue both "Betrag": every margin 0). A text column may share one (a
    customer named by its id); two amounts never mean the same."""
    if warnings is None:
        return
    readers: dict[str, list[str]] = {}
    for col in spec.input_columns:
        src = mapping.get(col.name)
        if src is not None and col.kind in ("number", "int"):
            readers.setdefault(src, []).append(col.name)
    for src, names in readers.items():
        if len(names) > 1:
            warnings.append(
                f"{file}: {' and '.join(names)} {'both' if len(names) == 2 else 'all'} read "
                f"the column {src!r}, so they hold the same value; map each to its own column "
                f"in [{table}.columns], or leave out those the file does not hold"
            )


def _is_open_date(marker: str) -> bool:
    """Whether a missing-value marker writes the open-ended date (31 December 9999)."""
    digits = re.sub(r"\D", "", marker)
    return len(digits) == 8 and "9999" in (digits[:4], digits[4:]) and "1231" in digits


#: the dashes a hyphen-minus marker (``-``, ``--``) is also written with: the en dash, the
#: em dash and the minus sign (a word processor's or spreadsheet's ``–`` for no value)
_DASHES = ("\u2013", "\u2014", "\u2212")


def _markers(vs: ValidateSettings) -> tuple[str, ...]:
    """``[validate] missing_values``, trimmed and in upper case, as the values are compared;
    a marker of hyphens (``-``) also written with another dash (``–``, ``—``, ``−``)."""
    marks = [m.strip().upper() for m in vs.missing_values if m.strip()]
    dashed = [m.replace("-", d) for m in marks if m.strip("-") == "" for d in _DASHES]
    return tuple(dict.fromkeys([*marks, *dashed]))


def _without_markers(text: ir.StringValue, markers: Sequence[str]) -> ir.StringValue:
    """Trimmed ``text`` with a text marking a missing value (``markers``, upper case) as
    NULL, as an empty cell."""
    if not markers:
        return text
    return ibis.ifelse(text.upper().isin(list(markers)), ibis.null(str), text)


#: a control character a name or address has no use for: every C0 control but the tab and
#: the line breaks a multi-line cell keeps, and DEL (an escape sequence that recolours a
#: terminal, a bell, a NUL byte a broken export left)
_STRAY_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
#: a terminal's escape sequence whole (a colour "ESC[31m", a title "ESC]0;…BEL"), removed
#: with its escape character so that no "[31m" is left in a name
_ESCAPE_SEQUENCE = r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
#: the inputs whose text columns are cleaned of them: those of one row per customer, rep or
#: market cell (the transaction-sized ones keep their text as read, unscanned)
_CLEANED_TABLES = frozenset({"customers", "prospects", "reps", "market"})


def _cells_counted(
    raw: ir.Table, tests: Sequence[tuple[str, ir.BooleanValue]], engine: Engine, what: str
) -> tuple[int, str]:
    """How many cells meet each column's test (one scan of ``raw``): the total, and the
    columns with any, in words ("3 in 'name', 1 in 'city'")."""
    counts = {f"c{i}": _n(test) for i, (_, test) in enumerate(tests)}
    row = engine.to_arrow(raw.aggregate(**counts), what).to_pylist()[0]
    found = [(c, int(row[f"c{i}"] or 0)) for i, (c, _) in enumerate(tests)]
    found = [(c, n) for c, n in found if n]
    return sum(n for _, n in found), ", ".join(f"{n:,} in {c!r}" for c, n in found)


def _count_controls(
    raw: ir.Table, columns: Sequence[str], engine: Engine, *, file: str, warnings: list[str] | None
) -> None:
    """Say, in ``warnings``, how many cells of these text columns held a stray control
    character, which the run removes (one scan of those columns)."""
    if not columns or warnings is None:
        return
    tests = [(c, raw[c].re_search(_STRAY_CONTROL)) for c in columns]
    total, per_column = _cells_counted(raw, tests, engine, f"the control characters of {file}")
    if not total:
        return
    warnings.append(
        f"{file}: {count_text(total, 'cell')} held control characters (such as an escape "
        f"sequence, a bell or a NUL byte: {per_column}); they are removed from the text, which "
        "is kept otherwise as the file has it"
    )


def _count_markers(
    raw: ir.Table,
    columns: Sequence[tuple[str, bool, Sequence[str]]],
    engine: Engine,
    *,
    file: str,
    warnings: list[str] | None,
) -> None:
    """Say, in ``warnings``, how many cells of each optional text number or date column
    were read as empty for a text marking a missing value (one scan of those columns).
    ``columns``: (column, is a date column, its markers), trimmed as the column's values
    are read."""
    if not columns or warnings is None:
        return
    tests = [
        (
            c,
            (
                _trim(raw[c].cast(str), line_breaks=is_date).upper().isin(list(markers))
                | (
                    _trim(raw[c].cast(str), line_breaks=True).re_search(_OPEN_DATE_RE)
                    if is_date and _open_date_marked(markers)
                    else ibis.literal(False)
                )
            )
            if raw[c].type().is_string()
            # a column of dates: the open-ended date (the only marker a date can be)
            else raw[c].cast("date") == OPEN_DATE,
        )
        for c, is_date, markers in columns
    ]
    total, per_column = _cells_counted(raw, tests, engine, f"the missing-value markers of {file}")
    if not total:
        return
    warnings.append(
        f"{file}: {count_text(total, 'cell')} read as empty for a text that marks a missing "
        f"value, such as NULL, N/A, #N/A, - or the open-ended date 31.12.9999 ({per_column}); "
        "their rows are kept without those values (a - that Excel's Accounting format wrote "
        "for a zero too; a paid_date so read is an invoice not yet paid). [validate] "
        "missing_values lists such texts (set [] to reject the rows instead)"
    )


def _text_apostrophe(text: ir.StringValue) -> ir.BooleanValue:
    """Whether an id is written with Excel's "keep as text" apostrophe before it
    (``'00123``), as some exports keep it: one apostrophe, then more than white space or
    another apostrophe. tierwise's own outputs write an id that starts with ``=``, ``+``,
    ``-`` or ``@`` so (``'=A1``), and the id read back is the id written."""
    second = text.substr(1, 1)
    return text.startswith("'") & (text.length() > 1) & ~second.isin(["'", " ", "\t"])


def _without_text_apostrophe(text: ir.StringValue) -> ir.StringValue:
    """An id without Excel's text apostrophe (:func:`_text_apostrophe`), so that ``'00123``
    in one file is the customer ``00123`` of another."""
    return ibis.ifelse(_text_apostrophe(text), text.substr(1), text)


def _count_text_apostrophes(
    raw: ir.Table, columns: Sequence[str], engine: Engine, *, file: str, warnings: list[str] | None
) -> None:
    """Say, in ``warnings``, how many ids of these text columns were written with Excel's
    text apostrophe, which the run drops (one scan of those columns)."""
    if not columns or warnings is None:
        return
    tests = [(c, _text_apostrophe(_trim(raw[c]))) for c in columns]
    total, per_column = _cells_counted(raw, tests, engine, f"the text apostrophes of {file}")
    if not total:
        return
    warnings.append(
        f"{file}: {count_text(total, 'id')} began with an apostrophe, Excel's mark for text "
        f"such as '00123 ({per_column}); the apostrophe is dropped, so that they match the "
        "same ids written without it in the other files"
    )


def _group_pattern(seps: str) -> str:
    """Digits grouped in threes by one of ``seps`` (each group uses one separator); with
    ``,``, also as India writes them: the last three digits, then twos (lakh and crore:
    ``2,28,835``, ``1,00,00,000``), which no grouping in threes can be mistaken for."""
    alts = [rf"\d{{1,3}}(?:{re.escape(s)}\d{{3}})+" for s in seps]
    if "," in seps:
        alts.append(r"\d{1,2}(?:,\d{2})+,\d{3}")
    return "|".join(alts)


def _grammar(decimal: str, thousands: str) -> str:
    """The regular expression of a number written with these separators (anchored).

    ``thousands`` lists every grouping character allowed (it may be empty).
    """
    d = re.escape(decimal)
    whole = r"\d+" + (f"|{_group_pattern(thousands)}" if thousands else "")
    return rf"^[+-]?(?:(?:{whole})(?:{d}\d*)?|{d}\d+)(?:[eE][+-]?\d+)?$"


def _thousands_chars(decimal: str, setting: str | None) -> str:
    """The grouping characters accepted with ``decimal``: the setting's, else the other of
    ``.`` and ``,`` and spaces and apostrophes."""
    if setting is not None:
        return _SPACES if setting == " " else setting
    return ("," if decimal == "." else ".") + _SPACES + "'’"


def _clean_numbers(
    t: ir.Table,
    columns: Sequence[str],
    marked: Sequence[str] | None = None,
    *,
    unmark: bool = False,
) -> ir.Table:
    """``t`` with each text column of ``columns`` as number text: without currency signs or
    codes and without spaces at either end, a negative written as accountants and ERPs do
    in the usual form.

    ``(120.00)`` (accounting) and ``120.00-`` (SAP and other ERPs: a trailing minus) read as
    ``-120.00``; a credit or debit mark after the amount, as ledgers and invoice-line
    exports write it, ``120.00 CR`` (a credit) as ``-120.00`` and ``120.00 DR`` (a debit) as
    ``120.00``; ``EUR 1,234.50``, ``1.234,50 €`` and ``(54.50 EUR)`` as their number; a
    space between the sign and the digits (``-$ 36.76``) dropped; the typographic minus sign
    (U+2212, which spreadsheets and typeset reports write) and the en dash (U+2013, which
    word processors write for a minus: ``– 5``) as ``-``. The credit and debit
    marks are looked for in the ``marked`` columns only (every column when None); with
    ``unmark``, every column's mark is taken off and its sign left as written.

    Each step is a projection of its own (``.view()``), reading the text the step before
    wrote: written as one expression, each step would repeat the whole of the one before
    three or four times, and the query the engine compiles would hold every regular
    expression dozens of times for each column.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from tierwise.engine import Engine
    >>> eng = Engine()
    >>> t = eng.from_arrow(pa.table({"x": ["(54.50 EUR)", "120.00-", "-$ 36.76", "1.234,50 €"]}))
    >>> eng.to_arrow(_clean_numbers(t, ["x"])).column("x").to_pylist()
    ['-54.50', '-120.00', '-36.76', '1.234,50']
    >>> t = eng.from_arrow(pa.table({"x": ["120.00 CR", "1,5Cr", "7 DR", "-5 CR", "CR"]}))
    >>> eng.to_arrow(_clean_numbers(t, ["x"])).column("x").to_pylist()
    ['-120.00', '-1,5', '7', '-5 CR', 'CR']
    """
    if not columns:
        return t
    edge = f"[{_WHITE}{_SPACES}]"
    trim = f"^{edge}+|{edge}+$"
    mark = f"{edge}*(?i:cr|dr)\\z"

    def first(text: ir.StringValue) -> ir.StringValue:
        text = text.replace("\u2212", "-").replace("\u2013", "-")
        return (text.re_replace(mark, "") if unmark else text).re_replace(_NOT_NUMBER, "")

    t = t.mutate(**{c: first(t[c]).re_replace(trim, "") for c in columns}).view()

    def marked_amount(clean: ir.StringValue) -> ir.StringValue:
        # the amount before a credit or debit mark, only where there is one (the cheap
        # suffix tests first: most values skip the regexes); NULL elsewhere
        marked = ibis.or_(*[clean.endswith(m) for m in _CREDIT_DEBIT])
        amount = clean.re_replace(mark, "").re_replace(_NOT_NUMBER, "").re_replace(trim, "")
        return ibis.ifelse(marked, amount, ibis.null(idt.string))

    def credit_debit(clean: ir.StringValue, amount: ir.StringValue) -> ir.StringValue:
        # an amount with a sign or brackets of its own as well as the mark ("-5 CR") is
        # left as written, to be refused, not guessed at
        unsigned = amount.re_search("^[0-9.,]") & amount.re_search("[0-9]\\z")
        credit = clean.right(2).upper() == "CR"
        return ibis.cases((unsigned & credit, "-" + amount), (unsigned, amount), else_=clean)

    # the marked amount computed once per value, in a step of its own, then signed; only
    # for the columns ``marked`` names (every column when None): each step is a level more
    # of the query every later check of the table builds on
    marks = {c: f"_marked_{i}" for i, c in enumerate(columns) if marked is None or c in marked}
    if marks:
        t = t.mutate(**{m: marked_amount(t[c]) for c, m in marks.items()}).view()
        t = (
            t.mutate(**{c: credit_debit(t[c], t[m]) for c, m in marks.items()})
            .drop(*marks.values())
            .view()
        )

    def parenthesised(clean: ir.StringValue) -> ir.StringValue:
        # the cheap prefix and suffix tests first: most values skip the regexes; a currency
        # inside the parentheses, "(54.50 EUR)", goes once they are off
        paren = clean.startswith("(") & clean.endswith(")")
        inner = clean.re_replace(f"^\\({edge}*|{edge}*\\)$", "").re_replace(_NOT_NUMBER, "")
        return ibis.ifelse(paren, "-" + inner.re_replace(trim, ""), clean)

    t = t.mutate(**{c: parenthesised(t[c]) for c in columns}).view()

    def signed(clean: ir.StringValue) -> ir.BooleanValue:
        return clean.startswith("-") | clean.startswith("+")

    def after_sign(clean: ir.StringValue) -> ir.StringValue:
        return ibis.ifelse(
            signed(clean), clean.left(1) + clean.substr(1).re_replace(f"^{edge}+", ""), clean
        )

    t = t.mutate(
        **{c: after_sign(t[c]) for c in columns},
        **{f"{c}__signed": signed(t[c]) for c in columns},
    ).view()

    def trailing_minus(clean: ir.StringValue, signed: ir.BooleanValue) -> ir.StringValue:
        trailing = clean.endswith("-") & ~signed
        return ibis.ifelse(trailing, "-" + clean.re_replace(f"{edge}*-$", ""), clean)

    t = t.mutate(**{c: trailing_minus(t[c], t[f"{c}__signed"]) for c in columns})
    return t.drop(*[f"{c}__signed" for c in columns]).view()


#: a percent sign after the number, as a fraction column may be written ("3.5%", "3,5 %");
#: the end is ``\z``, as in :data:`_NO_CONTROL`
_PERCENT_SIGN = f"[{_WHITE}{_SPACES}]*%\\z"


def _without_percent(text: ir.StringValue) -> tuple[ir.BooleanValue, ir.StringValue]:
    """(whether the text ends in a percent sign, the text without it), for a column
    declared a fraction: ``3,5 %`` is ``3,5`` in hundredths."""
    percent = text.re_search(_PERCENT_SIGN)
    return percent, ibis.ifelse(percent, text.re_replace(_PERCENT_SIGN, ""), text)


#: a duration as a clock writes it: hours, minutes and perhaps seconds ("0:28", "1:05:30");
#: the end is ``\z``, as in :data:`_NO_CONTROL`
_CLOCK = r"^(\d+):([0-5]\d)(?::([0-5]\d))?\z"


def _clock_minutes(text: ir.StringValue) -> ir.FloatingValue:
    """The minutes of a duration written H:MM or H:MM:SS (``1:05`` is 65, ``0:28:30`` is
    28.5), for a column declared minutes; NULL for other text.

    Each part is a group of one regular expression, read with ``regexp_extract``, which
    DuckDB and Spark both have (no back-reference); text that does not match has no hours,
    so no total. Only text with a ``:`` pays for the regular expressions.
    """
    hours, minutes, seconds = (
        text.re_extract(_CLOCK, i).nullif("").try_cast("float64") for i in (1, 2, 3)
    )
    total = hours * 60 + minutes + seconds.fill_null(0.0) / 60
    return ibis.ifelse(text.contains(":"), total, ibis.null("float64"))


def _number_under(
    clean: ir.StringValue, decimal: str, thousands: str
) -> tuple[ir.FloatingValue, ir.BooleanValue]:
    """(the value read with these separators, whether the text fits them)."""
    fits = clean.re_search(_grammar(decimal, thousands))
    digits = clean
    if thousands:
        digits = digits.re_replace(f"[{re.escape(thousands)}]", "")
    if decimal == ",":
        digits = digits.replace(",", ".")
    value = ibis.ifelse(fits, digits, ibis.null(str)).try_cast("float64")
    return value, fits


_NONFINITE = r"(?i)^[+-]?(?:nan|inf|infinity)$"
#: a float as an engine writes it: DuckDB as Python does (1e+20, 1.5e-07, 123.25), Spark as
#: Java does (1.0E20, 1.5E-7, 123.25)
_FLOAT_TEXT = r"^(-?)(\d+)(?:\.(\d*))?(?:[eE]\+?(-?\d+))?$"


def _float_text(t: ir.Table, text: str, out: str) -> ir.Table:
    """``t`` with the column ``out``: the float whose text as the engine writes it
    (``x.cast("string")``) is in column ``text``, written as Python's ``repr`` writes it
    (``1e+20``, ``9007199254740992.0``, ``1.5e-07``, ``inf``, ``nan``), alike on every
    engine, for the value of a rejected row; NULL where ``text`` is.

    The digits are the engine's: the fewest that read back as the same double on DuckDB;
    Spark's Java before version 19 writes some doubles with a digit or two more (2^60 as
    1.15292150460684698E18, Python 1.152921504606847e+18), kept as they are. Their place
    and the exponent are written the same way on both engines: positional from 1e-4 to
    below 1e16, else scientific.

    The parts are computed in steps, each a projection of its own (``.view()``): written as
    one expression, every part repeats the parts it is made of, and the query the engine
    compiles grows to tens of thousands of characters for each float.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from tierwise.engine import Engine
    >>> eng = Engine()
    >>> t = eng.from_arrow(pa.table({"x": [1e20, 2.0**53, 1.5e-7, 0.001, -123.25, 0.0]}))
    >>> t = _float_text(t.mutate(s=t.x.cast("string")), "s", "shown")
    >>> eng.to_arrow(t).column("shown").to_pylist()
    ['1e+20', '9007199254740992.0', '1.5e-07', '0.001', '-123.25', '0.0']
    """
    keep = list(t.columns)

    def part(name: str) -> str:
        return f"{out}__{name}"

    s = t[text]
    t1 = t.mutate(
        **{part(str(i)): s.re_extract(_FLOAT_TEXT, i) for i in (1, 2, 3, 4)},
        **{part("fits"): s.re_search(_FLOAT_TEXT)},
    ).view()
    sign, head, tail, power = (part(str(i)) for i in (1, 2, 3, 4))
    every = t1[head] + t1[tail]
    t2 = t1.mutate(**{part("every"): every, part("kept"): every.re_replace("0+$", "")}).view()
    # d: the significant digits; the value is d × 10^q, and x10 the power of d's first digit
    every, kept = t2[part("every")], t2[part("kept")]
    t3 = t2.mutate(
        **{
            part("d"): kept.re_replace("^0+", ""),
            part("q"): t2[power].nullif("").cast("int64").fill_null(0)
            - t2[tail].length().cast("int64")
            + (every.length() - kept.length()).cast("int64"),
        }
    ).view()
    n = t3[part("d")].length().cast("int64")
    t4 = t3.mutate(**{part("n"): n, part("x10"): n - 1 + t3[part("q")]}).view()
    d, q, n, x10 = (t4[part(x)] for x in ("d", "q", "n", "x10"))
    zeros = ibis.literal("0")
    positional = ibis.cases(
        (q >= 0, d + zeros.repeat(q.cast("int32")) + ".0"),
        (x10 >= 0, d.substr(0, (x10 + 1).cast("int32")) + "." + d.substr((x10 + 1).cast("int32"))),
        else_="0." + zeros.repeat((-x10 - 1).cast("int32")) + d,
    )
    scientific = (
        d.substr(0, 1)
        + ibis.ifelse(n > 1, "." + d.substr(1), "")
        + "e"
        + ibis.ifelse(x10 < 0, "-", "+")
        + x10.abs().cast("string").lpad(2, "0")
    )
    number = t4[sign] + ibis.cases(
        (n == 0, ibis.literal("0.0")),
        ((x10 >= -4) & (x10 < 16), positional),
        else_=scientific,
    )
    other = t4[text].lower().replace("infinity", "inf")
    return t4.select(*keep, **{out: ibis.ifelse(t4[part("fits")], number, other)})


def _n(cond: ir.BooleanValue) -> ir.IntegerScalar:
    """How many rows meet ``cond``."""
    return cond.fill_null(False).cast("int64").sum()


@dataclass(frozen=True)
class _Convention:
    """How a text column writes its numbers, decided from all its values."""

    decimal: str
    thousands: str
    #: whether the column also read as numbers (for the user's own columns)
    is_number: bool = True
    #: whether a value carries a credit or debit mark after it (120.00 CR); True where
    #: the values were not looked at
    marked: bool = True
    #: the currencies the values name by a sign or a code (as the warning of several names
    #: them: "€", "US$", "PLN", "another $"), commonest first, with how many values name
    #: each; empty where none does or the values were not looked at
    currencies: tuple[tuple[str, int], ...] = ()
    #: how many values the column holds (0 where the values were not looked at)
    values: int = 0
    #: whether the values were looked at (not when ``[table] decimal`` settles them)
    read: bool = True


def _number_conventions(
    raw: ir.Table,
    columns: Sequence[str],
    extra: Sequence[str],
    ti: TableInput,
    delimiter: str | None,
    engine: Engine,
    *,
    table: str,
    file: str,
    warnings: list[str] | None,
    percent: Sequence[str] = (),
    fractions: Sequence[str] = (),
    markers: Sequence[str] = (),
    currency_column: bool = False,
) -> dict[str, _Convention]:
    """Decide each text number column's decimal separator from all its values (one scan).

    A value such as ``12.5`` or ``1,234.50`` reads only with ``.`` decimals, ``12,5`` or
    ``1.234,50`` only with ``,``; ``1.250`` reads both ways (1.25 or 1250). The column
    takes the convention its unambiguous values show (the larger count when they disagree:
    the others are then rejected, never misread). A column of only two-way values follows
    the file's other columns, else ``[table] decimal``'s default, with a warning.
    ``extra`` columns (the user's own) are numbers when every value reads as one;
    ``percent`` columns (fractions and percents) are read without a trailing percent sign,
    and a ``fractions`` column that mixes values with and without one is named in a
    warning; a text of
    ``markers`` (``[validate] missing_values``) is no value. A column whose values carry
    more than one currency sign is named in a warning, unless the table maps a
    ``currency_column`` (whose codes convert or are counted instead).
    """
    default = "," if delimiter == ";" else "."
    out: dict[str, _Convention] = {}
    if ti.decimal is not None and not extra and not percent:
        for c in columns:
            out[c] = _Convention(ti.decimal, _thousands_chars(ti.decimal, ti.thousands), read=False)
        return out
    names = list(dict.fromkeys([*columns, *extra]))
    # three projections, each naming what the next one reads: the cleaned text is written
    # once per column in the query, not once for every test that reads it
    texts = raw.select(
        **{
            f"t{i}": _without_markers(_trim(raw[c].cast(str)).nullif(""), markers)
            for i, c in enumerate(names)
        }
    ).view()

    def number_text(i: int) -> ir.StringValue:
        text = texts[f"t{i}"]
        return _without_percent(text)[1] if names[i] in percent else text

    cleaned = _clean_numbers(
        texts.mutate(**{f"c{i}": number_text(i) for i in range(len(names))}).view(),
        [f"c{i}" for i in range(len(names))],
        # a credit or debit mark taken off, its sign left: how the number is written is
        # what this query looks at, and signing it would be a level more for every column
        marked=(),
        unmark=True,
    )
    tests: dict[str, ir.Value] = {}
    for i in range(len(names)):
        clean = cleaned[f"c{i}"]
        tests[f"present{i}"] = cleaned[f"t{i}"].notnull()
        tests[f"dot{i}"] = _number_under(clean, ".", _thousands_chars(".", ti.thousands))[1]
        tests[f"comma{i}"] = _number_under(clean, ",", _thousands_chars(",", ti.thousands))[1]
        tests[f"nonfinite{i}"] = clean.re_search(_NONFINITE)
        text = cleaned[f"t{i}"]
        tests[f"mark{i}"] = ibis.or_(*[text.endswith(m) for m in _CREDIT_DEBIT])
        tests[f"sep{i}"] = clean.contains(".") | clean.contains(",")
        for k, sign in enumerate(_CURRENCY):
            tests[f"cur{i}_{k}"] = cleaned[f"t{i}"].contains(sign)
        # the letters before a dollar sign, upper case, on the lines with one
        tests[f"dollar{i}"] = ibis.ifelse(
            cleaned[f"t{i}"].contains("$"),
            cleaned[f"t{i}"].re_extract("([A-Za-z]{0,3})\\$", 1).upper(),
            ibis.null(str),
        )
        if names[i] in columns:
            # a currency code or word (EUR, zł, Rs.), counted with its sign where it has one
            tests[f"word{i}"] = _currency_word(cleaned[f"t{i}"])
        if names[i] in fractions:
            tests[f"pct{i}"] = _without_percent(cleaned[f"t{i}"])[0]
    tested = cleaned.select(**tests).view()
    metrics: dict[str, ir.Value] = {}
    for i, c in enumerate(names):
        text_present, dot, comma = tested[f"present{i}"], tested[f"dot{i}"], tested[f"comma{i}"]
        metrics[f"dot_{i}"] = _n(dot & ~comma)
        metrics[f"comma_{i}"] = _n(comma & ~dot)
        metrics[f"both_{i}"] = _n(dot & comma & tested[f"sep{i}"])
        metrics[f"mark_{i}"] = _n(tested[f"mark{i}"])
        metrics[f"values_{i}"] = _n(text_present)
        word = tested[f"word{i}"] if c in columns else None
        for k, sign in enumerate(_CURRENCY):
            metrics[f"cur_{i}_{k}"] = _n(_or_word(tested[f"cur{i}_{k}"], word, sign))
        dollar = tested[f"dollar{i}"]
        known = [letters for _, group in _DOLLARS for letters in group]
        for k, (sign, letters) in enumerate(_DOLLARS):
            metrics[f"usd_{i}_{k}"] = _n(_or_word(dollar.isin(letters), word, sign))
        metrics[f"usd_{i}_other"] = _n(dollar.notnull() & ~dollar.isin(known))
        if word is not None:
            # the currencies written as words no sign is counted for: how many, and the
            # first and last of them
            signs = [*_CURRENCY, *(sign for sign, _ in _DOLLARS)]
            other = ibis.ifelse(word.isin(signs), ibis.null(str), word)
            metrics[f"words_{i}"] = _n(other.notnull())
            metrics[f"kinds_{i}"] = other.nunique()
            metrics[f"lo_{i}"] = other.min()
            metrics[f"hi_{i}"] = other.max()
        if c in extra:
            nonfinite = tested[f"nonfinite{i}"]
            metrics[f"baddot_{i}"] = _n(text_present & (~dot | nonfinite))
            metrics[f"badcomma_{i}"] = _n(text_present & (~comma | nonfinite))
        if c in fractions:
            metrics[f"pct_{i}"] = _n(text_present & tested[f"pct{i}"])
            metrics[f"bare_{i}"] = _n(text_present & ~tested[f"pct{i}"])
    got = engine.to_arrow(tested.aggregate(**metrics), f"the number formats of {file}").to_pylist()[
        0
    ]
    words = {k: v for k, v in got.items() if k.startswith(("lo_", "hi_"))}
    got = {k: int(v or 0) for k, v in got.items() if k not in words}
    file_dot = sum(got[f"dot_{i}"] for i in range(len(names)))
    file_comma = sum(got[f"comma_{i}"] for i in range(len(names)))
    for i, c in enumerate(names):
        signs = [(sign, got[f"usd_{i}_{k}"]) for k, (sign, _) in enumerate(_DOLLARS)]
        signs += [(sign, got[f"cur_{i}_{k}"]) for k, sign in enumerate(_CURRENCY)]
        signs.append(("another $", got[f"usd_{i}_other"]))
        # the commonest first; among equals, the dollars, then € £ ¥ ₹; then the currencies
        # written as words alone
        signs = sorted(((sign, n) for sign, n in signs if n), key=lambda s: -s[1])
        seen = list(signs)
        kinds = got.get(f"kinds_{i}", 0)
        if kinds:
            lo, hi = words[f"lo_{i}"], words[f"hi_{i}"]
            if kinds == 2 and hi == "kr" and lo in _KRONOR:
                # "kr" is the krona or krone the code names
                kinds, hi = 1, lo
            seen += [(str(lo), got[f"words_{i}"])] + ([(str(hi), 0)] if kinds > 1 else [])
            named = (
                lo
                if kinds == 1
                else f"{lo} and {hi}"
                if kinds == 2
                else f"{lo}, {hi} and {count_text(kinds - 2, 'other')}"
            )
            signs.append((named, got[f"words_{i}"]))
        if len(signs) + max(kinds - 1, 0) > 1 and warnings is not None and not currency_column:
            shown = ", ".join(f"{sign} in {count_text(n, 'value')}" for sign, n in signs)
            warnings.append(
                f"{file}: column {c!r} holds amounts in more than one currency ({shown}); "
                "they are added up as if one: convert them to one currency before the run, "
                f"or map the file's currency column as currency in [{table}.columns] and "
                f"set [{table}] exchange_rates"
            )
        if c in fractions and got[f"pct_{i}"] and got[f"bare_{i}"] and warnings is not None:
            # "0.5" among "3.5%" values may mean 0.5% as well as 50%: say how it was read
            warnings.append(
                f"{file}: column {c!r} mixes values with a % sign "
                f"({count_text(got[f'pct_{i}'], 'value')}) and without one "
                f"({count_text(got[f'bare_{i}'], 'value')}): those without are read as "
                "fractions (0.5 as 50%, 0.035 as 3.5%); write every value of the column "
                "one way"
            )
        dot, comma, both = got[f"dot_{i}"], got[f"comma_{i}"], got[f"both_{i}"]
        if ti.decimal is not None:
            decimal = ti.decimal
        elif dot or comma:
            decimal = "." if dot > comma else "," if comma > dot else default
        elif both and c not in extra:
            decimal = "." if file_dot > file_comma else "," if file_comma > file_dot else default
            why = (
                "like the file's other number columns"
                if file_dot != file_comma
                else ('as the file is ";"-separated' if decimal == "," else "by default")
            )
            example = "1.250 = 1250" if decimal == "," else "1.250 = 1.25"
            if warnings is not None:
                warnings.append(
                    f"{file}: every number in column {c!r} reads with either decimal "
                    f'separator ({count_text(both, "value")} like 1.250); read with "{decimal}" '
                    f"as decimal separator {why} ({example}); set [{table}] decimal "
                    'to "." or "," if that is wrong'
                )
        else:
            decimal = default
        is_number = True
        if c in extra:
            bad = got[f"baddot_{i}"] if decimal == "." else got[f"badcomma_{i}"]
            is_number = bad == 0 and got[f"values_{i}"] > 0
        out[c] = _Convention(
            decimal,
            _thousands_chars(decimal, ti.thousands),
            is_number,
            marked=got[f"mark_{i}"] > 0,
            currencies=tuple(seen),
            values=got[f"values_{i}"],
        )
    return out


# -- dates ----------------------------------------------------------------------------------

_STRFTIME_SHAPES = {
    "%Y": r"\d{1,4}",
    "%m": r"\d{1,2}",
    "%d": r"\d{1,2}",
    "%H": r"\d{1,2}",
    "%M": r"\d{1,2}",
    "%S": r"\d{1,2}",
    "%y": r"\d{2}",
    "%b": r"[A-Za-z]{3,}\.?",
    "%h": r"[A-Za-z]{3,}\.?",
    "%B": r"[A-Za-z]+",
    "%f": r"\d{1,9}",
    "%j": r"\d{1,3}",
    "%z": r"[+-]\d{2}:?\d{2}",
    "%Z": r"[A-Za-z]+",
    "%p": r"[AaPp][Mm]",
    "%I": r"\d{1,2}",
    "%a": r"[A-Za-z]+",
    "%A": r"[A-Za-z]+",
    "%%": "%",
}


#: a time after a date, with seconds, fractions, AM/PM and a zone as ISO 8601, ERPs and
#: psql write them ("2024-01-02T10:15:00.123+01:00", "02.01.2024 10:15", "Jan 2, 2024 3:04
#: PM", "2024-01-02 10:15:00+01", "… 10:15:00-03:30", "1890-01-02 10:15:00+00:53:28"):
#: removed with its zone, so the date is the date as written, never moved to another zone's
#: (removed without a back-reference, which DuckDB and Spark spell differently)
_TIME_AFTER_DATE = (
    r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[AaPp][Mm])?\s*"
    r"(?:Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?|UTC|GMT)?$"
)
#: a date with its month in a word: day, month, year ("31 janvier 2024", "31. Januar 2024")
#: or month, day, year ("enero 31, 2024"), a time after it or not
_WORD_MONTH = (
    r"^(?:\d{1,2}\.?[\s/-]*\p{L}{3,}\.?[\s/,-]*\d{2,4}"
    r"|\p{L}{3,}\.?[\s/-]*\d{1,2}(?:st|nd|rd|th)?,?[\s/-]*\d{2,4})(?:$|[ T])"
)
#: an English month's name or its abbreviation, as a word of its own (the only month names
#: the engines' date parsers read)
_ENGLISH_MONTH = (
    r"(?i)(?:^|[^\p{L}])(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?"
    r"|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?(?:[^\p{L}]|$)"
)
#: a date written as ISO 8601's year, week and weekday (2024-W25-3, 2024W253)
_ISO_WEEK_DATE = r"^\d{4}-?W\d{2}-?[1-7]$"
#: PostgreSQL's open ends of a date or timestamp as its exports write them ("infinity",
#: "-infinity"), and the shorter spelling of other programs
_INFINITE_DATE = r"(?i)^[+-]?inf(?:inity)?$"
#: the years a typed date of a real event has; one outside them is an open end (a database's
#: infinity, which the PostgreSQL driver hands over as a date millions of years ago, and
#: DuckDB as a date without a year)
_CALENDAR_YEARS = (1, 9999)
#: a spreadsheet's serial day number, as a date column formatted as a number exports it
#: (20000 is 1954-10-03, 79999 is 2118-12-01), with its fraction (the time of day) when it
#: has one: 45322.75 is 2024-01-31 18:00
_EXCEL_SERIAL = r"^[2-7]\d{4}(?:[.,]\d+)?$"
#: the day a spreadsheet's serial day numbers count from (Excel's 1900 date system, with its
#: leap day of 1900 that never was)
EXCEL_ORIGIN = dt.date(1899, 12, 30)


def _excel_serial_date(text: ir.StringValue, origin: dt.date = EXCEL_ORIGIN) -> ir.DateValue:
    """A five-digit day number as a spreadsheet counts days (from ``origin``: 1899-12-30,
    or 1904-01-01 in a workbook of Excel's 1904 date system), its fraction left aside; NULL
    otherwise."""
    days = text.substr(0, 5).try_cast("int32").as_interval("D")
    return ibis.ifelse(
        text.re_search(_EXCEL_SERIAL),
        (ibis.date(origin.year, origin.month, origin.day) + days).cast("date"),
        ibis.null("date"),
    )


#: a day and a month in numbers, then the year ("02/03/2024", "13.01.2024 10:15"), by which
#: of the two orders it reads: only day-first (the first number above 12), only month-first
#: (the second above 12), or both (each at most 12)
_NUMERIC_DATE = r"[/.-]\d{2,4}(?:$|[ T])"
_DAY_FIRST_ONLY = r"^(?:1[3-9]|2\d|3[01])[/.-](?:0?[1-9]|1[0-2])" + _NUMERIC_DATE
_MONTH_FIRST_ONLY = r"^(?:0?[1-9]|1[0-2])[/.-](?:1[3-9]|2\d|3[01])" + _NUMERIC_DATE
_EITHER_ORDER = r"^(?:0?[1-9]|1[0-2])[/.-](?:0?[1-9]|1[0-2])" + _NUMERIC_DATE
#: the share of a date column's unambiguous values that may read only in the other order
#: and still be taken as slips (rejected) rather than a column mixing two orders (an error)
_ORDER_SLIPS = 0.01
#: a format's day and month in numbers, either way round ("%d/%m/%Y", "%m.%d.%Y")
_FORMAT_DAY_MONTH = re.compile(r"%([dm])([/.-])%([dm])\2")


def _in_order(
    formats: Sequence[str], order: str, by_separator: dict[str, str] | None = None
) -> list[str]:
    """``formats`` with every numeric day and month written in ``order`` ("day" or
    "month" first), or in the order ``by_separator`` gives their separator, each format
    once.

    Examples
    --------
    >>> _in_order(["%d/%m/%Y", "%d.%m.%Y"], "day", {"/": "month"})
    ['%m/%d/%Y', '%d.%m.%Y']
    """
    orders = by_separator or {}

    def write(m: re.Match[str]) -> str:
        sep = m.group(2)
        first, second = ("d", "m") if orders.get(sep, order) == "day" else ("m", "d")
        return f"%{first}{sep}%{second}{sep}"

    return list(dict.fromkeys(_FORMAT_DAY_MONTH.sub(write, f) for f in formats))


def _as_read(example: str, order: str) -> str:
    """ " (02/03/2024 is 2 March 2024)": how ``example`` reads in ``order``."""
    numbers = [int(n) for n in re.findall(r"\d+", example)]
    if len(numbers) != 3 or numbers[2] < 1000:
        return ""
    day, month = numbers[:2] if order == "day" else numbers[1::-1]
    try:
        when = dt.date(numbers[2], month, day)
    except ValueError:
        return ""
    return f" ({example} is {when.day} {when:%B %Y})"


def _default_order(formats: Sequence[str]) -> str:
    """The order of day and month in the first numeric format of ``formats``."""
    for f in formats:
        m = _FORMAT_DAY_MONTH.search(f)
        if m and m.group(1) != m.group(3):
            return "day" if m.group(1) == "d" else "month"
    return "day"


def _date_formats(
    raw: ir.Table,
    columns: Sequence[str],
    vs: ValidateSettings,
    engine: Engine,
    *,
    table: str,
    file: str,
    warnings: list[str] | None,
) -> dict[str, list[str]]:
    """Decide whether each text date column writes the day or the month first, from all
    its values (one scan), and return the formats its values are read with.

    ``13/01/2024`` reads only day-first, ``01/13/2024`` only month-first, ``02/03/2024``
    both ways. A column with values of only one of the first two kinds is read in that
    order; a column with both stops the run (its dates cannot all be right), unless one
    kind is at most 1% of them: slips, rejected, with a warning. A column whose
    every numeric date reads both ways keeps the order of ``[validate] date_formats``, with a
    warning naming the column and the setting, unless those formats were set.

    Raises
    ------
    Problems
        A column holding dates only day-first and dates only month-first.
    """
    if "date_formats" in vs.model_fields_set:
        # formats the user set are tried as given, in their order
        return {c: list(vs.date_formats) for c in columns}
    default = _default_order(vs.date_formats)
    # one projection testing each value, read by the aggregate: each regular expression runs
    # once per value, and only on values with a separator at the second or third character
    # (an ISO date, the usual case, has none there and skips them)
    tests: dict[str, ir.Value] = {}
    for i, c in enumerate(columns):
        text = _without_markers(_trim(raw[c].cast(str), line_breaks=True), _markers(vs))
        numeric = text.substr(1, 1).isin(["/", ".", "-"]) | text.substr(2, 1).isin(["/", ".", "-"])
        tests[f"t{i}"] = text
        tests[f"d{i}"] = numeric & text.re_search(_DAY_FIRST_ONLY)
        tests[f"m{i}"] = numeric & text.re_search(_MONTH_FIRST_ONLY)
        tests[f"e{i}"] = numeric & text.re_search(_EITHER_ORDER)
        # the separator after the first number (13.01.2024, 1/13/2024)
        tests[f"s{i}"] = ibis.ifelse(
            text.substr(1, 1).isin(_DATE_SEPARATORS), text.substr(1, 1), text.substr(2, 1)
        )
    v = raw.select(**tests).view()
    metrics: dict[str, ir.Value] = {}
    for i in range(len(columns)):
        text, day, month, either = v[f"t{i}"], v[f"d{i}"], v[f"m{i}"], v[f"e{i}"]
        metrics[f"day_{i}"] = _n(day)
        metrics[f"month_{i}"] = _n(month)
        metrics[f"either_{i}"] = _n(either)
        for k, sep in enumerate(_DATE_SEPARATORS):
            metrics[f"day_{i}_{k}"] = _n(day & (v[f"s{i}"] == sep))
            metrics[f"month_{i}_{k}"] = _n(month & (v[f"s{i}"] == sep))
        metrics[f"eday_{i}"] = ibis.ifelse(day, text, ibis.null(str)).min()
        metrics[f"emonth_{i}"] = ibis.ifelse(month, text, ibis.null(str)).min()
        metrics[f"eeither_{i}"] = ibis.ifelse(either, text, ibis.null(str)).min()
    got = engine.to_arrow(v.aggregate(**metrics), f"the date formats of {file}").to_pylist()[0]
    out: dict[str, list[str]] = {}
    problems: list[InputError] = []
    for i, c in enumerate(columns):
        day, month, either = (int(got[f"{k}_{i}"] or 0) for k in ("day", "month", "either"))
        order = default
        by_separator = _orders_by_separator(got, i) if day and month else {}
        if len(set(by_separator.values())) > 1:
            # each separator shows one order (13.01.2024 and 01/13/2024: dates of two
            # systems): each is read in its own
            if warnings is not None:
                said = ", ".join(f"with {sep!r} {o} first" for sep, o in by_separator.items())
                warnings.append(
                    f"{file}: column {c!r} writes its dates {said} (as {got[f'eday_{i}']} and "
                    f"{got[f'emonth_{i}']}), and each is read so; set [validate] date_formats "
                    "to read them otherwise"
                )
            out[c] = _in_order(vs.date_formats, default, by_separator)
            continue
        if day and month and min(day, month) <= _ORDER_SLIPS * (day + month):
            # a few slips in a column that otherwise shows its order: read in that order,
            # the slips rejected as the dates that do not exist in it
            order = "day" if day > month else "month"
            slips, slip = min(day, month), got[f"emonth_{i}" if order == "day" else f"eday_{i}"]
            if warnings is not None:
                warnings.append(
                    f"{file}: column {c!r} writes its dates {order} first "
                    f"({count_text(max(day, month), 'value')} show it); "
                    f"{count_text(slips, 'value that reads', 'values that read')} only the "
                    f"other way round (first: {slip}) {'is' if slips == 1 else 'are'} "
                    f"rejected; set [{table}] date_format if the column mixes two orders"
                )
        elif day and month:
            problems.append(
                InputError(
                    f"dates that read only day first ({got[f'eday_{i}']}) and others only "
                    f"month first ({got[f'emonth_{i}']})",
                    file=file,
                    column=c,
                    hint=f'set [{table}] date_format to the format of its dates, e.g. "%d/%m/%Y" '
                    'or "%m/%d/%Y"',
                )
            )
            continue
        elif day or month:
            order = "day" if day else "month"
        elif either and warnings is not None and "date_formats" not in vs.model_fields_set:
            example = str(got[f"eeither_{i}"]).split(" ")[0].split("T")[0]
            sep = next((ch for ch in example if ch in "/.-"), "/")
            fmt = f"%m{sep}%d{sep}%Y" if order == "day" else f"%d{sep}%m{sep}%Y"
            warnings.append(
                f"{file}: every date in column {c!r} reads day first or month first "
                f"({count_text(either, 'value')} like {example}); read {order} first"
                f"{_as_read(example, order)}; "
                f'set [{table}] date_format = "{fmt}" if the {"month" if order == "day" else "day"}'
                " comes first"
            )
        out[c] = _in_order(vs.date_formats, order)
    Problems.raise_if_any(problems)
    return out


#: the separators of a date written in numbers, day and month either way round
_DATE_SEPARATORS = ("/", ".", "-")


def _orders_by_separator(got: dict[str, Any], i: int) -> dict[str, str]:
    """The order of day and month each separator of column ``i`` shows ("day" or
    "month"), from the counts of :func:`_date_formats`' scan; empty when a separator shows
    both (its dates cannot all be right whichever way they are read)."""
    out: dict[str, str] = {}
    for k, sep in enumerate(_DATE_SEPARATORS):
        day, month = int(got[f"day_{i}_{k}"] or 0), int(got[f"month_{i}_{k}"] or 0)
        if day and month:
            return {}
        if day or month:
            out[sep] = "day" if day else "month"
    return out


#: the time in a strftime format, from its first code to the end ("%Y-%m-%dT%H:%M:%S")
_FORMAT_TIME = re.compile(r"[ T]?%-?[HIMSfpzZ].*$")


def _date_part(fmt: str) -> str:
    """``fmt`` without the time after its date ("%m/%d/%Y %I:%M %p" is "%m/%d/%Y")."""
    return _FORMAT_TIME.sub("", fmt) or fmt


def _format_shape(fmt: str, *, two_digit_year: bool = False) -> str:
    """A regular expression of the text a strftime format writes (digits loosely), so
    that a value of the right shape that still does not parse is told apart."""
    out, i = [], 0
    while i < len(fmt):
        # "%-d" reads as "%d" (one or two digits either way)
        code = fmt[i] + fmt[i + 2 : i + 3] if fmt[i : i + 2] == "%-" else fmt[i : i + 2]
        width = 3 if fmt[i : i + 2] == "%-" else 2
        if code == "%Y" and two_digit_year:
            out.append(r"\d{2}")
            i += width
        elif code in _STRFTIME_SHAPES:
            out.append(_STRFTIME_SHAPES[code])
            i += width
        else:
            out.append(re.escape(fmt[i]))
            i += 1
    return "^" + "".join(out) + "$"


# -- parsing a column in three steps -------------------------------------------------------------
#
# Each column is parsed over three projections of the raw table, each kept apart
# (``.view()``) so that Ibis does not fold them back into one expression that repeats every
# trimmed text and parsed value in each check: (1) the trimmed and cleaned text, (2) the
# parsed value and the facts about the text (does it fit the number grammar, the date
# shape), (3) the checks and the final value. The engine computes each value once.


def _parse_date(engine: Any, text: ir.StringValue, fmt: str) -> ir.DateValue:
    """``text`` read as a date in ``fmt`` by the engine, null where it does not read. A %y
    year is two digits: DuckDB's parser takes one too (5.3.4), Spark's not, so a text of
    another shape is read by neither."""
    parsed = engine.try_parse_date(text, fmt)
    if "%y" not in fmt:
        return parsed
    return ibis.ifelse(text.re_search(_format_shape(fmt)), parsed, ibis.null("date"))


def _hidden(prefix: str, name: str) -> str:
    return f"_{prefix}__{name}"


@dataclass(frozen=True)
class _Plan:
    """How one column (canonical or the user's own) is read from its raw column."""

    name: str
    kind: str
    raw: str  # the level-1 column carrying the raw value
    conv: _Convention
    text: bool  # the raw column is text
    #: an identifier that names a customer, rep or invoice: a control character in it is
    #: refused (a regular expression per value, so not spent on every order and product id
    #: of the transactions)
    keyed: bool = False
    #: the formats a text date column is read with (``[validate] date_formats`` in the
    #: column's order of day and month); empty: ``[table] date_format`` or those formats
    formats: tuple[str, ...] = ()
    #: a trailing percent sign is taken off the text: a fraction's (``Column.fraction``),
    #: whose text with the sign is hundredths, or a percent's (``Column.percent``)
    percent: bool = False
    #: with ``percent``: the text with the sign is hundredths (a fraction); False, a number
    #: in percent, whose sign is dropped only
    hundredths: bool = True
    #: minutes: text H:MM or H:MM:SS is a clock duration (``Column.minutes``)
    clock: bool = False
    #: what the number read is multiplied by: 100 for a discount percent written as a
    #: fraction of the line (``[transactions] discount_percent_scale = "fraction"``: 0.1
    #: is 10), so that its range is checked in percent whichever way it is written
    scale: float = 1.0
    #: the texts read as an empty cell (``[validate] missing_values``, upper case): for a
    #: text number or date column
    missing: tuple[str, ...] = ()
    #: the words read as true and as false (lower case), for a true/false column
    true_words: tuple[str, ...] = _TRUE
    false_words: tuple[str, ...] = _FALSE
    #: text whose stray control characters are removed (:data:`_STRAY_CONTROL`)
    clean: bool = False
    #: the day a date's serial day number counts from (:func:`_excel_serial_date`)
    serial_origin: dt.date = EXCEL_ORIGIN

    def date_formats(self, ti: TableInput, vs: ValidateSettings) -> list[str]:
        """The formats this date column's text is tried against, in turn."""
        if ti.date_format:
            return [ti.date_format]
        return list(self.formats or vs.date_formats)

    # -- level 1: trimmed and cleaned text, or the typed value --------------------------

    def level1(self, expr: ir.Column, backend: str) -> dict[str, ir.Value]:
        name, kind = self.name, self.kind
        if not self.text:
            if kind in ("id", "text") and expr.type().is_floating():
                # ids exported from spreadsheets as 1234.0; NaN and infinity are no value,
                # and whole numbers a float holds exactly are written without the ".0" (one
                # beyond is refused by the checks)
                finite = ~not_finite(expr, backend)
                whole = finite & (expr.abs() < _EXACT_FLOAT) & ((expr % 1) == 0)
                expr = ibis.cases(
                    (~finite, ibis.null(str)),
                    (whole, expr.cast("int64").cast(str)),
                    else_=expr.cast(str),
                )
                return {name: _trim(expr.cast(str)).nullif("")}
            if kind in ("id", "text"):
                return {name: _trim(expr.cast(str)).nullif("")}
            if kind in ("number", "int", "extra_number"):
                return {name: expr.cast("float64")}
            if kind == "date":
                day = expr if expr.type().is_date() else expr.cast("date")
                if OPEN_DATE_TEXT in self.missing:
                    # the open-ended date stored as a date reads as none, as its text does
                    day = ibis.ifelse(day == OPEN_DATE, ibis.null("date"), day)
                return {name: day}
            if kind == "bool":
                return {name: expr if expr.type().is_boolean() else expr != 0}
            if kind == "extra_text":
                return {
                    name: expr.cast("date")
                    if expr.type().is_date() or expr.type().is_timestamp()
                    else expr.cast(str)
                }
            raise ValueError(kind)  # pragma: no cover
        if kind == "date" and expr.type().is_numeric():
            # dates stored as numbers (20240131, or a spreadsheet's serial day whose fraction
            # is the time of day) are read as the same digits in a CSV file would be
            # NaN and infinity are no value: NULL (see floor_int for why not by the ifelse
            # alone)
            num = expr.cast("float64")
            finite = ~num.isnan() & ~num.isinf() & (num.abs() < 1e15)
            expr = floor_int(ibis.ifelse(finite, num, ibis.null("float64"))).cast(str)
        if self.clean:
            expr = expr.cast(str).re_replace(_ESCAPE_SEQUENCE, "").re_replace(_STRAY_CONTROL, "")
        text = _trim(expr.cast(str), line_breaks=kind == "date").nullif("")
        if kind == "id":
            return {name: _without_text_apostrophe(text)}
        if kind in ("text", "extra_text"):
            return {name: text}
        text = _without_markers(text, self.missing)
        if kind == "date" and _open_date_marked(self.missing):
            # the open-ended date with a time after it too, as a typed column's is
            text = ibis.ifelse(text.re_search(_OPEN_DATE_RE), ibis.null(str), text)
        if kind in ("number", "int", "extra_number"):
            # read on by :meth:`number_text`
            return {_hidden("x", name): text}
        if kind == "date":
            return {_hidden("s", name): text}
        if kind == "bool":
            # an empty cell is false; a NULL (no value at all) stays NULL
            low = _trim(expr.cast(str)).lower()
            val = ibis.cases(
                (low.isin(self.true_words), True),
                (low.isin(self.false_words), False),
                else_=None,
            )
            return {name: val.cast("boolean")}
        raise ValueError(kind)  # pragma: no cover

    def number_text(self, t: ir.Table) -> dict[str, ir.Value]:
        """A text number column's duration as a clock writes it, its percent sign, and the
        text left to read as a number (``_c__``, cleaned by :func:`_clean_numbers`), from
        its trimmed text."""
        name = self.name
        text = t[_hidden("x", name)]
        out: dict[str, ir.Value] = {}
        if self.clock:
            out[_hidden("clk", name)] = _clock_minutes(text)
        if self.percent:
            out[_hidden("pct", name)], text = _without_percent(text)
        out[_hidden("c", name)] = text
        return out

    # -- level 2: the parsed value and facts about the text ------------------------------

    def level2(
        self, t: ir.Table, ti: TableInput, vs: ValidateSettings, engine: Engine
    ) -> dict[str, ir.Value]:
        name, kind = self.name, self.kind
        if not self.text or kind in ("id", "text", "extra_text", "bool"):
            return {name: t[name]}
        if kind in ("number", "int", "extra_number"):
            clean = t[_hidden("c", name)]
            conv = self.conv
            other = "," if conv.decimal == "." else "."
            digits = _digits(clean, conv.decimal, conv.thousands)
            if self.percent and self.hundredths:
                # hundredths by the exponent, so "1.1%" reads as the same float as "0.011"
                digits = ibis.ifelse(t[_hidden("pct", name)], digits + "e-2", digits)
            out = {
                name: digits.try_cast("float64"),
                _hidden("fit", name): clean.re_search(_grammar(conv.decimal, conv.thousands)),
            }
            if kind != "extra_number":
                out[_hidden("alt", name)] = clean.re_search(
                    _grammar(other, _thousands_chars(other, None))
                )
                out[_hidden("nf", name)] = clean.re_search(_NONFINITE)
            return out
        if kind == "date":
            text = t[_hidden("s", name)]
            given = self.date_formats(ti, vs)
            # a time after the date says nothing the analysis uses: it is left aside, from
            # the text and from a format that reads it ("%m/%d/%Y %H:%M" reads 12/1/2010 8:26
            # and 12/1/2010 as 1 December); a format whose time is not ":"-separated
            # ("%Y%m%d%H%M") also reads the text whole
            whole = text
            text = text.re_replace(_TIME_AFTER_DATE, "")
            formats = list(dict.fromkeys(_date_part(f) for f in given))
            # a two-digit year's formats first: they read only a text of their shape
            # (01.01.24), which a four-digit year's would read as the year 24; so one list
            # of formats reads a column of each (due and paid dates written apart)
            formats.sort(key=lambda f: "%y" not in f)
            serial = [] if ti.date_format else [_excel_serial_date(text, self.serial_origin)]
            parsed = [_parse_date(engine, text, f) for f in formats] + serial
            parsed += [_parse_date(engine, whole, f) for f in given if f not in formats]
            # a date is written with digits: a word ("infinity", "epoch") that an engine's
            # parser takes for a date of its own is none
            written = text.re_search(r"\d")
            with_year = [f for f in formats if "%Y" in f]
            two_digit = (
                ibis.or_(
                    *[text.re_search(_format_shape(f, two_digit_year=True)) for f in with_year]
                )
                if with_year
                else ibis.literal(False)
            )
            value = ibis.coalesce(*parsed) if len(parsed) > 1 else parsed[0]
            return {
                name: ibis.ifelse(written, value, ibis.null("date")),
                _hidden("2y", name): two_digit & ~text.re_search(_EXCEL_SERIAL),
                _hidden("sh", name): ibis.or_(*[text.re_search(_format_shape(f)) for f in formats]),
            }
        raise ValueError(kind)  # pragma: no cover

    # -- level 3: the final value and the checks -----------------------------------------

    def value(self, t: ir.Table) -> ir.Value:
        name = self.name
        if self.text and self.kind in ("number", "int", "extra_number"):
            value = ibis.ifelse(t[_hidden("fit", name)], t[name], ibis.null("float64"))
            if self.clock:
                value = ibis.coalesce(t[_hidden("clk", name)], value)
        else:
            value = t[name]
        return value * self.scale if self.scale != 1 else value

    def checks(
        self, t: ir.Table, ti: TableInput, vs: ValidateSettings, *, table: str, backend: str
    ) -> list[Check]:
        name, kind = self.name, self.kind
        value = self.value(t)
        checks: list[Check] = []
        if kind in ("id", "text"):
            if kind == "text":
                return []
            checks = [
                (
                    value.length() > vs.max_id_length,
                    f"{name} is longer than {vs.max_id_length} characters",
                )
            ]
            if not self.text and t[self.raw].type().is_floating():
                # NaN is no id (a missing one), and DuckDB sorts it above every number
                checks.append(
                    (
                        ~not_finite(t[self.raw], backend) & (t[self.raw].abs() >= _EXACT_FLOAT),
                        f"{name} is a float of 2^53 or more, which holds no id of that many digits "
                        "exactly (two ids may have become one): read the column as integers "
                        "(Int64) or text",
                    )
                )
            if name == "customer_id" and vs.placeholder_ids:
                checks.append((_placeholder_id(value, vs, backend), _PLACEHOLDER_REASON))
            if self.keyed:
                checks.append(
                    (
                        ~value.re_search(_NO_CONTROL),
                        f"{name} contains a control character (a NUL byte, a line break or "
                        "a tab): not an identifier",
                    )
                )
            return checks
        if kind == "bool":
            if not self.text:
                return []
            return [
                (
                    t[self.raw].notnull() & value.isnull(),
                    f"{name} is not true/false: use true/false, yes/no or 1/0, or list "
                    f"the file's own words in [{table}] true_values and false_values",
                )
            ]
        if kind in ("number", "int"):
            if self.text:
                clean = t[_hidden("c", name)]
                fit, alt, nonfinite = (t[_hidden(p, name)] for p in ("fit", "alt", "nf"))
                other = "," if self.conv.decimal == "." else "."
                not_number = clean.notnull() & ~fit & ~nonfinite
                plain = f"{name} is not a number"
                if self.clock:
                    not_number &= t[_hidden("clk", name)].isnull()
                    plain += " of minutes nor a duration H:MM or H:MM:SS"
                checks += [
                    (
                        not_number & clean.contains("_"),
                        f'{name} is not a number ("_" is not a digit separator)',
                    ),
                    (
                        not_number & alt,
                        f'{name} is not a number with "{self.conv.decimal}" as decimal '
                        f"separator, as in the rest of the column (set [{table}] decimal if the "
                        f'column uses "{other}")',
                    ),
                    (not_number, plain),
                    (clean.notnull() & nonfinite, f"{name} is not a finite number"),
                ]
            checks += [
                (not_finite(value, backend), f"{name} is not a finite number"),
                (
                    value.abs() > vs.max_abs_number,
                    f"{name} is implausibly large (beyond ±{vs.max_abs_number:g})",
                ),
            ]
            if kind == "int":
                checks.append((value != value.round(0), f"{name} is not a whole number"))
            return checks
        if kind == "date":
            checks = []
            if self.text:
                text = t[_hidden("s", name)]
                two_digit, shaped = t[_hidden("2y", name)], t[_hidden("sh", name)]
                formats = self.date_formats(ti, vs)
                shown = ", ".join(formats[:4]) + (", …" if len(formats) > 4 else "")
                checks += [
                    (
                        value.isnull() & text.re_search(_INFINITE_DATE),
                        f"{name} is infinity or -infinity (an open end, as PostgreSQL writes "
                        "one), not a date",
                    ),
                    (
                        text.notnull() & two_digit & (value.isnull() | (value.year() < 100)),
                        f"{name} has a two-digit year: write years in full, or set [{table}] "
                        'date_format with %y, e.g. "%d.%m.%y" (when another date column of '
                        "the table writes years in full, add the format to [validate] "
                        "date_formats instead)",
                    ),
                    (
                        text.notnull()
                        & value.isnull()
                        & text.re_search(_WORD_MONTH)
                        & ~text.re_search(_ENGLISH_MONTH),
                        f"{name} names its month in a word that is not read (only English "
                        "month names are, as Jan or January): export the dates with the month "
                        "as a number (31.01.2024) or as 2024-01-31",
                    ),
                    (
                        text.notnull() & value.isnull() & shaped,
                        f"{name} is no such date (day or month out of range; set [{table}] "
                        "date_format if the column's order of day and month was misread)",
                    ),
                    (
                        value.isnull() & text.re_search(_ISO_WEEK_DATE),
                        f"{name} is an ISO week date (2024-W25-3), which no date_format reads: "
                        "export the dates as day, month and year (2024-06-19)",
                    ),
                    (
                        text.notnull() & value.isnull(),
                        f"{name} is not a date in a known format ({shown}); set date_format",
                    ),
                ]
            else:
                year = value.year()
                lo, hi = _CALENDAR_YEARS
                checks.append(
                    (
                        value.notnull() & (year.isnull() | (year < lo) | (year > hi)),
                        f"{name} is infinity or -infinity (an open end, as PostgreSQL stores "
                        f"one) or outside the years {lo}–{hi}, not a date",
                    )
                )
            checks.append((value < ibis.date(vs.min_year, 1, 1), f"{name} is before {vs.min_year}"))
            return checks
        return []


def _digits(clean: ir.StringValue, decimal: str, thousands: str) -> ir.StringValue:
    """The number text with grouping characters dropped and a "." decimal point."""
    digits = clean
    if thousands:
        digits = digits.re_replace(f"[{re.escape(thousands)}]", "")
    if decimal == ",":
        digits = digits.replace(",", ".")
    return digits


_IBIS_TYPES = {
    "id": idt.string,
    "text": idt.string,
    "date": idt.date,
    "number": idt.float64,
    "int": idt.int64,
    "bool": idt.boolean,
}


# -- plausible ranges, per table ---------------------------------------------------------------

#: a range rule: (the row is bad, the canonical column it is about, the reason, whether the
#: rule judges that column's value alone). A value so judged, of an optional column of a
#: table that empties what it cannot use (``TableSpec.empties_unreadable``), is emptied and
#: its row kept; any other rule rejects the row
Rule = tuple[ir.BooleanValue, str, str, bool]


def _outside(v: ir.Value, lo: float, hi: float) -> ir.BooleanValue:
    return v.notnull() & ((v < lo) | (v > hi))


#: the reason a market's growth_rate above 1 is emptied: a percentage written without its
#: sign (3.5 for 3.5%) would otherwise be read as 350% a year
GROWTH_ABOVE_ONE = (
    "growth_rate is above 1 (100% a year): it is a fraction, write 0.035 or 3.5% for 3.5%"
)
#: the reason a market's growth_rate of -1 or below is emptied: -5 for -5% would be read as
#: a market shrinking by 500% a year
GROWTH_MINUS_ONE_OR_BELOW = (
    "growth_rate is -1 or below (-100% a year): it is a fraction, write -0.035 or -3.5% for -3.5%"
)


#: the reason a transaction line's discount_percent outside 0 to 100 is rejected
DISCOUNT_PERCENT_OUTSIDE = (
    "discount_percent is outside 0 to 100: it is a percent of the line's list amount, "
    "write 10 or 10% for 10%"
)
#: the reason of one written as a fraction ([transactions] discount_percent_scale) outside
#: 0 to 1
DISCOUNT_FRACTION_OUTSIDE = (
    "discount_percent is outside 0 to 1: it is a fraction of the line's list amount "
    '([transactions] discount_percent_scale = "fraction"), write 0.1 or 10% for 10%'
)


def _range_rules(
    table: str,
    p: dict[str, ir.Value],
    vs: ValidateSettings,
    today: dt.date,
    *,
    fraction: bool = False,
) -> list[Rule]:
    """The rows a table's values make implausible, each with its reason and whether it
    judges one value alone (:data:`Rule`). ``fraction``: a transaction's discount_percent
    is written as a fraction (``[transactions] discount_percent_scale``), read as the
    percent it is, and named so in its reason."""
    rules: list[Rule] = []
    limit = today + dt.timedelta(days=vs.future_tolerance_days)
    if table in ("customers", "prospects"):
        rules += [
            (_outside(p["lat"], *_LAT_RANGE), "lat", "lat is outside -90 to 90 degrees", True),
            (_outside(p["lon"], *_LON_RANGE), "lon", "lon is outside -180 to 180 degrees", True),
            (p["employees"] < 0, "employees", "employees is negative", True),
            (p["annual_revenue"] < 0, "annual_revenue", "annual_revenue is negative", True),
            (
                p["payment_terms_days"] < 0,
                "payment_terms_days",
                "payment_terms_days is negative",
                True,
            ),
            (
                p["payment_terms_days"] > vs.max_payment_terms_days,
                "payment_terms_days",
                f"payment_terms_days is above {vs.max_payment_terms_days:g} "
                "([validate] max_payment_terms_days)",
                True,
            ),
        ]
    elif table == "activities":
        rules += [
            (p["duration_minutes"] < 0, "duration_minutes", "duration_minutes is negative", True),
            (
                p["duration_minutes"] > vs.max_activity_minutes,
                "duration_minutes",
                f"duration_minutes is above {vs.max_activity_minutes:g} "
                "([validate] max_activity_minutes)",
                True,
            ),
            (p["cost"] < 0, "cost", "cost is negative", True),
        ]
    elif table == "payments":
        earliest = p["due_date"] - ibis.interval(days=vs.max_paid_before_due_days)
        rules += [
            (
                p["paid_date"] > limit,
                "paid_date",
                f"paid_date is in the future (after {limit.isoformat()}, today + "
                f"{vs.future_tolerance_days} days tolerance)",
                True,
            ),
            # paid_date judged against due_date: the two belong together
            (
                p["paid_date"] < earliest,
                "paid_date",
                f"paid_date is more than {vs.max_paid_before_due_days} days before due_date "
                "([validate] max_paid_before_due_days)",
                False,
            ),
        ]
    elif table == "reps":
        rules += [
            (
                p["hours_per_year"] <= 0,
                "hours_per_year",
                "hours_per_year is zero or negative",
                True,
            ),
            (
                p["hours_per_year"] > vs.max_rep_hours_per_year,
                "hours_per_year",
                f"hours_per_year is above {vs.max_rep_hours_per_year:g} "
                "([validate] max_rep_hours_per_year)",
                True,
            ),
            (
                _outside(p["home_lat"], *_LAT_RANGE),
                "home_lat",
                "home_lat is outside -90 to 90",
                True,
            ),
            (
                _outside(p["home_lon"], *_LON_RANGE),
                "home_lon",
                "home_lon is outside -180 to 180",
                True,
            ),
        ]
    elif table == "market":
        rules += [
            (
                p["industry"].isnull() & p["region"].isnull(),
                "industry",
                "the market row has no industry and no region (its key)",
                False,
            ),
            (p["market_size"] < 0, "market_size", "market_size is negative", True),
            (p["growth_rate"] <= -1, "growth_rate", GROWTH_MINUS_ONE_OR_BELOW, True),
            # most often the whole column is percentages written without their sign: said
            # in a warning of its own (_warn_growth_as_percentages)
            (p["growth_rate"] > 1, "growth_rate", GROWTH_ABOVE_ONE, True),
        ]
    elif table == "transactions":
        rules.append(
            (
                p["date"] > limit,
                "date",
                f"date in the future (after {limit.isoformat()}, today + "
                f"{vs.future_tolerance_days} days tolerance)",
                True,
            )
        )
        rules.append(
            (
                _outside(p["discount_percent"], 0, 100),
                "discount_percent",
                DISCOUNT_FRACTION_OUTSIDE if fraction else DISCOUNT_PERCENT_OUTSIDE,
                True,
            )
        )
    return rules


def canonicalize(
    raw: ir.Table,
    table: str,
    settings: Settings,
    engine: Engine,
    *,
    file: str,
    source_columns: list[str] | None = None,
    delimiter: str | None = None,
    warnings: list[str] | None = None,
    today: dt.date | None = None,
    as_of: dt.date | None = None,
    sheets: Mapping[str, list[str]] | None = None,
    sheet: str | None = None,
    currencies: list[CurrencySeen] | None = None,
    serial_origin: dt.date = EXCEL_ORIGIN,
) -> ir.Table:
    """Map and parse a raw table into the canonical columns of ``table``.

    The result has every canonical column (missing optional ones are NULL), ``_row``, and the
    rejection columns (``_reason`` is NULL on rows that can be used). Required columns
    missing from the file raise :class:`~tierwise.errors.InputError`.

    Parameters
    ----------
    raw
        The table as read (``io.read_input``), with ``_row``.
    table
        Canonical table name.
    settings
        The run's settings (the table's input section and ``[validate]``).
    engine
        The engine the raw table lives in (a column's number format is decided with one
        query over the text columns).
    file
        The file as shown in messages.
    source_columns, delimiter
        The file's columns in order, and its CSV delimiter (the decimal separator's default).
    serial_origin
        The day a spreadsheet's serial day numbers count from: 1899-12-30, or 1904-01-01
        in a workbook of Excel's 1904 date system (``RawInput.serial_origin``).
    warnings
        A list that receives what validation had to assume (each naming its setting).
    today
        The date future dates are checked against (default: the machine's date).
    as_of
        The analysis date: transactions after it are rejected.
    sheets, sheet
        A workbook's sheets with their column names, and the sheet read (for the hint of a
        missing column).
    currencies
        A list that receives the currencies the number columns' values name by a sign or a
        code (as the format scan counts them), and those of the transactions' currency
        column without ``[transactions] exchange_rates`` (:func:`run_currency`).

    Examples
    --------
    >>> import pyarrow as pa
    >>> from tierwise.engine import Engine, ROW
    >>> from tierwise.settings import Settings
    >>> eng = Engine()
    >>> raw = eng.from_arrow(pa.table({"customer_id": ["A", "B"], "date": ["2024-01-31"] * 2,
    ...                                "revenue": ["7.125", "12.5"], ROW: [2, 3]}))
    >>> t = canonicalize(raw, "transactions", Settings(), eng, file="tx.csv", delimiter=";")
    >>> eng.to_arrow(t.order_by(ROW)).column("revenue").to_pylist()
    [7.125, 12.5]
    """
    spec = TABLES[table]
    ti = settings.table_input(table)
    vs = settings.validate_
    today = today or dt.date.today()
    cols = source_columns if source_columns is not None else [c for c in raw.columns if c != ROW]
    mapping = match_columns(
        cols, spec, ti, file=file, sheets=sheets, sheet=sheet, warnings=warnings
    )
    if ti.fill_from_order:
        raw = _fill_from_order(raw, ti.fill_from_order, cols, mapping, table, file)
    headings = _fill_down(raw, ti.fill_down, cols, table, file) if ti.fill_down else None
    if headings is not None:
        raw = headings[0]
    extra = _extra_column_sources(spec, ti, settings, file=file, source=cols, mapping=mapping)
    filters = _row_filter_columns(ti, table, file=file, source=cols)
    _refuse_nested(raw, mapping, [src for _, src in extra], table, file)
    _warn_shared_number_columns(spec, mapping, table, file, warnings)
    if (
        table == "transactions"
        and mapping["revenue"]
        and mapping["debit_amount"]
        and mapping["credit_amount"]
        and warnings is not None
    ):
        warnings.append(
            f"{file}: revenue is read from {mapping['revenue']!r}; debit_amount "
            f"({mapping['debit_amount']!r}) and credit_amount ({mapping['credit_amount']!r}) "
            "are mapped too but not used: revenue comes from them only where it is not "
            "mapped (remove revenue from [transactions.columns] to read it from them)"
        )
    if (
        table == "transactions"
        and mapping["unit_cost"]
        and not mapping["cost"]
        and not mapping["quantity"]
        and warnings is not None
    ):
        warnings.append(
            f"{file}: unit_cost is mapped ({mapping['unit_cost']!r}) but quantity is not, so "
            "the lines' cost (unit_cost × quantity) is not known; map quantity in "
            "[transactions.columns]"
        )
    text_numbers = [
        src
        for col in spec.input_columns
        if col.kind in ("number", "int")
        and (src := mapping[col.name]) is not None
        and raw[src].type().is_string()
    ]
    text_extra = [src for _, src in extra if raw[src].type().is_string()]
    percent = [
        src
        for c in spec.input_columns
        if (c.fraction or c.percent) and (src := mapping[c.name]) is not None
    ]
    fractions = [
        src for c in spec.input_columns if c.fraction and (src := mapping[c.name]) is not None
    ]
    conventions: dict[str, _Convention] = {}
    if text_numbers or text_extra:
        conventions = _number_conventions(
            raw,
            text_numbers,
            text_extra,
            ti,
            delimiter,
            engine,
            table=table,
            file=file,
            warnings=warnings,
            percent=percent,
            fractions=fractions,
            markers=tuple(m for m in _markers(vs) if not m.isdigit()),
            currency_column=mapping.get("currency") is not None,
        )
        if currencies is not None:
            money = {mapping.get(m) for m in MONEY_COLUMNS.get(table, ())}
            currencies += [
                CurrencySeen(
                    table,
                    file,
                    c,
                    conventions[c].currencies,
                    total=conventions[c].values,
                    read=conventions[c].read,
                )
                for c in text_numbers
                if conventions[c].currencies or (not conventions[c].read and c in money)
            ]
    text_dates = [
        src
        for col in spec.input_columns
        if col.kind == "date"
        and (src := mapping[col.name]) is not None
        and raw[src].type().is_string()
    ]
    orders: dict[str, list[str]] = {}
    if text_dates and not ti.date_format:
        orders = _date_formats(
            raw, text_dates, vs, engine, table=table, file=file, warnings=warnings
        )
    plain = _Convention(".", "")
    markers = _markers(vs)
    # in a number column, a marker that is a number (00000000, a zero date) stays one
    numberless = tuple(m for m in markers if not m.isdigit())
    raw_names: dict[str, str] = {}
    plans: list[_Plan] = []
    # the table's own words for true and false win over the built-in ones
    said_true = tuple(dict.fromkeys(w.strip().lower() for w in ti.true_values))
    said_false = tuple(dict.fromkeys(w.strip().lower() for w in ti.false_values))
    true_words = (*said_true, *(w for w in _TRUE if w not in said_false and w not in said_true))
    false_words = (
        *said_false,
        *(w for w in _FALSE if w not in said_true and w not in said_false),
    )
    for col in spec.input_columns:
        src = mapping[col.name]
        if src is not None:
            rn = raw_names.setdefault(src, f"_raw__{len(raw_names)}")
            dtype = raw[src].type()
            # a discount percent written as a fraction of the line (0.1 for 10%) is read as
            # the percent it is, before its range is checked
            as_fraction = (
                table == "transactions"
                and col.name == "discount_percent"
                and ti.discount_percent_scale == "fraction"
            )
            # a date column of numbers is read as text (YYYYMMDD, a spreadsheet's serial day)
            is_text = dtype.is_string() or (col.kind == "date" and dtype.is_numeric())
            keyed = col.kind == "id" and (table != "transactions" or col.name == "customer_id")
            plans.append(
                _Plan(
                    col.name,
                    col.kind,
                    rn,
                    conventions.get(src, plain),
                    is_text,
                    keyed,
                    tuple(orders.get(src, ())),
                    percent=col.fraction or col.percent,
                    # a fraction's percent sign is hundredths ("10%" is 0.1), a percent's
                    # is dropped ("10%" is 10)
                    hundredths=col.fraction or as_fraction,
                    clock=col.minutes,
                    scale=100.0 if as_fraction else 1.0,
                    true_words=true_words,
                    false_words=false_words,
                    clean=is_text and col.kind == "text" and table in _CLEANED_TABLES,
                    serial_origin=serial_origin,
                    missing=(
                        # the open-ended date (31.12.9999) is none in a required date
                        # too: an invoice's is then "missing date", not a future date
                        markers
                        if col.kind == "date"
                        else numberless
                        if col.kind in ("number", "int")
                        else ()
                    ),
                )
            )
    for name, src in extra:
        rn = raw_names.setdefault(src, f"_raw__{len(raw_names)}")
        dtype = raw[src].type()
        conv = conventions.get(src)
        numeric = (dtype.is_numeric() or dtype.is_boolean()) or (
            dtype.is_string() and conv is not None and conv.is_number
        )
        kind = "extra_number" if numeric else "extra_text"
        plans.append(
            _Plan(
                name,
                kind,
                rn,
                conv or plain,
                dtype.is_string(),
                missing=numberless if kind == "extra_number" else (),
                clean=dtype.is_string() and kind == "extra_text" and table in _CLEANED_TABLES,
            )
        )
    for src, _, _ in filters:
        raw_names.setdefault(src, f"_raw__{len(raw_names)}")
    by_raw = {rn: src for src, rn in raw_names.items()}
    # the cells of optional columns so read (a required one so written rejects its row as
    # missing, which rejects.csv says)
    counted = {
        by_raw[p.raw]: (p.kind == "date", p.missing)
        for p in plans
        if p.missing
        and (
            raw[by_raw[p.raw]].type().is_string()
            or (p.kind == "date" and not p.text and OPEN_DATE_TEXT in p.missing)
        )
        and (p.kind == "extra_number" or not spec.column(p.name).required)
    }
    _count_markers(
        raw, [(c, d, m) for c, (d, m) in counted.items()], engine, file=file, warnings=warnings
    )
    cleaned = list(dict.fromkeys(by_raw[p.raw] for p in plans if p.clean))
    _count_controls(raw, cleaned, engine, file=file, warnings=warnings)
    ids = [by_raw[p.raw] for p in plans if p.kind == "id" and p.text]
    _count_text_apostrophes(raw, list(dict.fromkeys(ids)), engine, file=file, warnings=warnings)

    # level 1: the raw values, and each column's trimmed text (or typed value)
    level1: dict[str, ir.Value] = {ROW: raw[ROW]}
    level1.update({rn: raw[src] for src, rn in raw_names.items()})
    if headings is not None:
        level1[_HEADING] = raw[_HEADING]
    for plan in plans:
        level1.update(plan.level1(raw[by_raw[plan.raw]], engine.backend))
    t1 = raw.select(**level1).view()
    # a text number column's text, cleaned in steps of their own
    numbers = [p for p in plans if p.text and p.kind in ("number", "int", "extra_number")]
    if numbers:
        t1 = t1.mutate(**{k: v for p in numbers for k, v in p.number_text(t1).items()}).view()
        t1 = _clean_numbers(
            t1,
            [_hidden("c", p.name) for p in numbers],
            # a credit or debit mark is looked for in the columns whose values showed one
            marked=[_hidden("c", p.name) for p in numbers if p.conv.marked],
        )
    # level 2: parsed values and what the text looks like
    level2: dict[str, ir.Value] = {}
    for plan in plans:
        level2.update(plan.level2(t1, ti, vs, engine))
    t2 = t1.mutate(**level2).view()
    # a value of an optional column that cannot be read or is out of its plausible range
    # (a range rule judging it alone), in a table that keeps such rows
    # (TableSpec.empties_unreadable), is emptied: the number of the check it fails first,
    # found in a step of its own, empties it and names the reason (emptied_values)
    ranges: dict[str, list[Check]] = {}
    # a transaction's discount_percent written as a fraction, named so where it is out of
    # range (the plan reads it as the percent it is)
    fraction = table == "transactions" and ti.discount_percent_scale == "fraction"
    # a transaction's discount_percent that no amount is derived from (the file gives a
    # discount_amount, or the revenue is given) is emptied too, the line kept
    spare = (
        {"discount_percent"}
        if table == "transactions"
        and mapping.get("discount_percent")
        and (mapping["discount_amount"] or mapping["revenue"])
        else set()
    )
    if spec.empties_unreadable or spare:
        read = {plan.name: plan.value(t2) for plan in plans}
        as_read = {
            c.name: read.get(c.name, ibis.null(_IBIS_TYPES[c.kind])) for c in spec.input_columns
        }
        for bad, about, why, alone in _range_rules(table, as_read, vs, today, fraction=fraction):
            if alone and about in read and (spec.empties_unreadable or about in spare):
                ranges.setdefault(about, []).append((bad, why))
    emptiable = {
        plan.name: checks
        for plan in plans
        if (spec.empties_unreadable or plan.name in spare)
        and plan.kind not in ("extra_number", "extra_text")
        and not spec.column(plan.name).required
        and (
            checks := [
                *plan.checks(t2, ti, vs, table=table, backend=engine.backend),
                *ranges.get(plan.name, []),
            ]
        )
    }
    if emptiable:
        t2 = t2.mutate(
            **{
                _hidden("e", name): ibis.cases(
                    *[(bad, i) for i, (bad, _) in enumerate(checks)], else_=ibis.null("int16")
                ).cast("int16")
                for name, checks in emptiable.items()
            }
        ).view()
    # a row of a text file (CSV, Excel) is looked at for column names when every column read
    # is text: each cell as read for names (case aside) is a column of its own, the key's for
    # every row, the others' only where the key cell is empty or a name
    texts = [(src, rn) for src, rn in raw_names.items() if raw[src].type().is_string()]
    names_read = len(texts) >= 2 and len(texts) == len(raw_names)
    if names_read:
        t2 = _fold_names(t2, texts, cols)
    # level 3: the checks, in column order (the first failing one names the reason), and
    # the final values
    final: dict[str, ir.Value] = {}
    # the rows the user leaves out come first: their reason is the setting, whatever else
    # their values hold
    rules: list[tuple[ir.BooleanValue, str, Any]] = []
    if headings is not None:
        rules.append(
            (
                t2[_HEADING],
                headings[1],
                f"a group heading: its {headings[1]} is carried down to the rows below "
                f"([{table}] fill_down)",
            )
        )
    rules += [
        _row_filter_rule(t2[raw_names[src]], src, setting, values, table)
        for src, setting, values in filters
    ]
    # a row of a text file (CSV, Excel) holding the column names again (an export that
    # repeats its header at each page break) says so, rather than failing the first check
    # of its values
    if names_read:
        # the header of a second export appended to the first (`cat a.csv b.csv`) keeps
        # its byte-order mark, at the start of the line
        # (a name the header holds twice is read as "Amount (column 3)": the row holds it as
        # written)
        same = ibis.and_(*(_trim(t2[rn]).isin(_names_as_written(src)) for src, rn in texts))
        rules.append(
            (same, texts[0][0], "the column names again (a header repeated inside the file)")
        )
        # a row holding column names other than the header's, or the header's in another
        # case: the header of a second table, or of an export with other columns appended
        # to the first, whose rows would be read under this header's names
        # (validate_inputs stops the run); the header again as written meets the rule
        # above first
        folded = [(src, t2[_hidden("n", rn)]) for src, rn in texts]
        other = _second_header(folded, cols, t2[_hidden("n", "")])
        rules.append((other, texts[0][0], OTHER_NAMES))
    for plan in plans:
        final[plan.name] = plan.value(t2)
        if (
            plan.name == "customer_id"
            and vs.id_leading_zeros == "ignore"
            and table != MASTER_IDS_TABLE
        ):
            # the master's ids keep their zeros: validate_inputs gives each id that matches
            # one without them the master's form (_in_master_form)
            final[plan.name] = _without_leading_zeros(final[plan.name])
        src = by_raw[plan.raw]
        if plan.name in emptiable:
            value = final[plan.name]
            final[plan.name] = ibis.ifelse(
                t2[_hidden("e", plan.name)].isnull(), value, ibis.null(value.type())
            )
            continue
        rules += [
            (bad, src, why)
            for bad, why in plan.checks(t2, ti, vs, table=table, backend=engine.backend)
        ]
        if plan.kind not in ("extra_number", "extra_text") and spec.column(plan.name).required:
            rules.append((final[plan.name].isnull(), src, f"missing {plan.name}"))
    for spec_col in spec.input_columns:
        if spec_col.name not in final:
            final[spec_col.name] = ibis.null(_IBIS_TYPES[spec_col.kind])
    if table == "transactions":
        _derive_transaction_columns(
            final, mapping, rules, ti, file=file, warnings=warnings, t=t2, engine=engine
        )
        if mapping["currency"]:
            _convert_currencies(final, mapping["currency"], ti.exchange_rates, rules)
            if not ti.exchange_rates and (warnings is not None or currencies is not None):
                codes, lines = _warn_currencies(
                    t2, final["currency"], engine, file=file, warnings=warnings
                )
                if currencies is not None and codes:
                    named = tuple((_code_currency(code), n) for code, n in codes)
                    currencies.append(
                        CurrencySeen(
                            table, file, mapping["currency"], named, codes=codes, total=lines
                        )
                    )
    for cond, about, why, alone in _range_rules(table, final, vs, today, fraction=fraction):
        if not (alone and about in emptiable):
            rules.append((cond, mapping.get(about) or about, why))
    if table in ("transactions", "activities") and as_of is not None:
        # a line or contact after the analysis date is no part of the analysis: rejected,
        # so that the rows said used are the rows used
        rules.append(
            (
                final["date"] > as_of,
                mapping["date"] or "date",
                f"after the analysis date {as_of.isoformat()} (--as-of)",
            )
        )
    keep: dict[str, ir.Value] = {
        c.name: _fold(final[c.name]) if c.fold else final[c.name].cast(_IBIS_TYPES[c.kind])
        for c in spec.columns
    }
    for plan in plans:
        if plan.kind in ("extra_number", "extra_text"):
            keep[plan.name] = (
                final[plan.name].cast("float64")
                if plan.kind == "extra_number"
                else final[plan.name]
            )
    # the first failing rule's number is found once; its reason, column and value are
    # then picked by that number (the conditions are not evaluated again for each). A
    # condition that is NULL (a check of a missing value) is not met, as in SQL's CASE: no
    # rule needs a fill_null, which would cost a test per rule and row
    rule = ibis.cases(*[(c, i) for i, (c, _, _) in enumerate(rules)], else_=ibis.null("int32"))
    shown = {src: raw_names[src] for _, src, _ in rules if src in raw_names}
    marks = [_hidden("e", name) for name in emptiable]
    src_of = {p.name: by_raw[p.raw] for p in plans if p.name in emptiable}
    t3 = t2.select(
        **keep,
        **{ROW: t2[ROW], "_rule": rule},
        **{rn: t2[rn] for rn in set(shown.values())},
        **{m: t2[m] for m in marks},
    ).view()
    by_rule = [t3._rule == i for i in range(len(rules))]
    reason = ibis.cases(
        *[(hit, r) for hit, (_, _, r) in zip(by_rule, rules, strict=True)], else_=ibis.null(str)
    )
    rcol = ibis.cases(
        *[(hit, src) for hit, (_, src, _) in zip(by_rule, rules, strict=True)],
        else_=ibis.null(str),
    )
    # the value shown is the source column's, whichever of its rules failed: one branch per
    # column, not per rule
    by_source: dict[str, list[int]] = {}
    for i, (_, src, _) in enumerate(rules):
        if src in shown:
            by_source.setdefault(src, []).append(i)

    def hit(src: str) -> ir.BooleanValue:
        numbers = by_source[src]
        return t3._rule.isin(numbers) if len(numbers) > 1 else t3._rule == numbers[0]

    def pick(sources: list[str]) -> ir.StringValue:
        if not sources:
            return ibis.null(str)
        return ibis.cases(
            *[(hit(src), t3[shown[src]].cast(str)) for src in sources], else_=ibis.null(str)
        )

    # a float is shown as Python writes it, from the engine's text of it: the text of every
    # float column is picked into one column first, so that the long expression that
    # rewrites it is in the query once, not once per column
    floats = [src for src in by_source if t3[shown[src]].type().is_floating()]
    others = [src for src in by_source if src not in floats]
    # a row that passed every check (nearly all) costs one test, not one per rule
    passed = t3._rule.isnull()
    reason, rcol, text, float_text = (
        ibis.ifelse(passed, ibis.null(str), x) for x in (reason, rcol, pick(others), pick(floats))
    )
    t4 = t3.select(
        **{k: t3[k] for k in keep},
        **{ROW: t3[ROW], REASON: reason, RCOL: rcol, "_shown": text, "_shown_float": float_text},
        **{m: t3[m] for m in marks},
    ).view()
    if floats:
        t4 = _float_text(t4, "_shown_float", "_shown_float_text")
        value = t4["_shown"].coalesce(t4["_shown_float_text"])
    else:
        value = t4["_shown"]
    t = t4.select(
        **{k: t4[k] for k in keep},
        **{ROW: t4[ROW], REASON: t4[REASON], RCOL: t4[RCOL], RVAL: value.substr(0, _VALUE_CHARS)},
        **{
            _EMPTIED + name: _emptied_mark(t4[_hidden("e", name)], src_of[name], checks)
            for name, checks in emptiable.items()
        },
    )
    if table == "market":
        t = _reject_repeated_market_keys(t.view(), mapping)
    return t.view()


def _derive_transaction_columns(
    parsed: dict[str, ir.Value],
    mapping: dict[str, str | None],
    rules: list[tuple[ir.BooleanValue, str, Any]],
    ti: TableInput,
    *,
    file: str,
    t: ir.Table,
    engine: Engine,
    warnings: list[str] | None = None,
) -> None:
    """revenue from unit_price × quantity, list_revenue from the revenue and the line's
    discount, cost from unit_cost × quantity, where the file gives the one and not the
    other.

    The discount is discount_amount (currency units), else discount_percent (percent of
    the list amount: discount_amount = list amount × percent / 100). Where revenue is
    unit_price × quantity and a discount is mapped, the unit price is the price before the
    discount unless ``[transactions] unit_price_after_discount``: list_revenue is unit_price
    × quantity and revenue that less the discount (said in a warning when some discount is
    not 0); otherwise revenue is unit_price × quantity and list_revenue the revenue plus
    the discount. A discount widens the line in its own direction: on a credit line it is
    negative.

    A discount_amount larger than its line's unit_price × quantity (an order's discount
    written on its first line, as Shopify's Discount Amount is) counts up to the line's
    amount; where order_id is mapped, the rest is taken off the order's other lines, in
    proportion to what is left of each after its own discount, and only what exceeds the
    whole order is left uncounted. ``t`` (the table the values are of) and ``engine``
    count, for the ``warnings``, the discounts left uncounted or spread.
    """
    debit, credit = mapping["debit_amount"], mapping["credit_amount"]
    by_ledger = mapping["revenue"] is None and bool(debit and credit)
    by_price = (
        mapping["revenue"] is None
        and not by_ledger
        and bool(mapping["unit_price"] and mapping["quantity"])
    )
    amount, percent = mapping["discount_amount"], mapping["discount_percent"]
    discount = amount or percent
    if by_ledger:
        _revenue_from_ledger(parsed, mapping, rules, ti, file=file, warnings=warnings)
    if by_price:
        price, qty = parsed["unit_price"], parsed["quantity"]
        gross = (price * qty).cast("float64")
        parsed["revenue"] = gross
        for name in ("unit_price", "quantity"):
            rules.append(
                (
                    parsed[name].isnull(),
                    mapping[name] or name,
                    f"missing {name} (revenue is unit_price × quantity)",
                )
            )
    if mapping["cost"] is None and mapping["unit_cost"] and mapping["quantity"]:
        # a line without its unit cost has no cost, as a line without a cost column value
        parsed["cost"] = (parsed["unit_cost"] * parsed["quantity"]).cast("float64")
    if not discount:
        return
    # a discount percent written as a fraction (discount_percent_scale) is read as the
    # percent it is (canonicalize's plan of the column)
    # the values a warning counts (name → value of each line, metric → of the lines)
    cols: dict[str, ir.Value] = {}
    metrics: dict[str, Any] = {}
    if amount is None and ti.discount_percent_scale == "percent":
        # a column of fractions (0.05 for 5%) read as percents: _warn_discount_fractions
        cols["pct"] = parsed["discount_percent"]
        metrics |= {
            "n_pct_over_1": lambda v: _n(v.pct > 1),
            "n_pct_fraction": lambda v: _n((v.pct > 0) & (v.pct <= 1)),
            "pct_fraction": lambda v: v.pct.min(where=(v.pct > 0) & (v.pct <= 1)),
        }
    # a line without a discount value has none; a percent outside 0 to 100 is rejected by
    # the range rules, and reads as none here
    share = parsed["discount_percent"].fill_null(0.0) / 100
    share = ibis.ifelse((share < 0) | (share > 1), 0.0, share)
    if by_price and not ti.unit_price_after_discount:
        listed = parsed["revenue"]
        cols["given"] = parsed["discount_amount" if amount else "discount_percent"] != 0
        metrics["n_given"] = lambda v: _n(v.given)
        if amount:
            # up to the line's amount: a line's revenue does not cross zero
            whole = parsed["discount_amount"].fill_null(0.0).abs()
            size = listed.abs()
            kept = ibis.least(whole, size)
            excess = ibis.greatest(whole - size, 0.0)
            spread: ir.FloatingValue = ibis.literal(0.0)
            if mapping["order_id"]:
                # the excess of the order's lines, taken off what is left of its lines in
                # proportion, up to all of it
                order = parsed["order_id"]
                left = size - kept
                within = ibis.window(group_by=order)
                over, room = excess.sum().over(within), left.sum().over(within)
                spread = ibis.ifelse(
                    order.notnull() & (room > 0),
                    left * ibis.least(over, room) / room,
                    0.0,
                ).fill_null(0.0)
                # what exceeds the whole order, counted on the order's first line
                first = t[ROW] == t[ROW].min().over(within)
                lost = ibis.ifelse(
                    order.isnull(),
                    excess,
                    ibis.ifelse(first, ibis.greatest(over - room, 0.0), 0.0),
                )
            else:
                lost = excess
            off = kept + spread
            off = ibis.ifelse(listed < 0, -off, off)
            cols |= {"excess": excess.fill_null(0.0), "lost": lost.fill_null(0.0)}
            metrics |= {
                "n_excess": lambda v: _n(v.excess > 0),
                "excess": lambda v: v.excess.sum(),
                "excess_row": lambda v: v[ROW].min(where=v.excess > 0),
                "n_lost": lambda v: _n(v.lost > 0),
                "lost": lambda v: v.lost.sum(),
            }
        else:
            off = listed * share
        parsed["discount_amount"] = off.cast("float64")
        parsed["revenue"] = (listed - off).cast("float64")
        if mapping["list_revenue"] is None:
            parsed["list_revenue"] = listed
    elif mapping["list_revenue"] is None:
        rev = parsed["revenue"]
        if amount:
            disc = parsed["discount_amount"].fill_null(0.0).abs()
            # the discount widens the line in its own direction: on a credit line negative
            parsed["list_revenue"] = (rev + ibis.ifelse(rev < 0, -disc, disc)).cast("float64")
        else:
            # a line of 100% off has no list amount its revenue tells (a revenue beside
            # it is counted in a warning)
            listed = ibis.ifelse(share < 1, rev / (1 - share), ibis.null("float64"))
            parsed["list_revenue"] = listed.cast("float64")
            parsed["discount_amount"] = (listed - rev).cast("float64")
            cols["whole_off"] = (share >= 1) & (rev != 0)
            metrics |= {
                "n_whole_off": lambda v: _n(v.whole_off),
                "whole_off_row": lambda v: v[ROW].min(where=v.whole_off),
            }
    if warnings is None or not metrics:
        return
    seen = t.select(ROW, **cols)
    got = engine.to_arrow(
        seen.aggregate(**{name: metric(seen) for name, metric in metrics.items()}),
        f"the discounts of {file}",
    ).to_pylist()[0]
    if got.get("n_given"):
        warnings.append(
            f"{file}: revenue is unit_price × quantity less the discount "
            f"({mapping['unit_price']!r} × {mapping['quantity']!r} less {discount!r}), the "
            "unit price read as the price before the discount; if the file's unit price is "
            "already net of the discount, set [transactions] unit_price_after_discount = true"
        )
    if got.get("n_excess"):
        _warn_excess_discounts(got, file, discount, mapping["order_id"], warnings)
    if got.get("n_pct_fraction") and not got["n_pct_over_1"]:
        warnings.append(
            f"{file}: every discount percent ({discount!r}) is 1 or less, "
            f"{count_text(int(got['n_pct_fraction']), 'line')} above 0 (first: "
            f"{got['pct_fraction']:g}): read as percents ({got['pct_fraction']:g} as "
            f"{got['pct_fraction']:g}%); if they are fractions of the line (0.05 for 5%), "
            'set [transactions] discount_percent_scale = "fraction"'
        )
    if got.get("n_whole_off"):
        n = int(got["n_whole_off"])
        warnings.append(
            f"{file}: {count_text(n, 'line')} {'has' if n == 1 else 'have'} a discount of "
            f"100% ({discount!r}) and a revenue that is not 0 (first: row "
            f"{got['whole_off_row']}): {'its' if n == 1 else 'their'} list_revenue is empty, "
            "as no list amount is 100% off a revenue"
        )


def _revenue_from_ledger(
    parsed: dict[str, ir.Value],
    mapping: dict[str, str | None],
    rules: list[tuple[ir.BooleanValue, str, Any]],
    ti: TableInput,
    *,
    file: str,
    warnings: list[str] | None = None,
) -> None:
    """revenue from a general ledger's debit and credit columns: the sale's side less the
    other (``[transactions] ledger_sale_side``), an empty side read as 0, as a ledger leaves
    the side a line does not book empty; a line with both sides empty is rejected. A
    negative revenue (a credit note, on either side) is a return, as any negative line is.
    Where the side is the default, the ``warnings`` say so and name the setting; where
    neither ``keep_rows`` nor ``exclude_rows`` is set, they say that every line of the
    ledger is counted."""
    debit, credit = mapping["debit_amount"], mapping["credit_amount"]
    assert debit is not None and credit is not None
    d, c = parsed["debit_amount"], parsed["credit_amount"]
    sale_debit = ti.ledger_sale_side == "debit"
    how = "debit_amount − credit_amount" if sale_debit else "credit_amount − debit_amount"
    rules.append(
        (
            d.isnull() & c.isnull(),
            debit,
            f"missing debit_amount and credit_amount (revenue is {how})",
        )
    )
    d, c = d.fill_null(0.0), c.fill_null(0.0)
    parsed["revenue"] = ((d - c) if sale_debit else (c - d)).cast("float64")
    if warnings is not None and "ledger_sale_side" not in ti.model_fields_set:
        warnings.append(
            f"{file}: revenue is {debit!r} − {credit!r}: a sale read as a debit and a credit "
            "note as a credit, as lines on customers' accounts book them (an FEC's 411 lines, "
            "Accounts Receivable); where the lines are on revenue accounts, whose sales are "
            'credits, set [transactions] ledger_sale_side = "credit" (ledger_sale_side = '
            '"debit" keeps this reading without this warning)'
        )
    if warnings is not None and not ti.keep_rows and not ti.exclude_rows:
        warnings.append(
            f"{file}: revenue is read from {debit!r} and {credit!r} on every line of the "
            "ledger, payments received, bank and supplier lines included, each a sale or a "
            "return of its account's customer; keep only the sales journal's lines on "
            "customers' (or revenue) accounts with [transactions] keep_rows (e.g. keep_rows "
            '= { JournalCode = ["VE"] })'
        )


def _without_leading_zeros(value: ir.StringValue) -> ir.StringValue:
    """An id of digits only without its leading zeros (zeros only: "0"); other ids as they
    are. Only ids starting with a zero pay for the test."""
    digits = value.startswith("0") & value.re_search("^[0-9]+$")
    return ibis.ifelse(digits, value.re_replace("^0+", "").nullif("").fill_null("0"), value)


def _placeholder_id(
    value: ir.StringValue, vs: ValidateSettings, backend: str = "duckdb"
) -> ir.BooleanValue:
    """Whether a customer id stands for no customer (``[validate] placeholder_ids``, or
    zeros only); only ids that may be one pay for the case-folded comparison.

    On DuckDB those are the ids as long as some placeholder (its lower case maps each
    character to one, so an id and its lower case are as long) and those starting with a
    zero: a test of the length, where ids such as "C0077630" all start with a character
    some placeholder starts with. Spark's lower case may lengthen a text, so there the ids
    starting with a character some placeholder starts with pay for it."""
    words = sorted({w.strip().lower() for w in vs.placeholder_ids if w.strip()})
    exact = value.lower().isin(words) | value.re_search("^0+$")
    if backend == "duckdb":
        lengths = sorted({len(w) for w in words})
        maybe = value.startswith("0") | value.length().isin(lengths)
        return ibis.ifelse(maybe, exact, False)
    firsts = sorted({w[0] for w in words} | {"0"})
    maybe = ibis.or_(*[value.lower().startswith(c) for c in firsts])
    return ibis.ifelse(maybe, exact, False)


#: the reason of a row whose customer id stands for no customer
_PLACEHOLDER_REASON = (
    "customer_id stands for no customer (a guest or walk-in sale: [validate] placeholder_ids)"
)


def _named_column(name: str, source: Sequence[str], setting: str, file: str) -> str:
    """The file's column a setting names: by its name as written, else ignoring case,
    spaces and punctuation.

    Raises
    ------
    SettingsError
        The file has no such column (the closest named).
    """
    if name in source:
        return name
    column = {column_key(c): c for c in source}.get(column_key(name))
    if column is None:
        raise SettingsError(
            f"{setting} names {name!r}, which is not a column of {file} "
            f"({_columns_hint(name, list(source))})"
        )
    return column


def _row_filter_columns(
    ti: TableInput, table: str, *, file: str, source: Sequence[str]
) -> list[tuple[str, str, tuple[str, ...]]]:
    """(column in the file, setting, values as the setting lists them) of ``[table]
    exclude_rows`` and ``keep_rows``.

    Raises
    ------
    SettingsError
        A column named that the file does not have.
    """
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for setting, given in (("exclude_rows", ti.exclude_rows), ("keep_rows", ti.keep_rows)):
        for name, values in given.items():
            column = _named_column(name, source, f"[{table}] {setting}", file)
            out.append((column, setting, tuple(dict.fromkeys(v.strip() for v in values))))
    return out


def _row_filter_rule(
    value: ir.Value, column: str, setting: str, values: tuple[str, ...], table: str
) -> tuple[ir.BooleanValue, str, str]:
    """The rule rejecting the rows ``[table] exclude_rows`` leaves out (``value``, the cell
    as read, is one of ``values``, case and surrounding spaces ignored) or ``keep_rows``
    does not keep (it is none of them); an empty cell is the value "". The reason names
    the setting and its values; the rejected row's value shows the cell.

    Case is ignored as :func:`_case_key` reads it, the values as the cells: each value is
    lowered by the engine too (Python lowers "İ" and a word-final "Σ" as Spark does, not
    as DuckDB does)."""
    key = _case_key(ibis.coalesce(_trim(value.cast(str)), ""))
    listed = key.isin([_case_key(ibis.literal(v, "string")) for v in dict.fromkeys(values)])
    shown = ", ".join(repr(v) for v in values)
    if setting == "exclude_rows":
        return listed, column, f"left out by [{table}] exclude_rows ({column}: {shown})"
    return ~listed, column, f"not kept by [{table}] keep_rows ({column}: {shown})"


def _case_key(text: ir.StringValue) -> ir.StringValue:
    """Text as a cell is matched to a setting's values, case aside: lowered by the engine,
    then each of :data:`~tierwise.schema.CASE_FOLDS` replaced ("İSTANBUL" and "istanbul",
    "ΟΔΟΣ" and "οδος", "STRASSE" and "Straße" are one on DuckDB and Spark alike).
    ``tierwise.io.readers`` reads a sheet's cells so with Arrow."""
    key = text.lower()
    for written, read in CASE_FOLDS:
        key = key.replace(written, read)
    return key


def _fill_from_order(
    raw: ir.Table,
    names: Sequence[str],
    source: Sequence[str],
    mapping: dict[str, str | None],
    table: str,
    file: str,
) -> ir.Table:
    """``raw`` with each column of ``names`` (``[table] fill_from_order``) filled where empty
    from the other lines of its order: an export that writes an order's fields on its first
    line only (Shopify) gives every line its customer and date. An order whose lines hold
    different values (an order number used twice) fills nothing: its empty lines stay
    empty.

    Raises
    ------
    SettingsError
        The table is not the transactions, its order_id is not mapped, a name is not a
        column of the file, or a name is the debit_amount or credit_amount column.
    """
    order = mapping.get("order_id")
    if table != "transactions" or order is None:
        raise SettingsError(
            f"[{table}] fill_from_order needs the lines' order numbers: "
            + (
                f'map order_id in [{table}.columns] order_id = "…"'
                if table == "transactions"
                else f"only the transactions' columns are filled; remove it from [{table}]"
            )
        )
    filled: dict[str, ir.Value] = {}
    for name in names:
        column = _named_column(name, source, f"[{table}] fill_from_order", file)
        side = next(
            (c for c in ("debit_amount", "credit_amount") if mapping.get(c) == column), None
        )
        if side is not None:
            raise SettingsError(
                f"[{table}] fill_from_order: {column!r} is the {side} of a ledger line, "
                "which an order's other lines do not share (a side left empty reads as 0); "
                f"remove {column!r} from fill_from_order"
            )
        value = raw[column]
        if value.type().is_string():
            value = _trim(value).nullif("")
        # the order's value, where its lines that have one agree: an order number two
        # stores (or two customers) share leaves its empty lines empty, and rejected
        low = value.min().over(group_by=raw[order])
        high = value.max().over(group_by=raw[order])
        filled[column] = ibis.ifelse(
            value.isnull() & raw[order].notnull() & (low == high), high, raw[column]
        )
    return raw.mutate(**filled)


#: a hidden column of the raw table: the row is a group heading of ``[table] fill_down``
_HEADING = "_raw__heading"


def _fill_down(
    raw: ir.Table, names: Sequence[str], source: Sequence[str], table: str, file: str
) -> tuple[ir.Table, str]:
    """``raw`` with each column of ``names`` (``[table] fill_down``) filled where empty from
    the nearest row above that has a value (in the file's order, ``_row``), and the hidden
    column :data:`_HEADING` true on a group's heading row (a named column filled, every
    other column of the file empty); with the first named column, for the reason.

    Raises
    ------
    SettingsError
        A name is not a column of the file.
    """
    columns = list(
        dict.fromkeys(_named_column(n, source, f"[{table}] fill_down", file) for n in names)
    )

    def has(value: ir.Value) -> ir.BooleanValue:
        if value.type().is_string():
            return value.re_search(r"\S").fill_null(False)
        return value.notnull()

    others = [c for c in source if c not in columns]
    heading = ibis.or_(*(has(raw[c]) for c in columns))
    if others:
        heading &= ibis.and_(*(~has(raw[c]) for c in others))
    else:
        heading = ibis.literal(False)
    # each filled cell starts a group of the rows down to the next filled one; the group's
    # one value is its first row's
    groups = {
        f"_raw__group{i}": has(raw[c]).cast("int64").cumsum(order_by=raw[ROW])
        for i, c in enumerate(columns)
    }
    # each step a projection of its own (``.view()``): Spark's plan then reads the columns
    # of the step before instead of repeating their expressions in every later one
    t = raw.mutate(**groups, **{_HEADING: heading}).view()
    filled = {
        c: ibis.ifelse(has(t[c]), t[c], ibis.null(t[c].type()))
        .max()
        .over(group_by=t[f"_raw__group{i}"])
        for i, c in enumerate(columns)
    }
    return t.mutate(**filled).drop(*groups).view(), columns[0]


#: the amounts of a transaction line, in its currency
_AMOUNTS = ("revenue", "cost", "list_revenue")


def _convert_currencies(
    parsed: dict[str, ir.Value],
    source: str,
    rates: dict[str, float],
    rules: list[tuple[ir.BooleanValue, str, Any]],
) -> None:
    """A line's amounts in the run's currency: times its currency's rate (``[transactions]
    exchange_rates``); a line without a currency, or one without a rate, is rejected."""
    code = parsed["currency"].upper()
    parsed["currency"] = code
    if not rates:
        return
    rate = ibis.cases(*[(code == k, v) for k, v in rates.items()], else_=ibis.null("float64"))
    listed = ", ".join(rates)
    rules.append(
        (
            code.isnull(),
            source,
            f"missing currency (exchange_rates lists {listed}; a currency written on an "
            "order's first line only is filled from it by [transactions] fill_from_order)",
        )
    )
    rules.append(
        (
            rate.isnull(),
            source,
            f"no exchange rate for this currency: add it to [transactions] exchange_rates "
            f"(which lists {listed})",
        )
    )
    for name in _AMOUNTS:
        parsed[name] = (parsed[name] * rate).cast("float64")


def _warn_currencies(
    t: ir.Table, code: ir.StringValue, engine: Engine, *, file: str, warnings: list[str] | None
) -> tuple[tuple[tuple[str, int], ...], int]:
    """Say, in ``warnings``, that the lines hold several currencies added up as one; the
    codes the lines hold (the commonest, at most six), each with its count of lines, the
    commonest first, and how many lines those and the lines without a code are."""
    by = (
        t.select(code=code)
        .group_by("code")
        .aggregate(n=ibis._.count())
        .order_by([ibis.desc("n"), "code"])
    )
    got = engine.to_arrow(by.limit(6), f"the currencies of {file}").to_pylist()
    codes = [r for r in got if r["code"] is not None]
    found = tuple((str(r["code"]), int(r["n"])) for r in codes)
    lines = sum(int(r["n"]) for r in got)
    if len(codes) < 2 or warnings is None:
        return found, lines
    shown = ", ".join(f"{r['code']} {count_text(int(r['n']), 'line')}" for r in codes[:5])
    more = ", …" if len(codes) > 5 else ""
    warnings.append(
        f"{file}: the lines are in more than one currency ({shown}{more}); their amounts "
        "are added up as if one: set [transactions] exchange_rates (each currency's value in "
        "the one to report in) to convert them"
    )
    return found, lines


def _reject_repeated_market_keys(t: ir.Table, mapping: dict[str, str | None]) -> ir.Table:
    """A market row whose industry and region repeat an earlier row's is rejected."""
    w = ibis.window(group_by=[t.industry, t.region], order_by=t[ROW])
    t = t.mutate(_key_rank=ibis.row_number().over(w), _key_first=t[ROW].min().over(w))
    keyed = t.industry.notnull() | t.region.notnull()
    return reject_if(
        t,
        keyed & (t._key_rank > 0),
        mapping["industry"] or mapping["region"],
        "repeats the market row with the same industry and region (first at row "
        + t._key_first.cast(str)
        + ")",
        ibis.coalesce(t.industry, ibis.literal("")) + " / " + ibis.coalesce(t.region, ""),
    ).drop("_key_rank", "_key_first")


def _names_as_written(src: str) -> list[str]:
    """A column's name as a row repeating the header writes it: as read, without the
    " (column N)" that tells apart a name the header holds twice, and either with the
    byte-order mark a second export appended to the first keeps at its start.

    >>> _names_as_written("Amount (column 3)")
    ['Amount (column 3)', '\ufeffAmount (column 3)', 'Amount', '\ufeffAmount']
    """
    names = [src.strip(), re.sub(r" \(column \d+\)$", "", src.strip())]
    return [n for name in dict.fromkeys(names) for n in (name, "\ufeff" + name)]


def _name_keys(source: Sequence[str]) -> tuple[set[str], set[str]]:
    """The names of the file's columns (``source``) as a cell is read for them
    (:func:`_case_key`): without and with the byte-order mark that the header of an export
    appended to the first (`cat a.csv b.csv`) keeps at the start of the line, in the
    file's first column."""
    names = {
        case_key(n)
        for src in source
        for n in _names_as_written(src)
        if n.strip() and not n.startswith("\ufeff")
    }
    return names, names | {"\ufeff" + n for n in names}


def _folded(cell: ir.Value) -> ir.StringValue:
    """A cell's text as it is matched to column names: trimmed, case aside, "" if empty."""
    return _case_key(_trim(cell.cast(str))).fill_null("")


def _fold_names(t: ir.Table, cells: Sequence[tuple[str, str]], source: Sequence[str]) -> ir.Table:
    """``t`` with each cell of ``cells`` (the file's column, its column in ``t``; the key's
    first) as it is matched to column names (:func:`_folded`), in a column of its own
    (``_n__`` and its column in ``t``), for :func:`_second_header`: the key cell's for every
    row, and (``_n__``) whether the key cell is empty or a name. The other cells are folded
    only on the rows whose key cell is empty or a name (NULL on the others): a row of data
    pays for its key cell alone, and each cell is folded once, however many tests read it.
    """
    names, marked = _name_keys(source)
    first = source[0] if source else None
    (key_src, key), *others = cells
    t = t.mutate(**{_hidden("n", key): _folded(t[key])}).view()
    known = sorted((marked if key_src == first else names) | {""})
    t = t.mutate(**{_hidden("n", ""): t[_hidden("n", key)].isin(known)}).view()
    gate = t[_hidden("n", "")]
    return t.mutate(
        **{_hidden("n", rn): ibis.ifelse(gate, _folded(t[rn]), ibis.null(str)) for _, rn in others}
    ).view()


def _second_header(
    cells: Sequence[tuple[str, ir.Value]], source: Sequence[str], gate: ir.BooleanValue
) -> ir.BooleanValue:
    """Whether a row of a text file is the header of a second table below the first, or of
    an export with other columns appended to it, as ``tierwise.io.readers`` reads a sheet's
    row. Names are those of the file's columns (``source``), in any case (:func:`_case_key`);
    a row is such a header when

    - its key cell holds the key's name, and at least two and at least half of its cells
      hold their own column's name (the header again in another case, or as written,
      which the caller tells apart; or in part: "customer_id, date, amount" under
      "customer_id, date, revenue"); or
    - its key cell is empty or holds a column's name, every filled cell but one at most
      holds a column's name, at least two of them another column's than their own, and
      three where the key cell is empty: a second table that leaves out the first table's
      key or puts it in another column ("Date, Customer_ID, Amount" under "customer_id,
      date, revenue"). A name that several cells hold counts once, in the first of them.

    A row of data holds a value in its key cell; one without it whose cells happen to hold
    a name or two (a private customer with no company whose preferred contact is "Email"
    and lead source "Phone", a placeholder "city" in its own column), or the same name in
    several cells, is no header.

    ``cells``: (the file's column, its cell as :func:`_fold_names` reads it) of each column
    read, the key's first; ``gate``: whether the key cell is empty or a name
    (:func:`_fold_names`), the rows the tests are evaluated on.

    >>> import ibis
    >>> rows = ibis.memtable({"a": ["date", "C7", "CUSTOMER_ID", ""], "b": ["Customer_ID",
    ...     "date", "Date", "Email"], "c": ["Amount", "revenue", "Revenue", "Email"]})
    >>> source = ["customer_id", "date", "revenue"]
    >>> t = _fold_names(rows, list(zip(source, "abc", strict=True)), source)
    >>> cells = [(src, t[f"_n__{rn}"]) for src, rn in zip(source, "abc", strict=True)]
    >>> header = _second_header(cells, source, t["_n__"])
    >>> t.select(h=header).to_pyarrow().column("h").to_pylist()
    [True, False, True, False]
    """
    names, marked = _name_keys(source)
    first = source[0] if source else None
    key = cells[0][1]
    hits: ir.IntegerValue = ibis.literal(0)
    moved: ir.IntegerValue = ibis.literal(0)
    strays: ir.IntegerValue = ibis.literal(0)
    for i, (src, text) in enumerate(cells):
        named = text.isin(sorted(marked if src == first else names))
        own = text.isin(sorted({case_key(n) for n in _names_as_written(src)}))
        # a name an earlier cell holds is counted there
        new = ~ibis.or_(*(earlier == text for _, earlier in cells[:i])) if i else True
        hits += ibis.ifelse(own, 1, 0)
        moved += ibis.ifelse(named & ~own & new, 1, 0)
        strays += ibis.ifelse((text != "") & ~named, 1, 0)
    own_key = key.isin(sorted({case_key(n) for n in _names_as_written(cells[0][0])}))
    in_place = own_key & (hits >= 2) & (hits * 2 >= len(cells))
    elsewhere = (strays <= 1) & (moved >= ibis.ifelse(key == "", 3, 2))
    # a CASE evaluates its result only on the rows its condition holds for
    return ibis.cases((gate, in_place | elsewhere), else_=False)


#: the reason of a row holding column names other than the header's
OTHER_NAMES = "column names other than the header's (a second table starts here)"


def _refuse_other_names(
    rej: pa.Table, file: str, table: str, engine: Engine, raw: ir.Table, read: Sequence[str]
) -> None:
    """Stop the run at a row holding column names other than the header's: the rows below
    it belong to another table (or an export with other columns), and would be read under
    the header's names, a returns table's amount as revenue. The message names the row's
    first column whose value is not its own name (read from ``raw``, the file as read)."""
    other = rej.filter(pc.equal(rej.column("reason"), OTHER_NAMES))
    if not other.num_rows:
        return
    first = other.slice(0, 1).to_pylist()[0]
    column, value = first["column"], first["value"]
    names = [c for c in raw.columns if c in read and raw[c].type().is_string()]
    got = engine.to_arrow(
        raw.filter(raw[ROW] == first["row"]).select(names), f"row {first['row']} of {file}"
    ).to_pylist()
    for name, text in (got[0] if got else {}).items():
        if text and text.strip() and text.strip() not in _names_as_written(name):
            column, value = name, text
            break
    raise InputError(
        f"row {first['row']} holds column names other than the header's (the column "
        f"{column!r} holds {value!r} there): a second table, or an export "
        "with other columns appended to the first, starts there, whose rows would be read "
        "under the header's names",
        file=file,
        row=first["row"],
        column=column,
        hint=f"give each table a file of its own, or write the same column names in both "
        f"([{table}] reads one table)",
    )


def _refuse_nested(
    raw: ir.Table, mapping: Mapping[str, str | None], extra: list[str], table: str, file: str
) -> None:
    """Refuse a column read whose values are lists, records or maps (a Parquet file's
    nested types): a value of one cell of such a column is no number, date or id. Nested
    columns the run does not read are left aside."""
    read = {src: name for name, src in mapping.items() if src is not None}
    read.update({src: src for src in extra if src not in read})
    problems: list[TierwiseError] = []
    for src, name in read.items():
        dtype = raw[src].type()
        if dtype.is_nested():
            kind = "lists" if dtype.is_array() else "maps" if dtype.is_map() else "records"
            as_read = f" (read as {name})" if name != src else ""
            problems.append(
                InputError(
                    f"the column{as_read} holds {kind} ({dtype}), a nested type, where "
                    "each row needs one value",
                    file=file,
                    column=src,
                    hint=f"write the column as plain values, or map another column in "
                    f"[{table}.columns]",
                )
            )
    Problems.raise_if_any(problems)


def _extra_column_sources(
    spec: TableSpec,
    ti: TableInput,
    settings: Settings,
    *,
    file: str,
    source: list[str],
    mapping: Mapping[str, str | None],
) -> list[tuple[str, str]]:
    """(name kept, column in the file) of the user's own columns: those named in
    ``[table] extra_columns`` and, where the file has them, those other settings name.

    A column named as a canonical one is the user's own when ``mapping`` (canonical column →
    the file's column) reads that canonical column from another: a "Customer ID" beside the
    ``Kundennr`` mapped as customer_id is kept under its own name.

    Raises
    ------
    Problems
        A named column that a canonical column is read from, that would be kept under a
        canonical column's name, or that is not in the file.
    """
    referred: list[str] = []
    if spec.name in ("customers", "prospects"):
        referred = list(settings.potential.extra_feature_columns)
        if spec.name == "customers" and settings.profitability.rebate_column:
            referred.append(settings.profitability.rebate_column)
    problems: list[TierwiseError] = []
    by_norm = {column_key(c): c for c in source}
    used = {c: name for name, c in mapping.items() if c is not None}
    # the names the kept table gives its canonical columns (an engine's names ignore case)
    taken = {c.lower() for c in spec.input_names}
    named = {column_key(n) for n in ti.extra_columns}

    def source_of(name: str) -> str | None:
        return name if name in source else by_norm.get(column_key(name))

    also = [
        n
        for n in dict.fromkeys(referred)
        if source_of(n) is not None
        and source_of(n) not in used
        and n.lower() not in taken
        and column_key(n) not in named
    ]
    out: list[tuple[str, str]] = []
    for name in [*ti.extra_columns, *also]:
        src = source_of(name)
        if src is None and name.lower() in taken:
            problems.append(
                SettingsError(
                    f"[{spec.name}] extra_columns: {name!r} is a canonical {spec.name} column, "
                    f"and the file has no column of that name: map it in [{spec.name}.columns] "
                    "if the file holds it under another name, and leave it out of extra_columns"
                )
            )
            continue
        if src is None:
            problems.append(
                InputError(
                    f"[{spec.name}] extra_columns names {name!r}, which is not in the file",
                    file=file,
                    column=name,
                    hint=_columns_hint(name, source),
                )
            )
            continue
        if src in used:
            problems.append(
                SettingsError(
                    f"[{spec.name}] extra_columns: {name!r} is read as the canonical column "
                    f"{used[src]}; it is kept anyway, so leave it out of extra_columns"
                )
            )
            continue
        if name.lower() in taken:
            problems.append(
                SettingsError(
                    f"[{spec.name}] extra_columns: {name!r} is the name of a canonical "
                    f"{spec.name} column; rename the file's column to keep it as a column "
                    "of your own"
                )
            )
            continue
        out.append((name, src))
    Problems.raise_if_any(problems)
    return out


# -- transactions -----------------------------------------------------------------------------


def _date_text(date: ir.Value) -> ir.StringValue:
    """A checked date as rejects.csv shows it, as a file writes it: 2025-12-31 (a date the
    engine holds as a timestamp at midnight is not written with its time)."""
    return date.strftime("%Y-%m-%d")


def check_transactions(
    t: ir.Table,
    settings: Settings,
    *,
    as_of: dt.date | None,
    today: dt.date,
    engine: Engine | None = None,
    file: str = "transactions",
    warnings: list[str] | None = None,
    decide_cancel: bool = True,
) -> ir.Table:
    """Transaction-specific row checks and derived flags.

    - a date after the analysis date (when ``as_of`` is given) is rejected, as is a date more
      than ``[validate] future_tolerance_days`` after today;
    - ``is_return`` is true for a returns flag, a negative quantity or a negative revenue;
      a return's revenue, list_revenue, cost and quantity are never positive, whatever sign
      the file gives them (a return flagged with a positive amount of 30 is revenue -30);
    - ``is_cancel`` is true when order_id starts with ``[validate] cancel_prefix`` and the
      prefix is believed: its lines are a minority and mostly negative (decided from the
      whole table, one query); otherwise a warning says how many order ids carry it. With
      ``decide_cancel=False`` every prefixed line is marked and the caller decides with
      :func:`decide_cancellations` once the table is materialised (no second scan of the
      file);
    - identical lines are rejected when ``[validate] drop_duplicate_lines`` is on;
    - a totals line below the transactions is rejected (:func:`reject_totals_rows`); with
      ``decide_cancel=False`` the caller runs that too, on the materialised table.

    Examples
    --------
    >>> import pyarrow as pa, datetime as dt
    >>> from tierwise.engine import Engine, ROW
    >>> from tierwise.settings import Settings
    >>> eng = Engine()
    >>> raw = eng.from_arrow(pa.table({"customer_id": ["A", "A"], "date": ["2024-01-31"] * 2,
    ...     "revenue": ["100", "30"], "is_return": ["no", "yes"], ROW: [2, 3]}))
    >>> t = canonicalize(raw, "transactions", Settings(), eng, file="tx.csv")
    >>> t = check_transactions(t, Settings(), as_of=None, today=dt.date(2024, 2, 1))
    >>> eng.to_arrow(t.order_by(ROW)).column("revenue").to_pylist()
    [100.0, -30.0]
    """
    vs = settings.validate_
    limit = today + dt.timedelta(days=vs.future_tolerance_days)
    rules: list[tuple[ir.BooleanValue, str | None, Any, Any]] = [
        (
            t.date > limit,
            "date",
            f"date in the future (after {limit.isoformat()}, today + "
            f"{vs.future_tolerance_days} days tolerance)",
            AsWritten(_date_text(t.date)),
        )
    ]
    if as_of is not None:
        rules.append(
            (
                t.date > as_of,
                "date",
                f"after the analysis date {as_of.isoformat()} (--as-of)",
                AsWritten(_date_text(t.date)),
            )
        )
    t = _reject_where(t.view(), rules)
    t = t.mutate(
        is_return=t.is_return.fill_null(False)
        | (t.quantity.fill_null(0) < 0)
        | (t.revenue.fill_null(0) < 0)
    ).view()
    is_cancel: ir.BooleanValue = ibis.literal(False)
    prefix = vs.cancel_prefix or ""
    if prefix:
        marked = t.order_id.startswith(prefix).fill_null(False)
        if not decide_cancel or _believe_cancel_prefix(
            t, marked, t.is_return, vs, engine, file, warnings
        ):
            is_cancel = marked
    # a return's amounts are never positive: -|x| (NULL stays NULL)
    negative = {
        c: ibis.ifelse(t.is_return, -t[c].abs(), t[c])
        for c in ("revenue", "list_revenue", "cost", "quantity")
    }
    t = t.mutate(**negative, is_cancel=is_cancel).view()
    if vs.drop_duplicate_lines:
        keys = [c for c in TABLES["transactions"].names]
        w = ibis.window(group_by=[t[c] for c in keys], order_by=t[ROW])
        t = t.mutate(_dup_rank=ibis.row_number().over(w), _first_row=t[ROW].min().over(w))
        t = reject_if(
            t,
            t._dup_rank > 0,
            None,
            "duplicate of an earlier identical line (row " + t._first_row.cast(str) + ")",
        ).drop("_dup_rank", "_first_row")
    if decide_cancel:
        t = reject_totals_rows(t.view(), file=file, warnings=warnings)
    return t


#: what ERPs and spreadsheets write in the id column of a totals line, in lower case
_TOTAL_WORDS = (
    "total",
    "totals",
    "grand total",
    "sum",
    "summe",
    "gesamt",
    "gesamtsumme",
    "endsumme",
    "totaal",
    "totale",
    "totale generale",
    "somme",
    "suma",
    "summa",
    "totalt",
    "yhteensä",
    "razem",
    "celkem",
    "toplam",
)
#: punctuation around a total word ("Total:", "** Summe **", "Gesamt.")
_TOTAL_EDGE = re.compile(r"^[\s.:;,*#=()\[\]-]+|[\s.:;,*#=()\[\]-]+$")
#: the last rows of a file looked at for a totals line (the lines below the data)
_TOTAL_TAIL = 5
#: a totals line's revenue matches the sum of the lines above within this share of it
_TOTAL_TOLERANCE = 1e-6


def reject_totals_rows(
    t: ir.Table,
    *,
    file: str = "transactions",
    warnings: list[str] | None = None,
    column: str = "customer_id",
) -> ir.Table:
    """Reject the totals line an ERP or a spreadsheet writes below the transactions.

    A row is a totals line when its customer_id is a word for a total (``Total``,
    ``Summe``, ``Gesamt:``, ``** Total **``, … in any case, bare or with the punctuation
    reports put around it), no row below it
    has another id or a revenue, and its revenue is the sum of the revenue of every row
    above it (within a millionth of that sum). A trailing row with such an id whose revenue
    is not that sum is kept, with a warning naming the file and the row. A totals line
    rejected already for another reason (no date, as an ERP writes one) is rejected as a
    totals line instead. Two small queries
    (the largest row number, the rows just below it), and a sum only when one of them is
    such a word. ``column``: the file's column of the customer ids, which the reject names.

    Examples
    --------
    >>> import pyarrow as pa, datetime as dt
    >>> from tierwise.engine import Engine, ROW
    >>> from tierwise.settings import Settings
    >>> eng = Engine()
    >>> raw = eng.from_arrow(pa.table({"customer_id": ["A", "B", "Summe"],
    ...     "date": ["2024-01-31"] * 3, "revenue": ["10", "5", "15"], ROW: [2, 3, 4]}))
    >>> t = canonicalize(raw, "transactions", Settings(), eng, file="tx.csv")
    >>> _, rejects = split_rejects(reject_totals_rows(t), "tx.csv", "transactions")
    >>> eng.to_arrow(rejects).column("reason").to_pylist()
    ['a totals row (its revenue is the sum of the rows above)']
    """
    # the last rows of the file (a top-n query, no expression on every line), read from
    # the bottom: blank rows skipped, then the total words up to the first other row
    last = fetch(t.aggregate(last=t[ROW].max()), f"the last row of {file}").column("last")[0]
    if last.as_py() is None:
        return t
    tail = fetch(
        t.filter(t[ROW] > last.as_py() - _TOTAL_TAIL).select(ROW, "customer_id", "revenue", REASON),
        f"the last rows of {file}",
    ).to_pylist()
    tail.sort(key=lambda r: -int(r[ROW]))
    rows: list[dict[str, Any]] = []
    for r in tail:
        cid = r["customer_id"]
        if cid is None and r["revenue"] is None:
            continue
        worded = cid is not None and _TOTAL_EDGE.sub("", cid.lower()) in _TOTAL_WORDS
        if r[REASON] is not None:
            # a totals line rejected already (without a date, as ERPs write one) is looked
            # at all the same; a footer ("Printed on …") below the total is passed over
            if worded and r["revenue"] is not None:
                rows.append(r)
            continue
        if not worded:
            break
        rows.append(r)
    if not rows:
        return t
    at = [int(r[ROW]) for r in rows]
    above = float(
        fetch(
            t.filter(~t[ROW].isin(at)).aggregate(above=t.revenue.fill_null(0.0).sum()),
            f"the sum of the rows above the totals row of {file}",
        )
        .column("above")[0]
        .as_py()
        or 0.0
    )
    totals = [
        int(r[ROW])
        for r in rows
        if r["revenue"] is not None
        and abs(float(r["revenue"]) - above) <= _TOTAL_TOLERANCE * abs(above)
    ]
    for r in sorted(rows, key=lambda r: int(r[ROW]))[:3]:
        if int(r[ROW]) in totals or warnings is None or r[REASON] is not None:
            continue
        revenue = "empty" if r["revenue"] is None else f"{r['revenue']:,.2f}"
        warnings.append(
            f"{file}: row {r[ROW]} has customer_id {r['customer_id']!r}, a word for a "
            f"total, but its revenue {revenue} is not the sum of the rows above "
            f"({above:,.2f}); it is kept as a customer: delete the row if it is a total"
        )
    if not totals:
        return t
    # the reason in place of another one a totals line failed first ("missing date")
    return _reject_where(
        t,
        [
            (
                t[ROW].isin(totals),
                column,
                "a totals row (its revenue is the sum of the rows above)",
                AsWritten(t.customer_id),
            )
        ],
        instead=True,
    )


def decide_cancellations(
    t: ir.Table,
    settings: Settings,
    *,
    engine: Engine | None = None,
    file: str = "transactions",
    warnings: list[str] | None = None,
    returns_flagged: bool = False,
) -> ir.Table:
    """Keep ``is_cancel`` only where the cancel prefix is believed (see
    :func:`check_transactions`), for a table checked with ``decide_cancel=False``.
    ``returns_flagged``: the file maps ``is_return`` (its lines say which are returns), so
    the prefix marks no cancellation.

    Run on the checked table once it is materialised, the decision reads columns already
    in the engine instead of parsing the file a second time.

    Examples
    --------
    >>> import pyarrow as pa, datetime as dt
    >>> from tierwise.engine import Engine, ROW
    >>> from tierwise.settings import Settings
    >>> eng = Engine()
    >>> raw = eng.from_arrow(pa.table({"customer_id": ["A", "A"], "date": ["2024-01-31"] * 2,
    ...     "revenue": ["10", "12"], "order_id": ["CO-1", "CO-2"], ROW: [2, 3]}))
    >>> t = canonicalize(raw, "transactions", Settings(), eng, file="tx.csv")
    >>> t = check_transactions(t, Settings(), as_of=None, today=dt.date(2024, 2, 1),
    ...                        decide_cancel=False)
    >>> t = eng.materialize(t)
    >>> said = []
    >>> t = decide_cancellations(t, Settings(), engine=eng, warnings=said)
    >>> eng.to_arrow(t).column("is_cancel").to_pylist(), len(said)
    ([False, False], 1)
    """
    vs = settings.validate_
    if not vs.cancel_prefix:
        return t
    if _believe_cancel_prefix(
        t, t.is_cancel, t.is_return, vs, engine, file, warnings, returns_flagged=returns_flagged
    ):
        return t
    return t.mutate(is_cancel=ibis.literal(False))


#: how many of the prefixed order ids are looked up among the other lines' order ids, when
#: the file maps is_return (the smallest ones: the same every run)
_CANCEL_SAMPLE = 200


def _believe_cancel_prefix(
    t: ir.Table,
    marked: ir.BooleanValue,
    is_return: ir.BooleanValue,
    vs: ValidateSettings,
    engine: Engine | None,
    file: str,
    warnings: list[str] | None,
    *,
    returns_flagged: bool = False,
) -> bool:
    """Whether the order prefix marks cancellations in this table (one query, two more
    when ``returns_flagged``), said in ``warnings`` either way when lines carry it.

    It does when the lines carrying it are a minority of the lines with an order id (at
    most ``cancel_max_share``) and at least ``cancel_min_negative_share`` of them are
    negative; an ERP numbering every order ``CO-…`` fails the first test. When
    ``returns_flagged`` (the file's own return flag is mapped), it does only where the
    prefixed ids are other orders' ids with the prefix before them (C1042 cancelling order
    1042), as a sample of them shows: a credit note numbered ``CN-…`` is a return on its
    own date, not a cancellation paired with a purchase.
    """
    # over every line, rejected or not: the few rejects do not change the answer, and the
    # query then reads only the order ids and amounts, not every check of validation
    ok = ibis.literal(True)
    stats_expr = t.aggregate(
        with_order=(ok & t.order_id.notnull()).cast("int64").sum(),
        marked=(ok & marked).cast("int64").sum(),
        negative=(ok & marked & is_return).cast("int64").sum(),
        first=t.order_id.argmin(t[ROW], where=marked),
    )
    what = f"the order ids of {file}"
    stats = fetch(stats_expr, what).to_pylist()[0]
    n_orders, n_marked, n_negative = (
        int(stats[k] or 0) for k in ("with_order", "marked", "negative")
    )
    if n_marked == 0:
        return False
    lines = count_text(n_marked, "line")
    are = "is" if n_marked == 1 else "are"
    cancellations = "a cancellation" if n_marked == 1 else "cancellations"
    first = f" (the first: {stats['first']!r})" if stats["first"] is not None else ""
    carrying = f"{lines} with an order id starting with {vs.cancel_prefix!r}{first}"
    if returns_flagged and not _prefix_names_orders(t, marked, vs, file):
        if warnings is not None:
            warnings.append(
                f"{file}: {carrying} {are} not taken as {cancellations}: the file says which "
                "lines are returns (is_return is mapped), and the ids without the prefix are "
                "not the file's orders, so they are returns on their own date (credit "
                'notes); set [validate] cancel_prefix = "" to say the prefix means nothing'
            )
        return False
    minority = n_marked <= vs.cancel_max_share * n_orders
    negative = n_negative >= vs.cancel_min_negative_share * n_marked
    if minority and negative:
        if warnings is not None:
            warnings.append(
                f"{file}: {carrying} {are} taken as {cancellations}, each paired with the "
                "earlier purchase it cancels (that purchase then counts less, on its own "
                "date); if they are credit notes, which count on their own date, set "
                '[validate] cancel_prefix = ""'
            )
        return True
    why = []
    if not minority:
        why.append(f"they are {n_marked / max(n_orders, 1):.0%} of the lines with an order id")
    if not negative:
        why.append(f"only {count_text(n_negative, 'of them is', 'of them are')} negative")
    if warnings is not None:
        warnings.append(
            f"{file}: {carrying} {are} not treated as {cancellations} ({' and '.join(why)}); "
            'set [validate] cancel_prefix to the prefix your system gives cancellations, or "" '
            "to say there is none"
        )
    return False


def _prefix_names_orders(
    t: ir.Table, marked: ir.BooleanValue, vs: ValidateSettings, file: str
) -> bool:
    """Whether at least half of a sample of the prefixed order ids, without the prefix, are
    order ids of unprefixed lines (the smallest :data:`_CANCEL_SAMPLE` ids, then one scan
    of the order ids for them)."""
    size = len(vs.cancel_prefix or "")
    stripped = t.filter(marked).select(k=t.order_id.substr(size)).distinct()
    sample = fetch(
        stripped.order_by("k").limit(_CANCEL_SAMPLE), f"the prefixed order ids of {file}"
    )
    ids = [k for k in sample.column("k").to_pylist() if k]
    if not ids:
        return False
    found = t.filter(~marked & t.order_id.isin(ids)).select("order_id").distinct()
    n = int(fetch(found.aggregate(n=found.count()), f"the order ids of {file}")["n"][0].as_py())
    return n >= 0.5 * len(ids)


def reject_unknown_customers(
    t: ir.Table, known_ids: ir.Table, table: str, *, column: str = "customer_id"
) -> ir.Table:
    """Reject rows whose customer_id is neither in the customer master nor in transactions.
    ``column``: the file's column of the customer ids, which the reject names."""
    return reject_if(
        t,
        t.customer_id.notnull() & ~t.customer_id.isin(known_ids.customer_id),
        column,
        f"customer_id not found in customers or transactions ({table} row kept out)",
        AsWritten(t.customer_id),
    )


def _loose_id(c: ir.StringValue) -> ir.StringValue:
    """An id without what one program's writing of it adds or drops: leading zeros ('00042'
    and '42'), a decimal part .0 ('1001.0' and '1001'), letter case."""
    c = c.re_replace("^0+", "")
    return ibis.ifelse(c.re_search(r"^\d+\.0+$"), c.re_replace(r"\.0+$", ""), c).upper()


def _name_key(c: ir.StringValue) -> ir.StringValue:
    """A customer's name as written ids are compared with it: trimmed, letter case ignored
    (lower case, which both engines write alike: Straße stays apart from Strasse)."""
    return c.strip().lower()


def _id_shape(c: ir.StringValue) -> ir.StringValue:
    """How an id is written, each letter an a and each digit a 9 ('C-0042' is 'a-9999')."""
    return c.re_replace("[A-Za-z]", "a").re_replace("[0-9]", "9")


def customers_by_name(
    engine: Engine,
    t: ir.Table,
    master: ir.Table,
    known_ids: ir.Table,
    *,
    file: str,
    table: str,
    column: str,
    master_file: str,
    master_column: str,
    warnings: list[str] | None,
) -> ir.Table:
    """Read the customer ids of ``t`` that name no known customer but the name of exactly
    one customer of the master (trimmed, letter case ignored) as that customer's id: the
    activities and payments a CRM or an accounting program exports by the account's name
    (Salesforce's Account Name, Pipedrive's Activity - Organization, QuickBooks' Customer),
    and say how many rows were read so in ``warnings``.

    The column is read so only where its values look like names: more than half of its
    distinct unknown values are names of the master, each neither digits alone nor written
    as one of the master's ids is (:func:`_id_shape`). Otherwise, and for every value that
    is a known id or is written as an id, the values stay as written (rejected as
    customer_id not found). A row naming a name several customers share is rejected as
    naming them. Only the rows of ``t`` not rejected yet are looked at and counted; the
    distinct unknown values are found first (none: ``t`` is returned as it is), and the
    rows of ``t`` are read once more, by the check that keeps them."""
    unknown = t.filter(
        t[REASON].isnull() & t.customer_id.notnull() & ~t.customer_id.isin(known_ids.customer_id)
    )
    values = engine.materialize(
        unknown.group_by("customer_id").aggregate(_tw_rows=unknown.count()),
        f"tw_{table}_unknown_ids",
    )
    if engine.count(values, f"the unknown customer ids of {table}") == 0:
        return t
    named = master.filter(master.name.notnull() & (master.name.strip() != ""))
    names = named.group_by(_tw_name_key=_name_key(named.name)).aggregate(
        _tw_name_n=named.customer_id.nunique(), _tw_name_id=named.customer_id.min()
    )
    shapes = master.filter(master.customer_id.notnull()).select(
        _tw_shape=_id_shape(master.customer_id)
    )
    matched = values.join(names, _name_key(values.customer_id) == names._tw_name_key)
    matched = matched.filter(
        ~matched.customer_id.re_search(r"^\d+$")
        & ~_id_shape(matched.customer_id).isin(shapes._tw_shape)
    )
    mapping = engine.materialize(
        matched.select(
            _tw_value=matched.customer_id,
            _tw_rows=matched._tw_rows,
            _tw_name_n=matched._tw_name_n,
            _tw_name_id=matched._tw_name_id,
        ),
        f"tw_{table}_customers_by_name",
    )
    one = mapping._tw_name_n == 1
    got = engine.to_arrow(
        values.aggregate(
            u=values.count(),
            named=values.customer_id.isin(mapping._tw_value).cast("int64").sum(),
        ),
        f"the customer names of {table}",
    ).to_pylist()[0]
    if 2 * int(got["named"] or 0) <= int(got["u"] or 0):
        return t
    rows = engine.to_arrow(
        mapping.aggregate(
            n=ibis.ifelse(one, mapping._tw_rows, 0).sum(),
            shared=ibis.ifelse(one, 0, mapping._tw_rows).sum(),
        ),
        f"the rows of {table} naming a customer",
    ).to_pylist()[0]
    n, shared = int(rows["n"] or 0), int(rows["shared"] or 0)
    if warnings is not None and n:
        warnings.append(
            f"{table}: {count_text(n, 'row')} of {file} {'names' if n == 1 else 'name'} "
            f"the customer in column "
            f"{column!r} by its name, not its id: each is read as the customer of that name "
            f"in {master_file} (column {master_column!r}); map the column of the customer's "
            f"id in [{table}.columns] if the file has one"
        )
    if warnings is not None and shared:
        warnings.append(
            f"{table}: {count_text(shared, 'row')} of {file} "
            f"{'names' if shared == 1 else 'name'} in column {column!r} a customer by a name "
            f"that several customers of {master_file} (column {master_column!r}) share: "
            "rejected; map the column of the customer's id in "
            f"[{table}.columns] if the file has one"
        )
    joined = t.left_join(mapping, t.customer_id == mapping._tw_value)
    joined = reject_if(
        joined,
        joined._tw_name_n > 1,
        column,
        "customer_id names "
        + joined._tw_name_n.cast(str)
        + f" customers of the master ({master_file}, column {master_column!r})",
        AsWritten(joined.customer_id),
    )
    return joined.mutate(
        customer_id=ibis.ifelse(joined._tw_name_n == 1, joined._tw_name_id, joined.customer_id)
    ).select(*t.columns)


def _warn_near_ids(
    engine: Engine,
    rejects: ir.Table,
    known: ir.Table,
    file: str,
    table: str,
    warnings: list[str] | None,
) -> None:
    """Say, in ``warnings``, how many of a table's rows rejected for a customer id not found
    match a known customer once written loosely (:func:`_loose_id`): the ids of two programs,
    one writing them as numbers."""
    if warnings is None:
        return
    unknown = rejects.filter(rejects.reason.startswith("customer_id not found"))
    keys = known.select(k=_loose_id(known.customer_id))
    got = engine.to_arrow(
        unknown.aggregate(
            n=unknown.count(), near=_loose_id(unknown.value).isin(keys.k).cast("int64").sum()
        ),
        f"the unknown customer ids of {table}",
    ).to_pylist()[0]
    n, near = int(got["n"] or 0), int(got["near"] or 0)
    if near:
        warnings.append(
            f"{table}: {count_text(n, 'row')} of {file} rejected as customer_id not found; "
            f"{count_text(near, 'of them matches', 'of them match')} a known customer once "
            "leading zeros, a decimal part .0 and letter case are ignored (as '00042', "
            "'42.0' and '42'): export the ids as text from the program that wrote them as "
            'numbers, or set [validate] id_leading_zeros = "ignore" where the zeros are the '
            "only difference (SAP's tables and lists)"
        )


def reject_duplicate_keys(
    t: ir.Table,
    key: tuple[str, ...],
    *,
    without_leading_zeros: bool = False,
    column: str | None = None,
) -> ir.Table:
    """Reject a row whose key (e.g. customer_id in the master) repeats an earlier row's.

    The keys that repeat are found by one aggregation (with their first row) and joined
    back: no window sorts every row by its key (the invoice ids of the payments are
    millions, nearly all of them once). With ``without_leading_zeros``, ids of digits only
    are compared without their leading zeros (``[validate] id_leading_zeros = "ignore"``:
    00042 repeats 042). ``column``: the file's column of the key's first part, which the
    reject names (default: its canonical name).
    """

    def part(tt: ir.Table, k: str) -> ir.Value:
        return _without_leading_zeros(tt[k]) if without_leading_zeros else tt[k]

    keyed = t.filter(ibis.and_(*[t[k].notnull() for k in key]))
    repeated = (
        keyed.group_by([part(keyed, k).name(f"_key_{i}") for i, k in enumerate(key)])
        .aggregate(_key_first=keyed[ROW].min(), _key_rows=keyed.count())
        .filter(lambda g: g._key_rows > 1)
    )
    t = t.left_join(repeated, [part(t, k) == repeated[f"_key_{i}"] for i, k in enumerate(key)])
    t = t.select(*[c for c in t.columns if not c.startswith("_key_") or c == "_key_first"])
    zeros = (
        "; ids of digits only are compared without leading zeros: [validate] id_leading_zeros"
        if without_leading_zeros
        else ""
    )
    return reject_if(
        t,
        t[ROW] > t._key_first,
        column or key[0],
        "duplicate " + "/".join(key) + " (first at row " + t._key_first.cast(str) + zeros + ")",
        AsWritten(t[key[0]]),
    ).drop("_key_first")


#: the table whose customer ids are written as users see them when ``[validate]
#: id_leading_zeros = "ignore"``
MASTER_IDS_TABLE = "customers"

#: how many pairs of master ids one only by their leading zeros a warning names
_NAMED_PAIRS = 3


def _master_id_forms(engine: Engine, master: ir.Table, file: str, warnings: list[str]) -> ir.Table:
    """The customer master's ids that leading zeros set apart from their form without them
    (``_k``, as :func:`_without_leading_zeros` writes it; ``_master``, as the master does),
    materialised: customer-sized, a key each.

    ``master`` is the canonical master with its repeated ids rejected without regard to
    leading zeros (:func:`reject_duplicate_keys`): of two ids one but for their zeros
    (00042 and 042), the first row's is the customer's, the later row is rejected as a
    duplicate, and a warning names both.
    """
    # the master's rows kept and those rejected as a repeat, each id written once (its
    # first row); a key written in more than one way is a clash
    ids = master.filter(master[REASON].isnull() | master[REASON].startswith("duplicate "))
    ids = ids.filter(ids.customer_id.notnull())
    ids = (
        ids.mutate(_k=_without_leading_zeros(ids.customer_id))
        .group_by(["_k", "customer_id"])
        .aggregate(_at=ids[ROW].min())
    )
    keys = ids.group_by("_k").aggregate(_first=ids._at.min(), _forms=ids.count())
    clashes = keys.filter(keys._forms > 1)
    n_clashes = engine.count(clashes, "the master ids one but for their leading zeros")
    if n_clashes:
        named = clashes.order_by("_first").limit(_NAMED_PAIRS)
        rows = engine.to_arrow(
            ids.join(named, "_k").order_by(["_first", "_at"]),
            "the master ids one but for their leading zeros",
        ).to_pylist()
        firsts: dict[str, dict[str, Any]] = {}
        pairs: list[str] = []
        for r in rows:
            first = firsts.setdefault(r["_k"], r)
            if first is not r:
                pairs.append(
                    f"{first['customer_id']!r} (row {first['_at']}) and "
                    f"{r['customer_id']!r} (row {r['_at']})"
                )
        more = ", …" if n_clashes > _NAMED_PAIRS else ""
        warnings.append(
            f"{file}: {count_text(n_clashes, 'customer id is', 'customer ids are')} written "
            f"in more than one way with leading zeros ({'; '.join(pairs)}{more}), one "
            'customer each as [validate] id_leading_zeros = "ignore" reads them: the first '
            "row's id and master data are kept and the later rows rejected as duplicates; "
            'correct the customers file, or set id_leading_zeros = "keep" if they are '
            "different customers"
        )
    used = master.filter(master[REASON].isnull())
    used = used.select(_k=_without_leading_zeros(used.customer_id), _master=used.customer_id)
    return engine.materialize(used.filter(used._k != used._master), "tw_master_id_forms")


#: a Salesforce record id as its exports write it: 18 characters (the API's, a data export's)
#: or the 15 the reports show, the same id without its 3 check characters
_SALESFORCE_SHORT = r"^[a-zA-Z0-9]{15}$"
_SALESFORCE_ID = re.compile(r"[a-zA-Z0-9]{18}")
#: the check characters of a Salesforce id, each of one 5-bit value
_SALESFORCE_CHECK = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def _salesforce_check(short: str) -> str:
    """The 3 check characters Salesforce adds to an id of 15 characters: for each group of
    5, the character of the 5-bit value whose bit i is set where the group's character i is
    an upper-case letter A to Z.

    Examples
    --------
    >>> _salesforce_check("a0D30000001n7Pi")
    'EAI'
    """
    return "".join(
        _SALESFORCE_CHECK[sum(1 << i for i, ch in enumerate(short[g : g + 5]) if "A" <= ch <= "Z")]
        for g in range(0, 15, 5)
    )


def _salesforce_short_ids(
    engine: Engine,
    canon: dict[str, ir.Table],
    files: dict[str, str],
    sources: dict[str, str],
    warnings: list[str],
) -> None:
    """Where every customer id of the master is a Salesforce id of 18 characters (its last
    3 the check characters of its first 15, :func:`_salesforce_check`), read an id of 15
    characters in the other tables that is the start of one of them (the same record as a
    Salesforce report writes it) as the master's id, in ``canon``, and say how many rows
    not rejected yet were read so in ``warnings``. The master's ids are read into Python
    to check them: customer-sized."""
    m = canon["customers"]
    m = m.filter(m[REASON].isnull() & m.customer_id.notnull())
    ids = (
        engine.to_arrow(m.select("customer_id").distinct(), "the master's Salesforce ids")
        .column("customer_id")
        .to_pylist()
    )
    if not ids or not all(
        _SALESFORCE_ID.fullmatch(i) and _salesforce_check(i[:15]) == i[15:] for i in ids
    ):
        return
    # the check characters follow from the first 15: no two of the master's ids share them
    forms = engine.materialize(
        engine.from_arrow(pa.table({"_k": [i[:15] for i in ids], "_master": ids})),
        "tw_salesforce_ids",
    )
    for name in [n for n in canon if n not in ("customers", "prospects")]:
        t = canon[name]
        if "customer_id" not in t.columns:
            continue
        short = t.customer_id.re_search(_SALESFORCE_SHORT) & t.customer_id.isin(forms._k)
        n = engine.count(
            t.filter(short & t[REASON].isnull()),
            f"the {name} rows of a Salesforce id of 15 characters",
        )
        if n:
            canon[name] = _in_master_form(t, forms)
            warnings.append(
                f"{name}: {count_text(n, 'row')} of {files[name]} {'gives' if n == 1 else 'give'} "
                f"in column {sources[name]!r} a Salesforce id of 15 characters, as a "
                f"Salesforce report writes it, where {files['customers']} writes the same "
                "id with 18: each is read as the master's customer"
            )


def _in_master_form(t: ir.Table, forms: ir.Table) -> ir.Table:
    """``t`` with each customer id (written without leading zeros) that matches a master id
    written with them in the master's form (:func:`_master_id_forms`): one join with the
    customer-sized table of those ids."""
    joined = t.left_join(forms, t.customer_id == forms._k)
    return joined.select(
        *[
            joined._master.coalesce(joined.customer_id).name(c) if c == "customer_id" else c
            for c in t.columns
        ]
    ).view()


#: A checked table (the layout :func:`canonicalize` gives) as :func:`store_checked` keeps
#: it in the engine holds its reject column and value in one text column, NULL on a row
#: used: the column ("" for none) and "v" + the value ("" for none), joined by the unit
#: separator, which no column name holds. The reason stays a column of its own: the rows
#: used are found by it as they are stored.
_PACKED = "_reject"
_SEP = "\x1f"
_UNPACK = f"(?s)^([^{_SEP}]*){_SEP}([vw]?)(.*)\\z"


def _pack(reason: ir.StringValue, column: ir.StringValue, value: ir.StringValue) -> ir.StringValue:
    """The packed reject column and value of a row rejected for ``reason`` (NULL if none);
    a value to show as written (a column marked :data:`_WRITTEN`) is "w" + the value."""
    written = column.substr(0, 1) == _WRITTEN
    column = ibis.ifelse(written, column.substr(1), column)
    flag = ibis.ifelse(written, ibis.literal("w"), ibis.literal("v"))
    return ibis.ifelse(
        reason.isnull(),
        ibis.null(str),
        column.fill_null("")
        + _SEP
        + ibis.ifelse(
            value.isnull(), ibis.ifelse(written, ibis.literal("w"), ibis.literal("")), flag + value
        ),
    )


def _reject_column_value(
    t: ir.Table,
) -> tuple[ir.StringValue, ir.StringValue, ir.BooleanValue]:
    """The reject column and value of each row of a checked table, stored or not, and
    whether the value is to be shown as the input wrote it (:class:`AsWritten`)."""
    if _PACKED not in t.columns:
        written = (t[RCOL].substr(0, 1) == _WRITTEN).fill_null(False)
        return ibis.ifelse(written, t[RCOL].substr(1), t[RCOL]), t[RVAL], written
    p = t[_PACKED]

    def part(i: int) -> ir.StringValue:
        # only a rejected row pays for the regular expression
        return ibis.ifelse(p.isnull(), ibis.null(str), p.re_extract(_UNPACK, i))

    column, flag = part(1), part(2)
    return (
        ibis.ifelse(column == "", ibis.null(str), column),
        ibis.ifelse(flag == "", ibis.null(str), part(3)),
        (flag == "w").fill_null(False),
    )


def _always_null(t: ir.Table) -> list[str]:
    """The columns of ``t`` that are NULL on every row by their expression alone (an
    optional column the input lacks, and what is computed from it only), found without a
    query."""

    def null(v: ops.Value) -> bool:
        if isinstance(v, ops.Literal):
            return v.value is None
        if isinstance(v, ops.Field):
            rel = v.rel
            while isinstance(rel, (ops.SelfReference, ops.Filter)):
                rel = rel.parent
            return isinstance(rel, ops.Project) and null(rel.values[v.name])
        if isinstance(v, (ops.Cast, ops.Negate, ops.Abs)):
            return null(v.arg)
        if isinstance(v, ops.IfElse):
            return null(v.true_expr) and null(v.false_null_expr)
        if isinstance(v, ops.SearchedCase):
            return all(null(r) for r in v.results) and null(v.default)
        return False

    return [c for c in t.columns if null(t[c].op())]


def store_checked(engine: Engine, t: ir.Table, name: str | None = None) -> ir.Table:
    """Materialise a checked table (the layout :func:`canonicalize` gives) with fewer
    columns to write on every row of the largest tables: the reject column and value are
    stored as one, and a column NULL on every row by its expression (an optional column the
    input lacks) is not stored but given back as a NULL of its type.

    The result has the columns of ``t`` but the reject column and value, which
    :func:`reject_if` and :func:`split_rejects` read from the packed column.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from tierwise.engine import Engine, ROW
    >>> eng = Engine()
    >>> t = eng.from_arrow(pa.table({"a": [1, 2, 3], ROW: [2, 3, 4],
    ...     REASON: [None, "missing a", "bad a"], RCOL: [None, "a", None],
    ...     RVAL: [None, None, "12,5 kg"]}))
    >>> used, rejects = split_rejects(store_checked(eng, t), "t.csv", "t")
    >>> eng.to_arrow(used).to_pylist()
    [{'a': 1, '_row': 2}]
    >>> eng.to_arrow(rejects.order_by("row").select("row", "column", "value")).to_pylist()
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'row': 3, 'column': 'a', 'value': None}, {'row': 4, 'column': None, 'value': '12,5 kg'}]
    """
    nulls = [c for c in _always_null(t) if c not in (REASON, RCOL, RVAL)]
    packed = _pack(t[REASON], t[RCOL], t[RVAL])
    stored = engine.materialize(
        t.select(
            *(
                packed.name(_PACKED) if c == RCOL else c
                for c in t.columns
                if c not in (RVAL, *nulls)
            )
        ),
        name,
        large=True,
    )
    if not nulls:
        return stored
    return stored.select(
        *(
            ibis.null(t[c].type()).name(c) if c in nulls else _PACKED if c == RCOL else c
            for c in t.columns
            if c != RVAL
        )
    )


def split_rejects(
    t: ir.Table, file: str, table: str, *, as_written: bool = False
) -> tuple[ir.Table, ir.Table]:
    """The rows used (canonical columns and ``_row``) and the rejects (rejects.csv layout).

    A value a rule gave as :class:`AsWritten` is the value as read; with ``as_written``,
    the rejects have a column more, ``_as_written``, true on those rows, for
    :func:`_values_as_written` to look their text up in the input.
    """
    reject_columns = (_PACKED,) if _PACKED in t.columns else (RCOL, RVAL)
    marks = [c for c in t.columns if c.startswith(_EMPTIED)]
    used = t.filter(t[REASON].isnull()).drop(REASON, *reject_columns, *marks)
    bad = t.filter(t[REASON].notnull())
    column, value, written = _reject_column_value(bad)
    rejects = bad.select(
        file=ibis.literal(file, str),
        table=ibis.literal(table, str),
        row=bad[ROW].cast("int64"),
        column=column,
        reason=bad[REASON],
        value=value,
        **({_LOOKUP: written} if as_written else {}),
    )
    return used, rejects


def _emptied_mark(rule: ir.IntegerValue, column: str, checks: Sequence[Check]) -> ir.StringValue:
    """The mark of a value emptied (:data:`_EMPTIED`): the file's ``column`` and the reason
    of the check numbered ``rule``, joined by the unit separator; NULL where it was kept."""
    reason = ibis.cases(
        *[
            (rule == i, ibis.literal(why) if isinstance(why, str) else why)
            for i, (_, why) in enumerate(checks)
        ],
        else_=ibis.null(str),
    )
    return ibis.ifelse(rule.isnull(), ibis.null(str), ibis.literal(column + _SEP) + reason)


def emptied_values(engine: Engine, t: ir.Table, file: str, table: str) -> pa.Table:
    """The values validation emptied in the rows used of a checked table (a value of an
    optional column that cannot be read, ``TableSpec.empties_unreadable``), in
    rejects.csv's layout (file, table, row, column, reason, value) and ordered by row and
    column; the value as read is none, and :func:`_values_as_written` looks it up.

    One scan of the rows used, for the few that hold such a value; the listing is in Arrow.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from tierwise.engine import Engine, ROW
    >>> from tierwise.settings import Settings
    >>> eng = Engine()
    >>> raw = eng.from_arrow(pa.table({"customer_id": ["A", "B"], "employees": ["ca. 50", "7"],
    ...                                ROW: [2, 3]}))
    >>> t = canonicalize(raw, "customers", Settings(), eng, file="c.csv")
    >>> eng.to_arrow(split_rejects(t, "c.csv", "customers")[0]).column("employees").to_pylist()
    [None, 7.0]
    >>> emptied_values(eng, t, "c.csv", "customers").select(["row", "column", "reason"]).to_pylist()
    [{'row': 2, 'column': 'employees', 'reason': 'employees is not a number'}]
    """
    marks = [c for c in t.columns if c.startswith(_EMPTIED)]
    listing = REJECT_SCHEMA.empty_table()
    if not marks:
        return listing
    hit = t.filter(t[REASON].isnull() & ibis.or_(*[t[m].notnull() for m in marks]))
    got = engine.to_arrow(hit.select(ROW, *marks), f"the values emptied in {file}")
    parts = []
    for k, m in enumerate(marks):
        rows = got.filter(pc.is_valid(got.column(m)))
        n = rows.num_rows
        if not n:
            continue
        column, reason = (
            pc.list_element(pc.split_pattern(rows.column(m), _SEP, max_splits=1), i) for i in (0, 1)
        )
        parts.append(
            pa.table(
                {
                    "file": pa.array([file] * n, pa.string()),
                    "table": pa.array([table] * n, pa.string()),
                    "row": rows.column(ROW).cast(pa.int64()),
                    "column": column,
                    "reason": reason,
                    "value": pa.nulls(n, pa.string()),
                    "_k": pa.array([k] * n, pa.int64()),
                }
            )
        )
    if not parts:
        return listing
    both = pa.concat_tables(parts).sort_by([("row", "ascending"), ("_k", "ascending")])
    return both.drop_columns(["_k"]).cast(REJECT_SCHEMA)


def _values_as_written(engine: Engine, listing: pa.Table, raw: ir.Table, what: str) -> pa.Table:
    """``listing`` (rejects.csv's layout and ``_as_written``) without ``_as_written``, the
    value of each row it marks the text the input holds in that row and column (``raw``,
    the input as read): a number as ``1.234,50``, a date as ``31.12.2025``, an id with its
    leading zeros and spaces. A value from a typed column (Parquet, a database) is its
    text (a float as Python writes it); where the input holds none (a cell a setting
    filled) the value as read stays.

    The rows marked are joined to the input by row in the engine, and only when there are
    any: no scan of the input otherwise.
    """
    marked = listing.column(_LOOKUP).fill_null(False)
    out = listing.drop_columns([_LOOKUP])
    at = pc.indices_nonzero(marked)
    if not len(at):
        return out
    wanted = out.take(at)
    names = [
        c
        for c in dict.fromkeys(wanted.column("column").to_pylist())
        if c is not None and c != ROW and c in raw.columns
    ]
    if not names:
        return out
    keys = engine.from_arrow(
        pa.table(
            {
                "_at": at.cast(pa.int64()),
                "_r": wanted.column("row").cast(pa.int64()),
                "_c": wanted.column("column"),
            }
        )
    )
    cells = raw.select(_r=raw[ROW].cast("int64"), **{f"_w{i}": raw[c] for i, c in enumerate(names)})
    j = keys.join(cells, "_r")
    for i in range(len(names)):
        cell = j[f"_w{i}"]
        if cell.type().is_floating():
            # as rejects.csv shows a typed float (1e+20, 9007199254740992.0)
            j = _float_text(j.mutate(**{f"_s{i}": cell.cast(str)}), f"_s{i}", f"_t{i}").view()
        else:
            j = j.mutate(**{f"_t{i}": cell.cast(str)}).view()
    text = ibis.cases(*[(j._c == c, j[f"_t{i}"]) for i, c in enumerate(names)], else_=None)
    got = engine.to_arrow(j.select("_at", _v=text.nullif("").substr(0, _VALUE_CHARS)), what)
    got = got.filter(pc.is_valid(got.column("_v"))).sort_by("_at")
    if not got.num_rows:
        return out
    mask = np.zeros(out.num_rows, dtype=bool)
    mask[got.column("_at").to_numpy()] = True
    value = pc.replace_with_mask(
        out.column("value").combine_chunks(), pa.array(mask), got.column("_v").combine_chunks()
    )
    return out.set_column(out.schema.get_field_index("value"), "value", value)


def _out_of_range_reasons(table: str, vs: ValidateSettings, today: dt.date) -> set[str]:
    """The reasons of the range rules that empty a value of ``table`` (:data:`Rule`)."""
    spec = TABLES[table]
    nulls = {c.name: ibis.null(_IBIS_TYPES[c.kind]) for c in spec.input_columns}
    return {
        why
        for fraction in (False, True)
        for _, _, why, alone in _range_rules(table, nulls, vs, today, fraction=fraction)
        if alone
    }


def _warn_emptied(
    emptied: pa.Table,
    canonical: Mapping[str, str],
    table: str,
    warnings: list[str],
    out_of_range: Collection[str] = (),
) -> None:
    """One warning per column of an input whose values were emptied (:func:`emptied_values`):
    how many, the first with its row, value and reason, and what to do. ``out_of_range``
    are the reasons of a value read but out of its plausible range; the others are a value
    that could not be read."""
    # the listing is in order of row: a column's first row is its first in the listing
    for column in dict.fromkeys(emptied.column("column").to_pylist()):
        of_column = emptied.filter(pc.equal(emptied.column("column"), column))
        first = of_column.slice(0, 1).to_pylist()[0]
        n = of_column.num_rows
        name = canonical.get(column, column)
        read_as = "" if column_key(column) == name else f" (read as {name})"
        value = "an empty value" if first["value"] is None else repr(first["value"])
        ranged = pc.is_in(of_column.column("reason"), pa.array(sorted(out_of_range), pa.string()))
        n_range = pc.sum(ranged.cast(pa.int64())).as_py() or 0
        was = "was" if n == 1 else "were"
        if not n_range:
            what = "could not be read"
        elif n_range == n:
            what = f"{was} out of range"
        else:
            what = f"could not be read or {was} out of range"
        warnings.append(
            f"{first['file']}: {count_text(n, 'value')} of column {column!r}{read_as} "
            f"{what} and {was} emptied, "
            f"{'its row' if n == 1 else 'their rows'} kept (first: row {first['row']}, "
            f"{value}: {first['reason']}); correct the file, or map the column that holds "
            f"{name} in [{table}.columns]; the run's emptied_values.csv lists "
            f"{'it' if n == 1 else 'each'}"
        )


def _fold(text: ir.Value) -> ir.StringValue:
    """Text in one spelling (a column declared ``fold``): lower case, each run of spaces
    and hyphens one underscore (``Order Change`` and ``order-change`` are ``order_change``).
    Text arrives trimmed."""
    return text.cast("string").lower().re_replace(FOLD_SEPARATORS, "_")


# -- every input together ----------------------------------------------------------------


@dataclass
class InputAccount:
    """Row accounting of one input: every row read is used or rejected.

    ``sha256`` is the checksum of a file's bytes; a database table has none (``""``, left
    out of the manifest) and is named by ``table`` instead, with the rows read.
    """

    path: str
    sha256: str
    rows_read: int
    rows_used: int
    rows_rejected: int
    table: str | None = None

    def as_dict(self) -> dict[str, Any]:
        where: dict[str, Any] = {"path": self.path}
        if self.table is not None:
            where["table"] = self.table
        if self.sha256:
            where["sha256"] = self.sha256
        return {
            **where,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_rejected": self.rows_rejected,
        }


@dataclass
class Validated:
    """The inputs after validation: the rows used, the rejects and the accounting."""

    #: the analysis date (the last transaction's date when none was given)
    as_of: dt.date
    #: canonical tables of the rows used, by input name
    used: dict[str, ir.Table]
    #: every row not used, in rejects.csv's layout, by input and row
    rejects: pa.Table
    accounts: dict[str, InputAccount]
    #: every value emptied in a row used (an optional value that cannot be read), in
    #: rejects.csv's layout, by input, row and column: emptied_values.csv
    emptied: pa.Table = field(default_factory=REJECT_SCHEMA.empty_table)


#: from this many lines on, a file whose lines all name one customer, or are mostly returns,
#: is worth a warning (a handful of lines may well be so)
_SHAPE_MIN_LINES = 50


def _warn_transactions_shape(
    shape: dict[str, Any],
    n_lines: int,
    file: str,
    settings: Settings,
    warnings: list[str],
    quantity: str | None = None,
    ledger: tuple[str, str] | None = None,
) -> None:
    """Warn of a transactions file whose lines all name one customer (a ledger's account
    column mapped as customer_id) or are mostly returns with a negative net (an accounting
    export whose sales are credits, written negative, or a stock ledger whose sales issue a
    negative ``quantity``, the column read as it; where revenue is the ``ledger``'s debit
    and credit columns, the other ``[transactions] ledger_sale_side``)."""
    if n_lines < _SHAPE_MIN_LINES:
        return
    source = settings.table_input("transactions").columns
    if shape["first_id"] == shape["last_id"]:
        column = source.get("customer_id", "customer_id")
        warnings.append(
            f"{file}: every one of the {n_lines:,} lines names the same customer "
            f"({shape['first_id']!r}, column {column!r}): check the mapping in [transactions."
            "columns] customer_id (an account or ledger code repeated on every line is no "
            "customer)"
        )
    net, negative = float(shape["net"] or 0.0), int(shape["n_negative"] or 0)
    if net < 0 and negative > n_lines / 2 and ledger is not None:
        side = settings.table_input("transactions").ledger_sale_side
        other = "credit" if side == "debit" else "debit"
        accounts = "revenue accounts" if other == "credit" else "customers' accounts"
        warnings.append(
            f"{file}: {negative:,} of the {n_lines:,} lines ({negative / n_lines:.0%}) are "
            f"returns and the net revenue is {net:,.0f}: revenue is {ledger[0]!r} − "
            f"{ledger[1]!r} read with sales on the {side} side, and the lines may book them "
            f"on the {other} side ({accounts}); set [transactions] ledger_sale_side = "
            f'"{other}"'
        )
    elif net < 0 and negative > n_lines / 2:
        column = source.get("revenue", "revenue")
        warnings.append(
            f"{file}: {negative:,} of the {n_lines:,} lines ({negative / n_lines:.0%}) are "
            f"returns and the net revenue is {net:,.0f}: the file may write sales as "
            f"negative amounts (an accounting export's credits); map a column of sales written "
            f"positive as revenue in [transactions.columns] (now {column!r})"
            + (
                f"; a negative quantity makes a line a return too: where {quantity!r} is "
                "negative for a sale (a stock ledger's goods issued, as Business Central's "
                "Value Entries write them), map a quantity written positive for a sale as "
                "quantity, or none"
                if quantity is not None
                else ""
            )
        )


#: a number as a spreadsheet shows one too long for its cell, in scientific notation
#: (``4.00125E+11``): the digits after the fifth or so are lost
_SCIENTIFIC_ID = r"^[0-9](\.[0-9]+)?[eE]\+[0-9]+$"


def _warn_scientific_ids(
    shape: dict[str, Any], file: str, settings: Settings, warnings: list[str]
) -> None:
    """Warn of customer ids written in scientific notation (``4.00125E+11``), as Excel saves
    a long account number it was not told is text: their last digits are lost, and the
    customers who differ only in them are read as one."""
    n = int(shape["n_sci_ids"] or 0)
    if not n:
        return
    column = settings.table_input("transactions").columns.get("customer_id", "customer_id")
    warnings.append(
        f"{file}: {count_text(n, 'line')} {'names' if n == 1 else 'name'} the customer "
        f"(column {column!r}) in scientific "
        f"notation, as {shape['sci_id']!r}, as Excel saves a long number: its last digits are "
        "lost and customers who differ only in them are read as one; export the file again "
        "from the source system, or format the column as text in Excel before saving"
    )


#: a customer id holding several, separated by ";" (HubSpot's Associated Company IDs of a deal
#: of several companies: 123;456)
_SEVERAL_IDS = r"[^;\s]\s*;\s*[^;\s]"
#: an HTML entity (&amp;, &#39;), whose ";" separates no ids
_HTML_ENTITY = r"&#?\w+;"


def _warn_several_ids(shape: dict[str, Any], file: str, column: str, warnings: list[str]) -> None:
    """Warn of customer ids that hold several ids separated by ";" (``123;456``), as
    HubSpot's deals export names the companies of a deal: each such value is read as one
    customer of its own."""
    n = int(shape["n_several_ids"] or 0)
    if not n:
        return
    warnings.append(
        f"{file}: the customer id (column {column!r}) of {count_text(n, 'line')} holds "
        f"several ids separated by ';' (first: {shape['several_id']!r}), as HubSpot's "
        "Associated Company IDs does for a deal of several companies: each such value is "
        "read as one customer of its own; export the lines so that each names one customer, "
        "or map a column that does as customer_id in [transactions.columns]"
    )


def _warn_placeholder_ids(
    rejects: pa.Table, file: str, table: str, settings: Settings, warnings: list[str]
) -> None:
    """Say how many rows of a table naming customers were rejected for a customer id that
    stands for no customer, and which ids."""
    hit = pc.equal(rejects.column("reason"), _PLACEHOLDER_REASON)
    n = int(pc.sum(hit.cast(pa.int64())).as_py() or 0)
    if not n:
        return
    ids = pc.value_counts(rejects.filter(hit).column("value")).to_pylist()
    ids.sort(key=lambda v: (-v["counts"], str(v["values"])))
    shown = ", ".join(f"{v['values']!r} ({v['counts']:,})" for v in ids[:3])
    shown += ", …" if len(ids) > 3 else ""
    column = settings.table_input(table).columns.get("customer_id", "customer_id")
    verb, were = ("names", "is") if n == 1 else ("name", "are")
    if table == "transactions":
        warnings.append(
            f"{file}: {count_text(n, 'line')} {verb} a customer id that stands for no customer "
            f"({shown}: a guest checkout or a walk-in sale) and {were} left out, since many "
            f"buyers under one id would be one large customer; map a column every buyer has, "
            f"such as its e-mail, as customer_id (now {column!r}), or set [validate] "
            f"placeholder_ids = [] to keep them as one"
        )
        return
    warnings.append(
        f"{table}: {count_text(n, 'row')} of {file} {verb} in column {column!r} a customer "
        f"id that stands for no customer ({shown}) and {were} left out, as the transaction "
        "lines naming one are; set [validate] placeholder_ids = [] to read such ids as "
        "customers"
    )


#: the share of the sale lines with a cost whose cost is negative from which
#: ``[transactions] cost_sign = "auto"`` reads the costs as posted negative
_NEGATIVE_COST_SHARE = 0.8


def _warn_excess_discounts(
    got: dict[str, Any],
    file: str,
    column: str,
    order: str | None,
    warnings: list[str],
) -> None:
    """Warn of the lines whose discount_amount exceeds their unit_price × quantity
    (:func:`_derive_transaction_columns`): by how much in all, and how much of it is left
    uncounted (all of it without order_id; with order_id, what exceeds its whole order)."""
    n, lost = int(got["n_excess"]), float(got["lost"] or 0.0)
    said = (
        f"{file}: the discount ({column!r}) of {count_text(n, 'line')} is larger than the "
        f"line's unit_price × quantity (first: row {got['excess_row']}), by "
        f"{float(got['excess'] or 0.0):,.2f} in all"
    )
    if order is None:
        warnings.append(
            f"{said}: {'its' if n == 1 else 'their'} revenue is 0 and the {lost:,.2f} beyond "
            "it is left uncounted; an order's discount written on one of its lines "
            "(Shopify's Discount Amount, on the order's first line) is taken off the "
            "order's other lines where the order number is mapped as order_id in "
            "[transactions.columns]"
        )
        return
    said += (
        f", taken off the other lines of the same order ({order!r}) in proportion to their amounts"
    )
    if lost:
        n_orders = int(got["n_lost"])
        said += (
            f"; {lost:,.2f} of it, on {count_text(n_orders, 'order')}, is larger than "
            f"{'its' if n_orders == 1 else 'their'} lines together and left uncounted"
        )
    warnings.append(said)


def _costs_posted_negative(
    shape: dict[str, Any], n_lines: int, file: str, settings: Settings, warnings: list[str]
) -> bool:
    """Whether the cost column posts a sale's cost negative (``[transactions] cost_sign``),
    said as a warning when decided from the lines."""
    ti = settings.table_input("transactions")
    if ti.cost_sign != "auto":
        return ti.cost_sign == "negative"
    negative = int(shape["sale_cost_negative"] or 0)
    with_cost = negative + int(shape["sale_cost_positive"] or 0)
    if n_lines < _SHAPE_MIN_LINES or not negative or negative < _NEGATIVE_COST_SHARE * with_cost:
        return False
    column = ti.columns.get("cost") or ti.columns.get("unit_cost") or "cost"
    warnings.append(
        f"{file}: the cost ({column!r}) is negative on {negative:,} of the {with_cost:,} sale "
        f"lines with a cost ({negative / with_cost:.0%}), as an ERP posts the cost of goods "
        "issued: each sale's cost is read with its sign turned, so that margin is revenue "
        'less cost; set [transactions] cost_sign = "positive" to read the signs as written'
    )
    return True


def validate_inputs(
    canon: dict[str, ir.Table],
    raws: dict[str, RawInput],
    settings: Settings,
    engine: Engine,
    *,
    as_of: dt.date | None,
    today: dt.date,
    warnings: list[str],
) -> Validated:
    """Split every canonical input into the rows used and the rejects, across tables.

    The rules that need more than one row or more than one table run here: the checks of
    the transactions (:func:`check_transactions`) and whether their order prefix marks
    cancellations, a repeated key (the first row keeps it), and a row of a table declared
    ``known_customers`` (activities, payments) naming a customer neither in the master nor
    in the transactions. Every row read is used or rejected; an input whose rows do not add
    up stops the run.

    Raises
    ------
    InputError
        When no transaction row can be used (the commonest reasons named).
    """
    tx_file = raws["transactions"].path
    # each input's columns by the canonical names they are read as, for the rejects of the
    # rules below to name the file's column
    sources = {
        name: match_columns(
            raw.source_columns or [c for c in raw.table.columns if c != ROW],
            TABLES[name],
            settings.table_input(name),
            file=raw.path,
        )
        for name, raw in raws.items()
    }

    def source(name: str, column: str) -> str:
        return sources[name].get(column) or column

    loose_master = settings.validate_.id_leading_zeros == "ignore" and MASTER_IDS_TABLE in canon
    if loose_master:
        # ids are matched without their leading zeros but shown as the master writes them:
        # its ids that zeros set apart, joined to every other table's customer ids
        canon[MASTER_IDS_TABLE] = reject_duplicate_keys(
            canon[MASTER_IDS_TABLE],
            TABLES[MASTER_IDS_TABLE].key,
            without_leading_zeros=True,
            column=source(MASTER_IDS_TABLE, TABLES[MASTER_IDS_TABLE].key[0]),
        )
        forms = _master_id_forms(
            engine, canon[MASTER_IDS_TABLE], raws[MASTER_IDS_TABLE].path, warnings
        )
        for name in canon:
            if name != MASTER_IDS_TABLE and "customer_id" in TABLES[name].names:
                canon[name] = _in_master_form(canon[name], forms)
    if "customers" in canon:
        _salesforce_short_ids(
            engine,
            canon,
            {name: raw.path for name, raw in raws.items()},
            {name: source(name, "customer_id") for name in canon},
            warnings,
        )
    tx = check_transactions(
        canon["transactions"],
        settings,
        as_of=as_of,
        today=today,
        engine=engine,
        file=tx_file,
        warnings=warnings,
        decide_cancel=False,
    )
    tx = store_checked(engine, tx, "tw_checked_transactions")
    # whether the cancel prefix marks cancellations is decided on the checked table, in the
    # engine, without reading the file again
    flagged = sources["transactions"]["is_return"] is not None
    tx = decide_cancellations(
        tx, settings, engine=engine, file=tx_file, warnings=warnings, returns_flagged=flagged
    )
    tx = reject_totals_rows(
        tx, file=tx_file, warnings=warnings, column=source("transactions", "customer_id")
    )
    tx_used, tx_rejects = split_rejects(tx, tx_file, "transactions", as_written=True)
    n_tx_used = engine.count(tx_used, "usable transaction rows")
    if n_tx_used == 0:
        raise InputError(
            "no usable transaction rows: " + _top_reasons(engine, tx_rejects, raws["transactions"]),
            file=tx_file,
            hint="fix the rows, the column mapping or the analysis date --as-of / as_of=, then "
            "run again; no output was written",
        )
    # the lines whose customer id is in scientific notation (_warn_scientific_ids)
    sci_ids = tx_used.customer_id.re_search(_SCIENTIFIC_ID)
    # the lines whose customer id holds several (_warn_several_ids)
    # (an HTML entity, AT&amp;T or O&#39;Brien, is no separator)
    several_ids = tx_used.customer_id.contains(";") & tx_used.customer_id.re_replace(
        _HTML_ENTITY, ""
    ).re_search(_SEVERAL_IDS)
    shape = engine.to_arrow(
        tx_used.aggregate(
            last=tx_used.date.max(),
            first_id=tx_used.customer_id.min(),
            last_id=tx_used.customer_id.max(),
            n_negative=_n(tx_used.revenue < 0),
            net=tx_used.revenue.sum(),
            sale_cost_negative=_n((tx_used.revenue > 0) & (tx_used.cost < 0)),
            sale_cost_positive=_n((tx_used.revenue > 0) & (tx_used.cost > 0)),
            n_sci_ids=_n(sci_ids),
            sci_id=tx_used.customer_id.min(where=sci_ids),
            n_several_ids=_n(several_ids),
            several_id=tx_used.customer_id.min(where=several_ids),
        ),
        "the last transaction date",
    ).to_pylist()[0]
    tx_sources = sources["transactions"]
    debit, credit = tx_sources["debit_amount"], tx_sources["credit_amount"]
    _warn_transactions_shape(
        shape,
        n_tx_used,
        tx_file,
        settings,
        warnings,
        tx_sources["quantity"],
        ledger=(debit, credit) if debit and credit and not tx_sources["revenue"] else None,
    )
    _warn_scientific_ids(shape, tx_file, settings, warnings)
    _warn_several_ids(shape, tx_file, source("transactions", "customer_id"), warnings)
    if _costs_posted_negative(shape, n_tx_used, tx_file, settings, warnings):
        tx_used = tx_used.mutate(cost=ibis.ifelse(tx_used.is_return, tx_used.cost, -tx_used.cost))
    last = shape["last"]
    last = last if isinstance(last, dt.date) else dt.date.fromisoformat(str(last)[:10])
    implicit = as_of is None
    if as_of is None:
        as_of = last
    elif (as_of - last).days > AS_OF_GAP_DAYS:
        warnings.append(
            f"the analysis date {as_of.isoformat()} is {(as_of - last).days:,} days "
            f"after the last transaction ({last.isoformat()}) of {tx_file}: every customer "
            "looks inactive, its recency measured from that date; leave out --as-of ([run] "
            "as_of) to measure from the last transaction, or check that the file holds the "
            "latest sales"
        )
    used: dict[str, ir.Table] = {"transactions": tx_used}
    reject_parts: dict[str, ir.Table] = {"transactions": tx_rejects}
    #: the checked tables whose rows used may hold values emptied (emptied_values): the
    #: transactions' where a value may be (a discount_percent no amount is derived from)
    checked: dict[str, ir.Table] = {}
    if any(c.startswith(_EMPTIED) for c in tx.columns):
        checked["transactions"] = tx

    others = [n for n in canon if n != "transactions"]
    for name in others:
        spec = TABLES[name]
        if spec.key and not (loose_master and name == MASTER_IDS_TABLE):
            canon[name] = reject_duplicate_keys(
                canon[name], spec.key, column=source(name, spec.key[0])
            )
    # tables that name customers are checked against every customer known: the master's
    # and the transactions'
    for name in (n for n in others if not TABLES[n].known_customers):
        t = checked[name] = store_checked(engine, canon[name])
        if name == "market":
            _warn_growth_as_percentages(engine, t, raws[name].path, warnings)
        used[name], reject_parts[name] = split_rejects(t, raws[name].path, name, as_written=True)
    ids = [tx_used.select("customer_id")]
    if "customers" in used:
        ids.append(used["customers"].select("customer_id"))
    if any(TABLES[n].known_customers for n in others):
        known_ids = ibis.union(*ids) if len(ids) > 1 else ids[0]
        known = engine.materialize(known_ids.distinct(), "tw_known_customers")
        for name in (n for n in others if TABLES[n].known_customers):
            t = canon[name]
            if name == "activities" and implicit:
                # an activity after the analysis date is no part of the analysis, as with
                # an --as-of given (canonicalize): rejected, so the rows said used are those
                # counted
                t = reject_if(
                    t,
                    t.date > as_of,
                    source(name, "date"),
                    f"after the analysis date {as_of.isoformat()}, the last transaction date "
                    "(give --as-of to analyse up to a later date)",
                    AsWritten(_date_text(t.date)),
                )
            if "customers" in used:
                t = customers_by_name(
                    engine,
                    t,
                    used["customers"],
                    known,
                    file=raws[name].path,
                    table=name,
                    column=source(name, "customer_id"),
                    master_file=raws["customers"].path,
                    master_column=source("customers", "name"),
                    warnings=warnings,
                )
            t = checked[name] = store_checked(
                engine,
                reject_unknown_customers(t, known, name, column=source(name, "customer_id")),
            )
            used[name], reject_parts[name] = split_rejects(
                t, raws[name].path, name, as_written=True
            )
            _warn_near_ids(engine, reject_parts[name], known, raws[name].path, name, warnings)

    reject_tables = []
    emptied_tables = []
    accounts: dict[str, InputAccount] = {}
    for name, raw in raws.items():
        rej = engine.to_arrow(reject_parts[name], f"rejects of {name}")
        rej = _values_as_written(engine, rej, raw.table, f"the rejected values of {raw.path}")
        rej = pa.concat_tables([raw.malformed, rej.cast(REJECT_SCHEMA)]).sort_by(
            [("row", "ascending")]
        )
        if name in checked:
            emptied = emptied_values(engine, checked[name], raw.path, name)
            if emptied.num_rows:
                emptied = _values_as_written(
                    engine,
                    emptied.append_column(_LOOKUP, pa.repeat(True, emptied.num_rows)),
                    raw.table,
                    f"the values emptied in {raw.path}",
                )
                read_as = {src: c for c, src in sources[name].items() if src is not None}
                out_of_range = _out_of_range_reasons(name, settings.validate_, today)
                _warn_emptied(emptied, read_as, name, warnings, out_of_range)
                emptied_tables.append(emptied)
        n_read = engine.count(raw.table, f"rows of {raw.path}") + raw.n_malformed
        n_used = (
            n_tx_used if name == "transactions" else engine.count(used[name], f"rows of {name}")
        )
        account = InputAccount(
            raw.path, raw.checksum(), n_read, n_used, rej.num_rows, table=raw.database_table
        )
        if account.rows_read != account.rows_used + account.rows_rejected:
            raise EngineError(
                f"{raw.path}: row accounting does not add up: read {n_read}, used {n_used}, "
                f"rejected {rej.num_rows}"
            )
        _refuse_other_names(
            rej, raw.path, name, engine, raw.table, [s for s in sources[name].values() if s]
        )
        accounts[name] = account
        reject_tables.append(rej)
        if "customer_id" in TABLES[name].names:
            _warn_placeholder_ids(rej, raw.path, name, settings, warnings)
        if name == "reps" and rej.num_rows:
            # a rep left out changes the plan's capacity: say which, not only in rejects.csv
            first = rej.slice(0, 1).to_pylist()[0]
            warnings.append(
                f"reps: {count_text(rej.num_rows, 'row')} of {raw.path} rejected, so the "
                f"coverage plan is made without {'that rep' if rej.num_rows == 1 else 'them'}"
                f" (first: row {first.get('row')}, column {first.get('column')}: "
                f"{first.get('reason')}); correct the reps file (rejects.csv lists them all)"
            )
    for name in others:
        acc = accounts[name]
        if acc.rows_used:
            continue
        if name == "reps":
            # without its reps the coverage plan would have no limit on hours: never that
            # in silence
            raise InputError(
                f"no usable rep row ({count_text(acc.rows_read, 'row')} read): "
                + _top_reasons(engine, reject_parts[name], raws[name]),
                file=acc.path,
                hint="correct the reps file, or leave --reps out to plan without limits on "
                "the reps' hours",
            )
        # a table without a row to use is left out, as if not given: a stage reading it
        # would otherwise find an empty table and blame its columns
        del used[name]
        if acc.rows_read:
            warnings.append(
                f"{name}: every row of {acc.path} was rejected "
                f"({count_text(acc.rows_read, 'row')}), so the run goes on without it: "
                f"{_top_reasons(engine, reject_parts[name], raws[name])}; rejects.csv lists "
                "every row and why: correct the file and run again"
            )
        elif name == "customers":
            what = "a header, no data rows" if _has_header(raws[name]) else "no rows"
            warnings.append(
                f"customers: the customer master {acc.path} is empty ({what}), so every "
                "customer is analysed without master data: export it again with its rows"
            )
        else:
            warnings.append(
                f"{name}: {acc.path} {_no_rows(raws[name])}, so the run goes on without it: "
                "export it again with its rows"
            )
    if "customers" in used:
        master = used["customers"].select("customer_id")
        bought = tx_used.select("customer_id").distinct()
        missing = bought.filter(~bought.customer_id.isin(master.customer_id))
        n_unknown = engine.count(missing, "customers missing from the master")
        if n_unknown:
            keys = master.select(k=_loose_id(master.customer_id))
            n_near = engine.count(
                missing.filter(_loose_id(missing.customer_id).isin(keys.k)),
                "customers missing from the master that differ by leading zeros, a decimal "
                "part .0 or case",
            )
            near = (
                f"; {count_text(n_near, 'of them matches', 'of them match')} a master id once "
                "leading zeros, a decimal part .0 and letter case are ignored (as '00042', "
                "'42.0' and '42'): export the ids as text from the program that wrote them as "
                'numbers, or set [validate] id_leading_zeros = "ignore" where the zeros are '
                "the only difference (SAP's tables and lists)"
                if n_near
                else ""
            )
            warnings.append(
                f"{count_text(n_unknown, 'customer')} in the transactions "
                f"{'is' if n_unknown == 1 else 'are'} not in the customer master: analysed "
                f"without master data (add to the customers file){near}"
            )
    return Validated(
        as_of=as_of,
        used=used,
        rejects=pa.concat_tables([REJECT_SCHEMA.empty_table(), *reject_tables]),
        accounts=accounts,
        emptied=pa.concat_tables([REJECT_SCHEMA.empty_table(), *emptied_tables]),
    )


def _warn_growth_as_percentages(
    engine: Engine, market: ir.Table, file: str, warnings: list[str]
) -> None:
    """One warning when most growth rates of the market table's rows used are above 1: the
    column holds percentages written without their sign. Each such value is emptied (and
    said in the column's warning of values emptied); this one also names the values at or
    below 1, kept as fractions though they are likely percentages too (0.4 read as 40% a
    year)."""
    mark = _EMPTIED + "growth_rate"
    if mark not in market.columns:
        return
    rows = market.filter(market[REASON].isnull())
    above = rows[mark].endswith(_SEP + GROWTH_ABOVE_ONE).fill_null(False)
    stats = engine.to_arrow(
        rows.aggregate(
            n=(rows.growth_rate.notnull() | above).cast("int64").sum(),
            above=above.cast("int64").sum(),
            mark=rows[mark].max(where=above),
        ),
        f"the growth rates of {file}",
    ).to_pylist()[0]
    n, n_above = int(stats["n"] or 0), int(stats["above"] or 0)
    if not n or 2 * n_above <= n:
        return
    column = (stats["mark"] or "growth_rate").split(_SEP, 1)[0]
    kept = "its row kept" if n_above == 1 else "their rows kept"
    if n_above == n:
        which = (
            f"every growth rate is above 1 (100% a year; {count_text(n, 'value')} emptied, {kept})"
        )
        rest = ""
    else:
        which = f"{n_above:,} of {n:,} growth rates are above 1 (100% a year; emptied, {kept})"
        rest = (
            "; the other value is read as a fraction"
            if n - n_above == 1
            else f"; the other {n - n_above:,} values are read as fractions"
        ) + " (0.4 as 40% a year) and likely percentages too"
    warnings.append(
        f"{file}: column {column!r}: {which}, so the column looks like percentages written "
        f"without the % sign{rest}; write 0.035 or 3.5% for 3.5%"
    )


def future_analysis_date(as_of: dt.date, today: dt.date, vs: ValidateSettings) -> str | None:
    """Why ``as_of`` cannot be the analysis date (it is after today, beyond the tolerance
    future-dated rows get), or None.

    Examples
    --------
    >>> from tierwise.settings import Settings
    >>> vs = Settings().validate_
    >>> future_analysis_date(dt.date(2024, 1, 2), dt.date(2024, 1, 1), vs) is None
    True
    >>> future_analysis_date(dt.date(2030, 1, 1), dt.date(2024, 1, 1), vs)[:42]
    '2030-01-01 is after today (2024-01-01; the'
    """
    limit = today + dt.timedelta(days=vs.future_tolerance_days)
    if as_of <= limit:
        return None
    return (
        f"{as_of.isoformat()} is after today ({today.isoformat()}; the latest date taken, "
        f"with [validate] future_tolerance_days, is {limit.isoformat()}): every customer "
        "would look inactive; give a date up to today, or leave it out for the last "
        "transaction's date"
    )


#: days from the last usable transaction to the analysis date beyond which a warning says
#: every customer looks inactive
AS_OF_GAP_DAYS = 90


def _has_header(raw: RawInput) -> bool:
    """Whether the input's format has a header line (a CSV file, a sheet): a Parquet file
    or a database table has column names, but no header row."""
    return raw.fmt in {"csv", "excel"}


def _no_rows(raw: RawInput) -> str:
    """How an input without rows is described: by its header when its format has one."""
    return "has a header but no data rows" if _has_header(raw) else "has no rows"


def _top_reasons(engine: Engine, rejects: ir.Table, raw: RawInput, n: int = 3) -> str:
    """The commonest reject reasons, for a message when nothing can be used."""
    counts = engine.to_arrow(
        rejects.group_by("reason").aggregate(rows=rejects.count(), first=rejects.row.min())
    ).to_pylist()
    # the rows the reader refused (a formula without a stored value, a blank line), counted
    # by reason as the engine's are
    by_reason = {c["reason"]: c for c in counts}
    for r, row in zip(
        raw.malformed.column("reason").to_pylist(),
        raw.malformed.column("row").to_pylist(),
        strict=True,
    ):
        c = by_reason.setdefault(r, {"reason": r, "rows": 0, "first": row})
        c["rows"] += 1
        c["first"] = min(c["first"], row)
    counts = list(by_reason.values())
    if not counts:
        return "the table has no rows" if raw.fmt == "frame" else f"the file {_no_rows(raw)}"
    counts.sort(key=lambda c: (-c["rows"], c["first"]))
    return "; ".join(
        f"{c['reason']} ({count_text(c['rows'], 'row')}, first at row {c['first']})"
        for c in counts[:n]
    )
