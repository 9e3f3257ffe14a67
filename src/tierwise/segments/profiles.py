"""segments.csv: one row per class, tier and niche, with its profile and quality tests.

Figures per segment: customers and their share of the base, revenue (last 12 months), the
value axis and the wallet with their shares, averages, the features that set the segment
apart from the whole base (their lift: the segment's mean over the base's, or a category's
share over its share in the base), a profile in plain sentences, the programme, and the
stability measured by the bootstrap.

Quality, TopMark's five tests for a segment (each with its figure and pass/fail):

- **measurable**: share of members with every input they were classed on
  (≥ ``quality_min_measurable``);
- **substantial**: worth a programme of its own by its size *or* by its value: at least
  ``quality_min_customers`` members, or at least ``quality_min_value_share`` of the base's
  revenue or wallet (a key-account class of 20 customers holding half the revenue is
  substantial; requiring both would fail exactly the segments that matter most);
- **accessible**: share of members with a channel on record, i.e. a current channel, a rep,
  an email or a phone (≥ ``quality_min_accessible``);
- **differentiable**: distance of the segment's mean profile (both axes and the niche
  features, each in standard deviations of the base) from the nearest other segment of its
  kind (classes among classes, tiers among tiers, niches among the niches of their class)
  (≥ ``quality_min_distance``); a segment alone of its kind passes;
- **actionable**: it has a programme (a tier with a service level and a channel band, and
  an action for its class).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ..settings.segments import SegmentSettings, TierProgramme
from .classes import money_text
from .niches import NicheDesign

__all__ = ["Figures", "SegmentLevel", "segment_table"]


@dataclass
class SegmentLevel:
    """The segments of one kind (class, tier or niche) and their customers."""

    level: str
    names: list[str]
    codes: np.ndarray
    value_class: list[str]
    tier: list[str]
    action: list[str]
    programme: list[TierProgramme | None]
    jaccard: np.ndarray
    share_kept: np.ndarray
    group: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass
class Figures:
    """The base's figures per customer used in the profiles."""

    revenue: np.ndarray
    value: np.ndarray
    value_label: str
    value_axis: str
    wallet: np.ndarray
    potential: np.ndarray
    potential_axis: str
    measurable: np.ndarray
    accessible: np.ndarray
    profile: np.ndarray
    currency: str


def _money(x: float, symbol: str) -> str:
    return str(money_text(np.array([x]), symbol)[0].as_py())


def _count(x: float, noun: str) -> str:
    """ "1 customer", "1,241 customers"."""
    return f"{int(x):,} {noun}{'' if int(x) == 1 else 's'}"


def _pct(x: float) -> str:
    return "?" if not np.isfinite(x) else f"{x:.0%}"


