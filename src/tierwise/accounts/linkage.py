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
rules, and :math:`m` by expectation maximisation (Winkler 1988) on blocked pairs. Exact
agreement on a rare value counts for more than on a common one (term-frequency
adjustment: :math:`u` is replaced by the value's frequency).

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
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import Engine
from ..errors import EngineError, ModelError, SettingsError
from ..settings.accounts import AccountSettings

__all__ = ["LinkageSpec", "Predictions", "company_spec", "predict_pairs"]

#: The matching columns of a customer record, as made by ``normalise_customers``.
COMPANY_FIELDS = (
    "name_norm",
    "name_core",
    "address_norm",
    "postcode_norm",
    "city_norm",
    "phone_norm",
    "email_domain",
    "tax_id_norm",
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
        Random pairs sampled to estimate the u probabilities.
    u_chunks
        Chunks the u sampling is split into (Splink stops early once every level has
        been seen 100 times; 1 computes all pairs in one query, fastest below ~10 million
        pairs).
    em_max_pairs
        Cap on pairs per EM pass (deterministic sample); ``None`` for no cap.
    max_blocked_pairs
        Refuse to predict when blocking would generate more pairs than this.
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


def company_spec(settings: AccountSettings, *, unique_id: str = "customer_id") -> LinkageSpec:
    """The Splink configuration for customer (company) records.

    Comparisons: name (exact on the normalised name, exact on its core, Jaro-Winkler
    levels on the core; exact levels term-frequency adjusted), street address, postcode
    (exact, same first 3 characters), city, phone (exact, one digit off), e-mail domain,
    tax id. Blocking rules come from ``settings.blocking_rules``.

    Example
    -------
    >>> from tierwise.settings import AccountSettings
    >>> spec = company_spec(AccountSettings())
    >>> len(spec.comparisons)
    7
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
                cll.JaroWinklerLevel("city_norm", 0.9),
                cll.ElseLevel(),
            ],
            output_column_name="city",
        ),
        cl.CustomComparison(
            [
                cll.NullLevel("phone_norm"),
                cll.ExactMatchLevel("phone_norm"),
                cll.DamerauLevenshteinLevel("phone_norm", 1),
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
                cll.DamerauLevenshteinLevel("tax_id_norm", 1),
                cll.ElseLevel(),
            ],
            output_column_name="tax_id",
        ),
    )
    columns: dict[str, tuple[str, ...]] = {
        "c0": ("name_norm", "name_core"),
        "c1": ("address_norm",),
        "c2": ("postcode_norm", "postcode_prefix"),
        "c3": ("city_norm",),
        "c4": ("phone_norm",),
        "c5": ("email_domain",),
        "c6": ("tax_id_norm",),
    }
    blocking = tuple(_block(*rule) for rule in settings.blocking_rules)
    for i, rule in enumerate(settings.blocking_rules):
        columns[f"b{i}"] = tuple(rule)
    em_rules_cols: list[tuple[str, ...]] = [
        ("name_core",),
        ("postcode_norm",),
        ("city_norm",),
        ("phone_norm",),
    ]
    det_cols: list[tuple[str, ...]] = [
        ("name_norm", "postcode_norm"),
        ("tax_id_norm",),
        ("phone_norm", "name_prefix"),
    ]
    for i, cols in enumerate(em_rules_cols):
        columns[f"e{i}"] = cols
    for i, cols in enumerate(det_cols):
        columns[f"d{i}"] = cols
    return LinkageSpec(
        unique_id=unique_id,
        comparisons=comparisons,
        blocking_rules=blocking,
        em_rules=tuple(_block(*c) for c in em_rules_cols),
        deterministic_rules=tuple(_block(*c) for c in det_cols),
        deterministic_recall=settings.deterministic_recall,
        u_max_pairs=float(settings.u_max_pairs),
        em_max_pairs=float(settings.em_max_pairs),
        max_blocked_pairs=float(settings.max_blocked_pairs),
        max_iterations=settings.max_em_iterations,
        em_passes=2,
        columns=columns,
    )


@contextmanager
def _quiet_splink() -> Iterator[None]:
    """Keep Splink's progress messages and advice out of the terminal while a stage runs.

    Its warnings are advice to a Splink user (e.g. that a sampled blocking estimate rests
    on few pairs); tierwise acts on what matters itself and reports in the manifest.
    """
    log = logging.getLogger("splink")
    before = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module=r"splink\.")
            yield
    finally:
        log.setLevel(before)


def _splink_api(engine: Engine) -> Any:
    """Splink's database API over the engine's own connection (no data copied)."""
    if engine.backend == "duckdb":
        from splink import DuckDBAPI

        return DuckDBAPI(connection=engine.con.con)
    from splink.backends.spark import SparkAPI

    session = engine.con._session
    _load_similarity_jar(session)
    return SparkAPI(
        spark_session=session,
        break_lineage_method=_spark_break_lineage(session),
        # the jar's functions are registered by _load_similarity_jar; Splink's own
        # attempt would only log a warning when they are missing
        register_udfs_automatically=False,
    )


def _load_similarity_jar(session: Any) -> None:
    """Make Splink's string similarity functions (jaro_winkler, ...) callable in Spark SQL.

    They live in a jar shipped with Splink. A session started with ``spark.jars`` naming it
    has them on its class path; any other session gets the jar added here (``ADD JAR``,
    which also ships it to the executors) before the functions are registered.
    """
    from splink.backends.spark import similarity_jar_location
    from splink.internals.spark.jar_location import get_scala_udfs

    udfs = get_scala_udfs()

    def register() -> None:
        for udf in udfs:
            session.udf.registerJavaFunction(*udf)

    try:
        register()
    except Exception:  # the classes are not on the class path yet: add the jar below
        pass
    else:
        return
    jar = similarity_jar_location()
    try:
        session.sql(f"ADD JAR '{jar}'")
        register()
    except Exception as exc:
        raise EngineError(
            "Spark cannot load Splink's string similarity functions (jaro_winkler, "
            f"damerau_levenshtein) from {jar}: {' '.join(str(exc).split())[:300]}; start "
            "the Spark session with spark.jars set to that file"
        ) from exc


def _spark_break_lineage(session: Any) -> str:
    """How Splink cuts long Spark query plans: Parquet files in the checkpoint directory
    when the session has one (Splink's default), else cached in executor memory and disk
    (Splink's default would fail on a session without a checkpoint directory)."""
    try:
        has_dir = not session.sparkContext._jsc.sc().getCheckpointDir().isEmpty()
    except Exception:  # e.g. Spark Connect, where the JVM is remote
        has_dir = False
    return "parquet" if has_dir else "persist"


def _physical_name(table: ir.Table) -> str:
    name = table.op().name  # type: ignore[attr-defined]
    return str(name).split(".")[-1]


def _non_null_columns(engine: Engine, tables: Sequence[ir.Table], columns: set[str]) -> set[str]:
    """The columns among ``columns`` with at least one value in every table."""
    present = set(columns)
    for t in tables:
        cols = [c for c in present if c in t.columns]
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


def _pairs_to_arrow(sdf: Any) -> pa.Table:
    if hasattr(sdf, "as_pyarrow_table"):
        try:
            return sdf.as_pyarrow_table()
        except NotImplementedError:  # pragma: no cover - backends without Arrow export
            pass
    return pa.Table.from_pandas(sdf.as_pandas_dataframe(), preserve_index=False)


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


def predict_pairs(
    tables: ir.Table | Sequence[ir.Table],
    spec: LinkageSpec,
    *,
    engine: Engine,
    threshold: float = 0.0,
    seed: int = 42,
    dataset_names: Sequence[str] = ("left", "right"),
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
        The engine the tables live in; Splink runs on its connection (DuckDB or Spark).
    threshold
        Keep pairs with a match probability at or above this (0 keeps every candidate).
    seed
        Seed for the random pairs behind the u probabilities.
    dataset_names
        For linkage, the names the two tables carry in ``source_dataset_l/_r``.

    Returns
    -------
    Predictions
        Scored pairs sorted by ``left_id``, ``right_id``, with the fitted parameters.

    Raises
    ------
    SettingsError
        When the blocking rules would produce more than ``spec.max_blocked_pairs`` pairs.
    ModelError
        When no field can be compared, or no EM pass finds pairs to learn from.
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
    em_rules = keep("e", spec.em_rules)
    det_rules = keep("d", spec.deterministic_rules)
    if not comparisons or not blocking:
        raise ModelError(
            "no field to compare records on: the customers have no name, address, postcode, "
            "city, phone, e-mail or tax id values"
        )

    uid = spec.unique_id
    db_api = _splink_api(engine)
    with _quiet_splink():
        try:
            sdfs = [
                db_api.register(_physical_name(t), dataset_display_name=name)
                for t, name in zip(materialised, dataset_names, strict=False)
            ]
            settings = SettingsCreator(
                link_type=link_type,
                unique_id_column_name=uid,
                comparisons=comparisons,
                blocking_rules_to_generate_predictions=blocking,
                retain_matching_columns=True,
                retain_intermediate_calculation_columns=False,
                max_iterations=spec.max_iterations,
            )
            linker = Linker(sdfs if len(sdfs) > 1 else sdfs[0], settings, log_level=None)
            small = sum(engine.count(t) for t in materialised) < 200_000
            counts = linker.blocking_analysis.count_comparisons_from_blocking_rules(
                record_sample_proportion=1.0 if small else 0.1
            )
            n_candidates = int(counts[-1]["cumulative_comparison_count"]) if counts else 0
            if n_candidates > spec.max_blocked_pairs:
                raise SettingsError(
                    f"the blocking rules would compare {n_candidates:,} record pairs, more "
                    f"than max_blocked_pairs ({int(spec.max_blocked_pairs):,}); drop or "
                    "tighten the loosest rule in [accounts] blocking_rules"
                )
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
            linker.training.estimate_u_using_random_sampling(
                max_pairs=spec.u_max_pairs, seed=seed, num_chunks=spec.u_chunks
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
                    skipped.append(" ".join(str(exc).split())[:200])
            if not trained:
                raise ModelError(
                    "no EM training pass found record pairs to learn from"
                    + (f": {skipped[0]}" if skipped else "")
                )
            pred = linker.inference.predict(
                threshold_match_probability=threshold if threshold > 0 else None,
                warning_mode="never",
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
    params["em_passes"] = trained
    if skipped:
        params["em_skipped"] = skipped
    return Predictions(
        pairs=_tidy_pairs(raw, uid),
        params=params,
        levels=levels,
        n_candidate_pairs=n_candidates,
    )


def _tidy_pairs(raw: pa.Table, uid: str) -> pa.Table:
    """Rename the id columns, round the scores, drop Splink's bookkeeping, sort."""
    names = {f"{uid}_l": "left_id", f"{uid}_r": "right_id"}
    keep = [
        c
        for c in raw.column_names
        if not c.startswith(("tf_", "bf_", "mw_")) and c not in ("match_key",)
    ]
    t = raw.select(keep)
    t = t.rename_columns([names.get(c, c) for c in t.column_names])
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
    front = ["left_id", "right_id", "match_weight", "match_probability"]
    t = t.select(front + [c for c in t.column_names if c not in front])
    sort = [("left_id", "ascending"), ("right_id", "ascending")]
    if "source_dataset_l" in t.column_names:
        sort = [("source_dataset_l", "ascending"), *sort]
    return t.sort_by(sort)
