"""Run every benchmark, each in its own process, and write docs/benchmarks.md.

Each ``benchmarks/bench_*.py`` prints its own report and, per headline figure, one line
``FIGURE {json}`` (see ``_figures.py``): tierwise's value and the peer's or limit's,
measured in the same run. This script runs them one after another, keeps their full output
in ``benchmarks/_results/<name>.txt``, and writes one table of the figures — nothing in it
comes from an earlier run. A benchmark that fails or prints no figure is listed as such.

Usage::

    python benchmarks/run_all.py                # the small sizes (about 30 minutes)
    python benchmarks/run_all.py --full         # each benchmark's own default sizes (hours)
    python benchmarks/run_all.py --only scale spark
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOCS = ROOT / "docs" / "benchmarks.md"
RESULTS = HERE / "_results"
PREFIX = "FIGURE "

#: arguments for a run of minutes rather than hours (the 2-core development machine)
SMALL: dict[str, list[str]] = {
    # the size the load-validate-aggregate target is set for (20 million lines)
    "aggregate": ["--lines", "20000000", "--customers", "1000000"],
    "candidates": ["--customers", "300000"],
    "baskets": ["--lines", "1000000", "--sample-lines", "100000"],
    "coverage": ["--customers", "100000", "--reps", "200", "--highs-time", "60"],
    "dedupe": ["--records", "50000"],
    "demo_generate": ["--customers", "50000"],
    "lifetime": ["--lines", "2000000", "--customers", "50000"],
    "lifetime_cancellations": ["--lines", "1000000", "--customers", "20000"],
    "potential": ["--customers", "50000", "--prospects", "10000"],
    "profitability": ["--customers", "50000", "--lines", "2000000", "--activities", "200000"],
    "report": ["--customers", "50000", "--plan", "10000"],
    "segments": ["--customers", "50000"],
    # the scale curve to the size: 1,000,000 customers, about 56 million lines
    "scale": ["--sizes", "10000", "100000", "--million"],
    "spark": ["--customers", "500"],
    "validate": ["--customers", "100000"],
}


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
        mem = f", {kib / 1024**2:.0f} GiB"
    except (OSError, StopIteration):
        pass
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line for line in f if line.startswith("model name")).split(":", 1)[1].strip()
    except (OSError, StopIteration):
        pass
    system = f"{platform.system()}, Python {platform.python_version()}"
    return f"{cpu}, {os.cpu_count()} cores{mem}, {system}"


def run_one(name: str, full: bool, timeout: float) -> tuple[list[dict], str, float]:
    """Run bench_<name>.py; its figures, its status and its wall time."""
    cmd = [sys.executable, str(HERE / f"bench_{name}.py")]
    if not full:
        cmd += SMALL.get(name, [])
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        out, err, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err, code = f"timed out after {timeout:.0f} s", -1
    wall = time.perf_counter() - t0
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.txt").write_text(
        f"$ {' '.join(cmd[1:])}\n{out}\n--- stderr ---\n{err}", encoding="utf-8"
    )
    figures = [
        json.loads(line[len(PREFIX) :]) for line in out.splitlines() if line.startswith(PREFIX)
    ]
    if code != 0:
        last = (err.strip().splitlines() or ["(no message)"])[-1]
        status = f"failed (exit {code}): {last[:200]}"
    elif not figures:
        status = "ran, printed no figure"
    else:
        status = "ok"
    return figures, status, wall


def _num(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "MiB":
        return f"{v:,.0f} MiB"
    if unit == "s":
        return f"{v:,.2f} s"
    return f"{v:,.2f}{(' ' + unit) if unit else ''}"


def render(rows: list[tuple[str, list[dict], str, float]], args: argparse.Namespace) -> str:
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        "# Benchmarks",
        "",
        "Written by `python benchmarks/run_all.py"
        + (" --full" if args.full else "")
        + f"` on {when}; every figure below was measured in that run, each benchmark in its "
        "own process, the peer or limit in the same run. Ratio = tierwise / peer: below 1 "
        "tierwise is faster (or smaller). Sizes are the small ones of `run_all.py` unless "
        "`--full` is said; each script's `--help` gives its sizes, and its whole printout is "
        "kept in `benchmarks/_results/` (not in git).",
        "",
        f"Machine: {machine()}. Load average when the run started: {args.load}.",
        "",
        "| benchmark | figure | tierwise | peer or limit | peer | ratio | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, figures, status, _wall in rows:
        if status != "ok" and not figures:
            lines.append(f"| `bench_{name}.py` | — | — | — | — | — | {status} |")
            continue
        for f in figures:
            unit = f.get("unit") or ""
            ratio = (
                f"{f['tierwise'] / f['peer']:.2f}×"
                if f.get("peer") not in (None, 0) and unit != ""
                else "—"
            )
            lines.append(
                f"| `bench_{name}.py` | {f['figure']} | {_num(f['tierwise'], unit)} | "
                f"{f.get('peer_name') or '—'} | {_num(f.get('peer'), unit)} | {ratio} | "
                f"{f.get('note') or ''} |"
            )
        if status != "ok":
            lines.append(f"| `bench_{name}.py` | — | — | — | — | — | {status} |")
    lines += [
        "",
        "Time each benchmark took (generating its data included): "
        + ", ".join(f"{name} {wall:,.0f} s" for name, _f, _s, wall in rows)
        + ".",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--full", action="store_true", help="each benchmark's own default sizes")
    ap.add_argument("--only", nargs="+", help="these benchmarks only (names without bench_)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per benchmark")
    ap.add_argument("--out", type=Path, default=DOCS, help="the page to write")
    args = ap.parse_args()
    args.load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    names = sorted(p.stem[len("bench_") :] for p in HERE.glob("bench_*.py"))
    if args.only:
        names = [n for n in names if n in args.only]
    rows = []
    for name in names:
        print(f"bench_{name}.py ...", end=" ", flush=True)
        figures, status, wall = run_one(name, args.full, args.timeout)
        print(f"{status} ({wall:,.0f} s, {len(figures)} figures)", flush=True)
        rows.append((name, figures, status, wall))
    args.out.write_text(render(rows, args), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
