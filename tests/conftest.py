"""Fixtures shared by every test folder.

Add a fixture here with a small edit when two folders need it; keep folder-only helpers in
the folder.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: the repository root
REPO = Path(__file__).resolve().parents[1]
#: read-only reference data (cdnow, febrl, fodors_zagat), next to the repository
SHARED_DATA = REPO / ".." / "shared" / "data"


@pytest.fixture
def engine() -> Iterator[Any]:
    """A fresh in-process DuckDB engine, closed after the test."""
    from tierwise.engine import Engine

    eng = Engine()
    try:
        yield eng
    finally:
        eng.close()


@pytest.fixture(scope="session")
def spark_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One local Spark engine for the whole test session (2 cores, UTC, few partitions).

    Skips where PySpark (the spark extra) is not installed. Managed tables go to a scratch
    folder, not ./spark-warehouse of the checkout.
    """
    pytest.importorskip("pyspark", reason="PySpark is not installed (the spark extra)")
    from pyspark.sql import SparkSession

    from tierwise.engine import Engine

    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .getOrCreate()
    )
    eng = Engine("spark", spark_session=session)
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
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
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
