"""The coverage plan from one run to the next: the previous plan's reps, channels and
frequencies kept unless a change pays, the response estimate weighed against the setting,
reps no longer in the reps file, and win-back contacts for dormant gold
accounts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from test_coverage_stage import PROGRAMMES, base, legacy, reps

from tierwise.coverage.stage import UNASSIGNED, coverage_plan
from tierwise.settings.coverage import CoverageSettings

#: Class A's response with no contact (s0, [coverage] response.A)
PROGRAMME_S0_A = CoverageSettings().response["A"].s0

PLAN = ("channel", "visits_per_year", "calls_per_year", "emails_per_year", "assigned_rep")


def _previous(c: pa.Table, res) -> pa.Table:  # type: ignore[no-untyped-def]
    """A previous run's customers table as the stage reads it from --previous."""
    return pa.table(
        {
            "customer_id": c.column("customer_id"),
            "value_class": c.column("value_class"),
            **{k: res.customers.column(k) for k in PLAN},
        }
    )


def _changed(a: pa.Table, b: pa.Table) -> np.ndarray:
    """Per customer whether its channel, a frequency or its rep differs."""
    out = np.zeros(a.num_rows, bool)
    for k in PLAN:
        x = np.asarray(a.column(k).to_pylist(), object)
        y = np.asarray(b.column(k).to_pylist(), object)
        out |= x != y
    return out


def _next_month(c: pa.Table, seed: int = 9) -> pa.Table:
    """The same customers a month later: every wallet re-estimated, a quarter off or so."""
    rng = np.random.default_rng(seed)
    w = np.asarray(c.column("wallet").to_numpy()) * rng.lognormal(0.0, 0.25, c.num_rows)
    return c.set_column(c.column_names.index("wallet"), "wallet", pa.array(w))


def test_a_rerun_on_nearly_the_same_data_keeps_most_of_the_previous_plan() -> None:
    c = base(n=300, seed=4)
    first = coverage_plan(c, programmes=PROGRAMMES, reps=reps(), legacy=legacy(c))
    later = _next_month(c)
    afresh = coverage_plan(later, programmes=PROGRAMMES, reps=reps(), legacy=legacy(later))
    kept = coverage_plan(
        later,
        programmes=PROGRAMMES,
        reps=reps(),
        legacy=legacy(later),
        previous=_previous(c, first),
    )
    churn_afresh = int(_changed(first.customers, afresh.customers).sum())
    churn_kept = int(_changed(first.customers, kept.customers).sum())
    assert churn_afresh > 20, churn_afresh
    assert churn_kept <= churn_afresh // 3, (churn_kept, churn_afresh)
    # what changed, per customer and counted in the manifest and the headline
    change = np.asarray(kept.customers.column("plan_change").to_pylist(), object)
    moved = _changed(first.customers, kept.customers)
    assert ((change != "same") == moved).all()
    block = kept.manifest["plan_changes"]
    assert block["changed"] == churn_kept and block["customers_in_both"] == c.num_rows
    rep_moved = np.asarray(first.customers.column("assigned_rep").to_pylist(), object) != (
        np.asarray(kept.customers.column("assigned_rep").to_pylist(), object)
    )
    assert block["rep_changed"] == int(rep_moved.sum())
    assert (
        f"against the previous plan {churn_kept:,} of {c.num_rows:,}" in (kept.manifest["headline"])
    )
    # the charges steer the choice only: the plan stays within its certified gap
    assert kept.plan is not None and kept.plan.gap < 0.01
    # without a previous plan there is no plan_change column
    assert "plan_change" not in afresh.customers.column_names
    assert "plan_changes" not in afresh.manifest


def test_without_stability_charges_the_previous_plan_changes_no_channel_or_frequency() -> None:
    # the previous plan acts through the two charges only: at 0 the plan is planned afresh
    c = base(n=200, seed=6)
    first = coverage_plan(c, programmes=PROGRAMMES, reps=reps(), legacy=legacy(c))
    later = _next_month(c)
    s = CoverageSettings(stability_bonus=0.0, plan_stability_bonus=0.0)
    afresh = coverage_plan(later, s, programmes=PROGRAMMES, reps=reps(), legacy=legacy(later))
    kept = coverage_plan(
        later,
        s,
        programmes=PROGRAMMES,
        reps=reps(),
        legacy=legacy(later),
        previous=_previous(c, first),
    )
    for k in PLAN[:4]:
        assert kept.customers.column(k).equals(afresh.customers.column(k)), k


