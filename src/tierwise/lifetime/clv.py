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
in net-profit terms.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from ._fitting import FloatArray, as_float, distinct_rows

__all__ = ["DAYS_PER_MONTH", "TransactionModel", "customer_lifetime_value"]

DAYS_PER_MONTH = 365.25 / 12


class TransactionModel(Protocol):
    """What CLV needs from a purchase-count model (BG/NBD, Pareto/NBD)."""

    def expected_purchases_if_alive(self, t: float, x: ArrayLike, T: ArrayLike) -> FloatArray: ...

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray: ...


def customer_lifetime_value(
    model: TransactionModel,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
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
    x, t_x, T
        Each customer's history, in the model's time unit.
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
    >>> m = BetaGeoModel().fit(*simulate_bgnbd(2000, 39.0, seed=3))
    >>> v = customer_lifetime_value(m, [2], [20], [39], [50.0], horizon_months=12)
    >>> bool(v[0] > 0)
    True
    """
    xa, ta, Ta = as_float("x", x), as_float("t_x", t_x), as_float("T", T)
    value = as_float("order_value", order_value)
    # E[Y(t)] = P(alive) * E[Y(t) | alive], the latter a function of (x, T) only
    (xd, Td), _, inv = distinct_rows(xa, Ta)
    # the models' unchecked fast path on rows already distinct, where they have one
    step = getattr(model, "_if_alive", model.expected_purchases_if_alive)
    month = DAYS_PER_MONTH / days_per_unit
    total = np.zeros(len(xd))
    prev = np.zeros(len(xd))
    monthly = (1.0 + discount_rate) ** (1.0 / 12.0)
    for k in range(1, horizon_months + 1):
        cum = step(k * month, xd, Td)
        total += (cum - prev) / monthly**k
        prev = cum
    out = total[inv] * model.p_alive(xa, ta, Ta) * value
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
