"""lifetime_stage on tiny tables: it degrades with a reason instead of failing."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from tierwise.engine import Engine
from tierwise.lifetime import lifetime_stage
from tierwise.settings import LifetimeSettings

D = dt.date


def test_stage_without_repeat_buyers_still_gives_status_and_says_why():
    eng = Engine()
    tx = eng.from_arrow(
        pa.table(
            {
                "customer_id": ["a", "b", "c"],
                "date": pa.array([D(2024, 1, 5), D(2024, 3, 1), D(2024, 6, 20)], pa.date32()),
                "revenue": [10.0, 20.0, 30.0],
                "is_return": [False, False, False],
                "is_cancel": [False, False, False],
            }
        )
    )
    res = lifetime_stage(
        tx,
        D(2024, 6, 30),
        LifetimeSettings(supervised_model=False, default_gap_days=50),
        engine=eng,
        prospects=pa.table({"customer_id": ["p1", "a"]}),
    )
    c = res.customers
    assert c.column("customer_id").to_pylist() == ["a", "b", "c", "p1"]
    # single buyers are judged against default_gap_days: 177 / 50 > 3, 121 / 50 in (1.5, 3]
    assert c.column("status").to_pylist() == ["inactive", "at_risk", "new", "prospect"]
    assert c.column("p_alive").null_count == 4  # no transaction model could be fitted
    assert any("no customer has a repeat purchase" in w for w in res.warnings)
    assert "bgnbd" not in res.models
    assert res.high_value_at_risk.num_rows == 0
    eng.close()
