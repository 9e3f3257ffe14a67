"""Reading a previous run's output folder (``--previous DIR``) for the review and the plan.

The segments stage compares this run's classes with the previous run's, the coverage stage
keeps its plan stable against the previous plan and measures how well it was followed;
both read the folder here, once checked before any stage runs (:func:`check_previous`):

- the customers table: ``customers.parquet``; where only ``customers.csv`` is left (the
  Parquet files deleted, the folder sent on without them) the CSV is read, its delimiter
  and encoding sniffed and its decimal separator taken from the delimiter (``;`` or a tab:
  a decimal comma, as Excel writes for a German or French locale), so a customers.csv
  opened and saved again in Excel reads too, and a warning says so;
- the analysis date: the ``as_of`` of ``manifest.json``; without one (the manifest lost),
  the date the customers' ``last_purchase`` and ``recency_days`` give (the recency is
  counted to the analysis date), with a warning;
- the class names, best first: the ``segments.classes`` of the manifest.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import InputError
from .outputs import MARKER

__all__ = ["PreviousRun", "check_previous", "read_previous"]

#: what each message about the previous folder tells the user to do
_HINT = "give --previous the output folder of an earlier tierwise run"
#: the columns every use of the previous run needs
_NEEDED = ("customer_id", "value_class")


@dataclass(frozen=True)
class PreviousRun:
    """A previous run's output folder as the review and the coverage plan read it."""

    folder: Path
    #: the customers table (one row per account and prospect)
    customers: pa.Table
    #: the file it was read from, for messages
    source: str
    #: the analysis date (None: neither the manifest nor the customers table gives it)
    as_of: dt.date | None
    #: the class names, best first (empty when the manifest does not give them)
    classes: list[str] = field(default_factory=list)
    #: what was assumed in reading it, for the run's warnings
    notes: list[str] = field(default_factory=list)


def _customers_file(folder: Path) -> Path:
    """customers.parquet, else customers.csv; an error naming what the folder is."""
    for name in ("customers.parquet", "customers.csv"):
        if (folder / name).is_file():
            return folder / name
    runs = sorted(p.name for p in folder.iterdir() if (p / MARKER).is_file())
    raise InputError(
        "no customers.parquet in the previous run's folder"
        + ("" if (folder / MARKER).is_file() else ": it is not a tierwise output folder"),
        file=str(folder),
        hint=(
            f"give --previous {folder / runs[0]}, the output folder inside it" if runs else _HINT
        ),
    )


def check_previous(folder: Path, *, classes: bool = True) -> None:
    """Check, before a run starts, that ``folder`` is a run's output folder whose
    customers table has the columns the run reads (``value_class`` too when ``classes``:
    the segments stage compares the classes); raise :class:`InputError` with one line
    saying what is wrong otherwise."""
    if not folder.is_dir():
        raise InputError(
            "the previous run's folder is not found" if not folder.exists() else "not a folder",
            file=str(folder),
            hint=_HINT,
        )
    path = _customers_file(folder)
    if path.suffix == ".parquet":
        try:
            names = pq.read_schema(path).names
        except (pa.ArrowException, OSError):
            raise InputError(
                "the previous run's customers table cannot be read as Parquet",
                file=str(path),
                hint=_HINT,
            ) from None
    else:
        names = _read_csv(path)[0].column_names
    lacking = [c for c in _NEEDED[: 2 if classes else 1] if c not in names]
    if not lacking:
        return
    if (folder / MARKER).is_file() and "customer_id" in names:
        raise InputError(
            "the previous run made no classes (its customers table has no value_class "
            "column: a run of one stage, such as tierwise profit?)",
            file=str(path),
            hint="give --previous the output folder of an earlier tierwise run of every stage",
        )
    raise InputError(
        f"the previous run's customers table has no {' and no '.join(lacking)} column: "
        "it is not the customers table of a tierwise run (an input file?)",
        file=str(path),
        hint=_HINT,
    )


