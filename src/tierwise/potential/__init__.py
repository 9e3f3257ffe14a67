"""Potential value: wallets, share of wallet, market penetration, prospects and the ICP.

The wallet of a customer is a high quantile (by default the 90th percentile) of what
comparable customers spend, estimated by quantile regression of spend on firmographics and
cross-fitted so that a customer's own spend never sets its own wallet (Perlich, Rosset,
Lawrence, Zadrozny, "High-quantile modeling for customer wallet estimation and other
applications", KDD 2007).

Example
-------
>>> from tierwise.potential import potential_stage, PotentialResult
>>> callable(potential_stage)
True
"""

from __future__ import annotations

from ._design import FirmographicEncoder
from .crossfit import crossfit_predict, fold_ids
from .market import customer_growth_rates, penetration_table
from .models import GBMQuantileWallet, LookalikeWallet
from .prospects import ideal_customer_profile, lookalike_score, top_class
from .quantile import LinearQuantileWallet, WalletModel, mean_pinball_loss, pinball_loss
from .stage import PotentialResult, model_columns, no_wallet_reason, potential_stage, wallet_skill

__all__ = [
    "FirmographicEncoder",
    "GBMQuantileWallet",
    "LinearQuantileWallet",
    "LookalikeWallet",
    "PotentialResult",
    "WalletModel",
    "crossfit_predict",
    "customer_growth_rates",
    "fold_ids",
    "ideal_customer_profile",
    "lookalike_score",
    "mean_pinball_loss",
    "model_columns",
    "no_wallet_reason",
    "penetration_table",
    "pinball_loss",
    "potential_stage",
    "top_class",
    "wallet_skill",
]
