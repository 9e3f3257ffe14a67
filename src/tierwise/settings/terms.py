"""Settings for the terms stage: trading terms per tier, the discount audit, KPI targets and
routes to market."""

from __future__ import annotations

import itertools

from pydantic import Field, field_validator, model_validator

from ._base import Section, unknown_name
from .profitability import ACTIVITY_POOLS

__all__ = ["TermsSettings"]


class TermsSettings(Section):
    """Trading terms per tier priced by the costs they remove, the discount policy per
    class, KPI targets per rep × segment and the efficiency of each route to market.

    Tier settings are tables keyed by terms name (by default the tier names gold, silver,
    bronze of the segments stage); a customer's terms are those named by its ``tier``.
    See docs/terms.md.
    """

    merged_tables = (
        "min_order_value",
        "max_deliveries_per_month",
        "payment_days",
        "rebate_ladder",
        "prompt_payment_rebate",
        "headroom_capture",
        "route_channels",
    )

    # -- trading terms ----------------------------------------------------------------------

    default_terms: str = "bronze"
    """Terms for customers without a tier, or whose tier has no terms here. Default
    "bronze"."""

    min_order_value: dict[str, float] = Field(
        default_factory=lambda: {"gold": 150.0, "silver": 250.0, "bronze": 400.0}
    )
    """Minimum order value per terms name; currency units per order (0: no minimum).
    Default gold 150, silver 250, bronze 400."""

    max_deliveries_per_month: dict[str, float] = Field(
        default_factory=lambda: {"gold": 8.0, "silver": 4.0, "bronze": 2.0}
    )
    """Most deliveries a customer gets per month, per terms name; deliveries per month (0:
    no limit). Default gold 8, silver 4, bronze 2."""

    payment_days: dict[str, float] = Field(
        default_factory=lambda: {"gold": 45.0, "silver": 30.0, "bronze": 14.0}
    )
    """Payment terms per terms name; days from invoice. Default gold 45, silver 30,
    bronze 14."""

    rebate_ladder: dict[str, list[list[float]]] = Field(
        default_factory=lambda: {
            "gold": [[50_000.0, 0.01], [150_000.0, 0.02], [400_000.0, 0.03]],
            "silver": [[50_000.0, 0.005], [150_000.0, 0.01]],
            "bronze": [],
        }
    )
    """Incremental volume rebate per terms name: [[step, rate], …] with increasing steps;
    the rate of a step is paid on the yearly revenue above that step and below the next
    (currency units a year; fraction). Default gold [[50000, 0.01], [150000, 0.02],
    [400000, 0.03]], silver [[50000, 0.005], [150000, 0.01]], bronze none."""

    prompt_payment_rebate: dict[str, float] = Field(
        default_factory=lambda: {"gold": 0.02, "silver": 0.01, "bronze": 0.0}
    )
    """Rebate for paying within ``prompt_payment_days``, per terms name; fraction of the
    invoice (0.02 = 2%). Default gold 0.02, silver 0.01, bronze 0."""

    prompt_payment_days: float = Field(default=10.0, ge=0)
    """An invoice paid within this many days earns the prompt-payment rebate; days.
    Default 10."""

    min_order_compliance: float = Field(default=0.7, ge=0, le=1)
    """Share of the orders below a minimum that customers consolidate into larger orders
    (the rest go on as exceptions); fraction. Default 0.7."""

    delivery_compliance: float = Field(default=0.8, ge=0, le=1)
    """Share of the deliveries above the monthly limit that are pooled; fraction.
    Default 0.8."""

    late_payment_reduction: float = Field(default=0.5, ge=0, le=1)
    """Share of the late-payment cost removed by enforcing the tier's payment days
    (reminders, credit holds) for customers who do not take the prompt-payment rebate;
    fraction. Default 0.5."""

    prompt_payment_uptake: float = Field(default=0.4, ge=0, le=1)
    """Share of a tier's revenue whose invoices are paid within the prompt-payment days
    once the rebate is offered; fraction. Default 0.4."""

    ladder_headroom_capture: float = Field(default=0.1, ge=0, le=1)
    """Share of a customer's headroom (wallet − spend) won because the rebate ladder
    rewards volume; fraction. Default 0.1."""

    default_payment_days: float = Field(default=30.0, ge=0)
    """Payment terms of customers whose payment_terms_days is empty; days. Default 30."""

    # -- discount audit ------------------------------------------------------------------------

    discount_bands: dict[str, list[float]] = Field(default_factory=dict)
    """Explicit discount band per value class: [lowest, deepest] discount off list price;
    fractions (0.04 = 4%), e.g. {A = [0.04, 0.12], C = [0.0, 0.04]}. A class listed here
    uses this band; every other class gets its band from the price waterfall
    (``discount_band_percentiles``). Default none (every band from the waterfall)."""

    discount_band_percentiles: list[float] = Field(default_factory=lambda: [0.10, 0.90])
    """Percentiles of the list-revenue-weighted discount depth within a class that give its
    band's low and high edge, for classes without an explicit ``discount_bands`` entry;
    fractions [low, high]. Default [0.10, 0.90] (the middle 80% of the class's list
    revenue is in band)."""

    discount_band_min_customers: int = Field(default=10, ge=1)
    """A class's band comes from the waterfall only when at least this many of its
    customers have a discount depth; smaller classes get no band (flag "no band", with a
    warning) unless ``discount_bands`` names one; customers. Default 10."""

    at_risk_defection: float = Field(default=0.5, ge=0, le=1)
    """A customer with a defection_risk at or above this (or status "at_risk") is at risk;
    fraction. Default 0.5."""

    # -- KPI targets --------------------------------------------------------------------------

    headroom_capture: dict[str, float] = Field(
        default_factory=lambda: {"A": 0.10, "B": 0.10, "C": 0.05, "D": 0.0}
    )
    """Share of each customer's headroom (wallet − spend) in its revenue target, per
    segment, when there is no coverage plan; fraction. Segments neither given nor in the
    default get 0. Default A 0.10, B 0.10, C 0.05, D 0."""

    retention_target: dict[str, float] = Field(default_factory=lambda: {"A": 0.95})
    """Share of a segment's accounts still buying at the end of the period, per segment
    with a retention target; fraction. Default A 0.95."""

    target_within_wallet: bool = True
    """Cap each customer's revenue target at its estimated wallet (what it spends on our
    kind of products with every supplier), where the potential stage estimated one: growth
    beyond the wallet would need spend the customer does not have, and the Targets sheet
    would show headroom 0 beside revenue growth. Capped customers and the revenue taken off
    are counted in a warning and the manifest; off, targets are the plan's figures.
    Default true."""

    prospect_conversion_rate: float = Field(default=0.10, ge=0, le=1)
    """Share of a rep's prospects to win as customers in the period; fraction.
    Default 0.10."""

    prospect_first_year_share: float = Field(default=0.25, ge=0, le=1)
    """Share of a won prospect's wallet bought in its first year; fraction. Default 0.25."""

    unassigned_rep: str = "(unassigned)"
    """Rep label of customers with neither assigned_rep nor rep_id. Default
    "(unassigned)"."""

    # -- routes to market ------------------------------------------------------------------------

    route_channels: dict[str, str] = Field(
        default_factory=lambda: {"visits": "field", "calls": "inside", "emails": "email"}
    )
    """The channel each sales-contact pool stands for (pools visits, calls, emails of the
    profitability stage); a customer's observed channel is the one with the largest
    cost of these pools, else its current_channel. Keys are cost pools of
    [profitability] activity_pools, values channels of [coverage] channels or band names
    of [coverage] band_channels, or "none" for a pool that stands for no channel (it is
    then no cost of sale). Merged with the default: a pool left out keeps its default
    channel. Default visits → field, calls → inside, emails → email."""

    @field_validator("route_channels")
    @classmethod
    def _route_pools(cls, value: dict[str, str]) -> dict[str, str]:
        for pool in value:
            if pool not in ACTIVITY_POOLS:
                raise ValueError(
                    unknown_name(
                        pool, "cost pool", ACTIVITY_POOLS, "([profitability] activity_pools)"
                    )
                )
        return value

    @field_validator("rebate_ladder")
    @classmethod
    def _ladder(cls, value: dict[str, list[list[float]]]) -> dict[str, list[list[float]]]:
        for name, steps in value.items():
            for step in steps:
                if len(step) != 2 or step[0] < 0 or not 0 <= step[1] <= 1:
                    raise ValueError(
                        f"{name}: each step is [volume ≥ 0, rate between 0 and 1] (got {step})"
                    )
            if any(b[0] <= a[0] for a, b in itertools.pairwise(steps)):
                raise ValueError(f"{name}: rebate steps must increase")
        return value

    @field_validator("discount_bands")
    @classmethod
    def _bands(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for name, band in value.items():
            if len(band) != 2 or not 0 <= band[0] <= band[1] <= 1:
                raise ValueError(f"{name}: a band is [lowest, deepest] within [0, 1] (got {band})")
        return value

    @field_validator("discount_band_percentiles")
    @classmethod
    def _percentiles(cls, value: list[float]) -> list[float]:
        if len(value) != 2 or not 0 <= value[0] <= value[1] <= 1:
            raise ValueError(f"percentiles are [low, high] within [0, 1] (got {value})")
        return value

    @field_validator("headroom_capture", "retention_target", "prompt_payment_rebate")
    @classmethod
    def _fractions(cls, value: dict[str, float]) -> dict[str, float]:
        for name, x in value.items():
            if not 0 <= x <= 1:
                raise ValueError(f"{name}: must be between 0 and 1 (got {x})")
        return value

    @field_validator("min_order_value", "max_deliveries_per_month", "payment_days")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for name, x in value.items():
            if x < 0:
                raise ValueError(f"{name}: must be ≥ 0 (got {x})")
        return value

    @model_validator(mode="after")
    def _default_known(self) -> TermsSettings:
        named = (
            set(self.min_order_value)
            | set(self.max_deliveries_per_month)
            | set(self.payment_days)
            | set(self.rebate_ladder)
            | set(self.prompt_payment_rebate)
        )
        if named and self.default_terms not in named:
            raise ValueError(
                f"default_terms {self.default_terms!r} names no terms "
                f"(terms named: {', '.join(sorted(named))})"
            )
        return self

    def terms_names(self) -> list[str]:
        """Every terms name any tier setting mentions, sorted."""
        return sorted(
            set(self.min_order_value)
            | set(self.max_deliveries_per_month)
            | set(self.payment_days)
            | set(self.rebate_ladder)
            | set(self.prompt_payment_rebate)
        )
