"""Customer status from recency relative to the customer's own purchase rhythm.

Each customer's usual gap is the mean time between their purchase days
(``(last - first) / (purchase days - 1)``, floored at ``min_gap_days``); single-purchase
customers get ``default_gap_days`` or, by default, the median gap of the repeat buyers.
With ``recency`` the days since the last purchase and ``ratio = recency / gap``:

=========  ==========================================================================
prospect   no purchase at all
new        first purchase at most ``new_days`` ago
active     ratio <= ``at_risk_ratio``
at_risk    ``at_risk_ratio`` < ratio <= ``inactive_ratio``
inactive   ratio > ``inactive_ratio`` and recency <= ``lapsed_days``
lapsed     ratio > ``inactive_ratio`` and recency > ``lapsed_days``
=========  ==========================================================================

Every status comes with a plain-language reason.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import ArrayLike

from ..settings.lifetime import LifetimeSettings

__all__ = ["STATUSES", "customer_status"]

#: Statuses in the order of increasing lapse.
STATUSES = ("prospect", "new", "active", "at_risk", "inactive", "lapsed")


def _num(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.round(values).astype(np.int64)), pa.string())


def customer_status(
    recency_days: ArrayLike,
    tenure_days: ArrayLike,
    span_days: ArrayLike,
    x: ArrayLike,
    settings: LifetimeSettings | None = None,
) -> tuple[pa.Array, pa.Array, np.ndarray]:
    """Status and reason per customer.

    Parameters
    ----------
    recency_days
        Days since the last purchase (NaN for prospects).
    tenure_days
        Days since the first purchase (NaN for prospects).
    span_days
        Days from the first to the last purchase (``t_x`` in days).
    x
        Repeat purchase days (purchase days - 1); negative or NaN for prospects.
    settings
        The thresholds; defaults when ``None``.

    Returns
    -------
    status, reason, gap_days
        Two Arrow string arrays and the usual gap used (days).

    Examples
    --------
    >>> s, r, _ = customer_status([10, 350, 40], [400, 900, 20], [390, 500, 0], [12, 5, 0])
    >>> s.to_pylist()
    ['active', 'inactive', 'new']
    >>> r[0].as_py()
    'last order 10 days ago; usually orders every 32 days'
    """
    cfg = settings or LifetimeSettings()
    rec = as_float_nan(recency_days)
    ten = as_float_nan(tenure_days)
    span = as_float_nan(span_days)
    xa = as_float_nan(x)
    prospect = ~np.isfinite(rec) | ~(xa >= 0)
    repeat = (xa > 0) & ~prospect
    own_gap = np.where(repeat, span / np.where(repeat, xa, 1.0), np.nan)
    if cfg.default_gap_days is not None:
        fallback = float(cfg.default_gap_days)
    elif np.any(repeat):
        fallback = float(np.median(own_gap[repeat]))
    else:
        fallback = float(cfg.lapsed_days) / cfg.inactive_ratio
    gap = np.maximum(np.where(repeat, own_gap, fallback), cfg.min_gap_days)
    ratio = rec / gap
    new = ~prospect & (ten <= cfg.new_days)
    active = ~prospect & ~new & (ratio <= cfg.at_risk_ratio)
    at_risk = ~prospect & ~new & ~active & (ratio <= cfg.inactive_ratio)
    rest = ~prospect & ~new & ~active & ~at_risk
    lapsed = rest & (rec > cfg.lapsed_days)
    inactive = rest & ~lapsed
    codes = np.select([prospect, new, active, at_risk, inactive, lapsed], list(range(6)), default=0)
    status = pa.array(np.array(STATUSES, dtype=object)[codes], pa.string())

    recs = _num(np.nan_to_num(rec))
    gaps = _num(np.nan_to_num(gap))
    tens = _num(np.nan_to_num(ten))
    rhythm = pc.binary_join_element_wise(
        "last order ", recs, " days ago; usually orders every ", gaps, " days", ""
    )
    one_off = pc.binary_join_element_wise(
        "single order ", recs, " days ago; typical customer orders every ", gaps, " days", ""
    )
    base = pc.if_else(pa.array(repeat), rhythm, one_off)
    suffix = pc.if_else(
        pa.array(lapsed),
        pa.scalar(f"; over {cfg.lapsed_days} days without an order"),
        pa.scalar(""),
    )
    base = pc.binary_join_element_wise(base, suffix, "")
    first = pc.binary_join_element_wise(
        "first order ", tens, " days ago (within ", pa.scalar(str(cfg.new_days)), " days)", ""
    )
    reason = pc.if_else(pa.array(new), first, base)
    reason = pc.if_else(pa.array(prospect), pa.scalar("no purchases yet"), reason)
    return status, reason, gap


def as_float_nan(values: ArrayLike) -> np.ndarray:
    """Float array where nulls become NaN (prospects have no history)."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        return np.asarray(pc.fill_null(pc.cast(values, pa.float64()), np.nan), dtype=np.float64)
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    return arr