def test_the_previous_plans_field_rep_is_kept_over_the_masters_rep_id() -> None:
    # the previous plan gave the northern customers the other northern rep than the master
    # says: with a previous plan the plan keeps that rep, without one the master's
    c = base(n=120, seed=8)
    s = CoverageSettings(stability_bonus=5_000.0)
    first = coverage_plan(c, s, programmes=PROGRAMMES, reps=reps(), legacy=legacy(c))
    rep = np.asarray(first.customers.column("assigned_rep").to_pylist(), object)
    swapped = np.where(rep == "N1", "N2", np.where(rep == "N2", "N1", rep))
    north = (rep == "N1") | (rep == "N2")
    assert north.sum() >= 10
    prev = _previous(c, first)
    prev = prev.set_column(
        prev.column_names.index("assigned_rep"), "assigned_rep", pa.array(swapped, pa.string())
    )
    again = coverage_plan(c, s, programmes=PROGRAMMES, reps=reps(), legacy=legacy(c), previous=prev)
    now = np.asarray(again.customers.column("assigned_rep").to_pylist(), object)
    assert (now[north] == swapped[north]).mean() > 0.9
    # the master's rep_id when there is no previous plan
    master = np.asarray(c.column("rep_id").to_pylist(), object)
    assert (rep[north] == master[north]).mean() > 0.9


def test_called_customers_keep_their_inside_rep() -> None:
    # two inside reps share a pool: a customer called in both plans keeps its inside rep
    # where the split in customer order would hand it to the other
    team = reps(
        rep_id=["N1", "N2", "S1", "K1", "I1", "I2"],
        role=["field", "field", "field", "key_account", "inside", "inside"],
        hours_per_year=[1600.0, 1600.0, 1600.0, 1500.0, 1700.0, 1700.0],
        region=["N", "N", "S", None, None, None],
        home_lat=[53.4, 53.7, 51.5, 52.5, 52.5, 52.5],
        home_lon=[-1.5, -1.4, -1.6, -1.9, -1.9, -1.9],
        _row=[1, 2, 3, 4, 5, 6],
    )
    c = base(n=300, seed=4)
    first = coverage_plan(c, programmes=PROGRAMMES, reps=team, legacy=legacy(c))
    rep = np.asarray(first.customers.column("assigned_rep").to_pylist(), object)
    inside = (rep == "I1") | (rep == "I2")
    assert inside.sum() >= 10
    swapped = np.where(rep == "I1", "I2", np.where(rep == "I2", "I1", rep))
    prev = _previous(c, first)
    prev = prev.set_column(
        prev.column_names.index("assigned_rep"), "assigned_rep", pa.array(swapped, pa.string())
    )
    again = coverage_plan(c, programmes=PROGRAMMES, reps=team, legacy=legacy(c), previous=prev)
    now = np.asarray(again.customers.column("assigned_rep").to_pylist(), object)
    called = inside & (np.asarray(again.customers.column("channel").to_pylist()) == "inside")
    assert (now[called] == swapped[called]).all()
    # and each inside rep still carries about its share of the pool's hours
    plan = again.tables["rep_plan"].to_pandas().set_index("rep_id")
    i1, i2 = plan.loc["I1", "hours_used"], plan.loc["I2", "hours_used"]
    assert abs(i1 - i2) <= 0.2 * (i1 + i2)


def _panel(c: pa.Table, s0: float, s1: float, seed: int = 2) -> pa.Table:
    """Two half-years of contacts and revenue per customer: a share of wallet from s0 with
    no contact to s1 at saturation (d 2, c 1)."""
    ids = np.asarray(c.column("customer_id").to_pylist(), object)
    rng = np.random.default_rng(seed)
    rows = np.repeat(ids, 2)
    visits = rng.integers(0, 9, len(rows))
    share = s0 + (s1 - s0) * visits / (2.0 + visits)
    return pa.table(
        {
            "customer_id": rows,
            "h": np.tile([0, 1], len(ids)),
            "visits": visits,
            "calls": np.zeros(len(rows), np.int64),
            "emails": np.zeros(len(rows), np.int64),
            "revenue": np.repeat(np.asarray(c.column("wallet")), 2)
            / 2
            * share
            * rng.lognormal(0.0, 0.3, len(rows)),
        }
    )


