r"""The discount audit: discount depth against the value class, and the margin of a policy.

**The price waterfall** (Marn & Rosiello, "Managing price, gaining profit", HBR 1992), per
customer over the profit period: list revenue :math:`L` (before discount) → invoice revenue
:math:`I` (after on-invoice discounts; depth :math:`\delta = 1 - I/L`) → pocket revenue
:math:`P = I - \text{rebates} - \text{financing of late payment} - \text{deliveries}` (the
off-invoice items the profitability stage measures). The summary per class gives the
pocket index :math:`\sum P / \sum L`.

**The policy** is a band :math:`[\delta_{lo}, \delta_{hi}]` per class. By default it comes
from the waterfall itself: the ``discount_band_percentiles`` (10th and 90th) of the class's
discount depth weighted by list revenue, the weighted percentile :math:`q` being the
smallest depth :math:`d` with :math:`\sum_{\delta_i \le d} L_i \ge q \sum L_i` over the
class's customers with a depth (at least ``discount_band_min_customers`` of them). A class
named in ``discount_bands`` takes that band instead. A customer above its band leaks
margin (the classic case: deep discounts to C and D); one below the band and at risk
(``defection_risk`` ≥ ``at_risk_defection`` or status "at_risk") may be lost over price
(shallow discounts to an A at risk). Moving everyone into
their band, :math:`\delta' = \text{clip}(\delta, \delta_{lo}, \delta_{hi})`, changes margin by
:math:`(\delta - \delta') L` at today's volume (before any volume response).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..settings.terms import TermsSettings
from ._common import TermsResult, has_values, num, text, without_prospects

__all__ = ["AUDIT_COLUMNS", "SUMMARY_COLUMNS", "discount_audit", "weighted_percentile"]

#: Columns of discount_audit.csv, in order.
AUDIT_COLUMNS = (
    "customer_id",
    "value_class",
    "list_revenue",
    "invoice_revenue",
    "pocket_revenue",
    "discount_depth",
    "band_low",
    "band_high",
    "at_risk",
    "discount_flag",
    "recommended_depth",
    "margin_effect",
)

#: Columns of discount_audit_summary.csv, in order.
SUMMARY_COLUMNS = (
    "value_class",
    "customers",
    "list_revenue",
    "invoice_revenue",
    "pocket_revenue",
    "discount_depth",
    "pocket_index",
    "depth_p25",
    "depth_p75",
    "band_low",
    "band_high",
    "above_band",
    "below_band_at_risk",
    "in_band",
    "margin_effect",
    "band_source",
)


def weighted_percentile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """The smallest ``x`` whose weights up to it reach a share ``q`` of the total weight.

    Values with a missing ``x`` or a weight ≤ 0 are ignored; NaN when none is left.

    Examples
    --------
    >>> weighted_percentile(np.array([0.0, 0.1, 0.2]), np.array([1.0, 8.0, 1.0]), 0.1)
    0.0
    >>> weighted_percentile(np.array([0.0, 0.1, 0.2]), np.array([1.0, 8.0, 1.0]), 0.11)
    0.1
    """
    xv = np.asarray(x, np.float64)
    wv = np.asarray(w, np.float64)
    ok = ~np.isnan(xv) & ~np.isnan(wv) & (wv > 0)
    if not ok.any():
        return float("nan")
    order = np.argsort(xv[ok], kind="stable")
    xs, cw = xv[ok][order], np.cumsum(wv[ok][order])
    # a relative tolerance, so that q = 0.1 of weights 1 + 9 picks the first value
    i = int(np.searchsorted(cw, q * cw[-1] * (1 - 1e-12), side="left"))
    return float(xs[min(i, xs.size - 1)])


def _bands(
    cls: np.ndarray,
    depth: np.ndarray,
    list_rev: np.ndarray,
    s: TermsSettings,
    warnings: list[str],
) -> dict[str, tuple[float, float, str]]:
    """Each class's band (low, high) and where it came from."""
    q_lo, q_hi = s.discount_band_percentiles
    has = ~np.isnan(depth) & ~np.isnan(list_rev) & (list_rev > 0)
    out: dict[str, tuple[float, float, str]] = {}
    small = []
    for c in sorted(set(cls.tolist())):
        if c in s.discount_bands:
            lo, hi = s.discount_bands[c]
            out[c] = (float(lo), float(hi), "settings ([terms] discount_bands)")
            continue
        if c == "(none)":
            continue
        at = (cls == c) & has
        n = int(at.sum())
        if n < s.discount_band_min_customers:
            if n:
                small.append(f"{c} ({n})")
            continue
        lo = weighted_percentile(depth[at], list_rev[at], q_lo)
        hi = weighted_percentile(depth[at], list_rev[at], q_hi)
        out[c] = (
            lo,
            hi,
            f"waterfall: p{q_lo * 100:g}-p{q_hi * 100:g} of the list-revenue-weighted discount "
            f"depth of {n} customers",
        )
    if small:
        warnings.append(
            f"discount audit: classes {', '.join(small)} have fewer customers with a discount "
            f"depth than [terms] discount_band_min_customers "
            f"({s.discount_band_min_customers}), so they get no band; name one in "
            "[terms] discount_bands or lower the minimum"
        )
    return out


