"""Writing the output folder: atomically, deterministically, safe to open in a spreadsheet.

Text from input files is untrusted. A CSV cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return would run as a formula in Excel; such text cells are prefixed
with an apostrophe (the OWASP advice for CSV injection) — except a plain signed number such
as "-4", which a spreadsheet reads as a number and which is written as it was. Numbers stay
numbers. A NUL character in text (which CRM import tools and Python's csv module refuse) is
written to CSV as U+FFFD, the replacement character, as an HTML parser reads it.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .._threads import cores
from .._threads import pool as pool_of
from ._folder_lock import hold_folder

__all__ = [
    "CSV_LOCALES",
    "MARKER",
    "OS_FILES",
    "STAGING",
    "OutputFolder",
    "check_output_target",
    "follow_umask",
    "is_os_file",
    "missing_as_null",
    "neutralise_formulas",
    "open_in_office",
    "read_csv",
    "record_rewrite",
    "restore_formulas",
    "text_apostrophe_note",
    "visible_control_text",
    "visible_controls",
    "without_text_apostrophe",
    "write_csv",
    "write_parquet",
]

_FORMULA_START = r"^[=+\-@\t\r]"
_FORMULA_CHARS = pa.array(["=", "+", "-", "@", "\t", "\r"])
#: A plain negative number ("-4", "-0.5", "-1.234,50"): a spreadsheet reads it as the number
#: it shows, never as a formula, so it is written as it was. A number with a plus sign
#: ("+44", a phone-number-like id) or a negative one with leading zeros ("-0012") is
#: quoted: a spreadsheet would show it as 44 or -12, and the id would no longer match.
_PLAIN_NUMBER = r"^-(?:0|0[.,][0-9.,' ]*|[1-9][0-9.,' ]*)$"


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Prefix an apostrophe to every text cell that a spreadsheet would run as a formula.

    Examples
    --------
    >>> t = pa.table({"name": ["=HYPERLINK(1)", "Acme", "-x", None], "n": [-1, 2, 3, 4]})
    >>> neutralise_formulas(t).to_pydict()
    {'name': ["'=HYPERLINK(1)", 'Acme', "'-x", None], 'n': [-1, 2, 3, 4]}
    """
    cols = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = _quote_formulas(col)
        elif pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            col = _quote_formulas(pc.binary_join(col.cast(pa.list_(pa.string())), ";"))
        cols.append((name, col))
    return pa.table(dict(cols))


def _quote_formulas(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """The text column with an apostrophe before each cell a spreadsheet would run as a
    formula (the column itself when none would: the usual case, found by looking at each
    cell's first character only)."""
    if not _may_start_formula(col):
        return col
    risky = pc.and_(
        pc.match_substring_regex(col, _FORMULA_START),
        pc.invert(pc.match_substring_regex(col, _PLAIN_NUMBER)),
    )
    return pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col)


#: The first byte of a UTF-8 text that starts with one of :data:`_FORMULA_CHARS`.
_FORMULA_BYTES = np.frombuffer(b"=+-@\t\r", dtype=np.uint8)


def _text_bytes(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's value offsets (one more than its length) and the bytes of its data
    buffer, as NumPy views of Arrow's buffers (no copy)."""
    _, offsets_buf, data_buf = chunk.buffers()[:3]
    kind = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=kind)[chunk.offset : chunk.offset + len(chunk) + 1]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    return offsets, data


def _chunks(col: pa.ChunkedArray | pa.Array) -> list[pa.Array]:
    return list(col.chunks) if isinstance(col, pa.ChunkedArray) else [col]


def _may_start_formula(col: pa.ChunkedArray | pa.Array) -> bool:
    """Whether a text cell of ``col`` may start with a character of :data:`_FORMULA_CHARS`
    (read from the first byte of each value in Arrow's buffers; a null cell's bytes, which
    Arrow may keep, can only make it say yes)."""
    for chunk in _chunks(col):
        if len(chunk) == 0 or chunk.null_count == len(chunk):
            continue
        offsets, data = _text_bytes(chunk)
        starts = offsets[:-1][offsets[1:] > offsets[:-1]]
        if starts.size and np.isin(data[starts], _FORMULA_BYTES).any():
            return True
    return False


#: the control characters a text cell of a CSV output is written without: every C0 control
#: but the tab and the line breaks of a multi-line cell, and DEL (a NUL byte a broken export
#: left, an escape sequence that would recolour or clear a terminal showing the file, a bell)
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
#: per byte value, whether it is one of :data:`_CONTROL` (UTF-8 never uses these bytes
#: inside a character of more than one byte)
_CONTROL_BYTES = np.zeros(256, dtype=bool)
_CONTROL_BYTES[[*range(0, 9), 11, 12, *range(14, 32), 127]] = True


def _may_hold_control(col: pa.ChunkedArray | pa.Array) -> bool:
    """Whether a text cell of ``col`` may hold a character of :data:`_CONTROL` (any such
    byte among the bytes of its values in Arrow's data buffer)."""
    for chunk in _chunks(col):
        if len(chunk) == 0 or chunk.null_count == len(chunk):
            continue
        offsets, data = _text_bytes(chunk)
        if _has_control_byte(data[offsets[0] : offsets[-1]]):
            return True
    return False


