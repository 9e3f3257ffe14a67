"""``tierwise serve``: a local dashboard over a run's output folder (FastAPI + Jinja2).

Pages: overview, segment explorer with filters, customer look-up (every figure and the
reason for each assignment), rep plans, the duplicate review queue (confirm / reject),
class overrides with a reason, the audit log, and downloads. Decisions are kept in
``overrides.duckdb`` in the folder (:mod:`tierwise.app.store`).

Safety: binds 127.0.0.1 by default and answers only to local host names there; any other
address needs an access token (given once as ``?token=…``, then kept in a same-site cookie,
or sent as ``Authorization: Bearer …``). Every form carries a per-server CSRF token. Pages
are rendered with autoescaping and served with a Content-Security-Policy that allows no
inline script, so text from the inputs shows as text.
"""

from __future__ import annotations

import getpass
import ipaddress
import math
import secrets
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
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from ..errors import SettingsError
from ..report._folder import RunFolder, float_array, text_array
from ..report.html import fmt_value, guess_format, vendor_script
from ..settings.report import ReportSettings
from .store import OVERRIDES_FILE, DecisionStore

__all__ = ["create_app", "serve"]

COOKIE = "tierwise_token"
LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
#: filters of the segment explorer (customer columns, when present)
FILTERS = ("value_class", "tier", "niche", "status", "channel", "assigned_rep", "rep_id")
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
    "font-src data:; frame-ancestors 'none'"
)


#: the page of one customer or rep, addressed by its key in the query (see :func:`page_url`)
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
        self.choices = {
            f: sorted(v for v in pc.unique(text_array(customers, f)).to_pylist() if v is not None)
            for f in FILTERS
            if f in customers.column_names
        }
        self.rep_column = "assigned_rep" if "assigned_rep" in customers.column_names else "rep_id"

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

    def row(self, customer_id: str) -> dict[str, Any] | None:
        idx = pc.index(self.ids, customer_id).as_py()
        if idx is None or idx < 0:
            return None
        return self.customers.slice(idx, 1).to_pylist()[0]

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


def _figures(t: pa.Table) -> list[tuple[str, str]]:
    figs = [("customers", fmt_value(t.num_rows, "int"))]
    for col, label in (
        ("revenue_12m", "revenue 12m"),
        ("net_profit", "net profit"),
        ("clv", "lifetime value"),
        ("value_at_risk", "value at risk"),
        ("wallet", "wallet"),
        ("headroom", "headroom"),
        ("visits_per_year", "visits a year"),
        ("calls_per_year", "calls a year"),
    ):
        if col in t.column_names:
            figs.append((label, fmt_value(float(np.nansum(float_array(t, col))), "money")))
    return figs


def _counts(t: pa.Table, col: str) -> list[tuple[str, str]]:
    if col not in t.column_names:
        return []
    g = (
        pa.table({col: pc.fill_null(text_array(t, col), "(none)")})
        .group_by(col, use_threads=False)
        .aggregate([(col, "count")])
        .sort_by([(col, "ascending")])
    )
    return [
        (str(k), fmt_value(v, "int"))
        for k, v in zip(
            g.column(col).to_pylist(), g.column(f"{col}_count").to_pylist(), strict=True
        )
    ]


