"""Shared machinery for the maximum-likelihood fits: distinct rows with weights, the optimiser.

Every model here is fitted on the *distinct* rows of its sufficient statistics (for the
transaction models the triples ``(x, t_x, T)``), each with a weight counting the customers
that share it. The likelihood of the data is ``sum_k w_k * log L(row_k)``, so the fit cost
grows with the number of distinct rows, not with the number of customers.

A fit is *degenerate* when the data cannot identify the model: a parameter runs to the
optimiser's bound (``exp(±20)``), or a shape parameter (a Gamma or Beta shape: BG/NBD's r, a,
b; Pareto/NBD's r, s; Gamma-Gamma's p, q) exceeds ``max_shape``. The classic case is every
customer buying at one steady rate: the Gamma mixing distribution of the rates collapses to
a point, ``r`` and ``alpha`` run off together along a flat ridge of the likelihood, and where
the optimiser stops on that ridge (short of the bound or at it) is an accident of its
tolerances. Both ends are the same finding, reported the same way
(:class:`DegenerateFitError`), so a caller can leave the model out with the reason.

A transaction model's fit is also degenerate when its *dropout process vanishes*: fewer than
:data:`MIN_DROPOUT_SHARE` of the customers would leave over the longest history in the data
(Pareto/NBD with ``s -> 0`` or ``s / beta -> 0``; BG/NBD with the mean dropout probability
``a / (a + b) -> 0``). Such a fit says nobody ever leaves, so every customer, even a one-off
buyer silent for years, keeps P(alive) = 1; it is what the likelihood does when the data
cannot tell leaving from buying rarely (many one-off buyers beside steady repeat buyers),
not a finding about the customers. Each model computes the share
(:meth:`LikelihoodModel.dropout_share`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, ParamSpec, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from ..errors import InputError, ModelError, NotFittedError

__all__ = [
    "LOG_BOUND",
    "MIN_DROPOUT_SHARE",
    "MODEL_LABELS",
    "DegenerateFitError",
    "LikelihoodModel",
    "as_float",
    "check_fitted",
    "columns_of",
    "distinct_rows",
    "maximise",
    "one_blas_thread",
    "shared_distinct_rows",
    "shared_figure",
]

FloatArray = NDArray[np.float64]

#: How each model is named for people.
MODEL_LABELS = {
    "bgnbd": "BG/NBD",
    "mbgnbd": "MBG/NBD",
    "pareto_nbd": "Pareto/NBD",
    "gamma_gamma": "Gamma-Gamma",
}

#: Bound of the optimiser on each log-parameter: parameters live in [exp(-20), exp(20)].
LOG_BOUND = 20.0

#: A transaction model under which fewer than this share of the customers would drop out
#: over the longest history in the data has a vanishing dropout process: degenerate.
MIN_DROPOUT_SHARE = 0.01


def params_text(params: Mapping[str, float]) -> str:
    """A fit's parameters for a message a user reads: ``name = value``, each value in plain
    digits (:func:`plain_number`).

    Examples
    --------
    >>> params_text({"r": 0.2431, "alpha": 4.414, "a": 1.2e-07, "b": 3.5e8})
    'r = 0.243, alpha = 4.41, a = 0.00000012, b = 350,000,000'
    """
    return ", ".join(f"{name} = {plain_number(v)}" for name, v in params.items())


def plain_number(v: float) -> str:
    """``v`` to three significant digits without an exponent: thousands grouped from 1,000,
    below 0.001 as many decimals as its third digit needs, and a size below 10^-9 as "under
    0.000000001" (a model's parameter run towards zero); a value that is not finite as
    Python writes it.

    Examples
    --------
    >>> [plain_number(x) for x in (0.0, 4.4139, 999.6, 12345.6, -3.2e-5, 2.5e-11, float("inf"))]
    ['0', '4.41', '1,000', '12,346', '-0.000032', 'under 0.000000001', 'inf']
    """
    if not np.isfinite(v) or v == 0:
        return f"{v:g}"
    size = abs(v)
    if size >= 999.5:  # from here three digits round to 1,000
        return f"{v:,.0f}"
    if size >= 1e-3:
        return f"{v:.3g}"
    if size < 1e-9:
        return "under 0.000000001"
    decimals = int(-np.floor(np.log10(size))) + 2
    return f"{v:.{decimals}f}".rstrip("0")


class DegenerateFitError(ModelError):
    """The data cannot identify the model: a parameter ran off (see the module docstring).

    ``params`` holds the parameters where the optimiser stopped.
    """

    def __init__(self, message: str, params: dict[str, float]):
        super().__init__(message)
        self.params = params


def columns_of(X: Any, names: tuple[str, ...]) -> list[FloatArray]:
    """The columns ``names`` of ``X`` as float arrays.

    ``X`` is a 2-d array-like with ``len(names)`` columns in that order, or a table with
    columns of those names: a pyarrow Table, a pandas or Polars DataFrame, a mapping of
    name to array (extra columns are ignored).

    Examples
    --------
    >>> [c.tolist() for c in columns_of([[1, 2.0, 5], [0, 0, 5]], ("x", "t_x", "T"))]
    [[1.0, 0.0], [2.0, 0.0], [5.0, 5.0]]
    >>> columns_of({"x": [3], "m": [9.5], "other": ["a"]}, ("x", "m"))[1].tolist()
    [9.5]
    """
    cols = getattr(X, "column_names", None)  # pyarrow
    if cols is None and hasattr(X, "columns") and not isinstance(X, np.ndarray):
        cols = [str(c) for c in X.columns]  # pandas, Polars
    if cols is None and isinstance(X, Mapping):
        cols = list(X)
    if cols is not None:
        missing = [n for n in names if n not in cols]
        if missing:
            raise InputError(
                f"the table has no column {missing[0]!r} (it needs {', '.join(names)})",
                column=missing[0],
            )
        get = X.column if hasattr(X, "column_names") else X.__getitem__
        return [as_float(n, get(n)) for n in names]
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise InputError(
            f"X must have {len(names)} columns ({', '.join(names)}), not shape {arr.shape}"
        )
    return [as_float(n, arr[:, j]) for j, n in enumerate(names)]


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
    ``distinct_columns[j][inverse] == columns[j]``. Within :func:`shared_distinct_rows`
    a call on columns (and weights) of the same bits as an earlier one returns that call's
    arrays, read-only.
    """
    shared = _SHARED.get()
    if shared is None or not _cacheable(columns, weights):
        return _distinct_rows(*columns, weights=weights)
    return shared.get(columns, weights)


