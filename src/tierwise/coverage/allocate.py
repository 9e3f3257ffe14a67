"""The coverage plan's optimiser: one option per customer under per-resource hours.

Each customer has a menu of options (no contact, e-mail levels, call levels on the inside
pool, visit levels on each candidate rep); option ``o`` earns ``value[o]`` a year and uses
``hours[o]`` of resource ``resource[o]``. The plan picks one option per customer to maximise
the total value with every resource within its capacity: a multiple-choice knapsack with one
knapsack per resource.

Method (marginal analysis on concave envelopes, Lagrangian relaxation of the capacities):

1. **Envelopes.** Per customer and resource, only the options on the upper concave envelope
   of (hours, value) can be chosen at any price for hours; the others are left out (a
   no-capacity resource keeps its best option only).
2. **Prices.** With a price ``lambda_r >= 0`` per hour of resource ``r``, each customer picks
   ``argmax_o value[o] - lambda[resource[o]] * hours[o]`` and

   .. math:: L(\\lambda) = \\sum_i \\max_o (v_o - \\lambda_{r(o)} h_o) + \\sum_r \\lambda_r C_r

   bounds the optimum from above for every ``lambda >= 0`` (weak duality); its minimum is
   the LP relaxation's optimum. Prices rise from zero: each overloaded resource's price is
   set to the exact point where its demand, other prices fixed, falls to its capacity (a
   breakpoint slope of the customers' envelopes, found by sorting them). Hours on different
   resources are substitutes, so the prices rise monotonically towards the smallest optimal
   prices; the smallest ``L`` seen is the certified ``upper_bound``.
3. **Plan.** Each customer takes its choice at the final prices; a still overloaded resource
   moves customers down their envelope (or to an option using no capacity), smallest value
   lost per hour freed first; remaining slack is filled greedily by value gained per hour
   used. On a single knapsack this greedy on the envelopes is the LP optimum up to the one
   item that does not fit.

Everything is vectorised over the flattened menu (segment maxima with
``np.maximum.reduceat``, sorting); there is no Python loop over customers. Ties go to fewer
hours, then to the earlier option, so the plan is deterministic.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tierwise import errors

__all__ = [
    "InfeasiblePlanError",
    "Menu",
    "Plan",
    "allocate",
    "check_plan",
    "envelope_options",
    "solve_exact",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
TINY = 1e-12


class InfeasiblePlanError(errors.InfeasiblePlanError, errors.InputError):
    """The plan cannot meet a constraint; the message names it.

    Both a :class:`tierwise.errors.InfeasiblePlanError` and a
    :class:`tierwise.errors.InputError` (the capacities and minimum frequencies are input).
    ``resource`` is the index of the resource whose hours do not suffice and ``customers``
    the indices of the customers that need it (those with no option off it, or those on
    it in the plan that could not be repaired), so a caller can say who they are.

    Examples
    --------
    >>> str(InfeasiblePlanError("rep R07: the minimum frequencies need 2,140 h, more than "
    ...     "its 1,600 h", resource=7))
    'rep R07: the minimum frequencies need 2,140 h, more than its 1,600 h'
    """

    def __init__(
        self,
        message: str,
        *,
        resource: int | None = None,
        customers: I64 | None = None,
        file: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.resource = resource
        self.customers = customers
        errors.InputError.__init__(self, message, file=file, hint=hint)


@dataclass(frozen=True)
class Menu:
    """Each customer's options, flattened.

    Option ``o`` belongs to customer ``customer[o]`` (0..n-1, non-decreasing, every customer
    has at least one option). It uses ``hours[o]`` a year of resource ``resource[o]`` (an
    index into the capacities; -1 uses no capacity, e.g. e-mail) and is worth ``value[o]`` a
    year (margin x response - contact cost).
    """

    customer: I64
    value: F64
    hours: F64
    resource: I64
    n_customers: int

    @property
    def n_options(self) -> int:
        """Options on the menu."""
        return int(self.customer.shape[0])

    def validate(self, n_resources: int | None = None) -> None:
        """Raise ``ValueError`` when the arrays do not describe a menu."""
        m = self.customer.shape[0]
        for name in ("value", "hours", "resource"):
            if getattr(self, name).shape != (m,):
                raise ValueError(f"menu: {name} has shape {getattr(self, name).shape}, not ({m},)")
        n = self.n_customers
        if n < 0 or (m == 0) != (n == 0):
            raise ValueError(f"menu: {m} options for {n} customers")
        if m == 0:
            return
        c = self.customer
        if c[0] != 0 or c[-1] != n - 1 or np.any(np.diff(c) < 0) or np.any(np.diff(c) > 1):
            raise ValueError("menu: customer must run 0..n-1, non-decreasing, none left out")
        if not np.all(np.isfinite(self.value)):
            raise ValueError("menu: every value must be finite")
        if not np.all(np.isfinite(self.hours)) or np.any(self.hours < 0):
            raise ValueError("menu: every hours must be finite and >= 0")
        if np.any(self.resource < -1) or (
            n_resources is not None and np.any(self.resource >= n_resources)
        ):
            raise ValueError(f"menu: resource must be -1 or an index below {n_resources}")


@dataclass(frozen=True)
class Plan:
    """A coverage plan: one option per customer and how good it is."""

    choice: I64
    objective: float
    upper_bound: float
    gap: float
    hours_used: F64
    method: str
    seconds: float
    detail: dict[str, Any] = field(default_factory=dict)


def _name(r: int, names: Sequence[str] | None) -> str:
    return str(names[r]) if names is not None and r < len(names) else f"resource {r}"


def _bound_to(menu: Menu, r: int) -> I64:
    """The customers whose every option uses resource ``r``."""
    off = np.zeros(menu.n_customers, dtype=bool)
    off[menu.customer[menu.resource != r]] = True
    return np.flatnonzero(~off).astype(np.int64)


def _hours(x: float) -> str:
    return f"{x:,.0f} h" if abs(x) >= 10 else f"{x:,.2f} h"


def _capacity(capacity: Any, menu: Menu, names: Sequence[str] | None) -> F64:
    cap = np.asarray(capacity, dtype=np.float64).ravel()
    menu.validate(cap.shape[0])
    bad = np.flatnonzero(~np.isfinite(cap) | (cap < 0))
    if bad.size:
        r = int(bad[0])
        raise InfeasiblePlanError(
            f"{_name(r, names)}: capacity {cap[r]} h is not a number of hours >= 0",
            resource=r,
            hint="set the hours a year it can give",
        )
    return cap


def _used(menu: Menu, choice: I64, n_res: int) -> F64:
    res = menu.resource[choice]
    on = res >= 0
    return np.bincount(res[on], weights=menu.hours[choice][on], minlength=n_res).astype(np.float64)


def check_plan(
    menu: Menu,
    capacity: Any,
    choice: Any,
    *,
    tol: float = 1e-6,
    names: Sequence[str] | None = None,
) -> None:
    """Raise :class:`InfeasiblePlanError` naming the first violated constraint.

    Checks that ``choice`` picks exactly one of each customer's own options and that no
    resource uses more than its capacity (``tol`` relative, at least ``tol`` hours).
    """
    _check_choice(menu, _capacity(capacity, menu, names), choice, tol=tol, names=names)


def _check_choice(
    menu: Menu, cap: F64, choice: Any, *, tol: float = 1e-6, names: Sequence[str] | None = None
) -> None:
    """:func:`check_plan` on a menu and capacities already checked (:func:`_capacity`)."""
    ch = np.asarray(choice)
    n = menu.n_customers
    if ch.shape != (n,) or not np.issubdtype(ch.dtype, np.integer):
        raise InfeasiblePlanError(f"the plan has {ch.shape} choices for {n} customers")
    ch = ch.astype(np.int64)
    if n and (ch.min() < 0 or ch.max() >= menu.n_options):
        raise InfeasiblePlanError("the plan chooses an option outside the menu")
    wrong = np.flatnonzero(menu.customer[ch] != np.arange(n))
    if wrong.size:
        i = int(wrong[0])
        raise InfeasiblePlanError(f"customer {i}: the plan chooses another customer's option")
    used = _used(menu, ch, cap.shape[0])
    over = np.flatnonzero(used > cap + tol * np.maximum(cap, 1.0))
    if over.size:
        r = int(over[0])
        raise InfeasiblePlanError(
            f"{_name(r, names)}: the plan needs {_hours(used[r])}, more than its {_hours(cap[r])}",
            resource=r,
        )


# ---------------------------------------------------------------------------------------
# envelopes


@dataclass
class _Envelope:
    """The options on each (customer, resource) group's upper concave envelope.

    Points are sorted by customer, resource, hours; ``opt`` maps a point to its option.
    """

    opt: I64
    cust: I64
    res: I64
    h: F64
    v: F64
    group: I64
    c_start: I64  # first point of each customer
    g_start: I64  # first point of each group
    g_cust: I64
    g_res: I64
    gc_start: I64  # first group of each customer
    seg: I64  # points that have a lower neighbour in their group (segment ends)
    slope: F64  # value per hour between a segment's end and its lower neighbour
    drop: F64  # hours between them


def _segment_starts(key: I64) -> I64:
    """Indices where a sorted key changes (the first index included)."""
    if key.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, key[1:] != key[:-1]]).astype(np.int64)


#: menu options put on their envelopes at a time (whole customers)
_CHUNK = 1 << 18


def _customer_slices(customer: I64) -> list[slice]:
    """Slices of about :data:`_CHUNK` options of a menu's (sorted) customer array, each
    starting at a customer's first option."""
    m = customer.shape[0]
    if m == 0:
        return []
    cuts = np.unique(np.searchsorted(customer, customer[::_CHUNK], side="left"))
    return [slice(int(a), int(b)) for a, b in zip(cuts, [*cuts[1:], m], strict=True)]


