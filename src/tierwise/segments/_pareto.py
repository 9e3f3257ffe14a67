"""The classic A/B/C split by value (Pareto ABC), used by the duplicate report to show which
customers change class when their records are merged."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["abc_classes"]


def abc_classes(values: np.ndarray, cuts: Sequence[float] = (0.8, 0.95)) -> np.ndarray:
    """Pareto ABC classes by share of total value.

    Customers are ranked by value; a customer is A while the customers ranked above it hold
    less than ``cuts[0]`` of the total, B below ``cuts[1]``, and so on, one class per cut and
    one more for the rest with positive value; zero, negative or missing value gets the
    letter after that (D with the two default cuts, E with three). Ties are broken by
    position, so equal inputs give equal outputs.

    Parameters
    ----------
    values
        One value per customer (e.g. revenue over the last 12 months).
    cuts
        Increasing cumulative shares that close classes A, B, … (one class per cut, then C).

    Examples
    --------
    >>> abc_classes(np.array([50.0, 30.0, 15.0, 5.0, 0.0])).tolist()
    ['A', 'A', 'B', 'C', 'D']
    >>> abc_classes(np.array([50.0, 30.0, 15.0, 5.0, 0.0]), cuts=(0.5, 0.8, 0.95)).tolist()
    ['A', 'B', 'C', 'D', 'E']
    """
    v = np.asarray(values, dtype=np.float64)
    out = np.full(v.shape, chr(ord("A") + len(cuts) + 1), dtype=object)
    positive = np.isfinite(v) & (v > 0)
    if not positive.any():
        return out
    idx = np.flatnonzero(positive)
    order = idx[np.argsort(-v[idx], kind="stable")]
    sorted_v = v[order]
    before = (np.cumsum(sorted_v) - sorted_v) / sorted_v.sum()
    labels = np.array([chr(ord("A") + i) for i in range(len(cuts) + 1)], dtype=object)
    out[order] = labels[np.searchsorted(np.asarray(cuts, dtype=np.float64), before, side="right")]
    return out
