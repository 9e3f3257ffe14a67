r"""Niches: clusters on behaviour and needs within each class, named by what sets them apart.

**Features.** The ``niche_features`` columns the table has: a number column is taken as
:math:`\log(1 + x)` when it is never negative (sizes and counts are skewed) and standardised
within the class (a missing value sits at the class mean); a text column becomes one
indicator per frequent category (``niche_max_categories``), scaled by :math:`1/\sqrt 2` so
that two customers of different categories are one unit apart, as two customers one
standard deviation apart on a number.

**Clusters.** k-means (scikit-learn, ``niche_starts`` k-means++ starts, at most
``niche_max_iter`` iterations, one thread) on a seeded sample of at most
``niche_sample_size`` members of the class; every member then joins its nearest centre.

**How many.** For each :math:`k` from 2 to ``niche_max``, Hennig's clusterboot (2007,
*Cluster-wise assessment of cluster stability*, CSDA 52): draw ``niche_resamples`` bootstrap
resamples of the sample, cluster each afresh, and give each original cluster the mean over
resamples of its best Jaccard similarity with a resample's cluster (counted over the
distinct points drawn). A :math:`k` is eligible when every cluster's mean Jaccard reaches
``niche_stable_jaccard`` and every cluster holds at least ``niche_min_share`` of the class
and ``niche_min_customers``; one niche is always eligible. The search stops at the first
:math:`k` with a cluster below the Jaccard floor (more clusters only cut unstable ones
finer, at the cost of ``niche_resamples`` more fits each). Among the eligible, the lowest
BIC wins (Schwarz 1978), for the clusters read as a mixture model with hard assignments:
number columns Gaussian with a diagonal covariance per cluster (variances floored at 1/1000
of the column's), text columns categorical per cluster (missing and rare categories as one
more category):

.. math::

    \mathrm{BIC}(k) = -2\Big[\sum_j n_j \log\frac{n_j}{n}
    - \frac12 \sum_j \sum_d n_j \big(\log(2\pi s_{jd}^2) + 1\big)
    + \sum_j \sum_f \sum_c n_{jfc} \log\frac{n_{jfc}}{n_j}\Big]
    + p \log n,

with :math:`p = (k - 1) + 2kd + k\sum_f (m_f - 1)` for :math:`d` number columns and text
columns of :math:`m_f` categories. Splitting one Gaussian-like group in two lowers the
within variances but costs :math:`n \log 2` in the mixing term and more parameters, so a
homogeneous group stays one niche while well-separated groups split.

**Names.** A niche is named by its most distinguishing features against its class (against
the whole base for a class with one niche): for a number, the difference of means in the
class's standard deviations ("large orders", "infrequent orders"); for a category, the
difference of shares in units of the class's binomial standard deviation, named only when
most of the niche has it ("Hospitality"). Names are unique across the whole run
(:func:`unique_names`): niches of different classes that would read alike (two one-niche
classes both "Large companies" against the base) take their next distinguishing features
in turn until they differ, then what sets each apart from the others of the same name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["NicheDesign", "NicheModel", "fit_niches", "jaccard_best", "niche_names", "unique_names"]

#: Phrases for a feature's low and high side; other columns read "low <name>"/"high <name>".
PHRASES: dict[str, tuple[str, str]] = {
    "employees": ("small companies", "large companies"),
    "annual_revenue": ("small companies", "large companies"),
    "avg_order_value": ("small orders", "large orders"),
    "usual_gap_days": ("frequent orders", "infrequent orders"),
    "n_orders": ("few orders", "many orders"),
    "discount_depth": ("shallow discounts", "deep discounts"),
    "n_visits": ("few visits", "many visits"),
    "n_calls": ("few calls", "many calls"),
    "revenue_12m": ("low spend", "high spend"),
    "recency_days": ("recent buyers", "long since the last order"),
    "tenure_days": ("recent customers", "long-standing customers"),
}
#: How a category of a text column is named ("{}" is the category).
CATEGORY_FORMAT: dict[str, str] = {"industry": "{}", "current_channel": "{} channel"}

_SQRT_HALF = float(np.sqrt(0.5))


@dataclass
class NicheDesign:
    """The niche features of every customer, prepared once.

    ``numeric`` holds the transformed number columns (NaN where missing); ``codes`` the
    category code of each text column (-1: missing or a rare category).
    """

    numeric_names: list[str]
    numeric: np.ndarray
    raw: np.ndarray
    logged: list[bool]
    category_names: list[str]
    codes: np.ndarray
    categories: list[list[str]]
    skipped: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, table: pa.Table, features: Sequence[str], max_categories: int) -> NicheDesign:
        """Read the niche features of ``table`` (absent or empty columns are skipped)."""
        n = table.num_rows
        num_names: list[str] = []
        num_cols: list[np.ndarray] = []
        raw_cols: list[np.ndarray] = []
        logged: list[bool] = []
        cat_names: list[str] = []
        cat_codes: list[np.ndarray] = []
        cats: list[list[str]] = []
        skipped: list[str] = []
        for name in dict.fromkeys(features):
            if name not in table.column_names or table.column(name).null_count == n:
                skipped.append(name)
                continue
            col = table.column(name)
            if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
                x = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
                x = np.where(np.isfinite(x), x, np.nan)
                nonneg = bool(np.nanmin(x) >= 0) if np.isfinite(x).any() else True
                num_names.append(name)
                num_cols.append(np.log1p(x) if nonneg else x)
                raw_cols.append(x)
                logged.append(nonneg)
            elif pa.types.is_boolean(col.type):
                x = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
                num_names.append(name)
                num_cols.append(x)
                raw_cols.append(x)
                logged.append(False)
            else:
                text = pc.cast(col, pa.string())
                counts = pc.value_counts(text.drop_null() if hasattr(text, "drop_null") else text)
                vals = counts.field("values").to_pylist()
                cnt = counts.field("counts").to_numpy()
                keep = [v for _, v in sorted(zip(-cnt, vals, strict=True))][:max_categories]
                idx = pc.index_in(text, value_set=pa.array(keep, pa.string()))
                cat_names.append(name)
                cat_codes.append(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False))
                cats.append(keep)
        return cls(
            numeric_names=num_names,
            numeric=np.column_stack(num_cols) if num_cols else np.zeros((n, 0)),
            raw=np.column_stack(raw_cols) if raw_cols else np.zeros((n, 0)),
            logged=logged,
            category_names=cat_names,
            codes=(
                np.column_stack(cat_codes).astype(np.int32)
                if cat_codes
                else np.zeros((n, 0), np.int32)
            ),
            categories=cats,
            skipped=skipped,
        )

    @property
    def used(self) -> list[str]:
        """The features used, numbers then categories."""
        return [*self.numeric_names, *self.category_names]

    @property
    def width(self) -> int:
        """Columns of the standardised matrix."""
        return len(self.numeric_names) + sum(len(c) for c in self.categories)

    def scaling(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each number column over ``rows``."""
        x = self.numeric[rows]
        if x.shape[1] == 0 or x.shape[0] == 0:
            return np.zeros(x.shape[1]), np.ones(x.shape[1])
        with np.errstate(all="ignore"):
            ok = ~np.isnan(x)
            cnt = ok.sum(axis=0)
            mean = np.where(cnt > 0, np.nansum(x, axis=0) / np.maximum(cnt, 1), 0.0)
            var = np.nansum((x - mean) ** 2, axis=0) / np.maximum(cnt, 1)
        sd = np.sqrt(var)
        return mean, np.where(sd > 0, sd, 1.0)

    def matrix(self, rows: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """Standardised design matrix of ``rows`` (float32)."""
        z = np.zeros((len(rows), self.width), dtype=np.float32)
        k = len(self.numeric_names)
        if k:
            x = (self.numeric[rows] - mean) / sd
            z[:, :k] = np.nan_to_num(x, nan=0.0)
        col = k
        for j, cats in enumerate(self.categories):
            c = self.codes[rows, j]
            hit = c >= 0
            z[np.flatnonzero(hit), col + c[hit]] = _SQRT_HALF
            col += len(cats)
        return z

    def present(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Whether every niche feature is present (a category on record), per row."""
        num = self.numeric if rows is None else self.numeric[rows]
        n = num.shape[0]
        ok = np.ones(n, dtype=bool)
        if num.shape[1]:
            ok &= ~np.isnan(num).any(axis=1)
        return ok


@dataclass
class NicheModel:
    """The niches of one class.

    Attributes
    ----------
    k
        Number of niches.
    centres
        Centres in the class's standardised space (k × width).
    mean, sd
        The class's scaling of the number columns.
    names
        Name of each niche (its distinguishing features).
    jaccard
        Mean bootstrap Jaccard of each niche (NaN when one niche).
    candidates
        One row per number of niches tried: k, bic, min_jaccard, min_share, eligible.
    chosen_by
        Why this number.
    """

    k: int
    centres: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    names: list[str] = field(default_factory=list)
    jaccard: np.ndarray = field(default_factory=lambda: np.zeros(0))
    candidates: list[dict[str, Any]] = field(default_factory=list)
    chosen_by: str = ""

    def assign(self, design: NicheDesign, rows: np.ndarray, chunk: int = 65536) -> np.ndarray:
        """Nearest niche of each row."""
        out = np.zeros(len(rows), dtype=np.int32)
        if self.k <= 1 or len(rows) == 0:
            return out
        c = self.centres.astype(np.float32)
        cc = (c * c).sum(axis=1)
        for s in range(0, len(rows), chunk):
            z = design.matrix(rows[s : s + chunk], self.mean, self.sd)
            d = cc[None, :] - 2.0 * (z @ c.T)
            out[s : s + chunk] = np.argmin(d, axis=1)
        return out


def jaccard_best(orig: np.ndarray, boot: np.ndarray, k_orig: int, k_boot: int) -> np.ndarray:
    """For each original cluster, the best Jaccard similarity with a bootstrap cluster over
    the same points (labels per distinct point drawn).

    Examples
    --------
    >>> jaccard_best(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0]), 2, 2).tolist()
    [1.0, 1.0]
    >>> jaccard_best(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1]), 2, 2).round(3).tolist()
    [0.667, 0.5]
    """
    table = np.bincount(orig * k_boot + boot, minlength=k_orig * k_boot).reshape(k_orig, k_boot)
    rows = table.sum(axis=1, keepdims=True)
    cols = table.sum(axis=0, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        j = table / (rows + cols - table)
    j = np.nan_to_num(j)
    return j.max(axis=1)


def _bic(num: np.ndarray, codes: np.ndarray, labels: np.ndarray, k: int) -> float:
    """BIC of the clusters read as a mixture model with hard assignments (module text):
    number columns Gaussian with a diagonal covariance per cluster, text columns categorical
    per cluster. Number columns constant over the sample take no part."""
    n = len(labels)
    if n <= k:
        return float("inf")
    nj = np.bincount(labels, minlength=k).astype(np.float64)
    used = nj > 0
    n_used = nj[used]
    loglik = float(np.sum(n_used * np.log(n_used / n)))
    params = k - 1
    var_all = num.var(axis=0) if num.shape[0] else np.zeros(num.shape[1])
    for c in np.flatnonzero(var_all > 0):
        x = num[:, c]
        s1 = np.bincount(labels, weights=x, minlength=k)[used]
        s2 = np.bincount(labels, weights=x * x, minlength=k)[used]
        var = np.maximum(s2 / n_used - (s1 / n_used) ** 2, var_all[c] * 1e-3)
        loglik -= 0.5 * float(np.sum(n_used * (np.log(2 * np.pi * var) + 1.0)))
        params += 2 * k
    for f in range(codes.shape[1]):
        cat = codes[:, f] + 1  # 0: missing or a rare category
        m = int(cat.max()) + 1
        table = np.bincount(labels * m + cat, minlength=k * m).reshape(k, m)[used]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(table > 0, table * np.log(table / n_used[:, None]), 0.0)
        loglik += float(terms.sum())
        params += k * (int((np.bincount(cat, minlength=m) > 0).sum()) - 1)
    return -2.0 * loglik + params * np.log(n)


def _kmeans(
    z: np.ndarray, k: int, seed: int, n_init: int, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed, max_iter=max_iter)
    with warnings.catch_warnings():
        # fewer distinct customers than k (a resample of a few kinds of customer) leaves
        # clusters empty: the fit's criterion counts the clusters used, so the k that asks
        # for more than the data holds loses to a smaller one; nothing for the user to do
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = km.fit_predict(z)
    return labels.astype(np.int64), km.cluster_centers_.astype(np.float64)


def fit_niches(
    design: NicheDesign,
    rows: np.ndarray,
    *,
    seed: int,
    max_k: int,
    min_customers: int,
    min_share: float,
    stable_jaccard: float,
    sample_size: int,
    resamples: int,
    starts: int,
    max_iter: int,
) -> NicheModel:
    """Choose and fit the niches of one class (members ``rows``); see the module text.

    k-means runs on one thread: the same seed gives the same niches on any machine.
    """
    # imported before the limit is set: threadpoolctl limits only the thread pools of
    # libraries already loaded, and scikit-learn brings its own OpenMP runtime
    import sklearn.cluster  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _fit_niches(
            design, rows, seed=seed, max_k=max_k, min_customers=min_customers,
            min_share=min_share, stable_jaccard=stable_jaccard, sample_size=sample_size,
            resamples=resamples, starts=starts, max_iter=max_iter,
        )  # fmt: skip


def _fit_niches(
    design: NicheDesign,
    rows: np.ndarray,
    *,
    seed: int,
    max_k: int,
    min_customers: int,
    min_share: float,
    stable_jaccard: float,
    sample_size: int,
    resamples: int,
    starts: int,
    max_iter: int,
) -> NicheModel:
    n = len(rows)
    mean, sd = design.scaling(rows)
    rng = np.random.default_rng([seed, 0x5E6])
    sample = np.sort(rng.choice(n, size=sample_size, replace=False)) if n > sample_size else None
    srows = rows if sample is None else rows[sample]
    z = design.matrix(srows, mean, sd).astype(np.float64)
    num = z[:, : len(design.numeric_names)]
    codes = design.codes[srows]
    m = len(srows)
    centre1 = z.mean(axis=0, keepdims=True) if m else np.zeros((1, design.width))
    bic1 = _bic(num, codes, np.zeros(m, dtype=np.int64), 1) if m else float("inf")
    candidates: list[dict[str, Any]] = [
        {"k": 1, "bic": bic1, "min_jaccard": None, "min_share": 1.0, "eligible": True}
    ]
    best = NicheModel(1, centre1, mean, sd, chosen_by="one niche")
    floor_share = max(min_share, min_customers / max(n, 1))
    top_k = min(max_k, n // max(min_customers, 1))
    if design.width == 0 or m < 4:
        top_k = 1
    fits: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for k in range(2, top_k + 1):
        labels, centres = _kmeans(z, k, seed + k, n_init=starts, max_iter=max_iter)
        share = np.bincount(labels, minlength=k) / m
        jac = np.zeros(k)
        for b in range(resamples):
            draw = np.random.default_rng([seed, k, b]).integers(0, m, m)
            bl, _ = _kmeans(z[draw], k, seed + 1000 * k + b, n_init=1, max_iter=max_iter)
            # one label per distinct point drawn (a point drawn twice has one label)
            uniq, first = np.unique(draw, return_index=True)
            jac += jaccard_best(labels[uniq], bl[first], k, k)
        jac /= max(resamples, 1)
        bic = _bic(num, codes, labels, k)
        candidates.append(
            {
                "k": k,
                "bic": bic,
                "min_jaccard": float(jac.min()),
                "min_share": float(share.min()),
                "eligible": bool(share.min() >= floor_share and jac.min() >= stable_jaccard),
            }
        )
        fits[k] = (labels, centres, jac)
        if jac.min() < stable_jaccard:
            break  # more niches only cut the unstable ones finer
    eligible = [c for c in candidates if c["eligible"]]
    chosen = min(eligible, key=lambda c: (c["bic"], c["k"]))
    k = int(chosen["k"])
    if k > 1:
        labels, centres, jac = fits[k]
        # niches numbered by size in the sample, largest first (ties by centre order)
        size = np.bincount(labels, minlength=k)
        order = np.lexsort((np.arange(k), -size))
        best = NicheModel(
            k,
            centres[order],
            mean,
            sd,
            jaccard=jac[order],
            chosen_by=(
                f"{k} niches: the lowest BIC among the numbers whose every niche has a "
                f"bootstrap Jaccard of at least {stable_jaccard:g} and a share of at least "
                f"{floor_share:.0%}"
            ),
        )
    else:
        tried = len(candidates) - 1
        best.chosen_by = (
            "one niche: "
            + (
                "no number of niches from 2 up was stable and large enough"
                if tried
                else "too few customers or no feature to cluster on"
            )
            if len(eligible) == 1
            else "one niche: the lowest BIC"
        )
    best.candidates = candidates
    return best


def niche_names(
    design: NicheDesign,
    rows: np.ndarray,
    labels: np.ndarray,
    k: int,
    reference: np.ndarray,
    *,
    n_features: int,
    min_effect: float,
    reference_name: str = "class",
) -> list[str]:
    """Name each niche by its most distinguishing features against ``reference`` rows
    (``reference_name`` says what they are, for a niche with nothing distinguishing)."""
    phrases = niche_phrases(design, rows, labels, k, reference, min_effect=min_effect)
    return [_name(p[:n_features], reference_name) for p in phrases]


def _name(words: Sequence[str], reference_name: str) -> str:
    text = ", ".join(words) if words else f"typical of the {reference_name}"
    return text[:1].upper() + text[1:]


def unique_names(
    design: NicheDesign,
    members: Sequence[np.ndarray],
    phrases: Sequence[Sequence[str]],
    reference_names: Sequence[str],
    *,
    n_features: int,
) -> list[str]:
    """Names of niches (of every class) that no two share.

    ``members[i]`` are the rows of niche ``i``, ``phrases[i]`` its distinguishing phrases,
    strongest first (:func:`niche_phrases`), ``reference_names[i]`` what it was compared
    with. Each starts with its ``n_features`` strongest phrases; while names collide, every
    niche of a colliding name takes its next phrase; niches still alike (no phrases left)
    add what sets each apart from the others of that name (its strongest feature against
    their members); the last resort is a number.

    Examples
    --------
    >>> import pyarrow as pa
    >>> d = NicheDesign.build(pa.table({"employees": [10.0, 12, 900, 1000, 950, 20]}),
    ...                       ["employees"], 5)
    >>> unique_names(d, [np.array([0, 1]), np.array([2, 3]), np.array([4, 5])],
    ...              [["large companies"], ["large companies", "many visits"], []],
    ...              ["base", "base", "base"], n_features=1)
    ['Large companies', 'Large companies, many visits', 'Typical of the base']
    """
    m = len(members)
    used = [min(n_features, len(p)) if n_features else 0 for p in phrases]
    words = [list(p[: used[i]]) for i, p in enumerate(phrases)]

    def groups() -> list[list[int]]:
        by: dict[str, list[int]] = {}
        for i in range(m):
            by.setdefault(_name(words[i], reference_names[i]).lower(), []).append(i)
        return [g for g in by.values() if len(g) > 1]

    for _ in range(max((len(p) for p in phrases), default=0) + 1):
        clash = groups()
        grown = False
        for g in clash:
            for i in g:
                if used[i] < len(phrases[i]):
                    words[i].append(phrases[i][used[i]])
                    used[i] += 1
                    grown = True
        if not clash or not grown:
            break
    for g in groups():
        for i in g:
            others = np.concatenate([members[j] for j in g if j != i])
            if len(members[i]) == 0 or len(others) == 0:
                continue
            labels = np.zeros(len(members[i]), dtype=np.int64)
            apart = niche_phrases(design, members[i], labels, 1, others, min_effect=0.0)[0]
            extra = next((w for w in apart if w not in words[i]), None)
            if extra is not None:
                words[i].append(extra)
    names = [_name(w, reference_names[i]) for i, w in enumerate(words)]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        key = name.lower()
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            names[i] = f"{name} ({seen[key]})"
    return names


def _column_nan_stat(stat: Any, x: np.ndarray) -> np.ndarray:
    """``stat`` (``np.nanmean``, ``np.nanstd``) of each column of ``x``, NaN for a column
    with no value (a column of NaN only; numpy would warn "Mean of empty slice")."""
    out = np.full(x.shape[1], np.nan)
    filled = (~np.isnan(x)).any(axis=0)
    if filled.any():
        with np.errstate(all="ignore"):
            out[filled] = stat(x[:, filled], axis=0)
    return out


def niche_phrases(
    design: NicheDesign,
    rows: np.ndarray,
    labels: np.ndarray,
    k: int,
    reference: np.ndarray,
    *,
    min_effect: float,
) -> list[list[str]]:
    """Per niche, its distinguishing phrases against ``reference`` rows, strongest first,
    each at least ``min_effect`` (standard deviations, or binomial ones for a category)."""
    ref_num = design.numeric[reference]
    ref_mean = _column_nan_stat(np.nanmean, ref_num)
    ref_sd = _column_nan_stat(np.nanstd, ref_num)
    ref_codes = design.codes[reference]
    out: list[list[str]] = []
    for j in range(k):
        members = rows[labels == j]
        effects: list[tuple[float, int, str]] = []
        if len(members):
            mu = _column_nan_stat(np.nanmean, design.numeric[members])
            for i, name in enumerate(design.numeric_names):
                if not (np.isfinite(mu[i]) and ref_sd[i] > 0):
                    continue
                e = float((mu[i] - ref_mean[i]) / ref_sd[i])
                low, high = PHRASES.get(name, (f"low {_label(name)}", f"high {_label(name)}"))
                effects.append((abs(e), i, high if e > 0 else low))
            codes = design.codes[members]
            for i, name in enumerate(design.category_names):
                ncat = len(design.categories[i])
                p_n = np.bincount(codes[:, i][codes[:, i] >= 0], minlength=ncat) / len(members)
                rc = ref_codes[:, i]
                p_r = np.bincount(rc[rc >= 0], minlength=ncat) / max(len(reference), 1)
                sd_r = np.sqrt(np.maximum(p_r * (1 - p_r), 1e-12))
                lift = (p_n - p_r) / sd_r
                lift[p_n < 0.5] = -np.inf
                c = int(np.argmax(lift))
                if np.isfinite(lift[c]) and lift[c] > 0:
                    fmt = CATEGORY_FORMAT.get(name, f"{_label(name)} {{}}")
                    effects.append(
                        (
                            float(lift[c]),
                            len(design.numeric_names) + i,
                            fmt.format(design.categories[i][c].replace("_", " ")),
                        )
                    )
        effects.sort(key=lambda t: (-t[0], t[1]))
        words: list[str] = []
        for eff, _, phrase in effects:
            if eff < min_effect:
                break
            if phrase not in words:
                words.append(phrase)
        out.append(words)
    return out


def _label(name: str) -> str:
    return name.replace("_", " ")
