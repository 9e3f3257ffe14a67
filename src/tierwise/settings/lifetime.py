"""Settings for the lifetime stage."""

from __future__ import annotations

from ._base import Section


class LifetimeSettings(Section):
    """Lifetime value, status and defection risk."""
