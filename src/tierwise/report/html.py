"""report.html: one self-contained file for a sales director, built from an output folder.

Everything is inline: the styles, the Vega, Vega-Lite and vega-embed bundles (once per
report), and each chart's spec with its data. A Content-Security-Policy in the page forbids
any request to the network, so the file works offline and leaks nothing when opened. The
page is rendered by a Jinja2 template with autoescaping; chart specs are JSON in
``<script type="application/json">`` blocks with ``<``, ``>`` and ``&`` escaped, so no text
from the inputs (a customer's name, a reject's value) can become markup or script.

A section whose data the run did not produce says so plainly, naming the files or columns
it is missing and why, as manifest.json tells it (the stage did not run, was skipped and
why, or ran without that result).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import altair as alt
import jinja2
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from markupsafe import Markup

from .. import __version__
from ..io.outputs import follow_umask, record_rewrite, visible_control_text
from ..settings.report import ReportSettings
from ..validate import count_text
from . import charts
from ._folder import RunFolder, currency_of, float_array, text_array

__all__ = ["build_report", "plan_figures", "plan_lines", "render_report"]

#: customer columns the report reads (those absent are skipped)
CUSTOMER_COLUMNS = (
    "customer_id",
    "name",
    "is_prospect",
    "revenue_12m",
    "net_profit",
    "clv",
    "value_at_risk",
    "wallet",
    "headroom",
    "share_of_wallet",
    "status",
    "value_class",
    "value_class_computed",
    "tier",
    "niche",
    "channel",
    "current_channel",
    "visits_per_year",
    "calls_per_year",
    "emails_per_year",
    "assigned_rep",
    "discount_depth",
    "expected_revenue_plan",
    "expected_contribution_plan",
    "n_members",
)

Fmt = str  # "money", "int", "pct", "num", "whole" (a figure shown whole), "text"

#: the stage that gives each figure the value × potential chart can be drawn on
_AXIS_STAGE = {
    "net_profit": "profitability",
    "clv": "lifetime",
    "gross_margin": "features",
    "revenue_12m": "features",
    "wallet": "potential",
    "headroom": "potential",
}

#: A table of more columns than this is printed a row at a time, each cell under its
#: column's name (report.css, ``table.wide``): on an A4 page its columns would be a few
#: letters wide.
WIDE_TABLE_COLUMNS = 15


@dataclass
class Block:
    """One item of a section: a chart, a table, a list of figures or of sentences."""

    kind: str
    title: str = ""
    caption: str = ""
    chart_id: str = ""
    spec: Markup = field(default_factory=Markup)
    columns: list[str] = field(default_factory=list)
    numeric: list[bool] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    items: list[Any] = field(default_factory=list)


@dataclass
class Section:
    """A heading of the report with its blocks, or what it is missing."""

    key: str
    title: str
    intro: str = ""
    blocks: list[Block] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


# -- formatting --------------------------------------------------------------------------


def fmt_value(value: Any, kind: Fmt) -> str:
    """A cell as text for a sales director; a figure that rounds to zero reads "0", never "-0".

    Examples
    --------
    >>> fmt_value(1234567.8, "money"), fmt_value(0.1234, "pct"), fmt_value(None, "num")
    ('1,234,568', '12.3%', '–')
    >>> fmt_value(0.0, "num"), fmt_value(2.25, "num"), fmt_value(12.0, "num")
    ('0', '2.25', '12')
    >>> fmt_value(-0.3, "money"), fmt_value(-0.0001, "pct"), fmt_value(-0.001, "num")
    ('0', '0.0%', '0.00')
    """
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and kind in ("money", "int", "pct", "num", "whole"):
        return _unsigned_zero(_number(value, kind))
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def fmt_money(value: Any, currency: str = "") -> str:
    """A money figure (:func:`fmt_value`) with ``currency`` (``[segments] currency_symbol``)
    before it, after the minus sign.

    Examples
    --------
    >>> fmt_money(1234.4, "€"), fmt_money(-300.0, "CHF "), fmt_money(None, "€"), fmt_money(5.0)
    ('€1,234', '-CHF 300', '–', '5')
    """
    text = fmt_value(value, "money")
    if not currency or not isinstance(value, int | float) or text == "–":
        return text
    if text.startswith("-"):
        return f"-{currency}{text[1:]}"
    return f"{currency}{text}"


def column_texts(values: Sequence[Any], kind: Fmt, whole: bool | None = None) -> list[str]:
    """A table column's cells as text (:func:`fmt_value`), in one style down the column: a
    column of figures (``num``) of which one reaches 100 shows every figure whole, so that
    93.77 hours do not stand under 219. ``whole`` (:func:`reaches_100` of the whole column)
    decides it for a page of a longer column, so that every page shows the column alike.

    Examples
    --------
    >>> column_texts([219.0, 93.77, None], "num"), column_texts([2.25, 12.0], "num")
    (['219', '94', '–'], ['2.25', '12'])
    >>> column_texts([2.25], "num", whole=True)
    ['2']
    """
    if whole is None:
        whole = reaches_100(pa.array(values, from_pandas=True)) if kind == "num" else False
    return [fmt_value(v, "whole" if whole and kind == "num" else kind) for v in values]


def reaches_100(values: pa.Array | pa.ChunkedArray) -> bool:
    """Whether a column holds a finite figure of 100 or more either side of 0 (the figures
    of :func:`column_texts` then shown whole); False for a column that holds no figures.

    Examples
    --------
    >>> reaches_100(pa.array([1.5, -250.0])), reaches_100(pa.array([1.5, float("inf")]))
    (True, False)
    """
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        return False
    v = pc.cast(values, pa.float64())
    top = pc.max(pc.abs(pc.filter(v, pc.is_finite(v)))).as_py()
    return top is not None and top >= 100


def _number(value: float, kind: Fmt) -> str:
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "num" and abs(value) < 100 and not float(value).is_integer():
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def _unsigned_zero(text: str) -> str:
    """``text`` without its minus sign when no digit of it is other than 0 ("-0" → "0")."""
    if text.startswith("-") and not any(c in "123456789" for c in text):
        return text[1:]
    return text


def _items(counts: Any) -> str:
    """``{"lapsed": 8, "inactive": 4}`` as "lapsed 8, inactive 4"."""
    if not isinstance(counts, dict):
        return ""
    return ", ".join(f"{k} {v:,}" for k, v in counts.items() if isinstance(v, int))


def plan_figures(manifest: Any) -> list[tuple[str, str]]:
    """The coverage plan's counts for an overview, from manifest.json's ``coverage`` block:
    the dormant accounts given a win-back contact and, with ``--previous``, the accounts
    whose rep, channel or frequency changed against the previous plan.

    Examples
    --------
    >>> for label, value in plan_figures({"coverage": {
    ...         "winback": {"customers": 12, "tiers": ["gold"]},
    ...         "plan_changes": {"customers_in_both": 2263, "changed": 155}}}):
    ...     print(f"{label}: {value}")
    Win-back contacts (dormant gold accounts): 12
    Changed against the previous plan: 155 of 2,263
    """
    cov = (manifest or {}).get("coverage") if isinstance(manifest, dict) else None
    if not isinstance(cov, dict):
        return []
    figs: list[tuple[str, str]] = []
    wb = cov.get("winback")
    if isinstance(wb, dict) and isinstance(wb.get("customers"), int):
        tiers = " and ".join(str(t) for t in wb.get("tiers") or [])
        label = f"Win-back contacts (dormant {tiers} accounts)" if tiers else "Win-back contacts"
        figs.append((label, fmt_value(wb["customers"], "int")))
    ch = cov.get("plan_changes")
    if isinstance(ch, dict) and isinstance(ch.get("changed"), int):
        both = int(ch.get("customers_in_both") or 0)
        figs.append(
            ("Changed against the previous plan", f"{ch['changed']:,} of {both:,}")
            if both
            else ("In the previous plan", "none of them")
        )
    return figs


def plan_lines(manifest: Any) -> list[str]:
    """What the coverage plan's manifest block says in sentences for an overview: the
    win-back contacts, the changes against the previous plan (``--previous``), and the
    customers of reps not in the reps file. Empty without a coverage block.

    Examples
    --------
    >>> import textwrap
    >>> line = plan_lines({"coverage": {"plan_changes": {"customers_in_both": 200,
    ...     "changed": 9, "rep_changed": 4, "channel_changed": 3, "frequency_changed": 2,
    ...     "new": 5}}})[0]
    >>> print(textwrap.fill(line, 88))
    Against the previous plan, 9 of the 200 accounts and prospects in both plans changed
    (4.5%): rep 4, channel 3, frequency 2; 5 are new (plan_change in customers.csv,
    crm_export.csv and the call lists of plan.xlsx).
    """
    m = manifest if isinstance(manifest, dict) else {}
    cov = m.get("coverage")
    if not isinstance(cov, dict):
        return []
    symbol = currency_of(m)
    lines: list[str] = []
    ch = cov.get("plan_changes")
    if isinstance(ch, dict) and isinstance(ch.get("changed"), int):
        both = int(ch.get("customers_in_both") or 0)
        share = f" ({ch['changed'] / both:.1%})" if both else ""
        new = int(ch.get("new") or 0)
        if not both:
            lines.append(
                f"No account or prospect of this plan is in the previous plan: all {new:,} "
                "are new (plan_change in customers.csv, crm_export.csv and the call lists of "
                "plan.xlsx)."
            )
        else:
            lines.append(
                f"Against the previous plan, {ch['changed']:,} of the {both:,} accounts and "
                f"prospects in both plans changed{share}: rep {int(ch.get('rep_changed') or 0):,}, "
                f"channel {int(ch.get('channel_changed') or 0):,}, frequency "
                f"{int(ch.get('frequency_changed') or 0):,}; {new:,} "
                f"{'is' if new == 1 else 'are'} new (plan_change in customers.csv, "
                "crm_export.csv and the call lists of plan.xlsx)."
            )
    wb = cov.get("winback")
    if isinstance(wb, dict) and int(wb.get("customers") or 0) > 0:
        k = int(wb["customers"])
        names = [str(t) for t in wb.get("tiers") or []]
        tiers = " and ".join(names) + (" tiers" if len(names) > 1 else " tier")
        money = wb.get("expected_contribution")
        worth = (
            f", an expected contribution of {'-' if money < 0 else ''}{symbol}"
            f"{fmt_value(abs(float(money)), 'money')} a year"
            if isinstance(money, int | float)
            else ""
        )
        detail = "; ".join(
            x for x in (_items(wb.get("by_status")), _items(wb.get("by_channel"))) if x
        )
        lines.append(
            f"{count_text(k, 'dormant account')} of the {tiers} "
            f"{'is' if k == 1 else 'are'} given a win-back contact"
            + (f" ({detail})" if detail else "")
            + f"{worth} ([coverage] winback_tiers)."
        )
    gone = cov.get("reps_not_in_reps_file")
    if isinstance(gone, dict) and int(gone.get("customers") or 0) > 0:
        k = int(gone["customers"])
        lines.append(
            f"{count_text(k, 'customer')} whose rep is not in the reps file "
            f"({_items(gone.get('by_rep'))}): {int(gone.get('visited_or_called') or 0):,} "
            "visited or called by a rep of the file, "
            f'{int(gone.get("unassigned") or 0):,} carried by no rep (the "(unassigned)" '
            "call list, no owner in crm_export.csv)."
        )
    return lines


_PCT_WORDS = ("share", "utilisation", "_rate", "pct", "probability", "p_alive", "risk", "lift_pct")
_MONEY_WORDS = (
    "revenue",
    "profit",
    "clv",
    "wallet",
    "headroom",
    "margin",
    "contribution",
    "value",
    "cost",
    "saved",
    "paid",
    "amount",
    "target",
)


def guess_format(name: str, dtype: pa.DataType) -> Fmt:
    """How to show a column of a table the report does not know in detail."""
    if pa.types.is_integer(dtype):
        return "int"
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        lower = name.lower()
        if any(w in lower for w in _PCT_WORDS) and "value_at_risk" not in lower:
            return "pct"
        if any(w in lower for w in _MONEY_WORDS):
            return "money"
        return "num"
    return "text"


# -- the builder ---------------------------------------------------------------------------


class _Report:
    def __init__(self, folder: RunFolder, settings: ReportSettings) -> None:
        self.f = folder
        self.s = settings
        self.m = folder.manifest
        self._n_charts = 0
        t = folder.table("customers", CUSTOMER_COLUMNS)
        self.customers = t if t is not None else pa.table({"customer_id": pa.array([], "str")})
        self.has_customers = t is not None
        cols = set(self.customers.column_names)
        if "is_prospect" in cols:
            prospect = pc.fill_null(self.customers.column("is_prospect"), False)
            self.accounts = self.customers.filter(pc.invert(prospect))
        else:
            self.accounts = self.customers
        self.class_order = self._class_order()
        #: ``[segments] currency_symbol``, as plan.xlsx and the reasons print it
        self.currency = currency_of(self.m)

    # helpers
    def money(self, value: Any) -> str:
        """A money figure with the run's currency symbol before it (after the minus)."""
        return fmt_money(value, self.currency)

    def money_head(self, label: str) -> str:
        """The heading of a column or axis of money, with the currency when it is known."""
        return f"{label} ({self.currency.strip()})" if self.currency else label

    def currency_note(self) -> str:
        """Said once at the top of the report when the money has no currency symbol, or
        has the one the inputs name (no ``[segments] currency_symbol`` set)."""
        seg = (self.m.get("settings") or {}).get("segments")
        given = isinstance(seg, dict) and bool(seg.get("currency_symbol"))
        read = self.m.get("currency")
        if self.currency and not given and isinstance(read, dict):
            rows = [r for r in read.get("read_from") or [] if isinstance(r, dict)]
            files = list(dict.fromkeys(str(r["file"]) for r in rows if r.get("file")))
            return (
                f"Amounts are in {self.currency.strip()}, the currency "
                f"{', '.join(files) or 'the inputs'} name{'s' if len(files) == 1 else ''}; "
                "set [segments] currency_symbol to show another symbol."
            )
        if self.currency:
            return ""
        rates = ((self.m.get("settings") or {}).get("transactions") or {}).get("exchange_rates")
        ones = sorted(str(k) for k, v in rates.items() if v == 1) if isinstance(rates, dict) else []
        if len(ones) == 1:
            return (
                f"Amounts are in {ones[0]}, the currency [transactions] exchange_rates converts "
                "the invoices to; set [segments] currency_symbol to show it with each amount "
                "(here, in plan.xlsx and in the reasons)."
            )
        return (
            "Amounts are in the invoices' currency; set [segments] currency_symbol to show it "
            "(here, in plan.xlsx and in the reasons)."
        )

    def has_cols(self, *names: str) -> bool:
        return all(n in self.customers.column_names for n in names)

    def missing_cols(self, *names: str) -> list[str]:
        return [n for n in names if n not in self.customers.column_names]

    def chart(self, chart: Any, title: str = "", caption: str = "") -> Block:
        self._n_charts += 1
        spec = chart.to_dict()
        return Block(
            kind="chart",
            title=title,
            caption=caption,
            chart_id=f"chart-{self._n_charts}",
            spec=_json_for_script(spec),
        )

    def table(
        self,
        t: pa.Table,
        columns: Sequence[tuple[str, str, Fmt]] | None = None,
        *,
        title: str = "",
        caption: str = "",
        limit: int | None = None,
        source: str = "",
        total: int | None = None,
    ) -> Block:
        """The first ``limit`` rows of ``t`` (``total``: the rows of the whole table when
        ``t`` holds only its first rows)."""
        limit = self.s.table_rows if limit is None else limit
        total = t.num_rows if total is None else total
        if columns is None:
            columns = [
                (n, n.replace("_", " "), guess_format(n, t.schema.field(n).type))
                for n in t.column_names
            ]
        columns = [c for c in columns if c[0] in t.column_names]
        head = t.slice(0, limit).select([c[0] for c in columns])
        # each column's style from all its rows, not only those shown
        texts = [
            column_texts(head.column(c[0]).to_pylist(), c[2], reaches_100(t.column(c[0])))
            for c in columns
        ]
        rows = [[texts[j][i] for j in range(len(columns))] for i in range(head.num_rows)]
        more = caption
        if total > limit:
            note = f"The first {limit:,} of {total:,} rows"
            note += f"; all of them are in {source}." if source else "."
            more = f"{caption} {note}".strip()
        return Block(
            kind="table",
            title=title,
            caption=more,
            columns=[self.money_head(c[1]) if c[2] == "money" else c[1] for c in columns],
            numeric=[c[2] != "text" for c in columns],
            rows=rows,
        )

    def _class_order(self) -> list[str]:
        seg = self.m.get("segments") or {}
        classes = seg.get("classes") if isinstance(seg, dict) else None
        # the run's manifest gives each class's figures by name, best first
        if isinstance(classes, dict | list) and all(isinstance(c, str) for c in classes):
            return list(classes)
        if "value_class" in self.customers.column_names:
            vals = pc.unique(self.customers.column("value_class").drop_null()).to_pylist()
            return sorted(str(v) for v in vals)
        return []

    def total(self, name: str, t: pa.Table | None = None) -> float | None:
        t = self.accounts if t is None else t
        if name not in t.column_names:
            return None
        v = pc.sum(pc.cast(t.column(name), pa.float64())).as_py()
        return float(v) if v is not None else 0.0

    # sections -------------------------------------------------------------------------
    def overview(self) -> Section:
        sec = Section("overview", "At a glance", self.currency_note())
        if not self.has_customers:
            sec.missing.append("customers.parquet / customers.csv is not in the folder")
            return sec
        figs: list[tuple[str, str]] = [("Accounts", fmt_value(self.accounts.num_rows, "int"))]
        n_prospects = self.customers.num_rows - self.accounts.num_rows
        if n_prospects == 0 and self.f.has("prospects"):
            p = self.f.table("prospects", ["customer_id"])
            n_prospects = p.num_rows if p is not None else 0
        if n_prospects:
            figs.append(("Prospects", fmt_value(n_prospects, "int")))
        labels = [
            ("revenue_12m", "Revenue, last 12 months"),
            ("net_profit", "Net profit after cost-to-serve"),
            ("clv", "Customer lifetime value"),
            ("value_at_risk", "Value at risk"),
            ("wallet", "Wallet (what they spend in all)"),
            ("headroom", "Headroom (wallet not yet ours)"),
        ]
        for col, label in labels:
            v = self.total(col)
            if v is not None:
                figs.append((label, self.money(v)))
        rev, wal = self.total("revenue_12m"), self.total("wallet")
        if rev is not None and wal:
            figs.append(("Share of wallet", fmt_value(rev / wal, "pct")))
        acc = self.m.get("accounts") or {}
        if isinstance(acc, dict) and acc.get("n_records") and acc.get("n_accounts"):
            figs.append(
                (
                    "Customer records → accounts",
                    f"{acc['n_records']:,} → {acc['n_accounts']:,}",
                )
            )
        if self.has_cols("value_class"):
            first = self.class_order[0] if self.class_order else None
            if first is not None:
                is_first = pc.equal(self.accounts.column("value_class"), first)
                n_first = int(pc.sum(is_first).as_py() or 0)
                figs.append((f"Class {first} accounts", fmt_value(n_first, "int")))
                prof, tot = (
                    self.total("net_profit", self.accounts.filter(is_first)),
                    self.total("net_profit"),
                )
                if prof is not None and tot:
                    figs.append((f"Class {first} share of profit", fmt_value(prof / tot, "pct")))
        if self.has_cols("visits_per_year"):
            figs.append(
                ("Field visits a year (plan)", fmt_value(self.total("visits_per_year"), "int"))
            )
        figs += plan_figures(self.m)
        sec.blocks.append(Block(kind="figures", items=figs))
        sentences = []
        if n_prospects:
            sentences.append(
                f"The figures are over the {self.accounts.num_rows:,} accounts (customers); "
                f'the {n_prospects:,} prospects are left out here and in "Classes, tiers and '
                'niches", and counted with the customers in the segment profiles, plan.xlsx, '
                "crm_export.csv and the dashboard."
            )
        head = (self.m.get("profitability") or {}).get("headline") or {}
        if isinstance(head, dict) and head.get("sentence"):
            sentences.append(f"Whale curve: {head['sentence']}.")
        lt = self.m.get("lifetime") or {}
        if isinstance(lt, dict) and lt.get("high_value_at_risk") is not None:
            sentences.append(
                f"{lt['high_value_at_risk']:,} high-value customers are at risk of defecting."
            )
        sentences += plan_lines(self.m)
        if sentences:
            sec.blocks.append(Block(kind="list", items=sentences))
        warnings = self.m.get("warnings") or []
        if warnings:
            sec.blocks.append(
                Block(kind="list", title="What the run assumed", items=[str(w) for w in warnings])
            )
        return sec

    def whale(self) -> Section:
        sec = Section(
            "whale",
            "Who makes the profit: the whale curve",
            "Customers ranked by net profit after cost-to-serve; the curve rises while "
            "customers add profit and falls where they destroy it.",
        )
        w = self.f.table("whale_curve")
        need = {"rank", "customer_id", "net_profit", "share_of_customers"}
        need.add("cumulative_share_of_profit")
        if w is None or not need <= set(w.column_names):
            sec.missing.append(
                f"whale_curve is not in the folder: {self._stage_note('profitability')}"
            )
            return sec
        head = (self.m.get("profitability") or {}).get("headline") or {}
        caption = str(head.get("sentence", "")) if isinstance(head, dict) else ""
        if w.num_rows == 0:
            # no customer with a net profit: no curve to draw, only the reason
            why = caption or "no customer has a net profit"
            sec.blocks.append(Block(kind="list", items=[why[:1].upper() + why[1:] + "."]))
            return sec
        if w.num_rows > self.s.curve_points:
            caption += f" (the curve drawn through {self.s.curve_points:,} of its points)"
        sec.blocks.append(self.chart(charts.whale_chart(w, self.s.curve_points), caption=caption))
        return sec

    def matrix(self) -> Section:
        sec = Section(
            "matrix",
            "Value × potential",
            "Each customer's current value against its potential, coloured by class.",
        )
        seg = self.m.get("segments") or {}
        axes = seg.get("axes") if isinstance(seg, dict) else None
        value = "net_profit"
        potential = "wallet"
        if isinstance(axes, dict):
            value = str(axes.get("value", value))
            potential = str(axes.get("potential", potential))
        if isinstance(axes, dict) and "potential" in axes and axes["potential"] is None:
            # the segments stage found no potential figure and classed on value alone
            sec.missing.append(self._value_only_note(value))
            return sec
        t = self.f.table("customers", ["customer_id", "name", value, potential, "value_class"])
        if t is None or value not in t.column_names or potential not in t.column_names:
            missing = [c for c in (value, potential) if t is None or c not in t.column_names]
            sec.missing.append(
                "customers has no "
                + " and no ".join(
                    f"{c} ({self._stage_note(_AXIS_STAGE.get(c, 'segments'))})" for c in missing
                )
            )
            return sec
        cuts = seg.get("cut_points") if isinstance(seg, dict) else None
        klass = "value_class" if "value_class" in t.column_names else None
        chart, facts = charts.matrix_chart(
            t,
            value=value,
            potential=potential,
            klass=klass,
            max_rows=self.s.max_chart_rows,
            bins=self.s.matrix_bins,
            cuts=cuts if isinstance(cuts, dict) else None,
            class_order=self.class_order,
        )
        caption = count_text(facts["shown"], "customer")
        if facts["binned"]:
            caption += (
                f", in bins of about equal numbers of customers per axis (more than "
                f"{self.s.max_chart_rows:,} customers); hover a cell for its count and "
                "commonest class"
            )
        if facts["without_axes"]:
            caption += f"; {facts['without_axes']:,} without a {value} or {potential} not shown"
        if klass is None:
            caption += ". No classes yet: the segments stage did not run"
        elif not isinstance(cuts, dict):
            caption += ". Class boundaries are where the colours change"
        sec.blocks.append(self.chart(chart, caption=caption + "."))
        return sec

    def segments(self) -> Section:
        sec = Section(
            "segments",
            "Classes, tiers and niches",
            "How many accounts each segment holds and its share of revenue and profit.",
        )
        n_prospects = self.customers.num_rows - self.accounts.num_rows
        if n_prospects:
            sec.intro += (
                f" Accounts are customers only: the {n_prospects:,} prospects are not counted "
                "here (the segment profiles below count them)."
            )
        groups = [g for g in ("value_class", "tier", "niche") if g in self.accounts.column_names]
        if not groups:
            sec.missing.append(
                f"customers has no value_class, tier or niche: {self._stage_note('segments')}"
            )
            return sec
        for g in groups:
            summary = _shares(self.accounts, g)
            order = self.class_order if g == "value_class" else None
            label = {"value_class": "class", "tier": "tier", "niche": "niche"}[g]
            long = _long_shares(summary, g)
            sec.blocks.append(
                self.chart(
                    charts.grouped_bar_chart(
                        long,
                        x=g,
                        group="measure",
                        y="share",
                        x_title=label,
                        y_title="share",
                        sort=order,
                        group_order=["customers", "revenue", "profit"],
                    ),
                    title=f"By {label}",
                )
            )
            sec.blocks.append(
                self.table(
                    summary,
                    [
                        (g, label, "text"),
                        ("customers", "customers", "int"),
                        ("share_customers", "share of customers", "pct"),
                        ("revenue", "revenue 12m", "money"),
                        ("share_revenue", "share of revenue", "pct"),
                        ("profit", "net profit", "money"),
                        ("share_profit", "share of profit", "pct"),
                    ],
                    limit=max(self.s.table_rows, 30),
                )
            )
        return sec

    def profiles(self) -> Section:
        sec = Section(
            "profiles",
            "Segment profiles and quality",
            "What sets each segment apart, its programme, and the quality and stability tests.",
        )
        n_prospects = self.customers.num_rows - self.accounts.num_rows
        if n_prospects:
            sec.intro += (
                f" Each segment counts its customers and prospects together ({n_prospects:,} "
                "prospects in all), as segments.csv, plan.xlsx and the dashboard do."
            )
        seg = self.f.table("segments")
        if seg is None:
            sec.missing.append(f"segments.csv is not in the folder: {self._stage_note('segments')}")
            return sec
        sec.blocks.append(self.table(seg, limit=max(self.s.table_rows, 60), source="segments.csv"))
        block = self.m.get("segments") or {}
        if isinstance(block, dict):
            items = [
                f"{k.replace('_', ' ')}: {v}"
                for k, v in sorted(block.items())
                if isinstance(v, str | int | float) and not isinstance(v, bool)
            ]
            if items:
                sec.blocks.append(Block(kind="list", title="Method", items=items))
        return sec

    def overrides(self) -> Section:
        """The classes and tiers people set by hand: how many, from where, which way."""
        sec = Section(
            "overrides",
            "Overrides: classes and tiers set by hand",
            "Customers whose class or tier a person set after the mathematics ran, from the "
            "overrides file or the dashboard (overrides_applied.csv).",
        )
        t = self.f.table("overrides_applied")
        if t is None:
            sec.missing.append(
                f"overrides_applied is not in the folder: {self._stage_note('segments')}"
            )
            return sec
        if t.num_rows == 0:
            sec.blocks.append(Block(kind="list", items=["No override was applied in this run."]))
            return sec
        files = text_array(t, "file")
        dashboard = pc.fill_null(pc.match_substring(files, "the dashboard"), False)
        in_file = (
            pc.fill_null(pc.is_valid(t.column("row")), False)
            if "row" in (t.column_names)
            else pc.invert(dashboard)
        )
        n_dash = int(pc.sum(dashboard).as_py() or 0)
        n_file = int(pc.sum(in_file).as_py() or 0)
        moved = pc.fill_null(
            pc.or_(
                pc.not_equal(text_array(t, "new_class"), text_array(t, "computed_class")),
                pc.not_equal(text_array(t, "new_tier"), text_array(t, "computed_tier")),
            ),
            True,
        )
        items = [
            ("Overrides applied", fmt_value(t.num_rows, "int")),
            ("From the overrides file", fmt_value(n_file, "int")),
            ("From the dashboard", fmt_value(n_dash, "int")),
            ("Class or tier changed by them", fmt_value(int(pc.sum(moved).as_py() or 0), "int")),
        ]
        sec.blocks.append(Block(kind="figures", items=items))
        sec.blocks.append(
            self.table(
                t,
                [
                    ("customer_id", "customer", "text"),
                    ("computed_class", "computed class", "text"),
                    ("new_class", "class", "text"),
                    ("computed_tier", "computed tier", "text"),
                    ("new_tier", "tier", "text"),
                    ("by", "by", "text"),
                    ("reason", "why", "text"),
                    ("source", "from", "text"),
                ],
                source="overrides_applied.csv",
            )
        )
        return sec

    def review(self) -> Section | None:
        """How the classes moved since the previous run (``--previous``): the counts, the
        migration matrix, what each previous class bought then and now, and the movers
        (None for a run without a previous one)."""
        seg = self.m.get("segments") or {}
        rv = seg.get("review") if isinstance(seg, dict) else None
        if not isinstance(rv, dict):
            return None
        then, now = rv.get("previous_as_of"), rv.get("as_of")
        sec = Section(
            "review",
            "Since the previous run",
            f"Each customer's and prospect's class against the previous run given with "
            f"--previous (as of {then or 'an unknown date'}; this run as of {now or '–'}): "
            "previous_class and class_change in customers.csv, the whole matrix in "
            "migration.csv and every customer who moved in class_movers.csv.",
        )
        items = [
            ("In the previous run", fmt_value(rv.get("previous_customers"), "int")),
            ("In this run", fmt_value(rv.get("current_customers"), "int")),
            ("Moved up a class", fmt_value(rv.get("up"), "int")),
            ("Moved down a class", fmt_value(rv.get("down"), "int")),
            ("Kept their class", fmt_value(rv.get("same"), "int")),
        ]
        held = seg.get("held_previous_class") if isinstance(seg, dict) else None
        if held:
            # a customer near a cut point kept its class ([segments] class_hysteresis)
            items.append(("Held in their class near a cut point", fmt_value(held, "int")))
        items += [
            ("New since then", fmt_value(rv.get("new"), "int")),
            ("Gone since then", fmt_value(rv.get("gone"), "int")),
        ]
        if rv.get("merged"):
            items.append(("Merged into another account", fmt_value(rv["merged"], "int")))
        if rv.get("not_comparable"):
            items.append(
                ("Class no longer in the settings", fmt_value(rv["not_comparable"], "int"))
            )
        sec.blocks.append(Block(kind="figures", items=items))
        mig = self.f.table("migration")
        if mig is None or not {"from_class", "to_class", "customers"} <= set(mig.column_names):
            sec.missing.append(f"migration is not in the folder: {self._stage_note('segments')}")
        else:
            sec.blocks.extend(self._migration_blocks(mig))
        movers = self.f.table("class_movers")
        if movers is None:
            sec.missing.append(f"class_movers is not in the folder: {self._stage_note('segments')}")
        elif movers.num_rows:
            sec.blocks.extend(self._mover_blocks(movers))
        return sec

    def _migration_blocks(self, mig: pa.Table) -> list[Block]:
        """The migration matrix (customers, previous class × class now, with totals) and
        what each previous class's customers bought then and now."""
        frm, to = text_array(mig, "from_class").to_pylist(), text_array(mig, "to_class").to_pylist()
        n = pc.cast(mig.column("customers"), pa.int64()).to_pylist()
        rows_order, cols_order = list(dict.fromkeys(frm)), list(dict.fromkeys(to))
        cell = {(f, t): int(c or 0) for f, t, c in zip(frm, to, n, strict=True)}
        matrix: dict[str, list[Any]] = {"previous class": rows_order}
        for t in cols_order:
            matrix[t] = [cell.get((f, t), 0) for f in rows_order]
        matrix["previous run"] = [
            sum(cell.get((f, t), 0) for t in cols_order) if f != "(new)" else None
            for f in rows_order
        ]
        table = pa.table({k: pa.array(v) for k, v in matrix.items()})
        totals = {t: sum(cell.get((f, t), 0) for f in rows_order) for t in cols_order}
        columns = [("previous class", "previous class", "text")]
        columns += [(t, f"now {t}" if not t.startswith("(") else t, "int") for t in cols_order]
        columns.append(("previous run", "in the previous run", "int"))
        now_total = ", ".join(f"{t} {totals[t]:,}" for t in cols_order if t != "(gone)")
        blocks = [
            self.table(
                table,
                columns,
                title="Where the previous run's classes are now (customers)",
                caption="A row is a class of the previous run ((new): not in it), a column "
                "the class now ((gone): not in this run); each row adds up to the previous "
                f"run's class, each column to this run's ({now_total}).",
                limit=max(self.s.table_rows, len(rows_order)),
            )
        ]
        if {"revenue_then", "revenue_now"} <= set(mig.column_names):
            then = float_array(mig, "revenue_then")
            now = float_array(mig, "revenue_now")
            keep = [f for f in rows_order if f != "(new)"]
            pos = {f: i for i, f in enumerate(keep)}
            idx = np.array([pos.get(f, -1) for f in frm])
            ok = idx >= 0
            k = len(keep)
            cohort = pa.table(
                {
                    "from_class": keep,
                    "customers": np.bincount(
                        idx[ok], weights=np.asarray(n, float)[ok], minlength=k
                    ).astype(np.int64),
                    "revenue_then": np.bincount(
                        idx[ok], weights=np.nan_to_num(then[ok]), minlength=k
                    ),
                    "revenue_now": np.bincount(
                        idx[ok], weights=np.nan_to_num(now[ok]), minlength=k
                    ),
                }
            )
            new_rev = float(np.nansum(now[~ok]))
            blocks.append(
                self.table(
                    cohort,
                    [
                        ("from_class", "previous class", "text"),
                        ("customers", "customers", "int"),
                        ("revenue_then", "revenue 12m then", "money"),
                        ("revenue_now", "revenue 12m now", "money"),
                    ],
                    title="What the previous run's classes buy now",
                    caption="The customers of each class of the previous run, wherever they "
                    "are now, with their revenue of the last 12 months then and now (gone: "
                    f"none now); the customers new since then buy {fmt_value(new_rev, 'money')}.",
                    limit=max(self.s.table_rows, k),
                )
            )
        return blocks

    def _mover_blocks(self, movers: pa.Table) -> list[Block]:
        """How many moved for each main reason, and the movers of most value first."""
        reasons = text_array(movers, "main_reason").to_pylist()
        counts = sorted(
            ((r, reasons.count(r)) for r in dict.fromkeys(reasons) if r is not None),
            key=lambda rc: (-rc[1], rc[0]),
        )
        blocks = [
            Block(
                kind="figures",
                title="Why they moved (main reason)",
                items=[(r, fmt_value(c, "int")) for r, c in counts],
            )
        ]
        then = [c for c in movers.column_names if c.endswith("_then")]
        value = then[0][: -len("_then")] if then else None
        order = np.arange(movers.num_rows)
        if value is not None and f"{value}_now" in movers.column_names:
            size = np.fmax(
                np.abs(float_array(movers, f"{value}_then")),
                np.abs(float_array(movers, f"{value}_now")),
            )
            ids = text_array(movers, "customer_id").to_pylist()
            order = np.array(
                sorted(order, key=lambda i: (-np.nan_to_num(size[i], nan=-np.inf), ids[i])),
                dtype=np.int64,
            )
        top = _with_names(movers.take(pa.array(order)), self.customers)
        label = (value or "").replace("_", " ")
        columns = [
            ("customer_id", "customer", "text"),
            ("name", "name", "text"),
            ("previous_class", "previous class", "text"),
            ("value_class", "class", "text"),
            ("class_change", "moved", "text"),
            ("main_reason", "main reason", "text"),
        ]
        if value is not None:
            columns += [
                (f"{value}_then", f"{label} then", "money"),
                (f"{value}_now", f"{label} now", "money"),
            ]
        blocks.append(
            self.table(
                top,
                columns,
                title="Customers who moved, largest first",
                caption=f"Ordered by their {label} then or now, the larger of the two.",
                source="class_movers.csv",
            )
        )
        return blocks

    def _stage_note(self, stage: str) -> str:
        """Why a stage gave no result, as manifest.json tells it: skipped and why, did not
        run, or ran without that result."""
        block = self.m.get(stage)
        if isinstance(block, dict) and block.get("skipped"):
            return f"the {stage} stage was skipped: {block['skipped']}"
        ran = self.m.get("stages")
        if (isinstance(ran, list) and stage in ran) or (isinstance(block, dict) and block):
            return f"the {stage} stage ran but did not give it"
        return f"the {stage} stage did not run"

    def _value_only_note(self, value: str) -> str:
        """Why the run has no potential axis (the segments stage classed on ``value``
        alone), from manifest.json."""
        seg_settings = (self.m.get("settings") or {}).get("segments") or {}
        axis = str(seg_settings.get("potential_axis") or "headroom")
        said = (self.m.get("segments") or {}).get("value_only_reason")
        if said and (self.m.get("potential") or {}).get("skipped") is None:
            # the potential stage ran: the segments stage says why its figure was not used
            # (a wallet that tells no customer apart)
            return (
                f"no potential axis: {said}, so the classes are from {value} alone and no "
                "value × potential chart can be drawn"
            )
        note = self._stage_note("potential")
        if note.endswith("ran but did not give it"):
            note = f"the potential stage ran but gave no customer a {axis}"
        return (
            f"no potential axis: the customers have no {axis} figure ({note}), so the "
            f"classes are from {value} alone and no value × potential chart can be drawn"
        )

    def _no_lifetime_model(self) -> str:
        """Why the lifetime stage gave no P(alive), lifetime value or value at risk (it ran,
        but no transaction model could be used), from manifest.json; "" otherwise."""
        choice = (self.f.manifest.get("lifetime") or {}).get("model_choice") or {}
        if not choice or choice.get("model"):
            return ""
        why = [str(c.get("reason")) for c in choice.get("candidates") or [] if c.get("reason")]
        return str(choice.get("reason") or "no transaction model could be used") + (
            " (" + "; ".join(why) + ")" if why else ""
        )

    def _no_holdout(self) -> str:
        """Why the folder holds no holdout tracking (lifetime_tracking), from manifest.json:
        the lifetime stage did not run or was skipped, no transaction model could be used,
        the history was too short for a holdout, or the chosen model's holdout fit failed."""
        block = self.m.get("lifetime")
        if not isinstance(block, dict) or not block or block.get("skipped"):
            return f"lifetime_tracking is not in the folder: {self._stage_note('lifetime')}"
        no_model = self._no_lifetime_model()
        if no_model:
            return no_model
        choice = block.get("model_choice") or {}
        chosen = choice.get("model")
        reason = str(choice.get("reason") or "")
        ran = f"the lifetime stage ran ({reason or f'model {chosen}'})"
        used = next(
            (
                c
                for c in choice.get("candidates") or []
                if isinstance(c, dict) and c.get("model") == chosen
            ),
            {},
        )
        if used.get("holdout_reason"):
            return f"{ran}, but its holdout fit could not be used: {used['holdout_reason']}"
        chosen_by, sep, why = reason.partition("; no holdout: ")
        if sep:
            # the model was chosen by fit because the history leaves no room for a holdout
            hint = (
                " (set [lifetime] holdout_days for a shorter holdout)"
                if why.startswith("the history is shorter")
                else ""
            )
            return f"the lifetime stage ran ({chosen_by}), but {why}{hint}"
        return f"{ran}, but wrote no holdout tracking (lifetime_tracking is not in the folder)"

    def status(self) -> Section:
        sec = Section(
            "status",
            "Status and value at risk",
            "Customers by lifetime status, and the lifetime value each status puts at risk.",
        )
        if not self.has_cols("status"):
            sec.missing.append(f"customers has no status: {self._stage_note('lifetime')}")
            return sec
        no_model = self._no_lifetime_model()
        if no_model:
            sec.blocks.append(
                Block(
                    kind="list",
                    title="No lifetime value or value at risk in this run",
                    items=[no_model],
                )
            )
        cols = {"customers": ("customer_id", "count")}
        t = self.customers
        aggs = [("customer_id", "count")]
        if "value_at_risk" in t.column_names:
            aggs.append(("value_at_risk", "sum"))
        if "clv" in t.column_names:
            aggs.append(("clv", "sum"))
        del cols
        g = t.group_by("status", use_threads=False).aggregate(aggs)
        g = g.rename_columns(
            [
                {"customer_id_count": "customers", "value_at_risk_sum": "value_at_risk"}.get(
                    n, {"clv_sum": "clv"}.get(n, n)
                )
                for n in g.column_names
            ]
        ).sort_by([("customers", "descending"), ("status", "ascending")])
        extra = (
            [("value_at_risk", "value at risk", ",.0f")]
            if "value_at_risk" in g.column_names
            else []
        )
        sec.blocks.append(
            self.chart(
                charts.bar_chart(
                    g,
                    x="status",
                    y="customers",
                    x_title="status",
                    y_title="customers",
                    extra_tooltip=extra,
                ),
                title="Customers by status",
            )
        )
        if "value_at_risk" in g.column_names:
            sec.blocks.append(
                self.chart(
                    charts.bar_chart(
                        g,
                        x="status",
                        y="value_at_risk",
                        x_title="status",
                        y_title=self.money_head("value at risk"),
                    ),
                    title="Value at risk by status",
                )
            )
        hv = self.f.table("high_value_at_risk")
        if hv is not None and hv.num_rows:
            hv = _with_names(hv, self.customers)
            sec.blocks.append(
                self.table(
                    hv,
                    [
                        ("rank", "rank", "int"),
                        ("customer_id", "customer", "text"),
                        ("name", "name", "text"),
                        ("status", "status", "text"),
                        ("clv", "lifetime value", "money"),
                        ("defection_risk", "defection risk", "pct"),
                        ("value_at_risk", "value at risk", "money"),
                        ("reason", "why", "text"),
                    ],
                    title="High-value customers at risk",
                    source="high_value_at_risk.csv",
                )
            )
        return sec

    def coverage(self) -> Section:
        sec = Section(
            "coverage",
            "The coverage plan against today's",
            "Who is visited, called or e-mailed, how often and by whom, against today's coverage.",
        )
        legacy = self.f.table("coverage_vs_legacy")
        if legacy is not None:
            hours = _pair_columns(legacy, "hours")
            klass = _first_text_column(legacy)
            if hours and klass:
                long = _long_pair(legacy, klass, hours)
                sec.blocks.append(
                    self.chart(
                        charts.grouped_bar_chart(
                            long,
                            x=klass,
                            group="measure",
                            y="value",
                            x_title=klass.replace("_", " "),
                            y_title="hours a year",
                            y_format=",.0f",
                            sort=self.class_order or None,
                            group_order=["today", "plan"],
                        ),
                        title="Hours by class, today and in the plan",
                    )
                )
            sec.blocks.append(
                self.table(legacy, title="Plan against today", source="coverage_vs_legacy.csv")
            )
        else:
            sec.missing.append("coverage_vs_legacy.csv (today against the plan)")
        if self.has_cols("channel"):
            by = "value_class" if self.has_cols("value_class") else None
            mix = _channel_mix(self.customers, by)
            sec.blocks.append(
                self.chart(
                    charts.grouped_bar_chart(
                        mix,
                        x=by or "all",
                        group="channel",
                        y="share",
                        x_title="class" if by else "",
                        y_title="share of customers",
                        sort=self.class_order if by else None,
                        stacked=True,
                    ),
                    title="Channel mix" + (" by class" if by else ""),
                )
            )
        else:
            sec.missing.append("customers' channel column (the channel mix)")
        seg_cov = self.f.table("segment_coverage")
        if seg_cov is not None:
            sec.blocks.append(
                self.table(
                    seg_cov,
                    title="Call frequency for every segment",
                    limit=max(self.s.table_rows, 40),
                    source="segment_coverage.csv",
                )
            )
        elif self.has_cols("visits_per_year", "calls_per_year"):
            by_cols = [c for c in ("value_class", "tier") if self.has_cols(c)]
            if by_cols:
                freq = _frequency(self.customers, by_cols)
                sec.blocks.append(
                    self.table(freq, title="Contacts a year per customer, by segment")
                )
        else:
            sec.missing.append("segment_coverage.csv (the call frequency per segment)")
        reps = self.f.table("rep_plan")
        if reps is not None and {"hours_used", "capacity_hours"} <= set(reps.column_names):
            rep_col = "rep_id" if "rep_id" in reps.column_names else _first_text_column(reps)
            util = float_array(reps, "hours_used") / float_array(reps, "capacity_hours")
            if rep_col and not np.isfinite(util).any():
                # no rep with a capacity (a run without reps): nothing to draw
                sec.blocks.append(
                    Block(
                        kind="list",
                        title="Reps' utilisation",
                        items=[
                            "No rep has a capacity in this run (no reps file, or no rep "
                            "with hours_per_year): there is no utilisation to draw. The hours "
                            "the plan needs are in the table below, under hours used."
                        ],
                    )
                )
            elif rep_col:
                data = pa.table(
                    {
                        "rep": text_array(reps, rep_col),
                        "utilisation": pa.array(util),
                        "hours_used": reps.column("hours_used"),
                        "capacity_hours": reps.column("capacity_hours"),
                    }
                )
                sec.blocks.append(
                    self.chart(
                        charts.bar_chart(
                            data.slice(0, self.s.max_chart_rows),
                            x="rep",
                            y="utilisation",
                            x_title="rep",
                            y_title="hours used / capacity",
                            y_format=".0%",
                            horizontal=True,
                            extra_tooltip=[
                                ("hours_used", "hours used", ",.0f"),
                                ("capacity_hours", "capacity", ",.0f"),
                            ],
                        ),
                        title="Reps' utilisation",
                    )
                )
            sec.blocks.append(self.table(reps, title="Rep plans", source="rep_plan.csv"))
        elif reps is not None:
            sec.blocks.append(self.table(reps, title="Rep plans", source="rep_plan.csv"))
        else:
            sec.missing.append("rep_plan.csv (reps' utilisation)")
        sizing = self.f.table("sizing")
        if sizing is not None:
            x = _pick(sizing, ("field_reps", "headcount", "n_field_reps", "scenario"))
            y = _pick(sizing, ("expected_contribution", "expected_contribution_plan", "objective"))
            if (
                x
                and y
                and pa.types.is_integer(sizing.schema.field(x).type)
                | pa.types.is_floating(sizing.schema.field(x).type)
            ):
                agg = _sum_by(sizing, x, y)
                sec.blocks.append(
                    self.chart(
                        charts.line_chart(
                            agg,
                            x=x,
                            series=[(y, "expected contribution")],
                            x_title=x.replace("_", " "),
                            y_title=self.money_head("expected contribution"),
                            # head-counts are whole reps; the differences are small
                            x_type="O",
                            y_zero=False,
                        ),
                        title="Sizing: contribution by head-count",
                    )
                )
            sec.blocks.append(self.table(sizing, title="Sizing scenarios", source="sizing.csv"))
        else:
            sec.missing.append("sizing.csv (the field-force sizing curve)")
        if len(sec.missing) >= 4:
            sec.missing = [
                "the coverage stage did not run: " + "; ".join(sec.missing) + " are absent"
            ]
        return sec

    def duplicates(self) -> Section:
        sec = Section(
            "duplicates",
            "Duplicate records merged",
            "Records of the same company entered more than once, merged into one account.",
        )
        acc = self.m.get("accounts") or {}
        mr = self.f.table("merge_report")
        if not acc and mr is None:
            sec.missing.append("no accounts block in manifest.json: the accounts stage did not run")
            return sec
        if isinstance(acc, dict) and "n_records" in acc:
            if acc.get("skipped"):
                sec.missing.append(f"duplicates were not looked for: {acc['skipped']}")
            why = _duplicates_why(acc)
            if why:
                sec.blocks.append(Block(kind="list", items=[why]))
            figs = [
                ("Customer records", fmt_value(acc.get("n_records"), "int")),
                ("Accounts", fmt_value(acc.get("n_accounts"), "int")),
            ]
            if acc.get("outcome") != "not looked for":
                figs += [
                    (
                        "Accounts merged from several records",
                        fmt_value(acc.get("n_merged_accounts"), "int"),
                    ),
                    ("Pairs waiting for review", fmt_value(acc.get("n_review_pairs"), "int")),
                ]
            sec.blocks.append(Block(kind="figures", items=figs))
        elif isinstance(acc, dict) and acc.get("skipped"):
            sec.missing.append(f"duplicates were not looked for: {acc['skipped']}")
        if mr is not None and mr.num_rows:
            mr = mr.rename_columns(
                ["customer_id" if c == "account_id" else c for c in mr.column_names]
            )
            mr = _with_names(mr, self.customers)
            sec.blocks.append(
                self.table(
                    mr,
                    [
                        ("description", "what happened", "text"),
                        ("customer_id", "account", "text"),
                        ("name", "name", "text"),
                        ("member_ids", "records", "text"),
                        ("upgraded", "upgraded", "text"),
                    ],
                    title="Accounts whose class changes when their records are merged",
                    source="merge_report.csv",
                )
            )
        elif mr is not None and not (
            isinstance(acc, dict) and acc.get("outcome") == "not looked for"
        ):
            sec.blocks.append(
                Block(kind="list", items=["No account changes class when its records are merged."])
            )
        return sec

    def crosssell(self) -> Section:
        sec = Section(
            "crosssell",
            "Cross-sell",
            "Next best products per customer and the basket rules behind them.",
        )
        # one row per customer and product: only the columns the chart needs, and the
        # rows the table shows, are read
        names = self.f.columns("cross_sell")
        if not names:
            sec.missing.append(
                "cross_sell.csv is not in the folder: the cross-sell stage did not run"
            )
            return sec
        why = (self.f.manifest.get("crosssell") or {}).get("no_recommendation")
        if why:
            sec.blocks.append(Block(kind="list", title="No recommendation", items=[why]))
        head, total = self.f.head("cross_sell", self.s.table_rows)
        assert head is not None
        if total == 0 and not why:
            items = ["No customer has a recommendation in this run."]
            sec.blocks.append(Block(kind="list", title="No recommendation", items=items))
        item = _first_of(names, ("item", "product_id", "product", "product_category"))
        if item and total:
            aggs: list[tuple[str, str]] = [(item, "count")]
            ev = _first_of(names, ("expected_value",))
            if ev:
                aggs.append((ev, "sum"))
            cs = self.f.table("cross_sell", [item, *([ev] if ev else [])])
            assert cs is not None
            g = cs.group_by(item, use_threads=False).aggregate(aggs)
            names = ["recommendations" if n == f"{item}_count" else n for n in g.column_names]
            names = ["expected_value" if n == f"{ev}_sum" else n for n in names]
            g = g.rename_columns(names)
            g = g.cast(pa.schema([pa.field(item, pa.string()), *list(g.schema)[1:]]))
            g = g.sort_by([("recommendations", "descending"), (item, "ascending")]).slice(0, 25)
            extra = [("expected_value", "expected value", ",.0f")] if ev else []
            sec.blocks.append(
                self.chart(
                    charts.bar_chart(
                        g,
                        x=item,
                        y="recommendations",
                        x_title="product",
                        y_title="customers it is recommended to",
                        horizontal=True,
                        extra_tooltip=extra,
                    ),
                    title="Most recommended products",
                )
            )
        if total:
            shown = _with_names(head, self.customers)
            sec.blocks.append(
                self.table(shown, title="Recommendations", source="cross_sell.csv", total=total)
            )
        rules = self.f.table("basket_rules")
        if rules is not None and rules.num_rows == 0:
            items = ["No basket rule in this run (basket_rules.csv is empty)."]
            sec.blocks.append(Block(kind="list", title="Basket rules", items=items))
        elif rules is not None:
            if "lift" in rules.column_names:
                rules = rules.sort_by([("lift", "descending")])
            sec.blocks.append(self.table(rules, title="Basket rules", source="basket_rules.csv"))
        return sec

    def terms(self) -> Section:
        sec = Section(
            "terms",
            "Trading terms and discount leakage",
            "Terms per tier priced by what they save, and discounts against the class.",
        )
        terms = self.f.table("terms")
        if terms is not None:
            sec.blocks.append(self.table(terms, title="Terms per tier", source="terms.csv"))
        else:
            sec.missing.append("terms.csv (terms per tier)")
        depth_known = "discount_depth" in self.accounts.column_names and bool(
            np.isfinite(float_array(self.accounts, "discount_depth")).any()
        )
        if self.has_cols("discount_depth", "value_class") and depth_known:
            d = _mean_by(self.accounts, "value_class", "discount_depth")
            sec.blocks.append(
                self.chart(
                    charts.bar_chart(
                        d,
                        x="value_class",
                        y="discount_depth",
                        x_title="class",
                        y_title="average discount depth",
                        y_format=".1%",
                        sort=self.class_order,
                        extra_tooltip=[("customers", "customers", ",")],
                    ),
                    title="Discount depth by class",
                    caption="Deep discounts to low classes are leakage; shallow ones to A at risk.",
                )
            )
        elif depth_known:
            sec.missing.append("customers' value_class (discount depth by class)")
        audit = self.f.table("discount_audit")
        if audit is not None and not _audited(audit):
            sec.blocks.append(
                Block(
                    kind="list",
                    title="Discount audit",
                    items=[
                        "No discount was audited: no customer has a discount depth, as the "
                        "transactions carry no list price (list_revenue, the revenue before "
                        "discount). Map list_revenue in [transactions.columns] to audit "
                        "discounts against each class's band."
                    ],
                )
            )
        elif audit is not None:
            sec.blocks.append(
                self.table(audit, title="Discount audit", source="discount_audit.csv")
            )
        else:
            sec.missing.append("discount_audit.csv (discount leakage per customer)")
        if terms is None and audit is None:
            sec.missing = ["the terms stage did not run: " + "; ".join(sec.missing) + " are absent"]
        return sec

    def lifetime(self) -> Section:
        sec = Section(
            "lifetime",
            "Does the lifetime model predict? The holdout check",
            "The model fitted on the calibration period predicts purchases in a holdout "
            "period it has not seen; the lines should stay together after the dashed line.",
        )
        tr = self.f.table("lifetime_tracking")
        need = {"period_start", "actual_cumulative", "predicted_cumulative"}
        if tr is None or not need <= set(tr.column_names):
            sec.missing.append(f"no holdout check: {self._no_holdout()}")
            return sec
        split = None
        if "in_holdout" in tr.column_names:
            hold = tr.filter(pc.fill_null(tr.column("in_holdout"), False))
            if hold.num_rows:
                split = hold.column("period_start")[0].as_py()
        sec.blocks.append(
            self.chart(
                charts.line_chart(
                    tr,
                    x="period_start",
                    series=[
                        ("actual_cumulative", "actual"),
                        ("predicted_cumulative", "predicted"),
                    ],
                    x_title="week",
                    x_type="T",
                    y_title="cumulative purchases",
                    rule_at=split,
                    rule_label="holdout starts",
                ),
                title="Tracking: cumulative purchases, actual and predicted",
            )
        )
        ce = self.f.table("lifetime_conditional_expectation")
        if ce is not None and {"x", "predicted", "actual"} <= set(ce.column_names):
            sec.blocks.append(
                self.chart(
                    charts.line_chart(
                        ce,
                        x="x",
                        series=[("actual", "actual"), ("predicted", "predicted")],
                        x_title="purchases in the calibration period",
                        y_title="purchases in the holdout, per customer",
                        y_format=",.2f",
                    ),
                    title="Conditional expectation",
                )
            )
        hold_block = (self.m.get("lifetime") or {}).get("holdout") or {}
        if isinstance(hold_block, dict):
            figs = []
            for key, label, kind in (
                ("model", "model", "text"),
                ("predicted_total", "predicted purchases", "int"),
                ("actual_total", "actual purchases", "int"),
                ("relative_error", "relative error", "pct"),
                ("auc_p_alive", "AUC of p(alive)", "num"),
            ):
                if key in hold_block:
                    figs.append((label, fmt_value(hold_block[key], kind)))
            if figs:
                sec.blocks.append(Block(kind="figures", items=figs))
        dc = self.f.table("defection_comparison")
        if dc is not None:
            sec.blocks.append(self.table(dc, title="Defection models on the holdout"))
        return sec

    def quality(self) -> Section:
        sec = Section(
            "quality",
            "Data quality and row accounting",
            "Every input row is used or rejected with its reason.",
        )
        inputs = self.m.get("inputs") or {}
        if isinstance(inputs, dict) and inputs:
            names = sorted(inputs)
            t = pa.table(
                {
                    "input": names,
                    "file": [Path(str(inputs[n].get("path", ""))).name for n in names],
                    "rows_read": [inputs[n].get("rows_read") for n in names],
                    "rows_used": [inputs[n].get("rows_used") for n in names],
                    "rows_rejected": [inputs[n].get("rows_rejected") for n in names],
                }
            )
            sec.blocks.append(
                self.table(
                    t,
                    [
                        ("input", "input", "text"),
                        ("file", "file", "text"),
                        ("rows_read", "rows read", "int"),
                        ("rows_used", "used", "int"),
                        ("rows_rejected", "rejected", "int"),
                    ],
                    title="Rows read, used and rejected",
                    limit=50,
                )
            )
        else:
            sec.missing.append("manifest.json has no inputs block")
        rej = self.f.path / "rejects.csv"
        if rej.is_file():
            reasons = _reject_reasons(self.f, self.s.reject_reasons)
            if reasons.num_rows:
                sec.blocks.append(
                    self.chart(
                        charts.bar_chart(
                            reasons.select(["reason", "rows"])
                            .group_by("reason")
                            .aggregate([("rows", "sum")])
                            .rename_columns(["reason", "rows"])
                            .sort_by([("rows", "descending"), ("reason", "ascending")]),
                            x="reason",
                            y="rows",
                            x_title="reason",
                            y_title="rows rejected",
                            horizontal=True,
                        ),
                        title="Commonest reasons rows were rejected",
                    )
                )
                sec.blocks.append(
                    self.table(
                        reasons,
                        [
                            ("table", "input", "text"),
                            ("reason", "reason", "text"),
                            ("rows", "rows", "int"),
                            ("first_row", "first at row", "int"),
                        ],
                        limit=50,
                    )
                )
            else:
                sec.blocks.append(Block(kind="list", items=["No input row was rejected."]))
        else:
            sec.missing.append("rejects.csv is not in the folder")
        # the time each stage took stays in manifest.json: the same run gives the same report
        return sec

    def sections(self) -> list[Section]:
        builders: list[Callable[[], Section | None]] = [
            self.overview,
            self.whale,
            self.matrix,
            self.segments,
            self.profiles,
            self.overrides,
            self.review,
            self.status,
            self.coverage,
            self.duplicates,
            self.crosssell,
            self.terms,
            self.lifetime,
            self.quality,
        ]
        return [sec for b in builders if (sec := b()) is not None]


