"""Trading terms priced by hand on small cases: each rule's cost saved and cost paid."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from tierwise.engine import Engine
from tierwise.settings.terms import TermsSettings
from tierwise.terms import TERMS_COLUMNS, ladder_rebate, trading_terms

S = TermsSettings()
GOLD = {
    "customer_id": "g",
    "tier": "gold",
    "revenue_12m": 200_000.0,
    "revenue": 200_000.0,
    "gross_margin": 60_000.0,
    "n_orders_pnl": 120,
    "cts_orders": 2_400.0,
    "n_small_orders": 30,
    "cts_small_orders": 750.0,
    "n_deliveries": 120,
    "cts_deliveries": 4_800.0,
    "payment_terms_days": 60.0,
    "avg_days_late": 10.0,
    "cts_late_payment": 500.0,
    "headroom": 100_000.0,
}


def _rules(res: object) -> dict[str, dict]:
    t = res.tables["terms"]  # type: ignore[attr-defined]
    return {(r["terms"], r["rule"]): r for r in t.to_pylist()}


def test_every_rule_of_a_gold_customer_by_hand() -> None:
    res = trading_terms(pa.Table.from_pylist([GOLD]), S, cost_of_capital=0.08)
    assert tuple(res.tables["terms"].column_names) == TERMS_COLUMNS
    r = _rules(res)
    # minimum order 150: 70% of the 30 small orders consolidated; each saves its handling
    # (2400 / 120 = 20) and its delivery (4800 / 120 = 40, one delivery per order), plus
    # 70% of the small-order surcharge
    avoided = 0.7 * 30
    mo = avoided * (20 + 40) + 0.7 * 750
    assert r["gold", "minimum order"]["quantity"] == pytest.approx(avoided)
    assert r["gold", "minimum order"]["cost_saved"] == pytest.approx(mo)
    # at most 8 deliveries a month: 120 - 21 = 99 left, 96 allowed, 80% of 3 pooled at 40
    assert r["gold", "delivery frequency"]["cost_saved"] == pytest.approx(0.8 * 3 * 40)
    # payment days 45 instead of 60 on the 60% of revenue not paid promptly, financed at 8%,
    # and half of that share's late-payment cost
    per_day = 200_000 * 0.08 / 365
    pdays = 0.6 * 15 * per_day + 0.6 * 0.5 * 500
    assert r["gold", "payment days"]["cost_saved"] == pytest.approx(pdays)
    assert r["gold", "payment days"]["cost_paid"] == 0.0
    # 2% within 10 days on 40% of revenue: pays 2% of it, saves 60 + 10 - 10 days of
    # financing and the late-payment cost on it
    pp_saved = 0.4 * (60 * per_day + 500)
    pp_paid = 0.4 * 0.02 * 200_000
    pp = r["gold", "prompt-payment rebate"]
    assert (pp["cost_saved"], pp["cost_paid"]) == pytest.approx((pp_saved, pp_paid))
    assert pp["pays_for_itself"] is (pp_saved >= pp_paid)
    # ladder: 10% of the 100000 headroom won → 210000; 1% of 50000-150000, 2% above
    ladder = r["gold", "rebate ladder"]
    assert ladder["cost_paid"] == pytest.approx(0.01 * 100_000 + 0.02 * 60_000)
    assert ladder["margin_gained"] == pytest.approx(10_000 * 0.3)
    total = r["gold", "all rules"]
    saved = mo + 0.8 * 3 * 40 + pdays + pp_saved
    paid = pp_paid + 2_200
    assert total["cost_saved"] == pytest.approx(saved)
    assert total["net"] == pytest.approx(saved + 3_000 - paid)
    assert total["pays_for_itself"] is True
    # the customer column carries the same net
    assert res.customers.column("terms_net_value")[0].as_py() == pytest.approx(total["net"])
    assert res.customers.column("trading_terms").to_pylist() == ["gold"]


def test_longer_payment_days_are_a_cost() -> None:
    row = GOLD | {"tier": "gold", "payment_terms_days": 30.0, "cts_late_payment": 0.0}
    r = _rules(trading_terms(pa.Table.from_pylist([row]), S))
    # 45 days instead of 30 on the 60% not paid promptly
    want = 0.6 * 15 * 200_000 * 0.08 / 365
    assert r["gold", "payment days"]["cost_paid"] == pytest.approx(want)
    assert r["gold", "payment days"]["cost_saved"] == 0.0
    assert r["gold", "payment days"]["pays_for_itself"] is False


def test_figures_are_per_year_whatever_the_profit_period() -> None:
    # revenue_12m covers 12 months whatever the profit period; the counts and costs of the
    # profit period are scaled to a year
    six = GOLD | {"revenue_12m": 200_000.0}
    year = GOLD | {"revenue_12m": 200_000.0}
    for k in ("n_orders_pnl", "n_small_orders", "n_deliveries"):
        six[k] = GOLD[k] // 2  # type: ignore[operator]
    for k in ("cts_orders", "cts_small_orders", "cts_deliveries", "cts_late_payment"):
        six[k] = GOLD[k] / 2  # type: ignore[operator]
    a = _rules(trading_terms(pa.Table.from_pylist([six]), S, period_months=6))
    b = _rules(trading_terms(pa.Table.from_pylist([year]), S, period_months=12))
    for key, row in b.items():
        for col in ("cost_saved", "margin_gained", "cost_paid"):
            assert a[key][col] == pytest.approx(row[col]), (key, col)


def test_orders_below_each_tiers_minimum_are_counted_in_the_transactions(engine: Engine) -> None:
    day = dt.date(2024, 6, 1)
    values = [100.0, 200.0, 300.0, 500.0]
    rows = []
    for c in ("g", "b"):
        for i, v in enumerate(values):
            rows.append(
                {
                    "customer_id": c,
                    "date": day,
                    "revenue": v,
                    "order_id": f"{c}{i}",
                    "is_return": False,
                    "is_cancel": False,
                }
            )
    # a return, a cancellation and an order before the period: none is a small order
    rows += [
        {
            "customer_id": "g",
            "date": day,
            "revenue": -20.0,
            "order_id": "R1",
            "is_return": True,
            "is_cancel": False,
        },
        {
            "customer_id": "g",
            "date": day,
            "revenue": -20.0,
            "order_id": "Cg0",
            "is_return": False,
            "is_cancel": True,
        },
        {
            "customer_id": "b",
            "date": dt.date(2022, 1, 1),
            "revenue": 5.0,
            "order_id": "old",
            "is_return": False,
            "is_cancel": False,
        },
    ]
    tx = engine.from_arrow(pa.Table.from_pylist(rows))
    cust = pa.Table.from_pylist(
        [GOLD | {"customer_id": "g", "tier": "gold"}, GOLD | {"customer_id": "b", "tier": "bronze"}]
    )
    res = trading_terms(cust, S, tx=tx, as_of=dt.date(2024, 6, 30))
    r = _rules(res)
    # gold's minimum 150: one order below; bronze's 400: three
    assert r["gold", "minimum order"]["quantity"] == pytest.approx(0.7 * 1)
    assert r["bronze", "minimum order"]["quantity"] == pytest.approx(0.7 * 3)
    assert "in the transactions" in r["gold", "minimum order"]["basis"]
    assert not any("small orders" in w for w in res.warnings)


def test_without_tiers_everyone_gets_the_default_terms_and_a_warning() -> None:
    row = {k: v for k, v in GOLD.items() if k != "tier"}
    res = trading_terms(pa.Table.from_pylist([row]), S)
    assert res.customers.column("trading_terms").to_pylist() == ["bronze"]
    assert any("default_terms" in w for w in res.warnings)
    unknown = trading_terms(pa.Table.from_pylist([GOLD | {"tier": "platinum"}]), S)
    assert unknown.customers.column("trading_terms").to_pylist() == ["bronze"]
    assert any("platinum" in w for w in unknown.warnings)


def test_prospects_are_not_priced() -> None:
    rows = [GOLD | {"is_prospect": False}, GOLD | {"customer_id": "p", "is_prospect": True}]
    res = trading_terms(pa.Table.from_pylist(rows), S)
    assert res.customers.column("customer_id").to_pylist() == ["g"]
    assert _rules(res)["gold", "all rules"]["customers"] == 1


def test_ladder_rebate_is_paid_on_the_volume_above_each_step() -> None:
    steps = [[50_000.0, 0.01], [150_000.0, 0.02], [400_000.0, 0.03]]
    v = np.array([0.0, 50_000.0, 100_000.0, 150_000.0, 500_000.0])
    want = [0.0, 0.0, 500.0, 1_000.0, 1_000 + 0.02 * 250_000 + 0.03 * 100_000]
    assert ladder_rebate(v, steps).tolist() == pytest.approx(want)
    assert ladder_rebate(v, []).tolist() == [0.0] * 5


def test_settings_refuse_a_decreasing_ladder_and_unknown_default_terms() -> None:
    with pytest.raises(ValidationError, match="increase"):
        TermsSettings(rebate_ladder={"gold": [[100.0, 0.01], [50.0, 0.02]]})
    with pytest.raises(ValidationError, match="default_terms"):
        TermsSettings(default_terms="platinum")


def _yen_customers() -> pa.Table:
    # amounts in yen: 120 orders a year of 2,000,000 to 8,000,000 each
    rows = []
    for i, tier in enumerate(["gold", "gold", "silver", "bronze"]):
        rows.append(
            {**GOLD, "customer_id": f"y{i}", "tier": tier}
            | {"revenue_12m": 240_000_000.0 * (i + 1), "revenue": 240_000_000.0 * (i + 1)}
        )
    return pa.Table.from_pylist(rows)


def test_built_in_amounts_are_named_and_flagged_out_of_scale_on_yen_data() -> None:
    # JPY data priced with the euro-sized defaults: no order near the 150-400 minimums,
    # every customer past the ladder's top step; the run said nothing about either
    res = trading_terms(_yen_customers(), S)
    notes = [w for w in res.warnings if "[terms] min_order_value" in w]
    assert len(notes) == 1
    assert "gold 150, silver 250, bronze 400" in notes[0]
    assert "median order is 5,000,000" in notes[0] and "another currency" in notes[0]
    ladder = next(w for w in res.warnings if "[terms] rebate_ladder" in w)
    assert "2 of 2 gold customers buy above its top step 400,000" in ladder
    assert "1 of 1 silver customers buy above its top step 150,000" in ladder
    assert res.manifest["amount_defaults"] == ["min_order_value", "rebate_ladder"]
    # euro-sized data: the defaults are still named, but not called out of scale
    eur = trading_terms(pa.Table.from_pylist([GOLD]), S)
    note = next(w for w in eur.warnings if "[terms] min_order_value" in w)
    assert "another currency" not in note
    assert not any("another currency" in w for w in eur.warnings)
    # set in the data's currency: no warning, nothing in the manifest
    own = TermsSettings(
        min_order_value={"gold": 20_000.0, "silver": 40_000.0, "bronze": 60_000.0},
        rebate_ladder={"gold": [[1e9, 0.01]], "silver": [], "bronze": []},
    )
    mine = trading_terms(_yen_customers(), own)
    assert not any("[terms] min_order_value" in w or "rebate_ladder" in w for w in mine.warnings)
    assert mine.manifest["amount_defaults"] == []


def test_the_all_rules_row_leaves_setting_and_unit_empty_not_blank_text() -> None:
    t = trading_terms(pa.Table.from_pylist([GOLD]), S).tables["terms"]
    rows = [r for r in t.to_pylist() if r["rule"] == "all rules"]
    assert rows and all(r["setting"] is None and r["unit"] is None for r in rows)
