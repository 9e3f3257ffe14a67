"""The time-split hit rate of the recommendations against a popularity baseline.

At a cutoff ``eval_horizon_months`` before the analysis date, the rules and the
recommendations are computed again from the lines dated up to the cutoff only. A customer
is evaluated when it bought before the cutoff and bought, in the horizon after it, at least
one item it had never bought before (a *new* item). Its top :math:`k` recommendations hit
when at least one of them is among its new items; the hit rate at :math:`k` is the share of
evaluated customers with a hit. The baseline recommends to each customer the items most
customers bought up to the cutoff, leaving out what it owns.

No information from after the cutoff reaches the recommendations: the transactions are cut
before anything is computed, and look-alike groups are formed on firmographic columns
(``fallback_peer_columns``). Production groups peers by the segments stage's class and
niche (``peer_columns``), but those are computed from the whole history up to the analysis
date — the horizon included — and recomputing them at the cutoff would mean running the
profitability, potential and segments stages again on the cut history. So the headline
hit rate is measured on the firmographic peers, and, when the customer table has the
production peer columns and ``eval_production_peers`` is set, the same evaluation is run a
second time with them (``production_peers`` in the result): that figure describes the
production definition but may be optimistic, since the classes saw the horizon.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..settings.crosssell import CrossSellSettings
from ._lines import Level, as_date, basket_lines, months_before, run_query
from .peers import usable_columns
from .recommend import SharedCodes, at_cutoff, customer_items, item_table, rank_items
from .rules import basket_rules

if TYPE_CHECKING:
    from ..engine import Engine

__all__ = ["KS", "evaluate_hit_rate"]

#: The list lengths the hit rate is reported at.
KS = (5, 10)


def _skip(reason: str, **extra: Any) -> dict[str, Any]:
    return {"status": "skipped", "reason": reason, **extra}


def evaluate_hit_rate(
    tx: ir.Table,
    customers: pa.Table,
    settings: CrossSellSettings | None = None,
    *,
    as_of: _dt.date | str,
    seed: int,
    level: Level | None = None,
    margin_rate: float | None = None,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """Hit rate at 5 and 10 of the recommendations and of popularity, at a time split.

    Parameters
    ----------
    tx
        Canonical transactions (Ibis).
    customers
        The customer table (customer_id and firmographic peer columns).
    settings
        The ``[crosssell]`` section (``eval_*`` fields, and the recommendation settings).
    as_of
        The analysis date; the cutoff is ``eval_horizon_months`` before it.
    seed
        Seeds the sample of evaluated customers when there are more than
        ``eval_max_customers``.
    level
        Item level; ``settings.level`` when None.
    margin_rate, engine
        As for :func:`~tierwise.crosssell.recommend.recommend`.

    Returns
    -------
    dict
        ``status`` ("ok" or "skipped" with a ``reason``), cutoff, horizon_end,
        n_customers, mean_new_items, ``hit_rate_at_5`` / ``_10`` (recommendations),
        ``popularity_hit_rate_at_5`` / ``_10``, ``lift_at_5`` / ``_10`` (ratio), peer_columns,
        peer_definition (how the peers differ from production's) and production_peers (the
        same hit rates with production's peer columns, when the customer table has them).
    """
    s = settings or CrossSellSettings()
    lvl: Level = level or s.level
    end = as_date(as_of)
    cutoff = months_before(end, s.eval_horizon_months)
    short = _too_short(tx, s, lvl, cutoff)
    if short is not None:
        return short
    ci = customer_items(
        tx, level=lvl, as_of=end, lookback_months=s.lookback_months, cutoff=cutoff, prices=False
    )
    ci = engine.materialize(ci) if engine is not None else ci
    past = tx.filter(tx.date.cast("date") <= ibis.literal(cutoff))
    try:
        return evaluate_from(
            ci,
            tx,
            customers,
            s,
            as_of=end,
            seed=seed,
            level=lvl,
            margin_rate=margin_rate,
            engine=engine,
            rules_at_cutoff=lambda: run_query(
                basket_rules(past, s, level=lvl), "the basket rules at the cutoff"
            ),
        )
    finally:
        if engine is not None:
            engine.release(ci)


def _too_short(
    tx: ir.Table, s: CrossSellSettings, level: Level, cutoff: _dt.date
) -> dict[str, Any] | None:
    """The evaluation's skip block when the history before the cutoff is too short."""
    lines = basket_lines(tx, level)
    first_day = (
        run_query(lines.aggregate(first=lines.date.min()), "the first sale date")
        .column("first")[0]
        .as_py()
    )
    need = months_before(cutoff, s.eval_min_history_months)
    if first_day is None:
        return _skip(
            "no sale line with an item to evaluate on (every line a return or a "
            "cancellation, or without an item)",
            cutoff=cutoff.isoformat(),
        )
    if first_day > need:
        return _skip(
            f"history starts {first_day}; the evaluation needs lines from {need} "
            f"({s.eval_min_history_months} months before the cutoff {cutoff}); "
            "[crosssell] eval_horizon_months and eval_min_history_months set it",
            cutoff=cutoff.isoformat(),
        )
    return None


def evaluate_from(
    ci: ir.Table,
    tx: ir.Table,
    customers: pa.Table,
    s: CrossSellSettings,
    *,
    as_of: _dt.date,
    seed: int,
    level: Level,
    margin_rate: float | None,
    engine: Engine | None,
    rules_at_cutoff: Callable[[], pa.Table],
) -> dict[str, Any]:
    """:func:`evaluate_hit_rate` from customer × item figures already computed
    (:func:`~tierwise.crosssell.recommend.customer_items` of ``tx`` at ``level`` and
    ``as_of``, with the cutoff ``eval_horizon_months`` before it); ``rules_at_cutoff`` gives
    the basket rules of the lines up to the cutoff when they are needed."""
    lvl = level
    end = as_of
    cutoff = months_before(end, s.eval_horizon_months)
    short = _too_short(tx, s, lvl, cutoff)
    if short is not None:
        return short
    k_max = max(KS)
    s_eval = s.model_copy(
        update={
            "max_recommendations": max(k_max, s.max_recommendations),
            "crm_top_n": min(s.crm_top_n, max(k_max, s.max_recommendations)),
            "peer_columns": list(s.fallback_peer_columns),
        }
    )
    ci_past = at_cutoff(ci, cutoff)
    new = ci.filter(ci.first_date > ibis.literal(cutoff)).semi_join(ci_past, "customer_id")
    known = pc.is_in(
        new_ids := run_query(
            new.select("customer_id").distinct().order_by("customer_id"), "new items"
        ).column("customer_id"),
        value_set=customers.column("customer_id").cast(pa.string()),
    )
    ids = new_ids.filter(known)
    if len(ids) < s.eval_min_customers:
        return _skip(
            f"{len(ids)} customers bought an item new to them after the cutoff {cutoff}; "
            f"the evaluation needs {s.eval_min_customers} ([crosssell] eval_min_customers)",
            cutoff=cutoff.isoformat(),
        )
    n_eligible = len(ids)
    if len(ids) > s.eval_max_customers:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(ids), size=s.eval_max_customers, replace=False))
        ids = ids.take(pa.array(pick))
    id_t = ibis.memtable(pa.table({"customer_id": ids}))
    truth = run_query(
        new.semi_join(id_t, "customer_id").select("customer_id", "item"),
        "the items new to each customer",
    ).to_pandas()

    rules = rules_at_cutoff()
    items = item_table(ci_past, margin_rate)
    items = engine.materialize(items) if engine is not None else items
    # both rankings below (two definitions of look-alikes) number the same items and owned
    # items: they are coded once
    shared = SharedCodes()

    def hit_rates(peer_columns: list[str]) -> tuple[dict[str, Any], list[str]]:
        ranked = rank_items(
            ci_past,
            customers,
            rules,
            s_eval.model_copy(update={"peer_columns": peer_columns}),
            level=lvl,
            margin_rate=margin_rate,
            engine=engine,
            only_customers=pa.array(ids),
            items=items,
            shared=shared,
        )
        model = ranked.got.select(["customer_id", "rank", "item"]).to_pandas()
        got: dict[str, Any] = {}
        for k in KS:
            m = _hit_rate(model, truth, ids, k)
            p = _hit_rate(popular, truth, ids, k)
            got[f"hit_rate_at_{k}"] = m
            got[f"popularity_hit_rate_at_{k}"] = p
            got[f"lift_at_{k}"] = m / p if p > 0 else None
        return got, ranked.groups.columns

    popular = _popular(ci_past, id_t, k_max, s.candidate_pool)
    firmographic, used = hit_rates(list(s.fallback_peer_columns))
    production = usable_columns(customers, list(s.peer_columns))
    note = (
        f"peers grouped on {', '.join(used) or 'all customers'} (known before the cutoff); "
        f"production groups them on {', '.join(s.peer_columns)}, computed from the whole "
        "history, so they cannot be used at the cutoff without leaking the horizon"
    )
    prod_block: dict[str, Any]
    if not s.eval_production_peers:
        prod_block = _skip("[crosssell] eval_production_peers = false")
    elif not production:
        prod_block = _skip(
            f"the customer table has none of peer_columns ({', '.join(s.peer_columns)}); "
            "production uses the firmographic peers too"
        )
    elif production == used:
        prod_block = {"status": "same peers", "peer_columns": production}
    else:
        got, prod_used = hit_rates(production)
        prod_block = {
            "status": "ok",
            "peer_columns": prod_used,
            **got,
            "caution": "classes and niches are computed from the history up to the analysis "
            "date, the horizon included: this figure may be optimistic",
        }
    shared.release(engine)
    if engine is not None:
        engine.release(items)
    out: dict[str, Any] = {
        "status": "ok",
        "level": lvl,
        "cutoff": cutoff.isoformat(),
        "horizon_end": end.isoformat(),
        "n_customers": len(ids),
        "n_customers_eligible": n_eligible,
        "mean_new_items": float(truth.groupby("customer_id").size().mean()),
        "n_rules_at_cutoff": rules.num_rows,
        "peer_columns": used,
        "peer_definition": note,
        **firmographic,
        "production_peers": prod_block,
    }
    return out


