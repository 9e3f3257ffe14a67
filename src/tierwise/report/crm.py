"""crm_export.csv: one row per account, ready for a CRM's account import.

The columns are public interface (docs/crm.md maps them onto Salesforce, Dynamics 365 and
HubSpot imports): their names and order never depend on which stages ran; a figure a stage
did not produce is left empty. Text from the inputs is neutralised against formula
injection when written (:func:`tierwise.io.outputs.neutralise_formulas`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..io.outputs import write_csv
from ..settings.report import ReportSettings
from ._folder import RunFolder, carrying_rep, float_array, team_reps, text_array

__all__ = ["CRM_COLUMNS", "CRM_SCHEMA", "crm_export", "next_best_products", "write_crm_export"]

#: The export's columns: name → (type, meaning). Order is the file's column order.
CRM_COLUMNS: dict[str, tuple[pa.DataType, str]] = {
    "account_id": (pa.string(), "tierwise account id (the smallest member record id)"),
    "account_name": (pa.string(), "name from the customer master"),
    "member_record_ids": (
        pa.string(),
        "every customer record merged into the account, separated by '; '",
    ),
    "is_prospect": (pa.bool_(), "true for a prospect (no purchases yet)"),
    "owner": (pa.string(), "assigned rep of the coverage plan; the current rep_id without one"),
    "value_class": (pa.string(), "class (A/B/C/D by default), after overrides"),
    "tier": (pa.string(), "account-management programme (gold/silver/bronze by default)"),
    "niche": (pa.string(), "niche segment within the class"),
    "channel": (pa.string(), "planned channel (field, inside, email, distributor)"),
    "visits_per_year": (pa.float64(), "planned field visits a year"),
    "calls_per_year": (pa.float64(), "planned phone calls a year"),
    "emails_per_year": (pa.float64(), "planned e-mails a year"),
    "next_best_products": (pa.string(), "top next best products, best first, '; ' between"),
    "reason": (pa.string(), "why the class and the coverage: class_reason; coverage_reason"),
    "status": (pa.string(), "lifetime status (active, at_risk, lapsed, …)"),
    "revenue_12m": (pa.float64(), "revenue over the last 12 months"),
    "net_profit": (pa.float64(), "net profit after cost-to-serve, profit period"),
    "clv": (pa.float64(), "customer lifetime value"),
    "wallet": (pa.float64(), "estimated total spend on the category (all suppliers)"),
    "headroom": (pa.float64(), "wallet not yet ours"),
    "city": (pa.string(), "city from the customer master"),
    "country": (pa.string(), "country from the customer master"),
    "industry": (pa.string(), "industry from the customer master"),
    "plan_change": (
        pa.string(),
        "with --previous, what changed against the previous plan: same, new, or rep, "
        "channel, frequency joined by ', '; empty without",
    ),
}

CRM_SCHEMA = pa.schema([(name, ty) for name, (ty, _) in CRM_COLUMNS.items()])

#: crm column → customers column it is copied from (when that column exists)
_FROM = {
    "account_id": "customer_id",
    "account_name": "name",
    "member_record_ids": "member_ids",
    "value_class": "value_class",
    "tier": "tier",
    "niche": "niche",
    "channel": "channel",
    "visits_per_year": "visits_per_year",
    "calls_per_year": "calls_per_year",
    "emails_per_year": "emails_per_year",
    "status": "status",
    "revenue_12m": "revenue_12m",
    "net_profit": "net_profit",
    "clv": "clv",
    "wallet": "wallet",
    "headroom": "headroom",
    "city": "city",
    "country": "country",
    "industry": "industry",
    "plan_change": "plan_change",
}


def _labels(cross_sell: pa.Table, item: str) -> pa.Array:
    """The item ids, with the category beside each where one is known and differs."""
    ids = text_array(cross_sell, item)
    if "category" not in cross_sell.column_names or item == "product_category":
        return ids
    cat = text_array(cross_sell, "category")
    both = pc.binary_join_element_wise(ids, " (", cat, ")", "")
    show = pc.fill_null(pc.not_equal(ids, cat), False)
    return pc.if_else(show, both, ids)


def next_best_products(
    cross_sell: pa.Table | None, ids: pa.Array, n: int, *, separator: str = "; "
) -> pa.Array:
    """The top ``n`` items per customer of ``ids``, best first, joined (null when none).

    ``cross_sell`` has ``customer_id``, ``rank`` (1 = best) and ``item`` (or
    ``product_id``/``product_category``), as the cross-sell stage writes it; where it has a
    ``category`` that differs from the item, the category is shown beside it
    ("SKU00132 (Safety & PPE)").

    Examples
    --------
    >>> cs = pa.table({"customer_id": ["a", "a", "b", "a"], "rank": [2, 1, 1, 3],
    ...                "item": ["filters", "machines", "cups", "descaler"]})
    >>> next_best_products(cs, pa.array(["a", "b", "c"]), 2).to_pylist()
    ['machines; filters', 'cups', None]
    >>> cs = cs.append_column("category", pa.array(["coffee", "coffee", None, "care"]))
    >>> next_best_products(cs, pa.array(["a", "b"]), 2).to_pylist()
    ['machines (coffee); filters (coffee)', 'cups']
    """
    if cross_sell is None or "customer_id" not in cross_sell.column_names:
        return pa.nulls(len(ids), pa.string())
    item = next(
        (c for c in ("item", "product_id", "product_category") if c in cross_sell.column_names),
        None,
    )
    if item is None:
        return pa.nulls(len(ids), pa.string())
    ranked = _ranked_rows(cross_sell)
    if ranked is not None:
        customer, starts = ranked
        kept = _first_rows(starts, n)
        shown = [c for c in dict.fromkeys((item, "category")) if c in cross_sell.column_names]
        labels = _labels(cross_sell.select(shown).filter(pa.array(kept)), item)
        first = np.flatnonzero(starts[kept])
        offsets = pa.array(np.r_[first, kept.sum()].astype(np.int32))
        keys = customer.filter(pa.array(kept)).take(pa.array(first))
        joined = pc.binary_join(pa.ListArray.from_arrays(offsets, labels), separator)
        return joined.take(pc.index_in(ids, value_set=keys))
    cs = pa.table(
        {
            "customer_id": text_array(cross_sell, "customer_id"),
            "rank": (
                pc.cast(cross_sell.column("rank"), pa.int64())
                if "rank" in cross_sell.column_names
                else pa.array(np.arange(cross_sell.num_rows, dtype=np.int64))
            ),
            "item": _labels(cross_sell, item),
        }
    )
    cs = cs.sort_by([("customer_id", "ascending"), ("rank", "ascending"), ("item", "ascending")])
    # keep the first n rows of each customer (ranks may have gaps)
    keys = np.asarray(cs.column("customer_id").to_numpy(zero_copy_only=False), dtype=object)
    starts = np.r_[True, keys[1:] != keys[:-1]] if keys.size else np.zeros(0, dtype=bool)
    cs = cs.filter(pa.array(_first_rows(starts, n)))
    g = cs.group_by("customer_id", use_threads=False).aggregate([("item", "list")])
    joined = pc.binary_join(g.column("item_list"), separator)
    idx = pc.index_in(ids, value_set=g.column("customer_id").combine_chunks())
    return joined.combine_chunks().take(idx)


def _ranked_rows(cross_sell: pa.Table) -> tuple[pa.Array, np.ndarray] | None:
    """The customer ids of ``cross_sell`` and where each customer's rows start, when its rows
    are already in the order of :func:`next_best_products` (by customer, each customer's
    ranks rising; as the cross-sell stage writes them), so that no sort is needed; ``None``
    otherwise (a null id or rank, ranks out of order or tied)."""
    if "rank" not in cross_sell.column_names or cross_sell.num_rows == 0:
        return None
    customer = text_array(cross_sell, "customer_id")
    rank = pc.cast(cross_sell.column("rank"), pa.int64()).combine_chunks()
    if customer.null_count or rank.null_count:
        return None
    m = len(customer) - 1
    before, after = customer.slice(0, m), customer.slice(1)
    same = pc.equal(before, after)
    if not pc.all(pc.less_equal(before, after)).as_py():
        return None
    if not pc.all(pc.or_(pc.invert(same), pc.less(rank.slice(0, m), rank.slice(1)))).as_py():
        return None
    starts = np.r_[True, np.logical_not(same.to_numpy(zero_copy_only=False))]
    return customer, starts


def _first_rows(starts: np.ndarray, n: int) -> np.ndarray:
    """Which rows are among the first ``n`` of their run (``starts`` marks each run's first
    row)."""
    pos = np.arange(starts.size)
    first = np.maximum.accumulate(np.where(starts, pos, 0)) if starts.size else pos
    return np.asarray(pos - first < n)


def crm_export(
    customers: pa.Table,
    cross_sell: pa.Table | None = None,
    *,
    settings: ReportSettings | None = None,
    rep_plan: pa.Table | None = None,
) -> pa.Table:
    """One row per account (and prospect) with the columns of :data:`CRM_COLUMNS`.

    Parameters
    ----------
    customers
        The run's customer table (customers.parquet), keyed by ``customer_id``.
    cross_sell
        The cross-sell stage's ``cross_sell`` table (``customer_id``, ``rank``, ``item``);
        without it ``next_best_products`` is empty.
    settings
        The ``[report]`` section (``next_best_products``: how many items).
    rep_plan
        The coverage stage's ``rep_plan`` (the team): an account the plan gives no rep is
        owned by today's ``rep_id`` only when that rep is in the team, so a customer of a
        rep who left (not in the reps file) has no owner, never the rep who left.

    Returns
    -------
    pa.Table
        Exactly the columns of :data:`CRM_SCHEMA`, sorted by ``account_id``. Text is not yet
        neutralised: write it with :func:`write_crm_export` or ``OutputFolder.write_table``.

    Example
    -------
    >>> c = pa.table({"customer_id": ["b", "a"], "name": ["Beta", "=cmd|' /C calc'!A0"],
    ...               "rep_id": ["r1", "r2"], "member_ids": [["b"], ["a", "a2"]]})
    >>> t = crm_export(c)
    >>> t.column("account_id").to_pylist(), t.column("member_record_ids").to_pylist()
    (['a', 'b'], ['a; a2', 'b'])
    >>> t.column("owner").to_pylist(), t.column_names == list(CRM_COLUMNS)
    (['r2', 'r1'], True)
    """
    s = settings or ReportSettings()
    n = customers.num_rows
    cols: dict[str, pa.Array] = {}
    for name, (ty, _) in CRM_COLUMNS.items():
        src = _FROM.get(name)
        if src is not None and src in customers.column_names:
            if pa.types.is_floating(ty):
                cols[name] = pc.cast(customers.column(src), ty).combine_chunks()
            else:
                cols[name] = text_array(customers, src)
        else:
            cols[name] = pa.nulls(n, ty)
    if "is_prospect" in customers.column_names:
        cols["is_prospect"] = pc.fill_null(
            customers.column("is_prospect").combine_chunks().cast(pa.bool_()), False
        )
    else:
        cols["is_prospect"] = pa.array(np.zeros(n, dtype=bool))
    cols["owner"] = carrying_rep(customers, team_reps(rep_plan))
    reasons = [
        text_array(customers, c)
        for c in ("class_reason", "coverage_reason")
        if c in customers.column_names
    ]
    if len(reasons) == 2:
        both = pc.binary_join_element_wise(reasons[0], reasons[1], "; ")
        cols["reason"] = pc.coalesce(both, reasons[0], reasons[1])
    elif reasons:
        cols["reason"] = reasons[0]
    cols["next_best_products"] = next_best_products(
        cross_sell, cols["account_id"], s.next_best_products
    )
    for name in ("visits_per_year", "calls_per_year", "emails_per_year"):
        if name not in customers.column_names:
            continue
        # a null frequency is no contact planned, once the plan exists
        cols[name] = pa.array(np.nan_to_num(float_array(customers, name)))
    out = pa.table(cols, schema=CRM_SCHEMA)
    return out.sort_by([("account_id", "ascending")])


def write_crm_export(
    out_dir: str | Path,
    settings: ReportSettings | None = None,
    *,
    target: str | Path | None = None,
) -> Path:
    """Write crm_export.csv for an output folder (formulas neutralised); return its path.

    Example
    -------
    >>> import tempfile, pyarrow.parquet as pq
    >>> d = Path(tempfile.mkdtemp())
    >>> pq.write_table(pa.table({"customer_id": ["a"], "name": ["@SUM(1)"]}),
    ...                d / "customers.parquet")
    >>> p = write_crm_export(d)
    >>> p.read_text().splitlines()[1].split(",")[:2]
    ['"a"', '"\\'@SUM(1)"']
    """
    folder = RunFolder(out_dir)
    customers = folder.table("customers")
    if customers is None:
        from ..errors import InputError

        raise InputError(
            "customers.parquet is not in the folder", file=str(folder.path), hint="run first"
        )
    table = crm_export(
        customers,
        folder.table("cross_sell"),
        settings=settings,
        rep_plan=folder.table("rep_plan", ["rep_id"]),
    )
    path = Path(target) if target is not None else folder.path / "crm_export.csv"
    write_csv(table, path)
    return path
