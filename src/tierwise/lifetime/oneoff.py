"""P(alive) of one-off buyers from the base's own repeat history, for BG/NBD.

BG/NBD flips its drop-out coin only after a *repeat* purchase, so a customer with a single
purchase day keeps P(alive) = 1 however long ago it bought (Fader, Hardie and Lee 2005, eq.
13 with ``x = 0``); its expected purchases and lifetime value are then those of a live
customer buying at the low rate its silence implies. Beside a status of "lapsed" that figure
contradicts what the data show. Where BG/NBD is the model used, the lifetime stage replaces
it for these customers by the share of first-time buyers who, after as long a silence,
still placed a second order.

Let ``G`` be the time from a customer's first purchase day to its second. It is observed for
the repeat buyers and censored at the tenure ``T`` (days since the first purchase day) for
the one-off buyers. Its Kaplan-Meier estimate is

.. math::

    \\hat S(t) = \\prod_{g_j \\le t} \\left(1 - \\frac{d_j}{n_j}\\right)

with ``d_j`` the repeat buyers whose second purchase came ``g_j`` days after the first and
``n_j`` the customers still without a second purchase at ``g_j`` and observed that long.
Some first-time buyers never come back (a mixture cure model: Berkson and Gage 1952); the
estimate levels off at the last observed ``g``, and that level ``S_inf = S(g_max)``
estimates the share who never will. A one-off buyer silent for ``t`` days then places a
second order with probability

.. math::

    P(\\text{alive} \\mid t) = \\frac{\\hat S(t) - S_\\infty}{\\hat S(t)}
        = 1 - \\frac{S_\\infty}{\\hat S(t)}

which falls from ``1 - S_inf`` (the repeat share of all first-time buyers) at ``t = 0`` to 0
once ``t`` passes the longest wait for a second order seen in the data. Where that level is
0 (the customer observed longest repeated), no first-time buyer is seen never to return and
P(alive) stays 1 for the one-off buyers, as under BG/NBD.

The level is only an estimate of the never-returning share when the history reaches well
past the waits seen (Maller and Zhou 1996, "sufficient follow-up"); on a short history
later second orders are not yet visible and the figure understates P(alive) for the
longest-silent one-off buyers.

References: E. L. Kaplan and P. Meier (1958), "Nonparametric estimation from incomplete
observations", JASA 53, 457-481; J. Berkson and R. P. Gage (1952), "Survival curve for
cancer patients following treatment", JASA 47, 501-515; R. A. Maller and X. Zhou (1996),
"Survival Analysis with Long-Term Survivors", Wiley.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["RepeatHistory", "one_off_p_alive", "repeat_history"]


@dataclass(frozen=True)
class RepeatHistory:
    """The Kaplan-Meier estimate of the wait from the first purchase day to the second.

    Attributes
    ----------
    times
        The distinct waits of the repeat buyers, ascending; days.
    survival
        ``S(t)`` just after each of ``times``: the share of first-time buyers still without
        a second purchase day that long after their first.
    n_repeat, n_once
        Repeat buyers (observed waits) and one-off buyers (censored at their tenure).
    """

    times: np.ndarray
    survival: np.ndarray
    n_repeat: int
    n_once: int

    @property
    def never_share(self) -> float:
        """``S_inf``: the estimated share of first-time buyers who never order again."""
        return float(self.survival[-1]) if len(self.survival) else 1.0

    @property
    def longest_wait(self) -> float | None:
        """The longest wait for a second purchase day seen; days (None without one)."""
        return float(self.times[-1]) if len(self.times) else None

    def at(self, t: ArrayLike) -> np.ndarray:
        """``S(t)``: 1 before the first wait, then the step function (right-continuous)."""
        ta = np.asarray(t, dtype=np.float64)
        if not len(self.times):
            return np.ones_like(ta)
        k = np.searchsorted(self.times, ta, side="right")
        return np.where(k == 0, 1.0, self.survival[np.maximum(k - 1, 0)])

    def to_manifest(self) -> dict[str, float | int | None]:
        """The figures the manifest records."""
        return {
            "repeat_buyers": self.n_repeat,
            "one_off_buyers": self.n_once,
            "repeat_share": 1.0 - self.never_share,
            "longest_wait_days": self.longest_wait,
        }


def repeat_history(wait_days: ArrayLike, tenure_days: ArrayLike) -> RepeatHistory:
    """Kaplan-Meier estimate of the wait for a second purchase day.

    Parameters
    ----------
    wait_days
        Each repeat buyer's days from its first purchase day to its second.
    tenure_days
        Each one-off buyer's days since its first purchase day (censored waits).

    Examples
    --------
    >>> h = repeat_history([10, 20, 20, 40], [5, 30, 60, 90])
    >>> h.times.tolist(), h.survival.round(3).tolist()
    ([10.0, 20.0, 40.0], [0.857, 0.571, 0.381])
    >>> round(h.never_share, 3), h.longest_wait
    (0.381, 40.0)
    """
    g = np.asarray(wait_days, dtype=np.float64).reshape(-1)
    c = np.asarray(tenure_days, dtype=np.float64).reshape(-1)
    g, c = g[np.isfinite(g)], c[np.isfinite(c)]
    times, deaths = np.unique(g, return_counts=True)
    # at risk at each wait: customers whose wait or tenure is at least that long
    every = np.sort(np.concatenate([g, c]))
    at_risk = len(every) - np.searchsorted(every, times, side="left")
    survival = np.cumprod(1.0 - deaths / at_risk)
    return RepeatHistory(times, survival, len(g), len(c))


def one_off_p_alive(history: RepeatHistory, silent_days: ArrayLike) -> np.ndarray:
    """P(a second order) of one-off buyers silent ``silent_days``: ``1 - S_inf / S(t)``.

    Examples
    --------
    >>> h = repeat_history([10, 20, 20, 40], [5, 30, 60, 90])
    >>> one_off_p_alive(h, [0, 25, 60]).round(3).tolist()
    [0.619, 0.333, 0.0]
    """
    s = history.at(silent_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(s > 0, 1.0 - history.never_share / np.where(s > 0, s, 1.0), 0.0)
    return np.clip(p, 0.0, 1.0)
