"""The coverage menu on hand-made cases: tier bands, candidate reps by distance, travel
hours, values and the infeasible band."""

from __future__ import annotations

import numpy as np
import pytest

from tierwise.coverage.allocate import InfeasiblePlanError
from tierwise.coverage.menu import (
    CustomerFrame,
    Team,
    TeamChange,
    _candidates,
    build_menu,
    haversine_km,
)
from tierwise.coverage.response import response
from tierwise.settings.coverage import CoverageSettings
from tierwise.settings.segments import SegmentSettings

PROGRAMMES = SegmentSettings().programmes  # gold 6-12 visits, silver 2-6, bronze 0-1
KM_PER_DEGREE = 6371.0088 * np.pi / 180  # along a meridian


def team(**over) -> Team:  # type: ignore[no-untyped-def]
    # reps on the meridian 0: R1 0.1°, R2 0.5°, R3 0.3° north of the customers' 52°N,
    # R4 in another region right next to them, R5 a key account manager (no region),
    # R6 and R7 inside sales in regions N and S
    base = {
        "ids": ["R1", "R2", "R3", "R4", "R5", "R6", "R7"],
        "role": ["field", "field", "field", "field", "key_account", "inside", "inside"],
        "hours": [1600.0, 1600.0, 1600.0, 1600.0, 1500.0, 1700.0, 1700.0],
        "region": ["N", "N", "N", "S", None, "N", "S"],
        "lat": [52.1, 52.5, 52.3, 52.01, 52.2, np.nan, np.nan],
        "lon": [0.0] * 7,
        "rows": [1, 2, 3, 4, 5, 6, 7],
    }
    base.update(over)
    return Team(
        ids=np.array(base["ids"], object),
        role=np.array(base["role"], object),
        hours=np.array(base["hours"], float),
        region=np.array(base["region"], object),
        lat=np.array(base["lat"], float),
        lon=np.array(base["lon"], float),
        rows=np.array(base["rows"]),
    )


def customers(tiers, reps=None, region="N", classes=None) -> CustomerFrame:  # type: ignore[no-untyped-def]
    n = len(tiers)
    return CustomerFrame(
        ids=np.array([f"C{i}" for i in range(n)], object),
        value_class=np.array(classes or ["B"] * n, object),
        tier=np.array(tiers, object),
        region=np.array([region] * n, object),
        rep=np.array(reps or [None] * n, object),
        lat=np.full(n, 52.0),
        lon=np.zeros(n),
        wallet=np.full(n, 50_000.0),
        margin_rate=np.full(n, 0.3),
        is_prospect=np.zeros(n, bool),
        s0=np.full(n, 0.2),
        s1=np.full(n, 0.6),
        c=np.full(n, 1.5),
        d=np.full(n, 4.0),
    )


def options(b, i):  # type: ignore[no-untyped-def]
    return np.flatnonzero(b.menu.customer == i)


def test_every_tier_keeps_to_its_channel_and_visit_band() -> None:
    s = CoverageSettings()
    b = build_menu(customers(["gold", "silver", "bronze"]), team(), s, PROGRAMMES)
    gold, silver, bronze = (options(b, i) for i in range(3))
    # gold: key_account/field → field visits only, 6..12 a year
    assert set(b.channel[gold]) == {"field"}
    assert b.visits[gold].min() == 6 and b.visits[gold].max() == 12
    # silver: field 2..6 (inside is in its band, but a visit minimum leaves only visits)
    assert set(b.channel[silver]) == {"field"}
    assert set(b.visits[silver]) == {2.0, 3.0, 4.0, 6.0}
    # bronze: inside and web → inside calls, e-mail, distributor; at most 1 visit (none
    # offered: no field role in its band)
    assert set(b.channel[bronze]) == {"inside", "email", "distributor"}
    assert (b.visits[bronze] == 0).all()
    assert set(b.calls[bronze][b.calls[bronze] > 0]) == set(s.call_levels)
    assert set(b.emails[bronze][b.emails[bronze] > 0]) == set(s.email_levels)
    # every option belongs to a customer in order, each customer has one
    assert (np.diff(b.menu.customer) >= 0).all()
    assert b.menu.n_customers == 3


def test_candidate_reps_current_first_then_nearest_of_the_region() -> None:
    s = CoverageSettings()
    b = build_menu(customers(["silver", "silver"], reps=["R2", None]), team(), s, PROGRAMMES)
    first = options(b, 0)
    lvl = b.visits[first] == 2.0
    # the current rep R2 (farthest) first, then the nearest of region N: R1, R3; R4 (other
    # region) never, though nearest; R5 (key account) not for silver
    assert [b.team.ids[r] for r in b.rep[first][lvl]] == ["R2", "R1", "R3"]
    second = options(b, 1)
    assert [b.team.ids[r] for r in b.rep[second][b.visits[second] == 2.0]] == ["R1", "R3", "R2"]
    b2 = build_menu(
        customers(["silver"], reps=["R2"]), team(), CoverageSettings(candidate_reps=2), PROGRAMMES
    )
    assert [b2.team.ids[r] for r in b2.rep[b2.visits == 2.0]] == ["R2", "R1"]


