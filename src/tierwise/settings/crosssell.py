"""Settings for the cross-sell stage: basket rules, next best products, up-sell, evaluation."""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ._base import Section

__all__ = ["CrossSellSettings"]

ItemLevel = Literal["product", "category"]


def _both_levels() -> list[ItemLevel]:
    return ["product", "category"]


class CrossSellSettings(Section):
    """Association rules from order baskets, next best products from look-alike customers
    and rules, up-sell against peers, and the time-split hit-rate evaluation.

    A basket is an order (its sale lines; returns and cancellations left out); an item is a
    product or a product category. See docs/crosssell.md.
    """

    # -- basket rules ---------------------------------------------------------------------

    level: ItemLevel = "product"
    """Item level of the recommendations (cross_sell.csv): "product" (product_id) or
    "category" (product_category). Default "product"."""

    rule_levels: list[ItemLevel] = Field(default_factory=_both_levels)
    """Item levels written to basket_rules.csv. Default ["product", "category"]."""

    min_support: float = Field(default=0.001, ge=0, le=1)
    """A pair (and each of its items) must be in at least this fraction of the baskets;
    fraction. Default 0.001 (one basket in a thousand)."""

    min_pair_count: int = Field(default=5, ge=1)
    """A pair must be in at least this many baskets, whatever the support; baskets.
    Default 5."""

    min_confidence: float = Field(default=0.05, ge=0, le=1)
    """A rule X → Y is kept when at least this fraction of the baskets with X also hold Y;
    fraction. Default 0.05."""

    min_lift: float = Field(default=1.2, ge=0)
    """A rule is kept when Y is at least this many times more frequent in baskets with X
    than in all baskets; ratio. Default 1.2."""

    max_basket_items: int = Field(default=50, ge=2)
    """Baskets with more distinct items than this are left out of the rules (their pairs
    grow with the square of their size and say little about affinity); items.
    Default 50."""

    max_rules: int = Field(default=20_000, ge=1)
    """At most this many rules per item level are kept, highest lift first; rules.
    Default 20000."""

    # -- next best products -----------------------------------------------------------------

    lookback_months: int = Field(default=24, ge=1)
    """Spend on an item is measured over this many months up to the analysis date and
    expressed per year (what a customer owns counts from the whole history); months.
    Default 24."""

    peer_columns: list[str] = Field(default_factory=lambda: ["value_class", "niche"])
    """Customer columns that define look-alikes, coarsest first (a customer's peers share
    its values in these columns). Those absent or empty in the customer table are skipped.
    Default ["value_class", "niche"] (the segments stage's class and niche)."""

    fallback_peer_columns: list[str] = Field(default_factory=lambda: ["industry", "size_band"])
    """Look-alike columns when none of ``peer_columns`` is present; "size_band" is the
    head-count band from ``size_bands`` (annual revenue quintile without head count).
    Default ["industry", "size_band"]."""

    size_bands: list[float] = Field(default_factory=lambda: [10.0, 50.0, 250.0, 1000.0])
    """Upper bounds of the head-count bands of "size_band"; employees. Default [10, 50, 250,
    1000] (five bands)."""

    min_peers: int = Field(default=20, ge=2)
    """A peer group needs at least this many buying customers; smaller groups fall back to
    the next coarser grouping (dropping the last peer column), down to all customers;
    customers. Default 20."""

    candidates_per_customer: int = Field(default=20, ge=1)
    """Items each customer is scored on from its peers: the peer group's most bought items
    it does not own, this many (items its rules propose are scored as well). Items proposed
    by peers alone rank by peer share, so max_recommendations of them suffice; the rest is a
    margin for ties; items. Default 20."""

    candidate_pool: int = Field(default=100, ge=1)
    """Peer candidates come from the group's this many most bought items (so the work grows
    with customers × this, not with the catalogue); a customer who owns most of them gets
    fewer than ``candidates_per_customer``. The popularity baseline of the evaluation draws
    from the same number of most bought items; items. Default 100."""

    max_recommendations: int = Field(default=10, ge=1)
    """Recommendations per customer in cross_sell.csv; items. Default 10."""

    crm_top_n: int = Field(default=5, ge=1)
    """Recommendations listed in the customer column next_best_products (for the CRM
    export); items. Default 5."""

    include_prospects: bool = False
    """Recommend to prospects too (from their peers alone; they own nothing). Default
    false."""

    # -- up-sell --------------------------------------------------------------------------------

    upsell_spend_ratio: float = Field(default=0.5, gt=0, le=1)
    """A customer buying a category for less than this fraction of its peers' median yearly
    spend on it (among peers who buy it) is an up-sell lead; fraction. Default 0.5."""

    upsell_price_ratio: float = Field(default=0.8, gt=0, le=1)
    """A customer paying on average less than this fraction of its peers' median unit price
    in a category (it buys the cheaper lines) is an up-sell lead; fraction. Default 0.8."""

    upsell_share_ratio: float = Field(default=0.5, gt=0, le=1)
    """A customer whose spend on a category is a smaller share of its yearly spend with us
    than this fraction of its peers' median share (among peers who buy the category) is an
    up-sell lead: its category share of wallet is low for its kind; fraction.
    Default 0.5."""

    upsell_capture: float = Field(default=0.25, ge=0, le=1)
    """Share of an up-sell gap expected to be won; the expected value is gap × margin ×
    this; fraction. Default 0.25."""

    max_upsell: int = Field(default=3, ge=1)
    """Up-sell leads per customer in up_sell.csv; categories. Default 3."""

    # -- evaluation -----------------------------------------------------------------------------

    evaluate: bool = True
    """Measure the hit rate in every run where the history allows: recommend from the data
    up to a cutoff, check the next period's first purchases. Default true."""

    eval_horizon_months: int = Field(default=6, ge=1)
    """Length of the period after the cutoff whose first purchases are checked; the cutoff
    is this many months before the analysis date; months. Default 6."""

    eval_min_history_months: int = Field(default=6, ge=1)
    """The evaluation runs only with at least this much history before the cutoff; months.
    Default 6."""

    eval_min_customers: int = Field(default=30, ge=1)
    """The evaluation is reported only when at least this many customers bought an item new
    to them after the cutoff; customers. Default 30."""

    eval_max_customers: int = Field(default=20_000, ge=1)
    """At most this many of those customers are evaluated (a random sample drawn with the
    run seed); customers. Default 20000."""

    eval_production_peers: bool = True
    """Measure the hit rate a second time with the production look-alikes (``peer_columns``,
    the segments stage's class and niche) when the customer table has them. Those are
    computed from the whole history, the evaluation's horizon included, so this second
    figure may be optimistic; the headline figure uses ``fallback_peer_columns``. Default
    true."""

    @field_validator("size_bands")
    @classmethod
    def _bands_increase(cls, value: list[float]) -> list[float]:
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError("size bands must increase")
        return value

    @model_validator(mode="after")
    def _top_n_within(self) -> CrossSellSettings:
        if self.crm_top_n > self.max_recommendations:
            raise ValueError(
                f"crm_top_n ({self.crm_top_n}) exceeds max_recommendations "
                f"({self.max_recommendations})"
            )
        return self
