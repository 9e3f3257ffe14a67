"""Status from recency against the customer's own rhythm, and the high-value-at-risk list."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tierwise.lifetime import customer_status, high_value_at_risk
from tierwise.settings import LifetimeSettings

NAN = float("nan")


def test_status_follows_the_customers_own_rhythm():
    # gap 30 days for the first five (span 300, x = 10)
    rec = [20, 50, 80, 100, 400, 10, NAN]
    ten = [400, 400, 400, 400, 800, 30, NAN]
    span = [300, 300, 300, 300, 300, 0, 0]
    x = [10, 10, 10, 10, 10, 0, -1]
    status, reason, gap = customer_status(rec, ten, span, x, LifetimeSettings())
    assert status.to_pylist() == [
        "active",  # 20 / 30 <= 1.5
        "at_risk",  # 50 / 30 in (1.5, 3]
        "at_risk",  # 80 / 30 = 2.67
        "inactive",  # 100 / 30 > 3, within a year
        "lapsed",  # over 365 days
        "new",  # first order 30 days ago
        "prospect",
    ]
    assert gap[0] == 30
    assert reason[0].as_py() == "last order 20 days ago; usually orders every 30 days"
    assert "over 365 days without an order" in reason[4].as_py()
    assert reason[6].as_py() == "no purchases yet"


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
