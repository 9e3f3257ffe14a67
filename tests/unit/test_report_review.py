"""The review against the previous run where a sales manager reads it: report.html's
section "Since the previous run", from migration, class_movers and the manifest."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tierwise.app import create_app
from tierwise.report import render_report, write_plan_xlsx
from tierwise.report.html import plan_figures, plan_lines


def _section(html: str, key: str) -> str:
    start = html.index(f'<section id="{key}">')
    return html[start : html.index("</section>", start)]


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


#: the classes as a run's manifest gives them: by name, best first, none in alphabetical order
CLASSES = {"Key": {}, "Grow": {}, "Core": {}}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Last run: K1, K2 Key, G1 Grow, C1 Core, X1 Core (gone since); now K1 Key, K2 Grow
    (down), G1 Key (up), C1 Core, N1 Core (new)."""
    out = tmp_path / "out"
    out.mkdir()
    pq.write_table(
        pa.table(
            {
                "customer_id": ["K1", "K2", "G1", "C1", "N1"],
                "name": ["Keel", "Kite", "Gale", "Cove", "Newt"],
                "value_class": ["Key", "Grow", "Key", "Core", "Core"],
                "revenue_12m": [900.0, 300.0, 700.0, 100.0, 50.0],
                "net_profit": [90.0, 30.0, 70.0, 10.0, 5.0],
                "assigned_rep": ["R1"] * 5,
                "previous_class": ["Key", "Key", "Grow", "Core", None],
                "class_change": ["same", "down", "up", "same", "new"],
            }
        ),
        out / "customers.parquet",
    )
    cells = [
        ("Key", "Key", 1, 800.0, 900.0), ("Key", "Grow", 1, 600.0, 300.0),
        ("Grow", "Key", 1, 400.0, 700.0), ("Core", "Core", 1, 120.0, 100.0),
        ("Core", "(gone)", 1, 80.0, 0.0), ("(new)", "Core", 1, 0.0, 50.0),
    ]  # fmt: skip
    names = ["from_class", "to_class", "customers", "revenue_then", "revenue_now"]
    pq.write_table(
        pa.table({n: [c[k] for c in cells] for k, n in enumerate(names)}),
        out / "migration.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "customer_id": ["K2", "G1"],
                "previous_class": ["Key", "Grow"],
                "value_class": ["Grow", "Key"],
                "class_change": ["down", "up"],
                "main_reason": ["value", "potential"],
                "net_profit_then": [60.0, 40.0],
                "net_profit_now": [30.0, 70.0],
            }
        ),
        out / "class_movers.parquet",
    )
    review = {
        "previous_customers": 5, "current_customers": 5, "up": 1, "down": 1, "same": 2,
        "new": 1, "gone": 1, "not_comparable": 0, "previous_as_of": "2025-11-29",
        "as_of": "2025-12-31",
    }  # fmt: skip
    manifest = {"as_of": "2025-12-31", "segments": {"classes": CLASSES, "review": review}}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return out


def test_the_report_says_how_many_kept_their_class_near_a_cut_point(folder: Path) -> None:
    sec = _text(_section(render_report(folder), "review"))
    assert "near a cut point" not in sec
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    m["segments"]["held_previous_class"] = 1
    (folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    sec = _text(_section(render_report(folder), "review"))
    assert "Kept their class 2 Held in their class near a cut point 1 New since then 1" in sec


def test_the_report_says_how_the_classes_moved_since_the_previous_run(folder: Path) -> None:
    sec = _text(_section(render_report(folder), "review"))
    assert "Since the previous run" in sec and "as of 2025-11-29; this run as of 2025-12-31" in sec
    assert "Moved up a class 1 Moved down a class 1 Kept their class 2" in sec
    assert "New since then 1 Gone since then 1" in sec
    # the matrix: rows the previous classes best first, then (new); a total per row
    assert "previous class now Key now Grow now Core (gone) in the previous run" in sec
    assert "Key 1 1 0 0 2 Grow 1 0 0 0 1 Core 0 0 1 1 2 (new) 0 0 1 0 –" in sec
    assert "each column to this run's (Key 2, Grow 1, Core 2)" in sec
    # what each previous class's customers buy now, wherever they are
    assert "Key 2 1,400 1,200 Grow 1 400 700 Core 2 200 100" in sec
    assert "the customers new since then buy 50" in sec
    assert "potential 1 value 1" in sec
    # the movers with their names, the larger net profit first
    assert sec.index("G1 Gale Grow Key up potential 40 70") < sec.index(
        "K2 Kite Key Grow down value 60 30"
    )


def test_a_run_without_a_previous_one_has_no_review_section(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    del manifest["segments"]["review"]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    page = render_report(folder)
    assert '<section id="review">' not in page and 'href="#review"' not in page


def test_the_classes_keep_the_runs_order_where_the_manifest_names_them(folder: Path) -> None:
    # the manifest gives the classes by name: the best is Key, not the first in the alphabet
    sec = _text(_section(render_report(folder), "overview"))
    assert "Class Key accounts 2" in sec and "Class Core" not in sec


def test_the_call_lists_say_which_way_each_account_moved(folder: Path) -> None:
    book = openpyxl.load_workbook(write_plan_xlsx(folder), read_only=True)
    rows = list(book["R1"].iter_rows(values_only=True))
    head = list(rows[0])
    col, acc = head.index("Class since last run"), head.index("Account")
    # right after the class and tier, before the channel
    assert head[col - 1] == "Class"
    moves = {r[acc]: r[col] for r in rows[1:]}
    assert moves == {
        "K1": "same", "K2": "down from Key", "G1": "up from Grow", "C1": "same", "N1": "new",
    }  # fmt: skip


def test_the_dashboard_counts_and_filters_the_accounts_by_how_their_class_moved(
    folder: Path,
) -> None:
    client = TestClient(create_app(folder), base_url="http://127.0.0.1")
    overview = _text(client.get("/").text)
    assert "class against the previous run" in overview
    page = client.get("/segments", params={"class_change": "down"}).text
    assert "1 customer matches" in _text(page) and "K2" in page and "G1" not in page


def test_a_previous_plan_with_no_account_in_common_reads_as_such_not_0_of_0() -> None:
    manifest = {"coverage": {"plan_changes": {
        "customers_in_both": 0, "changed": 0, "rep_changed": 0, "channel_changed": 0,
        "frequency_changed": 0, "new": 40,
    }}}  # fmt: skip
    (line,) = plan_lines(manifest)
    assert line.startswith("No account or prospect of this plan is in the previous plan: all 40")
    assert plan_figures(manifest) == [("In the previous plan", "none of them")]


def test_accounts_merged_since_the_previous_run_are_counted_apart(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert "Merged into another account" not in _text(_section(render_report(folder), "review"))
    manifest["segments"]["review"]["merged"] = 2
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert "Merged into another account 2" in _text(_section(render_report(folder), "review"))