def _has_control_byte(data: np.ndarray) -> bool:
    """Whether a byte of :data:`_CONTROL` is among ``data``: the bytes below a space and DEL
    are found by comparison (rare in text), and only those are looked up."""
    low = data < 0x20
    if np.count_nonzero(low) and _CONTROL_BYTES[data[low]].any():
        return True
    return bool(np.count_nonzero(data == 0x7F))


def visible_controls(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A text column with each control character of :data:`_CONTROL` replaced by U+FFFD
    (the column itself where no cell holds one: the usual case, told from its bytes).

    Every CSV file :func:`write_csv` writes shows such a text this way: a product id
    ``SKU\\x07001`` reads ``SKU\ufffd001``, and an escape sequence that would recolour a
    terminal is left without its escape.

    Examples
    --------
    >>> visible_controls(pa.array(["a\\x00b", "Plumb\\x1b[2Jing", "tab\\tkept", None])).to_pylist()
    ['a\ufffdb', 'Plumb\ufffd[2Jing', 'tab\\tkept', None]
    """
    if not _may_hold_control(col):
        return col
    return pc.replace_substring_regex(col, _CONTROL, "\ufffd")


_CONTROL_RE = re.compile(_CONTROL)


def visible_control_text(text: str) -> str:
    r"""One text with each control character of :data:`_CONTROL` replaced by U+FFFD, as
    :func:`visible_controls` shows a column's: the rule report.html and plan.xlsx apply to
    the text they show.

    Examples
    --------
    >>> visible_control_text("Acme\x07 Ltd\x1b[2J\r\n") == "Acme\ufffd Ltd\ufffd[2J\r\n"
    True
    """
    return _CONTROL_RE.sub("\ufffd", text)


def restore_formulas(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Take off the apostrophe :func:`neutralise_formulas` put before a text cell, for text
    read back from a CSV tierwise wrote (the ids of a filled-in review queue).

    A cell loses its leading apostrophe only where the rest is text that
    :func:`neutralise_formulas` would have quoted: it starts with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return and is not a plain negative number.

    Examples
    --------
    >>> restore_formulas(pa.array(["'=A1", "'+x", "'@home", "'-4", "'ok", None])).to_pylist()
    ['=A1', '+x', '@home', "'-4", "'ok", None]
    >>> t = pa.table({"id": ["=A1", "-x", "-4", "'ok"]})
    >>> restore_formulas(neutralise_formulas(t)["id"]).to_pylist()
    ['=A1', '-x', '-4', "'ok"]
    """
    rest = pc.utf8_slice_codeunits(col, 1)
    quoted = pc.and_(
        pc.and_(pc.starts_with(col, "'"), pc.match_substring_regex(rest, _FORMULA_START)),
        pc.invert(pc.match_substring_regex(rest, _PLAIN_NUMBER)),
    )
    return pc.if_else(quoted, rest, col)


def without_text_apostrophe(
    col: pa.ChunkedArray | pa.Array,
) -> tuple[pa.ChunkedArray | pa.Array, int]:
    """Ids without Excel's "keep as text" apostrophe (``'00123`` is ``00123``), as
    validation drops it from the inputs' ids: one apostrophe, then more than white space or
    another apostrophe (``' 7``, ``''8`` and ``'`` are kept as written); with how many ids
    lost one. Apply :func:`restore_formulas` first to a file tierwise wrote, so that only
    the apostrophes it did not write are counted.

    Examples
    --------
    >>> ids, n = without_text_apostrophe(pa.array(["'00123", "' 7", "''8", "'", "'=A1", None]))
    >>> ids.to_pylist(), n
    (['00123', "' 7", "''8", "'", '=A1', None], 2)
    """
    second = pc.utf8_slice_codeunits(col, 1, 2)
    marked = pc.and_(
        pc.starts_with(col, "'"), pc.invert(pc.is_in(second, pa.array(["", "'", " ", "\t"])))
    )
    n = int(pc.sum(pc.cast(pc.fill_null(marked, False), pa.int64())).as_py() or 0)
    if not n:
        return col, 0
    return pc.if_else(marked, pc.utf8_slice_codeunits(col, 1), col), n


def text_apostrophe_note(file: str, n: int) -> str:
    """The warning that ``n`` ids of ``file`` lost Excel's text apostrophe, in the words
    validation says it of the inputs."""
    ids = f"{n:,} id{'' if n == 1 else 's'}"
    return (
        f"{file}: {ids} began with an apostrophe, Excel's mark for text such as '00123; the "
        "apostrophe is dropped, so that they match the same ids written without it in the "
        "other files"
    )


#: CSV flavours a spreadsheet opens as-is: delimiter, decimal separator, byte-order mark
CSV_LOCALES: dict[str, tuple[str, str, bool]] = {
    "default": (",", ".", False),
    "excel-de": (";", ",", True),
    "excel-fr": (";", ",", True),
    "excel-nl": (";", ",", True),
    "excel-es": (";", ",", True),
    "excel-ro": (";", ",", True),
    "excel-us": (",", ".", True),
}


def _no_negative_zero(table: pa.Table) -> pa.Table:
    """Float zeros as 0: a -0.0 (a rate of 0 returns over a negative base, a rounded tiny
    loss) would be written "-0"."""
    cols = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_floating(col.type):
            # -0.0 + 0.0 is 0.0; every other value, NaN and null stay as they are
            col = pc.add(col, pa.scalar(0.0, col.type))
        cols.append((name, col))
    return pa.table(dict(cols))


def missing_as_null(table: pa.Table) -> pa.Table:
    """Float cells that are NaN or infinite as null: a missing figure reaches every output
    as an empty CSV cell and a Parquet null, never as the text ``nan`` or ``inf`` (which a
    CRM or BI import reads as text) nor as a NaN a query's ``IS NULL`` misses.

    Examples
    --------
    >>> t = pa.table({"x": [1.5, float("nan"), float("-inf"), None], "n": [1, 2, 3, 4]})
    >>> missing_as_null(t).to_pydict()
    {'x': [1.5, None, None, None], 'n': [1, 2, 3, 4]}
    """
    cols = []
    changed = False
    for col in table.columns:
        if pa.types.is_floating(col.type):
            bad = pc.invert(pc.is_finite(col))
            if pc.any(bad).as_py():
                col = pc.if_else(bad, pa.scalar(None, col.type), col)
                changed = True
        cols.append(col)
    if not changed:
        return table
    return pa.Table.from_arrays(cols, schema=table.schema)


def _no_controls(table: pa.Table) -> pa.Table:
    """Text cells and column names with each control character of :data:`_CONTROL`
    replaced by U+FFFD (:func:`visible_controls`)."""
    cols = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = visible_controls(col)
        cols.append((re.sub(_CONTROL, "\ufffd", name), col))
    return pa.table(dict(cols))


def _decimal_comma(table: pa.Table) -> pa.Table:
    """Float columns as text with a decimal comma (integers, text and dates unchanged)."""
    cols = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_floating(col.type):
            col = pc.replace_substring(pc.cast(col, pa.string()), ".", ",")
        cols.append((name, col))
    return pa.table(dict(cols))


#: Field metadata of a dictionary-encoded text column whose files hold its values, as if it
#: were plain text (a stage keeps repetitive sentences encoded in memory, the files are
#: those of the text). Other dictionary-encoded columns are written as they are.
AS_VALUES = {b"tierwise.write": b"values"}

#: Rows of a Parquet file with columns written as values decoded at a time: Parquet's row
#: group length (pyarrow's default, which the files of other tables get).
_DECODED_ROWS = 1024 * 1024


def _as_values(field: pa.Field) -> bool:
    key, value = next(iter(AS_VALUES.items()))
    return pa.types.is_dictionary(field.type) and (field.metadata or {}).get(key) == value


def _has_values_only(table: pa.Table) -> bool:
    return any(_as_values(f) for f in table.schema)


def _decoded_schema(schema: pa.Schema) -> pa.Schema:
    fields = []
    for f in schema:
        if _as_values(f):
            meta = {k: v for k, v in (f.metadata or {}).items() if k not in AS_VALUES}
            f = pa.field(f.name, f.type.value_type, f.nullable, metadata=meta or None)
        fields.append(f)
    return pa.schema(fields, metadata=schema.metadata)


def _decoded(table: pa.Table) -> pa.Table:
    """``table`` with each column marked :data:`AS_VALUES` as its values."""
    if not _has_values_only(table):
        return table
    schema = _decoded_schema(table.schema)
    return pa.Table.from_arrays(
        [col.cast(f.type) for col, f in zip(table.columns, schema, strict=True)], schema=schema
    )


def _pieces(table: pa.Table) -> list[pa.Table]:
    """``table`` in slices of :data:`_DECODED_ROWS` rows (one, empty, for an empty table)."""
    return [
        table.slice(start, _DECODED_ROWS)
        for start in range(0, max(table.num_rows, 1), _DECODED_ROWS)
    ]


def _encoded_text(field: pa.Field) -> bool:
    value_type = field.type.value_type if pa.types.is_dictionary(field.type) else None
    return value_type is not None and (
        pa.types.is_string(value_type) or pa.types.is_large_string(value_type)
    )


def _safe_dictionaries(table: pa.Table) -> pa.Table:
    """``table`` with each dictionary-encoded text column kept encoded, its dictionaries'
    values with formulas neutralised and each NUL as U+FFFD, and a mark :data:`AS_VALUES`
    taken off: Arrow's CSV writer writes a dictionary-encoded column as its values, so each
    distinct text is made safe once, not once per row. (A column of encoded values other
    than text keeps its mark and is decoded a piece at a time, :func:`_decoded`.)"""
    if not any(_encoded_text(f) for f in table.schema):
        return table
    done: dict[tuple[int, ...], pa.Array] = {}

    def safe(dictionary: pa.Array) -> pa.Array:
        # chunks of one column often share one dictionary: each is made safe once
        key = tuple(b.address if b is not None else 0 for b in dictionary.buffers())
        key += (dictionary.offset, len(dictionary))
        if key not in done:
            one = pa.table({"v": dictionary})
            done[key] = _no_controls(neutralise_formulas(one)).column(0).combine_chunks()
        return done[key]

    fields, cols = [], []
    for f, col in zip(table.schema, table.columns, strict=True):
        if _encoded_text(f):
            col = pa.chunked_array(
                [pa.DictionaryArray.from_arrays(c.indices, safe(c.dictionary)) for c in col.chunks],
                type=f.type,
            )
            meta = {k: v for k, v in (f.metadata or {}).items() if k not in AS_VALUES}
            f = pa.field(f.name, f.type, f.nullable, metadata=meta or None)
        fields.append(f)
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=pa.schema(fields, metadata=table.schema.metadata))


