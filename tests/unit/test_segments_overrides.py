"""Back-end overrides: reading the file, applying it, auditing it, and refusing a wrong one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierwise.errors import InputError, Problems
from tierwise.io.overrides import read_overrides
from tierwise.segments import segment_customers
from tierwise.settings.segments import SegmentSettings

S = SegmentSettings(method="quantiles", stability_resamples=0, niche_max=1)
AS_OF = dt.date(2025, 12, 31)


def _customers() -> pa.Table:
    profit = np.arange(1, 11) * 100.0
    headroom = np.array([9000.0, 50, 60, 70, 80, 8000, 90, 100, 7000, 10])
    return pa.table(
        {
            "customer_id": [f"C{i:02d}" for i in range(10)],
            "net_profit": profit,
            "headroom": headroom,
            "wallet": headroom + 1000.0,
            "revenue_12m": np.full(10, 1000.0),
            "industry": ["Retail", "Food"] * 5,
        }
    )


def _write(tmp_path: Path, text: str, name: str = "overrides.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# -- reading --------------------------------------------------------------------------------


def test_reads_a_semicolon_csv_with_any_header_case_and_blank_lines(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "\ufeffCustomer_ID;Value_Class;Tier;Reason;By;Extra\n"
        "C01;A;;key account in negotiation;Ann Lee;x\n"
        "\n"
        'C02;;gold;"strategic, says the CEO";Bo;y\n',
    )
    t = read_overrides(p)
    assert t.column("customer_id").to_pylist() == ["C01", "C02"]
    assert t.column("value_class").to_pylist() == ["A", None]
    assert t.column("tier").to_pylist() == [None, "gold"]
    assert t.column("reason").to_pylist()[1] == "strategic, says the CEO"
    assert t.column("_row").to_pylist() == [2, 4]  # file lines, the blank one counted


def test_reads_excel_and_parquet(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["customer_id", "value_class", "reason", "by", "date"])
    ws.append(["C03", "B", "new contract", "Ann", "2025-11-02"])
    xlsx = tmp_path / "o.xlsx"
    wb.save(xlsx)
    t = read_overrides(xlsx)
    assert t.column("value_class").to_pylist() == ["B"]
    assert t.column("date").to_pylist() == ["2025-11-02"]
    assert t.column("_row").to_pylist() == [2]
    one = pa.table({"customer_id": ["C04"], "tier": ["gold"], "reason": ["r"], "by": ["b"]})
    pq.write_table(one, tmp_path / "o.parquet")
    t = read_overrides(tmp_path / "o.parquet")
    assert t.column("tier").to_pylist() == ["gold"] and t.column("_row").to_pylist() == [1]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("customer_id;value_class;by", "no 'reason' column"),
        ("customer_id;reason;by", "neither a 'value_class' nor a 'tier' column"),
        ("id;value_class;reason;by", "no 'customer_id' column"),
    ],
)
def test_a_file_without_the_columns_is_refused(tmp_path: Path, header: str, message: str) -> None:
    p = _write(tmp_path, header + "\nC01;A;x;y\n")
    with pytest.raises(InputError, match=message) as exc:
        read_overrides(p)
    assert exc.value.file == str(p)


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"overrides file not found.*\[segments\] overrides_file"):
        read_overrides(tmp_path / "nope.csv")


def test_a_folder_given_as_the_file_is_said_to_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match=r"overrides file is a folder.*\[segments\] overrides_file"
    ):
        read_overrides(tmp_path)


# -- applying -------------------------------------------------------------------------------


def test_overrides_move_customers_and_are_audited(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "customer_id,value_class,tier,reason,by,date\n"
        "C01,A,,key account in negotiation,Ann Lee,\n"
        "C02,,gold,strategic for the region,Bo Chen,2025-10-01\n",
    )
    plain = segment_customers(_customers(), S, seed=1)
    r = segment_customers(
        _customers(), S, seed=1, overrides=read_overrides(p), overrides_source=p.name, as_of=AS_OF
    )
    c = r.customers.to_pydict()
    before = plain.customers.to_pydict()
    assert before["value_class"][1] == "D" and before["tier"][2] == "bronze"
    # C01: class moved, its tier follows the class; the computed class is kept beside it
    assert c["value_class"][1] == "A" and c["value_class_computed"][1] == "D"
    assert c["tier"][1] == "gold"
    # C02: tier only; its class stays the computed one
    assert c["value_class"][2] == c["value_class_computed"][2] == "D" and c["tier"][2] == "gold"
    # everyone else is untouched
    for col in ("value_class", "tier", "class_reason"):
        assert [v for i, v in enumerate(c[col]) if i not in (1, 2)] == [
            v for i, v in enumerate(before[col]) if i not in (1, 2)
        ]
    assert c["class_reason"][1].startswith(
        "A: set by Ann Lee (key account in negotiation); the figures gave D: "
    )
    assert c["class_reason"][1].endswith("→ gold: protect and grow")
    # a customer moved to A joins a niche of A
    assert c["niche"][1].startswith("A")
    audit = r.tables["overrides_applied"].to_pylist()
    assert audit == [
        {"customer_id": "C01", "by": "Ann Lee", "when": "2025-12-31", "computed_class": "D",
         "new_class": "A", "computed_tier": "bronze", "new_tier": "gold",
         "reason": "key account in negotiation", "file": "overrides.csv", "row": 2,
         "source": "overrides.csv, row 2"},
        {"customer_id": "C02", "by": "Bo Chen", "when": "2025-10-01", "computed_class": "D",
         "new_class": "D", "computed_tier": "bronze", "new_tier": "gold",
         "reason": "strategic for the region", "file": "overrides.csv", "row": 3,
         "source": "overrides.csv, row 3"},
    ]  # fmt: skip
    assert r.manifest["overrides"] == {
        "file": "overrides.csv",
        "applied": 2,
        "from_file": 2,
        "from_dashboard": 0,
    }
    assert any(
        "2 overrides applied (file 2): the class or tier a person set" in w for w in r.warnings
    )
    seg = r.tables["segments"].to_pandas().set_index(["level", "segment"])
    assert seg.loc[("class", "A"), "customers"] == 3  # the two computed A and C01


def test_an_id_saved_with_excels_text_apostrophe_is_the_customers_id(tmp_path: Path) -> None:
    # '00123 as Excel keeps an id as text (the inputs' 00123 lost its apostrophe in
    # validation); an id tierwise wrote with its formula guard ('=A1) reads back as
    # written; an apostrophe before a space, or doubled, is part of the id
    customers = _customers().set_column(
        0, "customer_id", pa.array(["00123", "=A1", *[f"C{i:02d}" for i in range(2, 10)]])
    )
    p = _write(
        tmp_path,
        "customer_id,value_class,reason,by\n'00123,A,key account,Ann\n'=A1,D,closing,Bo\n",
    )
    said: list[str] = []
    table = read_overrides(p, warnings=said)
    assert table.column("customer_id").to_pylist() == ["00123", "=A1"]
    assert said == [
        f"{p}: 1 id began with an apostrophe, Excel's mark for text such as '00123; the "
        "apostrophe is dropped, so that they match the same ids written without it in the "
        "other files"
    ]
    r = segment_customers(customers, S, seed=1, overrides=table, overrides_source=p.name)
    c = r.customers.to_pydict()
    assert c["value_class"][0] == "A" and c["value_class_computed"][0] != "A"
    assert c["class_reason"][0].startswith("A: set by Ann (key account)")
    assert c["value_class"][1] == "D"
    kept = _write(tmp_path, "customer_id,tier,reason,by\n' 7,gold,x,me\n''8,gold,x,me\n")
    assert read_overrides(kept).column("customer_id").to_pylist() == ["' 7", "''8"]


def test_an_id_tierwise_guarded_as_a_formula_reads_back_alone(tmp_path: Path) -> None:
    # the file's only apostrophe is tierwise's own formula guard: no Excel text apostrophe
    # to count, and the id still reads back as written
    customers = _customers().set_column(
        0, "customer_id", pa.array(["=A1", *[f"C{i:02d}" for i in range(1, 10)]])
    )
    p = _write(tmp_path, "customer_id,value_class,reason,by\n'=A1,D,closing,Bo\n")
    said: list[str] = []
    table = read_overrides(p, warnings=said)
    assert table.column("customer_id").to_pylist() == ["=A1"] and said == []
    r = segment_customers(customers, S, seed=1, overrides=table, overrides_source=p.name)
    assert r.customers.column("value_class").to_pylist()[0] == "D"


def test_overrides_never_change_the_models_inputs(tmp_path: Path) -> None:
    p = _write(tmp_path, "customer_id,value_class,reason,by\nC09,D,test,me\nC00,A,test,me\n")
    plain = segment_customers(_customers(), S, seed=1)
    r = segment_customers(_customers(), S, seed=1, overrides=read_overrides(p))
    assert r.value_cuts == plain.value_cuts and r.potential_cuts == plain.potential_cuts
    assert r.customers.column("value_class_computed").equals(plain.customers.column("value_class"))
    assert r.manifest["cut_points"] == plain.manifest["cut_points"]


def test_an_unknown_customer_is_an_error_naming_file_and_row(tmp_path: Path) -> None:
    p = _write(tmp_path, "customer_id,value_class,reason,by\nC01,A,x,me\nC99,B,y,me\n")
    with pytest.raises(InputError) as exc:
        segment_customers(_customers(), S, seed=1, overrides=read_overrides(p),
                          overrides_source=str(p))  # fmt: skip
    err = exc.value
    assert (err.file, err.row, err.column) == (str(p), 3, "customer_id")
    assert "unknown customer 'C99'" in err.one_line()


def test_every_wrong_row_is_reported_together(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "customer_id,value_class,tier,reason,by\n"
        "C01,Z,,x,me\n"  # unknown class
        "C02,,platinum,x,me\n"  # unknown tier
        "C03,A,,,me\n"  # no reason
        "C03,B,,x,\n"  # twice, and no author
        "C04,,,x,me\n",  # nothing to set
    )
    with pytest.raises(Problems) as exc:
        segment_customers(_customers(), S, seed=1, overrides=read_overrides(p),
                          overrides_source="o.csv")  # fmt: skip
    lines = [e.one_line() for e in exc.value]
    assert any("row 2" in x and "unknown class 'Z'" in x and "A, B, C, D" in x for x in lines)
    assert any("row 3" in x and "unknown tier 'platinum'" in x for x in lines)
    assert any("row 4" in x and "no reason given" in x for x in lines)
    assert any("row 5" in x and "overridden twice (also row 4)" in x for x in lines)
    assert any("row 5" in x and "no author given" in x for x in lines)
    assert any("row 6" in x and "neither value_class nor tier" in x for x in lines)
    assert all(x.startswith("o.csv, row") for x in lines)


def test_an_empty_or_binary_file_is_an_input_error_with_a_hint_for_this_file(
    tmp_path: Path,
) -> None:
    with pytest.raises(InputError, match=r"the file is empty \(save it as UTF-8 CSV or .xlsx\)"):
        read_overrides(_write(tmp_path, ""))
    p = tmp_path / "o.csv"
    p.write_bytes(b"\x00\x01\x02customer_id")
    with pytest.raises(InputError, match="binary"):
        read_overrides(p)


def test_dates_are_read_in_local_forms_and_a_non_date_is_kept_as_written(
    tmp_path: Path,
) -> None:
    p = _write(
        tmp_path,
        "customer_id;value_class;reason;by;date\n"
        "C01;A;key account;Ann;31.12.2025\n"
        "C02;A;key account;Ann;25/11/2025 14:30\n",
    )
    r = segment_customers(_customers(), S, seed=1, overrides=read_overrides(p), as_of=AS_OF)
    when = r.tables["overrides_applied"].column("when").to_pylist()
    assert when == ["2025-12-31", "2025-11-25 14:30:00"]
    odd = _write(
        tmp_path,
        "customer_id;tier;reason;by;date\nC01;gold;x;Bob;2025-12-01\nC02;gold;x;Bob;next year\n"
        "C03;gold;x;Bob;03/04/2025\n",
        "odd.csv",
    )
    r = segment_customers(_customers(), S, seed=1, overrides=read_overrides(odd),
                          overrides_source="odd.csv")  # fmt: skip
    # the date is only recorded: every override applies, an odd date stays as typed
    assert r.customers.column("tier").to_pylist()[1:4] == ["gold"] * 3
    when = r.tables["overrides_applied"].column("when").to_pylist()
    assert when == ["2025-12-01", "next year", "03/04/2025"]
    said = [w for w in r.warnings if "column 'date'" in w]
    assert said[0].startswith("odd.csv, row 3, column 'date': date 'next year' is not a date")
    assert said[1].startswith("odd.csv, row 4, column 'date': date '03/04/2025' is ambiguous")
    assert len(said) == 2


def test_each_reason_names_only_what_the_override_set(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "customer_id,value_class,tier,reason,by\n"
        "C02,,gold,strategic,Bob\n"  # tier only
        "C03,B,gold,odd,Cy\n",  # class and a tier the class does not give
    )
    plain = segment_customers(_customers(), S, seed=1).customers.to_pydict()
    r = segment_customers(_customers(), S, seed=1, overrides=read_overrides(p), as_of=AS_OF)
    c = r.customers.to_pydict()
    gold = S.programmes["gold"].service_level
    d_action = S.classes["D"]
    assert plain["value_class"][2] == "D" and plain["tier"][2] == "bronze"
    # the class is the computed one, with its own figures; only the tier is Bob's
    body = plain["class_reason"][2].removeprefix("D: ").rsplit(" → ", 1)[0]
    assert c["class_reason"][2] == (
        f"D: {body} → gold set by Bob (strategic), the figures gave bronze: {gold}"
    )
    assert "set by Bob" not in c["class_reason"][2].split(" → ")[0]
    assert d_action not in c["class_reason"][2]
    assert S.tiers["B"] != "gold"
    assert c["class_reason"][3].startswith("B: set by Cy (odd), with tier gold; the figures gave ")
    assert c["class_reason"][3].endswith(f"→ gold: {gold}")


def test_an_overrides_file_with_only_a_header_is_noted(tmp_path: Path) -> None:
    from tierwise.engine import Engine
    from tierwise.registry import StageContext, get
    from tierwise.settings import Settings

    p = _write(tmp_path, "customer_id,value_class,reason,by,date\n")
    settings = Settings(
        segments=S.model_copy(update={"overrides_file": str(p)}),
    )
    with Engine().session() as engine:
        ctx = StageContext(
            settings=settings,
            engine=engine,
            as_of=AS_OF,
            tables={},
            assemble=lambda _ctx: _customers(),
        )
        res = get("segments").run(ctx)
    assert res.manifest["overrides"] == {
        "file": str(p),
        "applied": 0,
        "from_file": 0,
        "from_dashboard": 0,
    }
    assert res.warnings[0] == (
        f"segments: the overrides file {p} has a header and no rows: no override from it is "
        "applied (add rows, or remove [segments] overrides_file)"
    )


# -- the file and the dashboard together; merged records -----------------------------------


def _dashboard(rows: list[dict[str, object]]) -> pa.Table:
    """Overrides as the dashboard stores them (tierwise.app.read_overrides)."""
    from tierwise.app.store import OVERRIDES_SCHEMA

    full = []
    for r in rows:
        at = r.get("at", dt.datetime(2026, 1, 10, 9, 30))
        row = {name: None for name in OVERRIDES_SCHEMA.names}
        row.update(customer_id=r["customer_id"], reason=r["reason"], by=r["by"], at=at)
        for column, prefix in (("value_class", "class"), ("tier", "tier")):
            if r.get(column):
                row[column] = r[column]
                row[f"{prefix}_reason"], row[f"{prefix}_by"] = r["reason"], r["by"]
                row[f"{prefix}_at"] = at
        full.append(row)
    return pa.Table.from_pylist(full, schema=OVERRIDES_SCHEMA)


def test_a_dashboard_class_keeps_the_tier_the_file_sets_and_the_conflict_is_named(
    tmp_path: Path,
) -> None:
    """The file sets D/bronze ("asked not to be visited"); the dashboard sets class B only:
    the customer is B with the file's bronze tier, and a warning names both overrides."""
    p = _write(
        tmp_path,
        "customer_id,value_class,tier,reason,by\nC08,D,bronze,asked not to be visited,cons\n",
    )
    r = segment_customers(
        _customers(), S, seed=1, overrides=read_overrides(p), overrides_source="o.csv",
        dashboard_overrides=_dashboard(
            [{"customer_id": "C08", "value_class": "B", "reason": "wants visits", "by": "ana"}]
        ),
        as_of=AS_OF,
    )  # fmt: skip
    c = r.customers.to_pydict()
    assert (c["value_class"][8], c["tier"][8]) == ("B", "bronze")
    [audit] = r.tables["overrides_applied"].to_pylist()
    assert (audit["new_class"], audit["new_tier"], audit["row"]) == ("B", "bronze", 2)
    assert audit["file"] == "o.csv and the dashboard (overrides.duckdb)"
    assert audit["source"] == (
        "class: the dashboard (ana, 2026-01-10 09:30:00); tier: o.csv, row 2"
    )
    assert audit["reason"] == "class: wants visits (ana); tier: asked not to be visited (cons)"
    said = [w for w in r.warnings if "two overrides set the class of C08" in w]
    assert said == [
        "two overrides set the class of C08: class B (the dashboard (ana, 2026-01-10 "
        "09:30:00): 'wants visits') replaces class D (o.csv, row 2: 'asked not to be "
        "visited'); remove one of them to settle it"
    ]
    assert r.manifest["overrides"]["from_file"] == 1
    assert r.manifest["overrides"]["from_dashboard"] == 1
    assert any(w.startswith("1 override applied (file 1, dashboard 1)") for w in r.warnings)


