"""The discount audit: bands per class, leakage flags, the waterfall and the policy's margin."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tierwise.settings.terms import TermsSettings
from tierwise.terms import AUDIT_COLUMNS, SUMMARY_COLUMNS, discount_audit

#: The bands this file's by-hand cases are written against (explicit, as in settings).
BANDS = TermsSettings(
    discount_bands={"A": [0.04, 0.12], "B": [0.02, 0.08], "C": [0.0, 0.04], "D": [0.0, 0.02]}
)

ROWS = [
    # customer, class, depth, list revenue, defection risk
    ("a1", "A", 0.02, 10_000.0, 0.9),  # A at risk with a shallow discount
    ("a2", "A", 0.06, 20_000.0, 0.1),  # in band
    ("a3", "A", 0.01, 5_000.0, 0.1),  # below band, not at risk
    ("c1", "C", 0.10, 4_000.0, 0.2),  # C with a deep discount: leakage
    ("d1", "D", 0.00, 1_000.0, 0.2),  # in band
    ("x1", "X", 0.05, 1_000.0, 0.2),  # a class with no band
    ("n1", "C", None, None, 0.2),  # no list revenue
]


def _customers(rows: list[tuple]) -> pa.Table:
    return pa.table(
        {
            "customer_id": [r[0] for r in rows],
            "value_class": [r[1] for r in rows],
            "discount_depth": [r[2] for r in rows],
            "list_revenue": [r[3] for r in rows],
            "revenue_12m": [None if r[3] is None else r[3] * (1 - r[2]) for r in rows],
            "rebates": [100.0] * len(rows),
            "cts_deliveries": [50.0] * len(rows),
            "cts_late_payment": [25.0] * len(rows),
            "defection_risk": [r[4] for r in rows],
        }
    )


def test_flags_bands_and_margin_effect_by_hand() -> None:
    res = discount_audit(_customers(ROWS), BANDS)
    t = res.tables["discount_audit"]
    assert tuple(t.column_names) == AUDIT_COLUMNS
    got = {r["customer_id"]: r for r in t.to_pylist()}
    assert [got[c]["discount_flag"] for c in ("a1", "a2", "a3", "c1", "d1", "x1", "n1")] == [
        "below band, at risk",
        "in band",
        "below band",
        "above band",
        "in band",
        "no band",
        "no discount data",
    ]
    # A's band is [0.04, 0.12]: a1 moves from 2% to 4% of 10000 list: 200 less margin
    assert got["a1"]["recommended_depth"] == 0.04
    assert got["a1"]["margin_effect"] == pytest.approx(-0.02 * 10_000)
    # C's band is [0, 0.04]: c1 from 10% to 4% of 4000: 240 more margin
    assert got["c1"]["margin_effect"] == pytest.approx(0.06 * 4_000)
    assert got["a2"]["margin_effect"] == 0.0
    # the waterfall: invoice = list × (1 - depth); pocket = invoice - rebates - late - freight
    assert got["c1"]["invoice_revenue"] == pytest.approx(3_600.0)
    assert got["c1"]["pocket_revenue"] == pytest.approx(3_600.0 - 175.0)
    assert res.manifest["customers_above_band"] == 1
    assert res.manifest["margin_effect"] == pytest.approx(-200 - 0.03 * 5_000 + 240)


def test_the_summary_adds_up_per_class() -> None:
    res = discount_audit(_customers(ROWS), BANDS)
    s = {r["value_class"]: r for r in res.tables["discount_audit_summary"].to_pylist()}
    assert tuple(res.tables["discount_audit_summary"].column_names) == SUMMARY_COLUMNS
    a = s["A"]
    assert a["customers"] == 3
    assert a["list_revenue"] == pytest.approx(35_000.0)
    # revenue-weighted depth: 1 - invoice / list
    inv = 10_000 * 0.98 + 20_000 * 0.94 + 5_000 * 0.99
    assert a["discount_depth"] == pytest.approx(1 - inv / 35_000)
    assert a["pocket_index"] == pytest.approx((inv - 3 * 175) / 35_000)
    assert (a["above_band"], a["below_band_at_risk"], a["in_band"]) == (0, 1, 1)
    assert s["C"]["customers"] == 2 and s["C"]["above_band"] == 1


def test_status_at_risk_counts_as_at_risk_and_bands_come_from_settings() -> None:
    t = _customers([("a", "A", 0.01, 1_000.0, 0.0)]).append_column("status", pa.array(["at_risk"]))
    res = discount_audit(t, TermsSettings(discount_bands={"A": [0.0, 0.05]}))
    row = res.tables["discount_audit"].to_pylist()[0]
    assert row["discount_flag"] == "in band"  # the band starts at 0 here
    res = discount_audit(t, BANDS)
    assert res.tables["discount_audit"].to_pylist()[0]["discount_flag"] == "below band, at risk"


def test_without_classes_the_pareto_abc_of_revenue_is_used_and_said() -> None:
    t = pa.table(
        {
            "customer_id": ["a", "b"],
            "revenue_12m": [900.0, 100.0],
            "discount_depth": [0.05, 0.05],
            "list_revenue": [950.0, 105.0],
        }
    )
    res = discount_audit(t, TermsSettings())
    assert res.tables["discount_audit"].column("value_class").to_pylist() == ["A", "B"]
    assert any("value_class" in w for w in res.warnings)


# class B: ten customers; the weighting by list revenue moves both edges
B_DEPTHS = [0.00, 0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.14, 0.16, 0.30]
B_LIST = [100.0, 100.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 100.0]


def _waterfall_case() -> pa.Table:
    rows = [
        (f"b{i}", "B", d, lr, 0.1) for i, (d, lr) in enumerate(zip(B_DEPTHS, B_LIST, strict=True))
    ]
    rows += [("a1", "A", 0.02, 10_000.0, 0.9), ("a2", "A", 0.20, 10_000.0, 0.1)]
    rows += [("c1", "C", 0.05, 1_000.0, 0.1)]
    return _customers(rows)


def test_bands_come_from_the_waterfall_unless_settings_name_them() -> None:
    s = TermsSettings(discount_bands={"A": [0.04, 0.12]}, discount_band_min_customers=5)
    res = discount_audit(_waterfall_case(), s)
    got = {r["customer_id"]: r for r in res.tables["discount_audit"].to_pylist()}
    # B's list revenue is 7300: 10% is 730, reached at the third customer (100+100+1000),
    # depth 0.04; 90% is 6570, reached at the ninth (6200+1000), depth 0.16. The unweighted
    # 10th and 90th percentiles (0.018, 0.174) would differ.
    assert (got["b0"]["band_low"], got["b0"]["band_high"]) == (0.04, 0.16)
    flags = [got[f"b{i}"]["discount_flag"] for i in range(10)]
    assert flags == ["below band"] * 2 + ["in band"] * 7 + ["above band"]
    assert got["b9"]["margin_effect"] == pytest.approx((0.30 - 0.16) * 100.0)
    # A is named in the settings: its band is the settings' whatever its customers get
    assert (got["a1"]["band_low"], got["a1"]["band_high"]) == (0.04, 0.12)
    assert got["a2"]["discount_flag"] == "above band"
    # C has one customer, fewer than the minimum: no band, and a warning naming the setting
    assert got["c1"]["discount_flag"] == "no band"
    assert any("discount_band_min_customers" in w and "C (1)" in w for w in res.warnings)
    bands = res.manifest["bands"]
    assert bands["A"] == {"band": [0.04, 0.12], "source": "settings ([terms] discount_bands)"}
    assert bands["B"]["band"] == [0.04, 0.16]
    assert bands["B"]["source"].startswith("waterfall: p10-p90")
    assert "C" not in bands
    summary = {r["value_class"]: r for r in res.tables["discount_audit_summary"].to_pylist()}
    assert summary["B"]["band_source"] == bands["B"]["source"]
    assert summary["C"]["band_source"] == "no band"


def test_the_band_percentiles_are_a_setting() -> None:
    s = TermsSettings(discount_band_percentiles=[0.0, 0.5], discount_band_min_customers=5)
    got = discount_audit(_waterfall_case(), s).tables["discount_audit"].to_pylist()
    b = next(r for r in got if r["customer_id"] == "b0")
    # 50% of 7300 is 3650: 3200 up to the fifth customer, 4200 with the sixth: depth 0.10
    assert (b["band_low"], b["band_high"]) == (0.0, 0.10)
    with pytest.raises(ValueError, match="percentiles"):
        TermsSettings(discount_band_percentiles=[0.9, 0.1])


def test_without_a_discount_depth_nothing_is_listed_as_audited() -> None:
    # no list_revenue in the transactions: no customer has a discount depth
    c = pa.table(
        {
            "customer_id": ["a", "b", "c"],
            "value_class": ["A", "B", "C"],
            "revenue_12m": [1000.0, 500.0, 100.0],
            "defection_risk": [0.9, 0.1, 0.1],
        }
    )
    res = discount_audit(c, BANDS)
    audit, summary = res.tables["discount_audit"], res.tables["discount_audit_summary"]
    assert audit.num_rows == 0 and tuple(audit.column_names) == AUDIT_COLUMNS
    assert summary.num_rows == 0 and tuple(summary.column_names) == SUMMARY_COLUMNS
    assert res.manifest["customers_audited"] == 0
    assert "list_revenue" in res.manifest["not_audited"]
    assert any("nothing is audited" in w for w in res.warnings)
    # each customer still says why it has no flag
    assert res.customers.column("discount_flag").to_pylist() == ["no discount data"] * 3
    # with depths, the audited customers are counted
    some = discount_audit(_customers(ROWS), BANDS)
    assert some.manifest["customers_audited"] == 5  # x1 has no band, n1 no depth
    assert some.manifest["not_audited"] is None
