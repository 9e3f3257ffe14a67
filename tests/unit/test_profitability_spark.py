"""The profitability stage on the Spark engine: the same code gives the same figures.

Runs on the test session's shared Spark session (``spark_engine``): skipped where PySpark
(the spark extra) is not installed, a failure under CI, which installs it. About 30–50 s on 2
cores, mostly the Spark session's start and per-query overhead.

Inputs are read from Parquet, as the pipeline reads them: ``Engine.from_arrow`` on Spark
turns nulls in float columns into NaN (pandas conversion), which Spark's COALESCE does not
treat as missing, so it is used below only for tables without null floats.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from tierwise.demo import generate
from tierwise.engine import Engine
from tierwise.features.profitability import profitability_stage
from tierwise.io.demo_files import write_demo
from tierwise.settings import ProfitabilitySettings

pytestmark = pytest.mark.spark


def test_activity_types_map_to_the_same_pools_on_spark(spark_engine: Engine) -> None:
    # 'visit' and 'field_visit' start or end with letters (v, f) that a Spark TRIM of
    # ' \t\n\r\v\f' removes: they must still be visits
    acts = pa.table(
        {
            "customer_id": ["a"] * 5,
            "date": pa.array([dt.date(2024, 3, 1)] * 5, pa.date32()),
            "type": ["visit", "field_visit", "Order Change", "webinar", "call"],
        }
    )
    tx = pa.table(
        {
            "customer_id": ["a"],
            "date": pa.array([dt.date(2024, 3, 1)], pa.date32()),
            "revenue": [1000.0],
            "order_id": ["O1"],
            "cost": [500.0],
        }
    )
    res = profitability_stage(
        spark_engine.from_arrow(tx),
        activities=spark_engine.from_arrow(acts),
        as_of=dt.date(2024, 6, 30),
        settings=ProfitabilitySettings(reconcile=False),
    )
    r = res.customers.to_pylist()[0]
    assert (r["n_visits"], r["cts_visits"]) == (2, 300.0)
    assert (r["n_order_changes"], r["n_other"], r["n_calls"]) == (1, 1, 1)
    # 500 margin - 20 order - 2 line - 40 delivery - 300 visits - 15 change - 10 call
    assert r["net_profit"] == pytest.approx(113.0)


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], Any]:
    data = generate(n_customers=200, seed=42)
    return write_demo(data, tmp_path_factory.mktemp("demo")), data


def _run(eng: Engine, files: dict[str, Path], end: dt.date) -> Any:
    def read(name: str) -> Any:
        return eng.read_parquet(files[name], with_row_numbers=False)

    tx = read("transactions")
    tx = tx.mutate(is_cancel=tx.order_id.startswith("C").fill_null(False))
    return profitability_stage(
        tx,
        activities=read("activities"),
        payments=read("payments"),
        customers=read("customers"),
        as_of=end,
        settings=ProfitabilitySettings(cost_per_minute={"calls": 0.8}, rebate_rate=0.01),
    )


def test_demo_profitability_is_the_same_on_spark_and_duckdb(
    spark_engine: Engine, demo_files: tuple[dict[str, Path], Any]
) -> None:
    files, data = demo_files
    duck = Engine()
    try:
        d = _run(duck, files, data.end_date)
    finally:
        duck.close()
    s = _run(spark_engine, files, data.end_date)
    for name in ("customers", "breakdown", "whale"):
        a, b = getattr(d, name), getattr(s, name)
        assert a.schema == b.schema, name
        for col in a.column_names:
            x, y = a[col], b[col]
            if pa.types.is_floating(x.type):
                # exact decimal sums on both engines; 1e-12 relative for the float maths after
                np.testing.assert_allclose(
                    y.to_numpy(zero_copy_only=False),
                    x.to_numpy(zero_copy_only=False),
                    rtol=1e-12,
                    err_msg=f"{name}.{col}",
                )
            else:
                assert x.equals(y), f"{name}.{col}"
    assert s.reconciliation == d.reconciliation
    assert s.reconciliation["reconciled"] is True
    assert s.headline == d.headline
    assert s.absent_pools == d.absent_pools == []
