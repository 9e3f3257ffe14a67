"""Look-alike groups: which customers a customer is compared with.

Peers share a customer's values in the peer columns (by default the segments stage's
``value_class`` and ``niche``; without them ``industry`` and the head-count band). The
columns are ordered coarsest first, and a customer's group is the finest prefix of them
that holds at least ``min_peers`` buying customers: with columns (industry, size band), a
customer falls back from "Construction, 11–50 staff" to "Construction" and then to all
customers when the finer groups are too small or its value is missing. Customer-sized work,
on NumPy and pandas.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..settings.crosssell import CrossSellSettings

__all__ = ["PeerGroups", "peer_groups", "size_band", "usable_columns"]


def size_band(employees: np.ndarray, revenue: np.ndarray, bands: list[float]) -> np.ndarray:
    """Head-count band labels; annual revenue quintile where the head count is missing.

    Examples
    --------
    >>> size_band(np.array([5.0, 40.0, np.nan]), np.array([1.0, 2.0, 3.0]), [10.0, 50.0])
    array(['up to 10 staff', '11-50 staff', 'revenue quintile 5'],
          dtype=object)
    """
    emp = np.asarray(employees, dtype=np.float64)
    rev = np.asarray(revenue, dtype=np.float64)
    labels = [f"up to {bands[0]:g} staff"]
    labels += [f"{a + 1:g}-{b:g} staff" for a, b in itertools.pairwise(bands)]
    labels += [f"over {bands[-1]:g} staff"]
    out = np.full(emp.shape, None, dtype=object)
    has_emp = np.isfinite(emp)
    out[has_emp] = np.array(labels, dtype=object)[
        np.searchsorted(np.asarray(bands), emp[has_emp], side="left")
    ]
    has_rev = ~has_emp & np.isfinite(rev)
    if has_rev.any():
        known = rev[np.isfinite(rev)]
        edges = np.quantile(known, [0.2, 0.4, 0.6, 0.8])
        q = np.searchsorted(edges, rev[has_rev], side="right") + 1
        out[has_rev] = np.array([f"revenue quintile {int(x)}" for x in range(1, 6)], dtype=object)[
            q - 1
        ]
    return out


@dataclass
class PeerGroups:
    """Each customer's look-alike group.

    Attributes
    ----------
    assigned
        One row per customer: customer_id, peer_level (how many peer columns its group
        uses), peer_key (the group's key), peer_label (its values in words), n_peers
        (buying customers in the group other than itself).
    members
        The buying customers of every group in use: customer_id, peer_level, peer_key.
    columns
        The peer columns used, coarsest first.
    level_counts
        Customers per level used (level → count), for the manifest.
    """

    assigned: pa.Table
    members: pa.Table
    columns: list[str]
    level_counts: dict[int, int] = field(default_factory=dict)


def _values(customers: pa.Table, name: str, s: CrossSellSettings) -> np.ndarray:
    if name == "size_band" and "size_band" not in customers.column_names:
        n = customers.num_rows

        def num(col: str) -> np.ndarray:
            if col not in customers.column_names:
                return np.full(n, np.nan)
            return np.asarray(
                customers.column(col).cast(pa.float64()).to_numpy(zero_copy_only=False),
                dtype=np.float64,
            )

        return size_band(num("employees"), num("annual_revenue"), s.size_bands)
    col = customers.column(name).cast(pa.string())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)


def usable_columns(customers: pa.Table, names: list[str]) -> list[str]:
    """Those of the peer columns ``names`` the customer table has with at least one value."""
    out = []
    for c in names:
        if c == "size_band":
            if any(
                x in customers.column_names and customers.column(x).null_count < customers.num_rows
                for x in ("size_band", "employees", "annual_revenue")
            ):
                out.append(c)
        elif c in customers.column_names and customers.column(c).null_count < customers.num_rows:
            out.append(c)
    return out


def peer_groups(customers: pa.Table, buyers: pa.Array, settings: CrossSellSettings) -> PeerGroups:
    """Assign every customer its look-alike group (finest with enough buying peers).

    Parameters
    ----------
    customers
        The customer table (customer_id and the peer columns).
    buyers
        The customer ids that have bought (only they count as peers).
    settings
        The ``[crosssell]`` section (``peer_columns``, ``fallback_peer_columns``,
        ``size_bands``, ``min_peers``).

    Examples
    --------
    >>> t = pa.table({"customer_id": ["a", "b", "c", "d"], "industry": ["x", "x", "x", "y"]})
    >>> g = peer_groups(t, pa.array(["a", "b", "c", "d"]),
    ...     CrossSellSettings(min_peers=3, fallback_peer_columns=["industry"]))
    >>> g.assigned.column("peer_label").to_pylist()
    ['x', 'x', 'x', 'all customers']
    >>> g.assigned.column("n_peers").to_pylist()
    [2, 2, 2, 3]
    """
    s = settings
    cols = usable_columns(customers, list(s.peer_columns))
    if not cols:
        cols = usable_columns(customers, list(s.fallback_peer_columns))
    ids = np.asarray(customers.column("customer_id").cast(pa.string()).to_numpy(False), object)
    n = len(ids)
    # a hash look-up in Arrow (NumPy's isin on text compares every pair)
    is_buyer = np.asarray(
        pc.is_in(
            customers.column("customer_id").cast(pa.string()), value_set=buyers.cast(pa.string())
        ).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    # codes[k]: each customer's group on the first k columns, as an integer (-1 where a
    # value is missing); keys[k] and labels[k]: each group's key and its values in words
    codes: list[np.ndarray] = [np.zeros(n, dtype=np.int64)]
    keys: list[np.ndarray] = [np.array(["*"], dtype=object)]
    labels: list[np.ndarray] = [np.array(["all customers"], dtype=object)]
    for k, col in enumerate(cols, start=1):
        v = _values(customers, col, s)
        prev = codes[k - 1]
        value_code, _ = pd.factorize(v)
        ok = (value_code >= 0) & (prev >= 0)
        pair = prev[ok] * (int(value_code.max(initial=0)) + 1) + value_code[ok]
        group, _ = pd.factorize(pair)
        code = np.full(n, -1, dtype=np.int64)
        code[ok] = group
        # one member of each group gives its key and label
        _, first = np.unique(group, return_index=True)
        at = np.flatnonzero(ok)[first]
        value = np.array([str(x) for x in v[at]], dtype=object)
        keys.append(keys[k - 1][prev[at]] + f"|{col}=" + value)
        labels.append(value if k == 1 else labels[k - 1][prev[at]] + " · " + value)
        codes.append(code)

    def buyers_in(k: int) -> np.ndarray:
        """Buying customers in each customer's group on the first k columns (0 without)."""
        code = codes[k]
        has = code >= 0
        counts = np.bincount(code[has & is_buyer], minlength=max(len(keys[k]), 1))
        return np.where(has, counts[np.where(has, code, 0)], 0)

    level = np.zeros(n, dtype=np.int64)
    for k in range(len(cols), 0, -1):
        open_ = (level == 0) & (codes[k] >= 0)
        if not open_.any():
            continue
        level[open_ & (buyers_in(k) >= s.min_peers)] = k
    key_all = np.empty(n, dtype=object)
    label_all = np.empty(n, dtype=object)
    n_peers = np.zeros(n, dtype=np.int64)
    for k in np.unique(level):
        at = level == k
        key_all[at] = keys[k][codes[k][at]]
        label_all[at] = labels[k][codes[k][at]]
        n_peers[at] = buyers_in(int(k))[at]
    n_peers -= is_buyer.astype(np.int64)
    assigned = pa.table(
        {
            "customer_id": pa.array(ids, pa.string()),
            "peer_level": pa.array(level, pa.int64()),
            "peer_key": pa.array(key_all, pa.string()),
            "peer_label": pa.array(label_all, pa.string()),
            "n_peers": pa.array(n_peers, pa.int64()),
        }
    )
    parts = []
    for k in sorted(set(level.tolist())):
        m = is_buyer & (codes[k] >= 0)
        parts.append(
            pa.table(
                {
                    "customer_id": pa.array(ids[m], pa.string()),
                    "peer_level": pa.array(np.full(int(m.sum()), k, np.int64)),
                    "peer_key": pa.array(keys[k][codes[k][m]], pa.string()),
                }
            )
        )
    members = pa.concat_tables(parts)
    counts = {int(k): int(c) for k, c in zip(*np.unique(level, return_counts=True), strict=True)}
    return PeerGroups(assigned, members, cols, counts)
