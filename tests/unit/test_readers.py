"""Loading every supported input format into the engine as a raw table.

Each test writes a tiny file in the format (with the format's own writer: pyarrow, openpyxl,
duckdb, ADBC for PostgreSQL) and checks the values, column names and row numbers that come out.
PostgreSQL tests run against the server in ``TIERWISE_TEST_PG_URL`` (.ci/run starts one).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierwise.errors import InputError, Problems
from tierwise.io import read_input, sniff_csv
from tierwise.io.readers import _check_header
from tierwise.io.sample import read_sample
from tierwise.settings import Settings, TableInput

ACCENTED = ["Müller Gärtnerei", "Société Générale", "Ørsted Åsa", "Café Zoë"]


def _rows(raw, engine) -> list[dict]:
    return engine.to_arrow(raw.table.order_by("_row")).to_pylist()


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# -- CSV: delimiter and encoding sniffed ---------------------------------------------------


@pytest.mark.parametrize(
    "delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"]
)
def test_sniffs_the_delimiter(tmp_path, engine, delimiter):
    lines = [
        ["customer_id", "date", "revenue", "name"],
        ["A1", "2024-01-02", "10.5", "Acme"],
        ["B2", "2024-01-03", "7", "Beta Corp"],
    ]
    path = _write(tmp_path / "tx.csv", "".join(delimiter.join(r) + "\n" for r in lines))
    raw = read_input("transactions", path, TableInput(), engine)
    assert raw.delimiter == delimiter
    assert raw.source_columns == lines[0]
    got = _rows(raw, engine)
    assert [(r["customer_id"], r["revenue"], r["name"], r["_row"]) for r in got] == [
        ("A1", "10.5", "Acme", 2),
        ("B2", "7", "Beta Corp", 3),
    ]


@pytest.mark.parametrize(
    ("encoding", "sniffed"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),  # with a byte-order mark
        ("latin-1", "cp1252"),  # cp1252 is Latin-1 plus the euro sign and curly quotes
        ("cp1252", "cp1252"),
        ("utf-16", "utf-16"),
    ],
)
def test_sniffs_the_encoding_and_keeps_accents(tmp_path, engine, encoding, sniffed):
    text = "customer_id;name;city\n" + "".join(f"C{i};{n};Zürich\n" for i, n in enumerate(ACCENTED))
    path = _write(tmp_path / "customers.csv", text, encoding)
    assert sniff_csv(str(path)).encoding == sniffed
    raw = read_input("customers", path, TableInput(), engine)
    # the BOM must not stick to the first column's name
    assert raw.source_columns == ["customer_id", "name", "city"]
    got = _rows(raw, engine)
    assert [r["name"] for r in got] == ACCENTED
    assert {r["city"] for r in got} == {"Zürich"}


@pytest.mark.engines("duckdb", reason="the encoding is sniffed and decoded in Python")
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_reads_utf16_without_a_byte_order_mark(tmp_path, engine, encoding):
    text = "customer_id;name;city\n" + "".join(f"C{i};{n};Zürich\n" for i, n in enumerate(ACCENTED))
    path = _write(tmp_path / "customers.csv", text, encoding)
    assert not path.read_bytes().startswith((b"\xff\xfe", b"\xfe\xff"))
    assert sniff_csv(str(path)).encoding == encoding
    raw = read_input("customers", path, TableInput(), engine)
    assert raw.source_columns == ["customer_id", "name", "city"]
    assert [r["name"] for r in _rows(raw, engine)] == ACCENTED


def test_reads_the_euro_sign_of_a_windows_export(tmp_path, engine):
    text = "customer_id;name;revenue\nA;Café ‘Le Coq’;12,50 €\n"
    path = _write(tmp_path / "tx.csv", text, "cp1252")
    got = _rows(read_input("transactions", path, TableInput(), engine), engine)
    assert got[0]["name"] == "Café ‘Le Coq’"
    assert got[0]["revenue"] == "12,50 €"


def test_latin1_after_the_first_megabyte_is_read_as_latin1(tmp_path, engine):
    # the encoding is sniffed from the first 1 MiB; a later accented line must still come out
    # intact (not as U+FFFD) and keep its line number
    n = 40_000  # 40,000 lines of ~27 bytes: just over 1 MiB of pure ASCII
    head = "customer_id,name,revenue\n" + "".join(
        f"C{i:06d},plain ascii name,1\n" for i in range(n)
    )
    path = tmp_path / "big.csv"
    path.write_bytes(head.encode("ascii") + "Z,Müller Gärtnerei,2\n".encode("latin-1"))
    assert path.stat().st_size > 1 << 20
    raw = read_input("transactions", path, TableInput(), engine)
    t = raw.table
    last = engine.to_arrow(t.filter(t.customer_id == "Z")).to_pylist()
    assert last == [{"customer_id": "Z", "name": "Müller Gärtnerei", "revenue": "2", "_row": n + 2}]
    assert engine.count(t) == n + 1


def test_the_header_decides_the_delimiter_when_rows_are_ragged(tmp_path, engine):
    # found by the row-accounting property: csv.Sniffer picked the wrong delimiter here
    text = "customer_id;date;revenue\n 8 \n 22 \n 4 ;30.06.2001\n"
    raw = read_input("transactions", _write(tmp_path / "tx.csv", text), TableInput(), engine)
    assert raw.delimiter == ";"
    assert raw.source_columns == ["customer_id", "date", "revenue"]
    assert raw.n_malformed == 3


def test_data_lines_break_a_tie_between_delimiters_in_the_header(tmp_path, engine):
    text = "Kunde;Umsatz, netto;Datum\nA;1,5;02.01.2024\nB;2,5;03.01.2024\n"
    raw = read_input("transactions", _write(tmp_path / "tx.csv", text), TableInput(), engine)
    assert raw.delimiter == ";"
    assert raw.source_columns == ["Kunde", "Umsatz, netto", "Datum"]


def test_settings_encoding_and_delimiter_win_over_sniffing(tmp_path, engine):
    path = _write(tmp_path / "tx.csv", "a;b,c\nx;y,z\n")
    raw = read_input("transactions", path, TableInput(delimiter=",", encoding="latin-1"), engine)
    assert raw.source_columns == ["a;b", "c"]


# -- text aligned in columns (fields apart by runs of blanks) ----------------------------

#: CDNOW's purchases as the file lays them out: a leading blank, columns padded to line up
ALIGNED = (
    " customer_id  date number_of_cds  dollar_value\n"
    " 00001 19970101  1   11.77\n"
    " 00002 19970112  1   12.00\n"
    "\n"
    " 00002 19970112  5   77.00\n"
    " 00003 19970102  2   20.76 extra\n"
    " 00004 19970101  2   29.33\n"
)


def test_text_aligned_in_columns_is_read_field_by_field(tmp_path, engine):
    raw = read_input("transactions", _write(tmp_path / "tx.txt", ALIGNED), TableInput(), engine)
    assert raw.source_columns == ["customer_id", "date", "number_of_cds", "dollar_value"]
    got = [
        (r["customer_id"], r["date"], r["number_of_cds"], r["dollar_value"], r["_row"])
        for r in _rows(raw, engine)
    ]
    # each line keeps its number in the file; the padding is gone, the leading zeros kept
    assert got == [
        ("00001", "19970101", "1", "11.77", 2),
        ("00002", "19970112", "1", "12.00", 3),
        ("00002", "19970112", "5", "77.00", 5),
        ("00004", "19970101", "2", "29.33", 7),
    ]
    # nothing is lost: the blank line and the line with a field too many are rejected
    bad = sorted((r["row"], r["reason"]) for r in raw.malformed.to_pylist())
    assert bad == [(4, "blank line"), (6, "expected 4 fields, found 5")]


def test_whitespace_delimiter_setting_reads_aligned_text(tmp_path, engine):
    # a header a delimiter splits is no aligned text by itself: the setting says it is
    text = "customer_id date revenue,net\nA1   2024-01-02  10.5\n"
    path = _write(tmp_path / "tx.txt", text)
    assert sniff_csv(str(path)).delimiter == ","
    raw = read_input("transactions", path, TableInput(delimiter="Whitespace"), engine)
    assert raw.source_columns == ["customer_id", "date", "revenue,net"]
    assert [r["revenue,net"] for r in _rows(raw, engine)] == ["10.5"]


def test_one_column_of_words_is_not_taken_for_aligned_text(tmp_path, engine):
    text = "name\nAcme Ltd\nBolt and Sons\n"
    raw = read_input("customers", _write(tmp_path / "c.csv", text), TableInput(), engine)
    assert raw.source_columns == ["name"]
    assert [r["name"] for r in _rows(raw, engine)] == ["Acme Ltd", "Bolt and Sons"]


def test_ragged_and_blank_lines_come_back_as_malformed_rows(tmp_path, engine):
    text = (
        "customer_id,date,revenue\nA,2024-01-02,1\nB,2024-01-02\n\n , ,\n"
        "C,2024-01-02,3,9\nD,2024-01-02,4\n"
    )
    raw = read_input("transactions", _write(tmp_path / "tx.csv", text), TableInput(), engine)
    assert [(r["customer_id"], r["_row"]) for r in _rows(raw, engine)] == [("A", 2), ("D", 7)]
    bad = sorted((r["row"], r["reason"]) for r in raw.malformed.to_pylist())
    assert bad == [
        (3, "expected 3 fields, found 2"),
        (4, "blank line"),
        (5, "blank line"),
        (6, "expected 3 fields, found 4"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        # every line but the header ends with the delimiter (as some ERP list exports write)
        "customer_id;date;revenue\nK1;02.01.2024;12,50;\nK2;03.01.2024;7;\nK3;04.01.2024;8;\n",
        # the header ends with it, the lines do not
        "customer_id;date;revenue;\nK1;02.01.2024;12,50\nK2;03.01.2024;7\nK3;04.01.2024;8\n",
    ],
    ids=["lines", "header"],
)
def test_a_trailing_delimiter_on_the_lines_or_the_header_alone_is_read(tmp_path, engine, text):
    # every row was refused for a field too many or too few, and the run used none
    raw = read_input("transactions", _write(tmp_path / "tx.csv", text), TableInput(), engine)
    assert raw.n_malformed == 0
    got = _rows(raw, engine)
    assert [(r["_row"], r["customer_id"], r["revenue"]) for r in got] == [
        (2, "K1", "12,50"),
        (3, "K2", "7"),
        (4, "K3", "8"),
    ]
    assert raw.source_columns[:3] == ["customer_id", "date", "revenue"]


def test_a_quoted_value_may_span_lines(tmp_path, engine):
    text = 'customer_id,name,revenue\nA,"Acme\nSecond floor",1\nB,"Beta, ""the"" firm",2\n'
    raw = read_input("customers", _write(tmp_path / "c.csv", text), TableInput(), engine)
    got = _rows(raw, engine)
    assert [r["name"] for r in got] == ["Acme\nSecond floor", 'Beta, "the" firm']
    assert raw.n_malformed == 0


@pytest.mark.parametrize(
    "text",
    [
        "customer_id,date,revenue\nA,2024-01-02,1\nB,2024-01-03,2\n",
        "customer_id,date,revenue\nA,2024-01-02,1\nB,2024-01-02\n\n , ,\nC,1,2,3\nD,x,4",
        'customer_id,name,revenue\nA,"Acme\nSecond floor",1\nB,"two\nthree\nlines",2\nC,x,3\n',
        "customer_id;date;revenue\r\nA;2024-01-02;1\r\n\r\nB;2024-01-03;2\r\n",
    ],
    ids=["clean", "ragged-and-blank", "multi-line", "crlf-blank"],
)
@pytest.mark.engines(
    "duckdb",
    reason="Spark has no CSV reader that keeps each record's line: Engine.scan_csv returns "
    "None and the file is parsed in Python",
)
def test_csv_is_parsed_in_the_engine_with_the_lines_a_user_sees(
    tmp_path, engine, text, monkeypatch
):
    import tierwise.io.readers as readers

    def no_fallback(*args, **kwargs):
        raise AssertionError("read in Python instead of the engine")

    path = _write(tmp_path / "tx.csv", text)
    expected = read_input("transactions", path, TableInput(), engine)
    want_rows = [(r["customer_id"], r["_row"]) for r in _rows(expected, engine)]
    monkeypatch.setattr(readers, "_read_csv_in_python", no_fallback)
    raw = read_input("transactions", path, TableInput(), engine)
    got = [(r["customer_id"], r["_row"]) for r in _rows(raw, engine)]
    assert got == want_rows
    # each record at the line it starts on, counting the lines of quoted values
    lines = text.replace("\r\n", "\n").split("\n")
    for cid, row in got:
        assert lines[row - 1].split(raw.delimiter)[0] == cid, (cid, row)
    assert raw.malformed.to_pylist() == expected.malformed.to_pylist()


@pytest.mark.parametrize(
    "text",
    [
        "rowid,customer_id,date,revenue\n7,A,2024-01-02,1\n\n7,B,2024-01-03\n7,C,x,3\n",
        'RowID;customer_id;date;revenue\nk;A;2024-01-02;1\n\nk;B;2024-01-03\nk;"C\nD";x;3\n',
        "_base,customer_id,date,revenue\n7,A,2024-01-02,1\n\n7,B,2024-01-03\n7,C,x,3\n",
    ],
    ids=["numeric-rowid", "text-rowid-multiline", "underscore-base"],
)
def test_a_column_named_like_the_engines_row_id_keeps_the_lines(tmp_path, engine, text):
    # DuckDB's rowid pseudo-column is hidden by a column of that name (in any case)
    raw = read_input("transactions", _write(tmp_path / "tx.csv", text), TableInput(), engine)
    first = text.split(raw.delimiter, 1)[0]
    assert raw.source_columns == [first, "customer_id", "date", "revenue"]
    got = [(r["customer_id"], r[first], r["_row"]) for r in _rows(raw, engine)]
    assert got[0] == ("A", text.split("\n")[1][0], 2)
    assert got[-1][0].startswith("C") and got[-1][2] == 5
    assert sorted((r["row"], r["reason"]) for r in raw.malformed.to_pylist()) == [
        (3, "blank line"),
        (4, "expected 4 fields, found 3"),
    ]


@pytest.mark.parametrize("name", ["_row", "_ROW"])
def test_a_column_named_row_is_refused_in_one_line(tmp_path, engine, name):
    path = _write(tmp_path / "tx.csv", f"{name},customer_id,date,revenue\n1,A,2024-01-02,1\n")
    with pytest.raises(InputError, match="name tierwise gives the record numbers") as info:
        read_input("transactions", path, TableInput(), engine)
    assert info.value.column == name
    assert "\n" not in str(info.value)


def test_a_column_named_row_is_refused_in_every_single_file_format(tmp_path, engine):
    import openpyxl

    csv_path = tmp_path / "tx.csv"
    csv_path.write_bytes("\ufeff _Row ;customer_id\n1;A\n".encode())
    wb = openpyxl.Workbook()
    wb.active.append(["customer_id", "_row"])
    wb.active.append(["A", 1])
    wb.save(tmp_path / "tx.xlsx")
    pq.write_table(pa.table({"customer_id": ["A"], "_row": [1]}), tmp_path / "tx.parquet")
    for path, column in [
        (csv_path, "_Row"),
        (tmp_path / "tx.xlsx", "_row"),
        (tmp_path / "tx.parquet", "_row"),
    ]:
        with pytest.raises(InputError, match="name tierwise gives the record numbers") as info:
            read_input("transactions", path, TableInput(), engine)
        assert (info.value.file, info.value.column) == (str(path), column)
        assert "rename the column" in str(info.value) and "\n" not in str(info.value)


def test_lines_ended_by_a_cr_alone_are_read(tmp_path, engine):
    # old Mac and some Excel exports end each line with a carriage return only
    text = "customer_id,date,revenue\rA,2024-01-01,10\rB,2024-01-02,20\r"
    raw = read_input("transactions", _write(tmp_path / "tx.csv", text), TableInput(), engine)
    got = _rows(raw, engine)
    assert [(r["customer_id"], r["revenue"], r["_row"]) for r in got] == [
        ("A", "10", 2),
        ("B", "20", 3),
    ]
    assert raw.n_malformed == 0


def test_cr_lines_number_rows_by_their_line_in_the_file(tmp_path, engine):
    # a quoted value over two lines counts both, as in a file of line feeds: B's row is
    # the file's fourth line, not the third record
    text = 'customer_id,date,revenue,note\rA,2024-01-02,5,"x\ry"\rB,2024-01-03,6,z\rC,x\r'
    raw = read_input("transactions", _write(tmp_path / "tx.csv", text), TableInput(), engine)
    assert [(r["customer_id"], r["_row"]) for r in _rows(raw, engine)] == [("A", 2), ("B", 4)]
    assert [(r["row"], r["reason"]) for r in raw.malformed.to_pylist()] == [
        (5, "expected 4 fields, found 2")
    ]


def test_cr_lines_with_a_line_feed_inside_a_quoted_cell_are_read(tmp_path, engine):
    # old Mac Excel: lines end with CR, a line break inside a cell is a line feed
    text = 'customer_id,date,revenue,note\rA,2024-01-02,5,"x\ny"\rB,2024-01-03,6,z\r'
    raw = read_input("transactions", _write(tmp_path / "tx.csv", text), TableInput(), engine)
    assert raw.source_columns == ["customer_id", "date", "revenue", "note"]
    assert [(r["customer_id"], r["note"]) for r in _rows(raw, engine)] == [
        ("A", "x\ny"),
        ("B", "z"),
    ]


def test_a_carriage_return_inside_a_quoted_value_is_kept(tmp_path, engine):
    text = 'customer_id,name\nC1,"Acme\rLtd"\nC2,Beta\n'
    raw = read_input("customers", _write(tmp_path / "c.csv", text), TableInput(), engine)
    assert [(r["name"], r["_row"]) for r in _rows(raw, engine)] == [("Acme\rLtd", 2), ("Beta", 3)]


def test_a_blank_line_inside_a_quoted_value_keeps_every_line_number(tmp_path, engine):
    text = 'customer_id,name,revenue\nA,"Acme\n\nSecond floor",1\n\nB,x,2\n'
    raw = read_input("customers", _write(tmp_path / "c.csv", text), TableInput(), engine)
    assert [(r["name"], r["_row"]) for r in _rows(raw, engine)] == [
        ("Acme\n\nSecond floor", 2),
        ("x", 6),
    ]
    assert [(r["row"], r["reason"]) for r in raw.malformed.to_pylist()] == [(5, "blank line")]


def test_a_quote_never_closed_stops_with_its_row(tmp_path, engine):
    # without the check, lines 3 and 4 would vanish silently into row 2's name
    text = (
        'customer_id,date,revenue,name\nA,2024-01-02,1,"Acme\n'
        "B,2024-01-02,2,Foo\nC,2024-01-02,3,Bar\n"
    )
    with pytest.raises(InputError, match="never closed") as info:
        read_input("transactions", _write(tmp_path / "tx.csv", text), TableInput(), engine)
    assert info.value.row == 2


@pytest.mark.parametrize("end", ["", "\n"], ids=["no-line-end", "line-end"])
def test_a_file_cut_short_inside_a_quoted_value_stops_with_its_row(tmp_path, engine, end):
    # an interrupted export: the last amount "$12,345.67" cut to "$12,345" would read 12345
    text = (
        "Sales report\n"
        'customer_id,date,revenue\nA,2024-01-02,"$1,234.50"\nB,2024-01-03,"$2,000.00"\n'
        'C,2024-01-04,"$12,345' + end
    )
    with pytest.raises(InputError, match="file ends inside it") as info:
        read_input("transactions", _write(tmp_path / "tx.csv", text), TableInput(), engine)
    assert info.value.row == 5


def test_a_last_value_quoted_over_lines_is_no_file_cut_short(tmp_path, engine):
    # its last line starts with the closing quote; an inch mark above makes the quotes of
    # the last line alone look open
    text = 'customer_id,name,revenue\nA,12" pipe,1\nB,"Acme\n",2\n'
    raw = read_input("customers", _write(tmp_path / "c.csv", text), TableInput(), engine)
    assert [r["name"] for r in _rows(raw, engine)] == ['12" pipe', "Acme\n"]


def test_a_value_written_as_a_formula_of_text_is_read_as_the_text_excel_shows(tmp_path, engine):
    # exports meant for Excel write ="00123" to keep an id's leading zeros (quoted, its
    # quotes doubled); read as written, the id matched no customer master's 00123
    text = (
        "customer_id;date;revenue;note\n"
        '="00123";="02.01.2024";12,50;=SUM(A1)\n'
        '"=""00456""";03.01.2024;7;="a""b"\n'
    )
    path = _write(tmp_path / "tx.csv", text)
    got = _rows(read_input("transactions", path, TableInput(), engine), engine)
    assert [(r["customer_id"], r["date"], r["note"]) for r in got] == [
        ("00123", "02.01.2024", "=SUM(A1)"),
        ("00456", "03.01.2024", 'a"b'),
    ]
    sample = read_sample(path)
    assert sample.table.column("customer_id").to_pylist() == ["00123", "00456"]


