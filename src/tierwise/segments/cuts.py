r"""Cut points between the levels of one axis (current value or potential), found in the data.

Every method works on the customers with a positive figure, optionally weighted (a
bootstrap resample is a weight per customer: how often it was drawn). A cut point is a
threshold ``t``: a customer with figure ``x ≥ t`` is at or above that level, so equal
figures always share a level. Figures of zero or below, and missing ones, are the lowest
level.

**Computed ABC** (Ultsch & Lötsch 2015, *Computed ABC analysis for rational selection of
most informative variables in multivariate data*, PLoS ONE 10(6): e0129767). Sort the
figures from largest to smallest; after the first :math:`i` customers the ABC curve is at

.. math::

    x_i = \frac{\sum_{j \le i} w_j}{\sum_j w_j}, \qquad
    y_i = \frac{\sum_{j \le i} w_j v_j}{\sum_j w_j v_j}

(the share of customers, the "effort", and the share of the total, the "yield"). Three
points on it:

- the *Pareto point*, the point of the curve nearest the ideal point (0, 1): minimal
  :math:`x_i^2 + (1 - y_i)^2`;
- the *break-even point*, where the curve's slope is 1: the slope over customer :math:`i`
  is :math:`v_i / \bar v` (its figure over the mean), so it is the customer whose figure is
  nearest the mean;
- the *submarginal point*, the point of the curve nearest :math:`(x_B, 1)`, where
  :math:`x_B` is the larger abscissa of the two points above.

Set A (the important few) runs to the Pareto or break-even point, whichever comes first;
set C (the trivial many) starts after the submarginal point; B is in between. With two
levels the one cut is the submarginal point (A and B together against C).

**Pareto shares**: rank by figure, largest first; a customer is in the top level while the
customers ranked above it hold less than the first share of the total, and so on (the
classic 80/95 ABC).

**Quantiles**: the cut is the smallest figure with more than the given share of customers
below it (the top 20% are those at or above the 80% cut).

**Natural breaks**: the exact one-dimensional k-means (Fisher 1958, "On grouping for
maximum homogeneity", JASA 53; Jenks' natural breaks): the partition of the sorted figures
into :math:`k` runs minimising the weighted within-run sum of squares, by dynamic
programming with the monotone split points of Wang & Song (2011, *Ckmeans.1d.dp*, R
Journal 3(2)) found by divide and conquer, vectorised over each layer. The cut points are
the smallest figure of each run above the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "METHODS",
    "AxisData",
    "CutPoints",
    "computed_abc",
    "find_cuts",
    "levels",
    "natural_breaks",
    "pareto_cuts",
    "quantile_cuts",
]

METHODS = ("computed_abc", "pareto", "quantiles", "natural_breaks")


@dataclass(frozen=True)
class CutPoints:
    """The cut points of one axis and how they were found.

    Attributes
    ----------
    thresholds
        Increasing figures; a customer's level is how many of them its figure reaches
        (0 = lowest).
    method
        The method's name.
    how
        One sentence saying how the cuts were found, for the manifest and the report.
    details
        The method's own figures (points on the curve, shares, within-run sums of squares).
    """

    thresholds: tuple[float, ...]
    method: str
    how: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class AxisData:
    """The positive figures of one axis sorted from largest to smallest, prepared once so
    that a bootstrap resample only brings new weights.

    ``index`` maps each sorted figure back to its row; ``values`` are the figures.
    """

    values: np.ndarray
    index: np.ndarray

    @classmethod
    def from_figures(cls, x: np.ndarray, use: np.ndarray | None = None) -> AxisData:
        """The rows of ``x`` (where ``use``) with a positive figure, largest first, ties
        by row."""
        x = np.asarray(x, dtype=np.float64)
        ok = np.isfinite(x) & (x > 0)
        if use is not None:
            ok &= use
        idx = np.flatnonzero(ok)
        order = np.lexsort((idx, -x[idx]))
        return cls(values=x[idx][order], index=idx[order])

    def weights(self, counts: np.ndarray | None) -> np.ndarray | None:
        """Per-row draw counts → weights in the sorted order (``None`` = all once)."""
        return None if counts is None else counts[self.index].astype(np.float64)


def levels(x: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Level of each figure: how many thresholds it reaches; zero, negative or missing
    figures are level 0.

    Examples
    --------
    >>> levels(np.array([5.0, 1.0, 0.0, -2.0, np.nan, 3.0]), [2.0, 5.0]).tolist()
    [2, 0, 0, 0, 0, 1]
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(x.shape, dtype=np.int8)
    # a handful of thresholds: one comparison each beats a binary search per figure
    # (NaN compares false, so a missing figure stays at 0)
    for t in thresholds:
        out += x >= t
    out[~(x > 0)] = 0
    return out


def _prep(values: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted-descending positive values and their weights (zero-weight rows kept)."""
    ax = AxisData.from_figures(np.asarray(values, dtype=np.float64))
    w = (
        np.ones(len(ax.values))
        if weights is None
        else np.asarray(weights, dtype=np.float64)[ax.index]
    )
    return ax.values, w


