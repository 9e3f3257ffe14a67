"""Fixtures shared by every test folder.

Add a fixture here with a small edit when two folders need it; keep folder-only helpers in
the folder.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: the repository root
REPO = Path(__file__).resolve().parents[1]
#: read-only reference data (cdnow, febrl, fodors_zagat), next to the repository
SHARED_DATA = REPO / ".." / "shared" / "data"


#: the engines the ``engine`` fixture runs a test on, in order
ENGINES = ("duckdb", "spark")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that takes ``engine`` (itself or through a fixture) once per engine.

    ``@pytest.mark.engines("duckdb", reason=...)`` narrows a test to the engines it names:
    the others are not generated. The reason is required: it says what the test checks that
    exists on those engines only.
    """
    if "engine" not in metafunc.fixturenames:
        return
    names: tuple[str, ...] = ENGINES
    marker = metafunc.definition.get_closest_marker("engines")
    if marker is not None:
        names = tuple(marker.args)
        unknown = [n for n in names if n not in ENGINES]
        if not names or unknown or not str(marker.kwargs.get("reason", "")).strip():
            raise pytest.UsageError(
                f"{metafunc.definition.nodeid}: @pytest.mark.engines takes engine names out "
                f"of {', '.join(ENGINES)} and a reason=, got {marker.args!r} "
                f"{marker.kwargs!r}"
            )
    params = [
        pytest.param(n, id=n, marks=[pytest.mark.spark] if n == "spark" else []) for n in names
    ]
    metafunc.parametrize("engine", params, indirect=True)


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One local Spark session for the whole test session (2 cores, UTC, few partitions).

    Skips where PySpark (the spark extra) is not installed; under CI (``CI`` set, as .ci/run
    does) that is a failure, so that CI never passes by skipping the Spark half. Managed
    tables go to a scratch folder, not ./spark-warehouse of the checkout.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        reason = "PySpark is not installed (pip install 'tierwise[spark]')"
        if _in_ci():
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)

    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        # Python workers (UDFs) run the interpreter that runs the tests
        .config("spark.pyspark.python", sys.executable)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def _temp_views(session: Any) -> set[str]:
    return {t.name for t in session.catalog.listTables() if t.isTemporary}


@pytest.fixture(scope="session")
def open_engine() -> Callable[..., AbstractContextManager[Any]]:
    """``with open_engine(request, threads=2) as eng``: the engine a test's ``engine``
    parameter names, for a module that keeps one engine for all its tests::

        @pytest.fixture(scope="module")
        def engine(request, open_engine):
            with open_engine(request, threads=1) as eng:
                yield eng

    DuckDB is a new in-process engine with the keyword arguments given; Spark is an engine on
    the shared session (:func:`spark_session`; the arguments are ignored), and the temporary
    views made while it was open are dropped when it closes.
    """
    from tierwise.engine import Engine

    @contextmanager
    def open_(request: pytest.FixtureRequest, **kwargs: Any) -> Iterator[Any]:
        backend = getattr(request, "param", "duckdb")
        if backend == "duckdb":
            with Engine(**kwargs).session() as eng:
                yield eng
            return
        session = request.getfixturevalue("spark_session")
        before = _temp_views(session)
        try:
            with Engine("spark", spark_session=session).session() as eng:
                yield eng
        finally:
            for name in _temp_views(session) - before:
                session.catalog.dropTempView(name)

    return open_


@pytest.fixture
def engine(
    request: pytest.FixtureRequest, open_engine: Callable[..., AbstractContextManager[Any]]
) -> Iterator[Any]:
    """A fresh engine, closed after the test: in-process DuckDB, or Spark on the shared
    session (:func:`spark_session`), which is left running for the next test.

    Every test that takes it runs once per engine (ids ``duckdb`` and ``spark``, see
    :func:`pytest_generate_tests`); a module may override it with one engine for all its
    tests through :func:`open_engine`.
    """
    with open_engine(request) as eng:
        yield eng


