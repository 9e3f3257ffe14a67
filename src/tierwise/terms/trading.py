r"""Trading terms per tier, each rule priced by the cost it removes and the cost it adds.

A customer's terms are those named by its ``tier`` (``default_terms`` otherwise). Each rule
is priced on the profit period's figures of the profitability stage (``n_small_orders``,
``cts_orders``, ``n_deliveries``, ``cts_deliveries``, ``cts_small_orders``,
``avg_days_late``, ``cts_late_payment``, revenue), per customer, then summed per terms:

**Minimum order value** :math:`M`. Orders below :math:`M` in the period: :math:`n_<` (counted
in the transactions when they are given, else the profitability stage's small orders).
Orders avoided :math:`a = c_{\text{mo}} n_<` (``min_order_compliance``). Each avoided order
saves its handling (``cts_orders`` per order), its delivery (``cts_deliveries`` per
delivery × deliveries per order, at most 1) and its share of the small-order surcharge
(``cts_small_orders`` × :math:`\min(1, n_< / n_{\text{small}})` × :math:`c_{\text{mo}}`).

**Delivery frequency** :math:`F` per month. Deliveries left after the consolidation above,
:math:`d' = d - a \cdot \text{deliveries per order}`; pooled
:math:`c_{\text{del}} \max(0, d' - 12 F)` a year; each saves
``cts_deliveries`` per delivery.

**Payment days** :math:`P`, for the revenue not paid promptly (share :math:`1 - u`):
financing saved :math:`(1-u)(P_0 - P) R\, k / 365` with today's terms :math:`P_0`
(``payment_terms_days``), revenue :math:`R` and cost of capital :math:`k` (negative when the
tier's days are longer: a cost), plus :math:`(1-u)\,r_{\text{late}}` of the late-payment
cost (``late_payment_reduction``).

**Prompt-payment rebate** :math:`q` within :math:`D` days, taken on a share :math:`u`
(``prompt_payment_uptake``) of the revenue: cost :math:`u q R`; saves the financing of
:math:`P_0 + \text{days late} - D` days on that revenue and its late-payment cost.

**Rebate ladder** (steps :math:`s_i`, rates :math:`r_i`, paid on the volume between a step
and the next): volume :math:`V = R + g` with growth :math:`g` = ``ladder_headroom_capture``
× headroom; cost :math:`\sum_i r_i \,\text{clip}(V - s_i, 0, s_{i+1} - s_i)`; gain
:math:`g` × the customer's gross margin rate.

A rule *pays for itself* when cost saved + margin gained ≥ cost paid; ``terms.csv`` says so
per rule and for each terms' rules together. All figures are per year: the profit period's
counts and costs are scaled by 12 / ``period_months``.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import exact_sum, fetch
from ..settings.terms import TermsSettings
from ..validate import count_text
from ._common import TermsResult, has_values, margin_rates, num, text, without_prospects

__all__ = ["TERMS_COLUMNS", "ladder_rebate", "orders_below", "trading_terms"]

#: Columns of terms.csv, in order.
TERMS_COLUMNS = (
    "terms",
    "rule",
    "setting",
    "customers",
    "quantity",
    "unit",
    "cost_saved",
    "margin_gained",
    "cost_paid",
    "net",
    "pays_for_itself",
    "basis",
)

_RULES = (
    "minimum order",
    "delivery frequency",
    "payment days",
    "prompt-payment rebate",
    "rebate ladder",
)


def ladder_rebate(volume: np.ndarray, steps: list[list[float]]) -> np.ndarray:
    """Incremental rebate: each step's rate on the volume between it and the next step.

    Examples
    --------
    >>> ladder_rebate(np.array([40_000.0, 100_000.0, 200_000.0]),
    ...     [[50_000, 0.01], [150_000, 0.02]]).tolist()
    [0.0, 500.0, 2000.0]
    """
    v = np.asarray(volume, dtype=np.float64)
    out = np.zeros_like(v)
    for i, (step, rate) in enumerate(steps):
        top = steps[i + 1][0] if i + 1 < len(steps) else np.inf
        out += rate * np.clip(v - step, 0.0, top - step)
    return out


def orders_below(
    tx: ir.Table,
    minimum: pa.Table,
    *,
    start: _dt.date | None,
    end: _dt.date,
) -> pa.Table:
    """Per customer, its orders in (start, end] whose sale value is below its minimum.

    ``minimum`` has customer_id and min_order_value. Returns customer_id, n_below,
    revenue_below (in the engine; customer-sized result).
    """
    revenue = tx.revenue.cast("float64")
    is_return = tx.is_return.fill_null(False) if "is_return" in tx.columns else revenue < 0
    is_cancel = tx.is_cancel.fill_null(False) if "is_cancel" in tx.columns else ibis.literal(False)
    date = tx.date.cast("date")
    inside = date <= ibis.literal(end)
    if start is not None:
        inside = inside & (date > ibis.literal(start))
    order_id = tx.order_id.cast("string") if "order_id" in tx.columns else ibis.null("string")
    lines = tx.filter(inside & ~is_return & ~is_cancel).select(
        customer_id=tx.customer_id.cast("string"),
        order=order_id.fill_null(date.cast("string")),
        revenue=revenue,
    )
    orders = lines.group_by(["customer_id", "order"]).aggregate(value=exact_sum(lines.revenue))
    m = orders.join(ibis.memtable(minimum), "customer_id")
    below = m.value < m.min_order_value
    agg = m.group_by("customer_id").aggregate(
        n_below=below.cast("int64").sum(),
        revenue_below=exact_sum(ibis.ifelse(below, m.value, 0.0)),
    )
    return fetch(agg.order_by("customer_id"), "the orders below the minimum order value")


def _terms_of(customers: pa.Table, s: TermsSettings, warnings: list[str]) -> np.ndarray:
    names = set(s.terms_names())
    tier = text(customers, "tier")
    if tier is None or not has_values(customers, "tier"):
        warnings.append(
            f"no tier column (segments stage not run), so every customer is priced on "
            f"the {s.default_terms!r} terms; [terms] default_terms sets them"
        )
        return np.full(customers.num_rows, s.default_terms, dtype=object)
    known = np.array([t in names for t in tier], dtype=bool)
    unknown = sorted({str(t) for t in tier[~known] if t is not None})
    if unknown:
        warnings.append(
            f"tiers {', '.join(unknown)} have no terms of their own and get the "
            f"{s.default_terms!r} terms; name them in the [terms] tables"
        )
    return np.where(known, tier, s.default_terms).astype(object)


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(b > 0, a / np.where(b > 0, b, 1.0), 0.0)


def trading_terms(
    customers: pa.Table,
    settings: TermsSettings | None = None,
    *,
    cost_of_capital: float = 0.08,
    period_months: int = 12,
    tx: ir.Table | None = None,
    as_of: _dt.date | None = None,
) -> TermsResult:
    """Price each tier's trading terms by the costs they remove and add.

    Parameters
    ----------
    customers
        The customer table: customer_id, tier, revenue_12m,
        payment_terms_days, headroom, and the profitability figures n_small_orders,
        cts_small_orders, n_orders_pnl, cts_orders, n_deliveries, cts_deliveries,
        avg_days_late, cts_late_payment, with gross margin for the margin rate. Prospects
        (``is_prospect``) are left out.
    settings
        The ``[terms]`` section.
    cost_of_capital
        Yearly cost of financing receivables (the ``[profitability]`` cost_of_capital);
        fraction.
    period_months
        Length of the profit period the figures cover (``[profitability]``
        period_months); months.
    tx, as_of
        The transactions and analysis date: orders below each tier's minimum are then
        counted exactly; without them the profitability stage's small orders stand in.

    Returns
    -------
    TermsResult
        ``tables["terms"]`` (columns :data:`TERMS_COLUMNS`; one row per terms and rule and
        one "all rules" row per terms), ``customers`` (trading_terms: the terms name
        applied; terms_net_value: the net yearly effect of its terms, currency units).

    Examples
    --------
    >>> c = pa.table({"customer_id": ["a"], "tier": ["bronze"], "revenue_12m": [10_000.0],
    ...     "n_orders_pnl": [40], "cts_orders": [800.0], "n_small_orders": [20],
    ...     "cts_small_orders": [500.0], "n_deliveries": [40], "cts_deliveries": [1600.0],
    ...     "payment_terms_days": [14.0], "cts_late_payment": [0.0]})
    >>> t = trading_terms(c).tables["terms"].to_pandas().set_index("rule")
    >>> # 70% of 20 small orders avoided: 14 × (20 handling + 40 delivery) + 70% of 500
    >>> float(t.loc["minimum order", "cost_saved"])
    1190.0
    >>> # 40 - 14 = 26 deliveries left, 24 allowed, 80% of 2 pooled at 40
    >>> float(t.loc["delivery frequency", "cost_saved"])
    64.0
    """
    s = settings or TermsSettings()
    warnings: list[str] = []
    customers = without_prospects(customers)
    n = customers.num_rows
    ids = customers.column("customer_id").cast(pa.string())
    terms = _terms_of(customers, s, warnings)
    years = period_months / 12.0 if period_months > 0 else 1.0

    def tier_value(table: dict[str, float], fill: float) -> np.ndarray:
        default = table.get(s.default_terms, fill)
        return np.array([table.get(t, default) for t in terms], dtype=np.float64)

    min_order = tier_value(s.min_order_value, 0.0)
    max_del = tier_value(s.max_deliveries_per_month, 0.0)
    pay_days = tier_value(s.payment_days, np.nan)
    prompt = tier_value(s.prompt_payment_rebate, 0.0)

    # every count and cost of the profit period, per year
    per_year = 1.0 / years

    def yearly(*names: str) -> np.ndarray:
        return np.nan_to_num(num(customers, *names)) * per_year

    # revenue over the last 12 months: a year already
    revenue = np.maximum(np.nan_to_num(num(customers, "revenue_12m")), 0.0)
    n_orders = yearly("n_orders_pnl")
    cts_orders = yearly("cts_orders")
    n_small = yearly("n_small_orders")
    cts_small = yearly("cts_small_orders")
    n_del = yearly("n_deliveries")
    cts_del = yearly("cts_deliveries")
    days_late = np.nan_to_num(num(customers, "avg_days_late"))
    cts_late = yearly("cts_late_payment")
    headroom = np.maximum(np.nan_to_num(num(customers, "headroom")), 0.0)
    current_days = num(customers, "payment_terms_days")
    if np.isnan(current_days).any():
        warnings.append(
            f"{count_text(int(np.isnan(current_days).sum()), 'customer')} without "
            f"payment_terms_days: their payment terms are taken as {s.default_payment_days:g} days "
            "([terms] default_payment_days)"
        )
    current_days = np.where(np.isnan(current_days), s.default_payment_days, current_days)
    pay_days = np.where(np.isnan(pay_days), current_days, pay_days)
    rate, overall = margin_rates(customers)
    rate = np.where(np.isnan(rate), overall, rate)

    # -- minimum order
    if tx is not None and as_of is not None:
        from ..features.cost_to_serve import period_for

        period = period_for(as_of, period_months)
        below = orders_below(
            tx,
            pa.table({"customer_id": ids, "min_order_value": pa.array(min_order)}),
            start=period.start,
            end=period.end,
        )
        idx = pc.index_in(ids, value_set=below.column("customer_id"))
        got = below.column("n_below").take(idx.fill_null(0)) if below.num_rows else None
        n_below = (
            np.where(
                np.asarray(idx.is_valid().to_numpy(zero_copy_only=False), bool),
                np.asarray(got.to_numpy(zero_copy_only=False), np.float64),
                0.0,
            )
            if got is not None
            else np.zeros(n)
        )
        below_basis = "orders below the minimum in the transactions"
    else:
        n_below = np.where(min_order > 0, n_small, 0.0)
        below_basis = "the profitability stage's small orders"
        if (min_order > 0).any():
            warnings.append(
                "orders below each tier's minimum are taken as the profitability "
                "stage's small orders (below [profitability] drop_size_threshold); pass the "
                "transactions to count them at each minimum"
            )
    per_order = _safe_div(cts_orders, n_orders)
    per_delivery = _safe_div(cts_del, n_del)
    del_per_order = np.minimum(_safe_div(n_del, n_orders), 1.0)
    avoided = s.min_order_compliance * n_below
    surcharge = s.min_order_compliance * cts_small * np.minimum(_safe_div(n_below, n_small), 1.0)
    mo_saved = avoided * (per_order + del_per_order * per_delivery) + surcharge

    # -- delivery frequency
    left = np.maximum(n_del - avoided * del_per_order, 0.0)
    cap = max_del * 12.0
    pooled = np.where(max_del > 0, s.delivery_compliance * np.maximum(left - cap, 0.0), 0.0)
    del_saved = pooled * per_delivery

    # -- payment days and prompt payment
    uptake = np.where(prompt > 0, s.prompt_payment_uptake, 0.0)
    per_day = revenue * cost_of_capital / 365.0
    term_change = (1.0 - uptake) * (current_days - pay_days) * per_day
    late_enforced = (1.0 - uptake) * s.late_payment_reduction * cts_late
    pd_saved = np.maximum(term_change, 0.0) + late_enforced
    pd_paid = np.maximum(-term_change, 0.0)
    prompt_days_saved = np.maximum(current_days + days_late - s.prompt_payment_days, 0.0)
    pp_saved = uptake * (prompt_days_saved * per_day + cts_late)
    pp_paid = uptake * prompt * revenue

    # -- rebate ladder
    growth = s.ladder_headroom_capture * headroom
    has_ladder = np.array([bool(s.rebate_ladder.get(t, [])) for t in terms])
    growth = np.where(has_ladder, growth, 0.0)
    ladder_paid = np.zeros(n)
    for name in set(terms.tolist()):
        at = terms == name
        steps = s.rebate_ladder.get(name, s.rebate_ladder.get(s.default_terms, []))
        if steps:
            ladder_paid[at] = ladder_rebate(revenue[at] + growth[at], steps)
    ladder_gain = growth * rate
    warnings += _amount_defaults(s, terms, customers, revenue + growth, has_ladder)

    per_rule: dict[str, dict[str, np.ndarray]] = {
        "minimum order": {
            "quantity": avoided,
            "saved": mo_saved,
            "gained": np.zeros(n),
            "paid": np.zeros(n),
        },
        "delivery frequency": {
            "quantity": pooled,
            "saved": del_saved,
            "gained": np.zeros(n),
            "paid": np.zeros(n),
        },
        "payment days": {
            "quantity": (1.0 - uptake) * (current_days - pay_days) * revenue,
            "saved": pd_saved,
            "gained": np.zeros(n),
            "paid": pd_paid,
        },
        "prompt-payment rebate": {
            "quantity": uptake * revenue,
            "saved": pp_saved,
            "gained": np.zeros(n),
            "paid": pp_paid,
        },
        "rebate ladder": {
            "quantity": growth,
            "saved": np.zeros(n),
            "gained": ladder_gain,
            "paid": ladder_paid,
        },
    }
    net_customer = np.zeros(n)
    for fig in per_rule.values():
        net_customer += fig["saved"] + fig["gained"] - fig["paid"]

    rows = []
    for name in sorted(set(terms.tolist())):
        at = terms == name
        tot = {"saved": 0.0, "gained": 0.0, "paid": 0.0}
        for rule in _RULES:
            fig = per_rule[rule]
            saved = float(fig["saved"][at].sum())
            gained = float(fig["gained"][at].sum())
            paid = float(fig["paid"][at].sum())
            qty = float(fig["quantity"][at].sum())
            setting, unit, basis = _describe(rule, name, s, below_basis, cost_of_capital)
            if rule == "payment days":
                revenue_at = float(revenue[at].sum())
                qty = qty / revenue_at if revenue_at > 0 else 0.0
            tot["saved"] += saved
            tot["gained"] += gained
            tot["paid"] += paid
            rows.append(
                {
                    "terms": name,
                    "rule": rule,
                    "setting": setting,
                    "customers": int(at.sum()),
                    "quantity": qty,
                    "unit": unit,
                    "cost_saved": saved,
                    "margin_gained": gained,
                    "cost_paid": paid,
                    "net": saved + gained - paid,
                    "pays_for_itself": saved + gained >= paid,
                    "basis": basis,
                }
            )
        net = tot["saved"] + tot["gained"] - tot["paid"]
        rows.append(
            {
                "terms": name,
                "rule": "all rules",
                "setting": None,
                "customers": int(at.sum()),
                "quantity": float("nan"),
                "unit": None,
                "cost_saved": tot["saved"],
                "margin_gained": tot["gained"],
                "cost_paid": tot["paid"],
                "net": net,
                "pays_for_itself": net >= 0,
                "basis": "the terms pay for themselves"
                if net >= 0
                else "the terms cost more than they save",
            }
        )
    table = pa.Table.from_pandas(
        pd.DataFrame(rows, columns=list(TERMS_COLUMNS)), preserve_index=False
    )
    manifest: dict[str, Any] = {
        "method": "each rule priced by the cost-to-serve it removes (profit-period figures)",
        "orders_below_minimum_from": below_basis,
        "cost_of_capital": cost_of_capital,
        "period_months": period_months,
        "net_by_terms": {r["terms"]: r["net"] for r in rows if r["rule"] == "all rules"},
        "amount_defaults": [
            f for f in ("min_order_value", "rebate_ladder") if f not in s.model_fields_set
        ],
    }
    return TermsResult(
        customers=pa.table(
            {
                "customer_id": ids,
                "trading_terms": pa.array(terms, pa.string()),
                "terms_net_value": pa.array(net_customer, pa.float64()),
            }
        ),
        tables={"terms": table},
        manifest=manifest,
        warnings=warnings,
    )


def _amount_defaults(
    s: TermsSettings,
    terms: np.ndarray,
    customers: pa.Table,
    volume: np.ndarray,
    has_ladder: np.ndarray,
) -> list[str]:
    """Warnings for the amounts in currency units left at their built-in values.

    ``min_order_value`` and ``rebate_ladder`` are sized for a currency like the euro; in
    another currency they mean nothing. Each warning names the setting and, where the data
    show the amounts out of scale (the median order over 20 times the largest minimum or
    under a fifth of the smallest; half or more of the customers with a ladder past its top
    step), says so with the data's figures.
    """
    out: list[str] = []
    rev = num(customers, "revenue_12m")
    orders = num(customers, "n_orders_pnl")
    ok = (orders > 0) & (rev > 0)
    order = float(np.median(rev[ok] / orders[ok])) if ok.any() else None
    if "min_order_value" not in s.model_fields_set:
        named = set(terms.tolist())
        used = {t: v for t, v in s.min_order_value.items() if t in named}
        shown = ", ".join(f"{t} {v:,.0f}" for t, v in used.items() if v > 0)
        positive = [v for v in used.values() if v > 0]
        if shown:
            scale = ""
            if order is not None and positive:
                if order > 20.0 * max(positive):
                    scale = (
                        f"; the data's median order is {order:,.0f}, so hardly any order "
                        "falls below them and they look sized for another currency"
                    )
                elif order < 0.2 * min(positive):
                    scale = (
                        f"; the data's median order is {order:,.0f}, so nearly every order "
                        "falls below them and they look sized for another currency"
                    )
            out.append(
                f"minimum order values are the built-in {shown} (currency units per order, "
                f"sized for a currency like the euro){scale}; set [terms] min_order_value in "
                "the data's currency"
            )
    if "rebate_ladder" not in s.model_fields_set and has_ladder.any():
        parts = []
        for name in sorted(set(terms[has_ladder].tolist())):
            steps = s.rebate_ladder.get(name, s.rebate_ladder.get(s.default_terms, []))
            at = terms == name
            top = steps[-1][0]
            past = int((volume[at] > top).sum())
            parts.append((name, steps[0][0], top, past, int(at.sum())))
        shown = ", ".join(f"{n} from {lo:,.0f}" for n, lo, _, _, _ in parts)
        crowded = [p for p in parts if p[4] and p[3] >= 0.5 * p[4]]
        scale = (
            "; "
            + ", ".join(
                f"{past} of {k} {n} customers buy above its top step {top:,.0f}"
                for n, _, top, past, k in crowded
            )
            + ", so the ladder pays its top rate on nearly all their revenue and looks sized "
            "for another currency"
            if crowded
            else ""
        )
        out.append(
            f"rebate ladders are the built-in steps ({shown}; currency units a year, sized "
            f"for a currency like the euro){scale}; set [terms] rebate_ladder in the data's "
            "currency"
        )
    return out


def _describe(
    rule: str, name: str, s: TermsSettings, below_basis: str, coc: float
) -> tuple[str, str, str]:
    """The rule's setting in words, the unit of its quantity and the basis of its pricing."""

    def get(table: dict[str, Any], fill: Any) -> Any:
        return table.get(name, table.get(s.default_terms, fill))

    if rule == "minimum order":
        m = get(s.min_order_value, 0.0)
        return (
            f"minimum order {m:g}" if m > 0 else "no minimum",
            "orders avoided a year",
            f"{s.min_order_compliance:.0%} of {below_basis} consolidated; each saves its "
            "handling, delivery and small-order surcharge",
        )
    if rule == "delivery frequency":
        f = get(s.max_deliveries_per_month, 0.0)
        return (
            f"at most {f:g} deliveries a month" if f > 0 else "no limit",
            "deliveries pooled a year",
            f"{s.delivery_compliance:.0%} of the deliveries above the limit pooled, each at "
            "the customer's cost per delivery",
        )
    if rule == "payment days":
        d = get(s.payment_days, None)
        return (
            f"{d:g} days" if d is not None else "today's terms",
            "days paid sooner (revenue-weighted; negative: later)",
            f"financing at {coc:.0%} a year on the days changed; "
            f"{s.late_payment_reduction:.0%} of the late-payment cost removed",
        )
    if rule == "prompt-payment rebate":
        q = get(s.prompt_payment_rebate, 0.0)
        return (
            f"{q:.1%} within {s.prompt_payment_days:g} days" if q > 0 else "none",
            "revenue paid promptly",
            f"{s.prompt_payment_uptake:.0%} of revenue paid within the days; saves its "
            "financing and late-payment cost",
        )
    steps = get(s.rebate_ladder, [])
    text_steps = ", ".join(f"{r:.1%} above {v:,.0f}" for v, r in steps) or "none"
    return (
        text_steps,
        "revenue gained",
        f"{s.ladder_headroom_capture:.0%} of headroom won at the customer's margin rate; "
        "rebate paid on the volume above each step",
    )
