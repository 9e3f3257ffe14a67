"""Benchmark: report.html at 1,000,000 customers and plan.xlsx at 100,000 customers.

Targets (issue 14): report.html under 5 MB and built in under 30 s at 1,000,000 customers;
plan.xlsx in under 30 s at 100,000 customers. Each is measured against a baseline in the same
run: writing the same customer table to CSV (pyarrow).

The output folder is synthetic (NumPy): a customers table with the contract's columns,
a whale curve, and small segment/coverage tables.

    PYTHONPATH=src python benchmarks/bench_report.py [--customers 1000000] [--plan 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure


def synthetic_customers(n: int, n_reps: int, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    revenue = rng.lognormal(8, 1.5, n)
    profit = revenue * rng.normal(0.05, 0.2, n)
    wallet = revenue * rng.lognormal(0.7, 0.5, n)
    klass = np.array(["A", "B", "C", "D"])[np.minimum(rng.geometric(0.5, n) - 1, 3)]
    tier = np.array(["gold", "silver", "bronze", "bronze"])[
        np.searchsorted(["A", "B", "C", "D"], klass)
    ]
    visits = np.where(klass == "A", 12.0, np.where(klass == "B", 6.0, 0.0))
    ids = np.char.add("C", np.char.zfill(np.arange(n).astype(str), 8))
    reps = np.char.add("R", np.char.zfill((np.arange(n) % n_reps).astype(str), 4))
    status = np.array(["active", "at_risk", "lapsed", "new"])[rng.integers(0, 4, n)]
    return pa.table(
        {
            "customer_id": ids,
            "name": np.char.add("Company ", np.arange(n).astype(str)),
            "city": np.array(["Leeds", "York", "Bath"])[rng.integers(0, 3, n)],
            "rep_id": reps,
            "revenue_12m": revenue,
            "net_profit": profit,
            "clv": np.maximum(profit, 0) * 3,
            "value_at_risk": np.maximum(profit, 0) * rng.random(n),
            "wallet": wallet,
            "headroom": wallet - revenue,
            "discount_depth": rng.random(n) * 0.2,
            "status": status,
            "value_class": klass,
            "tier": tier,
            "niche": np.char.add(klass, " · retail"),
            "class_reason": np.char.add(klass, ": top customers by net profit"),
            "channel": np.where(visits > 0, "field", "inside"),
            "visits_per_year": visits,
            "calls_per_year": np.where(visits > 0, 4.0, 6.0),
            "emails_per_year": np.full(n, 12.0),
            "assigned_rep": reps,
            "expected_contribution_plan": np.maximum(profit, 0) * 1.05,
            "coverage_reason": np.where(visits > 0, "field visit", "telesales"),
        }
    )


def whale(customers: pa.Table) -> pa.Table:
    profit = customers.column("net_profit").to_numpy()
    order = np.argsort(-profit, kind="stable")
    p = profit[order]
    n = p.size
    return pa.table(
        {
            "rank": np.arange(1, n + 1),
            "customer_id": customers.column("customer_id").take(pa.array(order)),
            "net_profit": p,
            "share_of_customers": np.arange(1, n + 1) / n,
            "cumulative_profit": np.cumsum(p),
            "cumulative_share_of_profit": np.cumsum(p) / p.sum(),
        }
    )


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--plan", type=int, default=100_000)
    args = parser.parse_args()
    from tierwise.report import build_report, write_plan_xlsx

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        out.mkdir()
        c = synthetic_customers(args.customers, n_reps=200)
        pq.write_table(c, out / "customers.parquet")
        pq.write_table(whale(c), out / "whale_curve.parquet")
        _, base = timed(pacsv.write_csv, c, Path(tmp) / "baseline.csv")
        path, secs = timed(build_report, out)
        size = path.stat().st_size
        print(
            f"report.html, {args.customers:,} customers: {secs:.1f} s "
            f"(target < 30 s), {size / 1e6:.2f} MB (target < 5 MB); "
            f"baseline CSV of the customer table {base:.1f} s; ratio {secs / base:.2f}"
        )

        out2 = Path(tmp) / "plan"
        out2.mkdir()
        c2 = synthetic_customers(args.plan, n_reps=200)
        pq.write_table(c2, out2 / "customers.parquet")
        _, base2 = timed(pacsv.write_csv, c2, Path(tmp) / "baseline2.csv")
        path2, secs2 = timed(write_plan_xlsx, out2)
        print(
            f"plan.xlsx, {args.plan:,} customers, 200 reps: {secs2:.1f} s (target < 30 s), "
            f"{path2.stat().st_size / 1e6:.1f} MB; baseline CSV of the customer table "
            f"{base2:.2f} s; ratio {secs2 / base2:.0f}"
        )
        figure(
            f"report.html, {args.customers:,} customers",
            secs,
            base,
            "CSV of the customer table",
            note=f"{size / 1e6:.2f} MB; target < 30 s",
        )
        figure(
            f"plan.xlsx, {args.plan:,} customers",
            secs2,
            base2,
            "CSV of the customer table",
            note="target < 30 s",
        )


if __name__ == "__main__":
    main()
