"""The dashboard's store of decisions, as a run and people use it together: a decision made
while a run replaces the folder, a reason per overridden field, pairs of ids that hold
" ~ ", and files written before these were kept apart."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from pathlib import Path

import duckdb
import pytest

from tierwise.app import DecisionStore, read_overrides, read_review_decisions
from tierwise.app.store import (
    KIND_OVERRIDE,
    KIND_REVIEW,
    OVERRIDES_FILE,
    FolderBusyError,
    StaleVersionError,
    pair_subject,
)
from tierwise.io.outputs import OutputFolder


def _run(out: Path, customers: str = "customer_id\nC1\n") -> None:
    """A run writing ``out`` (replacing the output there)."""
    with OutputFolder(out) as run:
        run.write_text("customers.csv", customers)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    _run(folder)
    return folder


def _between_copy_and_swap(monkeypatch: pytest.MonkeyPatch, act: object) -> None:
    """Do ``act()`` right after the run copies overrides.duckdb into its new folder (and
    before it swaps the folders)."""
    copy = shutil.copy2

    def copy_then_act(src: object, dst: object, *args: object, **kwargs: object) -> object:
        done = copy(src, dst, *args, **kwargs)  # type: ignore[arg-type]
        if Path(str(src)).name == OVERRIDES_FILE:
            act()  # type: ignore[operator]
        return done

    monkeypatch.setattr(shutil, "copy2", copy_then_act)


def test_a_decision_made_while_a_run_replaces_the_folder_is_refused_not_lost(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DecisionStore(out / OVERRIDES_FILE)
    store.decide_pair("A1", "A2", "confirm", by="ana", reason=None)
    store.wait = 0.2  # the run holds the folder for longer than that: refused at once
    said: list[str] = []

    def decide() -> None:
        try:
            store.decide_pair("B1", "B2", "reject", by="bo", reason="other VAT")
        except FolderBusyError as exc:
            said.append(str(exc))
        else:
            said.append("saved")

    _between_copy_and_swap(monkeypatch, decide)
    _run(out)
    left_ids = read_review_decisions(out).column("left_id").to_pylist()
    lost = said == ["saved"] and "B1" not in left_ids
    assert not lost, "a decision the dashboard saved is not in the folder the run left"
    # bo is told, and the decision is not claimed saved
    assert said == [
        "A run is replacing this output folder: nothing was saved. Try again in a "
        "moment (the dashboard shows the new run's tables once it is done)."
    ]
    decided = read_review_decisions(out).select(["left_id", "decided_by"]).to_pylist()
    assert decided == [{"left_id": "A1", "decided_by": "ana"}]
    # trying again after the run saves it into the new folder
    store.decide_pair("B1", "B2", "reject", by="bo", reason="other VAT")
    assert read_review_decisions(out).column("left_id").to_pylist() == ["A1", "B1"]


def test_an_override_made_while_a_run_replaces_the_folder_waits_and_goes_into_the_new_one(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DecisionStore(out / OVERRIDES_FILE)
    writer = threading.Thread(
        target=store.set_override,
        args=("C1",),
        kwargs={
            "value_class": "A",
            "reason": "key account",
            "by": "ana",
            "computed_class": "B",
            "computed_tier": "silver",
        },
    )
    _between_copy_and_swap(monkeypatch, writer.start)
    _run(out)
    writer.join()
    assert read_overrides(out).select(["customer_id", "value_class"]).to_pylist() == [
        {"customer_id": "C1", "value_class": "A"}
    ]


def test_a_run_waits_for_the_dashboard_then_says_so_in_one_line(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tierwise.io import _folder_lock, outputs

    DecisionStore(out / OVERRIDES_FILE)
    monkeypatch.setattr(outputs, "CARRY_WAIT", 0.1)
    with (
        _folder_lock.hold_folder(out, wait=1, busy="held"),  # the dashboard, writing
        pytest.raises(FolderBusyError, match=r"kept overrides\.duckdb busy") as caught,
    ):
        _run(out, "customer_id\nC2\n")
    assert "\n" not in str(caught.value) and "run again" in str(caught.value)
    assert (out / "customers.csv").read_text() == "customer_id\nC1\n"  # the last output
    _run(out, "customer_id\nC2\n")
    assert (out / "customers.csv").read_text() == "customer_id\nC2\n"


def test_each_overridden_field_keeps_its_own_reason_and_author(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path / OVERRIDES_FILE)
    computed = {"computed_class": "B", "computed_tier": "silver"}
    store.set_override("C1", value_class="A", reason="key account", by="ana", **computed)
    store.set_override("C1", tier="gold", reason="strategic", by="bo", **computed)
    row = read_overrides(tmp_path).to_pylist()[0]
    assert (row["value_class"], row["class_reason"], row["class_by"]) == (
        "A",
        "key account",
        "ana",
    )
    assert (row["tier"], row["tier_reason"], row["tier_by"]) == ("gold", "strategic", "bo")
    # what overrides_applied.csv shows for the customer names both, each with its author
    assert (row["reason"], row["by"]) == (
        "class: key account (ana); tier: strategic (bo)",
        "ana and bo",
    )
    # a new reason for the tier alone leaves the class's
    store.set_override("C1", tier="gold", reason="strategic, renewed", by="cy", **computed)
    row = store.override("C1")
    assert row is not None
    assert (row["class_reason"], row["class_by"]) == ("key account", "ana")
    assert (row["tier_reason"], row["tier_by"]) == ("strategic, renewed", "cy")
    latest = store.audit("C1")[0]
    assert (latest["field"], latest["old"], latest["new"]) == (
        "tier_reason",
        "strategic",
        "strategic, renewed",
    )
    # the class dropped: the tier's reason stays, alone
    store.set_override("C1", value_class=None, reason="back", by="dee", **computed)
    row = read_overrides(tmp_path).to_pylist()[0]
    assert (row["class_reason"], row["class_by"], row["class_at"]) == (None, None, None)
    assert (row["reason"], row["by"]) == ("strategic, renewed", "cy")


def _old_layout_file(path: Path) -> None:
    """An overrides.duckdb as the dashboard wrote it when a row kept one reason and author,
    and a pair's audit subject was its ids joined by " ~ "."""
    at = dt.datetime(2025, 3, 1, 9, 30)
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE class_overrides (customer_id VARCHAR PRIMARY KEY, value_class VARCHAR, "
        'tier VARCHAR, reason VARCHAR NOT NULL, "by" VARCHAR NOT NULL, "at" TIMESTAMP NOT NULL)'
    )
    con.execute(
        "CREATE TABLE review_decisions (left_id VARCHAR NOT NULL, right_id VARCHAR NOT NULL, "
        "decision VARCHAR NOT NULL, decided_by VARCHAR NOT NULL, decided_at TIMESTAMP NOT NULL, "
        "reason VARCHAR, PRIMARY KEY (left_id, right_id))"
    )
    con.execute("CREATE SEQUENCE audit_seq START 1")
    con.execute(
        "CREATE TABLE audit (id BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'), "
        '"at" TIMESTAMP NOT NULL, "by" VARCHAR NOT NULL, kind VARCHAR NOT NULL, '
        "subject VARCHAR NOT NULL, field VARCHAR NOT NULL, old VARCHAR, new VARCHAR, why VARCHAR)"
    )
    con.execute(
        "INSERT INTO class_overrides VALUES ('C1', 'A', 'gold', 'key account', 'ana', ?), "
        "('C2', NULL, 'bronze', 'small', 'bo', ?)",
        [at, at],
    )
    con.execute("INSERT INTO review_decisions VALUES ('P1', 'P2', 'confirm', 'ana', ?, 'x')", [at])
    con.execute(
        'INSERT INTO audit ("at", "by", kind, subject, field, old, new, why) '
        "VALUES (?, 'ana', 'review', 'P1 ~ P2', 'decision', NULL, 'confirm', 'x')",
        [at],
    )
    con.close()


