"""Blocking keys that stay small: too-large blocks are told apart further, automatically.

A blocking rule compares the records that agree exactly on its columns. The pairs a key
value generates grow with the square of the records sharing it: 1,000 "Ashworth Ltd"s in a
million-record master make half a million pairs from one name, and a big company's e-mail
domain can make millions. So each rule's key is built in the engine and every key value
held by more than ``max_block_records`` records is *refined*: the next column of
``block_refinements`` (city, postcode start, name start, house number) is appended to the
key of those records only, and their block splits into smaller ones; small blocks keep the
rule as written. A value still too common after the last refinement is not blocked on by
that rule (its term frequency is capped): the other rules still find its pairs.

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

from ..engine import Engine
from ..errors import SettingsError
from ..settings.accounts import AccountSettings

__all__ = ["BlockingPlan", "plan_blocking"]

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
    """

    rules: tuple[tuple[str, ...], ...]
    keys: tuple[str, ...]
    pairs: tuple[int, ...]
    block_cap: int
    budget: int
    tightened: tuple[dict[str, Any], ...] = field(default_factory=tuple)

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


def _block_sizes(t: ir.Table, key: str, size: str) -> ir.Table:
    """``t`` with ``size``: records holding the same (non-NULL) value of ``key``."""
    w = ibis.window(group_by=t[key])
    return t.mutate(**{size: t[key].count().over(w)})


def _summary(engine: Engine, t: ir.Table, keys: Sequence[str], cap: int) -> list[dict[str, int]]:
    """Per key: largest block, pairs (Σ n(n-1)/2 over values) and records in blocks > cap."""
    aggs: dict[str, ir.Value] = {}
    for i, k in enumerate(keys):
        c = t[f"{k}_n"]
        aggs[f"max{i}"] = c.max()
        aggs[f"pairs{i}"] = ibis.ifelse(c > 1, c - 1, 0).cast("int64").sum()
        aggs[f"big{i}"] = ibis.ifelse(c > cap, 1, 0).cast("int64").sum()
    row = engine.to_arrow(t.aggregate(**aggs), "blocking key sizes").to_pylist()[0]
    return [
        {
            "max": int(row[f"max{i}"] or 0),
            # Σ over records of (n - 1) is Σ over values of n(n - 1): twice the pairs
            "pairs": int(row[f"pairs{i}"] or 0) // 2,
            "big_records": int(row[f"big{i}"] or 0),
        }
        for i in range(len(keys))
    ]


def _refine(
    engine: Engine,
    t: ir.Table,
    i: int,
    refinements: Sequence[str],
    cap: int,
) -> ir.Table:
    """Refine the key of rule ``i`` where its blocks exceed ``cap``; drop what stays too big.

    Each record's ``block_key_<i>_lvl`` counts the refinement columns its key carries, so a
    lower cap later refines further from where the last one stopped. Returns the table
    (materialised when anything changed; the tables of the levels in between are released).
    """
    key, size, lvl = f"block_key_{i}", f"block_key_{i}_n", f"block_key_{i}_lvl"
    start = t
    for level, col in enumerate(refinements, start=1):
        due = (t[size] > cap) & (t[lvl] == level - 1)
        if not engine.scalar(due.any(), "large blocks"):
            continue
        part = ibis.coalesce(t[col].cast("string"), "")
        refined = t.mutate(
            **{
                key: ibis.ifelse(due, t[key] + _SEP + part, t[key]),
                lvl: ibis.ifelse(due, level, t[lvl]),
            }
        )
        refined = engine.materialize(_block_sizes(refined, key, size))
        if t is not start:
            engine.release(t)
        t = refined
    if engine.scalar((t[size] > cap).any(), "large blocks"):
        # still too common after every refinement: left to the other rules
        dropped = t.mutate(
            **{
                key: ibis.ifelse(t[size] > cap, ibis.null(str), t[key]),
                size: ibis.ifelse(t[size] > cap, 0, t[size]),
            }
        )
        dropped = engine.materialize(dropped)
        if t is not start:
            engine.release(t)
        t = dropped
    return t


def _reports(
    engine: Engine,
    t: ir.Table,
    rules: Sequence[Sequence[str]],
    refinements: Sequence[Sequence[str]],
    touched: Sequence[int],
) -> list[dict[str, Any]]:
    """What was tightened, per rule touched: from each record's original key and level."""
    out = []
    for i in touched:
        key, orig, lvl = f"block_key_{i}", f"block_key_{i}_orig", f"block_key_{i}_lvl"
        refined = t.filter(t[lvl] > 0)
        dropped = t.filter(t[key].isnull() & t[orig].notnull())
        row = engine.to_arrow(
            refined.aggregate(
                values=refined[orig].nunique(), records=refined.count(), depth=refined[lvl].max()
            ).cross_join(
                dropped.aggregate(d_values=dropped[orig].nunique(), d_records=dropped.count())
            ),
            "tightened blocks",
        ).to_pylist()[0]
        out.append(
            {
                "rule": list(rules[i]),
                "values_refined": int(row["values"] or 0),
                "records_refined": int(row["records"] or 0),
                "refined_by": list(refinements[i][: int(row["depth"] or 0)]),
                "values_dropped": int(row["d_values"] or 0),
                "records_dropped": int(row["d_records"] or 0),
            }
        )
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
    # the keys are worked out on a narrow table: the id, the rules' and refinements' columns
    needed = list(
        dict.fromkeys(
            c
            for c in [*(c for r in rules for c in r), *settings.block_refinements]
            if c in table.columns
        )
    )
    narrow = table.select(uid, *needed)
    narrow = narrow.mutate(
        **{k: _key(narrow, r) for k, r in zip(keys, rules, strict=True)},
        **{f"{k}_lvl": ibis.literal(0) for k in keys},
    )
    narrow = narrow.mutate(**{f"{k}_orig": narrow[k] for k in keys})
    for k in keys:
        narrow = _block_sizes(narrow, k, f"{k}_n")
    t = engine.materialize(narrow)

    # lower the cap until the pairs fit the budget, refining further each time
    cap = settings.max_block_records
    touched: set[int] = set()
    while True:
        stats = _summary(engine, t, keys, cap)
        big = [i for i in range(len(rules)) if stats[i]["max"] > cap]
        for i in big:
            before = t
            t = _refine(engine, t, i, refinements[i], cap)
            if t is not before:
                engine.release(before)
            touched.add(i)
        if big:
            stats = _summary(engine, t, keys, cap)
        total = sum(s["pairs"] for s in stats)
        if total <= budget:
            break
        if cap <= 2:
            engine.release(t)
            raise SettingsError(
                f"even with blocks of two records the blocking rules would compare "
                f"{total:,} record pairs, more than the budget of {budget:,}; raise "
                "[accounts] max_pairs_per_record or use fewer blocking_rules"
            )
        cap = max(2, cap // 2)
    tightened = _reports(engine, t, rules, refinements, sorted(touched))
    keyed = engine.materialize(table.join(t.select(uid, *keys), uid).order_by(uid))
    engine.release(t)
    plan = BlockingPlan(
        rules=tuple(tuple(r) for r in rules),
        keys=tuple(keys),
        pairs=tuple(s["pairs"] for s in stats),
        block_cap=cap,
        budget=budget,
        tightened=tuple(r for r in tightened if r["values_refined"] or r["values_dropped"]),
    )
    return keyed, plan
