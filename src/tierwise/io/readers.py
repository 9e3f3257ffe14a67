"""Reading the user's inputs into the engine as raw tables.

A raw table keeps the user's own column names and, for text formats, every value as text;
``validate`` then maps and parses it into the canonical table. Each raw table carries
``_row``, the row number a user would look up: the line number for CSV (the header is line
1), the sheet row for Excel, the record number (from 1) for Parquet and databases.

Rows the parser itself cannot use (wrong number of fields, blank lines) never reach the
engine; they come back as ``malformed`` rows with their line and reason, so that
``read == used + rejected`` still holds.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..engine import ROW, Engine
from ..errors import InputError, TierwiseError
from ..settings.inputs import TableInput

__all__ = [
    "REJECT_SCHEMA",
    "RawInput",
    "fingerprint",
    "read_decisions",
    "read_input",
    "sniff_csv",
]

#: Columns of rejects.csv
REJECT_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("table", pa.string()),
        ("row", pa.int64()),
        ("column", pa.string()),
        ("reason", pa.string()),
        ("value", pa.string()),
    ]
)

_SNIFF_BYTES = 1 << 20
_DELIMITERS = ",;\t|"


@dataclass
class RawInput:
    """One input as read: the raw engine table and what the parser could not use."""

    name: str
    path: str
    table: ir.Table
    malformed: pa.Table = field(default_factory=REJECT_SCHEMA.empty_table)
    sha256: str = ""
    fmt: str = ""
    #: columns as they appear in the source, in order
    source_columns: list[str] = field(default_factory=list)
    #: the CSV delimiter used (None for other formats)
    delimiter: str | None = None

    @property
    def n_malformed(self) -> int:
        return self.malformed.num_rows


def fingerprint(path: str | Path) -> str:
    """SHA-256 of a file's bytes (streamed), or of the URL text for a database."""
    p = Path(path)
    if not p.is_file():
        return hashlib.sha256(str(path).encode()).hexdigest()
    h = hashlib.sha256()
    with p.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _detect_format(path: str) -> str:
    low = path.lower()
    if low.startswith(("postgresql://", "postgres://")):
        return "postgres"
    suffix = Path(low).suffix
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    if suffix in {".xlsx", ".xlsm"}:
        return "excel"
    if suffix in {".duckdb", ".ddb", ".db"}:
        return "duckdb"
    if suffix in {".csv", ".txt", ".tsv", ".tab", ""}:
        return "csv"
    if suffix == ".xls":
        raise InputError(
            "old .xls Excel files are not read",
            file=path,
            hint="save it as .xlsx or CSV",
        )
    return "csv"


def read_input(name: str, path: str | Path, ti: TableInput, engine: Engine) -> RawInput:
    """Read one input (CSV, Parquet, Excel, DuckDB file or PostgreSQL URL) into the engine.

    Parameters
    ----------
    name
        Canonical table name (``transactions``, ``customers`` …).
    path
        File path or ``postgresql://`` URL.
    ti
        The table's settings section (delimiter, encoding, sheet, table name).
    engine
        Where the table lands.

    Examples
    --------
    >>> from tierwise.engine import Engine
    >>> from tierwise.settings import TableInput
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("customer_id;date;revenue\\nA;2024-01-02;10,5\\n")
    >>> raw = read_input("transactions", p, TableInput(), Engine())
    >>> raw.source_columns
    ['customer_id', 'date', 'revenue']
    """
    spath = str(path)
    # a URL passed through pathlib loses one slash (postgresql:/host/db): put it back
    spath = re.sub(r"^(postgres(?:ql)?):/(?!/)", r"\1://", spath, flags=re.IGNORECASE)
    fmt = _detect_format(spath)
    if fmt != "postgres" and not Path(spath).exists():
        raise InputError("file not found", file=spath, hint="check the path")
    if fmt != "postgres" and Path(spath).is_dir():
        raise InputError("is a folder, not a file", file=spath, hint="give the file inside it")
    if fmt == "csv":
        raw = _read_csv(name, spath, ti, engine)
    elif fmt == "parquet":
        raw = _read_parquet(name, spath, engine)
    elif fmt == "excel":
        raw = _read_excel(name, spath, ti, engine)
    elif fmt == "duckdb":
        raw = _read_duckdb(name, spath, ti, engine)
    else:
        raw = _read_postgres(name, spath, ti, engine)
    raw.sha256 = fingerprint(spath)
    raw.fmt = fmt
    return raw


