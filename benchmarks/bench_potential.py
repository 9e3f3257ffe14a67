"""Benchmark: wallet estimation (the potential stage) against two plain baselines.

Generates synthetic firmographics (industry, region, employees, annual revenue, with 5%
missing head counts) and a spend per customer as Parquet, then runs each measured step in a
fresh Python process that reads the files, so each step's time and peak memory (the
process's maximum resident set) are its own. All steps are pinned to 2 cores.

- ``groupby``: the spreadsheet answer, the 90th percentile of spend per industry × head-count
  band (pandas), looked up for customers and prospects;
- ``gbm_once``: one LightGBM quantile model fitted on all customers (no cross-fitting, no
  look-alikes) and applied to customers and prospects;
- ``stage``: :func:`tierwise.potential.potential_stage` with the given method (default
  "auto": cross-fitted LightGBM, linear and look-alike models, blend and choice, band,
  prospects with look-alike scores, ICP, and a market table per industry × region cell that
  grows wallets to the planning year and gives penetration per cell, industry and region).

Prints one line per step and the stage's time and memory as ratios to each baseline.

Measured 29 Nov 2026 on the 2-core development machine, otherwise idle, default settings,
1,000,000 customers + 200,000 prospects: groupby 0.7 s / 516 MiB; gbm_once 14.8 s /
653 MiB; stage 72.2 s / 1,341 MiB ("auto" chose gbm); stage / gbm_once = 4.9× time, 2.05×
peak memory (docs/benchmarks.md).

Usage::

    python benchmarks/bench_potential.py                          # 1,000,000 + 200,000
    python benchmarks/bench_potential.py --customers 100000 --prospects 20000
    python benchmarks/bench_potential.py --method gbm
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure

INDUSTRIES = 12
REGIONS = 8


def generate(folder: Path, customers: int, prospects: int, seed: int) -> None:
    """Write customers.parquet (with revenue_12m) and prospects.parquet."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)

    def firmographics(n: int, prefix: str) -> tuple[dict[str, object], np.ndarray]:
        ind = rng.integers(0, INDUSTRIES, n)
        reg = rng.integers(0, REGIONS, n)
        emp = np.round(rng.lognormal(2.6, 1.3, n)) + 1
        rev = emp * rng.lognormal(11.5, 0.5, n)
        wallet = (
            600
            * np.exp(np.linspace(-0.8, 0.8, INDUSTRIES))[ind]
            * np.exp(np.linspace(-0.3, 0.3, REGIONS))[reg]
            * emp**0.8
            * rng.lognormal(0, 0.4, n)
        )
        emp_obs = np.where(rng.random(n) < 0.05, np.nan, emp)
        ids = pc.binary_join_element_wise(
            pa.scalar(prefix), pa.array(np.arange(n)).cast(pa.string()), ""
        )
        cols = {
            "customer_id": ids,
            "industry": pa.array(np.char.add("industry_", ind.astype(str))),
            "region": pa.array(np.char.add("region_", reg.astype(str))),
            "employees": pa.array(emp_obs, from_pandas=True),
            "annual_revenue": rev,
        }
        return cols, wallet

    cust, wallet = firmographics(customers, "C")
    spend = wallet * rng.beta(2, 3, customers) * (rng.random(customers) > 0.3)
    cust["revenue_12m"] = spend
    pq.write_table(pa.table(cust), folder / "customers.parquet")
    pros, _ = firmographics(prospects, "P")
    pq.write_table(pa.table(pros), folder / "prospects.parquet")
    cells = np.arange(INDUSTRIES * REGIONS)
    market = {
        "industry": pa.array(np.char.add("industry_", (cells // REGIONS).astype(str))),
        "region": pa.array(np.char.add("region_", (cells % REGIONS).astype(str))),
        "market_size": np.round(
            rng.lognormal(np.log(1e3 * customers / cells.size), 0.3, cells.size), -3
        ),
        "growth_rate": np.round(rng.normal(0.02, 0.02, cells.size), 3),
    }
    pq.write_table(pa.table(market), folder / "market.parquet")


def _pin() -> None:
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, set(cpus))


def step(name: str, folder: Path, method: str) -> dict[str, float]:
    """Run one measured step in this process; returns seconds and peak memory."""
    _pin()
    import numpy as np
    import pyarrow.parquet as pq

    cust = pq.read_table(folder / "customers.parquet")
    pros = pq.read_table(folder / "prospects.parquet")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    extra: dict[str, float] = {}
    if name == "groupby":
        import pandas as pd

        c = cust.to_pandas()
        bands = [0, 10, 50, 250, np.inf]
        c["band"] = pd.cut(c["employees"].fillna(c["employees"].median()), bands)
        q = c.groupby(["industry", "band"], observed=True)["revenue_12m"].quantile(0.9)
        c = c.join(q.rename("wallet"), on=["industry", "band"])
        p = pros.to_pandas()
        p["band"] = pd.cut(p["employees"].fillna(c["employees"].median()), bands)
        p = p.join(q.rename("wallet"), on=["industry", "band"])
        extra["checksum"] = float(c["wallet"].sum() + p["wallet"].sum())
    elif name == "gbm_once":
        from tierwise.potential import GBMQuantileWallet

        cols = ["industry", "employees", "annual_revenue", "region"]
        m = GBMQuantileWallet(0.9, columns=cols, impute_within="industry")
        m.fit(cust, cust["revenue_12m"].to_numpy())
        extra["checksum"] = float(m.predict(cust).sum() + m.predict(pros).sum())
    elif name == "stage":
        from tierwise.potential import potential_stage
        from tierwise.settings import PotentialSettings

        market = pq.read_table(folder / "market.parquet")
        res = potential_stage(
            cust,
            prospects=pros,
            market=market,
            settings=PotentialSettings(method=method),
            seed=42,
        )
        extra["checksum"] = float(np.sum(res.customers["wallet"].to_numpy()))
        extra["chosen"] = res.manifest["method"]  # type: ignore[assignment]
        extra["losses"] = {  # type: ignore[assignment]
            k: round(v["pinball_loss_log"], 4) for k, v in res.manifest["models"].items()
        }
    else:
        raise SystemExit(f"unknown step {name}")
    seconds = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_mib": rss1 / 1024, "input_mib": rss0 / 1024, **extra}


def run_step(name: str, folder: Path, method: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--step", name, "--folder", str(folder), "--method", method],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--prospects", type=int, default=200_000)
    ap.add_argument(
        "--method", default="auto", choices=["auto", "gbm", "linear", "lookalike", "blend"]
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        print(json.dumps(step(args.step, Path(args.folder), args.method)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        generate(folder, args.customers, args.prospects, args.seed)
        print(
            f"generated {args.customers:,} customers + {args.prospects:,} prospects "
            f"in {time.perf_counter() - t0:.1f}s"
        )
        results = {}
        for name in ("groupby", "gbm_once", "stage"):
            r = run_step(name, folder, args.method)
            results[name] = r
            note = f"  chosen={r['chosen']} losses={r['losses']}" if name == "stage" else ""
            print(
                f"{name:9s} {r['seconds']:8.1f}s  peak {r['peak_mib']:7.0f} MiB "
                f"(inputs loaded: {r['input_mib']:.0f} MiB){note}"
            )
        s = results["stage"]
        figure(
            "potential stage (cross-fitted quantile models) vs one GBM fit",
            s["seconds"],
            results["gbm_once"]["seconds"],
            "one LightGBM quantile fit",
            note=f"{args.customers:,} customers",
        )
        figure(
            "potential stage vs a peer-group quantile (groupby)",
            s["seconds"],
            results["groupby"]["seconds"],
            "groupby quantile",
            note=f"{args.customers:,} customers",
        )
        for base in ("groupby", "gbm_once"):
            b = results[base]
            print(
                f"stage / {base}: time {s['seconds'] / b['seconds']:.1f}x, "
                f"peak memory {s['peak_mib'] / b['peak_mib']:.2f}x"
            )


if __name__ == "__main__":
    main()
