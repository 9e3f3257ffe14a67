"""Customer status from the customer's own rhythm, within absolute limits.

Each customer's usual gap is the mean time between their purchase days
(``(last - first) / (purchase days - 1)``, floored at ``min_gap_days``); single-purchase
customers get ``default_gap_days`` or, by default, the median gap of the repeat buyers.
With ``recency`` the days since the last purchase, two rules give a status and the worse one
is kept:

- **rhythm**: at risk after ``at_risk_ratio x gap`` days without an order, inactive after
  ``inactive_ratio x gap``, lapsed after ``lapsed_ratio x gap``, the gap counted being at
  least ``at_risk_min_days / at_risk_ratio`` (nobody is at risk before ``at_risk_min_days``,
  and the later points keep their ratios to it);
- **absolute limit**: inactive after ``inactive_days`` (365) and lapsed after
  ``lapsed_days`` (730), whatever the rhythm (a reseller who orders every 400 days and has
  been silent for 762 is lapsed, not at risk).

=========  ==========================================================================
prospect   no purchase at all (also a customer whose every line was cancelled)
new        first purchase at most ``new_days`` ago
active     within the rhythm
at_risk    past the at-risk point of the rhythm
inactive   past the inactive point of the rhythm, or the absolute inactive limit
lapsed     past the lapsed point of the rhythm, or the absolute lapsed limit
=========  ==========================================================================

Every status comes with a plain-language reason that names the rule that fired.

When no transaction model can be used, P(alive) falls back on the same rhythm
(:func:`rhythm_p_alive`): 1 up to the at-risk point, then falling by a factor e with each
further usual gap without an order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import ArrayLike

from ..settings.lifetime import LifetimeSettings

__all__ = ["STATUSES", "customer_status", "rhythm_p_alive"]

#: Statuses in the order of increasing lapse.
STATUSES = ("prospect", "new", "active", "at_risk", "inactive", "lapsed")

_ACTIVE, _AT_RISK, _INACTIVE, _LAPSED = 2, 3, 4, 5


def _num(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.round(values).astype(np.int64)), pa.string())


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _decode(codes: np.ndarray, names: tuple[str, ...]) -> pa.Array:
    """The name of each code, as a string array."""
    indices = pa.array(np.asarray(codes, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array(names, pa.string())).cast(pa.string())


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
        Two Arrow string arrays and the usual gap used (days; NaN for prospects).

    Examples
    --------
    >>> s, r, _ = customer_status([10, 350, 40, 762], [400, 900, 20, 2000],
    ...                           [390, 500, 0, 1200], [12, 5, 0, 3])
    >>> s.to_pylist()
    ['active', 'inactive', 'new', 'lapsed']
    >>> r[0].as_py()
    'last order 10 days ago; usually orders every 32 days (at risk after 49)'
    >>> r[3].as_py().split("; ")[-1]
    'lapsed: over the 730-day limit whatever the rhythm'
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
        fallback = float(cfg.lapsed_days) / cfg.lapsed_ratio
    gap = np.maximum(np.where(repeat, own_gap, fallback), cfg.min_gap_days)
    # the at-risk floor lifts the whole ladder: the gap counted is at least floor / ratio
    floored = gap < cfg.at_risk_min_days / cfg.at_risk_ratio
    scale = np.maximum(gap, cfg.at_risk_min_days / cfg.at_risk_ratio)
    risk_at = cfg.at_risk_ratio * scale
    inactive_at = cfg.inactive_ratio * scale
    lapsed_at = cfg.lapsed_ratio * scale
    r0 = np.nan_to_num(rec, nan=-1.0)
    rhythm = np.select(
        [r0 > lapsed_at, r0 > inactive_at, r0 > risk_at], [_LAPSED, _INACTIVE, _AT_RISK], _ACTIVE
    )
    absolute = np.select([r0 > cfg.lapsed_days, r0 > cfg.inactive_days], [_LAPSED, _INACTIVE], 0)
    new = ~prospect & (ten <= cfg.new_days)
    codes = np.where(prospect, 0, np.where(new, 1, np.maximum(rhythm, absolute)))
    by_limit = ~prospect & ~new & (absolute > rhythm)
    status = _decode(codes, STATUSES)

    recs, gaps, tens = (_num(np.nan_to_num(v)) for v in (rec, gap, ten))
    base = pc.if_else(
        pa.array(repeat),
        _join("last order ", recs, " days ago; usually orders every ", gaps, " days"),
        _join("single order ", recs, " days ago; a typical customer orders every ", gaps, " days"),
    )
    # the rule that fired, by status
    point = np.select(
        [codes == _AT_RISK, codes == _INACTIVE, codes == _LAPSED],
        [risk_at, inactive_at, lapsed_at],
        np.nan,
    )
    ratio = np.select(
        [codes == _AT_RISK, codes == _INACTIVE, codes == _LAPSED],
        [cfg.at_risk_ratio, cfg.inactive_ratio, cfg.lapsed_ratio],
        np.nan,
    )
    label = _decode(codes, tuple(s.replace("_", " ") for s in STATUSES))
    rhythm_text = pc.if_else(
        pa.array(floored),
        _join("; ", label, ": over ", _num(np.nan_to_num(point)), " days"),
        _join(
            "; ",
            label,
            ": over ",
            pc.cast(pa.array(np.nan_to_num(ratio)), pa.string()),
            " usual gaps (",
            _num(np.nan_to_num(point)),
            " days)",
        ),
    )
    limit = np.where(codes == _LAPSED, cfg.lapsed_days, cfg.inactive_days)
    limit_text = _join("; ", label, ": over the ", _num(limit.astype(float)), "-day limit")
    limit_text = _join(limit_text, " whatever the rhythm")
    active_text = _join(" (at risk after ", _num(np.nan_to_num(risk_at)), ")")
    reason = pc.if_else(
        pa.array(by_limit),
        _join(base, limit_text),
        pc.if_else(pa.array(codes == _ACTIVE), _join(base, active_text), _join(base, rhythm_text)),
    )
    first = _join("first order ", tens, " days ago (within ", str(cfg.new_days), " days)")
    reason = pc.if_else(pa.array(new), first, reason)
    reason = pc.if_else(pa.array(prospect), pa.scalar("no purchases yet"), reason)
    return status, reason, np.where(prospect, np.nan, gap)


def rhythm_p_alive(
    recency_days: ArrayLike, gap_days: ArrayLike, settings: LifetimeSettings | None = None
) -> np.ndarray:
    """P(alive) from the customer's own rhythm, for when no transaction model can be used.

    ``exp(-max(0, recency - at_risk_point) / gap)``: 1 until the at-risk point of the rhythm
    (``at_risk_ratio x gap``, the gap counted at least ``at_risk_min_days / at_risk_ratio``,
    as for the status), then down by a factor e per further usual gap without an order
    (0.22 at the default inactive point, 0.011 at the lapsed point). ``gap_days`` is the gap
    :func:`customer_status` returns (NaN for prospects, which get NaN).

    Examples
    --------
    >>> rhythm_p_alive([10.0, 75.0, 1095.0], [30.0, 30.0, 30.0]).round(3).tolist()
    [1.0, 0.368, 0.0]
    """
    cfg = settings or LifetimeSettings()
    rec = as_float_nan(recency_days)
    gap = np.maximum(as_float_nan(gap_days), cfg.at_risk_min_days / cfg.at_risk_ratio)
    with np.errstate(invalid="ignore"):
        return np.exp(-np.maximum(rec - cfg.at_risk_ratio * gap, 0.0) / gap)


def as_float_nan(values: ArrayLike) -> np.ndarray:
    """Float array where nulls become NaN (prospects have no history)."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        return np.asarray(pc.fill_null(pc.cast(values, pa.float64()), np.nan), dtype=np.float64)
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    return arr
