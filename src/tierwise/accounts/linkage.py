r"""Probabilistic record linkage with Splink: the Fellegi–Sunter model fitted by EM.

Two records are compared field by field; each comparison falls into one *level* (exact
agreement, close agreement, disagreement, missing). Fellegi and Sunter (1969) score a pair
by the sum of the log-likelihood ratios of its levels,

.. math::

    w = \log_2 \frac{\lambda}{1-\lambda}
        + \sum_k \log_2 \frac{m_{k,\gamma_k}}{u_{k,\gamma_k}},
    \qquad P(\text{match}) = \frac{2^w}{1+2^w},

where :math:`m_{k,l}` is the probability that a true match falls in level :math:`l` of
comparison :math:`k`, :math:`u_{k,l}` the same for a non-match and :math:`\lambda` the
prior probability that two records match. Splink (Linacre et al., 2022) estimates
:math:`u` from random record pairs, :math:`\lambda` from near-certain deterministic
rules, and :math:`m` by expectation maximisation (Winkler 1988) on blocked pairs. The
random pairs are every pair among a simple random sample of records that NumPy draws from
the run's seed (:func:`_draw_u_sample`), not the engine's SQL, so DuckDB and Spark count
the same pairs and the same seed gives the same :math:`u`. Exact agreement on a rare value
counts for more than on a common one (term-frequency adjustment: :math:`u` is replaced by
the value's frequency).

The comparisons, blocking rules and training plan are configuration
(:class:`LinkageSpec`): :func:`company_spec` builds the one for customer masters; tests
build a person-style one for the FEBRL benchmark through the same :func:`predict_pairs`.

References
----------
Fellegi, I. P., & Sunter, A. B. (1969). A theory for record linkage. JASA 64(328).
Winkler, W. E. (1988). Using the EM algorithm for weight computation in the
Fellegi-Sunter model of record linkage. Proc. Survey Research Methods, ASA.
Linacre, R. et al. (2022). Splink: free software for probabilistic record linkage at
scale. International Journal of Population Data Science 7(3).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import Engine
from ..errors import EngineError, ModelError, SettingsError
from ..settings.accounts import AccountSettings

__all__ = [
    "COMPANY_COMPARISONS",
    "LinkageSpec",
    "Predictions",
    "TrainingError",
    "company_spec",
    "predict_pairs",
]

#: The comparisons of :func:`company_spec`, in order, and the columns each reads.
COMPANY_COMPARISONS: dict[str, tuple[str, ...]] = {
    "name": ("name_norm", "name_core"),
    "address": ("address_norm",),
    "postcode": ("postcode_norm", "postcode_prefix"),
    "city": ("city_norm",),
    "phone": ("phone_norm",),
    "email_domain": ("email_domain",),
    "tax_id": ("tax_id_norm",),
    "size": ("employees_norm",),
}

#: Expectation-maximisation passes of the company model, in order: each blocks on these
#: columns (and so cannot train the comparisons that read them). The first
#: ``[accounts] em_passes`` that succeed are used; the others are fall-backs.
COMPANY_TRAINING_RULES: tuple[tuple[str, ...], ...] = (
    ("tax_id_norm",),
    ("name_core", "postcode_norm"),
    ("phone_norm", "name_prefix"),
    ("name_core", "city_norm"),
)

#: Near-certain match rules behind the prior probability that two records match.
COMPANY_PRIOR_RULES: tuple[tuple[str, ...], ...] = (
    ("name_norm", "postcode_norm"),
    ("tax_id_norm",),
    ("phone_norm", "name_prefix"),
)


@dataclass(frozen=True)
class LinkageSpec:
    """What to compare, how to block and how to train a Splink model.

    Parameters
    ----------
    unique_id
        Column that identifies a record.
    comparisons
        Splink comparison creators (``splink.comparison_library``), one per field.
    blocking_rules
        Rules generating candidate pairs for prediction (``splink.block_on(...)`` or
        SQL text with ``l.``/``r.`` prefixes).
    em_rules
        One blocking rule per EM training pass; the comparisons in a rule are not trained
        by its pass, so use at least two rules that cover every comparison.
    deterministic_rules, deterministic_recall
        Near-certain match rules and the share of true matches they find, used to
        estimate the prior :math:`\\lambda`.
    u_max_pairs
        Most random record pairs compared to estimate the u probabilities: every pair
        among a random sample of records (:func:`_u_sample_sizes`).
    u_chunks
        Queries the comparison of those pairs is split into (1 compares all pairs in one
        query, fastest below ~10 million pairs); every pair is compared whatever the
        number, so the u probabilities do not depend on it.
    em_max_pairs
        Cap on pairs per EM pass (deterministic sample); ``None`` for no cap.
    max_blocked_pairs
        Refuse to predict when the blocking rules on known columns (``columns``) would
        generate more pairs than this.
    chunk_pairs
        Score the candidate pairs in chunks of about this many (``None``: all at once).
    max_iterations
        EM iterations per pass.
    em_passes
        Stop after this many successful EM passes (``None``: run every rule in
        ``em_rules``); later rules are fall-backs for columns the data lacks.
    columns
        Columns the comparisons read (a comparison whose columns are all NULL is dropped,
        and so is a rule using such a column).
    """

    unique_id: str
    comparisons: tuple[Any, ...]
    blocking_rules: tuple[Any, ...]
    em_rules: tuple[Any, ...]
    deterministic_rules: tuple[Any, ...]
    deterministic_recall: float = 0.6
    u_max_pairs: float = 1e6
    em_max_pairs: float | None = 2e6
    max_blocked_pairs: float = 2e8
    chunk_pairs: float | None = None
    u_chunks: int = 1
    max_iterations: int = 25
    em_passes: int | None = None
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """For each comparison (by position, as str) the columns it reads; rules likewise."""


@dataclass(frozen=True)
class Predictions:
    """Scored candidate pairs and the fitted model.

    Attributes
    ----------
    pairs
        One row per candidate pair at or above the requested probability: ``left_id``,
        ``right_id`` (``left_id < right_id`` for deduplication), ``match_weight``,
        ``match_probability``, ``gamma_<comparison>`` (the level index) and the compared
        columns as ``<col>_l`` / ``<col>_r``; for linkage also ``source_dataset_l/_r``.
    params
        The fitted model: ``probability_two_random_records_match`` and per comparison the
        levels with their label, m and u probabilities.
    levels
        Per comparison, a map from level index (gamma) to its label.
    n_candidate_pairs
        Candidate pairs the blocking rules generate (before any probability filter).
    """

    pairs: pa.Table
    params: dict[str, Any]
    levels: dict[str, dict[int, str]]
    n_candidate_pairs: int


def _block(*cols: str) -> Any:
    from splink import block_on

    return block_on(*cols)


def company_spec(
    settings: AccountSettings,
    *,
    unique_id: str = "customer_id",
    blocking_keys: Sequence[str] | None = None,
) -> LinkageSpec:
    """The Splink configuration for customer (company) records.

    Comparisons: name (exact on the normalised name, exact on its core, Jaro-Winkler
    levels on the core; exact levels term-frequency adjusted), street address, postcode
    (exact, same first characters), city, phone (exact, a typed character off), e-mail
    domain, tax id, and head count (within the factors of ``settings.size_ratios``: a big
    difference is evidence of two companies). Blocking rules come from
    ``settings.blocking_rules``, or are one rule per column of ``blocking_keys`` (the keys
    :func:`tierwise.accounts.blocking.plan_blocking` built from them).

    Example
    -------
    >>> from tierwise.settings import AccountSettings
    >>> spec = company_spec(AccountSettings())
    >>> len(spec.comparisons)
    8
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    tf = settings.term_frequency_adjustments
    name_levels: list[Any] = [
        cll.NullLevel("name_core"),
        cll.ExactMatchLevel("name_norm", term_frequency_adjustments=tf),
        cll.ExactMatchLevel("name_core", term_frequency_adjustments=tf),
    ]
    name_levels += [cll.JaroWinklerLevel("name_core", t) for t in settings.name_thresholds]
    name_levels.append(cll.ElseLevel())
    address_levels: list[Any] = [cll.NullLevel("address_norm"), cll.ExactMatchLevel("address_norm")]
    address_levels += [cll.JaroWinklerLevel("address_norm", t) for t in settings.address_thresholds]
    address_levels.append(cll.ElseLevel())
    edits = settings.identifier_max_edits
    # head counts within a factor R: |a - b| / max(a, b) below 1 - 1/R
    size_levels: list[Any] = [
        cll.NullLevel("employees_norm"),
        cll.ExactMatchLevel("employees_norm").configure(label_for_charts="Same head count"),
    ]
    size_levels += [
        cll.PercentageDifferenceLevel("employees_norm", 1.0 - 1.0 / ratio).configure(
            label_for_charts=f"Head counts within a factor {ratio:g}"
        )
        for ratio in settings.size_ratios
    ]
    size_levels.append(cll.ElseLevel())
    comparisons = (
        cl.CustomComparison(name_levels, output_column_name="name"),
        cl.CustomComparison(address_levels, output_column_name="address"),
        cl.CustomComparison(
            [
                cll.NullLevel("postcode_norm"),
                cll.ExactMatchLevel("postcode_norm"),
                cll.ExactMatchLevel("postcode_prefix"),
                cll.ElseLevel(),
            ],
            output_column_name="postcode",
        ),
        cl.CustomComparison(
            [
                cll.NullLevel("city_norm"),
                cll.ExactMatchLevel("city_norm", term_frequency_adjustments=tf),
                cll.JaroWinklerLevel("city_norm", settings.city_threshold),
                cll.ElseLevel(),
            ],
            output_column_name="city",
        ),
        cl.CustomComparison(
            [
                cll.NullLevel("phone_norm"),
                cll.ExactMatchLevel("phone_norm"),
                cll.DamerauLevenshteinLevel("phone_norm", edits),
                cll.ElseLevel(),
            ],
            output_column_name="phone",
        ),
        cl.CustomComparison(
            [
                cll.NullLevel("email_domain"),
                cll.ExactMatchLevel("email_domain", term_frequency_adjustments=tf),
                cll.ElseLevel(),
            ],
            output_column_name="email_domain",
        ),
        cl.CustomComparison(
            [
                cll.NullLevel("tax_id_norm"),
                cll.ExactMatchLevel("tax_id_norm"),
                cll.DamerauLevenshteinLevel("tax_id_norm", edits),
                cll.ElseLevel(),
            ],
            output_column_name="tax_id",
        ),
        cl.CustomComparison(size_levels, output_column_name="size"),
    )
    columns: dict[str, tuple[str, ...]] = {
        f"c{i}": cols for i, cols in enumerate(COMPANY_COMPARISONS.values())
    }
    rules = (
        [(k,) for k in blocking_keys]
        if blocking_keys is not None
        else [tuple(r) for r in settings.blocking_rules]
    )
    for i, rule in enumerate(rules):
        columns[f"b{i}"] = rule
    for i, cols in enumerate(COMPANY_TRAINING_RULES):
        columns[f"e{i}"] = cols
    for i, cols in enumerate(COMPANY_PRIOR_RULES):
        columns[f"d{i}"] = cols
    return LinkageSpec(
        unique_id=unique_id,
        comparisons=comparisons,
        blocking_rules=tuple(_block(*rule) for rule in rules),
        em_rules=tuple(_block(*c) for c in COMPANY_TRAINING_RULES),
        deterministic_rules=tuple(_block(*c) for c in COMPANY_PRIOR_RULES),
        deterministic_recall=settings.deterministic_recall,
        u_max_pairs=float(settings.u_max_pairs),
        em_max_pairs=float(settings.em_max_pairs),
        max_blocked_pairs=float(settings.max_blocked_pairs),
        chunk_pairs=float(settings.predict_chunk_pairs),
        max_iterations=settings.max_em_iterations,
        em_passes=settings.em_passes,
        columns=columns,
    )


