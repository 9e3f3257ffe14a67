"""Reading the user's inputs into the engine as raw tables.

A raw table keeps the user's own column names and, for text formats, every value as text;
``validate`` then maps and parses it into the canonical table. Each raw table carries
``_row``, the row number a user would look up: the line number for CSV (the header is line
1), the sheet row for Excel, the record number (from 1) for Parquet and databases.

Rows the parser itself cannot use (wrong number of fields, blank lines, an Excel formula
without a stored value) never reach the engine; they come back as ``malformed`` rows with
their line and reason, so that ``read == used + rejected`` still holds.

What reading had to assume (lines of a UTF-8 file read as Windows-1252) is in
``RawInput.warnings``. A database URL is shown and stored without its password
(``RawInput.path``); :func:`~tierwise.io.urls.redact_url` does the same for any URL.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import os
import re
import shutil
import stat
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, BinaryIO

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .._threads import cores, pool
from ..engine import ROW, Engine, engine_message
from ..errors import EngineError, InputError, SettingsError, TierwiseError
from ..schema import CASE_FOLDS, column_key
from ..settings import INPUT_TABLES
from ..settings.inputs import TableInput
from .urls import is_database_url, redact_text, redact_url, url_secrets

__all__ = [
    "REJECT_SCHEMA",
    "RawInput",
    "fingerprint",
    "read_decisions",
    "read_input",
    "redact_url",
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
#: ``[<table>] delimiter`` for text aligned in columns: fields apart by runs of spaces or tabs
WHITESPACE = "whitespace"
#: a file whose first megabyte has more than this share of control bytes (other than tab,
#: line breaks and form feed), and more than _BINARY_MIN of them, is binary, not text; a
#: stray NUL in an id is not
_BINARY_SHARE, _BINARY_MIN = 0.01, 4
#: the columns a review-decisions file must have
_DECISION_COLUMNS = ("left_id", "right_id", "decision")


@dataclass
class RawInput:
    """One input as read: the raw engine table and what the parser could not use."""

    name: str
    #: the file as shown to people: a database URL without its password
    path: str
    table: ir.Table
    malformed: pa.Table = field(default_factory=REJECT_SCHEMA.empty_table)
    sha256: str = ""
    fmt: str = ""
    #: columns as they appear in the source, in order
    source_columns: list[str] = field(default_factory=list)
    #: the CSV delimiter used (None for other formats)
    delimiter: str | None = None
    #: what reading assumed (e.g. lines read as Windows-1252), each naming its setting
    warnings: list[str] = field(default_factory=list)
    #: a workbook's sheets, each with the column names found on it, in the workbook's
    #: order (empty for other formats and for a workbook of one sheet)
    sheets: dict[str, list[str]] = field(default_factory=dict)
    #: the sheet read (a workbook only)
    sheet: str | None = None
    #: the table read (a database only)
    database_table: str | None = None
    #: the day a date column's serial day numbers count from: 1904-01-01 in a workbook of
    #: Excel's 1904 date system (Excel for Mac's before 2011), else 1899-12-30
    serial_origin: dt.date = dt.date(1899, 12, 30)
    #: the file's checksum while a thread of its own computes it, as the engine reads and
    #: checks the rows (see :meth:`checksum`)
    pending_sha256: Future[str] | None = field(default=None, repr=False, compare=False)

    @property
    def n_malformed(self) -> int:
        return self.malformed.num_rows

    def checksum(self) -> str:
        """``sha256``, once the thread computing it has finished."""
        if self.pending_sha256 is not None:
            self.sha256 = self.pending_sha256.result()
            self.pending_sha256 = None
        return self.sha256


def fingerprint(path: str | Path) -> str:
    """SHA-256 of a file's bytes (streamed), or of the redacted URL text for a database
    (not a checksum of its rows: :func:`read_input` records none for a database)."""
    p = Path(path)
    if is_database_url(str(path)) or not p.is_file():
        return hashlib.sha256(redact_url(str(path)).encode()).hexdigest()
    h = hashlib.sha256()
    with p.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def fingerprint_later(path: str | Path) -> Future[str]:
    """:func:`fingerprint` computed in a thread of its own, so that reading the file's bytes
    for the checksum overlaps the engine's work on them (hashing lets other threads run);
    now, in the caller, when the run may use one core (``[run] threads = 1``: an error
    waits in the future, an interrupt stops the run at once)."""
    if cores() == 1:
        return pool(1).submit(fingerprint, path)
    done: Future[str] = Future()

    def run() -> None:
        try:
            done.set_result(fingerprint(path))
        except BaseException as exc:
            done.set_exception(exc)

    threading.Thread(target=run, name="tierwise-sha256", daemon=True).start()
    return done


# -- what a file is --------------------------------------------------------------------------

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _magic(path: str) -> str | None:
    """The format a file's first bytes show, whatever its name says."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(_OLE2):
        return "ole2"
    if head[8:12] == b"DUCK":
        return "duckdb"
    return None


#: the first bytes of a compressed file, and the module that opens it
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "lzma"))
#: what an archive may hold beside the file: folders, and what macOS and Windows add
_ARCHIVE_LITTER = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)")


def _zip_document(path: str) -> str | None:
    """What a zip file is as a document: ``xlsx`` (an Office package), ``xlsb`` (Excel's
    binary workbook), ``ods`` (an OpenDocument file: LibreOffice, OpenOffice), ``numbers``
    (Apple Numbers), or None for an archive of files."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            mimetype = z.read("mimetype")[:64] if "mimetype" in names else b""
    except (OSError, zipfile.BadZipFile, KeyError):
        return "xlsx"  # read as a workbook, which says what is wrong with it
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        return "ods"
    if "Index/Document.iwa" in names:
        return "numbers"
    if "[Content_Types].xml" in names:
        return "xlsb" if "xl/workbook.bin" in names else "xlsx"
    return None


#: a spreadsheet format saved as a zip file that is not read, and the message saying so
_UNREAD_DOCUMENTS = {
    "xlsb": ("an Excel binary workbook (.xlsb) is not read", "save it as .xlsx or CSV"),
    "ods": (
        "an OpenDocument spreadsheet (.ods, from LibreOffice or OpenOffice) is not read",
        "save it as .xlsx or CSV",
    ),
    "numbers": ("an Apple Numbers file is not read", "export it as Excel (.xlsx) or CSV"),
}


#: an unpacked file may be this many times its packed size, and at least this many bytes,
#: before it is taken for a decompression bomb (text compresses 5 to 20 times)
_UNPACK_RATIO, _UNPACK_FLOOR = 200, 1 << 30


def _archive_kind(path: str) -> str | None:
    """What a file's first bytes show it packed as: gzip, bz2, lzma, zip, tar or None (a
    workbook is a zip file, and no archive)."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return None
    kind = next((mod for magic, mod in _COMPRESSED if head.startswith(magic)), None)
    if kind is not None:
        return kind
    if head.startswith(b"PK\x03\x04") and _zip_document(path) is None:
        return "zip"
    if head[257:262] == b"ustar":
        return "tar"
    return None


def _copy_limited(src: IO[bytes], target: Path, packed: int, shown: str) -> None:
    """Copy ``src`` into ``target``, stopping in one line past the bomb limit."""
    limit = max(_UNPACK_FLOOR, _UNPACK_RATIO * packed)
    written = 0
    with open(target, "wb") as dst:
        while chunk := src.read(1 << 22):
            written += len(chunk)
            if written > limit:
                raise InputError(
                    f"unpacked, it grows past {limit / 2**30:.1f} GiB, over {_UNPACK_RATIO} "
                    "times its packed size: not unpacked further (a decompression bomb?)",
                    file=shown,
                    hint="unpack it yourself and give the file, if it is an export",
                )
            dst.write(chunk)


def unpack(path: str, shown: str, folder: Path) -> str:
    """The file to read: ``path`` itself, or, for a compressed file (gzip, bzip2, xz) or a
    zip archive holding one file, that file unpacked into a private folder in ``folder``
    (streamed, at most :data:`_UNPACK_RATIO` times its packed size), named as in the
    archive or without the compression's suffix. One level: an archive inside an archive,
    or a tar archive, is refused in one line."""
    kind = _archive_kind(path)
    if kind is None:
        return path
    if kind == "tar":
        raise InputError(
            "this is a tar archive; tierwise reads a compressed file or a zip archive "
            "holding one file",
            file=shown,
            hint="unpack it with tar -xf and give the file holding this table",
        )
    packed = Path(path).stat().st_size
    target_dir = Path(tempfile.mkdtemp(prefix="unpacked-", dir=folder))
    try:
        if kind != "zip":
            import importlib

            opener = importlib.import_module(kind)
            stem = Path(shown).name
            inner = (
                stem.rsplit(".", 1)[0] if stem.lower().endswith((".gz", ".bz2", ".xz")) else stem
            )
            target = target_dir / (inner or "data")
            with opener.open(path, "rb") as src:
                _copy_limited(src, target, packed, shown)
        else:
            target = _unzip_one(path, shown, target_dir, packed)
    except TierwiseError:
        raise
    except NotImplementedError as exc:
        raise InputError(
            f"the archive uses a compression method Python cannot unpack ({exc})",
            file=shown,
            hint="unpack it with 7-Zip or your system's tool and give the file",
        ) from exc
    except Exception as exc:
        raise InputError(
            f"cannot unpack it ({kind}): {' '.join(str(exc).split())[:200]}",
            file=shown,
            hint="the file is damaged or was cut short, as by an interrupted download: "
            "copy or export it again",
        ) from exc
    inner_kind = _archive_kind(str(target))
    if inner_kind is not None:
        raise InputError(
            f"it holds a tar archive ({target.name}); tierwise reads a compressed file or a "
            "zip archive holding one file"
            if inner_kind == "tar"
            else f"it holds another archive ({target.name}); tierwise unpacks one level",
            file=shown,
            hint="unpack it"
            + (" with tar -xf" if inner_kind == "tar" else "")
            + " and give the file holding this table",
        )
    return str(target)


def _unzip_one(path: str, shown: str, target_dir: Path, packed: int) -> Path:
    """The one file of a zip archive, unpacked into ``target_dir`` under its own name."""
    with zipfile.ZipFile(path) as z:
        members = [
            m for m in z.infolist() if not m.is_dir() and not _ARCHIVE_LITTER.search(m.filename)
        ]
        if len(members) != 1:
            listed = ", ".join(repr(m.filename) for m in members[:5])
            more = f" and {len(members) - 5} more" if len(members) > 5 else ""
            raise InputError(
                f"the zip archive holds {_count(len(members), 'file')} ({listed}{more}); "
                "an archive is read when it holds one file"
                if members
                else "the zip archive holds no file",
                file=shown,
                hint="unpack it and give the file holding this table",
            )
        (member,) = members
        if member.flag_bits & 0x1:
            raise InputError(
                f"the zip archive's file {member.filename!r} is encrypted (password-protected)",
                file=shown,
                hint="unpack it with its password and give the file",
            )
        name = Path(member.filename.replace("\\", "/")).name
        target = target_dir / (name if name not in ("", ".", "..") else "data")
        with z.open(member) as src:
            _copy_limited(src, target, packed, shown)
    return target


def _is_encrypted_office(path: str) -> bool:
    """An OLE2 container holding an encrypted Office package (a password-protected .xlsx)."""
    marker = "EncryptedPackage".encode("utf-16-le")
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            if marker in chunk:
                return True
    return False


#: the start of a JSON document of records: an object, or an array of objects, arrays or
#: texts (a CSV header in SQL Server's brackets, ``[Customer],[Date]``, is none)
_JSON_START = re.compile(r'(\{\s*["}]|\[\s*([{\["\]]|$))')
#: the start of a web page or an HTML table (what many ERPs save as .xls "for Excel")
_HTML_START = re.compile(
    r"<(!doctype\s+html|html|head|body|table|meta|style|title|div)\b", re.IGNORECASE
)
#: Excel 2003's XML spreadsheet (SpreadsheetML), which ERPs save as .xls too
_XML_SPREADSHEET = re.compile(r"urn:schemas-microsoft-com:office:spreadsheet|<Workbook\b")


def _text_head(path: str) -> str:
    """A text file's first characters, without a byte-order mark and leading white space
    (UTF-8, UTF-16 with or without its mark, else read byte for byte)."""
    try:
        with open(path, "rb") as f:
            head = f.read(_UTF16_SNIFF)
    except OSError:
        return ""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = _utf16_without_bom(head) or "latin-1"
    return head.decode(encoding, errors="ignore").lstrip("\ufeff\xef\xbb\xbf \t\r\n")


def _refuse_markup(path: str, shown: str, suffix: str) -> None:
    """Refuse, in one line saying what to do, a text file that is no table of lines: JSON,
    a web page (an HTML table saved as .xls), an XML spreadsheet or other XML."""
    head = _text_head(path)
    if _JSON_START.match(head):
        raise InputError(
            "the file is JSON (records of an API or a database dump), not a table of lines; "
            "tierwise reads CSV, Parquet, Excel (.xlsx) and DuckDB files",
            file=shown,
            hint="export the table as CSV, Parquet or .xlsx",
        )
    xml = head.startswith("<?xml")
    if _HTML_START.match(head) or (xml and re.search(r"<html\b", head, re.IGNORECASE)):
        if suffix == ".xls":
            raise InputError(
                "the file is a web page saved as .xls (an HTML table, as many systems export "
                '"to Excel"), not a workbook',
                file=shown,
                hint="open it in Excel and save it as .xlsx or CSV",
            )
        raise InputError(
            "the file is a web page (HTML), not a table of lines",
            file=shown,
            hint="if it is an export, open it in Excel and save it as .xlsx or CSV; if it is "
            "a sign-in or error page, download the export again",
        )
    if xml and _XML_SPREADSHEET.search(head):
        raise InputError(
            "the file is an Excel 2003 XML spreadsheet, which is not read",
            file=shown,
            hint="open it in Excel and save it as .xlsx or CSV",
        )
    if xml:
        raise InputError(
            "the file is XML, not a table of lines",
            file=shown,
            hint="export the table as CSV, Parquet or .xlsx",
        )


def _detect_format(path: str, shown: str) -> str:
    if is_database_url(path):
        return "postgres"
    suffix = Path(path.lower()).suffix
    magic = _magic(path)
    if magic == "sqlite":
        raise InputError(
            "this is a SQLite database; tierwise reads DuckDB database files, not SQLite",
            file=shown,
            hint='export the table as CSV (sqlite3 -header -csv FILE "SELECT * FROM t" > t.csv) '
            "or Parquet",
        )
    if magic == "ole2":
        if _is_encrypted_office(path):
            raise InputError(
                "the workbook is password-protected (encrypted), so it cannot be read",
                file=shown,
                hint="save a copy without the password, or export the sheet as CSV",
            )
        raise InputError(
            "old .xls Excel files are not read",
            file=shown,
            hint="save it as .xlsx or CSV",
        )
    if magic == "zip" and (unread := _UNREAD_DOCUMENTS.get(_zip_document(path) or "")):
        raise InputError(unread[0], file=shown, hint=unread[1])
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    if suffix in {".xlsx", ".xlsm"}:
        return "excel"
    if suffix in {".duckdb", ".ddb", ".db"}:
        return "duckdb"
    # a file named .csv, or with no name to go by (a pipe): its first bytes decide
    if magic == "parquet":
        return "parquet"
    if magic == "zip":
        return "excel"
    if magic == "duckdb":
        return "duckdb"
    _refuse_markup(path, shown, suffix)
    if suffix == ".xls" and Path(path).is_file():
        with open(path, "rb") as f:
            sample = f.read(_SNIFF_BYTES)
        # text "for Excel" has no control bytes at all (a broken workbook may have few)
        if not _sniff_encoding(sample).startswith("utf-16") and re.search(
            rb"[\x00-\x08\x0b\x0e-\x1f]", sample
        ):
            raise InputError(
                "old .xls Excel files are not read",
                file=shown,
                hint="save it as .xlsx or CSV",
            )
        # text named .xls (a tab-separated export "for Excel"): read as text, sniffed
    return "csv"


