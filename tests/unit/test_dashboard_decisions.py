"""The dashboard's decisions, as a manager makes them: one field of an override at a time,
two people on the same pair, a folder re-run under an open dashboard, forms that go wrong."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from report_support import SCRIPT_NAME, customer_id_named, forms
from tierwise.app import create_app, read_overrides, read_review_decisions

LOCAL = "http://127.0.0.1"


@pytest.fixture
def out(report_full_out: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(report_full_out, tmp_path / "out"))


def _text(page: str) -> str:
    """A page's text, tags dropped and entities read (what a person sees, roughly)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _in_force(page: str) -> str:
    m = re.search(r'<p id="override-in-force"[^>]*>(.*?)</p>', page, re.S)
    assert m is not None
    return _text(m.group(1))


class _Customer:
    """One customer's page and override form, as one browser tab sees it."""

    def __init__(self, client: TestClient, cid: str) -> None:
        self.client, self.cid = client, cid
        self.url = f"/customers/{cid}"
        self.form = forms(client.get(self.url).text)[0]

    def post(self, **fields: str) -> tuple[int, str]:
        r = self.client.post(f"{self.url}/override", data={**self.form, **fields})
        return r.status_code, r.text

    def reload(self) -> _Customer:
        self.form = forms(self.client.get(self.url).text)[0]
        return self


def _other(value: str, choices: tuple[str, ...]) -> str:
    return next(c for c in choices if c != value)


def test_keep_leaves_the_other_field_of_the_override_and_every_change_is_audited(
    out: Path,
) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    cid = customer_id_named(out, SCRIPT_NAME)
    tab = _Customer(client, cid)
    page = client.get(tab.url).text
    computed = re.search(r"Computed: class (\w+), tier (\w+)", page)
    assert computed is not None
    computed_class, computed_tier = computed.groups()
    new_class = _other(computed_class, ("A", "B", "C"))
    new_tier = _other(computed_tier, ("gold", "silver", "bronze"))

    assert tab.post(value_class=new_class, reason="key account", by="ana")[0] == 200
    # only the tier: the class override stays
    assert tab.reload().post(tier=new_tier, reason="tier only", by="ana")[0] == 200
    assert read_overrides(out).select(["value_class", "tier"]).to_pylist() == [
        {"value_class": new_class, "tier": new_tier}
    ]
    page = client.get(tab.url).text
    assert f"class {new_class}, tier {new_tier}" in _in_force(page)
    # the class back to its computed value, explicitly, the tier kept
    status, page = tab.reload().post(value_class=computed_class, reason="back to A", by="bo")
    assert status == 200 and f"class {computed_class}, tier {new_tier}" in _in_force(page)
    # the class override dropped ("(computed)"), the tier kept
    status, page = tab.reload().post(value_class="(computed)", reason="no class", by="bo")
    assert status == 200 and f"class (not set here), tier {new_tier}" in _in_force(page)

    store = create_app(out).state.store
    audit = [(e["field"], e["old"], e["new"], e["by"]) for e in reversed(store.audit(cid))]
    assert audit == [
        ("value_class", computed_class, new_class, "ana"),
        ("tier", computed_tier, new_tier, "ana"),
        ("value_class", new_class, computed_class, "bo"),
        ("value_class", computed_class, None, "bo"),
    ]
    # the History's last word per field is what is in force
    latest = {f: new for f, _, new, _ in audit}
    over = read_overrides(out).to_pylist()[0]
    assert latest == {"value_class": over["value_class"], "tier": over["tier"]}


def test_a_decision_from_an_out_of_date_review_page_is_refused_and_names_the_other(
    out: Path,
) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    tab_a = forms(client.get("/review").text)[0]
    tab_b = forms(client.get("/review").text)[0]
    r = client.post("/review", data={**tab_a, "decision": "confirm", "by": "alice"})
    assert r.status_code == 200  # followed the redirect

    stale = client.post(
        "/review", data={**tab_b, "decision": "reject", "by": "bob", "reason": "other VAT"}
    )
    assert stale.status_code == 409
    text = _text(stale.text)
    assert "alice chose “Same company”" in text and "UTC" in text
    assert "“Different companies”, was not saved" in text
    assert 'value="other VAT"' in stale.text and 'value="bob"' in stale.text
    assert read_review_decisions(out).column("decided_by").to_pylist() == ["alice"]

    # the page bob now has carries alice's decision: choosing again replaces it, deliberately
    again = forms(stale.text)[0]
    r = client.post("/review", data={**again, "decision": "reject", "by": "bob"})
    assert r.status_code == 200
    t = read_review_decisions(out)
    assert t.select(["decision", "decided_by"]).to_pylist() == [
        {"decision": "reject", "decided_by": "bob"}
    ]


