"""Prospects and the ideal customer profile (ICP).

The top class is the best ``[potential] icp_top_share`` of current customers, by net profit
when it is known, else by spend. The ICP compares the top class with the rest, column by
column (category mix, size bands, medians), as a table and as plain sentences a sales
manager can read. A prospect's look-alike score is the share of top-class customers among
its ``k`` nearest current customers in the same firmographic space the look-alike wallet
uses: 0.2 is what a random company would get when the top class is 20% of customers; 0.6
means three times as often as chance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import InputError
from ..settings.potential import PotentialSettings
from ._design import _is_numeric, as_frame

__all__ = ["ideal_customer_profile", "lookalike_score", "top_class"]


def top_class(values: Any, top_share: float) -> np.ndarray:
    """Boolean mask of the top ``top_share`` of rows by ``values`` (missing values are never
    top; ties are broken by row order, so the count is exact and the result deterministic).

    Examples
    --------
    >>> top_class([5.0, 1.0, 9.0, 3.0, 7.0], 0.4).tolist()
    [False, False, True, False, True]
    """
    v = np.asarray(values, dtype="float64")
    if not 0 < top_share < 1:
        raise InputError(f"top share must be between 0 and 1, got {top_share}")
    n_top = max(1, round(top_share * np.isfinite(v).sum()))
    key = np.where(np.isfinite(v), v, -np.inf)
    order = np.lexsort((np.arange(v.size), -key))
    out = np.zeros(v.size, dtype=bool)
    out[order[:n_top]] = True
    return out


def lookalike_score(neighbours: np.ndarray, is_top: np.ndarray) -> np.ndarray:
    """Share of top-class customers among each row's look-alikes.

    Parameters
    ----------
    neighbours
        (n, k) indices into the customers, e.g. from :meth:`LookalikeWallet.kneighbors`.
    is_top
        Boolean top-class flag per customer.

    Examples
    --------
    >>> lookalike_score(np.array([[0, 1], [1, 2]]), np.array([True, False, False])).tolist()
    [0.5, 0.0]
    """
    if neighbours.shape[0] == 0:
        return np.zeros(0)
    return np.asarray(is_top, dtype="float64")[neighbours].mean(axis=1)


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.1f} million"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:,.3g}"


def _where(column: str, value: str, numeric: set[str]) -> str:
    name = column.replace("_", " ")
    return f"with {name} {value}" if column in numeric else f"in {name} {value}"


def _pct(x: float) -> str:
    p = 100 * x
    return f"{p:.0f}%" if p >= 10 or p == 0 else f"{p:.1f}%"


def _bands(v: pd.Series, column: str, settings: PotentialSettings) -> pd.Series:
    x = pd.to_numeric(v, errors="coerce").astype("float64")
    if column == "employees":
        edges = list(settings.employee_bands)
    else:
        qs = np.linspace(0, 1, settings.numeric_bands + 1)[1:-1]
        edges = sorted(set(np.quantile(x.dropna(), qs).tolist())) if x.notna().any() else []
    labels = []
    lo = None
    for e in edges:
        labels.append(f"< {_fmt(e)}" if lo is None else f"{_fmt(lo)} to < {_fmt(e)}")
        lo = e
    labels.append(f"{_fmt(lo)} or more" if lo is not None else "all")
    idx = np.searchsorted(np.asarray(edges, dtype="float64"), x.to_numpy(), side="right")
    out = pd.Series(
        np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)], index=v.index
    )
    out[x.isna()] = "(missing)"
    # keep band order in the table
    return pd.Series(
        pd.Categorical(out, categories=[*labels, "(missing)"], ordered=True), index=v.index
    )


def ideal_customer_profile(
    firmographics: Any,
    is_top: Any,
    *,
    columns: Sequence[str],
    settings: PotentialSettings,
    ranked_by: str = "spend",
) -> tuple[pa.Table, list[str]]:
    """What the top class looks like against the rest: a table and plain sentences.

    Parameters
    ----------
    firmographics
        Customers' firmographic columns (raw values).
    is_top
        Boolean top-class flag per row (see :func:`top_class`).
    columns
        Columns to describe. Text columns give one row per category; number columns one row
        per size band (``employee_bands`` for ``employees``, equal-count bands otherwise)
        plus a median row.
    settings
        ICP thresholds: ``icp_min_lift``, ``icp_min_count``, ``icp_max_sentences``,
        ``icp_top_share``.
    ranked_by
        What the top class was ranked by, for the sentences ("net profit", "spend").

    Returns
    -------
    (pyarrow.Table, list[str])
        Table columns: column, value, statistic ("share" or "median"), top, rest, lift
        (top / rest), n_top, n_rest. Sentences such as "Top customers are 3.1× more often
        in industry Food manufacturing (25% vs 8% of the rest)."

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"industry": ["food"] * 6 + ["metal"] * 14,
    ...                    "employees": [300.0] * 6 + [20.0] * 14})
    >>> top = df.index < 5
    >>> table, lines = ideal_customer_profile(df, top, columns=["industry"],
    ...                                       settings=PotentialSettings(icp_min_count=2))
    >>> lines[1]
    'Top customers are 15.0× more often in industry food (100% vs 6.7% of the rest).'
    """
    df = as_frame(firmographics)
    top = np.asarray(is_top, dtype=bool)
    n_top, n_rest = int(top.sum()), int((~top).sum())
    rows: list[dict[str, Any]] = []
    medians: list[str] = []
    numeric: set[str] = set()
    for c in columns:
        if c not in df.columns:
            continue
        s = df[c]
        if _is_numeric(s):
            numeric.add(c)
            x = pd.to_numeric(s, errors="coerce").astype("float64")
            mt, mr = float(x[top].median()), float(x[~top].median())
            rows.append(
                {
                    "column": c,
                    "value": "median",
                    "statistic": "median",
                    "top": mt,
                    "rest": mr,
                    "lift": mt / mr if mr else np.nan,
                    "n_top": int(x[top].notna().sum()),
                    "n_rest": int(x[~top].notna().sum()),
                }
            )
            if np.isfinite(mt) and np.isfinite(mr):
                medians.append(
                    f"Median {c.replace('_', ' ')}: {_fmt(mt)} for top customers "
                    f"vs {_fmt(mr)} for the rest."
                )
            cat = _bands(s, c, settings)
        else:
            cat = s.astype("string").fillna("(missing)")
        ct = pd.crosstab(cat, pd.Series(top, index=df.index, name="top"), dropna=False)
        ct = ct.reindex(columns=[True, False], fill_value=0)
        for value, (a, b) in zip(ct.index, ct.to_numpy(), strict=True):
            if a == 0 and b == 0:
                continue
            st = a / n_top if n_top else np.nan
            sr = b / n_rest if n_rest else np.nan
            rows.append(
                {
                    "column": c,
                    "value": str(value),
                    "statistic": "share",
                    "top": st,
                    "rest": sr,
                    "lift": st / sr if sr else np.inf,
                    "n_top": int(a),
                    "n_rest": int(b),
                }
            )
    table = pd.DataFrame(
        rows, columns=["column", "value", "statistic", "top", "rest", "lift", "n_top", "n_rest"]
    )
    sentences = [
        f"Top customers are the best {settings.icp_top_share:.0%} by {ranked_by} "
        f"({n_top:,} of {n_top + n_rest:,} customers)."
    ]
    share = table[(table["statistic"] == "share") & (table["value"] != "(missing)")]
    over = share[
        (share["lift"] >= settings.icp_min_lift) & (share["n_top"] >= settings.icp_min_count)
    ]
    under = share[
        (share["lift"] <= 1 / settings.icp_min_lift)
        & (share["n_rest"] >= settings.icp_min_count)
        & (share["rest"] * n_top >= settings.icp_min_count)
    ]
    # over-represented categories first (strongest lift first), then under-represented
    # ones; the strongest line of each column before a second line of any column
    lines: list[tuple[float, str, str]] = []
    for r in over.itertuples():
        lift = "many times" if not np.isfinite(r.lift) else f"{r.lift:.1f}×"
        lines.append(
            (
                1e6 + (float(np.log(r.lift)) if np.isfinite(r.lift) else 1e3),
                r.column,
                f"Top customers are {lift} more often {_where(r.column, r.value, numeric)} "
                f"({_pct(r.top)} vs {_pct(r.rest)} of the rest).",
            )
        )
    for r in under.itertuples():
        lines.append(
            (
                -float(np.log(max(r.lift, 1e-9))),
                r.column,
                f"Top customers are seldom {_where(r.column, r.value, numeric)} "
                f"({_pct(r.top)} vs {_pct(r.rest)} of the rest).",
            )
        )
    lines.sort(key=lambda t: -t[0])
    seen: set[str] = set()
    first = [t for t in lines if not (t[1] in seen or seen.add(t[1]))]  # type: ignore[func-returns-value]
    ordered = first + [t for t in lines if t not in first]
    room = max(settings.icp_max_sentences - 1 - len(medians), 1)
    sentences += [t for _, _, t in ordered[:room]]
    sentences += medians
    sentences = sentences[: settings.icp_max_sentences]
    return pa.Table.from_pandas(table, preserve_index=False), sentences