def _named_xlsx(path: str, folder: Path) -> str:
    """A workbook's path under a name openpyxl opens: the file itself when named .xlsx or
    .xlsm, else a link to it (a copy where links are not allowed) named .xlsx, in
    ``folder`` (a workbook named .csv, or given through a pipe, is told by its first
    bytes)."""
    if Path(path).suffix.lower() in {".xlsx", ".xlsm"}:
        return path
    target = folder / f"workbook-{len(list(folder.iterdir()))}.xlsx"
    try:
        target.symlink_to(Path(path).resolve())
    except OSError:
        shutil.copyfile(path, target)
    return str(target)


def _copy_stream(path: str, shown: str, folder: Path) -> str:
    """Copy a pipe or device (``<(cat f)``, a FIFO) into a private file, streamed: it can
    be read only once, and reading needs to look at it more than once."""
    target = folder / f"stream-{len(list(folder.iterdir()))}{Path(path).suffix}"
    try:
        with open(path, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 22)
    except OSError as exc:
        raise InputError(
            f"cannot read it: {exc.strerror or exc}",
            file=shown,
            hint="give a regular file, or a pipe tierwise may read",
        ) from exc
    return str(target)


def read_input(name: str, path: str | Path, ti: TableInput, engine: Engine) -> RawInput:
    """Read one input (CSV, Parquet, Excel, DuckDB file or PostgreSQL URL) into the engine.

    A data lake's Parquet is read too: a folder of Parquet files (``key=value`` sub-folders,
    Hive partitions, become columns), a glob (``invoices/2024-*.parquet``,
    ``lake/**/*.parquet``), and on Spark a URL Spark reads (``s3a://``, ``hdfs://``,
    ``abfss://``, ``gs://``). Rows are numbered through the files in name order. A Delta
    table's folder is read on Spark when the session has Delta Lake (delta-spark).

    Parameters
    ----------
    name
        Canonical table name (``transactions``, ``customers`` …).
    path
        File path (a pipe is read too), folder of Parquet files, glob, ``postgresql://``
        URL, or (on Spark) a data-lake URL.
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
    shown = redact_url(spath)
    if is_database_url(spath):
        raw = _read_postgres(name, spath, ti, engine)
        # no checksum of the URL's text (the same for every table of a database): the
        # manifest names the table read and its rows instead
        raw.sha256 = ""
        raw.database_table = ti.table or name
        raw.fmt = "postgres"
        return raw
    if _LAKE_URL.match(spath):
        return _read_lake_url(name, spath, shown, engine)
    p = Path(spath)
    _check_readable(p, shown)
    if not p.exists() and _GLOB.search(spath):
        return _read_parquet_glob(name, spath, shown, engine)
    if not p.exists():
        raise InputError("file not found", file=shown, hint="check the path")
    if p.is_dir():
        return _read_parquet_folder(name, p, shown, engine)
    local = spath if p.is_file() else _copy_stream(spath, shown, engine.temp_dir())
    checksum = fingerprint_later(local)
    # a compressed file (tx.csv.gz) or a zip archive of one file: the file inside is read
    local = unpack(local, shown, engine.temp_dir())
    fmt = _detect_format(local, shown)
    if fmt == "csv":
        raw = _read_csv(name, local, shown, ti, engine)
    elif fmt == "parquet":
        raw = _read_parquet(name, local, shown, engine)
    elif fmt == "excel":
        raw = _read_excel(name, _named_xlsx(local, engine.temp_dir()), shown, ti, engine)
    else:
        raw = _read_duckdb(name, local, shown, ti, engine)
    if ti.fill_down:
        _headings_in_cells(raw, ti)
    raw.pending_sha256 = checksum
    raw.fmt = fmt
    if ti.sheet is not None and fmt != "excel":
        raw.warnings.append(
            f"{shown}: [{name}] sheet = {ti.sheet!r} names a sheet, but the file is not a "
            f"workbook ({_FORMAT_NAMES.get(fmt, fmt)}), so the setting is ignored: remove it, "
            "or give the .xlsx file"
        )
    return raw


def _check_readable(path: Path, shown: str) -> None:
    """Stop with advice when the user running tierwise may not read ``path``: a file or
    folder without read permission, or a file another program holds locked (a workbook
    open in Excel on Windows may be), or a folder on its path the user may not enter. A
    path that does not exist (a glob, a missing file) is left to the caller. A pipe is
    not opened here: it can be read only once."""
    try:
        info = os.stat(path)
    except PermissionError:
        raise InputError(
            "tierwise cannot reach it: permission denied on a folder it is in",
            file=shown,
            hint="give the user running tierwise access to the folders on its path, or copy "
            "it somewhere that user can read",
        ) from None
    except (OSError, ValueError):
        return
    folder = stat.S_ISDIR(info.st_mode)
    try:
        if folder:
            with os.scandir(path):
                pass
        elif stat.S_ISREG(info.st_mode):
            with open(path, "rb"):
                pass
    except PermissionError:
        locked = (
            "; a file open in Excel on Windows may be locked: close it"
            if not folder and path.suffix.lower() in _OFFICE_SUFFIXES
            else ""
        )
        raise InputError(
            "tierwise cannot read it: permission denied",
            file=shown,
            hint=f"give the user running tierwise read access to the "
            f"{'folder' if folder else 'file'}, or copy it somewhere that user can "
            f"read{locked}",
        ) from None


#: the files Excel opens, and may hold locked on Windows while they are open
_OFFICE_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")


def _denied_inside(inside: str, shown: str) -> InputError:
    """The error of a file or folder inside a folder or glob given that the user running
    tierwise may not read: its rows would otherwise be left out, or it called damaged."""
    return InputError(
        f"tierwise cannot read {inside} inside it: permission denied",
        file=shown,
        hint="give the user running tierwise read access to it, or copy the folder "
        "somewhere that user can read",
    )


def _inside(path: Path | str, base: Path) -> str:
    """``path`` as named in messages: inside the folder given, else as it is."""
    try:
        return Path(path).relative_to(base).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _check_opens(path: Path, base: Path, shown: str) -> None:
    """Stop when a file of a folder or glob may not be read (see :func:`_denied_inside`)."""
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise _denied_inside(_inside(path, base), shown) from None
    except OSError:
        return


#: formats as named in messages
_FORMAT_NAMES = {"csv": "CSV", "parquet": "Parquet", "duckdb": "a DuckDB database"}


# -- CSV: text encodings ---------------------------------------------------------------------

_CHUNK = 1 << 24
_NON_ASCII_LINE = re.compile(rb"[^\n]*[\x80-\xff][^\n]*")
_UTF8_NAMES = {"utf-8", "utf8", "utf_8", "u8", "utf-8-sig", "utf_8_sig"}


def _line_blocks(f: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """A binary file in blocks of whole lines (about ``_CHUNK`` bytes; the last block may
    end without a line break), each with whether it is the file's last block."""
    carry = b""
    while True:
        block = f.read(_CHUNK)
        data = carry + block
        if block:
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            chunk, carry = data[:cut], data[cut:]
        else:
            chunk, carry = data, b""
        if not chunk:
            return
        yield chunk, not block
        if not block:
            return


@dataclass
class _Utf8Text:
    """A CSV file as UTF-8: the user's own file when it already is, else a private copy."""

    path: str
    #: lines of a UTF-8 file that did not decode as UTF-8, read as Windows-1252
    n_cp1252: int = 0
    first_cp1252: int | None = None
    #: lines with non-ASCII characters that were UTF-8
    n_utf8: int = 0


def _binary(sample: bytes) -> bool:
    """Whether a file's first bytes are binary rather than text."""
    if not sample:
        return False
    controls = sum(sample.count(bytes([b])) for b in (*range(0, 9), 11, *range(14, 32)))
    return controls > max(_BINARY_SHARE * len(sample), _BINARY_MIN)


def _utf8_text(path: str, shown: str, name: str, encoding: str | None, folder: Path) -> _Utf8Text:
    """The file as UTF-8, streamed, the user's file never touched.

    With no encoding set, each line is UTF-8 where it decodes and Windows-1252 where it
    does not (a file mixing the two keeps both kinds of name intact; Latin-1 for the five
    bytes Windows-1252 leaves undefined). Only blocks that fail to decode as UTF-8 are
    looked at line by line; a UTF-8 file is checked, not copied. UTF-16, told by its
    byte-order mark or, without one, by :func:`_utf16_without_bom`, and a set encoding are
    used for the whole file.
    """
    with open(path, "rb") as f:
        head = f.read(_UTF16_SNIFF)
    if encoding is None and head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    if encoding is None:
        encoding = _utf16_without_bom(head)
    if encoding is not None and encoding.lower() not in _UTF8_NAMES:
        return _transcode(path, shown, name, encoding, folder)
    strict = encoding is not None
    result = _Utf8Text(path)
    out = None
    offset, lines_before = 0, 0
    try:
        with open(path, "rb") as f:
            for chunk, _last in _line_blocks(f):
                try:
                    chunk.decode("utf-8")
                    if out is not None:
                        out.write(chunk)
                    if not chunk.isascii():
                        result.n_utf8 += 1
                except UnicodeDecodeError as exc:
                    if strict:
                        line = lines_before + chunk[: exc.start].count(b"\n") + 1
                        raise InputError(
                            "not UTF-8 text",
                            file=shown,
                            row=line,
                            hint=f"set [{name}] encoding to the file's encoding (cp1252, "
                            "latin-1 …), or leave it unset to read such lines as Windows-1252",
                        ) from exc
                    if out is None:
                        target = folder / f"utf8-{name}-{len(list(folder.iterdir()))}.csv"
                        out = open(target, "wb")  # noqa: SIM115 - closed below
                        result.path = str(target)
                        with open(path, "rb") as src:
                            _copy_prefix(src, out, offset)
                    out.write(_fix_lines(chunk, lines_before, result))
                lines_before += chunk.count(b"\n")
                offset += len(chunk)
    finally:
        if out is not None:
            out.close()
    return result


def _line_feeds(path: str, folder: Path, name: str) -> str:
    """A UTF-8 file whose lines end with a carriage return alone (an old Mac's, some Excel
    exports) as a private copy whose lines end with a line feed, byte for byte in place
    (so a line is numbered as in the file, a quoted value over several lines counting its
    lines); any other file as it is, read no further than its first megabyte.

    Told as the reader of the column names tells it (:func:`sniff_csv`): no CR LF in the
    first megabyte, and more carriage returns than line feeds.
    """
    with open(path, "rb") as f:
        sample = f.read(_SNIFF_BYTES)
    if b"\r\n" in sample or sample.count(b"\r") <= sample.count(b"\n"):
        return path
    target = folder / f"lf-{name}-{len(list(folder.iterdir()))}.csv"
    with open(path, "rb") as src, open(target, "wb") as dst:
        for block in iter(lambda: src.read(_CHUNK), b""):
            dst.write(block.replace(b"\r", b"\n"))
    return str(target)


def _copy_prefix(src: Any, dst: Any, n: int) -> None:
    while n > 0:
        block = src.read(min(n, 1 << 22))
        if not block:
            break
        dst.write(block)
        n -= len(block)


def _fix_lines(chunk: bytes, lines_before: int, result: _Utf8Text) -> bytes:
    """A block of lines as UTF-8: each non-ASCII line decoded on its own."""

    def fix(m: re.Match[bytes]) -> bytes:
        line = m.group(0)
        try:
            line.decode("utf-8")
            result.n_utf8 += 1
            return line
        except UnicodeDecodeError:
            pass
        if result.first_cp1252 is None:
            result.first_cp1252 = lines_before + chunk[: m.start()].count(b"\n") + 1
        result.n_cp1252 += 1
        try:
            return line.decode("cp1252").encode("utf-8")
        except UnicodeDecodeError:
            return line.decode("latin-1").encode("utf-8")

    return _NON_ASCII_LINE.sub(fix, chunk)


