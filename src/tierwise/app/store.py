"""What people decide in the dashboard, kept in ``overrides.duckdb`` beside the run's files.

Three tables:

- ``class_overrides``: the override in force per customer: customer_id, value_class and
  tier, each field with its own reason, author and time (class_reason, class_by, class_at;
  tier_reason, tier_by, tier_at), and the row's summary of them in reason, by and at (what
  the segments stage puts in overrides_applied.csv). The next run applies them through the
  segments stage's overrides (:func:`read_overrides`). A file written before the fields had
  their own reason keeps one reason, author and time per row: each field reads them.
- ``review_decisions``: duplicate-pair decisions (left_id, right_id, decision, decided_by,
  decided_at, reason), read back in the accounts stage's decisions format
  (:func:`read_review_decisions`).
- ``audit``: every change, never updated or deleted: when, who, what (``class_override`` or
  ``review``), the subject (a customer id, or a pair's :func:`pair_subject`), the old value,
  the new value and why.

A run replaces its output folder and carries this file over. It copies the file and swaps
the folders under a lock on the output folder (:mod:`tierwise.io._folder_lock`), which
every write here takes too: a change saved while a run replaces the folder waits for the
swap and goes into the new folder; after :attr:`DecisionStore.wait` seconds it is refused
with :class:`~tierwise.io._folder_lock.FolderBusyError`, nothing saved.

An output folder this process cannot write (a read-only share, a colleague's folder) is
opened read-only: the decisions already made there are read, and every change is refused
with :class:`ReadOnlyFolderError`, nothing saved.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ..accounts.review import DECISIONS_SCHEMA
from ..errors import InputError, TierwiseError
from ..io._folder_lock import FolderBusyError, hold_folder

__all__ = [
    "KEEP",
    "OVERRIDES_FILE",
    "OVERRIDES_SCHEMA",
    "DecisionStore",
    "FolderBusyError",
    "Keep",
    "ReadOnlyFolderError",
    "StaleVersionError",
    "pair_subject",
    "read_overrides",
    "read_review_decisions",
]

#: The store's file name inside an output folder.
OVERRIDES_FILE = "overrides.duckdb"

#: Columns of :func:`read_overrides` (the segments stage's overrides table): the fields,
#: the row's summary (reason, by, at) and each field's own reason, author and time (null
#: where the field is not overridden).
OVERRIDES_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("value_class", pa.string()),
        ("tier", pa.string()),
        ("reason", pa.string()),
        ("by", pa.string()),
        ("at", pa.timestamp("us")),
        ("class_reason", pa.string()),
        ("class_by", pa.string()),
        ("class_at", pa.timestamp("us")),
        ("tier_reason", pa.string()),
        ("tier_by", pa.string()),
        ("tier_at", pa.timestamp("us")),
    ]
)

#: The overridable fields: column, and the prefix of its reason, author and time columns.
_FIELDS = (("value_class", "class"), ("tier", "tier"))
#: Each field's own columns, added to files written before the fields had them.
_PER_FIELD = tuple(
    (f"{prefix}_{part}", kind)
    for _, prefix in _FIELDS
    for part, kind in (("reason", "VARCHAR"), ("by", "VARCHAR"), ("at", "TIMESTAMP"))
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
{alter}CREATE TABLE IF NOT EXISTS review_decisions (
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
""".replace(
    "{alter}",
    "".join(
        f"ALTER TABLE class_overrides ADD COLUMN IF NOT EXISTS {c} {k};\n" for c, k in _PER_FIELD
    ),
)


class ReadOnlyFolderError(TierwiseError):
    """A decision made over an output folder this process cannot write: nothing saved."""


def _writable(path: Path) -> bool:
    """Whether the store at ``path`` can be written: its folder (DuckDB writes a journal
    beside the file) and the file itself when it exists."""
    folder_ok = os.access(path.parent, os.W_OK | os.X_OK)
    return folder_ok and (not path.exists() or os.access(path, os.W_OK))


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
    """The audit subject of a duplicate pair: its ids sorted, as a JSON list (two ids give
    one subject, whatever characters they hold).

    Example
    -------
    >>> pair_subject("Z2", "Z1")
    '["Z1", "Z2"]'
    """
    return json.dumps(sorted((left_id, right_id)), ensure_ascii=False)


