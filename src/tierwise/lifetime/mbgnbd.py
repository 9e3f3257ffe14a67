"""MBG/NBD: the BG/NBD model in which a customer may also drop out right after the first purchase.

BG/NBD flips the drop-out coin only after each *repeat* purchase, so every customer without
one is certainly alive (P(alive) = 1, however long ago they bought). The modified model
(Batislam, Denizel and Filiztekin 2007) flips it after the first purchase as well, so one-off
buyers who have been quiet for long are judged likely gone. With ``p ~ Beta(a, b)`` and
``lambda ~ Gamma(r, alpha)`` as in BG/NBD, the likelihood of ``(x, t_x, T)`` is

.. math::

    L = \\frac{B(a, b + x + 1)}{B(a, b)}
        \\frac{\\Gamma(r + x)\\, \\alpha^r}{\\Gamma(r)\\,(\\alpha + T)^{r + x}}
      + \\frac{B(a + 1, b + x)}{B(a, b)}
        \\frac{\\Gamma(r + x)\\, \\alpha^r}{\\Gamma(r)\\,(\\alpha + t_x)^{r + x}}

for every ``x`` (the second term no longer vanishes at ``x = 0``), computed in log space with
its analytic gradient. A customer alive at ``T`` has survived ``x + 1`` coin flips, so their
drop-out probability is ``Beta(a, b + x + 1)`` and their future purchases follow the BG/NBD
formulas with ``b + x + 1`` in place of ``b + x``.

References: E. P. Batislam, M. Denizel and A. Filiztekin (2007), "Empirical validation and
comparison of models for customer base analysis", International Journal of Research in
Marketing 24(3), 201-209; M. Platzer, BTYDplus (R package), ``mbgnbd.*`` functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, expit, gammaln, hyp2f1

from ._fitting import FloatArray, check_fitted
from .bgnbd import BetaGeoModel, Levels

__all__ = ["ModifiedBetaGeoModel"]


class ModifiedBetaGeoModel(BetaGeoModel):
    """MBG/NBD model fitted by maximum likelihood on the distinct (x, t_x, T) triples.

    Same parameters, attributes and methods as :class:`BetaGeoModel`; only the likelihood,
    P(alive) and the expectations differ (see the module docstring).

    Examples
    --------
    >>> from tierwise.lifetime.bgnbd import simulate_bgnbd
    >>> m = ModifiedBetaGeoModel().fit(simulate_bgnbd(3000, 39.0, seed=3, modified=True))
    >>> sorted(m.params_)
    ['a', 'alpha', 'b', 'r']
    >>> bool(m.p_alive([[0, 0, 39]])[0] < 1.0)  # one-off buyers may be gone
    True
    """

    name = "mbgnbd"

    @classmethod
    def dropout_share(cls, params: Mapping[str, float], span: float) -> float:
        """At most this share of the customers drop out within ``span``: as BG/NBD's
        (:meth:`BetaGeoModel.dropout_share`), plus the chance ``E[p]`` of leaving right after
        the first purchase, ``E[p] (1 + E[lambda] span)`` (capped at 1)."""
        rate = params["r"] / params["alpha"]
        p_drop = params["a"] / (params["a"] + params["b"])
        return float(min(1.0, p_drop * (1.0 + rate * span)))

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

        ``ll = A(x) - (r + x) log(alpha + T) + log(1 + exp(d))`` with
        ``d = log a - log(b + x) + (r + x) (log(alpha + T) - log(alpha + t_x))``; special
        functions are evaluated once per distinct ``x`` and logarithms once per distinct
        time (``levels`` from :meth:`BetaGeoModel.levels`).
        """
        r, alpha, a, b = params
        (xu, xi), (tu, ti), (Tu, Ti) = (
            levels if levels is not None else BetaGeoModel.levels(x, t_x, T)
        )
        log_alpha = np.log(alpha)
        g_x = (
            gammaln(r + xu)
            - gammaln(r)
            + r * log_alpha
            + gammaln(a + b)
            + gammaln(b + xu + 1.0)
            - gammaln(b)
            - gammaln(a + b + xu + 1.0)
        )
        la_T = np.log(alpha + Tu)[Ti]
        la_tx = np.log(alpha + tu)[ti]
        rx = (r + xu)[xi]
        d = (np.log(a) - np.log(b + xu))[xi] + rx * (la_T - la_tx)
        ll = g_x[xi] - rx * la_T + np.logaddexp(0.0, d)
        if not grad:
            return ll, None
        w4 = expit(d)
        psi_ab = digamma(a + b)
        psi_abx = digamma(a + b + xu + 1.0)
        inv_T = (1.0 / (alpha + Tu))[Ti]
        inv_tx = (1.0 / (alpha + tu))[ti]
        g = np.empty((4, len(x)))
        g[0] = (digamma(r + xu) - digamma(r))[xi] + log_alpha - la_T + w4 * (la_T - la_tx)
        g[1] = r / alpha - rx * inv_T + w4 * rx * (inv_T - inv_tx)
        g[2] = (psi_ab - psi_abx)[xi] + w4 / a
        g[3] = (psi_ab + digamma(b + xu + 1.0) - digamma(b) - psi_abx)[xi] - w4 * (1.0 / (b + xu))[
            xi
        ]
        return ll, g

    @staticmethod
    def _aggregate(x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray) -> dict[str, Any]:
        """The distinct rows with their weights and levels (every row has two terms here)."""
        return {"x": x, "t": t_x, "T": T, "w": w, "levels": BetaGeoModel.levels(x, t_x, T)}

    def _loglik(self, params: FloatArray) -> tuple[float, FloatArray]:
        c = self._agg
        ll, g = self.loglik_terms(params, c["x"], c["t"], c["T"], grad=True, levels=c["levels"])
        assert g is not None
        return float(c["w"] @ ll), g @ c["w"]

    # -- predictions ------------------------------------------------------------------

    def _p_alive(self, xa: FloatArray, ta: FloatArray, Ta: FloatArray) -> FloatArray:
        """Probability that each customer is still alive at T (below 1 also when x = 0).

        .. math:: P(\\text{alive}) = 1 / \\left(1 + \\frac{a}{b + x}
                  \\left(\\frac{\\alpha + T}{\\alpha + t_x}\\right)^{r + x}\\right)
        """
        r, alpha, a, b = self._p()
        log_odds = np.log(a) - np.log(b + xa) + (r + xa) * (np.log(alpha + Ta) - np.log(alpha + ta))
        return np.asarray(expit(-log_odds), dtype=np.float64)

    def _if_alive(self, t: float, xd: FloatArray, Td: FloatArray) -> FloatArray:
        """Expected purchases in the next ``t`` of a customer alive at T (distinct rows).

        BG/NBD's formula with ``b + x + 1`` for ``b + x``:

        .. math:: \\frac{a + b + x}{a - 1}\\left[1 - \\left(\\frac{\\alpha + T}
            {\\alpha + T + t}\\right)^{r + x} {}_2F_1\\left(r + x, b + x + 1; a + b + x;
            \\frac{t}{\\alpha + T + t}\\right)\\right]
        """
        if t <= 0:
            return np.zeros_like(xd)
        r, alpha, a, b = self._p()
        z = t / (alpha + Td + t)
        hyp = hyp2f1(r + xd, b + xd + 1.0, a + b + xd, z)
        head = 1.0 - np.exp((r + xd) * (np.log(alpha + Td) - np.log(alpha + Td + t))) * hyp
        return np.asarray((a + b + xd) / (a - 1.0) * head, dtype=np.float64)

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """Expected repeat purchases in ``(0, t]`` of a customer who has just joined.

        .. math:: E[X(t)] = \\frac{b}{a - 1}\\left[1 - \\left(\\frac{\\alpha}{\\alpha + t}
                  \\right)^r {}_2F_1\\left(r, b + 1; a + b; \\frac{t}{\\alpha + t}\\right)\\right]
        """
        check_fitted(self)
        ta = np.asarray(t, dtype=np.float64)
        r, alpha, a, b = self._p()
        hyp = hyp2f1(r, b + 1.0, a + b, ta / (alpha + ta))
        return np.asarray(b / (a - 1.0) * (1.0 - (alpha / (alpha + ta)) ** r * hyp))
