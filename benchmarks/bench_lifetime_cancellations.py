"""Benchmark: pairing cancellations with their orders, against the aggregation it precedes.

The baseline, measured in the same run on the same Parquet file: ``customer_features`` (one
aggregation over every line) on the transactions as validation leaves them. Then the same
with ``pair_cancellations`` first (the pairs computed and kept in the engine, its counts
taken), as a run does it. The file has ``--lines`` invoice lines of ``--customers``
customers over three years, each line a product with a quantity; ``--cancel-share`` of the
orders are cancelled (every line mirrored one to three days later, as the demo does), half
of the rest of the cancellations partial, and a few cancellations match no order.

Usage::

    .venv/bin/python benchmarks/bench_lifetime_cancellations.py --lines 5000000
    .venv/bin/python benchmarks/bench_lifetime_cancellations.py --lines 50000000 --customers 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
START = dt.date(2022, 1, 1)
DAYS = 3 * 365
AS_OF = START + dt.timedelta(days=DAYS + 5)


def make_data(lines: int, customers: int, cancel_share: float, seed: int) -> Path:
    """Write (once) a Parquet file of about ``lines`` lines, cancellations included."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"cancellations_{lines}_{customers}_{cancel_share}_{seed}.parquet"
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    n_orders = max(int(lines / 4 / (1 + cancel_share)), 1)
    order_cust = rng.integers(0, customers, n_orders)
    order_day = rng.integers(0, DAYS, n_orders)
    per_order = 1 + rng.poisson(3.0, n_orders)
    lo = np.repeat(np.arange(n_orders), per_order)
    product = rng.integers(0, 5000, len(lo))
    qty = rng.integers(1, 50, len(lo)).astype(np.float64)
    price = np.round(rng.gamma(2.0, 5.0, len(lo)), 2)
    cancelled = rng.random(n_orders) < cancel_share
    cl = np.flatnonzero(cancelled[lo])
    c_qty = qty[cl].copy()
    partial = rng.random(len(cl)) < 0.25
    c_qty[partial] = np.maximum(1.0, np.floor(c_qty[partial] / 2))
    stray = rng.random(len(cl)) < 0.02  # a product the customer never bought
    c_prod = np.where(stray, 5000 + product[cl], product[cl])
    cust = np.concatenate([order_cust[lo], order_cust[lo[cl]]])
    day = np.concatenate([order_day[lo], order_day[lo[cl]] + rng.integers(0, 4, len(cl))])
    oid = np.concatenate([lo, lo[cl]])
    is_c = np.concatenate([np.zeros(len(lo), bool), np.ones(len(cl), bool)])
    q = np.concatenate([qty, -c_qty])
    table = pa.table(
        {
            "customer_id": pc.binary_join_element_wise(
                "C", pc.utf8_lpad(pc.cast(pa.array(cust), pa.string()), 8, "0"), ""
            ),
            "date": pa.array(np.datetime64(START, "D") + day.astype("timedelta64[D]"), pa.date32()),
            "order_id": pc.binary_join_element_wise(
                pa.array(np.where(is_c, "C", "")), pc.cast(pa.array(oid), pa.string()), ""
            ),
            "product_id": pc.cast(pa.array(np.concatenate([product, c_prod])), pa.string()),
            "quantity": q,
            "revenue": np.round(q * np.concatenate([price, price[cl]]), 2),
            "cost": pa.nulls(len(q), pa.float64()),
            "is_return": pa.array(q < 0),
            "is_cancel": pa.array(is_c),
        }
    )
    pq.write_table(table, path, row_group_size=1_000_000)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=5_000_000)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--cancel-share", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    sys.path.insert(0, str(HERE.parent / "src"))
    from tierwise.engine import Engine
    from tierwise.features import customer_features, pair_cancellations
    from tierwise.settings import FeatureSettings

    t = time.perf_counter()
    path = make_data(args.lines, args.customers, args.cancel_share, args.seed)
    rows = pq.ParquetFile(path).metadata.num_rows
    print(f"data: {path.name}: {rows:,} lines ({time.perf_counter() - t:.1f} s to make or find)")
    cfg = FeatureSettings()

    eng = Engine()
    tx = eng.read_parquet(path)
    t0 = time.perf_counter()
    base = eng.to_arrow(customer_features(tx, as_of=AS_OF, settings=cfg), "features")
    baseline = time.perf_counter() - t0

    t0 = time.perf_counter()
    paired, counts = pair_cancellations(tx, cfg, engine=eng)
    t1 = time.perf_counter()
    feats = eng.to_arrow(customer_features(paired, as_of=AS_OF, settings=cfg), "features")
    t2 = time.perf_counter()
    eng.close()

    print(f"baseline: customer_features alone            {baseline:8.2f} s")
    print(f"pair_cancellations (pairs kept, counts taken) {t1 - t0:8.2f} s")
    print(f"customer_features on the paired lines        {t2 - t1:8.2f} s")
    print(f"pairing + features / baseline                {(t2 - t0) / baseline:8.2f}x")
    print(f"counts: {counts}")
    figure(
        "cancellation pairing + features vs features alone",
        t2 - t0,
        baseline,
        "customer_features alone",
        note=f"{rows:,} lines",
    )
    lost = int(pc.sum(base.column("n_orders")).as_py()) - int(
        pc.sum(feats.column("n_orders")).as_py()
    )
    print(f"orders no longer counted (cancelled in full): {lost:,}")


if __name__ == "__main__":
    main()
