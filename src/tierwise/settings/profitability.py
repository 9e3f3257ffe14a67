"""Settings for the profitability stage."""

from __future__ import annotations

from ._base import Section


class ProfitabilitySettings(Section):
    """Cost-to-serve rates and profitability options."""
