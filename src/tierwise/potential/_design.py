"""Firmographics → model inputs: imputation, log sizes, category codes, missing flags.

One encoder serves every wallet model, so that all of them see the same cleaned inputs:

- number columns: values that are missing, not finite or negative (where a size cannot be
  negative) count as missing and are replaced by the median of the training customers with
  the same ``impute_within`` category (e.g. the same industry), else by the overall median;
  then ``log(1 + x)`` when the column has no negative values and ``log_numeric`` is on;
- text (and boolean) columns: categories, coded 0..L-1 in order of frequency (ties by
  name); missing or unseen values get code -1, and each model handles -1 its own way
  (LightGBM: missing; linear: the most common category; look-alike: equally far from all).

The encoder learns only from the firmographics, never from spend, so fitting it on all
customers leaks nothing about any customer's spend into any wallet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import InputError

__all__ = ["Encoded", "FirmographicEncoder", "as_frame"]


def as_frame(X: object) -> pd.DataFrame:
    """A pandas DataFrame view of a customer-sized table (pandas, Arrow, or a mapping)."""
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, pa.Table):
        return X.to_pandas()
    if hasattr(X, "to_arrow"):  # Polars, Ibis results
        return X.to_arrow().to_pandas()  # type: ignore[attr-defined]
    if hasattr(X, "to_pandas"):
        return X.to_pandas()  # type: ignore[attr-defined]
    if isinstance(X, dict):
        return pd.DataFrame(X)
    raise InputError(f"expected a table (pandas, Arrow or Polars), got {type(X).__name__}")


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


@dataclass(frozen=True)
class Encoded:
    """Encoded inputs of n rows.

    Attributes
    ----------
    numeric
        (n, p) float64: imputed and (where chosen) log-transformed sizes.
    codes
        (n, c) int64: category codes, -1 for missing or unseen.
    missing
        (n, p + c) bool: which model columns were missing (numeric first, then categories).
    """

    numeric: np.ndarray
    codes: np.ndarray
    missing: np.ndarray


class FirmographicEncoder:
    """Learn imputation medians, log flags and category levels from training firmographics.

    Parameters
    ----------
    columns
        Model columns, in order. Their kind (number or category) is read from the data.
    impute_within
        Category column whose groups give the imputation medians (None: overall medians).
    log_numeric
        Take log(1 + x) of number columns without negative values.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"industry": ["a", "a", "b"], "employees": [10.0, None, 100.0]})
    >>> enc = FirmographicEncoder(["industry", "employees"], impute_within="industry").fit(df)
    >>> enc.numeric_columns_, enc.categorical_columns_
    (['employees'], ['industry'])
    >>> float(round(enc.transform(df).numeric[1, 0], 3))  # imputed at industry a's median 10
    2.398
    """

    def __init__(
        self,
        columns: Sequence[str],
        *,
        impute_within: str | None = None,
        log_numeric: bool = True,
    ) -> None:
        self.columns = list(columns)
        self.impute_within = impute_within
        self.log_numeric = log_numeric

    def fit(self, X: object) -> FirmographicEncoder:
        df = as_frame(X)
        absent = [c for c in self.columns if c not in df.columns]
        if absent:
            raise InputError(f"model columns not in the table: {', '.join(absent)}")
        self.numeric_columns_ = [c for c in self.columns if _is_numeric(df[c])]
        self.categorical_columns_ = [c for c in self.columns if c not in self.numeric_columns_]
        self.levels_: dict[str, list[str]] = {}
        for c in self.categorical_columns_:
            s = df[c].dropna().astype(str)
            counts = s.value_counts()
            order = sorted(counts.index, key=lambda v: (-int(counts[v]), v))
            self.levels_[c] = list(order)
        self.log_: dict[str, bool] = {}
        self.medians_: dict[str, float] = {}
        self.group_medians_: dict[str, dict[str, float]] = {}
        group = self._group(df)
        for c in self.numeric_columns_:
            v = pd.to_numeric(df[c], errors="coerce").astype("float64")
            nonneg = bool((v.dropna() >= 0).all())
            self.log_[c] = self.log_numeric and nonneg
            v = v.where(np.isfinite(v))
            med = float(v.median()) if v.notna().any() else 0.0
            self.medians_[c] = med
            if group is not None:
                gm = v.groupby(group, observed=True).median().dropna()
                self.group_medians_[c] = {str(k): float(x) for k, x in gm.items()}
        return self

    def _group(self, df: pd.DataFrame) -> pd.Series | None:
        g = self.impute_within
        if g is None or g not in df.columns:
            return None
        return df[g].astype("string")

    def transform(self, X: object) -> Encoded:
        if not hasattr(self, "levels_"):
            from ..errors import NotFittedError

            raise NotFittedError("FirmographicEncoder is not fitted yet; call fit first")
        df = as_frame(X)
        n = len(df)
        group = self._group(df)
        numeric = np.empty((n, len(self.numeric_columns_)), dtype="float64")
        miss_num = np.zeros((n, len(self.numeric_columns_)), dtype=bool)
        for j, c in enumerate(self.numeric_columns_):
            if c in df.columns:
                v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            else:
                v = np.full(n, np.nan)
            bad = ~np.isfinite(v)
            if self.log_[c]:
                bad |= v < 0
            miss_num[:, j] = bad
            if bad.any():
                fill = np.full(n, self.medians_[c])
                if group is not None and c in self.group_medians_:
                    gm = group.map(self.group_medians_[c]).to_numpy(
                        dtype="float64", na_value=np.nan
                    )
                    fill = np.where(np.isfinite(gm), gm, fill)
                v = np.where(bad, fill, v)
            numeric[:, j] = np.log1p(v) if self.log_[c] else v
        codes = np.empty((n, len(self.categorical_columns_)), dtype="int64")
        miss_cat = np.zeros((n, len(self.categorical_columns_)), dtype=bool)
        for j, c in enumerate(self.categorical_columns_):
            if c in df.columns:
                s = df[c]
                isna = s.isna().to_numpy()
                cat = pd.Categorical(s.astype("string"), categories=self.levels_[c])
                code = np.asarray(cat.codes, dtype="int64")
            else:
                isna = np.ones(n, dtype=bool)
                code = np.full(n, -1, dtype="int64")
            miss_cat[:, j] = isna
            codes[:, j] = code
        return Encoded(numeric, codes, np.hstack([miss_num, miss_cat]))

    @property
    def column_order_(self) -> list[str]:
        """Model columns in the order of ``Encoded.missing``: numbers, then categories."""
        return [*self.numeric_columns_, *self.categorical_columns_]


def one_hot(codes: np.ndarray, n_levels: Sequence[int], *, drop: bool = False) -> np.ndarray:
    """Dense one-hot of category codes; code -1 gives all zeros.

    With ``drop`` the first level (the most common one) is left out, so it becomes the
    baseline of a linear model (and -1, missing, falls on the baseline).
    """
    n = codes.shape[0]
    blocks = []
    for j, L in enumerate(n_levels):
        start = 1 if drop else 0
        width = L - start
        block = np.zeros((n, max(width, 0)), dtype="float64")
        if width > 0:
            c = codes[:, j] - start
            ok = c >= 0
            block[np.nonzero(ok)[0], c[ok]] = 1.0
        blocks.append(block)
    return np.hstack(blocks) if blocks else np.zeros((n, 0))
