"""The threads tierwise runs its own work on, within the cores a run may use.

``[run] threads`` bounds the engine's threads and, through :func:`thread_limit`, every
thread tierwise starts itself (model fits, the quadrature of the lifetime model, writing
the output files and plan.xlsx), Arrow's thread pool and the BLAS/OpenMP libraries'. With
one core, work handed to a thread runs in the caller instead, as it is handed over.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import pyarrow as pa

__all__ = ["cores", "in_background", "machine_cores", "pool", "thread_limit"]

T = TypeVar("T")

#: The cores a run set with :func:`thread_limit` (None: no limit). Module-wide, not per
#: thread: the pools a run starts read it from their own threads.
_limit: int | None = None


def machine_cores() -> int:
    """Every core the process may run on (its CPU affinity)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def cores() -> int:
    """The cores tierwise's own threads may use: the run's ``[run] threads`` when it set
    one (:func:`thread_limit`), else every core the process may run on.

    Examples
    --------
    >>> with thread_limit(1):
    ...     cores()
    1
    """
    n = machine_cores()
    return min(n, _limit) if _limit else n


@contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """Within the block, at most ``threads`` cores for tierwise's own threads
    (:func:`cores`), Arrow's thread pool and the BLAS/OpenMP libraries (threadpoolctl);
    each is restored on leaving. Nothing changes when ``threads`` is None.

    Examples
    --------
    >>> with thread_limit(1):
    ...     pa.cpu_count()
    1
    """
    global _limit
    if not threads:
        yield
        return
    from threadpoolctl import threadpool_limits

    before, arrow_before = _limit, pa.cpu_count()
    _limit = int(threads)
    pa.set_cpu_count(min(arrow_before, _limit))
    try:
        with threadpool_limits(limits=_limit):
            yield
    finally:
        _limit = before
        pa.set_cpu_count(arrow_before)


class _InCaller(Executor):
    """An executor that runs each task in the caller as it is submitted (one core)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        done: Future[T] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except Exception as exc:
            done.set_exception(exc)
        return done


def pool(workers: int, name: str = "tierwise") -> Executor:
    """An executor of at most ``workers`` threads and :func:`cores`; with one, the tasks
    run in the caller as they are submitted (no thread is started).

    Examples
    --------
    >>> with thread_limit(1), pool(4) as p:
    ...     p.submit(sum, [1, 2]).result()
    3
    """
    n = max(1, min(workers, cores()))
    if n == 1:
        return _InCaller()
    return ThreadPoolExecutor(max_workers=n, thread_name_prefix=name)


def in_background(fn: Callable[..., T], /, *args: Any, name: str = "tierwise") -> Future[T]:
    """``fn(*args)`` run in a thread of its own, named ``name``; the future holds its result
    (or its exception, raised when the result is asked for). With one core
    (:func:`cores`), ``fn`` runs in the caller before this returns.

    Examples
    --------
    >>> in_background(sum, [1, 2, 3]).result()
    6
    """
    if cores() == 1:
        return _InCaller().submit(fn, *args)
    p = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    try:
        return p.submit(fn, *args)
    finally:
        p.shutdown(wait=False)  # the thread ends when ``fn`` returns
