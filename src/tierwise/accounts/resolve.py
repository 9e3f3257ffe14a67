"""The accounts stage end to end: customer records in, accounts out.

How duplicates are looked for, in order:

1. **Not at all** when switched off (``[accounts] enabled = false``) or when no record
   carries anything to compare (no name, address, postcode, phone, e-mail or tax id): the
   summary says *could not look* and why.
2. **The Fellegi–Sunter model** (Splink, EM) when the master has at least
   ``min_records`` records and EM finds pairs to learn from; the name guard then keeps
   apart pairs whose names disagree (two businesses in one building), or of which a record
   has no name ("Cash customer", "N/A": what it shares with another says nothing).
3. **Deterministic rules** otherwise — a small master, or a clean one in which EM has no
   duplicates to learn from — so a small master is still checked, and *none found* means
   looked and found none. A master with names only (no street address, postcode, phone or
   tax id) is not merged at all: a name alone cannot tell a duplicate from a namesake, so
   the pairs with the same name go to the review queue.

Both run on the blocking keys of :func:`tierwise.accounts.blocking.plan_blocking`, which
tightens too-large blocks by itself. The accounts are the connected records, except that
the guards hold also across a chain of matches: when A~B and B~C would put A and C in one
account though their tax ids differ or their names plainly disagree, the account is
rebuilt from its strongest matches without joining them, and the match left out goes to
the review queue. Each record's ``merge_reason`` says which match put it in its account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import Engine
from ..errors import InputError, ModelError
from ..settings.accounts import BLOCKING_COLUMNS, AccountSettings
from .blocking import BlockingPlan, plan_blocking
from .linkage import COMPANY_COMPARISONS, TrainingError, company_spec, predict_pairs
from .names import typos_apart
from .normalise import normalise_customers
from .review import clean_decisions, empty_decisions, review_queue
from .rollup import account_table, cluster_pairs, group_accounts, merge_summary
from .rules import (
    HELD_BACK_NAMES,
    HELD_BACK_NO_NAME,
    HELD_BACK_TAX,
    NAME_BLOCKING,
    RULE_BLOCKING,
    RULES,
    candidate_pairs,
    guard_pairs,
    rule_pairs,
)

__all__ = ["REVIEW_QUEUE_SCHEMA", "AccountsResult", "resolve_accounts"]

#: Raw customer fields shown beside each other in the review queue.
EVIDENCE_FIELDS = (
    "name",
    "address",
    "postcode",
    "city",
    "country",
    "phone",
    "email",
    "tax_id",
    "employees",
)

#: The normalised columns the model and the rules compare.
_COMPARED = tuple(dict.fromkeys(c for cols in COMPANY_COMPARISONS.values() for c in cols))
_MATCH_COLUMNS = tuple(dict.fromkeys((*BLOCKING_COLUMNS, *_COMPARED)))
#: A record with none of these has nothing that could identify a duplicate.
_IDENTIFYING = ("name_core", "address_norm", "postcode_norm", "phone_norm", "tax_id_norm")


def _queue_schema() -> pa.Schema:
    fields: list[tuple[str, pa.DataType]] = [
        ("left_id", pa.string()),
        ("right_id", pa.string()),
        ("match_probability", pa.float64()),
        ("match_weight", pa.float64()),
        ("reason", pa.string()),
    ]
    for f in EVIDENCE_FIELDS:
        kind = pa.float64() if f == "employees" else pa.string()
        fields += [(f"{f}_l", kind), (f"{f}_r", kind)]
    for c in _COMPARED:
        kind = pa.float64() if c == "employees_norm" else pa.string()
        fields += [(f"{c}_l", kind), (f"{c}_r", kind)]
    fields += [(f"level_{comp}", pa.string()) for comp in COMPANY_COMPARISONS]
    fields += [
        ("decision", pa.string()),
        ("decided_by", pa.string()),
        ("decided_at", pa.timestamp("us")),
    ]
    return pa.schema(fields)


#: The review queue's columns, always all of them and in this order (NULL where a run has
#: no value), so the file people fill in and pass back looks the same in every run.
REVIEW_QUEUE_SCHEMA = _queue_schema()

_BAND = "match probability in the review band"


@dataclass(frozen=True)
class AccountsResult:
    """What the accounts stage hands on.

    Attributes
    ----------
    mapping
        ``customer_id``, ``account_id`` (the smallest member id of its duplicate
        cluster), ``parent_account_id`` (account of the direct parent, from parent_id),
        ``group_account_id`` (account at the top of the parent chain), ``merge_reason``
        (why the record is in its account: its strongest match with another of its
        records — "with C0000012: names agree, same postcode", "with C0000012: match
        probability 0.998; the same name, postcode and phone", "with C0000012: confirmed
        by a person"; NULL for a record alone in its account); one row per record, sorted
        by ``customer_id``.
    accounts
        ``account_id``, ``member_ids``, ``n_members``, ``name``, ``branches``,
        ``group_account_id``; one row per account, sorted by ``account_id``.
    review_queue
        Pairs for a person to confirm or reject, in :data:`REVIEW_QUEUE_SCHEMA`'s columns.
    pairs
        Every pair the model scored at or above the lower of ``review_lower`` and
        ``match_threshold``, and every pair a deterministic rule merged or queued:
        ``left_id``, ``right_id``, ``match_weight``, ``match_probability``, ``rule`` (the
        rule that merges it, or why it is queued), the comparison levels and the compared
        columns, ``names_agree``, ``held_back`` and ``guard`` (kept apart, and why),
        ``review`` (queued by a rule), ``rule_link`` (merged by a rule); sorted by ids.
    decisions
        The stored decisions as applied (cleaned; latest per pair).
    summary
        The manifest's accounts block: whether duplicates were looked for and how
        (``checked``; ``method``: "model and rules" or "rules only"; ``outcome``: "found",
        "none found" or "not looked for"; ``not_checked_reason``;
        ``model_not_fitted_reason``), records, accounts, merged accounts, the largest
        accounts, candidate pairs (the model's, counted exactly; the rules' when the model
        was not fitted), scored, linked, rule-only and held-back pairs, review queue size,
        decisions applied, and per blocking plan ("model", "rules") the pairs per rule and
        what was tightened.
    params
        The fitted Fellegi–Sunter model (prior, m and u per comparison level), for the
        manifest's ``models.accounts``; empty when no model was fitted.
    warnings
        What the run assumed or could not do, each naming the setting that changes it.
    headline
        One line for the screen: what was found, or that nothing was, or why duplicates
        could not be looked for.
    """

    mapping: pa.Table
    accounts: pa.Table
    review_queue: pa.Table
    pairs: pa.Table
    decisions: pa.Table
    summary: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    headline: str = ""


def _empty_pairs() -> pa.Table:
    return pa.table(
        {
            "left_id": pa.array([], pa.string()),
            "right_id": pa.array([], pa.string()),
            "match_weight": pa.array([], pa.float64()),
            "match_probability": pa.array([], pa.float64()),
            "rule": pa.array([], pa.string()),
            "names_agree": pa.array([], pa.bool_()),
            "held_back": pa.array([], pa.bool_()),
            "guard": pa.array([], pa.string()),
            "review": pa.array([], pa.bool_()),
            "rule_link": pa.array([], pa.bool_()),
        }
    )


def _pair_positions(queue: pa.Table, ids: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """Where each pair's ``left_id`` and ``right_id`` stand in ``ids`` (null where absent):
    both sides looked up in one hash of ``ids``."""
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    n = queue.num_rows
    at = pc.index_in(
        pa.concat_arrays(
            [queue["left_id"].combine_chunks(), queue["right_id"].combine_chunks()]
        ).cast(ids.type),
        value_set=ids,
    )
    return at.slice(0, n), at.slice(n)


def _queue_layout(queue: pa.Table, records: pa.Table) -> pa.Table:
    """The queue in :data:`REVIEW_QUEUE_SCHEMA`: raw fields beside the normalised ones."""
    ids = records["customer_id"].combine_chunks()
    n = queue.num_rows
    # each side's records looked up once, then taken field by field
    at_l, at_r = _pair_positions(queue, ids)
    where = {"left_id": at_l, "right_id": at_r}
    cols: dict[str, Any] = {}
    for name in REVIEW_QUEUE_SCHEMA.names:
        kind = REVIEW_QUEUE_SCHEMA.field(name).type
        raw = name[:-2] if name.endswith(("_l", "_r")) else None
        if raw in EVIDENCE_FIELDS:
            if raw not in records.column_names:
                cols[name] = pa.nulls(n, kind)
                continue
            side = "left_id" if name.endswith("_l") else "right_id"
            vals = records[raw].combine_chunks()
            taken = vals.take(where[side])
            cols[name] = taken.cast(kind)
        elif name in queue.column_names:
            cols[name] = queue[name].cast(kind)
        else:
            cols[name] = pa.nulls(n, kind)
    return pa.table(cols, schema=REVIEW_QUEUE_SCHEMA)


def _reasons(pairs: pa.Table) -> pa.Table:
    """Why each pair would be shown to a person (``reason``)."""
    reason = pc.if_else(
        pc.fill_null(pairs["held_back"], False),
        pairs["guard"],
        pc.if_else(pc.fill_null(pairs["review"], False), pairs["rule"], pa.scalar(_BAND)),
    )
    return pairs.append_column("reason", reason)


#: How many other members of an account a queue reason names before a count.
_NAMED = 3
_NOT_MERGED = ": not merged unless a person confirms it"


def _joined_reasons(queue: pa.Table, mapping: pa.Table) -> pa.Table:
    """Say in ``reason`` when a queued pair's two records are already in one account
    through other matches, naming those records: leaving the pair unreviewed keeps them
    together, and only a rejection splits them."""
    if "reason" not in queue.column_names or not queue.num_rows:
        return queue
    ids, accounts = mapping["customer_id"], mapping["account_id"]
    at_l, at_r = _pair_positions(queue, ids)
    acc_l, acc_r = accounts.take(at_l), accounts.take(at_r)
    joined = pc.fill_null(pc.equal(acc_l, acc_r), False).to_numpy(zero_copy_only=False)
    if not joined.any():
        return queue
    reasons = queue["reason"].to_pylist()
    left, right = queue["left_id"].to_pylist(), queue["right_id"].to_pylist()
    acc = acc_l.to_pylist()
    rows = np.flatnonzero(joined)
    # the members of those accounts, in one filter of the mapping
    wanted = pa.array(sorted({acc[i] for i in rows}), accounts.type)
    held = mapping.filter(pc.is_in(accounts, value_set=wanted))
    members: dict[str, list[str]] = {}
    for a, m in zip(
        held["account_id"].to_pylist(), held["customer_id"].to_pylist(), strict=True
    ):  # the members of the accounts of queued pairs already joined: few
        members.setdefault(a, []).append(m)
    for i in rows:  # only the queued pairs already joined: few
        others = [m for m in members[acc[i]] if m not in (left[i], right[i])]
        named = ", ".join(others[:_NAMED])
        if len(others) > _NAMED:
            named += f" and {len(others) - _NAMED:,} more"
        through = f" through matches with {named}" if others else ""
        base = (reasons[i] or "").removesuffix(_NOT_MERGED)
        reasons[i] = (
            f"{base}; already in one account ({acc[i]}){through}: "
            "left unreviewed or confirmed they stay together, rejected they are split"
        )
    return queue.set_column(
        queue.column_names.index("reason"), "reason", pa.array(reasons, pa.string())
    )


def _model_pairs(
    keyed: ir.Table,
    plan: BlockingPlan,
    settings: AccountSettings,
    engine: Engine,
    seed: int,
    *,
    names_required: bool,
) -> tuple[pa.Table, dict[str, Any], dict[str, dict[int, str]], int]:
    keep = min(settings.review_lower, settings.match_threshold)
    cols = ["customer_id", *plan.keys, *_MATCH_COLUMNS]
    pred = predict_pairs(
        keyed.select(cols),
        company_spec(settings, blocking_keys=plan.keys),
        engine=engine,
        threshold=keep,
        seed=seed,
        # the blocking keys' pairs, counted from the keys themselves
        n_candidates=plan.distinct_pairs,
        pair_bound=plan.n_pairs,
    )
    pairs = guard_pairs(pred.pairs, settings, names_required=names_required)
    n = pairs.num_rows
    pairs = pairs.add_column(4, "rule", pa.nulls(n, pa.string()))
    pairs = pairs.append_column("review", pa.array([False] * n, pa.bool_()))
    return pairs, pred.params, pred.levels, pred.n_candidate_pairs


def _rules_pairs(
    table: ir.Table, settings: AccountSettings, engine: Engine, *, names_only: bool = False
) -> tuple[pa.Table, BlockingPlan]:
    # with names only, the rules look among the records sharing a name (the pairs the
    # model would have looked at): the model's budget
    keyed, plan = plan_blocking(
        table,
        settings,
        engine=engine,
        rules=NAME_BLOCKING if names_only else RULE_BLOCKING,
        pairs_per_record=(
            settings.max_pairs_per_record if names_only else settings.max_rule_pairs_per_record
        ),
    )
    cands = engine.to_arrow(
        candidate_pairs(keyed, plan.keys).order_by(["left_id", "right_id"]), "candidate pairs"
    )
    engine.release(keyed)
    return rule_pairs(cands, settings), plan


#: The customer master's column each derived column is made from (for messages).
_SOURCE = {
    "name_norm": "name",
    "name_core": "name",
    "name_prefix": "name",
    "address_norm": "address",
    "address_number": "address",
    "postcode_norm": "postcode",
    "postcode_prefix": "postcode",
    "city_norm": "city",
    "phone_norm": "phone",
    "email_domain": "email",
    "tax_id_norm": "tax_id",
}


def _unusable_rules(settings: AccountSettings, counts: dict[str, int]) -> list[str]:
    """One note per blocking rule of the user's own that can pair no records: a column it
    needs has no value in this customer master (the default rules say nothing: a master
    without e-mails simply has no pairs by e-mail domain)."""
    if "blocking_rules" not in settings.model_fields_set or not counts:
        return []
    notes = []
    for rule in settings.blocking_rules:
        empty = [c for c in rule if not counts.get(c)]
        if empty:
            sources = sorted({_SOURCE.get(c, c) for c in empty})
            notes.append(
                f"{json.dumps(rule)} pairs no records: {', '.join(empty)} "
                f"{'has' if len(empty) == 1 else 'have'} no values (the customers' "
                f"{' and '.join(sources)} {'is' if len(sources) == 1 else 'are'} not mapped "
                "or empty)"
            )
    return notes


#: Typed characters two names of one account may differ by and not be kept apart: each one
#: typo from the name of the record that joins them (the guard's own tolerance, twice).
_CHAIN_TYPOS = 2

#: Why a pair the guards keep apart is kept apart, said of a pair chained into one account.
_APART_WHY = {HELD_BACK_NAMES: "their names disagree", HELD_BACK_TAX: "their tax ids differ"}


def _apart_pairs(
    mapping: pa.Table, named: pa.Table, links: pa.Table, settings: AccountSettings
) -> pa.Table:
    """The pairs of records in one account that the guards would keep apart, though the
    links join them through other records (A~B and B~C, where A and C are plainly two
    companies: their names disagree by more than a typo each, or their tax ids differ):
    ``left_id``, ``right_id``, ``why``. A record without a name is not plainly another
    company: it joins an account through the same tax id as one of its records.

    Only accounts of three records or more are looked at (two records in one account are
    a pair the guards saw), and none larger than ``max_block_records`` (whose every pair
    would be compared: such an account is named in the run's warnings instead).
    """
    acc = mapping["account_id"].combine_chunks()
    ids = mapping["customer_id"].combine_chunks()
    codes = np.asarray(
        pc.index_in(acc, value_set=pc.unique(acc)).to_numpy(zero_copy_only=False), np.int64
    )
    size = np.bincount(codes)[codes] if len(codes) else np.zeros(0, np.int64)
    wanted = np.flatnonzero((size >= 3) & (size <= settings.max_block_records))
    empty = pa.table(
        {
            "left_id": pa.array([], pa.string()),
            "right_id": pa.array([], pa.string()),
            "why": pa.array([], pa.string()),
        }
    )
    if wanted.size == 0:
        return empty
    order = wanted[np.argsort(codes[wanted], kind="stable")]
    groups = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
    left_at, right_at = [], []
    for g in groups:  # accounts of three records or more: few
        i, j = np.triu_indices(g.size, k=1)
        left_at.append(g[i])
        right_at.append(g[j])
    la, ra = np.concatenate(left_at), np.concatenate(right_at)
    left, right = ids.take(pa.array(la)), ids.take(pa.array(ra))
    # directly linked pairs are what the guards let through
    linked = pc.binary_join_element_wise(
        pc.min_element_wise(links["left_id"], links["right_id"]),
        pc.max_element_wise(links["left_id"], links["right_id"]),
        "\x1f",
    )
    key = pc.binary_join_element_wise(
        pc.min_element_wise(left, right), pc.max_element_wise(left, right), "\x1f"
    )
    keep = pc.invert(pc.is_in(key, value_set=linked.combine_chunks()))
    left, right = left.filter(keep), right.filter(keep)
    at_l = pc.index_in(left, value_set=named["customer_id"].combine_chunks())
    at_r = pc.index_in(right, value_set=named["customer_id"].combine_chunks())
    cols: dict[str, Any] = {"left_id": left, "right_id": right}
    for c in ("name_norm", "name_core", "tax_id_norm"):
        vals = named[c].combine_chunks()
        cols[f"{c}_l"], cols[f"{c}_r"] = vals.take(at_l), vals.take(at_r)
    guarded = guard_pairs(pa.table(cols), settings, names_required=False)
    guarded = guarded.filter(guarded["held_back"])
    # names that disagree only by a typo each ("Landcsapes" and "Ladscapes", both one from
    # the "Landscapes" that joins them) are one company's, not plainly two: two typos apart
    keep_rows = []
    for g, a, b in zip(
        guarded["guard"].to_pylist(),
        guarded["name_norm_l"].to_pylist(),
        guarded["name_norm_r"].to_pylist(),
        strict=True,
    ):  # pairs of one account the guard holds back: few
        typos = g == HELD_BACK_NAMES and typos_apart(
            (a or "").replace(" ", ""), (b or "").replace(" ", ""), _CHAIN_TYPOS
        )
        keep_rows.append(not typos)
    guarded = guarded.filter(pa.array(keep_rows, pa.bool_()))
    why = [_APART_WHY.get(g, g) for g in guarded["guard"].to_pylist()]
    return pa.table(
        {
            "left_id": guarded["left_id"],
            "right_id": guarded["right_id"],
            "why": pa.array(why, pa.string()),
        }
    )


def _hold_back_split(
    pairs: pa.Table,
    mapping: pa.Table,
    apart: pa.Table,
    by_model: pa.Array,
    by_rule: pa.Array,
) -> tuple[pa.Table, int]:
    """Hold back the links the guards' apart pairs left out of an account, each with the
    pair it would have joined in its ``guard`` (the reason a person reads in the queue).
    Returns the pairs and how many links were held back."""
    ids, acc = mapping["customer_id"], mapping["account_id"]
    at_l, at_r = _pair_positions(pairs, ids)
    acc_l, acc_r = acc.take(at_l), acc.take(at_r)
    split = pc.and_(pc.or_(by_model, by_rule), pc.fill_null(pc.not_equal(acc_l, acc_r), False))
    rows = np.flatnonzero(split.to_numpy(zero_copy_only=False))
    if rows.size == 0:
        return pairs, 0
    # the apart pairs by the two accounts they now stand in
    a_l, a_r = _pair_positions(apart, ids)
    across: dict[tuple[str, str], tuple[str, str, str]] = {}
    for x, y, w, ax, ay in zip(
        apart["left_id"].to_pylist(),
        apart["right_id"].to_pylist(),
        apart["why"].to_pylist(),
        acc.take(a_l).to_pylist(),
        acc.take(a_r).to_pylist(),
        strict=True,
    ):  # the apart pairs: few
        across.setdefault((min(ax, ay), max(ax, ay)), (x, y, w))
    held = pairs["held_back"].to_pylist()
    guard = pairs["guard"].to_pylist()
    rule_link = pairs["rule_link"].to_pylist()
    al, ar = acc_l.to_pylist(), acc_r.to_pylist()
    n = 0
    for i in rows:  # the links left out: few
        hit = across.get((min(al[i], ar[i]), max(al[i], ar[i])))
        if hit is None:  # split by a person's rejection, not by the guards
            continue
        x, y, why = hit
        held[i], rule_link[i] = True, False
        guard[i] = (
            f"merged, it would join {x} and {y} in one account through their other matches, "
            f"and {why}: not merged unless a person confirms it"
        )
        n += 1
    for name, values, kind in (
        ("held_back", held, pa.bool_()),
        ("guard", guard, pa.string()),
        ("rule_link", rule_link, pa.bool_()),
    ):
        pairs = pairs.set_column(pairs.column_names.index(name), name, pa.array(values, kind))
    return pairs, n


#: The model's comparisons as a person says them.
_FIELD_NAMES = {"email_domain": "e-mail domain", "tax_id": "tax id", "size": "head count"}


def _agreeing(pairs: pa.Table, levels: dict[str, dict[int, str]]) -> list[str]:
    """Per pair, the fields on which the model found the two records exactly alike ("name,
    postcode and phone"): each comparison's top level."""
    parts: list[list[str]] = [[] for _ in range(pairs.num_rows)]
    for comp, labels in levels.items():
        g = f"gamma_{comp}"
        if g not in pairs.column_names or not labels:
            continue
        top = max(labels)
        hit = pc.fill_null(pc.equal(pairs[g].cast(pa.int64()), top), False)
        said = _FIELD_NAMES.get(comp, comp.replace("_", " "))
        for i in np.flatnonzero(hit.to_numpy(zero_copy_only=False)):
            parts[i].append(said)
    out = []
    for p in parts:
        said = p[0] if len(p) == 1 else ", ".join(p[:-1]) + " and " + p[-1] if p else ""
        out.append(f"; the same {said}" if said else "")
    return out


def _merge_reasons(
    mapping: pa.Table,
    pairs: pa.Table,
    links: pa.Array,
    decisions: pa.Table | None,
    levels: dict[str, dict[int, str]],
) -> pa.Array:
    """Why each record is in its account (``merge_reason``): its strongest match with
    another record of the account — a person's confirmation, a rule, or the model's
    probability and the fields that agree; NULL for a record alone in its account."""
    linked = pairs.filter(links)
    rule = linked["rule"].to_pylist()
    prob = linked["match_probability"].to_pylist()
    rule_link = pc.fill_null(linked["rule_link"], False).to_pylist()
    same = _agreeing(linked, levels)
    texts, strength = [], []
    for i in range(linked.num_rows):  # the links: one per merged record or so
        if rule_link[i]:
            texts.append(rule[i] or "a matching rule")
            strength.append(1.0)
        else:
            texts.append(f"match probability {prob[i]:.3f}{same[i]}")
            strength.append(float(prob[i] or 0.0))
    left, right = linked["left_id"].to_pylist(), linked["right_id"].to_pylist()
    if decisions is not None and decisions.num_rows:
        conf = decisions.filter(pc.equal(decisions["decision"], "confirm"))
        left += conf["left_id"].to_pylist()
        right += conf["right_id"].to_pylist()
        texts += ["confirmed by a person"] * conf.num_rows
        strength += [2.0] * conf.num_rows
    ids = mapping["customer_id"].combine_chunks()
    acc = mapping["account_id"].combine_chunks()
    ends = pa.table(
        {"left_id": pa.array(left, pa.string()), "right_id": pa.array(right, pa.string())}
    )
    at_l, at_r = _pair_positions(ends, ids)
    same_account = pc.fill_null(pc.equal(acc.take(at_l), acc.take(at_r)), False).to_pylist()
    positions = at_l.to_pylist(), at_r.to_pylist()
    best: dict[int, tuple[float, str, str]] = {}
    for i, (a, b, t, w) in enumerate(zip(left, right, texts, strength, strict=True)):
        if not same_account[i]:  # the links: one per merged record or so
            continue
        for at, other in ((positions[0][i], b), (positions[1][i], a)):
            held = best.get(at)
            if held is None or (-w, other) < (-held[0], held[1]):
                best[at] = (w, other, t)
    reasons: list[str | None] = [None] * mapping.num_rows
    for at, (_, other, text) in best.items():
        reasons[at] = f"with {other}: {text}"
    return pa.array(reasons, pa.string())


def _for_people(pairs: pa.Table) -> pa.Table:
    """The pairs a person could judge: not two records that both lack a name (two 'Cash
    customer' records sharing the till's address), which stay apart unreviewed."""
    if "name_norm_l" not in pairs.column_names:
        return pairs
    both = pc.and_(pc.is_null(pairs["name_norm_l"]), pc.is_null(pairs["name_norm_r"]))
    unjudged = pc.and_(both, pc.equal(pc.fill_null(pairs["guard"], ""), HELD_BACK_NO_NAME))
    return pairs.filter(pc.invert(unjudged))


def _pair_keys(t: pa.Table) -> pa.Array:
    return pc.binary_join_element_wise(
        t["left_id"].combine_chunks(), t["right_id"].combine_chunks(), "\x1f"
    )


def _combine(model: pa.Table, rules: pa.Table, threshold: float) -> pa.Table:
    """The model's pairs with the rules' verdicts, and the rules' other pairs after them.

    A pair both found keeps the model's row, with the rule (and, when the rule merges it,
    a link whatever the model's probability: ``rule_link``). A pair the rules would show a
    person is shown unless the model merges it (``threshold``, not held back by a guard):
    the model has weighed the evidence the rules lack.
    """
    mk, rk = _pair_keys(model), _pair_keys(rules)
    at = pc.index_in(mk, value_set=rk)
    rule = rules["rule"].combine_chunks().take(at)
    link = pc.fill_null(pc.is_valid(rules["match_probability"].combine_chunks().take(at)), False)
    model_links = pc.and_(
        pc.invert(pc.fill_null(model["held_back"], False)),
        pc.fill_null(pc.greater_equal(model["match_probability"], threshold), False),
    )
    review = pc.and_(
        pc.fill_null(rules["review"].combine_chunks().take(at), False), pc.invert(model_links)
    )
    rule = pc.if_else(pc.or_(link, review), rule, pa.scalar(None, pa.string()))
    model = model.set_column(model.column_names.index("rule"), "rule", rule)
    model = model.set_column(
        model.column_names.index("review"), "review", pc.or_(model["review"], review)
    )
    model = model.append_column("rule_link", link)
    extra = rules.filter(pc.invert(pc.is_in(rk, value_set=mk)))
    extra = extra.append_column("rule_link", pc.is_valid(extra["match_probability"]))
    out = pa.concat_tables([model, extra], promote_options="permissive")
    return out.sort_by([("left_id", "ascending"), ("right_id", "ascending")])


def resolve_accounts(
    customers: ir.Table | pa.Table,
    settings: AccountSettings,
    *,
    engine: Engine,
    decisions: pa.Table | None = None,
    seed: int = 42,
) -> AccountsResult:
    """Find duplicate customer records, group them into accounts and roll up parents.

    Normalises names, addresses, postcodes, phones, e-mail domains, tax ids and head
    counts in the engine, builds blocking keys (tightening too-large blocks), fits a
    Fellegi–Sunter model with Splink (EM; DuckDB or Spark, whichever the engine runs) — or,
    where it cannot be fitted, applies deterministic rules — keeps apart pairs whose names
    disagree, clusters the rest at ``settings.match_threshold`` together with the stored
    decisions, queues uncertain pairs for review and follows ``parent_id`` to the top of
    each company group.

    Parameters
    ----------
    customers
        The canonical customers table (``customer_id`` required; name, address, postcode,
        city, country, phone, email, tax_id, employees and parent_id used when present).
    settings
        The ``[accounts]`` section.
    engine
        The engine that holds (or receives) the customers table.
    decisions
        Stored review decisions (``left_id``, ``right_id``, ``decision`` and optionally
        ``decided_by``, ``decided_at``), e.g. a filled-in review queue from a previous run.
    seed
        Seed for the random pairs behind the u probabilities (``[run] seed``).

    Returns
    -------
    AccountsResult

    Raises
    ------
    InputError
        A customer record without ``customer_id``, or ids repeated.
    SettingsError
        The blocking rules cannot be brought within the pair budget.
    EngineError
        The engine failed running Splink's queries (e.g. a Spark session that cannot load
        Splink's similarity functions): an engine fault is never passed off as "no
        duplicates found".

    Example
    -------
    >>> from tierwise.engine import Engine
    >>> from tierwise.settings import AccountSettings
    >>> from tierwise.demo import generate  # doctest: +SKIP
    >>> res = resolve_accounts(generate(3000).customers, AccountSettings(),
    ...                        engine=Engine())  # doctest: +SKIP
    >>> res.summary["outcome"]  # doctest: +SKIP
    'found'
    """
    t = engine.from_arrow(customers) if isinstance(customers, pa.Table) else customers
    if "customer_id" not in t.columns:
        raise InputError("the customers table has no customer_id column", column="customer_id")
    raw_cols = ["customer_id"] + [c for c in (*EVIDENCE_FIELDS, "parent_id") if c in t.columns]
    norm = engine.materialize(normalise_customers(t.select(raw_cols), settings))
    records = engine.to_arrow(
        norm.select([c for c in (*raw_cols, "branch") if c in norm.columns]).order_by(
            "customer_id"
        ),
        "customer records",
    )
    records = records.set_column(0, "customer_id", records["customer_id"].cast(pa.string()))
    table = engine.materialize(
        norm.select(["customer_id", *_MATCH_COLUMNS]).order_by("customer_id")
    )
    engine.release(norm)
    if records["customer_id"].null_count:
        raise InputError("a customer record has no customer_id", column="customer_id")
    if pc.count_distinct(records["customer_id"]).as_py() != records.num_rows:
        raise InputError(
            "customer_id is not unique in the customers table",
            column="customer_id",
            hint="validation should have rejected the repeats",
        )
    decision_notes: list[str] = []
    clean = (
        clean_decisions(decisions, known_ids=records["customer_id"], notes=decision_notes)
        if decisions is not None
        else None
    )

    n = records.num_rows
    params: dict[str, Any] = {}
    levels: dict[str, dict[int, str]] = {}
    n_candidates = 0
    method: str | None = None
    not_checked: str | None = None
    model_reason: str | None = None
    plans: dict[str, BlockingPlan] = {}
    pairs = _empty_pairs()
    model_details: list[str] = []
    counts: dict[str, int] = {}
    if n:
        counted = tuple(dict.fromkeys((*_IDENTIFYING, *BLOCKING_COLUMNS, *_COMPARED)))
        counts = engine.to_arrow(
            table.aggregate(**{c: table[c].count() for c in counted}), "matching values"
        ).to_pylist()[0]
    # a master with names has no excuse for a record without one: such a pair is held
    # back; one without any name has nothing else to merge on
    names_required = bool(counts.get("name_core"))
    # names and nothing the rules could merge on (a city, an e-mail domain at most)
    names_only = names_required and not any(counts[c] for c in _IDENTIFYING[1:])
    blocking_notes = _unusable_rules(settings, counts)
    if not settings.enabled:
        not_checked = "switched off ([accounts] enabled = false)"
    elif n < 2:
        not_checked = f"{n} customer record{'s' if n != 1 else ''}: nothing to compare"
    elif not any(counts[c] for c in _IDENTIFYING):
        not_checked = (
            "the customer master has no name, address, postcode, phone or tax id values "
            "to compare (map them in [customers.columns])"
        )
    if not_checked is None and settings.enabled:
        rules, plans["rules"] = _rules_pairs(table, settings, engine, names_only=names_only)
        if n < settings.min_records:
            model_reason = (
                f"{n} records, fewer than the {settings.min_records} the matching model needs "
                "([accounts] min_records)"
            )
        elif blocking_notes and len(blocking_notes) == len(settings.blocking_rules):
            model_reason = (
                "none of [accounts] blocking_rules can pair records in this customer master ("
                + "; ".join(blocking_notes)
                + '): add a rule on a column it has, such as ["name_core"]'
            )
            blocking_notes = []
        else:
            keyed, plans["model"] = plan_blocking(table, settings, engine=engine)
            try:
                model, params, levels, n_candidates = _model_pairs(
                    keyed, plans["model"], settings, engine, seed, names_required=names_required
                )
            except TrainingError as exc:
                fields = [
                    k for k, cols in COMPANY_COMPARISONS.items() if any(counts[c] for c in cols)
                ]
                compared = ", ".join(_FIELD_NAMES.get(f, f.replace("_", " ")) for f in fields)
                model_reason = (
                    "the matching model found no duplicates to learn from: its training passes "
                    "came back empty or without variation (a clean master, or one too small; "
                    f"this one compares {compared})"
                    if exc.runnable != 0
                    else "the matching model has nothing to learn from: it pairs records sharing "
                    "a tax id, a name and postcode, a phone and the start of a name, or a name "
                    "and city, and learns from the fields they do not share; this customer "
                    f"master compares {compared} only"
                )
                model_details = exc.details
            except ModelError as exc:
                model_reason = exc.one_line()
            else:
                method = "model and rules"
                pairs = _combine(model, rules, settings.match_threshold)
            finally:
                engine.release(keyed)
        if method is None:
            method = "rules only"
            pairs = rules.append_column("rule_link", pc.is_valid(rules["match_probability"]))
            n_candidates = plans["rules"].n_pairs
    checked = method is not None
    # the names and tax ids of the records, to keep apart those that other records would
    # chain into one account
    named = engine.to_arrow(
        table.select("customer_id", "name_norm", "name_core", "tax_id_norm").order_by(
            "customer_id"
        ),
        "names and tax ids",
    )
    named = named.set_column(0, "customer_id", named["customer_id"].cast(pa.string()))
    engine.release(table)

    held = pc.fill_null(pairs["held_back"], False)
    by_rule = pc.fill_null(pairs["rule_link"], False)
    by_model = pc.and_(
        pc.invert(held),
        pc.fill_null(pc.greater_equal(pairs["match_probability"], settings.match_threshold), False),
    )
    # a rule's link counts as certain (probability 1) where a rejection must break a tie
    strength = pc.if_else(by_rule, 1.0, pc.fill_null(pairs["match_probability"], 0.0))
    links = pa.table(
        {"left_id": pairs["left_id"], "right_id": pairs["right_id"], "match_probability": strength}
    ).filter(pc.or_(by_model, by_rule))
    mapping, cstats = cluster_pairs(records["customer_id"], links, 0.0, clean)
    n_chained = 0
    if checked and (settings.name_guard or settings.tax_id_guard):
        apart = _apart_pairs(mapping, named, links, settings)
        if apart.num_rows:
            mapping, cstats = cluster_pairs(records["customer_id"], links, 0.0, clean, apart)
            pairs, n_chained = _hold_back_split(pairs, mapping, apart, by_model, by_rule)
            held = pc.fill_null(pairs["held_back"], False)
            by_rule = pc.fill_null(pairs["rule_link"], False)
            by_model = pc.and_(
                pc.invert(held),
                pc.fill_null(
                    pc.greater_equal(pairs["match_probability"], settings.match_threshold),
                    False,
                ),
            )
    mapping, gstats = group_accounts(records, mapping)
    mapping = mapping.append_column(
        "merge_reason",
        _merge_reasons(mapping, pairs, pc.or_(by_model, by_rule), clean, levels),
    )
    accounts = account_table(records, mapping)
    queue = review_queue(
        _reasons(_for_people(pairs)),
        levels,
        lower=settings.review_lower,
        # a pair below the match threshold is shown whatever review_upper says: none is
        # left neither merged nor shown
        upper=max(settings.review_upper, settings.match_threshold),
        decisions=clean,
    )
    queue = _queue_layout(_joined_reasons(queue, mapping), records)
    summary: dict[str, Any] = merge_summary(accounts, top=settings.report_examples)
    merged = summary["n_merged_accounts"]
    outcome = "not looked for" if not checked else "found" if merged else "none found"
    summary.update(
        {
            "checked": checked,
            "method": method,
            "outcome": outcome,
            "not_checked_reason": not_checked,
            "model_not_fitted_reason": model_reason,
            "rules": list(RULES) if checked else [],
            "model_fitted": method == "model and rules",
            "n_candidate_pairs": n_candidates,
            "n_pairs_scored": int(pairs.num_rows),
            "n_pairs_linked": cstats["n_links"],
            "n_linked_by_rules_only": int(
                pc.sum(pc.and_(by_rule, pc.invert(by_model))).as_py() or 0
            ),
            "n_held_back": int(pc.sum(held).as_py() or 0),
            "n_kept_apart_in_chains": n_chained,
            "names_only": names_only,
            "n_without_name": int(
                pc.sum(pc.is_null(named["name_core"])).as_py() or 0 if names_required else 0
            ),
            "n_review_pairs": int(queue.num_rows),
            "n_decisions": 0 if clean is None else int(clean.num_rows),
            "n_confirmed_applied": cstats["n_confirmed"],
            "n_rejected_split": cstats["n_rejected_split"],
            "n_decision_conflicts": cstats["n_conflicts"],
            "n_with_parent": gstats["n_with_parent"],
            "n_group_accounts": gstats["n_groups"],
            "n_parent_cycles": gstats["n_cycles"],
            "match_threshold": settings.match_threshold,
            "blocking": {k: p.manifest() for k, p in plans.items()},
        }
    )
    if model_details:
        summary["model_not_fitted_details"] = model_details
    warnings: list[str] = [f"review decisions: {w}" for w in decision_notes]
    if not_checked is not None and settings.enabled:
        warnings.append(f"duplicate customer records were not looked for: {not_checked}")
    if method == "rules only" and names_only:
        warnings.append(
            "duplicate customer records: the customer master has names only (no street "
            "address, postcode, phone or tax id), and a name alone cannot tell a company "
            "written twice from a namesake, so no record is merged automatically; the pairs "
            "with the same name are in review_queue.csv for a person to confirm; map address, "
            "postcode, phone or tax_id in [customers.columns] to find duplicates"
        )
    elif method == "rules only":
        warnings.append(
            "duplicate customer records were looked for with the deterministic rules only "
            f"(same tax id; names that agree as wholes and a shared postcode, phone or address): "
            f"{model_reason}"
        )
    if method == "model and rules" and blocking_notes:
        warnings.append(
            "[accounts] blocking_rules: "
            + "; ".join(blocking_notes)
            + ": the matching model uses the other rules (map the column in "
            "[customers.columns], or drop the rule)"
        )
    if checked and summary["n_without_name"] and "name" in records.column_names:
        warnings.append(_nameless_note(records, named, summary["n_without_name"]))
    large = accounts.filter(pc.greater(accounts["n_members"], settings.large_account_records))
    if large.num_rows:
        large = large.sort_by([("n_members", "descending"), ("account_id", "ascending")])
        shown = [
            f"{a} ({size:,} records{f', {name!r}' if name else ''})"
            for a, size, name in zip(
                large["account_id"].to_pylist()[:_PLACEHOLDERS_NAMED],
                large["n_members"].to_pylist(),
                (
                    large["name"].to_pylist()
                    if "name" in large.column_names
                    else [None] * large.num_rows
                ),
                strict=False,
            )
        ]
        k = large.num_rows
        warnings.append(
            f"{k:,} account{'s' if k != 1 else ''} merged from more than "
            f"{settings.large_account_records:,} records: {', '.join(shown)}"
            f"{', …' if k > len(shown) else ''}; check account_members.csv (merge_reason): a "
            "name that stands for no company belongs in [accounts] extra_placeholder_names, "
            "and a pair wrongly merged is rejected in review_queue.csv "
            "([accounts] large_account_records sets the size named here)"
        )
    levers = {
        "model": "max_block_records or max_pairs_per_record",
        "rules": "max_block_records or max_rule_pairs_per_record",
    }
    for name, plan in plans.items():
        if plan.notes():
            warnings.append(
                f"blocking of the {'matching model' if name == 'model' else 'deterministic rules'}"
                " tightened automatically to keep the pairs compared within the budget ("
                + "; ".join(plan.notes())
                + f"); raise [accounts] {levers[name]} to compare more pairs"
            )
    return AccountsResult(
        mapping=mapping,
        accounts=accounts,
        review_queue=queue,
        pairs=pairs,
        decisions=clean if clean is not None else empty_decisions(),
        summary=summary,
        params=params,
        warnings=warnings,
        headline=_headline(summary),
    )


#: How many of the most frequent placeholder names a note names before a count.
_PLACEHOLDERS_NAMED = 5


def _nameless_note(records: pa.Table, named: pa.Table, n: int) -> str:
    """The warning on records without a name to match on, naming the commonest."""
    at = pc.index_in(records["customer_id"], value_set=named["customer_id"].combine_chunks())
    nameless = pc.is_null(named["name_core"].combine_chunks().take(at))
    raw = pc.utf8_trim_whitespace(records["name"].combine_chunks().cast(pa.string()))
    shown = raw.filter(pc.and_(nameless, pc.fill_null(pc.not_equal(raw, ""), False)))
    counts = pc.value_counts(shown) if len(shown) else pa.array([], shown.type)
    top = sorted(
        ((c["counts"].as_py(), c["values"].as_py()) for c in counts),
        key=lambda x: (-x[0], x[1]),
    )[:_PLACEHOLDERS_NAMED]
    named_as = ", ".join(f"{v!r} ×{k:,}" for k, v in top)
    written = f" (named {named_as}{', …' if len(counts) > len(top) else ''})" if top else ""
    return (
        f"{n:,} customer record{'s' if n != 1 else ''} have no name that names a company"
        f"{written}: they are merged with no other record on what they share (a till's "
        "address, phone or postcode), only on the same tax id or a person's decision; "
        "[accounts] extra_placeholder_names adds names of your own that stand for no company"
    )


def _headline(s: dict[str, Any]) -> str:
    """One line for the screen: found, none found, or could not look (and why)."""
    n = s["n_records"]
    how = {
        "model and rules": "matching model and deterministic rules",
        "rules only": "deterministic rules",
    }.get(s["method"] or "", "")
    if s["outcome"] == "not looked for":
        return f"duplicates: not looked for ({s['not_checked_reason']})"
    if s["outcome"] == "none found" and s.get("names_only") and s["method"] == "rules only":
        text = (
            f"duplicates: none merged among {n:,} records: the customer master has names only "
            "(no street address, postcode, phone or tax id), which cannot tell a duplicate "
            "from a namesake"
        )
    elif s["outcome"] == "none found":
        text = f"duplicates: none found among {n:,} records ({how})"
    else:
        k = s["n_merged_accounts"]
        text = (
            f"duplicates: {s['n_records_merged']:,} of {n:,} records merged into "
            f"{k:,} account{'s' if k != 1 else ''} ({how})"
        )
    if s["n_review_pairs"]:
        k = s["n_review_pairs"]
        text += f"; {k:,} pair{'s' if k != 1 else ''} to review in review_queue.csv"
    return text