def test_an_override_from_an_out_of_date_page_is_refused_and_names_the_other(out: Path) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    cid = customer_id_named(out, SCRIPT_NAME)
    tab_a, tab_b = _Customer(client, cid), _Customer(client, cid)
    assert tab_a.post(value_class="A", reason="key account", by="alice")[0] == 200
    status, page = tab_b.post(value_class="D", reason="lost the tender", by="bob")
    assert status == 409
    text = _text(page)
    assert "alice changed this override" in text and "key account" in text
    assert "Your change was not saved" in text
    assert read_overrides(out).column("value_class").to_pylist() == ["A"]
    # bob's choices stay on the form; sent again from that page, they replace alice's
    assert '<option value="D" selected>' in page and 'value="lost the tender"' in page
    tab_b.form = forms(page)[0]
    assert tab_b.post(value_class="D", reason="lost the tender", by="bob")[0] == 200
    assert read_overrides(out).column("value_class").to_pylist() == ["D"]


def test_a_folder_re_run_under_the_open_dashboard_is_read_again(out: Path) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    queue = pq.read_table(out / "review_queue.parquet")
    assert queue.num_rows == 2
    page = client.get("/review").text
    assert page.count('class="pair"') == 2
    old_form = forms(page)[1]
    overview = client.get("/").text
    everyone = pq.read_table(out / "customers.parquet")
    prospects = pc.sum(everyone.column("is_prospect")).as_py()
    # customers and prospects counted apart, the population named
    n = everyone.num_rows - prospects
    assert f"<dt>customers</dt><dd>{n:,}</dd>" in overview
    assert f"<dt>prospects</dt><dd>{prospects:,}</dd>" in overview
    assert f"Figures over customers and {prospects:,} prospects" in overview

    # a re-run: one pair fewer, one customer fewer, a new manifest
    pq.write_table(queue.slice(0, 1), out / "review_queue.parquet")
    customers = pq.read_table(out / "customers.parquet")
    pq.write_table(customers.slice(1), out / "customers.parquet")
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "as_of": "2031-01-31"}))

    page = client.get("/review").text
    assert page.count('class="pair"') == 1
    assert "The output folder was re-run at" in page and "2031-01-31" in page
    assert f"<dt>customers</dt><dd>{n - 1:,}</dd>" in client.get("/").text
    gone = customers.column("customer_id")[0].as_py()
    assert client.get(f"/customers/{gone}").status_code == 404
    # a decision on the pair the new run no longer queues is refused
    r = client.post("/review", data={**old_form, "decision": "confirm", "by": "ana"})
    assert r.status_code == 400 and "not in this run's review queue" in _text(r.text)
    assert read_review_decisions(out).num_rows == 0


def test_errors_a_user_can_reach_are_pages_with_the_menu_and_keep_what_was_typed(
    out: Path,
) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    form = forms(client.get("/review").text)[0]
    r = client.post(
        "/review", data={**form, "decision": "reject", "by": " ", "reason": "different VAT"}
    )
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert "Say who decides" in r.text and 'value="different VAT"' in r.text
    assert 'href="/segments"' in r.text  # the menu
    assert read_review_decisions(out).num_rows == 0

    missing = client.get("/customers/NO-SUCH-ID")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "No customer 'NO-SUCH-ID' in this run" in _text(missing.text)
    assert 'href="/segments"' in missing.text

    page = client.get("/segments", params={"page_no": "abc"})
    assert page.status_code == 200 and "Page 1 of" in page.text
    # past the last page, however many digits: the last page
    last = re.search(r"Page 1 of ([0-9]+)", page.text)
    assert last is not None
    for far in ("99999", "99999999999999999999"):
        page = client.get("/segments", params={"page_no": far})
        assert f"Page {last.group(1)} of {last.group(1)}" in page.text, far

    # a rep neither carrying a customer nor in the plan: not found, not an empty list
    unknown = client.get("/reps/NO-SUCH-REP")
    assert unknown.status_code == 404
    assert "No rep NO-SUCH-REP in this run" in _text(unknown.text)


