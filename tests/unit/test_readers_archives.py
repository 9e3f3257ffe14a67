"""Compressed exports (tx.csv.gz, .bz2, .xz) and a zip archive holding one file are read as
the file inside them, with its own line numbers; an archive of several files, or one cut
short, is refused in one line naming the file."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tierwise.engine import Engine
from tierwise.errors import InputError
from tierwise.io import read_input
from tierwise.io.sample import read_sample
from tierwise.settings import TableInput

CSV = "Kunde;Datum;Umsatz\nK1;02.01.2024;10,5\nK2;03.01.2024;20\n"


def _rows(raw, engine: Engine) -> list[tuple]:
    return [
        (r["_row"], r["Kunde"], r["Umsatz"])
        for r in engine.to_arrow(raw.table.order_by("_row")).to_pylist()
    ]


@pytest.mark.parametrize(
    ("suffix", "pack"),
    [
        (".csv.gz", gzip.compress),
        (".csv.bz2", bz2.compress),
        (".csv.xz", lzma.compress),
        # a name that says nothing of the compression: the first bytes tell
        (".csv", gzip.compress),
    ],
)
def test_a_compressed_csv_is_read_as_the_csv_inside(
    tmp_path: Path, engine: Engine, suffix: str, pack
) -> None:
    path = tmp_path / f"tx{suffix}"
    path.write_bytes(pack(CSV.encode("utf-8")))
    raw = read_input("transactions", str(path), TableInput(), engine)
    assert raw.source_columns == ["Kunde", "Datum", "Umsatz"]
    assert _rows(raw, engine) == [(2, "K1", "10,5"), (3, "K2", "20")]
    assert raw.path == str(path)
    # init reads it too, under the name the user gave
    sample = read_sample(path, name="transactions")
    assert sample.columns == ["Kunde", "Datum", "Umsatz"] and sample.path == str(path)
    assert sample.delimiter == ";"


def test_a_zip_archive_of_one_file_is_read_as_that_file(tmp_path: Path, engine: Engine) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("export/", "")
        z.writestr("__MACOSX/export/._umsatz.csv", b"\x00\x05")
        z.writestr("export/umsatz.csv", CSV)
    raw = read_input("transactions", str(path), TableInput(), engine)
    assert _rows(raw, engine) == [(2, "K1", "10,5"), (3, "K2", "20")]
    # an archive holding a workbook reads the workbook; a workbook is no archive
    wb = openpyxl.Workbook()
    ws = wb.active
    for line in CSV.splitlines():
        ws.append(line.split(";"))
    wb.save(tmp_path / "umsatz.xlsx")
    with zipfile.ZipFile(tmp_path / "book.zip", "w") as z:
        z.write(tmp_path / "umsatz.xlsx", "umsatz.xlsx")
    for given in ("book.zip", "umsatz.xlsx"):
        raw = read_input("transactions", str(tmp_path / given), TableInput(), engine)
        assert _rows(raw, engine) == [(2, "K1", "10,5"), (3, "K2", "20")]


def test_an_archive_of_several_files_or_none_is_refused(tmp_path: Path, engine: Engine) -> None:
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("2023.csv", CSV)
        z.writestr("2024.csv", CSV)
    with pytest.raises(InputError) as err:
        read_input("transactions", str(path), TableInput(), engine)
    line = err.value.one_line()
    assert line.startswith(f"{path}: the zip archive holds 2 files ('2023.csv', '2024.csv')")
    assert "unpack it" in line
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as z:
        z.writestr("folder/", "")
    with pytest.raises(InputError, match="the zip archive holds no file"):
        read_input("transactions", str(tmp_path / "empty.zip"), TableInput(), engine)


def test_a_compressed_file_cut_short_is_refused_in_one_line(tmp_path: Path, engine: Engine) -> None:
    whole = gzip.compress((CSV * 200).encode("utf-8"))
    path = tmp_path / "tx.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError) as err:
        read_input("transactions", str(path), TableInput(), engine)
    line = err.value.one_line()
    assert line.startswith(f"{path}: cannot unpack it (gzip)")
    assert "\n" not in line and "cut short" in line


def test_a_decompression_bomb_is_stopped_in_one_line(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tierwise.io.readers as readers

    # the floor lowered from 1 GiB so that the test writes little: 8 MiB of one byte
    # packs into a few KiB, far over 200 times
    monkeypatch.setattr(readers, "_UNPACK_FLOOR", 1 << 20)
    path = tmp_path / "tx.csv.gz"
    path.write_bytes(gzip.compress(H.encode() + b"0" * (8 << 20)))
    with pytest.raises(InputError) as err:
        read_input("transactions", str(path), TableInput(), engine)
    assert "over 200 times its packed size" in err.value.one_line()


H = "customer_id,date,revenue\n"


def test_damaged_nested_and_tar_archives_are_refused_in_one_line(
    tmp_path: Path, engine: Engine
) -> None:
    import io
    import tarfile

    whole = bytearray(gzip.compress((CSV * 500).encode("utf-8")))
    whole[len(whole) // 2 : len(whole) // 2 + 40] = b"\xff" * 40  # a damaged middle
    (tmp_path / "bad.csv.gz").write_bytes(bytes(whole))
    with zipfile.ZipFile(tmp_path / "nested.zip", "w") as z:
        z.writestr("tx.csv.gz", gzip.compress(CSV.encode()))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = CSV.encode()
        info = tarfile.TarInfo("tx.csv")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (tmp_path / "tx.tar.gz").write_bytes(gzip.compress(buf.getvalue()))
    (tmp_path / "tx.tar").write_bytes(buf.getvalue())
    said = {
        "bad.csv.gz": "cannot unpack it (gzip)",
        "nested.zip": "it holds another archive (tx.csv.gz)",
        "tx.tar.gz": "it holds a tar archive (tx.tar)",
        "tx.tar": "this is a tar archive",
    }
    for name, start in said.items():
        with pytest.raises(InputError) as err:
            read_input("transactions", str(tmp_path / name), TableInput(), engine)
        line = err.value.one_line()
        assert line.startswith(f"{tmp_path / name}: {start}"), line
        assert "\n" not in line


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("name", "files", "said"),
    [
        # LibreOffice's own format: a zip file of several parts, the mimetype first
        (
            "umsatz.ods",
            {
                "mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                "content.xml": b"<office:document-content/>",
                "META-INF/manifest.xml": b"<manifest/>",
            },
            "OpenDocument spreadsheet",
        ),
        (
            "umsatz.xlsb",
            {
                "[Content_Types].xml": b"<Types/>",
                "xl/workbook.bin": b"\x83\x01\x00",
                "xl/worksheets/sheet1.bin": b"\x81\x01\x00",
            },
            "Excel binary workbook",
        ),
        ("umsatz.numbers", {"Index/Document.iwa": b"\x00", "Metadata/x.plist": b""}, "Numbers"),
    ],
    ids=["ods", "xlsb", "numbers"],
)
def test_a_spreadsheet_format_not_read_says_to_save_it_as_xlsx_or_csv(
    tmp_path: Path, engine: Engine, name: str, files: dict[str, bytes], said: str
) -> None:
    # each was told as a zip archive of several files ("unpack it") or a damaged workbook
    path = _zip(tmp_path / name, files)
    for read in (
        lambda: read_input("transactions", path, TableInput(), engine),
        lambda: read_sample(path),
    ):
        with pytest.raises(InputError) as info:
            read()
        line = info.value.one_line()
        assert said in line and "xlsx" in line and "CSV" in line and "unpack" not in line
