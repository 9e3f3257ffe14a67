"""Writing a generated demo dataset to a folder, one file per table."""

from __future__ import annotations

import json
import os
from contextlib import suppress
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..demo import DEMO_TABLES, STREAMED_TABLES, DemoData, DemoStream
from ..demo._pieces import assemble
from ..errors import InputError, SettingsError

__all__ = ["DEMO_FORMATS", "ROW_GROUP_ROWS", "write_demo"]

DEMO_FORMATS = ("parquet", "csv")


#: Rows per row group: what ``pq.write_table`` writes when given no row_group_size.
ROW_GROUP_ROWS = 1024 * 1024


def write_demo(
    data: DemoData | DemoStream, folder: Path, fmt: str = "parquet", *, rows: int | None = None
) -> dict[str, Path]:
    """Write every table of ``data`` into ``folder``: transactions, customers, activities,
    payments, prospects, reps, products, market, and the ground truth: ``truth`` (per
    customer and prospect), ``truth_crosssell`` (the product pairs planted as bought
    together) and ``truth_coverage.json`` (the channels' effectiveness, cost and minutes
    per contact the planted response to contact used).

    From a :class:`~tierwise.demo.DemoStream` the transactions, activities and payments
    are written piece by piece as they are made, never held whole; the files are the
    same bytes as those written from the :class:`~tierwise.demo.DemoData` it collects to.

    Each file is written to a temporary name and renamed into place, so a crash never
    leaves a half-written table behind.

    Parameters
    ----------
    data
        A dataset from :func:`tierwise.demo.generate` or
        :func:`tierwise.demo.generate_stream`.
    folder
        Target folder; created when missing. Existing files of the same names are replaced.
    fmt
        ``"parquet"`` (default) or ``"csv"`` (UTF-8, header row, ISO dates, empty = null).
    rows
        Rows per piece of a :class:`~tierwise.demo.DemoStream` (it sets the memory used,
        not the files); None: :meth:`~tierwise.demo.DemoStream.pieces`' default.

    Returns
    -------
    dict[str, Path]
        Table name → path of the written file (``truth_coverage`` → the JSON file).

    Example
    -------
    >>> import tempfile
    >>> from tierwise.demo import generate_stream
    >>> paths = write_demo(generate_stream(n_customers=50, seed=1), Path(tempfile.mkdtemp()))
    >>> paths["truth"].name
    'truth.parquet'
    """
    if fmt not in DEMO_FORMATS:
        raise SettingsError(f"demo format {fmt!r} unknown: use one of {', '.join(DEMO_FORMATS)}")
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder: {exc.strerror}", file=str(folder)) from exc
    written: dict[str, Path] = {}
    if isinstance(data, DemoStream):
        written.update(_write_pieces(data, folder, fmt, rows))
        tables = data.held_tables()
    else:
        tables = data.tables()
    tables["truth_crosssell"] = data.planted_pairs
    for name, table in tables.items():
        path = folder / f"{name}.{fmt}"
        tmp = _tmp(folder, path)
        if fmt == "parquet":
            pq.write_table(table, tmp, compression="zstd")
        else:
            pacsv.write_csv(table, tmp)
        os.replace(tmp, path)
        written[name] = path
    path = folder / "truth_coverage.json"
    tmp = _tmp(folder, path)
    tmp.write_text(json.dumps(data.truth_coverage, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    written["truth_coverage"] = path
    order = [*DEMO_TABLES, "truth_crosssell", "truth_coverage"]
    return {name: written[name] for name in order}


def _tmp(folder: Path, path: Path) -> Path:
    return folder / f".{path.name}.tmp"


def _write_pieces(data: DemoStream, folder: Path, fmt: str, rows: int | None) -> dict[str, Path]:
    """Write the streamed tables of ``data`` piece by piece, all files open at once."""
    writers: dict[str, _PieceWriter] = {}
    paths = {name: folder / f"{name}.{fmt}" for name in STREAMED_TABLES}
    try:
        for name, segment, piece in data.pieces() if rows is None else data.pieces(rows):
            if name not in writers:
                tmp = _tmp(folder, paths[name])
                writers[name] = (
                    _ParquetPieces(tmp, piece.schema)
                    if fmt == "parquet"
                    else _CsvPieces(tmp, piece.schema)
                )
            writers[name].add(segment, piece)
        for writer in writers.values():
            writer.close()
    except BaseException:
        for writer in writers.values():
            writer.abandon()
        raise
    for path in paths.values():
        os.replace(_tmp(folder, path), path)
    return paths


class _PieceWriter(Protocol):
    def add(self, segment: int, piece: pa.Table) -> None: ...

    def close(self) -> None: ...

    def abandon(self) -> None: ...


class _CsvPieces:
    """A CSV file written piece by piece: the bytes of ``pacsv.write_csv`` on the whole."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.writer = pacsv.CSVWriter(path, schema)

    def add(self, segment: int, piece: pa.Table) -> None:
        self.writer.write_table(piece)

    def close(self) -> None:
        self.writer.close()

    def abandon(self) -> None:
        with suppress(Exception):
            self.writer.close()
        self.path.unlink(missing_ok=True)


class _ParquetPieces:
    """A Parquet file written piece by piece, byte for byte what ``pq.write_table``
    (zstd) writes for the table of the pieces whose chunks are its segments.

    That writer cuts the table into row groups of :data:`ROW_GROUP_ROWS` rows, and within a
    row group writes each chunk of a column on its own (pages close where a chunk ends).
    So the pieces wait until they fill a row group, which is written as one table holding
    one chunk per segment it spans; at most a row group and a piece are held.
    """

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.row_group_rows = ROW_GROUP_ROWS
        self.writer = pq.ParquetWriter(path, schema, compression="zstd")
        self.held: list[tuple[int, pa.Table]] = []
        self.n_held = 0
        self.n_written = 0

    def add(self, segment: int, piece: pa.Table) -> None:
        if piece.num_rows == 0:
            return
        self.held.append((segment, piece))
        self.n_held += piece.num_rows
        while self.n_held >= self.row_group_rows:
            self._write(self.row_group_rows)

    def _write(self, n: int) -> None:
        """Write the first ``n`` held rows as one row group."""
        runs: list[list[pa.Table]] = []  # the pieces of each segment in the row group
        last = None
        left = n
        while left:
            segment, piece = self.held.pop(0)
            if piece.num_rows > left:
                self.held.insert(0, (segment, piece.slice(left)))
                piece = piece.slice(0, left)
            if segment != last:
                runs.append([])
                last = segment
            runs[-1].append(piece)
            left -= piece.num_rows
        del piece
        self.n_held -= n
        self.writer.write_table(assemble(runs, self.schema), n)
        self.n_written += n

    def close(self) -> None:
        if self.n_held:
            self._write(self.n_held)
        if not self.n_written:  # as pq.write_table does for a table without rows
            self.writer.write_table(self.schema.empty_table())
        self.writer.close()

    def abandon(self) -> None:
        with suppress(Exception):
            self.writer.close()
        self.path.unlink(missing_ok=True)
