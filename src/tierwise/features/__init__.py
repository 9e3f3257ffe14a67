"""Per-customer figures computed from the transactions (and, for profit, activities)."""

from .basic import FEATURE_COLUMNS, customer_features

__all__ = ["FEATURE_COLUMNS", "customer_features"]
