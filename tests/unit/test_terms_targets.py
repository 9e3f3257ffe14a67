"""KPI targets: each rep's targets add up to the team's, and the team's to the plan's."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierwise.settings.terms import TermsSettings
from tierwise.terms import TARGET_COLUMNS, TEAM, kpi_targets

S = TermsSettings()


def _base() -> pa.Table:
    return pa.table(
        {
            "customer_id": ["a", "b", "c", "d", "p1", "p2"],
            "rep_id": ["r1", "r1", "r2", "r2", "r1", None],
            "value_class": ["A", "B", "A", "C", "B", "C"],
            "is_prospect": [False, False, False, False, True, True],
            "revenue_12m": [10_000.0, 2_000.0, 8_000.0, 0.0, 0.0, 0.0],
            "headroom": [5_000.0, 1_000.0, 2_000.0, 500.0, 0.0, 0.0],
            "wallet": [15_000.0, 3_000.0, 10_000.0, 500.0, 4_000.0, 8_000.0],
            "gross_margin": [3_000.0, 400.0, 2_000.0, 0.0, 0.0, 0.0],
            "revenue": [10_000.0, 2_000.0, 8_000.0, 0.0, 0.0, 0.0],
        }
    )


def _rows(res: object, level: str) -> dict[tuple[str, str], dict]:
    t = res.tables["targets"].to_pylist()  # type: ignore[attr-defined]
    return {(r["rep"], r["segment"]): r for r in t if r["level"] == level}


def test_targets_from_spend_and_headroom_by_hand() -> None:
    res = kpi_targets(_base(), S)
    assert tuple(res.tables["targets"].column_names) == TARGET_COLUMNS
    rep = _rows(res, "rep")
    # r1 A: 10000 + 10% of 5000; margin at a's own rate, 30%
    assert rep["r1", "A"]["revenue_target"] == pytest.approx(10_500.0)
    assert rep["r1", "A"]["margin_target"] == pytest.approx(10_500.0 * 0.3)
    # r1 B: b (2000 + 10% of 1000) and prospect p1 (10% × 25% of its 4000 wallet)
    assert rep["r1", "B"]["revenue_target"] == pytest.approx(2_100.0 + 100.0)
    # one prospect at 10%: 0.1 expected; with p2's 0.1 the team expects 0.2: no whole one
    assert rep["r1", "B"]["conversions_expected"] == pytest.approx(0.1)
    assert rep["r1", "B"]["conversion_target"] == 0
    assert rep["r1", "B"]["prospects"] == 1
    # retention for A only: r2 keeps its one buying A account (95% of 1, in whole accounts)
    assert rep["r2", "A"]["retention_target_accounts"] == 1
    assert rep["r1", "B"]["retention_target_accounts"] == 0.0
    # d buys nothing today: not counted as buying, target = 5% of its headroom
    assert rep["r2", "C"]["accounts_buying"] == 0
    assert rep["r2", "C"]["revenue_target"] == pytest.approx(25.0)
    # p2 has no rep
    assert (S.unassigned_rep, "C") in rep
    assert res.manifest["source"] == "spend and headroom"
    assert any("coverage plan" in w for w in res.warnings)


def test_reps_add_up_to_the_team_and_the_team_to_the_plan() -> None:
    t = _base()
    plan = [11_000.0, 2_500.0, 9_000.0, 100.0, 700.0, 0.0]
    t = t.append_column("expected_revenue_plan", pa.array(plan))
    t = t.append_column("assigned_rep", pa.array(["r2", "r1", "r2", "r1", "r1", "r2"]))
    res = kpi_targets(t, S)
    rep, team = _rows(res, "rep"), _rows(res, "team")
    for seg in ("A", "B", "C"):
        reps = sum(r["revenue_target"] for (_, g), r in rep.items() if g == seg)
        assert team[TEAM, seg]["revenue_target"] == pytest.approx(reps)
    assert sum(r["revenue_target"] for r in team.values()) == pytest.approx(sum(plan))
    assert res.manifest["team_adds_up_to_plan"] is True
    assert res.manifest["reps_add_up_to_team"] is True
    # the assigned rep wins over rep_id: a goes to r2
    assert rep["r2", "A"]["accounts"] == 2
    assert res.manifest["source"] == "coverage plan"


def test_a_customer_is_set_what_it_buys_plus_the_change_the_plan_makes() -> None:
    # The response model's level is wallet x share: a customer that buys 10,000 of a
    # 15,000 wallet is worth 6,000 to a model whose best share is 0.4. Its target is its
    # own 10,000 plus the change the plan's contacts make against today's, not 6,000.
    t = _base()
    plan = [6_000.0, 2_100.0, 5_000.0, 300.0, 700.0, 900.0]
    today = [5_500.0, 2_400.0, 14_000.0, 100.0, 0.0, 0.0]
    t = t.append_column("expected_revenue_plan", pa.array(plan))
    t = t.append_column("expected_revenue_today", pa.array(today))
    t = t.append_column("assigned_rep", pa.array(["r1", "r1", "r2", "r2", "r1", "r2"]))
    got = dict(
        zip(
            t.column("customer_id").to_pylist(),
            kpi_targets(t, S).customers.column("revenue_target").to_pylist(),
            strict=True,
        )
    )
    assert got["a"] == pytest.approx(10_500.0)  # 10,000 + (6,000 - 5,500)
    assert got["b"] == pytest.approx(1_700.0)  # fewer contacts: 2,000 - 300
    assert got["c"] == 0.0  # never below nothing: 8,000 + 5,000 - 14,000 < 0
    assert got["d"] == pytest.approx(200.0)  # buys nothing today: the plan's change only
    # a prospect buys nothing yet: the plan's expected revenue is its target
    assert got["p1"] == pytest.approx(700.0) and got["p2"] == pytest.approx(900.0)
    # without today's figure the plan's expected revenue stands, as before
    only_plan = kpi_targets(t.drop_columns(["expected_revenue_today"]), S)
    assert only_plan.customers.column("revenue_target").to_pylist() == pytest.approx(plan)
    # the team adds up to the targets set, and the manifest says it
    res = kpi_targets(t, S)
    team = _rows(res, "team")
    assert sum(r["revenue_target"] for r in team.values()) == pytest.approx(sum(got.values()))
    assert res.manifest["revenue_target_plan"] == pytest.approx(sum(got.values()))
    assert res.manifest["team_adds_up_to_plan"] is True


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["r1", "r2", "r3", None]),
            st.sampled_from(["A", "B", "C", "D", "E"]),
            st.booleans(),
            st.floats(0, 1e6),
            st.floats(0, 1e6),
            st.one_of(st.none(), st.floats(0, 1e6)),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_targets_always_reconcile(rows: list[tuple]) -> None:
    t = pa.table(
        {
            "customer_id": [f"c{i}" for i in range(len(rows))],
            "rep_id": [r[0] for r in rows],
            "value_class": [r[1] for r in rows],
            "is_prospect": [r[2] for r in rows],
            "revenue_12m": [r[3] for r in rows],
            "headroom": [r[4] for r in rows],
            "wallet": [r[3] + r[4] for r in rows],
            "expected_revenue_plan": pa.array([r[5] for r in rows], pa.float64()),
        }
    )
    res = kpi_targets(t, S)
    tab = res.tables["targets"].to_pandas()
    rep = tab[tab.level == "rep"].groupby("segment")[["revenue_target", "margin_target"]].sum()
    team = tab[tab.level == "team"].set_index("segment")[["revenue_target", "margin_target"]]
    assert np.allclose(rep.sort_index().to_numpy(), team.sort_index().to_numpy(), rtol=1e-9)
    # whole prospects: the reps add up to the team, the team to the rounded expectation
    conv = tab.groupby("level")["conversion_target"].sum()
    assert (tab["conversion_target"] == tab["conversion_target"].round()).all()
    assert conv["rep"] == conv["team"] == res.manifest["conversion_target_team"]
    expected = tab[tab.level == "team"]["conversions_expected"].sum()
    assert abs(res.manifest["conversion_target_team"] - expected) <= 0.5 + 1e-9
    assert res.manifest["conversions_add_up"] is True
    per_customer = res.customers.column("revenue_target").to_numpy()
    assert team["revenue_target"].sum() == pytest.approx(per_customer.sum(), rel=1e-9)
    assert res.manifest["reps_add_up_to_team"] is True
    if all(r[5] is not None for r in rows):
        assert res.manifest["team_adds_up_to_plan"] is True


def test_conversion_targets_are_whole_prospects_by_largest_remainder() -> None:
    # segment B: r1 14 prospects, r2 13, r3 9 at 10%: 1.4 + 1.3 + 0.9 = 3.6 expected;
    # segment C: r1 5 prospects: 0.5. The team expects 4.1: 4 whole prospects.
    reps = ["r1"] * 14 + ["r2"] * 13 + ["r3"] * 9 + ["r1"] * 5
    segs = ["B"] * 36 + ["C"] * 5
    n = len(reps)
    t = pa.table(
        {
            "customer_id": [f"p{i}" for i in range(n)],
            "rep_id": reps,
            "value_class": segs,
            "is_prospect": [True] * n,
            "wallet": [1_000.0] * n,
        }
    )
    res = kpi_targets(t, S)
    rep, team = _rows(res, "rep"), _rows(res, "team")
    assert team[TEAM, "B"]["conversions_expected"] == pytest.approx(3.6)
    # 4 shared among segments: B 3 + C 0 whole, the one left to B's larger fraction (.6 > .5)
    assert (team[TEAM, "B"]["conversion_target"], team[TEAM, "C"]["conversion_target"]) == (4, 0)
    # B's 4 among its reps: 1 + 1 + 0 whole, the two left to r3 (.9) and r1 (.4)
    got = {r: rep[r, "B"]["conversion_target"] for r in ("r1", "r2", "r3")}
    assert got == {"r1": 2, "r2": 1, "r3": 1}
    assert rep["r1", "C"]["conversion_target"] == 0
    assert res.manifest["conversion_target_team"] == 4
    assert res.manifest["conversions_expected"] == pytest.approx(4.1)
    assert res.manifest["conversions_add_up"] is True


def test_a_target_above_the_customers_wallet_is_cut_back_to_the_wallet() -> None:
    # a whale that buys its whole estimated wallet (1,430,625, headroom 0) was set
    # 1,729,653 by the plan: +21% of spend it does not have, beside headroom 0 on the row
    t = pa.table(
        {
            "customer_id": ["whale", "small", "new", "nowallet"],
            "rep_id": ["r1", "r1", "r1", "r1"],
            "value_class": ["A", "A", "B", "B"],
            "is_prospect": [False, False, True, False],
            "revenue_12m": [1_430_625.0, 1_000.0, 0.0, 500.0],
            "headroom": [0.0, 400.0, 0.0, None],
            "wallet": [1_430_625.0, 1_400.0, 2_000.0, None],
            "expected_revenue_today": [1_430_625.0, 1_000.0, 0.0, 500.0],
            "expected_revenue_plan": [1_729_653.0, 1_600.0, 2_500.0, 900.0],
        }
    )
    res = kpi_targets(t, S)
    got = dict(
        zip(
            ["whale", "small", "new", "nowallet"],
            res.customers["revenue_target"].to_pylist(),
            strict=True,
        )
    )
    assert got["whale"] == pytest.approx(1_430_625.0)  # its wallet: no growth
    assert got["small"] == pytest.approx(1_400.0)  # 1,600 cut to the 1,400 wallet
    assert got["new"] == pytest.approx(2_000.0)  # a prospect's wallet caps it too
    assert got["nowallet"] == pytest.approx(900.0)  # no wallet estimated: the plan's figure
    row = _rows(res, "rep")["r1", "A"]
    assert row["headroom"] == pytest.approx(400.0)
    assert row["revenue_growth"] == pytest.approx(400.0)  # never beyond the headroom shown
    m = res.manifest
    assert m["customers_capped_at_wallet"] == 3
    assert m["revenue_capped_at_wallet"] == pytest.approx(299_028.0 + 200.0 + 500.0)
    assert m["team_adds_up_to_plan"] is True
    note = next(w for w in res.warnings if "estimated wallet" in w)
    assert "3 customers" in note and "[terms] target_within_wallet" in note
    assert "1 of them already buy their whole estimated wallet" in note
    # off: the plan's figures
    off = kpi_targets(t, S.model_copy(update={"target_within_wallet": False}))
    assert off.customers["revenue_target"].to_pylist()[0] == pytest.approx(1_729_653.0)
    assert off.manifest["customers_capped_at_wallet"] == 0


def test_retention_targets_are_whole_accounts_that_add_up() -> None:
    # three buying A accounts: 95% of 3 is 2.85 accounts, a target no one can meet; the
    # team keeps 3, shared 2 + 1 between the reps (1.9 and 0.95 by the largest remainder)
    t = pa.table(
        {
            "customer_id": ["a", "b", "c", "d"],
            "rep_id": ["r1", "r1", "r2", "r2"],
            "value_class": ["A", "A", "A", "A"],
            "is_prospect": [False] * 4,
            "revenue_12m": [100.0, 200.0, 300.0, 0.0],
            "headroom": [0.0] * 4,
            "wallet": [100.0, 200.0, 300.0, 0.0],
        }
    )
    res = kpi_targets(t, S)
    rep, team = _rows(res, "rep"), _rows(res, "team")
    assert team[TEAM, "A"]["retention_target_accounts"] == 3
    assert rep["r1", "A"]["retention_target_accounts"] == 2
    assert rep["r2", "A"]["retention_target_accounts"] == 1
    values = res.tables["targets"].column("retention_target_accounts").to_pylist()
    assert all(v == int(v) for v in values)


def test_without_an_estimated_wallet_the_targets_headroom_is_empty_not_zero() -> None:
    # no potential stage: the Targets sheet showed headroom 0 beside revenue growth
    t = _base().drop_columns(["headroom", "wallet"])
    t = t.append_column(
        "expected_revenue_plan", pa.array([12_000.0, 2_500.0, 9_000.0, 100.0, 700.0, 0.0])
    )
    res = kpi_targets(t, S)
    assert res.tables["targets"].column("headroom").null_count == res.tables["targets"].num_rows
    assert res.manifest["customers_capped_at_wallet"] == 0
    # with wallets, the headroom is summed as before
    known = kpi_targets(_base(), S).tables["targets"].column("headroom")
    assert known.null_count == 0