def _legacy_pair_subject(left_id: str, right_id: str) -> str:
    """The subject files written before :func:`pair_subject` gave a pair: ids sorted, joined
    by " ~ " (read, never written)."""
    lo, hi = sorted((left_id, right_id))
    return f"{lo} ~ {hi}"


def pair_ids(subject: str) -> tuple[str, str] | None:
    """The two ids of a pair's audit subject (:func:`pair_subject`); None for a subject of
    the older spelling, whose ids cannot be told apart when one holds " ~ ".

    Example
    -------
    >>> pair_ids('["a ~ b", "c"]'), pair_ids("a ~ b")
    (('a ~ b', 'c'), None)
    """
    try:
        ids = json.loads(subject)
    except ValueError:
        return None
    if isinstance(ids, list) and len(ids) == 2 and all(isinstance(i, str) for i in ids):
        return ids[0], ids[1]
    return None


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


def _spellings(kind: str, subject: str) -> list[str]:
    """The subjects audit rows of one subject carry: a pair's also in the older spelling."""
    ids = pair_ids(subject) if kind == KIND_REVIEW else None
    return [subject] if ids is None else [subject, _legacy_pair_subject(*ids)]


def _version(con: duckdb.DuckDBPyConnection, kind: str, subject: str) -> int:
    row = con.execute(
        "SELECT coalesce(max(id), 0) FROM audit WHERE kind = ? AND list_contains(?, subject)",
        [kind, _spellings(kind, subject)],
    ).fetchone()
    return int(row[0]) if row else 0


def _latest(con: duckdb.DuckDBPyConnection, kind: str, subject: str) -> dict[str, Any] | None:
    cur = con.execute(
        f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE kind = ? AND list_contains(?, subject) "
        "ORDER BY id DESC LIMIT 1",
        [kind, _spellings(kind, subject)],
    )
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    return dict(zip(names, row, strict=True)) if row else None


def _quote(name: str) -> str:
    return f'"{name}"'


def _columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'class_overrides'"
    ).fetchall()
    return {str(r[0]) for r in rows}


def _overrides_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The overrides in force as :data:`OVERRIDES_SCHEMA`: a field without its own reason,
    author or time (a file written before fields had them) takes the row's."""
    have = _columns(con)
    picks = ['customer_id, value_class, tier, reason, "by", "at"']
    for column, prefix in _FIELDS:
        for part, row_wide in (("reason", "reason"), ("by", '"by"'), ("at", '"at"')):
            own = f"{prefix}_{part}"
            value = f"coalesce({own}, {row_wide})" if own in have else row_wide
            picks.append(f"CASE WHEN {column} IS NOT NULL THEN {value} END AS {own}")
    return f"SELECT {', '.join(picks)} FROM class_overrides"


def _overrides_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    t = con.sql(_overrides_sql(con) + " ORDER BY customer_id").to_arrow_table()
    return t.cast(OVERRIDES_SCHEMA)


def _override_rows(con: duckdb.DuckDBPyConnection, customer_id: str) -> list[dict[str, Any]]:
    cur = con.execute(_overrides_sql(con) + " WHERE customer_id = ?", [customer_id])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _summary(row: dict[str, Any]) -> tuple[str, str, dt.datetime]:
    """The row's reason, author and time, said once for both fields (what
    overrides_applied.csv shows): one field's own; for two, their reasons named by field
    when they differ, and the authors when those differ, the later time.

    Examples
    --------
    >>> t = dt.datetime(2025, 1, 2)
    >>> row = {"value_class": "A", "class_reason": "key account", "class_by": "ana",
    ...        "class_at": t, "tier": "gold", "tier_reason": "strategic", "tier_by": "bo",
    ...        "tier_at": t}
    >>> _summary(row)[:2]
    ('class: key account (ana); tier: strategic (bo)', 'ana and bo')
    >>> _summary({**row, "tier_by": "ana"})[:2]
    ('class: key account; tier: strategic', 'ana')
    >>> _summary({**row, "tier": None})[:2]
    ('key account', 'ana')
    """
    parts = [
        (prefix, row[f"{prefix}_reason"], row[f"{prefix}_by"], row[f"{prefix}_at"])
        for column, prefix in _FIELDS
        if row[column] is not None
    ]
    if len(parts) == 1:
        return parts[0][1], parts[0][2], parts[0][3]
    (_, r1, b1, a1), (_, r2, b2, a2) = parts
    at = max(a1, a2)
    if b1 != b2:
        return f"class: {r1} ({b1}); tier: {r2} ({b2})", f"{b1} and {b2}", at
    if r1 != r2:
        return f"class: {r1}; tier: {r2}", b1, at
    return r1, b1, at