def test_a_file_of_the_older_layout_reads_the_row_s_reason_for_each_field(
    tmp_path: Path,
) -> None:
    _old_layout_file(tmp_path / OVERRIDES_FILE)
    # read by a run, read-only, the file as it is
    rows = {r["customer_id"]: r for r in read_overrides(tmp_path).to_pylist()}
    assert (rows["C1"]["class_reason"], rows["C1"]["tier_reason"]) == ("key account",) * 2
    assert (rows["C1"]["class_by"], rows["C1"]["tier_by"]) == ("ana", "ana")
    assert (rows["C2"]["class_reason"], rows["C2"]["tier_by"]) == (None, "bo")
    assert read_review_decisions(tmp_path).column("decided_by").to_pylist() == ["ana"]

    # the dashboard opens it and changes one field: the other keeps what it had
    store = DecisionStore(tmp_path / OVERRIDES_FILE)
    store.set_override(
        "C1", tier="silver", reason="smaller", by="cy", computed_class="B", computed_tier="b"
    )
    row = store.override("C1")
    assert row is not None
    assert (row["class_reason"], row["class_by"]) == ("key account", "ana")
    assert (row["tier"], row["tier_reason"], row["tier_by"]) == ("silver", "smaller", "cy")
    # the older pair subject still counts as the pair's version: a page drawn before
    # that decision is out of date
    assert store.version(KIND_REVIEW, pair_subject("P2", "P1")) > 0
    with pytest.raises(StaleVersionError):
        store.decide_pair("P1", "P2", "reject", by="bo", reason=None, seen=0)


def test_pairs_whose_ids_hold_the_separator_are_kept_apart(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path / OVERRIDES_FILE)
    # joined by " ~ ", both pairs read "a ~ b ~ c"
    one, other = ("a ~ b", "c"), ("a", "b ~ c")
    assert pair_subject(*one) != pair_subject(*other)
    store.decide_pair(*one, "confirm", by="ana", reason=None, seen=0)
    # the other pair was never decided: a decision from a page drawn before is no conflict
    store.decide_pair(*other, "reject", by="bo", reason=None, seen=0)
    assert store.version(KIND_REVIEW, pair_subject(*one)) != store.version(
        KIND_REVIEW, pair_subject(*other)
    )
    decided = read_review_decisions(tmp_path).select(["left_id", "right_id", "decision"])
    assert decided.to_pylist() == [
        {"left_id": "a", "right_id": "b ~ c", "decision": "reject"},
        {"left_id": "a ~ b", "right_id": "c", "decision": "confirm"},
    ]
    assert store.versions(KIND_REVIEW, [pair_subject(*one), pair_subject(*other)]) == {
        pair_subject(*one): 1,
        pair_subject(*other): 2,
    }
    assert store.version(KIND_OVERRIDE, "a") == 0


