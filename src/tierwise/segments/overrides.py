"""Back-end overrides: a person moves a customer after the mathematics ran, and it is audited.

Overrides never touch the figures or the cut points: the computed class stays in
``value_class_computed``; the override sets ``value_class`` and/or ``tier``. They come from
two places: the overrides file (``[segments] overrides_file``, in force while the file names
the customer) and the dashboard (``tierwise serve``, stored in ``overrides.duckdb``). They
are merged field by field, the file's rows first and the dashboard's after them, the later
winning for each field: a class set in the dashboard keeps the tier the file sets. Two that
set one field differently are named together in a warning.

Every row of the file is checked before any is applied: an unknown customer, class or tier,
an empty reason or author, or a customer named twice is an
:class:`~tierwise.errors.InputError` naming the file and row (never a silent skip); a date
that is not one (ISO or a common local form, see :func:`tierwise.io.when.read_when`) is kept
as written with a warning. A record merged into another's account (a duplicate) is not
unknown: its override is carried over to the account, unless the account has an override
of its own, and a warning names both ids. A dashboard override that this run cannot apply
(its customer is gone, its class or tier is no longer in the settings) is a warning, not an
error: it stays in the dashboard, which can remove it. The audit's ``when`` is the date in
ISO (with the time when one is given).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import ROW
from ..errors import InputError, Problems, TierwiseError
from ..io.when import read_when

__all__ = [
    "AUDIT_SCHEMA",
    "DASHBOARD",
    "Overrides",
    "check_overrides",
    "dashboard_origin",
    "override_reason",
    "when_text",
]

#: The ``file`` of an override made in the dashboard, in overrides_applied.csv.
DASHBOARD = "the dashboard (overrides.duckdb)"

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
        ("source", pa.string()),
    ]
)

_FIELD_WORDS = {"value_class": "class", "tier": "tier"}


def when_text(value: object) -> str:
    """A decision's time as the audit writes it: ISO, to the second, without a time of 0:00.

    Examples
    --------
    >>> when_text(dt.datetime(2026, 1, 5, 9, 30, 12, 345))
    '2026-01-05 09:30:12'
    >>> when_text(dt.date(2026, 1, 5)), when_text(None)
    ('2026-01-05', '')
    """
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def dashboard_origin(by: object, at: object) -> str:
    """How an override made in the dashboard is named in warnings and in the audit's
    ``source``: by whom and when.

    Examples
    --------
    >>> dashboard_origin("ana", dt.datetime(2026, 1, 5, 9, 30))
    'the dashboard (ana, 2026-01-05 09:30:00)'
    """
    return f"the dashboard ({by}, {when_text(at)})"


@dataclass
class _Entry:
    """One field one person set: the class or the tier of one customer."""

    field: str
    code: int
    value: str
    reason: str
    by: str
    when: str
    origin: str
    file: str
    row: int | None


@dataclass
class _Override:
    """What one row (of the file, or of the dashboard) sets, before the merge."""

    target: str
    named: str
    direct: bool
    entries: list[_Entry] = field(default_factory=list)


@dataclass
class Overrides:
    """Checked overrides, merged per customer and aligned to the customer table.

    ``rows`` are the customer rows overridden (one per customer); ``new_class``/``new_tier``
    the codes set (-1: not set). ``reason``, ``by`` and ``when`` summarise the fields'
    own (one field's, or both named by field when they differ); ``files`` names where the
    fields were read (the overrides file, :data:`DASHBOARD`, or both), ``file_rows`` the
    file's row (None when no field comes from the file), ``sources`` each field's origin.
    ``from_file`` and ``from_dashboard`` count the customers with a field from each.
    """

    rows: np.ndarray
    new_class: np.ndarray
    new_tier: np.ndarray
    reason: list[str]
    by: list[str]
    when: list[str]
    file_rows: list[int | None]
    files: list[str]
    sources: list[str]
    source: str
    from_file: int = 0
    from_dashboard: int = 0


def _texts(table: pa.Table, name: str) -> list[str | None]:
    if name not in table.column_names:
        return [None] * table.num_rows
    col = table.column(name)
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        return [when_text(v) or None for v in col.to_pylist()]
    return pc.cast(col, pa.string()).to_pylist()


def check_overrides(
    table: pa.Table | None,
    customer_ids: pa.ChunkedArray | pa.Array,
    classes: list[str],
    tiers: list[str],
    *,
    source: str,
    as_of: dt.date | None,
    warnings: list[str] | None = None,
    dashboard: pa.Table | None = None,
    members: pa.Table | None = None,
) -> Overrides:
    """Match overrides to customers, classes and tiers, and merge them field by field.

    The file's problems are reported together (an :class:`~tierwise.errors.InputError`
    each, naming file, row and column); the ``date`` of a decision is only recorded: one
    that is not a date (or reads as two) is kept as written, with a warning naming file,
    row and column. The dashboard's overrides come after the file's: for each field the
    later wins, and a warning names both when they set it differently.

    Parameters
    ----------
    table
        The overrides file as read by :func:`tierwise.io.overrides.read_overrides` (text
        columns and ``_row``), or None.
    customer_ids
        The customer table's ids.
    classes, tiers
        Known class and tier names.
    source
        The file's name, for messages and the audit.
    as_of
        The run's analysis date, the "when" of an override without a date.
    warnings
        Where a date kept as written, a merged record's override carried over and two
        overrides that disagree are said.
    dashboard
        The dashboard's overrides (:func:`tierwise.app.read_overrides`: customer_id,
        value_class, tier, reason, by, at and each field's own class_reason, class_by,
        class_at, tier_reason, tier_by, tier_at), or None.
    members
        The accounts stage's records (customer_id, account_id): an override of a record
        merged into another's account is carried over to the account.

    Examples
    --------
    >>> t = pa.table({"customer_id": ["C2"], "value_class": ["A"], "tier": [None],
    ...               "reason": ["key account"], "by": ["Ann"], "date": [None], "_row": [2]})
    >>> o = check_overrides(t, pa.array(["C1", "C2"]), ["A", "B"], ["gold"], source="o.csv",
    ...                     as_of=None)
    >>> o.rows.tolist(), o.new_class.tolist(), o.sources
    ([1], [0], ['o.csv, row 2'])
    """
    said: list[str] = warnings if warnings is not None else []
    known_ids = pa.array(customer_ids).cast(pa.string())
    known = set(known_ids.to_pylist())
    account: dict[str, str] = {}
    if members is not None and {"customer_id", "account_id"} <= set(members.column_names):
        for rec, acc in zip(
            _texts(members, "customer_id"), _texts(members, "account_id"), strict=True
        ):
            if rec is not None and acc is not None and rec != acc:
                account[rec] = acc
    class_code = {c: i for i, c in enumerate(classes)}
    tier_code = {t: i for i, t in enumerate(tiers)}
    default_when = as_of.isoformat() if as_of is not None else ""
    rows: list[_Override] = []
    if table is not None and table.num_rows:
        rows += _file_rows(table, source, known, account, class_code, tier_code, default_when, said)
    if dashboard is not None and dashboard.num_rows:
        rows += _dashboard_rows(dashboard, known, account, class_code, tier_code, said)
    merged = _merge(rows, said)
    ids = sorted(merged, key=lambda c: c)
    pos = pc.index_in(pa.array(ids, pa.string()), value_set=known_ids)
    out_rows = pc.fill_null(pos, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    new_class = np.full(len(ids), -1, dtype=np.int64)
    new_tier = np.full(len(ids), -1, dtype=np.int64)
    reason: list[str] = []
    by: list[str] = []
    when: list[str] = []
    file_rows: list[int | None] = []
    files: list[str] = []
    sources: list[str] = []
    from_file = from_dashboard = 0
    for i, cid in enumerate(ids):
        fields = merged[cid]
        if "value_class" in fields:
            new_class[i] = fields["value_class"].code
        if "tier" in fields:
            new_tier[i] = fields["tier"].code
        entries = sorted(fields.values(), key=lambda e: e.field != "value_class")
        r, b, w, s = _summary(entries)
        reason.append(r)
        by.append(b)
        when.append(w or default_when)
        sources.append(s)
        in_file = [e for e in entries if e.file != DASHBOARD]
        in_dash = [e for e in entries if e.file == DASHBOARD]
        from_file += bool(in_file)
        from_dashboard += bool(in_dash)
        file_rows.append(in_file[0].row if in_file else None)
        files.append(" and ".join(dict.fromkeys(e.file for e in (*in_file, *in_dash))))
    return Overrides(
        rows=out_rows,
        new_class=new_class,
        new_tier=new_tier,
        reason=reason,
        by=by,
        when=when,
        file_rows=file_rows,
        files=files,
        sources=sources,
        source=source,
        from_file=from_file,
        from_dashboard=from_dashboard,
    )


def _file_rows(
    table: pa.Table,
    source: str,
    known: set[str],
    account: dict[str, str],
    class_code: dict[str, int],
    tier_code: dict[str, int],
    default_when: str,
    said: list[str],
) -> list[_Override]:
    """The file's rows, checked: every problem raised together."""
    n = table.num_rows
    ids, cls, tier = (
        _texts(table, "customer_id"),
        _texts(table, "value_class"),
        _texts(table, "tier"),
    )
    reason, by, date = _texts(table, "reason"), _texts(table, "by"), _texts(table, "date")
    file_rows = (
        table.column(ROW).to_pylist() if ROW in table.column_names else list(range(2, n + 2))
    )
    classes = list(class_code)
    tiers = list(tier_code)
    problems: list[TierwiseError] = []
    seen: dict[str, int] = {}
    out: list[_Override] = []
    for i in range(n):  # one row per override a person wrote: a short file
        r = int(file_rows[i])

        def bad(msg: str, column: str, hint: str, row: int = r) -> None:
            problems.append(InputError(msg, file=source, row=row, column=column, hint=hint))

        cid = ids[i]
        if not cid:
            bad("no customer_id", "customer_id", "fill in the customer or delete the row")
            continue
        target = cid
        if cid not in known:
            acc = account.get(cid)
            if acc is not None and acc in known:
                target = acc
            else:
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
        when = date[i]
        if when:
            value, why = read_when(when)
            if value is None:
                said.append(
                    f"{source}, row {r}, column 'date': date {when!r} is {why}; the "
                    "override is applied and the date recorded as written (write it as "
                    "2025-12-31 or 31.12.2025)"
                )
            else:
                when = when_text(value)
        if not reason[i]:
            bad("no reason given", "reason", "say why the customer is moved")
        if not by[i]:
            bad("no author given", "by", "say who decided")
        row = _Override(target=target, named=cid, direct=target == cid)
        for column, name, codes, names in (
            ("value_class", cls[i], class_code, classes),
            ("tier", tier[i], tier_code, tiers),
        ):
            if not name:
                continue
            if name not in codes:
                what = "classes" if column == "value_class" else "programmes"
                bad(
                    f"unknown {_FIELD_WORDS[column]} {name!r}",
                    column,
                    f"use one of {', '.join(names)} ([segments] {what})",
                )
                continue
            row.entries.append(
                _Entry(
                    field=column,
                    code=codes[name],
                    value=name,
                    reason=str(reason[i]),
                    by=str(by[i]),
                    when=when or default_when,
                    origin=f"{source}, row {r}",
                    file=source,
                    row=r,
                )
            )
        out.append(row)
    Problems.raise_if_any(problems)
    return out


