"""The dataframe engine: the one place that knows DuckDB from Spark.

Stage code builds Ibis expressions; this module creates the connection, registers inputs,
and executes expressions. The few operations whose spelling differs by engine (forgiving
date parsing, reading a file with its row numbers) live here as methods, so stage code stays
portable.

Example
-------
>>> import pyarrow as pa
>>> eng = Engine()
>>> t = eng.from_arrow(pa.table({"x": [1, 2, 3]}), "demo_x")
>>> eng.to_arrow(t.x.sum().name("total").as_table()).column("total")[0].as_py()
6
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from ._threads import machine_cores
from .errors import EngineError, InputError, SettingsError, TierwiseError
from .settings.run import MIN_MEMORY_LIMIT, size_bytes

try:  # POSIX: a private folder's lock tells a live run's folder from a killed run's
    import fcntl
except ImportError:  # pragma: no cover - Windows: folders are removed by close only
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from .settings.run import RunSettings

__all__ = [
    "ROW",
    "CsvScan",
    "Engine",
    "engine_message",
    "exact_sum",
    "fetch",
    "floor_int",
    "not_finite",
]

#: Name of the column that carries each input row's number as the user sees it.
ROW = "_row"

_names = itertools.count()

#: Sums of money and quantities are taken in exact decimal arithmetic (this many digits after
#: the point) and turned back into float64: a float sum depends on the order the engine's
#: threads add the lines in, so it could differ in the last bits from one run to the next.
_SUM_TYPE = dt.Decimal(38, 9)
#: The in-memory database that holds the tables :meth:`Engine.materialize` makes (DuckDB)
_STORE = "tw_store"
#: The database file, in the engine's private spill folder, that holds the input-sized
#: tables :meth:`Engine.materialize` makes with ``large=True`` (DuckDB)
_LINES = "tw_lines"
#: Both databases of kept tables: a name is dropped from either
_KEPT_IN = (_STORE, _LINES)
#: The same sums in 18 digits (a 64-bit integer, several times cheaper to convert to and add
#: than 38 digits) where every value summed is below :data:`NARROW_SUM_LIMIT` in magnitude:
#: a value's 9-decimal form then has at most 17 digits and is the same number in either
#: type, so the sum is the same exact sum (see :func:`sums_fit_narrow`).
_NARROW_SUM_TYPE = dt.Decimal(18, 9)
#: below this magnitude a float's exact sum may be taken in :data:`_NARROW_SUM_TYPE`
NARROW_SUM_LIMIT = 1e8


def _local_path(name: str) -> str:
    """A file's path from the name an engine gives it: Spark's ``file:`` URL decoded, a
    DuckDB path as it is."""
    if name.startswith("file:"):
        from urllib.parse import unquote, urlparse

        return unquote(urlparse(name).path)
    return name


def exact_sum(
    x: ir.NumericValue, *, keep_exact: bool = False, narrow: bool = False
) -> ir.NumericScalar:
    """Sum of a float column that does not depend on the order the engine adds the rows in.

    With ``keep_exact`` the sum stays an exact decimal, for a partial sum that a second
    aggregation adds up again (``exact_sum`` of those partials is the same exact sum).

    ``narrow``: each value is converted to 18 digits instead of 38, which is faster and gives
    the same sum, but only where every value of ``x`` is below :data:`NARROW_SUM_LIMIT` in
    magnitude, as :func:`sums_fit_narrow` finds out (a larger value fails the query or,
    on Spark, is lost).

    Examples
    --------
    >>> import pyarrow as pa
    >>> eng = Engine()
    >>> t = eng.from_arrow(pa.table({"x": [0.1, 0.2, 0.3]}))
    >>> eng.scalar(exact_sum(t.x))
    0.6
    """
    total = x.cast(_NARROW_SUM_TYPE if narrow else _SUM_TYPE).sum()
    if keep_exact:
        # 38 digits whatever the values were converted to (Spark sums 18 digits into 28)
        return total.cast(_SUM_TYPE) if narrow else total
    return total.cast("float64")


def sums_fit_narrow(t: ir.Table, values: Sequence[ir.NumericValue], what: str) -> bool:
    """Whether every value of each expression over ``t`` is below :data:`NARROW_SUM_LIMIT`
    in magnitude (NULLs aside), so that :func:`exact_sum` may take them ``narrow`` (one
    query). NaN and infinity are not below it.

    Examples
    --------
    >>> import pyarrow as pa
    >>> eng = Engine()
    >>> t = eng.from_arrow(pa.table({"x": [1.5, -99_999_999.0, None], "y": [1e8, 0.0, 0.0]}))
    >>> sums_fit_narrow(t, [t.x], "x"), sums_fit_narrow(t, [t.x, t.y], "x and y")
    (True, False)
    """
    if not values:
        return True
    # a flag per value rather than the largest magnitude: NaN is not below the limit on
    # either engine, whatever each makes of a maximum with a NaN in it
    checks = {
        f"_big{i}": ibis.ifelse(v.isnull() | (v.abs() < NARROW_SUM_LIMIT), 0, 1).max()
        for i, v in enumerate(values)
    }
    row = fetch(t.aggregate(**checks), f"the range of {what}").to_pylist()[0]
    return not any(row.values())


def fetch(expr: ir.Table, what: str = "table") -> pa.Table:
    """Execute an expression on the engine that holds its tables and return it as Arrow.

    Every query a stage runs goes through here (or :meth:`Engine.to_arrow`, which is this):
    a failure of the engine is re-raised as :class:`EngineError` naming ``what`` (the table
    and the operation), and an error tierwise raised itself passes through unchanged.
    """
    try:
        return expr.to_pyarrow()
    except TierwiseError:
        raise
    except Exception as exc:
        raise EngineError(f"the engine failed computing {what}: {engine_message(exc)}") from exc


@ibis.udf.scalar.builtin(name="floor")
def _floor(x: float) -> float:  # type: ignore[empty-body]
    """The engine's FLOOR, without the cast to an integer that Ibis's ``floor()`` adds."""


@ibis.udf.scalar.builtin(name="isfinite")
def _duckdb_isfinite(x: float) -> bool:  # type: ignore[empty-body]
    """DuckDB's test of a finite number (false for NaN and infinity, NULL for NULL)."""


def not_finite(x: ir.FloatingValue, backend: str) -> ir.BooleanValue:
    """Whether a float is NaN or infinite (NULL for NULL), on the engine ``backend``.

    DuckDB takes a Parquet column's statistics to say it holds no NaN (Arrow's writer leaves
    NaN out of them) and folds ``isnan()`` to false, so a NaN read from such a file passed
    every check; its ``isfinite`` is not folded. Spark's infinity is told by comparison.

    Examples
    --------
    >>> import pyarrow as pa
    >>> eng = Engine()
    >>> t = eng.from_arrow(pa.table({"x": [1.0, float("nan"), float("inf"), None]}))
    >>> eng.to_arrow(t.select(y=not_finite(t.x, "duckdb"))).column("y").to_pylist()
    [False, True, True, None]
    """
    if backend == "duckdb":
        return ~_duckdb_isfinite(x)  # type: ignore[no-any-return]
    # Ibis writes isinf() on Spark as a constant false: an infinity (1e400 read from text)
    # is caught as a value beyond the largest double
    return x.isnan() | x.isinf() | (x.abs() > sys.float_info.max)


def floor_int(x: ir.FloatingValue) -> ir.IntegerValue:
    """The integer at or below a float; NULL where there is none (NaN, infinity, beyond
    int64).

    DuckDB takes a Parquet column's statistics to say it holds no NaN (Arrow's writer leaves
    NaN out of them), folds ``isnan()`` to false, and a cast of the NaN then fails the
    whole query, even where an ifelse leaves its row out: only a ``try_cast`` is safe.

    Examples
    --------
    >>> import pyarrow as pa
    >>> eng = Engine()
    >>> t = eng.from_arrow(pa.table({"x": [2.5, -2.5, float("nan")]}))
    >>> eng.to_arrow(t.select(y=floor_int(t.x))).column("y").to_pylist()
    [2, -3, None]
    """
    return _floor(x).try_cast("int64")  # type: ignore[no-any-return]


@ibis.udf.scalar.builtin(name="try_strptime")
def _duckdb_try_strptime(s: str, fmt: str) -> dt.timestamp:  # type: ignore[empty-body]
    """DuckDB's forgiving parser: NULL where the text does not match the format."""


@ibis.udf.scalar.builtin(name="try_to_timestamp")
def _spark_try_to_timestamp(s: str, fmt: str) -> dt.timestamp:  # type: ignore[empty-body]
    """Spark's forgiving parser: NULL where the text does not match the format."""


@ibis.udf.scalar.builtin(name="timezone")
def _duckdb_timezone(  # type: ignore[empty-body]
    zone: str,
    ts: dt.Timestamp(timezone="UTC"),  # type: ignore[valid-type]
) -> dt.timestamp:
    """DuckDB's wall-clock time of an instant in a named time zone (ICU)."""


@ibis.udf.scalar.builtin(name="from_utc_timestamp")
def _spark_from_utc_timestamp(ts: dt.timestamp, zone: str) -> dt.timestamp:  # type: ignore[empty-body]
    """Spark's instant shifted to its wall-clock time in a zone (read in a UTC session)."""


#: a fixed offset from UTC as Arrow writes a zone ("+01:00", "-0530")
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")

#: the file in each of the engine's private folders that its process keeps locked
_LOCK_FILE = ".tierwise-lock"


