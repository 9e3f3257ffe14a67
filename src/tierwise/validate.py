"""From the user's raw tables to canonical tables, with every unusable row accounted for.

Validation maps the user's column names to the canonical ones (``schema.py``), parses text
into dates, numbers and flags in the engine, and marks each row that cannot be used with the
first reason found. The pipeline then splits each table into the rows used and the rejects
(file, row, column, reason, value) that go to ``rejects.csv``.

Two kinds of problem are told apart:

- a problem with the *file or settings* (a required column missing, a mapped column absent)
  stops the run: it raises :class:`~tierwise.errors.InputError`, every such problem listed;
- a problem with a *row* (a missing customer id, an unparseable date, a date in the future)
  rejects that row only, with its reason.

Example
-------
>>> import pyarrow as pa
>>> from tierwise.engine import Engine, ROW
>>> from tierwise.settings import Settings
>>> eng = Engine()
>>> raw = eng.from_arrow(pa.table({"customer_id": ["A", ""], "date": ["2024-01-31", "x"],
...                                "revenue": ["10.5", "3"], ROW: [2, 3]}))
>>> t = canonicalize(raw, "transactions", Settings(), eng, file="tx.csv")
>>> used, rejects = split_rejects(t, "tx.csv", "transactions")
>>> eng.to_arrow(rejects).column("reason").to_pylist()
['missing customer_id']
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Sequence

import ibis
import ibis.expr.datatypes as idt
import ibis.expr.types as ir

from .engine import ROW, Engine
from .errors import InputError, Problems, SettingsError, TierwiseError
from .schema import TABLES, TableSpec
from .settings import Settings, TableInput, ValidateSettings

__all__ = [
    "REASON",
    "canonicalize",
    "check_transactions",
    "match_columns",
    "normalise_activity_types",
    "reject_duplicate_keys",
    "reject_if",
    "reject_unknown_customers",
    "split_rejects",
]

REASON, RCOL, RVAL = "_reason", "_reject_column", "_reject_value"
_VALUE_CHARS = 200
_TRUE = ("true", "t", "yes", "y", "1", "x", "ja", "oui", "si", "sí")
_FALSE = ("false", "f", "no", "n", "0", "", "nein", "non")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def match_columns(
    source_columns: list[str], spec: TableSpec, ti: TableInput, *, file: str
) -> dict[str, str | None]:
    """Map each canonical column to the user's column (or ``None`` when not supplied).

    Explicit mappings in ``[table.columns]`` win; otherwise a column whose name equals the
    canonical name (ignoring case, spaces and punctuation) is taken.

    Raises
    ------
    Problems
        Every missing required column and every mapping that names no column of the file.
    """
    problems: list[InputError | SettingsError] = []
    by_norm = {_norm(c): c for c in source_columns}
    for canonical in ti.columns:
        if canonical not in spec.names:
            close = difflib.get_close_matches(canonical, spec.names, n=1)
            fix = f" (did you mean {close[0]}?)" if close else ""
            problems.append(
                SettingsError(
                    f"[{spec.name}.columns] {canonical}: not a {spec.name} column{fix}; "
                    f"known: {', '.join(spec.names)}"
                )
            )
    mapping: dict[str, str | None] = {}
    for col in spec.columns:
        src: str | None = None
        if col.name in ti.columns:
            wanted = ti.columns[col.name]
            if wanted in source_columns:
                src = wanted
            elif _norm(wanted) in by_norm:
                src = by_norm[_norm(wanted)]
            else:
                problems.append(
                    InputError(
                        f"[{spec.name}.columns] maps {col.name} to {wanted!r}, which is not in "
                        "the file",
                        file=file,
                        column=wanted,
                        hint=_columns_hint(wanted, source_columns),
                    )
                )
                continue
        else:
            src = by_norm.get(_norm(col.name))
            alike = [c for c in source_columns if _norm(c) == _norm(col.name)]
            if len(alike) > 1:
                problems.append(
                    InputError(
                        f"columns {' and '.join(map(repr, alike))} both read as {col.name}",
                        file=file,
                        column=alike[-1],
                        hint=f'rename one, or map it in [{spec.name}.columns] {col.name} = "…"',
                    )
                )
                continue
        if src is None and col.required:
            hint = f"the file has {_preview(source_columns)}"
            if len(source_columns) == 1 and any(d in source_columns[0] for d in ";,\t|"):
                hint = (
                    f"the header reads as one column {source_columns[0]!r}: set "
                    f"[{spec.name}] delimiter"
                )
            else:
                hint += f'; map it in [{spec.name}.columns] {col.name} = "<your column>"'
            problems.append(
                InputError(
                    f"required column {col.name!r} is missing",
                    file=file,
                    column=col.name,
                    hint=hint,
                )
            )
        mapping[col.name] = src
    Problems.raise_if_any(problems)
    return mapping


def _columns_hint(wanted: str, source_columns: list[str]) -> str:
    """The file's columns, and the one closest to ``wanted`` (for a column not found)."""
    close = difflib.get_close_matches(wanted, source_columns, n=1)
    fix = f"; did you mean {close[0]!r}?" if close else ""
    return f"columns are: {_preview(source_columns)}{fix}"


