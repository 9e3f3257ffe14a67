"""The accounts stage end to end: customer records in, accounts out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import Engine
from ..errors import InputError, ModelError
from ..settings.accounts import BLOCKING_COLUMNS, AccountSettings
from .linkage import company_spec, predict_pairs
from .normalise import normalise_customers
from .review import clean_decisions, empty_decisions, review_queue
from .rollup import account_table, cluster_pairs, group_accounts, merge_report

__all__ = ["AccountsResult", "resolve_accounts"]

#: Raw customer fields shown beside each other in the review queue.
EVIDENCE_FIELDS = ("name", "address", "postcode", "city", "country", "phone", "email", "tax_id")

_MATCH_COLUMNS = BLOCKING_COLUMNS


@dataclass(frozen=True)
class AccountsResult:
    """What the accounts stage hands on.

    Attributes
    ----------
    mapping
        ``customer_id``, ``account_id`` (the smallest member id of its duplicate
        cluster), ``parent_account_id`` (account of the direct parent, from parent_id),
        ``group_account_id`` (account at the top of the parent chain); one row per record.
    accounts
        ``account_id``, ``member_ids``, ``n_members``, ``name``, ``branches``,
        ``group_account_id``; one row per account.
    review_queue
        Uncertain pairs with their evidence, for a person to confirm or reject (see
        :func:`tierwise.accounts.review.review_queue`).
    pairs
        Every scored pair at or above the lower of ``review_lower`` and
        ``match_threshold``: ``left_id``, ``right_id``, ``match_weight``,
        ``match_probability`` and the comparison levels.
    decisions
        The stored decisions as applied (cleaned; latest per pair).
    summary
        Headline figures for the manifest: records, accounts, merged accounts, largest
        accounts, candidate and scored pairs, review queue size, decisions applied.
    params
        The fitted Fellegi–Sunter model (prior, m and u per comparison level), for the
        manifest's ``models.accounts``; empty when no model was fitted.
    """

    mapping: pa.Table
    accounts: pa.Table
    review_queue: pa.Table
    pairs: pa.Table
    decisions: pa.Table
    summary: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


def _empty_pairs() -> pa.Table:
    return pa.table(
        {
            "left_id": pa.array([], pa.string()),
            "right_id": pa.array([], pa.string()),
            "match_weight": pa.array([], pa.float64()),
            "match_probability": pa.array([], pa.float64()),
        }
    )


def _with_raw_fields(queue: pa.Table, records: pa.Table) -> pa.Table:
    """Put each record's own (un-normalised) fields beside the normalised evidence."""
    fields = [c for c in EVIDENCE_FIELDS if c in records.column_names]
    if not fields or not queue.num_rows:
        return queue
    ids = records["customer_id"].combine_chunks()
    out = queue
    at = 4  # after left_id, right_id, match_probability, match_weight
    for f in fields:
        vals = records[f].combine_chunks().cast(pa.string())
        for side in ("l", "r"):
            key = queue["left_id" if side == "l" else "right_id"]
            taken = vals.take(pc.index_in(key, value_set=ids))
            name = f"{f}_{side}"
            if name in out.column_names:
                name = f"{f}_raw_{side}"
            out = out.add_column(at, name, taken)
            at += 1
    return out


