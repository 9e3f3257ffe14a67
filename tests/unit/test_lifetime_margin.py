"""The margin that multiplies future revenue in CLV: shrunk towards the base's own net margin.

Hand-made bases where the answer is known: a profitable base whose many small customers
carry a fixed cost-to-serve on little revenue (their rates far below zero) must still give
a positive peer margin, the base's sum(net profit) / sum(revenue).
"""

from __future__ import annotations

import numpy as np
import pytest

from tierwise.lifetime import shrink_margin


def _base() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """40 large customers (20 orders, revenue 10,000, margin 15%) and 160 small ones (one
    or two orders, revenue 100, the same 15% gross of a fixed cost-to-serve of 60: -45%)."""
    rng = np.random.default_rng(7)
    big, small = 40, 160
    revenue = np.r_[np.full(big, 10_000.0), np.full(small, 100.0)]
    orders = np.r_[np.full(big, 20.0), rng.integers(1, 3, small).astype(float)]
    noise = rng.normal(0.0, 0.02, big + small)
    profit = revenue * (0.15 + noise) - np.r_[np.zeros(big), np.full(small, 60.0)]
    return profit / revenue, orders, revenue, profit


def test_the_peer_margin_is_the_base_net_margin_when_revenue_is_known() -> None:
    rate, orders, revenue, profit = _base()
    est = shrink_margin(rate, orders, low=-1.0, high=1.0, revenue=revenue)
    # by hand: (40 x 1,500 + 160 x (15 - 60)) / (400,000 + 16,000) = 52,800 / 416,000 = 12.7%
    # (up to the noise on the rates: the exact figure is sum(profit) / sum(revenue))
    assert est.peer_margin == pytest.approx(profit.sum() / revenue.sum(), rel=1e-12)
    assert est.peer_margin == pytest.approx(52_800 / 416_000, abs=0.005)
    # the unweighted centre the estimate used to take is a loss: most customers are small
    old = shrink_margin(rate, orders, low=-1.0, high=1.0)
    assert old.peer_margin is not None and old.peer_margin < 0 < est.peer_margin


def test_small_customers_are_pulled_up_towards_a_profitable_base_never_below_their_own() -> None:
    rate, orders, revenue, _ = _base()
    est = shrink_margin(rate, orders, low=-1.0, high=1.0, revenue=revenue)
    small = revenue < 1000
    # shrinkage moves each rate towards the peers' margin: up for every loss-making one
    assert (est.margin[small] > rate[small]).all()
    assert (est.margin[small] < est.peer_margin).all()
    # the large customers (20 orders each) keep most of their own margin
    big = ~small
    assert np.abs(est.margin[big] - rate[big]).max() < np.abs(rate[big] - est.peer_margin).max()
    assert (est.credibility[big] > est.credibility[small].max()).all()


def test_customers_without_a_rate_get_the_base_margin_costs_on_no_revenue_included() -> None:
    rate, orders, revenue, profit = _base()
    # two customers visited in the period who bought nothing: a cost, no revenue, no rate
    rate = np.r_[rate, np.nan, np.nan]
    orders = np.r_[orders, 0.0, 0.0]
    revenue = np.r_[revenue, 0.0, 0.0]
    profit = np.r_[profit, -500.0, -700.0]
    est = shrink_margin(rate, orders, low=-1.0, high=1.0, revenue=revenue, profit=profit)
    expected = profit.sum() / revenue.sum()  # the base's 12-month net margin, costs included
    assert est.peer_margin == pytest.approx(expected, rel=1e-12)
    assert est.margin[-2:] == pytest.approx([expected, expected], rel=1e-12)
    assert est.n_filled == 2


def test_the_base_margin_is_bounded_like_the_rates() -> None:
    # a base that loses three times its revenue: the peers' margin stops at margin_min
    rate = np.array([-3.0, -3.0, -3.0, -3.0])
    est = shrink_margin(rate, [1, 2, 3, 4], low=-1.0, high=1.0, revenue=[10.0, 20, 30, 40])
    assert est.peer_margin == -1.0
    assert (est.margin >= -1.0).all()


def test_without_revenue_the_estimate_is_unchanged_by_the_new_arguments() -> None:
    rate, orders, _, _ = _base()
    a = shrink_margin(rate, orders, low=-1.0, high=1.0)
    b = shrink_margin(rate, orders, low=-1.0, high=1.0, revenue=None, profit=None)
    np.testing.assert_array_equal(a.margin, b.margin)