def _envelope_points(
    customer: I64, res: I64, hours: F64, value: F64, n_res: int
) -> tuple[I64, F64, F64, I64]:
    """The envelope points of some customers' options (all of each one's): their options
    (positions in the arrays given), hours, values and group keys, sorted by customer,
    resource, hours."""
    h = np.where(res >= 0, hours, 0.0)
    v = value
    # by customer and resource (a stable sort: the stage's menus come grouped, so it is
    # cheap), then by hours within each group unless they already ascend
    gkey0 = _group_key(customer, res, n_res)
    order = np.argsort(gkey0, kind="stable").astype(np.int64, copy=False)
    gkey, h_s = gkey0[order], h[order]
    unsorted = np.flatnonzero((h_s[1:] < h_s[:-1]) & (gkey[1:] == gkey[:-1]))
    if unsorted.size:  # sort the groups whose hours do not ascend, only those
        at = np.isin(gkey, np.unique(gkey[unsorted]))
        pos = np.flatnonzero(at)
        order[pos] = order[pos][np.lexsort((h_s[pos], gkey[pos]))]
        del at, pos
        gkey, h_s = gkey0[order], h[order]
    del gkey0, h, unsorted
    v_s = v[order]
    # Pareto: keep a point only when its value beats every lower-hours point of its group
    # (a segmented running maximum by doubling), and of equal hours only the last kept
    first = np.r_[True, gkey[1:] != gkey[:-1]]
    starts = np.flatnonzero(first)
    longest = int(np.max(np.diff(np.r_[starts, gkey.size]))) if gkey.size else 0
    run = v_s.copy()
    shift = 1
    while shift < longest:
        same = gkey[shift:] == gkey[:-shift]
        run[shift:] = np.where(same, np.maximum(run[shift:], run[:-shift]), run[shift:])
        shift *= 2
        del same
    keep = first | np.r_[False, v_s[1:] > run[:-1]]
    del run, first
    idx = np.flatnonzero(keep)
    del keep
    dup = np.r_[(gkey[idx][1:] == gkey[idx][:-1]) & (h_s[idx][1:] <= h_s[idx][:-1]), False]
    idx = idx[~dup]
    # concavity: drop points strictly below the chord of their neighbours, until none
    while True:
        g = gkey[idx]
        hh, vv = h_s[idx], v_s[idx]
        inner = np.zeros(idx.size, dtype=bool)
        if idx.size >= 3:
            inner[1:-1] = (g[1:-1] == g[:-2]) & (g[1:-1] == g[2:])
        k = np.flatnonzero(inner)
        if k.size == 0:
            break
        left = (vv[k] - vv[k - 1]) * (hh[k + 1] - hh[k])
        right = (vv[k + 1] - vv[k]) * (hh[k] - hh[k - 1])
        below = left < right - 1e-12 * (np.abs(left) + np.abs(right))
        if not below.any():
            break
        idx = np.delete(idx, k[below])
    return order[idx], h_s[idx], v_s[idx], gkey[idx]


