"""Benchmark: demo data generation at scale (default 1,000,000 customers, ~56M lines).

Generates the demo as ``tierwise demo`` does, written to Parquet piece by piece as it is made
(``generate_stream`` + ``write_demo``), and prints the time (wall and CPU), lines per second,
peak memory (max RSS of the process) and a ratio against baselines measured in the same run
on the same machine:

- ``draws``: NumPy drawing one standard-normal float64 per transaction line, 10 times
  (a floor on any generator that draws ten random numbers per line);
- ``parquet``: the written transactions read back and written again to Parquet (zstd), a
  row group at a time, i.e. about what the lines cost merely to save.

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

from tierwise.demo import generate_stream
from tierwise.io.demo_files import write_demo

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

    with tempfile.TemporaryDirectory() as tmp:
        rss0 = _peak_rss_gib()
        t, c = time.perf_counter(), time.process_time()
        stream = generate_stream(n_customers=args.customers, seed=args.seed, years=args.years)
        paths = write_demo(stream, Path(tmp) / "demo")
        gen_s, gen_cpu = time.perf_counter() - t, time.process_time() - c
        rss_gen = _peak_rss_gib()
        del stream
        rows = {
            n: pq.ParquetFile(paths[n]).metadata.num_rows for n in paths if n != "truth_coverage"
        }
        lines = rows["transactions"]
        files_gib = sum(p.stat().st_size for p in paths.values()) / 1024**3

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

        # baseline 2: the transactions read back and written again, a row group at a time
        source = pq.ParquetFile(paths["transactions"])
        t, c = time.perf_counter(), time.process_time()
        with pq.ParquetWriter(
            Path(tmp) / "again.parquet", source.schema_arrow, compression="zstd"
        ) as writer:
            for i in range(source.num_row_groups):
                writer.write_table(source.read_row_group(i))
        parquet_s, parquet_cpu = time.perf_counter() - t, time.process_time() - c

    print(f"customers            {rows['customers']:>14,}")
    print(f"transaction lines    {lines:>14,}")
    print(f"activities           {rows['activities']:>14,}")
    print(f"payments             {rows['payments']:>14,}")
    rate = lines / gen_s
    print(f"generate and write   {gen_s:>14.1f} s   {rate:,.0f} lines/s (cpu {gen_cpu:.1f} s)")
    print(f"files written        {files_gib:>14.2f} GiB")
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
        "demo generation, written as made, vs writing its lines to Parquet",
        gen_s,
        parquet_s,
        "pyarrow read + ParquetWriter",
        note=f"{lines:,} lines; peak {rss_gen:.2f} GiB",
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
