"""Customer lifetime value: discounted expected purchases times expected order value.

.. math::

    \\mathrm{CLV}_i = \\sum_{k=1}^{H}
        \\frac{\\left(E[Y_i(k\\,\\Delta)] - E[Y_i((k-1)\\Delta)]\\right)
        \\, E[M_i] \\, \\mathrm{margin}_i}{(1 + d)^{k/12}}

with ``Delta`` one month (365.25/12 days), ``H`` the horizon in months, ``d`` the yearly
discount rate, ``E[Y]`` the conditional expected purchases of the transaction model and
``E[M]`` the Gamma-Gamma expected order value (the discounted-cash-flow form of
``lifetimes.utils.customer_lifetime_value``; Fader, Hardie and Lee 2005, "RFM and CLV").
With ``margin = 1`` the value is in revenue terms; with a per-customer net margin rate it is
in net-profit terms (the stage passes a margin shrunk towards the peers' and bounded, see
:mod:`tierwise.lifetime.margin`).

:func:`bound_clv` then keeps each value within a multiple of the customer's own spending
pace over the horizon:

.. math::

    |\\mathrm{CLV}_i| \\le k \\cdot R_i \\cdot \\max\\left(1,
        \\frac{H_{days}}{\\max(\\text{tenure}_i, \\text{min tenure})}\\right)

with ``R`` the customer's purchase revenue to date: what they would spend over the horizon
at their historical pace, times ``k``. A forecast beyond it comes from the model's population
figures rather than the customer's own history (a one-off buyer of 3.75 given the average
order value), and is cut back to it.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._fitting import FloatArray, as_float, check_fitted, distinct_rows
from .bgnbd import rft

__all__ = ["DAYS_PER_MONTH", "TransactionModel", "bound_clv", "customer_lifetime_value"]

DAYS_PER_MONTH = 365.25 / 12


class TransactionModel(Protocol):
    """What CLV needs from a fitted purchase-count model (BG/NBD, MBG/NBD, Pareto/NBD)."""

    def _if_alive(self, t: float, xd: FloatArray, Td: FloatArray) -> FloatArray: ...

    def _p_alive(self, xa: FloatArray, ta: FloatArray, Ta: FloatArray) -> FloatArray: ...


def customer_lifetime_value(
    model: TransactionModel,
    X: Any,
    order_value: ArrayLike,
    *,
    horizon_months: int = 36,
    discount_rate: float = 0.10,
    days_per_unit: float = 7.0,
    margin: ArrayLike | float | None = None,
) -> FloatArray:
    """Discounted lifetime value of each customer over a horizon.

    Parameters
    ----------
    model
        A fitted transaction model.
    X
        Each customer's ``[x, t_x, T]`` in the model's time unit (an (n, 3) array-like or a
        table with those columns).
    order_value
        Expected value of each future purchase (e.g. Gamma-Gamma's expected order value).
    horizon_months
        Months summed.
    discount_rate
        Yearly discount rate (fraction), applied monthly.
    days_per_unit
        Days in the model's time unit (1 for days, 7 for weeks).
    margin
        Net margin rate per customer (or one number) to turn revenue into profit; ``None``
        keeps revenue terms. Missing (NaN) margins count as revenue terms' 1.

    Examples
    --------
    >>> from tierwise.lifetime.bgnbd import BetaGeoModel, simulate_bgnbd
    >>> m = BetaGeoModel().fit(simulate_bgnbd(2000, 39.0, seed=3))
    >>> v = customer_lifetime_value(m, [[2, 20, 39]], [50.0], horizon_months=12)
    >>> bool(v[0] > 0)
    True
    """
    check_fitted(model)
    xa, ta, Ta = rft(X)
    value = as_float("order_value", order_value)
    # E[Y(t)] = P(alive) * E[Y(t) | alive], the latter a function of (x, T) only
    (xd, Td), _, inv = distinct_rows(xa, Ta)
    month = DAYS_PER_MONTH / days_per_unit
    total = np.zeros(len(xd))
    prev = np.zeros(len(xd))
    monthly = (1.0 + discount_rate) ** (1.0 / 12.0)
    for k in range(1, horizon_months + 1):
        cum = model._if_alive(k * month, xd, Td)
        total += (cum - prev) / monthly**k
        prev = cum
    out = total[inv] * model._p_alive(xa, ta, Ta) * value
    if margin is not None:
        if np.isscalar(margin):
            out = out * float(margin)  # type: ignore[arg-type]
        else:
            mg = np.asarray(
                margin.to_numpy(zero_copy_only=False)  # type: ignore[union-attr]
                if hasattr(margin, "to_numpy") and not isinstance(margin, np.ndarray)
                else margin,
                dtype=np.float64,
            )
            out = out * np.where(np.isfinite(mg), mg, 1.0)
    return out


def bound_clv(
    clv: ArrayLike,
    revenue: ArrayLike,
    tenure_days: ArrayLike,
    *,
    horizon_days: float,
    multiple: float,
    min_tenure_days: float,
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """Lifetime values cut back to a multiple of each customer's own spending pace.

    Parameters
    ----------
    clv
        The lifetime values (NaN stays NaN).
    revenue
        Each customer's purchase revenue to date (net of cancellations); negative counts
        as zero.
    tenure_days
        Days from the first purchase to the analysis date.
    horizon_days
        The CLV horizon in days.
    multiple
        ``k`` in the module docstring.
    min_tenure_days
        Floor on the tenure when the pace is computed (a customer who bought yesterday
        has no pace to speak of).

    Returns
    -------
    clv, bound, capped
        The bounded values, the bound per customer and which values were cut.

    Examples
    --------
    >>> v, b, cut = bound_clv([500.0, -20449.0, 90.0], [1000.0, 3.75, 40.0], [700, 657, 10],
    ...                       horizon_days=1096, multiple=3.0, min_tenure_days=90)
    >>> [round(float(x), 2) for x in v], cut.tolist()
    ([500.0, -18.77, 90.0], [False, True, False])
    """
    c = np.asarray(clv, dtype=np.float64)
    rev = np.maximum(np.nan_to_num(np.asarray(revenue, dtype=np.float64)), 0.0)
    ten = np.maximum(np.nan_to_num(np.asarray(tenure_days, dtype=np.float64)), min_tenure_days)
    bound = multiple * rev * np.maximum(1.0, horizon_days / ten)
    capped = np.isfinite(c) & (np.abs(c) > bound)
    return np.where(capped, np.sign(c) * bound, c), bound, capped
