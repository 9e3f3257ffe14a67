"""An Excel report whose column names take two rows, with cells merged across columns above
their sub-names ("Kunde" over "Nr" and "Name"): each column is named by its cells in those
rows, by the reader and by init alike, and the data starts below them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

from tierwise.engine import Engine
from tierwise.io import read_input
from tierwise.io.sample import read_sample
from tierwise.settings import TableInput


def _report(path: Path) -> Path:
    """A title merged across the sheet, group names merged over their sub-names, and two
    columns whose single name is merged down both header rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Umsatzliste 2024"])
    ws.merge_cells("A1:F1")
    ws.append(["Kunde", None, "Artikel", None, "Umsatz", "Datum"])
    for cells in ("A2:B2", "C2:D2", "E2:E3", "F2:F3"):
        ws.merge_cells(cells)
    ws.append(["Nr", "Name", "Nr", "Bezeichnung", None, None])
    ws.append(["K1", "Müller", "A7", "Schraube", 12.5, dt.date(2024, 1, 2)])
    ws.append(["K2", "Meier", "A8", "Mutter", 3.0, dt.date(2024, 1, 3)])
    wb.save(path)
    return path


NAMES = ["Kunde Nr", "Kunde Name", "Artikel Nr", "Artikel Bezeichnung", "Umsatz", "Datum"]


def test_names_over_two_rows_of_merged_cells_are_joined(tmp_path: Path, engine: Engine) -> None:
    path = _report(tmp_path / "report.xlsx")
    raw = read_input("transactions", str(path), TableInput(), engine)
    assert raw.source_columns == NAMES
    rows = engine.to_arrow(raw.table.order_by("_row")).to_pylist()
    # the data starts below the second header row, with the sheet's row numbers
    assert [(r["_row"], r["Kunde Nr"], r["Artikel Bezeichnung"]) for r in rows] == [
        (4, "K1", "Schraube"),
        (5, "K2", "Mutter"),
    ]
    said = [w for w in raw.warnings if "take rows 2 to 3" in w]
    assert len(said) == 1 and "'Kunde Nr', 'Kunde Name'" in said[0]
    assert [w for w in raw.warnings if "a title: 'Umsatzliste 2024'" in w]
    # init reads the same names, so the settings it proposes read the file
    assert read_sample(path, name="transactions").columns == NAMES


def test_a_band_above_names_written_twice_qualifies_them(tmp_path: Path, engine: Engine) -> None:
    # the band fills too few cells to be taken for the header; the row below it names "Nr"
    # and "Name" twice, which alone would be refused as a repeated column
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Rechnungsempfänger", None, "Lieferempfänger", None, None])
    ws.merge_cells("A1:B1")
    ws.merge_cells("C1:D1")
    ws.append(["Nr", "Name", "Nr", "Name", "Umsatz"])
    ws.append(["K1", "Müller", "K9", "Lager", 12.5])
    wb.save(tmp_path / "r.xlsx")
    raw = read_input("transactions", str(tmp_path / "r.xlsx"), TableInput(), engine)
    assert raw.source_columns == [
        "Rechnungsempfänger Nr",
        "Rechnungsempfänger Name",
        "Lieferempfänger Nr",
        "Lieferempfänger Name",
        "Umsatz",
    ]
    assert [r["_row"] for r in engine.to_arrow(raw.table).to_pylist()] == [3]


def test_an_unnamed_column_without_merged_cells_keeps_one_header_row(
    tmp_path: Path, engine: Engine
) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Kunde", None, "Umsatz"])
    ws.append(["K1", "x", 3])
    wb.save(tmp_path / "plain.xlsx")
    raw = read_input("transactions", str(tmp_path / "plain.xlsx"), TableInput(), engine)
    assert raw.source_columns == ["Kunde", "column_2", "Umsatz"]
    assert [r["_row"] for r in engine.to_arrow(raw.table).to_pylist()] == [2]
    assert not [w for w in raw.warnings if "take rows" in w]


def test_a_merged_cell_over_data_keeps_the_first_data_row(tmp_path: Path, engine: Engine) -> None:
    # one header row whose last name is merged over two columns, the second holding data
    # (an empty name): the row below is data, numbers and dates, never part of the names
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Kundennr", "Datum", "Umsatz", "Bemerkung", None])
    ws.merge_cells("D1:E1")
    for i in range(3):
        ws.append([f"K{i}", dt.date(2024, 1, 1 + i), 100 + i, "ok", f"x{i}"])
    wb.save(tmp_path / "b.xlsx")
    raw = read_input("transactions", str(tmp_path / "b.xlsx"), TableInput(), engine)
    assert raw.source_columns == ["Kundennr", "Datum", "Umsatz", "Bemerkung", "column_5"]
    assert [r["_row"] for r in engine.to_arrow(raw.table).to_pylist()] == [2, 3, 4]