def _read_csv(path: Path) -> tuple[pa.Table, str]:
    """customers.csv as a run wrote it, or as a spreadsheet saved it again, and how."""
    from .readers import sniff_csv

    d = sniff_csv(str(path), name="previous")
    decimals = [",", "."] if d.delimiter in (";", "\t") else [".", ","]
    text = {c: pa.string() for c in ("customer_id", "value_class", "value_class_computed")}
    table = None
    for decimal in decimals:
        try:
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(use_threads=False, encoding=d.encoding),
                parse_options=pacsv.ParseOptions(delimiter=d.delimiter),
                convert_options=pacsv.ConvertOptions(
                    decimal_point=decimal,
                    column_types={c: t for c, t in text.items() if c in d.header},
                ),
            )
        except pa.ArrowException as exc:
            raise InputError(
                f"the previous run's customers.csv cannot be read: {exc}",
                file=str(path),
                hint=_HINT,
            ) from None
        got = table.schema.field("revenue_12m").type if "revenue_12m" in d.header else None
        if got is None or pa.types.is_floating(got) or pa.types.is_integer(got):
            break
    assert table is not None
    how = f"delimiter {d.delimiter!r}, decimal {'comma' if decimal == ',' else 'point'}" + (
        ", byte-order mark" if d.encoding == "utf-8-sig" else ""
    )
    return table, how


def _as_of_from_customers(table: pa.Table) -> dt.date | None:
    """The analysis date a run's customers table gives: last_purchase + recency_days,
    the commonest where they disagree (None without those columns or figures).

    Examples
    --------
    >>> t = pa.table({"last_purchase": [dt.date(2025, 11, 1), None, dt.date(2025, 11, 20)],
    ...               "recency_days": [28, None, 9]})
    >>> _as_of_from_customers(t)
    datetime.date(2025, 11, 29)
    """
    if not {"last_purchase", "recency_days"} <= set(table.column_names):
        return None
    try:
        last = pc.cast(table.column("last_purchase"), pa.date32())
        days = pc.cast(table.column("recency_days"), pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    ok = pc.and_(pc.is_valid(last), pc.is_valid(days))
    last = last.filter(ok).to_numpy(zero_copy_only=False).astype("datetime64[D]")
    days = days.filter(ok).to_numpy(zero_copy_only=False).astype("timedelta64[D]")
    if not len(last):
        return None
    ends = Counter((last + days).astype(str).tolist())
    return dt.date.fromisoformat(min(ends.items(), key=lambda kv: (-kv[1], kv[0]))[0])


def _manifest(folder: Path) -> dict[str, Any] | None:
    """manifest.json as a dict; None when there is none or it is not a run's."""
    p = folder / "manifest.json"
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def read_previous(folder: str | Path) -> PreviousRun:
    """The previous run's customers table, analysis date and class names.

    Raises
    ------
    InputError
        The folder is not a run's output folder (see :func:`check_previous`).
    """
    folder = Path(folder)
    check_previous(folder, classes=False)
    path = _customers_file(folder)
    notes: list[str] = []
    if path.suffix == ".parquet":
        customers = pq.read_table(path)
    else:
        customers, how = _read_csv(path)
        notes.append(
            f"the previous run's folder ({folder}) has no customers.parquet: its "
            f"customers.csv was read instead ({how}); keep the run's folder as it wrote it "
            "for the figures exactly as they were"
        )
    manifest = _manifest(folder)
    as_of = None
    raw = (manifest or {}).get("as_of")
    if raw:
        try:
            as_of = dt.date.fromisoformat(str(raw))
        except ValueError:
            as_of = None
    if as_of is None:
        as_of = _as_of_from_customers(customers)
        if as_of is not None:
            what = "has no manifest.json" if manifest is None else "has no as_of in manifest.json"
            notes.append(
                f"the previous run's folder ({folder}) {what}: its analysis date is taken "
                f"as {as_of}, the date its customers' last_purchase and recency_days give"
            )
    seg = (manifest or {}).get("segments")
    classes = seg.get("classes") if isinstance(seg, dict) else None
    return PreviousRun(
        folder=folder,
        customers=customers,
        source=str(path),
        as_of=as_of,
        classes=[str(c) for c in classes] if isinstance(classes, dict | list) else [],
        notes=notes,
    )
