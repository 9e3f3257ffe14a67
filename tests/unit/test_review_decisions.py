"""Review decisions a person wrote: ids no record has, dates in local forms, headers in any
case, and what the queue says about a pair already joined through other matches."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from tierwise.accounts import clean_decisions, resolve_accounts
from tierwise.engine import Engine
from tierwise.settings import AccountSettings


@pytest.fixture(scope="module")
def engine(request, open_engine) -> Iterator[Engine]:
    with open_engine(request, threads=1) as eng:
        yield eng


CUSTOMERS = pa.table(
    {
        "customer_id": ["C1", "C2", "C3", "C4"],
        "name": ["ACME Ltd", "Acme Limited", "Beta Group", "Gamma plc"],
    }
)


def _placed(t: pa.Table, file: str) -> pa.Table:
    n = t.num_rows
    return t.append_column("_file", pa.array([file] * n)).append_column(
        "_row", pa.array(range(2, n + 2), pa.int64())
    )


# -- ids no record has ------------------------------------------------------------------------


def test_a_decision_naming_an_unknown_id_is_named_and_neither_applied_nor_kept() -> None:
    d = _placed(
        pa.table(
            {
                "left_id": ["C3", "C1", "C1"],
                "right_id": ["C4", "C2X", "C2"],
                "decision": ["reject", "confirm", "confirm"],
            }
        ),
        "decisions.csv",
    )
    notes: list[str] = []
    clean = clean_decisions(d, known_ids=CUSTOMERS["customer_id"], notes=notes)
    assert clean.select(["left_id", "right_id"]).to_pylist() == [
        {"left_id": "C1", "right_id": "C2"},
        {"left_id": "C3", "right_id": "C4"},
    ]
    assert notes == [
        "decisions.csv, row 3, column 'right_id': no customer record has the id 'C2X'; the "
        "decision on C1/C2X is not applied and not carried forward (correct the id to one of "
        "customers.csv and run again)"
    ]


def test_many_unknown_ids_are_listed_first_then_counted() -> None:
    n = 8
    d = _placed(
        pa.table(
            {
                "left_id": [f"X{i}" for i in range(n)],
                "right_id": ["C1"] * n,
                "decision": ["confirm"] * n,
            }
        ),
        "q.csv",
    )
    notes: list[str] = []
    clean = clean_decisions(d, known_ids=CUSTOMERS["customer_id"], notes=notes)
    assert clean.num_rows == 0
    assert len(notes) == 6
    assert notes[0].startswith("q.csv, row 2, column 'left_id': no customer record has the id 'X0'")
    assert notes[-1].startswith("3 more review decisions name an id no customer record has")


def test_resolve_warns_and_does_not_carry_a_decision_with_a_mistyped_id(engine: Engine) -> None:
    d = _placed(
        pa.table(
            {
                "left_id": ["C1", "C3"],
                "right_id": ["C000002X", "C4"],
                "decision": ["confirm", "confirm"],
            }
        ),
        "decisions.csv",
    )
    res = resolve_accounts(CUSTOMERS, AccountSettings(), engine=engine, decisions=d)
    assert res.decisions.select(["left_id", "right_id"]).to_pylist() == [
        {"left_id": "C3", "right_id": "C4"}
    ]
    assert res.summary["n_decisions"] == 1 and res.summary["n_confirmed_applied"] == 1
    typo = [w for w in res.warnings if "C000002X" in w]
    assert len(typo) == 1
    assert typo[0].startswith("review decisions: decisions.csv, row 2, column 'right_id'")
