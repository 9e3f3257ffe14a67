"""The demo's planted response to contact, against what the generated history shows.

The demo (``tierwise.demo._response``) gives each company a CALLPLAN response (Lodish 1971):
expected yearly revenue wallet × (s0 + (s1 − s0) · e^c / (d^c + e^c)) at effort e (effective
contacts per year), a true gross margin rate, and legacy contact rates that a real field
force's habits set, not what contacts earn. These tests check that the history carries that
truth and that the legacy coverage leaves room for a plan to win.

Figures measured on the default demo (seed 42, 3,000 records, 2,817 companies) are given
next to each check; floors leave room for changes to the generator's other draws.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from tierwise.demo import DemoData, generate
from tierwise.io.demo_files import write_demo
from tierwise.settings import ProfitabilitySettings

_COLUMNS = (
    "true_s0",
    "true_s1",
    "true_c",
    "true_d",
    "true_margin_rate",
    "legacy_visits_per_year",
    "legacy_calls_per_year",
    "legacy_emails_per_year",
)
_CONTACTS = ("visit", "call", "email")


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate(n_customers=3000, seed=42)


@pytest.fixture(scope="module")
def companies(data: DemoData) -> pd.DataFrame:
    """One row per true company: its truth, first record's rep and place, revenue and
    contacts in the last 12 months and in each half of the history."""
    truth = data.truth.to_pandas().query("~is_prospect")
    cust = data.customers.to_pandas().set_index("customer_id")
    tx = data.transactions.to_pandas()
    act = data.activities.to_pandas()
    end = data.end_date
    year_start = end - dt.timedelta(days=365)
    legacy_from = dt.date.fromisoformat(data.truth_coverage["legacy_from"])
    comp = truth.set_index("customer_id")["company_id"]

    sales = tx[~tx["is_return"]]
    sales_comp = sales["customer_id"].map(comp)
    act_comp = act["customer_id"].map(comp)
    first = truth.groupby("company_id").first()
    out = first.copy()
    out["created"] = (
        truth.assign(created=truth["customer_id"].map(cust["created_date"]))
        .groupby("company_id")["created"]
        .min()
    )
    out["revenue_12m"] = sales["revenue"][sales["date"] > year_start].groupby(sales_comp).sum()
    out["revenue_early"] = sales["revenue"][sales["date"] < legacy_from].groupby(sales_comp).sum()
    out["revenue_late"] = sales["revenue"][sales["date"] >= legacy_from].groupby(sales_comp).sum()
    out["lines"] = sales.groupby(sales_comp).size()
    out["gross_margin"] = (sales["revenue"] - sales["cost"]).groupby(sales_comp).sum()
    out["revenue_all"] = sales["revenue"].groupby(sales_comp).sum()
    recent = act["date"] > year_start
    for t in _CONTACTS:
        is_t = act["type"] == t
        out[f"{t}_12m"] = is_t[recent].groupby(act_comp[recent]).sum()
    filled = ["revenue_12m", "revenue_early", "revenue_late", "lines"]
    filled += [f"{t}_12m" for t in _CONTACTS]
    out[filled] = out[filled].fillna(0)
    out["alive"] = out["true_alive"].astype(bool)
    out["whole_window"] = pd.to_datetime(out["created"]) <= pd.Timestamp(
        end.replace(year=end.year - 3)
    )
    out["whole_year"] = pd.to_datetime(out["created"]) <= pd.Timestamp(year_start)
    # the first record's rep and the km from its home (the legacy coverage's own measure)
    rec = cust.loc[first["customer_id"]]
    reps = data.reps.to_pandas().set_index("rep_id").loc[rec["rep_id"]]
    dlat = np.radians(rec["lat"].to_numpy() - reps["home_lat"].to_numpy())
    dlon = np.radians(rec["lon"].to_numpy() - reps["home_lon"].to_numpy()) * np.cos(
        np.radians(rec["lat"].to_numpy())
    )
    out["rep_id"] = rec["rep_id"].to_numpy()
    out["km"] = 6371 * np.sqrt(dlat**2 + dlon**2)
    return out


def _effort(truth: dict, visits, calls, emails):
    e = truth["effectiveness"]
    return e["visit"] * visits + e["call"] * calls + e["email"] * emails


def _share(c: pd.DataFrame, effort) -> np.ndarray:
    e = np.maximum(np.asarray(effort, dtype=float), 0.0)
    with np.errstate(divide="ignore"):
        h = np.where(
            e > 0,
            1 / (1 + (c["true_d"].to_numpy() / np.maximum(e, 1e-300)) ** c["true_c"].to_numpy()),
            0.0,
        )
    return c["true_s0"].to_numpy() + (c["true_s1"] - c["true_s0"]).to_numpy() * h


def _contribution(c: pd.DataFrame, truth: dict, visits) -> np.ndarray:
    """True contribution per year at these visits (calls and e-mails at legacy rates)."""
    calls, emails = c["legacy_calls_per_year"].to_numpy(), c["legacy_emails_per_year"].to_numpy()
    revenue = c["true_wallet"].to_numpy() * _share(c, _effort(truth, visits, calls, emails))
    cost = truth["cost_per_contact"]
    return (
        c["true_margin_rate"].to_numpy() * revenue
        - cost["visit"] * visits
        - cost["call"] * calls
        - cost["email"] * emails
    )


def test_truth_has_the_response_columns_in_range(data: DemoData) -> None:
    truth = data.truth.to_pandas()
    assert set(_COLUMNS) <= set(truth.columns)
    assert truth[list(_COLUMNS)].notna().all().all()
    c = truth[~truth["is_prospect"]]
    assert ((c["true_s0"] > 0) & (c["true_s0"] < c["true_s1"]) & (c["true_s1"] <= 0.95)).all()
    assert (c["true_d"] > 0).all() and (c["true_c"] > 0).all()
    # both shapes are planted: S-curves (c > 1) and concave responses (c <= 1)
    assert 0.4 < (c["true_c"] > 1).mean() < 0.8  # measured 0.58
    assert c["true_margin_rate"].between(0.05, 0.6).all()
    for col in _COLUMNS[5:]:
        assert (c[col] >= 0).all(), col
    # company-level truth repeats on every record of the company
    per_company = c.groupby("company_id")[list(_COLUMNS)].nunique()
    assert (per_company == 1).all().all()
    # prospects: no purchases without contact, no legacy contacts, but a response to win
    p = truth[truth["is_prospect"]]
    assert (p["true_s0"] == 0).all() and (p["true_s1"] > 0).all()
    assert (p[list(_COLUMNS[5:])] == 0).all().all()


def test_share_of_wallet_is_the_response_at_legacy_effort(data: DemoData) -> None:
    c = data.truth.to_pandas().query("~is_prospect")
    e = _effort(
        data.truth_coverage,
        c["legacy_visits_per_year"],
        c["legacy_calls_per_year"],
        c["legacy_emails_per_year"],
    )
    np.testing.assert_allclose(c["true_share_of_wallet"], _share(c, e), rtol=1e-12)


def test_revenue_follows_the_response_at_legacy_effort(companies: pd.DataFrame) -> None:
    # alive companies that were customers the whole last year: their 12 months of sales
    # are a draw around wallet × share at legacy effort
    c = companies[companies["alive"] & companies["whole_year"]]
    expected = c["true_wallet"] * c["true_share_of_wallet"]
    observed = c["revenue_12m"]
    assert len(c) > 500  # measured 933
    assert np.corrcoef(expected, observed)[0, 1] > 0.85  # measured 0.935
    slope = np.polyfit(expected, observed, 1)[0]
    assert 0.85 < slope < 1.15  # measured 1.000
    assert observed.sum() / expected.sum() == pytest.approx(1.0, abs=0.08)  # measured 0.988
    # the fit holds wherever legacy effort left a company on its curve (share / s1 in
    # terciles: 0.59, 0.78, 0.94 at the medians). Were revenue set by a share that ignored
    # contacts, the lowest tercile would buy more than the response says and the highest
    # less (1.29 and 0.80 with the base share of wallet in place of the response)
    position = pd.qcut(c["true_share_of_wallet"] / c["true_s1"], 3, labels=False)
    ratio = observed.groupby(position).sum() / expected.groupby(position).sum()
    assert ratio.between(0.9, 1.1).all(), ratio.to_dict()  # measured 0.99, 0.97, 1.01


def test_revenue_moves_with_effort_between_the_halves_of_the_history(
    data: DemoData, companies: pd.DataFrame
) -> None:
    # contacts before legacy_from ran at early_effort_factor × the legacy rates; the change
    # in revenue from one half to the other follows the response's change. Per company a
    # half's revenue is a noisy draw (orders are Poisson), so the check pools: the slope of
    # the observed log ratio on the planted one is near 1 and clearly above 0
    c = companies[
        companies["alive"]
        & companies["whole_window"]
        & (companies["revenue_early"] > 0)
        & (companies["revenue_late"] > 0)
    ]
    truth = data.truth_coverage
    e = _effort(
        truth, c["legacy_visits_per_year"], c["legacy_calls_per_year"], c["legacy_emails_per_year"]
    ).to_numpy()
    planted = np.log(_share(c, e) / _share(c, c["early_effort_factor"].to_numpy() * e))
    observed = np.log(c["revenue_late"] / c["revenue_early"]).to_numpy()
    slope, _ = np.polyfit(planted, observed, 1)
    resid = observed - np.polyval(np.polyfit(planted, observed, 1), planted)
    se = np.sqrt(resid.var(ddof=2) / ((planted - planted.mean()) ** 2).sum())
    assert 0.5 < slope < 2.0  # measured 1.10 over 536 companies
    assert slope / se > 2.5  # measured 3.3
    # and the activities show the effort change the revenue answered to
    act = data.activities.to_pandas()
    legacy_from = dt.date.fromisoformat(truth["legacy_from"])
    comp = data.truth.to_pandas().set_index("customer_id")["company_id"]
    contacts = act[act["type"].isin(_CONTACTS)]
    w = contacts["type"].map(truth["effectiveness"])
    key = contacts["customer_id"].map(comp)
    early = w[contacts["date"] < legacy_from].groupby(key).sum().reindex(c.index).fillna(0)
    late = w[contacts["date"] >= legacy_from].groupby(key).sum().reindex(c.index).fillna(0)
    rho = spearmanr(np.log((late + 0.5) / (early + 0.5)), -np.log(c["early_effort_factor"]))[0]
    assert rho > 0.5  # measured 0.65


def test_activities_follow_the_legacy_rates(companies: pd.DataFrame) -> None:
    c = companies[companies["alive"] & companies["whole_year"]]
    for t in _CONTACTS:
        rate, seen = c[f"legacy_{t}s_per_year"], c[f"{t}_12m"]
        # a year of Poisson contacts at the legacy rate (measured within 2%)
        assert seen.sum() == pytest.approx(rate.sum(), rel=0.06), t
        assert spearmanr(rate, seen)[0] > 0.5, t


def test_true_margin_rate_is_the_realised_gross_margin(companies: pd.DataFrame) -> None:
    c = companies[companies["lines"] >= 50]
    realised = c["gross_margin"] / c["revenue_all"]
    diff = realised - c["true_margin_rate"]
    assert len(c) > 500  # measured 940
    assert abs(diff.median()) < 0.01  # measured -0.002
    assert diff.abs().median() < 0.025  # measured 0.010
    assert np.corrcoef(realised, c["true_margin_rate"])[0, 1] > 0.8  # measured 0.91


def test_truth_coverage_is_what_the_generator_used(data: DemoData, tmp_path: Path) -> None:
    truth = data.truth_coverage
    assert truth["effectiveness"]["visit"] == 1.0
    assert 0 < truth["effectiveness"]["email"] < truth["effectiveness"]["call"] < 1
    # the costs are the profitability stage's default rates
    p = ProfitabilitySettings()
    assert truth["cost_per_contact"] == {
        "visit": p.cost_per_visit,
        "call": p.cost_per_call,
        "email": p.cost_per_email,
    }
    # the minutes are the activities' typical durations (log-normal around them)
    act = data.activities.to_pandas()
    for t in _CONTACTS:
        median = act.loc[act["type"] == t, "duration_minutes"].median()
        assert median == pytest.approx(truth["minutes_per_contact"][t], abs=1.0), t
    written = json.loads(write_demo(data, tmp_path)["truth_coverage"].read_text())
    assert written == truth


def test_legacy_contacts_fit_within_the_reps_hours(data: DemoData) -> None:
    # the last year's contacts with travel, per rep, from the activities themselves
    truth = data.truth_coverage
    act = data.activities.to_pandas()
    act = act[(act["date"] > data.end_date - dt.timedelta(days=365)) & act["type"].isin(_CONTACTS)]
    cust = data.customers.to_pandas().set_index("customer_id").loc[act["customer_id"]]
    reps = data.reps.to_pandas().set_index("rep_id")
    assert reps[["hours_per_year", "home_lat", "home_lon"]].notna().all().all()
    assert reps.loc[reps["role"] == "field", "region"].notna().all()
    home = reps.loc[act["rep_id"]]
    dlat = np.radians(cust["lat"].to_numpy() - home["home_lat"].to_numpy())
    dlon = np.radians(cust["lon"].to_numpy() - home["home_lon"].to_numpy()) * np.cos(
        np.radians(cust["lat"].to_numpy())
    )
    km = 6371 * np.sqrt(dlat**2 + dlon**2)
    minutes = act["type"].map(truth["minutes_per_contact"]).to_numpy() + np.where(
        act["type"] == "visit", truth["travel_minutes_per_km"] * km, 0.0
    )
    hours = pd.Series(minutes / 60).groupby(act["rep_id"].to_numpy()).sum()
    use = hours / reps["hours_per_year"].reindex(hours.index)
    # planned to at most 90% of each rep's hours; a year of Poisson contacts adds noise
    assert use.max() < 1.0  # measured 0.97
    field = use[reps.loc[use.index, "role"] == "field"]
    assert field.median() > 0.5  # measured 0.76: the field force is busy


def test_legacy_coverage_is_misallocated(data: DemoData, companies: pd.DataFrame) -> None:
    truth = data.truth_coverage
    costly = companies[companies["costly"]]
    # the planted costly customers get many visits (12-18 a year planned) ...
    assert costly["legacy_visits_per_year"].median() > 8  # measured 14.3
    alive = companies[companies["alive"] & companies["whole_year"]]
    assert alive.loc[alive["costly"], "visit_12m"].median() >= 6  # measured 16.5
    # ... that earn less than they cost: nearly all would contribute more without them
    gain = _contribution(costly, truth, np.zeros(len(costly))) - _contribution(
        costly, truth, costly["legacy_visits_per_year"].to_numpy()
    )
    assert (gain > 0).mean() > 0.9  # measured 1.0
    # and visits go with habit, not with headroom (what contacts could still win)
    c = companies[companies["alive"]]
    headroom = c["true_wallet"] * (c["true_s1"] - c["true_share_of_wallet"])
    assert spearmanr(c["legacy_visits_per_year"], headroom)[0] < 0.1  # measured -0.28


def _oracle_visits(c: pd.DataFrame, truth: dict, max_visits: int = 26) -> np.ndarray:
    """Visits per company from marginal analysis on each company's concave envelope of
    contribution over 0..max_visits visits, within each rep's legacy visit hours."""
    n, ks = len(c), np.arange(max_visits + 1, dtype=float)
    value = np.stack([_contribution(c, truth, np.full(n, k)) for k in ks], axis=1)
    per_visit = truth["minutes_per_contact"]["visit"] + truth["travel_minutes_per_km"] * c["km"]
    per_visit = per_visit.to_numpy() / 60
    rows = np.arange(n)
    # the envelope's segments, walked from 0 visits: steepest next point each time
    at = np.zeros(n, dtype=np.int64)
    seg_c, seg_from, seg_to, seg_slope = [], [], [], []
    for _ in range(max_visits):
        slope = (value - value[rows, at][:, None]) / np.maximum(ks[None, :] - at[:, None], 1)
        slope[ks[None, :] <= at[:, None]] = -np.inf
        nxt = np.argmax(slope, axis=1)
        best = slope[rows, nxt]
        go = (at < max_visits) & (best > 0)
        if not go.any():
            break
        seg_c.append(rows[go])
        seg_from.append(at[go])
        seg_to.append(nxt[go])
        seg_slope.append(best[go])
        at = np.where(go, nxt, max_visits)
    comp, frm, to, slope = (np.concatenate(x) for x in (seg_c, seg_from, seg_to, seg_slope))
    hours = (to - frm) * per_visit[comp]
    rate = slope / per_visit[comp]  # contribution per field hour
    reps = c["rep_id"].to_numpy()
    rep = reps[comp]
    budget = pd.Series(c["legacy_visits_per_year"].to_numpy() * per_visit).groupby(reps).sum()
    # per rep: best contribution per hour first, until the next segment does not fit
    order = np.lexsort((-rate, rep))
    cum = pd.Series(hours[order]).groupby(rep[order]).cumsum().to_numpy()
    fits = cum <= budget.reindex(rep[order]).to_numpy() + 1e-9
    stopped = pd.Series(~fits).groupby(rep[order]).cummax().to_numpy()
    taken = order[~stopped]
    visits = np.zeros(n)
    np.maximum.at(visits, comp[taken], to[taken])
    return visits