def test_key_account_managers_visit_only_tiers_whose_band_names_them() -> None:
    b = build_menu(customers(["gold"]), team(), CoverageSettings(), PROGRAMMES)
    reps = {b.team.ids[r] for r in b.rep}
    # gold's band names key_account and field: the national KAM R5 is among the nearest
    assert "R5" in reps and "R4" not in reps


def test_travel_hours_and_distance_per_visit() -> None:
    s = CoverageSettings()
    b = build_menu(customers(["silver"], reps=["R2"]), team(), s, PROGRAMMES)
    for o in np.flatnonzero(b.kind == 3):
        rep = b.team.ids[b.rep[o]]
        dlat = {"R1": 0.1, "R2": 0.5, "R3": 0.3}[rep]
        km = dlat * KM_PER_DEGREE
        assert b.distance_km[o] == pytest.approx(km, rel=1e-6)
        travel = b.visits[o] * 2 * km * s.road_factor / s.travel_speed_kmh
        assert b.travel_hours[o] == pytest.approx(travel, rel=1e-6)
        contact = b.visits[o] * s.minutes_per_contact["visit"] / 60
        assert b.menu.hours[o] == pytest.approx(travel + contact, rel=1e-6)


def test_option_value_is_margin_times_response_minus_cost_and_a_charge_for_changing_rep() -> None:
    s = CoverageSettings()
    c = customers(["silver"], reps=["R2"])
    b = build_menu(c, team(), s, PROGRAMMES)
    for o in range(len(b.menu.value)):
        effort = b.visits[o] * s.effectiveness["visit"]
        rev = float(response(50_000.0, 0.2, 0.6, 1.5, 4.0, effort))
        road = 2 * b.distance_km[o] * s.road_factor
        cost = b.visits[o] * (s.cost_per_contact["visit"] + road * s.cost_per_km)
        assert b.contribution[o] == pytest.approx(0.3 * rev - cost, rel=1e-9)
        other_rep = b.rep[o] >= 0 and b.team.ids[b.rep[o]] != "R2"
        charge = s.stability_bonus if other_rep else 0.0
        assert b.menu.value[o] == pytest.approx(b.contribution[o] - charge, rel=1e-9)
    # visits by the current rep are valued at their contribution, like not visiting at all
    assert any(b.rep[o] >= 0 and b.team.ids[b.rep[o]] == "R2" for o in range(len(b.rep)))


def test_calls_use_the_inside_pool_of_the_customers_region() -> None:
    b = build_menu(customers(["bronze"], region="S"), team(), CoverageSettings(), PROGRAMMES)
    calls = np.flatnonzero(b.kind == 2)
    res = set(b.menu.resource[calls])
    assert len(res) == 1
    r = res.pop()
    assert b.resource_names[r] == "inside S" and b.capacity[r] == 1700.0
    # e-mail and no contact use no hours
    assert (b.menu.resource[b.kind <= 1] == -1).all() and (b.menu.hours[b.kind <= 1] == 0).all()


def test_a_region_without_inside_rep_puts_the_inside_team_in_one_pool() -> None:
    b = build_menu(customers(["bronze"], region="W"), team(), CoverageSettings(), PROGRAMMES)
    r = set(b.menu.resource[b.kind == 2])
    assert [b.resource_names[i] for i in r] == ["inside"]
    assert b.capacity[next(iter(r))] == 3400.0


def test_a_band_no_rep_can_serve_raises_naming_the_tier_and_setting() -> None:
    far = team(lat=[60.0, 60.0, 60.0, 60.0, 60.0, np.nan, np.nan])
    with pytest.raises(InfeasiblePlanError, match=r"tier gold: .*visits_min"):
        build_menu(customers(["gold"]), far, CoverageSettings(), PROGRAMMES)


def test_a_channel_left_out_of_the_settings_is_not_offered() -> None:
    s = CoverageSettings(channels={"field": "visit", "inside": "call", "distributor": "none"})
    b = build_menu(customers(["bronze"]), team(), s, PROGRAMMES)
    assert "email" not in set(b.channel)
    assert (b.emails == 0).all()