def _distinct_rows(
    *columns: FloatArray, weights: FloatArray | None = None
) -> tuple[list[FloatArray], FloatArray, NDArray[np.intp]]:
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


def _cacheable(columns: tuple[FloatArray, ...], weights: FloatArray | None) -> bool:
    arrays = [*columns, *([] if weights is None else [weights])]
    return all(isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype == np.float64 for a in arrays)


def _digest(a: FloatArray) -> bytes:
    """A 256-bit digest of a float64 vector's bits (so -0.0 differs from 0.0)."""
    return hashlib.blake2b(np.ascontiguousarray(a).data, digest_size=32).digest()


class _SharedRows:
    """The distinct rows computed within one :func:`shared_distinct_rows` scope.

    Each result is found by a digest of its input columns' bits (and weights'); the scope
    holds at most :data:`_SHARED_ENTRIES` of them (the oldest goes first).
    """

    def __init__(self) -> None:
        self.entries: dict[tuple[Any, ...], Any] = {}
        self.figures: dict[tuple[Any, ...], tuple[tuple[FloatArray, ...], FloatArray]] = {}
        self.lock = threading.Lock()

    def get(
        self, columns: tuple[FloatArray, ...], weights: FloatArray | None
    ) -> tuple[list[FloatArray], FloatArray, NDArray[np.intp]]:
        key = (
            len(columns[0]),
            tuple(_digest(c) for c in columns),
            None if weights is None else _digest(weights),
        )
        with self.lock:
            found = self.entries.get(key)
        if found is None:
            found = _distinct_rows(*columns, weights=weights)
            for a in (*found[0], found[1], found[2]):
                a.setflags(write=False)
            with self.lock:
                self.entries[key] = found
                while len(self.entries) > _SHARED_ENTRIES:
                    del self.entries[next(iter(self.entries))]
        distinct, wsum, inverse = found
        return list(distinct), wsum, inverse


