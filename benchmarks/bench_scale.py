"""Benchmark: the whole run at growing sizes, and the limit one pass over the lines sets.

For each size the demo is generated (once, cached in ``benchmarks/_data/scale_<n>/``) and
``tierwise run`` is timed in a fresh process: each stage's wall time (the manifest's
timings) and the process's peak resident memory while the stage ran (sampled every 20 ms
from /proc), end to end including writing every output. Each peak is split: the memory
DuckDB's buffer manager held at that moment (its tables and the queries' working memory,
capped by ``[run] memory_limit``), the bytes Arrow's memory pool had allocated then (the
tables built in Python with Arrow's compute functions), and the rest (the query results
handed to Python, whose buffers DuckDB allocated and Arrow's pool does not count; NumPy
arrays, model fits, libraries, DuckDB's other memory outside its buffer manager, and pages
either allocator has freed but not yet handed back). Between sizes the log-log slope of the
end-to-end time says how it grows (1.0: linear).

The limit: one bare DuckDB scan-and-aggregate over the same transactions Parquet (per
customer: lines, revenue, first and last date), in its own process. Nothing that reads every
line can be faster than one such pass; the pipeline's transaction-sized work (load,
validate, features, profitability, lifetime, cross-sell) is printed as a multiple of it.

Usage::

    python benchmarks/bench_scale.py                    # 10,000 and 100,000 customers
    python benchmarks/bench_scale.py --sizes 10000 --million   # and 1,000,000
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure, peak_mib

DATA = Path(__file__).resolve().parent / "_data"
#: the stages whose work grows with the invoice lines (the rest is customer-sized)
TRANSACTION_STAGES = ("load", "validate", "features", "profitability", "lifetime", "crosssell")


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_mib() -> float:
    return peak_mib()


def demo_folder(n: int, seed: int) -> Path:
    """The demo of ``n`` customer records as Parquet, generated once."""
    folder = DATA / f"scale_{n}_{seed}"
    if not (folder / "transactions.parquet").exists():
        from tierwise.demo import generate_stream
        from tierwise.io.demo_files import write_demo

        data = generate_stream(n_customers=n, seed=seed)
        write_demo(data, folder)
        (folder / "end_date.txt").write_text(data.end_date.isoformat())
    return folder


def demo_inputs(folder: Path) -> tuple[dict[str, str], object]:
    """The input files of a demo folder made by :func:`demo_folder`, and its end date."""
    import datetime as dt

    from tierwise.settings import INPUT_TABLES

    inputs = {
        name: str(folder / f"{name}.parquet")
        for name in INPUT_TABLES
        if (folder / f"{name}.parquet").exists()
    }
    return inputs, dt.date.fromisoformat((folder / "end_date.txt").read_text().strip())


def child_run(folder: Path, threads: int | None) -> dict:
    """The whole run on the demo folder, with each stage's time and peak memory."""

    import pyarrow as pa

    from tierwise.engine import Engine
    from tierwise.pipeline import run_pipeline
    from tierwise.settings import Settings

    inputs, as_of = demo_inputs(folder)
    settings = Settings()
    if threads:
        settings = settings.with_updates(run={"threads": threads})
    peaks: dict[str, float] = {}
    engine_at_peak: dict[str, float] = {}
    arrow_at_peak: dict[str, float] = {}
    current = ["start"]
    done = threading.Event()

    def engine_mib() -> float:
        got = watch.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()
        return float(got[0][0] or 0) / 2**20

    def sample() -> None:
        while not done.is_set():
            rss = _rss_mib()
            step = current[0]
            # the engine's share read at each new peak (a query of well under a millisecond)
            if rss > peaks.get(step, 0.0):
                engine_at_peak[step] = engine_mib()
                arrow_at_peak[step] = pa.total_allocated_bytes() / 2**20
                peaks[step] = rss
            time.sleep(0.02)

    def progress(step: str) -> None:
        current[0] = step

    t0 = time.perf_counter()
    # the engine the command line would make, given to the run so that its memory can be
    # read beside the process's (from a connection of its own, between the run's queries);
    # made and closed within the time measured, as the command line's run does
    engine = Engine.from_settings(settings.run, inputs=inputs.values())
    assert engine.backend == "duckdb", "the memory split reads DuckDB's buffer memory"
    watch = engine.con.con.cursor()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with tempfile.TemporaryDirectory(prefix="tw_scale_") as tmp:
        # as the command line runs: each stage's detail freed once no later stage reads it
        result = run_pipeline(
            inputs,
            settings,
            out_dir=Path(tmp) / "out",
            as_of=as_of,
            progress=progress,
            keep_details=False,
            engine=engine,
        )
        done.set()
        sampler.join()
        watch.close()
        engine.close()
        wall = time.perf_counter() - t0
    tx = result.manifest["inputs"]["transactions"]
    return {
        "wall": wall,
        "peak_mib": _peak_mib(),
        "timings": result.manifest["timings"],
        "stage_peak_mib": peaks,
        "stage_engine_mib": engine_at_peak,
        "stage_arrow_mib": arrow_at_peak,
        "lines": tx["rows_read"],
        "customers": result.customers.num_rows,
    }


