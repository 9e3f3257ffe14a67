"""Benchmark: the same small run on DuckDB and on local Spark, each in its own process.

The demo (cached in ``benchmarks/_data/``) runs end to end through ``run_pipeline`` on each
engine: DuckDB in-process, and Spark ``local[threads]`` (the session start is timed apart
from the run) with the shuffle partitions tierwise sets on a local master (four a core), and
once more with Spark's own default of 200 partitions. Printed: each engine's time per stage
and end to end, peak memory of the Python process (Spark's JVM is a child process: its peak
is printed separately), and the ratio Spark / DuckDB. The customers tables are compared
too (ids, and revenue to 1e-9).

Usage::

    python benchmarks/bench_spark.py                  # 2,000 customer records
    python benchmarks/bench_spark.py --customers 20000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure
from bench_scale import demo_folder, demo_inputs, run_child


def child(kind: str, folder: Path, threads: int) -> dict:

    import pyarrow.compute as pc

    from tierwise.engine import Engine
    from tierwise.pipeline import run_pipeline
    from tierwise.settings import Settings

    inputs, as_of = demo_inputs(folder)
    engine = "duckdb" if kind == "duckdb" else "spark"
    options: dict[str, object] = {"spark.ui.enabled": False}
    if kind == "spark200":
        options["spark.sql.shuffle.partitions"] = 200  # Spark's own default
    settings = Settings().with_updates(
        run={
            "engine": engine,
            "threads": threads,
            "spark_master": f"local[{threads}]",
            "spark_options": options,
        }
    )
    t0 = time.perf_counter()
    eng = Engine.from_settings(settings.run)
    start = time.perf_counter() - t0
    jvm_pid = None
    if engine == "spark":
        gateway = eng.con._session.sparkContext._gateway  # type: ignore[attr-defined]
        proc = getattr(gateway, "proc", None) or getattr(gateway, "java_process", None)
        jvm_pid = proc.pid if proc is not None else None
    with tempfile.TemporaryDirectory(prefix="tw_spark_bench_") as tmp:
        t0 = time.perf_counter()
        result = run_pipeline(inputs, settings, out_dir=Path(tmp) / "out", as_of=as_of, engine=eng)
        wall = time.perf_counter() - t0
    jvm_peak = None
    if jvm_pid:
        with open(f"/proc/{jvm_pid}/status") as f:
            jvm_peak = next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM"))
    partitions = (
        eng.con._session.conf.get("spark.sql.shuffle.partitions") if engine == "spark" else None
    )
    eng.close()
    c = result.customers
    return {
        "partitions": partitions,
        "start": start,
        "wall": wall,
        "timings": result.manifest["timings"],
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "jvm_peak_mib": jvm_peak,
        "ids": c.column("customer_id").to_pylist(),
        "revenue": pc.sum(c.column("revenue")).as_py(),
        "lines": result.manifest["inputs"]["transactions"]["rows_read"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--customers", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--child", choices=["duckdb", "spark", "spark200"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.folder, args.threads)))
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores")
    folder = demo_folder(args.customers, args.seed)
    duck = run_child(__file__, "duckdb", folder, args.threads)
    spark = run_child(__file__, "spark", folder, args.threads)
    spark200 = run_child(__file__, "spark200", folder, args.threads)
    print(
        f"{duck['lines']:,} lines, {len(duck['ids']):,} rows in customers; {args.threads} threads"
    )
    print(
        f"Spark shuffle partitions: {spark['partitions']} (tierwise's on local[{args.threads}]), "
        f"{spark200['partitions']} (Spark's default)"
    )
    head = f"Spark {spark200['partitions']} s"
    print(f"{'step':<16}{'DuckDB s':>10}{'Spark s':>10}{head:>14}")
    for step in duck["timings"]:
        other = spark["timings"].get(step, float("nan"))
        other200 = spark200["timings"].get(step, float("nan"))
        print(f"{step:<16}{duck['timings'][step]:>10.2f}{other:>10.2f}{other200:>14.2f}")
    print(f"{'whole run':<16}{duck['wall']:>10.2f}{spark['wall']:>10.2f}{spark200['wall']:>14.2f}")
    print(
        f"{'engine start':<16}{duck['start']:>10.2f}{spark['start']:>10.2f}"
        f"{spark200['start']:>14.2f}"
    )
    print(
        f"peak memory: DuckDB process {duck['peak_mib']:,.0f} MiB; Spark's Python driver "
        f"{spark['peak_mib']:,.0f} MiB and its JVM {spark['jvm_peak_mib'] or 0:,.0f} MiB"
    )
    same = duck["ids"] == spark["ids"] and abs(duck["revenue"] - spark["revenue"]) <= 1e-9 * abs(
        duck["revenue"]
    )
    print(f"same customers and revenue: {'yes' if same else 'NO'}")
    print(f"Spark local / DuckDB: {spark['wall'] / duck['wall']:.1f}x (whole run, start excluded)")
    figure(
        f"whole run on local Spark, {args.customers:,} customers ({duck['lines']:,} lines)",
        spark["wall"],
        duck["wall"],
        "the same run on DuckDB",
        note=f"Spark start {spark['start']:.1f} s not included; "
        f"same result: {'yes' if same else 'NO'}",
    )
    figure(
        f"local Spark with {spark['partitions']} shuffle partitions (tierwise's four a core) vs "
        f"Spark's default, {args.customers:,} customers",
        spark["wall"],
        spark200["wall"],
        f"{spark200['partitions']} shuffle partitions",
        note="same run, same session settings otherwise",
    )


if __name__ == "__main__":
    main()