def test_a_response_estimate_is_weighed_against_the_setting_by_its_standard_error() -> None:
    c = base(n=600, seed=12)
    panel = _panel(c, s0=0.2, s1=0.9)
    s = CoverageSettings(estimate_min_customers=20)
    res = coverage_plan(c, s, programmes=PROGRAMMES, reps=reps(), panel=panel)
    d = res.manifest["response"]["D"]
    assert d["source"].startswith("estimated from the activity history, weighed")
    setting = s.response["D"]
    for k in d["estimated"]:
        se, tau = d["standard_error"][k], s.response_prior_sd[k]
        w = tau**2 / (tau**2 + se**2)
        assert d["weight_of_estimate"][k] == pytest.approx(w)
        assert d[k] == pytest.approx(
            getattr(setting, k) + w * (d["estimate"][k] - getattr(setting, k))
        )
        # between the setting and the estimate
        lo, hi = sorted((getattr(setting, k), d["estimate"][k]))
        assert lo - 1e-12 <= d[k] <= hi + 1e-12
    # a very wide prior takes the estimate as it is; a very narrow one keeps the setting
    wide = coverage_plan(
        c,
        CoverageSettings(estimate_min_customers=20, response_prior_sd={"s0": 1e3, "s1": 1e3}),
        programmes=PROGRAMMES,
        reps=reps(),
        panel=panel,
    ).manifest["response"]["D"]
    assert wide["s1"] == pytest.approx(wide["estimate"]["s1"], rel=1e-6)
    narrow = coverage_plan(
        c,
        CoverageSettings(estimate_min_customers=20, response_prior_sd={"s0": 1e-4, "s1": 1e-4}),
        programmes=PROGRAMMES,
        reps=reps(),
        panel=panel,
    ).manifest["response"]["D"]
    assert narrow["s1"] == pytest.approx(setting.s1, abs=1e-3)


def test_a_response_estimate_moves_little_when_a_few_customers_leave_the_history() -> None:
    # class D's estimate of s1 runs to its bound (1.0) once a few customer-periods leave the
    # history: an estimate at its bound used to be thrown away for the setting (s1 0.35,
    # from 0.95 the run before); weighed by its standard error it moves a little
    c = base(n=600, seed=12)
    s = CoverageSettings(estimate_min_customers=20)
    panel = _panel(c, s0=0.3, s1=1.0)
    fewer = panel.slice(0, panel.num_rows - 40)
    a = coverage_plan(c, s, programmes=PROGRAMMES, reps=reps(), panel=panel)
    b = coverage_plan(c, s, programmes=PROGRAMMES, reps=reps(), panel=fewer)
    assert b.manifest["response"]["D"]["estimate"]["s1"] == pytest.approx(1.0)
    for cls in ("C", "D"):
        ra, rb = a.manifest["response"][cls], b.manifest["response"][cls]
        assert "weighed" in ra["source"] and "weighed" in rb["source"], (ra, rb)
        assert abs(ra["s1"] - rb["s1"]) < 0.15 and abs(ra["s0"] - rb["s0"]) < 0.03


def test_customers_of_a_rep_not_in_the_reps_file_are_never_given_to_that_rep() -> None:
    # N2 has left: the reps file no longer has it, the customer master still does
    c = base(n=200, seed=5)
    master = np.asarray(c.column("rep_id").to_pylist(), object)
    theirs = master == "N2"
    assert theirs.sum() >= 10
    team = reps(
        rep_id=["N1", "S1", "K1", "I1"],
        role=["field", "field", "key_account", "inside"],
        hours_per_year=[1600.0, 1600.0, 1500.0, 1700.0],
        region=["N", "S", None, None],
        home_lat=[53.4, 51.5, 52.5, 52.5],
        home_lon=[-1.5, -1.6, -1.9, -1.9],
        _row=[1, 2, 3, 4],
    )
    res = coverage_plan(c, programmes=PROGRAMMES, reps=team, legacy=legacy(c))
    out = res.customers.to_pandas()
    assert not (out.assigned_rep == "N2").any()
    # those the plan neither visits nor calls are unassigned, not left with N2
    no_rep = theirs & ~out.channel.isin(["field", "inside"]).to_numpy()
    assert (out.assigned_rep[no_rep] == UNASSIGNED).all()
    assert out.assigned_rep[~theirs & ~out.channel.isin(["field", "inside"])].isna().all()
    for reason in out.coverage_reason[theirs]:
        assert "(rep N2 is not in the reps file)" in reason, reason
    block = res.manifest["reps_not_in_reps_file"]
    assert block["customers"] == int(theirs.sum()) and block["by_rep"] == {"N2": int(theirs.sum())}
    assert block["unassigned"] == int(no_rep.sum())
    said = [w for w in res.warnings if "not in the reps file" in w]
    assert len(said) == 1
    assert f"N2 ({int(theirs.sum())})" in said[0] and "rep_id" in said[0]
    # today's visits made by N2 are named too
    assert (
        "today's visits" in said[0]
        and "N2" in res.manifest["reps_not_in_reps_file"]["reps_of_todays_visits"]
    )
    # with every rep in the file, nothing is said
    full = coverage_plan(c, programmes=PROGRAMMES, reps=reps(), legacy=legacy(c))
    assert full.manifest["reps_not_in_reps_file"]["customers"] == 0
    assert not any("not in the reps file" in w for w in full.warnings)