# -- computed ABC ----------------------------------------------------------------------


def _nearest(
    x0: np.ndarray, y0: np.ndarray, w: np.ndarray, v: np.ndarray, tw: float, tv: float, tx: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per customer, the point of its stretch of the curve nearest ``(tx, 1)``.

    A customer drawn ``w`` times is ``w`` points of the curve, each ``1/tw`` further along x
    and ``v/tv`` further up y from ``(x0, y0)``; the squared distance is a parabola in the
    copy number m, so the nearest copy is the rounded vertex kept within [1, w]. Returns the
    squared distance and the point (x, y); customers not drawn get an infinite distance.
    """
    a = 1.0 / tw
    # a customer not drawn may dwarf a resample's tiny total: its figures overflow harmlessly
    # (it is given an infinite distance below)
    with np.errstate(over="ignore", invalid="ignore"):
        b = v / tv
        m_best = np.ones(len(w))
        best_d = (x0 + a - tx) ** 2 + (1.0 - y0 - b) ** 2  # the first copy
        many = np.flatnonzero(w > 1)  # only customers drawn twice or more have a choice
        if len(many):
            x0m, y0m, bm, wm = x0[many], y0[many], b[many], w[many]
            vertex = (a * (tx - x0m) + bm * (1.0 - y0m)) / (a * a + bm * bm)
            dm, mm = best_d[many], m_best[many]
            # the floor first, so that of two equally near copies the earlier wins
            for m in (np.floor(vertex), np.ceil(vertex)):
                m = np.clip(np.nan_to_num(m, nan=1.0), 1, wm)
                d = (x0m + m * a - tx) ** 2 + (1.0 - y0m - m * bm) ** 2
                better = d < dm
                dm = np.where(better, d, dm)
                mm = np.where(better, m, mm)
            best_d[many], m_best[many] = dm, mm
    best_d[w <= 0] = np.inf
    return best_d, x0 + m_best * a, y0 + m_best * b


def _abc_sorted(v: np.ndarray, w: np.ndarray) -> tuple[int, int, int, int, np.ndarray, np.ndarray]:
    """Indices (into ``v``) of the Pareto, break-even and submarginal points and of the
    A|B limit, and each point's (x, y). ``v`` is sorted descending; ``w`` may hold zeros
    (customers not drawn)."""
    present = w > 0
    cw = np.cumsum(w)
    cwv = np.cumsum(w * v)
    tw, tv = float(cw[-1]), float(cwv[-1])
    x0 = (cw - w) / tw
    y0 = (cwv - w * v) / tv
    d, px, py = _nearest(x0, y0, w, v, tw, tv, 0.0)
    i_pareto = int(np.argmin(d))
    mean = tv / tw
    with np.errstate(over="ignore"):
        gap = np.abs(v / mean - 1.0)
    gap[~present] = np.inf
    # the last of equally near points: the slope falls through 1 there (at the end of the
    # customer's stretch)
    i_even = int(len(gap) - 1 - np.argmin(gap[::-1]))
    x_even = cw[i_even] / tw
    if i_pareto <= i_even:
        i_ab, x_b = i_pareto, x_even
    else:
        i_ab, x_b = i_even, float(px[i_pareto])
    d_sub, sx, sy = _nearest(x0, y0, w, v, tw, tv, x_b)
    i_sub = int(np.argmin(d_sub))
    xs = cw / tw
    ys = cwv / tv
    xs[i_pareto], ys[i_pareto] = px[i_pareto], py[i_pareto]
    xs[i_sub], ys[i_sub] = sx[i_sub], sy[i_sub]
    return i_pareto, i_even, i_sub, i_ab, xs, ys


def computed_abc(
    values: np.ndarray, weights: np.ndarray | None = None, n_levels: int = 3
) -> CutPoints:
    """Cut points by computed ABC analysis (Ultsch & Lötsch 2015).

    Parameters
    ----------
    values
        One figure per customer; only positive ones take part.
    weights
        Optional weight per customer (bootstrap draw counts).
    n_levels
        3 (A, B, C) or 2 (A and B together against C), or 1 (no cut).

    Examples
    --------
    Ten customers: the Pareto point is the second (50), the break-even point the third (20,
    nearest the mean 19.6), the submarginal point the fourth (10). A is 100 and 50, B 20
    and 10, C the rest.

    >>> cp = computed_abc(np.array([100.0, 50, 20, 10, 5, 4, 3, 2, 1, 1]))
    >>> cp.thresholds
    (10.0, 50.0)
    """
    v, w = _prep(values, weights)
    if not (w > 0).any():
        return CutPoints(tuple([np.inf] * (n_levels - 1)), "computed_abc", "no positive figure")
    i_p, i_e, i_s, i_ab, x, y = _abc_sorted(v, w)
    t_high, t_low = float(v[i_ab]), float(v[i_s])
    thresholds = {3: (t_low, t_high), 2: (t_low,), 1: ()}[n_levels]

    def point(i: int) -> dict[str, float]:
        return {"x": float(x[i]), "y": float(y[i]), "figure": float(v[i])}

    ab_name = "Pareto point" if i_ab == i_p else "break-even point"
    how = (
        f"computed ABC (Ultsch & Lötsch 2015) on {int((w > 0).sum())} customers: top level to "
        f"the {ab_name} ({x[i_ab]:.0%} of customers, {y[i_ab]:.0%} of the total); bottom level "
        f"after the submarginal point ({x[i_s]:.0%} of customers, {y[i_s]:.0%} of the total)"
    )
    if n_levels == 2:
        how = (
            f"computed ABC (Ultsch & Lötsch 2015) on {int((w > 0).sum())} customers: the cut is "
            f"the submarginal point ({x[i_s]:.0%} of customers, {y[i_s]:.0%} of the total)"
        )
    details = {
        "pareto_point": point(i_p),
        "break_even_point": point(i_e),
        "submarginal_point": point(i_s),
        "ab_limit": ab_name,
        "customers_on_curve": int((w > 0).sum()),
    }
    return CutPoints(thresholds, "computed_abc", how, details)


# -- Pareto shares and quantiles -------------------------------------------------------


def _pareto_sorted(v: np.ndarray, w: np.ndarray, shares: Sequence[float]) -> list[float]:
    present = w > 0
    wv = w * v
    before = (np.cumsum(wv) - wv) / wv.sum()
    out = []
    for s in shares:
        hit = np.flatnonzero(present & (before < s))
        out.append(float(v[hit[-1]]) if len(hit) else float(v[np.flatnonzero(present)[0]]))
    return sorted(out)


def pareto_cuts(
    values: np.ndarray, shares: Sequence[float], weights: np.ndarray | None = None
) -> CutPoints:
    """Cut points by cumulative shares of the total (classic ABC).

    Examples
    --------
    >>> pareto_cuts(np.array([50.0, 30, 15, 5]), [0.8, 0.95]).thresholds
    (15.0, 30.0)
    """
    v, w = _prep(values, weights)
    if not (w > 0).any():
        return CutPoints(tuple([np.inf] * len(shares)), "pareto", "no positive figure")
    t = _pareto_sorted(v, w, shares)
    how = "Pareto shares: " + ", ".join(
        f"the customers above hold less than {s:.0%} of the total" for s in shares
    )
    return CutPoints(tuple(t), "pareto", how, {"shares": list(map(float, shares))})


def _quantile_sorted(v: np.ndarray, w: np.ndarray, qs: Sequence[float]) -> list[float]:
    va, wa = v[::-1], w[::-1]
    cum = np.cumsum(wa) / wa.sum()
    return [float(va[min(int(np.searchsorted(cum, q, side="right")), len(va) - 1)]) for q in qs]


def quantile_cuts(
    values: np.ndarray, quantiles: Sequence[float], weights: np.ndarray | None = None
) -> CutPoints:
    """Cut points at shares of customers.

    Examples
    --------
    >>> quantile_cuts(np.arange(1.0, 11.0), [0.5, 0.8]).thresholds
    (6.0, 9.0)
    """
    v, w = _prep(values, weights)
    if not (w > 0).any():
        return CutPoints(tuple([np.inf] * len(quantiles)), "quantiles", "no positive figure")
    t = _quantile_sorted(v, w, quantiles)
    how = "quantiles: " + ", ".join(f"{q:.0%} of customers below" for q in quantiles)
    return CutPoints(tuple(t), "quantiles", how, {"quantiles": list(map(float, quantiles))})


# -- natural breaks (exact 1-D k-means) ------------------------------------------------


def _kmeans_1d(x: np.ndarray, w: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """Start index of each run of the optimal k-run partition of ascending ``x`` (weights
    ``w`` > 0) and its within-run sum of squares."""
    n = len(x)
    k = min(k, n)
    xc = x - np.average(x, weights=w)
    p0 = np.concatenate([[0.0], np.cumsum(w)])
    p1 = np.concatenate([[0.0], np.cumsum(w * xc)])
    p2 = np.concatenate([[0.0], np.cumsum(w * xc * xc)])

    def cost(j: np.ndarray, i: np.ndarray) -> np.ndarray:
        # runs j..i inclusive
        sw = p0[i + 1] - p0[j]
        sx = p1[i + 1] - p1[j]
        return np.maximum(p2[i + 1] - p2[j] - sx * sx / sw, 0.0)

    rows = np.arange(n)
    prev = cost(np.zeros(n, dtype=np.int64), rows)
    starts: list[np.ndarray] = []
    for m in range(1, k):
        cur = np.full(n, np.inf)
        arg = np.zeros(n, dtype=np.int64)
        # subproblems: rows [ilo, ihi] whose optimal start lies in [jlo, jhi]
        ilo = np.array([m])
        ihi = np.array([n - 1])
        jlo = np.array([m])
        jhi = np.array([n - 1])
        while len(ilo):
            mid = (ilo + ihi) // 2
            top = np.minimum(jhi, mid)
            span = top - jlo + 1
            seg = np.repeat(np.arange(len(mid)), span)
            offs = np.cumsum(span) - span
            j = jlo[seg] + (np.arange(span.sum()) - offs[seg])
            vals = prev[j - 1] + cost(j, mid[seg])
            best = np.minimum.reduceat(vals, offs)
            hit = np.flatnonzero(vals == best[seg])
            first = hit[np.unique(seg[hit], return_index=True)[1]]
            cur[mid] = best
            arg[mid] = j[first]
            left = ilo <= mid - 1
            right = mid + 1 <= ihi
            ilo, ihi, jlo, jhi = (
                np.concatenate([ilo[left], mid[right] + 1]),
                np.concatenate([mid[left] - 1, ihi[right]]),
                np.concatenate([jlo[left], arg[mid][right]]),
                np.concatenate([arg[mid][left], jhi[right]]),
            )
        prev = cur
        starts.append(arg)
    # walk back from the last row
    bounds = [0] * k
    i = n - 1
    for m in range(k - 1, 0, -1):
        j = int(starts[m - 1][i])
        bounds[m] = j
        i = j - 1
    return np.array(bounds, dtype=np.int64), float(prev[n - 1])


def natural_breaks(values: np.ndarray, k: int, weights: np.ndarray | None = None) -> CutPoints:
    """Cut points by exact one-dimensional k-means (natural breaks).

    Examples
    --------
    >>> natural_breaks(np.array([1.0, 2, 3, 10, 11, 12, 50, 51]), 3).thresholds
    (10.0, 50.0)
    """
    v, w = _prep(values, weights)
    present = w > 0
    if not present.any():
        return CutPoints(tuple([np.inf] * (k - 1)), "natural_breaks", "no positive figure")
    t, wss, tss = _breaks_sorted(v, w, k)
    how = (
        f"natural breaks (exact 1-D k-means, {k} runs) on {int(present.sum())} customers: "
        f"{1 - wss / tss if tss > 0 else 1.0:.0%} of the variance between runs"
    )
    details = {"within_ss": wss, "total_ss": tss}
    return CutPoints(t, "natural_breaks", how, details)


def _breaks_sorted(v: np.ndarray, w: np.ndarray, k: int) -> tuple[tuple[float, ...], float, float]:
    present = w > 0
    # ascending unique figures with summed weights: equal figures never split
    uniq, inv = np.unique(v[present], return_inverse=True)
    uw = np.bincount(inv, weights=w[present])
    starts, wss = _kmeans_1d(uniq, uw, k)
    mean = np.average(uniq, weights=uw)
    tss = float(np.sum(uw * (uniq - mean) ** 2))
    t = [float(uniq[s]) for s in starts[1:]]
    t += [np.inf] * (k - 1 - len(t))
    return tuple(t), wss, tss


# -- one entry point -------------------------------------------------------------------


def find_cuts(
    axis: AxisData,
    method: str,
    n_levels: int,
    *,
    counts: np.ndarray | None = None,
    pareto_shares: Sequence[float] = (0.8, 0.95),
    quantiles: Sequence[float] = (0.5, 0.8),
    describe: bool = False,
) -> CutPoints:
    """The ``n_levels - 1`` cut points of a prepared axis by ``method``.

    An axis with fewer levels than the method gives keeps the cuts nearest the bottom.
    ``counts`` are bootstrap draw counts per row (``None``: every row once);
    ``describe`` adds the sentence and details (skipped in the bootstrap).

    Examples
    --------
    >>> ax = AxisData.from_figures(np.array([50.0, 30, 15, 5, 0, -3]))
    >>> find_cuts(ax, "pareto", 3).thresholds
    (15.0, 30.0)
    """
    if n_levels <= 1:
        return CutPoints((), method, "one level: no cut")
    v = axis.values
    w = np.ones(len(v)) if counts is None else counts[axis.index].astype(np.float64)
    if not (w > 0).any():
        return CutPoints(tuple([np.inf] * (n_levels - 1)), method, "no positive figure")
    if describe:
        if method == "computed_abc":
            return computed_abc(v, w, n_levels)
        if method == "natural_breaks":
            return natural_breaks(v, n_levels, w)
        if method == "pareto":
            cp = pareto_cuts(v, pareto_shares, w)
        else:
            cp = quantile_cuts(v, quantiles, w)
        return CutPoints(cp.thresholds[: n_levels - 1], cp.method, cp.how, cp.details)
    if method == "computed_abc":
        _, _, i_s, i_ab, _, _ = _abc_sorted(v, w)
        return CutPoints(((float(v[i_s]), float(v[i_ab]))[: n_levels - 1]), method)
    if method == "pareto":
        return CutPoints(tuple(_pareto_sorted(v, w, pareto_shares)[: n_levels - 1]), method)
    if method == "quantiles":
        return CutPoints(tuple(_quantile_sorted(v, w, quantiles)[: n_levels - 1]), method)
    if method == "natural_breaks":
        return CutPoints(_breaks_sorted(v, w, n_levels)[0], method)
    raise ValueError(f"unknown cut method {method!r}; methods are {', '.join(METHODS)}")