def _classes(customers: pa.Table, warnings: list[str]) -> np.ndarray:
    got = text(customers, "value_class")
    if got is not None and has_values(customers, "value_class"):
        return np.where(got == None, "(none)", got).astype(object)  # noqa: E711
    from ..segments import abc_classes

    warnings.append(
        "discount audit: no value_class column (segments stage not run), so classes are the "
        "Pareto ABC of revenue_12m; run the segments stage for value classes"
    )
    return np.asarray(abc_classes(np.nan_to_num(num(customers, "revenue_12m"))), dtype=object)


def discount_audit(customers: pa.Table, settings: TermsSettings | None = None) -> TermsResult:
    """Discount depth per customer against its class band, and the margin of the policy.

    Parameters
    ----------
    customers
        The customer table: customer_id, value_class, discount_depth, list_revenue (or
        revenue_12m and the depth), revenue_12m, rebates, cts_late_payment,
        cts_deliveries, defection_risk, status. Prospects are left out.
    settings
        The ``[terms]`` section (``discount_bands``, ``discount_band_percentiles``,
        ``discount_band_min_customers``, ``at_risk_defection``).

    Returns
    -------
    TermsResult
        ``tables``: ``discount_audit`` (per customer, :data:`AUDIT_COLUMNS`) and
        ``discount_audit_summary`` (per class, :data:`SUMMARY_COLUMNS`); ``customers``:
        discount_flag, recommended_depth, discount_margin_effect.

    Examples
    --------
    >>> c = pa.table({"customer_id": ["a", "b"], "value_class": ["A", "D"],
    ...     "discount_depth": [0.02, 0.10], "list_revenue": [1000.0, 500.0],
    ...     "defection_risk": [0.8, 0.1]})
    >>> s = TermsSettings(discount_bands={"A": [0.04, 0.12], "D": [0.0, 0.02]})
    >>> t = discount_audit(c, s).tables["discount_audit"].to_pandas()
    >>> t[["discount_flag", "recommended_depth", "margin_effect"]].values.tolist()
    [['below band, at risk', 0.04, -20.0], ['above band', 0.02, 40.0]]
    """
    s = settings or TermsSettings()
    warnings: list[str] = []
    customers = without_prospects(customers)
    ids = customers.column("customer_id").cast(pa.string())
    cls = _classes(customers, warnings)
    depth = num(customers, "discount_depth")
    invoice = num(customers, "revenue_12m")
    if np.isnan(invoice).all():
        invoice = num(customers, "revenue_12m")
    list_rev = num(customers, "list_revenue")
    derived = np.isnan(list_rev) & ~np.isnan(depth) & (depth < 1)
    list_rev = np.where(derived, invoice / np.where(depth < 1, 1.0 - depth, 1.0), list_rev)
    invoice = np.where(
        np.isnan(invoice) & ~np.isnan(list_rev) & ~np.isnan(depth),
        list_rev * (1.0 - depth),
        invoice,
    )
    off_invoice = (
        np.nan_to_num(num(customers, "rebates"))
        + np.nan_to_num(num(customers, "cts_late_payment"))
        + np.nan_to_num(num(customers, "cts_deliveries"))
    )
    pocket = invoice - off_invoice
    risk = num(customers, "defection_risk")
    status = text(customers, "status")
    at_risk = np.nan_to_num(risk, nan=-1.0) >= s.at_risk_defection
    if status is not None:
        at_risk |= status == "at_risk"
    bands = _bands(cls, depth, list_rev, s, warnings)
    none = (np.nan, np.nan, "")
    lo = np.array([bands.get(c, none)[0] for c in cls], np.float64)
    hi = np.array([bands.get(c, none)[1] for c in cls], np.float64)
    has_band = ~np.isnan(lo)
    has_depth = ~np.isnan(depth) & ~np.isnan(list_rev)
    rec = np.where(has_band & has_depth, np.clip(depth, lo, hi), np.nan)
    effect = np.where(has_band & has_depth, (depth - rec) * list_rev, np.nan)
    above = has_band & has_depth & (depth > hi)
    below = has_band & has_depth & (depth < lo)
    flag = np.select(
        [~has_depth, ~has_band, above, below & at_risk, below],
        ["no discount data", "no band", "above band", "below band, at risk", "below band"],
        default="in band",
    ).astype(object)
    audited = int((has_depth & has_band).sum())
    if not has_depth.any():
        warnings.append(
            "discount audit: no discount depth (the transactions have no list_revenue), so "
            "nothing is audited; map list_revenue in [transactions.columns]"
        )
    audit = pa.table(
        {
            "customer_id": ids,
            "value_class": pa.array(cls, pa.string()),
            "list_revenue": pa.array(list_rev, pa.float64(), from_pandas=True),
            "invoice_revenue": pa.array(invoice, pa.float64(), from_pandas=True),
            "pocket_revenue": pa.array(pocket, pa.float64(), from_pandas=True),
            "discount_depth": pa.array(depth, pa.float64(), from_pandas=True),
            "band_low": pa.array(lo, pa.float64(), from_pandas=True),
            "band_high": pa.array(hi, pa.float64(), from_pandas=True),
            "at_risk": pa.array(at_risk, pa.bool_()),
            "discount_flag": pa.array(flag, pa.string()),
            "recommended_depth": pa.array(rec, pa.float64(), from_pandas=True),
            "margin_effect": pa.array(effect, pa.float64(), from_pandas=True),
        }
    )
    summary = _summary(audit, bands)
    per_customer = pa.table(
        {
            "customer_id": ids,
            "discount_flag": audit.column("discount_flag"),
            "recommended_depth": audit.column("recommended_depth"),
            "discount_margin_effect": audit.column("margin_effect"),
        }
    )
    if not has_depth.any():
        # nothing was audited: the tables hold no row rather than rows that look audited
        audit, summary = audit.slice(0, 0), summary.slice(0, 0)
    manifest: dict[str, Any] = {
        "method": "discount bands per class on the list → invoice → pocket waterfall",
        "customers_audited": audited,
        "not_audited": None
        if has_depth.any()
        else "no discount depth: the transactions have no list_revenue (the price before discount)",
        "band_percentiles": list(s.discount_band_percentiles),
        "bands": {k: {"band": [lo_, hi_], "source": src} for k, (lo_, hi_, src) in bands.items()},
        "customers_above_band": int(above.sum()),
        "customers_below_band_at_risk": int((below & at_risk).sum()),
        "margin_effect": float(np.nansum(effect)),
    }
    return TermsResult(
        customers=per_customer,
        tables={"discount_audit": audit, "discount_audit_summary": summary},
        manifest=manifest,
        warnings=warnings,
    )


