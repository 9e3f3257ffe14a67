"""``tierwise serve``: the local dashboard over a run, and the decisions people make in it.

- :func:`create_app` / :func:`serve`: the FastAPI dashboard (127.0.0.1 by default; another
  address only with an access token).
- :func:`read_overrides`: the class overrides made in the dashboard, as the segments stage's
  overrides table (customer_id, value_class, tier, reason, by, at, and each field's own
  reason, author and time).
- :func:`read_review_decisions`: the duplicate-review decisions, in the accounts stage's
  decisions format (left_id, right_id, decision, decided_by, decided_at,
  decided_at_as_written).
"""

from __future__ import annotations

from .server import create_app, is_loopback, serve
from .store import (
    OVERRIDES_FILE,
    OVERRIDES_SCHEMA,
    DecisionStore,
    read_overrides,
    read_review_decisions,
)

__all__ = [
    "OVERRIDES_FILE",
    "OVERRIDES_SCHEMA",
    "DecisionStore",
    "create_app",
    "is_loopback",
    "read_overrides",
    "read_review_decisions",
    "serve",
]
