"""Cross-sell on the demo data against its planted basket pairs.

The demo generator plants five product pairs bought in the same order
(``DemoData.planted_pairs``, :mod:`tierwise.demo._baskets`): in an order, the line after an
anchor product's line is its partner with probability 0.6. Everything else about the
products of an order is chance, given the company's category mix and the products'
popularity. Figures below were measured with n_customers=1500 on seeds 7, 3 and 42; floors
sit well under the worst seed and each comment gives what was observed.
"""

from __future__ import annotations

from typing import Any

import pytest

from tierwise.crosssell import crosssell_stage
from tierwise.demo import generate
from tierwise.engine import Engine
from tierwise.settings.crosssell import CrossSellSettings


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    data = generate(n_customers=1500, seed=7)
    eng = Engine()
    tx = eng.from_arrow(data.transactions)
    # validate's default cancel_prefix "C": the demo's cancellations are 'CSO…' documents
    tx = tx.mutate(is_cancel=tx.order_id.startswith("C").fill_null(False))
    res = crosssell_stage(
        tx, data.customers, CrossSellSettings(), as_of=data.end_date, seed=1, engine=eng
    )
    return {"data": data, "res": res}


def test_the_planted_pairs_are_the_strongest_product_rules(run: dict[str, Any]) -> None:
    planted = run["data"].planted_pairs.to_pylist()
    rules = [r for r in run["res"].tables["basket_rules"].to_pylist() if r["level"] == "product"]
    want = {(p["antecedent"], p["consequent"]) for p in planted}
    want |= {(b, a) for a, b in want}
    # seeds 7, 3, 42: the ten directed planted pairs are exactly the ten rules of highest
    # lift (lowest planted lift 8.1; the strongest chance pair 3.2)
    assert {(r["antecedent"], r["consequent"]) for r in rules[:10]} == want
    by_pair = {(r["antecedent"], r["consequent"]): r for r in rules}
    for p in planted:
        r = by_pair[(p["antecedent"], p["consequent"])]
        # confidence ≈ 0.6 × P(the anchor's line is not its order's last): 0.45-0.51 seen
        assert 0.35 < r["confidence"] < 0.65
        assert r["lift"] > 5.0  # 8.1-18.0 seen
        assert r["antecedent_category"] == p["antecedent_category"]


def test_recommendations_beat_popularity_on_the_next_half_year(run: dict[str, Any]) -> None:
    ev = run["res"].manifest["evaluation"]
    assert ev["status"] == "ok"
    assert ev["n_customers"] > 300  # 509, 517, 516 seen
    # hit rate at 5: 0.53, 0.57, 0.56 against popularity 0.42, 0.47, 0.44 (lift 1.25, 1.21,
    # 1.28); at 10: lift 1.17, 1.15, 1.18. Standard error of a hit rate here ≈ 0.022.
    assert ev["lift_at_5"] > 1.1
    assert ev["lift_at_10"] > 1.05
    assert ev["hit_rate_at_10"] >= ev["hit_rate_at_5"]


def test_a_customer_with_an_anchor_is_offered_its_partner(run: dict[str, Any]) -> None:
    planted = {(p["antecedent"], p["consequent"]) for p in run["data"].planted_pairs.to_pylist()}
    cs = run["res"].tables["cross_sell"].to_pylist()
    offered = [r for r in cs if (r["rule_antecedent"], r["item"]) in planted and r["rank"] <= 5]
    by_item = {
        p["antecedent"]: p["antecedent_category"] for p in run["data"].planted_pairs.to_pylist()
    }
    # customers who bought an anchor in orders where its partner did not follow
    assert len(offered) >= 20
    r = offered[0]
    # products read as id and category
    ante = f"{r['rule_antecedent']} ({by_item[r['rule_antecedent']]})"
    assert f"buys {ante}, not {r['item']} ({r['category']})" in r["reason"]


def test_every_customer_gets_a_short_list_for_the_crm(run: dict[str, Any]) -> None:
    c = run["res"].customers.to_pylist()
    assert len(c) == run["data"].customers.num_rows
    listed = [r for r in c if r["next_best_products"]]
    assert len(listed) > 0.95 * len(c)
    assert all(r["next_best_products"].count("; ") <= 4 for r in listed)
    assert all(r["cross_sell_value"] is None or r["cross_sell_value"] >= 0 for r in c)
