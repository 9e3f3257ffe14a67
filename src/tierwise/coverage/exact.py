"""The coverage plan solved exactly: the MILP with HiGHS (highspy).

One binary per option, one row per customer (exactly one option), one row per resource
(hours within capacity); the objective is the total value, maximised. Built in one
``passModel`` call from sparse column arrays. HiGHS's dual bound is the plan's
``upper_bound``. HiGHS runs in a child process (:func:`tierwise._highs.solve_milp`) that is
stopped from outside when HiGHS has not returned shortly after ``time_limit``: its MIP set-up
does not look at the clock, and on this model it grows with the square of the customers
(15,000 customers: minutes past any limit). The solution's feasibility is checked again with
:func:`tierwise.coverage.allocate.check_plan` after every solve: a 2026 HiGHS release gave
wrong MILP answers, and a wrong plan must not pass silently.

For ``--exact`` and the tests (up to a few thousand customers); :func:`allocate` is the
planner for whole customer bases.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import highspy
import numpy as np

from .._highs import solve_milp
from .allocate import (
    TINY,
    InfeasiblePlanError,
    Menu,
    Plan,
    _capacity,
    _name,
    _used,
    check_plan,
)

__all__ = ["solve_exact"]


def solve_exact(
    menu: Menu,
    capacity: Any,
    *,
    time_limit: float = 60.0,
    mip_rel_gap: float = 1e-6,
    threads: int | None = None,
    names: Sequence[str] | None = None,
) -> Plan:
    """The MILP with HiGHS: the optimum (within ``mip_rel_gap``) or the best plan found
    within ``time_limit`` seconds, with HiGHS's dual bound as ``upper_bound``.

    ``time_limit`` counts from the call. HiGHS gets what is left of it as its own limit;
    if it has not returned :func:`tierwise._highs.hard_stop_grace` seconds later (2 s and a
    tenth of the limit) it is stopped, and the plan is the last improving solution it had
    reported (``detail["stopped"]`` true), or there is none.

    Raises
    ------
    InfeasiblePlanError
        When HiGHS proves the instance infeasible, returns no feasible solution within the
        time limit, or returns a solution that breaks a constraint.

    Examples
    --------
    >>> menu = Menu(np.array([0, 0, 1, 1]), np.array([0.0, 10.0, 0.0, 8.0]),
    ...             np.array([0.0, 5.0, 0.0, 5.0]), np.array([-1, 0, -1, 0]), 2)
    >>> plan = solve_exact(menu, [6.0])
    >>> plan.choice.tolist(), plan.objective
    ([1, 2], 10.0)
    """
    t0 = time.perf_counter()
    started = time.time()
    cap = _capacity(capacity, menu, names)
    n_res = cap.shape[0]
    n, m = menu.n_customers, menu.n_options
    if n == 0:
        return Plan(np.zeros(0, dtype=np.int64), 0.0, 0.0, 0.0, np.zeros(n_res), "highs", 0.0)

    # columns: option o has 1 in row customer[o] and hours[o] in row n + resource[o]
    on = (menu.resource >= 0) & (menu.hours > 0)
    nnz_per_col = 1 + on.astype(np.int64)
    start = np.r_[0, np.cumsum(nnz_per_col)].astype(np.int32)
    index = np.empty(int(start[-1]), dtype=np.int32)
    value = np.empty(int(start[-1]), dtype=np.float64)
    index[start[:-1]] = menu.customer
    value[start[:-1]] = 1.0
    second = start[:-1][on] + 1
    index[second] = n + menu.resource[on]
    value[second] = menu.hours[on]

    model = {
        "num_col": m,
        "num_row": n + n_res,
        "col_cost": menu.value.astype(np.float64),
        "col_lower": np.zeros(m),
        "col_upper": np.ones(m),
        "row_lower": np.r_[np.ones(n), np.full(n_res, -highspy.kHighsInf)],
        "row_upper": np.r_[np.ones(n), cap],
        "start": start,
        "index": index,
        "value": value,
        "maximize": True,
    }
    options: dict[str, Any] = {"mip_rel_gap": float(mip_rel_gap), "random_seed": 0}
    if threads is not None:
        options["threads"] = int(threads)
    res = solve_milp(model, time_limit=float(time_limit), options=options, started=started)
    status_text = res.status
    if res.model_status == int(highspy.HighsModelStatus.kInfeasible):
        raise InfeasiblePlanError(
            "the coverage plan has no feasible solution (HiGHS proved the capacities and "
            "minimum frequencies cannot all be met)",
            hint="give the reps more hours or lower the minimum frequencies",
        )
    if res.x is None:
        raise InfeasiblePlanError(
            f"HiGHS found no feasible coverage plan within {time_limit:g} s "
            f"(status: {status_text})",
            hint="raise the time limit or use the planner without --exact",
        )
    x = np.asarray(res.x, dtype=np.float64)
    # the chosen option of each customer: its largest x (an integer solution has one 1)
    order = np.lexsort((-x, menu.customer))
    first = order[np.r_[True, menu.customer[order][1:] != menu.customer[order][:-1]]]
    choice = first.astype(np.int64)
    if np.any(np.abs(x[choice] - 1.0) > 1e-6):
        i = int(np.flatnonzero(np.abs(x[choice] - 1.0) > 1e-6)[0])
        raise InfeasiblePlanError(f"HiGHS returned a fractional choice for customer {i}")
    try:
        check_plan(menu, cap, choice, names=names)
    except InfeasiblePlanError as err:
        raise InfeasiblePlanError(
            f"HiGHS returned a plan that breaks a constraint: {err.message}",
            resource=err.resource,
        ) from err
    objective = float(np.sum(menu.value[choice]))
    dual = float(res.dual_bound)
    bound = dual if np.isfinite(dual) else np.inf
    bound = max(bound, objective)
    gap = (bound - objective) / max(abs(bound), TINY) if np.isfinite(bound) else np.inf
    return Plan(
        choice=choice,
        objective=objective,
        upper_bound=bound,
        gap=max(gap, 0.0),
        hours_used=_used(menu, choice, n_res),
        method="highs",
        seconds=time.perf_counter() - t0,
        detail={
            "status": status_text,
            "highs_objective": float(res.objective),
            "mip_gap": float(res.mip_gap),
            "nodes": int(res.nodes),
            "stopped": res.stopped,
            "highs_seconds": float(res.seconds),
            "time_limit": float(time_limit),
            "mip_rel_gap": float(mip_rel_gap),
            "resource_names": [_name(r, names) for r in range(n_res)] if names else None,
        },
    )
