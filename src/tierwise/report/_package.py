"""plan.xlsx's zip container: the parts XlsxWriter wrote, each deflated on its own thread.

XlsxWriter writes every part of a workbook (each sheet's XML, the styles, the properties)
to a temporary file, one after another, then adds them to a zip with :mod:`zipfile`, which
deflates each on the calling thread. :class:`Workbook` leaves the parts to XlsxWriter and
writes the zip itself: each part, once XlsxWriter has written it, is deflated on one of as
many threads as the machine has cores (zlib works without holding Python's lock) while
XlsxWriter writes the next ones, and is added to the zip as :meth:`zipfile.ZipFile.write`
adds it — the same header (the name, the file's time and permissions), the same deflate
stream (zlib's default level, raw deflate; the stream does not depend on how the input is
cut into pieces), in the same order — so the file is the one XlsxWriter writes, byte for
byte.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import tempfile
import time
import zlib
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

import xlsxwriter
from xlsxwriter.exceptions import DuplicateWorksheetName
from xlsxwriter.packager import Packager

from .._threads import cores

__all__ = ["Workbook", "write_zip"]

#: Bytes of a part read and deflated at a time: large, because the deflating thread takes
#: Python's lock back after each read, checksum and output block of zlib's, and waits for it
#: while the thread writing the parts runs Python code.
_READ = 16 << 20

#: A part deflated: its zip entry, the raw deflate stream in pieces, the CRC-32 and length.
_Part = tuple[ZipInfo, list[bytes], int, int]


class _Deflated:
    """A part deflated ahead: what :mod:`zipfile`'s compressor would give, handed to a
    zip's writing handle in place of its own compressor (:func:`_add`)."""

    def __init__(self, data: list[bytes]) -> None:
        self._data = data

    def compress(self, data: bytes) -> bytes:  # pragma: no cover - never fed
        raise AssertionError("a part deflated ahead takes no more data")

    def flush(self) -> bytes:
        return b"".join(self._data)


def _deflate(path: str, name: str, level: int | None, own_part: bool) -> _Part:
    """A part's zip entry as :meth:`~zipfile.ZipFile.write` makes it (``level`` None:
    zlib's default): its header's fields read from the file (``own_part``: after giving it
    XlsxWriter's time, and deleted once read), the raw deflate stream, its CRC-32 and
    length."""
    try:
        if own_part:
            _as_xlsxwriter_date(path)
        zinfo = ZipInfo.from_file(path, name)
        z = zlib.compressobj(
            zlib.Z_DEFAULT_COMPRESSION if level is None else level, ZIP_DEFLATED, -15
        )
        out: list[bytes] = []
        crc, size = 0, 0
        with open(path, "rb") as f:
            while block := f.read(_READ):
                crc = zlib.crc32(block, crc)
                size += len(block)
                out.append(z.compress(block))
        out.append(z.flush())
    finally:
        if own_part:
            with contextlib.suppress(OSError):
                os.remove(path)
    return zinfo, out, crc, size


def _add(zf: ZipFile, deflated: _Part) -> None:
    """Add a part deflated ahead (:func:`_deflate`) as :meth:`~zipfile.ZipFile.write`
    adds it: zipfile's own handle writes the header, the data and the header again with
    the CRC and sizes, and records the member for the central directory."""
    entry, data, crc, size = deflated
    zinfo: Any = entry
    zinfo.compress_type = zf.compression
    zinfo._compresslevel = zf.compresslevel  # as ZipFile.write sets it
    with zf.open(zinfo, "w") as handle:
        # the handle's count of the bytes, their checksum and the compressor that
        # ZipFile.write's copy of the file would have fed
        dest: Any = handle
        dest._compressor = _Deflated(data)
        dest._crc = crc
        dest._file_size = size


def _as_xlsxwriter_date(path: str) -> None:
    """Give a part the time XlsxWriter gives it before adding it to the zip (31 January
    1980, local time)."""
    stamp = time.mktime((1980, 1, 31, 0, 0, 0, 0, 0, -1))
    os.utime(path, (stamp, stamp))


