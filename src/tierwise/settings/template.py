"""``tierwise init``: a commented settings file written from the settings model itself.

Every field appears with its docstring (unit and default) as a comment and its default value
commented out, so the file documents itself and reads back as the defaults. Input files
named on the command line get their path and a guessed column mapping.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..schema import TABLES

__all__ = ["guess_columns", "settings_template"]

#: Names users' files often give the canonical columns (compared after lower-casing and
#: removing punctuation).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customer",
        "customerid",
        "custid",
        "cust_no",
        "customer_no",
        "customer_number",
        "client_id",
        "account_id",
        "account",
        "debtor",
        "kundennr",
        "kunde",
        "sold_to",
    ),
    "date": (
        "invoice_date",
        "invoicedate",
        "order_date",
        "orderdate",
        "transaction_date",
        "posting_date",
        "datum",
        "activity_date",
    ),
    "revenue": (
        "net_revenue",
        "net_amount",
        "amount",
        "sales",
        "net_sales",
        "value",
        "umsatz",
        "line_total",
        "net_value",
    ),
    "order_id": (
        "invoice",
        "invoice_no",
        "invoiceno",
        "invoice_id",
        "order",
        "order_no",
        "document_no",
        "belegnr",
    ),
    "product_id": ("product", "sku", "item", "item_id", "stockcode", "article", "material"),
    "product_category": ("category", "product_group", "family", "warengruppe"),
    "quantity": ("qty", "units", "menge"),
    "cost": ("cogs", "cost_of_goods", "unit_cost_total", "cost_amount"),
    "list_revenue": ("gross_revenue", "list_amount", "gross_amount", "list_value"),
    "is_return": ("return", "returned", "credit_note"),
    "name": ("customer_name", "company", "company_name", "firma"),
    "postcode": ("zip", "zipcode", "postal_code", "plz"),
    "employees": ("headcount", "staff", "n_employees"),
    "annual_revenue": ("turnover", "company_revenue", "sales_volume"),
    "rep_id": ("rep", "salesrep", "sales_rep", "owner", "account_manager"),
    "type": ("activity_type", "activity", "kind"),
    "duration_minutes": ("duration", "minutes"),
    "invoice_id": ("invoice", "invoice_no", "invoice_number"),
    "due_date": ("due", "duedate"),
    "paid_date": ("paid", "payment_date", "paiddate"),
    "hours_per_year": ("hours", "capacity", "capacity_hours"),
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def guess_columns(table: str, source_columns: list[str]) -> dict[str, str]:
    """Guess canonical → source column names; columns already canonical are left out.

    Examples
    --------
    >>> guess_columns("transactions", ["Cust No", "Invoice Date", "Net Amount", "revenue"])
    {'customer_id': 'Cust No', 'date': 'Invoice Date'}
    """
    by_norm = {_norm(c): c for c in source_columns}
    out: dict[str, str] = {}
    taken: set[str] = set()
    for col in TABLES[table].columns:
        if col.name in by_norm:
            taken.add(by_norm[col.name])
    for col in TABLES[table].columns:
        if col.name in by_norm:
            continue
        for syn in SYNONYMS.get(col.name, ()):
            src = by_norm.get(_norm(syn))
            if src and src not in taken:
                out[col.name] = src
                taken.add(src)
                break
    return out


def _source_columns(path: str) -> list[str]:
    low = path.lower()
    try:
        if low.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if low.endswith((".xlsx", ".xlsm")):
            import openpyxl

            wb = openpyxl.load_workbook(path, read_only=True)
            row = next(wb.worksheets[0].iter_rows(max_row=1, values_only=True), ())
            return [str(c) for c in row if c is not None]
        if "://" in path or low.endswith((".duckdb", ".db", ".ddb")):
            return []
        from ..io.readers import sniff_csv

        return sniff_csv(path).header
    except Exception:
        return []


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


def _comment(text: str, width: int = 92) -> list[str]:
    lines: list[str] = []
    for para in (text or "").strip().split("\n\n"):
        lines += ["# " + ln for ln in textwrap.wrap(" ".join(para.split()), width - 2)]
    return lines


def _section_lines(name: str, model: type[BaseModel], values: dict[str, Any]) -> list[str]:
    lines = [f"[{name}]"]
    if model.__doc__:
        lines += _comment(model.__doc__)
    for field_name, field in model.model_fields.items():
        if field_name == "columns":
            continue
        lines.append("")
        lines += _comment(field.description or "")
        if field_name in values:
            lines.append(f"{field_name} = {_toml_value(values[field_name])}")
            continue
        default = field.get_default(call_default_factory=True)
        if default is None:
            lines.append(f"# {field_name} =")
        else:
            if hasattr(default, "isoformat"):
                default = default.isoformat()
            lines.append(f"# {field_name} = {_toml_value(default)}")
    return lines


def settings_template(inputs: dict[str, str] | None = None) -> str:
    """The text of a commented ``tierwise.toml``; ``inputs`` maps input name → path."""
    from . import INPUT_TABLES, Settings

    inputs = inputs or {}
    out = [
        "# tierwise settings. Every setting is optional: a commented line shows the default.",
        "# Paths are relative to this file. Run: tierwise run --config tierwise.toml --out DIR",
        "",
    ]
    for fname, field in Settings.model_fields.items():
        section = field.alias or fname
        model = field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        if section in INPUT_TABLES:
            values: dict[str, Any] = {}
            mapping: dict[str, str] = {}
            if section in inputs:
                path = inputs[section]
                values["path"] = path if "://" in path else str(Path(path).resolve())
                mapping = guess_columns(section, _source_columns(path))
            out += _section_lines(section, model, values)
            out.append("")
            out.append(f"[{section}.columns]")
            out += _comment(
                f"Your column names for the {section} table ({TABLES[section].doc}). "
                "Canonical name = your name; leave out columns that already carry the "
                "canonical name."
            )
            for col in TABLES[section].columns:
                req = " (required)" if col.required else ""
                if col.name in mapping:
                    out.append(f"{col.name} = {_toml_value(mapping[col.name])}{'  # guessed'}")
                else:
                    out.append(f'# {col.name} = "..."    # {col.kind}{req} {col.doc}'.rstrip())
        else:
            out += _section_lines(section, model, {})
        out.append("")
    return "\n".join(out) + "\n"
