"""The accounts stage end to end on demo data with planted duplicate companies.

``tierwise.demo.generate(3000, seed=42)`` plants 141 companies entered two or three times
(225 true duplicate pairs) with the variations of a real customer master: legal-form
spellings (Ltd/Limited/LTD/LDT), capitals, typos, branches in brackets, a second site's
address, missing phones and tax ids. It also plants two businesses (or three, or four) in
one building: 129 distinct companies in 53 business parks, shopping centres and serviced
offices, sharing the building's address and postcode and, in serviced offices, often its
switchboard — 117 pairs of different companies that must never be merged (some share the
first word of their name and their e-mail domain as well: "Morgan Cleaning International"
and "Morgan Construction" at 17 York Business Park). Truth: records of one ``company_id``
are one company; ``building_id`` marks the tenants.

Measured here (Splink 5.0 on DuckDB, default settings but u sampled on 300,000 pairs):
pairwise precision 1.000 and recall 0.973 at the default match threshold 0.9; none of the
117 building pairs merged (the name guard held them back; without it, two were merged). Of
the six true pairs missed, two are those of one company's three records split in two: two
of them disagree on their names ("Marsdenand Kestrel" and "Mardsen & Kestrel", two typos
apart), which the guard does not let a third record join either; the match left out goes
to review.
Floors: precision 1.000 and no building pair merged (the issue's requirement: an address
never merges companies whose names disagree), recall ≥ 0.95 (three points of slack for EM
landing elsewhere after an upgrade of Splink or DuckDB).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tierwise import demo
from tierwise.accounts import (
    REVIEW_QUEUE_SCHEMA,
    AccountsResult,
    normalise_customers,
    resolve_accounts,
)
from tierwise.engine import Engine
from tierwise.settings import AccountSettings

pytestmark = pytest.mark.engines(
    "duckdb",
    reason="3,000 records through Splink's training take minutes on Spark; "
    "test_accounts_spark.py checks the planted duplicates on 1,000 demo records on Spark and "
    "compares the accounts with DuckDB's",
)

SETTINGS = AccountSettings(u_max_pairs=300_000)


def _pairs_in_groups(keys: list[pa.Array]) -> int:
    t = pa.table({f"k{i}": k for i, k in enumerate(keys)})
    n = t.group_by(t.column_names).aggregate([([], "count_all")])["count_all"]
    n = np.asarray(n.to_numpy(), dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


@pytest.fixture(scope="module")
def data() -> object:
    return demo.generate(n_customers=3000, seed=42)


@pytest.fixture(scope="module")
def engine(request, open_engine) -> Iterator[Engine]:
    with open_engine(request, threads=2) as eng:
        yield eng


@pytest.fixture(scope="module")
def result(data: object, engine: Engine) -> AccountsResult:
    return resolve_accounts(data.customers, SETTINGS, engine=engine, seed=42)


def company_of(data: object, ids: pa.Array | pa.ChunkedArray) -> pa.Array:
    truth = data.truth
    return truth["company_id"].take(pc.index_in(ids, value_set=truth["customer_id"]))


def test_finds_planted_duplicates_with_full_precision_and_high_recall(
    data: object, result: AccountsResult
) -> None:
    m = result.mapping
    truth = company_of(data, m["customer_id"])
    tp = _pairs_in_groups([m["account_id"], truth])
    p = tp / _pairs_in_groups([m["account_id"]])
    r = tp / _pairs_in_groups([truth])
    print(f"demo 3000: pairwise precision {p:.3f} recall {r:.3f}")
    assert p == 1.0  # measured 1.000
    assert r >= 0.95  # measured 0.973


def test_never_merges_two_businesses_in_one_building(data: object, result: AccountsResult) -> None:
    truth = data.truth  # type: ignore[attr-defined]
    m = result.mapping
    at = pc.index_in(m["customer_id"], value_set=truth["customer_id"])
    building = truth["building_id"].take(at)
    company = truth["company_id"].take(at)
    tenants = pc.is_valid(building)
    b, c, a = (x.filter(tenants) for x in (building, company, m["account_id"]))
    # pairs of different companies in one building; and those that share an account
    shared = _pairs_in_groups([b]) - _pairs_in_groups([b, c])
    merged = _pairs_in_groups([b, a]) - _pairs_in_groups([b, a, c])
    assert shared == 117  # the planted cases are there
    assert merged == 0
    # they are shown to a person instead, with the reason
    reasons = set(result.review_queue["reason"].to_pylist())
    assert any(r.startswith("names disagree") for r in reasons)
    assert result.summary["n_held_back"] > 0


def test_every_record_lands_in_exactly_one_account(data: object, result: AccountsResult) -> None:
    m = result.mapping
    assert m.num_rows == data.customers.num_rows
    assert pc.count_distinct(m["customer_id"]).as_py() == m.num_rows
    assert pc.sum(result.accounts["n_members"]).as_py() == m.num_rows
    assert result.summary["n_accounts"] == result.accounts.num_rows
    assert result.summary["n_merged_accounts"] > 100


def test_review_queue_shows_both_records_and_the_levels(result: AccountsResult) -> None:
    q = result.review_queue
    assert q.num_rows > 0
    for col in (
        "name_l",
        "name_r",
        "phone_l",
        "phone_r",
        "level_name",
        "level_postcode",
        "decision",
    ):
        assert col in q.column_names
    assert q.schema.equals(REVIEW_QUEUE_SCHEMA)
    prob = np.asarray(q["match_probability"])
    # a reason may go on to say the two records are already joined through others
    band = np.asarray(pc.starts_with(q["reason"], "match probability in the review band"))
    assert band.any() and not band.all()
    assert ((prob[band] >= SETTINGS.review_lower) & (prob[band] < SETTINGS.review_upper)).all()
    # the rest were held back by a guard, whatever their probability
    held = [r for r, b in zip(q["reason"].to_pylist(), band, strict=True) if not b]
    # (or, merged, they would chain two records the guards keep apart into one account)
    assert all(r.startswith(("names disagree", "tax ids differ", "merged, it would")) for r in held)
    assert (prob[~band] >= SETTINGS.review_lower).all()


def test_model_parameters_are_reported_for_the_manifest(result: AccountsResult) -> None:
    name = result.params["comparisons"]["name"]
    exact = next(lvl for lvl in name if lvl["level"] == "Exact match on name_norm")
    assert exact["m_probability"] > exact["u_probability"]
    assert exact["tf_adjusted"] is True
    assert result.summary["model_fitted"] is True
    assert result.summary["method"] == "model and rules"
    # a head-count difference is evidence against a match
    size = {lvl["level"]: lvl for lvl in result.params["comparisons"]["size"]}
    other = size["All other comparisons"]
    assert other["m_probability"] < other["u_probability"]
    assert result.summary["n_candidate_pairs"] >= result.summary["n_pairs_scored"]


def test_term_frequency_adjustment_weighs_rare_values_more(
    data: object, engine: Engine, result: AccountsResult
) -> None:
    # Fellegi-Sunter with term frequencies: exact agreement on a value with relative
    # frequency f weighs log2(m / f) instead of log2(m / u), so among pairs that reach the
    # same comparison levels, match_weight + sum(log2 f) over the agreeing tf-adjusted
    # fields (name, city, e-mail domain) is one constant. Without the adjustment the raw
    # weights would be the constant instead.
    norm = engine.to_arrow(normalise_customers(engine.from_arrow(data.customers), SETTINGS))

    def log2_freq(col: str, values: pa.ChunkedArray) -> np.ndarray:
        v = norm[col].drop_null()
        counts = pa.table({"v": v}).group_by("v").aggregate([("v", "count")])
        share = pc.divide(pc.cast(counts["v_count"], pa.float64()), len(v))
        f = share.take(pc.index_in(values, value_set=counts["v"]))
        return np.log2(np.asarray(pc.fill_null(f, 1.0)))

    p = result.pairs
    gamma = {c: np.asarray(p[f"gamma_{c}"]) for c in ("name", "city", "email_domain")}
    levels = {
        c: {lvl["level"]: lvl["gamma"] for lvl in result.params["comparisons"][c]} for c in gamma
    }
    tf_sum = np.zeros(p.num_rows)
    for comp, col in (
        ("name", "name_norm"),
        ("name", "name_core"),
        ("city", "city_norm"),
        ("email_domain", "email_domain"),
    ):
        at = gamma[comp] == levels[comp][f"Exact match on {col}"]
        tf_sum += np.where(at, log2_freq(col, p[f"{col}_l"]), 0.0)
    weight = np.asarray(p["match_weight"])
    keys = np.stack([np.asarray(p[c]) for c in p.column_names if c.startswith("gamma_")], 1)
    _, group = np.unique(keys, axis=0, return_inverse=True)
    big = [g for g in np.unique(group) if (group == g).sum() >= 5]
    assert len(big) >= 5
    for g in big:
        at = group == g
        assert np.ptp(weight[at] + tf_sum[at]) < 1e-6  # rounding of match_weight: 1e-8
    # the adjustment does something here: raw weights differ within a level pattern
    assert max(np.ptp(weight[group == g]) for g in big) > 1.0


def test_blocking_stays_near_linear_and_a_too_loose_rule_is_tightened(
    data: object, engine: Engine, result: AccountsResult
) -> None:
    n = data.customers.num_rows  # type: ignore[attr-defined]
    # the default rules compare a few records per record, not all n(n-1)/2 pairs
    assert result.summary["n_candidate_pairs"] < 5 * n
    assert result.summary["blocking"]["model"]["tightened"] == []
    # blocking on the city alone would compare about n²/88 pairs (44 cities): the blocks
    # are split by postcode start, name start, ... until they fit, and the run says so
    loose = AccountSettings(u_max_pairs=300_000, blocking_rules=[["city_norm"]])
    res = resolve_accounts(data.customers, loose, engine=engine, seed=42)  # type: ignore[attr-defined]
    plan = res.summary["blocking"]["model"]
    (report,) = plan["tightened"]
    assert report["rule"] == ["city_norm"] and report["refined_by"][0] == "postcode_prefix"
    assert sum(r["pairs"] for r in plan["pairs_per_rule"]) <= plan["pair_budget"]
    assert any("blocking of the matching model tightened automatically" in w for w in res.warnings)


def test_parent_records_roll_up_into_their_group(data: object, result: AccountsResult) -> None:
    cust = data.customers
    with_parent = cust.filter(pc.is_valid(cust["parent_id"]))
    assert with_parent.num_rows > 0
    m = result.mapping
    idx = pc.index_in(with_parent["customer_id"], value_set=m["customer_id"])
    pidx = pc.index_in(with_parent["parent_id"], value_set=m["customer_id"])
    child_group = m["group_account_id"].take(idx)
    parent_group = m["group_account_id"].take(pidx)
    assert pc.all(pc.equal(child_group, parent_group)).as_py()


def test_stored_decisions_split_and_join_on_the_next_run(
    data: object, engine: Engine, result: AccountsResult
) -> None:
    m = result.mapping
    acc = result.accounts
    pair = acc.filter(pc.equal(acc["n_members"], 2))["member_ids"][0].as_py()
    # a true duplicate pair the model left apart
    truth = company_of(data, m["customer_id"])
    t = pa.table({"customer_id": m["customer_id"], "account_id": m["account_id"], "company": truth})
    missed = None
    for company in pc.unique(truth).to_pylist():
        rows = t.filter(pc.equal(t["company"], company))
        if rows.num_rows > 1 and pc.count_distinct(rows["account_id"]).as_py() > 1:
            missed = rows["customer_id"].to_pylist()[:2]
            break
    assert missed is not None
    decisions = pa.table(
        {
            "left_id": [pair[1], missed[0]],
            "right_id": [pair[0], missed[1]],
            "decision": ["reject", "confirm"],
            "decided_by": ["test", "test"],
        }
    )
    again = resolve_accounts(data.customers, SETTINGS, engine=engine, decisions=decisions, seed=42)
    new = dict(
        zip(
            again.mapping["customer_id"].to_pylist(),
            again.mapping["account_id"].to_pylist(),
            strict=True,
        )
    )
    old = dict(zip(m["customer_id"].to_pylist(), m["account_id"].to_pylist(), strict=True))
    assert new[pair[0]] != new[pair[1]]
    assert new[missed[0]] == new[missed[1]]
    assert again.summary["n_confirmed_applied"] == 1
    assert again.summary["n_rejected_split"] == 1
    # determinism: every account the decisions did not touch is unchanged
    touched = {old[x] for x in (*pair, *missed)}
    untouched = [
        c for c in old if old[c] not in touched and new[c] not in touched | set(pair) | set(missed)
    ]
    assert len(untouched) > 2900
    assert all(new[c] == old[c] for c in untouched)
    # decided pairs leave the review queue
    q = again.review_queue
    keys = set(zip(q["left_id"].to_pylist(), q["right_id"].to_pylist(), strict=True))
    assert tuple(sorted(pair)) not in keys and tuple(sorted(missed)) not in keys
