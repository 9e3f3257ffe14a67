"""Next best products, look-alike groups and up-sell leads on small hand-checked cases.

The checks run on DuckDB. On Spark too run the comparison with DuckDB
(:func:`test_recommendations_are_the_same_on_spark`), the whole stage a range of customers
at a time, the sums in 18 digits and the text held encoded: what the engine's own types and
partitions could change.
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tierwise.crosssell import CROSS_SELL_COLUMNS, next_best_products, peer_groups, recommend
from tierwise.engine import Engine
from tierwise.settings.crosssell import CrossSellSettings

DAY = dt.date(2024, 6, 30)
#: the module (the package's ``recommend`` is the function of that name)
recommend_module = importlib.import_module("tierwise.crosssell.recommend")

#: the recommendations are one set of Ibis queries on either engine: the hand-checked cases
#: run on DuckDB, and the tests marked ``ON_BOTH`` on Spark as well
pytestmark = pytest.mark.engines(
    "duckdb", reason="test_recommendations_are_the_same_on_spark compares Spark with DuckDB"
)
ON_BOTH = pytest.mark.engines(
    "duckdb", "spark", reason="the engine's decimal, text and partition types reach the result"
)
#: lookback 24 months: a year's spend is half the revenue of the lines
S = CrossSellSettings(min_peers=3, fallback_peer_columns=["industry"])


def _tx(rows: list[tuple[str, str, str, float]], *, category: str | None = None) -> pa.Table:
    """Lines (customer, order, product, revenue), cost 60% of revenue, all on DAY."""
    n = len(rows)
    return pa.table(
        {
            "customer_id": [r[0] for r in rows],
            "date": [DAY] * n,
            "revenue": [r[3] for r in rows],
            "order_id": [r[1] for r in rows],
            "product_id": [r[2] for r in rows],
            "product_category": [category or f"cat_{r[2]}" for r in rows],
            "quantity": [1.0] * n,
            "cost": [0.6 * r[3] for r in rows],
            "is_return": [False] * n,
            "is_cancel": [False] * n,
        }
    )


TEA_CUP = _tx(
    [
        ("a", "1", "tea", 10.0),
        ("a", "1", "cup", 10.0),
        ("b", "2", "tea", 10.0),
        ("b", "2", "cup", 20.0),
        ("c", "3", "tea", 10.0),
        ("c", "3", "cup", 30.0),
        ("c", "3", "spoon", 10.0),
        ("d", "4", "tea", 10.0),
        ("e", "5", "spoon", 10.0),
    ]
)
CUSTOMERS = pa.table({"customer_id": list("abcde"), "industry": ["x"] * 5})
RULES = pa.table(
    {
        "level": ["product"],
        "antecedent": ["tea"],
        "consequent": ["cup"],
        "confidence": [0.6],
        "lift": [2.0],
    }
)


def _by(rec: pa.Table) -> dict[tuple[str, str], dict]:
    return {(r["customer_id"], r["item"]): r for r in rec.to_pylist()}


def test_scores_peers_and_rules_by_hand(engine: Engine) -> None:
    rec = recommend(
        engine.from_arrow(TEA_CUP), CUSTOMERS, RULES, S, as_of=DAY, engine=engine
    ).cross_sell
    assert tuple(rec.column_names) == CROSS_SELL_COLUMNS
    got = _by(rec)
    cup = got[("d", "cup")]
    # peers of d: a, b, c, e (4); 3 of them buy cups; the rule tea → cup has confidence 0.6
    assert cup["peer_share"] == 0.75
    assert cup["n_peers"] == 4
    assert cup["score"] == pytest.approx(1 - 0.25 * 0.4)
    # cup buyers spend 10, 20, 30 over 24 months: 5, 10, 15 a year (median 10); margin 40%
    assert cup["typical_spend"] == pytest.approx(10.0)
    assert cup["margin_rate"] == pytest.approx(0.4)
    assert cup["expected_value"] == pytest.approx(0.9 * 10.0 * 0.4)
    assert cup["source"] == "peers and rule"
    assert cup["rank"] == 1
    assert cup["reason"] == (
        "75% of 4 look-alikes (x) buy cup (cat_cup); "
        "buys tea (cat_tea), not cup (cat_cup): 60% of orders with tea also hold cup"
    )
    spoon = got[("d", "spoon")]
    assert (spoon["peer_share"], spoon["rank"], spoon["source"]) == (0.5, 2, "peers")
    assert spoon["rule_confidence"] is None


def test_never_recommends_what_a_customer_owns(engine: Engine) -> None:
    rec = recommend(
        engine.from_arrow(TEA_CUP), CUSTOMERS, RULES, S, as_of=DAY, engine=engine
    ).cross_sell
    owned = {
        (r[0], r[2])
        for r in zip(
            *TEA_CUP.select(["customer_id", "order_id", "product_id"]).to_pydict().values(),
            strict=True,
        )
    }
    assert owned.isdisjoint(set(_by(rec)))
    # c owns every product: nothing to recommend
    assert "c" not in set(rec.column("customer_id").to_pylist())
    # e owns the spoon: tea (4 of 4 peers) before cup (3 of 4)
    e = [r for r in rec.to_pylist() if r["customer_id"] == "e"]
    assert [(r["item"], r["peer_share"]) for r in e] == [("tea", 1.0), ("cup", 0.75)]


def test_rule_alone_proposes_an_item_no_peer_buys(engine: Engine) -> None:
    rules = pa.table(
        {"antecedent": ["spoon"], "consequent": ["saucer"], "confidence": [0.3], "lift": [5.0]}
    )
    # a saucer bought by a customer outside the peers' industry
    tx = pa.concat_tables([TEA_CUP, _tx([("z", "9", "saucer", 8.0)])])
    cust = pa.concat_tables([CUSTOMERS, pa.table({"customer_id": ["z"], "industry": ["y"]})])
    rec = recommend(engine.from_arrow(tx), cust, rules, S, as_of=DAY, engine=engine).cross_sell
    saucer = _by(rec)[("e", "saucer")]
    assert (saucer["peer_share"], saucer["source"]) == (0.0, "rule")
    assert saucer["score"] == pytest.approx(0.3)
    # no peer buys it: the typical spend is all buyers' (z: 8 over 24 months)
    assert saucer["typical_spend"] == pytest.approx(4.0)
    assert saucer["reason"] == (
        "buys spoon (cat_spoon), not saucer (cat_saucer): 30% of orders with spoon also hold saucer"
    )


def test_list_length_and_order_follow_the_settings(engine: Engine) -> None:
    rows = []
    for i in range(8):  # customers 0..7 buy products p0..p(i): p0 is the most bought
        rows += [(f"k{i}", f"o{i}", f"p{j}", 10.0) for j in range(i + 1)]
    rows.append(("new", "o99", "p7", 10.0))
    cust = pa.table({"customer_id": [f"k{i}" for i in range(8)] + ["new"], "industry": ["x"] * 9})
    s = S.model_copy(update={"max_recommendations": 3, "crm_top_n": 2})
    res = next_best_products(
        engine.from_arrow(_tx(rows)), cust, None, s, as_of=DAY, seed=0, engine=engine
    )
    new = [r for r in res.tables["cross_sell"].to_pylist() if r["customer_id"] == "new"]
    assert [r["item"] for r in new] == ["p0", "p1", "p2"]
    assert [r["rank"] for r in new] == [1, 2, 3]
    row = res.customers.to_pylist()[-1]
    assert row["next_best_products"] == "p0 (cat_p0); p1 (cat_p1)"
    # the value of the top 2
    assert row["cross_sell_value"] == pytest.approx(sum(r["expected_value"] for r in new[:2]))
    assert res.customers.column("customer_id").to_pylist() == cust.column("customer_id").to_pylist()


def test_prospects_get_recommendations_only_when_asked(engine: Engine) -> None:
    cust = pa.concat_tables(
        [
            CUSTOMERS.append_column("is_prospect", pa.array([False] * 5)),
            pa.table({"customer_id": ["p"], "industry": ["x"], "is_prospect": [True]}),
        ]
    )
    tx = engine.from_arrow(TEA_CUP)
    off = recommend(tx, cust, None, S, as_of=DAY, engine=engine).cross_sell
    assert "p" not in set(off.column("customer_id").to_pylist())
    on = recommend(
        tx, cust, None, S.model_copy(update={"include_prospects": True}), as_of=DAY, engine=engine
    )
    p = [r for r in on.cross_sell.to_pylist() if r["customer_id"] == "p"]
    # a prospect owns nothing: all 5 buyers are its peers; tea is bought by 4 of them
    assert next((r["item"], r["peer_share"], r["n_peers"]) for r in p) == ("tea", 0.8, 5)


def test_lines_after_the_analysis_date_are_ignored(engine: Engine) -> None:
    later = _tx([("d", "6", "cup", 10.0)]).set_column(
        1, "date", pa.array([DAY + dt.timedelta(days=1)])
    )
    tx = engine.from_arrow(pa.concat_tables([TEA_CUP, later]))
    rec = recommend(tx, CUSTOMERS, None, S, as_of=DAY, engine=engine).cross_sell
    assert ("d", "cup") in _by(rec)


def test_peer_groups_fall_back_to_coarser_groups() -> None:
    cust = pa.table(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "industry": ["x", "x", "x", "x", "y", None],
            "employees": [5.0, 5.0, 5.0, 500.0, 5.0, 5.0],
        }
    )
    s = CrossSellSettings(min_peers=3, fallback_peer_columns=["industry", "size_band"])
    g = peer_groups(cust, cust.column("customer_id"), s)
    got = g.assigned.to_pydict()
    # a, b, c: three small x companies; d is alone in its band, e alone in y, f has no
    # industry: d falls back to industry x (4 buyers), e and f to all customers (6)
    assert got["peer_level"] == [2, 2, 2, 1, 0, 0]
    assert got["peer_label"][:4] == ["x · up to 10 staff"] * 3 + ["x"]
    assert got["n_peers"] == [2, 2, 2, 3, 5, 5]
    assert g.columns == ["industry", "size_band"]


def test_segment_columns_come_before_firmographics() -> None:
    cust = pa.table(
        {
            "customer_id": list("abcd"),
            "value_class": ["A", "A", "A", "B"],
            "industry": ["x"] * 4,
        }
    )
    g = peer_groups(cust, cust.column("customer_id"), CrossSellSettings(min_peers=3))
    assert g.columns == ["value_class"]  # niche absent: skipped
    assert g.assigned.column("peer_label").to_pylist() == ["A", "A", "A", "all customers"]


def test_up_sell_by_spend_and_by_price(engine: Engine) -> None:
    def line(c: str, rev: float, qty: float) -> dict:
        return {
            "customer_id": c,
            "date": DAY,
            "revenue": rev,
            "order_id": c,
            "product_id": f"sku_{c}",
            "product_category": "k",
            "quantity": qty,
            "cost": rev / 2,
            "is_return": False,
            "is_cancel": False,
        }

    rows = [
        line("p1", 100, 10),
        line("p2", 200, 20),
        line("p3", 300, 30),
        line("p4", 40, 4),
        line("p5", 150, 30),
    ]
    tx = engine.from_arrow(pa.Table.from_pylist(rows))
    cust = pa.table({"customer_id": ["p1", "p2", "p3", "p4", "p5"], "industry": ["x"] * 5})
    s = S.model_copy(update={"lookback_months": 12})
    up = {
        r["customer_id"]: r
        for r in recommend(tx, cust, None, s, as_of=DAY, engine=engine).up_sell.to_pylist()
    }
    assert set(up) == {"p4", "p5"}
    # yearly spend on k: median 150 of (100, 200, 300, 40, 150); p4 spends 40 < 75
    assert (up["p4"]["kind"], up["p4"]["own"], up["p4"]["peer_median"]) == ("spend", 40.0, 150.0)
    assert up["p4"]["gap"] == 110.0
    assert up["p4"]["expected_value"] == pytest.approx(110.0 * 0.5 * 0.25)
    # p5 pays 5 a unit where the median is 10 (< 80%): (10 - 5) × 30 units a year
    assert (up["p5"]["kind"], up["p5"]["gap"]) == ("price", 150.0)
    assert up["p5"]["reason"].startswith("buys the cheaper k lines: 5.0 per unit")


@pytest.mark.parametrize("per_range", [None, 7])
def test_up_sell_leads_are_the_same_a_level_and_a_range_at_a_time(
    engine: Engine, per_range: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an engine the groups' medians are computed one group level at a time, and the
    leads ranked a range of customers at a time (here 7: nine ranges); without one in a
    single query. Customers sit in groups at several levels (class, class · niche,
    everyone), so a level left out or counted twice changes the leads, and a customer
    left out of the ranges, in two of them or out of order changes the list."""
    if per_range is not None:
        monkeypatch.setattr(recommend_module, "UPSELL_RANGE", per_range)
    rng = np.random.default_rng(7)
    n = 60
    ids = [f"c{i:02d}" for i in range(n)]
    rows = []
    for i, c in enumerate(ids):
        for cat in "kmn"[: 1 + i % 3]:
            qty = float(rng.integers(1, 20))
            price = float(rng.choice([5.0, 8.0, 10.0, 12.0]))
            rows.append((c, cat, qty * price, qty))
    tx = engine.from_arrow(
        pa.table(
            {
                "customer_id": [r[0] for r in rows],
                "date": [DAY] * len(rows),
                "revenue": [r[2] for r in rows],
                "order_id": [f"o{i}" for i in range(len(rows))],
                "product_id": [f"sku_{r[1]}" for r in rows],
                "product_category": [r[1] for r in rows],
                "quantity": [r[3] for r in rows],
                "cost": [r[2] / 2 for r in rows],
                "is_return": [False] * len(rows),
                "is_cancel": [False] * len(rows),
            }
        )
    )
    cust = pa.table(
        {
            "customer_id": ids,
            "value_class": ["A" if i < 40 else "B" for i in range(n)],
            # niche N2 has fewer buyers than min_peers: its customers fall back a level
            "niche": ["N1" if i % 10 < 8 else "N2" for i in range(n)],
            "industry": ["x"] * n,
        }
    )
    s = S.model_copy(update={"lookback_months": 12, "min_peers": 5})
    groups = peer_groups(cust, pa.array(ids), s)
    assert len(set(groups.members.column("peer_level").to_pylist())) > 1
    assert len(set(groups.assigned.column("peer_level").to_pylist())) > 1
    # each range's query is handed the look-alike groups of its own customers only (a
    # join with every customer's group holds all of them in its hash table, each range)
    handed: list[set[str]] = []
    ranked_in_range = recommend_module._upsell_rows

    def spy(shared, stats, items, assign_t, s_):  # type: ignore[no-untyped-def]
        handed.append(set(assign_t.customer_id.to_pyarrow().to_pylist()))
        return ranked_in_range(shared, stats, items, assign_t, s_)

    at_once = recommend(tx, cust, None, s, as_of=DAY).up_sell
    monkeypatch.setattr(recommend_module, "_upsell_rows", spy)
    by_level = recommend(tx, cust, None, s, as_of=DAY, engine=engine).up_sell
    assert by_level.num_rows > 5
    assert by_level.to_pylist() == at_once.to_pylist()
    if per_range is not None:
        assert len(handed) == 9
        assert max(len(h) for h in handed) <= per_range
        assert sum(len(h) for h in handed) == len(set().union(*handed)) > n // 2


