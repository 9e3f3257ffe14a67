"""A run never loses a user's file: the output folder is checked before any work is done.

Each case is one that deleted or replaced a user's files with exit code 0 in an earlier
version: `--out .`, `--out` set to the inputs' folder, `--out` naming an input file, a
folder holding someone's document, a date that leaves no usable row.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tierwise.cli import app

runner = CliRunner()

TX = "customer_id,date,revenue\nA,2024-01-02,10\nB,2024-02-03,20\nA,2024-03-04,5\n"


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "invoices.csv").write_text(TX, encoding="utf-8")
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _run(*args: str | Path) -> tuple[int, str]:
    res = runner.invoke(app, [str(a) for a in args])
    return res.exit_code, res.output


def test_out_dot_in_the_inputs_folder_is_refused(inputs: Path, monkeypatch) -> None:
    monkeypatch.chdir(inputs)
    before = _snapshot(inputs)
    code, out = _run("run", "--transactions", "invoices.csv", "--out", ".")
    assert code == 1
    assert "holds the input" in out
    assert _snapshot(inputs) == before


def test_out_set_to_the_inputs_folder_is_refused(inputs: Path) -> None:
    before = _snapshot(inputs)
    code, out = _run("run", "--transactions", inputs / "invoices.csv", "--out", inputs)
    assert code == 1 and "holds the input" in out
    assert _snapshot(inputs) == before


def test_out_naming_an_input_file_is_refused(inputs: Path) -> None:
    before = _snapshot(inputs)
    tx = inputs / "invoices.csv"
    code, out = _run("run", "--transactions", tx, "--out", tx)
    assert code == 1 and "is a file" in out
    assert _snapshot(inputs) == before
    assert sorted(p.name for p in inputs.parent.iterdir()) == ["inputs"]


def test_a_folder_holding_a_users_document_is_refused(inputs: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "offer.docx").write_bytes(b"the offer")
    code, out = _run("run", "--transactions", inputs / "invoices.csv", "--out", mine)
    assert code == 1
    assert "did not write (offer.docx)" in out
    assert (mine / "offer.docx").read_bytes() == b"the offer"


def test_a_path_below_a_file_is_refused_with_one_line(inputs: Path, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n")
    code, out = _run(
        "run", "--transactions", inputs / "invoices.csv", "--out", tmp_path / "a.csv" / "sub"
    )
    assert code == 1
    assert "is a file" in out and "unexpected" not in out
    assert (tmp_path / "a.csv").read_text() == "x\n"


@pytest.mark.parametrize("url", ["s3a://lake/results", "file:///tmp/results"])
def test_out_given_as_a_url_is_refused_not_made_a_local_folder(
    inputs: Path, tmp_path: Path, monkeypatch, url: str
) -> None:
    # a URL read as a path would write ./s3a:/lake/results, and the user would believe the
    # outputs on the lake
    monkeypatch.chdir(tmp_path)
    code, out = _run("run", "--transactions", inputs / "invoices.csv", "--out", url)
    assert code == 1
    assert "outputs are written to a folder on this machine, not to a URL" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]


def test_an_empty_folder_and_an_earlier_output_are_written(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text
    assert (out / "customers.csv").is_file()
    # the folder a run wrote is replaced by the next run
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text


def test_as_of_before_every_transaction_exits_1_and_keeps_the_last_output(
    inputs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text
    before = _snapshot(out)
    code, text = _run(
        "run", "--transactions", inputs / "invoices.csv", "--out", out, "--as-of", "2020-01-01"
    )
    assert code == 1
    assert "no usable transaction rows" in text
    assert _snapshot(out) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_an_unwritable_out_is_one_line(inputs: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, out = _run("run", "--transactions", inputs / "invoices.csv", "--out", locked / "out")
    finally:
        locked.chmod(0o700)
    assert code == 1 and "no permission" in out and "unexpected" not in out


def test_debug_after_the_command_shows_the_trace(inputs: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("customer,when\nA,2024-01-02\n", encoding="utf-8")
    res = runner.invoke(
        app, ["run", "--transactions", str(bad), "--out", str(tmp_path / "o"), "--debug"]
    )
    assert res.exit_code != 0
    assert res.exception is not None and not isinstance(res.exception, SystemExit)


def test_help_shows_no_type_placeholders() -> None:
    for args in (["--help"], ["run", "--help"], ["demo", "--help"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 0
        assert "<bool>" not in res.output and "<int" not in res.output, args


CUSTOMERS = """customer_id,name,city,postcode
A,Acme Trading GmbH,Berlin,10115
B,Beta Bau KG,Köln,50667
"""


def _fill_in(queue: Path, left: str, right: str, decision: str, decided_at: str = "") -> None:
    """Append a decided pair to a review queue, as a person filling it in would."""
    header = queue.read_text(encoding="utf-8").splitlines()[0].split(",")
    filled = dict.fromkeys(header, "")
    filled.update({'"left_id"': left, '"right_id"': right, '"decision"': decision})
    if decided_at:
        filled['"decided_at"'] = decided_at
    with queue.open("a", encoding="utf-8") as f:
        f.write(",".join(filled.values()) + "\n")


def _queue_filled_in(
    inputs: Path, tmp_path: Path, decided_at: str = ""
) -> tuple[tuple[str | Path, ...], Path, Path]:
    """A dedupe run's review_queue.csv with the pair A/B rejected in it, and settings that
    name it in [accounts] decisions_file: the run's inputs, the settings file and --out."""
    (inputs / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    out = tmp_path / "out"
    files = ("--transactions", inputs / "invoices.csv", "--customers", inputs / "customers.csv")
    code, text = _run("dedupe", *files, "--out", out)
    assert code == 0, text
    _fill_in(out / "review_queue.csv", "A", "B", "reject", decided_at=decided_at)
    config = tmp_path / "tierwise.toml"
    config.write_text('[accounts]\ndecisions_file = "out/review_queue.csv"\n', encoding="utf-8")
    return files, config, out


def test_a_review_queue_filled_in_inside_the_output_folder_is_applied_and_kept(
    inputs: Path, tmp_path: Path
) -> None:
    # the documented workflow: fill in the run's review_queue.csv, name it in
    # [accounts] decisions_file and run again into the same --out
    files, config, out = _queue_filled_in(inputs, tmp_path)
    code, text = _run("dedupe", *files, "--config", config, "--out", out)
    assert code == 0, text
    applied = (out / "review_decisions.csv").read_text(encoding="utf-8")
    assert '"A","B","reject"' in applied
    # the new queue leaves the decided pair out; the next run still applies the decision
    assert '"A","B"' not in (out / "review_queue.csv").read_text(encoding="utf-8")
    code, text = _run("dedupe", *files, "--config", config, "--out", out)
    assert code == 0, text
    assert '"A","B","reject"' in (out / "review_decisions.csv").read_text(encoding="utf-8")


def test_a_decided_at_that_cannot_be_read_is_kept_as_written_from_run_to_run(
    inputs: Path, tmp_path: Path
) -> None:
    # the decision is applied undated; the text the reviewer typed is not lost when the
    # folder holding the filled-in queue is replaced, nor in the run after that
    files, config, out = _queue_filled_in(inputs, tmp_path, decided_at="=after the call")
    for _ in range(2):
        code, text = _run("dedupe", *files, "--config", config, "--out", out)
        assert code == 0, text
        rows = pacsv.read_csv(
            out / "review_decisions.csv",
            convert_options=pacsv.ConvertOptions(
                column_types={"decided_at": pa.string(), "decided_at_as_written": pa.string()}
            ),
        ).to_pylist()
        assert [(r["left_id"], r["right_id"], r["decision"]) for r in rows] == [
            ("A", "B", "reject")
        ]
        # undated, with the text as typed (an apostrophe keeps a spreadsheet from running it,
        # once: the next run reads it without)
        assert not rows[0]["decided_at"]
        assert rows[0]["decided_at_as_written"] == "'=after the call"
    # the last run read it from review_decisions.csv, and says so
    assert "decided_at_as_written '=after the call', carried from an earlier run, is not a" in text


def test_a_review_queue_filled_in_but_not_named_in_the_settings_is_not_replaced(
    inputs: Path, tmp_path: Path
) -> None:
    (inputs / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    out = tmp_path / "out"
    files = ("--transactions", inputs / "invoices.csv", "--customers", inputs / "customers.csv")
    code, text = _run("dedupe", *files, "--out", out)
    assert code == 0, text
    _fill_in(out / "review_queue.csv", "A", "B", "reject")
    before = _snapshot(out)
    code, text = _run("dedupe", *files, "--out", out)
    assert code == 1
    assert text.count("\n") == 1 and "unexpected" not in text
    assert "review_queue.csv was changed since tierwise wrote it" in text
    assert "[accounts] decisions_file" in text and "another output folder" in text
    assert _snapshot(out) == before  # the decision the user filled in is still there


def test_a_plan_edited_in_the_output_folder_is_not_replaced(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text
    with (out / "plan.xlsx").open("ab") as f:
        f.write(b"notes")
    before = _snapshot(out)
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 1
    assert "plan.xlsx was changed" in text and "decisions_file" not in text
    assert _snapshot(out) == before


def test_a_report_rebuilt_by_tierwise_report_is_replaced_by_the_next_run(
    inputs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text
    (out / "report.html").write_text("old\n", encoding="utf-8")  # differs from the rebuild
    code, text = _run("report", out)
    assert code == 0, text
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text


def test_a_report_and_plan_rebuilt_from_python_are_replaced_by_the_next_run(
    inputs: Path, tmp_path: Path
) -> None:
    from tierwise.report import build_report
    from tierwise.report.xlsx import write_plan_xlsx

    out = tmp_path / "out"
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text
    (out / "report.html").write_text("old\n", encoding="utf-8")  # differs from the rebuild
    (out / "plan.xlsx").write_bytes(b"old")
    build_report(out)
    write_plan_xlsx(out)
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text


def test_a_decisions_file_of_the_users_inside_the_output_folder_is_refused(
    inputs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text
    (out / "decisions.csv").write_text("left_id,right_id,decision\nA,B,reject\n")
    config = tmp_path / "tierwise.toml"
    config.write_text('[accounts]\ndecisions_file = "out/decisions.csv"\n', encoding="utf-8")
    (inputs / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    code, text = _run(
        "dedupe", "--transactions", inputs / "invoices.csv", "--customers",
        inputs / "customers.csv", "--config", config, "--out", out,
    )  # fmt: skip
    assert code == 1
    assert "[accounts] decisions_file" in text and "copy the file out" in text
    assert (out / "decisions.csv").is_file()


def test_an_overrides_file_inside_the_output_folder_is_refused(
    inputs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text
    (out / "my_overrides.csv").write_text("customer_id,value_class,reason\nA,A,key account\n")
    config = tmp_path / "tierwise.toml"
    config.write_text('[segments]\noverrides_file = "out/my_overrides.csv"\n', encoding="utf-8")
    code, text = _run(
        "run", "--transactions", inputs / "invoices.csv", "--config", config, "--out", out
    )
    assert code == 1
    assert "[segments] overrides_file" in text and "copy the file out" in text
    assert (out / "my_overrides.csv").is_file()


def test_out_set_to_the_previous_folder_is_refused(inputs: Path, tmp_path: Path) -> None:
    last_year = tmp_path / "plan-2024"
    code, out = _run("profit", "--transactions", inputs / "invoices.csv", "--out", last_year)
    assert code == 0, out
    before = _snapshot(last_year)
    code, out = _run(
        "profit",
        "--transactions",
        inputs / "invoices.csv",
        "--previous",
        last_year,
        "--out",
        last_year,
    )
    assert code == 1 and "is the --previous folder" in out, out
    assert _snapshot(last_year) == before


@pytest.mark.parametrize("kind", ["missing", "file", "empty folder"])
def test_a_previous_folder_without_a_run_is_refused_before_any_stage(
    inputs: Path, tmp_path: Path, kind: str
) -> None:
    previous = tmp_path / "plan-2024"
    if kind == "file":
        previous.write_text("x", encoding="utf-8")
    elif kind == "empty folder":
        previous.mkdir()
    # the invoices are not there either: the --previous folder is checked first
    code, out = _run(
        "run",
        "--transactions",
        inputs / "no-such-invoices.csv",
        "--previous",
        previous,
        "--out",
        tmp_path / "out",
    )
    assert code == 1, out
    what = {
        "missing": "the previous run's folder is not found",
        "file": "not a folder",
        "empty folder": "no customers.parquet in the previous run's folder: it is not a "
        "tierwise output folder",
    }[kind]
    assert out.strip() == (
        f"error: {previous}: {what} (give --previous the output folder of an earlier tierwise run)"
    )
    assert not (tmp_path / "out").exists()


def test_a_previous_folder_of_inputs_or_around_a_run_is_named_before_any_stage(
    inputs: Path, tmp_path: Path
) -> None:
    # the demo's folder: data/ holds a customer master as Parquet, output/ the run
    demo = tmp_path / "tierwise-demo"
    (demo / "data").mkdir(parents=True)
    pq.write_table(
        pa.table({"customer_id": ["C1"], "name": ["x"]}), demo / "data/customers.parquet"
    )
    (demo / "output").mkdir()
    (demo / "output" / ".tierwise-output.json").write_text("{}", encoding="utf-8")
    for previous, line in [
        (
            demo / "data",
            f"error: {demo / 'data/customers.parquet'}: the previous run's customers table has "
            "no value_class column: it is not the customers table of a tierwise run (an input "
            "file?) (give --previous the output folder of an earlier tierwise run)",
        ),
        (
            demo,
            f"error: {demo}: no customers.parquet in the previous run's folder: it is not a "
            f"tierwise output folder (give --previous {demo / 'output'}, the output folder "
            "inside it)",
        ),
    ]:
        code, out = _run(
            "run", "--transactions", inputs / "no-such-invoices.csv", "--previous", previous,
            "--out", tmp_path / "out",
        )  # fmt: skip
        assert (code, out.strip()) == (1, line)
    assert not (tmp_path / "out").exists()
    # a run of one stage made no classes to compare with
    profit = tmp_path / "profit-only"
    code, out = _run("profit", "--transactions", inputs / "invoices.csv", "--out", profit)
    assert code == 0, out
    code, out = _run(
        "segments", "--transactions", inputs / "invoices.csv", "--previous", profit,
        "--out", tmp_path / "out",
    )  # fmt: skip
    assert (code, out.strip()) == (
        1,
        f"error: {profit / 'customers.parquet'}: the previous run made no classes (its "
        "customers table has no value_class column: a run of one stage, such as tierwise "
        "profit?) (give --previous the output folder of an earlier tierwise run of every stage)",
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_out_folder_where_nothing_can_be_made_is_named(inputs: Path) -> None:
    code, out = _run("run", "--transactions", inputs / "no-such-invoices.csv", "-o", "/proc/nope")
    assert code == 1, out
    line = " ".join(out.split())
    assert line.startswith("error: --out /proc/nope: cannot make a folder in /proc"), out
    assert "give a folder you can write to" in line and ".tmp-" not in line


_OS_FILES = {
    ".DS_Store": b"\0\0\0\1Bud1",
    "Thumbs.db": b"thumbs",
    "desktop.ini": b"[.ShellClassInfo]\r\n",
    "._plan.xlsx": b"\0\5\26\7AppleDouble",
}


def test_files_the_os_puts_in_the_output_folder_are_kept_and_do_not_block_a_run(
    inputs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text
    for name, data in _OS_FILES.items():
        (out / name).write_bytes(data)
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text
    for name, data in _OS_FILES.items():
        assert (out / name).read_bytes() == data, name
    # and the run after that, with the files carried over, too
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text
    assert (out / ".DS_Store").read_bytes() == _OS_FILES[".DS_Store"]


def test_a_new_folder_holding_only_a_finder_file_is_written(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "opened in Finder"
    out.mkdir()
    (out / ".DS_Store").write_bytes(_OS_FILES[".DS_Store"])
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text
    assert (out / "plan.xlsx").is_file()
    assert (out / ".DS_Store").read_bytes() == _OS_FILES[".DS_Store"]


def test_a_folder_named_like_an_os_file_is_a_users_and_stops_the_run(
    inputs: Path, tmp_path: Path
) -> None:
    # only plain files are the operating system's: a folder "._backup" is the user's, and a
    # run would replace the output folder with it inside
    out = tmp_path / "out"
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text
    (out / "._backup").mkdir()
    (out / "._backup" / "notes.txt").write_text("mine")
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 1, text
    assert "._backup" in text
    assert (out / "._backup" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("lock", "app"), [("~$plan.xlsx", "Excel"), (".~lock.plan.xlsx#", "LibreOffice")]
)
def test_a_plan_open_in_excel_is_named_and_the_folder_kept(
    inputs: Path, tmp_path: Path, lock: str, app: str
) -> None:
    out = tmp_path / "out"
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text
    (out / lock).write_bytes(b"\x0bsomeone")
    before = _snapshot(out)
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 1
    assert f"plan.xlsx is open in {app} (lock file {lock}): close it and run again" in text
    assert "files were added" not in text and len(text.strip().splitlines()) == 1
    assert _snapshot(out) == before
    # write_plan_xlsx, which rebuilds plan.xlsx in place, says the same
    from tierwise.errors import SettingsError
    from tierwise.report.xlsx import write_plan_xlsx

    with pytest.raises(SettingsError, match=f"plan.xlsx is open in {app}"):
        write_plan_xlsx(out)
    assert _snapshot(out) == before
    (out / lock).unlink()
    code, text = _run("run", "--transactions", inputs / "invoices.csv", "--out", out)
    assert code == 0, text


def test_a_previous_customers_table_that_is_not_parquet_is_named_before_any_stage(
    inputs: Path, tmp_path: Path
) -> None:
    previous = tmp_path / "plan-2024"
    previous.mkdir()
    (previous / "customers.parquet").write_text("junk", encoding="utf-8")
    code, out = _run(
        "run", "--transactions", inputs / "invoices.csv", "--previous", previous,
        "--out", tmp_path / "out",
    )  # fmt: skip
    assert code == 1, out
    assert out.strip() == (
        f"error: {previous / 'customers.parquet'}: the previous run's customers table cannot "
        "be read as Parquet (give --previous the output folder of an earlier tierwise run)"
    )
    assert not (tmp_path / "out").exists()
