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

    recent_months: int = Field(default=12, ge=1)
    """Months up to the analysis date summed in the recent-revenue column ``revenue_12m``
    (the column keeps its name; change this only when every reader of the column expects
    the other window); months. Default 12."""

    pair_cancellations: bool = True
    """Pair each cancellation line with the purchase line it cancels (same customer and
    product, same quantity, nearest earlier purchase) and take the cancelled quantity and
    value off that purchase; off, every cancellation line counts as a return. Default
    true."""

    partial_cancellations: bool = True
    """After the exact pairs, pair a cancellation left over with the nearest earlier
    purchase of the product with at least its quantity (a partial cancellation). Default
    true."""