def _transcode(path: str, shown: str, name: str, encoding: str, folder: Path) -> _Utf8Text:
    """The whole file decoded with ``encoding`` into a private UTF-8 copy, streamed."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    except LookupError as exc:
        raise InputError(
            f"cannot decode the file as {encoding}",
            file=shown,
            hint=f"set [{name}] encoding to utf-8, latin-1 or cp1252",
        ) from exc
    target = folder / f"utf8-{name}-{len(list(folder.iterdir()))}.csv"
    lines_before, first = 0, True
    wide = encoding.lower().replace("_", "-").startswith("utf-16")
    with open(path, "rb") as src, open(target, "wb") as dst:
        for block in iter(lambda: src.read(_CHUNK), b""):
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                line = lines_before + block[: exc.start].count(b"\n") + 1
                raise InputError(
                    f"cannot decode the file as {encoding}",
                    file=shown,
                    row=None if wide else line,
                    hint=f"set [{name}] encoding to utf-8, latin-1 or cp1252",
                ) from exc
            if first:
                text, first = text.lstrip("\ufeff"), False
            dst.write(text.encode("utf-8"))
            lines_before += block.count(b"\n")
        dst.write(decoder.decode(b"", final=True).encode("utf-8"))
    return _Utf8Text(str(target))


# -- CSV: dialect ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvDialect:
    encoding: str
    delimiter: str
    header: list[str]
    #: the file's line holding the column names (1 = the first)
    header_line: int = 1
    #: the file's last line of the column names: below ``header_line`` when a quoted name
    #: holds a line break (a spreadsheet's wrapped heading, ``"Umsatz⏎(EUR)"``)
    header_end: int = 1
    #: what the lines above it say (a report's title), for the warning
    above: tuple[str, ...] = ()


#: how many of a file's first bytes tell UTF-16 without a byte-order mark
_UTF16_SNIFF = 4096


def _utf16_without_bom(sample: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` for text in UTF-16 without a byte-order mark (the
    high byte of nearly every character zero: a table's names, digits and separators are
    ASCII), else None.

    Examples
    --------
    >>> _utf16_without_bom("id,name\\n1,Müller\\n".encode("utf-16-le"))
    'utf-16-le'
    >>> _utf16_without_bom(b"id,name\\n1,x\\n") is None
    True
    """
    head = sample[:_UTF16_SNIFF]
    head = head[: len(head) // 2 * 2]
    if len(head) < 8:
        return None
    n = len(head) // 2
    even, odd = head[0::2].count(0) / n, head[1::2].count(0) / n
    if odd >= 0.9 and even <= 0.1:
        return "utf-16-le"
    if even >= 0.9 and odd <= 0.1:
        return "utf-16-be"
    return None


def _sniff_encoding(sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    wide = _utf16_without_bom(sample)
    if wide is not None:
        return wide
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
    if not encoding.startswith("utf-16") and _binary(sample):
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
    # a file from an old Mac or an Excel export may end its lines with a CR alone
    # (a line feed inside a quoted cell of such a file is not a line end: the commoner
    # of the two ends the lines)
    breaks = "\n" if "\r\n" in text or text.count("\n") >= text.count("\r") else "\r"
    numbered = [
        (i, ln) for i, ln in enumerate((x.rstrip("\r") for x in text.split(breaks)[:200]), 1)
    ]
    if ti.header_row is not None:
        h = ti.header_row
        numbered = numbered[h - 1 :]
        if not any(ln.strip() for _, ln in numbered):
            # the header row lies past the lines looked at: read on from it in the file
            numbered = _lines_from(path, encoding, h)
        if not any(ln.strip() for _, ln in numbered):
            n = _count_lines(path)
            raise InputError(
                f"header_row {h} is beyond the file's {_count(n, 'line')}"
                if h > n
                else f"header_row {h} and the lines after it are empty (the file has "
                f"{_count(n, 'line')})",
                file=path,
                hint=f"set [{name}] header_row to the line holding the column names",
            )
    records = [r for r in _records(numbered) if r[2].strip()]
    lines = [text for _, _, text in records]
    if not lines:
        raise InputError("the file is empty", file=path, hint="export it again with a header row")
    first = 0 if ti.header_row is not None else _title_lines(lines, ti.delimiter)
    lines = lines[first:]
    delimiter = ti.delimiter or _sniff_delimiter(lines)
    header = [h.strip() for h in _split(lines[0], delimiter)]
    # the last sniffed line may be cut where the sample ends
    whole = lines[1:-1] if len(sample) == _SNIFF_BYTES else lines[1:]
    header = _trailing_delimiter(header, whole, delimiter)
    return CsvDialect(
        encoding=encoding,
        delimiter=delimiter,
        header=header,
        header_line=records[first][0],
        header_end=records[first][1],
        above=tuple(text.strip() for _, _, text in records[:first]),
    )


def _trailing_delimiter(header: list[str], data: list[str], delimiter: str) -> list[str]:
    """The column names, fitted to data lines that end with the delimiter where the header
    does not (or the other way round), as some exports write every line: every sampled
    data line one field longer with that field empty gives the header an unnamed last
    column; a header ending with an empty name above lines one field shorter loses it.
    Otherwise (or when the lines disagree) the header as it is, and a line of another
    length is refused as before.

    Examples
    --------
    >>> _trailing_delimiter(["id", "revenue"], ["A;1;", "B;2;"], ";")
    ['id', 'revenue', '']
    >>> _trailing_delimiter(["id", "revenue", ""], ["A;1", "B;2"], ";")
    ['id', 'revenue']
    >>> _trailing_delimiter(["id", "revenue"], ["A;1;", "B;2"], ";")
    ['id', 'revenue']
    """
    rows = [_split(ln, delimiter) for ln in data if ln.strip()]
    if not rows or delimiter == WHITESPACE:
        return header
    n = len(header)
    if all(len(r) == n + 1 and not r[-1].strip() for r in rows):
        return [*header, ""]
    if n > 1 and not header[-1] and all(len(r) == n - 1 for r in rows):
        return header[:-1]
    return header


#: the most lines one record of the sniffed lines may span (a heading wrapped over lines)
_RECORD_LINES_MAX = 10


def _open_quote(line: str, inside: bool, delimiters: str = _DELIMITERS) -> bool:
    """Whether a quoted field is open at the end of ``line`` (``inside``: one was open at
    its start). A quote opens a field only at the field's start (after one of
    ``delimiters``, or blanks after one); inside it, ``""`` is a quote and a lone one closes
    it. A quote within a value (an inch mark: ``12" pipe``) opens nothing.

    Examples
    --------
    >>> _open_quote('"Kunden-', False), _open_quote('nummer";"Datum"', True)
    (True, False)
    >>> _open_quote('A;12" pipe;3', False), _open_quote('"a ""b"" c";2', False)
    (False, False)
    """
    start = not inside
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if inside:
            if ch == '"':
                if line[i + 1 : i + 2] == '"':
                    i += 2
                    continue
                inside = start = False
        elif ch == '"' and start:
            inside = True
        else:
            start = ch in delimiters or (start and ch == " ")
        i += 1
    return inside


def _records(numbered: list[tuple[int, str]]) -> list[tuple[int, int, str]]:
    """The sniffed lines as records: (first line, last line, text), a line whose quoted
    value is left open joined with the lines up to the one closing it (at most
    :data:`_RECORD_LINES_MAX` lines; a quote not closed within them leaves the lines as
    they are, for the reader to report)."""
    out: list[tuple[int, int, str]] = []
    k = 0
    while k < len(numbered):
        start, text = numbered[k]
        j, inside = k, '"' in text and _open_quote(text, False)
        while inside and j + 1 < len(numbered) and j + 1 - k < _RECORD_LINES_MAX:
            j += 1
            text += "\n" + numbered[j][1]
            inside = _open_quote(numbered[j][1], True)
        if inside:
            j, text = k, numbered[k][1]
        out.append((start, numbered[j][0], text))
        k = j + 1
    return out


def _lines_from(path: str, encoding: str, first: int, n: int = 200) -> list[tuple[int, str]]:
    """Up to ``n`` lines of a text file from line ``first`` (from 1), with their numbers."""
    import itertools

    with open(path, encoding=encoding, errors="replace", newline="") as f:
        got = itertools.islice(f, first - 1, first - 1 + n)
        return [(i, ln.rstrip("\r\n").lstrip("\ufeff")) for i, ln in enumerate(got, first)]


def _count_lines(path: str) -> int:
    """The lines of a file (a last line without a line end counted), read in blocks."""
    n, last = 0, b"\n"
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            n += block.count(b"\n") or block.count(b"\r")
            last = block[-1:]
    return n + (last not in (b"\n", b"\r"))


#: how many lines at the top of a CSV file may be a report's title above the column names
_TITLE_LINES_MAX = 10


def _split(line: str, delimiter: str) -> list[str]:
    """The fields of one line of the sample. A line the sample cut inside a quoted field
    (a CR or a line break within quotes) is split at the delimiter as it stands: the
    sample only guides the guesses; the engine reads the file itself. Text aligned in
    columns (:data:`WHITESPACE`) splits at every run of blanks."""
    if delimiter == WHITESPACE:
        return line.split()
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return line.split(delimiter)


def _filled(line: str, delimiter: str) -> int:
    return sum(1 for v in _split(line, delimiter) if v.strip())


def _title_lines(lines: list[str], delimiter: str | None) -> int:
    """How many of the first non-blank lines are a title above the column names: lines with
    at most one filled field under every delimiter that splits the nearest line below them
    with several (a header such as ``industry;market_size`` above ``retail;1,5`` is no
    title: ``;`` splits both)."""
    options = (delimiter,) if delimiter else tuple(_DELIMITERS)
    k = 0
    while k < min(_TITLE_LINES_MAX, len(lines) - 1):
        below = next(
            (
                [d for d in options if _filled(ln, d) >= 2]
                for ln in lines[k + 1 : k + 1 + _TITLE_LINES_MAX]
                if any(_filled(ln, d) >= 2 for d in options)
            ),
            [],
        )
        if below and all(_filled(lines[k], d) <= 1 for d in below):
            k += 1
        else:
            break
    # a file whose every line has one field is one column, not a title
    return k if k < len(lines) - 1 else 0


def _fields(line: str, delimiter: str) -> int:
    return len(_split(line, delimiter))


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
    if not splitting and _aligned(header, data):
        return WHITESPACE
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


def _aligned(header: str, data: list[str]) -> bool:
    """Whether lines no delimiter splits are text aligned in columns (as CDNOW's purchases
    and older systems' reports come): the header and three in four of the data lines split
    at runs of blanks into the same two or more fields (the others are read as malformed
    rows, as a CSV line with a field too many or too few is).

    Examples
    --------
    >>> _aligned(" customer_id  date  dollar_value", [" 00001 19970101   11.77"] * 3)
    True
    >>> _aligned("name", ["Acme Ltd", "Bolt"])
    False
    """
    width = len(header.split())
    if width < 2 or not data:
        return False
    return sum(len(ln.split()) == width for ln in data) >= 0.75 * len(data)


#: a line's blanks before its first field and after its last
_EDGE_BLANKS = re.compile(rb"(?m)^[ \t]+|[ \t]+(?=\r?$)")
#: the blanks between two fields
_INNER_BLANKS = re.compile(rb"[ \t]+")


def tab_separated(block: bytes) -> bytes:
    """Lines of text aligned in columns (:data:`WHITESPACE`) as tab-separated lines: the
    blanks at either end of a line dropped, every other run of blanks one tab (a line keeps
    its place: a row is numbered as in the file).

    Examples
    --------
    >>> tab_separated(b" 00001 19970101  1   11.77\\r\\n\\n  00002  19970112 2  12.00\\n")
    b'00001\\t19970101\\t1\\t11.77\\r\\n\\n00002\\t19970112\\t2\\t12.00\\n'
    """
    return _INNER_BLANKS.sub(b"\t", _EDGE_BLANKS.sub(b"", block))


def _tab_separated_copy(path: str, folder: Path, name: str) -> str:
    """A private tab-separated copy (:func:`tab_separated`) of a UTF-8 file of text
    aligned in columns, written a block of whole lines at a time."""
    target = folder / f"tabs-{name}-{len(list(folder.iterdir()))}.csv"
    with open(path, "rb") as src, open(target, "wb") as dst:
        for block, _ in _line_blocks(src):
            dst.write(tab_separated(block))
    return str(target)


def _check_header(path: str, header: list[str], warnings: list[str] | None = None) -> list[str]:
    """The column names of a header (an empty one named by its place).

    A name the header holds twice (compared without regard to case) is refused; given
    ``warnings`` (a text file's header, whose columns are read by place), each of its
    columns is named by its place instead, ``Description (column 3)``, and a warning says
    so: an export's repeated column the run does not use stops nothing, and one it maps is
    mapped by the name that says which.
    """
    names: list[str] = []
    seen: dict[str, list[int]] = {}
    for i, h in enumerate(header, start=1):
        name = h or f"column_{i}"
        key = name.lower()
        if key == ROW:
            raise InputError(
                f"column {name!r} has the name tierwise gives the record numbers",
                file=path,
                column=name,
                hint="rename the column; for a database table, read a view that renames it",
            )
        if key in seen and warnings is None:
            raise InputError(
                f"column {name!r} appears twice in the header (columns {seen[key][0]} and {i})",
                file=path,
                row=1,
                column=name,
                hint="rename one of them",
            )
        seen.setdefault(key, []).append(i)
        names.append(name)
    repeated = {k: at for k, at in seen.items() if len(at) > 1}
    if not repeated or warnings is None:
        return names
    taken = {n.lower() for n in names}
    for at in repeated.values():
        name = names[at[0] - 1]
        renamed = []
        for i in at:
            new = f"{names[i - 1]} (column {i})"
            if new.lower() in taken:
                raise InputError(
                    f"column {name!r} appears twice in the header (columns {at[0]} and {at[1]})",
                    file=path,
                    row=1,
                    column=name,
                    hint="rename one of them",
                )
            renamed.append(new)
        for i, new in zip(at, renamed, strict=True):
            names[i - 1] = new
        warnings.append(
            f"{path}: column {name!r} appears {len(at)} times in the header (columns "
            f"{', '.join(map(str, at))}); read as {', '.join(map(repr, renamed))}: map the "
            "one you need by that name"
        )
    return names


# -- CSV: reading --------------------------------------------------------------------------------


def _read_csv(name: str, path: str, shown: str, ti: TableInput, engine: Engine) -> RawInput:
    with open(path, "rb") as f:
        sample = f.read(_SNIFF_BYTES)
    if not sample.strip():
        raise InputError("the file is empty", file=shown, hint="export it again with a header row")
    if not (ti.encoding or _sniff_encoding(sample)).startswith("utf-16") and _binary(sample):
        raise InputError(
            "looks like a binary file, not CSV text",
            file=shown,
            hint="export the table as CSV, Parquet or .xlsx",
        )
    text = _utf8_text(path, shown, name, ti.encoding, engine.temp_dir())
    text.path = _line_feeds(text.path, engine.temp_dir(), name)
    warnings: list[str] = []
    if text.n_cp1252 and text.n_utf8:
        n = text.n_cp1252
        warnings.append(
            f"{shown}: {_count(n, 'line')} (the first is line {text.first_cp1252}) "
            f"{'is' if n == 1 else 'are'} not UTF-8 like the rest of the file and "
            f"{'was' if n == 1 else 'were'} read as Windows-1252; set [{name}] encoding if "
            "the file has one encoding throughout"
        )
    try:
        dialect = sniff_csv(text.path, ti.model_copy(update={"encoding": "utf-8"}), name=name)
    except InputError as exc:
        raise InputError(exc.message, file=shown, row=exc.row, hint=exc.hint) from exc
    names = _check_header(shown, dialect.header, warnings)
    if dialect.delimiter == WHITESPACE:
        # text aligned in columns: read as the same lines, tab-separated
        text.path = _tab_separated_copy(text.path, engine.temp_dir(), name)
        dialect = replace(dialect, delimiter="\t")
    body, skipped = text.path, dialect.header_end - 1
    if dialect.header_end > dialect.header_line:
        # names over several lines: the readers take the first line as the names
        body = _from_line(
            text.path,
            dialect.header_end + 1,
            engine.temp_dir(),
            name,
            header=_one_line(names, dialect.delimiter),
        )
    elif skipped:
        body = _from_line(text.path, dialect.header_line, engine.temp_dir(), name)
    title = dialect.header_line - 1
    if title and ti.header_row is None:
        above = ", ".join(repr(a) for a in dialect.above) or "empty"
        warnings.append(
            f"{shown}: the column names are on line {dialect.header_line}; "
            f"{_count(title, 'line')} above them (a title: {above}) "
            f"{'was' if title == 1 else 'were'} not read; set [{name}] header_row if "
            "another line holds them"
        )
    raw = _read_csv_in_engine(name, body, shown, dialect.delimiter, names, engine)
    if raw is None:
        raw = _read_csv_in_python(name, body, shown, dialect.delimiter, names, engine)
    _check_ends_in_quote(body, shown, dialect.delimiter, skipped, raw, engine)
    if _writes_formula_text(body):
        raw.table = raw.table.mutate(**{c: _formula_text(raw.table[c]) for c in names})
    if skipped:
        # rows are numbered from the header as line 1: number them as lines of the file
        raw.table = raw.table.mutate(**{ROW: raw.table[ROW] + skipped})
        raw.malformed = raw.malformed.set_column(
            raw.malformed.schema.get_field_index("row"),
            "row",
            pc.add(raw.malformed.column("row"), skipped),
        )
    _headings_as_column(raw, ti, engine)
    _warn_group_headings(raw.malformed, raw.table, dialect.delimiter, shown, name, warnings)
    raw.warnings = warnings
    return raw


#: a field written as a spreadsheet formula of text (``="00123"``, or quoted
#: ``"=""00123"""``), as exports meant for Excel write an id to keep its leading zeros
_FORMULA_TEXT_FIELD = re.compile(rb'(?:^|[,;\t|])"?="', re.MULTILINE)


def _writes_formula_text(path: str) -> bool:
    """Whether the first megabyte of a CSV file holds a field written as a formula of text."""
    with open(path, "rb") as f:
        return _FORMULA_TEXT_FIELD.search(f.read(_SNIFF_BYTES)) is not None


def _formula_text(value: ir.StringValue) -> ir.StringValue:
    """A value written ``="00123"`` as the text inside, ``00123``, as Excel shows it (a quote
    inside written twice, as in the formula); any other value as it is."""
    wrapped = value.startswith('="') & value.endswith('"') & (value.length() >= 3)
    return ibis.ifelse(wrapped, value.substr(2, value.length() - 3).replace('""', '"'), value)


def formula_text(values: pa.Array) -> pa.Array:
    """:func:`_formula_text` on an Arrow array of text (a sample's column).

    Examples
    --------
    >>> formula_text(pa.array(['="00123"', "K1", '="a""b"', None])).to_pylist()
    ['00123', 'K1', 'a"b', None]
    """
    wrapped = pc.and_(pc.starts_with(values, '="'), pc.ends_with(values, '"'))
    inner = pc.replace_substring(pc.utf8_slice_codeunits(values, 2, -1), '""', '"')
    return pc.if_else(wrapped, inner, values)


def first_field(line: str, delimiter: str) -> str:
    """The first field of a CSV line, unquoted and stripped (a report's group heading:
    ``"Acme, Ltd"`` is ``Acme, Ltd``)."""
    return next(csv.reader([line], delimiter=delimiter), [""])[0].strip()


def _heading_column(raw: RawInput, ti: TableInput) -> str | None:
    """The first name ``[table] fill_down`` gives that is no column of the file: the
    column of a report's group headings, which the reader makes."""
    have = {column_key(c) for c in raw.source_columns}
    return next((c for c in ti.fill_down if column_key(c) not in have), None)


def _headings_in_cells(raw: RawInput, ti: TableInput) -> None:
    """A report's group headings written in one cell of a row of their own (Xero's Sales
    by Customer Detail as a workbook: the customer's name in the first cell, the others
    empty), moved to the column ``[table] fill_down`` names that the file lacks (see
    :func:`_heading_column`): on a row whose cells are all empty but one, that cell's
    text goes to the column and the cell is left empty. The column is made empty where
    the file holds no such row."""
    column = _heading_column(raw, ti)
    if column is None:
        return
    t = raw.table
    own = [c for c in raw.source_columns if c != column and c in t.columns]

    def text(c: str) -> ir.StringValue:
        v = t[c]
        v = v if v.type().is_string() else v.cast("string")
        return v.nullif("").re_search(r"\S").ifelse(v, ibis.null("string"))

    filled = [text(c).notnull().cast("int64") for c in own]
    alone = (sum(filled[1:], filled[0]) == 1) if filled else ibis.literal(False)
    value = ibis.coalesce(*[text(c) for c in own]) if own else ibis.null("string")
    heading = ibis.ifelse(alone, value, ibis.null("string"))
    if column in t.columns:
        # lines of one field read already (:func:`_headings_as_column`)
        heading = ibis.coalesce(t[column], heading)
    else:
        raw.source_columns = [*raw.source_columns, column]
    raw.table = t.mutate(
        **{c: ibis.ifelse(alone, ibis.null(t[c].type()), t[c]) for c in own},
        **{column: heading},
    )


def _headings_as_column(raw: RawInput, ti: TableInput, engine: Engine) -> None:
    """With ``[table] fill_down`` naming a column the file does not have, read a report's
    group headings written as lines of one field (Xero's Sales by Customer Detail: each
    customer's name on a line of its own above its invoices) as rows holding that column
    alone, the column empty on the file's other rows: validation rejects each heading row
    as such and carries its value down to the rows below it. Without the setting such
    lines are refused for their number of fields (and :func:`_warn_group_headings` says
    so)."""

    column = _heading_column(raw, ti)
    if column is None or raw.malformed.num_rows == 0:
        return
    single = pc.fill_null(
        pc.match_substring_regex(raw.malformed.column("reason"), r"fields, found 1$"), False
    )
    heads = raw.malformed.filter(single)
    if heads.num_rows == 0:
        return
    values = [first_field(v or "", raw.delimiter or ",") for v in heads.column("value").to_pylist()]
    schema = raw.table.schema().to_pyarrow()
    rows = pa.table(
        {
            **{
                f.name: (
                    heads.column("row").cast(f.type)
                    if f.name == ROW
                    else pa.nulls(heads.num_rows, f.type)
                )
                for f in schema
            },
            column: pa.array(values, pa.string()),
        }
    )
    table = raw.table.mutate(**{column: ibis.null("string")})
    raw.table = table.union(engine.from_arrow(rows).select(*table.columns))
    raw.source_columns = [*raw.source_columns, column]
    raw.malformed = raw.malformed.filter(pc.invert(single))


#: from this many lines of one field among a file's refused lines, a report's group headings
_GROUP_HEADINGS = 3
#: how much of a file's end is read for a footer of lines of one field


def footer_lines(data: bytes, encoding: str, delimiter: str) -> int:
    """How many rows of one field end ``data`` after its last row of several fields
    (blank lines among them not counted); a quoted value's line breaks are inside its row.

    Examples
    --------
    >>> footer_lines(b'"a","b"\\n"1","2"\\n""\\n"Report"\\n"Copyright"\\n', "utf-8", ",")
    2
    >>> footer_lines(b'"a","b"\\n"Acme"\\n"1","2"\\n', "utf-8", ",")
    0
    >>> footer_lines(b'"a","b"\\n"Acme"\\n"1","two\\nlines"\\n', "utf-8", ",")
    0
    """
    text = data.decode(encoding.replace("utf-8-sig", "utf-8"), errors="ignore")
    try:
        records = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error:  # a value past the csv module's field limit: no footer told
        return 0
    n = 0
    for fields in reversed(records):
        if len(fields) > 1:
            break
        if "".join(fields).strip():
            n += 1
    return n


def _warn_group_headings(
    malformed: pa.Table,
    table: ir.Table,
    delimiter: str,
    shown: str,
    name: str,
    warnings: list[str],
) -> None:
    """Say when several refused lines hold one field only: the group headings of a report
    (Xero's Sales by Customer Detail writes each customer's name on a line above its
    invoices), whose lines then lack the customer. Such lines after the last row read
    (numbered as ``table``'s rows are) are a footer (Salesforce's report export: the
    report's name, its copyright, who ran it), said as such."""
    if malformed.num_rows == 0:
        return
    single = pc.match_substring_regex(malformed.column("reason"), r"fields, found 1$")
    n = pc.sum(single.cast(pa.int64())).as_py() or 0
    if n == 0:
        return
    heads = malformed.filter(single).sort_by("row")
    # a row of several lines (a quoted value with line breaks) is one row: rows, not lines,
    # after the last row read are the footer
    last = table[ROW].max().execute()
    rows = heads.column("row")
    read = last is not None and last == last  # no row read: NULL (NaN from pandas)
    after = pc.greater(rows, int(last)) if read else pc.is_valid(rows)
    # an empty quoted field ("") under the rows is a blank line, not counted
    ends = [
        v
        for v in heads.filter(after).column("value").to_pylist()
        if first_field(v or "", delimiter).strip()
    ]
    footer = len(ends)
    if footer:
        warnings.append(
            f"{shown}: the last {_count(footer, 'line')}, after the rows, "
            f"{'is a footer of one field' if footer == 1 else 'are a footer of one field each'}"
            f" ({', '.join(repr(first_field(v, delimiter)) for v in ends[:2])}"
            f"{', …' if footer > 2 else ''}), rejected as such"
        )
        heads = heads.filter(pc.invert(after))
        n = heads.num_rows
    if n < _GROUP_HEADINGS:
        return
    first = heads.column("value")[0].as_py()
    warnings.append(
        f"{shown}: {n:,} lines hold one field only (the first: {first!r}), as the headings "
        "of a report grouped by customer do; they are rejected, and the lines under them "
        "carry no customer of their own: export the report ungrouped (one row per line, "
        f'with the customer on each), or set [{name}] fill_down = ["Customer"] to read each '
        "heading as the Customer column of the lines under it"
    )


def _from_line(
    path: str, line: int, folder: Path, name: str, *, header: bytes | None = None
) -> str:
    """A copy of the file from its ``line`` on (streamed), for a reader that takes the first
    line as the column names; ``header``, when given, is written as that first line."""
    target = folder / f"body-{name}-{len(list(folder.iterdir()))}.csv"
    with open(path, "rb") as src, open(target, "wb") as out:
        for _ in range(line - 1):
            src.readline()
        if header is not None:
            out.write(header)
        shutil.copyfileobj(src, out, 1 << 22)
    return str(target)


def _one_line(names: list[str], delimiter: str) -> bytes:
    """Column names as one CSV line (a line break in a name written as a space)."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerow(
        [" ".join(n.split()) for n in names]
    )
    return buf.getvalue().encode("utf-8")


def _read_csv_in_python(
    name: str, path: str, shown: str, delimiter: str, names: list[str], engine: Engine
) -> RawInput:
    """Parse a UTF-8 CSV file with Arrow's reader (single-threaded, in memory), then hand
    it to the engine: for engines without a CSV reader of their own, and for files the
    engine's reader cannot number line by line."""
    bad: list[tuple[int, str, str]] = []
    #: line breaks inside each refused record (it spans that many more lines)
    bad_breaks: list[int] = []
    multiline_bad: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        text = row.text or ""
        reason = (
            "blank line"
            if not text.strip(delimiter + " \r\n")
            else f"expected {row.expected_columns} fields, found {row.actual_columns}"
        )
        number = row.number if row.number is not None and row.number > 0 else -1
        bad.append((number, reason, text[:200]))
        bad_breaks.append(text.rstrip("\r\n").count("\n"))
        if "\n" in text.rstrip("\r\n"):
            multiline_bad.append(number)
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding="utf-8",
                column_names=names,
                skip_rows=1,
                # single-threaded so that the parser reports the line of each bad row
                use_threads=False,
                block_size=1 << 24,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                invalid_row_handler=on_invalid,
                ignore_empty_lines=False,
                # quoted values may span lines (single-threaded, so no cost)
                newlines_in_values=True,
            ),
            # an empty field is no value and a quoted empty one ("") empty text, as the
            # engine's reader has them
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        if "Could not skip initial" not in str(exc):
            raise InputError(f"cannot read as CSV: {exc}", file=shown) from exc
        # a header line with no line break after it: no data rows
        table = pa.table({n: pa.array([], pa.string()) for n in names})
    except pa.ArrowException as exc:
        raise InputError(f"cannot read as CSV: {exc}", file=shown) from exc
    # a UTF-8 BOM stays in the first name when the file is read as it is
    if names and names[0].startswith("\ufeff"):
        table = table.rename_columns([names[0].lstrip("\ufeff"), *names[1:]])
        names = table.column_names
    # the line of every record: the parser numbers records (the header is 1); a record
    # starts after the lines of every record before it, quoted line breaks included
    n_good = table.num_rows
    rows = np.arange(2, n_good + 2, dtype=np.int64)
    numbers = np.array([b[0] for b in bad], dtype=np.int64)
    total = n_good + len(bad)
    good = np.setdiff1d(np.arange(2, total + 2, dtype=np.int64), numbers, assume_unique=True)
    if (numbers > 0).all() and len(np.unique(numbers)) == len(bad) and len(good) == n_good:
        span = np.ones(total, dtype=np.int64)
        for col in names:
            breaks = pc.count_substring(table.column(col), "\n").to_numpy(zero_copy_only=False)
            span[good - 2] += np.nan_to_num(breaks).astype(np.int64)
        span[numbers - 2] += np.array(bad_breaks, dtype=np.int64)
        start = 2 + np.concatenate(([0], np.cumsum(span)[:-1]))
        rows = start[good - 2]
        bad = [(int(start[n - 2]), why, v) for n, (_, why, v) in zip(numbers, bad, strict=True)]
        multiline_bad = [int(start[n - 2]) for n in multiline_bad if n > 0]
    table = table.append_column(ROW, pa.array(rows, pa.int64()))
    _check_unclosed_quote(path, shown, table, names, multiline_bad)
    # lines whose every field is empty (no value, or only spaces) are blank lines
    if names and n_good:

        def blank(col: str) -> pa.ChunkedArray:
            text = pc.utf8_trim_whitespace(table.column(col))
            return pc.fill_null(pc.equal(pc.utf8_length(text), 0), True)

        empty = blank(names[0])
        for col in names[1:]:
            empty = pc.and_(empty, blank(col))
        n_empty = pc.sum(empty.cast(pa.int64())).as_py() or 0
        if n_empty:
            blank_rows = table.filter(empty).column(ROW)
            bad.extend((int(r), "blank line", "") for r in blank_rows.to_pylist())
            table = table.filter(pc.invert(empty))
    malformed = _malformed(shown, name, [(r, None, why, v) for r, why, v in bad])
    t = engine.from_arrow(table, engine.fresh_name(f"raw_{name}"), holds_input=True)
    return RawInput(name, shown, t, malformed=malformed, source_columns=names, delimiter=delimiter)


# -- CSV: reading in the engine ----------------------------------------------------------------

#: the longest CSV line the engine's reader takes; longer ones go to Arrow's reader
_MAX_LINE = 1 << 28
_FIELDS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


@dataclass
class _Lines:
    """What a file's line breaks show, found without parsing it."""

    #: lines after the header (the last one may lack its line break)
    data_lines: int
    #: lines that are empty (or hold only a carriage return), numbered from 1
    empty: np.ndarray
    first_empty: bool
    #: lines with more fields than the header whose extra fields are empty (they end with
    #: the delimiter): (line, fields, text)
    extra_empty: list[tuple[int, int, str]]
    #: such a line may hold a quoted value: its fields cannot be counted from its bytes
    unsure: bool


def _line_facts(path: str, delimiter: str, width: int) -> _Lines:
    """Count a file's lines and find its empty ones and those with empty extra fields,
    streamed in blocks of whole lines (NumPy per block, no loop over lines)."""
    count = 0  # lines before the block
    delim = ord(delimiter)
    empty: list[np.ndarray] = []
    extra: list[tuple[int, int, str]] = []
    unsure = False
    with open(path, "rb") as f:
        for chunk, _last in _line_blocks(f):
            arr = np.frombuffer(chunk, np.uint8)
            ends = np.flatnonzero(arr == 10)
            if not chunk.endswith(b"\n"):
                ends = np.append(ends, len(arr))  # the last line, without its line break
            starts = np.concatenate(([0], ends[:-1] + 1))
            length = ends - starts
            last = arr[np.maximum(ends - 1, 0)]
            content = length - ((length > 0) & (last == 13))
            line_no = count + np.arange(1, len(ends) + 1)
            empty.append(line_no[content == 0])
            final = arr[np.maximum(starts + content - 1, 0)]
            trail = (content > 0) & (final == delim) & (line_no > 1)
            if trail.any():
                dpos = np.flatnonzero(arr == delim)
                qpos = np.flatnonzero(arr == 34)
                fields = 1 + np.searchsorted(dpos, ends) - np.searchsorted(dpos, starts)
                quotes = np.searchsorted(qpos, ends) - np.searchsorted(qpos, starts)
                over = trail & (fields > width)
                unsure = unsure or bool((over & (quotes > 0)).any())
                for i in np.flatnonzero(over & (quotes == 0)).tolist():
                    text = chunk[starts[i] : starts[i] + content[i]][:400]
                    extra.append(
                        (int(line_no[i]), int(fields[i]), text.decode("utf-8", "replace")[:200])
                    )
            count += len(ends)
    found = np.concatenate(empty) if empty else np.zeros(0, np.int64)
    return _Lines(
        max(count - 1, 0),
        found[found > 1],
        bool(found.size and found[0] == 1),
        extra,
        unsure,
    )


def _locate(path: str, positions: list[int], firsts: list[str]) -> list[int] | None:
    """The line (from 1) of each record the engine refused, from the byte where it says
    the record starts (sorted) and the record's first line of text.

    The engine's byte position can be one off the line's first byte; the line holding
    it, or the next, must read as the record's first line, else ``None``.
    """
    out: list[int] = []
    count, offset, i = 0, 0, 0
    with open(path, "rb") as f:
        for chunk, last in _line_blocks(f):
            if i >= len(positions):
                break
            nl = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
            starts = np.concatenate(([0], nl + 1))
            end = offset + len(chunk)
            while i < len(positions) and (positions[i] < end or last):
                k = int(np.searchsorted(nl, positions[i] - offset, side="left"))
                want = firsts[i].rstrip("\r")
                for j in (k, k + 1, k - 1):
                    if 0 <= j < len(starts):
                        stop = int(nl[j]) if j < len(nl) else len(chunk)
                        got = chunk[int(starts[j]) : stop].rstrip(b"\r")
                        if got.decode("utf-8", "replace") == want:
                            out.append(count + j + 1)
                            break
                else:
                    return None
                i += 1
            count += len(nl)
            offset = end
    return out if len(out) == len(positions) else None


def _read_csv_in_engine(
    name: str, path: str, shown: str, delimiter: str, names: list[str], engine: Engine
) -> RawInput | None:
    """Parse a UTF-8 CSV file in the engine and number its records by their line.

    The engine keeps the records in file order and sets aside those with the wrong
    number of fields (with the byte where each starts); it skips empty lines silently.
    The line of each record then follows from the lines that hold none (empty lines,
    refused records) and, where quoted values span lines, from the line breaks inside the
    records before it. ``None`` when the engine cannot read the file or the lines do not
    add up (a stray quote, a blank line inside a quoted value): Arrow's reader takes
    over, which reports those cases itself.
    """
    facts = _line_facts(path, delimiter, len(names))
    if facts.first_empty or facts.unsure:
        return None
    scan = engine.scan_csv(path, names, delimiter, max_line_size=_MAX_LINE)
    if scan is None:
        return None
    rej = scan.rejects
    kinds = set(rej.column("error_type").to_pylist())
    if not kinds <= {"MISSING COLUMNS", "TOO MANY COLUMNS"}:
        return None  # an unclosed quote, a line too long …
    bad: list[tuple[int, str | None, str, str]] = []
    blank: set[int] = {int(x) for x in facts.empty}
    removed: set[int] = set(blank)
    if rej.num_rows:
        texts = [t or "" for t in rej.column("csv_line").to_pylist()]
        starts = _locate(
            path,
            [int(p) for p in rej.column("line_byte_position").to_pylist()],
            [t.split("\n", 1)[0] for t in texts],
        )
        if starts is None:
            return None
        seen: set[int] = set()
        for start, text, message in zip(
            starts, texts, rej.column("error_message").to_pylist(), strict=True
        ):
            if start in seen:
                continue  # the engine may report one record twice
            seen.add(start)
            parts = (text or "").rstrip("\r\n").split("\n")
            first = True
            for offset, part in enumerate(parts):
                line = start + offset
                removed.add(line)
                if not part.strip(delimiter + " \t\r"):
                    blank.add(line)  # a blank line swept into the record
                    continue
                if first:
                    m = _FIELDS.search(message or "")
                    why = (
                        f"expected {m.group(1)} fields, found {m.group(2)}"
                        if m
                        else "wrong number of fields"
                    )
                    bad.append((line, None, why, (text or "").strip("\r\n")[:200]))
                    first = False
    blank_lines = sorted(blank - {b[0] for b in bad})
    # every line is a record's, a removed one, or inside a record's quoted value
    inside = facts.data_lines - scan.rows - len(removed)
    if inside < 0:
        return None
    if inside and engine.csv_line_breaks(scan) != inside:
        return None
    # the engine takes a line whose extra fields are empty (it ends with the delimiter) as
    # if they were not there; such lines are refused here as any line with extra fields
    extra = {line: (fields, text) for line, fields, text in facts.extra_empty}
    table, blank_records = engine.number_csv(
        scan, sorted(removed), multiline=inside > 0, leave_out=sorted(extra)
    )
    if table is None:
        return None
    width = len(names)
    bad += [
        (line, None, f"expected {width} fields, found {fields}", text)
        for line, (fields, text) in extra.items()
    ]
    bad += [(line, None, "blank line", "") for line in blank_lines]
    bad += [(line, None, "blank line", "") for line in blank_records if line not in extra]
    bad.sort(key=lambda b: b[0])
    return RawInput(
        name,
        shown,
        table,
        malformed=_malformed(shown, name, bad),
        source_columns=names,
        delimiter=delimiter,
    )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun if n == 1 else noun + 's'}"


