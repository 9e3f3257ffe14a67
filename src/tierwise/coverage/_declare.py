"""The coverage stage, declared to the registry."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError
from ..features.cost_to_serve import period_for
from ..registry import ColumnDoc, Stage, StageContext, StageResult, register
from .legacy import contact_counts, half_year_panel
from .stage import coverage_plan

_C = ColumnDoc

COVERAGE_DOCS = (
    _C(
        "channel",
        "string",
        "",
        "the next year",
        "the channel the plan serves the customer through (field, inside, email, "
        "distributor by default: [coverage] channels)",
    ),
    _C("visits_per_year", "float64", "visits", "the next year", "planned field visits a year"),
    _C("calls_per_year", "float64", "calls", "the next year", "planned inside-sales calls a year"),
    _C("emails_per_year", "float64", "e-mails", "the next year", "planned sales e-mails a year"),
    _C(
        "assigned_rep",
        "string",
        "",
        "the next year",
        "the rep the plan gives the customer: its field rep for visits, an inside rep for "
        "calls, empty for e-mail and no direct contact",
    ),
    _C(
        "expected_revenue_plan",
        "float64",
        "currency",
        "the next year",
        "revenue the response to contact expects under the plan's contacts",
    ),
    _C(
        "expected_revenue_today",
        "float64",
        "currency",
        "the next year",
        "revenue the same response model expects under today's contacts (the activities "
        "of [coverage] activity_window_months, none without an activities file): the plan's "
        "change is expected_revenue_plan minus this",
    ),
    _C(
        "expected_contribution_plan",
        "float64",
        "currency",
        "the next year",
        "gross margin on the expected revenue minus the cost of the planned contacts",
    ),
    _C(
        "coverage_hours",
        "float64",
        "hours",
        "the next year",
        "rep hours the plan gives the customer: contact time and travel",
    ),
    _C(
        "coverage_reason",
        "string",
        "",
        "",
        "why this channel, frequency and rep, against today's contacts, in one sentence",
    ),
    _C(
        "plan_change",
        "string",
        "",
        "against the previous plan",
        "with --previous: what changed against the previous run's plan: same, new (not in "
        "it), or rep, channel, frequency (joined by ', ')",
    ),
)


def _previous(ctx: StageContext) -> tuple[pa.Table | None, dt.date | None]:
    if ctx.previous is None:
        return None, None
    folder = Path(ctx.previous)
    path = folder / "customers.parquet"
    if not path.is_file():
        raise InputError(
            "no customers.parquet in the previous run's folder",
            file=str(folder),
            hint="give --previous the output folder of an earlier tierwise run",
        )
    table = pq.read_table(path)
    if "assigned_rep" not in table.column_names:
        return None, None
    as_of = None
    manifest = folder / "manifest.json"
    if manifest.is_file():
        value = json.loads(manifest.read_text(encoding="utf-8")).get("as_of")
        if value:
            as_of = dt.date.fromisoformat(str(value))
    return table, as_of


def _run_coverage(ctx: StageContext) -> StageResult:
    s = ctx.settings.coverage
    seg = ctx.detail("segments")
    programmes = getattr(seg, "programmes", None) or ctx.settings.segments.programmes
    reps = None
    if "reps" in ctx.tables:
        reps = ctx.fetch(ctx.tables["reps"], "reps")
    acts = ctx.tables.get("activities")
    legacy = panel = None
    if acts is not None:
        window = period_for(ctx.as_of, s.activity_window_months)
        assert window.start is not None
        legacy = ctx.fetch(
            contact_counts(acts, s, start=window.start, end=ctx.as_of).order_by("customer_id"),
            "today's contacts",
        )
        if s.estimate_response:
            panel = ctx.fetch(
                half_year_panel(acts, ctx.tables["transactions"], s, as_of=ctx.as_of).order_by(
                    ["customer_id", "h"]
                ),
                "contacts and revenue per half-year",
            )
    previous, prev_as_of = _previous(ctx)
    recorded = None
    days = 0
    warnings: list[str] = []
    if previous is not None:
        if prev_as_of is None or acts is None or prev_as_of >= ctx.as_of:
            warnings.append(
                "plan adherence left out: the previous run has no analysis date before this "
                "one, or there are no activities since"
            )
        else:
            recorded = ctx.fetch(
                contact_counts(acts, s, start=prev_as_of, end=ctx.as_of).order_by("customer_id"),
                "contacts since the previous plan",
            )
            days = (ctx.as_of - prev_as_of).days
    res = coverage_plan(
        ctx.customers(),
        s,
        programmes=programmes,
        reps=reps,
        reps_file=ctx.files.get("reps", "reps"),
        legacy=legacy,
        panel=panel,
        previous=previous,
        recorded_since=recorded,
        days_since=days,
        currency_symbol=ctx.settings.segments.currency_symbol,
    )
    return StageResult(
        customers=res.customers,
        tables=dict(res.tables),
        manifest=dict(res.manifest),
        warnings=[f"coverage: {w}" for w in (*warnings, *res.warnings)],
        detail=res,
    )


register(
    Stage(
        name="coverage",
        reads_details=("segments",),
        help="The coverage plan: a channel, a visit or call frequency and a rep for every "
        "customer and prospect under the reps' hours, against today's coverage, with "
        "field-force sizing and the plan's certified optimality gap.",
        run=_run_coverage,
        uses_inputs=("customers", "prospects", "activities", "reps"),
        needs=("segments",),
        uses=("accounts", "features", "profitability", "lifetime", "potential"),
        columns=COVERAGE_DOCS,
        tables=("rep_plan", "segment_coverage", "coverage_vs_legacy", "sizing", "plan_adherence"),
        settings="coverage",
        command="coverage",
    )
)