def test_an_inch_mark_inside_a_value_is_not_a_quote(tmp_path, engine):
    text = 'customer_id,name,revenue\nA,12" pipe,1\nB,plain,2\n'
    raw = read_input("customers", _write(tmp_path / "c.csv", text), TableInput(), engine)
    assert [r["name"] for r in _rows(raw, engine)] == ['12" pipe', "plain"]


@pytest.mark.parametrize("text", ["customer_id,date,revenue\n", "customer_id,date,revenue"])
def test_a_header_without_rows_gives_an_empty_table(tmp_path, engine, text):
    raw = read_input("transactions", _write(tmp_path / "tx.csv", text), TableInput(), engine)
    assert raw.source_columns == ["customer_id", "date", "revenue"]
    assert engine.count(raw.table) == 0


@pytest.mark.parametrize("content", [b"", b"  \n\n \t\n"], ids=["empty", "whitespace"])
def test_an_empty_file_is_an_input_error(tmp_path, engine, content):
    path = tmp_path / "tx.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match="empty"):
        read_input("transactions", path, TableInput(), engine)


def test_a_binary_file_is_not_read_as_csv(tmp_path, engine):
    path = tmp_path / "tx.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="binary"):
        read_input("transactions", path, TableInput(), engine)


@pytest.mark.engines("duckdb", reason="the file is refused before any engine reads it")
def test_random_bytes_are_a_binary_file(tmp_path, engine):
    import numpy as np

    path = tmp_path / "tx.csv"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match="looks like a binary file"):
        read_input("transactions", path, TableInput(), engine)


def test_a_duplicated_header_names_both_columns(tmp_path, engine):
    path = _write(tmp_path / "tx.csv", "customer_id,revenue,Revenue\nA,1,2\n")
    raw = read_input("transactions", path, TableInput(), engine)
    assert raw.source_columns == ["customer_id", "revenue (column 2)", "Revenue (column 3)"]
    (said,) = raw.warnings
    assert "appears 2 times in the header (columns 2, 3)" in said


