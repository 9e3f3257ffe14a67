"""resolve_accounts on small tables: the rules, "none found" and "could not look".

A small master is still checked: where the model cannot be fitted (fewer than
``min_records`` records, or a clean master in which EM finds no duplicates to learn from)
the deterministic rules look, and the summary tells "none found" (looked, found none) from
"not looked for" (and why). Splink's own messages never reach the screen.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tierwise.accounts import resolve_accounts
from tierwise.demo import generate
from tierwise.engine import Engine
from tierwise.errors import InputError
from tierwise.settings import AccountSettings


@pytest.fixture(scope="module")
def engine(request, open_engine) -> Iterator[Engine]:
    with open_engine(request, threads=1) as eng:
        yield eng


CUSTOMERS = pa.table(
    {
        "customer_id": ["1", "2", "3", "4"],
        "name": ["ACME Ltd", "Acme Limited (Leeds)", "Beta Group", "Acme Holdings"],
        "parent_id": [None, None, None, "1"],
    }
)


def test_too_few_records_use_the_rules_and_apply_decisions_and_parents(engine: Engine) -> None:
    decisions = pa.table({"left_id": ["2"], "right_id": ["1"], "decision": ["confirm"]})
    res = resolve_accounts(CUSTOMERS, AccountSettings(), engine=engine, decisions=decisions)
    acc = dict(
        zip(
            res.mapping["customer_id"].to_pylist(),
            res.mapping["account_id"].to_pylist(),
            strict=True,
        )
    )
    # the names agree but share nothing else the rules could merge on: only the decision
    assert acc == {"1": "1", "2": "1", "3": "3", "4": "4"}
    group = dict(
        zip(
            res.mapping["customer_id"].to_pylist(),
            res.mapping["group_account_id"].to_pylist(),
            strict=True,
        )
    )
    assert group["4"] == "1"  # Acme Holdings' parent is record 1
    s = res.summary
    assert s["model_fitted"] is False and s["method"] == "rules only"
    assert s["checked"] is True and s["outcome"] == "found"
    assert "min_records" in s["model_not_fitted_reason"]
    assert any("min_records" in w for w in res.warnings)
    assert res.params == {}
    first = res.accounts.to_pylist()[0]
    assert first["member_ids"] == ["1", "2"] and first["branches"] == ["leeds"]
    assert res.decisions.num_rows == 1


def test_switched_off_keeps_every_record_apart_and_says_so(engine: Engine) -> None:
    res = resolve_accounts(CUSTOMERS, AccountSettings(enabled=False), engine=engine)
    assert res.accounts.num_rows == 4
    assert res.summary["n_merged_accounts"] == 0
    assert res.review_queue.num_rows == 0
    assert res.summary["outcome"] == "not looked for" and res.summary["checked"] is False
    assert "enabled = false" in res.headline
    assert res.warnings == []  # the user's own choice, not an assumption


def test_nothing_to_compare_is_could_not_look_with_the_reason(engine: Engine) -> None:
    bare = pa.table({"customer_id": ["1", "2", "3"], "country": ["UK", "UK", "UK"]})
    res = resolve_accounts(bare, AccountSettings(), engine=engine)
    assert res.summary["outcome"] == "not looked for"
    assert "no name, address, postcode, phone or tax id" in res.summary["not_checked_reason"]
    assert res.headline.startswith("duplicates: not looked for (")
    assert len(res.warnings) == 1 and "not looked for" in res.warnings[0]


def test_refuses_repeated_customer_ids(engine: Engine) -> None:
    bad = pa.table({"customer_id": ["1", "1"], "name": ["a", "b"]})
    with pytest.raises(InputError, match="not unique"):
        resolve_accounts(bad, AccountSettings(), engine=engine)


def test_refuses_a_table_without_customer_id(engine: Engine) -> None:
    with pytest.raises(InputError, match="no customer_id column"):
        resolve_accounts(pa.table({"name": ["a"]}), AccountSettings(), engine=engine)


@pytest.mark.engines(
    "duckdb",
    reason="Splink's training takes minutes on Spark even on 400 records, and what this checks "
    "(a failed pass keeps its comparisons in the model) is Splink's Python, the same on both",
)
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


# -- small masters: still checked, "none found" told from "could not look" -------------


@pytest.fixture(scope="module")
def small_demo() -> tuple[pa.Table, pa.Table]:
    data = generate(n_customers=600, seed=4)
    truth = data.truth.filter(pc.invert(data.truth["is_prospect"]))
    return data.customers, truth


def _first_records(truth: pa.Table) -> pa.Table:
    return truth.group_by("company_id", use_threads=False).aggregate(
        [("customer_id", "min"), ("customer_id", "count")]
    )


def test_small_clean_master_is_checked_and_none_found(
    engine: Engine, small_demo: tuple[pa.Table, pa.Table], capfd: pytest.CaptureFixture[str]
) -> None:
    customers, truth = small_demo
    # one record for each of 90 companies: a clean master
    ids = _first_records(truth)["customer_id_min"].slice(0, 90)
    clean = customers.filter(pc.is_in(customers["customer_id"], ids))
    assert clean.num_rows == 90
    res = resolve_accounts(clean, AccountSettings(), engine=engine, seed=1)
    s = res.summary
    assert s["checked"] is True and s["outcome"] == "none found"
    assert s["n_merged_accounts"] == 0
    # EM has no duplicates to learn from: the deterministic rules looked instead
    assert s["method"] == "rules only" and "no duplicates to learn from" in (
        s["model_not_fitted_reason"] or ""
    )
    assert res.headline.startswith("duplicates: none found among 90 records")
    # Splink's own words never reach the screen, the headline or the warnings
    out = capfd.readouterr()
    assert out.out == "" and out.err == ""
    for text in (res.headline, *res.warnings, str(s["model_not_fitted_reason"])):
        assert "Training rule" not in text and "math domain" not in text


@pytest.mark.engines(
    "duckdb",
    reason="Splink's training takes minutes on Spark even on 90 records; "
    "test_accounts_spark.py finds planted duplicates on Spark",
)
def test_small_master_with_three_planted_duplicates_finds_them_all(
    engine: Engine, small_demo: tuple[pa.Table, pa.Table]
) -> None:
    customers, truth = small_demo
    first = _first_records(truth)
    dup = first.filter(pc.greater(first["customer_id_count"], 1)).slice(0, 3)["company_id"]
    dup_ids = truth.filter(pc.is_in(truth["company_id"], dup))["customer_id"].combine_chunks()
    others = first.filter(pc.invert(pc.is_in(first["company_id"], dup)))["customer_id_min"]
    ids = pa.concat_arrays([others.combine_chunks().slice(0, 90 - len(dup_ids)), dup_ids])
    master = customers.filter(pc.is_in(customers["customer_id"], ids))
    assert master.num_rows == 90 and len(dup_ids) >= 6
    res = resolve_accounts(master, AccountSettings(), engine=engine, seed=1)
    company = truth["company_id"].take(
        pc.index_in(res.mapping["customer_id"], value_set=truth["customer_id"])
    )
    pairs = pa.table({"account": res.mapping["account_id"], "company": company})
    # every planted company is one account, and no account holds two companies
    per_company = pairs.group_by("company").aggregate([("account", "count_distinct")])
    per_account = pairs.group_by("account").aggregate([("company", "count_distinct")])
    assert pc.max(per_company["account_count_distinct"]).as_py() == 1
    assert pc.max(per_account["company_count_distinct"]).as_py() == 1
    assert res.summary["n_merged_accounts"] == 3
    assert res.summary["outcome"] == "found"
    assert res.headline.startswith(f"duplicates: {len(dup_ids)} of 90 records merged into 3")


def _sap_master(tax_ids: list[str | None]) -> pa.Table:
    """Three KNA1 records of an SAP S/4HANA export at "Hauptstraße 49"."""
    return pa.table(
        {
            "customer_id": ["100816", "102346", "103876"],
            "name": ["Nord Logistik GmbH", "Bäcker Bäcker Bau AG", "Müller Becker Bau AG"],
            "city": ["Köln", "Nürnberg", "Nürnberg"],
            "postcode": ["11776", "15106", "18436"],
            "address": ["Hauptstraße 49"] * 3,
            "country": ["DE"] * 3,
            "tax_id": pa.array(tax_ids, pa.string()),
        }
    )


def _accounts(res) -> dict[str, str]:  # type: ignore[no-untyped-def]
    m = res.mapping
    return dict(zip(m["customer_id"].to_pylist(), m["account_id"].to_pylist(), strict=True))


def test_namesakes_at_one_street_in_two_postcodes_go_to_review_not_one_account(
    engine: Engine,
) -> None:
    # without the VAT id the rules merged "Bäcker Bäcker Bau AG" (15106) and "Müller Becker
    # Bau AG" (18436) on their street address
    res = resolve_accounts(_sap_master([None, None, None]), AccountSettings(), engine=engine)
    assert len(set(_accounts(res).values())) == 3
    assert res.summary["n_merged_accounts"] == 0
    q = res.review_queue.to_pylist()
    assert [(r["left_id"], r["right_id"]) for r in q] == [("102346", "103876")]
    assert q[0]["reason"].startswith("names agree only in part")
    # with the Umsatzsteuer-Id.Nr mapped, however it is typed, they differ: review
    res = resolve_accounts(
        _sap_master(["DE300380112", "DE301092822", "DE 301 805 532"]),
        AccountSettings(),
        engine=engine,
    )
    assert len(set(_accounts(res).values())) == 3
    q = res.review_queue.to_pylist()
    assert [(r["left_id"], r["right_id"]) for r in q] == [("102346", "103876")]
    assert "tax ids" in q[0]["reason"]


def test_the_same_vat_id_typed_two_ways_merges_namesakes(engine: Engine) -> None:
    res = resolve_accounts(
        _sap_master([None, "DE 301 092 822", "de301092822"]), AccountSettings(), engine=engine
    )
    acc = _accounts(res)
    assert acc["102346"] == acc["103876"] != acc["100816"]