def _malformed(file: str, table: str, rows: list[tuple[int, str | None, str, str]]) -> pa.Table:
    """Rejects of rows the reader could not use: (row, column, reason, value)."""
    return pa.table(
        {
            "file": pa.array([file] * len(rows), pa.string()),
            "table": pa.array([table] * len(rows), pa.string()),
            "row": pa.array([r[0] for r in rows], pa.int64()),
            "column": pa.array([r[1] for r in rows], pa.string()),
            "reason": pa.array([r[2] for r in rows], pa.string()),
            "value": pa.array([r[3] for r in rows], pa.string()),
        },
        schema=REJECT_SCHEMA,
    )


def _check_unclosed_quote(
    path: str, shown: str, table: pa.Table, names: list[str], multiline_bad: list[int]
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
    if start is not None and _odd_quotes(path):
        raise InputError(
            'a quote (") opened in this row is never closed, so every line after it would be '
            "read as one value",
            file=shown,
            row=start,
            hint="remove the stray quote or close it",
        )


def _odd_quotes(path: str) -> bool:
    """Whether a file holds an odd number of quote characters (a quote left open, or a
    stray one inside a value), counted in blocks."""
    quotes = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            quotes += chunk.count(b'"')
    return quotes % 2 == 1


#: how much of a file's end is read for its last line
_TAIL_BYTES = 1 << 16


def _check_ends_in_quote(
    path: str, shown: str, delimiter: str, offset: int, raw: RawInput, engine: Engine
) -> None:
    """Stop when the file ends inside a quoted value its last record opens: a file cut
    short (an interrupted download or export), whose last row the readers would take with
    the value cut (``"$12,345`` of ``"$12,345.67"``). ``offset`` is the lines of the file
    above ``path`` (a title), for the row named.

    The file's last line is looked at first; only when a quote looks left open there is the
    last record read from its first line (a value quoted over lines may end on a line that
    starts with its closing quote).
    """
    size = Path(path).stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - _TAIL_BYTES))
        tail = f.read().rstrip(b"\r\n")
    last = tail[tail.rfind(b"\n") + 1 :].decode("utf-8", "replace")
    if '"' not in last or not _open_quote(last, False, delimiter):
        return
    used = engine.scalar(raw.table[ROW].max(), f"the last row of {shown}")
    refused = pc.max(raw.malformed.column("row")).as_py()
    start = max((r for r in (used, refused) if r is not None), default=None)
    if start is None:
        return
    inside = False
    with open(path, "rb") as f:
        for _ in range(start - 1):
            f.readline()
        for line in f:
            inside = _open_quote(line.decode("utf-8", "replace").rstrip("\r\n"), inside, delimiter)
    if inside:
        raise InputError(
            'a quote (") opened in this row is never closed: the file ends inside it, as a '
            "file cut short does",
            file=shown,
            row=start + offset,
            hint="export or copy the file again; if it is whole, close the quote",
        )


