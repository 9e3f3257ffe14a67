"""Calibration/holdout evaluation of the transaction models.

Split at a date: fit on the calibration period, then compare with what happened in the
holdout period, per customer and in aggregate:

- per customer: predicted and actual repeat purchase days in the holdout, P(alive) and
  whether they bought;
- the conditional-expectation table: mean predicted and actual holdout purchases by
  calibration frequency (x = 0, 1, ..., ``max_x``+);
- the tracking data: actual and expected cumulative repeat purchases by period (week or
  day) over calibration and holdout, for the customers first seen in the calibration period;
- AUC of P(alive), and of the expected purchases, against "bought in the holdout", the
  aggregate forecast error, and the mean Poisson deviance of each customer's predicted
  against actual holdout purchases (a proper score of a forecast mean: it rewards the
  right expected count for every customer, so a model that keeps long-silent one-off
  buyers alive scores worse). (BG/NBD gives P(alive) = 1 to every customer without a
  repeat purchase, so its P(alive) ranks poorly on data with many one-off buyers.)

The engine work (the calibration summary, the holdout purchases, the purchases per tracking
period) is done once by :func:`holdout_data`; :func:`evaluate_holdout` then scores any
number of models on it in NumPy. This is the evaluation of Fader, Hardie and Lee (2005),
figures 2-4.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.metrics import mean_poisson_deviance, roc_auc_score

from ..engine import Engine
from ..errors import ModelError
from ._fitting import LikelihoodModel, params_text
from .bgnbd import BetaGeoModel
from .mbgnbd import ModifiedBetaGeoModel
from .paretonbd import ParetoNBDModel
from .summary import CustomerDays, purchase_days, rfm_summary

__all__ = [
    "HoldoutData",
    "HoldoutEvaluation",
    "evaluate_holdout",
    "holdout_data",
    "holdout_evaluation",
]

_MODELS: dict[str, type[LikelihoodModel]] = {
    "bgnbd": BetaGeoModel,
    "mbgnbd": ModifiedBetaGeoModel,
    "pareto_nbd": ParetoNBDModel,
}


@dataclass
class HoldoutData:
    """What the engine computes once for a calibration/holdout split.

    Attributes
    ----------
    calibration
        The summary at ``split`` (:func:`~tierwise.lifetime.rfm_summary`).
    actual
        Repeat purchase days in the holdout per calibration customer (same order).
    period_purchases
        Repeat purchase days of the calibration cohort per tracking period.
    split, end
        Last day of the calibration and of the holdout period.
    time_unit
        ``"days"`` or ``"weeks"``.
    """

    calibration: pa.Table
    actual: np.ndarray
    period_purchases: np.ndarray
    split: dt.date
    end: dt.date
    time_unit: str

    @property
    def per(self) -> float:
        """Days per time unit."""
        return 7.0 if self.time_unit == "weeks" else 1.0


@dataclass
class HoldoutEvaluation:
    """Result of :func:`evaluate_holdout`.

    Attributes
    ----------
    customers
        customer_id, x, t_x, T, predicted, actual, p_alive, bought.
    conditional
        x (calibration repeat purchases, the last bucket "max_x or more"), n_customers,
        predicted (mean), actual (mean).
    tracking
        period (index from the first calibration day), period_start, actual_cumulative,
        predicted_cumulative, in_holdout (``None`` when not asked for).
    metrics
        model, split, end, n_customers, predicted_total, actual_total, relative_error,
        auc_p_alive, auc_expected_purchases, mean_absolute_error, poisson_deviance.
    model
        The transaction model fitted on the calibration period.
    time_unit
        The time unit of ``x``, ``t_x`` and ``T`` (``"days"`` or ``"weeks"``).
    """

    customers: pa.Table
    conditional: pa.Table
    tracking: pa.Table | None
    metrics: dict[str, Any]
    model: Any
    time_unit: str = "weeks"


def holdout_data(
    tx: ir.Table | CustomerDays,
    split: dt.date,
    end: dt.date,
    *,
    engine: Engine,
    time_unit: Literal["days", "weeks"] = "weeks",
    start: dt.date | None = None,
) -> HoldoutData:
    """The calibration summary and what happened in the holdout, from the engine.

    ``tx`` are canonical transactions or their
    :class:`~tierwise.lifetime.summary.CustomerDays`.

    Raises
    ------
    ModelError
        When the holdout does not end after the split or nobody bought by the split.
    """
    if end <= split:
        raise ModelError("holdout evaluation: the holdout must end after the split date")
    cal = rfm_summary(tx, split, engine=engine, time_unit=time_unit, start=start)
    if cal.num_rows == 0:
        raise ModelError(f"holdout evaluation: no purchases on or before {split}")
    days = purchase_days(tx, start=start)
    hold = days.filter((days.date > ibis.literal(split)) & (days.date <= ibis.literal(end)))
    counts = engine.to_arrow(
        hold.group_by("customer_id").aggregate(n=hold.date.count()), "holdout purchases"
    )
    ids = cal.column("customer_id")
    found = pc.take(counts.column("n"), pc.index_in(ids, value_set=counts.column("customer_id")))
    actual = np.asarray(
        pc.fill_null(pc.cast(found, pa.float64()), 0.0).to_numpy(zero_copy_only=False),
        dtype=np.float64,
    )
    per = 7.0 if time_unit == "weeks" else 1.0
    return HoldoutData(
        calibration=cal,
        actual=actual,
        period_purchases=_period_purchases(days, cal, split=split, end=end, per=per, engine=engine),
        split=split,
        end=end,
        time_unit=time_unit,
    )


def evaluate_holdout(
    model: LikelihoodModel, data: HoldoutData, *, max_x: int = 7, tracking: bool = True
) -> HoldoutEvaluation:
    """Fit ``model`` (a clone of it) on the calibration period and score it on the holdout.

    ``tracking`` off leaves out the tracking table (the expected cumulative purchases of the
    cohort period by period, the costliest part for a model that is only being scored).

    Raises
    ------
    ModelError
        When the model cannot be fitted on the calibration period or gives no finite
        forecast there (named "holdout evaluation: <model>").
    """
    from sklearn.base import clone

    cal = data.calibration
    m = clone(model)
    try:
        m.fit(cal)
    except ModelError as exc:
        raise ModelError(f"holdout evaluation: {exc}") from exc
    x, t_x, T = (np.asarray(cal.column(k).to_numpy(), dtype=np.float64) for k in ("x", "t_x", "T"))
    horizon = (data.end - data.split).days / data.per
    predicted = m.expected_purchases(cal, horizon)
    p_alive = m.p_alive(cal)
    if not (np.isfinite(predicted).all() and np.isfinite(p_alive).all()):
        params = params_text(m.params_)
        raise ModelError(
            f"holdout evaluation: {m.name} fitted to {data.split} ({params}) gives no finite "
            "forecast; the calibration data sit at the edge of what the model can identify"
        )
    actual = data.actual
    bought = (actual > 0).astype(np.int64)
    customers = pa.table(
        {
            "customer_id": cal.column("customer_id"),
            "x": x,
            "t_x": t_x,
            "T": T,
            "predicted": predicted,
            "actual": actual,
            "p_alive": p_alive,
            "bought": bought,
        }
    )

    bucket = np.minimum(x, max_x).astype(np.int64)
    n_b = np.bincount(bucket, minlength=max_x + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pred = np.bincount(bucket, predicted, max_x + 1) / n_b
        mean_act = np.bincount(bucket, actual, max_x + 1) / n_b
    cond = pa.table(
        {
            "x": np.arange(max_x + 1),
            "n_customers": n_b,
            "predicted": pa.array(mean_pred, from_pandas=True),
            "actual": pa.array(mean_act, from_pandas=True),
        }
    )
    track = _tracking(data, m) if tracking else None
    both = 0 < bought.sum() < len(bought)
    auc = float(roc_auc_score(bought, p_alive)) if both else None
    auc_expected = float(roc_auc_score(bought, predicted)) if both else None
    pt, at = float(predicted.sum()), float(actual.sum())
    metrics = {
        "model": m.name,
        "split": str(data.split),
        "end": str(data.end),
        "n_customers": len(x),
        "predicted_total": pt,
        "actual_total": at,
        "relative_error": (pt - at) / at if at > 0 else None,
        "auc_p_alive": auc,
        "auc_expected_purchases": auc_expected,
        "mean_absolute_error": float(np.mean(np.abs(predicted - actual))),
        "poisson_deviance": float(mean_poisson_deviance(actual, np.maximum(predicted, 1e-12))),
    }
    return HoldoutEvaluation(customers, cond, track, metrics, m, data.time_unit)


def holdout_evaluation(
    tx: ir.Table | CustomerDays,
    split: dt.date,
    end: dt.date,
    *,
    engine: Engine,
    model: Literal["bgnbd", "pareto_nbd", "mbgnbd"] | LikelihoodModel = "bgnbd",
    time_unit: Literal["days", "weeks"] = "weeks",
    start: dt.date | None = None,
    max_x: int = 7,
) -> HoldoutEvaluation:
    """Fit on ``[start, split]`` and compare predictions with ``(split, end]``.

    Parameters
    ----------
    tx
        Canonical transactions.
    split
        Last day of the calibration period.
    end
        Last day of the holdout period.
    model
        The transaction model to evaluate: a name or an (unfitted) estimator.
    time_unit
        Time unit of the model; also the tracking period (week or day).
    start
        Ignore transactions before this day.
    max_x
        Last bucket of the conditional-expectation table.

    Examples
    --------
    See ``tests/validation/test_cdnow.py``: on CDNOW, fitted to 1997-09-30 and compared to
    1998-06-30.
    """
    est = _MODELS[model](time_unit=time_unit) if isinstance(model, str) else model
    data = holdout_data(tx, split, end, engine=engine, time_unit=time_unit, start=start)
    return evaluate_holdout(est, data, max_x=max_x)


def _period_purchases(
    days: ir.Table,
    cal: pa.Table,
    *,
    split: dt.date,
    end: dt.date,
    per: float,
    engine: Engine,
) -> np.ndarray:
    """Repeat purchase days of the calibration cohort per tracking period (week or day)."""
    first_dates = cal.column("first_date").to_numpy(zero_copy_only=False).astype("datetime64[D]")
    origin = first_dates.min()
    origin_date = dt.date.fromisoformat(str(origin))
    step = int(per)
    n_periods = int(np.ceil(((np.datetime64(end) - origin).astype(int) + 1) / step))
    # actual: repeat purchase days per period (a day after the customer's first day)
    d = days.filter(days.date <= ibis.literal(end))
    first = d.date.min().over(group_by=d.customer_id)
    d = d.mutate(first=first)
    d = d.filter((d.date > d.first) & (d.first <= ibis.literal(split)))
    d = d.mutate(period=(d.date.delta(ibis.literal(origin_date), unit="day") // step))
    per_period = engine.to_arrow(
        d.group_by("period").aggregate(n=d.date.count()), "tracking purchases"
    )
    actual = np.zeros(n_periods)
    idx = np.asarray(per_period.column("period").to_numpy(), dtype=np.int64)
    actual[idx] = np.asarray(per_period.column("n").to_numpy(), dtype=np.float64)
    return actual


def with_tracking(evaluation: HoldoutEvaluation, data: HoldoutData) -> HoldoutEvaluation:
    """The evaluation with its tracking table (computed if it was left out)."""
    if evaluation.tracking is not None:
        return evaluation
    return replace(evaluation, tracking=_tracking(data, evaluation.model))


def _tracking(data: HoldoutData, model: Any) -> pa.Table:
    """Cumulative repeat purchases by period, actual and expected, for the calibration cohort."""
    first_dates = (
        data.calibration.column("first_date").to_numpy(zero_copy_only=False).astype("datetime64[D]")
    )
    origin = first_dates.min()
    step = int(data.per)
    n_periods = len(data.period_purchases)
    # expected: sum over customers of E[X(t - first)] at each period end
    offsets, counts = np.unique((first_dates - origin).astype(np.int64), return_counts=True)
    ends = (np.arange(n_periods) + 1) * step  # days since origin at each period end
    age = (ends[:, None] - offsets[None, :]) / data.per
    ex = np.where(age > 0, model_unconditional(model, np.maximum(age, 0.0)), 0.0)
    predicted = ex @ counts
    starts = origin + np.arange(n_periods) * step
    return pa.table(
        {
            "period": np.arange(n_periods),
            "period_start": pa.array(starts.astype("datetime64[D]"), pa.date32()),
            "actual_cumulative": np.cumsum(data.period_purchases),
            "predicted_cumulative": predicted,
            "in_holdout": starts > np.datetime64(data.split),
        }
    )


def model_unconditional(model: Any, t: np.ndarray) -> np.ndarray:
    """Expected repeat purchases in (0, t] of a new customer, for any of the models."""
    if isinstance(model, BetaGeoModel):
        return model.expected_purchases_new(t)
    r, alpha, s, beta = (model.params_[k] for k in ("r", "alpha", "s", "beta"))
    # Schmittlein et al. (1987): E[X(t)] = r beta / (alpha (s - 1)) [1 - (beta/(beta+t))^(s-1)]
    lr = np.log(beta + t) - np.log(beta)
    frac = lr if abs(s - 1) < 1e-10 else -np.expm1(-(s - 1) * lr) / (s - 1)
    return r * beta / alpha * frac
