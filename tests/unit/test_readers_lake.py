"""Inputs a data lake has: a folder of Parquet files (Hive partitions), a glob, a Delta or
Iceberg table's folder; the same rows and numbers on DuckDB and Spark."""

from __future__ import annotations

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
