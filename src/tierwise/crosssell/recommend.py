r"""Next best products and up-sell leads per customer, scored in the engine.

**Candidates.** For a customer :math:`c` in look-alike group :math:`G` (see
:mod:`~tierwise.crosssell.peers`), two sources propose items it has never bought:

- *peers*: the group's most bought items, ``candidates_per_customer`` of them after
  leaving out what :math:`c` owns (drawn from the group's ``candidate_pool`` most bought).
  The peer share :math:`p_{\text{peer}} = b_{G,i} / (|G| - 1)` is the fraction of the other
  buying members of :math:`G` who buy item :math:`i` (:math:`c` does not, so it never counts
  itself);
- *rules*: every basket rule :math:`X \to i` with :math:`X` an item :math:`c` owns; the
  strongest (highest confidence, then lift) gives :math:`p_{\text{rule}}`, its confidence.

**Score.** :math:`1 - (1 - p_{\text{peer}})(1 - p_{\text{rule}})`: the chance that either
signal fires if they were independent, in [0, 1]. **Expected value** = score × typical
yearly spend on the item (the median among the group's buyers of it, else among all
buyers) × the item's gross margin rate (from the cost of its lines, else ``margin_rate``).
Ranked by score, then expected value, then item; ``max_recommendations`` per customer.

**Up-sell** (categories a customer already buys): its yearly spend on the category below
``upsell_spend_ratio`` × the group's median among buyers of the category (gap = median −
own), or its average unit price below ``upsell_price_ratio`` × the group's median unit price
(it buys the cheaper lines; gap = price difference × its yearly quantity), or its
*category share of wallet* — the category's share :math:`s_{c,k}` of the customer's yearly
spend with us — below ``upsell_share_ratio`` × the group's median share among buyers of the
category :math:`\tilde s_{G,k}` (gap = :math:`(\tilde s_{G,k} - s_{c,k})` × its yearly
spend: what it would buy in the category with its peers' mix). The largest gap names the
lead; every lead carries both shares as evidence. Expected value = gap × margin rate ×
``upsell_capture``.

Everything transaction-sized runs in the engine; only the ranked recommendations (at most
``max_recommendations`` per customer), the up-sell leads and the peer groups are Arrow.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import exact_sum, sums_fit_narrow
from ..io.outputs import AS_VALUES
from ..settings.crosssell import CrossSellSettings
from ..validate import count_text
from ._lines import Level, as_date, basket_lines, months_before, run_query
from .peers import PeerGroups, peer_groups

if TYPE_CHECKING:
    from ..engine import Engine

__all__ = [
    "CROSS_SELL_COLUMNS",
    "UP_SELL_COLUMNS",
    "Recommendations",
    "customer_items",
    "item_labels",
    "plain_text",
    "recommend",
]

#: Columns of the cross_sell table, in order.
CROSS_SELL_COLUMNS = (
    "customer_id",
    "rank",
    "item",
    "category",
    "score",
    "expected_value",
    "source",
    "reason",
    "peer_group",
    "n_peers",
    "peer_share",
    "rule_antecedent",
    "rule_confidence",
    "rule_lift",
    "typical_spend",
    "margin_rate",
)

#: Columns of the up_sell table, in order.
UP_SELL_COLUMNS = (
    "customer_id",
    "rank",
    "category",
    "kind",
    "own",
    "peer_median",
    "gap",
    "expected_value",
    "reason",
    "peer_group",
    "own_share",
    "peer_share",
)


@dataclass
class Recommendations:
    """Ranked recommendations and up-sell leads (Arrow) with the peer groups used."""

    cross_sell: pa.Table
    up_sell: pa.Table
    groups: PeerGroups
    level: Level
    as_of: _dt.date
    warnings: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def _put(t: pa.Table, *, engine: Engine | None, made: list[ir.Table]) -> ir.Table:
    """``t`` where the engine's queries read it (a memtable without an engine); a table
    made in the engine is listed in ``made``, to be released with the rest."""
    if engine is None:
        return ibis.memtable(t)
    made.append(got := engine.from_arrow(t))
    return got


def give_back(engine: Engine | None) -> None:
    """Hand the memory the engine and Arrow have freed back to the system: after a step whose
    queries held much more than what it keeps, so that the next step's peak does not come on
    top of freed pages (DuckDB's allocator and Arrow's keep them for reuse, and neither
    reuses the other's)."""
    if engine is not None:
        engine.give_back_memory()
    pa.default_memory_pool().release_unused()


def _keep(expr: ir.Table, engine: Engine | None) -> ir.Table:
    """Compute a table used several times once, when an engine is at hand."""
    return engine.materialize(expr) if engine is not None else expr


def customer_items(
    tx: ir.Table,
    *,
    level: Level,
    as_of: _dt.date,
    lookback_months: int,
    cutoff: _dt.date | None = None,
    prices: bool = True,
    categories: bool = True,
    bounds: Sequence[str] = (),
    check_narrow: bool = True,
) -> ir.Table:
    """Customer × item figures up to ``as_of`` (in the engine).

    Columns: customer_id, item, category, first_date (first purchase ever), spend_year
    (revenue over the lookback window, per year), qty_year (quantity, per year, lines with
    a quantity), price (revenue per unit over those lines; null without quantity),
    revenue_costed and cost (lines with a cost, for the margin rate). Without ``prices``,
    no qty_year and price (the up-sell's figures; the recommendations do not use them);
    without ``categories``, no category (for a caller that knows each item's category).

    With ``cutoff`` (an earlier date), also the figures the recommendations use as of the
    cutoff, from the lines dated up to it: category_cut, spend_year_cut (over the lookback
    window ending at the cutoff), revenue_costed_cut and cost_cut; :func:`at_cutoff` reads
    them as a table of their own.

    With ``bounds`` (customer ids, ascending: :func:`customer_bounds`), the customers
    between two bounds are grouped apart and the groups put together: the engine holds
    one range's customer × item groups at a time, not every customer's (the table is a
    customer × item row for almost every pair of a customer's lines).

    The sums are exact (:func:`~tierwise.engine.exact_sum`), in 18 digits when
    ``check_narrow`` and a query finds every amount of the lines small enough
    (:func:`~tierwise.engine.sums_fit_narrow`; the same sums, taken faster), else in 38.
    """
    lines = basket_lines(tx, level)
    lines = lines.filter(lines.date <= ibis.literal(as_of))
    start = months_before(as_of, lookback_months)
    w = lines.date > ibis.literal(start)
    has_q = w & lines.quantity.notnull() & (lines.quantity > 0)
    has_c = w & lines.cost.notnull()
    per_year = 12.0 / lookback_months
    # the exact sums in 18 digits where every amount allows it (the same sums, faster)
    amounts = [lines.revenue, lines.cost, *([lines.quantity] if prices else [])]
    narrow = sums_fit_narrow(lines, amounts, "the sale lines' amounts") if check_narrow else False

    def total(x: ir.NumericValue) -> ir.NumericScalar:
        return exact_sum(x, narrow=narrow)

    aggs: dict[str, ir.Scalar] = {
        "first_date": lines.date.min(),
        "spend": total(ibis.ifelse(w, lines.revenue, 0.0)),
        "revenue_costed": total(ibis.ifelse(has_c, lines.revenue, 0.0)),
        "cost": total(ibis.ifelse(has_c, lines.cost, 0.0)),
    }
    if prices:
        aggs |= {
            "qty": total(ibis.ifelse(has_q, lines.quantity, 0.0)),
            "qty_revenue": total(ibis.ifelse(has_q, lines.revenue, 0.0)),
        }
    # at the category level each line's category is its item: no text maximum to take
    text_categories = categories and level != "category"
    if text_categories:
        aggs["category"] = lines.category.max()
    if cutoff is not None:
        before = lines.date <= ibis.literal(cutoff)
        wc = before & (lines.date > ibis.literal(months_before(cutoff, lookback_months)))
        has_cc = wc & lines.cost.notnull()
        if text_categories:
            aggs["category_cut"] = ibis.ifelse(before, lines.category, ibis.null("string")).max()
        aggs |= {
            "spend_cut": total(ibis.ifelse(wc, lines.revenue, 0.0)),
            "revenue_costed_cut": total(ibis.ifelse(has_cc, lines.revenue, 0.0)),
            "cost_cut": total(ibis.ifelse(has_cc, lines.cost, 0.0)),
        }
    ci = _grouped_by_range(lines, aggs, bounds)
    if categories and not text_categories:
        ci = ci.mutate(category=ci.item)
        if cutoff is not None:
            # bought by the cutoff: a line dated up to it
            ci = ci.mutate(
                category_cut=ibis.ifelse(
                    ci.first_date <= ibis.literal(cutoff), ci.item, ibis.null("string")
                )
            )
    out: dict[str, ir.Value] = {"spend_year": ci.spend * per_year}
    if prices:
        out |= {
            "qty_year": ci.qty * per_year,
            "price": ibis.ifelse(ci.qty > 0, ci.qty_revenue / ci.qty, ibis.null("float64")),
        }
    out |= {"revenue_costed": ci.revenue_costed, "cost": ci.cost}
    if cutoff is not None:
        if categories:
            out["category_cut"] = ci.category_cut
        out |= {
            "spend_year_cut": ci.spend_cut * per_year,
            "revenue_costed_cut": ci.revenue_costed_cut,
            "cost_cut": ci.cost_cut,
        }
    keys = ["customer_id", "item", *(["category"] if categories else []), "first_date"]
    return ci.select(*keys, **out)


def _grouped_by_range(
    lines: ir.Table, aggs: dict[str, ir.Scalar], bounds: Sequence[str]
) -> ir.Table:
    """``lines`` grouped by customer and item with ``aggs``, a range of customer ids
    (split at ``bounds``) at a time."""
    if not bounds:
        return lines.group_by(["customer_id", "item"]).aggregate(**aggs)
    parts = []
    for keep in _customer_ranges(lines.customer_id, bounds):
        part = lines.filter(keep)
        parts.append(part.group_by(["customer_id", "item"]).aggregate(**aggs))
    return ibis.union(*parts, distinct=False)


def _customer_ranges(cid: ir.StringValue, bounds: Sequence[str]) -> list[ir.BooleanValue]:
    """One filter per range of customer ids split at ``bounds``: [bound j-1, bound j).
    The ranges neither overlap nor leave an id out when the bounds ascend as the engine
    compares text (byte by byte, as Arrow sorts them); they come in that order, and a
    missing id goes with the last range (where an ascending order puts it)."""
    edges = sorted(set(bounds), key=lambda b: b.encode())
    if not edges:
        return [ibis.literal(True)]
    out = []
    for j in range(len(edges) + 1):
        low = cid >= ibis.literal(edges[j - 1], "string") if j > 0 else None
        high = cid < ibis.literal(edges[j], "string") if j < len(edges) else None
        if low is None:
            out.append(high)
        elif high is None:
            out.append(low | cid.isnull())
        else:
            out.append(low & high)
    return out


#: Customers whose customer × item groups the engine forms at once (:func:`customer_items`).
ITEMS_RANGE = 50_000

#: The items a customer is taken to buy, for the
#: ranges of customers whose figures per category are formed at once: a customer buys at most
#: every category, so with fewer categories than this a range holds more customers.
ITEMS_PER_CUSTOMER = 32


def customer_bounds(ids: pa.Array | pa.ChunkedArray, per_range: int | None = None) -> list[str]:
    """Customer ids that split ``ids`` into ranges of about ``per_range`` customers
    (:data:`ITEMS_RANGE` when None; ascending; none when one range holds them all), for
    :func:`customer_items`.

    Examples
    --------
    >>> customer_bounds(pa.array(["d", "a", "c", "b", "e"]), 2)
    ['c', 'e']
    """
    per_range = per_range or ITEMS_RANGE
    text = pc.unique(pc.drop_null(pc.cast(ids, pa.string())))
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    ordered = text.take(pc.sort_indices(text))
    return [ordered[i].as_py() for i in range(per_range, len(ordered), per_range)]


def at_cutoff(ci: ir.Table, cutoff: _dt.date) -> ir.Table:
    """The customer × item figures as of the cutoff, from :func:`customer_items` built with
    it: the pairs bought by then, with the columns the recommendations use (customer_id,
    item, category, first_date, spend_year, revenue_costed, cost)."""
    t = ci.filter(ci.first_date <= ibis.literal(cutoff))
    category = {"category": t.category_cut} if "category_cut" in t.columns else {}
    return t.select(
        "customer_id",
        "item",
        "first_date",
        **category,
        spend_year=t.spend_year_cut,
        revenue_costed=t.revenue_costed_cut,
        cost=t.cost_cut,
    )


def _only(x: ir.FloatingValue, keep: ir.BooleanValue) -> ir.FloatingValue:
    """``x`` where ``keep``, else NULL (what an aggregate then skips; Spark's percentile
    takes no filter)."""
    return ibis.ifelse(keep, x, ibis.null("float64"))


def item_table(ci: ir.Table, margin_rate: float | None) -> ir.Table:
    """Per item: category (null when ``ci`` has none), buyers, median yearly spend among
    spenders, margin rate."""
    category = ci.category.max() if "category" in ci.columns else ibis.null("string")
    t = ci.group_by("item").aggregate(
        category=category,
        all_buyers=ci.count(),
        all_median_spend=_only(ci.spend_year, ci.spend_year > 0).median(),
        revenue_costed=exact_sum(ci.revenue_costed),
        cost=exact_sum(ci.cost),
    )
    fallback = ibis.literal(margin_rate, "float64") if margin_rate is not None else None
    margin = ibis.ifelse(
        t.revenue_costed > 0,
        (t.revenue_costed - t.cost) / t.revenue_costed,
        fallback if fallback is not None else ibis.null("float64"),
    )
    return t.select("item", "category", "all_buyers", "all_median_spend", margin_rate=margin)


def _buyer_stats(codes: _Codes) -> ir.Table:
    """Per peer group and item: buyers and median yearly spend among spenders (gid, iid,
    n_buyers, median_spend)."""
    m = codes.owned.join(codes.members, "cid")
    spends = m.spend_year > 0
    return m.group_by(["gid", "iid"]).aggregate(
        n_buyers=m.count(),
        median_spend=_only(m.spend_year, spends).median(),
    )


def _text(x: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    return pc.cast(x, pa.string())


def _pct(x: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Shares as whole percents ("75%"), rounded half to even."""
    whole = pc.round(pc.multiply(pc.cast(x, pa.float64()), 100.0), round_mode="half_to_even")
    return pc.binary_join_element_wise(_text(pc.cast(whole, pa.int64())), "%", "")


def _money(x: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Amounts as whole numbers with thousands separators ("12,345"), rounded half to even.

    Examples
    --------
    >>> _money(pa.array([0.4, 999.5, 1234.0, -1234567.0])).to_pylist()
    ['0', '1,000', '1,234', '-1,234,567']
    """
    whole = pc.cast(pc.round(pc.cast(x, pa.float64()), round_mode="half_to_even"), pa.int64())
    digits = _text(pc.abs(whole))
    # groups of three digits from the right (an empty group is dropped by the join)
    groups = []
    for k in range(7):  # an int64 has at most 19 digits
        part = pc.utf8_slice_codeunits(digits, start=-3 * (k + 1), stop=-3 * k if k else None)
        groups.append(pc.if_else(pc.equal(part, ""), pa.scalar(None, pa.string()), part))
    body = pc.binary_join_element_wise(*reversed(groups), ",", null_handling="skip")
    sign = pc.if_else(pc.less(whole, 0), "-", "")
    return pc.binary_join_element_wise(sign, body, "")


def _join(*parts: Any) -> pa.Array | pa.ChunkedArray:
    """Text pieces (arrays or strings) joined element-wise."""
    return pc.binary_join_element_wise(*parts, "")


def item_labels(
    items: pa.Array | pa.ChunkedArray, categories: pa.Array | pa.ChunkedArray
) -> pa.Array | pa.ChunkedArray:
    """An item as people read it: its id with its category beside it, where the lines
    carry one that differs from the id ("SKU00132 (Safety & PPE)"); the id alone else.

    Examples
    --------
    >>> labels = item_labels(pa.array(["p1", "p2", "tools"]), pa.array(["tools", None, "tools"]))
    >>> labels.to_pylist()
    ['p1 (tools)', 'p2', 'tools']
    """
    known = pc.fill_null(pc.not_equal(categories, items), False)
    return pc.if_else(known, _join(items, " (", categories, ")"), items)


def _reasons(t: pa.Table) -> pa.Array | pa.ChunkedArray:
    """One readable sentence per recommendation, from its strongest signals."""
    col = t.column
    label = item_labels(col("item"), col("category"))
    antecedent = pc.fill_null(col("rule_antecedent"), "")
    ante = item_labels(antecedent, col("rule_antecedent_category"))
    confidence = pc.fill_null(col("rule_confidence"), 0.0)
    peer = _join(
        _pct(col("peer_share")),
        " of ",
        _text(col("n_peers")),
        " look-alikes (",
        col("peer_group"),
        ") buy ",
        label,
    )
    rule = _join(
        "buys ",
        ante,
        ", not ",
        label,
        ": ",
        _pct(confidence),
        " of orders with ",
        antecedent,
        " also hold ",
        col("item"),
    )
    has_rule = pc.is_valid(col("rule_confidence"))
    has_peer = pc.greater(col("peer_share"), 0.0)
    rule_first = pc.and_(has_rule, pc.greater_equal(confidence, col("peer_share")))
    both = pc.if_else(rule_first, _join(rule, "; ", peer), _join(peer, "; ", rule))
    return pc.if_else(pc.and_(has_rule, has_peer), both, pc.if_else(has_rule, rule, peer))


def recommend(
    tx: ir.Table,
    customers: pa.Table,
    rules: pa.Table | None,
    settings: CrossSellSettings | None = None,
    *,
    as_of: _dt.date | str,
    level: Level | None = None,
    margin_rate: float | None = None,
    engine: Engine | None = None,
    only_customers: pa.Array | None = None,
) -> Recommendations:
    """Ranked next best items and up-sell leads, from the data up to ``as_of``.

    Parameters
    ----------
    tx
        Canonical transactions (Ibis); lines after ``as_of`` are ignored.
    customers
        The customer table (customer_id, the peer columns; ``is_prospect`` when present).
    rules
        Basket rules (:func:`~tierwise.crosssell.basket_rules`, materialised) at this
        level; ``None`` or empty recommends from peers alone.
    settings
        The ``[crosssell]`` section.
    as_of
        The analysis date.
    level
        Item level; ``settings.level`` when None.
    margin_rate
        Gross margin rate for items whose lines carry no cost (the ``[features]``
        margin_rate); None leaves their expected value empty.
    engine
        When given, intermediate tables used several times are computed once.
    only_customers
        Recommend to these customer ids only (all customers when None).

    Examples
    --------
    >>> import datetime as dt
    >>> day = dt.date(2024, 1, 1)
    >>> tx = ibis.memtable({"customer_id": ["a", "a", "b", "c", "c"], "date": [day] * 5,
    ...     "revenue": [10.0] * 5, "order_id": ["1", "1", "2", "3", "3"],
    ...     "product_id": ["tea", "cup", "tea", "tea", "cup"], "cost": [6.0] * 5})
    >>> cust = pa.table({"customer_id": ["a", "b", "c"], "industry": ["x"] * 3})
    >>> rec = recommend(tx, cust, None, CrossSellSettings(min_peers=2), as_of=day)
    >>> rec.cross_sell.select(["customer_id", "item", "score"]).to_pylist()
    [{'customer_id': 'b', 'item': 'cup', 'score': 1.0}]
    >>> rec.cross_sell.column("reason")[0].as_py()
    '100% of 2 look-alikes (x) buy cup'
    """
    s = settings or CrossSellSettings()
    lvl: Level = level or s.level
    day = as_date(as_of)
    ci = customer_items(
        tx, level=lvl, as_of=day, lookback_months=s.lookback_months, prices=lvl == "category"
    )
    ci = _keep(ci, engine)
    try:
        return recommend_from(
            ci,
            tx,
            customers,
            rules,
            s,
            level=lvl,
            as_of=day,
            margin_rate=margin_rate,
            engine=engine,
            only_customers=only_customers,
        )
    finally:
        if engine is not None:
            engine.release(ci)


def recommend_from(
    ci: ir.Table,
    tx: ir.Table,
    customers: pa.Table,
    rules: pa.Table | None,
    s: CrossSellSettings,
    *,
    level: Level,
    as_of: _dt.date,
    margin_rate: float | None,
    engine: Engine | None,
    only_customers: pa.Array | None = None,
    categories: pa.Table | None = None,
) -> Recommendations:
    """:func:`recommend` from customer × item figures already computed
    (:func:`customer_items` of ``tx`` at ``level`` and ``as_of``); ``categories`` (item,
    category) names each item's category when ``ci`` has none."""

    def finish(got: pa.Table, known: pa.Table) -> pa.Table:
        return _finish_cross_sell(got, known if categories is None else categories, level)

    ranked = rank_items(
        ci,
        customers,
        rules,
        s,
        level=level,
        margin_rate=margin_rate,
        engine=engine,
        only_customers=only_customers,
        finish=finish,
    )
    cross = ranked.got
    give_back(engine)
    up = _upsell(
        tx,
        ci if level == "category" else None,
        ranked.assigned,
        ranked.groups,
        s,
        as_of,
        margin_rate,
        engine,
    )
    facts = {
        "customers_recommended": int(
            pc.count_distinct(plain_text(cross.column("customer_id"))).as_py()
        ),
        "peer_columns": ranked.groups.columns,
        "customers_by_peer_level": {str(k): v for k, v in ranked.groups.level_counts.items()},
    }
    return Recommendations(cross, up, ranked.groups, level, as_of, ranked.warnings, facts)


@dataclass
class Ranked:
    """The ranked candidates of :func:`rank_items`, before their reasons are written.

    Attributes
    ----------
    got
        customer_id, rank, item, score, expected_value, n_peers, peer_share,
        rule_antecedent, rule_confidence, rule_lift, typical_spend, margin_rate, peer_label;
        ordered by customer and rank (or what :func:`rank_items`'s ``finish`` made of
        them).
    categories
        item, category: every item the customers buy, with its category.
    groups
        The look-alike groups.
    assigned
        The customers recommended to, with their group (customer_id, peer_level, peer_key,
        peer_label, n_peers, reach), in the engine.
    warnings
        Assumptions made for lack of data.
    """

    got: pa.Table
    categories: pa.Table
    groups: PeerGroups
    assigned: ir.Table
    warnings: list[str]


def rank_items(
    ci: ir.Table,
    customers: pa.Table,
    rules: pa.Table | None,
    s: CrossSellSettings,
    *,
    level: Level,
    margin_rate: float | None,
    engine: Engine | None,
    only_customers: pa.Array | None = None,
    items: ir.Table | None = None,
    finish: Callable[[pa.Table, pa.Table], pa.Table] | None = None,
    shared: SharedCodes | None = None,
) -> Ranked:
    """The ``max_recommendations`` best items per customer, scored in the engine.

    ``ci`` is :func:`customer_items` (or :func:`at_cutoff` of it); ``items`` is its item
    table when already computed (:func:`item_table`). ``finish(rows, categories)``, when
    given, is applied to each block of customers' ranked rows as it arrives (with the items'
    categories), so the raw rows of every block are never held at once. ``shared`` keeps
    what depends on ``ci``, ``items`` and ``rules`` alone (the items each customer owns and
    their codes) for the next call with the same three; its caller releases it.
    """
    warnings: list[str] = []
    if shared is not None and shared.n_owned is not None:
        owned = shared.n_owned
    else:
        owned = run_query(
            ci.group_by("customer_id").aggregate(n_owned=ci.count()).order_by("customer_id"),
            "the items each customer buys",
        )
        if shared is not None:
            shared.n_owned = owned
    cust = _peer_view(customers, s)
    if "is_prospect" in cust.column_names and not s.include_prospects:
        mask = pc.invert(cust.column("is_prospect").fill_null(False))
        cust = cust.filter(mask)
    groups = peer_groups(cust, owned.column("customer_id"), s)
    assigned = groups.assigned
    if only_customers is not None:
        assigned = assigned.filter(pc.is_in(assigned.column("customer_id"), only_customers))
    n_owned = _lookup(owned, "customer_id", "n_owned", assigned.column("customer_id"), 0)
    assigned = assigned.append_column(
        "reach", pa.array(n_owned + s.candidates_per_customer, pa.int64())
    )
    assigned = assigned.filter(pc.greater(assigned.column("n_peers"), 0))
    assign_t = ibis.memtable(assigned)

    own_items = items is None
    items = _keep(item_table(ci, margin_rate), engine) if items is None else items
    info = run_query(
        items.select("item", "category", "margin_rate").order_by("item"), "the items bought"
    )
    if margin_rate is None:
        no_margin = info.column("margin_rate").null_count
        if no_margin:
            warnings.append(
                # the stage puts "cross-sell: " before each warning
                f"{count_text(no_margin, 'item')} "
                f"{'has' if no_margin == 1 else 'have'} no cost on the lines, so the expected "
                "value is empty; set [features] margin_rate to use a margin rate instead"
            )

    # the engine joins and ranks integer codes: customers numbered in id order, the
    # look-alike groups, and items numbered in name order (the ranking's last tie-break)
    assigned = assigned.take(pc.sort_indices(assigned.column("customer_id")))
    codes = _codes(ci, groups, assigned, items, rules, level, engine, shared)
    st = _keep(_buyer_stats(codes), engine)
    # -- candidates from peers: the group's most bought items (the customer's own left out
    # in the block query)
    ranked = st.mutate(
        grank=ibis.row_number().over(group_by="gid", order_by=[ibis.desc("n_buyers"), "iid"])
    )
    ranked = _keep(
        ranked.filter(ranked.grank < s.candidate_pool).select("gid", "grank", "iid", "n_buyers"),
        engine,
    )
    figures = _keep(
        items.join(codes.items, "item").select("iid", "all_median_spend", "margin_rate"), engine
    )
    # customers in blocks of consecutive ids: each block's query holds its own candidates
    # only, so the engine's memory follows the block, not the customer count
    categories = info.select(["item", "category"])
    blocks = []
    for start in range(0, max(assigned.num_rows, 1), _RANK_BLOCK):
        block = _rank_block(codes, start, start + _RANK_BLOCK, ranked, st, figures, s)
        blocks.append(block if finish is None else finish(block, categories))
    # one dictionary per text column across the blocks
    got = pa.concat_tables(blocks).unify_dictionaries()
    if engine is not None:
        for t in (st, ranked, figures, *([items] if own_items else [])):
            engine.release(t)
        codes.release(engine)
    return Ranked(got, categories, groups, assign_t, warnings)


def _peer_view(customers: pa.Table, s: CrossSellSettings) -> pa.Table:
    """The columns of ``customers`` the look-alike groups are formed from (customer_id,
    is_prospect and the peer columns): what is filtered and copied is this, not every
    stage's columns."""
    wanted = {"customer_id", "is_prospect", *s.peer_columns, *s.fallback_peer_columns}
    if "size_band" in wanted:
        wanted |= {"employees", "annual_revenue"}
    return customers.select([c for c in customers.column_names if c in wanted])


#: Customers ranked in one query at most.
_RANK_BLOCK = 100_000


@dataclass
class SharedCodes:
    """What :func:`rank_items` computes from the customer × item figures, the item table
    and the rules alone, kept for another call with the same three (the evaluation ranks
    its customers with two definitions of look-alikes).

    Attributes
    ----------
    n_owned
        customer_id, n_owned: the items each customer buys (Arrow).
    ids
        The customers the codes below number (Arrow, by id).
    items, names, owned, rules
        As in :class:`_Codes`.
    made
        The engine tables among them, for :meth:`release`.
    """

    n_owned: pa.Table | None = None
    ids: pa.Array | None = None
    items: ir.Table | None = None
    names: pa.ChunkedArray | None = None
    owned: ir.Table | None = None
    rules: ir.Table | None = None
    made: list[ir.Table] = field(default_factory=list)

    def release(self, engine: Engine | None) -> None:
        """Free the engine tables kept."""
        if engine is not None:
            for t in self.made:
                engine.release(t)
        self.made = []


@dataclass
class _Codes:
    """The integer codes the engine joins and ranks with.

    Attributes
    ----------
    ids
        Every customer of the look-alike groups by id (Arrow): a customer's code (cid) is
        its place.
    assigned
        The customers to rank (Arrow, by id) with their code (cid) and group's name
        (peer_label).
    customers
        In the engine: cid, gid (the group's code), n_peers, reach of the customers to
        rank.
    members
        In the engine: cid, gid of every buying member of a group in use.
    owned
        In the engine: cid, iid, spend_year for every item a customer of the groups owns.
    items
        item, iid: each item's code (its place in the names' order).
    names
        The item names by code (Arrow).
    rules
        In the engine: each rule with its place in the order rules are preferred in
        (consequent, then highest confidence, then lift, then antecedent name), x and y (the
        antecedent's and consequent's codes), rule_antecedent, rule_confidence, rule_lift;
        None without rules.
    """

    ids: pa.Array
    assigned: pa.Table
    customers: ir.Table
    members: ir.Table
    owned: ir.Table
    items: ir.Table
    names: pa.ChunkedArray
    rules: ir.Table | None
    made: list[ir.Table]

    def release(self, engine: Engine) -> None:
        for t in self.made:
            engine.release(t)


def _codes(
    ci: ir.Table,
    groups: PeerGroups,
    assigned: pa.Table,
    items: ir.Table,
    rules: pa.Table | None,
    level: Level,
    engine: Engine | None,
    shared: SharedCodes | None = None,
) -> _Codes:
    """The codes of every customer of ``groups``, of the customers to rank (``assigned``,
    sorted by customer_id), of the groups, the items and the rules (see :class:`_Codes`);
    those of the items and the owned items taken from ``shared`` when it holds them for the
    same customers, else kept there."""
    made: list[ir.Table] = []
    put = functools.partial(_put, engine=engine, made=made)

    everyone = groups.assigned.column("customer_id").cast(pa.string()).combine_chunks()
    ids = everyone.take(pc.sort_indices(everyone))

    def cid(x: pa.ChunkedArray | pa.Array) -> pa.Array:
        return pc.index_in(x, value_set=ids).cast(pa.int32())

    def key(t: pa.Table) -> pa.Array:
        joined = pc.binary_join_element_wise(
            pc.cast(t.column("peer_level"), pa.string()), t.column("peer_key"), "|"
        )
        return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined

    # a group's code: its place among the groups of the customers and members
    members = groups.members
    both = pc.dictionary_encode(pa.concat_arrays([key(assigned), key(members)])).indices
    gid = both.cast(pa.int32())
    n = assigned.num_rows
    ranked_cid = cid(assigned.column("customer_id"))
    customers = put(
        pa.table(
            {
                "cid": ranked_cid,
                "gid": gid.slice(0, n),
                "n_peers": assigned.column("n_peers"),
                "reach": assigned.column("reach"),
            }
        )
    )
    member_t = put(pa.table({"cid": cid(members.column("customer_id")), "gid": gid.slice(n)}))
    if shared is not None and shared.ids is not None and shared.ids.equals(ids):
        base = shared
    else:
        base = _owned_codes(ci, ids, items, rules, level, engine)
        if shared is None:
            made.extend(base.made)
        else:
            shared.release(engine)
            shared.ids, shared.items, shared.names = base.ids, base.items, base.names
            shared.owned, shared.rules, shared.made = base.owned, base.rules, base.made
    assert base.owned is not None and base.items is not None and base.names is not None
    return _Codes(
        ids,
        pa.table(
            {
                "cid": ranked_cid,
                "customer_id": assigned.column("customer_id"),
                "peer_label": assigned.column("peer_label"),
            }
        ),
        customers,
        member_t,
        base.owned,
        base.items,
        base.names,
        base.rules,
        made,
    )


def _owned_codes(
    ci: ir.Table,
    ids: pa.Array,
    items: ir.Table,
    rules: pa.Table | None,
    level: Level,
    engine: Engine | None,
) -> SharedCodes:
    """The codes of the items (those of ``items`` and those the rules name), every item a
    customer of ``ids`` owns by codes, and the rules by codes (see :class:`_Codes`)."""
    made: list[ir.Table] = []
    put = functools.partial(_put, engine=engine, made=made)

    def keep(t: ir.Table) -> ir.Table:
        if engine is None:
            return t
        made.append(got := engine.materialize(t))
        return got

    people = put(pa.table({"customer_id": ids, "cid": pa.array(np.arange(len(ids)), pa.int32())}))
    r: pa.Table | None = None
    names = items.select("item")
    if rules is not None and rules.num_rows:
        r = rules
        if "level" in r.column_names:
            r = r.filter(pc.equal(r.column("level"), level))
        r = r.select(["antecedent", "consequent", "confidence", "lift"])
        # an item only a rule names gets a code too (the rules may come from other lines)
        named = pa.concat_arrays(
            [r.column(c).combine_chunks().cast(pa.string()) for c in ("antecedent", "consequent")]
        )
        names = names.union(ibis.memtable(pa.table({"item": named})))
    item_codes = keep(
        names.distinct().mutate(iid=ibis.row_number().over(order_by="item").cast("int32"))
    )
    ordered = run_query(item_codes.order_by("iid"), "the items' codes")
    by_code = ordered.column("item")
    owned = keep(
        ci.select("customer_id", "item", "spend_year")
        .join(people, "customer_id")
        .join(item_codes, "item")
        .select("cid", "iid", "spend_year")
    )
    if engine is not None:
        # the customers' ids are in the owned items' codes now
        engine.release(people)
        made.remove(people)
    rule_t = None
    if r is not None and r.num_rows:
        # each rule's place in that order (rules sorted by consequent first): the best rule
        # of a customer and item is the fired one with the smallest place, a hash aggregate
        # in the engine with no sort per customer and item
        order = pc.sort_indices(
            r,
            sort_keys=[
                ("consequent", "ascending"),
                ("confidence", "descending"),
                ("lift", "descending"),
                ("antecedent", "ascending"),
            ],
        )
        r = r.take(order)

        def code(c: str) -> pa.Array:
            return ordered.column("iid").take(pc.index_in(r.column(c), value_set=by_code))

        rule_t = put(
            pa.table(
                {
                    "place": pa.array(np.arange(r.num_rows), pa.int64()),
                    "x": code("antecedent"),
                    "y": code("consequent"),
                    "rule_antecedent": r.column("antecedent").cast(pa.string()),
                    "rule_confidence": r.column("confidence"),
                    "rule_lift": r.column("lift"),
                }
            )
        )
    return SharedCodes(
        ids=ids, items=item_codes, names=by_code, owned=owned, rules=rule_t, made=made
    )


def _rank_block(
    codes: _Codes,
    start: int,
    stop: int,
    ranked: ir.Table,
    stats: ir.Table,
    figures: ir.Table,
    s: CrossSellSettings,
) -> pa.Table:
    """The ranked recommendations of the customers to rank from row ``start`` to ``stop``
    - 1 of ``codes.assigned`` (see :class:`Ranked`).

    ``ranked`` is each group's most bought items (gid, grank, iid), ``stats`` each group's
    buyers and median spend per item (gid, iid, n_buyers, median_spend), ``figures`` each
    item's median spend among all buyers and margin rate (iid, all_median_spend,
    margin_rate).
    """
    block = codes.assigned.slice(start, stop - start)
    if block.num_rows:
        lo, hi = block.column("cid")[0].as_py(), block.column("cid")[-1].as_py()
    else:
        lo, hi = 0, -1
    cust = codes.customers.filter(codes.customers.cid.between(lo, hi))
    own = codes.owned.filter(codes.owned.cid.between(lo, hi)).semi_join(cust, "cid")
    own = own.select("cid", "iid")
    floor = _floor(cust, ranked, s.max_recommendations, s.candidates_per_customer)
    cust = cust.left_join(floor, "cid").drop("cid_right")
    from_peers = cust.join(ranked, [cust.gid == ranked.gid, ranked.grank < cust.reach])
    # a peer candidate below the floor can still come in through a rule (scored below)
    from_peers = from_peers.filter(
        from_peers.floor.isnull()
        | (_score(from_peers.n_buyers, from_peers.n_peers) >= from_peers.floor)
    ).select("cid", "iid")

    # -- candidates from rules: what the customer's own items trigger. Each customer and
    # item once, from either source, with its strongest rule when it has one: the fired
    # rule of the smallest place (a rule's place is its number in the order rules are
    # preferred in); a peer candidate has none
    rules = codes.rules
    cand = from_peers.mutate(place=ibis.null("int64"))
    if rules is not None:
        fired = own.join(rules.select("x", "y", "place"), own.iid == rules.x).select(
            "cid", iid="y", place="place"
        )
        both = ibis.union(cand, fired, distinct=False)
        cand = both.group_by(["cid", "iid"]).aggregate(place=both.place.min())
    cand = cand.anti_join(own, ["cid", "iid"])

    c = cand.join(cust.select("cid", "gid", "n_peers", "floor"), "cid")
    c = c.left_join(stats, ["gid", "iid"]).drop("gid_right", "iid_right")
    c = c.left_join(figures, "iid").drop("iid_right")
    if rules is not None:
        c = c.left_join(rules.select("place", "rule_confidence"), "place").drop("place_right")
    else:
        c = c.mutate(rule_confidence=ibis.null("float64"))
    score = _score(c.n_buyers, c.n_peers, c.rule_confidence)
    typical = c.median_spend.fill_null(c.all_median_spend)
    c = c.select(
        "cid",
        "iid",
        "place",
        "n_peers",
        "n_buyers",
        "floor",
        "margin_rate",
        score=score,
        typical_spend=typical,
        expected_value=score * typical * c.margin_rate,
    )
    # only candidates that can make the list are ranked (see _floor); the ranking carries
    # numbers only, the rule's words and figures are joined to the rows it keeps
    c = c.filter(c.floor.isnull() | (c.score >= c.floor))
    c = c.mutate(
        rank=ibis.row_number().over(
            group_by="cid",
            order_by=[ibis.desc("score"), ibis.desc(c.expected_value.fill_null(-1.0)), "iid"],
        )
        + 1
    )
    c = c.filter(c.rank <= s.max_recommendations)
    if rules is not None:
        c = c.left_join(
            rules.select("place", "rule_antecedent", "rule_confidence", "rule_lift"), "place"
        ).drop("place_right")
    else:
        c = c.mutate(
            rule_antecedent=ibis.null("string"),
            rule_confidence=ibis.null("float64"),
            rule_lift=ibis.null("float64"),
        )
    c = c.mutate(peer_share=c.n_buyers.fill_null(0).cast("float64") / c.n_peers.cast("float64"))
    got = run_query(
        c.select(
            "cid",
            "rank",
            "iid",
            "score",
            "expected_value",
            "n_peers",
            "peer_share",
            "rule_antecedent",
            "rule_confidence",
            "rule_lift",
            "typical_spend",
            "margin_rate",
        ).order_by(["cid", "rank"]),
        "the next best products",
    )
    # the codes back to ids and names (the group's name joins the ranked rows only)
    at = np.searchsorted(
        np.asarray(block.column("cid").to_numpy(zero_copy_only=False)),
        np.asarray(got.column("cid").to_numpy(zero_copy_only=False)),
    )
    row = pa.array(at, pa.int64())
    rest = [c for c in got.column_names if c not in ("cid", "rank", "iid")]
    # in the pieces the engine's rows came in (see _finish_cross_sell)
    lengths = [len(c) for c in got.column("rank").chunks]

    def named(values: pa.ChunkedArray | pa.Array, at: pa.Array) -> pa.ChunkedArray:
        taken = values.take(at)
        if isinstance(taken, pa.ChunkedArray):
            taken = taken.combine_chunks()
        return _chunked_like(taken, lengths)

    return pa.table(
        {
            "customer_id": named(block.column("customer_id"), row),
            "rank": got.column("rank"),
            "item": named(codes.names, got.column("iid").combine_chunks()),
            **{c: got.column(c) for c in rest},
            "peer_label": named(block.column("peer_label"), row),
        }
    )


def _score(
    n_buyers: ir.IntegerValue, n_peers: ir.IntegerValue, confidence: ir.FloatingValue | None = None
) -> ir.FloatingValue:
    """The noisy-or score of a candidate: 1 - (1 - peer share)(1 - rule confidence), a
    missing count or confidence counting 0 (see the module's docstring)."""
    peer_share = n_buyers.fill_null(0).cast("float64") / n_peers.cast("float64")
    conf = ibis.literal(0.0) if confidence is None else confidence.fill_null(0.0)
    return 1.0 - (1.0 - peer_share) * (1.0 - conf)


def _floor(cust: ir.Table, ranked: ir.Table, k: int, extra: int) -> ir.Table:
    r"""A score each customer's ``k`` best candidates reach, so the others need not be
    ranked (cid, floor; no row where none is known).

    A customer owns :math:`o` items and is offered its group's items up to its reach,
    :math:`o` + ``extra`` (``candidates_per_customer``). The items at places 0 to
    :math:`g = o + k - 1` of the group's list (by buyers, most first) hold at least
    :math:`k` items it does not own; when :math:`g` is below the reach they are all
    candidates, each with at least the buyers :math:`b_g` of the item at place :math:`g`,
    hence a score of at least the peers-only score of :math:`b_g` (a rule only raises a
    score, and the score's floating-point operations keep that order). A candidate scoring
    below that floor has :math:`k` candidates strictly before it and is never among the
    ``k`` best; one scoring at least as much is ranked as before, ties and all.
    """
    if k > extra:
        # the k-th item the customer does not own may lie beyond its reach
        return cust.select("cid", floor=ibis.null("float64")).filter(ibis.literal(False))
    place = cust.reach - extra + (k - 1)
    at = cust.join(ranked, [cust.gid == ranked.gid, place == ranked.grank])
    return at.select("cid", floor=_score(at.n_buyers, at.n_peers))


def _lookup(
    table: pa.Table, key: str, value: str, keys: pa.ChunkedArray | pa.Array, fill: float
) -> np.ndarray:
    idx = pc.index_in(keys, value_set=table.column(key))
    got = table.column(value).take(idx.fill_null(0)) if table.num_rows else None
    out = np.full(len(keys), fill, dtype=np.float64)
    if got is not None:
        vals = np.asarray(got.to_numpy(zero_copy_only=False), dtype=np.float64)
        ok = np.asarray(idx.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        out[ok] = vals[ok]
    return out


def _category_of(
    items: pa.ChunkedArray | pa.Array, categories: pa.Table
) -> pa.ChunkedArray | pa.Array:
    """The category of each item (null for an item not in ``categories``)."""
    idx = pc.index_in(items, value_set=categories.column("item"))
    return categories.column("category").take(idx)


#: Text columns with few distinct values, kept dictionary-encoded; the output files hold
#: their values (:data:`tierwise.io.outputs.AS_VALUES`).
_WORDS = pa.dictionary(pa.int32(), pa.string())


def _words(name: str) -> pa.Field:
    return pa.field(name, _WORDS, metadata=AS_VALUES)


_CROSS_SELL_SCHEMA = pa.schema(
    [
        _words("customer_id"),
        ("rank", pa.int64()),
        _words("item"),
        _words("category"),
        ("score", pa.float64()),
        ("expected_value", pa.float64()),
        _words("source"),
        _words("reason"),
        _words("peer_group"),
        ("n_peers", pa.int64()),
        ("peer_share", pa.float64()),
        _words("rule_antecedent"),
        ("rule_confidence", pa.float64()),
        ("rule_lift", pa.float64()),
        ("typical_spend", pa.float64()),
        ("margin_rate", pa.float64()),
    ]
)


def distinct_rows(columns: list[pa.ChunkedArray | pa.Array]) -> tuple[np.ndarray, np.ndarray]:
    """The rows of equal values in every one of ``columns``: each row's group (numbered in
    the order groups first appear) and the first row of each group.

    Nulls equal nulls; floats are equal when their bits are (so 0.0 and -0.0 differ).

    Examples
    --------
    >>> group, first = distinct_rows([pa.array(["a", "b", "a", None]), pa.array([1.0, 2, 1, 1])])
    >>> group.tolist(), first.tolist()
    ([0, 1, 0, 2], [0, 1, 3])
    """
    n = len(columns[0]) if columns else 0
    keys: dict[str, np.ndarray] = {}
    for k, col in enumerate(columns):
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        valid = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if pa.types.is_floating(col.type):
            values = np.asarray(pc.fill_null(col, 0.0).to_numpy(zero_copy_only=False), np.float64)
            code = values.view(np.int64)
        elif pa.types.is_integer(col.type):
            code = np.asarray(pc.fill_null(col, 0).to_numpy(zero_copy_only=False), np.int64)
        else:
            code = np.asarray(
                pc.fill_null(pc.dictionary_encode(col).indices, -1).to_numpy(zero_copy_only=False),
                np.int64,
            )
        keys[f"v{k}"] = np.where(valid, code, 0)
        keys[f"n{k}"] = valid
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    frame = pd.DataFrame(keys)
    group = frame.groupby(list(keys), sort=False).ngroup().to_numpy(np.int64)
    _, first = np.unique(group, return_index=True)
    return group, first


def _expand(values: pa.Array | pa.ChunkedArray, group: np.ndarray) -> pa.DictionaryArray:
    """``values`` (one per group) as one row per group member, dictionary-encoded (its
    dictionary in the order values first appear)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    enc = pc.dictionary_encode(values.cast(pa.string()))
    indices = enc.indices.take(pa.array(group, pa.int64())).cast(pa.int32())
    return pa.DictionaryArray.from_arrays(indices, enc.dictionary)


#: Text columns of the cross_sell table that repeat from row to row (a customer's id on each
#: of its rows, a few hundred items and categories): kept dictionary-encoded like
#: :data:`_WORDS`'s, the files hold their values.
_ENCODED = ("customer_id", "item", "category", "rule_antecedent")


def _encoded(values: pa.ChunkedArray | pa.Array, lengths: list[int]) -> pa.ChunkedArray:
    """``values`` (text) dictionary-encoded, in pieces of ``lengths`` rows."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    enc = pc.dictionary_encode(values.cast(pa.string()))
    return _chunked_like(
        pa.DictionaryArray.from_arrays(enc.indices.cast(pa.int32()), enc.dictionary), lengths
    )


def plain_text(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A text column as plain strings (a dictionary-encoded one decoded)."""
    if pa.types.is_dictionary(values.type):
        return values.cast(values.type.value_type)
    return values


#: Rows of ranked recommendations given their reasons at a time.
_TEXT_BLOCK = 250_000


def _finish_cross_sell(got: pa.Table, categories: pa.Table, level: Level) -> pa.Table:
    """The cross_sell table: the ranked candidates with categories, source and reason.

    Every column keeps the pieces (chunks) ``got`` comes in, cut every :data:`_TEXT_BLOCK`
    rows: a Parquet file's bytes depend on them (where a column's dictionary outgrows its
    page, the writer falls back to plain values at a piece's end).
    """
    blocks = [
        _finish_block(got.slice(start, _TEXT_BLOCK), categories, level)
        for start in range(0, max(got.num_rows, 1), _TEXT_BLOCK)
    ]
    return pa.concat_tables(blocks)


def _chunked_like(values: pa.Array, lengths: list[int]) -> pa.ChunkedArray:
    """``values`` in pieces of ``lengths`` rows."""
    starts = np.cumsum([0, *lengths[:-1]], dtype=np.int64) if lengths else np.zeros(0, np.int64)
    return pa.chunked_array(
        [values.slice(int(a), n) for a, n in zip(starts, lengths, strict=True)], type=values.type
    )


def _finish_block(got: pa.Table, categories: pa.Table, level: Level) -> pa.Table:
    """:func:`_finish_cross_sell` of some rows.

    The reason is a sentence about the item, the rule and the look-alike group: written
    once for each distinct set of those figures and repeated for the rows sharing them.
    """
    t = got.rename_columns(["peer_group" if c == "peer_label" else c for c in got.column_names])
    if level == "category":
        cat, ante_cat = t.column("item"), t.column("rule_antecedent")
    else:
        cat = _category_of(t.column("item"), categories)
        ante_cat = _category_of(t.column("rule_antecedent"), categories)
    t = t.append_column("category", cat)
    # the figures a reason and a source are written from (the categories follow the items)
    group, first = distinct_rows(
        [
            t.column(c)
            for c in (
                "item",
                "rule_antecedent",
                "rule_confidence",
                "peer_share",
                "n_peers",
                "peer_group",
            )
        ]
    )
    u = t.take(pa.array(first, pa.int64()))
    u = u.append_column("rule_antecedent_category", ante_cat.take(pa.array(first, pa.int64())))
    has_rule = pc.is_valid(u.column("rule_confidence"))
    has_peer = pc.greater(u.column("peer_share"), 0.0)
    source = pc.if_else(
        pc.and_(has_rule, has_peer),
        "peers and rule",
        pc.if_else(has_rule, "rule", "peers"),
    )
    lengths = [len(c) for c in t.column("rank").chunks]
    words = {
        "source": _chunked_like(_expand(source, group), lengths),
        "reason": _chunked_like(_expand(_reasons(u), group), lengths),
        "peer_group": _chunked_like(_expand(u.column("peer_group"), group), lengths),
        # ids and names repeat from row to row: held once each, the rows hold numbers
        **{c: _encoded(t.column(c), lengths) for c in _ENCODED},
    }
    return pa.table(
        [
            words[f.name] if f.name in words else t.column(f.name).cast(f.type)
            for f in _CROSS_SELL_SCHEMA
        ],
        schema=_CROSS_SELL_SCHEMA,
    )


def _upsell(
    tx: ir.Table,
    ci_cat: ir.Table | None,
    assign_t: ir.Table,
    groups: PeerGroups,
    s: CrossSellSettings,
    day: _dt.date,
    margin_rate: float | None,
    engine: Engine | None,
) -> pa.Table:
    """Categories a customer buys for less (or cheaper) than its peers."""
    if ci_cat is None and "product_category" not in tx.columns:
        return _empty_upsell()
    made = ci_cat is None
    if ci_cat is None:
        # a customer buys a few categories, not every product: the ranges hold as many
        # customer × category groups as the product ranges hold customer × item groups
        lines = basket_lines(tx, "category")
        n = run_query(lines.aggregate(n=lines.item.nunique()), "the categories bought")
        per_range = ITEMS_RANGE * max(1, ITEMS_PER_CUSTOMER // max(1, n.column("n")[0].as_py()))
        bounds = customer_bounds(groups.assigned.column("customer_id"), per_range)
        ci_cat = _keep(
            customer_items(
                tx, level="category", as_of=day, lookback_months=s.lookback_months, bounds=bounds
            ),
            engine,
        )
    try:
        return _upsell_leads(ci_cat, assign_t, groups, s, margin_rate, engine)
    finally:
        if made and engine is not None:
            engine.release(ci_cat)


def _peer_stats(shared: ir.Table, members: ir.Table) -> ir.Table:
    """Per look-alike group and item: the spenders, their median yearly spend, unit price
    and share of their spend."""
    sm = shared.join(members, "customer_id")
    spends = sm.spend_year > 0
    return sm.group_by(["peer_level", "peer_key", "item"]).aggregate(
        n_spenders=spends.cast("int64").sum(),
        median_spend=_only(sm.spend_year, spends).median(),
        median_price=_only(sm.price, spends & sm.price.notnull()).median(),
        median_share=_only(sm.share, spends).median(),
    )


def _upsell_leads(
    ci_cat: ir.Table,
    assign_t: ir.Table,
    groups: PeerGroups,
    s: CrossSellSettings,
    margin_rate: float | None,
    engine: Engine | None = None,
) -> pa.Table:
    """The up-sell leads. With an engine the groups' statistics are computed into it one
    group level at a time (a customer belongs to a group at each level): a median keeps
    every value of its group until the group is done, and one query of every level holds
    the values of all levels at once. The statistics, the item figures and the customers'
    yearly spend are computed once, for every range of customers the leads are ranked in."""
    members = ibis.memtable(groups.members)
    # the figures every range of customers reads, computed once: each item's (a median
    # over every buyer) and each customer's yearly spend
    made: list[ir.Table] = []
    items = item_table(ci_cat, margin_rate)
    totals = ci_cat.group_by("customer_id").aggregate(total_year=exact_sum(ci_cat.spend_year))
    if engine is not None:
        items, totals = engine.materialize(items), engine.materialize(totals)
        made += [items, totals]
    # each category's share of the customer's yearly spend, and per group: spenders, their
    # median yearly spend, unit price and share
    shared = ci_cat.join(totals, "customer_id")
    shared = shared.mutate(
        share=ibis.ifelse(
            shared.total_year > 0, shared.spend_year / shared.total_year, ibis.null("float64")
        )
    )
    levels = sorted(pc.unique(groups.members.column("peer_level")).to_pylist())
    if engine is not None:
        stats = engine.materialize_parts(
            [_peer_stats(shared, members.filter(members.peer_level == lv)) for lv in levels]
            if len(levels) > 1
            else [_peer_stats(shared, members)]
        )
        made.append(stats)
    else:
        stats = _peer_stats(shared, members)
    # the leads of a range of customers at a time: each customer's leads are ranked over
    # all its categories' rows, which the engine holds whole until they are ranked
    bounds = (
        customer_bounds(groups.assigned.column("customer_id"), UPSELL_RANGE)
        if engine is not None
        else []
    )
    # each range's customers filter their look-alike groups too: a join with every
    # customer's group would hold all of them in its hash table for each range
    ranges = zip(
        _customer_ranges(shared.customer_id, bounds),
        _customer_ranges(assign_t.customer_id, bounds),
        strict=True,
    )
    try:
        got = [
            _upsell_rows(shared.filter(keep), stats, items, assign_t.filter(mine), s)
            for keep, mine in ranges
        ]
    finally:
        if engine is not None:
            for t in made:
                engine.release(t)
    # the pages the engine freed go back before the reasons are written in Arrow
    give_back(engine)
    return _upsell_table(pa.concat_tables(got) if len(got) > 1 else got[0])


#: Customers whose up-sell leads the engine ranks at once (:func:`_upsell_leads`).
UPSELL_RANGE = 250_000


def _upsell_rows(
    shared: ir.Table, stats: ir.Table, items: ir.Table, assign_t: ir.Table, s: CrossSellSettings
) -> pa.Table:
    """The ranked up-sell leads of the customers of ``shared``, before their reasons."""
    own = (
        shared.filter(shared.spend_year > 0)
        .select("customer_id", "item", "spend_year", "price", "qty_year", "total_year", "share")
        .join(assign_t, "customer_id")
    )
    u = own.join(stats, ["peer_level", "peer_key", "item"]).join(
        items.select("item", "margin_rate"), "item"
    )
    u = u.filter(u.n_spenders >= s.min_peers)
    spend_gap = ibis.ifelse(
        u.spend_year < s.upsell_spend_ratio * u.median_spend, u.median_spend - u.spend_year, 0.0
    )
    price_low = u.price.notnull() & u.median_price.notnull()
    price_gap = ibis.ifelse(
        price_low & (u.price < s.upsell_price_ratio * u.median_price),
        (u.median_price - u.price) * u.qty_year,
        0.0,
    )
    share_low = u.share.notnull() & u.median_share.notnull()
    share_gap = ibis.ifelse(
        share_low & (u.share < s.upsell_share_ratio * u.median_share),
        (u.median_share - u.share) * u.total_year,
        0.0,
    )
    u = u.mutate(
        spend_gap=spend_gap, price_gap=price_gap.fill_null(0.0), share_gap=share_gap.fill_null(0.0)
    )
    u = u.filter((u.spend_gap > 0) | (u.price_gap > 0) | (u.share_gap > 0))
    by_spend = (u.spend_gap >= u.price_gap) & (u.spend_gap >= u.share_gap)
    by_price = ~by_spend & (u.price_gap >= u.share_gap)
    u = u.mutate(
        kind=ibis.ifelse(by_spend, "spend", ibis.ifelse(by_price, "price", "share")),
        own=ibis.ifelse(by_spend, u.spend_year, ibis.ifelse(by_price, u.price, u.share)),
        peer_median=ibis.ifelse(
            by_spend, u.median_spend, ibis.ifelse(by_price, u.median_price, u.median_share)
        ),
        gap=ibis.ifelse(by_spend, u.spend_gap, ibis.ifelse(by_price, u.price_gap, u.share_gap)),
    )
    u = u.mutate(expected_value=u.gap * u.margin_rate * s.upsell_capture)
    u = u.mutate(
        rank=ibis.row_number().over(
            group_by="customer_id",
            order_by=[ibis.desc("gap"), "item"],
        )
        + 1
    )
    u = u.filter(u.rank <= s.max_upsell)
    got = run_query(
        u.select(
            "customer_id",
            "rank",
            category="item",
            kind="kind",
            own="own",
            peer_median="peer_median",
            gap="gap",
            expected_value="expected_value",
            peer_group="peer_label",
            own_share="share",
            peer_share="median_share",
            total_year="total_year",
        ).order_by(["customer_id", "rank"]),
        "the up-sell leads",
    )
    return got


def _upsell_table(got: pa.Table) -> pa.Table:
    """The up-sell leads with their reasons, in the layout of :data:`_UP_SELL_SCHEMA`."""
    if got.num_rows == 0:
        return _empty_upsell()
    col = got.column
    spend_reason = _join(
        "buys ",
        col("category"),
        " for ",
        _money(col("own")),
        " a year; look-alikes (",
        col("peer_group"),
        ") who buy it spend ",
        _money(col("peer_median")),
        " (median)",
    )
    is_price = pc.equal(col("kind"), "price")
    price_reason = _join(
        "buys the cheaper ",
        col("category"),
        " lines: ",
        _decimals(col("own"), is_price),
        " per unit; look-alikes (",
        col("peer_group"),
        ") pay ",
        _decimals(col("peer_median"), is_price),
        " (median)",
    )
    share_reason = _join(
        col("category"),
        " is ",
        _pct(pc.fill_null(col("own_share"), 0.0)),
        " of its spend (",
        _money(pc.fill_null(col("total_year"), 0.0)),
        " a year); look-alikes (",
        col("peer_group"),
        ") who buy it put ",
        _pct(pc.fill_null(col("peer_share"), 0.0)),
        " of theirs there (median)",
    )
    reason = pc.if_else(
        pc.equal(col("kind"), "spend"),
        spend_reason,
        pc.if_else(is_price, price_reason, share_reason),
    )
    t = got.append_column("reason", reason)
    lengths = [len(c) for c in t.column("rank").chunks]
    encoded = {c: _encoded(t.column(c), lengths) for c in ("customer_id", "category")}
    return pa.table(
        [
            encoded[f.name] if f.name in encoded else t.column(f.name).cast(f.type)
            for f in _UP_SELL_SCHEMA
        ],
        schema=_UP_SELL_SCHEMA,
    )


def _decimals(x: pa.ChunkedArray, where: pa.ChunkedArray) -> pa.Array:
    """Prices as Python writes them after rounding to two decimals ("12.5"), where
    ``where`` holds (null elsewhere); a customer-sized list of the up-sell leads by price."""
    at = np.flatnonzero(np.asarray(pc.fill_null(where, False).to_numpy(zero_copy_only=False)))
    out = np.full(len(x), None, dtype=object)
    values = np.round(np.asarray(x.take(pa.array(at)).to_numpy(zero_copy_only=False), float), 2)
    out[at] = [str(v) for v in values.tolist()]
    return pa.array(out, pa.string())


_UP_SELL_SCHEMA = pa.schema(
    [
        _words("customer_id"),
        ("rank", pa.int64()),
        _words("category"),
        _words("kind"),
        ("own", pa.float64()),
        ("peer_median", pa.float64()),
        ("gap", pa.float64()),
        ("expected_value", pa.float64()),
        ("reason", pa.string()),
        _words("peer_group"),
        ("own_share", pa.float64()),
        ("peer_share", pa.float64()),
    ]
)


def _empty_upsell() -> pa.Table:
    return _UP_SELL_SCHEMA.empty_table()
