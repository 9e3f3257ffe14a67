"""The accounts stage on the Spark engine: the same code, Splink's Spark backend.

Runs on the test session's shared Spark session (``spark_engine``): skipped where PySpark
(the spark extra) is not installed, a failure under CI, which installs it. The other accounts
tests run on Spark too (the ``engine`` fixture) but for the Splink training on thousands of
records, which takes minutes there: this module is where Spark's training is checked.

The session here is started the way a user's would be: *without* Splink's similarity jar on
``spark.jars`` and without a checkpoint directory. The engine must load the jar itself
(``Engine.splink_api``; its jaro_winkler and damerau_levenshtein functions back the name,
address, phone and tax-id comparisons) and must not rely on a checkpoint directory. A
Spark fault must never pass for "model not fitted" with every record its own account, so
the test checks the model was fitted, not only the scores.

Measured here (1,000 demo records, seed 7, Splink 5.0, PySpark 4.0, 2 cores): pairwise
precision 1.000, recall 1.000 — the same accounts as on DuckDB. Floors: precision ≥ 0.95
and recall ≥ 0.90 as in test_accounts_demo.py; the account of at least 99.5% of records
equal to DuckDB's. The u probabilities come from the same random record pairs on both
engines (test_accounts_u_parity.py), and every level's is the same but the Jaro-Winkler
levels' (and the "all other" level beside them): DuckDB's ``jaro_winkler_similarity``
halves the count of out-of-order characters rounding down, the Spark jar's ``jaro_winkler``
does not, so a few pairs fall in a different level (measured here: u differs by at most
5.3e-4 on those levels), and a borderline pair may fall on the other side of the threshold.
The normalised matching columns must be identical on both engines (Java and RE2 regular
expressions read alike; Ibis's ``strip()``, which on Spark also strips the letters v and f,
is not used). A few minutes on a 2-core machine, mostly Spark's per-query overhead in the
EM iterations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from test_accounts_normalise import NAME_CASES

from tierwise import demo
from tierwise.accounts import AccountsResult, normalise_customers, resolve_accounts
from tierwise.engine import Engine
from tierwise.settings import AccountSettings
from tierwise.settings.accounts import BLOCKING_COLUMNS

pytestmark = pytest.mark.spark

SETTINGS = AccountSettings(u_max_pairs=200_000)


def _pairs_in_groups(keys: list[pa.Array]) -> int:
    t = pa.table({f"k{i}": k for i, k in enumerate(keys)})
    n = t.group_by(t.column_names).aggregate([([], "count_all")])["count_all"]
    n = np.asarray(n.to_numpy(), dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


@pytest.fixture(scope="module")
def data() -> Any:
    return demo.generate(n_customers=1000, seed=7)


@pytest.fixture(scope="module")
def on_spark(data: Any, spark_engine: Engine) -> AccountsResult:
    return resolve_accounts(data.customers, SETTINGS, engine=spark_engine, seed=7)


@pytest.fixture(scope="module")
def on_duckdb(data: Any) -> AccountsResult:
    with Engine(threads=2).session() as duck:
        return resolve_accounts(data.customers, SETTINGS, engine=duck, seed=7)


def test_model_is_fitted_on_spark(on_spark: AccountsResult) -> None:
    s = on_spark.summary
    assert s["model_fitted"] is True, s["model_not_fitted_reason"]
    assert s["n_candidate_pairs"] > 0 and s["n_pairs_linked"] > 0
    name = on_spark.params["comparisons"]["name"]
    # a Jaro-Winkler level exists and was trained (the jar's function ran)
    jw = [lvl for lvl in name if lvl["level"].startswith("Jaro-Winkler")]
    assert jw and all(lvl["u_probability"] is not None for lvl in jw)


def test_resolves_planted_duplicates_on_spark(data: Any, on_spark: AccountsResult) -> None:
    m = on_spark.mapping
    truth = data.truth["company_id"].take(
        pc.index_in(m["customer_id"], value_set=data.truth["customer_id"])
    )
    tp = _pairs_in_groups([m["account_id"], truth])
    p = tp / max(_pairs_in_groups([m["account_id"]]), 1)
    r = tp / _pairs_in_groups([truth])
    print(f"demo 1000 on Spark: pairwise precision {p:.3f} recall {r:.3f}")
    assert p >= 0.95  # measured 1.000
    assert r >= 0.90  # measured 1.000


def test_spark_and_duckdb_give_the_same_accounts(
    on_spark: AccountsResult, on_duckdb: AccountsResult
) -> None:
    a, b = on_spark.mapping, on_duckdb.mapping
    assert a["customer_id"].to_pylist() == b["customer_id"].to_pylist()
    same = pc.mean(pc.cast(pc.equal(a["account_id"], b["account_id"]), pa.float64())).as_py()
    print(f"records in the same account on both engines: {same:.4f}")
    assert same >= 0.995  # measured 1.0


def test_spark_and_duckdb_estimate_the_same_u_but_for_jaro_winkler(
    on_spark: AccountsResult, on_duckdb: AccountsResult
) -> None:
    # a comparison's u are shares of the same sampled pairs: a level Jaro-Winkler does not
    # decide has the same count on both engines (within 1e-9: measured identical)
    s, d = on_spark.params, on_duckdb.params
    assert s["u_sample_pairs"] == d["u_sample_pairs"] > 0
    jw_worst = 0.0
    for comp, levels in d["comparisons"].items():
        has_jw = any(lvl["level"].startswith("Jaro-Winkler") for lvl in levels)
        for a, b in zip(levels, s["comparisons"][comp], strict=True):
            assert a["level"] == b["level"]
            if a["u_probability"] is None or b["u_probability"] is None:
                assert a["u_probability"] is b["u_probability"], (comp, a["level"])
                continue
            gap = abs(a["u_probability"] - b["u_probability"])
            if has_jw and (
                a["level"].startswith("Jaro-Winkler") or a["level"] == "All other comparisons"
            ):
                jw_worst = max(jw_worst, gap)
                continue
            assert gap <= 1e-9, (comp, a["level"], a["u_probability"], b["u_probability"])
    print(f"largest u difference on a Jaro-Winkler level: {jw_worst:g}")
    assert jw_worst <= 1e-3  # measured 5.3e-4: about a hundred of the 199,396 pairs


def test_normalisation_reads_the_same_on_spark_and_duckdb(spark_engine: Engine) -> None:
    # the regular expressions must mean the same to Java (Spark) and RE2 (DuckDB)
    raws = [raw for raw, _ in NAME_CASES]
    n = len(raws)

    def cycle(values: list[str | None]) -> list[str | None]:
        return [values[i % len(values)] for i in range(n)]

    table = pa.table(
        {
            "customer_id": [f"{i:04d}" for i in range(n)],
            "name": raws,
            "address": cycle(["12, High Street", "Hauptstraße 5", "Rue de l'Église 3", None]),
            "postcode": cycle(["ls1 1aa", "75001", None]),
            "city": cycle(["Saint-Étienne", "MÜNCHEN", "st albans", None]),
            "phone": cycle(["+44 (0)113 496 0000", "310/246-1501", "123", None]),
            "email": cycle(["Jo <jo@Acme.co.uk>", "x@gmail.com", None]),
            "tax_id": cycle(["GB 123 4567 89", "ATU12345678", " ", None]),
        }
    )
    cols = ["customer_id", "branch", *BLOCKING_COLUMNS]

    def run(engine: Engine) -> pa.Table:
        t = normalise_customers(engine.from_arrow(table), AccountSettings())
        return engine.to_arrow(t.select(cols).order_by("customer_id"))

    with Engine(threads=1).session() as duck:
        expected = run(duck)
    got = run(spark_engine)
    assert got["name_norm"].to_pylist() == [norm for _, norm in NAME_CASES]
    for c in cols:
        assert got[c].to_pylist() == expected[c].to_pylist(), c