# -- table helpers (vectorised over customers) --------------------------------------------


def _shares(t: pa.Table, by: str) -> pa.Table:
    """Customers, revenue and profit per value of ``by`` with their shares of the total."""
    key = text_array(t, by)
    parts = {
        by: pc.fill_null(key, "(none)"),
        "revenue": pa.array(np.nan_to_num(float_array(t, "revenue_12m"))),
        "profit": pa.array(np.nan_to_num(float_array(t, "net_profit"))),
    }
    g = (
        pa.table(parts)
        .group_by(by, use_threads=False)
        .aggregate([(by, "count"), ("revenue", "sum"), ("profit", "sum")])
    )
    g = g.rename_columns(
        [
            {f"{by}_count": "customers", "revenue_sum": "revenue", "profit_sum": "profit"}.get(n, n)
            for n in g.column_names
        ]
    )
    n = max(int(pc.sum(g.column("customers")).as_py() or 0), 1)
    rev = float(pc.sum(g.column("revenue")).as_py() or 0.0)
    prof = float(pc.sum(g.column("profit")).as_py() or 0.0)
    g = g.append_column(
        "share_customers", pc.divide(pc.cast(g.column("customers"), pa.float64()), n)
    )
    g = g.append_column(
        "share_revenue",
        pc.divide(g.column("revenue"), rev) if rev else pa.nulls(g.num_rows, pa.float64()),
    )
    g = g.append_column(
        "share_profit",
        pc.divide(g.column("profit"), prof) if prof else pa.nulls(g.num_rows, pa.float64()),
    )
    return g.sort_by([(by, "ascending")])