def test_a_dashboard_override_alone_names_the_dashboard_as_its_source() -> None:
    r = segment_customers(
        _customers(), S, seed=1,
        dashboard_overrides=_dashboard(
            [{"customer_id": "C01", "tier": "gold", "reason": "strategic", "by": "bo"}]
        ),
        as_of=AS_OF,
    )  # fmt: skip
    [audit] = r.tables["overrides_applied"].to_pylist()
    assert audit["file"] == "the dashboard (overrides.duckdb)" and audit["row"] is None
    assert audit["source"] == "the dashboard (bo, 2026-01-10 09:30:00)"
    assert audit["when"] == "2026-01-10 09:30:00"


def _members() -> pa.Table:
    """C10 and C11 were merged into account C03 (their records are not customers)."""
    return pa.table({"customer_id": ["C03", "C10", "C11"], "account_id": ["C03", "C03", "C03"]})


def test_a_merged_records_override_is_carried_to_its_account(tmp_path: Path) -> None:
    p = _write(tmp_path, "customer_id,value_class,reason,by\nC10,A,key account,cons\n")
    r = segment_customers(
        _customers(), S, seed=1, overrides=read_overrides(p), overrides_source="o.csv",
        members=_members(), as_of=AS_OF,
    )  # fmt: skip
    assert r.customers.column("value_class").to_pylist()[3] == "A"
    [audit] = r.tables["overrides_applied"].to_pylist()
    assert audit["customer_id"] == "C03" and audit["source"] == "o.csv, row 2, for C10"
    assert [w for w in r.warnings if "merged" in w] == [
        "C10 was merged into account C03: the override of C10 (o.csv, row 2: class A) is "
        "applied to C03"
    ]


