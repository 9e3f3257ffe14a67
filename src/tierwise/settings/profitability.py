"""Settings for the profitability stage: cost-to-serve rates, the P&L period, ease weights.

Money is in the currency of the input files ("currency units"); defaults are typical of a
European B2B distributor in euros and should be replaced with the seller's own activity-based
costing figures.
"""

from __future__ import annotations

import itertools

from pydantic import Field, field_validator

from ..schema import fold_text
from ._base import Section

#: Cost-to-serve pools fed by the activities table (an activity type maps to one of these).
ACTIVITY_POOLS = (
    "visits",
    "calls",
    "emails",
    "deliveries",
    "returns",
    "order_changes",
    "quotes",
    "support",
    "other",
)

#: Components of the ease-of-doing-business score.
EASE_COMPONENTS = (
    "payment_days_late",
    "share_invoices_late",
    "order_size",
    "order_changes",
    "returns",
    "discount_depth",
    "sales_effort",
)


class ProfitabilitySettings(Section):
    """Cost-to-serve rates and profitability options.

    Each activity is costed, in this order of preference: its own recorded ``cost`` (when
    ``use_recorded_cost``), else ``duration_minutes`` × the pool's rate in ``cost_per_minute``
    (when both exist), else the pool's flat rate below.
    """

    merged_tables = ("activity_pools", "ease_weights")

    # -- the period -----------------------------------------------------------------

    period_months: int = Field(default=12, ge=0)
    """Length of the P&L period ending at the analysis date; months. Transactions and
    activities dated after (as_of − period_months) and up to as_of, and invoices falling due
    in that span, are counted. Default 12 (a yearly P&L); 0 uses the whole history up to
    as_of."""

    # -- flat rates per event ----------------------------------------------------------

    cost_per_visit: float = Field(default=150.0, ge=0)
    """Cost of one field visit (rep time and travel); currency units per visit. Default 150."""

    cost_per_call: float = Field(default=10.0, ge=0)
    """Cost of one telephone call; currency units per call. Default 10."""

    cost_per_email: float = Field(default=3.0, ge=0)
    """Cost of one sales or service email; currency units per email. Default 3."""

    cost_per_order: float = Field(default=20.0, ge=0)
    """Cost of processing one order (order entry, invoicing, collection); currency units per
    order. Default 20."""

    cost_per_order_line: float = Field(default=2.0, ge=0)
    """Cost of one order line (picking, packing); currency units per line. Default 2."""

    cost_per_delivery: float = Field(default=40.0, ge=0)
    """Cost of one delivery (drop); currency units per delivery. Default 40. When the
    activities hold no delivery in the period, every order counts as one delivery."""

    cost_per_return: float = Field(default=50.0, ge=0)
    """Cost of handling one return (collection, inspection, restocking, credit note);
    currency units per return. Default 50. When the activities hold no return in the period,
    every credit note (an order with a return line) counts as one return."""

    cost_per_order_change: float = Field(default=15.0, ge=0)
    """Cost of one order change or cancellation; currency units per change. Default 15. When
    the activities hold no order change in the period, every cancelled order counts as one."""

    cost_per_quote: float = Field(default=30.0, ge=0)
    """Cost of preparing one quote; currency units per quote. Default 30."""

    cost_per_support_case: float = Field(default=25.0, ge=0)
    """Cost of one support or complaint case; currency units per case. Default 25."""

    cost_per_other_activity: float = Field(default=0.0, ge=0)
    """Cost of an activity whose type maps to no pool (pool "other"), when it has no recorded
    cost; currency units per activity. Default 0."""

    cost_per_minute: dict[str, float] = Field(default_factory=dict)
    """Rate per minute of recorded activity duration, by pool (e.g. {visits = 1.5, calls =
    0.8}); currency units per minute. Activities of these pools with a duration_minutes are
    costed as duration × rate instead of the flat rate. Default: empty (flat rates only)."""

    use_recorded_cost: bool = True
    """Use an activity's own ``cost`` column where it is filled, before duration or flat rate.
    Default true."""

    # -- small orders ----------------------------------------------------------------

    drop_size_threshold: float = Field(default=250.0, ge=0)
    """Minimum order value (net revenue of the order's sale lines) below which an order is a
    small drop; currency units. Default 250."""

    small_order_surcharge: float = Field(default=25.0, ge=0)
    """Extra cost charged for each order below ``drop_size_threshold`` (the fixed cost a
    small drop does not cover); currency units per small order. Default 25."""

    minimum_economic_order: float | None = Field(default=None, gt=0)
    """Order value the ease score compares each customer's average order with; currency
    units. Default: none (the drop_size_threshold)."""

    # -- financing -----------------------------------------------------------------

    cost_of_capital: float = Field(default=0.08, ge=0, le=1)
    """Annual cost of capital for financing late payments, fraction per year (0.08 = 8%).
    Late-payment cost of an invoice = days beyond due date × amount × cost_of_capital / 365.
    Default 0.08."""

    payment_grace_days: int = Field(default=0, ge=0)
    """An invoice paid up to this many days after its due date is not late; days. Days
    beyond the grace period are financed. Default 0."""

    # -- rebates -------------------------------------------------------------------

    rebate_rate: float = Field(default=0.0, ge=0, le=1)
    """Off-invoice rebate as a fraction of each customer's net revenue in the period
    (0.02 = 2%). Default 0."""

    rebate_column: str | None = None
    """Name of a column of the customers table holding each customer's own rebate rate
    (fraction); where filled it replaces ``rebate_rate``. Default: none."""

    # -- activity types ----------------------------------------------------------------

    activity_pools: dict[str, str] = Field(
        default_factory=lambda: {
            "visit": "visits",
            "field_visit": "visits",
            "meeting": "visits",
            "call": "calls",
            "phone_call": "calls",
            "email": "emails",
            "delivery": "deliveries",
            "order_change": "order_changes",
            "cancellation": "order_changes",
            "return": "returns",
            "quote": "quotes",
            "support": "support",
            "support_case": "support",
            "complaint": "support",
        }
    )
    """Which cost pool each activity type belongs to (compared as the file's types are read:
    without regard to case, spaces and hyphens as underscores, so "E-Mail" is ``e_mail``).
    Pools: visits, calls, emails, deliveries, returns, order_changes, quotes, support, other.
    Types not listed go to "other", and the run's warnings name them with their counts (map
    a type to "other" to keep it there without the warning). Default: visit/field_visit/
    meeting → visits, call/phone_call → calls, email → emails, delivery → deliveries,
    order_change/cancellation → order_changes, return → returns, quote → quotes,
    support/support_case/complaint → support."""

    # -- ease of doing business ----------------------------------------------------------

    ease_weights: dict[str, float] = Field(
        default_factory=lambda: dict.fromkeys(EASE_COMPONENTS, 1.0)
    )
    """Weight of each ease-of-doing-business component in the 0–100 score (relative; a
    customer's missing components are left out and the rest re-weighted). Components:
    payment_days_late, share_invoices_late, order_size, order_changes, returns,
    discount_depth, sales_effort. Default 1 each."""

    size_bands: list[float] = Field(default_factory=lambda: [10.0, 50.0, 250.0, 1000.0])
    """Upper bounds of the company-size bands (employees) within which discount depth is
    compared, together with industry; head count. Default [10, 50, 250, 1000] (five bands).
    Customers without a head count are banded by revenue instead (revenue_bands)."""

    revenue_bands: int = Field(default=5, ge=1, le=100)
    """Customers without a head count are compared, for discount depth, within this many
    equal-sized revenue bands (5 = quintiles); bands. Default 5."""

    effort_margin_unit: float = Field(default=1000.0, gt=0)
    """Sales effort is counted as visits and calls per this much gross margin; currency
    units. Default 1000."""

    reconcile: bool = True
    """Compute independent totals over the inputs (one extra scan of the transactions and
    the activities) to check that the customers' figures add up. Default true."""

    @field_validator("activity_pools")
    @classmethod
    def _known_pools(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted({p for p in value.values() if p not in ACTIVITY_POOLS})
        if bad:
            raise ValueError(f"unknown pool {bad[0]!r} (use one of {', '.join(ACTIVITY_POOLS)})")
        return {fold_text(k): v for k, v in value.items()}

    @field_validator("cost_per_minute")
    @classmethod
    def _minute_pools(cls, value: dict[str, float]) -> dict[str, float]:
        for pool, rate in value.items():
            if pool not in ACTIVITY_POOLS:
                raise ValueError(f"unknown pool {pool!r} (use one of {', '.join(ACTIVITY_POOLS)})")
            if rate < 0:
                raise ValueError(f"rate for {pool!r} must be ≥ 0 (got {rate})")
        return value

    @field_validator("ease_weights")
    @classmethod
    def _ease_keys(cls, value: dict[str, float]) -> dict[str, float]:
        for name, w in value.items():
            if name not in EASE_COMPONENTS:
                raise ValueError(
                    f"unknown ease component {name!r} (use one of {', '.join(EASE_COMPONENTS)})"
                )
            if w < 0:
                raise ValueError(f"weight of {name!r} must be ≥ 0 (got {w})")
        if value and sum(value.values()) <= 0:
            raise ValueError("at least one ease weight must be > 0")
        return value

    @field_validator("size_bands")
    @classmethod
    def _bands_increase(cls, value: list[float]) -> list[float]:
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError("size bands must increase")
        return value

    @property
    def economic_order(self) -> float:
        """The minimum economic order used by the ease score; currency units."""
        return (
            self.minimum_economic_order
            if self.minimum_economic_order is not None
            else self.drop_size_threshold
        )
