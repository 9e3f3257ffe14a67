"""Lifetime value, status and defection risk.

Buy-till-you-die models fitted by maximum likelihood on the distinct (x, t_x, T) triples
(BG/NBD, Pareto/NBD, MBG/NBD), the Gamma-Gamma spend model, CLV, status from each customer's own
rhythm, a supervised defection model compared with BG/NBD on a holdout, and the
calibration/holdout evaluation. :func:`lifetime_stage` runs it all for the pipeline.

Example
-------
>>> from tierwise.lifetime import BetaGeoModel, simulate_bgnbd
>>> m = BetaGeoModel().fit(*simulate_bgnbd(2000, 39.0, seed=3))
>>> m.to_manifest()["time_unit"]
'weeks'
"""

from .bgnbd import BetaGeoModel, simulate_bgnbd
from .churn import DefectionComparison, DefectionModel, compare_defection_models, defection_features
from .clv import customer_lifetime_value
from .gammagamma import GammaGammaModel, frequency_value_correlation
from .holdout import HoldoutEvaluation, holdout_evaluation
from .mbgnbd import ModifiedBetaGeoModel
from .paretonbd import ParetoNBDModel
from .stage import LifetimeResult, high_value_at_risk, lifetime_stage
from .status import STATUSES, customer_status
from .summary import purchase_days, rfm_summary, rfm_summary_expr

__all__ = [
    "STATUSES",
    "BetaGeoModel",
    "DefectionComparison",
    "DefectionModel",
    "GammaGammaModel",
    "HoldoutEvaluation",
    "LifetimeResult",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "compare_defection_models",
    "customer_lifetime_value",
    "customer_status",
    "defection_features",
    "frequency_value_correlation",
    "high_value_at_risk",
    "holdout_evaluation",
    "lifetime_stage",
    "purchase_days",
    "rfm_summary",
    "rfm_summary_expr",
    "simulate_bgnbd",
]