def test_a_missing_file_a_folder_and_old_xls_are_input_errors(tmp_path, engine):
    with pytest.raises(InputError, match="not found"):
        read_input("transactions", tmp_path / "nope.csv", TableInput(), engine)
    with pytest.raises(InputError, match="folder"):
        read_input("transactions", tmp_path, TableInput(), engine)
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError, match=r"\.xls"):
        read_input("transactions", tmp_path / "old.xls", TableInput(), engine)


def test_a_folder_of_several_tables_files_is_refused_naming_the_file_to_give(tmp_path, engine):
    # the folder tierwise demo writes: one Parquet file per table, of different columns
    pq.write_table(
        pa.table({"customer_id": ["A"], "name": ["Acme"]}), tmp_path / "customers.parquet"
    )
    pq.write_table(
        pa.table({"customer_id": ["A"], "date": ["2024-01-02"], "revenue": [1.0]}),
        tmp_path / "transactions.parquet",
    )
    with pytest.raises(InputError) as exc:
        read_input("customers", tmp_path, TableInput(), engine)
    line = exc.value.one_line()
    assert "several tables" in line and str(tmp_path / "customers.parquet") in line


def test_one_windows_line_in_a_utf8_file_does_not_garble_the_others(tmp_path, engine):
    # the defect: one cp1252 line made the whole file read as cp1252 ("MÃ¼ller")
    lines = [
        b"customer_id;name",
        "A;Müller Gärtnerei".encode(),
        "B;Société Générale".encode("cp1252"),
        "C;Ørsted Åsa".encode(),
        "D;Café ‘Le Coq’".encode("cp1252"),
    ]
    path = tmp_path / "customers.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    raw = read_input("customers", path, TableInput(), engine)
    got = [(r["customer_id"], r["name"], r["_row"]) for r in _rows(raw, engine)]
    assert got == [
        ("A", "Müller Gärtnerei", 2),
        ("B", "Société Générale", 3),
        ("C", "Ørsted Åsa", 4),
        ("D", "Café ‘Le Coq’", 5),
    ]
    assert len(raw.warnings) == 1
    assert "2 lines (the first is line 3)" in raw.warnings[0]
    assert "[customers] encoding" in raw.warnings[0]
    assert path.read_bytes() == b"\n".join(lines) + b"\n"  # the user's file is untouched


def test_a_windows_file_is_read_without_a_warning(tmp_path, engine):
    text = "customer_id;name\nA;Müller\nB;Zoë\n"
    raw = read_input("customers", _write(tmp_path / "c.csv", text, "cp1252"), TableInput(), engine)
    assert [r["name"] for r in _rows(raw, engine)] == ["Müller", "Zoë"]
    assert raw.warnings == []


def test_a_set_utf8_encoding_names_the_line_that_is_not(tmp_path, engine):
    path = tmp_path / "c.csv"
    path.write_bytes("customer_id\nA\nMüller\n".encode("cp1252"))
    with pytest.raises(InputError, match="not UTF-8") as info:
        read_input("customers", path, TableInput(encoding="utf-8"), engine)
    assert info.value.row == 3


def test_a_nul_byte_in_an_id_is_a_row_reject_not_a_binary_file(tmp_path, engine):
    from tierwise.validate import canonicalize, split_rejects

    path = tmp_path / "tx.csv"
    path.write_bytes(b"customer_id,date,revenue\nC00\x00 00004,2024-01-02,5\nA,2024-01-02,1\n")
    raw = read_input("transactions", path, TableInput(), engine)
    t = canonicalize(raw.table, "transactions", Settings(), engine, file=raw.path)
    used, rejects = split_rejects(t, raw.path, "transactions")
    assert engine.to_arrow(used).column("customer_id").to_pylist() == ["A"]
    rej = engine.to_arrow(rejects).to_pylist()
    assert [(r["row"], r["column"]) for r in rej] == [(2, "customer_id")]
    assert "control character" in rej[0]["reason"]
    assert rej[0]["value"] == "C00\x00 00004"  # as it was in the file


def test_every_control_character_in_an_id_is_a_reject_wherever_it_stands(engine):
    """A line feed ending an id is one (Java's ``$`` would match before it), as is one
    inside or first; a tab at either end is trimmed away, not a reject."""
    import pyarrow as pa

    from tierwise.engine import ROW
    from tierwise.validate import canonicalize, split_rejects

    ids = ["A\n", "\x01B", "C\x7fD", "E\rF", "\tG\t", "H\x1f", "I é", "J"]
    raw = engine.from_arrow(
        pa.table(
            {
                "customer_id": ids,
                "date": ["2024-01-02"] * len(ids),
                "revenue": ["5"] * len(ids),
                ROW: list(range(2, 2 + len(ids))),
            }
        )
    )
    t = canonicalize(raw, "transactions", Settings(), engine, file="tx.csv")
    used, rejects = split_rejects(t, "tx.csv", "transactions")
    assert sorted(engine.to_arrow(used).column("customer_id").to_pylist()) == ["G", "I é", "J"]
    rej = engine.to_arrow(rejects).to_pylist()
    assert sorted(r["row"] for r in rej) == [2, 3, 4, 5, 7]
    assert all("control character" in r["reason"] for r in rej)


def test_a_pipe_is_read_like_a_file(tmp_path, engine):
    import os
    import threading

    fifo = tmp_path / "invoices"
    os.mkfifo(fifo)
    text = b"customer_id,date,revenue\nA,2024-01-02,1\nB,2024-01-03,2\n"

    def feed() -> None:
        with open(fifo, "wb") as f:
            f.write(text)

    writer = threading.Thread(target=feed)
    writer.start()
    raw = read_input("transactions", fifo, TableInput(), engine)
    writer.join(timeout=10)
    assert raw.path == str(fifo)
    assert [(r["customer_id"], r["_row"]) for r in _rows(raw, engine)] == [("A", 2), ("B", 3)]


def test_a_sqlite_file_is_recognised_and_refused(tmp_path, engine):
    import sqlite3

    for name in ("erp.db", "erp.sqlite", "erp.csv"):
        path = tmp_path / name
        with sqlite3.connect(path) as con:
            con.execute("CREATE TABLE t (x)")
        with pytest.raises(InputError, match="SQLite database") as info:
            read_input("transactions", path, TableInput(), engine)
        assert "export the table as CSV" in str(info.value)


# -- Parquet ---------------------------------------------------------------------------------


def test_reads_parquet_with_its_types_and_record_numbers(tmp_path, engine):
    table = pa.table(
        {
            "customer_id": ["A", "B", None],
            "date": pa.array([dt.date(2024, 1, 2), dt.date(2024, 1, 3), None], pa.date32()),
            "revenue": [10.5, -3.0, None],
            "name": ["Müller", "Zoë", ""],
        }
    )
    pq.write_table(table, tmp_path / "tx.parquet")
    raw = read_input("transactions", tmp_path / "tx.parquet", TableInput(), engine)
    assert raw.fmt == "parquet"
    assert raw.source_columns == ["customer_id", "date", "revenue", "name"]
    got = _rows(raw, engine)
    assert [r["_row"] for r in got] == [1, 2, 3]
    assert got[0] == {
        "customer_id": "A",
        "date": dt.date(2024, 1, 2),
        "revenue": 10.5,
        "name": "Müller",
        "_row": 1,
    }


def test_parquet_timestamps_with_a_zone_keep_the_date_as_written_there(tmp_path, engine):
    # Berlin's 00:30 on 1 January is 23:30 on 31 December in UTC; the date is Berlin's
    berlin = pa.timestamp("us", tz="Europe/Berlin")
    shifted = pa.timestamp("us", tz="-05:00")
    instants = [dt.datetime(2023, 12, 31, 23, 30), dt.datetime(2024, 1, 2, 22, 30)]
    table = pa.table(
        {
            "customer_id": ["A", "B"],
            "date": pa.array(instants, pa.timestamp("us", tz="UTC")).cast(berlin),
            "ordered": pa.array(instants, pa.timestamp("us", tz="UTC")).cast(shifted),
            "revenue": [1.0, 2.0],
        }
    )
    pq.write_table(table, tmp_path / "tx.parquet")
    raw = read_input("transactions", tmp_path / "tx.parquet", TableInput(), engine)
    got = _rows(raw, engine)
    assert [r["date"] for r in got] == [
        dt.datetime(2024, 1, 1, 0, 30),
        dt.datetime(2024, 1, 2, 23, 30),
    ]
    assert [r["ordered"] for r in got] == [
        dt.datetime(2023, 12, 31, 18, 30),
        dt.datetime(2024, 1, 2, 17, 30),
    ]


def test_a_text_file_named_parquet_is_an_input_error(tmp_path, engine):
    path = _write(tmp_path / "tx.parquet", "customer_id,date,revenue\nA,2024-01-02,1\n")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_input("transactions", path, TableInput(), engine)


def test_a_parquet_file_of_no_bytes_says_it_is_empty_to_the_run_and_to_init(tmp_path, engine):
    from tierwise.io.sample import read_sample

    path = tmp_path / "tx.parquet"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"tx.parquet: the file is empty \(0 bytes\)"):
        read_input("transactions", path, TableInput(), engine)
    with pytest.raises(InputError, match=r"tx.parquet: the file is empty \(0 bytes\)"):
        read_sample(path)


# -- Excel -----------------------------------------------------------------------------------