def _long_shares(summary: pa.Table, by: str) -> pa.Table:
    n = summary.num_rows
    measures = ["customers", "revenue", "profit"]
    return pa.table(
        {
            by: pa.concat_arrays([summary.column(by).combine_chunks()] * 3),
            "measure": pa.array(np.repeat(np.asarray(measures, dtype=object), n), pa.string()),
            "share": pa.concat_arrays(
                [summary.column(f"share_{m}").combine_chunks().cast(pa.float64()) for m in measures]
            ),
        }
    )


def _pair_columns(t: pa.Table, word: str) -> tuple[str, str] | None:
    """The (today, plan) pair of numeric columns about ``word`` (e.g. hours_legacy, hours_plan)."""
    names = [n for n in t.column_names if word in n and _is_number(t, n)]
    before = [n for n in names if "legacy" in n or "today" in n or "current" in n]
    after = [n for n in names if "plan" in n]
    if before and after:
        return before[0], after[0]
    return None


def _long_pair(t: pa.Table, by: str, pair: tuple[str, str]) -> pa.Table:
    n = t.num_rows
    return pa.table(
        {
            by: pa.concat_arrays([text_array(t, by)] * 2),
            "measure": pa.array(
                np.repeat(np.asarray(["today", "plan"], dtype=object), n), pa.string()
            ),
            "value": pa.concat_arrays(
                [pc.cast(t.column(c), pa.float64()).combine_chunks() for c in pair]
            ),
        }
    )