@contextmanager
def _quiet_splink() -> Iterator[None]:
    """Keep everything Splink says off the user's screen while a stage runs.

    Splink's log messages are progress and advice to a Splink user (e.g. that a training
    rule found no pairs); tierwise acts on what matters itself, in its own words, and puts
    the details in the manifest. Its logger is silenced completely (no level reaches a
    handler, its own or the root's) and its Python warnings are ignored, for the duration.
    """
    root = logging.getLogger("splink")
    before = root.level
    root.setLevel(logging.CRITICAL + 1)  # above every level: children inherit it
    # loggers Splink gave a level of their own, or that exist already, are switched off
    # one by one (a logger's own level would outrank the inherited one)
    loggers = [root] + [
        lg
        for name, lg in sorted(logging.root.manager.loggerDict.items())
        if name.startswith("splink.") and isinstance(lg, logging.Logger)
    ]
    disabled = [lg.disabled for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"splink(\.|$)")
            yield
    finally:
        root.setLevel(before)
        for lg, was in zip(loggers, disabled, strict=True):
            lg.disabled = was


def _physical_name(table: ir.Table) -> str:
    name = table.op().name  # type: ignore[attr-defined]
    return str(name).split(".")[-1]


def _non_null_columns(engine: Engine, tables: Sequence[ir.Table], columns: set[str]) -> set[str]:
    """The columns among ``columns`` with at least one value in every table."""
    present = set(columns)
    for t in tables:
        cols = sorted(c for c in present if c in t.columns)
        present &= set(cols)
        if not cols:
            continue
        row = engine.to_arrow(
            t.aggregate(**{c: t[c].count() for c in cols}), "non-null counts"
        ).to_pylist()[0]
        present -= {c for c, n in row.items() if not n}
    return present


