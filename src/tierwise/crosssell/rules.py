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

The distinct basket × item rows and the size of each basket (:class:`Baskets`) are the
transaction-sized part: the stage computes them once per item level and counts the rules,
the basket sizes and the rules at the evaluation's cutoff from them.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..settings.crosssell import CrossSellSettings
from ._lines import Level, basket_lines, run_query

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..engine import Engine

__all__ = [
    "MASK_ITEMS",
    "RULE_COLUMNS",
    "Baskets",
    "basket_items",
    "basket_rules",
    "basket_sizes",
    "baskets",
    "kept_pair_counts",
    "masked_baskets",
    "pair_counts",
    "rules_from",
    "sizes_from",
]

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


@dataclass
class Baskets:
    """What the rules of one item level are counted from, computed once.

    Baskets and items carry integer codes (``bid``, ``iid``; an item's code follows the
    order of its name, a basket's only tells it from the others), so that the pair count
    joins and groups integers. Only the basket
    × item rows that can form a pair are kept row by row; the rest is summed up front.

    Attributes
    ----------
    rows
        The basket × item rows whose basket holds 2 to ``max_basket_items`` distinct items
        (as of the last line, or of the cutoff): bid, iid, first_date (the first line's
        date), n_items (the basket's distinct items) and, with a cutoff, n_items_cut (those
        bought by the cutoff). None for baskets counted as bit sets (:func:`masked_baskets`),
        whose pairs come counted already.
    items
        One row per item: iid, item, n (baskets within the cap holding it), category (the
        largest of its lines' in them) and category_all (the largest of all its lines');
        with a cutoff also n_cut and category_cut, counted over the lines dated up to the
        cutoff.
    counts
        One row: n_baskets_all (baskets with an item), n_baskets_over_cap and
        n_items_over_cap (the baskets above the cap and their basket × item rows),
        n_baskets (baskets within the cap) and, with a cutoff, n_baskets_cut.
    max_basket_items
        The cap the baskets were counted with.
    cutoff
        The earlier date the rules can also be counted at, or None.
    basket_ranges
        The ranges of basket numbers (from, to: to excluded) grouped apart, one query each,
        when there were more than ``_BASKETS_PER_PART`` baskets; empty when they were
        grouped at once. :func:`kept_pair_counts` counts the pairs a range at a time too.
    """

    rows: ir.Table | None
    items: ir.Table
    counts: ir.Table
    max_basket_items: int
    cutoff: _dt.date | None = None
    engine: Engine | None = None
    basket_ranges: tuple[tuple[int, int], ...] = ()

    def release(self) -> None:
        """Free the tables the engine computed for these baskets."""
        if self.engine is not None:
            for t in (self.rows, self.items, self.counts):
                if t is not None:
                    self.engine.release(t)


#: baskets grouped into basket × item rows by one query at most (:func:`basket_items`)
_BASKETS_PER_PART = 4_000_000


def _in_range(t: ir.Table, baskets: tuple[int, int]) -> ir.Table:
    """The rows of ``t`` whose basket number (``bid``) is in ``baskets`` (from, to: to
    excluded)."""
    return t.filter(t.bid.between(baskets[0], baskets[1] - 1))


def _on_spark(t: ir.Table, engine: Engine | None) -> bool:
    """Whether ``t`` is computed by Spark (the engine's backend, or else the table's)."""
    if engine is not None:
        return engine.backend == "spark"
    try:
        return t._find_backend(use_default=False).name == "pyspark"
    except Exception:  # a table of no backend (an in-memory one): not Spark
        return False


#: the parts :func:`_numbered_in_parts` numbers rows in, each on its own
_NUMBER_PARTS = 256


