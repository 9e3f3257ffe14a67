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
    # names are all this master has: the warning says so (more records would not help)
    assert any("names only" in w for w in res.warnings)
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


# -- customer masters as real exports write them --------------------------------------------


def _master(rows: list[tuple]) -> pa.Table:  # type: ignore[type-arg]
    cols = ("customer_id", "name", "address", "postcode", "city", "phone", "tax_id")
    return pa.table({c: pa.array([r[i] for r in rows], pa.string()) for i, c in enumerate(cols)})


_TILL = ("1 Market Street", "LS1 1AA", "Leeds", "0113 496 0000")


def test_records_named_cash_customer_at_the_till_are_not_merged_into_one_account(
    engine: Engine,
) -> None:
    # a retailer's master: the till's anonymous sales under a few placeholder names, all at
    # the shop's address and phone; and one real company entered twice
    names = ["Cash customer"] * 8 + ["CASH CUSTOMER 2", "Walk-in", "Walk-in", "N/A", "N/A", "-"]
    rows = [(f"G{i:02d}", n, *_TILL, None) for i, n in enumerate(names)]
    rows += [
        ("C1", "Acme Ltd", "9 Mill Lane", "LS2 7AB", "Leeds", None, None),
        ("C2", "ACME LIMITED", "9 Mill Ln", "LS27AB", "Leeds", None, None),
    ]
    res = resolve_accounts(_master(rows), AccountSettings(), engine=engine)
    acc = _accounts(res)
    assert {acc[f"G{i:02d}"] for i in range(len(names))} == {f"G{i:02d}" for i in range(14)}
    assert acc["C2"] == "C1"
    # nothing for a person to judge between two records without a name
    assert res.review_queue.num_rows == 0
    (note,) = [w for w in res.warnings if "no name that names a company" in w]
    assert note.startswith("14 customer records have no name")
    assert "'Cash customer' ×8" in note and "extra_placeholder_names" in note
    assert res.summary["n_without_name"] == 14
    assert res.headline.startswith("duplicates: 2 of 16 records merged into 1 account (")


@pytest.mark.engines(
    "duckdb",
    reason="Splink's training takes minutes on Spark even on 600 records; the guard is "
    "Arrow and NumPy, the same on both",
)
def test_a_nameless_record_is_merged_with_a_named_one_only_on_the_same_tax_id(
    engine: Engine, small_demo: tuple[pa.Table, pa.Table]
) -> None:
    # an "N/A" record at a customer's address, postcode, phone and e-mail domain: which
    # company bought is not known (the model would add those up to a match)
    customers, _ = small_demo
    cols = ["customer_id", "name", "address", "postcode", "city", "phone", "email", "tax_id"]
    master = customers.select(cols)
    first = master.filter(pc.is_valid(master["tax_id"])).slice(0, 2).to_pylist()
    copies = [
        {**first[0], "customer_id": "Z1", "name": "N/A", "tax_id": None},
        {**first[1], "customer_id": "Z2", "name": "-"},  # the same tax id: merged
        {**first[0], "customer_id": "Z3", "name": "-", "tax_id": None},
    ]
    master = pa.concat_tables([master, pa.Table.from_pylist(copies, schema=master.schema)])
    res = resolve_accounts(master, AccountSettings(u_max_pairs=50_000), engine=engine, seed=1)
    acc = _accounts(res)
    assert acc["Z1"] == "Z1" and acc["Z3"] == "Z3"
    assert acc["Z2"] == acc[first[1]["customer_id"]]
    # the pair is a person's to judge: the named record is there to compare with
    held = [r for r in res.review_queue.to_pylist() if "Z1" in (r["left_id"], r["right_id"])]
    assert held and held[0]["reason"].startswith("a record has no name")


def test_a_chain_of_matches_does_not_join_records_whose_tax_ids_differ(engine: Engine) -> None:
    # A~B share a postcode, B~C a phone; A and C carry different VAT numbers: two companies
    rows = [
        ("1", "Acme Ltd", None, "LS2 7AB", "Leeds", None, "GB111111119"),
        ("2", "Acme Limited", None, "LS2 7AB", "Leeds", "0113 222 3333", None),
        ("3", "ACME LTD", None, "M1 1AA", "Manchester", "0113 222 3333", "GB222222228"),
    ]
    res = resolve_accounts(_master(rows), AccountSettings(), engine=engine)
    acc = _accounts(res)
    assert acc["1"] != acc["3"]
    assert acc["2"] == "1"  # the first match, as strong as the second, is kept
    # the match left out is shown to a person, saying why
    (row,) = res.review_queue.to_pylist()
    assert (row["left_id"], row["right_id"]) == ("2", "3")
    assert row["reason"].startswith("merged, it would join 1 and 3 in one account")
    assert "tax ids differ" in row["reason"]
    assert res.summary["n_kept_apart_in_chains"] == 1
    reasons = dict(
        zip(
            res.mapping["customer_id"].to_pylist(),
            res.mapping["merge_reason"].to_pylist(),
            strict=True,
        )
    )
    assert reasons == {
        "1": "with 2: names agree, same postcode",
        "2": "with 1: names agree, same postcode",
        "3": None,
    }


