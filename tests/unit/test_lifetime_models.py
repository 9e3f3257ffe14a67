"""Unit tests of the lifetime models on tiny hand-made data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy.integrate import quad
from scipy.optimize import approx_fprime
from scipy.special import betaln, gammaln, hyp2f1
from sklearn.base import BaseEstimator, clone
from sklearn.utils import estimator_checks

from tierwise.errors import InputError, ModelError, NotFittedError
from tierwise.lifetime import (
    BetaGeoModel,
    DefectionModel,
    DegenerateFitError,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
    simulate_bgnbd,
)
from tierwise.lifetime.churn import FEATURES

# a small hand-made population for the likelihood checks: (x, t_x, T) per customer, weeks
X = np.array([0, 0, 0, 1, 2, 5, 3, 0, 1, 7, 2, 0, 4, 1, 0, 9], dtype=float)
TX = np.array([0, 0, 0, 4, 20, 30, 35, 0, 2, 38, 10, 0, 25, 30, 0, 36], dtype=float)
T = np.array([39, 30, 20, 30, 39, 39, 38, 39, 39, 39, 25, 12, 39, 35, 39, 39], dtype=float)
# a population drawn from BG/NBD, large enough to identify the models
SIM = simulate_bgnbd(1500, np.repeat([39.0, 30.0, 20.0], 500), seed=11)
SX, STX, ST = SIM.T


def _pareto_closed_form(p: np.ndarray, x: np.ndarray, tx: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Fader & Hardie (2005 note) eq. 22 with the hypergeometric function, for comparison."""
    r, al, s, be = p
    rsx = r + s + x
    if al >= be:
        b2, z1, z2, u1, u2 = s + 1, (al - be) / (al + tx), (al - be) / (al + t), al + tx, al + t
    else:
        b2, z1, z2, u1, u2 = r + x, (be - al) / (be + tx), (be - al) / (be + t), be + tx, be + t
    a0 = hyp2f1(rsx, b2, rsx + 1, z1) / u1**rsx - hyp2f1(rsx, b2, rsx + 1, z2) / u2**rsx
    c = np.exp(gammaln(r + x) - gammaln(r) + r * np.log(al) + s * np.log(be))
    return np.log(c * (1 / ((al + t) ** (r + x) * (be + t) ** s) + s / rsx * a0))


@pytest.mark.parametrize("model", [BetaGeoModel, ParetoNBDModel, ModifiedBetaGeoModel])
def test_gradient_matches_finite_differences(model):
    params = (
        np.array([0.5, 6.0, 0.7, 9.0])
        if model is ParetoNBDModel
        else np.array([0.5, 6.0, 0.8, 3.0])
    )

    def total(p):
        return model.loglik_terms(p, X, TX, T)[0].sum()

    _, g = model.loglik_terms(params, X, TX, T, grad=True)
    numeric = approx_fprime(params, total, 1e-7)
    # central-difference-free forward difference: agreement to ~1e-5 relative
    np.testing.assert_allclose(g.sum(axis=1), numeric, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "params", [[0.55, 10.6, 0.6, 11.7], [0.55, 11.7, 0.6, 10.6], [2.0, 1.0, 0.3, 80.0]]
)
def test_pareto_likelihood_equals_hypergeometric_closed_form(params):
    p = np.array(params)
    ours, _ = ParetoNBDModel.loglik_terms(p, X, TX, T)
    keep = TX < T  # the closed form is 0/0-prone at t_x = T
    ref = np.array([_pareto_closed_form(p, *v) for v in zip(X, TX, T, strict=True)])
    # quadrature in log space against scipy's hyp2f1: agreement to 1e-9 absolute
    np.testing.assert_allclose(ours[keep], ref[keep], atol=1e-9)


@pytest.mark.parametrize("model", [BetaGeoModel, ModifiedBetaGeoModel])
def test_weighted_fit_equals_fit_on_expanded_rows(model):
    sim = simulate_bgnbd(1500, 39.0, seed=11, modified=model is ModifiedBetaGeoModel)
    rows = np.unique(sim, axis=0)
    w = np.random.default_rng(0).integers(1, 5, len(rows)).astype(float)
    a = model().fit(rows, sample_weight=w)
    rep = np.repeat(rows, w.astype(int), axis=0)
    b = model().fit(rep)
    for k in a.params_:
        assert a.params_[k] == pytest.approx(b.params_[k], rel=1e-5)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-10)
    assert a.n_customers_ == int(w.sum())
    assert a.n_distinct_ == len(rows)


