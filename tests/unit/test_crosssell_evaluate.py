"""The time-split hit rate: nothing after the cutoff reaches the recommendations.

The checks run on DuckDB; :func:`test_the_hit_rate_is_the_same_on_spark` runs the whole
evaluation, both peer definitions, on Spark and compares every figure.
"""

from __future__ import annotations

import datetime as dt

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tierwise.crosssell import evaluate_hit_rate
from tierwise.crosssell.evaluate import _hit_rate
from tierwise.engine import Engine
from tierwise.settings.crosssell import CrossSellSettings

AS_OF = dt.date(2024, 12, 31)  # cutoff six months earlier: 2024-06-30
PAST = dt.date(2024, 3, 1)
FUTURE = dt.date(2024, 9, 1)
S = CrossSellSettings(
    min_peers=5,
    fallback_peer_columns=["industry"],
    eval_min_customers=10,
    min_pair_count=2,
)


def _line(cust: str, day: dt.date, item: str, order: str) -> dict:
    return {
        "customer_id": cust,
        "date": day,
        "revenue": 10.0,
        "order_id": order,
        "product_id": item,
        "product_category": "k",
        "quantity": 1.0,
        "cost": 6.0,
        "is_return": False,
        "is_cancel": False,
    }


def _base(n: int = 40) -> list[dict]:
    """n customers; before the cutoff each buys a few of p0..p4; after it each buys z."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        c = f"c{i:02d}"
        owned = [f"p{j}" for j in range(5) if rng.random() < 0.5] or ["p0"]
        rows += [_line(c, dt.date(2023, 1, 2), item, f"{c}-old") for item in owned]
        rows.append(_line(c, FUTURE, "z", f"{c}-new"))
    return rows


def _customers(ids: list[str]) -> pa.Table:
    return pa.table({"customer_id": ids, "industry": ["x"] * len(ids)})


def _evaluate(engine: Engine, rows: list[dict], ids: list[str]) -> dict:
    # with the engine, as the stage calls it: tables used several times are computed once
    tx = engine.from_arrow(pa.Table.from_pylist(rows))
    return evaluate_hit_rate(tx, _customers(ids), S, as_of=AS_OF, seed=1, engine=engine)


IDS = [f"c{i:02d}" for i in range(40)]

#: the evaluation is one set of Ibis queries on either engine: its checks run on DuckDB, and
#: test_the_hit_rate_is_the_same_on_spark runs it on Spark (a minute there per check)
pytestmark = pytest.mark.engines(
    "duckdb", reason="the whole evaluation runs on Spark in test_the_hit_rate_is_the_same_on_spark"
)


def test_an_item_first_seen_after_the_cutoff_is_never_recommended(engine: Engine) -> None:
    ev = _evaluate(engine, _base(), IDS)
    assert ev["status"] == "ok"
    assert ev["cutoff"] == "2024-06-30"
    assert ev["n_customers"] == 40
    # every customer's only new item is z, which nobody had bought by the cutoff
    assert ev["hit_rate_at_5"] == 0.0
    assert ev["hit_rate_at_10"] == 0.0
    assert ev["popularity_hit_rate_at_5"] == 0.0


def test_other_customers_future_does_not_reach_the_recommendations(engine: Engine) -> None:
    rows = _base()
    # thirty customers who appear only after the cutoff, all buying z twice: were the
    # future used, z would be the most popular item and every peer group's favourite
    newcomers = [f"n{i:02d}" for i in range(30)]
    for c in newcomers:
        rows += [_line(c, FUTURE, "z", f"{c}-a"), _line(c, FUTURE, "z", f"{c}-b")]
    ev = _evaluate(engine, rows, IDS + newcomers)
    assert ev["n_customers"] == 40  # the newcomers have no history before the cutoff
    assert ev["hit_rate_at_5"] == 0.0
    assert ev["popularity_hit_rate_at_5"] == 0.0


def test_moving_the_future_into_the_past_changes_the_result(engine: Engine) -> None:
    before = _evaluate(engine, _base(), IDS)
    rows = _base()
    # half the customers bought z before the cutoff instead of after it
    for r in rows:
        if r["product_id"] == "z" and int(r["customer_id"][1:]) < 20:
            r["date"] = PAST
    after = _evaluate(engine, rows, IDS)
    assert after["n_customers"] == 20  # z is new only to the other half
    # 20 of a customer's 39 peers own z, and it has at most five items it does not own
    assert after["hit_rate_at_5"] == 1.0
    assert after["hit_rate_at_5"] != before["hit_rate_at_5"]


def test_too_short_a_history_is_skipped_with_the_settings_named(engine: Engine) -> None:
    rows = [r | {"date": dt.date(2024, 5, 1)} if r["date"].year == 2023 else r for r in _base()]
    ev = _evaluate(engine, rows, IDS)
    assert ev["status"] == "skipped"
    assert "eval_min_history_months" in ev["reason"]


def test_no_sale_line_is_skipped_saying_so(engine: Engine) -> None:
    rows = [r | {"is_return": True, "revenue": -10.0} for r in _base()]
    ev = _evaluate(engine, rows, IDS)
    assert ev["status"] == "skipped"
    assert ev["reason"].startswith("no sale line with an item to evaluate on")
    assert "None" not in ev["reason"]


def test_too_few_customers_is_skipped(engine: Engine) -> None:
    tx = engine.from_arrow(pa.Table.from_pylist(_base(8)))
    ev = evaluate_hit_rate(tx, _customers(IDS[:8]), S, as_of=AS_OF, seed=1, engine=engine)
    assert ev["status"] == "skipped"
    assert "eval_min_customers" in ev["reason"]


def test_the_sample_of_customers_follows_the_seed(engine: Engine) -> None:
    tx = engine.from_arrow(pa.Table.from_pylist(_base()))
    s = S.model_copy(update={"eval_max_customers": 15})
    a = evaluate_hit_rate(tx, _customers(IDS), s, as_of=AS_OF, seed=1, engine=engine)
    b = evaluate_hit_rate(tx, _customers(IDS), s, as_of=AS_OF, seed=1, engine=engine)
    assert a == b
    assert (a["n_customers"], a["n_customers_eligible"]) == (15, 40)


def test_hit_rate_counts_customers_with_a_new_item_in_their_top_k() -> None:
    recs = pd.DataFrame(
        {"customer_id": ["a", "a", "b", "b"], "rank": [1, 2, 1, 2], "item": ["x", "y", "x", "y"]}
    )
    truth = pd.DataFrame({"customer_id": ["a", "b", "c"], "item": ["y", "z", "x"]})
    ids = pa.array(["a", "b", "c"])
    assert _hit_rate(recs, truth, ids, 1) == 0.0
    assert _hit_rate(recs, truth, ids, 2) == pytest.approx(1 / 3)  # only a's y, at rank 2


def _production_peers_data(engine: Engine) -> tuple[ir.Table, pa.Table]:
    """40 customers in one industry; value class A (c00-c19) and B (c20-c39). Before the
    cutoff all buy p0; c00-c09 buy a; c30-c39 and c20-c21 buy q1-q6 (12 buyers each, all
    B). After it, c10-c19 buy a."""
    old = dt.date(2023, 1, 2)
    rows = []
    for i in range(40):
        c = f"c{i:02d}"
        items = ["p0"] + (["a"] if i < 10 else [])
        items += [f"q{j}" for j in range(1, 7)] if i >= 30 or i in (20, 21) else []
        rows += [_line(c, old, item, f"{c}-old") for item in items]
        if 10 <= i < 20:
            rows.append(_line(c, FUTURE, "a", f"{c}-new"))
    cust = _customers(IDS).append_column("value_class", pa.array(["A"] * 20 + ["B"] * 20))
    return engine.from_arrow(pa.Table.from_pylist(rows)), cust


@pytest.mark.spark
def test_the_hit_rate_is_the_same_on_spark(engine: Engine, spark_engine: Engine) -> None:
    figures = []
    for eng in (engine, spark_engine):
        tx, cust = _production_peers_data(eng)
        figures.append(evaluate_hit_rate(tx, cust, S, as_of=AS_OF, seed=1, engine=eng))
    duck, spark = figures
    assert duck["status"] == "ok" and duck["production_peers"]["status"] == "ok"
    assert duck["hit_rate_at_10"] > 0 and duck["production_peers"]["hit_rate_at_5"] > 0
    assert spark == duck


def test_production_peers_are_measured_beside_the_firmographic_ones(engine: Engine) -> None:
    # 40 customers in one industry; value class A (c00-c19) and B (c20-c39). Before the
    # cutoff all buy p0; c00-c09 buy a; c30-c39 and c20-c21 buy q1-q6 (12 buyers each, all
    # B). After it, c10-c19 buy a. Over all customers the q items are the favourites
    # (12 of 39 against 10 of 39 for a), so industry peers put q1-q5 in the top 5; within
    # class A, a is the favourite (10 of 19) and no A customer buys a q item.
    tx, cust = _production_peers_data(engine)
    ev = evaluate_hit_rate(tx, cust, S, as_of=AS_OF, seed=1, engine=engine)
    assert ev["status"] == "ok" and ev["n_customers"] == 10
    # the headline figure: firmographic peers, known at the cutoff
    assert ev["peer_columns"] == ["industry"]
    assert "value_class" in ev["peer_definition"]
    assert (ev["hit_rate_at_5"], ev["hit_rate_at_10"]) == (0.0, 1.0)
    prod = ev["production_peers"]
    assert prod["status"] == "ok" and prod["peer_columns"] == ["value_class"]
    assert prod["hit_rate_at_5"] == 1.0
    assert prod["popularity_hit_rate_at_5"] == ev["popularity_hit_rate_at_5"] == 0.0
    assert "optimistic" in prod["caution"]
    # switched off, or without the production columns: said, not measured
    off = evaluate_hit_rate(
        tx,
        cust,
        S.model_copy(update={"eval_production_peers": False}),
        as_of=AS_OF,
        seed=1,
        engine=engine,
    )
    assert off["production_peers"]["status"] == "skipped"
    assert off["hit_rate_at_5"] == ev["hit_rate_at_5"]
    bare = evaluate_hit_rate(tx, _customers(IDS), S, as_of=AS_OF, seed=1, engine=engine)
    assert "none of peer_columns" in bare["production_peers"]["reason"]
