"""report.html in headless Chromium: offline, no console error, every chart drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tierwise.report import build_report

pytestmark = pytest.mark.browser


def _open(browser: Any, path: Path) -> tuple[Any, list[str], list[str], list[str]]:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
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
