r"""The segments stage: every customer and prospect gets a class, a tier, a niche and a reason.

Steps, each on the assembled customer table (one row per account or prospect):

1. **Axes.** Current value (``value_axis``: net profit, CLV or gross margin) and potential
   (``potential_axis``: wallet or headroom). A customer with too little history for a value
   (a prospect, a status in ``thin_statuses``, or tenure under ``min_history_days``) is
   "thin". A missing value of an established customer counts as 0 (no figure in the
   period) and is said in the warnings.
2. **Cut points** on each axis by ``method`` (:mod:`~tierwise.segments.cuts`), found among
   the established customers with a positive figure (among all customers with one when
   fewer than ``min_cut_customers`` are established, as in a short export); the levels
   follow. Without a potential figure, or when the potential stage found that its wallet
   tells customers apart no better than one figure for all (``potential_issue``), the
   classes are a value-only ABC.
3. **Classes** from the levels by the rule of the settings
   (:class:`~tierwise.segments.classes.ClassRule`).
4. **Stability**: ``stability_resamples`` bootstrap resamples of the customers (draw
   counts per customer, seeded from the run seed); on each the cut points are found again
   and every customer classed again, and per class the Jaccard similarity of the original
   members and the resample's members among the customers drawn, and the share of the
   original members drawn that keep their class, are averaged over resamples. Vectorised
   over customers; the loop is over resamples.
5. **Niches** within each class (:mod:`~tierwise.segments.niches`).
6. **Reasons**: one sentence per customer, built column-wise with Arrow.
7. **Overrides** at the back end (:mod:`~tierwise.segments.overrides`).
8. **Yearly review** against a previous run (:mod:`~tierwise.segments.review`) and the
   class goals for the coming year.
9. **segments.csv** with profiles and quality (:mod:`~tierwise.segments.profiles`).

Class goals per class (``class_goals``): ``customers`` counts the members that bought,
``prospects`` the others (rows of the prospects file, customer-master records with the
status "prospect"); ``could_move_up`` counts the established members whose value would
reach the next better class (potential and ease fixed) if they won their headroom, turned
into value at the class's ratio of value to revenue; ``customers_to_move_up`` is that times
the share of the class that moved up last year (the setting ``goal_up_rate`` without a
previous run); ``revenue_to_grow`` is the class's headroom times the share of last year's
headroom its customers won (``goal_capture_rate`` without one), ``margin_to_grow`` that
times the class's gross margin rate; ``customers_to_retain`` the customers (not the
prospects: there is no one to retain before a first purchase) times the share of the class
that kept its class or better last year (without a previous run: one minus the mean
defection risk, else ``goal_retention_rate``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ModelError
from ..settings.segments import (
    FOLLOW_CLASSES,
    SegmentSettings,
    TierProgramme,
    follow_renamed_classes,
    renamed_classes,
)
from ..validate import count_text
from .classes import (
    RULE_GRID,
    RULE_HARD,
    RULE_POTENTIAL,
    ClassRule,
    join_text,
    money_apart,
    money_text,
    pick,
)
from .cuts import AxisData, CutPoints, find_cuts, levels
from .niches import NicheDesign, NicheModel, fit_niches, niche_phrases, unique_names
from .overrides import AUDIT_SCHEMA, check_overrides, override_reason
from .profiles import Figures, SegmentLevel, segment_table
from .review import compare_runs, figure, match_previous

__all__ = ["CUSTOMER_COLUMNS", "SegmentsResult", "segment_customers"]

#: Customer columns the stage owns (the review adds previous_class and class_change).
CUSTOMER_COLUMNS = ("value_class", "value_class_computed", "tier", "niche", "class_reason")

VALUE_LABELS = {
    "net_profit": "net profit",
    "clv": "CLV",
    "gross_margin": "gross margin",
    "revenue_12m": "revenue",
}
#: the value axes tried, in order, when the one set has no figure for any customer
_VALUE_FALLBACK = ("net_profit", "gross_margin", "revenue_12m")


@dataclass
class SegmentsResult:
    """What the segments stage returns.

    Attributes
    ----------
    customers
        Keyed by customer_id, in the input's order: value_class, value_class_computed,
        tier, niche, class_reason; with a previous run also previous_class, class_change.
    tables
        ``segments`` (one row per class, tier and niche), ``overrides_applied`` (the
        audit), ``class_goals``; with a previous run ``migration`` and ``class_movers``.
    manifest
        The stage's block of manifest.json: scheme, method, axes, cut points and how they
        were found, class sizes, stability, niches, quality, overrides, review.
    warnings
        Defaults applied for lack of data, each naming the setting that changes it.
    value_cuts, potential_cuts
        The cut points of each axis.
    programmes
        Tier → programme (service level, channel band, visit band, terms), for the
        coverage and terms stages.
    """

    customers: pa.Table
    tables: dict[str, pa.Table]
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    value_cuts: CutPoints | None = None
    potential_cuts: CutPoints | None = None
    programmes: dict[str, TierProgramme] = field(default_factory=dict)


def _bool(table: pa.Table, name: str) -> np.ndarray:
    if name not in table.column_names:
        return np.zeros(table.num_rows, dtype=bool)
    col = pc.fill_null(pc.cast(table.column(name), pa.bool_()), False)
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=bool)


def _no_purchase(table: pa.Table) -> np.ndarray:
    """Rows without a purchase: from the prospects file (``is_prospect``), or with the
    lifetime status "prospect" (a customer-master record that never bought, or whose every
    line was cancelled).

    Examples
    --------
    >>> t = pa.table({"is_prospect": [False, True, False, None],
    ...               "status": ["active", None, "prospect", "lapsed"]})
    >>> _no_purchase(t).tolist()
    [False, True, True, False]
    """
    unsold = _bool(table, "is_prospect")
    if "status" in table.column_names:
        status = pc.cast(table.column("status"), pa.string())
        unsold |= np.asarray(
            pc.fill_null(pc.equal(status, "prospect"), False).to_numpy(zero_copy_only=False), bool
        )
    return unsold


def _present(table: pa.Table, name: str) -> np.ndarray:
    if name not in table.column_names:
        return np.zeros(table.num_rows, dtype=bool)
    return np.asarray(pc.is_valid(table.column(name)).to_numpy(zero_copy_only=False), bool)


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def _standardise(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    if not ok.any():
        return np.zeros_like(x)
    mu, sd = x[ok].mean(), x[ok].std()
    return np.where(ok, (x - mu) / (sd if sd > 0 else 1.0), 0.0)


def _share_text(share: np.ndarray) -> pa.Array:
    """Whole percents for a rank share, at least 1%."""
    pct = np.clip(np.ceil(np.nan_to_num(share) * 100 - 1e-9), 1, 100)
    return pc.cast(pa.array(pct.astype(np.int64)), pa.string())


def _rank_text(x: np.ndarray, ranked: np.ndarray, label: str) -> pa.Array:
    """ "top 12% of net profit" or "bottom 30% of net profit": where each figure stands
    among ``ranked`` (the figures the axis's cut points were found on), from the nearer end,
    so that no figure reads "top 100%". Empty where ``ranked`` is empty.

    Examples
    --------
    >>> _rank_text(np.array([10.0, 4.0, 1.0]), np.arange(1.0, 11.0), "net profit").to_pylist()
    ['top 10% of net profit', 'bottom 40% of net profit', 'bottom 10% of net profit']
    """
    ev = np.sort(ranked)
    m = len(ev)
    if m == 0:
        return pa.array([""] * len(x), pa.string())
    top = (m - np.searchsorted(ev, x, side="left")) / m
    bottom = np.searchsorted(ev, x, side="right") / m
    # the nearer end: a figure tied with many at the top reads "top 54%", not "bottom 100%"
    use_top = (top < bottom - 1e-12) | ((np.abs(top - bottom) <= 1e-12) & (top <= 0.5))
    return pc.if_else(
        pa.array(use_top),
        join_text("top ", _share_text(top), f"% of {label}"),
        join_text("bottom ", _share_text(bottom), f"% of {label}"),
    )


#: the cut points of an axis by their place, highest first
_CUT_NAMES = {
    1: ["cut"],
    2: ["upper cut", "lower cut"],
    3: ["top cut", "middle cut", "bottom cut"],
}


def _cut_text(x: np.ndarray, thresholds: tuple[float, ...], sym: str) -> tuple[pa.Array, pa.Array]:
    """Each figure as money, and the cut point that decided its level on its axis: "above
    the upper cut of €1.7k" (or "at" it) at the top level, else "below the lower cut of
    €1.1k" (the cut it did not reach). Cuts are named by their place on the axis (upper and
    lower; top, middle and bottom), not by letters, which a reader would take for the
    classes ("a B customer below the B cut"). A figure and its cut that would read the same
    amount are written with more digits (:func:`money_apart`). Empty where there are no cut
    points.

    Examples
    --------
    >>> money, cut = _cut_text(np.array([2000.0, 900.0, 50.0, 1710.0]), (100.0, 1675.0), "€")
    >>> money.to_pylist()
    ['€2k', '€900', '€50', '€1.71k']
    >>> cut.to_pylist()  # doctest: +NORMALIZE_WHITESPACE
    ['above the upper cut of €1.7k', 'below the upper cut of €1.7k',
     'below the lower cut of €100', 'above the upper cut of €1.68k']
    """
    t = np.asarray(thresholds, dtype=np.float64)
    k = len(t)
    if k == 0:
        return money_text(x, sym), pa.array([""] * len(x), pa.string())
    lv = levels(x, thresholds).astype(np.int64)
    from_top = _CUT_NAMES.get(k) or [f"cut {i + 1} from the top" for i in range(k)]
    letters = np.array(from_top[::-1], dtype=object)
    at = np.minimum(lv, k - 1)
    money, cut_money = money_apart(x, t[at], sym)
    return money, join_text(
        pa.array(
            np.where(lv < k, "below the ", np.where(x > t[-1], "above the ", "at the ")).astype(
                object
            ),
            pa.string(),
        ),
        pick(at, list(letters)),
        " of ",
        cut_money,
    )


def segment_customers(
    customers: pa.Table,
    settings: SegmentSettings | None = None,
    *,
    seed: int,
    previous: pa.Table | None = None,
    previous_source: str | None = None,
    previous_classes: list[str] | None = None,
    overrides: pa.Table | None = None,
    overrides_source: str | None = None,
    dashboard_overrides: pa.Table | None = None,
    members: pa.Table | None = None,
    as_of: dt.date | None = None,
    previous_as_of: dt.date | None = None,
    potential_issue: str | None = None,
) -> SegmentsResult:
    """Class, tier, niche and reason for every customer; see the module text.

    Parameters
    ----------
    customers
        The assembled customer table: customer_id and the axes' columns (``net_profit`` /
        ``clv`` / ``gross_margin``; ``wallet``, ``headroom``), optionally is_prospect,
        status, tenure_days, ease_score, revenue_12m, share_of_wallet, gross_margin,
        defection_risk, the niche features and contact columns.
    settings
        The ``[segments]`` section (defaults when ``None``).
    seed
        The run seed (bootstrap resamples, niche samples and k-means starts).
    previous
        The previous run's customers table (customer_id, value_class; revenue_12m, the
        axes, status when present) for the yearly review.
    previous_source
        Where ``previous`` was read from, for messages.
    previous_classes
        The previous run's class names, best first (its manifest's): the order of the
        migration rows of its classes that this run does not have.
    overrides
        The overrides table read by :func:`tierwise.io.overrides.read_overrides`.
    overrides_source
        Its file name, for messages and the audit.
    dashboard_overrides
        The overrides made in the dashboard (:func:`tierwise.app.read_overrides`), applied
        after the file's, field by field (see :mod:`~tierwise.segments.overrides`).
    members
        The accounts stage's records (customer_id, account_id): an override of a record
        merged into another's account is carried over to the account.
    as_of
        The analysis date: the "when" of an override without a date.
    previous_as_of
        The previous run's analysis date (its manifest's ``as_of``): the review reports the
        interval between the runs and annualises the rates seen over it for the class goals;
        a warning names an interval that is not twelve months, or one that is unknown.
    potential_issue
        Why the potential figures cannot class these customers (the potential stage did not
        run, and why; or its wallet tells customers apart no better than one figure for
        all). When given, the classes are a value-only ABC, as without a potential figure,
        and the warning gives this reason.

    Returns
    -------
    SegmentsResult

    Raises
    ------
    ModelError
        The table lacks the axes' columns (the stages that provide them did not run).
    InputError
        An override names an unknown customer, class or tier (file and row named), or the
        previous table has no customer_id or value_class.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({
    ...     "customer_id": [f"C{i}" for i in range(8)],
    ...     "net_profit": [900.0, 400, 300, 50, 40, 30, -20, 10],
    ...     "wallet": [2000.0, 9000, 800, 7000, 300, 200, 100, 150],
    ...     "revenue_12m": [1500.0, 1000, 700, 300, 250, 150, 90, 100],
    ... })
    >>> s = SegmentSettings(stability_resamples=0, niche_max=1, currency_symbol="€")
    >>> r = segment_customers(t, s, seed=1)
    >>> r.customers.column("value_class").to_pylist()
    ['A', 'A', 'C', 'B', 'D', 'D', 'D', 'D']
    >>> print(r.customers.column("class_reason")[3].as_py())  # doctest: +NORMALIZE_WHITESPACE
    B: bottom 58% of net profit (€50, below the lower cut of €300), 4% share of a €7k wallet →
    silver: develop
    """
    s = settings or SegmentSettings()
    n = customers.num_rows
    if "customer_id" not in customers.column_names:
        raise ModelError("the customer table has no customer_id column")
    if n == 0:
        raise ModelError("no customers to segment")
    warnings: list[str] = []
    rule = ClassRule.from_settings(s)
    names = list(rule.names)
    renamed = renamed_classes(s.classes)
    if renamed is not None and _took_by_place(s):
        warnings.append(
            f"[segments] classes name the four classes {', '.join(names)}: grid, "
            "potential_only, ease_grid, hard_to_serve_class and tiers, [coverage] response and "
            "[terms] headroom_capture and retention_target left out of the settings are the "
            "built-in ones of A, B, C, D given to them by place ("
            + ", ".join(f"{a} → {b}" for a, b in renamed.items())
            + "); give them in the settings to set your own"
        )
    ids = pc.cast(customers.column("customer_id"), pa.string()).combine_chunks()

    # -- 1. axes and thin history --------------------------------------------------------
    thin = _bool(customers, "is_prospect")
    if "status" in customers.column_names:
        status = pc.cast(customers.column("status"), pa.string())
        thin |= np.asarray(
            pc.fill_null(pc.is_in(status, value_set=pa.array(s.thin_statuses)), False).to_numpy(
                zero_copy_only=False
            ),
            bool,
        )
    tenure = figure(customers, "tenure_days")
    if "tenure_days" in customers.column_names:
        thin |= np.isnan(tenure) | (tenure < s.min_history_days)
    est = ~thin
    # the customers the value figure is looked for among: the established, or every one
    # when none is (an export of a few weeks), so that the reasons and warnings name the
    # figure the run has
    basis = est if est.any() else np.ones(len(est), dtype=bool)
    if basis.any() and np.isnan(figure(customers, s.value_axis)[basis]).all():
        # no cost in the data gives no profit: class on the next figure that exists, and say so
        other = next(
            (
                a
                for a in _VALUE_FALLBACK
                if a != s.value_axis and not np.isnan(figure(customers, a)[basis]).all()
            ),
            None,
        )
        if other is not None:
            warnings.append(
                f"no customer has a {VALUE_LABELS[s.value_axis]} figure ({s.value_axis}; "
                "profit needs the cost of the goods: map cost in [transactions.columns]), so "
                f"classes are on {other} instead; set [segments] value_axis to choose"
            )
            s = s.model_copy(update={"value_axis": other})
    if s.value_axis not in customers.column_names and est.any():
        raise ModelError(
            f"segments need the {s.value_axis!r} column (value_axis) from an earlier stage; "
            "set [segments] value_axis to a figure the run has"
        )
    potential = figure(customers, s.potential_axis)
    if s.potential_axis == "headroom":
        # a row with a wallet and no headroom (a prospect) has all of its wallet to win
        room = np.maximum(
            figure(customers, "wallet") - np.nan_to_num(figure(customers, "revenue_12m")), 0
        )
        potential = np.where(np.isnan(potential), room, potential)
    # without a potential figure (no potential stage: no firmographics), or with one that
    # cannot tell customers apart, the classes are a value-only ABC, said as a warning
    has_potential = not bool(np.isnan(potential).all())
    value_only = not has_potential or potential_issue is not None
    if value_only:
        rule = rule.value_only(s)
        how = (
            f"classes are from {s.value_axis} alone: "
            + ", ".join(rule.names[c] for c in rule.grid[::-1, 0])
            + f" from high to low value, {rule.names[-1]} for too little history"
            if s.scheme == "value_potential"
            else "customers with too little history cannot be classed on potential"
        )
        if potential_issue is None:
            warnings.append(
                f"no {s.potential_axis} figure (the potential stage did not run), so {how}; "
                "give the customers' firmographics (industry, employees, annual_revenue, "
                "region in [customers.columns]) to class on potential too, or set [segments] "
                "value_only"
            )
        elif has_potential:
            warnings.append(
                f"{s.potential_axis} is not used for the classes: {potential_issue}. So {how} "
                "([segments] value_only names the classes by value level)"
            )
        else:
            warnings.append(
                f"no {s.potential_axis} figure ({potential_issue}), so {how} ([segments] "
                "value_only names the classes by value level)"
            )
        potential = np.zeros(n)
    value_raw = figure(customers, s.value_axis)
    # no figure because nothing was bought in the period is a value of 0, not a gap
    no_sales = figure(customers, "revenue_12m") == 0
    missing_value = est & np.isnan(value_raw) & ~no_sales
    value = np.where(np.isnan(value_raw), 0.0, value_raw)
    if missing_value.any():
        warnings.append(
            f"{s.value_axis} missing for {int(missing_value.sum())} established customers "
            "with sales in the last 12 months: counted as 0; set [segments] value_axis to "
            "class on another figure"
        )
    missing_pot = np.isnan(potential)
    if missing_pot.any():
        warnings.append(
            f"{s.potential_axis} missing for {int(missing_pot.sum())} customers: counted as 0 "
            "(lowest potential); set [segments] potential_axis to class on another figure"
        )
    potential = np.where(missing_pot, 0.0, potential)
    ease = figure(customers, "ease_score")
    if s.scheme == "profit_ease" and np.isnan(ease[est]).all():
        raise ModelError(
            "the profit_ease scheme needs ease_score from the profitability stage; set "
            '[segments] scheme = "value_potential"'
        )
    hard = (value <= 0) & ~np.isnan(ease) & (ease < s.hard_to_serve_ease)
    ease_level = rule.ease_levels(ease)

    # -- 2. cut points ----------------------------------------------------------------------
    v_basis, v_note = _cut_basis(value, est, s, VALUE_LABELS[s.value_axis])
    p_basis, p_note = _cut_basis(potential, est, s, s.potential_axis)
    warnings += [w for w in (v_note, None if value_only else p_note) if w]
    v_ax = AxisData.from_figures(value, v_basis)
    p_ax = AxisData.from_figures(potential, p_basis)
    opts: dict[str, Any] = {"pareto_shares": s.pareto_shares, "quantiles": s.quantiles}
    vcut = find_cuts(v_ax, s.method, rule.value_levels, describe=True, **opts)
    pcut = find_cuts(p_ax, s.method, rule.potential_levels, describe=True, **opts)

    def classify(vt: tuple[float, ...], pt: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
        vl = levels(value, vt)
        pl = levels(potential, pt)
        second = pl if s.scheme == "value_potential" else ease_level
        return rule.classify(vl, second, pl, thin, hard)

    # -- 3. classes ---------------------------------------------------------------------
    computed, rule_code = classify(vcut.thresholds, pcut.thresholds)
    k_cls = len(names)
    tiers = list(s.programmes)
    tier_of_class = np.array([tiers.index(s.tiers[c]) for c in names], dtype=np.int64)
    note = _single_order_note(customers, s, names, computed, est)
    if note:
        warnings.append(note)

    # -- 4. stability -------------------------------------------------------------------
    B = s.stability_resamples
    jac = np.zeros(k_cls)
    kept = np.zeros(k_cls)
    seen = np.zeros(k_cls)
    tjac = np.zeros(len(tiers))
    tkept = np.zeros(len(tiers))
    tseen = np.zeros(len(tiers))
    rng = np.random.default_rng([seed, 0xABCD])
    for _ in range(B):
        counts = np.bincount(rng.integers(0, n, n), minlength=n)
        vb = find_cuts(v_ax, s.method, rule.value_levels, counts=counts, **opts)
        pb = find_cuts(p_ax, s.method, rule.potential_levels, counts=counts, **opts)
        boot, _ = classify(vb.thresholds, pb.thresholds)
        drawn = counts > 0
        for orig_codes, boot_codes, k_codes, acc in (
            (computed[drawn], boot[drawn], k_cls, (jac, kept, seen)),
            (
                tier_of_class[computed[drawn]],
                tier_of_class[boot[drawn]],
                len(tiers),
                (tjac, tkept, tseen),
            ),
        ):
            same = orig_codes == boot_codes
            both = np.bincount(orig_codes[same], minlength=k_codes).astype(np.float64)
            n_orig = np.bincount(orig_codes, minlength=k_codes).astype(np.float64)
            n_boot = np.bincount(boot_codes, minlength=k_codes).astype(np.float64)
            has = n_orig > 0
            acc[0][has] += both[has] / (n_orig + n_boot - both)[has]
            acc[1][has] += both[has] / n_orig[has]
            acc[2][has] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        class_jaccard = jac / seen
        class_kept = kept / seen
        tier_jaccard = tjac / tseen
        tier_kept = tkept / tseen

    # -- 4b. a class kept near the cuts (a previous run months back) ----------------------
    # (the stability above, and the single-order note, are of the classes the figures give)
    held = np.zeros(n, dtype=bool)
    held_axis = np.zeros(n, dtype=np.int8)
    review_interval = _review_interval(as_of, previous_as_of, s) if previous is not None else None
    # only a run fewer than goal_rates_min_months after the previous one holds classes: over
    # a year the moves are the review's to show
    short = review_interval is not None and not review_interval[3]
    if previous is not None and s.class_hysteresis > 0 and short:
        if "value_class_computed" not in previous.column_names:
            warnings.append(
                "the previous run's customers table has no value_class_computed (the class its "
                "figures gave, before overrides), so no class is kept near a cut point "
                "([segments] class_hysteresis); give --previous the output folder of a tierwise "
                "run as it wrote it"
            )
        else:
            computed, rule_code, held, held_axis = _hold_near_cuts(
                _previous_codes(ids, previous, names, customers, previous_source),
                computed,
                rule_code,
                lambda vl, pl: rule.classify(
                    vl, pl if s.scheme == "value_potential" else ease_level, pl, thin, hard
                ),
                (value, vcut.thresholds),
                (potential, pcut.thresholds),
                s.class_hysteresis,
            )
        if held.any():
            warnings.append(
                f"{count_text(int(held.sum()), 'customer')} kept the class the previous run "
                f"computed for them: their figures are within {s.class_hysteresis:.0%} of a "
                "cut point this run's figures alone would move them across, a month's wobble "
                "(class_reason says so); [segments] class_hysteresis = "
                f"{s.class_hysteresis:g} sets the band, 0 classes on this run's figures alone"
            )

    # -- 5. niches ----------------------------------------------------------------------
    design = NicheDesign.build(customers, s.niche_features, s.niche_max_categories)
    models: list[NicheModel] = []
    niche_local = np.zeros(n, dtype=np.int64)
    niche_text: list[list[str]] = []
    all_rows = np.arange(n)
    # every niche of every class: its members, phrases and what it was named against
    n_members: list[np.ndarray] = []
    n_phrases: list[list[str]] = []
    n_refs: list[str] = []
    for c in range(k_cls):
        rows = np.flatnonzero(computed == c)
        model = fit_niches(
            design,
            rows,
            seed=seed + 7919 * (c + 1),
            max_k=s.niche_max,
            min_customers=s.niche_min_customers,
            min_share=s.niche_min_share,
            stable_jaccard=s.niche_stable_jaccard,
            sample_size=s.niche_sample_size,
            resamples=s.niche_resamples,
            starts=s.niche_starts,
            max_iter=s.niche_max_iter,
        )
        labels = model.assign(design, rows)
        niche_local[rows] = labels
        ref = rows if model.k > 1 else all_rows
        phrases = niche_phrases(
            design, rows, labels, model.k, ref, min_effect=s.niche_name_min_effect
        )
        for j in range(model.k):
            n_members.append(rows[labels == j])
            n_phrases.append(phrases[j])
            n_refs.append("class" if model.k > 1 else "base")
        models.append(model)
    # names unique across classes: "B1: Large companies" and "C1: Large companies" say what
    # sets each apart
    unique = unique_names(design, n_members, n_phrases, n_refs, n_features=s.niche_name_features)
    start = 0
    for c, model in enumerate(models):
        words = unique[start : start + model.k]
        start += model.k
        model.names = words
        niche_text.append([f"{names[c]}{j + 1}: {w}" for j, w in enumerate(words)])

    # -- 6. reasons (computed) ----------------------------------------------------------
    reason_body = _reason_bodies(
        customers, s, rule, rule_code, value, potential, thin, ease_level, ease, vcut, pcut,
        v_ranked=v_ax.values, p_ranked=p_ax.values, value_only=value_only,
        potential_word="not used" if has_potential else "not estimated",
    )  # fmt: skip

    if held.any():
        rows = np.flatnonzero(held)
        axis_words = {
            1: VALUE_LABELS[s.value_axis],
            2: s.potential_axis,
            3: f"{VALUE_LABELS[s.value_axis]} or {s.potential_axis}",
        }
        kept = pc.binary_join_element_wise(
            reason_body.take(pa.array(rows)),
            pa.array(
                [
                    f"; kept {names[c]}, the class the previous run computed: its "
                    f"{axis_words[a]} within {s.class_hysteresis:.0%} of a cut point "
                    "([segments] class_hysteresis)"
                    for c, a in zip(computed[rows].tolist(), held_axis[rows].tolist(), strict=True)
                ],
                pa.string(),
            ),
            "",
        )
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        if isinstance(kept, pa.ChunkedArray):
            kept = kept.combine_chunks()
        reason_body = pc.replace_with_mask(reason_body, pa.array(mask), kept)

    # -- 7. overrides -------------------------------------------------------------------
    final = computed.astype(np.int64).copy()
    tier_code = tier_of_class[final]
    audit = AUDIT_SCHEMA.empty_table()
    overridden = np.zeros(n, dtype=bool)
    n_over = from_file = from_dashboard = 0
    has_file = overrides is not None and overrides.num_rows > 0
    has_dashboard = dashboard_overrides is not None and dashboard_overrides.num_rows > 0
    src = overrides_source or "overrides file"
    o = None
    if has_file or has_dashboard:
        o = check_overrides(
            overrides, ids, names, tiers, source=src, as_of=as_of, warnings=warnings,
            dashboard=dashboard_overrides, members=members,
        )  # fmt: skip
    if o is not None and len(o.rows):
        set_cls = o.new_class >= 0
        final[o.rows[set_cls]] = o.new_class[set_cls]
        tier_code = tier_of_class[final]
        set_tier = o.new_tier >= 0
        tier_code[o.rows[set_tier]] = o.new_tier[set_tier]
        overridden[o.rows] = True
        n_over, from_file, from_dashboard = len(o.rows), o.from_file, o.from_dashboard
        # a customer moved to another class joins the nearest niche of that class (no refit)
        moved = o.rows[final[o.rows] != computed[o.rows]]
        for c in range(k_cls):
            r = moved[final[moved] == c]
            if len(r):
                niche_local[r] = models[c].assign(design, r)
        audit = pa.table(
            {
                "customer_id": pc.take(ids, pa.array(o.rows)),
                "by": pa.array(o.by, pa.string()),
                "when": pa.array(o.when, pa.string()),
                "computed_class": pick(computed[o.rows], names),
                "new_class": pick(final[o.rows], names),
                "computed_tier": pick(tier_of_class[computed[o.rows]], tiers),
                "new_tier": pick(tier_code[o.rows], tiers),
                "reason": pa.array(o.reason, pa.string()),
                "file": pa.array(o.files, pa.string()),
                "row": pa.array(o.file_rows, pa.int64()),
                "source": pa.array(o.sources, pa.string()),
            },
            schema=AUDIT_SCHEMA,
        )
        audit = audit.sort_by([("customer_id", "ascending")])
        where = [
            f"{what} {count:,}"
            for what, count in (("file", from_file), ("dashboard", from_dashboard))
            if count
        ]
        warnings.append(
            f"{n_over:,} override{'' if n_over == 1 else 's'} applied ({', '.join(where)}): "
            "the class or tier a person set, audited in overrides_applied.csv"
        )

    offsets = np.concatenate([[0], np.cumsum([m.k for m in models])])
    niche_global = offsets[final] + niche_local
    flat_niches = [t for texts in niche_text for t in texts]
    actions = list(s.classes.values())
    head = join_text(pick(final, names), ": ")
    tail = join_text(" → ", pick(tier_code, tiers), ": ", pick(final, actions))
    reason = join_text(head, reason_body, tail)
    if overridden.any():
        rows = np.flatnonzero(overridden)
        by = dict(
            zip(
                audit.column("customer_id").to_pylist(), audit.column("by").to_pylist(), strict=True
            )
        )
        why = dict(
            zip(
                audit.column("customer_id").to_pylist(),
                audit.column("reason").to_pylist(),
                strict=True,
            )
        )
        body = reason_body.take(pa.array(rows)).to_pylist()
        assert o is not None
        set_class = dict(zip(o.rows.tolist(), (o.new_class >= 0).tolist(), strict=True))
        texts = []
        for r, b in zip(rows.tolist(), body, strict=True):  # the overridden few
            cid = ids[r].as_py()
            texts.append(
                override_reason(
                    cls=names[final[r]],
                    computed_cls=names[computed[r]],
                    body=b,
                    tier=tiers[tier_code[r]],
                    computed_tier=tiers[tier_of_class[computed[r]]],
                    class_set=set_class[r],
                    tier_set=tier_code[r] != tier_of_class[final[r]],
                    by=f"{by[cid]} ({why[cid]})",
                    class_action=actions[final[r]],
                    programme=s.programmes[tiers[tier_code[r]]].service_level
                    if tiers[tier_code[r]] in s.programmes
                    else "",
                )
            )
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        reason = pc.replace_with_mask(reason, pa.array(mask), pa.array(texts, pa.string()))

    out = {
        "customer_id": ids,
        "value_class": pick(final, names),
        "value_class_computed": pick(computed, names),
        "tier": pick(tier_code, tiers),
        "niche": pick(niche_global, flat_niches),
        "class_reason": reason,
    }

    # -- 8. review and goals --------------------------------------------------------------
    tables: dict[str, pa.Table] = {}
    revenue = figure(customers, "revenue_12m")
    review_manifest: dict[str, Any] | None = None
    rates: dict[str, dict[str, float]] = {}
    period = "last year"
    if previous is not None:
        assert review_interval is not None
        interval, period, interval_warnings, use_rates = review_interval
        warnings += interval_warnings
        by_potential = s.scheme == "value_potential"
        rv = compare_runs(
            ids,
            final,
            names,
            previous,
            source=previous_source or "previous customers table",
            revenue_now=revenue,
            # the figure as the customer table has it (missing: NaN), as the previous
            # run's is read; the levels count a missing one as 0 either way
            value_now=value_raw,
            value_axis=s.value_axis,
            value_level=lambda x: levels(x, vcut.thresholds),
            # the second axis the classes are on: potential, or ease (profit_ease)
            potential_now=potential if by_potential else ease,
            potential_axis=s.potential_axis if by_potential else "ease_score",
            potential_level=(
                (lambda x: levels(x, pcut.thresholds)) if by_potential else rule.ease_levels
            ),
            second_reason="potential" if by_potential else "ease",
            thin_now=thin,
            thin_statuses=s.thin_statuses,
            overridden_now=overridden,
            interval_days=interval,
            previous_classes=previous_classes,
            members_now=(
                customers.column("member_ids") if "member_ids" in customers.column_names else None
            ),
            tax_now=customers.column("tax_id") if "tax_id" in customers.column_names else None,
        )
        warnings += rv.warnings
        out["previous_class"] = rv.previous_class
        out["class_change"] = rv.class_change
        tables["migration"] = rv.migration
        tables["class_movers"] = rv.movers
        review_manifest = {
            **rv.summary,
            "previous_as_of": previous_as_of.isoformat() if previous_as_of else None,
            "as_of": as_of.isoformat() if as_of else None,
            "interval_months": _num(round(interval / (365.25 / 12), 1)) if interval else None,
            "rates_period": period,
        }
        rates = rv.rates if use_rates else {}
        review_manifest["rates_used"] = sorted(rates, key=names.index)
        review_manifest["rates_annualised"] = bool(rates) and rv.summary["rates_annualised"]
    headroom = figure(customers, "headroom")
    second_level = (
        levels(potential, pcut.thresholds) if s.scheme == "value_potential" else ease_level
    )
    # a customer held in its class near a cut point is not at the class its levels give:
    # it is not counted among those who could move up from it
    at_levels = np.where(held, np.int8(-1), rule_code)
    goals, goal_warnings = _class_goals(
        customers, s, rule, final, at_levels, value, vcut, second_level, headroom,
        revenue, rates, period, names, tiers, tier_of_class, previous_given=previous is not None,
    )  # fmt: skip
    warnings += goal_warnings
    tables["class_goals"] = goals

    # -- 9. segments.csv ----------------------------------------------------------------
    measurable = np.where(
        rule_code == RULE_POTENTIAL,
        ~missing_pot,
        ~missing_value & ~missing_pot,
    )
    if s.scheme == "profit_ease":
        measurable &= (rule_code == RULE_POTENTIAL) | ~np.isnan(ease)
    measurable &= (rule_code != RULE_HARD) | ~np.isnan(ease)
    accessible = np.zeros(n, dtype=bool)
    for col in ("current_channel", "rep_id", "email", "phone"):
        accessible |= _present(customers, col)
    profile = np.column_stack(
        [
            _standardise(_signed_log(value)),
            _standardise(_signed_log(potential)),
            design.matrix(all_rows, *design.scaling(all_rows)),
        ]
    ).astype(np.float64)
    fig = Figures(
        revenue=revenue,
        value=np.where(missing_value, np.nan, value_raw),
        value_label=VALUE_LABELS[s.value_axis],
        value_axis=s.value_axis,
        wallet=figure(customers, "wallet"),
        potential=potential,
        potential_axis=s.potential_axis,
        measurable=measurable,
        accessible=accessible,
        profile=profile,
        currency=s.currency_symbol,
    )
    programmes = dict(s.programmes)
    class_level = SegmentLevel(
        level="class",
        names=names,
        codes=final,
        value_class=names,
        tier=[s.tiers[c] for c in names],
        action=actions,
        programme=[programmes[s.tiers[c]] for c in names],
        jaccard=class_jaccard,
        share_kept=class_kept,
    )
    tier_level = SegmentLevel(
        level="tier",
        names=tiers,
        codes=tier_code,
        value_class=[", ".join(c for c in names if s.tiers[c] == t) for t in tiers],
        tier=tiers,
        action=[
            "; ".join(s.classes[c] for c in names if s.tiers[c] == t) or "(overrides only)"
            for t in tiers
        ],
        programme=[programmes[t] for t in tiers],
        jaccard=tier_jaccard,
        share_kept=tier_kept,
    )
    niche_class = np.repeat(np.arange(k_cls), [m.k for m in models])
    niche_jac = np.concatenate(
        [m.jaccard if m.k > 1 else class_jaccard[c : c + 1] for c, m in enumerate(models)]
    )
    niche_level = SegmentLevel(
        level="niche",
        names=flat_niches,
        codes=niche_global,
        value_class=[names[c] for c in niche_class],
        tier=[s.tiers[names[c]] for c in niche_class],
        action=[actions[c] for c in niche_class],
        programme=[programmes[s.tiers[names[c]]] for c in niche_class],
        jaccard=niche_jac,
        share_kept=np.full(len(flat_niches), np.nan),
        group=niche_class,
    )
    seg = segment_table([class_level, tier_level, niche_level], fig, design, s)
    tables = {"segments": seg, "overrides_applied": audit, **tables}

    # -- manifest -------------------------------------------------------------------------
    counts_final = np.bincount(final, minlength=k_cls)
    manifest: dict[str, Any] = {
        "scheme": s.scheme,
        "method": s.method,
        "axes": {
            "value": s.value_axis,
            "potential": None if value_only else s.potential_axis,
            **({"ease": "ease_score"} if s.scheme == "profit_ease" else {}),
        },
        # why the classes are on value alone (None when they use potential)
        "value_only_reason": (
            (potential_issue or f"no {s.potential_axis} figure") if value_only else None
        ),
        "cut_points": {
            "value": _cut_manifest(vcut),
            "potential": _cut_manifest(pcut),
            **(
                {"ease": {"thresholds": list(s.ease_cuts), "how": "settings ease_cuts"}}
                if s.scheme == "profit_ease"
                else {}
            ),
        },
        "customers": n,
        "thin_history": int(thin.sum()),
        "held_previous_class": int(held.sum()),
        "classes": {
            c: {
                "customers": int(counts_final[i]),
                "computed": int((computed == i).sum()),
                "tier": s.tiers[c],
                "action": s.classes[c],
            }
            for i, c in enumerate(names)
        },
        "stability": {
            "resamples": B,
            "stable_jaccard": s.stable_jaccard,
            "classes": {
                c: {
                    "jaccard": _num(class_jaccard[i]),
                    "share_kept": _num(class_kept[i]),
                    "stable": bool(class_jaccard[i] >= s.stable_jaccard),
                }
                for i, c in enumerate(names)
            },
            "tiers": {
                t: {"jaccard": _num(tier_jaccard[i]), "share_kept": _num(tier_kept[i])}
                for i, t in enumerate(tiers)
            },
        },
        "niches": {
            "features": design.used,
            "skipped_features": design.skipped,
            "classes": {
                names[c]: {
                    "k": m.k,
                    "chosen_by": m.chosen_by,
                    "candidates": [
                        {k: (_num(v) if isinstance(v, float) else v) for k, v in cand.items()}
                        for cand in m.candidates
                    ],
                    "niches": niche_text[c],
                }
                for c, m in enumerate(models)
            },
        },
        "quality": {
            "segments": seg.num_rows,
            "failing": [
                f"{lv} {sg}: {ft}"
                for lv, sg, ft in zip(
                    seg.column("level").to_pylist(),
                    seg.column("segment").to_pylist(),
                    seg.column("failed_tests").to_pylist(),
                    strict=True,
                )
                if ft
            ],
        },
        "overrides": {
            "file": overrides_source,
            "applied": n_over,
            "from_file": from_file,
            "from_dashboard": from_dashboard,
        },
    }
    if review_manifest is not None:
        manifest["review"] = review_manifest
    return SegmentsResult(
        customers=pa.table(out),
        tables=tables,
        manifest=manifest,
        warnings=warnings,
        value_cuts=vcut,
        potential_cuts=pcut,
        programmes=programmes,
    )


#: how the class goals' note on the settings' rates used without a previous run begins
def _review_interval(
    as_of: dt.date | None, previous_as_of: dt.date | None, s: SegmentSettings
) -> tuple[float | None, str, list[str], bool]:
    """Days between the previous run and this one, the words for the rates' period, a
    warning when the interval is not twelve months (to the nearest month) or unknown, and
    whether the class goals may use the rates seen over it (``goal_rates_min_months``).

    Examples
    --------
    >>> s = SegmentSettings()
    >>> days, period, (note,), use = _review_interval(
    ...     dt.date(2025, 12, 31), dt.date(2025, 11, 30), s)
    >>> days, period, use
    (31.0, 'over 1 month', False)
    >>> print(note)  # doctest: +NORMALIZE_WHITESPACE
    the previous run is 1 month before this one (as of 2025-11-30 against 2025-12-31): too
    short a time to show a year's class moves (customers near a cut point move back and
    forth), so class_goals use [segments] goal_up_rate 0.1, goal_capture_rate 0.1 and the
    defection risk (else goal_retention_rate 0.9), as without a previous run;
    previous_class, class_change, migration and class_movers compare the two runs all the
    same; the rates seen are used from [segments] goal_rates_min_months = 6 months apart
    """
    if as_of is None or previous_as_of is None:
        return (
            None,
            "last year",
            [
                "the previous run's analysis date is unknown (its folder has no manifest.json "
                "with an as_of, its customers table no last_purchase and recency_days): the "
                "rates seen since it are read as yearly in class_goals; give --previous the "
                "output folder of a tierwise run as it wrote it"
            ],
            True,
        )
    days = float((as_of - previous_as_of).days)
    if days <= 0:
        return (
            None,
            "between the runs",
            [
                f"the previous run (as of {previous_as_of}) is not before this one (as of "
                f"{as_of}): the rates seen between them are not annualised; give --previous "
                "an earlier run"
            ],
            True,
        )
    months = days / (365.25 / 12)
    if round(months) == 12:
        return days, "last year", [], True
    words = count_text(round(months), "month") if months >= 1 else count_text(round(days), "day")
    when = f"the previous run is {words} before this one (as of {previous_as_of} against {as_of})"
    if round(months) < s.goal_rates_min_months:
        return (
            days,
            f"over {words}",
            [
                f"{when}: too short a time to show a year's class moves (customers near a cut "
                "point move back and forth), so class_goals use [segments] goal_up_rate "
                f"{s.goal_up_rate:g}, goal_capture_rate {s.goal_capture_rate:g} and the "
                f"defection risk (else goal_retention_rate {s.goal_retention_rate:g}), as "
                "without a previous run; previous_class, class_change, migration and "
                "class_movers compare the two runs all the same; the rates seen are used "
                f"from [segments] goal_rates_min_months = {s.goal_rates_min_months} months apart"
            ],
            False,
        )
    return (
        days,
        f"over {words}, annualised",
        [
            f"{when}, not a year: the rates seen between them are annualised for "
            "class_goals; give --previous the run of a year before for a yearly review"
        ],
        True,
    )


def _single_order_note(
    customers: pa.Table,
    s: SegmentSettings,
    names: list[str],
    codes: np.ndarray,
    est: np.ndarray,
) -> str | None:
    """A warning naming the classes with field visits in their programme whose established
    members mostly bought only once (at least ``single_order_share`` of them): each class
    then rests on a single order, and a one-off buyer that is leaving can be a key account.

    Examples
    --------
    >>> t = pa.table({"n_orders": [1, 1, 4, 5], "status": ["at_risk", "active", "lapsed", "active"],
    ...               "p_alive": [0.2, 1.0, 0.1, 0.9]})
    >>> print(_single_order_note(t, SegmentSettings(), ["A", "B", "C", "D"],
    ...                          np.array([0, 0, 1, 1]), np.ones(4, bool)))
    ... # doctest: +NORMALIZE_WHITESPACE
    every established customer of class A (gold: protect and grow) bought only once, 1 of
    them at risk, P(alive) as low as 0.20: the class rests on one order each, not on a
    relationship; check these customers before planning visits for them (an override in
    [segments] overrides_file or the dashboard), or class on expected value with [segments]
    value_axis = "clv" once the lifetime stage can fit a model (it needs repeat buyers);
    [segments] single_order_share sets when this is said
    """
    orders = figure(customers, "n_orders")
    if np.isnan(orders).all():
        return None
    status = (
        np.asarray(
            pc.fill_null(pc.cast(customers.column("status"), pa.string()), "").to_numpy(
                zero_copy_only=False
            ),
            dtype=object,
        )
        if "status" in customers.column_names
        else np.full(len(codes), "", dtype=object)
    )
    p_alive = figure(customers, "p_alive")
    leaving = np.isin(status, ["at_risk", "inactive", "lapsed"])
    parts: list[str] = []
    low_p = np.inf
    for c, name in enumerate(names):
        tier = s.tiers[name]
        if s.programmes[tier].visits_min <= 0:
            continue
        members = (codes == c) & est
        once = members & (orders == 1)
        m, k = int(members.sum()), int(once.sum())
        if m == 0 or k < s.single_order_share * m:
            continue
        left = once & leaving
        who = "every established customer" if k == m else f"{k} of the {m} established customers"
        text = f"{who} of class {name} ({tier}: {s.classes[name]}) bought only once"
        if left.any():
            words = " or ".join(str(w).replace("_", " ") for w in np.unique(status[left]))
            text += f", {int(left.sum())} of them {words}"
        parts.append(text)
        if (once & np.isfinite(p_alive)).any():
            low_p = min(low_p, float(np.nanmin(p_alive[once])))
    if not parts:
        return None
    alive = f", P(alive) as low as {low_p:.2f}" if np.isfinite(low_p) else ""
    return (
        "; ".join(parts)
        + alive
        + ": the class rests on one order each, not on a relationship; check these customers "
        "before planning visits for them (an override in [segments] overrides_file or the "
        'dashboard), or class on expected value with [segments] value_axis = "clv" once the '
        "lifetime stage can fit a model (it needs repeat buyers); [segments] "
        "single_order_share sets when this is said"
    )


def _cut_basis(
    x: np.ndarray, est: np.ndarray, s: SegmentSettings, label: str
) -> tuple[np.ndarray | None, str | None]:
    """The customers an axis's cut points are found among, and a warning when they are not
    the established ones.

    The established customers with a positive figure, unless fewer than
    ``min_cut_customers`` of them have one while thin customers have one too: then every
    customer with a positive figure (``None``), so that in a short export, where every
    customer is new, the largest are classed on the value they show rather than on
    potential alone.

    Examples
    --------
    >>> s = SegmentSettings(min_history_days=180, min_cut_customers=2)
    >>> x = np.array([5.0, 3.0, 1.0])
    >>> _cut_basis(x, np.array([True, True, False]), s, "net profit")[1] is None
    True
    >>> basis, note = _cut_basis(x, np.array([False, False, True]), s, "net profit")
    >>> basis is None, note.split(":")[0]
    (True, 'only 1 established customer has a positive net profit')
    """
    positive = np.isfinite(x) & (x > 0)
    n_est = int((positive & est).sum())
    n_thin = int((positive & ~est).sum())
    if n_est >= s.min_cut_customers or n_thin == 0:
        return est, None
    who = (
        "no established customer has"
        if n_est == 0
        else f"only {n_est} established customer{'s have' if n_est > 1 else ' has'}"
    )
    return None, (
        f"{who} a positive {label}: {int((~est).sum())} of {len(x)} customers have too little "
        f"history (under [segments] min_history_days = {s.min_history_days} days since their "
        "first purchase, a status in thin_statuses, or prospects), so the cut points of "
        f"{label} are found among all {n_est + n_thin} customers with a positive figure, and a "
        "customer whose figure reaches a cut is classed on it; give a longer history, lower "
        "min_history_days, or set [segments] min_cut_customers"
    )


def _num(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _cut_manifest(cp: CutPoints) -> dict[str, Any]:
    return {
        "method": cp.method,
        "thresholds": [_num(t) for t in cp.thresholds],
        "how": cp.how,
        "details": cp.details,
    }


def _reason_bodies(
    customers: pa.Table,
    s: SegmentSettings,
    rule: ClassRule,
    rule_code: np.ndarray,
    value: np.ndarray,
    potential: np.ndarray,
    thin: np.ndarray,
    ease_level: np.ndarray,
    ease: np.ndarray,
    vcut: CutPoints,
    pcut: CutPoints,
    *,
    v_ranked: np.ndarray,
    p_ranked: np.ndarray,
    value_only: bool = False,
    potential_word: str = "not estimated",
) -> pa.Array:
    """The middle of each class_reason (between "X: " and " → tier: action").

    ``value_only``: the run has no potential figure, or one the classes do not use, which
    the reason then says instead of a potential ("potential not estimated", or with
    ``potential_word`` "potential not used").

    Ranks ("top 12%", "bottom 30%") are among the customers each axis's cut points were
    found on (``v_ranked``, ``p_ranked``: established, with a positive figure, unless too
    few), and the cut that decided the level is named; a figure of zero or below is given as
    it is.
    """
    sym = s.currency_symbol
    vlabel = VALUE_LABELS[s.value_axis]
    plabel = s.potential_axis
    v_rank = _rank_text(value, v_ranked, vlabel)
    p_rank = _rank_text(potential, p_ranked, plabel)
    money_v, v_cut = _cut_text(value, vcut.thresholds, sym)
    money_p, p_cut = _cut_text(potential, pcut.thresholds, sym)
    # a customer who stopped buying says so next to its value: "(€93, at risk)"
    status_in: pa.Array | pa.Scalar = pa.scalar("")
    status_alone: pa.Array | pa.Scalar = pa.scalar("")
    if "status" in customers.column_names:
        st = pc.replace_substring(
            pc.fill_null(pc.cast(customers.column("status"), pa.string()), ""), "_", " "
        )
        lapsing = pc.is_in(st, value_set=pa.array(["at risk", "inactive", "lapsed"]))
        status_in = pc.if_else(lapsing, join_text(", ", st), pa.scalar(""))
        status_alone = pc.if_else(lapsing, join_text(" (", st, ")"), pa.scalar(""))
    cut_in = pc.if_else(pc.equal(v_cut, ""), pa.scalar(""), join_text(", ", v_cut))
    in_paren = join_text(" (", money_v, cut_in, status_in, ")")
    value_part = pc.if_else(
        pa.array((value <= 0) | (len(v_ranked) == 0)),
        join_text(f"{vlabel} ", money_v, status_alone),
        join_text(v_rank, in_paren),
    )
    wallet = figure(customers, "wallet")
    sow = figure(customers, "share_of_wallet")
    if np.isnan(sow).all() and "revenue_12m" in customers.column_names:
        with np.errstate(all="ignore"):
            sow = np.clip(figure(customers, "revenue_12m") / wallet, 0, 1)
    has_wallet = ~np.isnan(wallet)
    from .classes import percent_text

    pot_part = pc.if_else(
        pa.array(has_wallet & ~np.isnan(sow)),
        join_text(percent_text(sow), " share of a ", money_text(wallet, sym), " wallet"),
        join_text(f"{plabel} ", money_text(potential, sym)),
    )
    # ease words: level 0 is the hardest
    top_level = len(rule.ease_cuts)
    ease_word = np.where(
        ease_level == 0, "hard to serve", np.where(ease_level >= top_level, "easy", "fair")
    )
    ease_word = np.where(ease_word == "easy", "easy to serve", ease_word)
    ease_word = np.where(ease_word == "fair", "moderately easy to serve", ease_word)
    ease_num = pc.cast(pa.array(np.round(np.nan_to_num(ease)).astype(np.int64)), pa.string())
    ease_part = pc.if_else(
        pa.array(np.isnan(ease)),
        pa.scalar("ease not measured"),
        join_text(pa.array(ease_word.astype(object), pa.string()), " (ease ", ease_num, "/100)"),
    )
    # why a thin customer has too little history
    is_prospect = _bool(customers, "is_prospect")
    status = (
        pc.fill_null(pc.cast(customers.column("status"), pa.string()), "")
        if "status" in customers.column_names
        else pa.array([""] * len(value))
    )
    tenure = figure(customers, "tenure_days")
    tenure_txt = pc.cast(pa.array(np.nan_to_num(tenure).astype(np.int64)), pa.string())
    why = pc.if_else(
        pa.array(is_prospect),
        pa.scalar("prospect"),
        pc.if_else(
            pc.equal(status, "new"),
            pa.scalar("new customer"),
            pc.if_else(
                pc.equal(status, "prospect"),
                pa.scalar("no purchases yet"),
                join_text(tenure_txt, " days of history"),
            ),
        ),
    )
    p_cut_in = pc.if_else(pc.equal(p_cut, ""), pa.scalar(""), join_text(", ", p_cut))
    thin_part = join_text(
        why,
        ", classed on potential alone: ",
        pc.if_else(
            pa.array((potential <= 0) | (len(p_ranked) == 0)),
            join_text(f"{plabel} ", money_text(potential, sym)),
            join_text(p_rank, " (", money_p, p_cut_in, ")"),
        ),
    )
    if s.potential_axis == "headroom":
        thin_part = pc.if_else(
            pa.array(has_wallet),
            join_text(thin_part, " in a ", money_text(wallet, sym), " wallet"),
            thin_part,
        )
    if value_only:
        pot_part = pa.array([f"potential {potential_word}"] * len(value), pa.string())
        thin_part = join_text(why, f", too little history for a value; potential {potential_word}")
    second = pot_part if s.scheme == "value_potential" else ease_part
    grid_part = join_text(value_part, ", ", second)
    # a thin customer whose value lifts it above its potential-only class says both
    grid_part = pc.if_else(
        pa.array(thin), join_text(why, ", classed on the value it shows: ", grid_part), grid_part
    )
    hard_part = join_text(value_part, ", ", ease_part)
    return pc.if_else(
        pa.array(rule_code == RULE_POTENTIAL),
        thin_part,
        pc.if_else(pa.array(rule_code == RULE_HARD), hard_part, grid_part),
    )


def _class_goals(
    customers: pa.Table,
    s: SegmentSettings,
    rule: ClassRule,
    final: np.ndarray,
    rule_code: np.ndarray,
    value: np.ndarray,
    vcut: CutPoints,
    second: np.ndarray,
    headroom: np.ndarray,
    revenue: np.ndarray,
    rates: dict[str, dict[str, float]],
    period: str,
    names: list[str],
    tiers: list[str],
    tier_of_class: np.ndarray,
    *,
    previous_given: bool,
) -> tuple[pa.Table, list[str]]:
    """class_goals: per class, the goals for the coming year (see the module text)."""
    k = len(names)
    warnings: list[str] = []
    if np.isnan(headroom).all():
        wallet = figure(customers, "wallet")
        headroom = np.maximum(wallet - np.nan_to_num(revenue), 0)
    room = np.nan_to_num(np.maximum(headroom, 0))
    rev = np.nan_to_num(revenue)
    cnt = np.bincount(final, minlength=k)
    rev_c = np.bincount(final, weights=rev, minlength=k)
    val_c = np.bincount(final, weights=value, minlength=k)
    room_c = np.bincount(final, weights=room, minlength=k)
    gm = figure(customers, "gross_margin")
    revh = figure(customers, "revenue")
    ok = ~np.isnan(gm) & ~np.isnan(revh)
    gm_c = np.bincount(final[ok], weights=gm[ok], minlength=k)
    revh_c = np.bincount(final[ok], weights=revh[ok], minlength=k)
    with np.errstate(all="ignore"):
        margin_rate = np.where(revh_c > 0, gm_c / revh_c, np.nan)
        ratio = np.clip(np.where(rev_c > 0, val_c / rev_c, np.nan), 0, 1)
    base_ratio = float(np.clip(value.sum() / rev.sum(), 0, 1)) if rev.sum() > 0 else 0.0
    ratio = np.where(np.isfinite(ratio) & (ratio > 0), ratio, base_ratio)
    # the next better class along value, second level fixed
    vl = levels(value, vcut.thresholds)
    grid = rule.grid
    nv = grid.shape[0]
    target = np.full(grid.shape, -1, dtype=np.int64)
    for lv in range(nv):
        for col in range(grid.shape[1]):
            for up in range(lv + 1, nv):
                if grid[up, col] < grid[lv, col]:
                    target[lv, col] = up
                    break
    thresholds = np.asarray(vcut.thresholds, dtype=np.float64)
    return _goals_table(
        s, names, tiers, tier_of_class, final, rule_code, value, vl, second, target, thresholds,
        room, ratio, cnt, rev_c, val_c, room_c, margin_rate, rates, period, customers,
        warnings, previous_given=previous_given,
    )  # fmt: skip


def _goals_table(
    s: SegmentSettings,
    names: list[str],
    tiers: list[str],
    tier_of_class: np.ndarray,
    final: np.ndarray,
    rule_code: np.ndarray,
    value: np.ndarray,
    vl: np.ndarray,
    second: np.ndarray,
    target: np.ndarray,
    thresholds: np.ndarray,
    room: np.ndarray,
    ratio: np.ndarray,
    cnt: np.ndarray,
    rev_c: np.ndarray,
    val_c: np.ndarray,
    room_c: np.ndarray,
    margin_rate: np.ndarray,
    rates: dict[str, dict[str, float]],
    period: str,
    customers: pa.Table,
    warnings: list[str],
    *,
    previous_given: bool,
) -> tuple[pa.Table, list[str]]:
    k = len(names)
    tgt = target[vl, second]
    reach = np.where(tgt > 0, thresholds[np.maximum(tgt - 1, 0)], np.inf)
    gap = reach - value
    able = (rule_code == RULE_GRID) & (tgt > 0) & (gap <= room * ratio[final])
    could = np.bincount(final[able], minlength=k)
    risk = figure(customers, "defection_risk")
    okr = ~np.isnan(risk)
    risk_c = np.bincount(final[okr], weights=risk[okr], minlength=k)
    risk_n = np.bincount(final[okr], minlength=k)
    # the goals are set on customers: a prospect has nothing to retain
    prospects = np.bincount(final[_no_purchase(customers)], minlength=k)
    bought = cnt - prospects
    rows: dict[str, list[Any]] = {
        c: []
        for c in (
            "value_class", "action", "tier", "customers", "prospects", "revenue_12m",
            s.value_axis, "headroom", "could_move_up", "up_rate", "customers_to_move_up",
            "capture_rate", "revenue_to_grow", "margin_rate", "margin_to_grow",
            "retention_rate", "customers_to_retain", "basis",
        )
    }  # fmt: skip
    defaults_used = False
    for c, name in enumerate(names):
        seen = rates.get(name)
        if seen is not None:
            up_rate = seen["up_rate"]
            capture = seen["capture_rate"] if np.isfinite(seen["capture_rate"]) else 0.0
            retention = seen["retention_rate"]
            basis = f"rates seen {period} ({int(seen['previous_customers'])} customers)"
        else:
            defaults_used = True
            up_rate, capture = s.goal_up_rate, s.goal_capture_rate
            if risk_n[c] > 0:
                retention = 1.0 - risk_c[c] / risk_n[c]
                basis = "settings goal rates; retention from the defection risk"
            else:
                retention = s.goal_retention_rate
                basis = "settings goal rates"
        grow = room_c[c] * capture
        values = {
            "value_class": name,
            "action": s.classes[name],
            "tier": tiers[tier_of_class[c]],
            "customers": int(bought[c]),
            "prospects": int(prospects[c]),
            "revenue_12m": float(rev_c[c]),
            s.value_axis: float(val_c[c]),
            "headroom": float(room_c[c]),
            "could_move_up": int(could[c]),
            "up_rate": float(up_rate),
            "customers_to_move_up": int(np.round(could[c] * up_rate)),
            "capture_rate": float(capture),
            "revenue_to_grow": float(grow),
            "margin_rate": _num(float(margin_rate[c])),
            "margin_to_grow": _num(float(grow * margin_rate[c])),
            "retention_rate": float(retention),
            "customers_to_retain": int(np.round(bought[c] * retention)),
            "basis": basis,
        }
        for key, v in values.items():
            rows[key].append(v)
    # with a previous run, the review's own warnings say why a class's goals use the
    # settings' rates (too short an interval, no customer or class in common): this note
    # would tell the user to give one
    if defaults_used and not previous_given:
        warnings.append(
            f"class goals use [segments] goal_up_rate {s.goal_up_rate:g} and "
            f"goal_capture_rate {s.goal_capture_rate:g} where no previous run shows last "
            "year's rates; run with --previous DIR (a previous run's output folder) to use them"
        )
    types = {"value_class": pa.string(), "action": pa.string(), "tier": pa.string(),
             "basis": pa.string(), "customers": pa.int64(), "prospects": pa.int64(),
             "could_move_up": pa.int64(), "customers_to_move_up": pa.int64(),
             "customers_to_retain": pa.int64()}  # fmt: skip
    return (
        pa.table({c: pa.array(v, types.get(c, pa.float64())) for c, v in rows.items()}),
        warnings,
    )


def _previous_codes(
    ids: pa.Array,
    previous: pa.Table,
    names: list[str],
    customers: pa.Table,
    source: str | None,
) -> np.ndarray:
    """The class the previous run computed for each customer (its code into ``names``;
    -1: not in the previous run, or a class this run does not have). The computed class
    (``value_class_computed``), not an override: an override is the overrides file's to
    give again."""
    col = "value_class_computed"
    if col not in previous.column_names or "customer_id" not in previous.column_names:
        return np.full(len(ids), -1, dtype=np.int64)
    pos, _, _, _ = match_previous(
        ids,
        previous,
        source=source or "previous customers table",
        members_now=customers.column("member_ids")
        if "member_ids" in customers.column_names
        else None,
        tax_now=customers.column("tax_id") if "tax_id" in customers.column_names else None,
    )
    rank = {c: i for i, c in enumerate(names)}
    prev = pc.cast(previous.column(col), pa.string()).to_pylist()
    prev_code = np.array([rank.get(c, -1) if c is not None else -1 for c in prev], dtype=np.int64)
    if not len(prev_code):
        return np.full(len(ids), -1, dtype=np.int64)
    return np.where(pos >= 0, prev_code[np.maximum(pos, 0)], -1)


def _hold_near_cuts(
    previous_code: np.ndarray,
    computed: np.ndarray,
    rule_code: np.ndarray,
    classes_at: Any,
    value_axis: tuple[np.ndarray, tuple[float, ...]],
    potential_axis: tuple[np.ndarray, tuple[float, ...]],
    band: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each customer's class, kept at ``previous_code`` where the cut points moved by up
    to ``band`` of their size (on each axis) would give it; the class codes, the rule
    codes, which customers were kept so, and the axes their figures are near a cut on
    (1 value, 2 potential, 3 both; 0 for the others).

    ``classes_at(value_level, potential_level)`` classes every customer at the given
    levels. A figure within the band of a cut may be on either side of it: each customer's
    levels range from those under the cuts raised by the band to those under the cuts
    lowered by it, and every combination in that range is tried.

    Examples
    --------
    >>> cls = lambda vl, pl: (2 - vl.astype(np.int64), np.zeros(len(vl), np.int8))  # A B C
    >>> v = np.array([950.0, 950.0, 850.0, 1_050.0])
    >>> prev = np.array([1, 2, 1, 2])   # last run: B, C, B, C
    >>> now, _ = cls(np.array([0, 0, 0, 1]), None)   # cuts 1,000 and 5,000: C, C, C, B
    >>> held = _hold_near_cuts(prev, now, np.zeros(4, np.int8), cls,
    ...     (v, (1_000.0, 5_000.0)), (np.zeros(4), ()), 0.1)
    >>> [int(c) for c in held[0]], held[2].tolist()   # 850 is more than 10% below the cut
    ([1, 2, 2, 2], [True, False, False, True])
    >>> held[3].tolist()   # both on the value axis
    [1, 0, 0, 1]
    """

    def ranges(axis: tuple[np.ndarray, tuple[float, ...]]) -> tuple[np.ndarray, np.ndarray]:
        x, cuts = axis
        lo = levels(x, [t + band * abs(t) for t in cuts]).astype(np.int64)
        hi = levels(x, [t - band * abs(t) for t in cuts]).astype(np.int64)
        return lo, hi

    v_lo, v_hi = ranges(value_axis)
    p_lo, p_hi = ranges(potential_axis)
    known = previous_code >= 0
    found = np.zeros(len(computed), dtype=bool)
    found_rule = rule_code.copy()
    for a in range(int((v_hi - v_lo).max(initial=0)) + 1):
        for b in range(int((p_hi - p_lo).max(initial=0)) + 1):
            codes, rules = classes_at(
                np.minimum(v_lo + a, v_hi).astype(np.int8),
                np.minimum(p_lo + b, p_hi).astype(np.int8),
            )
            hit = known & ~found & (np.asarray(codes, dtype=np.int64) == previous_code)
            found_rule[hit] = np.asarray(rules)[hit]
            found |= hit
    held = found & (computed.astype(np.int64) != previous_code)
    out = computed.copy()
    out[held] = previous_code[held].astype(out.dtype)
    rules_out = rule_code.copy()
    rules_out[held] = found_rule[held]
    # the axes whose band the customer's figure is in: 1 value, 2 potential, 3 both
    axis = np.where(held, (v_hi != v_lo).astype(np.int8) + 2 * (p_hi != p_lo), 0).astype(np.int8)
    return out, rules_out, held, axis


def _took_by_place(s: SegmentSettings) -> bool:
    """Whether a class table of ``s`` is the built-in one given to renamed classes by place
    (left out of the settings, or written as it)."""
    data = follow_renamed_classes({"segments": {"classes": dict(s.classes)}})["segments"]
    base = SegmentSettings.model_validate(data)
    # the hard-to-serve class is the last one either way: no table of its own
    return any(
        getattr(s, key) == getattr(base, key)
        for sec, key in FOLLOW_CLASSES
        if sec == "segments" and key != "hard_to_serve_class"
    )
