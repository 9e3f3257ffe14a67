"""Benchmark: fitting Pareto/NBD, and what its likelihood's quadrature costs.

Customers are drawn from the BG/NBD model with tenures spread over three years (weeks),
each a distinct (x, t_x, T) triple as in a large customer base. The fit is timed in CPU
seconds (the quadrature's row blocks run on one thread per core, so wall time depends on
the machine's load), with the likelihood evaluations it took, the CPU of one evaluation,
and the mean number of Gauss-Legendre nodes the rows get (each row the fewest its error
bound allows, of 8 to 48).

The baseline, in the same run, is the same fit with every row at the most nodes.

Usage::

    .venv/bin/python benchmarks/bench_pareto_nbd.py --customers 100000
    .venv/bin/python benchmarks/bench_pareto_nbd.py --customers 1000000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _figures import figure

from tierwise.lifetime import ParetoNBDModel
from tierwise.lifetime import paretonbd as pnbd
from tierwise.lifetime.bgnbd import simulate_bgnbd


def _nodes(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> float:
    """Mean node count of the rows at ``params`` (as :func:`pnbd._log_integral` picks it)."""
    r, alpha, s, beta = params
    m = r + x
    k = m + s
    a_first = m >= s + 1.0
    A = np.where(a_first, alpha, beta)
    B = np.where(a_first, beta, alpha)
    first = A + t_x
    span = np.clip(np.minimum(np.log(A + T) - np.log(first), pnbd._CUT / k), 0.0, None)
    cls = pnbd._node_counts(k, span, first, B - A)
    return float(np.asarray(pnbd._COUNTS)[cls].mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    tenure = rng.uniform(4.0, 156.0, args.customers)
    X = simulate_bgnbd(args.customers, tenure, r=0.8, alpha=3.5, a=1.2, b=16.0, seed=args.seed)
    start = time.process_time()
    m = ParetoNBDModel(time_unit="weeks").fit(X)
    cpu = time.process_time() - start
    res = m.optimizer_result_
    params = m._p()
    x, t_x, T = X[:, 0], X[:, 1], X[:, 2]
    start = time.process_time()
    m.loglik_terms(params, x, t_x, T, grad=True)
    one = time.process_time() - start
    print(
        f"customers {args.customers:,} distinct {m.n_distinct_:,}: fit {cpu:.2f} s CPU, "
        f"{res.nfev} likelihood evaluations, one evaluation {one:.3f} s CPU, "
        f"mean nodes {_nodes(params, x, t_x, T):.1f} of {pnbd._COUNTS[-1]}"
    )
    print("params", {k: round(v, 6) for k, v in m.params_.items()})

    # the baseline in the same run: every row integrated with the most nodes
    chosen = pnbd._node_counts
    pnbd._node_counts = lambda k, *rest: np.full(len(k), len(pnbd._COUNTS) - 1, np.intp)
    try:
        start = time.process_time()
        full = ParetoNBDModel(time_unit="weeks").fit(X)
        cpu_full = time.process_time() - start
    finally:
        pnbd._node_counts = chosen
    worst = max(abs(m.params_[k] / full.params_[k] - 1.0) for k in m.params_)
    print(
        f"every row at {pnbd._COUNTS[-1]} nodes: fit {cpu_full:.2f} s CPU, "
        f"{full.optimizer_result_.nfev} likelihood evaluations; "
        f"parameters differ by at most {worst:.1e} relative"
    )
    figure(
        f"Pareto/NBD fit, {args.customers:,} customers (CPU)",
        cpu,
        cpu_full,
        f"the same fit with every row at {pnbd._COUNTS[-1]} nodes",
        note=f"parameters within {worst:.0e} relative",
    )


if __name__ == "__main__":
    main()