def test_fit_recovers_the_simulated_parameters():
    m = BetaGeoModel().fit(simulate_bgnbd(20000, 52.0, r=0.5, alpha=5.0, a=0.7, b=2.0, seed=1))
    # 20,000 customers: sampling error of a few percent; 15% is a generous bound
    assert m.params_["r"] == pytest.approx(0.5, rel=0.15)
    assert m.params_["alpha"] == pytest.approx(5.0, rel=0.15)
    assert m.params_["a"] == pytest.approx(0.7, rel=0.15)
    assert m.params_["b"] == pytest.approx(2.0, rel=0.15)


def test_p_alive_is_one_without_repeat_purchases_and_falls_with_recency():
    m = BetaGeoModel().fit(SIM)
    pa = m.p_alive([[0, 0, 39], [3, 38, 39], [3, 5, 39]])
    assert pa[0] == 1.0
    assert pa[1] > pa[2]


def test_expected_purchases_grow_with_horizon_and_frequency():
    for model in (BetaGeoModel(), ParetoNBDModel(), ModifiedBetaGeoModel()):
        model.fit(SIM)
        short = model.expected_purchases([[2, 30, 39], [6, 30, 39]], 10)
        long = model.expected_purchases([[2, 30, 39], [6, 30, 39]], 52)
        assert np.all(long > short)
        assert long[1] > long[0]


def test_refuses_data_without_repeat_buyers():
    with pytest.raises(ModelError, match="no customer has a repeat purchase"):
        BetaGeoModel().fit([[0, 0, 10], [0, 0, 20], [0, 0, 30]])
    with pytest.raises(ModelError, match="no customer has a repeat purchase"):
        ParetoNBDModel().fit([[0, 0, 10], [0, 0, 20]])


def test_rejects_recency_after_age():
    with pytest.raises(InputError, match="t_x"):
        BetaGeoModel().fit([[1, 12, 10], [0, 0, 10]])


def test_predicting_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        BetaGeoModel().p_alive([[1, 1, 2]])
    with pytest.raises(ValueError):  # NotFittedError is also a ValueError
        GammaGammaModel().expected_order_value([[1, 10.0]])
    with pytest.raises(AttributeError):  # ... and an AttributeError, as in scikit-learn
        ParetoNBDModel().p_no_purchase([[1, 1, 2]], 5.0)


def test_gamma_gamma_expected_value_shrinks_towards_population_mean():
    rng = np.random.default_rng(2)
    x = rng.integers(1, 8, 2000).astype(float)
    m = rng.gamma(6.0 * x, 1 / (rng.gamma(4.0, 1 / 15.0, 2000) * x))
    gg = GammaGammaModel().fit(np.column_stack([x, m]))
    p, q, g = gg.params_["p"], gg.params_["q"], gg.params_["gamma"]
    pop = p * g / (q - 1)
    ev = gg.expected_order_value([[0, 0.0], [1, 100.0], [50, 100.0]])
    assert ev[0] == pytest.approx(pop)
    # one purchase of 100 is pulled towards the population mean more than fifty are
    assert abs(ev[1] - pop) < abs(ev[2] - pop)
    assert ev[2] == pytest.approx(p * (g + 100 * 50) / (p * 50 + q - 1))


def test_manifest_uses_literature_names():
    bg = BetaGeoModel(time_unit="days").fit(SIM).to_manifest()
    assert set(bg) >= {"params", "log_likelihood", "n_customers", "time_unit"}
    assert set(bg["params"]) == {"r", "alpha", "a", "b"}
    assert bg["time_unit"] == "days"
    assert bg["n_customers"] == 1500
    pn = ParetoNBDModel().fit(SIM).to_manifest()
    assert set(pn["params"]) == {"r", "alpha", "s", "beta"}
    rng = np.random.default_rng(2)
    x = rng.integers(1, 8, 500).astype(float)
    nu = rng.gamma(4.0, 1 / 15.0, 500)
    spend = {"x": x, "monetary_value": rng.gamma(6.0 * x, 1 / (nu * x))}
    gg = GammaGammaModel().fit(spend).to_manifest()
    assert set(gg["params"]) == {"p", "q", "gamma"}


