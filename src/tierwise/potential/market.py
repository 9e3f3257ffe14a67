"""Market data: growth to the planning year, market potential and our penetration.

The market table (canonical columns ``industry``, ``region``, ``market_size``,
``growth_rate``) gives yearly market size (currency units) and growth (fraction) per
industry, per region, or per industry × region cell. A customer's growth rate is taken from
the most specific row that matches it: its industry × region cell, else its industry, else
its region, else ``[potential] default_growth_rate``.

Penetration is our revenue divided by the market size; market potential is the market size
grown to the planning year, :math:`M (1 + g)^{T}` with ``T = [potential] planning_years``.
An industry (or region) without a row of its own gets the sum of its industry × region
cells (sizes and potentials summed, growth weighted by size), so a market table given per
cell still reports market potential and penetration per industry, per region and in total.
Alongside the market's own figures the table gives the bottom-up potential: the sum of the
planning-year wallets of customers and prospects.

Segments: :func:`penetration_table` adds one row per segment (``level = "segment"``) when
given a ``segment_column``. A segment cuts across industries and regions, for which alone
the market table gives sizes, so its market columns stay empty and its ``share_of_wallet``
(our revenue / the wallets of its customers) is its penetration. The segments stage runs
after this one, so the pipeline adds these rows by calling :func:`penetration_table` again
once customers carry their segment (or passes ``segment_column`` to
:func:`~tierwise.potential.potential_stage` when a segment is known beforehand).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import InputError
from ..settings.potential import PotentialSettings
from ._design import as_frame

__all__ = ["customer_growth_rates", "penetration_table"]

_KEYS = ("industry", "region")


def _clean_market(market: Any) -> pd.DataFrame:
    m = as_frame(market).copy()
    if m.empty:
        raise InputError(
            "the market table has no rows",
            file="market",
            hint="one row per industry and/or region with market_size and growth_rate, or "
            "no market table",
        )
    keys = [k for k in _KEYS if k in m.columns and m[k].notna().any()]
    if not keys:
        raise InputError(
            "the market table needs an industry or a region column",
            file="market",
            hint="one row per industry and/or region with market_size and growth_rate",
        )
    for col in ("market_size", "growth_rate"):
        if col not in m.columns:
            m[col] = np.nan
        m[col] = pd.to_numeric(m[col], errors="coerce").astype("float64")
    for k in _KEYS:
        m[k] = (
            m[k].astype("string")
            if k in m.columns
            else pd.Series(pd.NA, index=m.index, dtype="string")
        )
    m = m[m["industry"].notna() | m["region"].notna()]
    dup = m.duplicated(subset=list(_KEYS), keep=False)
    if dup.any():
        first = m[dup].iloc[0]
        raise InputError(
            f"market row repeated for industry={first['industry']!s}, region={first['region']!s}",
            file="market",
            hint="give each industry/region combination once",
        )
    bad = m["growth_rate"] <= -1
    if bad.any():
        raise InputError(
            "growth_rate must be above -1 (it is a fraction: 0.03 = 3%)",
            file="market",
            column="growth_rate",
        )
    return m.reset_index(drop=True)


def _level_rows(m: pd.DataFrame, level: str) -> pd.DataFrame:
    if level == "industry_region":
        return m[m["industry"].notna() & m["region"].notna()]
    if level == "industry":
        return m[m["industry"].notna() & m["region"].isna()]
    return m[m["industry"].isna() & m["region"].notna()]


def customer_growth_rates(
    firmographics: Any, market: Any | None, settings: PotentialSettings
) -> np.ndarray:
    """Yearly growth rate for each row: cell, else industry, else region, else the default.

    Examples
    --------
    >>> import pandas as pd
    >>> cust = pd.DataFrame({"industry": ["food", "metal", None], "region": ["N", "S", "S"]})
    >>> mk = pd.DataFrame({"industry": ["food", None], "region": [None, "S"],
    ...                    "market_size": [1e6, 2e6], "growth_rate": [0.05, 0.02]})
    >>> customer_growth_rates(cust, mk, PotentialSettings()).tolist()
    [0.05, 0.02, 0.02]
    """
    df = as_frame(firmographics)
    n = len(df)
    g = np.full(n, np.nan)
    if market is not None:
        m = _clean_market(market)
        keys = pd.DataFrame(
            {
                k: (
                    df[k].astype("string").to_numpy(dtype=object, na_value=None)
                    if k in df.columns
                    else np.full(n, None, dtype=object)
                )
                for k in _KEYS
            }
        )
        for level in ("industry_region", "industry", "region"):
            rows = _level_rows(m, level).dropna(subset=["growth_rate"])
            if rows.empty:
                continue
            by = list(_KEYS) if level == "industry_region" else [level]
            lut = rows[[*by, "growth_rate"]].astype({b: object for b in by})
            # a left merge keeps the customers' order; market keys are unique and never
            # missing at their level, so each customer gets one value or none
            val = keys[by].merge(lut, on=by, how="left")["growth_rate"]
            g = np.where(np.isnan(g), val.to_numpy(dtype="float64", na_value=np.nan), g)
    return np.where(np.isnan(g), settings.default_growth_rate, g)


_FIGURES = ["market_size", "growth_rate", "market_potential"]


def _with_potential(rows: pd.DataFrame, settings: PotentialSettings) -> pd.DataFrame:
    """Market rows with the default growth filled in and the planning-year potential."""
    g = rows["growth_rate"].fillna(settings.default_growth_rate)
    return rows.assign(
        growth_rate=g, market_potential=rows["market_size"] * (1.0 + g) ** settings.planning_years
    )


def _summed(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Market size and potential summed over rows (per ``by``), growth weighted by size."""
    rows = rows.dropna(subset=["market_size"])
    rows = rows.assign(_growth_x_size=rows["growth_rate"] * rows["market_size"])
    sums = ["market_size", "market_potential", "_growth_x_size"]
    if by:
        out = rows.groupby(by, sort=True)[sums].sum().reset_index()
    else:
        out = pd.DataFrame({c: [rows[c].sum()] for c in sums})
    size = out["market_size"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["growth_rate"] = np.where(size > 0, out["_growth_x_size"] / size, np.nan)
    return out[[*by, *_FIGURES]]


def _market_figures(
    m: pd.DataFrame,
    level: str,
    settings: PotentialSettings,
    customer_cells: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Market size, growth and planning-year potential per key of a level.

    A key's own market row is used where the market table has one; an industry (or region)
    without its own row gets the sum of its industry × region cells, unless a customer of
    it (``customer_cells``: the customers' known industry × region pairs) sits in a cell
    without a size, when the sum would understate its market and the size stays empty. The
    total is the sum over industries (else over regions, else over cells).
    """
    by = list(_KEYS) if level == "industry_region" else [] if level == "total" else [level]
    cells = _with_potential(_level_rows(m, "industry_region"), settings)
    if level == "industry_region":
        return cells[[*by, *_FIGURES]]
    if level in _KEYS:
        own = _with_potential(_level_rows(m, level), settings)[[*by, *_FIGURES]]
        sized = own["market_size"].notna()
        rolled = _summed(cells, by)
        rolled = rolled[~rolled[level].isin(own.loc[sized, level])]
        if customer_cells is not None and len(rolled):
            have = cells.loc[cells["market_size"].notna(), list(_KEYS)].astype(object)
            pairs = customer_cells.merge(have, on=list(_KEYS), how="left", indicator=True)
            rolled = rolled[~rolled[level].isin(pairs.loc[pairs["_merge"] == "left_only", level])]
        # a row of its own without a size (growth only) yields to its cells' sum
        rest = own[~sized & ~own[level].isin(rolled[level])]
        parts = [part for part in (own[sized], rolled, rest) if len(part)]
        return pd.concat(parts, ignore_index=True) if parts else own
    for lv in ("industry", "region", "industry_region"):
        rows = _market_figures(m, lv, settings)
        if rows["market_size"].notna().any():
            return _summed(rows, [])
    return pd.DataFrame({c: [np.nan] for c in _FIGURES})


def _aggregate(cust: pd.DataFrame, pros: pd.DataFrame | None, by: list[str]) -> pd.DataFrame:
    def agg(frame: pd.DataFrame, cols: dict[str, tuple[str, str]]) -> pd.DataFrame:
        if by:
            keyed = frame.copy()
            for b in by:
                keyed[b] = keyed[b].astype("string").fillna("(missing)")
            return keyed.groupby(by, observed=True, sort=True).agg(**cols).reset_index()
        return pd.DataFrame({k: [getattr(frame[c], f)()] for k, (c, f) in cols.items()})

    out = agg(
        cust,
        {
            "n_customers": ("wallet", "count"),
            "revenue": ("spend", "sum"),
            "wallet": ("wallet", "sum"),
            "wallet_planning": ("wallet_planning", "sum"),
            "headroom": ("headroom", "sum"),
        },
    )
    if pros is not None and len(pros):
        p = agg(
            pros,
            {"n_prospects": ("wallet", "count"), "prospect_wallet": ("wallet_planning", "sum")},
        )
        out = out.merge(p, on=by, how="outer") if by else pd.concat([out, p], axis=1)
    else:
        out["n_prospects"] = 0
        out["prospect_wallet"] = 0.0
    for c in ("n_customers", "n_prospects"):
        out[c] = out[c].fillna(0).astype("int64")
    for c in ("revenue", "wallet", "wallet_planning", "headroom", "prospect_wallet"):
        out[c] = out[c].fillna(0.0).astype("float64")
    return out


def penetration_table(
    customers: Any,
    *,
    prospects: Any | None = None,
    market: Any | None = None,
    segment_column: str | None = None,
    settings: PotentialSettings,
) -> pa.Table:
    """Revenue, wallets, market size, potential and penetration per industry, region, cell,
    segment and in total.

    Parameters
    ----------
    customers
        One row per customer with ``spend``, ``wallet``, ``wallet_planning``, ``headroom``
        and the key columns (``industry``, ``region``, and ``segment_column`` if given).
    prospects
        Prospects with ``wallet`` and ``wallet_planning`` and the key columns, optional.
    market
        The market table, optional; without it the market columns are empty.
    segment_column
        Customer column holding a segment or tier, for per-segment rows.
    settings
        ``planning_years`` grows the market size to the planning year;
        ``default_growth_rate`` stands in for a missing growth rate.

    Returns
    -------
    pyarrow.Table
        Columns: level (total, industry, region, industry_region, segment), industry,
        region, segment, n_customers, n_prospects, revenue, wallet, wallet_planning,
        headroom, share_of_wallet (revenue / wallet), prospect_wallet (planning-year wallets
        of prospects), bottom_up_potential (wallet_planning + prospect_wallet), market_size,
        growth_rate, market_potential (market_size × (1 + growth_rate) ** planning_years,
        summed over cells where rolled up), penetration (revenue / market_size). Market
        columns are empty for segments and for keys the market table does not cover.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"industry": ["food", "food"], "region": ["N", "S"],
    ...                   "spend": [10.0, 30.0], "wallet": [50.0, 50.0],
    ...                   "wallet_planning": [50.0, 50.0], "headroom": [40.0, 20.0]})
    >>> m = pd.DataFrame({"industry": ["food"], "market_size": [400.0], "growth_rate": [0.0]})
    >>> t = penetration_table(c, market=m, settings=PotentialSettings()).to_pandas()
    >>> t.loc[t.level == "industry", "penetration"].tolist()
    [0.1]

    Given per industry × region cell, the market still gives industry rows:

    >>> cells = pd.DataFrame({"industry": ["food", "food"], "region": ["N", "S"],
    ...                       "market_size": [100.0, 300.0], "growth_rate": [0.1, 0.0]})
    >>> t = penetration_table(c, market=cells, settings=PotentialSettings()).to_pandas()
    >>> t.loc[t.level == "industry", ["market_size", "growth_rate", "penetration"]].values.tolist()
    [[400.0, 0.025, 0.1]]
    """
    cust = as_frame(customers)
    pros = as_frame(prospects) if prospects is not None else None
    frames = []
    levels: list[tuple[str, list[str]]] = [("total", [])]
    for k in _KEYS:
        if k in cust.columns and cust[k].notna().any():
            levels.append((k, [k]))
    m = _clean_market(market) if market is not None else None
    customer_cells = (
        cust[list(_KEYS)].dropna().astype("string").astype(object).drop_duplicates()
        if all(k in cust.columns for k in _KEYS)
        else None
    )
    has_cells = m is not None and not _level_rows(m, "industry_region").empty
    if has_cells and all(k in cust.columns for k in _KEYS):
        levels.append(("industry_region", list(_KEYS)))
    if segment_column is not None:
        if segment_column not in cust.columns:
            raise InputError(f"segment column {segment_column!r} not in the customers table")
        levels.append(("segment", [segment_column]))
    for level, by in levels:
        p = pros if pros is not None and all(b in pros.columns for b in by) else None
        t = _aggregate(cust, p, by)
        t.insert(0, "level", level)
        if level == "segment":
            t = t.rename(columns={segment_column: "segment"})
        if m is not None and level != "segment":
            figures = _market_figures(m, level, settings, customer_cells)
            t = t.merge(figures, on=by, how="left") if by else pd.concat([t, figures], axis=1)
        else:
            # segments cut across industries and regions, for which alone the market table
            # gives sizes: a segment's market size is unknown, its share_of_wallet is its
            # penetration of the wallets we know
            for c in _FIGURES:
                t[c] = np.nan
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    for col in ("industry", "region", "segment"):
        out[col] = (
            out[col].astype("string")
            if col in out.columns
            else pd.Series(pd.NA, index=out.index, dtype="string")
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share_of_wallet"] = np.where(out["wallet"] > 0, out["revenue"] / out["wallet"], np.nan)
        out["penetration"] = np.where(
            out["market_size"] > 0, out["revenue"] / out["market_size"], np.nan
        )
    out["bottom_up_potential"] = out["wallet_planning"] + out["prospect_wallet"]
    cols = [
        "level",
        "industry",
        "region",
        "segment",
        "n_customers",
        "n_prospects",
        "revenue",
        "wallet",
        "wallet_planning",
        "headroom",
        "share_of_wallet",
        "prospect_wallet",
        "bottom_up_potential",
        "market_size",
        "growth_rate",
        "market_potential",
        "penetration",
    ]
    return pa.Table.from_pandas(out[cols], preserve_index=False)
