"""Basket rules counted in the engine against a brute-force count in Python on small data.

The checks run on DuckDB; :func:`test_rules_are_the_same_on_spark` counts the rules of the
whole history and at a cutoff on Spark and compares them with DuckDB's.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sys
from collections import Counter
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pytest

from tierwise.crosssell import RULE_COLUMNS, basket_rules
from tierwise.engine import Engine
from tierwise.settings.crosssell import CrossSellSettings

DAY = dt.date(2024, 3, 1)

#: the counting is one set of Ibis queries on either engine: its checks run on DuckDB, and
#: test_rules_are_the_same_on_spark runs it on Spark (tens of seconds there per check)
pytestmark = pytest.mark.engines(
    "duckdb",
    reason="the rules now and at a cutoff are compared on Spark in "
    "test_rules_are_the_same_on_spark",
)


def _random_lines(seed: int, n_orders: int = 300, n_items: int = 12) -> pa.Table:
    """Orders of 1-9 lines over a few items with a built-in affinity (item 0 with item 1),
    repeated lines, a return and a cancellation; every line has an order number (lines
    without one are :func:`test_lines_without_an_order_number_form_a_basket_per_customer_day`'s)."""
    rng = np.random.default_rng(seed)
    order, item = [], []
    for o in range(n_orders):
        k = int(rng.integers(1, 10))
        got = list(
            rng.choice(
                n_items, size=k, p=np.linspace(2, 1, n_items) / np.linspace(2, 1, n_items).sum()
            )
        )
        if 0 in got and rng.random() < 0.7:
            got.append(1)
        order += [f"o{o:04d}"] * len(got)
        item += [f"p{int(i):02d}" for i in got]
    n = len(order)
    cust = [f"c{int(o[1:]) % 40:02d}" for o in order]
    tx = {
        "customer_id": cust,
        "date": [DAY] * n,
        "revenue": [10.0] * n,
        "order_id": order,
        "product_id": item,
        "product_category": [f"cat{int(i[1:]) % 3}" for i in item],
        "is_return": [False] * n,
        "is_cancel": [False] * n,
    }
    # a return and a cancellation of items that never co-occur otherwise: never counted
    for oid, is_ret, is_can in (("R1", True, False), ("Co0001", False, True)):
        for it in ("p98", "p99"):
            for col, v in (
                ("customer_id", "c00"),
                ("date", DAY),
                ("revenue", -10.0),
                ("order_id", oid),
                ("product_id", it),
                ("product_category", "cat9"),
                ("is_return", is_ret),
                ("is_cancel", is_can),
            ):
                tx[col].append(v)
    return pa.table(tx)


def _brute_force(
    t: pa.Table, s: CrossSellSettings, col: str
) -> dict[tuple[str, str], dict[str, Any]]:
    """Every rule by counting baskets one by one (the definition, in plain Python)."""
    rows = t.to_pylist()
    baskets: dict[str, set[str]] = {}
    for r in rows:
        if r["is_return"] or r["is_cancel"]:
            continue
        key = r["order_id"] if r["order_id"] is not None else f"{r['customer_id']}|{r['date']}"
        baskets.setdefault(key, set()).add(r[col])
    kept = [b for b in baskets.values() if len(b) <= s.max_basket_items]
    n = len(kept)
    single = Counter(i for b in kept for i in b)
    pair = Counter(p for b in kept for p in itertools.combinations(sorted(b), 2))
    out = {}
    for (x, y), nxy in pair.items():
        for a, b in ((x, y), (y, x)):
            support = nxy / n
            conf = nxy / single[a]
            lift = nxy * n / (single[a] * single[b])
            if (
                nxy >= s.min_pair_count
                and support >= s.min_support
                and single[a] >= s.min_pair_count
                and single[b] >= s.min_pair_count
                and conf >= s.min_confidence
                and lift >= s.min_lift
            ):
                out[(a, b)] = {
                    "n_both": nxy,
                    "support": support,
                    "confidence": conf,
                    "lift": lift,
                    "n_baskets": n,
                    "n_antecedent": single[a],
                    "n_consequent": single[b],
                }
    return out


@pytest.mark.parametrize(
    ("seed", "level", "settings"),
    [
        (
            1,
            "product",
            CrossSellSettings(min_pair_count=3, min_support=0.01, min_confidence=0.1, min_lift=1.0),
        ),
        (
            2,
            "product",
            CrossSellSettings(
                min_pair_count=1,
                min_support=0.0,
                min_confidence=0.0,
                min_lift=0.0,
                max_basket_items=5,
            ),
        ),
        (
            3,
            "category",
            CrossSellSettings(min_pair_count=2, min_support=0.02, min_confidence=0.2, min_lift=0.9),
        ),
    ],
)
def test_rules_match_a_brute_force_count(
    engine: Engine, seed: int, level: str, settings: CrossSellSettings
) -> None:
    t = _random_lines(seed)
    got = basket_rules(engine.from_arrow(t), settings, level=level).to_pyarrow()  # type: ignore[arg-type]
    assert tuple(got.column_names) == RULE_COLUMNS
    want = _brute_force(t, settings, "product_id" if level == "product" else "product_category")
    assert len(want) > 5  # the case has rules to compare
    have = {(r["antecedent"], r["consequent"]): r for r in got.to_pylist()}
    assert set(have) == set(want)
    for key, w in want.items():
        for field, value in w.items():
            assert have[key][field] == pytest.approx(value, rel=1e-12), (key, field)


def test_big_baskets_are_left_out_entirely(engine: Engine) -> None:
    # baskets 1 and 2 hold a+b; basket 3 holds a, b and 3 more items: above a cap of 4
    orders = ["1", "1", "2", "2", "3", "3", "3", "3", "3"]
    items = ["a", "b", "a", "b", "a", "b", "x", "y", "z"]
    t = pa.table(
        {
            "customer_id": ["c"] * 9,
            "date": [DAY] * 9,
            "revenue": [1.0] * 9,
            "order_id": orders,
            "product_id": items,
        }
    )
    s = CrossSellSettings(
        min_pair_count=1, min_support=0.0, min_confidence=0.0, min_lift=0.0, max_basket_items=4
    )
    got = basket_rules(engine.from_arrow(t), s).to_pyarrow().to_pylist()
    assert {(r["antecedent"], r["consequent"]) for r in got} == {("a", "b"), ("b", "a")}
    # N = 2 baskets, not 3: the big basket counts nowhere
    assert all(r["n_baskets"] == 2 and r["n_antecedent"] == 2 and r["lift"] == 1.0 for r in got)


@pytest.mark.engines(
    "duckdb", "spark", reason="the rules' comparison on Spark has an order number on every line"
)
def test_lines_without_an_order_number_form_a_basket_per_customer_day(engine: Engine) -> None:
    t = pa.table(
        {
            "customer_id": ["c", "c", "d", "d"],
            "date": [DAY, DAY, DAY, DAY + dt.timedelta(days=1)],
            "revenue": [1.0] * 4,
            "order_id": pa.nulls(4, pa.string()),
            "product_id": ["a", "b", "a", "b"],
        }
    )
    s = CrossSellSettings(min_pair_count=1, min_support=0.0, min_confidence=0.0, min_lift=0.0)
    got = basket_rules(engine.from_arrow(t), s).to_pyarrow().to_pylist()
    # c's two lines share a day: one basket with a and b; d's are on two days: no pair
    assert [(r["antecedent"], r["n_both"], r["n_baskets"]) for r in got] == [
        ("a", 1, 3),
        ("b", 1, 3),
    ]


def test_rules_are_ordered_by_lift_and_capped(engine: Engine) -> None:
    t = _random_lines(4)
    s = CrossSellSettings(
        min_pair_count=1, min_support=0.0, min_confidence=0.0, min_lift=0.0, max_rules=7
    )
    got = basket_rules(engine.from_arrow(t), s).to_pyarrow()
    assert got.num_rows == 7
    lifts = got.column("lift").to_pylist()
    assert lifts == sorted(lifts, reverse=True)
    full = basket_rules(engine.from_arrow(t), s.model_copy(update={"max_rules": 10_000}))
    assert got.column("lift").to_pylist() == full.to_pyarrow().column("lift").to_pylist()[:7]


@pytest.mark.spark
@pytest.mark.engines("duckdb", reason="compares the DuckDB result with spark_engine's")
def test_rules_are_the_same_on_spark(engine: Engine, spark_engine: Engine) -> None:
    from tierwise.crosssell.rules import basket_items, pair_counts, rules_from

    t = _random_lines(5)
    s = CrossSellSettings(min_pair_count=3, min_support=0.01, min_confidence=0.1, min_lift=1.0)
    duck = basket_rules(engine.from_arrow(t), s).to_pyarrow()
    spark = basket_rules(spark_engine.from_arrow(t), s).to_pyarrow()
    assert duck.num_rows > 5
    assert duck.to_pylist() == spark.to_pylist()
    # by category, now and at a cutoff from one count of the pairs, as the stage counts them
    dated, cutoff = _dated_lines()
    s = CrossSellSettings(
        min_pair_count=2, min_support=0.005, min_confidence=0.1, min_lift=0.5, max_basket_items=2
    )
    got = []
    for eng in (engine, spark_engine):
        # with the engine, as the stage calls it: Spark numbers the baskets in parts
        b = basket_items(eng.from_arrow(dated), s, level="category", cutoff=cutoff, engine=eng)
        pairs = pair_counts(b, s)
        got.append(
            [
                rules_from(b, s, level="category", at_cutoff=at, pairs=pairs)
                .to_pyarrow()
                .to_pylist()
                for at in (False, True)
            ]
        )
    (duck_now, duck_cut), (spark_now, spark_cut) = got
    assert len(duck_cut) > 5 and duck_now != duck_cut
    assert (spark_now, spark_cut) == (duck_now, duck_cut)


def test_baskets_over_the_cap_are_counted_warned_and_in_the_manifest(engine: Engine) -> None:
    from tierwise.crosssell import crosssell_stage

    # three ordinary baskets (a+b) and two above a cap of 3 (5 and 4 distinct items)
    baskets = {
        "1": ["a", "b"],
        "2": ["a", "b"],
        "3": ["a", "b", "a"],
        "4": ["a", "b", "x", "y", "z"],
        "5": ["a", "x", "y", "z"],
    }
    orders = [o for o, items in baskets.items() for _ in items]
    items = [i for its in baskets.values() for i in its]
    n = len(items)
    t = pa.table(
        {
            "customer_id": [f"c{int(o) % 3}" for o in orders],
            "date": [DAY] * n,
            "revenue": [1.0] * n,
            "order_id": orders,
            "product_id": items,
        }
    )
    cust = pa.table({"customer_id": ["c0", "c1", "c2"]})
    s = CrossSellSettings(
        min_pair_count=1,
        min_support=0.0,
        min_confidence=0.0,
        min_lift=0.0,
        max_basket_items=3,
        rule_levels=["product"],
        min_peers=2,
        evaluate=False,
    )
    res = crosssell_stage(engine.from_arrow(t), cust, s, as_of=DAY, seed=1)
    m = res.manifest["rules"]["product"]
    assert (m["n_baskets"], m["n_baskets_over_cap"], m["n_items_over_cap"]) == (3, 2, 9)
    assert res.tables["basket_rules"].column("n_baskets").to_pylist() == [3, 3]
    warned = [w for w in res.warnings if "max_basket_items" in w]
    assert len(warned) == 1
    assert "2 of 5 baskets" in warned[0] and "= 3" in warned[0]
    # with a cap that holds every basket: nothing counted, nothing said
    res = crosssell_stage(
        engine.from_arrow(t), cust, s.model_copy(update={"max_basket_items": 5}), as_of=DAY, seed=1
    )
    assert res.manifest["rules"]["product"]["n_baskets_over_cap"] == 0
    assert not [w for w in res.warnings if "max_basket_items" in w]


def test_an_items_category_is_the_largest_of_its_lines(engine: Engine) -> None:
    # product a's lines name several categories: "b" and "a" in baskets within the cap of
    # 3, "z" in basket 3 above it, "c" in basket 2 after the cutoff, and none at all once
    from tierwise.crosssell.rules import basket_items

    later = DAY + dt.timedelta(days=40)
    rows = [
        ("1", DAY, "a", "b"),
        ("1", DAY, "a", "a"),
        ("1", DAY, "q", "qq"),
        ("2", DAY, "a", None),
        ("2", later, "a", "c"),
        ("2", DAY, "q", "qq"),
        ("3", DAY, "a", "z"),
        ("3", DAY, "x", "xx"),
        ("3", DAY, "y", "yy"),
        ("3", DAY, "w", "ww"),
    ]
    t = pa.table(
        {
            "customer_id": ["c"] * len(rows),
            "date": [r[1] for r in rows],
            "revenue": [1.0] * len(rows),
            "order_id": [r[0] for r in rows],
            "product_id": [r[2] for r in rows],
            "product_category": [r[3] for r in rows],
        }
    )
    s = CrossSellSettings(max_basket_items=3)
    b = basket_items(engine.from_arrow(t), s, level="product", cutoff=DAY, engine=engine)
    got = {
        r["item"]: r
        for r in b.items.select("item", "category", "category_all", "category_cut")
        .to_pyarrow()
        .to_pylist()
    }
    b.release()
    assert got["a"] == {"item": "a", "category": "c", "category_all": "z", "category_cut": "b"}
    assert got["q"]["category"] == got["q"]["category_cut"] == "qq"
    # an item only in the big basket: no category within the cap
    assert got["x"] == {"item": "x", "category": None, "category_all": "xx", "category_cut": None}


def _dated_lines() -> tuple[pa.Table, dt.date]:
    """Random lines (:func:`_random_lines`), each order on one day over a year, and a late
    line added to some early orders, so that a basket holds fewer items at the cutoff (also
    given) than in the end."""
    t = _random_lines(5, n_orders=400)
    rng = np.random.default_rng(5)
    orders = t.column("order_id").to_pylist()
    day = {o: DAY - dt.timedelta(days=int(rng.integers(0, 365))) for o in sorted(set(orders))}
    dates = [day[o] for o in orders]
    late = rng.random(len(orders)) < 0.15
    dates = [DAY if x else d for d, x in zip(dates, late, strict=True)]
    t = t.set_column(t.column_names.index("date"), "date", pa.array(dates))
    return t, DAY - dt.timedelta(days=120)


@pytest.mark.parametrize(
    ("level", "settings"),
    [
        (
            "product",
            CrossSellSettings(
                min_pair_count=2, min_support=0.005, min_confidence=0.1, max_basket_items=5
            ),
        ),
        (
            "category",
            CrossSellSettings(
                min_pair_count=2,
                min_support=0.005,
                min_confidence=0.1,
                min_lift=0.5,
                max_basket_items=2,
            ),
        ),
    ],
)
def test_one_count_of_the_pairs_gives_the_rules_now_and_at_the_cutoff(
    engine: Engine, level: str, settings: CrossSellSettings
) -> None:
    from tierwise.crosssell.rules import basket_items, pair_counts, rules_from

    t, cutoff = _dated_lines()
    s = settings
    tx = engine.from_arrow(t)
    b = basket_items(tx, s, level=level, cutoff=cutoff)  # type: ignore[arg-type]
    pairs = pair_counts(b, s)
    now = rules_from(b, s, level=level, pairs=pairs).to_pyarrow()  # type: ignore[arg-type]
    cut = rules_from(b, s, level=level, at_cutoff=True, pairs=pairs).to_pyarrow()  # type: ignore[arg-type]
    want_now = basket_rules(tx, s, level=level).to_pyarrow()  # type: ignore[arg-type]
    past = tx.filter(tx.date <= cutoff)
    want_cut = basket_rules(past, s, level=level).to_pyarrow()  # type: ignore[arg-type]
    # the two differ: a count mixed up between them shows
    assert want_cut.num_rows > 5 and want_now.num_rows > 5 and not want_now.equals(want_cut)
    assert now.equals(want_now)
    assert cut.equals(want_cut)


@pytest.mark.parametrize("per_part", [7, 150])
def test_baskets_grouped_a_range_at_a_time_give_the_same_rules(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, per_part: int
) -> None:
    from tierwise.crosssell import rules
    from tierwise.crosssell.rules import basket_items, kept_pair_counts, rules_from, sizes_from

    t, cutoff = _dated_lines()
    s = CrossSellSettings(min_pair_count=2, min_support=0.005, min_confidence=0.1)
    tx = engine.from_arrow(t)

    def counted() -> tuple[Any, ...]:
        b = basket_items(tx, s, level="product", cutoff=cutoff, engine=engine)
        pairs = kept_pair_counts(b, s, engine)
        got = (
            b.basket_ranges,
            rules_from(b, s, level="product", pairs=pairs).to_pyarrow(),
            rules_from(b, s, level="product", at_cutoff=True, pairs=pairs).to_pyarrow(),
            sizes_from(b).to_pyarrow(),
            b.items.order_by("iid").to_pyarrow(),
        )
        engine.release(pairs)
        b.release()
        return got

    whole = counted()
    monkeypatch.setattr(rules, "_BASKETS_PER_PART", per_part)
    parts = counted()
    # one query for the 400 orders; several ranges of basket numbers, covering them all once
    assert whole[0] == ()
    ranges = parts[0]
    assert len(ranges) == -(-400 // per_part) > 1
    assert ranges[0][0] == 0 and ranges[-1][1] == 400
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    # the same rules as of the last line and the cutoff, sizes and item figures
    assert whole[1].num_rows > 5 and whole[2].num_rows > 5
    for one, other in zip(whole[1:], parts[1:], strict=True):
        assert one.equals(other)


@pytest.mark.engines("duckdb", reason="runs on spark_engine, the engine Spark numbers in parts")
def test_spark_numbers_baskets_in_parts_each_once(spark_engine: Engine) -> None:
    from tierwise.crosssell.rules import _numbered_in_parts

    keys = [f"order-{i}" for i in range(2_000)] + [None]
    t = spark_engine.from_arrow(pa.table({"basket": pa.array(keys, pa.string())}))
    got = _numbered_in_parts(t, "basket", "bid", spark_engine.materialize, spark_engine.release)
    rows = spark_engine.to_arrow(got).to_pylist()
    # every key once, numbered 0 … n-1 without a gap or a repeat
    assert sorted(r["bid"] for r in rows) == list(range(len(keys)))
    assert {r["basket"] for r in rows} == set(keys)


@pytest.mark.engines("duckdb", reason="runs on spark_engine")
def test_rules_counted_without_an_engine_on_spark_number_baskets_in_parts(
    spark_engine: Engine,
) -> None:
    # the hit-rate evaluation counts the rules at its cutoff from the table alone: its
    # backend, not an engine passed, says it is Spark
    from tierwise.crosssell.rules import _on_spark

    t = spark_engine.from_arrow(_random_lines(5))
    assert _on_spark(t, None) and not _on_spark(ibis.memtable(_random_lines(5)), None)


def _category_baskets(n_categories: int, seed: int = 7) -> pa.Table:
    """Orders over ``n_categories`` categories with a planted affinity (category 0 with 1),
    orders above a cap of 4 categories, lines without an order number (a basket per
    customer and day, one of an unknown customer) and a return."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[Any, ...]] = []
    for o in range(600):
        k = int(rng.integers(1, 12 if o % 10 == 0 else 6))
        got = [int(i) for i in rng.choice(n_categories, size=k)]
        if 0 in got and rng.random() < 0.8:
            got.append(1)
        # every category is bought: the level has exactly n_categories of them
        got.append(o % n_categories)
        order = None if o % 7 == 0 else f"o{o}"
        cust = None if o % 97 == 0 else f"c{o % 50}"
        rows += [(cust, order, f"cat{i:02d}", False) for i in got]
    rows.append(("c1", "r1", "cat00", True))
    return pa.table(
        {
            "customer_id": [r[0] for r in rows],
            "date": [DAY - dt.timedelta(days=i % 3) for i in range(len(rows))],
            "revenue": [-1.0 if r[3] else 1.0 for r in rows],
            "order_id": pa.array([r[1] for r in rows], pa.string()),
            "product_id": [f"p{i}" for i in range(len(rows))],
            "product_category": [r[2] for r in rows],
            "is_return": [r[3] for r in rows],
        }
    )


@pytest.mark.parametrize(("n_categories", "block"), [(5, None), (62, None), (62, 3), (63, None)])
def test_categories_counted_as_bit_sets_give_the_rules_of_the_general_count(
    engine: Engine, n_categories: int, block: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if block is not None:
        # the distinct bit sets turned into a table a few at a time, as many sets are
        # (the package's ``rules`` is a function: the module is found by its full name)
        monkeypatch.setattr(sys.modules["tierwise.crosssell.rules"], "_MASK_BLOCK", block)
    from tierwise.crosssell.rules import (
        MASK_ITEMS,
        basket_items,
        masked_baskets,
        pair_counts,
        rules_from,
        sizes_from,
    )

    s = CrossSellSettings(
        min_pair_count=1, min_support=0.0, min_confidence=0.0, min_lift=0.0, max_basket_items=4
    )
    tx = engine.from_arrow(_category_baskets(n_categories))
    masked = masked_baskets(tx, s, level="category", engine=engine)
    # products and Spark are counted the general way; so are more categories than bits
    assert masked_baskets(tx, s, level="product", engine=engine) is None
    if n_categories > MASK_ITEMS:
        assert masked is None
        return
    assert masked is not None
    b, pairs = masked
    general = basket_items(tx, s, level="category", engine=engine)
    want = rules_from(general, s, level="category", pairs=pair_counts(general, s)).to_pyarrow()
    got = rules_from(b, s, level="category", pairs=pairs).to_pyarrow()
    assert want.num_rows >= min(20, 3 * n_categories)
    assert got.equals(want)
    want_sizes = sizes_from(general).to_pyarrow()
    assert want_sizes.column("n_baskets_over_cap")[0].as_py() > 0
    assert sizes_from(b).to_pyarrow().equals(want_sizes)
    columns = ["item", "n", "category", "category_all"]
    assert (
        b.items.select(*columns)
        .order_by("item")
        .to_pyarrow()
        .equals(general.items.select(*columns).order_by("item").to_pyarrow())
    )
    b.release()
    general.release()