def _workbook(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    ws.append(["this sheet is not data"])
    ws = wb.create_sheet("Invoices")
    ws.append(["customer_id", "date", "revenue", "name"])
    ws.append(["A", dt.datetime(2024, 1, 2), 10.5, "Müller Gärtnerei"])
    ws.append([1001, "2024-01-03", 7, "Société Générale"])
    wb.save(path)
    return path


@pytest.mark.engines("duckdb", reason="the workbook is read in Python, before any engine")
def test_reads_a_workbook_named_csv(tmp_path, engine):
    path = _workbook(tmp_path / "book.xlsx").rename(tmp_path / "tx.csv")
    raw = read_input("transactions", path, TableInput(sheet="Invoices"), engine)
    assert raw.fmt == "excel"
    assert raw.source_columns == ["customer_id", "date", "revenue", "name"]
    assert [r["customer_id"] for r in _rows(raw, engine)] == ["A", "1001"]
    assert path.is_file() and not path.is_symlink()


def test_reads_an_excel_sheet_named_in_settings(tmp_path, engine):
    path = _workbook(tmp_path / "tx.xlsx")
    raw = read_input("transactions", path, TableInput(sheet="Invoices"), engine)
    assert raw.fmt == "excel"
    got = _rows(raw, engine)
    assert [r["_row"] for r in got] == [2, 3]  # sheet rows: the header is row 1
    assert [r["customer_id"] for r in got] == ["A", "1001"]
    assert [r["name"] for r in got] == ["Müller Gärtnerei", "Société Générale"]
    assert got[0]["revenue"] == "10.5"


def test_a_hidden_first_sheet_is_passed_over_when_no_sheet_is_set(tmp_path, engine):
    # a workbook whose first sheet, hidden, keeps last year's lines: Excel opens on the
    # visible sheet, and that is the one read
    path = _workbook(tmp_path / "tx.xlsx")
    import openpyxl

    wb = openpyxl.load_workbook(path)
    old = wb["Notes"]
    old.append(["B", "2023-01-02", 99])
    old.sheet_state = "hidden"
    wb.save(path)
    raw = read_input("transactions", path, TableInput(), engine)
    assert raw.sheet == "Invoices"
    assert [r["customer_id"] for r in _rows(raw, engine)] == ["A", "1001"]


@pytest.mark.engines("duckdb", reason="the path is checked before any engine reads")
def test_a_file_in_a_folder_that_may_not_be_entered_is_named_so(tmp_path, engine, monkeypatch):
    # Python 3.14's Path.exists() says False where a folder on the path may not be entered
    # (earlier ones raise): the reader asks os.stat, which raises PermissionError either way
    import os

    given = tmp_path / "inbox" / "tx.csv"
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        if str(path) == str(given):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(Path, "exists", lambda self, **kw: False)
    with pytest.raises(InputError, match="permission denied on a folder it is in"):
        read_input("transactions", given, TableInput(), engine)


@pytest.mark.engines("duckdb", reason="the workbook is read in Python, before any engine")
def test_hidden_rows_a_row_filter_leaves_out_are_not_named_in_the_warning(tmp_path, engine):
    # rows 3 and 4 hidden by a filter; where fill_down names Status, row 4's empty cell
    # takes row 3's "void" before the row filters apply, so the reader does not judge it
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in [
        ["customer_id", "date", "revenue", "Status"],
        ["A", "2024-01-02", 10, "Paid"],
        ["B", "2024-01-03", 20, "void"],
        ["B", "2024-01-04", 30, None],
        ["C", "2024-01-05", 40, "Paid"],
    ]:
        ws.append(r)
    for n in (3, 4):
        ws.row_dimensions[n].hidden = True
    wb.save(tmp_path / "tx.xlsx")

    def hidden_warning(**settings) -> str:
        raw = read_input("transactions", tmp_path / "tx.xlsx", TableInput(**settings), engine)
        return next((w for w in raw.warnings if "hidden in the sheet" in w), "")

    assert "2 rows of data are hidden in the sheet (row 3, 4:" in hidden_warning()
    out = {"Status": ["Void"]}
    assert "1 row of data is hidden in the sheet (row 4:" in hidden_warning(exclude_rows=out)
    keep = {"status": ["VOID"]}
    assert "1 row of data is hidden in the sheet (row 3:" in hidden_warning(keep_rows=keep)
    assert "are read as any other row; if they are no part of the data, delete them, or " in (
        hidden_warning()
    )
    # row 4's Status is filled in after the sheet is read: the warning does not claim it read
    filled = hidden_warning(keep_rows=keep, fill_down=["Status"])
    assert "(row 3, 4:" in filled
    assert "are read as any other row unless [transactions] keep_rows leaves them out" in filled
    assert "leave them out with" not in filled
    assert hidden_warning(keep_rows={"status": ["paid"]}) == ""


@pytest.mark.engines("duckdb", reason="the workbook is read in Python, before any engine")
def test_hidden_rows_under_a_group_heading_a_row_filter_names_are_not_claimed_read(
    tmp_path, engine
):
    # a report's customers in headings of their own (Xero), made a column by fill_down: the
    # rows under "Internal", hidden, are left out by exclude_rows once the column is made
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in [
        ["Date", "Invoice", "Revenue"],
        ["Acme"],
        ["2024-01-02", "INV-1", 10],
        ["Internal"],
        ["2024-01-04", "INV-3", 30],
        ["2024-01-05", "INV-4", 40],
        ["Beta"],
        ["2024-01-06", "INV-5", 50],
    ]:
        ws.append(r)
    for n in (4, 5, 6):
        ws.row_dimensions[n].hidden = True
    wb.save(tmp_path / "tx.xlsx")
    ti = TableInput(fill_down=["Customer"], exclude_rows={"Customer": ["Internal"]})
    raw = read_input("transactions", tmp_path / "tx.xlsx", ti, engine)
    warning = next(w for w in raw.warnings if "hidden in the sheet" in w)
    assert "(row 4, 5, 6:" in warning
    assert "read as any other row unless [transactions] exclude_rows leaves them out" in warning
    assert "leave them out with" not in warning


@pytest.mark.engines("duckdb", reason="the workbook is read in Python, before any engine")
@pytest.mark.parametrize(
    ("key", "again"),
    [
        ("customer_id", "customer_id"),
        ("customer_id", " Customer_ID\t"),  # case and white space aside
        ("Straße", "STRASSE"),  # as case folding reads it
        ("Kundennr.", "KUNDENNR."),
        ("customer_id", "\xa0customer_id"),  # white space beyond ASCII
        ("Strasse", "STRAßE"),  # "ß" folds to "ss"
    ],
)
def test_a_second_tables_header_stops_the_read_however_its_key_is_written(
    tmp_path, engine, key, again
):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in [
        [key, "date", "revenue"],
        *[[f"C{i}", "2024-01-02", i] for i in range(50)],
        [],
        [again, "date", "amount"],
        ["A", "2024-01-05", 3],
    ]:
        ws.append(r)
    wb.save(tmp_path / "tx.xlsx")
    with pytest.raises(InputError, match="row 53 holds column names") as err:
        read_input("transactions", tmp_path / "tx.xlsx", TableInput(), engine)
    # the first column whose cell is not the header's names the place
    assert err.value.row == 53
    assert err.value.column == ("revenue" if again.strip() == key else key)


@pytest.mark.engines("duckdb", reason="the workbook is read in Python, before any engine")
@pytest.mark.parametrize(
    ("row", "stops"),
    [
        # no key, and names of other columns over the dates and the customers
        (["date", "customer_id", "amount"], True),
        (["Date", "Customer_ID", "Amount"], True),  # in any case
        ([None, "revenue", "date", "customer_id"], True),
        ([None, "Revenue", "Date", "Customer_ID", "Region"], True),
        (["date", "revenue"], True),
        # a placeholder holds its own column's name: a customer without an id, not a header
        ([None, "date", "revenue"], False),
        ([None, "2024-01-04", "5", "city", "region"], False),
        # a row with an id is data, whatever names its other cells hold
        (["C", "region", "city", None], False),
        # one name of another column only
        ([None, "date", "amount"], False),
        (["customer_id ", "Datum", "amount", "x"], False),
        # values that happen to be names: two, with no key, or beside two values or more
        ([None, "revenue", "date"], False),
        ([None, "Revenue", "Date"], False),
        ([None, "2024-01-04", "5", "Region", "City"], False),
        ([None, "Jane Doe", "Region", "City", "Date"], False),
    ],
)
def test_a_second_table_without_the_first_tables_key_stops_the_read(tmp_path, engine, row, stops):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in [
        ["customer_id", "date", "revenue", "city", "region"],
        ["A", "2024-01-02", 10, "Ulm", "South"],
        row,
        ["B", "2024-01-05", 3, "Bern", "West"],
    ]:
        ws.append(r)
    wb.save(tmp_path / "tx.xlsx")
    if not stops:
        raw = read_input("transactions", tmp_path / "tx.xlsx", TableInput(), engine)
        assert [r["_row"] for r in _rows(raw, engine)] == [2, 3, 4]
        return
    with pytest.raises(InputError, match="row 3 holds column names") as err:
        read_input("transactions", tmp_path / "tx.xlsx", TableInput(), engine)
    assert err.value.row == 3
    # the cells holding names are listed; the place is the first holding another's name
    header = ["customer_id", "date", "revenue", "city", "region"]
    names = [c for c in row if c and c.lower() in header]
    assert f"holds column names ({', '.join(map(repr, names))}) that" in str(err.value)
    cells = zip(row, header, strict=False)
    moved = next(h for c, h in cells if c and c.lower() in header and c.lower() != h)
    assert err.value.column == moved


@pytest.mark.engines("duckdb", reason="the workbook is read in Python, before any engine")
@pytest.mark.parametrize(
    "row",
    [
        # a private customer (no company) whose preferred contact and lead source are
        # values that are also names of columns
        [None, "Jane Doe", "jane@example.com", None, "Email", "Phone"],
        [None, "Jane Doe", None, None, "Email", "Phone"],
        [None, None, None, None, "Email", "Phone"],
        [None, "Jane Doe", "jane@example.com", "+1 555", "Phone", "Email"],
        [None, "Name", None, None, "phone", "email"],
        # a name in several cells counts once: two names
        [None, "Jane Doe", None, None, "Email", "Phone", "Email"],
        [None, None, None, None, "Phone", "PHONE", "phone"],
    ],
)
def test_a_customer_whose_values_are_other_columns_names_is_data(tmp_path, engine, row):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in [
        ["Company", "Name", "Email", "Phone", "Preferred Contact", "Lead Source", "Fallback"],
        ["Acme GmbH", "Max Muster", "max@acme.de", "+49 1", "Phone", "Website", None],
        row,
        ["Beta AG", "Eva", "eva@beta.ch", "+41 2", "Email", "Referral", None],
    ]:
        ws.append(r)
    wb.save(tmp_path / "customers.xlsx")
    raw = read_input("customers", tmp_path / "customers.xlsx", TableInput(), engine)
    assert [r["_row"] for r in _rows(raw, engine)] == [2, 3, 4]


def test_empty_rows_between_a_sheets_data_are_blank_lines_as_in_a_csv(tmp_path, engine):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["customer_id", "date", "revenue"])
    ws.append(["A", "2024-01-02", 10])
    ws.append([None, None, None])
    ws.append(["", "  ", None])  # cells holding only spaces: as blank
    ws.append(["B", "2024-01-03", 7])
    wb.save(tmp_path / "tx.xlsx")
    raw = read_input("transactions", tmp_path / "tx.xlsx", TableInput(), engine)
    assert [r["customer_id"] for r in _rows(raw, engine)] == ["A", "B"]
    assert [(r["row"], r["reason"]) for r in raw.malformed.to_pylist()] == [
        (3, "blank line"),
        (4, "blank line"),
    ]


def test_an_excel_date_cell_parses_as_a_date(tmp_path, engine):
    from tierwise.validate import canonicalize

    path = _workbook(tmp_path / "tx.xlsx")
    raw = read_input("transactions", path, TableInput(sheet="Invoices"), engine)
    settings = Settings().with_updates(transactions={"sheet": "Invoices"})
    t = canonicalize(raw.table, "transactions", settings, engine, file=str(path))
    got = engine.to_arrow(t.order_by("_row")).to_pylist()
    assert [r["date"] for r in got] == [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
    assert [r["revenue"] for r in got] == [10.5, 7.0]
    assert [r["_reason"] for r in got] == [None, None]


def test_excel_time_and_duration_cells_read_as_minutes(tmp_path, engine):
    """A duration typed into Excel is a time of day ("h:mm", kept as a fraction of a day
    that may come back a few milliseconds short) or a duration ("[h]:mm", read as a
    timedelta): both read as the minutes they show."""
    import openpyxl

    from tierwise.validate import canonicalize

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["customer_id", "date", "type", "duration_minutes"])
    cells = [dt.time(0, 28), dt.time(0, 27, 59, 996000), dt.timedelta(hours=2, minutes=5), 45]
    for i, v in enumerate(cells):
        ws.append([f"C{i}", dt.datetime(2024, 1, 2), "visit", v])
        if not isinstance(v, int):
            ws.cell(row=i + 2, column=4).number_format = (
                "[h]:mm" if isinstance(v, dt.timedelta) else "h:mm"
            )
    path = tmp_path / "activities.xlsx"
    wb.save(path)
    raw = read_input("activities", path, TableInput(), engine)
    t = canonicalize(raw.table, "activities", Settings(), engine, file=str(path))
    got = engine.to_arrow(t.order_by("_row")).to_pylist()
    assert [r["duration_minutes"] for r in got] == [28.0, 28.0, 125.0, 45.0]
    assert [r["_reason"] for r in got] == [None] * 4


