"""The cross-sell stage's tables in the engine: what it keeps across its steps is held
compressed, with the same rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from tierwise.crosssell._lines import months_before
from tierwise.crosssell.recommend import customer_bounds, customer_items
from tierwise.crosssell.stage import _keep_compressed
from tierwise.engine import Engine, fetch


def _lines(n: int, customers: int) -> pa.Table:
    rng = np.random.default_rng(11)
    day = dt.date(2024, 6, 30)
    ids = pa.array([f"C{i:06d}" for i in range(customers)]).take(
        pa.array(rng.integers(0, customers, n))
    )
    return pa.table(
        {
            "customer_id": ids,
            "date": pa.array(
                [day - dt.timedelta(days=int(d)) for d in rng.integers(0, 700, n)], pa.date32()
            ),
            "revenue": np.round(rng.gamma(2.0, 50.0, n), 2),
            "cost": np.round(rng.gamma(2.0, 30.0, n), 2),
            "order_id": pa.array([f"O{i:07d}" for i in rng.integers(0, n // 3, n)]),
            "product_id": pa.array([f"P{i:03d}" for i in rng.integers(0, 300, n)]),
        }
    )


def _kinds(eng: Engine, table: object) -> set[str]:
    name = table.op().name  # type: ignore[attr-defined]
    (db,) = eng.con.con.execute(
        "SELECT database_name FROM duckdb_tables() WHERE table_name = ?", [name]
    ).fetchall()[0]
    return {
        r[0]
        for r in eng.con.con.execute(
            "SELECT DISTINCT compression FROM pragma_storage_info(?)", [f"{db}.main.{name}"]
        ).fetchall()
    }


def test_the_customer_item_figures_are_kept_compressed_with_the_same_rows(tmp_path) -> None:
    # an ample cap: the engine alone would keep the table as it was written
    eng = Engine(memory_limit="8GB", threads=1, temp_directory=tmp_path)
    try:
        lines = _lines(200_000, 5_000)
        tx = eng.from_arrow(lines)
        day = dt.date(2024, 6, 30)
        ci = customer_items(
            tx,
            level="product",
            as_of=day,
            lookback_months=12,
            cutoff=months_before(day, 6),
            prices=False,
            categories=False,
            bounds=customer_bounds(lines.column("customer_id"), 2_000),
        )
        plain = eng.materialize(ci)
        assert _kinds(eng, plain) == {"Uncompressed"}
        kept = _keep_compressed(ci, eng)
        assert _kinds(eng, kept) - {"Uncompressed"}, _kinds(eng, kept)
        order = ["customer_id", "item"]
        assert fetch(kept.order_by(order), "kept").equals(fetch(plain.order_by(order), "plain"))
    finally:
        eng.close()


def test_the_kept_figures_hold_under_half_the_memory_of_plain_ones(tmp_path) -> None:
    eng = Engine(memory_limit="8GB", threads=1, temp_directory=tmp_path)
    try:
        tx = eng.from_arrow(_lines(200_000, 5_000))
        # the lines compressed first: what changes below is the figures' own memory
        eng.compress()
        day = dt.date(2024, 6, 30)
        ci = customer_items(tx, level="product", as_of=day, lookback_months=12, prices=False)

        def held() -> int:
            row = eng.con.con.execute(
                "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
                "WHERE tag = 'IN_MEMORY_TABLE'"
            ).fetchall()
            return int(row[0][0])

        before = held()
        plain = eng.materialize(ci)
        grew_plain = held() - before
        eng.release(plain)
        before = held()
        _keep_compressed(ci, eng)
        assert held() - before < grew_plain / 2
    finally:
        eng.close()