def _envelope_of(menu: Menu, sel: I64 | None = None) -> tuple[I64, F64, F64, I64]:
    """The envelope points of the customers' options (every customer's, or the options
    ``sel``, all of each customer's, sorted by customer), a slice of customers at a time:
    their options, hours, values and group keys (see :func:`_envelope_points`). A
    customer's groups never span two slices, and the sorting's temporaries (a few arrays of
    8 bytes an option) are those of one slice."""
    res = menu.resource
    n_res = int(res.max()) + 2 if res.size else 1
    cust = menu.customer if sel is None else menu.customer[sel]
    opts: list[I64] = []
    hs: list[F64] = []
    vs: list[F64] = []
    keys: list[I64] = []
    for sl in _customer_slices(cust):
        at: Any = sl if sel is None else sel[sl]
        o, ph, pv, pk = _envelope_points(cust[sl], res[at], menu.hours[at], menu.value[at], n_res)
        opts.append(o + sl.start if sel is None else sel[sl][o])
        hs.append(ph)
        vs.append(pv)
        keys.append(pk)
    if not opts:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64)
    p_opt = np.concatenate(opts).astype(np.int64, copy=False)
    return p_opt, np.concatenate(hs), np.concatenate(vs), np.concatenate(keys)


def envelope_options(
    menu: Menu,
    *,
    base: Menu | None = None,
    base_points: I64 | None = None,
    carried: NDArray[np.bool_] | None = None,
) -> I64:
    """The options on the customers' concave envelopes of (hours, value), per customer and
    resource, sorted by customer, resource and hours: the options :func:`allocate` chooses
    from (given them as ``envelope``, it does not look for them again).

    With ``base`` (an earlier menu of the same customers), ``base_points`` (its envelope
    options) and ``carried`` (per customer): the customers ``carried`` have the same
    options as on ``base``, in the same order, with the same hours and values and their
    resources renumbered in the same order (a changed team's menu built from the base
    menu). Their envelope options are ``base``'s, moved to their places on ``menu``; only
    the other customers' are looked for. A customer's envelope is its options' alone, so
    this is the same array as without ``base``.

    Examples
    --------
    >>> menu = Menu(np.array([0, 0, 0, 0, 1, 1]), np.array([0.0, 4.0, 5.0, 9.0, 0.0, 8.0]),
    ...             np.array([0.0, 1.0, 2.0, 3.0, 0.0, 5.0]),
    ...             np.array([-1, 0, 0, 0, -1, 0]), 2)
    >>> envelope_options(menu).tolist()   # option 2 lies under the chord from 1 to 3
    [0, 1, 3, 4, 5]
    """
    n = menu.n_customers
    if base is None or base_points is None or carried is None:
        return _envelope_of(menu)[0]
    first = np.searchsorted(menu.customer, np.arange(n + 1), side="left")
    b_first = np.searchsorted(base.customer, np.arange(n + 1), side="left")
    keep = np.asarray(carried, bool) & (np.diff(first) == np.diff(b_first))
    # the base's points of the customers kept, moved by their customer's shift
    b_cust = base.customer[base_points]
    on = keep[b_cust]
    kept_pts = base_points[on] + (first - b_first)[b_cust[on]]
    del b_cust, on
    # the other customers' points, looked for on their options
    cnt = np.where(keep, 0, np.diff(first))
    ends = np.cumsum(cnt)
    sel = np.repeat(first[:-1] - (ends - cnt), cnt) + np.arange(int(ends[-1]) if n else 0)
    new_pts = _envelope_of(menu, sel.astype(np.int64, copy=False))[0]
    del sel
    # each customer's points at its place: the kept and the new ones are each in order
    k_cust, n_cust = menu.customer[kept_pts], menu.customer[new_pts]
    per = np.bincount(k_cust, minlength=n) + np.bincount(n_cust, minlength=n)
    start = np.cumsum(per) - per
    out = np.empty(int(per.sum()), np.int64)
    for pts, c in ((kept_pts, k_cust), (new_pts, n_cust)):
        if pts.size:
            c_first = _segment_starts(c)
            rank = np.arange(pts.size) - np.repeat(c_first, np.diff(np.r_[c_first, pts.size]))
            out[start[c] + rank] = pts
    return out


