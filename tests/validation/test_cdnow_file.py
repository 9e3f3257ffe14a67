"""CDNOW's purchases file read as a user would give it: text aligned in columns.

Source: shared/data/cdnow/CDNOW_master.txt next to the project (69,659 purchases of 23,570
customers, 1997-01 to 1998-06; see its README.md): a header and lines whose fields are apart
by runs of blanks, each line starting with one. The truth each test holds the reader to is
the file split at blanks by NumPy on its own (``np.loadtxt``), not a figure written here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

from tierwise.io import read_input
from tierwise.io.sample import read_sample
from tierwise.settings import TableInput
from tierwise.settings._guess import guess_table

DATA = next(
    (
        p / "shared" / "data" / "cdnow"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "data" / "cdnow" / "CDNOW_master.txt").is_file()
    ),
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cdnow",
)
MASTER = DATA / "CDNOW_master.txt"
pytestmark = [
    pytest.mark.reference,
    pytest.mark.skipif(not MASTER.is_file(), reason="CDNOW_master.txt not found in shared/data"),
]


def test_every_purchase_of_the_file_is_read_with_its_fields(engine) -> None:
    truth = np.loadtxt(MASTER, dtype=str, skiprows=1)
    raw = read_input("transactions", MASTER, TableInput(), engine)
    assert raw.source_columns == ["customer_id", "date", "number_of_cds", "dollar_value"]
    assert raw.n_malformed == 0
    got = engine.to_arrow(raw.table.order_by("_row"))
    assert got.num_rows == len(truth) == 69_659
    # line 2 of the file is the first purchase
    assert got.column("_row").to_pylist()[:2] == [2, 3]
    assert got.column("customer_id").to_pylist() == truth[:, 0].tolist()
    assert got.column("date").to_pylist() == truth[:, 1].tolist()
    dollars = pc.cast(got.column("dollar_value"), "float64").to_numpy()
    np.testing.assert_allclose(dollars, truth[:, 3].astype(float), rtol=0, atol=0)
    assert len(set(truth[:, 0])) == 23_570  # the README's count of customers


def test_init_maps_the_purchase_columns() -> None:
    guess = guess_table("transactions", read_sample(MASTER, name="transactions"))
    found = {g.canonical: g.source for g in guess.columns}
    assert found["customer_id"] == "customer_id"
    assert found["date"] == "date"
    assert found["revenue"] == "dollar_value"
    # "number_of_cds" counts the CDs of the purchase: whole numbers, the quantity
    assert found["quantity"] == "number_of_cds"
    assert guess.mapping() == {"revenue": "dollar_value", "quantity": "number_of_cds"}
    assert not guess.missing and not guess.unmapped
