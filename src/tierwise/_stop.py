"""A stop the user asked for (Ctrl-C, SIGTERM), kept until the run acts on it.

The command line's signal handlers raise the stop where the main thread happens to be. Code
running there may not pass it on: Python prints and drops an exception raised in a finaliser
(``__del__``, a weak-reference callback), and a library may catch everything. The handlers
therefore also record the stop here; the pipeline calls :func:`check` between stages and
before it commits the output folder, so a run the user stopped never finishes as if it had
not been, and :func:`quiet_finalisers` keeps a dropped stop off the screen.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Terminated", "ask", "check", "clear", "quiet_finalisers"]


class Terminated(Exception):
    """The process was asked to stop (SIGTERM)."""


#: the stop asked for and not yet acted on (its exception type), or None
_asked: list[type[BaseException]] = []


def ask(kind: type[BaseException]) -> None:
    """Record a stop; the run raises ``kind`` at its next :func:`check`."""
    _asked[:] = [kind]


def clear() -> None:
    """Forget a stop (a new run starts)."""
    _asked.clear()


def check() -> None:
    """Raise the stop asked for, if any (once: it is forgotten as it is raised)."""
    if _asked:
        kind = _asked.pop()
        raise kind()


def _is_stop(exc: BaseException | None) -> bool:
    return isinstance(exc, (KeyboardInterrupt, Terminated))


@contextmanager
def quiet_finalisers() -> Iterator[None]:
    """While in the block, a stop raised in a finaliser (and dropped by Python) is recorded
    for :func:`check` instead of printed; any other dropped exception is reported as before."""
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if _is_stop(unraisable.exc_value):
            ask(type(unraisable.exc_value))
            return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous
