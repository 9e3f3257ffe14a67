"""Profitability on the demo data against its planted truth.

The demo generator (``tierwise.demo``) plants "looks good, costs too much" customers
(``truth.costly``: many small orders, frequent visits, order changes, returns, support cases
and deeper discounts) and late payers (``truth.late_payer``: most invoices paid 30–90 days
late). Floors below were set from seeds 42, 7 and 123 (n_customers=3000) with a margin of
roughly 15–25% under the worst seed; each comment gives what was observed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tierwise.demo import generate
from tierwise.engine import Engine
from tierwise.features.cost_to_serve import period_for
from tierwise.features.profitability import POOLS, profitability_stage
from tierwise.settings import ProfitabilitySettings


def _auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    from scipy.stats import rankdata

    r = rankdata(score)
    n1 = int(positive.sum())
    n0 = len(score) - n1
    return float((r[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    data = generate(n_customers=3000, seed=42)
    eng = Engine()
    tx = eng.from_arrow(data.transactions)
    # validate's default cancel_prefix "C": the demo's cancellations are 'CSO…' documents
    tx = tx.mutate(is_cancel=tx.order_id.startswith("C").fill_null(False))
    settings = ProfitabilitySettings()
    res = profitability_stage(
        tx,
        activities=eng.from_arrow(data.activities),
        payments=eng.from_arrow(data.payments),
        customers=eng.from_arrow(data.customers),
        as_of=data.end_date,
        settings=settings,
    )
    joined = res.customers.join(
        data.truth.select(["customer_id", "costly", "late_payer"]), "customer_id"
    ).sort_by("customer_id")
    return {"data": data, "res": res, "c": joined, "settings": settings}


def _in_period(dates: pa.ChunkedArray, end: dt.date) -> pa.ChunkedArray:
    p = period_for(end, 12)
    return pc.and_(pc.greater(dates, pa.scalar(p.start)), pc.less_equal(dates, pa.scalar(end)))


def test_customer_revenue_adds_up_to_the_transactions_in_the_period(run: dict[str, Any]) -> None:
    data, res = run["data"], run["res"]
    tx = data.transactions
    expected = pc.sum(tx.filter(_in_period(tx["date"], data.end_date))["revenue"]).as_py()
    total = pc.sum(res.customers["revenue"]).as_py()
    assert total == pytest.approx(expected, rel=1e-9)  # exact up to summation order
    assert res.reconciliation["reconciled"] is True


def test_activity_pools_add_up_to_the_activity_costs(run: dict[str, Any]) -> None:
    # computed here straight from the activities: recorded cost, else the flat rate of the type
    data, res, s = run["data"], run["res"], run["settings"]
    acts = data.activities.filter(_in_period(data.activities["date"], data.end_date))
    rate = {
        "visit": s.cost_per_visit,
        "call": s.cost_per_call,
        "email": s.cost_per_email,
        "delivery": s.cost_per_delivery,
        "order_change": s.cost_per_order_change,
        "return": s.cost_per_return,
        "quote": s.cost_per_quote,
        "support": s.cost_per_support_case,
    }
    types = acts["type"].to_pylist()
    assert set(types) <= set(rate), "the demo has an activity type this test does not cost"
    flat = np.array([rate[t] for t in types])
    recorded = acts["cost"].to_numpy(zero_copy_only=False).astype(float)
    expected = float(np.where(np.isnan(recorded), flat, recorded).sum())
    c = res.customers
    pools = (
        "visits",
        "calls",
        "emails",
        "deliveries",
        "order_changes",
        "returns",
        "quotes",
        "support",
        "other",
    )
    total = sum(pc.sum(c[f"cts_{p}"]).as_py() for p in pools)
    assert total == pytest.approx(expected, rel=1e-9)
    assert all(res.pool_sources[p] == "activities" for p in pools)
    assert res.absent_pools == []


def test_planted_costly_customers_are_flagged(run: dict[str, Any]) -> None:
    c = run["c"]
    costly = c["costly"].to_numpy(zero_copy_only=False)
    # the demo has a cost on every line, so every customer's flag is decided (never null)
    assert c["profitable_per_order_unprofitable_all_in"].null_count == 0
    flag = c["profitable_per_order_unprofitable_all_in"].to_numpy(zero_copy_only=False)
    profit = c["net_profit"].to_numpy(zero_copy_only=False)
    base = costly.mean()  # about 5% of the customers active in the period
    # recall of the flag: observed 0.75, 0.81, 0.74 (the rest earn no margin in the year)
    assert flag[costly].mean() >= 0.6
    # precision: the flag also catches ordinary small loss-makers (a third of all
    # customers at default rates); observed 2.1-2.3x the base rate
    assert costly[flag].mean() >= 1.5 * base
    # ranking by net profit: AUC observed 0.93, 0.94, 0.89
    assert _auc(costly, -profit) >= 0.8
    # the worst k by net profit (k = number planted): observed 0.54, 0.53, 0.45 costly
    k = int(costly.sum())
    assert costly[np.argsort(profit, kind="stable")[:k]].mean() >= 0.35


def test_planted_costly_customers_are_hard_to_do_business_with(run: dict[str, Any]) -> None:
    c = run["c"]
    costly = c["costly"].to_numpy(zero_copy_only=False)
    ease = np.nan_to_num(c["ease_score"].to_numpy(zero_copy_only=False), nan=50.0)
    # lower ease for the planted costly: AUC observed 0.83, 0.83, 0.83
    assert _auc(costly, -ease) >= 0.7


def test_late_payers_carry_the_financing_cost(run: dict[str, Any]) -> None:
    c = run["c"]
    late = c["late_payer"].to_numpy(zero_copy_only=False)
    days = c["avg_days_late"].to_numpy(zero_copy_only=False).astype(float)
    cost = c["cts_late_payment"].to_numpy(zero_copy_only=False).astype(float)
    revenue = np.maximum(c["revenue"].to_numpy(zero_copy_only=False), 1.0)
    n_inv = c["n_invoices"].to_numpy(zero_copy_only=False)
    has = n_inv > 0
    # average days late separates them: AUC observed 0.975, 0.978, 0.977
    assert _auc(late[has], days[has]) >= 0.9
    # late payers with invoices in the year carry a financing cost: observed 0.99, 1.0, 0.99
    assert (cost[late & has] > 0).mean() >= 0.9
    # financing cost per unit of revenue: medians observed ~20x apart (0.0098 vs 0.0004)
    assert np.median(cost[late & has] / revenue[late & has]) >= 5 * np.median(
        cost[~late & has] / revenue[~late & has]
    )


def test_whale_curve_peaks_above_total_profit(run: dict[str, Any]) -> None:
    res = run["res"]
    h = res.headline
    # a whale curve: the best customers make more than all the profit; some destroy it
    assert h["peak_share_of_profit"] > 1.0
    assert 0.0 < h["share_of_customers_destroying_profit"] < 1.0
    w = res.whale
    assert w.num_rows == res.customers.num_rows
    assert pc.max(w["cumulative_profit"]).as_py() == pytest.approx(h["peak_cumulative_profit"])
    assert w["cumulative_profit"][-1].as_py() == pytest.approx(h["total_profit"])


def test_breakdown_of_every_customer_adds_up_to_net_profit(run: dict[str, Any]) -> None:
    # revenue → cogs → gross margin → rebates → each pool → net profit, for all customers at
    # once; tolerance 1e-9 relative or 1e-6 currency units (float summation order only)
    res = run["res"]
    b, c = res.breakdown, res.customers
    steps = b.column("step").cast(pa.string()).to_numpy(zero_copy_only=False)
    names = list(dict.fromkeys(steps))  # step order, as written
    k = len(names)
    n = c.num_rows
    assert b.num_rows == n * k
    amount = b.column("amount").to_numpy(zero_copy_only=False).reshape(n, k)
    ids = b.column("customer_id").to_numpy(zero_copy_only=False).reshape(n, k)
    assert (ids == c.column("customer_id").to_numpy(zero_copy_only=False)[:, None]).all()
    col = {name: amount[:, i] for i, name in enumerate(names)}
    kinds = dict(zip(steps[:k], b.column("kind").cast(pa.string()).to_pylist()[:k], strict=True))
    changes = [s for s in names if kinds[s] == "change"]
    assert changes[:3] == ["discount", "cogs", "rebates"]
    assert set(changes[3:]) == set(POOLS)  # every pool present on the demo data
    net = c.column("net_profit").to_numpy(zero_copy_only=False)
    np.testing.assert_allclose(col["net_profit"], net, rtol=1e-9)
    np.testing.assert_allclose(
        col["gross_margin"] + sum(col[s] for s in changes[2:]), net, rtol=1e-9, atol=1e-6
    )
    np.testing.assert_allclose(
        col["gross_revenue"] + col["discount"], col["revenue"], rtol=1e-9, atol=1e-6
    )
    np.testing.assert_allclose(
        col["revenue"] + col["cogs"], col["gross_margin"], rtol=1e-9, atol=1e-6
    )
    for pool in POOLS:
        # each step is the customer's cost pool, with the sign of a cost
        cts = c.column(f"cts_{pool}").to_numpy(zero_copy_only=False)
        np.testing.assert_allclose(col[pool], -cts, rtol=1e-12, err_msg=pool)
    total_pools = sum(pc.sum(c[f"cts_{p}"]).as_py() for p in POOLS)
    assert res.headline["total_cost_to_serve"] == pytest.approx(total_pools, rel=1e-9)