def test_a_merged_record_s_page_points_to_its_account(out: Path) -> None:
    members = pq.read_table(out / "account_members.parquet")
    merged = members.filter(
        pc.not_equal(members.column("customer_id"), members.column("account_id"))
    )
    if merged.num_rows == 0:
        pytest.skip("this demo run merged no record into another account")
    record, account = merged.column("customer_id")[0].as_py(), merged.column("account_id")[0]
    client = TestClient(create_app(out), base_url=LOCAL)
    r = client.get(f"/customers/{record}")
    assert r.status_code == 404 and f"part of the account {account.as_py()}" in _text(r.text)


def test_an_override_form_error_keeps_the_chosen_class_and_tier(out: Path) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    tab = _Customer(client, customer_id_named(out, SCRIPT_NAME))
    status, page = tab.post(value_class="B", tier="gold", reason="", by="ana")
    assert status == 400 and "Give a reason" in page
    assert '<option value="B" selected>' in page and '<option value="gold" selected>' in page


def test_long_reasons_and_notes_are_refused_with_their_length(out: Path) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    tab = _Customer(client, customer_id_named(out, SCRIPT_NAME))
    status, page = tab.post(value_class="B", reason="x" * 1001, by="ana")
    assert status == 400 and "at most 1,000 characters; this one has 1,001" in page
    assert read_overrides(out).num_rows == 0
    assert tab.post(value_class="B", reason="x" * 1000, by="ana")[0] == 200

    form = forms(client.get("/review").text)[0]
    r = client.post("/review", data={**form, "decision": "reject", "by": "a", "reason": "n" * 1001})
    assert r.status_code == 400 and "The note is at most 1,000 characters" in r.text
    assert read_review_decisions(out).num_rows == 0


def test_review_controls_name_their_pair_times_say_utc_and_unknown_pairs_are_refused(
    out: Path,
) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    page = client.get("/review").text
    form = forms(page)[0]
    pair = f"{form['left_id']} and {form['right_id']}"
    assert f'aria-label="Same company: {pair}"' in page
    assert f'aria-label="note on {pair}"' in page
    client.post("/review", data={**form, "decision": "reject", "by": "ana"})
    assert re.search(r"Decided: .*? UTC", _text(client.get("/review").text))

    fake = {**forms(page)[1], "left_id": "FAKE1", "right_id": "FAKE2"}
    r = client.post("/review", data={**fake, "decision": "confirm", "by": "ana"})
    assert r.status_code == 400
    ids = set(read_review_decisions(out).column("left_id").to_pylist())
    assert "FAKE1" not in ids


def test_no_change_is_written_twice_and_a_field_s_new_reason_alone_is_audited(out: Path) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    cid = customer_id_named(out, SCRIPT_NAME)
    tab = _Customer(client, cid)
    assert tab.post(value_class="B", reason="key account", by="ana")[0] == 200
    assert tab.reload().post(value_class="B", reason="key account", by="ana")[0] == 200
    assert tab.reload().post(value_class="B", reason="key account, renewed", by="bo")[0] == 200
    store = create_app(out).state.store
    assert [(e["field"], e["new"]) for e in store.audit(cid)] == [
        ("class_reason", "key account, renewed"),
        ("value_class", "B"),
    ]


def test_review_pairs_show_the_records_fields_as_read_and_why_they_wait(out: Path) -> None:
    client = TestClient(create_app(out), base_url=LOCAL)
    page = client.get("/review").text
    queue = pq.read_table(out / "review_queue.parquet").to_pylist()
    assert queue
    shown = _text(page)
    # why the pair waits for a person, as the queue says
    assert queue[0]["reason"] and html.unescape(queue[0]["reason"]) in shown
    # the records' own fields, not the matching model's keys
    heads = re.findall(r"<th>([a-z_]+)</th>", page)
    assert "name" in heads
    assert not [h for h in heads if h.endswith("_norm") or h in ("name_core", "postcode_prefix")]
    # whole numbers as the file had them
    employees = [r["employees_l"] for r in queue if r.get("employees_l") is not None]
    for e in employees[:3]:
        assert f"<td>{int(e)}</td>" in page
        assert f"<td>{e}</td>" not in page


