"""Cut points of each method on small hand-made bases, computed by hand in the comments."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tierwise.segments import abc_classes, computed_abc, natural_breaks, pareto_cuts, quantile_cuts
from tierwise.segments.cuts import AxisData, find_cuts, levels


def test_computed_abc_with_the_pareto_point_first() -> None:
    # total 196, mean 19.6. Curve after each customer (x = i/10, y = cumulative share):
    #   100 (.1, .510)  50 (.2, .765)  20 (.3, .867)  10 (.4, .918)  5 (.5, .944) ...
    # distance² to (0, 1): .01+.240=.250, .04+.055=.095, .09+.018=.108, .16+.007=.167 → the
    # Pareto point is the 2nd customer (50). Break-even: the figure nearest the mean 19.6
    # is 20, the 3rd (x=.3). A|B is the first of the two: after 50.
    # Submarginal: nearest (x_B, 1) = (.3, 1): 20 → .0177, 10 → .01+.0067=.0167, 5 → .04+.0031
    # = .0431 → the 4th customer (10). C starts after 10.
    cp = computed_abc(np.array([1.0, 3, 100, 2, 10, 50, 5, 4, 20, 1]))
    assert cp.thresholds == (10.0, 50.0)
    assert cp.details["ab_limit"] == "Pareto point"
    assert cp.details["pareto_point"]["x"] == pytest.approx(0.2)
    assert cp.details["break_even_point"]["figure"] == 20.0
    assert cp.details["submarginal_point"]["x"] == pytest.approx(0.4)
    assert "Pareto point" in cp.how


def test_computed_abc_with_the_break_even_point_first() -> None:
    # total 98, mean 16.33: break-even at 16 (|16/16.33 - 1| = .020 against .082 for 15),
    # the 2nd customer (x = 2/6). y: .296, .459, .612, .755, .888, 1. Distance² to (0, 1):
    # .028+.496=.524, .111+.293=.404, .250+.150=.400, .444+.060=.505 → Pareto point the 3rd
    # (x = .5). A|B is the break-even point (the first): A = 29, 16.
    # Submarginal nearest (.5, 1): 15 → .150, 14 → .028+.060=.088, 13 → .111+.013=.124 → 14.
    cp = computed_abc(np.array([13.0, 29, 11, 16, 14, 15]))
    assert cp.thresholds == (14.0, 16.0)
    assert cp.details["ab_limit"] == "break-even point"
    assert cp.details["pareto_point"]["figure"] == 15.0
    assert levels(np.array([29.0, 16, 15, 14, 13, 11]), cp.thresholds).tolist() == [
        2, 2, 1, 1, 0, 0,
    ]  # fmt: skip


def test_computed_abc_ignores_zero_and_negative_figures() -> None:
    base = np.array([13.0, 29, 11, 16, 14, 15])
    with_losses = np.concatenate([base, [0.0, -40.0, np.nan]])
    assert computed_abc(with_losses).thresholds == computed_abc(base).thresholds
    assert levels(with_losses, (14.0, 16.0))[-3:].tolist() == [0, 0, 0]


def test_pareto_shares_by_hand() -> None:
    # ranked 50, 30, 15, 5 (total 100): shares held above each: 0, .5, .8, .95.
    # < .8 → 50 and 30 on top; < .95 → 15 in the middle; 5 at the bottom.
    cp = pareto_cuts(np.array([5.0, 50, 15, 30]), [0.8, 0.95])
    assert cp.thresholds == (15.0, 30.0)
    # the same split as the classic ABC of the duplicate report
    got = levels(np.array([50.0, 30, 15, 5]), cp.thresholds)
    assert ["CBA"[g] for g in got] == abc_classes(np.array([50.0, 30, 15, 5])).tolist()


def test_quantiles_by_hand() -> None:
    # 1..10: 50% below 6 (1-5), 80% below 9 (1-8): top half from 6, top 20% from 9
    cp = quantile_cuts(np.arange(10.0, 0, -1), [0.5, 0.8])
    assert cp.thresholds == (6.0, 9.0)
    assert np.bincount(levels(np.arange(1.0, 11), cp.thresholds)).tolist() == [5, 3, 2]


def test_natural_breaks_by_hand() -> None:
    # three obvious runs; within sums of squares 2 + 2 + 0.5 = 4.5
    cp = natural_breaks(np.array([51.0, 1, 2, 12, 3, 10, 11, 50]), 3)
    assert cp.thresholds == (10.0, 50.0)
    assert cp.details["within_ss"] == pytest.approx(4.5)


@pytest.mark.parametrize("seed", range(12))
def test_natural_breaks_is_the_exact_optimum(seed: int) -> None:
    # every way of cutting a small sorted base into k runs, against the dynamic programme
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 11))
    x = np.round(rng.lognormal(2, 1, n), 2)
    w = rng.integers(1, 4, n).astype(float)
    k = int(rng.integers(2, 5))
    xs = np.sort(np.unique(x))
    ws = np.array([w[x == v].sum() for v in xs])
    best = np.inf
    for cut in itertools.combinations(range(1, len(xs)), min(k, len(xs)) - 1):
        bounds = [0, *cut, len(xs)]
        ss = 0.0
        for a, b in itertools.pairwise(bounds):
            mu = np.average(xs[a:b], weights=ws[a:b])
            ss += float(np.sum(ws[a:b] * (xs[a:b] - mu) ** 2))
        best = min(best, ss)
    cp = natural_breaks(x, k, weights=w)
    assert cp.details["within_ss"] == pytest.approx(best, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", [5, 6, 7, 8])
@pytest.mark.parametrize("method", ["computed_abc", "pareto", "quantiles", "natural_breaks"])
def test_weights_act_as_repeated_customers(method: str, seed: int) -> None:
    # a bootstrap resample is a draw count per customer: the cuts must be those of the base
    # with each customer repeated that many times
    rng = np.random.default_rng(seed)
    x = np.round(rng.lognormal(3, 1.2, 80), 2)
    counts = rng.integers(0, 5, 80)
    weighted = find_cuts(AxisData.from_figures(x), method, 3, counts=counts)
    repeated = find_cuts(AxisData.from_figures(np.repeat(x, counts)), method, 3)
    assert weighted.thresholds == repeated.thresholds


def test_an_axis_with_two_levels_keeps_the_cut_nearest_the_bottom() -> None:
    ax = AxisData.from_figures(np.array([13.0, 29, 11, 16, 14, 15]))
    assert find_cuts(ax, "computed_abc", 2).thresholds == (14.0,)  # the submarginal point
    assert find_cuts(ax, "quantiles", 2, quantiles=(0.5, 0.8)).thresholds == (15.0,)
    assert find_cuts(ax, "computed_abc", 1).thresholds == ()


def test_no_positive_figure_puts_everyone_at_the_bottom() -> None:
    x = np.array([0.0, -5.0, np.nan])
    for method in ("computed_abc", "pareto", "quantiles", "natural_breaks"):
        cp = find_cuts(AxisData.from_figures(x), method, 3, describe=True)
        assert levels(x, cp.thresholds).tolist() == [0, 0, 0], method
