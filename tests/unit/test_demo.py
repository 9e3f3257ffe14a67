"""The demo generator: contract, determinism and the planted truths.

Sizes are small (a few hundred to 1,500 records) so the whole file runs in a few seconds;
tolerances are stated next to each check and leave room for sampling noise at that size.
"""

from __future__ import annotations

import datetime as dt
import difflib

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy.stats import spearmanr

from tierwise.demo import DemoData, generate
from tierwise.errors import SettingsError
from tierwise.schema import TABLES
from tierwise.settings import DemoSettings

N = 1500
_ARROW_TYPE = {
    "id": pa.string(),
    "text": pa.string(),
    "date": pa.date32(),
    "number": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
}
# cost rates of the order the profitability stage uses by default (currency units per event)
_RATES = {"visit": 120.0, "call": 15.0, "delivery": 25.0, "order_change": 20.0, "return": 30.0}
_ORDER_RATE, _LINE_RATE = 10.0, 1.0


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate(n_customers=N, seed=11)


@pytest.fixture(scope="module")
def frames(data: DemoData) -> dict[str, pd.DataFrame]:
    return {name: t.to_pandas() for name, t in data.tables().items()}


@pytest.fixture(scope="module")
def per_record(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Truth per customer record joined with what the records did (counts, margin, cost)."""
    tx, ac = frames["transactions"], frames["activities"]
    truth = frames["truth"].query("~is_prospect").set_index("customer_id")
    sales = tx[~tx["is_return"]]
    out = truth.copy()
    out["orders"] = sales.groupby("customer_id")["order_id"].nunique()
    out["lines"] = sales.groupby("customer_id").size()
    out["revenue"] = tx.groupby("customer_id")["revenue"].sum()
    out["gross_margin"] = (tx["revenue"] - tx["cost"]).groupby(tx["customer_id"]).sum()
    counts = ac.groupby(["customer_id", "type"]).size().unstack(fill_value=0)
    out = out.join(counts)
    filled = ["orders", "lines", "revenue", "gross_margin", *counts.columns]
    out[filled] = out[filled].fillna(0)
    cost = sum(out[t] * r for t, r in _RATES.items()) + out["orders"] * _ORDER_RATE
    out["profit"] = out["gross_margin"] - cost - out["lines"] * _LINE_RATE
    return out


def test_same_seed_gives_identical_tables() -> None:
    a = generate(n_customers=300, seed=5)
    b = generate(n_customers=300, seed=5)
    for name, table in a.tables().items():
        assert table.equals(b.tables()[name]), name


def test_different_seed_gives_different_data() -> None:
    a = generate(n_customers=300, seed=5)
    b = generate(n_customers=300, seed=6)
    assert not a.transactions.equals(b.transactions)
    assert not a.customers.column("name").equals(b.customers.column("name"))


@pytest.mark.parametrize(
    "name", ["transactions", "customers", "activities", "payments", "prospects", "reps", "market"]
)
def test_tables_follow_the_data_contract(data: DemoData, name: str) -> None:
    table = data.tables()[name]
    spec = TABLES[name]
    assert tuple(table.column_names) == spec.names
    for col in spec.columns:
        assert table.schema.field(col.name).type == _ARROW_TYPE[col.kind], col.name
        if col.required:
            assert table.column(col.name).null_count == 0, col.name


def test_sizes_follow_the_arguments(data: DemoData) -> None:
    assert data.customers.num_rows == N
    assert data.prospects.num_rows == round(0.2 * N)
    assert data.end_date == dt.date(2025, 12, 31)
    dates = data.transactions.column("date").to_pandas()
    assert dates.max() <= dt.date(2025, 12, 31)
    assert dates.min() >= dt.date(2023, 1, 1)
    # ~45 lines per record over three years at default settings; allow a wide band
    assert 25 * N < data.transactions.num_rows < 70 * N


def test_every_reference_points_to_an_existing_row(frames: dict[str, pd.DataFrame]) -> None:
    customers = set(frames["customers"]["customer_id"])
    assert frames["customers"]["customer_id"].is_unique
    for name in ("transactions", "activities", "payments"):
        assert set(frames[name]["customer_id"]) <= customers, name
    reps = set(frames["reps"]["rep_id"])
    assert set(frames["customers"]["rep_id"].dropna()) <= reps
    assert set(frames["activities"]["rep_id"].dropna()) <= reps
    assert set(frames["customers"]["parent_id"].dropna()) <= customers
    assert frames["customers"]["parent_id"].notna().sum() > 0
    assert set(frames["transactions"]["product_id"]) <= set(frames["products"]["product_id"])
    assert not set(frames["prospects"]["customer_id"]) & customers


def test_truth_has_one_row_per_customer_and_prospect(frames: dict[str, pd.DataFrame]) -> None:
    truth = frames["truth"]
    assert truth["customer_id"].is_unique
    expected = set(frames["customers"]["customer_id"]) | set(frames["prospects"]["customer_id"])
    assert set(truth["customer_id"]) == expected
    assert set(truth.loc[truth["is_prospect"], "customer_id"]) == set(
        frames["prospects"]["customer_id"]
    )
    assert (truth["true_wallet"] > 0).all()


def test_duplicate_records_share_a_company_with_varied_names(
    frames: dict[str, pd.DataFrame],
) -> None:
    truth = frames["truth"].query("~is_prospect")
    names = frames["customers"].set_index("customer_id")["name"]
    sizes = truth.groupby("company_id").size()
    n_companies = len(sizes)
    clusters = sizes[sizes > 1]
    # duplicate_share 0.05 of companies; binomial noise at ~1,400 companies is below 1 point
    assert 0.035 < len(clusters) / n_companies < 0.065
    assert set(clusters) <= {2, 3} and (clusters == 3).any()
    members = truth[truth["company_id"].isin(clusters.index)]
    differ, similar = 0, 0
    pairs = 0
    for _, ids in members.groupby("company_id")["customer_id"]:
        first = names[ids.iloc[0]]
        for other in ids.iloc[1:]:
            pairs += 1
            differ += names[other] != first
            similar += (
                difflib.SequenceMatcher(None, first.lower(), names[other].lower()).ratio() > 0.6
            )
    # most duplicate records are spelled differently, yet recognisably the same company
    assert differ / pairs > 0.7
    assert similar / pairs > 0.9


def test_duplicate_records_split_the_company_purchases(per_record: pd.DataFrame) -> None:
    dup = per_record[per_record.groupby("company_id")["orders"].transform("size") > 1]
    buying = dup.groupby("company_id")["orders"].apply(lambda s: (s > 0).sum())
    # in about half the clusters at least two records carry orders; the others moved after
    # the company stopped buying, or their second record is too new to have bought yet
    assert (buying >= 2).mean() > 0.4


def test_alive_share_is_meaningful(frames: dict[str, pd.DataFrame]) -> None:
    companies = frames["truth"].query("~is_prospect").groupby("company_id")["true_alive"].first()
    assert 0.3 < companies.mean() < 0.65


def test_dead_companies_stop_buying_at_their_death_date(frames: dict[str, pd.DataFrame]) -> None:
    truth = frames["truth"].query("~is_prospect").set_index("customer_id")
    sales = frames["transactions"].query("~is_return")
    last = sales.groupby("customer_id")["date"].max()
    dead = truth[~truth["true_alive"].astype(bool)]
    joined = dead.join(last.rename("last"), how="inner")
    assert (joined["last"] <= joined["true_death_date"]).all()
    assert truth.loc[truth["true_alive"].astype(bool), "true_death_date"].isna().all()


def test_costly_customers_look_fine_per_order_but_lose_money(per_record: pd.DataFrame) -> None:
    buyers = per_record[per_record["orders"] >= 3]
    costly, others = buyers[buyers["costly"]], buyers[~buyers["costly"]]
    assert 0.03 < per_record["costly"].mean() < 0.09
    per_order = buyers[["visit", "order_change"]].div(buyers["orders"], axis=0)
    for col in ("visit", "order_change"):
        # planted: several times the visits and changes per order of everyone else
        assert (
            per_order.loc[costly.index, col].median()
            > 3 * per_order.loc[others.index, col].median() + 0.05
        )
    margin_rate = buyers["gross_margin"] / buyers["revenue"]
    assert margin_rate[costly.index].median() >= margin_rate[others.index].median() - 0.02
    drop = buyers["revenue"] / buyers["orders"]
    assert drop[costly.index].median() < 0.5 * drop[others.index].median()
    # at cost rates of the default order, nearly all planted ones are unprofitable all-in
    assert (costly["profit"] < 0).mean() > 0.85
    assert (others["profit"] < 0).mean() < 0.5


def test_late_payers_pay_later(frames: dict[str, pd.DataFrame]) -> None:
    pay = frames["payments"].merge(frames["truth"], on="customer_id")
    paid = pay.dropna(subset=["paid_date"])
    days_late = (pd.to_datetime(paid["paid_date"]) - pd.to_datetime(paid["due_date"])).dt.days
    late = days_late[paid["late_payer"].to_numpy()]
    on_time = days_late[~paid["late_payer"].to_numpy()]
    assert late.median() >= 30
    assert on_time.median() <= 10
    assert 0.05 < frames["truth"].query("~is_prospect")["late_payer"].mean() < 0.2
    assert pay["paid_date"].isna().any()


def test_payments_are_one_per_sales_invoice(frames: dict[str, pd.DataFrame]) -> None:
    pay, tx = frames["payments"], frames["transactions"]
    assert pay["invoice_id"].is_unique
    sales = tx[tx["order_id"].str.startswith("SO")]
    cancelled = {o[1:] for o in tx["order_id"] if o.startswith("C")}
    expected = set(sales["order_id"]) - cancelled
    assert set(pay["invoice_id"]) == expected
    amounts = sales.groupby("order_id")["revenue"].sum()
    got = pay.set_index("invoice_id")["amount"]
    assert np.allclose(got, amounts.reindex(got.index), atol=0.01)


def test_lines_are_consistent(frames: dict[str, pd.DataFrame]) -> None:
    tx = frames["transactions"]
    sales, credit = tx[~tx["is_return"]], tx[tx["is_return"]]
    assert (sales["list_revenue"] >= sales["revenue"]).all()
    assert (sales["revenue"] > 0).all() and (sales["quantity"] >= 1).all()
    assert (credit["revenue"] < 0).all() and (credit["quantity"] < 0).all()
    assert (credit["list_revenue"] <= credit["revenue"]).all()
    assert credit["order_id"].str.match(r"^(RT|CSO)").all()
    # 1-8 lines per sales order, each order on one working day
    per_order = sales.groupby("order_id")
    assert per_order.size().between(1, 8).all()
    assert (per_order["date"].nunique() == 1).all()
    assert (pd.to_datetime(sales["date"]).dt.dayofweek < 5).all()
    # gross margin rates by category between 15% and 45% before discount
    gm = (
        1
        - sales.groupby("product_category")["cost"].sum()
        / sales.groupby("product_category")["list_revenue"].sum()
    )
    assert gm.between(0.1, 0.5).all() and gm.max() - gm.min() > 0.15


def test_cancellations_reverse_their_order(frames: dict[str, pd.DataFrame]) -> None:
    tx = frames["transactions"]
    cancel = tx[tx["order_id"].str.startswith("C")]
    assert len(cancel) > 0
    original = tx[tx["order_id"].isin(cancel["order_id"].str[1:])]
    assert np.isclose(cancel["revenue"].sum(), -original["revenue"].sum())


def test_wallet_is_driven_by_firmographics(frames: dict[str, pd.DataFrame]) -> None:
    truth = frames["truth"].set_index("customer_id")
    firm = pd.concat([frames["customers"], frames["prospects"]]).set_index("customer_id")
    firm = firm.join(truth["true_wallet"]).dropna(subset=["employees"])
    rho = spearmanr(firm["employees"], firm["true_wallet"])[0]
    # employees^0.8 with lognormal noise sigma 0.6: recoverable but not exact
    assert 0.65 < rho < 0.95
    by_industry = firm.groupby("industry")["true_wallet"].median()
    assert by_industry.max() > 1.5 * by_industry.min()


def test_market_is_at_least_the_known_wallets(frames: dict[str, pd.DataFrame]) -> None:
    truth = frames["truth"].set_index("customer_id")
    firm = pd.concat([frames["customers"], frames["prospects"]]).set_index("customer_id")
    wallets = firm.join(truth["true_wallet"]).groupby(["industry", "region"])["true_wallet"].sum()
    market = frames["market"].set_index(["industry", "region"])["market_size"]
    assert (market.reindex(wallets.index) >= wallets).all()
    assert frames["market"]["growth_rate"].between(-0.05, 0.1).all()


def test_legacy_visits_are_weakly_related_to_value(per_record: pd.DataFrame) -> None:
    rho = spearmanr(per_record["visit"], per_record["true_wallet"])[0]
    assert abs(rho) < 0.35
    # some small customers get many visits, some big ones hardly any
    small = per_record["true_wallet"] < per_record["true_wallet"].quantile(0.25)
    big = per_record["true_wallet"] > per_record["true_wallet"].quantile(0.9)
    assert (per_record.loc[small, "visit"] >= 12).sum() > 0
    assert (per_record.loc[big, "visit"] <= 1).sum() > 0


def test_reps_cover_every_region_with_capacity(frames: dict[str, pd.DataFrame]) -> None:
    reps = frames["reps"]
    assert set(reps["role"]) == {"field", "inside", "key_account"}
    field = reps[reps["role"] == "field"]
    assert set(field["region"]) == set(frames["customers"]["region"])
    assert (field["hours_per_year"] == 1600).all()


@pytest.mark.parametrize("seed", [42, 7, 11])
def test_smallest_demo_gives_every_field_rep_customers_of_its_region(seed: int) -> None:
    # the smallest size the CLI accepts (--customers 50) leaves some regions without a
    # company; a field rep there would have no customer, which a run refuses
    d = generate(n_customers=50, seed=seed)
    reps = d.reps.to_pandas()
    field_regions = set(reps.loc[reps["role"] == "field", "region"])
    assert field_regions == set(d.customers.column("region").drop_null().to_pylist())


def test_explicit_arguments_override_settings() -> None:
    s = DemoSettings(n_customers=500, seed=3, years=2)
    d = generate(n_customers=120, settings=s)
    assert d.customers.num_rows == 120
    assert d.seed == 3
    first = min(d.transactions.column("date").to_pylist())
    assert first >= dt.date(2024, 1, 1)


def test_rejects_a_nonsense_size() -> None:
    with pytest.raises(SettingsError, match="n_customers"):
        generate(n_customers=-5)
