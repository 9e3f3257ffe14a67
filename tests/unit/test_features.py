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

import numpy as np
import pyarrow as pa
import pytest

from tierwise.engine import NARROW_SUM_LIMIT, Engine, exact_sum, sums_fit_narrow
from tierwise.features import (
    FEATURE_COLUMNS,
    PAIRING_COLUMNS,
    customer_features,
    net_lines,
    pair_cancellations,
)
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


def test_exact_sums_in_18_digits_are_the_38_digit_sums(engine: Engine) -> None:
    # the narrow sums are taken where every value is below the limit: planted values up to
    # just below it, and values with more decimals than the nine kept (rounded the same way
    # in both widths), must sum to the very same numbers as in 38 digits
    rng = np.random.default_rng(7)
    below = np.nextafter(NARROW_SUM_LIMIT, 0.0)
    values = np.concatenate(
        [
            rng.uniform(-below, below, 2000),
            rng.uniform(-1.0, 1.0, 2000) * 10.0 ** rng.integers(-12, 8, 2000),
            [below, -below, 99_999_999.999_999_99, 5e-10, 1.5e-9, 2.5e-10, 1e-9, 0.1, 0.7],
        ]
    )
    t = engine.from_arrow(pa.table({"g": np.arange(len(values)) % 37, "x": values}))
    assert sums_fit_narrow(t, [t.x, -t.x], "x")
    parts = t.group_by("g").aggregate(
        narrow=exact_sum(t.x, narrow=True),
        wide=exact_sum(t.x),
        narrow_part=exact_sum(t.x, keep_exact=True, narrow=True),
        wide_part=exact_sum(t.x, keep_exact=True),
    )
    out = engine.to_arrow(parts).sort_by("g")
    assert out.column("narrow").to_pylist() == out.column("wide").to_pylist()
    total = engine.to_arrow(
        parts.aggregate(narrow=exact_sum(parts.narrow_part), wide=exact_sum(parts.wide_part))
    ).to_pylist()[0]
    assert total["narrow"] == total["wide"]


def test_an_amount_beyond_the_18_digit_limit_is_summed_in_38_digits(engine: Engine) -> None:
    # 2.5 billion does not fit 18 digits with 9 decimals: the features take the wide sums
    # (the narrow ones would fail or lose the line), exactly
    rows = [
        ("Z", D(2024, 1, 1), "1", 2_500_000_000.125, 1.0, 0.0, False, False),
        ("Z", D(2024, 1, 2), "2", 0.25, 1.0, 0.0, False, False),
        ("Y", D(2024, 1, 2), "3", NARROW_SUM_LIMIT, 1.0, 0.0, False, False),
    ]
    tx = engine.from_arrow(_tx(rows))
    assert not sums_fit_narrow(tx, [tx.revenue], "revenue")
    f = _features(engine, rows)
    assert f["Z"]["revenue"] == 2_500_000_000.375
    assert f["Z"]["revenue_12m"] == 2_500_000_000.375
    assert f["Y"]["revenue"] == NARROW_SUM_LIMIT
    if engine.backend == "duckdb":  # Spark takes a NaN in as NULL
        nan = engine.from_arrow(pa.table({"x": [1.0, float("nan")]}))
        assert not sums_fit_narrow(nan, [nan.x], "x")


# -- cancellations paired with their orders --------------------------------------------------


def _lines(rows: list[tuple[Any, ...]]) -> pa.Table:
    """(customer_id, date, order_id, product_id, quantity, revenue) lines; the cancellation
    flag as validation sets it (order id starting with C), and is_return for negative
    quantities; ``_row`` numbers the lines from 2, as a CSV file's."""
    names = ("customer_id", "date", "order_id", "product_id", "quantity", "revenue")
    cols = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    return pa.table(
        {
            "customer_id": pa.array(cols["customer_id"], pa.string()),
            "date": pa.array(cols["date"], pa.date32()),
            "order_id": pa.array(cols["order_id"], pa.string()),
            "product_id": pa.array(cols["product_id"], pa.string()),
            "quantity": pa.array(cols["quantity"], pa.float64()),
            "revenue": pa.array(cols["revenue"], pa.float64()),
            "cost": pa.array([None] * len(rows), pa.float64()),
            "is_return": pa.array([(q or 0) < 0 or r < 0 for *_, q, r in rows]),
            "is_cancel": pa.array([o.startswith("C") for _, _, o, *_ in rows]),
            "_row": pa.array(range(2, len(rows) + 2), pa.int64()),
        }
    )


