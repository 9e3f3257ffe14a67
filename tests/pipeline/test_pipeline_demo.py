"""The whole pipeline on a small demo dataset: every stage runs, figures land in the
output folder and manifest, runs are repeatable, and review decisions are honoured."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from threadpoolctl import threadpool_info

from tierwise.demo import generate
from tierwise.errors import Problems
from tierwise.io.demo_files import write_demo
from tierwise.io.outputs import MARKER
from tierwise.pipeline import run_pipeline
from tierwise.settings import INPUT_TABLES, Settings


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], object]:
    data = generate(n_customers=600, seed=7)
    paths = write_demo(data, tmp_path_factory.mktemp("demo") / "data")
    return {k: str(v) for k, v in paths.items() if k in INPUT_TABLES}, data


@pytest.fixture(scope="module")
def first_run(demo_inputs, tmp_path_factory):
    inputs, data = demo_inputs
    out = tmp_path_factory.mktemp("run1") / "out"
    result = run_pipeline(inputs, Settings(), out_dir=out, as_of=data.end_date)
    return result, out


def test_every_stage_runs_and_reports(first_run):
    _result, out = first_run
    m = json.loads((out / "manifest.json").read_text())
    # the demo sets no cost rates of its own and has no previous run: the run says it used
    # the built-in rates and default class-goal rates, with the settings that change them;
    # nothing else was assumed or left out
    warnings = [w for w in m["warnings"] if not w.startswith("terms:")]
    # a class whose response the history could not estimate is on the built-in default,
    # said with its setting
    response = [w for w in warnings if "[coverage] response" in w]
    assert all("is the built-in default" in w for w in response), response
    warnings = [w for w in warnings if w not in response]
    # the demo's cancellations are its orders' ids with the prefix C: said, with the
    # setting; the dormant gold accounts held to a win-back contact: said, with the setting
    (cancels,) = [w for w in warnings if "[validate] cancel_prefix" in w]
    assert "are taken as cancellations, each paired with the earlier purchase" in cancels
    (winback,) = [w for w in warnings if "[coverage] winback_tiers" in w]
    # customers a tier's visit minimum holds to visits that cost more than they add: said,
    # with the settings that release them
    held = [w for w in warnings if "expects to lose money on them" in w]
    assert all("visits_min" in w and "band_released_status" in w for w in held), held
    warnings = [w for w in warnings if w not in (cancels, winback, *held)]
    assert len(warnings) == 2, m["warnings"]
    assert "built-in rates" in warnings[0] and "[profitability]" in warnings[0]
    assert "[segments] goal_up_rate" in warnings[1]
    for stage in (
        "load",
        "validate",
        "accounts",
        "features",
        "profitability",
        "lifetime",
        "potential",
    ):
        assert stage in m["timings"], stage
    for model in ("bgnbd", "pareto_nbd", "gamma_gamma"):
        entry = m["models"][model]
        assert entry["n_customers"] > 0
        assert entry["time_unit"] in ("days", "weeks")
        assert entry["log_likelihood"] < 0
    assert set(m["models"]["bgnbd"]["params"]) == {"r", "alpha", "a", "b"}
    assert "top" in m["profitability"]["headline"]["sentence"]
    for name, acc in m["inputs"].items():
        assert acc["rows_read"] == acc["rows_used"] + acc["rows_rejected"], name
        assert len(acc["sha256"]) == 64
    for f in (
        "customers.parquet",
        "customers.csv",
        "rejects.csv",
        "whale_curve.csv",
        "profit_breakdown.csv",
        "high_value_at_risk.csv",
        "review_queue.csv",
        "merge_report.csv",
        "prospects.csv",
        "market_penetration.csv",
    ):
        assert (out / f).is_file(), f


def test_customers_are_accounts_with_every_stage_figure(first_run, demo_inputs):
    _result, out = first_run
    _, data = demo_inputs
    everyone = pq.read_table(out / "customers.parquet")
    ids = everyone.column("customer_id").to_pylist()
    assert len(ids) == len(set(ids))
    # the prospects file's companies are rows too, marked as prospects
    prospects = everyone.filter(everyone.column("is_prospect"))
    assert prospects.num_rows == data.prospects.num_rows
    assert pc.min(prospects.column("wallet")).as_py() > 0
    customers = everyone.filter(pc.invert(everyone.column("is_prospect")))
    # duplicate records were merged: fewer rows than records, and members listed
    assert customers.num_rows < data.customers.num_rows
    merged = customers.filter(pc.greater(customers.column("n_members"), 1))
    assert merged.num_rows > 0
    for col in (
        "revenue",
        "net_profit",
        "cost_to_serve",
        "p_alive",
        "clv",
        "status",
        "status_reason",
        "wallet",
        "share_of_wallet",
        "ease_score",
    ):
        assert col in customers.column_names, col
    # nothing lost in the roll-up: account revenue adds up to the transactions' revenue
    total = pc.sum(data.transactions.column("revenue")).as_py()
    assert pc.sum(customers.column("revenue")).as_py() == pytest.approx(total, rel=1e-9)


def test_same_inputs_give_identical_tables(first_run, demo_inputs, tmp_path, monkeypatch):
    # The second run uses one thread where the first used all cores: float sums and row
    # orders that followed the engine's thread scheduling would differ here every time, not
    # only on the occasional unlucky run. It also frees each stage's detail once no later
    # stage reads it (as the command line does): the outputs must not change.
    _, out1 = first_run
    inputs, data = demo_inputs
    out2 = tmp_path / "again"
    one_thread = Settings().with_updates(run={"threads": 1})
    # [run] threads = 1 is one core for tierwise's own work too: no thread is started (the
    # model fits, the checksums and the output files run in this one), and Arrow's and the
    # BLAS libraries' pools are held to one thread during the run and given back after it
    started: list[str] = []
    arrow: list[int] = []
    blas: list[int] = []
    start = threading.Thread.start

    def spy(thread: threading.Thread) -> None:
        started.append(thread.name)
        start(thread)

    def progress(step: str) -> None:
        arrow.append(pa.cpu_count())
        blas.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")

    arrow_before = pa.cpu_count()
    monkeypatch.setattr(threading.Thread, "start", spy)
    lean = run_pipeline(
        inputs,
        one_thread,
        out_dir=out2,
        as_of=data.end_date,
        keep_details=False,
        progress=progress,
    )
    monkeypatch.undo()
    assert started == []
    assert arrow and set(arrow) == {1}
    assert blas and set(blas) == {1}
    assert pa.cpu_count() == arrow_before
    assert all(r.detail is None for r in lean.results.values())
    names = sorted(p.name for p in out1.iterdir())
    assert names == sorted(p.name for p in out2.iterdir())
    for f in names:
        if f == MARKER:
            # the folder's record of what it wrote: the same but for when each file was
            # written and the manifest's checksum (the manifest holds the timings)
            marks = [json.loads((o / f).read_text()) for o in (out1, out2)]
            for m in marks:
                m["checksums"].pop("manifest.json")
                for stamp in m["checksums"].values():
                    stamp.pop("mtime_ns")
            assert marks[0] == marks[1]
        elif f != "manifest.json":
            assert (out1 / f).read_bytes() == (out2 / f).read_bytes(), f
    # the manifest differs only in the time each step took and the thread setting
    m1, m2 = (json.loads((o / "manifest.json").read_text()) for o in (out1, out2))
    for m in (m1, m2):
        m.pop("timings")
        m["settings"]["run"].pop("threads")
    assert m1 == m2


def test_targets_start_from_what_each_customer_buys(first_run):
    # A customer's revenue target is what it bought over the last 12 months plus the change
    # the plan's contacts make against today's (docs/terms.md), not the response model's
    # share of its wallet: the largest customers buy more than that share, and a plan that
    # keeps their visits must not set them a target below what they buy
    _, out = first_run
    c = pq.read_table(out / "customers.parquet").to_pandas()
    c = c[~c["is_prospect"].fillna(False).astype(bool)]
    assert c["expected_revenue_today"].notna().all()
    change = c["expected_revenue_plan"] - c["expected_revenue_today"]
    expect = (c["revenue_12m"].fillna(0.0) + change).clip(lower=0.0)
    # never above the customer's estimated wallet (its spend, where that is higher)
    cap = np.where(
        c["wallet"].notna(),
        np.maximum(c["wallet"].fillna(0.0), c["revenue_12m"].fillna(0.0)),
        np.inf,
    )
    expect = np.minimum(expect, cap)
    assert np.allclose(c["revenue_target"], expect, rtol=1e-9, atol=1e-6)
    # the model's level falls short of what the A customers buy (this is what anchoring on
    # their revenue corrects), and their team target is not below it where the plan keeps
    # their contacts: the segment's target is its revenue plus the plan's change
    a = c[c["value_class"] == "A"]
    assert a["expected_revenue_today"].sum() < a["revenue_12m"].sum()
    targets = pq.read_table(out / "targets.parquet").to_pandas()
    team_a = targets[(targets["level"] == "team") & (targets["segment"] == "A")].iloc[0]
    growth = pd.Series(expect, index=c.index) - c["revenue_12m"].fillna(0.0)
    assert team_a["revenue_target"] == pytest.approx(
        team_a["revenue_current"] + growth[a.index].sum(), rel=1e-9
    )


def test_review_decisions_are_applied_on_the_next_run(first_run, demo_inputs, tmp_path):
    _, out1 = first_run
    inputs, data = demo_inputs
    members = pacsv.read_csv(out1 / "account_members.csv").to_pylist()
    account = {r["customer_id"]: r["account_id"] for r in members}
    # reject one merge the model made, confirm one it did not make
    merged_pair = next(
        (r["customer_id"], r["account_id"]) for r in members if r["customer_id"] != r["account_id"]
    )
    singles = [c for c, a in account.items() if c == a and list(account.values()).count(a) == 1]
    confirm_pair = (singles[0], singles[1])
    decisions = tmp_path / "decisions.csv"
    decisions.write_text(
        "left_id,right_id,decision\n"
        f"{merged_pair[0]},{merged_pair[1]},reject\n"
        f"{confirm_pair[0]},{confirm_pair[1]},confirm\n"
    )
    settings = Settings().with_updates(accounts={"decisions_file": str(decisions)})
    out2 = tmp_path / "out"
    run_pipeline(inputs, settings, out_dir=out2, as_of=data.end_date)
    after = {
        r["customer_id"]: r["account_id"]
        for r in pacsv.read_csv(out2 / "account_members.csv").to_pylist()
    }
    assert after[merged_pair[0]] != after[merged_pair[1]]
    assert after[confirm_pair[0]] == after[confirm_pair[1]]

    # a third run given the second run's record of decisions plus a newly filled-in file
    # keeps the old decisions and adds the new one
    applied = pacsv.read_csv(out2 / "review_decisions.csv").to_pylist()
    assert len(applied) == 2
    third_pair = (singles[2], singles[3])
    newer = tmp_path / "newer.csv"
    newer.write_text(f"left_id,right_id,decision\n{third_pair[0]},{third_pair[1]},yes\n")
    files = [str(out2 / "review_decisions.csv"), str(newer)]
    out3 = tmp_path / "out3"
    run_pipeline(
        inputs,
        Settings().with_updates(accounts={"decisions_file": files}),
        out_dir=out3,
        as_of=data.end_date,
    )
    last = {
        r["customer_id"]: r["account_id"]
        for r in pacsv.read_csv(out3 / "account_members.csv").to_pylist()
    }
    assert last[merged_pair[0]] != last[merged_pair[1]]
    assert last[confirm_pair[0]] == last[confirm_pair[1]]
    assert last[third_pair[0]] == last[third_pair[1]]
    assert pacsv.read_csv(out3 / "review_decisions.csv").num_rows == 3


def test_a_failed_run_leaves_the_last_good_output(first_run, demo_inputs, tmp_path):
    inputs, data = demo_inputs
    # the last good output: a copy of the first run's folder, file times and all
    out = tmp_path / "out"
    shutil.copytree(first_run[1], out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = dict(inputs)
    bad["transactions"] = str(Path(inputs["customers"]))  # no date or revenue columns
    # refused for the input, not for the folder: the run got as far as reading
    with pytest.raises(Problems, match="required column 'date' is missing"):
        run_pipeline(bad, Settings(), out_dir=out, as_of=data.end_date)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_rewritten_input_is_held_once(demo_inputs):
    from tierwise import registry
    from tierwise.engine import Engine
    from tierwise.registry import Stage, StageResult

    inputs, data = demo_inputs
    eng = Engine()
    n = pq.read_metadata(inputs["transactions"]).num_rows
    copies: list[list[tuple[str]]] = []

    def count(ctx):
        copies.append(
            ctx.engine.con.con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE estimated_size = ?", [n]
            ).fetchall()
        )
        return StageResult()

    # a stage reading the transactions after the features stage
    registry.register(Stage(name="toy_copies", help="x", run=count, needs=("features",)))
    try:
        # accounts rewrites the transactions (ids to accounts), cancellations rewrites them
        # again
        result = run_pipeline(
            inputs, Settings(), as_of=data.end_date, engine=eng, stages=["toy_copies"]
        )
        left = eng.con.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE estimated_size = ?", [n]
        ).fetchall()
    finally:
        registry.unregister("toy_copies")
        eng.close()
    assert {"accounts", "cancellations"} <= set(result.results)
    assert result.manifest["inputs"]["transactions"]["rows_used"] == n
    # one table with every transaction line: the earlier versions were freed
    assert len(copies) == 1 and len(copies[0]) == 1, copies
    # and none once no stage reads them
    assert left == []


@pytest.fixture(scope="module")
def own_columns_run(demo_inputs, tmp_path_factory):
    """A run whose customer file (CSV) has two columns of the user's own, one named as a
    feature of the wallet model and one as each customer's rebate rate, and whose report,
    plan and CRM export are made to take at least a second."""
    import time

    import tierwise.pipeline as pipeline

    inputs, data = demo_inputs
    customers = pq.read_table(inputs["customers"])
    n = customers.num_rows
    sites = pa.array([f"{1 + i % 9}" for i in range(n)])  # text in the file
    path = tmp_path_factory.mktemp("own") / "customers.csv"
    pacsv.write_csv(
        customers.append_column("Sites", sites).append_column("Rebate", pa.array([0.05] * n)),
        path,
    )
    settings = Settings().with_updates(
        customers={"extra_columns": ["Sites"]},
        potential={"extra_feature_columns": ["Sites"]},
        profitability={"rebate_column": "Rebate"},
    )
    write_views = pipeline._write_views

    def slow_views(*args, **kwargs):
        write_views(*args, **kwargs)
        time.sleep(1.0)

    out = path.parent / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "_write_views", slow_views)
        result = run_pipeline(
            {**inputs, "customers": str(path)}, settings, out_dir=out, as_of=data.end_date
        )
    return result, out


def test_the_outputs_time_in_the_manifest_includes_the_report_and_plan(own_columns_run):
    result, out = own_columns_run
    m = json.loads((out / "manifest.json").read_text())
    assert (out / "report.html").exists()
    assert m["timings"]["outputs"] >= 1.0
    assert result.manifest["timings"]["outputs"] == m["timings"]["outputs"]


def test_a_column_of_your_own_reaches_the_output_and_the_wallet_model(own_columns_run):
    _, out = own_columns_run
    result = pq.read_table(out / "customers.parquet")
    assert result.schema.field("Sites").type == pa.float64()  # every value read as a number
    m = json.loads((out / "manifest.json").read_text())
    assert "Sites" in m["potential"]["features_used"]


def test_a_rebate_column_in_the_customer_file_sets_each_customers_rebate(own_columns_run):
    _, out = own_columns_run
    headline = json.loads((out / "manifest.json").read_text())["profitability"]["headline"]
    assert headline["total_rebates"] == pytest.approx(0.05 * headline["total_revenue"], rel=1e-9)


def test_a_parent_account_sums_its_subsidiaries(first_run):
    _result, out = first_run
    t = pq.read_table(out / "customers.parquet").to_pylist()
    by_group: dict[str, list[dict]] = {}
    for r in t:
        if r["group_account_id"] is not None:
            by_group.setdefault(r["group_account_id"], []).append(r)
    tops = [r for r in t if r["customer_id"] == r["group_account_id"] and r["group_n_accounts"] > 1]
    assert tops, "the demo plants subsidiaries with a parent_id"
    for top in tops:
        members = by_group[top["customer_id"]]
        assert top["group_n_accounts"] == len(members)
        total = sum(m["revenue"] or 0.0 for m in members)
        assert top["group_revenue"] == pytest.approx(total, rel=1e-9)
        assert top["group_revenue"] >= (top["revenue"] or 0.0)


def test_every_column_is_documented_typed_and_a_figure_of_its_own(first_run):
    from tierwise import registry

    _, out = first_run
    customers = pq.read_table(out / "customers.parquet")
    docs = {c.name: c for _, c in registry.columns()}
    for f in customers.schema:
        assert f.name in docs, f"{f.name} is not in docs/columns.md"
        assert f.type == docs[f.name].arrow_type, f.name
        col = customers.column(f.name)
        if pa.types.is_floating(f.type):
            assert pc.all(pc.is_finite(pc.drop_null(col))).as_py() is not False, f.name
    # no two columns carry the same figure for every customer (constant columns, such as a
    # cost pool at rate 0, match by coincidence and are left out of the comparison)
    numeric = {
        f.name: customers.column(f.name).to_pylist()
        for f in customers.schema
        if (pa.types.is_floating(f.type) or pa.types.is_integer(f.type))
        and len(pc.unique(pc.drop_null(customers.column(f.name)))) > 1
    }
    names = sorted(numeric)
    same = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :] if numeric[a] == numeric[b]]
    assert same == []
    # counts are written as whole numbers in the CSV
    text = (out / "customers.csv").read_text(encoding="utf-8").splitlines()
    header = [h.strip('"') for h in text[0].split(",")]
    n_orders = header.index("n_orders")
    assert all("." not in line.split(",")[n_orders] for line in text[1:50])


#: what a missing figure must never be written as in a file for people or for a BI import
#: (Python's, NumPy's, pandas' and Arrow's spellings; "none" in lower case is a setting's
#: value in terms.csv, "no prompt-payment rebate")
_MISSING_SPELT = {"nan", "NaN", "-nan", "inf", "-inf", "Infinity", "-Infinity", "None", "<NA>"}


def _misspelt_missing(out: Path) -> list[str]:
    """Every CSV cell of ``out`` that spells a missing value, and every Parquet float column
    holding a NaN or an infinity instead of null."""
    import csv

    bad = []
    for p in sorted(out.glob("*.csv")):
        with p.open(newline="", encoding="utf-8-sig") as f:
            for i, row in enumerate(csv.reader(f)):
                bad += [f"{p.name} row {i}: {c!r}" for c in row if c.strip() in _MISSING_SPELT]
    for p in sorted(out.glob("*.parquet")):
        t = pq.read_table(p)
        for name, col in zip(t.column_names, t.columns, strict=True):
            if pa.types.is_floating(col.type) and pc.all(
                pc.is_finite(pc.drop_null(col))
            ).as_py() not in (True, None):
                bad.append(f"{p.name} column {name}: NaN or infinity")
    return bad


def test_no_output_file_writes_a_missing_value_as_nan_none_or_inf(first_run):
    _, out = first_run
    assert _misspelt_missing(out) == []


def test_a_run_against_last_months_run_writes_its_review_without_nan(demo_inputs, tmp_path):
    import datetime as dt

    inputs, data = demo_inputs
    last = tmp_path / "last_month"
    run_pipeline(inputs, Settings(), out_dir=last, as_of=data.end_date - dt.timedelta(days=31))
    out = tmp_path / "now"
    res = run_pipeline(inputs, Settings(), out_dir=out, as_of=data.end_date, previous=last)
    movers = pq.read_table(out / "class_movers.parquet")
    # movers whose net profit was missing last month: null then (an empty cell), as now
    assert movers.num_rows and movers.column("net_profit_then").null_count > 0
    assert _misspelt_missing(out) == []
    # the review's columns are in the customer table, and not listed as without data
    without = res.manifest["customers_columns_without_data"]
    customers = pq.read_table(out / "customers.parquet")
    for col in ("previous_class", "class_change"):
        assert col in customers.column_names and col not in without, col
    assert res.manifest["segments"]["review"]["id_match"]["matched_on"] == "id"


def test_every_column_of_a_stage_that_ran_is_in_the_table_or_listed_without_data(first_run):
    from tierwise import registry

    _result, out = first_run
    m = json.loads((out / "manifest.json").read_text())
    without = m["customers_columns_without_data"]
    have = pq.read_table(out / "customers.parquet").column_names
    # no previous run: the review's columns are not made, and the manifest says so
    assert {"previous_class", "class_change"} <= set(without)
    for owner, col in registry.columns():
        if owner in m["stages"]:
            assert (col.name in have) != (col.name in without), col.name
    assert len(without) == len(set(without))
