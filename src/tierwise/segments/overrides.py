"""Back-end overrides: a person moves a customer after the mathematics ran, and it is audited.

Overrides never touch the figures or the cut points: the computed class stays in
``value_class_computed``; the override sets ``value_class`` and/or ``tier``. Every row is
checked before any is applied: an unknown customer, class or tier, an empty reason or
author, or a customer named twice is an :class:`~tierwise.errors.InputError` naming the
file and row (never a silent skip).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import ROW
from ..errors import InputError, Problems, TierwiseError

__all__ = ["AUDIT_SCHEMA", "Overrides", "check_overrides"]

#: Columns of overrides_applied.csv.
AUDIT_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("by", pa.string()),
        ("when", pa.string()),
        ("computed_class", pa.string()),
        ("new_class", pa.string()),
        ("computed_tier", pa.string()),
        ("new_tier", pa.string()),
        ("reason", pa.string()),
        ("file", pa.string()),
        ("row", pa.int64()),
    ]
)


@dataclass
class Overrides:
    """Checked overrides, aligned to the customer table.

    ``rows`` are the customer rows overridden; ``new_class``/``new_tier`` the codes set
    (-1: not set by the override).
    """

    rows: np.ndarray
    new_class: np.ndarray
    new_tier: np.ndarray
    reason: list[str]
    by: list[str]
    when: list[str]
    file_rows: list[int]
    source: str


def check_overrides(
    table: pa.Table,
    customer_ids: pa.ChunkedArray | pa.Array,
    classes: list[str],
    tiers: list[str],
    *,
    source: str,
    as_of: dt.date | None,
) -> Overrides:
    """Match overrides to customers, classes and tiers; every problem reported together.

    Parameters
    ----------
    table
        As read by :func:`tierwise.io.overrides.read_overrides` (text columns and ``_row``).
    customer_ids
        The customer table's ids.
    classes, tiers
        Known class and tier names.
    source
        The file's name, for messages and the audit.
    as_of
        The run's analysis date, the "when" of an override without a date.

    Examples
    --------
    >>> t = pa.table({"customer_id": ["C2"], "value_class": ["A"], "tier": [None],
    ...               "reason": ["key account"], "by": ["Ann"], "date": [None], "_row": [2]})
    >>> o = check_overrides(t, pa.array(["C1", "C2"]), ["A", "B"], ["gold"], source="o.csv",
    ...                     as_of=None)
    >>> o.rows.tolist(), o.new_class.tolist()
    ([1], [0])
    """
    n = table.num_rows

    def col(name: str) -> list[str | None]:
        if name not in table.column_names:
            return [None] * n
        return pc.cast(table.column(name), pa.string()).to_pylist()

    ids, cls, tier = col("customer_id"), col("value_class"), col("tier")
    reason, by, date = col("reason"), col("by"), col("date")
    file_rows = (
        table.column(ROW).to_pylist() if ROW in table.column_names else list(range(2, n + 2))
    )
    pos = pc.index_in(
        pa.array(ids, pa.string()), value_set=pa.array(customer_ids).cast(pa.string())
    )
    pos_np = pc.fill_null(pos, -1).to_numpy(zero_copy_only=False)
    class_code = {c: i for i, c in enumerate(classes)}
    tier_code = {t: i for i, t in enumerate(tiers)}
    problems: list[TierwiseError] = []
    seen: dict[str, int] = {}
    new_class = np.full(n, -1, dtype=np.int64)
    new_tier = np.full(n, -1, dtype=np.int64)
    for i in range(n):  # one row per override a person wrote: a short file
        r = file_rows[i]

        def bad(msg: str, column: str, hint: str, row: int = r) -> None:
            problems.append(InputError(msg, file=source, row=row, column=column, hint=hint))

        cid = ids[i]
        if not cid:
            bad("no customer_id", "customer_id", "fill in the customer or delete the row")
            continue
        if pos_np[i] < 0:
            bad(
                f"unknown customer {cid!r}",
                "customer_id",
                "use an id of customers.csv (an account id once duplicates are merged)",
            )
        if cid in seen:
            bad(
                f"customer {cid!r} is overridden twice (also row {seen[cid]})",
                "customer_id",
                "keep one row per customer",
            )
        seen.setdefault(cid, r)
        if not cls[i] and not tier[i]:
            bad("neither value_class nor tier is given", "value_class", "set one of them")
        c_name, t_name = cls[i], tier[i]
        if c_name:
            if c_name in class_code:
                new_class[i] = class_code[c_name]
            else:
                bad(
                    f"unknown class {c_name!r}",
                    "value_class",
                    f"use one of {', '.join(classes)} ([segments] classes)",
                )
        if t_name:
            if t_name in tier_code:
                new_tier[i] = tier_code[t_name]
            else:
                bad(
                    f"unknown tier {t_name!r}",
                    "tier",
                    f"use one of {', '.join(tiers)} ([segments] programmes)",
                )
        if not reason[i]:
            bad("no reason given", "reason", "say why the customer is moved")
        if not by[i]:
            bad("no author given", "by", "say who decided")
    Problems.raise_if_any(problems)
    when_default = as_of.isoformat() if as_of is not None else ""
    return Overrides(
        rows=pos_np.astype(np.int64),
        new_class=new_class,
        new_tier=new_tier,
        reason=[str(x) for x in reason],
        by=[str(x) for x in by],
        when=[d if d else when_default for d in date],
        file_rows=[int(x) for x in file_rows],
        source=source,
    )
