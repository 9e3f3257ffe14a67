"""Blocking keys that stay small: too-large blocks are told apart further, automatically.

A blocking rule compares the records that agree exactly on its columns. The pairs a key
value generates grow with the square of the records sharing it: 1,000 "Ashworth Ltd"s in a
million-record master make half a million pairs from one name, and a big company's e-mail
domain can make millions. So each rule's key is built in the engine, the keys of the
customer records are brought over once, and every key value held by more than
``max_block_records`` records is *refined*: the next column of ``block_refinements``
(city, postcode start, name start, house number) is appended to the key of those records
only, and their block splits into smaller ones; small blocks keep the rule as written. A
value still too common after the last refinement is not blocked on by that rule (its term
frequency is capped): the other rules still find its pairs. The block sizes are counted
over the records with NumPy (a number per distinct key), as often as the search needs.

When the rules would still compare more pairs than the run's budget
(``max_pairs_per_record`` × records, at most ``max_blocked_pairs``), the block cap is
halved for this run, and halved again, each time refining further from where the last
one stopped, until they fit. What was tightened is reported in
the manifest, so a user with a million-record master never has to tune blocking rules.

The key of rule *i* is the text of its columns joined by a separator (NULL when a column is
NULL), in the column ``block_key_<i>``; a blocking rule on that one column is the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import Engine
from ..errors import SettingsError
from ..settings.accounts import AccountSettings

__all__ = ["BlockingPlan", "distinct_pairs", "plan_blocking"]

#: Joins the columns of a key (a control character: normalised text never holds it).
_SEP = "\x1f"


@dataclass(frozen=True)
class BlockingPlan:
    """The blocking keys of one run and what was done to keep their blocks small.

    Attributes
    ----------
    rules
        The blocking rules as written (their columns).
    keys
        The key column of each rule in the keyed table (``block_key_<i>``).
    pairs
        Record pairs each rule generates after tightening (a pair two rules both find is
        counted for each).
    block_cap
        Most records a key value may hold in this run (``max_block_records``, or less when
        the budget called for it).
    budget
        Most candidate pairs this run compares.
    tightened
        Per rule that had blocks too large: the rule, the key values refined and the
        records in them, the columns appended, and the values (records) left out because
        they stayed too common.
    distinct_pairs
        Distinct record pairs the keys generate: a pair sharing several keys counts once
        (what Splink compares for these blocking rules when deduplicating).
    """

    rules: tuple[tuple[str, ...], ...]
    keys: tuple[str, ...]
    pairs: tuple[int, ...]
    block_cap: int
    budget: int
    tightened: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    distinct_pairs: int = 0

    @property
    def n_pairs(self) -> int:
        """Pairs generated over all rules (an upper bound on the distinct pairs)."""
        return int(sum(self.pairs))

    def manifest(self) -> dict[str, Any]:
        """The plan for the manifest's accounts block."""
        return {
            "block_cap": self.block_cap,
            "pair_budget": self.budget,
            "pairs_per_rule": [
                {"rule": list(r), "pairs": p} for r, p in zip(self.rules, self.pairs, strict=True)
            ],
            "tightened": list(self.tightened),
        }

    def notes(self) -> list[str]:
        """One sentence per tightened rule, for people."""
        out = []
        for t in self.tightened:
            rule = " + ".join(t["rule"])
            text = (
                f"blocking on {rule}: {t['values_refined']:,} values shared by more than "
                f"{self.block_cap:,} records ({t['records_refined']:,} records) split further "
                f"by {', '.join(t['refined_by'])}"
            )
            if t["values_dropped"]:
                text += (
                    f"; {t['values_dropped']:,} values still that common "
                    f"({t['records_dropped']:,} records) left to the other rules"
                )
            out.append(text)
        return out


def _key(t: ir.Table, cols: Sequence[str]) -> ir.StringValue:
    """The rule's key: its columns' text joined, NULL when any column is NULL."""
    expr: ir.StringValue = t[cols[0]].cast("string")
    for c in cols[1:]:
        expr = expr + _SEP + t[c].cast("string")
    return expr


