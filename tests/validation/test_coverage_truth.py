"""The coverage plan against the demo's planted response to contact.

The demo plants, per company, a CALLPLAN response (Lodish 1971): expected yearly revenue
true_wallet × (s0 + (s1 − s0) · e^c / (d^c + e^c)) at effort e = Σ effectiveness ×
contacts a year, a true gross margin rate, and legacy (misallocated) contact rates; its
true contribution is true_margin_rate × revenue − Σ cost per contact × contacts. The run
here is the product's own (accounts merged, response estimated from the history, wallets
from the potential stage, margins from the profit figures); only the channels'
effectiveness, cost and minutes per contact and the travel time are set from
``truth_coverage.json`` — a user sets these from their own figures, and this check is of
the optimiser and the menu, not of guessing them. Travel matches the demo's (1.5 minutes
per straight-line km and visit: road_factor 1, 80 km/h there and back) and no cost per km
(the truth charges none).

**Field hours.** Today's field hours are the visits of the last 12 months in the
activities, each costed on the stage's hours model (minutes per visit plus travel from the
visiting rep's home). The plan runs with the visiting reps' hours_per_year (field and key
account) scaled so that their sum equals those hours — the test scales the reps table; no
setting is needed. The inside team keeps its hours.

**Companies that left** (dead at the analysis date: true_alive false). They earn nothing
whatever is done. Legacy is credited with stopping: its contacts to them count as none
(no cost), though today's hours include the visits the reps still make to some of them.
The plan is charged for every contact it gives them (it cannot know for sure who left;
the lifetime stage's p_alive lowers their value). This favours legacy.

**Accounts to companies.** An output account's contacts are shared equally among its
member records and each record's share goes to its true company (account_members and the
truth's company_id); a company's effort is the sum over its records. Prospects are their
own company, with s0 = 0 and no legacy contacts.

**The oracle** is the same menu (the stage's build_menu on the same accounts, tiers,
bands, candidate reps and hours, with the same accounts released from their band:
prospects and the statuses of ``band_released_status``, and the same dormant accounts of
``winback_tiers`` held to a win-back contact) valued with the true parameters (a dead
company's wallet 0, a company's wallet shared among its records), solved with
:func:`tierwise.coverage.allocate.allocate`.

Measured on seed 42, 1,500 customer records (1,408 companies, 630 alive; 1,711 accounts
and prospects): legacy true contribution 1.162M a year, plan 1.851M (+59.3%), oracle
2.202M (+89.5%): the plan takes 66% of the oracle's gain (49% among existing customers,
where the oracle knows who has left and each company's true wallet and response). Field
hours: 7,152 today, the plan 3,204 of the 7,152 it was given. The 29 costly companies
still alive lose all their visits (legacy 14.1 a year); all 84 costly companies get fewer
visits than legacy. The plan's contacts to companies that had left cost 37k a year
(dormant accounts, inactive and lapsed, and prospects are released from their tier's
visit minimum; the dormant gold accounts still get a win-back call).
The module takes 20-30 s on a busy 2-core machine (generation and run; the oracle 0.1 s).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tierwise.coverage.allocate import allocate
from tierwise.coverage.menu import CustomerFrame, build_menu, haversine_km
from tierwise.demo import generate
from tierwise.pipeline import RunResult, run_pipeline
from tierwise.settings import Settings

SEED, N_CUSTOMERS = 42, 1500
_INPUTS = ("transactions", "customers", "activities", "payments", "prospects", "reps", "market")
_VISIT_ROLES = ("field", "key_account")


@dataclass
class Run:
    result: RunResult
    settings: Settings
    truth_coverage: dict[str, Any]
    companies: pd.DataFrame  # one row per true company and prospect: truth and alive
    pairs: pd.DataFrame  # account_id, record, company, w (the record's share of the account)
    legacy_field_hours: float
    legacy_field_hours_alive: float


def _settings(tc: dict[str, Any]) -> Settings:
    return Settings().with_updates(
        coverage={
            "effectiveness": tc["effectiveness"],
            "cost_per_contact": tc["cost_per_contact"],
            "minutes_per_contact": tc["minutes_per_contact"],
            # the demo's travel: travel_minutes_per_km per straight-line km of a visit
            "road_factor": 1.0,
            "travel_speed_kmh": 2 * 60 / tc["travel_minutes_per_km"],
            "cost_per_km": 0.0,
        }
    )


@pytest.fixture(scope="module")
def run() -> Run:
    data = generate(n_customers=N_CUSTOMERS, seed=SEED)
    tc = data.truth_coverage
    settings = _settings(tc)
    cov = settings.coverage
    truth = data.truth.to_pandas()
    company = truth.set_index("customer_id")["company_id"]
    companies = truth.groupby("company_id").first()
    companies["alive"] = companies["true_alive"].astype("boolean").fillna(True).astype(bool)

    # today's field hours: the last 12 months' visits on the stage's hours model
    act = data.activities.to_pandas()
    visits = act[
        (act["type"] == "visit")
        & (act["date"] > data.end_date - dt.timedelta(days=365))
        & (act["date"] <= data.end_date)
    ]
    where = data.customers.to_pandas().set_index("customer_id").loc[visits["customer_id"]]
    reps = data.reps.to_pandas()
    home = reps.set_index("rep_id").loc[visits["rep_id"]]
    km = haversine_km(
        where["lat"].to_numpy(),
        where["lon"].to_numpy(),
        home["home_lat"].to_numpy(),
        home["home_lon"].to_numpy(),
    )
    hours = cov.minutes_per_contact["visit"] / 60 + 2 * km * cov.road_factor / cov.travel_speed_kmh
    alive_visit = visits["customer_id"].map(company).map(companies["alive"]).to_numpy(bool)
    legacy_hours = float(hours.sum())

    # the plan's field reps get those hours between them
    visiting = reps["role"].isin(_VISIT_ROLES)
    reps.loc[visiting, "hours_per_year"] *= (
        legacy_hours / reps.loc[visiting, "hours_per_year"].sum()
    )
    inputs: dict[str, Any] = {k: v for k, v in data.tables().items() if k in _INPUTS}
    inputs["reps"] = pa.Table.from_pandas(reps, preserve_index=False)
    result = run_pipeline(inputs, settings, as_of=data.end_date, stages=["coverage"])

    out = result.customers.to_pandas()
    members = result.tables["account_members"].to_pandas()
    prospects = out.loc[out["is_prospect"].fillna(False).astype(bool), "customer_id"]
    pairs = pd.concat(
        [
            pd.DataFrame({"account_id": members["account_id"], "record": members["customer_id"]}),
            pd.DataFrame({"account_id": prospects, "record": prospects}),
        ],
        ignore_index=True,
    )
    pairs["company"] = pairs["record"].map(company)
    assert pairs["company"].notna().all()
    assert set(pairs["account_id"]) == set(out["customer_id"])
    pairs["w"] = 1.0 / pairs.groupby("account_id")["record"].transform("size")
    return Run(
        result, settings, tc, companies, pairs, legacy_hours, float(hours[alive_visit].sum())
    )


# -- evaluation under the truth ------------------------------------------------------------


def _per_company(r: Run, accounts: pd.DataFrame) -> pd.DataFrame:
    """Contacts a year per true company (visits, calls, emails) from per-account ones."""
    x = r.pairs.merge(accounts, left_on="account_id", right_on="customer_id")
    g = (
        pd.DataFrame(
            {
                "company": x["company"],
                "visits": x["visits_per_year"] * x["w"],
                "calls": x["calls_per_year"] * x["w"],
                "emails": x["emails_per_year"] * x["w"],
            }
        )
        .groupby("company")[["visits", "calls", "emails"]]
        .sum()
    )
    return g.reindex(r.companies.index).fillna(0.0)


def _true_contribution(r: Run, c: pd.DataFrame) -> np.ndarray:
    """true_margin_rate × wallet × response(e) − Σ cost × contacts, per company; a company
    that left earns nothing."""
    t, tc = r.companies, r.truth_coverage
    eff, cost = tc["effectiveness"], tc["cost_per_contact"]
    v, k, e = (c[x].to_numpy() for x in ("visits", "calls", "emails"))
    effort = eff["visit"] * v + eff["call"] * k + eff["email"] * e
    d, shape = t["true_d"].to_numpy(), t["true_c"].to_numpy()
    with np.errstate(divide="ignore", over="ignore"):
        h = np.where(effort > 0, 1 / (1 + (d / np.maximum(effort, 1e-300)) ** shape), 0.0)
    share = t["true_s0"].to_numpy() + (t["true_s1"] - t["true_s0"]).to_numpy() * h
    revenue = np.where(t["alive"].to_numpy(), t["true_wallet"].to_numpy() * share, 0.0)
    spend = cost["visit"] * v + cost["call"] * k + cost["email"] * e
    return np.asarray(t["true_margin_rate"].to_numpy() * revenue - spend)


def _legacy_contacts(r: Run) -> pd.DataFrame:
    """The truth's legacy rates; none for a company that left (legacy is credited with
    stopping) and none for prospects."""
    t = r.companies
    live = t["alive"].to_numpy() & ~t["is_prospect"].to_numpy(bool)
    return pd.DataFrame(
        {
            k: np.where(live, t[f"legacy_{k}_per_year"].fillna(0.0).to_numpy(), 0.0)
            for k in ("visits", "calls", "emails")
        },
        index=t.index,
    )


def _plan_contacts(r: Run) -> pd.DataFrame:
    cols = ["customer_id", "visits_per_year", "calls_per_year", "emails_per_year"]
    return _per_company(r, r.result.customers.select(cols).to_pandas())


def _oracle_contacts(r: Run) -> tuple[pd.DataFrame, Any]:
    """The same menu valued with the true parameters, solved by the same optimiser."""
    t = r.companies
    out = r.result.customers.to_pandas()
    ids = out["customer_id"].to_numpy()
    x = r.pairs.copy()
    n_records = x.groupby("company")["record"].transform("size")
    alive = x["company"].map(t["alive"]).to_numpy(bool)
    x["wallet"] = np.where(alive, x["company"].map(t["true_wallet"]) / n_records, 0.0)
    x["margin_wallet"] = x["wallet"] * x["company"].map(t["true_margin_rate"])
    g = x.groupby("account_id")
    wallet = g["wallet"].sum()
    margin = g["margin_wallet"].sum() / wallet.where(wallet > 0, 1.0)
    # response parameters: those of the account's company with the largest wallet
    top = x.sort_values(["wallet", "record"], ascending=[False, True]).groupby("account_id")
    main = top["company"].first()

    def per_account(s: pd.Series) -> np.ndarray:
        return np.asarray(s.reindex(ids).to_numpy(), dtype=np.float64)

    frame = CustomerFrame(
        ids=ids.astype(object),
        value_class=out["value_class"].to_numpy(object),
        tier=out["tier"].to_numpy(object),
        region=out["region"].to_numpy(object),
        rep=out["rep_id"].to_numpy(object),
        lat=out["lat"].to_numpy(np.float64),
        lon=out["lon"].to_numpy(np.float64),
        wallet=per_account(wallet),
        margin_rate=np.nan_to_num(per_account(margin)),
        is_prospect=out["is_prospect"].fillna(False).to_numpy(bool),
        s0=per_account(main.map(t["true_s0"])),
        s1=per_account(main.map(t["true_s1"])),
        c=per_account(main.map(t["true_c"])),
        d=per_account(main.map(t["true_d"])),
    )
    detail = r.result.results["coverage"].detail
    seg = r.result.results["segments"].detail
    programmes = getattr(seg, "programmes", None) or r.settings.segments.programmes
    s = r.settings.coverage.model_copy(update={"stability_bonus": 0.0})
    # the plan's menu: dormant accounts (band_released_status) and prospects are not held
    # to their tier's band
    released = frame.is_prospect | out["status"].isin(s.band_released_status).to_numpy(bool)
    # and the dormant accounts of winback_tiers get at least a win-back contact
    winback = released & ~frame.is_prospect & out["tier"].isin(s.winback_tiers).to_numpy(bool)
    build = build_menu(frame, detail.build.team, s, programmes, released=released, winback=winback)
    plan = allocate(build.menu, build.capacity)
    ch = plan.choice
    accounts = pd.DataFrame(
        {
            "customer_id": ids,
            "visits_per_year": build.visits[ch],
            "calls_per_year": build.calls[ch],
            "emails_per_year": build.emails[ch],
        }
    )
    return _per_company(r, accounts), plan


def _field_hours(r: Run) -> float:
    rp = r.result.tables["rep_plan"].to_pandas()
    return float(rp.loc[rp["role"].isin(_VISIT_ROLES), "hours_used"].sum())


# -- the checks -------------------------------------------------------------------------------


def test_plan_beats_legacy_with_no_more_field_hours(run: Run) -> None:
    used = _field_hours(run)
    # the reps were given today's field hours and the plan stays within them
    assert used <= run.legacy_field_hours * (1 + 1e-9)  # measured 3,204 of 7,152 h
    legacy = _true_contribution(run, _legacy_contacts(run)).sum()
    plan = _true_contribution(run, _plan_contacts(run)).sum()
    # the floor (CALLPLAN's field test gave +8.1% sales); measured +59.3%
    # (1.162M → 1.851M a year)
    assert plan >= 1.05 * legacy
    # the stage's own view agrees in direction (measured +55.6% on its own estimates): its
    # response is estimated per class, and it knows who left only by p_alive
    cov = run.result.manifest["coverage"]
    assert cov["objective"] > cov["legacy_objective"]
    # today's field hours as the stage counts them are those the reps were given
    assert cov["legacy_field_hours"] == pytest.approx(run.legacy_field_hours, rel=0.02)
    assert cov["plan_field_hours"] == pytest.approx(used)
    assert cov["optimality_gap"] < 0.005


def test_costly_customers_lose_their_visits(run: Run) -> None:
    t = run.companies
    costly = t["costly"].fillna(False).to_numpy(bool)
    assert costly.sum() >= 30  # measured 84 (29 still alive)
    plan = _plan_contacts(run)["visits"].to_numpy()
    legacy = t["legacy_visits_per_year"].fillna(0.0).to_numpy()
    fewer = plan[costly] < legacy[costly] - 1e-9
    assert fewer.mean() >= 0.8  # measured 1.00
    alive = costly & t["alive"].to_numpy()
    # those still buying: measured 0.0 visits a year on average (legacy 14.1)
    assert plan[alive].mean() < 0.25 * legacy[alive].mean()


def test_plan_takes_a_share_of_the_oracles_gain(run: Run) -> None:
    legacy_v = _true_contribution(run, _legacy_contacts(run))
    plan_v = _true_contribution(run, _plan_contacts(run))
    contacts, oracle_plan = _oracle_contacts(run)
    oracle_v = _true_contribution(run, contacts)
    legacy, plan, oracle = legacy_v.sum(), plan_v.sum(), oracle_v.sum()
    assert oracle_plan.gap < 0.005  # measured 0.0000
    # the oracle's menu value is its true contribution up to the shared records' response
    assert oracle == pytest.approx(oracle_plan.objective, rel=0.01)
    assert oracle > plan > legacy
    share = (plan - legacy) / (oracle - legacy)
    # measured 0.66 (legacy 1.162M, plan 1.851M, oracle 2.202M a year): the plan knows the
    # response only by class, the wallets by estimate and who left only by p_alive
    assert share >= 0.55
    # among existing customers (prospects left out on all sides): measured 0.49; the
    # oracle knows which of them have left and their true wallets
    known = ~run.companies["is_prospect"].to_numpy(bool)
    on_customers = (plan_v[known].sum() - legacy_v[known].sum()) / (
        oracle_v[known].sum() - legacy_v[known].sum()
    )
    assert on_customers >= 0.4


def test_companies_that_left_get_few_of_the_plans_contacts(run: Run) -> None:
    # they earn nothing either way; legacy is credited with no contacts to them, the plan
    # pays for every contact it gives them
    t = run.companies
    plan = _plan_contacts(run)
    known = ~t["is_prospect"].to_numpy(bool)
    dead = known & ~t["alive"].to_numpy()
    live = known & t["alive"].to_numpy()
    assert dead.sum() > 0.3 * known.sum()  # measured 778 of 1,408 companies
    per_dead = plan.loc[dead, ["visits", "calls"]].sum() / dead.sum()
    per_live = plan.loc[live, ["visits", "calls"]].sum() / live.sum()
    # measured calls 2.17 a year per company that left against 5.10 per company alive;
    # visits 0.18 against 1.41: dormant accounts (inactive and lapsed, [coverage]
    # band_released_status) are not held to their tier's visit minimum, so the plan calls
    # some of them where it would otherwise visit them twice a year (holding inactive
    # accounts to it: visits 0.21 against 1.38, and 6k a year more spent on them); the
    # dormant gold accounts get a win-back call at least ([coverage]
    # winback_tiers), which a company that left does not answer
    assert per_dead["calls"] < 0.6 * per_live["calls"]
    assert per_dead["visits"] < 0.15 * per_live["visits"]
    cost = -_true_contribution(run, plan)[dead].sum()
    legacy = _true_contribution(run, _legacy_contacts(run)).sum()
    assert cost < 0.15 * legacy  # measured 37k a year against legacy's 1.162M