def _is_number(t: pa.Table, name: str) -> bool:
    ty = t.schema.field(name).type
    return bool(pa.types.is_integer(ty) or pa.types.is_floating(ty))


def _first_text_column(t: pa.Table) -> str | None:
    for f in t.schema:
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            return str(f.name)
    return None


def _pick(t: pa.Table, names: Sequence[str]) -> str | None:
    return _first_of(t.column_names, names)


def _first_of(have: Sequence[str], names: Sequence[str]) -> str | None:
    """The first of ``names`` among the column names ``have``."""
    return next((n for n in names if n in have), None)


def _channel_mix(t: pa.Table, by: str | None) -> pa.Table:
    key = pc.fill_null(text_array(t, by), "(none)") if by else pa.repeat("all", t.num_rows)
    name = by or "all"
    ch = pc.fill_null(text_array(t, "channel"), "(none)")
    g = (
        pa.table({name: key, "channel": ch})
        .group_by([name, "channel"], use_threads=False)
        .aggregate([("channel", "count")])
    )
    totals = pa.table({name: key}).group_by(name, use_threads=False).aggregate([(name, "count")])
    g = g.join(totals, name)
    share = pc.divide(
        pc.cast(g.column("channel_count"), pa.float64()),
        pc.cast(g.column(f"{name}_count"), pa.float64()),
    )
    out = pa.table({name: g.column(name), "channel": g.column("channel"), "share": share})
    return out.sort_by([(name, "ascending"), ("channel", "ascending")])


