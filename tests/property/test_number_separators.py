"""A number column is never misread, whatever separators it is written with (Hypothesis).

Random amounts are written into a CSV column (of transactions, payments or the market
table: revenue, cost, amount, market size) in one of the conventions people export
(decimal point or comma; thousands grouped by comma, point, space, no-break space,
apostrophe, or not at all), in a random delimiter, and read back through the real reader
and validation, with the separators either left to tierwise or set in the settings.

Each value must come back equal to the amount written, or its row must be rejected —
never a different number (1.250 read as 1250). The one exception is said aloud: a column
whose every value reads both ways (only ``1.250``-like values) is read by the default and
a warning names the column; then, and only then, a value may differ.

"Equal" is to 1e-12 relative: the text is the amount rounded to its written decimals, and
the engine and Python both parse it to the nearest double; a separator misread is a factor
of at least 10.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierwise.engine import ROW
from tierwise.io import read_input
from tierwise.settings import Settings
from tierwise.validate import REASON, canonicalize

NBSP = "\u00a0"
SEPARATORS = [",", ".", " ", NBSP, "'", ""]

#: (table, numeric column) → the other columns of a row of that table, as text
TABLES: dict[tuple[str, str], dict[str, str]] = {
    ("transactions", "revenue"): {"customer_id": "C1", "date": "2024-01-02"},
    ("transactions", "cost"): {"customer_id": "C1", "date": "2024-01-02", "revenue": "5"},
    ("payments", "amount"): {
        "invoice_id": "I1",
        "customer_id": "C1",
        "due_date": "2024-01-02",
    },
    ("market", "market_size"): {"industry": "retail"},
}


def _write_number(x: float, decimals: int, decimal: str, thousands: str) -> str:
    text = f"{x:,.{decimals}f}"  # 1,234,567.89: "," groups, "." decimals
    return text.replace(",", "\x00").replace(".", decimal).replace("\x00", thousands)


@st.composite
def columns(draw):
    decimal = draw(st.sampled_from([".", ","]))
    thousands = draw(st.sampled_from([s for s in SEPARATORS if s != decimal]))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    decimals = draw(st.integers(0, 4))
    values = draw(
        st.lists(
            st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False),
            min_size=1,
            max_size=12,
        )
    )
    told = draw(st.booleans())  # the settings name the convention, or tierwise decides
    where = draw(st.sampled_from(sorted(TABLES)))
    return decimal, thousands, delimiter, decimals, values, told, where


@pytest.fixture(scope="module")
def engine(request, open_engine):
    with open_engine(request) as eng:
        yield eng


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(columns())
def test_a_number_comes_back_equal_or_its_row_is_rejected(engine, column):
    decimal, thousands, delimiter, decimals, values, told, (table, name) = column
    if (table, name) != ("transactions", "revenue"):
        # costs, amounts and market sizes are not negative (a negative one is rejected as
        # implausible, which is not what this test is about)
        values = [abs(x) for x in values]
    texts = [_write_number(x, decimals, decimal, thousands) for x in values]
    expected = [float(f"{x:.{decimals}f}") for x in values]
    others = TABLES[(table, name)]
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow([*others, name])
    w.writerows(
        [*(f"{v}{i}" if k.endswith("_id") or k == "industry" else v for k, v in others.items()), t]
        for i, t in enumerate(texts)
    )
    s = Settings()
    if told:
        # thousands = " " stands for every space that groups digits, the no-break one too
        grouping = " " if thousands == NBSP else thousands
        s = s.with_updates(**{table: {"decimal": decimal, "thousands": grouping}})
    warnings: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{table}.csv"
        path.write_text(buf.getvalue(), encoding="utf-8")
        raw = read_input(table, path, getattr(s, table), engine)
        t = canonicalize(
            raw.table,
            table,
            s,
            engine,
            file=raw.path,
            source_columns=raw.source_columns,
            delimiter=raw.delimiter,
            warnings=warnings,
        )
        got = engine.to_arrow(t.order_by(ROW)).to_pylist()
    assert len(got) == len(values)
    wrong = [
        (text, want, row[name])
        for text, want, row in zip(texts, expected, got, strict=True)
        if row[REASON] is None and row[name] != pytest.approx(want, rel=1e-12, abs=1e-12)
    ]
    if told:
        assert wrong == [], wrong
        # what the settings name is the convention: nothing is rejected either
        assert all(row[REASON] is None for row in got), [row[REASON] for row in got]
    elif wrong:
        # only a column of values that read both ways may be misread, and then it is said
        assert any(f"'{name}'" in w and "either decimal separator" in w for w in warnings), (
            wrong,
            warnings,
        )