@functools.cache
def _raw_handle_known() -> bool:
    """Whether a part deflated ahead and added by :func:`_add` gives the bytes
    :meth:`ZipFile.write` gives, tried on a small part: :mod:`zipfile`'s writing handle
    must keep its compressor, checksum and length where :func:`_add` sets them (else every
    part is added by :meth:`ZipFile.write`)."""
    with ZipFile(io.BytesIO(), "w", ZIP_DEFLATED) as zf, zf.open("x", "w") as dest:
        if not all(hasattr(dest, a) for a in ("_compressor", "_crc", "_file_size")):
            return False
    with tempfile.TemporaryDirectory(prefix="tierwise-zip-") as tmp:
        path = os.path.join(tmp, "part.xml")
        with open(path, "wb") as f:
            f.write(b"<row r='1'><c t='n'>2.5</c></row>" * 4000 + bytes(range(256)))
        ours, theirs = io.BytesIO(), io.BytesIO()
        with ZipFile(theirs, "w", ZIP_DEFLATED) as zf:
            zf.write(path, "part.xml")
        try:
            with ZipFile(ours, "w", ZIP_DEFLATED) as zf:
                _add(zf, _deflate(path, "part.xml", None, own_part=False))
        except Exception:  # zipfile's handle changed its ways: ZipFile.write it is
            return False
        return ours.getvalue() == theirs.getvalue()


class _ZipWriter:
    """A deflated zip written part by part as :meth:`zipfile.ZipFile.write` writes it: each
    part handed over (:meth:`add`, a complete file) is deflated on one of ``workers``
    threads and added to the zip, in the order handed over, as soon as it and every part
    before it are deflated (so only those waiting for an earlier one are held in memory).
    ``own_parts``: the parts are temporary files of this writer's, each given the time
    XlsxWriter gives a part before it is added, and deleted once read."""

    def __init__(
        self, target: Any, *, allow_zip64: bool, workers: int | None, own_parts: bool
    ) -> None:
        self._zf = ZipFile(target, "w", compression=ZIP_DEFLATED, allowZip64=allow_zip64)
        workers = max(1, workers or cores())
        self._pool = (
            ThreadPoolExecutor(max_workers=workers) if workers > 1 and _raw_handle_known() else None
        )
        self._own_parts = own_parts
        self._pending: deque[tuple[str, str, Future[_Part] | None]] = deque()

    def add(self, path: str, name: str) -> None:
        """Hand over the file ``path`` (complete: it is read from now on) as ``name``."""
        done = None
        if self._pool is not None:
            level = self._zf.compresslevel
            done = self._pool.submit(_deflate, path, name, level, self._own_parts)
        self._pending.append((path, name, done))
        self._write(wait=False)

    def _write(self, *, wait: bool) -> None:
        """Add the parts deflated so far, in order (``wait``: every part)."""
        while self._pending:
            path, name, done = self._pending[0]
            if done is not None and not wait and not done.done():
                return
            self._pending.popleft()
            if done is not None:
                _add(self._zf, done.result())
                continue
            try:
                if self._own_parts:
                    _as_xlsxwriter_date(path)
                self._zf.write(path, name)
            finally:
                if self._own_parts:
                    with contextlib.suppress(OSError):
                        os.remove(path)

    def close(self) -> None:
        """Add the parts still pending and write the zip's central directory."""
        try:
            self._write(wait=True)
            self._zf.close()
        finally:
            self.abort()

    def abort(self) -> None:
        """Stop: the zip is closed with the parts added so far (the parts not added, if
        its own, are deleted)."""
        for _, _, done in self._pending:
            if done is not None:
                done.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        with contextlib.suppress(Exception):
            self._zf.close()
        while self._pending:
            path = self._pending.popleft()[0]
            if self._own_parts:
                with contextlib.suppress(OSError):
                    os.remove(path)


