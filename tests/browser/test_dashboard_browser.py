"""The dashboard in headless Chromium: load, filter, look up, override, audit; no script runs."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from report_support import SCRIPT_NAME, customer_id_named
from tierwise.app import create_app, read_overrides
from tierwise.report.html import currency_of

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(out: Path) -> Iterator[str]:
    """The dashboard over ``out`` on a free local port, until the block ends; its address."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(
        create_app(out, user="tester"), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def served(
    report_full_out: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    out = Path(shutil.copytree(report_full_out, tmp_path_factory.mktemp("served") / "out"))
    with _serving(out) as base:
        yield base, out


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    p = browser.new_page()
    p.errors = []
    p.dialogs = []
    p.on("console", lambda m: p.errors.append(m.text) if m.type == "error" else None)
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    p.on("dialog", lambda d: (p.dialogs.append(d.message), d.dismiss()))
    yield p
    assert p.dialogs == [], "a script from the data ran"
    assert p.errors == []
    p.close()


def test_load_filter_look_up_override_and_audit(
    served: tuple[str, Path], page: Any, tmp_path: Path
) -> None:
    base, out = served
    page.goto(base + "/")
    assert page.locator("h1").inner_text() == "Overview"

    # filter: class B through the select (submits on change)
    page.goto(base + "/segments")
    with page.expect_navigation():
        page.select_option("select[name=value_class]", "B")
    in_b = [
        r for r in pq.read_table(out / "customers.parquet").to_pylist() if r["value_class"] == "B"
    ]
    n_b = len(in_b)
    n_p = sum(bool(r.get("is_prospect")) for r in in_b)
    assert page.inner_text("#match-count") == (
        f"{n_b:,} match: {n_b - n_p:,} customer{'s' * (n_b - n_p != 1)} and "
        f"{n_p:,} prospect{'s' * (n_p != 1)}."
        if n_p
        else f"{n_b:,} customers match."
    )
    classes = page.eval_on_selector_all(
        "tbody tr td:nth-child(3)", "tds => tds.map(t => t.innerText)"
    )
    assert classes and set(classes) == {"B"}

    # look up the customer with the hostile name: shown as text, no script runs
    cid = customer_id_named(out, SCRIPT_NAME)
    page.fill("header input[name=q]", cid)
    with page.expect_navigation():
        page.press("header input[name=q]", "Enter")
    assert page.inner_text("#customer-name").startswith(SCRIPT_NAME)
    assert "Why" in page.inner_text("main")

    # override its class with a reason
    computed = page.inner_text("main").split("Computed: class ")[1][0]
    new = "A" if computed != "A" else "B"
    page.select_option("select[name=value_class]", new)
    page.fill("input[name=reason]", "strategic account")
    page.fill("input[name=by]", "ana")
    with page.expect_navigation():
        page.click("button:text('Override')")
    assert f"class {new}" in page.inner_text("#override-in-force")

    # and see it in the audit log
    page.goto(base + "/audit")
    row = page.locator("#audit tbody tr").first.inner_text()
    assert "ana" in row and cid in row and computed in row and new in row
    assert "strategic account" in row
    shot = tmp_path / "dashboard-audit.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert read_overrides(out).column("customer_id").to_pylist() == [cid]


def test_a_keyboard_user_steps_through_a_filter_and_applies_it_with_enter(
    served: tuple[str, Path], page: Any
) -> None:
    base, _out = served
    page.goto(base + "/segments")
    start = page.url
    page.focus("select[name=value_class]")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    # the arrow keys chose without leaving the page
    assert page.url == start
    chosen = page.eval_on_selector("select[name=value_class]", "s => s.value")
    assert chosen
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"value_class={chosen}" in page.url


def test_review_queue_and_rep_plans_load(served: tuple[str, Path], page: Any) -> None:
    base, _ = served
    page.goto(base + "/reps")
    first = page.locator("tbody tr td a").first
    rep = first.inner_text()
    with page.expect_navigation():
        first.click()
    assert page.locator("h1").inner_text() == f"Call list of {rep}"
    page.goto(base + "/review")
    assert page.locator("h1").inner_text() == "Duplicate review"


def test_the_full_report_opens_from_the_dashboard_with_every_chart(
    served: tuple[str, Path], page: Any
) -> None:
    from tierwise.report import build_report

    base, out = served
    if not (out / "report.html").is_file():
        build_report(out)
    page.goto(base + "/report")
    # the dashboard's menu and a way back around the report
    assert page.locator("nav a", has_text="Overview").count() == 1
    assert page.get_by_role("link", name="Back to the overview").count() == 1
    page.wait_for_function(
        "() => document.querySelector('iframe.report').contentDocument === null"
    )  # its own origin: the dashboard's scripts cannot read it, nor it the dashboard
    frame = next(f for f in page.frames if f.url.endswith("/report.html"))
    frame.wait_for_function(
        "() => Array.from(document.querySelectorAll('[data-spec]'))"
        ".every(e => e.getAttribute('data-rendered'))",
        timeout=60_000,
    )
    marks = frame.eval_on_selector_all(
        "[data-spec]", "els => els.map(e => e.querySelectorAll('svg .role-mark > *').length)"
    )
    assert marks and min(marks) > 0, marks
    # its scripts run in a sandbox: an origin of its own, not the dashboard's
    assert frame.evaluate("() => window.origin") == "null"


def test_the_first_tab_reaches_a_skip_link_to_the_page_s_content(
    served: tuple[str, Path], page: Any
) -> None:
    base, _ = served
    page.goto(base + "/segments")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#main"


def test_the_segment_explorer_fits_a_wide_screen_without_a_sideways_scroll(
    served: tuple[str, Path], page: Any
) -> None:
    base, _ = served
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(base + "/segments")
    box = page.evaluate(
        "() => { const w = document.querySelector('.table-wrap');"
        " return [w.scrollWidth, w.clientWidth]; }"
    )
    assert box[0] <= box[1], box


def _replace(t: pa.Table, column: str, new: dict[Any, Any]) -> pa.Table:
    """``t`` with the values of ``column`` that are keys of ``new`` replaced."""
    values = [new.get(v, v) for v in t.column(column).to_pylist()]
    typed = pa.array(values, t.schema.field(column).type)
    return t.set_column(t.schema.get_field_index(column), column, typed)


def test_a_customer_and_a_rep_named_dot_dot_open_their_pages(
    report_full_out: Path, tmp_path: Path, page: Any
) -> None:
    """Ids a browser would resolve as a path's dot segments ("..", "ACME/..") open their own
    pages from the links the dashboard writes, and take an override."""
    out = Path(shutil.copytree(report_full_out, tmp_path / "out"))
    customers = pq.read_table(out / "customers.parquet")
    first, second = customers.column("customer_id").to_pylist()[:2]
    rep = customers.column("assigned_rep")[0].as_py()
    names = customers.column("name").to_pylist()
    names[:2] = ["Dotted customer ..", "Dotted customer ACME/.."]
    customers = _replace(customers, "customer_id", {first: "..", second: "ACME/.."})
    customers = _replace(customers, "assigned_rep", {rep: ".."})
    customers = customers.set_column(
        customers.schema.get_field_index("name"), "name", pa.array(names, pa.string())
    )
    pq.write_table(customers, out / "customers.parquet")
    plan = _replace(pq.read_table(out / "rep_plan.parquet"), "rep_id", {rep: ".."})
    pq.write_table(plan, out / "rep_plan.parquet")
    with _serving(out) as base:
        for cid in ("..", "ACME/.."):
            page.goto(base + "/segments?" + urlencode({"q": f"Dotted customer {cid}"}))
            with page.expect_navigation():
                page.click(f"tbody a:text-is('{cid}')")
            assert page.inner_text("#customer-name").endswith(cid)
            page.select_option("select[name=tier]", index=1)
            page.fill("input[name=reason]", "dots")
            with page.expect_navigation():
                page.click("button:text('Override')")
            assert page.inner_text("#customer-name").endswith(cid)
            assert "dots" in page.inner_text("#override-in-force")
        page.goto(base + "/reps")
        with page.expect_navigation():
            page.click("tbody a:text-is('..')")
        assert page.locator("h1").inner_text() == "Call list of .."
    assert sorted(read_overrides(out).column("customer_id").to_pylist()) == ["..", "ACME/.."]


def test_enter_in_a_review_note_decides_nothing_and_the_buttons_still_work_by_keyboard(
    report_full_out: Path, tmp_path: Path, page: Any
) -> None:
    """Enter in a pair's note or "by" field must not submit "Same company" (the first
    button): a note saying "different" once became a merge. The real buttons stay usable
    from the keyboard."""
    from tierwise.app import read_review_decisions

    out = Path(shutil.copytree(report_full_out, tmp_path / "out"))
    with _serving(out) as base:
        page.goto(base + "/review")
        pair = page.locator("section.pair").first
        note = pair.locator("input[name=reason]")
        note.fill("different VAT numbers, not the same")
        note.press("Enter")
        pair.locator("input[name=by]").press("Enter")
        page.wait_for_timeout(500)  # time for a submission, had there been one
        assert page.url == base + "/review"
        assert read_review_decisions(out).num_rows == 0
        assert note.input_value() == "different VAT numbers, not the same"

        # Tab from the note to "Same company", on to "Different companies", and press it
        note.focus()
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.textContent")
        assert focused == "Different companies"
        with page.expect_navigation():
            page.keyboard.press("Enter")
    decided = read_review_decisions(out).to_pylist()
    assert [d["decision"] for d in decided] == ["reject"]


def test_a_very_long_unbroken_name_wraps_within_the_window(
    report_full_out: Path, tmp_path: Path, page: Any
) -> None:
    # a name of 5,000 letters and no space (a pasted export field): the page keeps to the
    # window's width, the name wrapped, rather than growing a horizontal scroll
    out = Path(shutil.copytree(report_full_out, tmp_path / "out"))
    cid = customer_id_named(out, SCRIPT_NAME)
    long_name = "W" * 5000
    pq.write_table(
        _replace(pq.read_table(out / "customers.parquet"), "name", {SCRIPT_NAME: long_name}),
        out / "customers.parquet",
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    with _serving(out) as base:
        for url in (f"/customers/{quote(cid, safe='')}", "/segments?q=WWWW"):
            page.goto(base + url)
            assert long_name in page.content(), url
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1280, f"{url}: the page is {width} px wide"


def _column(page: Any, heading: str, currency: str = "") -> list[float | None]:
    """The figures of one column of the explorer's table, as shown ("–" for none; money
    with ``currency`` before it)."""
    headings = page.eval_on_selector_all("thead th", "ths => ths.map(t => t.innerText.trim())")
    at = next(i for i, h in enumerate(headings) if h.rstrip(" ▲▼") == heading) + 1
    cells = page.eval_on_selector_all(
        f"tbody tr td:nth-child({at})", "tds => tds.map(t => t.innerText.trim())"
    )
    return [None if c == "–" else _shown_number(c, currency) for c in cells]


def _is_sorted(values: list[float | None], descending: bool) -> bool:
    """Figures in order with the blanks after them."""
    figures = [v for v in values if v is not None]
    blanks_last = values[: len(figures)] == figures
    return blanks_last and figures == sorted(figures, reverse=descending)


def test_the_segment_explorer_sorts_by_its_headings_without_javascript(
    served: tuple[str, Path], browser: Any
) -> None:
    """A manager brings the largest, the least profitable or the most at-risk accounts to the
    top by clicking a heading; the links work with scripts off, keep the filter, and the
    heading says which way the list runs."""
    base, out = served
    currency = currency_of(json.loads((out / "manifest.json").read_text()))
    customers = pq.read_table(out / "customers.parquet")
    klass = max(
        set(customers.column("value_class").to_pylist()) - {None},
        key=customers.column("value_class").to_pylist().count,
    )
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(base + "/segments?" + urlencode({"value_class": klass}))
        n_rows = page.locator("tbody tr").count()
        for heading in ("net profit", "headroom", "value at risk", "revenue 12m"):
            if heading.replace(" ", "_") not in customers.column_names:
                continue
            with page.expect_navigation():
                page.locator("thead a.sort", has_text=heading).click()
            th = page.locator("thead th[aria-sort]")
            assert th.count() == 1 and heading in th.inner_text()
            first = th.get_attribute("aria-sort")
            assert first == "descending", heading  # a figure: the highest first
            assert _is_sorted(_column(page, heading, currency), descending=True), heading
            assert f"value_class={klass}" in page.url
            assert page.locator("tbody tr").count() == n_rows
            assert set(
                page.eval_on_selector_all(
                    "tbody tr td:nth-child(3)", "tds => tds.map(t => t.innerText)"
                )
            ) == {klass}
            # the same heading again: the other way
            with page.expect_navigation():
                page.locator("thead a.sort", has_text=heading).click()
            assert page.locator("thead th[aria-sort]").get_attribute("aria-sort") == "ascending"
            assert _is_sorted(_column(page, heading, currency), descending=False), heading
            assert "lowest first" in page.inner_text("#sort-order")
        # a new filter keeps the order chosen (the form carries it)
        other = sorted(set(customers.column("value_class").to_pylist()) - {None, klass})[0]
        page.select_option("select[name=value_class]", other)
        with page.expect_navigation():
            page.click("#filters button[type=submit]")
        assert f"value_class={other}" in page.url
        assert page.locator("thead th[aria-sort]").get_attribute("aria-sort") == "ascending"
    finally:
        context.close()


def test_the_audit_tables_fit_a_phone_screen(
    report_full_out: Path, tmp_path: Path, page: Any
) -> None:
    """At 375 px the audit log and a customer's history scroll inside their own box, as the
    other tables do; the page itself keeps to the screen's width."""
    out = Path(shutil.copytree(report_full_out, tmp_path / "out"))
    cid = customer_id_named(out, SCRIPT_NAME)
    page.set_viewport_size({"width": 375, "height": 800})
    with _serving(out) as base:
        customer = f"{base}/customers/{quote(cid, safe='')}"
        page.goto(customer)
        page.select_option("select[name=tier]", index=1)
        page.fill("input[name=reason]", "agreed with the regional manager at the spring review")
        with page.expect_navigation():
            page.click("button:text('Override')")
        for name, url in (("customer", customer), ("audit", base + "/audit")):
            page.goto(url)
            assert page.locator("table.audit, table#audit").count() == 1, url
            width = page.evaluate("document.documentElement.scrollWidth")
            page.screenshot(path=str(tmp_path / f"phone-{name}-history.png"))
            assert width <= 375, f"{url}: the page is {width} px wide"


def test_a_very_long_name_leaves_the_explorer_s_other_columns_in_view(
    report_full_out: Path, tmp_path: Path, page: Any
) -> None:
    # a 300-letter name without a space: wrapped in its own column, not a table as wide
    # as the name whose class, tier and figures lie beyond a sideways scroll
    out = Path(shutil.copytree(report_full_out, tmp_path / "out"))
    long_name = "W" * 300
    pq.write_table(
        _replace(pq.read_table(out / "customers.parquet"), "name", {SCRIPT_NAME: long_name}),
        out / "customers.parquet",
    )
    page.set_viewport_size({"width": 1920, "height": 1080})
    with _serving(out) as base:
        page.goto(base + "/segments?q=WWWW")
        assert page.locator("tbody tr").count() == 1
        assert page.locator("tbody td", has_text=long_name).count() == 1
        box = page.evaluate(
            "() => { const w = document.querySelector('.table-wrap');"
            " return [w.scrollWidth, w.clientWidth]; }"
        )
        assert box[0] <= box[1], box
        page.screenshot(path=str(tmp_path / "dashboard-long-name.png"))


def _figures(page: Any) -> dict[str, str]:
    """The customer page's table of every figure, as shown, by column name."""
    rows = page.eval_on_selector_all(
        "table.figures-table tr",
        "trs => trs.map(r => [r.cells[0].innerText, r.cells[1].innerText])",
    )
    return {k: v for k, v in rows}


def _shown_number(text: str, currency: str = "") -> float:
    """A figure as the page writes it ("-£1,234", "43.57") as a number."""
    sign = -1.0 if text.startswith("-") else 1.0
    return sign * float(text.lstrip("-").removeprefix(currency).replace(",", ""))


def test_a_customer_s_figures_read_in_the_units_of_their_columns(
    served: tuple[str, Path], page: Any
) -> None:
    """An ease score (0-100) reads as a score, not a percentage of thousands; a fraction as
    a percentage; a cost as money with the currency; a ratio as a plain figure."""
    base, out = served
    customers = pq.read_table(out / "customers.parquet")
    currency = currency_of(json.loads((out / "manifest.json").read_text()))
    wanted = ("ease_share_invoices_late", "effort_per_margin_unit", "discount_depth", "cogs")
    assert set(wanted) <= set(customers.column_names)
    row = next(
        r
        for r in customers.to_pylist()
        if all(r[c] is not None and r[c] != 0 for c in wanted) and r["ease_share_invoices_late"] > 1
    )
    page.goto(base + "/customers/" + quote(row["customer_id"], safe=""))
    shown = _figures(page)
    score = shown["ease_share_invoices_late"]
    assert "%" not in score and _shown_number(score) == pytest.approx(
        row["ease_share_invoices_late"], abs=0.01
    )
    ratio = shown["effort_per_margin_unit"]
    assert _shown_number(ratio) == pytest.approx(row["effort_per_margin_unit"], abs=0.01)
    depth = shown["discount_depth"]
    assert depth.endswith("%")
    assert _shown_number(depth.removesuffix("%")) == pytest.approx(
        100 * row["discount_depth"], abs=0.05
    )
    cogs = shown["cogs"]
    assert cogs.lstrip("-").startswith(currency), cogs
    assert _shown_number(cogs, currency) == pytest.approx(row["cogs"], abs=0.5)


def test_the_overview_keeps_a_long_file_path_within_a_phone_screen(
    report_full_out: Path, tmp_path: Path, page: Any
) -> None:
    """What the run assumed names the input file by its full path; on a phone the path wraps
    inside the screen rather than widening the page."""
    out = Path(shutil.copytree(report_full_out, tmp_path / "out"))
    manifest = json.loads((out / "manifest.json").read_text())
    path = "/home/sales/shared/exports/erp/december/transactions_all_regions_final.parquet"
    manifest["warnings"] = [
        f"{path}: 152 lines with an order id starting with 'C' are taken as cancellations",
        *(manifest.get("warnings") or []),
    ]
    (out / "manifest.json").write_text(json.dumps(manifest))
    page.set_viewport_size({"width": 390, "height": 844})
    with _serving(out) as base:
        page.goto(base + "/")
        assert path in page.inner_text("main")
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(tmp_path / "phone-overview.png"), full_page=True)
        assert width <= 390, f"the overview is {width} px wide"


#: the cells of more than 40 characters narrower than 15 digits of their own font
_NARROW_SENTENCES = """() => [...document.querySelectorAll('td')]
    .filter(td => td.innerText.length > 40)
    .map(td => {
        const probe = document.createElement('span');
        probe.textContent = '0'.repeat(15);
        td.appendChild(probe);
        const fifteen = probe.getBoundingClientRect().width;
        probe.remove();
        return [td.innerText.slice(0, 30), td.getBoundingClientRect().width, fifteen];
    })
    .filter(([, width, fifteen]) => width < fifteen)"""


def test_a_customer_s_next_best_products_give_their_reasons_room(
    report_full_out: Path, tmp_path: Path, page: Any
) -> None:
    """The reason of a recommendation, a sentence, reads in a column of its own width, not
    cut every few letters by the figures of cross_sell.csv's other columns beside it."""
    out = Path(shutil.copytree(report_full_out, tmp_path / "out"))
    cid = pq.read_table(out / "customers.parquet").column("customer_id")[0].as_py()
    reason = (
        "47% of 51 look-alikes (C · C1: Few visits) buy SKU00281 (Packaging); buys SKU00328"
        " (Office Supplies), not SKU00281 (Packaging): 20% of orders with SKU00328 also"
        " hold SKU00281"
    )
    row = {
        "customer_id": cid,
        "rank": 1,
        "item": "SKU00281",
        "category": "Packaging",
        "score": 0.58,
        "expected_value": 6.99,
        "source": "peers and rule",
        "reason": reason,
        "peer_group": "C · C1: Few visits",
        "n_peers": 51,
        "peer_share": 0.47,
        "rule_antecedent": "SKU00328",
        "rule_confidence": 0.2,
        "rule_lift": 2.22,
        "typical_spend": 124.91,
        "margin_rate": 0.097,
    }
    pq.write_table(pa.Table.from_pylist([row]), out / "cross_sell.parquet")
    page.set_viewport_size({"width": 1280, "height": 900})
    with _serving(out) as base:
        page.goto(base + "/customers/" + quote(cid, safe=""))
        assert page.locator("td", has_text=reason).count() == 1
        page.screenshot(path=str(tmp_path / "dashboard-next-best-products.png"))
        assert page.evaluate(_NARROW_SENTENCES) == []
