"""Reading a run's output folder: its tables (Parquet first, else CSV) and its manifest.

A CSV is read in the flavour the run wrote it (``[output] csv_locale`` in the manifest:
``excel-de`` writes semicolons and decimal commas), so every locale reads back the same.

The report, the Excel plan, the CRM export and the dashboard all start from an output folder
written by ``tierwise run``. A table a stage did not write (the stage did not run, or is not
part of this version) reads as ``None``; a column a table lacks is simply not selected, so
each section can say plainly what it is missing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import InputError
from ..io.outputs import CSV_LOCALES, read_csv

__all__ = ["UNASSIGNED", "RunFolder", "carrying_rep", "float_array", "team_reps", "text_array"]


class RunFolder:
    """An output folder of a run, read lazily.

    Parameters
    ----------
    path
        The folder ``tierwise run --out`` wrote.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> pq.write_table(pa.table({"customer_id": ["a"], "revenue_12m": [1.0]}),
    ...                d / "customers.parquet")
    >>> f = RunFolder(d)
    >>> f.has("customers"), f.has("segments")
    (True, False)
    >>> f.table("customers", ["customer_id", "clv"]).column_names
    ['customer_id']
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise InputError(
                "output folder not found",
                file=str(self.path),
                hint="give the folder a 'tierwise run --out DIR' wrote",
            )
        self._manifest: dict[str, Any] | None = None
        self._cache: dict[tuple[str, tuple[str, ...] | None], pa.Table | None] = {}

    @property
    def manifest(self) -> dict[str, Any]:
        """manifest.json as a dict (empty when the folder has none)."""
        if self._manifest is None:
            p = self.path / "manifest.json"
            if p.is_file():
                try:
                    self._manifest = json.loads(p.read_text(encoding="utf-8"))
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise InputError(
                        f"manifest.json is not valid JSON: {exc}", file=str(p)
                    ) from exc
            else:
                self._manifest = {}
        return self._manifest

    @property
    def csv_locale(self) -> str:
        """The flavour of the folder's CSVs (``[output] csv_locale`` in the manifest)."""
        output = (self.manifest.get("settings") or {}).get("output") or {}
        locale = output.get("csv_locale", "default") if isinstance(output, dict) else None
        return locale if locale in CSV_LOCALES else "default"

    def read_csv(
        self,
        name: str,
        columns: Sequence[str] | None = None,
        column_types: dict[str, pa.DataType] | None = None,
    ) -> pa.Table:
        """A CSV file of the folder, read in the folder's CSV locale (columns must exist)."""
        p = self.path / name
        try:
            return read_csv(
                p,
                locale=self.csv_locale,
                columns=list(columns) if columns is not None else None,
                column_types=column_types,
            )
        except pa.ArrowException as exc:
            raise InputError(f"cannot read {p.name}: {exc}", file=str(p)) from exc

    def file(self, stem: str) -> Path | None:
        """The table's file: ``stem.parquet`` when present, else ``stem.csv``, else None."""
        for ext in (".parquet", ".csv"):
            p = self.path / f"{stem}{ext}"
            if p.is_file():
                return p
        return None

    def has(self, stem: str) -> bool:
        """Whether the run wrote this table."""
        return self.file(stem) is not None

    def columns(self, stem: str) -> list[str]:
        """The table's column names without reading its rows (empty when absent)."""
        p = self.file(stem)
        if p is None:
            return []
        if p.suffix == ".parquet":
            return list(pq.read_schema(p).names)
        t = self.table(stem)
        return t.column_names if t is not None else []

    def head(self, stem: str, n: int) -> tuple[pa.Table | None, int]:
        """The table's first ``n`` rows and its number of rows, reading no more of a
        Parquet file than those rows (``(None, 0)`` when the run did not write it)."""
        p = self.file(stem)
        if p is None:
            return None, 0
        if p.suffix != ".parquet":
            t = self.table(stem)
            assert t is not None
            return t.slice(0, n), t.num_rows
        f = pq.ParquetFile(p)
        first = next(f.iter_batches(batch_size=max(n, 1)), None)
        t = f.schema_arrow.empty_table() if first is None else pa.Table.from_batches([first])
        return t.slice(0, n), f.metadata.num_rows

    def table(self, stem: str, columns: Sequence[str] | None = None) -> pa.Table | None:
        """The table, or the subset of ``columns`` it has; None when the run did not write it.

        CSV files are read with every column as text except those that read cleanly as
        numbers (the output folder's CSVs are written by tierwise itself).
        """
        key = (stem, tuple(columns) if columns is not None else None)
        if key in self._cache:
            return self._cache[key]
        p = self.file(stem)
        t: pa.Table | None
        if p is None:
            t = None
        elif p.suffix == ".parquet":
            names = pq.read_schema(p).names
            cols = None if columns is None else [c for c in columns if c in names]
            t = pq.read_table(p, columns=cols)
        else:
            t = self.read_csv(p.name)
            if columns is not None:
                t = t.select([c for c in columns if c in t.column_names])
        self._cache[key] = t
        return t