def test_a_region_without_a_rep_is_covered_by_the_nearest_reps_of_other_regions() -> None:
    # region W has no field rep: its customer gets the nearest of every region within reach
    # (R4 of S, then R1, R3 of N)
    c = customers(["silver", "silver"], region="W")
    b = build_menu(c, team(), CoverageSettings(), PROGRAMMES)
    first = options(b, 0)
    assert [b.team.ids[r] for r in b.rep[first][b.visits[first] == 2.0]] == ["R4", "R1", "R3"]
    # reach: only the key account manager (no region) serves region W
    assert b.reaches_region.tolist() == [False, False, False, False, True, False, False]


def test_a_current_rep_of_another_region_within_reach_comes_first() -> None:
    b = build_menu(customers(["silver"], reps=["R4"]), team(), CoverageSettings(), PROGRAMMES)
    assert [b.team.ids[r] for r in b.rep[b.visits == 2.0]] == ["R4", "R1", "R3"]
    # out of reach it is not offered
    far = team(lat=[52.1, 52.5, 52.3, 58.0, 52.2, np.nan, np.nan])
    b = build_menu(customers(["silver"], reps=["R4"]), far, CoverageSettings(), PROGRAMMES)
    assert [b.team.ids[r] for r in b.rep[b.visits == 2.0]] == ["R1", "R3", "R2"]


def test_reps_at_the_same_distance_are_taken_in_rep_order() -> None:
    # R2 and R3 at the same home, as far as each other: with two candidates the nearest
    # (R1) and the first of them in the reps file (R2)
    same = team(lat=[52.1, 52.3, 52.3, 52.01, 52.2, np.nan, np.nan])
    b = build_menu(customers(["silver"]), same, CoverageSettings(candidate_reps=2), PROGRAMMES)
    assert [b.team.ids[r] for r in b.rep[b.visits == 2.0]] == ["R1", "R2"]


