"""Which transaction model gives P(alive), expected purchases and CLV: chosen per run.

The candidates (``[lifetime] candidate_models``: BG/NBD, MBG/NBD, Pareto/NBD) are each fitted
on the whole history. A candidate is left out, with the reason, when it cannot be fitted,
when its fit is degenerate (a parameter ran off, or its dropout process vanished so that
nobody would ever leave: see :mod:`tierwise.lifetime._fitting`) or
when it gives no finite forecast for some customer over the horizons the stage uses.

Among the others:

- with ``transaction_model = "auto"`` and a history of at least twice the holdout, each is
  refitted on the calibration period and scored on the holdout by the mean Poisson deviance
  of each customer's forecast against their actual purchases (lower is better; see
  :mod:`tierwise.lifetime.holdout`); the best one is used. A candidate whose calibration fit
  fails ranks after the scored ones;
- with a shorter history, the one with the lowest AIC (``2k - 2 log L``) on the whole
  history is used;
- with ``transaction_model`` naming a model, that one is used when it can be, else the next
  usable candidate in the listed order, with a warning.

BG/NBD gives every customer without a repeat purchase P(alive) = 1, however long ago they
bought; on data with many one-off buyers MBG/NBD or Pareto/NBD usually forecast the holdout
better and are chosen. Where BG/NBD is used all the same, the lifetime stage gives those
customers the observed repeat share instead (:mod:`tierwise.lifetime.oneoff`, ``[lifetime]
one_off_buyers``). When no candidate can be used, expected purchases and lifetime value
are empty and P(alive) comes from each customer's own rhythm
(:func:`tierwise.lifetime.status.rhythm_p_alive`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from ..engine import Engine
from ..errors import ModelError
from ..settings.lifetime import LifetimeSettings
from ._fitting import MODEL_LABELS, DegenerateFitError, LikelihoodModel, params_text
from .bgnbd import BetaGeoModel
from .clv import DAYS_PER_MONTH
from .holdout import HoldoutEvaluation, evaluate_holdout, holdout_data, with_tracking
from .mbgnbd import ModifiedBetaGeoModel
from .paretonbd import ParetoNBDModel
from .summary import CustomerDays

__all__ = ["ModelChoice", "choose_transaction_model", "transaction_model"]

_CLASSES: dict[str, type[LikelihoodModel]] = {
    "bgnbd": BetaGeoModel,
    "mbgnbd": ModifiedBetaGeoModel,
    "pareto_nbd": ParetoNBDModel,
}


def transaction_model(name: str, settings: LifetimeSettings) -> LikelihoodModel:
    """An unfitted transaction model of that name with the stage's hyper-parameters."""
    return _CLASSES[name](
        max_iter=settings.max_iter,
        tol=settings.tol,
        max_shape=settings.max_shape_parameter,
        time_unit=settings.time_unit,
    )


@dataclass
class ModelChoice:
    """The outcome of :func:`choose_transaction_model`.

    Attributes
    ----------
    model
        The model used, fitted on the whole history (``None`` when no candidate can be).
    method
        "holdout", "fit" (AIC), "setting" or "none".
    reason
        One sentence: which model and why.
    candidates
        Per candidate: model, status ("used", "usable", "left out"), reason, params,
        log_likelihood, aic and, where scored, the holdout metrics.
    evaluation
        The holdout evaluation of the model used (``None`` without one).
    warnings
        Candidates left out and models replaced, each with the setting that changes it.
    fitted
        The usable candidates fitted on the whole history, by name.
    """

    model: LikelihoodModel | None
    method: str
    reason: str
    candidates: list[dict[str, Any]]
    evaluation: HoldoutEvaluation | None = None
    warnings: list[str] = field(default_factory=list)
    fitted: dict[str, LikelihoodModel] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        """Name of the model used."""
        return self.model.name if self.model is not None else None

    def to_manifest(self) -> dict[str, Any]:
        """The choice as the manifest records it."""
        return {
            "model": self.name,
            "method": self.method,
            "reason": self.reason,
            "candidates": self.candidates,
        }


def _forecast_problem(
    model: LikelihoodModel, summary: pa.Table, settings: LifetimeSettings
) -> str | None:
    """Why the fitted model's forecasts cannot be used (non-finite somewhere), or None."""
    per = 7.0 if settings.time_unit == "weeks" else 1.0
    m: Any = model
    with np.errstate(all="ignore"):
        checks = {
            "P(alive)": m.p_alive(summary),
            "expected purchases": m.expected_purchases(
                summary, settings.forecast_horizon_days / per
            ),
            "lifetime value": m.expected_purchases_if_alive(
                summary, settings.clv_horizon_months * DAYS_PER_MONTH / per
            ),
            "defection risk": m.p_no_purchase(summary, settings.defection_window_days / per),
        }
    bad = [k for k, v in checks.items() if not np.all(np.isfinite(v))]
    if not bad:
        return None
    params = params_text(m.params_)
    return (
        f"{model.name}: the fitted parameters ({params}) give no finite {bad[0]}; the data "
        "sit at the edge of what the model can identify"
    )