def _preview(cols: list[str], n: int = 12) -> str:
    shown = ", ".join(repr(c[:40]) for c in cols[:n])
    return shown + (f", … ({len(cols)} columns)" if len(cols) > n else "")


def reject_if(
    t: ir.Table, cond: ir.BooleanValue, column: str | None, reason, value=None
) -> ir.Table:
    """Mark rows where ``cond`` holds as rejected, unless an earlier reason already did.

    ``reason`` and ``value`` may be strings or string expressions.
    """
    fresh = t[REASON].isnull() & cond.fill_null(False)
    val = (
        ibis.null(str)
        if value is None
        else ibis.literal(value)
        if isinstance(value, str)
        else value
    )
    return t.mutate(
        **{
            REASON: ibis.ifelse(fresh, reason, t[REASON]),
            RCOL: ibis.ifelse(fresh, ibis.literal(column, str), t[RCOL]),
            RVAL: ibis.ifelse(fresh, val.cast(str).substr(0, _VALUE_CHARS), t[RVAL]),
        }
    )


Check = tuple[ir.BooleanValue, str]


def _trim(text: ir.StringValue) -> ir.StringValue:
    """Text without surrounding white space, for values that start or end with a space or
    a tab (padded CHAR exports, hand-typed cells); only those pay for the trim.

    Two prefix and two suffix tests cost the engine far less than a regular expression or a
    trim of every value (measured: about a third of the check time on typed Parquet).
    """
    ws = (" ", "\t")
    edge = ibis.or_(*[text.startswith(c) for c in ws], *[text.endswith(c) for c in ws])
    # a regular expression rather than strip(): Ibis spells strip() on Spark as a TRIM whose
    # character list Spark reads as letters ("\v", "\f"), cutting the "v" off "visit"
    return ibis.ifelse(edge, text.re_replace(r"^[ \t]+|[ \t]+$", ""), text)