def test_a_confirmed_pair_says_so_in_the_merge_reason(engine: Engine) -> None:
    decisions = pa.table({"left_id": ["3"], "right_id": ["1"], "decision": ["confirm"]})
    res = resolve_accounts(CUSTOMERS, AccountSettings(), engine=engine, decisions=decisions)
    reasons = dict(
        zip(
            res.mapping["customer_id"].to_pylist(),
            res.mapping["merge_reason"].to_pylist(),
            strict=True,
        )
    )
    assert reasons["3"] == "with 1: confirmed by a person"
    assert reasons["4"] is None


def test_names_written_as_exports_write_them_are_still_merged(engine: Engine) -> None:
    # a non-breaking space after the name, capitals and an umlaut spelled out, and a German
    # postcode that lost its leading zero in Excel
    rows = [
        ("1", "Müller Maschinenbau GmbH", None, "01067", "Dresden", None, None),
        ("2", "MUELLER MASCHINENBAU GMBH\u00a0", None, "1067", "Dresden", None, None),
        ("3", "Schäfer\u00a0&\u00a0Söhne KG", "Hauptstr. 5", "04109", "Leipzig", None, None),
        ("4", "Schaefer und Soehne KG", "Hauptstraße 5", "4109", "Leipzig", None, None),
    ]
    res = resolve_accounts(_master(rows), AccountSettings(), engine=engine)
    assert _accounts(res) == {"1": "1", "2": "1", "3": "3", "4": "3"}


def test_a_master_with_names_only_merges_nothing_and_shows_the_same_names(
    engine: Engine,
) -> None:
    companies = [f"Company {chr(65 + i // 26)}{chr(65 + i % 26)} Trading" for i in range(60)]
    t = pa.table(
        {
            "customer_id": [f"{i:03d}" for i in range(63)],
            "name": [
                *companies,
                "company aa trading limited",  # the first company written again
                "COMPANY AB TRADING LTD\u00a0",  # the second
                "Company AC Trading",  # a namesake of the third, in another town
            ],
            "city": ["Leeds"] * 62 + ["York"],
        }
    )
    res = resolve_accounts(t, AccountSettings(), engine=engine)
    s = res.summary
    assert s["n_merged_accounts"] == 0 and s["names_only"] is True
    pairs = {(r["left_id"], r["right_id"]): r["reason"] for r in res.review_queue.to_pylist()}
    assert set(pairs) == {("000", "060"), ("001", "061")}
    assert all(r.startswith("same name, and nothing else") for r in pairs.values())
    assert res.headline.startswith("duplicates: none merged among 63 records: the customer ")
    assert "names only" in res.headline and "2 pairs to review" in res.headline
    (note,) = [w for w in res.warnings if "names only" in w]
    assert "[customers.columns]" in note
    # why the model was not fitted names what the master compares (not "a clean master")
    reason = s["model_not_fitted_reason"]
    assert reason.startswith("the matching model has nothing to learn from: ")
    assert reason.endswith("this customer master compares name, city only")


def test_an_account_of_many_records_is_named_in_the_warnings(engine: Engine) -> None:
    # a placeholder name of the user's own language merges its records: the warning says
    # so, and the setting to name it
    rows = [(f"G{i:02d}", "Kontantsalg", None, "LS1 1AA", "Leeds", None, None) for i in range(12)]
    rows += [(f"C{i:02d}", f"Firm {i}", None, f"LS{i} 1AB", "Leeds", None, None) for i in range(30)]
    res = resolve_accounts(_master(rows), AccountSettings(), engine=engine)
    (note,) = [w for w in res.warnings if "merged from more than 10 records" in w]
    assert note.startswith("1 account merged from more than 10 records: G00 (12 records, ")
    assert "'Kontantsalg'" in note and "extra_placeholder_names" in note
    res = resolve_accounts(
        _master(rows), AccountSettings(extra_placeholder_names=["kontantsalg"]), engine=engine
    )
    assert res.summary["n_merged_accounts"] == 0
    assert not any("merged from more than" in w for w in res.warnings)


