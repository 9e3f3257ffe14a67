r"""Gradient-boosted and look-alike wallet estimators.

Both estimate the :math:`\tau`-quantile of log(1 + spend) given firmographics, the wallet
definition of Perlich, Rosset, Lawrence and Zadrozny (KDD 2007):

- :class:`GBMQuantileWallet` — gradient boosting with the pinball loss (LightGBM
  ``objective="quantile"``, Friedman 2001): flexible, finds interactions
  (industry × size) by itself.
- :class:`LookalikeWallet` — the paper's nearest-neighbour method: the :math:`\tau`-quantile
  of the spend of the ``k`` customers most alike (same categories, closest standardised log
  sizes). Its spread also gives the wallet's band.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.neighbors import KDTree

from ..errors import InputError
from ._design import Encoded
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
        n_threads: int = 1,
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

    Look-alikes share the customer's categories and are the closest in size:

    1. the candidates are the training customers with the same value in every category
       column (e.g. same industry and region) when at least ``k`` such customers exist;
       otherwise the last category column is dropped (same industry, any region), and so on
       down to all customers. A category missing for the customer drops that column and
       those after it, so the search uses what is known;
    2. among the candidates, the ``k`` nearest in the number columns (log sizes
       standardised to unit variance over the training customers, Euclidean distance).

    The wallet is

    .. math:: \hat w(x) = Q_\tau\{\log(1 + s_j) : j \in N_k(x)\}

    and :meth:`predict_quantiles` gives other quantiles of the same look-alikes (the band).
    Exact matching on categories keeps the search in the few size dimensions, where k-d
    trees are fast (one tree per category block, built when first queried). Used
    cross-fitted (see :mod:`~tierwise.potential.crossfit`), a customer is never its own
    look-alike.

    Parameters
    ----------
    quantile
        :math:`\tau`.
    n_neighbors
        ``k``, look-alikes per query (capped at the number of training rows).
    columns
        Model columns (default: every column of ``X``); category columns are matched in
        this order, the last one dropped first.
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
        impute_within: str | None = None,
        log_numeric: bool = True,
    ) -> None:
        self.quantile = quantile
        self.n_neighbors = n_neighbors
        self.columns = columns
        self.impute_within = impute_within
        self.log_numeric = log_numeric

    def _sizes(self, enc: Encoded) -> np.ndarray:
        if enc.numeric.shape[1] == 0:  # categories only: every candidate is as near
            return np.zeros((enc.numeric.shape[0], 1))
        return np.ascontiguousarray((enc.numeric - self.mean_) / self.scale_)

    def fit(self, X: Any, y: Any) -> LookalikeWallet:
        if self.n_neighbors < 1:
            raise InputError(f"n_neighbors must be at least 1, got {self.n_neighbors}")
        enc, ly = self._encode_fit(X, y)
        self.mean_ = enc.numeric.mean(axis=0)
        sd = enc.numeric.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        self.sizes_ = self._sizes(enc)
        self.codes_ = enc.codes
        self.k_ = int(min(self.n_neighbors, len(ly)))
        self.log_spend_ = ly
        # codes run from 0 to the number of levels - 1 (-1: missing or unseen)
        self.radix_ = np.array(
            [max(len(self.encoder_.levels_[c]), 1) for c in self.encoder_.categorical_columns_],
            dtype="int64",
        )
        self._trees: dict[tuple[int, tuple[int, ...]], tuple[KDTree, np.ndarray]] = {}
        self._blocks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        return self

    def _keys(self, codes: np.ndarray) -> np.ndarray | None:
        """One integer per row of category codes (all known) that sorts the rows as their
        codes do, column by column; None when the levels are too many for an int64."""
        radix = self.radix_[: codes.shape[1]]
        if math.prod(int(r) for r in radix) >= 2**62:
            return None
        key = np.zeros(codes.shape[0], dtype="int64")
        for j, r in enumerate(radix):
            key = key * r + codes[:, j]
        return key

    def _block_rows(self, depth: int, key: tuple[int, ...]) -> np.ndarray:
        """The training rows (ascending) whose first ``depth`` category codes are ``key``."""
        grouped = self._blocks.get(depth)
        if grouped is None:
            codes = self.codes_[:, :depth]
            keys = self._keys(codes)
            if keys is None:
                return np.nonzero(np.all(codes == np.asarray(key), axis=1))[0]
            keys[~np.all(codes >= 0, axis=1)] = -1
            order = np.argsort(keys, kind="stable")  # rows ascending within a block
            grouped = (order, keys[order])
            self._blocks[depth] = grouped
        order, sorted_keys = grouped
        wanted = self._keys(np.asarray([key], dtype="int64"))
        assert wanted is not None
        lo, hi = np.searchsorted(sorted_keys, [wanted[0], wanted[0] + 1])
        return order[lo:hi]

    def _tree(self, depth: int, key: tuple[int, ...]) -> tuple[KDTree, np.ndarray]:
        """k-d tree over the training customers of one category block, and their rows."""
        cached = self._trees.get((depth, key))
        if cached is None:
            rows = self._block_rows(depth, key) if depth else np.arange(self.sizes_.shape[0])
            cached = (KDTree(self.sizes_[rows]), rows)
            self._trees[(depth, key)] = cached
        return cached

    def kneighbors(self, X: Any) -> np.ndarray:
        """Row indices (into the training data) of each query's ``k`` look-alikes, (n, k)."""
        enc = self._encode(X)
        sizes = self._sizes(enc)
        n, k = sizes.shape[0], self.k_
        out = np.empty((n, k), dtype="int64")
        todo = np.ones(n, dtype=bool)
        for depth in range(self.codes_.shape[1], -1, -1):
            if not todo.any():
                break
            q = todo & np.all(enc.codes[:, :depth] >= 0, axis=1)
            if not q.any():
                continue
            if depth == 0:
                blocks = np.zeros((1, 0), dtype="int64")
                inv = np.zeros(int(q.sum()), dtype="int64")
                big = np.array([True])
            else:
                train = self.codes_[:, :depth]
                train = train[np.all(train >= 0, axis=1)]
                both = np.vstack([train, enc.codes[q, :depth]])
                keys = self._keys(both)
                if keys is None:
                    blocks, ids = np.unique(both, axis=0, return_inverse=True)
                else:  # the same blocks, in the same order, from one integer per row
                    _, first, ids = np.unique(keys, return_index=True, return_inverse=True)
                    blocks = both[first]
                ids = ids.reshape(-1)
                # a block is used when it holds at least k training customers
                big = np.bincount(ids[: len(train)], minlength=len(blocks)) >= k
                inv = ids[len(train) :]
            qrows = np.nonzero(q)[0]
            order = np.argsort(inv, kind="stable")
            edges = np.searchsorted(inv[order], np.arange(len(blocks) + 1))
            for b in np.nonzero(big)[0]:
                sel = qrows[order[edges[b] : edges[b + 1]]]
                if sel.size == 0:  # a block of training customers only
                    continue
                tree, rows = self._tree(depth, tuple(int(v) for v in blocks[b]))
                idx = tree.query(sizes[sel], k=k, return_distance=False, sort_results=True)
                out[sel] = rows[idx]
                todo[sel] = False
        return out

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
