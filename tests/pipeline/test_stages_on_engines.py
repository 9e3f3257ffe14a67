"""Each registered stage run alone, on every engine: its columns come back and the stages it
depends on ran first.

The stages that work on customer-sized Arrow tables (potential, segments, coverage, terms)
have unit tests that never touch an engine; here each stage runs through the engine from a
small demo's input tables (those it and its dependencies read), alone, as
``tierwise.<stage>(...)`` runs it: :func:`tierwise.pipeline.run_pipeline` with
``stages=(name,)``, whose whole result shows every stage that ran. Whether the two engines
give the same figures is tests/pipeline/test_spark_parity.py's question, not this module's.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from tierwise import registry
from tierwise.demo import generate
from tierwise.pipeline import RunResult, run_pipeline
from tierwise.settings import INPUT_TABLES, Settings

#: a demo small enough for Spark to be quick (two years of history), large enough that every
#: stage runs: repeat buyers for the lifetime models, prospects, reps, duplicate records
N_CUSTOMERS = 200
YEARS = 2

#: the cross-sell hit-rate evaluation runs the rule and recommendation queries again at an
#: earlier cut-off and owns no customer column: left out, it would double the time on Spark.
#: Looking for duplicate records is off (Splink's training takes minutes on Spark; the
#: test_accounts_*.py modules check it): the accounts stage still runs, every record its own
#: account.
SETTINGS = Settings().with_updates(crosssell={"evaluate": False}, accounts={"enabled": False})


def _closure(name: str) -> set[str]:
    """The stages ``name`` needs or uses, and theirs."""
    out: set[str] = set()
    todo = [name]
    while todo:
        st = registry.get(todo.pop())
        for dep in (*st.needs, *st.uses):
            if dep not in out:
                out.add(dep)
                todo.append(dep)
    return out


STAGES = [st.name for st in registry.stages()]
#: the stage run here on both engines, the rest on DuckDB only: terms, run alone, runs
#: potential, segments and coverage first, the stages no other test runs on Spark (the
#: others have their own Spark tests: readers, accounts, features, profitability, lifetime,
#: cross-sell), and its test checks their columns too
SPARK_HERE = ("terms",)


def test_the_stage_run_on_spark_runs_those_without_spark_tests_of_their_own() -> None:
    assert {"potential", "segments", "coverage"} <= _closure("terms")


def _expected(name: str) -> list[registry.ColumnDoc]:
    """The columns of stage ``name`` a run without ``--previous`` gives: all it owns but
    those about the previous run (the yearly review's)."""
    return [c for c in registry.get(name).columns if "previous run" not in c.period]


@pytest.fixture(scope="module")
def inputs() -> tuple[dict[str, pa.Table], Any]:
    data = generate(n_customers=N_CUSTOMERS, seed=3, years=YEARS)
    tables = {k: v for k, v in data.tables().items() if k in INPUT_TABLES}
    return tables, data.end_date


@pytest.mark.parametrize("name", [n for n in STAGES if n in SPARK_HERE])
def test_a_stage_alone_gives_its_columns_after_its_dependencies(
    name: str, engine: Any, inputs: tuple[dict[str, pa.Table], Any]
) -> None:
    _check_alone(name, engine, inputs)


@pytest.mark.parametrize("name", [n for n in STAGES if n not in SPARK_HERE])
@pytest.mark.engines(
    "duckdb",
    reason="each of these stages has Spark tests of its own (test_*_spark.py, the "
    "engine-parametrised unit tests) or runs on Spark before terms here",
)
def test_a_measuring_stage_alone_gives_its_columns_after_its_dependencies(
    name: str, engine: Any, inputs: tuple[dict[str, pa.Table], Any]
) -> None:
    _check_alone(name, engine, inputs)


def _check_alone(name: str, engine: Any, inputs: tuple[dict[str, pa.Table], Any]) -> None:
    tables, end = inputs
    deps = _closure(name)
    # the inputs the stage and those it depends on read, and no others
    reads = {
        t
        for d in (*deps, name)
        for t in (*registry.get(d).needs_inputs, *registry.get(d).uses_inputs)
    }
    given = {k: v for k, v in tables.items() if k in reads}
    res: RunResult = run_pipeline(given, SETTINGS, as_of=end, engine=engine, stages=(name,))
    assert res.manifest["engine"] == engine.backend
    # the settings recorded are those of the engine the run was on (a run again from them
    # runs there too)
    assert res.manifest["settings"]["run"]["engine"] == engine.backend
    skipped = {d: res.manifest[d]["skipped"] for d in deps if "skipped" in res.manifest.get(d, {})}
    assert not skipped, skipped
    # every stage it depends on ran, before it, and nothing else ran
    ran = res.manifest["stages"]
    assert set(ran) == deps | {name}, ran
    assert all(ran.index(d) < ran.index(name) for d in deps), ran
    own = _expected(name)
    stage_customers = res.results[name].customers
    # the stage's customer table has each of its columns; the run's customer table has them
    # with their documented types, less those without a single value (the manifest names
    # those)
    empty = set(res.manifest["customers_columns_without_data"])
    for col in own:
        assert stage_customers is not None and col.name in stage_customers.column_names, col.name
        if col.name not in empty:
            assert res.customers.schema.field(col.name).type == col.arrow_type, col.name
    if own:
        # the stage computed something: not every one of its columns is empty
        assert {c.name for c in own} - empty, empty
    # and every dependency's columns are there too
    for dep in deps:
        missing = [
            c.name
            for c in _expected(dep)
            if c.name not in res.customers.column_names and c.name not in empty
        ]
        assert not missing, (dep, missing)
