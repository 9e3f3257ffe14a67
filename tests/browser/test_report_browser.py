"""report.html in headless Chromium: offline, no console error, every chart drawn, and a
layout that fits a phone, an A4 page and a sticky header."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierwise.report import build_report

pytestmark = pytest.mark.browser


#: A phone's screen (CSS pixels), and the width of an A4 page less report.css's 12 mm margins.
PHONE = {"width": 390, "height": 844}
A4_PRINTABLE = {"width": 703, "height": 1040}


def _open(
    browser: Any, path: Path, viewport: dict[str, int] | None = None
) -> tuple[Any, list[str], list[str], list[str]]:
    page = browser.new_page(viewport=viewport or {"width": 1200, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('[data-spec]'))"
        ".every(e => e.getAttribute('data-rendered'))",
        timeout=60_000,
    )
    return page, errors, requests, dialogs


@pytest.mark.parametrize("folder", ["report_demo_out", "report_full_out"])
def test_report_renders_offline_with_every_chart(
    browser: Any, folder: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    out: Path = request.getfixturevalue(folder)
    path = build_report(out, target=tmp_path / "report.html")
    page, errors, requests, dialogs = _open(browser, path)
    states = page.eval_on_selector_all(
        "[data-spec]",
        "els => els.map(e => [e.id, e.getAttribute('data-rendered'),"
        " e.querySelectorAll('svg .role-mark > *').length])",
    )
    assert states, "the report has no chart"
    assert all(state == "1" and marks > 0 for _, state, marks in states), states
    assert errors == []
    assert requests == [path.as_uri()], "the report asked for something beyond its own file"
    assert dialogs == []
    # the hostile name is shown as text where the report lists customers
    shot = tmp_path / f"report-{folder}.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    page.close()


def test_a_hovered_point_shows_its_customer(
    browser: Any, report_full_out: Path, tmp_path: Path
) -> None:
    path = build_report(report_full_out, target=tmp_path / "report.html")
    page, errors, _, dialogs = _open(browser, path)
    point = page.locator("#matrix .role-mark path").first
    point.hover(force=True)
    page.wait_for_selector("#vg-tooltip-element.visible", timeout=10_000)
    text = page.inner_text("#vg-tooltip-element")
    assert "customer" in text
    assert errors == [] and dialogs == []
    page.close()


def test_markup_in_inputs_shows_as_text(
    browser: Any, report_full_out: Path, tmp_path: Path
) -> None:
    # cross_sell.csv of the test folder recommends an item named <img src=x onerror=alert(2)>
    path = build_report(report_full_out, target=tmp_path / "report.html")
    page, errors, requests, dialogs = _open(browser, path)
    assert "<img src=x onerror=alert(2)>" in page.inner_text("#crosssell table")
    assert page.locator("img").count() == 0
    assert dialogs == [] and errors == [] and len(requests) == 1
    page.close()


#: Every chart's drawing and legend, [chart id, what, left, right] (CSS pixels).
_CHART_BOXES = """() => Array.from(document.querySelectorAll('.chart')).flatMap(c =>
    Array.from(c.querySelectorAll('svg.marks, canvas, .role-legend')).map(e => {
        const r = e.getBoundingClientRect();
        return [c.id, e.tagName + '.' + e.getAttribute('class'), r.left, r.right];
    }))"""


def _outside(boxes: list[list[Any]], width: int) -> list[list[Any]]:
    return [b for b in boxes if b[2] < 0 or b[3] > width + 0.5]


def test_report_fits_a_phone_screen_without_sideways_scrolling(
    browser: Any, report_full_out: Path, tmp_path: Path
) -> None:
    path = build_report(report_full_out, target=tmp_path / "report.html")
    page, errors, _, _ = _open(browser, path, PHONE)
    width = page.evaluate("() => window.innerWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    boxes = page.evaluate(_CHART_BOXES)
    assert any(b[1].startswith("svg") for b in boxes), "no chart was drawn"
    assert any("role-legend" in b[1] for b in boxes), "no chart has a legend"
    assert _outside(boxes, width) == []
    # the header does not stay over the screen as the page scrolls
    page.mouse.wheel(0, 3000)
    page.wait_for_function("() => window.scrollY > 0")
    header_bottom = page.evaluate(
        "() => document.querySelector('header').getBoundingClientRect().bottom"
    )
    assert header_bottom <= 0.25 * PHONE["height"]
    assert errors == []
    page.screenshot(path=str(tmp_path / "report-phone.png"), full_page=False)
    page.close()


def test_printed_charts_fit_an_a4_page_with_their_legends(
    browser: Any, report_full_out: Path, tmp_path: Path
) -> None:
    path = build_report(report_full_out, target=tmp_path / "report.html")
    page, errors, _, _ = _open(browser, path)
    page.emulate_media(media="print")
    page.set_viewport_size(A4_PRINTABLE)
    page.wait_for_timeout(200)
    boxes = page.evaluate(_CHART_BOXES)
    assert any("role-legend" in b[1] for b in boxes), "no chart has a legend"
    assert _outside(boxes, A4_PRINTABLE["width"]) == []
    assert page.pdf(format="A4", prefer_css_page_size=True)[:5] == b"%PDF-"
    assert errors == []
    page.close()


@pytest.mark.parametrize(
    "viewport", [PHONE, {"width": 1280, "height": 800}], ids=["phone", "desktop"]
)
def test_a_nav_link_shows_its_section_heading_below_the_header(
    browser: Any, report_full_out: Path, tmp_path: Path, viewport: dict[str, int]
) -> None:
    path = build_report(report_full_out, target=tmp_path / "report.html")
    page, errors, _, _ = _open(browser, path, viewport)
    keys = page.eval_on_selector_all("nav a", "els => els.map(a => a.getAttribute('href'))")
    assert "#crosssell" in keys
    for key in ("#crosssell", keys[-1], keys[1]):
        page.click(f"nav a[href='{key}']")
        page.wait_for_function("k => location.hash === k", arg=key)
        heading_top, header_bottom = page.evaluate(
            """k => [document.querySelector(k + ' h2').getBoundingClientRect().top,
                     document.querySelector('header').getBoundingClientRect().bottom]""",
            key,
        )
        assert heading_top >= max(header_bottom, 0), (key, heading_top, header_bottom)
    assert errors == []
    page.close()


#: Every table's box and its widest cell's overflow, [section, caption, left, right,
#: hidden width, cells whose text runs out of them] (CSS pixels).
_TABLE_BOXES = """() => Array.from(document.querySelectorAll('table')).map(t => {
    const r = t.getBoundingClientRect();
    const wrap = t.parentElement;
    const spill = Array.from(t.querySelectorAll('th, td'))
        .filter(c => c.scrollWidth > c.clientWidth + 1).length;
    return [t.closest('section').id, (t.closest('.block').querySelector('h3') || {}).textContent,
            r.left, r.right, wrap.scrollWidth - wrap.clientWidth, spill];
})"""


@pytest.mark.parametrize("folder", ["report_demo_out", "report_full_out"])
def test_printed_tables_fit_the_width_of_an_a4_page(
    browser: Any, folder: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    out: Path = request.getfixturevalue(folder)
    path = build_report(out, target=tmp_path / "report.html")
    page, errors, _, _ = _open(browser, path)
    page.emulate_media(media="print")
    page.set_viewport_size(A4_PRINTABLE)
    page.wait_for_timeout(200)
    boxes = page.evaluate(_TABLE_BOXES)
    # the folders' wide tables: the segment profiles, the reps' plans, the recommendations
    assert {b[1] for b in boxes} >= {"Rep plans", "Recommendations"}
    width = A4_PRINTABLE["width"]
    # no table runs past the page, hides columns in a scroller, or spills out of a cell
    assert [b for b in boxes if b[2] < 0 or b[3] > width + 0.5 or b[4] > 0 or b[5]] == []
    # a table of a few columns repeats its header row on each page it runs onto; one of
    # many prints a row at a time, each value after its column's name
    groups = page.evaluate(
        "() => Array.from(document.querySelectorAll('table:not(.wide) thead'))"
        ".map(h => getComputedStyle(h).display)"
    )
    assert groups and set(groups) == {"table-header-group"}
    if folder == "report_demo_out":  # a whole run: its segment profiles have many columns
        labels = page.evaluate(
            """() => Array.from(document.querySelectorAll('#profiles table.wide tbody td'))
                .slice(0, 2).map(td => getComputedStyle(td, '::before').content)"""
        )
        header = page.evaluate(
            "() => Array.from(document.querySelectorAll('#profiles th')).slice(0, 2)"
            ".map(th => th.textContent)"
        )
        assert labels == [f'"{h}: "' for h in header]
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    assert pdf[:5] == b"%PDF-"
    page.screenshot(path=str(tmp_path / f"report-print-{folder}.png"), full_page=True)
    assert errors == []
    page.close()


def test_printed_tables_with_long_words_fit_the_width_of_an_a4_page(
    browser: Any, report_full_out: Path, tmp_path: Path
) -> None:
    """Real exports hold words longer than a column's share of the page (e-mail addresses,
    product codes): in print they break inside their cell rather than widen the table."""
    path = build_report(report_full_out, target=tmp_path / "report.html")
    page, errors, _, _ = _open(browser, path)
    page.emulate_media(media="print")
    page.set_viewport_size(A4_PRINTABLE)
    # every narrow table's first two columns, where they hold text, a 90-character word
    changed = page.evaluate(
        """() => {
            let n = 0;
            for (const td of document.querySelectorAll(
                    'table:not(.wide) tbody td:not(.num):nth-child(-n+2)')) {
                td.textContent = 'purchasing.department.' + 'x'.repeat(56) + '@example.com';
                n += 1;
            }
            return n;
        }"""
    )
    assert changed > 0
    page.wait_for_timeout(200)
    boxes = page.evaluate(_TABLE_BOXES)
    width = A4_PRINTABLE["width"]
    assert [b for b in boxes if b[2] < 0 or b[3] > width + 0.5 or b[4] > 0 or b[5]] == []
    assert errors == []
    page.close()


def test_a_long_file_path_in_what_the_run_assumed_wraps_on_a_phone(
    browser: Any, report_full_out: Path, tmp_path: Path
) -> None:
    """The notes name an input file by its full path: on a phone the path wraps inside the
    screen rather than widening the page."""
    out = Path(shutil.copytree(report_full_out, tmp_path / "out"))
    manifest = json.loads((out / "manifest.json").read_text())
    file = "/home/sales/shared/exports/erp/december/transactions_all_regions_final.parquet"
    manifest["warnings"] = [
        f"{file}: 152 lines with an order id starting with 'C' are taken as cancellations",
        *(manifest.get("warnings") or []),
    ]
    (out / "manifest.json").write_text(json.dumps(manifest))
    path = build_report(out, target=tmp_path / "report.html")
    page, errors, _, _ = _open(browser, path, PHONE)
    assert file in page.inner_text("main")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    page.screenshot(path=str(tmp_path / "report-phone-long-path.png"), full_page=True)
    assert width <= PHONE["width"], f"the report is {width} px wide"
    assert errors == []
    page.close()


def test_long_text_in_a_table_keeps_its_column_readable_on_a_screen(
    browser: Any, report_full_out: Path, tmp_path: Path
) -> None:
    """A 200-letter name among the high-value customers at risk wraps in its column rather
    than making the table 3,000 px wide; a segment's profile, a sentence, is not squeezed by
    the figures beside it into a strip a few letters wide."""
    out = Path(shutil.copytree(report_full_out, tmp_path / "out"))
    first = pq.read_table(out / "high_value_at_risk.parquet").column("customer_id")[0].as_py()
    customers = pq.read_table(out / "customers.parquet")
    long_name = "W" * 200
    names = [
        long_name if c == first else n
        for c, n in zip(
            customers.column("customer_id").to_pylist(),
            customers.column("name").to_pylist(),
            strict=True,
        )
    ]
    customers = customers.set_column(
        customers.schema.get_field_index("name"), "name", pa.array(names, pa.string())
    )
    pq.write_table(customers, out / "customers.parquet")
    path = build_report(out, target=tmp_path / "report.html")
    page, errors, _, _ = _open(browser, path, {"width": 1280, "height": 900})
    cell = page.locator("td", has_text=long_name)
    assert cell.count() == 1
    box = cell.evaluate(
        "td => { const w = td.closest('.table-wrap'); return [w.scrollWidth, w.clientWidth]; }"
    )
    assert box[0] <= box[1], f"the table is {box[0]} px wide in a block of {box[1]} px"
    # every cell of a sentence is at least 15 characters wide (a digit's width in its font)
    narrow = page.evaluate(
        """() => [...document.querySelectorAll('td')]
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
    )
    page.screenshot(path=str(tmp_path / "report-long-cells.png"), full_page=False)
    assert narrow == []
    assert errors == []
    page.close()
