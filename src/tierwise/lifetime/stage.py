"""The lifetime stage: status, P(alive), expected purchases, CLV and defection risk per customer.

One call for the pipeline: :func:`lifetime_stage` computes the summary in the engine, fits
BG/NBD (and Pareto/NBD, MBG/NBD) and Gamma-Gamma, predicts per customer, assigns the status,
runs the built-in calibration/holdout evaluation and the defection-model comparison when the
history allows, and lists the high-value customers at risk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import Engine
from ..errors import ModelError
from ..settings.lifetime import LifetimeSettings
from .bgnbd import BetaGeoModel
from .churn import DefectionComparison, _matrix, compare_defection_models, defection_features
from .clv import customer_lifetime_value
from .gammagamma import GammaGammaModel
from .holdout import HoldoutEvaluation, holdout_evaluation
from .mbgnbd import ModifiedBetaGeoModel
from .paretonbd import ParetoNBDModel
from .status import customer_status
from .summary import rfm_summary

__all__ = ["LifetimeResult", "high_value_at_risk", "lifetime_stage"]


@dataclass
class LifetimeResult:
    """What the lifetime stage returns.

    Attributes
    ----------
    customers
        One row per customer (and prospect), keyed by ``customer_id``: status,
        status_reason, first_date, last_date, recency_days, purchase_days, x, t_x, T,
        usual_gap_days, p_alive, expected_purchases_<N>d, expected_order_value, clv,
        defection_risk, value_at_risk, high_value, high_value_at_risk.
    models
        Manifest entries by model name (``bgnbd``, ``pareto_nbd``, ``mbgnbd``,
        ``gamma_gamma``, ``defection``): params, log_likelihood, n_customers, time_unit.
    high_value_at_risk
        The top-CLV customers with high defection risk, ranked by value at risk, each with
        a reason.
    evaluation
        The calibration/holdout evaluation (``None`` when the history is too short).
    defection
        The comparison of the supervised defection model with BG/NBD (``None`` when not
        run).
    headline
        Figures for the manifest: counts by status, totals, the winning defection model,
        the CLV basis ("revenue" or "net_profit"), and the holdout evaluation (its metrics,
        the conditional-expectation table by calibration frequency and the tracking data).
    warnings
        Plain-language notes on steps that were skipped and why.
    """

    customers: pa.Table
    models: dict[str, dict[str, Any]]
    high_value_at_risk: pa.Table
    evaluation: HoldoutEvaluation | None = None
    defection: DefectionComparison | None = None
    headline: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def outputs(self) -> dict[str, pa.Table]:
        """The stage's tables for the output folder, by file stem: ``high_value_at_risk``,
        and where they were computed ``lifetime_conditional_expectation``,
        ``lifetime_tracking`` (the holdout evaluation) and ``defection_comparison``."""
        out = {"high_value_at_risk": self.high_value_at_risk}
        if self.evaluation is not None:
            out["lifetime_conditional_expectation"] = self.evaluation.conditional
            out["lifetime_tracking"] = self.evaluation.tracking
        if self.defection is not None:
            out["defection_comparison"] = self.defection.table
        return out


def _margin_for(ids: pa.Array, margin: pa.Table | None) -> np.ndarray | None:
    if margin is None:
        return None
    col = next((c for c in ("net_margin_rate", "margin_rate") if c in margin.column_names), None)
    if col is None or "customer_id" not in margin.column_names:
        raise ModelError("lifetime: the margin table needs customer_id and net_margin_rate columns")
    idx = pc.index_in(ids, value_set=pc.cast(margin.column("customer_id"), pa.string()))
    vals = pc.take(pc.cast(margin.column(col), pa.float64()), idx)
    return np.asarray(pc.fill_null(vals, np.nan).to_numpy(zero_copy_only=False), dtype=float)


def _fill_margin(
    margin: np.ndarray, revenue: np.ndarray, default: float | None
) -> tuple[np.ndarray, int, float | None]:
    """Missing margins filled with the revenue-weighted mean of the known ones.

    Returns the filled margins, how many were filled and the value used (``default`` when
    no customer has both a margin and positive revenue; ``None`` when that is missing too,
    and then the gaps stay NaN, which CLV reads as revenue terms).
    """
    missing = ~np.isfinite(margin)
    w = np.where(~missing & (revenue > 0), revenue, 0.0)
    fill = float(w @ np.where(missing, 0.0, margin) / w.sum()) if w.sum() > 0 else default
    if fill is None or not missing.any():
        return margin, 0, fill
    return np.where(missing, fill, margin), int(missing.sum()), fill


def _degenerate(model: BetaGeoModel | ParetoNBDModel) -> str:
    """The warning for a fit whose parameters give no finite forecast."""
    params = ", ".join(f"{k} = {v:.3g}" for k, v in model.params_.items())
    return (
        f"{model.name}: the fitted parameters ({params}) give no finite forecast; the data "
        "sit at the edge of what the model can identify (for example every customer buying at "
        "the same steady rate)"
    )


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
    if not ok.any():
        return customers.slice(0, 0).append_column(
            "value_at_risk_reason", pa.array([], pa.string())
        )
    threshold = float(np.quantile(clv[ok], 1.0 - settings.high_value_share))
    pick = ok & (clv >= threshold) & (risk >= settings.high_risk)
    idx = np.flatnonzero(pick)
    var = clv[idx] * risk[idx]
    ids = np.asarray(customers.column("customer_id").to_pylist(), dtype=object)[idx]
    order = np.lexsort((ids.astype(str), -var))
    idx = idx[order]
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
    keep = [
        c
        for c in ("customer_id", "status", "clv", "defection_risk", "p_alive")
        if c in sub.column_names
    ]
    out = sub.select(keep)
    out = out.append_column("value_at_risk", pa.array(clv[idx] * risk[idx]))
    out = out.append_column("rank", pa.array(np.arange(1, len(idx) + 1), pa.int64()))
    return out.append_column("reason", reason)


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
        is_cancel; rows after ``as_of`` are ignored.
    as_of
        The analysis date.
    settings
        The ``[lifetime]`` section.
    engine
        The engine that holds ``tx``.
    margin
        Optional per-customer net margin rate (``customer_id``, ``net_margin_rate``:
        fraction of revenue, from the profitability stage); with it CLV is in net-profit
        terms. A customer without a margin (no revenue in the profitability period) gets
        the revenue-weighted mean margin of the others, so that every CLV is on the same
        basis. It is not a feature of the defection model: computed at ``as_of``, it would
        reveal the holdout labels (see :mod:`tierwise.lifetime.churn`).
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
    >>> import datetime as dt
    >>> from tierwise.engine import Engine
    >>> from tierwise.demo import generate
    >>> data = generate(n_customers=300, seed=1)
    >>> eng = Engine()
    >>> tx = eng.from_arrow(data.transactions)
    >>> res = lifetime_stage(tx, data.end_date, engine=eng)  # doctest: +SKIP
    >>> sorted(res.models)  # doctest: +SKIP
    ['bgnbd', 'defection', 'gamma_gamma', 'mbgnbd', 'pareto_nbd']
    """
    cfg = settings or LifetimeSettings()
    per = 7.0 if cfg.time_unit == "weeks" else 1.0
    warnings: list[str] = []
    models: dict[str, dict[str, Any]] = {}

    summ = rfm_summary(tx, as_of, engine=engine, time_unit=cfg.time_unit)
    n = summ.num_rows
    ids = summ.column("customer_id")
    x = np.asarray(summ.column("x").to_numpy(), dtype=np.float64)
    t_x = np.asarray(summ.column("t_x").to_numpy(), dtype=np.float64)
    T = np.asarray(summ.column("T").to_numpy(), dtype=np.float64)
    mval = np.asarray(summ.column("monetary_value").to_numpy(), dtype=np.float64)
    rec_days = np.asarray(summ.column("recency_days").to_numpy(), dtype=np.float64)
    total_rev = np.asarray(summ.column("total_revenue").to_numpy(), dtype=np.float64)
    margin_rate = _margin_for(ids, margin)
    margin_filled, fill = 0, None
    if margin_rate is not None:
        margin_rate, margin_filled, fill = _fill_margin(margin_rate, total_rev, cfg.margin_rate)
        if fill is None and not np.isfinite(margin_rate).any():
            warnings.append("no customer has a net margin: lifetime value in revenue terms")
            margin_rate = None
    elif cfg.margin_rate is not None:
        margin_rate = np.full(n, float(cfg.margin_rate))
    clv_basis = "revenue" if margin_rate is None else "net_profit"

    nan = np.full(n, np.nan)
    p_alive, expected, eov, clv, risk = nan, nan.copy(), nan.copy(), nan.copy(), nan.copy()
    horizon_col = f"expected_purchases_{cfg.forecast_horizon_days}d"
    fitted: dict[str, BetaGeoModel | ParetoNBDModel] = {}
    candidates: list[tuple[str, type[BetaGeoModel] | type[ParetoNBDModel], bool]] = [
        ("bgnbd", BetaGeoModel, True),
        ("pareto_nbd", ParetoNBDModel, cfg.fit_pareto_nbd),
        ("mbgnbd", ModifiedBetaGeoModel, cfg.fit_mbgnbd),
    ]
    for name, cls, wanted in candidates:
        if not (wanted or cfg.transaction_model == name):
            continue
        try:
            model = cls(max_iter=cfg.max_iter, tol=cfg.tol, time_unit=cfg.time_unit)
            fitted[name] = model.fit(x, t_x, T)
            models[name] = model.to_manifest()
        except ModelError as exc:
            warnings.append(str(exc))
    tm = fitted.get(cfg.transaction_model)
    # the buy-till-you-die defection risk: the transaction model's probability of no purchase
    # in the window where it has one (BG/NBD, MBG/NBD), else BG/NBD's
    risk_model = tm if isinstance(tm, BetaGeoModel) else fitted.get("bgnbd")
    assert risk_model is None or isinstance(risk_model, BetaGeoModel)
    gg: GammaGammaModel | None = None
    try:
        gg = GammaGammaModel(max_iter=cfg.max_iter, tol=cfg.tol, time_unit=cfg.time_unit)
        gg.fit(x, mval)
        models["gamma_gamma"] = gg.to_manifest()
        corr = gg.correlation_
        if np.isfinite(corr) and abs(corr) > 0.3:
            warnings.append(
                f"gamma_gamma: frequency and order value are correlated (r = {corr:.2f}); "
                "expected order values may be biased"
            )
        eov = gg.expected_order_value(x, mval)
    except ModelError as exc:
        gg = None
        warnings.append(f"{exc}; expected order value = each customer's own mean order value")
        # without a spend model: each customer's own mean order value
        eov = total_rev / (x + 1.0)
    if tm is not None:
        p_alive = tm.p_alive(x, t_x, T)
        expected = tm.expected_purchases(cfg.forecast_horizon_days / per, x, t_x, T)
        clv = customer_lifetime_value(
            tm,
            x,
            t_x,
            T,
            eov,
            horizon_months=cfg.clv_horizon_months,
            discount_rate=cfg.discount_rate,
            days_per_unit=per,
            margin=margin_rate,
        )
        if not all(np.isfinite(v).all() for v in (p_alive, expected, clv)):
            warnings.append(f"{_degenerate(tm)}; P(alive), expected purchases and CLV left empty")
            p_alive, expected, clv = nan, nan.copy(), nan.copy()
    if risk_model is not None:
        risk = risk_model.p_no_purchase(cfg.defection_window_days / per, x, t_x, T)
        if not np.isfinite(risk).all():
            warnings.append(f"{_degenerate(risk_model)}; no defection risk from it")
            risk, risk_model = nan.copy(), None

    # status
    status, reason, gap = customer_status(rec_days, T * per, t_x * per, x, cfg)

    # the supervised defection model, where the history allows
    defection: DefectionComparison | None = None
    winner = risk_model.name if risk_model is not None else "none"
    if cfg.supervised_model:
        try:
            defection = compare_defection_models(tx, as_of, cfg, engine=engine, seed=seed)
            winner = defection.winner
            models["defection"] = {
                "winner": defection.winner,
                "reason": defection.reason,
                "comparison": defection.table.to_pylist(),
                "window_days": cfg.defection_window_days,
            }
            if defection.supervised is not None:
                feats = engine.to_arrow(
                    defection_features(tx, as_of, cfg.defection_window_days, with_label=False),
                    "defection features",
                )
                feats = feats.take(pc.index_in(ids, value_set=feats.column("customer_id")))
                risk = defection.supervised.predict_matrix(_matrix(feats))
        except ModelError as exc:
            warnings.append(str(exc))

    value_at_risk = clv * risk
    first = summ.column("first_date")
    customers = pa.table(
        {
            "customer_id": ids,
            "status": status,
            "status_reason": reason,
            "first_date": first,
            "last_date": summ.column("last_date"),
            "recency_days": summ.column("recency_days"),
            "purchase_days": pa.array(x + 1.0).cast(pa.int64()),
            "x": x,
            "t_x": t_x,
            "T": T,
            "usual_gap_days": gap,
            "p_alive": pa.array(p_alive, from_pandas=True),
            horizon_col: pa.array(expected, from_pandas=True),
            "expected_order_value": pa.array(eov, from_pandas=True),
            "clv": pa.array(clv, from_pandas=True),
            "defection_risk": pa.array(risk, from_pandas=True),
            "value_at_risk": pa.array(value_at_risk, from_pandas=True),
        }
    )
    if prospects is not None and prospects.num_rows:
        pids = pc.unique(pc.drop_null(pc.cast(prospects.column("customer_id"), pa.string())))
        pids = pc.filter(pids, pc.invert(pc.is_in(pids, value_set=ids)))
        pids = pc.take(pids, pc.sort_indices(pids))  # the same order whatever the input's
        m = len(pids)
        extra = {
            name: pa.nulls(m, customers.schema.field(name).type) for name in customers.column_names
        }
        extra["customer_id"] = pids
        extra["status"] = pa.array(["prospect"] * m, pa.string())
        extra["status_reason"] = pa.array(["no purchases yet"] * m, pa.string())
        customers = pa.concat_tables([customers, pa.table(extra, schema=customers.schema)])

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

    # the built-in calibration/holdout evaluation
    evaluation: HoldoutEvaluation | None = None
    hold = cfg.holdout_days or cfg.defection_window_days
    split = as_of - dt.timedelta(days=hold)
    start = pc.min(first).as_py() if n else None
    if start is not None and (split - start).days >= hold:
        try:
            evaluation = holdout_evaluation(
                tx,
                split,
                as_of,
                engine=engine,
                model=cfg.transaction_model,
                time_unit=cfg.time_unit,
                max_iter=cfg.max_iter,
                tol=cfg.tol,
            )
        except ModelError as exc:
            warnings.append(str(exc))
    else:
        warnings.append(
            f"holdout evaluation skipped: the history is shorter than twice {hold} days"
        )

    counts = pc.value_counts(customers.column("status")).to_pylist()
    headline: dict[str, Any] = {
        "n_customers": n,
        "status_counts": {
            c["values"]: int(c["counts"]) for c in sorted(counts, key=lambda c: str(c["values"]))
        },
        "clv_basis": clv_basis,
        "clv_total": float(np.nansum(clv)),
        "clv_horizon_months": cfg.clv_horizon_months,
        "expected_purchases_total": float(np.nansum(expected)),
        "defection_model": winner,
        "high_value_at_risk": int(hvar.num_rows),
        "value_at_risk_total": float(np.nansum(hvar.column("value_at_risk").to_numpy())),
    }
    if margin_rate is not None and margin is not None:
        headline["clv_margin_filled"] = {"customers": margin_filled, "margin_rate": fill}
    if evaluation is not None:
        headline["holdout"] = {
            **evaluation.metrics,
            "conditional_expectation": evaluation.conditional.to_pylist(),
            "tracking": _tracking_columns(evaluation.tracking),
        }
    return LifetimeResult(
        customers=customers,
        models=models,
        high_value_at_risk=hvar,
        evaluation=evaluation,
        defection=defection,
        headline=headline,
        warnings=warnings,
    )