def _dormant_gold(status_name: str) -> tuple[pa.Table, np.ndarray]:
    """The base with its gold accounts of ``status_name`` and unlikely to buy again."""
    t = base(n=200, seed=7)
    tier = np.asarray(t.column("tier").to_pylist(), object)
    gold = np.flatnonzero((tier == "gold") & ~np.asarray(t.column("is_prospect"), bool))
    assert len(gold) >= 5
    status = np.full(t.num_rows, "active", dtype=object)
    status[gold] = status_name
    p_alive = np.full(t.num_rows, 0.95)
    p_alive[gold] = 0.02
    t = t.append_column("status", pa.array(status, pa.string()))
    t = t.append_column("p_alive", pa.array(p_alive))
    return t, gold


def test_lapsed_gold_accounts_get_a_win_back_contact() -> None:
    # a lapsed gold account is released from gold's visit minimum, but a sales manager
    # calls it: the plan gives it a call (or a visit) at least, never no contact
    t, gold = _dormant_gold("lapsed")
    res = coverage_plan(t, programmes=PROGRAMMES, reps=reps(), legacy=legacy(t))
    out = res.customers.to_pandas()
    assert out.channel[gold].isin(["inside", "field"]).all(), out.channel[gold]
    assert (out.calls_per_year[gold] + out.visits_per_year[gold] > 0).all()
    vmin = PROGRAMMES["gold"].visits_min
    for i in gold:
        reason = out.coverage_reason[i]
        if out.visits_per_year[i] < vmin:
            assert f"(lapsed: win-back; not held to the gold tier's {vmin:g} visits)" in reason
    block = res.manifest["winback"]
    assert block["customers"] == len(gold) and block["by_tier"] == {"gold": len(gold)}
    said = [w for w in res.warnings if "win-back contact" in w]
    assert len(said) == 1 and "[coverage] winback_tiers" in said[0]
    # almost surely gone (p_alive 0.02), most of them are contacted at a loss (what a
    # customer earns without contact: margin × wallet × P(alive) × s0): said
    wallet = np.asarray(t.column("wallet").to_numpy())[gold] * 0.02
    margin = np.asarray(t.column("gross_margin_rate_pnl").to_numpy())[gold]
    short = margin * wallet * PROGRAMME_S0_A - out.expected_contribution_plan[gold].to_numpy()
    losing = int((short > 1e-9).sum())
    assert losing > 0 and block["contacted_at_a_loss"] == losing
    assert block["expected_loss"] == pytest.approx(short[short > 1e-9].sum())
    assert f"; the contacts of {losing} of them cost €" in said[0]
    # without win-back tiers the plan may leave them without contact, as it pays better
    left = coverage_plan(
        t, CoverageSettings(winback_tiers=[]), programmes=PROGRAMMES, reps=reps(), legacy=legacy(t)
    )
    lo = left.customers.to_pandas()
    assert (lo.calls_per_year[gold] + lo.visits_per_year[gold] == 0).any()
    assert left.manifest["winback"]["customers"] == 0


def test_a_win_back_contact_falls_back_to_email_where_no_call_or_visit_reaches() -> None:
    # no inside team and no field rep within reach: e-mail, still not nothing; with a rep
    # in reach, neither e-mail nor no contact is offered
    from tierwise.coverage.menu import CustomerFrame, Team, build_menu

    team = Team(
        np.array(["R1"], object),
        np.array(["field"], object),
        np.array([1600.0]),
        np.array(["N"], object),
        np.array([52.0]),
        np.array([0.0]),
        np.array([1]),
    )

    def one(lat: float) -> CustomerFrame:
        a = lambda x: np.array([x], object)  # noqa: E731
        f = lambda x: np.array([x], np.float64)  # noqa: E731
        return CustomerFrame(
            a("c"), a("A"), a("gold"), a("N"), a("R1"), f(lat), f(0.0), f(50_000.0),
            f(0.3), np.array([False]), f(0.2), f(0.5), f(1.0), f(3.0),
        )  # fmt: skip

    s, free, wb = CoverageSettings(), np.array([True]), np.array([True])
    far = build_menu(one(10.0), team, s, PROGRAMMES, released=free, winback=wb)
    assert sorted(set(far.channel.tolist())) == ["email"]
    near = build_menu(one(52.3), team, s, PROGRAMMES, released=free, winback=wb)
    assert sorted(set(near.channel.tolist())) == ["field"]
    alone = build_menu(one(52.3), team, s, PROGRAMMES, released=free)
    assert {"distributor", "email", "field"} <= set(alone.channel.tolist())