# -- CSV ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvDialect:
    encoding: str
    delimiter: str
    header: list[str]


def _sniff_encoding(sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sample is still UTF-8
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    # Windows "ANSI" exports are cp1252: Latin-1 plus € and typographic quotes in 0x80-0x9f
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def sniff_csv(path: str, ti: TableInput | None = None, *, name: str = "table") -> CsvDialect:
    """Work out encoding, delimiter and header of a CSV file (settings win where given).

    ``name`` is the input's settings section, named in the hints of errors.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_bytes("id;name\\n1;Müller\\n".encode("latin-1"))
    >>> d = sniff_csv(str(p))
    >>> (d.encoding, d.delimiter, d.header)
    ('cp1252', ';', ['id', 'name'])
    """
    ti = ti or TableInput()
    with open(path, "rb") as f:
        sample = f.read(_SNIFF_BYTES)
    if not sample.strip():
        raise InputError("the file is empty", file=path, hint="export it again with a header row")
    encoding = ti.encoding or _sniff_encoding(sample)
    if b"\x00" in sample and not encoding.startswith("utf-16"):
        raise InputError(
            "looks like a binary file, not CSV text",
            file=path,
            hint="export the table as CSV, Parquet or .xlsx",
        )
    try:
        text = sample.decode(
            encoding, errors="replace" if len(sample) == _SNIFF_BYTES else "strict"
        )
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputError(
            f"cannot decode the file as {encoding}",
            file=path,
            hint=f"set [{name}] encoding to utf-8, latin-1 or cp1252",
        ) from exc
    text = text.lstrip("\ufeff")
    lines = [ln for ln in text.splitlines()[:200] if ln.strip()]
    if not lines:
        raise InputError("the file is empty", file=path, hint="export it again with a header row")
    delimiter = ti.delimiter or _sniff_delimiter(lines)
    header = next(csv.reader([lines[0]], delimiter=delimiter))
    header = [h.strip() for h in header]
    return CsvDialect(encoding=encoding, delimiter=delimiter, header=header)


def _fields(line: str, delimiter: str) -> int:
    return len(next(csv.reader([line], delimiter=delimiter)))


def _sniff_delimiter(lines: list[str]) -> str:
    # The header is the surest sign: a delimiter that splits it, and the only one, wins even
    # when the data lines are ragged (csv.Sniffer then guesses wrong).
    header, data = lines[0], lines[1:50]
    widths = {d: _fields(header, d) for d in _DELIMITERS}
    splitting = [d for d in _DELIMITERS if widths[d] > 1]
    if len(splitting) == 1:
        return splitting[0]
    if splitting:
        # several split the header: the one most data lines agree with, then the widest
        return max(
            splitting,
            key=lambda d: (sum(_fields(ln, d) == widths[d] for ln in data), widths[d]),
        )
    try:
        return csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        pass
    # the delimiter that gives the same, largest field count on most lines
    best, best_score = ",", 0
    for d in _DELIMITERS:
        counts = [_fields(ln, d) for ln in lines[:50]]
        width = max(set(counts), key=counts.count)
        score = width * counts.count(width) if width > 1 else 0
        if score > best_score:
            best, best_score = d, score
    return best


def _check_header(path: str, header: list[str]) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(header, start=1):
        name = h or f"column_{i}"
        key = name.lower()
        if key in seen:
            raise InputError(
                f"column {name!r} appears twice in the header (columns {seen[key]} and {i})",
                file=path,
                row=1,
                column=name,
                hint="rename one of them",
            )
        seen[key] = i
        names.append(name)
    return names


def _read_csv(name: str, path: str, ti: TableInput, engine: Engine) -> RawInput:
    dialect = sniff_csv(path, ti, name=name)
    names = _check_header(path, dialect.header)
    bad: list[tuple[int, str, str]] = []
    multiline_bad: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        text = row.text or ""
        reason = (
            "blank line"
            if not text.strip(dialect.delimiter + " \r\n")
            else f"expected {row.expected_columns} fields, found {row.actual_columns}"
        )
        number = row.number if row.number is not None and row.number > 0 else -1
        bad.append((number, reason, text[:200]))
        if "\n" in text.rstrip("\r\n"):
            multiline_bad.append(number)
        return "skip"

    def parse(encoding: str) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding=encoding.replace("utf-8-sig", "utf-8"),
                column_names=names,
                skip_rows=1,
                # single-threaded so that the parser reports the line of each bad row
                use_threads=False,
                block_size=1 << 24,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=dialect.delimiter,
                invalid_row_handler=on_invalid,
                ignore_empty_lines=False,
                # quoted values may span lines (single-threaded, so no cost)
                newlines_in_values=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    # the sniffed encoding held for the first megabyte; a later line may need a wider one
    encodings = [dialect.encoding]
    if ti.encoding is None:
        encodings += [e for e in ("cp1252", "latin-1") if e not in encodings]
    table: pa.Table | None = None
    for i, encoding in enumerate(encodings):
        bad.clear()
        multiline_bad.clear()
        last = i == len(encodings) - 1
        try:
            table = parse(encoding)
            break
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            if isinstance(exc, pa.ArrowInvalid) and "Could not skip initial" in str(exc):
                # a header line with no line break after it: no data rows
                table = pa.table({n: pa.array([], pa.string()) for n in names})
                break
            undecodable = isinstance(exc, UnicodeDecodeError) or "UTF8" in str(exc)
            if undecodable and not last:
                continue
            if undecodable:
                raise InputError(
                    f"cannot decode the file as {encoding}",
                    file=path,
                    hint=f"set [{name}] encoding to utf-8, latin-1 or cp1252",
                ) from exc
            raise InputError(f"cannot read as CSV: {exc}", file=path) from exc
        except pa.ArrowException as exc:
            raise InputError(f"cannot read as CSV: {exc}", file=path) from exc
    assert table is not None
    # a UTF-8 BOM is removed by the decoder, except when utf-8 was forced
    if names and names[0].startswith("\ufeff"):
        table = table.rename_columns([names[0].lstrip("\ufeff"), *names[1:]])
        names = table.column_names
    # the row number of every parsed record: physical lines less the malformed ones
    n_good = table.num_rows
    bad_lines = np.array(sorted(b[0] for b in bad if b[0] > 0), dtype=np.int64)
    if len(bad_lines) == len(bad):
        all_lines = np.arange(2, n_good + len(bad) + 2, dtype=np.int64)
        rows = np.setdiff1d(all_lines, bad_lines, assume_unique=True)[:n_good]
        if len(rows) < n_good:  # multi-line quoted values: fall back to record numbers
            rows = np.arange(2, n_good + 2, dtype=np.int64)
    else:
        rows = np.arange(2, n_good + 2, dtype=np.int64)
    table = table.append_column(ROW, pa.array(rows, pa.int64()))
    _check_unclosed_quote(path, table, names, multiline_bad)
    # lines whose every field is empty are blank lines
    if names and n_good:
        empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(table.column(names[0]))), 0)
        for n in names[1:]:
            empty = pc.and_(
                empty, pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(table.column(n))), 0)
            )
        n_empty = pc.sum(empty.cast(pa.int64())).as_py() or 0
        if n_empty:
            blank_rows = table.filter(empty).column(ROW)
            bad.extend((int(r), "blank line", "") for r in blank_rows.to_pylist())
            table = table.filter(pc.invert(empty))
    malformed = pa.table(
        {
            "file": pa.array([path] * len(bad), pa.string()),
            "table": pa.array([name] * len(bad), pa.string()),
            "row": pa.array([b[0] for b in bad], pa.int64()),
            "column": pa.array([None] * len(bad), pa.string()),
            "reason": pa.array([b[1] for b in bad], pa.string()),
            "value": pa.array([b[2] for b in bad], pa.string()),
        },
        schema=REJECT_SCHEMA,
    )
    t = engine.from_arrow(table, engine.fresh_name(f"raw_{name}"))
    return RawInput(
        name, path, t, malformed=malformed, source_columns=names, delimiter=dialect.delimiter
    )