@pytest.fixture(autouse=True)
def _engine_is_the_one_named(request: pytest.FixtureRequest) -> None:
    """A test's ``engine`` is on the engine its id names: a module that overrides the
    fixture without :func:`open_engine` would run its ``[spark]`` tests on DuckDB."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is None or "engine" not in callspec.params:
        return
    got = request.getfixturevalue("engine").backend
    if got != callspec.params["engine"]:
        pytest.fail(
            f"the engine fixture of {request.node.nodeid} is {got}, not "
            f"{callspec.params['engine']}: open it with open_engine(request)"
        )


@pytest.fixture(scope="session")
def spark_engine(spark_session: Any) -> Iterator[Any]:
    """One Spark engine on the shared session for the whole test session, for the tests that
    compare DuckDB with Spark (they take it beside a DuckDB engine of their own)."""
    from tierwise.engine import Engine

    eng = Engine("spark", spark_session=spark_session)
    try:
        yield eng
    finally:
        eng.close()


@pytest.fixture
def pg_url() -> str:
    """URL of a scratch PostgreSQL database (``TIERWISE_TEST_PG_URL``).

    Skips when it is not set; under CI (``CI`` set, as .ci/run does) a missing server is a
    failure, so that CI never passes by skipping the PostgreSQL loader.
    """
    url = os.environ.get("TIERWISE_TEST_PG_URL")
    if not url:
        reason = (
            "needs a PostgreSQL server: set TIERWISE_TEST_PG_URL="
            "postgresql://user@host:port/db (.ci/run starts one on 127.0.0.1:55432)"
        )
        if _in_ci():
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)
    return url


@dataclass
class CliRun:
    """What one ``tierwise`` invocation produced."""

    exit_code: int
    output: str
    out_dir: Path

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.out_dir / "manifest.json").read_text(encoding="utf-8"))

    @property
    def rejects(self) -> list[dict[str, str]]:
        with (self.out_dir / "rejects.csv").open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    @property
    def emptied(self) -> list[dict[str, str]]:
        """emptied_values.csv: the optional values emptied in rows used."""
        with (self.out_dir / "emptied_values.csv").open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    @property
    def customers(self) -> list[dict[str, str]]:
        with (self.out_dir / "customers.csv").open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))


@pytest.fixture
def tierwise_cli(tmp_path: Path) -> Callable[..., CliRun]:
    """Run the ``tierwise`` command in-process: ``tierwise_cli("run", "--transactions", p)``.

    ``run`` gets ``--out <tmp>/out`` unless the arguments name one.
    """
    from typer.testing import CliRunner

    from tierwise.cli import app

    runner = CliRunner()

    def invoke(*args: str | Path) -> CliRun:
        argv = [str(a) for a in args]
        out = tmp_path / "out"
        if argv and argv[0] == "run" and "--out" not in argv and "-o" not in argv:
            argv += ["--out", str(out)]
        elif "--out" in argv:
            out = Path(argv[argv.index("--out") + 1])
        result = runner.invoke(app, argv, catch_exceptions=True)
        output = result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            # an exception typer did not turn into an exit: show it as a trace would appear
            output += f"\nTraceback (most recent call last): {result.exception!r}"
        return CliRun(result.exit_code, output, out)

    return invoke


@pytest.fixture(scope="session")
def report_demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output folder of a small demo run (500 records, two hostile names); do not modify.

    Built once per session: several test modules read it (report, plan, CRM export,
    dashboard); tests that write into a folder copy it first.
    """
    from report_support import demo_run

    return demo_run(tmp_path_factory.mktemp("report-demo"))


@pytest.fixture(scope="session")
def report_bare_out(report_demo_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run as it would be without the deciding stages (segments, coverage,
    cross-sell, terms)."""
    from report_support import without_deciding_stages

    return without_deciding_stages(report_demo_out, tmp_path_factory.mktemp("report-bare") / "out")


@pytest.fixture(scope="session")
def report_full_out(report_demo_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run plus hand-made segments, coverage, cross-sell and terms tables."""
    from report_support import add_planned_stages

    return add_planned_stages(report_demo_out, tmp_path_factory.mktemp("report-full") / "out")
