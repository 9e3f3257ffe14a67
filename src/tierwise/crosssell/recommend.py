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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import exact_sum
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


def _keep(expr: ir.Table, engine: Engine | None) -> ir.Table:
    """Compute a table used several times once, when an engine is at hand."""
    return engine.materialize(expr) if engine is not None else expr


def customer_items(
    tx: ir.Table, *, level: Level, as_of: _dt.date, lookback_months: int
) -> ir.Table:
    """Customer × item figures up to ``as_of`` (in the engine).

    Columns: customer_id, item, category, first_date (first purchase ever), spend_year
    (revenue over the lookback window, per year), qty_year (quantity, per year, lines with
    a quantity), price (revenue per unit over those lines; null without quantity),
    revenue_costed and cost (lines with a cost, for the margin rate).
    """
    lines = basket_lines(tx, level)
    lines = lines.filter(lines.date <= ibis.literal(as_of))
    start = months_before(as_of, lookback_months)
    w = lines.date > ibis.literal(start)
    has_q = w & lines.quantity.notnull() & (lines.quantity > 0)
    has_c = w & lines.cost.notnull()
    per_year = 12.0 / lookback_months
    ci = lines.group_by(["customer_id", "item"]).aggregate(
        category=lines.category.max(),
        first_date=lines.date.min(),
        spend=exact_sum(ibis.ifelse(w, lines.revenue, 0.0)),
        qty=exact_sum(ibis.ifelse(has_q, lines.quantity, 0.0)),
        qty_revenue=exact_sum(ibis.ifelse(has_q, lines.revenue, 0.0)),
        revenue_costed=exact_sum(ibis.ifelse(has_c, lines.revenue, 0.0)),
        cost=exact_sum(ibis.ifelse(has_c, lines.cost, 0.0)),
    )
    return ci.select(
        "customer_id",
        "item",
        "category",
        "first_date",
        spend_year=ci.spend * per_year,
        qty_year=ci.qty * per_year,
        price=ibis.ifelse(ci.qty > 0, ci.qty_revenue / ci.qty, ibis.null("float64")),
        revenue_costed=ci.revenue_costed,
        cost=ci.cost,
    )


def _only(x: ir.FloatingValue, keep: ir.BooleanValue) -> ir.FloatingValue:
    """``x`` where ``keep``, else NULL (what an aggregate then skips; Spark's percentile
    takes no filter)."""
    return ibis.ifelse(keep, x, ibis.null("float64"))