def _all_pairs(cust, t, s, role_ok):  # type: ignore[no-untyped-def]
    """The candidates by their definition, from every customer × rep distance."""
    reps = np.flatnonzero(np.isin(t.role.astype(str), s.visit_roles))
    d = haversine_km(cust.lat[:, None], cust.lon[:, None], t.lat[reps][None], t.lon[reps][None])
    miss = np.isnan(d)
    d = np.where(miss, s.default_distance_km, d)
    national = np.array([r is None for r in t.region[reps]])
    same = (cust.region[:, None] == t.region[reps][None]) | national[None]
    near, may = d <= s.max_travel_km, role_ok[:, reps]
    ok = same & near & may
    alone = ~ok.any(axis=1)
    ok[alone] = (near & may)[alone]
    key = np.where(ok, d, np.inf)
    ids = [str(x) for x in t.ids[reps]]
    for i, r in enumerate(cust.rep):
        j = ids.index(r) if r in ids else -1
        if j >= 0 and may[i, j] and d[i, j] <= s.max_travel_km:
            key[i, j] = -1.0
    k = min(s.candidate_reps, len(reps))
    order = np.lexsort((np.broadcast_to(np.arange(len(reps)), key.shape), key), axis=1)[:, :k]
    valid = np.isfinite(np.take_along_axis(key, order, axis=1))
    reach = np.zeros(t.n, bool)
    reach[reps] = (same & near).any(axis=0)
    return (
        np.where(valid, reps[order], -1),
        np.where(valid, np.take_along_axis(d, order, axis=1), np.nan),
        valid & np.take_along_axis(miss, order, axis=1),
        reach,
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_candidates_by_region_equal_those_from_every_customer_rep_pair(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = 3000, 60
    regions = np.array(["N", "S", "E", "W", None], object)
    t = Team(
        ids=np.array([f"R{j}" for j in range(m)], object),
        role=rng.choice(np.array(["field", "key_account", "inside"], object), m, p=[0.7, 0.1, 0.2]),
        hours=np.full(m, 1600.0),
        region=rng.choice(regions[:4], m),  # W: rare below
        lat=np.where(rng.random(m) < 0.05, np.nan, rng.uniform(50, 54, m)),
        lon=rng.uniform(-3, 1, m),
        rows=np.arange(1, m + 1),
    )
    t.region[t.role == "key_account"] = None
    t.region[t.region == "W"] = "N"
    t.lat[:2] = t.lat[2]  # two reps at one home: ties
    t.lon[:2] = t.lon[2]
    c = customers(["silver"] * n)
    c.region[:] = rng.choice(regions, n)
    c.rep[:] = np.where(rng.random(n) < 0.5, rng.choice(t.ids, n), None)
    c.lat[:] = np.where(rng.random(n) < 0.05, np.nan, rng.uniform(49, 55, n))
    c.lon[:] = rng.uniform(-4, 2, n)
    role_ok = rng.random((n, m)) < 0.8
    s = CoverageSettings(candidate_reps=3, max_travel_km=150.0)
    visit = np.isin(t.role.astype(str), s.visit_roles)
    # one role per rep: the customers × roles matrix is the customers × reps one
    got = _candidates(c, t, visit, role_ok, np.arange(m), s, chunk=512)
    want = _all_pairs(c, t, s, role_ok)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (got[0][:, 0] >= 0).mean() > 0.5  # most customers have a candidate
    # by role (the stage's form: customers × roles and each rep's role) as by rep
    roles, role_of = np.unique(t.role.astype(str), return_inverse=True)
    by_role = rng.random((n, len(roles))) < 0.7
    got = _candidates(c, t, visit, by_role, role_of, s, chunk=512)
    want = _candidates(c, t, visit, by_role[:, role_of], np.arange(m), s, chunk=512)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_candidates_among_many_reps_equal_those_from_every_customer_rep_pair(seed: int) -> None:
    # a team large enough for the k-d tree search (the nearest reps only), with crowds of
    # reps at one home (more tied than the search returns), reps and customers without
    # coordinates, regions without a rep of a role (orphans), current reps of any region
    # and tiers that let only some roles visit
    from tierwise.coverage import menu

    rng = np.random.default_rng(seed)
    n, m = 4000, 400
    regions = np.array(["N", "S", "E", "W"], object)
    role = rng.choice(np.array(["field", "key_account", "inside"], object), m, p=[0.8, 0.1, 0.1])
    t = Team(
        ids=np.array([f"R{j}" for j in range(m)], object),
        role=role,
        hours=np.full(m, 1600.0),
        region=np.where(role == "key_account", None, rng.choice(regions[:3], m)),
        lat=np.where(rng.random(m) < 0.03, np.nan, rng.uniform(50, 54, m)),
        lon=rng.uniform(-3, 1, m),
        rows=np.arange(1, m + 1),
    )
    crowd = np.flatnonzero((t.role == "field") & (t.region == "N"))[: menu._SPARE + 6]
    t.lat[crowd], t.lon[crowd] = 52.0, -1.0
    c = customers(["silver"] * n)
    c.region[:] = rng.choice(np.array([*regions, None], object), n)
    c.rep[:] = np.where(rng.random(n) < 0.5, rng.choice(t.ids, n), None)
    c.lat[:] = np.where(rng.random(n) < 0.03, np.nan, rng.uniform(49, 55, n))
    c.lon[:] = rng.uniform(-4, 2, n)
    c.lat[:50], c.lon[:50] = 52.0, -1.0  # at the crowded home
    c.lat[50:100] = c.lat[50:100] + rng.normal(0, 1e-3, 50)
    s = CoverageSettings(candidate_reps=3, max_travel_km=120.0)
    visit = np.isin(t.role.astype(str), s.visit_roles)
    roles, role_of = np.unique(t.role.astype(str), return_inverse=True)
    # three tiers' bands: every role, field reps only, key account managers only
    bands = np.array([[True] * len(roles), roles == "field", roles == "key_account"])
    by_role = bands[rng.integers(0, 3, n)]
    got = _candidates(c, t, visit, by_role, role_of, s)
    want = _all_pairs(c, t, s, by_role[:, role_of])
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    # the cases the search must get right are in the data
    assert (got[0][:50, :3] >= 0).all() and np.isin(got[0][:50], crowd).any()
    assert ((got[0] >= 0).sum(axis=1) < 3).any()  # customers with fewer than three in reach


def test_candidates_with_more_roles_than_bits_in_a_code_stay_in_their_region() -> None:
    # 62 role texts (job titles) and five regions: each region's customers form their own
    # group, however many bits the roles' pattern takes
    rng = np.random.default_rng(3)
    n = 500
    regions = np.array(["A", "B", "C", "D", "E"], object)
    role = np.r_[np.full(59, "field", object), np.array([f"inside {j}" for j in range(61)])]
    m = len(role)
    t = Team(
        ids=np.array([f"R{j}" for j in range(m)], object),
        role=role.astype(object),
        hours=np.full(m, 1600.0),
        region=rng.choice(regions, m),
        lat=rng.uniform(51.5, 52.5, m),
        lon=rng.uniform(-0.5, 0.5, m),
        rows=np.arange(1, m + 1),
    )
    c = customers(["silver"] * n)
    c.region[:] = rng.choice(regions, n)
    c.lat[:], c.lon[:] = rng.uniform(51.5, 52.5, n), rng.uniform(-0.5, 0.5, n)
    s = CoverageSettings(max_travel_km=1000.0)
    visit = np.isin(t.role.astype(str), s.visit_roles)
    roles, role_of = np.unique(t.role.astype(str), return_inverse=True)
    assert len(roles) == 62
    by_role = np.ones((n, len(roles)), bool)
    got = _candidates(c, t, visit, by_role, role_of, s)
    want = _all_pairs(c, t, s, by_role[:, role_of])
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    placed = got[0][got[0] >= 0]
    assert placed.size and (t.region[placed] != None).all()  # noqa: E711


def test_candidates_when_most_reps_have_no_home_hold_little_memory() -> None:
    # 60 reps with a home and 500 without in one region: every customer must meet the 500,
    # which the search does a slice of customers at a time (not all customers at once)
    import tracemalloc

    rng = np.random.default_rng(0)
    n, m = 20_000, 560
    lat = rng.uniform(51.5, 52.5, m)
    lat[60:] = np.nan
    t = Team(
        ids=np.array([f"R{j}" for j in range(m)], object),
        role=np.full(m, "field", object),
        hours=np.full(m, 1600.0),
        region=np.full(m, "N", object),
        lat=lat,
        lon=rng.uniform(-0.5, 0.5, m),
        rows=np.arange(1, m + 1),
    )
    c = customers(["silver"] * n)
    c.lat[:], c.lon[:] = rng.uniform(51, 53, n), rng.uniform(-1, 1, n)
    s = CoverageSettings()
    by_role = np.ones((n, 1), bool)
    tracemalloc.start()
    try:
        got = _candidates(c, t, np.ones(m, bool), by_role, np.zeros(m, np.int64), s)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # all customers at once held 20,000 x 571 positions several times over (about 500 MB)
    assert peak < 150 * 2**20
    few = slice(0, 300)
    small = customers(["silver"] * 300)
    small.lat[:], small.lon[:] = c.lat[few], c.lon[few]
    want = _all_pairs(small, t, s, np.ones((300, m), bool))
    for a, b in zip(got, want, strict=True):
        if a.ndim == 2:
            np.testing.assert_array_equal(a[few], b)


@pytest.mark.parametrize("k", [1, 3, 7, 40])
def test_the_k_nearest_are_a_stable_sorts_first_k(k: int) -> None:
    # _smallest must pick what a stable sort of each row picks first, ties by position,
    # on rows with many ties, unreachable reps (inf) and the current rep (-1)
    from tierwise.coverage.menu import _smallest

    rng = np.random.default_rng(k)
    key = rng.integers(0, 6, (500, 37)).astype(float)
    key[rng.random(key.shape) < 0.3] = np.inf
    key[rng.random(key.shape) < 0.02] = -1.0
    key[:20] = np.inf  # rows with no rep in reach
    want = np.argsort(key, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(_smallest(key, k), want)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_changed_teams_menu_keeps_untouched_candidates_and_equals_a_fresh_build(
    seed: int,
) -> None:
    # head-count scenarios build the menu again on a team with reps removed or copied; the
    # candidates of customers the change does not touch carry over, and the menu must be
    # the one a build from scratch gives (ties of co-located reps, orphans, current reps)
    from tierwise.coverage.menu import TeamChange

    rng = np.random.default_rng(seed)
    n, m = 2500, 40
    t = Team(
        ids=np.array([f"R{j}" for j in range(m)], object),
        role=rng.choice(
            np.array(["field", "key_account", "inside"], object), m, p=[0.75, 0.1, 0.15]
        ),
        hours=np.full(m, 1600.0),
        region=rng.choice(np.array(["N", "S", "E"], object), m),
        lat=rng.uniform(50, 54, m),
        lon=rng.uniform(-3, 1, m),
        rows=np.arange(1, m + 1),
    )
    t.region[t.role == "key_account"] = None
    t.lat[1], t.lon[1] = t.lat[0], t.lon[0]  # two reps at one home: a tie
    c = customers(list(rng.choice(np.array(["gold", "silver", "bronze"], object), n)))
    c.region[:] = rng.choice(np.array(["N", "S", "E", "W"], object), n)  # W: orphans
    c.rep[:] = np.where(rng.random(n) < 0.5, rng.choice(t.ids, n), None)
    c.lat[:] = np.where(rng.random(n) < 0.03, np.nan, rng.uniform(49.5, 54.5, n))
    c.lon[:] = rng.uniform(-3.5, 1.5, n)
    s = CoverageSettings(candidate_reps=3, max_travel_km=200.0)
    base = build_menu(c, t, s, PROGRAMMES)
    assert base.candidates is not None
    field = np.flatnonzero(t.role == "field")
    busiest = field[np.argsort(-base.candidates_per_rep[field], kind="stable")]

    def same(a, b) -> None:  # type: ignore[no-untyped-def]
        for name in ("customer", "value", "hours", "resource"):
            np.testing.assert_array_equal(getattr(a.menu, name), getattr(b.menu, name))
        for name in ("kind", "visits", "rep", "distance_km", "capacity", "reaches_region"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        for name in ("rep", "km", "guessed", "reach"):
            np.testing.assert_array_equal(getattr(a.candidates, name), getattr(b.candidates, name))

    def same_lean(derived, fresh) -> None:  # type: ignore[no-untyped-def]
        # a lean menu taken from the base menu where the candidates carried over
        assert derived.menu.n_customers == fresh.menu.n_customers
        for name in ("customer", "value", "hours", "resource"):
            np.testing.assert_array_equal(getattr(derived.menu, name), getattr(fresh.menu, name))
        for name in ("kind", "contribution", "capacity", "reaches_region", "customer_pool"):
            np.testing.assert_array_equal(getattr(derived, name), getattr(fresh, name))
        assert derived.resource_names == fresh.resource_names
        assert derived.menu.value.dtype == fresh.menu.value.dtype
        assert derived.menu.resource.dtype == fresh.menu.resource.dtype

    def same_envelope(derived, base) -> None:  # type: ignore[no-untyped-def]
        # the customers whose options carried over keep the base menu's envelopes: the
        # envelope options are those looked for on the derived menu from scratch
        from tierwise.coverage.allocate import envelope_options

        assert derived.fresh is not None and 0 < derived.fresh.sum() < derived.fresh.size
        carried = envelope_options(
            derived.menu,
            base=base.menu,
            base_points=envelope_options(base.menu),
            carried=~derived.fresh,
        )
        np.testing.assert_array_equal(carried, envelope_options(derived.menu))
        assert carried.dtype == np.int64

    # two reps removed, among them a much-used one and one of the tied pair
    gone = np.array([busiest[0], 1])
    keep = np.ones(m, bool)
    keep[gone] = False
    t2 = t.subset(keep)
    change = TeamChange(
        base.candidates, np.where(keep, np.cumsum(keep) - 1, -1), np.flatnonzero(keep), gone
    )
    kept = build_menu(c, t2, s, PROGRAMMES, change=change)
    same(kept, build_menu(c, t2, s, PROGRAMMES))
    derived = build_menu(c, t2, s, PROGRAMMES, change=change, lean=True, base=base)
    same_lean(derived, kept)
    same_envelope(derived, base)
    assert np.isin(base.candidates.rep, gone).any(axis=1).sum() > 100  # many were touched
    # copies of the two busiest reps added at the end
    src = busiest[:2]
    t3 = t.with_copies(src)
    change = TeamChange(base.candidates, np.arange(m), np.concatenate([np.arange(m), src]), src)
    kept = build_menu(c, t3, s, PROGRAMMES, change=change)
    same(kept, build_menu(c, t3, s, PROGRAMMES))
    # from a lean base that keeps its reps, as the stage's sizing builds it
    lean_base = build_menu(c, t, s, PROGRAMMES, lean=True, described=True)
    derived = build_menu(c, t3, s, PROGRAMMES, change=change, lean=True, base=lean_base)
    same_lean(derived, kept)
    same_envelope(derived, lean_base)
    assert (kept.candidates.rep >= m).any()  # the copies are candidates somewhere


def test_a_rep_at_exactly_the_travel_limit_is_within_reach_and_a_hair_beyond_is_not() -> None:
    # ranking and reach work on chords and a k-d tree; at the limit the haversine decides,
    # so a customer at exactly max_travel_km is reached and one a rounding step further not
    t = team(
        ids=["R1"], role=["field"], hours=[1600.0], region=["N"], lat=[53.3], lon=[0.4], rows=[1]
    )
    c = customers(["silver"])
    limit = float(haversine_km(c.lat[0], c.lon[0], t.lat[0], t.lon[0]))
    at = build_menu(c, t, CoverageSettings(max_travel_km=limit), PROGRAMMES)
    assert at.reaches_region.tolist() == [True]
    assert at.candidates is not None and at.candidates.rep[0, 0] == 0
    beyond = CoverageSettings(max_travel_km=float(np.nextafter(limit, 0.0)))
    with pytest.raises(InfeasiblePlanError):  # silver must be visited: no rep can
        build_menu(c, t, beyond, PROGRAMMES)
    c.tier[:] = "bronze"
    released = build_menu(c, t, beyond, PROGRAMMES)
    assert released.reaches_region.tolist() == [False]


def _mixed_case(seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    n = 600
    c = customers(
        list(rng.choice(np.array(["gold", "silver", "bronze", None], object), n)),
        reps=list(rng.choice(np.array(["R1", "R2", "R3", "R6", None], object), n)),
        classes=list(rng.choice(np.array(["A", "B", "C"], object), n)),
    )
    c.region[:] = rng.choice(np.array(["N", "S"], object), n)
    c.lat[:] = np.where(rng.random(n) < 0.05, np.nan, rng.uniform(51.5, 52.6, n))
    c.wallet[:] = rng.lognormal(10, 1, n)
    c.margin_rate[:] = rng.uniform(0.1, 0.5, n)
    c.s0[:] = rng.uniform(0.05, 0.3, n)
    c.d[:] = rng.uniform(1, 8, n)
    return c


@pytest.mark.parametrize("seed", [0, 1])
def test_options_computed_a_slice_at_a_time_equal_whole_array_arithmetic(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # build_menu works out each option's figures a slice of options at a time (to keep
    # a million customers' menu small in memory): with slices of 7 options the figures
    # are, bit for bit, those of the formulas on whole arrays
    import sys

    menu_module = sys.modules[build_menu.__module__]
    c, s = _mixed_case(seed), CoverageSettings()
    whole = build_menu(c, team(), s, PROGRAMMES)
    monkeypatch.setattr(menu_module, "_CHUNK", 7)
    sliced = build_menu(c, team(), s, PROGRAMMES)
    assert whole.menu.n_options > 20 * 7
    for name in ("customer", "value", "hours", "resource"):
        np.testing.assert_array_equal(getattr(sliced.menu, name), getattr(whole.menu, name))
    for name in ("kind", "visits", "calls", "emails", "rep", "pool", "distance_km"):
        np.testing.assert_array_equal(getattr(sliced, name), getattr(whole, name))
    for name in ("contact_hours", "travel_hours", "revenue", "contribution", "capacity"):
        np.testing.assert_array_equal(getattr(sliced, name), getattr(whole, name))
    b, o = sliced, sliced.menu.customer
    eff, minutes = s.effectiveness, s.minutes_per_contact
    effort = b.visits * eff["visit"] + b.calls * eff["call"] + b.emails * eff["email"]
    revenue = response(c.wallet[o], c.s0[o], c.s1[o], c.c[o], c.d[o], effort)
    np.testing.assert_array_equal(b.revenue, revenue)
    contact = (
        b.visits * minutes["visit"] + b.calls * minutes["call"] + b.emails * minutes["email"]
    ) / 60.0
    np.testing.assert_array_equal(b.contact_hours, contact)
    np.testing.assert_array_equal(b.menu.hours, b.contact_hours + b.travel_hours)


def test_a_lean_menu_is_the_full_menu_without_what_solving_does_not_read() -> None:
    # the head-count scenarios build lean menus: the same menu, kinds and contributions,
    # and none of the per-option arrays only the stage's own plan reads
    c, s = _mixed_case(3), CoverageSettings()
    full = build_menu(c, team(), s, PROGRAMMES)
    lean = build_menu(c, team(), s, PROGRAMMES, lean=True)
    for name in ("customer", "value", "hours", "resource"):
        np.testing.assert_array_equal(getattr(lean.menu, name), getattr(full.menu, name))
    for name in ("kind", "contribution", "capacity", "resource_rep", "candidates_per_rep"):
        np.testing.assert_array_equal(getattr(lean, name), getattr(full, name))
    assert lean.resource_names == full.resource_names
    for name in ("channel", "visits", "calls", "emails", "rep", "pool", "distance_km"):
        assert getattr(lean, name).size == 0, name
    for name in ("contact_hours", "travel_hours", "revenue"):
        assert getattr(lean, name).size == 0, name
    assert lean.candidates is None


@pytest.mark.parametrize("seed", [0, 1])
def test_a_described_lean_menu_tells_the_chosen_options_as_the_full_menu(seed: int) -> None:
    # the stage builds its menu lean (a million customers' menu holds some 15 million
    # options) and describes only the options its plan chose: bit for bit what the full
    # menu says of them
    c, s = _mixed_case(seed), CoverageSettings()
    full = build_menu(c, team(), s, PROGRAMMES)
    lean = build_menu(c, team(), s, PROGRAMMES, lean=True, described=True)
    for name in ("customer", "value", "hours", "resource"):
        np.testing.assert_array_equal(getattr(lean.menu, name), getattr(full.menu, name))
    for name in ("channel", "visits", "calls", "emails", "pool", "contact_hours", "revenue"):
        assert getattr(lean, name).size == 0, name
    # one option of each customer, anywhere on its menu
    rng = np.random.default_rng(seed)
    first = np.searchsorted(full.menu.customer, np.arange(c.n))
    count = np.bincount(full.menu.customer, minlength=c.n)
    options = first + (rng.random(c.n) * count).astype(np.int64)
    got = lean.chosen(options, c, s)
    for name in ("kind", "channel", "visits", "calls", "emails", "rep", "pool"):
        np.testing.assert_array_equal(getattr(got, name), getattr(full, name)[options], name)
    for name in ("distance_km", "contact_hours", "travel_hours", "revenue", "contribution"):
        want = getattr(full, name)[options]
        assert getattr(got, name).tobytes() == want.tobytes(), name
    # a full menu describes its options alike
    again = full.chosen(options, c, s)
    assert again.revenue.tobytes() == full.revenue[options].tobytes()
    # what the head-count scenarios keep: the lean part, the candidates too
    kept = lean.lean()
    assert kept.level.size == 0 and kept.rep.size == 0 and kept.distance_km.size == 0
    assert kept.candidates is not None


def test_candidates_found_apart_give_the_same_menu() -> None:
    # the stage looks for the candidate reps while it fits the response, and hands them to
    # the menu: the menu must be the one that looks for them itself
    from tierwise.coverage.menu import find_candidates

    c = _mixed_case(3)
    s = CoverageSettings(candidate_reps=2)
    released = np.arange(c.n) % 7 == 0
    own = build_menu(c, team(), s, PROGRAMMES, released=released)
    found = find_candidates(c, team(), s, PROGRAMMES, released=released)
    given = build_menu(c, team(), s, PROGRAMMES, released=released, candidates=found)
    for name in ("customer", "value", "hours", "resource"):
        np.testing.assert_array_equal(getattr(own.menu, name), getattr(given.menu, name))
    for name in ("kind", "rep", "distance_km", "contribution", "capacity", "reaches_region"):
        np.testing.assert_array_equal(getattr(own, name), getattr(given, name))
    with pytest.raises(ValueError, match="candidates"):
        build_menu(c, team(), CoverageSettings(candidate_reps=3), PROGRAMMES, candidates=found)


def test_lookups_read_values_as_text_and_keep_the_last_of_equal_keys() -> None:
    from tierwise.coverage.lookup import positions

    # the menu looks customers' tiers, regions and reps up as a dict of the keys would
    values = np.array([7, None, "7", "x", 3.5], object)  # not all text: read as str()
    keys = ["7", "3.5", "7"]
    expected = {str(k): i for i, k in enumerate(keys)}
    got = positions(values, keys, missing=-9).tolist()
    assert got == [-9 if v is None else expected.get(str(v), -9) for v in values]
    assert got == [2, -9, 2, -9, 1]
    assert positions(np.array(["a"], object), [], missing=4).tolist() == [4]


def test_the_stage_and_the_menu_import_no_private_name_from_a_sibling() -> None:
    import ast
    import importlib.util
    from pathlib import Path

    # a helper two modules share is public in the module that holds it
    spec = importlib.util.find_spec("tierwise.coverage.stage")
    assert spec is not None and spec.origin is not None
    here = Path(spec.origin).parent
    private = []
    for path in (here / "stage.py", here / "menu.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                private += [
                    f"{path.name}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
    assert private == []


def test_a_derived_menu_figures_again_the_customers_of_a_rep_whose_id_a_copy_takes() -> None:
    # the sizing names its copies NEW1, NEW2, …; a real rep may already be called NEW1. A
    # customer of that rep then has the copy as its current rep in the changed team (the
    # last of equal ids), so its options' stability bonus differs from the base menu's:
    # taken from the base, 422 of the values below were wrong
    rng = np.random.default_rng(0)
    n, m = 2500, 40
    t = Team(
        ids=np.array([f"R{j}" for j in range(m)], object),
        role=np.array(["field"] * m, object),
        hours=np.full(m, 1600.0),
        region=rng.choice(np.array(["N", "S"], object), m),
        lat=rng.uniform(50, 54, m),
        lon=rng.uniform(-3, 1, m),
        rows=np.arange(1, m + 1),
    )
    c = customers(list(rng.choice(np.array(["gold", "silver", "bronze"], object), n)))
    c.region[:] = rng.choice(np.array(["N", "S"], object), n)
    c.lat[:] = rng.uniform(49.5, 54.5, n)
    c.lon[:] = rng.uniform(-3.5, 1.5, n)
    s = CoverageSettings(candidate_reps=3, max_travel_km=200.0)
    first = build_menu(c, t, s, PROGRAMMES)
    busiest = np.argsort(-first.candidates_per_rep, kind="stable")
    quiet = int(busiest[-1])
    t.ids[quiet] = "NEW1"
    c.rep[:] = np.where(np.isin(first.candidates.rep, quiet).any(axis=1), "NEW1", None)
    assert (c.rep == "NEW1").sum() > 20
    base = build_menu(c, t, s, PROGRAMMES, lean=True, described=True)
    src = busiest[:1]
    t2 = t.with_copies(src)  # the copy is named NEW1, as the real rep is
    change = TeamChange(base.candidates, np.arange(m), np.concatenate([np.arange(m), src]), src)
    fresh = build_menu(c, t2, s, PROGRAMMES, change=change, lean=True)
    derived = build_menu(c, t2, s, PROGRAMMES, change=change, lean=True, base=base)
    for name in ("customer", "value", "hours", "resource"):
        np.testing.assert_array_equal(getattr(derived.menu, name), getattr(fresh.menu, name))
    np.testing.assert_array_equal(derived.contribution, fresh.contribution)
