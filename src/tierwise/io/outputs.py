"""Writing the output folder: atomically, deterministically, safe to open in a spreadsheet.

Text from input files is untrusted. A CSV cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return would run as a formula in Excel; such text cells are prefixed
with an apostrophe (the OWASP advice for CSV injection). Numbers stay numbers.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = ["OutputFolder", "neutralise_formulas", "write_csv", "write_parquet"]

_FORMULA_START = r"^[=+\-@\t\r]"


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Prefix an apostrophe to every text cell that a spreadsheet would run as a formula.

    Examples
    --------
    >>> t = pa.table({"name": ["=HYPERLINK(1)", "Acme", "-x", None], "n": [-1, 2, 3, 4]})
    >>> neutralise_formulas(t).to_pydict()
    {'name': ["'=HYPERLINK(1)", 'Acme', "'-x", None], 'n': [-1, 2, 3, 4]}
    """
    cols = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            risky = pc.match_substring_regex(col, _FORMULA_START)
            col = pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col)
        elif pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            joined = pc.binary_join(col.cast(pa.list_(pa.string())), ";")
            risky = pc.match_substring_regex(joined, _FORMULA_START)
            col = pc.if_else(risky, pc.binary_join_element_wise("'", joined, ""), joined)
        cols.append((name, col))
    return pa.table(dict(cols))


def write_csv(table: pa.Table, path: Path) -> None:
    """CSV with a header, UTF-8, formulas neutralised, dates as ISO text."""
    pacsv.write_csv(neutralise_formulas(table), path)


def write_parquet(table: pa.Table, path: Path) -> None:
    """Parquet with fixed options so that the same table gives the same bytes."""
    pq.write_table(table, path, compression="zstd", write_statistics=True, use_dictionary=True)


class OutputFolder:
    """An output folder written atomically.

    Files are written into a hidden temporary folder beside the target; ``commit`` swaps it
    into place, so a crashed run leaves the last good output intact.

    Examples
    --------
    >>> d = Path(tempfile.mkdtemp()) / "out"
    >>> with OutputFolder(d) as out:
    ...     out.write_json("manifest.json", {"ok": True})
    >>> (d / "manifest.json").read_text().strip()
    '{\\n  "ok": true\\n}'
    """

    def __init__(self, target: str | Path) -> None:
        self.target = Path(target).resolve()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(
            tempfile.mkdtemp(prefix=f".{self.target.name}.tmp-", dir=self.target.parent)
        )

    def path(self, name: str) -> Path:
        return self.tmp / name

    def write_table(
        self, stem: str, table: pa.Table, *, csv: bool = True, parquet: bool = True
    ) -> None:
        if parquet:
            write_parquet(table, self.tmp / f"{stem}.parquet")
        if csv:
            write_csv(table, self.tmp / f"{stem}.csv")

    def write_json(self, name: str, data: Mapping[str, Any]) -> None:
        text = json.dumps(_clean(data), indent=2, default=_json_default, allow_nan=False)
        (self.tmp / name).write_text(text + "\n", encoding="utf-8")

    def write_text(self, name: str, text: str) -> None:
        (self.tmp / name).write_text(text, encoding="utf-8")

    def commit(self) -> Path:
        old = None
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            if old.exists():
                shutil.rmtree(old)
            os.replace(self.target, old)
        os.replace(self.tmp, self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.target

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def _json_default(value: Any) -> Any:
    import datetime as dt

    import numpy as np

    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        v = float(value)
        return v if np.isfinite(v) else None
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _clean(value: Any) -> Any:
    """NaN and infinity become null (JSON has no spelling for them)."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
