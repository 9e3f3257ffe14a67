"""Matching real business listings: Fodor's against Zagat restaurant guides.

Source: tests/data/fodors_zagat, copied from ../shared/data (py_entitymatching,
BSD-3-Clause): 533 Fodor's and 331 Zagat listings with name, address, city and phone,
and the 112 true matches (one-to-one). The nearest public stand-in for company records
entered twice: names spelled differently ("arnie mortons of chicago" / "arnie morton's of chicago"),
phone formats differ, city aliases ("west la" / "los angeles").

The records go through the customer-master path unchanged: ``normalise_customers``,
``company_spec`` (comparisons on fields the data lacks — postcode, e-mail, tax id — are
dropped automatically) and ``predict_pairs`` in linkage mode.

Measured here (Splink 5.0 on DuckDB): at the default match threshold 0.9, precision
0.939, recall 0.964, F1 0.952; at 0.5, precision 0.940, recall 0.982, F1 0.961. Every false
match there is two restaurants sharing a hotel's address and switchboard — two businesses
in one building, which the accounts stage's name guard keeps apart: with the guard,
precision 1.000 and recall 0.955 (F1 0.977) at 0.9, precision 1.000 and recall 0.973 (F1
0.986) at 0.5 (the one true pair it holds back, "shun lee west" / "shun lee palace" at two
addresses, goes to review). Floors: F1 ≥ 0.92 at 0.9 and ≥ 0.92 at 0.5 without the guard,
precision 1.000 and recall ≥ 0.93 with it; precision and recall 3-5 points below their
measured values elsewhere — slack for EM landing in a slightly different optimum after an
upgrade of Splink or DuckDB.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv
import pytest

from tierwise.accounts import company_spec, guard_pairs, normalise_customers, predict_pairs
from tierwise.engine import Engine
from tierwise.settings import AccountSettings

pytestmark = pytest.mark.reference

DATA = Path(__file__).resolve().parents[1] / "data" / "fodors_zagat"
if not (DATA / "fodors.csv").is_file():  # pragma: no cover - depends on the checkout
    pytest.skip(f"Fodors/Zagat data not found at {DATA}", allow_module_level=True)

MATCH_COLUMNS = [
    "customer_id", "name_norm", "name_core", "name_prefix", "address_norm",
    "address_number", "postcode_norm", "postcode_prefix", "city_norm", "phone_norm",
    "email_domain", "tax_id_norm",
]  # fmt: skip


def load(name: str) -> pa.Table:
    """A guide as canonical customer columns (addr → address)."""
    t = pv.read_csv(
        DATA / name,
        convert_options=pv.ConvertOptions(column_types={"id": pa.string(), "phone": pa.string()}),
    )
    return pa.table(
        {
            "customer_id": t["id"],
            "name": t["name"],
            "address": t["addr"],
            "city": t["city"],
            "phone": t["phone"],
        }
    )


def scores(
    pairs: pa.Table, truth: set[tuple[str, str]], threshold: float
) -> tuple[float, float, float]:
    strong = pairs.filter(pc.greater_equal(pairs["match_probability"], threshold))
    found = set(zip(strong["left_id"].to_pylist(), strong["right_id"].to_pylist(), strict=True))
    tp = len(found & truth)
    p = tp / len(found) if found else 0.0
    r = tp / len(truth)
    return p, r, (2 * p * r / (p + r) if tp else 0.0)


@pytest.fixture(scope="module")
def predictions() -> pa.Table:
    eng = Engine(threads=2)
    settings = AccountSettings(u_max_pairs=200_000)
    sides = [
        normalise_customers(eng.from_arrow(load(f)), settings).select(MATCH_COLUMNS)
        for f in ("fodors.csv", "zagats.csv")
    ]
    pred = predict_pairs(
        sides,
        company_spec(settings),
        engine=eng,
        threshold=0.05,
        dataset_names=("fodors", "zagats"),
    )
    eng.close()
    return pred.pairs


@pytest.fixture(scope="module")
def truth() -> set[tuple[str, str]]:
    t = pv.read_csv(
        DATA / "matches_fodors_zagats.csv",
        convert_options=pv.ConvertOptions(
            column_types={"fodors_id": pa.string(), "zagats_id": pa.string()}
        ),
    )
    pairs = set(zip(t["fodors_id"].to_pylist(), t["zagats_id"].to_pylist(), strict=True))
    assert len(pairs) == 112
    return pairs


def test_pairs_run_from_fodors_to_zagat(predictions: pa.Table) -> None:
    assert set(pc.unique(predictions["source_dataset_l"]).to_pylist()) == {"fodors"}
    assert set(pc.unique(predictions["source_dataset_r"]).to_pylist()) == {"zagats"}


def test_matches_business_listings_at_default_threshold(
    predictions: pa.Table, truth: set[tuple[str, str]]
) -> None:
    p, r, f1 = scores(predictions, truth, AccountSettings().match_threshold)
    print(f"Fodors/Zagat at 0.9: precision {p:.3f} recall {r:.3f} F1 {f1:.3f}")
    assert f1 >= 0.92  # measured 0.952
    assert p >= 0.90 and r >= 0.92  # measured 0.939, 0.964


def test_matches_business_listings_at_even_odds(
    predictions: pa.Table, truth: set[tuple[str, str]]
) -> None:
    p, r, f1 = scores(predictions, truth, 0.5)
    print(f"Fodors/Zagat at 0.5: precision {p:.3f} recall {r:.3f} F1 {f1:.3f}")
    assert f1 >= 0.92  # measured 0.961
    assert p >= 0.90 and r >= 0.95  # measured 0.940, 0.982


@pytest.mark.parametrize(("threshold", "recall"), [(0.9, 0.955), (0.5, 0.973)])
def test_name_guard_keeps_restaurants_sharing_a_hotel_apart(
    predictions: pa.Table, truth: set[tuple[str, str]], threshold: float, recall: float
) -> None:
    guarded = guard_pairs(predictions, AccountSettings())
    kept = guarded.filter(pc.invert(guarded["held_back"]))
    p, r, f1 = scores(kept, truth, threshold)
    print(
        f"Fodors/Zagat with the name guard at {threshold}: precision {p:.3f} recall {r:.3f} "
        f"F1 {f1:.3f}"
    )
    assert p == 1.0  # measured 1.000
    assert r >= recall - 0.03  # measured as given
    # what it held back at this threshold was (nearly) all false matches
    held = guarded.filter(
        pc.and_(guarded["held_back"], pc.greater_equal(guarded["match_probability"], threshold))
    )
    pairs = set(zip(held["left_id"].to_pylist(), held["right_id"].to_pylist(), strict=True))
    assert len(pairs - truth) >= 5 and len(pairs & truth) <= 1