def choose_transaction_model(
    summary: pa.Table,
    tx: ir.Table | CustomerDays,
    as_of: dt.date,
    settings: LifetimeSettings,
    *,
    engine: Engine,
) -> ModelChoice:
    """Fit the candidates, leave out the unusable ones and choose (see the module docstring).

    Parameters
    ----------
    summary
        The whole history's summary (:func:`~tierwise.lifetime.rfm_summary` at ``as_of``).
    tx
        Canonical transactions, or their
        :class:`~tierwise.lifetime.summary.CustomerDays`, for the holdout.
    as_of
        The analysis date.
    settings
        The ``[lifetime]`` section.
    engine
        The engine that holds ``tx``.
    """
    cfg = settings
    names: list[str] = list(dict.fromkeys(cfg.candidate_models))
    if cfg.transaction_model != "auto" and cfg.transaction_model not in names:
        names.insert(0, cfg.transaction_model)
    rows: dict[str, dict[str, Any]] = {}
    usable: dict[str, LikelihoodModel] = {}
    for name in names:
        row: dict[str, Any] = {"model": name, "status": "left out"}
        rows[name] = row
        model = transaction_model(name, cfg)
        try:
            model.fit(summary)
        except DegenerateFitError as exc:
            row.update(reason=str(exc), params=exc.params)
            continue
        except ModelError as exc:
            row["reason"] = str(exc)
            continue
        fitted: Any = model
        row.update(
            params=fitted.params_,
            log_likelihood=fitted.log_likelihood_,
            aic=2 * len(model.param_names) - 2 * fitted.log_likelihood_,
        )
        problem = _forecast_problem(model, summary, cfg)
        if problem is not None:
            row["reason"] = problem
            continue
        row["status"] = "usable"
        usable[name] = model

    # the holdout scores
    hold = cfg.holdout_days or cfg.defection_window_days
    split = as_of - dt.timedelta(days=hold)
    first = summary.column("first_date")
    start = min(first.to_pylist()) if summary.num_rows else None
    long_enough = start is not None and (split - start).days >= hold
    evaluations: dict[str, HoldoutEvaluation] = {}
    holdout_note = ""
    if usable and long_enough:
        try:
            data = holdout_data(tx, split, as_of, engine=engine, time_unit=cfg.time_unit)
        except ModelError as exc:
            holdout_note = str(exc)
        else:
            for key, model in usable.items():
                try:
                    evaluations[key] = evaluate_holdout(
                        model, data, max_x=cfg.holdout_max_x, tracking=False
                    )
                    rows[key]["holdout"] = evaluations[key].metrics
                except ModelError as exc:
                    rows[key]["holdout_reason"] = str(exc)
    elif usable:
        holdout_note = f"the history is shorter than twice the {hold}-day holdout"

    failed = [n for n in usable if "holdout_reason" in rows[n]]
    if usable and not evaluations and failed and not holdout_note:
        # every holdout fit failed: the choice falls back to the fit, which is said
        holdout_note = (
            "the holdout fit failed ("
            + "; ".join(f"{MODEL_LABELS[n]}: {rows[n]['holdout_reason']}" for n in failed)
            + ")"
        )
    order = [n for n in names if n in usable]
    aic = {n: rows[n]["aic"] for n in order}
    scored = [n for n in order if n in evaluations]
    if cfg.transaction_model != "auto":
        method = "setting"
        ranked = order  # the named model first, then the listed order
    elif scored:
        method = "holdout"
        dev = {n: evaluations[n].metrics["poisson_deviance"] for n in scored}
        ranked = sorted(scored, key=lambda n: (dev[n], names.index(n)))
        ranked += sorted((n for n in order if n not in scored), key=lambda n: aic[n])
    else:
        method = "fit"
        ranked = sorted(order, key=lambda n: (aic[n], names.index(n)))

    warnings: list[str] = []
    left_out = [n for n in names if n not in usable]
    for n in left_out:
        warnings.append(f"{MODEL_LABELS[n]} left out: {rows[n]['reason']}")
    if not ranked:
        return ModelChoice(
            model=None,
            method="none",
            reason="no transaction model could be used; expected purchases and lifetime value "
            "are empty, P(alive) comes from each customer's rhythm",
            candidates=list(rows.values()),
            warnings=[
                *warnings,
                "no transaction model could be used: expected purchases and lifetime value "
                "are empty (set [lifetime] candidate_models to try others)",
            ],
        )
    chosen = ranked[0]
    rows[chosen]["status"] = "used"
    if chosen in evaluations:
        evaluations[chosen] = with_tracking(evaluations[chosen], data)
    label = MODEL_LABELS[chosen]
    if method == "setting":
        if chosen == cfg.transaction_model:
            reason = f"{label}: set by [lifetime] transaction_model"
        else:
            reason = (
                f"{label} in place of {MODEL_LABELS[cfg.transaction_model]}, which could not "
                "be used"
            )
    elif method == "holdout":
        others = ", ".join(
            f"{MODEL_LABELS[n]} {evaluations[n].metrics['poisson_deviance']:.4f}"
            for n in ranked[1:]
            if n in evaluations
        )
        reason = (
            f"{label}: lowest holdout Poisson deviance "
            f"({evaluations[chosen].metrics['poisson_deviance']:.4f}"
            + (f"; {others}" if others else "")
            + f") forecasting {split + dt.timedelta(days=1)}..{as_of}"
        )
    else:
        others = ", ".join(f"{MODEL_LABELS[n]} {aic[n]:,.1f}" for n in ranked[1:])
        reason = (
            f"{label}: lowest AIC ({aic[chosen]:,.1f}"
            + (f"; {others}" if others else "")
            + ")"
            + (f"; no holdout: {holdout_note}" if holdout_note else "")
        )
    if method == "fit" and holdout_note:
        warnings.append(
            f"transaction model chosen by fit, not by a holdout forecast: {holdout_note} "
            "(set [lifetime] holdout_days for a shorter holdout)"
        )
    if left_out:
        warnings.append(
            f"P(alive), expected purchases and lifetime value from {reason} (set [lifetime] "
            "transaction_model or candidate_models to choose)"
        )
    return ModelChoice(
        model=usable[chosen],
        method=method,
        reason=reason,
        candidates=[rows[n] for n in names],
        evaluation=evaluations.get(chosen),
        warnings=warnings,
        fitted=usable,
    )
