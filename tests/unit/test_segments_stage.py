"""The segments stage on small hand-made customer tables: classes, reasons, thin history,
niches, stability, quality tests, determinism and errors."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tierwise.segments import CUSTOMER_COLUMNS, segment_customers
from tierwise.settings.segments import SegmentSettings

QUICK = {"stability_resamples": 0, "niche_max": 1, "currency_symbol": "€"}


def _base() -> pa.Table:
    """Ten established customers: net profit 100..1000, headroom chosen by hand."""
    profit = np.arange(1, 11) * 100.0
    headroom = np.array([9000.0, 50, 60, 70, 80, 8000, 90, 100, 7000, 10])
    revenue = np.full(10, 1000.0)
    return pa.table(
        {
            "customer_id": [f"C{i:02d}" for i in range(10)],
            "net_profit": profit,
            "headroom": headroom,
            "wallet": headroom + revenue,
            "revenue_12m": revenue,
            "status": ["active"] * 10,
            "tenure_days": [900.0] * 10,
            "current_channel": ["field"] * 10,
        }
    )


def _classes(result) -> list[str]:
    return result.customers.column("value_class").to_pylist()


def test_classes_follow_the_quantile_cut_points_and_the_grid() -> None:
    s = SegmentSettings(method="quantiles", quantiles=[0.5, 0.8], **QUICK)
    r = segment_customers(_base(), s, seed=1)
    # value cuts (by hand): 50% of customers below 600, 80% below 900 → levels
    #   100-500 low, 600-800 medium, 900-1000 high
    # headroom sorted: 10 50 60 70 80 90 100 7000 8000 9000 → cuts 90 and 8000:
    #   C00 9000 high, C05 8000 high, C08 7000 medium, C06 90 medium, C07 100 medium; rest low
    assert r.value_cuts is not None and r.value_cuts.thresholds == (600.0, 900.0)
    assert r.potential_cuts is not None and r.potential_cuts.thresholds == (90.0, 8000.0)
    # grid rows high→low value, columns high→low potential: AAA / BCC / BCD
    assert _classes(r) == ["B", "D", "D", "D", "D", "B", "C", "C", "A", "A"]
    assert r.customers.column_names == ["customer_id", *CUSTOMER_COLUMNS]
    assert r.customers.column("tier").to_pylist()[:2] == ["silver", "bronze"]
    reason = r.customers.column("class_reason").to_pylist()
    # C05: 600 is reached by 5 of 10 customers (top 50%), short of the upper cut (900); share
    # 1000 / 9000
    assert reason[5] == (
        "B: top 50% of net profit (€600, below the upper cut of €900), 11% share of a €9k wallet "
        "→ silver: develop"
    )
    assert reason[9].startswith("A: top 10% of net profit (€1k, above the upper cut of €900)")
    # C01 (200): 2 of 10 at or below it; the cut it missed is the lower one
    assert reason[1].startswith("D: bottom 20% of net profit (€200, below the lower cut of €600)")
    assert r.manifest["cut_points"]["value"]["how"].startswith("quantiles: 50% of customers")


def test_prospects_and_new_customers_are_classed_on_potential_alone() -> None:
    base = _base()
    extra = pa.table(
        {
            "customer_id": ["P1", "P2", "N1", "N2", "N3"],
            "net_profit": pa.array([None, None, 5000.0, 50.0, 300.0], pa.float64()),
            # a prospect's headroom may be missing: its whole wallet is to win
            "headroom": pa.array([None, 20.0, 0.0, 20.0, 0.0], pa.float64()),
            "wallet": [9500.0, 20.0, 3000.0, 500.0, 400.0],
            "revenue_12m": pa.array([None, None, 3000.0, 480.0, 400.0], pa.float64()),
            "status": [None, None, "new", "new", "new"],
            "tenure_days": pa.array([None, None, 40.0, 60.0, 50.0], pa.float64()),
            "current_channel": [None, None, "web", "web", "web"],
            "is_prospect": [True, True, False, False, False],
        }
    )
    base = base.append_column("is_prospect", pa.array([False] * 10))
    t = pa.concat_tables([base, extra])
    s = SegmentSettings(method="quantiles", **QUICK)
    r = segment_customers(t, s, seed=1)
    cls = _classes(r)
    # the established customers keep the classes they had without the thin rows
    assert cls[:10] == _classes(segment_customers(_base(), s, seed=1))
    # potential_only: high → B, low → D. N1 (40 days) has no headroom but a net profit of
    # 5,000, above the upper cut (900): the value it shows makes it A, never D. N2 (50) and N3
    # (300) show nothing above the lower cut (600): their low potential decides (D)
    assert cls[10:] == ["B", "D", "A", "D", "D"]
    reason = r.customers.column("class_reason").to_pylist()
    assert reason[10].startswith("B: prospect, classed on potential alone: top 1% of headroom")
    assert reason[12].startswith(
        "A: new customer, classed on the value it shows: top 1% of net profit (€5k, above the "
        "upper cut of €900)"
    )
    # headroom among the 10 established: 20 is above one of them (10), below the lower cut (90)
    assert reason[13].startswith(
        "D: new customer, classed on potential alone: bottom 10% of headroom (€20, below the "
        "lower cut of €90)"
    )
    # no headroom is said as it is, never "top 100%"
    assert reason[14].startswith("D: new customer, classed on potential alone: headroom €0")
    assert r.manifest["thin_history"] == 5
    assert not any("headroom missing" in w for w in r.warnings)
    # thin customers take no part in the cut points
    assert r.value_cuts is not None and r.value_cuts.thresholds == (600.0, 900.0)


def test_unprofitable_hard_to_serve_customers_are_d_and_say_why() -> None:
    t = _base()
    profit = t.column("net_profit").to_numpy().copy()
    profit[0] = -1500.0  # C00: high headroom but losing money
    t = t.set_column(1, "net_profit", pa.array(profit))
    ease = pa.array([10.0] + [60.0] * 9)
    t = t.append_column("ease_score", ease)
    r = segment_customers(t, SegmentSettings(method="quantiles", **QUICK), seed=1)
    assert _classes(r)[0] == "D"
    assert (
        r.customers.column("class_reason")[0]
        .as_py()
        .startswith("D: net profit -€1.5k, hard to serve (ease 10/100) → bronze")
    )
    easy = t.set_column(t.column_names.index("ease_score"), "ease_score", pa.array([90.0] * 10))
    assert (
        _classes(segment_customers(easy, SegmentSettings(method="quantiles", **QUICK), seed=1))[0]
        == "B"
    )  # same figures, easy to serve: high potential → develop


def test_profit_ease_scheme_classes_by_profit_and_ease() -> None:
    t = _base().append_column("ease_score", pa.array([80.0, 20.0] * 5))
    s = SegmentSettings(scheme="profit_ease", method="quantiles", quantiles=[0.5, 0.8], **QUICK)
    r = segment_customers(t, s, seed=1)
    # two profit levels: the cut nearest the bottom (600); ease cut 50
    assert r.value_cuts is not None and r.value_cuts.thresholds == (600.0,)
    expected = ["C", "D", "C", "D", "C", "B", "A", "B", "A", "B"]
    assert _classes(r) == expected
    assert "easy to serve (ease 80/100)" in r.customers.column("class_reason")[6].as_py()
    assert r.manifest["axes"]["ease"] == "ease_score"


def test_a_missing_value_with_sales_is_a_warning_naming_the_setting() -> None:
    t = _base()
    profit = pa.array([None, *range(2, 11)], pa.float64())
    t = t.set_column(1, "net_profit", profit)
    r = segment_customers(t, SegmentSettings(method="quantiles", **QUICK), seed=1)
    assert any("[segments] value_axis" in w and "1 established" in w for w in r.warnings)
    seg = r.tables["segments"].to_pandas().set_index(["level", "segment"])
    # that customer lacks an input it is classed on: its class is not fully measurable
    cls = r.customers.column("value_class")[0].as_py()
    assert seg.loc[("class", cls), "measurable"] < 1.0


def test_no_sales_in_the_period_is_a_value_of_zero_not_a_gap() -> None:
    t = _base()
    t = t.set_column(1, "net_profit", pa.array([None] + [100.0 * i for i in range(2, 11)]))
    rev = np.full(10, 1000.0)
    rev[0] = 0.0
    t = t.set_column(t.column_names.index("revenue_12m"), "revenue_12m", pa.array(rev))
    r = segment_customers(t, SegmentSettings(method="quantiles", **QUICK), seed=1)
    assert not any("value_axis" in w for w in r.warnings)


def test_without_a_potential_figure_the_classes_are_a_value_only_abc() -> None:
    # an invoice-only export: no firmographics, so the potential stage did not run
    base = _base().drop(["headroom", "wallet"])
    prospect = pa.table(
        {
            "customer_id": ["P1"],
            "net_profit": pa.array([None], pa.float64()),
            "revenue_12m": pa.array([None], pa.float64()),
            "status": ["prospect"],
            "tenure_days": pa.array([None], pa.float64()),
            "current_channel": ["field"],
        }
    )
    t = pa.concat_tables([base, prospect])
    s = SegmentSettings(method="quantiles", quantiles=[0.5, 0.8], **QUICK)
    r = segment_customers(t, s, seed=1)
    # value cuts 600 and 900 as in the grid test: low → C, medium → B, high → A; the
    # prospect (no value, no potential) → D
    assert _classes(r) == ["C"] * 5 + ["B"] * 3 + ["A"] * 2 + ["D"]
    assert any("no headroom figure" in w and "[segments] value_only" in w for w in r.warnings)
    assert r.manifest["axes"]["potential"] is None
    reason = r.customers.column("class_reason").to_pylist()
    assert reason[9] == (
        "A: top 10% of net profit (€1k, above the upper cut of €900), potential not estimated "
        "→ gold: protect and grow"
    )
    assert reason[10].startswith("D: no purchases yet, too little history for a value")
    # value_only names the classes by value level
    s2 = SegmentSettings(
        method="quantiles", quantiles=[0.5, 0.8], value_only=["A", "C", "D"], **QUICK
    )
    assert _classes(segment_customers(t, s2, seed=1)) == ["D"] * 5 + ["C"] * 3 + ["A"] * 2 + ["D"]
    with pytest.raises(ValueError, match="value_only: give one class per value level"):
        SegmentSettings(value_only=["A", "B"])


def test_without_costs_the_value_axis_falls_back_to_revenue_and_says_so() -> None:
    t = _base().drop(["net_profit"])
    revenue = np.arange(1, 11) * 1000.0
    t = t.set_column(t.column_names.index("revenue_12m"), "revenue_12m", pa.array(revenue))
    s = SegmentSettings(method="quantiles", quantiles=[0.5, 0.8], **QUICK)
    r = segment_customers(t, s, seed=1)
    assert any(
        "no customer has a net profit figure" in w and "classes are on revenue_12m" in w
        for w in r.warnings
    )
    assert r.manifest["axes"]["value"] == "revenue_12m"
    # the same cut points on revenue as on the profit of the grid test, so the same classes
    assert _classes(r) == ["B", "D", "D", "D", "D", "B", "C", "C", "A", "A"]
    assert r.customers.column("class_reason")[9].as_py().startswith("A: top 10% of revenue")


def test_without_costs_or_history_the_warnings_name_the_figure_the_run_has() -> None:
    """An export of a few weeks without costs: every customer is new (too little history)
    and none has a net profit; the warnings name revenue, not a net profit nobody has."""
    t = _base().drop(["net_profit"])
    t = t.set_column(t.column_names.index("tenure_days"), "tenure_days", pa.array([20.0] * 10))
    t = t.set_column(t.column_names.index("status"), "status", pa.array(["new"] * 10))
    s = SegmentSettings(method="quantiles", quantiles=[0.5, 0.8], **QUICK)
    r = segment_customers(t.drop(["headroom", "wallet"]), s, seed=1)
    assert any("classes are on revenue_12m" in w for w in r.warnings), r.warnings
    assert not any("net_profit alone" in w for w in r.warnings), r.warnings
    assert r.manifest["axes"]["value"] == "revenue_12m"


def _two_groups(n: int = 160) -> pa.Table:
    """All customers of one class (tiny quantile cuts put everyone at the top value level):
    half Hospitality with small orders, half Construction with large orders."""
    rng = np.random.default_rng(3)
    half = n // 2
    aov = np.concatenate([rng.lognormal(4, 0.2, half), rng.lognormal(7, 0.2, half)])
    return pa.table(
        {
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "net_profit": rng.uniform(1000, 1100, n),
            "headroom": rng.uniform(1000, 1100, n),
            "wallet": rng.uniform(3000, 3100, n),
            "revenue_12m": np.full(n, 1500.0),
            "industry": ["Hospitality"] * half + ["Construction"] * half,
            "avg_order_value": aov,
            "current_channel": ["inside"] * n,
        }
    )


def test_niches_find_planted_groups_and_name_them_by_what_sets_them_apart() -> None:
    t = _two_groups()
    s = SegmentSettings(
        method="quantiles", quantiles=[0.001, 0.002], stability_resamples=0, niche_max=4,
        niche_min_customers=20,
    )  # fmt: skip
    r = segment_customers(t, s, seed=4)
    assert set(_classes(r)) == {"A"}
    niche = np.array(r.customers.column("niche").to_pylist())
    names = sorted(set(niche))
    assert len(names) == 2, r.manifest["niches"]["classes"]["A"]
    # each planted group is one niche
    assert len(set(niche[:80])) == 1 and len(set(niche[80:])) == 1
    hosp = niche[0]
    assert "Hospitality" in hosp and "small orders" in hosp
    assert "Construction" in niche[-1] and "large orders" in niche[-1]
    entry = r.manifest["niches"]["classes"]["A"]
    assert entry["k"] == 2
    two = next(c for c in entry["candidates"] if c["k"] == 2)
    assert two["eligible"] and two["min_jaccard"] > 0.9


def test_a_homogeneous_class_stays_one_niche() -> None:
    # one uniform cloud: k-means can always cut it, but no cut pays for itself in BIC
    rng = np.random.default_rng(9)
    n = 200
    t = _two_groups(n).drop(["industry", "avg_order_value"])
    t = t.append_column("avg_order_value", pa.array(rng.lognormal(5, 0.5, n)))
    t = t.append_column("employees", pa.array(rng.lognormal(3, 0.5, n)))
    s = SegmentSettings(method="quantiles", quantiles=[0.001, 0.002], stability_resamples=0)
    r = segment_customers(t, s, seed=4)
    entry = r.manifest["niches"]["classes"]["A"]
    assert entry["k"] == 1, entry
    assert entry["chosen_by"].startswith("one niche")
    assert set(r.customers.column("niche").to_pylist()) == {"A1: Typical of the base"}


def test_customers_of_one_kind_stay_one_niche_without_a_convergence_warning() -> None:
    # every customer alike (a grouped export's few kinds): k-means finds fewer distinct
    # points than niches asked for, which is no news for the user's console
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    n = 200
    t = _two_groups(n).drop(["industry", "avg_order_value"])
    t = t.append_column("avg_order_value", pa.array([50.0] * n))
    t = t.append_column("employees", pa.array([10.0] * n))
    s = SegmentSettings(method="quantiles", quantiles=[0.001, 0.002], stability_resamples=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        r = segment_customers(t, s, seed=4)
    assert r.manifest["niches"]["classes"]["A"]["k"] == 1


def test_classes_far_apart_are_perfectly_stable() -> None:
    # three tight groups of net profit far apart: natural breaks finds them in every resample
    rng = np.random.default_rng(2)
    profit = np.concatenate([rng.uniform(10, 20, 40), rng.uniform(1e4, 1.1e4, 20), [1e6] * 5])
    n = len(profit)
    t = pa.table(
        {
            "customer_id": [f"C{i:03d}" for i in range(n)],
            "net_profit": profit,
            "headroom": np.full(n, 100.0),
            "revenue_12m": np.full(n, 10.0),
        }
    )
    s = SegmentSettings(method="natural_breaks", stability_resamples=30, niche_max=1)
    r = segment_customers(t, s, seed=3)
    stab = r.manifest["stability"]["classes"]
    assert stab["A"]["jaccard"] == 1.0 and stab["A"]["share_kept"] == 1.0
    assert stab["C"]["jaccard"] == 1.0  # medium value, low potential
    assert stab["B"]["jaccard"] is None  # an empty class has no stability
    # nor averages to give or tests to fail in its profile
    seg = r.tables["segments"].to_pandas()
    b = seg[(seg.level == "class") & (seg.segment == "B")].iloc[0]
    assert b.customers == 0 and b.profile.startswith("Class B: no customer in this run.")
    assert "On average" not in b.profile and "Fails" not in b.profile
    # skipped resamples give no figure rather than a made-up one
    r0 = segment_customers(t, SegmentSettings(method="natural_breaks", **QUICK), seed=3)
    assert r0.manifest["stability"]["classes"]["A"]["jaccard"] is None


def test_quality_tests_fail_when_their_floors_are_not_met() -> None:
    t = _base()
    s = SegmentSettings(method="quantiles", **QUICK)
    seg = segment_customers(t, s, seed=1).tables["segments"].to_pandas()
    classes = seg[seg.level == "class"].set_index("segment")
    # 10 customers: every class is below the default 30 customers, but A's two hold 20% of
    # the revenue, above the 1% floor → substantial by value
    assert classes.loc["A", "substantial_pass"]
    assert classes.loc["A", "measurable_pass"] and classes.loc["A", "accessible_pass"]
    assert classes.loc["A", "actionable_pass"]
    # neither 30 customers nor 50% of the revenue or wallet → not substantial
    strict = SegmentSettings(method="quantiles", quality_min_value_share=0.5, **QUICK)
    seg = segment_customers(t, strict, seed=1).tables["segments"].to_pandas()
    classes = seg[seg.level == "class"].set_index("segment")
    assert not classes.loc["A", "substantial_pass"]
    assert "substantial" in classes.loc["A", "failed_tests"]
    assert "Fails the substantial test" in classes.loc["A", "profile"]
    lenient = SegmentSettings(method="quantiles", quality_min_customers=1, **QUICK)
    seg = segment_customers(t, lenient, seed=1).tables["segments"].to_pandas()
    a = seg[(seg.level == "class") & (seg.segment == "A")].iloc[0]
    assert a.substantial_pass and a.quality_pass and a.failed_tests == ""
    # no channel on record → not accessible
    seg = segment_customers(t.drop(["current_channel"]), lenient, seed=1).tables["segments"]
    row = seg.to_pandas().query("level == 'class' and segment == 'A'").iloc[0]
    assert row.accessible == 0.0 and not row.accessible_pass
    # a floor no segment can reach → not differentiable
    far = SegmentSettings(method="quantiles", quality_min_distance=1e6, **QUICK)
    seg = segment_customers(t, far, seed=1).tables["segments"].to_pandas()
    assert not seg[seg.level == "class"].differentiable_pass.any()
    # a class without an action → not actionable
    silent = SegmentSettings(
        method="quantiles", classes={"A": "", "B": "develop", "C": "serve", "D": "web"}, **QUICK
    )
    seg = segment_customers(t, silent, seed=1).tables["segments"].to_pandas()
    assert not seg.query("level == 'class' and segment == 'A'").iloc[0].actionable_pass


def test_segment_rows_add_up_to_the_base_at_every_level() -> None:
    t = _two_groups(200)
    r = segment_customers(t, SegmentSettings(stability_resamples=5), seed=2)
    seg = r.tables["segments"].to_pandas()
    for level in ("class", "tier", "niche"):
        rows = seg[seg.level == level]
        assert rows.customers.sum() == t.num_rows, level
        assert rows.share_customers.sum() == pytest.approx(1.0), level
        assert rows.revenue_12m.sum() == pytest.approx(pc.sum(t.column("revenue_12m")).as_py())
    json.dumps(r.manifest)  # the manifest block is plain JSON


def test_same_seed_gives_the_same_result() -> None:
    t = _two_groups(200)
    s = SegmentSettings(stability_resamples=10, niche_max=3)
    a = segment_customers(t, s, seed=11)
    b = segment_customers(t, s, seed=11)
    assert a.customers.equals(b.customers)
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name
    assert json.dumps(a.manifest, sort_keys=True) == json.dumps(b.manifest, sort_keys=True)


def test_reason_ranks_among_the_customers_the_cut_was_found_on_and_names_the_cut() -> None:
    """Ten customers losing money and ten earning it: the value cuts are found on the ten
    with a positive profit, so a rank must be among those ten too."""
    profit = np.r_[-np.arange(10, 0, -1) * 100.0, np.arange(1, 11) * 100.0]
    n = len(profit)
    # the losing ten have medium to high headroom; the earning ten little, but C17 (800)
    headroom = np.r_[2000.0 + 100 * np.arange(10), np.arange(1.0, 11.0)]
    headroom[17] = 50_000.0
    t = pa.table(
        {
            "customer_id": [f"C{i:02d}" for i in range(n)],
            "net_profit": profit,
            "headroom": headroom,
            "wallet": headroom + 1000.0,
            "revenue_12m": np.full(n, 1000.0),
            "status": ["active"] * 12 + ["at_risk"] + ["active"] * 7,
            "tenure_days": np.full(n, 900.0),
        }
    )
    s = SegmentSettings(method="quantiles", quantiles=[0.5, 0.8], **QUICK)
    r = segment_customers(t, s, seed=1)
    # by hand, on 100..1000: 5 of 10 below 600, 8 of 10 below 900 → cuts 600 and 900
    assert r.value_cuts is not None and r.value_cuts.thresholds == (600.0, 900.0)
    reason = r.customers.column("class_reason").to_pylist()
    cls = _classes(r)
    # C12: 300 with low potential is D. Among the 20 it would be "top 40%"; among the ten the
    # cut was found on, 3 of 10 are at or below it: bottom 30%, short of the lower cut
    assert cls[12] == "D"
    assert reason[12] == (
        "D: bottom 30% of net profit (€300, below the lower cut of €600, at risk), 100% share of a "
        "€1k wallet → bronze: serve at the lowest cost"
    )
    # C16: 700 reached by 4 of 10 (top 40%), between the cuts: C with low potential
    assert cls[16] == "C"
    assert reason[16].startswith("C: top 40% of net profit (€700, below the upper cut of €900)")
    # C17: same value level, high potential → B, and the reason names the cut it missed
    assert cls[17] == "B"
    assert reason[17].startswith("B: top 30% of net profit (€800, below the upper cut of €900)")
    # C19: the top customer, above the upper cut
    assert reason[19].startswith("A: top 10% of net profit (€1k, above the upper cut of €900)")
    # C10: the lowest positive figure is the bottom 10%, not the "top 100%"
    assert reason[10].startswith("D: bottom 10% of net profit (€100, below the lower cut of €600)")
    # a loss is given as it is, without a rank
    assert reason[0].startswith("D: net profit -€1k, ")
    assert not any("top 100%" in x for x in reason)


def test_a_small_class_holding_much_of_the_revenue_is_substantial() -> None:
    """Substantial is size or value: 20 key accounts with 48% of the revenue are worth a
    programme although they are fewer than quality_min_customers (30); 80 customers with
    little revenue each are substantial by their number."""
    n = 100
    top = np.arange(n) >= 80
    revenue = np.where(top, 2400.0, 650.0)  # 20 x 2,400 = 48,000 of 100,000
    t = pa.table(
        {
            "customer_id": [f"C{i:03d}" for i in range(n)],
            "net_profit": np.arange(1, n + 1) * 10.0,
            "headroom": np.full(n, 100.0),
            "wallet": revenue + 100.0,
            "revenue_12m": revenue,
            "current_channel": ["field"] * n,
        }
    )
    s = SegmentSettings(method="quantiles", quantiles=[0.5, 0.8], **QUICK)
    seg = segment_customers(t, s, seed=1).tables["segments"].to_pandas()
    a = seg.query("level == 'class' and segment == 'A'").iloc[0]
    assert a.customers == 20 and a.share_revenue == pytest.approx(0.48)
    assert a.substantial_pass and "substantial" not in a.failed_tests
    # the same class against a value floor above its share fails: both ways are needed
    s = s.model_copy(update={"quality_min_value_share": 0.6})
    seg = segment_customers(t, s, seed=1).tables["segments"].to_pandas()
    rows = seg[seg.level == "class"].set_index("segment")
    assert not rows.loc["A", "substantial_pass"]
    big = rows[rows.customers >= 30]
    assert len(big) and big.substantial_pass.all()  # by their number alone


def test_niche_names_are_unique_across_classes() -> None:
    """Two one-niche classes both made of large companies read "Large companies" against
    the base; each takes its next distinguishing feature until they differ."""
    rng = np.random.default_rng(5)
    m = 30  # small customers with little profit and headroom: the base is mostly small
    extra = pa.table(
        {
            "customer_id": [f"S{i:02d}" for i in range(m)],
            "net_profit": np.full(m, 50.0),
            "headroom": np.full(m, 20.0),
            "wallet": np.full(m, 1020.0),
            "revenue_12m": np.full(m, 1000.0),
            "status": ["active"] * m,
            "tenure_days": np.full(m, 900.0),
            "current_channel": ["field"] * m,
        }
    )
    t = pa.concat_tables([_base(), extra])
    employees = np.r_[[500.0, 5, 5, 5, 5, 500, 500, 500, 500, 500], np.full(m, 5.0)]
    visits = np.r_[[5.0, 10, 10, 10, 10, 5, 10, 10, 20, 20], rng.integers(7, 14, m)]
    t = t.append_column("employees", pa.array(employees))
    t = t.append_column("n_visits", pa.array(visits.astype(float)))
    s = SegmentSettings(
        method="quantiles", niche_features=["employees", "n_visits"], niche_name_features=1,
        **QUICK,
    )  # fmt: skip
    r = segment_customers(t, s, seed=1)
    names = sorted(set(r.customers.column("niche").to_pylist()))
    # with one feature each, A1 and B1 were both "Large companies"
    assert names == [
        "A1: Large companies, many visits",
        "B1: Large companies, few visits",
        "C1: Small companies",
    ]
    words = [n.split(": ", 1)[1].lower() for n in names]
    assert len(set(words)) == len(words)
    # every niche of the run, the empty class D's included, has a name of its own
    listed = [x for c in r.manifest["niches"]["classes"].values() for x in c["niches"]]
    assert set(names) <= set(listed)
    words = [n.split(": ", 1)[1].lower() for n in listed]
    assert len(set(words)) == len(words), listed


def test_a_figure_tied_with_many_at_the_top_reads_from_the_top() -> None:
    from tierwise.segments.stage import _rank_text

    # 7 of 13 customers tied at the top figure: they are the top 54%, not the bottom 100%
    ranked = np.array([6e6] * 7 + [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    got = _rank_text(np.array([6e6, 1.0]), ranked, "net profit").to_pylist()
    assert got == ["top 54% of net profit", "bottom 8% of net profit"]


def _short_export(n: int = 40) -> pa.Table:
    """A four-month export: every customer has under 180 days of history. Net profit
    rises with the row; the wallet is each customer's spend (no headroom anywhere), as the
    potential stage gives when its model is below everyone's spend."""
    profit = np.arange(1, n + 1) ** 2 * 10.0
    revenue = profit * 3
    return pa.table(
        {
            "customer_id": [f"C{i:02d}" for i in range(n)],
            "net_profit": profit,
            "headroom": np.zeros(n),
            "wallet": revenue,
            "revenue_12m": revenue,
            "status": ["active"] * n,
            "tenure_days": np.full(n, 120.0),
            "current_channel": ["field"] * n,
        }
    )


