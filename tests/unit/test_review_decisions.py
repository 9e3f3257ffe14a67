"""Review decisions a person wrote: ids no record has, dates in local forms, headers in any
case, and what the queue says about a pair already joined through other matches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from tierwise.accounts import AccountsResult, clean_decisions, resolve_accounts
from tierwise.accounts.review import AS_WRITTEN, DECISIONS_SCHEMA
from tierwise.engine import Engine
from tierwise.errors import InputError
from tierwise.io import read_decisions
from tierwise.io.when import read_when
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


def test_a_decision_naming_an_unknown_id_is_named_and_kept() -> None:
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
    # kept for a run whose records include the id (a customer left out of one export)
    assert clean.select(["left_id", "right_id"]).to_pylist() == [
        {"left_id": "C1", "right_id": "C2"},
        {"left_id": "C1", "right_id": "C2X"},
        {"left_id": "C3", "right_id": "C4"},
    ]
    assert notes == [
        "decisions.csv, row 3, column 'right_id': no customer record has the id 'C2X'; the "
        "decision on C1/C2X applies to nothing in this run (it is kept in "
        "review_decisions.csv) (correct the id to one of customers.csv if it is mistyped)"
    ]


def test_a_decision_pairing_a_record_with_itself_is_named_and_left_out() -> None:
    d = _placed(
        pa.table(
            {
                "left_id": ["C1", "C3"],
                "right_id": ["C1", "C4"],
                "decision": ["confirm", "reject"],
            }
        ),
        "decisions.csv",
    )
    notes: list[str] = []
    clean = clean_decisions(d, known_ids=CUSTOMERS["customer_id"], notes=notes)
    assert clean.select(["left_id", "right_id"]).to_pylist() == [
        {"left_id": "C3", "right_id": "C4"}
    ]
    assert notes == [
        "decisions.csv, row 2, column 'right_id': the decision pairs 'C1' with itself; it is "
        "left out (give the two records of the pair in left_id and right_id)"
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
    assert clean.num_rows == n
    assert len(notes) == 6
    assert notes[0].startswith("q.csv, row 2, column 'left_id': no customer record has the id 'X0'")
    assert notes[-1].startswith("3 more review decisions name an id no customer record has")


def test_resolve_warns_of_a_decision_with_a_mistyped_id_and_joins_nothing_by_it(
    engine: Engine,
) -> None:
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
        {"left_id": "C000002X", "right_id": "C1"},
        {"left_id": "C3", "right_id": "C4"},
    ]
    assert res.summary["n_confirmed_applied"] == 1
    accounts = dict(
        zip(
            res.mapping.column("customer_id").to_pylist(),
            res.mapping.column("account_id").to_pylist(),
            strict=True,
        )
    )
    assert sorted(accounts) == ["C1", "C2", "C3", "C4"]
    assert accounts["C3"] == accounts["C4"]
    typo = [w for w in res.warnings if "C000002X" in w]
    assert len(typo) == 1
    assert typo[0].startswith("review decisions: decisions.csv, row 2, column 'right_id'")


# -- dates and headers as spreadsheets save them ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-05 09:30:00", dt.datetime(2026, 1, 5, 9, 30)),
        ("2026-01-05T09:30:00Z", dt.datetime(2026, 1, 5, 9, 30)),
        ("2026-01-05", dt.datetime(2026, 1, 5)),
        ("05.01.2026 09:30", dt.datetime(2026, 1, 5, 9, 30)),
        ("5.1.2026", dt.datetime(2026, 1, 5)),
        ("25/01/2026 17:05:10", dt.datetime(2026, 1, 25, 17, 5, 10)),
        ("01/25/2026 5:05 PM", dt.datetime(2026, 1, 25, 17, 5)),
        ("12/25/2026 12:00 am", dt.datetime(2026, 12, 25, 0, 0)),
        ("07/07/2026", dt.datetime(2026, 7, 7)),
        ("2026/01/05 09:30", dt.datetime(2026, 1, 5, 9, 30)),
        ("46027.5", dt.datetime(2026, 1, 5, 12, 0)),
        ("05-Jan-2026", dt.datetime(2026, 1, 5)),
        ("Jan 5, 2026 9:30 AM", dt.datetime(2026, 1, 5, 9, 30)),
        ("5 January 2026 14:00", dt.datetime(2026, 1, 5, 14, 0)),
    ],
)
def test_reads_iso_and_the_common_local_forms(text: str, expected: dt.datetime) -> None:
    assert read_when(text) == (expected, None)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("03/04/2026", "ambiguous"),
        ("next year", "not a date"),
        ("31.02.2026", "not a date"),
        ("13:00 PM", "not a date"),
        ("42", "not a date"),
    ],
)
def test_does_not_guess_what_it_cannot_read(text: str, why: str) -> None:
    value, problem = read_when(text)
    assert value is None and problem is not None and problem.startswith(why)


def test_a_queue_saved_by_excel_reads_with_its_local_dates_and_header_case(
    tmp_path: Path,
) -> None:
    p = tmp_path / "review_queue.csv"
    p.write_text(
        "\ufeff Left_ID ;RIGHT_ID;Decision;Decided_By;decided_at\n"
        "C2;C1;confirm;Ann;05.01.2026 09:30\n"
        "C1;C2;reject;Bob;2026-01-04 18:00\n",
        encoding="utf-8",
    )
    t = read_decisions(p)
    assert t.column_names == ["left_id", "right_id", "decision", "decided_by", "decided_at"]
    notes: list[str] = []
    clean = clean_decisions(_placed(t, str(p)), notes=notes)
    # Ann's decision is the later one once her local date is read
    assert clean.to_pylist() == [
        {
            "left_id": "C1",
            "right_id": "C2",
            "decision": "confirm",
            "decided_by": "Ann",
            "decided_at": dt.datetime(2026, 1, 5, 9, 30),
            AS_WRITTEN: None,
        }
    ]
    assert notes == []


def test_ids_saved_with_excels_text_apostrophe_are_the_records_ids(tmp_path: Path) -> None:
    # a queue kept in Excel and saved with the ids as text ('00123); an id the queue's CSV
    # wrote with tierwise's formula guard ('=A1) reads back as written, without a note
    p = tmp_path / "review_queue.csv"
    p.write_text(
        "left_id,right_id,decision\n'00123,'00124,confirm\n'=A1,00125,reject\n",
        encoding="utf-8",
    )
    notes: list[str] = []
    known = pa.array(["00123", "00124", "00125", "=A1"])
    clean = clean_decisions(_placed(read_decisions(p), str(p)), known_ids=known, notes=notes)
    assert clean.select(["left_id", "right_id", "decision"]).to_pylist() == [
        {"left_id": "00123", "right_id": "00124", "decision": "confirm"},
        {"left_id": "00125", "right_id": "=A1", "decision": "reject"},
    ]
    assert notes == [
        f"{p}: 2 ids began with an apostrophe, Excel's mark for text such as '00123; the "
        "apostrophe is dropped, so that they match the same ids written without it in the "
        "other files"
    ]


def test_an_unreadable_decided_at_keeps_the_decision_undated_and_says_where(
    tmp_path: Path,
) -> None:
    d = _placed(
        pa.table(
            {
                "left_id": ["C1", "C3"],
                "right_id": ["C2", "C4"],
                "decision": ["confirm", "reject"],
                "decided_at": ["2026-01-05", "monday"],
            }
        ),
        "queue.csv",
    )
    notes: list[str] = []
    clean = clean_decisions(d, notes=notes)
    assert clean.select(["left_id", "decision", "decided_at", AS_WRITTEN]).to_pylist() == [
        {
            "left_id": "C1",
            "decision": "confirm",
            "decided_at": dt.datetime(2026, 1, 5),
            AS_WRITTEN: None,
        },
        {"left_id": "C3", "decision": "reject", "decided_at": None, AS_WRITTEN: "monday"},
    ]
    assert notes == [
        "queue.csv, row 3, column 'decided_at': decided_at 'monday' is not a date; the "
        "decision is applied undated (a dated decision on the same pair wins) (write the date "
        "in decided_at as 2026-01-05 09:30)"
    ]


def test_a_date_kept_as_written_is_read_again_and_dropped_once_it_reads() -> None:
    # a review_decisions.csv read back: decided_at empty, the text beside it (formula-like
    # text written with an apostrophe); text that now reads dates the decision
    carried = pa.table(
        {
            "left_id": ["C1", "C3"],
            "right_id": ["C2", "C4"],
            "decision": ["confirm", "reject"],
            "decided_at": ["", ""],
            AS_WRITTEN: ["'=soon", "05.01.2026 09:30"],
        }
    )
    clean = clean_decisions(carried)
    assert clean[AS_WRITTEN].to_pylist() == ["=soon", None]
    assert clean["decided_at"].to_pylist() == [None, dt.datetime(2026, 1, 5, 9, 30)]
    # the same columns in every run, the text empty where every date reads
    every_date_read = clean_decisions(carried.slice(1))
    assert every_date_read.schema == DECISIONS_SCHEMA
    assert every_date_read[AS_WRITTEN].to_pylist() == [None]


def test_a_carried_text_is_kept_beside_decisions_dated_by_the_dashboard() -> None:
    # decided_at as times (the dashboard's, or the table clean_decisions returns) with an
    # earlier run's text where a time is missing: the text is read again, or kept
    stamped = pa.table(
        {
            "left_id": ["C1", "C3", "C5"],
            "right_id": ["C2", "C4", "C6"],
            "decision": ["confirm", "reject", "reject"],
            "decided_at": pa.array([dt.datetime(2026, 2, 1), None, None], pa.timestamp("us")),
            AS_WRITTEN: [None, "someday", "2026-01-05"],
        }
    )
    notes: list[str] = []
    clean = clean_decisions(_placed(stamped, "review_decisions.csv"), notes=notes)
    assert clean.select(["left_id", "decided_at", AS_WRITTEN]).to_pylist() == [
        {"left_id": "C1", "decided_at": dt.datetime(2026, 2, 1), AS_WRITTEN: None},
        {"left_id": "C3", "decided_at": None, AS_WRITTEN: "someday"},
        {"left_id": "C5", "decided_at": dt.datetime(2026, 1, 5), AS_WRITTEN: None},
    ]
    # cleaning the cleaned table again changes nothing
    assert clean_decisions(clean).equals(clean)
    assert notes == [
        "review_decisions.csv, row 3, column 'decided_at_as_written': decided_at_as_written "
        "'someday', carried from an earlier run, is not a date; the decision is applied "
        "undated (a dated decision on the same pair wins) (write the date in decided_at as "
        "2026-01-05 09:30)"
    ]


def test_a_header_naming_a_decision_column_twice_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_text("left_id,right_id,decision,Decision \nC1,C2,confirm,reject\n")
    with pytest.raises(InputError) as exc:
        read_decisions(p)
    assert (exc.value.file, exc.value.row) == (str(p), 1)
    assert "appears twice in the header" in exc.value.one_line()


# -- a queued pair already joined through other matches -----------------------------------------

JOINED = pa.table(
    {
        "customer_id": ["K1", "K2", "K3", "K4"],
        "name": ["Kestrel Tools Ltd", "Kestrel Tools Leeds Ltd", "Kestrel Tools Ltd", "Other plc"],
        "postcode": ["LS1 1AA", "LS1 1AA", "LS1 1AA", "M1 1AA"],
        "tax_id": [None, "GB123456789", "GB 123 4567 89", None],
    }
)


def _account(res: AccountsResult, cid: str) -> str:
    ids = res.mapping["customer_id"].to_pylist()
    return str(res.mapping["account_id"][ids.index(cid)])


def test_a_queued_pair_already_joined_says_so_and_rejecting_it_splits_them(
    engine: Engine,
) -> None:
    res = resolve_accounts(JOINED, AccountSettings(), engine=engine)
    queue = res.review_queue.to_pylist()
    row = next(r for r in queue if (r["left_id"], r["right_id"]) == ("K1", "K2"))
    # the names agree only in part, so the rules only queue K1/K2; K3 joins both (its name
    # with K1's, its tax id with K2's)
    assert _account(res, "K1") == _account(res, "K2") == _account(res, "K3") == "K1"
    assert row["reason"].endswith(
        "; already in one account (K1) through matches with K3: left unreviewed or confirmed "
        "they stay together, rejected they are split"
    )
    rejected = resolve_accounts(
        JOINED,
        AccountSettings(),
        engine=engine,
        decisions=pa.table({"left_id": ["K1"], "right_id": ["K2"], "decision": ["reject"]}),
    )
    assert _account(rejected, "K1") != _account(rejected, "K2")


def test_a_decisions_file_and_the_dashboards_decisions_are_read_together(
    tmp_path: Path, engine: Engine
) -> None:
    """The dashboard's decisions carry times, a file's carry text: both reach the stage, and
    each is applied (the file's rejection splits one pair, the dashboard's confirmation joins
    the other)."""
    from tierwise.accounts.review import DECISIONS_SCHEMA
    from tierwise.registry import StageContext, get
    from tierwise.settings import Settings

    file = tmp_path / "decisions.csv"
    file.write_text(
        "left_id,right_id,decision,decided_by,decided_at\nC1,C3,reject,Ann,2026-01-02\n",
        encoding="utf-8",
    )
    dashboard = pa.table(
        {
            "left_id": ["C1"],
            "right_id": ["C2"],
            "decision": ["confirm"],
            "decided_by": ["Bob"],
            "decided_at": [dt.datetime(2026, 1, 1, 9, 30, 5, 123456)],
        }
    ).cast(pa.schema([f for f in DECISIONS_SCHEMA if f.name != AS_WRITTEN]))
    customers = pa.table(
        {"customer_id": ["C1", "C2", "C3"], "name": ["Acme", "Acme GmbH", "Acme Ltd"]}
    )
    ctx = StageContext(
        settings=Settings().with_updates(accounts={"decisions_file": str(file)}),
        engine=engine,
        as_of=dt.date(2026, 2, 1),
        tables={
            "customers": engine.from_arrow(customers),
            "transactions": engine.from_arrow(
                pa.table(
                    {
                        "customer_id": ["C1", "C2", "C3"],
                        "date": [dt.date(2026, 1, 10)] * 3,
                        "revenue": [10.0, 20.0, 30.0],
                    }
                )
            ),
        },
        handoff={"review_decisions": dashboard},
    )
    res = get("accounts").run(ctx)
    members = res.tables["account_members"]
    accounts = dict(
        zip(
            members.column("customer_id").to_pylist(),
            members.column("account_id").to_pylist(),
            strict=True,
        )
    )
    assert accounts["C1"] == accounts["C2"]
    assert accounts["C3"] != accounts["C1"]
