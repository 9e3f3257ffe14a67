"""The dashboard through FastAPI's test client: overrides audited, decisions, access rules."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from report_support import SCRIPT_NAME, customer_id_named, fill_text, forms
from tierwise.accounts.review import DECISIONS_SCHEMA, clean_decisions
from tierwise.app import (
    OVERRIDES_SCHEMA,
    create_app,
    read_overrides,
    read_review_decisions,
    serve,
)
from tierwise.errors import SettingsError

LOCAL = "http://127.0.0.1"


@pytest.fixture
def out(report_full_out: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(report_full_out, tmp_path / "out"))


def _csrf(client: TestClient, url: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', client.get(url).text)
    assert m is not None
    return m.group(1)


def _form(client: TestClient, url: str, index: int = 0) -> dict[str, str]:
    return forms(client.get(url).text)[index]


def test_every_page_answers(out: Path) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    cid = customer_id_named(out, SCRIPT_NAME)
    for url in (
        "/",
        "/segments?value_class=A",
        f"/customers/{cid}",
        "/reps",
        "/reps/R0001",
        "/review",
        "/audit",
        "/downloads",
        "/download/segments.csv",
        "/static/app.js",
    ):
        assert client.get(url).status_code == 200, url


def _match_count(rows: list[dict[str, Any]]) -> str:
    """The explorer's count of ``rows`` (customers.parquet's), prospects counted apart."""
    n_p = sum(bool(r.get("is_prospect")) for r in rows)
    if not n_p:
        return f"{len(rows):,} customers match."
    n_c = len(rows) - n_p
    return (
        f"{len(rows):,} match: {n_c:,} {'customer' if n_c == 1 else 'customers'} and "
        f"{n_p:,} {'prospect' if n_p == 1 else 'prospects'}."
    )


def test_segment_filter_returns_only_that_class(out: Path) -> None:
    import pyarrow.parquet as pq

    client = TestClient(create_app(out), base_url=LOCAL)
    page = client.get("/segments", params={"value_class": "B"}).text
    rows = pq.read_table(out / "customers.parquet").to_pylist()
    assert _match_count([r for r in rows if r["value_class"] == "B"]) in html.unescape(page)


def test_the_explorer_counts_prospects_apart_from_customers(out: Path) -> None:
    import pyarrow.parquet as pq

    # the overview's card counts customers and prospects apart: the explorer's count agrees
    rows = pq.read_table(out / "customers.parquet").to_pylist()
    n_p = sum(bool(r.get("is_prospect")) for r in rows)
    assert 0 < n_p < len(rows)
    page = html.unescape(TestClient(create_app(out), base_url=LOCAL).get("/segments").text)
    assert f"{len(rows):,} match: {len(rows) - n_p:,} customers and {n_p:,} prospects." in page


def test_override_is_stored_audited_and_read_for_the_next_run(out: Path) -> None:
    client = TestClient(create_app(out, user="tester"), base_url=LOCAL)
    cid = customer_id_named(out, SCRIPT_NAME)
    before = client.get(f"/customers/{cid}").text
    computed = re.search(r"Computed: class (\w+)", before).group(1)
    new = "A" if computed != "A" else "B"
    r = client.post(
        f"/customers/{cid}/override",
        data={
            "csrf": _csrf(client, f"/customers/{cid}"),
            "value_class": new,
            "reason": "strategic account",
            "by": "ana",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    audit = client.get("/audit").text
    assert "strategic account" in audit and "ana" in audit
    entries = create_app(out).state.store.audit(subject=cid)
    assert [(e["field"], e["old"], e["new"], e["by"]) for e in entries] == [
        ("value_class", computed, new, "ana")
    ]
    t = read_overrides(out)
    assert t.schema == OVERRIDES_SCHEMA
    row = t.to_pylist()[0]
    assert (row["customer_id"], row["value_class"], row["tier"]) == (cid, new, None)
    assert (row["class_reason"], row["class_by"]) == ("strategic account", "ana")
    assert (row["reason"], row["by"]) == ("strategic account", "ana")


def test_override_needs_a_known_class_a_reason_and_a_token_of_the_form(out: Path) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    cid = customer_id_named(out, SCRIPT_NAME)
    csrf = _csrf(client, f"/customers/{cid}")
    url = f"/customers/{cid}/override"
    bad_class = client.post(url, data={"csrf": csrf, "value_class": "Z", "reason": "x", "by": "a"})
    assert bad_class.status_code == 400 and "Unknown class" in bad_class.text
    no_reason = client.post(url, data={"csrf": csrf, "value_class": "A", "by": "a"})
    assert no_reason.status_code == 400 and "Give a reason" in no_reason.text
    forged = client.post(url, data={"csrf": "x", "value_class": "A", "reason": "r", "by": "a"})
    assert forged.status_code == 403
    assert read_overrides(out).num_rows == 0


def test_removing_an_override_is_audited(out: Path) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    cid = customer_id_named(out, SCRIPT_NAME)
    csrf = _csrf(client, f"/customers/{cid}")
    url = f"/customers/{cid}/override"
    client.post(url, data={"csrf": csrf, "tier": "gold", "reason": "r", "by": "a"})
    page = f"/customers/{cid}"
    client.post(url, data={**_form(client, page), "remove": "1", "by": "b"})
    assert read_overrides(out).num_rows == 0
    kinds = [(e["field"], e["new"], e["by"]) for e in create_app(out).state.store.audit(cid)]
    assert kinds[0] == ("tier", None, "b") and kinds[-1] == ("tier", "gold", "a")


def test_review_decisions_come_back_in_the_decisions_format(out: Path) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    form = _form(client, "/review")
    # the ids in the other order: stored sorted
    left, right = sorted((form["left_id"], form["right_id"]), reverse=True)
    r = client.post(
        "/review",
        data={**form, "left_id": left, "right_id": right, "decision": "reject", "by": "bo"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    t = read_review_decisions(out)
    assert t.schema == DECISIONS_SCHEMA
    assert t.select(["left_id", "right_id", "decision", "decided_by"]).to_pylist() == [
        {"left_id": right, "right_id": left, "decision": "reject", "decided_by": "bo"}
    ]
    # the accounts stage reads it as it is
    assert clean_decisions(t).num_rows == 1


def test_input_text_is_escaped_in_pages(out: Path) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    cid = customer_id_named(out, SCRIPT_NAME)
    for url in (f"/customers/{cid}", "/lookup?q=script", "/segments?q=script"):
        page = client.get(url, follow_redirects=True).text
        assert SCRIPT_NAME not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url
        assert "script-src 'self'" in client.get(url).headers["content-security-policy"]


def test_only_local_host_names_without_a_token(out: Path) -> None:
    assert TestClient(create_app(out), base_url="http://evil.example").get("/").status_code == 400


def test_a_token_is_needed_on_every_request_when_set(out: Path) -> None:
    client = TestClient(create_app(out, token="s3cret"), base_url="http://10.0.0.5")
    assert client.get("/").status_code == 401
    assert client.get("/", params={"token": "wrong"}).status_code == 401
    first = client.get("/", params={"token": "s3cret"}, follow_redirects=False)
    assert first.status_code == 303 and "token" not in first.headers["location"]
    assert client.get("/").status_code == 200  # the cookie carries it now
    other = TestClient(create_app(out, token="s3cret"), base_url="http://10.0.0.5")
    assert other.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_serving_beyond_this_machine_refuses_without_a_token(out: Path) -> None:
    with pytest.raises(SettingsError, match="access token"):
        serve(out, host="0.0.0.0", port=0)


def test_downloads_only_files_of_the_folder(out: Path) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    assert client.get("/download/..%2Fetc%2Fpasswd").status_code == 404
    assert client.get("/download/overrides.duckdb").status_code == 404
    assert client.get("/download/customers.csv").content == (out / "customers.csv").read_bytes()


def _rename_customer(out: Path, old: str, new: str, name: str | None = None) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(out / "customers.parquet")
    hit = pc.equal(t.column("customer_id"), old)
    ids = pc.if_else(hit, new, t.column("customer_id"))
    t = t.set_column(t.column_names.index("customer_id"), "customer_id", ids)
    if name is not None:
        names = pc.if_else(hit, name, t.column("name"))
        t = t.set_column(t.column_names.index("name"), "name", names)
    pq.write_table(t, out / "customers.parquet")
    assert pa.scalar(new) in t.column("customer_id").combine_chunks()


def _rename_rep(out: Path, old: str, new: str) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    for file, column in (("customers", "assigned_rep"), ("rep_plan", "rep_id")):
        t = pq.read_table(out / f"{file}.parquet")
        renamed = pc.if_else(pc.equal(t.column(column), old), new, t.column(column))
        t = t.set_column(t.column_names.index(column), column, renamed)
        pq.write_table(t, out / f"{file}.parquet")


def _as_a_browser_sends(href: str) -> str:
    """The path (and query) a browser asks for when a page links to ``href``: its dot
    segments resolved, written as they are or percent-encoded ("%2E%2E"), as the WHATWG URL
    standard's path state does (httpx, under the test client, resolves only the plain
    ones)."""
    path, sep, query = html.unescape(href).partition("?")
    segments = path.split("/")[1:]
    out: list[str] = []
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment.lower() in ("..", ".%2e", "%2e.", "%2e%2e"):
            if out:
                out.pop()
            if last:
                out.append("")
        elif segment.lower() in (".", "%2e"):
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/" + "/".join(out) + sep + query


def test_a_customer_id_with_a_slash_has_its_page_and_override(out: Path) -> None:
    cid = customer_id_named(out, SCRIPT_NAME)
    _rename_customer(out, cid, "ACME/01")
    client = TestClient(create_app(out), base_url=LOCAL)
    # the lists link to it as the template writes the link
    listing = client.get("/segments", params={"q": "ACME"}).text
    assert 'href="/customers/ACME%2F01"' in listing
    page = client.get("/customers/ACME/01")
    assert page.status_code == 200 and "ACME/01" in page.text
    r = client.post(
        "/customers/ACME/01/override",
        data={
            "csrf": _csrf(client, "/customers/ACME/01"),
            "tier": "gold",
            "reason": "r",
            "by": "a",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert read_overrides(out).column("customer_id").to_pylist() == ["ACME/01"]


def test_every_customer_link_of_the_review_page_opens_a_page(out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # the queue names records; one of them merged into another account (its page is the
    # account's)
    members = pq.read_table(out / "account_members.parquet").to_pylist()
    merged = next(m for m in members if m["customer_id"] != m["account_id"])
    queue = pq.read_table(out / "review_queue.parquet")
    left = queue.column("left_id").to_pylist()
    left[0] = merged["customer_id"]
    queue = queue.set_column(0, "left_id", pa.array(left, pa.string()))
    pq.write_table(queue, out / "review_queue.parquet")
    client = TestClient(create_app(out), base_url=LOCAL)
    html = client.get("/review").text
    links = set(re.findall(r'href="(/customers/[^"]+)"', html))
    assert f'href="/customers/{merged["account_id"]}">{merged["customer_id"]}</a>' in html
    for link in links:
        assert client.get(link).status_code == 200, link


#: ids a browser would resolve as dot segments if they were written into a path as they are
DOT_IDS = ["..", ".", "ACME/..", "../<i>x</i>"]


def test_a_customer_id_of_dots_opens_its_page_from_the_link_the_page_writes(out: Path) -> None:
    import pyarrow.parquet as pq

    ids = pq.read_table(out / "customers.parquet").column("customer_id").to_pylist()
    for i, (old, new) in enumerate(zip(ids, DOT_IDS, strict=False)):
        _rename_customer(out, old, new, name=f"Dotted customer {i}")
    client = TestClient(create_app(out), base_url=LOCAL)
    for i, cid in enumerate(DOT_IDS):
        shown = html.escape(cid, quote=False)
        # the link of the segment list, followed as a browser would
        listing = client.get("/segments", params={"q": f"Dotted customer {i}"}).text
        links = re.findall(r'<a href="([^"]+)">([^<]*(?:<(?!/a>)[^<]*)*)</a>', listing)
        href = next(h for h, text in links if text == shown)
        page = client.get(_as_a_browser_sends(href))
        assert page.status_code == 200, href
        assert f'<span class="muted">{shown}</span>' in page.text, href
        assert "<i>x</i>" not in page.text
        # the look-up's redirect
        found = client.get("/lookup", params={"q": cid}, follow_redirects=False)
        assert found.status_code == 303
        again = client.get(_as_a_browser_sends(found.headers["location"]))
        assert f'<span class="muted">{shown}</span>' in again.text
        # the override form, and the page it returns to
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert action is not None and csrf is not None
        r = client.post(
            _as_a_browser_sends(action.group(1)),
            data={"csrf": csrf.group(1), "tier": "gold", "reason": "r", "by": "a"},
            follow_redirects=False,
        )
        assert r.status_code == 303, action.group(1)
        back = client.get(_as_a_browser_sends(r.headers["location"]))
        assert 'id="override-in-force"' in back.text and shown in back.text
    assert sorted(read_overrides(out).column("customer_id").to_pylist()) == sorted(DOT_IDS)


def test_a_rep_id_of_dots_opens_its_call_list_from_the_rep_plans(out: Path) -> None:
    import pyarrow.parquet as pq

    reps = pq.read_table(out / "rep_plan.parquet").column("rep_id").to_pylist()
    for old, new in zip(reps, DOT_IDS, strict=False):
        _rename_rep(out, old, new)
    client = TestClient(create_app(out), base_url=LOCAL)
    listing = client.get("/reps").text
    for rep in DOT_IDS[: len(reps)]:
        shown = html.escape(rep, quote=False)
        href = re.search(rf'<a href="([^"]+)">{re.escape(shown)}</a>', listing)
        assert href is not None, rep
        page = client.get(_as_a_browser_sends(href.group(1)))
        assert page.status_code == 200 and f"<h1>Call list of {shown}</h1>" in page.text, rep
        # its customers are listed
        assert "<tbody>\n<tr>" in page.text, rep


def test_control_characters_in_input_text_are_not_written_into_pages(out: Path) -> None:
    name = "Acme\x00Ltd\x07\x1b\x7f\x85 GmbH"
    cid = customer_id_named(out, SCRIPT_NAME)
    assert fill_text(out, "name", name) > 0
    client = TestClient(create_app(out), base_url=LOCAL)
    for url in (f"/customers/{cid}", "/segments?q=Acme"):
        page = client.get(url).text
        assert not re.search("[\x00-\x08\x0b\x0e-\x1f\x7f]", page), url
        assert "Acme\ufffdLtd\ufffd\ufffd\ufffd\x85 GmbH" in page, url


def _explorer_folder(folder: Path) -> Path:
    """Six customers with ties, a missing figure and a NaN, classes and tiers whose
    alphabetical order is not the settings' order (bronze < gold < silver)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir()
    customers = pa.table(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
            "name": ["delta", "Alpha", "echo", "bravo", "Charlie", "foxtrot"],
            "value_class": ["B", "A", "D", "A", "C", None],
            "tier": ["silver", "gold", "bronze", "gold", "bronze", None],
            "net_profit": [10.0, 50.0, None, 50.0, -5.0, float("nan")],
            "revenue_12m": [100.0, 900.0, 5.0, 800.0, 50.0, 1.0],
        }
    )
    pq.write_table(customers, folder / "customers.parquet")
    tiers = {"A": "gold", "B": "silver", "C": "bronze", "D": "bronze"}
    classes = dict.fromkeys("ABCD", "")
    manifest = {"settings": {"segments": {"classes": classes, "tiers": tiers}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _listed(page: str) -> list[str]:
    """The customer ids of the explorer's rows, in order."""
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return re.findall(r'<tr><td><a href="/customers/([^"]+)">', body)


def test_the_explorer_sorts_by_a_figure_either_way_with_blanks_last(tmp_path: Path) -> None:
    client = TestClient(create_app(_explorer_folder(tmp_path / "out")), base_url=LOCAL)
    # without a choice: the largest revenue first
    assert _listed(client.get("/segments").text) == ["c2", "c4", "c1", "c5", "c3", "c6"]
    high = _listed(client.get("/segments", params={"sort": "net_profit"}).text)
    # ties by id; a customer without a figure (null or NaN) last, whichever the direction
    assert high[:4] == ["c2", "c4", "c1", "c5"] and set(high[4:]) == {"c3", "c6"}
    low = _listed(client.get("/segments", params={"sort": "net_profit", "order": "asc"}).text)
    assert low[:4] == ["c5", "c1", "c2", "c4"] and set(low[4:]) == {"c3", "c6"}
    # text case-insensitively; classes and tiers in the order of the run's settings
    by_name = _listed(client.get("/segments", params={"sort": "name"}).text)
    assert by_name == ["c2", "c4", "c5", "c1", "c3", "c6"]
    by_class = _listed(client.get("/segments", params={"sort": "value_class"}).text)
    assert by_class == ["c2", "c4", "c1", "c5", "c3", "c6"]
    by_tier = client.get("/segments", params={"sort": "tier"}).text
    assert _listed(by_tier) == ["c2", "c4", "c1", "c3", "c5", "c6"]
    assert "Sorted by tier, gold first." in by_tier
    # an unknown column or direction is the default order, never an error
    bad = client.get("/segments", params={"sort": "x; drop", "order": "sideways"})
    assert bad.status_code == 200 and _listed(bad.text)[0] == "c2"


def test_the_explorer_headings_sort_and_keep_the_filters_page_and_search(tmp_path: Path) -> None:
    from tierwise.settings.report import ReportSettings

    out = _explorer_folder(tmp_path / "out")
    client = TestClient(create_app(out, settings=ReportSettings(page_size=2)), base_url=LOCAL)
    params = {"tier": "gold", "sort": "net_profit", "order": "desc"}
    page = client.get("/segments", params=params).text
    links = {
        html.unescape(label): html.unescape(href)
        for href, label in re.findall(r'<a class="sort" href="([^"]+)"[^>]*>([^<]+)', page)
    }
    assert set(links) >= {"customer id", "name", "value class", "tier", "net profit"}
    # the column shown sorted reverses; another starts in its own first order; the filter stays
    assert links["net profit"] == "/segments?tier=gold&sort=net_profit&order=asc"
    assert links["revenue 12m"] == "/segments?tier=gold&sort=revenue_12m&order=desc"
    assert links["name"] == "/segments?tier=gold&sort=name&order=asc"
    assert re.search(
        r'<th class="num" aria-sort="descending"><a class="sort"[^>]*>net profit', page
    )
    assert page.count("aria-sort=") == 1
    assert "Sorted by net profit, highest first." in page
    # the filter form carries the order, so a new filter keeps it
    start = page.index('<form id="filters"')
    form = page[start : page.index("</form>", start)]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    assert hidden == {"sort": "net_profit", "order": "desc"}
    # paging goes on in the same order: all six, sorted, across three pages
    seen: list[str] = []
    url = "/segments?sort=revenue_12m&order=asc"
    for _ in range(3):
        page = client.get(url).text
        seen += _listed(page)
        nxt = re.search(r'href="([^"]+)">next</a>', page)
        url = html.unescape(nxt.group(1)) if nxt else ""
    assert seen == ["c6", "c3", "c5", "c1", "c4", "c2"] and url == ""


def test_the_accounts_no_rep_carries_come_a_page_at_a_time(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # a run without reps: every customer is on the (unassigned) call list
    ids = [f"C{i:05d}" for i in range(1_200)]
    pq.write_table(
        pa.table({"customer_id": ids, "revenue_12m": [float(i) for i in range(1_200)]}),
        tmp_path / "customers.parquet",
    )
    client = TestClient(create_app(tmp_path), base_url=LOCAL)
    url, listed = "/reps/%28unassigned%29", []
    while url:
        text = client.get(url).text
        rows = re.findall(r'href="/customers/(C\d{5})"', text)
        assert 0 < len(rows) <= 500, url
        listed += rows
        nxt = re.search(r'<a href="([^"]+)">next</a>', text)
        url = html.unescape(nxt.group(1)) if nxt else ""
    assert "Customers 1,001 to 1,200 of 1,200" in text
    assert sorted(listed) == ids


def _read_only(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``folder`` and its files read-only; for root (whom permissions do not stop), the
    access checks say so too."""
    import os

    for p in [*folder.iterdir(), folder]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    if os.geteuid() == 0:
        real = os.access

        def access(path: Any, mode: int, **kw: Any) -> bool:
            inside = Path(path).resolve().is_relative_to(folder.resolve())
            return False if inside and mode & os.W_OK else real(path, mode, **kw)

        monkeypatch.setattr(os, "access", access)


def test_a_read_only_folder_opens_shows_its_decisions_and_refuses_new_ones(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = customer_id_named(out, SCRIPT_NAME)
    client = TestClient(create_app(out), base_url=LOCAL)
    client.post(
        f"/customers/{cid}/override",
        data={
            **_form(client, f"/customers/{cid}"),
            "value_class": "A",
            "reason": "kept",
            "by": "a",
        },
    )
    assert read_overrides(out).num_rows == 1
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    _read_only(out, monkeypatch)
    try:
        client = TestClient(create_app(out), base_url=LOCAL)
        for url in ("/", "/segments", f"/customers/{cid}", "/review", "/audit"):
            r = client.get(url)
            assert r.status_code == 200, url
            assert 'id="read-only"' in r.text, url
        assert "kept" in client.get("/audit").text
        refused = client.post(
            f"/customers/{cid}/override",
            data={
                **_form(client, f"/customers/{cid}"),
                "value_class": "B",
                "reason": "r",
                "by": "b",
            },
        )
        assert refused.status_code == 403 and "Nothing was saved" in refused.text
        assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    finally:
        for p in [out, *out.iterdir()]:
            p.chmod(0o755 if p.is_dir() else 0o644)
    assert read_overrides(out).to_pylist()[0]["value_class"] == "A"


def test_a_small_file_is_listed_in_bytes_not_as_0_kib(out: Path) -> None:
    text = "file,row,column,reason,value\nt.csv,2,date,bad,x\n"
    (out / "rejects.csv").write_text(text)
    page = TestClient(create_app(out), base_url=LOCAL).get("/downloads").text
    row = re.search(r"rejects\.csv</a></td>\s*<td[^>]*>([^<]+)</td>", page)
    assert row is not None and row.group(1) == f"{len(text)} bytes"
    assert ">0 KiB<" not in page


def test_money_shows_the_runs_currency_and_counts_do_not(tmp_path: Path) -> None:
    import json

    folder = _explorer_folder(tmp_path / "out")
    client = TestClient(create_app(folder), base_url=LOCAL)
    assert "€" not in client.get("/").text
    m = json.loads((folder / "manifest.json").read_text())
    m["settings"]["segments"]["currency_symbol"] = "€"
    (folder / "manifest.json").write_text(json.dumps(m))
    client = TestClient(create_app(folder), base_url=LOCAL)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", client.get("/").text)).split())
    assert "revenue 12m €1,856" in text and "net profit €105" in text
    assert "customers 6" in text
    page = " ".join(
        html.unescape(re.sub(r"<[^>]+>", " ", client.get("/customers/c2").text)).split()
    )
    assert "net_profit €50" in page or "net profit €50" in page
    # the explorer's money cells as the figures above them: with the currency, a loss
    # after the minus sign; a count in the same table without it
    explorer = client.get("/segments", params={"sort": "net_profit", "order": "desc"}).text
    cells = re.findall(r'<td class="num">([^<]*)</td>', explorer)
    assert {"€50", "€10", "-€5", "€900"} <= set(cells)
    assert "50" not in cells and "900" not in cells