def test_clv_is_discounted_and_scaled_by_margin():
    m = BetaGeoModel().fit(SIM)
    args = ([[3, 30, 39]], [100.0])
    none = customer_lifetime_value(m, *args, horizon_months=12, discount_rate=0.0)
    disc = customer_lifetime_value(m, *args, horizon_months=12, discount_rate=0.2)
    half = customer_lifetime_value(m, *args, horizon_months=12, discount_rate=0.0, margin=[0.5])
    # without discounting CLV is expected purchases over 12 months times order value
    expected = m.expected_purchases([[3, 30, 39]], 365.25 / 7)[0] * 100
    assert none[0] == pytest.approx(expected, rel=1e-12)
    assert disc[0] < none[0]
    assert half[0] == pytest.approx(none[0] / 2)


def test_fitting_totals_equal_weighted_sums_of_per_row_terms():
    # the fits sum the likelihood level by level; it must equal the per-row formula
    w = np.random.default_rng(3).integers(1, 4, len(SX)).astype(float)
    p = np.array([0.3, 5.0, 0.7, 2.0])
    bg = BetaGeoModel()
    bg._agg = bg._aggregate(SX, STX, ST, w)
    total, grad = bg._loglik(p)
    rows, g = BetaGeoModel.loglik_terms(p, SX, STX, ST, grad=True)
    assert total == pytest.approx(w @ rows, rel=1e-12)
    np.testing.assert_allclose(grad, g @ w, rtol=1e-9, atol=1e-8)

    rng = np.random.default_rng(4)
    x = rng.integers(1, 8, 300).astype(float)
    m = rng.gamma(6.0 * x, 1 / (2.0 * x))
    wg = rng.integers(1, 4, 300).astype(float)
    gg = GammaGammaModel()
    gg._sums = gg._data_sums(x, m, wg)
    q = np.array([5.0, 3.0, 14.0])
    total, grad = gg._loglik(q)
    rows, g = GammaGammaModel.loglik_terms(q, x, m, grad=True)
    assert total == pytest.approx(wg @ rows, rel=1e-12)
    np.testing.assert_allclose(grad, g @ wg, rtol=1e-9, atol=1e-8)


# -- MBG/NBD ---------------------------------------------------------------------------


def test_mbgnbd_likelihood_equals_the_two_term_formula():
    # Batislam et al. (2007): L = B(a, b+x+1)/B(a, b) G(r+x) al^r / (G(r) (al+T)^(r+x))
    #   + B(a+1, b+x)/B(a, b) G(r+x) al^r / (G(r) (al+t_x)^(r+x)), written out term by term
    r, al, a, b = p = np.array([0.5, 6.0, 0.9, 1.6])
    head = gammaln(r + X) - gammaln(r) + r * np.log(al) - betaln(a, b)
    t1 = np.exp(head + betaln(a, b + X + 1) - (r + X) * np.log(al + T))
    t2 = np.exp(head + betaln(a + 1, b + X) - (r + X) * np.log(al + TX))
    ours, _ = ModifiedBetaGeoModel.loglik_terms(p, X, TX, T)
    np.testing.assert_allclose(ours, np.log(t1 + t2), rtol=1e-12)


def test_mbgnbd_one_off_buyers_may_be_gone_bgnbd_says_they_are_not():
    sim = simulate_bgnbd(3000, 39.0, seed=4, modified=True)
    m = ModifiedBetaGeoModel().fit(sim)
    bg = BetaGeoModel().fit(sim)
    pa = m.p_alive([[0, 0, 5], [0, 0, 20], [0, 0, 39]])
    assert np.all(pa < 1.0) and pa[0] > pa[1] > pa[2]  # longer quiet, less likely alive
    assert bg.p_alive([[0, 0, 39]])[0] == 1.0


def test_mbgnbd_expectations_follow_bgnbd_with_b_plus_one():
    # alive at T after x + 1 survived coin flips: BG/NBD's E[Y | alive] with b + 1 for b
    m = ModifiedBetaGeoModel()
    m.params_ = {"r": 0.5, "alpha": 6.0, "a": 1.4, "b": 2.2}
    bg = BetaGeoModel()
    bg.params_ = {"r": 0.5, "alpha": 6.0, "a": 1.4, "b": 3.2}
    X3 = np.array([[0.0, 0.0, 10.0], [1.0, 5.0, 39.0], [4.0, 20.0, 20.0]])
    np.testing.assert_allclose(
        m.expected_purchases_if_alive(X3, 26.0),
        bg.expected_purchases_if_alive(X3, 26.0),
        rtol=1e-12,
    )


