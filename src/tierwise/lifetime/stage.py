"""The lifetime stage: status, P(alive), expected purchases, CLV and defection risk per customer.

One call for the pipeline: :func:`lifetime_stage` computes the summary in the engine (purchases
net of their paired cancellations), chooses and fits the transaction model
(:mod:`tierwise.lifetime.choice`) and the Gamma-Gamma spend model, shrinks and bounds the
margin (:mod:`tierwise.lifetime.margin`), predicts per customer (under BG/NBD a one-off
buyer's P(alive) is the observed repeat share, :mod:`tierwise.lifetime.oneoff`; a one-off
buyer's order value is read from its first order), bounds each lifetime value by
the customer's own history (:func:`~tierwise.lifetime.clv.bound_clv`), assigns the status,
runs the defection-model comparison when the history allows, and lists the high-value
customers at risk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from threadpoolctl import threadpool_limits

from ..engine import Engine
from ..errors import ModelError
from ..settings.lifetime import LifetimeSettings
from ._fitting import DegenerateFitError, LikelihoodModel, shared_distinct_rows
from .choice import ModelChoice, choose_transaction_model
from .churn import (
    DefectionComparison,
    SupervisedHoldout,
    _matrix,
    compare_defection_models,
    defection_features,
    start_supervised_holdout,
)
from .clv import bound_clv, customer_lifetime_value
from .gammagamma import GammaGammaModel
from .holdout import HoldoutEvaluation
from .margin import MarginEstimate, shrink_margin
from .oneoff import RepeatHistory, one_off_p_alive, repeat_history
from .status import customer_status, rhythm_p_alive
from .summary import CustomerDays, customer_days, first_repeat_wait, rfm_summary
from .trend import base_trend

__all__ = ["CUSTOMER_COLUMNS", "LifetimeResult", "high_value_at_risk", "lifetime_stage"]

#: The customer columns the stage owns (``expected_purchases_<N>d`` takes the forecast
#: horizon of the settings).
CUSTOMER_COLUMNS = (
    "customer_id",
    "status",
    "status_reason",
    "p_alive",
    "expected_purchases_{horizon}d",
    "expected_order_value",
    "clv",
    "defection_risk",
    "value_at_risk",
    "high_value",
    "high_value_at_risk",
)


@dataclass
class LifetimeResult:
    """What the lifetime stage returns.

    Attributes
    ----------
    customers
        One row per customer, keyed by ``customer_id``, with only the stage's own columns
        (:data:`CUSTOMER_COLUMNS`): status, status_reason, p_alive,
        expected_purchases_<N>d, expected_order_value, clv, defection_risk, value_at_risk,
        high_value, high_value_at_risk. Customers whose every line was cancelled or
        returned, and the known companies without purchases, are prospects with empty
        figures.
    tables
        Output tables by file stem: ``lifetime_summary`` (per buying customer: the model
        inputs x, t_x, T, purchase days, usual gap, mean repeat value, purchase revenue,
        the margin given and used, the CLV bound), ``high_value_at_risk``, and where
        computed ``lifetime_conditional_expectation``, ``lifetime_tracking`` (the holdout
        evaluation of the model used) and ``defection_comparison``.
    manifest
        The stage's manifest block: counts by status, which model set each column and why
        (``columns``, ``model_choice``), the margin shrinkage, CLV totals and how many were
        bounded, the defection comparison, the holdout figures and the base's year-on-year trend
        (``base_trend``, :mod:`tierwise.lifetime.trend`).
    warnings
        Assumptions made for lack of data and models replaced, each naming the setting that
        changes it.
    models
        Manifest entries of the fitted models by name (``bgnbd``, ``mbgnbd``,
        ``pareto_nbd``, ``gamma_gamma``, ``defection``): params, log_likelihood,
        n_customers, time_unit.
    transaction_model, spend_model
        The fitted estimators used (``None`` where none could be).
    choice, evaluation, defection, margin
        The model choice, the holdout evaluation of the model used, the defection
        comparison and the margin estimate (each ``None`` when not computed).
    """

    customers: pa.Table
    tables: dict[str, pa.Table]
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    transaction_model: LikelihoodModel | None = None
    spend_model: GammaGammaModel | None = None
    choice: ModelChoice | None = None
    evaluation: HoldoutEvaluation | None = None
    defection: DefectionComparison | None = None
    margin: MarginEstimate | None = None

    @property
    def high_value_at_risk(self) -> pa.Table:
        """The high-value customers at risk (``tables["high_value_at_risk"]``)."""
        return self.tables["high_value_at_risk"]

    @property
    def outputs(self) -> dict[str, pa.Table]:
        """The same as :attr:`tables` (the name the current pipeline reads)."""
        return self.tables

    @property
    def headline(self) -> dict[str, Any]:
        """The same as :attr:`manifest` (the name the current pipeline reads)."""
        return self.manifest


def _table_column(ids: pa.ChunkedArray, table: pa.Table, names: tuple[str, ...]) -> np.ndarray:
    """The first of ``names`` found in ``table``, aligned to ``ids`` (NaN where absent)."""
    col = next((c for c in names if c in table.column_names), None)
    if col is None:
        return np.full(len(ids), np.nan)
    idx = pc.index_in(ids, value_set=pc.cast(table.column("customer_id"), pa.string()))
    vals = pc.take(pc.cast(table.column(col), pa.float64()), idx)
    return np.asarray(pc.fill_null(vals, np.nan).to_numpy(zero_copy_only=False), dtype=float)


def _float(values: np.ndarray) -> pa.Array:
    """Float64 Arrow array with NaN and infinities as null."""
    v = np.asarray(values, dtype=np.float64)
    return pa.array(np.where(np.isfinite(v), v, 0.0), mask=~np.isfinite(v))


def _plain(value: Any) -> Any:
    """A manifest value with NaN and infinities as None (JSON has neither)."""
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _tracking_columns(tracking: pa.Table) -> dict[str, Any]:
    """The tracking data for the manifest, column by column (weeks or days since the first
    calibration purchase)."""
    return {
        "period_start": [d.isoformat() for d in tracking.column("period_start").to_pylist()],
        "actual_cumulative": tracking.column("actual_cumulative").to_pylist(),
        "predicted_cumulative": tracking.column("predicted_cumulative").to_pylist(),
        "in_holdout": tracking.column("in_holdout").to_pylist(),
    }


def high_value_at_risk(customers: pa.Table, settings: LifetimeSettings) -> pa.Table:
    """The top ``high_value_share`` of customers by CLV whose defection risk is at least
    ``high_risk``, ranked by value at risk (CLV x risk), each with a reason.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"customer_id": ["a", "b", "c", "d", "e"],
    ...               "clv": [100.0, 900.0, 50.0, 800.0, 10.0],
    ...               "defection_risk": [0.9, 0.7, 0.9, 0.1, 0.9],
    ...               "status": ["active"] * 5, "status_reason": ["r"] * 5})
    >>> s = LifetimeSettings(high_value_share=0.4, high_risk=0.5)
    >>> high_value_at_risk(t, s).column("customer_id").to_pylist()
    ['b']
    """
    clv = np.asarray(pc.fill_null(customers.column("clv"), np.nan).to_numpy(zero_copy_only=False))
    risk = np.asarray(
        pc.fill_null(customers.column("defection_risk"), np.nan).to_numpy(zero_copy_only=False)
    )
    ok = np.isfinite(clv) & np.isfinite(risk)
    keep = [
        c
        for c in ("customer_id", "status", "clv", "defection_risk", "p_alive")
        if c in customers.column_names
    ]
    if not ok.any():
        empty = customers.select(keep).slice(0, 0)
        return pa.table(
            {
                **{c: empty.column(c) for c in keep},
                "value_at_risk": pa.array([], pa.float64()),
                "rank": pa.array([], pa.int64()),
                "reason": pa.array([], pa.string()),
            }
        )
    threshold = float(np.quantile(clv[ok], 1.0 - settings.high_value_share))
    pick = ok & (clv >= threshold) & (risk >= settings.high_risk)
    idx = np.flatnonzero(pick)
    var = clv[idx] * risk[idx]
    ranked = pa.table(
        {"value_at_risk": pa.array(-var), "customer_id": pc.take(customers["customer_id"], idx)}
    )
    order = pc.sort_indices(
        ranked, sort_keys=[("value_at_risk", "ascending"), ("customer_id", "ascending")]
    )
    idx = idx[np.asarray(order)]
    sub = customers.take(pa.array(idx, pa.int64()))
    pct = round(settings.high_value_share * 100)
    reason = pc.binary_join_element_wise(
        "lifetime value ",
        pc.cast(pc.round(sub.column("clv"), 0), pa.int64()).cast(pa.string()),
        f" (top {pct}%), ",
        pc.cast(pc.round(pc.multiply(sub.column("defection_risk"), 100), 0), pa.int64()).cast(
            pa.string()
        ),
        f"% risk of no order in the next {settings.defection_window_days} days; ",
        sub.column("status_reason"),
        "",
    )
    out = sub.select(keep)
    out = out.append_column("value_at_risk", pa.array(clv[idx] * risk[idx]))
    out = out.append_column("rank", pa.array(np.arange(1, len(idx) + 1), pa.int64()))
    return out.append_column("reason", reason)


def _one_off_note(history: RepeatHistory, n_once: int, span_days: float) -> str:
    """The warning that one-off buyers' P(alive) comes from the repeat history."""
    wait = history.longest_wait
    seen = (
        f"{1.0 - history.never_share:.0%} of first-time buyers placed a second order, "
        f"none more than {wait:,.0f} days after the first"
        if wait is not None
        else "no customer placed a second order"
    )
    short = (
        "; the history is short against that wait, so later second orders may not show yet"
        if wait is not None and span_days < 2.0 * wait
        else ""
    )
    return (
        f"BG/NBD gives a customer with a single purchase day P(alive) = 1 however long ago it "
        f"bought; for the {n_once:,} such customers P(alive) is instead the share of "
        "first-time buyers who, as long without a second order, still placed one "
        f"({seen}{short}), and their expected purchases, lifetime value and defection risk "
        'follow it (set [lifetime] one_off_buyers = "model" to keep BG/NBD\'s figures, or '
        "[lifetime] transaction_model to use another model)"
    )


