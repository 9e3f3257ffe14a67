r"""KPI targets per rep × segment for the next period, adding up to the team's and the plan's.

Each customer row gets a revenue target:

- with the coverage plan: a customer's revenue over the last 12 months plus the change the
  plan's contacts make against today's, :math:`\max(0, s_{12} + r_{plan} - r_{today})`
  (``expected_revenue_plan`` and ``expected_revenue_today``, both from the same response
  model: the model gives the change, the customer's own revenue the level, so a customer
  whose contacts the plan keeps is set what it buys today, not the model's share of its
  wallet);
  a prospect's target is the plan's expected revenue, and so is a customer's when the plan
  gives no revenue under today's contacts;
- otherwise: spend plus a share of headroom, :math:`s_{12} + h_{seg} \max(0, w - s_{12})`
  (``headroom_capture`` per segment) for customers, and
  :math:`c \cdot f \cdot w` for prospects (``prospect_conversion_rate`` :math:`c`,
  ``prospect_first_year_share`` :math:`f`, wallet :math:`w`).

Where the potential stage estimated a wallet (what the customer spends on our kind of
products with every supplier), a target above it is cut back to
:math:`\max(w, s_{12})` (``target_within_wallet``): growth beyond the wallet would need
spend the customer does not have. Its margin target is the revenue target × its gross
margin rate (profit period, else whole history, else the base's rate). Retention targets:
accounts buying today (revenue over the last 12 months > 0) × ``retention_target`` for the
segments that have one (A by default), and conversion targets: prospects ×
``prospect_conversion_rate``, both in whole accounts — the team's expected figure per
segment rounded half up, then shared among the segment's reps by the largest remainder
(Hamilton's method: everyone gets the whole part of its expected figure, and the accounts
left go to the largest fractions), so the reps add up to the team. For conversions the
team's total over the segments is rounded first and shared among the segments the same
way. A rep is ``assigned_rep`` (the
coverage plan), else ``rep_id``, else ``unassigned_rep``; a segment is ``value_class``, else
``tier``.

Targets are sums of customer rows, so each rep's rows add up to the team row of its
segment, and the team's revenue target to the plan's total (current revenue plus the plan's
change for customers, expected revenue for prospects) less what the wallet cap took off;
both checked in every run and written to the manifest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..settings.terms import TermsSettings
from ._common import TermsResult, has_values, margin_rates, num, segment_of, text

__all__ = ["TARGET_COLUMNS", "TEAM", "kpi_targets", "largest_remainder"]

#: The rep label of the team rows.
TEAM = "(team)"

#: Columns of targets.csv, in order.
TARGET_COLUMNS = (
    "level",
    "rep",
    "segment",
    "accounts",
    "prospects",
    "revenue_current",
    "headroom",
    "revenue_target",
    "revenue_growth",
    "margin_target",
    "accounts_buying",
    "retention_target_accounts",
    "conversion_target",
    "conversions_expected",
    "source",
)

_RTOL = 1e-9


def largest_remainder(exact: np.ndarray, total: int) -> np.ndarray:
    """Whole numbers adding up to ``total``, as close to ``exact`` as shares allow.

    Each part gets the whole part of its exact value; the units left go one each to the
    largest fractional parts (ties: the larger exact value, then the earlier part).

    Examples
    --------
    >>> largest_remainder(np.array([1.4, 1.3, 0.3]), 3).tolist()
    [2, 1, 0]
    """
    x = np.maximum(np.nan_to_num(np.asarray(exact, np.float64)), 0.0)
    base = np.floor(x + 1e-9).astype(np.int64)
    left = int(total) - int(base.sum())
    if x.size == 0 or left == 0:
        return base
    frac = np.round(x - base, 9)
    # sort by fraction, then exact value, descending; stable keeps the earlier part first
    order = np.lexsort((-x, -frac))
    if left > 0:
        base[order[np.arange(left) % x.size]] += 1
    else:  # more whole parts than the total (never with a rounded total): take from the least
        for i in order[::-1][:-left]:
            base[i] -= 1 if base[i] > 0 else 0
    return base


def _whole_retention(by_rep: pd.DataFrame, team: pd.DataFrame) -> None:
    """Replace the retention targets of the team and rep rows by whole accounts: each
    segment's expected figure rounded half up, shared among its reps by the largest
    remainder."""
    exact = team["retention_target_accounts"].to_numpy(np.float64)
    per_segment = np.floor(exact + 0.5 + 1e-9).astype(np.int64)
    team["retention_target_accounts"] = per_segment
    whole = np.zeros(len(by_rep), np.int64)
    segs = by_rep["segment"].to_numpy()
    values = by_rep["retention_target_accounts"].to_numpy(np.float64)
    for seg, n in zip(team["segment"], per_segment, strict=True):
        at = np.flatnonzero(segs == seg)
        whole[at] = largest_remainder(values[at], int(n))
    by_rep["retention_target_accounts"] = whole


def _whole_conversions(by_rep: pd.DataFrame, team: pd.DataFrame) -> int:
    """Replace the expected conversions of the team and rep rows by whole prospects."""
    exact = team["conversion_target"].to_numpy(np.float64)
    total = int(np.floor(exact.sum() + 0.5 + 1e-9))
    per_segment = largest_remainder(exact, total)
    team["conversion_target"] = per_segment
    whole = np.zeros(len(by_rep), np.int64)
    segs = by_rep["segment"].to_numpy()
    for seg, n in zip(team["segment"], per_segment, strict=True):
        at = np.flatnonzero(segs == seg)
        whole[at] = largest_remainder(by_rep["conversion_target"].to_numpy()[at], int(n))
    by_rep["conversion_target"] = whole
    return total


def kpi_targets(customers: pa.Table, settings: TermsSettings | None = None) -> TermsResult:
    """Revenue, margin, retention and conversion targets per rep × segment.

    Parameters
    ----------
    customers
        The customer table (customers and prospects): customer_id, is_prospect,
        assigned_rep / rep_id, value_class / tier, revenue_12m, headroom, wallet, gross
        margin figures, and, from the coverage plan, expected_revenue_plan.
    settings
        The ``[terms]`` section.

    Returns
    -------
    TermsResult
        ``tables["targets"]`` (:data:`TARGET_COLUMNS`; ``level`` "rep" rows and "team"
        rows per segment, whose ``rep`` is :data:`TEAM`), ``customers`` (revenue_target,
        margin_target), ``manifest`` (totals and the reconciliation).

    Examples
    --------
    >>> c = pa.table({"customer_id": ["a", "b", "p"], "rep_id": ["r1", "r2", "r1"],
    ...     "value_class": ["A", "B", "B"], "is_prospect": [False, False, True],
    ...     "revenue_12m": [1000.0, 500.0, 0.0], "headroom": [400.0, 100.0, 0.0],
    ...     "wallet": [1400.0, 600.0, 2000.0]})
    >>> t = kpi_targets(c).tables["targets"].to_pandas()
    >>> t[t.level == "rep"][["rep", "segment", "revenue_target"]].values.tolist()
    [['r1', 'A', 1040.0], ['r1', 'B', 50.0], ['r2', 'B', 510.0]]
    """
    s = settings or TermsSettings()
    warnings: list[str] = []
    n = customers.num_rows
    ids = customers.column("customer_id").cast(pa.string())
    prospect = (
        np.asarray(
            customers.column("is_prospect").fill_null(False).to_numpy(zero_copy_only=False),
            dtype=bool,
        )
        if "is_prospect" in customers.column_names
        else np.zeros(n, dtype=bool)
    )
    rep = np.full(n, None, dtype=object)
    for name in ("assigned_rep", "rep_id"):
        v = text(customers, name)
        if v is not None:
            rep = np.where(rep == None, v, rep)  # noqa: E711
    rep = np.where(rep == None, s.unassigned_rep, rep).astype(object)  # noqa: E711
    if not has_values(customers, "assigned_rep"):
        warnings.append(
            "targets: no customer has an assigned_rep (no coverage plan, or no rep it could "
            "assign), so targets go to each customer's rep_id from the customer master, and "
            "to [terms] unassigned_rep where it has none"
        )
    segment, seg_col = segment_of(customers)
    if not seg_col:
        warnings.append(
            "targets: no value_class or tier (segments stage not run), so targets are per "
            "rep only (segment 'all'); [terms] headroom_capture then uses no segment"
        )
    spend = np.nan_to_num(num(customers, "revenue_12m"))
    headroom_given = np.maximum(num(customers, "headroom"), 0.0)
    headroom = np.nan_to_num(headroom_given)
    wallet = np.maximum(np.nan_to_num(num(customers, "wallet")), 0.0)
    capture = np.array([s.headroom_capture.get(g, 0.0) for g in segment], np.float64)
    conversions = np.where(prospect, s.prospect_conversion_rate, 0.0)
    fallback = np.where(
        prospect,
        conversions * s.prospect_first_year_share * wallet,
        spend + capture * headroom,
    )
    plan = num(customers, "expected_revenue_plan")
    has_plan = has_values(customers, "expected_revenue_plan")
    if has_plan:
        # a customer's target: its own revenue plus the change the plan's contacts make
        # against today's (the response model's level need not match what it buys)
        today = num(customers, "expected_revenue_today")
        anchored = ~prospect & ~np.isnan(today)
        plan = np.where(anchored, np.maximum(spend + plan - today, 0.0), plan)
        missing = np.isnan(plan)
        target = np.where(missing, fallback, plan)
        source = "coverage plan"
        if missing.any():
            warnings.append(
                f"targets: {int(missing.sum())} customers have no expected_revenue_plan; their "
                "target is spend plus headroom ([terms] headroom_capture)"
            )
    else:
        target = fallback
        source = "spend and headroom"
        warnings.append(
            "targets: no coverage plan (expected_revenue_plan), so revenue targets are spend "
            "plus a share of headroom ([terms] headroom_capture) and prospects' wallets "
            "([terms] prospect_conversion_rate, prospect_first_year_share)"
        )
    uncapped = target
    capped = np.zeros(n, dtype=bool)
    if s.target_within_wallet:
        estimated = num(customers, "wallet")
        # a wallet floored at the spend (the model put it below) caps at the spend
        cap = np.where(np.isnan(estimated), np.inf, np.maximum(estimated, spend))
        capped = target > cap * (1.0 + _RTOL)
        target = np.where(capped, cap, target)
        if capped.any():
            off = float((uncapped - target)[capped].sum())
            full = int((capped & ~prospect & (headroom <= 0)).sum())
            whole = (
                f"; {full} of them already buy their whole estimated wallet (headroom 0), so "
                "their target is what they buy today"
                if full
                else ""
            )
            warnings.append(
                f"targets: {int(capped.sum())} customers' revenue targets were above their "
                f"estimated wallet and are cut back to it ({off:,.0f} taken off in all){whole}; "
                "where the wallet looks understated, correct it in the potential stage, or set "
                "[terms] target_within_wallet = false to keep the plan's figures"
            )
    rate, overall = margin_rates(customers)
    rate = np.where(np.isnan(rate), overall, rate)
    margin = target * rate
    buying = ~prospect & (spend > 0)
    retention = np.array([s.retention_target.get(g, np.nan) for g in segment], np.float64)
    has_ret = ~np.isnan(retention)
    df = pd.DataFrame(
        {
            "rep": rep,
            "segment": segment,
            "accounts": (~prospect).astype(np.int64),
            "prospects": prospect.astype(np.int64),
            "revenue_current": np.where(prospect, 0.0, spend),
            # unknown where no wallet was estimated: summed, it stays empty, not 0
            "headroom": np.where(
                prospect, 0.0 if has_values(customers, "headroom") else np.nan, headroom_given
            ),
            "revenue_target": target,
            "margin_target": margin,
            "accounts_buying": buying.astype(np.int64),
            "retention_target_accounts": np.where(has_ret & buying, retention, 0.0),
            "conversion_target": conversions,
        }
    )
    sums = [
        "accounts",
        "prospects",
        "revenue_current",
        "headroom",
        "revenue_target",
        "margin_target",
        "accounts_buying",
        "retention_target_accounts",
        "conversion_target",
    ]
    by_rep = df.groupby(["rep", "segment"], sort=True)[sums].sum().reset_index()
    by_rep["headroom"] = (
        df.groupby(["rep", "segment"], sort=True)["headroom"].sum(min_count=1).to_numpy()
    )
    by_rep.insert(0, "level", "rep")
    team = df.groupby("segment", sort=True)[sums].sum().reset_index()
    team["headroom"] = df.groupby("segment", sort=True)["headroom"].sum(min_count=1).to_numpy()
    team.insert(0, "rep", TEAM)
    team.insert(0, "level", "team")
    by_rep["conversions_expected"] = by_rep["conversion_target"]
    team["conversions_expected"] = team["conversion_target"]
    conversions_expected = float(team["conversion_target"].sum())
    conversions_team = _whole_conversions(by_rep, team)
    _whole_retention(by_rep, team)
    out = pd.concat([by_rep, team], ignore_index=True)
    out["revenue_growth"] = out["revenue_target"] - out["revenue_current"]
    out["source"] = source
    table = pa.Table.from_pandas(out[list(TARGET_COLUMNS)], preserve_index=False)

    team_total = float(team["revenue_target"].sum())
    reps_total = float(by_rep["revenue_target"].sum())
    plan_total = float(np.nansum(plan)) if has_plan else None
    cut = float((uncapped - target)[capped].sum())
    reconciled = bool(np.isclose(reps_total, team_total, rtol=_RTOL, atol=1e-6))
    plan_reconciled = None
    if has_plan and plan_total is not None and not np.isnan(plan).any():
        plan_reconciled = bool(
            np.isclose(team_total + cut, plan_total, rtol=_RTOL, atol=1e-6 * max(1, n))
        )
    manifest: dict[str, Any] = {
        "method": "customer-level targets summed per rep × segment",
        "source": source,
        "segment_column": seg_col or None,
        "revenue_target_team": team_total,
        "revenue_target_reps": reps_total,
        "revenue_target_plan": plan_total,
        "reps_add_up_to_team": reconciled,
        "team_adds_up_to_plan": plan_reconciled,
        "customers_capped_at_wallet": int(capped.sum()),
        "revenue_capped_at_wallet": cut,
        "margin_target_team": float(team["margin_target"].sum()),
        "conversion_target_team": conversions_team,
        "conversions_expected": conversions_expected,
        "conversions_add_up": bool(
            int(by_rep["conversion_target"].sum())
            == int(team["conversion_target"].sum())
            == conversions_team
        ),
        "revenue_current_team": float(team["revenue_current"].sum()),
    }
    return TermsResult(
        customers=pa.table(
            {
                "customer_id": ids,
                "revenue_target": pa.array(target, pa.float64()),
                "margin_target": pa.array(margin, pa.float64()),
            }
        ),
        tables={"targets": table},
        manifest=manifest,
        warnings=warnings,
    )