def _frequency(t: pa.Table, by: list[str]) -> pa.Table:
    cols: dict[str, Any] = {b: pc.fill_null(text_array(t, b), "(none)") for b in by}
    aggs: list[tuple[str, str]] = [(by[0], "count")]
    for c in ("visits_per_year", "calls_per_year", "emails_per_year"):
        if c in t.column_names:
            cols[c] = pa.array(np.nan_to_num(float_array(t, c)))
            aggs.append((c, "mean"))
    g = pa.table(cols).group_by(by, use_threads=False).aggregate(aggs)
    g = g.rename_columns(
        ["customers" if n == f"{by[0]}_count" else n.replace("_mean", "") for n in g.column_names]
    )
    return g.sort_by([(b, "ascending") for b in by])


def _audited(audit: pa.Table) -> bool:
    """Whether a discount audit compared any customer's discount depth with a band (its
    rows, else: a table whose every row says "no discount data" audited nothing)."""
    if audit.num_rows == 0:
        return False
    if "discount_depth" in audit.column_names:
        return bool(np.isfinite(float_array(audit, "discount_depth")).any())
    if "discount_flag" in audit.column_names:
        flags = audit.column("discount_flag").to_pylist()
        return any(f not in (None, "no discount data") for f in flags)
    return True


def _mean_by(t: pa.Table, by: str, col: str) -> pa.Table:
    key = pc.fill_null(text_array(t, by), "(none)")
    g = (
        pa.table({by: key, col: pa.array(float_array(t, col))})
        .group_by(by, use_threads=False)
        .aggregate([(col, "mean"), (by, "count")])
    )
    g = g.rename_columns(
        [{f"{col}_mean": col, f"{by}_count": "customers"}.get(n, n) for n in g.column_names]
    )
    return g.sort_by([(by, "ascending")])


