"""Benchmark: basket rules counted in the engine against efficient-apriori.

Generates synthetic canonical transactions as Parquet with DuckDB (orders of five lines over
``--products`` products with skewed popularity; in 30% of the orders the second line is the
first line's "partner" product, so strong pairs exist), then measures, each in a fresh
Python process so that time and peak memory (the process's maximum resident set) are its
own:

- ``engine``: :func:`tierwise.crosssell.basket_rules` on all ``--lines`` lines, read from
  Parquet, rules brought back as Arrow;
- ``engine_sample``: the same on the first ``--sample-lines`` lines (whole orders);
- ``apriori``: efficient-apriori (Python; pairs only, ``max_length=2``) on that sample, the
  baskets read into Python lists of tuples, which is what it needs.

The sample is what efficient-apriori can hold; the engine runs the same settings on both.
It checks that the two find the same rules with the same support and confidence on the
sample, and prints the time ratio on the sample and the ratio of lines per second (the
engine at full size against efficient-apriori on the sample).

Usage::

    python benchmarks/bench_baskets.py                              # 50M lines, 1M sample
    python benchmarks/bench_baskets.py --lines 5000000 --sample-lines 500000   # quicker

Needs the ``bench`` extra (``pip install 'tierwise[bench]'``) for efficient-apriori.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure, peak_mib

PHASES = ("engine", "engine_sample", "apriori")


def _settings(args: argparse.Namespace) -> Any:
    from tierwise.settings.crosssell import CrossSellSettings

    # the comparison's rule set: no minimum count or lift beyond support and confidence,
    # which are the two thresholds efficient-apriori has; five-line baskets stay under the cap
    return CrossSellSettings(
        min_support=args.min_support,
        min_confidence=args.min_confidence,
        min_pair_count=1,
        min_lift=0.0,
        max_basket_items=50,
        max_rules=10_000_000,
    )


def generate(folder: Path, lines: int, products: int, threads: int | None) -> None:
    """Write the synthetic transactions (benchmark scaffolding: DuckDB SQL is fine)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # it would print to stdout
    con.execute("SET preserve_insertion_order = true")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    p = products
    # popularity: product = floor(P × u³) with u uniform from a hash (skewed to low ids)
    first = f"CAST(floor({p} * pow((hash(o * 8) % 1000003) / 1000003.0, 3)) AS BIGINT)"
    own = f"CAST(floor({p} * pow((hash(o * 8 + j) % 1000003) / 1000003.0, 3)) AS BIGINT)"
    con.execute(
        f"""COPY (
        SELECT
          'C' || CAST(hash(o * 3) % 1000000 AS VARCHAR) AS customer_id,
          DATE '2024-01-01' + CAST(hash(o * 5) % 365 AS INTEGER) AS date,
          10.0 AS revenue,
          'SO' || CAST(o AS VARCHAR) AS order_id,
          'P' || lpad(CAST(
            CASE WHEN j = 1 AND hash(o * 8 + 7) % 10 < 3 THEN ({first} + 1) % {p}
                 ELSE {own} END AS VARCHAR), 6, '0') AS product_id,
          'cat' || CAST(hash(o * 8 + j) % 20 AS VARCHAR) AS product_category,
          FALSE AS is_return,
          FALSE AS is_cancel
        FROM (SELECT i, i // 5 AS o, i % 5 AS j FROM range({lines}) t(i))
        ) TO '{folder / "transactions.parquet"}' (FORMAT parquet)"""
    )
    con.close()


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_rss_mib() -> float:
    return peak_mib()


