"""Benchmark: fitting Pareto/NBD, and what its likelihood's quadrature costs.

Customers are drawn from the BG/NBD model with tenures spread over three years (weeks),
each a distinct (x, t_x, T) triple as in a large customer base. The fit is timed in CPU
seconds (the quadrature's row blocks run on one thread per core, so wall time depends on
the machine's load), with the likelihood evaluations it took, the CPU of one evaluation,
and the mean number of Gauss-Legendre nodes the rows get (each row the fewest its error
bound allows, of 8 to 48).

Usage::

    .venv/bin/python benchmarks/bench_pareto_nbd.py --customers 100000
    .venv/bin/python benchmarks/bench_pareto_nbd.py --customers 1000000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

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


if __name__ == "__main__":
    main()
