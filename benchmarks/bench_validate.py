"""Benchmark: reading and validating every input of a demo, against one pass over its lines.

Validation reads each input, checks every row (kept or rejected with its reason) and keeps
the rows in the engine for the stages after it. The limit, measured in the same run: one
bare DuckDB scan-and-aggregate over the same transactions Parquet (per customer: lines,
revenue, first and last date), which nothing that reads every line can beat. Each is timed
in a fresh process (wall, CPU of the process, peak resident memory).

Usage::

    .venv/bin/python benchmarks/bench_validate.py                  # 100,000 customers
    .venv/bin/python benchmarks/bench_validate.py --customers 300000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure

_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {here!r})
from pathlib import Path
from bench_scale import demo_inputs
from _figures import peak_mib
folder = Path({folder!r})
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
if {bare!r}:
    import duckdb
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # it would print to stdout
    start, c0 = time.perf_counter(), cpu()
    con.execute(
        "SELECT customer_id, count(*), sum(revenue), min(date), max(date) "
        "FROM read_parquet(?) GROUP BY 1", [str(folder / "transactions.parquet")]
    ).to_arrow_table()
else:
    from tierwise.engine import Engine
    from tierwise.pipeline import load_and_validate
    from tierwise.settings import Settings
    inputs, as_of = demo_inputs(folder)
    settings = Settings()
    engine = Engine.from_settings(settings.run, inputs=inputs.values())
    start, c0 = time.perf_counter(), cpu()
    load_and_validate(inputs, settings, engine, as_of=as_of)
print(json.dumps({{"wall": time.perf_counter() - start, "cpu": cpu() - c0, "peak": peak_mib()}}))
"""


def _run(folder: Path, *, bare: bool) -> dict[str, float]:
    here = str(Path(__file__).resolve().parent)
    code = _CHILD.format(here=here, folder=str(folder), bare=bare)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    out = done.stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    from bench_scale import demo_folder

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args()
    folder = demo_folder(args.customers, args.seed)
    bare = _run(folder, bare=True)
    valid = _run(folder, bare=False)
    for name, r in (("one scan-and-aggregate", bare), ("load and validate", valid)):
        print(
            f"{name:<24} wall {r['wall']:7.1f} s  cpu {r['cpu']:7.1f} s  peak {r['peak']:7.0f} MiB"
        )
    figure(
        f"load and validate every input, {args.customers:,} customers (CPU)",
        valid["cpu"],
        bare["cpu"],
        "one DuckDB scan-and-aggregate of the transactions",
        note=f"wall {valid['wall']:.1f} s, peak {valid['peak']:.0f} MiB",
    )


if __name__ == "__main__":
    main()
