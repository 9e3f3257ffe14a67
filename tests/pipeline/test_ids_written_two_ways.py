"""Customer ids that two files of one folder write two ways ('00042' as text in one, 42 as
a number in another) are analysed as two customers: the run says so."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tierwise.pipeline import run_pipeline
from tierwise.settings import Settings


def test_a_folder_whose_files_write_the_ids_two_ways_warns(tmp_path: Path) -> None:
    folder = tmp_path / "transactions"
    folder.mkdir()
    days = [dt.date(2024, 1, d) for d in (2, 3, 4)]
    # last year's export stored the ids as numbers, this year's as text with zeros
    pq.write_table(
        pa.table({"customer_id": [42, 7, 8], "date": days, "revenue": [10.0, 20.0, 30.0]}),
        folder / "2023.parquet",
    )
    pq.write_table(
        pa.table(
            {"customer_id": ["00042", "00009", "8"], "date": days, "revenue": [1.0, 2.0, 3.0]}
        ),
        folder / "2024.parquet",
    )
    res = run_pipeline({"transactions": str(folder)}, Settings(), stages=("features",))
    ids = sorted(res.customers.column("customer_id").to_pylist())
    assert ids == ["00009", "00042", "42", "7", "8"]
    said = [w for w in res.manifest["warnings"] if "written two ways" in w]
    assert len(said) == 1
    assert said[0].startswith(
        "1 customer has ids written two ways (2 ids): '00042' and '42' differ only by leading zeros"
    )


def test_ids_written_one_way_say_nothing(tmp_path: Path) -> None:
    path = tmp_path / "tx.parquet"
    pq.write_table(
        pa.table(
            {
                "customer_id": ["0042", "042a", "42b", "1001", "10010"],
                "date": [dt.date(2024, 1, 2)] * 5,
                "revenue": [1.0] * 5,
            }
        ),
        path,
    )
    res = run_pipeline({"transactions": str(path)}, Settings(), stages=("features",))
    assert not [w for w in res.manifest["warnings"] if "written two ways" in w]
