"""The whale curve (Kaplan): cumulative profit against the share of customers, best first.

Customers are ranked by net profit, highest first (ties by customer_id). With :math:`\\pi_{(k)}`
the k-th highest profit among :math:`n` customers and :math:`\\Pi = \\sum_k \\pi_{(k)}`:

.. math::

    C_k = \\sum_{j \\le k} \\pi_{(j)}, \\qquad \\text{share}_k = C_k / \\Pi

The curve rises while profits are positive, peaks, and falls back to 100% as the
profit-destroying customers are added. The peak says "the top ``k/n`` of customers make
``C_k/Π`` of the profit".

Reference: R. S. Kaplan and V. G. Narayanan, "Measuring and Managing Customer
Profitability", Journal of Cost Management 15(5), 2001.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["whale_curve", "whale_headline"]


def whale_curve(customer_id: pa.Array | pa.ChunkedArray, net_profit: np.ndarray) -> pa.Table:
    """The whale curve table: one row per customer with a net profit, best first.

    Columns: rank (1 = most profitable), customer_id, net_profit, share_of_customers
    (rank / n), cumulative_profit, cumulative_share_of_profit (cumulative / total; null when
    the total is not positive).

    Examples
    --------
    >>> w = whale_curve(pa.array(["a", "b", "c"]), np.array([-10.0, 50.0, 10.0]))
    >>> w.column("cumulative_profit").to_pylist()
    [50.0, 60.0, 50.0]
    >>> w.column("cumulative_share_of_profit").to_pylist()
    [1.0, 1.2, 1.0]
    """
    profit = np.asarray(net_profit, dtype=float)
    keep = ~np.isnan(profit)
    ids = pa.chunked_array([customer_id]) if isinstance(customer_id, pa.Array) else customer_id
    t = pa.table({"customer_id": ids, "net_profit": pa.array(profit)}).filter(pa.array(keep))
    order = pc.sort_indices(
        t, sort_keys=[("net_profit", "descending"), ("customer_id", "ascending")]
    )
    t = t.take(order)
    n = t.num_rows
    p = t.column("net_profit").to_numpy()
    cum = np.cumsum(p)
    total = float(cum[-1]) if n else 0.0
    share = cum / total if total > 0 else np.full(n, np.nan)
    rank = np.arange(1, n + 1, dtype=np.int64)
    return pa.table(
        {
            "rank": rank,
            "customer_id": t.column("customer_id"),
            "net_profit": p,
            "share_of_customers": rank / n if n else np.zeros(0),
            "cumulative_profit": cum,
            "cumulative_share_of_profit": pa.array(share, from_pandas=True),
        }
    )


def whale_headline(whale: pa.Table, *, n_without_profit: int = 0) -> dict[str, Any]:
    """Headline figures of a whale curve, for manifest.json and the report.

    Keys: n_customers, n_customers_without_profit (excluded: no gross margin), total_profit,
    peak_share_of_customers, peak_cumulative_profit, peak_share_of_profit (null when the
    total is not positive), share_of_customers_destroying_profit, profit_destroyed (sum of
    the negative profits, ≤ 0), and a plain-language sentence.

    Examples
    --------
    >>> h = whale_headline(whale_curve(pa.array(["a", "b", "c", "d"]),
    ...                                np.array([60.0, 40.0, -20.0, 20.0])))
    >>> h["peak_share_of_customers"], h["peak_share_of_profit"]
    (0.75, 1.2)
    """
    n = whale.num_rows
    out: dict[str, Any] = {"n_customers": n, "n_customers_without_profit": int(n_without_profit)}
    if n == 0:
        out.update(
            total_profit=None,
            peak_share_of_customers=None,
            peak_cumulative_profit=None,
            peak_share_of_profit=None,
            share_of_customers_destroying_profit=None,
            profit_destroyed=None,
            sentence="no customer has a net profit (no gross margin could be computed)",
        )
        return out
    p = whale.column("net_profit").to_numpy()
    cum = whale.column("cumulative_profit").to_numpy()
    total = float(cum[-1])
    k = int(np.argmax(cum))  # first index of the maximum
    peak = float(cum[k])
    peak_customers = (k + 1) / n
    peak_share = peak / total if total > 0 else None
    destroyers = float(np.mean(p < 0))
    out.update(
        total_profit=total,
        peak_share_of_customers=peak_customers,
        peak_cumulative_profit=peak,
        peak_share_of_profit=peak_share,
        share_of_customers_destroying_profit=destroyers,
        profit_destroyed=float(p[p < 0].sum()),
    )
    if peak_share is not None:
        sentence = (
            f"the top {peak_customers:.0%} of customers make {peak_share:.0%} of profit; "
            f"{destroyers:.0%} of customers destroy profit"
        )
    else:
        sentence = (
            f"total net profit is {total:,.0f} (not positive); the top {peak_customers:.0%} "
            f"of customers make {peak:,.0f}; {destroyers:.0%} of customers destroy profit"
        )
    out["sentence"] = sentence
    return out
