"""The segments stage, declared to the registry."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..io.previous import PreviousRun, read_previous
from ..registry import ColumnDoc, Stage, StageContext, StageResult, register
from .stage import segment_customers

_C = ColumnDoc

SEGMENT_DOCS = (
    _C(
        "value_class",
        "string",
        "",
        "at the analysis date",
        "the customer's class (A, B, C, D "
        "by default) after back-end overrides: what decides its programme",
    ),
    _C(
        "value_class_computed",
        "string",
        "",
        "at the analysis date",
        "the class the mathematics gave, kept beside any override",
    ),
    _C(
        "tier",
        "string",
        "",
        "at the analysis date",
        "the account-management programme "
        "(gold, silver, bronze by default), mapped from the class or overridden",
    ),
    _C(
        "niche",
        "string",
        "",
        "at the analysis date",
        "a niche within the class, named by what sets it apart",
    ),
    _C(
        "class_reason",
        "string",
        "",
        "",
        "why the customer is in its class and tier, in one sentence a rep can read",
    ),
    _C(
        "previous_class",
        "string",
        "",
        "the previous run",
        "the class in the run given with --previous",
    ),
    _C(
        "class_change",
        "string",
        "",
        "since the previous run",
        "up, down, same or new against the previous run",
    ),
)


def _overrides(ctx: StageContext) -> tuple[pa.Table | None, str | None, pa.Table | None, list[str]]:
    """The overrides file (its table and path), the dashboard's overrides, and a note when
    the overrides file has a header and no rows. The two are merged field by field by
    :func:`tierwise.segments.overrides.check_overrides`, the dashboard's after the file's."""
    from ..io.overrides import read_overrides

    path = ctx.settings.segments.overrides_file
    notes: list[str] = []
    table: pa.Table | None = None
    if path:
        table = read_overrides(path, warnings=notes)
        if not table.num_rows:
            notes.append(
                f"the overrides file {path} has a header and no rows: no override from it is "
                "applied (add rows, or remove [segments] overrides_file)"
            )
    dashboard = ctx.handoff.get("class_overrides")
    if dashboard is not None and not dashboard.num_rows:
        dashboard = None
    return table, (str(path) if path else None), dashboard, notes


def _members(ctx: StageContext) -> pa.Table | None:
    """The accounts stage's records and the account each was merged into (None when the
    accounts stage did not run)."""
    acc = ctx.detail("accounts")
    return None if acc is None else acc.mapping


def _previous(ctx: StageContext) -> PreviousRun | None:
    """The previous run's output folder as read for the review (None without one)."""
    return None if ctx.previous is None else read_previous(ctx.previous)


def _potential_issue(ctx: StageContext, customers: pa.Table) -> str | None:
    """Why the potential figures cannot class these customers, or ``None``: the potential
    stage did not run (its own reason, which names the input or setting), or its wallet
    tells customers apart no better than one figure for all."""
    from ..potential import no_wallet_reason

    pot = ctx.detail("potential")
    if pot is None:
        if "wallet" in customers.column_names:
            return None
        reason = no_wallet_reason(
            customers.filter(pc.invert(pc.fill_null(customers.column("is_prospect"), False)))
            if "is_prospect" in customers.column_names
            else customers,
            ctx.settings.potential,
        )
        return f"the potential stage did not run: {reason}" if reason else None
    if pot.tells_customers_apart:
        return None
    skill = pot.manifest["wallet_skill"]
    return (
        f"the wallet tells customers apart no better than one wallet for all (skill "
        f"{skill['skill']:.2f}, under [potential] min_wallet_skill = "
        f"{skill['min_wallet_skill']:g}), so headroom would only rank customers by how "
        "little they buy; lower min_wallet_skill to class on it anyway, or give "
        "firmographics that set customers apart"
    )


def _run_segments(ctx: StageContext) -> StageResult:
    overrides, source, dashboard, notes = _overrides(ctx)
    prev = _previous(ctx)
    customers = ctx.customers()
    res = segment_customers(
        customers,
        ctx.settings.segments,
        seed=ctx.seed,
        previous=prev.customers if prev else None,
        previous_source=prev.source if prev else None,
        previous_classes=prev.classes if prev else None,
        overrides=overrides,
        overrides_source=source,
        dashboard_overrides=dashboard,
        members=_members(ctx),
        as_of=ctx.as_of,
        previous_as_of=prev.as_of if prev else None,
        potential_issue=_potential_issue(ctx, customers),
    )
    return StageResult(
        customers=res.customers,
        tables=dict(res.tables),
        manifest=dict(res.manifest),
        warnings=[f"segments: {w}" for w in (*notes, *(prev.notes if prev else ()), *res.warnings)],
        detail=res,
    )


register(
    Stage(
        name="segments",
        reads_details=("potential", "accounts"),
        help="Classes (A/B/C/D) on value × potential, tiers, niches, segment quality and "
        "stability, back-end overrides, and with --previous the yearly review.",
        run=_run_segments,
        uses_inputs=("customers", "prospects", "activities"),
        needs=("features",),
        uses=("accounts", "profitability", "lifetime", "potential"),
        columns=SEGMENT_DOCS,
        tables=("segments", "overrides_applied", "class_goals", "migration", "class_movers"),
        settings="segments",
        command="segments",
    )
)
