"""Response to contact: a customer's expected annual revenue as a function of effort.

The model is CALLPLAN's (Lodish 1971, "CALLPLAN: an interactive salesman's call planning
system", Management Science 18(4) P25-P40): with effort ``e`` (effective contacts per year,
each channel's contacts weighted by its effectiveness relative to a visit, a visit = 1.0),

.. math::

    R(e) = W \\left(s_0 + (s_1 - s_0) \\frac{e^c}{d^c + e^c}\\right)

where ``W`` is the customer's wallet, ``s0`` the share of wallet won with no contact, ``s1``
the share with unlimited contact, ``d`` the effort that earns half of the difference and
``c`` the shape (``c > 1`` an S-curve, ``c <= 1`` concave).

:func:`fit_response` estimates the four parameters of one segment from activity history
(revenue and effort per customer-period) by bounded least squares around the settings'
values; a parameter the data cannot identify keeps the setting's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

__all__ = ["PARAMETERS", "ResponseFit", "fit_response", "response"]

PARAMETERS: tuple[str, ...] = ("s0", "s1", "c", "d")

#: Bounds used for a parameter that ``bounds`` does not name: shares of wallet in [0, 1],
#: a shape between 0.2 (very concave) and 6 (a sharp S), a half-effort from 0.01 to 500
#: contacts per year.
DEFAULT_BOUNDS: dict[str, tuple[float, float]] = {
    "s0": (0.0, 1.0),
    "s1": (0.0, 1.0),
    "c": (0.2, 6.0),
    "d": (0.01, 500.0),
}

#: Fewest customer-periods a fit is attempted on; below it every parameter keeps the prior.
MIN_OBSERVATIONS = 12


def response(
    wallet: ArrayLike,
    s0: ArrayLike,
    s1: ArrayLike,
    c: ArrayLike,
    d: ArrayLike,
    effort: ArrayLike,
) -> NDArray[np.float64]:
    """Expected annual revenue from ``effort`` effective contacts per year.

    ``wallet * (s0 + (s1 - s0) * e**c / (d**c + e**c))`` with ``e = effort``. Arrays
    broadcast; effort 0 gives ``wallet * s0``, effort ``d`` gives the midpoint, and effort
    growing without limit tends to ``wallet * s1``. Negative effort counts as 0.

    Examples
    --------
    >>> round(float(response(1000.0, 0.1, 0.5, 2.0, 4.0, 4.0)), 6)
    300.0
    >>> float(response(1000.0, 0.1, 0.5, 2.0, 4.0, 0.0))
    100.0
    """
    w = np.asarray(wallet, dtype=np.float64)
    a = np.asarray(s0, dtype=np.float64)
    b = np.asarray(s1, dtype=np.float64)
    cc = np.asarray(c, dtype=np.float64)
    dd = np.asarray(d, dtype=np.float64)
    e = np.maximum(np.asarray(effort, dtype=np.float64), 0.0)
    return np.asarray(w * (a + (b - a) * _saturation(e, cc, dd)), dtype=np.float64)


def _saturation(
    e: NDArray[np.float64], c: NDArray[np.float64], d: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``e**c / (d**c + e**c)`` computed as ``1 / (1 + (d/e)**c)`` (no overflow)."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        ratio = np.power(np.divide(d, e), c)
        out = 1.0 / (1.0 + ratio)
    return np.asarray(np.where(e > 0, out, 0.0), dtype=np.float64)


@dataclass(frozen=True)
class ResponseFit:
    """One segment's response parameters estimated from activity history.

    Attributes
    ----------
    s0, s1, c, d
        The parameters (see :func:`response`); those not in ``estimated`` are the prior's.
    se
        Standard errors of the estimated parameters (from the Jacobian at the optimum:
        ``sigma^2 (J'J)^-1``, ``sigma^2`` the residual variance); empty when none was.
    n_customers
        Customers behind the fit (customer-periods when customers were not given).
    estimated
        Which parameters came from the data; the others kept the prior (the settings).
    n_observations
        Customer-periods used.
    """

    s0: float
    s1: float
    c: float
    d: float
    se: dict[str, float] = field(default_factory=dict)
    n_customers: int = 0
    estimated: tuple[str, ...] = ()
    n_observations: int = 0

    def params(self) -> tuple[float, float, float, float]:
        """``(s0, s1, c, d)``."""
        return (self.s0, self.s1, self.c, self.d)


def fit_response(
    revenue: ArrayLike,
    wallet: ArrayLike,
    effort: ArrayLike,
    *,
    prior: tuple[float, float, float, float],
    bounds: Mapping[str, tuple[float, float]],
    customer: ArrayLike | None = None,
) -> ResponseFit:
    """Estimate one segment's response from revenue and effort per customer-period.

    Residuals are in shares of wallet, ``revenue / wallet - response(1, ..., effort)``, so
    that large customers do not drown small ones (noise proportional to the wallet has equal
    variance). The fit is :func:`scipy.optimize.least_squares` (trust-region reflective)
    inside ``bounds`` (missing names get :data:`DEFAULT_BOUNDS`), started at ``prior``
    (clipped into the bounds). What the data cannot identify keeps the prior:

    - fewer than :data:`MIN_OBSERVATIONS` usable rows: nothing is estimated;
    - no effort above zero: only ``s0`` can be, and is, estimated;
    - fewer than three distinct positive efforts: ``c`` keeps the prior (and with one,
      ``d`` too);
    - then, while ``J'J`` is singular (``c``, then ``d``, then ``s1`` is fixed) or a
      parameter's standard error is wider than half its bound range (the widest relative
      to its range is fixed), one parameter is fixed at the prior and the rest refitted.

    Parameters
    ----------
    revenue, wallet, effort
        One value per customer-period; rows with a missing value or a wallet <= 0 are left
        out.
    prior
        ``(s0, s1, c, d)`` from the settings.
    bounds
        ``{"s0": (lo, hi), ...}``.
    customer
        Optional customer key per row, to count the customers behind the fit.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> e = rng.uniform(0, 20, 400); w = np.full(400, 1000.0)
    >>> y = response(w, 0.1, 0.5, 2.0, 5.0, e) * rng.lognormal(0, 0.05, 400)
    >>> fit = fit_response(y, w, e, prior=(0.2, 0.4, 1.0, 3.0), bounds={})
    >>> round(fit.d), fit.estimated
    (5, ('s0', 's1', 'c', 'd'))
    """
    y = np.asarray(revenue, dtype=np.float64).ravel()
    w = np.asarray(wallet, dtype=np.float64).ravel()
    e = np.asarray(effort, dtype=np.float64).ravel()
    if not (y.shape == w.shape == e.shape):
        raise ValueError("revenue, wallet and effort must have the same length")
    ok = np.isfinite(y) & np.isfinite(w) & np.isfinite(e) & (w > 0)
    y, w, e = y[ok], w[ok], np.maximum(e[ok], 0.0)
    n_obs = int(y.size)
    if customer is not None:
        cust = np.asarray(customer).ravel()
        n_customers = int(np.unique(cust[ok]).size) if cust.shape == ok.shape else n_obs
    else:
        n_customers = n_obs

    lo = np.array([bounds.get(p, DEFAULT_BOUNDS[p])[0] for p in PARAMETERS], dtype=np.float64)
    hi = np.array([bounds.get(p, DEFAULT_BOUNDS[p])[1] for p in PARAMETERS], dtype=np.float64)
    if np.any(lo > hi):
        bad = PARAMETERS[int(np.argmax(lo > hi))]
        raise ValueError(f"bounds for {bad}: lower {lo[PARAMETERS.index(bad)]} above upper")
    theta0 = np.clip(np.asarray(prior, dtype=np.float64), lo, hi)

    def keep_prior() -> ResponseFit:
        s0, s1, c, d = (float(x) for x in theta0)
        return ResponseFit(s0, s1, c, d, {}, n_customers, (), n_obs)

    if n_obs < MIN_OBSERVATIONS:
        return keep_prior()
    share = y / w
    n_levels = int(np.unique(e[e > 0]).size)
    free = [True, True, True, True]
    if n_levels == 0:
        free = [True, False, False, False]
    else:
        if n_levels < 3:
            free[2] = False
        if n_levels < 2:
            free[3] = False
    free_arr = np.array(free) & (hi > lo)
    theta = theta0.copy()
    se = np.full(4, np.nan)
    while free_arr.any():
        theta, se, singular = _fit(share, e, theta0, lo, hi, free_arr)
        idx = np.flatnonzero(free_arr)
        width = (hi - lo)[idx]
        rel = np.where(np.isfinite(se[idx]), se[idx] / np.maximum(width / 2, 1e-300), np.inf)
        if not singular and np.all(rel <= 1.0):
            break
        if singular:  # the shape goes first, then the half-effort, then the ceiling
            drop = next(i for i in (2, 3, 1, 0) if free_arr[i])
        else:  # the least identified keeps the prior
            drop = int(idx[int(np.argmax(rel))])
        free_arr[drop] = False
        theta = theta0.copy()
        se = np.full(4, np.nan)
    if not free_arr.any():
        return keep_prior()
    estimated = tuple(p for p, f in zip(PARAMETERS, free_arr, strict=True) if f)
    return ResponseFit(
        float(theta[0]),
        float(theta[1]),
        float(theta[2]),
        float(theta[3]),
        {p: float(se[i]) for i, p in enumerate(PARAMETERS) if free_arr[i]},
        n_customers,
        estimated,
        n_obs,
    )


def _fit(
    share: NDArray[np.float64],
    e: NDArray[np.float64],
    theta0: NDArray[np.float64],
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    free: NDArray[np.bool_],
) -> tuple[NDArray[np.float64], NDArray[np.float64], bool]:
    """Least squares over the ``free`` parameters; returns theta, standard errors and
    whether ``J'J`` was singular."""
    idx = np.flatnonzero(free)

    def full(x: NDArray[np.float64]) -> NDArray[np.float64]:
        t = theta0.copy()
        t[idx] = x
        return t

    def resid(x: NDArray[np.float64]) -> NDArray[np.float64]:
        s0, s1, c, d = full(x)
        return np.asarray(s0 + (s1 - s0) * _saturation(e, c, d) - share, dtype=np.float64)

    def jac(x: NDArray[np.float64]) -> NDArray[np.float64]:
        s0, s1, c, d = full(x)
        g = _saturation(e, c, d)
        with np.errstate(divide="ignore", invalid="ignore"):
            # dg/dc = g (1 - g) ln(e/d); dg/dd = -g (1 - g) c / d
            log_ratio = np.where(e > 0, np.log(np.where(e > 0, e, 1.0) / d), 0.0)
        gg = g * (1.0 - g)
        cols = [1.0 - g, g, (s1 - s0) * gg * log_ratio, -(s1 - s0) * gg * c / d]
        return np.column_stack([cols[i] for i in idx]).astype(np.float64)

    x0 = theta0[idx]
    # a start exactly on a bound is allowed by least_squares only strictly inside
    span = hi[idx] - lo[idx]
    x0 = np.clip(x0, lo[idx] + 1e-9 * span, hi[idx] - 1e-9 * span)
    res = least_squares(resid, x0, jac=jac, bounds=(lo[idx], hi[idx]), method="trf")
    theta = full(np.asarray(res.x, dtype=np.float64))
    j = jac(np.asarray(res.x, dtype=np.float64))
    n, k = j.shape
    dof = max(n - k, 1)
    sigma2 = float(np.sum(res.fun**2)) / dof
    jtj = j.T @ j
    se = np.full(4, np.nan)
    singular = False
    try:
        sv = np.linalg.svd(jtj, compute_uv=False)
        if sv[-1] <= sv[0] * 1e-12 or sv[0] == 0:
            singular = True
        else:
            cov = sigma2 * np.linalg.inv(jtj)
            se[idx] = np.sqrt(np.maximum(np.diag(cov), 0.0))
    except np.linalg.LinAlgError:
        singular = True
    return theta, se, singular
