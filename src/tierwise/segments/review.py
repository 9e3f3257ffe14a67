"""The yearly portfolio review: this run's classes against a previous run's.

- ``previous_class`` and ``class_change`` per customer ("up", "down", "same", "new";
  "not comparable" when the previous class is not among this run's classes);
- ``migration``: previous class × current class with customers and revenue (last 12
  months) then and now; the row "(new)" holds customers absent from the previous run and
  the column "(gone)" those absent from this one and "(merged)" (only when there are
  any) those whose records are now in another account, so the table's row sums are the
  previous run's class counts and its column sums this run's;
- ``movers``: every customer who moved up or down, with the main reason: "override" (a
  person moved it, then or now), "status" (it passed between too little history and a full
  one), "value" or "potential" (the axis whose level, read against this run's cut points,
  changed more; "ease" for the second axis under the scheme profit_ease), else "cut
  points" (its figures stayed, the boundaries moved); "unknown" where the previous run's
  table lacks the figures (an axis, status, value_class_computed) that would tell it;
- ``rates`` per previous class, for the class goals, made yearly: with ``t`` the years
  between the two runs' analysis dates, a share of customers moving up over the interval
  ``u`` is ``1 - (1 - u)^(1/t)`` a year and a share keeping its class or better ``k`` is
  ``k^(1/t)`` a year (constant yearly chances), and the share of headroom won ``c`` is
  ``c / t`` a year (it can exceed one). Without the interval the rates are read as yearly.

Runs that do not compare are said so: no customer in common (a run on other data: the
rates are then left out, not read as "kept none of each class"), and classes the previous
run had that this one has not (renamed in the settings: its customers are "not
comparable") or this run's classes no previous customer was in (their goals take the
settings' rates).

Customers are matched on their id as written; the ones left, through their records
(an account whose smallest record left it has another id) and on their tax id (a customer
renumbered), and previous customers whose records or tax id lie in another account now
are counted "(merged)". When an export changed how it writes ids
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

__all__ = ["Review", "annualise", "compare_runs", "figure", "loose_id_key", "match_previous"]

NEW, GONE, MERGED = "(new)", "(gone)", "(merged)"
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


def _records(ids: pa.Array, members: Any) -> tuple[pa.Array, np.ndarray]:
    """Every account's record ids with the row of its account: its ``member_ids`` (a list,
    or text joined by "; " as a CSV holds it) and its own id (an account without members
    is its own record).

    Examples
    --------
    >>> recs, rows = _records(pa.array(["a", "c"]), pa.array([["a", "b"], None]))
    >>> recs.to_pylist(), rows.tolist()
    (['a', 'c', 'a', 'b'], [0, 1, 0, 0])
    >>> _records(pa.array(["a"]), pa.array(["a; b"]))[0].to_pylist()
    ['a', 'a', 'b']
    """
    recs: list[Any] = [pc.cast(ids, pa.string())]
    rows = [np.arange(len(ids), dtype=np.int64)]
    if members is not None:
        lists = members.combine_chunks() if isinstance(members, pa.ChunkedArray) else members
        if not (pa.types.is_list(lists.type) or pa.types.is_large_list(lists.type)):
            lists = pc.split_pattern(pc.cast(lists, pa.string()), "; ")
        recs.append(pc.cast(pc.list_flatten(lists), pa.string()))
        rows.append(np.asarray(pc.list_parent_indices(lists), dtype=np.int64))
    return pa.concat_arrays(recs), np.concatenate(rows)


def _match_members(
    ids: pa.Array,
    members_now: Any,
    prev_ids: pa.Array,
    prev_members: Any,
    pos: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]], list[tuple[str, str]]]:
    """Accounts matched through their records where the account ids differ.

    An account is its smallest record's id, so it changes id when that record leaves it
    (deleted from the master) or a record with a smaller id joins it. Per current row the
    previous row (``pos``, -1: none) — an unmatched account whose records lie in one
    unmatched previous account, and the only one there, is that account renumbered — and
    per previous row the current row it was merged into (-1: none): an unmatched previous
    account whose records now lie in another account. Also the pairs (now, then) of each
    kind, for the warning. Vectorised but for the accounts unmatched by id."""
    pos = pos.copy()
    taken = np.zeros(len(prev_ids), dtype=bool)
    taken[pos[pos >= 0]] = True
    merged_into = np.full(len(prev_ids), -1, dtype=np.int64)
    if taken.all():
        return pos, merged_into, [], []
    p_rec, p_row = _records(prev_ids, prev_members)
    free = ~taken[p_row]
    p_rec, p_row = p_rec.filter(pa.array(free)), p_row[free]
    n_rec, n_row = _records(ids, members_now)
    # the records of this run's accounts that a previous account unmatched by id held
    hit = np.asarray(pc.fill_null(pc.is_in(n_rec, value_set=p_rec), False), dtype=bool)
    prev_of: dict[str, int] = {}
    for r, j in zip(p_rec.to_pylist(), p_row.tolist(), strict=True):
        prev_of.setdefault(r, j)
    pairs = sorted(
        {
            (int(i), prev_of[r])
            for r, i in zip(n_rec.filter(pa.array(hit)).to_pylist(), n_row[hit], strict=True)
        }
    )
    claims: dict[int, set[int]] = {}
    for i, j in pairs:
        if pos[i] < 0:
            claims.setdefault(i, set()).add(j)
    claimed_by: dict[int, list[int]] = {}
    for i, js in claims.items():
        if len(js) == 1:
            claimed_by.setdefault(next(iter(js)), []).append(i)
    renumbered = []
    for j, rows in sorted(claimed_by.items()):
        if len(rows) == 1:
            pos[rows[0]] = j
            taken[j] = True
            renumbered.append((str(ids[rows[0]]), str(prev_ids[j])))
    merged = []
    for i, j in pairs:
        if not taken[j] and merged_into[j] < 0:
            merged_into[j] = i
    for j in np.flatnonzero(merged_into >= 0).tolist():
        merged.append((str(ids[int(merged_into[j])]), str(prev_ids[j])))
    return pos, merged_into, renumbered, merged


def _tax_key(tax: Any) -> list[str | None]:
    """Tax ids as compared between runs: letters and digits only, upper case; empty ones
    None.

    Examples
    --------
    >>> _tax_key(pa.array(["gb 613-731 208", "", None]))
    ['GB613731208', None, None]
    """
    key = pc.utf8_upper(pc.replace_substring_regex(pc.cast(tax, pa.string()), r"[\W_]+", ""))
    return [k or None for k in key.to_pylist()]


def _match_tax_ids(
    tax_now: Any, tax_prev: Any, pos: np.ndarray, merged_into: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]], list[tuple[int, int]]]:
    """Customers unmatched by id or records matched on their tax id (the same legal
    entity: renumbered, as an ERP migration does), where it names one unmatched customer
    in each run; a previous customer still unmatched whose tax id only a customer of this
    run matched otherwise has is merged into it. Also the pairs (row now, row then) of each
    kind. The loop is over the unmatched customers only."""
    pos, merged_into = pos.copy(), merged_into.copy()
    now, then = _tax_key(tax_now), _tax_key(tax_prev)
    taken = np.zeros(len(then), dtype=bool)
    taken[pos[pos >= 0]] = True
    free_prev = np.flatnonzero(~taken & (merged_into < 0)).tolist()
    if not free_prev:
        return pos, merged_into, [], []
    free_now = np.flatnonzero(pos < 0).tolist()
    n_now = Counter(now[i] for i in free_now if now[i])
    n_then = Counter(then[j] for j in free_prev if then[j])
    row_then = {then[j]: j for j in free_prev if then[j] and n_then[then[j]] == 1}
    renamed = []
    for i in free_now:
        k = now[i]
        if k and n_now[k] == 1 and k in row_then:
            pos[i] = row_then.pop(k)
            renamed.append((i, int(pos[i])))
    # the tax ids of this run's customers matched otherwise, where one customer has each
    matched_keys = Counter(now[i] for i in np.flatnonzero(pos >= 0).tolist() if now[i])
    row_now = {
        now[i]: i for i in np.flatnonzero(pos >= 0).tolist() if now[i] and matched_keys[now[i]] == 1
    }
    joined = []
    for k, j in sorted(row_then.items(), key=lambda kv: kv[1]):
        if k in row_now:
            merged_into[j] = row_now[k]
            joined.append((row_now[k], j))
    return pos, merged_into, renamed, joined


def _tax_note(
    ids: Any, prev_ids: Any, renamed: list[tuple[int, int]], joined: list[tuple[int, int]]
) -> str:
    """The warning on customers matched on their tax id."""
    parts = []
    if renamed:
        i, j = renamed[0]
        one = len(renamed) == 1
        parts.append(
            f"{count_text(len(renamed), 'customer')} of this run "
            f"{'has' if one else 'have'} the tax id of a customer of the previous run under "
            f"another id ('{ids[i]}' now, '{prev_ids[j]}' then: renumbered?): matched on the "
            "tax id"
        )
    if joined:
        i, j = joined[0]
        one = len(joined) == 1
        parts.append(
            f"{count_text(len(joined), 'customer')} of the previous run "
            f"{'has' if one else 'have'} the tax id of another customer of this run, into "
            f"which {'it was' if one else 'they were'} merged ('{prev_ids[j]}' into "
            f"'{ids[i]}'): migration counts {'it' if one else 'them'} {MERGED}, not {GONE}"
        )
    return "; ".join(parts)


def _members_note(renumbered: list[tuple[str, str]], merged: list[tuple[str, str]]) -> str:
    """The warning on accounts matched through their records."""
    parts = []
    if renumbered:
        now, then = renumbered[0]
        parts.append(
            f"{count_text(len(renumbered), 'account')} of the previous run "
            f"{'has' if len(renumbered) == 1 else 'have'} another id now, the record with the "
            f"smallest id having left or joined {'it' if len(renumbered) == 1 else 'them'} "
            f"('{then}' then, '{now}' now): matched through the records they share"
        )
    if merged:
        now, then = merged[0]
        parts.append(
            f"{count_text(len(merged), 'account')} of the previous run "
            f"{'was' if len(merged) == 1 else 'were'} merged into another account (its "
            f"records are now in it: '{then}' into '{now}'): migration counts "
            f"{'it' if len(merged) == 1 else 'them'} {MERGED}, not {GONE}"
        )
    return "; ".join(parts) + " (account_members.csv of each run lists the records)"


def match_previous(
    ids: pa.Array | pa.ChunkedArray,
    previous: pa.Table,
    *,
    source: str,
    members_now: pa.Array | pa.ChunkedArray | None = None,
    tax_now: pa.Array | pa.ChunkedArray | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any], list[str]]:
    """Each customer's row in the previous run's table (-1: none), each previous row's
    account it was merged into now (-1: none), how the ids were matched, and warnings.

    Matched on the id, then on a loose form of it, then on the member records of an
    account (``members_now`` and the previous table's ``member_ids``), then on the tax id
    (``tax_now`` and the previous table's ``tax_id``), as :func:`compare_runs` says.
    """
    prev_ids = pc.cast(previous.column("customer_id"), pa.string())
    n_prev = previous.num_rows
    pos, id_match, warnings = _match_ids(
        ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids,
        prev_ids.combine_chunks() if isinstance(prev_ids, pa.ChunkedArray) else prev_ids,
        source,
    )
    merged_into = np.full(n_prev, -1, dtype=np.int64)
    id_match["records"] = 0
    if n_prev and len(ids) and (members_now is not None or "member_ids" in previous.column_names):
        pos, merged_into, renumbered, merged = _match_members(
            ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids,
            members_now,
            prev_ids.combine_chunks() if isinstance(prev_ids, pa.ChunkedArray) else prev_ids,
            previous.column("member_ids") if "member_ids" in previous.column_names else None,
            pos,
        )
        id_match["records"] = len(renumbered)
        if renumbered or merged:
            warnings.append(_members_note(renumbered, merged))
    id_match["tax_id"] = 0
    if n_prev and len(ids) and tax_now is not None and "tax_id" in previous.column_names:
        pos, merged_into, renamed, joined = _match_tax_ids(
            tax_now, previous.column("tax_id"), pos, merged_into
        )
        id_match["tax_id"] = len(renamed)
        if renamed or joined:
            warnings.append(_tax_note(ids, prev_ids, renamed, joined))
    return pos, merged_into, id_match, warnings


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
    previous_classes: list[str] | None = None,
    second_reason: str = "potential",
    members_now: pa.Array | pa.ChunkedArray | None = None,
    tax_now: pa.Array | pa.ChunkedArray | None = None,
) -> Review:
    """Compare this run's classes (codes into ``names``) with a previous run's customers.

    ``value_level``/``potential_level`` map figures to levels under this run's cut points;
    ``interval_days`` is the time between the two runs' analysis dates (the rates are
    annualised over it; ``None``: read as a year); ``previous_classes`` the previous
    run's class names, best first (its manifest's), which orders the rows of its classes
    that this run does not have. The second axis (``potential_*``) is the ease score under
    the scheme profit_ease, its main reason then ``second_reason`` ("ease").
    ``members_now`` (each account's ``member_ids``) and the previous table's
    ``member_ids`` match accounts whose id changed and find those merged into another;
    ``tax_now`` (each account's ``tax_id``) and the previous table's match the customers
    still unmatched whose tax id is the same (a customer renumbered), or find them merged
    into the account that has it now.

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
    pos, merged_into, id_match, warnings = match_previous(
        ids, previous, source=source, members_now=members_now, tax_now=tax_now
    )
    known = pos >= 0
    rank = {c: i for i, c in enumerate(names)}
    order = {c: i for i, c in enumerate(previous_classes or [])}
    prev_names = sorted(
        dict.fromkeys(str(x) for x in prev_cls.tolist() if x is not None),
        key=lambda c: (order.get(c, len(order)), c),
    )
    prev_rank = np.array([rank.get(str(c), -1) for c in prev_cls], dtype=np.int64)
    pr = np.where(known, prev_rank[np.maximum(pos, 0)], -2) if n_prev else np.full(len(pos), -2)
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
    is_merged = merged_into >= 0
    to_names = [*names, *([MERGED] if is_merged.any() else []), GONE]
    from_code = {c: i for i, c in enumerate(from_names)}
    to_code = {c: i for i, c in enumerate(to_names)}
    prev_from = np.array([from_code.get(str(c), len(from_names) - 1) for c in prev_cls], np.int64)
    f_now = np.where(known, prev_from[np.maximum(pos, 0)] if n_prev else 0, from_code[NEW])
    rev_then_prev = np.nan_to_num(figure(previous, "revenue_12m"))
    in_now = np.zeros(n_prev, dtype=bool)
    in_now[pos[known]] = True
    # not in this run: merged into another account, or gone
    out = np.flatnonzero(~in_now)
    gone = np.flatnonzero(~in_now & ~is_merged)
    frm = np.concatenate([f_now, prev_from[out]])
    to = np.concatenate(
        [now, np.where(is_merged[out], to_code.get(MERGED, -1), to_code[GONE]).astype(np.int64)]
    )
    r_then = np.concatenate(
        [
            np.where(known, rev_then_prev[np.maximum(pos, 0)] if n_prev else 0.0, 0.0),
            rev_then_prev[out],
        ]
    )
    r_now = np.concatenate([np.nan_to_num(revenue_now), np.zeros(len(out))])
    cell = frm * len(to_names) + to
    size = len(from_names) * len(to_names)
    customers = np.bincount(cell, minlength=size)
    then_sum = np.bincount(cell, weights=r_then, minlength=size)
    now_sum = np.bincount(cell, weights=r_now, minlength=size)
    fi, ti = np.divmod(np.arange(size), len(to_names))
    keep = ~((fi == from_code[NEW]) & (ti >= len(names)))
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
    if "is_prospect" in previous.column_names and n_prev:
        thin_then |= np.asarray(
            pc.fill_null(previous.column("is_prospect"), False).to_numpy(zero_copy_only=False)
        )[p]
    over_then = np.zeros(len(now), dtype=bool)
    if "value_class_computed" in previous.column_names and n_prev:
        comp = pc.cast(previous.column("value_class_computed"), pa.string()).to_numpy(
            zero_copy_only=False
        )
        over_then = (comp != prev_cls)[p]
    # a reason the previous run's table cannot tell (a run of an older tierwise, without
    # the column) is "unknown", never "cut points" for figures it does not have
    has = set(previous.column_names)
    missing = [
        c
        for c in dict.fromkeys((value_axis, potential_axis, "status", "value_class_computed"))
        if c not in has and not (c == "headroom" and {"wallet", "revenue_12m"} <= has)
    ]
    value_known, pot_known = value_axis not in missing, potential_axis not in missing
    status_known = "status" not in missing
    reason = np.select(
        [
            overridden_now | over_then,
            status_known & (thin_then != thin_now),
            value_known & (dv != 0) & ((not pot_known) | (np.abs(dv) >= np.abs(dp))),
            pot_known & (dp != 0),
            np.full(len(now), not missing),
        ],
        ["override", "status", "value", second_reason, "cut points"],
        default="unknown",
    )
    moved = known & ((change == "up") | (change == "down"))
    mv = np.flatnonzero(moved)
    n_unknown = int((reason[mv] == "unknown").sum())
    if n_unknown:
        warnings.append(
            f"the previous run's customers table ({source}) has no {', '.join(missing)}: "
            f"the main_reason of {n_unknown:,} of the {len(mv):,} class_movers is "
            "'unknown', where those figures would tell it"
        )
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
        # an account merged into another is not counted apart from it
        members_then = (prev_rank == c) & ~is_merged
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
    if n_prev and len(now) and not known.any():
        # every customer new and every previous one gone: rates of nothing
        rates = {}
        warnings.append(
            f"no customer of this run is in the previous run ({source}, "
            f"{count_text(n_prev, 'customer')}, such as '{prev_ids[0].as_py()}'; this run's "
            f"such as '{ids[0].as_py()}'): a run on other data? The review counts every "
            "customer new and every previous one gone, and class_goals use the settings' "
            "goal rates; give --previous an earlier run on the same customers"
        )
    else:
        warnings += _class_notes(names, prev_names, prev_cls, known, pos, rates)
    total_from = customers.reshape(len(from_names), len(to_names))
    summary: dict[str, Any] = {
        "previous_customers": int(n_prev),
        "current_customers": len(now),
        "migration_rows_sum": int(total_from[: from_code[NEW]].sum()),
        "migration_columns_sum": int(total_from[:, : len(names)].sum()),
        "up": int((change == "up").sum()),
        "down": int((change == "down").sum()),
        "same": int((change == "same").sum()),
        "new": int((change == "new").sum()),
        "gone": len(gone),
        "merged": int(is_merged.sum()),
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


def _class_notes(
    names: list[str],
    prev_names: list[str],
    prev_cls: np.ndarray,
    known: np.ndarray,
    pos: np.ndarray,
    rates: dict[str, dict[str, float]],
) -> list[str]:
    """A warning naming the previous run's classes this run does not have (its customers
    then are 'not comparable') and this run's classes without rates seen (their goals use
    the settings' rates), when there are any."""
    gone_names = [c for c in prev_names if c not in names]
    no_rates = [c for c in names if c not in rates]
    if not gone_names and not no_rates:
        return []
    parts = []
    if gone_names:
        was = np.isin(prev_cls[pos[known]].astype(str), gone_names)
        k = int(was.sum())
        parts.append(
            f"the previous run's class{'es' if len(gone_names) > 1 else ''} "
            f"{', '.join(gone_names)} {'are' if len(gone_names) > 1 else 'is'} not among this "
            f"run's ({', '.join(names)}): the class_change of the {count_text(k, 'customer')} "
            f"then in {'them' if len(gone_names) > 1 else 'it'} is 'not comparable' "
            "(migration shows where they went)"
        )
    if no_rates:
        parts.append(
            f"the class goals of {', '.join(no_rates)} use the settings' goal rates, no "
            f"customer of the previous run having been in {'them' if len(no_rates) > 1 else 'it'}"
        )
    return ["; ".join(parts) + " (classes renamed or added in [segments] classes since?)"]


def annualise(up: float, kept: float, capture: float, years: float) -> tuple[float, ...]:
    """Rates seen over ``years`` made yearly (see the module text)."""
    if years == 1.0:
        return up, kept, capture
    up_y = 1.0 - (1.0 - up) ** (1.0 / years)
    kept_y = kept ** (1.0 / years)
    return up_y, kept_y, capture / years
