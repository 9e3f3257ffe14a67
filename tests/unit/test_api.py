"""The Python API: every stage as a function of tables a notebook user holds.

Each stage runs on a pandas DataFrame and on a Polars DataFrame of the same data and gives
the same figures; the public names are exactly ``tierwise.__all__``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import tierwise
from tierwise import registry
from tierwise.demo import generate


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    data = generate(n_customers=120, seed=5)
    return {
        "transactions": data.transactions.to_pandas(),
        "customers": data.customers.to_pandas(),
        "activities": data.activities.to_pandas(),
        "payments": data.payments.to_pandas(),
        "prospects": data.prospects.to_pandas(),
        "market": data.market.to_pandas(),
        "_end": data.end_date,
    }


def test_all_lists_the_public_api_and_every_public_stage() -> None:
    public = {
        "run",
        "run_stage",
        "validate",
        "as_arrow",
        "load_settings",
        "Settings",
        "StageResult",
        "RunResult",
        "ValidationResult",
        "registry",
        "__version__",
        "TierwiseError",
        "InputError",
        "SettingsError",
        "EngineError",
        "ModelError",
        "InfeasiblePlanError",
        "NotFittedError",
        "Problems",
    }
    stages = {s.name for s in registry.stages() if s.public}
    assert set(tierwise.__all__) == public | stages
    for name in tierwise.__all__:
        assert hasattr(tierwise, name), name


@pytest.mark.parametrize("stage", [s.name for s in registry.stages() if s.public])
def test_each_stage_runs_on_pandas_and_on_polars(stage: str, frames: dict[str, object]) -> None:
    end = frames["_end"]
    assert isinstance(end, dt.date)
    tables = {k: v for k, v in frames.items() if not k.startswith("_")}
    fn = getattr(tierwise, stage)
    on_pandas = fn(**tables, as_of=end)
    on_polars = fn(**{k: pl.from_pandas(v) for k, v in tables.items()}, as_of=end)
    declared = {c.name for c in registry.get(stage).columns}
    for res in (on_pandas, on_polars):
        assert isinstance(res, tierwise.StageResult)
        if declared:
            assert res.customers is not None and res.customers.num_rows > 0
            assert set(res.customers.column_names) - {"customer_id"} <= declared
    if on_pandas.customers is None:
        return
    a, b = on_pandas.customers, on_polars.customers
    assert a.column_names == b.column_names
    for name in a.column_names:
        x, y = a.column(name), b.column(name)
        if pa.types.is_floating(x.type):
            np.testing.assert_allclose(
                x.to_numpy(zero_copy_only=False), y.to_numpy(zero_copy_only=False), rtol=1e-9
            )
        else:
            assert x.equals(y), name


def test_validate_returns_the_canonical_rows_and_the_rejects() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": ["A", "B", None],
            "date": ["2024-01-05", "2024-13-01", "2024-01-06"],
            "revenue": [12.5, 3.0, 1.0],
        }
    )
    v = tierwise.validate(tx)["transactions"]
    assert v.table.column("customer_id").to_pylist() == ["A"]
    assert sorted(v.rejects.column("row").to_pylist()) == [2, 3]


def test_something_that_is_not_a_table_is_a_clear_error() -> None:
    with pytest.raises(tierwise.InputError, match="is not a table"):
        tierwise.as_arrow(object())
