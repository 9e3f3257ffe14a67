"""Writing the demo dataset to a folder: one file per table, the truth kept apart."""

from __future__ import annotations

import json
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
    "truth_crosssell",
}


def test_writes_one_parquet_file_per_table_that_reads_back_equal(tmp_path: Path) -> None:
    data = generate(n_customers=150, seed=2)
    paths = write_demo(data, tmp_path / "demo")
    assert set(paths) == _NAMES | {"truth_coverage"}
    assert {p.name for p in (tmp_path / "demo").iterdir()} == {f"{n}.parquet" for n in _NAMES} | {
        "truth_coverage.json"
    }
    tables = {**data.tables(), "truth_crosssell": data.planted_pairs}
    for name in _NAMES:
        assert pq.read_table(paths[name]).equals(tables[name]), name


def test_writes_the_planted_pairs_and_the_coverage_truth(tmp_path: Path) -> None:
    data = generate(n_customers=150, seed=2)
    paths = write_demo(data, tmp_path)
    pairs = pq.read_table(paths["truth_crosssell"]).to_pylist()
    assert len(pairs) == 5 and pairs[0]["antecedent_category"] == "Power Tools"
    assert {p["antecedent"] for p in pairs} <= set(data.products.column("product_id").to_pylist())
    cov = json.loads(paths["truth_coverage"].read_text())
    assert cov == data.truth_coverage
    assert cov["effectiveness"]["visit"] == 1.0
    for key in ("effectiveness", "cost_per_contact", "minutes_per_contact"):
        assert set(cov[key]) == {"visit", "call", "email"}, key


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