def test_a_name_a_header_repeats_is_read_as_each_columns_place(tmp_path, engine):
    # an export's repeated column (Description twice) stops nothing: each is named by its
    # place, and a mapping names the one it means
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["customer_id", "Revenue", "revenue", None])
    wb.active.append(["A", 1, 2, "x"])
    wb.save(tmp_path / "tx.xlsx")
    (tmp_path / "tx.csv").write_text("customer_id,Memo,date,memo\nA,x,2024-01-02,y\n")
    for path, first, second in (("tx.xlsx", "Revenue", "revenue"), ("tx.csv", "Memo", "memo")):
        raw = read_input("transactions", tmp_path / path, TableInput(), engine)
        assert f"{first} (column 2)" in raw.source_columns
        twice = [c for c in raw.source_columns if c.lower().startswith(first.lower() + " (")]
        assert twice == [f"{first} (column 2)", f"{second} (column {4 if path == 'tx.csv' else 3})"]
        assert len(raw.warnings) == 1 and "appears 2 times in the header" in raw.warnings[0]
        assert engine.to_arrow(raw.table).column(twice[1]).to_pylist() == [
            "2" if path == "tx.xlsx" else "y"
        ]
    # a mapping of the repeated name says which to choose
    from tierwise.schema import TABLES
    from tierwise.validate import match_columns

    raw = read_input("transactions", tmp_path / "tx.xlsx", TableInput(), engine)
    with pytest.raises(Problems, match=r"holds .revenue. 2 times: map the one you mean"):
        match_columns(raw.source_columns, TABLES["transactions"], TableInput(), file="tx.xlsx")
    # a name repeated where the reader cannot name columns by place is still refused
    with pytest.raises(InputError, match="appears twice"):
        _check_header("x.parquet", ["customer_id", "a", "A"])


def test_an_empty_excel_sheet_is_an_input_error(tmp_path, engine):
    import openpyxl

    openpyxl.Workbook().save(tmp_path / "tx.xlsx")
    with pytest.raises(InputError, match="sheet is empty"):
        read_input("transactions", tmp_path / "tx.xlsx", TableInput(), engine)


def test_a_wrong_sheet_name_lists_the_sheets(tmp_path, engine):
    path = _workbook(tmp_path / "tx.xlsx")
    with pytest.raises(InputError, match="no sheet named 'Sheet1'") as info:
        read_input("transactions", path, TableInput(sheet="Sheet1"), engine)
    assert "'Notes', 'Invoices'" in str(info.value)
    assert "[transactions] sheet" in str(info.value)


def test_a_password_protected_workbook_says_so(tmp_path, engine):
    # an encrypted .xlsx is an OLE2 compound file holding an "EncryptedPackage" stream (the
    # layout of MS-OFFCRYPTO); the first sector is enough for the reader to tell
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    path = tmp_path / "tx.xlsx"
    path.write_bytes(head + "EncryptedPackage".encode("utf-16-le") + bytes(64))
    with pytest.raises(InputError, match="password-protected"):
        read_input("transactions", path, TableInput(), engine)


def test_a_workbook_cut_short_says_what_to_do(tmp_path, engine):
    # the first half of a workbook, as an interrupted download leaves it
    whole = _workbook(tmp_path / "whole.xlsx").read_bytes()
    path = tmp_path / "tx.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    for read in (
        lambda: read_input("transactions", path, TableInput(), engine),
        lambda: read_sample(path, name="transactions"),
    ):
        with pytest.raises(InputError, match="cannot read as Excel") as info:
            read()
        assert str(path) in str(info.value)
        assert "save it again as .xlsx, or export it again" in str(info.value)


def test_a_formula_without_a_stored_value_rejects_its_row(tmp_path, engine):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["customer_id", "date", "revenue"])
    wb.active.append(["A", "2024-01-02", 5])
    wb.active.append(["B", "2024-01-03", "=B2*2"])  # written by a program: no cached value
    wb.active.append(["C", "2024-01-04", 7])
    wb.save(tmp_path / "tx.xlsx")
    raw = read_input("transactions", tmp_path / "tx.xlsx", TableInput(), engine)
    assert [(r["customer_id"], r["_row"]) for r in _rows(raw, engine)] == [("A", 2), ("C", 4)]
    bad = raw.malformed.to_pylist()
    assert [(r["row"], r["column"], r["value"]) for r in bad] == [(3, "revenue", "=B2*2")]
    assert bad[0]["reason"].startswith("formula without a stored value")


@pytest.mark.engines("duckdb", reason="the sheet is read in Python, before any engine")
def test_a_formula_below_a_title_rejects_its_own_row(tmp_path, engine):
    import openpyxl

    # a title and a blank row above the column names: the formula of sheet row 6 is found
    # in row 6, not in the row three below it
    wb = openpyxl.Workbook()
    wb.active.append(["Sales report 2024"])
    wb.active.append([])
    wb.active.append(["customer_id", "date", "revenue"])
    for i in range(4, 10):
        wb.active.append([f"C{i}", "2024-01-02", 5])
    wb.active["C6"] = "=D6*10"
    wb.save(tmp_path / "tx.xlsx")
    raw = read_input("transactions", tmp_path / "tx.xlsx", TableInput(), engine)
    bad = raw.malformed.to_pylist()
    assert [(r["row"], r["column"], r["value"]) for r in bad] == [(6, "revenue", "=D6*10")]
    assert bad[0]["reason"].startswith("formula without a stored value")
    assert [r["_row"] for r in _rows(raw, engine)] == [4, 5, 7, 8, 9]


# -- DuckDB ------------------------------------------------------------------------------------


def _duckdb_file(path: Path) -> Path:
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE invoices AS SELECT * FROM (VALUES "
            "('A', DATE '2024-01-02', 10.5, 'Müller'), ('B', DATE '2024-01-03', 7.25, 'Zoë')"
            ") t(customer_id, date, revenue, name)"
        )
        con.execute("CREATE SCHEMA sales")
        con.execute("CREATE TABLE sales.transactions AS SELECT * FROM invoices LIMIT 1")
    return path


@pytest.mark.engines("duckdb", reason="a DuckDB database file is read by DuckDB only")
def test_reads_a_table_of_a_duckdb_file(tmp_path, engine):
    path = _duckdb_file(tmp_path / "erp.duckdb")
    raw = read_input("transactions", path, TableInput(table="invoices"), engine)
    assert raw.fmt == "duckdb"
    assert raw.source_columns == ["customer_id", "date", "revenue", "name"]
    got = _rows(raw, engine)
    assert [(r["customer_id"], r["name"], r["_row"]) for r in got] == [
        ("A", "Müller", 1),
        ("B", "Zoë", 2),
    ]
    raw2 = read_input("transactions", path, TableInput(table="sales.transactions"), engine)
    assert engine.count(raw2.table) == 1


@pytest.mark.engines("duckdb", reason="a DuckDB database file is read by DuckDB only")
def test_a_missing_duckdb_table_lists_the_tables(tmp_path, engine):
    path = _duckdb_file(tmp_path / "erp.duckdb")
    with pytest.raises(InputError, match="no table 'transactions'") as info:
        read_input("transactions", path, TableInput(), engine)
    assert "invoices, sales.transactions" in str(info.value)


@pytest.mark.engines("duckdb", reason="a DuckDB database file is read by DuckDB only")
def test_a_text_file_named_duckdb_is_an_input_error(tmp_path, engine):
    path = _write(tmp_path / "erp.duckdb", "hello")
    with pytest.raises(InputError, match="not a readable DuckDB database"):
        read_input("transactions", path, TableInput(), engine)


@pytest.mark.engines("spark", reason="the DuckDB engine reads a DuckDB file (tests above)")
def test_a_duckdb_file_on_spark_says_to_use_duckdb(tmp_path, engine):
    path = _duckdb_file(tmp_path / "erp.duckdb")
    with pytest.raises(InputError, match=r"erp\.duckdb: .*DuckDB engine only.*engine = 'duckdb'"):
        read_input("transactions", path, TableInput(table="invoices"), engine)


# -- every format lands as the same canonical table ------------------------------------------


def test_every_format_gives_the_same_canonical_transactions(tmp_path, engine):
    import openpyxl

    from tierwise.validate import canonicalize, check_transactions

    rows = [("A", "2024-01-02", 10.5), ("B", "2024-01-03", 7.25), ("A", "2024-02-01", -2.0)]
    header = ("customer_id", "date", "revenue")
    csv_path = _write(
        tmp_path / "tx.csv",
        ";".join(header)
        + "\n"
        + "".join(f"{c};{d};{str(r).replace('.', ',')}\n" for c, d, r in rows),
        "latin-1",
    )
    pq_path = tmp_path / "tx.parquet"
    pq.write_table(pa.table({h: [r[i] for r in rows] for i, h in enumerate(header)}), pq_path)
    xl_path = tmp_path / "tx.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(header)
    for r in rows:
        wb.active.append(r)
    wb.save(xl_path)
    db_path = _duckdb_file(tmp_path / "tx.duckdb")
    import duckdb

    with duckdb.connect(str(db_path)) as con:
        con.execute("CREATE TABLE transactions (customer_id TEXT, date TEXT, revenue DOUBLE)")
        con.executemany("INSERT INTO transactions VALUES (?, ?, ?)", rows)

    settings = Settings()
    today = dt.date(2025, 1, 1)

    def canonical(path: Path) -> list[tuple]:
        raw = read_input("transactions", path, settings.transactions, engine)
        t = canonicalize(
            raw.table,
            "transactions",
            settings,
            engine,
            file=raw.path,
            source_columns=raw.source_columns,
            delimiter=raw.delimiter,
        )
        t = check_transactions(t, settings, as_of=None, today=today)
        got = engine.to_arrow(t.order_by("_row"))
        assert got.column("_reason").null_count == got.num_rows
        return list(zip(*(got.column(c).to_pylist() for c in (*header, "is_return")), strict=True))

    expected = [(c, dt.date.fromisoformat(d), r, r < 0) for c, d, r in rows]
    # a DuckDB file is read by the DuckDB engine only
    paths = (csv_path, pq_path, xl_path) + ((db_path,) if engine.backend == "duckdb" else ())
    for path in paths:
        assert canonical(path) == expected, path.name


# -- PostgreSQL ---------------------------------------------------------------------------------


def _pg_execute(url: str, *statements: str) -> None:
    adbc = pytest.importorskip("adbc_driver_postgresql.dbapi", reason="the postgres extra")
    with adbc.connect(url) as conn, conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql)
        conn.commit()


@pytest.fixture
def pg_table(pg_url) -> Iterator[tuple[str, str]]:
    """A scratch table (unique name) in the test database with three invoice lines."""
    name = f"tw_test_{uuid.uuid4().hex[:10]}"
    _pg_execute(
        pg_url,
        f"CREATE TABLE {name} (customer_id text, date date, revenue numeric(12,2), name text)",
        f"""INSERT INTO {name} VALUES
            ('A', DATE '2024-01-02', 10.5, 'Müller, "the" firm' || chr(10) || 'line two'),
            ('B', DATE '2024-01-03', 7.25, ''),
            ('C', NULL, NULL, NULL)""",
    )
    try:
        yield pg_url, name
    finally:
        _pg_execute(pg_url, f"DROP TABLE IF EXISTS {name}")


