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
