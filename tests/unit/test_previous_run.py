"""Reading a previous run's output folder (``--previous``): its customers table, its
analysis date and its class names, from a folder as the run left it or as people left it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierwise.errors import InputError
from tierwise.io.outputs import MARKER, write_csv
from tierwise.io.previous import check_previous, read_previous


def _customers() -> pa.Table:
    return pa.table(
        {
            "customer_id": ["0001", "0002", "0003"],
            "value_class": ["A", "B", "D"],
            "value_class_computed": ["A", "B", "D"],
            "revenue_12m": [12500.5, 800.25, 0.0],
            "last_purchase": pa.array(
                [dt.date(2025, 11, 20), dt.date(2025, 10, 1), None], pa.date32()
            ),
            "recency_days": pa.array([9, 59, None], pa.int64()),
        }
    )


def _run_folder(folder: Path, manifest: dict[str, object] | None) -> Path:
    folder.mkdir()
    (folder / MARKER).write_text("{}", encoding="utf-8")
    pq.write_table(_customers(), folder / "customers.parquet")
    write_csv(_customers(), folder / "customers.csv")
    if manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_a_runs_folder_gives_its_customers_date_and_classes(tmp_path: Path) -> None:
    manifest = {"as_of": "2025-11-29", "segments": {"classes": {"A": {}, "B": {}, "D": {}}}}
    prev = read_previous(_run_folder(tmp_path / "nov", manifest))
    assert prev.customers.equals(_customers())
    assert prev.as_of == dt.date(2025, 11, 29) and prev.classes == ["A", "B", "D"]
    assert prev.notes == [] and prev.source == str(tmp_path / "nov" / "customers.parquet")


def test_a_lost_manifest_dates_the_run_by_its_customers_recency(tmp_path: Path) -> None:
    prev = read_previous(_run_folder(tmp_path / "nov", None))
    # 2025-11-20 + 9 days = 2025-10-01 + 59 days = 2025-11-29
    assert prev.as_of == dt.date(2025, 11, 29) and prev.classes == []
    (note,) = prev.notes
    assert "has no manifest.json: its analysis date is taken as 2025-11-29" in note
    assert "last_purchase and recency_days" in note


@pytest.mark.parametrize(
    "saved",
    [
        # German Excel: semicolons, decimal commas, a byte-order mark, ids as numbers
        ("\ufeffcustomer_id;value_class;revenue_12m\n1;A;12500,5\n2;B;800,25\n", ";", "comma"),
        # English Excel: commas and points as written, a byte-order mark
        (
            "\ufeffcustomer_id,value_class,revenue_12m\n0001,A,12500.5\n0002,B,800.25\n",
            ",",
            "point",
        ),
    ],
    ids=["excel-de", "excel-us"],
)
def test_a_customers_csv_saved_again_in_excel_is_read_when_the_parquet_is_gone(
    tmp_path: Path, saved: tuple[str, str, str]
) -> None:
    text, delimiter, decimal = saved
    folder = _run_folder(tmp_path / "nov", {"as_of": "2025-11-29"})
    (folder / "customers.parquet").unlink()
    (folder / "customers.csv").write_text(text, encoding="utf-8")
    check_previous(folder)
    prev = read_previous(folder)
    assert prev.customers.column("revenue_12m").to_pylist() == [12500.5, 800.25]
    assert prev.customers.schema.field("customer_id").type == pa.string()
    assert prev.as_of == dt.date(2025, 11, 29)
    (note,) = prev.notes
    assert "has no customers.parquet: its customers.csv was read instead" in note
    assert f"delimiter {delimiter!r}, decimal {decimal}, byte-order mark" in note


def test_a_folder_that_is_no_run_is_refused_in_one_line(tmp_path: Path) -> None:
    inputs = tmp_path / "data"
    inputs.mkdir()
    pq.write_table(pa.table({"customer_id": ["C1"], "name": ["x"]}), inputs / "customers.parquet")
    with pytest.raises(InputError, match="has no value_class column: it is not the customers"):
        check_previous(inputs)
    # the coverage plan alone reads no class: a master is no plan either, but not refused here
    check_previous(inputs, classes=False)
    with pytest.raises(InputError, match=r"no customers\.parquet .*: it is not a tierwise output"):
        check_previous(tmp_path)
