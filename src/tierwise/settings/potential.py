"""Settings for the potential stage."""

from __future__ import annotations

from ._base import Section


class PotentialSettings(Section):
    """Wallet (potential value) and share-of-wallet estimation."""
