"""The terms stage on the customer table of a whole pipeline run over a small demo."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tierwise.demo import generate
from tierwise.engine import Engine
from tierwise.io.demo_files import write_demo
from tierwise.pipeline import run_pipeline
from tierwise.settings import INPUT_TABLES, Settings
from tierwise.terms import (
    CUSTOMER_COLUMNS,
    discount_audit,
    routes_to_market,
    terms_stage,
    trading_terms,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = generate(n_customers=400, seed=11)
    paths = write_demo(data, tmp_path_factory.mktemp("demo") / "data")
    inputs = {k: str(v) for k, v in paths.items() if k in INPUT_TABLES}
    settings = Settings()
    # the measuring stages only: no classes, so every customer is on the default terms
    customers = run_pipeline(
        inputs, settings, as_of=data.end_date, stages=("profitability", "lifetime", "potential")
    ).customers
    eng = Engine()
    tx = eng.from_arrow(data.transactions)
    tx = tx.mutate(is_cancel=tx.order_id.startswith("C").fill_null(False))
    res = terms_stage(
        customers,
        settings.terms,
        cost_of_capital=settings.profitability.cost_of_capital,
        period_months=settings.profitability.period_months,
        tx=tx,
        as_of=data.end_date,
    )
    return {"customers": customers, "res": res}


def test_customer_columns_cover_every_row(run: dict[str, Any]) -> None:
    c = run["res"].customers
    assert c.column_names == ["customer_id", *CUSTOMER_COLUMNS]
    assert c.column("customer_id").equals(run["customers"].column("customer_id"))


def test_terms_are_priced_from_the_profitability_figures(run: dict[str, Any]) -> None:
    rows = run["res"].tables["terms"].to_pylist()
    # the segments stage is not in this run: every customer is on the default terms
    assert {r["terms"] for r in rows} == {"bronze"}
    by_rule = {r["rule"]: r for r in rows}
    assert by_rule["minimum order"]["quantity"] > 0
    assert by_rule["minimum order"]["cost_saved"] > 0
    assert by_rule["delivery frequency"]["cost_saved"] >= 0
    # terms are priced for customers; prospects have nothing to price yet
    buyers = run["customers"].filter(pc.invert(run["customers"].column("is_prospect")))
    assert by_rule["all rules"]["customers"] == buyers.num_rows
    total = by_rule["all rules"]
    parts = [r for r in rows if r["rule"] != "all rules"]
    assert total["net"] == pytest.approx(sum(r["net"] for r in parts))
    net = pc.sum(run["res"].customers.column("terms_net_value")).as_py()
    assert net == pytest.approx(total["net"])


def test_targets_reconcile_and_the_discount_audit_covers_the_base(run: dict[str, Any]) -> None:
    m = run["res"].manifest
    assert m["targets"]["reps_add_up_to_team"] is True
    cur = pc.sum(run["customers"].column("revenue_12m")).as_py()
    assert m["targets"]["revenue_current_team"] == pytest.approx(cur)
    audit = run["res"].tables["discount_audit"]
    # one row per customer; prospects have no discount yet
    buyers = run["customers"].filter(pc.invert(run["customers"].column("is_prospect")))
    assert audit.num_rows == buyers.num_rows
    flags = set(audit.column("discount_flag").to_pylist())
    assert "above band" in flags or "in band" in flags
    routes = run["res"].tables["routes_to_market"].to_pylist()
    assert {r["channel"] for r in routes} <= {
        "field",
        "inside",
        "email",
        "key_account",
        "web",
        "none",
    }
    assert sum(r["customers"] for r in routes) == buyers.num_rows
    assert isinstance(run["res"].tables["targets"], pa.Table)


def test_prospects_are_left_out_as_if_the_table_had_none(run: dict[str, Any]) -> None:
    # trading terms, the discount audit and routes to market read the customers without
    # the prospects (each column filtered as read, not the whole table copied): the same
    # tables and customer columns as when the prospects are dropped beforehand
    customers = run["customers"]
    prospect = customers.column("is_prospect").fill_null(False)
    assert pc.any(prospect).as_py()
    buyers = customers.filter(pc.invert(prospect))
    settings = Settings().terms
    for fn in (trading_terms, discount_audit, routes_to_market):
        with_prospects, without = fn(customers, settings), fn(buyers, settings)
        assert with_prospects.customers.equals(without.customers), fn.__name__
        assert with_prospects.tables.keys() == without.tables.keys()
        for name, table in with_prospects.tables.items():
            assert table.equals(without.tables[name]), (fn.__name__, name)
        assert with_prospects.warnings == without.warnings
