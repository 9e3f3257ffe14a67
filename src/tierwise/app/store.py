"""What people decide in the dashboard, kept in ``overrides.duckdb`` beside the run's files.

Three tables:

- ``class_overrides``: the override in force per customer (customer_id, value_class, tier,
  reason, by, at). The next run applies them through the segments stage's overrides
  (:func:`read_overrides`).
- ``review_decisions``: duplicate-pair decisions (left_id, right_id, decision, decided_by,
  decided_at, reason), read back in the accounts stage's decisions format
  (:func:`read_review_decisions`).
- ``audit``: every change, never updated or deleted: when, who, what (``class_override`` or
  ``review``), the subject, the old value, the new value and why.

A run replaces its output folder; carry this file over (or read it before the run) so that
no decision is lost.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ..accounts.review import DECISIONS_SCHEMA
from ..errors import InputError

__all__ = [
    "OVERRIDES_FILE",
    "OVERRIDES_SCHEMA",
    "DecisionStore",
    "read_overrides",
    "read_review_decisions",
]

#: The store's file name inside an output folder.
OVERRIDES_FILE = "overrides.duckdb"

#: Columns of :func:`read_overrides` (the segments stage's overrides table).
OVERRIDES_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("value_class", pa.string()),
        ("tier", pa.string()),
        ("reason", pa.string()),
        ("by", pa.string()),
        ("at", pa.timestamp("us")),
    ]
)

_DDL = """
CREATE TABLE IF NOT EXISTS class_overrides (
    customer_id VARCHAR PRIMARY KEY,
    value_class VARCHAR,
    tier VARCHAR,
    reason VARCHAR NOT NULL,
    "by" VARCHAR NOT NULL,
    "at" TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS review_decisions (
    left_id VARCHAR NOT NULL,
    right_id VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,
    decided_by VARCHAR NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    reason VARCHAR,
    PRIMARY KEY (left_id, right_id)
);
CREATE SEQUENCE IF NOT EXISTS audit_seq START 1;
CREATE TABLE IF NOT EXISTS audit (
    id BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
    "at" TIMESTAMP NOT NULL,
    "by" VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    old VARCHAR,
    new VARCHAR,
    why VARCHAR
);
"""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class DecisionStore:
    """The dashboard's DuckDB file of overrides, review decisions and their audit log.

    One connection, used under a lock (the dashboard serves requests from threads).

    Examples
    --------
    >>> import tempfile
    >>> store = DecisionStore(Path(tempfile.mkdtemp()) / "overrides.duckdb")
    >>> store.set_override("C1", value_class="A", tier=None, reason="key account",
    ...                    by="ana", old_class="B", old_tier="silver")
    >>> read = store.overrides()
    >>> read.column("value_class").to_pylist(), read.column("by").to_pylist()
    (['A'], ['ana'])
    >>> [(r["field"], r["old"], r["new"]) for r in store.audit()]
    [('value_class', 'B', 'A')]
    >>> store.close()
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        with self._tx():
            pass

    def close(self) -> None:
        """Nothing stays open between operations; kept for symmetry with other stores."""

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        # a connection per operation: the file is not locked while the dashboard is idle,
        # so a run (another process) can read the overrides
        try:
            con = duckdb.connect(str(self.path))
        except duckdb.Error as exc:
            raise InputError(f"cannot open the overrides file: {exc}", file=str(self.path)) from exc
        try:
            con.execute(_DDL)
            yield con
        finally:
            con.close()

    @contextmanager
    def _tx(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock, self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # class overrides ----------------------------------------------------------------
    def set_override(
        self,
        customer_id: str,
        *,
        value_class: str | None,
        tier: str | None,
        reason: str,
        by: str,
        old_class: str | None,
        old_tier: str | None,
    ) -> None:
        """Set (or, with neither class nor tier, remove) a customer's override, audited.

        ``old_class``/``old_tier`` are what the customer had before this change (the
        override in force, else the computed class), recorded in the audit log.
        """
        at = _now()
        with self._tx() as con:
            if value_class is None and tier is None:
                con.execute("DELETE FROM class_overrides WHERE customer_id = ?", [customer_id])
            else:
                con.execute(
                    "INSERT OR REPLACE INTO class_overrides VALUES (?, ?, ?, ?, ?, ?)",
                    [customer_id, value_class, tier, reason, by, at],
                )
            for field, old, new in (
                ("value_class", old_class, value_class),
                ("tier", old_tier, tier),
            ):
                if old != new and (new is not None or (value_class is None and tier is None)):
                    con.execute(
                        'INSERT INTO audit ("at", "by", kind, subject, field, old, new, why) '
                        "VALUES (?, ?, 'class_override', ?, ?, ?, ?, ?)",
                        [at, by, customer_id, field, old, new, reason],
                    )

    def override(self, customer_id: str) -> dict[str, Any] | None:
        """The override in force for one customer, or None."""
        rows = self._dicts(
            'SELECT customer_id, value_class, tier, reason, "by", "at" FROM class_overrides '
            "WHERE customer_id = ?",
            [customer_id],
        )
        return rows[0] if rows else None

    def overrides(self) -> pa.Table:
        """Every override in force, as :data:`OVERRIDES_SCHEMA`, sorted by customer_id."""
        with self._lock, self._connect() as con:
            t = con.sql(
                'SELECT customer_id, value_class, tier, reason, "by", "at" FROM class_overrides '
                "ORDER BY customer_id"
            ).to_arrow_table()
        return t.cast(OVERRIDES_SCHEMA)

    # review decisions -----------------------------------------------------------------
    def decide_pair(
        self, left_id: str, right_id: str, decision: str, *, by: str, reason: str | None
    ) -> None:
        """Confirm or reject a duplicate pair (ids in any order), audited."""
        if decision not in ("confirm", "reject"):
            raise InputError(f"unknown decision {decision!r}", hint="use confirm or reject")
        lo, hi = sorted((left_id, right_id))
        at = _now()
        with self._tx() as con:
            old = con.execute(
                "SELECT decision FROM review_decisions WHERE left_id = ? AND right_id = ?",
                [lo, hi],
            ).fetchone()
            con.execute(
                "INSERT OR REPLACE INTO review_decisions VALUES (?, ?, ?, ?, ?, ?)",
                [lo, hi, decision, by, at, reason],
            )
            con.execute(
                'INSERT INTO audit ("at", "by", kind, subject, field, old, new, why) '
                "VALUES (?, ?, 'review', ?, 'decision', ?, ?, ?)",
                [at, by, f"{lo} ~ {hi}", old[0] if old else None, decision, reason],
            )

    def decisions(self) -> pa.Table:
        """Every review decision, in the accounts stage's decisions format."""
        with self._lock, self._connect() as con:
            t = con.sql(
                "SELECT left_id, right_id, decision, decided_by, decided_at "
                "FROM review_decisions ORDER BY left_id, right_id"
            ).to_arrow_table()
        return t.cast(DECISIONS_SCHEMA)

    def audit(self, subject: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """The audit log, newest first (of one subject when given)."""
        sql = 'SELECT id, "at", "by", kind, subject, field, old, new, why FROM audit'
        params: list[Any] = []
        if subject is not None:
            sql += " WHERE subject = ?"
            params.append(subject)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        return self._dicts(sql, params)

    def _dicts(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        with self._lock, self._connect() as con:
            cur = con.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _open_read_only(out_dir: str | Path) -> duckdb.DuckDBPyConnection | None:
    path = Path(out_dir) / OVERRIDES_FILE
    if not path.is_file():
        return None
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise InputError(f"cannot read the overrides file: {exc}", file=str(path)) from exc


def read_overrides(out_dir: str | Path) -> pa.Table:
    """The class overrides made in the dashboard over ``out_dir``, for the next run.

    Columns ``customer_id, value_class, tier, reason, by, at`` (:data:`OVERRIDES_SCHEMA`),
    one row per overridden customer, sorted; empty when no override was made.

    Example
    -------
    >>> import tempfile
    >>> read_overrides(tempfile.mkdtemp()).column_names
    ['customer_id', 'value_class', 'tier', 'reason', 'by', 'at']
    """
    con = _open_read_only(out_dir)
    if con is None:
        return OVERRIDES_SCHEMA.empty_table()
    try:
        t = con.sql(
            'SELECT customer_id, value_class, tier, reason, "by", "at" FROM class_overrides '
            "ORDER BY customer_id"
        ).to_arrow_table()
    finally:
        con.close()
    return t.cast(OVERRIDES_SCHEMA)


def read_review_decisions(out_dir: str | Path) -> pa.Table:
    """The duplicate-review decisions made in the dashboard, in the decisions format.

    Columns ``left_id, right_id, decision, decided_by, decided_at``
    (:data:`tierwise.accounts.review.DECISIONS_SCHEMA`), ready for the accounts stage's
    ``decisions`` (write it as a CSV named in ``[accounts] decisions_file``, or pass it).

    Example
    -------
    >>> import tempfile
    >>> read_review_decisions(tempfile.mkdtemp()).num_rows
    0
    """
    con = _open_read_only(out_dir)
    if con is None:
        return DECISIONS_SCHEMA.empty_table()
    try:
        t = con.sql(
            "SELECT left_id, right_id, decision, decided_by, decided_at "
            "FROM review_decisions ORDER BY left_id, right_id"
        ).to_arrow_table()
    finally:
        con.close()
    return t.cast(DECISIONS_SCHEMA)