def test_in_a_short_export_the_largest_customers_are_classed_on_the_value_they_show() -> None:
    t = _short_export()
    s = SegmentSettings(method="quantiles", quantiles=[0.5, 0.8], **QUICK)
    r = segment_customers(t, s, seed=1)
    cls = _classes(r)
    # the cut points come from the 40 customers themselves: C20 is the first with 50% of
    # them below it, C32 with 80%
    assert r.value_cuts is not None and r.value_cuts.thresholds == (4410.0, 10890.0)
    # the top 20% are A on their value, never D for lack of headroom
    assert cls[32:] == ["A"] * 8
    assert "D" not in cls[20:]
    reason = r.customers.column("class_reason").to_pylist()
    assert reason[39].startswith(
        "A: 120 days of history, classed on the value it shows: top 3% of net profit"
    )
    (note,) = [w for w in r.warnings if "min_cut_customers" in w]
    assert note.startswith("no established customer has a positive net profit: 40 of 40")
    assert "[segments] min_history_days = 180" in note
    # with established customers enough to cut on, thin ones take no part in the cuts: on
    # C00-C29, C15 and C24
    mixed = t.set_column(
        t.column_names.index("tenure_days"),
        "tenure_days",
        pa.array(np.r_[np.full(30, 900.0), np.full(10, 120.0)]),
    )
    r2 = segment_customers(mixed, s, seed=1)
    assert r2.value_cuts is not None and r2.value_cuts.thresholds == (2560.0, 6250.0)
    assert not any("min_cut_customers" in w for w in r2.warnings)


