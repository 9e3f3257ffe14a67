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
from ..errors import InputError, TierwiseError

__all__ = [
    "KEEP",
    "OVERRIDES_FILE",
    "OVERRIDES_SCHEMA",
    "DecisionStore",
    "Keep",
    "StaleVersionError",
    "pair_subject",
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


#: audit kinds
KIND_OVERRIDE = "class_override"
KIND_REVIEW = "review"


class Keep:
    """The type of :data:`KEEP`."""

    def __repr__(self) -> str:
        return "KEEP"


#: "leave this field of the override as it is" (:meth:`DecisionStore.set_override`)
KEEP = Keep()


def pair_subject(left_id: str, right_id: str) -> str:
    """The audit subject of a duplicate pair: its ids sorted, joined by ``" ~ "``.

    Example
    -------
    >>> pair_subject("Z2", "Z1")
    'Z1 ~ Z2'
    """
    lo, hi = sorted((left_id, right_id))
    return f"{lo} ~ {hi}"


class StaleVersionError(TierwiseError):
    """A change was made against an out-of-date page: someone changed the subject since.

    ``latest`` is the last audit row of the subject (who, when, what), ``version`` its id.
    """

    def __init__(self, message: str, *, latest: dict[str, Any] | None, version: int) -> None:
        super().__init__(message)
        self.latest = latest
        self.version = version


_AUDIT_COLUMNS = 'id, "at", "by", kind, subject, field, old, new, why'


def _check_version(
    con: duckdb.DuckDBPyConnection, kind: str, subject: str, seen: int | None, changed: str
) -> None:
    """Refuse a change made against version ``seen`` of ``subject`` when someone changed it
    since (``None``: no version given, nothing checked)."""
    if seen is None:
        return
    current = _version(con, kind, subject)
    if current != seen:
        raise StaleVersionError(changed, latest=_latest(con, kind, subject), version=current)


def _version(con: duckdb.DuckDBPyConnection, kind: str, subject: str) -> int:
    row = con.execute(
        "SELECT coalesce(max(id), 0) FROM audit WHERE kind = ? AND subject = ?", [kind, subject]
    ).fetchone()
    return int(row[0]) if row else 0


def _latest(con: duckdb.DuckDBPyConnection, kind: str, subject: str) -> dict[str, Any] | None:
    cur = con.execute(
        f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE kind = ? AND subject = ? "
        "ORDER BY id DESC LIMIT 1",
        [kind, subject],
    )
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    return dict(zip(names, row, strict=True)) if row else None


class DecisionStore:
    """The dashboard's DuckDB file of overrides, review decisions and their audit log.

    One connection, used under a lock (the dashboard serves requests from threads).

    Examples
    --------
    >>> import tempfile
    >>> store = DecisionStore(Path(tempfile.mkdtemp()) / "overrides.duckdb")
    >>> store.set_override("C1", value_class="A", reason="key account", by="ana",
    ...                    computed_class="B", computed_tier="silver")
    True
    >>> store.set_override("C1", tier="gold", reason="and gold", by="bo",
    ...                    computed_class="B", computed_tier="silver")
    True
    >>> read = store.overrides()
    >>> read.column("value_class").to_pylist(), read.column("tier").to_pylist()
    (['A'], ['gold'])
    >>> [(r["field"], r["old"], r["new"]) for r in store.audit()]
    [('tier', 'silver', 'gold'), ('value_class', 'B', 'A')]
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

    # versions ---------------------------------------------------------------------
    def version(self, kind: str, subject: str) -> int:
        """The id of the last audit row of one subject (0: never changed here).

        Every change writes an audit row, so a page that carries this number can tell, when
        its form comes back, whether someone changed the subject since it was drawn.
        """
        with self._lock, self._connect() as con:
            return _version(con, kind, subject)

    def versions(self, kind: str) -> dict[str, int]:
        """:meth:`version` of every subject of one kind that has one."""
        with self._lock, self._connect() as con:
            rows = con.execute(
                "SELECT subject, max(id) FROM audit WHERE kind = ? GROUP BY subject", [kind]
            ).fetchall()
        return {str(s): int(v) for s, v in rows}

    # class overrides ----------------------------------------------------------------
    def set_override(
        self,
        customer_id: str,
        *,
        value_class: str | Keep | None = KEEP,
        tier: str | Keep | None = KEEP,
        reason: str,
        by: str,
        computed_class: str | None,
        computed_tier: str | None,
        seen: int | None = None,
    ) -> bool:
        """Change a customer's override, one field at a time, audited; whether it changed.

        ``value_class`` and ``tier`` are each :data:`KEEP` (the override in force for that
        field stays), a name (override it) or ``None`` (no override of that field: the
        computed value applies). With neither field overridden, the row is removed. Every
        field that changes writes an audit row whose ``old`` is what the customer had (the
        override in force, else ``computed_class``/``computed_tier``) and whose ``new`` is
        the override (empty: back to computed); a new reason alone is audited as the field
        ``reason``.

        ``seen`` is the :meth:`version` the change was made against; when someone changed
        the override since, nothing is written and :class:`StaleVersionError` says who.
        """
        at = _now()
        with self._tx() as con:
            _check_version(
                con,
                KIND_OVERRIDE,
                customer_id,
                seen,
                f"the override of {customer_id!r} changed since the page was drawn",
            )
            row = con.execute(
                "SELECT value_class, tier, reason FROM class_overrides WHERE customer_id = ?",
                [customer_id],
            ).fetchone()
            old_class, old_tier, old_reason = row if row else (None, None, None)
            new_class = old_class if isinstance(value_class, Keep) else value_class
            new_tier = old_tier if isinstance(tier, Keep) else tier
            changes = []
            if new_class != old_class:
                changes.append(("value_class", old_class or computed_class, new_class))
            if new_tier != old_tier:
                changes.append(("tier", old_tier or computed_tier, new_tier))
            if new_class is None and new_tier is None:
                if row is None:
                    return False
                con.execute("DELETE FROM class_overrides WHERE customer_id = ?", [customer_id])
            else:
                if not changes and reason == old_reason:
                    return False
                if not changes:
                    changes = [("reason", old_reason, reason)]
                con.execute(
                    "INSERT OR REPLACE INTO class_overrides VALUES (?, ?, ?, ?, ?, ?)",
                    [customer_id, new_class, new_tier, reason, by, at],
                )
            for field, old, new in changes:
                con.execute(
                    'INSERT INTO audit ("at", "by", kind, subject, field, old, new, why) '
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [at, by, KIND_OVERRIDE, customer_id, field, old, new, reason],
                )
            return True

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
        self,
        left_id: str,
        right_id: str,
        decision: str,
        *,
        by: str,
        reason: str | None,
        seen: int | None = None,
    ) -> None:
        """Confirm or reject a duplicate pair (ids in any order), audited.

        ``seen`` is the :meth:`version` of the pair (subject ``"lo ~ hi"``) the decision was
        made against; when someone decided the pair since, nothing is written and
        :class:`StaleVersionError` says who, when and what.
        """
        if decision not in ("confirm", "reject"):
            raise InputError(f"unknown decision {decision!r}", hint="use confirm or reject")
        lo, hi = sorted((left_id, right_id))
        subject = pair_subject(lo, hi)
        at = _now()
        with self._tx() as con:
            _check_version(
                con,
                KIND_REVIEW,
                subject,
                seen,
                f"the pair {subject} was decided since the page was drawn",
            )
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
                "VALUES (?, ?, ?, ?, 'decision', ?, ?, ?)",
                [at, by, KIND_REVIEW, subject, old[0] if old else None, decision, reason],
            )

    def decision(self, left_id: str, right_id: str) -> dict[str, Any] | None:
        """The decision on one pair (ids in any order), with its note, or None."""
        lo, hi = sorted((left_id, right_id))
        rows = self._dicts(
            "SELECT left_id, right_id, decision, decided_by, decided_at, reason "
            "FROM review_decisions WHERE left_id = ? AND right_id = ?",
            [lo, hi],
        )
        return rows[0] if rows else None

    def decisions(self) -> pa.Table:
        """Every review decision, in the accounts stage's decisions format."""
        with self._lock, self._connect() as con:
            t = con.sql(
                "SELECT left_id, right_id, decision, decided_by, decided_at "
                "FROM review_decisions ORDER BY left_id, right_id"
            ).to_arrow_table()
        return t.cast(DECISIONS_SCHEMA)

    def audit(
        self, subject: str | None = None, limit: int = 1000, *, kind: str | None = None
    ) -> list[dict[str, Any]]:
        """The audit log, newest first (of one subject, and one kind, when given)."""
        sql = f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE true"
        params: list[Any] = []
        if subject is not None:
            sql += " AND subject = ?"
            params.append(subject)
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
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
