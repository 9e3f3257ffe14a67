"""The terms stage: trading terms, discount audit, KPI targets and routes to market."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from ..settings.terms import TermsSettings
from ._common import TermsResult
from .discounts import discount_audit
from .routes import routes_to_market
from .targets import kpi_targets
from .trading import trading_terms

__all__ = ["CUSTOMER_COLUMNS", "terms_stage"]

#: The customer columns the stage owns.
CUSTOMER_COLUMNS = (
    "trading_terms",
    "terms_net_value",
    "discount_flag",
    "recommended_depth",
    "discount_margin_effect",
    "revenue_target",
    "margin_target",
    "observed_channel",
)


def terms_stage(
    customers: pa.Table,
    settings: TermsSettings | None = None,
    *,
    cost_of_capital: float = 0.08,
    period_months: int = 12,
    tx: ir.Table | None = None,
    as_of: _dt.date | None = None,
    channels: Sequence[str] | None = None,
    customers_file: str = "customers",
) -> TermsResult:
    """Trading terms, discount audit, KPI targets and routes to market in one result.

    Parameters are those of :func:`~tierwise.terms.trading_terms` (the other three need
    only the customer table and the settings), and ``channels`` and ``customers_file`` of
    :func:`~tierwise.terms.routes_to_market`.

    Returns
    -------
    TermsResult
        ``customers``: one row per customer-table row, keyed by customer_id, with
        :data:`CUSTOMER_COLUMNS` (empty for prospects where a part leaves them out);
        ``tables``: terms, discount_audit, discount_audit_summary, targets,
        routes_to_market; ``manifest``: one block per part; ``warnings``.

    Examples
    --------
    >>> c = pa.table({"customer_id": ["a"], "revenue_12m": [100.0], "rep_id": ["r"]})
    >>> res = terms_stage(c)
    >>> sorted(res.tables)
    ['discount_audit', 'discount_audit_summary', 'routes_to_market', 'targets', 'terms']
    >>> res.customers.column_names[:3]
    ['customer_id', 'trading_terms', 'terms_net_value']
    """
    s = settings or TermsSettings()
    parts = {
        "trading_terms": trading_terms(
            customers,
            s,
            cost_of_capital=cost_of_capital,
            period_months=period_months,
            tx=tx,
            as_of=as_of,
        ),
        "discount_audit": discount_audit(customers, s),
        "targets": kpi_targets(customers, s),
        "routes_to_market": routes_to_market(
            customers, s, channels=channels, customers_file=customers_file
        ),
    }
    ids = customers.column("customer_id").cast(pa.string())
    cols: dict[str, pa.Array | pa.ChunkedArray] = {"customer_id": ids}
    for part in parts.values():
        own = part.customers
        idx = pc.index_in(ids, value_set=own.column("customer_id"))
        for name in own.column_names[1:]:
            cols[name] = own.column(name).take(idx)
    tables: dict[str, pa.Table] = {}
    warnings: list[str] = []
    for part in parts.values():
        tables.update(part.tables)
        warnings.extend(part.warnings)
    return TermsResult(
        customers=pa.table(cols),
        tables=tables,
        manifest={name: part.manifest for name, part in parts.items()},
        warnings=warnings,
    )
