"""``tierwise serve``: a local dashboard over a run's output folder (FastAPI + Jinja2).

Pages: overview, segment explorer with filters and a sort on each column, customer look-up
(every figure and the reason for each assignment), rep plans, the duplicate review queue
(confirm / reject), class overrides with a reason, the audit log, and downloads. Decisions
are kept in ``overrides.duckdb`` in the folder (:mod:`tierwise.app.store`).

Safety: binds 127.0.0.1 by default and answers only to local host names there; any other
address needs an access token (given once as ``?token=…``, then kept in a same-site cookie,
or sent as ``Authorization: Bearer …``). Every form carries a per-server CSRF token. Pages
are rendered with autoescaping and served with a Content-Security-Policy that allows no
inline script, so text from the inputs shows as text.
"""

from __future__ import annotations

import datetime as dt
import getpass
import ipaddress
import math
import re
import secrets
import threading
from collections.abc import Awaitable, Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import FastAPI, Form, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from ..errors import SettingsError, TierwiseError
from ..io.frames import prospects_in
from ..report._folder import RunFolder, carrying_rep, float_array, team_reps, text_array
from ..report.html import (
    Fmt,
    column_texts,
    currency_of,
    fmt_money,
    fmt_value,
    guess_format,
    plan_figures,
    plan_lines,
    reaches_100,
    vendor_script,
    without_controls,
)
from ..segments.overrides import dashboard_origin, when_text
from ..settings.report import ReportSettings
from .store import (
    KEEP,
    KIND_OVERRIDE,
    KIND_REVIEW,
    OVERRIDES_FILE,
    DecisionStore,
    FolderBusyError,
    Keep,
    ReadOnlyFolderError,
    StaleVersionError,
    pair_ids,
    pair_subject,
)

__all__ = ["create_app", "serve"]

COOKIE = "tierwise_token"
LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
#: the longest override reason or review note, in characters
MAX_TEXT = 1000
#: the longest "by" (who made a change), in characters
MAX_BY = 100
#: the override form's choice "no override of this field: the computed value applies"
BACK_TO_COMPUTED = "(computed)"
#: a review decision's words on the page
DECISION_WORDS = {"confirm": "Same company", "reject": "Different companies"}
#: filters of the segment explorer (customer columns, when present)
FILTERS = (
    "value_class",
    "tier",
    "niche",
    "status",
    "channel",
    "assigned_rep",
    "rep_id",
    "plan_change",
    "class_change",
)
#: The call list of the accounts no rep carries, as plan.xlsx names its sheet.
UNASSIGNED = "(unassigned)"
#: columns of the segment explorer, in order (those the folder has; "rep" is the carrying
#: rep's column, assigned_rep with a coverage plan, else rep_id); each one sorts the list
EXPLORER_COLUMNS = (
    "customer_id",
    "name",
    "value_class",
    "tier",
    "niche",
    "status",
    "channel",
    "rep",
    "revenue_12m",
    "net_profit",
    "clv",
    "headroom",
    "value_at_risk",
    "defection_risk",
)
#: the explorer's columns of figures: sorted highest first when first chosen
FIGURE_COLUMNS = frozenset(EXPLORER_COLUMNS[EXPLORER_COLUMNS.index("revenue_12m") :])
#: the explorer's order without a choice: the largest revenue first
DEFAULT_SORT = "revenue_12m"
#: the sort directions of the explorer's address (``order=``)
SORT_WORDS = {"asc": "ascending", "desc": "descending"}
_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
)
#: report.html's own policy when the dashboard serves it: its inline scripts (the chart
#: bundles) run, in a sandbox whose origin is not the dashboard's (no access to its cookie
#: or pages), with no request to the network
_REPORT_CSP = (
    "sandbox allow-scripts allow-popups allow-downloads; default-src 'none'; "
    "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; "
    "font-src data:; frame-ancestors 'self'"
)


#: the page of one customer or rep, addressed by its key in the query (see :func:`page_url`)
#: Customers per page of a rep's call list: a rep's whole book on one page for any rep a
#: person carries, while the accounts no rep carries (every customer of a run without reps)
#: come a page at a time instead of as one page of megabytes.
CALL_LIST_PAGE = 500
_BY_QUERY = {"customers": "/customer", "reps": "/rep"}
#: path segments a browser resolves before it sends a request, written as they are or
#: percent-encoded (WHATWG URL standard: single- and double-dot path segments, "%2e" too)
_DOT_SEGMENTS = frozenset({".", ".."})


def page_url(kind: str, key: object, action: str = "") -> str:
    """The address of a customer's or a rep's page (``kind`` "customers" or "reps"), or of
    an action on it (``override``).

    The key is one path segment: every character but letters, digits and ``-._~`` is
    percent-encoded, ``/`` too, so that no part of an id (``ACME/..``) is read as a path
    of its own; the route decodes it. A key that is ``.`` or ``..`` cannot be a path
    segment at all: a browser resolves it, percent-encoded or not, and asks for another
    page. Such a key goes in the query instead (``/customer?id=..``), which routes of their
    own read.

    Examples
    --------
    >>> page_url("customers", "ACME/01"), page_url("reps", "Anna Berg")
    ('/customers/ACME%2F01', '/reps/Anna%20Berg')
    >>> page_url("customers", "..", "override")
    '/customer/override?id=..'
    """
    text = str(key)
    tail = f"/{action}" if action else ""
    if text in _DOT_SEGMENTS:
        return f"{_BY_QUERY[kind]}{tail}?{urlencode({'id': text})}"
    return f"/{kind}/{quote(text, safe='')}{tail}"


