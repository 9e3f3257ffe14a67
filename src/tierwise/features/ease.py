"""Ease of doing business: named components and one 0–100 score per customer.

Each component is a raw figure per customer (NaN where it cannot be measured for that
customer) that is turned into a score by its percentile among the customers that have it:

.. math::

    s_i = 100 \\cdot \\frac{r_i - 1/2}{n}

with :math:`r_i` the customer's mid-rank (ties share their average rank) among the
:math:`n` customers with a value, ranked so that the easiest customer has the highest rank.
The ease score is the weighted mean of the component scores a customer has, the weights
re-normalised over those components.

Components (easier when):

- ``payment_days_late``: average days paid after the due date (lower)
- ``share_invoices_late``: share of invoices paid late (lower)
- ``order_size``: average order value / minimum economic order (higher)
- ``order_changes``: order changes per order (lower)
- ``returns``: returned revenue / gross sales revenue (lower)
- ``discount_depth``: discount depth minus the median depth of the customer's peers, same
  industry and size band (lower)
- ``sales_effort``: visits and calls per unit of gross margin (lower; infinite when there was
  effort and no positive margin)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.stats import rankdata

__all__ = ["HIGHER_IS_BETTER", "ease_scores", "peer_relative", "percentile_score"]

#: Components where a larger raw value means an easier customer.
HIGHER_IS_BETTER = frozenset({"order_size"})


def percentile_score(x: np.ndarray, *, higher_is_better: bool) -> np.ndarray:
    """Mid-rank percentile of each value among the non-NaN values, 0–100 (100 = easiest).

    Examples
    --------
    >>> percentile_score(np.array([3.0, 1.0, np.nan, 2.0]), higher_is_better=False).round(1)
    array([16.7, 83.3,  nan, 50. ])
    """
    x = np.asarray(x, dtype=float)
    out = np.full(x.shape, np.nan)
    ok = ~np.isnan(x)
    n = int(ok.sum())
    if n == 0:
        return out
    vals = x[ok] if higher_is_better else -x[ok]
    ranks = rankdata(vals, method="average")
    out[ok] = 100.0 * (ranks - 0.5) / n
    return out


def peer_relative(
    value: np.ndarray,
    industry: pa.Array | pa.ChunkedArray | Sequence[str | None] | None,
    employees: np.ndarray,
    revenue: np.ndarray,
    bands: Sequence[float],
    revenue_bands: int = 5,
) -> np.ndarray:
    """``value`` minus the median of the customer's peer group (industry × size band).

    Size band by head count (``bands`` are the upper bounds); customers without a head count
    are banded by revenue instead, in ``revenue_bands`` equal-sized bands (among the
    customers without a head count).
    Customers without an industry form one industry group. NaN values stay NaN and are left
    out of medians. Vectorised: no Python loop over customers or groups.

    Examples
    --------
    >>> peer_relative(np.array([0.1, 0.3, 0.2]), ["x", "x", "y"], np.array([5.0, 8.0, 5.0]),
    ...               np.zeros(3), [10.0]).round(2)
    array([-0.1,  0.1,  0. ])
    """
    value = np.asarray(value, dtype=float)
    n = value.shape[0]
    emp = np.asarray(employees, dtype=float)
    n_bands = len(bands) + 1
    band = np.searchsorted(np.asarray(bands, dtype=float), emp, side="left").astype(np.int64)
    no_emp = np.isnan(emp)
    if no_emp.any():
        rev = np.asarray(revenue, dtype=float)[no_emp]
        cuts = np.arange(1, revenue_bands) / revenue_bands
        q = np.nanquantile(rev, cuts) if rev.size and cuts.size else np.array([])
        band[no_emp] = n_bands + np.searchsorted(q, rev, side="left")
    code = _category_codes(industry, n)
    _, group = np.unique(code * (n_bands + 5) + band, return_inverse=True)
    group = group.reshape(-1)
    out = np.full(n, np.nan)
    ok = ~np.isnan(value)
    if not ok.any():
        return out
    g, v = group[ok], value[ok]
    order = np.lexsort((v, g))  # by group, then value
    gs, vs = g[order], v[order]
    counts = np.bincount(gs, minlength=int(group.max()) + 1)
    starts = np.cumsum(counts) - counts
    has = counts > 0
    median = np.full(counts.shape[0], np.nan)
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    median[has] = (vs[lo] + vs[hi]) / 2.0
    out[ok] = v - median[g]
    return out


def _category_codes(
    values: pa.Array | pa.ChunkedArray | Sequence[str | None] | None, n: int
) -> np.ndarray:
    """Integer code per value (equal values, equal codes; missing values share code -1)."""
    if values is None:
        return np.full(n, -1, dtype=np.int64)
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if len(arr) != n:
        raise ValueError(f"industry has {len(arr)} values for {n} customers")
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    idx = pc.fill_null(pc.dictionary_encode(arr.cast(pa.string())).indices, -1)
    return np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.int64)


def ease_scores(
    components: Mapping[str, np.ndarray], weights: Mapping[str, float]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Score each component by percentile and combine them into the 0–100 ease score.

    Parameters
    ----------
    components
        Component name → raw figure per customer (NaN where not measured).
    weights
        Component name → weight; components without a weight (or weight 0) are scored but
        do not enter the total.

    Returns
    -------
    (scores, total)
        Component name → 0–100 score per customer, and the weighted total (NaN for a
        customer with no weighted component).

    Examples
    --------
    >>> s, total = ease_scores({"returns": np.array([0.0, 0.5]),
    ...                         "order_size": np.array([2.0, np.nan])},
    ...                        {"returns": 1.0, "order_size": 1.0})
    >>> total  # a: mean of returns 75 and order_size 50 (alone); b: returns 25 only
    array([62.5, 25. ])
    """
    scores: dict[str, np.ndarray] = {}
    num: np.ndarray | None = None
    den: np.ndarray | None = None
    for name, raw in components.items():
        sc = percentile_score(raw, higher_is_better=name in HIGHER_IS_BETTER)
        scores[name] = sc
        w = float(weights.get(name, 0.0))
        if w <= 0:
            continue
        has = ~np.isnan(sc)
        part = np.where(has, sc * w, 0.0)
        num = part if num is None else num + part
        wpart = np.where(has, w, 0.0)
        den = wpart if den is None else den + wpart
    if num is None or den is None:
        n = len(next(iter(components.values()))) if components else 0
        return scores, np.full(n, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return scores, total