@pytest.mark.postgres
def test_reads_a_postgresql_table(engine, pg_table):
    url, name = pg_table
    raw = read_input("transactions", url, TableInput(table=name), engine)
    assert raw.fmt == "postgres"
    assert raw.source_columns == ["customer_id", "date", "revenue", "name"]
    got = _rows(raw, engine)
    # typed as the server stores them (NUMERIC comes as its exact text), in table order
    assert got == [
        {"customer_id": "A", "date": dt.date(2024, 1, 2), "revenue": "10.50",
         "name": "Müller, \"the\" firm\nline two", "_row": 1},
        {"customer_id": "B", "date": dt.date(2024, 1, 3), "revenue": "7.25", "name": "",
         "_row": 2},
        # SQL NULL stays NULL (not the empty string)
        {"customer_id": "C", "date": None, "revenue": None, "name": None, "_row": 3},
    ]  # fmt: skip


@pytest.mark.postgres
def test_a_missing_postgresql_table_is_an_input_error(engine, pg_url):
    with pytest.raises(InputError, match="does not exist") as info:
        read_input("transactions", pg_url, TableInput(table="no_such_table"), engine)
    assert "[transactions] table" in str(info.value)


@pytest.mark.postgres
def test_runs_the_pipeline_on_a_postgresql_table(tmp_path, pg_table, tierwise_cli):
    url, name = pg_table
    config = tmp_path / "tierwise.toml"
    config.write_text(f'[transactions]\ntable = "{name}"\n', encoding="utf-8")
    run = tierwise_cli("run", "--transactions", url, "--config", config)
    assert run.exit_code == 0, run.output
    acc = run.manifest["inputs"]["transactions"]
    assert (acc["rows_read"], acc["rows_used"], acc["rows_rejected"]) == (3, 2, 1)
    # the table read is named; no checksum that would only be the URL's text
    assert acc["table"] == name
    assert "sha256" not in acc
    assert [(r["row"], r["column"], r["reason"]) for r in run.rejects] == [
        ("3", "date", "missing date")
    ]
    revenue = {r["customer_id"]: float(r["revenue"]) for r in run.customers}
    assert revenue == {"A": 10.5, "B": 7.25}


@pytest.fixture
def pg_scratch(pg_url) -> Iterator[tuple[str, str]]:
    """A unique table name in the test database, dropped after the test."""
    name = f"tw_test_{uuid.uuid4().hex[:10]}"
    try:
        yield pg_url, name
    finally:
        _pg_execute(pg_url, f"DROP TABLE IF EXISTS {name}")


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["bigint", "text"])
def test_a_postgresql_column_named_rowid_keeps_the_record_numbers(engine, pg_scratch, kind):
    url, name = pg_scratch
    _pg_execute(
        url,
        f"CREATE TABLE {name} (rowid {kind}, customer_id text, date date)",
        f"INSERT INTO {name} SELECT (5000 + g)::text::{kind}, 'K' || g, DATE '2024-01-01' "
        "FROM generate_series(1, 4) g",
        f"INSERT INTO {name} VALUES ('9007', NULL, DATE '2024-01-01')",
    )
    raw = read_input("transactions", url, TableInput(table=name), engine)
    got = [(r["customer_id"], r["_row"]) for r in _rows(raw, engine)]
    assert got == [("K1", 1), ("K2", 2), ("K3", 3), ("K4", 4), (None, 5)]


@pytest.mark.postgres
def test_a_postgresql_column_named_row_is_refused(engine, pg_scratch):
    url, name = pg_scratch
    _pg_execute(url, f"CREATE TABLE {name} (_row integer, customer_id text)")
    with pytest.raises(InputError, match="name tierwise gives the record numbers") as info:
        read_input("transactions", url, TableInput(table=name), engine)
    assert info.value.column == "_row"
    assert info.value.file and "127.0.0.1" in info.value.file


@pytest.fixture
def pg_spaced(pg_url) -> Iterator[tuple[str, str]]:
    """A schema whose name needs quotes (a space, capitals) holding tables ``Sales Lines``
    and ``Say "Hi"`` of one invoice line each, and a table ``keep``."""
    schema = f"Tw Sales {uuid.uuid4().hex[:8]}"
    _pg_execute(
        pg_url,
        f'CREATE SCHEMA "{schema}"',
        f'CREATE TABLE "{schema}"."Sales Lines" (customer_id text, date date)',
        f"INSERT INTO \"{schema}\".\"Sales Lines\" VALUES ('spaced', DATE '2024-03-05')",
        f'CREATE TABLE "{schema}"."Say ""Hi""" (customer_id text, date date)',
        f'INSERT INTO "{schema}"."Say ""Hi""" VALUES (\'quoted\', DATE \'2024-03-05\')',
        f'CREATE TABLE "{schema}".keep (id int)',
    )
    try:
        yield pg_url, schema
    finally:
        _pg_execute(pg_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.postgres
def test_a_postgresql_table_whose_name_needs_quotes_is_read(engine, pg_spaced):
    url, schema = pg_spaced
    # as written, or with parts in double quotes as psql prints them ("" a quote inside)
    for given, who in [
        (f"{schema}.Sales Lines", "spaced"),
        (f'"{schema}"."Sales Lines"', "spaced"),
        (f' "{schema}" . Sales Lines ', "spaced"),
        (f'{schema}."Say ""Hi"""', "quoted"),
    ]:
        raw = read_input("transactions", url, TableInput(table=given), engine)
        assert [r["customer_id"] for r in _rows(raw, engine)] == [who], given
        assert raw.database_table == given


@pytest.mark.postgres
def test_a_table_name_is_never_read_as_sql(engine, pg_spaced):
    url, schema = pg_spaced
    # names written to end the quoting and run a statement are names no table has, or (a
    # quote inside a part not in quotes) not read as a name at all
    for attack, said in [
        (f'"{schema}"."x""; DROP SCHEMA ""{schema}"" CASCADE; --"', "does not exist"),
        (f"{schema}.x' || pg_sleep(0) || '", "does not exist"),
        (f'{schema}.x; DROP SCHEMA "{schema}" CASCADE; --', "cannot be read: unexpected"),
    ]:
        with pytest.raises(InputError, match=said) as info:
            read_input("transactions", url, TableInput(table=attack), engine)
        assert "\n" not in str(info.value)
    raw = read_input("transactions", url, TableInput(table=f"{schema}.keep"), engine)
    assert raw.source_columns == ["id"]


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ('public."sales.2024"', "holding a dot"),
        ("db.public.sales", "more than schema.table"),
        ("public..sales", "part of the name is empty"),
        ('public."Sales', "double quote is not closed"),
        ('public.Sales"', "unexpected '\"'"),
        ('"a"b', "unexpected 'b'"),
    ],
)
def test_a_table_name_that_cannot_be_read_is_one_line_naming_the_setting(engine, given, why):
    # refused before any connection (the server named does not exist)
    url = "postgresql://me@127.0.0.1:1/sales"
    with pytest.raises(InputError, match=why) as info:
        read_input("transactions", url, TableInput(table=given), engine)
    said = str(info.value)
    assert said.startswith(f"{url}: table name {given!r} cannot be read")
    assert "[transactions] table" in said and "\n" not in said


def _in_zone(url: str, zone: str) -> str:
    """The URL with a session TimeZone set through libpq's ``options``."""
    from urllib.parse import quote

    return f"{url}{'&' if '?' in url else '?'}options={quote(f'-c TimeZone={zone}', safe='')}"


@pytest.mark.postgres
def test_a_postgresql_timestamptz_gives_the_date_of_the_sessions_time_zone(engine, pg_scratch):
    url, name = pg_scratch
    berlin = _in_zone(url, "Europe/Berlin")
    _pg_execute(
        berlin,
        f"CREATE TABLE {name} (customer_id text, date timestamptz)",
        # written in Berlin: 00:15 on New Year's Day is 23:15 on 31 December in UTC
        f"INSERT INTO {name} VALUES ('K3', '2024-01-01 00:15'), ('K1', '2024-06-03 00:30')",
    )
    raw = read_input("transactions", berlin, TableInput(table=name), engine)
    got = {r["customer_id"]: r["date"] for r in _rows(raw, engine)}
    assert got == {
        "K3": dt.datetime(2024, 1, 1, 0, 15),
        "K1": dt.datetime(2024, 6, 3, 0, 30),
    }
    # the same instants in a session in UTC show UTC's clock
    raw = read_input("transactions", _in_zone(url, "UTC"), TableInput(table=name), engine)
    assert {r["customer_id"]: r["date"] for r in _rows(raw, engine)}["K3"] == dt.datetime(
        2023, 12, 31, 23, 15
    )


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["date", "timestamp", "timestamptz"])
def test_a_postgresql_infinity_date_is_a_rejected_row_not_an_early_date(engine, pg_scratch, kind):
    from tierwise.validate import canonicalize, split_rejects

    url, name = pg_scratch
    _pg_execute(
        url,
        f"CREATE TABLE {name} (line int PRIMARY KEY, customer_id text, date {kind}, revenue int)",
        f"INSERT INTO {name} VALUES (1, 'A', 'infinity', 1), (2, 'B', '-infinity', 1), "
        "(3, 'C', '2024-03-05', 1)",
    )
    raw = read_input("transactions", url, TableInput(table=name), engine)
    t = canonicalize(raw.table, "transactions", Settings(), engine, file=raw.path)
    used, rejects = split_rejects(t, raw.path, "transactions")
    got = engine.to_arrow(used.select("customer_id", "date")).to_pylist()
    assert got == [{"customer_id": "C", "date": dt.date(2024, 3, 5)}]
    reasons = engine.to_arrow(rejects.select("row", "reason").order_by("row")).to_pylist()
    assert [(r["row"], r["reason"].split(" (")[0]) for r in reasons] == [
        (1, "date is infinity or -infinity"),
        (2, "date is infinity or -infinity"),
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("key", ["line_id serial PRIMARY KEY, ", ""], ids=["primary-key", "none"])
def test_a_postgresql_table_is_read_in_the_same_order_after_a_no_op_update(engine, pg_scratch, key):
    url, name = pg_scratch
    _pg_execute(
        url,
        f"CREATE TABLE {name} ({key}customer_id text, name text)",
        f"INSERT INTO {name} (customer_id, name) SELECT 'K' || g, 'Firm ' || g "
        "FROM generate_series(1, 20) g",
        f"INSERT INTO {name} (customer_id, name) VALUES ('K7', 'Firm 7 NEW')",
    )

    def read() -> list[tuple[str, str, int]]:
        raw = read_input("customers", url, TableInput(table=name), engine)
        return [(r["customer_id"], r["name"], r["_row"]) for r in _rows(raw, engine)]

    before = read()
    # moves the tuple to the end of the heap: a plain SELECT would now return it last
    _pg_execute(url, f"UPDATE {name} SET name = name WHERE name = 'Firm 7'")
    assert read() == before
    first_k7 = next(n for c, n, _ in before if c == "K7")
    # with a key, the order of the key (insertion here); without, the text of the columns
    assert first_k7 == "Firm 7"


def _with_password(url: str, password: str) -> str:
    """The test server's URL with a password in its user part (the server trusts local
    connections, so the password is ignored but must still never be shown)."""
    scheme, rest = url.split("://", 1)
    user, _, host = rest.rpartition("@")
    return f"{scheme}://{user or 'postgres'}:{password}@{host}"


@pytest.mark.postgres
def test_a_password_in_the_url_is_never_in_the_manifest_or_rejects(
    tmp_path, pg_table, tierwise_cli
):
    url, name = pg_table
    secret = "p@ss-w0rd"
    config = tmp_path / "tierwise.toml"
    config.write_text(
        f'[transactions]\ntable = "{name}"\npath = "{_with_password(url, secret)}"\n',
        encoding="utf-8",
    )
    run = tierwise_cli("run", "--config", config)
    assert run.exit_code == 0, run.output
    assert secret not in run.output
    manifest = (run.out_dir / "manifest.json").read_text(encoding="utf-8")
    assert secret not in manifest and "w0rd" not in manifest
    assert ":***@" in run.manifest["inputs"]["transactions"]["path"]
    assert ":***@" in run.manifest["settings"]["transactions"]["path"]
    assert run.rejects and all(":***@" in r["file"] for r in run.rejects)
    assert secret not in (run.out_dir / "rejects.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://tierwise:s3cret-pw@127.0.0.1:1/db",
        "postgresql://tierwise:s3cret@pw@127.0.0.1:1/db",
        "postgresql://tierwise@127.0.0.1:1/db?password=s3cret-pw&sslmode=disable",
        "postgres://127.0.0.1:1/db?user=tw&PGPASSWORD=s3cret-pw",
        "postgresql://tierwise:s3cret/pw@127.0.0.1:1/db",
        "postgresql://tierwise:s3cret#pw?x@127.0.0.1:1/db",
        "postgresql://tierwise:p@s3cret/w%rd:x?y#z@127.0.0.1:1/db",
    ],
    ids=["user-info", "at-sign-in-password", "query", "pgpassword", "slash", "hash", "all"],
)
def test_a_postgresql_error_never_shows_the_password(engine, url):
    pytest.importorskip("adbc_driver_postgresql", reason="the postgres extra")
    # port 1 refuses at once; no server is needed
    with pytest.raises(InputError) as info:
        read_input("transactions", url, TableInput(), engine)
    assert "s3cret" not in str(info.value)
    assert "***" in str(info.value)
    assert "127.0.0.1:1/db" in str(info.value)
    assert "connect_timeout" not in str(info.value)


