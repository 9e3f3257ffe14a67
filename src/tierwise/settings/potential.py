"""Settings for the potential stage: wallet, share of wallet, market and prospects."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ._base import Section


class PotentialSettings(Section):
    """Wallet (potential value) and share-of-wallet estimation.

    The wallet of a customer is a high quantile of what comparable customers spend (Perlich,
    Rosset, Lawrence, Zadrozny, KDD 2007), estimated from firmographics and cross-fitted so
    that a customer's own spend never sets its own wallet.
    """

    quantile: float = Field(default=0.9, gt=0, lt=1)
    """Quantile of comparable customers' spend taken as the wallet; fraction. Default 0.9
    (the 90th percentile, as in Perlich et al. 2007)."""

    method: Literal["auto", "gbm", "linear", "lookalike", "blend"] = "auto"
    """How the wallet is estimated: "gbm" (gradient-boosted quantile regression, LightGBM),
    "linear" (linear quantile regression of log spend, the transparent model), "lookalike"
    (the quantile of the nearest neighbours' spend), "blend" (geometric mean of the three),
    or "auto" (the one of the four with the lowest cross-validated quantile loss). Default
    "auto"."""

    fit_on_buyers_only: bool = True
    """Fit the models only on customers with spend above zero in the window. Customers
    without spend (lapsed, dormant) still get a wallet, from the buyers they resemble: their
    zero says that they did not buy from us, not how large their need is. Default true."""

    n_folds: int = Field(default=5, ge=2)
    """Cross-fitting folds: each customer's wallet comes from models fitted on the other
    folds; count. Default 5."""

    neighbours: int = Field(default=100, ge=2)
    """Look-alikes per customer for the look-alike wallet, its band and the prospects'
    look-alike score; count. Default 100 (the 90th percentile then rests on the top ten; 50
    was measurably noisier on the demo data)."""

    feature_columns: list[str] = Field(
        default_factory=lambda: ["industry", "employees", "annual_revenue", "region"]
    )
    """Firmographic columns the models use; those absent from the customers table are
    skipped (and named in the manifest). Text columns are categories, number columns sizes.
    Default industry, employees, annual_revenue, region."""

    extra_feature_columns: list[str] = Field(default_factory=list)
    """Further descriptive columns of the customers table the models use: canonical ones
    (e.g. "country", "current_channel", "payment_terms_days") or columns of your own kept
    with [customers] extra_columns (and [prospects] extra_columns for prospects), e.g.
    "sites"; text columns are categories, number columns sizes. Default none."""

    impute_within: str | None = "industry"
    """A missing number is replaced by the median of customers with the same value in this
    column (else by the overall median). Default "industry"; none for overall medians."""

    log_numeric: bool = True
    """Take log(1 + x) of number columns without negative values (sizes are skewed).
    Default true."""

    band_low_quantile: float = Field(default=0.75, gt=0, lt=1)
    """Lower edge of the wallet band: this quantile of the look-alikes' spend, moved by the
    same ratio as the wallet; fraction. Default 0.75."""

    band_high_quantile: float = Field(default=0.99, gt=0, lt=1)
    """Upper edge of the wallet band, as band_low_quantile; fraction. Default 0.99: a high
    quantile of spend understates wallets (even the top look-alikes buy part of their needs
    elsewhere), so the band reaches further up than down. On the demo data the default band
    holds the planted wallet for 68% of companies (4% below it, 27% above); with 0.95 it
    holds 36%, and 60% lie above it."""

    missing_band_widening: float = Field(default=0.5, ge=0)
    """Each model column missing for a customer widens its band (on the log scale) by this
    fraction; 0.5 = 50% wider per missing column. Default 0.5."""

    default_growth_rate: float = Field(default=0.0, gt=-1)
    """Yearly market growth used where the market table gives none; fraction (0.03 = 3%),
    above −1 and at most 1. Default 0."""

    planning_years: int = Field(default=1, ge=0)
    """Years from the analysis date to the planning year; wallets are grown by
    (1 + growth_rate) ** planning_years. Default 1."""

    linear_max_rows: int = Field(default=10_000, ge=100)
    """The linear quantile model is fitted (per fold) on a random sample of at most this
    many customers (a seeded sample): the exact linear programme grows with the rows, and
    a few dozen coefficients are well estimated from far fewer; rows. Default 10000."""

    linear_alpha: float = Field(default=0.0, ge=0)
    """L1 penalty of the linear quantile model (as scikit-learn's QuantileRegressor alpha:
    the mean pinball loss plus alpha times the coefficients' absolute sum).
    Default 0 (no penalty)."""

    gbm_n_estimators: int = Field(default=200, ge=1)
    """Boosting rounds of the LightGBM quantile model; count. Default 200."""

    gbm_learning_rate: float = Field(default=0.05, gt=0, le=1)
    """LightGBM learning rate. Default 0.05."""

    gbm_num_leaves: int = Field(default=15, ge=2)
    """LightGBM leaves per tree; count. Default 15."""

    gbm_min_child_samples: int = Field(default=20, ge=1)
    """LightGBM minimum customers per leaf; count. Default 20."""

    n_threads: int = Field(default=1, ge=1)
    """Threads for LightGBM; the same value gives the same results. Default 1: on a busy
    machine LightGBM's OpenMP threads wait on each other (measured 9× slower with 2 threads
    than with 1 on a loaded 2-core machine); raise it where cores are idle."""

    min_customers: int = Field(default=30, ge=2)
    """Fewer customers with firmographics than this and the stage refuses to estimate
    wallets; count. Default 30."""

    min_wallet_skill: float = Field(default=0.05, lt=1)
    """Smallest skill at which the wallet is said to tell customers apart: one minus the
    wallet model's cross-validated pinball loss on log(1 + spend) over that of one wallet
    for all customers (the quantile of the other folds' spend); Koenker and Machado's R¹
    (JASA 1999), measured out of fold. Below it, wallets differ between customers by little
    more than noise, so headroom is about one figure minus what each spends: a warning says
    so, and the segments stage classes on value alone. Fraction (a model worse than one
    wallet for all scores below 0, without bound); set it to -1e9 to use any wallet.
    Default 0.05."""

    icp_top_share: float = Field(default=0.2, gt=0, lt=1)
    """The ideal customer profile describes the top customers: this fraction by net profit
    (when given) or else by spend; fraction. Default 0.2."""

    icp_min_lift: float = Field(default=1.5, gt=1)
    """A category enters the profile sentences when top customers are in it this many times
    more (or less) often than the rest; ratio. Default 1.5."""

    icp_min_count: int = Field(default=5, ge=1)
    """A category needs at least this many top customers to be mentioned; count.
    Default 5."""

    icp_max_sentences: int = Field(default=6, ge=1)
    """At most this many plain sentences describe the profile; count. Default 6."""

    employee_bands: list[float] = Field(default_factory=lambda: [10.0, 50.0, 250.0])
    """Head-count band edges for the profile (EU SME definition: micro < 10, small < 50,
    medium < 250, large); employees. Default [10, 50, 250]."""

    numeric_bands: int = Field(default=4, ge=2)
    """Other number columns are cut into this many equal-count bands for the profile;
    count. Default 4 (quartiles)."""

    @field_validator("default_growth_rate")
    @classmethod
    def _growth_is_a_fraction(cls, v: float) -> float:
        if v > 1:
            raise ValueError(
                f"a growth rate is a fraction a year, ≤ 1: write {v / 100:g} for {v:g}% "
                "(e.g. 0.035 for 3.5%)"
            )
        return v

    @model_validator(mode="after")
    def _band_brackets_quantile(self) -> PotentialSettings:
        if not self.band_low_quantile < self.quantile < self.band_high_quantile:
            raise ValueError(
                "band_low_quantile < quantile < band_high_quantile must hold "
                f"(got {self.band_low_quantile}, {self.quantile}, {self.band_high_quantile})"
            )
        if sorted(self.employee_bands) != list(self.employee_bands):
            raise ValueError("employee_bands must be increasing")
        return self
