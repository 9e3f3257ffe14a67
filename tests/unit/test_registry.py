"""The stage contract: stages declare what they need and provide; the pipeline honours it.

A stage registered from outside the package runs in dependency order and its column lands in
the customer table; a second owner of a column is refused at registration, naming both
stages; a stage run alone runs what it depends on and gives the same figures as a whole run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tierwise import registry
from tierwise.demo import generate
from tierwise.engine import Engine
from tierwise.errors import ModelError
from tierwise.io.demo_files import write_demo
from tierwise.pipeline import run_pipeline
from tierwise.registry import ColumnDoc, RegistryError, Stage, StageContext, StageResult
from tierwise.settings import INPUT_TABLES, Settings

TX = "customer_id,date,revenue,order_id\nA,2024-01-02,10,1\nA,2024-02-03,30,2\nB,2024-01-09,5,3\n"


@pytest.fixture
def tx(tmp_path: Path) -> Path:
    p = tmp_path / "tx.csv"
    p.write_text(TX, encoding="utf-8")
    return p


@pytest.fixture
def toy() -> Iterator[list[str]]:
    """A stage from outside the package: revenue per order, after the features stage."""
    seen: list[str] = []

    def run(ctx: StageContext) -> StageResult:
        seen.append(",".join(ctx.results))
        c = ctx.customers()
        value = pc.divide(c.column("revenue"), pc.cast(c.column("n_orders"), pa.float64()))
        return StageResult(
            customers=pa.table({"customer_id": c.column("customer_id"), "toy_per_order": value}),
            tables={"toy_table": pa.table({"n": [c.num_rows]})},
            manifest={"rows": c.num_rows},
            warnings=["toy: an assumption (set [toy] nothing to change it)"],
        )

    registry.register(
        Stage(
            name="toy",
            help="Revenue per order.",
            run=run,
            needs=("features",),
            columns=(ColumnDoc("toy_per_order", "float64", "currency", "whole history", "x"),),
            tables=("toy_table",),
        )
    )
    try:
        yield seen
    finally:
        registry.unregister("toy")


def test_a_stage_from_outside_runs_in_order_and_adds_its_column(tx: Path, toy: list[str]) -> None:
    res = run_pipeline({"transactions": tx}, stages=["toy"])
    # its dependency ran first
    assert toy == ["cancellations,features"]
    got = dict(
        zip(
            res.customers.column("customer_id").to_pylist(),
            res.customers.column("toy_per_order").to_pylist(),
            strict=True,
        )
    )
    assert got == {"A": 20.0, "B": 5.0}
    assert res.tables["toy_table"].to_pylist() == [{"n": 2}]
    assert res.manifest["toy"] == {"rows": 2}
    # a stage's assumptions reach the run's own warnings
    assert "toy: an assumption (set [toy] nothing to change it)" in res.manifest["warnings"]


def test_a_lean_run_writes_a_stages_tables_when_the_stage_ends(
    tx: Path, toy: list[str], tmp_path: Path
) -> None:
    files: list[list[str]] = []

    def later(ctx: StageContext) -> StageResult:
        # the staging folder beside the output folder, as this stage sees it
        files.extend(sorted(p.name for p in d.iterdir()) for d in tmp_path.glob(".out.tmp-*"))
        return StageResult()

    registry.register(Stage(name="toy_later", help="x", run=later, needs=("toy",)))
    try:
        lean = run_pipeline(
            {"transactions": tx}, stages=["toy_later"], out_dir=tmp_path / "out", keep_details=False
        )
        kept = run_pipeline({"transactions": tx}, stages=["toy_later"], out_dir=tmp_path / "o2")
    finally:
        registry.unregister("toy_later")
    # written before the next stage ran, and let go of
    assert files and {"toy_table.csv", "toy_table.parquet"} <= set(files[0])
    assert lean.results["toy"].tables == {}
    assert "toy_table" not in lean.tables
    # a run that keeps its details hands it back; the files are the same
    assert kept.results["toy"].tables["toy_table"].to_pylist() == [{"n": 2}]
    for name in ("toy_table.csv", "toy_table.parquet"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "o2" / name).read_bytes()


def test_a_lean_run_that_fails_after_writing_leaves_no_folder(
    tx: Path, toy: list[str], tmp_path: Path
) -> None:
    def fails(ctx: StageContext) -> StageResult:
        raise RuntimeError("a stage that breaks")

    registry.register(Stage(name="toy_fails", help="x", run=fails, needs=("toy",)))
    try:
        with pytest.raises(RuntimeError, match="a stage that breaks"):
            run_pipeline(
                {"transactions": tx},
                stages=["toy_fails"],
                out_dir=tmp_path / "out",
                keep_details=False,
            )
    finally:
        registry.unregister("toy_fails")
    # neither the output folder nor the staging folder with the tables written early
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tx.csv"]


def test_a_detail_is_freed_once_no_later_stage_reads_it(tx: Path) -> None:
    seen: list[object] = []
    marker = object()

    def first(ctx: StageContext) -> StageResult:
        return StageResult(detail=marker)

    def second(ctx: StageContext) -> StageResult:
        seen.append(ctx.detail("toy_first"))
        return StageResult(detail="second's own")

    registry.register(Stage(name="toy_first", help="x", run=first, needs=("features",)))
    registry.register(Stage(name="toy_second", help="x", run=second, needs=("toy_first",)))
    try:
        lean = run_pipeline({"transactions": tx}, stages=["toy_second"], keep_details=False)
        kept = run_pipeline({"transactions": tx}, stages=["toy_second"])
    finally:
        registry.unregister("toy_second")
        registry.unregister("toy_first")
    # the stage that reads the first one's detail saw it in both runs
    assert seen == [marker, marker]
    # freed: nothing ran after them that declares them
    assert [lean.results[n].detail for n in ("toy_first", "toy_second")] == [None, None]
    assert kept.results["toy_first"].detail is marker
    assert lean.customers.equals(kept.customers)


def test_a_stages_columns_copied_into_the_customer_table_are_held_once(tx: Path) -> None:
    seen: list[list[float] | None] = []

    def backwards(ctx: StageContext) -> StageResult:
        c = ctx.customers()
        # in the opposite order to the customer table's: folded in by a copy
        return StageResult(
            customers=pa.table(
                {
                    "customer_id": c.column("customer_id")[::-1],
                    "toy_back": pc.multiply(c.column("revenue")[::-1], 2.0),
                }
            )
        )

    def aligned(ctx: StageContext) -> StageResult:
        c = ctx.customers()
        seen.append(c.column("toy_back").to_pylist())
        return StageResult(
            customers=pa.table(
                {"customer_id": c.column("customer_id"), "toy_same": c.column("toy_back")}
            )
        )

    doc = ("float64", "currency", "whole history", "x")
    registry.register(
        Stage(
            name="toy_back",
            help="x",
            run=backwards,
            needs=("features",),
            columns=(ColumnDoc("toy_back", *doc),),
        )
    )
    registry.register(
        Stage(
            name="toy_same",
            help="x",
            run=aligned,
            needs=("toy_back",),
            columns=(ColumnDoc("toy_same", *doc),),
        )
    )

    def reader(ctx: StageContext) -> StageResult:
        # a stage reading the copied stage's own columns, after the table copied them
        own = ctx.results["toy_back"].customers
        seen.append(None if own is None else own.column("toy_back").to_pylist())
        return StageResult()

    registry.register(
        Stage(
            name="toy_reader",
            help="x",
            run=reader,
            needs=("toy_same",),
            reads_customers=("toy_back",),
        )
    )
    try:
        lean = run_pipeline({"transactions": tx}, stages=["toy_reader"], keep_details=False)
        kept = run_pipeline({"transactions": tx}, stages=["toy_reader"])
    finally:
        registry.unregister("toy_reader")
        registry.unregister("toy_same")
        registry.unregister("toy_back")
    # the stage that declares it reads them found them in both runs, as the stage wrote them
    assert seen[1] == seen[3] == [10.0, 80.0]
    seen = [seen[0], seen[2]]
    # the later stage read the copied column in both runs, and the tables are the same
    revenue = kept.customers.column("revenue").to_pylist()
    assert seen[0] == seen[1] == [2 * r for r in revenue] == [80.0, 10.0]
    assert lean.customers.equals(kept.customers)
    # the lean run holds the copied stage's columns only in the customer table; a stage
    # whose columns the table shares keeps them, as do the runs that keep everything
    assert lean.results["toy_back"].customers is None
    assert lean.results["toy_same"].customers is not None
    assert kept.results["toy_back"].customers is not None


def test_an_input_table_is_freed_in_the_engine_once_no_later_stage_reads_it(tx: Path) -> None:
    seen: list[list[str]] = []

    def probe(ctx: StageContext) -> StageResult:
        seen.append(sorted(ctx.tables))
        c = ctx.customers()
        return StageResult(
            customers=pa.table(
                {"customer_id": c.column("customer_id"), "toy_orders": c.column("n_orders")}
            )
        )

    registry.register(
        Stage(
            name="toy_probe",
            help="x",
            run=probe,
            needs_inputs=(),
            needs=("features",),
            columns=(ColumnDoc("toy_orders", "int64", "count", "whole history", "x"),),
        )
    )
    eng = Engine()
    try:
        res = run_pipeline({"transactions": tx}, stages=["toy_probe"], engine=eng)
        left = eng.con.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE estimated_size > 0"
        ).fetchall()
    finally:
        registry.unregister("toy_probe")
        eng.close()
    # the transactions were last read by the features stage: gone from the stage after it
    assert seen == [[]]
    # and from the engine: no table holding rows (the invoice lines) is kept for the outputs
    assert left == []
    # the customer table still has its master rows and every stage's columns
    assert res.customers.column("customer_id").to_pylist() == ["A", "B"]
    assert res.customers.column("toy_orders").to_pylist() == [2, 1]
    assert res.customers.column("revenue").to_pylist() == [40.0, 5.0]


def test_the_transactions_are_kept_compressed_once_no_stage_rewrites_them(tx: Path) -> None:
    kinds: set[str] = set()

    def probe(ctx: StageContext) -> StageResult:
        name = ctx.tables["transactions"].op().name  # type: ignore[attr-defined]
        kinds.update(
            r[0]
            for r in ctx.engine.con.con.execute(
                "SELECT DISTINCT compression FROM pragma_storage_info(?)", [name]
            ).fetchall()
        )
        return StageResult()

    registry.register(Stage(name="toy_storage", help="x", run=probe, needs=("features",)))
    try:
        run_pipeline({"transactions": tx}, stages=["toy_storage"])
    finally:
        registry.unregister("toy_storage")
    # cancellations, the last stage rewriting them, had them compressed
    assert kinds - {"Uncompressed"}, kinds


def _stored(ctx: StageContext) -> bool:
    """Whether the stage sees the transactions as a table computed into the engine."""
    op = ctx.tables["transactions"].op()
    return op.name in ctx.engine._made if hasattr(op, "name") else False


@pytest.fixture
def rewriters() -> Iterator[dict[str, object]]:
    """Two stages rewriting the transactions one after the other, and a stage reading them
    after both; ``fail`` makes the second rewriter give up (a model it cannot fit)."""
    seen: dict[str, object] = {"fail": False}

    def first(ctx: StageContext) -> StageResult:
        tx = ctx.tables["transactions"]
        return StageResult(rewrites={"transactions": tx.mutate(toy_a=tx.revenue * 2)})

    def second(ctx: StageContext) -> StageResult:
        seen["second_stored"] = _stored(ctx)
        if seen["fail"]:
            raise ModelError("toy: nothing to fit")
        tx = ctx.tables["transactions"]
        return StageResult(rewrites={"transactions": tx.mutate(toy_b=tx.toy_a + 1)})

    def reader(ctx: StageContext) -> StageResult:
        tx = ctx.tables["transactions"]
        seen["reader_stored"] = _stored(ctx)
        seen["made"] = sorted(ctx.engine._made)
        seen["sums"] = ctx.engine.to_arrow(
            tx.aggregate(
                **{c: tx[c].sum() for c in ("revenue", "toy_a", "toy_b") if c in tx.columns}
            )
        ).to_pylist()[0]
        return StageResult()

    # after the built-in rewriters (accounts, cancellations), as a stage of a user's would be
    registry.register(
        Stage(
            name="toy_rw1",
            help="x",
            run=first,
            uses=("cancellations",),
            rewrites=("transactions",),
        )
    )
    registry.register(
        Stage(name="toy_rw2", help="x", run=second, uses=("toy_rw1",), rewrites=("transactions",))
    )
    registry.register(Stage(name="toy_read", help="x", run=reader, uses=("toy_rw2", "toy_rw1")))
    try:
        yield seen
    finally:
        for name in ("toy_read", "toy_rw2", "toy_rw1"):
            registry.unregister(name)


def test_a_rewrite_the_next_stage_rewrites_again_is_computed_once(
    tx: Path, rewriters: dict[str, object]
) -> None:
    run_pipeline({"transactions": tx}, stages=["toy_read"])
    # the second rewriter read the first one's rewrite as an expression, not a stored copy
    assert rewriters["second_stored"] is False
    # the stage after both reads one stored table: the second rewrite's, holding both steps
    assert rewriters["reader_stored"] is True
    made = rewriters["made"]
    assert isinstance(made, list)
    assert not [m for m in made if "toy_rw1_transactions" in m], made
    assert [m for m in made if "toy_rw2_transactions" in m], made
    assert rewriters["sums"] == {"revenue": 45.0, "toy_a": 90.0, "toy_b": 93.0}


def test_a_rewrite_left_pending_by_a_skipped_stage_is_computed_for_the_next_reader(
    tx: Path, rewriters: dict[str, object]
) -> None:
    rewriters["fail"] = True
    res = run_pipeline({"transactions": tx}, stages=["toy_read"])
    assert "toy_rw2" in res.manifest and "skipped" in res.manifest["toy_rw2"]
    # the reader gets the first rewrite computed into the engine once, not the expression
    assert rewriters["reader_stored"] is True
    made = rewriters["made"]
    assert isinstance(made, list)
    assert [m for m in made if "toy_rw1_transactions" in m], made
    assert rewriters["sums"] == {"revenue": 45.0, "toy_a": 90.0}
    # and what that expression read (the validated lines) is freed once it is computed
    assert "tw_checked_transactions" not in made, made


def test_a_light_rewrite_is_read_through_its_expression_not_copied(tx: Path) -> None:
    seen: dict[str, object] = {}

    def light(ctx: StageContext) -> StageResult:
        tx = ctx.tables["transactions"]
        return StageResult(
            rewrites={"transactions": tx.mutate(toy_a=tx.revenue * 2)},
            light_rewrites=frozenset({"transactions"}),
        )

    def reader(ctx: StageContext) -> StageResult:
        tx = ctx.tables["transactions"]
        seen["stored"] = _stored(ctx)
        seen["made"] = sorted(ctx.engine._made)
        seen["sum"] = ctx.engine.scalar(tx.toy_a.sum())
        return StageResult()

    registry.register(
        Stage(
            name="toy_light",
            help="x",
            run=light,
            uses=("cancellations",),
            rewrites=("transactions",),
        )
    )
    registry.register(Stage(name="toy_lread", help="x", run=reader, uses=("toy_light",)))
    try:
        run_pipeline({"transactions": tx}, stages=["toy_lread"])
    finally:
        registry.unregister("toy_lread")
        registry.unregister("toy_light")
    # the reader computes the rewrite from the table it was made from, kept for it
    assert seen["stored"] is False
    made = seen["made"]
    assert isinstance(made, list)
    assert not [m for m in made if "toy_light_transactions" in m], made
    assert "tw_checked_transactions" in made, made
    assert seen["sum"] == 90.0


def test_a_stage_column_in_the_customer_order_is_shared_not_copied(tx: Path) -> None:
    def aligned(ctx: StageContext) -> StageResult:
        c = ctx.customers()
        value = pa.array(np.arange(c.num_rows, dtype=np.float64) + 0.5)
        return StageResult(
            customers=pa.table({"customer_id": c.column("customer_id"), "toy_half": value})
        )

    registry.register(
        Stage(
            name="toy_aligned",
            help="x",
            run=aligned,
            needs=("features",),
            columns=(ColumnDoc("toy_half", "float64", "", "", "x"),),
        )
    )
    try:
        res = run_pipeline({"transactions": tx}, stages=["toy_aligned"])
    finally:
        registry.unregister("toy_aligned")
    own = res.results["toy_aligned"].customers.column("toy_half")
    table = res.customers.column("toy_half")
    assert table.to_pylist() == [0.5, 1.5]
    # the customer table holds the stage's own values buffer, not a copy of it
    assert table.chunk(0).buffers()[1].address == own.chunk(0).buffers()[1].address


def test_a_detail_read_without_declaring_it_is_an_error_naming_both_stages(tx: Path) -> None:
    def sneaky(ctx: StageContext) -> StageResult:
        ctx.detail("features")
        return StageResult()

    registry.register(
        Stage(name="toy_sneaky", help="x", run=sneaky, needs=("features",), reads_details=())
    )
    try:
        with pytest.raises(RegistryError, match="toy_sneaky stage reads the features stage's"):
            run_pipeline({"transactions": tx}, stages=["toy_sneaky"])
    finally:
        registry.unregister("toy_sneaky")


def test_the_coverage_menu_is_freed_before_the_stages_after_coverage_run() -> None:
    # the menu is gigabytes at a million customers: no stage after coverage reads it, so a
    # run that keeps no details drops it as soon as coverage is done
    from tierwise.pipeline import _free_details

    plan = registry.ordered(None)
    at = [st.name for st in plan].index("coverage")
    results = {st.name: StageResult(detail=object()) for st in plan[: at + 1]}
    _free_details(results, plan[at + 1 :])
    assert results["coverage"].detail is None and results["segments"].detail is None
    # while coverage is still to run, the segments stage's detail (its programmes) is kept
    results = {st.name: StageResult(detail=object()) for st in plan[:at]}
    _free_details(results, plan[at:])
    assert results["segments"].detail is not None


def test_a_freed_detail_is_gone_while_the_next_stage_runs(tx: Path) -> None:
    # a run that keeps no details holds a stage's own result object (the coverage menu:
    # gigabytes at a million customers) nowhere once no stage still to run reads it
    import gc
    import weakref

    class Detail:
        pass

    refs: list[weakref.ref[Detail]] = []
    alive: list[bool] = []

    def first(ctx: StageContext) -> StageResult:
        d = Detail()
        refs.append(weakref.ref(d))
        return StageResult(detail=d)

    def second(ctx: StageContext) -> StageResult:
        gc.collect()
        alive.append(refs[0]() is not None)
        return StageResult()

    registry.register(Stage(name="toy_first", help="x", run=first, needs=("features",)))
    registry.register(
        Stage(name="toy_second", help="x", run=second, needs=("toy_first",), reads_details=())
    )
    try:
        run_pipeline({"transactions": tx}, stages=["toy_second"], keep_details=False)
    finally:
        registry.unregister("toy_second")
        registry.unregister("toy_first")
    assert alive == [False]


def test_the_whole_run_places_an_outside_stage_after_what_it_needs(toy: list[str]) -> None:
    names = [s.name for s in registry.ordered(None)]
    assert names.index("toy") > names.index("features")


def test_two_stages_providing_one_column_fail_naming_both() -> None:
    with pytest.raises(RegistryError, match=r"'net_profit'.*'profitability'.*'clash'"):
        registry.register(
            Stage(
                name="clash",
                help="",
                run=lambda ctx: StageResult(),
                columns=(ColumnDoc("net_profit", "float64", "currency", "", "again"),),
            )
        )
    assert "clash" not in [s.name for s in registry.stages()]


def test_a_stage_returning_an_undeclared_column_is_an_error(tx: Path) -> None:
    def run(ctx: StageContext) -> StageResult:
        ids = ctx.customers().column("customer_id")
        return StageResult(customers=pa.table({"customer_id": ids, "sneaky": [1] * len(ids)}))

    registry.register(Stage(name="sneak", help="", run=run, needs=("features",)))
    try:
        with pytest.raises(Exception, match="does not declare: sneaky"):
            run_pipeline({"transactions": tx}, stages=["sneak"])
    finally:
        registry.unregister("sneak")


def test_stages_in_a_circle_are_refused() -> None:
    def run(ctx: StageContext) -> StageResult:
        return StageResult()

    registry.register(Stage(name="c1", help="", run=run, needs=("c2",)))
    registry.register(Stage(name="c2", help="", run=run, needs=("c1",)))
    try:
        with pytest.raises(RegistryError, match="circle"):
            registry.ordered(["c1"])
    finally:
        registry.unregister("c1")
        registry.unregister("c2")


def test_every_built_in_column_has_one_owner_and_a_documented_type() -> None:
    cols = registry.columns()
    names = [c.name for _, c in cols]
    assert len(names) == len(set(names))
    for owner, c in cols:
        assert c.meaning, (owner, c.name)
        assert c.type in registry.COLUMN_TYPES


# -- a stage alone gives the figures of the whole run ---------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dt.date]:
    data = generate(n_customers=400, seed=11)
    paths = write_demo(data, tmp_path_factory.mktemp("demo") / "data")
    return {k: str(v) for k, v in paths.items() if k in INPUT_TABLES}, data.end_date


def test_lifetime_alone_gives_the_lifetime_columns_of_the_whole_run(
    demo: tuple[dict[str, str], dt.date], tierwise_cli, tmp_path: Path
) -> None:
    inputs, end = demo
    args = [a for k, v in inputs.items() for a in (f"--{k}", v)]
    whole = tierwise_cli("run", *args, "--as-of", end.isoformat(), "--out", tmp_path / "all")
    alone = tierwise_cli("lifetime", *args, "--as-of", end.isoformat(), "--out", tmp_path / "alone")
    assert whole.exit_code == 0, whole.output
    assert alone.exit_code == 0, alone.output
    a = pq.read_table(tmp_path / "all" / "customers.parquet")
    b = pq.read_table(tmp_path / "alone" / "customers.parquet")
    # the lifetime stage ran on merged accounts and in profit terms both times
    assert alone.manifest["stages"] == ["accounts", "cancellations", "profitability", "lifetime"]
    assert alone.manifest["lifetime"]["clv_basis"] == "net_profit"
    assert a.column("customer_id").equals(b.column("customer_id"))
    for doc in registry.get("lifetime").columns:
        if doc.name not in a.column_names:
            continue
        x, y = a.column(doc.name), b.column(doc.name)
        if pa.types.is_floating(x.type):
            np.testing.assert_allclose(
                x.to_numpy(zero_copy_only=False), y.to_numpy(zero_copy_only=False), rtol=1e-12
            )
        else:
            assert x.equals(y), doc.name


def test_the_engine_gives_back_its_freed_memory_after_every_stage(tx: Path) -> None:
    events: list[str] = []
    eng = Engine()
    eng.give_back_memory = lambda: events.append("give back") or True  # type: ignore[method-assign]
    try:
        res = run_pipeline({"transactions": tx}, engine=eng, progress=events.append)
    finally:
        eng.close()
    stages = list(res.results)
    assert len(stages) > 3
    # each stage is followed by the hand-back, before the next step starts
    for name in stages:
        assert events[events.index(name) + 1] == "give back", events
    assert events.count("give back") == len(stages)


def test_a_stage_keeps_a_large_table_where_the_engine_keeps_the_invoice_lines(
    tmp_path: Path,
) -> None:
    eng = Engine(temp_directory=tmp_path)
    try:
        ctx = StageContext(settings=Settings(), engine=eng, as_of=dt.date(2024, 1, 1), tables={})
        expr = eng.from_arrow(pa.table({"n": np.arange(1_000)}))

        def database(t: object) -> str:
            name = t.op().name  # type: ignore[attr-defined]
            got = eng.con.con.execute(
                "SELECT database_name FROM duckdb_tables() WHERE table_name = ?", [name]
            ).fetchall()
            return str(got[0][0])

        large, small = ctx.materialize(expr, large=True), ctx.materialize(expr)
        assert database(large) != database(small)
        assert database(large) == database(eng.materialize(expr, large=True))
        assert eng.to_arrow(large).equals(eng.to_arrow(small))
    finally:
        eng.close()
