"""Status from recency against the customer's own rhythm, and the high-value-at-risk list."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tierwise.lifetime import customer_status, high_value_at_risk
from tierwise.settings import LifetimeSettings

NAN = float("nan")


def test_status_follows_the_customers_own_rhythm():
    # gap 30 days for the first five (span 300, x = 10): at risk after max(45, 30) days,
    # inactive after 90, lapsed after 180 (6 gaps)
    rec = [20, 50, 80, 100, 200, 10, NAN]
    ten = [400, 400, 400, 400, 800, 30, NAN]
    span = [300, 300, 300, 300, 300, 0, 0]
    x = [10, 10, 10, 10, 10, 0, -1]
    status, reason, gap = customer_status(rec, ten, span, x, LifetimeSettings())
    assert status.to_pylist() == [
        "active",  # 20 / 30 <= 1.5
        "at_risk",  # 50 / 30 in (1.5, 3]
        "at_risk",  # 80 / 30 = 2.67
        "inactive",  # 100 / 30 > 3
        "lapsed",  # 200 / 30 > 6
        "new",  # first order 30 days ago
        "prospect",
    ]
    assert gap[0] == 30
    assert reason[0].as_py() == (
        "last order 20 days ago; usually orders every 30 days (at risk after 45)"
    )
    assert reason[1].as_py().endswith("; at risk: over 1.5 usual gaps (45 days)")
    assert reason[3].as_py().endswith("; inactive: over 3 usual gaps (90 days)")
    assert reason[4].as_py().endswith("; lapsed: over 6 usual gaps (180 days)")
    assert reason[6].as_py() == "no purchases yet"
    assert np.isnan(gap[6])


def test_absolute_limits_apply_whatever_the_rhythm():
    # a reseller who orders every 400 days (span 1200, x = 3): by rhythm, at risk after 600
    # days and inactive after 1200; by the absolute limits inactive after 365, lapsed after 730
    rec = [300, 400, 762]
    status, reason, _ = customer_status(rec, [2000] * 3, [1200] * 3, [3] * 3)
    assert status.to_pylist() == ["active", "inactive", "lapsed"]
    assert reason[1].as_py().endswith("; inactive: over the 365-day limit whatever the rhythm")
    assert reason[2].as_py() == (
        "last order 762 days ago; usually orders every 400 days; "
        "lapsed: over the 730-day limit whatever the rhythm"
    )
    # with longer limits the rhythm decides again, and says so
    s = LifetimeSettings(inactive_days=1000, lapsed_days=2000)
    status, reason, _ = customer_status(rec, [2000] * 3, [1200] * 3, [3] * 3, s)
    assert status.to_pylist() == ["active", "active", "at_risk"]
    assert reason[2].as_py().endswith("; at risk: over 1.5 usual gaps (600 days)")


def test_nobody_is_at_risk_before_the_minimum_days():
    # a weekly buyer (gap 7) silent 20 days: 20 / 7 > 1.5, but fewer than 30 days. The
    # floor counts the gap as 30 / 1.5 = 20 days: at risk after 30, inactive after 60
    n = 4
    status, reason, _ = customer_status([20, 31, 61, 121], [400] * n, [350] * n, [50] * n)
    assert status.to_pylist() == ["active", "at_risk", "inactive", "lapsed"]
    assert reason[1].as_py().endswith("; at risk: over 30 days")
    assert reason[2].as_py().endswith("; inactive: over 60 days")


def test_status_rules_are_checked_for_order():
    with pytest.raises(ValueError, match="inactive_days"):
        LifetimeSettings(inactive_days=800, lapsed_days=700)
    with pytest.raises(ValueError, match="at_risk_ratio <= inactive_ratio"):
        LifetimeSettings(at_risk_ratio=4.0)


def test_status_windows_come_from_settings():
    s = LifetimeSettings(at_risk_ratio=2.0, new_days=0)
    status, _, _ = customer_status([50], [400], [300], [10], s)
    assert status.to_pylist() == ["active"]  # 50 / 30 < 2


def test_single_buyers_use_the_median_gap_and_gap_has_a_floor():
    _status, reason, gap = customer_status(
        [100, 10, 3], [500, 500, 500], [0, 400, 2], [0, 10, 2], LifetimeSettings()
    )
    assert gap[0] == 20.5  # median of the repeat buyers' own gaps, 40 and 1
    assert gap[2] == 7  # 1-day gap floored at min_gap_days
    assert "single order" in reason[0].as_py()


def test_high_value_at_risk_ranks_by_value_at_risk_with_reason():
    t = pa.table(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"],
            "clv": [1000.0, 900.0, 800.0, 10, 20, 30, 40, 50, 60, 70],
            "defection_risk": [0.6, 0.9, 0.2, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9],
            "status": ["at_risk"] * 10,
            "status_reason": ["last order 90 days ago; usually orders every 30 days"] * 10,
        }
    )
    out = high_value_at_risk(t, LifetimeSettings(high_value_share=0.3, high_risk=0.5))
    assert out.column("customer_id").to_pylist() == ["b", "a"]  # 810 > 600; c is low risk
    assert np.allclose(out.column("value_at_risk").to_numpy(), [810.0, 600.0])
    assert out.column("reason")[0].as_py().startswith("lifetime value 900 (top 30%), 90% risk")
