"""Profitability through the pipeline: per account after duplicates are merged, and the
``tierwise profit`` command on inputs that lack optional data.

The account check is independent of the merge glue: each duplicate record's P&L is computed
straight from the demo files (no merge), summed over the account's members, and compared with
the account's row in customers.parquet. Every figure compared is additive over records:
revenue, discount and cost of goods per line; orders, order lines and small orders per order
(each order belongs to one record); activity pools per activity; late payment per invoice.
Rebates are zero by default, so net profit is additive too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tierwise.demo import generate
from tierwise.engine import Engine
from tierwise.features._declare import _PNL_RENAMES
from tierwise.features.cancellations import pair_cancellations
from tierwise.features.profitability import POOLS, profitability_stage
from tierwise.io.demo_files import write_demo
from tierwise.pipeline import run_pipeline
from tierwise.settings import Settings

INPUTS = ("transactions", "customers", "activities", "payments")
#: Additive per-customer figures (name in the profitability table).
ADDITIVE = (
    "revenue",
    "list_revenue",
    "discount",
    "cogs",
    "gross_margin",
    "n_invoices",
    *(f"n_{p}" for p in POOLS),
    *(f"cts_{p}" for p in POOLS),
    "cost_to_serve",
    "net_profit",
)
#: Null for a customer without transaction lines in the period.
LIST_PRICED = ("list_revenue", "discount")


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = generate(n_customers=300, seed=42)
    paths = write_demo(data, tmp_path_factory.mktemp("demo") / "data")
    inputs = {k: str(paths[k]) for k in INPUTS}
    result = run_pipeline(
        inputs, Settings(), as_of=data.end_date, stages=("accounts", "profitability")
    )
    return {"data": data, "result": result}


def test_account_pnl_is_the_sum_of_its_records(merged: dict[str, Any]) -> None:
    data, result = merged["data"], merged["result"]
    m = result.manifest
    # no row was rejected, so the records' P&L below sees the same rows as the pipeline
    assert all(m["inputs"][k]["rows_rejected"] == 0 for k in INPUTS)
    # every line has an order number: orders never span two records
    assert data.transactions["order_id"].null_count == 0
    assert data.transactions["list_revenue"].null_count == 0
    assert m["settings"]["profitability"]["rebate_rate"] == 0.0

    eng = Engine()
    tx = eng.from_arrow(data.transactions)
    tx = tx.mutate(is_cancel=tx.order_id.startswith("C").fill_null(False))  # cancel prefix "C"
    # cancellations paired with their orders, as the run does before profitability
    tx, _ = pair_cancellations(tx, engine=eng)
    per_record = profitability_stage(
        tx,
        activities=eng.from_arrow(data.activities),
        payments=eng.from_arrow(data.payments),
        customers=eng.from_arrow(data.customers),
        as_of=data.end_date,
        settings=Settings().profitability,
    ).customers

    accounts = result.customers.filter(pc.invert(result.customers.column("is_prospect")))
    members = accounts.column("member_ids").combine_chunks()
    record_ids = pc.list_flatten(members)
    account_of = pc.take(accounts.column("customer_id"), pc.list_parent_indices(members))
    # each record maps to one account
    assert len(set(record_ids.to_pylist())) == len(record_ids)
    rec = per_record.column("customer_id")
    pos = pc.index_in(rec, value_set=record_ids)
    assert pos.null_count == 0, "a record with a P&L is in no account"
    acc_of_rec = pc.take(account_of, pos)
    acc_ids = accounts.column("customer_id")
    row = pc.index_in(acc_of_rec, value_set=acc_ids).to_numpy(zero_copy_only=False)
    n_acc = accounts.num_rows
    n_records = np.bincount(row, minlength=n_acc)
    # the check has teeth: some accounts combine the P&L of two or more records
    assert (n_records >= 2).sum() >= 3

    # the stage's own table (its names), aligned with the accounts
    pnl = result.results["profitability"].detail.customers
    at = pc.index_in(accounts.column("customer_id"), value_set=pnl.column("customer_id"))

    def out(name: str) -> np.ndarray:
        col = pc.take(pnl.column(name), pc.fill_null(at, 0))
        got = col.to_numpy(zero_copy_only=False).astype(float)
        got[at.is_null().to_numpy(zero_copy_only=False)] = np.nan
        return got

    # the customer table carries the same figures under their public names
    for name, public in _PNL_RENAMES.items():
        np.testing.assert_array_equal(
            accounts.column(public).to_numpy(zero_copy_only=False).astype(float), out(name)
        )

    active = n_records > 0
    for name in ADDITIVE:
        v = per_record.column(name).to_numpy(zero_copy_only=False).astype(float)
        expected = np.zeros(n_acc)
        if name in LIST_PRICED:
            # null only for a record without lines (every demo line has a list price): it
            # adds nothing, and the account's figure is null only if no record has lines
            np.add.at(expected, row, np.nan_to_num(v))
            has = np.zeros(n_acc)
            np.add.at(has, row, ~np.isnan(v))
            expected[has == 0] = np.nan
        else:
            np.add.at(expected, row, v)  # a record whose figure is unknown makes it unknown
        got = out(name)
        # tolerance: float summation order only (1e-9 relative, 1e-6 currency units)
        np.testing.assert_allclose(
            got[active], expected[active], rtol=1e-9, atol=1e-6, err_msg=name
        )
        assert np.isnan(got[~active]).all(), f"{name}: an account with no record in the P&L"

    # the flag is decided on the account's own figures
    gm, net = out("gross_margin"), out("net_profit")
    flag = accounts.column("profitable_per_order_unprofitable_all_in")
    flag_np = pc.fill_null(flag, False).to_numpy(zero_copy_only=False)
    np.testing.assert_array_equal(flag_np[active], ((gm > 0) & (net < 0))[active])
    # merged records do not appear on their own
    assert set(acc_ids.to_pylist()) <= set(record_ids.to_pylist())
    whale = m["profitability"]["headline"]
    assert whale["n_customers"] == int((~np.isnan(net)).sum())


@pytest.fixture
def sparse_inputs(tmp_path: Path) -> Path:
    """Transactions only, without a cost column."""
    data = generate(n_customers=120, seed=3)
    tx = data.transactions.drop_columns(["cost"])
    path = tmp_path / "transactions.parquet"
    pq.write_table(tx, path)
    return path


def test_profit_command_names_the_pools_it_cannot_compute(
    tierwise_cli: Any, sparse_inputs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "profit"
    run = tierwise_cli("profit", "--transactions", sparse_inputs, "--out", out)
    assert run.exit_code == 0, run.output
    entry = run.manifest["profitability"]
    absent = {a["pool"]: a["reason"] for a in entry["absent_pools"]}
    assert set(absent) == {
        "cogs",
        "visits",
        "calls",
        "emails",
        "quotes",
        "support",
        "other",
        "late_payment",
    }
    assert absent["late_payment"] == "no payments table"
    assert "no cost" in absent["cogs"]
    # pools that fall back to the transactions say so
    assert "no activities table" in entry["pool_sources"]["deliveries"]
    assert entry["reconciliation"]["reconciled"] is True
    head = entry["headline"]
    assert head["total_gross_margin"] is None and head["total_profit"] is None
    customers = pq.read_table(out / "customers.parquet")
    # figures nobody has are left out of the customer table, and listed in the manifest
    for col in ("net_profit", "cts_visits", "cts_late_payment", "cogs"):
        assert col not in customers.column_names, col
        assert col in run.manifest["customers_columns_without_data"], col
    assert pc.min(customers.column("cts_orders")).as_py() is not None
    for f in ("whale_curve.csv", "profit_breakdown.csv", "customers.csv"):
        assert (out / f).is_file(), f
    breakdown = pq.read_table(out / "profit_breakdown.parquet")
    steps = breakdown.column("step").cast(pa.string())
    # absent cost pools have no step; cost of goods keeps its step, unknown (null)
    assert set(steps.to_pylist()).isdisjoint(set(absent) - {"cogs"})
    for step in ("cogs", "gross_margin", "net_profit"):
        amounts = breakdown.filter(pc.equal(steps, step)).column("amount")
        assert len(amounts) > 0
        assert amounts.null_count == len(amounts), step
    assert (
        "profitable_per_order_unprofitable_all_in"
        in (run.manifest["customers_columns_without_data"])
    )


def test_activity_types_no_pool_names_are_named_in_a_warning(tmp_path: Path) -> None:
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,revenue\nA,2024-01-02,10\nB,2024-02-03,30\n")
    acts = tmp_path / "acts.csv"
    acts.write_text(
        "customer_id,date,type\n"
        "A,2024-01-05,Besuch\nA,2024-01-06,Besuch\nB,2024-01-07,Anruf\nB,2024-01-08,visit\n"
    )
    inputs = {"transactions": str(tx), "activities": str(acts)}
    res = run_pipeline(inputs, Settings(), stages=("profitability",))
    said = [w for w in res.manifest["warnings"] if "no cost pool names" in w]
    assert len(said) == 1, res.manifest["warnings"]
    assert said[0].startswith("3 activities of 2 types no cost pool names (besuch 2, anruf 1)")
    assert "[profitability] activity_pools" in said[0]
    mapped = Settings().with_updates(
        profitability={"activity_pools": {"besuch": "visits", "anruf": "calls", "visit": "visits"}}
    )
    res = run_pipeline(inputs, mapped, stages=("profitability",))
    assert not [w for w in res.manifest["warnings"] if "no cost pool names" in w]
    visits = dict(
        zip(
            res.customers.column("customer_id").to_pylist(),
            res.customers.column("n_visits").to_pylist(),
            strict=True,
        )
    )
    assert visits == {"A": 2, "B": 1}


def test_activity_pools_name_types_as_the_file_writes_them(tmp_path: Path) -> None:
    """Types named in activity_pools as the activities file writes them ("E-Mail", "Phone
    Call") are the file's types, which are read folded (e_mail, phone_call): no warning that
    no pool names them, and they count in their pools."""
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,revenue\nA,2024-01-02,10\nB,2024-02-03,30\n")
    acts = tmp_path / "acts.csv"
    acts.write_text(
        "customer_id,date,type\n"
        "A,2024-01-05,E-Mail\nA,2024-01-06,e-mail\nB,2024-01-07,Phone Call\nB,2024-01-08,Besuch\n"
    )
    inputs = {"transactions": str(tx), "activities": str(acts)}
    mapped = Settings().with_updates(
        profitability={
            "activity_pools": {"E-Mail": "emails", "Phone  Call": "calls", "Besuch": "visits"}
        }
    )
    res = run_pipeline(inputs, mapped, stages=("profitability",))
    assert not [w for w in res.manifest["warnings"] if "no cost pool names" in w]
    got = res.customers.select(["customer_id", "n_emails", "n_calls", "n_visits"]).to_pylist()
    assert sorted(got, key=lambda r: r["customer_id"]) == [
        {"customer_id": "A", "n_emails": 2, "n_calls": 0, "n_visits": 0},
        {"customer_id": "B", "n_emails": 0, "n_calls": 1, "n_visits": 1},
    ]
