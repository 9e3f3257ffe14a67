"""Quantile (pinball) loss and the wallet estimators on small planted data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from tierwise.errors import InputError, NotFittedError
from tierwise.potential import (
    GBMQuantileWallet,
    LinearQuantileWallet,
    LookalikeWallet,
    mean_pinball_loss,
    pinball_loss,
)

# the 0.9 quantile of a standard normal
Z90 = 1.2815515655446004


def test_pinball_loss_charges_under_prediction_by_tau_and_over_prediction_by_one_minus_tau():
    # y=10: predicting 8 under-shoots by 2 → 0.9·2; predicting 12 over-shoots by 2 → 0.1·2
    assert pinball_loss([10.0, 10.0, 10.0], [8.0, 12.0, 10.0], 0.9) == pytest.approx(
        [1.8, 0.2, 0.0]
    )
    assert mean_pinball_loss([10.0, 10.0], [8.0, 12.0], 0.9) == pytest.approx(1.0)


def test_mean_pinball_loss_is_minimised_by_the_empirical_quantile():
    y = np.random.default_rng(3).lognormal(0, 1, 501)
    grid = np.linspace(y.min(), y.max(), 4001)
    losses = [mean_pinball_loss(y, np.full_like(y, c), 0.9) for c in grid]
    best = grid[int(np.argmin(losses))]
    # the minimiser is any point between the 450th and 451st order statistics
    lo, hi = np.sort(y)[449], np.sort(y)[451]
    assert lo - 1e-3 <= best <= hi + 1e-3


def test_pinball_loss_rejects_a_quantile_outside_zero_one():
    with pytest.raises(InputError):
        pinball_loss([1.0], [1.0], 1.5)


def _planted(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """log(1+spend) = 2 + 0.7·log(1+employees) + 0.5·[industry b] + N(0, 0.5²)."""
    rng = np.random.default_rng(seed)
    emp = rng.lognormal(3, 1.2, n)
    ind = rng.choice(["a", "b"], n, p=[0.6, 0.4])
    ly = 2 + 0.7 * np.log1p(emp) + 0.5 * (ind == "b") + rng.normal(0, 0.5, n)
    return pd.DataFrame({"employees": emp, "industry": ind}), np.expm1(ly)


def test_linear_quantile_model_recovers_the_planted_ninetieth_percentile_line():
    X, spend = _planted(4000, seed=11)
    m = LinearQuantileWallet(0.9).fit(X, spend)
    c = m.coefficients_
    # the 0.9-quantile line is 2 + 0.5·z_0.9 + 0.7·x + 0.5·[b]; with n = 4000 the standard
    # errors are about 0.015 (intercept) and 0.01 (slopes), tolerances are 4-10 of them
    assert c["intercept"] == pytest.approx(2 + 0.5 * Z90, abs=0.15)
    assert c["employees"] == pytest.approx(0.7, abs=0.05)
    assert c["industry=b"] == pytest.approx(0.5, abs=0.08)
    # and 90% of customers spend at most their predicted quantile (±2 points)
    assert np.mean(spend <= m.predict(X)) == pytest.approx(0.9, abs=0.02)


def test_linear_model_fits_on_a_seeded_sample_when_data_exceed_max_rows():
    X, spend = _planted(1500, seed=2)
    a = LinearQuantileWallet(0.9, max_rows=500, random_state=4).fit(X, spend)
    b = LinearQuantileWallet(0.9, max_rows=500, random_state=4).fit(X, spend)
    assert a.n_fit_rows_ == 500
    assert a.coefficients_ == b.coefficients_


def test_gbm_quantile_model_covers_about_the_target_share_in_sample():
    X, spend = _planted(2000, seed=5)
    m = GBMQuantileWallet(0.9, n_estimators=100, n_threads=1, random_state=1).fit(X, spend)
    cover = np.mean(spend <= m.predict(X))
    # in-sample boosting with 100 rounds sits near the target; ±5 points
    assert cover == pytest.approx(0.9, abs=0.05)


def test_gbm_is_deterministic_for_a_seed():
    X, spend = _planted(600, seed=6)
    a = (
        GBMQuantileWallet(0.9, n_estimators=30, n_threads=1, random_state=3)
        .fit(X, spend)
        .predict(X)
    )
    b = (
        GBMQuantileWallet(0.9, n_estimators=30, n_threads=1, random_state=3)
        .fit(X, spend)
        .predict(X)
    )
    assert np.array_equal(a, b)


def test_lookalike_wallet_is_the_quantile_of_the_nearest_neighbours_spend():
    X = pd.DataFrame({"employees": [10.0, 11, 12, 13, 1000, 1100, 1200, 1300]})
    spend = np.array([1.0, 2, 3, 4, 100, 200, 300, 400])
    m = LookalikeWallet(0.5, n_neighbors=4).fit(X, spend)
    q = np.expm1(m.predict_quantiles(pd.DataFrame({"employees": [11.5, 1150.0]}), [0.5]))
    # median of log(1+s) over {1,2,3,4}: between log 3 and log 4 → expm1 = sqrt(3·4) - 1
    assert q[0, 0] == pytest.approx(np.sqrt(3 * 4) - 1)
    assert q[1, 0] == pytest.approx(np.sqrt(201 * 301) - 1)


def test_lookalikes_share_the_category_and_fall_back_when_it_is_missing_or_rare():
    # industry a spends 1-4, industry b 100-400, all of the same size
    X = pd.DataFrame(
        {"employees": [10.0] * 8, "industry": ["a"] * 4 + ["b"] * 4, "region": ["N", "S"] * 4}
    )
    spend = np.array([1.0, 2, 3, 4, 100, 200, 300, 400])
    m = LookalikeWallet(0.5, n_neighbors=4).fit(X, spend)
    idx = m.kneighbors(
        pd.DataFrame(
            {"employees": [10.0] * 3, "industry": ["a", "b", None], "region": ["N", "N", "N"]}
        )
    )
    # industry × region blocks hold 2 < k customers, so region is dropped: same industry
    assert sorted(idx[0].tolist()) == [0, 1, 2, 3]
    assert sorted(idx[1].tolist()) == [4, 5, 6, 7]
    # unknown industry: look-alikes from all customers
    assert set(idx[2].tolist()) <= set(range(8)) and len(idx[2]) == 4


@pytest.mark.parametrize("cls", [GBMQuantileWallet, LinearQuantileWallet, LookalikeWallet])
def test_estimators_refuse_to_predict_before_fit_and_clone_cleanly(cls):
    est = cls(0.8)
    with pytest.raises(NotFittedError):
        est.predict(pd.DataFrame({"employees": [1.0]}))
    assert clone(est).get_params()["quantile"] == 0.8


@pytest.mark.parametrize("alpha", [0.0, 0.002])
def test_the_dual_lp_fit_reaches_scikit_learns_quantile_regressor_optimum(alpha: float) -> None:
    # the same objective solved two ways: scikit-learn's QuantileRegressor (the primal, HiGHS)
    # and quantile_lp (the dual). With a one-hot column the optimum may be a segment of
    # coefficients (a group's quantile can be any value between two of its spends), so what
    # must agree is the objective (to 1e-9 relative); the numeric slopes, unique here, agree
    # to 1e-6
    from sklearn.linear_model import QuantileRegressor

    from tierwise.potential.quantile import quantile_lp

    rng = np.random.default_rng(4)
    n = 600
    onehot = (rng.integers(0, 4, n)[:, None] == np.arange(1, 4)).astype(float)
    X = np.hstack([rng.normal(size=(n, 3)), onehot])
    y = 2.0 + X @ np.array([0.5, -1.0, 0.2, 0.3, 0.0, -0.4]) + rng.standard_t(3, n)

    def objective(b0: float, b: np.ndarray) -> float:
        return float(mean_pinball_loss(y, b0 + X @ b, 0.8) + alpha * np.abs(b).sum())

    ref = QuantileRegressor(quantile=0.8, alpha=alpha, solver="highs").fit(X, y)
    b0, b = quantile_lp(X, y, 0.8, alpha)
    assert objective(b0, b) == pytest.approx(objective(ref.intercept_, ref.coef_), rel=1e-9)
    np.testing.assert_allclose(b[:3], ref.coef_[:3], atol=1e-6)
    # and it is a minimum: moving any coefficient a little costs
    for j in range(b.size):
        for step in (-1e-3, 1e-3):
            moved = b.copy()
            moved[j] += step
            assert objective(b0, moved) >= objective(b0, b) - 1e-12


def test_the_linear_fit_prints_nothing() -> None:
    # HiGHS prints its banner once per process when an instance is made with output on: a
    # fresh process sees it (one earlier in the test session may have printed it already)
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from tierwise.potential.quantile import quantile_lp\n"
        "quantile_lp(np.arange(20.0)[:, None], np.arange(20.0) % 7, 0.9)\n"
        "print('done')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout == "done\n"
    assert out.stderr == ""


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_the_linear_fit_refuses_values_that_are_not_finite(bad: float) -> None:
    from tierwise.errors import ModelError
    from tierwise.potential.quantile import quantile_lp

    X = np.arange(6.0)[:, None]
    y = np.arange(6.0)
    y[2] = bad
    with pytest.raises(ModelError, match="missing or infinite"):
        quantile_lp(X, y, 0.5)
    X[3, 0] = bad
    with pytest.raises(ModelError, match="missing or infinite"):
        quantile_lp(X, np.arange(6.0), 0.5)