def _sum_by(t: pa.Table, by: str, col: str) -> pa.Table:
    g = t.group_by(by, use_threads=False).aggregate([(col, "sum")])
    return g.rename_columns([by, col]).sort_by([(by, "ascending")])


def _duplicates_why(acc: Mapping[str, Any]) -> str:
    """Why the manifest's accounts block merged no record, in a sales manager's words:
    duplicates were not looked for (and why), or the master has names only and its
    same-name pairs wait for review; empty when neither."""
    if acc.get("outcome") == "not looked for":
        why = acc.get("not_checked_reason") or "the reason is not in manifest.json"
        return f"Duplicates were not looked for: {why}."
    if acc.get("names_only") and acc.get("method") == "rules only":
        k = int(acc.get("n_review_pairs") or 0)
        waiting = (
            f"{k:,} same-name pair{'s' if k != 1 else ''} wait{'s' if k == 1 else ''} for "
            f"review in review_queue.csv: confirm or reject {'it' if k == 1 else 'them'} there "
            "and give the file in [accounts] decisions_file"
            if k
            else "no two records share a name"
        )
        return (
            "No record is merged automatically: the customer master has names only (no "
            "street address, postcode, phone or tax id), and a name alone cannot tell a "
            f"company entered twice from a namesake; {waiting}. Map address, postcode, phone "
            "or tax_id in [customers.columns] to find duplicates."
        )
    return ""