def _sums(g: np.ndarray, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    ok = ~np.isnan(x)
    s = np.bincount(g[ok], weights=x[ok], minlength=k)
    c = np.bincount(g[ok], minlength=k).astype(np.float64)
    return s, c


def _distinguishing(
    g: np.ndarray, k: int, fig: Figures, design: NicheDesign, top: int
) -> list[str]:
    """The features that set each segment apart from the base, strongest first."""
    cols: list[tuple[str, np.ndarray]] = [
        (fig.value_axis.replace("_", " "), fig.value),
        (fig.potential_axis.replace("_", " "), fig.potential),
    ]
    cols += [(n.replace("_", " "), design.raw[:, i]) for i, n in enumerate(design.numeric_names)]
    found: list[list[tuple[float, str]]] = [[] for _ in range(k)]
    for label, x in cols:
        s, c = _sums(g, x, k)
        base = np.nanmean(x) if np.isfinite(x).any() else np.nan
        with np.errstate(all="ignore"):
            lift = (s / c) / base
        for j in range(k):
            if np.isfinite(lift[j]) and lift[j] > 0 and base > 0:
                found[j].append((abs(float(np.log(lift[j]))), f"{label} ×{lift[j]:.2g}"))
    for i, name in enumerate(design.category_names):
        cats = design.categories[i]
        m = len(cats)
        codes = design.codes[:, i]
        ok = codes >= 0
        table = np.bincount(g[ok] * m + codes[ok], minlength=k * m).reshape(k, m)
        size = np.bincount(g, minlength=k).astype(np.float64)
        base = np.bincount(codes[ok], minlength=m) / max(len(codes), 1)
        with np.errstate(all="ignore"):
            share = table / size[:, None]
            lift = share / base[None, :]
        for j in range(k):
            cand = np.where((share[j] >= 0.25) & np.isfinite(lift[j]) & (lift[j] > 1), lift[j], 0)
            best = int(np.argmax(cand))
            if cand[best] > 0:
                found[j].append(
                    (
                        float(np.log(cand[best])),
                        f"{name.replace('_', ' ')} {cats[best]} {share[j, best]:.0%} "
                        f"(×{lift[j, best]:.2g})",
                    )
                )
    out = []
    for j in range(k):
        items = sorted(found[j], key=lambda t: -t[0])[:top]
        out.append("; ".join(text for _, text in items))
    return out


def segment_table(
    levels: list[SegmentLevel],
    fig: Figures,
    design: NicheDesign,
    s: SegmentSettings,
) -> pa.Table:
    """segments.csv as an Arrow table (see the module text)."""
    n = len(fig.revenue)
    tot_rev = float(np.nansum(fig.revenue))
    tot_val = float(np.nansum(fig.value))
    tot_wal = float(np.nansum(fig.wallet))
    # no wallet estimated for anyone (no potential stage): the profile says so, not "wallet 0"
    any_wallet = bool(np.isfinite(fig.wallet).any())
    rows: dict[str, list[object]] = {
        name: []
        for name in (
            "level", "segment", "value_class", "tier", "action", "customers", "share_customers",
            "revenue_12m", "share_revenue", fig.value_axis, f"share_{fig.value_axis}", "wallet",
            "share_wallet", "avg_revenue_12m", f"avg_{fig.value_axis}", "avg_wallet",
            "share_of_wallet", "distinguishing", "profile", "service_level", "channels",
            "visits_min", "visits_max", "terms", "measurable", "measurable_pass",
            "substantial_pass", "accessible", "accessible_pass", "distance_nearest",
            "differentiable_pass", "actionable_pass", "quality_pass", "failed_tests",
            "jaccard", "share_kept", "stable",
        )
    }  # fmt: skip
    for lv in levels:
        k = len(lv.names)
        g = lv.codes.astype(np.int64)
        cnt = np.bincount(g, minlength=k).astype(np.float64)
        rev, _ = _sums(g, fig.revenue, k)
        val, _ = _sums(g, fig.value, k)
        wal, n_wal = _sums(g, fig.wallet, k)
        wal = np.where(n_wal > 0, wal, np.nan)
        meas = np.bincount(g, weights=fig.measurable.astype(np.float64), minlength=k)
        acc = np.bincount(g, weights=fig.accessible.astype(np.float64), minlength=k)
        d = fig.profile.shape[1]
        cent = np.zeros((k, d))
        for c in range(d):
            cent[:, c] = np.bincount(g, weights=fig.profile[:, c], minlength=k)
        with np.errstate(all="ignore"):
            cent /= cnt[:, None]
        dist = np.full(k, np.nan)
        grp = lv.group if len(lv.group) == k else np.zeros(k, dtype=np.int64)
        for j in range(k):
            others = (np.arange(k) != j) & (grp == grp[j]) & (cnt > 0)
            if others.any() and cnt[j] > 0:
                dist[j] = float(np.sqrt(((cent[others] - cent[j]) ** 2).sum(axis=1)).min())
        dist_text = _distinguishing(g, k, fig, design, s.niche_name_features)
        for j in range(k):
            size = cnt[j]
            with np.errstate(all="ignore"):
                measurable = meas[j] / size if size else np.nan
                accessible = acc[j] / size if size else np.nan
            share_rev = rev[j] / tot_rev if tot_rev else np.nan
            share_wal = wal[j] / tot_wal if tot_wal and np.isfinite(wal[j]) else np.nan
            substantial = bool(
                size > 0
                and (
                    size >= s.quality_min_customers
                    or max(np.nan_to_num(share_rev), np.nan_to_num(share_wal))
                    >= s.quality_min_value_share
                )
            )
            prog = lv.programme[j]
            tests = {
                "measurable": bool(size and measurable >= s.quality_min_measurable),
                "substantial": substantial,
                "accessible": bool(size and accessible >= s.quality_min_accessible),
                "differentiable": bool(np.isnan(dist[j]) or dist[j] >= s.quality_min_distance),
                "actionable": bool(
                    prog is not None and prog.service_level and prog.channels and lv.action[j]
                ),
            }
            failed = [t for t, ok in tests.items() if not ok]
            avg_val = val[j] / size if size else np.nan
            avg_wal = wal[j] / n_wal[j] if n_wal[j] else np.nan
            sow = rev[j] / wal[j] if wal[j] > 0 else np.nan
            label = {"class": "Class", "tier": "Tier", "niche": "Niche"}[lv.level]
            if not size:
                # an empty segment has no averages to give (its tests fail, unsaid)
                profile = f"{label} {lv.names[j]}: no customer in this run."
            else:
                share_n = _pct(size / n if n else np.nan)
                share_val = _pct(val[j] / tot_val if tot_val else np.nan)
                head = (
                    f"{label} {lv.names[j]}: {_count(size, 'customer')} ({share_n} of the base) "
                    f"with {_pct(share_rev)} of revenue"
                )
                if any_wallet:
                    profile = (
                        f"{head}, {share_val} of {fig.value_label} and {_pct(share_wal)} of "
                        f"the wallet. On average {fig.value_label} "
                        f"{_money(avg_val, fig.currency)}, wallet "
                        f"{_money(avg_wal, fig.currency)}, share of wallet {_pct(sow)}."
                    )
                else:
                    profile = (
                        f"{head} and {share_val} of {fig.value_label}. On average "
                        f"{fig.value_label} {_money(avg_val, fig.currency)}; wallet not "
                        "estimated."
                    )
            if dist_text[j] and size:
                profile += f" Stands out by {dist_text[j]}."
            if prog is not None:
                profile += (
                    f" Programme {lv.tier[j]}: {prog.service_level}; {prog.visits_min:g}–"
                    f"{prog.visits_max:g} visits a year; {', '.join(prog.channels)}."
                )
            if failed and size:
                profile += f" Fails the {', '.join(failed)} test{'s' if len(failed) > 1 else ''}."
            values: dict[str, object] = {
                "level": lv.level,
                "segment": lv.names[j],
                "value_class": lv.value_class[j],
                "tier": lv.tier[j],
                "action": lv.action[j],
                "customers": int(size),
                "share_customers": size / n if n else np.nan,
                "revenue_12m": rev[j],
                "share_revenue": share_rev,
                fig.value_axis: val[j],
                f"share_{fig.value_axis}": val[j] / tot_val if tot_val else np.nan,
                "wallet": wal[j],
                "share_wallet": share_wal,
                "avg_revenue_12m": rev[j] / size if size else np.nan,
                f"avg_{fig.value_axis}": avg_val,
                "avg_wallet": avg_wal,
                "share_of_wallet": sow,
                "distinguishing": dist_text[j],
                "profile": profile,
                "service_level": prog.service_level if prog else None,
                "channels": ", ".join(prog.channels) if prog else None,
                "visits_min": prog.visits_min if prog else np.nan,
                "visits_max": prog.visits_max if prog else np.nan,
                "terms": prog.terms if prog else None,
                "measurable": measurable,
                "measurable_pass": tests["measurable"],
                "substantial_pass": tests["substantial"],
                "accessible": accessible,
                "accessible_pass": tests["accessible"],
                "distance_nearest": dist[j],
                "differentiable_pass": tests["differentiable"],
                "actionable_pass": tests["actionable"],
                "quality_pass": not failed,
                "failed_tests": ", ".join(failed),
                "jaccard": float(lv.jaccard[j]),
                "share_kept": float(lv.share_kept[j]),
                "stable": bool(lv.jaccard[j] >= s.stable_jaccard),
            }
            for key, v in values.items():
                rows[key].append(v)
    types = {
        "level": pa.string(), "segment": pa.string(), "value_class": pa.string(),
        "tier": pa.string(), "action": pa.string(), "customers": pa.int64(),
        "distinguishing": pa.string(), "profile": pa.string(), "service_level": pa.string(),
        "channels": pa.string(), "terms": pa.string(), "failed_tests": pa.string(),
        "measurable_pass": pa.bool_(), "substantial_pass": pa.bool_(),
        "accessible_pass": pa.bool_(), "differentiable_pass": pa.bool_(),
        "actionable_pass": pa.bool_(), "quality_pass": pa.bool_(), "stable": pa.bool_(),
    }  # fmt: skip
    return pa.table(
        {
            k: pa.array(
                [None if isinstance(x, float) and np.isnan(x) else x for x in v]
                if types.get(k, pa.float64()) == pa.float64()
                else v,
                types.get(k, pa.float64()),
            )
            for k, v in rows.items()
        }
    )
