"""The demo's transaction-sized tables, made piece by piece.

The generator (:mod:`tierwise.demo._generate`) draws what is decided per company, record,
order and activity, and keeps of the invoice lines and the activities only what fixes them:
per order its company, record, day, number of lines, value and fate (cancelled, returned,
paid when); per activity its record and a key of its day and type; and the states of the
random streams at which the per-line and per-activity draws begin. From these,
:class:`Sales` makes the invoice lines, the credit notes and the payments, and
:class:`Activities` the activities, in pieces of whole orders or of consecutive activities.

A NumPy generator gives the same numbers drawn in consecutive pieces as in one call, each
per-line (per-activity) draw has a stream of its own, and the pieces are cut between
orders, so the tables do not depend on the piece size.

A piece is ``(table name, segment, Arrow table)``; the segments of a table follow each
other (the sales lines are segment 0 of ``transactions``, the credit notes segment 1),
and a table assembled from its pieces holds one chunk per segment.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pyarrow as pa

from ..schema import TABLES
from . import _words as W
from ._baskets import PairPlanter
from ._strings import fixed_ids, take_fixed

__all__ = [
    "ACTIVITY_TYPES",
    "PIECE_ROWS",
    "Activities",
    "Piece",
    "Sales",
    "assemble",
    "dates",
    "floats",
    "resume",
]

#: Rows per piece by default: invoice lines (whole orders, so about this many) or activities.
PIECE_ROWS = 1 << 17

#: Activity types; an activity's key is (day - first day) × len(ACTIVITY_TYPES) + type.
ACTIVITY_TYPES = [
    "visit",
    "call",
    "email",
    "delivery",
    "order_change",
    "return",
    "quote",
    "support",
]

_CATEGORY_NAMES = list(W.CATEGORIES)

#: Types done by a rep (the record's rep is on the activity); the others have no rep.
_WITH_REP = np.array([True, True, True, False, False, False, True, False])

#: Mean minutes of each type (deliveries carry none).
_DURATION = np.array([75, 8, 5, np.nan, 15, 20, 30, 20], dtype=np.float64)

#: Sales order ids are "SO" + this + the order's index (credit notes likewise).
_FIRST_NUMBER = 100_001

Piece = tuple[str, int, pa.Table]


def dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Days since 1970-01-01 (int) as an Arrow date32 array; ``mask`` true → null."""
    arr = pa.array(np.asarray(days, dtype=np.int32), mask=mask)
    return arr.view(pa.date32()) if mask is None else arr.cast(pa.date32())


