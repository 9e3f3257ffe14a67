r"""Quantile (pinball) loss and the linear quantile wallet model.

The wallet of a customer is the :math:`\tau`-quantile of the spend of comparable customers
(Perlich, Rosset, Lawrence, Zadrozny, "High-quantile modeling for customer wallet
estimation and other applications", KDD 2007). A conditional quantile is what minimises the
expected pinball (check) loss (Koenker and Bassett, Econometrica 1978):

.. math::

    \rho_\tau(y, \hat y) = \max\bigl(\tau (y - \hat y),\; (\tau - 1)(y - \hat y)\bigr)

Every wallet model here is fitted to :math:`\log(1 + \text{spend})`. Quantiles commute
with increasing transforms, so :math:`\exp(\hat q_\tau) - 1` is the :math:`\tau`-quantile of
spend itself, while the log scale keeps the few very large customers from dominating the fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import highspy
import numpy as np
from sklearn.base import BaseEstimator

from .._highs import quiet_highs
from ..errors import InputError, ModelError, NotFittedError
from ._design import Encoded, FirmographicEncoder, as_frame, one_hot

__all__ = [
    "LinearQuantileWallet",
    "WalletModel",
    "mean_pinball_loss",
    "pinball_loss",
]


def pinball_loss(y: Any, pred: Any, quantile: float) -> np.ndarray:
    r"""Pinball (check) loss of each prediction, :math:`\rho_\tau(y - \hat y)`.

    Under-prediction costs ``quantile`` per unit, over-prediction ``1 - quantile``, so the
    constant that minimises the mean loss is the ``quantile``-quantile of ``y``.

    Parameters
    ----------
    y, pred
        Observed values and predictions, same shape.
    quantile
        :math:`\tau` in (0, 1).

    Examples
    --------
    >>> pinball_loss([10.0, 10.0], [8.0, 12.0], 0.9).round(6).tolist()
    [1.8, 0.2]
    """
    if not 0 < quantile < 1:
        raise InputError(f"quantile must be between 0 and 1, got {quantile}")
    d = np.asarray(y, dtype="float64") - np.asarray(pred, dtype="float64")
    return np.maximum(quantile * d, (quantile - 1.0) * d)


def mean_pinball_loss(y: Any, pred: Any, quantile: float) -> float:
    """Mean pinball loss; lower is better.

    Examples
    --------
    >>> round(mean_pinball_loss([1.0, 2.0, 3.0], [2.0, 2.0, 2.0], 0.5), 4)
    0.3333
    """
    return float(np.mean(pinball_loss(y, pred, quantile)))


def log_spend(y: Any) -> np.ndarray:
    """log(1 + spend), spend below zero (net returns) or missing counted as zero."""
    v = np.asarray(y, dtype="float64")
    v = np.where(np.isfinite(v), v, 0.0)
    return np.log1p(np.maximum(v, 0.0))


class WalletModel(BaseEstimator):  # type: ignore[misc]
    """Base of the wallet estimators: scikit-learn style, fitted on log(1 + spend).

    ``__init__`` only stores hyper-parameters; ``fit(X, spend)`` learns the state (names
    ending in ``_``) and returns ``self``; ``predict(X)`` gives wallets in currency units.
    ``X`` is a customer-sized table (pandas, Arrow or Polars) holding the model columns.
    """

    quantile: float
    columns: Sequence[str] | None
    impute_within: str | None
    log_numeric: bool

    def _check_params(self) -> None:
        if not 0 < self.quantile < 1:
            raise InputError(f"quantile must be between 0 and 1, got {self.quantile}")

    def _encode_fit(self, X: Any, y: Any) -> tuple[Encoded, np.ndarray]:
        self._check_params()
        df = as_frame(X)
        cols = list(self.columns) if self.columns is not None else list(df.columns)
        if not cols:
            raise ModelError("no firmographic columns to estimate wallets from")
        ly = log_spend(y)
        if ly.shape[0] != len(df):
            raise InputError(f"{len(df)} rows of firmographics but {ly.shape[0]} spend values")
        if len(df) < 2:
            raise ModelError("at least two customers are needed to estimate wallets")
        self.encoder_ = FirmographicEncoder(
            cols, impute_within=self.impute_within, log_numeric=self.log_numeric
        ).fit(df)
        self.n_features_in_ = len(cols)
        return self.encoder_.transform(df), ly

    def _encode(self, X: Any) -> Encoded:
        if not hasattr(self, "encoder_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first")
        return self.encoder_.transform(X)

    def predict_log(self, X: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict(self, X: Any) -> np.ndarray:
        """Wallet estimates in currency units (never below zero)."""
        return np.maximum(np.expm1(self.predict_log(X)), 0.0)


def quantile_lp(
    X: np.ndarray, y: np.ndarray, quantile: float, alpha: float = 0.0
) -> tuple[float, np.ndarray]:
    r"""The linear quantile regression of ``y`` on ``X`` with an intercept, solved exactly.

    Minimises :math:`\frac1n \sum_i \rho_\tau(y_i - b_0 - x_i^\top b) + \alpha \lVert b
    \rVert_1` (scikit-learn's ``QuantileRegressor`` objective) through its dual
    (Koenker, *Quantile Regression*, 2005, section 6.2):

    .. math::

        \max_d\; y^\top d \quad\text{s.t.}\quad \mathbf 1^\top d = 0,\;
        |X_j^\top d| \le n\alpha,\; \tau - 1 \le d_i \le \tau

    whose constraints number the coefficients, not the rows, so the interior point method
    solves a system of that size at each step (the primal's is one of the rows' size). The
    coefficients are minus the constraints' dual values. Returns ``(b0, b)``.

    Raises :class:`~tierwise.errors.ModelError` when ``X`` or ``y`` hold a value that is not
    finite, when HiGHS does not report an optimum, or when the coefficients' objective
    differs from the dual optimum (strong duality) by more than 1e-4 relative.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> b0, b = quantile_lp(X, np.array([1.0, 3.0, 5.0, 7.0]), 0.5)
    >>> round(b0, 6), np.round(b, 6).tolist()
    (1.0, [2.0])
    """
    n, k = X.shape
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise ModelError(
            "linear quantile model could not be fitted: the sizes or spends hold missing or "
            "infinite values"
        )
    A = np.ascontiguousarray(np.hstack([np.ones((n, 1)), X]).T)
    h = quiet_highs()
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "on")
    h.setOptionValue("random_seed", 0)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = k + 1
    lp.col_cost_ = -np.asarray(y, dtype=np.float64)
    lp.col_lower_ = np.full(n, quantile - 1.0)
    lp.col_upper_ = np.full(n, float(quantile))
    bound = np.full(k + 1, n * alpha)
    bound[0] = 0.0
    lp.row_lower_ = -bound
    lp.row_upper_ = bound
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.arange(0, (k + 1) * n + 1, n, dtype=np.int32)
    lp.a_matrix_.index_ = np.tile(np.arange(n, dtype=np.int32), k + 1)
    lp.a_matrix_.value_ = A.ravel()
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise ModelError(
            "linear quantile model could not be fitted: HiGHS reports "
            + h.modelStatusToString(status)
        )
    beta = -np.asarray(h.getSolution().row_dual, dtype=np.float64)
    dual_opt = -float(h.getInfo().objective_function_value)
    r = y - beta[0] - X @ beta[1:]
    primal = float(np.sum(np.maximum(quantile * r, (quantile - 1.0) * r)))
    primal += n * alpha * float(np.abs(beta[1:]).sum())
    if not abs(primal - dual_opt) <= 1e-4 * max(1.0, abs(dual_opt)):  # NaN fails too
        raise ModelError(
            "linear quantile model could not be fitted: the solution fails the duality "
            f"check (loss {primal:.6g} against the optimum {dual_opt:.6g})"
        )
    return float(beta[0]), beta[1:]


class LinearQuantileWallet(WalletModel):
    r"""Linear quantile regression of log spend on firmographics: the transparent model.

    .. math::

        Q_\tau\bigl(\log(1 + s) \mid x\bigr) = \beta_0 + \sum_j \beta_j \log(1 + x_j)
        + \sum_{c} \gamma_{c}\,[\text{category} = c]

    so :math:`\beta_j` is an elasticity (a 1% larger head count goes with a
    :math:`\beta_j`% larger wallet) and :math:`e^{\gamma_c}` is a category's wallet relative
    to its column's most common category. Fitted exactly by linear programming: the dual of
    the quantile regression (Koenker, *Quantile Regression*, 2005, section 6.2), one
    variable per row in a box and one constraint per coefficient, solved by HiGHS (interior
    point with crossover); the coefficients are the constraints' dual values, and the fit is
    checked by strong duality (the pinball loss of the coefficients equals the dual's
    optimum). At most ``max_rows`` customers (a seeded random sample) enter the fit, which
    is ample for a few dozen coefficients.

    Parameters
    ----------
    quantile
        :math:`\tau`, e.g. 0.9.
    columns
        Model columns (default: every column of ``X``).
    alpha
        L1 penalty (0: plain quantile regression).
    max_rows
        Fit on a random sample of at most this many rows.
    impute_within, log_numeric
        See :class:`~tierwise.potential._design.FirmographicEncoder`.
    random_state
        Seed for the sample.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"employees": rng.lognormal(3, 1, 400)})
    >>> spend = np.expm1(1 + 0.8 * np.log1p(X.employees) + rng.normal(0, 0.3, 400))
    >>> m = LinearQuantileWallet(quantile=0.5).fit(X, spend)
    >>> round(m.coefficients_["employees"], 1)
    0.8
    """

    def __init__(
        self,
        quantile: float = 0.9,
        *,
        columns: Sequence[str] | None = None,
        alpha: float = 0.0,
        max_rows: int = 10_000,
        impute_within: str | None = None,
        log_numeric: bool = True,
        random_state: int = 0,
    ) -> None:
        self.quantile = quantile
        self.columns = columns
        self.alpha = alpha
        self.max_rows = max_rows
        self.impute_within = impute_within
        self.log_numeric = log_numeric
        self.random_state = random_state

    def _matrix(self, enc: Encoded) -> np.ndarray:
        e = self.encoder_
        levels = [len(e.levels_[c]) for c in e.categorical_columns_]
        return np.hstack([enc.numeric, one_hot(enc.codes, levels, drop=True)])

    def fit(self, X: Any, y: Any) -> LinearQuantileWallet:
        enc, ly = self._encode_fit(X, y)
        M = self._matrix(enc)
        n = M.shape[0]
        rows = np.arange(n)
        if n > self.max_rows:
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(n, size=self.max_rows, replace=False))
        self.n_fit_rows_ = int(rows.size)
        # centre the sizes so the intercept is the wallet of a typical customer (better
        # conditioned LP); the coefficients are unchanged by centring
        self.center_ = M[rows].mean(axis=0) if M.shape[1] else np.zeros(0)
        intercept, coef = quantile_lp(M[rows] - self.center_, ly[rows], self.quantile, self.alpha)
        self.coef_ = coef
        self.intercept_ = intercept - float(self.center_ @ self.coef_)
        names = list(self.encoder_.numeric_columns_)
        for c in self.encoder_.categorical_columns_:
            names += [f"{c}={lv}" for lv in self.encoder_.levels_[c][1:]]
        self.feature_names_ = names
        self.coefficients_ = {"intercept": self.intercept_} | {
            nm: float(b) for nm, b in zip(names, self.coef_, strict=True)
        }
        return self

    def predict_log(self, X: Any) -> np.ndarray:
        """Predicted quantile of log(1 + spend)."""
        M = self._matrix(self._encode(X))
        return np.asarray(M @ self.coef_ + self.intercept_, dtype="float64")
