r"""Gradient-boosted and look-alike wallet estimators.

Both estimate the :math:`\tau`-quantile of log(1 + spend) given firmographics, the wallet
definition of Perlich, Rosset, Lawrence and Zadrozny (KDD 2007):

- :class:`GBMQuantileWallet` — gradient boosting with the pinball loss (LightGBM
  ``objective="quantile"``, Friedman 2001): flexible, finds interactions
  (industry × size) by itself.
- :class:`LookalikeWallet` — the paper's nearest-neighbour method: the :math:`\tau`-quantile
  of the spend of the ``k`` customers closest in firmographic space (standardised log sizes,
  categories one-hot). Its spread also gives the wallet's band.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.neighbors import NearestNeighbors

from ..errors import InputError
from ._design import Encoded, one_hot
from .quantile import WalletModel

__all__ = ["GBMQuantileWallet", "LookalikeWallet"]


class GBMQuantileWallet(WalletModel):
    r"""Gradient-boosted quantile regression of log(1 + spend) (LightGBM).

    Minimises :math:`\sum_i \rho_\tau(\log(1+s_i) - F(x_i))` over additive tree ensembles
    :math:`F`. Categories are LightGBM categorical features (missing → LightGBM's missing
    branch). Deterministic: fixed seed, ``deterministic=True``, row-wise histograms and a
    fixed thread count, no bagging.

    Parameters
    ----------
    quantile
        :math:`\tau`.
    columns
        Model columns (default: every column of ``X``).
    n_estimators, learning_rate, num_leaves, min_child_samples
        LightGBM boosting rounds, shrinkage, leaves per tree, minimum rows per leaf.
    n_threads
        LightGBM threads (the same value gives the same model).
    impute_within, log_numeric
        See :class:`~tierwise.potential._design.FirmographicEncoder`.
    random_state
        LightGBM seed.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> X = pd.DataFrame({"employees": rng.lognormal(3, 1, 500),
    ...                   "industry": rng.choice(["food", "metal"], 500)})
    >>> spend = np.expm1(np.log1p(X.employees) + rng.normal(0, 0.5, 500))
    >>> m = GBMQuantileWallet(0.9, n_estimators=50).fit(X, spend)
    >>> bool(np.mean(spend <= m.predict(X)) > 0.8)
    True
    """

    def __init__(
        self,
        quantile: float = 0.9,
        *,
        columns: Sequence[str] | None = None,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 20,
        n_threads: int = 2,
        impute_within: str | None = None,
        log_numeric: bool = True,
        random_state: int = 0,
    ) -> None:
        self.quantile = quantile
        self.columns = columns
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.n_threads = n_threads
        self.impute_within = impute_within
        self.log_numeric = log_numeric
        self.random_state = random_state

    @staticmethod
    def _matrix(enc: Encoded) -> np.ndarray:
        codes = enc.codes.astype("float64")
        codes[enc.codes < 0] = np.nan
        return np.hstack([enc.numeric, codes])

    def fit(self, X: Any, y: Any) -> GBMQuantileWallet:
        enc, ly = self._encode_fit(X, y)
        M = self._matrix(enc)
        p = enc.numeric.shape[1]
        cats = list(range(p, M.shape[1]))
        params = {
            "objective": "quantile",
            "alpha": self.quantile,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.n_threads,
            "verbosity": -1,
        }
        ds = lgb.Dataset(
            M,
            label=ly,
            categorical_feature=cats,
            free_raw_data=True,
            params={"verbosity": -1, "min_data_in_bin": 3},
        )
        self.booster_ = lgb.train(params, ds, num_boost_round=self.n_estimators)
        return self

    def predict_log(self, X: Any) -> np.ndarray:
        """Predicted quantile of log(1 + spend)."""
        M = self._matrix(self._encode(X))
        return np.asarray(self.booster_.predict(M, num_threads=self.n_threads), dtype="float64")


class LookalikeWallet(WalletModel):
    r"""The :math:`\tau`-quantile of the spend of the ``k`` nearest look-alikes.

    Look-alike space: log sizes standardised to unit variance; each category column one-hot
    scaled so that two different categories lie ``categorical_weight`` standard deviations
    apart; a missing category sits equally far from every category, so the search uses
    what is known. The wallet is

    .. math:: \hat w(x) = Q_\tau\{\log(1 + s_j) : j \in N_k(x)\}

    and :meth:`predict_quantiles` gives other quantiles of the same look-alikes (the band).
    Used cross-fitted (see :mod:`~tierwise.potential.crossfit`), a customer is never its own
    look-alike.

    Parameters
    ----------
    quantile
        :math:`\tau`.
    n_neighbors
        ``k``, look-alikes per query (capped at the number of training rows).
    columns
        Model columns (default: every column of ``X``).
    categorical_weight
        Distance between two different categories, in standard deviations.
    n_threads
        Threads for the neighbour search.
    impute_within, log_numeric
        See :class:`~tierwise.potential._design.FirmographicEncoder`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> X = pd.DataFrame({"employees": [10.0, 11, 12, 1000, 1100, 1200]})
    >>> spend = np.array([1.0, 2, 3, 100, 200, 300])
    >>> m = LookalikeWallet(0.5, n_neighbors=3).fit(X, spend)
    >>> m.predict(pd.DataFrame({"employees": [11.0]})).round(1).tolist()
    [2.0]
    """

    def __init__(
        self,
        quantile: float = 0.9,
        *,
        n_neighbors: int = 100,
        columns: Sequence[str] | None = None,
        categorical_weight: float = 1.0,
        n_threads: int = 2,
        impute_within: str | None = None,
        log_numeric: bool = True,
    ) -> None:
        self.quantile = quantile
        self.n_neighbors = n_neighbors
        self.columns = columns
        self.categorical_weight = categorical_weight
        self.n_threads = n_threads
        self.impute_within = impute_within
        self.log_numeric = log_numeric

    def _space(self, enc: Encoded) -> np.ndarray:
        e = self.encoder_
        z = (enc.numeric - self.mean_) / self.scale_
        levels = [len(e.levels_[c]) for c in e.categorical_columns_]
        oh = one_hot(enc.codes, levels) * (self.categorical_weight / np.sqrt(2.0))
        return np.hstack([z, oh])

    def fit(self, X: Any, y: Any) -> LookalikeWallet:
        if self.n_neighbors < 1:
            raise InputError(f"n_neighbors must be at least 1, got {self.n_neighbors}")
        enc, ly = self._encode_fit(X, y)
        self.mean_ = enc.numeric.mean(axis=0)
        sd = enc.numeric.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        S = self._space(enc)
        self.k_ = int(min(self.n_neighbors, S.shape[0]))
        self.index_ = NearestNeighbors(n_neighbors=self.k_, n_jobs=self.n_threads).fit(S)
        self.log_spend_ = ly
        return self

    def kneighbors(self, X: Any) -> np.ndarray:
        """Row indices (into the training data) of each query's ``k`` look-alikes, (n, k)."""
        S = self._space(self._encode(X))
        if S.shape[0] == 0:
            return np.zeros((0, self.k_), dtype="int64")
        return np.asarray(self.index_.kneighbors(S, return_distance=False), dtype="int64")

    def quantiles_from_neighbours(self, idx: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
        """Quantiles of log(1 + spend) over given look-alikes, shape (n, len(quantiles))."""
        if idx.shape[0] == 0:
            return np.zeros((0, len(quantiles)))
        return np.quantile(self.log_spend_[idx], list(quantiles), axis=1).T

    def predict_quantiles(self, X: Any, quantiles: Sequence[float]) -> np.ndarray:
        """Quantiles of log(1 + spend) among each row's look-alikes, (n, len(quantiles))."""
        return self.quantiles_from_neighbours(self.kneighbors(X), quantiles)

    def predict_log(self, X: Any) -> np.ndarray:
        """The ``quantile``-quantile of the look-alikes' log(1 + spend)."""
        return self.predict_quantiles(X, [self.quantile])[:, 0]
