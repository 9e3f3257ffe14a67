"""resolve_accounts on tiny tables: the paths that do not fit a model."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tierwise.accounts import resolve_accounts
from tierwise.engine import Engine
from tierwise.errors import InputError
from tierwise.settings import AccountSettings


@pytest.fixture(scope="module")
def engine() -> Engine:
    eng = Engine(threads=1)
    yield eng
    eng.close()


CUSTOMERS = pa.table(
    {
        "customer_id": ["1", "2", "3", "4"],
        "name": ["ACME Ltd", "Acme Limited (Leeds)", "Beta Group", "Acme Holdings"],
        "parent_id": [None, None, None, "1"],
    }
)


def test_too_few_records_skip_the_model_but_apply_decisions_and_parents(engine: Engine) -> None:
    decisions = pa.table({"left_id": ["2"], "right_id": ["1"], "decision": ["confirm"]})
    res = resolve_accounts(CUSTOMERS, AccountSettings(), engine=engine, decisions=decisions)
    acc = dict(
        zip(
            res.mapping["customer_id"].to_pylist(),
            res.mapping["account_id"].to_pylist(),
            strict=True,
        )
    )
    assert acc == {"1": "1", "2": "1", "3": "3", "4": "4"}
    group = dict(
        zip(
            res.mapping["customer_id"].to_pylist(),
            res.mapping["group_account_id"].to_pylist(),
            strict=True,
        )
    )
    assert group["4"] == "1"  # Acme Holdings' parent is record 1
    assert res.summary["model_fitted"] is False
    assert "min_records" in res.summary["model_skipped_reason"]
    assert res.params == {}
    first = res.accounts.to_pylist()[0]
    assert first["member_ids"] == ["1", "2"] and first["branches"] == ["leeds"]
    assert res.decisions.num_rows == 1


def test_switched_off_keeps_every_record_apart(engine: Engine) -> None:
    res = resolve_accounts(CUSTOMERS, AccountSettings(enabled=False), engine=engine)
    assert res.accounts.num_rows == 4
    assert res.summary["n_merged_accounts"] == 0
    assert res.review_queue.num_rows == 0


def test_refuses_repeated_customer_ids(engine: Engine) -> None:
    bad = pa.table({"customer_id": ["1", "1"], "name": ["a", "b"]})
    with pytest.raises(InputError, match="not unique"):
        resolve_accounts(bad, AccountSettings(), engine=engine)


def test_refuses_a_table_without_customer_id(engine: Engine) -> None:
    with pytest.raises(InputError, match="no customer_id column"):
        resolve_accounts(pa.table({"name": ["a"]}), AccountSettings(), engine=engine)


def test_a_failed_training_pass_keeps_every_comparison_in_the_model(engine: Engine) -> None:
    # Splink takes the comparisons a training pass blocks on out of the model while the pass
    # runs; a pass that fails (here: its rule finds no pairs) must not lose them for good
    import splink.comparison_library as cl
    from splink import block_on

    from tierwise.accounts import LinkageSpec, predict_pairs

    rng = np.random.default_rng(3)
    n = 400
    first = rng.choice(["ann", "bob", "cy", "dee", "eve", "fay", "gus", "hal"], n)
    city = rng.choice(["york", "leeds", "hull", "bath"], n)
    # every record unique on 'code', so a pass blocking on it finds no pairs at all
    t = pa.table(
        {
            "uid": [f"r{i}" for i in range(n)],
            "first": first,
            "city": city,
            "code": [f"c{i}" for i in range(n)],
        }
    )
    spec = LinkageSpec(
        unique_id="uid",
        comparisons=(
            cl.ExactMatch("first"),
            cl.ExactMatch("city"),
            cl.ExactMatch("code"),
        ),
        blocking_rules=(block_on("city"),),
        em_rules=(block_on("code"), block_on("first"), block_on("city")),
        deterministic_rules=(),
        u_max_pairs=20_000,
    )
    pred = predict_pairs(engine.from_arrow(t), spec, engine=engine, seed=1)
    assert pred.params["em_skipped"]  # the pass blocking on 'code' could not train
    assert set(pred.params["comparisons"]) == {"first", "city", "code"}
