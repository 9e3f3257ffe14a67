"""Settings for the segments stage: value classes, tiers and their programmes, niches,
stability, quality floors, overrides and the yearly review."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ._base import Section, _plain, check_statuses, merge_with_default

__all__ = ["SegmentSettings", "TierProgramme"]


class TierProgramme(Section):
    """The account-management programme of one tier: what a customer of the tier gets.

    The coverage and terms stages read these: the channel band and visit band bound the
    coverage plan, the terms reference names the tier's trading terms.
    """

    service_level: str
    """What the tier gets, in words a rep can read (e.g. "named account manager, quarterly
    business review"). No default: every programme states one."""

    channels: list[str] = Field(min_length=1)
    """The channel band: the channels the tier may be served through, best first (field,
    key_account, inside, web, distributor). No default: every programme names at least one."""

    visits_min: float = Field(default=0.0, ge=0)
    """Fewest field visits a customer of the tier gets per year; visits per year. Default 0."""

    visits_max: float = Field(default=0.0, ge=0)
    """Most field visits a customer of the tier gets per year; visits per year. Default 0
    (no routine visits)."""

    terms: str = ""
    """Reference of the tier's trading terms (a key of the terms settings). Default "" (the
    standard terms)."""

    @model_validator(mode="after")
    def _band(self) -> TierProgramme:
        if self.visits_max < self.visits_min:
            raise ValueError(
                f"visits_max ({self.visits_max}) is below visits_min ({self.visits_min})"
            )
        return self


def _default_classes() -> dict[str, str]:
    return {
        "A": "protect and grow",
        "B": "develop",
        "C": "serve efficiently",
        "D": "serve at the lowest cost",
    }


def renamed_classes(classes: Any) -> dict[str, str] | None:
    """The built-in classes A, B, C, D each renamed to the class of ``classes`` (a
    ``[segments] classes`` table as given) at its place, best first; ``None`` when the
    table does not give four classes or gives A, B, C, D themselves.

    >>> renamed_classes({"Key": "grow", "Grow": "develop", "Core": "serve", "Tail": "web"})
    {'A': 'Key', 'B': 'Grow', 'C': 'Core', 'D': 'Tail'}
    >>> renamed_classes({"Gold": "grow", "Silver": "develop", "Bronze": "serve"}) is None
    True
    >>> renamed_classes(dict.fromkeys("BACD", "")) is None
    True
    """
    if not isinstance(classes, Mapping):
        return None
    names = [str(c) for c in classes]
    built_in = list(_default_classes())
    # A, B, C, D in another order is no renaming: the order is checked against the grid
    if len(names) != len(built_in) or set(names) == set(built_in):
        return None
    return dict(zip(built_in, names, strict=True))


#: the settings keyed by class that follow four classes renamed by place, (section, field)
FOLLOW_CLASSES = (
    ("segments", "grid"),
    ("segments", "ease_grid"),
    ("segments", "potential_only"),
    ("segments", "hard_to_serve_class"),
    ("segments", "tiers"),
    ("coverage", "response"),
    ("terms", "headroom_capture"),
    ("terms", "retention_target"),
)


def follow_renamed_classes(data: dict[str, Any]) -> dict[str, Any]:
    """Settings data (tierwise.toml's tables) whose ``[segments] classes`` rename the four
    built-in classes, with the built-in values keyed by class that the data does not give
    renamed likewise, by place: ``[segments]`` grid, potential_only, ease_grid,
    hard_to_serve_class and tiers, ``[coverage] response`` and ``[terms]``
    headroom_capture and retention_target (a response or tier given for a class is merged
    with the built-in one of its place). Other data is returned as it is.
    """
    seg = data.get("segments")
    if not isinstance(seg, Mapping):
        return data
    rename = renamed_classes(seg.get("classes"))
    if rename is None:
        return data

    def cls(c: str) -> str:
        return rename.get(c, c)

    fields = SegmentSettings.model_fields
    seg = dict(seg)
    for key in ("grid", "ease_grid"):
        if key not in seg:
            seg[key] = [
                [cls(c) for c in row] for row in fields[key].get_default(call_default_factory=True)
            ]
    if "potential_only" not in seg:
        seg["potential_only"] = [
            cls(c) for c in fields["potential_only"].get_default(call_default_factory=True)
        ]
    if "hard_to_serve_class" not in seg:
        seg["hard_to_serve_class"] = cls(fields["hard_to_serve_class"].get_default())
    tiers = {cls(c): t for c, t in fields["tiers"].get_default(call_default_factory=True).items()}
    given = seg.get("tiers")
    seg["tiers"] = (
        {**tiers, **given} if isinstance(given, Mapping) else tiers if given is None else given
    )
    out = {**data, "segments": seg}
    from .coverage import CoverageSettings
    from .terms import TermsSettings

    for section, model, keys in (
        ("coverage", CoverageSettings, ("response",)),
        ("terms", TermsSettings, ("headroom_capture", "retention_target")),
    ):
        table = out.get(section)
        if table is not None and not isinstance(table, Mapping):
            continue
        table = dict(table or {})
        for key in keys:
            default = {
                cls(c): _plain(v)
                for c, v in model.model_fields[key].get_default(call_default_factory=True).items()
            }
            if key not in table:
                table[key] = default
            elif key != "retention_target" and isinstance(table[key], Mapping):
                # merged with the built-in entries, as the section merges a table given
                table[key] = merge_with_default(table[key], default)
        out[section] = table
    return out


def _default_programmes() -> dict[str, Any]:
    # plain data (validated into TierProgramme), so that `tierwise init` can print it
    return {
        "gold": {
            "service_level": "named account manager, quarterly business review",
            "channels": ["key_account", "field"],
            "visits_min": 6.0,
            "visits_max": 12.0,
            "terms": "gold",
        },
        "silver": {
            "service_level": "named field rep with a development plan",
            "channels": ["field", "inside"],
            "visits_min": 2.0,
            "visits_max": 6.0,
            "terms": "silver",
        },
        "bronze": {
            "service_level": "inside sales and web, no routine visits",
            "channels": ["inside", "web"],
            "visits_min": 0.0,
            "visits_max": 1.0,
            "terms": "bronze",
        },
    }


class SegmentSettings(Section):
    """Value classes (ABCD) on current value × potential, tiers and their programmes, niches.

    Each customer gets a level on each axis (high, medium, low by default) from cut points
    found in the data by ``method``; ``grid`` turns the two levels into a class; ``tiers``
    maps each class to a programme. Customers with too little history (new customers and
    prospects) are classed on potential alone (``potential_only``). Within each class,
    niches are clusters on behaviour and needs. See docs/segments.md.
    """

    scheme: Literal["value_potential", "profit_ease"] = "value_potential"
    """How classes are formed: "value_potential" (current value × potential through
    ``grid``) or "profit_ease" (the French ABCD: net profitability × ease of doing
    business through ``ease_grid``). Default "value_potential"."""

    value_axis: Literal["net_profit", "clv", "gross_margin", "revenue_12m"] = "net_profit"
    """Current value: "net_profit" (after cost-to-serve, over the profit period), "clv"
    (the lifetime stage's customer lifetime value), "gross_margin" (whole history) or
    "revenue_12m" (sales of the last 12 months: a classic ABC); currency units. When no
    customer has the figure set (no costs in the data give no profit), the first of
    net_profit, gross_margin, revenue_12m that exists is used, with a warning. Default
    "net_profit"."""

    potential_axis: Literal["wallet", "headroom"] = "headroom"
    """Potential: "wallet" (what the customer could spend with us in a year) or "headroom"
    (wallet minus last year's spend: what is left to win); currency units per year.
    Default "headroom"."""

    method: Literal["computed_abc", "pareto", "quantiles", "natural_breaks"] = "computed_abc"
    """How the cut points between levels are found on each axis: "computed_abc" (Ultsch &
    Lötsch 2015: the Pareto point, break-even point and submarginal point of the cumulative
    curve; three levels, or two with the submarginal cut), "pareto" (cumulative shares of
    the total, ``pareto_shares``), "quantiles" (shares of customers, ``quantiles``) or
    "natural_breaks" (exact one-dimensional k-means, Fisher 1958 / Jenks). Default
    "computed_abc"."""

    pareto_shares: list[float] = Field(default_factory=lambda: [0.8, 0.95])
    """For method "pareto": increasing cumulative shares of the axis total that close the
    levels from the top: the customers ranked above a customer hold less than 0.8 of the
    total → top level, less than 0.95 → middle level; fractions, at least one fewer than
    the levels (an axis with fewer levels uses the cuts nearest the bottom). Default
    [0.8, 0.95]."""

    quantiles: list[float] = Field(default_factory=lambda: [0.5, 0.8])
    """For method "quantiles": increasing shares of customers below each cut (0.5 and 0.8:
    bottom half low, next 30% medium, top 20% high); fractions, at least one fewer than the
    levels (an axis with fewer levels uses the cuts nearest the bottom). Default
    [0.5, 0.8]."""

    classes: dict[str, str] = Field(default_factory=_default_classes)
    """Class names, best first, each with its action in a few words (printed in every
    class_reason). Four classes under other names (Key, Grow, Core, Tail) take the
    built-in grid, potential_only, ease_grid, hard_to_serve_class, tiers, [coverage]
    response and [terms] headroom_capture and retention_target of A, B, C, D by place,
    where the settings do not give them; another number of classes needs its own.
    Default A "protect and grow", B "develop", C "serve efficiently", D "serve at the
    lowest cost"."""

    grid: list[list[str]] = Field(
        default_factory=lambda: [["A", "A", "A"], ["B", "C", "C"], ["B", "C", "D"]]
    )
    """Scheme "value_potential": the class of each value level (rows, high to low) ×
    potential level (columns, high to low). Rows and columns give the number of levels on
    each axis. Must not move a customer down a class as value rises with potential fixed.
    Default [["A","A","A"], ["B","C","C"], ["B","C","D"]]: high value is A; high potential
    with medium or low value is B (develop); low value and low potential is D."""

    potential_only: list[str] = Field(default_factory=lambda: ["B", "C", "D"])
    """Class of a customer with too little history for a value, by potential level (high to
    low; as many as the grid's columns). Default ["B", "C", "D"]."""

    value_only: list[str] | None = None
    """Classes by value level (high to low; as many as the grid's rows) when the run has no
    potential figure (the potential stage did not run, for want of firmographics): a
    value-only ABC; customers with too little history for a value get the last class of
    ``classes``, and unprofitable hard-to-serve ones ``hard_to_serve_class`` as always.
    Default none: the first classes (A, B, C with the default grid)."""

    min_history_days: int = Field(default=180, ge=0)
    """A customer whose first purchase is fewer than this many days before the analysis date
    (tenure_days) has too little history for a value and is classed on potential alone;
    days. Default 180."""

    min_cut_customers: int = Field(default=10, ge=1)
    """Fewest established customers (not thin: see min_history_days and thin_statuses) with a
    positive figure on an axis among whom its cut points are found. With fewer (a short
    export, in which every customer is new), the cut points are found among all customers
    with a positive figure, thin history included, and a warning says so: the largest
    customers of a four-month export are then classed on the value they show; customers.
    Default 10."""

    single_order_share: float = Field(default=0.5, gt=0, le=1)
    """A warning names each class with field visits in its programme (visits_min above 0)
    when at least this share of its established members bought only once (n_orders 1): its
    class then rests on one order each, not on a relationship; fraction. Default 0.5."""

    thin_statuses: list[str] = Field(default_factory=lambda: ["new", "prospect"])
    """Lifetime statuses classed on potential alone (rows marked is_prospect always are).
    Default ["new", "prospect"]."""

    hard_to_serve_ease: float = Field(default=25.0, ge=0, le=100)
    """A customer with a value of zero or below and an ease_score below this is
    "unprofitable and hard to serve"; ease points (0–100, a percentile among customers).
    Default 25 (the hardest quarter)."""

    hard_to_serve_class: str = "D"
    """Class of unprofitable, hard-to-serve customers whatever their potential (scheme
    "value_potential"); "" to class them by the grid alone. Default "D"."""

    ease_grid: list[list[str]] = Field(default_factory=lambda: [["A", "B"], ["C", "D"]])
    """Scheme "profit_ease": the class of each profitability level (rows, high to low) ×
    ease level (columns, easy to hard). Default [["A","B"], ["C","D"]]: profitable and easy
    A, profitable and hard B, less profitable and easy C, less profitable and hard D."""

    ease_cuts: list[float] = Field(default_factory=lambda: [50.0])
    """Scheme "profit_ease": increasing ease_score values separating the ease levels (one
    fewer than the ease_grid's columns); ease points (0–100). Default [50] (the median
    customer, the score being a percentile)."""

    tiers: dict[str, str] = Field(
        default_factory=lambda: {"A": "gold", "B": "silver", "C": "bronze", "D": "bronze"}
    )
    """The tier (programme) of each class. Default A gold, B silver, C bronze, D bronze."""

    programmes: dict[str, TierProgramme] = Field(default_factory=_default_programmes)
    """The programme of each tier (service level, channel band, visit band in visits per
    year, terms reference). Default gold: account manager, key_account/field, 6–12 visits;
    silver: field rep with a development plan, field/inside, 2–6 visits; bronze: inside
    sales and web, inside/web, 0–1 visits."""

    niche_features: list[str] = Field(
        default_factory=lambda: [
            "industry",
            "employees",
            "current_channel",
            "avg_order_value",
            "usual_gap_days",
            "discount_depth",
            "n_visits",
        ]
    )
    """Customer columns the niches are clustered on (behaviour and needs): text columns are
    categories, number columns are taken as log(1 + x) when never negative; columns absent
    or empty are skipped and named in the manifest. Category-mix columns of your own can be
    added here. Default industry, employees, current_channel, avg_order_value,
    usual_gap_days, discount_depth, n_visits."""

    niche_max: int = Field(default=5, ge=1)
    """Most niches per class; the number is chosen from 1 to this from the data. Default 5."""

    niche_min_customers: int = Field(default=30, ge=2)
    """Smallest niche; customers. A class with fewer than twice this is one niche.
    Default 30."""

    niche_min_share: float = Field(default=0.05, ge=0, lt=1)
    """Smallest niche as a share of its class; fraction. Default 0.05."""

    niche_stable_jaccard: float = Field(default=0.6, gt=0, le=1)
    """A number of niches is eligible only when every niche's mean bootstrap Jaccard
    similarity reaches this (Hennig 2007: below 0.5 a cluster dissolves, 0.6–0.75 is a
    pattern, 0.75 and above is stable); numbers are tried upwards from 2 and the search
    stops at the first that falls short; among the eligible numbers the lowest BIC wins.
    Default 0.6."""

    niche_sample_size: int = Field(default=3000, ge=100)
    """Niches are fitted on at most this many members of a class (a seeded sample); every
    member then joins its nearest niche; customers. Default 3000."""

    niche_resamples: int = Field(default=20, ge=2)
    """Bootstrap resamples per candidate number of niches when choosing it; count.
    Default 20."""

    niche_starts: int = Field(default=3, ge=1)
    """k-means++ starts of the fit kept for each number of niches (the best of them is
    kept); a bootstrap refit uses one start; count. Default 3."""

    niche_max_iter: int = Field(default=100, ge=1)
    """Most Lloyd iterations of one k-means fit; count. Default 100."""

    niche_max_categories: int = Field(default=8, ge=1)
    """Most categories of a text column used for niches (the most frequent; the rest count
    as none of them); count. Default 8."""

    niche_name_features: int = Field(default=3, ge=1)
    """Features named in a niche's name (the most distinguishing first); count. Default 3."""

    niche_name_min_effect: float = Field(default=0.3, ge=0)
    """A feature names a niche only when the niche's mean differs from its class's by at
    least this many standard deviations (a category: its share, on the same scale);
    standard deviations. Default 0.3."""

    stability_resamples: int = Field(default=50, ge=0)
    """Bootstrap resamples of the customers for the stability of classes (cut points found
    again on each); count, 0 to skip. Default 50."""

    stable_jaccard: float = Field(default=0.75, gt=0, le=1)
    """A class whose mean bootstrap Jaccard similarity reaches this is stable (Hennig's
    clusterboot reading); fraction. Default 0.75."""

    quality_min_customers: int = Field(default=30, ge=1)
    """Substantial: a segment has at least this many customers, or holds the value share of
    quality_min_value_share (either suffices); customers. Default 30."""

    quality_min_value_share: float = Field(default=0.01, ge=0, le=1)
    """Substantial: a segment holds at least this share of the base's revenue (last 12
    months) or of its wallet, whichever is larger, or has quality_min_customers customers
    (either suffices); fraction. Default 0.01."""

    quality_min_measurable: float = Field(default=0.9, ge=0, le=1)
    """Measurable: at least this share of members have every input they were classed on;
    fraction. Default 0.9."""

    quality_min_accessible: float = Field(default=0.8, ge=0, le=1)
    """Accessible: at least this share of members have a channel on record (current
    channel, rep, email or phone); fraction. Default 0.8."""

    quality_min_distance: float = Field(default=0.5, ge=0)
    """Differentiable: the segment's profile (axes and niche features, each in standard
    deviations of the base) lies at least this far from the nearest other segment of its
    kind; standard deviations. Default 0.5."""

    goal_up_rate: float = Field(default=0.1, ge=0, le=1)
    """Yearly review without a previous run: share of the customers able to move up a class
    that the goals aim to move up; fraction. Default 0.1. With a previous run the rate seen
    last year is used."""

    goal_capture_rate: float = Field(default=0.1, ge=0, le=1)
    """Yearly review without a previous run: share of the headroom the goals aim to win in
    the coming year; fraction. Default 0.1. With a previous run the share of last year's
    headroom won is used."""

    goal_retention_rate: float = Field(default=0.9, ge=0, le=1)
    """Yearly review without a previous run and without a defection risk: share of each
    class the goals aim to keep in the class or above; fraction. Default 0.9."""

    goal_rates_min_months: int = Field(default=6, ge=1, le=12)
    """Fewest months (to the nearest month) between the previous run's analysis date and
    this one's for the class goals to use the rates seen between them, made yearly. Over a
    shorter interval (a monthly run with ``--previous`` last month's) the moves are mostly
    customers near a cut point moving back and forth, and made yearly they would read as a
    class losing most of its members: the goals then use ``goal_up_rate``,
    ``goal_capture_rate`` and the defection risk (else ``goal_retention_rate``), as without
    a previous run, and a warning says so; the review itself (previous_class,
    class_change, migration, class_movers) is made all the same; months. Default 6."""

    class_hysteresis: float = Field(default=0.1, ge=0, lt=1)
    """With a previous run (``--previous``) fewer than ``goal_rates_min_months`` back: a
    customer whose figures lie within this fraction of a cut point keeps the class the
    previous run computed for it (its value_class_computed), where this run's figures alone
    would move it across the cut and back as they wobble from month to month (a value of
    950 against a cut of 1,000 keeps its A from last month at 0.1, 950 being within 10% of
    1,000). Applied on each axis the classes are cut on, before the overrides; the
    customer's class_reason says when a class was kept so, and the warnings count them. A
    review further apart classes on its own figures. 0 classes on this run's figures
    alone; fraction. Default 0.1."""

    currency_symbol: str = ""
    """Symbol printed before money in the reasons (class_reason, coverage_reason), in
    plan.xlsx's money cells and in report.html's money figures and column headings, e.g.
    "€", "$" or "CHF " (a sign or code of at most 5 characters, without digits); a symbol
    set here is shown whatever currency the data names. Default "" (read from the data: the
    symbol of the one currency the invoices' amounts name, by a sign or code written with
    them such as "$1,234.50", "EUR 12,00" or "12,00 zł", or by the one ISO 4217 code the
    transactions' currency column holds, with a warning saying where it was read; amounts
    printed without a symbol when they name none, several or a code that is no currency,
    when [transactions] exchange_rates converts them, or when a [table] decimal is set, as
    the amounts are then not read for a sign (set the symbol here), and report.html says so
    once; the demo prints "£")."""

    overrides_file: str | None = None
    """CSV or Excel file of back-end overrides (customer_id, value_class and/or tier,
    reason, by; optional date), applied after the mathematics ran; a relative path is
    relative to the settings file's folder. Default none."""

    @field_validator("currency_symbol")
    @classmethod
    def _currency(cls, value: str) -> str:
        shown = value.strip()
        if value and (
            not shown
            or len(shown) > 5
            or any(c.isdigit() or not c.isprintable() for c in shown)
            or shown[0] in "=+-@"
        ):
            raise ValueError(
                f'{value!r} is not a currency: write its sign or code, such as "€", "$", '
                '"EUR" or "CHF " (at most 5 characters, no digits), or "" for none'
            )
        return value

    @field_validator("thin_statuses")
    @classmethod
    def _statuses(cls, value: list[str]) -> list[str]:
        return check_statuses(value)

    @model_validator(mode="before")
    @classmethod
    def _merge_tiers(cls, data: Any) -> Any:
        # tiers and programmes are merged with their defaults as the tables of merged_tables
        # are, keeping only the default tiers of the classes defined and the default
        # programmes of the tiers named
        if not isinstance(data, dict):
            return data
        out = dict(data)
        classes = out.get("classes")
        names = set(classes) if isinstance(classes, dict) else set(_default_classes())
        if isinstance(out.get("tiers"), dict):
            default_tiers = cls.model_fields["tiers"].get_default(call_default_factory=True)
            out["tiers"] = merge_with_default(out["tiers"], default_tiers, names)
        if isinstance(out.get("programmes"), dict):
            tiers = out.get("tiers")
            if not isinstance(tiers, dict):
                tiers = cls.model_fields["tiers"].get_default(call_default_factory=True)
            named = {t for t in tiers.values() if isinstance(t, str)}
            out["programmes"] = merge_with_default(out["programmes"], _default_programmes(), named)
        return out

    @model_validator(mode="after")
    def _consistent(self) -> SegmentSettings:
        names = list(self.classes)
        if len(names) < 2:
            raise ValueError("classes: give at least two classes")
        known = set(names)

        def check(where: str, labels: list[str]) -> None:
            bad = [c for c in labels if c not in known]
            if bad:
                rename = renamed_classes(self.classes)
                if rename is not None and bad[0] in rename:
                    more = (
                        f": the built-in class {bad[0]} is {rename[bad[0]]} here; write {where} "
                        "with your class names, or leave it out to take the built-in one by "
                        "place"
                    )
                elif bad[0] in _default_classes():
                    more = (
                        ": classes other than four (renamed by place) need their own grid, "
                        "potential_only, ease_grid, hard_to_serve_class and tiers"
                    )
                else:
                    more = ""
                raise ValueError(
                    f"{where} names the class {bad[0]!r}, which is not among classes "
                    f"({', '.join(names)}){more}"
                )

        for key, grid in (("grid", self.grid), ("ease_grid", self.ease_grid)):
            if not grid or any(len(row) != len(grid[0]) for row in grid) or not grid[0]:
                raise ValueError(f"{key}: give rows of equal, non-zero length")
            check(key, [c for row in grid for c in row])
            rank = {c: i for i, c in enumerate(names)}
            # rows run from high value to low value: a higher row never gives a worse class
            for col in range(len(grid[0])):
                for r in range(len(grid) - 1):
                    hi, lo = grid[r][col], grid[r + 1][col]
                    if rank[hi] > rank[lo]:
                        raise ValueError(
                            f"{key}: more value would move a customer down from {lo} to {hi} "
                            f"(rows {r + 2} to {r + 1}, column {col + 1}); classes are ranked "
                            "best first"
                        )
        check("potential_only", self.potential_only)
        if self.value_only is not None:
            check("value_only", self.value_only)
            if len(self.value_only) != len(self.grid):
                raise ValueError(f"value_only: give one class per value level ({len(self.grid)})")
        if len(self.potential_only) != len(self.grid[0]):
            raise ValueError(
                f"potential_only: give one class per potential level ({len(self.grid[0])})"
            )
        if self.hard_to_serve_class:
            check("hard_to_serve_class", [self.hard_to_serve_class])
            if names.index(self.hard_to_serve_class) < max(names.index(c) for c in self.grid[-1]):
                raise ValueError(
                    "hard_to_serve_class must not be better than every class of the lowest "
                    "value row of grid"
                )
        missing = [c for c in names if c not in self.tiers]
        if missing:
            raise ValueError(f"tiers: no tier for class {missing[0]!r}")
        check("tiers", list(self.tiers))
        unknown = [t for t in self.tiers.values() if t not in self.programmes]
        if unknown:
            raise ValueError(f"tiers: no programme for tier {unknown[0]!r} (add it to programmes)")
        levels = {"value_potential": len(self.grid), "profit_ease": len(self.ease_grid)}
        n_levels = max(levels.values())
        pot_levels = len(self.grid[0])
        if self.method == "computed_abc" and (n_levels > 3 or pot_levels > 3):
            raise ValueError(
                'method "computed_abc" gives at most three levels per axis; use fewer grid '
                "rows and columns or another method"
            )
        for key, shares in (("pareto_shares", self.pareto_shares), ("quantiles", self.quantiles)):
            if any(not 0 < s < 1 for s in shares) or any(
                a >= b for a, b in itertools.pairwise(shares)
            ):
                raise ValueError(f"{key}: give increasing fractions between 0 and 1")
        wanted = {"pareto": self.pareto_shares, "quantiles": self.quantiles}.get(self.method)
        if wanted is not None:
            need = (
                {len(self.grid), len(self.grid[0])}
                if self.scheme == "value_potential"
                else {len(self.ease_grid)}
            )
            if any(k - 1 > len(wanted) for k in need):
                key = "pareto_shares" if self.method == "pareto" else "quantiles"
                raise ValueError(
                    f"{key}: give at least {max(need) - 1} cut shares for {max(need)} levels"
                )
        if len(self.ease_cuts) != len(self.ease_grid[0]) - 1 or any(
            a >= b for a, b in itertools.pairwise(self.ease_cuts)
        ):
            raise ValueError(
                f"ease_cuts: give {len(self.ease_grid[0]) - 1} increasing ease scores for the "
                "ease_grid's columns"
            )
        return self
