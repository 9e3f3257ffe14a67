"""Settings for the whole run."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ._base import Section


class RunSettings(Section):
    """The run as a whole."""

    seed: int = 42
    """Random seed for every stochastic step (model starts, cross-fitting folds). Default 42."""

    as_of: dt.date | None = None
    """Analysis date: recency and windows are measured back from it; later rows are set aside.
    Default: the last transaction date."""

    engine: Literal["duckdb", "spark"] = "duckdb"
    """Dataframe engine for transaction-sized work. Default "duckdb" (in-process)."""

    threads: int | None = None
    """Engine threads. Default: all cores."""

    memory_limit: str | None = None
    """Engine memory cap, e.g. "8GB". Default: the engine's own (DuckDB: 80% of RAM)."""