def _respelled(prev: pa.Table, spelling: dict[str, str]) -> pa.Table:
    """The previous plan with its channels written otherwise (an edited or exported file)."""
    ch = [None if x is None else spelling.get(x, x) for x in prev.column("channel").to_pylist()]
    return prev.set_column(prev.column_names.index("channel"), "channel", pa.array(ch))


def test_a_previous_plans_channels_are_read_whatever_their_case() -> None:
    # a previous plan whose channels read "Field", " INSIDE ", "E-mail"… is the same plan:
    # the same choices kept, no channel counted as changed, nothing said
    c = base(n=200, seed=6)
    first = coverage_plan(c, programmes=PROGRAMMES, reps=reps(), legacy=legacy(c))
    later = _next_month(c)
    prev = _previous(c, first)
    spelling = {
        "field": "Field",
        "inside": " INSIDE ",
        "email": "Email",
        "distributor": "DISTRIBUTOR",
    }
    assert set(spelling) >= {x for x in prev.column("channel").to_pylist() if x}
    exact = coverage_plan(
        later, programmes=PROGRAMMES, reps=reps(), legacy=legacy(later), previous=prev
    )
    odd = coverage_plan(
        later,
        programmes=PROGRAMMES,
        reps=reps(),
        legacy=legacy(later),
        previous=_respelled(prev, spelling),
        previous_file="last/customers.parquet",
    )
    for k in (*PLAN, "plan_change"):
        assert odd.customers.column(k).equals(exact.customers.column(k)), k
    assert odd.manifest["plan_changes"] == exact.manifest["plan_changes"]
    assert not any("none of this run's channels" in w for w in odd.warnings)


def test_a_previous_plan_channel_that_names_none_of_this_runs_is_said_once() -> None:
    c = base(n=200, seed=6)
    first = coverage_plan(c, programmes=PROGRAMMES, reps=reps(), legacy=legacy(c))
    prev = _respelled(_previous(c, first), {"inside": "Tele-Sales"})
    k = prev.column("channel").to_pylist().count("Tele-Sales")
    assert k
    res = coverage_plan(
        c,
        programmes=PROGRAMMES,
        reps=reps(),
        legacy=legacy(c),
        previous=prev,
        previous_file="last/customers.parquet",
    )
    said = [w for w in res.warnings if "none of this run's channels" in w]
    assert len(said) == 1
    assert said[0].startswith(
        f"previous plan last/customers.parquet, column channel: {k} customers have channels"
    )
    assert f"'tele_sales' ({k})" in said[0]
    assert "(field, inside, email, distributor)" in said[0]


def test_a_previous_plan_with_no_customer_in_common_is_said_so_not_0_of_0() -> None:
    c = base(n=60, seed=4)
    first = coverage_plan(c, programmes=PROGRAMMES, reps=reps(), legacy=legacy(c))
    other = _previous(c, first)
    ids = [f"Z{x}" for x in other.column("customer_id").to_pylist()]
    other = other.set_column(0, "customer_id", pa.array(ids))
    res = coverage_plan(c, programmes=PROGRAMMES, reps=reps(), legacy=legacy(c), previous=other)
    assert set(res.customers.column("plan_change").to_pylist()) == {"new"}
    assert (
        "no account or prospect of the previous plan is in this one: all 60 are new"
        in (res.manifest["headline"])
    )
    assert "0 of 0" not in res.manifest["headline"]


def test_classes_renamed_without_their_response_entries_are_named() -> None:
    # [segments] classes renamed A → Key, …: [coverage] response still names A, B, C, D
    c = base(n=60, seed=4)
    names = {"A": "Key", "B": "Grow", "C": "Core", "D": "Tail"}
    cls = [names[x] for x in c.column("value_class").to_pylist()]
    c = c.set_column(c.column_names.index("value_class"), "value_class", pa.array(cls))
    res = coverage_plan(c, programmes=PROGRAMMES, reps=reps(), legacy=legacy(c))
    (w,) = [w for w in res.warnings if "no entry in [coverage] response" in w]
    assert "which names A, B, C, D, classes this run does not have" in w
    assert "is [coverage] response_default (s0 0.3 s1 0.5 c 1 d 3)" in w
    # the default names: nothing to say
    plain = coverage_plan(base(n=60, seed=4), programmes=PROGRAMMES, reps=reps(), legacy=None)
    assert not any("no entry in [coverage] response" in w for w in plain.warnings)