def _parse(
    expr: ir.Column,
    kind: str,
    ti: TableInput,
    vs: ValidateSettings,
    engine: Engine,
    decimal: str = ".",
) -> tuple[ir.Value, list[Check]]:
    """The parsed value and the checks (bad-value condition, reason) that reject a row."""
    dtype = expr.type()
    if kind in ("id", "text"):
        if dtype.is_floating():
            # ids exported from spreadsheets as 1234.0; NaN and infinity are no value at all,
            # and only whole numbers within int64 range are written without the ".0"
            finite = ~expr.isnan() & ~expr.isinf()
            whole = finite & (expr.abs() < 1e15) & ((expr % 1) == 0)
            expr = ibis.cases(
                (~finite, ibis.null(str)),
                (whole, expr.cast("int64").cast(str)),
                else_=expr.cast(str),
            )
        text = _trim(expr.cast(str)).nullif("")
        if kind == "id":
            return text, [
                (text.length() > vs.max_id_length, f"longer than {vs.max_id_length} characters")
            ]
        return text, []
    if kind in ("number", "int"):
        checks: list[Check] = []
        if dtype.is_numeric() or dtype.is_boolean():
            val = expr.cast("float64")
        else:
            text = _trim(expr.cast(str))
            cleaned = text.re_replace("[\\s€$£¥'\u00a0]", "")
            if decimal == ",":
                grouped = cleaned.re_search(r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$")
                cleaned = ibis.ifelse(grouped, cleaned.replace(".", ""), cleaned)
                cleaned = cleaned.replace(",", ".")
                hint = ""
            else:
                grouped = cleaned.re_search(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
                cleaned = ibis.ifelse(grouped, cleaned.replace(",", ""), cleaned)
                hint = ' (for comma decimals set decimal = ",")'
            val = cleaned.nullif("").try_cast("float64")
            checks.append((text.nullif("").notnull() & val.isnull(), f"not a number{hint}"))
        checks.append((val.notnull() & (val.isnan() | val.isinf()), "not a finite number"))
        checks.append(
            (
                val.notnull() & (val.abs() > vs.max_abs_number),
                f"implausibly large (beyond ±{vs.max_abs_number:g})",
            )
        )
        if kind == "int":
            checks.append((val.notnull() & (val != val.round(0)), "not a whole number"))
            return val.cast("int64"), checks
        return val, checks
    if kind == "date":
        checks = []
        if dtype.is_date():
            val = expr
        elif dtype.is_timestamp():
            val = expr.date()
        else:
            text = _trim(expr.cast(str)).nullif("")
            formats = [ti.date_format] if ti.date_format else vs.date_formats
            parsed = [engine.try_parse_date(text, f) for f in formats]
            val = ibis.coalesce(*parsed) if len(parsed) > 1 else parsed[0]
            shown = ti.date_format or ", ".join(vs.date_formats[:4]) + ", …"
            checks.append(
                (
                    text.notnull() & val.isnull(),
                    f"not a date in a known format ({shown}); set date_format",
                )
            )
        checks.append(
            (val.notnull() & (val < ibis.date(vs.min_year, 1, 1)), f"before {vs.min_year}")
        )
        return val, checks
    if kind == "bool":
        if dtype.is_boolean():
            return expr, []
        if dtype.is_numeric():
            return expr != 0, []
        text = _trim(expr.cast(str)).lower()
        val = ibis.cases((text.isin(_TRUE), True), (text.isin(_FALSE), False), else_=None)
        return val.cast("boolean"), [
            (expr.notnull() & val.isnull(), "not true/false (use true/false, yes/no or 1/0)")
        ]
    raise ValueError(f"unknown column kind {kind!r}")  # pragma: no cover


_IBIS_TYPES = {
    "id": idt.string,
    "text": idt.string,
    "date": idt.date,
    "number": idt.float64,
    "int": idt.int64,
    "bool": idt.boolean,
}


def canonicalize(
    raw: ir.Table,
    table: str,
    settings: Settings,
    engine: Engine,
    *,
    file: str,
    source_columns: list[str] | None = None,
    delimiter: str | None = None,
) -> ir.Table:
    """Map and parse a raw table into the canonical columns of ``table``.

    The result has every canonical column (missing optional ones are NULL), ``_row``, and the
    rejection columns (``_reason`` is NULL on rows that can be used). Required columns
    missing from the file raise :class:`~tierwise.errors.InputError`.
    """
    spec = TABLES[table]
    ti = settings.table_input(table)
    vs = settings.validate_
    decimal = ti.decimal or ("," if delimiter == ";" else ".")
    cols = source_columns if source_columns is not None else [c for c in raw.columns if c != ROW]
    mapping = match_columns(cols, spec, ti, file=file)
    # one projection for every parsed value and every check: the first failing check
    # (in column order) names the reason, as reject_if would, without nesting a projection
    # per check (the engine would recompute the parsed values at each level)
    rules: list[tuple[ir.BooleanValue, str, str]] = []
    parsed: dict[str, ir.Value] = {}
    for col in spec.columns:
        src = mapping[col.name]
        if src is None:
            parsed[col.name] = ibis.null(_IBIS_TYPES[col.kind])
            continue
        value, checks = _parse(raw[src], col.kind, ti, vs, engine, decimal)
        parsed[col.name] = value.cast(_IBIS_TYPES[col.kind])
        rules += [(bad.fill_null(False), src, f"{col.name} is {why}") for bad, why in checks]
        if col.required:
            rules.append((value.isnull(), src, f"missing {col.name}"))
    # columns of the user's own: those named in [table] extra_columns, and, where the file
    # has them, those other settings refer to (a rebate column, extra model features)
    referred: list[str] = []
    if table in ("customers", "prospects"):
        referred = list(settings.potential.extra_feature_columns)
        if table == "customers" and settings.profitability.rebate_column:
            referred.append(settings.profitability.rebate_column)
    parsed.update(
        _extra_columns(
            raw, spec, ti, vs, engine, decimal, file=file, source=cols, referred=referred
        )
    )
    if rules:
        reason = ibis.cases(*[(c, r) for c, _, r in rules], else_=ibis.null(str))
        rcol = ibis.cases(*[(c, src) for c, src, _ in rules], else_=ibis.null(str))
        rval = ibis.cases(
            *[(c, raw[src].cast(str).substr(0, _VALUE_CHARS)) for c, src, _ in rules],
            else_=ibis.null(str),
        )
    else:  # pragma: no cover - every table has a required column
        reason = rcol = rval = ibis.null(str)
    return raw.select(**parsed, **{ROW: raw[ROW], REASON: reason, RCOL: rcol, RVAL: rval})


def _extra_columns(
    raw: ir.Table,
    spec: TableSpec,
    ti: TableInput,
    vs: ValidateSettings,
    engine: Engine,
    decimal: str,
    *,
    file: str,
    source: list[str],
    referred: Sequence[str] = (),
) -> dict[str, ir.Value]:
    """The user's own columns named in ``[table] extra_columns``, typed, and those of
    ``referred`` (named by other settings) that the file has.

    A column is a number when the file stores numbers, or when every non-empty text value
    reads as one (one scan in the engine); otherwise it is trimmed text. Such a column never
    rejects a row: a value that does not fit is kept as text.
    """
    out: dict[str, ir.Value] = {}
    problems: list[TierwiseError] = []
    by_norm = {_norm(c): c for c in source}
    canonical = {_norm(c) for c in spec.names}
    named = {_norm(n) for n in ti.extra_columns}
    also = [
        n
        for n in dict.fromkeys(referred)
        if _norm(n) in by_norm and _norm(n) not in canonical and _norm(n) not in named
    ]
    for name in [*ti.extra_columns, *also]:
        if _norm(name) in canonical:
            problems.append(
                SettingsError(
                    f"[{spec.name}] extra_columns: {name!r} is a canonical {spec.name} column; "
                    "it is kept anyway, so leave it out of extra_columns"
                )
            )
            continue
        src = name if name in source else by_norm.get(_norm(name))
        if src is None:
            problems.append(
                InputError(
                    f"[{spec.name}] extra_columns names {name!r}, which is not in the file",
                    file=file,
                    column=name,
                    hint=_columns_hint(name, source),
                )
            )
            continue
        expr = raw[src]
        dtype = expr.type()
        if dtype.is_numeric() or dtype.is_boolean():
            out[name] = expr.cast("float64")
            continue
        if dtype.is_date() or dtype.is_timestamp():
            out[name] = expr.cast("date")
            continue
        number, checks = _parse(expr, "number", ti, vs, engine, decimal)
        text = _trim(expr.cast(str)).nullif("")
        # every check that fails a row (not a number, not finite, implausible) makes it text
        bad = ibis.literal(False)
        for cond, _ in checks:
            bad |= cond.fill_null(False)
        counts = engine.to_arrow(
            raw.aggregate(
                n_text=(text.notnull() & bad).cast("int64").sum(),
                n_values=text.notnull().cast("int64").sum(),
            ),
            f"the types of {file} column {src!r}",
        ).to_pylist()[0]
        is_number = (counts["n_text"] or 0) == 0 and (counts["n_values"] or 0) > 0
        out[name] = number.cast("float64") if is_number else text
    Problems.raise_if_any(problems)
    return out


def check_transactions(
    t: ir.Table,
    settings: Settings,
    *,
    as_of: dt.date | None,
    today: dt.date,
) -> ir.Table:
    """Transaction-specific row checks and derived flags.

    - a date after the analysis date (when ``as_of`` is given) is rejected, as is a date more
      than ``[validate] future_tolerance_days`` after today;
    - ``is_return`` is true for a returns flag, a negative quantity or a negative revenue;
    - ``is_cancel`` is true when order_id starts with ``[validate] cancel_prefix``;
    - identical lines are rejected when ``[validate] drop_duplicate_lines`` is on.
    """
    vs = settings.validate_
    limit = today + dt.timedelta(days=vs.future_tolerance_days)
    t = reject_if(
        t,
        t.date > limit,
        "date",
        f"date in the future (after {limit.isoformat()}, today + "
        f"{vs.future_tolerance_days} days tolerance)",
        t.date.cast(str),
    )
    if as_of is not None:
        t = reject_if(
            t,
            t.date > as_of,
            "date",
            f"after the analysis date {as_of.isoformat()} (--as-of)",
            t.date.cast(str),
        )
    is_return = (
        t.is_return.fill_null(False) | (t.quantity.fill_null(0) < 0) | (t.revenue.fill_null(0) < 0)
    )
    prefix = vs.cancel_prefix or ""
    is_cancel = t.order_id.fill_null("").startswith(prefix) if prefix else ibis.literal(False)
    t = t.mutate(is_return=is_return, is_cancel=is_cancel)
    if vs.drop_duplicate_lines:
        keys = [c for c in TABLES["transactions"].names]
        w = ibis.window(group_by=[t[c] for c in keys], order_by=t[ROW])
        t = t.mutate(_dup_rank=ibis.row_number().over(w), _first_row=t[ROW].min().over(w))
        t = reject_if(
            t,
            t._dup_rank > 0,
            None,
            "duplicate of an earlier identical line (row " + t._first_row.cast(str) + ")",
        ).drop("_dup_rank", "_first_row")
    return t


def reject_unknown_customers(t: ir.Table, known_ids: ir.Table, table: str) -> ir.Table:
    """Reject rows whose customer_id is neither in the customer master nor in transactions."""
    return reject_if(
        t,
        t.customer_id.notnull() & ~t.customer_id.isin(known_ids.customer_id),
        "customer_id",
        f"customer_id not found in customers or transactions ({table} row kept out)",
        t.customer_id,
    )


def reject_duplicate_keys(t: ir.Table, key: tuple[str, ...]) -> ir.Table:
    """Reject a row whose key (e.g. customer_id in the master) repeats an earlier row's."""
    w = ibis.window(group_by=[t[k] for k in key], order_by=t[ROW])
    t = t.mutate(_key_rank=ibis.row_number().over(w), _key_first=t[ROW].min().over(w))
    keyed = ibis.and_(*[t[k].notnull() for k in key])
    return reject_if(
        t,
        keyed & (t._key_rank > 0),
        key[0],
        "duplicate " + "/".join(key) + " (first at row " + t._key_first.cast(str) + ")",
        t[key[0]],
    ).drop("_key_rank", "_key_first")


def split_rejects(t: ir.Table, file: str, table: str) -> tuple[ir.Table, ir.Table]:
    """The rows used (canonical columns and ``_row``) and the rejects (rejects.csv layout)."""
    used = t.filter(t[REASON].isnull()).drop(REASON, RCOL, RVAL)
    bad = t.filter(t[REASON].notnull())
    rejects = bad.select(
        file=ibis.literal(file, str),
        table=ibis.literal(table, str),
        row=bad[ROW].cast("int64"),
        column=bad[RCOL],
        reason=bad[REASON],
        value=bad[RVAL],
    )
    return used, rejects


def normalise_activity_types(t: ir.Table) -> ir.Table:
    """Activity types in one spelling: lower case, spaces and hyphens as underscores
    (``Order Change`` and ``order-change`` are ``order_change``). Types arrive trimmed."""
    return t.mutate(type=t.type.lower().re_replace(r"[\s\-]+", "_"))