def _numbered_in_parts(
    t: ir.Table,
    key: str,
    name: str,
    keep: Callable[[ir.Table], ir.Table],
    free: Callable[[ir.Table], None],
) -> ir.Table:
    """``t`` (its rows distinct in ``key``) with ``name``: the numbers 0 … n-1, one a row.

    A number over the whole table is one window without a partition, which Spark computes
    in one task whatever the cluster: here each row falls in one of :data:`_NUMBER_PARTS`
    parts by the hash of its key, is numbered within its part (in parallel), and the part's
    offset (the rows of the parts before it: a table of a few hundred rows) is added.
    """
    h = t[key].hash()
    parted = keep(t.mutate(_part=((h % _NUMBER_PARTS) + _NUMBER_PARTS) % _NUMBER_PARTS))
    within = parted.mutate(_within=ibis.row_number().over(group_by="_part"))
    sizes = parted.group_by("_part").aggregate(_n=parted.count())
    offsets = sizes.mutate(
        _offset=sizes._n.sum().over(ibis.cumulative_window(order_by="_part")) - sizes._n
    ).select("_part", "_offset")
    joined = within.join(offsets, "_part")
    out = keep(joined.select(key, **{name: (joined._offset + joined._within).cast("int32")}))
    free(parted)
    return out