#: Rows of a CSV written as one piece; a larger table is written in pieces of this many
#: rows, rendered on several threads and written in order (the same bytes as in one go).
_CSV_PIECE_ROWS = 65_536
#: Cells of a CSV piece: a wide table's pieces have fewer rows (the customer table's 150
#: columns about 7,000), so that the pieces rendered ahead hold about as much memory
#: whatever the table's width.
_CSV_PIECE_CELLS = 1 << 20


def write_csv(table: pa.Table, path: Path, *, locale: str = "default", digest: Any = None) -> None:
    """CSV with a header, UTF-8, formulas neutralised, a control character in text (a NUL,
    an escape, a bell: :data:`_CONTROL`) as U+FFFD, dates as ISO
    text, a float -0.0 as 0, a NaN or infinite float as an empty cell.

    ``locale`` picks a flavour of :data:`CSV_LOCALES`: ``excel-de`` writes semicolons,
    decimal commas and a UTF-8 byte-order mark, which a German or French Excel opens as-is.
    Every cell is written from its own value alone, so a large table is rendered in pieces
    of :data:`_CSV_PIECE_ROWS` rows (fewer for a wide table, :data:`_CSV_PIECE_CELLS`
    cells) on a thread per core the run may use (Arrow
    renders without holding Python's lock), a few pieces ahead of the one being written.
    A column marked :data:`AS_VALUES` is written as its values: the writer decodes each
    piece's rows as it renders them, from a dictionary made safe once
    (:func:`_safe_dictionaries`), the same bytes as the decoded table.

    ``digest`` (a :mod:`hashlib` object) is updated with the file's bytes as they are
    written, while the next pieces are rendered.
    """
    delimiter, decimal, bom = csv_format(locale)
    table = _safe_dictionaries(table)

    def render(piece: pa.Table, header: bool) -> pa.Buffer:
        safe = _no_negative_zero(
            _no_controls(neutralise_formulas(missing_as_null(_decoded(piece))))
        )
        if decimal == ",":
            safe = _decimal_comma(safe)
        out = pa.BufferOutputStream()
        pacsv.write_csv(safe, out, pacsv.WriteOptions(delimiter=delimiter, include_header=header))
        return out.getvalue()

    size = max(1, min(_CSV_PIECE_ROWS, _CSV_PIECE_CELLS // max(1, table.num_columns)))
    starts = range(0, table.num_rows, size)
    # one thread per core the run may use ([run] threads)
    workers = max(1, min(len(starts), cores()))
    with path.open("wb") as f:

        def write(data: bytes | pa.Buffer) -> None:
            f.write(data)
            if digest is not None:
                digest.update(data)

        if bom:
            write(b"\xef\xbb\xbf")
        if len(starts) <= 1:
            write(render(table, True))
            return
        ahead = 2 * workers
        with pool_of(workers, "tierwise-csv") as pool:
            pending = []
            for i in starts:
                pending.append(pool.submit(render, table.slice(i, size), i == 0))
                if len(pending) >= ahead:
                    write(pending.pop(0).result())
            for done in pending:
                write(done.result())


def csv_format(locale: str) -> tuple[str, str, bool]:
    """The delimiter, decimal separator and byte-order mark of a CSV locale.

    Raises
    ------
    ValueError
        When ``locale`` is not one of :data:`CSV_LOCALES`.
    """
    try:
        return CSV_LOCALES[locale]
    except KeyError:
        known = ", ".join(CSV_LOCALES)
        raise ValueError(f"unknown CSV locale {locale!r}; use one of {known}") from None


def read_csv(
    path: Path,
    *,
    locale: str = "default",
    columns: list[str] | None = None,
    column_types: Mapping[str, pa.DataType] | None = None,
) -> pa.Table:
    """Read back a CSV that :func:`write_csv` wrote in ``locale`` (its delimiter, its
    decimal separator; a byte-order mark is skipped).

    Columns that read cleanly as numbers are numbers, the others text; ``columns`` keeps
    only those (each must be in the file), ``column_types`` fixes some columns' types.

    Examples
    --------
    >>> d = Path(tempfile.mkdtemp())
    >>> write_csv(pa.table({"id": ["a"], "rate": [0.25]}), d / "t.csv", locale="excel-de")
    >>> read_csv(d / "t.csv", locale="excel-de").to_pydict()
    {'id': ['a'], 'rate': [0.25]}
    """
    delimiter, decimal, _bom = csv_format(locale)
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(use_threads=False),
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(
            decimal_point=decimal,
            include_columns=columns,
            column_types=dict(column_types or {}),
        ),
    )


def write_parquet(table: pa.Table, path: Path) -> None:
    """Parquet with fixed options so that the same table gives the same bytes; a NaN or
    infinite float is written as null.

    A column marked :data:`AS_VALUES` is written as its values, decoded a row group at a
    time: the file is the one the decoded table gives, byte for byte.

    The table's own key-value metadata is left out (a table that went through pandas on
    its way, as some of Spark's results do, carries pandas' description of its index): the
    same table gives the same file whichever engine made it.
    """
    table = table.replace_schema_metadata(None)
    options: dict[str, Any] = {
        "compression": "zstd",
        "write_statistics": True,
        "use_dictionary": True,
    }
    if not _has_values_only(table):
        pq.write_table(missing_as_null(table), path, **options)
        return
    with pq.ParquetWriter(path, _decoded_schema(table.schema), **options) as writer:
        for piece in _pieces(table):
            writer.write_table(missing_as_null(_decoded(piece)), row_group_size=_DECODED_ROWS)


#: Tables from this many rows have their Parquet and CSV files written at once.
_PARALLEL_ROWS = 50_000

#: The file that marks a folder as written by tierwise (and lists what it wrote).
MARKER = ".tierwise-output.json"
#: Files another tierwise tool keeps in an output folder and a new run carries over.
CARRIED = ("overrides.duckdb", "overrides.duckdb.wal")
#: How long a run waits for the dashboard to finish writing a carried file, in seconds
#: (one write takes milliseconds; the dashboard holds the lock only while it writes).
CARRY_WAIT = 60.0
#: Files an operating system puts in any folder a person opens (Finder's view settings,
#: Explorer's thumbnails and folder settings, macOS's resource forks on other file systems
#: "._NAME"): not a user's work, so a run neither counts them as files added nor deletes
#: them — they are carried over into the folder that replaces the output.
OS_FILES = frozenset({".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r"})


def is_os_file(name: str) -> bool:
    """Whether ``name`` is a file the operating system made in a folder (:data:`OS_FILES`,
    or an AppleDouble ``._NAME``).

    Examples
    --------
    >>> [is_os_file(n) for n in (".DS_Store", "Thumbs.db", "desktop.ini", "._plan.xlsx")]
    [True, True, True, True]
    >>> [is_os_file(n) for n in ("plan.xlsx", "~$plan.xlsx", "notes.txt")]
    [False, False, False]
    """
    return name.lower() in OS_FILES or name.startswith("._")


def _os_file_entry(entry: Path) -> bool:
    """Whether a folder entry is an operating system's file: a plain file of such a name (a
    folder named "._x" is a user's, and a run would delete it with the old output)."""
    return is_os_file(entry.name) and entry.is_file() and not entry.is_symlink()


def open_in_office(folder: Path, names: Collection[str]) -> str | None:
    """Which of the files ``names`` of ``folder`` is open in Excel (its lock file
    ``~$NAME`` is beside it) or LibreOffice (``.~lock.NAME#``), said in one line; ``None``
    when none is.

    A workbook open in Excel cannot be replaced on Windows, and on Linux or macOS a run
    would replace it under Excel, which writes its old copy back on the next save: the lock
    file is the one sign of it where nothing is locked.

    Examples
    --------
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "~$plan.xlsx").write_bytes(b"")
    >>> open_in_office(d, ["plan.xlsx", "customers.csv"])[:74]
    'plan.xlsx is open in Excel (lock file ~$plan.xlsx): close it and run again'
    """
    try:
        present = sorted(e.name for e in folder.iterdir())
    except OSError:
        return None
    for entry in present:
        if entry.startswith("~$"):
            app, rest = "Excel", entry[2:]
            # Word and, for long names, Excel put ~$ over the name's first two characters
            match = [n for n in names if n == rest] or [
                n for n in names if len(n) - len(rest) in (1, 2) and n.endswith(rest)
            ]
        elif entry.startswith(".~lock.") and entry.endswith("#"):
            app, rest = "LibreOffice", entry[len(".~lock.") : -1]
            match = [n for n in names if n == rest]
        else:
            continue
        if match:
            return (
                f"{match[0]} is open in {app} (lock file {entry}): close it and run again "
                f"(if {app} is closed, it left the lock file behind: delete that)"
            )
    return None


#: The file only a folder a run is writing (staging) or has just replaced (retired) holds:
#: the run that made it and the folder's own name. It is taken out of the staging folder
#: before that becomes the output, so an output folder, or a user's copy of one, never
#: holds it.
STAGING = ".tierwise-staging.json"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def follow_umask(path: str | Path) -> None:
    """Give a file written through a private temporary file (``mkstemp``: mode 0600) the
    mode every other output file has, read-write as the user's umask allows."""
    os.chmod(path, 0o666 & ~_umask())


def _tierwise_json(path: Path) -> dict[str, Any] | None:
    """A JSON object tierwise wrote (``written_by``), or ``None``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("written_by") != "tierwise":
        return None
    return data


def _read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker of a folder a tierwise run wrote (``None``: not a tierwise folder)."""
    return _tierwise_json(folder / MARKER)


def _written_files(folder: Path) -> set[str] | None:
    """The files a tierwise run wrote into ``folder`` (``None``: not a tierwise folder)."""
    data = _read_marker(folder)
    if data is None:
        return None
    return {str(f) for f in data.get("files", [])}


def _stamp(path: Path, sha256: str | None = None) -> dict[str, Any]:
    """What the marker records of a file a run wrote: its size, modification time and
    SHA-256 (``sha256`` when the writer hashed the bytes as it wrote them)."""
    if sha256 is None:
        sha256 = _sha256(path)
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _changed_files(folder: Path, marker: Mapping[str, Any]) -> list[str]:
    """The files of ``folder`` whose content differs from what the marker recorded when the
    run that wrote them committed.

    A file with the recorded size and modification time is taken as unchanged without
    reading it (the quick check of git and rsync); any other is compared by its SHA-256, so
    a copy of the folder that only renewed the times is not taken as edited. A file gone
    is not a changed one, and a marker without checksums (an older version's) has nothing
    to compare: every file counts as unchanged.
    """
    recorded = marker.get("checksums")
    if not isinstance(recorded, dict):
        return []
    changed = []
    for name, stamp in sorted(recorded.items()):
        p = folder / name
        if not isinstance(stamp, dict) or not p.is_file():
            continue
        st = p.stat()
        same_stat = st.st_size == stamp.get("size") and st.st_mtime_ns == stamp.get("mtime_ns")
        if not same_stat and (
            st.st_size != stamp.get("size") or _stamp(p)["sha256"] != stamp.get("sha256")
        ):
            changed.append(name)
    return changed


def record_rewrite(folder: str | Path, name: str) -> None:
    """Record in an output folder's marker the checksum of ``name``, a file tierwise wrote
    there again in place (report.html or plan.xlsx rebuilt by ``tierwise report``,
    :func:`~tierwise.report.build_report` or ``write_plan_xlsx``), so that the next run
    does not take it for a file the user edited. Only a file the marker already records is
    recorded again; a folder without a marker, or whose marker records no checksums, is
    left as it is."""
    folder = Path(folder)
    data = _read_marker(folder)
    if data is None or not isinstance(data.get("checksums"), dict):
        return
    if name not in data["checksums"] or not (folder / name).is_file():
        return
    data["checksums"][name] = _stamp(folder / name)
    fd, tmp = tempfile.mkstemp(prefix=".marker-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=1) + "\n")
        follow_umask(tmp)
        os.replace(tmp, folder / MARKER)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output_target(
    target: str | Path,
    inputs: list[Path] | tuple[Path, ...] = (),
    setting_files: Sequence[tuple[str, str | Path]] = (),
    *,
    read_first: Collection[str] = (),
) -> Path:
    """Check that a run may write ``target``, before any work is done.

    A run writes a new folder, fills an empty one, or replaces one that a previous run
    wrote (marked by :data:`MARKER`, and holding only what that run wrote, unchanged since:
    the marker records each file's checksum). It never replaces a file, a folder holding
    files tierwise did not write, a file of such a folder that was edited since (a
    filled-in review queue, a plan.xlsx with notes), or a folder that is, holds or sits
    above one of the inputs or of the files the settings name (``setting_files``:
    (setting, path) pairs).

    ``read_first`` names files of the output folder that the run reads before it replaces
    the folder (a review queue filled in there and named in ``[accounts] decisions_file``):
    such a file may be named by a setting and may have been edited.

    Returns
    -------
    Path
        The target, absolute.

    Raises
    ------
    SettingsError
        One line naming the folder and what to do.
    """
    from ..errors import SettingsError

    shown = str(target)
    if re.match(r"[A-Za-z][A-Za-z0-9+.\-]+:/", shown):
        # a URL (s3a://, abfss://, file://): a path would make a folder of that name here
        raise SettingsError(
            f"--out {shown}: outputs are written to a folder on this machine, not to a URL; "
            "give the folder's path (and copy it to the lake afterwards)"
        )
    t = Path(target).expanduser().absolute()
    for parent in [*reversed(t.parents), t]:
        if parent.exists() and not parent.is_dir():
            what = "the output folder" if parent == t else f"{parent} (in the output path)"
            raise SettingsError(
                f"--out {shown}: {what} is a file, not a folder; give a folder for the outputs"
            )
    resolved = t.resolve()
    for p in inputs:
        try:
            ip = Path(p).expanduser().resolve()
        except OSError:
            continue
        if ip == resolved or resolved in ip.parents:
            raise SettingsError(
                f"--out {shown}: the output folder holds the input {p}; a run replaces its "
                "output folder, so give a new or empty folder elsewhere"
            )
    written = _written_files(resolved) if resolved.is_dir() else None
    for setting, f in setting_files:
        try:
            fp = Path(f).expanduser().resolve()
        except OSError:
            continue
        if fp.parent == resolved and fp.name in read_first and fp.name in (written or ()):
            continue
        if fp == resolved or resolved in fp.parents:
            raise SettingsError(
                f"--out {shown}: the output folder holds {f}, named in {setting}; a run "
                "replaces its output folder and that file with it, so copy the file out of "
                "the output folder first and name the copy in the setting"
            )
    if resolved.exists():
        entries = sorted(e.name for e in resolved.iterdir() if not _os_file_entry(e))
        if entries:
            if written is not None:
                is_open = open_in_office(resolved, written)
                if is_open:
                    raise SettingsError(f"--out {shown}: {is_open}")
            if written is None:
                listed = ", ".join(entries[:3]) + (", …" if len(entries) > 3 else "")
                raise SettingsError(
                    f"--out {shown}: the folder holds files tierwise did not write ({listed}); "
                    "give a new or empty folder, or the folder of an earlier tierwise run"
                )
            foreign = [e for e in entries if e not in written and e not in (MARKER, *CARRIED)]
            if foreign:
                listed = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
                raise SettingsError(
                    f"--out {shown}: files were added to this tierwise output folder since it "
                    f"was written ({listed}); move them out first, or give another folder"
                )
            marker = _read_marker(resolved) or {}
            edited = [e for e in _changed_files(resolved, marker) if e not in read_first]
            if edited:
                listed = ", ".join(edited[:3]) + (", …" if len(edited) > 3 else "")
                queue = any(e.startswith("review_queue.") for e in edited)
                also = (
                    " (or, for a filled-in review queue, name it in [accounts] "
                    "decisions_file: a run reads it before it replaces the folder)"
                    if queue
                    else ""
                )
                many = len(edited) > 1
                raise SettingsError(
                    f"--out {shown}: {listed} {'were' if many else 'was'} changed since "
                    f"tierwise wrote {'them' if many else 'it'}, and a run replaces the whole "
                    f"folder; copy your changes elsewhere first{also}, or give another output "
                    "folder"
                )
    anchor = next((p for p in [resolved, *resolved.parents] if p.exists()), None)
    if anchor is not None and not os.access(anchor, os.W_OK | os.X_OK):
        raise SettingsError(
            f"--out {shown}: no permission to write in {anchor}; give the user running "
            "tierwise write access to it, or give another output folder"
        )
    if anchor is not None:
        # a file system that refuses new folders whatever the permissions say (/proc, a
        # read-only mount), found before any work is done: one empty folder made and removed
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".tierwise-probe-", dir=anchor))
        except OSError as exc:
            raise SettingsError(
                f"--out {shown}: cannot make a folder in {anchor} "
                f"({exc.strerror or exc}); give a folder you can write to"
            ) from None
    return resolved


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE); False where the
    platform cannot."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(rc == 0)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _made_by_a_run(folder: Path) -> bool:
    """Whether ``folder`` is a staging or retired folder a run made (it holds
    :data:`STAGING` written for this very folder) and that run is over."""
    proof = _tierwise_json(folder / STAGING)
    if proof is None:
        return False
    if proof.get("folder") != folder.name or not isinstance(proof.get("run"), str):
        return False
    pid = proof.get("pid")
    running = isinstance(pid, int) and pid != os.getpid() and _pid_alive(pid)
    return not running


