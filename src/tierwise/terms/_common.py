"""What the terms functions share: their result type and reading customer columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ..io.columns import num_column as num
from ..io.columns import text_column

__all__ = [
    "Rows",
    "TermsResult",
    "margin_rates",
    "num",
    "segment_of",
    "text",
    "without_prospects",
]


@dataclass
class TermsResult:
    """What a terms function returns.

    Attributes
    ----------
    customers
        Keyed by customer_id (the input's rows and order) with only the columns the
        function owns.
    tables
        Output-table stem → table.
    manifest
        The function's block of manifest.json.
    warnings
        Assumptions made for lack of data, each naming the setting that changes it.
    """

    customers: pa.Table
    tables: dict[str, pa.Table]
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


class Rows:
    """The rows of a table that a mask keeps, each column filtered only when it is read.

    It reads as the terms functions read the customer table (``column``, ``column_names``,
    ``num_rows``): filtering the table itself would copy every one of its hundred and more
    columns, of which a function reads a few dozen.

    Examples
    --------
    >>> t = pa.table({"customer_id": ["a", "p", "b"], "x": [1.0, 2.0, 3.0]})
    >>> r = Rows(t, np.array([True, False, True]))
    >>> r.num_rows, r.column_names, r.column("x").to_pylist()
    (2, ['customer_id', 'x'], [1.0, 3.0])
    """

    def __init__(self, table: pa.Table, keep: np.ndarray) -> None:
        self._table = table
        self._keep = pa.array(np.asarray(keep, dtype=bool))
        self.column_names: list[str] = table.column_names
        self.num_rows = int(np.count_nonzero(keep))
        self._read: dict[str, pa.ChunkedArray] = {}

    def column(self, name: str) -> pa.ChunkedArray:
        if name not in self._read:
            self._read[name] = self._table.column(name).filter(self._keep)
        return self._read[name]


def without_prospects(t: pa.Table) -> pa.Table | Rows:
    """``t``'s rows whose ``is_prospect`` is not true, as :class:`Rows` (no copy of the
    table); ``t`` itself when it has no prospect.

    Examples
    --------
    >>> t = pa.table({"customer_id": ["a", "b"], "is_prospect": [False, None]})
    >>> without_prospects(t) is t
    True
    >>> without_prospects(pa.table({"customer_id": ["a", "p"], "is_prospect": [None, True]})
    ...     ).column("customer_id").to_pylist()
    ['a']
    """
    if "is_prospect" not in t.column_names:
        return t
    prospect = np.asarray(
        t.column("is_prospect").fill_null(False).to_numpy(zero_copy_only=False), dtype=bool
    )
    return Rows(t, ~prospect) if prospect.any() else t


def text(t: pa.Table | Rows, name: str) -> np.ndarray | None:
    """A column as an object array of str (None where empty), or None when absent."""
    return text_column(t, name) if name in t.column_names else None


def has_values(t: pa.Table | Rows, name: str) -> bool:
    """Whether the table has the column with at least one value."""
    return name in t.column_names and t.column(name).null_count < t.num_rows


def segment_of(t: pa.Table | Rows) -> tuple[np.ndarray, str]:
    """Each row's segment: value_class, else tier, else "all"; and the column used.

    Examples
    --------
    >>> segment_of(pa.table({"tier": ["gold", None]}))[0].tolist()
    ['gold', '(none)']
    """
    for name in ("value_class", "tier"):
        if has_values(t, name):
            v = text(t, name)
            assert v is not None
            return np.where(v == None, "(none)", v).astype(object), name  # noqa: E711
    return np.full(t.num_rows, "all", dtype=object), ""


def margin_rates(t: pa.Table | Rows) -> tuple[np.ndarray, float]:
    """Each customer's gross margin rate (profit period, else whole history), NaN where
    unknown, and the base's overall rate (0 when nothing is known).

    Examples
    --------
    >>> r, overall = margin_rates(pa.table({"gross_margin": [30.0, 0.0],
    ...     "revenue": [100.0, 0.0]}))
    >>> r.tolist(), overall
    ([0.3, nan], 0.3)
    """
    gm = num(t, "gross_margin_pnl")
    rev = num(t, "revenue_12m")
    rate = np.where(rev > 0, gm / np.where(rev > 0, rev, 1.0), np.nan)
    gm_all = num(t, "gross_margin")
    rev_all = num(t, "revenue")
    rate_all = np.where(rev_all > 0, gm_all / np.where(rev_all > 0, rev_all, 1.0), np.nan)
    rate = np.where(np.isnan(rate), rate_all, rate)
    ok = ~np.isnan(rate)
    w_rev = np.where(rev > 0, rev, np.where(rev_all > 0, rev_all, 0.0))
    total = float(w_rev[ok].sum())
    overall = float((rate[ok] * w_rev[ok]).sum() / total) if total > 0 else 0.0
    return rate, overall