def test_a_wallet_that_tells_nobody_apart_builds_no_develop_class() -> None:
    # headroom is one wallet minus each customer's spend: the smallest buyers have the most
    n = 30
    profit = np.arange(1, n + 1) * 100.0
    revenue = profit * 4
    t = pa.table(
        {
            "customer_id": [f"C{i:02d}" for i in range(n)],
            "net_profit": profit,
            "wallet": np.full(n, 20_000.0),
            "headroom": 20_000.0 - revenue,
            "revenue_12m": revenue,
            "tenure_days": np.full(n, 900.0),
            "current_channel": ["field"] * n,
        }
    )
    s = SegmentSettings(method="quantiles", quantiles=[0.5, 0.8], **QUICK)
    # on the wallet, B ("develop") is the smallest buyers
    assert set(_classes(segment_customers(t, s, seed=1))[:5]) == {"B"}
    issue = "the wallet tells customers apart no better than one wallet for all (skill 0.01)"
    r = segment_customers(t, s, seed=1, potential_issue=issue)
    cls = _classes(r)
    assert cls == ["C"] * 15 + ["B"] * 9 + ["A"] * 6
    (note,) = [w for w in r.warnings if issue in w]
    assert note.startswith("headroom is not used for the classes: ")
    assert r.manifest["axes"]["potential"] is None
    assert r.manifest["value_only_reason"] == issue
    assert (
        r.customers.column("class_reason")[0]
        .as_py()
        .endswith(", potential not used → bronze: serve efficiently")
    )


