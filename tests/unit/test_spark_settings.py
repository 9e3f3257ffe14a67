"""Spark from settings: [run] spark_master and spark_options, the session time zone, a
missing PySpark, and the Python API given a SparkSession or Spark DataFrames."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
import pytest

import tierwise
from tierwise.engine import Engine
from tierwise.errors import EngineError, SettingsError
from tierwise.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]


def _toml(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "tierwise.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_spark_master_and_options_are_read_from_the_settings_file(tmp_path: Path) -> None:
    s = load_settings(
        _toml(
            tmp_path,
            '[run]\nengine = "spark"\nspark_master = "spark://head:7077"\n'
            '[run.spark_options]\n"spark.executor.memory" = "8g"\n'
            '"spark.sql.shuffle.partitions" = 400\n"spark.sql.adaptive.enabled" = true\n',
        )
    )
    assert s.run.engine == "spark"
    assert s.run.spark_master == "spark://head:7077"
    # Spark reads every option as text, booleans in lower case
    assert s.run.spark_conf() == {
        "spark.executor.memory": "8g",
        "spark.sql.shuffle.partitions": "400",
        "spark.sql.adaptive.enabled": "true",
    }


def test_defaults_start_spark_on_this_machine() -> None:
    s = load_settings(None)
    assert s.run.spark_master is None and s.run.spark_options == {}


def test_the_session_time_zone_cannot_be_set(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[run.spark_options]\n"spark.sql.session.timeZone" = "Europe/Berlin"\n')
    with pytest.raises(SettingsError, match="always UTC"):
        load_settings(path)


def test_a_key_that_is_not_a_spark_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not a Spark configuration key"):
        load_settings(_toml(tmp_path, '[run.spark_options]\n"executor memory" = "8g"\n'))
    with pytest.raises(SettingsError, match="spark_master"):
        load_settings(_toml(tmp_path, '[run]\nspark_master = " "\n'))


def test_secret_options_are_kept_out_of_the_manifest(tmp_path: Path) -> None:
    s = load_settings(
        _toml(
            tmp_path,
            '[run.spark_options]\n"spark.hadoop.fs.s3a.secret.key" = "s3cr3t"\n'
            '"spark.hadoop.fs.s3a.access.key" = "AKIA1"\n"spark.executor.cores" = 4\n'
            # Azure's account key and SAS token, Google's service-account key
            '"spark.hadoop.fs.azure.account.key.acct.dfs.core.windows.net" = "AZKEY"\n'
            '"spark.hadoop.fs.azure.sas.box.acct.blob.core.windows.net" = "AZSAS"\n'
            '"spark.hadoop.fs.gs.auth.service.account.private.key" = "GSKEY"\n'
            '"spark.hadoop.fs.azure.account.oauth2.client.secret" = "AZOAUTH"\n',
        )
    )
    shown = json.dumps(s.to_dict())
    for secret in ("s3cr3t", "AKIA1", "AZKEY", "AZSAS", "GSKEY", "AZOAUTH"):
        assert secret not in shown, secret
    assert s.to_dict()["run"]["spark_options"]["spark.executor.cores"] == 4
    # the engine still gets the real values
    assert s.run.spark_conf()["spark.hadoop.fs.s3a.secret.key"] == "s3cr3t"


def _without_pyspark(monkeypatch: pytest.MonkeyPatch) -> None:
    """PySpark as if it were not installed: importing it fails."""
    for mod in [m for m in sys.modules if m == "pyspark" or m.startswith("pyspark.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "pyspark", None)


def test_without_pyspark_the_spark_engine_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _without_pyspark(monkeypatch)
    with pytest.raises(SettingsError, match=r"pip install 'tierwise\[spark\]'"):
        Engine("spark")


def test_without_pyspark_the_cli_prints_one_line_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tierwise_cli: Any
) -> None:
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,revenue\nA,2024-01-02,10\n", encoding="utf-8")
    _without_pyspark(monkeypatch)
    res = tierwise_cli("run", "--engine", "spark", "--transactions", tx)
    assert res.exit_code == 1
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "tierwise[spark]" in lines[0], res.output
    assert "Traceback" not in res.output


@pytest.mark.spark
def test_the_engine_starts_spark_as_the_settings_say(tmp_path: Path) -> None:
    # a fresh process: in this one a session may already run, and it would be reused
    code = (
        "import json\n"
        "from tierwise.engine import Engine\n"
        "from tierwise.settings import load_settings\n"
        f"s = load_settings({str(tmp_path / 'tierwise.toml')!r})\n"
        "eng = Engine.from_settings(s.run)\n"
        "session = eng.con._session\n"
        "got = {'master': session.sparkContext.master,\n"
        "       'partitions': session.conf.get('spark.sql.shuffle.partitions'),\n"
        "       'tz': session.conf.get('spark.sql.session.timeZone'),\n"
        "       'n': eng.count(eng.from_arrow(__import__('pyarrow').table({'x': [1, 2]})))}\n"
        "eng.close()\n"
        # without the option, a local master's session has four shuffle partitions a core
        "for master in ('local[1]', 'local[3]'):\n"
        "    eng = Engine('spark', spark_master=master)\n"
        "    got[master] = eng.con._session.conf.get('spark.sql.shuffle.partitions')\n"
        "    eng.close()\n"
        "print(json.dumps(got))\n"
    )
    _toml(
        tmp_path,
        '[run]\nengine = "spark"\nspark_master = "local[1]"\n'
        '[run.spark_options]\n"spark.sql.shuffle.partitions" = 3\n"spark.ui.enabled" = false\n',
    )
    # the machine's clock in another zone: the session is UTC all the same
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "TZ": "America/New_York"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {
        "master": "local[1]",
        "partitions": "3",
        "tz": "UTC",
        "n": 2,
        "local[1]": "4",
        "local[3]": "12",
    }
    # Spark's start-up warnings and notes stay off the console (errors would still show)
    for noise in ("log4j", " WARN ", "Setting default log level"):
        assert noise not in out.stderr, out.stderr[-2000:]


@pytest.mark.spark
def test_a_running_session_is_used_as_it_is_from_any_thread(spark_engine: Engine) -> None:
    # a notebook's session (here the tests' own, with 4 shuffle partitions) is neither given
    # tierwise's local default (8 on local[2]) nor stopped when the engine closes, also when
    # the engine is made in another thread, where PySpark sees no active session
    session = spark_engine.con._session
    before = session.conf.get("spark.sql.shuffle.partitions")
    got: dict[str, object] = {}

    def make() -> None:
        eng = Engine("spark", threads=2, spark_options={"spark.ui.showConsoleProgress": "true"})
        got["same"] = eng.con._session is session
        eng.close()

    for in_thread in (False, True):
        got.clear()
        if in_thread:
            worker = threading.Thread(target=make)
            worker.start()
            worker.join()
        else:
            make()
        assert got["same"] is True, in_thread
        assert session.conf.get("spark.sql.shuffle.partitions") == before
        assert session.range(2).count() == 2  # still running


@pytest.mark.spark
def test_a_given_session_runs_in_utc_and_gets_its_time_zone_back(spark_engine: Engine) -> None:
    session = spark_engine.con._session
    session.conf.set("spark.sql.session.timeZone", "Asia/Tokyo")
    try:
        eng = Engine("spark", spark_session=session)
        assert session.conf.get("spark.sql.session.timeZone") == "UTC"
        eng.close()
        assert session.conf.get("spark.sql.session.timeZone") == "Asia/Tokyo"
    finally:
        session.conf.set("spark.sql.session.timeZone", "UTC")


@pytest.mark.spark
def test_closing_on_a_given_session_frees_what_the_engine_made(spark_engine: Engine) -> None:
    # a notebook's session outlives every run: a run's views and cached data must not
    session = spark_engine.con._session

    def kept_rdds() -> set[int]:
        return {int(i) for i in session.sparkContext._jsc.getPersistentRDDs().keySet()}

    before = {t.name for t in session.catalog.listTables() if t.isTemporary}
    rdds_before = kept_rdds()
    eng = Engine("spark", spark_session=session)
    arrow = eng.from_arrow(pa.table({"x": [1, 2, 3]}))
    # a table released early frees its executors' rows at once
    early = eng.materialize(arrow.mutate(z=arrow.x + 1))
    assert kept_rdds() - rdds_before
    eng.release(early)
    assert kept_rdds() == rdds_before
    kept = eng.materialize(arrow.mutate(y=arrow.x * 2))
    frame, _ = eng.from_spark_frame(session.createDataFrame(pd.DataFrame({"v": [1, 2]})), "df")
    made = {t.name for t in session.catalog.listTables() if t.isTemporary} - before
    assert {arrow.get_name(), kept.get_name(), frame.get_name()} <= made
    # the DataFrame's numbered rows are cached in the executors while the engine is open
    cached = list(eng._spark_persisted)
    assert cached and all(d.is_cached for d in cached)
    eng.close()
    assert {t.name for t in session.catalog.listTables() if t.isTemporary} == before
    assert not any(d.is_cached for d in cached)
    # the checkpointed tables' rows too: a notebook's session does not grow run by run
    assert kept_rdds() == rdds_before
    assert session.conf.get("spark.sql.session.timeZone") == "UTC"  # the session runs on
    assert session.range(2).count() == 2


@pytest.mark.spark
def test_a_query_error_raised_while_tierwise_runs_is_not_written_to_the_screen(
    spark_session: Any, capfd: Any
) -> None:
    # PySpark writes every query error it raises to standard error as JSON with the whole
    # plan; errors tierwise handles itself (a duplicate-detection training pass that cannot
    # train) would fill the screen of a run that then succeeds
    from pyspark.errors import AnalysisException
    from pyspark.logger import PySparkLogger

    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logger = PySparkLogger.getLogger("SQLQueryContextLogger")
    keep = Keep()
    logger.addHandler(keep)
    # as in a process where no engine is open (the tests' shared engine may be)
    was, logger.disabled = logger.disabled, False
    try:
        eng = Engine("spark", spark_session=spark_session)
        try:
            with pytest.raises(AnalysisException):
                spark_session.sql("SELECT no_such_column")
        finally:
            eng.close()
        assert seen == []
        assert "no_such_column" not in capfd.readouterr().err
        # the session's user gets PySpark's logging back when the engine closes
        assert logger.disabled is False
    finally:
        logger.removeHandler(keep)
        logger.disabled = was
    capfd.readouterr()


@pytest.mark.spark
def test_closing_on_a_given_session_drops_the_views_splink_and_ibis_made(
    spark_session: Any,
) -> None:
    # duplicate detection's training passes leave Splink views (__splink__aggregated_m_u_
    # counts_…) behind, and a table built in Python joined into a query an Ibis memtable
    # view; a notebook's session must not gather them run by run, nor lose a view of the
    # same prefix that was there before
    spark_session.range(1).createOrReplaceTempView("__splink__theirs")
    made = ["__splink__aggregated_m_u_counts_x"]
    try:
        eng = Engine("spark", spark_session=spark_session)
        spark_session.range(1).createOrReplaceTempView(made[0])
        mem = ibis.memtable(pa.table({"x": [1, 2]}))
        assert eng.to_arrow(mem, "a memtable").num_rows == 2
        made += [mem.get_name()]
        eng.close()
        left = {t.name for t in spark_session.catalog.listTables() if t.isTemporary}
        assert mem.get_name().startswith("ibis_") and not left & set(made)
        assert "__splink__theirs" in left
    finally:
        for name in ["__splink__theirs", *made]:
            spark_session.catalog.dropTempView(name)


@pytest.mark.spark
def test_a_session_found_running_is_given_back_as_it_was(spark_session: Any) -> None:
    # a notebook's session (Databricks' spark) with [run] engine = "spark" in the settings
    # and no session passed: the engine runs on the session it finds, and closing gives the
    # notebook its time zone back and drops the views Splink and Ibis made, as for a session
    # passed to it; the session keeps running
    from pyspark.sql import SparkSession

    assert SparkSession.getActiveSession() is spark_session
    zone = spark_session.conf.get("spark.sql.session.timeZone")
    spark_session.conf.set("spark.sql.session.timeZone", "America/New_York")
    made = "__splink__aggregated_m_u_counts_found"
    try:
        eng = Engine("spark")
        assert eng.con._session is spark_session
        assert spark_session.conf.get("spark.sql.session.timeZone") == "UTC"
        spark_session.range(1).createOrReplaceTempView(made)
        mem = ibis.memtable(pa.table({"x": [1, 2]}))
        assert eng.to_arrow(mem, "a memtable").num_rows == 2
        eng.close()
        assert spark_session.conf.get("spark.sql.session.timeZone") == "America/New_York"
        left = {t.name for t in spark_session.catalog.listTables() if t.isTemporary}
        assert made not in left and mem.get_name() not in left
        assert spark_session.range(2).count() == 2
    finally:
        spark_session.conf.set("spark.sql.session.timeZone", zone)
        spark_session.catalog.dropTempView(made)


@pytest.mark.spark
def test_a_catalog_that_cannot_be_listed_neither_stops_the_engine_nor_keeps_its_time_zone(
    spark_session: Any, monkeypatch: Any
) -> None:
    # a catalog the user may not list (a permission of a governed catalog, a lost
    # connection): the engine opens and runs on it, and closing gives the session its own
    # time zone back although the library views cannot be looked up
    from pyspark.sql.catalog import Catalog

    def refused(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("PERMISSION_DENIED: listTables")

    zone = spark_session.conf.get("spark.sql.session.timeZone")
    spark_session.conf.set("spark.sql.session.timeZone", "Europe/Berlin")
    try:
        monkeypatch.setattr(Catalog, "listTables", refused)
        eng = Engine("spark", spark_session=spark_session)
        t = eng.from_arrow(pa.table({"x": [1, 2, 3]}))
        assert eng.to_arrow(t, "a table").num_rows == 3
        eng.close()
        assert spark_session.conf.get("spark.sql.session.timeZone") == "Europe/Berlin"
    finally:
        spark_session.conf.set("spark.sql.session.timeZone", zone)


@pytest.mark.spark
def test_a_checkpoint_frees_its_own_rows_not_another_jobs(spark_engine: Engine) -> None:
    from tierwise.engine import _checkpoint_rdds

    session = spark_engine.con._session
    # a job of another thread of the session caches its own rows while a table is
    # checkpointed: the table's release must leave them
    theirs = session.sparkContext.parallelize(range(10)).persist()
    theirs.count()
    df = session.range(5).localCheckpoint(eager=True)
    kept = {int(i) for i in session.sparkContext._jsc.getPersistentRDDs().keySet()}
    ours = _checkpoint_rdds(df, kept)
    assert theirs.id() in kept and theirs.id() not in ours
    assert len(ours) == 1 and ours[0] in kept
    theirs.unpersist()


@pytest.mark.spark
def test_spark_dataframes_stay_in_spark_with_their_row_numbers(spark_engine: Engine) -> None:
    session = spark_engine.con._session
    tx = pd.DataFrame(
        {
            "customer_id": ["A", None, "B", "A"],
            "date": ["2024-01-05", "2024-01-06", "2024-02-10", "2024-03-01"],
            "revenue": ["120", "3", "45.5", "80"],
        }
    )
    # two DataFrames in one: numbers run through the partitions in order
    df = session.createDataFrame(tx.iloc[:2]).union(session.createDataFrame(tx.iloc[2:]))
    got = tierwise.validate(df)["transactions"]
    assert got.table.column("_row").to_pylist() == [1, 3, 4]
    assert got.rejects.column("row").to_pylist() == [2]
    assert got.rejects.column("reason").to_pylist() == ["missing customer_id"]
    assert session.conf.get("spark.sql.session.timeZone") == "UTC"


@pytest.mark.spark
def test_a_spark_dataframe_column_with_a_dot_or_backtick_in_its_name_is_read(
    spark_engine: Engine,
) -> None:
    # "Kunden.Nr" is a column's name, not a struct's field, as in a pandas frame
    session = spark_engine.con._session
    tx = pd.DataFrame(
        {
            "customer_id": ["A", "A", "B"],
            "date": ["2024-01-05", "2024-03-01", "2024-02-10"],
            "revenue": [120.0, 80.0, 45.0],
            "Kunden.Nr": ["1", "2", "3"],
            "odd`name": ["x", "y", "z"],
        }
    )
    got = tierwise.validate(session.createDataFrame(tx))["transactions"]
    assert got.table.num_rows == 3 and got.rejects.num_rows == 0
    assert got.table.column("revenue").to_pylist() == [120.0, 80.0, 45.0]


@pytest.mark.spark
def test_a_spark_dataframe_timestamp_is_dated_as_the_sessions_clock_showed_it(
    spark_engine: Engine,
) -> None:
    # a notebook in Berlin shows 2024-01-01 00:30 (23:30 UTC the day before): the order is
    # of 1 January, as for a pandas column with the Berlin zone
    session = spark_engine.con._session
    session.conf.set("spark.sql.session.timeZone", "Europe/Berlin")
    try:
        df = session.sql(
            "select * from values ('A', timestamp'2024-01-01 00:30:00', 100.0), "
            "('B', timestamp'2024-07-01 23:45:00', 20.0) as t(customer_id, date, revenue)"
        )
        got = tierwise.validate(df)["transactions"].table
        assert got.column("date").to_pylist() == [dt.date(2024, 1, 1), dt.date(2024, 7, 1)]
        assert session.conf.get("spark.sql.session.timeZone") == "Europe/Berlin"
    finally:
        session.conf.set("spark.sql.session.timeZone", "UTC")


def test_a_standalone_master_nobody_answers_at_is_one_line_at_once() -> None:
    import socket

    from tierwise.engine import check_master

    with socket.socket() as s:  # a port of this machine no one listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EngineError) as info:
        check_master(f"spark://127.0.0.1:{port},nohost.invalid:7077", timeout=2.0)
    said = str(info.value)
    assert said.startswith(f"cannot reach the Spark master at 127.0.0.1:{port} (")
    assert "nohost.invalid:7077 (unknown host)" in said and "[run] spark_master" in said
    assert "\n" not in said
    # a master that answers passes
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        check_master(f"spark://nohost.invalid:7077,127.0.0.1:{s.getsockname()[1]}")


def test_a_run_on_an_unreachable_master_stops_in_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port of this machine no one listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "tx.csv").write_text("customer_id,date,revenue\nA,2024-01-02,10\n")
    config = _toml(
        tmp_path, f'[run]\nengine = "spark"\nspark_master = "spark://127.0.0.1:{port}"\n'
    )
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tierwise.cli import main; main()",
            "validate",
            "--config",
            str(config),
            "--transactions",
            str(tmp_path / "tx.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot reach the Spark master at 127.0.0.1:{port}" in lines[0]


def test_the_jvms_notes_are_kept_off_the_screen_and_its_other_lines_pass(capfd: Any) -> None:
    from tierwise.engine import _jvm_stderr_without_notes

    # a process started in the block, as the JVM is: its notice of Spark's incubator
    # module is dropped, what else it writes on standard error reaches the user
    script = (
        "import sys; sys.stderr.write('WARNING: Using incubator modules: jdk.incubator.vector"
        "\\nError: something the user must see\\n')"
    )
    before = set(threading.enumerate())
    with _jvm_stderr_without_notes():
        proc = subprocess.Popen([sys.executable, "-c", script])
    print("after", file=sys.stderr, flush=True)
    proc.wait(timeout=60)
    # the thread this block started ends when the process closes its end of the pipe
    for t in set(threading.enumerate()) - before:
        if t.name == "tierwise-jvm-stderr":
            t.join(timeout=60)
    err = capfd.readouterr().err
    assert "incubator" not in err
    assert "Error: something the user must see\n" in err and "after\n" in err


def test_a_spark_run_writes_nothing_on_standard_error(tmp_path: Path) -> None:
    (tmp_path / "tx.csv").write_text(
        "customer_id,date,revenue\nA,2024-01-02,10\nB,2024-01-03,20\n", encoding="utf-8"
    )
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tierwise.cli import main; main()",
            "validate",
            "--transactions",
            str(tmp_path / "tx.csv"),
            "--engine",
            "spark",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""


@pytest.mark.parametrize("master", ["lokal[2]", "local[two]", "spark:/host:7077", "Yarn cluster"])
def test_a_master_spark_does_not_know_is_refused_in_the_settings(master: str) -> None:
    with pytest.raises(SettingsError, match="is no Spark master"):
        Settings().with_updates(run={"engine": "spark", "spark_master": master})


@pytest.mark.parametrize(
    "master",
    [
        "local",
        "local[2]",
        "local[*]",
        "local[4, 2]",
        "yarn",
        "spark://h:7077",
        "k8s://https://h:443",
    ],
)
def test_the_masters_spark_knows_are_taken(master: str) -> None:
    run = Settings().with_updates(run={"engine": "spark", "spark_master": master}).run
    assert run.spark_master == master


def test_a_jvm_that_does_not_start_says_why_in_one_line(tmp_path: Path) -> None:
    # an option value the JVM cannot read: its own words, not a stack trace or "Java
    # gateway process exited"
    (tmp_path / "tx.csv").write_text("customer_id,date,revenue\nA,2024-01-02,10\n")
    (tmp_path / "t.toml").write_text(
        '[run]\nengine = "spark"\n[run.spark_options]\n"spark.driver.memory" = "lots"\n'
    )
    res = subprocess.run(
        [sys.executable, "-c", "from tierwise.cli import main; main()", "validate",
         "--config", "t.toml", "--transactions", "tx.csv"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "could not start Spark" in lines[0] and "Invalid maximum heap size: -Xmxlots" in lines[0]
