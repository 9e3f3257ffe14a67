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

To compare two versions of the stage itself, its exact inputs can be saved once from a run
(``--save-inputs DIR``: the transactions as the stage reads them, the customer table, the
settings, the analysis date, the seed and the margin rate) and the stage replayed alone on
them (``--replay DIR``): the process's CPU time (DuckDB's threads included) and wall time
of the stage, each engine query's CPU time with ``--queries``, and the stage's outputs
written with ``--out`` (cross_sell, up_sell, basket_rules and the customer columns as
Parquet, the manifest block and warnings as JSON), to check that a change leaves them as
they were. On a shared machine compare the CPU time, over several replays.

Usage::

    python benchmarks/bench_crosssell.py                  # 100,000 customers
    python benchmarks/bench_crosssell.py --sizes 10000 100000
    python benchmarks/bench_crosssell.py --demo DIR       # a demo folder written already
    python benchmarks/bench_crosssell.py --save-inputs INPUTS   # the stage's inputs, 100,000
    python benchmarks/bench_crosssell.py --replay INPUTS --queries --out OUT
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
from typing import Any

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


def save_inputs(folder: Path, into: Path) -> None:
    """Run the pipeline up to the cross-sell stage on a demo folder and write the stage's
    exact inputs into ``into`` (see :func:`replay`)."""
    import importlib

    import pyarrow.parquet as pq

    from tierwise.pipeline import run_pipeline
    from tierwise.settings import Settings

    # tierwise.crosssell names the stage function: the module is taken by its full name
    declared = importlib.import_module("tierwise.crosssell._declare")
    stage = declared.crosssell_stage
    into.mkdir(parents=True, exist_ok=True)

    def saving(tx: Any, customers: Any, settings: Any, **kw: Any) -> Any:
        pq.write_table(kw["engine"].to_arrow(tx, "the transactions"), into / "tx.parquet")
        pq.write_table(customers, into / "customers.parquet")
        args = {k: kw[k] for k in ("seed", "margin_rate")}
        args |= {"as_of": str(kw["as_of"]), "settings": settings.model_dump(mode="json")}
        (into / "args.json").write_text(json.dumps(args, indent=1))
        return stage(tx, customers, settings, **kw)

    declared.crosssell_stage = saving
    inputs, as_of = demo_inputs(folder)
    run_pipeline(inputs, Settings(), as_of=as_of, stages=("crosssell",))
    print(f"the cross-sell stage's inputs are in {into}")


def replay(inputs: Path, out: Path | None, queries: bool) -> None:
    """The cross-sell stage alone on inputs :func:`save_inputs` wrote: its CPU and wall
    time, each query's CPU time (``queries``), and its outputs written into ``out``."""
    import importlib
    import traceback
    from collections import defaultdict

    import pyarrow.parquet as pq

    from tierwise.engine import Engine
    from tierwise.settings import Settings
    from tierwise.settings.crosssell import CrossSellSettings

    stage = importlib.import_module("tierwise.crosssell.stage")
    lines = importlib.import_module("tierwise.crosssell._lines")
    args = json.loads((inputs / "args.json").read_text())
    engine = Engine.from_settings(Settings().run)
    # as the pipeline hands them over: the transactions kept compressed in the engine
    loaded = engine.from_arrow(pq.read_table(inputs / "tx.parquet"))
    tx = engine.materialize(loaded, large=True)
    engine.release(loaded)
    customers = pq.read_table(inputs / "customers.parquet")
    spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def timed(fn: Any, name: str) -> Any:
        def run(*a: Any, **k: Any) -> Any:
            here = [
                f"{Path(f.filename).stem}:{f.lineno}"
                for f in reversed(traceback.extract_stack()[:-1])
                if "/crosssell/" in f.filename and not f.filename.endswith("_lines.py")
            ]
            start = _cpu_seconds()
            try:
                return fn(*a, **k)
            finally:
                got = spent[f"{name} at {' < '.join(here[:3])}"]
                got[0] += 1
                got[1] += _cpu_seconds() - start

        return run

    if queries:
        lines.fetch = timed(lines.fetch, "query")
        Engine._duckdb_table = timed(Engine._duckdb_table, "table")
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    res = stage.crosssell_stage(
        tx,
        customers,
        CrossSellSettings(**args["settings"]),
        as_of=args["as_of"],
        seed=args["seed"],
        margin_rate=args["margin_rate"],
        engine=engine,
    )
    cpu, wall = _cpu_seconds() - cpu0, time.perf_counter() - wall0
    print(f"cross-sell stage alone: {cpu:.2f} s CPU, {wall:.2f} s wall ({inputs})")
    for what, (n, seconds) in sorted(spent.items(), key=lambda kv: -kv[1][1]):
        print(f"{seconds:7.2f} s CPU  x{n:<3d} {what}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, table in res.tables.items():
            pq.write_table(table, out / f"{name}.parquet")
        pq.write_table(res.customers, out / "customers.parquet")
        block = {"manifest": res.manifest, "warnings": res.warnings}
        (out / "manifest.json").write_text(json.dumps(block, indent=1, sort_keys=True, default=str))


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
    ap.add_argument(
        "--save-inputs", type=Path, default=None, help="write the stage's inputs into this folder"
    )
    ap.add_argument(
        "--replay", type=Path, default=None, help="run the stage alone on inputs saved there"
    )
    ap.add_argument("--queries", action="store_true", help="with --replay: each query's CPU")
    ap.add_argument("--out", type=Path, default=None, help="with --replay: write the outputs")
    ap.add_argument("--child", choices=["stage", "limit"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn = child_stage if args.child == "stage" else child_limit
        print(json.dumps(fn(args.folder, args.threads)))
        return
    if args.replay:
        replay(args.replay, args.out, args.queries)
        return
    if args.save_inputs:
        folder = (args.demo or [demo_folder(max(args.sizes), args.seed)])[0]
        save_inputs(folder, args.save_inputs)
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