def _with_names(t: pa.Table, customers: pa.Table) -> pa.Table:
    """``t`` with each customer's name beside its customer_id (when both are known)."""
    if "customer_id" not in t.column_names or "name" not in customers.column_names:
        return t
    if "name" in t.column_names:
        return t
    names = customers.select(["customer_id", "name"])
    idx = pc.index_in(
        t.column("customer_id"), value_set=names.column("customer_id").combine_chunks()
    )
    name = names.column("name").combine_chunks().take(idx)
    pos = t.column_names.index("customer_id") + 1
    return t.add_column(pos, "name", name)


def _reject_reasons(folder: RunFolder, n: int) -> pa.Table:
    """The commonest reasons per input table (rejects.csv, in the run's CSV locale):
    table, reason, rows, first row."""
    t = folder.read_csv(
        "rejects.csv",
        ["table", "reason", "row"],
        {"table": pa.string(), "reason": pa.string(), "row": pa.int64()},
    )
    if t.num_rows == 0:
        return pa.table({"table": [], "reason": [], "rows": [], "first_row": []})
    g = t.group_by(["table", "reason"], use_threads=False).aggregate(
        [("row", "count"), ("row", "min")]
    )
    g = g.rename_columns(["table", "reason", "rows", "first_row"])
    g = g.sort_by([("table", "ascending"), ("rows", "descending"), ("reason", "ascending")])
    rank = _rank_within(g.column("table").combine_chunks())
    return g.filter(pc.less(pa.array(rank), n))


