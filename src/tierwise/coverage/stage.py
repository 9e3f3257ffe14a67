"""The coverage stage: a channel, a frequency and a rep for every customer and prospect.

Steps (customer-sized, NumPy; the engine has aggregated the activities before):

1. **Team** from the reps file (hours checked); without one, the current reps of the
   customer master with no hours limit (said in the warnings). When no customer has a
   region, the reps' regions restrict no one (said in the warnings too).
2. **Response** per value class from ``[coverage] response``, replaced where the history
   allows by an estimate (:func:`~tierwise.coverage.response.fit_response`).
3. **Menu** per customer (:mod:`~tierwise.coverage.menu`) and the **plan**
   (:func:`~tierwise.coverage.allocate.allocate`) with its certified gap; with ``exact``
   the HiGHS optimum too.
4. **Today's coverage** (the contacts of the last ``activity_window_months``) valued by the
   same response model.
5. Tables: rep_plan, segment_coverage, coverage_vs_legacy, sizing and, with a previous
   plan, plan_adherence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._threads import in_background, limit
from ..engine import ROW
from ..errors import InputError
from ..io.columns import num_column, text_column
from ..segments.classes import money_text
from ..settings.coverage import CoverageSettings, ResponseParams, rep_role
from ..settings.segments import TierProgramme
from ..validate import count_text
from .allocate import InfeasiblePlanError, Plan, allocate, envelope_options, solve_exact
from .lookup import odd_channels_text, plan_channels, positions, string_array
from .menu import (
    CHANNEL_KINDS,
    Chosen,
    CustomerFrame,
    KeptChoice,
    MenuBuild,
    Team,
    TeamChange,
    build_menu,
    find_candidates,
    haversine_km,
)
from .response import fit_response, response

__all__ = ["CUSTOMER_COLUMNS", "CoverageResult", "coverage_plan", "read_team"]

#: The customer columns the stage owns.
CUSTOMER_COLUMNS = (
    "channel",
    "visits_per_year",
    "calls_per_year",
    "emails_per_year",
    "assigned_rep",
    "expected_revenue_plan",
    "expected_revenue_today",
    "expected_contribution_plan",
    "coverage_hours",
    "coverage_reason",
)


@dataclass
class CoverageResult:
    """What the coverage stage returns.

    Attributes
    ----------
    customers
        customer_id and :data:`CUSTOMER_COLUMNS`, in the input's order (and, with a
        previous plan, ``plan_change``).
    tables
        rep_plan, segment_coverage, coverage_vs_legacy, sizing (and plan_adherence with a
        previous plan).
    manifest
        The stage's block of manifest.json.
    warnings
        Defaults applied for lack of data, each naming the setting that changes it.
    plan, build
        The optimiser's plan and the menu it chose from (for notebooks and tests), lean
        (:meth:`~tierwise.coverage.menu.MenuBuild.lean`): the chosen options' channels,
        frequencies, reps and hours are in ``customers``.
    """

    customers: pa.Table
    tables: dict[str, pa.Table]
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    plan: Plan | None = None
    build: MenuBuild | None = None


# -- reading the inputs ---------------------------------------------------------------------


def _bool(t: pa.Table, name: str) -> np.ndarray:
    if name not in t.column_names:
        return np.zeros(t.num_rows, dtype=bool)
    col = pc.fill_null(pc.cast(t.column(name), pa.bool_()), False)
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=bool)


def read_team(reps: pa.Table, *, file: str = "reps", roles: Sequence[str] | None = None) -> Team:
    """The reps file as a :class:`Team`, its hours and (given ``roles``) its roles checked.

    Raises
    ------
    InputError
        A rep without hours (or with hours of 0 or below), or with a role that is not one
        of ``roles``, naming the file and row.

    Examples
    --------
    >>> t = read_team(pa.table({"rep_id": ["R1"], "role": ["Field"], "hours_per_year": [1600.0]}))
    >>> t.role.tolist(), t.hours.tolist()
    (['field'], [1600.0])
    """
    if ROW in reps.column_names:
        # in the file's order, whatever order the engine returned the rows in
        reps = reps.sort_by([(ROW, "ascending")])
    rows = (
        np.asarray(reps.column(ROW).to_numpy(zero_copy_only=False), np.int64)
        if ROW in reps.column_names
        else np.arange(1, reps.num_rows + 1)
    )
    hours = num_column(reps, "hours_per_year")
    bad = np.flatnonzero(~(hours > 0))
    if len(bad):
        i = int(bad[0])
        rep = text_column(reps, "rep_id")[i]
        given = "empty" if np.isnan(hours[i]) else f"{hours[i]:g}"
        more = f"; {len(bad)} reps in all" if len(bad) > 1 else ""
        raise InputError(
            f"rep {rep} has no selling hours ({given}){more}",
            file=file,
            row=int(rows[i]),
            column="hours_per_year",
            hint="give every rep its selling hours a year, above 0, or remove the rep",
        )
    role = np.array(
        [None if r is None else rep_role(str(r)) for r in text_column(reps, "role")], object
    )
    if roles is not None:
        known = {str(r).lower() for r in roles}
        odd = np.flatnonzero(np.array([r not in known for r in role], dtype=bool))
        if len(odd):
            i = int(odd[0])
            raise InputError(
                f"rep {text_column(reps, 'rep_id')[i]} has the role {role[i]!r}, which neither "
                "visits nor calls in the plan",
                file=file,
                row=int(rows[i]),
                column="role",
                hint=f"use one of {', '.join(sorted(known))}, or add the role to "
                "[coverage] visit_roles or call_roles",
            )
    region = text_column(reps, "region")
    return Team(
        ids=text_column(reps, "rep_id"),
        role=role,
        hours=hours,
        region=region,
        lat=num_column(reps, "home_lat"),
        lon=num_column(reps, "home_lon"),
        rows=rows,
    )


#: The rep of a customer without one when the team is assumed (no reps file).
UNASSIGNED = "(unassigned)"


def _assumed_team(current: np.ndarray, role: str) -> Team:
    ids = sorted({str(r) for r in current if r is not None})
    if any(r is None for r in current):
        ids.append(UNASSIGNED)
    n = len(ids)
    return Team(
        ids=np.array(ids, dtype=object),
        role=np.full(n, role, dtype=object),
        hours=np.full(n, np.inf),
        region=np.full(n, None, dtype=object),
        lat=np.full(n, np.nan),
        lon=np.full(n, np.nan),
        rows=np.zeros(n, np.int64),
        assumed=True,
    )


def _customer_regions(customers: pa.Table) -> np.ndarray:
    """The customers' regions as text, ``None`` where the cell is empty or blank (all
    ``None`` without a region column).

    Examples
    --------
    >>> _customer_regions(pa.table({"region": ["N", "", "  ", None]})).tolist()
    ['N', None, None, None]
    """
    region = pc.cast(string_array(text_column(customers, "region")), pa.string())
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(region), ""), True)
    out = pc.if_else(blank, pa.scalar(None, pa.string()), region)
    return np.asarray(out.to_numpy(zero_copy_only=False), dtype=object)


def _regions_not_used(team: Team, reps_file: str, call_roles: Sequence[str]) -> str:
    """The warning of a plan whose reps have regions while no customer has one: the reps'
    regions are not used, and what would use them.

    Examples
    --------
    >>> team = read_team(pa.table({"rep_id": ["R1", "R2"], "role": ["field", "field"],
    ...                            "hours_per_year": [1600.0] * 2, "region": ["N", "S"]}))
    >>> print(_regions_not_used(team, "reps.csv", ["inside"]))  # doctest: +NORMALIZE_WHITESPACE
    no customer has a region (the customer master maps no region column, or leaves it
    empty) while reps.csv gives the reps regions (N, S): the reps' regions are not used,
    and every rep may serve any customer (the field reps nearest to it visit; rep_plan
    still shows each rep's region); map the customers' region column in
    [customers.columns] to keep the reps to their regions, or leave region out of the
    reps file
    """
    given = sorted({str(r) for r in team.region if r is not None})
    named = ", ".join(given[:5]) + (f" and {len(given) - 5:,} more" if len(given) > 5 else "")
    k = sum(r is not None for r in team.region)
    reps = "the reps" if k == team.n else f"{k:,} of its {team.n:,} reps"
    calling = np.isin(team.role.astype(str), list(call_roles))
    pooled = "; the inside reps call from one pool" if calling.any() else ""
    return (
        "no customer has a region (the customer master maps no region column, or leaves it "
        f"empty) while {reps_file} gives {reps} regions ({named}): the reps' regions are "
        "not used, and every rep may serve any customer (the field reps nearest to it "
        f"visit{pooled}; rep_plan still shows each rep's region); map the customers' region "
        "column in [customers.columns] to keep the reps to their regions, or leave region "
        "out of the reps file"
    )


def _margin_rates(t: pa.Table, s: CoverageSettings) -> tuple[np.ndarray, str]:
    """Each customer's gross margin rate: profit period, else whole history, else the
    base's overall rate, else the setting."""
    rate = num_column(t, "gross_margin_rate_pnl")
    rate = np.where(np.isfinite(rate), rate, num_column(t, "gross_margin_rate"))
    gm, rev = num_column(t, "gross_margin"), num_column(t, "revenue")
    ok = np.isfinite(gm) & (rev > 0)
    if ok.any():
        overall, source = float(gm[ok].sum() / rev[ok].sum()), "overall"
    else:
        overall, source = s.default_margin_rate, "setting"
    rate = np.where(np.isfinite(rate), rate, overall)
    return np.clip(rate, 0.0, 1.0), source


# -- response parameters --------------------------------------------------------------------


_BOUNDS = {"s0": (0.0, 1.0), "s1": (0.0, 1.0), "c": (0.5, 4.0), "d": (0.25, 50.0)}


def _response_table(
    classes: list[str],
    s: CoverageSettings,
    panel: pa.Table | None,
    ids: np.ndarray,
    value_class: np.ndarray,
    wallet: np.ndarray,
    prospect: np.ndarray,
) -> tuple[dict[str, ResponseParams], dict[str, Any], list[str]]:
    """Response parameters per class and where they came from: the panel's customers
    read at their class and wallet (``ids``, ``value_class``, ``wallet`` per customer; a
    prospect's wallet not)."""
    params: dict[str, ResponseParams] = {}
    info: dict[str, Any] = {}
    notes: list[str] = []
    for c in classes:
        p = s.response.get(c, s.response_default)
        src = f"[coverage] response.{c}" if c in s.response else "[coverage] response_default"
        params[c] = p
        info[c] = {"s0": p.s0, "s1": p.s1, "c": p.c, "d": p.d, "source": src}
    notes.extend(_unnamed_classes_note(classes, s))
    if not (s.estimate_response and panel is not None and panel.num_rows):
        return params, info, [*notes, *_defaults_note(classes, s, params, info, panel)]
    pids = pc.cast(panel.column("customer_id"), pa.string()).combine_chunks()
    at = positions(pids, ids, missing=-1)
    pcls = np.full(len(at), None, dtype=object)
    pcls[at >= 0] = value_class[at[at >= 0]]
    buyer = np.flatnonzero(~prospect)
    at = positions(pids, ids[buyer], missing=-1)
    pw = np.full(len(at), np.nan)
    pw[at >= 0] = wallet[buyer][at[at >= 0]]
    del at, buyer
    eff = s.effectiveness
    effort = 2.0 * (
        num_column(panel, "visits") * eff["visit"]
        + num_column(panel, "calls") * eff["call"]
        + num_column(panel, "emails") * eff["email"]
    )
    revenue = 2.0 * np.maximum(num_column(panel, "revenue"), 0.0)
    # a number per customer (in order of appearance: only how many there are is read)
    cust_code = np.asarray(pc.fill_null(pids, "None").dictionary_encode().indices, np.int64)
    for c in classes:
        m = (pcls == c) & np.isfinite(pw) & (pw > 0)
        n_contacted = len(np.unique(cust_code[m & (effort > 0)]))
        if n_contacted < s.estimate_min_customers:
            info[c]["estimate"] = (
                f"not tried: {n_contacted} customers with contacts, fewer than [coverage] "
                f"estimate_min_customers ({s.estimate_min_customers})"
            )
            continue
        p = params[c]
        try:
            fit = fit_response(
                revenue[m],
                pw[m],
                effort[m],
                prior=(p.s0, p.s1, p.c, p.d),
                bounds=_BOUNDS,
                customer=cust_code[m],
            )
        except Exception as exc:
            info[c]["estimate"] = f"not used: the fit failed ({exc})"
            continue
        # each estimated parameter weighed against the setting by its precision (a normal
        # prior of sd response_prior_sd around the setting): no hard switch between the
        # estimate and the setting, so the response moves with the evidence, not in jumps
        prior_sd = s.response_prior_sd
        weight: dict[str, float] = {}
        raw: dict[str, float] = {}
        for k in fit.estimated:
            se = float(fit.se.get(k, np.nan))
            tau = float(prior_sd.get(k, CoverageSettings().response_prior_sd[k]))
            weight[k] = tau**2 / (tau**2 + se**2) if np.isfinite(se) else 0.0
            raw[k] = float(getattr(fit, k))
        shrunk = {
            k: getattr(p, k) + weight.get(k, 0.0) * (raw.get(k, getattr(p, k)) - getattr(p, k))
            for k in ("s0", "s1", "c", "d")
        }
        if not any(w > 0 for w in weight.values()):
            info[c]["estimate"] = (
                "not used: the history identifies none of the parameters (none is estimated "
                "with a standard error)"
            )
            continue
        if shrunk["s1"] < shrunk["s0"]:
            info[c]["estimate"] = (
                "not used: the history shows less revenue with more contacts "
                f"(s0 {shrunk['s0']:.3f} above s1 {shrunk['s1']:.3f} after weighing the "
                "estimate against the setting); the setting is kept"
            )
            continue
        try:
            new = ResponseParams(**shrunk)
        except ValueError:
            continue
        info[c] = {
            "s0": new.s0,
            "s1": new.s1,
            "c": new.c,
            "d": new.d,
            "source": "estimated from the activity history, weighed against the setting by "
            "its standard errors ([coverage] response_prior_sd)",
            "estimated": list(fit.estimated),
            "estimate": raw,
            "standard_error": {k: float(v) for k, v in fit.se.items()},
            "weight_of_estimate": weight,
            "n_customers": int(fit.n_customers),
            "replaced": {
                "setting": info[c]["source"],
                **{k: getattr(p, k) for k in ("s0", "s1", "c", "d")},
            },
        }
        params[c] = new
    notes.extend(_defaults_note(classes, s, params, info, panel))
    return params, info, notes


def _unnamed_classes_note(classes: list[str], s: CoverageSettings) -> list[str]:
    """One line naming the classes with no [coverage] response entry while the entries
    name classes the run does not have (classes renamed in [segments] classes): their
    response, and the prior their estimate is shrunk to, is response_default.

    Examples
    --------
    >>> print(_unnamed_classes_note(["Key", "Grow", "B"], CoverageSettings())[0])
    ... # doctest: +NORMALIZE_WHITESPACE
    classes Key, Grow have no entry in [coverage] response, which names A, C, D, classes
    this run does not have: their response to contact (and the prior an estimate from the
    activities is shrunk to) is [coverage] response_default (s0 0.3 s1 0.5 c 1 d 3); renamed
    in [segments] classes? Give each class its entry ([coverage.response.Key])
    """
    unnamed = [c for c in classes if c not in s.response]
    stale = [c for c in s.response if c not in classes]
    if not unnamed or not stale:
        return []
    d = s.response_default
    many = len(unnamed) > 1
    return [
        f"class{'es' if many else ''} {', '.join(unnamed)} {'have' if many else 'has'} no "
        f"entry in [coverage] response, which names {', '.join(stale)}, classes this run "
        "does not have: their response to contact (and the prior an estimate from the "
        f"activities is shrunk to) is [coverage] response_default (s0 {d.s0:g} s1 {d.s1:g} "
        f"c {d.c:g} d {d.d:g}); renamed in [segments] classes? Give each class its entry "
        f"([coverage.response.{unnamed[0]}])"
    ]


def _defaults_note(
    classes: list[str],
    s: CoverageSettings,
    params: Mapping[str, ResponseParams],
    info: Mapping[str, Any],
    panel: pa.Table | None,
) -> list[str]:
    """One line naming the classes whose response is the built-in default, and why."""
    builtin = CoverageSettings()
    # a class renamed in [segments] classes has the built-in response of its place: one of
    # the built-in entries under another name
    on_default = [
        c
        for c in classes
        if "estimated" not in info[c]
        and (
            params[c] == builtin.response.get(c, builtin.response_default)
            or (c not in builtin.response and params[c] in builtin.response.values())
        )
    ]
    if not on_default:
        return []
    if not s.estimate_response:
        why = "[coverage] estimate_response is false"
    elif panel is None or not panel.num_rows:
        why = "no activity history to estimate them from"
    else:
        why = "the activity history did not give an estimate (manifest coverage.response)"
    listed = "; ".join(
        f"{c} s0 {params[c].s0:g} s1 {params[c].s1:g} c {params[c].c:g} d {params[c].d:g}"
        for c in on_default
    )
    return [
        f"the response to contact of {'classes' if len(on_default) > 1 else 'class'} "
        f"{', '.join(on_default)} is the built-in default ({listed}): {why}; the plan's "
        "lift and the revenue targets rest on it; set your own in [coverage] response"
    ]


# -- the plan -----------------------------------------------------------------------------


def _names(build: MenuBuild) -> list[str]:
    """Resource names for messages: "rep R07", "inside pool London"."""
    k = len(build.resource_rep)
    return [f"rep {x}" if i < k else f"{x} pool" for i, x in enumerate(build.resource_names)]


def _solve(build: MenuBuild, envelope: np.ndarray | None = None) -> Plan:
    return allocate(build.menu, build.capacity, names=_names(build), envelope=envelope)


def _inside_split(
    build: MenuBuild, chosen: Chosen, hours: np.ndarray, kept: np.ndarray | None = None
) -> np.ndarray:
    """Each called customer's inside rep: a pool's customers shared among its reps in
    proportion to their hours (in customer order). -1 for the others.

    ``kept`` (per customer, a rep index or -1): the inside rep of the previous plan. A
    customer keeps it while it is a rep of its pool whose share is not yet full; the
    others share what is left of each rep's share, in customer order.
    """
    out = np.full(len(chosen.kind), -1, dtype=np.int64)
    pool = chosen.pool
    for p, members in enumerate(build.pool_members):
        rows = np.flatnonzero(pool == p)
        if not len(rows) or not len(members):
            continue
        cap = build.team.hours[members]
        cap = np.where(np.isfinite(cap), cap, 1.0)
        share = cap / cap.sum() * hours[rows].sum()
        if kept is not None:
            member_at = np.full(build.team.n, -1, np.int64)
            member_at[members] = np.arange(len(members))
            k = kept[rows]
            at = np.where(k >= 0, member_at[np.maximum(k, 0)], -1)
            # per rep, its kept customers in customer order: each kept while the hours
            # before it are below the rep's share
            mine = np.flatnonzero(at >= 0)
            order = mine[np.argsort(at[mine], kind="stable")]
            h = hours[rows[order]]
            g = at[order]
            before = np.cumsum(h) - h
            first = np.searchsorted(g, g, side="left")
            before = before - (np.cumsum(h) - h)[first]
            ok = before < share[g]
            out[rows[order[ok]]] = members[g[ok]]
            load = np.bincount(g[ok], weights=h[ok], minlength=len(members))
            rows = rows[out[rows] < 0]
            if not len(rows):
                continue
            cap = np.maximum(share - load, 0.0)
            if cap.sum() <= 0:
                cap = np.ones(len(members))
        bounds = np.cumsum(cap) / cap.sum()
        mid = (np.cumsum(hours[rows]) - hours[rows] / 2) / max(hours[rows].sum(), 1e-12)
        out[rows] = members[np.minimum(np.searchsorted(bounds, mid), len(members) - 1)]
    return out


def _fmt(x: np.ndarray, decimals: int = 1) -> pa.Array:
    return pc.cast(pa.array(np.round(np.nan_to_num(x), decimals), pa.float64()), pa.string())


def _join(*parts: pa.Array | str) -> pa.Array:
    arrays = [pa.scalar(p) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*arrays, "")


def _reasons(
    cust: CustomerFrame,
    headroom: np.ndarray,
    lookalike: np.ndarray,
    kind: np.ndarray,
    channel: np.ndarray,
    freq: np.ndarray,
    km: np.ndarray,
    rep: np.ndarray,
    legacy_visits: np.ndarray,
    legacy_calls: np.ndarray,
    symbol: str,
    band_note: pa.Array | None = None,
    km_assumed: np.ndarray | None = None,
) -> pa.Array:
    """One sentence per customer, built column-wise: who, the plan (followed by
    ``band_note``, e.g. a tier minimum kept at a loss), today. A visit's distance that
    ``km_assumed`` marks (no coordinates: ``default_distance_km``) is said to be assumed."""
    n = cust.n
    cls = pa.array(
        np.where(cust.value_class == None, "no class", cust.value_class).astype(object),  # noqa: E711
        pa.string(),
    )
    prospect = cust.is_prospect
    who = pc.if_else(
        pa.array(prospect),
        _join(
            "prospect ",
            cls,
            ", wallet ",
            money_text(cust.wallet / np.where(lookalike > 0, lookalike, 1.0), symbol),
            ", look-alike ",
            _fmt(lookalike, 2),
        ),
        _join(cls, ", headroom ", money_text(headroom, symbol)),
    )
    rep_text = pa.array(np.where(rep == None, "?", rep).astype(object), pa.string())  # noqa: E711
    assumed = np.zeros(n, bool) if km_assumed is None else km_assumed
    where = pc.if_else(
        pa.array(kind == 3),
        _join(
            pa.array(np.where(assumed, ", an assumed ", ", ").astype(object), pa.string()),
            pc.cast(pa.array(np.round(np.nan_to_num(km)).astype(np.int64)), pa.string()),
            " km from rep ",
            rep_text,
            pa.array(np.where(assumed, " (no coordinates)", "").astype(object), pa.string()),
        ),
        pa.scalar(""),
    )
    verb = np.select(
        [kind == 3, kind == 2, kind == 1],
        [
            channel.astype(str) + " visit ",
            channel.astype(str) + " call ",
            channel.astype(str) + " ",
        ],
        default="no direct contact (" + channel.astype(str) + ")",
    ).astype(object)
    what = pc.if_else(
        pa.array(kind > 0),
        _join(pa.array(verb, pa.string()), _fmt(freq), "×/year"),
        pa.array(verb, pa.string()),
    )
    today = pc.if_else(
        pa.array(prospect),
        pa.scalar("not a customer yet"),
        _join(
            "today ",
            _fmt(legacy_visits),
            pa.array(np.where(legacy_visits == 1, " visit, ", " visits, "), pa.string()),
            _fmt(legacy_calls),
            pa.array(np.where(legacy_calls == 1, " call", " calls"), pa.string()),
        ),
    )
    if band_note is not None:
        what = _join(what, band_note)
    out = _join(who, where, ": ", what, "; ", today)
    assert len(out) == n
    return out


def _assumed_distance(
    cust: CustomerFrame, team: Team, s: CoverageSettings, affected: int
) -> tuple[str, dict[str, Any]]:
    """The warning (empty when no visit is costed at an assumed distance) and the manifest
    block for visits costed at ``default_distance_km``: how many customers have no
    lat/lon, how many visiting reps no home_lat/home_lon, and how many customers' visits
    (of ``affected``, the menu's count) rest on the assumed distance.

    Examples
    --------
    >>> t = Team(np.array(["R1"], object), np.array(["field"], object), np.array([1600.0]),
    ...          np.array([None], object), np.array([np.nan]), np.array([np.nan]),
    ...          np.array([1]))
    >>> c = CustomerFrame(*(np.array([x, x], object) for x in ("a", "B", "silver", None, "R1")),
    ...     *(np.full(2, np.nan) for _ in range(2)), *(np.ones(2) for _ in range(2)),
    ...     np.zeros(2, bool), *(np.ones(2) for _ in range(4)))
    >>> print(_assumed_distance(c, t, CoverageSettings(), 2)[0])  # doctest: +NORMALIZE_WHITESPACE
    none of the 2 customers has coordinates (lat/lon) and the field rep has no home
    coordinates (home_lat/home_lon): every visit is costed at an assumed 30 km from the
    rep's home (78 km and 1.3 h of travel a visit, there and back by road); set [coverage]
    default_distance_km to your reps' usual distance, or give lat/lon and
    home_lat/home_lon
    """
    km = float(s.default_distance_km)
    visiting = np.isin(team.role.astype(str), s.visit_roles)
    n, m = cust.n, int(visiting.sum())
    c_miss = int((~(np.isfinite(cust.lat) & np.isfinite(cust.lon))).sum())
    r_miss = int((visiting & ~(np.isfinite(team.lat) & np.isfinite(team.lon))).sum())
    block: dict[str, Any] = {
        "km": km,
        "setting": "[coverage] default_distance_km",
        "customers": n,
        "customers_without_coordinates": c_miss,
        "visiting_reps": m,
        "visiting_reps_without_coordinates": r_miss,
        "customers_with_an_assumed_distance": int(affected),
    }
    if not affected:
        return "", block
    road = 2.0 * km * s.road_factor
    trip = (
        f"an assumed {km:g} km from the rep's home ({road:,.0f} km and "
        f"{road / s.travel_speed_kmh:.1f} h of travel a visit, there and back by road)"
    )
    change = "set [coverage] default_distance_km to your reps' usual distance, or give"
    if team.assumed:
        return (
            "no reps file, so no rep has a home to measure from: every visit is costed at "
            f"{trip}; {change} a reps file with home_lat/home_lon"
        ), block
    who = "customer" if not cust.is_prospect.any() else "customer or prospect"
    whom = "customers" if who == "customer" else "customers and prospects"
    role = "field rep"  # a rep of a visiting role (visit_roles), key account managers too

    def missing(k: int, total: int, noun: str, plural: str, what: str) -> str:
        if k == total == 1:
            return f"the {noun} has no {what}"
        if k == total:
            return f"none of the {count_text(total, noun, plural)} has {what}"
        verb = "has" if k == 1 else "have"
        return f"{k:,} of the {count_text(total, noun, plural)} {verb} no {what}"

    parts = []
    if c_miss:
        parts.append(missing(c_miss, n, who, whom, "coordinates (lat/lon)"))
    if r_miss:
        parts.append(missing(r_miss, m, role, role + "s", "home coordinates (home_lat/home_lon)"))
    if not parts:  # the menu assumed a distance no missing coordinate explains
        parts.append("some customers or their reps have no coordinates")
    if c_miss == n or r_miss == m:
        effect = f"every visit is costed at {trip}"
    else:
        effect = f"the visits of {count_text(int(affected), who, whom)} are costed at {trip}"
    return f"{' and '.join(parts)}: {effect}; {change} lat/lon and home_lat/home_lon", block


def _band_notes(
    cust: CustomerFrame,
    s: CoverageSettings,
    programmes: Mapping[str, TierProgramme],
    released: np.ndarray,
    status: np.ndarray,
    pick: Chosen,
    symbol: str,
    warnings: list[str],
    winback: np.ndarray | None = None,
    visits_only: np.ndarray | None = None,
) -> tuple[pa.Array | None, dict[str, Any], int, dict[str, Any]]:
    """What each customer's coverage_reason says after its frequency about its tier's visit
    minimum (``None``: nothing for any customer), the manifest block of the minimums kept
    at a loss, the number of released customers visited less than their tier's
    minimum and the manifest block of the win-back contacts; ``warnings`` extended.

    - A customer held to visits by its tier — its ``visits_min``, or a channel band that
      offers it nothing but visits (``visits_only``: its menu's options, e.g. a band of
      field alone, or of field and inside without an inside team) — whose visits cost more
      than the gross margin they are expected to add (its plan contribution below what it
      earns without contact, margin × wallet × s0: the visits' uplift below their cost)
      reads "(the silver tier's minimum: the visits cost €70 a year more than the margin
      they add)" or "(the gold tier's band offers visits only: …)", and the warnings count
      them with that amount in all.
    - A customer of a released status (``band_released_status``) visited less than its
      tier's minimum reads "(inactive: not held to the silver tier's 2 visits)"; one of
      ``winback`` (a dormant account of ``winback_tiers``, given at least a contact) reads
      "(lapsed: win-back; not held to the gold tier's 6 visits)", and the warnings count
      them.
    """
    n = cust.n
    names = list(programmes)
    code = positions(cust.tier, names, missing=len(names))
    vmin = np.array([*(programmes[t].visits_min for t in names), 0.0], np.float64)[code]
    tier_text = np.where(cust.tier == None, "", cust.tier).astype(object)  # noqa: E711
    status_text = np.where(status == None, "", status).astype(object)  # noqa: E711
    customer = ~cust.is_prospect
    # what the customer earns without contact: visits its tier holds it to lose money
    # where they add less margin than they cost
    unvisited = cust.margin_rate * response(cust.wallet, cust.s0, cust.s1, cust.c, cust.d, 0.0)
    shortfall = np.nan_to_num(unvisited - pick.contribution)
    only = np.zeros(n, bool) if visits_only is None else np.asarray(visits_only, bool)
    by_band = ~(vmin > 0) & only
    loss = customer & ~released & ((vmin > 0) | by_band) & (pick.visits > 0) & (shortfall > 1e-9)
    freed = customer & released & (vmin > 0) & (pick.visits < vmin)
    wb = np.zeros(n, bool) if winback is None else customer & np.asarray(winback, bool)
    note: pa.Array | None = None
    if loss.any() or freed.any() or wb.any():
        tier_arr = pa.array(tier_text, pa.string())
        wb_text = pa.array(np.where(wb, "win-back; ", ""), pa.string())
        note = pc.if_else(
            pa.array(loss),
            _join(
                " (the ",
                tier_arr,
                pa.array(
                    np.where(by_band, " tier's band offers visits only", " tier's minimum"),
                    pa.string(),
                ),
                ": the visits cost ",
                money_text(shortfall, symbol),
                " a year more than the margin they add)",
            ),
            pc.if_else(
                pa.array(freed),
                _join(
                    " (",
                    pa.array(status_text, pa.string()),
                    ": ",
                    wb_text,
                    "not held to the ",
                    tier_arr,
                    " tier's ",
                    _fmt(vmin, 1),
                    pa.array(np.where(vmin == 1, " visit)", " visits)"), pa.string()),
                ),
                pc.if_else(
                    pa.array(wb),
                    _join(" (", pa.array(status_text, pa.string()), ": win-back)"),
                    pa.scalar(""),
                ),
            ),
        )
    k = int(loss.sum())
    by_tier = _counts(tier_text[loss])
    by_status = _counts(np.where(status_text[loss] == "", "no status", status_text[loss]))
    lost = float(pick.contribution[loss].sum())
    short = float(shortfall[loss].sum())
    k_min, k_band = int((loss & ~by_band).sum()), int((loss & by_band).sum())
    block: dict[str, Any] = {
        "customers": k,
        "by_tier": by_tier,
        "by_status": by_status,
        "by_rule": {"visits_min": k_min, "channel_band": k_band},
        "expected_contribution": lost,
        "expected_loss": short,
        "settings": [
            "[segments.programmes.<tier>] visits_min",
            "[segments.programmes.<tier>] channels",
            "[coverage] band_released_status",
        ],
    }
    if k:
        tiers = ", ".join(f"{t} {c:,}" for t, c in by_tier.items())
        statuses = ", ".join(f"{t} {c:,}" for t, c in by_status.items())
        money = money_text(np.array([short]), symbol)[0].as_py()
        rules = []
        if k_min:
            rules.append(
                f"{k_min:,} by their tier's visit minimum ([segments.programmes.<tier>] visits_min)"
            )
        if k_band:
            rules.append(
                f"{k_band:,} by their tier's channel band, which offers them visits only "
                "([segments.programmes.<tier>] channels; no inside team or e-mail in it)"
            )
        warnings.append(
            f"{count_text(k, 'customer')} {'is' if k == 1 else 'are'} visited although the "
            "plan expects to lose money on them: the visits cost "
            f"{money} a year more in all than the gross margin they are expected to add "
            f"({tiers}; status {statuses}; see coverage_reason); their tier holds them to "
            f"visits, {' and '.join(rules)}; to let the plan drop these visits, lower "
            "visits_min and add a channel that makes no visit (web: e-mail, distributor) to "
            "the tier's channels, or add their status to [coverage] band_released_status "
            f"(now {', '.join(s.band_released_status) or 'none'})"
        )
    k_wb = int(wb.sum())
    wb_block: dict[str, Any] = {
        "customers": k_wb,
        "tiers": list(s.winback_tiers),
        "by_tier": _counts(tier_text[wb]),
        "by_status": _counts(np.where(status_text[wb] == "", "no status", status_text[wb])),
        "by_channel": _counts(pick.channel[wb].astype(object)),
        "expected_contribution": float(pick.contribution[wb].sum()),
        "contacted_at_a_loss": int((wb & (shortfall > 1e-9)).sum()),
        "expected_loss": float(np.maximum(shortfall[wb], 0.0).sum()),
        "setting": "[coverage] winback_tiers",
    }
    if k_wb:
        tiers = ", ".join(f"{t} {c:,}" for t, c in wb_block["by_tier"].items())
        statuses = ", ".join(f"{t} {c:,}" for t, c in wb_block["by_status"].items())
        channels = ", ".join(f"{t} {c:,}" for t, c in wb_block["by_channel"].items())
        money = money_text(np.array([wb_block["expected_contribution"]]), symbol)[0].as_py()
        at_loss = ""
        if wb_block["contacted_at_a_loss"]:
            lost_wb = money_text(np.array([wb_block["expected_loss"]]), symbol)[0].as_py()
            at_loss = (
                f"; the contacts of {wb_block['contacted_at_a_loss']:,} of them cost "
                f"{lost_wb} a year more than the margin they are expected to add"
            )
        warnings.append(
            f"{count_text(k_wb, 'dormant account')} of the {', '.join(s.winback_tiers)} "
            f"tiers ({tiers}; status {statuses}) {'is' if k_wb == 1 else 'are'} given a "
            f"win-back contact ({channels}; an expected contribution of {money} a year in "
            f"all{at_loss}, see coverage_reason): [coverage] winback_tiers holds them to a "
            "contact; "
            "set it to [] to let the plan leave them without contact where that pays better"
        )
    assert note is None or len(note) == n
    return note, block, int(freed.sum()), wb_block


def _counts(values: np.ndarray) -> dict[str, int]:
    """Each distinct text and how often it occurs, the most frequent first."""
    keys, counts = np.unique(values.astype(str), return_counts=True)
    order = np.lexsort((keys, -counts))
    return {str(keys[i]): int(counts[i]) for i in order}


@dataclass(frozen=True)
class _Legacy:
    visits: np.ndarray
    calls: np.ndarray
    emails: np.ndarray
    hours: np.ndarray
    revenue: np.ndarray
    contribution: np.ndarray
    channel: np.ndarray  # kind index, as CHANNEL_KINDS
    field_hours: np.ndarray  # the visits' contact time and travel


def _legacy(
    cust: CustomerFrame,
    team: Team,
    counts: pa.Table | None,
    s: CoverageSettings,
    months: int,
) -> _Legacy:
    """Today's contacts per year for each customer, valued by the same response model."""
    n = cust.n
    v = np.zeros(n)
    c = np.zeros(n)
    e = np.zeros(n)
    vrep = np.full(n, None, dtype=object)
    if counts is not None and counts.num_rows:
        at = pc.index_in(
            pa.array(cust.ids.astype(str)),
            value_set=pc.cast(counts.column("customer_id"), pa.string()),
        )
        idx = np.asarray(pc.fill_null(at, -1).to_numpy(zero_copy_only=False), np.int64)
        ok = idx >= 0
        per_year = 12.0 / months
        for arr, name in ((v, "visits"), (c, "calls"), (e, "emails")):
            arr[ok] = num_column(counts, name)[idx[ok]] * per_year
        vrep[ok] = text_column(counts, "visit_rep")[idx[ok]]
    who = np.where(vrep == None, cust.rep, vrep)  # noqa: E711
    ri = positions(who, list(team.ids), missing=-1)
    has = ri >= 0
    km = np.full(n, s.default_distance_km)
    if has.any():
        d = haversine_km(cust.lat[has], cust.lon[has], team.lat[ri[has]], team.lon[ri[has]])
        km[has] = np.where(np.isnan(d), s.default_distance_km, d)
    road = 2.0 * km * s.road_factor
    m = s.minutes_per_contact
    hours = (v * m["visit"] + c * m["call"] + e * m["email"]) / 60.0 + v * road / s.travel_speed_kmh
    eff = s.effectiveness
    effort = v * eff["visit"] + c * eff["call"] + e * eff["email"]
    revenue = response(cust.wallet, cust.s0, cust.s1, cust.c, cust.d, effort)
    cost = s.cost_per_contact
    spend = v * (cost["visit"] + road * s.cost_per_km) + c * cost["call"] + e * cost["email"]
    contribution = cust.margin_rate * revenue - spend
    channel = np.select([v > 0, c > 0, e > 0], [3, 2, 1], default=0)
    field = v * (m["visit"] / 60.0 + road / s.travel_speed_kmh)
    return _Legacy(v, c, e, hours, revenue, contribution, channel, field)


def _exact_block(ex: Plan, planned: float, time_limit: float) -> tuple[dict[str, Any], str]:
    """The manifest's ``exact`` block for HiGHS's answer ``ex`` against the planner's
    objective ``planned``, and a sentence when HiGHS proved no bound on the best plan (it
    was stopped at the time limit first): the block then gives the bound as null with
    that sentence as ``upper_bound_note``, not a null without a word.

    Examples
    --------
    >>> ex = Plan(choice=np.zeros(1, np.int64), objective=9.0, upper_bound=np.inf,
    ...     gap=np.inf, hours_used=np.zeros(0), method="highs", seconds=1.0,
    ...     detail={"status": "Time limit reached"})
    >>> block, note = _exact_block(ex, 10.0, 60)
    >>> block["upper_bound"], block["gap_of_plan"]
    (None, -0.1111111111111111)
    >>> note == block["upper_bound_note"]
    True
    """
    denom = max(abs(ex.objective), 1e-9)
    block: dict[str, Any] = {
        "objective": float(ex.objective),
        "upper_bound": float(ex.upper_bound) if np.isfinite(ex.upper_bound) else None,
        "gap_of_plan": float((ex.objective - planned) / denom),
        "status": str(ex.detail.get("status", "")),
    }
    note = ""
    if block["upper_bound"] is None:
        note = (
            f"HiGHS was stopped at [coverage] time_limit ({time_limit:g} s) before it proved "
            "any bound on the best plan, so how far its plan is from the best is not known; "
            "raise time_limit to have one"
        )
        block["upper_bound_note"] = note
    return block, note


def _headline(m: Mapping[str, Any], has_legacy: bool, currency: str = "") -> str:
    """One line for the screen: the plan's objective against today's (in ``currency``, the
    run's symbol), its certified gap and the field hours it needs against today's.

    Examples
    --------
    >>> m = {"objective": 1200.0, "legacy_objective": -50.0, "optimality_gap": 0.0,
    ...      "plan_field_hours": 10.0, "legacy_field_hours": 12.0}
    >>> print(_headline(m, True, "£"))  # doctest: +NORMALIZE_WHITESPACE
    coverage plan: expected contribution £1,200 a year against -£50 with today's contacts;
    within 0.01% of the best plan possible; field hours 10 against 12 today
    """

    def money(x: float) -> str:
        return f"{'-' if x < 0 else ''}{currency}{abs(x):,.0f}"

    plan, today = m.get("expected_contribution", m["objective"]), m["legacy_objective"]
    line = f"coverage plan: expected contribution {money(plan)} a year"
    if has_legacy:
        line += f" against {money(today)} with today's contacts"
        if today > 0:
            line += f" ({(plan - today) / today:+.1%})"
    # the certified gap, never printed as 0.00%: within 0.01% when smaller
    line += f"; within {max(m['optimality_gap'], 1e-4):.2%} of the best plan possible"
    line += f"; field hours {m['plan_field_hours']:,.0f}"
    if has_legacy:
        line += f" against {m['legacy_field_hours']:,.0f} today"
    return line


# -- tables -----------------------------------------------------------------------------------


def _group_sum(keys: list[np.ndarray], values: dict[str, np.ndarray]) -> pa.Table:
    """Sum of ``values`` by the key columns (text), sorted by the keys."""
    import pandas as pd

    df = pd.DataFrame(
        {f"k{i}": pd.Series(k, dtype=object).fillna("(none)") for i, k in enumerate(keys)}
    )
    for name, v in values.items():
        df[name] = v
    g = df.groupby([f"k{i}" for i in range(len(keys))], sort=True, dropna=False).sum()
    t = pa.Table.from_pandas(g.reset_index(), preserve_index=False)
    # the keys are text whatever pandas made of them (without rows: no type at all)
    for i in range(len(keys)):
        t = t.set_column(i, f"k{i}", pc.cast(t.column(i), pa.string()))
    return t


def _rep_plan(team: Team, chosen: Chosen, assigned: np.ndarray) -> pa.Table:
    n_rep = team.n
    a = assigned
    ok = a >= 0
    w = np.bincount

    def per(x: np.ndarray) -> np.ndarray:
        # float64 also without customers (bincount of nothing counts in int64)
        return w(a[ok], weights=x[ok], minlength=n_rep).astype(np.float64)

    ones = np.ones(len(a))
    visits = chosen.visits
    calls = chosen.calls
    contact = chosen.contact_hours
    travel = chosen.travel_hours
    used = contact + travel
    hours_used = per(used)
    cap = np.where(np.isfinite(team.hours), team.hours, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        util = hours_used / cap
    return pa.table(
        {
            "rep_id": pa.array(team.ids.astype(object), pa.string()),
            "role": pa.array(team.role.astype(object), pa.string()),
            "region": pa.array(team.region.astype(object), pa.string()),
            "customers": pa.array(per(ones).round().astype(np.int64)),
            "visits": pa.array(per(visits)),
            "calls": pa.array(per(calls)),
            "contact_hours": pa.array(per(contact)),
            "travel_hours": pa.array(per(travel)),
            "hours_used": pa.array(hours_used),
            "capacity_hours": pa.array(cap, mask=~np.isfinite(cap)),
            "utilisation": pa.array(util, mask=~np.isfinite(util)),
            "expected_contribution": pa.array(per(chosen.contribution)),
        }
    )


def _segment_coverage(cust: CustomerFrame, chosen: Chosen) -> pa.Table:
    hours = chosen.contact_hours + chosen.travel_hours
    t = _group_sum(
        [cust.value_class, cust.tier, chosen.channel.astype(object)],
        {
            "customers": np.ones(cust.n, dtype=np.int64),
            "visits": chosen.visits,
            "calls": chosen.calls,
            "emails": chosen.emails,
            "hours": hours,
            "expected_contribution": chosen.contribution,
        },
    )
    t = t.rename_columns(["value_class", "tier", "channel", *t.column_names[3:]])
    cnt = np.asarray(t.column("customers").to_numpy(), np.float64)
    extra = {
        f"{k}_per_customer": np.asarray(t.column(k).to_numpy(), np.float64) / cnt
        for k in ("visits", "calls", "emails")
    }
    for k, v in extra.items():
        t = t.append_column(k, pa.array(v))
    return t


def _vs_legacy(cust: CustomerFrame, chosen: Chosen, leg: _Legacy) -> pa.Table:
    pkind = chosen.kind
    pv = chosen.visits
    est = ~cust.is_prospect
    cheaper = est & (pkind < leg.channel)
    t = _group_sum(
        [cust.value_class],
        {
            "customers": np.ones(cust.n, dtype=np.int64),
            "hours_legacy": leg.hours,
            "hours_plan": chosen.contact_hours + chosen.travel_hours,
            "visits_legacy": leg.visits,
            "visits_plan": pv,
            "calls_legacy": leg.calls,
            "calls_plan": chosen.calls,
            "emails_legacy": leg.emails,
            "emails_plan": chosen.emails,
            "newly_visited": ((pv > 0) & (leg.visits == 0)).astype(np.int64),
            "no_longer_visited": ((pv == 0) & (leg.visits > 0)).astype(np.int64),
            "moved_to_cheaper_channel": cheaper.astype(np.int64),
            "expected_contribution_legacy": leg.contribution,
            "expected_contribution_plan": chosen.contribution,
        },
    )
    t = t.rename_columns(["value_class", *t.column_names[1:]])
    total: dict[str, list[Any]] = {c: [None] for c in t.column_names}
    total["value_class"] = ["all"]
    for c in t.column_names[1:]:
        total[c] = [pc.sum(t.column(c), min_count=0).as_py()]
    return pa.concat_tables([t, pa.table(total, schema=t.schema)])


def _summary(build: MenuBuild, plan: Plan) -> dict[str, Any]:
    ch = plan.choice
    kind = build.kind[ch]
    visit_res = np.zeros(len(build.capacity), bool)
    visit_res[: len(build.resource_rep)] = True
    hours = build.menu.hours[ch]  # contact plus travel hours
    out: dict[str, Any] = {
        "expected_contribution": float(build.contribution[ch].sum()),
        "objective": float(plan.objective),
        "upper_bound": float(plan.upper_bound),
        "optimality_gap": float(plan.gap),
        "field_hours": float(hours[kind == 3].sum()),
        "inside_hours": float(hours[kind == 2].sum()),
    }
    for k, name in enumerate(CHANNEL_KINDS):
        out[f"customers_{name}"] = int((kind == k).sum())
    return out


def _sizing(
    cust: CustomerFrame,
    team: Team,
    s: CoverageSettings,
    programmes: Mapping[str, TierProgramme],
    base: MenuBuild,
    plan: Plan,
    assigned: np.ndarray,
    released: np.ndarray,
    *,
    kept: KeptChoice | None = None,
    winback: np.ndarray | None = None,
    envelope: np.ndarray | None = None,
) -> pa.Table:
    """Expected contribution, hours and customers per channel for each head-count
    scenario: field reps removed (least used first) or added (copies of the busiest).
    ``envelope``: the base menu's envelope options (:func:`envelope_options`), which the
    customers a scenario leaves as they are keep."""
    field_role = s.visit_roles[0] if s.visit_roles else "field"
    is_field = np.array([str(r) == field_role for r in team.role])
    used = np.bincount(
        np.maximum(assigned, 0),
        weights=(assigned >= 0) * base.menu.hours[plan.choice],  # contact and travel hours
        minlength=team.n,
    )
    util = np.where(np.isfinite(team.hours), used / team.hours, 0.0)
    field_idx = np.flatnonzero(is_field)
    least_first = field_idx[np.lexsort((field_idx, util[field_idx]))]
    busiest = field_idx[np.lexsort((field_idx, -util[field_idx]))]
    base_kind = base.kind[plan.choice]
    rows: list[dict[str, Any]] = []
    names = {k: (s.channel_of(k) or k) for k in CHANNEL_KINDS}
    for delta in sorted(set(s.headcount_scenarios)):
        row: dict[str, Any] = {
            "scenario": f"{delta:+d}" if delta else "today",
            "field_reps": int(len(field_idx) + delta),
        }
        if delta == 0:
            b, p = base, plan
        elif (delta < 0 and -delta >= len(field_idx)) or team.assumed:
            row["note"] = (
                "no reps file: head-count scenarios need one"
                if team.assumed
                else f"only {len(field_idx)} field reps"
            )
            rows.append(row)
            continue
        else:
            if delta < 0:
                keep = np.ones(team.n, bool)
                keep[least_first[:-delta]] = False
                t2 = team.subset(keep)
                row["reps_removed"] = ", ".join(str(x) for x in team.ids[least_first[:-delta]])
                new_index = np.where(keep, np.cumsum(keep) - 1, -1)
                origin, touched = np.flatnonzero(keep), least_first[:-delta]
            else:
                src = busiest[np.arange(delta) % len(busiest)] if len(busiest) else np.zeros(0, int)
                t2 = team.with_copies(src)
                row["reps_added_like"] = ", ".join(str(x) for x in team.ids[src])
                new_index = np.arange(team.n)
                origin, touched = np.concatenate([new_index, src]), np.unique(src)
            # the candidates of customers the change does not touch carry over
            change = (
                None
                if base.candidates is None
                else TeamChange(base.candidates, new_index, origin, touched)
            )
            try:
                b = build_menu(
                    cust,
                    t2,
                    s,
                    programmes,
                    released=released,
                    change=change,
                    lean=True,
                    base=base if change is not None else None,
                    keep=kept,
                    winback=winback,
                )
                carried = (
                    None
                    if envelope is None or b.fresh is None
                    else envelope_options(
                        b.menu, base=base.menu, base_points=envelope, carried=~b.fresh
                    )
                )
                p = _solve(b, carried)
                del carried
            except InfeasiblePlanError as exc:
                row["note"] = f"infeasible: {exc}"
                rows.append(row)
                continue
        summary = _summary(b, p)
        kind = b.kind[p.choice]
        moved = (base_kind == 3) & (kind == 2)
        row.update(
            {
                "expected_contribution": summary["expected_contribution"],
                "optimality_gap": summary["optimality_gap"],
                "field_hours": summary["field_hours"],
                "inside_hours": summary["inside_hours"],
                **{f"customers_{names[k]}": summary[f"customers_{k}"] for k in CHANNEL_KINDS},
                "moved_to_inside": int(moved.sum()),
                "moved_to_inside_by_class": ", ".join(
                    f"{c} {int(((cust.value_class == c) & moved).sum())}"
                    for c in sorted({str(x) for x in cust.value_class[moved] if x is not None})
                ),
            }
        )
        rows.append(row)
        # one scenario's menu at a time (a menu is about 150 bytes an option)
        del b, p
    return _sizing_table(rows, names)


def _sizing_table(rows: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> pa.Table:
    """The sizing table of the scenarios' rows (a column a row lacks is null there)."""
    cols = [
        "scenario",
        "field_reps",
        "expected_contribution",
        "optimality_gap",
        "field_hours",
        "inside_hours",
        *(f"customers_{names[k]}" for k in CHANNEL_KINDS),
        "moved_to_inside",
        "moved_to_inside_by_class",
        "reps_removed",
        "reps_added_like",
        "note",
    ]
    types = {
        "scenario": pa.string(),
        "field_reps": pa.int64(),
        "moved_to_inside": pa.int64(),
        "moved_to_inside_by_class": pa.string(),
        "reps_removed": pa.string(),
        "reps_added_like": pa.string(),
        "note": pa.string(),
    }
    return pa.table(
        {c: pa.array([r.get(c) for r in rows], types.get(c, pa.float64())) for c in cols}
    )


def _adherence(
    previous: pa.Table,
    recorded: pa.Table,
    days: int,
) -> pa.Table:
    """Per rep and class: the contacts the previous plan asked for over the days since it
    (pro rata of its yearly frequencies) against those recorded, and the customers planned
    but not contacted."""
    ids = text_column(previous, "customer_id")
    rep = text_column(previous, "assigned_rep")
    cls = text_column(previous, "value_class")
    frac = days / 365.0
    pv = np.nan_to_num(num_column(previous, "visits_per_year")) * frac
    pcall = np.nan_to_num(num_column(previous, "calls_per_year")) * frac
    pe = np.nan_to_num(num_column(previous, "emails_per_year")) * frac
    at = pc.index_in(
        pa.array(ids.astype(str)), value_set=pc.cast(recorded.column("customer_id"), pa.string())
    )
    idx = np.asarray(pc.fill_null(at, -1).to_numpy(zero_copy_only=False), np.int64)
    ok = idx >= 0

    def rec(name: str) -> np.ndarray:
        out = np.zeros(len(ids))
        out[ok] = num_column(recorded, name)[idx[ok]]
        return out

    rv, rc, re_ = rec("visits"), rec("calls"), rec("emails")
    planned = (pv + pcall + pe) > 0
    t = _group_sum(
        [rep, cls],
        {
            "customers_planned": planned.astype(np.int64),
            "visits_planned": pv,
            "visits_recorded": rv,
            "calls_planned": pcall,
            "calls_recorded": rc,
            "emails_planned": pe,
            "emails_recorded": re_,
            "planned_not_contacted": (planned & (rv + rc + re_ == 0)).astype(np.int64),
        },
    )
    t = t.rename_columns(["assigned_rep", "value_class", *t.column_names[2:]])

    # adherence per channel: the planned contacts made, each customer counted up to its
    # plan (an unplanned call does not make up for a missed visit); empty where the plan
    # asked for none
    def share(planned: np.ndarray, recorded: np.ndarray) -> pa.Array:
        made = _group_sum([rep, cls], {"made": np.minimum(recorded, planned), "asked": planned})
        asked = np.asarray(made.column("asked").to_numpy(), np.float64)
        got = np.asarray(made.column("made").to_numpy(), np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(asked > 0, got / np.where(asked > 0, asked, 1.0), np.nan)
        return pa.array(ratio, mask=~np.isfinite(ratio))

    t = t.append_column("visit_adherence", share(pv, rv))
    t = t.append_column("call_adherence", share(pcall, rc))
    return t.append_column(
        "adherence", share(pv + pcall, np.minimum(rv, pv) + np.minimum(rc, pcall))
    )


# -- the previous plan, reps not in the reps file ------------------------------------------


@dataclass(frozen=True)
class _Previous:
    """The previous plan read against this run's customers and team: per customer its row
    in ``previous`` (-1: not in it), the rep it keeps for visits and the inside rep it
    keeps for calls (team indices, -1 without one), and its channel and frequency."""

    row: np.ndarray
    visit_rep: np.ndarray
    inside_rep: np.ndarray
    choice: KeptChoice
    channel: np.ndarray
    frequency: np.ndarray
    rep: np.ndarray
    unknown_channels: dict[str, int] = field(default_factory=dict)


def _unknown_previous_channels(odd: dict[str, int], s: CoverageSettings, file: str) -> str:
    """One line naming the previous plan's channels that name none of this run's."""
    shown, k = odd_channels_text(odd)
    return (
        f"previous plan {file}, column channel: {count_text(k, 'customer')} "
        f"{'has a channel' if k == 1 else 'have channels'} that name none of this run's "
        f"channels ({', '.join(s.channels)}), compared without regard to case, spaces and "
        f"hyphens: {shown}; their channel and frequency are not kept and plan_change "
        "counts them as channel changes; name the channels in [coverage] channels as the "
        "previous plan did"
    )


def _read_previous(
    previous: pa.Table, ids: np.ndarray, team: Team, s: CoverageSettings
) -> _Previous:
    """Each customer's plan in ``previous`` (a previous run's customers: customer_id,
    channel, visits/calls/emails_per_year, assigned_rep)."""
    n = len(ids)
    p_ids = text_column(previous, "customer_id")
    row = positions(ids, list(p_ids), missing=-1)
    got = row >= 0
    at = np.maximum(row, 0)

    def text(name: str) -> np.ndarray:
        out = np.full(n, None, dtype=object)
        if name in previous.column_names:
            out[got] = text_column(previous, name)[at[got]]
        return out

    def num(name: str) -> np.ndarray:
        out = np.zeros(n)
        if name in previous.column_names:
            out[got] = np.nan_to_num(num_column(previous, name)[at[got]])
        return out

    # each channel as this run's channel it names (a renamed channel: none kept)
    channel, unknown = plan_channels(text("channel"), list(s.channels))
    rep = text("assigned_rep")
    visits, calls, emails = num("visits_per_year"), num("calls_per_year"), num("emails_per_year")
    # the channel's kind of contact by this run's channels
    kind_of = {name: CHANNEL_KINDS.index(k) for name, k in s.channels.items()}
    kind = np.array([kind_of.get(str(c), -1) if c is not None else -1 for c in channel], np.int64)
    kind[~got] = -1
    level = np.select([kind == 3, kind == 2, kind == 1], [visits, calls, emails], default=0.0)
    rep_at = positions(rep, list(team.ids), missing=-1)
    role = team.role.astype(str)
    visiting = np.isin(role, s.visit_roles)
    calling = np.isin(role, s.call_roles)
    ok = rep_at >= 0
    visit_rep = np.where(ok & visiting[np.maximum(rep_at, 0)] & (kind == 3), rep_at, -1)
    inside_rep = np.where(ok & calling[np.maximum(rep_at, 0)] & (kind == 2), rep_at, -1)
    return _Previous(
        row=row,
        visit_rep=visit_rep,
        inside_rep=inside_rep,
        choice=KeptChoice(kind=kind, level=level),
        channel=channel,
        frequency=level,
        rep=rep,
        unknown_channels=unknown,
    )


def _plan_changes(
    prev: _Previous,
    channel: np.ndarray,
    freq: np.ndarray,
    rep: np.ndarray,
    s: CoverageSettings,
) -> tuple[pa.Array, dict[str, Any], str]:
    """Per customer what changed against the previous plan ("same", "new", or "rep",
    "channel", "frequency" joined by ", "), the manifest block and the sentence the
    headline ends with."""
    got = prev.row >= 0
    p_rep = np.where(prev.rep == None, "", prev.rep).astype(str)  # noqa: E711
    n_rep = np.where(rep == None, "", rep).astype(str)  # noqa: E711
    p_ch = np.where(prev.channel == None, "", prev.channel).astype(str)  # noqa: E711
    rep_changed = got & (p_rep != n_rep)
    channel_changed = got & (p_ch != channel.astype(str))
    freq_changed = got & ~channel_changed & (np.abs(prev.frequency - freq) > 1e-9)
    text = np.full(len(got), "", dtype=object)
    for mask, word in (
        (rep_changed, "rep"),
        (channel_changed, "channel"),
        (freq_changed, "frequency"),
    ):
        text = np.where(mask, np.where(text == "", word, text + ", " + word), text)
    text = np.where(got & (text == ""), "same", text)
    text = np.where(~got, "new", text)
    changed = rep_changed | channel_changed | freq_changed
    k, m = int(changed.sum()), int(got.sum())
    block: dict[str, Any] = {
        "customers_in_both": m,
        "changed": k,
        "rep_changed": int(rep_changed.sum()),
        "channel_changed": int(channel_changed.sum()),
        "frequency_changed": int(freq_changed.sum()),
        "new": int((~got).sum()),
        "settings": {
            "[coverage] stability_bonus": s.stability_bonus,
            "[coverage] plan_stability_bonus": s.plan_stability_bonus,
        },
    }
    share = f" ({k / m:.1%})" if m else ""
    line = (
        f"against the previous plan {k:,} of {m:,} accounts change{share}: rep "
        f"{block['rep_changed']:,}, channel {block['channel_changed']:,}, frequency "
        f"{block['frequency_changed']:,} (plan_change)"
        if m
        else f"no account or prospect of the previous plan is in this one: all "
        f"{block['new']:,} are new (plan_change)"
    )
    return pa.array(text, pa.string()), block, line


def _reps_not_in_team(
    current: np.ndarray,
    prospect: np.ndarray,
    team: Team,
    legacy: pa.Table | None,
    ids: np.ndarray,
) -> tuple[np.ndarray, dict[str, int], dict[str, int]]:
    """The customers whose rep_id names a rep not in the reps file, those reps with their
    customers, and the reps of today's visits (activities) not in the reps file with the
    customers they visited most."""
    gone = np.zeros(len(current), bool)
    if team.assumed:
        return gone, {}, {}
    known = positions(current, list(team.ids), missing=-1) >= 0
    gone = ~prospect & ~known & (current != None)  # noqa: E711
    by_rep = _counts(current[gone]) if gone.any() else {}
    visited: dict[str, int] = {}
    if legacy is not None and legacy.num_rows and "visit_rep" in legacy.column_names:
        vrep = text_column(legacy, "visit_rep")
        odd = (vrep != None) & (positions(vrep, list(team.ids), missing=-1) < 0)  # noqa: E711
        if odd.any():
            visited = _counts(vrep[odd])
    return gone, by_rep, visited


def _reps_warning(
    by_rep: Mapping[str, int], visited: Mapping[str, int], kept: int, left: int, reps_file: str
) -> str:
    """The warning for reps named in the customer master (or today's visits) that the reps
    file does not have."""
    parts = []
    if by_rep:
        listed = ", ".join(f"{r} ({c:,})" for r, c in list(by_rep.items())[:10])
        more = f" and {len(by_rep) - 10} more" if len(by_rep) > 10 else ""
        k = sum(by_rep.values())
        parts.append(
            f"rep_id names {count_text(len(by_rep), 'rep')} not in the reps file ({reps_file}): "
            f"{listed}{more}, {count_text(k, 'customer')} in all; the plan gives them to "
            f"the reps of the file ({kept:,} visited or called by one) and leaves the "
            f"{left:,} it does not visit or call with assigned_rep {UNASSIGNED}"
        )
    if visited:
        listed = ", ".join(
            f"{r} ({count_text(c, 'customer')})" for r, c in list(visited.items())[:10]
        )
        parts.append(
            "reps not in the reps file made most of today's visits to some customers "
            f"(activities): {listed}"
        )
    return (
        "; ".join(parts)
        + "; add the reps to the reps file, or give their customers a rep of the file in "
        "the customer master (rep_id)"
    )


# -- the stage --------------------------------------------------------------------------------


def coverage_plan(
    customers: pa.Table,
    settings: CoverageSettings | None = None,
    *,
    programmes: Mapping[str, TierProgramme],
    reps: pa.Table | None = None,
    reps_file: str = "reps",
    legacy: pa.Table | None = None,
    panel: pa.Table | None = None,
    previous: pa.Table | None = None,
    previous_file: str = "previous plan",
    recorded_since: pa.Table | None = None,
    days_since: int = 0,
    currency_symbol: str = "€",
) -> CoverageResult:
    """The coverage plan for the customer table; see the module text.

    Parameters
    ----------
    customers
        The assembled customer table: customer_id, value_class, tier, wallet, headroom,
        revenue_12m, lookalike_score, gross margin figures, is_prospect, region, rep_id,
        lat, lon.
    settings
        The ``[coverage]`` section.
    programmes
        Tier → programme (channel and visit band) of the segments stage.
    reps
        The reps table (``None``: no reps file; the plan uses the current reps of the
        customer master without an hours limit, and says so).
    reps_file
        The reps file's name, for messages.
    legacy
        Today's contacts per customer (:func:`~tierwise.coverage.legacy.contact_counts`
        over ``activity_window_months``), or ``None`` without activities.
    panel
        Contacts and revenue per customer and half-year
        (:func:`~tierwise.coverage.legacy.half_year_panel`) for the response estimate.
    previous
        A previous run's customers (customer_id, channel, visits/calls/emails_per_year,
        assigned_rep): each customer keeps its field rep there (else its current rep
        ``rep_id``) unless a change gains more than ``stability_bonus``, and its channel
        and frequency unless a change gains more than ``plan_stability_bonus``; the
        customer column ``plan_change`` and manifest ``plan_changes`` say what changed.
        Its channels are read as this run's channel they name without regard to case,
        surrounding spaces and hyphens; one that names none is said in the warnings.
    previous_file
        The previous plan's file, for messages.
    recorded_since, days_since
        With ``previous``: the contacts recorded since its analysis date, over
        ``days_since`` days: the plan adherence.
    currency_symbol
        Printed before money in coverage_reason.

    Raises
    ------
    InputError
        A rep without hours; a field rep with no customer of its region within reach
        (of any region when no customer has one).
    InfeasiblePlanError
        A tier's band leaves a customer without an option; the visit minimums need more
        hours than the reps have.
    """
    s = settings or CoverageSettings()
    warnings: list[str] = []
    n = customers.num_rows
    ids = text_column(customers, "customer_id")
    current = text_column(customers, "rep_id")
    prospect = _bool(customers, "is_prospect")
    value_class = text_column(customers, "value_class")
    tier = text_column(customers, "tier")

    # 1. team
    if reps is None:
        team = _assumed_team(current, s.visit_roles[0] if s.visit_roles else "field")
        give = (
            "give a reps file (rep_id, role, hours_per_year, region, home_lat, home_lon) to "
            "plan under the team's capacity"
        )
        if team.n == 1 and team.ids[0] == UNASSIGNED:
            # no rep named anywhere: the visits the tiers ask for go to no one in particular
            warnings.append(
                f"no reps file and no customer has a rep (rep_id): the visits the plan makes "
                f"are for an assumed field rep, {UNASSIGNED}, with no limit on its hours and "
                "no inside-sales team (rep_plan shows the hours they take); "
                f"{give}, or map rep_id in [customers.columns]"
            )
        else:
            warnings.append(
                "no reps file: the plan keeps each customer with its current rep (rep_id), "
                "with no limit on the reps' hours and no inside-sales team (rep_plan shows the "
                f"hours the plan needs); {give}"
            )
    else:
        team = read_team(reps, file=reps_file, roles=[*s.visit_roles, *s.call_roles])

    if n == 0:
        return _no_customers(team, s, reps_file, warnings)
    # reps with regions beside customers with none: no region to match, so the regions
    # restrict no one (every rep serves every customer, as reps without a region do);
    # the plan is described with the regions as the reps file gives them
    region = _customer_regions(customers)
    described_team = team
    if (region == None).all() and (team.region != None).any():  # noqa: E711
        warnings.append(_regions_not_used(team, reps_file, s.call_roles))
        team = replace(team, region=np.full(team.n, None, dtype=object))

    # 2. customers and response
    wallet = num_column(customers, "wallet")
    rev12 = num_column(customers, "revenue_12m")
    no_wallet = ~np.isfinite(wallet)
    wallet = np.where(no_wallet, np.nan_to_num(rev12), wallet)
    if (no_wallet & ~prospect).any() and "wallet" in customers.column_names:
        warnings.append(
            f"{int((no_wallet & ~prospect).sum())} customers without a wallet: their last "
            "12 months' revenue stands for it; the potential stage's settings give wallets"
        )
    look = num_column(customers, "lookalike_score")
    look = np.clip(np.where(np.isfinite(look), look, 1.0), 0.0, 1.0)
    w_eff = np.maximum(np.where(prospect, wallet * look, wallet), 0.0)
    margin, msource = _margin_rates(customers, s)
    if msource == "setting":
        warnings.append(
            f"no cost of goods in the run: a gross margin rate of {s.default_margin_rate:g} "
            "is assumed for every customer; set [coverage] default_margin_rate or give costs"
        )
    # customers of a released status (dormant: inactive, lapsed) are not held to their
    # band; prospects compete for the hours on their expected value: no tier minimum forces
    # a visit to a dormant account or a prospect that does not pay for it
    status = text_column(customers, "status")
    released = prospect | np.asarray(
        pc.is_in(
            pc.fill_null(string_array(status), "None"),
            value_set=pa.array([str(x) for x in s.band_released_status], pa.string()),
        ).to_numpy(zero_copy_only=False),
        bool,
    )
    # dormant accounts of the win-back tiers get at least a win-back contact
    winback = (
        released
        & ~prospect
        & np.asarray(
            pc.is_in(
                pc.fill_null(string_array(tier), "None"),
                value_set=pa.array([str(x) for x in s.winback_tiers], pa.string()),
            ).to_numpy(zero_copy_only=False),
            bool,
        )
    )
    # the previous plan: each customer keeps its field rep there (else its current rep) and
    # its channel and frequency unless a change gains more than the stability charges
    prev = _read_previous(previous, ids, team, s) if previous is not None else None
    if prev is not None and prev.unknown_channels:
        warnings.append(_unknown_previous_channels(prev.unknown_channels, s, previous_file))
    keeps = (
        current
        if prev is None
        else np.where(prev.visit_rep >= 0, team.ids[np.maximum(prev.visit_rep, 0)], current).astype(
            object
        )
    )
    gone, gone_by_rep, gone_visits = _reps_not_in_team(current, prospect, team, legacy, ids)
    # a customer that may have stopped buying earns its response only while it buys: the
    # wallet counts at the lifetime stage's p_alive (the history's fit reads the whole
    # wallet, as the half-years it fits were bought while the customer was active)
    p_alive = num_column(customers, "p_alive")
    has_p = ~prospect & np.isfinite(p_alive)
    w_plan = np.where(has_p, w_eff * np.clip(np.nan_to_num(p_alive), 0.0, 1.0), w_eff)
    unknown = np.full(n, np.nan)  # the response, estimated below
    cust = CustomerFrame(
        ids=ids,
        value_class=value_class,
        tier=tier,
        region=region,
        rep=keeps,
        lat=num_column(customers, "lat"),
        lon=num_column(customers, "lon"),
        wallet=w_plan,
        margin_rate=margin,
        is_prospect=prospect,
        s0=unknown,
        s1=unknown,
        c=unknown,
        d=unknown,
    )

    # 2. response and 3. the candidate reps: neither reads the other, so the candidates
    # are looked for on a thread of their own while the response is fitted on this one
    # (NumPy lets go of the interpreter's lock; with [run] threads = 1 one after the
    # other, here). The search calls no BLAS: the fits' sums
    # run on the BLAS threads they would have alone, and each result is what it is alone
    classes = sorted(str(c) for c in pc.unique(string_array(value_class).drop_null()).to_pylist())
    found = in_background(
        partial(find_candidates, cust, team, s, programmes, released=released),
        name="tierwise-candidates",
    )
    try:
        params, rinfo, rnotes = _response_table(
            classes, s, panel, ids, value_class, w_eff, prospect
        )
    finally:
        candidates = found.result()
    warnings.extend(f"response: {x}" for x in rnotes)
    dflt = s.response_default

    # each customer's class as an index into params (their number: the default), so that
    # a parameter per customer is a numpy look-up
    class_code = positions(value_class, list(params), missing=len(params))

    def param(name: str) -> np.ndarray:
        per_class = [getattr(p, name) for p in params.values()]
        return np.array([*per_class, getattr(dflt, name)], dtype=np.float64)[class_code]

    s0 = np.where(prospect, s.prospect_s0, param("s0"))
    cust = replace(cust, s0=s0, s1=np.maximum(param("s1"), s0), c=param("c"), d=param("d"))
    del unknown

    # 3. menu and plan
    # built lean: the options the plan chooses are described after it has chosen
    build = build_menu(
        cust,
        team,
        s,
        programmes,
        released=released,
        lean=True,
        described=True,
        candidates=candidates,
        keep=None if prev is None else prev.choice,
        winback=winback,
    )
    del candidates
    if not team.assumed:
        visiting = np.isin(team.role.astype(str), s.visit_roles)
        idle = np.flatnonzero(visiting & ~build.reaches_region)
        if len(idle):
            i = int(idle[0])
            held = {str(r) for r in cust.region if r is not None}
            if team.region[i] is not None and str(team.region[i]) not in held:
                # the rep's region is no customer's: the customers' regions are named
                # otherwise (customers without any region plan without the reps' regions)
                none = int((cust.region == None).sum())  # noqa: E711
                theirs = (
                    f"the customers' regions are {', '.join(map(repr, sorted(held)[:5]))}"
                    + (f" and {len(held) - 5:,} more" if len(held) > 5 else "")
                    + (f" ({count_text(none, 'customer')} without one)" if none else "")
                )
                why = f"no customer has the region {team.region[i]!r}: {theirs}"
                hint = "write the reps' regions as the customers' are, or leave them empty"
            else:
                of = "none of its region" if team.region[i] is not None else "no customer"
                why = f"{of} within [coverage] max_travel_km {s.max_travel_km:g} km of its home"
                hint = (
                    "correct the rep's region or home_lat/home_lon, or remove the rep"
                    if team.region[i] is not None
                    else "correct the rep's home_lat/home_lon, or remove the rep"
                )
            raise InputError(
                f"rep {team.ids[i]} ({team.role[i]}, region "
                f"{described_team.region[i] or 'any'}) has no customer within reach: {why}",
                file=reps_file,
                row=int(team.rows[i]),
                column="region" if team.region[i] is not None else "home_lat",
                hint=hint,
            )
    distance_note, assumed_distance = _assumed_distance(cust, team, s, build.assumed_distance)
    if distance_note:
        warnings.append(distance_note)
    # the envelopes, kept for the head-count scenarios: a customer whose options a
    # scenario leaves as they are keeps its envelope there
    envelope = envelope_options(build.menu)
    plan = _solve(build, envelope)
    ch = plan.choice
    pick = build.chosen(ch, cust, s)
    # the customers whose menu offers nothing but visits (their tier's band, the team)
    not_visit = build.kind != CHANNEL_KINDS.index("visit")
    visits_only = np.bincount(build.menu.customer[not_visit], minlength=n) == 0
    band_note, held_at_a_loss, below_minimum, winback_block = _band_notes(
        cust,
        s,
        programmes,
        released,
        status,
        pick,
        currency_symbol,
        warnings,
        winback,
        visits_only,
    )
    del status
    rep_idx = pick.rep
    inside = _inside_split(
        build,
        pick,
        pick.contact_hours + pick.travel_hours,
        None if prev is None else prev.inside_rep,
    )
    assigned = np.where(rep_idx >= 0, rep_idx, inside)
    assigned_id = np.full(n, None, dtype=object)
    if team.n:
        has_rep = assigned >= 0
        assigned_id[has_rep] = team.ids[assigned[has_rep]]
    # a customer of a rep the reps file does not have, that the plan gives no rep of the
    # file: unassigned, never the departed rep (its CRM owner and call list follow
    # assigned_rep)
    orphaned = gone & (assigned < 0)
    assigned_id[orphaned] = UNASSIGNED
    reps_block: dict[str, Any] = {
        "customers": int(gone.sum()),
        "by_rep": gone_by_rep,
        "visited_or_called": int((gone & (assigned >= 0)).sum()),
        "unassigned": int(orphaned.sum()),
        "reps_of_todays_visits": gone_visits,
    }
    if gone_by_rep or gone_visits:
        warnings.append(
            _reps_warning(
                gone_by_rep,
                gone_visits,
                reps_block["visited_or_called"],
                reps_block["unassigned"],
                reps_file,
            )
        )
    if gone.any():
        gone_note = pc.if_else(
            pa.array(gone),
            _join(
                " (rep ",
                pa.array(np.where(current == None, "", current).astype(object), pa.string()),  # noqa: E711
                " is not in the reps file)",
            ),
            pa.scalar(""),
        )
        band_note = gone_note if band_note is None else _join(band_note, gone_note)

    # the head-count scenarios (sizing) read the menu's lean part and its options' reps (a
    # menu's arrays are 8 bytes an option each), from which they take the options of the
    # customers a change of the team leaves alone; planned before the plan is described,
    # so that the description's text is not held while they are (nor they while it is)
    option_rep = build.rep
    build = build.lean()
    sizing = _sizing(
        cust,
        team,
        s,
        programmes,
        replace(build, rep=option_rep),
        plan,
        assigned,
        released,
        kept=None if prev is None else prev.choice,
        winback=winback,
        envelope=envelope,
    )
    del option_rep, envelope
    out, tables, manifest = _described(
        cust,
        described_team,
        s,
        build,
        plan,
        pick,
        assigned,
        assigned_id,
        legacy,
        customers,
        wallet,
        rev12,
        look,
        released,
        has_p,
        msource,
        rinfo,
        reps_file,
        currency_symbol,
        warnings,
        band_note,
        current,
    )
    manifest["assumed_distance"] = assumed_distance
    manifest["winback"] = winback_block
    if held_at_a_loss["customers"]:
        manifest["headline"] += (
            f"; the tiers hold {held_at_a_loss['customers']:,} accounts to visits that cost "
            f"{currency_symbol}{held_at_a_loss['expected_loss']:,.0f} a year more than the "
            "margin they add "
            "(held_at_a_loss)"
        )
    manifest["reps_not_in_reps_file"] = reps_block
    if prev is not None:
        kind = pick.kind
        freq = np.select(
            [kind == 3, kind == 2, kind == 1], [pick.visits, pick.calls, pick.emails], default=0.0
        )
        change, manifest["plan_changes"], line = _plan_changes(
            prev, pick.channel, freq, assigned_id, s
        )
        out = out.append_column("plan_change", change)
        manifest["headline"] += "; " + line
    manifest["released_from_band"]["below_tier_minimum"] = below_minimum
    manifest["held_at_a_loss"] = held_at_a_loss
    tables["sizing"] = sizing
    if previous is not None and recorded_since is not None:
        tables["plan_adherence"] = _adherence(previous, recorded_since, days_since)
        manifest["plan_adherence"] = {"days_since_previous": int(days_since)}
    return CoverageResult(out, tables, manifest, warnings, plan, build)


def _no_customers(
    team: Team, s: CoverageSettings, reps_file: str, warnings: list[str]
) -> CoverageResult:
    """The plan of an empty customer table: no customer columns' rows, the team in rep_plan
    with nothing to do, the other tables without rows (coverage_vs_legacy's total row
    at 0), and a warning that says so."""
    warnings.append(
        "no customers or prospects to plan: the plan is empty (rep_plan lists the team with "
        "no customer); check the filters and inputs that left none"
    )
    none = np.zeros(0)
    text = np.zeros(0, dtype=object)
    cust = CustomerFrame(
        ids=text,
        value_class=text,
        tier=text,
        region=text,
        rep=text,
        lat=none,
        lon=none,
        wallet=none,
        margin_rate=none,
        is_prospect=np.zeros(0, bool),
        s0=none,
        s1=none,
        c=none,
        d=none,
    )
    index = np.zeros(0, np.int64)
    pick = Chosen(
        kind=index,
        channel=text,
        visits=none,
        calls=none,
        emails=none,
        rep=index,
        pool=index,
        distance_km=none,
        contact_hours=none,
        travel_hours=none,
        revenue=none,
        contribution=none,
    )
    floats = pa.array(none, pa.float64())
    strings = pa.array(text, pa.string())
    customers = pa.table(
        {
            "customer_id": strings,
            "channel": strings,
            "visits_per_year": floats,
            "calls_per_year": floats,
            "emails_per_year": floats,
            "assigned_rep": strings,
            "expected_revenue_plan": floats,
            "expected_revenue_today": floats,
            "expected_contribution_plan": floats,
            "coverage_hours": floats,
            "coverage_reason": strings,
        }
    )
    leg = _legacy(cust, team, None, s, s.activity_window_months)
    names = {k: (s.channel_of(k) or k) for k in CHANNEL_KINDS}
    tables = {
        "rep_plan": _rep_plan(team, pick, index),
        "segment_coverage": _segment_coverage(cust, pick),
        "coverage_vs_legacy": _vs_legacy(cust, pick, leg),
        "sizing": _sizing_table([], names),
    }
    manifest: dict[str, Any] = {
        "method": "none: no customers or prospects to plan",
        "objective": 0.0,
        "upper_bound": 0.0,
        "optimality_gap": 0.0,
        "expected_contribution": 0.0,
        "n_customers": 0,
        "n_options": 0,
        "n_reps": int(team.n),
        "team": "assumed from rep_id, no hours limit" if team.assumed else reps_file,
        "legacy_objective": 0.0,
        "headline": "coverage plan: no customers or prospects to plan",
    }
    return CoverageResult(customers, tables, manifest, warnings)


def _described(
    cust: CustomerFrame,
    team: Team,
    s: CoverageSettings,
    build: MenuBuild,
    plan: Plan,
    pick: Chosen,
    assigned: np.ndarray,
    assigned_id: np.ndarray,
    legacy: pa.Table | None,
    customers: pa.Table,
    wallet: np.ndarray,
    rev12: np.ndarray,
    look: np.ndarray,
    released: np.ndarray,
    has_p: np.ndarray,
    msource: str,
    rinfo: dict[str, Any],
    reps_file: str,
    currency_symbol: str,
    warnings: list[str],
    band_note: pa.Array | None,
    current: np.ndarray,
) -> tuple[pa.Table, dict[str, pa.Table], dict[str, Any]]:
    """The plan's customer columns, its tables but sizing, and the manifest (the exact
    check and today's coverage in it); ``warnings`` extended. ``band_note`` follows each
    customer's frequency in its coverage_reason (:func:`_band_notes`)."""
    n, ids = cust.n, cust.ids
    kind = pick.kind
    dflt = s.response_default
    manifest: dict[str, Any] = {
        "method": "marginal analysis on each customer's concave envelope with a Lagrangian "
        "price per rep's hours (CALLPLAN response, Lodish 1971)",
        "objective": float(plan.objective),
        "upper_bound": float(plan.upper_bound),
        "optimality_gap": float(plan.gap),
        "solver": plan.method,
        "expected_contribution": float(pick.contribution.sum()),
        "n_customers": int(n),
        "n_options": len(build.menu.value),
        "n_reps": int(team.n),
        "team": "assumed from rep_id, no hours limit" if team.assumed else reps_file,
        "response": rinfo,
        "response_default": {**dflt.model_dump(), "source": "[coverage] response_default"},
        "active_weight": "p_alive (lifetime stage): a customer's wallet counts at its "
        "probability of still buying"
        if has_p.any()
        else "none: no p_alive in the run (the lifetime stage did not run)",
        "released_from_band": {
            "customers": int(released.sum()),
            "statuses": list(s.band_released_status),
            "setting": "[coverage] band_released_status",
        },
        "margin_rate": "per customer (profit period, else whole history)"
        if msource == "overall"
        else "[coverage] default_margin_rate",
    }

    # exact check
    if s.exact:
        if n > s.exact_max_customers:
            warnings.append(
                f"exact check skipped: {n} customers, more than [coverage] "
                f"exact_max_customers ({s.exact_max_customers})"
            )
            manifest["exact"] = {"skipped": f"{n} customers > exact_max_customers"}
        else:
            # HiGHS's own thread count, or the run's [run] threads when it sets one
            ex = solve_exact(
                build.menu,
                build.capacity,
                time_limit=s.time_limit,
                threads=limit(),
                names=_names(build),
            )
            manifest["exact"], unproved = _exact_block(ex, plan.objective, s.time_limit)
            if unproved:
                warnings.append(f"exact check: {unproved}")
    else:
        manifest["exact"] = {"skipped": "[coverage] exact is false (run with --exact)"}

    # 4. today's coverage
    # today's visits travel from the rep who made them, else the customer master's rep
    leg = _legacy(replace(cust, rep=current), team, legacy, s, s.activity_window_months)
    manifest["legacy_objective"] = float(leg.contribution.sum())
    manifest["legacy_hours"] = float(leg.hours.sum())
    manifest["plan_hours"] = float((pick.contact_hours + pick.travel_hours).sum())
    on_visits = kind == CHANNEL_KINDS.index("visit")
    manifest["legacy_field_hours"] = float(leg.field_hours.sum())
    manifest["plan_field_hours"] = float((pick.contact_hours + pick.travel_hours)[on_visits].sum())
    manifest["headline"] = _headline(manifest, legacy is not None, currency_symbol)
    if legacy is None:
        warnings.append(
            "no activities: today's coverage counts no contacts; give the activities file "
            "(visits, calls, e-mails) to compare the plan with today's"
        )

    # 5. customer columns
    freq = np.select(
        [kind == 3, kind == 2, kind == 1],
        [pick.visits, pick.calls, pick.emails],
        default=0.0,
    )
    headroom = num_column(customers, "headroom")
    headroom = np.where(
        np.isfinite(headroom), headroom, np.maximum(wallet - np.nan_to_num(rev12), 0)
    )
    # a visit's distance is assumed where the customer or its rep has no coordinates
    visited = kind == CHANNEL_KINDS.index("visit")
    located = np.isfinite(cust.lat) & np.isfinite(cust.lon)
    if team.n:
        r = np.maximum(pick.rep, 0)
        located &= np.isfinite(team.lat[r]) & np.isfinite(team.lon[r])
    km_assumed = visited & (team.assumed | ~located)
    reason = _reasons(
        cust,
        headroom,
        look,
        kind,
        pick.channel,
        freq,
        pick.distance_km,
        assigned_id,
        leg.visits,
        leg.calls,
        currency_symbol,
        band_note,
        km_assumed,
    )
    out = pa.table(
        {
            "customer_id": pa.array(ids, pa.string()),
            "channel": pa.array(pick.channel.astype(object), pa.string()),
            "visits_per_year": pa.array(pick.visits),
            "calls_per_year": pa.array(pick.calls),
            "emails_per_year": pa.array(pick.emails),
            "assigned_rep": pa.array(assigned_id, pa.string()),
            "expected_revenue_plan": pa.array(pick.revenue),
            "expected_revenue_today": pa.array(leg.revenue),
            "expected_contribution_plan": pa.array(pick.contribution),
            "coverage_hours": pa.array(pick.contact_hours + pick.travel_hours),
            "coverage_reason": reason,
        }
    )

    tables: dict[str, pa.Table] = {
        "rep_plan": _rep_plan(team, pick, assigned),
        "segment_coverage": _segment_coverage(cust, pick),
        "coverage_vs_legacy": _vs_legacy(cust, pick, leg),
    }
    return out, tables, manifest
