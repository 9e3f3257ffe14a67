"""Benchmark: the coverage planner (Lagrangian prices on concave envelopes) against HiGHS's
MILP on the same instance.

A synthetic menu shaped like the stage's: per customer no contact, three e-mail levels (no
capacity), five call levels on one inside pool, five visit levels on each of one to three
candidate reps (hours = visits x (1 h + travel), travel growing for the farther reps), values
from the response curve (margin x wallet x share - contact cost); capacities a share of
the hours each resource's best options would take, so that the reps bind.

Prints the planner's wall and CPU time, objective, certified bound and gap; then HiGHS's
(time-limited) time, objective and dual bound; then the ratio line: the planner's time
against HiGHS's and the objective gap between them. Pinned to 2 cores.

HiGHS runs in a child process that :func:`tierwise.coverage.exact.solve_exact` stops when
HiGHS has not returned a little after ``--highs-time`` (its MIP set-up does not look at the
clock and takes minutes at 30,000 customers), so the benchmark ends in bounded time; HiGHS's
CPU time is the child's.

Usage::

    python benchmarks/bench_coverage.py                       # 100,000 customers, 200 reps
    python benchmarks/bench_coverage.py --customers 20000 --reps 40 --highs-time 60
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

from tierwise.coverage.allocate import Menu, allocate
from tierwise.coverage.exact import solve_exact
from tierwise.coverage.response import response

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure


def synthetic(n: int, n_reps: int, seed: int, tight: float = 0.6) -> tuple[Menu, np.ndarray]:
    """A stage-like menu for ``n`` customers, ``n_reps`` reps and one inside pool."""
    rng = np.random.default_rng(seed)
    wallet = 40000 * rng.lognormal(0, 1.0, n)
    s0 = rng.uniform(0.02, 0.15, n)
    s1 = s0 + rng.uniform(0.1, 0.5, n)
    c = rng.uniform(0.8, 2.5, n)
    d = rng.uniform(1.0, 8.0, n)
    margin = rng.uniform(0.15, 0.4, n)
    n_cand = rng.integers(1, 4, n)
    home = rng.integers(0, n_reps, n)
    idx = np.arange(n)
    zero = np.zeros(n)
    cols: list[tuple[np.ndarray, ...]] = [(idx, zero, zero, zero, np.full(n, -1))]
    for k in (4, 12, 24):
        cols.append((idx, np.full(n, 0.05 * k), np.full(n, 0.5 * k), zero, np.full(n, -1)))
    for k in (2, 4, 6, 12, 24):
        cols.append(
            (
                idx,
                np.full(n, 0.35 * k),
                np.full(n, 8.0 * k),
                np.full(n, 0.33 * k),
                np.full(n, n_reps),
            )
        )
    for j in range(3):
        cu = idx[n_cand > j]
        rep = (home[cu] + j) % n_reps
        travel = rng.uniform(0.2, 2.5, cu.size) * (1 + j)
        for k in (1, 2, 4, 6, 12):
            cols.append(
                (cu, np.full(cu.size, float(k)), k * (60 + 30 * travel), k * (1.0 + travel), rep)
            )
    cust, eff, cost, hours, res = (np.concatenate(x) for x in zip(*cols, strict=True))
    order = np.argsort(cust, kind="stable")
    cust, eff, cost, hours, res = (a[order] for a in (cust, eff, cost, hours, res))
    value = margin[cust] * response(wallet[cust], s0[cust], s1[cust], c[cust], d[cust], eff) - cost
    menu = Menu(cust.astype(np.int64), value - 0.0, hours, res.astype(np.int64), n)
    # each customer's best option at no price (a segment maximum), then the hours it takes
    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    top = np.maximum.reduceat(value, starts)
    hit = np.flatnonzero(value >= top[cust])
    best = hit[np.r_[True, cust[hit][1:] != cust[hit][:-1]]]
    on = res[best] >= 0
    want = np.bincount(res[best][on], hours[best][on], minlength=n_reps + 1)
    cap = np.maximum(want * tight * rng.uniform(0.7, 1.3, n_reps + 1), 5.0)
    return menu, cap


def _cpu_with_children() -> float:
    """CPU seconds of this process and its ended children (HiGHS's child process)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--highs-time", type=float, default=120.0, help="HiGHS time limit (s)")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:2]))
    t0 = time.perf_counter()
    menu, cap = synthetic(args.customers, args.reps, args.seed)
    print(
        f"generated {args.customers:,} customers, {args.reps} reps + inside pool, "
        f"{menu.n_options:,} options in {time.perf_counter() - t0:.1f}s"
    )
    c0, t0 = time.process_time(), time.perf_counter()
    plan = allocate(menu, cap)
    a_wall, a_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"planner  {a_wall:8.2f}s wall {a_cpu:8.2f}s CPU  objective {plan.objective:,.0f}  "
        f"bound {plan.upper_bound:,.0f}  gap {plan.gap:.4%}  "
        f"({plan.detail['rounds']} price rounds, start {plan.detail['start']})"
    )
    c0, t0 = _cpu_with_children(), time.perf_counter()
    try:
        exact = solve_exact(menu, cap, time_limit=args.highs_time, threads=2)
    except Exception as err:  # no feasible solution within the limit is a result too
        h_wall = time.perf_counter() - t0
        print(f"highs    {h_wall:8.2f}s wall  no plan: {err}")
        print(
            f"planner / highs: time {a_wall / h_wall:.3f}x wall; HiGHS found no plan within "
            f"{args.highs_time:g} s; planner's certified gap {plan.gap:.4%}"
        )
        figure(
            f"coverage plan, {args.customers:,} customers, {args.reps} reps, vs HiGHS",
            a_wall,
            h_wall,
            "HiGHS MILP (highspy), time-limited",
            note=f"HiGHS: no plan within {args.highs_time:g} s; planner's certified gap "
            f"{plan.gap:.4%}",
        )
        return
    h_wall, h_cpu = time.perf_counter() - t0, _cpu_with_children() - c0
    print(
        f"highs    {h_wall:8.2f}s wall {h_cpu:8.2f}s CPU  objective {exact.objective:,.0f}  "
        f"bound {exact.upper_bound:,.0f}  gap {exact.gap:.4%}  ({exact.detail['status']})"
        + ("  [HiGHS stopped from outside; its last incumbent]" if exact.detail["stopped"] else "")
    )
    best_bound = min(plan.upper_bound, exact.upper_bound)
    ahead = "ahead" if plan.objective >= exact.objective else "behind"
    print(
        f"planner / highs: time {a_wall / h_wall:.3f}x wall, objective "
        f"{plan.objective / exact.objective:.5f}x (planner {ahead} "
        f"by {abs(plan.objective - exact.objective) / abs(exact.objective):.4%}); planner within "
        f"{(best_bound - plan.objective) / abs(best_bound):.4%} of the best bound; "
        f"target: plan in seconds ({'met' if a_wall < 10 else 'missed'})"
    )
    figure(
        f"coverage plan, {args.customers:,} customers, {args.reps} reps, vs HiGHS",
        a_wall,
        h_wall,
        "HiGHS MILP (highspy), time-limited",
        note=f"objective {plan.objective / exact.objective:.5f}x HiGHS's; planner's "
        f"certified gap {plan.gap:.4%}",
    )


if __name__ == "__main__":
    main()
