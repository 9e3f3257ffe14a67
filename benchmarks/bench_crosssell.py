"""Benchmark: the cross-sell stage on the demo, against one pass over the same lines.

For each size the demo is generated once (cached in ``benchmarks/_data/scale_<n>_<seed>/``,
shared with bench_scale.py) and, in a fresh process, the pipeline runs up to the cross-sell
stage (``stages=("crosssell",)``: accounts, cancellations, features, the measuring stages and
segments before it, so that the stage sees the customer table of a real run). Measured for
the cross-sell stage alone: its wall time (the manifest's timing), the process's CPU time
while it ran (DuckDB's threads included), the resident memory when it started and the peak
while it ran (sampled every 20 ms from /proc).

The baseline, in its own process: one bare DuckDB scan-and-aggregate over the same
transactions Parquet (per customer: lines, revenue, first and last date), as in
bench_scale.py. The stage's time is printed as a multiple of it (passes).

Usage::

    python benchmarks/bench_crosssell.py                  # 100,000 customers
    python benchmarks/bench_crosssell.py --sizes 10000 100000
    python benchmarks/bench_crosssell.py --demo DIR       # a demo folder written already
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure
from bench_scale import child_limit, demo_folder, demo_inputs, run_child


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child_stage(folder: Path, threads: int | None) -> dict:
    """The pipeline up to the cross-sell stage; the stage's time, CPU and memory."""

    from tierwise.pipeline import run_pipeline
    from tierwise.settings import Settings

    inputs, as_of = demo_inputs(folder)
    settings = Settings()
    if threads:
        settings = settings.with_updates(run={"threads": threads})
    state = {"step": "start", "peak": 0.0}
    marks: dict[str, tuple[float, float]] = {}  # step -> (CPU s, RSS MiB) as it started
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            if state["step"] == "crosssell":
                state["peak"] = max(float(state["peak"]), _rss_mib())
            time.sleep(0.02)

    def progress(step: str) -> None:
        marks[step] = (_cpu_seconds(), _rss_mib())
        state["step"] = step

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = run_pipeline(inputs, settings, as_of=as_of, progress=progress, stages=("crosssell",))
    end_cpu = _cpu_seconds()
    done.set()
    sampler.join()
    cpu0, rss0 = marks["crosssell"]
    cpu1 = marks["outputs"][0] if "outputs" in marks else end_cpu
    block = result.manifest.get("crosssell", {})
    return {
        "wall": result.manifest["timings"]["crosssell"],
        "cpu": cpu1 - cpu0,
        "rss_start_mib": rss0,
        "peak_mib": max(float(state["peak"]), rss0),
        "lines": result.manifest["inputs"]["transactions"]["rows_read"],
        "customers": result.manifest["inputs"]["customers"]["rows_read"],
        "recommendations": block.get("n_recommendations", 0),
        "rules": sum(v.get("n_rules", 0) for v in block.get("rules", {}).values()),
        "evaluation": block.get("evaluation", {}).get("status"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--demo",
        type=Path,
        nargs="+",
        default=None,
        help="demo folders to use instead of --sizes (as bench_scale.py writes them)",
    )
    ap.add_argument("--child", choices=["stage", "limit"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn = child_stage if args.child == "stage" else child_limit
        print(json.dumps(fn(args.folder, args.threads)))
        return

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    folders = args.demo or [demo_folder(n, args.seed) for n in sorted(set(args.sizes))]
    for folder in folders:
        stage = run_child(__file__, "stage", folder, args.threads)
        limit = run_child(__file__, "limit", folder, args.threads)
        grew = stage["peak_mib"] - stage["rss_start_mib"]
        passes = stage["wall"] / limit["wall"]
        n = stage["customers"]
        print(f"\n{n:,} customer records, {stage['lines']:,} lines ({folder})")
        print(
            f"cross-sell stage: {stage['wall']:.2f} s wall, {stage['cpu']:.2f} s CPU; "
            f"{stage['rules']:,} rules, {stage['recommendations']:,} recommendations, "
            f"evaluation {stage['evaluation']}"
        )
        print(
            f"memory: {stage['rss_start_mib']:,.0f} MiB as the stage started, peak "
            f"{stage['peak_mib']:,.0f} MiB while it ran (+{grew:,.0f} MiB)"
        )
        print(
            f"one DuckDB scan-and-aggregate: {limit['wall']:.2f} s (peak "
            f"{limit['peak_mib']:,.0f} MiB); the stage = {passes:.1f} passes"
        )
        figure(
            f"cross-sell stage, {n:,} customers ({stage['lines']:,} lines)",
            stage["wall"],
            limit["wall"],
            "one DuckDB scan-and-aggregate",
            note=f"{stage['cpu']:.1f} s CPU",
        )
        figure(
            f"memory the cross-sell stage adds, {n:,} customers",
            grew,
            limit["peak_mib"],
            "peak of one DuckDB scan-and-aggregate",
            unit="MiB",
            note=f"peak {stage['peak_mib']:,.0f} MiB, {stage['rss_start_mib']:,.0f} at the start",
        )


if __name__ == "__main__":
    main()