def _paired(eng: Engine, rows: list[tuple[Any, ...]], **settings: Any) -> tuple[Any, dict]:
    return pair_cancellations(eng.from_arrow(_lines(rows)), FeatureSettings(**settings), engine=eng)


LIFO = [
    # a: two orders of 5, three cancellations of 5: the first two take the nearest earlier
    # open order each (row 3, then row 2), the third finds none and is a return
    ("a", D(2024, 1, 1), "1", "p", 5.0, 50.0),
    ("a", D(2024, 1, 2), "2", "p", 5.0, 50.0),
    ("a", D(2024, 1, 3), "C1", "p", -5.0, -50.0),
    ("a", D(2024, 1, 4), "C2", "p", -5.0, -50.0),
    ("a", D(2024, 1, 5), "C3", "p", -5.0, -50.0),
    # then an order of 10 cancelled in part: 3, then 4, then 4 more than is left
    ("a", D(2024, 1, 6), "3", "p", 10.0, 100.0),
    ("a", D(2024, 1, 7), "C4", "p", -3.0, -30.0),
    ("a", D(2024, 1, 8), "C5", "p", -4.0, -40.0),
    ("a", D(2024, 1, 9), "C6", "p", -4.0, -40.0),
    # b: a cancellation before any purchase of the product is no pair
    ("b", D(2024, 1, 1), "C7", "p", -1.0, -10.0),
    ("b", D(2024, 1, 2), "4", "p", 1.0, 10.0),
    # c: another product does not pair
    ("c", D(2024, 1, 1), "5", "q", 2.0, 20.0),
    ("c", D(2024, 1, 2), "C8", "p", -2.0, -20.0),
]


def test_cancellations_pair_with_the_nearest_earlier_open_purchase(eng: Engine) -> None:
    paired, counts = _paired(eng, LIFO)
    rows = {r["_row"]: r for r in eng.to_arrow(paired.order_by("_row")).to_pylist()}
    assert len(rows) == len(LIFO)  # every line stays
    assert [rows[k]["cancel_pairing"] for k in (4, 5, 6, 8, 9, 10, 11, 14)] == [
        "exact",
        "exact",
        "unpaired",
        "partial",
        "partial",
        "unpaired",
        "unpaired",
        "unpaired",
    ]
    assert rows[2]["cancelled_share"] == rows[3]["cancelled_share"] == 1.0
    assert (rows[7]["cancelled_quantity"], rows[7]["cancelled_revenue"]) == (7.0, 70.0)
    assert rows[7]["cancelled_share"] == pytest.approx(0.7)
    assert rows[12]["cancelled_share"] == 0.0  # b's purchase came after the cancellation
    # paired cancellations are cancellations; unpaired ones count as returns
    assert (rows[4]["is_cancel"], rows[4]["is_return"]) == (True, False)
    assert (rows[6]["is_cancel"], rows[6]["is_return"]) == (False, True)
    assert rows[2]["cancel_pairing"] is None and rows[2]["is_return"] is False
    assert counts == {
        "cancellation_lines": 8,
        "paired_exact": 2,
        "paired_partial": 2,
        "unpaired": 4,
        "purchase_lines_cancelled_in_full": 2,
        "purchase_lines_cancelled_in_part": 1,
        "cancelled_revenue": 170.0,
    }


def test_an_order_cancelled_minutes_later_is_no_purchase(eng: Engine) -> None:
    # 80,995 units ordered and cancelled the same day (twelve minutes later in the source;
    # dates carry no time): the customer's purchases are their three small orders
    rows = [
        ("w", D(2024, 1, 18), "541431", "23166", 74215.0, 77183.6),
        ("w", D(2024, 1, 18), "C541433", "23166", -74215.0, -77183.6),
        ("x", D(2023, 12, 9), "581483", "23843", 80995.0, 168469.6),
        ("x", D(2023, 12, 9), "C581484", "23843", -80995.0, -168469.6),
        ("x", D(2024, 2, 1), "600001", "22423", 12.0, 30.0),
        ("x", D(2024, 3, 1), "600002", "22423", 8.0, 20.0),
        ("x", D(2024, 4, 1), "600003", "85099", 10.0, 19.5),
    ]
    paired, counts = _paired(eng, rows)
    assert counts["paired_exact"] == 2 and counts["unpaired"] == 0
    out = eng.to_arrow(customer_features(paired, as_of=AS_OF, settings=FeatureSettings()))
    f = {r["customer_id"]: r for r in out.to_pylist()}
    x = f["x"]
    assert x["n_orders"] == 3 and x["first_purchase"] == D(2024, 2, 1)
    assert x["avg_order_value"] == pytest.approx(69.5 / 3)
    assert x["units"] == 30.0 and x["revenue"] == pytest.approx(69.5)
    assert x["returns_value"] == 0.0 and x["n_return_lines"] == 0
    # a customer who cancelled everything has no purchase at all
    w = f["w"]
    assert (w["n_orders"], w["first_purchase"], w["avg_order_value"]) == (0, None, None)
    assert w["revenue"] == 0.0 and w["n_lines"] == 2


