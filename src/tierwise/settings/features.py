"""Settings for the per-customer features computed from transactions."""

from __future__ import annotations

from pydantic import Field

from ._base import Section


class FeatureSettings(Section):
    """Per-customer figures from the transactions."""

    margin_rate: float | None = Field(default=None, ge=0, le=1)
    """Gross margin as a fraction of revenue, used for lines without a cost. Default: none
    (gross margin is left empty where cost is missing)."""

    window_months: int = Field(default=12, ge=1)
    """Length of the "last period" and the "period before" for the order trend; months.
    Default 12."""
