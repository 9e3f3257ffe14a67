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

Customers are matched on their id as written. When an export changed how it writes ids
between the runs (``'0000001'`` then ``1``, ``'1001.0'`` then ``'1001'``, ``'c1'`` then
``'C1'``), few ids match as written but many match once leading zeros, a decimal part
``.0`` and letter case are ignored (:func:`loose_id_key`, the same key the validation uses
between transactions and the customer master). Then the review warns, saying how many
match each way with an example; and when the ids as written find fewer than half the
customers the loose key finds, it matches the rest on the loose key, so a changed spelling
is not read as every customer gone and every customer new. Only ids whose loose key is
unique among this run's unmatched ids and among the previous run's unmatched ids are
matched that way: ids distinct in one run are never merged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from ..io.columns import text_column
from ..validate import count_text

__all__ = ["Review", "annualise", "compare_runs", "figure", "loose_id_key"]

NEW, GONE = "(new)", "(gone)"
#: the loose key is used when the ids as written find fewer than this share of the
#: customers it finds
_LOOSE_WHEN_EXACT_BELOW = 0.5


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
    warnings: list[str]


def figure(table: pa.Table, name: str) -> np.ndarray:
    """A number column as float64 (NaN where missing or absent)."""
    cols = table.column_names
    if name == "headroom" and name not in cols and {"wallet", "revenue_12m"} <= set(cols):
        return np.maximum(figure(table, "wallet") - np.nan_to_num(figure(table, "revenue_12m")), 0)
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    return pc.cast(table.column(name), pa.float64()).to_numpy(zero_copy_only=False)


def loose_id_key(ids: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Ids with leading zeros, a decimal part ``.0`` and letter case taken away.

    Examples
    --------
    >>> loose_id_key(pa.array(["0000001", "1001.0", "c7", "A.0", None])).to_pylist()
    ['1', '1001', 'C7', 'A.0', None]
    """
    c = pc.replace_substring_regex(pc.cast(ids, pa.string()), "^0+", "")
    c = pc.replace_substring_regex(c, r"^(\d+)\.0+$", r"\1")
    out = pc.utf8_upper(c)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _match_ids(
    ids: pa.Array, prev_ids: pa.Array, source: str
) -> tuple[np.ndarray, dict[str, Any], list[str]]:
    """Each id's row in the previous run (-1: none), how the ids were matched, warnings."""
    pos = pc.fill_null(pc.index_in(ids, value_set=prev_ids), -1).to_numpy(zero_copy_only=False)
    pos = np.asarray(pos, dtype=np.int64)
    n_exact = int((pos >= 0).sum())
    info: dict[str, Any] = {"exact": n_exact, "loose": n_exact, "matched_on": "id"}
    if not len(ids) or not len(prev_ids):
        return pos, info, []
    key_now = loose_id_key(ids).to_pylist()
    key_prev = loose_id_key(prev_ids).to_pylist()
    prev_taken = np.zeros(len(prev_ids), dtype=bool)
    prev_taken[pos[pos >= 0]] = True
    # a key that two unmatched ids share (in either run) is ambiguous: those ids keep no
    # match rather than merge customers a run keeps apart
    free_now = [(i, key_now[i]) for i in np.flatnonzero(pos < 0).tolist()]
    free_prev = [(j, key_prev[j]) for j in np.flatnonzero(~prev_taken).tolist()]
    count_now = Counter(k for _, k in free_now)
    count_prev = Counter(k for _, k in free_prev)
    row_prev = {k: j for j, k in free_prev if k is not None and count_prev[k] == 1}
    extra = [(i, row_prev[k]) for i, k in free_now if k in row_prev and count_now[k] == 1]
    n_ambiguous = sum(
        1
        for _, k in free_now
        if k is not None and k in count_prev and (count_now[k] > 1 or count_prev[k] > 1)
    )
    info["loose"] = n_exact + len(extra)
    if not extra or (len(extra) < 0.05 * len(ids) and len(extra) <= n_exact):
        return pos, info, []
    i0, j0 = extra[0]
    example = f"'{ids[i0].as_py()}' in this run, '{prev_ids[j0].as_py()}' in the previous one"
    head = (
        f"customer ids: {count_text(n_exact, 'customer')} of this run's {len(ids):,} "
        f"{'has' if n_exact == 1 else 'have'} an id of the previous run ({source}) as "
        f"written, {info['loose']:,} once leading zeros, a decimal part .0 and letter case "
        f"are ignored (as {example}): the ids are written differently in the two runs"
    )
    if n_exact < _LOOSE_WHEN_EXACT_BELOW * info["loose"]:
        pos = pos.copy()
        for i, j in extra:
            pos[i] = j
        info["matched_on"] = "id without leading zeros, .0 and case"
        tail = (
            f"; the review (previous_class, class_change, migration, class_movers) matched "
            f"the {len(extra):,} others that way"
            + (
                f" ({count_text(n_ambiguous, 'id')} left unmatched: another id of the same "
                "run reads the same that way)"
                if n_ambiguous
                else ""
            )
            + "; export the ids the same way in both runs (as text) so they match as written"
        )
    else:
        tail = (
            f"; the review matched ids as written only, so {count_text(len(extra), 'customer')}"
            f" of this run {'is' if len(extra) == 1 else 'are'} counted as new and under "
            "the previous id as gone: export the ids the same way in both runs (as text) "
            "and run again"
        )
    return pos, info, [head + tail]


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
    pos, id_match, warnings = _match_ids(
        ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids,
        prev_ids.combine_chunks() if isinstance(prev_ids, pa.ChunkedArray) else prev_ids,
        source,
    )
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
            # a figure missing in either run is null, as in both runs' customer tables
            f"{value_axis}_then": pa.array(v_then[mv], pa.float64(), from_pandas=True),
            f"{value_axis}_now": pa.array(value_now[mv], pa.float64(), from_pandas=True),
            f"{potential_axis}_then": pa.array(pot_then[mv], pa.float64(), from_pandas=True),
            f"{potential_axis}_now": pa.array(potential_now[mv], pa.float64(), from_pandas=True),
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
    summary["id_match"] = id_match
    summary["interval_days"] = interval_days
    summary["rates_annualised"] = bool(interval_days and interval_days > 0)
    return Review(
        previous_class=previous_class,
        class_change=pa.array(change, pa.string()),
        migration=migration,
        movers=movers,
        rates=rates,
        summary=summary,
        warnings=warnings,
    )


def annualise(up: float, kept: float, capture: float, years: float) -> tuple[float, ...]:
    """Rates seen over ``years`` made yearly (see the module text)."""
    if years == 1.0:
        return up, kept, capture
    up_y = 1.0 - (1.0 - up) ** (1.0 / years)
    kept_y = kept ** (1.0 / years)
    return up_y, kept_y, capture / years
