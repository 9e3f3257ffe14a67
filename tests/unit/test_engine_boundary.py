"""The engine boundary: every query goes through ``tierwise.engine.fetch`` (or
``Engine``'s methods), which names what failed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from tierwise.engine import Engine, fetch
from tierwise.errors import EngineError

SRC = Path(__file__).resolve().parents[2] / "src" / "tierwise"
#: the stages and the run that orders them: none executes an Ibis expression itself (the
#: readers and the dashboard's own overrides database sit on the other side of the boundary)
STAGE_CODE = [
    SRC / "pipeline.py",
    SRC / "validate.py",
    *(
        p
        for pkg in (
            "accounts",
            "features",
            "lifetime",
            "potential",
            "segments",
            "coverage",
            "crosssell",
            "terms",
        )
        for p in (SRC / pkg).rglob("*.py")
    ),
]


def test_no_stage_module_executes_a_query_outside_the_engine_boundary() -> None:
    offenders = []
    assert len(STAGE_CODE) > 40  # the packages are where they are said to be
    for path in sorted(STAGE_CODE):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.strip()
            if code.startswith((">>>", "...")):  # docstring examples
                continue
            # Ibis's executors (an Arrow table's to_pandas() is not a query)
            if re.search(r"\.(to_pyarrow|to_pyarrow_batches|to_polars|execute)\(", code):
                offenders.append(f"{path.relative_to(SRC)}:{n}: {code}")
    assert not offenders, "queries run outside tierwise.engine.fetch:\n" + "\n".join(offenders)


def test_a_failing_query_is_re_raised_naming_the_operation() -> None:
    eng = Engine()
    try:
        t = eng.from_arrow(pa.table({"x": ["a", "b"]}))
        bad = t.mutate(y=t.x.cast("int64"))  # text that is not a number: the engine fails
        with pytest.raises(EngineError, match="the engine failed computing the test's sum"):
            fetch(bad, "the test's sum")
        with pytest.raises(EngineError, match="the engine failed computing the test's sum"):
            eng.to_arrow(bad, "the test's sum")
        ok = fetch(t.aggregate(n=t.count()), "a count")
        assert ok.column("n").to_pylist() == [2]
    finally:
        eng.close()


def test_fetch_runs_on_the_engine_that_holds_the_table() -> None:
    t = ibis.memtable({"x": [1, 2, 3]})
    assert fetch(t.aggregate(s=t.x.sum()), "a sum").column("s").to_pylist() == [6]


def test_a_table_that_fails_to_compute_is_refused_and_leaves_nothing_behind() -> None:
    eng = Engine()
    t = eng.from_arrow(pa.table({"x": [1, 2], "s": ["1", "a"]}))
    with pytest.raises(EngineError, match="columns without a type: y"):
        eng.materialize(t.mutate(y=ibis.null()), "tw_untyped")
    # a query that fails while the rows are written: the half-made table is dropped
    with pytest.raises(EngineError, match="tw_failing"):
        eng.materialize(t.mutate(n=t.s.cast("int64")), "tw_failing")
    left = eng.con.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'tw_new%' "
        "OR table_name IN ('tw_untyped', 'tw_failing')"
    )
    assert left.fetchall() == []
    eng.close()


def test_duckdb_writes_what_does_not_fit_to_a_private_folder_it_removes(tmp_path: Path) -> None:
    # a cap far below the table's size: DuckDB must write to disk instead of failing, in a
    # folder of its own inside the given one, which close removes (the given one stays)
    from tierwise.engine import default_memory_limit, memory_available

    eng = Engine(memory_limit="64MiB", temp_directory=tmp_path)
    raw = eng.con.con
    assert raw.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "64.0 MiB"
    spill = Path(raw.execute("SELECT current_setting('temp_directory')").fetchall()[0][0])
    assert spill.parent == tmp_path and spill.name.startswith("tierwise-spill-")
    raw.execute(
        "CREATE TEMP TABLE tw_big AS SELECT i, 'customer ' || (i % 100003)::VARCHAR "
        "|| ' of a long name' AS c FROM range(3000000) r(i)"
    )
    t = eng.con.table("tw_big")
    made = eng.materialize(t.mutate(c=t.c.upper()))
    written = [f for f in spill.iterdir() if f.name != ".tierwise-lock"]
    assert written, "nothing was written to disk under a 64 MiB cap"
    assert eng.to_arrow(made.aggregate(n=made.count(), s=made.i.sum())).to_pylist() == [
        {"n": 3_000_000, "s": 3_000_000 * 2_999_999 // 2}
    ]
    eng.close()
    assert not spill.exists() and tmp_path.is_dir()
    # without a cap given, a quarter of the memory the process may use
    eng = Engine()
    cap = eng.con.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    eng.close()
    mib = float(default_memory_limit().removesuffix("MiB"))
    value, unit = cap.split()
    # DuckDB shows the cap cut to a tenth of its unit
    step = {"MiB": 0.1, "GiB": 0.1 * 1024}[unit]
    assert abs(float(value) * {"MiB": 1, "GiB": 1024}[unit] - mib) <= step
    assert mib == max(memory_available() // 4 // 2**20, 256)


@pytest.mark.skipif(sys.platform == "win32", reason="the lock is POSIX's flock")
def test_a_killed_runs_spill_folder_is_removed_by_the_next_engine(tmp_path: Path) -> None:
    # a process killed outright (the out-of-memory killer's SIGKILL) runs no clean-up: its
    # private folders stay, with their spill files; the next engine removes them, and only
    # them: a live engine's folder and folders that are not the engine's stay
    script = (
        "import os, signal, sys\n"
        "from tierwise.engine import Engine\n"
        "eng = Engine(memory_limit='64MiB', temp_directory=sys.argv[1])\n"
        "raw = eng.con.con\n"
        "print(raw.execute(\"SELECT current_setting('temp_directory')\").fetchall()[0][0])\n"
        "print(eng.temp_dir(), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert done.returncode == -9, done.stderr
    spill, scratch = (Path(line) for line in done.stdout.split())
    assert spill.parent == tmp_path and scratch.parent == tmp_path
    assert spill.is_dir() and scratch.is_dir()
    (spill / "duckdb_temp_block-1.block").write_bytes(b"x" * 1024)
    mine = tmp_path / "tierwise-mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("a user's folder", encoding="utf-8")
    live = Engine(temp_directory=tmp_path)
    live_spill = Path(
        live.con.con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
    )
    assert not spill.exists() and not scratch.exists()
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "a user's folder"
    # a second engine while the first is open leaves the first's folder alone
    second = Engine(temp_directory=tmp_path)
    assert live_spill.is_dir()
    second.close()
    live.close()
    assert not live_spill.exists() and mine.is_dir()


def test_a_temp_directory_that_cannot_be_used_is_a_settings_error(tmp_path: Path) -> None:
    from tierwise.errors import SettingsError

    with pytest.raises(SettingsError, match=r"\[run\] temp_directory: .*missing"):
        Engine(temp_directory=tmp_path / "missing")


def test_a_table_computed_in_parts_holds_every_parts_rows(engine: Engine) -> None:
    t = engine.from_arrow(pa.table({"k": list(range(10)), "v": [float(i) / 4 for i in range(10)]}))
    grouped = [
        t.filter(t.k.between(lo, lo + 3)).group_by("k").aggregate(v=t.v.sum()) for lo in (0, 4, 8)
    ]
    made = engine.materialize_parts(grouped)
    got = fetch(made.order_by("k"), "parts").to_pylist()
    assert got == [{"k": i, "v": i / 4} for i in range(10)]
    # one part is materialize itself
    one = engine.materialize_parts(grouped[:1])
    assert engine.count(one) == 4
    with pytest.raises(EngineError, match="no part"):
        engine.materialize_parts([])
    if engine.backend == "duckdb":
        with pytest.raises(EngineError, match="differ in their columns"):
            engine.materialize_parts([grouped[0], grouped[1].mutate(w=1)])


def test_duckdb_plans_without_pushing_partial_aggregates() -> None:
    """DuckDB's partial_aggregate_pushdown spends minutes planning an aggregate over
    validation's nested expressions (the discount warnings' counts of a 4-line file with a
    discount_percent beside its revenue took 90 s to plan, 0.07 s without it): the engine
    turns it off for every query."""
    engine = Engine()
    try:
        got = engine.con.con.execute(
            "SELECT value FROM duckdb_settings() WHERE name = 'disabled_optimizers'"
        ).fetchone()
    finally:
        engine.close()
    assert got is not None and "partial_aggregate_pushdown" in str(got[0]).split(",")
