"""plan.xlsx's zip, its parts deflated on several threads: the bytes XlsxWriter writes."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import xlsxwriter

from tierwise.report import _package, xlsx
from tierwise.report._package import Workbook, write_zip


def _plan_customers(n: int) -> pa.Table:
    rng = np.random.default_rng(7)
    return pa.table(
        {
            "customer_id": [f"c{i:05d}" for i in range(n)],
            "name": [f"=Name {i} & <co>" if i % 5 == 0 else f"Name {i}" for i in range(n)],
            "city": [["Köln", "Lyon", "  Leeds", None][i % 4] for i in range(n)],
            "assigned_rep": [f"rep {i % 9}" for i in range(n)],
            "visits_per_year": rng.random(n) * 12,
            "calls_per_year": rng.random(n) * 24,
            "expected_contribution_plan": rng.random(n) * 1e5,
        }
    )


def test_the_plan_is_the_file_xlsxwriter_writes_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a plan of several call lists (one larger than a piece the deflater reads at a time),
    # terms and targets: the same file as the one XlsxWriter's own zip gives
    monkeypatch.setattr(_package, "_READ", 1 << 20)
    customers = _plan_customers(60_000)
    terms = pa.table({"tier": ["gold", "silver"], "discount": [0.05, 0.02]})
    targets = pa.table({"rep_id": ["rep 1", "rep 2"], "revenue_target": [1e6, 2e6]})
    tables = {"terms": terms, "targets": targets}
    ours = xlsx.write_plan(tmp_path / "ours.xlsx", customers, tables)
    with zipfile.ZipFile(ours) as z:
        sheet = max(z.infolist(), key=lambda i: i.file_size)
        assert sheet.file_size > _package._READ
    monkeypatch.setattr(xlsx, "Workbook", xlsxwriter.Workbook)
    theirs = xlsx.write_plan(tmp_path / "theirs.xlsx", customers, tables)
    assert ours.read_bytes() == theirs.read_bytes()


def test_parts_are_deflated_on_threads_and_zipped_as_zipfile_writes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_package, "_READ", 1 << 16)
    rng = np.random.default_rng(1)
    stamp = time.mktime((1980, 1, 31, 0, 0, 0, 0, 0, -1))
    parts = []
    for i, size in enumerate([0, 1, 5_000, 3 * _package._READ + 17, 200_000, 70_000]):
        p = tmp_path / f"part{i}"
        words = rng.choice([b"<row>", b"<c r=", b"A1", b"</row>", b" ", b"1.5"], size)
        p.write_bytes(b"".join(words)[:size])
        os.utime(p, (stamp, stamp))
        parts.append((str(p), f"xl/part{i}.xml"))
    parts.append((str(tmp_path / "part3"), "xl/again.xml"))
    with zipfile.ZipFile(tmp_path / "theirs.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for path, name in parts:
            z.write(path, name)
    deflated: list[str] = []
    deflate = _package._deflate

    def counted(path: str, name: str, level: int | None, own: bool) -> _package._Part:
        deflated.append(path)
        return deflate(path, name, level, own)

    monkeypatch.setattr(_package, "_deflate", counted)
    write_zip(tmp_path / "ours.zip", parts, workers=2)
    # the threads' path was taken (not zipfile's own writing, which gives the same bytes)
    assert len(deflated) == len(parts)
    assert (tmp_path / "ours.zip").read_bytes() == (tmp_path / "theirs.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "ours.zip") as z:
        assert z.testzip() is None


def test_a_part_too_large_without_zip64_is_refused_as_zipfile_refuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"x" * 100)
    b.write_bytes(b"y" * 100)
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 50)
    with pytest.raises(zipfile.LargeZipFile):
        write_zip(tmp_path / "z.zip", [(str(a), "a"), (str(b), "b")], workers=2)


def test_the_workbook_leaves_no_part_behind(tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    wb = Workbook(str(tmp_path / "w.xlsx"), {"tmpdir": str(parts)})
    wb.add_worksheet("one").write_string(0, 0, "a")
    wb.add_worksheet("two").write_number(0, 0, 1.5)
    wb.close()
    assert list(parts.iterdir()) == []
    with zipfile.ZipFile(tmp_path / "w.xlsx") as z:
        assert "xl/worksheets/sheet2.xml" in z.namelist() and z.testzip() is None


def test_parts_are_deflated_ahead_only_where_zipfile_gives_the_same_bytes(monkeypatch) -> None:
    from tierwise.report import _package

    _package._raw_handle_known.cache_clear()
    try:
        # here: the threads' zip is the one tested above
        assert _package._raw_handle_known()
        _package._raw_handle_known.cache_clear()
        # a zipfile whose handle no longer takes the deflated stream as _add hands it over
        monkeypatch.setattr(_package._Deflated, "flush", lambda self: b"")
        assert not _package._raw_handle_known()
    finally:
        monkeypatch.undo()
        _package._raw_handle_known.cache_clear()


def test_a_sheet_name_in_use_whatever_its_case_is_refused_as_xlsxwriter_refuses_it(
    tmp_path: Path,
) -> None:
    # names are checked in a set, not against every sheet: the same refusals, the same
    # default names, for sheets added before and after a refused one
    wb = Workbook(str(tmp_path / "x.xlsx"))
    assert wb.add_worksheet("Rep A").name == "Rep A"
    assert wb.add_worksheet().name == "Sheet2"
    for taken in ("rep a", "REP A", "sheet2"):
        with pytest.raises(xlsxwriter.exceptions.DuplicateWorksheetName, match="already in use"):
            wb.add_worksheet(taken)
    with pytest.raises(xlsxwriter.exceptions.InvalidWorksheetName):
        wb.add_worksheet("a/b")
    assert wb.add_worksheet("Rep B").name == "Rep B"
    with pytest.raises(xlsxwriter.exceptions.DuplicateWorksheetName):
        wb.add_worksheet("rep b")
    assert [ws.name for ws in wb.worksheets()] == ["Rep A", "Sheet2", "Rep B"]
    wb.close()
