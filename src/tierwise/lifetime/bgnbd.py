"""BG/NBD: the beta-geometric / negative binomial distribution model of repeat buying.

While alive, a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``;
after each purchase they drop out with probability ``p ~ Beta(a, b)``. For a customer with
``x`` repeat purchases, the last at ``t_x``, observed for ``T`` since their first purchase
(Fader, Hardie and Lee 2005, eq. 6):

.. math::

    L(r, \\alpha, a, b \\mid x, t_x, T) =
        \\frac{B(a, b + x)}{B(a, b)}
        \\frac{\\Gamma(r + x)\\, \\alpha^r}{\\Gamma(r)\\,(\\alpha + T)^{r + x}}
      + \\delta_{x>0} \\frac{B(a + 1, b + x - 1)}{B(a, b)}
        \\frac{\\Gamma(r + x)\\, \\alpha^r}{\\Gamma(r)\\,(\\alpha + t_x)^{r + x}}

computed in log space (log-sum-exp of the two terms), with its analytic gradient.

Reference: P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "Counting your customers the
easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import digamma, expit, gammaln, hyp2f1

from ..errors import InputError, ModelError
from ._fitting import (
    FloatArray,
    LikelihoodModel,
    as_float,
    check_fitted,
    columns_of,
    distinct_rows,
    one_blas_thread,
)

__all__ = ["RFT", "BetaGeoModel", "check_rft", "rft", "simulate_bgnbd"]

#: The columns of ``X`` for the transaction models: repeat purchases, time of the last
#: purchase and age, each customer's time from their first purchase to the analysis date.
RFT = ("x", "t_x", "T")

#: distinct values and row indices of x, t_x and T
Levels = tuple[
    tuple[FloatArray, NDArray[np.intp]],
    tuple[FloatArray, NDArray[np.intp]],
    tuple[FloatArray, NDArray[np.intp]],
]


def check_rft(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[FloatArray, ...]:
    """Frequency, recency and age as float arrays, checked for consistency."""
    xa, ta, Ta = as_float("x", x), as_float("t_x", t_x), as_float("T", T)
    if not (len(xa) == len(ta) == len(Ta)):
        raise InputError("x, t_x and T must have the same length")
    if np.any(xa < 0) or np.any(xa != np.round(xa)):
        raise InputError("x (repeat purchases) must be whole numbers >= 0", column="x")
    if np.any(ta < 0) or np.any(ta > Ta + 1e-9):
        raise InputError("t_x (recency) must lie between 0 and T", column="t_x")
    if np.any((xa == 0) & (ta != 0)):
        raise InputError("t_x must be 0 for customers without repeat purchases", column="t_x")
    return xa, ta, Ta


def rft(X: Any) -> tuple[FloatArray, ...]:
    """``(x, t_x, T)`` from ``X`` (an (n, 3) array-like or a table with those columns),
    checked."""
    return check_rft(*columns_of(X, RFT))


def simulate_bgnbd(
    n: int,
    T: float | ArrayLike,
    *,
    r: float = 0.25,
    alpha: float = 4.0,
    a: float = 0.8,
    b: float = 2.5,
    seed: int = 0,
    modified: bool = False,
) -> FloatArray:
    """Draw ``X = [x, t_x, T]`` (shape (n, 3)) for ``n`` customers from the BG/NBD model.

    For tests and demos. Each customer gets ``lambda ~ Gamma(r, alpha)`` and
    ``p ~ Beta(a, b)``; of the ``K ~ Poisson(lambda T)`` purchase opportunities after the
    first purchase they make the first ``x = min(K, D)``, ``D ~ Geometric(p)`` being the
    purchase after which they drop out; the last one falls at ``t_x = T * Beta(x, K - x + 1)``
    (the x-th of K uniform times). With ``modified`` the coin is also flipped after the first
    purchase (MBG/NBD): ``x = min(K, D - 1)``.

    Examples
    --------
    >>> X = simulate_bgnbd(1000, 39.0, seed=1)
    >>> X.shape
    (1000, 3)
    >>> m = BetaGeoModel().fit(X)
    >>> 0.1 < m.params_["r"] < 0.5
    True
    """
    rng = np.random.default_rng(seed)
    Ta = np.broadcast_to(np.asarray(T, dtype=np.float64), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    k = rng.poisson(lam * Ta)
    d = rng.geometric(p) - (1 if modified else 0)
    x = np.minimum(k, d)
    t_x = np.where(x > 0, Ta * rng.beta(np.maximum(x, 1), k - x + 1), 0.0)
    return np.column_stack([x.astype(np.float64), t_x, Ta])


class BetaGeoModel(LikelihoodModel):
    """BG/NBD model fitted by maximum likelihood on the distinct (x, t_x, T) triples.

    A scikit-learn estimator: ``X`` is an (n, 3) array-like of the columns ``x`` (repeat
    purchases), ``t_x`` (time of the last purchase) and ``T`` (age), each in ``time_unit``,
    or a table with columns of those names (a pyarrow Table such as
    :func:`~tierwise.lifetime.rfm_summary`'s, a pandas or Polars DataFrame).

    Parameters
    ----------
    max_iter
        Most optimiser iterations per start.
    tol
        Gradient tolerance on the mean log-likelihood per customer.
    max_shape
        A fit whose shape parameter (r, a or b) exceeds this is degenerate
        (:class:`~tierwise.lifetime._fitting.DegenerateFitError`): the data cannot identify
        the model.
    time_unit
        Label of the time unit of ``t_x`` and ``T`` (``"days"`` or ``"weeks"``), written
        into the manifest; the maths is unit-free.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "a", "b"}``.
    log_likelihood_ : float
        Total log-likelihood at the optimum.
    n_customers_ : int
        Customers (sum of weights) the model was fitted on.
    n_distinct_ : int
        Distinct triples the likelihood was evaluated on.
    optimizer_result_ : scipy.optimize.OptimizeResult
        The optimiser's result.

    Examples
    --------
    >>> X = simulate_bgnbd(2000, 39.0, r=0.25, alpha=4.0, a=0.8, b=2.5, seed=3)
    >>> m = BetaGeoModel().fit(X)
    >>> sorted(m.params_)
    ['a', 'alpha', 'b', 'r']
    >>> float(m.p_alive([[0, 0, 39]])[0])
    1.0
    """

    name = "bgnbd"
    param_names = ("r", "alpha", "a", "b")
    shape_names = ("r", "a", "b")
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

    # -- likelihood -------------------------------------------------------------------

    @classmethod
    def dropout_share(cls, params: Mapping[str, float], span: float) -> float:
        """At most this share of the customers drop out within ``span``.

        A customer buying at rate ``lambda`` drops out after each purchase with probability
        ``p``, so it is gone by ``span`` with probability ``1 - exp(-lambda p span)``, at most
        ``lambda p span``; over the independent mixtures, at most
        ``E[lambda] E[p] span = (r / alpha) (a / (a + b)) span`` (capped at 1).

        Examples
        --------
        >>> p = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        >>> BetaGeoModel.dropout_share(p, 78.0)
        1.0
        >>> p["a"], p["b"] = 1e-7, 2.6e4
        >>> BetaGeoModel.dropout_share(p, 156.0) < 1e-9
        True
        """
        rate = params["r"] / params["alpha"]
        p_drop = params["a"] / (params["a"] + params["b"])
        return float(min(1.0, rate * p_drop * span))

    @staticmethod
    def levels(x: FloatArray, t_x: FloatArray, T: FloatArray) -> Levels:
        """Distinct values of x, t_x and T with each row's index into them."""
        return tuple(np.unique(v, return_inverse=True) for v in (x, t_x, T))  # type: ignore[return-value]

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

        With ``L = exp(A) (exp(a3) + exp(a4))``, ``ll = A + a3 + log(1 + exp(a4 - a3))``.
        Special functions and logarithms are evaluated once per distinct value of ``x``,
        ``t_x`` and ``T`` (``levels``, from :meth:`levels`) and gathered per row.
        """
        r, alpha, a, b = params
        (xu, xi), (tu, ti), (Tu, Ti) = (
            levels if levels is not None else BetaGeoModel.levels(x, t_x, T)
        )
        hu = xu > 0
        # per distinct x
        g_x = (
            gammaln(r + xu)
            - gammaln(r)
            + gammaln(a + b)
            + gammaln(b + xu)
            - gammaln(b)
            - gammaln(a + b + xu)
            + r * np.log(alpha)
        )
        bx = b + np.where(hu, xu - 1.0, 1.0)
        c_x = np.where(hu, np.log(a) - np.log(bx), -np.inf)
        # per distinct time
        la_T = np.log(alpha + Tu)[Ti]
        la_tx = np.log(alpha + tu)[ti]
        rx = (r + xu)[xi]
        a3 = -rx * la_T
        d = c_x[xi] - rx * (la_tx - la_T)  # a4 - a3; -inf without repeat purchases
        ll = g_x[xi] + a3 + np.logaddexp(0.0, d)
        if not grad:
            return ll, None
        w4 = expit(d)
        psi_ab = digamma(a + b)
        psi_abx = digamma(a + b + xu)
        inv_T = (1.0 / (alpha + Tu))[Ti]
        inv_tx = (1.0 / (alpha + tu))[ti]
        g = np.empty((4, len(x)))
        g[0] = (digamma(r + xu) - digamma(r))[xi] + np.log(alpha) - la_T + w4 * (la_T - la_tx)
        g[1] = r / alpha - rx * (inv_T + w4 * (inv_tx - inv_T))
        g[2] = (psi_ab - psi_abx)[xi] + w4 / a
        g[3] = (psi_ab + digamma(b + xu) - digamma(b) - psi_abx)[xi] - w4 * np.where(
            hu, 1.0 / bx, 0.0
        )[xi]
        return ll, g

    def _loglik(self, params: FloatArray) -> tuple[float, FloatArray]:
        """Total weighted log-likelihood and gradient, summed level by level.

        The terms of ``ll = A(x) + a3(x, T) + log(1 + exp(d))`` that depend on ``x`` or
        ``T`` alone are summed once per distinct value with pre-summed weights; only
        ``log(1 + exp(d))``, zero without repeat purchases, is evaluated per row, and only
        for the repeat buyers.
        """
        r, alpha, a, b = params
        c = self._agg
        xu, Tu, tu = c["xu"], c["Tu"], c["tu"]
        hu = xu > 0
        log_alpha = np.log(alpha)
        gam = gammaln(a + b) - gammaln(b) - gammaln(r)
        g_x = gammaln(r + xu) + gammaln(b + xu) - gammaln(a + b + xu) + gam + r * log_alpha
        la_Tu = np.log(alpha + Tu)
        inv_Tu = 1.0 / (alpha + Tu)
        rw_T = r * c["W_T"] + c["XW_T"]  # sum over rows at each T of w (r + x)
        bx = b + np.where(hu, xu - 1.0, 1.0)
        c_x = np.where(hu, np.log(a) - np.log(bx), 0.0)
        # per repeat-buyer row
        xi, ti, Ti, w = c["xi"], c["ti"], c["Ti"], c["w"]
        la_T = la_Tu[Ti]
        la_tx = np.log(alpha + tu)[ti]
        rx = r + c["x"]
        d = c_x[xi] - rx * (la_tx - la_T)
        ll = c["W_x"] @ g_x - rw_T @ la_Tu + w @ np.logaddexp(0.0, d)
        ww4 = w * expit(d)
        psi_ab = digamma(a + b)
        psi_abx = digamma(a + b + xu)
        W = c["W"]
        grad = np.array(
            [
                c["W_x"] @ (digamma(r + xu) - digamma(r))
                + W * log_alpha
                - c["W_T"] @ la_Tu
                + ww4 @ (la_T - la_tx),
                W * r / alpha
                - rw_T @ inv_Tu
                - (ww4 * rx) @ ((1.0 / (alpha + tu))[ti] - inv_Tu[Ti]),
                c["W_x"] @ (psi_ab - psi_abx) + ww4.sum() / a,
                c["W_x"] @ (psi_ab + digamma(b + xu) - digamma(b) - psi_abx)
                - ww4 @ np.where(hu, 1.0 / bx, 0.0)[xi],
            ]
        )
        return float(ll), grad

    @staticmethod
    def _aggregate(x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray) -> dict[str, Any]:
        """Weights summed per distinct x and T, and the repeat buyers' rows (for _loglik)."""
        (xu, xi), (tu, ti), (Tu, Ti) = BetaGeoModel.levels(x, t_x, T)
        rep = x > 0
        return {
            "xu": xu,
            "tu": tu,
            "Tu": Tu,
            "W": float(w.sum()),
            "W_x": np.bincount(xi, w, len(xu)),
            "W_T": np.bincount(Ti, w, len(Tu)),
            "XW_T": np.bincount(Ti, w * x, len(Tu)),
            "xi": xi[rep],
            "ti": ti[rep],
            "Ti": Ti[rep],
            "w": w[rep],
            "x": x[rep],
        }

    # -- fitting ----------------------------------------------------------------------

    @one_blas_thread
    def fit(self, X: Any, y: None = None, *, sample_weight: ArrayLike | None = None) -> Self:
        """Fit by maximum likelihood.

        Parameters
        ----------
        X
            ``[x, t_x, T]`` per customer (or per distinct triple with ``sample_weight``),
            in one time unit: an (n, 3) array-like or a table with those columns.
        y
            Ignored (the model is unsupervised); there for scikit-learn's API.
        sample_weight
            Customers sharing each row; default one each.

        Raises
        ------
        ModelError
            Without repeat buyers, or when every customer has repeat purchases.
        DegenerateFitError
            When the data cannot identify the model.
        """
        xa, ta, Ta = rft(X)
        w = None if sample_weight is None else as_float("sample_weight", sample_weight)
        (xd, td, Td), wd, _ = distinct_rows(xa, ta, Ta, weights=w)
        total = float(wd.sum())
        if total <= 0:
            raise ModelError(f"{self.name}: no customers to fit on")
        if not np.any(xd > 0):
            raise ModelError(
                f"{self.name}: no customer has a repeat purchase; the model cannot be fitted"
            )
        if np.all(xd > 0):
            raise ModelError(
                f"{self.name}: every customer has repeat purchases; drop-out cannot be identified"
            )
        self._agg = self._aggregate(xd, td, Td, wd)
        rate = float(wd @ xd) / max(float(wd @ Td), 1e-12)
        scale = 1.0 / max(rate, 1e-12)
        starts = [np.array([0.5, 0.5 * scale, 1.0, 2.0]), np.array([1.0, scale, 1.0, 1.0])]
        try:
            self._maximise(self._loglik, starts, total, span=float(Td.max()))
        finally:
            del self._agg
        self.n_distinct_ = len(xd)
        return self

    def log_likelihood(self, X: Any, *, sample_weight: ArrayLike | None = None) -> float:
        """Total log-likelihood of the fitted parameters on ``X``."""
        check_fitted(self)
        xa, ta, Ta = rft(X)
        ll, _ = self.loglik_terms(self._p(), xa, ta, Ta)
        w = np.ones_like(ll) if sample_weight is None else as_float("sample_weight", sample_weight)
        return float(w @ ll)

    def score(self, X: Any, y: None = None, sample_weight: ArrayLike | None = None) -> float:
        """Mean log-likelihood per customer (higher is better, as scikit-learn scores)."""
        xa = rft(X)[0]
        n = float(len(xa) if sample_weight is None else np.sum(sample_weight))
        return self.log_likelihood(X, sample_weight=sample_weight) / max(n, 1.0)

    # -- predictions ------------------------------------------------------------------

    def p_alive(self, X: Any) -> FloatArray:
        """Probability that each customer is still alive at T.

        .. math:: P(\\text{alive}) = 1 / \\left(1 + \\delta_{x>0}\\frac{a}{b + x - 1}
                  \\left(\\frac{\\alpha + T}{\\alpha + t_x}\\right)^{r + x}\\right)
        """
        check_fitted(self)
        return self._p_alive(*rft(X))

    def _p_alive(self, xa: FloatArray, ta: FloatArray, Ta: FloatArray) -> FloatArray:
        r, alpha, a, b = self._p()
        has = xa > 0
        log_odds = (
            np.log(a)
            - np.log(b + np.where(has, xa - 1, 0))
            + (r + xa) * (np.log(alpha + Ta) - np.log(alpha + ta))
        )
        return np.where(has, expit(-log_odds), 1.0)

    def expected_purchases(self, X: Any, t: float) -> FloatArray:
        """Expected purchases in the next ``t`` time units given each customer's history.

        Fader, Hardie and Lee (2005), eq. 10:

        .. math:: E[Y(t)] = \\frac{a + b + x - 1}{a - 1}
            \\frac{1 - \\left(\\frac{\\alpha + T}{\\alpha + T + t}\\right)^{r + x}
            {}_2F_1\\left(r + x, b + x; a + b + x - 1; \\frac{t}{\\alpha + T + t}\\right)}
            {1 + \\delta_{x>0}\\frac{a}{b + x - 1}
            \\left(\\frac{\\alpha + T}{\\alpha + t_x}\\right)^{r + x}}
        """
        check_fitted(self)
        xa, ta, Ta = rft(X)
        (xd, Td), _, inv = distinct_rows(xa, Ta)
        return self._if_alive(t, xd, Td)[inv] * self._p_alive(xa, ta, Ta)

    def expected_purchases_if_alive(self, X: Any, t: float) -> FloatArray:
        """Expected purchases in the next ``t`` time units of a customer alive at T.

        The numerator of :meth:`expected_purchases`; it depends on ``(x, T)`` only, so the
        hypergeometric function is evaluated once per distinct pair.
        """
        check_fitted(self)
        xa, _, Ta = rft(X)
        (xd, Td), _, inv = distinct_rows(xa, Ta)
        return self._if_alive(t, xd, Td)[inv]

    def _if_alive(self, t: float, xd: FloatArray, Td: FloatArray) -> FloatArray:
        """:meth:`expected_purchases_if_alive` on arrays, without checks."""
        if t <= 0:
            return np.zeros_like(xd)
        r, alpha, a, b = self._p()
        z = t / (alpha + Td + t)
        hyp = hyp2f1(r + xd, b + xd, a + b + xd - 1.0, z)
        head = 1.0 - np.exp((r + xd) * (np.log(alpha + Td) - np.log(alpha + Td + t))) * hyp
        return (a + b + xd - 1.0) / (a - 1.0) * head

    def p_no_purchase(self, X: Any, t: float) -> FloatArray:
        """Probability of no purchase in the next ``t`` time units (a defection risk).

        Dead customers never buy; an alive one (posterior rate ``Gamma(r + x, alpha + T)``)
        makes no purchase with probability ``((alpha + T) / (alpha + T + t))^(r + x)``.
        """
        check_fitted(self)
        return self._p_no_purchase(t, *rft(X))

    def _p_no_purchase(
        self, t: float, xa: FloatArray, ta: FloatArray, Ta: FloatArray
    ) -> FloatArray:
        r, alpha, _, _ = self._p()
        pa = self._p_alive(xa, ta, Ta)
        quiet = np.exp((r + xa) * (np.log(alpha + Ta) - np.log(alpha + Ta + t)))
        return 1.0 - pa + pa * quiet

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """Expected repeat purchases in ``(0, t]`` of a customer who has just joined.

        .. math:: E[X(t)] = \\frac{a + b - 1}{a - 1}\\left[1 - \\left(\\frac{\\alpha}{\\alpha + t}
                  \\right)^r {}_2F_1\\left(r, b; a + b - 1; \\frac{t}{\\alpha + t}\\right)\\right]
        """
        check_fitted(self)
        ta = np.asarray(t, dtype=np.float64)
        r, alpha, a, b = self._p()
        hyp = hyp2f1(r, b, a + b - 1.0, ta / (alpha + ta))
        return (a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + ta)) ** r * hyp)
