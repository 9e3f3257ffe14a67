"""Reading the class overrides file (``[segments] overrides_file``): CSV, Excel or Parquet.

An override moves a customer to another class or tier after the mathematics ran. The file
has a header row and the columns ``customer_id``, ``value_class`` and/or ``tier``,
``reason`` and ``by`` (who decided), optionally ``date`` (when); header names are matched
without regard to case or surrounding spaces. Other columns are not read, and a warning
names them: an override sets a class and a tier, nothing else (the coverage plan decides
channel, frequency and rep from the tier). Every value is
read as text; ``_row`` is the row a person would look up (the line number in a CSV file, the
header being line 1; the sheet row in Excel; the record number from 1 in Parquet). A
customer_id saved with Excel's "keep as text" apostrophe (``'00123``) is read without it,
as the inputs' ids are, with a warning; one tierwise wrote with its formula guard
(``'=A1``) reads back as written (``=A1``).

Whether the customers and classes exist is checked by the segments stage, which knows them;
this module only checks that the file can be read and has the columns.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..engine import ROW
from ..errors import InputError
from .outputs import restore_formulas, text_apostrophe_note, without_text_apostrophe
from .readers import sniff_csv

__all__ = ["OVERRIDE_COLUMNS", "read_overrides"]

#: Columns an overrides table carries (text), besides ``_row``.
OVERRIDE_COLUMNS = ("customer_id", "value_class", "tier", "reason", "by", "date")

_HINT = "give the columns customer_id, value_class and/or tier, reason and by"

#: Columns a person may expect an override to set, which the coverage plan decides.
_PLAN_COLUMNS = frozenset(
    {
        "rep_id",
        "rep",
        "assigned_rep",
        "owner",
        "channel",
        "current_channel",
        "visits_per_year",
        "calls_per_year",
        "emails_per_year",
        "frequency",
        "visits",
        "calls",
    }
)


def read_overrides(path: str | Path, *, warnings: list[str] | None = None) -> pa.Table:
    """Read an overrides file into a text table with ``_row``.

    Columns: customer_id, value_class, tier, reason, by, date (null where the file has no
    such column or the cell is empty), and ``_row``. A column of the file that is none of
    these is not read; ``warnings`` gets one line naming such columns (those that would set
    a rep, channel or frequency told apart) and what an override sets.

    Raises
    ------
    InputError
        The file is missing, unreadable, or lacks customer_id, reason, by, or both of
        value_class and tier (naming the file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "overrides.csv"
    >>> _ = p.write_text("Customer_ID;value_class;reason;by\\nC1;A;key account;Ann\\n")
    >>> t = read_overrides(p)
    >>> t.column("value_class").to_pylist(), t.column("_row").to_pylist()
    (['A'], [2])
    >>> _ = p.write_text("customer_id,value_class,reason,by,rep_id\\nC1,A,key,Ann,R1\\n")
    >>> said = []
    >>> _ = read_overrides(p, warnings=said)
    >>> said[0].split(":")[1]
    ' column rep_id is not read'
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(
            f"overrides file {'is a folder' if p.is_dir() else 'not found'}",
            file=str(p),
            hint="fix [segments] overrides_file or remove it",
        )
    suffix = p.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        header, rows, numbers = _read_excel(p)
    elif suffix in {".parquet", ".pq"}:
        header, rows, numbers = _read_parquet(p)
    else:
        header, rows, numbers = _read_csv(p)
    table = _to_table(str(p), header, rows, numbers)
    # an id tierwise wrote with its formula guard ('=A1) reads back as written; one saved
    # with Excel's text apostrophe ('00123) is the id 00123, as in the inputs
    ids, n = without_text_apostrophe(restore_formulas(table.column("customer_id")))
    table = table.set_column(table.schema.get_field_index("customer_id"), "customer_id", ids)
    if n and warnings is not None:
        warnings.append(text_apostrophe_note(str(p), n))
    if warnings is not None:
        unread = _unread(header, rows)
        if unread:
            warnings.append(_unread_text(str(p), unread))
    return table


def _unread(header: list[str], rows: list[list[str]]) -> list[str]:
    """The header's names of the columns that are not read and hold a value in some row."""
    out = []
    for i, h in enumerate(header):
        name = h.strip()
        if not name or name.lower() in OVERRIDE_COLUMNS:
            continue
        if any(i < len(r) and r[i].strip() for r in rows) or not rows:
            out.append(name)
    return out


def _unread_text(path: str, unread: list[str]) -> str:
    """One line naming the columns not read, and what an override sets."""
    plan = [c for c in unread if c.lower() in _PLAN_COLUMNS]
    other = [c for c in unread if c.lower() not in _PLAN_COLUMNS]
    parts = []
    if plan:
        parts.append(
            f"column{'s' if len(plan) > 1 else ''} {', '.join(plan)} "
            f"{'are' if len(plan) > 1 else 'is'} not read: an override sets value_class and/or "
            "tier only; the coverage plan decides channel, visits, calls and rep from the "
            "tier (set the tier whose programme you want, or [coverage] settings)"
        )
    if other:
        parts.append(
            f"column{'s' if len(other) > 1 else ''} {', '.join(other)} "
            f"{'are' if len(other) > 1 else 'is'} not read (only customer_id, value_class, "
            "tier, reason, by and date are)"
        )
    return f"{path}: " + "; ".join(parts)


def _read_csv(p: Path) -> tuple[list[str], list[list[str]], list[int]]:
    try:
        dialect = sniff_csv(str(p), name="segments")
    except InputError as exc:
        # the reader's hints name input settings the overrides file does not have
        raise InputError(exc.message, file=str(p), hint="save it as UTF-8 CSV or .xlsx") from exc
    try:
        text = p.read_bytes().decode(dialect.encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot decode the file as {dialect.encoding}", file=str(p)) from exc
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=dialect.delimiter)
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    last = 0
    for record in reader:
        start, last = last + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if header is None:
            header = record
            continue
        rows.append(record)
        numbers.append(start)
    if header is None:
        raise InputError("the file is empty", file=str(p), hint=_HINT)
    return header, rows, numbers


def _read_excel(p: Path) -> tuple[list[str], list[list[str]], list[int]]:
    import pandas as pd

    try:
        frame = pd.read_excel(p, header=None, dtype=str, engine="openpyxl", keep_default_na=False)
    except Exception as exc:
        raise InputError(f"cannot read as Excel: {exc}", file=str(p)) from exc
    if frame.empty:
        raise InputError("the sheet is empty", file=str(p), hint=_HINT)
    values = frame.to_numpy(dtype=object)
    header = [str(c) for c in values[0]]
    body = values[1:]
    keep = [i for i in range(len(body)) if any(str(c).strip() for c in body[i])]
    return header, [[str(c) for c in body[i]] for i in keep], [i + 2 for i in keep]


def _read_parquet(p: Path) -> tuple[list[str], list[list[str]], list[int]]:
    import pyarrow.parquet as pq

    try:
        t = pq.read_table(p)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read as Parquet: {exc}", file=str(p)) from exc
    cols = [c for c in t.column_names if not pa.types.is_nested(t.schema.field(c).type)]
    data = [
        ["" if v is None else str(v) for v in t.column(c).cast(pa.string()).to_pylist()]
        for c in cols
    ]
    rows = [list(r) for r in zip(*data, strict=True)] if data else []
    return cols, rows, list(range(1, len(rows) + 1))


def _to_table(path: str, header: list[str], rows: list[list[str]], numbers: list[int]) -> pa.Table:
    names = [h.strip().lower() for h in header]
    position: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in OVERRIDE_COLUMNS:
            if name in position:
                raise InputError(
                    f"column {name!r} appears twice in the header", file=path, row=1, hint=_HINT
                )
            position[name] = i
    missing = [c for c in ("customer_id", "reason", "by") if c not in position]
    if missing:
        raise InputError(f"no {missing[0]!r} column in the header", file=path, row=1, hint=_HINT)
    if "value_class" not in position and "tier" not in position:
        raise InputError(
            "neither a 'value_class' nor a 'tier' column in the header",
            file=path,
            row=1,
            hint=_HINT,
        )
    columns: dict[str, pa.Array] = {}
    for name in OVERRIDE_COLUMNS:
        at = position.get(name)
        cells = [(r[at].strip() if at is not None and at < len(r) else "") for r in rows]
        columns[name] = pa.array([c if c else None for c in cells], pa.string())
    columns[ROW] = pa.array(np.asarray(numbers, dtype=np.int64), pa.int64())
    return pa.table(columns)