def _envelope(menu: Menu, points: I64 | None = None) -> _Envelope:
    """The menu's envelopes (their options ``points`` when known, as
    :func:`envelope_options` gives them)."""
    res = menu.resource
    if points is None:
        p_opt, p_h, p_v, pg = _envelope_of(menu)
    else:
        n_res = int(res.max()) + 2 if res.size else 1
        p_opt = np.asarray(points, np.int64)
        p_res = res[p_opt]
        p_h = np.where(p_res >= 0, menu.hours[p_opt], 0.0)
        p_v = menu.value[p_opt]
        pg = _group_key(menu.customer[p_opt], p_res, n_res)
        del p_res
    p_cust = menu.customer[p_opt]
    p_res = res[p_opt]
    g_start = _segment_starts(pg)
    group = np.cumsum(np.r_[False, pg[1:] != pg[:-1]]).astype(np.int64)
    c_start = _segment_starts(p_cust)
    g_cust = p_cust[g_start]
    gc_start = _segment_starts(g_cust)
    seg = np.flatnonzero(np.r_[False, pg[1:] == pg[:-1]]).astype(np.int64)
    dh = p_h[seg] - p_h[seg - 1]
    slope = (p_v[seg] - p_v[seg - 1]) / np.maximum(dh, TINY)
    return _Envelope(
        p_opt,
        p_cust,
        p_res,
        p_h,
        p_v,
        group,
        c_start,
        g_start,
        g_cust,
        p_res[g_start],
        gc_start,
        seg,
        slope,
        dh,
    )


def _group_key(cust: I64, res: I64, n_res: int) -> I64:
    """One integer per (customer, resource), increasing in that order (``n_res`` above
    every resource index plus one)."""
    return (cust * n_res + (res + 1)).astype(np.int64)


# ---------------------------------------------------------------------------------------
# prices


def _lam_ext(lam: F64) -> F64:
    return np.concatenate([lam, [0.0]])  # index -1 (no capacity) costs nothing


def _choose(env: _Envelope, lam: F64) -> tuple[I64, F64, F64]:
    """Each customer's best point at prices ``lam`` (ties: fewer hours, then earlier).

    Returns the chosen point per customer, each point's reduced value and each customer's
    best reduced value.
    """
    rv = env.v - _lam_ext(lam)[env.res] * env.h
    best = np.maximum.reduceat(rv, env.c_start)
    at = best[env.cust]
    cand = rv >= at - 1e-12 * (1.0 + np.abs(at))
    del at
    hkey = np.where(cand, env.h, np.inf)
    minh = np.minimum.reduceat(hkey, env.c_start)
    sel = np.flatnonzero(cand & (env.h <= minh[env.cust]))
    first = sel[np.r_[True, env.cust[sel][1:] != env.cust[sel][:-1]]]
    return first.astype(np.int64), rv, best


def _small(keys: I64, n_keys: int) -> NDArray[np.integer[Any]]:
    """``keys`` (from 0 to ``n_keys`` - 1) as 16-bit integers when they fit, which NumPy's
    stable sort orders by radix, in linear time (several times faster than 64-bit keys,
    in the same order)."""
    return keys.astype(np.uint16) if n_keys <= 1 << 16 else keys


def _demand(env: _Envelope, pts: I64, n_res: int) -> F64:
    # bin 0 takes the points on no resource (index -1): each resource's hours are added
    # in the same order as over the points on a resource alone
    hours = np.bincount(env.res[pts] + 1, weights=env.h[pts], minlength=n_res + 1)
    return hours[1:].astype(np.float64)


def _customers_on(env: _Envelope, on: NDArray[np.bool_]) -> I64:
    """The customers with a point on a resource flagged in ``on`` (sorted)."""
    if not on.any():
        return np.zeros(0, dtype=np.int64)
    r = env.g_res
    hit = on[np.maximum(r, 0)] & (r >= 0)
    c = env.g_cust[hit]  # non-decreasing: the groups are sorted by customer
    return c[np.r_[True, c[1:] != c[:-1]]] if c.size else c


def _sub(env: _Envelope, cs: I64) -> tuple[_Envelope, I64]:
    """The envelope of the customers ``cs`` (sorted, distinct) alone, renumbered, and the
    positions of its points in ``env``. Every figure of a point is the same bits as in
    ``env`` (the slopes computed by the same formula from the same values)."""
    c_end = np.r_[env.c_start[1:], env.h.size]
    cnt = c_end[cs] - env.c_start[cs]
    ends = np.cumsum(cnt)
    pos = np.repeat(env.c_start[cs] - (ends - cnt), cnt) + np.arange(
        int(ends[-1]) if cs.size else 0
    )
    pos = pos.astype(np.int64, copy=False)
    cust = np.repeat(np.arange(cs.size, dtype=np.int64), cnt)
    res, h, v, pg = env.res[pos], env.h[pos], env.v[pos], env.group[pos]
    g_start = _segment_starts(pg)
    group = np.cumsum(np.r_[False, pg[1:] != pg[:-1]]).astype(np.int64)
    g_cust = cust[g_start]
    seg = np.flatnonzero(np.r_[False, pg[1:] == pg[:-1]]).astype(np.int64)
    dh = h[seg] - h[seg - 1]
    slope = (v[seg] - v[seg - 1]) / np.maximum(dh, TINY)
    sub = _Envelope(
        env.opt[pos],
        cust,
        res,
        h,
        v,
        group,
        (ends - cnt).astype(np.int64),
        g_start,
        g_cust,
        res[g_start],
        _segment_starts(g_cust),
        seg,
        slope,
        dh,
    )
    return sub, pos


def _rechoose(
    env: _Envelope, lam: F64, moved: NDArray[np.bool_], pts: I64, rv: F64, best: F64
) -> None:
    """:func:`_choose` at prices ``lam`` updated in place from a choice at prices that
    differ only on the resources flagged in ``moved``: only the customers with a point on
    one of them are chosen again (the others' reduced values are the same bits). When they
    are more than a quarter of the customers, every customer is chosen again: cutting their
    points out costs more than choosing on the others' too, which gives the same bits."""
    cs = _customers_on(env, moved)
    if cs.size == 0:
        return
    if 4 * cs.size > env.c_start.size:
        pts[:], rv[:], best[:] = _choose(env, lam)
        return
    sub, pos = _sub(env, cs)
    p, r, b = _choose(sub, lam)
    pts[cs] = pos[p]
    rv[pos] = r
    best[cs] = b