def _codes(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """One integer per record for its text (equal text, equal number; NULL is -1)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    indices = pc.dictionary_encode(values).indices
    return pc.fill_null(indices.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)


def _sizes(code: np.ndarray) -> np.ndarray:
    """Records holding the same key as each record (0 for a NULL key)."""
    held = code >= 0
    if not held.any():
        return np.zeros(code.size, np.int64)
    counts = np.bincount(code[held])
    return np.where(held, counts[np.maximum(code, 0)], 0)


def distinct_pairs(codes: Sequence[np.ndarray]) -> int:
    """Distinct record pairs sharing at least one key.

    ``codes`` holds one array per key, one integer per record (equal key, equal integer;
    -1 for NULL, which pairs with nothing). The pairs of the union of the keys are counted
    by inclusion and exclusion: the pairs within each key's blocks, minus those within the
    blocks of every two keys together, plus every three, and so on. A set of keys whose
    records share no block pairs nothing, nor does any larger set holding it, so only the
    sets with shared blocks are visited, one at a time, each on the records still in a block
    of two or more: the memory is a few integers per record, whatever the count of pairs.

    Example
    -------
    >>> import numpy as np
    >>> distinct_pairs([np.array([0, 0, 1, 1]), np.array([5, 5, 5, -1])])
    4
    """
    total = 0
    n_keys = len(codes)

    def blocked(code: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        # the records in a block of two or more, their block numbers and the block's pairs
        _, dense, sizes = np.unique(code, return_inverse=True, return_counts=True)
        kept = sizes[dense] >= 2
        pairs = int((sizes * (sizes - 1) // 2).sum())
        return rows[kept], dense[kept].astype(np.int64), pairs

    def visit(rows: np.ndarray, block: np.ndarray, last: int, sign: int) -> None:
        nonlocal total
        for j in range(last + 1, n_keys):
            other = np.asarray(codes[j])[rows]
            held = other >= 0
            if np.count_nonzero(held) < 2:
                continue
            joint = block[held] * (int(other[held].max()) + 1) + other[held]
            sub_rows, sub_block, pairs = blocked(joint, rows[held])
            if pairs:
                total += sign * pairs
                visit(sub_rows, sub_block, j, -sign)

    for i, code in enumerate(codes):
        code = np.asarray(code)
        rows = np.flatnonzero(code >= 0)
        if rows.size < 2:
            continue
        key_rows, key_block, pairs = blocked(code[rows], rows)
        if pairs:
            total += pairs
            visit(key_rows, key_block, i, -1)
    return total


def _summary(sizes: Sequence[np.ndarray], cap: int) -> list[dict[str, int]]:
    """Per key: largest block, pairs (Σ n(n-1)/2 over values) and records in blocks > cap."""
    return [
        {
            "max": int(n.max(initial=0)),
            # Σ over records of (n - 1) is Σ over values of n(n - 1): twice the pairs
            "pairs": int(np.maximum(n - 1, 0).sum()) // 2,
            "big_records": int((n > cap).sum()),
        }
        for n in sizes
    ]


@dataclass
class _Rule:
    """One rule's keys while the plan is worked out: a number per distinct key (-1 for no
    key), the block size of each record, and how many refinement columns its key carries."""

    orig: np.ndarray
    code: np.ndarray
    size: np.ndarray
    lvl: np.ndarray
    refinements: list[np.ndarray]

    def refine(self, cap: int) -> None:
        """Refine the key where its blocks exceed ``cap``; drop what stays too big.

        A record refined at level *k* carries the first *k* refinement columns in its key,
        so a lower cap later refines further from where the last one stopped.
        """
        for level, ref in enumerate(self.refinements, start=1):
            due = (self.size > cap) & (self.lvl == level - 1)
            if not due.any():
                continue
            # the key (its number) and, for the records refined, the column's text (its
            # number + 1; 0 for the rest): a key of level k never equals one of another level
            pair = self.code * (int(ref.max(initial=0)) + 2) + np.where(due, ref + 1, 0)
            held = self.code >= 0
            code = np.full(self.code.size, -1, np.int64)
            code[held] = np.unique(pair[held], return_inverse=True)[1]
            self.code = code
            self.lvl = np.where(due, level, self.lvl)
            self.size = _sizes(self.code)
        big = self.size > cap
        if big.any():
            # still too common after every refinement: left to the other rules
            self.code = np.where(big, -1, self.code)
            self.size = np.where(big, 0, self.size)

    def report(self, rule: Sequence[str], refined_by: Sequence[str]) -> dict[str, Any]:
        """What was tightened: from each record's original key and level."""
        refined = self.lvl > 0
        dropped = (self.code < 0) & (self.orig >= 0)
        depth = int(self.lvl.max(initial=0))
        return {
            "rule": list(rule),
            "values_refined": int(np.unique(self.orig[refined]).size),
            "records_refined": int(refined.sum()),
            "refined_by": list(refined_by[:depth]),
            "values_dropped": int(np.unique(self.orig[dropped]).size),
            "records_dropped": int(dropped.sum()),
        }

    def text(self, orig: pa.Array, refinements: Sequence[pa.Array]) -> pa.Array:
        """The key's text: the rule's, then ``_SEP`` and each refinement column carried;
        NULL where the key was dropped."""
        out = orig
        for level, ref in enumerate(refinements, start=1):
            carried = self.lvl >= level
            if not carried.any():
                break
            joined = pc.binary_join_element_wise(out, ref, _SEP)
            out = pc.if_else(pa.array(carried), joined, out)
        dropped = (self.code < 0) & (self.orig >= 0)
        if dropped.any():
            out = pc.if_else(pa.array(dropped), pa.nulls(len(out), pa.string()), out)
        return out


