"""Routes to market: the efficiency of each sales channel per segment.

A customer's *observed* channel is the one that carried most of its sales-contact cost in
the profit period (``route_channels``: visits → field, calls → inside, emails → email, by
default); a customer without such contacts is on its ``current_channel`` from the customer
master (e.g. distributor, web), read as the plan's channel it names without regard to case,
surrounding spaces and hyphens ("Field", " E-Mail " are field, e_mail), else "none". Per
segment × observed channel:
revenue, gross margin, cost to serve, cost of sale (the sales-contact pools) and both per
unit of revenue, net contribution (gross margin − cost to serve), and the channel the
coverage plan gives most of these customers (``channel``) with the share it keeps on the
observed one: a low share marks a segment served through a channel the plan would not use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..coverage.lookup import odd_channels_text, plan_channels
from ..settings.coverage import CoverageSettings
from ..settings.terms import TermsSettings
from ._common import TermsResult, has_values, margin_rates, num, segment_of, text, without_prospects

__all__ = ["ROUTE_COLUMNS", "routes_to_market"]

#: Columns of routes_to_market.csv, in order.
ROUTE_COLUMNS = (
    "segment",
    "channel",
    "customers",
    "revenue",
    "gross_margin",
    "cost_to_serve",
    "cost_of_sale",
    "cost_of_sale_per_revenue",
    "cost_to_serve_per_revenue",
    "net_contribution",
    "plan_channel",
    "share_plan_same_channel",
)


def routes_to_market(
    customers: pa.Table,
    settings: TermsSettings | None = None,
    *,
    channels: Sequence[str] | None = None,
    customers_file: str = "customers",
) -> TermsResult:
    """Revenue, margin and cost of each observed channel per segment, and the plan's channel.

    Parameters
    ----------
    customers
        The customer table: customer_id, value_class / tier, the profitability figures
        (revenue_12m, gross_margin_pnl, cost_to_serve, cts_visits, cts_calls,
        cts_emails), current_channel, and the coverage plan's channel. Prospects are left
        out.
    settings
        The ``[terms]`` section (``route_channels``).
    channels
        The names a current_channel may give: the plan's channels and the band names of
        ``[coverage]`` (``channels``, ``band_channels``; their defaults when ``None``).
        A value is read as the name it gives, compared without regard to case, surrounding
        spaces, and spaces or hyphens within; a value that gives none is kept in that
        folded spelling and named in the warnings.
    customers_file
        The customer master's name, for messages.

    Returns
    -------
    TermsResult
        ``tables["routes_to_market"]`` (:data:`ROUTE_COLUMNS`), ``customers``
        (observed_channel).

    Examples
    --------
    >>> c = pa.table({"customer_id": ["a", "b"], "value_class": ["C", "C"],
    ...     "revenue_12m": [1000.0, 2000.0], "cts_visits": [300.0, 0.0],
    ...     "cts_calls": [20.0, 40.0], "cost_to_serve": [400.0, 100.0],
    ...     "channel": ["inside", "inside"]})
    >>> t = routes_to_market(c).tables["routes_to_market"].to_pandas()
    >>> t[["channel", "cost_of_sale_per_revenue", "share_plan_same_channel"]].values.tolist()
    [['field', 0.32, 0.0], ['inside', 0.02, 1.0]]
    """
    s = settings or TermsSettings()
    warnings: list[str] = []
    customers = without_prospects(customers)
    n = customers.num_rows
    ids = customers.column("customer_id").cast(pa.string())
    pools = [p for p, channel in s.route_channels.items() if channel != "none"]
    costs = (
        np.column_stack([np.nan_to_num(num(customers, f"cts_{p}")) for p in pools])
        if pools
        else np.zeros((n, 0))
    )
    if channels is None:
        cov = CoverageSettings()
        channels = [*cov.channels, *cov.band_channels]
    # each pool's channel as the plan spells it ("Field" in [terms] route_channels: field)
    routes = np.array([s.route_channels[p] for p in pools], dtype=object)
    names = plan_channels(routes, channels)[0] if pools else routes
    known = list(dict.fromkeys([*channels, *names.tolist()]))
    current = text(customers, "current_channel")
    contacted = costs.max(axis=1) > 0 if costs.shape[1] else np.zeros(n, bool)
    if current is not None:
        uncontacted = current.copy()
        uncontacted[contacted] = None
        current, odd = plan_channels(uncontacted, known)
        if odd:
            warnings.append(_unknown_channels(odd, known, customers_file))
    fallback = (
        np.where(current == None, "none", current)  # noqa: E711
        if current is not None
        else np.full(n, "none", dtype=object)
    )
    if costs.shape[1]:
        best = np.argmax(costs, axis=1)
        observed = np.where(contacted, names[best], fallback).astype(object)
        cost_of_sale = costs.sum(axis=1)
    else:
        observed = fallback.astype(object)
        cost_of_sale = np.zeros(n)
    if not any(has_values(customers, f"cts_{p}") for p in pools):
        warnings.append(
            "routes to market: no sales-contact costs (no activities), so each customer's "
            "channel is its current_channel; [terms] route_channels maps cost pools to channels"
        )
    segment, _ = segment_of(customers)
    revenue = np.nan_to_num(num(customers, "revenue_12m"))
    rate, overall = margin_rates(customers)
    if has_values(customers, "gross_margin_pnl"):
        gm = np.nan_to_num(num(customers, "gross_margin_pnl"))
    else:
        gm = revenue * np.where(np.isnan(rate), overall, rate)
    cts = np.nan_to_num(num(customers, "cost_to_serve"))
    plan = text(customers, "channel")
    if plan is None or not has_values(customers, "channel"):
        warnings.append(
            "routes to market: no coverage plan (channel), so the plan's channel is left empty"
        )
    df = pd.DataFrame(
        {
            "segment": segment,
            "channel": observed,
            "revenue": revenue,
            "gross_margin": gm,
            "cost_to_serve": cts,
            "cost_of_sale": cost_of_sale,
            "plan": plan if plan is not None else np.full(n, None, dtype=object),
        }
    )
    df["same"] = (df["plan"] == df["channel"]).astype(float)
    g = df.groupby(["segment", "channel"], sort=True)
    out = g[["revenue", "gross_margin", "cost_to_serve", "cost_of_sale"]].sum()
    out["customers"] = g.size()
    out["share_plan_same_channel"] = g["same"].mean() if plan is not None else np.nan
    out["plan_channel"] = g["plan"].agg(_mode)
    out = out.reset_index()
    rev = out["revenue"].where(out["revenue"] > 0)
    out["cost_of_sale_per_revenue"] = out["cost_of_sale"] / rev
    out["cost_to_serve_per_revenue"] = out["cost_to_serve"] / rev
    out["net_contribution"] = out["gross_margin"] - out["cost_to_serve"]
    table = pa.Table.from_pandas(out[list(ROUTE_COLUMNS)], preserve_index=False)
    manifest: dict[str, Any] = {
        "method": "observed channel = largest sales-contact cost pool, else current_channel",
        "channels": sorted(set(observed.tolist())),
        "customers_on_plan_channel": (float(df["same"].mean()) if plan is not None and n else None),
    }
    return TermsResult(
        customers=pa.table(
            {"customer_id": ids, "observed_channel": pa.array(observed, pa.string())}
        ),
        tables={"routes_to_market": table},
        manifest=manifest,
        warnings=warnings,
    )


def _unknown_channels(odd: dict[str, int], known: Sequence[str], file: str) -> str:
    """One line naming the current_channel values that name no channel of the plan."""
    shown, k = odd_channels_text(odd)
    return (
        f"routes to market: {file}, column current_channel: {k:,} "
        f"{'customer' if k == 1 else 'customers'} without sales-contact costs "
        f"{'has a channel' if k == 1 else 'have channels'} that name none of the plan's "
        f"channels and bands ({', '.join(known)}), compared without regard to case, spaces "
        f"and hyphens: {shown}; routes_to_market.csv shows them as channels of their "
        "own, never on the plan's; write them as one of those in the file, or name the "
        "channels so in [coverage] channels and band_channels"
    )


def _mode(x: pd.Series) -> Any:
    v = x.dropna()
    if v.empty:
        return None
    counts = v.value_counts()
    top = counts[counts == counts.max()].index
    return sorted(str(t) for t in top)[0]
