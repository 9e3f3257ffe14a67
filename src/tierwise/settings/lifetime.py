"""Settings for the lifetime stage."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ._base import Section

TransactionModelName = Literal["bgnbd", "mbgnbd", "pareto_nbd"]


class LifetimeSettings(Section):
    """Lifetime value, status and defection risk."""

    time_unit: Literal["days", "weeks"] = "weeks"
    """Time unit of the buy-till-you-die models (x, t_x, T and the fitted alpha/beta are in
    it). Default "weeks" (the unit of the published CDNOW figures)."""

    # -- the transaction model ----------------------------------------------------------
    transaction_model: Literal["auto", "bgnbd", "mbgnbd", "pareto_nbd"] = "auto"
    """Model that gives P(alive), expected purchases and CLV per customer: "auto" (the
    candidate that forecasts the built-in holdout best, or fits best where the history is
    too short for a holdout), or one of "bgnbd", "mbgnbd" (MBG/NBD, which unlike BG/NBD lets
    one-off buyers drop out) and "pareto_nbd". A model that cannot be fitted or fits
    degenerately is replaced by the next candidate, with a warning. Default "auto"."""

    candidate_models: tuple[TransactionModelName, ...] = Field(
        default=("bgnbd", "mbgnbd", "pareto_nbd"), min_length=1
    )
    """Transaction models fitted and compared, in order of preference (a tie, and the
    fall-back order when transaction_model names one that fails). Default ["bgnbd",
    "mbgnbd", "pareto_nbd"]."""

    max_shape_parameter: float = Field(default=1e4, gt=1)
    """A fitted shape parameter (BG/NBD's r, a, b; Pareto/NBD's r, s; Gamma-Gamma's p, q)
    above this marks a degenerate fit (the data cannot identify the model, for example every
    customer buying at one steady rate): the model is left out with the reason. Default
    10000."""

    one_off_buyers: Literal["observed", "model"] = "observed"
    """How the figures of a customer with a single purchase day are set. "observed": its
    expected order value is Gamma-Gamma's given its first order as the one value seen (the
    model alone gives every such customer the population's mean order value, a 47 order
    read as 2,000), and where BG/NBD is the model used, its P(alive) is the share of
    first-time buyers in the data who, after as long without a second order, still placed
    one (BG/NBD gives it 1 however long ago it bought; see tierwise.lifetime.oneoff); its
    expected purchases, lifetime value and defection risk follow. "model": the models'
    own figures. Default "observed"."""

    forecast_horizon_days: int = Field(default=365, ge=1)
    """Horizon of the expected_purchases_<N>d column; days. Default 365."""

    holdout_days: int | None = Field(default=None, ge=7)
    """Length of the holdout period of the built-in calibration/holdout evaluation (which
    also chooses the transaction model); days. Default none: the defection window. Skipped,
    and the model chosen by AIC, when the history is shorter than twice this."""

    holdout_max_x: int = Field(default=7, ge=1)
    """Last row ("this many or more repeat purchases") of the holdout's
    conditional-expectation table; purchases. Default 7."""

    max_iter: int = Field(default=2000, ge=10)
    """Most optimiser iterations per start of a likelihood fit. Default 2000."""

    tol: float = Field(default=1e-9, gt=0)
    """Gradient tolerance of the likelihood fits, on the mean log-likelihood per customer.
    Default 1e-9."""

    gamma_gamma_max_correlation: float = Field(default=0.3, gt=0, le=1)
    """Gamma-Gamma assumes order value and order frequency are independent: above this
    absolute correlation among the repeat buyers the stage warns that expected order values
    may be biased. Default 0.3."""

    # -- lifetime value -----------------------------------------------------------------
    clv_horizon_months: int = Field(default=36, ge=1)
    """Horizon over which customer lifetime value is summed; months. Default 36."""

    discount_rate: float = Field(default=0.10, ge=0, lt=1)
    """Yearly discount rate for lifetime value (applied monthly as (1+d)^(1/12)); fraction.
    Default 0.10."""

    margin_rate: float | None = Field(default=None, ge=-1, le=1)
    """Net margin as a fraction of revenue used for lifetime value when no per-customer
    margin is supplied. Default none: lifetime value in revenue terms."""

    margin_min: float = Field(default=-1.0, ge=-10, le=0)
    """Lowest net margin rate used for lifetime value: a customer's own rate below it (a
    one-off cost on a small order) is bounded to it before shrinkage; fraction. Default
    -1.0."""

    margin_max: float = Field(default=1.0, gt=0, le=1)
    """Highest net margin rate used for lifetime value; fraction. Default 1.0."""

    margin_shrinkage: bool = True
    """Shrink each customer's net margin rate towards the peers' by the orders behind it
    (empirical Bayes) before it multiplies future revenue; off, rates are only bounded.
    Default true."""

    clv_history_multiple: float = Field(default=3.0, gt=0)
    """A lifetime value is at most this multiple of what the customer would spend over the
    CLV horizon at their own historical pace (revenue to date x max(1, horizon / tenure));
    values beyond are cut back to it and counted in the manifest; times. Default 3.0."""

    clv_min_tenure_days: int = Field(default=90, ge=1)
    """Floor on a customer's tenure when their spending pace is computed for the bound
    above; days. Default 90."""

    # -- status -----------------------------------------------------------------------
    new_days: int = Field(default=90, ge=0)
    """A customer whose first purchase is at most this many days old is "new"; days.
    Default 90."""

    at_risk_ratio: float = Field(default=1.5, gt=0)
    """Days since the last purchase over the customer's usual gap above which they are "at
    risk"; ratio. Default 1.5."""

    at_risk_min_days: int = Field(default=30, ge=0)
    """Nobody is "at risk" before this many days without an order, whatever their rhythm
    (a daily buyer is not at risk after a quiet week-end); days. Default 30."""

    inactive_ratio: float = Field(default=3.0, gt=0)
    """Days since the last purchase over the usual gap above which they are "inactive";
    ratio. Default 3.0."""

    lapsed_ratio: float = Field(default=6.0, gt=0)
    """Days since the last purchase over the usual gap above which they are "lapsed";
    ratio. Default 6.0."""

    inactive_days: int = Field(default=365, ge=1)
    """A customer without an order for longer than this is at least "inactive", whatever
    their rhythm; days. Default 365."""

    lapsed_days: int = Field(default=730, ge=1)
    """A customer without an order for longer than this is "lapsed", whatever their rhythm;
    days. Default 730."""

    min_gap_days: float = Field(default=7.0, gt=0)
    """Floor on a customer's usual gap between purchases; days. Default 7."""

    default_gap_days: float | None = Field(default=None, gt=0)
    """Usual gap assumed for customers with a single purchase day; days. Default none: the
    median gap of the repeat buyers."""

    base_decline_warning: float = Field(default=0.3, gt=0, lt=1)
    """Warn when the customers who bought in both of the last two 12-month periods bought
    this much less, in revenue or in purchase days, in the last 12 months than in the 12
    before (a base-wide decline, which the status and P(alive) do not show: they measure
    each customer against its own pace); fraction. Default 0.3."""

    # -- defection risk ---------------------------------------------------------------
    defection_window_days: int = Field(default=180, ge=7)
    """A customer "defects" when they make no purchase in the next this many days (the
    label of the defection model and the horizon of the risk); days. Default 180."""

    defection_lookback_days: int = Field(default=365, ge=30)
    """The defection model's "last year": its features count purchases, revenue, margin and
    returns in this many days before the cutoff and in the same span before that; days.
    Default 365."""

    supervised_model: bool = True
    """Fit a supervised defection model (gradient boosting with calibrated probabilities)
    when the history is long enough, and use it if it beats the transaction model on the
    holdout. Default true."""

    min_training_customers: int = Field(default=200, ge=10)
    """Fewest customers needed to train the supervised defection model. Default 200."""

    defection_max_iter: int = Field(default=100, ge=1)
    """Boosting iterations (trees) of the defection model. Default 100."""

    defection_learning_rate: float = Field(default=0.1, gt=0, le=1)
    """Learning rate of the defection model's gradient boosting. Default 0.1."""

    defection_max_leaf_nodes: int = Field(default=15, ge=2)
    """Leaves per tree of the defection model. Default 15."""

    defection_l2_regularization: float = Field(default=1.0, ge=0)
    """L2 penalty on the leaf values of the defection model. Default 1.0."""

    defection_calibration: Literal["isotonic", "sigmoid"] = "isotonic"
    """How the defection model's probabilities are calibrated (cross-validated):
    "isotonic" or "sigmoid" (Platt). Default "isotonic"."""

    defection_calibration_folds: int = Field(default=3, ge=2)
    """Cross-validation folds of that calibration. Default 3."""

    high_value_share: float = Field(default=0.2, gt=0, le=1)
    """Top share of customers by lifetime value counted as high value; fraction. Default
    0.2."""

    high_risk: float = Field(default=0.5, gt=0, lt=1)
    """Defection risk at or above which a high-value customer is listed as at risk;
    probability. Default 0.5."""

    @model_validator(mode="after")
    def _ordered(self) -> LifetimeSettings:
        if not self.at_risk_ratio <= self.inactive_ratio <= self.lapsed_ratio:
            raise ValueError(
                "at_risk_ratio <= inactive_ratio <= lapsed_ratio is needed "
                f"(got {self.at_risk_ratio}, {self.inactive_ratio}, {self.lapsed_ratio})"
            )
        if self.inactive_days > self.lapsed_days:
            raise ValueError(
                f"inactive_days ({self.inactive_days}) must not exceed lapsed_days "
                f"({self.lapsed_days})"
            )
        if self.margin_min >= self.margin_max:
            raise ValueError("margin_min must be below margin_max")
        return self
