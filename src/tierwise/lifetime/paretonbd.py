"""Pareto/NBD: Poisson purchasing with exponential lifetimes (Schmittlein, Morrison, Colombo).

While alive, a customer buys at rate ``lambda ~ Gamma(r, alpha)``; their lifetime is
exponential with rate ``mu ~ Gamma(s, beta)``. The likelihood of ``(x, t_x, T)``
(Fader and Hardie 2005, "A note on deriving the Pareto/NBD model and related expressions",
eq. 11 before the hypergeometric closed form) is

.. math::

    L = \\frac{\\Gamma(r + x)\\,\\alpha^r \\beta^s}{\\Gamma(r)}
        \\left[\\frac{1}{(\\alpha + T)^{r + x} (\\beta + T)^s}
        + s \\int_{t_x}^{T} (\\alpha + \\tau)^{-(r + x)}
        (\\beta + \\tau)^{-(s + 1)}\\, d\\tau\\right]

The note writes the integral as a difference of two Gauss hypergeometric functions, which
cancel badly when ``t_x`` is close to ``T`` and have no cheap derivatives in their
parameters. Here the integral is evaluated directly, in log space, by Gauss-Legendre
quadrature in the variable ``rho = log((A + tau) / (A + t_x))`` (``A`` the base with the
larger exponent), where the integrand is ``exp(-k rho)`` times a smooth bounded factor;
``rho`` is cut where ``exp(-k rho)`` falls below ``exp(-45)``. The same nodes give the
analytic gradient (derivatives under the integral sign). A test checks the values against
the hypergeometric closed form.

References: D. C. Schmittlein, D. G. Morrison and R. Colombo (1987), "Counting your
customers: who are they and what will they do next?", Management Science 33(1), 1-24;
P. S. Fader and B. G. S. Hardie (2005), "A note on deriving the Pareto/NBD model and related
expressions", http://brucehardie.com/notes/009/.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import digamma, gammaln

from .._threads import cores
from ..errors import ModelError
from ._fitting import (
    FloatArray,
    LikelihoodModel,
    as_float,
    check_fitted,
    distinct_rows,
    one_blas_thread,
    shared_figure,
)
from .bgnbd import RFT, rft

__all__ = ["ParetoNBDModel"]

#: distinct values and row indices of x and T
Levels = tuple[tuple[FloatArray, NDArray[np.intp]], tuple[FloatArray, NDArray[np.intp]]]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(48)
_LOG_WEIGHTS = np.log(_WEIGHTS)
_CUT = 45.0  # integrate exp(-k rho) until it has fallen by exp(-45)


#: Rows per block of the quadrature: the (rows, nodes) work arrays of a block stay in the
#: processor's cache, and memory does not grow with the number of customers.
_BLOCK = 2048


def _blocks(n: int) -> Iterator[slice]:
    """Consecutive slices of at most :data:`_BLOCK` rows covering ``range(n)``."""
    for lo in range(0, n, _BLOCK):
        yield slice(lo, min(lo + _BLOCK, n))


def _log_integral(
    params: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    *,
    grad: bool,
    workers: int | None = None,
) -> tuple[FloatArray, FloatArray | None]:
    """log of the integral in the likelihood and, optionally, its gradient (4, n).

    Each row's quadrature is independent of the others: the rows are taken in blocks
    (:data:`_BLOCK`), the node arrays of a block reused in place, and runs of blocks go to
    ``workers`` threads (by default one per core, at most :data:`_MAX_WORKERS`; NumPy lets
    go of the interpreter lock inside each array operation). Every row's figures are the
    same bits whichever thread computes them.
    """
    r, alpha, s, beta = params
    m = r + x
    n = s + 1.0
    k = m + n - 1.0
    a_first = m >= n  # factor out the base with the larger exponent
    A = np.where(a_first, alpha, beta)
    B = np.where(a_first, beta, alpha)
    e_other = np.where(a_first, n, m)
    u0 = A + t_x
    log_u0 = np.log(u0)
    span = np.log(A + T) - log_u0
    span = np.minimum(span, _CUT / k)
    empty = span <= 0
    half = np.where(empty, 1.0, span) / 2.0
    rows = _Rows(
        k=k,
        m=m,
        n=n,
        a_first=a_first,
        e_other=e_other,
        empty=empty,
        log_u0=log_u0,
        log_half=np.log(half),
        half=half,
        b_minus_a=B - A,
        log_i=np.empty(len(x)),
        g=np.empty((4, len(x))) if grad else None,
    )
    blocks = list(_blocks(len(x)))
    runs = _runs(len(blocks), workers)
    if len(runs) == 1:
        _integrate(rows, blocks)
    else:
        with ThreadPoolExecutor(max_workers=len(runs), thread_name_prefix="tierwise-pnbd") as pool:
            for done in [pool.submit(_integrate, rows, blocks[lo:hi]) for lo, hi in runs]:
                done.result()
    return rows.log_i, rows.g


#: Most threads one quadrature uses.
_MAX_WORKERS = 4

#: Fewest blocks a thread of the quadrature takes: smaller runs cost more in hand-over than
#: they save.
_MIN_RUN = 8


def _runs(n_blocks: int, workers: int | None) -> list[tuple[int, int]]:
    """The blocks ``[lo, hi)`` each thread takes: ``workers`` (by default one per core the
    run may use, :func:`~tierwise._threads.cores`, at most :data:`_MAX_WORKERS`) nearly
    equal runs of at least :data:`_MIN_RUN` blocks.

    Examples
    --------
    >>> _runs(20, 2)
    [(0, 10), (10, 20)]
    >>> _runs(5, 4)
    [(0, 5)]
    """
    if workers is None:
        workers = min(_MAX_WORKERS, cores())
    count = max(1, min(workers, n_blocks // _MIN_RUN))
    edges = [n_blocks * i // count for i in range(count + 1)]
    return list(itertools.pairwise(edges))


@dataclass(frozen=True)
class _Rows:
    """The per-row inputs of the quadrature and the arrays its blocks fill in."""

    k: FloatArray
    m: FloatArray
    n: float
    a_first: NDArray[np.bool_]
    e_other: FloatArray
    empty: NDArray[np.bool_]
    log_u0: FloatArray
    log_half: FloatArray
    half: FloatArray
    b_minus_a: FloatArray
    log_i: FloatArray
    g: FloatArray | None


def _integrate(rows: _Rows, blocks: list[slice]) -> None:
    """Fill ``rows.log_i`` (and ``rows.g``) for the rows of ``blocks``."""
    nodes = _NODES + 1.0
    k, m, n, g = rows.k, rows.m, rows.n, rows.g
    for b in blocks:
        log_u = rows.half[b, None] * nodes[None, :]  # rho, then log(A + tau) = log(u0) + rho
        log_u += rows.log_u0[b, None]
        u = np.exp(log_u)
        v = u + rows.b_minus_a[b, None]  # B + tau
        log_v = np.log(v)
        # f(tau) d tau = U^-(k+1) (U / V)^e * U d rho, with U = A + tau, V = B + tau
        log_g = _LOG_WEIGHTS[None, :] + rows.log_half[b, None]
        work = k[b, None] * log_u
        log_g -= work
        np.subtract(log_u, log_v, out=work)
        work *= rows.e_other[b, None]
        log_g += work
        # log-sum-exp over the nodes, keeping the scaled terms for the gradient
        top = log_g.max(axis=1)
        log_g -= top[:, None]
        scaled = np.exp(log_g, out=log_g)
        total = scaled.sum(axis=1)
        rows.log_i[b] = np.where(rows.empty[b], -np.inf, top + np.log(total))
        if g is None:
            continue
        q = scaled  # each node's share of the integral
        q /= total[:, None]
        q[rows.empty[b]] = 0.0
        # sums against log(A + tau), log(B + tau), 1/(A + tau), 1/(B + tau), where U is
        # A + tau for the rows that factor out A and B + tau for the others
        sums = []
        for factor, op in (
            (log_u, np.multiply),
            (log_v, np.multiply),
            (u, np.divide),
            (v, np.divide),
        ):
            op(q, factor, out=work)
            sums.append(work.sum(axis=1))
        s_lu, s_lv, s_iu, s_iv = sums
        af = rows.a_first[b]
        g[0, b] = -np.where(af, s_lu, s_lv)
        g[1, b] = -m[b] * np.where(af, s_iu, s_iv)
        g[2, b] = -np.where(af, s_lv, s_lu)
        g[3, b] = -n * np.where(af, s_iv, s_iu)


class ParetoNBDModel(LikelihoodModel):
    """Pareto/NBD model fitted by maximum likelihood on the distinct (x, t_x, T) triples.

    A scikit-learn estimator with the same ``X`` (columns ``x``, ``t_x``, ``T``) and the same
    prediction methods as :class:`~tierwise.lifetime.BetaGeoModel`.

    Parameters
    ----------
    max_iter, tol
        Optimiser iterations per start and gradient tolerance (mean log-likelihood).
    max_shape
        A fit whose shape parameter (r or s) exceeds this is degenerate.
    time_unit
        Label of the time unit of ``t_x`` and ``T``, written into the manifest.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "s", "beta"}``.
    log_likelihood_ : float
    n_customers_, n_distinct_ : int
    optimizer_result_ : scipy.optimize.OptimizeResult

    Examples
    --------
    >>> from tierwise.lifetime.bgnbd import simulate_bgnbd
    >>> m = ParetoNBDModel().fit(simulate_bgnbd(2000, 39.0, seed=3))
    >>> sorted(m.params_)
    ['alpha', 'beta', 'r', 's']
    """

    name = "pareto_nbd"
    param_names = ("r", "alpha", "s", "beta")
    shape_names = ("r", "s")
    columns = RFT

    def __init__(
        self,
        *,
        max_iter: int = 2000,
        tol: float = 1e-9,
        max_shape: float = 1e4,
        time_unit: str = "weeks",
    ):
        self.max_iter = max_iter
        self.tol = tol
        self.max_shape = max_shape
        self.time_unit = time_unit

    @classmethod
    def dropout_share(cls, params: Mapping[str, float], span: float) -> float:
        """Share of the customers whose lifetime ends within ``span``: with
        ``mu ~ Gamma(s, beta)``, ``1 - E[exp(-mu span)] = 1 - (beta / (beta + span))^s``.

        Examples
        --------
        >>> round(ParetoNBDModel.dropout_share({"s": 0.606, "beta": 11.67}, 78.0), 3)
        0.709
        """
        s, beta = params["s"], params["beta"]
        return float(-np.expm1(-s * np.log1p(span / beta)))

    @staticmethod
    def levels(x: FloatArray, T: FloatArray) -> Levels:
        """Distinct values of x and T with each row's index into them."""
        return (np.unique(x, return_inverse=True), np.unique(T, return_inverse=True))

    @staticmethod
    def loglik_terms(
        params: FloatArray,
        x: FloatArray,
        t_x: FloatArray,
        T: FloatArray,
        *,
        grad: bool = False,
        levels: Levels | None = None,
    ) -> tuple[FloatArray, FloatArray | None]:
        """Per-row log-likelihood and (optionally) its gradient, shape (4, n).

        The special functions of ``r + x`` and the logarithms of ``alpha + T`` and
        ``beta + T`` are evaluated once per distinct ``x`` and ``T`` (``levels``, from
        :meth:`levels`) and gathered per row: the same figures as row by row.
        """
        r, alpha, s, beta = params
        (xu, xi), (Tu, Ti) = levels if levels is not None else ParetoNBDModel.levels(x, T)
        mu = r + xu
        m = mu[xi]
        log_c = (gammaln(mu) - gammaln(r))[xi] + r * np.log(alpha) + s * np.log(beta)
        la_T, lb_T = np.log(alpha + Tu)[Ti], np.log(beta + Tu)[Ti]
        log_t1 = -m * la_T - s * lb_T
        log_i, gi = _log_integral(params, x, t_x, T, grad=grad)
        log_t2 = np.log(s) + log_i
        ll = log_c + np.logaddexp(log_t1, log_t2)
        if not grad:
            return ll, None
        assert gi is not None
        w2 = np.exp(log_t2 - np.logaddexp(log_t1, log_t2))
        w1 = 1.0 - w2
        g = np.empty((4, len(x)))
        g[0] = (digamma(mu) - digamma(r))[xi] + np.log(alpha) - w1 * la_T + w2 * gi[0]
        g[1] = r / alpha - w1 * m / (alpha + T) + w2 * gi[1]
        g[2] = np.log(beta) - w1 * lb_T + w2 * (1.0 / s + gi[2])
        g[3] = s / beta - w1 * s / (beta + T) + w2 * gi[3]
        return ll, g

    def _loglik(self, params: FloatArray) -> tuple[float, FloatArray]:
        ll, g = self.loglik_terms(params, self._x, self._t, self._T, grad=True, levels=self._levels)
        assert g is not None
        return float(self._w @ ll), g @ self._w

    @one_blas_thread
    def fit(self, X: Any, y: None = None, *, sample_weight: ArrayLike | None = None) -> Self:
        """Fit by maximum likelihood (see :meth:`BetaGeoModel.fit` for the arguments)."""
        xa, ta, Ta = rft(X)
        w = None if sample_weight is None else as_float("sample_weight", sample_weight)
        (self._x, self._t, self._T), self._w, _ = distinct_rows(xa, ta, Ta, weights=w)
        self._levels = self.levels(self._x, self._T)
        try:
            total = float(self._w.sum())
            if total <= 0:
                raise ModelError("pareto_nbd: no customers to fit on")
            if not np.any(self._x > 0):
                raise ModelError(
                    "pareto_nbd: no customer has a repeat purchase; the model cannot be fitted"
                )
            rate = float(self._w @ self._x) / max(float(self._w @ self._T), 1e-12)
            scale = 1.0 / max(rate, 1e-12)
            tmean = float(self._w @ self._T) / total
            starts = [
                np.array([1.0, scale, 1.0, tmean]),
                np.array([0.5, 0.5 * scale, 0.5, 0.3 * tmean]),
            ]
            self._maximise(self._loglik, starts, total, span=float(self._T.max()))
            self.n_distinct_ = len(self._x)
        finally:
            del self._x, self._t, self._T, self._w, self._levels
        return self

    def log_likelihood(self, X: Any, *, sample_weight: ArrayLike | None = None) -> float:
        """Total log-likelihood of the fitted parameters on ``X``."""
        check_fitted(self)
        xa, ta, Ta = rft(X)
        ll, _ = self.loglik_terms(self._p(), xa, ta, Ta)
        w = np.ones_like(ll) if sample_weight is None else as_float("sample_weight", sample_weight)
        return float(w @ ll)

    def score(self, X: Any, y: None = None, sample_weight: ArrayLike | None = None) -> float:
        """Mean log-likelihood per customer (higher is better)."""
        n = float(len(rft(X)[0]) if sample_weight is None else np.sum(sample_weight))
        return self.log_likelihood(X, sample_weight=sample_weight) / max(n, 1.0)

    def p_alive(self, X: Any) -> FloatArray:
        """Probability that each customer is alive at T: the first term's share of L."""
        check_fitted(self)
        return self._p_alive(*rft(X))

    def _p_alive(self, xa: FloatArray, ta: FloatArray, Ta: FloatArray) -> FloatArray:
        (xd, td, Td), _, inv = distinct_rows(xa, ta, Ta)
        p = self._p()

        def on_distinct() -> FloatArray:
            r, alpha, s, beta = p
            log_t1 = -(r + xd) * np.log(alpha + Td) - s * np.log(beta + Td)
            log_i, _ = _log_integral(p, xd, td, Td, grad=False)
            return np.asarray(np.exp(log_t1 - np.logaddexp(log_t1, np.log(s) + log_i)))

        # the stage asks for P(alive) of the same rows at the same parameters several times
        # (for each forecast it checks and makes): the quadrature runs once
        return shared_figure("pareto_nbd p_alive", p, (xd, td, Td), on_distinct)[inv]

    def expected_purchases(self, X: Any, t: float) -> FloatArray:
        """Expected purchases in the next ``t`` time units given each customer's history.

        .. math:: E[Y(t)] = \\frac{(r + x)(\\beta + T)}{(\\alpha + T)(s - 1)}
                  \\left[1 - \\left(\\frac{\\beta + T}{\\beta + T + t}\\right)^{s - 1}\\right]
                  P(\\text{alive})
        """
        check_fitted(self)
        xa, ta, Ta = rft(X)
        return self._if_alive(t, xa, Ta) * self._p_alive(xa, ta, Ta)

    def expected_purchases_if_alive(self, X: Any, t: float) -> FloatArray:
        """Expected purchases in the next ``t`` time units of a customer alive at T."""
        check_fitted(self)
        xa, _, Ta = rft(X)
        return self._if_alive(t, xa, Ta)

    def _if_alive(self, t: float, xa: FloatArray, Ta: FloatArray) -> FloatArray:
        """:meth:`expected_purchases_if_alive` on arrays, without checks."""
        r, alpha, s, beta = self._p()
        lr = np.log(beta + Ta + t) - np.log(beta + Ta)  # > 0
        sm1 = s - 1.0
        # (1 - exp(-(s-1) lr)) / (s-1), with its limit lr at s = 1
        frac = lr if abs(sm1) < 1e-10 else -np.expm1(-sm1 * lr) / sm1
        return (r + xa) * (beta + Ta) / (alpha + Ta) * frac

    def p_no_purchase(self, X: Any, t: float) -> FloatArray:
        """Probability of no purchase in the next ``t`` time units (a defection risk).

        A customer alive at T with rates ``lambda`` and ``mu`` makes no purchase in
        ``(T, T + t]`` when they die before their next purchase or neither happens:
        ``int_0^t mu e^{-(lambda + mu) u} du + e^{-(lambda + mu) t}``. Given the history and
        alive, ``lambda ~ Gamma(r + x, alpha + T)`` and ``mu ~ Gamma(s, beta + T)``
        independently, so with ``A = alpha + T``, ``B = beta + T``:

        .. math:: P_0 = \\left(\\frac{A}{A + t}\\right)^{r + x}
            \\left(\\frac{B}{B + t}\\right)^{s} + \\int_0^t \\frac{s}{B}
            \\left(\\frac{B}{B + u}\\right)^{s + 1} \\left(\\frac{A}{A + u}\\right)^{r + x} du

        (Gauss-Legendre quadrature), and the risk is ``1 - P(alive) + P(alive) P_0``.
        """
        check_fitted(self)
        return self._p_no_purchase(t, *rft(X))

    def _p_no_purchase(
        self, t: float, xa: FloatArray, ta: FloatArray, Ta: FloatArray
    ) -> FloatArray:
        r, alpha, s, beta = self._p()
        (xd, Td), _, inv = distinct_rows(xa, Ta)
        A, B, k = alpha + Td, beta + Td, r + xd
        u = (_NODES[None, :] + 1.0) * (t / 2.0)  # (1, q) nodes on (0, t)
        log_a, log_b = np.log(A), np.log(B)
        die_first = np.empty(len(xd))
        for b in _blocks(len(xd)):
            dens = (
                s
                / B[b, None]
                * np.exp(
                    (s + 1.0) * (log_b[b, None] - np.log(B[b, None] + u))
                    + k[b, None] * (log_a[b, None] - np.log(A[b, None] + u))
                )
            )
            die_first[b] = (dens * _WEIGHTS[None, :]).sum(axis=1) * (t / 2.0)
        quiet = np.exp(k * (np.log(A) - np.log(A + t)) + s * (np.log(B) - np.log(B + t)))
        p0 = (die_first + quiet)[inv]
        pa = self._p_alive(xa, ta, Ta)
        return 1.0 - pa + pa * p0
