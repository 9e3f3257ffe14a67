"""The Python API: every stage as a function of tables a notebook user holds.

Each stage's function runs its own stage on the tables given. Accounts, and the two stages
whose runs take in every other stage (cross-sell and terms), run here on pandas DataFrames;
the two on Polars DataFrames of the same data too, giving the same figures. The public names
are exactly ``tierwise.__all__``.
"""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tierwise
from tierwise import registry
from tierwise.demo import generate
from tierwise.settings import INPUT_TABLES

#: the features stage function (to mypy, ``tierwise.features`` is the sub-package)
features: Any = getattr(tierwise, "features")  # noqa: B009


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


#: the stages run here on Polars as well as pandas: run alone, cross-sell runs every stage
#: but coverage and terms before it, and terms every stage but cross-sell, so between them
#: each stage reads tables that came from pandas and from Polars. Each stage run alone
#: through the engine is tests/pipeline/test_stages_on_engines.py's question.
ON_POLARS = ("crosssell", "terms")
#: the stages whose function runs here: those above, and accounts with duplicate records
#: looked for (the others run without)
RUN_HERE = ("accounts", *ON_POLARS)


def test_the_stages_run_on_polars_take_in_every_public_stage() -> None:
    ran = {s.name for name in ON_POLARS for s in registry.ordered([name])}
    assert {s.name for s in registry.stages() if s.public} <= ran


class _Asked(Exception):
    pass


@pytest.mark.parametrize("stage", [s.name for s in registry.stages() if s.public])
def test_each_stage_function_runs_its_own_stage(
    stage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tierwise.api as api

    def asked(inputs: Any, settings: Any, **kw: Any) -> Any:
        raise _Asked(inputs, kw["stages"])

    # the run itself is test_stages_on_engines.py's (every stage) and the test below's;
    # nothing is read before it, so every input can be a stand-in of its own
    monkeypatch.setattr(api, "run_pipeline", asked)
    tables = {name: object() for name in INPUT_TABLES}
    with pytest.raises(_Asked) as got:
        getattr(tierwise, stage)(**tables, as_of="2024-06-30")
    inputs, stages = got.value.args
    assert tuple(stages) == (stage,)
    # every table given reaches the run, by its input name
    assert set(inputs) == set(tables)
    assert all(inputs[name] is tables[name] for name in tables)


@pytest.mark.parametrize("stage", RUN_HERE)
def test_each_stage_runs_on_pandas_and_the_last_ones_on_polars(
    stage: str, frames: dict[str, object]
) -> None:
    end = frames["_end"]
    assert isinstance(end, dt.date)
    tables = {k: v for k, v in frames.items() if not k.startswith("_")}
    fn = getattr(tierwise, stage)
    # duplicate records are looked for (Splink trained) when the accounts stage is the one
    # asked for; every other stage, which would train it again twice, runs with every record
    # its own account, and cross-sell without its hit-rate evaluation: what is tested here
    # is the tables going in and the figures coming out (test_accounts_*.py and
    # test_crosssell_evaluate.py test the two on their own)
    settings = (
        None
        if stage == "accounts"
        else tierwise.Settings().with_updates(
            accounts={"enabled": False}, crosssell={"evaluate": False}
        )
    )
    results = [fn(**tables, as_of=end, settings=settings)]
    if stage in ON_POLARS:
        polars = {k: pl.from_pandas(v) for k, v in tables.items()}
        results.append(fn(**polars, as_of=end, settings=settings))
    declared = {c.name for c in registry.get(stage).columns}
    for res in results:
        assert isinstance(res, tierwise.StageResult)
        if declared:
            assert res.customers is not None and res.customers.num_rows > 0
            assert set(res.customers.column_names) - {"customer_id"} <= declared
    if stage not in ON_POLARS:
        return
    a, b = (res.customers for res in results)
    assert a is not None and b is not None
    assert a.column_names == b.column_names
    for name in a.column_names:
        x, y = a.column(name), b.column(name)
        if pa.types.is_floating(x.type):
            np.testing.assert_allclose(
                x.to_numpy(zero_copy_only=False), y.to_numpy(zero_copy_only=False), rtol=1e-9
            )
        else:
            assert x.equals(y), name


def test_pandas_and_polars_give_the_same_checked_tables(frames: dict[str, object]) -> None:
    # what every stage reads: each input checked from pandas and from Polars, equal row for
    # row, rejects included
    tables = {k: v for k, v in frames.items() if not k.startswith("_")}
    on_pandas = tierwise.validate(**tables, as_of=frames["_end"])
    on_polars = tierwise.validate(
        **{k: pl.from_pandas(v) for k, v in tables.items()}, as_of=frames["_end"]
    )
    assert set(on_pandas) == set(on_polars) == set(tables)
    for name in tables:
        a, b = on_pandas[name], on_polars[name]
        assert a.table.num_rows > 0, name
        assert a.table.equals(b.table), name
        assert a.rejects.equals(b.rejects), name


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


def test_a_time_zone_gives_the_date_its_own_clock_showed_as_a_parquet_file_does(
    tmp_path: Path,
) -> None:
    # 00:30 and 01:00 in Berlin are still the day before in UTC
    tx = pd.DataFrame(
        {
            "customer_id": ["A", "A"],
            "revenue": [100.0, 50.0],
            "date": pd.to_datetime(["2024-01-01 00:30", "2024-06-15 01:00"]).tz_localize(
                "Europe/Berlin"
            ),
        }
    )
    path = tmp_path / "berlin.parquet"
    pq.write_table(pa.Table.from_pandas(tx, preserve_index=False), path)
    offset = pa.table(
        {
            "customer_id": ["A", "A"],
            "revenue": [100.0, 50.0],
            "date": pa.array(
                [dt.datetime(2023, 12, 31, 23, 30), dt.datetime(2024, 6, 14, 23, 0)],
                pa.timestamp("us", tz="UTC"),
            ).cast(pa.timestamp("us", tz="+01:00")),
        }
    )
    wanted = [dt.date(2024, 1, 1), dt.date(2024, 6, 15)]
    for given in (path, tx, pa.Table.from_pandas(tx), pl.from_pandas(tx), offset):
        dates = tierwise.validate(given)["transactions"].table.column("date").to_pylist()
        assert dates == wanted, type(given)
    res = features(tx, as_of=dt.date(2024, 6, 30)).customers
    assert res.column("recency_days").to_pylist() == [15]


def test_a_named_index_is_a_column_and_an_unnamed_one_is_not() -> None:
    tx = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3"],
            "customer_id": ["A", "A", "B"],
            "date": ["2024-01-05", "2024-01-05", "2024-02-01"],
            "revenue": [10.0, 20.0, 30.0],
        }
    )
    as_columns = features(tx).customers.column("n_orders").to_pylist()
    assert as_columns == [2, 1]
    for given in (
        tx.set_index("order_id"),
        tx.set_index(["customer_id", "order_id"]),
        tx.groupby(["customer_id", "date", "order_id"])[["revenue"]].sum(),
        tx.set_index("customer_id", drop=False),  # the index is a copy of its column
        tx.set_index(pd.Index([7, 8, 9])),  # row labels
    ):
        assert features(given).customers.column("n_orders").to_pylist() == as_columns
    assert tierwise.as_arrow(tx[tx.revenue > 10]).column_names == list(tx.columns)
    clash = tx.set_index(pd.Index(["X", "Y", "Z"], name="customer_id"))
    with pytest.raises(tierwise.InputError, match="index 'customer_id' and its column"):
        tierwise.validate(clash)


