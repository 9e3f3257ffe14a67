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
         "reason": "key account in negotiation", "file": "overrides.csv", "row": 2},
        {"customer_id": "C02", "by": "Bo Chen", "when": "2025-10-01", "computed_class": "D",
         "new_class": "D", "computed_tier": "bronze", "new_tier": "gold",
         "reason": "strategic for the region", "file": "overrides.csv", "row": 3},
    ]  # fmt: skip
    assert r.manifest["overrides"] == {"file": "overrides.csv", "applied": 2}
    seg = r.tables["segments"].to_pandas().set_index(["level", "segment"])
    assert seg.loc[("class", "A"), "customers"] == 3  # the two computed A and C01


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
    assert res.manifest["overrides"] == {"file": str(p), "applied": 0}
    assert res.warnings[0] == (
        f"segments: the overrides file {p} has a header and no rows: no override from it is "
        "applied (add rows, or remove [segments] overrides_file)"
    )
