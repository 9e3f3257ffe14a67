"""The dashboard and the overrides in force: those of the overrides file beside its own,
what the next run gives field by field, a record in a confirmed pair, the count of those
still waiting for a run, and the pages around them (the unassigned call list, the report,
the order of tiers)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from report_support import forms
from tierwise.app import create_app
from tierwise.app.store import OVERRIDES_FILE, DecisionStore
from tierwise.segments.overrides import AUDIT_SCHEMA, dashboard_origin

LOCAL = "http://127.0.0.1"


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def _para(page: str, pid: str) -> str:
    m = re.search(rf'<p[^>]* id="{pid}"[^>]*>(.*?)</p>', page, re.S)
    assert m is not None, pid
    return _text(m.group(1))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A run's folder by hand: four customers (one a prospect, one with no rep), an
    overrides file that moves C3 to D/bronze, and the records C9 merged into C1."""
    out = tmp_path / "out"
    out.mkdir()
    pq.write_table(
        pa.table(
            {
                "customer_id": ["C1", "C2", "C3", "P1"],
                "name": ["Acme", "Bolt", "Crane", "Prospect"],
                "value_class": ["A", "B", "D", "C"],
                "value_class_computed": ["A", "B", "B", "C"],
                "tier": ["gold", "silver", "bronze", "bronze"],
                "is_prospect": [False, False, False, True],
                "assigned_rep": ["R1", "R1", None, None],
                "rep_id": ["R1", "R1", None, "R1"],
                "revenue_12m": [1000.0, 500.0, 100.0, 0.0],
            }
        ),
        out / "customers.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "customer_id": ["C1", "C2", "C3", "C9", "P1"],
                "account_id": ["C1", "C2", "C3", "C1", "P1"],
            }
        ),
        out / "account_members.parquet",
    )
    overrides = tmp_path / "overrides.csv"
    overrides.write_text(
        "customer_id,value_class,tier,reason,by,date\n"
        "C3,D,bronze,asked not to be visited,consultant,2026-01-05\n",
        encoding="utf-8",
    )
    audit = pa.table(
        {
            "customer_id": ["C3"],
            "by": ["consultant"],
            "when": ["2026-01-05"],
            "computed_class": ["B"],
            "new_class": ["D"],
            "computed_tier": ["silver"],
            "new_tier": ["bronze"],
            "reason": ["asked not to be visited"],
            "file": [str(overrides)],
            "row": [2],
            "source": [f"{overrides}, row 2"],
        },
        schema=AUDIT_SCHEMA,
    )
    pq.write_table(audit, out / "overrides_applied.parquet")
    manifest = {
        "as_of": "2026-01-31",
        "warnings": [],
        "settings": {
            "segments": {
                "classes": {"A": "protect", "B": "develop", "C": "maintain", "D": "serve"},
                "tiers": {"A": "gold", "B": "silver", "C": "bronze", "D": "bronze"},
                "overrides_file": str(overrides),
            }
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return out


def test_the_customer_page_shows_the_file_override_in_force_and_what_the_next_run_gives(
    folder: Path,
) -> None:
    """A class set in the dashboard keeps the file's tier; the page never says the file's
    override lapses at the next run."""
    client = TestClient(create_app(folder), base_url=LOCAL)
    page = client.get("/customers/C3").text
    assert "From the overrides file" in _para(page, "override-file")
    assert "row 2): class D, tier bronze: “asked not to be visited” (consultant, 2026-01-05)" in (
        _para(page, "override-file")
    )
    assert "In force at every run while the file names this customer" in page
    assert "goes back to the computed" not in _text(page)
    form = forms(page)[0]
    r = client.post(
        "/customers/C3/override",
        data={**form, "value_class": "B", "reason": "regional manager wants visits", "by": "ana"},
    )
    assert r.status_code == 200
    nxt = _para(r.text, "next-run")
    assert "class B (this dashboard), tier bronze (the overrides file, row 2)" in nxt
    # the audit's old class is the one in force (the file's), not the computed one
    history = r.text.split("<h3>History</h3>")[1]
    assert "<td>value_class</td><td>D</td><td>B</td><td>regional manager wants visits</td>" in (
        history
    )


def test_a_record_in_a_confirmed_pair_says_so_on_its_page(folder: Path) -> None:
    store = DecisionStore(folder / OVERRIDES_FILE)
    store.decide_pair("C2", "C3", "confirm", by="ana", reason=None)
    store.decide_pair("C1", "C9", "confirm", by="bo", reason=None)
    store.close()
    client = TestClient(create_app(folder), base_url=LOCAL)
    page = client.get("/customers/C3").text
    said = _para(page, "pair-1")
    assert said.startswith("In a duplicate pair confirmed here with C2 (ana, ")
    assert "the next run merges the two records into one account" in said
    assert "C2 for these two" in said and "carried over to the account" in said
    # the pair the run merged already: C9 is a record of the account C1
    assert "this run merged C9 into this account" in _para(
        client.get("/customers/C1").text, "pair-1"
    )


def test_the_overview_counts_only_the_dashboard_overrides_a_run_has_not_applied(
    folder: Path,
) -> None:
    store = DecisionStore(folder / OVERRIDES_FILE)
    for cid in ("C1", "C2"):
        store.set_override(
            cid, value_class="C", tier=None, reason="why", by="ana",
            computed_class="A", computed_tier="gold",
        )  # fmt: skip
    store.close()
    applied = pq.read_table(folder / "overrides_applied.parquet").to_pylist()
    # the run applied C1's (its author and time), not C2's
    con_at = DecisionStore(folder / OVERRIDES_FILE).override("C1")
    assert con_at is not None
    applied.append(
        {**applied[0], "customer_id": "C1", "new_class": "C", "new_tier": "bronze",
         "source": dashboard_origin("ana", con_at["class_at"]), "file": "x", "row": None}
    )  # fmt: skip
    pq.write_table(
        pa.Table.from_pylist(applied, schema=AUDIT_SCHEMA), folder / "overrides_applied.parquet"
    )
    client = TestClient(create_app(folder), base_url=LOCAL)
    said = _para(client.get("/").text, "overrides-waiting")
    assert said.startswith("2 class overrides in force in this dashboard, 1 of them waiting")
    assert "1 in the overrides file" in said and "applied at every run" in said
    assert "Applied in the run of" in client.get("/customers/C1").text
    assert "The next run applies it." in client.get("/customers/C2").text


def test_the_unassigned_call_list_has_its_page(folder: Path) -> None:
    client = TestClient(create_app(folder), base_url=LOCAL)
    reps = client.get("/reps").text
    assert "1 account no rep carries" in _para(reps, "unassigned")
    assert 'href="/reps/%28unassigned%29"' in reps
    for url in ("/reps/(unassigned)", "/reps/%28unassigned%29"):
        r = client.get(url)
        assert r.status_code == 200
        assert "Call list of (unassigned)" in r.text
        ids = re.findall(r'href="/customers/([^"]+)"', r.text)
        assert ids == ["C3"]


def test_tiers_and_classes_follow_the_settings_order(folder: Path) -> None:
    client = TestClient(create_app(folder), base_url=LOCAL)
    page = client.get("/").text
    tiers = re.search(r"<h2>By tier</h2>(.*?)</section>", page, re.S)
    assert tiers is not None
    assert re.findall(r"<tr><td>(\w+)</td>", tiers.group(1)) == ["gold", "silver", "bronze"]
    explorer = client.get("/segments").text
    select = re.search(r'<select name="tier"(.*?)</select>', explorer, re.S)
    assert select is not None
    assert re.findall(r'<option value="(\w+)"', select.group(1)) == ["gold", "silver", "bronze"]


def test_the_report_is_shown_inside_the_dashboard_with_the_menu_and_a_way_back(
    folder: Path,
) -> None:
    (folder / "report.html").write_text("<!DOCTYPE html><p>the report</p>", encoding="utf-8")
    client = TestClient(create_app(folder), base_url=LOCAL)
    page = client.get("/report").text
    assert '<a href="/">Back to the overview</a>' in page and "<nav>" in page
    assert '<iframe class="report" src="/report.html"' in page
    raw = client.get("/report.html")
    assert raw.text == "<!DOCTYPE html><p>the report</p>"
    policy = raw.headers["content-security-policy"]
    assert "sandbox allow-scripts" in policy and "frame-ancestors 'self'" in policy


def test_every_page_starts_with_a_skip_to_content_link(folder: Path) -> None:
    client = TestClient(create_app(folder), base_url=LOCAL)
    for url in ("/", "/segments", "/customers/C1", "/reps"):
        page = client.get(url).text
        body = page.split("<body>", 1)[1].lstrip()
        assert body.startswith('<a class="skip" href="#main">Skip to content</a>'), url
        assert '<main id="main"' in page


def test_an_override_of_a_record_since_merged_shows_on_its_account_and_can_be_removed(
    folder: Path,
) -> None:
    """C9 was overridden, then merged into C1: the run applied it to C1. C1's page shows it
    as in force (not "no override"), the overview does not count it as waiting, and it can
    be removed from C1's page (C9 has no page of its own any more)."""
    store = DecisionStore(folder / OVERRIDES_FILE)
    store.set_override(
        "C9", value_class="C", tier=None, reason="big opportunity", by="ana",
        computed_class="A", computed_tier="gold",
    )  # fmt: skip
    made = store.override("C9")
    store.close()
    assert made is not None
    applied = pq.read_table(folder / "overrides_applied.parquet").to_pylist()
    applied.append(
        {**applied[0], "customer_id": "C1", "new_class": "C", "new_tier": "bronze",
         "source": dashboard_origin("ana", made["class_at"]) + ", for C9",
         "file": "the dashboard (overrides.duckdb)", "row": None}
    )  # fmt: skip
    pq.write_table(
        pa.Table.from_pylist(applied, schema=AUDIT_SCHEMA), folder / "overrides_applied.parquet"
    )
    client = TestClient(create_app(folder), base_url=LOCAL)
    page = client.get("/customers/C1").text
    said = _para(page, "override-in-force")
    assert said.startswith("In force here (this dashboard), made on the record C9, merged into")
    assert "Class C: “big opportunity” (ana," in said and "Applied in the run of" in said
    assert "class C (this dashboard)" in _para(page, "next-run")
    assert "0 of them waiting" in _para(client.get("/").text, "overrides-waiting")
    form = forms(page)[0]
    assert form["remove"] == "1"
    r = client.post("/customers/C9/override", data={**form, "by": "bo"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/customers/C1"
    assert DecisionStore(folder / OVERRIDES_FILE).override("C9") is None
    assert "No override in force in this dashboard" in client.get("/customers/C1").text