def test_up_sell_by_category_share_of_wallet(engine: Engine) -> None:
    def line(c: str, cat: str, rev: float) -> dict:
        return {
            "customer_id": c,
            "date": DAY,
            "revenue": rev,
            "order_id": c,
            "product_id": f"sku_{cat}",
            "product_category": cat,
            "quantity": rev / 10,  # one price everywhere: no price leads
            "cost": rev / 2,
            "is_return": False,
            "is_cancel": False,
        }

    spend = {"s1": (100, 100), "s2": (200, 200), "s3": (300, 300), "s4": (150, 1350)}
    spend["s5"] = (50, 50)
    rows = [line(c, cat, v) for c, kv in spend.items() for cat, v in zip("km", kv, strict=True)]
    tx = engine.from_arrow(pa.Table.from_pylist(rows))
    cust = pa.table({"customer_id": list(spend), "industry": ["x"] * 5})
    s = S.model_copy(update={"lookback_months": 12})
    up = recommend(tx, cust, None, s, as_of=DAY, engine=engine).up_sell.to_pylist()
    got = {(r["customer_id"], r["category"]): r for r in up}
    # s4 spends 150 on k, the median of k's buyers (not below half of it), but k is 10% of
    # its 1500 a year where the look-alikes put 50% (median of .5 .5 .5 .1 .5): its mix
    # would buy (0.5 - 0.1) × 1500 = 600 more
    k4 = got[("s4", "k")]
    assert (k4["kind"], k4["own"], k4["peer_median"]) == ("share", 0.1, 0.5)
    assert k4["gap"] == pytest.approx(600.0)
    assert (k4["own_share"], k4["peer_share"]) == (0.1, 0.5)
    assert k4["expected_value"] == pytest.approx(600.0 * 0.5 * 0.25)
    assert k4["reason"] == (
        "k is 10% of its spend (1,500 a year); look-alikes (x) who buy it put 50% of "
        "theirs there (median)"
    )
    # s5 is small everywhere: its mix is its peers', so spend leads, with the shares beside
    assert (got[("s5", "k")]["kind"], got[("s5", "k")]["gap"]) == ("spend", 100.0)
    assert (got[("s5", "k")]["own_share"], got[("s5", "k")]["peer_share"]) == (0.5, 0.5)
    assert set(got) == {("s4", "k"), ("s5", "k"), ("s5", "m")}
    # the ratio is a setting: at 0.1, s4's 10% is not below 10% of 50%
    s_off = s.model_copy(update={"upsell_share_ratio": 0.1})
    up = recommend(tx, cust, None, s_off, as_of=DAY, engine=engine).up_sell.to_pylist()
    assert ("s4", "k") not in {(r["customer_id"], r["category"]) for r in up}


