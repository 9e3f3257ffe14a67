"""The output folder: spreadsheet-safe CSV, atomic replacement, byte-identical reruns."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tierwise.errors import Problems, SettingsError
from tierwise.io import outputs
from tierwise.io.outputs import (
    MARKER,
    STAGING,
    OutputFolder,
    _exchange,
    neutralise_formulas,
    record_rewrite,
    restore_formulas,
    write_csv,
)
from tierwise.pipeline import run_pipeline

TODAY = dt.date(2025, 1, 15)


# -- formula neutralisation ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+1+1", "-2+3", "-A1", "@SUM(A1)", "\tcmd", "\rcmd", '=HYPERLINK("http://x","y")'],
)
def test_csv_text_cells_that_a_spreadsheet_would_run_get_an_apostrophe(
    tmp_path: Path, text: str
) -> None:
    p = tmp_path / "t.csv"
    write_csv(pa.table({"name": [text, "Acme"]}), p)
    with p.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows == [["name"], ["'" + text], ["Acme"]]


@pytest.mark.parametrize("text", ["-4", "-1.234,50", "-12.5", "-0.5", "-0"])
def test_a_plain_negative_number_in_text_is_written_as_it_was(tmp_path: Path, text: str) -> None:
    p = tmp_path / "t.csv"
    write_csv(pa.table({"value": [text]}), p)
    with p.open(newline="", encoding="utf-8") as f:
        assert list(csv.reader(f)) == [["value"], [text]]


@pytest.mark.parametrize("text", ["+44", "+1", "+1.5", "-0012", "-007.5"])
def test_a_number_a_spreadsheet_would_show_otherwise_gets_an_apostrophe(
    tmp_path: Path, text: str
) -> None:
    # Excel opens +44 as 44 and -0012 as -12: an id so written would no longer match
    p = tmp_path / "t.csv"
    write_csv(pa.table({"customer_id": [text]}), p)
    with p.open(newline="", encoding="utf-8") as f:
        assert list(csv.reader(f)) == [["customer_id"], ["'" + text]]
    assert restore_formulas(pa.array(["'" + text])).to_pylist() == [text]


def test_numbers_stay_numbers_and_safe_text_is_unchanged(tmp_path: Path) -> None:
    table = pa.table(
        {
            "customer_id": ["-7", "A=1", "x@y", None],
            "revenue": [-12.5, 3.0, 0.0, None],
            "n": pa.array([-1, 2, 3, 4], pa.int64()),
            "day": pa.array([dt.date(2024, 1, 2)] * 4, pa.date32()),
        }
    )
    p = tmp_path / "t.csv"
    write_csv(table, p)
    lines = p.read_text(encoding="utf-8").splitlines()
    assert lines[0] == '"customer_id","revenue","n","day"'
    # the text id "-7" is a plain number a spreadsheet cannot run: written as it was; the
    # numbers -12.5 and -1 stay bare
    assert lines[1] == '"-7",-12.5,-1,2024-01-02'
    assert lines[2] == '"A=1",3,2,2024-01-02'
    assert lines[3] == '"x@y",0,3,2024-01-02'


@pytest.mark.parametrize("locale", ["default", "excel-de"])
def test_a_negative_zero_is_written_as_0(tmp_path: Path, locale: str) -> None:
    # e.g. returns_rate = -0.0 / n: "-0" in a spreadsheet reads as a figure that is not zero
    t = pa.table({"returns_rate": [-0.0, 0.0, -0.5, None], "n": pa.array([0, 1, 2, 3], pa.int64())})
    p = tmp_path / "t.csv"
    write_csv(t, p, locale=locale)
    text = p.read_text(encoding="utf-8-sig")
    sep = "," if locale == "default" else ";"
    rows = [line.split(sep) for line in text.splitlines()[1:]]
    assert [r[0].strip('"') for r in rows] == ["0", "0", "-0.5" if sep == "," else "-0,5", ""]
    assert "-0" + sep not in text and not any(r[0].strip('"') == "-0" for r in rows)


def test_a_table_that_went_through_pandas_gives_the_same_parquet_bytes(tmp_path: Path) -> None:
    # Spark hands some results over through pandas, whose description of the index rides
    # along in the schema's metadata; the file must not depend on the engine that made it
    t = pa.table({"item": ["a", "b"], "n": [1, 2]})
    via_pandas = pa.Table.from_pandas(t.to_pandas())
    assert via_pandas.schema.metadata and b"pandas" in via_pandas.schema.metadata
    outputs.write_parquet(t, tmp_path / "plain.parquet")
    outputs.write_parquet(via_pandas, tmp_path / "via_pandas.parquet")
    assert (tmp_path / "plain.parquet").read_bytes() == (
        tmp_path / "via_pandas.parquet"
    ).read_bytes()
    assert pq.read_table(tmp_path / "via_pandas.parquet").equals(t)


@pytest.mark.parametrize("locale", ["default", "excel-de"])
def test_a_nan_or_infinite_figure_is_an_empty_cell_and_a_parquet_null(
    tmp_path: Path, locale: str
) -> None:
    # e.g. net_profit_then of a mover whose previous figure was missing: a NumPy NaN
    t = pa.table(
        {
            "net_profit_then": pa.array([float("nan"), 1.5, float("inf"), None], pa.float64()),
            "share": pa.array([float("-inf"), 0.5, 0.25, float("nan")], pa.float32()),
            "n": [1, 2, 3, 4],
        }
    )
    with OutputFolder(tmp_path / "out", csv_locale=locale) as out:
        out.write_table("class_movers", t)
    text = (tmp_path / "out" / "class_movers.csv").read_text(encoding="utf-8-sig")
    sep = "," if locale == "default" else ";"
    rows = [[c.strip('"') for c in line.split(sep)] for line in text.splitlines()[1:]]
    assert [r[0] for r in rows] == ["", "1.5" if sep == "," else "1,5", "", ""]
    assert [r[1] for r in rows] == [
        "",
        "0.5" if sep == "," else "0,5",
        "0.25" if sep == "," else "0,25",
        "",
    ]
    assert not any(w in text.lower() for w in ("nan", "inf"))
    back = pq.read_table(tmp_path / "out" / "class_movers.parquet")
    assert back.column("net_profit_then").to_pylist() == [None, 1.5, None, None]
    assert back.column("share").to_pylist() == [None, 0.5, 0.25, None]
    assert back.schema == t.schema


def test_list_cells_are_joined_and_neutralised() -> None:
    t = pa.table({"member_ids": pa.array([["=a", "b"], ["c"], None], pa.list_(pa.string()))})
    assert neutralise_formulas(t).column("member_ids").to_pylist() == ["'=a;b", "c", None]


@pytest.mark.parametrize("locale", ["default", "excel-de"])
def test_a_nul_in_text_is_written_as_the_replacement_character(tmp_path: Path, locale: str) -> None:
    t = pa.table(
        {
            "name": ["Acme\x00Ltd", "Beta", None, "=\x00"],
            "tags": pa.array([["a\x00b"], [], None, ["c"]], pa.list_(pa.string())),
            "n": [1, 2, 3, 4],
        }
    )
    path = tmp_path / "t.csv"
    write_csv(t, path, locale=locale)
    data = path.read_bytes()
    assert b"\x00" not in data
    with path.open(newline="", encoding="utf-8-sig") as f:  # Python's csv refuses a NUL
        rows = list(csv.reader(f, delimiter=";" if locale == "excel-de" else ","))
    assert [r[0] for r in rows[1:]] == ["Acme\ufffdLtd", "Beta", "", "'=\ufffd"]
    assert rows[1][1] == "a\ufffdb"


def test_every_formula_start_is_quoted_and_plain_numbers_and_other_text_are_not() -> None:
    cells = ["=1", "+A1", "-x", "@SUM(A1)", "\tx", "\rx", "-4", "+1.5", "-1.234,50", "é=1",
             "a=1", " =1", "", None, "€"]  # fmt: skip
    out = neutralise_formulas(pa.table({"t": cells})).column("t").to_pylist()
    assert out == ["'=1", "'+A1", "'-x", "'@SUM(A1)", "'\tx", "'\rx", "-4", "'+1.5", "-1.234,50",
                   "é=1", "a=1", " =1", "", None, "€"]  # fmt: skip


# -- atomic output folder -------------------------------------------------------------------


def _good_folder(target: Path) -> None:
    with OutputFolder(target) as out:
        out.write_table("customers", pa.table({"customer_id": ["A"], "revenue": [1.0]}))
        out.write_json("manifest.json", {"run": 1})


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def _as_values_table(n: int) -> tuple[pa.Table, pa.Table]:
    """A table with a text column marked AS_VALUES (dictionary-encoded, with formula-like
    and NUL values, many distinct values so that Parquet's dictionary page overflows) in odd
    pieces, and the same table as plain text in the same pieces."""
    import numpy as np

    words = np.array(["=SUM(A1)", "plain", "-x", "a\x00b", None, "12,5"], dtype=object)
    many = np.array([f"sentence {i:07d}" for i in range(n)], dtype=object)
    rng = np.random.default_rng(0)
    text = np.where(rng.random(n) < 0.5, words[rng.integers(0, len(words), n)], many)
    plain = pa.array(text, pa.string())
    lengths = [1000, 122880, 4240, 250000, 1, n - 378121]
    starts = np.cumsum([0, *lengths[:-1]])

    def pieces(a: pa.Array) -> pa.ChunkedArray:
        return pa.chunked_array([a.slice(int(o), k) for o, k in zip(starts, lengths, strict=True)])

    num = pa.array(rng.normal(size=n))
    encoded = pc.dictionary_encode(plain)
    field = pa.field("reason", encoded.type, metadata=outputs.AS_VALUES)
    lean = pa.table([pieces(num), pieces(encoded)], schema=pa.schema([("x", pa.float64()), field]))
    full = pa.table({"x": pieces(num), "reason": pieces(plain)})
    return lean, full


def test_a_column_kept_encoded_is_written_as_its_values_byte_for_byte(tmp_path: Path) -> None:
    # more rows than a Parquet row group: the file is written a row group at a time
    lean, full = _as_values_table(1024 * 1024 + 5000)
    for locale in ("default", "excel-de"):
        write_csv(lean, tmp_path / "lean.csv", locale=locale)
        write_csv(full, tmp_path / "full.csv", locale=locale)
        assert (tmp_path / "lean.csv").read_bytes() == (tmp_path / "full.csv").read_bytes()
    outputs.write_parquet(lean, tmp_path / "lean.parquet")
    outputs.write_parquet(full, tmp_path / "full.parquet")
    assert (tmp_path / "lean.parquet").read_bytes() == (tmp_path / "full.parquet").read_bytes()
    assert pq.ParquetFile(tmp_path / "lean.parquet").metadata.num_row_groups == 2
    text = (tmp_path / "full.csv").read_text(encoding="utf-8-sig")
    assert "'=SUM(A1)" in text and "\x00" not in text


def test_a_dictionary_column_not_marked_is_written_as_it_is(tmp_path: Path) -> None:
    t = pa.table({"kind": pc.dictionary_encode(pa.array(["a", "b", "a"]))})
    outputs.write_parquet(t, tmp_path / "t.parquet")
    assert pa.types.is_dictionary(pq.read_schema(tmp_path / "t.parquet").field("kind").type)


def test_a_write_that_fails_midway_leaves_the_previous_folder_intact(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _good_folder(target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(TypeError), OutputFolder(target) as out:
        out.write_table("customers", pa.table({"customer_id": ["B", "C"], "revenue": [2.0, 3.0]}))
        out.write_json("manifest.json", {"bad": object()})  # not JSON: fails mid-write
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert _leftovers(tmp_path) == []  # the half-written temp folder is gone


def test_a_large_tables_two_files_written_at_once_are_those_written_one_by_one(
    tmp_path: Path,
) -> None:
    # from _PARALLEL_ROWS rows the Parquet file is written in a second thread while the CSV
    # is written: the same bytes as each written alone, and a failure still surfaces
    from tierwise.io.outputs import _PARALLEL_ROWS, write_parquet

    n = _PARALLEL_ROWS + 7
    table = pa.table(
        {
            "customer_id": [f"C{i:06d}" for i in range(n)],
            "note": ["=cmd()" if i % 97 == 0 else f"n{i}" for i in range(n)],
            "revenue": [i * 0.25 - 100.0 for i in range(n)],
        }
    )
    target = tmp_path / "out"
    with OutputFolder(target, csv_locale="excel-de") as out:
        out.write_table("customers", table)
    write_parquet(table, tmp_path / "alone.parquet")
    write_csv(table, tmp_path / "alone.csv", locale="excel-de")
    assert (target / "customers.parquet").read_bytes() == (tmp_path / "alone.parquet").read_bytes()
    assert (target / "customers.csv").read_bytes() == (tmp_path / "alone.csv").read_bytes()


@pytest.mark.parametrize("locale", ["default", "excel-de"])
def test_a_csv_written_in_pieces_is_the_csv_written_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, locale: str
) -> None:
    # a large table is rendered in pieces on several threads and written in order: one
    # header, every row once, in order, each cell as in one piece (formulas, NUL, -0.0,
    # NaN, lists, dates, nulls)
    n = 1_000
    table = pa.table(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "note": [
                ["=cmd()", "a\x00b", None, "plain", "-x"][i % 5] if i % 3 else None
                for i in range(n)
            ],
            "tags": [["=x", "y"] if i % 4 == 0 else ["z"] for i in range(n)],
            "rate": [[-0.0, float("nan"), float("inf"), None, i * 0.1][i % 5] for i in range(n)],
            "day": [dt.date(2024, 1, 1) + dt.timedelta(days=i % 366) for i in range(n)],
            "n": list(range(n)),
        }
    )
    monkeypatch.setattr(outputs, "_CSV_PIECE_ROWS", 10**9)
    write_csv(table, tmp_path / "one.csv", locale=locale)
    monkeypatch.setattr(outputs, "_CSV_PIECE_ROWS", 37)
    monkeypatch.setattr(outputs.os, "cpu_count", lambda: 3)
    write_csv(table, tmp_path / "pieces.csv", locale=locale)
    one = (tmp_path / "one.csv").read_bytes()
    assert (tmp_path / "pieces.csv").read_bytes() == one
    assert one.count(b"customer_id") == 1 and len(one.splitlines()) == n + 1


@pytest.mark.parametrize("cores", [1, 3])
def test_a_column_kept_encoded_is_written_from_its_dictionary_in_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cores: int
) -> None:
    # the text is never decoded in Python (the CSV writer decodes each piece's rows), each
    # dictionary is made safe once, on one thread or several, and the file is the plain
    # text's written in one piece
    n = 1_000
    words = ["=SUM(A1)", "plain", None, "a\x00b", "12,5", "-x"]
    plain = pa.array([words[i % 6] if i % 7 else f"sentence {i}" for i in range(n)])
    encoded = pc.dictionary_encode(plain)
    field = pa.field("reason", encoded.type, metadata=outputs.AS_VALUES)
    lean = pa.table([pa.array(range(n)), encoded], schema=pa.schema([("n", pa.int64()), field]))
    full = pa.table({"n": pa.array(range(n)), "reason": plain})
    monkeypatch.setattr(outputs, "_CSV_PIECE_ROWS", 10**9)
    write_csv(full, tmp_path / "one.csv", locale="excel-de")
    decoded = []
    real = outputs._decoded

    def counted(table: pa.Table) -> pa.Table:
        if outputs._has_values_only(table):
            decoded.append(table.num_rows)
        return real(table)

    made_safe = []
    real_quote = outputs._quote_formulas

    def quote(col: pa.Array) -> pa.Array:
        made_safe.append(len(col))
        return real_quote(col)

    monkeypatch.setattr(outputs, "_decoded", counted)
    monkeypatch.setattr(outputs, "_quote_formulas", quote)
    monkeypatch.setattr(outputs, "_CSV_PIECE_ROWS", 37)
    monkeypatch.setattr(outputs.os, "cpu_count", lambda: cores)
    write_csv(lean, tmp_path / "pieces.csv", locale="excel-de")
    assert (tmp_path / "pieces.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    assert decoded == []
    assert len(encoded.dictionary) in made_safe


def test_control_characters_in_text_are_written_as_the_replacement_character(
    tmp_path: Path,
) -> None:
    # product ids and categories from a hostile export: a bell, an escape sequence that
    # would recolour or clear a terminal showing the file, a form feed, DEL; the tab and
    # the line breaks of a multi-line cell are kept; a dictionary-encoded column too
    ids = ["SKU\x0700081\x1b[31m", "Hand\x0cTools", "ok", "a\tb\nc\rd", "x\x7f"]
    category = pa.array(["Plumb\x1b[2Jing", "B", "B", "B", "B"]).dictionary_encode()
    field = pa.field("product_category", category.type, metadata=outputs.AS_VALUES)
    t = pa.table({"product_id": ids}).append_column(field, category)
    path = tmp_path / "t.csv"
    write_csv(t, path)
    data = path.read_bytes()
    assert not any(b in data for b in (b"\x07", b"\x1b", b"\x0c", b"\x7f"))
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert [r[0] for r in rows[1:]] == [
        "SKU\ufffd00081\ufffd[31m",
        "Hand\ufffdTools",
        "ok",
        "a\tb\nc\rd",
        "x\ufffd",
    ]
    assert rows[1][1] == "Plumb\ufffd[2Jing"


def test_chunks_with_their_own_dictionaries_are_written_as_their_values(tmp_path: Path) -> None:
    # each chunk's dictionary is made safe on its own: a formula or a NUL in the second
    # chunk's dictionary only, a value no row uses, a dictionary shared by two chunks
    first = pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 0]), pa.array(["ok", "fine"]))
    second = pa.DictionaryArray.from_arrays(
        pa.array([2, 0, 1, 0]), pa.array(["=1+1", "a\x00b", "-4", "@unused"])
    )
    chunks = [first, second, first.slice(1)]
    field = pa.field("reason", first.type, metadata=outputs.AS_VALUES)
    lean = pa.table([pa.chunked_array(chunks)], schema=pa.schema([field]))
    full = pa.table({"reason": pa.chunked_array([c.dictionary_decode() for c in chunks])})
    for locale in ("default", "excel-de"):
        write_csv(lean, tmp_path / "lean.csv", locale=locale)
        write_csv(full, tmp_path / "full.csv", locale=locale)
        assert (tmp_path / "lean.csv").read_bytes() == (tmp_path / "full.csv").read_bytes()
    rows = (tmp_path / "full.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[5:9] == ['"-4"', '"\'=1+1"', '"a\ufffdb"', '"\'=1+1"']


def test_encoded_text_without_the_mark_has_its_formulas_neutralised_in_csv(
    tmp_path: Path,
) -> None:
    # a dictionary-encoded text column a stage does not mark is written as its values too:
    # the same bytes as its plain text, formulas and NULs made safe
    codes = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, 2, None]), pa.array(["=HYPERLINK(1)", "ok", "a\x00b"])
    )
    write_csv(pa.table({"step": codes}), tmp_path / "lean.csv")
    write_csv(pa.table({"step": codes.dictionary_decode()}), tmp_path / "full.csv")
    assert (tmp_path / "lean.csv").read_bytes() == (tmp_path / "full.csv").read_bytes()
    rows = (tmp_path / "lean.csv").read_text(encoding="utf-8").splitlines()
    assert rows[1:4] == ['"\'=HYPERLINK(1)"', '"ok"', '"a\ufffdb"']


def test_encoded_numbers_marked_as_values_are_written_as_their_values(tmp_path: Path) -> None:
    codes = pa.DictionaryArray.from_arrays(pa.array([1, 0, None, 1]), pa.array([-0.0, 2.5]))
    field = pa.field("x", codes.type, metadata=outputs.AS_VALUES)
    lean = pa.table([codes], schema=pa.schema([field]))
    write_csv(lean, tmp_path / "lean.csv")
    write_csv(pa.table({"x": codes.dictionary_decode()}), tmp_path / "full.csv")
    assert (tmp_path / "lean.csv").read_bytes() == (tmp_path / "full.csv").read_bytes()


def test_a_failure_writing_parquet_beside_the_csv_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the Parquet file of a large table is written in a second thread: its error must
    # reach the caller (and leave the previous output) as one in the caller's thread does

    def disk_full(table: pa.Table, path: Path) -> None:
        raise OSError(28, "No space left on device")

    target = tmp_path / "out"
    _good_folder(target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    monkeypatch.setattr(outputs, "write_parquet", disk_full)
    n = outputs._PARALLEL_ROWS
    with pytest.raises(OSError, match="No space"), OutputFolder(target) as out:
        out.write_table("customers", pa.table({"customer_id": [f"C{i}" for i in range(n)]}))
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before


def test_commit_replaces_a_folder_it_wrote(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _good_folder(target)
    with OutputFolder(target) as out:
        out.write_json("manifest.json", {"run": 2})
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "manifest.json"]
    assert '"run": 2' in (target / "manifest.json").read_text()
    assert _leftovers(tmp_path) == []


def test_a_file_added_to_an_output_folder_stops_the_next_run(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _good_folder(target)
    (target / "notes.docx").write_text("mine\n")
    with pytest.raises(SettingsError, match=r"files were added .*notes\.docx"):
        OutputFolder(target)
    assert (target / "notes.docx").read_text() == "mine\n"


def test_a_file_edited_in_an_output_folder_stops_the_next_run(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _good_folder(target)
    # a note typed into a table of the output, the size unchanged
    text = (target / "customers.csv").read_text().replace("A", "Z")
    (target / "customers.csv").write_text(text)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(SettingsError) as err:
        OutputFolder(target)
    message = str(err.value)
    assert "customers.csv was changed since tierwise wrote it" in message
    assert "copy your changes elsewhere" in message and "another output folder" in message
    assert "\n" not in message
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert _leftovers(tmp_path) == []


def test_a_folder_copied_with_new_file_times_is_not_taken_as_edited(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _good_folder(target)
    for p in target.iterdir():
        os.utime(p, ns=(1_000_000_000, 1_000_000_000))  # same bytes, other times
    with OutputFolder(target) as out:
        out.write_json("manifest.json", {"run": 2})
    assert '"run": 2' in (target / "manifest.json").read_text()


def test_a_folder_marked_before_checksums_were_recorded_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _good_folder(target)
    (target / MARKER).write_text(
        '{"written_by": "tierwise", "files": ["customers.csv", "customers.parquet", '
        '"manifest.json"]}'
    )
    (target / "customers.csv").write_text("edited, but nothing to compare with\n")
    with OutputFolder(target) as out:
        out.write_json("manifest.json", {"run": 2})
    assert '"run": 2' in (target / "manifest.json").read_text()


def test_a_file_tierwise_rewrote_in_place_is_not_taken_as_edited(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _good_folder(target)
    (target / "manifest.json").write_text('{"rebuilt": true}\n')
    record_rewrite(target, "manifest.json")
    with OutputFolder(target) as out:
        out.write_json("manifest.json", {"run": 2})
    assert '"run": 2' in (target / "manifest.json").read_text()


def test_an_edited_file_the_run_reads_first_may_be_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _good_folder(target)
    (target / "customers.csv").write_text("customer_id,decision\nA,confirm\n")
    with pytest.raises(SettingsError, match=r"customers\.csv was changed"):
        OutputFolder(target)
    with OutputFolder(target, read_first=["customers.csv"]) as out:
        out.write_json("manifest.json", {"run": 2})
    assert '"run": 2' in (target / "manifest.json").read_text()


def test_the_swap_is_one_step_on_linux(tmp_path: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("RENAME_EXCHANGE is a Linux system call")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    assert _exchange(a, b)
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_leftovers_of_a_killed_run_are_cleaned_by_the_next(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _good_folder(target)
    # a run killed mid-write leaves its staging folder (neither committed nor aborted)
    killed = OutputFolder(target)
    killed.write_table("customers", pa.table({"customer_id": ["half"]}))
    assert killed.tmp.exists()
    # a folder of the user's that happens to look alike is left alone (no proof)
    mine = tmp_path / ".out.tmp-999999999-mine"
    mine.mkdir()
    (mine / MARKER).write_text('{"written_by": "tierwise", "files": []}')
    _good_folder(target)
    assert not killed.tmp.exists()
    assert mine.exists()


def test_a_users_copy_of_the_output_named_like_a_leftover_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _good_folder(target)
    # the user's backup of last year's output, marker and all
    backup = tmp_path / ".out.old-2024"
    shutil.copytree(target, backup)
    before = {p.name: p.read_bytes() for p in backup.iterdir()}
    _good_folder(target)
    assert {p.name: p.read_bytes() for p in backup.iterdir()} == before
    assert STAGING not in os.listdir(target)


def test_a_replaced_output_left_by_a_killed_run_is_cleaned_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out"
    _good_folder(target)
    # the run is killed after the swap, before it deletes the output it replaced
    with monkeypatch.context() as m:
        m.setattr(outputs.shutil, "rmtree", lambda *a, **k: None)
        _good_folder(target)
    retired = [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert len(retired) == 1 and (retired[0] / STAGING).is_file()
    _good_folder(target)
    assert _leftovers(tmp_path) == []


def test_without_the_one_step_swap_the_folder_is_replaced_by_two_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out"
    _good_folder(target)
    backup = tmp_path / ".out.old-2024"  # a user's copy named like a retired folder
    shutil.copytree(target, backup)
    monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    with OutputFolder(target) as out:
        out.write_json("manifest.json", {"run": 2})
    assert '"run": 2' in (target / "manifest.json").read_text()
    assert STAGING not in os.listdir(target)
    assert _leftovers(tmp_path) == [".out.old-2024"]


def test_output_folders_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        _good_folder(tmp_path / "out")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755


def test_every_file_of_a_run_follows_the_umask(tmp_path: Path) -> None:
    # report.html and plan.xlsx are written through private temporary files (mode 0600);
    # they end with the mode every other file has
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,revenue\nA,2024-01-02,10\nB,2024-02-03,20\n", "utf-8")
    out = tmp_path / "out"
    old = os.umask(0o027)
    try:
        run_pipeline({"transactions": tx}, out_dir=out, today=TODAY, stages=["features"])
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert {"report.html", "plan.xlsx", "customers.csv", MARKER} <= set(modes)
    assert {name: mode for name, mode in modes.items() if mode != 0o640} == {}


def test_a_run_that_fails_leaves_the_last_good_output(tmp_path: Path) -> None:
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,revenue\nA,2024-01-02,10\n", encoding="utf-8")
    out = tmp_path / "out"
    run_pipeline({"transactions": tx}, out_dir=out, today=TODAY)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad.csv"
    bad.write_text("customer,when\nA,2024-01-02\n", encoding="utf-8")
    with pytest.raises(Problems, match="required column 'date' is missing"):
        run_pipeline({"transactions": bad}, out_dir=out, today=TODAY)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _leftovers(tmp_path) == []


# -- determinism ------------------------------------------------------------------------------

TX = """customer_id;date;revenue;order_id;quantity;cost;product_id
B;2024-03-01;1.234,50;SO1;2;700;P1
A;2024-03-02;=cmd|' /C calc'!A0;SO2;1;10;P2
A;2024-03-02;100;SO2;1;60;P1
A;2024-04-01;-20;C3;-1;-12;P1
C;31.12.2024;50;SO4;1;;@P9
;2024-03-01;10;SO5;1;5;P1
D;2030-01-01;10;SO6;1;5;P1
B;2024-05-05;250;SO7;5;150;P3
"""

CUSTOMERS = """customer_id,name,city
A,=HYPERLINK("x"),Berlin
B,Beta GmbH,München
B,Beta duplicate,Köln
C,+Gamma,Paris
"""


def test_two_runs_give_byte_identical_tables(tmp_path: Path) -> None:
    tx = tmp_path / "tx.csv"
    tx.write_text(TX, encoding="utf-8")
    cust = tmp_path / "customers.csv"
    cust.write_text(CUSTOMERS, encoding="utf-8")
    inputs = {"transactions": tx, "customers": cust}
    r1 = run_pipeline(inputs, out_dir=tmp_path / "out1", today=TODAY)
    r2 = run_pipeline(inputs, out_dir=tmp_path / "out2", today=TODAY)
    for name in ("customers.parquet", "customers.csv", "rejects.csv"):
        b1 = (tmp_path / "out1" / name).read_bytes()
        assert b1 == (tmp_path / "out2" / name).read_bytes(), name
    # the run is non-trivial: rejects, neutralised text, every input row accounted for
    acc = r1.manifest["inputs"]["transactions"]
    assert (acc["rows_read"], acc["rows_used"], acc["rows_rejected"]) == (8, 5, 3)
    assert r2.manifest["inputs"] == r1.manifest["inputs"]
    assert pq.read_table(tmp_path / "out1" / "customers.parquet").num_rows == 3
    text = (tmp_path / "out1" / "customers.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "'+Gamma" in text
    rejects = (tmp_path / "out1" / "rejects.csv").read_text(encoding="utf-8")
    assert "'=cmd" in rejects  # the rejected value is neutralised too


def test_a_nul_in_a_customer_name_reaches_no_csv_of_the_output(tmp_path: Path) -> None:
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,revenue\nC1,2024-01-05,10\nC2,2024-02-05,20\n")
    cust = tmp_path / "cust.csv"
    cust.write_bytes(b'customer_id,name\nC1,"Acme\x00Ltd"\nC2,Beta\n')
    out = tmp_path / "out"
    run_pipeline({"transactions": tx, "customers": cust}, out_dir=out, today=TODAY)
    written = {p.name: p.read_bytes() for p in out.glob("*.csv")}
    # validation removes the NUL from the name (a control character a name has no use
    # for), and no CSV of the output holds one
    assert b'"AcmeLtd"' in written["customers.csv"]
    assert [name for name, data in written.items() if b"\x00" in data] == []


def test_the_marker_records_the_sha256_of_each_file_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the tables' files are hashed as they are written (a CSV in pieces, a Parquet file in a
    # second thread): the marker holds the SHA-256 of the bytes on disk, as for other files
    import hashlib
    import json

    monkeypatch.setattr(outputs, "_CSV_PIECE_ROWS", 1000)
    n = outputs._PARALLEL_ROWS + 3
    table = pa.table(
        {"customer_id": [f"C{i:06d}" for i in range(n)], "x": [i / 7 for i in range(n)]}
    )
    target = tmp_path / "out"
    with OutputFolder(target, csv_locale="excel-de") as out:
        out.write_table("customers", table)
        out.write_table("small", table.slice(0, 10))
        out.write_table("customers", table.slice(0, 5), parquet=False)  # written again
        out.write_json("manifest.json", {"ok": True})
    sums = json.loads((target / MARKER).read_text())["checksums"]
    assert set(sums) == {p.name for p in target.iterdir() if p.name != MARKER}
    for name, stamp in sums.items():
        assert stamp["sha256"] == hashlib.sha256((target / name).read_bytes()).hexdigest(), name
        assert stamp["size"] == (target / name).stat().st_size


def test_a_wide_table_is_written_in_pieces_of_fewer_rows_with_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pieces hold about as many cells whatever the width: 12 columns, 120 cells a piece,
    # so pieces of 10 rows; the file is the one written in one piece
    n = 1_000
    table = pa.table(
        {
            **{
                f"x{j}": [(i * (j + 1)) / 7 if i % 11 else None for i in range(n)] for j in range(8)
            },
            "name": [["=1+1", "Acme", "a\x00b", None][i % 4] for i in range(n)],
            "day": [dt.date(2024, 1, 1) + dt.timedelta(days=i % 366) for i in range(n)],
            "n": list(range(n)),
            "flag": [i % 3 == 0 for i in range(n)],
        }
    )
    monkeypatch.setattr(outputs, "_CSV_PIECE_ROWS", 10**9)
    write_csv(table, tmp_path / "one.csv", locale="excel-de")
    pieces = []
    real = pacsv.write_csv

    def counted(piece: pa.Table, *args: Any, **kwargs: Any) -> None:
        pieces.append(piece.num_rows)
        real(piece, *args, **kwargs)

    monkeypatch.setattr(outputs.pacsv, "write_csv", counted)
    monkeypatch.setattr(outputs, "_CSV_PIECE_CELLS", 120)
    monkeypatch.setattr(outputs.os, "cpu_count", lambda: 2)
    write_csv(table, tmp_path / "pieces.csv", locale="excel-de")
    assert pieces == [10] * 100
    assert (tmp_path / "pieces.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()


@pytest.mark.parametrize("code", [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
def test_any_one_control_character_among_plain_text_is_shown_as_u_fffd(code: int) -> None:
    # whether a column holds one is told from its bytes before any rule runs over it: one
    # such character among plain text, tabs and line breaks must still be found
    col = pa.array(["plain", "tab\tline\nbreak\rcr", f"a{chr(code)}b", None, "Köln"])
    assert outputs.visible_controls(col).to_pylist() == [
        "plain",
        "tab\tline\nbreak\rcr",
        "a\ufffdb",
        None,
        "Köln",
    ]


def test_a_column_of_tabs_and_line_breaks_is_written_as_it_is() -> None:
    col = pa.chunked_array([["plain", "tab\tline\nbreak\rcr"], [None, "x"]])
    assert outputs.visible_controls(col) is col
