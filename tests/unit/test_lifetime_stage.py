"""lifetime_stage on tiny tables: it degrades with a reason instead of failing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tierwise.engine import Engine
from tierwise.lifetime import lifetime_stage, simulate_bgnbd
from tierwise.settings import LifetimeSettings

D = dt.date


def test_stage_without_repeat_buyers_still_gives_status_and_says_why():
    eng = Engine()
    tx = eng.from_arrow(
        pa.table(
            {
                "customer_id": ["a", "b", "c"],
                "date": pa.array([D(2024, 1, 5), D(2024, 3, 1), D(2024, 6, 20)], pa.date32()),
                "revenue": [10.0, 20.0, 30.0],
                "is_return": [False, False, False],
                "is_cancel": [False, False, False],
            }
        )
    )
    res = lifetime_stage(
        tx,
        D(2024, 6, 30),
        LifetimeSettings(supervised_model=False, default_gap_days=50),
        engine=eng,
        prospects=pa.table({"customer_id": ["p1", "a"]}),
    )
    c = res.customers
    assert c.column("customer_id").to_pylist() == ["a", "b", "c", "p1"]
    # single buyers are judged against default_gap_days: 177 / 50 > 3, 121 / 50 in (1.5, 3]
    assert c.column("status").to_pylist() == ["inactive", "at_risk", "new", "prospect"]
    assert c.column("p_alive").null_count == 4  # no transaction model could be fitted
    assert any("no customer has a repeat purchase" in w for w in res.warnings)
    assert "bgnbd" not in res.models
    assert res.high_value_at_risk.num_rows == 0
    eng.close()


def _transactions(n: int, *, spend_shape: float, seed: int) -> tuple[pa.Table, D]:
    """BG/NBD purchase days for ``n`` customers over 104 weeks, each purchase day's value
    Gamma(4, nu) with nu ~ Gamma(spend_shape, 1) across customers (Gamma-Gamma's q)."""
    rng = np.random.default_rng(seed)
    as_of = D(2024, 12, 31)
    x, t_x, T = simulate_bgnbd(n, rng.uniform(20, 104, n), r=0.8, alpha=6.0, seed=seed).T
    first = np.datetime64(as_of) - np.round(T * 7).astype("timedelta64[D]")
    # purchase days: the first, the last repeat at t_x, the others uniform in between
    cust = np.repeat(np.arange(n), (x + 1).astype(int))
    k = np.arange(len(cust)) - np.repeat(np.cumsum(x + 1) - (x + 1), (x + 1).astype(int))
    last = k == x[cust]
    offset = np.where(k == 0, 0.0, np.where(last, t_x[cust], rng.random(len(cust)) * t_x[cust]))
    day = first[cust] + np.round(offset * 7).astype("timedelta64[D]")
    nu = rng.gamma(spend_shape, 1.0, n)
    value = rng.gamma(4.0, 1.0 / nu[cust])
    t = pa.table(
        {
            "customer_id": pa.array([f"c{i:05d}" for i in cust]),
            "date": pa.array(day, pa.date32()),
            "revenue": pa.array(np.round(value, 2) + 0.01),
            "is_return": pa.array(np.zeros(len(cust), bool)),
            "is_cancel": pa.array(np.zeros(len(cust), bool)),
        }
    )
    return t, as_of


QUICK = {"supervised_model": False, "candidate_models": ("bgnbd",)}


def test_spend_too_spread_for_gamma_gamma_falls_back_to_own_mean_and_says_so():
    # nu ~ Gamma(0.5): the spread of customers' mean spend has no finite mean (q <= 1)
    tx, as_of = _transactions(3000, spend_shape=0.5, seed=1)
    eng = Engine()
    res = lifetime_stage(eng.from_arrow(tx), as_of, LifetimeSettings(**QUICK), engine=eng)
    assert res.models["gamma_gamma"]["params"]["q"] <= 1.0
    note = next(w for w in res.warnings if w.startswith("gamma_gamma: q = "))
    assert note.endswith("expected order value = each customer's own mean order value")
    c = res.customers
    days = res.tables["lifetime_summary"].column("purchase_days")
    total = pc.sum(tx.column("revenue")).as_py()
    own = np.asarray(c.column("expected_order_value")) * np.asarray(days)
    assert own.sum() == pytest.approx(total, rel=1e-9)  # own mean x purchase days = revenue
    eng.close()


def test_gamma_gamma_gives_expected_order_values_when_spend_is_well_behaved():
    tx, as_of = _transactions(3000, spend_shape=4.0, seed=2)
    eng = Engine()
    res = lifetime_stage(eng.from_arrow(tx), as_of, LifetimeSettings(**QUICK), engine=eng)
    gg = res.models["gamma_gamma"]["params"]
    # q and p drawn as 4: within 25% at 3,000 customers, 2,534 repeat buyers (measured
    # p = 4.15, q = 4.10; with spend_shape 0.5 the same fit gives q = 0.51)
    assert gg["q"] == pytest.approx(4.0, rel=0.25) and gg["p"] == pytest.approx(4.0, rel=0.25)
    assert not any(w.startswith("gamma_gamma") for w in res.warnings)
    eng.close()


def test_margins_are_bounded_and_missing_ones_get_the_peers_margin():
    tx, as_of = _transactions(600, spend_shape=4.0, seed=3)
    eng = Engine()
    t = eng.from_arrow(tx)
    base = lifetime_stage(t, as_of, LifetimeSettings(**QUICK), engine=eng)
    ids = base.customers.column("customer_id")
    n = len(ids)
    i = np.arange(n)
    rate = np.where(i % 3 == 0, np.nan, np.where(i % 2 == 0, 0.1, 0.3))
    rate[1] = -56.9  # a one-off cost on a small order
    margin = pa.table({"customer_id": ids, "net_margin_rate": pa.array(rate)})
    cfg = LifetimeSettings(**QUICK, margin_shrinkage=False)
    net = lifetime_stage(t, as_of, cfg, engine=eng, margin=margin)
    days = base.tables["lifetime_summary"].column("purchase_days").to_numpy().astype(float)
    known = np.isfinite(rate)
    bounded = np.clip(rate, -1.0, 1.0)
    # the peers' margin: bounded rates weighted by the evidence (purchase days here)
    peer = (bounded[known] * days[known]).sum() / days[known].sum()
    m = net.manifest["margin"]
    assert m["peer_margin"] == pytest.approx(peer, rel=1e-12)
    assert (m["customers_filled"], m["customers_bounded"], m["customers_shrunk"]) == (
        int((~known).sum()),
        1,
        0,
    )
    applied = np.where(known, bounded, peer)
    summary = net.tables["lifetime_summary"]
    np.testing.assert_allclose(summary.column("margin_used").to_numpy(), applied, rtol=1e-12)
    np.testing.assert_allclose(
        summary.column("clv_before_bound").to_numpy(),
        base.tables["lifetime_summary"].column("clv_before_bound").to_numpy() * applied,
        rtol=1e-12,
    )
    assert net.manifest["clv_basis"] == "net_profit"
    eng.close()


def test_prospects_come_sorted_whatever_the_input_order():
    tx, as_of = _transactions(300, spend_shape=4.0, seed=4)
    eng = Engine()
    t = eng.from_arrow(tx)
    cfg = LifetimeSettings(**QUICK)
    known = ["p9", "c00001", "p1", None, "p5", "p1"]  # a buyer, a duplicate, a null
    a = lifetime_stage(t, as_of, cfg, engine=eng, prospects=pa.table({"customer_id": known}))
    b = lifetime_stage(t, as_of, cfg, engine=eng, prospects=pa.table({"customer_id": known[::-1]}))
    assert a.customers.equals(b.customers)
    tail = a.customers.slice(a.customers.num_rows - 3)
    assert tail.column("customer_id").to_pylist() == ["p1", "p5", "p9"]
    assert set(tail.column("status").to_pylist()) == {"prospect"}
    eng.close()
