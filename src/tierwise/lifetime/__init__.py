"""Lifetime value, status and defection risk.

Buy-till-you-die models fitted by maximum likelihood on the distinct (x, t_x, T) triples
(BG/NBD, MBG/NBD, Pareto/NBD: one chosen per run by the built-in holdout), the Gamma-Gamma
spend model, CLV with a shrunk and bounded margin, status from each customer's own rhythm
within absolute limits, a supervised defection model compared with the transaction model on
a holdout, and the calibration/holdout evaluation. :func:`lifetime_stage` runs it all for the
pipeline. The models are scikit-learn estimators (``clone``, ``get_params`` and
``set_params`` work; what ``fit`` learns ends in ``_``).

Example
-------
>>> from tierwise.lifetime import BetaGeoModel, simulate_bgnbd
>>> m = BetaGeoModel().fit(simulate_bgnbd(2000, 39.0, seed=3))
>>> m.to_manifest()["time_unit"]
'weeks'
"""

from ._fitting import DegenerateFitError
from .bgnbd import BetaGeoModel, simulate_bgnbd
from .choice import ModelChoice, choose_transaction_model
from .churn import DefectionComparison, DefectionModel, compare_defection_models, defection_features
from .clv import bound_clv, customer_lifetime_value
from .gammagamma import GammaGammaModel, frequency_value_correlation
from .holdout import HoldoutEvaluation, evaluate_holdout, holdout_data, holdout_evaluation
from .margin import MarginEstimate, shrink_margin
from .mbgnbd import ModifiedBetaGeoModel
from .paretonbd import ParetoNBDModel
from .stage import CUSTOMER_COLUMNS, LifetimeResult, high_value_at_risk, lifetime_stage
from .status import STATUSES, customer_status
from .summary import purchase_days, rfm_summary, rfm_summary_expr

__all__ = [
    "CUSTOMER_COLUMNS",
    "STATUSES",
    "BetaGeoModel",
    "DefectionComparison",
    "DefectionModel",
    "DegenerateFitError",
    "GammaGammaModel",
    "HoldoutEvaluation",
    "LifetimeResult",
    "MarginEstimate",
    "ModelChoice",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "bound_clv",
    "choose_transaction_model",
    "compare_defection_models",
    "customer_lifetime_value",
    "customer_status",
    "defection_features",
    "evaluate_holdout",
    "frequency_value_correlation",
    "high_value_at_risk",
    "holdout_data",
    "holdout_evaluation",
    "lifetime_stage",
    "purchase_days",
    "rfm_summary",
    "rfm_summary_expr",
    "shrink_margin",
    "simulate_bgnbd",
]
