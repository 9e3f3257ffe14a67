"""What people decide in the dashboard reaches the next run into the same folder.

A class override made in `tierwise serve` (stored in overrides.duckdb beside the outputs)
moves the customer in the next run's customers.csv, keeps the computed class beside it, is
audited in overrides_applied.csv, and the decisions file survives the folder's replacement.
A duplicate pair rejected there is split in the next run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tierwise.app.store import OVERRIDES_FILE, DecisionStore
from tierwise.demo import generate
from tierwise.io.demo_files import write_demo
from tierwise.pipeline import run_pipeline
from tierwise.settings import INPUT_TABLES, Settings

QUICK = Settings().with_updates(segments={"stability_resamples": 0, "niche_max": 1})


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    data = generate(n_customers=300, seed=3)
    paths = write_demo(data, tmp_path_factory.mktemp("handoff") / "data")
    return {k: str(v) for k, v in paths.items() if k in INPUT_TABLES}, data.end_date


def _first_run(inputs: dict[str, str], end: Any, out: Path) -> tuple[dict[str, Any], str]:
    """The first run into ``out``: its first customer's row, and a class to move it to."""
    first = run_pipeline(inputs, QUICK, out_dir=out, as_of=end)
    c = first.customers.filter(pc.invert(first.customers.column("is_prospect")))
    row = c.slice(0, 1).to_pylist()[0]
    return row, "A" if row["value_class"] != "A" else "D"


def test_a_dashboard_override_moves_the_customer_in_the_next_run(demo, tmp_path: Path) -> None:
    inputs, end = demo
    out = tmp_path / "out"
    row, new = _first_run(inputs, end, out)
    cid, computed = row["customer_id"], row["value_class"]
    # a merged pair the model made, rejected by a person
    members = pq.read_table(out / "account_members.parquet").to_pylist()
    merged = next(m for m in members if m["customer_id"] != m["account_id"])

    store = DecisionStore(out / OVERRIDES_FILE)
    store.set_override(
        cid, value_class=new, tier=None, reason="strategic", by="ana",
        computed_class=computed, computed_tier=row["tier"],
    )  # fmt: skip
    # later, someone else sets the tier too, for a reason of their own
    store.set_override(
        cid, tier=row["tier"], reason="service level", by="bo",
        computed_class=computed, computed_tier=row["tier"],
    )  # fmt: skip
    store.decide_pair(merged["customer_id"], merged["account_id"], "reject", by="ana", reason=None)
    store.close()

    second = run_pipeline(inputs, QUICK, out_dir=out, as_of=end)
    rows = {r["customer_id"]: r for r in pacsv.read_csv(out / "customers.csv").to_pylist()}
    assert rows[cid]["value_class"] == new
    assert rows[cid]["value_class_computed"] == computed
    applied = pacsv.read_csv(out / "overrides_applied.csv").to_pylist()
    # each field's reason with its author
    assert [(a["customer_id"], a["by"], a["reason"]) for a in applied] == [
        (cid, "ana and bo", "class: strategic (ana); tier: service level (bo)")
    ]
    # the decisions file is carried into the replaced folder
    assert (out / OVERRIDES_FILE).is_file()
    assert second.manifest["dashboard_decisions"]["class_overrides"] == 1
    # the rejected pair is two accounts now
    after = {m["customer_id"]: m["account_id"] for m in
             pq.read_table(out / "account_members.parquet").to_pylist()}  # fmt: skip
    assert after[merged["customer_id"]] != after[merged["account_id"]]


def test_an_open_dashboard_shows_the_re_run_and_the_override_it_applied(
    demo, tmp_path: Path
) -> None:
    """The dashboard stays open while the folder is re-run: its pages read the new run, and
    the customer page tells the computed class from the override the run applied."""
    import html
    import re

    from fastapi.testclient import TestClient

    from tierwise.app import create_app

    inputs, end = demo
    out = tmp_path / "out"
    row, new = _first_run(inputs, end, out)
    cid, computed = row["customer_id"], row["value_class"]
    client = TestClient(create_app(out), base_url="http://127.0.0.1")
    url = f"/customers/{cid}"
    page = client.get(url).text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    r = client.post(
        f"{url}/override", data={**fields, "value_class": new, "reason": "strategic", "by": "ana"}
    )
    assert r.status_code == 200 and "The next run applies it." in r.text

    run_pipeline(inputs, QUICK, out_dir=out, as_of=end)
    text = html.unescape(re.sub(r"<[^>]+>", "", client.get(url).text))
    assert "The output folder was re-run at" in text
    assert f"Computed: class {computed}" in text
    assert "In this run (written" in text and f"class {new}" in text
    assert "Applied in the run of" in text and "The next run applies it." not in text