def currency_of(manifest: Mapping[str, Any]) -> str:
    """The symbol money is shown with: the run's ``[segments] currency_symbol`` as its
    manifest gives it, else that of the one currency the inputs' amounts name (the
    manifest's ``currency`` block); "" for none.

    Examples
    --------
    >>> currency_of({"settings": {"segments": {"currency_symbol": "CHF "}}})
    'CHF '
    >>> currency_of({"settings": {}, "currency": {"symbol": "€"}}), currency_of({})
    ('€', '')
    """
    seg = (manifest.get("settings") or {}).get("segments")
    sym = seg.get("currency_symbol") if isinstance(seg, dict) else None
    if isinstance(sym, str) and sym.strip():
        return sym
    read = manifest.get("currency")
    sym = read.get("symbol") if isinstance(read, dict) else None
    return sym if isinstance(sym, str) and sym.strip() else ""


def float_array(table: pa.Table, name: str) -> Any:
    """A column as a float64 NumPy array, nulls (and missing columns) as NaN."""
    import numpy as np

    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    col = table.column(name)
    if pa.types.is_boolean(col.type):
        col = col.cast(pa.float64())
    col = pc.cast(col, pa.float64())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


#: ``assigned_rep``'s word for an account the coverage plan gives no rep of the reps file
#: (its ``rep_id`` names a rep the file does not have): carried by no one
UNASSIGNED = "(unassigned)"


def team_reps(rep_plan: pa.Table | None) -> pa.Array | None:
    """The reps of the run's team (rep_plan's ``rep_id``: every rep of the reps file, or
    without one the reps the plan kept), or None without a coverage plan."""
    if rep_plan is None or "rep_id" not in rep_plan.column_names:
        return None
    return text_array(rep_plan, "rep_id")


def carrying_rep(table: pa.Table, team: pa.Array | None = None) -> pa.Array:
    """The rep who carries each account: the coverage plan's (``assigned_rep``), else, for an
    account the plan contacts by e-mail or not at all, or without a plan, today's
    (``rep_id``); null where neither names one. The call lists, the CRM export's owner, the
    targets and the dashboard's rep pages all take the rep this way.

    An account the plan left "(unassigned)" (its rep is not in the reps file) is carried by
    no one. With ``team`` (:func:`team_reps`), today's rep counts only when it is one of the
    team: a customer or prospect of a rep who left is never carried by that rep.

    Examples
    --------
    >>> t = pa.table({"assigned_rep": ["r1", None, None, "(unassigned)", None],
    ...               "rep_id": ["r9", "r2", None, "gone", "gone"]})
    >>> carrying_rep(t).to_pylist()
    ['r1', 'r2', None, None, 'gone']
    >>> carrying_rep(t, team=pa.array(["r1", "r2"])).to_pylist()
    ['r1', 'r2', None, None, None]
    """
    none = pa.scalar(None, pa.string())
    planned = text_array(table, "assigned_rep")
    today = text_array(table, "rep_id")
    if team is not None:
        today = pc.if_else(pc.is_in(today, value_set=team.cast(pa.string())), today, none)
    left = pc.fill_null(pc.equal(planned, UNASSIGNED), False)
    return pc.if_else(left, none, pc.coalesce(planned, today))


def text_array(table: pa.Table, name: str) -> pa.Array:
    """A column as one string array (lists joined by "; "), nulls kept; missing → all null."""
    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    col = table.column(name).combine_chunks()
    if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
        return pc.binary_join(col.cast(pa.list_(pa.string())), "; ")
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pc.cast(col, pa.string())
    return col.cast(pa.string())
