"""Base class for a settings section: frozen, unknown keys refused, documented fields.

A table setting keyed by tier, class, channel, kind of contact or component whose default
names every key (``[terms] min_order_value``, ``[coverage] response``, …) is listed in the
section's ``merged_tables``: a table given in tierwise.toml is merged with the default key by
key (the keys given replace those of the default, the others keep theirs), and a nested table
(one class's response, one tier's programme) is merged the same way with the default entry of
the same key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = [
    "DATE_CODES",
    "LIFETIME_STATUSES",
    "MAX_SEED",
    "TIME_CODES",
    "Section",
    "check_date_format",
    "check_date_not_number",
    "check_seed",
    "check_statuses",
    "merge_with_default",
    "unknown_name",
]

#: The statuses the lifetime stage gives a customer (its ``status`` column).
LIFETIME_STATUSES = ("prospect", "new", "active", "at_risk", "inactive", "lapsed")


#: Largest seed NumPy's generators take (seeds are 0 to 2**32 − 1).
MAX_SEED = 2**32 - 1


def check_statuses(value: list[str]) -> list[str]:
    """Lifetime statuses, else a one-line reason naming the unknown one and the closest."""
    for name in value:
        if name not in LIFETIME_STATUSES:
            raise ValueError(unknown_name(name, "lifetime status", LIFETIME_STATUSES))
    return value


def check_seed(value: int) -> int:
    """A random seed NumPy takes, else a one-line reason."""
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"a seed is a whole number from 0 to {MAX_SEED}, e.g. 42")
    return value


#: text of digits alone, which pydantic would read as a date's seconds since 1970
_NUMBER_TEXT = re.compile(r"\s*[+-]?\d+(?:\.\d+)?\s*")


def check_date_not_number(value: Any) -> Any:
    """A date as written, else a one-line reason for a number or digits alone in quotes
    (which pydantic would read as seconds since 1970: 1735603200 is 31 December 2024)."""
    if (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, str) and _NUMBER_TEXT.fullmatch(value)
    ):
        raise ValueError(
            f"a date is written YYYY-MM-DD, e.g. 2025-12-31, not as a number ({value})"
        )
    return value


#: The strftime codes the date of a date format may hold: those DuckDB's strptime reads and
#: tierwise.engine translates to Spark's pattern, and the weekday names (%a, %A), which
#: Spark cannot parse (a run on Spark says so).
DATE_CODES = (
    "%Y", "%m", "%d", "%H", "%M", "%S", "%y", "%b", "%B", "%h", "%f", "%j", "%-d", "%-m",
    "%a", "%A",
)  # fmt: skip

#: The codes of a time after the date, which the run leaves aside before parsing.
TIME_CODES = ("%H", "%I", "%M", "%S", "%-H", "%-I", "%-M", "%-S", "%f", "%p", "%z", "%Z")

#: The time in a format, from its first time code to the end (as the validate stage cuts it).
_FORMAT_TIME = re.compile(r"[ T]?%-?[HIMSfpzZ].*$")

#: codes other programs know, with the one to write instead
_INSTEAD = {"%e": "%d (it reads 1 and 01)", "%-y": "%y", "%D": "%m/%d/%y", "%F": "%Y-%m-%d"}


def check_date_format(fmt: str) -> str:
    """A date format the run reads, else a one-line reason naming the code it cannot.

    Its date holds codes of :data:`DATE_CODES`; a time after the date (left aside when
    the date is read) codes of :data:`TIME_CODES`.

    >>> check_date_format("%m/%d/%Y %I:%M %p")
    '%m/%d/%Y %I:%M %p'
    """
    if "%" not in fmt:
        raise ValueError(f"{fmt!r} has no strftime code such as %Y, %m or %d")
    date = _FORMAT_TIME.sub("", fmt) or fmt
    for part, codes in ((date, DATE_CODES), (fmt[len(date) :], TIME_CODES)):
        i = part.find("%")
        while i >= 0:
            code = part[i : i + 3] if part[i + 1 : i + 2] == "-" else part[i : i + 2]
            if code not in codes:
                instead = f" (write {_INSTEAD[code]})" if code in _INSTEAD else ""
                raise ValueError(
                    f"{fmt!r}: {code!r} is not a code tierwise reads{instead} "
                    f"(dates: {', '.join(DATE_CODES)}; a time after the date: "
                    f"{', '.join(TIME_CODES)})"
                )
            i = part.find("%", i + len(code))
    return fmt


def unknown_name(name: str, what: str, known: Iterable[str], where: str = "") -> str:
    """The message for a name that is not among ``known``, with the closest one.

    >>> unknown_name("lapsd", "status", ["new", "lapsed"])
    "unknown status 'lapsd' (did you mean lapsed?)"
    """
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    fix = f"did you mean {close[0]}?" if close else f"use one of {', '.join(known)}"
    place = f" {where}" if where else ""
    return f"unknown {what} {name!r}{place} ({fix})"


def _plain(value: Any) -> Any:
    """A default as plain data (a settings model becomes its table)."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def merge_with_default(given: Any, default: Any, keys: set[str] | None = None) -> Any:
    """``given`` merged key by key into ``default`` (both tables); nested tables likewise.

    ``keys`` limits the default entries added to those keys (entries given are always kept).

    >>> merge_with_default({"gold": 100}, {"gold": 150, "silver": 250})
    {'gold': 100, 'silver': 250}
    >>> merge_with_default({"A": {"d": 8}}, {"A": {"s0": 0.4, "d": 6}})
    {'A': {'s0': 0.4, 'd': 8}}
    """
    if not isinstance(given, Mapping) or not isinstance(default, Mapping):
        return given
    merged = {k: _plain(v) for k, v in default.items() if keys is None or k in keys or k in given}
    for k, v in given.items():
        old = merged.get(k)
        if isinstance(v, Mapping) and isinstance(old, Mapping):
            merged[k] = merge_with_default(v, old)
        else:
            merged[k] = v
    return merged


class Section(BaseModel):
    """One section of tierwise.toml. Each field's docstring states its unit and default."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        validate_default=True,
    )

    #: Table settings whose given table is merged with the default key by key.
    merged_tables: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _merge_tables(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or not cls.merged_tables:
            return data
        out = dict(data)
        for name in cls.merged_tables:
            if isinstance(out.get(name), Mapping):
                default = cls.model_fields[name].get_default(call_default_factory=True)
                out[name] = merge_with_default(out[name], default)
        return out