#: Most distinct-row results, and most figures, one :func:`shared_distinct_rows` scope keeps.
_SHARED_ENTRIES = 6


def shared_figure(
    name: str, params: FloatArray, rows: tuple[FloatArray, ...], compute: Callable[[], FloatArray]
) -> FloatArray:
    """``compute()``, a figure of the parameters ``params`` on the distinct rows ``rows``,
    computed once within a :func:`shared_distinct_rows` scope.

    Only rows that scope handed out (read-only, so their bits cannot change) are looked
    up; the figure found is the array the first call computed, read-only. Outside a scope,
    or on other rows, ``compute()`` runs every time.
    """
    shared = _SHARED.get()
    if shared is None or any(r.flags.writeable for r in rows):
        return compute()
    key = (name, np.asarray(params, dtype=np.float64).tobytes(), *map(id, rows))
    with shared.lock:
        found = shared.figures.get(key)
    if found is not None:
        return found[1]
    value = compute()
    value.setflags(write=False)
    with shared.lock:
        # the entry keeps its rows alive, so that their ids stay theirs
        shared.figures[key] = (rows, value)
        while len(shared.figures) > _SHARED_ENTRIES:
            del shared.figures[next(iter(shared.figures))]
    return value


#: The scope's results, in the context (so the thread) that opened it.
_SHARED: contextvars.ContextVar[_SharedRows | None] = contextvars.ContextVar(
    "tierwise_shared_rows", default=None
)


@contextlib.contextmanager
def shared_distinct_rows() -> Iterator[None]:
    """Within the block, :func:`distinct_rows` computes the distinct rows of given columns
    once and hands later calls on the same bits the same (read-only) arrays.

    The lifetime stage fits and predicts several models on the same customer summaries;
    each model, and each prediction, asks for their distinct rows again. The result
    depends on the bits of the columns only, so it is the same whoever asks. The scope
    holds in the thread that opened it (threads started inside see none), and the kept
    results are freed when the block ends.
    """
    token = _SHARED.set(_SHARED.get() or _SharedRows())
    try:
        yield
    finally:
        _SHARED.reset(token)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def one_blas_thread(fit: Callable[_P, _R]) -> Callable[_P, _R]:
    """``fit`` run with BLAS on one thread: its sums (the start values, the likelihood) then
    have the same bits whatever the machine's core count, and so do the fitted parameters,
    the log-likelihood and the AIC."""

    @functools.wraps(fit)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with threadpool_limits(limits=1, user_api="blas"):
            return fit(*args, **kwargs)

    return run


def maximise(
    loglik_and_grad: Callable[[FloatArray], tuple[float, FloatArray]],
    starts: list[FloatArray],
    *,
    total_weight: float,
    model: str,
    max_iter: int,
    tol: float,
    names: tuple[str, ...],
    shape_names: tuple[str, ...] = (),
    max_shape: float = float("inf"),
    log_bound: float = LOG_BOUND,
) -> tuple[FloatArray, float, Any]:
    """Maximise a weighted log-likelihood over positive parameters.

    The optimiser (L-BFGS-B) works on ``theta = log(params)`` and on the mean log-likelihood
    per customer (so tolerances do not depend on the data size); ``loglik_and_grad`` takes
    the positive parameters and returns the total log-likelihood and its gradient with
    respect to them. Several starts may be given; the best optimum wins.

    Returns ``(params, log_likelihood, scipy_result)``.

    Raises
    ------
    DegenerateFitError
        When a parameter ends at the bound or a shape parameter above ``max_shape``.
    """

    # the log-likelihood at each point tried, by the bits of the point: the optimum is one
    # of them, and its log-likelihood is then not computed again
    tried: dict[bytes, float] = {}

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(theta)
        ll, grad = loglik_and_grad(params)
        tried[params.tobytes()] = ll
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
    params = np.exp(best.x)
    found = dict(zip(names, map(float, params), strict=True))
    at_bound = np.abs(best.x) >= log_bound - 1e-6
    too_big = np.array([n in shape_names and v > max_shape for n, v in found.items()])
    if np.any(at_bound) or np.any(too_big):
        k = int(np.flatnonzero(at_bound | too_big)[0])
        where = "infinity" if best.x[k] > 0 else "zero"
        shown = params_text(found)
        raise DegenerateFitError(
            f"{model}: degenerate fit ({shown}): {names[k]} ran towards {where}, so the data "
            "cannot identify the model (the customers differ too little, for example all "
            "buying at one steady rate); more customers or a longer history are needed",
            found,
        )
    # under the same one-thread BLAS as the fit: the log-likelihood (and the AIC made from
    # it) has the same bits whatever the machine's core count
    ll = tried.get(params.tobytes())
    if ll is None:
        with threadpool_limits(limits=1, user_api="blas"):
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