def _summary(audit: pa.Table, bands: dict[str, tuple[float, float, str]]) -> pa.Table:
    df = audit.to_pandas()
    ok = df["discount_depth"].notna() & df["list_revenue"].notna()
    rows = []
    for cls, g in df.groupby("value_class", sort=True):
        gk = g[ok.loc[g.index]]
        lst = float(gk["list_revenue"].sum())
        inv = float(gk["invoice_revenue"].sum())
        poc = float(gk["pocket_revenue"].sum())
        rows.append(
            {
                "value_class": cls,
                "customers": len(g),
                "list_revenue": lst,
                "invoice_revenue": inv,
                "pocket_revenue": poc,
                "discount_depth": 1.0 - inv / lst if lst > 0 else np.nan,
                "pocket_index": poc / lst if lst > 0 else np.nan,
                "depth_p25": float(gk["discount_depth"].quantile(0.25)) if len(gk) else np.nan,
                "depth_p75": float(gk["discount_depth"].quantile(0.75)) if len(gk) else np.nan,
                "band_low": float(g["band_low"].iloc[0]),
                "band_high": float(g["band_high"].iloc[0]),
                "above_band": int((g["discount_flag"] == "above band").sum()),
                "below_band_at_risk": int((g["discount_flag"] == "below band, at risk").sum()),
                "in_band": int((g["discount_flag"] == "in band").sum()),
                "margin_effect": float(g["margin_effect"].sum(min_count=1)),
                "band_source": bands[cls][2] if cls in bands else "no band",
            }
        )
    return pa.Table.from_pandas(
        pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS)), preserve_index=False
    )
