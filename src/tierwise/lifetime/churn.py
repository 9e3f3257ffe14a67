"""Supervised defection model: will the customer make no purchase in the next window?

Features are computed in the engine at a cutoff date ``c`` from the transactions before it
(purchases net of their paired cancellations): recency, tenure, frequency (all time and in
the last year), trend (last year against the year before), seasonality (purchases in the
same window one year earlier), spend, usual gap and recency over gap, and two behaviour
figures of the last year from the invoice lines: the gross margin rate (where the lines
carry a cost) and the share of revenue returned. "The last year" is
``[lifetime] defection_lookback_days`` (365). The label is "no purchase day in
``(c, c + window]``".

Every feature is computed *as of the cutoff*: a figure computed at the analysis date (such as
the profitability stage's net margin, which is missing exactly for customers who did not buy
in the last year) would tell the model the validation labels and let it win the comparison
unfairly, so none is used.

Time-split validation: the model is trained at ``c = as_of - 2 * window`` (labels observed up
to ``as_of - window``) and scored at ``c = as_of - window`` (labels observed up to
``as_of``), against the stage's transaction model (BG/NBD, MBG/NBD or Pareto/NBD) fitted on
the same history (its ``1 - P(alive)`` and its probability of no purchase in the window).
AUC and Brier score are reported; the model with the lower Brier score (a proper scoring
rule, which rewards calibration) wins. The final supervised model is refitted at
``as_of - window`` and applied at ``as_of``.

The classifier is scikit-learn's HistGradientBoostingClassifier wrapped in
CalibratedClassifierCV, so its probabilities are calibrated; its hyper-parameters are the
``[lifetime] defection_*`` settings.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score
from threadpoolctl import threadpool_limits

from .._threads import in_background
from ..engine import Engine, exact_sum
from ..errors import ModelError
from ..settings.lifetime import LifetimeSettings
from ._fitting import MODEL_LABELS, DegenerateFitError, LikelihoodModel, check_fitted
from .holdout import HoldoutEvaluation
from .summary import CustomerDays, as_days, purchase_days

__all__ = [
    "FEATURES",
    "DefectionComparison",
    "DefectionModel",
    "SupervisedHoldout",
    "compare_defection_models",
    "defection_features",
    "start_supervised_holdout",
]

#: Feature columns of the supervised model.
FEATURES = (
    "recency_days",
    "tenure_days",
    "n_days",
    "n_last_year",
    "n_year_before",
    "trend",
    "n_same_window_last_year",
    "revenue_last_year",
    "mean_value",
    "gap_days",
    "recency_ratio",
    "margin_rate_last_year",
    "return_rate_last_year",
)


def defection_features(
    tx: ir.Table | CustomerDays,
    cutoff: dt.date,
    window_days: int,
    *,
    lookback_days: int = 365,
    with_label: bool = True,
) -> ir.Table:
    """Per-customer features at ``cutoff`` (and the label), as an Ibis expression.

    Customers are those with a purchase day on or before ``cutoff``. ``defected`` is 1 when
    the customer has no purchase day in ``(cutoff, cutoff + window_days]``. Only
    transactions on or before ``cutoff`` enter the features; ``lookback_days`` is their
    "last year". ``tx`` are canonical transactions or their
    :class:`~tierwise.lifetime.summary.CustomerDays`.
    """
    per_day = as_days(tx)
    days = purchase_days(per_day)
    c = ibis.literal(cutoff)
    hist = days.filter(days.date <= c)
    age = c.delta(hist.date, unit="day")
    year = int(lookback_days)
    win = int(window_days)
    g = hist.group_by("customer_id").aggregate(
        first_date=hist.date.min(),
        last_date=hist.date.max(),
        n_days=hist.date.count().cast("float64"),
        n_last_year=(age < year).cast("float64").sum(),
        n_year_before=((age >= year) & (age < 2 * year)).cast("float64").sum(),
        n_same_window_last_year=((age < year) & (age >= year - win)).cast("float64").sum(),
        revenue_last_year=exact_sum(ibis.ifelse(age < year, hist.value, 0.0)),
        revenue=exact_sum(hist.value),
    )
    span = g.last_date.delta(g.first_date, unit="day").cast("float64")
    gap = ibis.ifelse(g.n_days > 1, span / (g.n_days - 1), ibis.null("float64"))
    rec = c.delta(g.last_date, unit="day").cast("float64")
    lines = _line_behaviour(per_day, cutoff, year)
    out = g.left_join(lines, "customer_id").select(
        customer_id=g.customer_id,
        recency_days=rec,
        tenure_days=c.delta(g.first_date, unit="day").cast("float64"),
        n_days=g.n_days,
        n_last_year=g.n_last_year,
        n_year_before=g.n_year_before,
        trend=g.n_last_year - g.n_year_before,
        n_same_window_last_year=g.n_same_window_last_year,
        revenue_last_year=g.revenue_last_year,
        mean_value=g.revenue / g.n_days,
        gap_days=gap,
        recency_ratio=rec / ibis.greatest(gap, 1.0),
        margin_rate_last_year=lines.margin_rate_last_year,
        return_rate_last_year=lines.return_rate_last_year,
    )
    if with_label:
        future = days.filter((days.date > c) & (days.date <= c.add(ibis.interval(days=win))))
        bought = future.group_by("customer_id").aggregate(n_future=future.date.count())
        out = out.left_join(bought, "customer_id").select(
            *[out[k] for k in out.columns],
            defected=ibis.ifelse(bought.n_future.fill_null(0) > 0, 0, 1).cast("int64"),
        )
    return out.order_by("customer_id")


def _line_behaviour(days: CustomerDays, cutoff: dt.date, span: int) -> ir.Table:
    """Gross margin rate and returned share of revenue per customer over ``span`` days
    before ``cutoff``, from the invoice lines (purchases net of their cancellations) summed
    per day.

    ``margin_rate_last_year`` = (revenue - cost) / revenue over the purchase lines that carry
    a cost (NULL without any); ``return_rate_last_year`` = returned revenue (returns and
    unpaired cancellations) / purchase revenue.
    """
    c = ibis.literal(cutoff)
    t = days.table
    t = t.filter((t.date <= c) & (c.delta(t.date, unit="day") < span))
    metrics: dict[str, Any] = {"sales": exact_sum(t.revenue), "returned": exact_sum(t.returned)}
    if days.has_cost:
        metrics["costed_sales"] = exact_sum(t.costed_revenue)
        metrics["cost"] = exact_sum(t.cost)
    a = t.group_by("customer_id").aggregate(**metrics)
    none = ibis.null("float64")
    margin = (
        ibis.ifelse(a.costed_sales > 0, (a.costed_sales - a.cost) / a.costed_sales, none)
        if days.has_cost
        else none
    )
    return a.select(
        customer_id=a.customer_id,
        margin_rate_last_year=margin,
        return_rate_last_year=ibis.ifelse(a.sales > 0, a.returned / a.sales, none),
    )


def _column(table: pa.Table, name: str) -> np.ndarray:
    col = pc.fill_null(pc.cast(table.column(name), pa.float64()), np.nan)
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def _matrix(table: pa.Table) -> np.ndarray:
    """The feature matrix (columns in the order of :data:`FEATURES`; NULL becomes NaN)."""
    return np.column_stack([_column(table, f) for f in FEATURES])


def _one_thread() -> Any:
    """Gradient boosting on one OpenMP thread, whatever the data size.

    OpenMP's threads wait for each other by spinning at every tree node: on a machine whose
    cores are busy with other work (the engine's threads, other processes) a multi-threaded
    fit takes many times the wall time and the CPU of a one-thread fit, and on an idle
    machine it gains little next to the rest of the stage. One thread also adds the rows'
    gradients in one order on every machine, so the fitted model does not depend on the
    number of cores.
    """
    return threadpool_limits(limits=1, user_api="openmp")


class DefectionModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Calibrated gradient-boosting classifier of "no purchase in the next window".

    A scikit-learn classifier: ``fit(X, y)`` with ``X`` the features of
    :data:`FEATURES` (an (n, 13) array-like in that order, or a table with those columns;
    NaN for a missing value) and ``y`` 1 for a customer who defected, 0 otherwise;
    ``predict_proba(X)[:, 1]`` is the defection risk.

    Parameters
    ----------
    max_iter, learning_rate, max_leaf_nodes, l2_regularization
        Of scikit-learn's HistGradientBoostingClassifier.
    calibration, calibration_folds
        Calibration method ("isotonic" or "sigmoid") and its cross-validation folds.
    random_state
        Seed of the boosting and of the calibration folds.

    Attributes
    ----------
    model_ : CalibratedClassifierCV
    classes_ : ndarray
        ``[0, 1]``.
    empty_features_ : ndarray of bool
        Features missing for every training row (set to a constant: the binning of gradient
        boosting fails on an all-missing column and it carries no information).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, len(FEATURES)))
    >>> y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
    >>> p = DefectionModel().fit(X, y).predict_proba(X)[:, 1]
    >>> bool(0 <= p.min() and p.max() <= 1)
    True
    """

    def __init__(
        self,
        *,
        max_iter: int = 100,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 15,
        l2_regularization: float = 1.0,
        calibration: str = "isotonic",
        calibration_folds: int = 3,
        random_state: int | None = 42,
    ):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.l2_regularization = l2_regularization
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.random_state = random_state

    @classmethod
    def from_settings(cls, settings: LifetimeSettings, seed: int) -> DefectionModel:
        """The model with the ``[lifetime] defection_*`` hyper-parameters."""
        return cls(
            max_iter=settings.defection_max_iter,
            learning_rate=settings.defection_learning_rate,
            max_leaf_nodes=settings.defection_max_leaf_nodes,
            l2_regularization=settings.defection_l2_regularization,
            calibration=settings.defection_calibration,
            calibration_folds=settings.defection_calibration_folds,
            random_state=seed,
        )

    def fit(self, X: Any, y: Any) -> DefectionModel:
        """Fit on the features ``X`` and the 0/1 labels ``y`` (1 = defected)."""
        Xa = _as_matrix(X)
        ya = np.asarray(y, dtype=np.int64).reshape(-1)
        if len(ya) != len(Xa):
            raise ModelError("defection model: X and y have different lengths")
        if len(np.unique(ya)) < 2:
            raise ModelError("defection model: every customer has the same outcome")
        base = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            l2_regularization=self.l2_regularization,
            random_state=self.random_state,
        )
        self.empty_features_ = np.all(np.isnan(Xa), axis=0)
        Xa = self._constant_empty(Xa)
        with _one_thread():
            self.model_ = CalibratedClassifierCV(
                base, method=self.calibration, cv=self.calibration_folds
            ).fit(Xa, ya)
        self.classes_ = self.model_.classes_
        self.n_features_in_ = Xa.shape[1]
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of ``[stay, defect]`` for each row."""
        check_fitted(self, "model_")
        Xa = self._constant_empty(_as_matrix(X))
        with _one_thread():
            return np.asarray(self.model_.predict_proba(Xa), dtype=np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """1 where defection is the likelier outcome."""
        return (self.predict_proba(X)[:, 1] > 0.5).astype(np.int64)

    def _constant_empty(self, X: np.ndarray) -> np.ndarray:
        if not self.empty_features_.any():
            return X
        X = np.array(X, dtype=np.float64, copy=True)
        X[:, self.empty_features_] = 0.0
        return X


def _as_matrix(X: Any) -> np.ndarray:
    """The feature matrix from an array-like or a table with the :data:`FEATURES` columns
    (NULL becomes NaN)."""
    if isinstance(X, pa.Table):
        return _matrix(X)
    if hasattr(X, "columns") and not isinstance(X, np.ndarray):  # pandas, Polars
        return np.column_stack([np.asarray(X[f], dtype=np.float64) for f in FEATURES])
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2:
        raise ModelError(f"defection model: X must be 2-d, not shape {arr.shape}")
    return arr


@dataclass
class DefectionComparison:
    """Holdout comparison of the defection models.

    ``table`` has one row per model with ``auc`` and ``brier``; ``winner`` is the model
    used for ``defection_risk``; ``supervised`` is the refitted model (``None`` when the
    transaction model wins).
    """

    table: pa.Table
    winner: str
    reason: str
    supervised: DefectionModel | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _fitted_at(
    calibration: HoldoutEvaluation | None,
    model: LikelihoodModel,
    cutoff: dt.date,
    time_unit: str,
) -> tuple[Any, pa.Table] | None:
    """The holdout evaluation's calibration fit and summary when they are ``model`` fitted
    on the history up to ``cutoff`` in ``time_unit``, else None."""
    if calibration is None or calibration.time_unit != time_unit:
        return None
    fitted = calibration.model
    same = type(fitted) is type(model) and fitted.get_params() == model.get_params()
    if not same or calibration.metrics.get("split") != str(cutoff):
        return None
    return fitted, calibration.customers


@dataclass
class SupervisedHoldout:
    """The supervised side of the time-split comparison, started by
    :func:`start_supervised_holdout`: the features from the engine, the model's fit and its
    validation probabilities in a thread of their own.

    ``val`` are the features (with the labels ``y_val``) at the validation cutoff; ``fitted``
    the future of the model fitted at the training cutoff and its probabilities on ``val``.
    """

    val: pa.Table
    y_val: np.ndarray
    fitted: Future[tuple[DefectionModel, np.ndarray]]


def _fit_supervised(
    settings: LifetimeSettings, seed: int, X: np.ndarray, y: np.ndarray, X_val: np.ndarray
) -> tuple[DefectionModel, np.ndarray]:
    sup = DefectionModel.from_settings(settings, seed).fit(X, y)
    return sup, sup.predict_proba(X_val)[:, 1]


def start_supervised_holdout(
    tx: ir.Table | CustomerDays,
    as_of: dt.date,
    settings: LifetimeSettings,
    *,
    engine: Engine,
    seed: int = 42,
) -> SupervisedHoldout:
    """Read the features at both cutoffs from the engine and start the supervised model's
    fit and validation in the background (a thread of their own: gradient boosting runs
    outside Python's lock, and uses neither the engine nor the BLAS threads, so the caller
    goes on with other work meanwhile).

    Raises
    ------
    ModelError
        When the history is too short or too few customers to train on, or every holdout
        customer has the same outcome. (A failing fit raises when its result is asked for.)
    """
    w = settings.defection_window_days
    back = settings.defection_lookback_days
    c_train = as_of - dt.timedelta(days=2 * w)
    c_val = as_of - dt.timedelta(days=w)
    train = engine.to_arrow(
        defection_features(tx, c_train, w, lookback_days=back), "defection features"
    )
    if train.num_rows < settings.min_training_customers:
        raise ModelError(
            f"defection model: {train.num_rows} customers before {c_train}, fewer than "
            f"min_training_customers = {settings.min_training_customers}"
        )
    val = engine.to_arrow(
        defection_features(tx, c_val, w, lookback_days=back), "defection features"
    )
    y_train = np.asarray(train.column("defected").to_numpy(), dtype=np.int64)
    y_val = np.asarray(val.column("defected").to_numpy(), dtype=np.int64)
    if len(np.unique(y_val)) < 2:
        raise ModelError("defection model: every holdout customer has the same outcome")
    fitted = in_background(
        _fit_supervised,
        settings,
        seed,
        _matrix(train),
        y_train,
        _matrix(val),
        name="tierwise-defection",
    )
    return SupervisedHoldout(val, y_val, fitted)


def compare_defection_models(
    tx: ir.Table | CustomerDays,
    as_of: dt.date,
    settings: LifetimeSettings,
    *,
    engine: Engine,
    transaction_model: LikelihoodModel | None = None,
    seed: int = 42,
    calibration: HoldoutEvaluation | None = None,
    supervised: SupervisedHoldout | None = None,
) -> DefectionComparison:
    """Train the supervised model and compare it with the transaction model on a time-split
    holdout.

    ``transaction_model`` (unfitted or fitted: a clone is fitted on the history up to the
    validation cutoff; ``None`` compares nothing) gives its probability of no purchase in
    the window; it and the supervised probability are compared by Brier score and the lower
    one wins and gives ``defection_risk``. ``tx`` are canonical transactions or their
    :class:`~tierwise.lifetime.summary.CustomerDays`.

    ``calibration`` is the transaction model's own holdout evaluation
    (:func:`~tierwise.lifetime.holdout.evaluate_holdout`): when it split the history at the
    validation cutoff, in the same time unit, its model is that clone already fitted on the
    same summary, and it is used rather than fitted again.

    ``supervised`` is the supervised side already started by
    :func:`start_supervised_holdout` with the same arguments (else it is started here).

    Raises
    ------
    ModelError
        When the history is too short or too few customers to train on.
    """
    from .summary import rfm_summary  # local: avoid a cycle in type checkers

    w = settings.defection_window_days
    c_train = as_of - dt.timedelta(days=2 * w)
    c_val = as_of - dt.timedelta(days=w)
    if supervised is None:
        supervised = start_supervised_holdout(tx, as_of, settings, engine=engine, seed=seed)
    val, y_val = supervised.val, supervised.y_val
    _, p_sup = supervised.fitted.result()

    # the buy-till-you-die model on the same history, in the stage's time unit
    candidates: list[tuple[str, np.ndarray]] = [("supervised", p_sup)]
    failure = ""
    name = label = ""
    if transaction_model is not None:
        per = 7.0 if settings.time_unit == "weeks" else 1.0
        name = transaction_model.name
        label = MODEL_LABELS[name]
        fitted = _fitted_at(calibration, transaction_model, c_val, settings.time_unit)
        try:
            if fitted is not None:
                btyd, summ = fitted
            else:
                summ = rfm_summary(tx, c_val, engine=engine, time_unit=settings.time_unit)
                btyd = clone(transaction_model).fit(summ)
            # align the summary to the validation rows (both: customers who bought by c_val)
            summ = summ.take(
                pc.index_in(val.column("customer_id"), value_set=summ.column("customer_id"))
            )
            p_quiet = btyd.p_no_purchase(summ, w / per)
            p_dead = 1.0 - btyd.p_alive(summ)
            if not (np.isfinite(p_quiet).all() and np.isfinite(p_dead).all()):
                raise ModelError(f"{name}: no finite probabilities at the fitted parameters")
            candidates += [(f"{name}_p_no_purchase", p_quiet), (f"{name}_1_minus_p_alive", p_dead)]
        except (ModelError, DegenerateFitError) as exc:
            failure = str(exc)

    rows: list[dict[str, Any]] = []
    for model, p in candidates:
        rows.append(
            {
                "model": model,
                "auc": float(roc_auc_score(y_val, p)),
                "brier": float(brier_score_loss(y_val, p)),
                "n_customers": len(y_val),
                "defection_rate": float(y_val.mean()),
            }
        )
    table = pa.Table.from_pylist(rows)
    # the two candidates for defection_risk (1 - P(alive) is reported, not a candidate: it
    # is not a probability of no purchase in the window)
    sup_row = rows[0]
    head = (
        f"holdout {c_val}..{as_of}: supervised AUC {sup_row['auc']:.3f} "
        f"Brier {sup_row['brier']:.4f}"
    )
    if transaction_model is None:
        winner = "supervised"
        reason = f"{head}; no transaction model to compare -> supervised"
    elif failure:
        winner = "supervised"
        reason = f"{head}; {label} could not be fitted ({failure}) -> supervised"
    else:
        bg_row = rows[1]
        winner = "supervised" if sup_row["brier"] < bg_row["brier"] else name
        reason = (
            f"{head}; {label} AUC {bg_row['auc']:.3f} Brier {bg_row['brier']:.4f}"
            f" -> {winner} (lower Brier)"
        )
    final = (
        DefectionModel.from_settings(settings, seed).fit(_matrix(val), y_val)
        if winner == "supervised"
        else None
    )
    return DefectionComparison(
        table=table,
        winner=winner,
        reason=reason,
        supervised=final,
        details={"train_cutoff": str(c_train), "validation_cutoff": str(c_val)},
    )
