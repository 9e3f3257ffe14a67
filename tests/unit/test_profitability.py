"""Customer profitability on tiny hand-computed cases: every cost pool, late payment, rebates,
margin, discount, the period, absent inputs and the reconciliation.

Default rates (ProfitabilitySettings): order 20, order line 2, delivery 40, return 50, order
change 15, visit 150, call 10, email 3, quote 30, support case 25, other 0; small-order
surcharge 25 below an order value of 250; cost of capital 8%/year.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from tierwise.engine import Engine
from tierwise.errors import SettingsError
from tierwise.features.profitability import POOLS, profitability_stage
from tierwise.settings import ProfitabilitySettings

AS_OF = dt.date(2024, 6, 30)
D = dt.date(2024, 3, 1)  # a date inside the default 12-month period


@pytest.fixture(scope="module")
def eng() -> Engine:
    return Engine()


def _tx(rows: list[dict[str, Any]]) -> pa.Table:
    """Transactions with the canonical columns; missing values default to sensible ones."""
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "customer_id",
            "date",
            "revenue",
            "order_id",
            "cost",
            "list_revenue",
            "is_return",
            "is_cancel",
        )
    }
    for r in rows:
        cols["customer_id"].append(r.get("customer_id", "a"))
        cols["date"].append(r.get("date", D))
        cols["revenue"].append(float(r["revenue"]))
        cols["order_id"].append(r.get("order_id"))
        cols["cost"].append(r.get("cost"))
        cols["list_revenue"].append(r.get("list_revenue"))
        cols["is_return"].append(r.get("is_return", r["revenue"] < 0))
        cols["is_cancel"].append(r.get("is_cancel", False))
    return pa.table(
        {
            "customer_id": pa.array(cols["customer_id"], pa.string()),
            "date": pa.array(cols["date"], pa.date32()),
            "revenue": pa.array(cols["revenue"], pa.float64()),
            "order_id": pa.array(cols["order_id"], pa.string()),
            "cost": pa.array(cols["cost"], pa.float64()),
            "list_revenue": pa.array(cols["list_revenue"], pa.float64()),
            "is_return": pa.array(cols["is_return"], pa.bool_()),
            "is_cancel": pa.array(cols["is_cancel"], pa.bool_()),
        }
    )


def _acts(rows: list[tuple[Any, ...]]) -> pa.Table:
    """Activities from (customer_id, type[, duration_minutes[, cost[, date]]]) tuples."""
    full = [(*(*r, None, None, None)[:4], r[4] if len(r) > 4 else D) for r in rows]
    return pa.table(
        {
            "customer_id": pa.array([r[0] for r in full], pa.string()),
            "date": pa.array([r[4] for r in full], pa.date32()),
            "type": pa.array([r[1] for r in full], pa.string()),
            "duration_minutes": pa.array([r[2] for r in full], pa.float64()),
            "cost": pa.array([r[3] for r in full], pa.float64()),
        }
    )


def _pays(rows: list[tuple[str, dt.date, dt.date | None, float]]) -> pa.Table:
    """Payments from (customer_id, due_date, paid_date, amount) tuples."""
    return pa.table(
        {
            "invoice_id": pa.array([f"I{i}" for i in range(len(rows))], pa.string()),
            "customer_id": pa.array([r[0] for r in rows], pa.string()),
            "due_date": pa.array([r[1] for r in rows], pa.date32()),
            "paid_date": pa.array([r[2] for r in rows], pa.date32()),
            "amount": pa.array([r[3] for r in rows], pa.float64()),
        }
    )


def _run(
    eng: Engine,
    tx: list[dict[str, Any]],
    *,
    acts=None,
    pays=None,
    custs=None,
    margin_rate=None,
    **settings: Any,
):
    settings.setdefault("reconcile", False)  # an extra query; the reconciliation tests ask
    res = profitability_stage(
        eng.from_arrow(_tx(tx)),
        activities=eng.from_arrow(_acts(acts)) if acts is not None else None,
        payments=eng.from_arrow(_pays(pays)) if pays is not None else None,
        customers=eng.from_arrow(custs) if custs is not None else None,
        as_of=AS_OF,
        settings=ProfitabilitySettings(**settings),
        margin_rate=margin_rate,
    )
    return res


def _row(res, customer_id: str = "a") -> dict[str, Any]:
    rows = res.customers.to_pylist()
    return next(r for r in rows if r["customer_id"] == customer_id)


# -- transaction pools ------------------------------------------------------------------


def test_orders_and_order_lines_cost_per_event(eng: Engine) -> None:
    # two orders (O1 with 2 lines, O2 with 1 line), all worth more than 250
    r = _row(
        _run(
            eng,
            [
                {"order_id": "O1", "revenue": 200, "cost": 100},
                {"order_id": "O1", "revenue": 100, "cost": 50},
                {"order_id": "O2", "revenue": 400, "cost": 200},
            ],
        )
    )
    assert (r["n_orders"], r["n_order_lines"]) == (2, 3)
    assert r["cts_orders"] == pytest.approx(2 * 20.0)  # 40
    assert r["cts_order_lines"] == pytest.approx(3 * 2.0)  # 6
    assert r["cts_small_orders"] == 0.0


def test_small_order_surcharge_applies_strictly_below_the_drop_size(eng: Engine) -> None:
    # orders worth 100 (small), 250 (exactly the threshold: not small), 249.99 (small)
    r = _row(
        _run(
            eng,
            [
                {"order_id": "O1", "revenue": 100, "cost": 50},
                {"order_id": "O2", "revenue": 250, "cost": 50},
                {"order_id": "O3", "revenue": 249.99, "cost": 50},
            ],
        )
    )
    assert r["n_small_orders"] == 2
    assert r["cts_small_orders"] == pytest.approx(2 * 25.0)  # 50


def test_lines_without_order_id_make_one_order_per_customer_day(eng: Engine) -> None:
    r = _row(
        _run(
            eng,
            [
                {"revenue": 300, "cost": 1, "date": dt.date(2024, 3, 1)},
                {"revenue": 300, "cost": 1, "date": dt.date(2024, 3, 1)},
                {"revenue": 300, "cost": 1, "date": dt.date(2024, 3, 2)},
            ],
        )
    )
    assert r["n_orders"] == 2  # two days
    assert r["n_order_lines"] == 3


def test_deliveries_are_one_per_order_when_no_delivery_activities(eng: Engine) -> None:
    res = _run(
        eng,
        [
            {"order_id": "O1", "revenue": 300, "cost": 100},
            {"order_id": "O2", "revenue": 300, "cost": 100},
        ],
    )
    r = _row(res)
    assert r["n_deliveries"] == 2
    assert r["cts_deliveries"] == pytest.approx(2 * 40.0)  # 80
    assert "one delivery per order" in res.pool_sources["deliveries"]


def test_deliveries_come_from_activities_when_recorded(eng: Engine) -> None:
    # 2 orders but 3 recorded deliveries (a split delivery): the activities count
    res = _run(
        eng,
        [
            {"order_id": "O1", "revenue": 300, "cost": 1},
            {"order_id": "O2", "revenue": 300, "cost": 1},
        ],
        acts=[("a", "delivery"), ("a", "delivery"), ("a", "Delivery")],
    )
    r = _row(res)
    assert r["n_deliveries"] == 3
    assert r["cts_deliveries"] == pytest.approx(3 * 40.0)  # 120
    assert res.pool_sources["deliveries"] == "activities"


def test_returns_count_credit_notes_when_no_return_activities(eng: Engine) -> None:
    # a sale of 500 and a credit note R1 of -100 (two lines): one return, revenue nets to 400
    r = _row(
        _run(
            eng,
            [
                {"order_id": "O1", "revenue": 500, "cost": 300},
                {"order_id": "R1", "revenue": -60, "cost": -36},
                {"order_id": "R1", "revenue": -40, "cost": -24},
            ],
        )
    )
    assert r["revenue"] == pytest.approx(400.0)
    assert r["n_orders"] == 1 and r["n_order_lines"] == 1  # credit notes are not orders
    assert r["n_returns"] == 1
    assert r["cts_returns"] == pytest.approx(50.0)
    assert r["returns_rate"] == pytest.approx(100 / 500)  # 0.2


def test_order_changes_count_cancelled_orders_when_no_change_activities(eng: Engine) -> None:
    r = _row(
        _run(
            eng,
            [
                {"order_id": "O1", "revenue": 500, "cost": 300},
                {"order_id": "C1", "revenue": -500, "cost": -300, "is_cancel": True},
            ],
        )
    )
    assert r["n_order_changes"] == 1
    assert r["cts_order_changes"] == pytest.approx(15.0)
    assert r["n_returns"] == 0  # a cancellation is not a return
    assert r["revenue"] == pytest.approx(0.0)


def test_activity_pools_use_flat_rates_by_type(eng: Engine) -> None:
    res = _run(
        eng,
        [{"order_id": "O1", "revenue": 1000, "cost": 500}],
        acts=[
            ("a", "visit"),
            ("a", "visit"),
            ("a", "call"),
            ("a", "email"),
            ("a", "email"),
            ("a", "email"),
            ("a", "quote"),
            ("a", "support"),
            ("a", "order_change"),
            ("a", "return"),
            ("a", "webinar"),
        ],
    )
    r = _row(res)
    expected = {
        "visits": (2, 2 * 150.0),  # 300
        "calls": (1, 10.0),
        "emails": (3, 3 * 3.0),  # 9
        "quotes": (1, 30.0),
        "support": (1, 25.0),
        "order_changes": (1, 15.0),
        "returns": (1, 50.0),
        "other": (1, 0.0),  # 'webinar' maps to no pool; other costs 0 by default
    }
    for pool, (n, cost) in expected.items():
        assert (r[f"n_{pool}"], r[f"cts_{pool}"]) == (n, pytest.approx(cost)), pool
    # 300+10+9+30+25+15+50+0 from activities, + order 20 + line 2 + delivery 40 (per order)
    assert r["cost_to_serve"] == pytest.approx(439.0 + 62.0)
    assert r["net_profit"] == pytest.approx(500.0 - 501.0)


def test_recorded_cost_then_duration_rate_then_flat_rate(eng: Engine) -> None:
    # visit 1: recorded cost 99 wins; visit 2: 60 min x 1.5/min = 90; visit 3: flat 150;
    # call with 10 min but no per-minute rate for calls: flat 10
    res = _run(
        eng,
        [{"order_id": "O1", "revenue": 1000, "cost": 500}],
        acts=[
            ("a", "visit", 30.0, 99.0),
            ("a", "visit", 60.0),
            ("a", "visit"),
            ("a", "call", 10.0),
        ],
        cost_per_minute={"visits": 1.5},
    )
    r = _row(res)
    assert r["cts_visits"] == pytest.approx(99.0 + 90.0 + 150.0)  # 339
    assert r["cts_calls"] == pytest.approx(10.0)
    res2 = _run(
        eng,
        [{"order_id": "O1", "revenue": 1000, "cost": 500}],
        acts=[("a", "visit", 30.0, 99.0)],
        use_recorded_cost=False,
    )
    assert _row(res2)["cts_visits"] == pytest.approx(150.0)


def test_activity_pool_mapping_is_configurable(eng: Engine) -> None:
    res = _run(
        eng,
        [{"order_id": "O1", "revenue": 1000, "cost": 500}],
        acts=[("a", "webinar")],
        activity_pools={"webinar": "visits"},
    )
    assert _row(res)["cts_visits"] == pytest.approx(150.0)


# -- late payment ---------------------------------------------------------------------


def test_late_payment_cost_is_days_beyond_due_times_amount_times_rate(eng: Engine) -> None:
    pays = [
        # paid 30 days late: 30 x 10,000 x 0.08 / 365 = 65.7534
        ("a", dt.date(2024, 3, 1), dt.date(2024, 3, 31), 10_000.0),
        # unpaid, due 2024-06-01: late until as_of 2024-06-30, 29 days: 29 x 1,000 x 0.08/365
        # = 6.3562
        ("a", dt.date(2024, 6, 1), None, 1_000.0),
        # paid early: no cost
        ("a", dt.date(2024, 4, 1), dt.date(2024, 3, 25), 5_000.0),
        # due after as_of: outside the period, not counted
        ("a", dt.date(2024, 7, 15), None, 99_999.0),
    ]
    res = _run(eng, [{"order_id": "O1", "revenue": 1000, "cost": 500}], pays=pays, reconcile=True)
    r = _row(res)
    expected = 30 * 10_000 * 0.08 / 365 + 29 * 1_000 * 0.08 / 365  # 72.1096
    assert r["cts_late_payment"] == pytest.approx(expected)
    assert r["n_invoices"] == 3
    assert r["n_late_payment"] == 2
    assert r["avg_days_late"] == pytest.approx((30 + 29 + 0) / 3)
    assert r["share_invoices_late"] == pytest.approx(2 / 3)
    assert res.reconciliation["late_payment_cost_input"] == pytest.approx(expected)


def test_late_payment_counts_only_days_beyond_the_grace_period(eng: Engine) -> None:
    # 30 days late with 10 grace days: 20 financed days x 3,650 x 0.10 / 365 = 20.0
    pays = [("a", dt.date(2024, 3, 1), dt.date(2024, 3, 31), 3_650.0)]
    r = _row(
        _run(
            eng,
            [{"order_id": "O1", "revenue": 1000, "cost": 500}],
            pays=pays,
            payment_grace_days=10,
            cost_of_capital=0.10,
        )
    )
    assert r["cts_late_payment"] == pytest.approx(20.0)


def test_payment_made_after_as_of_is_late_only_up_to_as_of(eng: Engine) -> None:
    # due 2024-06-20, paid 2024-08-01: 10 days late as of 2024-06-30: 10 x 3,650 x 0.08/365 = 8
    pays = [("a", dt.date(2024, 6, 20), dt.date(2024, 8, 1), 3_650.0)]
    r = _row(_run(eng, [{"order_id": "O1", "revenue": 1000, "cost": 500}], pays=pays))
    assert r["cts_late_payment"] == pytest.approx(8.0)


# -- revenue, discount, rebates, margin -----------------------------------------------------


def test_discount_is_list_minus_net_where_list_prices_exist(eng: Engine) -> None:
    # line 1 list 500 net 400 (discount 100); line 2 has no list price
    r = _row(
        _run(
            eng,
            [
                {"order_id": "O1", "revenue": 400, "cost": 200, "list_revenue": 500},
                {"order_id": "O1", "revenue": 100, "cost": 50},
            ],
        )
    )
    assert r["list_revenue"] == pytest.approx(500.0)
    assert r["discount"] == pytest.approx(100.0)
    assert r["discount_depth"] == pytest.approx(100 / 500)


def test_rebates_use_the_rate_or_the_customer_column(eng: Engine) -> None:
    custs = pa.table({"customer_id": ["a", "b"], "rebate": [0.05, None]})
    res = _run(
        eng,
        [
            {"customer_id": "a", "order_id": "O1", "revenue": 1000, "cost": 500},
            {"customer_id": "b", "order_id": "O2", "revenue": 2000, "cost": 500},
        ],
        custs=custs,
        rebate_rate=0.02,
        rebate_column="rebate",
    )
    assert _row(res, "a")["rebates"] == pytest.approx(0.05 * 1000)  # own rate: 50
    assert _row(res, "b")["rebates"] == pytest.approx(0.02 * 2000)  # default rate: 40


def test_rebate_column_missing_from_customers_is_a_settings_error(eng: Engine) -> None:
    with pytest.raises(SettingsError, match="rebate_column"):
        _run(
            eng,
            [{"order_id": "O1", "revenue": 1000, "cost": 500}],
            custs=pa.table({"customer_id": ["a"]}),
            rebate_column="rebate",
        )


def test_margin_rate_fills_in_for_lines_without_cost(eng: Engine) -> None:
    # line 1 cost 300 on 400; line 2 no cost, 200 at a 25% margin: cogs 300 + 150 = 450
    tx = [{"order_id": "O1", "revenue": 400, "cost": 300}, {"order_id": "O1", "revenue": 200}]
    r = _row(_run(eng, tx, margin_rate=0.25))
    assert r["cogs"] == pytest.approx(450.0)
    assert r["gross_margin"] == pytest.approx(150.0)
    # without a margin rate the margin is unknown, not understated
    r2 = _row(_run(eng, tx))
    assert r2["gross_margin"] is None and r2["net_profit"] is None


def test_missing_cost_column_reports_cogs_absent(eng: Engine) -> None:
    res = _run(eng, [{"order_id": "O1", "revenue": 400}])
    assert "cogs" in {a["pool"] for a in res.absent_pools}
    assert _row(res)["net_profit"] is None
    assert res.whale.num_rows == 0
    assert res.headline["n_customers_without_profit"] == 1


# -- absent inputs, period, reconciliation --------------------------------------------------


def test_missing_activities_and_payments_leave_pools_null_and_listed(eng: Engine) -> None:
    res = _run(eng, [{"order_id": "O1", "revenue": 1000, "cost": 500}])
    absent = {a["pool"]: a["reason"] for a in res.absent_pools}
    for pool in ("visits", "calls", "emails", "quotes", "support", "other"):
        assert absent[pool] == "no activities table"
        assert _row(res)[f"cts_{pool}"] is None
    assert absent["late_payment"] == "no payments table"
    assert _row(res)["cts_late_payment"] is None
    # deliveries, returns and order changes fall back to the transactions instead
    assert not {"deliveries", "returns", "order_changes"} & set(absent)
    steps = set(res.breakdown.column("step").to_pylist())
    assert "visits" not in steps and "late_payment" not in steps
    # ease components that need the missing inputs are null, and left out of the score
    assert _row(res)["ease_payment_days_late"] is None
    assert _row(res)["ease_sales_effort"] is None
    assert not {"payment_days_late", "share_invoices_late", "sales_effort"} & set(
        res.ease_components
    )


def test_period_excludes_events_outside_the_last_months(eng: Engine) -> None:
    tx = [
        {"order_id": "O1", "revenue": 1000, "cost": 500, "date": dt.date(2023, 6, 30)},  # out
        {"order_id": "O2", "revenue": 300, "cost": 100, "date": dt.date(2023, 7, 1)},  # in
        {"order_id": "O3", "revenue": 700, "cost": 100, "date": dt.date(2024, 7, 1)},  # after
    ]
    acts = [("a", "visit", None, None, dt.date(2023, 1, 1)), ("a", "call")]
    r = _row(_run(eng, tx, acts=acts))
    assert r["revenue"] == pytest.approx(300.0)
    assert (r["n_visits"], r["n_calls"]) == (0, 1)
    r_all = _row(_run(eng, tx, acts=acts, period_months=0))
    assert r_all["revenue"] == pytest.approx(1300.0)  # whole history up to as_of
    assert r_all["n_visits"] == 1


def test_customers_with_only_activities_are_included_as_pure_cost(eng: Engine) -> None:
    res = _run(
        eng,
        [{"customer_id": "a", "order_id": "O1", "revenue": 1000, "cost": 500}],
        acts=[("b", "visit")],
    )
    b = _row(res, "b")
    assert b["revenue"] == 0.0 and b["net_profit"] == pytest.approx(-150.0)


def test_sums_reconcile_with_the_inputs(eng: Engine) -> None:
    tx = [
        {"customer_id": "a", "order_id": "O1", "revenue": 1000, "cost": 500},
        {"customer_id": "b", "order_id": "O2", "revenue": 80, "cost": 50},
        {"customer_id": "b", "order_id": "R2", "revenue": -20, "cost": -10},
        {
            "customer_id": "c",
            "order_id": "O9",
            "revenue": 50,
            "cost": 10,
            "date": dt.date(2020, 1, 1),
        },  # outside the period
    ]
    acts = [("a", "visit", None, 120.0), ("b", "call"), ("c", "email"), ("d", "support")]
    res = _run(eng, tx, acts=acts, reconcile=True)
    rec = res.reconciliation
    assert rec["revenue_transactions"] == pytest.approx(1060.0)
    assert rec["revenue_customers"] == pytest.approx(1060.0)
    assert rec["activity_cost_input"] == pytest.approx(120 + 10 + 3 + 25)  # 158
    assert rec["activity_cost_pools"] == pytest.approx(158.0)
    assert rec["reconciled"] is True
    assert res.customers.column("customer_id").to_pylist() == ["a", "b", "c", "d"]


# -- outputs -----------------------------------------------------------------------------


def test_flags_customers_profitable_per_order_but_not_all_in(eng: Engine) -> None:
    # a: margin 500, 2 visits: 500 - 20 - 2 - 40 - 300 = 138 > 0
    # b: margin 300, 3 visits: 300 - 62 - 450 = -212 < 0 -> flagged
    res = _run(
        eng,
        [
            {"customer_id": "a", "order_id": "O1", "revenue": 1000, "cost": 500},
            {"customer_id": "b", "order_id": "O2", "revenue": 1000, "cost": 700},
        ],
        acts=[("a", "visit")] * 2 + [("b", "visit")] * 3,
    )
    assert _row(res, "a")["net_profit"] == pytest.approx(138.0)
    assert _row(res, "b")["net_profit"] == pytest.approx(-212.0)
    assert _row(res, "a")["profitable_per_order_unprofitable_all_in"] is False
    assert _row(res, "b")["profitable_per_order_unprofitable_all_in"] is True
    assert _row(res, "b")["net_margin_pct"] == pytest.approx(-0.212)


def test_breakdown_steps_add_up_to_net_profit(eng: Engine) -> None:
    res = _run(
        eng,
        [
            {"order_id": "O1", "revenue": 400, "cost": 200, "list_revenue": 500},
            {"order_id": "O2", "revenue": 100, "cost": 50, "list_revenue": 100},
        ],
        acts=[("a", "visit"), ("a", "call")],
        pays=[("a", dt.date(2024, 3, 1), dt.date(2024, 3, 31), 10_000.0)],
        rebate_rate=0.01,
    )
    rows = res.breakdown.to_pylist()
    steps = [r["step"] for r in rows]
    assert steps[:6] == ["gross_revenue", "discount", "revenue", "cogs", "gross_margin", "rebates"]
    assert steps[-1] == "net_profit"
    amt = {r["step"]: r["amount"] for r in rows}
    assert amt["gross_revenue"] == pytest.approx(600.0)
    assert amt["gross_revenue"] + amt["discount"] == pytest.approx(amt["revenue"])
    assert amt["revenue"] + amt["cogs"] == pytest.approx(amt["gross_margin"])
    changes = sum(r["amount"] for r in rows[5:-1])  # rebates and every pool
    assert amt["gross_margin"] + changes == pytest.approx(amt["net_profit"])
    assert amt["net_profit"] == pytest.approx(_row(res)["net_profit"])
    assert set(POOLS) <= set(steps)


def test_result_is_deterministic(eng: Engine) -> None:
    tx = [
        {"customer_id": c, "order_id": f"O{i}", "revenue": 100.0 * (i + 1), "cost": 40.0}
        for i, c in enumerate("dcbaedcba")
    ]
    acts = [(c, "visit") for c in "abcab"]
    a = _run(eng, tx, acts=acts)
    b = _run(eng, tx, acts=acts)
    assert a.customers.equals(b.customers)
    assert a.breakdown.equals(b.breakdown)
    assert a.whale.equals(b.whale)
    assert a.headline == b.headline


def test_manifest_entry_carries_headline_absent_pools_and_reconciliation(eng: Engine) -> None:
    import json

    res = _run(eng, [{"order_id": "O1", "revenue": 1000, "cost": 500}])
    m = json.loads(json.dumps(res.manifest()))
    assert set(m) >= {"period", "headline", "absent_pools", "reconciliation", "pool_sources"}
    assert m["period"] == {"start_exclusive": "2023-06-30", "end_inclusive": "2024-06-30"}


def test_rejects_unknown_pool_and_ease_component_in_settings() -> None:
    with pytest.raises(ValueError, match="unknown pool"):
        ProfitabilitySettings(activity_pools={"visit": "vists"})
    with pytest.raises(ValueError, match="unknown ease component"):
        ProfitabilitySettings(ease_weights={"speed": 1.0})
    with pytest.raises(ValueError, match="unknown pool"):
        ProfitabilitySettings(cost_per_minute={"visit": 1.0})


# -- every rate is a setting ------------------------------------------------------------------


def test_every_rate_setting_drives_its_pool(eng: Engine) -> None:
    # distinct non-default rates, so a rate wired to the wrong pool shows
    rates = {
        "cost_per_order": 7.0,
        "cost_per_order_line": 3.0,
        "small_order_surcharge": 11.0,
        "drop_size_threshold": 150.0,
        "cost_per_visit": 101.0,
        "cost_per_call": 13.0,
        "cost_per_email": 5.0,
        "cost_per_quote": 17.0,
        "cost_per_support_case": 19.0,
        "cost_per_other_activity": 23.0,
        "cost_per_delivery": 29.0,
        "cost_per_return": 31.0,
        "cost_per_order_change": 37.0,
    }
    tx = [
        {"order_id": "O1", "revenue": 200, "cost": 100},
        {"order_id": "O1", "revenue": 100, "cost": 50},  # O1 worth 300: not small
        {"order_id": "O2", "revenue": 100, "cost": 60},  # O2 worth 100 < 150: small
    ]
    acts = [
        ("a", "visit"),
        ("a", "call"),
        ("a", "call"),
        ("a", "email"),
        ("a", "email"),
        ("a", "email"),
        ("a", "quote"),
        ("a", "support"),
        ("a", "webinar"),  # no pool: "other"
        ("a", "delivery"),
        ("a", "delivery"),
        ("a", "return"),
        ("a", "Order Change"),  # normalised to order_change
    ]
    r = _row(_run(eng, tx, acts=acts, **rates))
    expected = {
        "orders": (2, 2 * 7.0),
        "order_lines": (3, 3 * 3.0),
        "small_orders": (1, 11.0),
        "visits": (1, 101.0),
        "calls": (2, 2 * 13.0),
        "emails": (3, 3 * 5.0),
        "quotes": (1, 17.0),
        "support": (1, 19.0),
        "other": (1, 23.0),
        "deliveries": (2, 2 * 29.0),
        "returns": (1, 31.0),
        "order_changes": (1, 37.0),
    }
    for pool, (n, cost) in expected.items():
        assert (r[f"n_{pool}"], r[f"cts_{pool}"]) == (n, pytest.approx(cost)), pool
    total = sum(c for _, c in expected.values())  # 14+9+11+101+26+15+17+19+23+58+31+37 = 361
    assert total == pytest.approx(361.0)
    assert r["cost_to_serve"] == pytest.approx(361.0)
    # gross margin 400 - 210 = 190; no payments table, so no late-payment pool
    assert r["net_profit"] == pytest.approx(190.0 - 361.0)


def test_duration_times_the_pools_minute_rate(eng: Engine) -> None:
    # calls at 0.8/min, support at 1.2/min; a call without duration keeps the flat 10
    res = _run(
        eng,
        [{"order_id": "O1", "revenue": 1000, "cost": 500}],
        acts=[("a", "call", 10.0), ("a", "call"), ("a", "support", 30.0), ("a", "email", 9.0)],
        cost_per_minute={"calls": 0.8, "support": 1.2},
    )
    r = _row(res)
    assert r["cts_calls"] == pytest.approx(10 * 0.8 + 10.0)  # 18
    assert r["cts_support"] == pytest.approx(30 * 1.2)  # 36
    assert r["cts_emails"] == pytest.approx(3.0)  # no minute rate for emails: flat


# -- ease components, raw figures -----------------------------------------------------------


def test_ease_components_are_hand_computable(eng: Engine) -> None:
    tx = [
        # a: orders of 500 and 100 (avg 300), margin 600 - 300 = 300; a return of -60
        {"customer_id": "a", "order_id": "O1", "revenue": 500, "cost": 250},
        {"customer_id": "a", "order_id": "O2", "revenue": 100, "cost": 50},
        {"customer_id": "a", "order_id": "R1", "revenue": -60, "cost": -30},
        # b: margin -100 (cost above revenue), one call: effort with no margin
        {"customer_id": "b", "order_id": "O3", "revenue": 400, "cost": 500},
        # c: no visits or calls
        {"customer_id": "c", "order_id": "O4", "revenue": 400, "cost": 100},
    ]
    acts = [("a", "visit"), ("a", "call"), ("a", "call"), ("a", "order_change"), ("b", "call")]
    res = _run(eng, tx, acts=acts)
    a, b, c = (_row(res, k) for k in "abc")
    # order size: average sale order 600 / 2 = 300 against the economic order (default the
    # drop size, 250)
    assert a["order_size_ratio"] == pytest.approx(300 / 250)
    assert a["order_change_rate"] == pytest.approx(1 / 2)  # one change, two orders
    assert a["returns_rate"] == pytest.approx(60 / 600)
    # gross margin 600 - 60 - (300 - 30) = 270: 3 visits and calls per 0.27 thousand
    assert a["gross_margin"] == pytest.approx(270.0)
    assert a["effort_per_margin_unit"] == pytest.approx(3 / 0.27)
    assert b["effort_per_margin_unit"] == float("inf")  # effort, no positive margin
    assert c["effort_per_margin_unit"] == 0.0
    # lower effort is easier: c (0) > a (11.1) > b (inf): scores 83.3, 50, 16.7
    assert [r["ease_sales_effort"] for r in (c, a, b)] == pytest.approx([250 / 3, 50, 50 / 3])
    res2 = _run(eng, tx, acts=acts, minimum_economic_order=400.0, effort_margin_unit=100.0)
    assert _row(res2, "a")["order_size_ratio"] == pytest.approx(300 / 400)
    assert _row(res2, "a")["effort_per_margin_unit"] == pytest.approx(3 / 2.7)


# -- absent inputs are named, never zero ----------------------------------------------------


def _absent(res) -> dict[str, str]:
    import json

    m = json.loads(json.dumps(res.manifest()))  # as written to manifest.json
    return {a["pool"]: a["reason"] for a in m["absent_pools"]}


ACTIVITY_ONLY = {"visits", "calls", "emails", "quotes", "support", "other"}


def test_manifest_names_exactly_the_pools_each_missing_input_removes(eng: Engine) -> None:
    tx = [{"order_id": "O1", "revenue": 900, "cost": 500, "list_revenue": 1000}]
    acts = [("a", "visit")]
    pays = [("a", dt.date(2024, 3, 1), dt.date(2024, 3, 31), 3_650.0)]
    assert _absent(_run(eng, tx, acts=acts, pays=pays)) == {}
    no_pay = _absent(_run(eng, tx, acts=acts))
    assert no_pay == {"late_payment": "no payments table"}
    no_act = _absent(_run(eng, tx, pays=pays))
    assert no_act == dict.fromkeys(ACTIVITY_ONLY, "no activities table")
    for res in (_run(eng, tx), _run(eng, tx, acts=acts), _run(eng, tx, pays=pays)):
        r = _row(res)
        absent = _absent(res)
        # an absent pool is null in the table and missing from the breakdown, not zero
        for pool in POOLS:
            if pool in absent:
                assert r[f"cts_{pool}"] is None and r[f"n_{pool}"] is None, pool
            else:
                assert r[f"cts_{pool}"] is not None, pool
        steps = set(res.breakdown.column("step").to_pylist())
        assert not steps & set(absent)
        assert set(res.headline["cost_to_serve_by_pool"]) == set(POOLS) - set(absent)


def test_missing_list_prices_report_the_discount_absent(eng: Engine) -> None:
    res = _run(eng, [{"order_id": "O1", "revenue": 400, "cost": 200}])
    assert _absent(res)["discount"] == "no list_revenue in the transactions"
    r = _row(res)
    assert r["discount"] is None and r["list_revenue"] is None and r["discount_depth"] is None
    assert r["ease_discount_depth"] is None
    assert "discount_depth" not in res.ease_components
    steps = res.breakdown.column("step").to_pylist()
    assert steps[0] == "revenue" and "discount" not in steps and "gross_revenue" not in steps


def test_transactions_without_a_cost_column_leave_profit_unknown(eng: Engine) -> None:
    # the cost column is not there at all (not merely empty)
    tx = eng.from_arrow(
        pa.table(
            {
                "customer_id": ["a", "b"],
                "date": pa.array([D, D], pa.date32()),
                "revenue": [400.0, 100.0],
                "order_id": ["O1", "O2"],
            }
        )
    )
    res = profitability_stage(tx, as_of=AS_OF, settings=ProfitabilitySettings(reconcile=True))
    assert "cogs" in _absent(res)
    r = _row(res)
    for col in ("cogs", "gross_margin", "net_profit", "net_margin_pct"):
        assert r[col] is None, col
    # the flag cannot be decided either: null, not False
    assert r["profitable_per_order_unprofitable_all_in"] is None
    # the cost-to-serve itself is still known: 20 order + 2 line + 40 delivery
    assert r["cost_to_serve"] == pytest.approx(62.0)
    h = res.headline
    assert h["total_gross_margin"] is None
    assert h["share_of_customers_profitable_per_order_unprofitable_all_in"] is None
    assert h["n_customers"] == 0 and h["n_customers_without_profit"] == 2
    assert res.reconciliation["reconciled"] is True


def test_flag_share_counts_only_customers_with_a_known_profit(eng: Engine) -> None:
    # a: margin 300, 3 visits -> 300 - 62 - 450 < 0: flagged; b: no cost on its line
    res = _run(
        eng,
        [
            {"customer_id": "a", "order_id": "O1", "revenue": 1000, "cost": 700},
            {"customer_id": "b", "order_id": "O2", "revenue": 1000},
        ],
        acts=[("a", "visit")] * 3,
    )
    assert _row(res, "a")["profitable_per_order_unprofitable_all_in"] is True
    assert _row(res, "b")["profitable_per_order_unprofitable_all_in"] is None
    h = res.headline
    assert h["share_of_customers_profitable_per_order_unprofitable_all_in"] == 1.0
    assert h["total_gross_margin"] == pytest.approx(300.0)  # a's only; b's is unknown


def test_rebate_source_is_reported(eng: Engine) -> None:
    tx = [{"order_id": "O1", "revenue": 1000, "cost": 500}]
    assert _run(eng, tx, rebate_rate=0.02).pool_sources["rebates"] == "rebate_rate 0.02"
    res = _run(eng, tx, rebate_rate=0.02, rebate_column="rebate")
    # no customers table to read the column from: the default rate, and it says so
    assert "no customers table" in res.pool_sources["rebates"]
    assert _row(res)["rebates"] == pytest.approx(20.0)


def test_built_in_cost_rates_on_yen_amounts_are_called_out_of_scale() -> None:
    # orders of about 1,500,000 yen costed at the built-in 20 per order, 40 per delivery:
    # the cost to serve came to 0% of revenue and the note did not say it was implausible
    import datetime as dt

    import pyarrow as pa

    from tierwise.engine import Engine
    from tierwise.features._declare import _median_order, _rates_out_of_scale
    from tierwise.features.profitability import profitability_stage
    from tierwise.settings.profitability import ProfitabilitySettings

    eng = Engine()
    n = 40
    tx = eng.from_arrow(
        pa.table(
            {
                "customer_id": [f"c{i % 8}" for i in range(n)],
                "date": [dt.date(2024, 1 + i % 12, 1 + i % 27) for i in range(n)],
                "order_id": [str(i) for i in range(n)],
                "revenue": [1_500_000.0 + 10_000.0 * i for i in range(n)],
                "cost": [1_000_000.0] * n,
            }
        )
    )
    s = ProfitabilitySettings()
    res = profitability_stage(tx, as_of=dt.date(2024, 12, 31), settings=s)
    order = _median_order(res.customers)
    assert order == pytest.approx(1_695_000.0, rel=0.1)
    cts = float(res.headline["total_cost_to_serve"])
    rev = float(res.headline["total_revenue"])
    note = _rates_out_of_scale(s, ["cost_per_order", "cost_per_delivery"], order, cts, rev)
    assert note is not None and "another currency" in note
    assert "[profitability] cost_per_order, cost_per_delivery" in note
    assert "drop_size_threshold, small_order_surcharge" in note
    # the same rates on euro-sized orders are not out of scale
    assert _rates_out_of_scale(s, ["cost_per_order"], 800.0, 3_000.0, 100_000.0) is None
    # rates set by the user are not built-in: nothing to say
    assert _rates_out_of_scale(s, [], order, cts, rev) is None
    eng.close()
