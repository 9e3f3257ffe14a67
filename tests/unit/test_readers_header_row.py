"""A CSV file's header row set far down: read from there, or named as beyond the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierwise.errors import InputError
from tierwise.io.readers import sniff_csv
from tierwise.settings.inputs import TableInput


def test_a_header_row_past_the_lines_sniffed_is_read(tmp_path: Path) -> None:
    p = tmp_path / "tx.csv"
    title = "".join(f"report line {i}\n" for i in range(1, 300))
    p.write_text(title + "customer_id;date;revenue\nA;2024-01-02;3\n", encoding="utf-8")
    d = sniff_csv(str(p), TableInput(header_row=300), name="transactions")
    assert (d.header, d.header_line, d.delimiter) == (["customer_id", "date", "revenue"], 300, ";")
    with pytest.raises(InputError, match="header_row 303 is beyond the file's 301 lines"):
        sniff_csv(str(p), TableInput(header_row=303), name="transactions")
