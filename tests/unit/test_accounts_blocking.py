"""Blocking keys that tighten themselves where a block is too large.

A user with a million-record master must not tune blocking rules: a key value shared by
more than ``max_block_records`` records is split by the next refinement column, a value
still too common is left to the other rules, and the block cap halves until the pairs fit
the budget. Each case here is small enough to count the pairs by hand.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from tierwise.accounts import plan_blocking
from tierwise.engine import Engine
from tierwise.errors import SettingsError
from tierwise.settings import AccountSettings


@pytest.fixture(scope="module")
def engine(request, open_engine) -> Iterator[Engine]:
    with open_engine(request, threads=1) as eng:
        yield eng


def _records(names: list[str | None], cities: list[str | None]) -> pa.Table:
    n = len(names)
    return pa.table(
        {
            "customer_id": [f"{i:03d}" for i in range(n)],
            "name_core": pa.array(names, pa.string()),
            "city_norm": pa.array(cities, pa.string()),
            "postcode_prefix": pa.array([None] * n, pa.string()),
            "name_prefix": pa.array([None] * n, pa.string()),
            "address_number": pa.array([None] * n, pa.string()),
        }
    )


def _keys(engine: Engine, keyed: object, key: str) -> dict[str, str | None]:
    t = engine.to_arrow(keyed.select("customer_id", key).order_by("customer_id"))  # type: ignore[attr-defined]
    return dict(zip(t["customer_id"].to_pylist(), t[key].to_pylist(), strict=True))


def test_small_blocks_keep_the_rule_as_written(engine: Engine) -> None:
    t = engine.from_arrow(
        _records(["acme", "acme", "acme", "beta", None], ["a", "b", "c", "a", "a"])
    )
    keyed, plan = plan_blocking(t, AccountSettings(), engine=engine, rules=[["name_core"]])
    assert plan.pairs == (3,)  # the three acmes: 3 pairs; a NULL name blocks nothing
    assert plan.tightened == ()
    assert plan.notes() == []
    keys = _keys(engine, keyed, "block_key_0")
    assert keys["000"] == keys["001"] == keys["002"] != keys["003"]
    assert keys["004"] is None


def test_a_too_large_block_is_split_by_the_next_column(engine: Engine) -> None:
    # six "acme" records in two cities; blocks of more than three are too large
    names = ["acme"] * 6 + ["beta", "beta"]
    cities = ["leeds", "leeds", "leeds", "york", "york", "york", "leeds", "york"]
    t = engine.from_arrow(_records(names, cities))
    s = AccountSettings(max_block_records=3, max_pairs_per_record=100)
    keyed, plan = plan_blocking(t, s, engine=engine, rules=[["name_core"]])
    # 15 pairs among six acmes become 3 + 3 within each city; the betas stay one block
    assert plan.pairs == (7,)
    (report,) = plan.tightened
    assert report["values_refined"] == 1 and report["records_refined"] == 6
    assert report["refined_by"] == ["city_norm"] and report["values_dropped"] == 0
    keys = _keys(engine, keyed, "block_key_0")
    assert keys["000"] == keys["002"] != keys["003"] == keys["005"]
    assert keys["006"] == keys["007"]  # beta's small block is left alone
    assert "split further by city_norm" in plan.notes()[0]


def test_a_value_too_common_after_every_refinement_is_left_to_other_rules(
    engine: Engine,
) -> None:
    t = engine.from_arrow(_records(["acme"] * 5 + ["beta"] * 2, ["leeds"] * 7))
    s = AccountSettings(max_block_records=3, max_pairs_per_record=100)
    keyed, plan = plan_blocking(t, s, engine=engine, rules=[["name_core"]])
    assert plan.pairs == (1,)  # only the two betas
    (report,) = plan.tightened
    assert report["values_dropped"] == 1 and report["records_dropped"] == 5
    assert _keys(engine, keyed, "block_key_0")["000"] is None


def test_the_block_cap_halves_until_the_pairs_fit_the_budget(engine: Engine) -> None:
    # 4 cities x 4 "acme": 120 pairs as one block, 24 within cities, 0 when dropped
    names = ["acme"] * 16
    cities = [c for c in ("a", "b", "c", "d") for _ in range(4)]
    t = engine.from_arrow(_records(names, cities))
    # a budget of 2 pairs per record (32) lets the city split (24 pairs) stand
    s = AccountSettings(max_block_records=20, max_pairs_per_record=2)
    _, plan = plan_blocking(t, s, engine=engine, rules=[["name_core"]])
    assert plan.pairs == (24,)
    assert plan.block_cap == 10  # 20 allowed the 120-pair block: halved once
    # a budget of one pair per record (16) needs blocks of at most 3: the cities drop out
    s = AccountSettings(max_block_records=20, max_pairs_per_record=1)
    _, plan = plan_blocking(t, s, engine=engine, rules=[["name_core"]])
    assert plan.pairs[0] <= 16 and plan.block_cap < 4


def test_a_budget_no_blocks_can_meet_is_a_settings_error(engine: Engine) -> None:
    t = engine.from_arrow(_records(["a", "a", "b", "b"], ["x", "x", "y", "y"]))
    s = AccountSettings(max_pairs_per_record=0.1, block_refinements=[])
    with pytest.raises(SettingsError, match="max_pairs_per_record"):
        plan_blocking(t, s, engine=engine, rules=[["name_core"], ["city_norm"]])
