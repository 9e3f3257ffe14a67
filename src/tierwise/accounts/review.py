"""The review queue of uncertain pairs, and the decisions people store about pairs.

A pair whose match probability falls in the review band (``review_lower`` ≤ p <
``review_upper``) is shown with its evidence: both records' fields, the comparison level
each field reached and the match weight. A person fills in ``decision`` (confirm or
reject), ``decided_by`` and ``decided_at``; the filled-in queue *is* a decisions table, and
on the next run confirmed pairs are forced into one account and rejected pairs kept apart.
Decided pairs do not come back to the queue.

The decisions table: ``left_id``, ``right_id``, ``decision``, ``decided_by``,
``decided_at`` and ``decided_at_as_written`` (the text of a ``decided_at`` that could not
be read, kept for the next run). The order of ``left_id``/``right_id`` does not matter;
the latest decision on a pair wins. An id the queue's CSV wrote with an apostrophe before
it (one that starts like a spreadsheet formula, ``=A1``) is read back without it, and so is
one saved with Excel's "keep as text" apostrophe (``'00123``), as the inputs' ids are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError, Problems
from ..io.outputs import restore_formulas, text_apostrophe_note, without_text_apostrophe
from ..io.when import read_when

__all__ = [
    "AS_WRITTEN",
    "DECISIONS_SCHEMA",
    "clean_decisions",
    "empty_decisions",
    "review_queue",
]

#: The column of a decisions table that keeps a ``decided_at`` which could not be read as it
#: was written (empty where the date was read), so that a review_decisions.csv carried from
#: run to run keeps the reviewer's text.
AS_WRITTEN = "decided_at_as_written"

#: Columns of a stored decisions table.
DECISIONS_SCHEMA = pa.schema(
    [
        ("left_id", pa.string()),
        ("right_id", pa.string()),
        ("decision", pa.string()),
        ("decided_by", pa.string()),
        ("decided_at", pa.timestamp("us")),
        (AS_WRITTEN, pa.string()),
    ]
)

_CONFIRM = {"confirm", "confirmed", "yes", "y", "match", "same", "merge", "1", "true"}
_REJECT = {"reject", "rejected", "no", "n", "different", "split", "distinct", "0", "false"}


def empty_decisions() -> pa.Table:
    """A decisions table with no rows."""
    return DECISIONS_SCHEMA.empty_table()


def _ordered(left: pa.Array, right: pa.Array) -> tuple[pa.Array, pa.Array]:
    swap = pc.greater(left, right)
    return pc.if_else(swap, right, left), pc.if_else(swap, left, right)


def clean_decisions(
    decisions: pa.Table,
    *,
    source: str | None = None,
    known_ids: pa.Array | pa.ChunkedArray | None = None,
    notes: list[str] | None = None,
) -> pa.Table:
    """Check and tidy a decisions table read from a file (or a filled-in review queue).

    Rows without a decision are dropped (an unreviewed queue row). Decisions are read
    forgivingly (confirm/confirmed/yes/match/same → ``confirm``; reject/no/different →
    ``reject``). An id written with an apostrophe before a leading ``=``, ``+``, ``-``,
    ``@``, tab or carriage return (as every CSV of the output folder writes such text) is
    read without it, and so is one with Excel's text apostrophe (``'00123``, with a
    note). ``decided_at`` is read in ISO and the common local forms
    (:func:`tierwise.io.when.read_when`); a value that still cannot be read leaves the
    decision undated (older than any dated decision on the same pair) with a note, and
    :data:`AS_WRITTEN` keeps the text as written (read again, where ``decided_at`` is
    empty, by the run that reads the table back). With
    ``known_ids``, a decision naming an id no record has is left out with a note: it is
    neither applied nor carried forward. Each pair is stored ``left_id < right_id``; the
    latest ``decided_at`` (then the last row) wins.

    Parameters
    ----------
    decisions
        At least ``left_id``, ``right_id``, ``decision``; ``decided_by``, ``decided_at``
        (timestamp or text) and :data:`AS_WRITTEN` are optional; ``_file`` and ``_row``
        (where each row was read) name the place in messages.
    source
        File name for messages about rows without ``_file``.
    known_ids
        Every customer record's id; decisions naming others are left out.
    notes
        Where the notes (one line each) are appended; without it they are dropped.

    Raises
    ------
    InputError
        One per row with an unknown decision or a missing id (all reported together).

    Example
    -------
    >>> import pyarrow as pa
    >>> d = pa.table({"left_id": ["b"], "right_id": ["a"], "decision": ["Yes"]})
    >>> clean_decisions(d).to_pylist()[0]["decision"], clean_decisions(d)["left_id"][0].as_py()
    ('confirm', 'a')
    """
    missing = [c for c in ("left_id", "right_id", "decision") if c not in decisions.column_names]
    if missing:
        raise InputError(
            f"decisions need columns left_id, right_id, decision; missing {', '.join(missing)}",
            file=source,
            hint="fill in the review queue's decision column and pass it back",
        )
    n = decisions.num_rows

    def text(name: str) -> pa.Array:
        if name not in decisions.column_names:
            return pa.nulls(n, pa.string())
        col = decisions[name].combine_chunks().cast(pa.string())
        col = pc.utf8_trim_whitespace(col)
        return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)

    files = text("_file")
    rows = (
        decisions["_row"].combine_chunks().cast(pa.int64())
        if "_row" in decisions.column_names
        else pa.nulls(n, pa.int64())
    )

    def where(i: int) -> tuple[str | None, int]:
        row = rows[i].as_py()
        file = files[i].as_py() or source
        if row is None:
            row = i + 2 if file else i + 1
        return file, row

    # an id the queue's CSV wrote with its formula guard ('=A1) reads back as written; one
    # saved with Excel's text apostrophe ('00123) is the id 00123, as in the inputs
    guarded_left, guarded_right = (
        restore_formulas(text("left_id")),
        restore_formulas(text("right_id")),
    )
    left, n_left = without_text_apostrophe(guarded_left)
    right, n_right = without_text_apostrophe(guarded_right)
    if n_left + n_right and notes is not None:
        # one note per file, with its ids that lost one, in the order the files came
        lost = pc.add(
            pc.cast(pc.fill_null(pc.not_equal(left, guarded_left), False), pa.int64()),
            pc.cast(pc.fill_null(pc.not_equal(right, guarded_right), False), pa.int64()),
        ).to_numpy(zero_copy_only=False)
        named = pc.fill_null(files, source or "the review decisions").to_pylist()
        per_file: dict[str, int] = {}
        for file, k in zip(named, lost.tolist(), strict=True):
            if k:
                per_file[file] = per_file.get(file, 0) + k
        notes += [text_apostrophe_note(file, k) for file, k in per_file.items()]
    raw = text("decision")
    decided_by = text("decided_by")
    # where decided_at is empty, the text an earlier run could not read is read again
    carried = restore_formulas(text(AS_WRITTEN))
    no_text = pa.nulls(n, pa.string())
    if "decided_at" in decisions.column_names and pa.types.is_timestamp(
        decisions.schema.field("decided_at").type
    ):
        stamped = decisions["decided_at"].combine_chunks().cast(pa.timestamp("us"))
        typed = pc.if_else(pc.is_null(stamped), carried, no_text)
        read_at, unread = _read_decided_at(typed)
        at = pc.coalesce(stamped, read_at)
        from_carried = pc.is_valid(typed)
    else:
        written = text("decided_at")
        typed = pc.coalesce(written, carried)
        at, unread = _read_decided_at(typed)
        from_carried = pc.and_(pc.is_null(written), pc.is_valid(carried))
    as_written = pc.if_else(pc.is_null(at), typed, no_text) if unread else no_text
    for i, (value, why) in unread:
        if pc.is_valid(raw[i]).as_py() and notes is not None:
            file, row = where(i)
            if from_carried[i].as_py():
                said, column = f"{AS_WRITTEN} {value!r}, carried from an earlier run,", AS_WRITTEN
            else:
                said, column = f"decided_at {value!r}", "decided_at"
            notes.append(
                InputError(
                    f"{said} is {why}; the decision is applied undated (a dated decision on "
                    "the same pair wins)",
                    file=file,
                    row=row,
                    column=column,
                    hint="write the date in decided_at as 2026-01-05 09:30",
                ).one_line()
            )

    lowered = pc.utf8_lower(raw)
    decision = pc.if_else(
        pc.is_in(lowered, pa.array(sorted(_CONFIRM))),
        pa.scalar("confirm"),
        pc.if_else(
            pc.is_in(lowered, pa.array(sorted(_REJECT))),
            pa.scalar("reject"),
            pa.scalar(None, pa.string()),
        ),
    )
    problems: list[InputError] = []
    bad = pc.and_(pc.is_valid(raw), pc.is_null(decision)).to_pylist()
    no_id = pc.and_(pc.is_valid(raw), pc.or_(pc.is_null(left), pc.is_null(right))).to_pylist()
    values = raw.to_pylist()
    for i in range(n):  # only rows in error are looked at one by one
        if bad[i]:
            problems.append(
                InputError(
                    f"unknown decision {values[i]!r}",
                    file=where(i)[0],
                    row=where(i)[1],
                    column="decision",
                    hint="use confirm or reject",
                )
            )
        elif no_id[i]:
            problems.append(
                InputError("a decision without both ids", file=where(i)[0], row=where(i)[1])
            )
    Problems.raise_if_any(problems)

    decided = pc.is_valid(decision)
    if known_ids is not None:
        ids = known_ids.combine_chunks() if isinstance(known_ids, pa.ChunkedArray) else known_ids
        ids = ids.cast(pa.string())
        unknown = pc.and_(
            decided,
            pc.or_(
                pc.invert(pc.is_in(left, value_set=ids)),
                pc.invert(pc.is_in(right, value_set=ids)),
            ),
        )
        # a decision naming a record this run does not have joins or splits nothing; it is
        # kept (in review_decisions.csv too) for a run whose records include it again
        if notes is not None:
            _note_unknown_ids(notes, unknown, left, right, ids, where)

    if notes is not None:
        # a pair of one record with itself joins or splits nothing: said, then left out
        alone = pc.and_(decided, pc.equal(left, right)).to_pylist()
        for i in (i for i in range(n) if alone[i]):
            notes.append(
                InputError(
                    f"the decision pairs {left[i].as_py()!r} with itself; it is left out",
                    file=where(i)[0],
                    row=where(i)[1],
                    column="right_id",
                    hint="give the two records of the pair in left_id and right_id",
                ).one_line()
            )

    lo, hi = _ordered(left, right)
    t = pa.table(
        {
            "left_id": lo,
            "right_id": hi,
            "decision": decision,
            "decided_by": decided_by,
            "decided_at": at,
            AS_WRITTEN: as_written,
            "_order": pa.array(range(n), pa.int64()),
        }
    )
    t = t.filter(pc.and_(decided, pc.not_equal(t["left_id"], t["right_id"])))
    # the latest decision per pair (undated rows count as oldest, then file order)
    order = pc.sort_indices(
        t,
        sort_keys=[("decided_at", "ascending", "at_start"), ("_order", "ascending", "at_start")],
    )
    t = t.take(order)
    t = t.append_column("_pos", pa.array(range(t.num_rows), pa.int64()))
    last = t.group_by(["left_id", "right_id"], use_threads=False).aggregate([("_pos", "max")])
    t = t.take(last["_pos_max"])
    t = t.sort_by([("left_id", "ascending"), ("right_id", "ascending")])
    return t.select(DECISIONS_SCHEMA.names).cast(DECISIONS_SCHEMA)


#: How many decisions naming an unknown id are listed one by one before a count.
_SHOWN = 5


def _read_decided_at(values: pa.Array) -> tuple[pa.Array, list[tuple[int, tuple[str, str]]]]:
    """``decided_at`` text as timestamps, and the rows whose text could not be read (index,
    (text, why)); each distinct text is read once."""
    uniq = pc.unique(values.drop_null())
    read: dict[str, dt.datetime | None] = {}
    why: dict[str, str] = {}
    for v in uniq.to_pylist():  # distinct dates people typed: a short list
        value, problem = read_when(v)
        read[v] = value
        if problem:
            why[v] = problem
    keys = uniq
    stamps = pa.array([read[k] for k in keys.to_pylist()], pa.timestamp("us"))
    at = stamps.take(pc.index_in(values, value_set=keys))
    unread: list[tuple[int, tuple[str, str]]] = []
    if why:
        bad = pc.is_in(values, value_set=pa.array(sorted(why), pa.string()))
        for i in np.flatnonzero(pc.fill_null(bad, False).to_numpy(zero_copy_only=False)):
            v = values[int(i)].as_py()
            unread.append((int(i), (v, why[v])))
    return at, unread


def _note_unknown_ids(
    notes: list[str],
    unknown: pa.Array,
    left: pa.Array,
    right: pa.Array,
    ids: pa.Array,
    where: Callable[[int], tuple[str | None, int]],
) -> None:
    """One note per decision naming an id no record has (the first few, then a count)."""
    rows = np.flatnonzero(pc.fill_null(unknown, False).to_numpy(zero_copy_only=False))
    for i in rows[:_SHOWN]:  # only the decisions in error, the first few
        i = int(i)
        pair = [left[i].as_py(), right[i].as_py()]
        bad = [x for x in pair if not pc.is_in(pa.array([x]), value_set=ids)[0].as_py()]
        file, row = where(i)
        notes.append(
            InputError(
                f"no customer record has the id {' or '.join(repr(x) for x in bad)}; the "
                f"decision on {pair[0]}/{pair[1]} applies to nothing in this run (it is kept in "
                "review_decisions.csv)",
                file=file,
                row=row,
                column="left_id" if bad[0] == pair[0] else "right_id",
                hint="correct the id to one of customers.csv if it is mistyped",
            ).one_line()
        )
    if len(rows) > _SHOWN:
        notes.append(
            f"{len(rows) - _SHOWN:,} more review decisions name an id no customer record has; "
            "they apply to nothing in this run (they are kept in review_decisions.csv)"
        )


def review_queue(
    pairs: pa.Table,
    levels: dict[str, dict[int, str]],
    *,
    lower: float,
    upper: float,
    decisions: pa.Table | None = None,
) -> pa.Table:
    """Pairs a person should look at, with the evidence, most uncertain first.

    Parameters
    ----------
    pairs
        Scored pairs from :func:`tierwise.accounts.linkage.predict_pairs`. Optional
        columns: ``held_back`` (the name guard kept the pair apart: shown whenever its
        probability reaches ``lower``), ``review`` (shown whatever its probability, e.g.
        by the deterministic rules) and ``reason`` (why the pair is shown).
    levels
        Per comparison, level index → label (``Predictions.levels``).
    lower, upper
        The review band: ``lower <= match_probability < upper``.
    decisions
        Stored decisions (from :func:`clean_decisions`); pairs already decided are left out.

    Returns
    -------
    ``left_id``, ``right_id``, ``match_probability``, ``match_weight``, ``reason`` (when
    ``pairs`` has it), then for each compared field ``<field>_l``, ``<field>_r`` (in the
    order of ``pairs``), then ``level_<comparison>`` (the level label, e.g. "Exact match on
    name_core"), then empty ``decision``, ``decided_by``, ``decided_at`` for the reviewer;
    sorted by closeness of the probability to 0.5 (pairs without one last), then ids.

    Example
    -------
    >>> import pyarrow as pa
    >>> p = pa.table({"left_id": ["1"], "right_id": ["2"], "match_weight": [0.1],
    ...               "match_probability": [0.52], "gamma_name": [2],
    ...               "name_core_l": ["acme"], "name_core_r": ["acme"]})
    >>> q = review_queue(p, {"name": {2: "Exact match on name_core"}}, lower=0.5, upper=0.9)
    >>> q.column("level_name").to_pylist()
    ['Exact match on name_core']
    """
    prob = pairs["match_probability"]
    show = pc.fill_null(pc.and_(pc.greater_equal(prob, lower), pc.less(prob, upper)), False)
    if "held_back" in pairs.column_names:
        held = pc.and_(pairs["held_back"], pc.greater_equal(prob, lower))
        show = pc.or_(show, pc.fill_null(held, False))
    if "review" in pairs.column_names:
        show = pc.or_(show, pc.fill_null(pairs["review"], False))
    q = pairs.filter(show)
    if decisions is not None and decisions.num_rows:
        lo, hi = _ordered(q["left_id"].combine_chunks(), q["right_id"].combine_chunks())
        key = pc.binary_join_element_wise(lo, hi, "\x1f")
        done = pc.binary_join_element_wise(decisions["left_id"], decisions["right_id"], "\x1f")
        q = q.filter(
            pc.invert(
                pc.is_in(
                    key,
                    value_set=done.combine_chunks() if isinstance(done, pa.ChunkedArray) else done,
                )
            )
        )
    fields = [
        c[:-2] for c in q.column_names if c.endswith("_l") and f"{c[:-2]}_r" in q.column_names
    ]
    cols: dict[str, Any] = {
        "left_id": q["left_id"],
        "right_id": q["right_id"],
        "match_probability": q["match_probability"],
        "match_weight": q["match_weight"],
    }
    if "reason" in q.column_names:
        cols["reason"] = q["reason"]
    for f in fields:
        cols[f"{f}_l"] = q[f"{f}_l"]
        cols[f"{f}_r"] = q[f"{f}_r"]
    for comp, labels in levels.items():
        g = f"gamma_{comp}"
        if g not in q.column_names:
            continue
        keys = sorted(labels)
        idx = pc.index_in(q[g].cast(pa.int64()), value_set=pa.array(keys, pa.int64()))
        cols[f"level_{comp}"] = pa.array([labels[k] for k in keys], pa.string()).take(idx)
    n = q.num_rows
    cols["decision"] = pa.nulls(n, pa.string())
    cols["decided_by"] = pa.nulls(n, pa.string())
    cols["decided_at"] = pa.nulls(n, pa.timestamp("us"))
    out = pa.table(cols)
    closeness = pc.abs(pc.subtract(out["match_probability"], 0.5))
    out = out.append_column("_c", closeness).sort_by(
        [("_c", "ascending"), ("left_id", "ascending"), ("right_id", "ascending")]
    )
    return out.drop_columns(["_c"])