def _check_unclosed_quote(
    path: str, table: pa.Table, names: list[str], multiline_bad: list[int]
) -> None:
    """Stop when a stray quote swallowed the rest of the file into one value.

    The CSV parser reads an opening quote that is never closed as a value running to the
    end of the file, so every later line would vanish into it. That shows as an odd number
    of quote characters and a last record that spans several lines.
    """
    start: int | None = None
    if table.num_rows:
        last = table.slice(table.num_rows - 1, 1).to_pylist()[0]
        if any(isinstance(last[n], str) and "\n" in last[n].rstrip("\r\n") for n in names):
            start = int(last[ROW])
    if multiline_bad and multiline_bad[-1] > 0:
        start = max(start or 0, multiline_bad[-1])
    if start is None:
        return
    quotes = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            quotes += chunk.count(b'"')
    if quotes % 2:
        raise InputError(
            'a quote (") opened in this row is never closed, so every line after it would be '
            "read as one value",
            file=path,
            row=start,
            hint="remove the stray quote or close it",
        )


# -- Parquet, Excel, DuckDB, PostgreSQL -------------------------------------------------


def _read_duckdb(name: str, path: str, ti: TableInput, engine: Engine) -> RawInput:
    table_name = ti.table or name
    try:
        table = engine.read_duckdb_table(path, table_name)
    except TierwiseError:
        raise
    except Exception as exc:
        found = _duckdb_tables(path)
        if found is None:
            msg = " ".join(str(exc).split())[:200]
            raise InputError(
                f"not a readable DuckDB database: {msg}",
                file=path,
                hint="check it is a .duckdb file written by DuckDB",
            ) from exc
        raise InputError(
            f"no table {table_name!r} in the database",
            file=path,
            hint=f"set [{name}] table to one of: {', '.join(found) or '(none)'}",
        ) from exc
    cols = [c for c in table.columns if c != ROW]
    _check_header(path, cols)
    return RawInput(name, path, table, source_columns=cols)


