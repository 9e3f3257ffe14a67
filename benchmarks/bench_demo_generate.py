"""Benchmark: demo data generation at scale (default 1,000,000 customers, ~50M lines).

Prints the generation time (wall and CPU), lines per second, peak memory (max RSS of the
process) and a ratio against baselines measured in the same run on the same machine:

- ``draws``: NumPy drawing one standard-normal float64 per transaction line, 10 times
  (a floor on any generator that draws ten random numbers per line);
- ``parquet``: writing the generated transactions table to Parquet (zstd), i.e. what the
  data costs merely to save.

Usage::

    .venv/bin/python benchmarks/bench_demo_generate.py [--customers N] [--seed S] [--years Y]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from tierwise.demo import generate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure


def _peak_rss_gib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024**2


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000, help="customer records")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--years", type=int, default=3)
    args = ap.parse_args(argv)

    rss0 = _peak_rss_gib()
    t, c = time.perf_counter(), time.process_time()
    data = generate(n_customers=args.customers, seed=args.seed, years=args.years)
    gen_s, gen_cpu = time.perf_counter() - t, time.process_time() - c
    rss_gen = _peak_rss_gib()
    lines = data.transactions.num_rows
    tables_gib = sum(tb.nbytes for tb in data.tables().values()) / 1024**3

    # baseline 1: ten float64 normal draws per line (chunked to keep memory flat)
    rng = np.random.default_rng(0)
    t, c = time.perf_counter(), time.process_time()
    chunk = 10_000_000
    for _ in range(10):
        left = lines
        while left > 0:
            rng.standard_normal(min(chunk, left))
            left -= chunk
    draws_s, draws_cpu = time.perf_counter() - t, time.process_time() - c

    # baseline 2: writing the transactions to Parquet
    with tempfile.TemporaryDirectory() as tmp:
        t, c = time.perf_counter(), time.process_time()
        pq.write_table(data.transactions, Path(tmp) / "transactions.parquet", compression="zstd")
        parquet_s, parquet_cpu = time.perf_counter() - t, time.process_time() - c

    print(f"customers            {data.customers.num_rows:>14,}")
    print(f"transaction lines    {lines:>14,}")
    print(f"activities           {data.activities.num_rows:>14,}")
    print(f"payments             {data.payments.num_rows:>14,}")
    rate = lines / gen_s
    print(f"generate             {gen_s:>14.1f} s   {rate:,.0f} lines/s (cpu {gen_cpu:.1f} s)")
    print(f"tables in memory     {tables_gib:>14.2f} GiB")
    print(f"peak RSS             {rss_gen:>14.2f} GiB (before: {rss0:.2f})")
    print(f"baseline draws       {draws_s:>14.1f} s   ratio generate/draws {gen_s / draws_s:.2f}")
    ratio = gen_s / parquet_s
    print(f"baseline parquet     {parquet_s:>14.1f} s   ratio generate/parquet {ratio:.2f}")
    # CPU time is steadier than wall time on a shared machine
    print(
        f"cpu ratios           generate/draws {gen_cpu / draws_cpu:.2f}   "
        f"generate/parquet {gen_cpu / parquet_cpu:.2f}"
    )
    figure(
        "demo generation vs writing its lines to Parquet",
        gen_s,
        parquet_s,
        "pyarrow write_table",
        note=f"{lines:,} lines; peak {rss_gen:.2f} GiB",
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
