"""The merge report: accounts whose class changes when their records are merged.

Hand-checked cases: revenues chosen so the Pareto classes can be read off by eye; the
window and cuts come from ``[accounts]``; cuts that are not increasing fractions are a
settings error (cuts of [80, 95] — percentages — made every customer an A, and decreasing
cuts made ``searchsorted`` read an unsorted array: both gave wrong classes).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from tierwise.accounts import merge_report, record_revenue, revenue_classes, window_start
from tierwise.engine import Engine
from tierwise.errors import SettingsError
from tierwise.settings import AccountSettings, settings_from_dict


def test_classes_by_share_of_revenue_with_a_class_for_no_revenue() -> None:
    # total 100: 50 (before it 0) A, 30 (50) A, 15 (80) B, 5 (95) C, 0 D, -3 D, NaN D
    v = np.array([50.0, 30.0, 15.0, 5.0, 0.0, -3.0, np.nan])
    assert revenue_classes(v, [0.8, 0.95]).tolist() == ["A", "A", "B", "C", "D", "D", "D"]
    # three cuts: four classes with revenue, E without (not D for both)
    got = revenue_classes(v, [0.5, 0.8, 0.95]).tolist()
    assert got == ["A", "B", "C", "D", "E", "E", "E"]


def test_ties_are_broken_by_position_not_by_arrival() -> None:
    # held above each: 0, 1/4, 2/4, 3/4 of the total
    got = revenue_classes(np.array([10.0, 10.0, 10.0, 10.0]), [0.5, 0.7])
    assert got.tolist() == ["A", "A", "B", "C"]


def test_report_names_the_records_that_become_one_bigger_account() -> None:
    mapping = pa.table(
        {"customer_id": ["1", "2", "3", "4", "5"], "account_id": ["1", "1", "3", "4", "4"]}
    )
    # records: 3 (50) A, 4 (30) A, 1 and 2 (20 each) B; 5 has no revenue (D)
    revenue = pa.table({"customer_id": ["4", "3", "2", "1"], "revenue": [30.0, 50.0, 20.0, 20.0]})
    rep = merge_report(mapping, revenue, AccountSettings(report_abc_cuts=[0.5, 0.9]))
    rows = {r["account_id"]: r for r in rep.table.to_pylist()}
    # accounts: 3 (50) A, 1 (40: before it 50 of 120) A, 4 (30: 90 of 120) B
    assert rows["1"]["description"] == "2 records (B, B) → one A account"
    assert rows["1"]["upgraded"] is True
    assert rows["4"]["classes_before"] == ["A", "D"] and rows["4"]["class_after"] == "B"
    assert rows["4"]["upgraded"] is False
    assert "3" not in rows  # one record: nothing merged
    assert rep.table["account_id"].to_pylist() == ["1", "4"]  # lifted first
    m = rep.manifest
    assert m["accounts_changing_class"] == 2 and m["accounts_upgraded"] == 1
    assert m["classes"] == ["A", "B", "C", "D"] and m["window_months"] == 12
    assert m["examples"][0] == "2 records (B, B) → one A account"


def test_report_does_not_depend_on_the_order_of_its_inputs() -> None:
    rng = np.random.default_rng(5)
    ids = [f"{i:03d}" for i in range(60)]
    acc = [f"{(i // 3) * 3:03d}" for i in range(60)]
    rev = np.round(rng.gamma(1.0, 100.0, 60), 0)  # ties on purpose
    mapping = pa.table({"customer_id": ids, "account_id": acc})
    revenue = pa.table({"customer_id": ids, "revenue": rev})
    first = merge_report(mapping, revenue, AccountSettings())
    perm = pa.array(rng.permutation(60))
    again = merge_report(mapping.take(perm), revenue.take(perm), AccountSettings())
    assert first.table.equals(again.table)
    assert first.manifest == again.manifest


def test_report_examples_come_from_settings() -> None:
    mapping = pa.table({"customer_id": ["1", "2", "3", "4"], "account_id": ["1", "1", "3", "3"]})
    revenue = pa.table({"customer_id": ["1", "2", "3"], "revenue": [5.0, 5.0, 100.0]})
    rep = merge_report(mapping, revenue, AccountSettings(report_examples=1))
    assert len(rep.manifest["examples"]) == 1 < rep.manifest["accounts_changing_class"]


def test_record_revenue_sums_the_window_the_settings_give(engine: Engine) -> None:
    days = [dt.date(2025, 12, 31), dt.date(2025, 7, 1), dt.date(2025, 6, 30), dt.date(2024, 12, 31)]
    tx = engine.from_arrow(
        pa.table(
            {"customer_id": ["a", "a", "a", "b"], "date": days, "revenue": [1.0, 2.0, 4.0, 8.0]}
        )
    )
    as_of = dt.date(2025, 12, 31)

    def revenue(months: int) -> dict[str, float]:
        s = AccountSettings(report_window_months=months)
        t = engine.to_arrow(record_revenue(tx, as_of=as_of, settings=s).order_by("customer_id"))
        return dict(zip(t["customer_id"].to_pylist(), t["revenue"].to_pylist(), strict=True))

    assert revenue(6) == {"a": 3.0}  # 2025-07-01 .. 2025-12-31
    assert revenue(12) == {"a": 7.0}  # 2024-12-31 itself is outside
    assert revenue(13) == {"a": 7.0, "b": 8.0}
    assert window_start(dt.date(2024, 3, 31), 1) == dt.date(2024, 2, 29)


@pytest.mark.parametrize(
    ("cuts", "words"),
    [
        ([0.95, 0.8], "increasing"),
        ([0.8, 0.8], "increasing"),
        ([80, 95], "between 0 and 1"),
        ([0.8, 1.0], "between 0 and 1"),
        ([], "at least one cut"),
    ],
)
def test_cuts_that_are_not_increasing_fractions_are_refused(cuts: list[float], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        AccountSettings(report_abc_cuts=cuts)
    with pytest.raises(SettingsError, match=r"\[accounts\] report_abc_cuts"):
        settings_from_dict({"accounts": {"report_abc_cuts": cuts}})
