r"""Each customer's menu of coverage options, built with NumPy over customers × options.

A customer (or prospect) is offered:

- **no contact** (the settings' "none" channel, e.g. distributor);
- **e-mail** at each of ``email_levels`` (no rep hours);
- **inside-sales calls** at each of ``call_levels``, on the pooled hours of the inside team
  of its region (the inside reps without a region for a customer of a region without an
  inside rep or of no region; the whole team in one pool when there are none);
- **field visits** at each of ``visit_levels`` with each of up to ``candidate_reps`` field
  reps: its current rep first, then the nearest reps of its region (reps without a region
  serve every region) by haversine distance from the rep's home. Travel per visit is
  2 × distance × ``road_factor`` / ``travel_speed_kmh`` hours.

The tier's programme bounds the menu: options of a channel outside the tier's channel band
and visit frequencies outside ``visits_min`` … ``visits_max`` are left out (a band with a
visit minimum above 0 leaves only visit options). A customer left without any option raises
:class:`InfeasiblePlanError` naming the tier and the setting.

Each option's value (expected contribution a year) is

.. math:: v = m \cdot W \cdot \big(s_0 + (s_1 - s_0)\, e^c / (d^c + e^c)\big)
          - \sum_k \text{cost}_k \cdot n_k - \text{km} \cdot \text{cost\_per\_km}

with m the gross margin rate, W the wallet (a prospect's times its lookalike_score),
e = Σ effectiveness × contacts a year; when the rep the customer keeps (``CustomerFrame.rep``:
its field rep in the previous plan, else its current rep) is among its candidates, its
visits by another rep carry ``stability_bonus`` as a charge (used by the optimiser, not
reported as contribution): the rep changes only for a real gain, and visiting is never
favoured over not visiting. With a previous plan (``keep``), every option but the channel
and frequency it gave carries ``plan_stability_bonus`` the same way.

A dormant account of a tier of ``winback_tiers`` (``winback``) is offered no "no contact"
option, nor e-mail when a call or visit can reach it: at least a win-back contact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..settings.coverage import CoverageSettings, rep_role
from ..settings.segments import TierProgramme
from .allocate import InfeasiblePlanError, Menu
from .lookup import positions, string_array
from .response import response

__all__ = [
    "CHANNEL_KINDS",
    "CustomerFrame",
    "KeptChoice",
    "MenuBuild",
    "Team",
    "build_menu",
    "find_candidates",
    "haversine_km",
]

#: Option kinds, in the order they are listed in a customer's menu.
CHANNEL_KINDS = ("none", "email", "call", "visit")
_EARTH_KM = 6371.0088


def haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in km (broadcasting; NaN where a coordinate is missing).

    Examples
    --------
    >>> round(float(haversine_km(np.array(51.5), np.array(-0.13), np.array(52.49),
    ...                          np.array(-1.89))), 0)
    163.0
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * _EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True)
class Team:
    """The sales team as arrays (one entry per rep).

    ``hours`` may be ``inf`` for a team assumed without a reps file (no capacity limit).
    ``rows`` are the reps file's row numbers, for messages (0 when unknown).
    """

    ids: np.ndarray
    role: np.ndarray
    hours: np.ndarray
    region: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    rows: np.ndarray
    #: True when the team was assumed from the customer master (no reps file)
    assumed: bool = False

    @property
    def n(self) -> int:
        return len(self.ids)

    def subset(self, keep: np.ndarray) -> Team:
        return Team(
            self.ids[keep],
            self.role[keep],
            self.hours[keep],
            self.region[keep],
            self.lat[keep],
            self.lon[keep],
            self.rows[keep],
            self.assumed,
        )

    def append(self, other: Team) -> Team:
        cat = {f: np.concatenate([getattr(self, f), getattr(other, f)]) for f in _TEAM_FIELDS}
        return Team(**cat, assumed=self.assumed)

    def with_copies(self, src: np.ndarray) -> Team:
        """The team and, after it, a copy of each rep at ``src`` (its role, hours, region
        and place), named ``NEW1``, ``NEW2``, … and from no input row: the reps a head-count
        scenario adds."""
        c = self.subset(src)
        k = len(c.ids)
        names = np.array([f"NEW{i + 1}" for i in range(k)], object)
        return self.append(
            Team(names, c.role, c.hours, c.region, c.lat, c.lon, np.zeros(k, np.int64))
        )


_TEAM_FIELDS = ("ids", "role", "hours", "region", "lat", "lon", "rows")


@dataclass(frozen=True)
class CustomerFrame:
    """What the menu needs of each customer and prospect (arrays of the same length).

    ``wallet`` is the wallet the response applies to (a prospect's already times its
    lookalike_score); ``s0``…``d`` the response parameters per customer; ``rep`` the
    current rep's id (``None`` without one); ``value_class``/``tier`` text (``None``
    without one).
    """

    ids: np.ndarray
    value_class: np.ndarray
    tier: np.ndarray
    region: np.ndarray
    rep: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    wallet: np.ndarray
    margin_rate: np.ndarray
    is_prospect: np.ndarray
    s0: np.ndarray
    s1: np.ndarray
    c: np.ndarray
    d: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ids)

    def take(self, rows: np.ndarray) -> CustomerFrame:
        """The customers at positions ``rows``."""
        return CustomerFrame(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


@dataclass(frozen=True)
class Candidates:
    """Each customer's candidate reps (indices into a team, -1 = none; before the tier's
    band removes visits), their distances in km, whether a distance was assumed, and per
    rep whether a customer of its region is within reach."""

    rep: np.ndarray
    km: np.ndarray
    guessed: np.ndarray
    reach: np.ndarray


@dataclass(frozen=True)
class TeamChange:
    """How a changed team relates to the team of an earlier menu, for
    :func:`build_menu` to keep the candidates no change touches.

    ``new_index``: per earlier rep, its index in the changed team (-1 when removed);
    ``origin``: per rep of the changed team, the earlier rep it stands in for (a copy
    made of a rep: that rep); ``touched``: the earlier reps removed or copied.
    """

    before: Candidates
    new_index: np.ndarray
    origin: np.ndarray
    touched: np.ndarray


@dataclass(frozen=True)
class KeptChoice:
    """Each customer's channel and frequency in the previous plan, which its other options
    are charged ``plan_stability_bonus`` against: ``kind`` (index into
    :data:`CHANNEL_KINDS`, -1 for a customer the previous plan did not have) and ``level``
    (its contacts a year of that kind; 0 for no contact)."""

    kind: np.ndarray
    level: np.ndarray


@dataclass(frozen=True)
class Chosen:
    """One option of each customer (a plan's choice) and what it is: the arrays of
    :class:`MenuBuild` at those options."""

    kind: np.ndarray
    channel: np.ndarray
    visits: np.ndarray
    calls: np.ndarray
    emails: np.ndarray
    rep: np.ndarray
    pool: np.ndarray
    distance_km: np.ndarray
    contact_hours: np.ndarray
    travel_hours: np.ndarray
    revenue: np.ndarray
    contribution: np.ndarray


@dataclass(frozen=True)
class MenuBuild:
    """The menu handed to the optimiser and what each option means.

    Per option (aligned with ``menu``): ``kind`` (index into :data:`CHANNEL_KINDS`),
    ``channel`` (the plan channel's name), ``visits``/``calls``/``emails`` a year, ``rep``
    (index into ``team`` for a visit, -1 otherwise), ``pool`` (inside pool index for a
    call, -1 otherwise), ``distance_km`` (visits), ``contact_hours`` and ``travel_hours``
    a year, ``revenue`` (expected revenue a year), ``contribution`` (value without the
    stability bonus). Resources: the visiting reps of ``team`` that are candidates
    anywhere, then the inside pools; ``resource_names`` and ``capacity`` describe them (a
    rep without an hours limit constrains nothing: its options use resource -1 and its
    capacity reads 0).
    """

    menu: Menu
    capacity: np.ndarray
    resource_names: list[str]
    resource_rep: np.ndarray
    pool_names: list[str]
    pool_members: list[np.ndarray]
    kind: np.ndarray
    channel: np.ndarray
    visits: np.ndarray
    calls: np.ndarray
    emails: np.ndarray
    rep: np.ndarray
    pool: np.ndarray
    distance_km: np.ndarray
    contact_hours: np.ndarray
    travel_hours: np.ndarray
    revenue: np.ndarray
    contribution: np.ndarray
    team: Team
    #: customers whose distance to a rep was assumed (no coordinates)
    assumed_distance: int = 0
    #: rep index → number of customers it is a candidate for
    candidates_per_rep: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: rep index → whether a customer of its region is within reach (whatever its tier)
    reaches_region: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    #: per customer: its current rep's index in ``team`` (-1 without one)
    current_rep: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: the candidate reps the menu was built from (for a changed team's menu)
    candidates: Candidates | None = None
    #: per option: its contacts a year (the visits, calls or e-mails of its kind)
    level: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: per customer: its inside pool (-1 without one)
    customer_pool: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: built from a ``base`` menu: per customer, whether its options were figured (the
    #: others' are the base menu's, in the same order, their resources renumbered in the
    #: same order); None when every customer's were
    fresh: np.ndarray | None = None

    def chosen(self, options: np.ndarray, cust: CustomerFrame, s: CoverageSettings) -> Chosen:
        """What the ``options`` (one a customer, as a plan's choice) are: figured from the
        option's kind, contacts, rep and distance as :func:`build_menu` figures every
        option, so a menu built ``lean`` and ``described`` tells the same as a full one.
        ``cust`` and ``s`` are those the menu was built from.
        """
        kind, level = self.kind[options], self.level[options]
        rep, distance = self.rep[options], self.distance_km[options]
        c = self.menu.customer[options]
        v, ca, em = _contacts(kind, level)
        km = np.where(np.isnan(distance), 0.0, distance)
        road_km = 2.0 * km * s.road_factor
        minutes, eff = s.minutes_per_contact, s.effectiveness
        travel = v * road_km / s.travel_speed_kmh
        contact = (v * minutes["visit"] + ca * minutes["call"] + em * minutes["email"]) / 60.0
        effort = v * eff["visit"] + ca * eff["call"] + em * eff["email"]
        revenue = response(cust.wallet[c], cust.s0[c], cust.s1[c], cust.c[c], cust.d[c], effort)
        names = np.array([s.channel_of(k) or k for k in CHANNEL_KINDS], dtype=object)
        return Chosen(
            kind=kind,
            channel=names[kind],
            visits=v,
            calls=ca,
            emails=em,
            rep=rep,
            pool=np.where(kind == 2, self.customer_pool[c], -1),
            distance_km=distance,
            contact_hours=contact,
            travel_hours=travel,
            revenue=revenue,
            contribution=self.contribution[options],
        )

    def lean(self) -> MenuBuild:
        """The same menu without what only describes the options, as :func:`build_menu`
        builds it with ``lean`` (the candidates kept): what solving a plan and summing it
        up reads.

        Examples
        --------
        >>> from tierwise.settings.segments import SegmentSettings
        >>> t = Team(np.array(["R1"], object), np.array(["field"], object),
        ...          np.array([1600.0]), np.array(["N"], object), np.array([52.0]),
        ...          np.array([0.0]), np.array([1]))
        >>> c = CustomerFrame(np.array(["a"], object), np.array(["B"], object),
        ...     np.array(["silver"], object), np.array(["N"], object),
        ...     np.array(["R1"], object), np.array([52.5]), np.array([0.0]),
        ...     np.array([10_000.0]), np.array([0.3]), np.array([False]), np.array([0.2]),
        ...     np.array([0.5]), np.array([1.0]), np.array([3.0]))
        >>> b = build_menu(c, t, CoverageSettings(), SegmentSettings().programmes).lean()
        >>> b.visits.size, b.kind.tolist(), b.candidates is not None
        (0, [3, 3, 3, 3], True)
        """
        none = np.zeros(0)
        return replace(
            self,
            level=none,
            channel=none.astype(object),
            visits=none,
            calls=none,
            emails=none,
            rep=none.astype(np.int64),
            pool=none.astype(np.int64),
            distance_km=none,
            contact_hours=none,
            travel_hours=none,
            revenue=none,
        )


def _allowed_channels(
    s: CoverageSettings, programmes: Mapping[str, TierProgramme]
) -> dict[str, tuple[set[str], set[str]]]:
    """Per tier: the plan channels its band allows, and the rep roles named in its band.
    Channel and band names are read whatever their case
    (:meth:`~tierwise.settings.coverage.CoverageSettings.channel_named`)."""
    out: dict[str, tuple[set[str], set[str]]] = {}
    for tier, prog in programmes.items():
        allowed: set[str] = set()
        for given in prog.channels:
            name = s.channel_named(given)
            if name in s.band_channels:
                allowed.update(s.channel_named(c) or c for c in s.band_channels[name])
            elif name in s.channels:
                allowed.add(name)
        roles = {rep_role(s.channel_named(r) or r) for r in prog.channels} & set(s.visit_roles)
        out[tier] = (allowed, roles)
    return out


def _levels(s: CoverageSettings, programmes: Mapping[str, TierProgramme]) -> np.ndarray:
    """Visit levels offered: the settings' plus each tier's band ends (so a band like
    5…5 has a level)."""
    ends = [x for p in programmes.values() for x in (p.visits_min, p.visits_max) if x > 0]
    return np.unique(np.asarray([*s.visit_levels, *ends], dtype=np.float64))


def _candidates(
    cust: CustomerFrame,
    team: Team,
    visit_rep: np.ndarray,
    role_ok: np.ndarray,
    role_of: np.ndarray,
    s: CoverageSettings,
    chunk: int = 2_048,
    wanted: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Up to K candidate reps per customer (indices into ``team``, -1 = none), their
    distance in km, whether the distance was assumed, and per rep whether a customer of
    its region is within reach (whatever its tier).

    ``wanted`` marks the customers whose candidates are needed (those whose tier's band
    allows visits); the others get none, but count in the reps' reach.

    ``visit_rep`` marks the visiting reps; ``role_ok`` (customers × roles) whether the
    customer's tier lets a role visit it, and ``role_of`` each rep's column of ``role_ok``
    (a customers × reps matrix would be a byte per customer and rep: 5.6 GB for a million
    customers and 5,555 reps).

    The candidates are the reps of the customer's region (and those without a region)
    within reach whose role may visit it, nearest first, ties by rep order, its current rep
    first when that one may visit and is within reach. A customer with none (an orphan)
    takes the nearest reps of any region within reach. The customers are searched a group
    at a time (one region and one set of roles allowed to visit them) among the reps of
    those roles that serve the region (every rep of those roles for the orphans): a k-d
    tree of those reps' homes gives each customer its few nearest, and only those, the reps
    without coordinates and its current rep are measured, so the work grows with the
    customers and not with customers x reps. A group of few reps, a customer without
    coordinates and one with more reps tied in distance than the tree returns are measured
    against every rep of the group, ``chunk`` customers at a time. The reach is counted
    apart (:func:`_reach`).
    """
    n, K = cust.n, s.candidate_reps
    cand = np.full((n, K), -1, dtype=np.int64)
    dist = np.full((n, K), np.nan)
    guessed = np.zeros((n, K), dtype=bool)
    reach = np.zeros(team.n, dtype=bool)
    reps = np.flatnonzero(visit_rep)
    if n == 0 or len(reps) == 0:
        return cand, dist, guessed, reach
    if team.assumed:
        # no reps file: the current rep, wherever it is
        none = int(positions(np.array(["(unassigned)"], object), team.ids, missing=-1)[0])
        cur = positions(cust.rep, team.ids, missing=-1)
        cur[np.asarray(string_array(cust.rep).is_null(), bool)] = none
        ok = (cur >= 0) & role_ok[np.arange(n), role_of[np.maximum(cur, 0)]]
        cand[:, 0] = np.where(ok, cur, -1)
        dist[:, 0] = np.where(ok, s.default_distance_km, np.nan)
        guessed[:, 0] = ok
        reach = np.bincount(cur[cur >= 0], minlength=team.n) > 0
        return cand, dist, guessed, reach
    r_region = team.region[reps]
    r_national = np.array([x is None for x in r_region], dtype=bool)
    # regions as integer codes (no region: a code of its own): comparisons of numbers, not
    # of objects
    both = pa.concat_arrays([string_array(cust.region), string_array(r_region)])
    region_code = np.asarray(pc.dictionary_encode(both, null_encoding="encode").indices, np.int64)
    c_code, r_code = region_code[:n], region_code[n:]
    del both, region_code
    r_lat, r_lon = team.lat[reps], team.lon[reps]
    # reps are ranked by the squared chord between points on the unit sphere, which orders
    # them as the great-circle distance does (the distance is 2 R asin(chord / 2)) at a
    # fraction of the cost of the haversine; the distances kept are the haversine's
    c_xyz, r_xyz = _unit_xyz(cust.lat, cust.lon), _unit_xyz(r_lat, r_lon)
    c2_default = _chord2(s.default_distance_km)
    c2_max = _chord2(s.max_travel_km)
    current = positions(cust.rep, team.ids[reps], missing=-1)
    k = min(K, len(reps))
    # positions in ``reps`` of the reps with coordinates (a k-d tree holds those only)
    r_located = np.isfinite(r_xyz).all(axis=1)
    c_located = np.isfinite(c_xyz).all(axis=1)
    # the tree's search reaches a little past the travel limit (the chord and the tree's
    # distance round differently; the limit is decided exactly below)
    reach_chord = float(np.sqrt(c2_max)) * (1.0 + 1e-6)

    def choose(rows: np.ndarray, cols: np.ndarray, kk: int, *, orphans: bool) -> np.ndarray:
        """Candidates of customers ``rows`` among reps ``cols`` (a row of positions in
        ``reps`` per customer, ascending, -1 after the last: no rep); returns the customers
        left without one (orphans). ``kk`` candidates are written per customer."""
        pad = cols < 0
        at = np.maximum(cols, 0)
        c2 = _chord2_pairs(c_xyz[rows], r_xyz, at)
        miss = np.isnan(c2) & ~pad
        c2[miss] = c2_default
        c2[pad] = np.inf
        near = _within(c2, c2_max, lambda e: dist_of(rows[e[0]], at[e], miss[e]), s.max_travel_km)
        may = role_ok[rows[:, None], role_of[reps[at]]] & ~pad
        if orphans:
            # no rep of their region may visit them: the nearest of any region within reach
            # (a neighbouring region covers)
            ok = near & may
        else:
            same_region = (c_code[rows, None] == r_code[at]) | r_national[at]
            ok = same_region & near & may
        alone = ~ok.any(axis=1)
        key = np.where(ok, c2, np.inf)
        # the current rep first
        cur = current[rows]
        first = (cols == cur[:, None]) & (cur[:, None] >= 0) & may & near
        key[first] = -1.0
        # nearest first, ties by rep order
        order = _smallest(key, kk)
        pk = np.take_along_axis(key, order, axis=1)
        valid = np.isfinite(pk)
        picked = np.take_along_axis(at, order, axis=1)
        picked_miss = np.take_along_axis(miss, order, axis=1)
        km = dist_of(np.broadcast_to(rows[:, None], picked.shape), picked, picked_miss)
        cand[rows, :kk] = np.where(valid, reps[picked], -1)
        dist[rows, :kk] = np.where(valid, km, np.nan)
        guessed[rows, :kk] = valid & picked_miss
        return alone

    def dist_of(rows: np.ndarray, cols: np.ndarray, miss: np.ndarray) -> np.ndarray:
        """The haversine distance of customers ``rows`` to reps at ``cols`` (pairwise), the
        assumed distance where a coordinate is missing."""
        d = haversine_km(cust.lat[rows], cust.lon[rows], r_lat[cols], r_lon[cols])
        return np.where(miss, s.default_distance_km, d)

    def dense(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Every rep of ``cols`` (ascending) for each customer of ``rows``."""
        return np.broadcast_to(cols, (len(rows), len(cols)))

    def nearby(
        rows: np.ndarray, cols: np.ndarray, with_current: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """For customers ``rows`` (with coordinates), the reps of ``cols`` (positions in
        ``reps``, ascending, each of which may visit them) that can be among their
        candidates: every one within reach at most as far as the ``k``-th nearest, every
        one without coordinates, and the current rep (given ``with_current``, whether a rep
        may be taken as the current one; ``None``: any rep). The candidates among these are
        those among all ``cols``: the others are farther than ``k`` reps that may visit or
        out of reach. A k-d tree of the reps' homes finds them; returns the reps per
        customer (as :func:`choose` takes them) and which customers they were found for
        (more than ``k + _SPARE`` reps tied in distance leave a customer to the full
        search), or ``None`` when ``cols`` is too few for a search to pay."""
        from scipy.spatial import cKDTree

        homes = cols[r_located[cols]]
        unplaced = cols[~r_located[cols]]
        q = k + _SPARE
        if len(homes) <= q or len(unplaced) > q:
            return None  # few reps, or many without a home that every customer must meet
        d, j = cKDTree(r_xyz[homes], balanced_tree=False).query(
            c_xyz[rows], k=q, distance_upper_bound=reach_chord
        )
        # as far as the k-th nearest (a margin over the tree's rounding), within reach
        radius = np.minimum(d[:, k - 1], reach_chord) * (1.0 + 1e-6)
        found = d[:, -1] > radius
        pick = np.where(d <= radius[:, None], homes[np.minimum(j, len(homes) - 1)], -1)
        out = np.concatenate([pick, np.broadcast_to(unplaced, (len(rows), len(unplaced)))], 1)
        cur = current[rows]
        if with_current is not None:
            cur = np.where((cur >= 0) & with_current[np.maximum(cur, 0)], cur, -1)
        # the current rep once (it may be among the others already)
        cur = np.where((out == cur[:, None]).any(axis=1), -1, cur)
        out = np.concatenate([out, cur[:, None]], axis=1)
        # ascending along each row, the empty places last
        out = np.sort(np.where(out < 0, len(reps), out), axis=1)
        out[out == len(reps)] = -1
        return out, found

    def search(
        members: np.ndarray, cols: np.ndarray, with_current: np.ndarray | None, *, orphans: bool
    ) -> np.ndarray:
        """:func:`choose` for customers ``members`` among reps ``cols`` (ascending, every
        one allowed to visit them; ``with_current`` as :func:`nearby`'s; for a regional
        search the customers' own current reps join ``cols``), a chunk at a time; returns
        the customers left without a candidate."""
        alone = np.zeros(len(members), bool)
        left = np.ones(len(members), bool)  # the customers the full search takes
        located = np.flatnonzero(c_located[members])
        wide = chunk * 16  # customers per search of the tree: memory stays bounded
        for lo in range(0, len(located), wide):
            found = nearby(members[located[lo : lo + wide]], cols, with_current)
            if found is None:
                break
            near_cols, ok = found
            at = located[lo : lo + wide][ok]
            left[at] = False
            alone[at] = choose(members[at], near_cols[ok], min(k, len(cols)), orphans=orphans)
        rest = np.flatnonzero(left)
        for lo in range(0, len(rest), chunk):
            at = rest[lo : lo + chunk]
            rows = members[at]
            if orphans:
                full = cols
            else:
                cur = current[rows]
                full = np.union1d(cols, cur[cur >= 0])
            if len(full):
                alone[at] = choose(rows, dense(rows, full), min(k, len(full)), orphans=orphans)
            else:
                alone[at] = True
        return alone

    reach = _reach(cust, c_xyz, c_code, reps, r_lat, r_lon, r_code, r_national, team.n, s, c2_max)
    # customers by region and by the roles that may visit them: each group is compared
    # with the reps of those roles only (a key account manager with the customers whose
    # band names key accounts, not with every customer)
    # the patterns numbered densely (in their order), so that region times pattern fits
    # in 64 bits whatever the number of roles
    pattern = np.unique(_row_codes(role_ok), return_inverse=True)[1].reshape(-1)
    group = c_code * (int(pattern.max(initial=0)) + 1) + pattern
    todo = np.arange(n) if wanted is None else np.flatnonzero(wanted)
    todo = todo[np.argsort(group[todo], kind="stable")]
    starts = np.flatnonzero(np.diff(group[todo])) + 1
    for members in np.split(todo, starts) if len(todo) else []:
        allowed = role_ok[members[0], role_of[reps]]
        own = np.flatnonzero(((r_code == c_code[members[0]]) | r_national) & allowed)
        everyone = np.flatnonzero(allowed)
        alone = search(members, own, None, orphans=False)
        if alone.any() and len(everyone):
            search(members[alone], everyone, allowed, orphans=True)
    return cand, dist, guessed, reach


def _reach(
    cust: CustomerFrame,
    c_xyz: np.ndarray,
    c_code: np.ndarray,
    reps: np.ndarray,
    r_lat: np.ndarray,
    r_lon: np.ndarray,
    r_code: np.ndarray,
    r_national: np.ndarray,
    n_team: int,
    s: CoverageSettings,
    c2_max: float,
) -> np.ndarray:
    """Per rep of the team (positions ``reps`` are the visiting ones): whether a customer
    of its region (any customer, for a rep without a region) lives within
    ``max_travel_km`` of its home, whatever its tier; a missing coordinate counts at
    ``default_distance_km``.

    The nearest customer of each rep is found on a k-d tree of the customers' points (unit
    vectors); a rep whose nearest customer lies within rounding of the limit is decided
    pair by pair, the haversine deciding at the edge as in the candidates.
    """
    from scipy.spatial import cKDTree

    r_xyz = _unit_xyz(r_lat, r_lon)
    reach = np.zeros(n_team, dtype=bool)
    default_near = s.default_distance_km <= s.max_travel_km
    located = np.isfinite(c_xyz).all(axis=1)
    r_located = np.isfinite(r_xyz).all(axis=1)
    r_lo, r_hi = np.sqrt(c2_max * (1 - _EDGE)), np.sqrt(c2_max * (1 + _EDGE))

    def mark(js: np.ndarray, members: np.ndarray) -> None:
        if not len(js) or not len(members):
            return
        pts = members[located[members]]
        # a customer or rep without coordinates is at the assumed distance
        out = np.full(len(js), default_near and (len(pts) < len(members)))
        out |= default_near & ~r_located[js]
        at = np.flatnonzero(r_located[js] & ~out)
        if len(at) and len(pts):
            # unbalanced: quicker to build, and a nearest distance is the same
            tree = cKDTree(c_xyz[pts], balanced_tree=False, compact_nodes=False)
            nearest, _ = tree.query(r_xyz[js[at]], k=1, distance_upper_bound=r_hi)
            out[at] = nearest <= r_lo
            for i in np.flatnonzero((nearest > r_lo) & (nearest <= r_hi)):
                j = js[at[i]]  # a customer within rounding of the limit
                c2 = _chord2_between(c_xyz[pts], r_xyz[j : j + 1])[:, 0]
                home = (r_lat[j : j + 1], r_lon[j : j + 1])

                def km_at(
                    e: tuple[np.ndarray, ...], home: tuple[np.ndarray, np.ndarray] = home
                ) -> np.ndarray:
                    return haversine_km(cust.lat[pts[e[0]]], cust.lon[pts[e[0]]], *home)

                near = _within(c2, c2_max, km_at, s.max_travel_km)
                out[at[i]] = bool(near.any())
        reach[reps[js]] = out

    # regional reps: the customers of their region
    order = np.argsort(c_code, kind="stable")
    starts = np.flatnonzero(np.diff(c_code[order])) + 1
    for members in np.split(order, starts) if len(order) else []:
        mark(np.flatnonzero(~r_national & (r_code == c_code[members[0]])), members)
    # reps without a region: every customer
    mark(np.flatnonzero(r_national), np.arange(cust.n))
    return reach


def _keeps(change: TeamChange, team: Team) -> bool:
    """Whether the earlier candidates can carry over to ``team``: a reps file, and a change
    that describes this team and the earlier one."""
    return (
        not team.assumed
        and len(change.origin) == team.n
        and len(change.before.reach) == len(change.new_index)
    )


def _changed_candidates(
    cust: CustomerFrame,
    team: Team,
    visit_rep: np.ndarray,
    role_ok: np.ndarray,
    role_of: np.ndarray,
    s: CoverageSettings,
    change: TeamChange,
    wanted: np.ndarray,
) -> tuple[Candidates, np.ndarray]:
    """The candidates on a changed team from those of the earlier team.

    A customer none of whose candidates was removed or copied has the same candidates:
    removing a rep it does not have leaves its nearest ones, and a copy of a rep stands
    where that rep stands, after it in rep order, so it comes in only where that rep is a
    candidate. Those customers' candidates are renumbered; the others' are looked for
    again among the changed team. A rep reaches its region where the rep it stands in for
    does. Returns the candidates and which customers' were looked for again.
    """
    before = change.before
    hit = np.asarray(np.isin(before.rep, change.touched).any(axis=1), bool)
    rep = np.where(before.rep >= 0, change.new_index[np.maximum(before.rep, 0)], -1)
    km, guessed = before.km.copy(), before.guessed.copy()
    rows = np.flatnonzero(hit)
    if len(rows):
        found = _candidates(
            cust.take(rows), team, visit_rep, role_ok[rows], role_of, s, wanted=wanted[rows]
        )
        rep[rows], km[rows], guessed[rows] = found[0], found[1], found[2]
    return Candidates(rep, km, guessed, before.reach[change.origin]), hit


#: Reps beyond the ``candidate_reps`` nearest that the k-d tree search of the candidates
#: returns, to see that no more are tied with the last candidate.
_SPARE = 8

#: Squared chords within this relative distance of the travel limit's are decided by the
#: haversine (the chord and the haversine round differently).
_EDGE = 1e-9


def _within(
    c2: np.ndarray,
    c2_max: float,
    km_at: Callable[[tuple[np.ndarray, ...]], np.ndarray],
    limit_km: float,
) -> np.ndarray:
    """Whether each squared chord ``c2`` is within the travel limit (``c2_max`` its squared
    chord, ``limit_km`` the limit): by the chord, and within rounding of the limit by the
    haversine distance ``km_at`` gives for those entries (their ``np.nonzero`` indices), as
    it does for the distances kept."""
    near = c2 <= c2_max
    edge = np.nonzero(np.abs(c2 - c2_max) <= _EDGE * c2_max)
    if len(edge[0]):
        near[edge] = km_at(edge) <= limit_km
    return near


def _unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points as unit vectors (rows of x, y, z; NaN where a coordinate is missing)."""
    p, q = np.radians(np.asarray(lat, np.float64)), np.radians(np.asarray(lon, np.float64))
    return np.stack([np.cos(p) * np.cos(q), np.cos(p) * np.sin(q), np.sin(p)], axis=1)


def _chord2(km: float) -> float:
    """The squared chord on the unit sphere of a great-circle distance in km."""
    return float((2.0 * np.sin(min(km / _EARTH_KM, np.pi) / 2.0)) ** 2)


def _chord2_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared chords between every point of ``a`` and every point of ``b`` (unit
    vectors, rows); NaN where either point is missing.

    Examples
    --------
    >>> a = _unit_xyz(np.array([51.5]), np.array([-0.13]))
    >>> b = _unit_xyz(np.array([52.49]), np.array([-1.89]))
    >>> c = float(_chord2_between(a, b)[0, 0])
    >>> round(2 * _EARTH_KM * float(np.arcsin(np.sqrt(c) / 2)), 6) == round(float(
    ...     haversine_km(np.array(51.5), np.array(-0.13), np.array(52.49),
    ...                  np.array(-1.89))), 6)
    True
    """
    out = np.subtract.outer(a[:, 0], b[:, 0])
    out *= out
    for j in (1, 2):
        diff = np.subtract.outer(a[:, j], b[:, j])
        diff *= diff
        out += diff
    return out


def _row_codes(flags: np.ndarray) -> np.ndarray:
    """One integer per row of a boolean matrix, equal for equal rows only.

    Examples
    --------
    >>> _row_codes(np.array([[True, False], [False, False], [True, False]])).tolist()
    [1, 0, 1]
    """
    if flags.shape[1] < 63:
        code = np.zeros(flags.shape[0], np.int64)
        for j in range(flags.shape[1]):
            code |= flags[:, j].astype(np.int64) << j
        return code
    _, code = np.unique(flags, axis=0, return_inverse=True)
    return np.asarray(code, np.int64).reshape(-1)


def _chord2_pairs(a: np.ndarray, b: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Squared chords between each point of ``a`` (unit vectors, rows) and the points of
    ``b`` at ``at`` (a row of positions per point of ``a``): the arithmetic of
    :func:`_chord2_between`, pair by pair, so the same pairs give the same bits."""
    out = a[:, 0, None] - b[:, 0][at]
    out *= out
    for j in (1, 2):
        diff = a[:, j, None] - b[:, j][at]
        diff *= diff
        out += diff
    return out


def _smallest(key: np.ndarray, k: int) -> np.ndarray:
    """Per row of ``key``, the column positions of its ``k`` smallest values in ascending
    order, ties by position: the first ``k`` of a stable sort of each row, found without
    sorting the whole row (the ``k``-th smallest value by partition; only the ``k`` chosen
    entries are sorted).

    Examples
    --------
    >>> _smallest(np.array([[3.0, 1.0, 2.0, 1.0], [np.inf, 5.0, np.inf, np.inf]]), 2).tolist()
    [[1, 3], [1, 0]]
    """
    rows, m = key.shape
    if k >= m:
        return np.argsort(key, axis=1, kind="stable")[:, :k]
    if k == 0 or rows == 0:
        return np.zeros((rows, k), dtype=np.int64)
    kth = np.partition(key, k - 1, axis=1)[:, k - 1 : k]
    take = key < kth
    # of the entries equal to the k-th value, the first ones by position fill the rest
    tied = key == kth
    room = k - take.sum(axis=1)
    # rows with more such entries than places (only those need counting along the row)
    crowded = np.flatnonzero(tied.sum(axis=1) > room)
    if len(crowded):
        sub = tied[crowded]
        take[crowded] |= sub & (np.cumsum(sub, axis=1) <= room[crowded, None])
        tied[crowded] = False
    take |= tied
    picked = np.nonzero(take)[1].reshape(rows, k)  # row-major: positions ascending
    picked_key = np.take_along_axis(key, picked, axis=1)
    within = np.argsort(picked_key, axis=1, kind="stable")
    return np.take_along_axis(picked, within, axis=1)


@dataclass(frozen=True)
class _Bands:
    """What the tiers' programmes allow each customer: visit minimum and maximum, the
    kinds of option (by :data:`CHANNEL_KINDS` name), the rep roles that may visit it
    (``role_ok``, customers × roles; ``role_idx`` each rep's role), and which reps visit
    and which call."""

    vmin: np.ndarray
    vmax: np.ndarray
    allow: dict[str, np.ndarray]
    role_ok: np.ndarray
    role_idx: np.ndarray
    visit_rep: np.ndarray
    call_rep: np.ndarray


def _bands(
    cust: CustomerFrame,
    team: Team,
    s: CoverageSettings,
    programmes: Mapping[str, TierProgramme],
    released: np.ndarray | None,
) -> _Bands:
    n = cust.n
    kinds = {k: s.channel_of(k) for k in CHANNEL_KINDS}
    bands = _allowed_channels(s, programmes)
    # each customer's tier as an index into the bands (their number: no band), so that a
    # value per tier is looked up with numpy rather than customer by customer in Python
    tier_code = positions(cust.tier, list(bands), missing=len(bands))

    def tier_map(fn) -> np.ndarray:  # type: ignore[no-untyped-def]
        return np.array([*(fn(t) for t in bands), fn(None)])[tier_code]

    free = np.zeros(n, dtype=bool) if released is None else np.asarray(released, dtype=bool)
    vmin = tier_map(lambda t: programmes[t].visits_min if t else 0.0).astype(np.float64)
    vmin = np.where(free, 0.0, vmin)
    vmax = tier_map(lambda t: programmes[t].visits_max if t else np.inf).astype(np.float64)

    def allow(kind: str) -> np.ndarray:
        name = kinds[kind]
        if name is None:
            return np.zeros(n, dtype=bool)
        return tier_map(lambda t: name in bands[t][0] if t else True).astype(bool) | free

    # rep roles each customer's tier lets visit: those named in the band, else every one
    roles = sorted({str(r) for r in team.role})
    role_ok_by_role = {
        r: tier_map(lambda t, r=r: (r in bands[t][1]) if (t and bands[t][1]) else True).astype(bool)
        for r in roles
    }
    role_idx = np.array([roles.index(str(r)) for r in team.role], dtype=np.int64)
    role_ok = (
        np.stack([role_ok_by_role[r] for r in roles], axis=1) if roles else np.zeros((n, 0), bool)
    )
    return _Bands(
        vmin=vmin,
        vmax=vmax,
        allow={k: allow(k) for k in CHANNEL_KINDS},
        role_ok=role_ok,
        role_idx=role_idx,
        visit_rep=np.isin(team.role.astype(str), s.visit_roles),
        call_rep=np.isin(team.role.astype(str), s.call_roles),
    )


def find_candidates(
    cust: CustomerFrame,
    team: Team,
    s: CoverageSettings,
    programmes: Mapping[str, TierProgramme],
    *,
    released: np.ndarray | None = None,
) -> Candidates:
    """The candidate reps :func:`build_menu` finds for ``cust`` (given it as
    ``candidates``, it does not look again). Reads the customers' places, regions, tiers
    and current reps, not their response or wallet.
    """
    b = _bands(cust, team, s, programmes, released)
    return Candidates(
        *_candidates(cust, team, b.visit_rep, b.role_ok, b.role_idx, s, wanted=b.allow["visit"])
    )


def build_menu(
    cust: CustomerFrame,
    team: Team,
    s: CoverageSettings,
    programmes: Mapping[str, TierProgramme],
    *,
    tier_setting: str = "[segments.programmes]",
    released: np.ndarray | None = None,
    change: TeamChange | None = None,
    lean: bool = False,
    described: bool = False,
    base: MenuBuild | None = None,
    candidates: Candidates | None = None,
    keep: KeptChoice | None = None,
    winback: np.ndarray | None = None,
) -> MenuBuild:
    """Every customer's options; see the module text.

    Parameters
    ----------
    cust
        The customers and prospects.
    team
        The reps (visiting roles make visits, calling roles are pooled per region).
    s
        The ``[coverage]`` section.
    programmes
        Tier → programme (channel band, visit band) from the segments stage. A customer
        whose tier has no programme is unconstrained.
    tier_setting
        How the programmes are named in messages.
    released
        Customers not held to their tier's visit minimum and channel band (``[coverage]
        band_released_status``); they keep the band's visit maximum.
    change
        ``team`` as a change of the team of an earlier menu of the same customers and
        settings (reps removed, or copies of reps added at the end): the candidates of
        customers none of whose candidates was removed or copied are kept, and only the
        others' are looked for again (the same candidates as a build from scratch).
    lean
        Build only what solving the plan and summing it up reads: ``menu``, ``kind``,
        ``contribution`` and the resources; ``channel``, ``visits``, ``calls``,
        ``emails``, ``rep``, ``pool``, ``distance_km``, ``contact_hours``,
        ``travel_hours`` and ``revenue`` are left empty (``menu.hours`` holds each
        option's contact plus travel hours) and ``candidates`` is ``None``. A menu has
        some 15 options a customer, each of these arrays 8 bytes an option.
    described
        With ``lean``: keep ``rep``, ``distance_km``, ``level`` and ``candidates`` too,
        what :meth:`MenuBuild.chosen` reads to describe the options a plan chose.
    base
        With ``change`` and ``lean`` (not ``described``): the earlier menu (built with its
        ``rep``, e.g. ``described``). The options of customers whose candidates carried
        over are taken from it (the same options, their reps renumbered) and only the
        others' are figured: the same menu as a build from scratch.
    candidates
        The customers' candidate reps when already found (:func:`find_candidates` with the
        same customers, team, settings, programmes and ``released``).
    keep
        Each customer's channel and frequency in the previous plan: its other options are
        charged ``plan_stability_bonus`` (when that option is on its menu).
    winback
        Customers to be given at least a win-back contact: no "no contact" option, and no
        e-mail when a call or a visit can reach them (dormant accounts of
        ``winback_tiers``).

    Raises
    ------
    InfeasiblePlanError
        A customer is left without any option (its tier's band asks for visits no rep can
        make, or allows no channel the settings offer); the message names the tier, the
        customer and the setting.

    Examples
    --------
    >>> from tierwise.settings.segments import SegmentSettings
    >>> t = Team(np.array(["R1"], object), np.array(["field"], object), np.array([1600.0]),
    ...          np.array(["N"], object), np.array([52.0]), np.array([0.0]), np.array([1]))
    >>> c = CustomerFrame(np.array(["a"], object), np.array(["B"], object),
    ...     np.array(["silver"], object), np.array(["N"], object), np.array(["R1"], object),
    ...     np.array([52.5]), np.array([0.0]), np.array([10_000.0]), np.array([0.3]),
    ...     np.array([False]), np.array([0.2]), np.array([0.5]), np.array([1.0]),
    ...     np.array([3.0]))
    >>> b = build_menu(c, t, CoverageSettings(), SegmentSettings().programmes)
    >>> sorted(set(b.channel.tolist()))   # silver: field 2-6 visits a year only
    ['field']
    >>> b.visits.tolist()
    [2.0, 3.0, 4.0, 6.0]
    >>> round(float(b.distance_km[0]), 1), round(float(b.travel_hours[0] / 2), 2)
    (55.6, 2.41)
    """
    n = cust.n
    kinds = {k: s.channel_of(k) for k in CHANNEL_KINDS}
    b = _bands(cust, team, s, programmes, released)
    vmin, vmax, b_allow = b.vmin, b.vmax, b.allow
    allow_visit = b_allow["visit"]
    visit_rep, call_rep, role_ok, role_idx = b.visit_rep, b.call_rep, b.role_ok, b.role_idx
    # customers whose candidates were looked for again (None: every customer's were)
    hit: np.ndarray | None = None
    if candidates is not None:
        if candidates.rep.shape != (n, s.candidate_reps) or len(candidates.reach) != team.n:
            raise ValueError("candidates: not found for these customers, team and settings")
        found = candidates
    elif (
        change is not None
        and _keeps(change, team)
        and change.before.rep.shape == (n, s.candidate_reps)
    ):
        found, hit = _changed_candidates(
            cust, team, visit_rep, role_ok, role_idx, s, change, allow_visit
        )
    else:
        found = Candidates(
            *_candidates(cust, team, visit_rep, role_ok, role_idx, s, wanted=allow_visit)
        )
    del role_ok, b
    cand, dist, guessed, reach = found.rep, found.km, found.guessed, found.reach
    cand = np.where(allow_visit[:, None], cand, -1)

    pool_names, pool_members, cust_pool = _pools(cust, team, call_rep)

    # resources: reps that are a candidate somewhere, then the pools
    used_reps = np.unique(cand[cand >= 0])
    res_of_rep = np.full(team.n, -1, dtype=np.int64)
    res_of_rep[used_reps] = np.arange(len(used_reps))
    capacity = np.concatenate(
        [team.hours[used_reps], [float(team.hours[m].sum()) for m in pool_members]]
    ).astype(np.float64)
    resource_names = [str(team.ids[r]) for r in used_reps] + pool_names
    pool_res0 = len(used_reps)
    unlimited = ~np.isfinite(capacity)  # a resource without a limit is no constraint

    # a lean menu of a changed team takes the options of the customers whose candidates
    # carried over from ``base`` (the same options in the same order, their reps
    # renumbered), and figures only the others'
    derive = (
        base is not None
        and hit is not None
        and change is not None
        and lean
        and not described
        and base.menu.n_customers == n
        and base.rep.shape == base.kind.shape == (base.menu.n_options,)
        and np.array_equal(base.customer_pool, cust_pool)
    )

    # each option: (customers offered it, kind, contacts a year, candidate column or -1);
    # a customer's options in this order
    no_min = vmin <= 0
    allow = b_allow
    em = allow["email"] & no_min & (len(s.email_levels) > 0)
    ca = allow["call"] & no_min & (cust_pool >= 0) & (len(s.call_levels) > 0)
    visit_specs: list[tuple[np.ndarray, int, float, int]] = []
    for lvl in _levels(s, programmes):
        in_band = (vmin <= lvl + 1e-9) & (lvl <= vmax + 1e-9)
        visit_specs += [
            (in_band & (cand[:, k] >= 0), 3, float(lvl), k) for k in range(cand.shape[1])
        ]
    no_contact = allow["none"] & no_min
    if winback is not None:
        # a win-back contact at least: a call or a visit where one can reach the customer,
        # else an e-mail; no contact only where nothing else is on offer
        wb = np.asarray(winback, dtype=bool)
        direct = ca.copy()
        for offered, *_ in visit_specs:
            direct |= offered
        em = em & ~(wb & direct)
        no_contact = no_contact & ~(wb & (direct | em))
    specs: list[tuple[np.ndarray, int, float, int]] = [(no_contact, 0, 0.0, -1)]
    specs += [(em, 1, float(lvl), -1) for lvl in s.email_levels]
    specs += [(ca, 2, float(lvl), -1) for lvl in s.call_levels]
    specs += visit_specs
    del visit_specs

    counts = np.zeros(n, np.int64)
    for offered, *_ in specs:
        counts += offered
    if (counts == 0).any():
        i = int(np.flatnonzero(counts == 0)[0])
        tier_text = np.asarray(string_array(cust.tier).to_pylist(), dtype=object)
        raise InfeasiblePlanError(
            _no_option_message(i, cust, tier_text, vmin, s, kinds, tier_setting)
        )
    current = _current_rep_index(cust, team)
    # the customers whose options are figured here: all, or when derived from ``base`` those
    # whose candidates were looked for again, whose current rep did not carry over (a
    # copy's index can take an id the current rep had: the stability bonus then differs)
    # and, should the bands differ, whose number of options did
    fresh = np.ones(n, bool)
    b_first = np.zeros(0, np.int64)
    if derive:
        assert base is not None and change is not None and hit is not None
        b_cur = base.current_rep
        carried = np.where(b_cur >= 0, change.new_index[np.maximum(b_cur, 0)], -1)
        b_first = np.searchsorted(base.menu.customer, np.arange(n + 1), side="left")
        fresh = hit | (carried != current) | (np.diff(b_first) != counts)
    # the options figured here, laid out customer by customer: each spec's customers
    # written at their next free place (the order a stable sort by customer of the specs'
    # options, one after the other, gives)
    f_counts = np.where(fresh, counts, 0)
    m = int(f_counts.sum())
    nxt = np.cumsum(f_counts) - f_counts
    customer = np.empty(m, np.int64)
    kind = np.empty(m, np.int8)  # 4 kinds: a byte an option
    level = np.empty(m, np.float64)
    rep = np.empty(m, np.int64)
    km_all = np.empty(m, np.float64)
    for offered, k_, lvl, col in specs:
        cs = np.flatnonzero(offered & fresh)
        at = nxt[cs]
        customer[at] = cs
        kind[at] = k_
        level[at] = lvl
        rep[at] = cand[cs, col] if col >= 0 else -1
        km_all[at] = dist[cs, col] if col >= 0 else np.nan
        nxt[cs] += 1
    del specs, nxt, cs, at, no_min, em, ca

    has_current = np.zeros(n, dtype=bool)
    # the previous plan's option (channel and frequency) of each customer, when on its menu
    k_kind = np.full(n, -1, np.int64) if keep is None else np.asarray(keep.kind, np.int64)
    k_level = np.zeros(n) if keep is None else np.asarray(keep.level, np.float64)
    has_kept = np.zeros(n, dtype=bool)
    for sl in _chunks(m):
        o_rep, o_cust = rep[sl], customer[sl]
        has_current[o_cust[(o_rep >= 0) & (o_rep == current[o_cust])]] = True
        same = (kind[sl] == k_kind[o_cust]) & (np.abs(level[sl] - k_level[o_cust]) < 1e-9)
        has_kept[o_cust[same]] = True
    # each option's figures, a slice of options at a time: element by element the same
    # arithmetic as on whole arrays, without a dozen whole-menu temporaries alive at once
    eff = s.effectiveness
    minutes = s.minutes_per_contact
    cost = s.cost_per_contact
    contribution, value, hours = (np.empty(m, np.float64) for _ in range(3))
    # what only describes the options (not read to solve the plan): left empty when lean,
    # and but for the distances when described
    full = m if not lean else 0
    travel, contact_h, revenue = (np.empty(full, np.float64) for _ in range(3))
    distance = np.empty(m if not lean or described else 0, np.float64)
    for sl in _chunks(m):
        o_kind, o_cust, o_rep = kind[sl], customer[sl], rep[sl]
        v, ca, em = _contacts(o_kind, level[sl])
        km = np.where(np.isnan(km_all[sl]), 0.0, km_all[sl])
        road_km = 2.0 * km * s.road_factor
        trav = v * road_km / s.travel_speed_kmh
        cont = (v * minutes["visit"] + ca * minutes["call"] + em * minutes["email"]) / 60.0
        effort = v * eff["visit"] + ca * eff["call"] + em * eff["email"]
        rev = response(
            cust.wallet[o_cust],
            cust.s0[o_cust],
            cust.s1[o_cust],
            cust.c[o_cust],
            cust.d[o_cust],
            effort,
        )
        spend = (
            v * (cost["visit"] + road_km * s.cost_per_km) + ca * cost["call"] + em * cost["email"]
        )
        contribution[sl] = cust.margin_rate[o_cust] * rev - spend
        keeps = (o_rep >= 0) & (o_rep == current[o_cust])
        moves = (o_rep >= 0) & ~keeps & has_current[o_cust]
        same = (o_kind == k_kind[o_cust]) & (np.abs(level[sl] - k_level[o_cust]) < 1e-9)
        value[sl] = (
            contribution[sl]
            - np.where(moves, s.stability_bonus, 0.0)
            - np.where(has_kept[o_cust] & ~same, s.plan_stability_bonus, 0.0)
        )
        hours[sl] = cont + trav
        if not lean:
            travel[sl], contact_h[sl], revenue[sl] = trav, cont, rev
        if not lean or described:
            distance[sl] = np.where(o_rep >= 0, km, np.nan)
    del km_all
    if derive:
        assert base is not None and change is not None
        customer, kind, rep, contribution, value, hours = _with_base(
            base,
            b_first,
            change.new_index,
            counts,
            fresh,
            (customer, kind, rep, contribution, value, hours),
        )
        m = len(customer)
    resource = np.empty(m, np.int64)
    for sl in _chunks(m):
        o_rep, o_cust = rep[sl], customer[sl]
        o_pool = np.where(kind[sl] == 2, cust_pool[o_cust], -1)
        res = np.where(
            o_rep >= 0,
            res_of_rep[np.maximum(o_rep, 0)],
            np.where(o_pool >= 0, pool_res0 + o_pool, -1),
        )
        if unlimited.any():
            res = np.where((res >= 0) & unlimited[np.maximum(res, 0)], -1, res)
        resource[sl] = res
    if unlimited.any():
        capacity = np.where(unlimited, 0.0, capacity)
    names = np.array([kinds[k] or k for k in CHANNEL_KINDS], dtype=object)
    menu = Menu(
        customer=customer,
        value=value,
        hours=hours,
        resource=resource,
        n_customers=n,
    )
    per_rep = np.zeros(team.n, dtype=np.int64)
    if team.n:
        flat = cand[cand >= 0]
        per_rep = np.bincount(flat, minlength=team.n)
    none = np.zeros(0)
    if not lean:
        visits, calls, emails = _contacts(kind, level)
        pool = np.where(kind == 2, cust_pool[customer], -1)
    return MenuBuild(
        menu=menu,
        capacity=capacity,
        resource_names=resource_names,
        resource_rep=used_reps,
        pool_names=pool_names,
        pool_members=pool_members,
        kind=kind,
        channel=names[kind] if not lean else none.astype(object),
        visits=visits if not lean else none,
        calls=calls if not lean else none,
        emails=emails if not lean else none,
        rep=rep if not lean or described else none.astype(np.int64),
        pool=pool if not lean else none.astype(np.int64),
        distance_km=distance,
        contact_hours=contact_h,
        travel_hours=travel,
        revenue=revenue,
        contribution=contribution,
        team=team,
        assumed_distance=int(guessed.any(axis=1).sum()),
        candidates_per_rep=per_rep,
        reaches_region=reach,
        current_rep=current,
        candidates=found if not lean or described else None,
        level=level if not lean or described else none,
        customer_pool=cust_pool,
        fresh=fresh if derive else None,
    )


def _with_base(
    base: MenuBuild,
    b_first: np.ndarray,
    new_index: np.ndarray,
    counts: np.ndarray,
    fresh: np.ndarray,
    figured: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, ...]:
    """The options of a changed team's menu: those ``figured`` (customer, kind, rep,
    contribution, value, hours of the customers ``fresh``, in customer order) and the
    ``base`` menu's of the other customers (each customer's first option at ``b_first``,
    the same number as ``counts``; their reps renumbered by ``new_index``), each
    customer's at its place among ``counts`` options a customer.

    The customers between two fresh ones keep their options in one run, copied as a slice.
    """
    n = len(counts)
    start = np.r_[0, np.cumsum(counts)]
    out = tuple(np.empty(int(start[-1]), a.dtype) for a in figured)
    f_cust = figured[0]
    if len(f_cust):
        f_counts = np.where(fresh, counts, 0)
        f_first = np.cumsum(f_counts) - f_counts
        at = start[f_cust] + (np.arange(len(f_cust)) - f_first[f_cust])
        for o, a in zip(out, figured, strict=True):
            o[at] = a
        del at
    sources = (
        base.menu.customer,
        base.kind,
        base.rep,
        base.contribution,
        base.menu.value,
        base.menu.hours,
    )
    # runs of customers not fresh: [lo, hi)
    cut = np.flatnonzero(fresh)
    for lo, hi in zip(np.r_[0, cut + 1], np.r_[cut, n], strict=True):
        if hi <= lo:
            continue
        src, dst = slice(b_first[lo], b_first[hi]), slice(start[lo], start[hi])
        for i, (o, a) in enumerate(zip(out, sources, strict=True)):
            if i == 2:  # the reps renumbered
                x = a[src]
                o[dst] = np.where(x >= 0, new_index[np.maximum(x, 0)], -1)
            else:
                o[dst] = a[src]
    return out


def _pools(
    cust: CustomerFrame, team: Team, call_rep: np.ndarray
) -> tuple[list[str], list[np.ndarray], np.ndarray]:
    """The inside pools (per region when the inside reps have regions): their names,
    members and each customer's pool (-1 without one).

    A customer of a region without an inside rep of its own, or of no region, is called
    by the inside reps without a region; when every inside rep has one, the whole inside
    team is one pool.
    """
    pool_names: list[str] = []
    pool_members: list[np.ndarray] = []
    cust_pool = np.full(cust.n, -1, dtype=np.int64)
    calling = np.flatnonzero(call_rep)
    if not len(calling):
        return pool_names, pool_members, cust_pool
    regions = team.region[calling]
    regional = sorted({str(r) for r in regions if r is not None})
    national = calling[np.array([r is None for r in regions])]
    creg = string_array(cust.region)
    cust_regions = {str(r) for r in pc.unique(creg.drop_null()).to_pylist()}
    unserved = not cust_regions <= set(regional) or creg.null_count > 0
    if unserved and not len(national):
        # some region (or a customer without one) has no inside rep of its own: one pool
        # for the whole team
        regional, national = [], calling
    for r in regional:
        members = calling[np.array([x is not None and str(x) == r for x in regions], bool)]
        pool_names.append(f"inside {r}")
        pool_members.append(members)
    if len(national):
        pool_names.append("inside")
        pool_members.append(national)
    nat = len(pool_names) - 1 if len(national) else -1
    cust_pool = positions(creg, regional, missing=nat)
    return pool_names, pool_members, cust_pool


def _contacts(kind: np.ndarray, level: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Visits, calls and e-mails a year of options of ``kind`` with ``level`` contacts."""
    return (
        np.where(kind == 3, level, 0.0),
        np.where(kind == 2, level, 0.0),
        np.where(kind == 1, level, 0.0),
    )


#: options computed at a time by :func:`build_menu`
_CHUNK = 1 << 18


def _chunks(m: int) -> list[slice]:
    return [slice(i, min(i + _CHUNK, m)) for i in range(0, m, _CHUNK)]


def _current_rep_index(cust: CustomerFrame, team: Team) -> np.ndarray:
    return positions(cust.rep, list(team.ids), missing=-1)


def _no_option_message(
    i: int,
    cust: CustomerFrame,
    tiers: np.ndarray,
    vmin: np.ndarray,
    s: CoverageSettings,
    kinds: Mapping[str, str | None],
    tier_setting: str,
) -> str:
    tier = tiers[i]
    who = f"customer {cust.ids[i]}"
    if tier is None:
        return (
            f"{who} has no coverage option: the settings offer no channel for it; "
            "set [coverage] channels"
        )
    if vmin[i] > 0:
        return (
            f"tier {tier}: {who} (region {cust.region[i]}) needs at least {vmin[i]:g} visits a "
            f"year ({tier_setting} {tier} visits_min) but no field rep can visit it (none of "
            f"its region within [coverage] max_travel_km {s.max_travel_km:g} km of a role its "
            "band names); lower visits_min or add a rep for the region"
        )
    offered: Sequence[str] = [k for k in kinds.values() if k]
    return (
        f"tier {tier}: {who} has no coverage option: its channel band ({tier_setting} "
        f"{tier} channels) allows none of the channels on offer ({', '.join(offered)}) with "
        "a rep to make the contacts; widen the band or [coverage] band_channels"
    )