_RUN_IN_ANOTHER_PROCESS = """
import shutil, sys
from pathlib import Path
from tierwise.io.outputs import OutputFolder

copy = shutil.copy2

def copy_then_wait(src, dst, *args, **kwargs):
    done = copy(src, dst, *args, **kwargs)
    if Path(str(src)).name == "overrides.duckdb":
        print("copied", flush=True)
        sys.stdin.readline()  # until the test says: swap
    return done

shutil.copy2 = copy_then_wait
with OutputFolder(sys.argv[1]) as run:
    run.write_text("customers.csv", "customer_id\\nC1\\n")
print("swapped", flush=True)
"""


def test_a_run_in_another_process_holds_the_folder_from_its_copy_to_its_swap(
    out: Path,
) -> None:
    import os
    import subprocess
    import sys

    store = DecisionStore(out / OVERRIDES_FILE)
    store.wait = 0.2
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.Popen(
        [sys.executable, "-c", _RUN_IN_ANOTHER_PROCESS, str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert run.stdin is not None and run.stdout is not None
    try:
        assert run.stdout.readline().strip() == "copied"
        # the run has copied the store and not yet swapped the folders
        refused = False
        try:
            store.decide_pair("B1", "B2", "reject", by="bo", reason=None)
        except FolderBusyError:
            refused = True
        run.stdin.write("swap\n")
        run.stdin.flush()
        assert run.stdout.readline().strip() == "swapped"
    finally:
        run.stdin.close()
        assert run.wait(timeout=120) == 0
    left_ids = read_review_decisions(out).column("left_id").to_pylist()
    assert refused or "B1" in left_ids, "a saved decision is not in the folder the run left"
    assert refused
    store.decide_pair("B1", "B2", "reject", by="bo", reason=None)
    assert read_review_decisions(out).column("left_id").to_pylist() == ["B1"]


def test_a_folder_whose_file_system_refuses_locks_is_used_unlocked_at_once(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mount that refuses ``flock`` on folders (ENOLCK, EOPNOTSUPP) is not a busy folder:
    the run and the dashboard go on unlocked, with a warning, instead of waiting out their
    time and failing."""
    import errno
    import time

    from tierwise.io import _folder_lock

    def refuse(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(_folder_lock.fcntl, "flock", refuse)
    start = time.monotonic()
    with (
        pytest.warns(UserWarning, match="cannot be locked"),
        _folder_lock.hold_folder(out, wait=5.0, busy="busy"),
    ):
        pass
    assert time.monotonic() - start < 1.0
    with pytest.warns(UserWarning, match="cannot be locked"):
        _run(out, "customer_id\nC2\n")
    assert (out / "customers.csv").read_text() == "customer_id\nC2\n"


def test_a_held_folder_still_makes_the_dashboard_wait(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EWOULDBLOCK (another process holds the lock) is still a busy folder."""
    import errno

    from tierwise.io import _folder_lock

    def held(fd: int, op: int) -> None:
        raise OSError(errno.EWOULDBLOCK, "Resource temporarily unavailable")

    monkeypatch.setattr(_folder_lock.fcntl, "flock", held)
    with (
        pytest.raises(FolderBusyError, match="busy"),
        _folder_lock.hold_folder(out, wait=0.1, busy="busy"),
    ):
        pass


def test_a_decision_still_in_the_write_ahead_log_is_carried_by_the_next_run(out: Path) -> None:
    """A dashboard stopped between committing a decision and closing its file leaves the
    decision in overrides.duckdb.wal: the next run carries it with the file (and does not
    refuse the folder for a file it did not write)."""
    import subprocess
    import sys

    script = f"""
import os, duckdb
con = duckdb.connect({str(out / OVERRIDES_FILE)!r})
con.execute("SET checkpoint_threshold = '1GB'")
con.execute("CREATE TABLE kept (customer_id VARCHAR, value_class VARCHAR)")
con.execute("INSERT INTO kept VALUES ('C1', 'A')")
os._exit(0)  # stopped before the file is closed: the commit is in the log only
"""
    subprocess.run([sys.executable, "-c", script], check=True)
    assert (out / f"{OVERRIDES_FILE}.wal").exists()
    _run(out, "customer_id\nC2\n")
    assert (out / "customers.csv").read_text() == "customer_id\nC2\n"
    con = duckdb.connect(str(out / OVERRIDES_FILE), read_only=True)
    try:
        assert con.execute("SELECT * FROM kept").fetchall() == [("C1", "A")]
    finally:
        con.close()
