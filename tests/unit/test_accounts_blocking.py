"""Blocking keys that tighten themselves where a block is too large.

A user with a million-record master must not tune blocking rules: a key value shared by
more than ``max_block_records`` records is split by the next refinement column, a value
still too common is left to the other rules, and the block cap halves until the pairs fit
the budget. Each case here is small enough to count the pairs by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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


def test_a_lower_cap_refines_from_where_the_last_one_stopped(engine: Engine) -> None:
    # 16 "acme": split by city at a cap of 10 (blocks of 4), then, the budget still
    # exceeded, by postcode at a cap of 2 (blocks of 2): the key carries each column once
    names = ["acme"] * 16
    cities = [c for c in ("a", "b", "c", "d") for _ in range(4)]
    table = _records(names, cities)
    postcodes = pa.array([f"p{i % 2}" for i in range(16)], pa.string())
    table = table.set_column(
        table.column_names.index("postcode_prefix"), "postcode_prefix", postcodes
    )
    s = AccountSettings(max_block_records=20, max_pairs_per_record=0.5)
    keyed, plan = plan_blocking(engine.from_arrow(table), s, engine=engine, rules=[["name_core"]])
    assert plan.pairs == (8,) and plan.block_cap == 2
    (report,) = plan.tightened
    assert report["refined_by"] == ["city_norm", "postcode_prefix"]
    keys = _keys(engine, keyed, "block_key_0")
    assert keys["000"] == "acme\x1fa\x1fp0" and keys["001"] == "acme\x1fa\x1fp1"
    assert keys["015"] == "acme\x1fd\x1fp1"


def test_a_budget_no_blocks_can_meet_is_a_settings_error(engine: Engine) -> None:
    t = engine.from_arrow(_records(["a", "a", "b", "b"], ["x", "x", "y", "y"]))
    s = AccountSettings(max_pairs_per_record=0.1, block_refinements=[])
    with pytest.raises(SettingsError, match="max_pairs_per_record"):
        plan_blocking(t, s, engine=engine, rules=[["name_core"], ["city_norm"]])


# -- the plan against a record-by-record reference of the rules above -------------------------

_SEP = "\x1f"


def _reference(
    rows: list[dict[str, str | None]],
    rules: list[list[str]],
    refinements: list[str],
    cap: int,
    budget: int,
) -> tuple[list[dict[str, str | None]], list[int], int, list[tuple[int, int, int, int, int]]]:
    """The blocking plan worked out one record at a time, as the module's docstring states
    it: keys, pairs per rule, the final cap, and per tightened rule (values refined,
    records refined, depth, values dropped, records dropped)."""
    refs = [[c for c in refinements if c not in r] for r in rules]
    keys = [
        {
            row["customer_id"]: (
                None if any(row[c] is None for c in r) else _SEP.join(str(row[c]) for c in r)
            )
            for row in rows
        }
        for r in rules
    ]
    orig = [dict(k) for k in keys]
    lvl = [dict.fromkeys(orig[0], 0) for _ in rules]
    by_id = {row["customer_id"]: row for row in rows}

    def sizes(i: int) -> dict[str, int]:
        counts: dict[str, int] = {}
        for k in keys[i].values():
            if k is not None:
                counts[k] = counts.get(k, 0) + 1
        return {u: (counts[k] if k is not None else 0) for u, k in keys[i].items()}

    def pairs(i: int) -> int:
        return sum(max(n - 1, 0) for n in sizes(i).values()) // 2

    touched: set[int] = set()
    while True:
        for i in range(len(rules)):
            if max(sizes(i).values(), default=0) <= cap:
                continue
            touched.add(i)
            for level, col in enumerate(refs[i], start=1):
                n = sizes(i)
                due = [u for u in keys[i] if n[u] > cap and lvl[i][u] == level - 1]
                for u in due:
                    keys[i][u] = f"{keys[i][u]}{_SEP}{by_id[u][col] or ''}"
                    lvl[i][u] = level
            n = sizes(i)
            for u in keys[i]:
                if n[u] > cap:
                    keys[i][u] = None
        total = sum(pairs(i) for i in range(len(rules)))
        if total <= budget or cap <= 2:
            break
        cap = max(2, cap // 2)
    reports = []
    for i in sorted(touched):
        refined = [u for u in keys[i] if lvl[i][u] > 0]
        dropped = [u for u in keys[i] if keys[i][u] is None and orig[i][u] is not None]
        reports.append(
            (
                len({orig[i][u] for u in refined}),
                len(refined),
                max((lvl[i][u] for u in refined), default=0),
                len({orig[i][u] for u in dropped}),
                len(dropped),
            )
        )
    return keys, [pairs(i) for i in range(len(rules))], cap, reports


def _common_and_tail(rng: Any, n: int, values: int, nulls: float) -> list[str | None]:
    """``n`` key values: a few very common ones and a long tail, some missing."""
    v = rng.zipf(1.6, n) % values
    return [None if rng.random() < nulls else f"v{x}" for x in v]


@pytest.mark.parametrize("seed", range(6))
def test_the_plan_matches_a_record_by_record_reference(engine: Engine, seed: int) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    n = 400

    def column(values: int, nulls: float) -> list[str | None]:
        return _common_and_tail(rng, n, values, nulls)

    rows = [
        dict(zip(("name_core", "city_norm", "postcode_prefix", "name_prefix"), vals, strict=True))
        for vals in zip(
            column(40, 0.05), column(6, 0.1), column(12, 0.2), column(5, 0.0), strict=True
        )
    ]
    for i, row in enumerate(rows):
        row["customer_id"] = f"{i:04d}"
        row["address_number"] = None if i % 7 == 0 else str(i % 9)
    table = pa.Table.from_pylist(rows)
    rules = [["name_core"], ["city_norm", "name_prefix"], ["postcode_prefix"]]
    refinements = ["city_norm", "postcode_prefix", "name_prefix", "address_number"]
    # at least 1.5 pairs per record: blocks of two always fit (no settings error)
    cap, per_record = int(rng.integers(4, 40)), float(rng.uniform(1.6, 4.0))
    s = AccountSettings(
        max_block_records=cap, max_pairs_per_record=per_record, block_refinements=refinements
    )
    keyed, plan = plan_blocking(engine.from_arrow(table), s, engine=engine, rules=rules)
    budget = int(per_record * n)
    want_keys, want_pairs, want_cap, want_reports = _reference(
        rows, rules, refinements, cap, budget
    )
    assert plan.block_cap == want_cap and list(plan.pairs) == want_pairs
    for i in range(len(rules)):
        assert _keys(engine, keyed, f"block_key_{i}") == want_keys[i], f"rule {i}"
    got_reports = [
        (
            r["values_refined"],
            r["records_refined"],
            len(r["refined_by"]),
            r["values_dropped"],
            r["records_dropped"],
        )
        for r in plan.tightened
    ]
    assert got_reports == [r for r in want_reports if r[0] or r[3]]
    assert plan.tightened, "the data should be common enough to tighten a rule"


# -- distinct pairs: the keys' own count against Splink's blocking joins --------------------


def test_distinct_pairs_count_a_pair_sharing_several_keys_once() -> None:
    import numpy as np

    from tierwise.accounts.blocking import distinct_pairs

    # records 0-1 share both keys, 2-3 the first only, 2-4 the second only
    first = np.array([0, 0, 1, 1, -1])
    second = np.array([7, 7, 8, 9, 8])
    assert distinct_pairs([first, second]) == 3  # (0,1) once, (2,3), (2,4)
    assert distinct_pairs([]) == 0
    assert distinct_pairs([np.array([-1, -1, 3])]) == 0


@pytest.mark.parametrize("seed", range(3))
def test_the_plans_distinct_pairs_are_what_splink_counts(engine: Engine, seed: int) -> None:
    import numpy as np
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on

    from tierwise.accounts.linkage import _physical_name, _rule_pair_bound

    rng = np.random.default_rng(seed)
    n = 300

    def column(values: int, nulls: float) -> list[str | None]:
        return _common_and_tail(rng, n, values, nulls)

    table = pa.table(
        {
            "customer_id": [f"{i:04d}" for i in range(n)],
            "name_core": column(40, 0.05),
            "city_norm": column(6, 0.1),
            "postcode_prefix": column(12, 0.2),
            "name_prefix": column(5, 0.0),
            "address_number": [None if i % 7 == 0 else str(i % 9) for i in range(n)],
        }
    )
    rules = [["name_core"], ["city_norm", "name_prefix"], ["postcode_prefix"]]
    s = AccountSettings(max_block_records=int(rng.integers(4, 30)), max_pairs_per_record=3.0)
    keyed, plan = plan_blocking(engine.from_arrow(table), s, engine=engine, rules=rules)
    db_api = engine.splink_api()
    linker = Linker(
        db_api.register(_physical_name(keyed)),
        SettingsCreator(
            link_type="dedupe_only",
            unique_id_column_name="customer_id",
            comparisons=[cl.ExactMatch("name_core")],
            blocking_rules_to_generate_predictions=[block_on(k) for k in plan.keys],
        ),
        log_level=None,
    )
    counts = linker.blocking_analysis.count_comparisons_from_blocking_rules(
        record_sample_proportion=1.0
    )
    assert plan.distinct_pairs == int(counts[-1]["cumulative_comparison_count"])
    assert plan.distinct_pairs <= plan.n_pairs
    assert plan.n_pairs == _rule_pair_bound(engine, [keyed], [(k,) for k in plan.keys])


@pytest.mark.parametrize("seed", range(6))
def test_distinct_pairs_equal_the_pairs_listed_one_by_one(seed: int) -> None:
    """Inclusion and exclusion over up to five keys against the set of every pair that
    shares a key, listed record by record (NULL keys pair with nothing)."""
    import itertools

    import numpy as np

    from tierwise.accounts.blocking import distinct_pairs

    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 120))
    codes = []
    for _ in range(int(rng.integers(1, 6))):
        code = rng.integers(0, int(rng.integers(1, 12)), n)
        code[rng.random(n) < rng.random() * 0.5] = -1
        codes.append(code)
    listed = {
        (a, b)
        for a, b in itertools.combinations(range(n), 2)
        if any(c[a] >= 0 and c[a] == c[b] for c in codes)
    }
    assert distinct_pairs(codes) == len(listed)