def _crossing_on(env: _Envelope, rv: F64, over: NDArray[np.bool_], cap: F64) -> F64:
    """:func:`_crossing` read on the customers with a point on a resource in ``over``
    only: the others add no breakpoint, so the prices are the same. When they are more
    than half of the customers, it is read on every customer (the same prices, for less
    than cutting their points out costs)."""
    cs = _customers_on(env, over)
    if cs.size == 0 or 2 * cs.size > env.c_start.size:
        return _crossing(env, rv, over, cap)
    sub, pos = _sub(env, cs)
    return _crossing(sub, rv[pos], over, cap)


def _crossing(env: _Envelope, rv: F64, over: NDArray[np.bool_], cap: F64) -> F64:
    """For each resource in ``over``: the lowest price at which its demand, other prices
    fixed, is within its capacity (a breakpoint of the customers' envelopes)."""
    n_res = cap.shape[0]
    n_groups = env.g_start.shape[0]
    gm = np.maximum.reduceat(rv, env.g_start)
    best1 = np.maximum.reduceat(gm, env.gc_start)
    g_cnt = np.diff(np.r_[env.gc_start, n_groups])
    isbest = gm >= best1[np.repeat(np.arange(best1.size), g_cnt)]
    n_best = np.add.reduceat(isbest.astype(np.int64), env.gc_start)
    best2 = np.maximum.reduceat(np.where(isbest, -np.inf, gm), env.gc_start)
    cust_of_group = np.repeat(np.arange(best1.size), g_cnt)
    other = np.where(
        isbest & (n_best[cust_of_group] < 2), best2[cust_of_group], best1[cust_of_group]
    )
    # the price at which the group's best point falls to the customer's best elsewhere
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = np.where(env.h > 0, (env.v - other[env.group]) / env.h, -np.inf)
    q = np.where(np.isnan(q), np.inf, q)  # other = -inf: never leaves
    t_sw = np.maximum.reduceat(q, env.g_start)
    # hours still demanded just before the switch: the point after the slopes >= t_sw
    seg_g = env.group[env.seg]
    k = np.bincount(seg_g, weights=env.slope >= t_sw[seg_g], minlength=n_groups).astype(np.int64)
    drop_sw = env.h[env.g_start + k]
    g_res = env.g_res
    g_on = (g_res >= 0) & over[np.maximum(g_res, 0)] & (g_res >= 0)
    g_last = np.r_[env.g_start[1:], env.h.size] - 1
    d0 = np.bincount(g_res[g_on], weights=env.h[g_last][g_on], minlength=n_res)
    s_on = g_on[seg_g] & (env.slope < t_sw[seg_g])
    sw_on = g_on & np.isfinite(t_sw) & (drop_sw > 0)
    t = np.concatenate([env.slope[s_on], t_sw[sw_on]])
    r = np.concatenate([g_res[seg_g[s_on]], g_res[sw_on]])
    d = np.concatenate([env.drop[s_on], drop_sw[sw_on]])
    order = np.argsort(t)
    order = order[np.argsort(_small(r[order], n_res), kind="stable")]
    t, r, d = t[order], r[order], d[order]
    cum = np.cumsum(d)
    r_cnt = np.bincount(r, minlength=n_res)
    r_start = np.r_[0, np.cumsum(r_cnt)[:-1]]
    before = np.r_[0.0, cum][r_start]
    within = cum - before[r]
    ok = d0[r] - within <= cap[r] + 1e-9 * np.maximum(cap[r], 1.0)
    n_not = np.bincount(r, weights=~ok, minlength=n_res).astype(np.int64)
    price = np.zeros(n_res)
    has = over & (n_not < r_cnt)
    pos = (r_start + n_not)[has]
    price[has] = np.maximum(t[pos], 0.0)
    stuck = over & (n_not >= r_cnt) & (r_cnt > 0)
    if stuck.any():  # cannot fall to capacity: the highest breakpoint
        price[stuck] = t[(r_start + r_cnt - 1)[stuck]]
    return price


@dataclass
class _Dual:
    """What :func:`_dual` found: the best prices and bound, the last prices, the rounds
    run, the bound's history, and the customers' choice at the last prices (``last``:
    points, reduced values and best reduced values, as :func:`_choose` returns them)."""

    best_lam: F64
    bound: float
    lam: F64
    rounds: int
    history: list[float]
    last: tuple[I64, F64, F64]


def _dual(
    env: _Envelope, cap: F64, max_rounds: int, deadline: float | None, rel_tol: float = 1e-8
) -> _Dual:
    """Prices rising from zero (see the module docstring).

    Each round after the first chooses again only the customers with a point on a resource
    whose price moved, and the breakpoints are read on the customers of the overloaded
    resources only (all of the customers when those are a large share of them): the rounds
    after the first touch a few of the customers, which is the same arithmetic on the same
    values as going through all of them.
    """
    n_res = cap.shape[0]
    lam = np.zeros(n_res)
    best_lam, best_l = lam.copy(), np.inf
    history: list[float] = []
    rounds = 0
    pts, rv, best = _choose(env, lam)
    chosen_at = lam
    for rounds in range(1, max_rounds + 1):  # noqa: B007
        if chosen_at is not lam:
            _rechoose(env, lam, lam != chosen_at, pts, rv, best)
            chosen_at = lam
        bound = float(np.sum(best) + lam @ cap)
        history.append(bound)
        if bound < best_l:
            best_l, best_lam = bound, lam.copy()
        if len(history) > 3 and history[-3] - best_l <= rel_tol * max(abs(best_l), 1.0):
            break  # the bound has stopped falling
        used = _demand(env, pts, n_res)
        over = used > cap + 1e-9 * np.maximum(cap, 1.0)
        if not over.any() or (deadline is not None and time.perf_counter() > deadline):
            break
        new = _crossing_on(env, rv, over, cap)
        step = np.where(over, np.maximum(new * (1 + 1e-9) + 1e-12, lam), lam)
        if np.all(np.abs(step - lam) <= 1e-9 * np.maximum(np.abs(lam), 1e-9)):
            break
        lam = step
    if chosen_at is not lam:
        _rechoose(env, lam, lam != chosen_at, pts, rv, best)
    return _Dual(best_lam, best_l, lam, rounds, history, (pts, rv, best))