@pytest.mark.parametrize("model", [BetaGeoModel, ModifiedBetaGeoModel])
def test_new_customer_expectation_equals_the_simulated_mean(model):
    # the closed form E[X(t)] against the mean of 100,000 customers drawn from the model:
    # agreement within 4 standard errors of the simulated mean
    true = {"r": 0.5, "alpha": 5.0, "a": 1.5, "b": 3.0}
    x = simulate_bgnbd(100_000, 39.0, **true, seed=5, modified=model is ModifiedBetaGeoModel)[:, 0]
    m = model()
    m.params_ = true
    se = x.std() / np.sqrt(len(x))
    assert abs(float(m.expected_purchases_new(39.0)) - x.mean()) < 4 * se


def test_mbgnbd_fit_recovers_the_simulated_parameters():
    sim = simulate_bgnbd(20000, 52.0, r=0.5, alpha=5.0, a=0.7, b=2.0, seed=1, modified=True)
    m = ModifiedBetaGeoModel().fit(sim)
    # 20,000 customers: sampling error of a few percent (measured at most 7%); 15% bound
    for k, v in {"r": 0.5, "alpha": 5.0, "a": 0.7, "b": 2.0}.items():
        assert m.params_[k] == pytest.approx(v, rel=0.15), k
    assert m.to_manifest()["params"].keys() == {"r", "alpha", "a", "b"}


def test_mbgnbd_errors_name_the_model():
    with pytest.raises(ModelError, match=r"^mbgnbd: no customer has a repeat purchase"):
        ModifiedBetaGeoModel().fit([[0, 0, 10], [0, 0, 20], [0, 0, 30]])


# -- the scikit-learn estimator contract ---------------------------------------------------

ESTIMATORS = [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel, GammaGammaModel, DefectionModel]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "check",
    [
        estimator_checks.check_parameters_default_constructible,
        estimator_checks.check_no_attributes_set_in_init,
        estimator_checks.check_get_params_invariance,
        estimator_checks.check_set_params,
        estimator_checks.check_estimator_cloneable,
        estimator_checks.check_do_not_raise_errors_in_init_or_set_params,
    ],
    ids=lambda f: f.__name__,
)
def test_models_pass_scikit_learns_checks_that_apply(cls, check):
    # the checks that fit on random data do not apply: random numbers are no (x, t_x, T)
    assert issubclass(cls, BaseEstimator)
    check(cls.__name__, cls())


def _fitted(cls):
    if cls is GammaGammaModel:
        rng = np.random.default_rng(2)
        x = rng.integers(1, 8, 500).astype(float)
        return cls(max_iter=500).fit(
            np.column_stack([x, rng.gamma(6.0 * x, 1 / (rng.gamma(4.0, 1 / 15.0, 500) * x))])
        )
    if cls is DefectionModel:
        rng = np.random.default_rng(0)
        Xd = rng.normal(size=(300, len(FEATURES)))
        return cls(max_iter=20).fit(Xd, (Xd[:, 0] > 0).astype(int))
    return cls(max_iter=500).fit(SIM)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_fit_returns_the_estimator_keeps_its_params_and_clones_unfitted(cls):
    est = _fitted(cls)
    assert isinstance(est, cls)
    assert est.get_params() == cls(max_iter=est.max_iter).get_params()  # fit changed none
    learned = [k for k in vars(est) if k.endswith("_") and not k.startswith("_")]
    assert learned, "fitted state ends in _"
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(twin))


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_models_read_x_as_an_array_or_a_table_alike(cls):
    table = pa.table({"T": ST, "x": SX, "t_x": STX, "other": np.zeros(len(SX))})
    a = cls().fit(SIM)
    b = cls().fit(table)
    assert a.params_ == pytest.approx(b.params_, rel=1e-12)
    np.testing.assert_array_equal(a.p_alive(SIM[:20]), b.p_alive(table.slice(0, 20)))
    with pytest.raises(InputError, match="no column 't_x'"):
        cls().fit(table.drop(["t_x"]))
    with pytest.raises(InputError, match="3 columns"):
        cls().fit(SIM[:, :2])
    with pytest.raises(TypeError):  # the three arrays are not positional arguments any more
        cls().fit(SX, STX, ST)


