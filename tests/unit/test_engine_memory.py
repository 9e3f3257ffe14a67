"""The engine's tables under a tight memory cap: compressed in memory rather than written to
disk, with the same rows."""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pytest

from tierwise.engine import Engine, fetch


def _held(eng: Engine) -> int:
    row = eng.con.con.execute(
        "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
        "WHERE tag = 'IN_MEMORY_TABLE'"
    ).fetchall()
    return int(row[0][0])


def _lines(n: int) -> pa.Table:
    rng = np.random.default_rng(7)
    ids = rng.integers(0, 20_000, n)
    return pa.table(
        {
            "customer_id": pa.array([f"C{i:06d}" for i in range(20_000)]).take(pa.array(ids)),
            "revenue": np.round(rng.gamma(2.0, 50.0, n), 2),
            "quantity": rng.integers(1, 20, n).astype(np.float64),
        }
    )


@pytest.mark.parametrize(("limit", "compressed"), [("256MB", True), ("8GB", False)])
def test_tables_are_compressed_only_when_memory_is_tight(
    tmp_path, limit: str, compressed: bool
) -> None:
    # 4,000,000 lines take about 200 MB uncompressed: over half of a 256 MB cap, a few
    # per cent of 8 GB
    lines = _lines(4_000_000)
    eng = Engine(memory_limit=limit, threads=1, temp_directory=tmp_path)
    try:
        src = eng.from_arrow(lines)
        kept = eng.materialize(src.mutate(net=src.revenue * src.quantity))
        kinds = {
            r[0]
            for r in eng.con.con.execute(
                "SELECT DISTINCT compression FROM pragma_storage_info(?)",
                [f"tw_store.main.{kept.op().name}"],
            ).fetchall()
        }
        assert (kinds != {"Uncompressed"}) is compressed, kinds
        if compressed:
            # dictionaries for the ids, ALP for the amounts: a fraction of the plain size
            assert _held(eng) < 100 * 10**6
        got = fetch(kept.order_by(kept.customer_id.desc()).limit(3), "top")
        want = (
            lines.append_column("net", pa.compute.multiply(lines["revenue"], lines["quantity"]))
            .sort_by([("customer_id", "descending")])
            .slice(0, 3)
        )
        assert got.column("customer_id").to_pylist() == want.column("customer_id").to_pylist()
        total = fetch(kept.aggregate(n=kept.count(), r=kept.revenue.sum()), "sum").to_pylist()
        assert total[0]["n"] == 4_000_000
        assert total[0]["r"] == pytest.approx(float(np.sum(lines["revenue"])), rel=1e-12)
    finally:
        eng.close()


def test_compress_compresses_the_kept_tables_whatever_memory_they_hold(tmp_path) -> None:
    lines = _lines(400_000)
    eng = Engine(memory_limit="8GB", threads=1, temp_directory=tmp_path)
    try:
        kept = eng.materialize(eng.from_arrow(lines))
        plain = _held(eng)
        eng.compress()
        assert _held(eng) < plain / 2
        # the same rows in the same order
        assert fetch(kept, "kept").equals(lines)
    finally:
        eng.close()


def _where(table: object) -> str:
    op = table.op()  # type: ignore[attr-defined]
    return f"{op.namespace.catalog}.{op.namespace.database}.{op.name}"


def test_a_large_table_is_written_compressed_to_the_spill_folder(tmp_path) -> None:
    # with an ample cap a table kept in memory is written as it comes; a large one goes to
    # the engine's database file, compressed as it is written
    lines = _lines(4_000_000)
    eng = Engine(memory_limit="8GB", threads=1, temp_directory=tmp_path)
    try:
        src = eng.from_arrow(lines)
        plain = eng.materialize(src, "plain")
        large = eng.materialize(src, "large", large=True)

        def kinds(t: object) -> set[str]:
            got = eng.con.con.execute(
                "SELECT DISTINCT compression FROM pragma_storage_info(?)", [_where(t)]
            ).fetchall()
            return {r[0] for r in got}

        assert kinds(plain) == {"Uncompressed"}
        assert kinds(large) - {"Uncompressed"}, kinds(large)
        # the file lies in the engine's private folder under the temp directory given
        files = list(tmp_path.glob("tierwise-spill-*/tables.duckdb"))
        assert len(files) == 1 and files[0].stat().st_size > 0
        # the same rows in the same order, read by the bare name like any kept table
        assert fetch(large, "large").equals(lines)
        assert fetch(eng.con.table("large"), "by name").num_rows == lines.num_rows
        # made again under the same name in memory, it replaces the large one
        again = eng.materialize(src.limit(5), "large")
        assert fetch(again, "again").num_rows == 5
        assert fetch(eng.con.table("large"), "by name").num_rows == 5
        eng.release(again)
        eng.release(large)
        left = eng.con.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'large'"
        ).fetchall()[0][0]
        assert left == 0
    finally:
        eng.close()
    # closing the engine removes the file with its folder
    assert not list(tmp_path.glob("tierwise-spill-*"))