def _spend(
    x: np.ndarray,
    mval: np.ndarray,
    own_mean: np.ndarray,
    first_value: np.ndarray,
    cfg: LifetimeSettings,
) -> tuple[np.ndarray, GammaGammaModel | None, str, list[str]]:
    """Expected order values: Gamma-Gamma's, or each customer's own mean with the reason.

    Gamma-Gamma is fitted on the repeat purchases of the repeat buyers. With
    ``[lifetime] one_off_buyers = "observed"`` a customer with a single purchase day is
    predicted as one seen once at ``first_value`` (its first day's revenue):
    ``p (gamma + m) / (p + q - 1)``, its order shrunk towards the population's mean, rather
    than that mean itself (``x = 0``).
    """
    warnings: list[str] = []
    gg = GammaGammaModel(
        max_iter=cfg.max_iter,
        tol=cfg.tol,
        max_shape=cfg.max_shape_parameter,
        time_unit=cfg.time_unit,
    )
    X = np.column_stack([x, mval])
    own = "expected order value = each customer's own mean order value"
    try:
        gg.fit(X)
    except DegenerateFitError as exc:
        warnings.append(
            f"{exc}; {own} (set [lifetime] max_shape_parameter to change what counts as degenerate)"
        )
        return own_mean, None, "own_mean", warnings
    except ModelError as exc:
        warnings.append(f"{exc}; {own}")
        return own_mean, None, "own_mean", warnings
    source = "gamma_gamma"
    if cfg.one_off_buyers == "observed":
        once = (x == 0) & (first_value > 0)
        X = np.column_stack([np.where(once, 1.0, x), np.where(once, first_value, mval)])
        if once.any():
            source = "gamma_gamma (one-off buyers: given their first order)"
    try:
        eov = gg.expected_order_value(X)
    except ModelError as exc:
        warnings.append(f"{exc}; {own}")
        return own_mean, gg, "own_mean", warnings
    corr = gg.correlation_
    if np.isfinite(corr) and abs(corr) > cfg.gamma_gamma_max_correlation:
        warnings.append(
            f"gamma_gamma: frequency and order value are correlated (r = {corr:.2f}, above "
            f"[lifetime] gamma_gamma_max_correlation = {cfg.gamma_gamma_max_correlation}); "
            "expected order values may be biased"
        )
    return eov, gg, source, warnings