def _usable(spec: LinkageSpec, key: str, present: set[str]) -> bool:
    cols = spec.columns.get(key)
    return cols is None or all(c in present for c in cols)


def _rule_pair_bound(
    engine: Engine, tables: Sequence[ir.Table], rules: Sequence[tuple[str, ...]]
) -> int:
    """Pairs the equality rules generate, each counted once per rule that finds it.

    Computed from the number of records sharing each key value (no pair is built), so it
    is cheap however loose a rule is; an upper bound on the distinct pairs compared.
    """
    total = 0
    for cols in rules:
        counted = []
        for t in tables:
            keep = t.filter(*[t[c].notnull() for c in cols])
            counted.append(keep.group_by(list(cols)).aggregate(n=keep.count()))
        if len(counted) == 1:
            g = counted[0]
            expr = (g.n * (g.n - 1) / 2).sum()
        else:
            a, b = counted
            j = a.join(b.rename(n_r="n"), list(cols))
            expr = (j.n * j.n_r).sum()
        total += int(engine.scalar(expr.cast("float64"), "blocked pairs") or 0)
    return total


def _pairs_to_arrow(sdf: Any) -> pa.Table:
    if hasattr(sdf, "as_pyarrow_table"):
        try:
            return sdf.as_pyarrow_table()
        except NotImplementedError:  # pragma: no cover - backends without Arrow export
            pass
    return pa.Table.from_pandas(sdf.as_pandas_dataframe(), preserve_index=False)