@pytest.mark.parametrize(
    "as_of",
    [
        "2024-06-30",
        dt.datetime(2024, 6, 30, 18, 45),
        pd.Timestamp("2024-06-30"),
        np.datetime64("2024-06-30"),
    ],
)
def test_as_of_takes_a_date_as_text_datetime_timestamp_or_datetime64(as_of: object) -> None:
    tx = pd.DataFrame(
        {"customer_id": ["A", "B"], "date": ["2024-01-05", "2024-06-01"], "revenue": [10.0, 5.0]}
    )
    res = features(tx, as_of=as_of)
    assert res.customers.column("recency_days").to_pylist() == [177, 29]


@pytest.mark.parametrize("as_of", ["30.06.2024", 20240630, pd.NaT, np.datetime64("NaT")])
def test_as_of_that_is_not_a_date_is_a_settings_error_naming_the_forms(as_of: Any) -> None:
    tx = pd.DataFrame({"customer_id": ["A"], "date": ["2024-01-05"], "revenue": [10.0]})
    for fn in (tierwise.validate, features, tierwise.run):
        with pytest.raises(
            tierwise.SettingsError, match=r"as_of: .* is not a date; give a datetime"
        ):
            fn(tx, as_of=as_of)


def test_a_mixed_object_column_is_read_as_text_and_only_its_bad_rows_are_rejected() -> None:
    # what pd.read_excel gives: ids partly int, a revenue of floats with text typed in
    tx = pd.DataFrame(
        {
            "customer_id": ["A", 1003, "C", None],
            "date": [pd.Timestamp("2024-01-05"), "2024-02-01", dt.date(2024, 3, 1), "2024-03-02"],
            "revenue": [10.5, "n/a", 7, 2.25],
        }
    )
    v = tierwise.validate(tx)["transactions"]
    assert v.table.column("customer_id").to_pylist() == ["A", "C"]
    assert v.table.column("revenue").to_pylist() == [10.5, 7.0]
    assert v.table.column("date").to_pylist() == [dt.date(2024, 1, 5), dt.date(2024, 3, 1)]
    rejects = v.rejects.sort_by("row").select(["row", "column"]).to_pylist()
    assert rejects == [{"row": 2, "column": "revenue"}, {"row": 4, "column": "customer_id"}]
    mixed = tierwise.as_arrow(tx)
    assert mixed.column("customer_id").to_pylist() == ["A", "1003", "C", None]
    assert mixed.column("revenue").to_pylist() == ["10.5", "n/a", "7", "2.25"]
    # a whole float id is its digits, as in an Excel cell: 1001.0 matches the master's 1001
    ids = tierwise.as_arrow(pd.DataFrame({"customer_id": ["A", 1001.0, 2.0**53]}))
    assert ids.column("customer_id").to_pylist() == ["A", "1001", "9007199254740992.0"]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            lambda t: t.assign(Revenue=t.revenue * 2),
            r"columns 'revenue' and 'Revenue' differ only in case.*\(rename one",
        ),
        (
            lambda t: pd.concat([t, t[["revenue"]]], axis=1),
            r"column 'revenue': the DataFrame has more than one column named 'revenue'",
        ),
        (
            lambda t: t.assign(date=pd.to_datetime(t.date).dt.to_period("D")),
            r"column 'date': .*pandas.period.*\.dt\.to_timestamp\(\)",
        ),
        (
            lambda t: pa.Table.from_pandas(t).set_column(
                2, "revenue", pa.array([decimal.Decimal("1.00")] * 2, pa.decimal256(40, 2))
            ),
            r"column 'revenue': a decimal of 40 digits.*float64.*decimal128",
        ),
    ],
)
def test_a_column_the_engine_cannot_load_is_one_line_naming_table_and_column(
    change: Any, said: str
) -> None:
    ok = pd.DataFrame(
        {"customer_id": ["A", "B"], "date": ["2024-01-05", "2024-02-01"], "revenue": [10.0, 5.0]}
    )
    with pytest.raises(tierwise.InputError, match=said) as caught:
        tierwise.validate(change(ok))
    assert "transactions" in str(caught.value) and "tw_" not in str(caught.value)


