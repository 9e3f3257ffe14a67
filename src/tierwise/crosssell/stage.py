"""The cross-sell stage: basket rules, next best products, up-sell and their evaluation."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..settings.crosssell import CrossSellSettings
from ._lines import Level, as_date, months_before, run_query
from .evaluate import evaluate_from
from .recommend import (
    Recommendations,
    customer_bounds,
    customer_items,
    give_back,
    item_labels,
    plain_text,
    recommend,
    recommend_from,
)
from .rules import (
    RULE_COLUMNS,
    basket_items,
    kept_pair_counts,
    masked_baskets,
    pair_counts,
    rules_from,
    sizes_from,
)

if TYPE_CHECKING:
    from ..engine import Engine

__all__ = [
    "CUSTOMER_COLUMNS",
    "CrossSellResult",
    "crosssell_stage",
    "next_best_products",
]

#: The customer columns the stage owns.
CUSTOMER_COLUMNS = ("next_best_products", "cross_sell_value", "up_sell", "up_sell_value")


@dataclass
class CrossSellResult:
    """What the cross-sell stage returns.

    Attributes
    ----------
    customers
        Keyed by customer_id, one row per row of the customer table, in its order:
        next_best_products (the top ``crm_top_n`` items, "; "-separated, best first),
        cross_sell_value (their summed expected value; currency units a year), up_sell
        (the categories with an up-sell lead, "; "-separated) and up_sell_value (their
        summed expected value). Empty where the customer has none.
    tables
        ``cross_sell`` (customer_id, rank, item, category, score, expected_value, source,
        reason and the figures behind them), ``up_sell`` and ``basket_rules``.
    manifest
        The stage's block of manifest.json: method, parameters, rule counts, headline
        figures and the hit-rate evaluation.
    warnings
        Assumptions made for lack of data, each naming the setting that changes it.
    recommendations
        The recommendations with the look-alike groups used.
    """

    customers: pa.Table
    tables: dict[str, pa.Table]
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    recommendations: Recommendations | None = None


def _levels_present(tx: ir.Table) -> dict[str, bool]:
    t = tx.aggregate(
        product=(tx.product_id.notnull().any() if "product_id" in tx.columns else False),
        category=(
            tx.product_category.notnull().any() if "product_category" in tx.columns else False
        ),
    )
    row = run_query(t, "which item columns are filled").to_pylist()[0]
    return {k: bool(v) for k, v in row.items()}


def _group_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The sum of each group of ``values`` (groups start at ``starts``; missing values
    count as 0; NaN for a group without any value).

    Each sum is the float NumPy's ``sum`` of the group's values gives: up to seven values
    are added one after another, longer groups are summed by NumPy itself (pairwise).
    """
    n = len(values)
    lengths = np.diff(np.append(starts, n))
    missing = np.isnan(values)
    filled = np.where(missing, 0.0, values)
    out = filled[starts].copy()
    short = lengths <= 7
    for j in range(1, 7):
        more = short & (lengths > j)
        if not more.any():
            break
        out[more] += filled[starts[more] + j]
    for g in np.flatnonzero(~short):
        out[g] = filled[starts[g] : starts[g] + lengths[g]].sum()
    has_value = np.add.reduceat((~missing).astype(np.int64), starts) > 0
    out[~has_value] = np.nan
    return out


def _per_customer(
    ids: pa.ChunkedArray, t: pa.Table, text: pa.ChunkedArray | pa.Array, value: str
) -> tuple[pa.Array, pa.Array]:
    """For ``t`` sorted by customer_id: per customer of ``ids``, its ``text`` values joined
    by "; " in table order and its ``value`` summed (null for customers without rows)."""
    n = t.num_rows
    if n == 0:
        return pa.nulls(len(ids), pa.string()), pa.nulls(len(ids), pa.float64())
    key = t.column("customer_id")
    changed = np.asarray(pc.not_equal(key[1:], key[:-1]).to_numpy(zero_copy_only=False), bool)
    starts = np.flatnonzero(np.concatenate([[True], changed]))
    keys = key.take(pa.array(starts))
    offsets = pa.array(np.append(starts, n), pa.int32())
    texts = pa.ListArray.from_arrays(offsets, pc.cast(text, pa.string()).combine_chunks())
    joined = pc.binary_join(texts, "; ")
    values = np.asarray(t.column(value).to_numpy(zero_copy_only=False), dtype=np.float64)
    sums = pa.array(_group_sums(values, starts), pa.float64(), from_pandas=True)
    at = pc.index_in(ids, value_set=keys)
    return joined.take(at), sums.take(at)


