"""Writing a generated demo dataset to a folder, one file per table."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import InputError, SettingsError

if TYPE_CHECKING:
    from ..demo import DemoData

__all__ = ["DEMO_FORMATS", "write_demo"]

DEMO_FORMATS = ("parquet", "csv")


def write_demo(data: DemoData, folder: Path, fmt: str = "parquet") -> dict[str, Path]:
    """Write every table of ``data`` into ``folder``: transactions, customers, activities,
    payments, prospects, reps, products, market, and the ground truth: ``truth`` (per
    customer and prospect), ``truth_crosssell`` (the product pairs planted as bought
    together) and ``truth_coverage.json`` (the channels' effectiveness, cost and minutes
    per contact the planted response to contact used).

    Each file is written to a temporary name and renamed into place, so a crash never
    leaves a half-written table behind.

    Parameters
    ----------
    data
        A dataset from :func:`tierwise.demo.generate`.
    folder
        Target folder; created when missing. Existing files of the same names are replaced.
    fmt
        ``"parquet"`` (default) or ``"csv"`` (UTF-8, header row, ISO dates, empty = null).

    Returns
    -------
    dict[str, Path]
        Table name → path of the written file (``truth_coverage`` → the JSON file).

    Example
    -------
    >>> import tempfile
    >>> from tierwise.demo import generate
    >>> paths = write_demo(generate(n_customers=50, seed=1), Path(tempfile.mkdtemp()))
    >>> paths["truth"].name
    'truth.parquet'
    """
    if fmt not in DEMO_FORMATS:
        raise SettingsError(f"demo format {fmt!r} unknown: use one of {', '.join(DEMO_FORMATS)}")
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder: {exc.strerror}", file=str(folder)) from exc
    written: dict[str, Path] = {}
    tables = {**data.tables(), "truth_crosssell": data.planted_pairs}
    for name, table in tables.items():
        path = folder / f"{name}.{fmt}"
        tmp = folder / f".{name}.{fmt}.tmp"
        if fmt == "parquet":
            pq.write_table(table, tmp, compression="zstd")
        else:
            pacsv.write_csv(table, tmp)
        os.replace(tmp, path)
        written[name] = path
    path = folder / "truth_coverage.json"
    tmp = folder / ".truth_coverage.json.tmp"
    tmp.write_text(json.dumps(data.truth_coverage, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    written["truth_coverage"] = path
    return written
