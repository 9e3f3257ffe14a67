"""Gamma-Gamma model of the value of a customer's transactions.

Each transaction's value is ``Gamma(p, nu)``; across customers ``nu ~ Gamma(q, gamma)``.
For a customer with ``x`` repeat transactions of mean value ``m`` (Fader and Hardie 2013,
eq. 3, the likelihood of the mean):

.. math::

    L(p, q, \\gamma \\mid m, x) = \\frac{\\Gamma(px + q)}{\\Gamma(px)\\,\\Gamma(q)}
        \\frac{\\gamma^q\\, m^{px - 1}\\, x^{px}}{(\\gamma + m x)^{px + q}}

and the expected value of a transaction given the history (eq. 5):

.. math::

    E[M \\mid p, q, \\gamma, m, x] = \\frac{p(\\gamma + m x)}{p x + q - 1}

The model assumes value and frequency are independent; :func:`frequency_value_correlation`
reports the check.

Reference: P. S. Fader and B. G. S. Hardie (2013), "The Gamma-Gamma model of monetary
value", http://brucehardie.com/notes/025/.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from ..errors import ModelError
from ._fitting import (
    FloatArray,
    LikelihoodModel,
    as_float,
    check_fitted,
    columns_of,
    one_blas_thread,
    plain_number,
)

__all__ = ["SPEND", "GammaGammaModel", "frequency_value_correlation"]

#: The columns of ``X`` for the spend model: repeat purchases and their mean value.
SPEND = ("x", "monetary_value")


def frequency_value_correlation(x: ArrayLike, m: ArrayLike) -> float:
    """Pearson correlation of repeat purchases and mean value among repeat buyers.

    Gamma-Gamma assumes it is near zero; far from it (the lifetime stage warns above
    ``[lifetime] gamma_gamma_max_correlation``, 0.3) the expected values are biased.

    Examples
    --------
    >>> round(frequency_value_correlation([1, 2, 3, 0], [10.0, 10.0, 10.5, 0.0]), 3)
    0.866
    """
    xa, ma = as_float("x", x), as_float("monetary_value", m)
    keep = (xa > 0) & (ma > 0)
    if keep.sum() < 3 or np.std(xa[keep]) == 0 or np.std(ma[keep]) == 0:
        return float("nan")
    return float(np.corrcoef(xa[keep], ma[keep])[0, 1])


class GammaGammaModel(LikelihoodModel):
    """Gamma-Gamma spend model, fitted by maximum likelihood on the repeat buyers.

    A scikit-learn estimator: ``X`` is an (n, 2) array-like of the columns ``x`` (repeat
    purchases) and ``monetary_value`` (their mean value), or a table with those columns.

    The mean values ``m`` are continuous, so rows are rarely shared and are not
    de-duplicated; instead the gamma functions are evaluated once per distinct ``x`` and
    the sums that depend on the data only are computed once, which leaves one logarithm
    and one reciprocal per row and evaluation. ``sample_weight`` still lets a caller pass
    grouped rows.

    Parameters
    ----------
    max_iter, tol
        Optimiser iterations per start and gradient tolerance (mean log-likelihood).
    max_shape
        A fit whose shape parameter (p or q) exceeds this is degenerate.
    time_unit
        Label carried into the manifest (the model itself has no time).

    Attributes
    ----------
    params_ : dict
        ``{"p", "q", "gamma"}``.
    log_likelihood_ : float
    n_customers_, n_distinct_ : int
    optimizer_result_ : scipy.optimize.OptimizeResult
    correlation_ : float
        Correlation of frequency and mean value (the independence check).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(1, 8, 3000).astype(float)
    >>> nu = rng.gamma(4.0, 1 / 15.0, 3000)           # q = 4, gamma = 15
    >>> m = rng.gamma(6.0 * x, 1 / (nu * x))          # p = 6: mean of x spends
    >>> gg = GammaGammaModel().fit(np.column_stack([x, m]))
    >>> sorted(gg.params_)
    ['gamma', 'p', 'q']
    >>> 4 < gg.params_['p'] < 9
    True
    """

    name = "gamma_gamma"
    param_names = ("p", "q", "gamma")
    shape_names = ("p", "q")
    columns = SPEND

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

    @staticmethod
    def loglik_terms(
        params: FloatArray,
        x: FloatArray,
        m: FloatArray,
        *,
        grad: bool = False,
        cache: dict[str, Any] | None = None,
    ) -> tuple[FloatArray, FloatArray | None]:
        """Per-row log-likelihood and (optionally) its gradient, shape (3, n).

        ``cache`` (from :meth:`_cache`) holds what does not depend on the parameters:
        logs of the data and the distinct values of ``x``, on which the gamma functions are
        evaluated once each.
        """
        c = cache if cache is not None else GammaGammaModel._cache(x, m)
        p, q, g = params
        xu, xi = c["xu"], c["xi"]
        pxu = p * xu
        lgm = np.log(g + c["mx"])
        # per distinct x: log Gamma(px + q) - log Gamma(px) - log Gamma(q) + q log g
        head = gammaln(pxu + q) - gammaln(pxu) - gammaln(q) + q * np.log(g)
        px = pxu[xi]
        ll = head[xi] + (px - 1.0) * c["lm"] + px * c["lx"] - (px + q) * lgm
        if not grad:
            return ll, None
        psi = digamma(pxu + q)
        out = np.empty((3, len(x)))
        out[0] = (xu * (psi - digamma(pxu)))[xi] + x * (c["lm"] + c["lx"] - lgm)
        out[1] = (psi - digamma(q))[xi] + np.log(g) - lgm
        out[2] = q / g - (px + q) / (g + c["mx"])
        return ll, out

    @staticmethod
    def _cache(x: FloatArray, m: FloatArray) -> dict[str, Any]:
        xu, xi = np.unique(x, return_inverse=True)
        return {"xu": xu, "xi": xi, "lm": np.log(m), "lx": np.log(x), "mx": m * x}

    def _loglik(self, params: FloatArray) -> tuple[float, FloatArray]:
        """Total weighted log-likelihood and gradient; per row only ``log(gamma + m x)``.

        The gamma functions are evaluated per distinct ``x`` with summed weights, and the
        data-only sums (of ``w x log m`` and the like) are computed once in ``fit``.
        """
        p, q, g = params
        c = self._sums
        xu, W_x = c["xu"], c["W_x"]
        pxu = p * xu
        psi = digamma(pxu + q)
        lgm = np.log(g + c["mx"])
        inv = 1.0 / (g + c["mx"])
        wx, w = c["wx"], c["w"]
        s_wx_lgm, s_w_lgm = wx @ lgm, w @ lgm
        ll = (
            W_x @ (gammaln(pxu + q) - gammaln(pxu))
            + c["W"] * (q * np.log(g) - gammaln(q))
            + p * (c["A"] + c["C"])
            - c["B"]
            - p * s_wx_lgm
            - q * s_w_lgm
        )
        grad = np.array(
            [
                W_x @ (xu * (psi - digamma(pxu))) + c["A"] + c["C"] - s_wx_lgm,
                W_x @ psi - c["W"] * (digamma(q) - np.log(g)) - s_w_lgm,
                c["W"] * q / g - p * (wx @ inv) - q * (w @ inv),
            ]
        )
        return float(ll), grad

    @staticmethod
    def _data_sums(x: FloatArray, m: FloatArray, w: FloatArray) -> dict[str, Any]:
        xu, xi = np.unique(x, return_inverse=True)
        lm, lx = np.log(m), np.log(x)
        return {
            "xu": xu,
            "W_x": np.bincount(xi, w, len(xu)),
            "W": float(w.sum()),
            "mx": m * x,
            "w": w,
            "wx": w * x,
            "A": float((w * x) @ lm),
            "B": float(w @ lm),
            "C": float((w * x) @ lx),
        }

    @one_blas_thread
    def fit(self, X: Any, y: None = None, *, sample_weight: ArrayLike | None = None) -> Self:
        """Fit on the customers with at least one repeat purchase and a positive mean value.

        Parameters
        ----------
        X
            ``[x, monetary_value]`` per customer: repeat purchases and their mean value.
        y
            Ignored; there for scikit-learn's API.
        sample_weight
            Customers sharing each row; default one each.

        Rows with ``x == 0`` or ``monetary_value <= 0`` are left out (they carry no spend
        information).
        """
        xa, ma = columns_of(X, SPEND)
        w = np.ones_like(xa) if sample_weight is None else as_float("sample_weight", sample_weight)
        keep = (xa > 0) & (ma > 0)
        self.correlation_ = frequency_value_correlation(xa, ma)
        xk, mk, wk = xa[keep], ma[keep], w[keep]
        total = float(wk.sum())
        if len(np.unique(mk)) < 3:
            raise ModelError(
                "gamma_gamma: fewer than 3 distinct repeat buyers with positive spend; "
                "the spend model cannot be fitted"
            )
        self._sums = self._data_sums(xk, mk, wk)
        mean = float(wk @ mk) / total
        starts = [np.array([2.0, 3.0, mean]), np.array([6.0, 4.0, 2.0 * mean])]
        try:
            self._maximise(self._loglik, starts, total)
        finally:
            del self._sums
        self.n_distinct_ = len(xk)
        return self

    def expected_order_value(self, X: Any) -> FloatArray:
        """Expected value of each customer's next transaction (the population mean where
        x = 0).

        .. math:: E[M] = \\frac{p(\\gamma + m x)}{p x + q - 1}

        Raises
        ------
        ModelError
            When ``q <= 1``: the model's mean order value is then infinite.
        """
        check_fitted(self)
        xa, ma = columns_of(X, SPEND)
        p, q, g = (self.params_[k] for k in self.param_names)
        if q <= 1:
            raise ModelError(
                f"gamma_gamma: q = {plain_number(q)} <= 1: order values vary so widely between "
                "customers that the model's mean order value is infinite"
            )
        xa = np.where(ma > 0, xa, 0.0)
        ma = np.where(ma > 0, ma, 0.0)
        return p * (g + ma * xa) / (p * xa + q - 1.0)

    def to_manifest(self) -> dict[str, Any]:
        """The fitted model as the manifest records it, with the frequency-value check."""
        return {**super().to_manifest(), "frequency_value_correlation": self.correlation_}
