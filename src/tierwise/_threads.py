"""The threads tierwise runs its own work on, within the cores a run may use.

``[run] threads`` bounds the engine's threads and, through :func:`thread_limit`, sizes
the pools tierwise starts itself (model fits, the quadrature of the lifetime model, writing
the output files and plan.xlsx), Arrow's thread pool and the BLAS/OpenMP libraries'. With
one core, work handed to a thread runs in the caller instead, as it is handed over.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import pyarrow as pa

__all__ = ["cores", "in_background", "limit", "machine_cores", "pool", "thread_limit"]

T = TypeVar("T")

#: The cores the runs in progress set with :func:`thread_limit` (the smallest applies;
#: none: no limit). Module-wide, not per thread: the pools a run starts read it from their
#: own threads.
_limits: list[int] = []
#: As they were before the first run in progress set its limit (restored when the last
#: ends): Arrow's thread count, each BLAS/OpenMP interface's fewest threads, and a
#: threadpoolctl limiter that changed nothing, holding every library's own count.
_saved: tuple[int, dict[str, int], Any] | None = None
_lock = threading.Lock()


def machine_cores() -> int:
    """Every core the process may run on (its CPU affinity)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def cores() -> int:
    """The cores tierwise's own threads may use: the smallest ``[run] threads`` of the runs
    in progress (:func:`thread_limit`), else every core the process may run on.

    Examples
    --------
    >>> with thread_limit(1):
    ...     cores()
    1
    """
    n, lim = machine_cores(), limit()
    return min(n, lim) if lim else n


def limit() -> int | None:
    """The smallest ``[run] threads`` of the runs in progress, None when none set one (for
    a library whose own default should stand without a limit)."""
    limits = _limits
    return min(limits) if limits else None


def _apply(threads: int) -> None:
    """Arrow's pool and each BLAS/OpenMP library held to ``threads`` (never raised above
    the count it had before the first limit)."""
    from threadpoolctl import threadpool_limits

    assert _saved is not None
    arrow, own, _ = _saved
    pa.set_cpu_count(max(1, min(arrow, threads)))
    threadpool_limits(limits={api: max(1, min(n, threads)) for api, n in own.items()})


@contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """Within the block, at most ``threads`` cores for tierwise's own threads
    (:func:`cores`), Arrow's thread pool and the BLAS/OpenMP libraries (threadpoolctl; a
    library is never given more threads than it had). Nothing changes when ``threads`` is
    None. Runs in progress at once (threads of one process) share the smallest limit; the
    counts are restored when the last of them leaves, whatever it raised.

    Examples
    --------
    >>> before = pa.cpu_count()
    >>> with thread_limit(1):
    ...     pa.cpu_count()
    1
    >>> pa.cpu_count() == before
    True
    """
    global _saved
    if not threads:
        yield
        return
    from threadpoolctl import threadpool_info, threadpool_limits

    with _lock:
        if not _limits:
            own: dict[str, int] = {}
            for lib in threadpool_info():
                api, n = str(lib["user_api"]), int(lib["num_threads"])
                own[api] = min(own.get(api, n), n)
            _saved = (pa.cpu_count(), own, threadpool_limits(limits=None))
        _limits.append(int(threads))
        _apply(min(_limits))
    try:
        yield
    finally:
        with _lock:
            _limits.remove(int(threads))
            if _limits:
                _apply(min(_limits))
            elif _saved is not None:
                arrow, _, limiter = _saved
                _saved = None
                limiter.restore_original_limits()
                pa.set_cpu_count(arrow)


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
