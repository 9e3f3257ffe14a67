"""plan.xlsx read back with openpyxl: a sheet per rep, lists that sum to the plan, text safe."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from report_support import FORMULA_NAME, customer_id_named
from tierwise.io.outputs import visible_control_text
from tierwise.report import write_plan_xlsx
from tierwise.report.xlsx import _sheet_names, write_plan


def _rows(ws: openpyxl.worksheet.worksheet.Worksheet) -> list[dict]:
    values = list(ws.iter_rows(values_only=True))
    header = values[0]
    return [dict(zip(header, r, strict=True)) for r in values[1:]]


def test_a_sheet_per_rep_and_the_lists_sum_to_the_plan(
    report_full_out: Path, tmp_path: Path
) -> None:
    path = write_plan_xlsx(report_full_out, target=tmp_path / "plan.xlsx")
    wb = openpyxl.load_workbook(path)
    customers = pq.read_table(report_full_out / "customers.parquet")
    reps = sorted(set(customers.column("assigned_rep").to_pylist()))
    assert wb.sheetnames == ["Summary", "Definitions", "Terms", "Targets", *reps]
    plan = {r["rep_id"]: r for r in pq.read_table(report_full_out / "rep_plan.parquet").to_pylist()}
    total_visits = 0.0
    n_rows = 0
    for rep in reps:
        rows = _rows(wb[rep])
        visits = sum(r["Visits / year"] or 0 for r in rows)
        calls = sum(r["Calls / year"] or 0 for r in rows)
        assert visits == plan[rep]["visits"] and calls == plan[rep]["calls"], rep
        assert len(rows) == plan[rep]["customers"]
        total_visits += visits
        n_rows += len(rows)
    assert n_rows == customers.num_rows
    assert total_visits == float(np.sum(customers.column("visits_per_year").to_numpy()))


def test_call_lists_are_sorted_by_priority_with_header_frozen_and_filtered(
    report_full_out: Path, tmp_path: Path
) -> None:
    wb = openpyxl.load_workbook(write_plan_xlsx(report_full_out, target=tmp_path / "p.xlsx"))
    ws = wb[wb.sheetnames[4]]
    rows = _rows(ws)
    contribution = [r["Expected contribution"] for r in rows]
    assert contribution == sorted(contribution, reverse=True)
    assert [r["Priority"] for r in rows] == list(range(1, len(rows) + 1))
    assert ws.freeze_panes == "D2"
    assert ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith("A1:")
    assert ws["N2"].number_format.endswith("#,##0")  # revenue 12m
    assert {"Channel", "Reason", "Next best products"} <= set(rows[0])


def test_a_formula_in_a_name_is_text(report_full_out: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(write_plan_xlsx(report_full_out, target=tmp_path / "p.xlsx"))
    cid = customer_id_named(report_full_out, FORMULA_NAME)
    found = [
        ws.cell(row=cell.row, column=3)
        for ws in wb.worksheets[4:]
        for cell in ws["B"]
        if cell.value == cid
    ]
    assert len(found) == 1
    assert found[0].value == FORMULA_NAME and found[0].data_type == "s"
    # no cell anywhere in the workbook is a formula
    assert not any(
        c.data_type == "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row
    )


def test_without_a_coverage_plan_lists_follow_todays_rep(
    report_bare_out: Path, tmp_path: Path
) -> None:
    wb = openpyxl.load_workbook(write_plan_xlsx(report_bare_out, target=tmp_path / "p.xlsx"))
    reps = pq.read_table(report_bare_out / "customers.parquet", columns=["rep_id"])
    expected = sorted(set(pc.fill_null(reps.column("rep_id"), "(unassigned)").to_pylist()))
    assert wb.sheetnames[4:] == expected
    header = [c.value for c in wb[expected[0]][1]]
    assert "Channel" not in header and "Visits / year" not in header
    summary_text = [c.value for row in wb["Summary"].iter_rows() for c in row if c.value]
    assert any("No coverage plan in this run" in str(v) for v in summary_text)
    assert "Not in this run" in str(wb["Terms"]["A3"].value)


def test_definitions_terms_and_targets_come_from_their_tables(
    report_full_out: Path, tmp_path: Path
) -> None:
    wb = openpyxl.load_workbook(write_plan_xlsx(report_full_out, target=tmp_path / "p.xlsx"))
    terms = [r for r in wb["Terms"].iter_rows(min_row=3, values_only=True)]
    assert terms[0][:2] == ("tier", "rule") and len(terms) == 1 + 3
    targets = pq.read_table(report_full_out / "targets.parquet")
    assert wb["Targets"].max_row == 3 + targets.num_rows
    defs = [c.value for c in wb["Definitions"]["B"]]
    assert "segment" in defs


def test_whole_numbers_show_without_decimals_and_fractions_with_them(tmp_path: Path) -> None:
    # a tier's visits a year are whole numbers stored as floats: 6, as report.html shows
    # them, not 6.00; a column with a fraction keeps its decimals
    segments = pa.table(
        {
            "segment": ["A", "B", None],
            "visits_min": [6.0, 2.0, None],
            "jaccard": [0.91, 1.0, 0.5],
        }
    )
    targets = pa.table({"rep": ["r1"], "conversions_expected": [5.6]})
    c = pa.table({"customer_id": ["a"], "rep_id": ["r1"]})
    path = write_plan(tmp_path / "p.xlsx", c, {"segments": segments, "targets": targets})
    wb = openpyxl.load_workbook(path)
    checked = 0
    for ws in (wb["Definitions"], wb["Targets"]):
        for col in ws.iter_cols():
            cells = [
                x for x in col if isinstance(x.value, float | int) and not isinstance(x.value, bool)
            ]
            if not cells:
                continue
            whole = all(float(x.value).is_integer() for x in cells)
            for x in cells:
                assert ("." in x.number_format) != whole, (ws.title, x.coordinate, x.number_format)
                checked += 1
    assert checked == 6


@pytest.mark.parametrize("symbol", ["£", ""], ids=["currency set", "no currency"])
def test_money_shows_the_runs_currency_and_hours_show_none(tmp_path: Path, symbol: str) -> None:
    customers, rep_plan = _planned_base()
    manifest = {"settings": {"segments": {"currency_symbol": symbol}}}
    wb = openpyxl.load_workbook(
        write_plan(tmp_path / "plan.xlsx", customers, {"rep_plan": rep_plan}, manifest=manifest)
    )
    ws = wb["Summary"]
    rows = list(ws.iter_rows())
    start = next(i for i, r in enumerate(rows) if r[0].value == "Rep")
    header = [c.value for c in rows[start]]
    money = ["Expected contribution"]
    plain = ["Accounts", "Capacity hours", "Hours used"]
    for r in rows[start + 1 :]:
        for name in money + plain:
            cell = r[header.index(name)]
            if cell.value is not None:
                shown = "£" in cell.number_format
                assert shown == (bool(symbol) and name in money), (name, cell.number_format)
    facts = {r[0].value: r[1] for r in rows[:start]}
    assert ("£" in facts["Revenue, last 12 months"].number_format) == bool(symbol)
    call_list = wb[wb.sheetnames[-1]]
    heads = [c.value for c in call_list[1]]
    cell = call_list.cell(row=2, column=heads.index("Revenue 12m") + 1)
    assert ("£" in cell.number_format) == bool(symbol)


def test_a_currency_written_with_a_space_keeps_it_in_the_money_cells(tmp_path: Path) -> None:
    customers, rep_plan = _planned_base()
    manifest = {"settings": {"segments": {"currency_symbol": "CHF "}}}
    wb = openpyxl.load_workbook(
        write_plan(tmp_path / "plan.xlsx", customers, {"rep_plan": rep_plan}, manifest=manifest)
    )
    rows = list(wb["Summary"].iter_rows())
    facts = {r[0].value: r[1] for r in rows}
    assert facts["Revenue, last 12 months"].number_format.startswith('"CHF "')


def test_a_terms_rules_net_is_money_as_its_savings_and_costs_are(tmp_path: Path) -> None:
    terms = pa.table(
        {
            "terms": ["gold", "gold"],
            "rule": ["minimum order", "all rules"],
            "cost_saved": [41331.5, 2.25],
            "cost_paid": [0.0, 10.0],
            "net": [41331.5, -7.75],
        }
    )
    c = pa.table({"customer_id": ["a"], "rep_id": ["r1"]})
    manifest = {"settings": {"segments": {"currency_symbol": "€"}}}
    wb = openpyxl.load_workbook(
        write_plan(tmp_path / "p.xlsx", c, {"terms": terms}, manifest=manifest)
    )
    rows = list(wb["Terms"].iter_rows())
    start = next(i for i, r in enumerate(rows) if r[0].value == "terms")
    header = [x.value for x in rows[start]]
    for r in rows[start + 1 :]:
        formats = {r[header.index(h)].number_format for h in ("cost saved", "cost paid", "net")}
        assert len(formats) == 1 and "€" in formats.pop()


def test_whole_contacts_a_year_show_as_whole_numbers(tmp_path: Path) -> None:
    # the plan's visits, calls and e-mails a year are whole: 12, not 12.0, on every call
    # list and in the Summary; a fraction keeps its decimal
    customers, rep_plan = _planned_base()
    emails = customers.column("emails_per_year").to_numpy().copy()
    emails[np.flatnonzero(emails > 0)[0]] += 0.5
    customers = customers.set_column(
        customers.column_names.index("emails_per_year"), "emails_per_year", pa.array(emails)
    )
    wb = openpyxl.load_workbook(
        write_plan(tmp_path / "plan.xlsx", customers, {"rep_plan": rep_plan})
    )
    contacts = ("Visits", "Calls", "E-mails", "Emails")
    labelled = []  # (label, cell)
    summary = list(wb["Summary"].iter_rows())
    start = next(i for i, r in enumerate(summary) if r[0].value == "Rep")
    labelled += [(str(r[0].value), r[1]) for r in summary[:start]]
    head = [x.value for x in summary[start]]
    labelled += [(str(h), c) for r in summary[start + 1 :] for h, c in zip(head, r, strict=False)]
    for ws in wb.worksheets[4:]:
        head = [x.value for x in ws[1]]
        labelled += [
            (str(h), c) for r in ws.iter_rows(min_row=2) for h, c in zip(head, r, strict=False)
        ]
    checked = set()
    for label, cell in labelled:
        if not label.startswith(contacts) or not isinstance(cell.value, int | float):
            continue
        checked.add(label)
        fraction = label.startswith(("E-mails", "Emails"))
        assert ("." in cell.number_format) == fraction, (label, cell.coordinate, cell.number_format)
    assert len(checked) == 9, checked


def test_sheet_names_are_valid_and_unique() -> None:
    names = _sheet_names(["a/b", "A_B", "x" * 40, "History", "[q]"], ["Summary"])
    assert names == ["a_b", "A_B~2", "x" * 31, "History_", "_q_"]
    # a control character, which Excel cannot read in a sheet's name
    assert _sheet_names(["A\x07B", "C\x7fD"], []) == ["A_B", "C_D"]


def test_rep_ids_excel_would_refuse_as_sheet_names_still_get_a_sheet_each(tmp_path: Path) -> None:
    # Excel (and XlsxWriter, which refused the whole workbook) counts a name in UTF-16 code
    # units, an emoji two, and refuses an apostrophe at either end, also one a cut leaves
    reps = [
        "Key Account Team (Cork) - Jo O'Shea",  # the 31st character is the apostrophe
        "\U0001f600" * 16 + " Team",  # 21 characters, 37 UTF-16 code units
        "\U0001f600" * 16 + " Team B",
        "'" * 3,
        "'Quoted'",
        "x" * 29 + "'y",
        "x" * 29 + "'z",
    ]
    c = pa.table(
        {
            "customer_id": [f"c{i}" for i in range(len(reps))],
            "assigned_rep": reps,
            "visits_per_year": [1.0] * len(reps),
        }
    )
    wb = openpyxl.load_workbook(write_plan(tmp_path / "p.xlsx", c))
    sheets = [ws.title for ws in wb.worksheets]
    assert all(len(n.encode("utf-16-le")) // 2 <= 31 for n in sheets)
    assert not any(n.startswith("'") or n.endswith("'") for n in sheets)
    assert len({n.lower() for n in sheets}) == len(sheets)
    assert "Key Account Team (Cork) - Jo O" in sheets
    assert "rep" in sheets and "Quoted" in sheets
    # every rep's call list is a sheet of its own, with its customer on it
    holding = {
        v: ws.title
        for ws in wb.worksheets
        for row in ws.iter_rows(values_only=True)
        for v in row
        if isinstance(v, str) and v in {f"c{i}" for i in range(len(reps))}
    }
    assert len(set(holding.values())) == len(reps)


def test_rep_names_from_inputs_are_neutralised_in_the_summary(tmp_path: Path) -> None:
    c = pa.table(
        {"customer_id": ["a", "b"], "assigned_rep": ["@rep", "+rep"], "visits_per_year": [1.0, 2.0]}
    )
    wb = openpyxl.load_workbook(write_plan(tmp_path / "p.xlsx", c))
    cells = [c for row in wb["Summary"].iter_rows() for c in row if c.value in ("@rep", "+rep")]
    # rep and sheet name columns
    assert len(cells) == 4 and all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_a_rep_name_shaped_like_xml_markup_stays_text_on_every_sheet(tmp_path: Path) -> None:
    # XlsxWriter copies text shaped as its rich-string markup into the file as XML
    evil = "<r><t>x</t></r><si><t>injected</t></si><r>"
    evil = evil + "</r>"
    c = pa.table(
        {"customer_id": ["a", "b"], "assigned_rep": [evil, "R1"], "visits_per_year": [1.0, 2.0]}
    )
    path = write_plan(tmp_path / "p.xlsx", c)
    wb = openpyxl.load_workbook(path)  # a corrupted workbook would not load
    shown = [
        cell.value
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and cell.value.startswith("<r>")
    ]
    # the name itself (a zero-width space after it), and the sheet name made from it
    assert evil + "\u200b" in shown
    with zipfile.ZipFile(path) as z:
        assert not any(b"<t>injected</t>" in z.read(n) for n in z.namelist())


def test_control_characters_in_input_text_are_shown_as_the_csv_files_show_them(
    tmp_path: Path,
) -> None:
    # a bell, an escape sequence, a form feed, a NUL and DEL become U+FFFD, as in the CSV
    # files (not XlsxWriter's _x0007_ escapes, nor a raw DEL); a tab and the line breaks of a
    # multi-line cell stay; the call lists (rows made in Arrow), the summary's rep column
    # and the sheets written cell by cell follow the same rule
    name = "Acme\x07 Ltd\x1b[2J\x0cff\x00\x7f\tline\nbreak"
    shown = "Acme\ufffd Ltd\ufffd[2J\ufffdff\ufffd\ufffd\tline\nbreak"
    c = pa.table(
        {
            "customer_id": ["a", "b"],
            "name": [name, "Beta"],
            "assigned_rep": ["R\x07one", "R\x07one"],
            "class_reason": ["A: top\x1b[31m", "B"],
            "expected_contribution_plan": [2.0, 1.0],
        }
    )
    segments = pa.table({"value_class": ["A"], "profile": ["buys \x07 often"]})
    path = write_plan(tmp_path / "p.xlsx", c, {"segments": segments})
    wb = openpyxl.load_workbook(path)
    call_list = _rows(wb.worksheets[4])
    assert call_list[0]["Name"] == shown
    assert call_list[0]["Reason"] == "A: top\ufffd[31m"
    summary = [cell.value for row in wb["Summary"].iter_rows() for cell in row]
    assert "R\ufffdone" in summary
    definitions = [cell.value for row in wb["Definitions"].iter_rows() for cell in row]
    assert "buys \ufffd often" in definitions
    with zipfile.ZipFile(path) as z:
        xml = b"".join(z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", xml)
    assert not re.search(rb"_x00(0[0-8BC]|0[EF]|1[0-9A-F])_", xml)


def _inline_strings(xml: str) -> dict[str, str]:
    """Cell reference -> the inline string XML of each text cell of a sheet."""
    return dict(re.findall(r'<c r="([A-Z]+\d+)"[^>]*t="inlineStr"><is>(.*?)</is></c>', xml))


def test_call_list_cells_are_written_as_xlsxwriter_writes_them(tmp_path: Path) -> None:
    # the call lists' rows are made in Arrow, not by XlsxWriter: each text cell must hold
    # what XlsxWriter's own inline string would (escapes, white space, length), each
    # number its exact value, each format and quote prefix as XlsxWriter sets them
    names = [
        "=1+1", "  lead", "trail ", "\u00a0nbsp", "a&b<c>d", "x\x01y\x1fz", "_x0041_ kept",
        "@sum", "-4", "+x", "\ttab", "\rcr", "emoji \U0001f600", None, "plain", "x" * 40_000,
        "\U0001f600" * 20_000, "line\nbreak", "<r><t>rich</t></r>", "Köln",
    ]  # fmt: skip
    n = len(names)
    visits = [4.0, float("nan"), 1e300, -0.0, 1e-7, 1e20, 1 / 3, 2.5, None, 0.1] * 2
    c = pa.table(
        {
            "customer_id": [f"c{i:02d}" for i in range(n)],
            "name": names,
            "assigned_rep": ["r1"] * n,
            "visits_per_year": visits,
            "expected_contribution_plan": [float(n - i) for i in range(n)],  # keeps the order
        }
    )
    path = write_plan(tmp_path / "p.xlsx", c)
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet5.xml").decode()
    ours = _inline_strings(sheet)
    ref_path = tmp_path / "ref.xlsx"
    ref = xlsxwriter.Workbook(str(ref_path), {"constant_memory": True, "strings_to_urls": False})
    ws = ref.add_worksheet()
    markup = "<r><t>rich</t></r>"
    for i, name in enumerate(names):
        if name is not None and name != markup:
            # a control character is shown as U+FFFD, as in the CSV files
            ws.write_string(i + 1, 2, visible_control_text(name))
    ref.close()
    with zipfile.ZipFile(ref_path) as z:
        expected = _inline_strings(z.read("xl/worksheets/sheet1.xml").decode())
    # XlsxWriter passes text shaped like its rich-string markup into the XML as it is; an
    # input's text is written as text
    row = names.index(markup) + 2
    assert ours.pop(f"C{row}") == "<t>&lt;r&gt;&lt;t&gt;rich&lt;/t&gt;&lt;/r&gt;</t>"
    assert {k: v for k, v in ours.items() if k.startswith("C")} == expected
    rows = _rows(openpyxl.load_workbook(path)["r1"])
    for row, name, v in zip(rows, names, visits, strict=True):
        assert (row["Name"] is not None) == (name is not None)
        want = None if v is None or v != v else v
        assert row["Visits / year"] == want, (name, v)
    wb = openpyxl.load_workbook(path)
    cells = {cell.value: cell for cell in wb["r1"]["C"][1:] if cell.value is not None}
    assert cells["=1+1"].quotePrefix and cells["@sum"].quotePrefix and cells["-4"].quotePrefix
    assert not cells["plain"].quotePrefix and not cells["Köln"].quotePrefix
    assert wb["r1"]["D2"].number_format == "0.0"
    assert wb["r1"].max_row == n + 1


def test_dates_are_excel_dates_and_true_false_are_booleans(tmp_path: Path) -> None:
    import datetime as dt

    c = pa.table(
        {
            "customer_id": ["a", "b", "c"],
            "name": ["=1+1", "B", "C"],
            "assigned_rep": ["r1", "r1", "r1"],
            "visits_per_year": [4.0, 2.0, 1.0],
        }
    )
    terms = pa.table(
        {
            "tier": ["gold", "silver"],
            "rule": ["=minimum order", "payment days"],
            "pays_for_itself": [True, False],
            "review_on": pa.array([dt.date(2026, 3, 31), None], pa.date32()),
        }
    )
    segments = pa.table(
        {
            "segment": ["A", "B"],
            "stable": [True, None],
            "since": pa.array(
                [dt.datetime(2025, 1, 2, 12, 30), dt.datetime(1999, 12, 31)], pa.timestamp("ms")
            ),
        }
    )
    path = write_plan(
        tmp_path / "plan.xlsx",
        c,
        {"terms": terms, "segments": segments},
        manifest={"as_of": "2025-12-31"},
    )
    wb = openpyxl.load_workbook(path)
    as_of = wb["Summary"]["B3"]
    assert wb["Summary"]["A3"].value == "As of"
    assert as_of.is_date and as_of.value == dt.datetime(2025, 12, 31)
    assert as_of.number_format == "yyyy-mm-dd"
    t = [r for r in wb["Terms"].iter_rows(min_row=4)]
    assert [r[2].value for r in t] == [True, False] and t[0][2].data_type == "b"
    assert t[0][3].is_date and t[0][3].value == dt.datetime(2026, 3, 31) and t[1][3].value is None
    assert t[0][1].value == "=minimum order" and t[0][1].quotePrefix  # text stays text
    d = wb["Definitions"]
    stable = [d.cell(row=3, column=2).value, d.cell(row=4, column=2).value]
    assert stable == [True, None] and d.cell(row=3, column=2).data_type == "b"
    since = d.cell(row=3, column=3)
    assert since.is_date and since.value == dt.datetime(2025, 1, 2, 12, 30)
    assert since.number_format == "yyyy-mm-dd hh:mm"
    assert wb["r1"]["C2"].quotePrefix


@pytest.mark.parametrize(
    "special",
    [
        "=1+1", "@sum", "-4", "\ttab", "\rcr", "  lead", "trail ", "\u00a0nbsp", "nbsp\u00a0",
        "\u3000ideo", "end\u2028", "x\x85", "a&b", "a<b", "a>b", "x\x01y", "_x0041_ kept",
        "\ufffe", "x" * 40_000, "\U0001f600" * 20_000,
    ],
)  # fmt: skip
def test_one_special_text_among_plain_ones_is_written_as_xlsxwriter_writes_it(
    tmp_path: Path, special: str
) -> None:
    # what a column's text may hold is read from its bytes before any rule runs over it:
    # one value needing a rule, among plain ones, must still get it
    names = ["plain", special, "Köln", None, "word"]
    n = len(names)
    c = pa.table(
        {
            "customer_id": [f"c{i:02d}" for i in range(n)],
            "name": names,
            "assigned_rep": ["r1"] * n,
            "expected_contribution_plan": [float(n - i) for i in range(n)],
        }
    )
    path = write_plan(tmp_path / "p.xlsx", c)
    with zipfile.ZipFile(path) as z:
        ours = _inline_strings(z.read("xl/worksheets/sheet5.xml").decode())
    ref_path = tmp_path / "ref.xlsx"
    ref = xlsxwriter.Workbook(str(ref_path), {"constant_memory": True, "strings_to_urls": False})
    ws = ref.add_worksheet()
    for i, name in enumerate(names):
        if name is not None:
            ws.write_string(i + 1, 2, visible_control_text(name))
    ref.close()
    with zipfile.ZipFile(ref_path) as z:
        expected = _inline_strings(z.read("xl/worksheets/sheet1.xml").decode())
    assert {k: v for k, v in ours.items() if k.startswith("C")} == expected
    cell = openpyxl.load_workbook(path)["r1"]["C3"]
    assert bool(cell.quotePrefix) == special.startswith(("=", "@", "-", "\t", "\r"))


def _planned_base(with_team: bool = True, n: int = 80, seed: int = 3) -> tuple[pa.Table, pa.Table]:
    """A small base planned by the coverage stage, with a team that has an inside rep
    (else without a reps file: today's reps, no inside team)."""
    from tierwise.coverage.stage import coverage_plan
    from tierwise.settings.coverage import CoverageSettings
    from tierwise.settings.segments import SegmentSettings

    rng = np.random.default_rng(seed)
    cls = rng.choice(["A", "B", "C", "D"], n, p=[0.1, 0.25, 0.3, 0.35])
    region = rng.choice(["N", "S"], n)
    wallet = np.exp(rng.normal(10, 0.8, n)) * np.select([cls == "A", cls == "B"], [4, 2], 1)
    customers = pa.table(
        {
            "customer_id": [f"C{i:03d}" for i in range(n)],
            "value_class": cls,
            "tier": [{"A": "gold", "B": "silver"}.get(c, "bronze") for c in cls],
            "region": region,
            "rep_id": np.where(region == "N", "N1", "S1"),
            "lat": np.where(region == "N", 53.5, 51.5) + rng.normal(0, 0.3, n),
            "lon": rng.normal(-1.5, 0.3, n),
            "wallet": wallet,
            "revenue_12m": wallet * rng.uniform(0.2, 0.6, n),
            "gross_margin_rate_pnl": rng.uniform(0.2, 0.4, n),
        }
    )
    team = pa.table(
        {
            "rep_id": ["N1", "S1", "K1", "I1"],
            "role": ["field", "field", "key_account", "inside"],
            "hours_per_year": [1600.0, 1600.0, 1500.0, 1700.0],
            "region": ["N", "S", None, None],
            "home_lat": [53.5, 51.5, 52.5, 52.5],
            "home_lon": [-1.5, -1.6, -1.9, -1.9],
        }
    )
    res = coverage_plan(
        customers,
        CoverageSettings(),
        programmes=SegmentSettings().programmes,
        reps=team if with_team else None,
    )
    return customers.join(res.customers, "customer_id"), res.tables["rep_plan"]


@pytest.mark.parametrize("with_team", [True, False], ids=["reps file", "no reps file"])
def test_each_reps_contribution_counts_every_account_it_carries_whatever_the_channel(
    tmp_path: Path, with_team: bool
) -> None:
    customers, rep_plan = _planned_base(with_team)
    channels = customers.column("channel").to_pylist()
    owners = customers.column("assigned_rep").to_pylist()
    # with a team, its inside rep carries the customers the plan calls; those the plan
    # e-mails have no planned rep and stay with today's
    if with_team:
        assert {o for o, c in zip(owners, channels, strict=True) if c == "inside"} == {"I1"}
    assert None in owners
    today = dict(
        zip(
            customers.column("customer_id").to_pylist(),
            customers.column("rep_id").to_pylist(),
            strict=True,
        )
    )
    planned = dict(zip(customers.column("customer_id").to_pylist(), owners, strict=True))
    wb = openpyxl.load_workbook(
        write_plan(tmp_path / "plan.xlsx", customers, {"rep_plan": rep_plan})
    )
    rows = list(wb["Summary"].iter_rows(values_only=True))
    facts = {r[0]: r[1] for r in rows}
    start = next(i for i, r in enumerate(rows) if r[0] == "Rep")
    header = rows[start]
    end = next(i for i, r in enumerate(rows) if r[0] == "Total")
    per_rep = [dict(zip(header, r, strict=True)) for r in rows[start + 1 : end]]
    total = dict(zip(header, rows[end], strict=True))
    plan = {r["rep_id"]: r for r in rep_plan.to_pylist()}
    for row in per_rep:
        on_sheet = _rows(wb[row["Sheet"]]) if row["Sheet"] else []
        for r in on_sheet:
            account = r["Account"]
            assert planned[account] == row["Rep"] or (
                planned[account] is None and today[account] == row["Rep"]
            ), (row["Rep"], account)
        carried = sum(r["Expected contribution"] for r in on_sheet)
        assert row["Accounts"] == len(on_sheet), row["Rep"]
        assert row["Expected contribution"] == pytest.approx(carried), row["Rep"]
        if row["Rep"] in plan:  # a rep of the team: its hours from rep_plan
            assert row["Hours used"] == pytest.approx(plan[row["Rep"]]["hours_used"])
    # every rep of the team is listed, with or without accounts, and the column adds up
    assert set(plan) <= {r["Rep"] for r in per_rep}
    whole = facts["Expected contribution of the plan"]
    assert sum(r["Expected contribution"] for r in per_rep) == pytest.approx(whole)
    assert total["Expected contribution"] == pytest.approx(whole)
    if with_team:
        capacity = sum(r["capacity_hours"] for r in plan.values())
        assert total["Capacity hours"] == pytest.approx(capacity)
    else:  # no hours limit: no capacity, and no total of it
        assert total["Capacity hours"] is None
    assert total["Accounts"] == customers.num_rows
    # every account has a rep today: none is left unassigned
    assert "(unassigned)" not in {r["Rep"] for r in per_rep}


@pytest.mark.parametrize("with_plan", [True, False], ids=["coverage plan", "no plan"])
def test_a_plan_of_no_customer_is_a_workbook_of_empty_lists(
    tmp_path: Path, with_plan: bool
) -> None:
    """No customer (every one filtered out, or an empty plan from the coverage stage): the
    Summary lists no rep and totals 0 instead of failing."""
    customers = pa.table(
        {
            "customer_id": pa.array([], pa.string()),
            "rep_id": pa.array([], pa.string()),
            "visits_per_year": pa.array([], pa.float64()),
        }
    )
    if with_plan:
        customers = customers.append_column("assigned_rep", pa.array([], pa.string()))
    wb = openpyxl.load_workbook(write_plan(tmp_path / "plan.xlsx", customers))
    rows = list(wb["Summary"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == "Rep")
    end = next(i for i, r in enumerate(rows) if r[0] == "Total")
    assert end == start + 1  # no rep between the header and the total
    assert rows[end][rows[start].index("Accounts")] == 0


def test_accounts_without_a_rep_are_listed_under_the_runs_unassigned_name(
    tmp_path: Path,
) -> None:
    # the name targets.csv gives them ([terms] unassigned_rep), read from the run's manifest
    c = pa.table({"customer_id": ["a", "b"], "rep_id": ["r1", None]})
    manifest = {"settings": {"terms": {"unassigned_rep": "Open territory"}}}
    wb = openpyxl.load_workbook(write_plan(tmp_path / "p.xlsx", c, manifest=manifest))
    assert wb.sheetnames[4:] == ["Open territory", "r1"]
    assert wb["Open territory"]["B2"].value == "b"
    # without settings in the manifest, the setting's default
    wb = openpyxl.load_workbook(write_plan(tmp_path / "q.xlsx", c))
    assert wb.sheetnames[4:] == ["(unassigned)", "r1"]


def test_the_summary_counts_the_reps_not_the_list_of_accounts_no_rep_carries(
    tmp_path: Path,
) -> None:
    # accounts whose rep is not in the team, or who have none, are listed apart; that list
    # has a row of its own in "Per rep" but is no rep of the team
    customers, rep_plan = _planned_base()
    rep_id = customers.column("rep_id").to_pylist()
    rep_id[0] = None
    customers = customers.set_column(
        customers.column_names.index("rep_id"), "rep_id", pa.array(rep_id, pa.string())
    )
    customers = customers.set_column(
        customers.column_names.index("assigned_rep"),
        "assigned_rep",
        pa.array([None] * customers.num_rows, pa.string()),
    )
    wb = openpyxl.load_workbook(
        write_plan(tmp_path / "plan.xlsx", customers, {"rep_plan": rep_plan})
    )
    rows = list(wb["Summary"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == "Rep")
    end = next(i for i, r in enumerate(rows) if r[0] == "Total")
    listed = [r[0] for r in rows[start + 1 : end]]
    assert "(unassigned)" in listed
    facts = {r[0]: r[1] for r in rows[:start]}
    assert facts["Reps"] == rep_plan.num_rows == len(listed) - 1


def test_text_of_no_characters_is_a_blank_cell_on_every_sheet(tmp_path: Path) -> None:
    # a segments or terms row with nothing to say in a column (a tier's empty rebate, a
    # profile of no niche) leaves the cell blank, as on the call lists: not a string cell
    # holding "" that a spreadsheet counts as filled
    c = pa.table(
        {
            "customer_id": ["a", "b"],
            "name": ["", "B"],
            "assigned_rep": ["r1", "r1"],
            "visits_per_year": [4.0, 2.0],
        }
    )
    segments = pa.table({"segment": ["A", "B"], "profile": ["", "big buyers"], "n": [1, 2]})
    terms = pa.table({"tier": ["gold", "silver"], "rule": ["rebate", ""], "rebate": ["", "1%"]})
    tables = {"segments": segments, "terms": terms, "targets": terms}
    wb = openpyxl.load_workbook(write_plan(tmp_path / "p.xlsx", c, tables))
    empty = [
        f"{ws.title}!{cell.coordinate}"
        for ws in wb
        for row in ws.iter_rows()
        for cell in row
        if cell.value == ""
    ]
    assert empty == []
    # the cells beside them are still written
    assert wb["Definitions"]["B4"].value == "big buyers" and wb["Definitions"]["B3"].value is None
    assert wb["Terms"]["C5"].value == "1%" and wb["Terms"]["B5"].value is None
    assert wb["r1"]["C3"].value == "B" and wb["r1"]["C2"].value is None


def test_reps_and_accounts_of_equal_priority_are_in_the_order_python_sorts_their_text(
    tmp_path: Path,
) -> None:
    # sheets by rep, and accounts of one priority by id, in code point order (upper case
    # before lower case, accented letters after z)
    reps = ["zoe", "Émile", "Zoë", "ann", "Bob", "émil"]
    ids = ["b", "B", "é", "a", "Ä", "ab", "A", "e", "aa", "z", "Z", "ä"]
    rows = [(f"{x}-{k}", rep) for k, rep in enumerate(reps) for x in ids]
    c = pa.table(
        {
            "customer_id": [r[0] for r in rows],
            "assigned_rep": [r[1] for r in rows],
            "expected_contribution_plan": [1.0] * len(rows),
        }
    )
    wb = openpyxl.load_workbook(write_plan(tmp_path / "p.xlsx", c))
    assert wb.sheetnames[4:] == sorted(reps)
    for ws in wb.worksheets[4:]:
        listed = [r["Account"] for r in _rows(ws)]
        assert listed == sorted(i for i, rep in rows if rep == ws.title)
