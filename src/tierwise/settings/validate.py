"""Settings for validation: what makes a row unusable, and how returns are recognised."""

from __future__ import annotations

from pydantic import Field

from ._base import Section


class ValidateSettings(Section):
    """Row-level checks. Rows that fail go to rejects.csv with their reason."""

    future_tolerance_days: int = Field(default=2, ge=0)
    """A transaction dated more than this many days after the analysis date is rejected as a
    date in the future; days. Default 2."""

    cancel_prefix: str | None = "C"
    """An order_id starting with this text is a cancellation (counted with returns). Default
    "C"; set to "" to switch off."""

    drop_duplicate_lines: bool = False
    """Reject a transaction line identical in every column to an earlier one. Default false
    (identical lines are legitimate in many ERPs)."""

    max_id_length: int = Field(default=200, ge=1)
    """An identifier longer than this is rejected as garbage; characters. Default 200."""

    date_formats: list[str] = Field(
        default_factory=lambda: [
            "%Y-%m-%d",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y%m%d",
            "%d/%m/%Y",
            "%d.%m.%Y",
            "%Y/%m/%d",
        ]
    )
    """Date formats tried in turn for text dates (strftime codes). Default: ISO, ISO with
    time (with or without seconds), YYYYMMDD, DD/MM/YYYY, DD.MM.YYYY, YYYY/MM/DD. Put
    "%m/%d/%Y" before "%d/%m/%Y" for US files."""

    max_abs_number: float = Field(default=1e15, gt=0)
    """A number (amount, quantity, coordinate) larger than this in absolute value is rejected
    as implausible: such values are export errors, and sums of money are kept exact only
    below about 1e28. Default 1e15."""

    min_year: int = 1900
    """Dates before 1 January of this year are rejected as implausible. Default 1900."""