# -- Parquet, DuckDB -------------------------------------------------------------------------------


def _read_duckdb(name: str, path: str, shown: str, ti: TableInput, engine: Engine) -> RawInput:
    table_name = ti.table or name
    if engine.backend != "duckdb":
        raise InputError(
            "a DuckDB database is read by the DuckDB engine only",
            file=shown,
            hint="set [run] engine = 'duckdb' (or --engine duckdb), or export the table as Parquet",
        )
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
                file=shown,
                hint="check it is a .duckdb file written by DuckDB",
            ) from exc
        raise InputError(
            f"no table {table_name!r} in the database",
            file=shown,
            hint=f"set [{name}] table to one of: {', '.join(found) or '(none)'}",
        ) from exc
    cols = [c for c in table.columns if c != ROW]
    _check_header(shown, cols)
    return RawInput(name, shown, table, source_columns=cols)


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


def unreadable_parquet(path: str, shown: str) -> InputError:
    """The error of a Parquet file that cannot be read: one with no bytes (an export that
    failed) says so, any other says it is no Parquet file."""
    try:
        empty = Path(path).stat().st_size == 0
    except OSError:
        empty = False
    if empty:
        return InputError("the file is empty (0 bytes)", file=shown, hint="export it again")
    return InputError(
        "not a readable Parquet file", file=shown, hint="check it is a .parquet export"
    )


def _read_parquet(name: str, path: str, shown: str, engine: Engine) -> RawInput:
    try:
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
    except Exception as exc:
        raise unreadable_parquet(path, shown) from exc
    _check_header(shown, schema.names)
    table = _wall_clock(engine.read_parquet(path), schema, engine)
    cols = [c for c in table.columns if c != ROW]
    return RawInput(name, shown, table, source_columns=cols)


# -- a data lake: folders of Parquet files, globs, URLs Spark reads ---------------------------

_GLOB = re.compile(r"[*?\[]")
#: URLs of file systems Spark reads (object stores, HDFS); never read from Python
_LAKE_URL = re.compile(r"^(s3a?|s3n|gs|abfss?|wasbs?|hdfs|dbfs|oci|file):/", re.IGNORECASE)
_PARQUET_SUFFIXES = (".parquet", ".pq")


def _wall_clock(table: ir.Table, schema: pa.Schema, engine: Engine) -> ir.Table:
    """``table`` with each timestamp that carries a time zone in the Parquet ``schema`` as
    the time a clock showed in that zone (Berlin's 2024-01-01 00:30 stays on 1 January,
    not 2023-12-31 23:30 in UTC), as a date and time written as text is read."""
    zones = {
        f.name: f.type.tz
        for f in schema
        if pa.types.is_timestamp(f.type) and f.type.tz and f.name in table.columns
    }
    if not zones:
        return table
    return table.mutate(**{c: engine.wall_clock(table[c], z) for c, z in zones.items()})


@dataclass
class _PartFile:
    """One Parquet file of a folder or glob, as its footer describes it."""

    path: Path
    #: the path inside the folder given (``year=2024/month=01/part-0.parquet``)
    shown: str
    schema: pa.Schema
    rows: int
    sha256: str
    #: the record number before its first row, counting through the files in name order
    start: int = 0


#: columns pandas writes for its index: no column of the user's, so never missing
_PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")


def _part_files(files: list[Path], base: Path, shown: str) -> list[_PartFile]:
    """Each file's schema, row count and SHA-256, from its footer and bytes."""
    import pyarrow.parquet as pq

    parts: list[_PartFile] = []
    start = 0
    for f in files:
        inside = _inside(f, base)
        _check_opens(f, base, shown)
        try:
            meta = pq.read_metadata(f)
            schema = meta.schema.to_arrow_schema()
        except Exception as exc:
            raise InputError(
                f"{inside} is not a readable Parquet file",
                file=shown,
                hint="remove it from the folder, or give a glob that leaves it out",
            ) from exc
        parts.append(_PartFile(f, inside, schema, meta.num_rows, fingerprint(f), start))
        start += meta.num_rows
    return parts


def _check_row_column(parts: list[_PartFile], shown: str) -> None:
    """Stop when a file has a column named ``_row`` (in any case), naming the file: the
    engine numbers the records under that name, which would replace the user's column."""
    for p in parts:
        clash = next((c for c in p.schema.names if c.lower() == ROW), None)
        if clash is not None:
            raise InputError(
                f"column {clash!r} of {p.shown} has the name tierwise gives the record numbers",
                file=shown,
                column=clash,
                hint="rename the column in the files (tierwise numbers the rows itself)",
            )


def _listed(parts: list[_PartFile], most: int = 3) -> str:
    names = [p.shown for p in parts[:most]]
    if len(parts) > most:
        names.append(f"{len(parts) - most:,} more")
    return ", ".join(names)


def _missing_columns(
    name: str, parts: list[_PartFile], columns: list[str], keys: list[str]
) -> list[str]:
    """A warning for each column some files lack (schema drift): their rows have no value."""
    warnings = []
    for c in columns:
        if c in keys or _PANDAS_INDEX.match(c):
            continue
        lacking = [p for p in parts if c not in p.schema.names]
        if not lacking:
            continue
        rows = sum(p.rows for p in lacking)
        one = len(lacking) == 1
        warnings.append(
            f"{name}: {len(lacking):,} of {len(parts):,} files "
            f"{'lacks' if one else 'lack'} column {c!r} ({_listed(lacking)}, "
            f"{_count(rows, 'row')}): those rows have no {c}; export "
            f"{'it' if one else 'them'} again with every column"
        )
    return warnings