#: Mixed into the run's seed for the u sample: a stream of its own, whatever else draws
#: from the same seed.
_U_SAMPLE_SALT = 0x0A11


def _u_sample_sizes(counts: Sequence[int], max_pairs: float) -> list[int]:
    """Records to draw from each table so that the pairs among them are as many as
    possible but at most ``max_pairs``.

    Deduplication (one table of :math:`n` records) compares every pair among :math:`k`
    drawn records, :math:`k(k-1)/2` pairs: :math:`k` is the largest whole number with
    :math:`k(k-1)/2 \\le` ``max_pairs``, at most :math:`n`. Linkage (tables of :math:`a
    \\le b` records) compares each drawn record of one table with each of the other: the
    smaller draws the share :math:`\\sqrt{\\text{max\\_pairs}/ab}` of its records (at
    least one), the larger as many as keep the product within ``max_pairs``. Whole-number
    arithmetic, so no rounding decides a size.

    Example
    -------
    >>> _u_sample_sizes([100_000], 1e6)
    [1414]
    >>> _u_sample_sizes([500], 1e6)
    [500]
    >>> _u_sample_sizes([40_000, 10_000], 1e6)
    [2000, 500]
    """
    cap = int(max_pairs)
    if len(counts) == 1:
        return [min(counts[0], (1 + math.isqrt(8 * cap + 1)) // 2)]
    a, b = counts
    if a * b <= cap:
        return [a, b]
    small, large = sorted((a, b))
    k_small = min(small, max(1, math.isqrt(cap * small // large)))
    k_large = min(large, cap // k_small)
    return [k_small, k_large] if a <= b else [k_large, k_small]


def _draw_u_sample(ids: Sequence[pa.Array], max_pairs: float, seed: int) -> list[pa.Array]:
    """The records whose pairs estimate the u probabilities: a simple random sample of
    each table's ids (sizes from :func:`_u_sample_sizes`), drawn by NumPy from ``seed``.

    The ids are put in sorted order (Arrow's byte order) before drawing, so the sample
    depends on the set of ids and the seed only, never on the engine or on the order
    the engine returns rows in. Returned sorted.

    Example
    -------
    >>> ids = pa.array([f"C{i:03d}" for i in range(100)])
    >>> [s.to_pylist() for s in _draw_u_sample([ids], 3, seed=1)]
    [['C008', 'C046', 'C085']]
    >>> _draw_u_sample([ids[::-1]], 3, seed=1)[0].to_pylist()
    ['C008', 'C046', 'C085']
    """
    rng = np.random.default_rng([seed, _U_SAMPLE_SALT])
    ordered = []
    for col in ids:
        distinct = pc.unique(col.drop_null())
        ordered.append(distinct.take(pc.sort_indices(distinct)))
    sizes = _u_sample_sizes([len(o) for o in ordered], max_pairs)
    drawn = []
    for o, k in zip(ordered, sizes, strict=True):
        if k >= len(o):
            drawn.append(o)
            continue
        pick = np.sort(rng.choice(len(o), size=k, replace=False))
        drawn.append(o.take(pa.array(pick)))
    return drawn


def _estimate_u(
    linker: Any,
    sampler_settings: Any,
    *,
    engine: Engine,
    tables: Sequence[ir.Table],
    dataset_names: Sequence[str],
    uid: str,
    spec: LinkageSpec,
    seed: int,
) -> int:
    """Set the u probabilities of ``linker``'s comparisons from every pair among a random
    sample of records drawn by :func:`_draw_u_sample`; return the number of pairs.

    Splink's ``estimate_u_using_random_sampling`` picks its records by a hash of the id in
    SQL, a different hash on each engine, so DuckDB and Spark would count different pairs.
    Here the sampled records are copied into tables of their own and a second linker
    (``sampler_settings``: the same comparisons) runs Splink's estimate on them with a
    pair budget above the pairs they make: Splink then compares every pair, samples
    nothing and does not stop early, and its counts (whole numbers) are the same on every
    engine. The estimates are carried over to ``linker`` as Splink's own estimate would
    record them (its training history, then the parameters from it).
    """
    from splink import Linker

    ids = [
        engine.to_arrow(t.select(uid), "record ids for the u sample")[uid].combine_chunks()
        for t in tables
    ]
    picked = _draw_u_sample(ids, spec.u_max_pairs, seed)
    sizes = [len(p) for p in picked]
    n_pairs = sizes[0] * (sizes[0] - 1) // 2 if len(sizes) == 1 else sizes[0] * sizes[1]
    samples: list[ir.Table] = []
    try:
        for t, chosen in zip(tables, picked, strict=True):
            keys = engine.from_arrow(pa.table({uid: chosen}))
            samples.append(engine.materialize(t.semi_join(keys, uid)))
            engine.release(keys)
        # a database API of its own: Splink keys its table cache and registered names by
        # API, and the sample must not stand in for the whole tables
        db_api = engine.splink_api()
        sdfs = [
            db_api.register(_physical_name(s), dataset_display_name=name)
            for s, name in zip(samples, dataset_names, strict=False)
        ]
        sampler = Linker(sdfs if len(sdfs) > 1 else sdfs[0], sampler_settings, log_level=None)
        sampler.training.estimate_u_using_random_sampling(
            # above the pairs the sample makes: Splink takes every record, draws none
            max_pairs=float((sum(sizes) + 1) ** 2),
            num_chunks=spec.u_chunks,
            min_count_per_level=None,
        )
        drawn = sampler._settings_obj.comparisons
        model = linker._settings_obj.comparisons
        for src, dst in zip(drawn, model, strict=True):
            if src.output_column_name != dst.output_column_name:  # pragma: no cover
                raise ModelError("the u sample's comparisons differ from the model's")
            for a, b in zip(
                src._comparison_levels_excluding_null,
                dst._comparison_levels_excluding_null,
                strict=True,
            ):
                for rec in a._trained_u_probabilities:
                    b._add_trained_u_probability(rec["probability"], rec["description"])
        linker._populate_m_u_from_trained_values()
        sampler.table_management.delete_tables_created_by_splink_from_db()
    finally:
        for s in samples:
            engine.release(s)
    return n_pairs


def _model_params(linker: Any) -> tuple[dict[str, Any], dict[str, dict[int, str]]]:
    settings = linker._settings_obj
    params: dict[str, Any] = {
        "probability_two_random_records_match": round(
            float(settings._probability_two_random_records_match), 12
        ),
        "comparisons": {},
    }
    levels: dict[str, dict[int, str]] = {}
    for comp in settings.comparisons:
        name = comp.output_column_name
        entries = []
        levels[name] = {}
        for lvl in comp.comparison_levels:
            gamma = int(lvl.comparison_vector_value)
            levels[name][gamma] = lvl.label_for_charts
            if lvl.is_null_level:
                continue
            m = lvl.m_probability
            u = lvl.u_probability
            entries.append(
                {
                    "level": lvl.label_for_charts,
                    "gamma": gamma,
                    "m_probability": None if m is None else round(float(m), 12),
                    "u_probability": None if u is None else round(float(u), 12),
                    "tf_adjusted": lvl._tf_adjustment_column is not None,
                }
            )
        params["comparisons"][name] = entries
    return params, levels


class TrainingError(ModelError):
    """No expectation-maximisation pass could train the model.

    The message is tierwise's; ``details`` keeps Splink's own reason for each pass, for the
    manifest (never for the screen).
    """

    def __init__(
        self, message: str, details: Sequence[str] = (), *, runnable: int | None = None
    ) -> None:
        super().__init__(message)
        self.details = list(details)
        #: training passes whose blocking columns the records have (0: none could run)
        self.runnable = runnable


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def predict_pairs(
    tables: ir.Table | Sequence[ir.Table],
    spec: LinkageSpec,
    *,
    engine: Engine,
    threshold: float = 0.0,
    seed: int = 42,
    dataset_names: Sequence[str] = ("left", "right"),
    n_candidates: int | None = None,
    pair_bound: int | None = None,
) -> Predictions:
    """Fit the Fellegi–Sunter model by EM and score the candidate pairs.

    Parameters
    ----------
    tables
        One table to deduplicate, or two tables to link (each record of one against the
        other). Tables live in ``engine`` and carry ``spec.unique_id`` and the compared
        columns.
    spec
        Comparisons, blocking rules and training plan.
    engine
        The engine the tables live in; Splink runs on its connection
        (:meth:`tierwise.engine.Engine.splink_api`).
    threshold
        Keep pairs with a match probability at or above this (0 keeps every candidate).
    seed
        Seed for the random pairs behind the u probabilities (:func:`_draw_u_sample`): the
        same seed and tables give the same u probabilities on every engine.
    dataset_names
        For linkage, the names the two tables carry in ``source_dataset_l/_r``.
    n_candidates
        The distinct pairs the blocking rules generate, when the caller has counted them
        (:attr:`tierwise.accounts.blocking.BlockingPlan.distinct_pairs`); ``None`` has
        Splink count them with the blocking joins.
    pair_bound
        The pairs the blocking rules generate, each counted once per rule that finds it,
        when the caller has counted them (:attr:`tierwise.accounts.blocking.BlockingPlan.
        n_pairs`); ``None`` counts them in the engine from the records per key value.

    Returns
    -------
    Predictions
        Scored pairs sorted by ``left_id``, ``right_id``, with the fitted parameters;
        the columns in a fixed order (see :class:`Predictions`).

    Raises
    ------
    SettingsError
        When the blocking rules would produce more than ``spec.max_blocked_pairs`` pairs.
    ModelError
        When no field can be compared, or (:class:`TrainingError`) no EM pass finds pairs
        to learn from.
    EngineError
        When the engine fails running Splink's queries (any other failure).

    Example
    -------
    >>> from tierwise.engine import Engine
    >>> from tierwise.settings import AccountSettings
    >>> eng = Engine()
    >>> t = eng.from_arrow(customers_with_normalised_columns)  # doctest: +SKIP
    >>> pred = predict_pairs(t, company_spec(AccountSettings()), engine=eng)  # doctest: +SKIP
    >>> pred.pairs.column_names[:4]  # doctest: +SKIP
    ['left_id', 'right_id', 'match_weight', 'match_probability']
    """
    from splink import Linker, SettingsCreator
    from splink.internals.exceptions import SplinkException

    tabs = [tables] if isinstance(tables, ir.Table) else list(tables)
    if len(tabs) not in (1, 2):
        raise ModelError("record linkage takes one table (deduplicate) or two (link)")
    link_type: Literal["dedupe_only", "link_only"] = (
        "dedupe_only" if len(tabs) == 1 else "link_only"
    )

    wanted = {c for cols in spec.columns.values() for c in cols}
    materialised = [engine.materialize(t) for t in tabs]
    present = _non_null_columns(engine, materialised, wanted) if wanted else set()

    def keep(prefix: str, items: Sequence[Any]) -> list[Any]:
        return [x for i, x in enumerate(items) if _usable(spec, f"{prefix}{i}", present)]

    comparisons = keep("c", spec.comparisons)
    blocking = keep("b", spec.blocking_rules)
    # a pass learns the comparisons its blocking rule does not read: one that reads them all
    # (records blocked on name and city, where name and city are all there is) learns
    # nothing, and Splink would run it on no comparison at all
    learnable = [
        set(spec.columns[f"c{i}"])
        for i in range(len(spec.comparisons))
        if f"c{i}" in spec.columns and _usable(spec, f"c{i}", present)
    ]
    em_rules = [
        rule
        for i, rule in enumerate(spec.em_rules)
        if _usable(spec, f"e{i}", present)
        and (
            f"e{i}" not in spec.columns
            or any(not cols & set(spec.columns[f"e{i}"]) for cols in learnable)
        )
    ]
    det_rules = keep("d", spec.deterministic_rules)
    if not comparisons:
        raise ModelError(
            "no field to compare records on: the customers have no name, address, postcode, "
            "city, phone, e-mail or tax id values"
        )
    if not blocking:
        empty = sorted(
            {c for k, cols in spec.columns.items() if k.startswith("b") for c in cols} - present
        )
        said = f"{', '.join(empty)} {'has' if len(empty) == 1 else 'have'} no values"
        raise ModelError(f"no blocking rule can pair records: {said if empty else 'none given'}")
    if not em_rules:
        raise TrainingError(
            "no training pass can run: the records lack the columns its blocking rules "
            "need, or have nothing else to learn from",
            runnable=0,
        )
    known_rules = [
        spec.columns[f"b{i}"]
        for i in range(len(spec.blocking_rules))
        if f"b{i}" in spec.columns and _usable(spec, f"b{i}", present)
    ]
    bound = (
        pair_bound
        if pair_bound is not None
        else _rule_pair_bound(engine, materialised, known_rules)
    )
    if bound > spec.max_blocked_pairs:
        raise SettingsError(
            f"the blocking rules would compare up to {bound:,} record pairs, more than "
            f"max_blocked_pairs ({int(spec.max_blocked_pairs):,}); drop or tighten the "
            "loosest rule in [accounts] blocking_rules"
        )

    uid = spec.unique_id
    with _quiet_splink():
        db_api = engine.splink_api()
        try:
            sdfs = [
                db_api.register(_physical_name(t), dataset_display_name=name)
                for t, name in zip(materialised, dataset_names, strict=False)
            ]

            def settings() -> SettingsCreator:
                # one per linker: a linker writes its id into the object it is given
                return SettingsCreator(
                    link_type=link_type,
                    unique_id_column_name=uid,
                    comparisons=comparisons,
                    blocking_rules_to_generate_predictions=blocking,
                    retain_matching_columns=True,
                    retain_intermediate_calculation_columns=False,
                    max_iterations=spec.max_iterations,
                )

            linker = Linker(sdfs if len(sdfs) > 1 else sdfs[0], settings(), log_level=None)
            if n_candidates is None:
                # exact: the bound above keeps the blocking join this count runs affordable
                counts = linker.blocking_analysis.count_comparisons_from_blocking_rules(
                    record_sample_proportion=1.0
                )
                n_candidates = int(counts[-1]["cumulative_comparison_count"]) if counts else 0
            if det_rules:
                try:
                    linker.training.estimate_probability_two_random_records_match(
                        det_rules, recall=spec.deterministic_recall
                    )
                except ValueError:
                    # the rules found more pairs than the stated recall allows: use all
                    linker.training.estimate_probability_two_random_records_match(
                        det_rules, recall=1.0
                    )
            u_pairs = _estimate_u(
                linker,
                settings(),
                engine=engine,
                tables=materialised,
                dataset_names=dataset_names,
                uid=uid,
                spec=spec,
                seed=seed,
            )
            trained = 0
            skipped: list[str] = []
            for rule in em_rules:
                if spec.em_passes is not None and trained >= spec.em_passes:
                    break
                # Splink's EM session takes the comparisons its blocking rule uses out of
                # the linker's model while it trains and puts them back only when it ends
                # well: keep a copy to restore after a failed pass
                before = linker._settings_obj.core_model_settings.copy()
                try:
                    linker.training.estimate_parameters_using_expectation_maximisation(
                        rule, max_pairs=spec.em_max_pairs
                    )
                    trained += 1
                except (SplinkException, ValueError, ZeroDivisionError) as exc:
                    # a pass whose blocking rule finds no pairs (or no variation, or that
                    # drives a level's m to exactly 0) cannot train; the next rule takes
                    # over, and the reason goes to the manifest
                    linker._settings_obj.core_model_settings = before
                    skipped.append(_one_line(exc))
            if not trained:
                raise TrainingError(
                    "the model found no record pairs to learn from (every training pass "
                    "came back empty or without variation)",
                    details=skipped,
                )
            # chunks of about spec.chunk_pairs pairs: k chunks a side make k² chunks
            k = 1
            if spec.chunk_pairs and bound > spec.chunk_pairs:
                k = math.ceil(math.sqrt(bound / spec.chunk_pairs))
            pred = linker.inference.predict(
                threshold_match_probability=threshold if threshold > 0 else None,
                warning_mode="never",
                num_chunks_left=k if k > 1 else None,
                num_chunks_right=k if k > 1 else None,
            )
            raw = _pairs_to_arrow(pred)
            params, levels = _model_params(linker)
            linker.table_management.delete_tables_created_by_splink_from_db()
        except (ModelError, EngineError, SettingsError):
            raise
        except Exception as exc:
            # not a property of the data (those are ModelErrors above) but the engine or
            # its set-up failing: say so instead of quietly linking nothing
            raise EngineError(
                f"record linkage failed on the {engine.backend} engine: "
                f"{' '.join(str(exc).split())[:500]}"
            ) from exc
    params["n_candidate_pairs"] = n_candidates
    params["u_sample_pairs"] = u_pairs
    params["em_passes"] = trained
    if skipped:
        params["em_skipped"] = skipped
    kept = [i for i in range(len(spec.comparisons)) if _usable(spec, f"c{i}", present)]
    compared: list[str] | None = None
    if all(f"c{i}" in spec.columns for i in kept):
        compared = list(dict.fromkeys(c for i in kept for c in spec.columns[f"c{i}"]))
    return Predictions(
        pairs=_tidy_pairs(raw, uid, compared, list(levels)),
        params=params,
        levels=levels,
        n_candidate_pairs=n_candidates,
    )


def _tidy_pairs(
    raw: pa.Table, uid: str, columns: Sequence[str] | None, comparisons: Sequence[str]
) -> pa.Table:
    """Rename the id columns, round the scores, drop Splink's bookkeeping, fix the order.

    Columns: ``left_id``, ``right_id``, ``match_weight``, ``match_probability``, then (for
    linkage) ``source_dataset_l/_r``, then ``gamma_<comparison>`` in comparison order, then
    ``<column>_l``, ``<column>_r`` for each compared column in comparison order (``columns``;
    when ``None``, every column Splink kept, by name) — never in the order Splink happened
    to write them, which varies from process to process.
    """
    names = {f"{uid}_l": "left_id", f"{uid}_r": "right_id"}
    t = raw.rename_columns([names.get(c, c) for c in raw.column_names])
    t = t.set_column(
        t.column_names.index("match_probability"),
        "match_probability",
        pc.round(t["match_probability"].cast(pa.float64()), 10),
    )
    t = t.set_column(
        t.column_names.index("match_weight"),
        "match_weight",
        pc.round(t["match_weight"].cast(pa.float64()), 8),
    )
    for c in ("left_id", "right_id"):
        t = t.set_column(t.column_names.index(c), c, t[c].cast(pa.string()))
    order = ["left_id", "right_id", "match_weight", "match_probability"]
    order += [c for c in ("source_dataset_l", "source_dataset_r") if c in t.column_names]
    order += [f"gamma_{c}" for c in comparisons if f"gamma_{c}" in t.column_names]
    if columns is None:
        columns = sorted(
            c[:-2]
            for c in t.column_names
            if c.endswith("_l")
            and f"{c[:-2]}_r" in t.column_names
            and c not in ("source_dataset_l",)
            and not c.startswith(("gamma_", "tf_", "bf_"))
        )
    for col in columns:
        order += [f"{col}_{s}" for s in ("l", "r") if f"{col}_{s}" in t.column_names]
    t = t.select(order)
    sort = [("left_id", "ascending"), ("right_id", "ascending")]
    if "source_dataset_l" in t.column_names:
        sort = [("source_dataset_l", "ascending"), *sort]
    return t.sort_by(sort)