@pytest.mark.postgres
@pytest.mark.parametrize("password", ["Sl/ashPw1", "Hash#Pw?x1", "p@ss/w%rd:x?y#z"])
def test_a_password_written_unencoded_is_never_shown(engine, pg_url, password):
    # the test server trusts local connections: the database name is wrong on purpose, so
    # that the server answers with an error quoting what it was given
    url = _with_password(pg_url, password).rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(InputError) as info:
        read_input("transactions", url, TableInput(), engine)
    message = str(info.value)
    assert "no_such_db" in message, message
    for piece in (password, *password.replace("#", "/").replace("?", "/").split("/")):
        assert len(piece) < 3 or piece not in message, message
    assert "connect_timeout" not in message
    assert "lib***q" not in message and "***ercent" not in message


def test_redact_url_masks_every_kind_of_password() -> None:
    from tierwise.io import redact_url

    assert redact_url("postgresql://me:pw@db/sales") == "postgresql://me:***@db/sales"
    assert redact_url("postgresql://me:p@ss@db/sales") == "postgresql://me:***@db/sales"
    assert (
        redact_url("postgresql://db/sales?sslmode=require&password=pw&application_name=x")
        == "postgresql://db/sales?sslmode=require&password=***&application_name=x"
    )
    assert redact_url("postgresql://db/s?PGPASSWORD=pw") == "postgresql://db/s?PGPASSWORD=***"
    assert redact_url("postgresql://me@db/sales") == "postgresql://me@db/sales"
    assert redact_url("/data/invoices.csv") == "/data/invoices.csv"
    # written unencoded: the password runs to the last "@" before the host
    for password in ("Sl/ashPw1", "Hash#Pw?x1", "p@ss/w%rd:x?y#z", "a@b/c?d#e@f"):
        url = f"postgresql://me:{password}@db:5432/sales?sslmode=require"
        assert redact_url(url) == "postgresql://me:***@db:5432/sales?sslmode=require"


def test_redact_text_hides_the_internal_timeout_and_keeps_words_whole() -> None:
    from tierwise.io.urls import redact_text, url_secrets

    url = "postgresql://me:p@ss/w%rd:x?y#z@db/sales"
    said = (
        f"could not connect to {url}&connect_timeout=10: libpq said invalid percent-encoded "
        'token: "w%rd:x" in "p@ss/w%rd:x?y#z"'
    )
    shown = redact_text(said, url_secrets(url))
    assert "connect_timeout" not in shown
    assert "w%rd" not in shown and "ss/w" not in shown
    assert "libpq" in shown and "percent-encoded" in shown


# -- review decisions -------------------------------------------------------------------------


def test_review_decisions_read_as_text_from_csv_and_parquet(tmp_path: Path) -> None:
    from tierwise.io import read_decisions

    csv = tmp_path / "d.csv"
    csv.write_text("left_id,right_id,decision\n1,2,confirm\n", encoding="utf-8")
    pq_path = tmp_path / "d.parquet"
    pq.write_table(
        pa.table(
            {
                "left_id": [3],
                "right_id": [4],
                "decision": ["reject"],
                "decided_at": [dt.datetime(2026, 1, 2, 9, 30)],
                "evidence": [["a", "b"]],  # nested: not a decision field, left out
            }
        ),
        pq_path,
    )
    for path in (csv, pq_path):
        t = read_decisions(path)
        assert all(pa.types.is_string(f.type) for f in t.schema), path
    t = read_decisions(pq_path)
    assert t.column_names == ["left_id", "right_id", "decision", "decided_at"]
    assert t.to_pylist()[0]["left_id"] == "3"
    assert t.to_pylist()[0]["decided_at"].startswith("2026-01-02 09:30")
    with pytest.raises(InputError, match="review decisions file not found"):
        read_decisions(tmp_path / "none.csv")
    with pytest.raises(InputError, match="review decisions file is a folder"):
        read_decisions(tmp_path)


