"""Clustering with stored decisions, parent roll-up, account table, merge summary."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import ValidationError

from tierwise.accounts import (
    account_table,
    class_changes,
    clean_decisions,
    cluster_pairs,
    group_accounts,
    group_totals,
    merge_summary,
    review_queue,
)
from tierwise.errors import InputError, Problems
from tierwise.io import read_decisions
from tierwise.io.outputs import write_csv
from tierwise.settings import AccountSettings


def pairs(*rows: tuple[str, str, float]) -> pa.Table:
    return pa.table(
        {
            "left_id": [r[0] for r in rows],
            "right_id": [r[1] for r in rows],
            "match_probability": [r[2] for r in rows],
        }
    )


def accounts_of(mapping: pa.Table) -> dict[str, str]:
    return dict(
        zip(mapping["customer_id"].to_pylist(), mapping["account_id"].to_pylist(), strict=True)
    )


def test_links_pairs_at_or_above_threshold_transitively() -> None:
    p = pairs(("a", "b", 0.95), ("b", "c", 0.9), ("c", "d", 0.89))
    mapping, stats = cluster_pairs(["d", "c", "b", "a", "e"], p, threshold=0.9)
    assert accounts_of(mapping) == {"a": "a", "b": "a", "c": "a", "d": "d", "e": "e"}
    assert stats["n_links"] == 2
    assert mapping["customer_id"].to_pylist() == ["a", "b", "c", "d", "e"]


def test_account_id_is_smallest_member_whatever_the_pair_order() -> None:
    p = pairs(("z9", "k1", 0.99), ("k1", "m5", 0.99))
    mapping, _ = cluster_pairs(["z9", "m5", "k1"], p, threshold=0.5)
    assert set(accounts_of(mapping).values()) == {"k1"}


def test_confirmed_pair_is_joined_even_below_threshold() -> None:
    p = pairs(("a", "b", 0.2))
    d = clean_decisions(pa.table({"left_id": ["b"], "right_id": ["a"], "decision": ["confirm"]}))
    mapping, stats = cluster_pairs(["a", "b", "c"], p, threshold=0.9, decisions=d)
    assert accounts_of(mapping) == {"a": "a", "b": "a", "c": "c"}
    assert stats["n_confirmed"] == 1


def test_rejected_pair_is_split_even_when_linked_through_a_third_record() -> None:
    # a-b strong, b-c strong: a chain a-b-c; the person says a and c are different
    p = pairs(("a", "b", 0.99), ("b", "c", 0.95))
    d = clean_decisions(pa.table({"left_id": ["a"], "right_id": ["c"], "decision": ["reject"]}))
    mapping, stats = cluster_pairs(["a", "b", "c"], p, threshold=0.9, decisions=d)
    acc = accounts_of(mapping)
    assert acc["a"] != acc["c"]
    # b stays with its strongest link, a
    assert acc["b"] == acc["a"] == "a" and acc["c"] == "c"
    assert stats["n_rejected_split"] == 1


def test_rejected_direct_pair_is_never_linked() -> None:
    p = pairs(("a", "b", 0.999))
    d = clean_decisions(pa.table({"left_id": ["a"], "right_id": ["b"], "decision": ["reject"]}))
    mapping, _ = cluster_pairs(["a", "b"], p, threshold=0.9, decisions=d)
    assert accounts_of(mapping) == {"a": "a", "b": "b"}


def test_rejection_beats_contradicting_confirmations_and_counts_the_conflict() -> None:
    d = clean_decisions(
        pa.table(
            {
                "left_id": ["a", "b", "a"],
                "right_id": ["b", "c", "c"],
                "decision": ["confirm", "confirm", "reject"],
            }
        )
    )
    mapping, stats = cluster_pairs(["a", "b", "c"], pairs(), threshold=0.9, decisions=d)
    acc = accounts_of(mapping)
    assert acc["a"] != acc["c"]
    assert stats["n_conflicts"] == 1


def test_a_pair_kept_apart_is_not_chained_into_one_account_by_a_third_record() -> None:
    # a~b and b~c are matches, but a and c are plainly two companies (their tax ids differ)
    p = pairs(("a", "b", 0.99), ("b", "c", 0.95), ("d", "e", 0.97))
    apart = pa.table({"left_id": ["a"], "right_id": ["c"]})
    mapping, _ = cluster_pairs(["a", "b", "c", "d", "e"], p, 0.9, apart=apart)
    # b stays with its strongest match; the other accounts are left as they were
    assert accounts_of(mapping) == {"a": "a", "b": "a", "c": "c", "d": "d", "e": "d"}


def test_links_a_person_confirmed_join_a_pair_kept_apart() -> None:
    # the guards' apart pairs are a machine's judgment: a person's confirmations outrank it
    p = pairs(("a", "b", 0.99))
    d = clean_decisions(pa.table({"left_id": ["b"], "right_id": ["c"], "decision": ["confirm"]}))
    apart = pa.table({"left_id": ["a"], "right_id": ["c"]})
    mapping, _ = cluster_pairs(["a", "b", "c"], p, 0.9, decisions=d, apart=apart)
    # the confirmed b-c is joined first; the model's a-b would join the apart pair: left out
    assert accounts_of(mapping) == {"a": "a", "b": "b", "c": "b"}
    both = clean_decisions(
        pa.table({"left_id": ["a", "b"], "right_id": ["b", "c"], "decision": ["confirm"] * 2})
    )
    mapping, _ = cluster_pairs(["a", "b", "c"], pairs(), 0.9, decisions=both, apart=apart)
    assert set(accounts_of(mapping).values()) == {"a"}


def test_pairs_naming_unknown_ids_are_ignored() -> None:
    mapping, _ = cluster_pairs(["a", "b"], pairs(("a", "x", 0.99)), threshold=0.5)
    assert accounts_of(mapping) == {"a": "a", "b": "b"}


def test_latest_decision_on_a_pair_wins_and_blank_rows_are_skipped() -> None:
    d = clean_decisions(
        pa.table(
            {
                "left_id": ["a", "b", "c"],
                "right_id": ["b", "a", "d"],
                "decision": ["Confirm", "no", ""],
                "decided_by": ["ann", "bob", None],
                "decided_at": [
                    dt.datetime(2025, 1, 2),
                    dt.datetime(2025, 3, 1),
                    None,
                ],
            }
        )
    )
    assert d.to_pylist() == [
        {
            "left_id": "a",
            "right_id": "b",
            "decision": "reject",
            "decided_by": "bob",
            "decided_at": dt.datetime(2025, 3, 1),
            "decided_at_as_written": None,
        }
    ]


def test_unknown_decisions_are_reported_together_with_their_rows() -> None:
    bad = pa.table(
        {"left_id": ["a", "b"], "right_id": ["c", "d"], "decision": ["maybe", "perhaps"]}
    )
    with pytest.raises(Problems) as err:
        clean_decisions(bad, source="decisions.csv")
    text = str(err.value)
    assert "decisions.csv, row 2, column 'decision': unknown decision 'maybe'" in text
    assert "row 3" in text


def test_decisions_without_id_columns_are_refused() -> None:
    with pytest.raises(InputError, match="missing right_id"):
        clean_decisions(pa.table({"left_id": ["a"], "decision": ["confirm"]}))


def test_review_queue_holds_the_band_with_evidence_and_skips_decided_pairs() -> None:
    p = pa.table(
        {
            "left_id": ["1", "1", "2", "3"],
            "right_id": ["2", "3", "3", "4"],
            "match_weight": [1.0, 5.0, -1.0, 0.2],
            "match_probability": [0.6, 0.97, 0.4, 0.55],
            "gamma_name": [3, 4, 1, 3],
            "name_core_l": ["acme", "acme", "acme", "beta"],
            "name_core_r": ["acme", "acme", "acmee", "beta"],
        }
    )
    levels = {"name": {4: "Exact match on name_norm", 3: "Exact match on name_core", 1: "JW"}}
    decided = clean_decisions(
        pa.table({"left_id": ["4"], "right_id": ["3"], "decision": ["reject"]})
    )
    q = review_queue(p, levels, lower=0.5, upper=0.95, decisions=decided)
    assert list(zip(q["left_id"].to_pylist(), q["right_id"].to_pylist(), strict=True)) == [
        ("1", "2")
    ]
    assert q["level_name"].to_pylist() == ["Exact match on name_core"]
    assert q["name_core_l"].to_pylist() == ["acme"]
    for col in ("decision", "decided_by", "decided_at"):
        assert q[col].null_count == 1


def test_filled_in_review_queue_reads_back_as_decisions() -> None:
    p = pa.table(
        {
            "left_id": ["1"],
            "right_id": ["2"],
            "match_weight": [1.0],
            "match_probability": [0.6],
        }
    )
    q = review_queue(p, {}, lower=0.5, upper=0.95)
    filled = q.set_column(q.column_names.index("decision"), "decision", pa.array(["confirm"]))
    mapping, _ = cluster_pairs(["1", "2"], p, 0.9, clean_decisions(filled))
    assert accounts_of(mapping) == {"1": "1", "2": "1"}


def test_a_queue_of_formula_like_ids_written_filled_in_and_read_back_is_applied(
    tmp_path: Path,
) -> None:
    # ids a spreadsheet would run as formulas: the CSV writes them with an apostrophe
    ids = ["=A1", "+B2", "-C3", "@D4", "\tE5", "-6"]
    p = pa.table(
        {
            "left_id": ids[0::2],
            "right_id": ids[1::2],
            "match_weight": [1.0, 1.0, 1.0],
            "match_probability": [0.6, 0.6, 0.6],
        }
    )
    path = tmp_path / "review_queue.csv"
    write_csv(review_queue(p, {}, lower=0.5, upper=0.95), path)
    assert "'=A1" in path.read_text(encoding="utf-8")
    # a person fills in every decision, as in a spreadsheet
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    at = rows[0].index("decision")
    for row in rows[1:]:
        row[at] = "confirm"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    decisions = clean_decisions(read_decisions(path), source=str(path))
    read = set(
        zip(decisions["left_id"].to_pylist(), decisions["right_id"].to_pylist(), strict=True)
    )
    assert read == {("+B2", "=A1"), ("-C3", "@D4"), ("\tE5", "-6")}
    mapping, stats = cluster_pairs(ids, p, 0.9, decisions)
    assert accounts_of(mapping) == {
        "=A1": "+B2", "+B2": "+B2", "-C3": "-C3", "@D4": "-C3", "\tE5": "\tE5", "-6": "\tE5"
    }  # fmt: skip
    assert stats["n_confirmed"] == 3


def test_parent_chain_rolls_up_to_the_top_account() -> None:
    customers = pa.table(
        {
            "customer_id": ["h", "s1", "s1b", "s2", "x"],
            "parent_id": [None, "h", None, "s1b", "nobody"],
        }
    )
    # s1 and s1b are duplicates of one subsidiary (account s1)
    mapping = pa.table(
        {
            "customer_id": ["h", "s1", "s1b", "s2", "x"],
            "account_id": ["h", "s1", "s1", "s2", "x"],
        }
    )
    out, stats = group_accounts(customers, mapping)
    rows = {r["customer_id"]: r for r in out.to_pylist()}
    assert rows["s2"]["parent_account_id"] == "s1"  # its parent record sits in account s1
    assert rows["s2"]["group_account_id"] == "h"
    assert rows["s1b"]["group_account_id"] == "h"
    assert rows["h"]["parent_account_id"] is None and rows["h"]["group_account_id"] == "h"
    assert rows["x"]["group_account_id"] == "x"  # unknown parent ignored
    assert stats["n_groups"] == 1 and stats["n_cycles"] == 0


def test_parent_cycle_is_kept_apart_and_counted() -> None:
    customers = pa.table({"customer_id": ["a", "b", "c"], "parent_id": ["b", "a", "a"]})
    mapping = pa.table({"customer_id": ["a", "b", "c"], "account_id": ["a", "b", "c"]})
    out, stats = group_accounts(customers, mapping)
    assert stats["n_cycles"] >= 2
    groups = dict(
        zip(out["customer_id"].to_pylist(), out["group_account_id"].to_pylist(), strict=True)
    )
    assert groups["a"] == "a" and groups["b"] == "b"


def test_parent_account_sums_its_children_down_the_whole_chain() -> None:
    # h <- s1 (records s1 and s1b, duplicates) <- s2; h <- t; x alone; a <-> b a loop
    customers = pa.table(
        {
            "customer_id": ["a", "b", "h", "s1", "s1b", "s2", "t", "x"],
            "parent_id": ["b", "a", None, "h", None, "s1b", "h", None],
        }
    )
    mapping = pa.table(
        {
            "customer_id": ["a", "b", "h", "s1", "s1b", "s2", "t", "x"],
            "account_id": ["a", "b", "h", "s1", "s1", "s2", "t", "x"],
        }
    )
    grouped, _ = group_accounts(customers, mapping)
    values = pa.table(
        {
            "customer_id": ["x", "t", "s2", "s1", "h", "b", "a"],
            "revenue": [1.0, 20.0, 300.0, 4000.0, 50000.0, 600000.0, 7000000.0],
            "net_profit": [None, 2.0, 30.0, 400.0, -5.0, 1.0, 1.0],
        }
    )
    out = group_totals(values, grouped, ["revenue", "net_profit"])
    rows = {r["customer_id"]: r for r in out.to_pylist()}
    assert out["customer_id"].to_pylist() == values["customer_id"].to_pylist()
    # the top of the group carries the whole group: 50000 + 4000 + 300 + 20
    assert rows["h"]["group_revenue"] == 54320.0 and rows["h"]["group_n_accounts"] == 4
    assert rows["h"]["group_net_profit"] == 427.0  # -5 + 400 + 30 + 2
    # a parent in the middle sums its own part of the tree
    assert rows["s1"]["group_revenue"] == 4300.0 and rows["s1"]["group_n_accounts"] == 2
    assert rows["s2"]["group_revenue"] == 300.0 and rows["t"]["group_revenue"] == 20.0
    # NULL counts as nothing; an account with no relatives is its own total
    assert rows["x"]["group_net_profit"] == 0.0 and rows["x"]["group_n_accounts"] == 1
    # a parent_id loop is kept apart: each account sums only itself
    assert rows["a"]["group_revenue"] == 7000000.0 and rows["b"]["group_revenue"] == 600000.0


def test_account_table_lists_members_and_the_account_records_name() -> None:
    customers = pa.table(
        {
            "customer_id": ["2", "1", "3"],
            "name": ["Acme Limited", "ACME Ltd", "Beta"],
            "branch": ["leeds", None, None],
        }
    )
    mapping = pa.table({"customer_id": ["1", "2", "3"], "account_id": ["1", "1", "3"]})
    acc = account_table(customers, mapping).to_pylist()
    assert acc[0] == {
        "account_id": "1",
        "member_ids": ["1", "2"],
        "n_members": 2,
        "name": "ACME Ltd",
        "branches": ["leeds"],
    }
    assert acc[1]["member_ids"] == ["3"]


def test_merge_summary_counts_merged_accounts_and_lists_the_largest() -> None:
    acc = pa.table(
        {
            "account_id": ["1", "4", "6", "9"],
            "n_members": [3, 1, 2, 1],
            "name": ["Acme", "B", "C", "D"],
        }
    )
    rep = merge_summary(acc, top=1)
    assert len(rep["largest"]) == 1
    assert rep["n_records"] == 7 and rep["n_accounts"] == 4
    assert rep["n_merged_accounts"] == 2 and rep["n_records_merged"] == 5
    assert rep["largest"][0] == {"account_id": "1", "name": "Acme", "n_members": 3}


def test_class_changes_name_the_records_that_become_one_bigger_account() -> None:
    mapping = pa.table(
        {
            "customer_id": ["1", "2", "3", "4", "5", "6"],
            "account_id": ["1", "1", "1", "4", "5", "5"],
        }
    )
    before = pa.table(
        {"customer_id": ["1", "2", "3", "4", "5", "6"], "class": ["C", "C", "B", "A", "B", "B"]}
    )
    after = pa.table({"account_id": ["1", "4", "5"], "class": ["A", "A", "B"]})
    out = class_changes(before, after, mapping)
    assert out["account_id"].to_pylist() == ["1"]  # 4 is alone, 5 keeps its class
    assert out["description"].to_pylist() == ["3 records (C, C, B) → one A account"]
    assert out["member_ids"].to_pylist() == [["1", "2", "3"]]
    assert out["upgraded"].to_pylist() == [True]


def test_class_changes_list_accounts_the_merge_lifted_first() -> None:
    # account 1: an A record absorbs a dormant duplicate (D) - the D record changes class,
    # the account does not rise; account 7: two B records make an A account
    mapping = pa.table({"customer_id": ["1", "2", "7", "8"], "account_id": ["1", "1", "7", "7"]})
    before = pa.table({"customer_id": ["1", "2", "7", "8"], "class": ["A", "D", "B", "B"]})
    after = pa.table({"account_id": ["1", "7"], "class": ["A", "A"]})
    out = class_changes(before, after, mapping)
    assert out["account_id"].to_pylist() == ["7", "1"]
    assert out["upgraded"].to_pylist() == [True, False]
    assert out["description"].to_pylist() == [
        "2 records (B, B) → one A account",
        "2 records (A, D) → one A account",
    ]


def test_settings_refuse_an_inverted_review_band() -> None:
    with pytest.raises(ValidationError, match="review_lower"):
        AccountSettings(review_lower=0.9, review_upper=0.5)


def test_settings_refuse_unknown_blocking_columns() -> None:
    with pytest.raises(ValidationError, match="unknown column 'nmae'"):
        AccountSettings(blocking_rules=[["nmae"]])


def test_settings_refuse_thresholds_not_strongest_first() -> None:
    with pytest.raises(ValidationError, match="strongest"):
        AccountSettings(name_thresholds=[0.8, 0.9])


def test_settings_refuse_unknown_refinement_columns_and_bad_size_ratios() -> None:
    with pytest.raises(ValidationError, match="block_refinements"):
        AccountSettings(block_refinements=["town"])
    with pytest.raises(ValidationError, match="above 1"):
        AccountSettings(size_ratios=[0.5, 2.0])
    with pytest.raises(ValidationError, match="closest first"):
        AccountSettings(size_ratios=[2.0, 1.25])