# Run in a process of its own: in the test session other tests' DuckDB databases share the
# allocator, and the garbage collector may free one of them between the purge and the
# reading, so the reading would count pages this test never held.
_GIVE_BACK = """
import ctypes, gc, sys
import pyarrow.parquet as pq
from tierwise.engine import Engine, _dirty_pages, _duckdb_mallctl

def dirty():
    mallctl = _duckdb_mallctl()
    page, size = ctypes.c_size_t(0), ctypes.c_size_t(8)
    assert mallctl(b"arenas.page", ctypes.byref(page), ctypes.byref(size), None, 0) == 0
    return _dirty_pages(mallctl) * page.value

eng = Engine(memory_limit="8GB", threads=1, temp_directory=sys.argv[1])
if _duckdb_mallctl() is None:
    print("no-jemalloc")
    sys.exit(0)
lines = pq.read_table(sys.argv[2])
kept = eng.materialize(eng.from_arrow(lines))
del lines
gc.collect()
eng.release(kept)
before = dirty()
purged = eng.give_back_memory()
print(before, int(purged), dirty())
eng.close()
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="DuckDB carries jemalloc on Linux only"
)
def test_give_back_memory_returns_the_pages_a_dropped_table_held(tmp_path) -> None:
    import subprocess

    import pyarrow.parquet as pq

    pq.write_table(_lines(4_000_000), tmp_path / "lines.parquet")
    done = subprocess.run(
        [sys.executable, "-c", _GIVE_BACK, str(tmp_path), str(tmp_path / "lines.parquet")],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    if done.stdout.strip() == "no-jemalloc":
        pytest.skip("this DuckDB build carries no jemalloc of its own")
    before, purged, after = (int(x) for x in done.stdout.split())
    # the dropped table's pages are held by DuckDB's allocator (the same one purged) ...
    assert before > 64 * 2**20
    assert purged == 1
    # ... and after the purge the table's 200 MB are back with the system, not kept for
    # DuckDB's next use
    assert after < 16 * 2**20


def test_give_back_memory_is_a_no_op_where_the_engine_has_nothing_to_give() -> None:
    eng = Engine.__new__(Engine)
    eng.backend = "spark"
    assert eng.give_back_memory() is False


def _by_tag(eng: Engine) -> dict[str, tuple[int, int]]:
    rows = eng.con.con.execute(
        "SELECT tag, memory_usage_bytes, temporary_storage_bytes FROM duckdb_memory()"
    ).fetchall()
    return {str(tag): (int(used), int(spilled)) for tag, used, spilled in rows}


def test_give_back_memory_drops_the_database_files_blocks_a_query_left_in_the_pool(
    tmp_path,
) -> None:
    lines = _lines(2_000_000)
    eng = Engine(memory_limit="4GB", threads=1, temp_directory=tmp_path)
    try:
        src = eng.from_arrow(lines)
        large = eng.materialize(src, large=True)
        small = eng.materialize(src.group_by("customer_id").agg(revenue=src.revenue.sum()))
        eng.compress()
        total = eng.scalar(large.revenue.sum())
        cached = _by_tag(eng)["BASE_TABLE"][0]
        # the query read the large table's blocks from the file, and the pool kept them
        assert cached > 8 * 2**20
        in_memory = _by_tag(eng)["IN_MEMORY_TABLE"]
        assert eng.give_back_memory() in (True, False)
        after = _by_tag(eng)
        assert after.get("BASE_TABLE", (0, 0))[0] <= 2**20
        # the tables held in memory stay there, none written to the spill folder ...
        assert after["IN_MEMORY_TABLE"] == in_memory
        assert after["IN_MEMORY_TABLE"][1] == 0
        # ... the cap is as it was ...
        cap = eng.con.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert cap.startswith("3.7 GiB"), cap
        # ... and both tables read as before
        assert eng.scalar(large.revenue.sum()) == pytest.approx(total, rel=1e-12)
        assert eng.scalar(small.revenue.sum()) == pytest.approx(total, rel=1e-12)
        assert eng.scalar(large.count()) == lines.num_rows
    finally:
        eng.close()
