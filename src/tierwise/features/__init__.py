"""Per-customer figures computed from the transactions (and, for profit, activities)."""

from .basic import FEATURE_COLUMNS, customer_features
from .cancellations import PAIRING_COLUMNS, net_lines, pair_cancellations

__all__ = [
    "FEATURE_COLUMNS",
    "PAIRING_COLUMNS",
    "customer_features",
    "net_lines",
    "pair_cancellations",
]