def _sweep_private(parent: str) -> None:
    """Remove the private folders in ``parent`` that a killed run left behind.

    A folder is removed only when it is named as the engine names its folders, belongs to
    this user, and holds the lock file that no process holds any more (the kernel drops a
    process's locks when it dies, however it died: a run stopped by the out-of-memory killer
    leaves its spill files, up to the size of its data). A folder without the lock file,
    or whose lock is held, is left alone.
    """
    if fcntl is None:  # pragma: no cover - Windows
        return
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith("tierwise-"):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat().st_uid != os.getuid():
                continue
            fd = os.open(os.path.join(entry.path, _LOCK_FILE), os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a live run's folder
            os.close(fd)
            continue
        try:
            shutil.rmtree(entry.path, ignore_errors=True)
        finally:
            os.close(fd)


def _private_folder(prefix: str, parent: str | None) -> tuple[str, int | None]:
    """Make a private folder (``mkdtemp``) and lock it for this process's lifetime.

    Returns the folder and the open lock file (``None`` where locks are not available); the
    lock file is locked under a temporary name and then renamed into place, so that a sweep
    never sees the lock file unlocked. Folders killed runs left in ``parent`` are swept
    first.
    """
    parent = parent or tempfile.gettempdir()
    _sweep_private(parent)
    path = tempfile.mkdtemp(prefix=prefix, dir=parent)
    if fcntl is None:  # pragma: no cover - Windows
        return path, None
    staging = os.path.join(path, _LOCK_FILE + ".new")
    fd = os.open(staging, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.replace(staging, os.path.join(path, _LOCK_FILE))
    return path, fd


def _remove_private(path: str, fd: int | None) -> None:
    """Remove a private folder, then release its lock."""
    shutil.rmtree(path, ignore_errors=True)
    if fd is not None:
        with suppress(OSError):
            os.close(fd)


@dataclass(frozen=True)
class CsvScan:
    """The records of a CSV file parsed in the engine, before they are numbered."""

    #: engine table of the records that parsed, every column text, in file order, its
    #: columns named by position (:attr:`stored`)
    table: str
    #: the names of the file's header
    columns: tuple[str, ...]
    rows: int
    #: records the parser refused: line_byte_position (where the record's line starts),
    #: error_type, csv_line (its text), error_message
    rejects: pa.Table

    @property
    def stored(self) -> tuple[str, ...]:
        """The columns' names in :attr:`table` (``c1``, ``c2`` …): a header's name cannot
        hide an engine's own (DuckDB's ``rowid``) while the lines are numbered."""
        return tuple(f"c{i}" for i in range(1, len(self.columns) + 1))


def _refuse_row_column(columns: Iterable[str], what: str) -> None:
    """Stop when an input has a column named ``_row`` (in any case): the name the record
    numbers take, which a column of the user's must not replace."""
    clash = [c for c in columns if c.lower() == ROW]
    if clash:
        raise InputError(
            f"column {clash[0]!r} has the name tierwise gives the record numbers",
            file=what,
            column=clash[0],
            hint="rename the column; for a database table, read a view that renames it",
        )


def _numbered_stream(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """``reader``'s batches with ``_row``, each record's 1-based position in the stream."""
    schema = reader.schema.append(pa.field(ROW, pa.int64()))

    def batches() -> Iterator[pa.RecordBatch]:
        start = 1
        for batch in reader:
            n = batch.num_rows
            rows = pa.array(np.arange(start, start + n, dtype=np.int64))
            yield pa.RecordBatch.from_arrays([*batch.columns, rows], schema=schema)
            start += n

    return pa.RecordBatchReader.from_batches(schema, batches())


#: a PostgreSQL relation's columns in order: name, whether it is a timestamptz, and its place
#: in the primary key (NULL outside it); no rows when the relation does not exist
_PG_COLUMNS = """
SELECT a.attname,
       a.atttypid = 'timestamptz'::regtype,
       (SELECT array_position(i.indkey::int2[], a.attnum)
          FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary)
  FROM pg_attribute a
 WHERE a.attrelid = to_regclass({rel}) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum
"""


def _postgres_select(table: str, columns: Sequence[tuple[str, bool, int | None]]) -> str:
    """The query reading a PostgreSQL relation (``table`` quoted) in a fixed order.

    ``columns`` are (name, is a timestamptz, place in the primary key). The rows are ordered
    by the primary key, or (a view, a table without one) by the text of every column from
    left to right; a ``timestamptz`` is read as the wall-clock time in the session's
    TimeZone. With no columns (no such relation) the query lets the server say so.

    Examples
    --------
    >>> print(_postgres_select('"t"', [("id", False, 1), ("name", False, None)]))
    SELECT tw_src."id", tw_src."name" FROM "t" AS tw_src ORDER BY tw_src."id"
    """
    if not columns:
        return f"SELECT * FROM {table}"
    items = [
        f"(tw_src.{_sql_name(n)} AT TIME ZONE current_setting('TimeZone')) AS {_sql_name(n)}"
        if zoned
        else f"tw_src.{_sql_name(n)}"
        for n, zoned, _ in columns
    ]
    keys = sorted((k, n) for n, _, k in columns if k is not None)
    order = (
        [f"tw_src.{_sql_name(n)}" for _, n in keys]
        if keys
        else [f'tw_src.{_sql_name(n)}::text COLLATE "C"' for n, _, _ in columns]
    )
    return f"SELECT {', '.join(items)} FROM {table} AS tw_src ORDER BY {', '.join(order)}"


#: DuckDB's out-of-memory error: what failed, and the limit in "(used/limit used)"
_OUT_OF_MEMORY = re.compile(
    r"Out of Memory Error: (?P<what>[^\n(]*?)\s*(?:\([^/)]*/(?P<limit>[^)]*?) used\))?\s*(?:\n|$)"
)

#: A write to the engine's spill folder that found the disk full (DuckDB's words)
_DISK_FULL = re.compile(r'Could not write file "(?P<file>[^"]*)": No space left on device')


def engine_message(exc: BaseException) -> str:
    r"""An engine's error in one line: a Java exception from Spark without its stack trace
    (the first line that says what went wrong), anything else with its whitespace folded.

    Examples
    --------
    >>> engine_message(RuntimeError("An error occurred while calling o7.parquet.\n"
    ...     ": java.io.IOException: No FileSystem for scheme: s3\n\tat org.apache.X(X.java:1)"))
    'java.io.IOException: No FileSystem for scheme: s3'
    >>> print(engine_message(RuntimeError("Out of Memory Error: failed to allocate data of "
    ...     "size 16.0 KiB (16.0 KiB/1000 bytes used)\n\nPossible solutions:\n* Increasing "
    ...     "the memory limit (SET memory_limit='...GB')")))  # doctest: +NORMALIZE_WHITESPACE
    the engine ran out of memory (failed to allocate data of size 16.0 KiB); raise [run]
    memory_limit (now 1000 bytes) or free memory
    >>> print(engine_message(RuntimeError('IO Error: Checkpoint failed for database "tw_store". '
    ...     'Original error: Could not write file "/tmp/tierwise-spill-x/t.tmp": No space '
    ...     "left on device")))  # doctest: +NORMALIZE_WHITESPACE
    the disk of the engine's spill folder is full (writing /tmp/tierwise-spill-x/t.tmp); set
    [run] temp_directory to a folder on a disk with more room, or free space there
    """
    text = str(exc)
    full = _DISK_FULL.search(text)
    if full is not None:
        return (
            f"the disk of the engine's spill folder is full (writing {full['file']}); set "
            "[run] temp_directory to a folder on a disk with more room, or free space there"
        )
    oom = _OUT_OF_MEMORY.search(text)
    if oom is not None:
        # DuckDB's advice is SQL (SET memory_limit=…); say it in the settings' terms
        limit = f" (now {oom['limit']})" if oom["limit"] else ""
        return (
            f"the engine ran out of memory ({' '.join(oom['what'].split())}); raise [run] "
            f"memory_limit{limit} or free memory"
        )
    lines = [line.strip() for line in text.splitlines()]
    said = [
        line.lstrip(": ").strip()
        for line in lines
        if line
        and not line.startswith(
            ("at ", "... ", "An error occurred while calling", "JVM stacktrace")
        )
    ]
    return " ".join((said[0] if said else str(exc)).split())[:500]


def _said(exc: BaseException) -> str:
    r"""An engine's error as it is, but an out-of-memory or full-disk one in the settings'
    terms, and a Java exception from Spark in one line, without its stack trace.

    Example
    -------
    >>> _said(RuntimeError("[FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH] Error while "
    ...     "reading file part-1.parquet.\n\tat org.apache.spark.X(X.scala:1)\n"
    ...     "JVM stacktrace:\norg.apache.spark.SparkException"))
    '[FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH] Error while reading file part-1.parquet.'
    """
    text = str(exc)
    if _OUT_OF_MEMORY.search(text) or _DISK_FULL.search(text) or _JAVA_TRACE.search(text):
        return engine_message(exc)
    return text


#: a Java stack trace in an error's text (Spark's)
_JAVA_TRACE = re.compile(r"\n\s*at [\w$.]+\(|JVM stacktrace:")


#: jemalloc's index meaning "every arena" (``MALLCTL_ARENAS_ALL``)
_ALL_ARENAS = 4096

#: purges :meth:`Engine.give_back_memory` tries, a few milliseconds apart
_PURGE_TRIES = 20

#: blocks of the database file that :meth:`Engine.give_back_memory` leaves in DuckDB's
#: buffer pool at most; bytes
_CACHED_BLOCKS_LEFT = 2**20


def _dirty_pages(mallctl: Any) -> int:
    """Freed pages jemalloc still holds in every arena (``pdirty``), as of now; -1 when the
    statistics cannot be read."""
    epoch, size = ctypes.c_uint64(1), ctypes.c_size_t(8)
    # statistics are read as of the last epoch: start a new one
    mallctl(b"epoch", ctypes.byref(epoch), ctypes.byref(size), ctypes.byref(epoch), 8)
    pages = ctypes.c_size_t(0)
    name = f"stats.arenas.{_ALL_ARENAS}.pdirty".encode()
    if mallctl(name, ctypes.byref(pages), ctypes.byref(size), None, 0) != 0:
        return -1
    return int(pages.value)


@functools.cache
def _duckdb_mallctl() -> Any:
    """``mallctl`` of the jemalloc that DuckDB's Python module carries (its symbols prefixed
    ``duckdb_je_``, on Linux), or ``None`` where it has none."""
    module = sys.modules.get("_duckdb") or sys.modules.get("duckdb.duckdb")
    path = getattr(module, "__file__", None)
    if path is None or not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(path).duckdb_je_mallctl
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_int
    fn.argtypes = [
        ctypes.c_char_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_size_t,
    ]
    return fn


def memory_available() -> int:
    """Bytes of memory this process may use: the machine's physical memory, or the
    container's limit (cgroup v2 ``memory.max``, v1 ``memory.limit_in_bytes``) when lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit in (
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ):
        try:
            text = Path(limit).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total = int(text)
    return int(total)


#: Shuffle partitions per core of a local Spark master tierwise starts (see _local_cores).
SHUFFLE_PARTITIONS_PER_CORE = 4


def _persistent_rdds(session: Any) -> set[int]:
    """The ids of the RDDs a Spark session's executors keep (cached or checkpointed)."""
    try:
        return {int(i) for i in session.sparkContext._jsc.getPersistentRDDs().keySet()}
    except Exception:  # pragma: no cover - a session that cannot say frees nothing
        return set()


def _checkpoint_rdds(df: Any, new: set[int]) -> list[int]:
    """The RDD a checkpointed DataFrame reads (the one its plan names), which its
    checkpoint keeps on the executors; where the plan does not say, the RDDs kept since
    the checkpoint began (``new``), which a job of another thread of the session may have
    added too."""
    try:
        rdd_id = int(df._jdf.queryExecution().logical().rdd().id())
    except Exception:
        return sorted(new)
    return [rdd_id]


def _unpersist_rdds(session: Any, ids: Sequence[int]) -> None:
    """Free the executors' copies of the RDDs ``ids`` (best effort: one freed already, or
    gone with its session, is no error)."""
    if not ids:
        return
    with suppress(Exception):
        kept = session.sparkContext._jsc.getPersistentRDDs()
        for i in ids:
            rdd = kept.get(i)
            if rdd is not None:
                rdd.unpersist(False)


#: Seconds a standalone Spark master has to answer before a run gives up on it.
MASTER_TIMEOUT = 5.0


def check_master(master: str | None, timeout: float = MASTER_TIMEOUT) -> None:
    """Stop with one line when a standalone master (``spark://host:port``, or several
    hosts for high availability) cannot be reached: no host answers a connection within
    ``timeout`` seconds. Spark itself would retry for a minute, printing its stack traces.
    Any other master is left to Spark.

    Examples
    --------
    >>> check_master("local[2]"), check_master("yarn")
    (None, None)
    >>> try:
    ...     check_master("spark://nohost.invalid:7077")
    ... except EngineError as exc:
    ...     print(str(exc).split(";")[0])
    cannot reach the Spark master at nohost.invalid:7077 (unknown host)
    """
    import socket

    if not master or not master.startswith("spark://"):
        return
    why: list[str] = []
    hosts = [h.strip() for h in master[len("spark://") :].split(",") if h.strip()]
    for host in hosts:
        name, _, port = host.rpartition(":") if ":" in host else (host, "", "7077")
        try:
            with socket.create_connection((name.strip("[]"), int(port or 7077)), timeout):
                return
        except socket.gaierror:
            why.append(f"{host} (unknown host)")
        except ValueError:
            why.append(f"{host} (not host:port)")
        except TimeoutError:
            why.append(f"{host} (no answer within {timeout:g} s)")
        except OSError as exc:
            why.append(f"{host} ({exc.strerror or exc})")
    raise EngineError(
        f"cannot reach the Spark master at {', '.join(why) or master}; check [run] "
        "spark_master, and that the master runs and this machine may reach it"
    )


def _local_cores(master: str | None, threads: int | None) -> int | None:
    """The cores of the local Spark master ``master`` (``local``, ``local[4]``,
    ``local[*]``, ``local[4,2]``; None gives ``local[threads]``), or None for a cluster.

    Examples
    --------
    >>> _local_cores("local[3]", None), _local_cores("local", None), _local_cores(None, 2)
    (3, 1, 2)
    >>> _local_cores("spark://host:7077", 2) is None, _local_cores("local-cluster[2,1,1024]", 2)
    (True, None)
    """
    if master is None:
        return threads or machine_cores()
    m = re.fullmatch(r"local(?:\[\s*(\*|\d+)\s*(?:,\s*\d+\s*)?\])?", master.strip())
    if m is None:
        return None
    if m.group(1) is None:
        return 1
    return machine_cores() if m.group(1) == "*" else max(1, int(m.group(1)))


def default_memory_limit() -> str:
    """DuckDB's memory cap when ``[run] memory_limit`` is not set: a quarter of
    :func:`memory_available`, in MiB. DuckDB's own default, 80%, leaves too little for the
    customer-sized work done in Python (model fits, the coverage menu, the cross-sell
    lists), and the process is killed instead of DuckDB writing to disk: on the
    1,000,000-customer demo, a run under half of 24 GiB was killed in the coverage stage,
    and one under a quarter finished with a peak of 18.4 GiB, its stages before coverage
    no slower.

    Examples
    --------
    >>> default_memory_limit().endswith("MiB")
    True
    """
    return f"{max(memory_available() // 4 // 2**20, 256)}MiB"


def _spark_session_of(obj: Any) -> Any:
    """The SparkSession of a Spark DataFrame (classic or Spark Connect); None otherwise."""
    if type(obj).__module__.split(".")[0] != "pyspark":
        return None
    return getattr(obj, "sparkSession", None)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_name(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


#: strftime codes in Spark's spelling: the short letter reads one or two digits (``d`` reads
#: "5" and "05", as DuckDB's ``%d`` does), the long one exactly that many
_JAVA_CODES = {
    "%Y": ("yyyy", "yyyy"),
    "%m": ("M", "MM"),
    "%d": ("d", "dd"),
    "%-m": ("M", "MM"),
    "%-d": ("d", "dd"),
    "%H": ("H", "HH"),
    "%-H": ("H", "HH"),
    "%M": ("m", "mm"),
    "%-M": ("m", "mm"),
    "%S": ("s", "ss"),
    "%-S": ("s", "ss"),
    "%y": ("yy", "yy"),
    "%b": ("MMM", "MMM"),
    "%h": ("MMM", "MMM"),
    "%B": ("MMMM", "MMMM"),
    "%j": ("D", "DDD"),
    "%f": ("SSSSSS", "SSSSSS"),
}
#: the first year a two-digit year (``%y``) is not read as: DuckDB and Python's strptime
#: read 69–99 as 1969–1999 and 00–68 as 2000–2068
_PIVOT_YEAR = 2069
#: the codes that write digits: two of them side by side ("%Y%m%d") have no separator to
#: end the first, so each is read at its full width there
_DIGIT_CODES = frozenset(c for c in _JAVA_CODES if c not in ("%b", "%h", "%B"))


def _strftime_to_java(fmt: str) -> str:
    """Translate the strftime codes tierwise accepts into Spark's datetime pattern.

    A day, month, hour, minute or second reads one or two digits, as on DuckDB ("5.3.2024"
    with ``%d.%m.%Y``), unless it touches another code that writes digits ("%Y%m%d"), where
    it reads exactly two. Spark parses no weekday name: a format with ``%a`` or ``%A`` is
    refused, naming it.

    Examples
    --------
    >>> _strftime_to_java("%d.%m.%Y %H:%M")
    'd.M.yyyy H:m'
    >>> _strftime_to_java("%Y%m%d")
    'yyyyMMdd'
    """
    tokens, i = [], 0
    while i < len(fmt):
        code = fmt[i : i + 3] if fmt[i : i + 2] == "%-" else fmt[i : i + 2]
        if code in ("%a", "%A"):
            raise SettingsError(
                f"date format {fmt!r}: Spark cannot read a weekday name ({code}); run on "
                "DuckDB (--engine duckdb) or export the dates without the weekday"
            )
        if code in _JAVA_CODES:
            tokens.append(code)
            i += len(code)
        else:
            tokens.append(fmt[i])
            i += 1
    out = []
    for k, token in enumerate(tokens):
        if token not in _JAVA_CODES:
            out.append(f"'{token}'" if token.isalpha() else token)
            continue
        short, full = _JAVA_CODES[token]
        beside = tokens[max(k - 1, 0) : k] + tokens[k + 1 : k + 2]
        out.append(full if any(t in _DIGIT_CODES for t in beside) else short)
    return "".join(out)


#: Spark's setting that reads a nanosecond timestamp in Parquet as a long
_NANOS_AS_LONG = "spark.sql.legacy.parquet.nanosAsLong"

#: whether Spark reads a Hive partition folder's values (customer_id=00042) as numbers
#: and dates where they look like one, or as text
_PARTITION_TYPES = "spark.sql.sources.partitionColumnTypeInference.enabled"


@contextmanager
def _spark_conf(session: Any, key: str, value: str) -> Iterator[None]:
    """The session's ``key`` set to ``value`` for the duration, then as it was."""
    before = session.conf.get(key, None)
    session.conf.set(key, value)
    try:
        yield
    finally:
        if before is None:
            session.conf.unset(key)
        else:
            session.conf.set(key, before)


#: the names of the temporary views Splink (``__splink__…``) and Ibis (a memtable's,
#: ``ibis_pyarrow_memtable_…``) make on a Spark session
_LIBRARY_VIEWS = re.compile(r"__splink__|ibis_[a-z]+_memtable_")


def _library_views(session: Any) -> set[str] | None:
    """The names of the session's temporary views Splink and Ibis made; None when the
    catalog cannot be listed (a catalog the user may not list, a connection lost): the
    views are then left as they are."""
    try:
        listed = session.catalog.listTables(pattern="__splink__*|ibis_*_memtable_*")
    except Exception:
        return None
    return {t.name for t in listed if t.isTemporary and _LIBRARY_VIEWS.match(t.name)}


#: the loggers PySpark writes each query error it raises to, as JSON with the whole query
#: plan and Java stack (hundreds of kilobytes), on standard error of their own
_SPARK_QUERY_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")


def _silence_spark_query_logs() -> list[tuple[Any, bool]]:
    """Switch off PySpark's query-error loggers; return each with its former state.

    A query error tierwise acts on (a training pass of duplicate detection that cannot
    train, a probe) is not the user's to read, and one that stops the run reaches them as
    one line naming what failed; PySpark would write either to the screen as it is raised.
    """
    from pyspark.logger import PySparkLogger

    loggers = [PySparkLogger.getLogger(name) for name in _SPARK_QUERY_LOGGERS]
    before = [(lg, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    return before


def _nanosecond_columns(files: Sequence[str]) -> set[str]:
    """The columns that the Parquet files among ``files`` on this machine store as
    timestamps in nanoseconds (pandas' and pyarrow's default), from their footers."""
    import pyarrow.parquet as pq

    found: set[str] = set()
    for f in files:
        if not Path(f).is_file():
            continue
        try:
            schema = pq.read_schema(f)
        except Exception:  # not Parquet: Spark's read says so
            continue
        found.update(
            field.name
            for field in schema
            if pa.types.is_timestamp(field.type) and field.type.unit == "ns"
        )
    return found


def _storage_types(table: pa.Table) -> pa.Table:
    """``table`` with every Arrow extension column as its storage type: drivers hand some
    database types over as extensions (ADBC's PostgreSQL ``numeric`` is an opaque
    extension stored as text), which Spark cannot take."""
    for i, field in enumerate(table.schema):
        if isinstance(field.type, pa.BaseExtensionType):
            col = table.column(i)
            plain = pa.chunked_array([c.storage for c in col.chunks], field.type.storage_type)
            table = table.set_column(i, pa.field(field.name, plain.type), plain)
    return table


#: what a JVM started for Spark writes on its standard error that no user acts on: Java's
#: notice of the vector module Spark's launcher always adds
_JVM_NOTES = (b"WARNING: Using incubator modules:",)


#: a line of a Java stack trace's head that says what went wrong ("Exception in thread
#: "main" org.apache.spark.SparkException: Master must either be yarn or …")
_JVM_CAUSE = re.compile(rb"(?:Exception|Error)(?: in thread \"[^\"]*\")?[\w.$]*: (.+)")


#: what the Java launcher writes after any failure to start
_JVM_GENERIC = ("Could not create the Java Virtual Machine", "A fatal exception has occurred")


class _JvmStderr:
    """The JVM's standard error as the pipe of :func:`_jvm_stderr_without_notes` passes it
    on: while ``holding``, its lines are kept back (a start that fails shows its cause in
    one line, not a stack trace); :meth:`release` writes them and passes the rest."""

    def __init__(self, out: int | None, holding: bool) -> None:
        self.out = out
        self.holding = holding
        self.held: list[bytes] = []
        self.lock = threading.Lock()
        self.reader: threading.Thread | None = None

    def write(self, line: bytes) -> None:
        with self.lock:
            if self.holding:
                self.held.append(line)
            elif self.out is not None:
                # the reading goes on whatever happens to a write, so that the process
                # never blocks on a full pipe
                with suppress(OSError):
                    os.write(self.out, line)

    def release(self) -> None:
        """Write the lines kept back, and pass every later one."""
        with self.lock:
            if self.out is not None:
                for line in self.held:
                    with suppress(OSError):
                        os.write(self.out, line)
            self.held = []
            self.holding = False

    def cause(self, wait: float = 2.0) -> str | None:
        """What the lines kept back say went wrong (the last exception's message), once
        the process has ended (waiting up to ``wait`` seconds for its last lines)."""
        if self.reader is not None:
            self.reader.join(timeout=wait)
        with self.lock:
            lines = [
                " ".join(line.decode("utf-8", "replace").split())
                for line in self.held
                if line.strip() and not line[:1].isspace()
            ]
        # the launcher's closing words say only that the JVM did not start
        lines = [ln for ln in lines if not any(g in ln for g in _JVM_GENERIC)]
        for line in lines:
            found = _JVM_CAUSE.search(line.encode())
            if found:
                return found.group(1).decode()[:300]
        # a line of the JVM's own ("Invalid maximum heap size: -Xmxlots"), not a log's
        plain = [ln for ln in lines if not re.search(r"\b(?:WARN|INFO|DEBUG)\b", ln)]
        return plain[0][:300] if plain else None


@contextmanager
def _jvm_stderr_without_notes(hold: bool = False) -> Iterator[_JvmStderr]:
    """While in the block, a process started (the JVM Spark runs in) writes its standard
    error through a pipe that passes every line on to this process's standard error but
    the notes of ``_JVM_NOTES`` (or, with ``hold``, keeps them back until the object
    yielded is released). The pipe is read by a thread until the process closes it;
    Python's own standard error is itself again when the block ends."""
    if os.name != "posix":
        yield _JvmStderr(None, holding=False)
        return
    try:
        out = os.dup(2)
    except OSError:
        yield _JvmStderr(None, holding=False)
        return
    try:
        read_end, write_end = os.pipe()
    except OSError:
        os.close(out)
        yield _JvmStderr(None, holding=False)
        return
    jvm = _JvmStderr(out, holding=hold)

    def forward() -> None:
        try:
            with os.fdopen(read_end, "rb") as lines:
                for line in lines:
                    if line.startswith(_JVM_NOTES):
                        continue
                    jvm.write(line)
        finally:
            with jvm.lock:
                jvm.out = None
                os.close(out)

    jvm.reader = threading.Thread(target=forward, name="tierwise-jvm-stderr", daemon=True)
    jvm.reader.start()
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield jvm
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


class Engine:
    """A connection to the dataframe engine.

    Parameters
    ----------
    backend
        ``"duckdb"`` (in-process, the default) or ``"spark"``.
    threads, memory_limit
        Engine resources; ``threads=None`` uses every core. ``memory_limit`` (DuckDB only)
        caps DuckDB's memory, e.g. ``"8GB"``; ``None`` is :func:`default_memory_limit`
        (a quarter of the memory the process may use), so that the customer-sized work in
        Python has the rest. DuckDB writes what does not fit to disk.
    temp_directory
        DuckDB only: the folder in which a private folder for what does not fit under
        ``memory_limit`` is made (default: the system's temporary folder); the private
        folder is removed by :meth:`close`, and one a killed run left there (its process's
        lock gone) by the next engine that starts.
    spark_session
        An existing SparkSession to use when ``backend="spark"`` (its session time zone is
        set to UTC while the engine is open, and restored by :meth:`close`).
    spark_master, spark_options
        Where the SparkSession tierwise starts runs (``local[2]``, ``spark://host:7077``,
        ``yarn``; default ``local[threads]``) and its configuration (key → value). Ignored
        when ``spark_session`` is given or a session is already running in the process.

    Raises
    ------
    SettingsError
        An unknown backend, or ``"spark"`` without PySpark installed.
    """

    def __init__(
        self,
        backend: str = "duckdb",
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        temp_directory: str | Path | None = None,
        spark_session: Any = None,
        spark_master: str | None = None,
        spark_options: Mapping[str, str] | None = None,
    ) -> None:
        self.backend = backend
        #: the cores the engine was given (None: every core)
        self.threads = int(threads) if threads else None
        self._temp: Path | None = None
        #: removes DuckDB's private folder for what does not fit in memory (once)
        self._spill: weakref.finalize | None = None
        #: removes the scratch folder of temp_dir (once)
        self._temp_remove: weakref.finalize | None = None
        #: the Spark session this engine started (stopped by close), and the time zone of a
        #: session it did not start (given, or found running) before it was set to UTC
        #: (restored by close)
        self._own_session: Any = None
        self._given_tz: str | None = None
        #: the given session's spark.sql.legacy.parquet.nanosAsLong before this engine set it
        #: to read nanosecond timestamps (restored by close)
        self._given_nanos: str | None = None
        #: PySpark's query-error loggers and whether each was off before this engine
        #: switched them off (restored by close)
        self._spark_loggers: list[tuple[Any, bool]] = []
        #: the Splink and Ibis views of a session the engine did not start when it opened
        #: (None: the engine's own session, or DuckDB): close drops those made since
        self._views_before: set[str] | None = None
        #: Spark tables made by materialize, by view name (released by release)
        self._spark_tables: dict[str, Any] = {}
        #: Spark temporary views this engine registered, and the DataFrames it persisted:
        #: on a session it did not start, close drops and unpersists them, so that a
        #: notebook's session does not keep every run's data
        self._spark_views: list[str] = []
        self._spark_persisted: list[Any] = []
        #: the executors' RDDs holding each checkpointed table's rows, by view name: a
        #: local checkpoint's rows are freed through its RDDs, not its DataFrame
        self._spark_rdds: dict[str, list[int]] = {}
        #: engine tables that hold an input's rows as read (a parsed CSV file, a streamed
        #: database table, rows read by Python), freed by release_inputs
        self._input_tables: list[str] = []
        #: tables made by materialize (the only ones release_replaced frees)
        self._made: set[str] = set()
        #: DuckDB's memory cap in bytes (when it could be read), for _compress_when_tight
        self._memory_limit_bytes: int | None = None
        #: DuckDB's memory cap as set (``SET memory_limit``), for _drop_cached_blocks
        self._memory_limit: str | None = None
        if backend == "duckdb":
            self.con = ibis.duckdb.connect()
            raw = self.con.con
            # deterministic row order for reads and inserts
            raw.execute("SET preserve_insertion_order = true")
            # tierwise shows its own progress; DuckDB's bar would mix into the output
            raw.execute("SET enable_progress_bar = false")
            # never reach for the internet: a file DuckDB would need an extension for (a
            # SQLite database, say) fails at once with a clear message instead
            raw.execute("SET autoinstall_known_extensions = false")
            # DuckDB's pushing of partial aggregates through projections spends minutes
            # planning an aggregate over the deeply nested expressions validation writes
            # (the discount warnings' counts of a 4-line file took 90 s to plan, 0.07 s
            # without it); tierwise aggregates after its own projections and joins
            raw.execute("SET disabled_optimizers = 'partial_aggregate_pushdown'")
            if threads:
                raw.execute(f"SET threads = {int(threads)}")
            cap = memory_limit or default_memory_limit()
            raw.execute(f"SET memory_limit = {_sql_text(cap)}")
            self._memory_limit_bytes = size_bytes(cap)
            self._memory_limit = cap
            # memory DuckDB frees (a dropped or compressed table, a query's hash tables) goes
            # back to the system in the background; otherwise its allocator keeps it until
            # DuckDB allocates again, and the customer-sized work in Python between queries
            # comes on top of it
            raw.execute("SET allocator_background_threads = true")
            # what does not fit under the cap goes to a private folder, removed by close, or
            # with the engine when close is never called (a notebook's engine)
            parent = str(temp_directory or tempfile.gettempdir())
            try:
                spill, lock = _private_folder("tierwise-spill-", parent)
            except OSError as exc:
                raise SettingsError(
                    f"[run] temp_directory: cannot make a folder in {parent} "
                    f"({exc.strerror}); give a folder that exists and can be written"
                ) from exc
            self._spill = weakref.finalize(self, _remove_private, spill, lock)
            raw.execute(f"SET temp_directory = {_sql_text(spill)}")
            # the tables materialize makes live in an in-memory database of their own, which
            # DuckDB compresses when asked (_compress_when_tight); the input-sized ones in a
            # database file in the spill folder, which DuckDB writes compressed as it makes
            # them and reads through its buffer pool. Queries name them bare
            raw.execute(f"ATTACH ':memory:' AS {_STORE} (COMPRESS)")
            raw.execute(f"ATTACH {_sql_text(os.path.join(spill, 'tables.duckdb'))} AS {_LINES}")
            current = raw.execute("SELECT current_database()").fetchall()[0][0]
            path = f"{current}.main,{_STORE}.main,{_LINES}.main"
            raw.execute(f"SET search_path = {_sql_text(path)}")
        elif backend == "spark":
            session = spark_session or self._start_spark(threads, spark_master, spark_options)
            # a session the engine did not start (given, or running in the process: a
            # notebook's) is given back as it was found
            found = self._own_session is None
            if found:
                tz = session.conf.get("spark.sql.session.timeZone")
                if tz != "UTC":
                    self._given_tz = tz
            # dates are parsed and cut from timestamps in the session time zone: always UTC,
            # so that a date never moves with the clock of the machine or cluster
            session.conf.set("spark.sql.session.timeZone", "UTC")
            if found:
                self._views_before = _library_views(session)
            self.con = ibis.pyspark.connect(session)
            self._spark_loggers = _silence_spark_query_logs()
        else:
            raise SettingsError(f"[run] engine: unknown engine {backend!r} (use duckdb or spark)")

    @classmethod
    def from_settings(cls, run: RunSettings, *, inputs: Iterable[Any] = ()) -> Engine:
        """The engine ``[run]`` asks for.

        With ``engine = "spark"`` and a Spark DataFrame among ``inputs``, the DataFrame's
        own session is used (a notebook's or spark-submit's), so nothing is copied out of
        Spark. A Spark DataFrame given while ``[run] engine`` is left unset runs on Spark
        too; ``engine = "duckdb"`` set explicitly copies it into DuckDB through Arrow.
        """
        session = next((s for s in map(_spark_session_of, inputs) if s is not None), None)
        backend = run.engine
        if session is not None and "engine" not in run.model_fields_set:
            backend = "spark"
        return cls(
            backend,
            threads=run.threads,
            memory_limit=run.memory_limit,
            temp_directory=run.temp_directory,
            spark_session=session if backend == "spark" else None,
            spark_master=run.spark_master,
            spark_options=run.spark_conf(),
        )

    def _start_spark(
        self, threads: int | None, master: str | None, options: Mapping[str, str] | None
    ) -> Any:
        """The running SparkSession, or a new one on ``master`` with ``options``."""
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise SettingsError(
                "engine = 'spark' needs PySpark, which is not installed: pip install "
                "'tierwise[spark]' (and Java 17 or later), or use engine = 'duckdb'"
            ) from exc
        # a session running in the process, this thread's or another's (getActiveSession
        # sees this thread's only): used as it is, neither reconfigured nor stopped
        active = SparkSession.getActiveSession() or getattr(
            SparkSession, "_instantiatedSession", None
        )
        if active is not None:
            return active
        check_master(master)
        builder = SparkSession.builder.master(master or f"local[{threads or '*'}]").appName(
            "tierwise"
        )
        # tierwise shows its own progress; Spark's console bar would mix into it
        builder = builder.config("spark.ui.showConsoleProgress", "false")
        local = (master or "local").startswith("local")
        if local and "spark.pyspark.python" not in (options or {}):
            # local workers run the Python that runs tierwise (its packages), not the first
            # python3 on the PATH
            import sys

            builder = builder.config("spark.pyspark.python", sys.executable)
        options = dict(options or {})
        if local:
            # the driver logs errors only, from the JVM's start: its warnings and notes
            # would come before tierwise's output on every run (Java options the user gives
            # come after, and win)
            log_config = Path(__file__).with_name("spark-log4j2.properties").as_uri()
            java = options.get("spark.driver.extraJavaOptions", "")
            options["spark.driver.extraJavaOptions"] = (
                f"-Dlog4j2.configurationFile={log_config} {java}".strip()
            )
        cores = _local_cores(master, threads)
        if cores is not None and "spark.sql.shuffle.partitions" not in options:
            # a local master has a few cores: Spark's default of 200 partitions after each
            # shuffle costs more in task start-up than a small run's work (see
            # benchmarks/bench_spark.py); four per core, unless the options say otherwise
            options["spark.sql.shuffle.partitions"] = str(SHUFFLE_PARTITIONS_PER_CORE * cores)
        for key, value in options.items():
            builder = builder.config(key, value)
        builder = builder.config("spark.sql.session.timeZone", "UTC")
        with _jvm_stderr_without_notes(hold=True) as jvm:
            try:
                session = builder.getOrCreate()
            except Exception as exc:
                # the JVM's own words (a master Spark does not know, an option value it
                # cannot read) say more than PySpark's "Java gateway process exited"
                said = jvm.cause() or " ".join(str(exc).split())[:300]
                raise EngineError(
                    f"could not start Spark on {master or 'this machine'}: {said}; check "
                    "[run] spark_master and spark_options, and that Java 17 or later is "
                    "installed"
                ) from exc
            jvm.release()
        session.sparkContext.setLogLevel("ERROR")
        self._own_session = session
        return session

    # -- registering data -------------------------------------------------------------

    @staticmethod
    def fresh_name(prefix: str) -> str:
        return f"tw_{prefix}_{next(_names)}"

    def temp_dir(self) -> Path:
        """A private scratch folder for this engine's lifetime (transcoded CSV copies, the
        contents of a pipe), removed by :meth:`close`."""
        if self._temp is None:
            path, lock = _private_folder("tierwise-", None)
            self._temp = Path(path)
            self._temp_remove = weakref.finalize(self, _remove_private, path, lock)
        return self._temp

    def from_arrow(
        self, table: pa.Table, name: str | None = None, *, holds_input: bool = False
    ) -> ir.Table:
        """Register an Arrow table in the engine (copied in) and return it as an Ibis table.

        ``holds_input``: the table is an input as read, freed by :meth:`release_inputs`.
        """
        name = name or self.fresh_name("arrow")
        if holds_input:
            self._input_tables.append(name)
        try:
            if self.backend == "duckdb":
                mem = ibis.memtable(table)
                try:
                    return self._duckdb_table(mem, name, _STORE)
                finally:
                    # the rows are copied: the engine lets go of the Arrow table
                    self.con.con.unregister(mem.op().name)
            # Spark: a temporary view over a DataFrame built from Arrow directly (nulls stay
            # nulls; through pandas a missing float became NaN, which Spark does not treat
            # as missing), and nothing written under ./spark-warehouse
            session = self.con._session
            session.createDataFrame(table).createOrReplaceTempView(name)
            self._spark_views.append(name)
            return self.con.table(name)
        except Exception as exc:
            raise EngineError(
                f"could not load table {name!r} into the engine: {_said(exc)}"
            ) from exc

    def read_parquet(
        self,
        path: str | Path | Sequence[str | Path],
        *,
        with_row_numbers: bool = True,
        base: str | Path | None = None,
    ) -> ir.Table:
        """Register Parquet data (read lazily): a file, a folder Spark reads, or a list of
        files (a data-lake folder or a glob, see :func:`tierwise.io.readers.read_input`).

        ``_row`` is each record's 1-based number, counting through the files in name order.
        ``base`` is the folder a list of files was found in: ``key=value`` folders below it
        (Hive partitions) become columns, on both engines.
        """
        name = self.fresh_name("parquet")
        files = [str(path)] if isinstance(path, str | Path) else [str(f) for f in path]
        many = not isinstance(path, str | Path)
        try:
            if self.backend == "duckdb":
                hive = {"hive_partitioning": base is not None} if many else {}
                t = self.con.read_parquet(
                    files if many else files[0],
                    table_name=name,
                    file_row_number=True,
                    filename="tw_file" if many else False,
                    union_by_name=many,
                    **hive,
                )
                if with_row_numbers:
                    row = t.file_row_number + 1
                    if many:
                        t, offset = self._file_offsets(t, "tw_file", f"the files of {base or path}")
                        row = row + offset
                    t = t.mutate(**{ROW: row.cast("int64")})
                keep = [c for c in t.columns if c not in ("file_row_number", "tw_file", "_offset")]
                return t.select(*keep)
            self._spark_views.append(name)
            if not with_row_numbers:
                return self.con.read_parquet(files if many else files[0], table_name=name)
            return self._spark_parquet_numbered(files, name, base)
        except Exception as exc:
            shown = base or (files[0] if len(files) == 1 else f"{len(files)} Parquet files")
            said = engine_message(exc)
            if "PARQUET_TYPE_ILLEGAL" in said and "NANOS" in said:
                said += (
                    " (a timestamp in nanoseconds, as pandas and pyarrow write by default, "
                    "which Spark reads from a file on this machine only: copy the file here, "
                    'or write it with df.to_parquet(..., coerce_timestamps="us", '
                    "allow_truncated_timestamps=True))"
                )
            raise EngineError(f"{shown}: could not read as Parquet: {said}") from exc

    def _file_offsets(
        self, t: ir.Table, column: str, what: str
    ) -> tuple[ir.Table, ir.IntegerValue]:
        """``t`` joined to the number of records in the files before each row's file (in
        name order), for numbering rows across files; one count query, customer-sized.

        The order is that of the files' paths as text, on both engines: Spark names a file
        by its URL (``file:///data/a%20b.parquet``), which is read back to its path first,
        since ``%20`` sorts after ``!`` where a space sorts before it.
        """
        files = self.to_arrow(t.group_by(column).aggregate(n=t.count()), what)
        if files.num_rows <= 1:
            return t, ibis.literal(0, "int64")
        names = files.column(column).to_pylist()
        files = files.take(sorted(range(len(names)), key=lambda i: _local_path(names[i])))
        counts = np.asarray(files.column("n").to_numpy(zero_copy_only=False), np.int64)
        offsets = self.from_arrow(
            pa.table(
                {
                    column: files.column(column),
                    "_offset": pa.array(np.concatenate(([0], np.cumsum(counts)[:-1]))),
                }
            )
        )
        t = t.join(offsets, column)
        return t, t._offset

    def _spark_nanos_as_long(self, session: Any) -> None:
        """Have Spark read a nanosecond timestamp in Parquet as its nanoseconds (a long),
        which it refuses otherwise (``PARQUET_TYPE_ILLEGAL``); the setting stays on while
        the engine is open, as Spark reads it again whenever it reads the file."""
        if self._own_session is None and self._given_nanos is None:
            self._given_nanos = str(session.conf.get(_NANOS_AS_LONG))
        session.conf.set(_NANOS_AS_LONG, "true")

    def _spark_parquet_numbered(
        self, files: Sequence[str], name: str, base: str | Path | None = None
    ) -> ir.Table:
        """Parquet on Spark with ``_row`` from each file's own row index (Spark's hidden
        ``_metadata.row_index``), offset by the rows of the files before it in name order:
        numbers in file order, read in parallel, with no single-partition row_number()."""
        from pyspark.sql import functions as F

        session = self.con._session
        nanos = _nanosecond_columns(files)
        if nanos:
            self._spark_nanos_as_long(session)
        reader = session.read
        if base is None:
            df = reader.parquet(*files)
        else:
            # Hive partition folders (year=2024/) below base become columns, their values
            # read as text, which validation reads as any other column's: Spark's own guess
            # would make customer_id=00042 the number 42
            with _spark_conf(session, _PARTITION_TYPES, "false"):
                df = reader.option("basePath", str(base)).parquet(*files)
        cols = list(df.columns)
        # a nanosecond timestamp is read as its nanoseconds since 1970 (a long): back to a
        # timestamp, to the microsecond below it (Spark's finest)
        kept = [
            F.expr(f"timestamp_micros(div({q} - pmod({q}, 1000), 1000))").alias(c)
            if c in nanos
            else F.col(q)
            for c, q in ((c, "`" + c.replace("`", "``") + "`") for c in cols)
        ]
        df = df.select(*kept, "_metadata.row_index", "_metadata.file_path")
        df.createOrReplaceTempView(name)
        t = self.con.table(name)
        if len(files) == 1 and Path(files[0]).is_file():
            # one file: its own row index (no query to count the rows of each file)
            return t.select(*cols, **{ROW: (t.row_index + 1).cast("int64")})
        t, offset = self._file_offsets(t, "file_path", f"the files of {base or files[0]}")
        return t.select(*cols, **{ROW: (t.row_index + offset + 1).cast("int64")})

    def from_spark_frame(
        self, df: Any, what: str, *, session_clock: bool = False
    ) -> tuple[ir.Table, str]:
        """A Spark DataFrame as an engine table without leaving Spark, with ``_row``
        numbering its rows from 1 in partition order, and a fingerprint of its content.

        ``session_clock``: a DataFrame the user built and looks at in its session (not a
        table read from files): its instants are taken as the session's own time zone
        shows them.

        The numbered rows are cached in the executors (memory, then disk): a DataFrame's
        partitions are numbered once and every later query sees the same numbers.
        """
        import hashlib

        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        if ROW in df.columns:
            raise SettingsError(f"{what}: the column name {ROW!r} is reserved")
        name = self.fresh_name("frame")

        def column(c: str) -> Any:
            # by its name as it is: a dot in it ("Kunden.Nr") is no struct field
            return F.col("`" + c.replace("`", "``") + "`")

        from pyspark.sql.types import TimestampType

        # an instant (Spark's TIMESTAMP, not TIMESTAMP_NTZ) as the clock of the session's
        # own time zone showed it, the zone its user sees it in: the run's session is in UTC,
        # where a Berlin order at 00:30 on 1 January would fall on 31 December
        zone = self._given_tz if session_clock else None
        shown = {
            f.name
            for f in df.schema.fields
            if zone is not None and isinstance(f.dataType, TimestampType)
        }

        def value(c: str) -> Any:
            return (
                F.from_utc_timestamp(column(c), zone or "UTC").alias(c) if c in shown else column(c)
            )

        try:
            cols = list(df.columns)
            part = F.spark_partition_id()
            # monotonically_increasing_id is (partition << 33) + position in the partition
            tagged = df.select(
                *[value(c) for c in cols],
                part.alias("tw_part"),
                (F.monotonically_increasing_id() - (part.cast("long") * (1 << 33))).alias("tw_pos"),
            ).persist(StorageLevel.MEMORY_AND_DISK)
            self._spark_persisted.append(tagged)
            row_hash = F.xxhash64(*[column(c) for c in cols]).cast("decimal(38,0)")
            parts = (
                tagged.groupBy("tw_part")
                .agg(F.count(F.lit(1)).alias("n"), F.sum(row_hash).alias("h"))
                .orderBy("tw_part")
                .toArrow()
            )
            counts = np.asarray(parts.column("n").to_numpy(zero_copy_only=False), np.int64)
            offsets = self.con._session.createDataFrame(
                pa.table(
                    {
                        "tw_part": parts.column("tw_part"),
                        "tw_offset": pa.array(np.concatenate(([0], np.cumsum(counts)[:-1]))),
                    }
                )
            )
            numbered = tagged.join(F.broadcast(offsets), "tw_part").select(
                *[column(c) for c in cols],
                (F.col("tw_offset") + F.col("tw_pos") + 1).cast("long").alias(ROW),
            )
            numbered.createOrReplaceTempView(name)
            self._spark_views.append(name)
        except Exception as exc:
            raise EngineError(f"could not read {what} from Spark: {exc}") from exc
        digest = hashlib.sha256(
            (
                df.schema.json()
                + "|"
                + ",".join(str(v) for v in parts.column("n").to_pylist())
                + "|"
                + str(sum(int(v or 0) for v in parts.column("h").to_pylist()))
            ).encode()
        ).hexdigest()
        return self.con.table(name), digest

    def from_arrow_stream(self, reader: pa.RecordBatchReader, what: str) -> ir.Table:
        """Load a stream of Arrow record batches (a database cursor, say) into the engine
        batch by batch, with ``_row`` the record's 1-based position in the stream.

        A column of the stream named ``_row`` is refused (:class:`InputError`).
        """
        _refuse_row_column(reader.schema.names, what)
        name = self.fresh_name("stream")
        try:
            if self.backend == "duckdb":
                raw = self.con.con
                view = f"{name}_src"
                # the numbers travel with the batches, so no name of the engine's (a user
                # column called rowid hides DuckDB's) decides them
                raw.register(view, _numbered_stream(reader))
                try:
                    raw.execute(f"CREATE TEMP TABLE {_sql_name(name)} AS SELECT * FROM {view}")
                finally:
                    raw.unregister(view)
                self._input_tables.append(name)
                return self.con.table(name)
            table = _storage_types(reader.read_all())
            n = table.num_rows
            table = table.append_column(ROW, pa.array(range(1, n + 1), pa.int64()))
            return self.from_arrow(table, name, holds_input=True)
        except Exception as exc:
            raise EngineError(f"could not load {what} into the engine: {_said(exc)}") from exc

    def read_postgres(self, url: str, table: str, *, connect_timeout: int = 10) -> ir.Table:
        """A PostgreSQL table read over ADBC (Arrow batches streamed from the server, no
        row-by-row copy through Python), with ``_row`` the record number from 1.

        The records come in a fixed order (see :func:`_postgres_select`), so that the
        numbers and the first of duplicate records do not follow where the server happens
        to store the rows; a ``timestamptz`` comes as the time a clock in the session's
        TimeZone showed (the database's or role's setting, or the URL's
        ``options=-c TimeZone=…``, or ``PGTZ``), the date the ERP shows.

        ``table`` is ``name`` or ``schema.name``. Needs the ``postgres`` extra
        (adbc-driver-postgresql). Errors carry the driver's message, which may quote the
        URL: callers redact it.
        """
        try:
            import adbc_driver_postgresql.dbapi as pg
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise SettingsError(
                "reading PostgreSQL needs its driver: pip install 'tierwise[postgres]'"
            ) from exc
        from .io.urls import quote_password

        quoted = ".".join('"' + p.replace('"', '""') + '"' for p in table.split("."))
        uri = quote_password(url)
        if "connect_timeout=" not in uri:
            uri += ("&" if "?" in uri else "?") + f"connect_timeout={int(connect_timeout)}"
        with pg.connect(uri) as conn, conn.cursor() as cur:
            cur.execute(_PG_COLUMNS.replace("{rel}", _sql_text(quoted)))
            columns = [
                (str(n), bool(z), None if k is None else int(k)) for n, z, k in cur.fetchall()
            ]
            cur.execute(_postgres_select(quoted, columns))
            return self.from_arrow_stream(cur.fetch_record_batch(), f"table {table!r}")

    def scan_csv(
        self, path: str | Path, columns: Sequence[str], delimiter: str, *, max_line_size: int
    ) -> CsvScan | None:
        """Parse a UTF-8 CSV file in the engine (in parallel), every value as text.

        The header line is skipped; ``columns`` name the fields. Records with the wrong
        number of fields are kept apart with where they start (``CsvScan.rejects``) rather
        than failing the read. ``None`` when this engine has no such reader (Spark: the
        caller parses the file itself) or the engine cannot parse the file.
        """
        if self.backend != "duckdb":
            return None
        raw = self.con.con
        name = self.fresh_name("csv")
        rejects, scans = f"{name}_rejects", f"{name}_scans"
        _refuse_row_column(columns, str(path))
        spec = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(1, len(columns) + 1))
        sql = (
            f"CREATE TEMP TABLE {_sql_name(name)} AS SELECT * FROM read_csv("
            f"{_sql_text(str(path))}, header = true, auto_detect = false, "
            f"columns = {{{spec}}}, delim = {_sql_text(delimiter)}, quote = '\"', "
            f"escape = '\"', encoding = 'utf-8', strict_mode = true, "
            f"allow_quoted_nulls = false, max_line_size = {int(max_line_size)}, "
            f"store_rejects = true, rejects_table = {_sql_text(rejects)}, "
            f"rejects_scan = {_sql_text(scans)}, rejects_limit = 0)"
        )
        try:
            raw.execute(sql)
            bad = raw.sql(
                "SELECT line_byte_position, error_type, csv_line, error_message "
                f"FROM {_sql_name(rejects)} ORDER BY line_byte_position"
            ).to_arrow_table()
            n = raw.execute(f"SELECT count(*) FROM {_sql_name(name)}").fetchall()[0]
        except Exception:
            raw.execute(f"DROP TABLE IF EXISTS {_sql_name(name)}")
            return None
        finally:
            raw.execute(f"DROP TABLE IF EXISTS {_sql_name(rejects)}")
            raw.execute(f"DROP TABLE IF EXISTS {_sql_name(scans)}")
        bad = bad.cast(
            pa.schema(
                [
                    ("line_byte_position", pa.int64()),
                    ("error_type", pa.string()),
                    ("csv_line", pa.string()),
                    ("error_message", pa.string()),
                ]
            )
        )
        self._input_tables.append(name)
        return CsvScan(name, tuple(columns), int(n[0] if n else 0), bad)

    def csv_line_breaks(self, scan: CsvScan) -> int:
        """How many line breaks the scanned records hold inside quoted values."""
        nl = " + ".join(
            f"coalesce(length({_sql_name(c)}) - length(replace({_sql_name(c)}, chr(10), '')), 0)"
            for c in scan.stored
        )
        try:
            # fetchall: a result left half-read blocks the connection (DuckDB 2)
            got = self.con.con.execute(f"SELECT sum({nl}) FROM {_sql_name(scan.table)}").fetchall()[
                0
            ]
        except Exception as exc:
            raise EngineError(
                f"the engine failed counting the line breaks of table {scan.table!r}: {exc}"
            ) from exc
        return int(got[0] or 0) if got else 0

    def number_csv(
        self,
        scan: CsvScan,
        removed: Sequence[int],
        *,
        multiline: bool,
        leave_out: Sequence[int] = (),
    ) -> tuple[ir.Table | None, list[int]]:
        """The scanned records with ``_row`` (see :meth:`_number_csv`); a failing query is
        re-raised naming the table."""
        try:
            return self._number_csv(scan, removed, multiline=multiline, leave_out=leave_out)
        except Exception as exc:
            raise EngineError(
                f"the engine failed numbering the lines of table {scan.table!r}: {exc}"
            ) from exc

    def _number_csv(
        self,
        scan: CsvScan,
        removed: Sequence[int],
        *,
        multiline: bool,
        leave_out: Sequence[int] = (),
    ) -> tuple[ir.Table | None, list[int]]:
        """The scanned records with ``_row``, each record's line in the file (the header is
        line 1), and the lines of records whose every field is empty (left out).

        ``removed`` are the file's lines that hold no parsed record (blank lines, refused
        records), sorted; ``multiline`` says some records span several lines. A record's
        line is its position among the lines left, shifted past the removed lines before
        it (an as-of join on the few removed lines, not a row-by-row walk). The records at
        the lines ``leave_out`` are left out too; ``(None, [])`` when some of those lines
        hold no record.
        """
        raw = self.con.con
        name = self.fresh_name("numbered")
        cols = ", ".join(_sql_name(c) for c in scan.stored)
        named = ", ".join(
            f"s.{_sql_name(c)} AS {_sql_name(n)}"
            for c, n in zip(scan.stored, scan.columns, strict=True)
        )
        if multiline:
            span = " + ".join(
                f"coalesce(length({_sql_name(c)}) - length(replace({_sql_name(c)}, chr(10), "
                "'')), 0)"
                for c in scan.stored
            )
            base = (
                f"2 + rowid + coalesce(sum({span}) OVER (ORDER BY rowid ROWS BETWEEN "
                "UNBOUNDED PRECEDING AND 1 PRECEDING), 0)"
            )
        else:
            base = "2 + rowid"
        source = f"(SELECT {cols}, CAST({base} AS BIGINT) AS _base FROM {_sql_name(scan.table)})"
        if len(removed):
            lines = np.sort(np.asarray(removed, dtype=np.int64))
            # a removed line's place among the kept lines (b), and how many removed lines
            # lie at or before that place (k); consecutive removed lines share a place, and
            # the last of them counts them all
            b = lines - np.arange(len(lines), dtype=np.int64)
            last = np.r_[b[1:] != b[:-1], True]
            shifts = pa.table({"b": pa.array(b[last]), "k": pa.array(np.flatnonzero(last) + 1)})
            shift_table = f"{name}_shifts"
            self.con.create_table(shift_table, shifts, temp=True, overwrite=True)
            numbered = (
                f"SELECT {named}, s._base + coalesce(r.k, 0) AS {_sql_name(ROW)} "
                f"FROM {source} s ASOF LEFT JOIN {_sql_name(shift_table)} r ON s._base >= r.b"
            )
        else:
            numbered = f"SELECT {named}, s._base AS {_sql_name(ROW)} FROM {source} s"
        blank = " AND ".join(
            f"coalesce(trim({_sql_name(c)}, ' \t\r'), '') = ''" for c in scan.columns
        )
        raw.execute(f"CREATE TEMP VIEW {_sql_name(name + '_all')} AS {numbered}")
        if len(leave_out):
            out_table = f"{name}_out"
            self.con.create_table(
                out_table,
                pa.table({"line": pa.array(np.asarray(leave_out, np.int64))}),
                temp=True,
                overwrite=True,
            )
            found = raw.execute(
                f"SELECT count(*) FROM {_sql_name(name + '_all')} "
                f"WHERE {_sql_name(ROW)} IN (SELECT line FROM {_sql_name(out_table)})"
            ).fetchall()[0]
            if not found or int(found[0]) != len(leave_out):
                return None, []
            raw.execute(
                f"CREATE TEMP VIEW {_sql_name(name + '_kept')} AS SELECT * FROM "
                f"{_sql_name(name + '_all')} WHERE {_sql_name(ROW)} NOT IN "
                f"(SELECT line FROM {_sql_name(out_table)})"
            )
            name_all = name + "_kept"
        else:
            name_all = name + "_all"
        blank_rows = raw.execute(
            f"SELECT {_sql_name(ROW)} FROM {_sql_name(name_all)} WHERE {blank} "
            f"ORDER BY {_sql_name(ROW)}"
        ).fetchall()
        raw.execute(
            f"CREATE TEMP VIEW {_sql_name(name)} AS SELECT * FROM {_sql_name(name_all)} "
            f"WHERE NOT ({blank})"
        )
        return self.con.table(name), [int(r[0]) for r in blank_rows]

    def read_duckdb_table(self, path: str | Path, table: str) -> ir.Table:
        """A table inside a DuckDB database file, with ``_row`` numbers (1-based)."""
        if self.backend != "duckdb":
            raise SettingsError("reading a DuckDB file needs engine = 'duckdb'")
        alias = self.fresh_name("db")
        self.con.attach(str(path), name=alias, read_only=True)
        schema, _, tname = table.rpartition(".")
        t = self.con.table(tname, database=(alias, schema or "main"))
        _refuse_row_column(t.columns, f"table {table!r}")
        return t.mutate(**{ROW: (ibis.row_number() + 1).cast("int64")})

    def materialize(
        self, expr: ir.Table, name: str | None = None, *, large: bool = False
    ) -> ir.Table:
        """Compute ``expr`` once and keep the result in the engine (for tables used twice).

        ``large``: a table the size of an input (invoice lines, activities), which DuckDB
        then keeps in a database file in the engine's spill folder: written compressed as it
        is made (about a fifth of its size in memory) and read through DuckDB's buffer pool,
        which holds its blocks in memory while the memory cap allows. A table kept in memory
        instead is written uncompressed and, past the cap, spilled whole to disk. Small
        tables stay in memory, where writing them costs nothing more. Spark ignores it."""
        name = name or self.fresh_name("cache")
        try:
            if self.backend == "duckdb":
                made = self._duckdb_table(expr, name, _LINES if large else _STORE)
            else:
                made = self._spark_checkpoint(expr, name)
            self._made.add(name)
            return made
        except Exception as exc:
            raise EngineError(f"could not compute table {name!r}: {_said(exc)}") from exc

    def materialize_parts(
        self, parts: Sequence[ir.Table], name: str | None = None, *, large: bool = False
    ) -> ir.Table:
        """The rows of every table of ``parts`` (all of one schema) computed into one table
        kept in the engine, one part's query after the other, as :meth:`materialize` keeps
        one: each query holds only its own part's working memory (the hash table of a
        grouping of tens of millions of rows), where one query of their union holds every
        part's at once. Spark computes the union (its executors spill what does not fit)."""
        if not parts:
            raise EngineError("no table to compute: materialize_parts was given no part")
        if self.backend != "duckdb" or len(parts) == 1:
            whole = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
            return self.materialize(whole, name, large=large)
        name = name or self.fresh_name("cache")
        try:
            made = self._duckdb_table(parts[0], name, _LINES if large else _STORE, parts[1:])
            self._made.add(name)
            return made
        except Exception as exc:
            raise EngineError(f"could not compute table {name!r}: {_said(exc)}") from exc

    def _duckdb_table(
        self, expr: ir.Table, name: str, catalog: str, more: Sequence[ir.Table] = ()
    ) -> ir.Table:
        """Compute ``expr`` into the DuckDB table ``name`` of the database ``catalog``
        (replacing one of that name in either store), with the column types of ``expr``'s
        schema; the rows of each table of ``more`` (of the same schema) are added after
        ``expr``'s, each by a query of its own.

        The rows are written once: into a table under a fresh name, which then takes
        ``name`` (a rename, no copy), so ``expr`` may read the table it replaces. Ibis's own
        ``create_table(..., overwrite=True)`` copies a temporary table a second time.
        """
        import sqlglot as sg
        import sqlglot.expressions as sge

        self.con._run_pre_execute_hooks(expr)
        schema = expr.schema()
        if schema.null_fields:
            raise EngineError(f"columns without a type: {', '.join(schema.null_fields)}")
        fresh = self.fresh_name("new")
        create = sge.Create(
            kind="TABLE",
            this=sge.Schema(
                this=sg.table(fresh, db="main", catalog=catalog, quoted=True),
                expressions=schema.to_sqlglot_column_defs("duckdb"),
            ),
        ).sql("duckdb")
        columns = ", ".join(_sql_name(c) for c in schema.names)
        raw = self.con.con
        raw.execute(create)
        store = f"{catalog}.main"
        try:
            for part in (expr, *more):
                if part.schema() != schema:
                    raise EngineError("the parts of a table differ in their columns")
                raw.execute(
                    f"INSERT INTO {store}.{_sql_name(fresh)} ({columns}) {self.con.compile(part)}"
                ).fetchall()
            for db in _KEPT_IN:
                raw.execute(f"DROP TABLE IF EXISTS {db}.main.{_sql_name(name)}")
            raw.execute(f"ALTER TABLE {store}.{_sql_name(fresh)} RENAME TO {_sql_name(name)}")
        except BaseException:
            raw.execute(f"DROP TABLE IF EXISTS {store}.{_sql_name(fresh)}")
            raise
        if catalog == _STORE:
            self._compress_when_tight()
        return self.con.table(name, database=store)

    def _compress_when_tight(self) -> None:
        """Compress the tables :meth:`materialize` made (DuckDB's CHECKPOINT of their
        in-memory database: dictionaries and FSST for text, ALP for decimals, run lengths)
        once they hold more than half of the engine's memory cap.

        Uncompressed, a table of invoice lines takes about six times its Parquet file; past
        the cap DuckDB writes it to disk and reads it back for every query. Compressing costs
        about as much time as writing the table did, so it is done only when memory is
        tight: a run whose tables fit under half the cap never pays for it. Below the
        settings' smallest cap (``MIN_MEMORY_LIMIT``) there is no room to compress in, and a
        compression that runs out of memory loses every table: none is tried.
        """
        limit = self._memory_limit_bytes
        if not self._may_compress() or not limit:
            return
        raw = self.con.con
        held = raw.execute(
            "SELECT coalesce(sum(memory_usage_bytes + temporary_storage_bytes), 0) "
            "FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'"
        ).fetchall()[0][0]
        if held > limit // 2:
            raw.execute(f"CHECKPOINT {_STORE}")

    def _may_compress(self) -> bool:
        limit = self._memory_limit_bytes
        return self.backend == "duckdb" and (
            limit is None or limit >= (size_bytes(MIN_MEMORY_LIMIT) or 0)
        )

    def compress(self) -> None:
        """Compress the tables :meth:`materialize` made, whatever memory they hold (DuckDB;
        nothing on Spark, whose tables live in its executors): for tables kept to the end of
        a run, which then hold about a fifth of their size. The large ones were written
        compressed, but for a table too small for DuckDB to write apart, which waits in the
        database file's log until this. Not below the settings' smallest cap, as in
        :meth:`_compress_when_tight`."""
        if self._may_compress():
            for db in _KEPT_IN:
                self.con.con.execute(f"CHECKPOINT {db}")

    def _spark_checkpoint(self, expr: ir.Table, name: str) -> ir.Table:
        """Compute ``expr`` on Spark now and keep its rows in the executors (memory, then
        disk), cutting the query plan behind it (``localCheckpoint``).

        A cached DataFrame (``cache()``) keeps its whole plan: every later query carries it,
        Spark plans it again and prints it into each query's description, and a stage that
        builds on several such tables (normalised names, then blocking keys, then pairs) made
        plans so large that the driver ran out of memory writing them out. A checkpointed
        table is a plain scan for the queries after it.
        """
        self.con._run_pre_execute_hooks(expr)
        session = self.con._session
        before = _persistent_rdds(session)
        df = session.sql(self.con.compile(expr)).localCheckpoint(eager=True)
        self._spark_rdds[name] = _checkpoint_rdds(df, _persistent_rdds(session) - before)
        df.createOrReplaceTempView(name)
        self._spark_tables[name] = df
        return self.con.table(name)

    # -- executing --------------------------------------------------------------------

    def to_arrow(self, expr: ir.Table, what: str = "table") -> pa.Table:
        """Execute an expression and return the result as an Arrow table (:func:`fetch`)."""
        return fetch(expr, what)

    def scalar(self, expr: ir.Scalar, what: str = "value") -> Any:
        """Execute a scalar expression and return the Python value."""
        try:
            return expr.to_pyarrow().as_py()
        except Exception as exc:
            raise EngineError(f"the engine failed computing {what}: {_said(exc)}") from exc

    def count(self, expr: ir.Table, what: str = "rows") -> int:
        return int(self.scalar(expr.count(), what))

    @contextmanager
    def session(self) -> Iterator[Engine]:
        try:
            yield self
        finally:
            self.close()

    def close(self) -> None:
        """Free what the engine holds: DuckDB's connection, the Spark session it started.

        A Spark session it did not start (given, or found running in the process) keeps
        running, as it was: the engine's temporary views are dropped, the data it cached or
        checkpointed is freed, and the session's time zone is restored.
        """
        try:
            if self.backend == "duckdb":
                self.con.disconnect()
            elif self._own_session is not None:
                self._own_session.stop()
                self._own_session = None
            else:
                # the session's settings first: freeing the engine's tables cannot keep them
                if self._given_tz is not None:
                    self.con._session.conf.set("spark.sql.session.timeZone", self._given_tz)
                    self._given_tz = None
                if self._given_nanos is not None:
                    self.con._session.conf.set(_NANOS_AS_LONG, self._given_nanos)
                    self._given_nanos = None
                self._free_spark_tables()
        except Exception:  # pragma: no cover - closing is best effort
            pass
        for logger, was in self._spark_loggers:
            logger.disabled = was
        self._spark_loggers = []
        if self._temp_remove is not None:
            self._temp_remove()
        self._temp = None
        if self._spill is not None:
            self._spill()

    def _free_spark_tables(self) -> None:
        """Drop the temporary views this engine registered on a Spark session, and unpersist
        the DataFrames it cached or checkpointed."""
        catalog = self.con._session.catalog
        # best effort, one by one: a view or cache the user dropped already is no error
        for name in [*self._spark_views, *self._spark_tables]:
            with suppress(Exception):
                catalog.dropTempView(name)
        for df in [*self._spark_persisted, *self._spark_tables.values()]:
            with suppress(Exception):
                df.unpersist()
        _unpersist_rdds(self.con._session, [i for ids in self._spark_rdds.values() for i in ids])
        now = _library_views(self.con._session) if self._views_before is not None else None
        if self._views_before is not None and now is not None:
            # the temporary views Splink (the m and u counts of its training passes) and
            # Ibis (a table built in Python joined into a query) made, which neither drops
            for name in now - self._views_before:
                with suppress(Exception):
                    catalog.dropTempView(name)
        self._views_before = None
        self._spark_views.clear()
        self._spark_persisted.clear()
        self._spark_tables.clear()
        self._spark_rdds.clear()

    # -- engine-specific spellings ------------------------------------------------------

    def wall_clock(self, ts: ir.Value, zone: str) -> ir.TimestampValue:
        """The time an instant (a timestamp with a time zone) shows on a clock in ``zone``
        (an IANA name such as ``Europe/Berlin``, or an offset such as ``+01:00``), as a
        timestamp without a zone: its date is the date as written where it was recorded.

        On Spark, ``from_utc_timestamp`` in the session's UTC gives the same wall-clock time.
        """
        offset = _OFFSET.match(zone)
        if self.backend == "duckdb":
            utc = ts.cast(dt.Timestamp(timezone="UTC"))
            if offset is None:
                return _duckdb_timezone(zone, utc)  # type: ignore[no-any-return]
            sign, hours, minutes = offset.groups()
            shift = (int(hours) * 60 + int(minutes)) * (-1 if sign == "-" else 1)
            naive = _duckdb_timezone("UTC", utc)
            return naive + ibis.interval(minutes=shift)  # type: ignore[no-any-return]
        return _spark_from_utc_timestamp(ts, zone)  # type: ignore[no-any-return]

    def try_parse_date(self, text: ir.StringValue, fmt: str) -> ir.DateValue:
        """Parse text with a strftime format; NULL where it does not match.

        A two-digit year (``%y``) is in 1969–2068 on both engines, as DuckDB and Python's
        ``strptime`` read it ("99" is 1999, "68" is 2068); Spark reads 2000–2099, so its
        years from 2069 are put back a century.
        """
        if self.backend == "duckdb":
            return _duckdb_try_strptime(text, fmt).date()
        date = _spark_try_to_timestamp(text, _strftime_to_java(fmt)).date()
        if "%y" not in fmt:
            return date  # type: ignore[no-any-return]
        return ibis.ifelse(  # type: ignore[no-any-return]
            date.year() >= _PIVOT_YEAR, date - ibis.interval(years=100), date
        )

    def first_by(self, arg: ir.FloatingValue, key: ir.Value) -> ir.FloatingScalar:
        """The aggregate of ``arg`` at the row with the smallest ``key`` in each group.

        Spelt ``min_by`` (a hash aggregate in both DuckDB and Spark); Ibis's own ``argmin``
        becomes an ordered ``FIRST(... ORDER BY ...)`` on DuckDB, several times slower.

        Examples
        --------
        >>> import datetime as _d, pyarrow as pa
        >>> eng = Engine()
        >>> t = eng.from_arrow(pa.table({"v": [5.0, 7.0], "d": [_d.date(2024, 2, 1),
        ...                                                    _d.date(2024, 1, 1)]}))
        >>> eng.scalar(eng.first_by(t.v, t.d))
        7.0
        """

        @ibis.udf.agg.builtin(name="min_by")
        def _min_by(arg: float, key: dt.date) -> float:  # type: ignore[empty-body]
            """``arg`` at the smallest ``key``."""

        return _min_by(arg, key)  # type: ignore[no-any-return]

    def give_back_memory(self) -> bool:
        """Hand the memory the engine has freed back to the system now (DuckDB: its
        allocator's freed pages); True when it could. Between stages, so that the
        customer-sized work in Python that follows does not come on top of it.

        DuckDB's allocator (jemalloc) returns freed pages only gradually, even with
        ``allocator_background_threads``: at the 300,000-customer demo it still held 1.9 GB
        of freed pages after the cancellations stage (0.5 GB in tables) and 1.0 GB after the
        cross-sell stage, which a purge of every arena returns in 0.2 s at most.

        First the blocks of the database file that DuckDB's buffer pool keeps after the
        queries that read them are dropped (:meth:`_drop_cached_blocks`).

        A purge skips an arena that jemalloc's background thread is purging at that moment,
        which left every page of a dropped table held in about one purge in five; so the
        purge is tried again, a few milliseconds apart and at most :data:`_PURGE_TRIES`
        times, while freed pages remain.
        """
        if self.backend == "duckdb":
            self._drop_cached_blocks()
        mallctl = _duckdb_mallctl() if self.backend == "duckdb" else None
        if mallctl is None:
            return False
        purge = f"arena.{_ALL_ARENAS}.purge".encode()
        for attempt in range(_PURGE_TRIES):
            if mallctl(purge, None, None, None, 0) != 0:
                return False
            if _dirty_pages(mallctl) <= 0 or attempt == _PURGE_TRIES - 1:
                break
            time.sleep(0.005)
        return True

    def _drop_cached_blocks(self) -> None:
        """Drop from DuckDB's buffer pool the blocks of the database file of large tables
        (``BASE_TABLE`` in ``duckdb_memory()``) that the queries which read them left there.

        DuckDB keeps every block it has read until its memory cap is reached: at the
        1,000,000-customer demo, 1.7 GB of the invoice lines' blocks stayed from the
        accounts stage to the end of the run, through the customer-sized stages that read
        none of them. The blocks are on disk; a query that reads them again reads them from
        the file (most often from the system's file cache, which gives its memory to
        whoever needs it). They go by lowering the cap to the memory the engine holds
        besides them for a moment: DuckDB lets go of the database file's blocks first, as
        they need no writing, and of the tables held in memory only when those do not
        suffice, which they do between queries. The cap is then set back as it was.
        """
        cap = self._memory_limit
        if cap is None:
            return
        raw = self.con.con
        cached, other = raw.execute(
            "SELECT coalesce(sum(memory_usage_bytes) FILTER (WHERE tag = 'BASE_TABLE'), 0), "
            "coalesce(sum(memory_usage_bytes) FILTER (WHERE tag <> 'BASE_TABLE'), 0) "
            "FROM duckdb_memory()"
        ).fetchall()[0]
        if cached <= _CACHED_BLOCKS_LEFT:
            return
        try:
            raw.execute(f"SET memory_limit = '{int(other) + _CACHED_BLOCKS_LEFT}B'")
        except duckdb.Error:
            pass  # best effort: the blocks stay
        finally:
            raw.execute(f"SET memory_limit = {_sql_text(cap)}")

    def release_inputs(self) -> None:
        """Free the tables that hold the inputs as read (parsed CSV files, streamed database
        tables, rows read by Python), once validation has kept the rows it uses in tables of
        its own; the views over them must not be read afterwards. Best effort."""
        names, self._input_tables = self._input_tables, []
        for name in names:
            self._drop(name)

    def release_replaced(self, old: Iterable[ir.Table], current: Iterable[ir.Table]) -> None:
        """Free the tables made by :meth:`materialize` that the ``old`` tables read and none
        of the ``current`` ones does (an input table a stage has rewritten, once the
        rewritten one is made). Best effort."""
        from ibis.expr import operations as ops

        def reads(tables: Iterable[ir.Table]) -> set[str]:
            return {
                op.name
                for t in tables
                for op in t.op().find(ops.PhysicalTable)  # type: ignore[attr-defined]
            }

        for name in sorted((reads(old) - reads(current)) & self._made):
            self._drop(name)

    def release(self, table: ir.Table) -> None:
        """Free a table made by :meth:`materialize` that is no longer needed (its memory, or
        its spill files); best effort, as the engine frees it at the end of the run anyway."""
        name = getattr(table.op(), "name", None)
        # on Spark only what this engine checkpointed: a view may be the caller's own
        if name is not None and (self.backend == "duckdb" or name in self._spark_tables):
            self._drop(name)

    def _drop(self, name: str) -> None:
        """Drop the engine's temporary table or view ``name`` and free its rows (best
        effort: freeing early is an optimisation only)."""
        self._made.discard(name)
        with suppress(Exception):
            if self.backend == "duckdb":
                self.con.con.execute(f"DROP TABLE IF EXISTS temp.main.{_sql_name(name)}")
                for db in _KEPT_IN:
                    self.con.con.execute(f"DROP TABLE IF EXISTS {db}.main.{_sql_name(name)}")
            else:
                self.con._session.catalog.dropTempView(name)
                df = self._spark_tables.pop(name, None)
                if df is not None:
                    df.unpersist()
                _unpersist_rdds(self.con._session, self._spark_rdds.pop(name, []))

    # -- record linkage (Splink) --------------------------------------------------------

    def splink_api(self) -> Any:
        """Splink's database API over this engine's own connection (no data copied).

        On DuckDB, Splink's ``DuckDBAPI`` on the open connection. On Spark, Splink's
        ``SparkAPI`` on the session, with Splink's string similarity functions
        (jaro_winkler, damerau_levenshtein) loaded from the jar Splink ships and long query
        plans cut the way the session allows (see :meth:`_splink_break_lineage`).

        Raises
        ------
        EngineError
            Spark cannot load Splink's similarity functions.
        """
        if self.backend == "duckdb":
            from splink import DuckDBAPI

            return DuckDBAPI(connection=self.con.con)
        from splink.backends.spark import SparkAPI

        session = self.con._session
        self._splink_load_jar(session)
        return SparkAPI(
            spark_session=session,
            break_lineage_method=self._splink_break_lineage(session),
            # the jar's functions are registered by _splink_load_jar; Splink's own
            # attempt would only log a warning when they are missing
            register_udfs_automatically=False,
        )

    @staticmethod
    def _splink_load_jar(session: Any) -> None:
        """Make Splink's string similarity functions (jaro_winkler, ...) callable in Spark SQL.

        They live in a jar shipped with Splink. A session started with ``spark.jars`` naming it
        has them on its class path; any other session gets the jar added here (``ADD JAR``,
        which also ships it to the executors) before the functions are registered.
        """
        from splink.backends.spark import similarity_jar_location
        from splink.internals.spark.jar_location import get_scala_udfs

        udfs = get_scala_udfs()

        def register() -> None:
            for udf in udfs:
                session.udf.registerJavaFunction(*udf)

        try:
            register()
        except Exception:  # the classes are not on the class path yet: add the jar below
            pass
        else:
            return
        jar = similarity_jar_location()
        try:
            session.sql(f"ADD JAR '{jar}'")
            register()
        except Exception as exc:
            raise EngineError(
                "Spark cannot load Splink's string similarity functions (jaro_winkler, "
                f"damerau_levenshtein) from {jar}: {' '.join(str(exc).split())[:300]}; start "
                "the Spark session with spark.jars set to that file"
            ) from exc

    @staticmethod
    def _splink_break_lineage(session: Any) -> str:
        """How Splink cuts long Spark query plans: Parquet files in the checkpoint directory
        when the session has one (Splink's default), else cached in executor memory and disk
        (Splink's default would fail on a session without a checkpoint directory)."""
        try:
            has_dir = not session.sparkContext._jsc.sc().getCheckpointDir().isEmpty()
        except Exception:  # e.g. Spark Connect, where the JVM is remote
            has_dir = False
        return "parquet" if has_dir else "persist"
