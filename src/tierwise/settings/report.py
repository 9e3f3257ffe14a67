"""Settings for what people look at: report.html, plan.xlsx, crm_export.csv, the dashboard."""

from __future__ import annotations

from pydantic import Field

from ._base import Section


class ReportSettings(Section):
    """The report, the Excel plan, the CRM export and the dashboard.

    Charts embed their data in report.html; above ``max_chart_rows`` customers a chart shows
    bins computed in NumPy instead of one mark per customer, so the file stays small at a
    million customers.
    """

    max_chart_rows: int = Field(default=5000, ge=10)
    """Rows a chart embeds at most; with more customers the chart shows bins (Vega-Altair's
    own limit per chart). Count. Default 5000."""

    matrix_bins: int = Field(default=40, ge=2, le=70)
    """Bins per axis of the value × potential matrix when it is binned; count (at most 70,
    so that the bins stay within ``max_chart_rows``). Default 40."""

    curve_points: int = Field(default=400, ge=10)
    """Points kept on a curve (the whale curve) when there are more customers; count.
    Default 400."""

    table_rows: int = Field(default=15, ge=1)
    """Rows shown in each table of report.html (the full tables are in the output folder);
    count. Default 15."""

    reject_reasons: int = Field(default=10, ge=1)
    """Commonest reject reasons listed per input file in the report; count. Default 10."""

    next_best_products: int = Field(default=5, ge=1)
    """Next best products per account in crm_export.csv and the reps' call lists; count.
    Default 5."""

    page_size: int = Field(default=50, ge=1, le=1000)
    """Customers per page in the dashboard's segment explorer; count. Default 50."""
