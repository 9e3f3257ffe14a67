"""Duplicate customer records → accounts: find (Splink), cluster, review, roll up.

The stage entry point is :func:`resolve_accounts`; the pieces are public for notebooks
and for the dashboard's review page.

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

from .linkage import LinkageSpec, Predictions, company_spec, predict_pairs
from .normalise import normalise_customers, normalise_name
from .resolve import AccountsResult, resolve_accounts
from .review import DECISIONS_SCHEMA, clean_decisions, empty_decisions, review_queue
from .rollup import (
    account_table,
    class_changes,
    cluster_pairs,
    group_accounts,
    group_totals,
    merge_report,
)

__all__ = [
    "DECISIONS_SCHEMA",
    "AccountsResult",
    "LinkageSpec",
    "Predictions",
    "account_table",
    "class_changes",
    "clean_decisions",
    "cluster_pairs",
    "company_spec",
    "empty_decisions",
    "group_accounts",
    "group_totals",
    "merge_report",
    "normalise_customers",
    "normalise_name",
    "predict_pairs",
    "resolve_accounts",
    "review_queue",
]
