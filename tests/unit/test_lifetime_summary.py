"""The per-customer summary computed in the engine, on a hand-checked table."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from tierwise.lifetime import rfm_summary
from tierwise.lifetime.summary import customer_days

D = dt.date


@pytest.fixture(scope="module")
def engine(request, open_engine):
    with open_engine(request) as eng:
        yield eng


def _tx(engine):
    rows = [
        # customer a: 3 purchase days (two lines on Jan 8 count once), one return
        ("a", D(2024, 1, 1), 10.0, False, False),
        ("a", D(2024, 1, 8), 5.0, False, False),
        ("a", D(2024, 1, 8), 7.0, False, False),
        ("a", D(2024, 1, 15), 8.0, False, False),
        ("a", D(2024, 1, 20), -8.0, True, False),
        # customer b: one day, plus a cancelled order later
        ("b", D(2024, 1, 3), 4.0, False, False),
        ("b", D(2024, 1, 10), 40.0, False, True),
        # customer c: only after the analysis date
        ("c", D(2024, 3, 1), 9.0, False, False),
    ]
    cols = list(zip(*rows, strict=True))
    t = pa.table(
        {
            "customer_id": pa.array(cols[0]),
            "date": pa.array(cols[1], pa.date32()),
            "revenue": pa.array(cols[2]),
            "is_return": pa.array(cols[3]),
            "is_cancel": pa.array(cols[4]),
        }
    )
    return engine.from_arrow(t)


def test_summary_counts_purchase_days_and_skips_returns_and_cancels(engine):
    s = rfm_summary(_tx(engine), D(2024, 1, 29), engine=engine, time_unit="days").to_pylist()
    assert [r["customer_id"] for r in s] == ["a", "b"]  # c starts after the analysis date
    a, b = s
    assert (a["x"], a["t_x"], a["T"]) == (2.0, 14.0, 28.0)
    assert a["monetary_value"] == pytest.approx((12.0 + 8.0) / 2)  # repeat days only
    assert a["total_revenue"] == pytest.approx(30.0)  # the return is left out
    assert a["recency_days"] == 14
    assert (b["x"], b["t_x"], b["T"], b["monetary_value"]) == (0.0, 0.0, 26.0, 0.0)


def test_summary_in_weeks_divides_days_by_seven(engine):
    s = rfm_summary(_tx(engine), D(2024, 1, 29), engine=engine, time_unit="weeks").to_pylist()
    assert s[0]["t_x"] == pytest.approx(2.0)
    assert s[0]["T"] == pytest.approx(4.0)


def test_rejects_unknown_time_unit(engine):
    from tierwise.errors import InputError

    with pytest.raises(InputError, match="time_unit"):
        rfm_summary(_tx(engine), D(2024, 1, 29), engine=engine, time_unit="months")  # type: ignore[arg-type]


def test_the_per_day_table_kept_in_the_engine_gives_the_summaries_of_the_lines(engine):
    # the lifetime stage sums the lines per day once, keeps that table and computes every
    # summary from it: the same figures as from the lines, bit for bit
    tx = _tx(engine)
    days = customer_days(tx, end=D(2024, 1, 29)).kept(engine)
    try:
        for as_of in (D(2024, 1, 29), D(2024, 1, 9)):
            for unit in ("days", "weeks"):
                a = rfm_summary(tx, as_of, engine=engine, time_unit=unit)
                b = rfm_summary(days, as_of, engine=engine, time_unit=unit)
                assert a.num_rows and a.equals(b), (as_of, unit)
        # customer c bought only after the end of the kept table
        ids = engine.to_arrow(days.table.select("customer_id").distinct(), "ids")
        assert sorted(ids.column("customer_id").to_pylist()) == ["a", "b"]
    finally:
        days.release(engine)