# ---------------------------------------------------------------------------------------
# the plan: repair and fill


def _prev_in_group(env: _Envelope) -> I64:
    """The next lower point of each point's group (-1 for the lowest)."""
    prev = np.full(env.h.size, -1, dtype=np.int64)
    prev[env.seg] = env.seg - 1
    return prev


def _elsewhere(
    env: _Envelope, pts: I64, who: I64, over: NDArray[np.bool_], cap: F64, used: F64
) -> I64:
    """For each customer in ``who``: its best point on another resource that is not
    overloaded and has room for the point's hours (-1 when none)."""
    cnt = np.diff(np.r_[env.c_start, env.h.size])[env.cust[pts[who]]]
    starts = env.c_start[env.cust[pts[who]]]
    offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    p = np.repeat(starts, cnt) + offs
    owner = np.repeat(np.arange(who.size), cnt)
    r = env.res[p]
    rr = np.maximum(r, 0)
    ok = (r >= 0) & (r != env.res[pts[who]][owner]) & ~over[rr]
    ok &= env.h[p] <= cap[rr] - used[rr] + 1e-9 * np.maximum(cap[rr], 1.0)
    out = np.full(who.size, -1, dtype=np.int64)
    if not ok.any():
        return out
    p, owner = p[ok], owner[ok]
    order = np.lexsort((env.h[p], -env.v[p], owner))  # best value, then fewest hours
    first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
    out[owner[first]] = p[first]
    return out


def _repair(env: _Envelope, pts: I64, cap: F64, max_rounds: int = 200) -> tuple[I64, bool]:
    """Move customers off overloaded resources, smallest value lost per hour freed first:
    down their envelope on the same resource, to their best option using no capacity, or
    to their best option on another resource with room (a customer whose tier needs visits
    goes to another rep). A move to another resource is admitted only while that resource
    stays within its hours."""
    n_res = cap.shape[0]
    pts = pts.copy()
    prev = _prev_in_group(env)
    n = pts.size
    # each customer's best no-capacity point (-1 when none)
    free_pt = np.full(n, -1, dtype=np.int64)
    fr = np.flatnonzero(env.res < 0)  # one per customer at most (the envelope keeps one)
    free_pt[env.cust[fr]] = fr
    for _ in range(max_rounds):
        used = _demand(env, pts, n_res)
        excess = used - cap
        over = excess > 1e-9 * np.maximum(cap, 1.0)
        if not over.any():
            return pts, True
        res_now = env.res[pts]
        who = np.flatnonzero((res_now >= 0) & over[np.maximum(res_now, 0)])
        cur = pts[who]
        p1 = prev[cur]
        p2 = free_pt[who]
        loss1 = np.where(p1 >= 0, env.v[cur] - env.v[np.maximum(p1, 0)], np.inf)
        free1 = np.where(p1 >= 0, env.h[cur] - env.h[np.maximum(p1, 0)], 0.0)
        loss2 = np.where(p2 >= 0, env.v[cur] - env.v[np.maximum(p2, 0)], np.inf)
        free2 = env.h[cur]
        p3 = _elsewhere(env, pts, who, over, cap, used)
        loss3 = np.where(p3 >= 0, env.v[cur] - env.v[np.maximum(p3, 0)], np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio1 = np.where(free1 > 0, loss1 / free1, np.inf)
            ratio2 = np.where(free2 > 0, loss2 / free2, np.inf)
            ratio3 = np.where(free2 > 0, loss3 / free2, np.inf)
        use2 = ratio2 < ratio1
        ratio = np.where(use2, ratio2, ratio1)
        freed = np.where(use2, free2, free1)
        target = np.where(use2, p2, p1)
        use3 = ratio3 < ratio
        ratio = np.where(use3, ratio3, ratio)
        freed = np.where(use3, free2, freed)
        target = np.where(use3, p3, target)
        movable = np.isfinite(ratio) & (freed > 0)
        who, ratio, freed, target = who[movable], ratio[movable], freed[movable], target[movable]
        if who.size == 0:
            return pts, False
        r = env.res[pts[who]]
        order = np.lexsort((who, ratio, r))
        who, r, freed, target = who[order], r[order], freed[order], target[order]
        cum = np.cumsum(freed)
        r_cnt = np.bincount(r, minlength=n_res)
        before = np.r_[0.0, cum][np.r_[0, np.cumsum(r_cnt)[:-1]]][r]
        within = cum - before
        take = (within - freed) < excess[r]  # the shortest prefix that frees the excess
        # moves onto another resource: each receiving resource admits them while they fit
        t_res = env.res[target]
        onto = take & (t_res >= 0) & (t_res != r)
        if onto.any():
            k = np.flatnonzero(onto)
            k = k[np.lexsort((who[k], ratio[k], t_res[k]))]
            tr, th = t_res[k], env.h[target[k]]
            c = np.cumsum(th)
            t_cnt = np.bincount(tr, minlength=n_res)
            t_before = np.r_[0.0, c][np.r_[0, np.cumsum(t_cnt)[:-1]]][tr]
            room = np.maximum(cap - used, 0.0)[tr]
            take[k[(c - t_before) > room + 1e-9 * np.maximum(cap[tr], 1.0)]] = False
        pts[who[take]] = target[take]
    used = _demand(env, pts, n_res)
    return pts, bool(np.all(used <= cap + 1e-9 * np.maximum(cap, 1.0)))


def _offers(
    env: _Envelope, pts: I64, active: I64, cnt: I64, lo: int, hi: int, slack: F64
) -> tuple[I64, I64, F64, I64, F64]:
    """The best move that fits the ``slack`` of each customer ``active[lo:hi]`` (``cnt``
    points each), by value gained per hour used: its point, the customer's position in
    ``active``, the hours used, the resource and the ratio (customers with no
    move that gains are left out)."""
    n_res = slack.shape[0]
    who = np.arange(lo, hi)
    cnt = cnt[who]
    starts = env.c_start[active[who]]
    offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    p = np.repeat(starts, cnt) + offs
    owner = np.repeat(who, cnt)
    cur = pts[active[owner]]
    gain = env.v[p] - env.v[cur]
    same = env.group[p] == env.group[cur]
    use = np.where(same, env.h[p] - env.h[cur], env.h[p])
    r = env.res[p]
    # a point on no resource (r < 0) always fits; with no resource at all slack is empty
    room = np.r_[np.maximum(slack, 0.0), np.inf][np.where(r < 0, n_res, r)]
    fits = use <= room + 1e-9
    good = (gain > 1e-9 * (1.0 + np.abs(env.v[cur]))) & fits
    p, owner, gain, use, r = p[good], owner[good], gain[good], use[good], r[good]
    with np.errstate(divide="ignore"):
        ratio = np.where((r < 0) | (use <= 0), np.inf, gain / np.maximum(use, TINY))
    # each customer's best offer: highest ratio, then highest gain, then earliest point
    # (segment maxima over each customer's offers, which come in point order; the ratios
    # and gains are never NaN: the menu's values and hours are finite)
    if p.size == 0:
        return p, owner, use, r, ratio
    starts = _segment_starts(owner)
    of = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, owner.size]))
    top = ratio == np.maximum.reduceat(ratio, starts)[of]
    top &= gain == np.maximum.reduceat(np.where(top, gain, -np.inf), starts)[of]
    k = np.flatnonzero(top)
    first = k[np.r_[True, owner[k][1:] != owner[k][:-1]]]
    return p[first], owner[first], use[first], r[first], ratio[first]


