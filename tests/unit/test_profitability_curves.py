"""The whale curve and the ease-of-doing-business score on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tierwise.features.ease import ease_scores, peer_relative, percentile_score
from tierwise.features.whale import whale_curve, whale_headline


def test_whale_curve_ranks_by_profit_and_accumulates() -> None:
    # profits 100, 60, 20, -30, -50: total 100; cumulative 100, 160, 180, 150, 100
    ids = pa.array(["d", "a", "e", "b", "c"])
    w = whale_curve(ids, np.array([-30.0, 60.0, -50.0, 100.0, 20.0]))
    assert w.column("customer_id").to_pylist() == ["b", "a", "c", "d", "e"]
    assert w.column("rank").to_pylist() == [1, 2, 3, 4, 5]
    assert w.column("share_of_customers").to_pylist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1])
    assert w.column("cumulative_profit").to_pylist() == pytest.approx([100, 160, 180, 150, 100])
    assert w.column("cumulative_share_of_profit").to_pylist() == pytest.approx(
        [1.0, 1.6, 1.8, 1.5, 1.0]
    )


def test_whale_headline_names_the_peak_and_the_profit_destroyers() -> None:
    ids = pa.array(["d", "a", "e", "b", "c"])
    h = whale_headline(whale_curve(ids, np.array([-30.0, 60.0, -50.0, 100.0, 20.0])))
    # peak after 3 of 5 customers: 180 of a total 100
    assert h["peak_share_of_customers"] == pytest.approx(0.6)
    assert h["peak_share_of_profit"] == pytest.approx(1.8)
    assert h["share_of_customers_destroying_profit"] == pytest.approx(0.4)
    assert h["profit_destroyed"] == pytest.approx(-80.0)
    assert h["total_profit"] == pytest.approx(100.0)
    assert h["sentence"].startswith("the top 60% of customers make 180% of profit")
    assert h["share_basis"] == "total_profit"


def test_whale_headline_without_profit_destroyers_names_the_top_fifth() -> None:
    # every customer profitable: "the top 100% make 100%" would say nothing
    profits = np.array([50.0, 30.0, 10.0, 5.0, 5.0])
    h = whale_headline(whale_curve(pa.array(list("abcde")), profits))
    assert h["sentence"] == "no customer destroys profit; the top 20% of customers make 50% of it"


def test_whale_ties_break_by_customer_id_and_nulls_are_left_out() -> None:
    w = whale_curve(pa.array(["z", "y", "x"]), np.array([5.0, np.nan, 5.0]))
    assert w.column("customer_id").to_pylist() == ["x", "z"]


def test_whale_shares_are_of_the_profitable_customers_when_total_profit_is_negative() -> None:
    # profits 10, 5, -30: total -15; the profitable customers make 15, so the shares are
    # 10/15, 15/15, -15/15
    w = whale_curve(pa.array(["a", "b", "c"]), np.array([10.0, -30.0, 5.0]))
    assert w.column("cumulative_share_of_profit").null_count == 0
    assert w.column("cumulative_share_of_profit").to_pylist() == pytest.approx([10 / 15, 1.0, -1.0])
    h = whale_headline(w)
    assert h["share_basis"] == "profit_of_profitable_customers"
    assert h["peak_share_of_profit"] == pytest.approx(1.0)
    assert h["peak_share_of_customers"] == pytest.approx(2 / 3)
    assert h["peak_cumulative_profit"] == pytest.approx(15.0)
    assert h["total_profit"] == pytest.approx(-15.0)
    assert h["sentence"] == (
        "total net profit is -15 (not positive): the 67% of customers who are profitable "
        "make 15, and the 33% who destroy profit lose 30"
    )


def test_whale_shares_are_of_the_total_loss_when_nobody_is_profitable() -> None:
    w = whale_curve(pa.array(["a", "b"]), np.array([-10.0, -30.0]))
    assert w.column("cumulative_share_of_profit").to_pylist() == pytest.approx([-0.25, -1.0])
    h = whale_headline(w)
    assert h["share_basis"] == "total_loss"
    assert "no customer is profitable" in h["sentence"]


def test_whale_shares_are_null_only_when_every_profit_is_zero() -> None:
    w = whale_curve(pa.array(["a", "b"]), np.array([0.0, 0.0]))
    assert w.column("cumulative_share_of_profit").null_count == 2
    assert whale_headline(w)["share_basis"] == "none"


def test_percentile_score_rewards_the_easy_end_and_shares_ties() -> None:
    # lower is better: 1 ranks best. ranks of (-x): 4->1, 1->4, 2,2 -> 2.5 each; n = 4
    s = percentile_score(np.array([4.0, 1.0, 2.0, 2.0]), higher_is_better=False)
    assert s.tolist() == pytest.approx([12.5, 87.5, 50.0, 50.0])
    s = percentile_score(np.array([4.0, 1.0, np.nan]), higher_is_better=True)
    assert s[:2].tolist() == pytest.approx([75.0, 25.0]) and np.isnan(s[2])


def test_discount_depth_is_compared_within_industry_and_size_band() -> None:
    # x/small: 0.10, 0.30 (median 0.20); x/large: 0.50 alone; y/small: 0.40 alone
    depth = np.array([0.10, 0.30, 0.50, 0.40])
    rel = peer_relative(
        depth,
        ["x", "x", "x", "y"],
        np.array([5.0, 8.0, 500.0, 5.0]),
        np.zeros(4),
        [10.0, 50.0, 250.0, 1000.0],
    )
    assert rel.tolist() == pytest.approx([-0.10, 0.10, 0.0, 0.0])


def test_ease_score_reweights_over_the_components_a_customer_has() -> None:
    comps = {
        "returns": np.array([0.0, 0.1, 0.2]),  # scores 83.3, 50, 16.7
        "order_size": np.array([np.nan, 1.0, 3.0]),  # scores -, 25, 75
    }
    scores, total = ease_scores(comps, {"returns": 1.0, "order_size": 3.0})
    assert total[0] == pytest.approx(250 / 3)  # only returns
    assert total[1] == pytest.approx((50 + 3 * 25) / 4)
    assert total[2] == pytest.approx((50 / 3 + 3 * 75) / 4)
    _, total0 = ease_scores(comps, {"returns": 1.0, "order_size": 0.0})
    assert total0.tolist() == pytest.approx(scores["returns"].tolist())