def run_phase(phase: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One measured step, in this (fresh) process."""
    s = _settings(args)
    sample = args.sample_lines - args.sample_lines % 5  # whole orders
    t0 = time.perf_counter()
    c0 = _cpu_seconds()
    if phase in ("engine", "engine_sample"):
        from tierwise.crosssell import basket_rules
        from tierwise.engine import Engine

        eng = Engine(threads=args.threads, memory_limit=args.memory_limit)
        eng.con.con.execute(f"SET temp_directory = '{folder / '_spill'}'")
        tx = eng.read_parquet(folder / "transactions.parquet", with_row_numbers=phase != "engine")
        if phase == "engine_sample":
            tx = tx.filter(tx["_row"] <= sample)
        got = eng.to_arrow(basket_rules(tx, s, level="product"))
        rules = {
            f"{r['antecedent']}>{r['consequent']}": [r["n_both"], r["support"], r["confidence"]]
            for r in got.select(
                ["antecedent", "consequent", "n_both", "support", "confidence"]
            ).to_pylist()
        }
        n_baskets = int(got.column("n_baskets")[0].as_py()) if got.num_rows else 0
    else:
        import pyarrow.parquet as pq
        from efficient_apriori import apriori

        pf = pq.ParquetFile(folder / "transactions.parquet")
        orders: list[str] = []
        items: list[str] = []
        for batch in pf.iter_batches(batch_size=1_000_000, columns=["order_id", "product_id"]):
            take = min(batch.num_rows, sample - len(orders))
            orders += batch.column("order_id").to_pylist()[:take]
            items += batch.column("product_id").to_pylist()[:take]
            if len(orders) >= sample:
                break
        baskets: dict[str, set[str]] = {}
        for o, i in zip(orders, items, strict=True):
            baskets.setdefault(o, set()).add(i)
        transactions = [tuple(sorted(b)) for b in baskets.values()]
        n_baskets = len(transactions)
        _, found = apriori(
            transactions,
            min_support=args.min_support,
            min_confidence=args.min_confidence,
            max_length=2,
        )
        rules = {
            f"{r.lhs[0]}>{r.rhs[0]}": [r.count_full, r.support, r.confidence]
            for r in found
            if len(r.lhs) == 1 and len(r.rhs) == 1
        }
    return {
        "phase": phase,
        "wall": time.perf_counter() - t0,
        "cpu": _cpu_seconds() - c0,
        "peak_mib": _peak_rss_mib(),
        "n_baskets": n_baskets,
        "rules": rules,
    }


def _child(phase: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--dir",
        str(folder),
        "--sample-lines",
        str(args.sample_lines),
        "--min-support",
        str(args.min_support),
        "--min-confidence",
        str(args.min_confidence),
    ]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.memory_limit:
        cmd += ["--memory-limit", args.memory_limit]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=50_000_000, help="invoice lines (default 50M)")
    ap.add_argument(
        "--sample-lines",
        type=int,
        default=1_000_000,
        help="lines of the sample both contenders run on (default 1M)",
    )
    ap.add_argument("--products", type=int, default=2_000, help="products (default 2000)")
    ap.add_argument("--min-support", type=float, default=0.001)
    ap.add_argument("--min-confidence", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--memory-limit", default="10GB")
    ap.add_argument("--dir", default=None, help="folder for the inputs (default: a temp folder)")
    ap.add_argument("--phase", choices=PHASES, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.phase:  # a child process: one measured step
        print(json.dumps(run_phase(args.phase, Path(args.dir), args)))
        return

    tmp = None if args.dir else tempfile.TemporaryDirectory(prefix="tw_baskets_")
    folder = Path(args.dir or tmp.name)  # type: ignore[union-attr]
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "transactions.parquet").exists():
        t0 = time.perf_counter()
        generate(folder, args.lines, args.products, args.threads)
        print(f"generated {args.lines:,} lines in {time.perf_counter() - t0:.1f} s")
    res = {p: _child(p, folder, args) for p in PHASES}
    sample = args.sample_lines - args.sample_lines % 5
    print(
        f"rules with support ≥ {args.min_support} and confidence ≥ {args.min_confidence}, "
        f"pairs only"
    )
    print(
        f"{'contender':<44}{'lines':>12}{'baskets':>11}{'rules':>8}{'wall s':>9}{'CPU s':>9}"
        f"{'peak MiB':>10}"
    )
    label = {
        "engine": "tierwise basket_rules (DuckDB), all lines",
        "engine_sample": "tierwise basket_rules (DuckDB), sample",
        "apriori": "efficient-apriori 2.0 (Python), sample",
    }
    for p in PHASES:
        r = res[p]
        n = args.lines if p == "engine" else sample
        print(
            f"{label[p]:<44}{n:>12,}{r['n_baskets']:>11,}{len(r['rules']):>8,}{r['wall']:>9.2f}"
            f"{r['cpu']:>9.2f}{r['peak_mib']:>10,.0f}"
        )
    a, e = res["apriori"]["rules"], res["engine_sample"]["rules"]
    same_keys = set(a) == set(e)
    close = same_keys and all(
        a[k][0] == e[k][0] and abs(a[k][1] - e[k][1]) <= 1e-12 and abs(a[k][2] - e[k][2]) <= 1e-12
        for k in a
    )
    print(
        f"same rules on the sample: {'yes' if close else 'NO'} ({len(a):,} rules; "
        f"counts, support and confidence compared)"
    )
    ratio = res["apriori"]["wall"] / res["engine_sample"]["wall"]
    print(f"efficient-apriori / engine on the sample: {ratio:.1f}x wall time")
    speed_e = args.lines / res["engine"]["wall"]
    speed_a = sample / res["apriori"]["wall"]
    print(
        f"lines per second: engine at full size {speed_e:,.0f}, efficient-apriori on the "
        f"sample {speed_a:,.0f} (ratio {speed_e / speed_a:.1f}x)"
    )
    figure(
        "basket rules on the sample vs efficient-apriori",
        res["engine_sample"]["wall"],
        res["apriori"]["wall"],
        "efficient-apriori 2.0",
        note=f"{sample:,} lines; same rules: {'yes' if close else 'NO'}",
    )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