class OutputFolder:
    """An output folder written atomically.

    Files are written into a hidden temporary folder beside the target; ``commit`` swaps it
    into place in one step where the platform allows (so there is never a moment without
    an output folder), and a crashed run leaves the last good output intact. The staging
    folder, and the replaced output until it is deleted, hold a proof of the run that made
    them (:data:`STAGING`); a later run removes such folders left by a killed run, and no
    other. The folder's permissions
    follow the user's umask. ``commit`` records each file's checksum in the marker, by which
    the next run tells a file the user edited; ``read_first`` names files of the folder
    being replaced that the run has read and that may have been edited
    (:func:`check_output_target`).

    Examples
    --------
    >>> d = Path(tempfile.mkdtemp()) / "out"
    >>> with OutputFolder(d) as out:
    ...     out.write_json("manifest.json", {"ok": True})
    >>> (d / "manifest.json").read_text().strip()
    '{\\n  "ok": true\\n}'
    """

    def __init__(
        self,
        target: str | Path,
        *,
        csv_locale: str = "default",
        read_first: Collection[str] = (),
    ) -> None:
        self.read_first = tuple(read_first)
        self.target = check_output_target(target, read_first=self.read_first)
        self.csv_locale = csv_locale
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from ..errors import SettingsError

            raise SettingsError(
                f"--out {target}: cannot make the folder {self.target.parent} "
                f"({exc.strerror or exc}); give a folder you can write to"
            ) from None
        self._clean_leftovers()
        #: this run's id, in the proof its staging and retired folders hold
        self.run_id = f"{os.getpid()}-{secrets.token_hex(6)}"
        try:
            self.tmp = Path(
                tempfile.mkdtemp(
                    prefix=f".{self.target.name}.tmp-{os.getpid()}-", dir=self.target.parent
                )
            )
        except OSError as exc:
            from ..errors import SettingsError

            raise SettingsError(
                f"--out {target}: cannot write the output folder ({exc.strerror or exc}); "
                "give a folder you can write to"
            ) from None
        os.chmod(self.tmp, 0o777 & ~_umask())
        self._prove(self.tmp)
        self.files: list[str] = []
        #: the SHA-256 of the tables' files, taken as they were written (the marker's
        #: checksums without reading them again)
        self._sha256: dict[str, str] = {}
        self._mark()

    def _mark(self, *, checksums: bool = False) -> None:
        data: dict[str, Any] = {"written_by": "tierwise", "files": sorted(set(self.files))}
        if checksums:
            data["checksums"] = {
                name: _stamp(self.tmp / name, self._sha256.get(name))
                for name in sorted(set(self.files))
                if (self.tmp / name).is_file()
            }
        (self.tmp / MARKER).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    def _prove(self, folder: Path) -> None:
        """Mark ``folder`` as this run's staging or retired folder (:data:`STAGING`)."""
        proof = {"written_by": "tierwise", "run": self.run_id, "pid": os.getpid()}
        proof["folder"] = folder.name
        (folder / STAGING).write_text(json.dumps(proof) + "\n", encoding="utf-8")

    def _clean_leftovers(self) -> None:
        """Remove the staging and retired folders of runs that were killed: the hidden
        folders beside the target named ``.NAME.tmp-…`` or ``.NAME.old-…`` that hold a
        :data:`STAGING` proof made for them by a run no longer running. A folder that only
        looks like one (a user's copy of an output named ``.NAME.old-2024``) is kept."""
        for p in self.target.parent.glob(f".{self.target.name}.*-*"):
            kind = p.name[len(self.target.name) + 2 :].partition("-")[0]
            if kind in ("tmp", "old") and p.is_dir() and _made_by_a_run(p):
                shutil.rmtree(p, ignore_errors=True)

    def path(self, name: str) -> Path:
        self.files.append(name)
        self._sha256.pop(name, None)
        return self.tmp / name

    def write_table(
        self, stem: str, table: pa.Table, *, csv: bool = True, parquet: bool = True
    ) -> None:
        """``stem``.parquet and ``stem``.csv; from :data:`_PARALLEL_ROWS` rows, both at once
        when both are asked for (Arrow writes without holding Python's lock, so a large
        table's two files take about the time of the slower one on two cores)."""
        pq_path = self.path(f"{stem}.parquet") if parquet else None
        csv_path = self.path(f"{stem}.csv") if csv else None

        def parquet_file(path: Path) -> None:
            write_parquet(table, path)
            self._sha256[path.name] = _sha256(path)

        def csv_file(path: Path) -> None:
            digest = hashlib.sha256()
            write_csv(table, path, locale=self.csv_locale, digest=digest)
            self._sha256[path.name] = digest.hexdigest()

        if pq_path is not None and csv_path is not None and table.num_rows >= _PARALLEL_ROWS:
            # on one core the Parquet file is written first, in the caller
            with pool_of(2, "tierwise-parquet") as pool:
                done = pool.submit(parquet_file, pq_path)
                csv_file(csv_path)
                done.result()
            return
        if pq_path is not None:
            parquet_file(pq_path)
        if csv_path is not None:
            csv_file(csv_path)

    def write_json(self, name: str, data: Mapping[str, Any]) -> None:
        text = json.dumps(_clean(data), indent=2, default=_json_default, allow_nan=False)
        self.path(name).write_text(text + "\n", encoding="utf-8")

    def write_text(self, name: str, text: str) -> None:
        self.path(name).write_text(text, encoding="utf-8")

    def commit(self) -> Path:
        self._mark(checksums=True)
        if self.target.exists():
            # what the operating system keeps beside the outputs (left as it was, never deleted)
            for entry in self.target.iterdir():
                if _os_file_entry(entry):
                    shutil.copy2(entry, self.tmp / entry.name)
            check_output_target(self.target, read_first=self.read_first)
            # what the dashboard keeps there (overrides and audit), copied under the lock the
            # dashboard takes to write it, held until the swap: a decision saved meanwhile
            # waits and goes into the new folder
            with hold_folder(self.target, wait=CARRY_WAIT, busy=self._busy()):
                for name in CARRIED:
                    if (self.target / name).exists() and not (self.tmp / name).exists():
                        shutil.copy2(self.target / name, self.tmp / name)
                (self.tmp / STAGING).unlink()
                retired = self._swap()
            shutil.rmtree(retired, ignore_errors=True)
            return self.target
        (self.tmp / STAGING).unlink()
        os.replace(self.tmp, self.target)
        return self.target

    def _swap(self) -> Path:
        """Put the staging folder in the target's place; the retired output's folder, proved
        a leftover of this run so that the next run removes it should this one be killed
        before it does."""
        if _exchange(self.tmp, self.target):
            self._prove(self.tmp)
            return self.tmp
        old = self.target.with_name(f".{self.target.name}.old-{self.run_id}")
        os.replace(self.target, old)
        try:
            os.replace(self.tmp, self.target)
        except BaseException:
            os.replace(old, self.target)
            self._prove(self.tmp)
            raise
        self._prove(old)
        return old

    def _busy(self) -> str:
        return (
            f"--out {self.target}: the dashboard (tierwise serve) kept {CARRIED[0]} busy for "
            f"{CARRY_WAIT:.0f} s, so the folder was not replaced; run again (the last output "
            "is intact)"
        )

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def _json_default(value: Any) -> Any:
    import datetime as dt

    import numpy as np

    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        v = float(value)
        return v if np.isfinite(v) else None
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _clean(value: Any) -> Any:
    """NaN and infinity become null (JSON has no spelling for them)."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