def write_zip(
    target: Any,
    parts: Sequence[tuple[str, str]],
    *,
    allow_zip64: bool = False,
    workers: int | None = None,
) -> None:
    """Write a deflated zip of ``parts`` (file on disk, name in the zip), in order, as
    :class:`zipfile.ZipFile` writes it with :meth:`~zipfile.ZipFile.write`; the parts are
    deflated on ``workers`` threads (default: the machine's cores).

    Raises
    ------
    zipfile.LargeZipFile
        When a part needs ZIP64 and ``allow_zip64`` is false (as zipfile raises it).
    """
    writer = _ZipWriter(target, allow_zip64=allow_zip64, workers=workers, own_parts=False)
    try:
        for path, name in parts:
            writer.add(path, name)
        writer.close()
    except BaseException:
        writer.abort()
        raise


class _Packager(Packager):  # type: ignore[misc]
    """XlsxWriter's packager, handing each part it wrote to its workbook's zip writer once
    the part is complete: when the packager asks for the next part's file (it writes one
    part at a time, to the end), and after the last."""

    def __init__(self, zip_writer: _ZipWriter) -> None:
        super().__init__()
        self._zip_writer = zip_writer
        self._handed = 0

    def _hand_over(self) -> None:
        for path, name, _ in self.filenames[self._handed :]:
            self._zip_writer.add(path, name)
        self._handed = len(self.filenames)

    def _filename(self, xml_filename: str) -> str:
        self._hand_over()
        return super()._filename(xml_filename)  # type: ignore[no-any-return]

    def _create_package(self) -> list[Any]:
        super()._create_package()
        self._hand_over()
        # nothing left for XlsxWriter's own zip
        return []


class Workbook(xlsxwriter.Workbook):  # type: ignore[misc]
    """An XlsxWriter workbook whose file is written by :class:`_ZipWriter` while XlsxWriter
    writes the parts: the same bytes as XlsxWriter's, the parts deflated on several threads
    and the first of them while XlsxWriter still writes the next. (A workbook written in
    memory or to a file object is XlsxWriter's own.)

    A new sheet's name is checked against the names in use in a set: XlsxWriter compares
    it with every sheet's, which for the thousands of rep sheets of a large plan is
    quadratic (seconds for 5,000 sheets).
    """

    def __init__(self, filename: Any, options: dict[str, Any] | None = None) -> None:
        super().__init__(filename, options)
        self._zip_writer: _ZipWriter | None = None
        #: the sheets' names in lower case (Excel's names ignore case), of the first
        #: ``_named`` sheets
        self._names_in_use: set[str] = set()
        self._named = 0
        self._checking_name = False

    def worksheets(self) -> list[Any]:
        # while a name is checked, XlsxWriter's own comparison with every sheet finds none
        return [] if self._checking_name else super().worksheets()

    def _check_sheetname(self, sheetname: Any, is_chartsheet: bool = False) -> Any:
        """XlsxWriter's checks of a new sheet's name (length, characters, a default name),
        and that no sheet has it, whatever the case, in the set of names in use."""
        self._checking_name = True
        try:
            name = super()._check_sheetname(sheetname, is_chartsheet)
        finally:
            self._checking_name = False
        sheets = super().worksheets()
        self._names_in_use.update(ws.name.lower() for ws in sheets[self._named :])
        self._named = len(sheets)
        if name.lower() in self._names_in_use:
            raise DuplicateWorksheetName(
                f"Sheetname '{name}', with case ignored, is already in use."
            )
        return name

    def _get_packager(self) -> Packager:
        if self._zip_writer is None:
            return super()._get_packager()
        return _Packager(self._zip_writer)

    def _store_workbook(self) -> None:
        target: Any = self.filename
        if self.in_memory or not isinstance(target, str | os.PathLike):
            super()._store_workbook()
            return
        writer = _ZipWriter(target, allow_zip64=self.allow_zip64, workers=None, own_parts=True)
        self._zip_writer = writer
        # XlsxWriter's own zip, which gets no part, goes nowhere
        wb: Any = self
        wb.filename = io.BytesIO()
        try:
            super()._store_workbook()
            writer.close()
        except BaseException:
            writer.abort()
            raise
        finally:
            wb.filename = target
            self._zip_writer = None
