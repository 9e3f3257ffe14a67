"""[run] threads for tierwise's own work: the limit, its sharing between runs, and the
pools that follow it."""

from __future__ import annotations

import threading

import numpy as np  # noqa: F401  (loads the BLAS library whose threads are limited)
import pyarrow as pa
import pytest
from threadpoolctl import threadpool_info

from tierwise._threads import cores, in_background, machine_cores, pool, thread_limit


def _blas() -> list[int]:
    return sorted(int(lib["num_threads"]) for lib in threadpool_info())


def test_runs_at_once_share_the_smallest_limit_and_the_last_restores_the_counts() -> None:
    arrow, blas = pa.cpu_count(), _blas()
    first, second = thread_limit(1), thread_limit(2)
    first.__enter__()
    second.__enter__()
    assert cores() == 1 and pa.cpu_count() == 1 and set(_blas()) == {1}
    # the first run ends: the second's limit holds, not the counts from before both
    first.__exit__(None, None, None)
    assert cores() == min(2, machine_cores())
    assert pa.cpu_count() == min(2, arrow)
    assert _blas() == sorted(min(2, n) for n in blas)
    second.__exit__(None, None, None)
    assert cores() == machine_cores() and pa.cpu_count() == arrow and _blas() == blas


def test_a_limit_never_raises_a_library_above_its_own_count_and_survives_an_error() -> None:
    arrow, blas = pa.cpu_count(), _blas()
    with thread_limit(64):
        assert pa.cpu_count() == arrow and _blas() == blas
    with pytest.raises(KeyError), thread_limit(1):
        raise KeyError("stage failed")
    assert cores() == machine_cores() and pa.cpu_count() == arrow and _blas() == blas


def test_with_one_core_the_work_runs_in_the_caller() -> None:
    here = threading.get_ident()
    before = threading.active_count()
    with thread_limit(1):
        assert in_background(threading.get_ident).result() == here
        with pool(4) as p:
            assert p.submit(threading.get_ident).result() == here
            # an error waits in the future, as it would from a thread
            failed = p.submit(int, "x")
        with pytest.raises(ValueError):
            failed.result()
    assert threading.active_count() == before


def test_with_more_cores_the_work_runs_in_threads() -> None:
    if machine_cores() < 2:
        pytest.skip("one core: every pool runs in the caller")
    here = threading.get_ident()
    with thread_limit(2), pool(4) as p:
        ids = {p.submit(threading.get_ident).result() for _ in range(4)}
    assert here not in ids
    assert in_background(threading.get_ident).result() != here
