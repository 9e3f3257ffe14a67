"""plan.xlsx: the plan for sales managers and reps, written with XlsxWriter.

Sheets: ``Summary`` (the run, headline figures and one line per rep: the accounts,
contacts and expected contribution of its call list, whatever their channel, and its hours
from rep_plan), ``Definitions`` (segments and tiers, and what each call-list column means),
``Terms`` (trading terms per tier), ``Targets`` (KPI targets), then one sheet per rep: the
call list sorted by priority, with channel, frequency, reason and next best products, a
frozen header, filters and number formats.

Text from the inputs is never a formula or a link: the workbook is opened with
``strings_to_formulas``, ``strings_to_urls`` and ``strings_to_numbers`` off, every text cell
is written as a string, and a text cell that a spreadsheet would run as a formula once
edited (starting with ``=``, ``+``, ``-``, ``@``) carries Excel's quote prefix. A control
character in text (a bell, an escape, a NUL: every C0 control but the tab and the line
breaks, and DEL) is written as U+FFFD, as in the CSV files. Numbers are
number cells, dates and times date cells (Excel's serial numbers with a date format, so
they sort and filter as dates), true and false boolean cells.

The rows of a table that ends its sheet (the call lists, terms, targets: one row per account
or more) are not handed to XlsxWriter cell by cell, which costs tens of microseconds a
cell. Their ``<row>`` elements are made column by column in Arrow and written into the
sheet's ``<sheetData>`` after the rows XlsxWriter holds (:class:`_BulkSheet`): each text cell
an inline string, escaped as XlsxWriter escapes it, each number in its shortest exact
spelling, each cell with the same formats. (Text shaped like XlsxWriter's rich-string markup,
``<r>…</r>``, which XlsxWriter would pass into the XML as it is, is written as text.)

The workbook's zip is written by :class:`~tierwise.report._package.Workbook`: each sheet's
XML is deflated on its own thread while XlsxWriter writes the next sheets, the same bytes as
XlsxWriter's own zip.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from .. import __version__
from ..errors import InputError, SettingsError
from ..io.outputs import (
    follow_umask,
    open_in_office,
    record_rewrite,
    visible_control_text,
    visible_controls,
)
from ..settings.report import ReportSettings
from ..settings.terms import TermsSettings
from ._folder import (
    RunFolder,
    carrying_rep,
    currency_of,
    float_array,
    team_reps,
    text_array,
)
from ._package import Workbook
from .crm import next_best_products

__all__ = ["CALL_LIST_COLUMNS", "write_plan", "write_plan_xlsx"]

_FORMULA_START = r"^[=+\-@\t\r]"

#: Columns of a rep's call list: (name, heading, format, meaning).
CALL_LIST_COLUMNS: list[tuple[str, str, str, str]] = [
    ("priority", "Priority", "int", "1 = call first (by expected contribution of the plan)"),
    ("customer_id", "Account", "text", "tierwise account id"),
    ("name", "Name", "text", "name from the customer master"),
    ("city", "City", "text", "city from the customer master"),
    ("value_class", "Class", "text", "value class after overrides"),
    ("tier", "Tier", "text", "account-management programme"),
    (
        "set_by_hand",
        "Set by hand",
        "wide",
        "the class or tier a person set (overrides_applied.csv): what, by whom, why",
    ),
    (
        "class_move",
        "Class since last run",
        "text",
        "with --previous: the class against the previous run (up from C, down from A, same, "
        "new; was E for a class no longer in the settings)",
    ),
    ("channel", "Channel", "text", "planned channel"),
    ("visits_per_year", "Visits / year", "freq", "planned field visits a year"),
    ("calls_per_year", "Calls / year", "freq", "planned phone calls a year"),
    ("emails_per_year", "E-mails / year", "freq", "planned e-mails a year"),
    (
        "plan_change",
        "Plan change",
        "text",
        "with --previous: what changed against the previous plan (same, new, or rep, "
        "channel, frequency)",
    ),
    ("reason", "Reason", "wide", "why this coverage (coverage_reason, else class_reason)"),
    ("next_best_products", "Next best products", "wide", "what to offer, best first"),
    ("status", "Status", "text", "lifetime status"),
    ("revenue_12m", "Revenue 12m", "money", "revenue over the last 12 months"),
    ("net_profit", "Net profit", "money", "net profit after cost-to-serve"),
    ("clv", "Lifetime value", "money", "customer lifetime value"),
    ("headroom", "Headroom", "money", "wallet not yet ours"),
    (
        "expected_contribution_plan",
        "Expected contribution",
        "money",
        "contribution the plan expects from the account",
    ),
]

_PLAN_COLUMNS = (
    "customer_id",
    "name",
    "city",
    "is_prospect",
    "rep_id",
    "assigned_rep",
    "value_class",
    "tier",
    "channel",
    "visits_per_year",
    "calls_per_year",
    "emails_per_year",
    "plan_change",
    "previous_class",
    "class_change",
    "class_reason",
    "coverage_reason",
    "status",
    "revenue_12m",
    "net_profit",
    "clv",
    "headroom",
    "expected_contribution_plan",
)

_WIDTHS = {
    "int": 9, "text": 16, "freq": 11, "money": 14, "hours": 14, "pct": 10, "wide": 48, "num": 12,
    "whole": 12, "date": 11, "datetime": 16, "bool": 9,
}  # fmt: skip
#: Excel's day 0 (serial numbers count days from it; the 1900 system, from 1 March 1900 on)
_EXCEL_EPOCH = dt.date(1899, 12, 30)
#: the first day whose serial number every spreadsheet reads alike (Excel counts a
#: 29 February 1900 that never was)
_EXCEL_FIRST_DAY = dt.date(1900, 3, 1)


class _Formats:
    """The workbook's cell formats; money shows the run's currency symbol (``[segments]
    currency_symbol``, else the one currency the inputs name: :func:`currency_of`), hours
    none."""

    def __init__(self, wb: xlsxwriter.Workbook, currency: str = "") -> None:
        # the symbol as a literal of the number format: quoted, without quotes of its own,
        # with its space when it has one ("CHF " shows CHF 1,234, as in the reasons)
        symbol = currency.replace('"', "") if currency.strip() else ""
        money = f'"{symbol}"#,##0' if symbol else "#,##0"
        self.header = wb.add_format({"bold": True, "bg_color": "#E8EDF2", "bottom": 1})
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.bold = wb.add_format({"bold": True})
        self.by_kind = {
            "int": wb.add_format({"num_format": "0"}),
            "text": wb.add_format({}),
            "wide": wb.add_format({"text_wrap": False}),
            "freq": wb.add_format({"num_format": "0.0"}),
            "money": wb.add_format({"num_format": money}),
            "hours": wb.add_format({"num_format": "#,##0"}),
            "pct": wb.add_format({"num_format": "0.0%"}),
            "num": wb.add_format({"num_format": "#,##0.00"}),
            # a column of numbers that are all whole (visits a year, counts): no decimals
            "whole": wb.add_format({"num_format": "#,##0"}),
            "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        }
        self.quoted = wb.add_format({"quote_prefix": True})
        self.total_money = wb.add_format({"num_format": money, "bold": True, "top": 1})
        self.total_plain = wb.add_format({"num_format": "#,##0", "bold": True, "top": 1})
        self.total_freq = wb.add_format({"num_format": "0.0", "bold": True, "top": 1})
        self.total_label = wb.add_format({"bold": True, "top": 1})


class _SafeSheet(Worksheet):  # type: ignore[misc]
    """A worksheet on which text shaped like XlsxWriter's rich-string markup (``<r>…</r>``),
    which XlsxWriter would copy into the file as XML, stays text: a zero-width space after
    it breaks the shape (a name from the inputs can never inject XML). A control character
    in text is written as U+FFFD (:func:`~tierwise.io.outputs.visible_control_text`)."""

    def _write_string(
        self, row: int, col: int, string: str, cell_format: Any = None
    ) -> Literal[0, -1, -2]:
        string = visible_control_text(string)
        if string.startswith("<r>") and string.endswith("</r>"):
            string += "\u200b"
        return super()._write_string(row, col, string, cell_format)  # type: ignore[no-any-return]


class _BulkSheet(_SafeSheet):
    """A worksheet that also takes ready ``<row>`` XML for the rows below what XlsxWriter
    holds (:meth:`add_rows`): XlsxWriter writes its own rows, then these, in order."""

    def __init__(self) -> None:
        super().__init__()
        self._bulk: list[Callable[[], Iterator[bytes]]] = []
        self._bulk_last_row = -1
        self._bulk_last_col = -1

    def add_rows(self, rows: Callable[[], Iterator[bytes]], last_row: int, last_col: int) -> None:
        """Rows made by ``rows()`` when the sheet is written (0-based ``last_row`` and
        ``last_col`` are the cells they reach); nothing may be written below them."""
        self._bulk.append(rows)
        self._bulk_last_row = max(self._bulk_last_row, last_row)
        self._bulk_last_col = max(self._bulk_last_col, last_col)

    def _write_dimension(self) -> None:
        if not self._bulk or self.dim_rowmin is None:
            super()._write_dimension()
            return
        rowmax: int = self.dim_rowmax  # type: ignore[has-type]
        colmax: int = self.dim_colmax  # type: ignore[has-type]
        self.dim_rowmax = max(rowmax, self._bulk_last_row)
        self.dim_colmax = max(colmax, self._bulk_last_col)
        try:
            super()._write_dimension()
        finally:
            self.dim_rowmax, self.dim_colmax = rowmax, colmax

    def _write_sheet_data(self) -> None:
        if not self._bulk or self.dim_rowmin is None:
            super()._write_sheet_data()
            return
        self._xml_start_tag("sheetData")
        self._write_rows()
        # the rows' UTF-8 go to the file as they are, after the text written so far
        binary = getattr(self.fh, "buffer", None)
        self.fh.flush()
        for rows in self._bulk:
            for chunk in rows():
                if binary is not None:
                    binary.write(chunk)
                else:
                    self.fh.write(chunk.decode("utf-8"))
        self._xml_end_tag("sheetData")


#: Characters XlsxWriter writes as ``_xHHHH_`` (XML cannot hold them).
_CONTROL = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20))] + ["\ufffe", "\uffff"]
#: Text that would read back as such an escape (its underscore is escaped: ``_x005F``).
_LOOKS_ESCAPED = r"(_x[0-9a-fA-F]{4}_)"
_NEEDS_ESCAPE = r"[\x00-\x08\x0b-\x1f\x{fffe}\x{ffff}]|_x[0-9a-fA-F]{4}_"
#: Leading or trailing white space (what Python's ``\s`` matches): such text is marked
#: ``xml:space="preserve"``.
_EDGE_SPACE = r"^[\t\n\x0b\f\r\p{Z}\x{85}]|[\t\n\x0b\f\r\p{Z}\x{85}]$"
#: The longest text a cell holds, in UTF-16 code units.
_MAX_TEXT = 32767
#: Rows a sheet holds (XlsxWriter leaves out cells below them, and so does the bulk path).
_MAX_ROWS = 1_048_576


class _Bytes:
    """The UTF-8 of a string array's values as NumPy views of Arrow's buffers: what a
    column's text can hold is read from them before any regular expression runs over it.
    A null cell's bytes (which Arrow may keep) are read as a value's: they can only make a
    check say "may", never "cannot"."""

    def __init__(self, text: pa.Array) -> None:
        _, offsets_buf, data_buf = text.buffers()[:3]
        kind = np.int64 if pa.types.is_large_string(text.type) else np.int32
        n = len(text)
        self.offsets: np.ndarray = np.frombuffer(offsets_buf, dtype=kind)[
            text.offset : text.offset + n + 1
        ]
        self.data: np.ndarray = (
            np.frombuffer(data_buf, dtype=np.uint8)
            if data_buf is not None
            else np.zeros(0, np.uint8)
        )
        nonempty = np.diff(self.offsets) > 0
        self.first = self.data[self.offsets[:-1][nonempty]]
        self.last = self.data[self.offsets[1:][nonempty] - 1]
        self.body = self.data[self.offsets[0] : self.offsets[-1]] if n else self.data[:0]

    def any_of(self, chars: bytes) -> bool:
        """Whether a byte of ``chars`` is among the values' bytes (the bytes below a space,
        rare in text, found by one comparison and only those looked up; the others of
        ``chars`` by a comparison each)."""
        low = [c for c in chars if c < 0x20]
        if low:
            below = self.body < 0x20
            if np.count_nonzero(below):
                wanted = np.zeros(0x20, dtype=bool)
                wanted[low] = True
                if wanted[self.body[below]].any():
                    return True
        return any(np.count_nonzero(self.body == c) for c in chars if c >= 0x20)

    def longest(self) -> int:
        """The longest value, in bytes."""
        return int(np.diff(self.offsets).max()) if len(self.offsets) > 1 else 0


#: First bytes of text :data:`_FORMULA_START` matches.
_FORMULA_BYTES = np.frombuffer(b"=+-@\t\r", dtype=np.uint8)
#: Bytes a value starting with :data:`_EDGE_SPACE`'s characters starts with (white space
#: beyond ASCII starts with a byte from 0xC2 on), and bytes a value ending with one ends
#: with (beyond ASCII: a continuation byte, 0x80 on).
_SPACE_BYTES = np.frombuffer(b"\t\n\x0b\x0c\r ", dtype=np.uint8)
#: Bytes of text :data:`_NEEDS_ESCAPE` matches: a control character, the first byte of
#: U+FFFE and U+FFFF, or the underscore of ``_xHHHH_``.
_ESCAPE_BYTES = bytes([*range(0x00, 0x09), *range(0x0B, 0x20), 0xEF, ord("_")])


def _may_edge_space(b: _Bytes) -> bool:
    return bool(
        np.isin(b.first, _SPACE_BYTES).any()
        or (b.first >= 0xC2).any()
        or np.isin(b.last, _SPACE_BYTES).any()
        or (b.last >= 0x80).any()
    )


def _excel_text(text: pa.Array) -> pa.Array:
    """Text cut to what a cell holds, with XlsxWriter's escapes of control characters."""
    b = _Bytes(text)
    if b.longest() <= _MAX_TEXT // 2:
        # no value has more characters than bytes
        long = None
    else:
        long = pc.greater(pc.utf8_length(text), _MAX_TEXT // 2)
    if long is not None and pc.any(long).as_py():
        values = text.to_pylist()
        for i in np.flatnonzero(pc.fill_null(long, False).to_numpy(zero_copy_only=False)):
            values[i] = _utf16_cut(values[i], _MAX_TEXT)
        text = pa.array(values, pa.string())
        b = _Bytes(text)
    if not b.any_of(_ESCAPE_BYTES):
        return text
    if not pc.any(pc.match_substring_regex(text, _NEEDS_ESCAPE)).as_py():
        return text
    text = pc.replace_substring_regex(text, _LOOKS_ESCAPED, r"_x005F\1")
    for ch in _CONTROL:
        text = pc.replace_substring(text, ch, f"_x{ord(ch):04X}_")
    return text


def _utf16_cut(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` UTF-16 code units, never inside a character."""
    units = 0
    for i, ch in enumerate(value):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return value[:i]
    return value


def _xml_escape(text: pa.Array) -> pa.Array:
    b = _Bytes(text)
    for ch, ref in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        if b.any_of(ch.encode()):
            text = pc.replace_substring(text, ch, ref)
    return text


def _blank_empty(text: pa.Array) -> pa.Array:
    """``text`` with each empty string made null: a text cell of no characters is a blank
    cell, not a string cell holding nothing (which a spreadsheet counts with COUNTA and
    finds with "go to non-blank")."""
    b = _Bytes(text)
    if len(b.offsets) < 2 or np.diff(b.offsets).min() > 0:
        return text
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)


def _cells_xml(values: pa.Array, kind: str, refs: pa.Array, fmts: _Formats) -> pa.Array:
    """One column's ``<c>`` elements, "" where the cell is empty (null or text of no
    characters, as :func:`_write_column` writes them through XlsxWriter)."""
    fmt = fmts.by_kind.get(kind, fmts.by_kind["text"])
    style = f'" s="{fmt._get_xf_index()}"'
    if kind in ("text", "wide"):
        text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
        text = visible_controls(_blank_empty(text))
        quoted = f'" s="{fmts.quoted._get_xf_index()}"'
        cell_style: pa.Array | str = style
        if np.isin(_Bytes(text).first, _FORMULA_BYTES).any():
            risky = pc.fill_null(pc.match_substring_regex(text, _FORMULA_START), False)
            cell_style = pc.if_else(risky, quoted, style)
        shown = _excel_text(text)
        open_t: pa.Array | str = "<t>"
        if _may_edge_space(_Bytes(shown)):
            keep = pc.match_substring_regex(shown, _EDGE_SPACE)
            open_t = pc.if_else(keep, '<t xml:space="preserve">', "<t>")
        cell = pc.binary_join_element_wise(
            '<c r="',
            refs,
            cell_style,
            ' t="inlineStr"><is>',
            open_t,
            _xml_escape(shown),
            "</t></is></c>",
            "",
        )
    elif pa.types.is_boolean(values.type):
        flag = pc.if_else(values, "1", "0")
        cell = pc.binary_join_element_wise('<c r="', refs, '" t="b"><v>', flag, "</v></c>", "")
    else:
        num = pc.cast(values, pa.float64())
        num = pc.if_else(pc.is_finite(num), num, None)
        cell = pc.binary_join_element_wise(
            '<c r="', refs, style, "><v>", pc.cast(num, pa.string()), "</v></c>", ""
        )
    return pc.fill_null(cell, "")


#: Rows of a table whose XML is made at a time (bounds the memory of the XML in flight).
_BULK_ROWS = 20_000


class _RowSource:
    """The ``<row>`` elements of a table's rows, made in Arrow a block of rows at a time.

    ``cols`` are the table's columns (values and kind, as :func:`_prepared` gives them) and
    ``row_numbers`` each row's 1-based row on its sheet. One source serves several sheets
    that each hold a run of consecutive rows (the call lists, one per rep): asked for its
    rows in order, it makes each block once.
    """

    def __init__(
        self, cols: Sequence[tuple[pa.Array, str]], row_numbers: np.ndarray, fmts: _Formats
    ) -> None:
        self.cols = cols
        self.row_numbers = row_numbers
        self.fmts = fmts
        self._block = -1
        self._xml: pa.Array | None = None

    def rows(self, a: int, b: int) -> Iterator[bytes]:
        """The XML of rows ``a`` to ``b - 1``, UTF-8."""
        pos = a
        while pos < b:
            block = pos // _BULK_ROWS
            if block != self._block:
                self._xml, self._block = self._make(block * _BULK_ROWS), block
            assert self._xml is not None
            start = block * _BULK_ROWS
            end = min(b, start + len(self._xml))
            yield _joined_bytes(self._xml, pos - start, end - start)
            pos = end

    def _make(self, lo: int) -> pa.Array:
        size = min(_BULK_ROWS, len(self.row_numbers) - lo)
        numbers = pc.cast(pa.array(self.row_numbers[lo : lo + size]), pa.string())
        cells = [
            _cells_xml(
                values.slice(lo, size),
                kind,
                pc.binary_join_element_wise(xl_col_to_name(j), numbers, ""),
                self.fmts,
            )
            for j, (values, kind) in enumerate(self.cols)
        ]
        return pc.binary_join_element_wise('<row r="', numbers, '">', *cells, "</row>", "")


def _joined_bytes(text: pa.Array, a: int, b: int) -> bytes:
    """The UTF-8 of values ``a`` to ``b - 1`` of a string array, one after the other (what
    ``"".join`` of them gives, read from Arrow's buffers)."""
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    valid = text.slice(a, b - a)
    if valid.null_count:
        valid = pc.fill_null(valid, "")
    _, offsets_buf, data_buf = valid.buffers()[:3]
    kind = np.int64 if pa.types.is_large_string(valid.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=kind)
    lo, hi = int(offsets[valid.offset]), int(offsets[valid.offset + len(valid)])
    if data_buf is None or hi == lo:
        return b""
    return data_buf.slice(lo, hi - lo).to_pybytes()


#: columns of the stages' tables whose name says money to a reader but not to
#: :func:`~tierwise.report.html.guess_format`: terms.csv's net of a rule
_MONEY_COLUMNS = frozenset({"net"})


def _kind(name: str, ty: pa.DataType) -> str:
    from .html import guess_format

    if name in _MONEY_COLUMNS and (pa.types.is_floating(ty) or pa.types.is_integer(ty)):
        return "money"
    k = guess_format(name, ty)
    if k == "int":
        return "int"
    if k == "pct":
        return "pct"
    if k == "money":
        return "money"
    if k == "num":
        return "num"
    return "text"


def _write_column(
    ws: Worksheet, row: int, col: int, values: pa.Array, kind: str, fmts: _Formats
) -> None:
    """One column of cells from ``row`` down; text as strings (text of no characters as a
    blank cell), numbers as numbers."""
    fmt = fmts.by_kind.get(kind, fmts.by_kind["text"])
    if kind in ("text", "wide"):
        text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
        text = _blank_empty(text)
        data = text.to_pylist()
        risky = pc.fill_null(pc.match_substring_regex(text, _FORMULA_START), False).to_pylist()
        quoted = fmts.quoted
        write = ws.write_string
        for i, (v, r) in enumerate(zip(data, risky, strict=True)):  # XlsxWriter: cell by cell
            if v is not None:
                write(row + i, col, v, quoted if r else fmt)
        return
    if pa.types.is_boolean(values.type):
        for i, v in enumerate(values.to_pylist()):
            if v is not None:
                ws.write_boolean(row + i, col, v)
        return
    arr = np.array(
        pc.fill_null(pc.cast(values, pa.float64()), np.nan).to_numpy(zero_copy_only=False),
        dtype=np.float64,
    )
    arr[~np.isfinite(arr)] = np.nan
    write_number = ws.write_number
    for i, v in enumerate(arr.tolist()):
        if v == v:  # not NaN
            write_number(row + i, col, v, fmt)


def _prepared(
    t: pa.Table, columns: Sequence[tuple[str, str, str]] | None
) -> list[tuple[str, str, pa.Array]]:
    """Each column to write: heading, kind and values as one array (lists joined, dates as
    text, a kind the values cannot have written as text)."""
    if columns is None:
        columns = [
            (n, n.replace("_", " "), _kind(n, t.schema.field(n).type)) for n in t.column_names
        ]
    out = []
    for name, heading, kind in columns:
        col = t.column(name).combine_chunks()
        if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            col = pc.binary_join(col.cast(pa.list_(pa.string())), "; ")
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        if pa.types.is_boolean(col.type):
            kind = "bool"
        elif pa.types.is_date(col.type) or pa.types.is_timestamp(col.type):
            col, kind = _excel_dates(col)
        elif pa.types.is_temporal(col.type):
            col = pc.cast(col, pa.string())
        if kind not in ("text", "wide") and not (
            pa.types.is_integer(col.type)
            or pa.types.is_floating(col.type)
            or pa.types.is_boolean(col.type)
            or pa.types.is_decimal(col.type)
        ):
            kind = "text"
        elif kind in ("num", "freq") and _all_whole(col):
            kind = "whole"
        out.append((heading, kind, col))
    return out


def _all_whole(col: pa.Array) -> bool:
    """Whether every finite value of a numeric column is a whole number (so that it shows
    as 6, not 6.00 or 6.0, as report.html shows it).

    Examples
    --------
    >>> _all_whole(pa.array([6.0, 12.0, None])), _all_whole(pa.array([6.0, 7.5]))
    (True, False)
    """
    x = np.asarray(
        pc.fill_null(pc.cast(col, pa.float64()), np.nan).to_numpy(zero_copy_only=False),
        np.float64,
    )
    x = x[np.isfinite(x)]
    return bool(len(x)) and bool((x == np.round(x)).all())


def _excel_dates(col: pa.Array) -> tuple[pa.Array, str]:
    """A date or timestamp column as Excel serial numbers (days since :data:`_EXCEL_EPOCH`,
    the time of day as the fraction; a zoned timestamp at its zone's wall-clock time) and
    its kind, ``date`` or ``datetime``; as ISO text (kind ``text``) when a value falls
    before :data:`_EXCEL_FIRST_DAY`, which Excel cannot show as a date.

    Examples
    --------
    >>> vals, kind = _excel_dates(pa.array([dt.date(2025, 12, 31), None]))
    >>> vals.to_pylist(), kind
    ([46022.0, None], 'date')
    """
    if pa.types.is_timestamp(col.type):
        if col.type.tz is not None:
            col = pc.local_timestamp(col)
        micros = pc.cast(pc.cast(col, pa.timestamp("us")), pa.int64())
        days = pc.divide(pc.cast(micros, pa.float64()), 86_400e6)
        kind = "datetime"
    else:
        days = pc.cast(pc.cast(col, pa.date32()), pa.int32()).cast(pa.float64())
        kind = "date"
    serial = pc.add(days, float((dt.date(1970, 1, 1) - _EXCEL_EPOCH).days))
    first = float((_EXCEL_FIRST_DAY - _EXCEL_EPOCH).days)
    if pc.any(pc.less(serial, first)).as_py():
        return pc.cast(col, pa.string()), "text"
    return serial, kind


def _write_header(
    ws: Worksheet, row: int, cols: Sequence[tuple[str, str, pa.Array]], fmts: _Formats
) -> None:
    for j, (heading, kind, _) in enumerate(cols):
        ws.write_string(row, j, heading, fmts.header)
        ws.set_column(j, j, _WIDTHS.get(kind, 14))


def _write_table(
    ws: Worksheet,
    t: pa.Table,
    fmts: _Formats,
    *,
    row: int = 0,
    columns: Sequence[tuple[str, str, str]] | None = None,
    filters: bool = True,
    last: bool = False,
) -> int:
    """A table with a header at ``row``; returns the row after it.

    ``last``: nothing is written below the table on this sheet (a :class:`_BulkSheet`),
    so its rows go in as XML made in Arrow (:class:`_RowSource`).
    """
    cols = _prepared(t, columns)
    _write_header(ws, row, cols, fmts)
    n = t.num_rows
    if last:
        fits = max(min(n, _MAX_ROWS - row - 1), 0)
        if fits and cols:
            assert isinstance(ws, _BulkSheet)
            body = [(values, kind) for _, kind, values in cols]
            source = _RowSource(body, np.arange(row + 2, row + 2 + fits), fmts)
            ws.add_rows(lambda: source.rows(0, fits), row + fits, len(cols) - 1)
    else:
        for j, (_, kind, values) in enumerate(cols):
            _write_column(ws, row + 1, j, values, kind, fmts)
    if filters and cols:
        ws.autofilter(row, 0, row + max(n, 1), len(cols) - 1)
    return row + 1 + n


def _sheet_names(reps: Sequence[str], taken: Sequence[str]) -> list[str]:
    """Valid, unique Excel sheet names for the reps: at most 31 UTF-16 code units (an
    emoji counts two), none of []:*?/\\ nor a control character, no apostrophe at either
    end, unique whatever the case."""
    used = {n.lower() for n in taken}
    out = []
    for rep in reps:
        base = _sheet_text(re.sub(r"[\[\]:*?/\\\x00-\x1f\x7f]", "_", rep), 31)
        if base.lower() == "history":
            base = "History_"
        name, k = base, 2
        while name.lower() in used:
            suffix = f"~{k}"
            name = _sheet_text(base, 31 - len(suffix)) + suffix
            k += 1
        used.add(name.lower())
        out.append(name)
    return out


def _sheet_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 code units with no apostrophe at either end (Excel
    refuses a sheet name that starts or ends with one, also after the cut); "rep" when
    nothing is left."""
    return _utf16_cut(text.strip("'"), limit).strip("'") or "rep"


def _text_ranks(text: pa.Array) -> np.ndarray:
    """Each text's rank among the distinct texts, in the order Python sorts them (by code
    point: the order of their UTF-8 bytes, Arrow's): a sort by these integers is the sort
    by the texts, without comparing Python objects."""
    return np.asarray(pc.rank(text, sort_keys="ascending", tiebreaker="dense"))


def _priority_order(t: pa.Table, rep: np.ndarray) -> np.ndarray:
    """Rows sorted by rep (``rep``: each row's :func:`_text_ranks`), then priority (highest
    expected contribution / value first), then account id."""
    key = next(
        (
            c
            for c in ("expected_contribution_plan", "clv", "net_profit", "revenue_12m")
            if c in t.column_names
        ),
        None,
    )
    score = np.nan_to_num(float_array(t, key), nan=-np.inf) if key else np.zeros(t.num_rows)
    ids = _text_ranks(text_array(t, "customer_id"))
    # lexsort: the last key sorts first
    return np.lexsort((ids, -score, rep))


def write_plan(
    path: str | Path,
    customers: pa.Table,
    tables: Mapping[str, pa.Table | None] | None = None,
    *,
    manifest: Mapping[str, Any] | None = None,
    settings: ReportSettings | None = None,
) -> Path:
    """Write plan.xlsx from the customer table and the stages' tables.

    Parameters
    ----------
    path
        The workbook to write (replaced atomically).
    customers
        The run's customer table. The call lists are by ``assigned_rep`` (the coverage
        plan); an account the plan gives no rep (e-mail, no contact) stays with
        ``rep_id``, today's rep, when that rep is in ``rep_plan`` (the team), as do all of
        them without a plan (the summary says so). Accounts with neither, and those the plan
        left "(unassigned)" (a rep who is not in the reps file), are listed under the run's
        ``[terms] unassigned_rep``.
    tables
        Output tables by stem, any of ``rep_plan``, ``segments``, ``terms``, ``targets``,
        ``cross_sell``, ``overrides_applied``; absent ones leave their sheet with a note.
        Without ``overrides_applied``, the one beside ``path`` is read (a run writes it
        there first): the call lists mark each account whose class or tier a person set
        ("Set by hand": what, by whom, why); the column is left out when no account has
        one.
    manifest
        The run's manifest: the as-of date and version for the summary, and its settings'
        ``[terms] unassigned_rep``.
    settings
        The ``[report]`` section (next best products per account).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    SettingsError
        When the workbook is open in Excel or LibreOffice (its lock file is beside it).

    Example
    -------
    >>> import tempfile, openpyxl
    >>> c = pa.table({"customer_id": ["a", "b"], "name": ["=1+1", "B"],
    ...               "assigned_rep": ["r1", "r1"], "visits_per_year": [4.0, 2.0]})
    >>> p = write_plan(Path(tempfile.mkdtemp()) / "plan.xlsx", c)
    >>> wb = openpyxl.load_workbook(p)
    >>> wb.sheetnames
    ['Summary', 'Definitions', 'Terms', 'Targets', 'r1']
    >>> wb["r1"]["C2"].value, wb["r1"]["C2"].data_type
    ('=1+1', 's')
    """
    s = settings or ReportSettings()
    tables = dict(tables or {})
    manifest = manifest or {}
    path = Path(path)
    cols = [c for c in _PLAN_COLUMNS if c in customers.column_names]
    t = customers.select(cols)
    planned = "assigned_rep" in t.column_names
    # the rep who carries each account: the plan's, else (an account the plan contacts by
    # e-mail or not at all, or no plan) today's, as the targets take it
    unassigned = _unassigned_label(manifest)
    rep_values = pc.fill_null(carrying_rep(t, team_reps(tables.get("rep_plan"))), unassigned)
    rep = _text_ranks(rep_values)
    order = _priority_order(t, rep)
    t = t.take(pa.array(order))
    rep = rep[order]
    reason_parts = [text_array(t, c) for c in ("coverage_reason", "class_reason")]
    reason = pc.coalesce(*reason_parts)
    nbp = next_best_products(
        tables.get("cross_sell"), text_array(t, "customer_id"), s.next_best_products
    )
    n = t.num_rows
    starts = np.flatnonzero(np.r_[True, rep[1:] != rep[:-1]]) if n else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], n] if n else starts
    reps = [str(r) for r in rep_values.take(pa.array(order[starts])).to_pylist()]
    priority = np.arange(n) - np.repeat(starts, ends - starts) + 1 if n else np.zeros(0)
    derived = {
        "priority": pa.array(priority.astype(np.int64)),
        "reason": reason,
        "next_best_products": nbp,
    }
    applied = (
        tables["overrides_applied"]
        if "overrides_applied" in tables
        else RunFolder(path.parent).table("overrides_applied")
    )
    by_hand = _set_by_hand(applied, text_array(t, "customer_id"))
    if by_hand is not None:
        derived["set_by_hand"] = by_hand
    if "class_change" in t.column_names:
        derived["class_move"] = class_move(
            text_array(t, "class_change"), text_array(t, "previous_class")
        )

    def column(name: str) -> pa.Array:
        if name in derived:
            return derived[name]
        if name in t.column_names:
            return t.column(name).combine_chunks()
        return pa.nulls(n, pa.string())

    # replaced under Excel, the workbook would be written back by Excel's next save
    is_open = open_in_office(path.parent, [path.name])
    if is_open:
        raise SettingsError(f"{path.parent}: {is_open}")
    fd, tmp = tempfile.mkstemp(prefix=".plan-", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    # Python's cycle collector waits while the workbook is built: XlsxWriter's state of
    # each sheet is thousands of objects, whose making would start full collections over
    # every object of the run (a tenth of the workbook's time with many reps); what they
    # leave to collect is collected once it resumes
    collecting = gc.isenabled()
    gc.disable()
    try:
        wb = Workbook(
            tmp,
            {
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "nan_inf_to_errors": False,
            },
        )
        # the same bytes for the same plan: no creation time from the clock
        wb.set_properties(
            {
                "title": "tierwise plan",
                "comments": f"tierwise {manifest.get('version', __version__)}",
                "created": dt.datetime(2000, 1, 1),
            }
        )
        fmts = _Formats(wb, currency_of(manifest))
        fixed = ["Summary", "Definitions", "Terms", "Targets"]
        sheets = _sheet_names(reps, fixed)
        summary = wb.add_worksheet("Summary", worksheet_class=_SafeSheet)
        definitions = wb.add_worksheet("Definitions", worksheet_class=_SafeSheet)
        terms = wb.add_worksheet("Terms", worksheet_class=_BulkSheet)
        targets = wb.add_worksheet("Targets", worksheet_class=_BulkSheet)

        # one sheet per rep
        present = [c for c in CALL_LIST_COLUMNS if c[0] in derived or c[0] in t.column_names]
        if not planned:
            present = [c for c in present if c[0] != "channel" and not c[0].endswith("_per_year")]
        list_cols = [(c[0], c[1], c[2]) for c in present]
        full = pa.table({c[0]: column(c[0]) for c in present}) if present else pa.table({})
        freq = [
            c
            for c in ("visits_per_year", "calls_per_year", "emails_per_year")
            if c in t.column_names
        ]
        per_rep_rows: list[dict[str, Any]] = []
        contribution = (
            float_array(t, "expected_contribution_plan")
            if "expected_contribution_plan" in t.column_names
            else None
        )
        # every rep's rows below the header row: row 1 + priority on its sheet
        listed = _prepared(full, list_cols)
        source = _RowSource([(v, k) for _, k, v in listed], priority + 1, fmts)
        for name, sheet, a, b in zip(reps, sheets, starts, ends, strict=True):
            ws = wb.add_worksheet(sheet, worksheet_class=_BulkSheet)
            part = full.slice(int(a), int(b - a))
            _write_header(ws, 0, listed, fmts)
            if listed:
                fits = min(int(b - a), _MAX_ROWS - 1)
                rows = functools.partial(source.rows, int(a), int(a) + fits)
                ws.add_rows(rows, fits, len(listed) - 1)
                ws.autofilter(0, 0, max(int(b - a), 1), len(listed) - 1)
            ws.freeze_panes(1, 3)
            row: dict[str, Any] = {"rep": name, "sheet": sheet, "accounts": int(b - a)}
            for f in freq:
                row[f] = float(np.nansum(float_array(part, f)))
            if contribution is not None:
                # every account on the list counts, whatever its channel
                row["expected_contribution"] = float(np.nansum(contribution[a:b]))
            per_rep_rows.append(row)

        _summary_sheet(summary, fmts, t, per_rep_rows, freq, tables, manifest, planned, unassigned)
        _definitions_sheet(definitions, fmts, customers, tables.get("segments"), list_cols)
        _note_or_table(
            terms, fmts, tables.get("terms"), "Trading terms per tier", "terms.csv", "terms"
        )
        _note_or_table(
            targets,
            fmts,
            tables.get("targets"),
            "KPI targets per rep and segment",
            "targets.csv",
            "targets",
        )
        wb.close()
        follow_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        if collecting:
            gc.enable()
    return path


def _as_date(value: Any) -> dt.date | str:
    """An ISO date of the manifest as a date (anything else as the text it is)."""
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return "" if value is None else str(value)


def _summary_sheet(
    ws: Worksheet,
    fmts: _Formats,
    t: pa.Table,
    per_rep: list[dict[str, Any]],
    freq: list[str],
    tables: Mapping[str, pa.Table | None],
    manifest: Mapping[str, Any],
    planned: bool,
    unassigned: str,
) -> None:
    plan = tables.get("rep_plan")
    if plan is not None and per_rep and "rep_id" in plan.column_names:
        # the team's reps without an account: listed with their hours, without a sheet
        listed = {x["rep"] for x in per_rep}
        idle = [x for x in text_array(plan, "rep_id").to_pylist() if x and x not in listed]
        blank = {k: 0.0 for k in per_rep[0] if k not in ("rep", "sheet", "accounts")}
        per_rep = sorted(
            [*per_rep, *({"rep": x, "sheet": "", "accounts": 0, **blank} for x in idle)],
            key=lambda x: str(x["rep"]),
        )
    ws.set_column(0, 0, 34)
    ws.set_column(1, 12, 14)
    ws.write_string(0, 0, "tierwise plan", fmts.title)
    facts: list[tuple[str, Any, str]] = [
        ("As of", _as_date(manifest.get("as_of")), "date"),
        ("tierwise version", str(manifest.get("version", __version__)), "text"),
        ("Accounts in the call lists", t.num_rows, "int"),
        # the list of accounts no rep carries is no rep
        ("Reps", sum(x["rep"] != unassigned for x in per_rep), "int"),
    ]
    for f in freq:
        facts.append(
            (
                f.replace("_", " ").capitalize() + " (total)",
                float(np.nansum(float_array(t, f))),
                "freq",
            )
        )
    for col, label in (
        ("revenue_12m", "Revenue, last 12 months"),
        ("net_profit", "Net profit"),
        ("expected_contribution_plan", "Expected contribution of the plan"),
    ):
        if col in t.column_names:
            facts.append((label, float(np.nansum(float_array(t, col))), "money"))
    r = 2
    for label, value, kind in facts:
        ws.write_string(r, 0, label, fmts.bold)
        if kind == "date" and isinstance(value, dt.date):
            ws.write_datetime(r, 1, value, fmts.by_kind["date"])
        elif kind in ("text", "date"):
            if str(value):
                ws.write_string(r, 1, str(value))
        else:
            whole = kind == "freq" and float(value).is_integer()
            ws.write_number(r, 1, float(value), fmts.by_kind["whole" if whole else kind])
        r += 1
    if not planned:
        r += 1
        ws.write_string(
            r,
            0,
            "No coverage plan in this run: call lists are by today's rep (rep_id), without "
            "channel or frequency.",
        )
        r += 1
    r += 1
    ws.write_string(r, 0, "Per rep", fmts.title)
    r += 1
    rep_table = (
        pa.Table.from_pylist(per_rep) if per_rep else pa.table({"rep": pa.array([], pa.string())})
    )
    if plan is not None and per_rep and "rep_id" in plan.column_names:
        # each rep's hours from rep_plan; its contribution from its call list (rep_plan's
        # only without the customers' figure)
        wanted = ["capacity_hours", "hours_used", "utilisation"]
        if "expected_contribution" not in rep_table.column_names:
            wanted.append("expected_contribution")
        idx = pc.index_in(rep_table.column("rep"), value_set=text_array(plan, "rep_id"))
        for c in wanted:
            if c in plan.column_names:
                rep_table = rep_table.append_column(c, plan.column(c).combine_chunks().take(idx))
    columns = [("rep", "Rep", "text"), ("sheet", "Sheet", "text"), ("accounts", "Accounts", "int")]
    columns += [(f, f.replace("_", " ").capitalize(), "freq") for f in freq]
    columns += [
        (c, c.replace("_", " ").capitalize(), _SUMMARY_KINDS.get(c, "money"))
        for c in ("capacity_hours", "hours_used", "utilisation", "expected_contribution")
        if c in rep_table.column_names
    ]
    types = {"text": pa.string(), "int": pa.int64()}
    for c, _, kind in columns:
        if c not in rep_table.column_names:  # no account on any call list
            rep_table = rep_table.append_column(c, pa.nulls(0, types.get(kind, pa.float64())))
    end = _write_table(ws, rep_table, fmts, row=r, columns=columns)
    ws.write_string(end, 0, "Total", fmts.total_label)
    for j, (c, _, kind) in enumerate(columns):
        if kind not in ("int", "freq", "money", "hours"):
            continue
        values = float_array(rep_table, c)
        # a column of no figure (no hours limit without a reps file) has no total either;
        # accounts and contacts count 0 without a rep
        if np.isfinite(values).any() or (kind not in ("money", "hours") and not len(values)):
            total = float(np.nansum(values))
            whole = total.is_integer() and _all_whole(pa.array(values))
            total_fmt = {
                "freq": fmts.total_plain if whole else fmts.total_freq,
                "hours": fmts.total_plain,
                "int": fmts.total_plain,
            }
            ws.write_number(end, j, total, total_fmt.get(kind, fmts.total_money))


#: the kinds of the Summary's per-rep columns that are not money
_SUMMARY_KINDS = {"capacity_hours": "hours", "hours_used": "hours", "utilisation": "pct"}


def _definitions_sheet(
    ws: Worksheet,
    fmts: _Formats,
    customers: pa.Table,
    segments: pa.Table | None,
    list_cols: Sequence[tuple[str, str, str]],
) -> None:
    ws.write_string(0, 0, "Segments and tiers", fmts.title)
    r = 1
    if segments is not None:
        r = _write_table(ws, segments, fmts, row=r, filters=True) + 1
    elif "value_class" in customers.column_names:
        from .html import _shares

        for g in ("value_class", "tier"):
            if g in customers.column_names:
                r = _write_table(ws, _shares(customers, g), fmts, row=r, filters=False) + 1
    else:
        ws.write_string(r, 0, "No segments in this run (the segments stage did not run).")
        r += 2
    ws.write_string(r, 0, "Call-list columns", fmts.title)
    r += 1
    meaning = {c[0]: c[3] for c in CALL_LIST_COLUMNS}
    glossary = pa.table(
        {
            "column": [c[1] for c in list_cols],
            "meaning": [meaning.get(c[0], "") for c in list_cols],
        }
    )
    _write_table(
        ws,
        glossary,
        fmts,
        row=r,
        columns=[("column", "Column", "text"), ("meaning", "Meaning", "wide")],
        filters=False,
    )


def _note_or_table(
    ws: Worksheet, fmts: _Formats, t: pa.Table | None, title: str, file: str, stage: str
) -> None:
    ws.write_string(0, 0, title, fmts.title)
    if t is None:
        ws.write_string(2, 0, f"Not in this run: {file} is absent (the {stage} stage did not run).")
        ws.set_column(0, 0, 60)
        return
    _write_table(ws, t, fmts, row=2, last=True)
    ws.freeze_panes(3, 0)


def _unassigned_label(manifest: Mapping[str, Any]) -> str:
    """The name of the sheet of accounts no rep carries: the run's ``[terms] unassigned_rep``,
    the name its targets use for them."""
    terms = (manifest.get("settings") or {}).get("terms") or {}
    label = terms.get("unassigned_rep")
    return str(label) if label else TermsSettings().unassigned_rep


def class_move(change: pa.Array, previous: pa.Array) -> pa.Array:
    """Per account, its class against the previous run in words: ``up from C``,
    ``down from A``, ``same``, ``new``, ``was E`` (a class this run does not have).

    Examples
    --------
    >>> class_move(pa.array(["up", "down", "same", "new", "not comparable", None]),
    ...            pa.array(["C", "A", "B", None, "E", None])).to_pylist()
    ['up from C', 'down from A', 'same', 'new', 'was E', None]
    """
    moved = pc.or_(pc.equal(change, "up"), pc.equal(change, "down"))
    return pc.if_else(
        moved,
        pc.binary_join_element_wise(change, previous, " from "),
        pc.if_else(
            pc.equal(change, "not comparable"),
            pc.binary_join_element_wise(pa.scalar("was"), previous, " "),
            change,
        ),
    )


def _set_by_hand(applied: pa.Table | None, ids: pa.Array) -> pa.Array | None:
    """Per account, the override a person set, in words (``class A (computed D), tier gold:
    ana, key account``; null for the others), or None when no account has one.

    Examples
    --------
    >>> a = pa.table({"customer_id": ["b"], "computed_class": ["D"], "new_class": ["A"],
    ...               "computed_tier": ["bronze"], "new_tier": ["gold"], "by": ["ana"],
    ...               "reason": ["key account"]})
    >>> _set_by_hand(a, pa.array(["a", "b"])).to_pylist()
    [None, 'class A (computed D), tier gold (computed bronze): ana, key account']
    """
    if applied is None or applied.num_rows == 0 or "customer_id" not in applied.column_names:
        return None
    texts: dict[str, str] = {}
    for r in applied.to_pylist():
        parts = []
        for what, new, old in (
            ("class", r.get("new_class"), r.get("computed_class")),
            ("tier", r.get("new_tier"), r.get("computed_tier")),
        ):
            if new is None:
                continue
            parts.append(f"{what} {new}" + (f" (computed {old})" if old and old != new else ""))
        texts[str(r["customer_id"])] = f"{', '.join(parts)}: {r.get('by')}, {r.get('reason')}"
    keys = pa.array(list(texts), pa.string())
    at = pc.index_in(pc.cast(ids, pa.string()), value_set=keys)
    out = pc.take(pa.array(list(texts.values()), pa.string()), at)
    return out if out.null_count < len(out) else None


def write_plan_xlsx(
    out_dir: str | Path,
    settings: ReportSettings | None = None,
    *,
    target: str | Path | None = None,
) -> Path:
    """Write plan.xlsx for an output folder and return its path (see :func:`write_plan`).

    Example
    -------
    >>> import tempfile, pyarrow.parquet as pq
    >>> d = Path(tempfile.mkdtemp())
    >>> pq.write_table(pa.table({"customer_id": ["a"], "rep_id": ["r1"]}),
    ...                d / "customers.parquet")
    >>> write_plan_xlsx(d).name
    'plan.xlsx'
    """
    folder = RunFolder(out_dir)
    customers = folder.table("customers", _PLAN_COLUMNS)
    if customers is None:
        raise InputError(
            "customers.parquet is not in the folder", file=str(folder.path), hint="run first"
        )
    tables = {
        stem: folder.table(stem)
        for stem in ("rep_plan", "segments", "terms", "targets", "cross_sell", "overrides_applied")
    }
    path = Path(target) if target is not None else folder.path / "plan.xlsx"
    written = write_plan(path, customers, tables, manifest=folder.manifest, settings=settings)
    # rebuilt in an output folder: the next run there takes it for tierwise's, not an edit
    record_rewrite(path.parent, path.name)
    return written
