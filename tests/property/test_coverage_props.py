"""The coverage planner on any small instance (Hypothesis): the plan is feasible, its bound
is above the best plan found by enumeration, and more hours never lower the objective."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tierwise.coverage.allocate import Menu, allocate


@st.composite
def instances(draw: st.DrawFn) -> tuple[Menu, np.ndarray]:
    n = draw(st.integers(min_value=1, max_value=5))
    n_res = draw(st.integers(min_value=1, max_value=2))
    cust, value, hours, res = [], [], [], []
    for i in range(n):
        # every customer can always take a no-capacity option
        cust.append(i)
        value.append(draw(st.floats(-5, 5)))
        hours.append(0.0)
        res.append(-1)
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            cust.append(i)
            value.append(draw(st.floats(-10, 100)))
            hours.append(draw(st.floats(0, 20)))
            res.append(draw(st.integers(min_value=-1, max_value=n_res - 1)))
    cap = np.array(draw(st.lists(st.floats(0, 40), min_size=n_res, max_size=n_res)))
    menu = Menu(
        np.array(cust, dtype=np.int64),
        np.array(value),
        np.array(hours),
        np.array(res, dtype=np.int64),
        n,
    )
    return menu, cap


def enumerate_best(menu: Menu, cap: np.ndarray) -> float:
    options = [np.flatnonzero(menu.customer == i) for i in range(menu.n_customers)]
    best = -np.inf
    for pick in itertools.product(*options):
        ch = np.array(pick)
        r = menu.resource[ch]
        used = np.bincount(r[r >= 0], menu.hours[ch][r >= 0], minlength=cap.size)
        if np.all(used <= cap + 1e-9 * np.maximum(cap, 1.0)):  # the planner's tolerance
            best = max(best, float(menu.value[ch].sum()))
    return best


@settings(max_examples=60, deadline=None)
@given(instances())
def test_plan_is_feasible_and_bound_is_above_the_optimum(inst):
    menu, cap = inst
    plan = allocate(menu, cap)
    assert np.all(plan.hours_used <= cap + 1e-6)
    assert np.array_equal(menu.customer[plan.choice], np.arange(menu.n_customers))
    best = enumerate_best(menu, cap)
    assert plan.objective <= best + 1e-9
    assert plan.upper_bound >= best - 1e-6 * max(1.0, abs(best))


@settings(max_examples=60, deadline=None)
@given(instances(), st.floats(0, 30), st.integers(min_value=0, max_value=1))
def test_more_hours_never_lower_the_objective(inst, extra, which):
    menu, cap = inst
    more = cap.copy()
    more[which % cap.size] += extra
    assert allocate(menu, more).objective >= allocate(menu, cap).objective - 1e-9