def test_a_dashboard_override_of_a_record_a_confirmed_pair_merges_does_not_stop_the_run(
    tmp_path: Path,
) -> None:
    """The account keeps its own override; the merged record's is named and not applied."""
    p = _write(tmp_path, "customer_id,tier,reason,by\nC03,gold,framework contract,cons\n")
    r = segment_customers(
        _customers(), S, seed=1, overrides=read_overrides(p), overrides_source="o.csv",
        dashboard_overrides=_dashboard(
            [{"customer_id": "C11", "value_class": "A", "reason": "big opportunity",
              "by": "ana"}]
        ),
        members=_members(), as_of=AS_OF,
    )  # fmt: skip
    c = r.customers.to_pydict()
    assert c["tier"][3] == "gold" and c["value_class"][3] == c["value_class_computed"][3]
    said = [w for w in r.warnings if "merged" in w]
    assert said == [
        "C11 was merged into account C03, which has an override of its own: the override of "
        "C11 (the dashboard (ana, 2026-01-10 09:30:00): class A) is not applied (give it to "
        "C03, or remove it)"
    ]


def test_a_dashboard_override_of_a_customer_gone_from_the_data_is_a_warning() -> None:
    r = segment_customers(
        _customers(), S, seed=1,
        dashboard_overrides=_dashboard(
            [{"customer_id": "C77", "value_class": "A", "reason": "x", "by": "ana"}]
        ),
        as_of=AS_OF,
    )  # fmt: skip
    assert r.tables["overrides_applied"].num_rows == 0
    assert any(w.startswith("the dashboard's override of C77 (ana, ") for w in r.warnings)


