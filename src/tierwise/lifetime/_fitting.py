"""Shared machinery for the maximum-likelihood fits: distinct rows with weights, the optimiser.

Every model here is fitted on the *distinct* rows of its sufficient statistics (for the
transaction models the triples ``(x, t_x, T)``), each with a weight counting the customers
that share it. The likelihood of the data is ``sum_k w_k * log L(row_k)``, so the fit cost
grows with the number of distinct rows, not with the number of customers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from ..errors import InputError, ModelError, NotFittedError

__all__ = ["as_float", "check_fitted", "distinct_rows", "maximise"]

FloatArray = NDArray[np.float64]


def as_float(name: str, values: ArrayLike) -> FloatArray:
    """A 1-d float64 array from any array-like (NumPy, Arrow, pandas, list); finite."""
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        try:
            values = values.to_numpy(zero_copy_only=False)  # type: ignore[union-attr]
        except TypeError:
            values = values.to_numpy()  # type: ignore[union-attr]
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} has missing or infinite values", column=name)
    return arr


def distinct_rows(
    *columns: FloatArray, weights: FloatArray | None = None
) -> tuple[list[FloatArray], FloatArray, NDArray[np.intp]]:
    """Distinct rows of the given columns, with summed weights and the inverse index.

    Returns ``(distinct_columns, weights, inverse)`` with
    ``distinct_columns[j][inverse] == columns[j]``.
    """
    n = len(columns[0])
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if n == 0:
        return [c.copy() for c in columns], w, np.zeros(0, dtype=np.intp)
    # rank codes per column combined into one mixed-radix integer key: a few quicksorts,
    # faster than a lexicographic (merge) sort of the float columns; same row order
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for c in columns:
        levels, code = np.unique(c, return_inverse=True)
        if size * len(levels) >= 2**62:  # re-rank the key so far to keep it small
            uniq, key = np.unique(key, return_inverse=True)
            size = len(uniq)
        key = key * len(levels) + code
        size *= len(levels)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    distinct = [c[first] for c in columns]
    wsum = np.bincount(inverse, weights=w, minlength=len(first)).astype(np.float64)
    return distinct, wsum, inverse.astype(np.intp)


def maximise(
    loglik_and_grad: Callable[[FloatArray], tuple[float, FloatArray]],
    starts: list[FloatArray],
    *,
    total_weight: float,
    model: str,
    max_iter: int,
    tol: float,
    log_bound: float = 20.0,
) -> tuple[FloatArray, float, Any]:
    """Maximise a weighted log-likelihood over positive parameters.

    The optimiser (L-BFGS-B) works on ``theta = log(params)`` and on the mean log-likelihood
    per customer (so tolerances do not depend on the data size); ``loglik_and_grad`` takes
    the positive parameters and returns the total log-likelihood and its gradient with
    respect to them. Several starts may be given; the best optimum wins.

    Returns ``(params, log_likelihood, scipy_result)``.
    """

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(theta)
        ll, grad = loglik_and_grad(params)
        if not np.isfinite(ll):
            return 1e300, np.zeros_like(theta)
        # chain rule for the log-parameters
        return -ll / total_weight, -(grad * params) / total_weight

    # The problem is tiny (a few parameters, vectors of distinct rows): multi-threaded BLAS
    # only adds hand-over costs, which on a busy machine make each step 100x slower.
    with threadpool_limits(limits=1, user_api="blas"):
        best: Any = _run_starts(objective, starts, max_iter=max_iter, tol=tol, log_bound=log_bound)
    if best is None or best.fun >= 1e299:
        raise ModelError(f"{model}: the likelihood could not be evaluated at any start value")
    at_bound = np.abs(best.x) >= log_bound - 1e-6
    if np.any(at_bound):
        raise ModelError(
            f"{model}: the data cannot identify the model (a parameter ran to "
            f"{'infinity' if np.any(best.x[at_bound] > 0) else 'zero'}); "
            "more customers or a longer history are needed"
        )
    params = np.exp(best.x)
    ll, _ = loglik_and_grad(params)
    return params, float(ll), best


def _run_starts(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    starts: list[FloatArray],
    *,
    max_iter: int,
    tol: float,
    log_bound: float,
) -> Any:
    best: Any = None
    for start in starts:
        theta0 = np.log(np.clip(np.asarray(start, dtype=np.float64), 1e-6, 1e6))
        res = minimize(
            objective,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-log_bound, log_bound)] * len(theta0),
            options={"maxiter": max_iter, "ftol": tol * 1e-3, "gtol": tol, "maxcor": 20},
        )
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
        # later starts are fall-backs: stop at the first interior optimum
        if best is not None and best.success and np.all(np.abs(best.x) < log_bound - 1e-6):
            break
    return best


def check_fitted(estimator: Any, attribute: str = "params_") -> None:
    """Raise NotFittedError when ``fit`` has not been called yet."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"this {type(estimator).__name__} is not fitted yet: call fit(...) first"
        )


class LikelihoodModel:
    """What every fitted lifetime model shares: its manifest entry and its repr.

    Subclasses set ``params_``, ``log_likelihood_``, ``n_customers_`` when fitted and carry a
    ``time_unit``.
    """

    time_unit: str

    def to_manifest(self) -> dict[str, Any]:
        """The fitted model as the manifest records it."""
        check_fitted(self)
        fitted: Any = self
        return {
            "params": dict(fitted.params_),
            "log_likelihood": fitted.log_likelihood_,
            "n_customers": fitted.n_customers_,
            "time_unit": self.time_unit,
        }

    def __repr__(self) -> str:
        name = type(self).__name__
        params = getattr(self, "params_", None)
        if params is None:
            return f"{name}()"
        inner = ", ".join(f"{k}={v:.4g}" for k, v in params.items())
        return f"{name}({inner})"