def test_same_inputs_give_the_same_tables(engine: Engine) -> None:
    tx = engine.from_arrow(TEA_CUP)
    a = next_best_products(tx, CUSTOMERS, RULES, S, as_of=DAY, seed=3, engine=engine)
    b = next_best_products(tx, CUSTOMERS, RULES, S, as_of=DAY, seed=3, engine=engine)
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name
    assert a.customers.equals(b.customers)
    assert not np.isnan(a.manifest["expected_value_top"])


@pytest.mark.spark
@pytest.mark.engines("duckdb", reason="compares the DuckDB result with spark_engine's")
def test_recommendations_are_the_same_on_spark(engine: Engine, spark_engine: Engine) -> None:
    duck = next_best_products(engine.from_arrow(TEA_CUP), CUSTOMERS, RULES, S, as_of=DAY, seed=1)
    spark = next_best_products(
        spark_engine.from_arrow(TEA_CUP), CUSTOMERS, RULES, S, as_of=DAY, seed=1
    )
    assert duck.tables["cross_sell"].num_rows > 0
    for name in duck.tables:
        assert spark.tables[name].equals(duck.tables[name]), name
    assert spark.customers.equals(duck.customers)


def test_items_show_their_category_in_reasons_and_the_crm_export(engine: Engine) -> None:
    from tierwise.report.crm import crm_export

    cats = {"tea": "drinks", "cup": "tableware", "spoon": "tableware"}
    tx = TEA_CUP.set_column(
        TEA_CUP.column_names.index("product_category"),
        "product_category",
        pa.array([cats[p] for p in TEA_CUP.column("product_id").to_pylist()]),
    )
    res = next_best_products(
        engine.from_arrow(tx), CUSTOMERS, RULES, S, as_of=DAY, seed=0, engine=engine
    )
    d = [r for r in res.tables["cross_sell"].to_pylist() if r["customer_id"] == "d"]
    assert d[0]["reason"] == (
        "75% of 4 look-alikes (x) buy cup (tableware); "
        "buys tea (drinks), not cup (tableware): 60% of orders with tea also hold cup"
    )
    crm = crm_export(CUSTOMERS, res.tables["cross_sell"])
    got = dict(
        zip(
            crm.column("account_id").to_pylist(),
            crm.column("next_best_products").to_pylist(),
            strict=True,
        )
    )
    assert got["d"] == "cup (tableware); spoon (tableware)"
    # without product_category on the lines: the ids alone, nothing invented
    bare = engine.from_arrow(TEA_CUP.drop_columns(["product_category"]))
    res = next_best_products(bare, CUSTOMERS, RULES, S, as_of=DAY, seed=0, engine=engine)
    d = [r for r in res.tables["cross_sell"].to_pylist() if r["customer_id"] == "d"]
    assert d[0]["reason"] == (
        "75% of 4 look-alikes (x) buy cup; buys tea, not cup: 60% of orders with tea also hold cup"
    )
    crm = crm_export(CUSTOMERS, res.tables["cross_sell"])
    assert crm.column("next_best_products").to_pylist()[3] == "cup; spoon"


