"""HiGHS (highspy) instances that print nothing, and MILP solves that stop on time.

``highspy.Highs()`` prints HiGHS's banner as it is made, before any option can be set, so a
run's screen would show solver text. :func:`quiet_highs` makes the compiled solver class
(``highspy._Highs``, which the package exports alongside ``Highs``; the Python subclass only
adds callbacks and a modelling layer tierwise does not use) and turns its output off before
any other call.

:func:`solve_milp` runs a MILP in a child process and stops it from outside when it runs
past its time limit. HiGHS checks its ``time_limit`` only at some points of its work: its
MIP set-up (``HighsMipSolverData::runSetup``) partitions the objective's binaries into
cliques (``HighsObjectiveFunction::setupCliquePartition``) with no check of the clock and
no callback, and on the coverage MILP (one set-partitioning row per customer) that step
grows with the square of the customers: 10,000 customers spent about 7 s in it, 15,000 over
5 minutes, all past any limit. A thread cannot be stopped in the middle of compiled code; a
process can.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import highspy

__all__ = ["MilpResult", "hard_stop_grace", "quiet_highs", "solve_milp"]

_CHILD = Path(__file__).with_name("_highs_child.py")


def quiet_highs() -> Any:
    """A HiGHS solver with its output off (``output_flag`` false).

    Examples
    --------
    >>> h = quiet_highs()
    >>> h.getOptionValue("output_flag")[1]
    False
    """
    h = highspy._Highs()  # type: ignore[attr-defined]
    h.setOptionValue("output_flag", False)
    return h


def hard_stop_grace(time_limit: float) -> float:
    """Seconds past ``time_limit`` that :func:`solve_milp` waits for HiGHS to return by
    itself before it stops the child: 2 s and a tenth of the limit (HiGHS stops at its
    limit, then postsolves and hands back its solution).

    >>> hard_stop_grace(60.0)
    8.0
    """
    return 2.0 + 0.1 * float(time_limit)


@dataclass
class MilpResult:
    """What HiGHS returned, or what was left when it was stopped from outside.

    ``x`` is the solution (``None`` without a feasible one); ``model_status`` is HiGHS's
    model status as an int (``-1`` when the child was stopped); ``status`` its text.
    ``stopped`` is true when HiGHS did not return by the hard deadline and the child was
    ended: then ``x``, ``objective`` and ``dual_bound`` are the last improving solution the
    child reported (if any) and the dual bound HiGHS had then.
    """

    model_status: int
    status: str
    x: Any
    objective: float
    dual_bound: float
    mip_gap: float = float("nan")
    nodes: int = 0
    stopped: bool = False
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)


def _reader(stream: Any, inbox: queue.Queue[tuple[str, Any]]) -> None:
    """Unpickle the child's messages into ``inbox`` until its stdout closes."""
    try:
        while True:
            inbox.put(pickle.load(stream))
    except EOFError:
        pass
    except Exception as err:  # a message cut off as the child was ended
        inbox.put(("broken", repr(err)))
    inbox.put(("eof", None))


def solve_milp(
    model: dict[str, Any],
    *,
    time_limit: float,
    options: dict[str, Any] | None = None,
    grace: float | None = None,
    started: float | None = None,
) -> MilpResult:
    """Solve a MILP with HiGHS in a child process, stopped by ``time_limit`` + ``grace``.

    ``model`` holds the column-wise arrays (``num_col``, ``num_row``, ``col_cost``,
    ``col_lower``, ``col_upper``, ``row_lower``, ``row_upper``, ``start``, ``index``,
    ``value``) and ``maximize``; every column is integer. HiGHS gets the time left of
    ``time_limit`` (counted from ``started``, a :func:`time.time` value, default now) as its
    own ``time_limit``; if it has not returned ``grace`` seconds after that (default
    :func:`hard_stop_grace`), the child is killed and the result carries the best solution
    HiGHS had reported (``stopped`` true).

    Examples
    --------
    >>> import numpy as np
    >>> m = dict(num_col=2, num_row=1, col_cost=np.array([3.0, 2.0]),
    ...          col_lower=np.zeros(2), col_upper=np.ones(2), row_lower=np.array([-1e30]),
    ...          row_upper=np.array([1.0]), start=np.array([0, 1, 2], dtype=np.int32),
    ...          index=np.array([0, 0], dtype=np.int32), value=np.ones(2), maximize=True)
    >>> r = solve_milp(m, time_limit=30.0)
    >>> r.status, (r.x > 0.5).tolist(), r.objective, r.stopped
    ('Optimal', [True, False], 3.0, False)
    """
    started = time.time() if started is None else float(started)
    t0 = time.perf_counter() - (time.time() - started)
    grace = hard_stop_grace(time_limit) if grace is None else float(grace)
    hard = t0 + float(time_limit) + grace
    req = {**model, "options": dict(options or {}), "deadline": started + float(time_limit)}

    inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
    with tempfile.TemporaryFile() as err_file:
        # the child imports numpy and highspy from where this process found them
        path = os.pathsep.join(p for p in sys.path if p)
        proc = subprocess.Popen(
            [sys.executable, str(_CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err_file,
            env={**os.environ, "PYTHONPATH": path},
        )
        reader = threading.Thread(target=_reader, args=(proc.stdout, inbox), daemon=True)
        reader.start()
        assert proc.stdin is not None
        try:
            with contextlib.suppress(BrokenPipeError):
                pickle.dump(req, proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                proc.stdin.close()
            last: dict[str, Any] | None = None
            done: dict[str, Any] | None = None
            error = ""
            stopped = False
            while done is None:
                wait = hard - time.perf_counter()
                if wait <= 0:
                    stopped = True
                    break
                try:
                    kind, payload = inbox.get(timeout=wait)
                except queue.Empty:
                    stopped = True
                    break
                if kind == "incumbent":
                    last = payload
                elif kind == "done":
                    done = payload
                elif kind == "error":
                    error = str(payload)
                else:  # eof or a broken message: the child ended without an answer
                    break
        finally:
            if proc.poll() is None:
                proc.kill()  # our own child, by its handle
            proc.wait()
            reader.join(timeout=5.0)
            if proc.stdout is not None:
                proc.stdout.close()
        seconds = time.perf_counter() - t0
        if done is not None:
            return MilpResult(
                model_status=int(done["model_status"]),
                status=str(done["status"]),
                x=done["x"],
                objective=float(done["objective"]),
                dual_bound=float(done["dual_bound"]),
                mip_gap=float(done["mip_gap"]),
                nodes=int(done["nodes"]),
                seconds=seconds,
            )
        if stopped:
            return MilpResult(
                model_status=-1,
                status=(
                    f"stopped by tierwise {seconds:.1f} s after the start: HiGHS had not "
                    f"returned {grace:g} s past its {time_limit:g} s time limit"
                ),
                x=None if last is None else last["x"],
                objective=float("nan") if last is None else float(last["objective"]),
                dual_bound=float("inf") if last is None else float(last["dual_bound"]),
                stopped=True,
                seconds=seconds,
            )
        err_file.seek(0)
        text = error or err_file.read().decode(errors="replace")[-4000:]
        raise RuntimeError(
            f"the HiGHS child process ended without an answer (exit code {proc.returncode})"
            + (f":\n{text}" if text else "")
        )
