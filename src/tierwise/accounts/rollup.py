"""From scored pairs to accounts: clusters, account ids, parent hierarchies, merge report.

Clustering is connected components over the pairs at or above the match threshold, with a
person's stored decisions on top: a confirmed pair is always joined, a rejected pair never
ends in the same account (its component is rebuilt by adding links strongest first and
skipping any link that would join a rejected pair; Splink's own clustering cannot take
cannot-link constraints). Pairs the guards keep apart (names that disagree, tax ids that
differ) are kept apart the same way when other records would chain them into one account,
unless a person confirmed the links that join them. All of it is customer-sized work on
Arrow and NumPy arrays.

An account's id is its smallest member ``customer_id`` (text order), so ids are stable
from run to run and readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..errors import InputError

__all__ = [
    "account_table",
    "class_changes",
    "cluster_pairs",
    "group_accounts",
    "group_totals",
    "merge_summary",
]

_CONFIRMED = 2.0  # edge weight of a confirmed pair: above any probability


def _codes(ids: pa.Array, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    idx = pc.index_in(values, value_set=ids)
    return np.asarray(idx.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _local_pairs(
    a: np.ndarray, b: np.ndarray, nodes: np.ndarray, local: dict[int, int]
) -> set[tuple[int, int]]:
    """The pairs ``a``, ``b`` within ``nodes``, in their positions there, both ways."""
    held = np.isin(a, nodes) & np.isin(b, nodes)
    out = {(local[int(x)], local[int(y)]) for x, y in zip(a[held], b[held], strict=True)}
    return out | {(y, x) for x, y in out}


def _split_rejected(
    labels: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    weight: np.ndarray,
    rej_l: np.ndarray,
    rej_r: np.ndarray,
    apart_l: np.ndarray | None = None,
    apart_r: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Rebuild the components that hold a rejected or an apart pair, strongest links first.

    A rejected pair never ends in one component: a link that would join it is skipped,
    a confirmed one too. An apart pair (``apart_l``, ``apart_r``) is kept apart by the
    links no person confirmed: confirmed links are joined first, whatever they bring
    together. Returns the new labels and the number of confirmed links that had to be
    dropped because they contradicted a rejection.
    """
    if apart_l is None or apart_r is None:
        apart_l = apart_r = np.empty(0, dtype=np.int64)
    both_l = np.concatenate([rej_l, apart_l])
    both_r = np.concatenate([rej_r, apart_r])
    bad = np.unique(labels[both_l][labels[both_l] == labels[both_r]])
    if bad.size == 0:
        return labels, 0
    labels = labels.copy()
    next_label = int(labels.max()) + 1
    conflicts = 0
    for comp in bad:  # components are few: only those holding a rejected or apart pair
        nodes = np.flatnonzero(labels == comp)
        local = {int(n): k for k, n in enumerate(nodes)}
        in_comp = np.isin(left, nodes) & np.isin(right, nodes)
        order = np.lexsort((right[in_comp], left[in_comp], -weight[in_comp]))
        el, er, ew = left[in_comp][order], right[in_comp][order], weight[in_comp][order]

        cannot = _local_pairs(rej_l, rej_r, nodes, local)
        unconfirmed = cannot | _local_pairs(apart_l, apart_r, nodes, local)
        parent = list(range(len(nodes)))
        members: list[set[int]] = [{k} for k in range(len(nodes))]
        for a, b, w in zip(el, er, ew, strict=True):
            ra, rb = _find(parent, local[int(a)]), _find(parent, local[int(b)])
            if ra == rb:
                continue
            kept = cannot if w >= _CONFIRMED else unconfirmed
            if any((x, y) in kept for x in members[ra] for y in members[rb]):
                conflicts += int(w >= _CONFIRMED)
                continue
            parent[rb] = ra
            members[ra] |= members[rb]
            members[rb] = set()
        roots = np.array([_find(parent, k) for k in range(len(nodes))])
        _, new = np.unique(roots, return_inverse=True)
        labels[nodes] = np.where(new == 0, comp, next_label + new - 1)
        next_label += int(new.max())
    return labels, conflicts


