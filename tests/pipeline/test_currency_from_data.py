"""Amounts whose text names one currency ($1,234.50) and no [segments] currency_symbol
set: the run shows that currency with the money everywhere it shows a symbol (report.html,
plan.xlsx, the dashboard, the customers' reasons), says so in a warning, and records it in
the manifest; the settings recorded stay as given."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from tierwise.app import create_app
from tierwise.demo import generate
from tierwise.io.demo_files import write_demo
from tierwise.pipeline import run_pipeline
from tierwise.settings import Settings


def test_the_currency_the_amounts_name_is_shown_with_the_money(tmp_path: Path) -> None:
    paths = write_demo(generate(n_customers=200, seed=7), tmp_path / "data")
    tx = pq.read_table(paths["transactions"])
    # the invoices' amounts as a US export writes them: $ before each
    for name in ("revenue", "cost"):
        text = pc.binary_join_element_wise("$", pc.cast(tx.column(name), pa.string()), "")
        tx = tx.set_column(tx.schema.get_field_index(name), name, text)
    pacsv.write_csv(tx, tmp_path / "tx.csv")
    inputs = {k: str(paths[k]) for k in ("customers", "activities", "reps")}
    inputs["transactions"] = str(tmp_path / "tx.csv")
    res = run_pipeline(inputs, Settings(), out_dir=tmp_path / "out", keep_details=False)
    out = tmp_path / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"]["segments"]["currency_symbol"] == ""
    n = tx.num_rows
    assert manifest["currency"] == {
        "symbol": "$",
        "read_from": [
            {"file": str(tmp_path / "tx.csv"), "column": "revenue", "values": n},
            {"file": str(tmp_path / "tx.csv"), "column": "cost", "values": n},
        ],
    }
    said = [w for w in manifest["warnings"] if w.startswith("the amounts are in $")]
    assert len(said) == 1 and "set [segments] currency_symbol" in said[0]
    # the reasons
    reasons = res.customers.column("class_reason").to_pylist()
    assert all("$" in r for r in reasons if r and "wallet" in r)
    assert any("$" in r for r in res.customers.column("coverage_reason").to_pylist() if r)
    # report.html: its money and its note
    page = (out / "report.html").read_text()
    assert "Amounts are in $, the currency" in page and "invoices&#39; currency" not in page
    # plan.xlsx's money cells
    wb = openpyxl.load_workbook(out / "plan.xlsx")
    facts = {r[0].value: r[1] for r in wb["Summary"].iter_rows()}
    assert facts["Revenue, last 12 months"].number_format.startswith('"$"')
    # the dashboard's figures
    text = TestClient(create_app(out), base_url="http://127.0.0.1").get("/").text
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())
    assert re.search(r"revenue 12m \$[\d,.]+", text), text[:500]
