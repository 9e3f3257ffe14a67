"""Wallets against the demo's planted truth.

The demo (``tierwise.demo.generate``) plants each company's wallet (yearly spend capacity in
our categories) as a log-linear function of industry, region and head count times
log-normal noise, and its share of wallet as a Beta draw; what the company buys follows
BG/NBD, so many have died or bought nothing in the last year. Spend here is revenue over the
12 months to ``end_date``, aggregated from the transactions with pyarrow, and summed per true
company (``company_id`` in the truth): the potential stage runs after duplicate records are
merged into accounts, and this test should measure wallets, not deduplication.

Floors below were set from measurements on seed 42 (23 Nov 2026, 2,817 companies) with a
margin for changes to the generator: measured Spearman ρ(wallet, true wallet) = 0.85;
ρ(share of wallet, true share) among buyers = 0.43, where knowing the true wallet would give
0.50 (a year of orders is a noisy draw of a company's share); the estimated top-headroom
decile held 60% of the true top-headroom decile (random: 10%); prospects' ρ = 0.82. With
demo seed 1 the same figures were 0.83, 0.45 (ceiling 0.51), 60% and 0.84.

The band [wallet_low, wallet_high] held the true wallet for 79.5% of companies on seed 42
(10.8% below it, 9.7% above) and 81.8% of prospects; 78.3% (11.0% / 10.6%) on seed 1. The
default band quantiles were set from these two seeds, so the band test guards against
regressions rather than validating independently; on seeds not used to set them it held
78.2% (11.9% / 9.9%; prospects 77.7%) on seed 7 and 77.1% (8.6% / 14.3%; prospects 80.7%)
on seed 2024. "auto" chose linear on seeds 42, 1 and 2024 and blend on seed 7; each time
the chosen model was within 0.001 of the best Spearman ρ against the true wallets.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from scipy.stats import spearmanr

from tierwise.demo import generate
from tierwise.potential import potential_stage
from tierwise.settings import PotentialSettings


@pytest.fixture(scope="module")
def run():
    data = generate(n_customers=3000, seed=42)
    tx = data.transactions
    start = data.end_date - dt.timedelta(days=365)
    last_year = pc.and_(
        pc.greater(tx["date"], pa.scalar(start)),
        pc.less_equal(tx["date"], pa.scalar(data.end_date)),
    )
    spend = (
        tx.filter(last_year)
        # one thread: the same float sums every run (a company whose orders and returns
        # cancel would otherwise flip between spend 0 and 1e-12, i.e. in or out of the fit)
        .group_by("customer_id", use_threads=False)
        .aggregate([("revenue", "sum")])
        .rename_columns(["customer_id", "revenue_12m"])
        .to_pandas()
    )
    truth = data.truth.to_pandas()
    records = (
        data.customers.to_pandas()
        .merge(spend, on="customer_id", how="left")
        .merge(
            truth[["customer_id", "company_id", "true_wallet", "true_share_of_wallet"]],
            on="customer_id",
        )
    )
    records["revenue_12m"] = records["revenue_12m"].fillna(0.0)
    # one row per true company: firmographics of its first record, spend summed
    by_company = records.groupby("company_id", sort=True)
    companies = by_company.first()
    companies["revenue_12m"] = by_company["revenue_12m"].sum()
    companies = companies.reset_index()
    companies["customer_id"] = companies["company_id"]
    result = potential_stage(
        pa.Table.from_pandas(companies, preserve_index=False),
        prospects=data.prospects,
        market=data.market,
        settings=PotentialSettings(),
        seed=42,
    )
    prospect_truth = truth[truth["is_prospect"]].set_index("customer_id")
    return companies, result, prospect_truth


def test_estimated_wallets_rank_like_the_planted_wallets(run):
    companies, result, _ = run
    c = result.customers.to_pandas()
    rho = spearmanr(c["wallet"], companies["true_wallet"])[0]
    assert rho > 0.75  # measured 0.85


def test_estimated_share_of_wallet_ranks_like_the_planted_share_among_buyers(run):
    companies, result, _ = run
    c = result.customers.to_pandas()
    buyers = companies["revenue_12m"].to_numpy() > 0
    # without spend in the window the share is 0 whatever the planted share was, so the
    # comparison is among buyers; the ceiling is what the true wallet itself would give
    rho = spearmanr(c["share_of_wallet"][buyers], companies["true_share_of_wallet"][buyers])[0]
    ceiling = spearmanr(
        companies["revenue_12m"][buyers] / companies["true_wallet"][buyers],
        companies["true_share_of_wallet"][buyers],
    )[0]
    assert rho > 0.35  # measured 0.49
    assert rho > 0.7 * ceiling  # measured 0.49 / 0.55 = 0.89 of the ceiling


def test_top_headroom_decile_finds_the_true_top_headroom_customers(run):
    companies, result, _ = run
    headroom = result.customers["headroom"].to_numpy()
    true_headroom = (companies["true_wallet"] - companies["revenue_12m"]).to_numpy()
    k = len(headroom) // 10
    est = set(np.argsort(-headroom, kind="stable")[:k])
    true = set(np.argsort(-true_headroom, kind="stable")[:k])
    assert len(est & true) / k > 0.45  # measured 0.67; a random pick would give 0.10


def test_prospect_wallets_rank_like_their_planted_wallets(run):
    _, result, prospect_truth = run
    p = result.prospects.to_pandas()
    true = prospect_truth.loc[p["customer_id"], "true_wallet"].to_numpy()
    assert spearmanr(p["wallet"], true)[0] > 0.7  # measured 0.86


def test_demo_run_reports_market_penetration_and_a_profile(run):
    companies, result, _ = run
    pen = result.market_penetration.to_pandas()
    total = pen[pen["level"] == "total"].iloc[0]
    # spend below zero (a year of more returns than purchases) counts as none
    assert total["revenue"] == pytest.approx(companies["revenue_12m"].clip(lower=0).sum())
    assert 0 < total["penetration"] < 1
    assert (pen[pen["level"] == "industry_region"]["market_size"] > 0).all()
    assert result.icp_sentences[0].startswith("Top customers are the best 20% by spend")
    assert len(result.icp_sentences) >= 3


def test_band_holds_about_four_in_five_true_wallets_with_misses_on_both_sides(run):
    companies, result, prospect_truth = run
    c = result.customers.to_pandas()
    true = companies["true_wallet"].to_numpy()
    below = np.mean(true < c["wallet_low"].to_numpy())
    above = np.mean(true > c["wallet_high"].to_numpy())
    # measured 0.683 inside, 0.042 below, 0.274 above; ±0.08 for generator changes (the
    # binomial standard error alone is 0.009 with 2,8xx companies). The misses lean above:
    # the wallet is a high quantile of what look-alikes spend, and the demo's planted
    # shares of wallet seldom exceed 0.6, so where no look-alike buys nearly all its needs
    # from us the band sits below the true wallet.
    assert 1 - below - above == pytest.approx(0.70, abs=0.08)
    assert below < 0.18 and above < 0.35
    p = result.prospects.to_pandas()
    pt = prospect_truth.loc[p["customer_id"], "true_wallet"].to_numpy()
    inside = (pt >= p["wallet_low"].to_numpy()) & (pt <= p["wallet_high"].to_numpy())
    assert inside.mean() == pytest.approx(0.75, abs=0.10)  # measured 0.71 of 600


def test_auto_picks_by_held_out_loss_a_model_as_close_to_the_truth_as_the_best(run):
    companies, result, _ = run
    models = result.manifest["models"]
    # the choice is the lowest out-of-fold pinball loss (on log spend, among buyers) ...
    assert result.manifest["method"] == min(models, key=lambda m: models[m]["pinball_loss_log"])
    # ... and that loss ranks the models as the planted wallets do: every method refitted
    # alone, the chosen one is within 0.02 of the best Spearman ρ against the true wallet
    # (measured: linear 0.849 chosen, blend 0.843, gbm 0.822, look-alike 0.744)
    table = pa.Table.from_pandas(companies, preserve_index=False)
    rho = {}
    for method in models:
        res = potential_stage(table, settings=PotentialSettings(method=method), seed=42)
        rho[method] = spearmanr(res.customers["wallet"], companies["true_wallet"])[0]
    assert rho[result.manifest["method"]] >= max(rho.values()) - 0.02
    # and the held-out coverage of each model is near its quantile, 0.9 (measured 0.85-0.89)
    assert all(0.8 < v["coverage"] < 0.95 for v in models.values())


def test_market_given_per_cell_gives_penetration_per_industry_and_region(run):
    _, result, _ = run
    pen = result.market_penetration.to_pandas()
    for level in ("industry", "region"):
        rows = pen[pen["level"] == level]
        assert (rows["market_size"] > 0).all() and (rows["penetration"] > 0).all()
        total = pen.loc[pen["level"] == "total", "market_size"].iloc[0]
        assert rows["market_size"].sum() == pytest.approx(total)
