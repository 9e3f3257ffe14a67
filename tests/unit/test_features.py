"""Per-customer features on small tables computed by hand.

Analysis date 2024-06-30, default 12-month windows: the last period is
(2023-06-30, 2024-06-30], the period before is (2022-06-30, 2023-06-30].

Customer A (order ids, costs on every line)::

    2022-01-10  O1  100.0  qty 2  cost  60    sale, before both windows
    2022-01-10  O1   50.0  qty 1  cost  30    sale, second line of O1
    2023-03-01  O2  200.0  qty 4  cost 120    sale, period before
    2023-09-01  O3   80.0  qty 1  cost  50    sale, last period
    2024-02-01  O4  120.0  qty 3  cost  70    sale, last period (last purchase)
    2024-03-01  R1  -40.0  qty -1 cost -24    return (flag)
    2024-04-01  C5  -30.0  qty -1 cost -18    cancellation

    orders 4, lines 7, units 2+1+4+1+3 = 11, revenue 550-40-30 = 480,
    revenue_12m 80+120-40-30 = 130, returns 70 on 2 lines, cost 288, margin 192 (40%),
    average order 550/4 = 137.5, recency 150 days, tenure 902 days, orders 2 last vs 1 before.

Customer B (no order ids, no costs)::

    2024-05-01  10.0 qty 1;  2024-05-01  20.0 qty 1;  2024-05-03  30.0 qty 2

    orders 2 (one per day), lines 3, units 4, revenue 60, cost and margin empty unless a
    margin rate is set, average order 30, recency 58, tenure 60, trend empty (no orders before).

Customer C: one return line only (-15.0): no purchase dates, no orders, no average order.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from tierwise.engine import Engine
from tierwise.features import FEATURE_COLUMNS, customer_features
from tierwise.settings import FeatureSettings

AS_OF = dt.date(2024, 6, 30)
D = dt.date


@pytest.fixture(scope="module")
def eng() -> Engine:
    return Engine()


def _tx(rows: list[tuple[Any, ...]]) -> pa.Table:
    """(customer_id, date, order_id, revenue, quantity, cost, is_return, is_cancel)."""
    names = ("customer_id", "date", "order_id", "revenue", "quantity", "cost")
    cols = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    return pa.table(
        {
            "customer_id": pa.array(cols["customer_id"], pa.string()),
            "date": pa.array(cols["date"], pa.date32()),
            "revenue": pa.array(cols["revenue"], pa.float64()),
            "order_id": pa.array(cols["order_id"], pa.string()),
            "quantity": pa.array(cols["quantity"], pa.float64()),
            "cost": pa.array(cols["cost"], pa.float64()),
            "is_return": pa.array([r[6] for r in rows], pa.bool_()),
            "is_cancel": pa.array([r[7] for r in rows], pa.bool_()),
        }
    )


ROWS = [
    ("A", D(2022, 1, 10), "O1", 100.0, 2.0, 60.0, False, False),
    ("A", D(2022, 1, 10), "O1", 50.0, 1.0, 30.0, False, False),
    ("A", D(2023, 3, 1), "O2", 200.0, 4.0, 120.0, False, False),
    ("A", D(2023, 9, 1), "O3", 80.0, 1.0, 50.0, False, False),
    ("A", D(2024, 2, 1), "O4", 120.0, 3.0, 70.0, False, False),
    ("A", D(2024, 3, 1), "R1", -40.0, -1.0, -24.0, True, False),
    ("A", D(2024, 4, 1), "C5", -30.0, -1.0, -18.0, False, True),
    ("B", D(2024, 5, 1), None, 10.0, 1.0, None, False, False),
    ("B", D(2024, 5, 1), None, 20.0, 1.0, None, False, False),
    ("B", D(2024, 5, 3), None, 30.0, 2.0, None, False, False),
    ("C", D(2024, 6, 1), None, -15.0, -1.0, None, True, False),
]


def _features(
    eng: Engine, rows: list[tuple[Any, ...]], as_of: dt.date = AS_OF, **settings: Any
) -> dict[str, dict[str, Any]]:
    tx = eng.from_arrow(_tx(rows))
    out = eng.to_arrow(customer_features(tx, as_of=as_of, settings=FeatureSettings(**settings)))
    assert tuple(out.column_names) == FEATURE_COLUMNS
    return {r["customer_id"]: r for r in out.to_pylist()}


def test_one_row_per_customer_with_the_public_columns(eng: Engine) -> None:
    f = _features(eng, ROWS)
    assert sorted(f) == ["A", "B", "C"]


def test_customer_with_orders_costs_returns_and_cancellations(eng: Engine) -> None:
    a = _features(eng, ROWS)["A"]
    assert a == {
        "customer_id": "A",
        "first_purchase": D(2022, 1, 10),
        "last_purchase": D(2024, 2, 1),
        "n_orders": 4,
        "n_lines": 7,
        "units": 11.0,
        "revenue": 480.0,
        "revenue_12m": 130.0,
        "returns_value": 70.0,
        "n_return_lines": 2,
        "cost": 288.0,
        "gross_margin": 192.0,
        "gross_margin_pct": pytest.approx(0.4),
        "avg_order_value": 137.5,
        "recency_days": 150,
        "tenure_days": 902,
        "orders_last_period": 2,
        "orders_prev_period": 1,
        "order_trend": 2.0,
    }


def test_orders_are_days_when_order_id_is_missing(eng: Engine) -> None:
    b = _features(eng, ROWS)["B"]
    assert b["n_orders"] == 2  # two lines on 1 May are one order, 3 May another
    assert b["n_lines"] == 3
    assert b["units"] == 4.0
    assert b["revenue"] == 60.0
    assert b["avg_order_value"] == 30.0
    assert (b["recency_days"], b["tenure_days"]) == (58, 60)
    assert (b["orders_last_period"], b["orders_prev_period"]) == (2, 0)
    assert b["order_trend"] is None


def test_cost_and_margin_are_empty_without_cost_or_margin_rate(eng: Engine) -> None:
    b = _features(eng, ROWS)["B"]
    assert b["cost"] is None and b["gross_margin"] is None and b["gross_margin_pct"] is None


def test_margin_rate_fills_in_the_cost_of_lines_without_one(eng: Engine) -> None:
    f = _features(eng, ROWS, margin_rate=0.25)
    b = f["B"]
    assert b["cost"] == pytest.approx(45.0)  # 60 × (1 − 0.25)
    assert b["gross_margin"] == pytest.approx(15.0)
    assert b["gross_margin_pct"] == pytest.approx(0.25)
    # lines that carry a cost keep it: A is unchanged
    assert f["A"]["cost"] == 288.0 and f["A"]["gross_margin"] == 192.0


def test_one_line_without_cost_empties_the_margin_unless_a_rate_is_set(eng: Engine) -> None:
    rows = [
        ("D", D(2024, 1, 1), "1", 100.0, 1.0, 70.0, False, False),
        ("D", D(2024, 2, 1), "2", 40.0, 1.0, None, False, False),
    ]
    assert _features(eng, rows)["D"]["gross_margin"] is None
    d = _features(eng, rows, margin_rate=0.5)["D"]
    assert d["cost"] == pytest.approx(90.0)  # 70 + 40 × 0.5
    assert d["gross_margin"] == pytest.approx(50.0)


def test_customer_with_only_returns_has_no_purchases(eng: Engine) -> None:
    c = _features(eng, ROWS)["C"]
    assert c["first_purchase"] is None and c["last_purchase"] is None
    assert c["n_orders"] == 0 and c["n_lines"] == 1
    assert c["units"] == 0.0
    assert c["revenue"] == -15.0 and c["returns_value"] == 15.0 and c["n_return_lines"] == 1
    assert c["avg_order_value"] is None
    assert c["recency_days"] is None and c["tenure_days"] is None
    assert c["gross_margin_pct"] is None  # no positive revenue to divide by


def test_window_boundaries_belong_to_the_later_window(eng: Engine) -> None:
    # as_of 2024-06-30: 2023-06-30 closes the period before, 2023-07-01 opens the last one;
    # 2022-06-30 is outside both
    rows = [
        ("E", D(2022, 6, 30), "1", 10.0, 1.0, 1.0, False, False),
        ("E", D(2022, 7, 1), "2", 10.0, 1.0, 1.0, False, False),
        ("E", D(2023, 6, 30), "3", 10.0, 1.0, 1.0, False, False),
        ("E", D(2023, 7, 1), "4", 10.0, 1.0, 1.0, False, False),
        ("E", D(2024, 6, 30), "5", 10.0, 1.0, 1.0, False, False),
    ]
    e = _features(eng, rows)["E"]
    assert (e["orders_last_period"], e["orders_prev_period"]) == (2, 2)
    assert e["order_trend"] == 1.0
    assert e["revenue_12m"] == 20.0  # 2023-07-01 and 2024-06-30
    assert e["recency_days"] == 0


def test_window_months_and_month_ends(eng: Engine) -> None:
    # one-month windows back from 31 March: last (29 Feb, 31 Mar], before (31 Jan, 29 Feb]
    rows = [
        ("F", D(2024, 1, 31), "1", 10.0, 1.0, 1.0, False, False),
        ("F", D(2024, 2, 29), "2", 10.0, 1.0, 1.0, False, False),
        ("F", D(2024, 3, 1), "3", 10.0, 1.0, 1.0, False, False),
        ("F", D(2024, 3, 31), "4", 10.0, 1.0, 1.0, False, False),
        ("F", D(2024, 3, 31), "4", 10.0, 1.0, 1.0, False, False),
    ]
    f = _features(eng, rows, as_of=D(2024, 3, 31), window_months=1)["F"]
    assert (f["orders_last_period"], f["orders_prev_period"]) == (2, 1)
    assert f["order_trend"] == 2.0
    assert f["n_orders"] == 4 and f["n_lines"] == 5


def test_returns_and_cancellations_are_not_orders_even_with_positive_revenue(
    eng: Engine,
) -> None:
    rows = [
        ("G", D(2024, 1, 1), "1", 100.0, 1.0, 50.0, False, False),
        ("G", D(2024, 1, 2), "C2", 100.0, 1.0, 50.0, False, True),
    ]
    g = _features(eng, rows)["G"]
    assert g["n_orders"] == 1
    assert g["last_purchase"] == D(2024, 1, 1)
    assert g["revenue"] == 200.0  # revenue is the plain net sum of every line
    assert g["returns_value"] == -100.0
    assert g["avg_order_value"] == 100.0


def test_sums_do_not_depend_on_the_order_of_the_lines(eng: Engine) -> None:
    # in float64, 1e16 + 1 == 1e16: added in file order these lines sum to 1, in another
    # order to 0 or 2, so a float sum could differ between runs with several threads; the
    # exact sum is 2 whatever the order
    rows = [
        ("H", D(2024, 1, 1), "1", 1e16, 1.0, 0.0, False, False),
        ("H", D(2024, 1, 2), "2", 1.0, 1.0, 0.0, False, False),
        ("H", D(2024, 1, 3), "3", -1e16, -1.0, 0.0, True, False),
        ("H", D(2024, 1, 4), "4", 1.0, 1.0, 0.0, False, False),
    ]
    for order in (rows, rows[::-1], [rows[1], rows[0], rows[3], rows[2]]):
        h = _features(eng, order)["H"]
        assert h["revenue"] == 2.0
        assert h["returns_value"] == 1e16
