"""The coverage stage on a small synthetic base: a feasible plan inside the tier bands,
the columns and tables, readable reasons, hours that add up, and clear bad-input messages."""

from __future__ import annotations

import re
import types
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tierwise.coverage._declare import _previous
from tierwise.coverage.allocate import InfeasiblePlanError
from tierwise.coverage.stage import CUSTOMER_COLUMNS, coverage_plan
from tierwise.errors import InputError
from tierwise.settings.coverage import CoverageSettings
from tierwise.settings.segments import SegmentSettings

PROGRAMMES = SegmentSettings().programmes


def base(n: int = 80, seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    cls = rng.choice(["A", "B", "C", "D"], n, p=[0.1, 0.25, 0.3, 0.35])
    tier = np.array([{"A": "gold", "B": "silver"}.get(c, "bronze") for c in cls], object)
    region = rng.choice(["N", "S"], n)
    lat = np.where(region == "N", 53.5, 51.5) + rng.normal(0, 0.3, n)
    wallet = np.exp(rng.normal(10, 0.8, n)) * np.select([cls == "A", cls == "B"], [4, 2], 1)
    rev = wallet * rng.uniform(0.2, 0.6, n)
    rep = np.where(region == "N", rng.choice(["N1", "N2"], n), "S1").astype(object)
    prospect = np.zeros(n, bool)
    prospect[-5:] = True
    rev[prospect] = np.nan
    return pa.table(
        {
            "customer_id": [f"C{i:03d}" for i in range(n)],
            "value_class": cls,
            "tier": tier,
            "region": region,
            "rep_id": pa.array(np.where(prospect, None, rep), pa.string()),
            "lat": lat,
            "lon": rng.normal(-1.5, 0.3, n),
            "wallet": wallet,
            "revenue_12m": rev,
            "headroom": np.maximum(wallet - np.nan_to_num(rev), 0),
            "gross_margin_rate_pnl": np.where(prospect, np.nan, rng.uniform(0.2, 0.4, n)),
            "lookalike_score": np.where(prospect, 0.5, np.nan),
            "is_prospect": prospect,
        }
    )


def reps(hours: float = 1600.0, **over) -> pa.Table:  # type: ignore[no-untyped-def]
    t = {
        "rep_id": ["N1", "N2", "S1", "K1", "I1"],
        "role": ["field", "field", "field", "key_account", "inside"],
        "hours_per_year": [hours, hours, hours, 1500.0, 1700.0],
        "region": ["N", "N", "S", None, None],
        "home_lat": [53.4, 53.7, 51.5, 52.5, 52.5],
        "home_lon": [-1.5, -1.4, -1.6, -1.9, -1.9],
        "_row": [1, 2, 3, 4, 5],
    }
    t.update(over)
    return pa.table(t)


def legacy(customers: pa.Table) -> pa.Table:
    n = customers.num_rows
    rng = np.random.default_rng(1)
    return pa.table(
        {
            "customer_id": customers.column("customer_id"),
            "visits": rng.integers(0, 8, n),
            "calls": rng.integers(0, 10, n),
            "emails": rng.integers(0, 6, n),
            "visit_rep": customers.column("rep_id"),
        }
    )


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    c = base()
    return c, coverage_plan(
        c, CoverageSettings(), programmes=PROGRAMMES, reps=reps(), legacy=legacy(c)
    )


def test_plan_has_every_column_for_every_customer(result) -> None:  # type: ignore[no-untyped-def]
    c, res = result
    out = res.customers
    assert out.column_names == ["customer_id", *CUSTOMER_COLUMNS]
    assert out.column("customer_id").equals(c.column("customer_id"))
    for name in ("channel", "coverage_reason"):
        assert out.column(name).null_count == 0
    assert set(out.column("channel").to_pylist()) <= {"field", "inside", "email", "distributor"}


def test_the_result_keeps_the_menu_lean(result) -> None:  # type: ignore[no-untyped-def]
    # the channels, frequencies, reps and hours of the chosen options are in the customer
    # columns: the menu the result keeps (8 bytes an option for each of its arrays, some
    # 15 options a customer) holds only what the plan was solved on
    _, res = result
    build = res.build
    assert build is not None and build.menu.n_options > build.menu.n_customers
    for name in ("channel", "visits", "calls", "emails", "rep", "pool", "level"):
        assert getattr(build, name).size == 0, name
    for name in ("distance_km", "contact_hours", "travel_hours", "revenue"):
        assert getattr(build, name).size == 0, name
    assert build.contribution.size == build.menu.n_options


def test_plan_keeps_every_tier_inside_its_band_and_every_rep_inside_its_hours(result) -> None:  # type: ignore[no-untyped-def]
    c, res = result
    out = res.customers
    tier = c.column("tier").to_pylist()
    visits = out.column("visits_per_year").to_pylist()
    channel = out.column("channel").to_pylist()
    prospect = c.column("is_prospect").to_pylist()
    for t, v, ch, p in zip(tier, visits, channel, prospect, strict=True):
        prog = PROGRAMMES[t]
        # a prospect is not held to its tier's minimum: it is visited only where that pays
        assert (0 if p else prog.visits_min) <= v <= prog.visits_max, (t, v)
        if t == "gold" and not p:
            assert ch == "field"
    plan = res.tables["rep_plan"]
    used = np.asarray(plan.column("hours_used").to_numpy(), float)
    cap = np.asarray(plan.column("capacity_hours").to_numpy(), float)
    assert (used <= cap + 1e-6).all()


def test_rep_plan_hours_are_the_sum_over_the_reps_customers(result) -> None:  # type: ignore[no-untyped-def]
    _c, res = result
    out = res.customers.to_pandas()
    by_rep = out.groupby("assigned_rep")["coverage_hours"].sum()
    plan = res.tables["rep_plan"].to_pandas().set_index("rep_id")
    for rep, hours in by_rep.items():
        assert plan.loc[rep, "hours_used"] == pytest.approx(hours)
    assert plan["hours_used"].sum() == pytest.approx(out["coverage_hours"].sum())
    n_by_rep = out.groupby("assigned_rep").size()
    assert (plan.loc[n_by_rep.index, "customers"] == n_by_rep).all()
    # customers with hours always have a rep; e-mail and no contact use none
    assert out.loc[out.coverage_hours > 0, "assigned_rep"].notna().all()
    assert (out.loc[out.channel.isin(["email", "distributor"]), "coverage_hours"] == 0).all()


def test_reasons_say_class_plan_and_today(result) -> None:  # type: ignore[no-untyped-def]
    c, res = result
    out = res.customers.to_pandas()
    field = out[out.channel == "field"].iloc[0]
    assert re.fullmatch(
        r"[ABCD], headroom €[\d.]+k?, \d+ km from rep \w+: field visit [\d.]+×/year; "
        r"today \d+ visits, \d+ calls",
        field.coverage_reason,
    ), field.coverage_reason
    assert f"rep {field.assigned_rep}:" in field.coverage_reason
    assert f"visit {field.visits_per_year:g}×/year" in field.coverage_reason
    prospect = out[c.column("is_prospect").to_numpy(zero_copy_only=False)].iloc[0]
    assert prospect.coverage_reason.startswith("prospect ")
    assert prospect.coverage_reason.endswith("not a customer yet")


def test_a_reason_says_a_distance_is_assumed_where_coordinates_are_missing() -> None:
    # rep S1 has no home and a few customers no lat/lon: their visits are costed at
    # default_distance_km, which their reasons must not give as a measured distance
    c = base()
    lat = c.column("lat").to_numpy().copy()
    lat[:6] = np.nan
    c = c.set_column(c.column_names.index("lat"), "lat", pa.array(lat))
    team = reps(home_lat=[53.4, 53.7, None, 52.5, 52.5], home_lon=[-1.5, -1.4, None, -1.9, -1.9])
    out = coverage_plan(c, CoverageSettings(), programmes=PROGRAMMES, reps=team).customers
    visited = pc.greater(out.column("visits_per_year"), 0).to_numpy(zero_copy_only=False)
    rep = np.array(out.column("assigned_rep").to_pylist(), object)
    reason = np.array(out.column("coverage_reason").to_pylist(), object)
    assumed = visited & ((rep == "S1") | np.isnan(lat))
    assert assumed.any() and (visited & ~assumed).any()
    km = f"an assumed {CoverageSettings().default_distance_km:g} km from rep "
    for r, a in zip(reason[visited], assumed[visited], strict=True):
        assert (km in r and "(no coordinates)" in r) == a, r


def test_tables_and_manifest_agree_with_the_plan(result) -> None:  # type: ignore[no-untyped-def]
    _c, res = result
    out = res.customers.to_pandas()
    seg = res.tables["segment_coverage"].to_pandas()
    assert seg["customers"].sum() == len(out)
    assert seg["visits"].sum() == pytest.approx(out.visits_per_year.sum())
    assert seg["hours"].sum() == pytest.approx(out.coverage_hours.sum())
    vs = res.tables["coverage_vs_legacy"].to_pandas().set_index("value_class")
    assert vs.loc["all", "expected_contribution_plan"] == pytest.approx(
        out.expected_contribution_plan.sum()
    )
    assert vs.loc["all", "visits_plan"] == pytest.approx(out.visits_per_year.sum())
    m = res.manifest
    assert m["upper_bound"] >= m["objective"] - 1e-6
    assert 0 <= m["optimality_gap"] < 0.05
    assert m["legacy_objective"] == pytest.approx(vs.loc["all", "expected_contribution_legacy"])
    assert set(m["response"]) == {"A", "B", "C", "D"}
    assert m["response"]["A"]["source"] == "[coverage] response.A"
    field = out.channel == "field"
    assert m["plan_field_hours"] == pytest.approx(out.coverage_hours[field].sum())
    assert 0 < m["plan_field_hours"] <= m["plan_hours"]
    assert 0 < m["legacy_field_hours"] <= m["legacy_hours"]
    # the screen's line: the plan against today's, the gap, field hours against today's
    line = m["headline"]
    # the contribution the customers add up to (the objective also holds the optimiser's
    # charge for changing rep)
    assert m["expected_contribution"] == pytest.approx(out.expected_contribution_plan.sum())

    # in coverage_plan's currency (its default, €, here), after a minus sign
    def money(x: float) -> str:
        return f"{'-' if x < 0 else ''}€{abs(x):,.0f}"

    assert f"expected contribution {money(m['expected_contribution'])} a year" in line
    assert f"against {money(m['legacy_objective'])} with today's contacts" in line
    assert (
        f"field hours {m['plan_field_hours']:,.0f} against {m['legacy_field_hours']:,.0f}" in line
    )
    sizing = res.tables["sizing"].to_pandas().set_index("scenario")
    assert sizing.loc["today", "expected_contribution"] == pytest.approx(
        out.expected_contribution_plan.sum()
    )
    # more field reps never lower the plan's contribution (by more than the gap)
    curve = sizing["expected_contribution"].dropna().to_numpy()
    assert (np.diff(curve) >= -0.02 * abs(curve).max()).all()


def test_no_reps_file_and_no_rep_anywhere_says_the_visits_go_to_no_one() -> None:
    c = base()
    c = c.set_column(
        c.schema.get_field_index("rep_id"), "rep_id", pa.nulls(c.num_rows, pa.string())
    )
    res = coverage_plan(c, CoverageSettings(), programmes=PROGRAMMES, reps=None)
    (said,) = [w for w in res.warnings if w.startswith("no reps file and")]
    assert "no customer has a rep (rep_id)" in said
    assert "(unassigned)" in said and "map rep_id in [customers.columns]" in said
    assert "keeps each customer with its current rep" not in said
    out = res.customers.to_pandas()
    assert set(out.assigned_rep[out.channel == "field"]) == {"(unassigned)"}


def test_no_reps_file_plans_with_the_current_reps_and_says_so() -> None:
    c = base()
    res = coverage_plan(c, CoverageSettings(), programmes=PROGRAMMES, reps=None)
    assert any("no reps file" in w and "reps file (rep_id" in w for w in res.warnings)
    out = res.customers.to_pandas()
    rep = c.column("rep_id").to_pandas()
    field = out.channel == "field"
    assert field.any()
    assert (out.assigned_rep[field] == rep[field].fillna("(unassigned)")).all()
    assert (
        res.tables["rep_plan"].column("capacity_hours").null_count
        == res.tables["rep_plan"].num_rows
    )


@pytest.mark.parametrize("with_reps", [True, False], ids=["reps file", "no reps file"])
def test_no_customers_give_an_empty_plan_of_the_usual_shape_and_a_warning(
    result,  # type: ignore[no-untyped-def]
    with_reps: bool,
) -> None:
    _, full = result
    c = base().slice(0, 0)
    team = reps() if with_reps else None
    res = coverage_plan(c, CoverageSettings(), programmes=PROGRAMMES, reps=team, legacy=legacy(c))
    assert any("no customers or prospects to plan" in w for w in res.warnings)
    assert res.customers.num_rows == 0
    # the same columns and types as a plan of customers, so the outputs write and read alike
    assert res.customers.schema == full.customers.schema
    assert set(res.tables) == set(full.tables)
    for name, table in res.tables.items():
        assert table.schema == full.tables[name].schema, name
    plan = res.tables["rep_plan"].to_pandas()
    if with_reps:
        assert plan.rep_id.tolist() == reps().column("rep_id").to_pylist()
        assert (plan.customers == 0).all() and (plan.hours_used == 0).all()
    else:
        assert plan.empty
    assert res.tables["segment_coverage"].num_rows == 0
    assert res.tables["sizing"].num_rows == 0
    total = res.tables["coverage_vs_legacy"].to_pylist()
    assert [r["value_class"] for r in total] == ["all"]
    assert total[0]["customers"] == 0 and total[0]["expected_contribution_plan"] == 0
    assert res.manifest["n_customers"] == 0


def test_a_rep_without_hours_is_named_with_its_row() -> None:
    r = reps(hours_per_year=pa.array([1600.0, None, 1600.0, 1500.0, 1700.0]))
    with pytest.raises(InputError) as e:
        coverage_plan(base(), programmes=PROGRAMMES, reps=r, reps_file="reps.csv")
    msg = str(e.value)
    assert "reps.csv, row 2, column 'hours_per_year'" in msg and "rep N2" in msg


def test_a_rep_with_a_role_that_neither_visits_nor_calls_is_named() -> None:
    r = reps(role=["field", "field", "telesales_manager", "key_account", "inside"])
    with pytest.raises(InputError) as err:
        coverage_plan(base(), programmes=PROGRAMMES, reps=r)
    text = str(err.value)
    assert "S1" in text and "telesales_manager" in text and "row 3" in text
    assert "visit_roles" in text


def test_a_role_written_in_words_is_the_role_of_its_underscored_name() -> None:
    # an HR list or a CRM writes the role as words: "Key Account", "Key-Account", "Inside"
    r = reps(role=["Field", "field", "Key Account", "Key-Account", "Inside"])
    plan = coverage_plan(base(), programmes=PROGRAMMES, reps=r)
    named = reps(role=["field", "field", "key_account", "key_account", "inside"])
    same = coverage_plan(base(), programmes=PROGRAMMES, reps=named)
    assert plan.tables["rep_plan"].equals(same.tables["rep_plan"])
    assert plan.customers.equals(same.customers)


def test_a_rep_with_no_customer_in_reach_is_named() -> None:
    r = reps(
        region=[
            "N",
            "N",
            "S",
            None,
            None,
        ],
        home_lat=[53.4, 53.7, 51.5, 52.5, 52.5],
    )
    r = pa.concat_tables(
        [
            r,
            pa.table(
                {
                    "rep_id": ["W1"],
                    "role": ["field"],
                    "hours_per_year": [1600.0],
                    "region": ["W"],
                    "home_lat": [52.0],
                    "home_lon": [-4.0],
                    "_row": [6],
                }
            ),
        ]
    )
    with pytest.raises(InputError, match=r"row 6.*rep W1 \(field, region W\) has no customer"):
        coverage_plan(base(), programmes=PROGRAMMES, reps=r, reps_file="reps.csv")


def _regional_reps() -> pa.Table:
    """reps() with the inside team in regions too (I1 in N, I2 in S)."""
    r = reps(region=["N", "N", "S", None, "N"])
    return pa.concat_tables(
        [
            r,
            pa.table(
                {
                    "rep_id": ["I2"],
                    "role": ["inside"],
                    "hours_per_year": [1700.0],
                    "region": ["S"],
                    "home_lat": [51.5],
                    "home_lon": [-1.9],
                    "_row": [6],
                }
            ),
        ]
    )


@pytest.mark.parametrize("how", ["no column", "every value empty", "every value blank"])
def test_customers_without_a_region_are_planned_as_if_the_reps_had_none_and_it_is_said(
    how: str,
) -> None:
    """Reps with regions beside a customer master without one (a CRM export without the
    column, or a column left empty): the plan is made, every rep may serve any customer,
    and one warning says what was assumed and what changes it."""
    c = base()
    if how == "no column":
        c = c.drop_columns(["region"])
    else:
        empty = pa.array([None if how == "every value empty" else " "] * c.num_rows, pa.string())
        c = c.set_column(3, "region", empty)
    r = _regional_reps()
    res = coverage_plan(c, programmes=PROGRAMMES, reps=r, reps_file="reps.csv", legacy=legacy(c))
    said = [w for w in res.warnings if "region" in w]
    assert len(said) == 1, said
    (line,) = said
    assert line.startswith("no customer has a region") and "reps.csv gives 5 of its 6" in line
    assert "the reps' regions are not used, and every rep may serve any customer" in line
    assert "map the customers' region column in [customers.columns]" in line
    assert "leave region out of the reps file" in line
    # the plan is the one of the same reps without regions; rep_plan still shows each rep's
    no_regions = r.set_column(3, "region", pa.nulls(r.num_rows, pa.string()))
    same = coverage_plan(c, programmes=PROGRAMMES, reps=no_regions, legacy=legacy(c))
    assert res.customers.equals(same.customers)
    plan = res.tables["rep_plan"]
    assert plan.column("region").to_pylist() == r.column("region").to_pylist()
    assert plan.drop_columns(["region"]).equals(same.tables["rep_plan"].drop_columns(["region"]))
    # the inside reps call customers of both halves of the map from one pool
    out = res.customers.to_pandas()
    called = out.assigned_rep[out.channel == "inside"]
    assert {"I1", "I2"} <= set(called)


def test_customers_with_regions_and_reps_with_regions_say_nothing_of_regions() -> None:
    res = coverage_plan(base(), programmes=PROGRAMMES, reps=_regional_reps())
    assert not [w for w in res.warnings if "region" in w]


def test_customers_without_a_region_among_others_are_served_by_any_region() -> None:
    """Some customers without a region (the others with one): each is visited by the
    nearest field reps of any region and, when every inside rep has a region, called by
    the whole inside team in one pool; no warning of regions, and a tier whose band is
    inside sales alone does not stop the run."""
    c = base()
    missing = np.arange(c.num_rows) % 4 == 0
    region = np.where(missing, None, c.column("region").to_numpy(zero_copy_only=False))
    c = c.set_column(3, "region", pa.array(region.astype(object), pa.string()))
    inside_only = SegmentSettings(programmes={"bronze": {"channels": ["inside"]}}).programmes
    res = coverage_plan(c, programmes=inside_only, reps=_regional_reps(), legacy=legacy(c))
    assert not [w for w in res.warnings if "region" in w]
    out = res.customers.to_pandas()
    bronze = np.asarray(c.column("tier").to_pylist()) == "bronze"
    assert (out.channel[missing & bronze] == "inside").all()
    assert "inside" in set(out.channel[missing])


def test_a_rep_whose_region_no_customer_has_is_told_where_the_regions_differ() -> None:
    """Customers whose regions are named otherwise than the reps': the line names the
    customers' regions, not to correct the rep's home."""
    named = base().set_column(3, "region", pa.array(["North"] * 80))
    with pytest.raises(InputError) as err:
        coverage_plan(named, programmes=PROGRAMMES, reps=reps())
    text = str(err.value)
    assert "rep N1 (field, region N) has no customer within reach" in text
    assert "no customer has the region 'N': the customers' regions are 'North'" in text
    assert "home_lat" not in text


def test_minimum_frequencies_beyond_the_hours_are_infeasible() -> None:
    with pytest.raises(InfeasiblePlanError) as err:
        coverage_plan(base(), programmes=PROGRAMMES, reps=reps(hours=5.0))
    # the message names a rep and both settings that would make the plan feasible
    text = str(err.value)
    assert re.search(r"\b(N1|N2|S1|K1)\b", text), text
    assert "hours_per_year" in text and "visits_min" in text, text


def test_the_plan_is_the_same_in_every_run() -> None:
    c = base()
    a = coverage_plan(c, programmes=PROGRAMMES, reps=reps(), legacy=legacy(c))
    b = coverage_plan(c, programmes=PROGRAMMES, reps=reps(), legacy=legacy(c))
    assert a.customers.equals(b.customers)
    assert a.tables["rep_plan"].equals(b.tables["rep_plan"])


def test_plan_adherence_compares_planned_and_recorded_contacts() -> None:
    c = base()
    first = coverage_plan(c, programmes=PROGRAMMES, reps=reps())
    prev = pa.table(
        {
            "customer_id": c.column("customer_id"),
            "value_class": c.column("value_class"),
            **{
                k: first.customers.column(k)
                for k in ("assigned_rep", "visits_per_year", "calls_per_year", "emails_per_year")
            },
        }
    )
    planned = pc.greater(first.customers.column("coverage_hours"), 0).to_numpy(zero_copy_only=False)
    ids = np.asarray(c.column("customer_id").to_pylist(), object)
    # half of the planned customers got one visit each in the 73 days since
    got = ids[planned][::2]
    recorded = pa.table(
        {
            "customer_id": got,
            "visits": np.ones(len(got), np.int64),
            "calls": np.zeros(len(got), np.int64),
            "emails": np.zeros(len(got), np.int64),
        }
    )
    res = coverage_plan(
        c, programmes=PROGRAMMES, reps=reps(), previous=prev, recorded_since=recorded, days_since=73
    )
    adh = res.tables["plan_adherence"].to_pandas()
    assert adh["visits_recorded"].sum() == len(got)
    assert adh["visits_planned"].sum() == pytest.approx(
        first.customers.column("visits_per_year").to_numpy().sum() * 73 / 365
    )
    contacted_any = (
        np.asarray(first.customers.column("visits_per_year"))
        + np.asarray(first.customers.column("calls_per_year"))
        + np.asarray(first.customers.column("emails_per_year"))
    ) > 0
    assert adh["planned_not_contacted"].sum() == int(contacted_any.sum()) - len(got)
    # visit adherence counts each customer's visits up to its plan; empty where no visit
    # was planned; calls made instead of visits do not raise it
    pv = np.asarray(first.customers.column("visits_per_year")) * 73 / 365
    got_mask = np.isin(ids, got)
    made = np.minimum(got_mask.astype(float), pv)
    rep = np.asarray(first.customers.column("assigned_rep").to_pylist(), object)
    for _, row in adh.iterrows():
        sel = (rep == row["assigned_rep"]) & (
            np.asarray(c.column("value_class").to_pylist(), object) == row["value_class"]
        )
        if pv[sel].sum() > 0:
            assert row["visit_adherence"] == pytest.approx(made[sel].sum() / pv[sel].sum())
        else:
            assert np.isnan(row["visit_adherence"])
    assert (adh["adherence"].dropna() <= 1.0 + 1e-12).all()


def test_a_customer_that_has_probably_left_earns_little_from_contacts() -> None:
    # the same bronze customers twice: the second copy has probably stopped buying
    # (p_alive 0.02), so its expected revenue and the contacts it is worth fall with it
    t = base()
    bronze = np.flatnonzero(
        (np.asarray(t.column("tier").to_pylist(), object) == "bronze")
        & ~np.asarray(t.column("is_prospect").to_pylist(), bool)
    )
    n = t.num_rows
    p_alive = np.full(n, 0.95)
    p_alive[bronze[len(bronze) // 2 :]] = 0.02
    t = t.append_column("p_alive", pa.array(p_alive))
    res = coverage_plan(t, CoverageSettings(), programmes=PROGRAMMES, reps=reps())
    out = res.customers
    rev = np.asarray(out.column("expected_revenue_plan").to_numpy())
    lost, kept = bronze[len(bronze) // 2 :], bronze[: len(bronze) // 2]
    wallet = np.asarray(t.column("wallet").to_numpy())
    assert (rev[lost] / wallet[lost]).max() < 0.02
    assert (rev[kept] / wallet[kept]).min() > 0.1
    calls = np.asarray(out.column("calls_per_year").to_numpy())
    assert calls[lost].mean() < calls[kept].mean()
    assert "p_alive" in res.manifest["active_weight"]
    without = coverage_plan(t.drop(["p_alive"]), programmes=PROGRAMMES, reps=reps())
    assert without.manifest["active_weight"].startswith("none")


def test_a_lapsed_customer_is_not_held_to_its_tiers_visit_minimum() -> None:
    # silver asks for at least 2 field visits a year; a silver account the lifetime stage
    # calls lapsed (and almost surely gone) is visited only where that pays, so here it is
    # not visited at all, while the active silver accounts keep their minimum
    t = base()
    tier = np.asarray(t.column("tier").to_pylist(), object)
    silver = np.flatnonzero((tier == "silver") & ~np.asarray(t.column("is_prospect"), bool))
    assert PROGRAMMES["silver"].visits_min > 0 and len(silver) >= 4
    lapsed = silver[: len(silver) // 2]
    status = np.full(t.num_rows, "active", dtype=object)
    status[lapsed] = "lapsed"
    p_alive = np.full(t.num_rows, 0.95)
    p_alive[lapsed] = 0.01
    t = t.append_column("status", pa.array(status, pa.string()))
    t = t.append_column("p_alive", pa.array(p_alive))
    res = coverage_plan(t, CoverageSettings(), programmes=PROGRAMMES, reps=reps())
    visits = np.asarray(res.customers.column("visits_per_year").to_numpy())
    active_silver = np.setdiff1d(silver, lapsed)
    assert (visits[active_silver] >= PROGRAMMES["silver"].visits_min).all()
    assert (visits[lapsed] == 0).all()
    prospects = int(np.asarray(t.column("is_prospect"), bool).sum())
    assert res.manifest["released_from_band"]["customers"] == len(lapsed) + prospects
    # with no status released, the lapsed accounts are held to the band again
    held = coverage_plan(
        t, CoverageSettings(band_released_status=[]), programmes=PROGRAMMES, reps=reps()
    )
    held_visits = np.asarray(held.customers.column("visits_per_year").to_numpy())
    assert (held_visits[lapsed] >= PROGRAMMES["silver"].visits_min).all()


def test_customers_without_coordinates_are_counted_in_words() -> None:
    c = base()
    lat = c.column("lat").to_pylist()
    lat[0] = None
    one = c.set_column(c.column_names.index("lat"), "lat", pa.array(lat, pa.float64()))
    res = coverage_plan(one, CoverageSettings(), programmes=PROGRAMMES, reps=reps())
    said = [w for w in res.warnings if "no coordinates" in w]
    assert said and said[0].startswith(
        "1 of the 80 customers and prospects has no coordinates (lat/lon): the visits of "
    )
    assert res.manifest["assumed_distance"]["customers_without_coordinates"] == 1
    lat[1] = None
    two = c.set_column(c.column_names.index("lat"), "lat", pa.array(lat, pa.float64()))
    res = coverage_plan(two, CoverageSettings(), programmes=PROGRAMMES, reps=reps())
    assert any(w.startswith("2 of the 80 customers and prospects have no") for w in res.warnings)


def test_no_coordinates_at_all_says_none_and_the_distance_every_visit_is_costed_at() -> None:
    # no customer has lat/lon and no rep home_lat/home_lon: the warning names them all,
    # not only the customers whose tier allows visits, and says the distance assumed for
    # every visit and the setting that changes it
    c = base().drop(["lat", "lon"])
    r = reps(home_lat=[None] * 5, home_lon=[None] * 5)
    res = coverage_plan(c, CoverageSettings(), programmes=PROGRAMMES, reps=r)
    said = [w for w in res.warnings if "coordinates" in w]
    assert len(said) == 1
    assert said[0].startswith(
        "none of the 80 customers and prospects has coordinates (lat/lon) and none of the "
        "4 field reps has home coordinates (home_lat/home_lon): every visit is costed at an "
        "assumed 30 km from the rep's home (78 km and 1.3 h of travel a visit"
    ), said[0]
    assert "set [coverage] default_distance_km" in said[0]
    block = res.manifest["assumed_distance"]
    assert block["customers_without_coordinates"] == block["customers"] == 80
    assert block["visiting_reps_without_coordinates"] == block["visiting_reps"] == 4
    assert 0 < block["customers_with_an_assumed_distance"] < 80
    assert block["setting"] == "[coverage] default_distance_km"
    far = coverage_plan(c, CoverageSettings(default_distance_km=50), programmes=PROGRAMMES, reps=r)
    assert any("every visit is costed at an assumed 50 km" in w for w in far.warnings)


def _silver_with_status(status_name: str) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """The base with half its silver accounts of ``status_name`` and almost surely gone
    (p_alive 0.01), the others active; the table, the former and the latter."""
    t = base()
    tier = np.asarray(t.column("tier").to_pylist(), object)
    silver = np.flatnonzero((tier == "silver") & ~np.asarray(t.column("is_prospect"), bool))
    assert PROGRAMMES["silver"].visits_min > 0 and len(silver) >= 4
    gone = silver[: len(silver) // 2]
    status = np.full(t.num_rows, "active", dtype=object)
    status[gone] = status_name
    p_alive = np.full(t.num_rows, 0.95)
    p_alive[gone] = 0.01
    t = t.append_column("status", pa.array(status, pa.string()))
    t = t.append_column("p_alive", pa.array(p_alive))
    return t, gone, np.setdiff1d(silver, gone)


def test_an_inactive_customer_is_not_held_to_its_tiers_visit_minimum() -> None:
    # a dormant silver account (no order for longer than its rhythm allows, almost surely
    # gone) is not sent a rep twice a year at a loss: it is visited only where that pays,
    # and its reason says why it gets less than its tier's minimum (without the win-back
    # contact of winback_tiers, tests/unit/test_coverage_stability.py)
    t, inactive, active = _silver_with_status("inactive")
    res = coverage_plan(t, CoverageSettings(winback_tiers=[]), programmes=PROGRAMMES, reps=reps())
    out = res.customers.to_pandas()
    assert (out.visits_per_year[active] >= PROGRAMMES["silver"].visits_min).all()
    assert (out.visits_per_year[inactive] == 0).all()
    assert (out.expected_contribution_plan[inactive] >= 0).all()
    for reason in out.coverage_reason[inactive]:
        assert "(inactive: not held to the silver tier's 2 visits)" in reason, reason
    assert res.manifest["released_from_band"]["below_tier_minimum"] == len(inactive)
    assert not any("although the plan expects to lose" in w for w in res.warnings)


def test_a_tier_minimum_kept_at_a_loss_is_said_in_the_reason_and_the_warnings() -> None:
    # an at-risk silver account is still held to its tier's 2 visits (the tier's promise);
    # where the plan expects to lose money on it, its reason and the warnings say so and
    # name the settings that would let the plan drop the visits
    t, at_risk, _active = _silver_with_status("at_risk")
    res = coverage_plan(t, CoverageSettings(), programmes=PROGRAMMES, reps=reps())
    out = res.customers.to_pandas()
    assert (out.visits_per_year[at_risk] >= PROGRAMMES["silver"].visits_min).all()
    losing = out.index[out.expected_contribution_plan < 0]
    assert len(losing) and set(losing) <= set(at_risk)
    for i in losing:
        reason = out.coverage_reason[i]
        assert "×/year (the silver tier's minimum: the visits cost €" in reason, reason
        assert " a year more than the margin they add)" in reason, reason
    said = [w for w in res.warnings if "although the plan expects to lose money" in w]
    assert len(said) == 1
    held = res.manifest["held_at_a_loss"]["customers"]
    assert held >= len(losing)
    assert said[0].startswith(f"{held} customers are visited although the plan expects to")
    assert f"{held} by their tier's visit minimum" in said[0]
    assert "(silver " in said[0] and "status at_risk " in said[0]
    assert "[segments.programmes.<tier>] visits_min" in said[0]
    assert "[coverage] band_released_status (now inactive, lapsed)" in said[0]
    assert res.manifest["held_at_a_loss"]["by_rule"] == {"visits_min": held, "channel_band": 0}
    block = res.manifest["held_at_a_loss"]
    assert block["by_tier"] == {"silver": held}
    said_reason = out.index[out.coverage_reason.str.contains("tier's minimum: the visits cost")]
    assert set(losing) <= set(said_reason) and len(said_reason) == held
    assert block["expected_contribution"] == pytest.approx(
        out.expected_contribution_plan[said_reason].sum()
    )
    assert "(held_at_a_loss)" in res.manifest["headline"]
    # the loss in the plan's currency, as the warning and the reasons give money
    assert f"cost €{block['expected_loss']:,.0f} a year more" in res.manifest["headline"]
    # released (and not held to a win-back contact), the plan drops the visits it expected
    # to lose on
    freed = coverage_plan(
        t,
        CoverageSettings(band_released_status=["at_risk", "inactive", "lapsed"], winback_tiers=[]),
        programmes=PROGRAMMES,
        reps=reps(),
    )
    fc = np.asarray(freed.customers.column("expected_contribution_plan").to_numpy())
    assert (fc[losing] >= 0).all()
    assert freed.manifest["held_at_a_loss"]["customers"] == 0
    assert not any("although the plan expects to lose" in w for w in freed.warnings)


def test_response_on_the_built_in_defaults_is_said_once_with_its_setting() -> None:
    c = base()
    res = coverage_plan(c, CoverageSettings(), programmes=PROGRAMMES, reps=reps())
    said = [w for w in res.warnings if "built-in default" in w]
    assert len(said) == 1
    assert "classes A, B, C, D" in said[0] and "[coverage] response" in said[0]
    assert "no activity history" in said[0]
    own = CoverageSettings(
        response={
            **CoverageSettings().response,
            "A": {"s0": 0.5, "s1": 0.8, "c": 1.0, "d": 5.0},
        }
    )
    res = coverage_plan(c, own, programmes=PROGRAMMES, reps=reps())
    said = [w for w in res.warnings if "built-in default" in w]
    assert len(said) == 1 and "classes B, C, D" in said[0]


def test_classes_renamed_by_place_are_said_to_be_on_the_built_in_response() -> None:
    from tierwise.settings import Settings

    place = dict(zip("ABCD", ["Key", "Grow", "Core", "Tail"], strict=True))
    c = base()
    renamed = pc.replace_with_mask(
        c.column("value_class").combine_chunks(),
        pc.is_valid(c.column("value_class")).combine_chunks(),
        pa.array([place[x] for x in c.column("value_class").drop_null().to_pylist()]),
    )
    c = c.set_column(c.column_names.index("value_class"), "value_class", renamed)
    s = Settings().with_updates(segments={"classes": dict.fromkeys(place.values(), "act")})
    res = coverage_plan(c, s.coverage, programmes=PROGRAMMES, reps=reps())
    said = [w for w in res.warnings if "built-in default" in w]
    assert len(said) == 1 and "classes Core, Grow, Key, Tail" in said[0]
    # no class is left on response_default
    assert not [w for w in res.warnings if "no entry in [coverage] response" in w]
    assert res.manifest["response"]["Key"]["s0"] == CoverageSettings().response["A"].s0


def test_threads_and_scenario_menus_taken_from_the_plans_menu_change_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the stage looks for the candidate reps on a thread of its own while it fits the
    # response, and takes a head-count scenario's options from the plan's menu where the
    # team change leaves a customer's candidates alone: every byte must be what one thread
    # building every menu from scratch gives
    import importlib
    from concurrent.futures import Future

    # tierwise.coverage is also a function of the package: the modules by their names
    menu_module = importlib.import_module("tierwise.coverage.menu")
    stage = importlib.import_module("tierwise.coverage.stage")

    c = base(n=900, seed=11)
    ids = np.asarray(c.column("customer_id").to_pylist(), object)
    rng = np.random.default_rng(5)
    rows = np.repeat(ids, 2)
    effort = rng.integers(0, 9, len(rows))
    panel = pa.table(
        {
            "customer_id": rows,
            "h": np.tile([0, 1], len(ids)),
            "visits": effort,
            "calls": rng.integers(0, 4, len(rows)),
            "emails": rng.integers(0, 3, len(rows)),
            # half a year of a share of wallet growing with the contacts
            "revenue": np.repeat(np.asarray(c.column("wallet")), 2)
            / 2
            * (0.2 + 0.4 * effort / (3.0 + effort))
            * rng.lognormal(0.0, 0.1, len(rows)),
        }
    )
    team = reps(
        rep_id=["N1", "N2", "S1", "K1", "I1", "N3", "S2"],
        role=["field", "field", "field", "key_account", "inside", "field", "field"],
        hours_per_year=[1600.0, 1600.0, 1600.0, 1500.0, 1700.0, 1600.0, 1600.0],
        region=["N", "N", "S", None, None, "N", "S"],
        home_lat=[53.4, 53.7, 51.5, 52.5, 52.5, 53.2, 51.8],
        home_lon=[-1.5, -1.4, -1.6, -1.9, -1.9, -1.2, -1.3],
        _row=[1, 2, 3, 4, 5, 6, 7],
    )
    s = CoverageSettings(estimate_min_customers=20)

    def run() -> stage.CoverageResult:
        return coverage_plan(c, s, programmes=PROGRAMMES, reps=team, legacy=legacy(c), panel=panel)

    taken: list[float] = []
    with_base = menu_module._with_base

    def spy(base, b_first, new_index, counts, fresh, figured):  # type: ignore[no-untyped-def]
        taken.append(float(np.mean(~fresh)))
        return with_base(base, b_first, new_index, counts, fresh, figured)

    monkeypatch.setattr(menu_module, "_with_base", spy)
    fast = run()
    # the scenarios took most customers' options from the plan's menu
    assert len(taken) == 4 and min(taken) > 0.3, taken
    assert any("estimated" in v for v in fast.manifest["response"].values())

    build_menu = stage.build_menu

    def from_scratch(*args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.pop("base", None)
        kwargs.pop("candidates", None)
        return build_menu(*args, **kwargs)

    monkeypatch.setattr(stage, "build_menu", from_scratch)

    def at_once(fn, *args, name=""):  # type: ignore[no-untyped-def]
        done: Future[object] = Future()
        done.set_result(fn(*args))
        return done

    monkeypatch.setattr(stage, "in_background", at_once)
    slow = run()
    assert fast.customers.equals(slow.customers)
    assert fast.tables.keys() == slow.tables.keys()
    for name, table in fast.tables.items():
        assert table.equals(slow.tables[name]), name
    assert fast.manifest == slow.manifest
    assert fast.warnings == slow.warnings


def test_an_exact_check_stopped_before_any_bound_says_so(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # HiGHS stopped at the time limit before it proved a bound on the best plan: the
    # manifest's bound is null with the reason beside it, and the warnings say it, naming
    # the setting; the solve gets the run's [run] threads when one is set
    import dataclasses

    from tierwise._threads import thread_limit
    from tierwise.coverage import stage as stage_module

    real = stage_module.solve_exact
    asked: list[object] = []

    def stopped(*args, **kwargs):  # type: ignore[no-untyped-def]
        asked.append(kwargs.get("threads"))
        plan = real(*args, **kwargs)
        return dataclasses.replace(plan, upper_bound=np.inf, gap=np.inf)

    monkeypatch.setattr(stage_module, "solve_exact", stopped)
    c = base(40)
    s = CoverageSettings(exact=True, time_limit=30)
    with thread_limit(1):
        res = coverage_plan(c, s, programmes=PROGRAMMES, reps=reps(), legacy=legacy(c))
    exact = res.manifest["exact"]
    assert exact["upper_bound"] is None
    assert "time_limit (30 s)" in exact["upper_bound_note"]
    said = [w for w in res.warnings if w.startswith("exact check: HiGHS was stopped")]
    assert said == [f"exact check: {exact['upper_bound_note']}"]
    assert asked == [1]
    # a bound HiGHS proved is written as it is, with no note
    monkeypatch.setattr(stage_module, "solve_exact", real)
    res = coverage_plan(c, s, programmes=PROGRAMMES, reps=reps(), legacy=legacy(c))
    assert res.manifest["exact"]["upper_bound"] >= res.manifest["exact"]["objective"]
    assert "upper_bound_note" not in res.manifest["exact"]
    assert not any(w.startswith("exact check:") for w in res.warnings)


def test_roles_named_in_the_settings_with_capitals_plan_as_the_defaults() -> None:
    """Roles named in visit_roles and call_roles as a reps file writes them (capitals, a
    German ß): they are the file's roles, read without regard to case, and the plan is the
    one the default names give, not one where the field and inside reps get no customers."""
    c = base()
    default = coverage_plan(c, CoverageSettings(), programmes=PROGRAMMES, reps=reps())
    capitals = coverage_plan(
        c,
        CoverageSettings(visit_roles=["Field", "Key_Account "], call_roles=["INSIDE"]),
        programmes=PROGRAMMES,
        reps=reps(role=["Field"] * 3 + ["Key_Account", "Inside"]),
    )
    want = default.tables["rep_plan"].to_pandas()
    got = capitals.tables["rep_plan"].to_pandas()
    assert got.customers.tolist() == want.customers.tolist()
    assert got.visits.tolist() == want.visits.tolist()
    assert got.calls.tolist() == want.calls.tolist()
    assert capitals.customers.column("channel").equals(default.customers.column("channel"))
    german = coverage_plan(
        c,
        CoverageSettings(visit_roles=["Außendienst"], call_roles=["Innendienst"]),
        programmes=PROGRAMMES,
        reps=reps(role=["Außendienst"] * 4 + ["Innendienst"]),
    )
    plan = german.tables["rep_plan"].to_pandas()
    assert plan.visits[:4].sum() > 0 and plan.calls.iloc[4] > 0


def test_activity_types_named_as_the_file_writes_them_count_as_todays_contacts() -> None:
    """[coverage] activity_types naming a German CRM's types as it writes them ("Besuch",
    "E-Mail") count the activities, whose types are read folded (besuch, e_mail)."""
    import datetime as dt

    from tierwise.coverage.legacy import contact_counts
    from tierwise.engine import Engine

    acts = Engine().from_arrow(
        pa.table(
            {
                "customer_id": ["a", "a", "a", "b"],
                "date": [dt.date(2024, 3, 1)] * 4,
                "type": ["besuch", "besuch", "anruf", "e_mail"],
                "rep_id": ["R1", "R1", "R2", None],
            }
        )
    )
    s = CoverageSettings(
        activity_types={"visit": ["Besuch"], "call": ["Anruf "], "email": ["E-Mail"]}
    )
    got = contact_counts(acts, s, start=dt.date(2023, 6, 30), end=dt.date(2024, 6, 30))
    counts = got.to_pyarrow().sort_by("customer_id")
    assert counts.select(["visits", "calls", "emails", "visit_rep"]).to_pydict() == {
        "visits": [2, 0],
        "calls": [1, 0],
        "emails": [0, 1],
        "visit_rep": ["R1", None],
    }


@pytest.mark.parametrize("manifest", ["junk", '{"as_of": "last year"}', "[1, 2]"])
def test_a_previous_run_whose_manifest_is_not_a_runs_is_read_without_its_date(
    tmp_path: Path, manifest: str
) -> None:
    pq.write_table(
        pa.table({"customer_id": ["A"], "assigned_rep": ["R1"]}), tmp_path / "customers.parquet"
    )
    (tmp_path / "manifest.json").write_text(manifest, encoding="utf-8")
    table, as_of, _file = _previous(types.SimpleNamespace(previous=str(tmp_path)))  # type: ignore[arg-type]
    assert table is not None and table.num_rows == 1
    assert as_of is None


def test_visits_a_tier_minimum_holds_where_they_cost_more_than_they_add_are_said() -> None:
    # no reps file, no rep_id (a seller without a field force): the gold tier's 6 visits a
    # year go to the assumed rep. Each visit costs 40 + 2 × 30 km × 1.3 × 0.3 = 63.4, six
    # 380.4; at the class A response (s0 0.4, s1 0.7, d 6, c 1.2) six visits win half of
    # the way from 0.4 to 0.7 of the wallet, so they add 0.3 × 0.15 × wallet of margin and
    # lose money below a wallet of 380.4 / 0.045 = 8,453, although the plan's contribution
    # stays above 0 from a wallet of 380.4 / 0.165 = 2,305 up
    wallet = [1_000.0, 5_000.0, 8_000.0, 60_000.0]
    n = len(wallet)
    t = pa.table(
        {
            "customer_id": [f"G{i}" for i in range(n)],
            "value_class": ["A"] * n,
            "tier": ["gold"] * n,
            "wallet": wallet,
            "revenue_12m": [w / 2 for w in wallet],
            "gross_margin_rate_pnl": [0.3] * n,
            "is_prospect": [False] * n,
        }
    )
    s = CoverageSettings(estimate_response=False, winback_tiers=[])
    res = coverage_plan(t, s, programmes=PROGRAMMES)
    out = res.customers.to_pandas()
    assert (out.channel == "field").all() and (out.visits_per_year >= 6).all()
    # what each earns without contact, by hand: margin × wallet × s0
    short = 0.3 * 0.4 * np.asarray(wallet) - out.expected_contribution_plan.to_numpy()
    assert short[:3] == pytest.approx([120 + 215.4, 600 - 444.6, 960 - 939.6])
    assert out.expected_contribution_plan[1] > 0 and short[3] < 0
    for i in range(3):
        assert (
            f"(the gold tier's minimum: the visits cost €{short[i]:,.0f} a year more"
            in (out.coverage_reason[i])
        ), out.coverage_reason[i]
    assert "tier's minimum:" not in out.coverage_reason[3]
    block = res.manifest["held_at_a_loss"]
    assert block["customers"] == 3
    assert block["expected_loss"] == pytest.approx(short[:3].sum())
    said = [w for w in res.warnings if "although the plan expects to lose money" in w]
    assert len(said) == 1 and said[0].startswith("3 customers are visited although the plan")
    assert res.manifest["headline"].endswith(
        f"; the tiers hold 3 accounts to visits that cost €{short[:3].sum():,.0f} a year more "
        "than the margin they add (held_at_a_loss)"
    )
    # without the minimum, gold's band (key_account, field) still offers visits only
    # (no inside team, no e-mail in it): a visit a year at least, and the plan says so
    free = {**PROGRAMMES, "gold": PROGRAMMES["gold"].model_copy(update={"visits_min": 0.0})}
    res = coverage_plan(t, s, programmes=free)
    out = res.customers.to_pandas()
    assert (out.visits_per_year >= min(s.visit_levels)).all()
    short = 0.3 * 0.4 * np.asarray(wallet) - out.expected_contribution_plan.to_numpy()
    losing = np.flatnonzero(short > 0)
    assert len(losing) >= 2
    for i in losing:
        assert (
            "(the gold tier's band offers visits only: the visits cost €"
            in (out.coverage_reason[i])
        ), out.coverage_reason[i]
    block = res.manifest["held_at_a_loss"]
    assert block["by_rule"] == {"visits_min": 0, "channel_band": len(losing)}
    assert block["expected_loss"] == pytest.approx(short[losing].sum())
    said = [w for w in res.warnings if "although the plan expects to lose money" in w]
    assert (
        len(said) == 1
        and "by their tier's channel band, which offers them visits only" in (said[0])
    )
    # with web in the band the plan leaves them without visits where visits do not pay
    web = {
        **PROGRAMMES,
        "gold": PROGRAMMES["gold"].model_copy(
            update={"visits_min": 0.0, "channels": ["key_account", "field", "web"]}
        ),
    }
    res = coverage_plan(t, s, programmes=web)
    out = res.customers.to_pandas()
    assert (out.visits_per_year[losing] == 0).all()
    assert res.manifest["held_at_a_loss"]["customers"] == 0
