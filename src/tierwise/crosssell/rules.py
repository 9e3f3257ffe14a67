r"""Association rules between pairs of items, counted in the engine.

A basket is the set of distinct items of an order's sale lines. With :math:`N` baskets,
:math:`n_X` baskets holding item :math:`X` and :math:`n_{XY}` holding both :math:`X` and
:math:`Y`, the rule :math:`X \to Y` has

.. math::

    \text{support} = \frac{n_{XY}}{N}, \qquad
    \text{confidence} = \frac{n_{XY}}{n_X}, \qquad
    \text{lift} = \frac{n_{XY}\,N}{n_X\, n_Y}

(Agrawal, Imieliński & Swami, SIGMOD 1993). Pairs are counted by a self-join of the
distinct basket × item rows on the basket, restricted to items that are frequent on their
own (a pair is never more frequent than either item, so nothing is lost: the Apriori
property), and grouped by pair. Baskets with more than ``max_basket_items`` distinct items
are left out altogether (from :math:`N`, the item counts and the pairs), since their
pairs grow with the square of their size; the rules then describe the baskets of ordinary
size. :func:`basket_sizes` counts them (and their lines) so that a run can say how many
were left out. Nothing is one-hot encoded and nothing leaves the engine but the rules.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from ..settings.crosssell import CrossSellSettings
from ._lines import Level, basket_lines

__all__ = ["RULE_COLUMNS", "basket_rules", "basket_sizes", "baskets"]

#: Columns of a rules table, in order.
RULE_COLUMNS = (
    "level",
    "antecedent",
    "consequent",
    "antecedent_category",
    "consequent_category",
    "n_baskets",
    "n_antecedent",
    "n_consequent",
    "n_both",
    "support",
    "confidence",
    "lift",
)


def baskets(tx: ir.Table, settings: CrossSellSettings, *, level: Level) -> ir.Table:
    """Distinct basket × item rows of the baskets within the size cap.

    Columns: basket, item, category (for products, the product's category).
    """
    lines = basket_lines(tx, level)
    bi = lines.group_by(["basket", "item"]).aggregate(category=lines.category.max())
    size = bi.group_by("basket").aggregate(n_items=bi.count())
    keep = size.filter(size.n_items <= settings.max_basket_items).select("basket")
    return bi.semi_join(keep, "basket")


def basket_sizes(tx: ir.Table, settings: CrossSellSettings, *, level: Level) -> ir.Table:
    """How many baskets there are and how many exceed ``max_basket_items`` (one row).

    Columns: n_baskets_all (every basket with an item), n_baskets_over_cap (baskets with
    more distinct items than ``max_basket_items``, left out of the rules) and
    n_items_over_cap (their basket × item rows).

    Examples
    --------
    >>> import datetime as dt
    >>> t = ibis.memtable({"customer_id": ["c"] * 5, "date": [dt.date(2024, 1, 1)] * 5,
    ...     "revenue": [1.0] * 5, "order_id": ["1", "1", "2", "2", "2"],
    ...     "product_id": ["a", "b", "a", "b", "c"]})
    >>> basket_sizes(t, CrossSellSettings(max_basket_items=2), level="product").to_pyarrow(
    ...     ).to_pylist()
    [{'n_baskets_all': 2, 'n_baskets_over_cap': 1, 'n_items_over_cap': 3}]
    """
    lines = basket_lines(tx, level)
    bi = lines.select("basket", "item").distinct()
    size = bi.group_by("basket").aggregate(n_items=bi.count())
    over = size.n_items > settings.max_basket_items
    return size.aggregate(
        n_baskets_all=size.count().cast("int64"),
        n_baskets_over_cap=over.cast("int64").sum().fill_null(0).cast("int64"),
        n_items_over_cap=ibis.ifelse(over, size.n_items, 0).sum().fill_null(0).cast("int64"),
    )


def basket_rules(
    tx: ir.Table,
    settings: CrossSellSettings | None = None,
    *,
    level: Level = "product",
) -> ir.Table:
    """Pair rules X → Y with support, confidence and lift, as an (unexecuted) Ibis table.

    Parameters
    ----------
    tx
        Canonical transactions (Ibis): customer_id, date, revenue, order_id, product_id,
        product_category, is_return, is_cancel.
    settings
        The ``[crosssell]`` section: ``min_support``, ``min_pair_count``,
        ``min_confidence``, ``min_lift``, ``max_basket_items``, ``max_rules``.
    level
        "product" (items are product_id) or "category" (product_category).

    Returns
    -------
    ibis.Table
        One row per rule, columns :data:`RULE_COLUMNS`, ordered by lift, confidence,
        antecedent and consequent (highest lift first); at most ``max_rules`` rows.

    Examples
    --------
    >>> import datetime as dt
    >>> t = ibis.memtable({"customer_id": ["c"] * 7, "date": [dt.date(2024, 1, 1)] * 7,
    ...     "revenue": [1.0] * 7, "order_id": ["1", "1", "2", "2", "3", "4", "4"],
    ...     "product_id": ["tea", "cup", "tea", "cup", "pen", "pen", "ink"]})
    >>> s = CrossSellSettings(min_pair_count=2, min_confidence=0.5, min_lift=1.0)
    >>> r = basket_rules(t, s).to_pyarrow().to_pandas()
    >>> r[["antecedent", "consequent", "n_both", "confidence", "lift"]].values.tolist()
    [['cup', 'tea', 2, 1.0, 2.0], ['tea', 'cup', 2, 1.0, 2.0]]
    """
    s = settings or CrossSellSettings()
    bi = baskets(tx, s, level=level)
    total = bi.aggregate(n_baskets=bi.basket.nunique().cast("int64"))
    items = bi.group_by("item").aggregate(n=bi.count(), category=bi.category.max())
    items = items.cross_join(total)
    frequent = items.filter(
        (items.n >= s.min_pair_count)
        & (items.n.cast("float64") / items.n_baskets.cast("float64") >= s.min_support)
    )
    f = bi.semi_join(frequent, "item").select("basket", "item")
    a = f.select(basket="basket", x="item")
    b = f.select(basket_b="basket", y="item")
    pairs = a.join(b, [a.basket == b.basket_b, a.x < b.y])
    counted = pairs.group_by(["x", "y"]).aggregate(n_both=pairs.count())
    both_ways = counted.union(
        counted.select(x=counted.y, y=counted.x, n_both=counted.n_both), distinct=False
    )
    ia = items.select(
        x="item", n_antecedent="n", antecedent_category="category", n_baskets="n_baskets"
    )
    ib = items.select(y="item", n_consequent="n", consequent_category="category")
    r = both_ways.join(ia, "x").join(ib, "y")
    n = r.n_baskets.cast("float64")
    nb = r.n_both.cast("float64")
    na = r.n_antecedent.cast("float64")
    r = r.select(
        level=ibis.literal(level),
        antecedent=r.x,
        consequent=r.y,
        antecedent_category=r.antecedent_category,
        consequent_category=r.consequent_category,
        n_baskets=r.n_baskets.cast("int64"),
        n_antecedent=r.n_antecedent.cast("int64"),
        n_consequent=r.n_consequent.cast("int64"),
        n_both=r.n_both.cast("int64"),
        support=nb / n,
        confidence=nb / na,
        lift=nb * n / (na * r.n_consequent.cast("float64")),
    )
    r = r.filter((r.n_both >= s.min_pair_count) & (r.support >= s.min_support))
    r = r.filter((r.confidence >= s.min_confidence) & (r.lift >= s.min_lift))
    return r.order_by(
        [ibis.desc("lift"), ibis.desc("confidence"), "antecedent", "consequent"]
    ).limit(s.max_rules)