def test_without_potential_the_warning_gives_the_reason_it_did_not_run() -> None:
    t = _base().drop(["headroom", "wallet"])
    why = "the potential stage did not run: 28 customers with spend are too few"
    r = segment_customers(t, SegmentSettings(**QUICK), seed=1, potential_issue=why)
    (note,) = [w for w in r.warnings if "no headroom figure" in w]
    assert why in note and "firmographics" not in note
    assert "potential not estimated" in r.customers.column("class_reason")[0].as_py()


def test_a_profile_without_wallets_says_so_and_counts_in_the_singular() -> None:
    t = _base().drop(["headroom", "wallet"])
    s = SegmentSettings(method="quantiles", quantiles=[0.5, 0.9], **QUICK)
    seg = segment_customers(t, s, seed=1).tables["segments"].to_pandas()
    a = seg.query("level == 'class' and segment == 'A'").iloc[0]
    assert a.customers == 1
    assert a.profile.startswith("Class A: 1 customer (10% of the base) with 10% of revenue and ")
    assert "wallet not estimated" in a.profile and "wallet €0" not in a.profile
    assert seg.wallet.isna().all() and seg.avg_wallet.isna().all()
    # with wallets, the profile gives them
    seg = segment_customers(_base(), s, seed=1).tables["segments"].to_pandas()
    b = seg.query("level == 'class' and segment == 'B'").iloc[0]
    assert ", wallet €" in b.profile and "wallet not estimated" not in b.profile