def test_digits_a_number_field_cannot_read_give_the_default_not_an_error(out: Path) -> None:
    # "²" is a digit to str.isdigit, not to int()
    client = TestClient(create_app(out), base_url=LOCAL)
    assert client.get("/segments?page_no=²").status_code == 200
    form = forms(client.get("/review").text)[0]
    r = client.post("/review", data={**form, "seen": "²", "decision": "reject", "by": "ana"})
    assert r.status_code < 500


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A run's folder by hand: three customers, and two queued pairs whose ids, joined by
    " ~ ", would both read "a ~ b ~ c"."""
    folder = tmp_path / "small"
    folder.mkdir()
    pq.write_table(
        pa.table(
            {
                "customer_id": ["C1", "a", "c"],
                "name": ["Acme", "A", "C"],
                "value_class": ["B", "A", "C"],
                "tier": ["silver", "gold", "bronze"],
            }
        ),
        folder / "customers.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "left_id": ["a ~ b", "a"],
                "right_id": ["c", "b ~ c"],
                "match_probability": [0.5, 0.5],
                "reason": ["same phone", "same street"],
            }
        ),
        folder / "review_queue.parquet",
    )
    return folder


def test_the_customer_page_shows_each_overridden_field_with_its_own_reason_and_author(
    small: Path,
) -> None:
    client = TestClient(create_app(small), base_url=LOCAL)
    tab = _Customer(client, "C1")
    assert tab.post(value_class="A", reason="key account", by="ana")[0] == 200
    status, page = tab.reload().post(tier="gold", reason="strategic", by="bo")
    assert status == 200
    shown = _in_force(page)
    assert "class A, tier gold" in shown
    assert re.search(r"Class A: “key account” \(ana, [0-9-]+ [0-9:]+ UTC\)", shown)
    assert re.search(r"Tier gold: “strategic” \(bo, [0-9-]+ [0-9:]+ UTC\)", shown)


def test_pairs_whose_ids_hold_the_separator_are_decided_and_shown_apart(small: Path) -> None:
    client = TestClient(create_app(small), base_url=LOCAL)
    first, second = forms(client.get("/review").text)
    assert (first["left_id"], first["right_id"]) == ("a ~ b", "c")
    r = client.post("/review", data={**first, "decision": "confirm", "by": "ana"})
    assert r.status_code == 200
    page = _text(r.text)
    assert "1 of 2 pairs decided" in page and page.count("Decided:") == 1
    # the other pair, drawn before, was never decided: no conflict
    r = client.post("/review", data={**second, "decision": "reject", "by": "bo"})
    assert r.status_code == 200 and "2 of 2 pairs decided" in _text(r.text)
    decided = read_review_decisions(small).select(["left_id", "right_id", "decision"])
    assert decided.to_pylist() == [
        {"left_id": "a", "right_id": "b ~ c", "decision": "reject"},
        {"left_id": "a ~ b", "right_id": "c", "decision": "confirm"},
    ]
    # a pair no run queued is refused, whatever its ids joined give
    fake = {**second, "left_id": "a ~ b ~", "right_id": "c"}
    r = client.post("/review", data={**fake, "decision": "confirm", "by": "ana"})
    assert r.status_code == 400
    assert "a ~ b and c" in _text(client.get("/audit").text)


def test_a_change_while_a_run_replaces_the_folder_is_refused_and_keeps_what_was_typed(
    small: Path,
) -> None:
    from tierwise.io._folder_lock import hold_folder

    app = create_app(small)
    app.state.store.wait = 0.1
    client = TestClient(app, base_url=LOCAL)
    tab = _Customer(client, "C1")
    pair = forms(client.get("/review").text)[0]
    with hold_folder(small, wait=1, busy="held"):  # a run, between its copy and its swap
        status, page = tab.post(value_class="A", reason="key account", by="ana")
        r = client.post("/review", data={**pair, "decision": "reject", "by": "bo", "reason": "x"})
    assert status == 503 and "A run is replacing this output folder" in _text(page)
    assert 'value="key account"' in page and '<option value="A" selected>' in page
    assert r.status_code == 503 and "nothing was saved" in _text(r.text)
    assert 'value="x"' in r.text
    assert read_overrides(small).num_rows == 0 and read_review_decisions(small).num_rows == 0
    assert tab.post(value_class="A", reason="key account", by="ana")[0] == 200
