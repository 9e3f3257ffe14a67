"""Benchmark: the segments stage against a plain quantile ABC on the same customer table.

Generates a synthetic assembled customer table (net profit, wallet, headroom, revenue,
status, tenure, ease score and the default niche features; 5% prospects) as Parquet, then
runs each measured step in a fresh Python process pinned to 2 cores that reads the file, so
each step's time and peak memory (the process's maximum resident set) are its own.

- ``quantile_abc``: the spreadsheet answer, classes A/B/C by the 80th and 50th percentiles of
  net profit (NumPy ``quantile`` and ``searchsorted``);
- ``stage``: :func:`tierwise.segments.segment_customers` with the default settings: computed
  ABC cut points on both axes, classes, 50 bootstrap resamples of the whole table for
  stability, niches per class (clusterboot over 1 to 5 niches on a 4,000-member sample, every
  member assigned), reasons, segments table with the quality tests, class goals;
- ``stage_breaks`` (with ``--natural-breaks``): the same with exact 1-D k-means cut points.

Prints one line per step (wall time, CPU time, peak memory) and the stage's figures as
ratios to the baseline. On a machine shared with other work the wall time grows with the
load; the CPU time says what the step itself cost.

Usage::

    python benchmarks/bench_segments.py                      # 1,000,000 customers
    python benchmarks/bench_segments.py --customers 100000
    python benchmarks/bench_segments.py --natural-breaks
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure


def generate(path: Path, n: int, seed: int) -> None:
    """Write a synthetic assembled customer table to ``path``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    prospect = rng.random(n) < 0.05
    employees = np.round(rng.lognormal(2.6, 1.3, n)) + 1
    wallet = 600 * employees**0.8 * rng.lognormal(0, 0.5, n)
    share = rng.beta(2, 5, n)
    buys = ~prospect & (rng.random(n) < 0.8)
    revenue = np.where(buys, wallet * share, 0.0)
    costly = rng.random(n) < 0.05
    profit = np.where(
        buys, revenue * rng.normal(0.15, 0.08, n) - np.where(costly, 2000, 150), np.nan
    )
    status = np.array(["active", "new", "at_risk", "lapsed"])[
        rng.choice(4, n, p=[0.6, 0.05, 0.1, 0.25])
    ].astype(object)
    status[prospect] = "prospect"
    na = np.where(prospect, np.nan, 1.0)
    cols: dict[str, Any] = {
        "customer_id": pc.binary_join_element_wise(
            pa.scalar("C"), pa.array(np.arange(n)).cast(pa.string()), ""
        ),
        "is_prospect": prospect,
        "status": pa.array(status, pa.string()),
        "tenure_days": rng.integers(30, 3000, n) * na,
        "net_profit": pa.array(profit, from_pandas=True),
        "revenue_12m": revenue * na,
        "revenue": revenue * 2.7 * na,
        "gross_margin": revenue * 2.7 * 0.25 * na,
        "wallet": wallet,
        "headroom": np.maximum(wallet - revenue, 0),
        "share_of_wallet": revenue / wallet,
        "ease_score": np.where(costly, 10.0, rng.uniform(0, 100, n)) * na,
        "defection_risk": rng.uniform(0, 1, n) * na,
        "industry": pa.array(
            np.char.add("industry_", rng.integers(0, 12, n).astype(str)).astype(object)
        ),
        "employees": employees,
        "current_channel": pa.array(
            np.array(["field", "inside", "web", "key_account"])[rng.integers(0, 4, n)]
        ),
        "avg_order_value": rng.lognormal(6, 0.8, n) * na,
        "usual_gap_days": rng.lognormal(3.5, 0.7, n) * na,
        "discount_depth": rng.uniform(0, 0.15, n) * na,
        "n_visits": np.where(costly, 12.0, rng.poisson(2, n)) * na,
    }
    pq.write_table(pa.table(cols), path)


def _pin() -> None:
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, set(cpus))


def step(name: str, path: Path) -> dict[str, Any]:
    """Run one measured step in this process; returns seconds and peak memory."""
    _pin()
    import numpy as np
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    extra: dict[str, Any] = {}
    if name == "quantile_abc":
        v = np.nan_to_num(table.column("net_profit").to_numpy(zero_copy_only=False))
        cuts = np.quantile(v, [0.5, 0.8])
        cls = np.array(["C", "B", "A"])[np.searchsorted(cuts, v, side="right")]
        extra["classes"] = {c: int((cls == c).sum()) for c in "ABC"}
    elif name in ("stage", "stage_breaks"):
        from tierwise.segments import segment_customers
        from tierwise.settings.segments import SegmentSettings

        method = "natural_breaks" if name == "stage_breaks" else "computed_abc"
        res = segment_customers(table, SegmentSettings(method=method), seed=42)
        cls = np.asarray(res.customers.column("value_class").to_pylist())
        extra["classes"] = {c: int((cls == c).sum()) for c in "ABCD"}
        extra["jaccard"] = {
            c: None if v["jaccard"] is None else round(v["jaccard"], 3)
            for c, v in res.manifest["stability"]["classes"].items()
        }
        extra["niches"] = {c: v["k"] for c, v in res.manifest["niches"]["classes"].items()}
    else:
        raise SystemExit(f"unknown step {name}")
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mib": rss1 / 1024,
        "input_mib": rss0 / 1024,
        **extra,
    }


def run_step(name: str, path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--step", name, "--file", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--natural-breaks", action="store_true", help="also time natural breaks")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        print(json.dumps(step(args.step, Path(args.file))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "customers.parquet"
        t0 = time.perf_counter()
        generate(path, args.customers, args.seed)
        print(f"generated {args.customers:,} customers in {time.perf_counter() - t0:.1f}s")
        steps = ["quantile_abc", "stage"] + (["stage_breaks"] if args.natural_breaks else [])
        results = {}
        for name in steps:
            r = run_step(name, path)
            results[name] = r
            note = ""
            if name != "quantile_abc":
                note = f"  classes={r['classes']} jaccard={r['jaccard']} niches={r['niches']}"
            print(
                f"{name:12s} {r['seconds']:8.2f}s wall {r['cpu']:8.2f}s CPU  "
                f"peak {r['peak_mib']:7.0f} MiB "
                f"(table loaded: {r['input_mib']:.0f} MiB){note}"
            )
        b = results["quantile_abc"]
        figure(
            f"segments stage, {args.customers:,} customers",
            results["stage"]["seconds"],
            b["seconds"],
            "a quantile ABC cut",
            note="target < 60 s",
        )
        for name in steps[1:]:
            s = results[name]
            print(
                f"{name} / quantile_abc: time {s['seconds'] / b['seconds']:.0f}x wall, "
                f"{s['cpu'] / b['cpu']:.0f}x CPU, "
                f"peak memory {s['peak_mib'] / b['peak_mib']:.2f}x; "
                f"target: under 60 s ({'met' if s['seconds'] < 60 else 'missed'})"
            )


if __name__ == "__main__":
    main()
