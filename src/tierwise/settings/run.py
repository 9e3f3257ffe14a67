"""Settings for the whole run."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import Field, field_serializer, field_validator

from ._base import Section, check_date_not_number, check_seed

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)\s*$")
#: Bytes of each unit of a size, as DuckDB reads them (KB = 1000 bytes, KiB = 1024)
_UNIT = {
    "B": 1,
    "KB": 10**3,
    "KiB": 2**10,
    "MB": 10**6,
    "MiB": 2**20,
    "GB": 10**9,
    "GiB": 2**30,
    "TB": 10**12,
    "TiB": 2**40,
}
#: The smallest memory_limit accepted: the floor of the engine's own default (a quarter of
#: the machine's memory, at least 256 MiB)
MIN_MEMORY_LIMIT = "256MB"
#: Spark options whose values are secrets (object-store keys, passwords, tokens): kept out of
#: the manifest
_SECRET_OPTION = re.compile(
    r"secret|passw|token|credential|key|signature|private|auth|\bsas\b", re.I
)
_SPARK_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
#: the masters Spark knows: local ones, a standalone cluster, YARN, Kubernetes, Mesos
_SPARK_MASTER = re.compile(
    r"^(?:local(?:\[(?:\d+|\*)(?:,\s*\d+)?\])?|local-cluster\[\d+,\s*\d+,\s*\d+\]"
    r"|yarn|(?:spark|k8s|mesos)://\S+)$"
)


def size_bytes(text: str) -> int | None:
    """The bytes of a size with its unit, as DuckDB reads it ("8GB", "512MiB", "5.8 GiB");
    None for text that is not such a size.

    Examples
    --------
    >>> size_bytes("512MiB"), size_bytes("1.5 GB"), size_bytes("lots")
    (536870912, 1500000000, None)
    """
    size = _SIZE.match(text)
    return int(float(size[1]) * _UNIT[size[2]]) if size else None


class RunSettings(Section):
    """The run as a whole."""

    seed: int = 42
    """Random seed for every stochastic step (model starts, cross-fitting folds); a whole
    number from 0 to 4294967295. Default 42."""

    as_of: dt.date | None = None
    """Analysis date: recency and windows are measured back from it; later rows are set aside.
    At most today plus [validate] future_tolerance_days (a later date is refused: to plan
    ahead, keep the analysis date and set [potential] planning_years). Default: the last
    transaction date."""

    engine: Literal["duckdb", "spark"] = "duckdb"
    """Dataframe engine for transaction-sized work. Default "duckdb" (in-process); "spark"
    needs the spark extra (pip install 'tierwise[spark]')."""

    threads: int | None = Field(default=None, ge=1)
    """Cores the run may use (a whole number, 1 or more): the engine's threads, and the
    thread pools of tierwise's own work (model fits, the exact coverage solve, writing the
    output files), Arrow's and the BLAS libraries' are sized to it; with 1, tierwise's own
    work runs on the calling thread. Default: all cores. On Spark without spark_master, the
    local master's cores (local[threads])."""

    memory_limit: str | None = None
    """Engine memory cap with its unit, e.g. "8GB" or "512MiB"; what does not fit is
    written to disk (see temp_directory). Default: a quarter of the memory of the machine (or
    of its container, when lower), leaving the rest to the work done in Python. DuckDB
    only: on Spark set spark.driver.memory and spark.executor.memory in spark_options. At
    least "256MB"."""

    temp_directory: str | None = None
    """Folder in which the engine writes what does not fit under memory_limit and the
    input-sized tables it keeps between stages, compressed (in a private folder it makes
    there and removes at the end of the run; one that a killed run left there is removed by
    the next run that uses the folder). Default: the system's temporary folder. Point it
    at a disk with room when that folder is small or held in memory (tmpfs); a relative
    path is relative to the settings file. DuckDB only."""

    spark_master: str | None = None
    """Where Spark runs (engine = "spark"): "local[2]" (this machine, 2 cores),
    "spark://host:7077" (a standalone cluster), "yarn", "k8s://https://host:443". Default:
    local[threads], local[*] when threads is unset. Ignored when a Spark session is already
    running in the process (a notebook, spark-submit): that session is used."""

    spark_options: dict[str, str | int | float | bool] = Field(default_factory=dict)
    """Spark configuration for the session tierwise starts (engine = "spark"), key → value,
    e.g. {"spark.executor.memory" = "8g", "spark.sql.shuffle.partitions" = 400}. The session
    time zone is always UTC (spark.sql.session.timeZone cannot be set here). Values of keys
    naming a secret, password, token, credential, key, signature, SAS or authentication
    (fs.s3a.secret.key, fs.azure.account.key.<account>…, fs.azure.sas.<container>…,
    fs.gs.auth.service.account.private.key) are left out of the manifest. Default: none."""

    _seed = field_validator("seed")(check_seed)
    _date = field_validator("as_of", mode="before")(check_date_not_number)

    @field_validator("memory_limit")
    @classmethod
    def _memory_limit(cls, v: str | None) -> str | None:
        if v is None:
            return v
        size = size_bytes(v)
        if size is None:
            raise ValueError('give a size with its unit, such as "8GB" or "512MiB"')
        if size < 256 * 10**6:
            raise ValueError(
                f"{v!r} is too little for the engine to run; give at least "
                f'"{MIN_MEMORY_LIMIT}" (what does not fit is written to disk), or leave it '
                "out for a quarter of the machine's memory"
            )
        return v

    @field_validator("spark_master")
    @classmethod
    def _spark_master(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError(
                'give a Spark master such as "local[2]", "spark://host:7077" or "yarn"'
            )
        if v is not None and not _SPARK_MASTER.match(v.strip()):
            raise ValueError(
                f"{v.strip()!r} is no Spark master: give local, local[N] or local[*] (this "
                'machine), "spark://host:7077", "yarn" or "k8s://https://host:443"'
            )
        return v.strip() if v is not None else None

    @field_validator("spark_options")
    @classmethod
    def _spark_options(
        cls, v: dict[str, str | int | float | bool]
    ) -> dict[str, str | int | float | bool]:
        for key in v:
            if not _SPARK_KEY.match(key):
                raise ValueError(f"{key!r} is not a Spark configuration key (like spark.x.y)")
            if key == "spark.sql.session.timeZone":
                raise ValueError(
                    "spark.sql.session.timeZone is always UTC in tierwise (dates must not "
                    "shift with the cluster's clock); leave it out"
                )
        return v

    @field_serializer("spark_options", when_used="json")
    def _hide_secrets(
        self, v: dict[str, str | int | float | bool]
    ) -> dict[str, str | int | float | bool]:
        return {k: ("(hidden)" if _SECRET_OPTION.search(k) else x) for k, x in v.items()}

    def spark_conf(self) -> dict[str, str]:
        """The Spark options as Spark reads them (text; true/false in lower case)."""
        return {
            k: (str(v).lower() if isinstance(v, bool) else str(v))
            for k, v in self.spark_options.items()
        }
