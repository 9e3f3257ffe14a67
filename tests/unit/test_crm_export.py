"""crm_export: stable columns, one row per account, formulas neutralised."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from report_support import FORMULA_NAME, customer_id_named
from tierwise.report import CRM_COLUMNS, crm_export, write_crm_export


def test_one_row_per_account_with_the_documented_columns(report_full_out: Path) -> None:
    customers = pq.read_table(report_full_out / "customers.parquet")
    t = crm_export(customers, pq.read_table(report_full_out / "cross_sell.parquet"))
    assert t.column_names == list(CRM_COLUMNS)
    assert t.num_rows == customers.num_rows
    assert t.column("account_id").to_pylist() == sorted(customers.column("customer_id").to_pylist())
    by_id = {r["account_id"]: r for r in t.to_pylist()}
    for src in customers.select(
        [
            "customer_id",
            "assigned_rep",
            "rep_id",
            "value_class",
            "tier",
            "visits_per_year",
            "member_ids",
        ]
    ).to_pylist():
        row = by_id[src["customer_id"]]
        # the rep who carries the account: the plan's, else (e-mail, no contact) today's,
        # as on plan.xlsx's call lists and in targets.csv
        if src["assigned_rep"] is not None:
            assert row["owner"] == src["assigned_rep"]
        else:
            assert row["owner"] == src["rep_id"]
        assert row["value_class"] == src["value_class"] and row["tier"] == src["tier"]
        assert row["visits_per_year"] == src["visits_per_year"]
        # prospects are no account of records yet
        members = "; ".join(src["member_ids"]) if src["member_ids"] is not None else None
        assert row["member_record_ids"] == members


def test_next_best_products_in_rank_order_and_capped(report_full_out: Path) -> None:
    customers = pq.read_table(report_full_out / "customers.parquet")
    cs = pq.read_table(report_full_out / "cross_sell.parquet")
    from tierwise.settings.report import ReportSettings

    t = crm_export(customers, cs, settings=ReportSettings(next_best_products=2))
    cid = cs.column("customer_id")[0].as_py()
    mine = sorted((r for r in cs.to_pylist() if r["customer_id"] == cid), key=lambda r: r["rank"])
    got = next(r for r in t.to_pylist() if r["account_id"] == cid)["next_best_products"]
    assert got == "; ".join(r["item"] for r in mine[:2])


def test_reason_joins_class_and_coverage_reasons(report_full_out: Path) -> None:
    customers = pq.read_table(report_full_out / "customers.parquet")
    row = crm_export(customers).to_pylist()[0]
    src = customers.to_pylist()
    src_row = next(r for r in src if r["customer_id"] == row["account_id"])
    assert row["reason"] == f"{src_row['class_reason']}; {src_row['coverage_reason']}"


def test_without_later_stages_the_columns_stay_and_owner_is_todays_rep(
    report_bare_out: Path,
) -> None:
    customers = pq.read_table(report_bare_out / "customers.parquet")
    t = crm_export(customers)
    assert t.column_names == list(CRM_COLUMNS)
    assert t.column("value_class").null_count == t.num_rows
    assert t.column("next_best_products").null_count == t.num_rows
    owners = dict(
        zip(
            customers.column("customer_id").to_pylist(),
            customers.column("rep_id").to_pylist(),
            strict=True,
        )
    )
    assert all(owners[r["account_id"]] == r["owner"] for r in t.to_pylist())


def test_the_written_file_neutralises_formulas(report_full_out: Path, tmp_path: Path) -> None:
    path = write_crm_export(report_full_out, target=tmp_path / "crm_export.csv")
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(CRM_COLUMNS)
    cid = customer_id_named(report_full_out, FORMULA_NAME)
    row = next(r for r in rows if r["account_id"] == cid)
    assert row["account_name"] == "'" + FORMULA_NAME


def test_a_prospect_flag_is_kept() -> None:
    c = pa.table({"customer_id": ["a", "p"], "is_prospect": [False, True]})
    assert crm_export(c).column("is_prospect").to_pylist() == [False, True]


def test_next_best_products_read_in_order_are_those_of_the_sorted_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # rows already by customer and rising rank (as the cross-sell stage writes them) are read
    # in their order; any other table is sorted first: the same items either way
    from tierwise.report import crm

    rng = np.random.default_rng(7)
    rows = [
        (f"c{c:03d}", r, f"SKU{rng.integers(50):03d}", ["tools", None, "care"][r % 3])
        for c in range(200)
        for r in sorted(rng.choice(np.arange(1, 12), size=int(rng.integers(0, 9)), replace=False))
    ]
    cs = pa.table(
        {
            "customer_id": [r[0] for r in rows],
            "rank": [int(r[1]) for r in rows],
            "item": [r[2] for r in rows],
            "category": [r[3] for r in rows],
        }
    )
    ids = pa.array([f"c{c:03d}" for c in range(205)][::-1])
    assert crm._ranked_rows(cs) is not None
    read = crm.next_best_products(cs, ids, 3)
    shuffled = cs.take(pa.array(rng.permutation(cs.num_rows)))
    tied = pa.concat_tables([cs, cs.slice(0, 1)])  # one rank twice: not in order
    assert crm._ranked_rows(shuffled) is None and crm._ranked_rows(tied) is None
    monkeypatch.setattr(crm, "_ranked_rows", lambda table: None)
    assert read.equals(crm.next_best_products(cs, ids, 3))
    assert read.equals(crm.next_best_products(shuffled, ids, 3))
    assert read.null_count >= 5


def test_an_account_the_plan_gives_no_rep_is_owned_by_its_rep_today() -> None:
    """An account the coverage plan contacts by e-mail (no assigned_rep) stays with its rep
    of today in the CRM export, as on that rep's call list in plan.xlsx."""
    customers = pa.table(
        {
            "customer_id": ["a", "b", "c"],
            "rep_id": ["r1", "r2", None],
            "assigned_rep": ["r3", None, None],
            "channel": ["field", "email", "email"],
        }
    )
    owners = dict(
        zip(
            *[crm_export(customers).column(c).to_pylist() for c in ("account_id", "owner")],
            strict=True,
        )
    )
    assert owners == {"a": "r3", "b": "r2", "c": None}