def test_amounts_in_reasons_read_as_python_writes_them() -> None:
    from tierwise.crosssell.recommend import _money

    rng = np.random.default_rng(0)
    x = np.concatenate(
        [rng.normal(0.0, 1e6, 500), [0.0, 0.5, 1.5, 2.5, -0.5, -2.5, 999.5, 1e15, -123456789.0]]
    )
    # what "{:,}" writes for the amount rounded half to even
    want = [f"{int(v):,}" for v in np.round(x)]
    assert _money(pa.array(x)).to_pylist() == want


def test_customer_sums_equal_numpy_sums_of_each_customer() -> None:
    from tierwise.crosssell.stage import _group_sums

    rng = np.random.default_rng(1)
    sizes = rng.integers(1, 13, 3000)
    n = int(sizes.sum())
    values = rng.normal(0.0, 1.0, n) * rng.choice([1e-3, 1.0, 1e6], n)
    values[rng.random(n) < 0.2] = np.nan
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    values[starts[0] : starts[0] + sizes[0]] = np.nan  # a customer without any value
    got = _group_sums(values, starts)
    want = np.array(
        [
            np.nan if np.isnan(v).all() else np.sum(np.where(np.isnan(v), 0.0, v))
            for v in np.split(values, starts[1:])
        ]
    )
    assert np.isnan(got[0])
    # the same floats, bit for bit (one after another differs from pairwise in the last bits)
    assert np.array_equal(got, want, equal_nan=True)