def subject_label(kind: str, subject: str) -> str:
    """An audit subject as the log shows it: a customer id, or a pair's two ids.

    Examples
    --------
    >>> subject_label("review", pair_subject("b ~ c", "a")), subject_label("review", "a ~ b")
    ('a and b ~ c', 'a ~ b')
    """
    ids = pair_ids(subject) if kind == KIND_REVIEW else None
    return subject if ids is None else f"{ids[0]} and {ids[1]}"


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tierwise.app", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["page_url"] = page_url
    env.globals["subject_label"] = subject_label
    return env


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``.

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Data:
    """The run's tables, read once; customer-sized filters with Arrow compute."""

    def __init__(self, out_dir: Path, settings: ReportSettings) -> None:
        self.folder = RunFolder(out_dir)
        self.settings = settings
        customers = self.folder.table("customers")
        if customers is None:
            raise SettingsError(
                f"{out_dir}: no customers.parquet or customers.csv; serve an output folder "
                "of 'tierwise run'"
            )
        self.customers = customers
        self.ids = text_array(customers, "customer_id")
        self.review_queue = self.folder.table("review_queue")
        self.cross_sell = self.folder.table("cross_sell")
        self.rep_plan = self.folder.table("rep_plan")
        self.members = self.folder.table("account_members")
        self.ranks = _label_ranks(self.folder.manifest)
        self.choices = {
            f: _in_order(
                (v for v in pc.unique(text_array(customers, f)).to_pylist() if v is not None),
                self.ranks.get(f),
            )
            for f in FILTERS
            if f in customers.column_names
        }
        self.rep_column = "assigned_rep" if "assigned_rep" in customers.column_names else "rep_id"
        self.explorer_columns = [
            self.rep_column if c == "rep" else c
            for c in EXPLORER_COLUMNS
            if (self.rep_column if c == "rep" else c) in customers.column_names
        ]
        # each account under the rep who carries it, as on the call lists and in the CRM export
        self.carrying = carrying_rep(customers, team_reps(self.rep_plan))
        self.applied = self.folder.table("overrides_applied")
        self.run_at = _run_time(out_dir)
        self.file_overrides, self.overrides_file, self.overrides_file_problem = _file_overrides(
            self.folder.manifest
        )
        queue = self.review_queue
        self.queued_pairs: frozenset[str] = frozenset()
        if queue is not None and {"left_id", "right_id"} <= set(queue.column_names):
            self.queued_pairs = frozenset(
                pair_subject(str(a), str(b))
                for a, b in zip(
                    queue.column("left_id").to_pylist(),
                    queue.column("right_id").to_pylist(),
                    strict=True,
                )
            )

    def applied_override(self, customer_id: str) -> dict[str, Any] | None:
        """The override this run applied to one customer (its overrides_applied row)."""
        t = self.applied
        if t is None or "customer_id" not in t.column_names:
            return None
        idx = pc.index(text_array(t, "customer_id"), customer_id).as_py()
        if idx is None or idx < 0:
            return None
        return t.slice(idx, 1).to_pylist()[0]

    def account_of(self, record_ids: pa.ChunkedArray | pa.Array) -> list[str | None]:
        """The account id of each record id (from account_members; the id itself when the
        folder has no members table or does not list it); None when no customer row has
        that account (no page to link to)."""
        ids = pc.cast(record_ids, pa.string())
        if self.members is not None and {"customer_id", "account_id"} <= set(
            self.members.column_names
        ):
            at = pc.index_in(ids, value_set=text_array(self.members, "customer_id"))
            mapped = pc.take(text_array(self.members, "account_id"), at)
            ids = pc.coalesce(mapped, ids)
        known = pc.is_in(ids, value_set=self.ids)
        return pc.if_else(known, ids, pa.scalar(None, pa.string())).to_pylist()

    def records_of(self, account_id: str) -> list[str]:
        """The other records merged into an account (from account_members), sorted."""
        if self.members is None or not {"customer_id", "account_id"} <= set(
            self.members.column_names
        ):
            return []
        acc = text_array(self.members, "account_id")
        rec = text_array(self.members, "customer_id")
        mine = pc.filter(rec, pc.fill_null(pc.equal(acc, account_id), False)).to_pylist()
        return sorted(str(r) for r in mine if r != account_id)

    def row(self, customer_id: str) -> dict[str, Any] | None:
        idx = pc.index(self.ids, customer_id).as_py()
        if idx is None or idx < 0:
            return None
        return self.customers.slice(idx, 1).to_pylist()[0]

    def sort_indices(self, t: pa.Table, column: str, descending: bool) -> pa.Array:
        """The rows of ``t`` (a filtered customer table) in the explorer's order: by
        ``column``, ties by customer id. Figures sort by value; classes and tiers in the
        order of the run's segment settings (A before B, gold before silver), other text
        case-insensitively. A customer without a figure or a text comes last in either
        direction."""
        col = t.column(column)
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        if self.ranks.get(column):
            text = text_array(t, column)
            ranked = list(self.ranks[column])
            # a label the settings do not list (an override's own) after those they do
            others = sorted(set(pc.unique(text).drop_null().to_pylist()) - set(ranked))
            key = pc.index_in(text, value_set=pa.array(ranked + others, pa.string()))
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            key = pc.utf8_lower(col)
        elif pa.types.is_boolean(col.type) or pa.types.is_list(col.type):
            key = text_array(t, column)
        else:
            key = col
        keyed = pa.table({"key": key, "id": text_array(t, "customer_id")})
        return pc.sort_indices(
            keyed,
            sort_keys=[("key", "descending" if descending else "ascending"), ("id", "ascending")],
        )

    def filtered(self, filters: dict[str, str], q: str) -> pa.Table:
        mask = pa.array(np.ones(self.customers.num_rows, dtype=bool))
        for f, v in filters.items():
            if v and f in self.choices:
                mask = pc.and_(
                    mask, pc.fill_null(pc.equal(text_array(self.customers, f), v), False)
                )
        if q:
            hit = pc.fill_null(pc.match_substring(self.ids, q, ignore_case=True), False)
            if "name" in self.customers.column_names:
                name = text_array(self.customers, "name")
                hit = pc.or_(
                    hit, pc.fill_null(pc.match_substring(name, q, ignore_case=True), False)
                )
            mask = pc.and_(mask, hit)
        return self.customers.filter(mask)


def _in_order(values: Any, ranked: list[str] | None) -> list[str]:
    """Labels in the order of the run's settings (A before B, gold before silver), those the
    settings do not list after them, by name; all by name without an order."""
    found = set(values)
    first = [v for v in ranked or [] if v in found]
    return first + sorted(found - set(first))


def _file_overrides(
    manifest: dict[str, Any],
) -> tuple[dict[str, dict[str, Any]], str | None, str | None]:
    """The overrides file the run named (``[segments] overrides_file``) as it reads now:
    its rows by customer id, its path, and why it cannot be read (or None). The next run
    applies what it says, so the dashboard shows it as in force."""
    from ..io.overrides import read_overrides

    seg = (manifest.get("settings") or {}).get("segments") or {}
    path = seg.get("overrides_file")
    if not path:
        return {}, None, None
    try:
        t = read_overrides(str(path))
    except TierwiseError as exc:
        return {}, str(path), exc.one_line() if hasattr(exc, "one_line") else str(exc)
    rows: dict[str, dict[str, Any]] = {}
    for r in t.to_pylist():
        if r["customer_id"]:
            rows.setdefault(str(r["customer_id"]), r)
    return rows, str(path), None