def floats(x: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """``x`` as an Arrow float64 array; ``mask`` true → null."""
    return pa.array(np.asarray(x, dtype=np.float64), mask=mask)


def assemble(runs: list[list[pa.Table]], schema: pa.Schema) -> pa.Table:
    """One table of the pieces in ``runs``, one chunk per run (consecutive pieces).

    The pieces are let go column by column as they are copied (``runs`` is emptied), so
    the rows are held about once, not twice.
    """
    per_column = [[[p.column(i) for p in run] for run in runs] for i in range(len(schema))]
    runs.clear()
    columns = []
    for i, f in enumerate(schema):
        chunks = [pa.concat_arrays([c for col in run for c in col.chunks]) for run in per_column[i]]
        per_column[i] = []
        columns.append(pa.chunked_array(chunks, type=f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def resume(state: Mapping[str, Any]) -> np.random.Generator:
    """A generator continuing from a saved ``bit_generator.state``."""
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = state
    return rng


def day_order(days: np.ndarray, first_day: int) -> np.ndarray:
    """Stable order of days within the window (a radix sort on 16-bit day offsets)."""
    return np.argsort((days - first_day).astype(np.uint16), kind="stable")


@dataclass(frozen=True)
class Sales:
    """What fixes the invoice lines, credit notes and payments (orders in date order).

    Per order: company ``ocomp``, record ``orec``, day ``oday``, lines ``nlines``, value
    ``ovalue``, ``cancel``. Per company: ``cat_table`` (its category mix as an inverse-CDF
    table of equally likely bins), ``disc`` (its discount). Per product (category ×
    ``n_per_category`` + rank): ``list_price``, ``unit_cost``; ``prod_table`` maps equally
    likely bins to a product's rank by popularity. Cancellations: ``cancelled`` (order
    indices) and ``cancel_day``. Partial returns: ``ret_order`` (order indices), ``ret_line``
    (the returned line's index among all lines), ``ret_day``, ``ret_draw`` (the uniform
    draw that sets the returned quantity) and ``ret_number`` (the return's number, by
    date). Payments, one per invoice (an order not cancelled), due ``terms`` (per company)
    days after the order: paid ``delay`` days after it, or ``unpaid``. ``states``: where
    the streams of the line draws begin (``bin``, ``product``, ``weight``).
    """

    seed: int
    first_day: int
    id_width: int
    n_per_category: int
    ocomp: np.ndarray
    orec: np.ndarray
    oday: np.ndarray
    nlines: np.ndarray
    ovalue: np.ndarray
    cancel: np.ndarray
    cat_table: np.ndarray
    disc: np.ndarray
    prod_table: np.ndarray
    list_price: np.ndarray
    unit_cost: np.ndarray
    cancelled: np.ndarray
    cancel_day: np.ndarray
    ret_order: np.ndarray
    ret_line: np.ndarray
    ret_day: np.ndarray
    ret_draw: np.ndarray
    ret_number: np.ndarray
    terms: np.ndarray
    delay: np.ndarray
    unpaid: np.ndarray
    cust_ids: pa.Array
    product_ids: pa.Array
    states: Mapping[str, Mapping[str, Any]]

    def pieces(self, rows: int = PIECE_ROWS) -> Iterator[Piece]:
        """The sales lines (``transactions`` segment 0) and the payments of about ``rows``
        lines' orders at a time, then the credit notes (``transactions`` segment 1)."""
        bins = self.cat_table.shape[1]
        pbins = len(self.prod_table)
        P = self.n_per_category
        g_bin, g_prod, g_weight = (resume(self.states[k]) for k in ("bin", "product", "weight"))
        planter = PairPlanter(P, self.seed)
        n_ord, n_lines = len(self.nlines), int(self.nlines.sum(dtype=np.int64))
        lend = np.cumsum(self.nlines, dtype=np.int32 if n_lines < 2**31 else np.int64)
        cuts = np.searchsorted(lend, np.arange(rows, n_lines, rows), side="right")
        bounds = np.unique(np.concatenate([[0], cuts, [n_ord]])).tolist()
        if len(bounds) < 2:
            bounds = [0, 0]
        i0 = 0  # invoices before the piece
        credit: list[tuple[np.ndarray, ...]] = []
        returns: list[tuple[np.ndarray, ...]] = []
        for o0, o1 in pairwise(bounds):
            l0 = int(lend[o0 - 1]) if o0 else 0
            lo = np.repeat(np.arange(o1 - o0, dtype=np.int32), self.nlines[o0:o1])
            n = len(lo)
            lcomp = self.ocomp[o0:o1][lo]
            ubin = (g_bin.random(n, dtype=np.float32) * bins).astype(np.int32)
            lcat = self.cat_table[lcomp, ubin]
            del ubin
            pick_bin = (g_prod.random(n, dtype=np.float32) * pbins).astype(np.int32)
            lprod = lcat.astype(np.int32) * P + self.prod_table[pick_bin]
            lprod = planter(lprod, lo)  # products bought together
            del lcat, pick_bin
            wl = g_weight.standard_exponential(n, dtype=np.float32)
            wsum = np.bincount(lo, weights=wl, minlength=o1 - o0)
            ldisc = self.disc[lcomp]
            target_list = self.ovalue[o0:o1][lo] * wl / wsum[lo] / (1 - ldisc)
            del wl, wsum, lcomp
            lp = self.list_price[lprod]
            qty = np.maximum(1.0, np.rint(target_list / lp))
            del target_list
            list_rev = np.round(qty * lp, 2)
            revenue = np.round(list_rev * (1 - ldisc), 2)
            cost = np.round(qty * self.unit_cost[lprod], 2)
            del lp, ldisc
            lrec = self.orec[o0:o1][lo]
            sales_ids = fixed_ids("SO", np.arange(o0, o1) + _FIRST_NUMBER, self.id_width)
            yield (
                "transactions",
                0,
                self._lines(
                    lrec,
                    self.oday[o0:o1][lo],
                    take_fixed(sales_ids, lo),
                    lprod,
                    (revenue, qty, cost, list_rev),
                    is_return=False,
                ),
            )
            payments = self._payments(o0, o1, i0, lo, revenue, sales_ids)
            i0 += payments.num_rows
            yield "payments", 0, payments
            # the lines the credit notes mirror: every line of a cancelled order, and the
            # returned line of an order with a partial return
            cl = np.flatnonzero(self.cancel[o0:o1][lo])
            money = (revenue, qty, cost, list_rev)
            credit.append((lrec[cl], lprod[cl], o0 + lo[cl], *(v[cl] for v in money)))
            r0, r1 = np.searchsorted(self.ret_order, [o0, o1])
            rl = self.ret_line[r0:r1] - l0
            returns.append((lrec[rl], lprod[rl], *(v[rl] for v in money)))
            del lo, lprod, lrec, revenue, qty, cost, list_rev, money
        yield from self._credit_notes(credit, returns, rows)

    def _lines(
        self,
        rec: np.ndarray,
        day: np.ndarray,
        order_id: pa.Array,
        prod: np.ndarray,
        money: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        *,
        is_return: bool,
    ) -> pa.Table:
        rev, quantity, cst, lst = money
        cat_names = pa.array(_CATEGORY_NAMES)
        columns = [
            take_fixed(self.cust_ids, rec),
            dates(day),
            floats(rev),
            order_id,
            take_fixed(self.product_ids, prod),
            cat_names.take(pa.array((prod // self.n_per_category).astype(np.int32))),
            floats(quantity),
            floats(cst),
            floats(lst),
            pa.array(np.full(len(day), is_return)),
        ]
        return pa.table(dict(zip(TABLES["transactions"].names, columns, strict=True)))

    def _payments(
        self, o0: int, o1: int, i0: int, lo: np.ndarray, revenue: np.ndarray, sales_ids: pa.Array
    ) -> pa.Table:
        """Payments of the invoices among orders o0..o1, the first being invoice ``i0``
        (``lo``: each line's order - o0)."""
        local = np.flatnonzero(~self.cancel[o0:o1])
        i1 = i0 + len(local)
        due = self.oday[o0:o1][local] + self.terms[self.ocomp[o0:o1][local]]
        paid = due + self.delay[i0:i1]
        order_rev = np.bincount(lo, weights=revenue, minlength=o1 - o0)
        return pa.table(
            {
                "invoice_id": take_fixed(sales_ids, local),
                "customer_id": take_fixed(self.cust_ids, self.orec[o0:o1][local]),
                "due_date": dates(due),
                "paid_date": dates(paid, self.unpaid[i0:i1]),
                "amount": floats(np.round(order_rev[local], 2)),
            }
        )

    def _credit_notes(
        self,
        credit: list[tuple[np.ndarray, ...]],
        returns: list[tuple[np.ndarray, ...]],
        rows: int,
    ) -> Iterator[Piece]:
        """The credit lines (cancellations, then returns, in date order): each mirrors one
        sales line, a cancellation all of it 0-3 days later, a return part of its quantity.
        ``credit``/``returns``: per piece of sales lines, the mirrored lines' record,
        product, (cancellations: order,) revenue, quantity, cost and list revenue."""
        c_rec, c_prod, c_order, *c_money = (np.concatenate(v) for v in zip(*credit, strict=True))
        r_rec, r_prod, *r_money = (np.concatenate(v) for v in zip(*returns, strict=True))
        r_qty = r_money[1]
        rqty = np.maximum(1.0, np.floor(r_qty * self.ret_draw))
        rfrac = rqty / r_qty
        c_day = self.cancel_day[np.searchsorted(self.cancelled, c_order)]
        x_day = np.concatenate([c_day, self.ret_day]).astype(np.int32)
        xo = day_order(x_day, self.first_day)
        x_day = x_day[xo]
        x_rec = np.concatenate([c_rec, r_rec])[xo]
        x_prod = np.concatenate([c_prod, r_prod])[xo]
        x_frac = np.concatenate([np.ones(len(c_rec)), rfrac])[xo]
        x_qty = -np.concatenate([c_money[1], rqty])[xo]
        # revenue, cost and list revenue of the mirrored lines, times the share credited
        x_money = [
            -np.round(np.concatenate([c_money[i], r_money[i]])[xo] * x_frac, 2) for i in (0, 2, 3)
        ]
        doc_ids = pa.concat_arrays(
            [
                fixed_ids("CSO", c_order + _FIRST_NUMBER, self.id_width),
                fixed_ids("RT", self.ret_number + _FIRST_NUMBER, self.id_width),
            ]
        ).take(pa.array(xo))
        n = len(xo)
        for p0 in range(0, max(n, 1), rows):
            p = slice(p0, p0 + rows)
            yield (
                "transactions",
                1,
                self._lines(
                    x_rec[p],
                    x_day[p],
                    doc_ids.slice(p0, rows),
                    x_prod[p],
                    (x_money[0][p], x_qty[p], x_money[1][p], x_money[2][p]),
                    is_return=True,
                ),
            )


@dataclass(frozen=True)
class Activities:
    """What fixes the activities, in table order: each one's record ``rec`` and ``key``
    ((day - ``first_day``) × len(ACTIVITY_TYPES) + type); each record's rep ``rec_rep``;
    ``states``: where the draws of durations (``duration``), of the visits that carry an
    expense (``expensed``) and of those expenses (``expense``) begin."""

    first_day: int
    rec: np.ndarray
    key: np.ndarray
    rec_rep: np.ndarray
    cust_ids: pa.Array
    rep_ids: pa.Array
    states: Mapping[str, Mapping[str, Any]]

    def pieces(self, rows: int = PIECE_ROWS) -> Iterator[Piece]:
        """The activities, ``rows`` at a time."""
        g_dur, g_exp, g_cost = (resume(self.states[k]) for k in ("duration", "expensed", "expense"))
        n_types = len(ACTIVITY_TYPES)
        type_names = pa.array(ACTIVITY_TYPES)
        for p0 in range(0, max(len(self.rec), 1), rows):
            rec = self.rec[p0 : p0 + rows]
            key = self.key[p0 : p0 + rows]
            n = len(rec)
            typ = (key % n_types).astype(np.int8)
            day = (key // n_types).astype(np.int32) + self.first_day
            rep = np.where(_WITH_REP[typ], self.rec_rep[rec], -1)
            dur = np.round(
                _DURATION[typ] * np.exp(0.35 * g_dur.standard_normal(n, dtype=np.float32))
            )
            # a few visits carry a recorded travel expense; every other cost comes from rates
            expensed = np.flatnonzero(typ == 0)
            expensed = expensed[g_exp.random(len(expensed)) < 0.05]
            cost_mask = np.ones(n, dtype=bool)
            cost_mask[expensed] = False
            cost = np.zeros(n)
            cost[expensed] = np.round(np.exp(g_cost.normal(np.log(110), 0.3, len(expensed))), 2)
            yield (
                "activities",
                0,
                pa.table(
                    {
                        "customer_id": take_fixed(self.cust_ids, rec),
                        "date": dates(day),
                        "type": type_names.take(pa.array(typ.astype(np.int32))),
                        "duration_minutes": floats(dur, np.isnan(dur)),
                        "cost": floats(cost, cost_mask),
                        "rep_id": take_fixed(self.rep_ids, rep, rep < 0),
                    }
                ),
            )