def test_a_visited_class_of_one_off_buyers_is_a_warning() -> None:
    t = _base().append_column("n_orders", pa.array([1] * 9 + [4]))
    t = t.append_column("p_alive", pa.array([0.3] * 10))
    t = t.set_column(
        t.column_names.index("status"), "status", pa.array(["at_risk"] * 9 + ["active"])
    )
    s = SegmentSettings(method="quantiles", quantiles=[0.5, 0.8], **QUICK)
    r = segment_customers(t, s, seed=1)
    (note,) = [w for w in r.warnings if "bought only once" in w]
    # A is C08 (one order, at risk) and C09 (four orders): half of A bought once
    assert "1 of the 2 established customers of class A (gold: protect and grow)" in note
    assert "1 of them at risk" in note and "P(alive) as low as 0.30" in note
    assert "[segments] single_order_share" in note
    # repeat buyers: nothing to say
    repeat = t.set_column(t.column_names.index("n_orders"), "n_orders", pa.array([3] * 10))
    assert not any("bought only once" in w for w in segment_customers(repeat, s, seed=1).warnings)


def test_the_run_passes_the_potential_stages_verdict_and_its_real_cause_to_the_classes() -> None:
    from types import SimpleNamespace

    from tierwise.potential import PotentialResult
    from tierwise.segments._declare import _potential_issue
    from tierwise.settings import Settings

    settings = Settings()
    firmo = pa.table(
        {
            "customer_id": [f"C{i}" for i in range(28)],
            "industry": ["food", "metal"] * 14,
            "region": ["N"] * 28,
            "revenue_12m": np.full(28, 100.0),
            "is_prospect": [False] * 28,
        }
    )

    def ctx(detail: object) -> SimpleNamespace:
        return SimpleNamespace(settings=settings, detail=lambda stage: detail)

    # skipped for too few customers: the firmographics were given, so the cause is the count
    issue = _potential_issue(ctx(None), firmo)  # type: ignore[arg-type]
    assert issue is not None and "28 customers are too few" in issue
    assert "[potential] min_customers" in issue
    # skipped for want of firmographics: the cause names the columns
    issue = _potential_issue(ctx(None), firmo.drop(["industry", "region"]))  # type: ignore[arg-type]
    assert issue is not None and "no firmographic columns" in issue

    def result(apart: bool) -> PotentialResult:
        block = {"skill": 0.01, "min_wallet_skill": 0.05, "tells_customers_apart": apart}
        empty = pa.table({"x": [1]})
        return PotentialResult(empty, empty, empty, [], empty, {"wallet_skill": block})

    issue = _potential_issue(ctx(result(False)), firmo)  # type: ignore[arg-type]
    assert issue is not None and "skill 0.01" in issue and "min_wallet_skill" in issue
    assert _potential_issue(ctx(result(True)), firmo) is None  # type: ignore[arg-type]