def test_defection_model_has_no_fit_matrix_and_reads_a_feature_table():
    assert not hasattr(DefectionModel, "fit_matrix")
    rng = np.random.default_rng(1)
    Xd = rng.normal(size=(400, len(FEATURES)))
    y = (Xd[:, 1] + rng.normal(size=400) > 0).astype(int)
    table = pa.table({f: Xd[:, j] for j, f in enumerate(FEATURES)})
    a = DefectionModel(max_iter=30, random_state=3).fit(Xd, y)
    b = DefectionModel(max_iter=30, random_state=3).fit(table, y)
    np.testing.assert_allclose(a.predict_proba(Xd), b.predict_proba(table))
    assert a.predict_proba(Xd).shape == (400, 2)
    assert set(a.predict(Xd)) <= {0, 1}
    assert list(a.classes_) == [0, 1]


# -- degenerate fits -----------------------------------------------------------------------


def _steady_buyers(n: int = 600) -> np.ndarray:
    """Everyone buys exactly once every 52 weeks: no spread of purchase rates to estimate."""
    T = np.random.default_rng(0).uniform(10, 300, n).round()
    x = np.floor(T / 52)
    return np.column_stack([x, 52 * x, T])


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
@pytest.mark.parametrize("tol, max_iter", [(1e-9, 2000), (1e-5, 2000), (1e-9, 60)])
def test_a_degenerate_fit_is_reported_the_same_wherever_the_optimiser_stops(cls, tol, max_iter):
    # r and alpha run off together along a flat ridge; where the optimiser stops on it (short
    # of its bound or at it) depends on its tolerances. Either way it is one finding.
    with pytest.raises(DegenerateFitError, match=rf"^{cls.name}: degenerate fit \(r = ") as err:
        cls(tol=tol, max_iter=max_iter).fit(_steady_buyers())
    assert err.value.params["r"] > 1e4
    assert isinstance(err.value, ModelError)


def test_the_shape_limit_is_a_hyper_parameter():
    # a fit whose shape parameters are large but below the limit is kept
    m = BetaGeoModel().fit(SIM)
    top = max(m.params_[k] for k in ("r", "a", "b"))
    with pytest.raises(DegenerateFitError, match="degenerate fit"):
        BetaGeoModel(max_shape=top / 2).fit(SIM)


# -- Pareto/NBD's probability of no purchase -----------------------------------------------


def test_pareto_no_purchase_for_a_new_customer_equals_the_simulated_share():
    # a customer who has just joined (x = t_x = T = 0) is alive; over 26 weeks they buy
    # nothing when they die before their first purchase or neither happens. Against 400,000
    # draws of (lambda, mu): agreement within 4 standard errors.
    r, alpha, s, beta = 0.8, 6.0, 0.7, 12.0
    m = ParetoNBDModel()
    m.params_ = {"r": r, "alpha": alpha, "s": s, "beta": beta}
    rng = np.random.default_rng(7)
    lam = rng.gamma(r, 1 / alpha, 400_000)
    mu = rng.gamma(s, 1 / beta, 400_000)
    first_buy = rng.exponential(1 / lam)
    death = rng.exponential(1 / mu)
    quiet = (first_buy > np.minimum(death, 26.0)).astype(float)
    ours = float(m.p_no_purchase([[0, 0, 0]], 26.0)[0])
    assert abs(ours - quiet.mean()) < 4 * quiet.std() / np.sqrt(len(quiet))


def test_pareto_no_purchase_given_a_history_equals_direct_integration():
    # the quadrature against scipy's adaptive integration of the same expectation
    r, alpha, s, beta = 0.6, 9.0, 0.5, 14.0
    m = ParetoNBDModel()
    m.params_ = {"r": r, "alpha": alpha, "s": s, "beta": beta}
    x, tx, t, h = 3.0, 20.0, 39.0, 30.0
    A, B, k = alpha + t, beta + t, r + x

    def integrand(u):
        return s / B * (B / (B + u)) ** (s + 1) * (A / (A + u)) ** k

    p0 = quad(integrand, 0, h)[0] + (A / (A + h)) ** k * (B / (B + h)) ** s
    pa = float(m.p_alive([[x, tx, t]])[0])
    assert m.p_no_purchase([[x, tx, t]], h)[0] == pytest.approx(1 - pa + pa * p0, rel=1e-10)


def test_the_log_likelihood_has_the_same_bits_with_one_blas_thread_or_two() -> None:
    # a fit's log-likelihood (and the AIC the manifest shows) does not depend on how many
    # threads the machine's BLAS may use: 40,000 distinct customers, enough for a
    # two-thread sum to differ in its last bits (on a machine with one core both are one)
    from threadpoolctl import threadpool_limits

    T = np.random.default_rng(5).uniform(20, 60, 40_000)
    data = simulate_bgnbd(40_000, T, seed=3)
    got = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            got.append(BetaGeoModel().fit(data).log_likelihood_)
    assert got[0] == got[1]


