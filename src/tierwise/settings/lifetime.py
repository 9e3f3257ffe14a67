"""Settings for the lifetime stage."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._base import Section


class LifetimeSettings(Section):
    """Lifetime value, status and defection risk."""

    time_unit: Literal["days", "weeks"] = "weeks"
    """Time unit of the buy-till-you-die models (x, t_x, T and the fitted alpha/beta are in
    it). Default "weeks" (the unit of the published CDNOW figures)."""

    transaction_model: Literal["bgnbd", "pareto_nbd", "mbgnbd"] = "bgnbd"
    """Model that gives P(alive), expected purchases and CLV per customer: "bgnbd",
    "pareto_nbd" or "mbgnbd" (MBG/NBD, which unlike BG/NBD lets one-off buyers drop out, so
    their P(alive) falls with the time since their only purchase). Default "bgnbd"."""

    fit_pareto_nbd: bool = True
    """Also fit Pareto/NBD (recorded in the manifest for comparison). Default true."""

    fit_mbgnbd: bool = True
    """Also fit MBG/NBD (recorded in the manifest for comparison). Default true."""

    forecast_horizon_days: int = Field(default=365, ge=1)
    """Horizon of the expected_purchases_<N>d column; days. Default 365."""

    clv_horizon_months: int = Field(default=36, ge=1)
    """Horizon over which customer lifetime value is summed; months. Default 36."""

    discount_rate: float = Field(default=0.10, ge=0, lt=1)
    """Yearly discount rate for lifetime value (applied monthly as (1+d)^(1/12)); fraction.
    Default 0.10."""

    margin_rate: float | None = Field(default=None, ge=-1, le=1)
    """Net margin as a fraction of revenue used for lifetime value when no per-customer
    margin is supplied. Default none: lifetime value in revenue terms."""

    # -- status -----------------------------------------------------------------------
    new_days: int = Field(default=90, ge=0)
    """A customer whose first purchase is at most this many days old is "new"; days.
    Default 90."""

    at_risk_ratio: float = Field(default=1.5, gt=0)
    """Days since the last purchase over the customer's usual gap above which they are "at
    risk"; ratio. Default 1.5."""

    inactive_ratio: float = Field(default=3.0, gt=0)
    """Days since the last purchase over the usual gap above which they are "inactive";
    ratio. Default 3.0."""

    lapsed_days: int = Field(default=365, ge=1)
    """An inactive customer whose last purchase is older than this is "lapsed"; days.
    Default 365."""

    min_gap_days: float = Field(default=7.0, gt=0)
    """Floor on a customer's usual gap between purchases (so that daily buyers are not "at
    risk" after a quiet week); days. Default 7."""

    default_gap_days: float | None = Field(default=None, gt=0)
    """Usual gap assumed for customers with a single purchase day; days. Default none: the
    median gap of the repeat buyers."""

    # -- defection risk ---------------------------------------------------------------
    defection_window_days: int = Field(default=180, ge=7)
    """A customer "defects" when they make no purchase in the next this many days (the
    label of the defection model and the horizon of the risk); days. Default 180."""

    supervised_model: bool = True
    """Fit a supervised defection model (gradient boosting with calibrated probabilities)
    when the history is long enough, and use it if it beats BG/NBD on the holdout. Default
    true."""

    min_training_customers: int = Field(default=200, ge=10)
    """Fewest customers needed to train the supervised defection model. Default 200."""

    high_value_share: float = Field(default=0.2, gt=0, le=1)
    """Top share of customers by lifetime value counted as high value; fraction. Default
    0.2."""

    high_risk: float = Field(default=0.5, gt=0, lt=1)
    """Defection risk at or above which a high-value customer is listed as at risk;
    probability. Default 0.5."""

    # -- evaluation -------------------------------------------------------------------
    holdout_days: int | None = Field(default=None, ge=7)
    """Length of the holdout period for the built-in calibration/holdout evaluation; days.
    Default none: the defection window. The evaluation is skipped when the history is
    shorter than twice this."""

    max_iter: int = Field(default=2000, ge=10)
    """Most optimiser iterations per start of a likelihood fit. Default 2000."""

    tol: float = Field(default=1e-9, gt=0)
    """Gradient tolerance of the likelihood fits, on the mean log-likelihood per customer.
    Default 1e-9."""