def cluster_pairs(
    ids: pa.Array | pa.ChunkedArray | Sequence[str],
    pairs: pa.Table,
    threshold: float,
    decisions: pa.Table | None = None,
    apart: pa.Table | None = None,
) -> tuple[pa.Table, dict[str, int]]:
    """Group records into accounts from scored pairs and stored decisions.

    Parameters
    ----------
    ids
        Every record's id (text); each becomes a member of exactly one account.
    pairs
        ``left_id``, ``right_id``, ``match_probability``: scored pairs (any extra columns
        are ignored; pairs naming unknown ids are ignored).
    threshold
        Pairs at or above this probability are linked.
    decisions
        Optional ``left_id``, ``right_id``, ``decision`` (``confirm``/``reject``), as
        returned by :func:`tierwise.accounts.review.clean_decisions`.
    apart
        Optional ``left_id``, ``right_id``: pairs the links must not bring into one
        account through other records (A~B~C where A and C are plainly two companies);
        only links a person confirmed may. The component holding such a pair is rebuilt
        from its strongest links, as for a rejected pair.

    Returns
    -------
    mapping
        ``customer_id``, ``account_id`` (smallest member id), sorted by ``customer_id``.
    stats
        ``n_links`` (pairs used), ``n_confirmed``, ``n_rejected_split`` (rejections that
        separated records), ``n_conflicts`` (confirmations overruled by a rejection).

    Example
    -------
    >>> import pyarrow as pa
    >>> pairs = pa.table({"left_id": ["a", "b"], "right_id": ["b", "c"],
    ...                   "match_probability": [0.99, 0.2]})
    >>> mapping, _ = cluster_pairs(["a", "b", "c"], pairs, 0.9)
    >>> mapping.column("account_id").to_pylist()
    ['a', 'a', 'c']
    """
    id_arr = _array(ids)
    if id_arr.null_count:
        raise InputError("a customer has no customer_id", column="customer_id")
    id_arr = pc.unique(id_arr)
    id_arr = id_arr.take(pc.sort_indices(id_arr))  # code order == text order
    n = len(id_arr)
    if n == 0:
        empty = pa.table({"customer_id": id_arr, "account_id": id_arr})
        return empty, {"n_links": 0, "n_confirmed": 0, "n_rejected_split": 0, "n_conflicts": 0}

    strong = pairs.filter(pc.greater_equal(pairs["match_probability"], threshold))
    # both ends of the links looked up in one hash of the ids
    ends = _codes(
        id_arr,
        pa.concat_arrays([_array(strong["left_id"]), _array(strong["right_id"])]),
    )
    left, right = ends[: strong.num_rows], ends[strong.num_rows :]
    weight = np.asarray(strong["match_probability"].to_numpy(zero_copy_only=False), dtype=float)
    rej_l = rej_r = np.empty(0, dtype=np.int64)
    n_confirmed = 0
    n_split = 0
    if decisions is not None and decisions.num_rows:
        conf = decisions.filter(pc.equal(decisions["decision"], "confirm"))
        rej = decisions.filter(pc.equal(decisions["decision"], "reject"))
        cl, cr = _codes(id_arr, conf["left_id"]), _codes(id_arr, conf["right_id"])
        ok = (cl >= 0) & (cr >= 0)
        n_confirmed = int(ok.sum())
        left = np.concatenate([left, cl[ok]])
        right = np.concatenate([right, cr[ok]])
        weight = np.concatenate([weight, np.full(int(ok.sum()), _CONFIRMED)])
        rej_l, rej_r = _codes(id_arr, rej["left_id"]), _codes(id_arr, rej["right_id"])
        ok = (rej_l >= 0) & (rej_r >= 0)
        rej_l, rej_r = rej_l[ok], rej_r[ok]
        if rej_l.size:
            # how many rejections change anything: pairs that would otherwise share an account
            ok = (left >= 0) & (right >= 0)
            g0 = coo_matrix((np.ones(int(ok.sum())), (left[ok], right[ok])), shape=(n, n))
            _, lab0 = connected_components(g0, directed=False)
            n_split = int(np.sum(lab0[rej_l] == lab0[rej_r]))
            # a rejected pair never links directly
            key = np.minimum(left, right) * n + np.maximum(left, right)
            rkey = np.minimum(rej_l, rej_r) * n + np.maximum(rej_l, rej_r)
            keep = ~np.isin(key, rkey)
            left, right, weight = left[keep], right[keep], weight[keep]
    valid = (left >= 0) & (right >= 0)
    left, right, weight = left[valid], right[valid], weight[valid]

    graph = coo_matrix((np.ones(left.size), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    conflicts = 0
    apart_l = apart_r = np.empty(0, dtype=np.int64)
    if apart is not None and apart.num_rows:
        ends = _codes(
            id_arr, pa.concat_arrays([_array(apart["left_id"]), _array(apart["right_id"])])
        )
        apart_l, apart_r = ends[: apart.num_rows], ends[apart.num_rows :]
        ok = (apart_l >= 0) & (apart_r >= 0)
        apart_l, apart_r = apart_l[ok], apart_r[ok]
    if rej_l.size or apart_l.size:
        labels, conflicts = _split_rejected(
            labels, left, right, weight, rej_l, rej_r, apart_l, apart_r
        )
    # account id = smallest member: codes are in text order, so the smallest code
    first = np.full(labels.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n))
    account = id_arr.take(pa.array(first[labels]))
    mapping = pa.table({"customer_id": id_arr, "account_id": account})
    stats = {
        "n_links": int(left.size),
        "n_confirmed": n_confirmed,
        "n_rejected_split": n_split,
        "n_conflicts": conflicts,
    }
    return mapping, stats


def group_accounts(customers: pa.Table, mapping: pa.Table) -> tuple[pa.Table, dict[str, int]]:
    """Follow ``parent_id`` up to the top of each company group.

    Parameters
    ----------
    customers
        ``customer_id`` and ``parent_id`` (the customer_id of the parent company, NULL for
        none; a parent missing from the customer master is ignored).
    mapping
        ``customer_id``, ``account_id`` from :func:`cluster_pairs`.

    Returns
    -------
    mapping
        The input mapping plus ``parent_account_id`` (the account of the record's direct
        parent, NULL for none) and ``group_account_id`` (the account at the top of the
        chain: a parent account sums all its descendants).
    stats
        ``n_with_parent``, ``n_groups`` (group accounts with children), ``n_cycles``
        (records in parent_id loops, each loop kept as its own group).

    Example
    -------
    >>> import pyarrow as pa
    >>> cust = pa.table({"customer_id": ["h", "s1", "s2"], "parent_id": [None, "h", "s1"]})
    >>> m = pa.table({"customer_id": ["h", "s1", "s2"], "account_id": ["h", "s1", "s2"]})
    >>> out, _ = group_accounts(cust, m)
    >>> out.column("group_account_id").to_pylist()
    ['h', 'h', 'h']
    """
    accounts = pc.unique(mapping["account_id"])
    accounts = accounts.take(pc.sort_indices(accounts))
    k = len(accounts)
    m = mapping.num_rows
    parent_of_account = np.arange(k)
    has_parent = 0
    if "parent_id" in customers.column_names and customers.num_rows:
        # one hash of the mapping's ids for the records and their parents, and one of the
        # accounts for the mapping's rows, the records' and the parents'
        c = customers.num_rows
        both = pa.concat_arrays([_array(customers["customer_id"]), _array(customers["parent_id"])])
        acc_of = _lookup(both, mapping["customer_id"], mapping["account_id"])
        codes = _codes(accounts, pa.concat_arrays([_array(mapping["account_id"]), acc_of]))
        acc_code = codes[:m]  # per mapping row
        child_acc, par_acc = codes[m : m + c], codes[m + c :]
        ok = (child_acc >= 0) & (par_acc >= 0) & (child_acc != par_acc)
        has_parent = int(ok.sum())
        # several members of one account may name different parents: take the smallest
        cand = np.full(k, k, dtype=np.int64)
        np.minimum.at(cand, child_acc[ok], par_acc[ok])
        parent_of_account = np.where(cand < k, cand, np.arange(k))
    else:
        acc_code = _codes(accounts, mapping["account_id"])  # per mapping row
    direct = parent_of_account.copy()
    top = parent_of_account.copy()
    for _ in range(int(np.ceil(np.log2(max(k, 2)))) + 2):  # pointer jumping
        top = top[top]
    cyc = top[top] != top
    cyc |= direct[top] != top  # top must be a root
    n_cycles = int(cyc.sum())
    top = np.where(cyc, np.arange(k), top)
    direct_acc = accounts.take(pa.array(direct[acc_code]))
    direct_acc = pc.if_else(
        pc.equal(direct_acc, mapping["account_id"]), pa.scalar(None, pa.string()), direct_acc
    )
    out = mapping.append_column("parent_account_id", direct_acc).append_column(
        "group_account_id", accounts.take(pa.array(top[acc_code]))
    )
    stats = {
        "n_with_parent": has_parent,
        "n_groups": int(np.unique(top[top != np.arange(k)]).size),
        "n_cycles": n_cycles,
    }
    return out, stats


def group_totals(
    values: pa.Table,
    mapping: pa.Table,
    columns: Sequence[str],
    *,
    prefix: str = "group_",
) -> pa.Table:
    """Each account's figures summed over itself and every account below it.

    A parent company's account sums its children's (and their children's) figures, by the
    ``parent_id`` hierarchy that :func:`group_accounts` resolved; the account at the top of a
    group therefore carries the whole group's total.

    Parameters
    ----------
    values
        One row per account: ``customer_id`` (the account id) and the numeric ``columns``
        (e.g. revenue, revenue_12m, net_profit). NULL counts as 0; an account missing
        from ``values`` adds nothing.
    mapping
        ``customer_id``, ``account_id``, ``parent_account_id``, ``group_account_id`` from
        :func:`group_accounts`. Accounts in a ``parent_id`` loop (kept apart there) sum
        only themselves.
    columns
        The columns to sum.
    prefix
        Prefix of the output columns.

    Returns
    -------
    ``customer_id`` (account id, in the order of ``values``), ``<prefix>n_accounts``
    (accounts in its part of the hierarchy, itself included) and ``<prefix><column>`` for
    each column (float64); NULL for a ``values`` row that is no account of ``mapping``.

    Example
    -------
    >>> import pyarrow as pa
    >>> m = pa.table({"customer_id": ["h", "s1", "s2"], "account_id": ["h", "s1", "s2"],
    ...               "parent_account_id": [None, "h", "s1"],
    ...               "group_account_id": ["h", "h", "h"]})
    >>> v = pa.table({"customer_id": ["h", "s1", "s2"], "revenue": [1.0, 10.0, 100.0]})
    >>> group_totals(v, m, ["revenue"]).column("group_revenue").to_pylist()
    [111.0, 110.0, 100.0]
    """
    acc_ids = _array(mapping["account_id"])
    accounts = pc.unique(acc_ids)
    accounts = accounts.take(pc.sort_indices(accounts))
    k = len(accounts)
    # one parent per account (every member row of an account carries the same one)
    first_row = np.full(k, -1, dtype=np.int64)
    codes = _codes(accounts, acc_ids)
    np.maximum.at(first_row, codes, np.arange(len(codes)))
    parent = _codes(accounts, _array(mapping["parent_account_id"]).take(pa.array(first_row)))
    group = _codes(accounts, _array(mapping["group_account_id"]).take(pa.array(first_row)))
    # an account heading its own group (a top, or one kept apart in a parent_id loop)
    # passes nothing upwards
    parent = np.where(group == np.arange(k), -1, parent)

    row_of = _codes(accounts, _array(values["customer_id"]))  # account code per values row
    known = row_of >= 0
    own = np.zeros((k, len(columns)), dtype=np.float64)
    for j, col in enumerate(columns):
        v = pc.fill_null(values[col].cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        np.add.at(own[:, j], row_of[known], np.asarray(v, dtype=np.float64)[known])

    # every account adds its own figures to each of its ancestors in turn
    total = own.copy()
    n_acc = np.ones(k, dtype=np.int64)
    at = parent
    for _ in range(k):  # once per level of the hierarchy (a few), vectorised over accounts
        up = at >= 0
        if not up.any():
            break
        np.add.at(total, at[up], own[up])
        np.add.at(n_acc, at[up], 1)
        at = np.where(up, parent[np.maximum(at, 0)], -1)

    out_rows = np.where(known, row_of, 0)
    cols: dict[str, Any] = {"customer_id": values["customer_id"]}
    cols[f"{prefix}n_accounts"] = pa.array(np.where(known, n_acc[out_rows], 0).astype(np.int64))
    for j, col in enumerate(columns):
        cols[f"{prefix}{col}"] = pa.array(np.where(known, total[out_rows, j], np.nan), mask=~known)
    return pa.table(cols)


def _array(values: Any) -> pa.Array:
    """A single-chunk text array from an Arrow array, chunked array or Python list."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    elif not isinstance(values, pa.Array):
        values = pa.array(values, type=pa.string())
    return values.cast(pa.string())


def _lookup(keys: Any, table_keys: Any, values: Any) -> pa.Array:
    """``values`` at the position of each key in ``table_keys`` (NULL where absent)."""
    return _array(values).take(pc.index_in(_array(keys), value_set=_array(table_keys)))


def account_table(customers: pa.Table, mapping: pa.Table) -> pa.Table:
    """One row per account: its members and a representative name.

    Parameters
    ----------
    customers
        ``customer_id`` and optionally ``name``, ``branch``, ``city``.
    mapping
        ``customer_id``, ``account_id`` and optionally ``group_account_id``.

    Returns
    -------
    ``account_id``, ``member_ids`` (list, sorted), ``n_members``, ``name`` (the account
    record's own name, i.e. the smallest member's), ``branches`` (distinct branch names),
    ``group_account_id`` (when given), sorted by ``account_id``.

    Example
    -------
    >>> import pyarrow as pa
    >>> cust = pa.table({"customer_id": ["1", "2"], "name": ["ACME Ltd", "Acme Limited"]})
    >>> m = pa.table({"customer_id": ["1", "2"], "account_id": ["1", "1"]})
    >>> account_table(cust, m).column("n_members").to_pylist()
    [2]
    """
    m = mapping.sort_by([("account_id", "ascending"), ("customer_id", "ascending")])
    acc = m["account_id"].combine_chunks()
    n = m.num_rows
    starts = (
        np.flatnonzero(
            np.r_[
                True, pc.not_equal(acc.slice(1), acc.slice(0, n - 1)).to_numpy(zero_copy_only=False)
            ]
        )
        if n
        else np.empty(0, dtype=np.int64)
    )
    offsets = pa.array(np.r_[starts, n].astype(np.int32))
    cols: dict[str, Any] = {
        "account_id": acc.take(pa.array(starts)),
        "member_ids": pa.ListArray.from_arrays(offsets, m["customer_id"].combine_chunks()),
        "n_members": pa.array(np.diff(np.r_[starts, n]).astype(np.int64)),
    }
    ids = customers["customer_id"].combine_chunks().cast(pa.string())
    first = m["customer_id"].combine_chunks().take(pa.array(starts))  # == account_id
    if "name" in customers.column_names:
        names = customers["name"].combine_chunks().cast(pa.string())
        cols["name"] = names.take(pc.index_in(first, value_set=ids))
    if "branch" in customers.column_names:
        b = pa.table(
            {"customer_id": ids, "branch": customers["branch"].combine_chunks().cast(pa.string())}
        )
        b = b.filter(pc.is_valid(b["branch"]))
        b = b.join(m.select(["customer_id", "account_id"]), "customer_id").sort_by(
            [("account_id", "ascending"), ("branch", "ascending")]
        )
        g = b.group_by("account_id", use_threads=False).aggregate([("branch", "distinct")])
        lists = g["branch_distinct"].combine_chunks()
        idx = pc.index_in(cols["account_id"], value_set=g["account_id"].combine_chunks())
        cols["branches"] = lists.take(idx)
    if "group_account_id" in m.column_names:
        cols["group_account_id"] = m["group_account_id"].combine_chunks().take(pa.array(starts))
    return pa.table(cols)


def merge_summary(accounts: pa.Table, *, top: int = 10) -> dict[str, Any]:
    """Headline figures of what was merged, for the manifest.

    Returns ``n_records``, ``n_accounts``, ``n_merged_accounts`` (accounts of two or more
    records), ``n_records_merged`` (records in those), ``largest`` (the ``top`` biggest
    merged accounts, ``[accounts] report_examples``: account_id, name, n_members).

    Example
    -------
    >>> import pyarrow as pa
    >>> acc = pa.table({"account_id": ["1", "3"], "n_members": [2, 1], "name": ["A", "B"]})
    >>> merge_summary(acc)["n_merged_accounts"]
    1
    """
    n = np.asarray(accounts["n_members"].to_numpy(zero_copy_only=False), dtype=np.int64)
    merged = accounts.filter(pc.greater(accounts["n_members"], 1))
    largest = merged.sort_by([("n_members", "descending"), ("account_id", "ascending")]).slice(
        0, top
    )
    cols = [c for c in ("account_id", "name", "n_members") if c in largest.column_names]
    return {
        "n_records": int(n.sum()),
        "n_accounts": int(accounts.num_rows),
        "n_merged_accounts": int(merged.num_rows),
        "n_records_merged": int(n[n > 1].sum()),
        "largest": largest.select(cols).to_pylist(),
    }


def class_changes(
    before: pa.Table, after: pa.Table, mapping: pa.Table, *, noun: str = "account"
) -> pa.Table:
    """The accounts whose class changes because their records were merged.

    Parameters
    ----------
    before
        ``customer_id``, ``class``: each record's class computed record by record.
    after
        ``account_id``, ``class``: each account's class computed on the merged account.
    mapping
        ``customer_id``, ``account_id``.
    noun
        Word used in the description ("account", "group").

    Returns
    -------
    ``account_id``, ``n_members``, ``member_ids``, ``classes_before`` (list, by member),
    ``class_after``, ``upgraded`` (the account's class is better than every one of its
    records' — classes are letters, A best — so the merge lifted it: "3 records (C, C, B)
    → one A account"; false where a member already had the class and the others only
    join it, as in "2 records (A, D) → one A account"), ``description``; only accounts
    with two or more records where some member's class differs from the account's,
    upgraded accounts first, then by ``account_id``.

    Example
    -------
    >>> import pyarrow as pa
    >>> m = pa.table({"customer_id": ["1", "2", "3"], "account_id": ["1", "1", "1"]})
    >>> before = pa.table({"customer_id": ["1", "2", "3"], "class": ["C", "C", "B"]})
    >>> after = pa.table({"account_id": ["1"], "class": ["A"]})
    >>> class_changes(before, after, m).column("description").to_pylist()
    ['3 records (C, C, B) → one A account']
    """
    b = before.select(["customer_id", "class"]).rename_columns(["customer_id", "class_before"])
    b = b.cast(pa.schema([("customer_id", pa.string()), ("class_before", pa.string())]))
    a = after.select(["account_id", "class"]).rename_columns(["account_id", "class_after"])
    a = a.cast(pa.schema([("account_id", pa.string()), ("class_after", pa.string())]))
    m = mapping.select(["customer_id", "account_id"]).join(b, "customer_id", join_type="left outer")
    m = m.join(a, "account_id", join_type="left outer")
    m = m.sort_by([("account_id", "ascending"), ("customer_id", "ascending")])
    differs = pc.fill_null(pc.not_equal(m["class_before"], m["class_after"]), True)
    m = m.append_column("differs", differs)
    g = m.group_by("account_id", use_threads=False).aggregate(
        [
            ("customer_id", "list"),
            ("customer_id", "count"),
            ("class_before", "list"),
            ("class_after", "first"),
            ("differs", "any"),
        ]
    )
    g = g.filter(pc.and_(pc.greater(g["customer_id_count"], 1), g["differs_any"]))
    g = g.sort_by("account_id")
    rows = []
    for acc, ids, n, cls, after_cls in zip(
        g["account_id"].to_pylist(),
        g["customer_id_list"].to_pylist(),
        g["customer_id_count"].to_pylist(),
        g["class_before_list"].to_pylist(),
        g["class_after_first"].to_pylist(),
        strict=True,
    ):
        listed = ", ".join("?" if c is None else str(c) for c in cls)
        desc = f"{n} records ({listed}) → one {after_cls if after_cls is not None else '?'} {noun}"
        known = [c for c in cls if c is not None]
        upgraded = after_cls is not None and bool(known) and all(after_cls < c for c in known)
        rows.append((acc, n, ids, cls, after_cls, upgraded, desc))
    rows.sort(key=lambda r: (not r[5], r[0]))
    names = [
        "account_id",
        "n_members",
        "member_ids",
        "classes_before",
        "class_after",
        "upgraded",
        "description",
    ]
    types = [
        pa.string(),
        pa.int64(),
        pa.list_(pa.string()),
        pa.list_(pa.string()),
        pa.string(),
        pa.bool_(),
        pa.string(),
    ]
    return pa.table(
        {
            name: pa.array([r[i] for r in rows], type=t)
            for i, (name, t) in enumerate(zip(names, types, strict=True))
        }
    )
