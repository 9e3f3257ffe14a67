"""What people read of the coverage plan, on a demo run end to end: a rep who left (not in
the reps file) carries no customer anywhere (customers.csv, crm_export.csv, plan.xlsx, the
dashboard); the win-back contacts and the changes against the previous plan in report.html
and the dashboard's overview, plan_change in crm_export.csv and the call lists; plan.xlsx
marks overrides from the run's own table; a rep's hours that overrides overfill say so."""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tierwise.app import create_app
from tierwise.coverage.allocate import InfeasiblePlanError
from tierwise.demo import generate
from tierwise.io.demo_files import write_demo
from tierwise.pipeline import run_pipeline
from tierwise.settings import Settings

#: the rep who left: the customer master still names it, the reps file does not
GONE = "R0001"
LOCAL = "http://127.0.0.1"
INPUTS = ("transactions", "customers", "activities", "payments", "prospects")


def _text(fragment: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", fragment).split()))


def _section(page: str, key: str) -> str:
    start = page.index(f'<section id="{key}">')
    return page[start : page.index("</section>", start)]


def _data(folder: Path, n: int = 400) -> dict[str, Path]:
    paths = write_demo(generate(n_customers=n, seed=7), folder)
    return {k: Path(v) for k, v in paths.items()}


class _NoFolderReads:
    """Stands in for RunFolder in the plan: the run gives it every table it reads."""

    def __init__(self, path: Any) -> None:
        raise AssertionError(f"write_plan read the folder being written ({path})")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A demo run whose reps file lacks GONE, with an overrides file moving two customers,
    and the same run again a month's plan later (--previous the first)."""
    root = tmp_path_factory.mktemp("plan-views")
    paths = _data(root / "data")
    reps = pq.read_table(paths["reps"])
    reps = reps.filter(pc.not_equal(reps.column("rep_id"), GONE))
    pq.write_table(reps, root / "reps_left.parquet")
    ids = pq.read_table(paths["customers"]).column("customer_id").to_pylist()
    overrides = root / "overrides.csv"
    overrides.write_text(
        "customer_id,value_class,tier,reason,by\n"
        f"{ids[3]},A,gold,strategic account,consultant\n"
        f"{ids[4]},D,bronze,asked not to be visited,ana\n",
        encoding="utf-8",
    )
    inputs: dict[str, Any] = {k: paths[k] for k in INPUTS}
    inputs["reps"] = root / "reps_left.parquet"
    settings = Settings().with_updates(segments={"overrides_file": str(overrides)})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("tierwise.report.xlsx.RunFolder", _NoFolderReads)
        first = run_pipeline(inputs, settings, out_dir=root / "first").out_dir
        again = run_pipeline(inputs, settings, out_dir=root / "again", previous=first).out_dir
    assert first is not None and again is not None
    return first, again


def _manifest(out: Path) -> dict[str, Any]:
    m: dict[str, Any] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return m


def _crm(out: Path) -> list[dict[str, str]]:
    with (out / "crm_export.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _call_lists(out: Path) -> dict[str, list[dict[str, Any]]]:
    wb = openpyxl.load_workbook(out / "plan.xlsx", read_only=True)
    lists = {}
    for name in wb.sheetnames[4:]:
        rows = list(wb[name].iter_rows(values_only=True))
        lists[name] = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    return lists


# -- a rep not in the reps file ------------------------------------------------------------


def test_customers_of_a_rep_not_in_the_reps_file_are_carried_by_no_one(
    runs: tuple[Path, Path],
) -> None:
    out = runs[0]
    block = _manifest(out)["coverage"]["reps_not_in_reps_file"]
    c = pq.read_table(out / "customers.parquet").to_pylist()
    theirs = {r["customer_id"] for r in c if r["rep_id"] == GONE}
    assert block["by_rep"] == {GONE: len(theirs)} and len(theirs) >= 10
    assert not any(r["assigned_rep"] == GONE for r in c)
    left = {r["customer_id"] for r in c if r["assigned_rep"] == "(unassigned)"}
    assert left and left <= theirs and len(left) == block["unassigned"]

    # the CRM owner: none for those the plan gives no rep, never the rep who left
    owners = {r["account_id"]: r["owner"] for r in _crm(out)}
    assert GONE not in owners.values() and "(unassigned)" not in owners.values()
    assert all(owners[cid] == "" for cid in left)

    # plan.xlsx: no call list for the rep who left; its unplanned customers on "(unassigned)"
    lists = _call_lists(out)
    assert GONE not in lists
    assert left <= {r["Account"] for r in lists["(unassigned)"]}

    # the dashboard: no rep page for it, its customers on the "(unassigned)" page
    client = TestClient(create_app(out), base_url=LOCAL)
    assert f"/reps/{GONE}" not in client.get("/reps").text
    assert client.get(f"/reps/{GONE}").status_code == 404
    page = client.get("/reps/(unassigned)").text
    assert all(cid in page for cid in left)
    explorer = client.get("/segments").text
    picker = explorer[explorer.index('name="assigned_rep"') :]
    assert f">{GONE}<" not in picker[: picker.index("</select>")]


def test_a_prospect_of_a_rep_not_in_the_team_has_no_owner() -> None:
    from tierwise.report import crm_export

    customers = pa.table(
        {
            "customer_id": ["c", "p"],
            "is_prospect": [False, True],
            "rep_id": ["R1", GONE],
            "assigned_rep": [None, None],
            "channel": ["email", "email"],
        }
    )
    rep_plan = pa.table({"rep_id": ["R1", "R2"]})
    owner = crm_export(customers, rep_plan=rep_plan).column("owner").to_pylist()
    assert owner == ["R1", None]


# -- win-back contacts and changes against the previous plan ---------------------------------


def test_report_at_a_glance_counts_win_back_contacts_and_plan_changes(
    runs: tuple[Path, Path],
) -> None:
    out = runs[1]
    cov = _manifest(out)["coverage"]
    wb, ch = cov["winback"], cov["plan_changes"]
    assert wb["customers"] > 0
    glance = _text(_section((out / "report.html").read_text(encoding="utf-8"), "overview"))
    assert f"Win-back contacts (dormant gold accounts) {wb['customers']:,}" in glance
    assert f"{wb['customers']:,} dormant accounts of the gold tier are given a win-back" in glance
    changed = f"{ch['changed']:,} of {ch['customers_in_both']:,}"
    assert f"Changed against the previous plan {changed}" in glance
    assert f"rep {ch['rep_changed']:,}, channel {ch['channel_changed']:,}" in glance
    # the run without --previous has no plan changes to count
    first = _text(_section((runs[0] / "report.html").read_text(encoding="utf-8"), "overview"))
    assert "Win-back contacts" in first and "previous plan" not in first


def test_the_dashboard_overview_counts_win_back_contacts_and_plan_changes(
    runs: tuple[Path, Path],
) -> None:
    out = runs[1]
    cov = _manifest(out)["coverage"]
    page = _text(TestClient(create_app(out), base_url=LOCAL).get("/").text)
    assert f"win-back contacts (dormant gold accounts) {cov['winback']['customers']:,}" in page
    ch = cov["plan_changes"]
    assert f"changed against the previous plan {ch['changed']:,} of" in page
    assert "By change against the previous plan" in page


def test_plan_change_is_in_the_crm_export_and_the_call_lists(runs: tuple[Path, Path]) -> None:
    out = runs[1]
    c = pq.read_table(out / "customers.parquet").select(["customer_id", "plan_change"])
    want = dict(zip(*(c.column(k).to_pylist() for k in c.column_names), strict=True))
    assert set(want.values()) >= {"same"}
    rows = _crm(out)
    assert list(rows[0])[-1] == "plan_change"
    assert {r["account_id"]: r["plan_change"] for r in rows} == want
    listed = {r["Account"]: r["Plan change"] for rows in _call_lists(out).values() for r in rows}
    assert listed == want
    # without --previous the CRM column is there, empty, and the call lists leave it out
    assert {r["plan_change"] for r in _crm(runs[0])} == {""}
    assert all("Plan change" not in r for rows in _call_lists(runs[0]).values() for r in rows)


# -- plan.xlsx reads the overrides from the run ------------------------------------------------


def test_the_call_lists_mark_overrides_from_the_runs_own_table(runs: tuple[Path, Path]) -> None:
    # the runs wrote plan.xlsx with RunFolder replaced by one that fails: the overrides the
    # call lists mark came from the run's tables, not from the folder being written
    marked = {
        r["Account"]: r["Set by hand"]
        for rows in _call_lists(runs[0]).values()
        for r in rows
        if r.get("Set by hand")
    }
    assert len(marked) == 2
    assert any("strategic account" in v for v in marked.values())


# -- a rep's hours overfilled by overrides -------------------------------------------------------


def test_a_reps_hours_overfilled_by_overrides_say_how_many_were_moved(tmp_path: Path) -> None:
    paths = _data(tmp_path / "data", n=300)
    rep = "R0002"
    c = pq.read_table(paths["customers"])
    theirs = [r["customer_id"] for r in c.to_pylist() if r["rep_id"] == rep]
    assert len(theirs) >= 10
    overrides = tmp_path / "overrides.csv"
    pacsv.write_csv(
        pa.table(
            {
                "customer_id": theirs,
                "tier": ["gold"] * len(theirs),
                "reason": ["regional push"] * len(theirs),
                "by": ["ana"] * len(theirs),
            }
        ),
        overrides,
    )
    reps = pq.read_table(paths["reps"])
    hours = [
        30.0 if r == rep else h
        for r, h in zip(
            reps.column("rep_id").to_pylist(),
            reps.column("hours_per_year").to_pylist(),
            strict=True,
        )
    ]
    reps = reps.set_column(
        reps.column_names.index("hours_per_year"), "hours_per_year", pa.array(hours)
    )
    pq.write_table(reps, tmp_path / "reps.parquet")
    inputs: dict[str, Any] = {k: paths[k] for k in INPUTS}
    inputs["reps"] = tmp_path / "reps.parquet"
    settings = Settings().with_updates(
        segments={"overrides_file": str(overrides)}, coverage={"candidate_reps": 1}
    )
    with pytest.raises(InfeasiblePlanError) as caught:
        run_pipeline(inputs, settings, out_dir=tmp_path / "out")
    text = str(caught.value)
    assert text.startswith(f"rep {rep}:"), text
    m = re.search(r"; (\d+) of its customers were moved to gold by overrides", text)
    assert m is not None and "(overrides_applied.csv)" in text, text
    assert 1 <= int(m.group(1)) <= len(theirs)
