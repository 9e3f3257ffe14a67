"""A small sample of an input, for ``tierwise init`` to guess its columns from.

Only part of a file is read: for CSV the first 256 KB, four 32 KB slices spread through the
rest (so that a file sorted by date shows more than its first days) and its last 32 KB (rows
appended at the end: another export's credit notes), for Excel the first rows
of the sheet, for Parquet the first rows, for a DuckDB file the first rows of the table. The
encoding and delimiter are sniffed the way :func:`tierwise.io.readers.sniff_csv` sniffs them
for a run. A folder or glob of Parquet files (a data lake's export) is read the way a run
reads it (:func:`tierwise.io.readers.read_input`: every file, Hive partition folders as
columns) and its first rows sampled. For a PostgreSQL URL, the first rows of the table
(``[table] table``, else the input's name) are read from the server. A DATEV export whose
first line is its format line (``"EXTF";700;…``) is read from line 2, which the sample says
(:attr:`Sample.header_row`).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import InputError
from ..schema import case_key
from ..settings.inputs import TableInput
from .readers import (
    _GLOB,
    WHITESPACE,
    CsvDialect,
    _cell_text,
    _detect_format,
    _duckdb_tables,
    first_field,
    footer_lines,
    formula_text,
    is_shown,
    read_input,
    sniff_csv,
    tab_separated,
    unpack,
    unreadable_parquet,
)

__all__ = ["Sample", "read_sample", "sheet_names"]

_HEAD_BYTES = 256 << 10
_SLICE_BYTES = 32 << 10
_SLICES = 4


@dataclass(frozen=True)
class Sample:
    """The first rows (and, for CSV, rows from further in) of one input."""

    path: str
    #: csv, parquet, excel, duckdb or postgres
    fmt: str
    #: the source's column names, in order
    columns: list[str]
    #: up to ``rows`` rows; text columns for CSV and Excel, typed for Parquet and DuckDB
    table: pa.Table
    delimiter: str | None = None
    encoding: str | None = None
    #: the table read inside a DuckDB file, when it is not the input's own name; the table
    #: read from a database
    table_name: str | None = None
    #: what could not be sampled and why
    notes: list[str] = field(default_factory=list)
    #: the line holding the column names, where the run would not find it by itself (the
    #: line after DATEV's EXTF format line)
    header_row: int | None = None
    #: the Excel sheet read, when one was named
    sheet: str | None = None
    #: a CSV file's lines of one field among the head's rows, as their field reads: a
    #: report's group headings (Xero's Sales by Customer Detail), which the run refuses
    #: unless ``fill_down`` names a column for them
    headings: tuple[str, ...] = ()


def read_sample(
    path: str | Path, ti: TableInput | None = None, *, name: str = "table", rows: int = 2000
) -> Sample:
    """Read the header and a sample of rows of one input.

    Parameters
    ----------
    path
        File path (CSV, Parquet, Excel, DuckDB) or PostgreSQL URL.
    ti
        The input's settings section (delimiter, encoding, sheet, table), if any.
    name
        The input's name (``transactions`` …), used for a DuckDB table and in hints.
    rows
        At most this many rows are kept.

    Raises
    ------
    InputError
        The file does not exist, cannot be read in its format, or is a folder or glob
        that a run would not read (no Parquet file in it, files that cannot be one table).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("Kunde;Betrag\\nA;1,5\\nB;2\\n", encoding="utf-8")
    >>> s = read_sample(p)
    >>> (s.columns, s.delimiter, s.table.num_rows)
    (['Kunde', 'Betrag'], ';', 2)
    """
    ti = ti or TableInput()
    spath = str(path)
    fmt = _detect_format(spath, spath)
    if fmt == "postgres":
        return _postgres_sample(spath, ti, name, rows)
    p = Path(spath)
    if not p.exists() and _GLOB.search(spath):
        return _lake_sample(spath, name, rows)
    if not p.exists():
        raise InputError("file not found", file=spath, hint="check the path")
    if p.is_dir():
        return _lake_sample(spath, name, rows)
    with tempfile.TemporaryDirectory(prefix="tierwise-sample-") as folder:
        # a compressed file or a zip archive of one file: the file inside, as a run reads it
        local = unpack(spath, spath, Path(folder))
        if local != spath:
            try:
                sample = read_sample(local, ti, name=name, rows=rows)
            except InputError as exc:
                # named as the user gave it, not by the private copy
                if exc.file == local:
                    exc.file = spath
                raise
            return dataclasses.replace(sample, path=spath)
    if fmt == "csv" and ti.header_row is None and _datev_format_line(spath):
        # DATEV's format line (EXTF;700;21;"Buchungsstapel";…) above the column names
        sample = _csv_sample(spath, ti.model_copy(update={"header_row": 2}), name, rows)
        note = (
            "line 1 is DATEV's format line (EXTF or DTVF), not the column names: "
            "header_row = 2 reads the names from line 2"
        )
        return dataclasses.replace(sample, header_row=2, notes=[note, *sample.notes])
    if fmt == "csv":
        return _csv_sample(spath, ti, name, rows)
    if fmt == "parquet":
        return _parquet_sample(spath, rows)
    if fmt == "excel":
        return _excel_sample(spath, ti, rows, name)
    return _duckdb_sample(spath, ti, name, rows)


def _as_is(chunk: bytes) -> bytes:
    return chunk


def _csv_sample(path: str, ti: TableInput, name: str, rows: int) -> Sample:
    dialect = sniff_csv(path, ti, name=name)
    names = [h.lstrip("\ufeff") or f"column_{i}" for i, h in enumerate(dialect.header, 1)]
    # distinct names for the parser; the sample keeps the header as it is
    unique = [f"{i}:{n}" for i, n in enumerate(names)]
    size = os.path.getsize(path)
    chunks: list[bytes] = []
    encoding = dialect.encoding
    delimiter = dialect.delimiter
    aligned: Callable[[bytes], bytes] = _as_is
    if delimiter == WHITESPACE:
        # text aligned in columns: parsed as the run reads it, tab-separated
        aligned, delimiter = tab_separated, "\t"
    if _wide(encoding):
        # UTF-16 or UTF-32 (Excel's "Unicode text"): a line ends in more than one byte and a
        # byte-order mark begins only the file, so the sample is the head, as UTF-8 text
        with open(path, "rb") as f:
            wide = f.read(4 * _HEAD_BYTES)
        head = wide.decode(encoding, errors="ignore").encode("utf-8")
        for _ in range(dialect.header_end):
            nl = head.find(b"\n")
            head = head[nl + 1 :] if nl >= 0 else b""
        table = _parse_chunk(
            aligned(_whole_lines(head, first_partial=False, last_partial=len(wide) < size)),
            unique,
            delimiter,
            "utf-8",
            rows,
        )
        table = _as_excel_shows(table).rename_columns(names)
        return Sample(
            path,
            "csv",
            names,
            table,
            delimiter=delimiter,
            encoding=encoding,
            notes=_title_note(dialect, ti),
        )
    with open(path, "rb") as f:
        head = f.read(_HEAD_BYTES)
        # the header's lines and any title lines above them are not data
        for _ in range(dialect.header_end):
            nl = head.find(b"\n")
            head = head[nl + 1 :] if nl >= 0 else b""
        chunks.append(_whole_lines(head, first_partial=False, last_partial=size > _HEAD_BYTES))
        if size > _HEAD_BYTES + _SLICES * _SLICE_BYTES:
            for k in range(1, _SLICES + 1):
                f.seek(_HEAD_BYTES + (size - _HEAD_BYTES) * k // (_SLICES + 1))
                chunks.append(_whole_lines(f.read(_SLICE_BYTES), first_partial=True))
        read_to = f.tell()
        if size > read_to:
            # the end of the file (where rows appended to an export are), past what was read
            f.seek(max(read_to, size - _SLICE_BYTES))
            chunks.append(
                _whole_lines(f.read(_SLICE_BYTES), first_partial=True, last_partial=False)
            )
    # half the rows from the head, the other half shared by the slices
    slices = len(chunks) - 1
    quota = [rows] if not slices else [rows // 2] + [max(1, rows // (2 * slices))] * slices
    # the lines of one field among the head's rows: a report's group headings (Xero)
    single: list[str] = []
    tables = [
        _parse_chunk(aligned(c), unique, delimiter, dialect.encoding, q, single if i == 0 else None)
        for i, (c, q) in enumerate(zip(chunks, quota, strict=True))
    ]
    table = _as_excel_shows(pa.concat_tables(tables).slice(0, rows)).rename_columns(names)
    if size <= _HEAD_BYTES:
        # lines of one field after the last row are a footer, which heads no rows
        # (Salesforce's report export: the report's name, its copyright, who ran it)
        footer = footer_lines(aligned(chunks[0]), dialect.encoding, delimiter)
        single = single[: max(0, len(single) - footer)]
    headings = tuple(first_field(t, delimiter) for t in single)
    notes = _title_note(dialect, ti)
    # the note is a courtesy: a file it cannot read is read (and refused) by the run
    with contextlib.suppress(OSError, UnicodeError, LookupError, csv.Error):
        notes += _csv_second_table(path, dialect, delimiter, [aligned(c) for c in chunks], name)
    return Sample(
        path,
        "csv",
        names,
        table,
        delimiter=delimiter,
        encoding=dialect.encoding,
        headings=tuple(h for h in headings if h),
        notes=notes,
    )


def _other_header(cells: list[str], header: list[str], *, in_place: bool) -> bool:
    """Whether a CSV file's row is the header of a second table below the first. A row of
    the header's width (``in_place``) is read as validate reads it
    (:func:`_csv_other_header`). A row of another width (whose line the run rejects for
    its number of fields): its first column holds the header's first name (a table's key,
    a customer or an order, where a row of data carries a value), at least two and at
    least half of its filled cells are the header's names, and it is not the header
    again."""
    texts = [c.strip().lstrip("\ufeff") for c in cells]
    names = [h.strip().lstrip("\ufeff") for h in header]
    if in_place:
        return _csv_other_header(cells, names)
    key = next((k for k, h in enumerate(names) if h), None)
    if key is None or key >= len(texts) or texts[key].casefold() != names[key].casefold():
        return False
    filled = [t for t in texts if t]
    known = {h.casefold() for h in names if h}
    hits = sum(t.casefold() in known for t in filled)
    return hits >= 2 and 2 * hits >= len(filled) and texts != names


def _csv_other_header(cells: list[str], header: list[str]) -> bool:
    """Whether a CSV file's row of the header's width (``cells``, as written) is the header
    of a second table, by the rule ``tierwise.validate`` stops the run at (its
    ``_second_header``), the first column taken for the key and names matched trimmed and
    case aside (:func:`~tierwise.schema.case_key`): not the header again as written, and

    - its first cell the first column's name, at least two and at least half of the cells
      their own column's name (the header again in another case, or in part); or
    - its first cell empty or a column's name, every filled cell but one at most a
      column's name, at least two of them (three where the first cell is empty) another
      column's than their own, a name that several cells hold counted once.

    >>> _csv_other_header(["Date", "Customer_ID", "Amount"], ["customer_id", "date", "revenue"])
    True
    >>> _csv_other_header(["", "Email", "Email"], ["customer_id", "email", "contact"])
    False
    """
    texts = [c.strip(" \t") for c in cells]
    texts[:1] = [t.removeprefix("\ufeff") for t in texts[:1]]
    if texts == header or len(texts) != len(header):
        return False
    folded = [case_key(t) for t in texts]
    own = [case_key(h) for h in header]
    names = {n for n in own if n}
    key = folded[0]
    if key and key not in names:
        return False
    hits = sum(bool(t) and t == o for t, o in zip(folded, own, strict=True))
    if key == own[0] and hits >= 2 and 2 * hits >= len(own):
        return True
    strays = sum(bool(t) and t not in names for t in folded)
    moved = sum(
        t in names and t != o and t not in folded[:j]
        for j, (t, o) in enumerate(zip(folded, own, strict=True))
    )
    return strays <= 1 and moved >= (2 if key else 3)


def _sheet_other_header(texts: list[str], names: list[str]) -> bool:
    """Whether a sheet's row (its cells as text) is the header of a second table, by the
    rule the run stops at (``tierwise.io.readers``)."""
    from .readers import _check_second_table

    try:
        _check_second_table([tuple(t or None for t in texts)], names, 2, 1, "", "")
    except InputError:
        return True
    return False


def _second_table_note(where: str, cells: list[str], name: str, *, stops: bool = True) -> str:
    listed = ", ".join(repr(c.strip()) for c in cells if c.strip())
    run = (
        "the run stops at it"
        if stops
        else "the run rejects its lines, which hold another number of fields"
    )
    return (
        f"{where} holds column names other than the header's ({listed}): a second table, "
        f"or an export with other columns appended to the first, starts there; {run}. Give "
        f"each table a file of its own, or write the same column names in both ([{name}] "
        "reads one table)"
    )


def _csv_second_table(
    path: str, dialect: CsvDialect, delimiter: str, chunks: list[bytes], name: str
) -> list[str]:
    """A note naming the line where a second table's header starts, when a line of the
    sampled parts of the file is one (whether or not its row is among the rows kept)."""
    header = [h.lstrip("\ufeff") for h in dialect.header]
    first = header[0].strip() if header else ""
    if not first:
        return []
    # only a part holding a name (in any case) is parsed
    known = [case_key(h.strip()) for h in header if h.strip()]
    enc = dialect.encoding.replace("utf-8-sig", "utf-8")
    found: list[str] | None = None
    for chunk in chunks:
        text = chunk.decode(enc, errors="replace")
        folded = case_key(text)
        if not any(n in folded for n in known):
            continue
        for cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            width = len(cells) == len(header)
            if len(cells) >= 2 and _other_header(cells, header, in_place=width):
                found = cells
                break
        if found is not None:
            break
    if found is None:
        return []
    same_width = len(found) == len(header)
    where = "a line"
    wanted = [c.strip() for c in found]
    if dialect.delimiter != WHITESPACE and len(delimiter) == 1 and "16" not in enc + "32":
        # the line as numbered in the file (a quoted value's line breaks counted): its
        # lines read as bytes, only those holding its first filled cell parsed
        key = next(c for c in wanted if c).encode(enc, errors="replace")
        with open(path, "rb") as f:
            for number, raw in enumerate(f, 1):
                if number <= dialect.header_end or key not in raw:
                    continue
                text = raw.decode(enc, errors="replace").lstrip("\ufeff")
                cells = next(csv.reader([text.rstrip("\r\n")], delimiter=delimiter), [])
                if [c.strip() for c in cells] == wanted:
                    where = f"line {number}"
                    break
    elif dialect.delimiter != WHITESPACE and len(delimiter) == 1:
        # the line as numbered in the file (a quoted value's line breaks counted)
        fenc = "utf-8-sig" if dialect.encoding == "utf-8" else dialect.encoding
        with open(path, encoding=fenc, errors="replace", newline="") as f:
            rows = csv.reader(f, delimiter=delimiter)
            for cells in rows:
                if rows.line_num > dialect.header_end and [c.strip() for c in cells] == wanted:
                    where = f"line {rows.line_num}"
                    break
    return [_second_table_note(where, found, name, stops=same_width)]


def _as_excel_shows(table: pa.Table) -> pa.Table:
    """A sampled CSV table with each value written as a formula of text (``="00123"``) read
    as the text inside, as the run reads it."""
    return pa.table(
        [formula_text(c.combine_chunks()) for c in table.columns], names=table.column_names
    )


def _title_note(dialect: CsvDialect, ti: TableInput) -> list[str]:
    """A note saying which line holds the column names, when lines above them (a report's
    title) are passed over, as the run passes them."""
    title = dialect.header_line - 1
    if not title or ti.header_row is not None:
        return []
    above = ", ".join(repr(a) for a in dialect.above) or "empty"
    return [
        f"the column names are on line {dialect.header_line}: the "
        f"{'line' if title == 1 else f'{title} lines'} above them (a title: {above}) "
        f"{'is' if title == 1 else 'are'} not read; set header_row if another line holds them"
    ]


#: the first field of a DATEV export's format line: EXTF (from an accounting program) or
#: DTVF (from DATEV itself)
_DATEV_FORMATS = ("EXTF", "DTVF")


def _datev_format_line(path: str) -> bool:
    """Whether the file's first line is DATEV's format line (``"EXTF";700;21;…``)."""
    with open(path, "rb") as f:
        head = f.read(4096)
    first = head.split(b"\n", 1)[0].decode("latin-1").lstrip("\ufeff\u00ef\u00bb\u00bf")
    return first.split(";", 1)[0].strip().strip('"') in _DATEV_FORMATS


def _wide(encoding: str) -> bool:
    """Whether ``encoding`` writes a line break in more than one byte (UTF-16, UTF-32)."""
    return encoding.lower().replace("_", "-").startswith(("utf-16", "utf-32"))


def _whole_lines(data: bytes, *, first_partial: bool, last_partial: bool = True) -> bytes:
    """The complete lines of a slice of a file (a cut line at either end is dropped)."""
    if first_partial:
        nl = data.find(b"\n")
        data = data[nl + 1 :] if nl >= 0 else b""
    if last_partial:
        nl = data.rfind(b"\n")
        data = data[: nl + 1] if nl >= 0 else b""
    return data


def _empty(names: list[str]) -> pa.Table:
    return pa.table({n: pa.array([], pa.string()) for n in names})


def _parse_chunk(
    data: bytes,
    names: list[str],
    delimiter: str,
    encoding: str,
    rows: int,
    single: list[str] | None = None,
) -> pa.Table:
    """The rows of ``data``; ``single`` receives the text of each line skipped for holding
    one field only (a report's group heading) when given."""
    if not data.strip():
        return _empty(names)
    enc = encoding.replace("utf-8-sig", "utf-8")

    def skip(row: Any) -> str:
        if single is not None and row.actual_columns == 1 and (row.text or "").strip():
            single.append(row.text)
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(encoding=enc, column_names=names),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                # a slice may start inside a quoted value: such a line is skipped
                invalid_row_handler=skip,
                newlines_in_values=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, UnicodeDecodeError, LookupError):
        # a slice the parser cannot read (a stray quote, an odd byte) adds nothing
        return _empty(names)
    return table.slice(0, rows)