def _plain(t: pa.Table, names: list[str]) -> pa.Table:
    """``t`` with the text columns ``names`` as plain strings (the tables keep them
    dictionary-encoded)."""
    for name in names:
        t = t.set_column(t.column_names.index(name), name, plain_text(t.column(name)))
    return t


def _customer_columns(customers: pa.Table, rec: Recommendations, s: CrossSellSettings) -> pa.Table:
    ids = customers.column("customer_id").cast(pa.string())
    cs = rec.cross_sell.select(["customer_id", "rank", "item", "category", "expected_value"])
    cs = cs.filter(pc.less_equal(cs.column("rank"), s.crm_top_n))
    cs = _plain(cs, ["customer_id", "item", "category"])
    labels = item_labels(cs.column("item"), cs.column("category"))
    products, value = _per_customer(ids, cs, labels, "expected_value")
    up = _plain(
        rec.up_sell.select(["customer_id", "category", "expected_value"]),
        ["customer_id", "category"],
    )
    categories, up_value = _per_customer(ids, up, up.column("category"), "expected_value")
    return pa.table(
        {
            "customer_id": ids,
            "next_best_products": products,
            "cross_sell_value": value,
            "up_sell": categories,
            "up_sell_value": up_value,
        }
    )


def _empty_rules() -> pa.Table:
    types = {
        "level": pa.string(),
        "antecedent": pa.string(),
        "consequent": pa.string(),
        "antecedent_category": pa.string(),
        "consequent_category": pa.string(),
    }
    return pa.schema(
        [
            (
                c,
                types.get(
                    c, pa.float64() if c in ("support", "confidence", "lift") else pa.int64()
                ),
            )
            for c in RULE_COLUMNS
        ]
    ).empty_table()


def next_best_products(
    tx: ir.Table,
    customers: pa.Table,
    rules: pa.Table | None,
    settings: CrossSellSettings | None = None,
    *,
    as_of: _dt.date | str,
    seed: int,
    level: Level | None = None,
    margin_rate: float | None = None,
    engine: Engine | None = None,
) -> CrossSellResult:
    """Next best products and up-sell leads per customer from given rules (no evaluation).

    See :func:`crosssell_stage` for the parameters; ``rules`` is a materialised rules
    table (:func:`~tierwise.crosssell.basket_rules`) or None.

    Examples
    --------
    >>> import datetime as dt, ibis
    >>> day = dt.date(2024, 1, 1)
    >>> tx = ibis.memtable({"customer_id": ["a", "a", "b", "c", "c"], "date": [day] * 5,
    ...     "revenue": [10.0] * 5, "order_id": ["1", "1", "2", "3", "3"],
    ...     "product_id": ["tea", "cup", "tea", "tea", "cup"], "cost": [6.0] * 5})
    >>> cust = pa.table({"customer_id": ["a", "b", "c"], "industry": ["x"] * 3})
    >>> res = next_best_products(tx, cust, None, CrossSellSettings(min_peers=2),
    ...     as_of=day, seed=1)
    >>> res.customers.column("next_best_products").to_pylist()
    [None, 'cup', None]
    """
    s = settings or CrossSellSettings()
    rec = recommend(
        tx, customers, rules, s, as_of=as_of, level=level, margin_rate=margin_rate, engine=engine
    )
    return _result(customers, rec, s)


def _result(customers: pa.Table, rec: Recommendations, s: CrossSellSettings) -> CrossSellResult:
    cust = _customer_columns(customers, rec, s)
    ev = rec.cross_sell.column("expected_value").to_numpy(zero_copy_only=False)
    top = rec.cross_sell.column("rank").to_numpy() <= s.crm_top_n
    manifest: dict[str, Any] = {
        "method": "look-alike gaps and basket rules (noisy-or score)",
        "level": rec.level,
        "as_of": rec.as_of.isoformat(),
        "n_recommendations": rec.cross_sell.num_rows,
        "n_up_sell": rec.up_sell.num_rows,
        "expected_value_top": float(np.nansum(np.asarray(ev, dtype=np.float64)[top])),
        **rec.facts,
    }
    return CrossSellResult(
        customers=cust,
        tables={"cross_sell": rec.cross_sell, "up_sell": rec.up_sell},
        manifest=manifest,
        warnings=list(rec.warnings),
        recommendations=rec,
    )