def test_a_decimal256_of_at_most_38_digits_is_read_as_it_is() -> None:
    t = pa.table(
        {
            "customer_id": ["A"],
            "date": ["2024-01-05"],
            "revenue": pa.array([decimal.Decimal("12.50")], pa.decimal256(20, 2)),
        }
    )
    assert tierwise.validate(t)["transactions"].table.column("revenue").to_pylist() == [12.5]


def test_messages_name_the_python_argument_and_the_table_not_only_the_command_line() -> None:
    ok = pd.DataFrame(
        {"customer_id": ["A", "B"], "date": ["2024-01-05", "2024-02-01"], "revenue": [10.0, 5.0]}
    )
    with pytest.raises(tierwise.InputError, match=r"--customers FILE, or customers= in Python"):
        tierwise.run_stage("accounts", ok)
    with pytest.raises(tierwise.InputError, match=r"no usable transaction rows: the table has no"):
        tierwise.validate(ok.iloc[:0])
    with pytest.raises(tierwise.ModelError, match=r"^no customer master was given .*customers="):
        tierwise.run_stage("potential", ok)
    tx = ok.assign(product_category=["tea", "cups"])
    said = tierwise.run_stage("crosssell", tx).warnings
    assert any("cross-sell recommends categories:" in w for w in said), said


def test_inputs_not_given_are_read_from_the_settings_paths_relative_to_the_settings_file(
    tmp_path: Path,
) -> None:
    """``run(None, settings=load_settings("x.toml"))`` runs on the files the settings name,
    as ``tierwise run --config x.toml`` does; a table given in Python wins."""
    data = tmp_path / "data"
    data.mkdir()
    tx = pd.DataFrame(
        {"customer_id": ["A", "A", "B"], "date": ["2024-01-05", "2024-03-01", "2024-02-10"],
         "revenue": [120.0, 80.0, 45.0]}
    )  # fmt: skip
    tx.to_csv(data / "invoices.csv", index=False)
    config = tmp_path / "x.toml"
    config.write_text('[transactions]\npath = "data/invoices.csv"\n', encoding="utf-8")
    settings = tierwise.load_settings(config)
    res = features(None, settings=settings)
    assert res.customers.column("revenue").to_pylist() == [200.0, 45.0]
    checked = tierwise.validate(None, settings=settings)
    assert checked["transactions"].table.num_rows == 3
    own = features(tx.iloc[:1], settings=settings)
    assert own.customers.column("customer_id").to_pylist() == ["A"]
