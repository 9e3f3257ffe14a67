"""Cross-fitting: every customer's estimate comes from a model that never saw its spend.

Customers are split at random (seeded) into K folds; the model fitted on K − 1 folds
predicts the remaining one. Without this, a flexible model (boosted trees, a look-alike that
is its own nearest neighbour) would partly return each customer's own spend as its "wallet",
and share of wallet would drift towards 100% for everybody.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from ..errors import InputError
from ._design import as_frame

__all__ = ["crossfit_predict", "fold_ids"]


def fold_ids(n: int, n_folds: int, seed: int) -> np.ndarray:
    """A seeded random fold number 0..n_folds-1 for each of ``n`` rows, folds of equal size
    (±1).

    Examples
    --------
    >>> np.bincount(fold_ids(10, 3, seed=1)).tolist()
    [4, 3, 3]
    """
    if n_folds < 2:
        raise InputError(f"n_folds must be at least 2, got {n_folds}")
    if n < n_folds:
        raise InputError(f"{n} rows cannot be split into {n_folds} folds")
    perm = np.random.default_rng(seed).permutation(n)
    out = np.empty(n, dtype="int64")
    out[perm] = np.arange(n) % n_folds
    return out


def crossfit_predict(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    n_folds: int = 5,
    seed: int = 0,
    method: str = "predict",
    folds: np.ndarray | None = None,
    train_mask: np.ndarray | None = None,
    **kwargs: Any,
) -> np.ndarray:
    """Out-of-fold predictions: row i is predicted by a clone fitted without fold(i).

    Parameters
    ----------
    estimator
        An unfitted scikit-learn-style estimator (cloned per fold).
    X, y
        Firmographics table and spend.
    n_folds, seed
        Folds and their seed (ignored when ``folds`` is given).
    method
        The estimator method to call on the held-out rows, e.g. ``"predict_log"``.
    folds
        Fold number per row, if already drawn (so several models share the same folds).
    train_mask
        Rows allowed into the fits (e.g. customers with spend); every row is predicted.
    **kwargs
        Passed to ``method``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tierwise.potential import LookalikeWallet
    >>> X = pd.DataFrame({"employees": np.arange(1.0, 41.0)})
    >>> y = np.arange(40.0)
    >>> oof = crossfit_predict(LookalikeWallet(0.5, n_neighbors=2), X, y, n_folds=4)
    >>> oof.shape
    (40,)
    """
    df = as_frame(X)
    yv = np.asarray(y)
    n = len(df)
    f = fold_ids(n, n_folds, seed) if folds is None else np.asarray(folds)
    out: np.ndarray | None = None
    for k in np.unique(f):
        test = f == k
        train = ~test if train_mask is None else (~test & np.asarray(train_mask, dtype=bool))
        train_rows, test_rows = np.nonzero(train)[0], np.nonzero(test)[0]
        model = clone(estimator).fit(df.iloc[train_rows], yv[train_rows])
        pred = np.asarray(getattr(model, method)(df.iloc[test_rows], **kwargs))
        if out is None:
            out = np.empty((n, *pred.shape[1:]), dtype=pred.dtype)
        out[test] = pred
    assert out is not None
    return out
