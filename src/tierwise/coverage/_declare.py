"""The coverage stage, declared to the registry."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from ..features.cost_to_serve import period_for
from ..io.previous import read_previous
from ..registry import ColumnDoc, Stage, StageContext, StageResult, register
from .allocate import InfeasiblePlanError
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
        "against the previous run's plan",
        "with --previous: what changed against the previous run's plan: same, new (not in "
        "it), or rep, channel, frequency (joined by ', ')",
    ),
)


def _previous(ctx: StageContext) -> tuple[pa.Table | None, dt.date | None, str]:
    """The previous plan (the previous run's customers, when they carry one), its
    analysis date and the file it was read from."""
    if ctx.previous is None:
        return None, None, ""
    prev = read_previous(ctx.previous)
    if "assigned_rep" not in prev.customers.column_names:
        return None, None, prev.source
    return prev.customers, prev.as_of, prev.source


def _moved_by_overrides(
    exc: InfeasiblePlanError, ids: pa.Array, applied: pa.Table | None
) -> InfeasiblePlanError:
    """``exc`` (a rep's or pool's hours do not suffice) saying how many of the customers
    that need those hours a person moved to another tier (overrides_applied: new_tier
    differs from computed_tier), by tier; ``exc`` itself when none was moved.

    Examples
    --------
    >>> import numpy as np
    >>> exc = InfeasiblePlanError("rep R1: no plan found", resource=0,
    ...                           customers=np.array([0, 1, 2]), hint="give it more hours")
    >>> applied = pa.table({"customer_id": ["a", "b", "z"], "computed_tier": ["bronze"] * 3,
    ...                     "new_tier": ["gold", "bronze", "gold"]})
    >>> print(_moved_by_overrides(exc, pa.array(["a", "b", "c"]), applied).message)
    rep R1: no plan found; 1 of its customers was moved to gold by overrides (overrides_applied.csv)
    """
    need = {"customer_id", "computed_tier", "new_tier"}
    if exc.customers is None or applied is None or not need <= set(applied.column_names):
        return exc
    theirs = set(ids.take(pa.array(exc.customers, pa.int64())).to_pylist())
    by_tier: dict[str, int] = {}
    for cid, old, new in zip(
        *(applied.column(c).to_pylist() for c in ("customer_id", "computed_tier", "new_tier")),
        strict=True,
    ):
        if cid in theirs and new is not None and new != old:
            by_tier[str(new)] = by_tier.get(str(new), 0) + 1
    if not by_tier:
        return exc
    counts = sorted(by_tier.items(), key=lambda kv: (-kv[1], kv[0]))
    k = counts[0][1]
    moved = f"{k:,} of its customers {'was' if k == 1 else 'were'} moved to {counts[0][0]}"
    moved += "".join(f" and {c:,} to {t}" for t, c in counts[1:])
    return InfeasiblePlanError(
        f"{exc.message}; {moved} by overrides (overrides_applied.csv)",
        resource=exc.resource,
        customers=exc.customers,
        file=exc.file,
        hint=(f"{exc.hint}; " if exc.hint else "")
        + "or review those overrides ([segments] overrides_file, the dashboard)",
    )


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
    previous, prev_as_of, previous_file = _previous(ctx)
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
    customers = ctx.customers()
    try:
        res = coverage_plan(
            customers,
            s,
            programmes=programmes,
            reps=reps,
            reps_file=ctx.files.get("reps", "reps"),
            legacy=legacy,
            panel=panel,
            previous=previous,
            previous_file=previous_file,
            recorded_since=recorded,
            days_since=days,
            currency_symbol=ctx.settings.segments.currency_symbol,
        )
    except InfeasiblePlanError as exc:
        # a rep's hours that do not suffice: say how many of its customers a person moved
        applied = getattr(seg, "tables", {}).get("overrides_applied")
        moved = _moved_by_overrides(exc, customers.column("customer_id"), applied)
        if moved is exc:
            raise
        raise moved from exc
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
