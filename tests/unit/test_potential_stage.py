"""The potential stage: cross-fitting without leakage, completeness, market, ICP, prospects."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tierwise._threads import thread_limit
from tierwise.errors import InputError, ModelError, SettingsError
from tierwise.potential import (
    LookalikeWallet,
    crossfit_predict,
    customer_growth_rates,
    fold_ids,
    ideal_customer_profile,
    penetration_table,
    potential_stage,
    top_class,
)
from tierwise.settings import PotentialSettings, settings_from_dict

FAST = {"gbm_n_estimators": 40, "n_threads": 1, "neighbours": 15, "min_customers": 20}


def _customers(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    emp = np.round(rng.lognormal(3, 1.2, n)) + 1
    ind = rng.choice(["food", "metal", "chem"], n)
    reg = rng.choice(["N", "S"], n)
    wallet = 500 * emp**0.8 * np.where(ind == "food", 2.0, 1.0) * rng.lognormal(0, 0.3, n)
    spend = wallet * rng.beta(2, 3, n)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:03d}" for i in range(n)],
            "industry": ind,
            "region": reg,
            "employees": emp,
            "annual_revenue": emp * rng.lognormal(11, 0.4, n),
            "revenue_12m": spend,
        }
    )


def _run(df: pd.DataFrame, **kw):
    settings = PotentialSettings(**(FAST | kw.pop("settings", {})))
    return potential_stage(
        pa.Table.from_pandas(df, preserve_index=False),
        settings=settings,
        seed=kw.pop("seed", 7),
        **kw,
    )


# ---- cross-fitting ------------------------------------------------------------------


def test_fold_ids_are_balanced_and_seeded():
    f = fold_ids(103, 5, seed=1)
    assert sorted(np.bincount(f).tolist()) == [20, 20, 21, 21, 21]
    assert np.array_equal(f, fold_ids(103, 5, seed=1))
    assert not np.array_equal(f, fold_ids(103, 5, seed=2))


@pytest.mark.parametrize("method", ["gbm", "linear", "lookalike", "blend"])
def test_a_customers_own_spend_reaches_its_outputs_only_through_the_floors(method):
    # the stage's folds (documented: fold_ids(n, n_folds, seed)); every customer of one
    # fold gets a different spend: none (A) or anything from 0 to 1000× as much (B)
    df = _customers()
    seed = 7
    fold = fold_ids(len(df), PotentialSettings().n_folds, seed) == 0
    rng = np.random.default_rng(0)
    a, b = df.copy(), df.copy()
    a.loc[fold, "revenue_12m"] = 0.0
    b.loc[fold, "revenue_12m"] *= rng.choice([0.0, 0.2, 5.0, 1000.0], int(fold.sum()))
    ra = _run(a, seed=seed, settings={"method": method}).customers.to_pandas()
    rb = _run(b, seed=seed, settings={"method": method}).customers.to_pandas()
    s = b.loc[fold, "revenue_12m"].to_numpy()
    # the fold's own estimates and bands are exactly those made without its spend ...
    assert np.array_equal(rb.loc[fold, "wallet_model"], ra.loc[fold, "wallet_model"])
    # ... and its spend enters only through the documented floors
    wallet = np.maximum(ra.loc[fold, "wallet_model"].to_numpy(), s)
    assert np.array_equal(rb.loc[fold, "wallet"], wallet)
    assert np.array_equal(rb.loc[fold, "wallet_low"], np.maximum(ra.loc[fold, "wallet_low"], s))
    assert np.array_equal(rb.loc[fold, "wallet_high"], np.maximum(ra.loc[fold, "wallet_high"], s))
    top = fold & (b["revenue_12m"] > ra["wallet_model"])
    assert top.any() and np.allclose(rb.loc[top, "share_of_wallet"], 1.0)
    # the models that did see the fold's spend moved the other customers' estimates, so a
    # model fitted on the customers it predicts (see the next test) would fail above
    assert (rb.loc[~fold, "wallet_model"] != ra.loc[~fold, "wallet_model"]).mean() > 0.5


def test_auto_adds_only_its_choice_to_the_chosen_models_crossfitted_estimates():
    df = _customers()
    auto = _run(df)
    chosen = auto.manifest["method"]
    alone = _run(df, settings={"method": chosen})
    assert auto.customers.equals(alone.customers)


def test_an_in_sample_lookalike_would_leak_own_spend_the_crossfitted_one_does_not():
    # negative control for the test above: fitted and predicted on the same rows, a
    # customer is its own nearest look-alike and its spend moves its wallet
    df = _customers()
    X = df[["industry", "employees", "region"]]
    y = df["revenue_12m"].to_numpy().copy()
    y2 = y.copy()
    y2[17] *= 1000
    m = LookalikeWallet(0.9, n_neighbors=5)
    assert (
        m.fit(X, y2).predict(X)[17] != LookalikeWallet(0.9, n_neighbors=5).fit(X, y).predict(X)[17]
    )
    a = crossfit_predict(m, X, y, n_folds=5, seed=3)
    b = crossfit_predict(m, X, y2, n_folds=5, seed=3)
    assert a[17] == b[17]


def test_crossfit_matches_fitting_on_the_other_folds_by_hand():
    df = _customers(100)
    X, y = df[["employees"]], df["revenue_12m"].to_numpy()
    f = fold_ids(100, 4, seed=9)
    oof = crossfit_predict(LookalikeWallet(0.9, n_neighbors=5), X, y, folds=f)
    k = f == 2
    by_hand = LookalikeWallet(0.9, n_neighbors=5).fit(X[~k], y[~k]).predict(X[k])
    assert np.allclose(oof[k], by_hand)


def test_lookalikes_are_the_nearest_in_the_largest_matching_category_block():
    rng = np.random.default_rng(5)
    n, k = 300, 8
    X = pd.DataFrame(
        {
            "employees": rng.lognormal(3, 1, n),
            "industry": rng.choice(["food", "metal", "chem", "wood"], n, p=[0.5, 0.3, 0.17, 0.03]),
            "region": rng.choice(["N", "S", "E"], n),
        }
    )
    y = rng.lognormal(8, 1, n)
    m = LookalikeWallet(0.9, n_neighbors=k, columns=["industry", "region", "employees"])
    m.fit(X, y)
    q = X.sample(60, random_state=1).reset_index(drop=True)
    q.loc[0, "industry"] = None  # missing: any industry
    q.loc[1, "region"] = "W"  # unseen: same industry, any region
    got = m.kneighbors(q)
    enc_t, enc_q = m.encoder_.transform(X), m.encoder_.transform(q)
    sizes_t, sizes_q = m._sizes(enc_t), m._sizes(enc_q)
    for i in range(len(q)):
        for depth in range(enc_q.codes.shape[1], -1, -1):
            if np.any(enc_q.codes[i, :depth] < 0):
                continue
            rows = np.nonzero(np.all(enc_t.codes[:, :depth] == enc_q.codes[i, :depth], axis=1))[0]
            if len(rows) >= k:
                break
        dist = np.linalg.norm(sizes_t[rows] - sizes_q[i], axis=1)
        assert got[i].tolist() == rows[np.argsort(dist, kind="stable")[:k]].tolist()


# ---- the stage's outputs --------------------------------------------------------------


def test_outputs_obey_wallet_identities_and_keep_every_customer_in_order():
    df = _customers()
    res = _run(df)
    c = res.customers.to_pandas()
    assert c["customer_id"].tolist() == df["customer_id"].tolist()
    spend = df["revenue_12m"].to_numpy()
    assert np.all(c["wallet"] >= spend - 1e-9)
    assert np.allclose(c["headroom"], c["wallet"] - spend)
    assert np.allclose(c["share_of_wallet"], spend / c["wallet"])
    assert np.all((c["wallet_low"] <= c["wallet"]) & (c["wallet"] <= c["wallet_high"]))
    assert np.allclose(c["wallet"], np.maximum(c["wallet_model"], spend))
    assert res.manifest["method"] in {"gbm", "linear", "lookalike", "blend"}
    assert set(res.manifest["models"]) == {"gbm", "linear", "lookalike", "blend"}
    # "auto" picks the lowest cross-validated loss
    losses = {m: v["pinball_loss_log"] for m, v in res.manifest["models"].items()}
    assert res.manifest["method"] == min(losses, key=losses.get)


def test_same_seed_gives_identical_tables():
    df = _customers()
    a, b = _run(df, seed=3), _run(df, seed=3)
    assert a.customers.equals(b.customers)
    assert a.icp.equals(b.icp)


def test_results_do_not_depend_on_the_threads_or_on_other_columns_of_the_table(monkeypatch):
    df = _customers()
    pros = _customers(40, seed=4).drop(columns="revenue_12m")
    a = _run(df, prospects=pros, settings={"method": "blend"})
    # other stages' columns (text among them) in the customer table change nothing; the
    # second run fits its models one after another in this thread ([run] threads = 1)
    wide = df.assign(name=[f"Company {i}" for i in range(len(df))], clv=np.arange(len(df)))
    started: list[str] = []
    start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda t: (started.append(t.name), start(t))[1])
    with thread_limit(1):
        b = _run(wide, prospects=pros, settings={"method": "blend"})
    assert started == []
    assert a.customers.equals(b.customers)
    assert a.prospects.equals(b.prospects)
    assert a.icp.equals(b.icp)
    assert a.manifest == b.manifest


def test_missing_inputs_are_named_imputed_and_widen_the_band_never_dropped():
    df = _customers()
    df.loc[[3, 4], "employees"] = np.nan
    df.loc[4, "industry"] = None
    df.loc[[3, 4], "revenue_12m"] = 0.0  # no floor at spend, so the band shows as is
    narrow = _run(df, settings={"missing_band_widening": 0.0}).customers.to_pandas()
    wide = _run(df, settings={"missing_band_widening": 0.5}).customers.to_pandas()
    assert len(wide) == len(df)
    assert wide.loc[3, "missing_inputs"] == "employees"
    assert wide.loc[4, "missing_inputs"] == "employees,industry"
    assert wide.loc[5, "missing_inputs"] == ""
    assert np.isfinite(wide.loc[[3, 4], "wallet"]).all()

    def up(t, i):
        return np.log1p(t.loc[i, "wallet_high"]) - np.log1p(t.loc[i, "wallet"])

    # one missing column: 1.5× the log-width; two: 2×
    assert up(wide, 3) == pytest.approx(1.5 * up(narrow, 3))
    assert up(wide, 4) == pytest.approx(2.0 * up(narrow, 4))
    res = _run(df)
    assert res.manifest["n_customers_missing_inputs"] == 2
    assert res.manifest["missing_by_column"]["employees"] == 2


def test_all_empty_or_absent_columns_are_skipped_and_reported():
    df = _customers().drop(columns=["annual_revenue"])
    df["region"] = None
    res = _run(df)
    assert res.manifest["features_used"] == ["industry", "employees"]
    assert res.manifest["features_absent"] == ["annual_revenue", "region"]


def test_refuses_without_firmographics_or_with_too_few_customers_or_repeated_ids():
    df = _customers()
    with pytest.raises(ModelError, match="no firmographic columns"):
        _run(df[["customer_id", "revenue_12m"]])
    with pytest.raises(ModelError, match="too few"):
        _run(df.head(10))
    dup = df.copy()
    dup.loc[1, "customer_id"] = dup.loc[0, "customer_id"]
    with pytest.raises(InputError, match="more than once"):
        _run(dup)
    with pytest.raises(InputError, match="spend"):
        _run(df, spend_column="spend")


def test_settings_refuse_a_band_that_does_not_bracket_the_quantile():
    with pytest.raises(SettingsError, match="band_low_quantile"):
        settings_from_dict({"potential": {"quantile": 0.9, "band_high_quantile": 0.85}})


# ---- market ---------------------------------------------------------------------------


def test_growth_rate_comes_from_cell_then_industry_then_region_then_default():
    cust = pd.DataFrame(
        {"industry": ["food", "food", "metal", "chem"], "region": ["N", "S", "S", "W"]}
    )
    mk = pd.DataFrame(
        {
            "industry": ["food", "food", None],
            "region": ["N", None, "S"],
            "market_size": [1.0, 2.0, 3.0],
            "growth_rate": [0.10, 0.05, 0.02],
        }
    )
    g = customer_growth_rates(cust, mk, PotentialSettings(default_growth_rate=0.01))
    assert g.tolist() == [0.10, 0.05, 0.02, 0.01]


def test_market_scales_wallets_to_the_planning_year_and_reports_penetration():
    df = _customers()
    mk = pa.table(
        {
            "industry": ["food", "metal", "chem"],
            "market_size": [5e7, 4e7, 3e7],
            "growth_rate": [0.10, 0.0, -0.05],
        }
    )
    res = _run(df, market=mk, settings={"planning_years": 2})
    c = res.customers.to_pandas()
    food = (df["industry"] == "food").to_numpy()
    assert np.allclose(c.loc[food, "wallet_planning"], c.loc[food, "wallet"] * 1.1**2)
    assert np.allclose(
        c.loc[food, "growth_potential"],
        c.loc[food, "wallet_planning"] - df.loc[food, "revenue_12m"],
    )
    pen = res.market_penetration.to_pandas()
    row = pen[(pen.level == "industry") & (pen.industry == "food")].iloc[0]
    revenue = df.loc[food, "revenue_12m"].sum()
    assert row.revenue == pytest.approx(revenue)
    assert row.penetration == pytest.approx(revenue / 5e7)
    assert row.market_potential == pytest.approx(5e7 * 1.1**2)
    total = pen[pen.level == "total"].iloc[0]
    assert total.market_size == pytest.approx(12e7)
    assert total.revenue == pytest.approx(df["revenue_12m"].sum())


def test_a_market_table_without_rows_is_named_as_such():
    # its columns are there: the message says the rows are missing, not the columns
    empty = pd.DataFrame(
        {
            "industry": pd.Series([], dtype="string"),
            "region": pd.Series([], dtype="string"),
            "market_size": pd.Series([], dtype="float64"),
            "growth_rate": pd.Series([], dtype="float64"),
        }
    )
    with pytest.raises(InputError, match="the market table has no rows"):
        customer_growth_rates(pd.DataFrame({"industry": ["a"]}), empty, PotentialSettings())


def test_market_table_without_keys_is_refused():
    with pytest.raises(InputError, match="industry or a region"):
        customer_growth_rates(
            pd.DataFrame({"industry": ["a"]}),
            pd.DataFrame({"market_size": [1.0]}),
            PotentialSettings(),
        )


def test_market_given_per_cell_rolls_up_to_industry_region_and_total():
    c = pd.DataFrame(
        {
            "industry": ["a", "a", "b"],
            "region": ["N", "S", "N"],
            "spend": [10.0, 20.0, 30.0],
            "wallet": [20.0, 40.0, 60.0],
            "wallet_planning": [20.0, 40.0, 60.0],
            "headroom": [10.0, 20.0, 30.0],
        }
    )
    cells = pd.DataFrame(
        {
            "industry": ["a", "a", "b"],
            "region": ["N", "S", "N"],
            "market_size": [100.0, 300.0, 600.0],
            "growth_rate": [0.10, None, 0.0],  # a × S grows at the default 2%
        }
    )
    st = PotentialSettings(planning_years=2, default_growth_rate=0.02)
    t = penetration_table(c, market=cells, settings=st).to_pandas().set_index("level")
    ind_a = t.loc["industry"].set_index("industry").loc["a"]
    # industry a = its two cells: 100 + 300; growth weighted by size (0.1·100 + 0.02·300)/400
    assert ind_a.market_size == 400.0
    assert ind_a.growth_rate == pytest.approx(0.04)
    assert ind_a.market_potential == pytest.approx(100 * 1.1**2 + 300 * 1.02**2)
    assert ind_a.penetration == pytest.approx(30.0 / 400.0)
    reg_n = t.loc["region"].set_index("region").loc["N"]
    assert (reg_n.market_size, reg_n.revenue) == (700.0, 40.0)
    total = t.loc["total"]
    assert total.market_size == 1000.0
    assert total.market_potential == pytest.approx(121.0 + 300 * 1.02**2 + 600.0)
    assert total.penetration == pytest.approx(60.0 / 1000.0)
    # a market row of the level's own wins over the sum of its cells
    own = pd.concat([cells, pd.DataFrame({"industry": ["a"], "market_size": [450.0]})])
    t = penetration_table(c, market=own, settings=st).to_pandas()
    assert t[(t.level == "industry") & (t.industry == "a")].market_size.tolist() == [450.0]
    # without the b × N cell, region N's cells (a × N only) would understate its market:
    # its size stays empty rather than giving b's revenue a share of a's market
    part = penetration_table(c, market=cells.iloc[:2], settings=st).to_pandas()
    by_region = part[part.level == "region"].set_index("region")
    assert np.isnan(by_region.loc["N", "market_size"]) and np.isnan(
        by_region.loc["N", "penetration"]
    )
    assert by_region.loc["S", "market_size"] == 300.0


def test_stage_reports_penetration_per_segment_when_given_a_segment_column():
    df = _customers()
    df["tier"] = np.where(np.arange(len(df)) % 3 == 0, "gold", "silver")
    res = _run(df, segment_column="tier")
    pen = res.market_penetration.to_pandas()
    seg = pen[pen.level == "segment"].set_index("segment")
    assert sorted(seg.index) == ["gold", "silver"]
    gold = (df["tier"] == "gold").to_numpy()
    assert seg.loc["gold", "revenue"] == pytest.approx(df.loc[gold, "revenue_12m"].sum())
    wallet = res.customers["wallet"].to_numpy()
    assert seg.loc["gold", "wallet"] == pytest.approx(wallet[gold].sum())
    assert seg["n_customers"].sum() == len(df)
    assert seg["market_size"].isna().all()  # the market table has no segments


def test_penetration_by_segment_sums_revenue_and_wallet_per_segment():
    c = pd.DataFrame(
        {
            "industry": ["a", "a", "b"],
            "tier": ["gold", "silver", "gold"],
            "spend": [1.0, 2.0, 3.0],
            "wallet": [2.0, 4.0, 6.0],
            "wallet_planning": [2.0, 4.0, 6.0],
            "headroom": [1.0, 2.0, 3.0],
        }
    )
    t = penetration_table(c, segment_column="tier", settings=PotentialSettings()).to_pandas()
    gold = t[(t.level == "segment") & (t.segment == "gold")].iloc[0]
    assert (gold.revenue, gold.wallet, gold.share_of_wallet) == (4.0, 8.0, 0.5)
    assert np.isnan(gold.market_size)


# ---- ideal customer profile and prospects ---------------------------------------------


def test_top_class_takes_the_exact_share_and_breaks_ties_by_row_order():
    assert top_class([3.0, 3.0, 3.0, 1.0], 0.5).tolist() == [True, True, False, False]
    assert top_class([np.nan, 1.0, 2.0, 3.0, 4.0], 0.5).tolist() == [
        False,
        False,
        False,
        True,
        True,
    ]


def test_icp_reports_category_lift_and_medians_in_table_and_sentences():
    df = pd.DataFrame(
        {
            "industry": ["food"] * 8 + ["metal"] * 2 + ["food"] * 2 + ["metal"] * 28,
            "employees": [300.0] * 10 + [20.0] * 30,
        }
    )
    top = np.arange(40) < 10
    table, lines = ideal_customer_profile(
        df, top, columns=["industry", "employees"], settings=PotentialSettings(icp_min_count=2)
    )
    t = table.to_pandas()
    food = t[(t.column == "industry") & (t.value == "food")].iloc[0]
    # food: 8 of 10 top vs 2 of 30 rest → lift 0.8 / (1/15) = 12
    assert food.lift == pytest.approx(12.0)
    assert "Top customers are 12.0× more often in industry food (80% vs 6.7% of the rest)." in lines
    assert "Median employees: 300 for top customers vs 20 for the rest." in lines
    band = t[(t.column == "employees") & (t.value == "250 or more")].iloc[0]
    assert (band.n_top, band.n_rest) == (10, 0)


def test_prospects_get_a_wallet_and_a_higher_lookalike_score_near_the_top_class():
    df = _customers(300, seed=4)
    # top spenders are the large food companies
    big_food = (df.industry == "food") & (df.employees > df.employees.median())
    df.loc[big_food, "revenue_12m"] *= 20
    pros = pd.DataFrame(
        {
            "customer_id": ["P1", "P2", "P3"],
            "industry": ["food", "chem", None],
            "region": ["N", "S", "N"],
            "employees": [df.employees.quantile(0.9), 3.0, np.nan],
            "annual_revenue": [1e7, 1e5, 1e6],
        }
    )
    res = _run(df, prospects=pa.Table.from_pandas(pros, preserve_index=False))
    p = res.prospects.to_pandas()
    assert p.customer_id.tolist() == ["P1", "P2", "P3"]
    assert p.lookalike_score[0] > 0.5 > p.lookalike_score[1]
    assert p.wallet[0] > p.wallet[1] > 0
    assert p.missing_inputs.tolist() == ["", "", "employees,industry"]
    assert res.manifest["n_prospects"] == 3
    assert res.market_penetration.to_pandas().n_prospects.iloc[0] == 3
    assert any("industry food" in s for s in res.icp_sentences)


def test_icp_ranks_by_profit_when_a_profit_column_is_given():
    df = _customers()
    df["net_profit"] = -df["revenue_12m"]  # the smallest spenders are the most profitable
    res = _run(df, profit_column="net_profit")
    assert res.manifest["icp_ranked_by"] == "net profit"
    assert res.icp_sentences[0].startswith("Top customers are the best 20% by net profit")


@pytest.mark.parametrize("method", ["gbm", "linear", "lookalike"])
def test_customers_without_spend_get_wallets_from_the_buyers_they_resemble(method):
    df = _customers()
    lapsed = np.arange(len(df)) % 2 == 0
    df.loc[lapsed, "revenue_12m"] = 0.0
    only = _run(df, settings={"method": method}).customers.to_pandas()
    everyone = _run(df, settings={"method": method, "fit_on_buyers_only": False})
    every = everyone.customers.to_pandas()
    # half the customers at zero would drag the 90th percentile down to about the 80th
    # percentile of the buyers' spend; fitted on buyers only the wallets stay higher
    assert (only["wallet_model"] >= every["wallet_model"]).mean() > 0.9
    assert np.median(only["wallet_model"] / every["wallet_model"]) > 1.05  # linear: 1.13
    assert np.all(only.loc[lapsed, "wallet"] > 0)
    assert np.all(only.loc[lapsed, "share_of_wallet"] == 0)


# ---- does the wallet tell customers apart -------------------------------------------------


def test_a_wallet_from_firmographics_that_drive_spend_tells_customers_apart():
    res = _run(_customers())
    skill = res.manifest["wallet_skill"]
    # employees drive the planted wallets: the model beats one wallet for all by far
    assert skill["skill"] > 0.2
    assert skill["tells_customers_apart"] and res.tells_customers_apart
    assert skill["constant_pinball_loss_log"] > skill["pinball_loss_log"]
    assert not res.warnings


def test_a_wallet_from_firmographics_unrelated_to_spend_is_said_to_tell_nobody_apart():
    # industry and region drawn apart from spend: the wallet is one figure plus noise, so
    # headroom would only rank customers by how little they buy
    df = _customers()[["customer_id", "industry", "region", "revenue_12m"]]
    res = _run(df, settings={"method": "lookalike"})
    skill = res.manifest["wallet_skill"]
    assert skill["skill"] < 0.05
    assert not skill["tells_customers_apart"] and not res.tells_customers_apart
    (warning,) = res.warnings
    assert "no better than one wallet for all" in warning
    assert "[potential] min_wallet_skill" in warning
    # the setting decides: below any skill seen, the same wallet is accepted
    assert _run(df, settings={"method": "lookalike", "min_wallet_skill": -5}).tells_customers_apart


def test_the_reason_wallets_cannot_be_estimated_names_the_real_cause_and_its_setting():
    from tierwise.potential import no_wallet_reason

    df = _customers()
    s = PotentialSettings(**FAST)
    assert no_wallet_reason(df, s) is None
    # firmographics given, but too few buyers: the reason is the buyers, not the columns
    few = df.head(25).copy()
    few.loc[few.index[:10], "revenue_12m"] = 0.0
    reason = no_wallet_reason(few, s)
    assert reason is not None and reason.startswith("15 customers with spend")
    assert "[potential] min_customers" in reason and "firmographic" not in reason
    with pytest.raises(ModelError, match="15 customers with spend"):
        _run(few)
    assert "no firmographic columns" in str(no_wallet_reason(df[["customer_id", "revenue_12m"]], s))
