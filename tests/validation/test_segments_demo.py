"""Segments on the demo data against its planted truth.

The demo generator (``tierwise.demo``) plants each company's wallet and share of wallet
(truth.parquet: ``true_wallet``, ``true_share_of_wallet``) and "looks good, costs too much"
customers (``costly``), drawn among the companies in the lower 60% of wallets. The whole
pipeline runs on the demo files (2,500 customer records, seed 42), prospects are added to the
customer table from the run's prospects.parquet (wallet estimates) and the demo's prospect
master, and the segments stage runs with the default settings.

Floors are the issue's acceptance figures; each comment gives what was measured on seed 42
(2,345 accounts, 500 prospects).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pytest

from tierwise.demo import generate
from tierwise.io.demo_files import write_demo
from tierwise.pipeline import run_pipeline
from tierwise.segments import segment_customers
from tierwise.settings import INPUT_TABLES, Settings
from tierwise.settings.segments import SegmentSettings

SEED = 42


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = generate(n_customers=2500, seed=SEED)
    folder = tmp_path_factory.mktemp("segments_demo")
    paths = write_demo(data, folder / "data")
    inputs = {k: str(v) for k, v in paths.items() if k in INPUT_TABLES}
    now = run_pipeline(inputs, Settings(), out_dir=folder / "now", as_of=data.end_date)
    # the run's customer table holds the accounts and the prospects (is_prospect)
    table = now.customers
    result = now.results["segments"].detail
    # a year earlier, for the yearly review; it checks classes and their migration only: no
    # resamples or niches needed
    then_date = data.end_date - dt.timedelta(days=365)
    quick = SegmentSettings(stability_resamples=0, niche_max=1)
    quick_run = Settings().with_updates(segments={"stability_resamples": 0, "niche_max": 1})
    then = run_pipeline(inputs, quick_run, out_dir=folder / "then", as_of=then_date)
    previous = then.customers
    review = segment_customers(table, quick, seed=SEED, previous=previous, previous_source="then")
    truth = data.truth.to_pandas()
    frame = (
        result.customers.to_pandas()
        .merge(table.select(["customer_id", "is_prospect"]).to_pandas(), on="customer_id")
        .merge(truth, on=["customer_id", "is_prospect"], how="left")
    )
    return {
        "result": result,
        "frame": frame,
        "table": table,
        "previous": previous,
        "review": review,
    }


def test_every_account_and_prospect_has_its_truth(demo: dict[str, Any]) -> None:
    f = demo["frame"]
    assert f.true_wallet.notna().all()
    assert f.is_prospect.sum() > 0


def test_top_true_headroom_customers_are_a_or_b(demo: dict[str, Any]) -> None:
    f = demo["frame"]
    accounts = f[~f.is_prospect]
    headroom = accounts.true_wallet * (1 - accounts.true_share_of_wallet)
    top = accounts[headroom >= headroom.quantile(0.9)]
    share = top.value_class.isin(["A", "B"]).mean()
    # issue floor 70%; measured 81% (235 customers; a random pick would give the A+B share
    # of the base, 28%)
    assert share >= 0.70, top.value_class.value_counts().to_dict()
    base_share = accounts.value_class.isin(["A", "B"]).mean()
    assert share > 2 * base_share


def test_costly_low_wallet_customers_are_c_or_d(demo: dict[str, Any]) -> None:
    f = demo["frame"]
    accounts = f[~f.is_prospect]
    low_wallet = accounts.true_wallet <= accounts.true_wallet.median()
    costly = accounts[accounts.costly.astype(bool) & low_wallet]
    share = costly.value_class.isin(["C", "D"]).mean()
    # issue floor 70%; measured 99% (117 customers)
    assert len(costly) >= 30
    assert share >= 0.70, costly.value_class.value_counts().to_dict()


def test_classes_a_and_b_are_stable(demo: dict[str, Any]) -> None:
    stab = demo["result"].manifest["stability"]
    assert stab["resamples"] == 50
    # Hennig's reading: 0.75 and above is stable; measured A 0.96, B 0.96
    assert stab["classes"]["A"]["jaccard"] >= 0.75
    assert stab["classes"]["B"]["jaccard"] >= 0.75
    assert stab["classes"]["A"]["stable"] and stab["classes"]["B"]["stable"]


def test_prospects_are_classed_on_potential_by_their_planted_wallets(demo: dict[str, Any]) -> None:
    f = demo["frame"]
    pros = f[f.is_prospect]
    assert pros.class_reason.str.contains("prospect, classed on potential alone").all()
    assert set(pros.value_class) <= {"B", "C", "D"}  # potential_only
    # the classes order the prospects by their true wallets: measured medians B 96k,
    # C 44k, D 13k (140, 78 and 282 prospects)
    med = pros.groupby("value_class").true_wallet.median()
    assert med["B"] > med["C"] > med["D"]


def test_the_segments_table_describes_every_class_tier_and_niche(demo: dict[str, Any]) -> None:
    seg = demo["result"].tables["segments"].to_pandas()
    n = len(demo["frame"])
    for level in ("class", "tier", "niche"):
        assert seg[seg.level == level].customers.sum() == n
    classes = seg[seg.level == "class"].set_index("segment")
    # A holds most of the net profit on a small share of the customers
    assert classes.loc["A", "share_net_profit"] > 0.5
    assert classes.loc["A", "share_customers"] < 0.15
    assert classes.actionable_pass.all()
    assert seg.profile.str.len().gt(50).all()


def test_the_migration_reconciles_with_both_runs(demo: dict[str, Any]) -> None:
    review = demo["review"]
    m = review.tables["migration"].to_pandas()
    prev = demo["previous"].column("value_class").to_pylist()
    now = review.customers.column("value_class").to_pylist()
    rows = m.groupby("from_class").customers.sum()
    cols = m.groupby("to_class").customers.sum()
    for cls in "ABCD":
        assert rows.get(cls, 0) == prev.count(cls)
        assert cols.get(cls, 0) == now.count(cls)
    assert rows.get("(new)", 0) + sum(prev.count(c) for c in "ABCD") - cols.get("(gone)", 0) == (
        len(now)
    )
    prev_rev = pc.sum(demo["previous"].column("revenue_12m")).as_py()
    assert m.revenue_then.sum() == pytest.approx(prev_rev)
    assert review.manifest["review"]["reconciles"]
    movers = review.tables["class_movers"].to_pandas()
    assert set(movers.main_reason) <= {"value", "potential", "status", "override", "cut points"}
    changes = pd.Series(review.customers.column("class_change").to_pylist()).value_counts()
    assert changes.get("up", 0) + changes.get("down", 0) == len(movers)
    goals = review.tables["class_goals"].to_pandas()
    assert goals.basis.str.startswith("rates seen last year").all()
    assert np.isfinite(goals.retention_rate).all()
