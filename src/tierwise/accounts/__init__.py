"""Duplicate customer records → accounts: find (Splink, or rules), cluster, review, roll up.

The stage entry point is :func:`resolve_accounts`; :func:`merge_report` (with
:func:`record_revenue`) reports the accounts whose class the merge changes. The pieces are
public for notebooks and for the dashboard's review page.

Example
-------
>>> from tierwise.accounts import resolve_accounts
>>> from tierwise.engine import Engine
>>> from tierwise.settings import AccountSettings
>>> result = resolve_accounts(customers, AccountSettings(), engine=Engine())  # doctest: +SKIP
>>> result.mapping.column_names  # doctest: +SKIP
['customer_id', 'account_id', 'parent_account_id', 'group_account_id']
"""

from __future__ import annotations

from .blocking import BlockingPlan, plan_blocking
from .linkage import LinkageSpec, Predictions, TrainingError, company_spec, predict_pairs
from .names import names_agree, one_edit_apart
from .normalise import normalise_customers, normalise_name
from .report import MergeReport, merge_report, record_revenue, revenue_classes, window_start
from .resolve import REVIEW_QUEUE_SCHEMA, AccountsResult, resolve_accounts
from .review import AS_WRITTEN, DECISIONS_SCHEMA, clean_decisions, empty_decisions, review_queue
from .rollup import (
    account_table,
    class_changes,
    cluster_pairs,
    group_accounts,
    group_totals,
    merge_summary,
)
from .rules import candidate_pairs, guard_pairs, rule_pairs

__all__ = [
    "AS_WRITTEN",
    "DECISIONS_SCHEMA",
    "REVIEW_QUEUE_SCHEMA",
    "AccountsResult",
    "BlockingPlan",
    "LinkageSpec",
    "MergeReport",
    "Predictions",
    "TrainingError",
    "account_table",
    "candidate_pairs",
    "class_changes",
    "clean_decisions",
    "cluster_pairs",
    "company_spec",
    "empty_decisions",
    "group_accounts",
    "group_totals",
    "guard_pairs",
    "merge_report",
    "merge_summary",
    "names_agree",
    "normalise_customers",
    "normalise_name",
    "one_edit_apart",
    "plan_blocking",
    "predict_pairs",
    "record_revenue",
    "resolve_accounts",
    "revenue_classes",
    "review_queue",
    "rule_pairs",
    "window_start",
]