def _rank_within(keys: pa.Array) -> np.ndarray:
    """0, 1, 2, … within each run of equal keys of a sorted array."""
    k = np.asarray(keys.to_numpy(zero_copy_only=False), dtype=object)
    n = k.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, k[1:] != k[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    return np.arange(n) - first


# -- rendering -------------------------------------------------------------------------------


#: A JSON escape (as :func:`json.dumps` writes them) of a control character the CSV files
#: show as U+FFFD (:func:`~tierwise.io.outputs.visible_control_text`: the C0 controls but
#: tab, line feed and carriage return), or an escaped backslash, matched first so that the
#: text after it is never taken for an escape.
_ESCAPED_CONTROL = re.compile(r"(\\\\)|\\(?:[bf]|u00(?:0[0-8bcef]|1[0-9a-f]))")


def _json_for_script(data: Any) -> Markup:
    r"""JSON safe inside a ``<script type="application/json">`` element, its text's control
    characters as U+FFFD (as the page's own text shows them: :func:`without_controls`).

    Example
    -------
    >>> print(_json_for_script({"name": "<b>Acme\x07\\b\x0c"}))
    {"name":"\u003cb\u003eAcme\ufffd\\b\ufffd"}
    """
    text = json.dumps(data, separators=(",", ":"), sort_keys=True, allow_nan=False)
    text = _ESCAPED_CONTROL.sub(lambda m: m.group(1) or "\\ufffd", text)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


@cache
def _asset(name: str) -> str:
    return (resources.files("tierwise.report") / name).read_text(encoding="utf-8")


def vendor_script(name: str) -> str:
    """A vendored JavaScript bundle (``vega``, ``vega-lite``, ``vega-embed``) as text."""
    return _asset(f"vendor/{name}.min.js")


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("tierwise.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def without_controls(html: str) -> str:
    r"""A page's text with each control character as U+FFFD, as the CSV files show input
    text (:func:`~tierwise.io.outputs.visible_control_text`: the C0 controls but tab, line
    feed and carriage return, and DEL); a browser shows a NUL so too. Input text may carry
    them; the page's own text and scripts do not. No customer id holds one (they are
    refused as ids), so the ids the pages' forms carry are never changed.

    Example
    -------
    >>> without_controls("<td>Acme\x00Ltd\x07\x0c</td>\n") == "<td>Acme\ufffdLtd\ufffd\ufffd</td>\n"
    True
    """
    return visible_control_text(html)


def render_report(out_dir: str | Path, settings: ReportSettings | None = None) -> str:
    """The report of an output folder as HTML text (see :func:`build_report`).

    Example
    -------
    >>> import tempfile
    >>> html = render_report(tempfile.mkdtemp())
    >>> "customers.parquet / customers.csv is not in the folder" in html
    True
    """
    folder = RunFolder(out_dir)
    s = settings or _settings_from_manifest(folder.manifest)
    # the data transformer keeps Vega-Altair's row limit in force (charts bin, not lift it)
    alt.data_transformers.enable("default")
    report = _Report(folder, s)
    sections = report.sections()
    m = folder.manifest
    title = "tierwise report"
    return without_controls(
        _env()
        .get_template("report.html")
        .render(
            title=title,
            as_of=str(m.get("as_of", "")),
            version=str(m.get("version", __version__)),
            seed=m.get("seed", ""),
            sections=sections,
            css=Markup(_asset("templates/report.css")),
            scripts=[Markup(vendor_script(n)) for n in ("vega", "vega-lite", "vega-embed")],
            boot=Markup(_asset("templates/report_boot.js")),
            wide_columns=WIDE_TABLE_COLUMNS,
        )
    )


def _settings_from_manifest(manifest: dict[str, Any]) -> ReportSettings:
    block = (manifest.get("settings") or {}).get("report")
    if isinstance(block, dict):
        return ReportSettings.model_validate(block)
    return ReportSettings()


def build_report(
    out_dir: str | Path,
    settings: ReportSettings | None = None,
    *,
    target: str | Path | None = None,
) -> Path:
    """Write report.html for an output folder and return its path.

    Reads the tables and manifest.json a run left in ``out_dir``; sections whose tables are
    absent say so. The file is written to a temporary name and renamed into place.

    Parameters
    ----------
    out_dir
        An output folder of ``tierwise run``.
    settings
        The ``[report]`` section; by default the one recorded in the folder's manifest, else
        the defaults.
    target
        Where to write; default ``out_dir / "report.html"``.

    Example
    -------
    >>> import tempfile
    >>> build_report(tempfile.mkdtemp()).name
    'report.html'
    """
    html = render_report(out_dir, settings)
    path = Path(target) if target is not None else Path(out_dir) / "report.html"
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(html)
        follow_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # rebuilt in an output folder: the next run there takes it for tierwise's, not an edit
    record_rewrite(path.parent, path.name)
    return path
