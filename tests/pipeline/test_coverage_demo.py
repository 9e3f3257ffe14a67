"""The coverage stage in a whole run on a small demo: its columns, tables and manifest block
are written and agree with each other, the exact check confirms the plan, and the plan and
report views carry it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tierwise.demo import generate
from tierwise.io.demo_files import write_demo
from tierwise.pipeline import run_pipeline
from tierwise.settings import INPUT_TABLES, Settings


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    data = generate(n_customers=600, seed=7)
    paths = write_demo(data, tmp_path_factory.mktemp("demo") / "data")
    inputs = {k: str(v) for k, v in paths.items() if k in INPUT_TABLES}
    out = tmp_path_factory.mktemp("run") / "out"
    settings = Settings().with_updates(coverage={"exact": True})
    result = run_pipeline(inputs, settings, out_dir=out, as_of=data.end_date)
    return result, out, paths


def test_coverage_files_and_columns_are_written(run) -> None:  # type: ignore[no-untyped-def]
    _result, out, _paths = run
    for stem in ("rep_plan", "segment_coverage", "coverage_vs_legacy", "sizing"):
        assert (out / f"{stem}.csv").is_file(), stem
        assert (out / f"{stem}.parquet").is_file(), stem
    c = pq.read_table(out / "customers.parquet").to_pandas()
    for col in (
        "channel",
        "visits_per_year",
        "calls_per_year",
        "emails_per_year",
        "assigned_rep",
        "expected_revenue_plan",
        "expected_contribution_plan",
        "coverage_reason",
    ):
        assert col in c.columns, col
    assert c.channel.notna().all() and c.coverage_reason.notna().all()
    assert set(c.channel) <= {"field", "inside", "email", "distributor"}
    assert "field" in set(c.channel)


def test_plan_respects_bands_and_capacity_and_tables_add_up(run) -> None:  # type: ignore[no-untyped-def]
    _result, out, paths = run
    progs = Settings().segments.programmes
    c = pq.read_table(out / "customers.parquet").to_pandas()
    vmin = c.tier.map(lambda t: progs[t].visits_min)
    vmax = c.tier.map(lambda t: progs[t].visits_max)
    # dormant accounts (the statuses of [coverage] band_released_status: inactive and
    # lapsed) and prospects are released from their band's minimum
    dormant = c.status.isin(Settings().coverage.band_released_status)
    dormant &= ~c.is_prospect.astype(bool)
    released = dormant | c.is_prospect.astype(bool)
    vmin = vmin.where(~released, 0.0)
    assert ((c.visits_per_year >= vmin) & (c.visits_per_year <= vmax)).all()
    assert int(dormant.sum()) > 0
    reps = pq.read_table(out / "rep_plan.parquet").to_pandas().set_index("rep_id")
    given = pq.read_table(paths["reps"]).to_pandas().set_index("rep_id")
    assert set(reps.index) == set(given.index)
    assert (reps.hours_used <= reps.capacity_hours + 1e-6).all()
    assert (reps.capacity_hours == given.hours_per_year.loc[reps.index]).all()
    by_rep = c.groupby("assigned_rep").coverage_hours.sum()
    assert np.allclose(reps.hours_used.loc[by_rep.index], by_rep)
    assert reps.expected_contribution.sum() == pytest.approx(
        c.loc[c.assigned_rep.notna(), "expected_contribution_plan"].sum()
    )
    seg = pq.read_table(out / "segment_coverage.parquet").to_pandas()
    assert seg.customers.sum() == len(c)
    assert seg.visits.sum() == pytest.approx(c.visits_per_year.sum())
    vs = pq.read_table(out / "coverage_vs_legacy.parquet").to_pandas().set_index("value_class")
    assert vs.loc["all", "customers"] == len(c)
    assert vs.loc["all", "expected_contribution_plan"] == pytest.approx(
        c.expected_contribution_plan.sum()
    )
    sizing = pq.read_table(out / "sizing.parquet").to_pandas().set_index("scenario")
    assert list(sizing.field_reps) == sorted(sizing.field_reps)
    assert sizing.loc["today", "field_reps"] == int((given.role == "field").sum())


def test_manifest_reports_gap_exact_check_legacy_and_response(run) -> None:  # type: ignore[no-untyped-def]
    _result, out, _paths = run
    m = json.loads((out / "manifest.json").read_text())
    cov = m["coverage"]
    assert cov["upper_bound"] >= cov["objective"] - 1e-6
    assert 0 <= cov["optimality_gap"] <= 0.005
    ex = cov["exact"]
    # HiGHS's optimum lies under the plan's certified bound; the plan within 0.5% of it
    assert ex["objective"] <= cov["upper_bound"] + 1e-6 * abs(cov["upper_bound"])
    assert ex["gap_of_plan"] <= 0.005
    assert np.isfinite(cov["legacy_objective"])
    for klass, p in cov["response"].items():
        assert {"s0", "s1", "c", "d", "source"} <= set(p), klass
    assert "coverage" in m["stages"] and "coverage" in m["timings"]
    # the terms stage reads the plan: no "no coverage plan" warning
    assert not [w for w in m["warnings"] if "no coverage plan" in w]


def test_plan_and_report_carry_the_plan(run) -> None:  # type: ignore[no-untyped-def]
    import openpyxl

    _result, out, _paths = run
    wb = openpyxl.load_workbook(Path(out) / "plan.xlsx", read_only=True)
    reps = pq.read_table(out / "rep_plan.parquet").column("rep_id").to_pylist()
    c = pq.read_table(out / "customers.parquet").to_pandas()
    planned = set(c.assigned_rep.dropna())
    assert planned <= set(reps)
    assert any(r in wb.sheetnames for r in planned)
    html = (Path(out) / "report.html").read_text(encoding="utf-8")
    assert "the coverage stage did not run" not in html
    for title in (
        "Plan against today",
        "Call frequency for every segment",
        "Rep plans",
        "Sizing scenarios",
    ):
        assert title in html, title


def test_a_rep_rejected_by_validation_is_a_warning_naming_it(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.compute as pc

    from tierwise.engine import Engine
    from tierwise.pipeline import load_and_validate

    _result, _out, paths = run
    reps = pq.read_table(paths["reps"])
    hours = reps.column("hours_per_year").to_pylist()
    hours[2] = None  # the third rep has no hours
    bad = reps.set_column(
        reps.column_names.index("hours_per_year"),
        "hours_per_year",
        pa.array(hours, reps.schema.field("hours_per_year").type),
    )
    path = tmp_path / "reps.parquet"
    pq.write_table(bad, path)
    inputs = {k: str(v) for k, v in paths.items() if k in INPUT_TABLES}
    inputs["reps"] = str(path)
    eng = Engine()
    try:
        ctx = load_and_validate(inputs, Settings(), eng)
    finally:
        eng.close()
    said = [w for w in ctx.warnings if w.startswith("reps:")]
    assert len(said) == 1, ctx.warnings
    assert "row 3" in said[0] and "hours_per_year" in said[0] and "without that rep" in said[0]
    assert int(pc.sum(pc.equal(ctx.rejects.column("table"), "reps")).as_py()) == 1


def test_reps_with_regions_beside_customers_without_one_plan_and_say_so(
    tmp_path: Path,
) -> None:
    """A customer master without a region column (a CRM export without one) beside a reps
    file whose reps have regions: the run makes its plan with every rep free to serve any
    customer and says so once, in the manifest's warnings."""
    paths = write_demo(generate(n_customers=120, seed=7), tmp_path / "data")
    customers = pq.read_table(paths["customers"]).drop_columns(["region"])
    pq.write_table(customers, tmp_path / "customers.parquet")
    inputs = {k: str(paths[k]) for k in ("transactions", "activities", "reps")}
    inputs["customers"] = str(tmp_path / "customers.parquet")
    out = tmp_path / "out"
    run_pipeline(inputs, Settings(), out_dir=out, keep_details=False)
    manifest = json.loads((out / "manifest.json").read_text())
    said = [w for w in manifest["warnings"] if "reps' regions" in w]
    assert len(said) == 1, said
    assert said[0].startswith("coverage: no customer has a region")
    assert "[customers.columns]" in said[0] and "leave region out of the reps file" in said[0]
    plan = pq.read_table(out / "rep_plan.parquet").to_pandas()
    reps = pq.read_table(paths["reps"]).to_pandas()
    assert plan.region.tolist() == reps.region.tolist()
    c = pq.read_table(out / "customers.parquet").to_pandas()
    assert (c.channel == "field").any() and c.assigned_rep.notna().any()