def _duckdb_tables(path: str) -> list[str] | None:
    """The tables of a DuckDB file (schema-qualified outside main), or None if unreadable."""
    import duckdb

    try:
        with duckdb.connect(path, read_only=True) as con:
            rows = con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "ORDER BY table_schema, table_name"
            ).fetchall()
    except Exception:
        return None
    return [t if s == "main" else f"{s}.{t}" for s, t in rows]


def _read_parquet(name: str, path: str, engine: Engine) -> RawInput:
    try:
        import pyarrow.parquet as pq

        pq.read_schema(path)
    except Exception as exc:
        raise InputError(
            "not a readable Parquet file", file=path, hint="check it is a .parquet export"
        ) from exc
    table = engine.read_parquet(path)
    cols = [c for c in table.columns if c != ROW]
    _check_header(path, cols)
    return RawInput(name, path, table, source_columns=cols)


def _read_excel(name: str, path: str, ti: TableInput, engine: Engine) -> RawInput:
    import pandas as pd

    try:
        # header=None: pandas would rename a repeated header cell ("revenue.1") silently
        frame = pd.read_excel(
            path,
            sheet_name=ti.sheet or 0,
            header=None,
            dtype=str,
            engine="openpyxl",
            keep_default_na=False,
        )
    except ValueError as exc:
        sheets = _excel_sheets(path)
        if ti.sheet and sheets is not None and ti.sheet not in sheets:
            raise InputError(
                f"no sheet named {ti.sheet!r}",
                file=path,
                hint=f"set [{name}] sheet to one of: {', '.join(map(repr, sheets))}",
            ) from exc
        raise InputError(f"cannot read as Excel: {exc}", file=path) from exc
    except Exception as exc:
        raise InputError(f"cannot read as Excel: {exc}", file=path) from exc
    if frame.empty:
        raise InputError("the sheet is empty", file=path, hint="put a header row in row 1")
    names = _check_header(path, [str(c).strip() for c in frame.iloc[0]])
    frame = frame.iloc[1:]
    frame.columns = names
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column(ROW, pa.array(np.arange(2, len(frame) + 2), pa.int64()))
    t = engine.from_arrow(table, engine.fresh_name(f"raw_{name}"))
    return RawInput(name, path, t, source_columns=names)