def _type_kind(t: pa.DataType) -> str:
    """What a Parquet column's values are, for telling whether files agree."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return "date"
    return str(t)


def _number_text(x: ir.Value) -> ir.StringValue:
    """A typed number as text that reads as that number whatever the column's decimal
    separator: an integer as its digits (``42``), any other as digits and a power of ten
    without a separator (54.08 as ``5408e-2``), so that neither ``.`` nor ``,`` decides it."""
    if x.type().is_integer():
        return x.cast("string")
    f = x.cast("float64")
    whole = f.isinf().fill_null(False) | f.isnan().fill_null(False)
    # (f % 1 == 0: Ibis writes round(f, 0) as a cast to a 64-bit integer, which 1e20 fails)
    integral = ~whole & ((f % 1) == 0) & (f.abs() < 1e15)
    text = f.cast("string")
    # the engine writes the shortest text that reads back as the same double: 54.08,
    # 1.5e-07 (DuckDB), 1.5E-7 (Spark); its digits without the point, and the exponent
    # less the digits after the point
    shape = r"^(-?)(\d+)(?:\.(\d*))?(?:[eE]\+?(-?\d+))?$"
    sign, head, tail, power = (text.re_extract(shape, i) for i in (1, 2, 3, 4))
    tail = tail.re_replace("0+$", "")
    power = power.nullif("").cast("int64").fill_null(0) - tail.length()
    neutral = sign + head + tail + "e" + power.cast("string")
    # only a whole number within range reaches the cast (DuckDB casts before it picks)
    whole_digits = ibis.ifelse(integral, f, ibis.null("float64")).round(0).cast("int64")
    exact = ibis.ifelse(integral, whole_digits.cast("string"), neutral)
    return ibis.ifelse(text.re_search(shape), exact, text)


def _as_text(x: ir.Value) -> ir.StringValue:
    if x.type().is_string():
        return x  # type: ignore[return-value]
    if x.type().is_numeric():
        return _number_text(x)
    return x.cast("string")


def _common_type(types: list[Any]) -> Any:
    """The type a column takes over files whose types differ (ibis data types)."""
    import ibis.expr.datatypes as idt

    known = [t for t in types if not t.is_null()]
    if not known:
        return types[0]
    if all(t == known[0] for t in known):
        return known[0]
    if any(t.is_string() for t in known) or not all(t.is_numeric() for t in known):
        if all(t.is_temporal() for t in known):
            return idt.timestamp
        return idt.string
    if all(t.is_integer() for t in known):
        return idt.int64
    return idt.float64


def _read_drifting(
    parts: list[_PartFile], base: Path, keys: list[str], engine: Engine
) -> tuple[ir.Table, list[str]]:
    """Files whose schemas differ, read group by group (one group per schema, which both
    engines read as one table) and stacked: a column a file lacks is empty in its rows, a
    column whose files disagree on its type is text (typed numbers written so that they read
    as they were), and rows keep their numbers through all the files in name order."""
    import ibis

    groups: dict[tuple[tuple[str, str], ...], list[_PartFile]] = {}
    for p in parts:
        sig = tuple(sorted((f.name, str(f.type)) for f in p.schema))
        groups.setdefault(sig, []).append(p)
    tables = []
    for members in groups.values():
        t = engine.read_parquet([str(p.path) for p in members], base=base)
        t = _wall_clock(t, members[0].schema, engine)
        # the group's numbers through its own files, moved to those through all files
        before, delta = 0, []
        for p in members:
            delta.append((before + p.rows, p.start - before))
            before += p.rows
        shift: ir.IntegerValue = ibis.literal(delta[-1][1], "int64")
        if len(delta) > 1:
            shift = ibis.cases(*((t[ROW] <= end, d) for end, d in delta[:-1]), else_=shift)
        tables.append(t.mutate(**{ROW: (t[ROW] + shift).cast("int64")}))
    own = list(dict.fromkeys(f.name for p in parts for f in p.schema if f.name not in keys))
    present = [k for k in keys if any(k in t.columns for t in tables)]
    columns = own + present
    target = {c: _common_type([t.schema()[c] for t in tables if c in t.columns]) for c in columns}
    stacked = []
    for t in tables:
        cols = {}
        for c in columns:
            if c not in t.columns:
                cols[c] = ibis.null(target[c])
            elif target[c].is_string() and not t.schema()[c].is_string():
                cols[c] = _as_text(t[c])
            elif t.schema()[c] != target[c]:
                cols[c] = t[c].cast(target[c])
            else:
                cols[c] = t[c]
        stacked.append(t.select(**cols, **{ROW: t[ROW]}))
    table = stacked[0].union(*stacked[1:], distinct=False) if len(stacked) > 1 else stacked[0]
    return table, columns


def _type_notes(name: str, parts: list[_PartFile], columns: list[str]) -> list[str]:
    """A warning for each column whose files disagree on its type (it is read as text)."""
    notes = []
    for c in columns:
        kinds: dict[str, list[_PartFile]] = {}
        for p in parts:
            if c in p.schema.names:
                kind = _type_kind(p.schema.field(c).type)
                if kind != "null":
                    kinds.setdefault(kind, []).append(p)
        if len(kinds) < 2 or set(kinds) <= {"integer", "number"}:
            continue  # one kind, or numbers of several types (read as numbers)
        # the fewer files are the odd ones out
        ranked = sorted(kinds.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        said = "; ".join(f"{kind} in {_listed(ps)}" for kind, ps in ranked)
        notes.append(
            f"{name}: the files disagree on the type of column {c!r} ({said}), so it is read "
            "as text in every file: text values are parsed as a CSV's are, typed values "
            "keep theirs; export the files with one type for the column"
        )
    return notes


def _parquet_raw(name: str, files: list[Path], base: Path, shown: str, engine: Engine) -> RawInput:
    files = sorted(files, key=str)
    parts = _part_files(files, base, shown)
    _check_row_column(parts, shown)
    # the partition keys of the folders (Hive partitions), outermost first, as Spark has them
    keys = [part.split("=", 1)[0] for part in files[0].relative_to(base).parts[:-1] if "=" in part]
    same = all(p.schema.equals(parts[0].schema, check_metadata=False) for p in parts)
    warnings: list[str] = []
    try:
        if same:
            table = engine.read_parquet([str(f) for f in files], base=base)
            # the files' own columns, then the partition keys
            cols = [c for c in table.columns if c != ROW and c not in keys]
            cols += [k for k in keys if k in table.columns]
            table = _wall_clock(table.select(*cols, ROW), parts[0].schema, engine)
        else:
            table, cols = _read_drifting(parts, base, keys, engine)
            warnings += _missing_columns(name, parts, cols, keys)
            warnings += _type_notes(name, parts, cols)
    except TierwiseError as exc:
        raise InputError(
            f"the {len(files)} Parquet files cannot be read as one table: {exc.one_line()}",
            file=shown,
            hint="the files must share their column names and types",
        ) from exc
    _check_header(shown, cols)
    # a file delivered twice (the same bytes in the same partition folder): its rows are
    # read once, the copy's rejected. Files of different partitions (date=2024-01-05/ and
    # date=2024-01-12/ holding the same weekly invoice) differ by the partition's columns.
    first: dict[tuple[str, tuple[str, ...]], _PartFile] = {}
    copies: list[tuple[_PartFile, _PartFile]] = []
    for p in parts:
        where = tuple(d for d in Path(p.shown).parts[:-1] if "=" in d)
        key = (p.sha256, where)
        if key in first:
            copies.append((p, first[key]))
        else:
            first[key] = p
    duplicate_rejects: list[pa.Table] = []
    for copy, original in copies:
        if not copy.rows:
            continue
        reason = f"duplicate of file {original.shown} (the same bytes), whose rows are used"
        table = table.filter(
            ~table[ROW].between(ibis.literal(copy.start + 1), ibis.literal(copy.start + copy.rows))
        )
        n = copy.rows
        duplicate_rejects.append(
            pa.table(
                {
                    "file": pa.repeat(pa.scalar(shown, pa.string()), n),
                    "table": pa.repeat(pa.scalar(name, pa.string()), n),
                    "row": pa.array(np.arange(copy.start + 1, copy.start + n + 1, dtype=np.int64)),
                    "column": pa.nulls(n, pa.string()),
                    "reason": pa.repeat(pa.scalar(reason, pa.string()), n),
                    "value": pa.repeat(pa.scalar("", pa.string()), n),
                },
                schema=REJECT_SCHEMA,
            )
        )
        warnings.append(
            f"{name}: {original.shown} and {copy.shown} have the same bytes (a file delivered "
            f"twice): the rows of {original.shown} are used, the {_count(copy.rows, 'row')} "
            f"of {copy.shown} rejected as their duplicates; remove whichever of the two is the "
            "copy from the folder"
        )
    h = hashlib.sha256()
    for p in parts:
        h.update(f"{p.path.relative_to(base)}\0{p.sha256}\n".encode())
    return RawInput(
        name,
        shown,
        table,
        malformed=pa.concat_tables([_malformed(shown, name, []), *duplicate_rejects]),
        source_columns=cols,
        sha256=h.hexdigest(),
        fmt="parquet",
        warnings=warnings,
    )


def _iceberg(shown: str) -> InputError:
    """The error for an Iceberg table's folder, which is read through its catalog."""
    return InputError(
        "this is an Iceberg table, which tierwise does not read from its folder",
        file=shown,
        hint="read it through your catalog and pass the Spark DataFrame to tierwise.run "
        "(spark.table('catalog.db.table')), or export it as Parquet",
    )


def _files_in(folder: Path, shown: str) -> list[Path]:
    """The files under ``folder``, in name order, Spark's and Hive's bookkeeping (names
    starting with "_" or ".") left out; a folder inside that the user running tierwise
    may not read stops the run, where its files would be left out without a word."""

    def denied(exc: OSError) -> None:
        if isinstance(exc, PermissionError):
            raise _denied_inside(_inside(exc.filename or folder, folder), shown) from None

    found: list[Path] = []
    for top, dirs, names in os.walk(folder, onerror=denied):
        dirs[:] = [d for d in dirs if not d.startswith(("_", "."))]
        for n in names:
            f = Path(top, n)
            if not n.startswith(("_", ".")) and not (os.path.islink(f) and not os.path.exists(f)):
                found.append(f)
    return sorted(found)


def _read_parquet_folder(name: str, folder: Path, shown: str, engine: Engine) -> RawInput:
    """Every Parquet file under a folder (Hive partition folders included), in name order."""
    if (folder / "_delta_log").is_dir():
        return _read_delta(name, folder, shown, engine)
    if (folder / "metadata").is_dir() and any((folder / "metadata").glob("*.metadata.json")):
        raise _iceberg(shown)
    found = _files_in(folder, shown)
    files = [f for f in found if f.suffix.lower() in _PARQUET_SUFFIXES]
    if not files:
        other = sorted({f.suffix.lower() or "(none)" for f in found})
        raise InputError(
            "is a folder without Parquet files"
            + (f" (it holds {', '.join(other)} files)" if other else " (it is empty)"),
            file=shown,
            hint="give a file inside it, or a folder of .parquet files",
        )
    tables = [f.name for f in files if f.parent == folder and f.stem.lower() in INPUT_TABLES]
    if len(tables) > 1:
        mine = [t for t in tables if Path(t).stem.lower() == name]
        raise InputError(
            f"is a folder holding the files of several tables ({', '.join(tables)}), which "
            "would all be read as one",
            file=shown,
            hint=f"give the {name} file: {folder / mine[0]}"
            if mine
            else f"give the file of the {name} table",
        )
    return _parquet_raw(name, files, folder, shown, engine)


def _read_parquet_glob(name: str, pattern: str, shown: str, engine: Engine) -> RawInput:
    """The Parquet files a glob matches (``**`` crosses folders), in name order."""
    import glob

    # the folder the pattern starts from: Hive partition folders below it become columns
    parts = Path(pattern).parts
    fixed = next((i for i, part in enumerate(parts) if _GLOB.search(part)), len(parts))
    base = Path(*parts[:fixed]) if fixed else Path(".")
    _check_glob_folders(base, list(parts[fixed:]), base, shown)
    files = sorted(Path(f) for f in glob.glob(pattern, recursive=True) if Path(f).is_file())
    for f in files:
        _check_opens(f, base, shown)
    if not files:
        raise InputError("no file matches this pattern", file=shown, hint="check the path")
    not_parquet = [f for f in files if _magic(str(f)) != "parquet"]
    if not_parquet:
        raise InputError(
            f"a pattern reads Parquet files only, and {not_parquet[0].name} is not one",
            file=shown,
            hint="narrow the pattern (e.g. *.parquet), or give one CSV or Excel file",
        )
    return _parquet_raw(name, files, base, shown, engine)


def _check_glob_folders(folder: Path, parts: list[str], base: Path, shown: str) -> None:
    """Stop when a folder a glob looks in (``parts``: the pattern's parts from ``folder``
    on, the last naming files) may not be read or entered: a glob passes over it in
    silence, and its files would be left out."""
    import fnmatch

    if parts and not _GLOB.search(parts[0]):
        if len(parts) > 1:
            _check_glob_folders(folder / parts[0], parts[1:], base, shown)
        return
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
        # a folder that may be read but not entered lists its names only
        for e in entries[:1]:
            e.stat(follow_symlinks=False)
    except PermissionError:
        raise _denied_inside(_inside(folder, base), shown) from None
    except FileNotFoundError:
        if not folder.is_dir():
            return
    except OSError:
        return
    if len(parts) <= 1 and parts != ["**"]:
        return
    part, rest = parts[0], parts[1:]
    if part == "**":
        # none, one or more folders: the rest of the pattern here, and in each folder below
        _check_glob_folders(folder, rest, base, shown)
    for e in entries:
        if e.name.startswith(".") and not part.startswith("."):
            continue
        if part == "**" and e.is_dir(follow_symlinks=False):
            _check_glob_folders(Path(e.path), parts, base, shown)
        elif part != "**" and e.is_dir() and fnmatch.fnmatch(e.name, part):
            _check_glob_folders(Path(e.path), rest, base, shown)


def _read_delta(name: str, folder: Path | str, shown: str, engine: Engine) -> RawInput:
    """A Delta table (a folder, or a URL Spark reads): read by Spark's Delta source
    (delta-spark on the session)."""
    if engine.backend != "spark":
        raise InputError(
            "this is a Delta table, which the DuckDB engine does not read (its delta "
            "extension is never installed by tierwise)",
            file=shown,
            hint="run with engine = 'spark' on a session with Delta Lake (delta-spark), or "
            "export the table as Parquet",
        )
    try:
        df = engine.con._session.read.format("delta").load(str(folder))
    except Exception as exc:
        raise InputError(
            "this is a Delta table and the Spark session has no Delta Lake",
            file=shown,
            hint="start Spark with delta-spark (spark.jars.packages io.delta:delta-spark_2.13 "
            "and spark.sql.extensions io.delta.sql.DeltaSparkSessionExtension in [run] "
            "spark_options), or export the table as Parquet",
        ) from exc
    _check_header(shown, list(df.columns))
    table, digest = engine.from_spark_frame(df, shown)
    cols = [c for c in table.columns if c != ROW]
    return RawInput(name, shown, table, source_columns=cols, sha256=digest, fmt="delta")


def _check_lake_columns(engine: Engine, url: str, shown: str) -> None:
    """Stop with one line when the Parquet at ``url`` has a column named ``_row``, which
    the engine's record numbers clash with (it fails the read); nothing when the files'
    schema cannot be read either (the caller says why the read failed)."""
    try:
        columns = list(engine.con._session.read.parquet(url).columns)
    except Exception:
        return
    _check_header(shown, columns)


def _lake_has(engine: Engine, url: str, pattern: str) -> bool:
    """Whether anything at ``url`` + "/" + ``pattern`` (a Hadoop glob) exists, asked of the
    file system Spark reads the URL with; False when it cannot say (no file system for the
    scheme: the read then says why)."""
    try:
        session = engine.con._session
        jvm = session._jvm
        path = jvm.org.apache.hadoop.fs.Path(url.rstrip("/") + "/" + pattern)
        fs = path.getFileSystem(session._jsc.hadoopConfiguration())
        found = fs.globStatus(path)
        return found is not None and len(found) > 0
    except Exception as exc:
        cause = engine_message(exc)
        if "FileSystem" in cause and ("ClassNotFound" in cause or "No FileSystem" in cause):
            return False  # the read says what to add
        # a table's folder must not be read as plain Parquet for want of an answer
        raise InputError(
            f"Spark could not look into this URL: {cause}",
            file=url,
            hint="check the URL and the session's access to it",
        ) from exc


def _read_lake_url(name: str, url: str, shown: str, engine: Engine) -> RawInput:
    """Parquet at a URL Spark reads (a file, a folder of files, a glob); a Delta table's
    folder through Spark's Delta source, and an Iceberg table's refused, as for a folder
    on this machine."""
    if engine.backend != "spark":
        raise InputError(
            "a data-lake URL is read by the Spark engine only",
            file=shown,
            hint="set [run] engine = 'spark' (or --engine spark), or copy the files to this "
            "machine",
        )
    if not _GLOB.search(url):
        # a table's folder read as plain Parquet would count the rows its log has removed
        if _lake_has(engine, url, "_delta_log"):
            return _read_delta(name, url, shown, engine)
        if _lake_has(engine, url, "metadata/*.metadata.json"):
            raise _iceberg(shown)
    # the files' schema is not read from here, so a timestamp with a time zone keeps Spark's
    # reading of it: the instant, whose date is taken in the session's UTC
    try:
        table = engine.read_parquet(url)
    except EngineError as exc:
        _check_lake_columns(engine, url, shown)
        cause = engine_message(exc.__cause__ or exc)
        no_fs = "FileSystem" in cause and ("ClassNotFound" in cause or "No FileSystem" in cause)
        raise InputError(
            f"Spark could not read this URL: {cause}",
            file=shown,
            hint="Spark has no file system for this URL's scheme: add its Hadoop connector to "
            "spark.jars.packages in [run] spark_options, for s3a:// "
            "org.apache.hadoop:hadoop-aws at the Hadoop version Spark ships"
            if no_fs
            else "check the URL and the session's access to it",
        ) from exc
    cols = [c for c in table.columns if c != ROW]
    _check_header(shown, cols)
    # the files are not read from Python: the fingerprint is the URL's
    return RawInput(name, shown, table, source_columns=cols, sha256=fingerprint(url), fmt="parquet")


# -- Excel -----------------------------------------------------------------------------------------


def _cell_text(v: Any) -> str:
    """An Excel cell as text, as a CSV export would write it (empty for no value)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, (dt.time, dt.timedelta)) and not (isinstance(v, dt.timedelta) and v.days < 0):
        # a cell formatted as a time ("h:mm") or a duration ("[h]:mm", past 24 hours) is
        # written as a clock reads it, H:MM:SS to the second: Excel keeps it as a fraction
        # of a day, so 0:28 may come back as 0:27:59.996
        if isinstance(v, dt.time):
            v = dt.timedelta(
                hours=v.hour, minutes=v.minute, seconds=v.second, microseconds=v.microsecond
            )
        secs = round(v.total_seconds())
        return f"{secs // 3600}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
    return str(v)


def _number_cell_text(v: Any) -> str:
    """A cell as :func:`_cell_text` writes it, a number's decimal point as a comma."""
    text = _cell_text(v)
    if isinstance(v, float) and not isinstance(v, bool):
        return text.replace(".", ",")
    return text


#: what is left of a number written as text for telling its decimal separator: digits,
#: signs, separators and spaces (a currency sign or code around it dropped)
_NOT_NUMBER_PART = re.compile(r"[^\d,.'’+\-\s\u00a0\u202f]")


def _typed_decimal(cells: list[Any], decimal: str | None) -> str:
    """The decimal separator a column's number cells (stored as numbers, not text) are
    written with, so that the column's text reads them as the numbers they are: the
    ``[table] decimal`` setting's, else ``,`` where the column's numbers stored as text
    (``1.234,50``, which a sheet pasted from an ERP holds beside real numbers) show a
    decimal comma more often than a point, else ``.``."""
    if not any(isinstance(v, float) and not isinstance(v, bool) for v in cells):
        return "."
    if decimal is not None:
        return decimal
    from ..validate import _grammar, _thousands_chars

    dot = re.compile(_grammar(".", _thousands_chars(".", None)))
    comma = re.compile(_grammar(",", _thousands_chars(",", None)))
    n_dot = n_comma = 0
    for v in cells:
        if isinstance(v, str) and ("," in v or "." in v):
            text = _NOT_NUMBER_PART.sub("", v).strip()
            is_dot, is_comma = bool(dot.search(text)), bool(comma.search(text))
            n_dot += is_dot and not is_comma
            n_comma += is_comma and not is_dot
    return "," if n_comma > n_dot else "."


