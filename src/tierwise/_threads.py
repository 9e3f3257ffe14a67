"""Work started in a thread of its own while the caller goes on."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["in_background"]

T = TypeVar("T")


def in_background(fn: Callable[..., T], /, *args: Any, name: str = "tierwise") -> Future[T]:
    """``fn(*args)`` run in a thread of its own, named ``name``; the future holds its result
    (or its exception, raised when the result is asked for).

    Examples
    --------
    >>> in_background(sum, [1, 2, 3]).result()
    6
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)  # the thread ends when ``fn`` returns