def _label_ranks(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """The order of the classes and tiers, from the run's segment settings in its
    manifest: classes as listed (A, B, C, D), each tier where its first class is (gold,
    silver, bronze). Empty when the manifest does not say."""
    seg = (manifest.get("settings") or {}).get("segments") or {}
    classes = seg.get("classes")
    tiers = seg.get("tiers")
    ranks: dict[str, list[str]] = {}
    if isinstance(classes, dict):
        ranks["value_class"] = [str(c) for c in classes]
    if isinstance(tiers, dict):
        ranks["tier"] = list(dict.fromkeys(str(t) for t in tiers.values()))
    return ranks


def _page_number(page_no: str, pages: int) -> int:
    """The page an address asks for, from 1 to ``pages``: a page number that is not one (a
    hand-edited address) is the first page, and one past the last (however many digits)
    the last.

    Examples
    --------
    >>> _page_number("3", 5), _page_number("x", 5), _page_number("9" * 40, 5), _page_number("0", 5)
    (3, 1, 5, 1)
    """
    digits = page_no.strip()
    number = (
        (int(digits) if len(digits) <= 18 else pages)
        if digits.isascii() and digits.isdigit()
        else 1
    )
    return min(max(number, 1), pages)


def sort_choice(columns: list[str], sort: str, order: str) -> tuple[str, bool]:
    """The explorer's sort column and whether it runs high to low, from the address:
    ``sort`` one of the shown ``columns`` (else revenue_12m, else the customer id),
    ``order`` "asc" or "desc" (else a column's natural first order: figures highest
    first, text from A).

    Examples
    --------
    >>> cols = ["customer_id", "name", "net_profit", "revenue_12m"]
    >>> sort_choice(cols, "net_profit", ""), sort_choice(cols, "name", "")
    (('net_profit', True), ('name', False))
    >>> sort_choice(cols, "net_profit", "asc"), sort_choice(cols, "no_such", "desc")
    (('net_profit', False), ('revenue_12m', True))
    """
    if sort not in columns:
        sort = DEFAULT_SORT if DEFAULT_SORT in columns else "customer_id"
        order = ""
    if order in SORT_WORDS:
        return sort, order == "desc"
    return sort, _first_descending(sort)


def _first_descending(column: str) -> bool:
    """Whether a column sorts high to low when first chosen: figures (the largest
    revenue, profit, value at risk first), not ids, names or labels."""
    return column in FIGURE_COLUMNS


def _run_time(out_dir: Path) -> str:
    """When the run wrote the folder (its manifest.json, else customers table), in UTC."""
    for name in ("manifest.json", "customers.parquet", "customers.csv"):
        try:
            mtime = (out_dir / name).stat().st_mtime
        except OSError:
            continue
        return dt.datetime.fromtimestamp(mtime, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return ""


def _signature(out_dir: Path) -> tuple[tuple[int, int, int] | None, ...]:
    """What changes when a run rewrites the folder: the manifest's and the customer
    table's inode, size and modification time (a stat each, cheap enough per request)."""
    sig: list[tuple[int, int, int] | None] = []
    for name in ("manifest.json", "customers.parquet", "customers.csv"):
        try:
            st = (out_dir / name).stat()
        except OSError:
            sig.append(None)
            continue
        sig.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(sig)


class _Live:
    """The run's tables, read again when the output folder is re-run while the dashboard
    is open (a run swaps the whole folder in one step, so a changed manifest means a
    complete new run). A folder that cannot be read (a run that is not done, on a system
    without that swap) keeps the tables of the last run read, and the pages say so."""

    def __init__(self, out_dir: Path, settings: ReportSettings) -> None:
        self.out_dir = out_dir
        self.settings = settings
        self._lock = threading.Lock()
        self._signature = _signature(out_dir)
        self.data = _Data(out_dir, settings)
        #: when the folder was re-run since the dashboard started (the run's time), or ""
        self.reloaded = ""
        #: why the changed folder could not be read, or ""
        self.unreadable = ""

    def current(self) -> _Data:
        sig = _signature(self.out_dir)
        if sig == self._signature:
            return self.data
        with self._lock:
            if sig != self._signature:
                try:
                    data = _Data(self.out_dir, self.settings)
                except (TierwiseError, OSError, pa.ArrowException, ValueError) as exc:
                    self.unreadable = " ".join(str(exc).split())[:300]
                    return self.data
                self.data, self._signature = data, sig
                self.reloaded, self.unreadable = data.run_at, ""
        return self.data


def _figures(t: pa.Table, currency: str = "") -> list[tuple[str, str]]:
    """The headline figures of a customer table, its population named: customers and, when
    it holds any, prospects (the sums are over both, as the label says); money with
    ``currency`` before it."""
    n_prospects = prospects_in(t)
    figs = [("customers", fmt_value(t.num_rows - n_prospects, "int"))]
    if n_prospects:
        figs.append(("prospects", fmt_value(n_prospects, "int")))
    for col, label, money in (
        ("revenue_12m", "revenue 12m", True),
        ("net_profit", "net profit", True),
        ("clv", "lifetime value", True),
        ("value_at_risk", "value at risk", True),
        ("wallet", "wallet", True),
        ("headroom", "headroom", True),
        ("visits_per_year", "visits a year", False),
        ("calls_per_year", "calls a year", False),
    ):
        if col in t.column_names:
            total = float(np.nansum(float_array(t, col)))
            figs.append((label, fmt_money(total, currency if money else "")))
    return figs


def _counts(t: pa.Table, col: str, ranked: list[str] | None = None) -> list[tuple[str, str]]:
    """Customers per value of ``col``, in the settings' order when ``ranked`` gives one."""
    if col not in t.column_names:
        return []
    g = (
        pa.table({col: pc.fill_null(text_array(t, col), "(none)")})
        .group_by(col, use_threads=False)
        .aggregate([(col, "count")])
        .sort_by([(col, "ascending")])
    )
    counts = dict(zip(g.column(col).to_pylist(), g.column(f"{col}_count").to_pylist(), strict=True))
    return [(str(k), fmt_value(counts[k], "int")) for k in _in_order(counts, ranked)]


#: how a customer figure is shown, by the unit the stage that owns its column declares
#: (docs/columns.md): money with the currency, a fraction as a percentage, a score or a ratio
#: as a plain figure, whatever words its name holds
_UNIT_KINDS: dict[str, Fmt] = {
    "currency": "money",
    "fraction": "pct",
    "fraction per year": "pct",
    "score 0-100": "num",
    "ratio": "num",
}


@cache
def _declared_units() -> dict[str, str]:
    """The unit of every documented customer column, by name."""
    from .. import registry

    return {doc.name: doc.unit for _, doc in registry.columns()}


def customer_column_kind(name: str, dtype: pa.DataType) -> Fmt:
    """How the customer page shows a column of customers.parquet: by its declared unit, or
    from its name (:func:`~tierwise.report.html.guess_format`) for a column of the user's own.

    Examples
    --------
    >>> import pyarrow as pa
    >>> [customer_column_kind(n, pa.float64()) for n in ("ease_share_invoices_late", "cogs")]
    ['num', 'money']
    """
    guessed = guess_format(name, dtype)
    if guessed == "text":
        return guessed
    return _UNIT_KINDS.get(_declared_units().get(name, ""), guessed)


def _display_rows(
    t: pa.Table, columns: list[str], whole_of: pa.Table | None = None, currency: str = ""
) -> tuple[list[str], list[bool], list[list[str]]]:
    """The cells of ``t``'s ``columns`` as text, each column in its declared unit
    (:func:`customer_column_kind`), money with ``currency`` before it as the figures above
    the table show it; ``whole_of``, the table ``t`` is a page of, decides each column's
    style (:func:`column_texts`), so that every page shows it alike."""
    cols = [c for c in columns if c in t.column_names]
    kinds = [customer_column_kind(c, t.schema.field(c).type) for c in cols]
    whole = whole_of if whole_of is not None else t
    texts = [
        [fmt_money(v, currency) for v in t.column(c).to_pylist()]
        if k == "money" and currency
        else column_texts(t.column(c).to_pylist(), k, reaches_100(whole.column(c)))
        for c, k in zip(cols, kinds, strict=True)
    ]
    rows = [[texts[j][i] for j in range(len(cols))] for i in range(t.num_rows)]
    return cols, [k != "text" for k in kinds], rows


#: a whole number as a form writes it: ASCII digits only (str.isdigit also takes "²", which
#: int() refuses)
_DIGITS = re.compile(r"[0-9]{1,18}")
#: keys the matching model derives from a record's fields (shown as the fields they come from)
_MATCHING_KEYS = frozenset({"name_core", "postcode_prefix", "email_domain"})


def _as_read(value: object) -> object:
    """A record's field as its file had it: a whole number without ".0" (employees 229)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def create_app(
    out_dir: str | Path,
    token: str | None = None,
    *,
    settings: ReportSettings | None = None,
    allowed_hosts: list[str] | None = None,
    user: str | None = None,
) -> FastAPI:
    """The dashboard over an output folder.

    Parameters
    ----------
    out_dir
        An output folder of ``tierwise run``.
    token
        Access token; every request must carry it (``?token=``, then a cookie, or a bearer
        header). ``None``: no token, and only local host names are answered.
    settings
        The ``[report]`` section (page size of the explorer).
    allowed_hosts
        Host names the server answers to; default the local names without a token, any
        with one.
    user
        The name prefilled in the forms' "by" field (default: the login name).

    Example
    -------
    >>> import tempfile, pyarrow.parquet as pq
    >>> d = Path(tempfile.mkdtemp())
    >>> pq.write_table(pa.table({"customer_id": ["a"], "name": ["<b>A</b>"]}),
    ...                d / "customers.parquet")
    >>> from fastapi.testclient import TestClient
    >>> client = TestClient(create_app(d), base_url="http://127.0.0.1")
    >>> page = client.get("/customers/a").text
    >>> "&lt;b&gt;A&lt;/b&gt;" in page and "<b>A</b>" not in page
    True
    """
    out = Path(out_dir)
    s = settings or ReportSettings()
    live = _Live(out, s)
    store = DecisionStore(out / OVERRIDES_FILE)
    csrf = secrets.token_urlsafe(24)
    default_user = user or _login_name()
    app = FastAPI(title="tierwise", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    app.state.live = live
    hosts = allowed_hosts or (["*"] if token else LOCAL_HOSTS)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if token is not None:
            given = request.query_params.get("token")
            cookie = request.cookies.get(COOKIE, "")
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            ok = any(secrets.compare_digest(x, token) for x in (cookie, bearer) if x)
            if given is not None and secrets.compare_digest(given, token):
                # the token leaves the address bar: a cookie carries it from here on
                url = request.url.remove_query_params("token")
                resp: Response = RedirectResponse(str(url), status_code=303)
                resp.set_cookie(COOKIE, token, httponly=True, samesite="strict")
                return resp
            if not ok:
                return HTMLResponse(
                    "<!DOCTYPE html><title>tierwise</title><p>An access token is needed: open "
                    "the address <code>tierwise serve</code> printed (it ends in "
                    "<code>?token=…</code>).</p>",
                    status_code=401,
                )
        if request.method == "POST":
            await request.body()  # cached, so the endpoint reads the same form
            form = await request.form()
            if not secrets.compare_digest(str(form.get("csrf", "")), csrf):
                return HTMLResponse("<p>This form has expired: reload the page.</p>", 403)
        response = await call_next(request)
        if "content-security-policy" not in response.headers:
            response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def page(template: str, request: Request, status: int = 200, **ctx: Any) -> HTMLResponse:
        data = live.current()
        html = without_controls(
            _env()
            .get_template(template)
            .render(
                csrf=csrf,
                user=default_user,
                nav=request.url.path,
                as_of=str(data.folder.manifest.get("as_of", "")),
                run_at=data.run_at,
                reloaded=live.reloaded,
                unreadable=live.unreadable,
                read_only=store.read_only,
                status=status,
                **ctx,
            )
        )
        return HTMLResponse(html, status_code=status)

    def error_page(request: Request, status: int, message: str, **ctx: Any) -> HTMLResponse:
        return page("error.html", request, status=status, message=message, **ctx)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            f"{' '.join(str(x) for x in e.get('loc', ())[1:]) or 'the request'}: {e.get('msg')}"
            for e in exc.errors()
        ]
        return error_page(request, 400, "This address or form is not valid: " + "; ".join(problems))

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> HTMLResponse:
        data = live.current()
        t = data.customers
        groups = [
            (label, _counts(t, col, data.ranks.get(col)))
            for col, label in (
                ("value_class", "class"),
                ("tier", "tier"),
                ("status", "status"),
                ("channel", "channel"),
                ("plan_change", "change against the previous plan"),
                ("class_change", "class against the previous run"),
            )
            if col in t.column_names
        ]
        manifest = data.folder.manifest
        warnings = [str(w) for w in manifest.get("warnings") or []]
        return page(
            "overview.html",
            request,
            figures=_figures(t, currency_of(manifest))
            + [(k[:1].lower() + k[1:], v) for k, v in plan_figures(manifest)],
            plan_lines=plan_lines(manifest),
            groups=groups,
            warnings=warnings,
            has_report=(out / "report.html").is_file(),
            n_overrides=store.overrides().num_rows,
            n_waiting=_waiting(store, data),
            n_file=len(data.file_overrides),
            overrides_file=data.overrides_file,
            population=_population(t),
        )

    @app.get("/segments", response_class=HTMLResponse)
    def segments(
        request: Request, q: str = "", page_no: str = "1", sort: str = "", order: str = ""
    ) -> HTMLResponse:
        data = live.current()
        filters = {f: request.query_params.get(f, "") for f in data.choices}
        t = data.filtered(filters, q.strip())
        columns = data.explorer_columns
        sort_col, descending = sort_choice(columns, sort, order)
        size = s.page_size
        pages = max(1, math.ceil(t.num_rows / size))
        at_page = _page_number(page_no, pages)
        # the whole filtered table is ordered by index (Arrow puts nulls and NaN last in
        # either direction); only the page's rows are taken
        indices = data.sort_indices(t, sort_col, descending)
        shown = t.take(indices.slice((at_page - 1) * size, size))
        cols, numeric, rows = _display_rows(shown, columns, t, currency_of(data.folder.manifest))
        chosen = {k: v for k, v in {**filters, "q": q}.items() if v}
        keep = {**chosen, "sort": sort_col, "order": "desc" if descending else "asc"}
        heads = []
        for c in cols:
            if c == sort_col:
                state = "descending" if descending else "ascending"
                click_desc = not descending
            else:
                state, click_desc = "", _first_descending(c)
            label = c.replace("_", " ")
            how = _order_words(c, click_desc, data.ranks)
            heads.append(
                {
                    "label": label,
                    "state": state,
                    "url": "/segments?"
                    + urlencode({**chosen, "sort": c, "order": "desc" if click_desc else "asc"}),
                    "title": f"Sort by {label}, {how}",
                }
            )
        return page(
            "segments.html",
            request,
            choices=data.choices,
            filters=filters,
            q=q,
            sort=sort_col,
            order=keep["order"],
            sorted_by=sort_col.replace("_", " ")
            + ", "
            + _order_words(sort_col, descending, data.ranks),
            figures=_figures(t, currency_of(data.folder.manifest)),
            columns=cols,
            numeric=numeric,
            heads=heads,
            rows=rows,
            ids=shown.column("customer_id").to_pylist(),
            page_no=at_page,
            pages=pages,
            prev_url="/segments?" + urlencode({**keep, "page_no": at_page - 1}),
            next_url="/segments?" + urlencode({**keep, "page_no": at_page + 1}),
            n=t.num_rows,
            n_prospects=prospects_in(t),
        )

    @app.get("/lookup", response_class=HTMLResponse, response_model=None)
    def lookup(request: Request, q: str = "") -> Response:
        data = live.current()
        q = q.strip()
        if q and data.row(q) is not None:
            return RedirectResponse(page_url("customers", q), status_code=303)
        t = data.filtered({}, q) if q else data.customers.slice(0, 0)
        t = t.slice(0, 100)
        cols, numeric, rows = _display_rows(t, ["customer_id", "name", "value_class", "status"])
        return page(
            "lookup.html",
            request,
            q=q,
            columns=cols,
            numeric=numeric,
            rows=rows,
            ids=t.column("customer_id").to_pylist() if t.num_rows else [],
        )

    def no_customer(request: Request, customer_id: str) -> HTMLResponse:
        data = live.current()
        account = data.account_of(pa.array([customer_id], pa.string()))[0]
        return error_page(
            request,
            404,
            f"No customer {customer_id!r} in this run.",
            merged_into=account if account != customer_id else None,
        )

    def _customer_page(
        request: Request,
        customer_id: str,
        error: str = "",
        status: int = 200,
        typed: dict[str, str] | None = None,
    ) -> HTMLResponse:
        data = live.current()
        row = data.row(customer_id)
        if row is None:
            return no_customer(request, customer_id)
        t = data.customers
        currency = currency_of(data.folder.manifest)
        figures = [
            (
                k,
                fmt_money(v, currency)
                if (kind := customer_column_kind(k, t.schema.field(k).type)) == "money"
                else fmt_value(v, kind),
            )
            for k, v in row.items()
        ]
        reasons = [
            (label, row[col])
            for col, label in (
                ("class_reason", "Class and tier"),
                ("coverage_reason", "Coverage"),
                ("status_reason", "Status"),
            )
            if row.get(col)
        ]
        cs_rows: list[list[str]] = []
        cs_cols: list[str] = []
        cs_num: list[bool] = []
        if data.cross_sell is not None and "customer_id" in data.cross_sell.column_names:
            mine = data.cross_sell.filter(
                pc.equal(text_array(data.cross_sell, "customer_id"), customer_id)
            )
            cs_cols, cs_num, cs_rows = _display_rows(
                mine, mine.column_names, currency=currency_of(data.folder.manifest)
            )
        computed_class, computed_tier = _computed(row, data.applied_override(customer_id))
        override = store.override(customer_id)
        # an override made on a record since merged into this account: the run carries it
        # here (when the account has none of its own)
        from_file = data.file_overrides.get(customer_id)
        carried = None
        if override is None and from_file is None:
            for record in data.records_of(customer_id):
                carried = store.override(record)
                if carried is not None:
                    break
        next_run = _next_run(from_file, override or carried, computed_class, computed_tier, data)
        return page(
            "customer.html",
            request,
            status=status,
            cid=customer_id,
            name=row.get("name") or "",
            figures=figures,
            reasons=reasons,
            override=override,
            override_applied=_applied_now(override, data.applied_override(customer_id)),
            carried=carried,
            carried_applied=_applied_now(carried, data.applied_override(customer_id)),
            carried_version=store.version(KIND_OVERRIDE, carried["customer_id"]) if carried else 0,
            from_file=from_file,
            overrides_file=data.overrides_file,
            overrides_file_problem=data.overrides_file_problem,
            next_run=next_run,
            pairs=_confirmed_pairs(store, data, customer_id),
            run_class=row.get("value_class"),
            run_tier=row.get("tier"),
            applied=data.applied_override(customer_id),
            classes=data.choices.get("value_class", []),
            tiers=data.choices.get("tier", []),
            computed_class=computed_class,
            computed_tier=computed_tier,
            back=BACK_TO_COMPUTED,
            typed=typed or {},
            version=store.version(KIND_OVERRIDE, customer_id),
            audit=store.audit(subject=customer_id, kind=KIND_OVERRIDE),
            cs_cols=cs_cols,
            cs_num=cs_num,
            cs_rows=cs_rows,
            error=error,
            max_text=MAX_TEXT,
        )

    # ids may hold a "/" (an ERP's "ACME/01"): the path converter takes the rest of the path
    @app.get("/customers/{customer_id:path}", response_class=HTMLResponse)
    def customer(request: Request, customer_id: str) -> HTMLResponse:
        return _customer_page(request, customer_id)

    # the same page for an id that cannot be a path segment ("..": see page_url)
    @app.get("/customer", response_class=HTMLResponse)
    def customer_by_query(request: Request, customer_id: str = Query(alias="id")) -> HTMLResponse:
        return _customer_page(request, customer_id)

    @app.post(
        "/customers/{customer_id:path}/override", response_class=HTMLResponse, response_model=None
    )
    def override(
        request: Request,
        customer_id: str,
        value_class: str = Form(""),
        tier: str = Form(""),
        reason: str = Form(""),
        by: str = Form(""),
        remove: str = Form(""),
        seen: str = Form(""),
    ) -> Response:
        data = live.current()
        row = data.row(customer_id)
        if row is None:
            account = data.account_of(pa.array([customer_id], pa.string()))[0]
            if remove and account and store.override(customer_id) is not None:
                # the override of a record since merged: removed from its account's page
                return _remove_record_override(request, customer_id, account, by, seen)
            return no_customer(request, customer_id)
        typed = {"value_class": value_class, "tier": tier, "reason": reason, "by": by}
        new_class = _field_choice(value_class)
        new_tier = _field_choice(tier)
        if remove:
            new_class = new_tier = None
        problem = _check_override(data, new_class, new_tier, reason, by, bool(remove))
        if problem:
            return _customer_page(request, customer_id, error=problem, status=400, typed=typed)
        computed_class, computed_tier = _computed(row, data.applied_override(customer_id))
        # the audit's "old" is what the customer has without the dashboard: the overrides
        # file's class or tier where it sets one, else the computed one
        from_file = data.file_overrides.get(customer_id) or {}
        try:
            store.set_override(
                customer_id,
                value_class=new_class,
                tier=new_tier,
                reason=reason.strip() or "override removed",
                by=by.strip(),
                computed_class=from_file.get("value_class") or computed_class,
                computed_tier=from_file.get("tier") or computed_tier,
                seen=_version_seen(seen),
            )
        except StaleVersionError as exc:
            return _customer_page(
                request,
                customer_id,
                error=_stale_override_message(exc, store.override(customer_id)),
                status=409,
                typed=typed,
            )
        except (FolderBusyError, ReadOnlyFolderError) as exc:
            return _customer_page(
                request, customer_id, error=str(exc), status=_not_saved(exc), typed=typed
            )
        return RedirectResponse(page_url("customers", customer_id), status_code=303)

    def _remove_record_override(
        request: Request, record: str, account: str, by: str, seen: str
    ) -> Response:
        if not by.strip():
            return _customer_page(
                request, account, error="Say who removes the override.", status=400
            )
        try:
            store.set_override(
                record,
                value_class=None,
                tier=None,
                reason="override removed",
                by=by.strip(),
                computed_class=None,
                computed_tier=None,
                seen=_version_seen(seen),
            )
        except StaleVersionError as exc:
            message = _stale_override_message(exc, store.override(record))
            return _customer_page(request, account, error=message, status=409)
        except (FolderBusyError, ReadOnlyFolderError) as exc:
            return _customer_page(request, account, error=str(exc), status=_not_saved(exc))
        return RedirectResponse(page_url("customers", account), status_code=303)

    @app.post("/customer/override", response_class=HTMLResponse, response_model=None)
    def override_by_query(
        request: Request,
        customer_id: str = Query(alias="id"),
        value_class: str = Form(""),
        tier: str = Form(""),
        reason: str = Form(""),
        by: str = Form(""),
        remove: str = Form(""),
        seen: str = Form(""),
    ) -> Response:
        return override(request, customer_id, value_class, tier, reason, by, remove, seen)

    @app.get("/reps", response_class=HTMLResponse)
    def reps(request: Request) -> HTMLResponse:
        data = live.current()
        if data.rep_plan is not None:
            cols, numeric, rows = _display_rows(
                data.rep_plan,
                data.rep_plan.column_names,
                currency=currency_of(data.folder.manifest),
            )
            key = "rep_id" if "rep_id" in data.rep_plan.column_names else cols[0]
            ids = [str(v) for v in text_array(data.rep_plan, key).to_pylist()]
        else:
            counts = _counts(pa.table({"rep": data.carrying}), "rep")
            cols, numeric = ["rep", "customers"], [False, True]
            rows = [[k, v] for k, v in counts]
            ids = [k for k, _ in counts]
        n_unassigned = int(pc.sum(pc.is_null(data.carrying)).as_py() or 0)
        if data.rep_plan is None and n_unassigned:
            rows = [r for r in rows if r[0] != "(none)"]
            ids = [i for i in ids if i != "(none)"]
        return page(
            "reps.html",
            request,
            columns=cols,
            numeric=numeric,
            rows=rows,
            ids=ids,
            planned=data.rep_column == "assigned_rep",
            n_unassigned=n_unassigned,
            unassigned=UNASSIGNED,
        )

    @app.get("/rep", response_class=HTMLResponse)
    def rep_by_query(
        request: Request, rep: str = Query(alias="id"), page_no: str = "1"
    ) -> HTMLResponse:
        return rep_page(request, rep, page_no)

    @app.get("/reps/{rep:path}", response_class=HTMLResponse)
    def rep_page(request: Request, rep: str, page_no: str = "1") -> HTMLResponse:
        from ..report.xlsx import _priority_order

        data = live.current()
        carried = pc.fill_null(pc.equal(data.carrying, rep), False)
        if rep == UNASSIGNED:
            # the accounts no rep carries, as plan.xlsx lists them (and a rep named so)
            carried = pc.or_(carried, pc.is_null(data.carrying))
        t = data.customers.filter(carried)
        planned = data.rep_plan is not None and rep in {
            str(v) for v in text_array(data.rep_plan, "rep_id").to_pylist()
        }
        if t.num_rows == 0 and not planned:
            # a rep of the plan with no customer has its (empty) list; any other is unknown
            raise HTTPException(404, f"No rep {rep} in this run: the Reps page lists them.")
        order = _priority_order(t, np.zeros(t.num_rows, dtype=np.int64))
        pages = max(1, math.ceil(t.num_rows / CALL_LIST_PAGE))
        at_page = _page_number(page_no, pages)
        shown = t.take(pa.array(order).slice((at_page - 1) * CALL_LIST_PAGE, CALL_LIST_PAGE))
        address = page_url("reps", rep)
        joiner = "&" if "?" in address else "?"
        cols, numeric, rows = _display_rows(
            shown,
            [
                "customer_id",
                "name",
                "value_class",
                "tier",
                "channel",
                "visits_per_year",
                "calls_per_year",
                "emails_per_year",
                "coverage_reason",
                "revenue_12m",
                "clv",
            ],
            t,
            currency_of(data.folder.manifest),
        )
        return page(
            "rep.html",
            request,
            rep=rep,
            unassigned=rep == UNASSIGNED,
            figures=_figures(t, currency_of(data.folder.manifest)),
            columns=cols,
            numeric=numeric,
            rows=rows,
            ids=shown.column("customer_id").to_pylist(),
            page_no=at_page,
            pages=pages,
            first=(at_page - 1) * CALL_LIST_PAGE + 1,
            last=(at_page - 1) * CALL_LIST_PAGE + shown.num_rows,
            n=t.num_rows,
            prev_url=f"{address}{joiner}{urlencode({'page_no': at_page - 1})}",
            next_url=f"{address}{joiner}{urlencode({'page_no': at_page + 1})}",
        )

    def review_page(
        request: Request,
        status: int = 200,
        problem: tuple[str, str] | None = None,
        typed: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """The queue; ``problem`` is (pair subject, message) shown at that pair, whose form
        keeps what was ``typed``."""
        data = live.current()
        q = data.review_queue
        decided = {
            pair_subject(r["left_id"], r["right_id"]): r for r in store.decisions().to_pylist()
        }
        versions = store.versions(KIND_REVIEW, sorted(data.queued_pairs))
        pairs = []
        if q is not None:
            # the records' own fields, side by side: not the matching model's normalised
            # copies (name_norm, postcode_prefix, …), which say nothing a person reads
            fields = [
                c[:-2]
                for c in q.column_names
                if c.endswith("_l")
                and f"{c[:-2]}_r" in q.column_names
                and not c[:-2].endswith("_norm")
                and c[:-2] not in _MATCHING_KEYS
            ]
            account = data.account_of(q.column("left_id")), data.account_of(q.column("right_id"))
            for i, r in enumerate(q.to_pylist()):
                subject = pair_subject(str(r["left_id"]), str(r["right_id"]))
                mine = problem is not None and problem[0] == subject
                pairs.append(
                    {
                        "n": i + 1,
                        "left_id": r["left_id"],
                        "right_id": r["right_id"],
                        # the queue names records; the customer pages are the accounts'
                        "left_account": account[0][i],
                        "right_account": account[1][i],
                        "probability": fmt_value(r.get("match_probability"), "pct"),
                        "fields": [
                            (f, _as_read(r.get(f"{f}_l")), _as_read(r.get(f"{f}_r")))
                            for f in fields
                        ],
                        "reason": r.get("reason") or "",
                        "decision": decided.get(subject),
                        "version": versions.get(subject, 0),
                        "error": problem[1] if mine and problem else "",
                        "typed": (typed or {}) if mine else {},
                    }
                )
        return page(
            "review.html",
            request,
            status=status,
            pairs=pairs,
            has_queue=q is not None,
            words=DECISION_WORDS,
            n_decided=sum(p["decision"] is not None for p in pairs),
        )

    @app.get("/review", response_class=HTMLResponse)
    def review(request: Request) -> HTMLResponse:
        return review_page(request)

    @app.post("/review", response_model=None)
    def review_decide(
        request: Request,
        left_id: str = Form(""),
        right_id: str = Form(""),
        decision: str = Form(""),
        by: str = Form(""),
        reason: str = Form(""),
        seen: str = Form(""),
        n: str = Form(""),
    ) -> Response:
        data = live.current()
        subject = pair_subject(left_id, right_id)
        typed = {"by": by, "reason": reason}
        problem = ""
        if subject not in data.queued_pairs:
            problem = (
                f"The pair {left_id} and {right_id} is not in this run's review queue "
                "(the folder may have been re-run since the page was loaded): nothing was saved."
            )
            return error_page(request, 400, problem)
        if decision not in DECISION_WORDS:
            problem = "Choose “Same company” or “Different companies”."
        elif not by.strip():
            problem = "Say who decides (the 'by' field)."
        elif len(by.strip()) > MAX_BY:
            problem = f"The 'by' field is at most {MAX_BY} characters."
        elif len(reason.strip()) > MAX_TEXT:
            problem = (
                f"The note is at most {MAX_TEXT:,} characters; this one has "
                f"{len(reason.strip()):,}. Shorten it: nothing was saved."
            )
        if problem:
            return review_page(request, 400, (subject, problem), typed)
        try:
            store.decide_pair(
                left_id,
                right_id,
                decision,
                by=by.strip(),
                reason=reason.strip() or None,
                seen=_version_seen(seen),
            )
        except StaleVersionError as exc:
            message = _stale_review_message(exc, decision)
            return review_page(request, 409, (subject, message), typed)
        except (FolderBusyError, ReadOnlyFolderError) as exc:
            return review_page(request, _not_saved(exc), (subject, str(exc)), typed)
        anchor = f"#pair-{n}" if _DIGITS.fullmatch(n) else ""
        return RedirectResponse(f"/review{anchor}", status_code=303)

    @app.get("/audit", response_class=HTMLResponse)
    def audit(request: Request) -> HTMLResponse:
        return page("audit.html", request, entries=store.audit())

    @app.get("/downloads", response_class=HTMLResponse)
    def downloads(request: Request) -> HTMLResponse:
        return page("downloads.html", request, files=_downloadable(out))

    @app.get("/download/{name}")
    def download(name: str) -> FileResponse:
        live.current()
        files = {f: size for f, size in _downloadable(out)}
        if name not in files:
            raise HTTPException(404, "no such file")
        return FileResponse(out / name, filename=name)

    @app.get("/report", response_class=HTMLResponse)
    def report(request: Request) -> HTMLResponse:
        if not (out / "report.html").is_file():
            raise HTTPException(404, "no report.html: run 'tierwise report DIR'")
        return page("report.html", request)

    @app.get("/report.html")
    def report_file() -> FileResponse:
        path = out / "report.html"
        if not path.is_file():
            raise HTTPException(404, "no report.html: run 'tierwise report DIR'")
        return FileResponse(
            path, media_type="text/html", headers={"Content-Security-Policy": _REPORT_CSP}
        )

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        assets = {
            "app.css": "text/css",
            "app.js": "text/javascript",
        }
        if name in assets:
            text = (resources.files("tierwise.app") / "static" / name).read_text("utf-8")
            return Response(text, media_type=assets[name])
        if name in ("vega.js", "vega-lite.js", "vega-embed.js"):
            return Response(vendor_script(name[:-3]), media_type="text/javascript")
        raise HTTPException(404, "no such file")

    return app


def _order_words(column: str, descending: bool, ranks: dict[str, list[str]]) -> str:
    """A sort direction in words: "highest first" for a figure, "gold first" for a label
    of the run's settings, "Z to A" for other text."""
    if _first_descending(column):
        return "highest first" if descending else "lowest first"
    labels = ranks.get(column)
    if labels:
        return f"{labels[-1] if descending else labels[0]} first"
    return "Z to A" if descending else "A to Z"


def _field_choice(value: str) -> str | Keep | None:
    """A class or tier choice of the override form: "(keep)" (empty) keeps the override in
    force for that field, :data:`BACK_TO_COMPUTED` drops it, anything else sets it."""
    text = value.strip()
    if not text:
        return KEEP
    if text == BACK_TO_COMPUTED:
        return None
    return text


def _not_saved(exc: TierwiseError) -> int:
    """The status of a decision refused: 403 in a folder that cannot be written, 503 while
    a run holds the folder (the same decision succeeds a moment later)."""
    return 403 if isinstance(exc, ReadOnlyFolderError) else 503


def _version_seen(seen: str) -> int:
    """The version a form was drawn with (a form without one saw nothing decided)."""
    return int(seen) if _DIGITS.fullmatch(seen.strip()) else 0


def _computed(row: dict[str, Any], applied: dict[str, Any] | None) -> tuple[Any, Any]:
    """The class and tier the mathematics gave one customer: ``value_class_computed``, and
    the tier of the class (overrides_applied's computed_tier for an overridden customer;
    None when an override moved the customer and the folder does not say)."""
    computed_class = row.get("value_class_computed") or row.get("value_class")
    if applied is not None:
        return applied.get("computed_class") or computed_class, applied.get("computed_tier")
    if computed_class == row.get("value_class"):
        return computed_class, row.get("tier")
    return computed_class, None


def _applied_now(override: dict[str, Any] | None, applied: dict[str, Any] | None) -> bool:
    """Whether the run that wrote the folder applied the dashboard's override in force (the
    same one: each field's value, author and time), so that the next run changes nothing.

    The run's overrides_applied names each field's source; a folder written before it had
    that column is matched on the row's author and time."""
    if override is None or applied is None:
        return False
    source = applied.get("source")
    if source is None:
        return str(applied.get("when")) == str(override.get("at")) and applied.get("by") == (
            override.get("by")
        )
    for column, prefix, new in (
        ("value_class", "class", "new_class"),
        ("tier", "tier", "new_tier"),
    ):
        if override.get(column) is None:
            continue
        by = override.get(f"{prefix}_by") or override.get("by")
        at = override.get(f"{prefix}_at") or override.get("at")
        if applied.get(new) != override[column] or dashboard_origin(by, at) not in str(source):
            return False
    return True


def _next_run(
    from_file: dict[str, Any] | None,
    override: dict[str, Any] | None,
    computed_class: Any,
    computed_tier: Any,
    data: _Data,
) -> list[tuple[str, Any, str]]:
    """What the next run gives one customer, field by field: (field, value, where from),
    the dashboard's override over the file's, the file's over the computed."""
    out = []
    for column, word, computed in (
        ("value_class", "class", computed_class),
        ("tier", "tier", computed_tier),
    ):
        if override is not None and override.get(column):
            out.append((word, override[column], "this dashboard"))
        elif from_file is not None and from_file.get(column):
            where = f"the overrides file, row {from_file.get('_row')}"
            out.append((word, from_file[column], where))
        elif column == "tier" and (
            (override is not None and override.get("value_class"))
            or (from_file is not None and from_file.get("value_class"))
        ):
            out.append((word, None, "the tier of the class"))
        else:
            out.append((word, computed, "computed"))
    return out


def _confirmed_pairs(store: DecisionStore, data: _Data, customer_id: str) -> list[dict[str, Any]]:
    """The duplicate pairs confirmed in the dashboard that hold one customer (or a record
    of its account): the other record, who confirmed it and when, and whether the run in
    the folder merged them already."""
    mine = {customer_id, *data.records_of(customer_id)}
    t = store.decisions()
    out = []
    for r in t.to_pylist():
        if r["decision"] != "confirm" or not ({r["left_id"], r["right_id"]} & mine):
            continue
        other = r["right_id"] if r["left_id"] in mine else r["left_id"]
        accounts = data.account_of(pa.array([other], pa.string()))
        out.append(
            {
                "other": other,
                "by": r["decided_by"],
                "at": when_text(r["decided_at"]),
                "merged": accounts[0] == customer_id,
                "account": min(customer_id, other),
            }
        )
    return out


def _waiting(store: DecisionStore, data: _Data) -> int:
    """The dashboard's overrides the run in the folder did not apply (one made on a record
    since merged is looked up under its account, where the run applied it)."""
    overrides = store.overrides().to_pylist()
    ids = pa.array([str(o["customer_id"]) for o in overrides], pa.string())
    accounts = data.account_of(ids)
    return sum(
        not _applied_now(o, data.applied_override(account or str(o["customer_id"])))
        for o, account in zip(overrides, accounts, strict=True)
    )


def _population(t: pa.Table) -> str:
    """The population the overview counts, in words."""
    n = prospects_in(t)
    return f"customers and {n:,} prospects" if n else "customers"


def _word(value: str | None) -> str:
    return DECISION_WORDS.get(value or "", value or "–")


def _stale_review_message(exc: StaleVersionError, yours: str) -> str:
    e = exc.latest or {}
    note = f" (note: “{e['why']}”)" if e.get("why") else ""
    return (
        f"{e.get('by', 'Someone')} chose “{_word(e.get('new'))}” at {e.get('at')} UTC{note} "
        "after this page was loaded. Your choice, "
        f"“{_word(yours)}”, was not saved. Choose again to replace theirs."
    )


def _stale_override_message(exc: StaleVersionError, now: dict[str, Any] | None) -> str:
    e = exc.latest or {}
    if now is None:
        state = "now there is no override"
    else:
        state = "now " + "; ".join(
            f"{label} {now.get(column) or '(computed)'}"
            + (f", “{now.get(f'{prefix}_reason')}”" if now.get(column) else "")
            for column, prefix, label in (
                ("value_class", "class", "class"),
                ("tier", "tier", "tier"),
            )
        )
    return (
        f"{e.get('by', 'Someone')} changed this override at {e.get('at')} UTC after this "
        f"page was loaded ({state}). Your change was not saved; submit it again to replace "
        "theirs."
    )


def _check_override(
    data: _Data,
    value_class: str | Keep | None,
    tier: str | Keep | None,
    reason: str,
    by: str,
    remove: bool,
) -> str:
    """A sentence saying what is wrong with an override, or empty."""
    if not by.strip():
        return "Say who makes the change (the 'by' field)."
    if len(by.strip()) > MAX_BY:
        return f"The 'by' field is at most {MAX_BY} characters."
    if remove:
        return ""
    if isinstance(value_class, Keep) and isinstance(tier, Keep):
        return "Choose a class or a tier (or remove the override)."
    if not reason.strip():
        return "Give a reason for the override."
    if len(reason.strip()) > MAX_TEXT:
        return (
            f"The reason is at most {MAX_TEXT:,} characters; this one has "
            f"{len(reason.strip()):,}. Shorten it: nothing was saved."
        )
    for v in (value_class, tier):
        if isinstance(v, str) and len(v) > 40:
            return "A class or tier name is at most 40 characters."
    known_classes = data.choices.get("value_class")
    if isinstance(value_class, str) and known_classes and value_class not in known_classes:
        return f"Unknown class {value_class!r}: use one of {', '.join(known_classes)}."
    known_tiers = data.choices.get("tier")
    if isinstance(tier, str) and known_tiers and tier not in known_tiers:
        return f"Unknown tier {tier!r}: use one of {', '.join(known_tiers)}."
    return ""


def _downloadable(out: Path) -> list[tuple[str, str]]:
    files = []
    for p in sorted(out.iterdir()):
        if (
            p.is_file()
            and not p.name.startswith(".")
            and p.suffix != ".duckdb"
            and not p.name.endswith(".wal")
        ):
            files.append((p.name, _size(p.stat().st_size)))
    return files


def _size(n_bytes: int) -> str:
    """A file's size as the downloads list shows it: bytes below 1 KiB, so that a file of a
    header and a few rows does not read as empty ("0 KiB").

    Examples
    --------
    >>> _size(0), _size(300), _size(1_500), _size(15_868_000)
    ('0 bytes', '300 bytes', '1 KiB', '15,496 KiB')
    """
    if n_bytes < 1024:
        return f"{n_bytes:,} bytes"
    return f"{n_bytes / 1024:,.0f} KiB"


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def check_port(host: str, port: int) -> None:
    """Raise :class:`SettingsError` when the dashboard cannot listen on ``host:port`` (the
    port is taken by another program, or the address is not this machine's)."""
    import errno
    import socket

    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            where, fix = f"--port {port}", "give another --port, or stop the program using it"
        else:
            where, fix = f"--host {host}", "give an address of this machine, such as 127.0.0.1"
        raise SettingsError(
            f"{where}: the dashboard cannot listen on {host}:{port} ({exc.strerror or exc}); " + fix
        ) from None


def serve(
    out_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    *,
    settings: ReportSettings | None = None,
) -> None:
    """Run the dashboard until interrupted.

    Raises
    ------
    SettingsError
        When ``host`` is not a loopback address and no ``token`` is given.

    Example
    -------
    >>> serve("out", host="0.0.0.0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tierwise.errors.SettingsError: serving on 0.0.0.0 makes the dashboard reachable ...
    """
    if not is_loopback(host) and not token:
        raise SettingsError(
            f"serving on {host} makes the dashboard reachable from other machines: give an "
            "access token (--token, or the TIERWISE_TOKEN environment variable)"
        )
    check_port(host, port)
    import uvicorn

    app = create_app(out_dir, token, settings=settings)
    uvicorn.run(app, host=host, port=port, log_level="warning")