def _has_formulas(path: str) -> bool:
    """Whether any worksheet of the workbook holds a formula (a cheap look at its XML)."""
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    with z.open(info) as f:
                        while chunk := f.read(1 << 20):
                            if b"<f>" in chunk or b"<f " in chunk:
                                return True
    except (OSError, zipfile.BadZipFile):
        return False
    return False


#: what to do with a workbook that cannot be opened
EXCEL_HINT = (
    "the workbook is damaged or was cut short, as by an interrupted download: open it in "
    "Excel and save it again as .xlsx, or export it again"
)


def _read_excel(name: str, path: str, shown: str, ti: TableInput, engine: Engine) -> RawInput:
    import openpyxl

    def sheet_of(wb: Any) -> Any:
        if ti.sheet is None:
            return first_sheet(wb)
        if ti.sheet not in wb.sheetnames:
            raise InputError(
                f"no sheet named {ti.sheet!r}",
                file=shown,
                hint=f"set [{name}] sheet to one of: {', '.join(map(repr, wb.sheetnames))}",
            )
        return wb[ti.sheet]

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except TierwiseError:
        raise
    except Exception as exc:
        msg = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(f"cannot read as Excel: {msg}", file=shown, hint=EXCEL_HINT) from exc
    try:
        ws = sheet_of(wb)
        # every row from the sheet's first, empty ones included: row numbers are the
        # sheet's, whatever first row the file's dimension (which a writer may leave
        # stale) names
        first = 1
        rows = [tuple(r) for r in ws.iter_rows(min_row=1, values_only=True)]
        sheets = _sheet_columns(wb) if len(wb.sheetnames) > 1 else {}
        # a date cell is read as a date whatever the system; a date column of plain
        # numbers counts its days from the workbook's origin
        origin = getattr(wb, "epoch", None)
        serial_origin = (
            dt.date(1904, 1, 1)
            if isinstance(origin, dt.datetime) and origin.year == 1904
            else dt.date(1899, 12, 30)
        )
    finally:
        wb.close()
    # formatted but empty rows and columns at the end are no data
    while rows and all(v is None or v == "" for v in rows[-1]):
        rows.pop()
    if not rows:
        raise InputError("the sheet is empty", file=shown, hint="put a header row in row 1")
    width = max(len(r) for r in rows)
    while width > 0 and all(len(r) < width or r[width - 1] in (None, "") for r in rows):
        width -= 1
    rows = [tuple(r[:width]) + (None,) * (width - len(r)) for r in rows]
    warnings: list[str] = []
    if ti.header_row is not None:
        head = ti.header_row - first
        if not 0 <= head < len(rows):
            raise InputError(
                f"header_row {ti.header_row} is outside the sheet's rows "
                f"({first} to {first + len(rows) - 1})",
                file=shown,
                hint=f"set [{name}] header_row to the row holding the column names",
            )
    else:
        head = _header_index(rows, width)
    header = [_cell_text(c).strip() for c in rows[head]]
    start, end = head, head + 1
    if _needs_merges(header):
        # cells merged across columns above sub-names (a report's "Customer" over "No." and
        # "Name"): the column names take more than one row
        merges = _merged_ranges(path, getattr(ws, "_worksheet_path", None))
        start, end, block = merged_header(rows, head, width, merges, first)
        if block is not None:
            header = block
            shown_names = ", ".join(repr(n) for n in header if n)[:300]
            warnings.append(
                f"{shown}: the column names take rows {first + start} to {first + end - 1} "
                f"(cells merged across columns); each column is named by its cells in those "
                f"rows, joined by a space: {shown_names}. Map these names in "
                f"[{name}.columns]"
            )
    if ti.header_row is None and start:
        above = ", ".join(
            repr(t)
            for t in (" ".join(_cell_text(c) for c in r if c).strip() for r in rows[:start])
            if t
        )
        warnings.append(
            f"{shown}: the column names are in row {first + start}; "
            f"{_count(start, 'row')} above them (a title: {above or 'empty'}) "
            f"{'was' if start == 1 else 'were'} not read; set [{name}] header_row if "
            "another row holds them"
        )
    names = _check_header(shown, header, warnings)
    head = end - 1
    data = rows[head + 1 :]
    numbers = np.arange(first + head + 1, first + head + 1 + len(data), dtype=np.int64)
    bad_rows: list[tuple[int, str | None, str, str]] = []
    keep = np.ones(len(data), dtype=bool)
    if data and _has_formulas(path):
        for i, col, formula in _formulas_without_values(
            path, ti.sheet, int(numbers[0]), data, names
        ):
            if keep[i]:
                keep[i] = False
                bad_rows.append(
                    (
                        int(numbers[i]),
                        col,
                        "formula without a stored value (open the file in Excel and save it, "
                        "or paste the values)",
                        formula[:200],
                    )
                )
    kept = [r for r, k in zip(data, keep, strict=True) if k]
    columns = {}
    for j, n in enumerate(names):
        cells = [r[j] for r in kept]
        comma = _typed_decimal(cells, ti.decimal) == ","
        columns[n] = pa.array(
            [_number_cell_text(v) if comma else _cell_text(v) for v in cells], pa.string()
        )
    suspects = _second_table_suspects(header, names, columns, keep)
    _check_second_table(data, header, first + head + 1, first + head, shown, name, suspects)
    table = pa.table({**columns, ROW: pa.array(numbers[keep], pa.int64())})
    table, blank = _without_blank_rows(table, names)
    bad_rows += [(r, None, "blank line", "") for r in blank]
    _warn_hidden_rows(path, ws, table, shown, name, ti, warnings)
    t = engine.from_arrow(table, engine.fresh_name(f"raw_{name}"), holds_input=True)
    return RawInput(
        name,
        shown,
        t,
        malformed=_malformed(shown, name, sorted(bad_rows, key=lambda r: r[0])),
        source_columns=names,
        warnings=warnings,
        sheets=sheets,
        sheet=ws.title,
        serial_origin=serial_origin,
    )


def _warn_hidden_rows(
    path: str,
    ws: Any,
    table: pa.Table,
    shown: str,
    name: str,
    ti: TableInput,
    warnings: list[str],
) -> None:
    """Say that rows of data hidden in the sheet (a filter showing some rows only, or rows
    hidden by hand) are read as any other: the file holds them, as a CSV export of it
    would, though the person who hid them may not count them. Hidden rows that ``[name]
    exclude_rows`` or ``keep_rows`` leave out are not named: the settings already decide
    them. Where a filter's column gets its values after the sheet is read (``fill_down``
    or ``fill_from_order`` fills it, or a group heading's row makes it), the warning
    says the rows are read unless that setting leaves them out."""
    hidden = _hidden_rows(path, getattr(ws, "_worksheet_path", None))
    if not hidden.size:
        return
    rows = table.column(ROW).to_numpy()
    out, undecided = _left_out_by_row_filters(table, ti)
    used = np.isin(rows, hidden) & ~out
    read = np.sort(rows[used])
    if not read.size:
        return
    one = read.size == 1
    listed = ", ".join(str(r) for r in read[:5].tolist()) + (", …" if read.size > 5 else "")
    settings = sorted({s for s, rows_left in undecided.items() if (rows_left & used).any()})
    if settings:
        unless = (
            f" unless [{name}] {' or '.join(settings)} "
            f"{'leaves' if len(settings) == 1 else 'leave'} {'it' if one else 'them'} out "
            f"(its column is filled in after the sheet is read); if "
            f"{'it is' if one else 'they are'} no part of the data, delete "
            f"{'it' if one else 'them'}"
        )
    else:
        unless = (
            f"; if {'it is' if one else 'they are'} no part of the data, delete "
            f"{'it' if one else 'them'}, or leave {'it' if one else 'them'} out with "
            f"[{name}] exclude_rows"
        )
    warnings.append(
        f"{shown}: {_count(int(read.size), 'row')} of data {'is' if one else 'are'} "
        f"hidden in the sheet (row {listed}: a filter, or rows hidden by hand) and "
        f"{'is' if one else 'are'} read as any other row{unless}"
    )