def test_a_file_row_naming_a_merged_record_says_which_account_not_unknown(
    tmp_path: Path,
) -> None:
    """Without the accounts (no members), it is still an unknown customer: an error."""
    p = _write(tmp_path, "customer_id,value_class,reason,by\nC10,A,x,me\n")
    with pytest.raises(InputError, match="unknown customer 'C10'"):
        segment_customers(_customers(), S, seed=1, overrides=read_overrides(p))
    r = segment_customers(_customers(), S, seed=1, overrides=read_overrides(p), members=_members())
    assert r.tables["overrides_applied"].column("customer_id").to_pylist() == ["C03"]


def test_columns_an_override_does_not_set_are_named_in_a_warning(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "customer_id,value_class,tier,reason,by,rep_id,channel,visits_per_year,note,empty\n"
        "C01,A,,x,me,R9999,field,12,call first,\n",
    )
    said: list[str] = []
    t = read_overrides(p, warnings=said)
    assert t.column_names == ["customer_id", "value_class", "tier", "reason", "by", "date", "_row"]
    assert said == [
        f"{p}: columns rep_id, channel, visits_per_year are not read: an override sets "
        "value_class and/or tier only; the coverage plan decides channel, visits, calls and "
        "rep from the tier (set the tier whose programme you want, or [coverage] settings); "
        "column note is not read (only customer_id, value_class, tier, reason, by and date "
        "are)"
    ]
