"""Settings for the whole run."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import Field, field_validator

from ._base import Section

_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)\s*$")


class RunSettings(Section):
    """The run as a whole."""

    seed: int = 42
    """Random seed for every stochastic step (model starts, cross-fitting folds). Default 42."""

    as_of: dt.date | None = None
    """Analysis date: recency and windows are measured back from it; later rows are set aside.
    Default: the last transaction date."""

    engine: Literal["duckdb", "spark"] = "duckdb"
    """Dataframe engine for transaction-sized work. Default "duckdb" (in-process)."""

    threads: int | None = Field(default=None, ge=1)
    """Engine threads (a whole number, 1 or more). Default: all cores."""

    memory_limit: str | None = None
    """Engine memory cap with its unit, e.g. "8GB" or "512MiB". Default: the engine's own
    (DuckDB: 80% of RAM)."""

    @field_validator("memory_limit")
    @classmethod
    def _memory_limit(cls, v: str | None) -> str | None:
        if v is not None and not _SIZE.match(v):
            raise ValueError('give a size with its unit, such as "8GB" or "512MiB"')
        return v
