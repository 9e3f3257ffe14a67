"""The u probabilities come from the same random record pairs on every engine.

The u probability of a comparison level is the share of non-matching record pairs that fall
in it, estimated from every pair among a random sample of records. Splink's
``estimate_u_using_random_sampling`` picks those records in SQL by a hash of the id — DuckDB's
``hash`` on DuckDB, Murmur3 on Spark — so left to it the two engines count different pairs,
and the same master and seed give different u and match probabilities. predict_pairs draws
the records with NumPy from the run's seed (``linkage._draw_u_sample``, after sorting the
ids) and has Splink compare every pair among them, so the counts are whole numbers that no
engine can change.

Checked here on 2,000 demo customers with planted duplicates (seed 7): the sample itself
(sizes, independence of row order and engine), byte-identical parameters for one seed, and
DuckDB against Spark. Tolerance ``TOL`` = 1e-9 on every u, m and match probability (the
parameters are rounded to 12 decimals, match probabilities to 10); measured: 0, every value
identical. With Splink's own sampling this comparison differs by up to 4e-3 on a u
probability and 0.33 on a match probability.

The engine test uses the company model with its Jaro-Winkler levels (name, address, city)
replaced by Levenshtein levels: DuckDB's ``jaro_winkler_similarity`` halves the count of
out-of-order characters rounding down, the Spark jar's ``jaro_winkler`` does not (e.g.
"kingsway fabrications" / "kingsway merchants": 0.8829 on DuckDB, 0.8762 on Spark), so the
two engines put some pairs in different Jaro-Winkler levels whatever the sample. That is a
difference of the comparison function, not of the sampling; test_accounts_spark.py checks
the company model's other levels. Levenshtein is the same function on both engines.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tierwise import demo
from tierwise.accounts import LinkageSpec, Predictions, company_spec, predict_pairs
from tierwise.accounts.linkage import COMPANY_COMPARISONS, _draw_u_sample, _u_sample_sizes
from tierwise.accounts.normalise import normalise_customers
from tierwise.engine import Engine
from tierwise.settings import AccountSettings
from tierwise.settings.accounts import BLOCKING_COLUMNS

#: u, m and match probabilities equal within this on both engines (measured: identical)
TOL = 1e-9
SEED = 7
N_CUSTOMERS = 2000
#: test_accounts_spark.py's budget (fewer pairs than a run's 1,000,000: Spark is slow)
SETTINGS = AccountSettings(u_max_pairs=200_000)


def _levenshtein_spec(settings: AccountSettings) -> LinkageSpec:
    """The company model with Levenshtein levels where it has Jaro-Winkler ones."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    base = company_spec(settings)
    tf = settings.term_frequency_adjustments
    swapped = {
        "name": cl.CustomComparison(
            [
                cll.NullLevel("name_core"),
                cll.ExactMatchLevel("name_norm", term_frequency_adjustments=tf),
                cll.ExactMatchLevel("name_core", term_frequency_adjustments=tf),
                cll.LevenshteinLevel("name_core", 2),
                cll.LevenshteinLevel("name_core", 4),
                cll.ElseLevel(),
            ],
            output_column_name="name",
        ),
        "address": cl.CustomComparison(
            [
                cll.NullLevel("address_norm"),
                cll.ExactMatchLevel("address_norm"),
                cll.LevenshteinLevel("address_norm", 2),
                cll.LevenshteinLevel("address_norm", 5),
                cll.ElseLevel(),
            ],
            output_column_name="address",
        ),
        "city": cl.CustomComparison(
            [
                cll.NullLevel("city_norm"),
                cll.ExactMatchLevel("city_norm", term_frequency_adjustments=tf),
                cll.LevenshteinLevel("city_norm", 1),
                cll.ElseLevel(),
            ],
            output_column_name="city",
        ),
    }
    names = list(COMPANY_COMPARISONS)  # company_spec's comparisons, in order
    comparisons = tuple(swapped.get(names[i], c) for i, c in enumerate(base.comparisons))
    return replace(base, comparisons=comparisons)


@pytest.fixture(scope="module")
def records() -> pa.Table:
    """2,000 demo customers (planted duplicates) with the normalised matching columns."""
    customers = demo.generate(n_customers=N_CUSTOMERS, seed=SEED).customers
    with Engine(threads=1).session() as eng:
        norm = normalise_customers(eng.from_arrow(customers), SETTINGS)
        keep = ["customer_id", *dict.fromkeys((*BLOCKING_COLUMNS, "employees_norm"))]
        return eng.to_arrow(norm.select(keep).order_by("customer_id"))


def _predict(records: pa.Table, spec: LinkageSpec, engine: Engine, seed: int) -> Predictions:
    return predict_pairs(engine.from_arrow(records), spec, engine=engine, seed=seed)


def _u(pred: Predictions) -> dict[tuple[str, str], float | None]:
    return {
        (comp, lvl["level"]): lvl["u_probability"]
        for comp, levels in pred.params["comparisons"].items()
        for lvl in levels
    }


