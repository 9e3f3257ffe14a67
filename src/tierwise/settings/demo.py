"""Settings for the demo stage: the knobs of the synthetic B2B distributor.

Example
-------
>>> from tierwise.settings import DemoSettings
>>> DemoSettings().n_customers
3000
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator

from ._base import Section, check_date_not_number, check_seed


class DemoSettings(Section):
    """The built-in demo dataset (``tierwise demo``): size, planted truths, behaviour."""

    # --- size -------------------------------------------------------------------------
    n_customers: int = Field(default=3000, ge=10)
    """Customer records to generate (duplicate records included); records. Default 3000."""

    years: int = Field(default=3, ge=1, le=20)
    """Length of the invoice history ending at end_date; years. Default 3."""

    end_date: dt.date = dt.date(2025, 12, 31)
    """Last day of the history; true_alive is the state at this date. Default 2025-12-31."""

    seed: int = 42
    """Random seed; the same seed and settings give identical tables; a whole number from 0
    to 4294967295. Default 42."""

    _seed = field_validator("seed")(check_seed)
    _date = field_validator("end_date", mode="before")(check_date_not_number)

    prospect_share: float = Field(default=0.2, ge=0.0, le=5.0)
    """Prospects generated, as a fraction of n_customers. Default 0.2."""

    # --- planted truths ---------------------------------------------------------------
    duplicate_share: float = Field(default=0.05, ge=0.0, le=0.3)
    """Fraction of true companies split into 2-3 customer records (name variants, changed
    addresses). Default 0.05."""

    costly_share: float = Field(default=0.06, ge=0.0, le=0.3)
    """Fraction of companies planted as 'costly': good margin per order but many tiny
    orders, visits, changes and returns, so unprofitable all-in. Default 0.06."""

    late_payer_share: float = Field(default=0.08, ge=0.0, le=0.5)
    """Fraction of companies that chronically pay 30-90 days late (costly companies come on
    top). Default 0.08."""

    parent_share: float = Field(default=0.02, ge=0.0, le=0.2)
    """Fraction of companies that are subsidiaries carrying a parent_id. Default 0.02."""

    new_customer_share: float = Field(default=0.4, ge=0.0, le=1.0)
    """Fraction of companies whose first purchase falls inside the history window (the rest
    were customers before it started). Default 0.4."""

    # --- buying behaviour (BG/NBD) ----------------------------------------------------
    purchase_rate_shape: float = Field(default=3.0, gt=0.0)
    """Shape of the Gamma distribution of the part of the purchase rate λ that the
    company's spend does not set. Default 3.0."""

    mean_orders_per_year: float = Field(default=9.0, gt=0.0)
    """Mean purchase rate λ of a median-sized company while alive; orders per year.
    Default 9.0."""

    rate_spend_exponent: float = Field(default=0.6, ge=0.0, le=1.0)
    """λ scales with (yearly spend / median spend) to this power; the rest of the spend is
    order value. Default 0.6."""

    dropout_a: float = Field(default=1.2, gt=0.0)
    """Beta(a, b) parameter a of the per-purchase dropout probability p. Default 1.2."""

    dropout_b: float = Field(default=15.0, gt=0.0)
    """Beta(a, b) parameter b of the per-purchase dropout probability p. Default 15.0
    (mean p about 0.07; about half the companies are alive at end_date)."""

    # --- wallet and spend ---------------------------------------------------------------
    wallet_base: float = Field(default=4000.0, gt=0.0)
    """Yearly wallet of a one-employee company in an average industry and region; currency
    units. Default 4000."""

    wallet_employee_exponent: float = Field(default=0.8, gt=0.0, le=1.5)
    """Wallet grows with employees to this power. Default 0.8."""

    wallet_noise_sigma: float = Field(default=0.6, ge=0.0)
    """Standard deviation of the log wallet not explained by firmographics. Default 0.6
    (firmographics alone rank wallets with Spearman about 0.8)."""

    share_of_wallet_mean: float = Field(default=0.3, gt=0.0, lt=1.0)
    """Mean of the Beta-distributed base share of wallet: it sets a company's order rate, and
    its response to contact buys up to 1.4 times it (true_s1); at the legacy contacts the
    true share averages about the same. Default 0.3."""

    share_of_wallet_concentration: float = Field(default=6.0, gt=0.0)
    """a + b of the share-of-wallet Beta distribution (larger = less spread). Default 6.0."""

    mean_lines_per_order: float = Field(default=4.5, ge=1.0, le=8.0)
    """Mean invoice lines per order of a median-sized company (each order has 1-8 lines).
    Default 4.5."""

    return_order_share: float = Field(default=0.03, ge=0.0, le=0.5)
    """Mean fraction of orders with a partial return (credit note 'RT…'). Default 0.03."""

    cancel_share: float = Field(default=0.01, ge=0.0, le=0.2)
    """Fraction of orders cancelled in full (credit note 'C' + order id). Default 0.01."""

    n_products_per_category: int = Field(default=40, ge=1)
    """Products per category (10 categories). Default 40."""

    # --- coverage and reps ----------------------------------------------------------------
    customers_per_field_rep: float = Field(default=250.0, gt=0.0)
    """Companies per field rep when sizing the legacy field force; companies. Default 250."""

    customers_per_inside_rep: float = Field(default=800.0, gt=0.0)
    """Companies per inside-sales rep; companies. Default 800."""

    customers_per_key_account_manager: float = Field(default=1500.0, gt=0.0)
    """Companies per key account manager; companies. Default 1500."""

    field_rep_hours: float = Field(default=1600.0, gt=0.0)
    """Selling hours per year of a field rep; hours. Default 1600 (inside 1700, key
    account 1500)."""

    mean_field_visits_per_year: float = Field(default=6.0, ge=0.0)
    """Mean visits per year to a field-covered customer under the legacy plan; visits.
    Default 6.0."""