def test_a_reallocation_of_the_same_field_hours_beats_legacy(
    data: DemoData, companies: pd.DataFrame
) -> None:
    # the oracle: true parameters, visits moved by marginal analysis within each rep's
    # legacy visit hours (calls and e-mails kept), over the companies alive at the end
    truth = data.truth_coverage
    c = companies[companies["alive"]]
    legacy_visits = c["legacy_visits_per_year"].to_numpy()
    visits = _oracle_visits(c, truth)
    per_visit = truth["minutes_per_contact"]["visit"] + truth["travel_minutes_per_km"] * c["km"]
    per_visit = per_visit.to_numpy() / 60
    used = pd.Series(visits * per_visit).groupby(c["rep_id"].to_numpy()).sum()
    legacy_hours = pd.Series(legacy_visits * per_visit).groupby(c["rep_id"].to_numpy()).sum()
    assert (used <= legacy_hours + 1e-6).all()
    before = _contribution(c, truth, legacy_visits).sum()
    after = _contribution(c, truth, visits).sum()
    assert after > 1.10 * before  # measured +21.7% (3.00M → 3.65M a year)
    # it both adds visits where headroom pays and takes them from where it does not
    assert (visits > legacy_visits + 0.5).sum() > 50  # measured 149 companies
    assert (visits < legacy_visits - 0.5).sum() > 50  # measured 473
    # the planted costly customers lose their visits
    assert visits[c["costly"].to_numpy()].mean() < 1  # measured 0.05, legacy 14.5


def test_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    a = write_demo(generate(n_customers=200, seed=3), tmp_path / "a")
    b = write_demo(generate(n_customers=200, seed=3), tmp_path / "b")
    assert set(a) == set(b)
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes(), name