def basket_items(
    tx: ir.Table,
    settings: CrossSellSettings,
    *,
    level: Level,
    cutoff: _dt.date | None = None,
    engine: Engine | None = None,
) -> Baskets:
    """The baskets of the sale lines of ``tx``, ready for counting rules and sizes.

    Parameters
    ----------
    tx
        Canonical transactions (Ibis), already cut at the analysis date.
    settings
        The ``[crosssell]`` section (``max_basket_items``).
    level
        "product" or "category".
    cutoff
        An earlier date to count the rules at as well (lines after it left out).
    engine
        When given, the tables are computed once and kept in the engine
        (:meth:`Baskets.release` frees them).

    Examples
    --------
    >>> import datetime as dt
    >>> t = ibis.memtable({"customer_id": ["c"] * 3, "date": [dt.date(2024, 1, 1)] * 3,
    ...     "revenue": [1.0] * 3, "order_id": ["1", "1", "2"], "product_id": ["a", "b", "a"]})
    >>> b = basket_items(t, CrossSellSettings(), level="product")
    >>> b.items.order_by("iid").select("item", "n").to_pyarrow().to_pylist()
    [{'item': 'a', 'n': 2}, {'item': 'b', 'n': 1}]
    >>> b.rows.order_by(["bid", "iid"]).to_pyarrow().column("n_items").to_pylist()
    [2, 2]
    """

    def keep(t: ir.Table) -> ir.Table:
        return engine.materialize(t) if engine is not None else t

    def free(t: ir.Table) -> None:
        if engine is not None:
            engine.release(t)

    def keep_large(t: ir.Table) -> ir.Table:
        return engine.materialize(t, large=True) if engine is not None else t

    cap = settings.max_basket_items
    cut = ibis.literal(cutoff) if cutoff is not None else None
    lines = basket_lines(tx, level)
    # the categories as numbers in their order (a handful of rows): the basket × item rows
    # carry a number, whose largest names the largest category, and the item figures turn
    # it back into the text (a text maximum over every line costs a third of the grouping)
    named = lines.select("category").filter(lines.category.notnull()).distinct()
    codes = keep(named.mutate(code=ibis.row_number().over(order_by="category").cast("int32")))
    # the items numbered in their names' order, and the baskets numbered as they come (a
    # basket's number only tells baskets apart: the pairs are counted per item, whatever the
    # baskets are numbered): the lines are grouped by two integers, not two texts, and the
    # basket sizes are counted and joined back on an integer
    item_codes = keep(
        lines.select("item").distinct().mutate(iid=ibis.row_number().over(order_by="item"))
    )
    item_codes = item_codes.mutate(iid=item_codes.iid.cast("int32"))
    numbered = lines.select("basket").distinct()
    if _on_spark(tx, engine):
        basket_codes = _numbered_in_parts(numbered, "basket", "bid", keep, free)
    else:
        basket_codes = keep(numbered.mutate(bid=ibis.row_number().cast("int32")))
    # (a basket without a number of its own, its customer unknown, is one basket as before)
    coded = lines.join(basket_codes, lines.basket.identical_to(basket_codes.basket))
    coded = coded.join(item_codes, "item").left_join(codes, "category")
    lines = coded.select(*(c for c in coded.columns if c not in ("basket_right", "category_right")))

    def grouped(lines: ir.Table) -> ir.Table:
        aggs: dict[str, ir.Scalar] = {
            "category": lines.code.max(),
            "first_date": lines.date.min(),
        }
        if cut is not None:
            aggs["category_cut"] = ibis.ifelse(
                lines.date <= cut, lines.code, ibis.null("int32")
            ).max()
        return lines.group_by(["bid", "iid"]).aggregate(**aggs)

    ranges: tuple[tuple[int, int], ...] = ()
    if engine is None:
        bi = grouped(lines)
    else:
        # a grouping of every line holds a hash table of every basket × item row at once:
        # past _BASKETS_PER_PART baskets, the baskets are grouped a range of numbers at a
        # time into the one table (on Spark the range filters the baskets the lines are
        # joined to; on DuckDB the lines are joined once, below)
        n_baskets = engine.count(basket_codes, "the baskets")
        n_parts = -(-n_baskets // _BASKETS_PER_PART)
        numbers: ir.Table | None = None
        if n_parts > 1:
            step = -(-n_baskets // n_parts)
            ranges = tuple((lo, min(lo + step, n_baskets)) for lo in range(0, n_baskets, step))
            if engine.backend == "duckdb":
                # the lines as numbers, joined to the codes once: each range then filters
                # them rather than joining every line's texts again
                numbers = keep_large(lines.select("bid", "iid", "code", "date"))
                lines = numbers
        bi = engine.materialize_parts(
            [grouped(lines)] if not ranges else [grouped(_in_range(lines, r)) for r in ranges]
        )
        if numbers is not None:
            free(numbers)
    free(basket_codes)
    size_aggs: dict[str, ir.Scalar] = {"n_items": bi.count()}
    if cut is not None:
        size_aggs["n_items_cut"] = (bi.first_date <= cut).cast("int64").sum().cast("int64")
    sizes = keep(bi.group_by("bid").aggregate(**size_aggs))
    over = sizes.n_items > cap
    count_aggs: dict[str, ir.Scalar] = {
        "n_baskets_all": sizes.count().cast("int64"),
        "n_baskets_over_cap": over.cast("int64").sum().fill_null(0).cast("int64"),
        "n_items_over_cap": ibis.ifelse(over, sizes.n_items, 0).sum().fill_null(0).cast("int64"),
        "n_baskets": (~over).cast("int64").sum().fill_null(0).cast("int64"),
    }
    if cut is not None:
        kept_cut = (sizes.n_items_cut > 0) & (sizes.n_items_cut <= cap)
        count_aggs["n_baskets_cut"] = kept_cut.cast("int64").sum().fill_null(0).cast("int64")
    counts = keep(sizes.aggregate(**count_aggs))
    # each basket × item row with its basket's size, joined in each of the two queries
    # below rather than kept: a third table of every basket × item row beside the other two
    # filled the engine's memory at a million customers, and the join costs less than
    # writing it and reading it back
    j = bi.join(sizes, "bid")
    within = j.n_items <= cap
    stat_aggs: dict[str, ir.Scalar] = {
        "n": within.cast("int64").sum().cast("int64"),
        "category": ibis.ifelse(within, j.category, ibis.null("int32")).max(),
        "category_all": j.category.max(),
    }
    pairable = (j.n_items >= 2) & within
    if cut is not None:
        within_cut = (j.first_date <= cut) & (j.n_items_cut <= cap)
        stat_aggs |= {
            "n_cut": within_cut.cast("int64").sum().cast("int64"),
            "category_cut": ibis.ifelse(within_cut, j.category_cut, ibis.null("int32")).max(),
        }
        pairable |= within_cut & (j.n_items_cut >= 2)
    stats = j.group_by("iid").aggregate(**stat_aggs)
    named_items = stats.join(item_codes, "iid")
    items = named_items.select("item", *stat_aggs, "iid")
    items = keep(
        _named_categories(items, codes, [c for c in stat_aggs if c.startswith("category")])
    )
    free(item_codes)
    p = j.filter(pairable)
    columns = {
        "bid": p.bid,
        "iid": p.iid,
        "first_date": p.first_date,
        "n_items": p.n_items.cast("int32"),
    }
    if cut is not None:
        columns["n_items_cut"] = p.n_items_cut.cast("int32")
    rows = keep(p.select(**columns))
    free(bi)
    free(sizes)
    free(codes)
    return Baskets(
        rows=rows,
        items=items,
        counts=counts,
        max_basket_items=cap,
        cutoff=cutoff,
        engine=engine,
        basket_ranges=ranges,
    )


def _named_categories(items: ir.Table, codes: ir.Table, columns: list[str]) -> ir.Table:
    """``items`` with each of ``columns`` (a category's number in ``codes``) its text."""
    for c in columns:
        names = codes.select(_code="code", _name="category")
        j = items.left_join(names, items[c] == names._code)
        items = j.select(*(k for k in items.columns if k != c), **{c: j._name}).select(
            *items.columns
        )
    return items


#: The most items a level may hold for its baskets to be counted as bit sets
#: (:func:`masked_baskets`): one bit an item in a 64-bit integer, the sign bit unused.
MASK_ITEMS = 62
#: bit sets turned into a set × category table at a time (:func:`masked_baskets`)
_MASK_BLOCK = 1 << 16


def masked_baskets(
    tx: ir.Table,
    settings: CrossSellSettings,
    *,
    level: Level,
    engine: Engine | None = None,
) -> tuple[Baskets, ir.Table] | None:
    """The baskets of the categories of ``tx``'s sale lines and their pair counts, counted
    as bit sets; None where they cannot be (another level, Spark, or more than
    :data:`MASK_ITEMS` categories), which :func:`basket_items` and :func:`pair_counts` then
    count.

    With few categories a basket is a set of at most :data:`MASK_ITEMS` of them: one
    BIGINT, a bit per category (numbered in their names' order). The engine groups the
    lines into one such number per basket and counts the baskets of each number; every
    figure of the rules follows from those few distinct numbers and their counts (with
    NumPy): a category's baskets within the cap, a pair's, and the baskets over the cap.
    The figures are those :func:`basket_items` and :func:`pair_counts` give (a category's
    category is itself), without a basket × item row.

    Returns the baskets (no ``rows``; items, counts as :class:`Baskets`) and the pairs
    (x, y, n_both as :func:`pair_counts`, every pair of categories some basket within the
    cap holds), both computed into ``engine`` when given.
    """
    if level != "category" or _on_spark(tx, engine):
        return None
    cap = settings.max_basket_items
    lines = basket_lines(tx, level)
    names = run_query(lines.select("item").distinct(), f"the {level}s of the baskets")
    names = names.take(pc.sort_indices(names, [("item", "ascending")]))
    n_items = names.num_rows
    if n_items > MASK_ITEMS:
        return None

    def put(t: pa.Table) -> ir.Table:
        return ibis.memtable(t) if engine is None else engine.from_arrow(t)

    codes = put(
        pa.table({"item": names.column("item"), "iid": pa.array(range(n_items), pa.int64())})
    )
    coded = lines.select("basket", "item").join(codes, "item")
    bits = ibis.literal(1, "int64") << coded.iid
    masks = coded.group_by("basket").aggregate(mask=bits.bit_or())
    weighted = run_query(
        masks.group_by("mask").aggregate(w=masks.count()), f"the {level} baskets as bit sets"
    )
    if engine is not None:
        engine.release(codes)
    mask = np.asarray(weighted.column("mask").to_numpy(zero_copy_only=False), np.int64)
    w = np.asarray(weighted.column("w").to_numpy(zero_copy_only=False), np.int64)
    # a block of bit sets at a time: a set × category table of the distinct sets at once
    # would grow with them (a seller of 60 categories may have millions of distinct sets)
    bit = np.arange(n_items, dtype=np.int64)
    size = np.empty(len(mask), np.int64)
    n = np.zeros(n_items, np.int64)
    both = np.zeros((n_items, n_items), np.int64)
    for lo in range(0, len(mask), _MASK_BLOCK):
        block, wb = mask[lo : lo + _MASK_BLOCK], w[lo : lo + _MASK_BLOCK]
        held = (block[:, None] >> bit) & 1
        size[lo : lo + _MASK_BLOCK] = sizes = held.sum(axis=1)
        within = sizes <= cap
        n += (held[within] * wb[within, None]).sum(axis=0)
        pairable = within & (sizes >= 2)
        some = held[pairable]
        both += some.T @ (some * wb[pairable, None])
    over = size > cap
    within = ~over
    x, y = np.nonzero(np.triu(both, k=1))
    counts = pa.table(
        {
            "n_baskets_all": pa.array([int(w.sum())], pa.int64()),
            "n_baskets_over_cap": pa.array([int(w[over].sum())], pa.int64()),
            "n_items_over_cap": pa.array([int((w * size)[over].sum())], pa.int64()),
            "n_baskets": pa.array([int(w[within].sum())], pa.int64()),
        }
    )
    item = names.column("item").combine_chunks().cast(pa.string())
    items = pa.table(
        {
            "item": item,
            "n": pa.array(n, pa.int64()),
            "category": pc.if_else(pa.array(n > 0), item, pa.nulls(n_items, pa.string())),
            "category_all": item,
            "iid": pa.array(np.arange(n_items), pa.int32()),
        }
    )
    pairs = pa.table(
        {
            "x": pa.array(x, pa.int32()),
            "y": pa.array(y, pa.int32()),
            "n_both": pa.array(both[x, y], pa.int64()),
        }
    )
    b = Baskets(
        rows=None, items=put(items), counts=put(counts), max_basket_items=cap, engine=engine
    )
    return b, put(pairs)


def baskets(tx: ir.Table, settings: CrossSellSettings, *, level: Level) -> ir.Table:
    """Distinct basket × item rows of the baskets within the size cap.

    Columns: basket, item, category (for products, the product's category).
    """
    lines = basket_lines(tx, level)
    bi = lines.group_by(["basket", "item"]).aggregate(category=lines.category.max())
    size = bi.group_by("basket").aggregate(n_items=bi.count())
    keep = size.filter(size.n_items <= settings.max_basket_items).select("basket")
    return bi.semi_join(keep, "basket")


def sizes_from(b: Baskets) -> ir.Table:
    """How many baskets there are and how many exceed the cap (one row); see
    :func:`basket_sizes`."""
    return b.counts.select("n_baskets_all", "n_baskets_over_cap", "n_items_over_cap")


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
    return sizes_from(basket_items(tx, settings, level=level))


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
    return rules_from(basket_items(tx, s, level=level), s, level=level)


def _frequent(items: ir.Table, s: CrossSellSettings) -> ir.Table:
    """The items (iid) frequent enough to form a rule: in at least ``min_pair_count`` baskets
    and ``min_support`` of them (``items`` has iid, n and n_baskets)."""
    return items.filter(
        (items.n >= s.min_pair_count)
        & (items.n.cast("float64") / items.n_baskets.cast("float64") >= s.min_support)
    ).select("iid")


def _version(b: Baskets, at_cutoff: bool) -> ir.Table:
    """The item figures (iid, item, n, category, n_baskets) of the baskets as of the last
    line or, ``at_cutoff``, as of the cutoff."""
    if at_cutoff:
        if b.cutoff is None:
            raise ValueError("these baskets were counted without a cutoff")
        items = b.items.select("iid", "item", n="n_cut", category="category_cut")
        total = b.counts.select(n_baskets="n_baskets_cut")
    else:
        items = b.items.select("iid", "item", "n", "category")
        total = b.counts.select("n_baskets")
    return items.cross_join(total)


def _counted(b: Baskets, rows: ir.Table, at_cutoff: bool) -> ir.BooleanValue:
    """Which of ``rows`` (of ``b.rows``) count in the baskets as of the last line or,
    ``at_cutoff``, as of the cutoff."""
    if at_cutoff:
        assert b.cutoff is not None
        return (
            (rows.first_date <= ibis.literal(b.cutoff))
            & (rows.n_items_cut >= 2)
            & (rows.n_items_cut <= b.max_basket_items)
        )
    return rows.n_items <= b.max_basket_items


def pair_counts(
    b: Baskets,
    settings: CrossSellSettings | None = None,
    *,
    baskets: tuple[int, int] | None = None,
) -> ir.Table:
    """The baskets holding each pair of frequent items, counted by one self-join of the
    basket × item rows (the transaction-sized part of the rules).

    Columns: x, y (item codes, x < y), n_both and, when the baskets were counted with a
    cutoff, n_both_cut (the same as of the cutoff: both counts come from the one join). A
    pair appears when either count is positive. :func:`rules_from` turns the counts into
    rules. ``baskets`` (from, to: to excluded) counts the baskets of that range of numbers
    only.
    """
    s = settings or CrossSellSettings()
    _check_cap(b, s)
    rows = b.rows
    if rows is None:
        raise ValueError("these baskets were counted as bit sets: their pairs come with them")
    if baskets is not None:
        rows = _in_range(rows, baskets)
    items = _version(b, at_cutoff=False)
    flags = {"now": _counted(b, rows, False) & rows.iid.isin(_frequent(items, s).iid)}
    if b.cutoff is not None:
        items_cut = _version(b, at_cutoff=True)
        flags["cut"] = _counted(b, rows, True) & rows.iid.isin(_frequent(items_cut, s).iid)
    f = rows.select("bid", "iid", **flags)
    f = f.filter(ibis.or_(*(f[k] for k in flags)))
    a = f.select(bid="bid", x="iid", **{f"{k}_x": k for k in flags})
    bb = f.select(bid_b="bid", y="iid", **{f"{k}_y": k for k in flags})
    # codes follow the names' order: x < y is the pair's first name before its second
    pairs = a.join(bb, [a.bid == bb.bid_b, a.x < bb.y])
    both = {k: pairs[f"{k}_x"] & pairs[f"{k}_y"] for k in flags}
    pairs = pairs.filter(ibis.or_(*both.values()))
    names = {"now": "n_both", "cut": "n_both_cut"}
    return pairs.group_by(["x", "y"]).aggregate(
        **{names[k]: v.cast("int64").sum().cast("int64") for k, v in both.items()}
    )


def kept_pair_counts(b: Baskets, settings: CrossSellSettings, engine: Engine) -> ir.Table:
    """:func:`pair_counts` computed into ``engine``: for baskets grouped a range at a time
    (:attr:`Baskets.basket_ranges`), the pairs of each range are counted by a join of its
    own and the counts summed, so that no join holds every basket × item row at once."""
    if not b.basket_ranges:
        return engine.materialize(pair_counts(b, settings))
    partial = engine.materialize_parts(
        [pair_counts(b, settings, baskets=r) for r in b.basket_ranges]
    )
    columns = [c for c in partial.columns if c.startswith("n_both")]
    summed = partial.group_by(["x", "y"]).aggregate(
        **{c: partial[c].sum().cast("int64") for c in columns}
    )
    kept = engine.materialize(summed)
    engine.release(partial)
    return kept


def _check_cap(b: Baskets, s: CrossSellSettings) -> None:
    if s.max_basket_items != b.max_basket_items:
        raise ValueError(
            f"the baskets were counted with max_basket_items = {b.max_basket_items}, "
            f"not {s.max_basket_items}"
        )


def rules_from(
    b: Baskets,
    settings: CrossSellSettings | None = None,
    *,
    level: Level,
    at_cutoff: bool = False,
    pairs: ir.Table | None = None,
) -> ir.Table:
    """Pair rules from basket × item rows (:func:`basket_items`); see :func:`basket_rules`.

    With ``at_cutoff``, the rules of the lines dated up to the baskets' cutoff. ``pairs``
    is :func:`pair_counts` of the same baskets and settings when already computed (the
    rules as of the last line and as of the cutoff then share one count of the pairs).
    """
    s = settings or CrossSellSettings()
    _check_cap(b, s)
    items = _version(b, at_cutoff)
    if pairs is None:
        pairs = pair_counts(b, s)
    column = "n_both_cut" if at_cutoff else "n_both"
    counted = pairs.filter(pairs[column] > 0).select("x", "y", n_both=column)
    both_ways = counted.union(
        counted.select(x=counted.y, y=counted.x, n_both=counted.n_both), distinct=False
    )
    ia = items.select(
        x="iid",
        antecedent="item",
        n_antecedent="n",
        antecedent_category="category",
        n_baskets="n_baskets",
    )
    ib = items.select(y="iid", consequent="item", n_consequent="n", consequent_category="category")
    r = both_ways.join(ia, "x").join(ib, "y")
    n = r.n_baskets.cast("float64")
    nb = r.n_both.cast("float64")
    na = r.n_antecedent.cast("float64")
    r = r.select(
        level=ibis.literal(level),
        antecedent=r.antecedent,
        consequent=r.consequent,
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