def test_partly_cancelled_order_counts_with_its_reduced_value(eng: Engine) -> None:
    rows = [
        ("p", D(2024, 3, 1), "1", "a", 10.0, 100.0),
        ("p", D(2024, 3, 1), "1", "b", 1.0, 40.0),
        ("p", D(2024, 3, 2), "C1", "a", -4.0, -40.0),
    ]
    paired, counts = _paired(eng, rows)
    assert (counts["paired_partial"], counts["purchase_lines_cancelled_in_part"]) == (1, 1)
    f = eng.to_arrow(customer_features(paired, as_of=AS_OF, settings=FeatureSettings()))
    r = f.to_pylist()[0]
    assert (r["n_orders"], r["units"], r["avg_order_value"]) == (1, 7.0, 100.0)
    assert r["revenue"] == 100.0 and r["returns_value"] == 0.0


def test_unpaired_cancellations_are_returns_and_switching_pairing_off_makes_all_so(
    eng: Engine,
) -> None:
    for settings, unpaired in (({}, 4), ({"pair_cancellations": False}, 8)):
        paired, counts = _paired(eng, LIFO, **settings)
        assert counts["unpaired"] == unpaired
        f = eng.to_arrow(customer_features(paired, as_of=AS_OF, settings=FeatureSettings()))
        a = next(r for r in f.to_pylist() if r["customer_id"] == "a")
        returned = 50.0 + 40.0 if not settings else 50 * 3 + 30 + 40 + 40.0
        assert a["returns_value"] == pytest.approx(returned)
        assert a["revenue"] == pytest.approx(200.0 - 170.0 - 50.0 - 40.0)
    # partial pairs switched off: the two partial cancellations become returns too
    _, counts = _paired(eng, LIFO, partial_cancellations=False)
    assert (counts["paired_exact"], counts["paired_partial"], counts["unpaired"]) == (2, 0, 6)


def test_lines_without_quantity_pair_on_their_revenue(eng: Engine) -> None:
    rows = [
        ("r", D(2024, 3, 1), "1", None, None, 75.0),
        ("r", D(2024, 3, 1), "2", None, None, 25.0),
        ("r", D(2024, 3, 3), "C1", None, None, -75.0),
    ]
    paired, counts = _paired(eng, rows)
    assert counts["paired_exact"] == 1
    t = eng.to_arrow(paired.order_by("_row"))
    assert t.column("cancelled_share").to_pylist() == [1.0, 0.0, 0.0]
    assert t.column("cancelled_quantity").to_pylist() == [None, None, None]


def test_pairing_keeps_every_row_and_the_revenue_total(eng: Engine) -> None:
    raw = _lines(LIFO)
    paired, _ = pair_cancellations(eng.from_arrow(raw), engine=eng)
    out = eng.to_arrow(paired.order_by("_row"))
    assert out.num_rows == raw.num_rows
    assert out.column("revenue").equals(raw.column("revenue"))
    assert set(out.column_names) == set(raw.column_names) | set(PAIRING_COLUMNS)
    net = eng.to_arrow(net_lines(paired))
    assert pa.compute.sum(net.column("net_revenue")).as_py() == pytest.approx(
        pa.compute.sum(raw.column("revenue")).as_py()
    )


@pytest.mark.spark
def test_pairing_and_features_give_the_same_on_spark(eng: Engine, spark_engine: Any) -> None:
    # window functions (running sums, lag) and the partial-match join spelt by Ibis for Spark
    raw = _lines(LIFO)
    results = []
    for e in (eng, spark_engine):
        paired, counts = pair_cancellations(e.from_arrow(raw), engine=e)
        feats = customer_features(paired, as_of=AS_OF, settings=FeatureSettings())
        results.append(
            (
                counts,
                e.to_arrow(paired.order_by("_row")).select(["_row", *PAIRING_COLUMNS]),
                e.to_arrow(feats.order_by("customer_id")),
            )
        )
    (c1, p1, f1), (c2, p2, f2) = results
    assert c1 == c2
    assert p1.to_pylist() == p2.to_pylist()
    assert f1.to_pylist() == f2.to_pylist()