def plan_blocking(
    table: ir.Table,
    settings: AccountSettings,
    *,
    engine: Engine,
    rules: Sequence[Sequence[str]] | None = None,
    pairs_per_record: float | None = None,
    uid: str = "customer_id",
) -> tuple[ir.Table, BlockingPlan]:
    """Build each blocking rule's key, refining blocks that are too large.

    Parameters
    ----------
    table
        The normalised customer records (one row per record; the rule and refinement
        columns of :func:`tierwise.accounts.normalise_customers`).
    settings
        ``[accounts]``: ``blocking_rules``, ``max_block_records``, ``block_refinements``,
        ``max_pairs_per_record``, ``max_blocked_pairs``.
    engine
        The engine holding ``table``.
    rules
        The rules to key (default ``settings.blocking_rules``).
    pairs_per_record
        The budget of pairs per record (default ``settings.max_pairs_per_record``).
    uid
        The record id column.

    Returns
    -------
    keyed
        ``table`` with ``block_key_<i>`` per rule, materialised in ``uid`` order.
    plan
        The keys, pairs per rule and what was tightened.

    Raises
    ------
    SettingsError
        Even blocks of two records would compare more pairs than the budget (a budget
        below about half a pair per record and rule).

    Example
    -------
    >>> import pyarrow as pa
    >>> from tierwise.engine import Engine
    >>> from tierwise.settings import AccountSettings
    >>> eng = Engine()
    >>> t = eng.from_arrow(pa.table({"customer_id": ["1", "2", "3"],
    ...                              "name_core": ["acme", "acme", "beta"]}))
    >>> keyed, plan = plan_blocking(t, AccountSettings(), engine=eng, rules=[["name_core"]])
    >>> plan.pairs, plan.tightened
    ((1,), ())
    """
    rules = [list(r) for r in (rules if rules is not None else settings.blocking_rules)]
    keys = [f"block_key_{i}" for i in range(len(rules))]
    refinements = [
        [c for c in settings.block_refinements if c not in r and c in table.columns] for r in rules
    ]
    n = engine.count(table, "customer records")
    per_record = settings.max_pairs_per_record if pairs_per_record is None else pairs_per_record
    budget = int(min(per_record * n, settings.max_blocked_pairs))
    # the keys and the refinement columns' text are written in the engine, brought over
    # once (one row per customer record), and the blocks are sized and split here
    ref_cols = list(dict.fromkeys(c for r in refinements for c in r))
    narrow = table.select(
        uid,
        **{k: _key(table, r) for k, r in zip(keys, rules, strict=True)},
        **{f"_ref_{j}": ibis.coalesce(table[c].cast("string"), "") for j, c in enumerate(ref_cols)},
    )
    got = engine.to_arrow(narrow, "blocking keys")
    ref_text = {c: got[f"_ref_{j}"].combine_chunks() for j, c in enumerate(ref_cols)}
    ref_code = {c: _codes(ref_text[c]) for c in ref_cols}
    state = []
    for k, refs in zip(keys, refinements, strict=True):
        orig = _codes(got[k])
        state.append(
            _Rule(
                orig=orig,
                code=orig,
                size=_sizes(orig),
                lvl=np.zeros(orig.size, np.int64),
                refinements=[ref_code[c] for c in refs],
            )
        )

    # lower the cap until the pairs fit the budget, refining further each time
    cap = settings.max_block_records
    touched: set[int] = set()
    while True:
        stats = _summary([r.size for r in state], cap)
        big = [i for i in range(len(rules)) if stats[i]["max"] > cap]
        for i in big:
            state[i].refine(cap)
            touched.add(i)
        if big:
            stats = _summary([r.size for r in state], cap)
        total = sum(s["pairs"] for s in stats)
        if total <= budget:
            break
        if cap <= 2:
            raise SettingsError(
                f"even with blocks of two records the blocking rules would compare "
                f"{total:,} record pairs, more than the budget of {budget:,}; raise "
                "[accounts] max_pairs_per_record or use fewer blocking_rules"
            )
        cap = max(2, cap // 2)
    tightened = [state[i].report(rules[i], refinements[i]) for i in sorted(touched)]
    key_table = pa.table(
        {
            uid: got[uid],
            **{
                k: state[i].text(got[k].combine_chunks(), [ref_text[c] for c in refinements[i]])
                for i, k in enumerate(keys)
            },
        }
    )
    del got
    n_distinct = distinct_pairs([_codes(key_table[k]) for k in keys])
    key_t = engine.from_arrow(key_table)
    keyed = engine.materialize(table.join(key_t, uid).order_by(uid))
    engine.release(key_t)
    plan = BlockingPlan(
        rules=tuple(tuple(r) for r in rules),
        keys=tuple(keys),
        pairs=tuple(s["pairs"] for s in stats),
        block_cap=cap,
        budget=budget,
        tightened=tuple(r for r in tightened if r["values_refined"] or r["values_dropped"]),
        distinct_pairs=n_distinct,
    )
    return keyed, plan
