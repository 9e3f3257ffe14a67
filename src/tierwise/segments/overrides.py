"""Back-end overrides: a person moves a customer after the mathematics ran, and it is audited.

Overrides never touch the figures or the cut points: the computed class stays in
``value_class_computed``; the override sets ``value_class`` and/or ``tier``. Every row is
checked before any is applied: an unknown customer, class or tier, an empty reason or
author, a date that is not one (ISO or a common local form, see
:func:`tierwise.io.when.read_when`), or a customer named twice is an
:class:`~tierwise.errors.InputError` naming the file and row (never a silent skip). The
audit's ``when`` is the date in ISO (with the time when one is given).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import ROW
from ..errors import InputError, Problems, TierwiseError
from ..io.when import read_when

__all__ = ["AUDIT_SCHEMA", "Overrides", "check_overrides", "override_reason"]

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
    warnings: list[str] | None = None,
) -> Overrides:
    """Match overrides to customers, classes and tiers; every problem reported together.

    The ``date`` of a decision is only recorded: one that is not a date (or reads as two)
    is kept as written, with a warning naming file, row and column.

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
    warnings
        Where a date kept as written is said.

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
        when = date[i]
        if when:
            value, why = read_when(when)
            if value is None:
                if warnings is not None:
                    warnings.append(
                        f"{source}, row {r}, column 'date': date {when!r} is {why}; the "
                        "override is applied and the date recorded as written (write it as "
                        "2025-12-31 or 31.12.2025)"
                    )
            else:
                date[i] = (
                    value.date().isoformat()
                    if value.time() == dt.time()
                    else value.isoformat(sep=" ", timespec="seconds")
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


def override_reason(
    *,
    cls: str,
    computed_cls: str,
    body: str,
    tier: str,
    computed_tier: str,
    class_set: bool,
    tier_set: bool,
    by: str,
    class_action: str,
    programme: str,
) -> str:
    """The ``class_reason`` of an overridden customer: it names only what the override set,
    and the action of what the customer ends in.

    A class set (its tier following) ends in the class's action; a tier set apart from the
    class (alone, or beside a class whose own tier is another) ends in that tier's
    programme.

    Parameters
    ----------
    cls, computed_cls
        The class after the override, and the one the figures gave.
    body
        The computed reason's figures (without class and tier).
    tier, computed_tier
        The tier after the override, and the one the figures gave.
    class_set
        The override sets the class.
    tier_set
        The tier is not the one the (new) class gives.
    by
        Who decided and why, e.g. "Ann (key account)".
    class_action, programme
        The action of ``cls`` ([segments] classes) and the service level of ``tier``
        ([segments] programmes; empty when it has none).

    Examples
    --------
    >>> override_reason(cls="D", computed_cls="D", body="bottom 50% of net profit",
    ...                 tier="gold", computed_tier="bronze", class_set=False, tier_set=True,
    ...                 by="Bob (strategic)", class_action="serve at the lowest cost",
    ...                 programme="account manager").split(" → ")[1]
    'gold set by Bob (strategic), the figures gave bronze: account manager'
    """
    then = f": {programme}" if programme else ""
    if not class_set:
        gave = f", the figures gave {computed_tier}" if tier != computed_tier else ""
        return f"{cls}: {body} → {tier} set by {by}{gave}{then}"
    head = f"{cls}: set by {by}"
    if tier_set:
        return f"{head}, with tier {tier}; the figures gave {computed_cls}: {body} → {tier}{then}"
    return f"{head}; the figures gave {computed_cls}: {body} → {tier}: {class_action}"