def _fill(env: _Envelope, pts: I64, cap: F64, max_rounds: int = 400) -> tuple[I64, int]:
    """Use the remaining hours: each round every customer offers its best move by value
    gained per hour used that fits, and each resource admits the best offers that fit."""
    n_res = cap.shape[0]
    pts = pts.copy()
    n_cust = pts.size
    cust_npts = np.diff(np.r_[env.c_start, env.h.size])
    active = np.arange(n_cust, dtype=np.int64)
    rounds = 0
    for rounds in range(1, max_rounds + 1):  # noqa: B007
        if active.size == 0:
            break
        slack = cap - _demand(env, pts, n_res)
        # each active customer's best offer, a slice of customers at a time (the first
        # round reads every point of the envelope)
        cnt = cust_npts[active]
        ends = np.cumsum(cnt)
        cuts = np.unique(np.r_[0, np.searchsorted(ends, np.arange(0, ends[-1], _CHUNK), "right")])
        offers = [
            _offers(env, pts, active, cnt, lo, hi, slack)
            for lo, hi in zip(cuts, [*cuts[1:], active.size], strict=True)
        ]
        if not any(len(o[0]) for o in offers):
            break
        p, owner, use, r, ratio = (np.concatenate([o[i] for o in offers]) for i in range(5))
        del offers
        # each resource admits its best offers while they fit
        free = (r < 0) | (use <= 0)
        rr = np.where(free, n_res, r)
        order = np.lexsort((p, -ratio, _small(rr, n_res + 1)))
        rr_s, use_s = rr[order], np.where(free, 0.0, use)[order]
        cum = np.cumsum(use_s)
        r_cnt = np.bincount(rr_s, minlength=n_res + 1)
        before = np.r_[0.0, cum][np.r_[0, np.cumsum(r_cnt)[:-1]]][rr_s]
        slack_ext = np.r_[np.maximum(slack, 0.0), np.inf]
        admit = (cum - before) <= slack_ext[rr_s] + 1e-9
        chosen = order[admit]
        if chosen.size == 0:
            break
        pts[active[owner[chosen]]] = p[chosen]
        active = active[np.unique(owner)]
    return pts, rounds


# ---------------------------------------------------------------------------------------
# the entry point


def _least_hours(env: _Envelope, n_res: int) -> tuple[I64, F64]:
    """Each customer's option using the fewest hours of capacity, and the hours that
    customers with no option outside a resource must use on it."""
    hkey = np.where(env.res >= 0, env.h, 0.0)
    minh = np.minimum.reduceat(hkey, env.c_start)
    sel = np.flatnonzero(hkey <= minh[env.cust])
    pts = sel[np.r_[True, env.cust[sel][1:] != env.cust[sel][:-1]]].astype(np.int64)
    # a lower bound on each resource's hours: customers whose every option is on it
    g_cnt = np.diff(np.r_[env.gc_start, env.g_start.size])
    single = g_cnt == 1
    only = np.flatnonzero(single & (env.g_res[env.gc_start] >= 0))
    g = env.gc_start[only]
    need = np.bincount(env.g_res[g], weights=env.h[env.g_start[g]], minlength=n_res)
    return pts, need.astype(np.float64)