def _excel_sheets(path: str) -> list[str] | None:
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        try:
            return list(wb.sheetnames)
        finally:
            wb.close()
    except Exception:
        return None


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


def _read_postgres(name: str, url: str, ti: TableInput, engine: Engine) -> RawInput:
    import psycopg

    table_name = ti.table or name
    if not _IDENT.match(table_name):
        raise InputError(
            f"table name {table_name!r} is not a plain identifier",
            file=url,
            hint=f"set [{name}] table to schema.table",
        )
    from psycopg import sql

    parts = table_name.split(".")
    ident = sql.Identifier(*parts)
    buf = io.BytesIO()
    try:
        with psycopg.connect(url, connect_timeout=10) as conn, conn.cursor() as cur:
            query = sql.SQL("COPY (SELECT * FROM {}) TO STDOUT WITH (FORMAT csv, HEADER true)")
            with cur.copy(query.format(ident)) as copy:
                for chunk in copy:
                    buf.write(chunk)
    except psycopg.Error as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"cannot read table {table_name!r}: {msg}",
            file=_redact(url),
            hint=f"check the URL, the server and [{name}] table",
        ) from exc
    data = buf.getvalue()
    header_line = data.split(b"\n", 1)[0].decode("utf-8")
    names = _check_header(url, next(csv.reader([header_line])))
    if len(data) <= len(header_line) + 1:
        table = pa.table({n: pa.array([], pa.string()) for n in names})
    else:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    table = table.append_column(ROW, pa.array(np.arange(1, table.num_rows + 1), pa.int64()))
    t = engine.from_arrow(table, engine.fresh_name(f"raw_{name}"))
    return RawInput(name, _redact(url), t, source_columns=names)


def _redact(url: str) -> str:
    """The URL without its password, for messages and the manifest."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def read_decisions(path: str | Path) -> pa.Table:
    """Read a review-decisions file (CSV or Parquet) as text columns."""
    p = Path(path)
    if not p.is_file():
        raise InputError(
            "review decisions file not found",
            file=str(p),
            hint="fix [accounts] decisions_file or remove it",
        )
    if p.suffix.lower() in {".parquet", ".pq"}:
        import pyarrow.parquet as pq

        t = pq.read_table(p)
        # text columns as from a CSV; nested columns (none is a decision field) are left out
        flat = [f.name for f in t.schema if not pa.types.is_nested(f.type)]
        return t.select(flat).cast(pa.schema([(n, pa.string()) for n in flat]))
    dialect = sniff_csv(str(p))
    names = _check_header(str(p), dialect.header)
    try:
        return pacsv.read_csv(
            p,
            read_options=pacsv.ReadOptions(
                encoding=dialect.encoding.replace("utf-8-sig", "utf-8"),
                column_names=names,
                skip_rows=1,
            ),
            parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}),
        )
    except pa.ArrowException as exc:
        raise InputError(f"cannot read the review decisions: {exc}", file=str(p)) from exc
