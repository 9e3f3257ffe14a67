"""The whale curve (Kaplan): cumulative profit against the share of customers, best first.

Customers are ranked by net profit, highest first (ties by customer_id). With :math:`\\pi_{(k)}`
the k-th highest profit among :math:`n` customers and :math:`\\Pi = \\sum_k \\pi_{(k)}`:

.. math::

    C_k = \\sum_{j \\le k} \\pi_{(j)}, \\qquad \\text{share}_k = C_k / \\Pi

The curve rises while profits are positive, peaks, and falls back to 100% as the
profit-destroying customers are added. The peak says "the top ``k/n`` of customers make
``C_k/Π`` of the profit".

When the total is not positive (the loss-makers destroy more than the others make), shares
of it would flip sign or divide by zero; the shares are then taken of the profit of the
profitable customers, :math:`\\Pi^+ = \\sum_k \\max(\\pi_{(k)}, 0)`: the curve rises to 100%
at the last profitable customer and falls below zero. When no customer is profitable they are
taken of the total loss, :math:`|\\Pi|`, and fall from 0 to -100%. ``share_basis`` in the
headline says which.

Reference: R. S. Kaplan and V. G. Narayanan, "Measuring and Managing Customer
Profitability", Journal of Cost Management 15(5), 2001.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["whale_curve", "whale_headline"]


def _share_basis(profit: np.ndarray) -> tuple[float, str]:
    """The denominator of the shares and its name (see the module docstring)."""
    total = float(profit.sum()) if len(profit) else 0.0
    if total > 0:
        return total, "total_profit"
    positive = float(profit[profit > 0].sum())
    if positive > 0:
        return positive, "profit_of_profitable_customers"
    if total < 0:
        return -total, "total_loss"
    return float("nan"), "none"


def whale_curve(customer_id: pa.Array | pa.ChunkedArray, net_profit: np.ndarray) -> pa.Table:
    """The whale curve table: one row per customer with a net profit, best first.

    Columns: rank (1 = most profitable), customer_id, net_profit, share_of_customers
    (rank / n), cumulative_profit, cumulative_share_of_profit (cumulative over the total
    profit; over the profitable customers' profit when the total is not positive; over the
    total loss when nobody is profitable; null only when every profit is zero).

    Examples
    --------
    >>> w = whale_curve(pa.array(["a", "b", "c"]), np.array([-10.0, 50.0, 10.0]))
    >>> w.column("cumulative_profit").to_pylist()
    [50.0, 60.0, 50.0]
    >>> w.column("cumulative_share_of_profit").to_pylist()
    [1.0, 1.2, 1.0]
    >>> whale_curve(pa.array(["a", "b"]), np.array([10.0, -30.0])).column(
    ...     "cumulative_share_of_profit").to_pylist()   # of the 10 the profitable one makes
    [1.0, -2.0]
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
    basis, _ = _share_basis(p)
    share = cum / basis if np.isfinite(basis) else np.full(n, np.nan)
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
    share_basis ("total_profit", "profit_of_profitable_customers", "total_loss" or "none":
    what the shares are of), peak_share_of_customers, peak_cumulative_profit,
    peak_share_of_profit (of that basis), share_of_customers_destroying_profit,
    profit_destroyed (sum of the negative profits, ≤ 0), and a plain-language sentence.

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
            share_basis="none",
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
    basis, basis_name = _share_basis(p)
    k = int(np.argmax(cum))  # first index of the maximum
    peak = float(cum[k])
    peak_customers = (k + 1) / n
    peak_share = peak / basis if np.isfinite(basis) else None
    destroyers = float(np.mean(p < 0))
    out.update(
        total_profit=total,
        share_basis=basis_name,
        peak_share_of_customers=peak_customers,
        peak_cumulative_profit=peak,
        peak_share_of_profit=peak_share,
        share_of_customers_destroying_profit=destroyers,
        profit_destroyed=float(p[p < 0].sum()),
    )
    if basis_name == "total_profit":
        # the top fifth's share says how concentrated profit is where the peak does not
        # (nearly every customer profitable: "the top 100% make 100%" tells nothing)
        fifth = float(cum[max(int(np.ceil(0.2 * n)) - 1, 0)]) / basis
        if destroyers == 0:
            sentence = (
                f"no customer destroys profit; the top 20% of customers make {fifth:.0%} of it"
            )
        else:
            sentence = (
                f"the top {peak_customers:.0%} of customers make {peak_share:.0%} of profit; "
                f"{destroyers:.0%} of customers destroy profit"
            ) + (f"; the top 20% make {fifth:.0%}" if peak_customers > 0.8 else "")
    elif basis_name == "profit_of_profitable_customers":
        sentence = (
            f"total net profit is {total:,.0f} (not positive): the {peak_customers:.0%} of "
            f"customers who are profitable make {peak:,.0f}, and the {destroyers:.0%} who "
            f"destroy profit lose {-float(p[p < 0].sum()):,.0f}"
        )
    else:
        sentence = (
            f"total net profit is {total:,.0f}: no customer is profitable"
            if total < 0
            else "every customer's net profit is zero"
        )
    out["sentence"] = sentence
    return out
