"""What people look at: report.html, plan.xlsx and crm_export.csv, built from an output folder.

- :func:`build_report` writes the self-contained report (Jinja2 + Vega-Altair, offline).
- :func:`write_plan_xlsx` writes the Excel plan (XlsxWriter, formulas never written).
- :func:`crm_export` builds the one-row-per-account table for CRM import
  (:data:`CRM_COLUMNS` lists its stable columns); :func:`write_crm_export` writes it.

Each reads the tables a run wrote; a table or column a stage did not produce is said to be
absent (report), left out (plan) or left empty (CRM export).
"""

from __future__ import annotations

from ._folder import RunFolder
from .crm import CRM_COLUMNS, crm_export, write_crm_export
from .html import build_report, render_report
from .xlsx import write_plan_xlsx

__all__ = [
    "CRM_COLUMNS",
    "RunFolder",
    "build_report",
    "crm_export",
    "render_report",
    "write_crm_export",
    "write_plan_xlsx",
]
