"""A run in a spreadsheet's CSV locale: ``[output] csv_locale = "excel-de"`` writes
semicolons, decimal commas and a byte-order mark, and everything that reads the run's own
CSVs back (report.html, ``tierwise report DIR``) reads them in that locale.

An earlier version wrote the CSVs in the locale, then read rejects.csv back with commas and
stopped every run with ``unexpected ArrowKeyError: Column 'table'``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.demo import generate
from tierwise.io.demo_files import write_demo
from tierwise.pipeline import run_pipeline
from tierwise.report import RunFolder
from tierwise.settings import Settings

BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def run_de(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("locale")
    data = generate(n_customers=120, seed=11)
    paths = write_demo(data, root / "data", fmt="csv")
    tx = paths["transactions"]
    # one line the run rejects, so that the report has a reason to read back from rejects.csv
    header = tx.read_text(encoding="utf-8").splitlines()[0].split(",")
    bad = {"customer_id": "C0000001", "date": "2024-02-30", "revenue": "10", "order_id": "X1"}
    with tx.open("a", encoding="utf-8") as f:
        f.write(",".join(bad.get(c, "") for c in header) + "\n")
    settings = Settings().with_updates(output={"csv_locale": "excel-de"})
    out = root / "out"
    # the stages up to profitability keep the run small; the views are written all the same
    run_pipeline(
        {"transactions": tx}, settings, out_dir=out, as_of=data.end_date, stages=["profitability"]
    )
    return out


def test_customers_csv_has_a_bom_semicolons_and_decimal_commas(run_de: Path) -> None:
    raw = (run_de / "customers.csv").read_bytes()
    assert raw.startswith(BOM)
    header = raw[len(BOM) :].split(b"\n", 1)[0].decode("utf-8")
    assert header.startswith('"customer_id";') and "," not in header
    parquet = pq.read_table(run_de / "customers.parquet")
    floats = [f.name for f in parquet.schema if pa.types.is_floating(f.type)]
    assert "list_revenue" in floats
    text = pacsv.read_csv(
        run_de / "customers.csv",
        parse_options=pacsv.ParseOptions(delimiter=";"),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(parquet.column_names, pa.string())
        ),
    )
    written = [v for name in floats for v in text.column(name).to_pylist() if v]
    assert written and all("." not in v for v in written)
    revenue = [v for v in text.column("list_revenue").to_pylist() if v]
    assert any("," in v for v in revenue)  # cents are written with a decimal comma


def test_the_folder_reads_back_the_same_figures_as_its_parquet(run_de: Path) -> None:
    folder = RunFolder(run_de)
    assert folder.csv_locale == "excel-de"
    parquet = pq.read_table(run_de / "customers.parquet")
    back = folder.read_csv("customers.csv")
    for f in parquet.schema:
        if pa.types.is_floating(f.type) and parquet.column(f.name).null_count < parquet.num_rows:
            a = parquet.column(f.name).to_numpy(zero_copy_only=False).astype(float)
            b = back.column(f.name).to_numpy(zero_copy_only=False).astype(float)
            np.testing.assert_allclose(b, a, rtol=1e-12, equal_nan=True, err_msg=f.name)


def test_report_is_written_and_shows_the_reject_reason(run_de: Path) -> None:
    html = (run_de / "report.html").read_text(encoding="utf-8")
    rejects = RunFolder(run_de).read_csv("rejects.csv")
    assert rejects.num_rows == 1
    reason = rejects.column("reason")[0].as_py()
    assert reason and reason in html
    assert "Commonest reasons rows were rejected" in html
    assert (run_de / "plan.xlsx").is_file() and (run_de / "crm_export.csv").is_file()


def test_tierwise_report_rebuilds_it_byte_for_byte(run_de: Path) -> None:
    before = (run_de / "report.html").read_bytes()
    (run_de / "report.html").unlink()
    res = CliRunner().invoke(app, ["report", str(run_de)])
    assert res.exit_code == 0, res.output
    assert (run_de / "report.html").read_bytes() == before