def _popular(ci_past: ir.Table, ids: ir.Table, k: int, pool: int) -> pd.DataFrame:
    """Each customer's ``k`` most bought items (by buyers up to the cutoff) it does not own,
    from the ``pool`` most bought."""
    pop = ci_past.group_by("item").aggregate(n=ci_past.count())
    pop = pop.mutate(prank=ibis.row_number().over(order_by=[ibis.desc("n"), "item"]))
    owned = ci_past.semi_join(ids, "customer_id")
    n_owned = run_query(
        owned.group_by("customer_id").aggregate(n_owned=owned.count()).order_by("customer_id"),
        "items owned",
    )
    pop = pop.filter(pop.prank < pool)
    id_list = run_query(ids, "the evaluated customers").column("customer_id")
    idx = pc.index_in(id_list, value_set=n_owned.column("customer_id"))
    reach = pc.add(pc.take(n_owned.column("n_owned"), idx).fill_null(0), k)
    cust = ibis.memtable(pa.table({"customer_id": id_list, "reach": reach}))
    cand = cust.join(pop, cust.reach > pop.prank).select("customer_id", "item", "prank")
    cand = cand.anti_join(owned, ["customer_id", "item"])
    cand = cand.mutate(rank=ibis.row_number().over(group_by="customer_id", order_by="prank") + 1)
    cand = cand.filter(cand.rank <= k)
    return run_query(
        cand.select("customer_id", "rank", "item").order_by(["customer_id", "rank"]),
        "the popularity baseline",
    ).to_pandas()


def _hit_rate(recs: pd.DataFrame, truth: pd.DataFrame, ids: pa.Array, k: int) -> float:
    top = recs[recs["rank"] <= k]
    hits = top.merge(truth, on=["customer_id", "item"], how="inner")
    if len(ids) == 0:
        return 0.0
    hit = pc.is_in(ids, value_set=pa.array(hits["customer_id"].unique(), pa.string()))
    return float(np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool).mean())