def lifetime_stage(
    tx: ir.Table,
    as_of: dt.date,
    settings: LifetimeSettings | None = None,
    *,
    engine: Engine,
    margin: pa.Table | None = None,
    prospects: pa.Table | None = None,
    seed: int = 42,
) -> LifetimeResult:
    """Run the lifetime stage on canonical transactions.

    Parameters
    ----------
    tx
        Canonical transactions (Ibis table): customer_id, date, revenue, is_return,
        is_cancel, best after :func:`~tierwise.features.cancellations.pair_cancellations`
        (its columns take cancelled purchases out; without them every cancellation is read
        as unpaired); rows after ``as_of`` are ignored.
    as_of
        The analysis date.
    settings
        The ``[lifetime]`` section.
    engine
        The engine that holds ``tx``.
    margin
        Optional per-customer net margin (``customer_id`` and ``net_margin_rate`` or
        ``net_margin_pct``: a fraction of revenue, from the profitability stage; with
        ``n_orders`` the orders behind it, else the customer's purchase days count as the
        evidence; with ``revenue`` or ``net_profit`` the revenue behind it, which makes the
        peers' margin the base's net margin); with it CLV is in net-profit terms, the margin
        shrunk towards the peers' and bounded (:mod:`tierwise.lifetime.margin`). It is not a
        feature of the defection model: computed at ``as_of``, it would reveal the holdout
        labels.
    prospects
        Optional table with ``customer_id`` of every known company (customer master,
        prospects): those without purchases get the status "prospect"; ids with purchases
        are ignored.
    seed
        Random seed of the defection model.

    Returns
    -------
    LifetimeResult

    Examples
    --------
    >>> import datetime as dt, pyarrow.compute as pc
    >>> from tierwise.engine import Engine
    >>> from tierwise.demo import generate
    >>> data = generate(n_customers=300, seed=1)  # doctest: +SKIP
    >>> eng = Engine()
    >>> tx = eng.from_arrow(data.transactions)  # doctest: +SKIP
    >>> res = lifetime_stage(tx, data.end_date, engine=eng)  # doctest: +SKIP
    >>> res.manifest["model_choice"]["model"]  # doctest: +SKIP
    'mbgnbd'
    """
    cfg = settings or LifetimeSettings()
    # each customer's lines summed per day, kept in the engine: every summary below (the
    # whole history, the holdout, the defection features) reads it, not the lines
    days = customer_days(tx, end=as_of).kept(engine)
    try:
        # BLAS on one thread for the whole stage, set before the defection model's
        # background fit starts: BLAS thread counts are process-wide, so a limit taken and
        # lifted around one fit would change the threads of a product running meanwhile in
        # the other thread, and its sums' bits with them. One thread for all gives every
        # figure the same bits on any machine and in any timing.
        # the models' distinct rows of the same summaries found once (and freed after)
        with threadpool_limits(limits=1, user_api="blas"), shared_distinct_rows():
            return _lifetime(days, as_of, cfg, engine, margin, prospects, seed)
    finally:
        days.release(engine)


