"""Overrides where people read the plan: a section of report.html, a mark on the call lists
of plan.xlsx; and the report's counts saying which population they are over."""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierwise.report import render_report, write_plan_xlsx
from tierwise.segments.overrides import AUDIT_SCHEMA


def _section(html: str, key: str) -> str:
    start = html.index(f'<section id="{key}">')
    return html[start : html.index("</section>", start)]


def _text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three customers and a prospect; C1 moved to A by the file, C2's tier by the
    dashboard."""
    out = tmp_path / "out"
    out.mkdir()
    pq.write_table(
        pa.table(
            {
                "customer_id": ["C1", "C2", "C3", "P1"],
                "name": ["Acme", "Bolt", "Crane", "Prospect"],
                "is_prospect": [False, False, False, True],
                "value_class": ["A", "D", "B", "C"],
                "value_class_computed": ["D", "D", "B", "C"],
                "tier": ["gold", "gold", "silver", "bronze"],
                "assigned_rep": ["R1", "R1", "R2", "R2"],
                "revenue_12m": [100.0, 200.0, 300.0, 0.0],
                "net_profit": [-10.0, 20.0, 30.0, 0.0],
                "wallet": [1000.0, 1000.0, 1000.0, 5000.0],
            }
        ),
        out / "customers.parquet",
    )
    audit = pa.table(
        {
            "customer_id": ["C1", "C2"],
            "by": ["consultant", "ana"],
            "when": ["2026-01-05", "2026-01-10 09:30:00"],
            "computed_class": ["D", "D"],
            "new_class": ["A", "D"],
            "computed_tier": ["bronze", "bronze"],
            "new_tier": ["gold", "gold"],
            "reason": ["strategic account", "framework contract"],
            "file": ["overrides.csv", "the dashboard (overrides.duckdb)"],
            "row": [2, None],
            "source": ["overrides.csv, row 2", "the dashboard (ana, 2026-01-10 09:30:00)"],
        },
        schema=AUDIT_SCHEMA,
    )
    pq.write_table(audit, out / "overrides_applied.parquet")
    manifest = {
        "as_of": "2026-01-31",
        "warnings": [],
        "segments": {"classes": ["A", "B", "C", "D"]},
    }
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return out


def test_the_report_has_an_overrides_section_with_counts_by_source(folder: Path) -> None:
    sec = _text(_section(render_report(folder), "overrides"))
    assert "Overrides: classes and tiers set by hand" in sec
    assert "Overrides applied 2" in sec
    assert "From the overrides file 1" in sec and "From the dashboard 1" in sec
    assert "C1 D A bronze gold consultant strategic account overrides.csv, row 2" in sec
    assert "the dashboard (ana, 2026-01-10 09:30:00)" in sec


def test_a_run_without_overrides_says_none_was_applied(folder: Path) -> None:
    pq.write_table(AUDIT_SCHEMA.empty_table(), folder / "overrides_applied.parquet")
    assert "No override was applied in this run." in _section(render_report(folder), "overrides")


def test_report_counts_say_which_population_they_are_over(folder: Path) -> None:
    html = render_report(folder)
    glance = _text(_section(html, "overview"))
    assert "The figures are over the 3 accounts (customers); the 1 prospects are left out" in (
        glance
    )
    assert "the 1 prospects are not counted here" in _text(_section(html, "segments"))


def test_the_call_lists_mark_an_account_set_by_hand_with_who_and_why(folder: Path) -> None:
    wb = openpyxl.load_workbook(write_plan_xlsx(folder))
    ws = wb["R1"]
    head = [c.value for c in ws[1]]
    col = head.index("Set by hand")
    assert head[col - 1] == "Tier"
    marks = {ws.cell(r, 2).value: ws.cell(r, col + 1).value for r in range(2, ws.max_row + 1)}
    assert marks == {
        "C1": "class A (computed D), tier gold (computed bronze): consultant, strategic account",
        "C2": "class D, tier gold (computed bronze): ana, framework contract",
    }
    assert wb["R2"].cell(2, col + 1).value is None


def test_the_call_lists_have_no_override_column_when_nothing_was_set_by_hand(
    folder: Path,
) -> None:
    (folder / "overrides_applied.parquet").unlink()
    wb = openpyxl.load_workbook(write_plan_xlsx(folder))
    assert "Set by hand" not in [c.value for c in wb["R1"][1]]


def test_segment_profiles_count_with_thousands_separators() -> None:
    from tierwise.segments.profiles import _count

    assert _count(1241, "customer") == "1,241 customers"
    assert _count(1, "customer") == "1 customer"
