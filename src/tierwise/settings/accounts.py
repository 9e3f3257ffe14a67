"""Settings for the accounts stage."""

from __future__ import annotations

from ._base import Section


class AccountSettings(Section):
    """Duplicate customer records and account roll-up."""