def _dashboard_rows(
    table: pa.Table,
    known: set[str],
    account: dict[str, str],
    class_code: dict[str, int],
    tier_code: dict[str, int],
    said: list[str],
) -> list[_Override]:
    """The dashboard's overrides: what this run cannot apply is a warning (it stays in the
    dashboard), never an error a file could not fix."""
    ids = _texts(table, "customer_id")
    row_reason, row_by, row_at = _texts(table, "reason"), _texts(table, "by"), _texts(table, "at")
    out: list[_Override] = []
    for i, cid in enumerate(ids):
        if not cid:
            continue
        target = cid
        if cid not in known:
            acc = account.get(cid)
            if acc is None or acc not in known:
                said.append(
                    f"the dashboard's override of {cid} ({row_by[i]}, {row_at[i]}) is not "
                    f"applied: no customer {cid} in this run; it stays in the dashboard and "
                    "applies again when the customer is back (remove it there to drop it)"
                )
                continue
            target = acc
        row = _Override(target=target, named=cid, direct=target == cid)
        for column, codes in (("value_class", class_code), ("tier", tier_code)):
            prefix = _FIELD_WORDS[column]
            name = _texts(table, column)[i]
            if not name:
                continue
            by = _texts(table, f"{prefix}_by")[i] or row_by[i] or ""
            at = _texts(table, f"{prefix}_at")[i] or row_at[i] or ""
            why = _texts(table, f"{prefix}_reason")[i] or row_reason[i] or ""
            origin = dashboard_origin(by, at)
            if name not in codes:
                said.append(
                    f"{origin}: {prefix} {name!r} of {cid} is not applied: the settings have "
                    f"no such {prefix} now (use one of {', '.join(codes)}); change it there"
                )
                continue
            row.entries.append(
                _Entry(
                    field=column,
                    code=codes[name],
                    value=name,
                    reason=why,
                    by=by,
                    when=at,
                    origin=origin,
                    file=DASHBOARD,
                    row=None,
                )
            )
        if row.entries:
            out.append(row)
    return out


