"""The yearly portfolio review: this run's classes against a previous run's.

- ``previous_class`` and ``class_change`` per customer ("up", "down", "same", "new";
  "not comparable" when the previous class is not among this run's classes);
- ``migration``: previous class × current class with customers and revenue (last 12
  months) then and now; the row "(new)" holds customers absent from the previous run and
  the column "(gone)" those absent from this one, so the table's row sums are the previous
  run's class counts and its column sums this run's;
- ``movers``: every customer who moved up or down, with the main reason: "override" (a
  person moved it, then or now), "status" (it passed between too little history and a full
  one), "value" or "potential" (the axis whose level, read against this run's cut points,
  changed more), "ease" (scheme profit_ease), else "cut points" (its figures stayed, the
  boundaries moved);
- ``rates`` per previous class, for the class goals, made yearly: with ``t`` the years
  between the two runs' analysis dates, a share of customers moving up over the interval
  ``u`` is ``1 - (1 - u)^(1/t)`` a year and a share keeping its class or better ``k`` is
  ``k^(1/t)`` a year (constant yearly chances), and the share of headroom won ``c`` is
  ``c / t`` a year (it can exceed one). Without the interval the rates are read as yearly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from ..io.columns import text_column

__all__ = ["Review", "annualise", "compare_runs", "figure"]

NEW, GONE = "(new)", "(gone)"


@dataclass
class Review:
    """What the comparison with a previous run gives."""

    previous_class: pa.Array
    class_change: pa.Array
    migration: pa.Table
    movers: pa.Table
    #: per current class name: up_rate, retention_rate, capture_rate seen last year
    rates: dict[str, dict[str, float]]
    summary: dict[str, Any]


def figure(table: pa.Table, name: str) -> np.ndarray:
    """A number column as float64 (NaN where missing or absent)."""
    cols = table.column_names
    if name == "headroom" and name not in cols and {"wallet", "revenue_12m"} <= set(cols):
        return np.maximum(figure(table, "wallet") - np.nan_to_num(figure(table, "revenue_12m")), 0)
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    return pc.cast(table.column(name), pa.float64()).to_numpy(zero_copy_only=False)


def compare_runs(
    ids: pa.Array,
    class_now: np.ndarray,
    names: list[str],
    previous: pa.Table,
    *,
    source: str,
    revenue_now: np.ndarray,
    value_now: np.ndarray,
    potential_now: np.ndarray,
    value_axis: str,
    potential_axis: str,
    value_level: Any,
    potential_level: Any,
    thin_now: np.ndarray,
    thin_statuses: list[str],
    overridden_now: np.ndarray,
    interval_days: float | None = None,
) -> Review:
    """Compare this run's classes (codes into ``names``) with a previous run's customers.

    ``value_level``/``potential_level`` map figures to levels under this run's cut points;
    ``interval_days`` is the time between the two runs' analysis dates (the rates are
    annualised over it; ``None``: read as a year).

    Examples
    --------
    >>> [round(r, 6) for r in annualise(0.19, 0.81, 0.5, 2.0)]  # 1 - √0.81, √0.81, 0.5 / 2
    [0.1, 0.9, 0.25]
    """
    for col in ("customer_id", "value_class"):
        if col not in previous.column_names:
            raise InputError(
                f"the previous run's customers table has no {col!r} column",
                file=source,
                column=col,
                hint="give the output folder of a tierwise run that made classes",
            )
    prev_ids = pc.cast(previous.column("customer_id"), pa.string())
    prev_cls = pc.cast(previous.column("value_class"), pa.string()).to_numpy(zero_copy_only=False)
    n_prev = previous.num_rows
    pos = pc.fill_null(pc.index_in(ids, value_set=prev_ids), -1).to_numpy(zero_copy_only=False)
    known = pos >= 0
    rank = {c: i for i, c in enumerate(names)}
    prev_names = [c for c in dict.fromkeys(x for x in prev_cls.tolist() if x is not None)]
    prev_rank = np.array([rank.get(str(c), -1) for c in prev_cls], dtype=np.int64)
    pr = np.where(known, prev_rank[np.maximum(pos, 0)], -2)
    now = class_now.astype(np.int64)
    change = np.full(len(now), "new", dtype=object)
    change[known & (pr == -1)] = "not comparable"
    change[known & (pr >= 0) & (now < pr)] = "up"
    change[known & (pr >= 0) & (now > pr)] = "down"
    change[known & (pr >= 0) & (now == pr)] = "same"
    previous_class = pa.array(
        np.where(known, prev_cls[np.maximum(pos, 0)] if n_prev else None, None), pa.string()
    )

    # -- migration ---------------------------------------------------------------------
    from_names = [*names, *[c for c in prev_names if c not in rank], NEW]
    to_names = [*names, GONE]
    from_code = {c: i for i, c in enumerate(from_names)}
    prev_from = np.array([from_code.get(str(c), len(from_names) - 1) for c in prev_cls], np.int64)
    f_now = np.where(known, prev_from[np.maximum(pos, 0)] if n_prev else 0, from_code[NEW])
    rev_then_prev = np.nan_to_num(figure(previous, "revenue_12m"))
    in_now = np.zeros(n_prev, dtype=bool)
    in_now[pos[known]] = True
    gone = np.flatnonzero(~in_now)
    frm = np.concatenate([f_now, prev_from[gone]])
    to = np.concatenate([now, np.full(len(gone), len(to_names) - 1)])
    r_then = np.concatenate(
        [
            np.where(known, rev_then_prev[np.maximum(pos, 0)] if n_prev else 0.0, 0.0),
            rev_then_prev[gone],
        ]
    )
    r_now = np.concatenate([np.nan_to_num(revenue_now), np.zeros(len(gone))])
    cell = frm * len(to_names) + to
    size = len(from_names) * len(to_names)
    customers = np.bincount(cell, minlength=size)
    then_sum = np.bincount(cell, weights=r_then, minlength=size)
    now_sum = np.bincount(cell, weights=r_now, minlength=size)
    fi, ti = np.divmod(np.arange(size), len(to_names))
    keep = ~((fi == from_code[NEW]) & (ti == len(to_names) - 1))
    migration = pa.table(
        {
            "from_class": pa.array(np.array(from_names, dtype=object)[fi[keep]], pa.string()),
            "to_class": pa.array(np.array(to_names, dtype=object)[ti[keep]], pa.string()),
            "customers": pa.array(customers[keep], pa.int64()),
            "revenue_then": pa.array(then_sum[keep], pa.float64()),
            "revenue_now": pa.array(now_sum[keep], pa.float64()),
        }
    )

    # -- movers with their main reason ---------------------------------------------------
    p = np.maximum(pos, 0)
    v_then = figure(previous, value_axis)[p] if n_prev else np.full(len(now), np.nan)
    pot_then = figure(previous, potential_axis)[p] if n_prev else np.full(len(now), np.nan)
    dv = value_level(np.nan_to_num(value_now)) - value_level(np.nan_to_num(v_then))
    dp = potential_level(np.nan_to_num(potential_now)) - potential_level(np.nan_to_num(pot_then))
    dv = np.where(np.isnan(v_then), 0, dv)
    dp = np.where(np.isnan(pot_then), 0, dp)
    status_then = text_column(previous, "status")[p] if n_prev else np.full(len(now), None)
    thin_then = np.isin(status_then.astype(str), list(thin_statuses))
    if "is_prospect" in previous.column_names:
        thin_then |= np.asarray(
            pc.fill_null(previous.column("is_prospect"), False).to_numpy(zero_copy_only=False)
        )[p]
    over_then = np.zeros(len(now), dtype=bool)
    if "value_class_computed" in previous.column_names:
        comp = pc.cast(previous.column("value_class_computed"), pa.string()).to_numpy(
            zero_copy_only=False
        )
        over_then = (comp != prev_cls)[p]
    reason = np.select(
        [
            overridden_now | over_then,
            thin_then != thin_now,
            (dv != 0) & (np.abs(dv) >= np.abs(dp)),
            dp != 0,
        ],
        ["override", "status", "value", "potential"],
        default="cut points",
    )
    moved = known & ((change == "up") | (change == "down"))
    mv = np.flatnonzero(moved)
    movers = pa.table(
        {
            "customer_id": pc.take(ids, pa.array(mv)),
            "previous_class": pc.take(previous_class, pa.array(mv)),
            "value_class": pa.array(np.array(names, dtype=object)[now[mv]], pa.string()),
            "class_change": pa.array(change[mv], pa.string()),
            "main_reason": pa.array(reason[mv], pa.string()),
            f"{value_axis}_then": pa.array(v_then[mv], pa.float64()),
            f"{value_axis}_now": pa.array(value_now[mv], pa.float64()),
            f"{potential_axis}_then": pa.array(pot_then[mv], pa.float64()),
            f"{potential_axis}_now": pa.array(potential_now[mv], pa.float64()),
        }
    )

    # -- rates seen last year, per previous class (for the goals) -----------------------
    rates: dict[str, dict[str, float]] = {}
    head_then = figure(previous, "headroom")
    # where each previous customer is now (-1: gone) and what it spends now
    where_now = np.full(n_prev, -1, dtype=np.int64)
    where_now[pos[known]] = now[known]
    rev_now_prev = np.zeros(n_prev)
    rev_now_prev[pos[known]] = np.nan_to_num(revenue_now[known])
    won_each = np.maximum(rev_now_prev - rev_then_prev, 0)
    for c, name in enumerate(names):
        members_then = prev_rank == c
        n_then = int(members_then.sum())
        if n_then == 0:
            continue
        stay = members_then & (where_now >= 0)
        up = int((stay & (where_now < c)).sum())
        kept = int((stay & (where_now <= c)).sum())
        won = won_each[stay].sum()
        room = np.nansum(np.maximum(head_then[members_then], 0))
        years = interval_days / 365.25 if interval_days and interval_days > 0 else 1.0
        seen = (up / n_then, kept / n_then, float(won / room) if room > 0 else float("nan"))
        up_y, kept_y, capture_y = annualise(*seen, years)
        rates[name] = {
            "previous_customers": float(n_then),
            "up_rate": up_y,
            "retention_rate": kept_y,
            "capture_rate": capture_y,
            "up_rate_seen": seen[0],
            "retention_rate_seen": seen[1],
            "capture_rate_seen": seen[2],
        }
    total_from = customers.reshape(len(from_names), len(to_names))
    summary: dict[str, Any] = {
        "previous_customers": int(n_prev),
        "current_customers": len(now),
        "migration_rows_sum": int(total_from[: from_code[NEW]].sum()),
        "migration_columns_sum": int(total_from[:, :-1].sum()),
        "up": int((change == "up").sum()),
        "down": int((change == "down").sum()),
        "same": int((change == "same").sum()),
        "new": int((change == "new").sum()),
        "gone": len(gone),
        "not_comparable": int((change == "not comparable").sum()),
    }
    summary["reconciles"] = bool(
        summary["migration_rows_sum"] == n_prev and summary["migration_columns_sum"] == len(now)
    )
    summary["interval_days"] = interval_days
    summary["rates_annualised"] = bool(interval_days and interval_days > 0)
    return Review(
        previous_class=previous_class,
        class_change=pa.array(change, pa.string()),
        migration=migration,
        movers=movers,
        rates=rates,
        summary=summary,
    )


def annualise(up: float, kept: float, capture: float, years: float) -> tuple[float, ...]:
    """Rates seen over ``years`` made yearly (see the module text)."""
    if years == 1.0:
        return up, kept, capture
    up_y = 1.0 - (1.0 - up) ** (1.0 / years)
    kept_y = kept ** (1.0 / years)
    return up_y, kept_y, capture / years