class DecisionStore:
    """The dashboard's DuckDB file of overrides, review decisions and their audit log.

    One connection per operation, used under a lock (the dashboard serves requests from
    threads); a write also holds the output folder's lock against a run replacing the
    folder (see the module's docstring), waiting up to :attr:`wait` seconds for it.

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
    >>> read = store.override("C1")
    >>> read["value_class"], read["class_reason"], read["tier"], read["tier_by"]
    ('A', 'key account', 'gold', 'bo')
    >>> [(r["field"], r["old"], r["new"]) for r in store.audit()]
    [('tier', 'silver', 'gold'), ('value_class', 'B', 'A')]
    >>> store.close()
    """

    #: how long a write waits for a run that is replacing the folder, in seconds
    wait: float = 15.0

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        #: the folder cannot be written: decisions are read, and refused
        self.read_only = not _writable(self.path)
        if not self.read_only:
            with self._tx():
                pass

    def close(self) -> None:
        """Nothing stays open between operations; kept for symmetry with other stores."""

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        # a connection per operation: the file is not locked while the dashboard is idle,
        # so a run (another process) can read the overrides
        saved = self.read_only and self.path.is_file()
        try:
            if saved:
                con = duckdb.connect(str(self.path), read_only=True)
            else:
                # read-only without a file: nothing decided yet, tables empty in memory
                con = duckdb.connect(":memory:" if self.read_only else str(self.path))
        except duckdb.Error as exc:
            raise InputError(f"cannot open the overrides file: {exc}", file=str(self.path)) from exc
        try:
            if not saved:
                con.execute(_DDL)
            yield con
        finally:
            con.close()

    @contextmanager
    def _tx(self) -> Iterator[duckdb.DuckDBPyConnection]:
        busy = (
            "A run is replacing this output folder: nothing was saved. Try again in a moment "
            "(the dashboard shows the new run's tables once it is done)."
        )
        if self.read_only:
            raise ReadOnlyFolderError(
                f"Nothing was saved: this dashboard cannot write to {self.path.parent} (the "
                "folder is read-only). Copy the output folder to one you can write to and "
                "serve the copy to record decisions."
            )
        # the folder first: a save that waits for a run does not hold up the dashboard's
        # reads, which take only the thread lock
        with (
            hold_folder(self.path.parent, wait=self.wait, busy=busy),
            self._lock,
            self._connect() as con,
        ):
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

    def versions(self, kind: str, subjects: list[str]) -> dict[str, int]:
        """:meth:`version` of each of ``subjects`` of one kind that has one."""
        with self._lock, self._connect() as con:
            rows = con.execute(
                "SELECT subject, max(id) FROM audit WHERE kind = ? GROUP BY subject", [kind]
            ).fetchall()
        last = {str(subject): int(v) for subject, v in rows}
        found = {s: max(last.get(x, 0) for x in _spellings(kind, s)) for s in subjects}
        return {s: v for s, v in found.items() if v}

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
        field stays, with its reason, author and time), a name (override it) or ``None``
        (no override of that field: the computed value applies). A field set or dropped
        takes ``reason``, ``by`` and the time as its own; the other keeps its own. With
        neither field overridden, the row is removed. Every field that changes writes an
        audit row whose ``old`` is what the customer had (the override in force, else
        ``computed_class``/``computed_tier``) and whose ``new`` is the override (empty:
        back to computed); a field given its value in force with a new reason is audited
        as ``class_reason`` or ``tier_reason``.

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
            rows = _override_rows(con, customer_id)
            row = rows[0] if rows else dict.fromkeys(OVERRIDES_SCHEMA.names)
            new = dict(row, customer_id=customer_id)
            changes: list[tuple[str, Any, Any]] = []
            for (column, prefix), choice, computed in (
                (_FIELDS[0], value_class, computed_class),
                (_FIELDS[1], tier, computed_tier),
            ):
                if isinstance(choice, Keep):
                    continue
                old = row[column]
                if choice is None and old is None:
                    continue
                if choice != old:
                    changes.append((column, old or computed, choice))
                elif reason != row[f"{prefix}_reason"]:
                    changes.append((f"{prefix}_reason", row[f"{prefix}_reason"], reason))
                else:
                    continue
                mine = (reason, by, at) if choice is not None else (None, None, None)
                new[column] = choice
                for part, value in zip(("reason", "by", "at"), mine, strict=True):
                    new[f"{prefix}_{part}"] = value
            if not changes:
                return False
            if new["value_class"] is None and new["tier"] is None:
                con.execute("DELETE FROM class_overrides WHERE customer_id = ?", [customer_id])
            else:
                new["reason"], new["by"], new["at"] = _summary(new)
                names = OVERRIDES_SCHEMA.names
                con.execute(
                    f"INSERT OR REPLACE INTO class_overrides ({', '.join(map(_quote, names))}) "
                    f"VALUES ({', '.join('?' for _ in names)})",
                    [new[n] for n in names],
                )
            for field, old, value in changes:
                con.execute(
                    'INSERT INTO audit ("at", "by", kind, subject, field, old, new, why) '
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [at, by, KIND_OVERRIDE, customer_id, field, old, value, reason],
                )
            return True

    def override(self, customer_id: str) -> dict[str, Any] | None:
        """The override in force for one customer (:data:`OVERRIDES_SCHEMA`'s columns), or
        None."""
        with self._lock, self._connect() as con:
            rows = _override_rows(con, customer_id)
        return rows[0] if rows else None

    def overrides(self) -> pa.Table:
        """Every override in force, as :data:`OVERRIDES_SCHEMA`, sorted by customer_id."""
        with self._lock, self._connect() as con:
            return _overrides_table(con)

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

        ``seen`` is the :meth:`version` of the pair (subject :func:`pair_subject`) the decision was
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
                "SELECT left_id, right_id, decision, decided_by, decided_at, "
                "CAST(NULL AS VARCHAR) AS decided_at_as_written "
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

    Columns :data:`OVERRIDES_SCHEMA` (``customer_id, value_class, tier, reason, by, at``
    and each field's own reason, author and time), one row per overridden customer,
    sorted; empty when no override was made. A file written before the fields had their
    own reason reads the row's reason, author and time for each field it overrides.

    Example
    -------
    >>> import tempfile
    >>> read_overrides(tempfile.mkdtemp()).column_names[:6]
    ['customer_id', 'value_class', 'tier', 'reason', 'by', 'at']
    """
    con = _open_read_only(out_dir)
    if con is None:
        return OVERRIDES_SCHEMA.empty_table()
    try:
        return _overrides_table(con)
    finally:
        con.close()


def read_review_decisions(out_dir: str | Path) -> pa.Table:
    """The duplicate-review decisions made in the dashboard, in the decisions format.

    Columns ``left_id, right_id, decision, decided_by, decided_at`` and an empty
    ``decided_at_as_written`` (:data:`tierwise.accounts.review.DECISIONS_SCHEMA`), ready
    for the accounts stage's ``decisions`` (write it as a CSV named in ``[accounts]
    decisions_file``, or pass it).

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
            "SELECT left_id, right_id, decision, decided_by, decided_at, "
            "CAST(NULL AS VARCHAR) AS decided_at_as_written "
            "FROM review_decisions ORDER BY left_id, right_id"
        ).to_arrow_table()
    finally:
        con.close()
    return t.cast(DECISIONS_SCHEMA)