@pytest.fixture(scope="module")
def on_duckdb(records: pa.Table) -> Iterator[Predictions]:
    with Engine(threads=2).session() as eng:
        yield _predict(records, _levenshtein_spec(SETTINGS), eng, SEED)


# -- the sample ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "max_pairs", "expected"),
    [
        ([100_000], 1e6, [1414]),  # 998,991 pairs; 1,415 records would make 1,000,405
        ([1_000], 1e6, [1_000]),  # fewer pairs than the budget: every record
        ([40_000, 10_000], 1e6, [2_000, 500]),  # linkage: the same share of each table
        ([10, 1_000_000_000], 1e3, [1, 1_000]),  # a tiny table still gives pairs
        ([300, 200], 1e6, [300, 200]),
    ],
)
def test_sample_sizes_fill_the_pair_budget_without_exceeding_it(
    counts: list[int], max_pairs: float, expected: list[int]
) -> None:
    sizes = _u_sample_sizes(counts, max_pairs)
    assert sizes == expected
    pairs = sizes[0] * (sizes[0] - 1) // 2 if len(sizes) == 1 else sizes[0] * sizes[1]
    assert pairs <= max_pairs


def test_sample_depends_on_the_ids_and_the_seed_only() -> None:
    ids = pa.array([f"C{i:05d}" for i in range(20_000)])
    first = _draw_u_sample([ids], 50_000, seed=SEED)[0]
    # any row order and chunking (as an engine may return them), any repeats: the same
    shuffled = ids.take(pa.array(list(range(1, 20_000, 2)) + list(range(0, 20_000, 2))))
    assert _draw_u_sample([shuffled], 50_000, seed=SEED)[0].equals(first)
    assert first.to_pylist() == sorted(set(first.to_pylist()))
    assert len(first) == 316  # 316 * 315 / 2 = 49,770 pairs
    other = _draw_u_sample([ids], 50_000, seed=SEED + 1)[0]
    assert not other.equals(first)
    # spread over the whole id range, not its start
    assert first[0].as_py() < "C01000" and first[-1].as_py() > "C19000"


# -- the model -----------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_model_and_another_seed_another_sample(
    records: pa.Table, on_duckdb: Predictions
) -> None:
    spec = _levenshtein_spec(SETTINGS)
    with Engine(threads=1).session() as eng:
        again = _predict(records, spec, eng, SEED)
        other = _predict(records, spec, eng, SEED + 1)
    assert json.dumps(again.params, sort_keys=True) == json.dumps(on_duckdb.params, sort_keys=True)
    assert again.pairs.equals(on_duckdb.pairs)
    assert other.params["u_sample_pairs"] == on_duckdb.params["u_sample_pairs"] == 199_396
    assert _u(other) != _u(on_duckdb)


@pytest.mark.spark
def test_duckdb_and_spark_fit_the_same_model_and_find_the_same_duplicates(
    records: pa.Table, on_duckdb: Predictions, spark_engine: Engine
) -> None:
    on_spark = _predict(records, _levenshtein_spec(SETTINGS), spark_engine, SEED)
    d, s = on_duckdb.params, on_spark.params
    assert s["u_sample_pairs"] == d["u_sample_pairs"]
    worst = 0.0
    for comp, levels in d["comparisons"].items():
        assert [x["level"] for x in s["comparisons"][comp]] == [x["level"] for x in levels]
        for a, b in zip(levels, s["comparisons"][comp], strict=True):
            for key in ("u_probability", "m_probability"):
                if a[key] is None or b[key] is None:
                    assert a[key] is b[key], (comp, a["level"], key)
                    continue
                worst = max(worst, abs(a[key] - b[key]))
                assert math.isclose(a[key], b[key], rel_tol=0, abs_tol=TOL), (
                    comp,
                    a["level"],
                    key,
                    a[key],
                    b[key],
                )
    p_d = d["probability_two_random_records_match"]
    p_s = s["probability_two_random_records_match"]
    assert math.isclose(p_d, p_s, rel_tol=0, abs_tol=TOL)
    # the same candidate pairs, the same levels, the same probabilities
    a, b = on_duckdb.pairs, on_spark.pairs
    assert a.select(["left_id", "right_id"]).equals(b.select(["left_id", "right_id"]))
    for col in (c for c in a.column_names if c.startswith("gamma_")):
        assert a[col].equals(b[col]), col
    diff = pc.max(pc.abs(pc.subtract(a["match_probability"], b["match_probability"]))).as_py()
    print(f"DuckDB vs Spark: largest parameter difference {worst:g}, match probability {diff:g}")
    assert diff <= TOL
    # and so the same duplicates
    threshold = SETTINGS.match_threshold

    def linked(t: pa.Table) -> list[Any]:
        keep = pc.greater_equal(t["match_probability"], threshold)
        return t.filter(keep).select(["left_id", "right_id"]).to_pylist()

    assert linked(a) == linked(b)
    assert len(linked(a)) > 50  # the planted duplicates are found