def _item_table(ci: ir.Table, margin_rate: float | None) -> ir.Table:
    """Per item: buyers, median yearly spend among spenders, margin rate."""
    t = ci.group_by("item").aggregate(
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
    return t.select("item", "all_buyers", "all_median_spend", margin_rate=margin)


def _group_stats(ci: ir.Table, members: ir.Table) -> ir.Table:
    """Per peer group and item: buyers, median yearly spend and unit price among spenders."""
    m = ci.join(members, "customer_id")
    spends = m.spend_year > 0
    return m.group_by(["peer_level", "peer_key", "item"]).aggregate(
        n_buyers=m.count(),
        n_spenders=spends.cast("int64").sum(),
        median_spend=_only(m.spend_year, spends).median(),
        median_price=_only(m.price, spends & m.price.notnull()).median(),
    )


def _pct(x: pd.Series) -> pd.Series:
    return (x.astype(float) * 100).round().astype("int64").astype(str) + "%"


def _money(x: pd.Series) -> pd.Series:
    return x.astype(float).round().astype("int64").map("{:,}".format)


def item_labels(items: pd.Series, categories: pd.Series) -> pd.Series:
    """An item as people read it: its id with its category beside it, where the lines
    carry one that differs from the id ("SKU00132 (Safety & PPE)"); the id alone else.

    Examples
    --------
    >>> labels = item_labels(pd.Series(["p1", "p2", "tools"]), pd.Series(["tools", None, "tools"]))
    >>> labels.tolist()
    ['p1 (tools)', 'p2', 'tools']
    """
    items = items.astype(object)
    cats = categories.astype(object)
    known = cats.notna() & (cats != items) & items.notna()
    out = items.copy()
    out[known] = items[known].astype(str) + " (" + cats[known].astype(str) + ")"
    return out


def _reasons(df: pd.DataFrame, level: Level) -> pd.Series:
    """One readable sentence per recommendation, from its strongest signals."""
    label = item_labels(df["item"], df["category"])
    ante = item_labels(df["rule_antecedent"].fillna(""), df["rule_antecedent_category"])
    peer = (
        _pct(df["peer_share"])
        + " of "
        + df["n_peers"].astype(str)
        + " look-alikes ("
        + df["peer_group"]
        + ") buy "
        + label
    )
    rule = (
        "buys "
        + ante
        + ", not "
        + label
        + ": "
        + _pct(df["rule_confidence"].fillna(0.0))
        + " of orders with "
        + df["rule_antecedent"].fillna("")
        + " also hold "
        + df["item"]
    )
    has_rule = df["rule_confidence"].notna().to_numpy()
    has_peer = (df["peer_share"] > 0).to_numpy()
    rule_first = has_rule & (df["rule_confidence"].fillna(0.0) >= df["peer_share"]).to_numpy()
    both_rp = rule + "; " + peer
    both_pr = peer + "; " + rule
    out = np.where(
        has_rule & has_peer,
        np.where(rule_first, both_rp, both_pr),
        np.where(has_rule, rule, peer),
    )
    return pd.Series(out, index=df.index, dtype=object)


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
    warnings: list[str] = []
    ci = _keep(customer_items(tx, level=lvl, as_of=day, lookback_months=s.lookback_months), engine)
    owned = run_query(
        ci.group_by("customer_id").aggregate(n_owned=ci.count()).order_by("customer_id"),
        "the items each customer buys",
    )
    cust = customers
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
    members = ibis.memtable(groups.members)
    assign_t = ibis.memtable(assigned)

    stats = _keep(_group_stats(ci, members), engine)
    items = _keep(_item_table(ci, margin_rate), engine)
    if margin_rate is None:
        no_margin = (
            run_query(
                items.filter(items.margin_rate.isnull()).count().as_table(), "items without cost"
            )
            .column(0)[0]
            .as_py()
        )
        if no_margin:
            warnings.append(
                # the stage puts "cross-sell: " before each warning
                f"{count_text(no_margin, 'item')} "
                f"{'has' if no_margin == 1 else 'have'} no cost on the lines, so the expected "
                "value is empty; set [features] margin_rate to use a margin rate instead"
            )

    # -- candidates from peers: the group's most bought items the customer does not own
    ranked = stats.mutate(
        grank=ibis.row_number().over(
            group_by=["peer_level", "peer_key"],
            order_by=[ibis.desc("n_buyers"), "item"],
        )
    )
    ranked = ranked.filter(ranked.grank < s.candidate_pool)
    from_peers = assign_t.join(
        ranked,
        [
            assign_t.peer_level == ranked.peer_level,
            assign_t.peer_key == ranked.peer_key,
            ranked.grank < assign_t.reach,
        ],
    ).select("customer_id", "item")
    pairs = [from_peers]

    # -- candidates from rules: what the customer's own items trigger
    best_rule: ir.Table | None = None
    if rules is not None and rules.num_rows:
        r = rules
        if "level" in r.column_names:
            r = r.filter(pc.equal(r.column("level"), lvl))
        r = r.select(["antecedent", "consequent", "confidence", "lift"])
        rt = ibis.memtable(r)
        own = ci.select("customer_id", antecedent="item").semi_join(assign_t, "customer_id")
        fired = own.join(rt, "antecedent").select(
            "customer_id", "antecedent", item="consequent", confidence="confidence", lift="lift"
        )
        fired = fired.mutate(
            rrank=ibis.row_number().over(
                group_by=["customer_id", "item"],
                order_by=[ibis.desc("confidence"), ibis.desc("lift"), "antecedent"],
            )
        )
        best_rule = fired.filter(fired.rrank == 0).select(
            "customer_id",
            "item",
            rule_antecedent="antecedent",
            rule_confidence="confidence",
            rule_lift="lift",
        )
        pairs.append(best_rule.select("customer_id", "item"))
    cand = pairs[0] if len(pairs) == 1 else pairs[0].union(pairs[1], distinct=True)
    cand = cand.anti_join(ci, ["customer_id", "item"])

    c = cand.join(assign_t, "customer_id")
    st = stats.select("peer_level", "peer_key", "item", "n_buyers", "median_spend")
    c = c.left_join(st, ["peer_level", "peer_key", "item"]).drop(
        "peer_level_right", "peer_key_right", "item_right"
    )
    c = c.left_join(items, "item").drop("item_right")
    if best_rule is not None:
        c = c.left_join(best_rule, ["customer_id", "item"]).drop("customer_id_right", "item_right")
    else:
        c = c.mutate(
            rule_antecedent=ibis.null("string"),
            rule_confidence=ibis.null("float64"),
            rule_lift=ibis.null("float64"),
        )
    peer_share = c.n_buyers.fill_null(0).cast("float64") / c.n_peers.cast("float64")
    conf = c.rule_confidence.fill_null(0.0)
    score = 1.0 - (1.0 - peer_share) * (1.0 - conf)
    typical = c.median_spend.fill_null(c.all_median_spend)
    c = c.mutate(
        peer_share=peer_share,
        score=score,
        typical_spend=typical,
        expected_value=score * typical * c.margin_rate,
    )
    c = c.mutate(
        rank=ibis.row_number().over(
            group_by="customer_id",
            order_by=[ibis.desc("score"), ibis.desc(c.expected_value.fill_null(-1.0)), "item"],
        )
        + 1
    )
    c = c.filter(c.rank <= s.max_recommendations)
    got = run_query(
        c.select(
            "customer_id",
            "rank",
            "item",
            "score",
            "expected_value",
            "n_peers",
            "peer_share",
            "rule_antecedent",
            "rule_confidence",
            "rule_lift",
            "typical_spend",
            "margin_rate",
            "peer_label",
        ).order_by(["customer_id", "rank"]),
        "the next best products",
    )
    cats = _categories(ci, lvl, got)
    cross = _finish_cross_sell(got, cats, lvl)

    up = _upsell(
        tx, ci if lvl == "category" else None, assign_t, groups, s, day, margin_rate, engine
    )
    facts = {
        "customers_recommended": int(pc.count_distinct(cross.column("customer_id")).as_py()),
        "peer_columns": groups.columns,
        "customers_by_peer_level": {str(k): v for k, v in groups.level_counts.items()},
    }
    return Recommendations(cross, up, groups, lvl, day, warnings, facts)


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


def _categories(ci: ir.Table, level: Level, got: pa.Table) -> dict[str, str]:
    """The category of each recommended item and of each rule's antecedent (products)."""
    if level == "category" or got.num_rows == 0:
        return {}
    names = set(got.column("item").to_pylist()) | set(got.column("rule_antecedent").to_pylist())
    names.discard(None)
    wanted = ibis.memtable(pa.table({"item": pa.array(sorted(names), pa.string())}))
    t = ci.semi_join(wanted, "item")
    cat = run_query(
        t.group_by("item").aggregate(category=t.category.max()).order_by("item"),
        "product categories",
    )
    return dict(
        zip(cat.column("item").to_pylist(), cat.column("category").to_pylist(), strict=True)
    )


def _finish_cross_sell(got: pa.Table, cats: dict[str, str], level: Level) -> pa.Table:
    df = got.to_pandas()
    df["category"] = df["item"] if level == "category" else df["item"].map(cats)
    df["rule_antecedent_category"] = (
        df["rule_antecedent"] if level == "category" else df["rule_antecedent"].map(cats)
    )
    df = df.rename(columns={"peer_label": "peer_group"})
    has_rule = df["rule_confidence"].notna()
    has_peer = df["peer_share"] > 0
    df["source"] = np.where(
        has_rule & has_peer, "peers and rule", np.where(has_rule, "rule", "peers")
    )
    df["reason"] = _reasons(df, level) if len(df) else pd.Series([], dtype=object)
    df["rank"] = df["rank"].astype("int64")
    schema = pa.schema(
        [
            ("customer_id", pa.string()),
            ("rank", pa.int64()),
            ("item", pa.string()),
            ("category", pa.string()),
            ("score", pa.float64()),
            ("expected_value", pa.float64()),
            ("source", pa.string()),
            ("reason", pa.string()),
            ("peer_group", pa.string()),
            ("n_peers", pa.int64()),
            ("peer_share", pa.float64()),
            ("rule_antecedent", pa.string()),
            ("rule_confidence", pa.float64()),
            ("rule_lift", pa.float64()),
            ("typical_spend", pa.float64()),
            ("margin_rate", pa.float64()),
        ]
    )
    return pa.Table.from_pandas(df[list(CROSS_SELL_COLUMNS)], schema=schema, preserve_index=False)


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
    if ci_cat is None:
        ci_cat = _keep(
            customer_items(tx, level="category", as_of=day, lookback_months=s.lookback_months),
            engine,
        )
    members = ibis.memtable(groups.members)
    stats = _group_stats(ci_cat, members)
    items = _item_table(ci_cat, margin_rate)
    # each category's share of the customer's yearly spend, and the group's median share
    totals = ci_cat.group_by("customer_id").aggregate(total_year=exact_sum(ci_cat.spend_year))
    shared = ci_cat.join(totals, "customer_id")
    shared = shared.mutate(
        share=ibis.ifelse(
            shared.total_year > 0, shared.spend_year / shared.total_year, ibis.null("float64")
        )
    )
    sm = shared.join(members, "customer_id")
    share_stats = sm.group_by(["peer_level", "peer_key", "item"]).aggregate(
        median_share=_only(sm.share, sm.spend_year > 0).median()
    )
    own = (
        shared.filter(shared.spend_year > 0)
        .select("customer_id", "item", "spend_year", "price", "qty_year", "total_year", "share")
        .join(assign_t, "customer_id")
    )
    u = (
        own.join(stats, ["peer_level", "peer_key", "item"])
        .join(share_stats, ["peer_level", "peer_key", "item"])
        .join(items.select("item", "margin_rate"), "item")
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
    if got.num_rows == 0:
        return _empty_upsell()
    df = got.to_pandas()
    spend_reason = (
        "buys "
        + df["category"]
        + " for "
        + _money(df["own"])
        + " a year; look-alikes ("
        + df["peer_group"]
        + ") who buy it spend "
        + _money(df["peer_median"])
        + " (median)"
    )
    price_reason = (
        "buys the cheaper "
        + df["category"]
        + " lines: "
        + df["own"].astype(float).round(2).astype(str)
        + " per unit; look-alikes ("
        + df["peer_group"]
        + ") pay "
        + df["peer_median"].astype(float).round(2).astype(str)
        + " (median)"
    )
    share_reason = (
        df["category"]
        + " is "
        + _pct(df["own_share"].fillna(0.0))
        + " of its spend ("
        + _money(df["total_year"].fillna(0.0))
        + " a year); look-alikes ("
        + df["peer_group"]
        + ") who buy it put "
        + _pct(df["peer_share"].fillna(0.0))
        + " of theirs there (median)"
    )
    df["reason"] = np.select(
        [df["kind"] == "spend", df["kind"] == "price"], [spend_reason, price_reason], share_reason
    )
    df["rank"] = df["rank"].astype("int64")
    return pa.Table.from_pandas(
        df[list(UP_SELL_COLUMNS)], schema=_UP_SELL_SCHEMA, preserve_index=False
    )


_UP_SELL_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("rank", pa.int64()),
        ("category", pa.string()),
        ("kind", pa.string()),
        ("own", pa.float64()),
        ("peer_median", pa.float64()),
        ("gap", pa.float64()),
        ("expected_value", pa.float64()),
        ("reason", pa.string()),
        ("peer_group", pa.string()),
        ("own_share", pa.float64()),
        ("peer_share", pa.float64()),
    ]
)


def _empty_upsell() -> pa.Table:
    return _UP_SELL_SCHEMA.empty_table()
