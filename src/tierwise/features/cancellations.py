"""Cancellations paired with the purchase lines they cancel, in the engine.

A cancellation line (``is_cancel``, decided by validation: an order id starting with
``[validate] cancel_prefix``) carries no link to its order. It is paired with a purchase
line (neither a return nor a cancellation) of the same customer and product:

1. **exact**: the same absolute quantity, the nearest earlier purchase. Within each
   customer × product × quantity the lines are taken in time order (date, purchases before
   cancellations on the same day, then file row) and each cancellation takes the nearest
   earlier purchase not yet cancelled (last in, first out). This is bracket matching: with
   ``S`` the running count of purchases minus cancellations and ``M`` its running minimum,
   the number of purchases still open after each line is ``L = S - min(0, M)``; a
   cancellation with none open is left over, and the one that closes level ``L + 1`` is the
   purchase that opened it last: the row just before it among the lines at that level.
   Window functions only; no join, no row loop.
2. **partial**: a cancellation left over takes the nearest earlier purchase of the product,
   not cancelled in step 1, with at least its quantity; a purchase line is cancelled by
   partial cancellations only up to its own quantity (later ones beyond it stay unpaired).

Lines without a quantity are matched on the absolute revenue instead (among themselves),
and lines without a product id as one product. What the later stages read:

=====================  ======================================================================
column                 meaning
=====================  ======================================================================
cancelled_quantity     on purchase lines: units cancelled (0 when none; null without quantity)
cancelled_revenue      on purchase lines: revenue cancelled, positive (minus the cancellation
                       lines' revenue); 0 when none
cancelled_share        on purchase lines: share of the line cancelled, 0..1 (1 = no purchase)
cancel_pairing         on lines validation marked as cancellations: "exact", "partial" or
                       "unpaired"; null on the other lines
is_cancel              true only for paired cancellations
is_return              true for returns and unpaired cancellations (they count as returns);
                       false on paired cancellations, whatever their sign
=====================  ======================================================================

Every row stays (row accounting is unchanged) and revenue is untouched, so revenue sums
stay net. :func:`net_lines` gives each line's net purchase (what features and lifetime
read): an order cancelled in full is no purchase day and no order; a partly cancelled one
counts with its reduced value.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from ..engine import ROW, Engine, exact_sum, fetch
from ..settings import FeatureSettings

__all__ = ["PAIRING_COLUMNS", "net_lines", "pair_cancellations"]

#: Columns :func:`pair_cancellations` adds.
PAIRING_COLUMNS = ("cancelled_quantity", "cancelled_revenue", "cancelled_share", "cancel_pairing")

_F = "float64"


def _line_keys(tx: ir.Table) -> ir.Table:
    """The lines that take part (purchases and cancellations) with their matching keys."""
    cancel = tx.is_cancel.fill_null(False)
    ret = tx.is_return.fill_null(False) if "is_return" in tx.columns else ibis.literal(False)
    has_q = (
        tx.quantity.notnull() & (tx.quantity != 0)
        if "quantity" in tx.columns
        else ibis.literal(False)
    )
    qty = tx.quantity.cast(_F).abs() if "quantity" in tx.columns else ibis.null(_F)
    product = (
        tx.product_id.cast("string").fill_null("")
        if "product_id" in tx.columns
        else ibis.literal("")
    )
    t = tx.filter(tx.customer_id.notnull() & tx.date.notnull() & (cancel | ~ret))
    return t.select(
        _line=t[ROW],
        customer_id=t.customer_id,
        _product=product,
        _by_qty=has_q,
        _measure=ibis.ifelse(has_q, qty, t.revenue.cast(_F).abs()),
        _qty=ibis.ifelse(has_q, qty, ibis.null(_F)),
        date=t.date,
        _c=cancel.cast("int8"),
        revenue=t.revenue.cast(_F),
    )


def _exact_pairs(lines: ir.Table) -> ir.Table:
    """Exact pairs by bracket matching: ``_line`` (purchase), ``_cline`` (cancellation)."""
    g = ["customer_id", "_product", "_by_qty", "_measure"]
    order = ["date", "_c", "_line"]
    run = ibis.cumulative_window(group_by=g, order_by=order)
    t = lines.mutate(_s=ibis.ifelse(lines._c == 1, -1, 1).sum().over(run))
    t = t.mutate(_m=t._s.min().over(run))
    t = t.mutate(_l=t._s - ibis.least(0, t._m))
    w = ibis.window(group_by=g, order_by=order)
    t = t.mutate(_before=t._l.lag().over(w).fill_null(0))
    # a cancellation with no purchase open is left over; the others close level _before
    t = t.filter((t._c == 0) | (t._before > 0))
    t = t.mutate(_lvl=ibis.ifelse(t._c == 1, t._before, t._l))
    lw = ibis.window(group_by=[*g, "_lvl"], order_by=order)
    t = t.mutate(_prev_line=t._line.lag().over(lw), _prev_c=t._c.lag().over(lw))
    pairs = t.filter((t._c == 1) & (t._prev_c == 0))
    return pairs.select(_line=pairs._prev_line, _cline=pairs._line)


def _partial_pairs(lines: ir.Table, exact: ir.Table) -> ir.Table:
    """Partial pairs among the lines left by the exact step: ``_line``, ``_cline``."""
    used = exact.select(_k=exact._line).union(exact.select(_k=exact._cline))
    left = lines.anti_join(used, lines._line == used._k)
    c = left.filter(left._c == 1)
    p = left.filter(left._c == 0)
    j = c.join(
        p,
        [
            c.customer_id == p.customer_id,
            c._product == p._product,
            c._by_qty == p._by_qty,
            p._measure >= c._measure,
            p.date <= c.date,
        ],
    ).select(
        _cline=c._line,
        _line=p._line,
        _cmeasure=c._measure,
        _pmeasure=p._measure,
        _pdate=p.date,
        _cdate=c.date,
    )
    nearest = ibis.window(group_by="_cline", order_by=[ibis.desc("_pdate"), ibis.desc("_line")])
    j = j.mutate(_rank=ibis.row_number().over(nearest))
    j = j.filter(j._rank == 0)
    # a purchase line absorbs partial cancellations in time order up to its own quantity
    fill = ibis.cumulative_window(group_by="_line", order_by=["_cdate", "_cline"])
    j = j.mutate(_taken=j._cmeasure.sum().over(fill))
    j = j.filter(j._taken <= j._pmeasure)
    return j.select("_line", "_cline")


def pair_cancellations(
    tx: ir.Table, settings: FeatureSettings | None = None, *, engine: Engine | None = None
) -> tuple[ir.Table, dict[str, Any]]:
    """Pair each cancellation line with the purchase line it cancels.

    Parameters
    ----------
    tx
        Canonical transactions (Ibis): customer_id, date, revenue, is_cancel, is_return and,
        where the file has them, product_id, quantity and ``_row`` (each line's number; made
        up in table order when absent).
    settings
        ``[features]``: ``pair_cancellations`` (off: every cancellation counts as a return)
        and ``partial_cancellations``.
    engine
        With an engine the pairs (two small rows per pair) are computed once and kept in
        it, so that the later stages, which read the returned table several times, only
        join them to the lines; the counts are taken there. Without one everything stays an
        expression and the counts run through the table's own backend.

    Returns
    -------
    (ibis.Table, dict)
        The transactions with :data:`PAIRING_COLUMNS` (see the module docstring), and the
        counts for the manifest: cancellation_lines, paired_exact, paired_partial,
        unpaired (counted as returns), purchase_lines_cancelled_in_full,
        purchase_lines_cancelled_in_part, cancelled_revenue.

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> eng = Engine()
    >>> d = dt.date(2024, 3, 1)
    >>> tx = eng.from_arrow(pa.table({
    ...     "customer_id": ["a", "a", "a", "b"], "date": [d, d, d, d],
    ...     "order_id": ["1", "C1", "2", "C2"], "product_id": ["p", "p", "q", "p"],
    ...     "quantity": [5.0, -5.0, 1.0, -2.0], "revenue": [50.0, -50.0, 9.0, -20.0],
    ...     "is_return": [False, True, False, True],
    ...     "is_cancel": [False, True, False, True], "_row": [2, 3, 4, 5]}))
    >>> paired, counts = pair_cancellations(tx, engine=eng)
    >>> counts["paired_exact"], counts["unpaired"]
    (1, 1)
    >>> eng.to_arrow(paired.order_by("_row")).column("cancelled_share").to_pylist()
    [1.0, 0.0, 0.0, 0.0]
    """
    cfg = settings or FeatureSettings()
    if ROW not in tx.columns:
        tx = tx.mutate(**{ROW: (ibis.row_number() + 1).cast("int64")})
        if engine is not None:  # number the lines once, not in every query that reads them
            tx = engine.materialize(tx, engine.fresh_name("numbered"))
    if "is_cancel" not in tx.columns:
        tx = tx.mutate(is_cancel=ibis.literal(False))
    cancel = tx.is_cancel.fill_null(False)
    kept: list[ir.Table] = []
    marks = _marks(tx, cfg, engine, kept) if cfg.pair_cancellations else _no_marks()
    if engine is not None:  # small: two rows per pair
        marks = engine.materialize(marks, engine.fresh_name("cancel_pairs"))
        for table in kept:
            engine.release(table)
    out = tx.left_join(marks, tx[ROW] == marks._mline)
    paired_c = out._ckind.notnull()
    has_q = out.quantity.notnull() if "quantity" in tx.columns else ibis.literal(False)
    ret = out.is_return.fill_null(False) if "is_return" in tx.columns else ibis.literal(False)
    result = out.select(
        *[c for c in tx.columns if c not in ("is_cancel", "is_return")],
        is_return=ibis.ifelse(cancel, ~paired_c, ret),
        is_cancel=cancel & paired_c,
        cancelled_quantity=ibis.ifelse(has_q, out._cq.fill_null(0.0), ibis.null(_F)),
        cancelled_revenue=out._cr.fill_null(0.0),
        cancelled_share=out._share.fill_null(0.0),
        cancel_pairing=ibis.ifelse(cancel, out._ckind.fill_null("unpaired"), ibis.null("string")),
    )
    return result, _counts(tx, marks)


def _no_marks() -> ir.Table:
    """The empty pairing (every cancellation unpaired)."""
    schema = {"_mline": "int64", "_cq": _F, "_cr": _F, "_share": _F, "_ckind": "string"}
    return ibis.memtable({k: [] for k in schema}, schema=ibis.schema(schema))


def _marks(
    tx: ir.Table,
    cfg: FeatureSettings,
    engine: Engine | None = None,
    kept: list[ir.Table] | None = None,
) -> ir.Table:
    """One row per paired line: purchase lines with what was cancelled (``_cq``, ``_cr``,
    ``_share``), cancellation lines with how they were paired (``_ckind``).

    With an engine the lines that take part are computed once and kept in it (and added to
    ``kept``, for the caller to free once the marks are computed): the exact step, the
    partial step and the sums each read them, and they are a few percent of the
    transactions (the lines of the customer x product groups with a cancellation)."""
    lines = _line_keys(tx)
    # only the customer x product groups with a cancellation take part
    keys = lines.filter(lines._c == 1).select("customer_id", "_product").distinct()
    lines = lines.semi_join(
        keys, [lines.customer_id == keys.customer_id, lines._product == keys._product]
    )
    if engine is not None:
        lines = engine.materialize(lines, engine.fresh_name("cancel_lines"))
        if kept is not None:
            kept.append(lines)
    exact = _exact_pairs(lines).mutate(_kind=ibis.literal("exact"))
    pairs = exact
    if cfg.partial_cancellations:
        partial = _partial_pairs(lines, exact.select("_line", "_cline"))
        pairs = exact.union(partial.mutate(_kind=ibis.literal("partial")))
    # what each pair moves: from the cancellation line
    cl = lines.filter(lines._c == 1)
    pairs = pairs.join(cl, pairs._cline == cl._line).select(
        _line=pairs._line,
        _cline=pairs._cline,
        _kind=pairs._kind,
        _cmeasure=cl._measure,
        _cqty=cl._qty,
        _crev=cl.revenue,
    )
    per_purchase = pairs.group_by("_line").aggregate(
        _cq=pairs._cqty.sum(),
        _cm=pairs._cmeasure.sum(),
        _cr=exact_sum(-pairs._crev),
    )
    pl = lines.filter(lines._c == 0).select("_line", _pm=lines._measure)
    per_purchase = per_purchase.join(pl, "_line").select(
        _mline=per_purchase._line,
        _cq=per_purchase._cq,
        _cr=per_purchase._cr,
        _share=ibis.least(
            ibis.ifelse(pl._pm > 0, per_purchase._cm / pl._pm, ibis.literal(1.0)), 1.0
        ),
        _ckind=ibis.null("string"),
    )
    per_cancel = pairs.select(
        _mline=pairs._cline,
        _cq=ibis.null(_F),
        _cr=ibis.null(_F),
        _share=ibis.null(_F),
        _ckind=pairs._kind,
    )
    return per_purchase.union(per_cancel)


def _counts(tx: ir.Table, marks: ir.Table) -> dict[str, Any]:
    """The pairing counts for the manifest (from the pairs and one scan of is_cancel)."""

    def run(expr: ir.Table) -> dict[str, Any]:
        return fetch(expr, "cancellation pairs").to_pylist()[0]

    n = run(tx.aggregate(lines=tx.is_cancel.fill_null(False).cast("int64").sum()))["lines"]
    k, share = marks._ckind, marks._share
    m = run(
        marks.aggregate(
            paired_exact=(k == "exact").cast("int64").sum(),
            paired_partial=(k == "partial").cast("int64").sum(),
            purchase_lines_cancelled_in_full=(share >= 1.0).cast("int64").sum(),
            purchase_lines_cancelled_in_part=((share > 0) & (share < 1.0)).cast("int64").sum(),
            cancelled_revenue=exact_sum(marks._cr),
        )
    )
    exact, part = int(m["paired_exact"] or 0), int(m["paired_partial"] or 0)
    return {
        "cancellation_lines": int(n or 0),
        "paired_exact": exact,
        "paired_partial": part,
        "unpaired": int(n or 0) - exact - part,
        "purchase_lines_cancelled_in_full": int(m["purchase_lines_cancelled_in_full"] or 0),
        "purchase_lines_cancelled_in_part": int(m["purchase_lines_cancelled_in_part"] or 0),
        "cancelled_revenue": float(m["cancelled_revenue"] or 0.0),
    }


def net_lines(tx: ir.Table) -> ir.Table:
    """Each line with its net purchase: ``is_purchase``, ``is_credit``, ``net_revenue``,
    ``net_quantity``, ``net_cost``.

    A purchase line is neither a return nor a cancellation and not cancelled in full;
    its net revenue, quantity and cost are what is left after the cancellations paired with
    it. A paired cancellation line nets to zero (its revenue is taken off its purchase), so
    net revenue sums to the same total as revenue. A credit line is a return or an unpaired
    cancellation; it keeps its (negative) revenue. Transactions that did not go through
    :func:`pair_cancellations` (no ``cancel_pairing`` column) have every cancellation
    unpaired.

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> eng = Engine()
    >>> tx = eng.from_arrow(pa.table({
    ...     "customer_id": ["a", "a"], "date": [dt.date(2024, 3, 1)] * 2,
    ...     "revenue": [100.0, 30.0], "quantity": [10.0, 3.0],
    ...     "is_return": [False, False], "is_cancel": [False, False],
    ...     "cancelled_quantity": [4.0, 3.0], "cancelled_revenue": [40.0, 30.0],
    ...     "cancelled_share": [0.4, 1.0], "cancel_pairing": pa.nulls(2, pa.string())}))
    >>> n = eng.to_arrow(net_lines(tx))
    >>> n.column("is_purchase").to_pylist(), n.column("net_revenue").to_pylist()
    ([True, False], [60.0, 0.0])
    """
    ret = tx.is_return.fill_null(False) if "is_return" in tx.columns else ibis.literal(False)
    cancel = tx.is_cancel.fill_null(False) if "is_cancel" in tx.columns else ibis.literal(False)
    paired = "cancel_pairing" in tx.columns
    sale = ~ret & ~cancel
    paired_cancel = cancel if paired else ibis.literal(False)
    credit = ret if paired else ret | cancel
    zero = ibis.literal(0.0)
    share = tx.cancelled_share.fill_null(0.0) if "cancelled_share" in tx.columns else zero
    c_rev = tx.cancelled_revenue.fill_null(0.0) if "cancelled_revenue" in tx.columns else zero
    c_qty = tx.cancelled_quantity.fill_null(0.0) if "cancelled_quantity" in tx.columns else zero
    qty = tx.quantity.cast(_F) if "quantity" in tx.columns else ibis.null(_F)
    cost = tx.cost.cast(_F) if "cost" in tx.columns else ibis.null(_F)
    revenue = tx.revenue.cast(_F)
    return tx.mutate(
        is_purchase=sale & (share < 1.0),
        is_credit=credit & ~paired_cancel,
        net_revenue=ibis.cases((sale, revenue - c_rev), (paired_cancel, zero), else_=revenue),
        net_quantity=ibis.cases((sale, qty - c_qty), (paired_cancel, zero), else_=qty),
        net_cost=ibis.cases((sale, cost * (1.0 - share)), (paired_cancel, zero), else_=cost),
    )