def _what(row: _Override) -> str:
    return ", ".join(f"{_FIELD_WORDS[e.field]} {e.value}" for e in row.entries)


def _merge(rows: Sequence[_Override], said: list[str]) -> dict[str, dict[str, _Entry]]:
    """Per customer and field, the entry in force: later rows win (the file's, then the
    dashboard's); a merged record's row only where its account has none of its own."""
    own = {r.target for r in rows if r.direct}
    merged: dict[str, dict[str, _Entry]] = {}
    for row in rows:
        if not row.direct:
            origin = row.entries[0].origin if row.entries else ""
            if row.target in own:
                said.append(
                    f"{row.named} was merged into account {row.target}, which has an override "
                    f"of its own: the override of {row.named} ({origin}: {_what(row)}) is not "
                    f"applied (give it to {row.target}, or remove it)"
                )
                continue
            said.append(
                f"{row.named} was merged into account {row.target}: the override of "
                f"{row.named} ({origin}: {_what(row)}) is applied to {row.target}"
            )
            for e in row.entries:
                e.origin = f"{e.origin}, for {row.named}"
        fields = merged.setdefault(row.target, {})
        for e in row.entries:
            before = fields.get(e.field)
            if before is not None and before.value != e.value:
                word = _FIELD_WORDS[e.field]
                said.append(
                    f"two overrides set the {word} of {row.target}: {word} {e.value} "
                    f"({e.origin}: {e.reason!r}) replaces {word} {before.value} "
                    f"({before.origin}: {before.reason!r}); remove one of them to settle it"
                )
            fields[e.field] = e
    return merged


def _summary(entries: list[_Entry]) -> tuple[str, str, str, str]:
    """Reason, author, time and source of one customer's override in force: one field's
    own, or each field's named when they differ."""
    first = entries[0]
    same = all((e.reason, e.by) == (first.reason, first.by) for e in entries)
    if same:
        reason, by = first.reason, first.by
    else:
        reason = "; ".join(f"{_FIELD_WORDS[e.field]}: {e.reason} ({e.by})" for e in entries)
        by = " and ".join(dict.fromkeys(e.by for e in entries))
    when = max((e.when for e in entries), default="")
    if len({e.origin for e in entries}) == 1:
        origin = first.origin
    else:
        origin = "; ".join(f"{_FIELD_WORDS[e.field]}: {e.origin}" for e in entries)
    return reason, by, when, origin


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