def _parquet_sample(path: str, rows: int) -> Sample:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        names = list(pf.schema_arrow.names)
        batch = next(pf.iter_batches(batch_size=rows), None)
    except Exception as exc:
        raise unreadable_parquet(path, path) from exc
    table = pa.Table.from_batches([batch]) if batch is not None else pf.schema_arrow.empty_table()
    return Sample(path, "parquet", names, table)


def _lake_sample(path: str, name: str, rows: int) -> Sample:
    """The first rows of a folder or glob of Parquet files, read as a run reads them."""
    from ..engine import ROW, Engine

    engine = Engine()
    try:
        raw = read_input(name, path, TableInput(), engine)
        cols = [c for c in raw.source_columns if c != ROW]
        # the first rows in file order (a limit alone may take any rows the engine reads first)
        first = raw.table.order_by(ROW).limit(rows).select(*cols)
        table = engine.to_arrow(first, f"the first rows of {path}")
    finally:
        engine.close()
    return Sample(path, "parquet", cols, table, notes=list(raw.warnings))


def _excel_sample(path: str, ti: TableInput, rows: int, name: str = "table") -> Sample:
    import pandas as pd

    from .readers import (
        _HEADER_SEARCH_ROWS,
        EXCEL_HINT,
        _header_index,
        _merged_ranges,
        _needs_merges,
        _sheet_part,
        default_sheet,
        merged_header,
    )

    sheet = ti.sheet or default_sheet(path)
    try:
        # the row holding the column names, found on the cells' own types as the reader does
        head = 0
        typed = pd.read_excel(
            path,
            sheet_name=sheet,
            header=None,
            engine="openpyxl",
            nrows=_HEADER_SEARCH_ROWS + (ti.header_row or 0),
        )
        cells = [tuple(None if pd.isna(v) else v for v in r) for r in typed.itertuples(False)]
        if ti.header_row is not None:
            head = ti.header_row - 1
        else:
            head = _header_index(cells, typed.shape[1])
        top = head
        # column names over several rows (cells merged across columns), named as the
        # reader names them
        block: list[str] | None = None
        if head < len(cells) and _needs_merges([_cell_text(c).strip() for c in cells[head]]):
            merges = _merged_ranges(path, _sheet_part(path, ti.sheet))
            _, end, block = merged_header(cells, head, typed.shape[1], merges, 1)
            head = end - 1
        # as the reader reads it: every cell as text, the header row kept as data
        frame = pd.read_excel(
            path,
            sheet_name=sheet,
            header=None,
            dtype=str,
            engine="openpyxl",
            keep_default_na=False,
            skiprows=head,
            nrows=rows + 1,
        )
    except Exception as exc:
        raise InputError(f"cannot read as Excel: {exc}", file=path, hint=EXCEL_HINT) from exc
    if frame.empty:
        raise InputError("the sheet is empty", file=path, hint="put a header row in row 1")
    names = [
        str(c).strip() or f"column_{i}"
        for i, c in enumerate(
            block if block is not None and len(block) == frame.shape[1] else frame.iloc[0], 1
        )
    ]
    data = frame.iloc[1:]
    table = pa.table(
        {
            f"{i}:{n}": pa.array(data.iloc[:, i].astype(str).tolist(), pa.string())
            for i, n in enumerate(names)
        }
    ).rename_columns(names)
    notes = [] if ti.sheet is not None else _other_sheets_note(path, name)
    if top and ti.header_row is None:
        notes.append(
            f"the column names are in row {top + 1} of the sheet: the rows above them (a "
            "title) are not read; set header_row if another row holds them"
        )
    named = ti.sheet or (sheet if isinstance(sheet, str) else None)
    notes += _formulas_note(path, named, head + 2, data.values.tolist(), names)
    for k, row in enumerate(data.values.tolist()):
        texts = ["" if c is None else str(c) for c in row]
        if _sheet_other_header(texts, names):
            notes.append(_second_table_note(f"row {head + 2 + k} of the sheet", texts, name))
            break
    return Sample(path, "excel", names, table, notes=notes, sheet=ti.sheet)