def test_a_figure_and_its_cut_never_read_as_the_same_amount() -> None:
    """A value of 11,472 above a cut of 10,840 both round to 11k: the reason writes them
    with the digits that tell them apart, not "(€11k, above the upper cut of €11k)"."""
    t = _base().set_column(1, "net_profit", pa.array(np.arange(1, 11) * 1000.0 + 10_000))
    s = SegmentSettings(method="quantiles", quantiles=[0.5, 0.8], **QUICK)
    r = segment_customers(t, s, seed=1)
    # cuts by hand on 11,000..20,000: 50% below 16,000, 80% below 19,000
    assert r.value_cuts is not None and r.value_cuts.thresholds == (16_000.0, 19_000.0)
    reason = r.customers.column("class_reason").to_pylist()
    assert "(€19k, at the upper cut of €19k)" in reason[8]
    assert "(€20k, above the upper cut of €19k)" in reason[9]
    t = t.set_column(1, "net_profit", pa.array([*(np.arange(1, 10) * 1000.0 + 10_000), 19_400.0]))
    reason = segment_customers(t, s, seed=1).customers.column("class_reason").to_pylist()
    assert "(€19.4k, above the upper cut of €19k)" in reason[9]
    assert not any(x.count("€19k") == 2 and "at the" not in x for x in reason)


