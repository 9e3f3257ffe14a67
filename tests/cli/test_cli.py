"""The ``tierwise`` command end to end: run, validate, init, demo, errors and exit codes.

Exit codes: 0 success, 1 bad input or settings (one line per problem), 2 usage mistakes.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tierwise import __version__
from tierwise.cli import app
from tierwise.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

TX = """customer_id,date,revenue,order_id
A,2024-01-02,10,SO1
A,2024-03-05,15.5,SO2
B,2024-02-03,20,SO3
,2024-02-03,5,SO4
C,2024-02-30,7,SO5
"""

# the same data as an ERP would export it: its own column names, ';' and comma decimals
TX_ERP = """Kundennr;Datum;Umsatz;Belegnr
A;02.01.2024;10;SO1
A;05.03.2024;15,5;SO2
B;03.02.2024;20;SO3
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "tx.csv").write_text(TX, encoding="utf-8")
    (tmp_path / "erp.csv").write_text(TX_ERP, encoding="utf-8")
    (tmp_path / "bad.csv").write_text("customer,when\nA,2024-01-02\n", encoding="utf-8")
    return tmp_path


def _customers(out: Path) -> dict[str, dict[str, object]]:
    return {r["customer_id"]: r for r in pq.read_table(out / "customers.parquet").to_pylist()}


# -- run ----------------------------------------------------------------------------------


