"""Settings for the coverage stage: channels, contact effectiveness, time and cost per
contact, frequency levels, travel, the response to contact, sizing scenarios and the exact
check."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..schema import fold_text
from ._base import Section, check_statuses, unknown_name

__all__ = ["CONTACTS", "CoverageSettings", "ResponseParams", "rep_role"]


def rep_role(name: str) -> str:
    """A rep's role as the reps file's ``role`` is read and the settings name it, as an
    activity type is (:func:`~tierwise.schema.fold_text`): lower case, without surrounding
    spaces, each run of spaces and hyphens one underscore ("Außendienst " is
    ``außendienst``, "Key Account" is ``key_account``).

    Examples
    --------
    >>> rep_role(" Field "), rep_role("Key_Account"), rep_role("Key Account")
    ('field', 'key_account', 'key_account')
    """
    return fold_text(name)


#: A kind of contact a channel makes.
Contact = Literal["visit", "call", "email", "none"]

#: The kinds of contact a channel makes ("none": the customer is not contacted by us).
CONTACTS = ("visit", "call", "email", "none")
#: the kinds of contact a rep makes (the settings per kind give one value each)
_MADE = CONTACTS[:-1]


class ResponseParams(Section):
    """A segment's response to contact (CALLPLAN, Lodish 1971): expected yearly revenue is
    wallet × (s0 + (s1 − s0) · e^c / (d^c + e^c)), e = effective contacts a year (a visit
    counts 1)."""

    s0: float = Field(ge=0, le=1)
    """Share of the wallet bought with no contact at all; fraction. No default: each
    segment states one."""

    s1: float = Field(ge=0, le=1)
    """Share of the wallet bought at saturation (very many contacts); fraction. No
    default: each segment states one."""

    c: float = Field(gt=0, le=10)
    """Shape: above 1 an S-curve (a few contacts do little), 1 or below concave from the
    first contact; no unit. No default."""

    d: float = Field(gt=0)
    """Effective contacts a year that win half of the way from s0 to s1; contacts a year.
    No default."""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        # "s0=0.4 s1=0.7 c=1.2 d=6.0", the form printed in messages, reads as the table
        if not isinstance(data, str):
            return data
        pairs = [part.split("=", 1) for part in data.replace(",", " ").split()]
        if any(len(p) != 2 for p in pairs):
            raise ValueError(
                f"{data!r}: give a table such as {{s0 = 0.4, s1 = 0.7, c = 1.2, d = 6.0}}"
            )
        return {k.strip(): v.strip() for k, v in pairs}

    @model_validator(mode="after")
    def _order(self) -> ResponseParams:
        if self.s1 < self.s0:
            raise ValueError(f"s1 ({self.s1}) is below s0 ({self.s0})")
        return self


def _default_response() -> dict[str, ResponseParams]:
    return {
        "A": ResponseParams(s0=0.40, s1=0.70, c=1.2, d=6.0),
        "B": ResponseParams(s0=0.25, s1=0.60, c=1.2, d=4.0),
        "C": ResponseParams(s0=0.30, s1=0.45, c=1.0, d=3.0),
        "D": ResponseParams(s0=0.30, s1=0.35, c=1.0, d=2.0),
    }


class CoverageSettings(Section):
    """Who is visited, called or e-mailed, how often and by whom, under the team's hours.

    Each customer and prospect is offered a menu of options — no contact, e-mail levels,
    inside-sales call levels, field visit levels with each of a few candidate reps — valued
    at gross margin × expected revenue from the response to contact minus the cost of the
    contacts; the plan picks one option per customer under each rep's (and the inside
    team's) hours. See docs/coverage.md.
    """

    merged_tables = (
        "band_channels",
        "activity_types",
        "effectiveness",
        "minutes_per_contact",
        "cost_per_contact",
        "response",
        "response_prior_sd",
    )

    # -- channels --------------------------------------------------------------------------

    channels: dict[str, Contact] = Field(
        default_factory=lambda: {  # type: ignore[arg-type, return-value]
            "field": "visit",
            "inside": "call",
            "email": "email",
            "distributor": "none",
        }
    )
    """The plan's channels, each with the contact it makes: "visit" (field reps' visits,
    on their hours), "call" (inside sales' calls, on the inside team's hours), "email" (no
    hours) or "none" (not contacted by us: served through a distributor or the web). A
    channel left out is not offered. At most one channel per kind of contact. Default
    field = "visit", inside = "call", email = "email", distributor = "none"."""

    band_channels: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "key_account": ["field"],
            "field": ["field"],
            "inside": ["inside"],
            "web": ["email", "distributor"],
        }
    )
    """The plan channels each name of a tier's channel band (``[segments.programmes.*]
    channels``) allows. A band name that is a plan channel and not listed here allows that
    channel. The names of a band, here and in ``[terms] route_channels`` are compared with
    the plan's channels and bands as a file's activity types are read: without regard to
    case, spaces and hyphens as underscores ("Key Account" is key_account). Default
    key_account and field → field, inside → inside, web → email and distributor."""

    visit_roles: list[str] = Field(default_factory=lambda: ["field", "key_account"])
    """Rep roles (reps file, ``role``) that make visits, compared without regard to case or
    surrounding spaces, spaces and hyphens as underscores ("Außendienst" is the file's
    "außendienst", "key_account" its "Key Account"). A rep of one of these
    roles visits a customer only when the customer's tier band names its role, or names none
    of these roles. Default ["field", "key_account"]."""

    call_roles: list[str] = Field(default_factory=lambda: ["inside"])
    """Rep roles that make the inside-sales calls (their hours are pooled per region, or for
    the whole team when they have no region), compared as ``visit_roles``. Default
    ["inside"]."""

    activity_types: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "visit": ["visit", "field_visit", "meeting"],
            "call": ["call", "phone_call"],
            "email": ["email"],
        }
    )
    """Activity types (activities file, ``type``) counted as each kind of contact in today's
    coverage, compared as the file's types are read: without regard to case, spaces and
    hyphens as underscores ("Besuch" is ``besuch``, "E-Mail" ``e_mail``). Default visit ←
    visit, field_visit, meeting; call ← call, phone_call; email ← email."""

    # -- contacts --------------------------------------------------------------------------

    effectiveness: dict[str, float] = Field(
        default_factory=lambda: {"visit": 1.0, "call": 0.3, "email": 0.05}
    )
    """Effect of one contact relative to a visit (the effort e adds these up); no unit.
    Default visit 1.0, call 0.3, email 0.05."""

    minutes_per_contact: dict[str, float] = Field(
        default_factory=lambda: {"visit": 60.0, "call": 10.0, "email": 0.0}
    )
    """Rep time per contact, travel excluded; minutes. E-mail uses no rep hours in the
    plan. Default visit 60, call 10, email 0."""

    cost_per_contact: dict[str, float] = Field(
        default_factory=lambda: {"visit": 40.0, "call": 4.0, "email": 0.5}
    )
    """Out-of-pocket cost per contact (rep time is the hours constraint, not a cost);
    currency units per contact. Default visit 40, call 4, email 0.5."""

    cost_per_km: float = Field(default=0.3, ge=0)
    """Travel cost of a visit per road kilometre driven (there and back); currency units per
    km. Default 0.3."""

    visit_levels: list[float] = Field(
        default_factory=lambda: [1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 18.0, 24.0]
    )
    """Visit frequencies offered; visits a year. Default 1, 2, 3, 4, 6, 8, 12, 18, 24."""

    call_levels: list[float] = Field(default_factory=lambda: [2.0, 4.0, 6.0, 12.0, 24.0])
    """Call frequencies offered; calls a year. Default 2, 4, 6, 12, 24."""

    email_levels: list[float] = Field(default_factory=lambda: [4.0, 12.0, 24.0])
    """E-mail frequencies offered; e-mails a year. Default 4, 12, 24."""

    # -- travel ----------------------------------------------------------------------------

    candidate_reps: int = Field(default=3, ge=1)
    """Field reps considered for each customer: its current rep first, then the nearest
    reps of its region (reps without a region serve every region); count. Default 3."""

    travel_speed_kmh: float = Field(default=60.0, gt=0)
    """Average driving speed; km per hour. Default 60."""

    road_factor: float = Field(default=1.3, ge=1)
    """Road distance as a multiple of the straight-line (haversine) distance; no unit.
    Default 1.3."""

    max_travel_km: float = Field(default=300.0, gt=0)
    """A rep is not offered for a customer farther than this from the rep's home
    (straight line); km. Default 300."""

    default_distance_km: float = Field(default=30.0, ge=0)
    """Straight-line distance from a rep's home assumed for a visit when the customer or
    the rep has no coordinates (the warnings and manifest.json ``coverage``
    ``assumed_distance`` count both); km. Default 30."""

    # -- response --------------------------------------------------------------------------

    response: dict[str, ResponseParams] = Field(default_factory=_default_response)
    """Response to contact per value class (judgement, as in CALLPLAN; replaced by an
    estimate from the activity history where ``estimate_response`` allows). Default
    A s0 0.40 s1 0.70 c 1.2 d 6; B s0 0.25 s1 0.60 c 1.2 d 4; C s0 0.30 s1 0.45 c 1.0 d 3;
    D s0 0.30 s1 0.35 c 1.0 d 2."""

    response_default: ResponseParams = Field(
        default_factory=lambda: ResponseParams(s0=0.30, s1=0.50, c=1.0, d=3.0)
    )
    """Response of a customer whose class has no entry in ``response`` (or no class).
    Default s0 0.30, s1 0.50, c 1.0, d 3."""

    default_margin_rate: float = Field(default=0.3, gt=0, le=1)
    """Gross margin rate of the customers when the run has no cost of goods at all (said
    in the warnings); a customer without its own rate gets the base's overall rate;
    fraction. Default 0.3."""

    prospect_s0: float = Field(default=0.0, ge=0, le=1)
    """Share of a prospect's wallet won with no contact; a prospect's wallet counts at its
    lookalike_score (the chance it buys at all); fraction. Default 0."""

    estimate_response: bool = True
    """Estimate s0, s1 and d per value class from the history (revenue per customer and
    half-year against the contacts of that half-year), bounded around the settings, where
    a class has at least ``estimate_min_customers`` customers with contacts. Default
    true."""

    estimate_min_customers: int = Field(default=50, ge=5)
    """Fewest customers of a class with recorded contacts for its response to be
    estimated; customers. Default 50."""

    estimate_half_years: int = Field(default=4, ge=2)
    """Half-years of history used by the estimate (the latest ones before the analysis
    date); count. Default 4."""

    response_prior_sd: dict[str, float] = Field(
        default_factory=lambda: {"s0": 0.1, "s1": 0.1, "c": 0.5, "d": 2.0}
    )
    """How far the settings' response (``response``) may be from the truth, as a standard
    deviation per parameter: an estimate from the history moves a parameter from the
    setting by sd² / (sd² + se²) of the way, se the estimate's standard error (the
    posterior mean under a normal prior around the setting), so that a thin or noisy
    history leaves the setting nearly as it is and the response does not jump from one
    run to the next; a parameter without a standard error keeps the setting. Units of each
    parameter (shares of wallet; no unit; contacts a year). Default s0 0.1, s1 0.1, c 0.5,
    d 2."""

    stability_bonus: float = Field(default=100.0, ge=0)
    """Charged to the visits of a customer by another rep than the one it keeps (when that
    rep can visit it), so that a rep changes only for a real gain: the rep it keeps is its
    field rep in the previous plan (``--previous``), else its current rep (``rep_id``);
    currency units a year. Default 100."""

    plan_stability_bonus: float = Field(default=50.0, ge=0)
    """With a previous plan (``--previous``): charged to every option of a customer but the
    channel and frequency the previous plan gave it (when that option is still on its
    menu), so that a monthly re-run on nearly the same data changes a customer's channel
    or frequency only for a gain above this; currency units a year. 0 plans every run
    afresh. Default 50."""

    winback_tiers: list[str] = Field(default_factory=lambda: ["gold"])
    """Tiers whose dormant accounts (a status of ``band_released_status``) get at least a
    win-back contact: released from the tier's visit minimum, they are still called (or,
    without an inside team within reach, visited or e-mailed) at the plan's lowest
    frequency or more, never left without contact; coverage_reason says "win-back" and
    the warnings count them. [] lets the plan leave them without contact where that pays
    better. Default ["gold"] (with silver as well, the demo's truth check measures the
    same share of the oracle's gain and more spent on companies that have left)."""

    band_released_status: list[str] = Field(default_factory=lambda: ["inactive", "lapsed"])
    """Lifetime statuses (the lifetime stage's ``status``) whose customers are not held to
    their tier's visit minimum and channel band: a dormant account (no order for longer
    than its rhythm or ``[lifetime] inactive_days`` allows) keeps the class its value and
    wallet give it, but is visited only where its response, weighted by P(alive), pays for
    the visit; otherwise it is called, e-mailed or left, and its coverage_reason says so.
    Default ["inactive", "lapsed"]; [] holds every customer to its band; add "at_risk" to
    let the plan drop the minimum of accounts at risk too."""

    # -- sizing, adherence, exact check ----------------------------------------------------

    activity_window_months: int = Field(default=12, ge=1)
    """Today's coverage is the contacts recorded over this many months before the analysis
    date, counted per year; months. Default 12."""

    headcount_scenarios: list[int] = Field(default_factory=lambda: [-2, -1, 0, 1, 2])
    """Field-force sizes tried in sizing.csv, as field reps added (positive) or removed
    (negative) against today's; reps. Removed: the least used first; added: a copy of the
    busiest region's busiest rep. Default [-2, -1, 0, 1, 2]."""

    exact: bool = False
    """Also solve the plan exactly with HiGHS and report the gap (``--exact``); only on
    instances up to ``exact_max_customers``. Default false."""

    exact_max_customers: int = Field(default=2000, ge=1)
    """Largest instance the exact check is run on; customers. Default 2000."""

    time_limit: float = Field(default=60.0, gt=0)
    """Time limit of the exact check; seconds (HiGHS is stopped 2 s and a tenth of the limit
    past it if it has not returned by itself). Default 60."""

    @field_validator("response_prior_sd")
    @classmethod
    def _prior_sd(cls, value: dict[str, float]) -> dict[str, float]:
        for k, v in value.items():
            if k not in ("s0", "s1", "c", "d"):
                raise ValueError(f"{k!r}: the parameters are s0, s1, c and d")
            if not v > 0:
                raise ValueError(f"{k}: a standard deviation above 0 ({v})")
        return value

    @field_validator("activity_types")
    @classmethod
    def _activity_types(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for kind in value:
            if kind not in _MADE:
                raise ValueError(unknown_name(kind, "kind of contact", _MADE))
        return {kind: [fold_text(n) for n in names] for kind, names in value.items()}

    @field_validator("visit_roles", "call_roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        # as the reps file's roles are read (read_team): a role written "Field" or
        # "Außendienst" here is the file's, whatever its case
        return [rep_role(r) for r in value]

    @field_validator("band_released_status")
    @classmethod
    def _statuses(cls, value: list[str]) -> list[str]:
        return check_statuses(value)

    @model_validator(mode="after")
    def _consistent(self) -> CoverageSettings:
        kinds: list[str] = list(self.channels.values())
        for k in CONTACTS:
            if kinds.count(k) > 1:
                raise ValueError(f"channels: more than one channel makes contact {k!r}")
        for name, d in (
            ("effectiveness", self.effectiveness),
            ("minutes_per_contact", self.minutes_per_contact),
            ("cost_per_contact", self.cost_per_contact),
        ):
            for k in d:
                if k not in _MADE:
                    raise ValueError(f"{name}: {unknown_name(k, 'kind of contact', _MADE)}")
            for k in _MADE:
                if k not in d:
                    raise ValueError(f"{name}: give a value for {k!r}")
                if d[k] < 0:
                    raise ValueError(f"{name}: {k} is negative ({d[k]})")
        for name, levels in (
            ("visit_levels", self.visit_levels),
            ("call_levels", self.call_levels),
            ("email_levels", self.email_levels),
        ):
            if any(x <= 0 for x in levels):
                raise ValueError(f"{name}: levels are contacts a year, above 0")
        return self

    def channel_named(self, name: str, *, bands: bool = True) -> str | None:
        """The plan channel or band name (``channels``, ``band_channels``; without
        ``bands``, a plan channel only) that ``name`` gives, as these settings spell it, or
        None when it gives none. Compared as the values of a folded column are
        (:func:`~tierwise.schema.fold_text`): without regard to case or surrounding spaces,
        runs of spaces and hyphens as one underscore.

        Examples
        --------
        >>> s = CoverageSettings()
        >>> s.channel_named(" Field "), s.channel_named("Key Account"), s.channel_named("fax")
        ('field', 'key_account', None)
        """
        key = fold_text(name)
        for known in (*self.channels, *(self.band_channels if bands else ())):
            if fold_text(known) == key:
                return known
        return None

    def channel_of(self, contact: str) -> str | None:
        """The plan channel that makes a kind of contact, or None when none does."""
        for name, kind in self.channels.items():
            if kind == contact:
                return name
        return None
