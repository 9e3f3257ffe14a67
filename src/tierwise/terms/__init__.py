"""Terms: trading terms per tier priced by the costs they remove, the discount audit, KPI
targets per rep × segment, and routes to market per segment.

The stage function is :func:`terms_stage`; each part is public on its own:
:func:`trading_terms`, :func:`discount_audit`, :func:`kpi_targets`,
:func:`routes_to_market`. See docs/terms.md.
"""

from ._common import TermsResult
from .discounts import AUDIT_COLUMNS, SUMMARY_COLUMNS, discount_audit
from .routes import ROUTE_COLUMNS, routes_to_market
from .stage import CUSTOMER_COLUMNS, terms_stage
from .targets import TARGET_COLUMNS, TEAM, kpi_targets
from .trading import TERMS_COLUMNS, ladder_rebate, orders_below, trading_terms

__all__ = [
    "AUDIT_COLUMNS",
    "CUSTOMER_COLUMNS",
    "ROUTE_COLUMNS",
    "SUMMARY_COLUMNS",
    "TARGET_COLUMNS",
    "TEAM",
    "TERMS_COLUMNS",
    "TermsResult",
    "discount_audit",
    "kpi_targets",
    "ladder_rebate",
    "orders_below",
    "routes_to_market",
    "terms_stage",
    "trading_terms",
]
