"""report.html: sections from an output folder, missing stages said, text escaped, binned."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from report_support import SCRIPT_NAME, fill_text
from tierwise.report import build_report, render_report
from tierwise.report.charts import matrix_chart, sample_curve
from tierwise.report.html import vendor_script
from tierwise.settings.report import ReportSettings


def _specs(html: str) -> list[dict]:
    blocks = re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', html, re.S)
    return [json.loads(b) for b in blocks]


def _section(html: str, key: str) -> str:
    start = html.index(f'<section id="{key}">')
    return html[start : html.index("</section>", start)]


def test_sections_without_their_stage_say_so(report_bare_out: Path) -> None:
    html = render_report(report_bare_out)
    for key in ("segments", "profiles", "coverage", "crosssell", "terms"):
        assert "Not in this run" in _section(html, key), key
    for key in ("overview", "whale", "matrix", "status", "duplicates", "lifetime", "quality"):
        assert "Not in this run" not in _section(html, key), key


def test_every_section_filled_when_the_stage_tables_exist(report_full_out: Path) -> None:
    html = render_report(report_full_out)
    for key in ("segments", "profiles", "coverage", "crosssell", "terms"):
        assert "Not in this run" not in _section(html, key), key
    # the coverage section draws hours, channel mix, utilisation and sizing
    cov = _section(html, "coverage")
    assert cov.count('class="chart"') == 4


def test_input_text_never_becomes_markup(report_full_out: Path) -> None:
    html = render_report(report_full_out)
    assert SCRIPT_NAME not in html
    assert "<img src=x" not in html
    assert "<b>" not in html  # the profile sentence of segments.csv carries <b>
    # the hostile name is in the data, escaped for the JSON block
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in html
    assert any(
        row.get("name") == SCRIPT_NAME
        for spec in _specs(html)
        for rows in spec.get("datasets", {}).values()
        for row in rows
    )


def test_bundles_are_inlined_once_and_nothing_is_fetched(report_demo_out: Path) -> None:
    html = render_report(report_demo_out)
    for name in ("vega", "vega-lite", "vega-embed"):
        assert html.count(vendor_script(name)) == 1
    assert "default-src 'none'" in html
    assert not re.search(r'<script[^>]+src=|<link[^>]+href=|<img[^>]+src="http', html)


def test_same_folder_gives_the_same_bytes(report_demo_out: Path, tmp_path: Path) -> None:
    a = build_report(report_demo_out, target=tmp_path / "a.html").read_bytes()
    b = build_report(report_demo_out, target=tmp_path / "b.html").read_bytes()
    assert a == b


def test_matrix_is_binned_above_the_row_limit_and_keeps_every_customer() -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    t = pa.table(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "net_profit": rng.normal(1000, 3000, n),
            "wallet": rng.lognormal(9, 1, n),
            "value_class": rng.choice(["A", "B", "C", "D"], n).tolist(),
        }
    )
    chart, facts = matrix_chart(
        t, value="net_profit", potential="wallet", klass="value_class", max_rows=5000, bins=40
    )
    spec = chart.to_dict()  # raises if a chart embeds more than Vega-Altair's 5,000 rows
    rows = next(iter(spec["datasets"].values()))
    assert facts["binned"] and len(rows) <= 40 * 40
    assert sum(r["customers"] for r in rows) == n
    assert {r["class"] for r in rows} <= {"A", "B", "C", "D"}


def test_matrix_shows_each_customer_below_the_limit() -> None:
    t = pa.table(
        {
            "customer_id": ["a", "b", "c"],
            "name": ["A", "B", None],
            "net_profit": [1.0, None, 3.0],
            "wallet": [10.0, 20.0, 30.0],
        }
    )
    chart, facts = matrix_chart(
        t, value="net_profit", potential="wallet", klass=None, max_rows=5000, bins=10
    )
    rows = next(iter(chart.to_dict()["datasets"].values()))
    assert [r["customer_id"] for r in rows] == ["a", "c"]
    assert facts == {"shown": 2, "without_axes": 1, "binned": False}


def test_curve_sampling_keeps_ends_and_the_peak() -> None:
    idx = sample_curve(100_000, 50, keep=(12_345,))
    assert idx[0] == 0 and idx[-1] == 99_999 and 12_345 in idx and len(idx) <= 51


def test_commonest_reject_reasons_per_input(tmp_path: Path) -> None:
    rows = ["file,table,row,column,reason,value"]
    rows += [f"t.csv,transactions,{i},date,not a date,x" for i in range(2, 9)]
    rows += [f"t.csv,transactions,{i},revenue,not a number,y" for i in range(20, 23)]
    rows += ["c.csv,customers,5,customer_id,duplicate key,c1"]
    (tmp_path / "rejects.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    html = render_report(tmp_path, ReportSettings(reject_reasons=1))
    quality = _section(html, "quality")
    assert "not a date" in quality and "duplicate key" in quality
    # one reason per input: the rarer reason of transactions is left out of the table
    assert "not a number" not in quality.split("<table>")[-1]


def test_an_empty_folder_says_what_is_missing(tmp_path: Path) -> None:
    html = render_report(tmp_path)
    assert "customers.parquet / customers.csv is not in the folder" in html
    assert 'class="chart"' not in html


def test_settings_fields_document_their_defaults() -> None:
    for name, field in ReportSettings.model_fields.items():
        assert "default" in (field.description or "").lower(), name


@pytest.mark.parametrize("bins", [0, 71])
def test_matrix_bins_out_of_range_are_refused(bins: int) -> None:
    with pytest.raises(ValueError, match="matrix_bins"):
        ReportSettings(matrix_bins=bins)


def test_a_single_customer_is_counted_in_words(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    t = pa.table({"customer_id": ["A"], "name": ["Acme"], "net_profit": [5.0], "wallet": [9.0]})
    pq.write_table(t, tmp_path / "customers.parquet")
    matrix = _section(render_report(tmp_path), "matrix")
    assert "1 customer." in matrix and "1 customers" not in matrix


def test_recommendations_show_the_first_rows_and_count_every_row(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from tierwise.io.outputs import write_csv

    n = 40
    cs = pa.table(
        {
            "customer_id": [f"c{i:02d}" for i in range(n)],
            "rank": [1] * n,
            "item": ["filters"] * 30 + ["cups"] * 10,
            "expected_value": [2.5] * n,
            "reason": [f"because {i}" for i in range(n)],
        }
    )
    customers = pa.table({"customer_id": [f"c{i:02d}" for i in range(n)], "name": ["Acme"] * n})
    pq.write_table(customers, tmp_path / "customers.parquet")
    pq.write_table(cs, tmp_path / "cross_sell.parquet")
    s = ReportSettings(table_rows=15)
    from_parquet = _section(render_report(tmp_path, s), "crosssell")
    assert "The first 15 of 40 rows; all of them are in cross_sell.csv." in from_parquet
    assert "because 14" in from_parquet and "because 15" not in from_parquet
    # the chart counts every row, not only those the table shows
    spec = json.loads(
        re.search(r'type="application/json"[^>]*>(.*?)</script>', from_parquet, re.S)[1]
    )
    counts = {
        v["item"]: v["recommendations"] for v in spec["datasets"][next(iter(spec["datasets"]))]
    }
    assert counts == {"filters": 30, "cups": 10}
    # a folder with the CSV only reads the same
    (tmp_path / "cross_sell.parquet").unlink()
    write_csv(cs, tmp_path / "cross_sell.csv")
    assert _section(render_report(tmp_path, s), "crosssell") == from_parquet


def test_a_lifetime_stage_without_a_model_and_an_empty_cross_sell_say_why(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    t = pa.table(
        {"customer_id": ["A", "B"], "status": ["active", "lapsed"], "net_profit": [5.0, 1.0]}
    )
    pq.write_table(t, tmp_path / "customers.parquet")
    cs = pa.table({"customer_id": pa.array([], pa.string()), "item": pa.array([], pa.string())})
    pq.write_table(cs, tmp_path / "cross_sell.parquet")
    why = "bgnbd: every customer has repeat purchases; drop-out cannot be identified"
    manifest = {
        "lifetime": {
            "model_choice": {
                "model": None,
                "reason": "no transaction model could be used",
                "candidates": [{"model": "bgnbd", "status": "left out", "reason": why}],
            }
        },
        "crosssell": {"no_recommendation": "the transactions hold one product"},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    html = render_report(tmp_path)
    # the stage ran: the holdout section says why there is no check, not that it did not run
    lifetime = _section(html, "lifetime")
    assert "the lifetime stage did not run" not in lifetime
    assert "no holdout check: no transaction model could be used" in lifetime and why in lifetime
    assert "No lifetime value or value at risk in this run" in _section(html, "status")
    assert "the transactions hold one product" in _section(html, "crosssell")


def test_a_discount_audit_that_audited_nothing_says_so(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from tierwise.terms import discount_audit

    # a run without list_revenue: no customer has a discount depth
    customers = pa.table(
        {
            "customer_id": ["a", "b", "c"],
            "value_class": ["A", "B", "C"],
            "revenue_12m": [1000.0, 500.0, 100.0],
            "discount_depth": pa.nulls(3, pa.float64()),
        }
    )
    pq.write_table(customers, tmp_path / "customers.parquet")
    audit = discount_audit(customers).tables["discount_audit"]
    pq.write_table(audit, tmp_path / "discount_audit.parquet")
    terms = _section(render_report(tmp_path), "terms")
    assert "No discount was audited" in terms
    assert "<table" not in terms and 'class="chart"' not in terms
    # a table of rows that each say "no discount data" audited nothing either
    rows = pa.table(
        {
            "customer_id": ["a", "b"],
            "discount_depth": pa.nulls(2, pa.float64()),
            "discount_flag": ["no discount data"] * 2,
        }
    )
    pq.write_table(rows, tmp_path / "discount_audit.parquet")
    assert "No discount was audited" in _section(render_report(tmp_path), "terms")


#: a customer name with characters a web page may not hold: NUL, BEL, ESC and DEL; and a
#: C1 control (NEL), which is kept as it is
CONTROL_NAME = "Acme\x00Ltd\x07\x1b\x7f\x85 GmbH"


def test_control_characters_in_input_text_are_not_written_into_the_page(
    report_full_out: Path, tmp_path: Path
) -> None:
    out = Path(shutil.copytree(report_full_out, tmp_path / "out"))
    assert fill_text(out, "name", CONTROL_NAME) > 0
    html = render_report(out)
    assert not re.search("[\x00-\x08\x0b\x0e-\x1f\x7f]", html)
    # the name is still shown, each such character as U+FFFD (as a browser shows a NUL)
    assert "Acme\ufffdLtd\ufffd\ufffd\ufffd\x85 GmbH" in html


def test_control_characters_are_shown_as_the_csv_files_show_them_in_charts_and_tables(
    report_full_out: Path, tmp_path: Path
) -> None:
    # the charts' data is JSON in the page: a bell there is the escape \u0007, which the
    # browser turns back into a bell; a form feed is a character a page may hold, but the
    # CSV files show it as U+FFFD, and so does the report
    out = Path(shutil.copytree(report_full_out, tmp_path / "out"))
    assert fill_text(out, "name", "Acme\x07Ltd\x0c\x1b[2J\r\nGmbH") > 0
    html = render_report(out)
    specs = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S)
    named = [s for s in specs if "Acme" in s]
    assert named, "no chart shows a customer's name"
    for spec in named:
        assert "Acme\\ufffdLtd\\ufffd\\ufffd[2J\\r\\nGmbH" in spec
        assert not re.search(r"(?<!\\)(\\\\)*\\(u00(0[0-8bcef]|1[0-9a-f])|[bf])", spec)
        json.loads(spec)  # still JSON
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", html)
    assert "Acme\ufffdLtd\ufffd\ufffd[2J" in html  # the tables


def test_a_run_classed_on_value_alone_says_why_there_is_no_potential_axis(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    t = pa.table({"customer_id": ["A", "B"], "net_profit": [5.0, 1.0], "value_class": ["A", "C"]})
    pq.write_table(t, tmp_path / "customers.parquet")
    skipped = "28 customers with spend in 'revenue_12m' are too few to estimate wallets"
    manifest = {
        "stages": ["profitability", "segments"],
        "settings": {"segments": {"potential_axis": "headroom"}},
        "potential": {"skipped": skipped},
        "segments": {"axes": {"value": "net_profit", "potential": None}},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    matrix = _section(render_report(tmp_path), "matrix")
    assert "None" not in matrix
    assert "no headroom figure" in matrix and "from net_profit alone" in matrix
    assert "the potential stage was skipped: 28 customers with spend" in matrix
    # without a potential block the stage did not run at all
    del manifest["potential"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert "the potential stage did not run" in _section(render_report(tmp_path), "matrix")
    # the potential stage ran, but its wallet told no customer apart: the segments stage's
    # reason, not "gave no customer a headroom"
    weak = "the wallet tells customers apart no better than one wallet for all (skill 0.01"
    manifest["potential"] = {"wallet_skill": {"skill": 0.01}}
    manifest["segments"]["value_only_reason"] = weak + ")"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    matrix = _section(render_report(tmp_path), "matrix")
    assert weak in matrix and "from net_profit alone" in matrix
    assert "gave no customer" not in matrix


def test_a_missing_axis_column_is_named_with_its_stage(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"customer_id": ["A"], "wallet": [9.0]}), tmp_path / "customers.parquet"
    )
    manifest = {"segments": {"axes": {"value": "clv", "potential": "wallet"}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    matrix = _section(render_report(tmp_path), "matrix")
    assert "customers has no clv (the lifetime stage did not run)" in matrix


def _lifetime_manifest(reason: str, **chosen: str) -> dict:
    return {
        "stages": ["lifetime"],
        "lifetime": {
            "model_choice": {
                "model": "bgnbd",
                "method": "fit",
                "reason": reason,
                "candidates": [{"model": "bgnbd", "status": "used", **chosen}],
            }
        },
    }


def test_a_lifetime_stage_without_a_holdout_says_why_not_that_it_did_not_run(
    tmp_path: Path,
) -> None:
    import pyarrow.parquet as pq

    t = pa.table({"customer_id": ["A"], "status": ["active"], "net_profit": [5.0]})
    pq.write_table(t, tmp_path / "customers.parquet")

    def lifetime(manifest: dict) -> str:
        (tmp_path / "manifest.json").write_text(json.dumps(manifest))
        return _section(render_report(tmp_path), "lifetime")

    # the chosen model's fit on the calibration period failed
    failed = "holdout evaluation: bgnbd: degenerate fit (b ran towards infinity)"
    text = lifetime(_lifetime_manifest("BG/NBD: lowest AIC (1,441.6)", holdout_reason=failed))
    assert "did not run" not in text
    assert "the lifetime stage ran (BG/NBD: lowest AIC (1,441.6))" in text and failed in text
    # the history leaves no room for a holdout: the setting that changes it is named
    short = (
        "BG/NBD: lowest AIC (12.0); no holdout: the history is shorter than twice the "
        "90-day holdout"
    )
    text = lifetime(_lifetime_manifest(short))
    assert "did not run" not in text
    assert "the history is shorter than twice the 90-day holdout" in text
    assert "[lifetime] holdout_days" in text
    # skipped by the run: its reason; absent from the manifest: it did not run
    assert "the lifetime stage was skipped: no dates" in lifetime(
        {"lifetime": {"skipped": "no dates"}}
    )
    assert "the lifetime stage did not run" in lifetime({})


def test_a_loss_that_rounds_to_nothing_reads_zero_not_minus_zero(tmp_path: Path) -> None:
    import pyarrow.parquet as pq
    from fastapi.testclient import TestClient

    from tierwise.app import create_app

    t = pa.table(
        {
            "customer_id": ["A", "B"],
            "name": ["Acme", "Bolt"],
            "net_profit": [-0.3, 1500.0],
            "defection_risk": [-0.0001, 0.5],
            "wallet": [9.0, 20.0],
        }
    )
    pq.write_table(t, tmp_path / "customers.parquet")
    cells = re.compile(r"<td[^>]*>\s*-0(?:\.0+)?%?\s*</td>")
    assert not cells.findall(render_report(tmp_path))
    page = TestClient(create_app(tmp_path), base_url="http://127.0.0.1").get("/segments")
    assert page.status_code == 200
    assert ">0<" in page.text.replace(" ", "")
    assert not cells.findall(page.text)


def test_a_plan_without_rep_capacities_says_why_it_draws_no_utilisation(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"customer_id": ["A"], "name": ["Acme"], "net_profit": [5.0]}),
        tmp_path / "customers.parquet",
    )
    # a run without reps: the plan's one row is (unassigned), with no capacity
    pq.write_table(
        pa.table(
            {
                "rep_id": ["(unassigned)"],
                "hours_used": [623.3],
                "capacity_hours": pa.array([None], pa.float64()),
            }
        ),
        tmp_path / "rep_plan.parquet",
    )
    coverage = _section(render_report(tmp_path), "coverage")
    assert "No rep has a capacity in this run" in coverage
    assert not [s for s in _specs(coverage) if "utilisation" in json.dumps(s)]
    assert "Rep plans" in coverage


def test_a_run_without_any_net_profit_says_so_instead_of_an_empty_whale_curve(
    tmp_path: Path,
) -> None:
    import pyarrow.parquet as pq

    # CDNOW: purchases without costs, so no customer has a net profit and the curve is empty
    pq.write_table(
        pa.table({"customer_id": ["A"], "name": ["Acme"]}), tmp_path / "customers.parquet"
    )
    columns = ["rank", "customer_id", "net_profit", "share_of_customers"]
    empty = pa.table(
        {c: pa.array([], pa.float64()) for c in [*columns, "cumulative_share_of_profit"]}
    )
    pq.write_table(empty, tmp_path / "whale_curve.parquet")
    sentence = "no customer has a net profit (no gross margin could be computed)"
    manifest = {"profitability": {"headline": {"sentence": sentence}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    whale = _section(render_report(tmp_path), "whale")
    assert _specs(whale) == []
    assert "No customer has a net profit (no gross margin could be computed)." in whale


def test_a_cross_sell_without_recommendations_draws_no_empty_chart_or_table(
    tmp_path: Path,
) -> None:
    import pyarrow.parquet as pq

    # a one-customer, one-product export: the stage ran and had nothing to offer
    pq.write_table(
        pa.table({"customer_id": ["A"], "name": ["Acme"]}), tmp_path / "customers.parquet"
    )
    cs = pa.table({"customer_id": pa.array([], pa.string()), "item": pa.array([], pa.string())})
    pq.write_table(cs, tmp_path / "cross_sell.parquet")
    rules = pa.table({"antecedent": pa.array([], pa.string()), "lift": pa.array([], pa.float64())})
    pq.write_table(rules, tmp_path / "basket_rules.parquet")
    manifest = {"crosssell": {"no_recommendation": "the transactions hold one product"}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    crosssell = _section(render_report(tmp_path), "crosssell")
    assert "the transactions hold one product" in crosssell
    assert "No basket rule in this run" in crosssell
    assert _specs(crosssell) == [] and "<table" not in crosssell


def test_a_column_of_figures_shows_them_in_one_style_in_the_report_and_the_dashboard(
    tmp_path: Path,
) -> None:
    # travel hours of 219 and 93.77 in one column: both whole, as a spreadsheet's column
    # format would show them, in report.html and on the dashboard's reps page
    import pyarrow.parquet as pq
    from fastapi.testclient import TestClient

    from tierwise.app import create_app

    pq.write_table(
        pa.table({"customer_id": ["A"], "name": ["Acme"], "net_profit": [5.0]}),
        tmp_path / "customers.parquet",
    )
    plan = pa.table(
        {
            "rep_id": ["R1", "R2", "R3"],
            "travel_hours": [219.0, 93.77, 5.5],
            "hours_used": [463.0, 199.0, 12.25],
            "capacity_hours": [1600.0, 1600.0, 1600.0],
        }
    )
    pq.write_table(plan, tmp_path / "rep_plan.parquet")
    travel = re.compile(r'data-label="travel hours">([^<]*)<')
    coverage = _section(render_report(tmp_path), "coverage")
    assert travel.findall(coverage) == ["219", "94", "6"]
    page = TestClient(create_app(tmp_path), base_url="http://127.0.0.1").get("/reps")
    assert page.status_code == 200
    shown = re.findall(r"<td[^>]*>\s*(93\.77|94|5\.50|6)\s*</td>", page.text)
    assert "93.77" not in shown and "5.50" not in shown, shown
    assert "94" in shown, shown
    # a table showing its first rows takes the style from all of them: the two rows shown
    # are whole, as the 219 below them makes the column
    pq.write_table(plan.take([1, 2, 0]), tmp_path / "rep_plan.parquet")
    first_two = render_report(tmp_path, ReportSettings(table_rows=2))
    assert travel.findall(_section(first_two, "coverage")) == ["94", "6"]


def _accounts_folder(folder: Path, master: pa.Table, **settings: object) -> Path:
    """An output folder whose manifest holds the accounts block the stage writes for
    ``master``."""
    from tierwise.accounts import resolve_accounts
    from tierwise.engine import Engine
    from tierwise.settings import AccountSettings

    with Engine().session() as eng:
        res = resolve_accounts(master, AccountSettings(**settings), engine=eng)
    block = {**res.summary, "headline": res.headline}
    (folder / "manifest.json").write_text(json.dumps({"accounts": block}, default=str))
    return folder


def test_duplicates_not_looked_for_say_why(tmp_path: Path) -> None:
    master = pa.table({"customer_id": ["1", "2"], "name": ["Acme Ltd", "Beta GmbH"]})
    dup = _section(render_report(_accounts_folder(tmp_path, master, enabled=False)), "duplicates")
    assert "Duplicates were not looked for: switched off ([accounts] enabled = false)." in dup
    # no figure of merges or pairs that were never looked for
    assert "Accounts merged from several records" not in dup and "Pairs waiting" not in dup
    one = pa.table({"customer_id": ["1"], "name": ["Acme Ltd"]})
    dup = _section(render_report(_accounts_folder(tmp_path, one)), "duplicates")
    assert "Duplicates were not looked for: 1 customer record: nothing to compare." in dup


def test_a_master_with_names_only_says_its_same_name_pairs_wait_for_review(
    tmp_path: Path,
) -> None:
    master = pa.table(
        {"customer_id": ["1", "2", "3"], "name": ["Acme Ltd", "ACME LTD", "Beta GmbH"]}
    )
    dup = _section(render_report(_accounts_folder(tmp_path, master)), "duplicates")
    assert "No record is merged automatically: the customer master has names only" in dup
    assert "1 same-name pair waits for review in review_queue.csv" in dup
    assert "[customers.columns]" in dup


def _money_folder(folder: Path, settings: dict, currency: dict | None = None) -> Path:
    import pyarrow.parquet as pq

    t = pa.table(
        {
            "customer_id": ["a", "b"],
            "revenue_12m": [1234.4, -2000.0],
            "net_profit": [100.0, -300.0],
        }
    )
    pq.write_table(t, folder / "customers.parquet")
    manifest = {"settings": settings, **({"currency": currency} if currency else {})}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_money_shows_the_currency_symbol_when_it_is_set(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    html = render_report(_money_folder(tmp_path, {"segments": {"currency_symbol": "€"}}))
    overview = _section(html, "overview")
    # the total of the two revenues, the minus before the symbol
    assert "-€766" in overview and "-€200" in overview
    assert "Amounts are in" not in html
    # a table's money column and a chart's money axis carry it in their headings
    sizing = pa.table({"field_reps": [1, 2], "expected_contribution": [10.0, 12.0]})
    pq.write_table(sizing, tmp_path / "sizing.parquet")
    coverage = _section(render_report(tmp_path), "coverage")
    assert 'data-label="expected contribution (€)"' in coverage
    assert '"expected contribution (\\u20ac)"' in coverage
    # a code with its space, as plan.xlsx and the reasons print it
    html = render_report(_money_folder(tmp_path, {"segments": {"currency_symbol": "CHF "}}))
    assert "-CHF 766" in _section(html, "overview")


def test_money_without_a_currency_says_so_once_at_the_top(tmp_path: Path) -> None:
    html = render_report(_money_folder(tmp_path, {}))
    note = "Amounts are in the invoices' currency; set [segments] currency_symbol to show it"
    assert html.count(note.replace("'", "&#39;")) == 1
    assert note.replace("'", "&#39;") in _section(html, "overview")
    assert "-766" in _section(html, "overview")
    # the one currency the lines are converted to is named
    rates = {"transactions": {"exchange_rates": {"EUR": 1.0, "USD": 0.92}}}
    html = render_report(_money_folder(tmp_path, rates))
    assert "Amounts are in EUR, the currency [transactions] exchange_rates converts" in html


def test_money_shows_the_currency_the_inputs_name_unless_one_is_set(tmp_path: Path) -> None:
    read = {"symbol": "PLN ", "read_from": [{"file": "f.csv", "column": "kwota", "values": 2}]}
    html = render_report(_money_folder(tmp_path, {}, read))
    overview = _section(html, "overview")
    assert "-PLN 766" in overview and "invoices&#39; currency" not in html
    assert "Amounts are in PLN, the currency f.csv names; set [segments] currency_symbol" in html
    # the symbol set wins, and nothing is said of the inputs' currency
    html = render_report(_money_folder(tmp_path, {"segments": {"currency_symbol": "€"}}, read))
    assert "-€766" in _section(html, "overview") and "Amounts are in" not in html


@pytest.mark.parametrize("bad", ["12", "=SUM", "euros!", "  ", "€\x07"])
def test_a_currency_symbol_that_is_no_currency_is_refused_in_one_line(bad: str) -> None:
    from tierwise.errors import SettingsError
    from tierwise.settings import settings_from_dict

    with pytest.raises(SettingsError) as exc:
        settings_from_dict({"segments": {"currency_symbol": bad}})
    text = str(exc.value)
    assert "\n" not in text and "[segments] currency_symbol" in text
    assert 'such as "€", "$", "EUR" or "CHF "' in text
