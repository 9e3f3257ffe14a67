"""Cross-sell and up-sell: basket rules in the engine, next best products from look-alike
customers and rules, up-sell against peers, and a time-split hit-rate evaluation.

The stage function is :func:`crosssell_stage`; :func:`basket_rules` (an Ibis table of pair
rules), :func:`next_best_products` (recommendations from given rules) and
:func:`evaluate_hit_rate` are public for use on their own. See docs/crosssell.md.
"""

from .evaluate import evaluate_hit_rate
from .peers import PeerGroups, peer_groups
from .recommend import CROSS_SELL_COLUMNS, UP_SELL_COLUMNS, Recommendations, recommend
from .rules import RULE_COLUMNS, basket_rules
from .stage import CUSTOMER_COLUMNS, CrossSellResult, crosssell_stage, next_best_products

__all__ = [
    "CROSS_SELL_COLUMNS",
    "CUSTOMER_COLUMNS",
    "RULE_COLUMNS",
    "UP_SELL_COLUMNS",
    "CrossSellResult",
    "PeerGroups",
    "Recommendations",
    "basket_rules",
    "crosssell_stage",
    "evaluate_hit_rate",
    "next_best_products",
    "peer_groups",
    "recommend",
]