def _formulas_note(
    path: str, sheet: str | None, first: int, rows: list[list[str]], names: list[str]
) -> list[str]:
    """A note on the sampled columns holding formulas without a stored value (a workbook
    written by a program and never saved in Excel), whose rows the run rejects; ``rows``
    are the sampled rows as text, from the sheet's row ``first`` on."""
    from .readers import _formulas_without_values, _has_formulas

    if not _has_formulas(path):
        return []
    cells = [tuple(v if v != "" else None for v in r) for r in rows]
    found = _formulas_without_values(path, sheet, first, cells, names)
    by_column: dict[str, list[tuple[int, str]]] = {}
    for i, column, formula in found:
        by_column.setdefault(column, []).append((first + i, formula))
    return [
        f"{len(at)} of the {len(rows)} sampled rows of {column!r} "
        f"{'holds' if len(at) == 1 else 'hold'} a formula without a stored value (the first: "
        f"row {at[0][0]}, {at[0][1]!r}), and the run rejects such rows: open the workbook in "
        "Excel and save it (Excel stores each formula's value), or paste the values"
        for column, at in by_column.items()
    ]


def sheet_names(path: str | Path) -> list[str]:
    """The sheets of an Excel workbook that Excel shows, in order: its hidden sheets are left
    out unless every sheet is hidden (empty when it cannot be opened). A workbook in a zip
    archive or compressed is read inside it.

    Examples
    --------
    >>> import tempfile, pathlib, openpyxl
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.xlsx"
    >>> wb = openpyxl.Workbook(); wb.active.title = "Notes"; _ = wb.create_sheet("Sales")
    >>> wb.save(p); sheet_names(p)
    ['Notes', 'Sales']
    """
    import openpyxl

    with tempfile.TemporaryDirectory(prefix="tierwise-sample-") as folder:
        try:
            # a workbook in a zip archive or compressed: the workbook inside, as a run reads it
            wb = openpyxl.load_workbook(unpack(str(path), str(path), Path(folder)), read_only=True)
        except Exception:
            return []
        try:
            shown = [ws.title for ws in wb.worksheets if is_shown(ws)]
            return shown or list(wb.sheetnames)
        finally:
            wb.close()


