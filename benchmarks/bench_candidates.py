"""Benchmark: the coverage stage's candidate reps (each customer's current rep and nearest
reps of its region) on a k-d tree of the reps' homes, against the full search that measures
every rep of the customer's region.

A synthetic team like the demo's: one field rep per 180 customers in nine regions, a key
account manager (no region) per 1,600 customers, customers and reps spread over each
region's box, a rep of its region for most customers; tiers that let every role visit, field
reps only or key account managers only. The team grows with the customers, so the full
search grows with customers x reps; the tree's with the customers.

Prints each search's CPU time and whether both found the same candidates, then the figure
line. Pinned to one core (the stage runs the search on a thread of its own).

Usage::

    python benchmarks/bench_candidates.py                      # 300,000 customers
    python benchmarks/bench_candidates.py --customers 1000000
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from tierwise.coverage import menu
from tierwise.coverage.menu import CustomerFrame, Team, _candidates
from tierwise.settings.coverage import CoverageSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure


def synthetic(n: int, seed: int = 0) -> tuple[CustomerFrame, Team, np.ndarray, np.ndarray]:
    """Customers, team, customers x roles allowed to visit, and each rep's role column."""
    rng = np.random.default_rng(seed)
    regions = np.array([f"R{i}" for i in range(9)], object)
    lat0 = 50.0 + np.arange(9) % 3 * 1.5
    lon0 = -4.0 + np.arange(9) // 3 * 1.5
    n_field, n_key = max(n // 180, 9), max(n // 1600, 1)
    m = n_field + n_key
    r_reg = rng.integers(0, 9, n_field)
    role = np.array(["field"] * n_field + ["key_account"] * n_key, object)
    team = Team(
        ids=np.array([f"P{j}" for j in range(m)], object),
        role=role,
        hours=np.full(m, 1600.0),
        region=np.r_[regions[r_reg], np.full(n_key, None, object)],
        lat=np.r_[lat0[r_reg] + rng.uniform(0, 1.5, n_field), rng.uniform(50, 54.5, n_key)],
        lon=np.r_[lon0[r_reg] + rng.uniform(0, 1.5, n_field), rng.uniform(-4, 0.5, n_key)],
        rows=np.arange(1, m + 1),
    )
    c_reg = rng.integers(0, 9, n)
    # most customers with a rep of their region today
    by_region = [np.flatnonzero(r_reg == g) for g in range(9)]
    current = np.array([by_region[g][rng.integers(0, len(by_region[g]))] for g in range(9)])
    rep = np.where(rng.random(n) < 0.8, team.ids[current[c_reg]], None)
    nan = np.full(n, np.nan)
    cust = CustomerFrame(
        ids=np.array([f"C{i}" for i in range(n)], object),
        value_class=np.full(n, "B", object),
        tier=np.full(n, "silver", object),
        region=regions[c_reg],
        rep=rep,
        lat=lat0[c_reg] + rng.uniform(0, 1.5, n),
        lon=lon0[c_reg] + rng.uniform(0, 1.5, n),
        wallet=nan,
        margin_rate=nan,
        is_prospect=np.zeros(n, bool),
        s0=nan,
        s1=nan,
        c=nan,
        d=nan,
    )
    roles, role_of = np.unique(role.astype(str), return_inverse=True)
    bands = np.array([[True] * len(roles), roles == "field", roles == "key_account"])
    return cust, team, bands[rng.choice(3, n, p=[0.6, 0.3, 0.1])], role_of


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=300_000)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cust, team, role_ok, role_of = synthetic(args.customers)
    s = CoverageSettings()
    visit = np.isin(team.role.astype(str), s.visit_roles)
    print(f"{cust.n:,} customers, {team.n:,} reps")
    c0 = _cpu()
    tree = _candidates(cust, team, visit, role_ok, role_of, s)
    t_tree = _cpu() - c0
    print(f"k-d tree search: {t_tree:.2f} s CPU")
    spare = menu._SPARE
    menu._SPARE = 10**9  # no group is large enough for the tree: the full search
    try:
        c0 = _cpu()
        full = _candidates(cust, team, visit, role_ok, role_of, s)
        t_full = _cpu() - c0
    finally:
        menu._SPARE = spare
    same = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(tree, full, strict=True))
    print(f"full search:     {t_full:.2f} s CPU; the same candidates: {same}")
    if not same:
        raise SystemExit("the two searches found different candidates")
    figure(
        f"coverage candidate reps, {cust.n:,} customers, {team.n:,} reps (CPU)",
        t_tree,
        t_full,
        "the full search of every rep of the region",
    )


if __name__ == "__main__":
    main()
