"""Writing the demo dataset to a folder: one file per table, the truth kept apart."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tierwise.demo import generate
from tierwise.errors import SettingsError
from tierwise.io.demo_files import write_demo

_NAMES = {
    "transactions",
    "customers",
    "activities",
    "payments",
    "prospects",
    "reps",
    "products",
    "market",
    "truth",
}


def test_writes_one_parquet_file_per_table_that_reads_back_equal(tmp_path: Path) -> None:
    data = generate(n_customers=150, seed=2)
    paths = write_demo(data, tmp_path / "demo")
    assert set(paths) == _NAMES
    assert {p.name for p in (tmp_path / "demo").iterdir()} == {f"{n}.parquet" for n in _NAMES}
    for name, path in paths.items():
        assert pq.read_table(path).equals(data.tables()[name]), name


def test_writes_csv_with_the_same_rows(tmp_path: Path) -> None:
    data = generate(n_customers=150, seed=2)
    paths = write_demo(data, tmp_path, fmt="csv")
    assert paths["truth"] == tmp_path / "truth.csv"
    tx = pacsv.read_csv(paths["transactions"])
    assert tx.num_rows == data.transactions.num_rows
    assert tx.column_names == data.transactions.column_names
    customers = pacsv.read_csv(
        paths["customers"],
        convert_options=pacsv.ConvertOptions(column_types={"customer_id": "string"}),
    )
    assert (
        customers.column("customer_id").to_pylist()
        == data.customers.column("customer_id").to_pylist()
    )


def test_rejects_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="xlsx"):
        write_demo(generate(n_customers=50, seed=1), tmp_path, fmt="xlsx")