def resolve_accounts(
    customers: ir.Table | pa.Table,
    settings: AccountSettings,
    *,
    engine: Engine,
    decisions: pa.Table | None = None,
    seed: int = 42,
) -> AccountsResult:
    """Find duplicate customer records, group them into accounts and roll up parents.

    Normalises names, addresses, postcodes, phones, e-mail domains and tax ids in the
    engine, fits a Fellegi–Sunter model with Splink (EM; DuckDB or Spark, whichever the
    engine runs), clusters pairs at ``settings.match_threshold`` together with the stored
    decisions, queues uncertain pairs for review and follows ``parent_id`` to the top of
    each company group.

    Parameters
    ----------
    customers
        The canonical customers table (``customer_id`` required; name, address, postcode,
        city, phone, email, tax_id and parent_id used when present).
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
        The blocking rules would compare more than ``max_blocked_pairs`` pairs.
    EngineError
        The engine failed running Splink's queries (e.g. a Spark session that cannot load
        Splink's similarity functions): an engine fault is never passed off as "no
        duplicates found".

    When the data cannot support the model (too few records, no usable field, EM finding
    no pairs to learn from) every record stays its own account and
    ``summary["model_skipped_reason"]`` says why.

    Example
    -------
    >>> from tierwise.engine import Engine
    >>> from tierwise.settings import AccountSettings
    >>> from tierwise.demo import generate  # doctest: +SKIP
    >>> res = resolve_accounts(generate(3000).customers, AccountSettings(),
    ...                        engine=Engine())  # doctest: +SKIP
    >>> res.summary["n_merged_accounts"]  # doctest: +SKIP
    212
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
    if records["customer_id"].null_count:
        raise InputError("a customer record has no customer_id", column="customer_id")
    if pc.count_distinct(records["customer_id"]).as_py() != records.num_rows:
        raise InputError(
            "customer_id is not unique in the customers table",
            column="customer_id",
            hint="validation should have rejected the repeats",
        )
    clean = clean_decisions(decisions) if decisions is not None else None

    n = records.num_rows
    params: dict[str, Any] = {}
    levels: dict[str, dict[int, str]] = {}
    n_candidates = 0
    skipped = None
    if not settings.enabled:
        skipped = "switched off ([accounts] enabled = false)"
    elif n < settings.min_records:
        skipped = f"{n} records, fewer than [accounts] min_records ({settings.min_records})"
    pairs = _empty_pairs()
    if skipped is None:
        keep = min(settings.review_lower, settings.match_threshold)
        try:
            pred = predict_pairs(
                norm.select(["customer_id", *_MATCH_COLUMNS]),
                company_spec(settings),
                engine=engine,
                threshold=keep,
                seed=seed,
            )
        except ModelError as exc:
            # too little or too uniform data to fit: every record stays its own account
            # (stored decisions still apply) and the manifest says why
            skipped = exc.one_line()
        else:
            pairs, params, levels, n_candidates = (
                pred.pairs,
                pred.params,
                pred.levels,
                pred.n_candidate_pairs,
            )
    fitted = skipped is None

    mapping, cstats = cluster_pairs(records["customer_id"], pairs, settings.match_threshold, clean)
    mapping, gstats = group_accounts(records, mapping)
    accounts = account_table(records, mapping)
    queue = review_queue(
        pairs,
        levels,
        lower=settings.review_lower,
        upper=settings.review_upper,
        decisions=clean,
    )
    queue = _with_raw_fields(queue, records)
    summary: dict[str, Any] = merge_report(accounts)
    summary.update(
        {
            "model_fitted": fitted,
            "model_skipped_reason": skipped,
            "n_candidate_pairs": n_candidates,
            "n_pairs_scored": int(pairs.num_rows),
            "n_pairs_linked": cstats["n_links"],
            "n_review_pairs": int(queue.num_rows),
            "n_decisions": 0 if clean is None else int(clean.num_rows),
            "n_confirmed_applied": cstats["n_confirmed"],
            "n_rejected_split": cstats["n_rejected_split"],
            "n_decision_conflicts": cstats["n_conflicts"],
            "n_with_parent": gstats["n_with_parent"],
            "n_group_accounts": gstats["n_groups"],
            "n_parent_cycles": gstats["n_cycles"],
            "match_threshold": settings.match_threshold,
        }
    )
    return AccountsResult(
        mapping=mapping,
        accounts=accounts,
        review_queue=queue,
        pairs=pairs,
        decisions=clean if clean is not None else empty_decisions(),
        summary=summary,
        params=params,
    )