def test_customers_ranked_in_blocks_get_the_same_lists(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    module = importlib.import_module("tierwise.crosssell.recommend")
    tx = engine.from_arrow(TEA_CUP)
    whole = recommend(tx, CUSTOMERS, RULES, S, as_of=DAY, engine=engine).cross_sell
    monkeypatch.setattr(module, "_RANK_BLOCK", 2)  # five customers: blocks of 2, 2 and 1
    blocks = recommend(tx, CUSTOMERS, RULES, S, as_of=DAY, engine=engine).cross_sell
    assert whole.num_rows > 3
    assert blocks.equals(whole)


def test_a_one_product_seller_is_told_why_nothing_is_recommended(engine: Engine) -> None:
    from tierwise.crosssell.stage import crosssell_stage

    tx = _tx([(c, str(i), "only", 10.0) for i, c in enumerate("abcde")])
    res = crosssell_stage(engine.from_arrow(tx), CUSTOMERS, S, as_of=DAY, seed=1, engine=engine)
    assert res.manifest["n_recommendations"] == 0
    why = "the transactions hold one product, so there is nothing else to offer"
    assert res.manifest["no_recommendation"] == why
    assert f"no recommendation: {why}" in res.warnings


def _tied_lines(seed: int) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Lines, customers and rules full of ties: 60 customers buy from 14 products whose
    names sort otherwise than their numbers (p10 before p2), every line for the same amount,
    so that many candidates share a score and an expected value and their names decide."""
    rng = np.random.default_rng(seed)
    weights = np.linspace(3.0, 1.0, 14)
    rows = []
    for c in range(60):
        k = int(rng.integers(1, 9))
        got = rng.choice(14, size=k, replace=False, p=weights / weights.sum())
        rows += [(f"c{c:02d}", f"o{c}", f"p{int(i)}", 10.0) for i in got]
    tx = _tx(rows, category="all")
    cust = pa.table(
        {
            "customer_id": [f"c{c:02d}" for c in range(60)],
            "industry": [["x", "y"][c % 2] for c in range(60)],
        }
    )
    ante = [f"p{int(i)}" for i in rng.integers(0, 14, 12)]
    cons = [f"p{int(i)}" for i in rng.integers(0, 14, 12)]
    keep = [a != c for a, c in zip(ante, cons, strict=True)]
    rules = pa.table(
        {
            "antecedent": [a for a, k in zip(ante, keep, strict=True) if k],
            "consequent": [c for c, k in zip(cons, keep, strict=True) if k],
            # few distinct confidences: rules tie too
            "confidence": [
                float(x) for x, k in zip(rng.choice([0.2, 0.5], 12), keep, strict=True) if k
            ],
            "lift": [2.0 for k in keep if k],
        }
    )
    return tx, cust, rules


@pytest.mark.parametrize(
    ("seed", "top", "extra"),
    [
        (0, 3, 4),
        (1, 3, 4),
        (2, 3, 4),
        # fewer peer candidates than places: no floor is known, every candidate is ranked
        (0, 5, 2),
    ],
)
def test_candidates_below_the_floor_are_left_out_without_changing_a_list(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, seed: int, top: int, extra: int
) -> None:
    import importlib

    module = importlib.import_module("tierwise.crosssell.recommend")
    tx, cust, rules = _tied_lines(seed)
    s = CrossSellSettings(
        min_peers=3,
        fallback_peer_columns=["industry"],
        max_recommendations=top,
        crm_top_n=3,
        candidates_per_customer=extra,
    )
    t = engine.from_arrow(tx)
    floors = []
    real_floor = module._floor

    def counted(*args: object) -> object:
        got = real_floor(*args)
        floors.append(int(got.count().to_pyarrow().as_py()))
        return got

    monkeypatch.setattr(module, "_floor", counted)
    pruned = recommend(t, cust, rules, s, as_of=DAY, engine=engine).cross_sell
    # the floor was known for some customers, unless the reach can fall short of the list
    assert (sum(floors) > 0) == (top <= extra)

    def no_floor(cust: object, *args: object) -> object:
        return real_floor(cust, *args).filter(ibis.literal(False))

    monkeypatch.setattr(module, "_floor", no_floor)
    every = recommend(t, cust, rules, s, as_of=DAY, engine=engine).cross_sell
    assert pruned.num_rows > 60
    assert pruned.equals(every)
    # and the lists are in the documented order: score, then expected value, then name
    rows = pruned.to_pylist()
    for a, b in itertools.pairwise(rows):
        if a["customer_id"] != b["customer_id"]:
            continue
        key_a = (-a["score"], -(a["expected_value"] or -1.0), a["item"])
        key_b = (-b["score"], -(b["expected_value"] or -1.0), b["item"])
        assert key_a < key_b
        assert b["rank"] == a["rank"] + 1
    # names decided some places: the order of names, not of the products' numbers
    assert any(
        a["customer_id"] == b["customer_id"] and a["score"] == b["score"]
        for a, b in itertools.pairwise(rows)
    )


def test_reasons_written_once_per_distinct_figures_are_each_rows_own() -> None:
    from tierwise.crosssell.recommend import _finish_cross_sell, _reasons, plain_text

    rng = np.random.default_rng(4)
    n = 3000
    items = np.array(["p1", "p2", "p10", "=p3"], dtype=object)
    has_rule = rng.random(n) < 0.5
    got = pa.table(
        {
            "customer_id": [f"c{i // 7:04d}" for i in range(n)],
            "rank": pa.array(np.arange(n) % 7 + 1, pa.int64()),
            "item": pa.array(rng.choice(items, n)),
            "score": rng.random(n),
            "expected_value": rng.random(n),
            # n_peers and the share vary apart: the sentence names both
            "n_peers": pa.array(rng.choice([9, 10], n), pa.int64()),
            "peer_share": rng.choice([0.0, 0.25, 0.5], n),
            "rule_antecedent": pa.array(np.where(has_rule, rng.choice(items, n), None)),
            "rule_confidence": pa.array(np.where(has_rule, rng.choice([0.25, 0.5], n), None)),
            "rule_lift": pa.array(np.where(has_rule, 2.0, None), pa.float64()),
            "typical_spend": rng.random(n),
            "margin_rate": rng.random(n),
            "peer_label": pa.array(rng.choice(["x", "y · z"], n)),
        }
    )
    categories = pa.table({"item": ["p1", "p10", "p2"], "category": ["a", "b", None]})
    out = _finish_cross_sell(got, categories, "product")
    t = got.rename_columns(["peer_group" if c == "peer_label" else c for c in got.column_names])
    cat = plain_text(out.column("category"))
    ante = pc.index_in(t.column("rule_antecedent"), value_set=categories.column("item"))
    t = t.append_column("category", cat).append_column(
        "rule_antecedent_category", categories.column("category").take(ante)
    )
    assert out.column("reason").to_pylist() == _reasons(t).to_pylist()
    assert out.column("peer_group").to_pylist() == got.column("peer_label").to_pylist()
    source = [
        ("peers and rule" if s > 0 else "rule") if r is not None else "peers"
        for r, s in zip(
            got.column("rule_confidence").to_pylist(),
            got.column("peer_share").to_pylist(),
            strict=True,
        )
    ]
    assert out.column("source").to_pylist() == source
    # the repeated sentences are stored once
    assert len(out.column("reason").chunk(0).dictionary) < n / 5


def test_customer_items_grouped_a_range_of_customers_at_a_time_are_the_same(
    engine: Engine,
) -> None:
    from tierwise.crosssell.recommend import customer_bounds, customer_items

    tx = engine.from_arrow(TEA_CUP)
    bounds = customer_bounds(CUSTOMERS.column("customer_id"), 2)
    assert bounds == ["c", "e"]

    def rows(expr: ibis.Table) -> list[dict]:
        return engine.to_arrow(expr.order_by(["customer_id", "item"])).to_pylist()

    kw = {"level": "product", "as_of": DAY, "lookback_months": 24, "cutoff": DAY}
    split = customer_items(tx, bounds=bounds, **kw)
    # one grouping per range: customers up to c, c to e, from e
    assert engine.con.compile(split).count("GROUP BY") == 3
    assert rows(split) == rows(customer_items(tx, **kw))
    assert {r["customer_id"] for r in rows(split)} == set("abcde")


@ON_BOTH
def test_the_stage_groups_customer_items_a_range_of_customers_at_a_time(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    from tierwise.crosssell.stage import crosssell_stage

    module = importlib.import_module("tierwise.crosssell.recommend")
    stage = importlib.import_module("tierwise.crosssell.stage")
    tx = engine.from_arrow(TEA_CUP)
    whole = crosssell_stage(tx, CUSTOMERS, S, as_of=DAY, seed=1, engine=engine)
    seen: list[list[str]] = []
    made = stage.customer_items

    def spy(*args: object, **kwargs: object) -> ibis.Table:
        seen.append(list(kwargs.get("bounds", ())))  # type: ignore[call-overload]
        return made(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stage, "customer_items", spy)
    monkeypatch.setattr(module, "ITEMS_RANGE", 2)
    split = crosssell_stage(tx, CUSTOMERS, S, as_of=DAY, seed=1, engine=engine)
    assert seen == [["c", "e"]]
    assert whole.tables["cross_sell"].num_rows > 3
    for name, table in whole.tables.items():
        assert split.tables[name].equals(table), name
    assert split.customers.equals(whole.customers)


def test_look_alike_groups_are_formed_from_the_peer_columns_alone(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    module = importlib.import_module("tierwise.crosssell.recommend")
    # the assembled customer table carries every stage's columns: a copy of it (filtering
    # out prospects) would cost as much memory as the table
    customers = CUSTOMERS.append_column("notes", pa.array(["x" * 1000] * 5)).append_column(
        "is_prospect", pa.array([False, False, False, False, True])
    )
    seen: list[list[str]] = []
    formed = module.peer_groups

    def spy(cust: pa.Table, *args: object) -> object:
        seen.append(cust.column_names)
        return formed(cust, *args)

    monkeypatch.setattr(module, "peer_groups", spy)
    rec = recommend(engine.from_arrow(TEA_CUP), customers, RULES, S, as_of=DAY, engine=engine)
    assert seen and all("notes" not in names for names in seen)
    assert "industry" in seen[0]
    assert "e" not in rec.cross_sell.column("customer_id").to_pylist()


def test_rankings_sharing_the_item_codes_get_the_lists_of_their_own(engine: Engine) -> None:
    # the evaluation ranks its customers twice, with two definitions of look-alikes, from the
    # same items and owned items: the second ranking reads the codes the first one made, and
    # a ranking of other customers makes its own
    from tierwise.crosssell.recommend import SharedCodes, customer_items, rank_items

    tx = engine.from_arrow(TEA_CUP)
    ci = engine.materialize(
        customer_items(tx, level="product", as_of=DAY, lookback_months=S.lookback_months)
    )
    cust = CUSTOMERS.append_column("size", pa.array(["s", "s", "s", "l", "l"]))
    by_size = S.model_copy(update={"peer_columns": ["size"], "min_peers": 1})

    def ranked(s: CrossSellSettings, customers: pa.Table, shared: SharedCodes | None) -> pa.Table:
        got = rank_items(
            ci,
            customers,
            RULES,
            s,
            level="product",
            margin_rate=None,
            engine=engine,
            shared=shared,
        ).got
        return got.select(["customer_id", "rank", "item", "score", "peer_label"])

    alone = [ranked(s, cust, None) for s in (S, by_size)]
    fewer = cust.filter(pc.is_in(cust.column("customer_id"), pa.array(["a", "c", "d"])))
    fewer_alone = ranked(S, fewer, None)
    shared = SharedCodes()
    assert ranked(S, cust, shared).equals(alone[0])
    codes = shared.owned
    assert ranked(by_size, cust, shared).equals(alone[1])
    assert shared.owned is codes
    assert alone[0].num_rows and not alone[0].equals(alone[1])
    # other customers: their own codes, not the ones kept
    assert ranked(S, fewer, shared).equals(fewer_alone)
    assert shared.owned is not codes
    shared.release(engine)
    assert shared.made == []


@ON_BOTH
def test_customer_items_sums_in_18_digits_equal_those_in_38(engine: Engine) -> None:
    """The exact sums are taken in 18 digits when every amount is below the engine's limit
    for them, with the bits of the 38-digit sums; a larger amount keeps 38 digits."""
    from tierwise.crosssell.recommend import customer_items

    rng = np.random.default_rng(7)
    n = 400
    lines = pa.table(
        {
            "customer_id": [f"c{i % 23:02d}" for i in range(n)],
            "date": [DAY - dt.timedelta(days=int(d)) for d in rng.integers(0, 900, n)],
            "revenue": np.round(rng.lognormal(4, 2, n), 2) * 1.1,
            "order_id": [str(i // 3) for i in range(n)],
            "product_id": [f"p{i % 7}" for i in range(n)],
            "product_category": [f"k{i % 3}" for i in range(n)],
            "quantity": rng.integers(1, 9, n).astype(float) / 3,
            "cost": rng.uniform(0, 1, n) * 97.3,
            "is_return": [False] * n,
            "is_cancel": [False] * n,
        }
    )

    def rows(t: pa.Table, **kw: object) -> list[dict]:
        tx = engine.from_arrow(t)
        expr = customer_items(tx, as_of=DAY, lookback_months=24, **kw)  # type: ignore[arg-type]
        sql = engine.con.compile(expr)
        got = engine.to_arrow(expr.order_by(["customer_id", "item"])).to_pylist()
        return [sql.count("DECIMAL(18, 9)"), got]  # type: ignore[list-item]

    for kw in (
        {"level": "product", "cutoff": DAY - dt.timedelta(days=180), "prices": False},
        {"level": "category", "prices": True},
    ):
        narrow, wide = rows(lines, **kw), rows(lines, check_narrow=False, **kw)
        assert narrow[0] > 0 and wide[0] == 0
        assert narrow[1] == wide[1]
        # an amount beyond the 18 digits' limit: the sums stay in 38 digits
        big = lines.set_column(2, "revenue", pc.multiply(lines.column("revenue"), 1e7))
        assert rows(big, **kw)[0] == 0


@ON_BOTH
def test_cross_sell_text_is_held_encoded_and_written_as_text(
    engine: Engine, tmp_path: object
) -> None:
    """The cross_sell and up_sell tables hold their ids and names dictionary-encoded; the
    files written from them are those of the plain text."""
    from pathlib import Path

    from tierwise.crosssell import crosssell_stage
    from tierwise.io.outputs import AS_VALUES, write_csv, write_parquet

    tx = engine.from_arrow(TEA_CUP)
    res = crosssell_stage(tx, CUSTOMERS, S, as_of=DAY, seed=1, engine=engine)
    folder = Path(str(tmp_path))
    for name, columns in (
        ("cross_sell", ["customer_id", "item", "category", "rule_antecedent"]),
        ("up_sell", ["customer_id", "category"]),
    ):
        table = res.tables[name]
        assert table.num_rows > 0, name
        plain = table
        for c in table.column_names:
            f = table.schema.field(c)
            if pa.types.is_dictionary(f.type):
                assert f.metadata == AS_VALUES, (name, c)
                plain = plain.set_column(
                    plain.column_names.index(c), c, table.column(c).cast(pa.string())
                )
        for c in columns:
            assert pa.types.is_dictionary(table.schema.field(c).type), (name, c)
        for kind, write in (("parquet", write_parquet), ("csv", write_csv)):
            write(table, folder / f"a.{kind}")
            write(plain, folder / f"b.{kind}")
            assert (folder / f"a.{kind}").read_bytes() == (folder / f"b.{kind}").read_bytes()
    # the customer columns read the encoded rows as text
    assert res.customers.column("next_best_products").to_pylist()[3] == (
        "cup (cat_cup); spoon (cat_spoon)"
    )