def child_limit(folder: Path, threads: int | None) -> dict:
    """One bare DuckDB scan-and-aggregate over the transactions Parquet."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # it would print to stdout
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    path = str(folder / "transactions.parquet").replace("'", "''")
    t0 = time.perf_counter()
    n = con.execute(
        "SELECT count(*) FROM (SELECT customer_id, count(*) AS n, sum(revenue) AS revenue, "
        f"min(date) AS first, max(date) AS last FROM read_parquet('{path}') "
        "GROUP BY customer_id)"
    ).fetchone()
    wall = time.perf_counter() - t0
    return {"wall": wall, "peak_mib": _peak_mib(), "groups": int(n[0]) if n else 0}


def run_child(script: str, kind: str, folder: Path, threads: int | None) -> dict:
    """Run ``script --child kind --folder folder`` in a fresh process (its time and peak
    memory its own) and return the JSON its last line prints."""
    cmd = [sys.executable, script, "--child", kind, "--folder", str(folder)]
    if threads:
        cmd += ["--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} on {folder} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--million", action="store_true", help="also 1,000,000 customers")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--child", choices=["run", "limit"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn = child_run if args.child == "run" else child_limit
        print(json.dumps(fn(args.folder, args.threads)))
        return

    sizes = sorted(set(args.sizes + ([1_000_000] if args.million else [])))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    ends: list[tuple[int, float]] = []
    for n in sizes:
        t0 = time.perf_counter()
        folder = demo_folder(n, args.seed)
        print(
            f"\n{n:,} customer records: demo ready in {time.perf_counter() - t0:.1f} s ({folder})"
        )
        run = run_child(__file__, "run", folder, args.threads)
        limit = run_child(__file__, "limit", folder, args.threads)
        timings = run["timings"]
        total = sum(timings.values())
        print(f"{run['lines']:,} lines, {run['customers']:,} rows in customers")
        print(
            f"{'step':<16}{'wall s':>9}{'share':>8}{'peak MiB':>10}{'engine':>9}{'Arrow':>9}"
            f"{'rest':>9}"
        )
        for step, secs in timings.items():
            peak = run["stage_peak_mib"].get(step, float("nan"))
            held = run["stage_engine_mib"].get(step, float("nan"))
            arrow = run["stage_arrow_mib"].get(step, float("nan"))
            print(
                f"{step:<16}{secs:>9.2f}{secs / total:>8.0%}{peak:>10,.0f}"
                f"{held:>9,.0f}{arrow:>9,.0f}{peak - held - arrow:>9,.0f}"
            )
        print(f"{'end to end':<16}{run['wall']:>9.2f}{'':>8}{run['peak_mib']:>10,.0f}")
        print(
            "engine: DuckDB's buffer memory at the stage's peak; Arrow: the bytes Arrow's "
            "memory pool had allocated then (tables built in Python with Arrow's compute "
            "functions); rest: the process's other memory then (query results handed to "
            "Python, whose buffers DuckDB allocated, NumPy arrays, models, libraries, "
            "DuckDB's other memory outside its buffer manager, and pages either allocator "
            "has freed but not yet handed back)"
        )
        tx_work = sum(timings.get(s, 0.0) for s in TRANSACTION_STAGES)
        passes = tx_work / limit["wall"]
        print(
            f"the limit, one DuckDB scan-and-aggregate: {limit['wall']:.2f} s "
            f"(peak {limit['peak_mib']:,.0f} MiB); transaction-sized work "
            f"({', '.join(TRANSACTION_STAGES)}) {tx_work:.2f} s = {passes:.1f} passes "
            "(target <= 3)"
        )
        figure(
            f"whole run, {n:,} customers ({run['lines']:,} lines), end to end",
            run["wall"],
            limit["wall"],
            "one DuckDB scan-and-aggregate",
            note=f"peak {run['peak_mib']:,.0f} MiB",
        )
        figure(
            f"transaction-sized work, {n:,} customers, in passes of the limit",
            tx_work,
            limit["wall"],
            "one DuckDB scan-and-aggregate",
            note="target <= 3 passes",
        )
        top = max(run["stage_peak_mib"], key=lambda k: run["stage_peak_mib"][k])
        top_peak = run["stage_peak_mib"][top]
        top_engine = run["stage_engine_mib"].get(top, float("nan"))
        top_arrow = run["stage_arrow_mib"].get(top, float("nan"))
        figure(
            f"peak memory of the whole run, {n:,} customers",
            run["peak_mib"],
            limit["peak_mib"],
            "one DuckDB scan-and-aggregate",
            unit="MiB",
            note=f"sampled peak {top_peak:,.0f} MiB in {top}: engine {top_engine:,.0f}, Arrow "
            f"{top_arrow:,.0f}, the rest {top_peak - top_engine - top_arrow:,.0f}",
        )
        ends.append((run["lines"], run["wall"]))
    for (n1, t1), (n2, t2) in itertools.pairwise(ends):
        slope = math.log(t2 / t1) / math.log(n2 / n1)
        print(
            f"log-log slope of end-to-end time, {n1:,} → {n2:,} lines: {slope:.2f} (target <= 1.1)"
        )
        figure(
            f"log-log slope of end-to-end time, {n1:,} to {n2:,} lines",
            slope,
            1.0,
            "linear",
            unit="",
            note="target <= 1.1",
        )


if __name__ == "__main__":
    main()
