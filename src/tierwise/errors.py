"""Errors that tierwise raises, written for the person running it.

The tree::

    TierwiseError                 root: anything tierwise reports on purpose
    ├── InputError                a row, column or file of the user's input is unusable
    │                             (carries file, row, column and a hint)
    ├── SettingsError             tierwise.toml or a command-line option is wrong
    ├── EngineError               the dataframe engine failed on a query (names the table)
    ├── ModelError                a model cannot be identified or fitted from the data
    ├── InfeasiblePlanError       the coverage plan cannot meet its constraints
    └── NotFittedError            an estimator was used before ``fit`` (also a ValueError
                                  and an AttributeError, as in scikit-learn)

``Problems`` collects several errors so that validation can report all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = [
    "EngineError",
    "InfeasiblePlanError",
    "InputError",
    "ModelError",
    "NotFittedError",
    "Problems",
    "SettingsError",
    "TierwiseError",
]


class TierwiseError(Exception):
    """Root of every error tierwise raises on purpose."""

    def one_line(self) -> str:
        """The error as one line for a terminal."""
        return " ".join(str(self).split())


class InputError(TierwiseError):
    """An input file, row or column cannot be used.

    Parameters
    ----------
    message
        What is wrong, in the user's words.
    file, row, column
        Where it is; any may be ``None`` when unknown or not applicable.
    hint
        What to do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        text = ", ".join(where)
        text = f"{text}: {self.message}" if text else self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class SettingsError(TierwiseError):
    """A setting in tierwise.toml or on the command line is wrong."""


class EngineError(TierwiseError):
    """The dataframe engine failed while computing a table."""


class ModelError(TierwiseError):
    """A model cannot be fitted or identified from the data given."""


class InfeasiblePlanError(TierwiseError):
    """The coverage plan cannot satisfy its constraints."""


class NotFittedError(TierwiseError, ValueError, AttributeError):
    """An estimator was used before ``fit`` was called."""


@dataclass
class Problems(TierwiseError):
    """Several problems found together (validation reports all of them at once)."""

    errors: list[TierwiseError]

    def __post_init__(self) -> None:
        super().__init__(self._format())

    def _format(self) -> str:
        n = len(self.errors)
        head = f"{n} problem{'s' if n != 1 else ''} found"
        return head + "".join(f"\n  {e.one_line()}" for e in self.errors)

    def __iter__(self) -> Iterator[TierwiseError]:
        return iter(self.errors)

    @classmethod
    def raise_if_any(cls, errors: Iterable[TierwiseError]) -> None:
        """Raise the single error, or all of them together, if there are any."""
        errs = list(errors)
        if len(errs) == 1:
            raise errs[0]
        if errs:
            raise cls(errs)