@pytest.mark.engines(
    "duckdb",
    reason="Splink's training takes minutes on Spark even on 600 records; what is checked "
    "(which blocking rules can pair records, and the message) is the same on both",
)
def test_a_blocking_rule_on_a_column_the_master_lacks_is_named_with_what_to_do(
    engine: Engine, small_demo: tuple[pa.Table, pa.Table]
) -> None:
    customers, _ = small_demo
    no_phone = customers.drop_columns(["phone"])
    res = resolve_accounts(
        no_phone, AccountSettings(blocking_rules=[["phone_norm"]]), engine=engine, seed=1
    )
    reason = res.summary["model_not_fitted_reason"]
    assert reason.startswith("none of [accounts] blocking_rules can pair records")
    assert '["phone_norm"] pairs no records: phone_norm has no values' in reason
    assert 'add a rule on a column it has, such as ["name_core"]' in reason
    assert "no field to compare" not in reason
    res = resolve_accounts(
        no_phone,
        AccountSettings(blocking_rules=[["phone_norm"], ["name_core"]], u_max_pairs=50_000),
        engine=engine,
        seed=1,
    )
    assert res.summary["model_fitted"] is True
    (note,) = [w for w in res.warnings if w.startswith("[accounts] blocking_rules:")]
    assert '["phone_norm"] pairs no records' in note and "drop the rule" in note


@pytest.mark.engines(
    "duckdb",
    reason="Splink's training takes minutes on Spark even on 600 records; "
    "test_accounts_spark.py compares Spark's accounts with DuckDB's",
)
def test_a_chain_through_a_short_name_does_not_join_two_companies_in_one_building(
    engine: Engine, small_demo: tuple[pa.Table, pa.Table]
) -> None:
    # "Acme" agrees with "Acme Dental" and with "Acme Maintenance" (one name lacks words of
    # the other): the model matches both pairs, all three at one address and switchboard;
    # "Acme Dental" and "Acme Maintenance" are two companies
    customers, _ = small_demo
    cols = ["customer_id", "name", "address", "postcode", "city", "phone", "email"]
    building = ("7 Quay Business Park", "BS1 5TT", "Bristol", "0117 900 1000", None)
    extra = pa.table(
        {
            c: pa.array(v, pa.string())
            for c, v in zip(
                cols,
                zip(
                    ("Z1", "Acme Dental Ltd", *building),
                    ("Z2", "Acme Ltd", *building),
                    ("Z3", "Acme Maintenance Ltd", *building),
                    strict=True,
                ),
                strict=True,
            )
        }
    )
    master = pa.concat_tables([customers.select(cols), extra])
    res = resolve_accounts(master, AccountSettings(u_max_pairs=50_000), engine=engine, seed=1)
    acc = _accounts(res)
    assert acc["Z1"] != acc["Z3"]


@pytest.mark.engines(
    "duckdb",
    reason="Splink's training takes minutes on Spark even on 600 records; the review band "
    "is Arrow, the same on both",
)
def test_a_match_threshold_above_the_review_band_leaves_no_pair_unmerged_and_unshown(
    engine: Engine, small_demo: tuple[pa.Table, pa.Table]
) -> None:
    # raised to be safe, the threshold leaves pairs between 0.95 and it unmerged: they are
    # shown for review, not dropped
    customers, _ = small_demo
    settings = AccountSettings(match_threshold=0.9999, u_max_pairs=50_000)
    res = resolve_accounts(customers, settings, engine=engine, seed=1)
    p = res.pairs
    merged = pc.fill_null(
        pc.or_(p["rule_link"], pc.greater_equal(p["match_probability"], 0.9999)), False
    )
    gap = p.filter(
        pc.and_(
            pc.and_(pc.greater_equal(p["match_probability"], 0.95), pc.invert(merged)),
            pc.less(p["match_probability"], 0.9999),
        )
    )
    assert gap.num_rows > 0
    queued = set(
        zip(
            res.review_queue["left_id"].to_pylist(),
            res.review_queue["right_id"].to_pylist(),
            strict=True,
        )
    )
    for left, right in zip(gap["left_id"].to_pylist(), gap["right_id"].to_pylist(), strict=True):
        assert (left, right) in queued


def test_one_pair_to_review_is_counted_in_words(engine: Engine) -> None:
    master = pa.table(
        {"customer_id": ["1", "2", "3"], "name": ["Acme Ltd", "ACME LTD", "Beta GmbH"]}
    )
    res = resolve_accounts(master, AccountSettings(), engine=engine)
    assert res.headline.endswith("; 1 pair to review in review_queue.csv")