def _other_sheets_note(path: str, name: str) -> list[str]:
    """A note naming the workbook's sheets when it has more than the one read (the first not
    hidden): the sheet with the most column names is suggested when it is another."""
    import openpyxl

    from .readers import _sheet_columns, first_sheet, is_shown

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            if len(wb.sheetnames) < 2:
                return []
            sheets = _sheet_columns(wb)
            first = first_sheet(wb).title
            hidden = {ws.title for ws in wb.worksheets if not is_shown(ws)}
        finally:
            wb.close()
    except Exception:
        return []
    # a hidden sheet is named as hidden and never suggested (unless every sheet is hidden)
    shown = [s for s in sheets if s not in hidden] or list(sheets)
    widest = max(shown, key=lambda s: len(sheets[s]))
    listed = ", ".join(f"{s!r} (hidden)" if s in hidden else repr(s) for s in sheets)
    which = "the first" if first == next(iter(sheets)) else "the first not hidden"
    if widest == first:
        return [f"the workbook has sheets {listed}; {which}, {first!r}, was read"]
    return [
        f"the workbook has sheets {listed}; {which}, {first!r}, was read: set "
        f'[{name}] sheet = "{widest}" if the data is there'
    ]


def _postgres_sample(url: str, ti: TableInput, name: str, rows: int) -> Sample:
    """The first rows of a PostgreSQL table; a note instead when the server cannot be read
    (init writes the section anyway, to be completed by hand)."""
    from .readers import _IDENT
    from .urls import quote_password, redact_text, url_secrets

    table = ti.table or name
    hand = f"map the columns in [{name}.columns] by hand"
    if not _IDENT.match(table):
        return Sample(url, "postgres", [], pa.table({}), table_name=table, notes=[
            f"table name {table!r} is not a plain identifier; set [{name}] table to schema.table"
        ])  # fmt: skip
    try:
        import adbc_driver_postgresql.dbapi as pg
    except ImportError:  # pragma: no cover - depends on the extra
        note = f"not sampled: reading PostgreSQL needs pip install 'tierwise[postgres]'; {hand}"
        return Sample(url, "postgres", [], pa.table({}), table_name=table, notes=[note])
    quoted = ".".join('"' + p.replace('"', '""') + '"' for p in table.split("."))
    uri = quote_password(url)
    if "connect_timeout=" not in uri:
        uri += ("&" if "?" in uri else "?") + "connect_timeout=10"
    try:
        with pg.connect(uri) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT * FROM {quoted} LIMIT {int(rows)}")
            got = cur.fetch_arrow_table()
    except Exception as exc:
        text = " ".join((str(exc).strip() or type(exc).__name__).splitlines()[0].split())
        said = redact_text(text, url_secrets(url))[:200]
        return Sample(url, "postgres", [], pa.table({}), table_name=table, notes=[
            f"table {table!r} could not be read ({said}); set [{name}] table, or {hand}"
        ])  # fmt: skip
    return Sample(url, "postgres", list(got.column_names), got, table_name=table)


def _duckdb_sample(path: str, ti: TableInput, name: str, rows: int) -> Sample:
    import duckdb

    found = _duckdb_tables(path)
    if found is None:
        raise InputError(
            "not a readable DuckDB database", file=path, hint="check it is a .duckdb file"
        )
    wanted = ti.table or name
    chosen: str | None = wanted if wanted in found else None
    notes: list[str] = []
    if chosen is None and len(found) == 1:
        chosen = found[0]
    if chosen is None:
        notes.append(f"no table {wanted!r} in the database; it has {', '.join(found) or 'none'}")
        return Sample(path, "duckdb", [], pa.table({}), notes=notes)
    ident = ".".join('"' + part.replace('"', '""') + '"' for part in chosen.split("."))
    with duckdb.connect(path, read_only=True) as con:
        table = con.sql(f"SELECT * FROM {ident} LIMIT {int(rows)}").to_arrow_table()
    return Sample(
        path,
        "duckdb",
        list(table.column_names),
        table,
        table_name=chosen if chosen != wanted else None,
    )