def _display_rows(t: pa.Table, columns: list[str]) -> tuple[list[str], list[bool], list[list[str]]]:
    cols = [c for c in columns if c in t.column_names]
    kinds = [guess_format(c, t.schema.field(c).type) for c in cols]
    data = [t.column(c).to_pylist() for c in cols]
    rows = [[fmt_value(data[j][i], kinds[j]) for j in range(len(cols))] for i in range(t.num_rows)]
    return cols, [k != "text" for k in kinds], rows


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
    data = _Data(out, s)
    store = DecisionStore(out / OVERRIDES_FILE)
    csrf = secrets.token_urlsafe(24)
    default_user = user or _login_name()
    app = FastAPI(title="tierwise", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    app.state.data = data
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

    def page(template: str, request: Request, **ctx: Any) -> HTMLResponse:
        html = (
            _env()
            .get_template(template)
            .render(
                csrf=csrf,
                user=default_user,
                nav=request.url.path,
                as_of=str(data.folder.manifest.get("as_of", "")),
                **ctx,
            )
        )
        return HTMLResponse(html)

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> HTMLResponse:
        t = data.customers
        groups = [
            (label, _counts(t, col))
            for col, label in (
                ("value_class", "class"),
                ("tier", "tier"),
                ("status", "status"),
                ("channel", "channel"),
            )
            if col in t.column_names
        ]
        warnings = [str(w) for w in data.folder.manifest.get("warnings") or []]
        return page(
            "overview.html",
            request,
            figures=_figures(t),
            groups=groups,
            warnings=warnings,
            has_report=(out / "report.html").is_file(),
            n_overrides=store.overrides().num_rows,
        )

    @app.get("/segments", response_class=HTMLResponse)
    def segments(request: Request, q: str = "", page_no: int = 1, sort: str = "") -> HTMLResponse:
        filters = {f: request.query_params.get(f, "") for f in data.choices}
        t = data.filtered(filters, q.strip())
        sort_col = (
            sort
            if sort in t.column_names
            else ("revenue_12m" if "revenue_12m" in t.column_names else "customer_id")
        )
        order = "ascending" if sort_col == "customer_id" else "descending"
        t = t.sort_by([(sort_col, order), ("customer_id", "ascending")])
        size = s.page_size
        pages = max(1, math.ceil(t.num_rows / size))
        page_no = min(max(page_no, 1), pages)
        shown = t.slice((page_no - 1) * size, size)
        cols, numeric, rows = _display_rows(
            shown,
            [
                "customer_id",
                "name",
                "value_class",
                "tier",
                "niche",
                "status",
                "channel",
                data.rep_column,
                "revenue_12m",
                "net_profit",
                "clv",
                "headroom",
            ],
        )
        keep = {k: v for k, v in {**filters, "q": q, "sort": sort}.items() if v}
        return page(
            "segments.html",
            request,
            choices=data.choices,
            filters=filters,
            q=q,
            figures=_figures(t),
            columns=cols,
            numeric=numeric,
            rows=rows,
            ids=shown.column("customer_id").to_pylist(),
            page_no=page_no,
            pages=pages,
            prev_url="/segments?" + urlencode({**keep, "page_no": page_no - 1}),
            next_url="/segments?" + urlencode({**keep, "page_no": page_no + 1}),
            n=t.num_rows,
        )

    @app.get("/lookup", response_class=HTMLResponse, response_model=None)
    def lookup(request: Request, q: str = "") -> Response:
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

    def _customer_page(request: Request, customer_id: str, error: str = "") -> HTMLResponse:
        row = data.row(customer_id)
        if row is None:
            raise HTTPException(404, "no such customer")
        t = data.customers
        figures = [
            (k, fmt_value(v, guess_format(k, t.schema.field(k).type))) for k, v in row.items()
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
            cs_cols, cs_num, cs_rows = _display_rows(mine, mine.column_names)
        return page(
            "customer.html",
            request,
            cid=customer_id,
            name=row.get("name") or "",
            figures=figures,
            reasons=reasons,
            override=store.override(customer_id),
            classes=data.choices.get("value_class", []),
            tiers=data.choices.get("tier", []),
            current_class=row.get("value_class"),
            current_tier=row.get("tier"),
            audit=store.audit(subject=customer_id),
            cs_cols=cs_cols,
            cs_num=cs_num,
            cs_rows=cs_rows,
            error=error,
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
    ) -> Response:
        row = data.row(customer_id)
        if row is None:
            raise HTTPException(404, "no such customer")
        new_class = value_class.strip() or None
        new_tier = tier.strip() or None
        if remove:
            new_class = new_tier = None
        problem = _check_override(data, new_class, new_tier, reason, by, bool(remove))
        if problem:
            resp = _customer_page(request, customer_id, error=problem)
            resp.status_code = 400
            return resp
        current = store.override(customer_id)
        old_class = (current or {}).get("value_class") or row.get("value_class")
        old_tier = (current or {}).get("tier") or row.get("tier")
        if remove and current is None:
            return RedirectResponse(page_url("customers", customer_id), status_code=303)
        store.set_override(
            customer_id,
            value_class=new_class,
            tier=new_tier,
            reason=reason.strip() or "override removed",
            by=by.strip(),
            old_class=old_class,
            old_tier=old_tier,
        )
        return RedirectResponse(page_url("customers", customer_id), status_code=303)

    @app.post("/customer/override", response_class=HTMLResponse, response_model=None)
    def override_by_query(
        request: Request,
        customer_id: str = Query(alias="id"),
        value_class: str = Form(""),
        tier: str = Form(""),
        reason: str = Form(""),
        by: str = Form(""),
        remove: str = Form(""),
    ) -> Response:
        return override(request, customer_id, value_class, tier, reason, by, remove)

    @app.get("/reps", response_class=HTMLResponse)
    def reps(request: Request) -> HTMLResponse:
        if data.rep_plan is not None:
            cols, numeric, rows = _display_rows(data.rep_plan, data.rep_plan.column_names)
            key = "rep_id" if "rep_id" in data.rep_plan.column_names else cols[0]
            ids = [str(v) for v in text_array(data.rep_plan, key).to_pylist()]
        else:
            counts = _counts(data.customers, data.rep_column)
            cols, numeric = ["rep", "customers"], [False, True]
            rows = [[k, v] for k, v in counts]
            ids = [k for k, _ in counts]
        return page(
            "reps.html",
            request,
            columns=cols,
            numeric=numeric,
            rows=rows,
            ids=ids,
            planned=data.rep_column == "assigned_rep",
        )

    @app.get("/rep", response_class=HTMLResponse)
    def rep_by_query(request: Request, rep: str = Query(alias="id")) -> HTMLResponse:
        return rep_page(request, rep)

    @app.get("/reps/{rep:path}", response_class=HTMLResponse)
    def rep_page(request: Request, rep: str) -> HTMLResponse:
        from ..report.xlsx import _priority_order

        t = data.customers.filter(
            pc.fill_null(pc.equal(text_array(data.customers, data.rep_column), rep), False)
        )
        order = _priority_order(t, np.zeros(t.num_rows, dtype=np.int64))
        t = t.take(pa.array(order))
        cols, numeric, rows = _display_rows(
            t,
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
        )
        return page(
            "rep.html",
            request,
            rep=rep,
            figures=_figures(t),
            columns=cols,
            numeric=numeric,
            rows=rows,
            ids=t.column("customer_id").to_pylist(),
        )

    @app.get("/review", response_class=HTMLResponse)
    def review(request: Request) -> HTMLResponse:
        q = data.review_queue
        decided = {(r["left_id"], r["right_id"]): r for r in store.decisions().to_pylist()}
        pairs = []
        if q is not None:
            fields = [
                c[:-2]
                for c in q.column_names
                if c.endswith("_l")
                and f"{c[:-2]}_r" in q.column_names
                and not c.startswith(("name_core", "name_norm", "address_norm", "postcode_"))
            ]
            account = data.account_of(q.column("left_id")), data.account_of(q.column("right_id"))
            for i, r in enumerate(q.to_pylist()):
                lo, hi = sorted((str(r["left_id"]), str(r["right_id"])))
                pairs.append(
                    {
                        "left_id": r["left_id"],
                        "right_id": r["right_id"],
                        # the queue names records; the customer pages are the accounts'
                        "left_account": account[0][i],
                        "right_account": account[1][i],
                        "probability": fmt_value(r.get("match_probability"), "pct"),
                        "fields": [(f, r.get(f"{f}_l"), r.get(f"{f}_r")) for f in fields],
                        "decision": decided.get((lo, hi)),
                    }
                )
        return page("review.html", request, pairs=pairs, has_queue=q is not None)

    @app.post("/review", response_model=None)
    def review_decide(
        left_id: str = Form(...),
        right_id: str = Form(...),
        decision: str = Form(...),
        by: str = Form(""),
        reason: str = Form(""),
    ) -> Response:
        if decision not in ("confirm", "reject") or not by.strip():
            raise HTTPException(400, "a decision (confirm or reject) and who made it are needed")
        store.decide_pair(left_id, right_id, decision, by=by.strip(), reason=reason.strip() or None)
        return RedirectResponse("/review", status_code=303)

    @app.get("/audit", response_class=HTMLResponse)
    def audit(request: Request) -> HTMLResponse:
        return page("audit.html", request, entries=store.audit())

    @app.get("/downloads", response_class=HTMLResponse)
    def downloads(request: Request) -> HTMLResponse:
        return page("downloads.html", request, files=_downloadable(out))

    @app.get("/download/{name}")
    def download(name: str) -> FileResponse:
        files = {f: size for f, size in _downloadable(out)}
        if name not in files:
            raise HTTPException(404, "no such file")
        return FileResponse(out / name, filename=name)

    @app.get("/report")
    def report() -> FileResponse:
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


def _check_override(
    data: _Data,
    value_class: str | None,
    tier: str | None,
    reason: str,
    by: str,
    remove: bool,
) -> str:
    """A sentence saying what is wrong with an override, or empty."""
    if not by.strip():
        return "Say who makes the change (the 'by' field)."
    if remove:
        return ""
    if value_class is None and tier is None:
        return "Choose a class or a tier (or remove the override)."
    if not reason.strip():
        return "Give a reason for the override."
    known_classes = data.choices.get("value_class")
    if value_class is not None and known_classes and value_class not in known_classes:
        return f"Unknown class {value_class!r}: use one of {', '.join(known_classes)}."
    known_tiers = data.choices.get("tier")
    if tier is not None and known_tiers and tier not in known_tiers:
        return f"Unknown tier {tier!r}: use one of {', '.join(known_tiers)}."
    for v in (value_class, tier):
        if v is not None and len(v) > 40:
            return "A class or tier name is at most 40 characters."
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
            files.append((p.name, f"{p.stat().st_size / 1024:,.0f} KiB"))
    return files


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


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
    import uvicorn

    app = create_app(out_dir, token, settings=settings)
    uvicorn.run(app, host=host, port=port, log_level="warning")