def _keep_compressed(expr: ir.Table, engine: Engine) -> ir.Table:
    """``expr`` computed once and kept in the engine, compressed: in its database file of
    large tables (:meth:`Engine.materialize` with ``large``).

    For the customer × item figures: a row for almost every pair of a customer's lines,
    kept from the recommendations to the end of the evaluation. Compressed (the customer ids
    repeat row after row, the amounts take few digits) they take about a fifth of the
    memory; reading them back costs little next to the queries that read them. Written to
    the file as they are made, they are compressed a block at a time: a table kept in
    memory and compressed afterwards is held whole and uncompressed first, which at the
    1,000,000-customer demo was the stage's highest engine memory.
    """
    return engine.materialize(expr, large=True)


#: an item level in a sentence
_PLURAL = {"product": "products", "category": "categories"}


def crosssell_stage(
    tx: ir.Table,
    customers: pa.Table,
    settings: CrossSellSettings | None = None,
    *,
    as_of: _dt.date | str,
    seed: int,
    margin_rate: float | None = None,
    engine: Engine | None = None,
) -> CrossSellResult:
    """Basket rules, next best products, up-sell leads and the hit-rate evaluation.

    Parameters
    ----------
    tx
        Canonical transactions (Ibis): customer_id, date, revenue, order_id, product_id,
        product_category, quantity, cost, is_return, is_cancel.
    customers
        The assembled customer table (customer_id; the peer columns: value_class and niche
        when the segments stage ran, else industry, employees, annual_revenue;
        is_prospect).
    settings
        The ``[crosssell]`` section.
    as_of
        The analysis date.
    seed
        The run seed (the evaluation's sample of customers).
    margin_rate
        The ``[features]`` margin_rate, for items whose lines carry no cost.
    engine
        When given, tables used several times are computed once.

    Returns
    -------
    CrossSellResult
        ``customers`` (next_best_products, cross_sell_value, up_sell, up_sell_value),
        ``tables`` (cross_sell, up_sell, basket_rules), ``manifest``, ``warnings``.

    Examples
    --------
    >>> import datetime as dt, ibis
    >>> day = dt.date(2024, 1, 1)
    >>> tx = ibis.memtable({"customer_id": ["a", "a", "b", "c", "c"], "date": [day] * 5,
    ...     "revenue": [10.0] * 5, "order_id": ["1", "1", "2", "3", "3"],
    ...     "product_id": ["tea", "cup", "tea", "tea", "cup"],
    ...     "product_category": ["drinks", "ware", "drinks", "drinks", "ware"]})
    >>> cust = pa.table({"customer_id": ["a", "b", "c"], "industry": ["x"] * 3})
    >>> s = CrossSellSettings(min_peers=2, min_pair_count=2, min_lift=1.0)
    >>> res = crosssell_stage(tx, cust, s, as_of=day, seed=1)
    >>> print(res.tables["cross_sell"].column("reason")[0].as_py().replace("; ", "\\n"))
    100% of 2 look-alikes (x) buy cup (ware)
    buys tea (drinks), not cup (ware): 67% of orders with tea also hold cup
    """
    s = settings or CrossSellSettings()
    day = as_date(as_of)
    present = _levels_present(tx)
    warnings: list[str] = []
    level: Level = s.level
    if not present[level]:
        other: Level = "category" if level == "product" else "product"
        if not present[other]:
            warnings.append(
                "cross-sell skipped: the transactions have neither product_id nor "
                "product_category; map one in [transactions.columns]"
            )
            return CrossSellResult(
                customers=pa.table({"customer_id": customers.column("customer_id")}),
                tables={},
                manifest={"status": "skipped", "reason": warnings[0]},
                warnings=warnings,
            )
        warnings.append(
            f"cross-sell recommends {_PLURAL[other]}: the transactions have no {level} column "
            f"filled; [crosssell] level sets the item level"
        )
        level = other
    past = tx.filter(tx.date.cast("date") <= day)
    # the evaluation counts the rules again at its cutoff: from the same baskets
    cutoff = months_before(day, s.eval_horizon_months) if s.evaluate else None
    by_level: dict[str, pa.Table] = {}
    rules_manifest: dict[str, dict[str, Any]] = {}
    rules_at_cutoff: pa.Table | None = None
    categories: pa.Table | None = None
    for lvl in dict.fromkeys([*s.rule_levels, level]):
        if not present[lvl]:
            continue
        at = cutoff if lvl == level else None
        # a few categories: the baskets counted as bit sets, their pairs with them
        masked = masked_baskets(past, s, level=lvl, engine=engine) if at is None else None
        keeper: Engine | None
        if masked is not None:
            b, pairs = masked
            keeper = engine
        else:
            b = basket_items(past, s, level=lvl, cutoff=at, engine=engine)
            # the pairs as of the analysis date and the cutoff, from one count: kept in the
            # engine when read twice, or when counted a range of baskets at a time
            keeper = engine if b.cutoff is not None or b.basket_ranges else None
            pairs = kept_pair_counts(b, s, keeper) if keeper is not None else pair_counts(b, s)
        by_level[lvl] = t = run_query(
            rules_from(b, s, level=lvl, pairs=pairs), f"the {lvl} basket rules"
        )
        sizes = run_query(sizes_from(b), f"the {lvl} basket sizes").to_pylist()
        if lvl == level:
            # each item's category, from all its lines (the customer × item figures below
            # then need not carry it)
            categories = run_query(
                b.items.select("item", category="category_all").order_by("item"),
                f"the {lvl}s' categories",
            )
            if cutoff is not None:
                rules_at_cutoff = run_query(
                    rules_from(b, s, level=lvl, at_cutoff=True, pairs=pairs),
                    "the basket rules at the cutoff",
                )
        if keeper is not None:
            keeper.release(pairs)
        b.release()
        give_back(engine)
        n_all = int(sizes[0]["n_baskets_all"] or 0) if sizes else 0
        n_over = int(sizes[0]["n_baskets_over_cap"] or 0) if sizes else 0
        rules_manifest[lvl] = {
            "n_rules": t.num_rows,
            "n_baskets": n_all - n_over,
            "n_baskets_over_cap": n_over,
            "n_items_over_cap": int(sizes[0]["n_items_over_cap"] or 0) if sizes else 0,
        }
        if n_over:
            warnings.append(
                f"{n_over:,} of {n_all:,} baskets ({n_over / n_all:.1%}) hold more than "
                f"{s.max_basket_items} distinct {lvl}s and are left out of the {lvl} basket "
                f"rules; [crosssell] max_basket_items = {s.max_basket_items} sets the cap"
            )
    # customer × item figures, as of the analysis date and the cutoff, computed once
    ci = customer_items(
        tx,
        level=level,
        as_of=day,
        lookback_months=s.lookback_months,
        cutoff=cutoff,
        prices=level == "category",
        categories=False,
        bounds=customer_bounds(customers.column("customer_id")),
    )
    ci = _keep_compressed(ci, engine) if engine is not None else ci
    give_back(engine)
    # the evaluation first: what it holds is freed before the recommendations are made,
    # and the recommendations (the largest of the stage's results) are not held through it
    evaluation: dict[str, Any]
    if s.evaluate:
        at_cut = rules_at_cutoff
        evaluation = evaluate_from(
            ci,
            tx,
            customers,
            s,
            as_of=day,
            seed=seed,
            level=level,
            margin_rate=margin_rate,
            engine=engine,
            rules_at_cutoff=lambda: at_cut if at_cut is not None else _empty_rules(),
        )
        if evaluation["status"] != "ok":
            warnings.append(f"the recommendations were not evaluated: {evaluation['reason']}")
        give_back(engine)
    else:
        evaluation = {"status": "skipped", "reason": "[crosssell] evaluate = false"}
    rec = recommend_from(
        ci,
        tx,
        customers,
        by_level[level],
        s,
        level=level,
        as_of=day,
        margin_rate=margin_rate,
        engine=engine,
        categories=categories,
    )
    res = _result(customers, rec, s)
    give_back(engine)
    if not res.manifest.get("n_recommendations"):
        # say why the section is empty: a one-product seller has nothing else to offer
        n_items = categories.num_rows if categories is not None else 0
        why = (
            f"the transactions hold {'no' if n_items == 0 else 'one'} {level}, so there is "
            "nothing else to offer"
            if n_items <= 1
            else f"no customer lacks a {level} its look-alikes buy and no basket rule passes "
            "[crosssell] min_support, min_confidence and min_lift"
        )
        warnings.append(f"no recommendation: {why}")
        res.manifest["no_recommendation"] = why
    written = [by_level[lvl] for lvl in dict.fromkeys(s.rule_levels) if lvl in by_level]
    res.tables["basket_rules"] = pa.concat_tables(written) if written else _empty_rules()
    if engine is not None:
        engine.release(ci)
    res.manifest = {
        **res.manifest,
        "parameters": {
            "min_support": s.min_support,
            "min_pair_count": s.min_pair_count,
            "min_confidence": s.min_confidence,
            "min_lift": s.min_lift,
            "max_basket_items": s.max_basket_items,
            "lookback_months": s.lookback_months,
            "min_peers": s.min_peers,
        },
        "rules": rules_manifest,
        "evaluation": evaluation,
    }
    res.warnings = warnings + res.warnings
    return res
