"""Routes to market: the observed channel, its cost per unit of revenue, the plan's channel."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tierwise.settings.terms import TermsSettings
from tierwise.terms import ROUTE_COLUMNS, routes_to_market


def _customers() -> pa.Table:
    return pa.table(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "value_class": ["C", "C", "C", "A", "C"],
            "revenue_12m": [1_000.0, 2_000.0, 3_000.0, 50_000.0, 500.0],
            "gross_margin": [300.0, 600.0, 900.0, 10_000.0, 100.0],
            "revenue": [1_000.0, 2_000.0, 3_000.0, 50_000.0, 500.0],
            "cts_visits": [300.0, 0.0, 450.0, 1_800.0, 0.0],
            "cts_calls": [20.0, 40.0, 0.0, 100.0, 0.0],
            "cts_emails": [0.0, 3.0, 0.0, 0.0, 0.0],
            "cost_to_serve": [400.0, 100.0, 500.0, 2_500.0, 30.0],
            "current_channel": ["field", "inside", "field", "key_account", "distributor"],
            "channel": ["inside", "inside", "field", "field", "inside"],
        }
    )


def test_observed_channels_and_their_cost_by_hand() -> None:
    res = routes_to_market(_customers(), TermsSettings())
    assert res.customers.column("observed_channel").to_pylist() == [
        "field",
        "inside",
        "field",
        "field",
        "distributor",  # no sales contact: its current channel
    ]
    t = res.tables["routes_to_market"]
    assert tuple(t.column_names) == ROUTE_COLUMNS
    got = {(r["segment"], r["channel"]): r for r in t.to_pylist()}
    cf = got["C", "field"]
    assert cf["customers"] == 2
    assert cf["revenue"] == 4_000.0
    assert cf["cost_of_sale"] == 300 + 20 + 450
    assert cf["cost_of_sale_per_revenue"] == pytest.approx(770 / 4_000)
    assert cf["cost_to_serve_per_revenue"] == pytest.approx(900 / 4_000)
    assert cf["net_contribution"] == pytest.approx(1_200 - 900)
    # the plan keeps c in the field and moves a to inside sales: a tie, broken by name
    assert cf["share_plan_same_channel"] == 0.5
    assert cf["plan_channel"] == "field"
    assert got["C", "inside"]["plan_channel"] == "inside"
    assert got["C", "inside"]["share_plan_same_channel"] == 1.0
    assert got["C", "distributor"]["share_plan_same_channel"] == 0.0


def test_pools_map_to_channels_from_settings() -> None:
    s = TermsSettings(route_channels={"visits": "field", "calls": "telesales"})
    res = routes_to_market(_customers(), s)
    # b's calls are now telesales; its email cost no longer counts as a channel
    assert res.customers.column("observed_channel").to_pylist()[1] == "telesales"


def test_without_a_coverage_plan_the_plan_channel_is_empty_and_said() -> None:
    res = routes_to_market(_customers().drop(["channel"]), TermsSettings())
    rows = res.tables["routes_to_market"].to_pylist()
    assert all(r["plan_channel"] is None for r in rows)
    assert any("coverage plan" in w for w in res.warnings)


def _uncontacted(current: list[str | None], plan: list[str]) -> pa.Table:
    n = len(current)
    return pa.table(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "value_class": ["C"] * n,
            "revenue_12m": [100.0] * n,
            "current_channel": pa.array(current, pa.string()),
            "channel": plan,
        }
    )


def test_current_channel_is_read_as_the_plan_channel_it_names_whatever_its_case() -> None:
    # a customer master that writes "Field", " INSIDE " or "Distributor" means the plan's
    # field, inside and distributor: one row per channel, each on the plan's channel
    t = _uncontacted(
        ["Field", "field", " INSIDE ", "Distributor", "Key Account", None],
        ["field", "field", "inside", "distributor", "field", "email"],
    )
    res = routes_to_market(t, TermsSettings())
    assert res.customers.column("observed_channel").to_pylist() == [
        "field",
        "field",
        "inside",
        "distributor",
        "key_account",
        "none",
    ]
    rows = {r["channel"]: r for r in res.tables["routes_to_market"].to_pylist()}
    assert sorted(rows) == ["distributor", "field", "inside", "key_account", "none"]
    assert rows["field"]["customers"] == 2
    for name in ("field", "inside", "distributor"):
        assert rows[name]["share_plan_same_channel"] == 1.0, name
    assert not any("current_channel" in w and "none of" in w for w in res.warnings)


def test_plan_channels_of_ones_own_are_matched_as_folded() -> None:
    t = _uncontacted(["TELE_SALES", "tele-sales", " Tele  Sales "], ["tele_sales"] * 3)
    res = routes_to_market(t, TermsSettings(), channels=["field", "tele_sales", "email"])
    assert set(res.customers.column("observed_channel").to_pylist()) == {"tele_sales"}
    (row,) = res.tables["routes_to_market"].to_pylist()
    assert row["share_plan_same_channel"] == 1.0


def test_a_current_channel_that_names_no_plan_channel_is_said_once() -> None:
    t = _uncontacted(
        ["Web Shop", "web-shop", " e-mail ", "Field", "web shop"],
        ["email", "email", "email", "field", "email"],
    )
    res = routes_to_market(t, TermsSettings(), customers_file="crm.csv")
    said = [w for w in res.warnings if "current_channel" in w and "none of" in w]
    assert len(said) == 1
    assert said[0].startswith("routes to market: crm.csv, column current_channel: 4 customers")
    assert "'web_shop' (3), 'e_mail' (1)" in said[0]
    assert "(field, inside, email, distributor, key_account, web)" in said[0]
    # one spelling each, counted as a channel of its own, never as the plan's
    rows = {r["channel"]: r for r in res.tables["routes_to_market"].to_pylist()}
    assert rows["web_shop"]["customers"] == 3
    assert rows["e_mail"]["share_plan_same_channel"] == 0.0
    assert rows["field"]["share_plan_same_channel"] == 1.0


def test_the_current_channel_of_a_contacted_customer_is_not_read() -> None:
    # its channel is its largest sales-contact pool: its current_channel is not named
    t = _uncontacted(["Web Shop"], ["field"]).append_column("cts_visits", pa.array([50.0]))
    res = routes_to_market(t, TermsSettings())
    assert res.customers.column("observed_channel").to_pylist() == ["field"]
    assert not any("current_channel" in w and "none of" in w for w in res.warnings)
