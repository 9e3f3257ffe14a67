"""Inputs a data lake has: a folder of Parquet files (Hive partitions), a glob, a Delta or
Iceberg table's folder; the same rows and numbers on DuckDB and Spark."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierwise.engine import Engine
from tierwise.errors import InputError
from tierwise.io.readers import read_input
from tierwise.settings import TableInput


def _lake(root: Path) -> Path:
    """Invoice lines in year=/month= partition folders, several row groups a file, and the
    bookkeeping files Spark writes beside them."""
    lake = root / "invoices"
    parts = {(2023, 12): range(0, 5), (2024, 1): range(5, 12), (2024, 2): range(12, 14)}
    for (year, month), ids in parts.items():
        folder = lake / f"year={year}" / f"month={month}"
        folder.mkdir(parents=True)
        table = pa.table(
            {
                "customer_id": [f"c{i % 4}" for i in ids],
                "revenue": [float(i) for i in ids],
            }
        )
        pq.write_table(table, folder / "part-00000.snappy.parquet", row_group_size=3)
    (lake / "_SUCCESS").write_text("")
    (lake / "year=2024" / "month=1" / ".part-00000.snappy.parquet.crc").write_bytes(b"\x00crc")
    return lake


def _rows(engine: Engine, source: object) -> tuple[list[dict], str, list[str]]:
    raw = read_input("transactions", source, TableInput(), engine)  # type: ignore[arg-type]
    got = engine.to_arrow(raw.table.order_by("_row")).to_pylist()
    return got, raw.sha256, raw.source_columns


def _check(got: list[dict], columns: list[str]) -> None:
    assert columns == ["customer_id", "revenue", "year", "month"]
    # numbered through the files in name order; the partition folders are columns
    assert [r["_row"] for r in got] == list(range(1, 15))
    assert [r["revenue"] for r in got] == [float(i) for i in range(14)]
    assert [(int(r["year"]), int(r["month"])) for r in got[4:6]] == [(2023, 12), (2024, 1)]


def test_a_folder_of_parquet_files_is_one_table_with_its_partitions(tmp_path, engine):
    got, sha, cols = _rows(engine, _lake(tmp_path))
    _check(got, cols)
    assert len(sha) == 64


def test_a_glob_reads_the_files_it_matches(tmp_path, engine):
    lake = _lake(tmp_path)
    got, sha_glob, cols = _rows(engine, str(lake / "**" / "*.parquet"))
    _check(got, cols)
    # the same files give the same fingerprint, however they were named
    assert sha_glob == _rows(engine, lake)[1]
    only_2024, _, _ = _rows(engine, str(lake / "year=2024" / "*" / "*.parquet"))
    assert [r["revenue"] for r in only_2024] == [float(i) for i in range(5, 14)]


def test_a_changed_file_changes_the_fingerprint(tmp_path, engine):
    lake = _lake(tmp_path)
    before = _rows(engine, lake)[1]
    pq.write_table(
        pa.table({"customer_id": ["c9"], "revenue": [1.0]}),
        lake / "year=2024" / "month=2" / "part-00000.snappy.parquet",
    )
    assert _rows(engine, lake)[1] != before


def test_a_folder_or_glob_without_parquet_is_one_clear_error(tmp_path, engine):
    (tmp_path / "csvs").mkdir()
    (tmp_path / "csvs" / "a.csv").write_text("customer_id\nA\n")
    with pytest.raises(InputError, match=r"folder without Parquet files \(it holds \.csv"):
        read_input("transactions", tmp_path / "csvs", TableInput(), engine)
    with pytest.raises(InputError, match="no file matches"):
        read_input("transactions", str(tmp_path / "none" / "*.parquet"), TableInput(), engine)
    with pytest.raises(InputError, match=r"a\.csv is not one"):
        read_input("transactions", str(tmp_path / "csvs" / "*"), TableInput(), engine)


def test_delta_and_iceberg_folders_are_named_not_misread(tmp_path, engine):
    delta = _lake(tmp_path)
    (delta / "_delta_log").mkdir()
    # the folder's Parquet files include ones the table has removed: reading them as plain
    # Parquet would count removed rows, so DuckDB refuses and says what to do; Spark reads it
    # with Delta Lake, which this session does not have
    says = r"DuckDB engine does not read" if engine.backend == "duckdb" else r"delta-spark"
    with pytest.raises(InputError, match=rf"invoices: this is a Delta table.*{says}"):
        read_input("transactions", delta, TableInput(), engine)
    ice = tmp_path / "ice"
    (ice / "metadata").mkdir(parents=True)
    (ice / "metadata" / "v1.metadata.json").write_text("{}")
    with pytest.raises(InputError, match="Iceberg table"):
        read_input("transactions", ice, TableInput(), engine)


@pytest.mark.engines("duckdb", reason="Spark reads data-lake URLs (the test below)")
def test_a_data_lake_url_needs_spark(engine):
    with pytest.raises(InputError, match="Spark engine only"):
        read_input("transactions", "s3a://bucket/invoices/", TableInput(), engine)


@pytest.mark.engines("spark", reason="the DuckDB engine reads no data-lake URL (the test above)")
def test_a_url_spark_has_no_file_system_for_is_one_line_with_the_connector(engine):
    # the session has no S3 connector (hadoop-aws): Spark fails before any network access
    with pytest.raises(InputError) as info:
        read_input("transactions", "s3a://bucket/invoices/", TableInput(), engine)
    said = str(info.value)
    assert said.startswith("s3a://bucket/invoices/: Spark could not read this URL: ")
    assert "S3AFileSystem" in said and "hadoop-aws" in said
    assert "\n" not in said and "\tat " not in said


@pytest.mark.engines("spark", reason="the DuckDB engine reads no data-lake URL")
def test_spark_reads_a_url_as_it_reads_the_folder(tmp_path, engine):
    lake = _lake(tmp_path)
    got, _, cols = _rows(engine, lake.as_uri())
    _check(got, cols)


def _month(folder: Path, name: str, table: pa.Table) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / name)


def test_a_file_lacking_a_column_keeps_its_rows_and_is_named(tmp_path, engine):
    # schema drift: the first export of the folder has no cost (Spark would take its schema
    # and drop cost from every file; DuckDB would fill it in silently)
    lake = tmp_path / "monthly"
    _month(lake, "2024-01.parquet", pa.table({"customer_id": ["a", "b"], "revenue": [1.0, 2.0]}))
    for m, customer in (("2024-02", "c"), ("2024-03", "d")):
        _month(
            lake,
            f"{m}.parquet",
            pa.table({"customer_id": [customer], "revenue": [3.0], "cost": [1.5]}),
        )
    raw = read_input("transactions", lake, TableInput(), engine)
    got = engine.to_arrow(raw.table.order_by("_row")).to_pylist()
    assert raw.source_columns == ["customer_id", "revenue", "cost"]
    assert [(r["_row"], r["cost"]) for r in got] == [(1, None), (2, None), (3, 1.5), (4, 1.5)]
    assert raw.warnings == [
        "transactions: 1 of 3 files lacks column 'cost' (2024-01.parquet, 2 rows): those "
        "rows have no cost; export it again with every column"
    ]


def test_a_file_delivered_twice_is_read_once_and_its_copy_rejected(tmp_path, engine):
    lake = tmp_path / "lake"
    nov = pa.table({"customer_id": ["a", "b"], "revenue": [1.0, 2.0]})
    _month(lake, "invoices_2024-10.parquet", pa.table({"customer_id": ["z"], "revenue": [9.0]}))
    _month(lake, "invoices_2024-11.parquet", nov)
    _month(lake, "invoices_2024-11 (1).parquet", nov)
    _month(lake, "invoices_2024-12.parquet", pa.table({"customer_id": ["c"], "revenue": [3.0]}))
    raw = read_input("transactions", lake, TableInput(), engine)
    got = engine.to_arrow(raw.table.order_by("_row")).to_pylist()
    # rows keep their numbers through all four files in name order ("… (1).parquet" comes
    # first): the later copy's rows 4-5 are rejected, so read == used + rejected still holds
    assert [(r["_row"], r["revenue"]) for r in got] == [(1, 9.0), (2, 1.0), (3, 2.0), (6, 3.0)]
    assert raw.malformed.column("row").to_pylist() == [4, 5]
    assert set(raw.malformed.column("reason").to_pylist()) == {
        "duplicate of file invoices_2024-11 (1).parquet (the same bytes), whose rows are used"
    }
    assert raw.warnings == [
        "transactions: invoices_2024-11 (1).parquet and invoices_2024-11.parquet have the "
        "same bytes (a file delivered twice): the rows of invoices_2024-11 (1).parquet are "
        "used, the 2 rows of invoices_2024-11.parquet rejected as their duplicates; remove "
        "whichever of the two is the copy from the folder"
    ]


def test_the_same_file_in_two_partition_folders_is_no_duplicate(tmp_path, engine):
    # a weekly standing order: the same bytes under date=2024-01-05/ and date=2024-01-12/,
    # whose rows differ by the partition's date
    weekly = pa.table({"customer_id": ["a"], "revenue": [10.0]})
    for day in ("2024-01-05", "2024-01-12", "2024-01-19"):
        _month(tmp_path / "lake" / f"date={day}", "part-0.parquet", weekly)
    raw = read_input("transactions", tmp_path / "lake", TableInput(), engine)
    got = engine.to_arrow(raw.table.order_by("_row")).to_pylist()
    assert [(r["_row"], str(r["date"])[:10]) for r in got] == [
        (1, "2024-01-05"),
        (2, "2024-01-12"),
        (3, "2024-01-19"),
    ]
    assert raw.malformed.num_rows == 0 and raw.warnings == []


def test_a_partition_folders_value_keeps_its_leading_zeros(tmp_path, engine):
    # a lake partitioned by customer: customer_id=00042 names the customer the master file
    # calls 00042, on Spark as on DuckDB (Spark's own guess would read the number 42)
    for cid in ("00042", "00107"):
        _month(
            tmp_path / "lake" / f"customer_id={cid}", "part-0.parquet", pa.table({"revenue": [1.0]})
        )
    raw = read_input("transactions", tmp_path / "lake", TableInput(), engine)
    got = engine.to_arrow(raw.table.order_by("_row")).to_pylist()
    assert [str(r["customer_id"]) for r in got] == ["00042", "00107"]


def test_files_are_numbered_in_the_order_of_their_paths_on_both_engines(tmp_path, engine):
    # Spark names files by URL: "a%20b" sorts after "a!b", the path "a b" before it. The
    # duplicate-file check counts rows in path order, so the engines must number rows in it
    lake = tmp_path / "lake"
    _month(lake, "a!b.parquet", pa.table({"customer_id": ["x"], "revenue": [2.0]}))
    _month(lake, "a b.parquet", pa.table({"customer_id": ["y"], "revenue": [1.0]}))
    copy = pa.table({"customer_id": ["y"], "revenue": [1.0]})
    _month(lake, "a.parquet", copy)  # the same bytes as "a b.parquet"
    raw = read_input("transactions", lake, TableInput(), engine)
    got = engine.to_arrow(raw.table.order_by("_row")).to_pylist()
    assert [(r["_row"], r["customer_id"]) for r in got] == [(1, "y"), (2, "x")]
    assert raw.malformed.column("row").to_pylist() == [3]


def test_files_disagreeing_on_a_type_read_it_as_text_that_keeps_typed_values(tmp_path, engine):
    # older exports typed, the new one text with a decimal comma and int64 ids: Spark could
    # not read them as one table, DuckDB turned 1.25 into "1.25", misread with decimal ","
    lake = tmp_path / "lake"
    _month(
        lake,
        "part-0.parquet",
        pa.table(
            {
                "customer_id": ["7", "8"],
                "date": ["2024-11-02", "2024-11-03"],
                "revenue": [1.25, 1250.0],
            }
        ),
    )
    new = {"customer_id": pa.array([42], pa.int64()), "date": ["2024-12-01"], "revenue": ["54,08"]}
    _month(lake, "part-1.parquet", pa.table(new))
    raw = read_input("transactions", lake, TableInput(), engine)
    got = engine.to_arrow(raw.table.order_by("_row")).to_pylist()
    # ids as their digits; typed numbers as digits and a power of ten, which read the same
    # with either decimal separator
    assert [r["customer_id"] for r in got] == ["7", "8", "42"]
    assert [r["revenue"] for r in got] == ["125e-2", "1250", "54,08"]
    assert raw.warnings == [
        f"transactions: the files disagree on the type of column {c!r} ({said}), so it is "
        "read as text in every file: text values are parsed as a CSV's are, typed values "
        "keep theirs; export the files with one type for the column"
        for c, said in [
            ("customer_id", "integer in part-1.parquet; text in part-0.parquet"),
            ("revenue", "number in part-0.parquet; text in part-1.parquet"),
        ]
    ]
    from tierwise.pipeline import load_and_validate
    from tierwise.settings import Settings

    ctx = load_and_validate(
        {"transactions": str(lake)},
        Settings().with_updates(transactions={"decimal": ","}),
        engine,
        as_of=dt.date(2024, 12, 31),
    )
    used = engine.to_arrow(ctx.tables["transactions"].order_by("_row")).to_pylist()
    assert [(r["customer_id"], r["revenue"]) for r in used] == [
        ("7", 1.25),
        ("8", 1250.0),
        ("42", 54.08),
    ]


def test_a_huge_typed_number_among_text_files_is_one_rejected_row(tmp_path, engine):
    # 1e20 is no whole number a 64-bit integer holds: written as digits and a power of ten,
    # it is rejected as implausible by validation instead of stopping the run with the
    # engine's "out of range" error
    lake = tmp_path / "lake"
    old = {"customer_id": ["7", "8"], "date": ["2024-11-02"] * 2, "revenue": [1e20, 5.0]}
    _month(lake, "part-0.parquet", pa.table(old))
    new = {"customer_id": ["9"], "date": ["2024-12-01"], "revenue": ["54,08"]}
    _month(lake, "part-1.parquet", pa.table(new))
    from tierwise.pipeline import load_and_validate
    from tierwise.settings import Settings

    ctx = load_and_validate(
        {"transactions": str(lake)},
        Settings().with_updates(transactions={"decimal": ","}),
        engine,
        as_of=dt.date(2024, 12, 31),
    )
    used = engine.to_arrow(ctx.tables["transactions"].order_by("_row")).to_pylist()
    assert [(r["customer_id"], r["revenue"]) for r in used] == [("8", 5.0), ("9", 54.08)]
    assert ctx.rejects.column("row").to_pylist() == [1]
    assert "implausibly large" in ctx.rejects.column("reason")[0].as_py()


def test_files_disagreeing_on_date_and_number_are_said_to(tmp_path, engine):
    _month(
        tmp_path / "lake",
        "part-0.parquet",
        pa.table({"customer_id": ["a"], "date": [dt.date(2024, 1, 2)], "revenue": [1.0]}),
    )
    _month(
        tmp_path / "lake",
        "part-1.parquet",
        pa.table({"customer_id": ["b"], "date": [20240103], "revenue": [2.0]}),
    )
    raw = read_input("transactions", tmp_path / "lake", TableInput(), engine)
    assert [w for w in raw.warnings if "type of column 'date'" in w], raw.warnings


def test_a_damaged_part_file_is_named_by_its_path_in_the_folder(tmp_path, engine):
    lake = _lake(tmp_path)
    bad = lake / "year=2024" / "month=1" / "part-00000.snappy.parquet"
    bad.write_bytes(bad.read_bytes()[:200])
    with pytest.raises(InputError, match=r"year=2024/month=1/part-00000\.snappy\.parquet is not a"):
        read_input("transactions", lake, TableInput(), engine)


@pytest.mark.parametrize("column", ["_row", "_ROW"])
def test_a_column_named_row_in_a_folder_or_glob_is_refused_naming_the_file(
    tmp_path, engine, column
):
    # one file of the folder has a column of the name the record numbers take: read, it
    # would be replaced by the numbers (DuckDB) or fail the read (Spark)
    lake = _lake(tmp_path)
    odd = lake / "year=2024" / "month=2" / "part-00001.snappy.parquet"
    pq.write_table(pa.table({"customer_id": ["c7"], "revenue": [1.0], column: [41]}), odd)
    for source in (lake, str(lake / "**" / "*.parquet")):
        with pytest.raises(InputError) as info:
            read_input("transactions", source, TableInput(), engine)
        said = str(info.value)
        assert info.value.column == column
        assert f"column '{column}' of year=2024/month=2/part-00001.snappy.parquet" in said
        assert "rename the column" in said and "\n" not in said


@pytest.mark.engines("spark", reason="the DuckDB engine reads no data-lake URL")
def test_a_column_named_row_at_a_url_is_refused_in_one_line(tmp_path, engine):
    folder = tmp_path / "lake"
    folder.mkdir()
    pq.write_table(pa.table({"customer_id": ["c1"], "_row": [3]}), folder / "a.parquet")
    with pytest.raises(InputError, match="name tierwise gives the record numbers") as info:
        read_input("transactions", folder.as_uri(), TableInput(), engine)
    assert info.value.column == "_row"
    assert "\n" not in str(info.value)


@pytest.mark.engines("spark", reason="the DuckDB engine reads no data-lake URL")
def test_a_delta_or_iceberg_table_at_a_url_is_named_not_misread(tmp_path, engine):
    # as for the folder on this machine: a Delta table's Parquet files include ones its log
    # has removed, so they are read through Delta Lake (which this session does not have)
    delta = _lake(tmp_path)
    (delta / "_delta_log").mkdir()
    (delta / "_delta_log" / "00000000000000000000.json").write_text("{}")
    with pytest.raises(InputError, match=r"this is a Delta table.*delta-spark"):
        read_input("transactions", delta.as_uri(), TableInput(), engine)
    ice = tmp_path / "ice"
    (ice / "metadata").mkdir(parents=True)
    (ice / "metadata" / "v1.metadata.json").write_text("{}")
    pq.write_table(pa.table({"customer_id": ["a"]}), ice / "part-0.parquet")
    with pytest.raises(InputError, match="Iceberg table"):
        read_input("transactions", ice.as_uri(), TableInput(), engine)


@pytest.mark.engines("spark", reason="the DuckDB engine reads no data-lake URL")
def test_a_spark_read_that_fails_is_one_line_naming_the_file(tmp_path, engine):
    # the files at a URL are read as Spark reads them: one of them with a wider integer
    # column fails the read; what is said is Spark's error without its Java stack trace
    from tierwise.errors import EngineError

    lake = tmp_path / "lake"
    lake.mkdir()
    for i, width in enumerate([pa.int32(), pa.int64()]):
        pq.write_table(
            pa.table({"customer_id": ["A", "B"], "quantity": pa.array([1, 2], width)}),
            lake / f"part-{i}.parquet",
        )
    raw = read_input("transactions", lake.as_uri(), TableInput(), engine)
    with pytest.raises(EngineError) as info:
        engine.materialize(raw.table)
    said = str(info.value)
    assert "part-1.parquet" in said and "quantity" in said
    assert "\n" not in said and "\tat " not in said and "JVM stacktrace" not in said