def allocate(
    menu: Menu,
    capacity: Any,
    *,
    names: Sequence[str] | None = None,
    max_rounds: int = 60,
    time_budget: float | None = None,
    envelope: I64 | None = None,
) -> Plan:
    """The coverage plan: the best option per customer within every resource's hours.

    Marginal analysis on each customer's concave envelope with a price per resource (the
    Lagrangian relaxation of the capacities), repaired to feasibility and filled greedily;
    its objective is reported against the Lagrangian dual bound (see the module docstring).
    The plan is always feasible (checked with :func:`check_plan` before it is returned).

    Parameters
    ----------
    menu
        The options (see :class:`Menu`).
    capacity
        Hours a year per resource.
    names
        Optional resource names for messages ("rep R07").
    max_rounds
        Price rounds at most.
    time_budget
        Seconds after which the prices stop rising (the plan and bound stay valid). None,
        the default, sets no limit of time: the rounds are bounded by ``max_rounds`` alone,
        so the same menu gives the same plan on a fast machine and on a busy one.
    envelope
        The menu's envelope options when already known (:func:`envelope_options` of the
        same menu): not looked for again.

    Raises
    ------
    InfeasiblePlanError
        When the customers that have no option outside a resource already need more than
        its hours at their least-hours option, or no feasible plan could be found; the
        message names the resource.

    Examples
    --------
    >>> menu = Menu(np.array([0, 0, 1, 1]), np.array([0.0, 10.0, 0.0, 8.0]),
    ...             np.array([0.0, 5.0, 0.0, 5.0]), np.array([-1, 0, -1, 0]), 2)
    >>> plan = allocate(menu, [6.0])
    >>> plan.choice.tolist(), plan.objective
    ([1, 2], 10.0)
    """
    t0 = time.perf_counter()
    cap = _capacity(capacity, menu, names)
    n_res = cap.shape[0]
    n = menu.n_customers
    if n == 0:
        return Plan(
            np.zeros(0, dtype=np.int64), 0.0, 0.0, 0.0, np.zeros(n_res), "lagrangian", 0.0, {}
        )
    env = _envelope(menu, envelope)
    least, need = _least_hours(env, n_res)
    over = np.flatnonzero(need > cap + 1e-9 * np.maximum(cap, 1.0))
    if over.size:
        r = int(over[np.argmax((need - cap)[over])])
        raise InfeasiblePlanError(
            f"{_name(r, names)}: the customers with no other option need "
            f"{_hours(need[r])} at their least-hours option, more than its {_hours(cap[r])}",
            resource=r,
            customers=_bound_to(menu, r),
            hint="give it more hours (the reps file's hours_per_year) or lower the minimum "
            "frequencies of its customers' tiers ([segments.programmes.<tier>] visits_min)",
        )
    dual = _dual(env, cap, max_rounds, None if time_budget is None else t0 + time_budget)
    lam_best, bound, lam_last, rounds, history = (
        dual.best_lam,
        dual.bound,
        dual.lam,
        dual.rounds,
        dual.history,
    )
    t_dual = time.perf_counter() - t0
    # the plan from the final prices and from slightly higher ones (less to repair when a
    # large option sits at a price's breakpoint); the best is kept
    raises = (0.0, 1e-3, 1e-2, 3e-2, 0.1, 0.3) if env.h.size <= 300_000 else (0.0, 1e-2)
    best_pts: I64 | None = None
    best_value = -np.inf
    start = "prices"
    fill_rounds = 0
    for up in raises:
        # the choice at the last prices, raised: chosen again only where a price moved
        lam_up = lam_last * (1.0 + up)
        pts, rv_up, best_up = (dual.last[0].copy(), dual.last[1].copy(), dual.last[2].copy())
        _rechoose(env, lam_up, lam_up != lam_last, pts, rv_up, best_up)
        del rv_up, best_up
        pts, feasible = _repair(env, pts, cap)
        if not feasible:
            continue
        pts, fr = _fill(env, pts, cap)
        value = float(np.sum(env.v[pts]))
        if value > best_value:
            best_pts, best_value, fill_rounds = pts, value, fr
            start = f"prices x {1.0 + up:g}"
    if best_pts is None:
        pts, _ = _repair(env, least, cap)
        start = "least hours"
        used = _demand(env, pts, n_res)
        bad = np.flatnonzero(used > cap + 1e-9 * np.maximum(cap, 1.0))
        if bad.size:
            r = int(bad[0])
            on_r = env.opt[pts][menu.resource[env.opt[pts]] == r]
            raise InfeasiblePlanError(
                f"{_name(r, names)}: no plan found within its {_hours(cap[r])}: with each "
                "customer at its least-hours option and those that could be moved to other "
                f"reps moved, it still needs {_hours(used[r])}",
                resource=r,
                customers=np.unique(menu.customer[on_r]).astype(np.int64),
                hint="give it more hours (the reps file's hours_per_year) or lower the minimum "
                "frequencies of its customers' tiers ([segments.programmes.<tier>] visits_min)",
            )
        best_pts, fill_rounds = _fill(env, pts, cap)
    pts = best_pts
    choice = env.opt[pts]
    _check_choice(menu, cap, choice, names=names)
    objective = float(np.sum(menu.value[choice]))
    bound = max(bound, objective)  # the bound is an upper bound; rounding cannot undo that
    gap = (bound - objective) / max(abs(bound), TINY)
    return Plan(
        choice=choice.astype(np.int64),
        objective=objective,
        upper_bound=bound,
        gap=max(gap, 0.0),
        hours_used=_used(menu, choice, n_res),
        method="lagrangian",
        seconds=time.perf_counter() - t0,
        detail={
            "rounds": rounds,
            "fill_rounds": fill_rounds,
            "start": start,
            "multipliers": lam_best.tolist(),
            "bound_history": history,
            "envelope_points": int(env.h.size),
            "seconds_prices": t_dual,
        },
    )


def solve_exact(
    menu: Menu,
    capacity: Any,
    *,
    time_limit: float = 60.0,
    mip_rel_gap: float = 1e-6,
    threads: int | None = None,
    names: Sequence[str] | None = None,
) -> Plan:
    """The MILP solved with HiGHS; see :func:`tierwise.coverage.exact.solve_exact`."""
    from .exact import solve_exact as _solve

    return _solve(
        menu,
        capacity,
        time_limit=time_limit,
        mip_rel_gap=mip_rel_gap,
        threads=threads,
        names=names,
    )
