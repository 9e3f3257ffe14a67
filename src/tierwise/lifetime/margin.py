"""The margin that turns a customer's future revenue into profit: shrunk and bounded.

A customer's net margin rate over the profit period (net profit / revenue) is a noisy figure
when it rests on one or two orders: a one-off cost-to-serve on a small order gives −5,000%,
and multiplied into three years of forecast spend it makes an absurd lifetime value. The
margin used for CLV is therefore an empirical-Bayes estimate (Bühlmann credibility), with
each customer's number of orders as the evidence:

1. each rate is first bounded to ``[margin_min, margin_max]``;
2. with ``n_i`` the orders and ``m_i`` the bounded rate, each customer's true margin is
   drawn around the peers' margin ``mu`` with spread ``tau^2`` and observed with the noise
   of ``n_i`` orders, ``sigma^2 / n_i``: ``m_i ~ N(mu, tau^2 + sigma^2 / n_i)``. The two
   variances are estimated by maximum likelihood of that marginal model (the rates of many
   customers tell the spread of true margins from the noise; a squared-deviation regression
   would be led by the few wild one-order rates);
   ``mu`` is the base's own net margin when the revenue behind each rate is known:
   ``sum(net profit) / sum(revenue)`` over every customer in the profit period (the
   revenue-weighted mean of the unbounded rates, plus the cost-to-serve of customers who
   bought nothing in it), bounded like the rates.
   A margin multiplies future *revenue*, so the peers' margin is that of the base's euros,
   not of its average customer: many small and new customers carry a fixed cost-to-serve
   (visits, deliveries) on little revenue, their rates sit far below zero, and an
   unweighted (or likelihood-weighted) centre lands below zero on a profitable base, making
   most lifetime values negative. Without revenue, ``mu`` is estimated with the variances;
3. the margin used is ``Z_i m_i + (1 - Z_i) mu`` with the credibility
   ``Z_i = n_i tau^2 / (n_i tau^2 + sigma^2)``: a customer with many orders keeps their own
   margin, one with a single order is pulled towards the peers'.

Customers without a margin (no revenue in the profit period) get ``mu``. When the two
variances cannot be told apart (fewer than three customers with a margin, or all with the
same number of orders), margins are only bounded and ``mu`` is the base's net margin (without
revenue, the order-weighted mean of the bounded rates).

References: H. Bühlmann and A. Gisler, *A Course in Credibility Theory and its
Applications*, Springer, 2005, ch. 4; B. Efron and C. Morris (1975), "Data analysis using
Stein's estimator and its generalizations", JASA 70(350), 311-319.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

__all__ = ["MarginEstimate", "shrink_margin"]


@dataclass
class MarginEstimate:
    """Result of :func:`shrink_margin`.

    Attributes
    ----------
    margin
        The margin rate used per customer (NaN only when no customer has one).
    raw
        The rate given (NaN where none).
    credibility
        ``Z_i`` per customer (0 where the rate was missing).
    peer_margin
        ``mu``; ``None`` when no customer has a margin.
    tau2, sigma2
        The estimated variances: of the customers' true margins and of one order's
        (``None`` when not estimated).
    n_shrunk, n_bounded, n_filled
        Customers whose own rate moved towards the peers', whose rate was outside the bounds,
        and who had none.
    """

    margin: NDArray[np.float64]
    raw: NDArray[np.float64]
    credibility: NDArray[np.float64]
    peer_margin: float | None
    tau2: float | None
    sigma2: float | None
    n_shrunk: int
    n_bounded: int
    n_filled: int

    def to_manifest(self) -> dict[str, Any]:
        """The figures for the manifest."""
        known = np.isfinite(self.raw)
        return {
            "peer_margin": self.peer_margin,
            "between_customer_variance": self.tau2,
            "per_order_variance": self.sigma2,
            "customers_shrunk": self.n_shrunk,
            "customers_bounded": self.n_bounded,
            "customers_filled": self.n_filled,
            "median_credibility": (
                float(np.median(self.credibility[known])) if known.any() else None
            ),
        }


def shrink_margin(
    rate: ArrayLike,
    evidence: ArrayLike,
    *,
    low: float,
    high: float,
    shrink: bool = True,
    revenue: ArrayLike | None = None,
    profit: ArrayLike | None = None,
) -> MarginEstimate:
    """Margins shrunk towards the peers' by the evidence behind them, and bounded.

    Parameters
    ----------
    rate
        Each customer's net margin rate (fraction of revenue); NaN where unknown.
    evidence
        Orders behind each rate (at least 1 where the rate is known).
    low, high
        Bounds on the margin.
    shrink
        Off: rates are only bounded (missing ones still get the peers' margin).
    revenue
        Optional revenue behind each rate (the denominator of the rate; NaN or <= 0 where
        unknown). With it the peers' margin is the base's net margin,
        ``sum(profit_i) / sum(revenue_i)``, then bounded.
    profit
        Optional net profit of each customer (NaN where unknown), those without a rate
        included (a cost-to-serve on no revenue); by default ``rate_i revenue_i``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> orders = rng.integers(1, 40, 300)
    >>> rate = rng.normal(0.15, 0.05, 300) + rng.normal(0, 0.3, 300) / np.sqrt(orders)
    >>> rate[0], orders[0] = -56.9, 1    # a one-off cost-to-serve on one small order
    >>> rate[1], orders[1] = 0.40, 39    # a margin seen on 39 orders
    >>> est = shrink_margin(rate, orders, low=-1.0, high=1.0)
    >>> est.n_bounded, round(est.peer_margin, 2)
    (1, 0.15)
    >>> [round(float(m), 2) for m in est.margin[:2]]  # pulled in; the 39 orders count more
    [0.13, 0.23]

    The revenue behind each rate makes the peers' margin the base's: 30 small customers
    losing 50% of 100 each and 10 large ones earning 20% of 10,000 each make a base that
    earns 18.0%, which the unweighted centre (-32.5%) would turn into a loss.

    >>> rate = np.r_[np.full(30, -0.5), np.full(10, 0.2)]
    >>> revenue = np.r_[np.full(30, 100.0), np.full(10, 10_000.0)]
    >>> est = shrink_margin(rate, np.r_[np.ones(30), np.full(10, 20.0)], low=-1.0, high=1.0,
    ...                     revenue=revenue)
    >>> round(est.peer_margin, 4)
    0.1796
    """
    raw = np.asarray(rate, dtype=np.float64).reshape(-1)
    n = np.nan_to_num(np.asarray(evidence, dtype=np.float64).reshape(-1))
    known = np.isfinite(raw)
    n = np.where(known, np.maximum(n, 1.0), 0.0)
    bounded = np.clip(raw, low, high)
    n_bounded = int((known & (bounded != raw)).sum())
    n_filled = int((~known).sum())
    if not known.any():
        nan = np.full(len(raw), np.nan)
        return MarginEstimate(nan, raw, np.zeros(len(raw)), None, None, None, 0, 0, n_filled)
    mu = float(n[known] @ bounded[known] / n[known].sum())
    base: float | None = None
    if revenue is not None:
        w = np.nan_to_num(np.asarray(revenue, dtype=np.float64).reshape(-1))
        w = np.where(known & (w > 0), w, 0.0)
        p = w * np.nan_to_num(raw)
        if profit is not None:
            given = np.asarray(profit, dtype=np.float64).reshape(-1)
            p = np.where(np.isfinite(given), given, p)
        if w.sum() > 0:
            base = float(np.clip(p.sum() / w.sum(), low, high))
            mu = base
    z = np.where(known, 1.0, 0.0)
    tau2: float | None = None
    sigma2: float | None = None
    if shrink and known.sum() >= 3 and np.ptp(n[known]) > 0:
        mu, tau2, sigma2 = _marginal_ml(bounded[known], n[known], mu, fixed_mu=base is not None)
        z = np.where(known, n * tau2 / (n * tau2 + sigma2), 0.0)
    used = np.where(known, z * np.nan_to_num(bounded) + (1.0 - z) * mu, mu)
    n_shrunk = int((known & (np.abs(used - bounded) > 1e-12)).sum())
    return MarginEstimate(used, raw, z, mu, tau2, sigma2, n_shrunk, n_bounded, n_filled)


def _marginal_ml(
    m: NDArray[np.float64], n: NDArray[np.float64], mu0: float, *, fixed_mu: bool = False
) -> tuple[float, ...]:
    """Maximum-likelihood ``(mu, tau^2, sigma^2)`` of ``m_i ~ N(mu, tau^2 + sigma^2 / n_i)``.

    The variances are optimised on the log scale with their analytic gradient; a variance
    that goes to zero (no spread of true margins: everyone gets ``mu``; or no noise: everyone
    keeps their own) stops at ``1e-12`` of the total variance. With ``fixed_mu`` the centre
    stays at ``mu0`` and only the variances are estimated.
    """
    total = float(np.mean((m - mu0) ** 2) if fixed_mu else np.var(m)) or 1e-12
    floor = np.log(total * 1e-12)

    def nll(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        mu, lt, ls = theta
        t, s = np.exp(lt), np.exp(ls)
        v = t + s / n
        r = m - mu
        q = 1.0 / v - r * r / (v * v)
        value = 0.5 * float(np.sum(np.log(v) + r * r / v))
        grad = np.array(
            [-float(np.sum(r / v)), 0.5 * t * float(q.sum()), 0.5 * s * float((q / n).sum())]
        )
        return value, grad

    start = np.array([mu0, np.log(total / 2), np.log(total / 2)])
    res = minimize(
        nll,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(mu0, mu0) if fixed_mu else (None, None), (floor, None), (floor, None)],
    )
    mu, lt, ls = res.x
    return float(mu), float(np.exp(lt)), float(np.exp(ls))
