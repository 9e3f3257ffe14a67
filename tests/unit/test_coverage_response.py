"""The response curve and its fit from activity history."""

from __future__ import annotations

import numpy as np
import pytest

from tierwise.coverage.response import fit_response, response

WALLET = np.array([1000.0, 25000.0, 3.0e5])


def test_no_effort_earns_the_base_share():
    np.testing.assert_allclose(response(WALLET, 0.1, 0.6, 1.7, 5.0, 0.0), WALLET * 0.1)


def test_unlimited_effort_tends_to_the_ceiling():
    np.testing.assert_allclose(response(WALLET, 0.1, 0.6, 1.7, 5.0, 1e9), WALLET * 0.6)


def test_half_effort_earns_the_midpoint():
    for c in (0.5, 1.0, 3.0):
        np.testing.assert_allclose(
            response(WALLET, 0.1, 0.6, c, 5.0, 5.0), WALLET * (0.1 + 0.6) / 2
        )


def test_response_rises_with_effort_and_broadcasts():
    e = np.linspace(0, 40, 81)
    r = response(1000.0, 0.05, 0.5, 2.0, 6.0, e)
    assert r.shape == e.shape
    assert np.all(np.diff(r) > 0)


PLANTED = (0.08, 0.45, 1.8, 6.0)


def synthetic_history(n: int, seed: int, max_effort: float = 30.0, noise: float = 0.05):
    rng = np.random.default_rng(seed)
    wallet = 20000 * rng.lognormal(0, 0.8, n)
    effort = rng.uniform(0, max_effort, n)
    revenue = response(wallet, *PLANTED, effort) * rng.lognormal(0, noise, n)
    return revenue, wallet, effort


def test_fit_recovers_planted_parameters():
    """3,000 customer-periods, efforts spread over 0-30 contacts, 5% multiplicative noise:
    each estimate within 4 standard errors of the truth (a 1-in-16,000 miss per parameter
    if the standard errors are right), and the standard errors small enough to mean
    something (shares within 0.02, c within 0.5, d within 1.5 contacts)."""
    revenue, wallet, effort = synthetic_history(3000, 1)
    fit = fit_response(
        revenue, wallet, effort, prior=(0.2, 0.3, 1.0, 3.0), bounds={"d": (0.5, 50.0)}
    )
    assert fit.estimated == ("s0", "s1", "c", "d")
    assert fit.n_customers == 3000
    for name, truth, width in zip(
        ("s0", "s1", "c", "d"), PLANTED, (0.02, 0.02, 0.5, 1.5), strict=True
    ):
        est, se = getattr(fit, name), fit.se[name]
        assert abs(est - truth) <= 4 * se, name
        assert abs(est - truth) <= width, name


def test_without_effort_only_the_base_share_is_estimated():
    revenue, wallet, _ = synthetic_history(500, 2)
    effort = np.zeros(500)
    revenue = response(wallet, *PLANTED, effort) * np.random.default_rng(3).lognormal(0, 0.05, 500)
    prior = (0.2, 0.3, 1.0, 3.0)
    fit = fit_response(revenue, wallet, effort, prior=prior, bounds={})
    assert fit.estimated == ("s0",)
    assert fit.s0 == pytest.approx(PLANTED[0], abs=0.005)
    assert (fit.s1, fit.c, fit.d) == prior[1:]


def test_too_little_history_keeps_the_prior():
    revenue, wallet, effort = synthetic_history(5, 4)
    fit = fit_response(revenue, wallet, effort, prior=(0.2, 0.3, 1.0, 3.0), bounds={})
    assert fit.estimated == ()
    assert fit.params() == (0.2, 0.3, 1.0, 3.0)


def test_efforts_far_below_saturation_keep_the_ceiling_from_the_prior():
    """Efforts only up to 0.3 contacts against a half-effort of 6: the ceiling and shape
    cannot be told apart, so not all four are estimated and the prior's stay exact."""
    revenue, wallet, effort = synthetic_history(2000, 5, max_effort=0.3, noise=0.1)
    prior = (0.2, 0.3, 1.0, 3.0)
    fit = fit_response(revenue, wallet, effort, prior=prior, bounds={})
    assert len(fit.estimated) < 4
    for i, name in enumerate(("s0", "s1", "c", "d")):
        if name not in fit.estimated:
            assert getattr(fit, name) == prior[i]
