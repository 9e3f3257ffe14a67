"""The settings a demo runs with: its size as generated and its data's currency."""

from __future__ import annotations

import pyarrow.compute as pc

from tierwise.demo import CURRENCY_SYMBOL, demo_settings, generate


def test_the_demo_settings_record_the_size_generated_not_the_default() -> None:
    s = demo_settings(2000, 42)
    assert s.demo.n_customers == 2000
    assert s.model_dump()["demo"]["n_customers"] == 2000  # as the manifest writes it
    assert s.run.seed == 42


def test_the_demo_money_is_in_the_currency_of_its_country() -> None:
    data = generate(n_customers=60, seed=1)
    countries = set(pc.unique(data.customers.column("country")).to_pylist())
    assert countries == {"United Kingdom"}
    assert CURRENCY_SYMBOL == "£"
    assert demo_settings(60, 1).segments.currency_symbol == "£"