class LikelihoodModel(BaseEstimator):  # type: ignore[misc]
    """What every lifetime model shares: scikit-learn's estimator contract, the manifest entry.

    ``__init__`` only stores hyper-parameters (so ``get_params``, ``set_params`` and
    ``sklearn.base.clone`` work); ``fit(X, y=None, *, sample_weight=None)`` returns the
    estimator; what it learns ends in ``_``: ``params_``, ``log_likelihood_``,
    ``n_customers_``, ``n_distinct_``, ``optimizer_result_``.
    """

    name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    #: shape parameters checked against ``max_shape``
    shape_names: ClassVar[tuple[str, ...]] = ()
    #: the columns of ``X``
    columns: ClassVar[tuple[str, ...]]
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

    @classmethod
    def dropout_share(cls, params: Mapping[str, float], span: float) -> float | None:
        """Share of the customers who would drop out within ``span`` time units.

        ``None`` for a model without a dropout process (the spend model). A transaction
        model's fit is degenerate when this is below :data:`MIN_DROPOUT_SHARE` over the
        longest history in the data (see the module docstring).
        """
        return None

    def _p(self) -> FloatArray:
        fitted: Any = self
        return np.array([fitted.params_[k] for k in self.param_names])

    def _maximise(
        self,
        loglik: Callable[[FloatArray], tuple[float, FloatArray]],
        starts: list[FloatArray],
        total: float,
        *,
        span: float | None = None,
    ) -> None:
        """Run the optimiser and store the learned attributes.

        ``span`` is the longest history in the data (time units): with it, a fit under which
        fewer than :data:`MIN_DROPOUT_SHARE` of the customers would drop out within it is
        degenerate.
        """
        fitted: Any = self
        params, ll, res = maximise(
            loglik,
            starts,
            total_weight=total,
            model=self.name,
            max_iter=fitted.max_iter,
            tol=fitted.tol,
            names=self.param_names,
            shape_names=self.shape_names,
            max_shape=fitted.max_shape,
        )
        found = dict(zip(self.param_names, map(float, params), strict=True))
        share = self.dropout_share(found, span) if span is not None and span > 0 else None
        if share is not None and share < MIN_DROPOUT_SHARE:
            shown = params_text(found)
            raise DegenerateFitError(
                f"{self.name}: degenerate fit ({shown}): the dropout process vanished "
                f"(at most {plain_number(share)} of the customers would leave over the "
                f"{span:,.0f} {self.time_unit} of the data, under the "
                f"{MIN_DROPOUT_SHARE:.0%} a model of leaving needs), so every customer would "
                "stay alive for ever, even a one-off buyer silent for years; the data cannot "
                "tell leaving from buying rarely (for example many one-off buyers beside "
                "steady repeat buyers)",
                found,
            )
        self.params_ = dict(zip(self.param_names, map(float, params), strict=True))
        self.log_likelihood_ = ll
        self.n_customers_ = round(total)
        self.optimizer_result_ = res