def test_pareto_quadrature_on_threads_gives_every_row_the_same_bits():
    """The quadrature's blocks of rows go to several threads on large inputs: each row's
    log-integral and gradient must be the bits one thread gives, whatever thread runs it."""
    from tierwise.lifetime import paretonbd

    rng = np.random.default_rng(5)
    n = 40 * paretonbd._BLOCK + 17  # enough blocks for four runs, the last block short
    t = rng.uniform(5.0, 150.0, n)
    tx = t * rng.uniform(0.0, 1.0, n)
    tx[: n // 5] = t[: n // 5]  # rows whose integral is empty
    x = np.where(tx > 0, rng.poisson(3.0, n), 0).astype(float)
    assert len(paretonbd._runs(40, 4)) == 4
    for p in (np.array([0.8, 10.0, 0.6, 12.0]), np.array([3.0, 1.0, 0.1, 200.0])):
        one, g_one = paretonbd._log_integral(p, x, tx, t, grad=True, workers=1)
        assert g_one is not None
        for workers in (2, 3, 4):
            many, g_many = paretonbd._log_integral(p, x, tx, t, grad=True, workers=workers)
            assert g_many is not None
            assert np.array_equal(one, many)
            assert np.array_equal(g_one, g_many)
        assert np.isneginf(one[: n // 5]).all() and np.isfinite(one[n // 5 :]).all()


def test_pareto_figures_of_a_row_do_not_depend_on_the_other_rows():
    """The special functions are evaluated once per distinct x and T and gathered per row:
    each row's log-likelihood and gradient are the bits it gets alone."""
    p = np.array([0.55, 10.6, 0.61, 11.7])
    ll, g = ParetoNBDModel.loglik_terms(p, SX, STX, ST, grad=True)
    assert g is not None
    for i in (0, 17, 999, len(SX) - 1):
        one, g_one = ParetoNBDModel.loglik_terms(
            p, SX[i : i + 1], STX[i : i + 1], ST[i : i + 1], grad=True
        )
        assert g_one is not None
        assert one[0] == ll[i]
        assert np.array_equal(g_one[:, 0], g[:, i])


def test_distinct_rows_are_shared_within_a_scope_and_equal_fresh_ones():
    from tierwise.lifetime._fitting import distinct_rows, shared_distinct_rows

    fresh, w_fresh, inv_fresh = distinct_rows(SX, STX, ST)
    assert fresh[0].flags.writeable  # outside a scope nothing is kept
    with shared_distinct_rows():
        first, w1, inv1 = distinct_rows(SX.copy(), STX.copy(), ST.copy())
        again, w2, inv2 = distinct_rows(SX.copy(), STX.copy(), ST.copy())
        assert all(a is b for a, b in zip(first, again, strict=True))
        assert w1 is w2 and inv1 is inv2
        for a, b in zip(first, fresh, strict=True):
            assert np.array_equal(a, b)
        assert np.array_equal(w1, w_fresh) and np.array_equal(inv1, inv_fresh)
        assert not first[0].flags.writeable  # shared: nobody may change them
        # other bits are other columns: weights, and -0.0 against 0.0
        weighted = distinct_rows(SX, STX, ST, weights=np.full(len(SX), 2.0))
        assert np.array_equal(weighted[1], 2.0 * w_fresh)
        signed = STX.copy()
        signed[signed == 0] = -0.0
        assert np.signbit(distinct_rows(SX, signed, ST)[0][1]).any()
    assert distinct_rows(SX, STX, ST)[0][0].flags.writeable


def test_the_fit_does_not_evaluate_its_optimum_again():
    from tierwise.lifetime._fitting import maximise

    calls = []

    def loglik(p: np.ndarray) -> tuple[float, np.ndarray]:
        calls.append(p.copy())
        return float(-np.sum((p - 2.0) ** 2)), -2.0 * (p - 2.0)

    params, ll, res = maximise(
        loglik,
        [np.array([1.0, 3.0])],
        total_weight=1.0,
        model="m",
        max_iter=100,
        tol=1e-10,
        names=("a", "b"),
    )
    assert len(calls) == res.nfev
    assert ll == loglik(params)[0]
    assert np.allclose(params, 2.0)