def test_a_decisions_file_without_its_columns_names_the_file_and_columns(tmp_path: Path) -> None:
    from tierwise.io import read_decisions

    path = tmp_path / "my_decisions.csv"
    path.write_text("left,right_id,decision\n1,2,confirm\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_decisions(path)
    assert info.value.file == str(path)
    assert "lacks the column left_id" in str(info.value)


# -- Spark -----------------------------------------------------------------------------------


@pytest.mark.spark
def test_parquet_on_spark_is_numbered_in_file_order_without_one_partition(tmp_path, spark_engine):
    folder = tmp_path / "invoices"
    folder.mkdir()
    # two files of several row groups each: numbers follow the files in name order
    pq.write_table(pa.table({"x": list(range(7))}), folder / "part-0.parquet", row_group_size=3)
    pq.write_table(pa.table({"x": list(range(7, 12))}), folder / "part-1.parquet", row_group_size=2)
    for path, values in ((folder / "part-0.parquet", range(7)), (folder, range(12))):
        t = spark_engine.read_parquet(path)
        got = spark_engine.to_arrow(t.order_by("_row")).to_pylist()
        assert [(r["x"], r["_row"]) for r in got] == [(v, v + 1) for v in values]


@pytest.mark.spark
@pytest.mark.engines("duckdb", reason="compares the DuckDB result with spark_engine's")
def test_validation_gives_the_same_canonical_table_on_spark(tmp_path, engine, spark_engine):
    from tierwise.validate import REASON, canonicalize, check_transactions

    text = (
        "customer_id;date;revenue;order_id;is_return\n"
        "A;02.01.2024;7.125;C1;no\nB;03.01.2024;12.5;S1;yes\n"
        "C;15.3.24;1;S2;\nD;31.02.2024;2;S3;\n1_0;2024-01-05;1_000;S4;\n"
        "E;2024-01-06;3;S5\n\nF;2024-01-07;-4;C2;\n"
    )
    path = _write(tmp_path / "tx.csv", text)
    settings = Settings()
    today = dt.date(2025, 1, 1)

    def canonical(eng) -> list[dict]:
        raw = read_input("transactions", path, settings.transactions, eng)
        said: list[str] = []
        t = canonicalize(
            raw.table,
            "transactions",
            settings,
            eng,
            file=raw.path,
            source_columns=raw.source_columns,
            delimiter=raw.delimiter,
            warnings=said,
            today=today,
        )
        t = check_transactions(t, settings, as_of=None, today=today, engine=eng, warnings=said)
        rows = eng.to_arrow(t.order_by("_row")).to_pylist()
        keep = ("_row", "customer_id", "date", "revenue", "is_return", "is_cancel", REASON)
        # a rejected row's parsed values may differ (DuckDB reads 15.3.24 as the year 24,
        # Spark not at all); its row and reason may not
        return [
            {k: r[k] for k in (keep if r[REASON] is None else ("_row", REASON))} for r in rows
        ] + [{"malformed": m["row"], "reason": m["reason"]} for m in raw.malformed.to_pylist()]

    on_duckdb = canonical(engine)
    assert canonical(spark_engine) == on_duckdb
    assert [r.get("revenue") for r in on_duckdb[:2]] == [7.125, -12.5]


def _titled_workbook(path):
    """An ERP report: a title and an empty row above the column names (Business Central)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Item Ledger Entries - CRONUS"])
    ws.append([])
    ws.append(["Customer No.", "Posting Date", "Amount (LCY)"])
    ws.append(["10000", dt.datetime(2024, 1, 2), 10.5])
    ws.append(["20000", dt.datetime(2024, 1, 3), 7])
    wb.save(path)
    return path


def test_excel_rows_above_the_column_names_are_found_and_said(tmp_path, engine):
    path = _titled_workbook(tmp_path / "tx.xlsx")
    raw = read_input("transactions", path, TableInput(), engine)
    assert raw.source_columns == ["Customer No.", "Posting Date", "Amount (LCY)"]
    got = _rows(raw, engine)
    assert [r["_row"] for r in got] == [4, 5]  # the sheet's own row numbers
    assert [r["Customer No."] for r in got] == ["10000", "20000"]
    (warning,) = raw.warnings
    assert "column names are in row 3" in warning and "Item Ledger Entries" in warning
    assert "[transactions] header_row" in warning
    # the setting wins over the search; outside the sheet it is an error naming the setting
    raw = read_input("transactions", path, TableInput(header_row=4), engine)
    assert raw.source_columns[0] == "10000" and raw.warnings == []
    assert [r["_row"] for r in _rows(raw, engine)] == [5]
    with pytest.raises(InputError, match="header_row 9 is outside the sheet's rows"):
        read_input("transactions", path, TableInput(header_row=9), engine)
    # a sheet whose first row holds the names is read as before, with nothing said
    plain = _workbook(tmp_path / "plain.xlsx")
    raw = read_input("transactions", plain, TableInput(sheet="Invoices"), engine)
    assert raw.warnings == [] and raw.source_columns[0] == "customer_id"


def test_an_excel_sheet_whose_first_rows_are_empty_keeps_the_sheets_row_numbers(tmp_path, engine):
    # a report export: row 1 empty, a title in A2, the names in row 4, data from row 5
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A2"] = "Sales report"
    for j, h in enumerate(["customer_id", "date", "revenue"], 1):
        ws.cell(row=4, column=j, value=h)
    for i, row in enumerate([("K1", "2024-01-02", 10.0), ("K2", "not a date", 20.0)]):
        for j, v in enumerate(row, 1):
            ws.cell(row=5 + i, column=j, value=v)
    wb.save(tmp_path / "sales.xlsx")
    raw = read_input("transactions", tmp_path / "sales.xlsx", TableInput(), engine)
    assert [r["_row"] for r in _rows(raw, engine)] == [5, 6]
    (warning,) = raw.warnings
    assert "column names are in row 4" in warning
    # the names' own row, set, is the row they are in
    raw = read_input("transactions", tmp_path / "sales.xlsx", TableInput(header_row=4), engine)
    assert raw.source_columns == ["customer_id", "date", "revenue"]
    assert [r["_row"] for r in _rows(raw, engine)] == [5, 6]


def test_csv_title_lines_above_the_column_names_are_skipped_and_rows_keep_their_lines(
    tmp_path, engine
):
    text = (
        "Umsatzliste 2024, erstellt am 03.01.2025\n"
        "\n"
        "Kundennr;Datum;Betrag\n"
        "K1;02.01.2024;12,50\n"
        "K2;03.01.2024;7\n"
        "K3;04.01.2024;1;2\n"  # a field too many: rejected with its line
        "K4;05.01.2024;3\n"
    )
    path = _write(tmp_path / "umsatz.csv", text)
    assert sniff_csv(str(path)).header_line == 3
    raw = read_input("transactions", path, TableInput(), engine)
    assert raw.source_columns == ["Kundennr", "Datum", "Betrag"]
    got = _rows(raw, engine)
    assert [(r["_row"], r["Kundennr"]) for r in got] == [(4, "K1"), (5, "K2"), (7, "K4")]
    assert raw.malformed.column("row").to_pylist() == [6]
    (warning,) = raw.warnings
    assert "column names are on line 3" in warning and "Umsatzliste 2024" in warning
    # header_row names the line; nothing is said then
    raw = read_input("transactions", path, TableInput(header_row=3), engine)
    assert raw.warnings == [] and [r["_row"] for r in _rows(raw, engine)] == [4, 5, 7]


def test_column_names_wrapped_over_lines_in_quotes_are_read_and_rows_keep_their_lines(
    tmp_path, engine
):
    # a spreadsheet's headings wrapped with Alt+Enter, saved as CSV: each name quoted over
    # two lines, below a title; the first line alone read as the names broke the file
    text = (
        "Umsatzliste 2024\r\n"
        "\r\n"
        '"Kunden-\r\nnummer";"Rechnungs-\r\ndatum";"Umsatz\r\n(EUR)"\r\n'
        "K1;02.01.2024;12,50\r\n"
        "K2;03.01.2024;1;2\r\n"  # a field too many: rejected with its line
        'K3;04.01.2024;"1.234,50"\r\n'
    )
    path = _write(tmp_path / "umsatz.csv", text)
    raw = read_input("transactions", path, TableInput(), engine)
    assert raw.source_columns == ["Kunden-\nnummer", "Rechnungs-\ndatum", "Umsatz\n(EUR)"]
    dialect = sniff_csv(str(path))
    assert (dialect.header_line, dialect.header_end) == (3, 6)
    got = _rows(raw, engine)
    assert [(r["_row"], r["Kunden-\nnummer"], r["Umsatz\n(EUR)"]) for r in got] == [
        (7, "K1", "12,50"),
        (9, "K3", "1.234,50"),
    ]
    assert raw.malformed.column("row").to_pylist() == [8]
    (warning,) = raw.warnings
    assert "column names are on line 3" in warning and "2 lines above" in warning
    # the sample init reads starts below the names too
    sample = read_sample(path)
    assert sample.columns == raw.source_columns
    assert sample.table.column("Kunden-\nnummer").to_pylist()[:1] == ["K1"]


def test_a_one_column_csv_is_not_taken_for_a_title(tmp_path, engine):
    path = _write(tmp_path / "ids.csv", "customer_id\nA\nB\n")
    raw = read_input("customers", path, TableInput(), engine)
    assert raw.source_columns == ["customer_id"] and raw.warnings == []
    assert [r["_row"] for r in _rows(raw, engine)] == [2, 3]


def test_a_header_whose_delimiter_also_splits_the_data_differently_is_no_title(tmp_path, engine):
    # ';' fields with ',' decimals: the data lines split on ',' too, the header does not
    path = _write(tmp_path / "market.csv", "industry;market_size\nretail;1,5\nfood;0,25\n")
    raw = read_input("market", path, TableInput(), engine)
    assert raw.source_columns == ["industry", "market_size"] and raw.warnings == []
    assert [r["_row"] for r in _rows(raw, engine)] == [2, 3]


def test_the_checksum_computed_while_the_file_is_read_is_the_files_sha256(tmp_path: Path) -> None:
    import hashlib

    from tierwise.engine import Engine
    from tierwise.io import read_input
    from tierwise.settings import TableInput

    p = tmp_path / "t.csv"
    p.write_text("customer_id,date,revenue\n" + "A,2024-01-02,10.5\n" * 5000)
    raw = read_input("transactions", p, TableInput(), Engine())
    assert raw.checksum() == hashlib.sha256(p.read_bytes()).hexdigest()
    assert raw.sha256 == raw.checksum() and raw.pending_sha256 is None


def test_a_reports_group_headings_are_named_in_a_warning(tmp_path, engine):
    # Xero's Sales by Customer Detail: each customer's name on a line above its invoices
    path = tmp_path / "tx.csv"
    path.write_text(
        "Date,Invoice,Amount\nAcme Ltd\n2024-01-02,INV-1,10\nBeta Co\n2024-01-03,INV-3,7\n"
        "Gamma Inc\n2024-02-03,INV-4,9\n"
    )
    raw = read_input("transactions", path, TableInput(), engine)
    assert raw.n_malformed == 3
    (said,) = [w for w in raw.warnings if "one field only" in w]
    assert "3 lines" in said and "'Acme Ltd'" in said and "ungrouped" in said
    # two stray short lines are no report's headings
    path.write_text("Date,Invoice,Amount\nx\n2024-01-02,INV-1,10\ny\n")
    raw = read_input("transactions", path, TableInput(), engine)
    assert not [w for w in raw.warnings if "one field only" in w]


def test_group_headings_of_one_field_fill_a_column_the_file_lacks(tmp_path, engine):
    # Xero's Sales by Customer Detail: each customer's name on a line of its own (quoted
    # where it holds the delimiter), its invoices under it, a subtotal line after them
    from tierwise.api import validate

    path = tmp_path / "tx.csv"
    path.write_text(
        'Date,Invoice,Amount\n"Acme, Ltd"\n2024-01-02,INV-1,10\n2024-01-05,INV-2,5\n'
        "Total Acme Ltd,,15\nBeta Co\n2024-01-03,INV-3,7\nGamma Inc\n2024-02-03,INV-4,9\n"
    )
    s = Settings().with_updates(
        transactions={
            "fill_down": ["Customer"],
            "columns": {
                "customer_id": "Customer",
                "date": "Date",
                "order_id": "Invoice",
                "revenue": "Amount",
            },
        }
    )
    raw = read_input("transactions", path, s.transactions, engine)
    assert raw.source_columns == ["Date", "Invoice", "Amount", "Customer"]
    assert raw.n_malformed == 0 and not [w for w in raw.warnings if "one field only" in w]
    v = validate(str(path), settings=s, as_of="2024-12-31")["transactions"]
    got = v.table.select(["order_id", "customer_id"]).sort_by("order_id").to_pylist()
    assert [(r["order_id"], r["customer_id"]) for r in got] == [
        ("INV-1", "Acme, Ltd"),
        ("INV-2", "Acme, Ltd"),
        ("INV-3", "Beta Co"),
        ("INV-4", "Gamma Inc"),
    ]
    reasons = sorted(
        zip(
            v.rejects.column("row").to_pylist(), v.rejects.column("reason").to_pylist(), strict=True
        )
    )
    assert [row for row, _ in reasons] == [2, 5, 6, 8]  # the headings and the subtotal line
    assert all(r.startswith("a group heading") for row, r in reasons if row != 5)
    # a column the file has is filled from its own cells: a line of one field stays refused
    s2 = s.with_updates(transactions={"fill_down": ["Invoice"]})
    assert read_input("transactions", path, s2.transactions, engine).n_malformed == 3


@pytest.mark.parametrize("blank_first", [False, True], ids=["engine-reader", "arrow-reader"])
def test_an_empty_csv_field_is_no_value_and_a_quoted_empty_one_empty_text(
    tmp_path, engine, blank_first
):
    # a blank first line sends the file to Arrow's reader (the one Spark always uses); either
    # reader gives an empty field no value, so a rejected row's empty cell reads alike
    head = "\n" if blank_first else ""
    text = head + 'customer_id,date,revenue,name\nA,2024-01-05,,""\nB,,3,x\n'
    path = _write(tmp_path / "tx.csv", text)
    raw = read_input("transactions", path, TableInput(), engine)
    got = engine.to_arrow(raw.table.order_by("_row")).to_pylist()
    first = 3 if blank_first else 2
    assert [(r["_row"], r["revenue"], r["name"], r["date"]) for r in got] == [
        (first, None, "", "2024-01-05"),
        (first + 1, "3", "x", None),
    ]


@pytest.mark.engines("duckdb", reason="the file is refused before any engine reads it")
@pytest.mark.parametrize(
    "text",
    [
        '[{"customer_id": "A", "revenue": 1}]',
        '  [\n  {"customer_id": "A"}\n]',
        '{"customer_id": "A", "revenue": 1}\n{"customer_id": "B", "revenue": 2}\n',
        "[]",
    ],
)
def test_json_named_csv_is_refused_in_one_line(tmp_path, engine, text):
    path = _write(tmp_path / "tx.csv", text)
    with pytest.raises(InputError) as err:
        read_input("transactions", path, TableInput(), engine)
    assert str(err.value).startswith(f"{path}: the file is JSON")
    assert "export the table as CSV, Parquet or .xlsx" in str(err.value)
    path = tmp_path / "tx16.csv"
    path.write_bytes(text.encode("utf-16"))
    with pytest.raises(InputError, match="the file is JSON"):
        read_input("transactions", path, TableInput(), engine)


def test_a_header_in_sql_server_brackets_is_no_json(tmp_path, engine):
    path = _write(tmp_path / "tx.csv", "[customer_id],[revenue]\nA,1\n")
    raw = read_input("transactions", path, TableInput(), engine)
    assert raw.source_columns == ["[customer_id]", "[revenue]"]
    assert _rows(raw, engine)[0]["[customer_id]"] == "A"


def test_tab_separated_text_named_xls_is_read_as_text(tmp_path, engine):
    # "export to Excel" of many systems: tab-separated text with an .xls name
    text = "customer_id\tdate\trevenue\nA\t2024-01-02\t1,5\n"
    for path in (_write(tmp_path / "a.xls", text), _write(tmp_path / "b.xls", text, "utf-16")):
        raw = read_input("transactions", path, TableInput(), engine)
        assert raw.source_columns == ["customer_id", "date", "revenue"]
        assert [r["revenue"] for r in _rows(raw, engine)] == ["1,5"]


@pytest.mark.engines("duckdb", reason="the file is refused before any engine reads it")
def test_a_web_page_or_xml_named_xls_is_refused_saying_what_to_do(tmp_path, engine):
    html = "<HTML><BODY><TABLE><TR><TD>customer_id</TD></TR></TABLE></BODY></HTML>"
    cases = [
        ("tx.xls", html, "a web page saved as .xls", "open it in Excel and save it as .xlsx"),
        ("tx16.xls", html, "a web page saved as .xls", "open it in Excel and save it as .xlsx"),
        ("page.csv", "\n<!doctype html>\n<html>", "a web page (HTML)", "download the export"),
        ("tx.xls", '<?xml version="1.0"?><Workbook>', "Excel 2003 XML", "save it as .xlsx"),
        ("tx.csv", '<?xml version="1.0"?><orders/>', "the file is XML", "as CSV, Parquet"),
    ]
    for name, text, what, todo in cases:
        path = _write(tmp_path / name, text, "utf-16" if "16" in name else "utf-8")
        with pytest.raises(InputError) as err:
            read_input("transactions", path, TableInput(), engine)
        assert str(err.value).startswith(f"{path}: the file is"), err.value
        assert what in str(err.value) and todo in str(err.value)