def _lifetime(
    days: CustomerDays,
    as_of: dt.date,
    cfg: LifetimeSettings,
    engine: Engine,
    margin: pa.Table | None,
    prospects: pa.Table | None,
    seed: int,
) -> LifetimeResult:
    per = 7.0 if cfg.time_unit == "weeks" else 1.0
    warnings: list[str] = []
    models: dict[str, dict[str, Any]] = {}

    summ = rfm_summary(days, as_of, engine=engine, time_unit=cfg.time_unit)
    n = summ.num_rows
    ids = summ.column("customer_id")
    x = np.asarray(summ.column("x").to_numpy(), dtype=np.float64)
    t_x = np.asarray(summ.column("t_x").to_numpy(), dtype=np.float64)
    T = np.asarray(summ.column("T").to_numpy(), dtype=np.float64)
    mval = np.asarray(summ.column("monetary_value").to_numpy(), dtype=np.float64)
    rec_days = np.asarray(summ.column("recency_days").to_numpy(), dtype=np.float64)
    total_rev = np.asarray(summ.column("total_revenue").to_numpy(), dtype=np.float64)
    horizon_col = f"expected_purchases_{cfg.forecast_horizon_days}d"
    nan = np.full(n, np.nan)

    # the supervised defection model's holdout fit runs in the background while the
    # transaction models are chosen (its failure is reported where the comparison is made)
    supervised: SupervisedHoldout | ModelError | None = None
    if cfg.supervised_model:
        try:
            supervised = start_supervised_holdout(days, as_of, cfg, engine=engine, seed=seed)
        except ModelError as exc:
            supervised = exc

    # a decline the whole base shares, which the per-customer figures below do not show
    trend, decline = base_trend(days, as_of, cfg, engine=engine)
    if decline is not None:
        warnings.append(decline)

    # the transaction model
    choice = choose_transaction_model(summ, days, as_of, cfg, engine=engine)
    warnings += choice.warnings
    for name, fitted in choice.fitted.items():
        models[name] = fitted.to_manifest()
    tm = choice.model

    # the spend model and the margin
    eov, gg, eov_source, spend_warnings = _spend(
        x, mval, total_rev / (x + 1.0), np.where(x == 0, total_rev, np.nan), cfg
    )
    warnings += spend_warnings
    if gg is not None:
        models["gamma_gamma"] = gg.to_manifest()
    estimate: MarginEstimate | None = None
    margin_used: np.ndarray | None
    margin_given = nan.copy()
    if margin is not None:
        margin_given = _table_column(ids, margin, ("net_margin_rate", "net_margin_pct"))
        evidence = _table_column(ids, margin, ("n_orders",))
        evidence = np.where(np.isfinite(evidence), evidence, x + 1.0)
        # the revenue behind each rate, so that the peers' margin is the base's net margin
        behind = _table_column(ids, margin, ("revenue",))
        profit = _table_column(ids, margin, ("net_profit",))
        if not np.isfinite(behind).any():
            with np.errstate(invalid="ignore", divide="ignore"):
                behind = np.where(margin_given != 0, profit / margin_given, np.nan)
        estimate = shrink_margin(
            margin_given,
            evidence,
            low=cfg.margin_min,
            high=cfg.margin_max,
            shrink=cfg.margin_shrinkage,
            revenue=behind if np.isfinite(behind).any() else None,
            profit=profit,
        )
        margin_used = estimate.margin
        if estimate.peer_margin is None:
            warnings.append(
                "no customer has a net margin: lifetime value in revenue terms "
                "(set [lifetime] margin_rate to use one margin for everyone)"
            )
            margin_used, estimate = None, None
    elif cfg.margin_rate is not None:
        margin_used = np.full(n, float(cfg.margin_rate))
    else:
        margin_used = None
    clv_basis = "revenue" if margin_used is None else "net_profit"

    # predictions
    p_alive, expected, clv_raw, risk = nan, nan.copy(), nan.copy(), nan.copy()
    if tm is not None:
        m: Any = tm
        p_alive = m.p_alive(summ)
        expected = m.expected_purchases(summ, cfg.forecast_horizon_days / per)
        clv_raw = customer_lifetime_value(
            m,
            summ,
            eov,
            horizon_months=cfg.clv_horizon_months,
            discount_rate=cfg.discount_rate,
            days_per_unit=per,
            margin=margin_used,
        )
        risk = m.p_no_purchase(summ, cfg.defection_window_days / per)
    once_history: RepeatHistory | None = None
    p_alive_source = tm.name if tm is not None else None
    if (
        tm is not None
        and tm.name == "bgnbd"
        and cfg.one_off_buyers == "observed"
        and (x == 0).any()
    ):
        # BG/NBD keeps every one-off buyer alive (P(alive) = 1 by construction): theirs is
        # the share of first-time buyers who, as long without a second order, still placed
        # one. As BG/NBD's P(alive) is exactly 1 for them, their expected purchases, lifetime
        # value and risk of no purchase are the model's times that share
        once = x == 0
        waits = first_repeat_wait(days, as_of, engine=engine)
        once_history = repeat_history(waits.column("wait_days").to_numpy(), rec_days[once])
        share = one_off_p_alive(once_history, rec_days[once])
        p_alive = np.array(p_alive, dtype=np.float64)
        p_alive[once] = share
        expected[once] *= share
        clv_raw[once] *= share
        risk[once] = 1.0 - share + share * risk[once]
        p_alive_source = "bgnbd; one-off buyers: repeat history (Kaplan-Meier)"
        warnings.append(_one_off_note(once_history, int(once.sum()), float(np.max(T) * per)))
    horizon_days = cfg.clv_horizon_months * 365.25 / 12
    clv, clv_bound, capped = bound_clv(
        clv_raw,
        total_rev,
        T * per,
        horizon_days=horizon_days,
        multiple=cfg.clv_history_multiple,
        min_tenure_days=cfg.clv_min_tenure_days,
    )

    status, reason, gap = customer_status(rec_days, T * per, t_x * per, x, cfg)
    if tm is None and n:
        # no transaction model: P(alive) from each customer's own rhythm, so that a one-off
        # buyer silent for years is not counted as alive (nor left empty, which readers of
        # p_alive such as the coverage plan take as alive)
        p_alive = rhythm_p_alive(rec_days, gap, cfg)
        p_alive_source = "rhythm: 1 up to the at-risk point, then down by e per usual gap"
        warnings.append(
            "P(alive) from each customer's own rhythm, as no transaction model could be used: "
            "1 up to the at-risk point of its usual gap, then down by a factor e per further "
            "usual gap without an order (see [lifetime] at_risk_ratio)"
        )

    # the supervised defection model, where the history allows
    defection: DefectionComparison | None = None
    winner = tm.name if tm is not None else "none"
    if supervised is not None:
        try:
            if isinstance(supervised, ModelError):
                raise supervised
            defection = compare_defection_models(
                days,
                as_of,
                cfg,
                engine=engine,
                transaction_model=tm,
                seed=seed,
                calibration=choice.evaluation,
                supervised=supervised,
            )
            winner = defection.winner
            models["defection"] = {
                "winner": defection.winner,
                "reason": defection.reason,
                "comparison": defection.table.to_pylist(),
                "window_days": cfg.defection_window_days,
            }
            if defection.supervised is not None:
                feats = engine.to_arrow(
                    defection_features(
                        days,
                        as_of,
                        cfg.defection_window_days,
                        lookback_days=cfg.defection_lookback_days,
                        with_label=False,
                    ),
                    "defection features",
                )
                feats = feats.take(pc.index_in(ids, value_set=feats.column("customer_id")))
                risk = defection.supervised.predict_proba(_matrix(feats))[:, 1]
        except ModelError as exc:
            warnings.append(str(exc))

    value_at_risk = clv * risk
    customers = pa.table(
        {
            "customer_id": ids,
            "status": status,
            "status_reason": reason,
            "p_alive": _float(p_alive),
            horizon_col: _float(expected),
            "expected_order_value": _float(eov),
            "clv": _float(clv),
            "defection_risk": _float(risk),
            "value_at_risk": _float(value_at_risk),
        }
    )
    # customers with lines but no purchase left (every line cancelled or returned), and the
    # known companies without purchases: prospects
    lined = engine.to_arrow(
        days.table.select("customer_id").distinct(), "customers with lines"
    ).column("customer_id")
    no_buy = pc.filter(lined, pc.invert(pc.is_in(lined, value_set=ids)))
    known = (
        pc.drop_null(pc.cast(prospects.column("customer_id"), pa.string()))
        if prospects is not None and prospects.num_rows
        else pa.chunked_array([], pa.string())
    )
    known = pc.filter(known, pc.invert(pc.is_in(known, value_set=ids)))
    extra_ids = pc.unique(pa.chunked_array([*no_buy.chunks, *known.chunks], pa.string()))
    extra_ids = pc.take(extra_ids, pc.sort_indices(extra_ids))  # input order does not matter
    m_extra = len(extra_ids)
    if m_extra:
        only_lines = pc.is_in(extra_ids, value_set=no_buy)
        extra = {
            name: pa.nulls(m_extra, customers.schema.field(name).type)
            for name in customers.column_names
        }
        extra["customer_id"] = extra_ids
        extra["status"] = pa.array(["prospect"] * m_extra, pa.string())
        extra["status_reason"] = pc.if_else(
            only_lines,
            pa.scalar("no purchases yet (every line was cancelled or returned)"),
            pa.scalar("no purchases yet"),
        )
        customers = pa.concat_tables([customers, pa.table(extra, schema=customers.schema)])
    n_only_lines = len(no_buy)

    hvar = high_value_at_risk(customers, cfg)
    flag = pc.is_in(customers.column("customer_id"), value_set=hvar.column("customer_id"))
    clv_all = np.asarray(
        pc.fill_null(customers.column("clv"), np.nan).to_numpy(zero_copy_only=False)
    )
    finite = np.isfinite(clv_all)
    top = (
        clv_all >= np.quantile(clv_all[finite], 1.0 - cfg.high_value_share)
        if finite.any()
        else np.zeros(len(clv_all), bool)
    )
    customers = customers.append_column("high_value", pa.array(top & finite))
    customers = customers.append_column("high_value_at_risk", flag)

    summary_table = pa.table(
        {
            "customer_id": ids,
            "purchase_days": pa.array((x + 1.0).astype(np.int64)),
            "x": pa.array(x.astype(np.int64)),
            "t_x": pa.array(t_x),
            "T": pa.array(T),
            "first_purchase_day": summ.column("first_date"),
            "last_purchase_day": summ.column("last_date"),
            "usual_gap_days": _float(gap),
            "mean_repeat_value": _float(mval),
            "purchase_revenue": _float(total_rev),
            "margin_given": _float(margin_given),
            "margin_used": _float(margin_used if margin_used is not None else nan),
            "margin_credibility": _float(estimate.credibility if estimate is not None else nan),
            "clv_before_bound": _float(clv_raw),
            "clv_bound": _float(clv_bound),
            "clv_bounded": pa.array(capped),
        }
    )
    tables = {"lifetime_summary": summary_table, "high_value_at_risk": hvar}
    evaluation = choice.evaluation
    if evaluation is not None and evaluation.tracking is not None:
        tables["lifetime_conditional_expectation"] = evaluation.conditional
        tables["lifetime_tracking"] = evaluation.tracking
    if defection is not None:
        tables["defection_comparison"] = defection.table

    counts = pc.value_counts(customers.column("status")).to_pylist()
    tm_name = tm.name if tm is not None else None
    margin_source = (
        "none (revenue terms)"
        if margin_used is None
        else "shrunk net margin"
        if estimate is not None
        else "[lifetime] margin_rate"
    )
    columns = {
        "p_alive": p_alive_source,
        horizon_col: tm_name,
        "expected_order_value": eov_source,
        "clv": (
            f"{tm_name} x {eov_source} x {margin_source}, bounded by history" if tm_name else None
        ),
        "defection_risk": winner if winner != "none" else None,
        "value_at_risk": "clv x defection_risk",
        "status": "rhythm and absolute limits ([lifetime] *_ratio, *_days)",
    }
    manifest: dict[str, Any] = {
        "n_customers": n,
        "n_without_purchases": n_only_lines,
        "status_counts": {
            c["values"]: int(c["counts"]) for c in sorted(counts, key=lambda c: str(c["values"]))
        },
        "transaction_model": tm_name,
        "model_choice": choice.to_manifest(),
        "columns": columns,
        "clv_basis": clv_basis,
        "clv_total": float(np.nansum(clv)),
        "clv_horizon_months": cfg.clv_horizon_months,
        "clv_bounded": int(capped.sum()),
        "clv_history_multiple": cfg.clv_history_multiple,
        "expected_purchases_total": float(np.nansum(expected)),
        "defection_model": winner,
        "base_trend": trend,
        "high_value_at_risk": int(hvar.num_rows),
        "value_at_risk_total": float(np.nansum(hvar.column("value_at_risk").to_numpy())),
    }
    if once_history is not None:
        manifest["one_off_p_alive"] = {
            **once_history.to_manifest(),
            "rule": "1 - S(longest wait) / S(days silent), S the Kaplan-Meier share of "
            "first-time buyers without a second purchase day",
        }
    if defection is not None:
        manifest["defection_comparison"] = defection.table.to_pylist()
    if estimate is not None:
        manifest["margin"] = {
            **estimate.to_manifest(),
            "bounds": [cfg.margin_min, cfg.margin_max],
        }
    if evaluation is not None and evaluation.tracking is not None:
        manifest["holdout"] = {
            **evaluation.metrics,
            "conditional_expectation": evaluation.conditional.to_pylist(),
            "tracking": _tracking_columns(evaluation.tracking),
        }
    return LifetimeResult(
        customers=customers,
        tables=tables,
        manifest=_plain(manifest),
        warnings=warnings,
        models=_plain(models),
        transaction_model=tm,
        spend_model=gg,
        choice=choice,
        evaluation=evaluation,
        defection=defection,
        margin=estimate,
    )