def test_four_classes_renamed_class_every_customer_as_the_built_in_ones_of_their_place() -> None:
    from tierwise.settings import Settings

    built = segment_customers(_base(), SegmentSettings(method="quantiles", **QUICK), seed=1)
    classes = {"Key": "protect", "Grow": "develop", "Core": "serve", "Tail": "web only"}
    seg = Settings().with_updates(segments={"classes": classes, "method": "quantiles", **QUICK})
    renamed = segment_customers(_base(), seg.segments, seed=1)
    place = dict(zip("ABCD", classes, strict=True))
    assert _classes(renamed) == [place[c] for c in _classes(built)]
    assert renamed.customers.column("tier") == built.customers.column("tier")
    (note,) = [w for w in renamed.warnings if "by place" in w]
    assert "A → Key, B → Grow, C → Core, D → Tail" in note
    assert not [w for w in built.warnings if "by place" in w]


def test_renamed_classes_with_every_class_table_given_get_no_note_on_the_built_in_ones() -> None:
    from tierwise.settings import Settings

    own = {
        "classes": {"Key": "protect", "Grow": "develop", "Core": "serve", "Tail": "web only"},
        "grid": [["Key", "Key", "Grow"], ["Grow", "Core", "Core"], ["Grow", "Core", "Tail"]],
        "ease_grid": [["Key", "Key"], ["Core", "Tail"]],
        "potential_only": ["Grow", "Grow", "Tail"],
        "hard_to_serve_class": "Tail",
        "tiers": {"Key": "gold", "Grow": "gold", "Core": "silver", "Tail": "bronze"},
        "method": "quantiles",
        **QUICK,
    }
    r = segment_customers(_base(), Settings().with_updates(segments=own).segments, seed=1)
    assert not [w for w in r.warnings if "by place" in w]
    assert set(_classes(r)) <= set(own["classes"])