def _left_out_by_row_filters(
    table: pa.Table, ti: TableInput
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Which rows of ``table`` (a sheet's cells as text) ``exclude_rows`` and ``keep_rows``
    leave out, by the rule validation applies: the cell, surrounding spaces and tabs and
    case (:func:`_case_key`) ignored, an empty cell the value "". And, by setting, the
    rows it cannot be told for here: an empty cell of a column that ``fill_down`` or
    ``fill_from_order`` fills (the value it gets is not known yet), every row for a column
    the file does not have (a group heading's row makes it, or validation names it)."""
    out = np.zeros(table.num_rows, dtype=bool)
    undecided: dict[str, np.ndarray] = {}
    filled = {column_key(c) for c in (*ti.fill_down, *ti.fill_from_order)}
    by_key = {column_key(c): c for c in table.column_names if c != ROW}
    for setting, given in (("exclude_rows", ti.exclude_rows), ("keep_rows", ti.keep_rows)):
        unknown = np.zeros(table.num_rows, dtype=bool)
        for named, values in given.items():
            column = named if named in table.column_names else by_key.get(column_key(named))
            if column is None:
                unknown[:] = True
                continue
            cells = table.column(column).cast(pa.string())
            key = _case_key(pc.utf8_trim(pc.fill_null(cells, ""), " \t"))
            listed = pc.is_in(key, _case_key(pa.array([v.strip() for v in values], pa.string())))
            hit = listed if setting == "exclude_rows" else pc.invert(listed)
            if column_key(column) in filled:
                empty = pc.equal(key, "")
                hit = pc.and_(hit, pc.invert(empty))
                unknown |= empty.to_numpy(zero_copy_only=False)
            out |= hit.to_numpy(zero_copy_only=False)
        undecided[setting] = unknown
    return out, {s: u & ~out for s, u in undecided.items()}


def _case_key(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Text as a cell is matched to a setting's values, case aside, as validation reads it
    in the engine (``tierwise.validate._case_key``): lowered by Arrow (as DuckDB lowers),
    then each of :data:`~tierwise.schema.CASE_FOLDS` replaced.

    >>> _case_key(pa.array(["İSTANBUL", "ΟΔΟΣ", "Straße"])).to_pylist()
    ['istanbul', 'οδοσ', 'strasse']
    """
    key = pc.utf8_lower(text)
    for written, read in CASE_FOLDS:
        key = pc.replace_substring(key, written, read)
    return key


#: the white space str.strip() takes off text in ASCII
_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def _second_table_suspects(
    header: list[str], names: list[str], columns: dict[str, pa.Array], keep: np.ndarray
) -> np.ndarray:
    """The data rows (indices, in order) that :func:`_check_second_table` looks at: those
    whose first named column (``columns``, the kept rows' cells as text) reads as its
    name; those whose first named column is empty or holds a column name, and at least
    two of whose cells hold the name of another column; and those not kept (a formula
    without its value), which ``columns`` leave out. Names are matched ignoring case and
    surrounding white space; a cell whose text goes beyond ASCII is taken for a match:
    case folding may bring it to the name ("ß" to "ss")."""
    key = next((k for k, h in enumerate(header) if h), None)
    if key is None:
        return np.zeros(0, dtype=np.int64)

    def folded(j: int) -> pa.Array:
        return pc.ascii_lower(pc.utf8_trim(columns[names[j]], _ASCII_SPACE))

    def beyond_ascii(j: int) -> pa.Array:
        return pc.invert(pc.string_is_ascii(columns[names[j]]))

    def as_array(hit: pa.Array) -> np.ndarray:
        return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)

    at_key = folded(key)
    maybe = as_array(pc.or_(pc.equal(at_key, header[key].casefold()), beyond_ascii(key)))
    known = pa.array([h.casefold() for h in header if h], pa.string())
    no_key = pc.or_(pc.or_(pc.equal(at_key, ""), pc.is_in(at_key, known)), beyond_ascii(key))
    no_key_rows = as_array(no_key)
    if no_key_rows.any():
        others = np.zeros(len(no_key_rows), dtype=np.int64)
        for j in range(len(header)):
            elsewhere = [h.casefold() for k, h in enumerate(header) if h and k != j]
            hit = pc.or_(pc.is_in(folded(j), pa.array(elsewhere, pa.string())), beyond_ascii(j))
            others += as_array(hit)
        maybe |= no_key_rows & (others >= 2)
    kept = np.flatnonzero(keep)[maybe]
    return np.sort(np.concatenate([kept, np.flatnonzero(~keep)]))


def _check_second_table(
    data: list[tuple[Any, ...]],
    header: list[str],
    first: int,
    header_at: int,
    shown: str,
    name: str,
    rows: Iterable[int] | None = None,
) -> None:
    """Refuse a sheet holding a second table below the first (a report's sales, then its
    returns under column names of their own): its rows would be read under the first
    table's names, an "amount" of returns as revenue.

    A row is a second table's header when its filled cells are text, at least two of
    them, and either

    - its first column holds the header's first name (a table's key, a customer or an
      order: a row of data carries a value there, whatever names its other cells happen
      to hold, a placeholder "City"), at least half of its filled cells are names of the
      header's columns, in any place and case, and it is not the header again cell for
      cell (a header repeated at a page break is rejected row by row, as such); or
    - its first column is empty or holds another column's name (no key, as a row of data
      has), every filled cell but one at most holds a column's name (in any case), at
      least two of them another column's than their own (a second table whose header
      leaves out the first table's key, or puts it elsewhere: "Date" over the customers,
      "customer_id" over the dates), and at least three unless the first column holds
      one; a name that several cells hold counts once. A header is names, cell for cell;
      a row of data holds values, which may happen to be a name or two (a customer's
      preferred contact "Email" and lead source "Phone", a placeholder "city" in its own
      column), or one name in several cells (its first and fallback contact "Phone").

    The message lists the cells holding names, and gives as the place the first column
    whose cell differs from the header's, or, in a row without the key, the first cell
    holding another column's name.

    ``rows``: the indices of ``data`` to look at, in order
    (:func:`_second_table_suspects`); default every row.

    >>> _check_second_table([("A", 5)], ["customer_id", "revenue"], 2, 1, "t.xlsx", "tx")
    >>> _check_second_table([("C3", "City", "Region")], ["customer_id", "city", "region"],
    ...     2, 1, "t.xlsx", "customers")
    >>> _check_second_table([(None, "City", "Region")], ["customer_id", "City", "Region"],
    ...     2, 1, "t.xlsx", "customers")
    """
    known = {h.casefold() for h in header if h}
    key = next((k for k, h in enumerate(header) if h), None)
    if key is None:
        return
    for i in map(int, range(len(data)) if rows is None else rows):
        row = data[i]
        filled = [c for c in row if c is not None and c != ""]
        if len(filled) < 2 or not all(isinstance(c, str) for c in filled) or key >= len(row):
            continue
        texts = [_cell_text(c).strip() for c in row]
        folded = [t.casefold() for t in texts]
        names = sum(t in known for t in folded if t)
        if folded[key] == header[key].casefold():
            if names < 2 or 2 * names < len(filled) or texts == header:
                continue
            j = next(j for j, (t, h) in enumerate(zip(texts, header, strict=True)) if t != h)
        elif folded[key] == "" or folded[key] in known:
            # a name several cells hold counts once, in the first of them
            moved = [
                j
                for j, (t, h) in enumerate(zip(folded, header, strict=True))
                if t and t in known and t != h.casefold() and t not in folded[:j]
            ]
            if len(moved) < 2 or len(filled) - names > 1 or (len(moved) < 3 and not folded[key]):
                continue
            j = moved[0]
        else:
            continue
        listed = ", ".join(repr(t) for t, f in zip(texts, folded, strict=True) if f in known)
        raise InputError(
            f"row {first + i} holds column names ({listed}) that are not row {header_at}'s: "
            f"a second table starts there, whose rows would be read under row {header_at}'s "
            f"names (the column {header[j]!r} holds {texts[j]!r} there)",
            file=shown,
            row=first + i,
            column=header[j] or None,
            hint=f"put each table on a sheet of its own and set [{name}] sheet, or delete "
            "the second table",
        )


def _without_blank_rows(table: pa.Table, names: list[str]) -> tuple[pa.Table, list[int]]:
    """The rows with a value in some column, and the row numbers of those with none (a
    sheet's empty rows between its data, rejected as a CSV file's blank lines are)."""
    if not names or not table.num_rows:
        return table, []
    empty = None
    for col in names:
        text = pc.utf8_trim_whitespace(table.column(col))
        none = pc.fill_null(pc.equal(pc.utf8_length(text), 0), True)
        empty = none if empty is None else pc.and_(empty, none)
    if not pc.any(empty).as_py():
        return table, []
    blank = table.filter(empty).column(ROW).to_pylist()
    return table.filter(pc.invert(empty)), [int(r) for r in blank]


#: a merged range of a sheet: first row, first column, last row, last column (1-based)
Merge = tuple[int, int, int, int]
_MERGE_CELL = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)"')
#: how many rows the column names may take
_HEADER_MAX_ROWS = 4


def _needs_merges(header: list[str]) -> bool:
    """Whether a header row may be part of names over several rows: it has an empty name
    (a merged cell's others are empty) or a name twice."""
    filled = [h.lower() for h in header if h]
    return len(filled) < len(header) or len(set(filled)) < len(filled)


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _merged_ranges(path: str, sheet_xml: str | None) -> list[Merge]:
    """The merged ranges of a sheet, from its XML in the workbook (read in chunks; the
    list is at the end of the sheet). None known without the sheet's part name."""
    if not sheet_xml:
        return []
    found: list[Merge] = []
    try:
        for m in _sheet_matches(path, sheet_xml, _MERGE_CELL, 64):
            c0, r0, c1, r1 = m.groups()
            found.append((int(r0), _column_number(c0), int(r1), _column_number(c1)))
    except (OSError, KeyError, zipfile.BadZipFile):
        return []
    return found


def _sheet_matches(
    path: str, sheet_xml: str, pattern: re.Pattern[bytes], longest: int
) -> Iterator[re.Match[bytes]]:
    """The matches of ``pattern`` in a sheet's XML in the workbook, read in chunks of a MiB:
    the last ``longest`` bytes of a chunk (the longest tag sought) after its last match are
    read again with the next, so that a tag cut by the chunk's end is matched whole."""
    with zipfile.ZipFile(path) as z, z.open(sheet_xml.lstrip("/")) as f:
        tail = b""
        while chunk := f.read(1 << 20):
            text = tail + chunk
            last = 0
            for m in pattern.finditer(text):
                yield m
                last = m.end()
            tail = text[max(last, len(text) - longest) :]


_ROW_TAG = re.compile(rb"<(?:\w+:)?row\s[^>]*>")
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_ROW_HIDDEN = re.compile(rb'\shidden="(?:1|true)"')


def _hidden_rows(path: str, sheet_xml: str | None) -> np.ndarray:
    """The numbers of a sheet's hidden rows (hidden by hand or by a filter), from its XML
    in the workbook (read in chunks). None known without the sheet's part name."""
    found: list[int] = []
    if not sheet_xml:
        return np.zeros(0, np.int64)
    try:
        for m in _sheet_matches(path, sheet_xml, _ROW_TAG, 512):
            tag = m.group(0)
            if _ROW_HIDDEN.search(tag) and (number := _ROW_NUMBER.search(tag)):
                found.append(int(number.group(1)))
    except (OSError, KeyError, zipfile.BadZipFile):
        return np.zeros(0, np.int64)
    return np.unique(np.array(found, np.int64))


def is_shown(ws: Any) -> bool:
    """Whether Excel shows a sheet (neither hidden nor very hidden)."""
    return getattr(ws, "sheet_state", "visible") == "visible"


def first_sheet(wb: Any) -> Any:
    """The sheet read when no ``sheet`` is set: the workbook's first visible sheet, the one
    Excel shows first (a hidden or very hidden sheet holds old data or lookups, not the
    export); the first sheet when every sheet is hidden."""
    shown = [ws for ws in wb.worksheets if is_shown(ws)]
    return (shown or wb.worksheets)[0]


def default_sheet(path: str) -> str | int:
    """The title of the sheet read when no ``sheet`` is set (:func:`first_sheet`); 0, the
    first sheet, when the workbook cannot be opened."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True)
    except Exception:
        return 0
    try:
        return str(first_sheet(wb).title)
    finally:
        wb.close()


def _sheet_part(path: str, sheet: str | None) -> str | None:
    """The name of a sheet's XML part in the workbook (of the sheet read by default for None)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        return None
    try:
        ws = first_sheet(wb) if sheet is None else wb[sheet]
        return getattr(ws, "_worksheet_path", None)
    except KeyError:
        return None
    finally:
        wb.close()


def merged_header(
    rows: list[tuple[Any, ...]], head: int, width: int, merges: list[Merge], first: int
) -> tuple[int, int, list[str] | None]:
    """The rows holding the column names found in row ``head`` (start, end: indexes into
    ``rows``, end excluded) and, when they are more than one, the name of each column."""
    start, end = _header_block(rows, head, merges, first)
    if end - start == 1:
        return start, end, None
    return start, end, _block_names(rows, start, end, merges, first, width)


def _header_block(
    rows: list[tuple[Any, ...]], head: int, merges: list[Merge], first: int
) -> tuple[int, int]:
    """The rows (start, end: indexes into ``rows``, end excluded) holding the column names
    found in row ``head``: with the rows below it while a row's cells merged across columns
    have names under them, and with the row above it when that row's merged cells stand
    over a name the header row holds twice."""

    def across(i: int) -> list[Merge]:
        r = first + i
        return [m for m in merges if m[0] == r and m[3] > m[1]]

    def names_under(i: int, c0: int, c1: int) -> bool:
        # a name under each column the merged cell spans (a data row may fill some)
        return i < len(rows) and all(
            c <= len(rows[i]) and _cell_text(rows[i][c - 1]).strip() for c in range(c0, c1 + 1)
        )

    def names_only(i: int) -> bool:
        # sub-names are text: a row holding a number, a date or a flag is data
        return all(isinstance(c, str) or c is None for c in rows[i])

    start = head
    header = [_cell_text(c).strip().lower() for c in rows[head]]
    twice = {h for h in header if h and header.count(h) > 1}
    if head > 0 and twice:
        over = {
            c
            for m in across(head - 1)
            for c in range(m[1], m[3] + 1)
            if c <= len(header) and header[c - 1] in twice
        }
        if over:
            start = head - 1
    end = start + 1
    while end - start < _HEADER_MAX_ROWS and end < len(rows):
        spans = [m for m in across(end - 1) if m[2] == first + end - 1]
        if not names_only(end) or not any(names_under(end, m[1], m[3]) for m in spans):
            break
        end += 1
    return start, end


def _block_names(
    rows: list[tuple[Any, ...]], start: int, end: int, merges: list[Merge], first: int, width: int
) -> list[str]:
    """One name per column from the rows ``start`` to ``end`` (excluded): each cell's text,
    a merged cell's standing in every cell it covers, joined by a space (a text repeated
    down a column, as a cell merged down the rows gives, once)."""
    grid = [[_cell_text(c).strip() for c in rows[i]] for i in range(start, end)]
    for r0, c0, r1, c1 in merges:
        top = r0 - first - start
        if not 0 <= top < len(grid) or c0 > width:
            continue
        value = grid[top][c0 - 1]
        for i in range(top, min(r1 - first - start, len(grid) - 1) + 1):
            for c in range(c0, min(c1, width) + 1):
                grid[i][c - 1] = value
    names = []
    for j in range(width):
        parts: list[str] = []
        for row in grid:
            if row[j] and (not parts or parts[-1] != row[j]):
                parts.append(row[j])
        names.append(" ".join(parts))
    return names


def _sheet_columns(wb: Any) -> dict[str, list[str]]:
    """Each sheet's column names (found as for the sheet read, in its first rows), for a
    hint naming the sheet that holds a column missing from the one read."""
    out: dict[str, list[str]] = {}
    for ws in wb.worksheets:
        rows = [tuple(r) for r in ws.iter_rows(max_row=_HEADER_SEARCH_ROWS, values_only=True)]
        width = max((len(r) for r in rows), default=0)
        head = _header_index(rows, width) if rows else 0
        out[ws.title] = [t for c in rows[head] if (t := _cell_text(c).strip())] if rows else []
    return out


#: how far down a sheet the column names are looked for
_HEADER_SEARCH_ROWS = 30


def _header_index(rows: list[tuple[Any, ...]], width: int) -> int:
    """The index of the row holding the column names: the first of the first rows whose
    filled cells are all text (no number, date or flag) and fill at least half the width;
    0 when none does (the first row is the header, as without the search)."""
    need = max(2, (width + 1) // 2) if width > 1 else 1
    for i, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        filled = [c for c in row if c is not None and str(c).strip() != ""]
        if len(filled) >= need and all(isinstance(c, str) for c in filled):
            return i
    return 0


def _formulas_without_values(
    path: str, sheet: str | None, first: int, data: list[tuple[Any, ...]], names: list[str]
) -> list[tuple[int, str, str]]:
    """(data row index, column, formula) of each formula cell with no value saved, ``data``
    being the sheet's rows from row ``first`` (the row below the column names) on."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        ws = wb[sheet] if sheet else first_sheet(wb)
        found: list[tuple[int, str, str]] = []
        for i, row in enumerate(ws.iter_rows(min_row=first, values_only=True)):
            if i >= len(data):
                break
            for j, v in enumerate(row[: len(names)]):
                if isinstance(v, str) and v.startswith("=") and data[i][j] is None:
                    found.append((i, names[j], v))
        return found
    finally:
        wb.close()


# -- PostgreSQL ------------------------------------------------------------------------------------

#: a plain schema.table name, as ``tierwise init`` samples it
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
#: one part of a PostgreSQL table name: in double quotes (``""`` a quote inside), or as it is
_PG_PART = re.compile(r'\s*(?:"((?:[^"]|"")*)"|([^".]*))\s*')


def _postgres_table(text: str) -> tuple[list[str], str | None]:
    """The parts (schema, table) of a PostgreSQL table name as a person writes it, or why
    it cannot be read.

    A part is taken as written (case kept, spaces inside kept, spaces around dropped), or
    inside double quotes as psql prints a name (``public."Sales Lines"``, ``""`` for a
    quote). The engine quotes each part itself, so no name reaches the server as SQL.

    Examples
    --------
    >>> _postgres_table('public."Sales Lines"')
    (['public', 'Sales Lines'], None)
    >>> _postgres_table("Sales Lines")
    (['Sales Lines'], None)
    >>> _postgres_table('"sales.2024"')
    ([], 'a table name holding a dot is not read')
    """
    parts: list[str] = []
    pos = 0
    while True:
        m = _PG_PART.match(text, pos)
        if m is None:  # pragma: no cover - the pattern matches the empty text
            return [], "not a table name"
        quoted, plain = m.group(1), m.group(2)
        part = quoted.replace('""', '"') if quoted is not None else (plain or "").strip()
        if not part and quoted is None and text[m.end() : m.end() + 1] == '"':
            return [], "a double quote is not closed"
        if not part:
            return [], "a part of the name is empty"
        if "." in part:
            return [], "a table name holding a dot is not read"
        if "\x00" in part:
            return [], "a table name holding a NUL character is not read"
        parts.append(part)
        pos = m.end()
        if pos == len(text):
            break
        if text[pos] != ".":
            return [], f"unexpected {text[pos]!r} after {text[:pos].strip()!r}"
        pos += 1
    if len(parts) > 2:
        return [], "more than schema.table"
    return parts, None


def _read_postgres(name: str, url: str, ti: TableInput, engine: Engine) -> RawInput:
    shown = redact_url(url)
    table_name = ti.table or name
    parts, why = _postgres_table(table_name)
    if why is not None:
        raise InputError(
            f"table name {table_name!r} cannot be read: {why}",
            file=shown,
            hint=f"set [{name}] table to the table's name or schema.table, a part in double "
            'quotes as psql writes it (public."Sales Lines"); for a name holding a dot, '
            "read a view named without one",
        )
    try:
        table = engine.read_postgres(url, ".".join(parts))
    except SettingsError:
        raise
    except InputError as exc:
        raise InputError(exc.message, file=shown, column=exc.column, hint=exc.hint) from None
    except Exception as exc:
        cause: BaseException = exc.__cause__ or exc
        text = str(cause).strip() or type(cause).__name__
        msg = redact_text(" ".join(text.splitlines()[0].split()), url_secrets(url))[:300]
        raise InputError(
            f"cannot read table {table_name!r}: {msg}",
            file=shown,
            hint=f"check the URL, the server and [{name}] table",
        ) from None
    cols = [c for c in table.columns if c != ROW]
    _check_header(shown, cols)
    return RawInput(name, shown, table, source_columns=cols)


# -- review decisions ------------------------------------------------------------------------------


#: The columns of a decisions file, matched without regard to case or surrounding spaces.
_DECISION_HEADER = (*_DECISION_COLUMNS, "decided_by", "decided_at", "decided_at_as_written")


def _decision_header(path: str, t: pa.Table) -> pa.Table:
    """The decision columns under their own names, however the header cased or spaced them
    (``Left_ID``, `` decision``); other columns keep theirs."""
    names: list[str] = []
    seen: dict[str, str] = {}
    for raw in t.column_names:
        key = raw.lstrip("\ufeff").strip().lower()
        if key not in _DECISION_HEADER:
            names.append(raw.lstrip("\ufeff"))
            continue
        if key in seen:
            raise InputError(
                f"columns {seen[key]!r} and {raw!r} both name {key}",
                file=path,
                row=1,
                column=raw,
                hint="keep one of them",
            )
        seen[key] = raw
        names.append(key)
    return t.rename_columns(names)


def read_decisions(path: str | Path) -> pa.Table:
    """Read a review-decisions file (CSV or Parquet) as text columns.

    Header names of the decision columns are matched without regard to case or
    surrounding spaces (``Left_ID``, ``Decision``).

    Raises
    ------
    InputError
        The file is missing, unreadable, or lacks ``left_id``, ``right_id`` or ``decision``
        (the error names the file and the columns).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("left_id,right_id,decision\\n1,2,confirm\\n")
    >>> read_decisions(p).column("decision").to_pylist()
    ['confirm']
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(
            f"review decisions file {'is a folder' if p.is_dir() else 'not found'}",
            file=str(p),
            hint="fix [accounts] decisions_file or remove it",
        )
    if p.suffix.lower() in {".parquet", ".pq"}:
        import pyarrow.parquet as pq

        try:
            t = pq.read_table(p)
        except Exception as exc:
            raise InputError("not a readable Parquet file", file=str(p)) from exc
        # text columns as from a CSV; nested columns (none is a decision field) are left out
        flat = [f.name for f in t.schema if not pa.types.is_nested(f.type)]
        t = t.select(flat).cast(pa.schema([(n, pa.string()) for n in flat]))
    else:
        dialect = sniff_csv(str(p))
        names = _check_header(str(p), dialect.header)
        try:
            t = pacsv.read_csv(
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
    t = _decision_header(str(p), t)
    missing = [c for c in _DECISION_COLUMNS if c not in t.column_names]
    if missing:
        raise InputError(
            f"the review decisions file lacks the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}",
            file=str(p),
            hint="pass back the review_queue.csv tierwise wrote, with its decision column "
            "filled in (it needs left_id, right_id and decision)",
        )
    return t
