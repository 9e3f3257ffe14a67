"""The accounts stage on the Spark engine: the same code, Splink's Spark backend.

Runs only where PySpark is installed (``pip install 'tierwise[spark]'``). Splink's string
similarity functions on Spark come from a jar shipped with Splink, which the Spark session
must load (``spark.jars``); this test builds such a session.

Floors as in test_accounts_demo.py (precision ≥ 0.95, recall ≥ 0.90), on a smaller demo.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

pytest.importorskip("pyspark", reason="PySpark is not installed (the spark extra)")
demo = pytest.importorskip("tierwise.demo", reason="the demo generator is not available")

from tierwise.accounts import resolve_accounts  # noqa: E402
from tierwise.engine import Engine  # noqa: E402
from tierwise.settings import AccountSettings  # noqa: E402

pytestmark = pytest.mark.spark


def _pairs_in_groups(keys: list[pa.Array]) -> int:
    t = pa.table({f"k{i}": k for i, k in enumerate(keys)})
    n = t.group_by(t.column_names).aggregate([([], "count_all")])["count_all"]
    n = np.asarray(n.to_numpy(), dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


@pytest.fixture(scope="module")
def spark_engine() -> Engine:
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    eng = Engine("spark", spark_session=session)
    yield eng
    eng.close()


def test_resolves_planted_duplicates_on_spark(spark_engine: Engine) -> None:
    import pyarrow.compute as pc

    data = demo.generate(n_customers=1000, seed=7)
    res = resolve_accounts(
        data.customers, AccountSettings(u_max_pairs=200_000), engine=spark_engine, seed=7
    )
    m = res.mapping
    truth = data.truth["company_id"].take(
        pc.index_in(m["customer_id"], value_set=data.truth["customer_id"])
    )
    tp = _pairs_in_groups([m["account_id"], truth])
    p = tp / max(_pairs_in_groups([m["account_id"]]), 1)
    r = tp / _pairs_in_groups([truth])
    assert p >= 0.95
    assert r >= 0.90