def test_run_with_canonical_names_needs_no_settings(files: Path) -> None:
    out = files / "out"
    res = runner.invoke(app, ["run", "--transactions", str(files / "tx.csv"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    written = {p.name for p in out.iterdir()}
    assert written >= {"customers.csv", "customers.parquet", "manifest.json", "rejects.csv"}
    cust = _customers(out)
    assert sorted(cust) == ["A", "B"]
    assert cust["A"]["revenue"] == 25.5 and cust["A"]["n_orders"] == 2
    manifest = json.loads((out / "manifest.json").read_text())
    acc = manifest["inputs"]["transactions"]
    assert (acc["rows_read"], acc["rows_used"], acc["rows_rejected"]) == (5, 3, 2)
    # the summary names the rows and where the outputs are
    assert "transactions" in res.stdout and "customers: 2" in res.stdout
    assert str(out) in res.stdout


def test_the_summary_line_gives_the_revenue_the_report_and_plan_give(tmp_path: Path) -> None:
    # a purchase long before the last 12 months: the whole history's revenue differs from
    # the "Revenue, last 12 months" of report.html and plan.xlsx, which the line repeats
    tx = tmp_path / "tx.csv"
    tx.write_text(
        "customer_id,date,revenue,order_id\nA,2021-01-04,1000,SO0\nA,2024-01-02,10,SO1\n"
        "B,2024-02-03,20,SO2\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", "--transactions", str(tx), "--out", str(out)])
    assert res.exit_code == 0, res.output
    cust = _customers(out)
    last_12m = sum(float(r["revenue_12m"] or 0) for r in cust.values())
    assert last_12m != sum(float(r["revenue"] or 0) for r in cust.values())
    assert f"revenue, last 12 months: {last_12m:,.0f} " in res.stdout


def test_run_with_a_settings_file_mapping_the_columns(files: Path) -> None:
    config = files / "tierwise.toml"
    config.write_text(
        '[transactions]\npath = "erp.csv"\n\n[transactions.columns]\n'
        'customer_id = "Kundennr"\ndate = "Datum"\nrevenue = "Umsatz"\norder_id = "Belegnr"\n',
        encoding="utf-8",
    )
    out = files / "out"
    res = runner.invoke(app, ["run", "--config", str(config), "--out", str(out)])
    assert res.exit_code == 0, res.output
    cust = _customers(out)
    assert cust["A"]["revenue"] == 25.5  # "15,5" read with comma decimals (';' file)
    assert cust["A"]["last_purchase"].isoformat() == "2024-03-05"  # DD.MM.YYYY
    assert cust["B"]["n_orders"] == 1


def test_run_reads_the_folders_tierwise_toml_without_config(
    files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``tierwise init`` then ``tierwise run`` in the same folder: the run reads the settings
    init wrote, as ruff or pytest find theirs, and says which file it read."""
    monkeypatch.chdir(files)
    res = runner.invoke(app, ["init", "--transactions", "erp.csv"])
    assert res.exit_code == 0, res.output
    assert (files / "tierwise.toml").is_file()
    res = runner.invoke(app, ["run", "--out", "out"])
    assert res.exit_code == 0, res.output
    assert "settings: tierwise.toml (found in this folder" in res.stdout
    cust = _customers(files / "out")
    assert cust["A"]["revenue"] == 25.5  # the file's Kundennr/Umsatz read through init's mapping
    res = runner.invoke(app, ["validate"])
    assert res.exit_code == 0, res.output
    assert "settings: tierwise.toml" in res.stdout
    # --config names another file, and the folder's is not read
    (files / "other.toml").write_text('[transactions]\npath = "tx.csv"\n', encoding="utf-8")
    res = runner.invoke(app, ["run", "--config", "other.toml", "--out", "out2"])
    assert res.exit_code == 0, res.output
    assert "found in this folder" not in res.stdout
    assert sorted(_customers(files / "out2")) == ["A", "B"]


def test_run_as_of_sets_aside_later_rows(files: Path) -> None:
    out = files / "out"
    res = runner.invoke(
        app,
        ["run", "--transactions", str(files / "tx.csv"), "--as-of", "2024-02-28", "-o", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert _customers(out)["A"]["revenue"] == 10.0
    assert json.loads((out / "manifest.json").read_text())["as_of"] == "2024-02-28"


def test_an_as_of_after_today_is_a_usage_error(files: Path) -> None:
    import datetime as dt

    out = files / "out"
    today = dt.date.today()
    later = today + dt.timedelta(days=30)
    res = runner.invoke(
        app,
        ["run", "--transactions", str(files / "tx.csv"), "--as-of", str(later), "-o", str(out)],
    )
    assert res.exit_code == 2, res.output
    assert "'--as-of'" in res.output and f"is after today ({today.isoformat()}" in res.output
    assert not out.exists()
    # the same date from the settings file is a settings error naming [run] as_of
    config = files / "tierwise.toml"
    config.write_text(f'[run]\nas_of = "{later}"\n', encoding="utf-8")
    res = runner.invoke(
        app, ["run", "--transactions", str(files / "tx.csv"), "-c", str(config), "-o", str(out)]
    )
    assert res.exit_code == 1, res.output
    assert res.stderr.startswith(f"error: [run] as_of {later} is after today"), res.stderr
    assert not out.exists()


def test_an_as_of_long_after_the_last_transaction_is_warned(files: Path) -> None:
    # the last usable transaction is 2024-03-05
    for as_of, warned in (("2024-06-03", False), ("2024-12-31", True)):
        out = files / f"out-{as_of}"
        res = runner.invoke(
            app,
            ["run", "--transactions", str(files / "tx.csv"), "--as-of", as_of, "-o", str(out)],
        )
        assert res.exit_code == 0, res.output
        said = json.loads((out / "manifest.json").read_text())["warnings"]
        text = "days after the last transaction (2024-03-05)"
        assert any(text in w for w in said) is warned, said
        assert ("every customer looks inactive" in " ".join(res.output.split())) is warned
        if warned:
            assert f"the analysis date {as_of} is 301 days after" in " ".join(said)


# -- validate -------------------------------------------------------------------------------


def test_validate_lists_problems_without_writing_outputs(
    files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(files)
    res = runner.invoke(app, ["validate", "--transactions", str(files / "tx.csv")])
    assert res.exit_code == 0, res.output
    assert "2 rows would be rejected" in res.stdout
    assert "missing customer_id — 1 row (first at row 5)" in res.stdout
    # 2024-02-30 has the shape of a date but does not exist
    assert "date is no such date" in res.stdout
    assert sorted(p.name for p in files.iterdir()) == ["bad.csv", "erp.csv", "tx.csv"]


@pytest.mark.parametrize(
    ("master", "said"),
    [
        ("A", "1 customer in the transactions is not in the customer master"),
        ("Z", "2 customers in the transactions are not in the customer master"),
    ],
)
def test_customers_missing_from_the_master_are_counted_in_words(
    files: Path, master: str, said: str
) -> None:
    (files / "customers.csv").write_text(f"customer_id,name\n{master},Acme\n", encoding="utf-8")
    res = runner.invoke(
        app,
        [
            "validate",
            "--transactions",
            str(files / "tx.csv"),
            "--customers",
            str(files / "customers.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert said in res.stdout


CROSS_SELL_TX = """customer_id,date,revenue,order_id,product_id,cost
A,2024-01-02,10,O1,P1,6
A,2024-01-02,12,O1,P2,
B,2024-02-03,20,O2,P1,12
C,2024-03-04,5,O3,P1,3
C,2024-03-04,7,O3,P3,4
D,2024-03-05,9,O4,P3,5
"""


def test_a_stage_warning_has_one_prefix_and_its_count_in_words(tmp_path: Path) -> None:
    (tmp_path / "tx.csv").write_text(CROSS_SELL_TX, encoding="utf-8")
    res = runner.invoke(
        app, ["crosssell", "--transactions", str(tmp_path / "tx.csv"), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 0, res.output
    # P2 is the one item sold without a cost
    assert "note: cross-sell: 1 item has no cost on the lines" in res.stdout
    assert "cross-sell: cross-sell:" not in res.stdout
    assert "1 items" not in res.stdout


def test_validate_names_a_decisions_file_that_is_missing(files: Path) -> None:
    config = files / "tierwise.toml"
    config.write_text('[accounts]\ndecisions_file = "decided.csv"\n', encoding="utf-8")
    res = runner.invoke(
        app, ["validate", "--transactions", str(files / "tx.csv"), "--config", str(config)]
    )
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines() == [
        f"error: [accounts] decisions_file: {files / 'decided.csv'}: no such file"
    ]


def test_validate_says_a_decisions_file_that_is_a_folder_is_one(files: Path) -> None:
    (files / "decisions").mkdir()
    config = files / "tierwise.toml"
    config.write_text('[accounts]\ndecisions_file = "decisions"\n', encoding="utf-8")
    res = runner.invoke(
        app, ["validate", "--transactions", str(files / "tx.csv"), "--config", str(config)]
    )
    assert res.exit_code == 1
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith(f"error: [accounts] decisions_file: {files / 'decisions'}: a folder")
    assert "no such file" not in line


def test_dedupe_without_customers_exits_1_saying_so(files: Path) -> None:
    out = files / "dedupe-out"
    res = runner.invoke(app, ["dedupe", "--transactions", str(files / "tx.csv"), "--out", str(out)])
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines() == [
        "error: the accounts stage needs the customers input (pass --customers FILE, or "
        "customers= in Python)"
    ]
    assert not out.exists()


def test_dedupe_with_an_empty_customer_master_exits_1_writing_nothing(files: Path) -> None:
    """A stage asked for by name whose input has no usable row stops the run; it is not
    skipped into an output folder without its result."""
    (files / "customers.csv").write_text("customer_id,name\n", encoding="utf-8")
    out = files / "dedupe-out"
    res = runner.invoke(
        app,
        ["dedupe", "--transactions", str(files / "tx.csv"),
         "--customers", str(files / "customers.csv"), "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 1
    assert res.stderr.startswith("error: the accounts stage cannot run: the customer master ")
    assert "customers.csv has no rows (export the file again with its rows)" in res.stderr
    assert not out.exists()


def test_validate_reports_every_missing_column_and_exits_1(files: Path) -> None:
    res = runner.invoke(app, ["validate", "--transactions", str(files / "bad.csv")])
    assert res.exit_code == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 3 and all(ln.startswith("error: ") for ln in lines)
    assert "required column 'revenue' is missing" in res.stderr


def test_a_typo_in_the_settings_file_is_one_line_and_exit_1(files: Path) -> None:
    config = files / "tierwise.toml"
    config.write_text("[validate]\nfuture_tolerence_days = 3\n", encoding="utf-8")
    res = runner.invoke(
        app, ["validate", "--config", str(config), "--transactions", str(files / "tx.csv")]
    )
    assert res.exit_code == 1
    assert res.stderr.strip() == (
        "error: tierwise.toml [validate] future_tolerence_days: unknown setting "
        "(did you mean future_tolerance_days?)"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "sed = 3\n\n[run]\nthreads = 2\n",
            "tierwise.toml line 1: sed is above the first [section] heading; settings go "
            "under a [section] heading (did you mean seed, under [run] or [demo]?)",
        ),
        (
            '# my settings\nengine = "spark"\n[segments]\ncurrency_symbol = "€"\n',
            "tierwise.toml line 2: engine is above the first [section] heading; settings go "
            "under a [section] heading: engine belongs under [run]",
        ),
    ],
    ids=["a typo", "a setting of [run]"],
)
def test_a_setting_above_the_first_heading_is_one_line_naming_the_line_and_exit_1(
    files: Path, text: str, line: str
) -> None:
    config = files / "tierwise.toml"
    config.write_text(text, encoding="utf-8")
    out = files / "out"
    res = runner.invoke(
        app,
        [
            "run",
            "--config",
            str(config),
            "--transactions",
            str(files / "tx.csv"),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 1
    assert res.stderr.strip() == f"error: {line}"
    assert not out.exists()


# -- init -----------------------------------------------------------------------------------


def test_init_writes_a_settings_file_and_refuses_to_overwrite(files: Path) -> None:
    target = files / "tierwise.toml"
    args = ["init", "--transactions", str(files / "erp.csv"), "--out", str(target)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    s = load_settings(target)
    assert dict(s.transactions.columns) == {
        "customer_id": "Kundennr",
        "date": "Datum",
        "revenue": "Umsatz",
        "order_id": "Belegnr",
    }
    target.write_text("# my edits\n", encoding="utf-8")
    res = runner.invoke(app, args)
    assert res.exit_code == 1
    assert "exists; pass --force to overwrite it" in res.stderr
    assert target.read_text(encoding="utf-8") == "# my edits\n"
    res = runner.invoke(app, [*args, "--force"])
    assert res.exit_code == 0
    assert load_settings(target).transactions.columns["customer_id"] == "Kundennr"


def test_init_never_writes_over_an_input_a_folder_or_a_data_file(files: Path) -> None:
    data = files / "erp.csv"
    before = data.read_bytes()
    base = ["init", "--transactions", str(data)]
    # the input itself, even with --force
    res = runner.invoke(app, [*base, "--out", str(data), "--force"])
    assert res.exit_code == 1
    assert res.stderr.strip() == (
        f"error: --out {data} is the transactions input {data}; give another file for the settings"
    )
    assert data.read_bytes() == before
    # a folder: named as such, not "pass --force"
    res = runner.invoke(app, [*base, "--out", str(files), "--force"])
    assert res.exit_code == 1
    assert f"--out {files} is a folder; give a file for the settings" in res.stderr
    # a file that is not settings (another export), even with --force
    other = files / "other.csv"
    other.write_text("a;b\n1;2\n", encoding="utf-8")
    res = runner.invoke(app, [*base, "--out", str(other), "--force"])
    assert res.exit_code == 1
    assert "is not a settings file; --force overwrites only a settings file" in res.stderr
    assert other.read_text(encoding="utf-8") == "a;b\n1;2\n"
    # a file inside an input folder of Parquet files
    folder = files / "lines"
    folder.mkdir()
    pq.write_table(pa.table({"customer_id": ["a"]}), folder / "part-0.parquet")
    res = runner.invoke(
        app, ["init", "--transactions", str(folder), "--out", str(folder / "tierwise.toml")]
    )
    assert res.exit_code == 1
    assert f"is in the transactions input {folder}" in res.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["part-0.parquet"]


@pytest.mark.parametrize("rows", [100, 30_000])
def test_init_reads_a_utf16_export(files: Path, rows: int) -> None:
    # Excel's "Unicode text": UTF-16 with a byte-order mark, tab-separated, CRLF; 30,000
    # rows is past the head of the file the sample reads
    lines = ["Kundennummer\tRechnungsdatum\tUmsatz"]
    lines += [f"K{i % 300:04d}\t{1 + i % 28:02d}.03.2024\t{i % 997},50" for i in range(rows)]
    path = files / "umsatz.txt"
    path.write_bytes("\r\n".join(lines).encode("utf-16"))
    target = files / "u16.toml"
    res = runner.invoke(app, ["init", "--transactions", str(path), "--out", str(target)])
    assert res.exit_code == 0, res.output
    assert dict(load_settings(target).transactions.columns) == {
        "customer_id": "Kundennummer",
        "date": "Rechnungsdatum",
        "revenue": "Umsatz",
    }


def test_init_names_the_sheet_holding_the_data(files: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Info"
    wb.active.append(["Notes"])
    wb.active.append(["exported on Monday"])
    ws = wb.create_sheet("Customers")
    ws.append(["customer_id", "name", "industry"])
    ws.append(["A", "Acme", "Retail"])
    wb.save(files / "cust.xlsx")
    target = files / "tierwise.toml"
    res = runner.invoke(
        app,
        [
            "init",
            "--transactions",
            str(files / "tx.csv"),
            "--customers",
            str(files / "cust.xlsx"),
            "-o",
            str(target),
        ],
    )
    assert res.exit_code == 0, res.output
    # the sheet whose columns fit the customers, not the first, is proposed and said
    written = target.read_text(encoding="utf-8")
    assert 'sheet = "Customers"' in written
    assert "the workbook has sheets 'Info', 'Customers'" in " ".join(
        written.replace("#", " ").split()
    )


def test_init_on_a_missing_file_is_one_line_naming_it(files: Path) -> None:
    target = files / "t.toml"
    res = runner.invoke(app, ["init", "--transactions", str(files / "nope.csv"), "-o", str(target)])
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines() == [
        f"error: {files / 'nope.csv'}: transactions file not found (check the path given for "
        "transactions)"
    ]
    assert not target.exists()


def test_init_without_files_writes_the_defaults(files: Path) -> None:
    target = files / "t.toml"
    assert runner.invoke(app, ["init", "--out", str(target)]).exit_code == 0
    assert load_settings(target) == Settings()


# -- errors and exit codes --------------------------------------------------------------------


def test_bad_input_exits_1_with_one_line_per_problem(files: Path) -> None:
    out = files / "out"
    res = runner.invoke(app, ["run", "--transactions", str(files / "bad.csv"), "-o", str(out)])
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert len(res.stderr.strip().splitlines()) == 3
    assert not out.exists()


def test_missing_file_exits_1(files: Path) -> None:
    res = runner.invoke(app, ["run", "--transactions", str(files / "nope.csv"), "-o", "x"])
    assert res.exit_code == 1
    assert res.stderr.startswith("error: ") and "file not found" in res.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--no-such-option"],
        ["run", "--as-of", "31/12/2024"],
        ["run", "--engine", "polars"],
        ["validate", "--engine", "polars"],
        ["demo", "--engine", "polars", "-n", "50", "-o", "/proc/tierwise-demo"],
        ["no-such-command"],
        ["demo", "--customers", "3"],
        ["demo", "--seed", "-1", "-n", "50", "-o", "/proc/tierwise-demo"],
    ],
)
def test_usage_mistakes_exit_2(args: list[str]) -> None:
    assert runner.invoke(app, args).exit_code == 2


def test_version() -> None:
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0
    assert res.stdout.strip() == f"tierwise {__version__}"


def test_the_package_says_it_is_typed() -> None:
    # PEP 561: type checkers read tierwise's annotations only when py.typed ships with it
    import tomllib

    import tierwise

    assert (Path(tierwise.__file__).parent / "py.typed").is_file()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["tierwise"]


def test_installed_console_script_one_line_errors_and_debug_trace(files: Path) -> None:
    exe = shutil.which("tierwise", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the tierwise console script is not installed (pip install -e .)")
    bad = ["run", "--transactions", str(files / "bad.csv"), "--out", str(files / "out")]
    plain = subprocess.run([exe, *bad], capture_output=True, text=True, check=False, cwd=files)
    assert plain.returncode == 1
    assert "Traceback" not in plain.stderr
    assert plain.stderr.count("error: ") == 3
    debug = subprocess.run(
        [exe, "--debug", *bad], capture_output=True, text=True, check=False, cwd=files
    )
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert "required column 'date' is missing" in debug.stderr
    ok = subprocess.run(
        [exe, "run", "--transactions", str(files / "tx.csv"), "--out", str(files / "out")],
        capture_output=True,
        text=True,
        check=False,
        cwd=files,
    )
    assert ok.returncode == 0, ok.stderr
    assert (files / "out" / "customers.parquet").exists()


# -- demo -------------------------------------------------------------------------------------


def test_demo_frees_the_generated_tables_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the run reads the files the demo wrote: holding what the generator made as well adds
    # to the memory of a large demo (1,000,000 customers did not fit in 24 GiB so)
    import gc
    import weakref

    import tierwise.demo
    import tierwise.pipeline

    made: list[weakref.ref] = []
    generate, run = tierwise.demo.generate_stream, tierwise.pipeline.run_pipeline
    alive_at_run: list[bool] = []

    def generate_seen(*args, **kwargs):  # type: ignore[no-untyped-def]
        data = generate(*args, **kwargs)
        made.append(weakref.ref(data.sales_plan.ovalue))
        made.append(weakref.ref(data.customers))
        return data

    def run_seen(*args, **kwargs):  # type: ignore[no-untyped-def]
        gc.collect()
        alive_at_run.append(any(ref() is not None for ref in made))
        return run(*args, **kwargs)

    monkeypatch.setattr(tierwise.demo, "generate_stream", generate_seen)
    monkeypatch.setattr(tierwise.pipeline, "run_pipeline", run_seen)
    res = runner.invoke(app, ["demo", "--customers", "60", "--out", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    assert made and alive_at_run == [False]


def test_demo_writes_the_output_folder_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "tmp"
    res = runner.invoke(app, ["demo", "--customers", "300", "--seed", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    folder = out / "output"
    for name in ("customers.parquet", "customers.csv", "rejects.csv", "manifest.json"):
        assert (folder / name).is_file(), name
    m = json.loads((folder / "manifest.json").read_text())
    for key in ("version", "seed", "settings", "inputs", "timings", "models"):
        assert key in m, key
    assert m["seed"] == 1
    assert m["version"] == __version__
    tx = m["inputs"]["transactions"]
    assert set(tx) >= {"path", "sha256", "rows_read", "rows_used", "rows_rejected"}
    for acc in m["inputs"].values():
        assert acc["rows_read"] == acc["rows_used"] + acc["rows_rejected"]
        assert len(acc["sha256"]) == 64
    customers = pq.read_table(folder / "customers.parquet")
    assert customers.num_rows >= 250  # 300 records, a few of them duplicates or prospects
    assert "customers:" in res.stdout and "revenue, last 12 months:" in res.stdout
    assert "rows read" in res.stdout and str(folder) in res.stdout
    # the coverage plan's line: the plan against today's, its gap, field hours
    assert m["coverage"]["headline"].startswith("coverage plan: expected contribution")
    assert "coverage plan: expected contribution" in res.stdout
    assert "field hours" in res.stdout
    # the manifest records the size asked for, not the default, and the UK demo's pounds
    assert m["settings"]["demo"]["n_customers"] == 300
    assert m["settings"]["segments"]["currency_symbol"] == "£"
    # the summary's money in the run's currency, as report.html and plan.xlsx show it
    assert "revenue, last 12 months: £" in res.stdout
    assert m["coverage"]["headline"].startswith("coverage plan: expected contribution £")
    reasons = " ".join(
        str(r) for c in ("class_reason", "coverage_reason") for r in customers.column(c).to_pylist()
    )
    assert "£" in reasons and "€" not in reasons
    # OUT/tierwise.toml runs the same data again: the same customers, the same plan
    config = out / "tierwise.toml"
    assert f"settings: {config}" in " ".join(res.stdout.split())
    again = out / "again"
    res = runner.invoke(app, ["run", "--config", str(config), "--out", str(again)])
    assert res.exit_code == 0, res.output
    for name in ("customers.csv", "plan.xlsx", "rep_plan.csv", "cross_sell.csv"):
        assert (again / name).read_bytes() == (folder / name).read_bytes(), name
    # a tierwise.toml of the user's in OUT is never written over
    config.write_text("# mine\n", encoding="utf-8")
    res = runner.invoke(app, ["demo", "--customers", "300", "--seed", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert config.read_text(encoding="utf-8") == "# mine\n"
    assert "settings:  " not in res.stdout


# -- the CLI reference ------------------------------------------------------------------------


def _docs_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts/gen_cli_docs.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_command_is_in_the_cli_reference() -> None:
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    gen = _docs_module()
    missing = [c for c in gen.commands() if f"\n## tierwise {c}\n" not in docs]
    assert not missing, f"commands missing from docs/cli.md: {missing}"


def test_cli_reference_is_up_to_date() -> None:
    gen = _docs_module()
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == gen.render(), "docs/cli.md is stale: run python scripts/gen_cli_docs.py"


# -- report ---------------------------------------------------------------------------------


def test_report_rebuilds_the_runs_report_byte_for_byte(files: Path) -> None:
    out = files / "out"
    res = runner.invoke(app, ["run", "--transactions", str(files / "tx.csv"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    written = (out / "report.html").read_bytes()
    mode = (out / "report.html").stat().st_mode
    (out / "report.html").write_text("stale", encoding="utf-8")
    res = runner.invoke(app, ["report", str(out)])
    assert res.exit_code == 0, res.output
    assert " ".join(res.stdout.split()) == f"wrote {out / 'report.html'}"
    assert (out / "report.html").read_bytes() == written
    assert (out / "report.html").stat().st_mode == mode
    assert not [p.name for p in out.iterdir() if p.name.startswith(".report")]


@pytest.mark.parametrize("what", ["someone's folder", "an empty folder", "no folder"])
def test_report_refuses_a_folder_tierwise_did_not_write(files: Path, what: str) -> None:
    folder = files / "mine"
    if what != "no folder":
        folder.mkdir()
    if what == "someone's folder":
        (folder / "notes.txt").write_text("mine\n", encoding="utf-8")
    res = runner.invoke(app, ["report", str(folder)])
    assert res.exit_code == 1
    said = (
        f"error: {folder}: no such folder; give the output folder of a tierwise run (its --out)"
        if what == "no folder"
        else f"error: {folder}: not an output folder of tierwise run (run it first)"
    )
    assert res.stderr.strip().splitlines() == [said]
    assert not (folder / "report.html").exists()
    if what == "someone's folder":
        assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def _erp_lake(folder: Path) -> int:
    """A Hive-partitioned Parquet export (year=/month= folders, an ERP's column names, a
    _SUCCESS file) as Spark or pyarrow writes it; returns its number of lines."""
    import datetime as dt

    import pyarrow as pa

    lines = 0
    for month in (1, 2, 3):
        part = folder / "year=2024" / f"month={month:02d}"
        part.mkdir(parents=True)
        n = 3 + month
        t = pa.table(
            {
                "Kundennr": [f"K{i % 3}" for i in range(n)],
                "Rechnungsdatum": [dt.date(2024, month, 1 + i) for i in range(n)],
                "Umsatz": [10.0 + i for i in range(n)],
                "Belegnr": [f"SO{month}{i}" for i in range(n)],
            }
        )
        pq.write_table(t, part / "part-00000-c000.snappy.parquet")  # the same name in each
        lines += n
    (folder / "_SUCCESS").write_bytes(b"")
    return lines


@pytest.mark.parametrize("how", ["folder", "glob"])
def test_init_reads_a_folder_or_glob_of_parquet_as_run_reads_it(files: Path, how: str) -> None:
    lake = files / "lake" / "invoices"
    n = _erp_lake(lake)
    given = str(lake) if how == "folder" else str(lake / "*" / "*" / "*.parquet")
    target = files / "tierwise.toml"
    res = runner.invoke(app, ["init", "--transactions", given, "-o", str(target)])
    assert res.exit_code == 0, res.output
    s = load_settings(target)
    # the folder or glob itself, relative to the settings file: never one partition's file
    written = "lake/invoices" if how == "folder" else "lake/invoices/*/*/*.parquet"
    assert f'path = "{written}"' in target.read_text(encoding="utf-8")
    assert s.transactions.columns["customer_id"] == "Kundennr"
    assert s.transactions.columns["date"] == "Rechnungsdatum"
    assert s.transactions.columns["revenue"] == "Umsatz"
    # the partition keys are columns of the table, as a run reads them, not ours
    assert "transactions: 4 of 6 columns mapped, 2 not used" in res.stdout
    res = runner.invoke(app, ["validate", "--config", str(target)])
    assert res.exit_code == 0, res.output
    assert f"{n:,}" in res.stdout and "no rows would be rejected" in res.stdout


def test_init_on_a_glob_matching_nothing_says_so(files: Path) -> None:
    target = files / "t.toml"
    given = str(files / "lake" / "*.parquet")
    res = runner.invoke(app, ["init", "--transactions", given, "-o", str(target)])
    assert res.exit_code == 1
    assert "no file matches this pattern" in res.stderr and "inside it" not in res.stderr
    assert not target.exists()


@pytest.mark.parametrize("port", ["-1", "99999"])
def test_serve_refuses_a_port_outside_1_to_65535(tmp_path: Path, port: str) -> None:
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,revenue\nA,2024-01-02,10\nB,2024-02-03,20\n", encoding="utf-8")
    res = runner.invoke(app, ["profit", "--transactions", str(tx), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["serve", str(tmp_path / "o"), "--port", port])
    assert res.exit_code == 2, res.output
    assert "Invalid value for '--port'" in res.output and "unexpected" not in res.output


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    import socket

    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,revenue\nA,2024-01-02,10\nB,2024-02-03,20\n", encoding="utf-8")
    res = runner.invoke(app, ["profit", "--transactions", str(tx), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        res = runner.invoke(app, ["serve", str(tmp_path / "o"), "--port", str(port)])
    assert res.exit_code == 1, res.output
    assert res.output.strip() == (
        f"error: --port {port}: the dashboard cannot listen on 127.0.0.1:{port} (Address "
        "already in use); give another --port, or stop the program using it"
    )


def test_serve_on_an_address_not_of_this_machine_names_the_host(tmp_path: Path) -> None:
    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,revenue\nA,2024-01-02,10\nB,2024-02-03,20\n", encoding="utf-8")
    res = runner.invoke(app, ["profit", "--transactions", str(tx), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    args = ["serve", str(tmp_path / "o"), "--host", "nohost.invalid", "--token", "t"]
    res = runner.invoke(app, args)
    assert res.exit_code == 1, res.output
    assert res.output.startswith("error: --host nohost.invalid: the dashboard cannot listen on ")
    assert res.output.rstrip().endswith("give an address of this machine, such as 127.0.0.1")


@pytest.mark.parametrize(
    ("err", "advice"),
    [
        (PermissionError(13, "Permission denied", "in/tierwise.toml"), "give the user running"),
        (OSError(28, "No space left on device", "out/plan.xlsx"), "the disk is full"),
        (OSError(30, "Read-only file system", "out/plan.xlsx"), "a disk tierwise may write"),
    ],
)
def test_a_refusal_of_the_system_says_what_to_do(
    err: OSError, advice: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import typer

    from tierwise.cli import _errors

    with pytest.raises(typer.Exit), _errors():
        raise err
    line = " ".join(capsys.readouterr().err.split())
    assert line.startswith(f"error: {err.filename}: {err.strerror} (")
    assert advice in line
