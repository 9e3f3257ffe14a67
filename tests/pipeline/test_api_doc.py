"""docs/api.md's examples, run as a notebook user would paste them.

The code blocks are executed in order, in one namespace, in a folder holding the files they
read (``invoices.csv`` with semicolons and decimal commas, ``customers.xlsx``,
``tierwise.toml``), made from a small demo. A block that stops working fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tierwise import registry
from tierwise.demo import generate
from tierwise.io.demo_files import write_demo

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


@pytest.fixture
def notebook_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    paths = write_demo(generate(n_customers=150, seed=3), tmp_path / "data")
    pq.read_table(paths["transactions"]).to_pandas().to_csv(
        tmp_path / "invoices.csv", sep=";", decimal=",", index=False
    )
    pq.read_table(paths["customers"]).to_pandas().to_excel(tmp_path / "customers.xlsx", index=False)
    (tmp_path / "tierwise.toml").write_text(
        '[transactions]\npath = "invoices.csv"\n\n[profitability]\ncost_per_order = 9.0\n',
        "utf-8",
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_example_of_the_api_page_runs(notebook_folder: Path) -> None:
    blocks = _blocks()
    # a notebook session, settings, a run on the settings' paths, a stage of your own
    assert len(blocks) == 4
    ns: dict[str, Any] = {}
    try:
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), ns)
    finally:
        if "lines_per_order" in {s.name for s in registry.stages()}:
            registry.unregister("lines_per_order")
    # what the session shows is what the page says it is
    checked, life, result = ns["checked"], ns["life"], ns["result"]
    assert checked["transactions"].rejects.num_rows == 0
    assert life.manifest["clv_basis"] == "net_profit"
    assert "clv" in life.customers.column_names
    assert (notebook_folder / "results" / "customers.parquet").is_file()
    assert result.tables["whale_curve"].num_rows > 0
    assert ns["settings"].profitability.cost_per_order == 12.0  # with_updates over the file
    # the run on the settings' path read the file the settings name, and wrote its folder
    assert ns["from_paths"].customers.num_rows > 0
    assert (notebook_folder / "results-from-settings" / "customers.parquet").is_file()
    # the stage of one's own ran after features and gave its column, n_lines / n_orders
    own = ns["own"].customers.to_pandas()
    assert own["lines_per_order"].notna().all() and (own["lines_per_order"] >= 1).all()
