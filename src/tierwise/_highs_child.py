"""The HiGHS MILP solve run in a child process (see :func:`tierwise._highs.solve_milp`).

Run as a script (``python _highs_child.py``), not imported: it needs only numpy and
highspy, so the child starts without importing tierwise. It reads one pickled request from
stdin (the model's column-wise arrays, the options, the wall-clock deadline) and writes
pickled messages to its stdout: ``("incumbent", {...})`` for each improving solution HiGHS
finds (so that a child stopped from outside still leaves its best plan behind), then
``("done", {...})`` with HiGHS's status, info and solution, or ``("error", text)``.

HiGHS's output is off, and file descriptor 1 is pointed at stderr before highspy is loaded,
so that nothing but the messages reaches the pipe.
"""

from __future__ import annotations

import os
import pickle
import sys
import time
import traceback
from typing import Any, BinaryIO


def _send(out: BinaryIO, kind: str, payload: Any) -> None:
    pickle.dump((kind, payload), out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()


def _solve(req: dict[str, Any], out: BinaryIO) -> None:
    import highspy
    import numpy as np

    lp = highspy.HighsLp()
    lp.num_col_ = int(req["num_col"])
    lp.num_row_ = int(req["num_row"])
    lp.col_cost_ = req["col_cost"]
    lp.col_lower_ = req["col_lower"]
    lp.col_upper_ = req["col_upper"]
    lp.row_lower_ = req["row_lower"]
    lp.row_upper_ = req["row_upper"]
    lp.sense_ = highspy.ObjSense.kMaximize if req["maximize"] else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = req["start"]
    lp.a_matrix_.index_ = req["index"]
    lp.a_matrix_.value_ = req["value"]
    lp.a_matrix_.num_col_ = lp.num_col_
    lp.a_matrix_.num_row_ = lp.num_row_
    lp.integrality_ = [highspy.HighsVarType.kInteger] * lp.num_col_

    h = highspy._Highs()  # type: ignore[attr-defined]
    h.setOptionValue("output_flag", False)
    # the time left of the caller's limit (the child's start-up counts against it)
    left = float(req["deadline"]) - time.time()
    h.setOptionValue("time_limit", max(left, 0.01))
    for key, val in req["options"].items():
        h.setOptionValue(key, val)

    improving = highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution

    def callback(kind: Any, _msg: str, data_out: Any, _data_in: Any, _user: Any) -> None:
        if kind == improving:
            _send(
                out,
                "incumbent",
                {
                    "x": np.array(data_out.mip_solution, dtype=np.float64),
                    "objective": float(data_out.objective_function_value),
                    "dual_bound": float(data_out.mip_dual_bound),
                    "seconds": float(data_out.running_time),
                },
            )

    h.setCallback(callback, None)
    h.startCallback(improving)
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    done: dict[str, Any] = {
        "model_status": int(status),
        "status": h.modelStatusToString(status),
        "primal_solution_status": int(info.primal_solution_status),
        "objective": float(info.objective_function_value),
        "dual_bound": float(info.mip_dual_bound),
        "mip_gap": float(info.mip_gap),
        "nodes": int(info.mip_node_count),
        "x": None,
    }
    if info.primal_solution_status == 2:  # feasible
        done["x"] = np.asarray(h.getSolution().col_value, dtype=np.float64)
    _send(out, "done", done)


def main() -> None:
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray solver text goes to stderr, never into the message pipe
    sys.stdout = sys.stderr
    try:
        req = pickle.load(sys.stdin.buffer)
        _solve(req, out)
    except BaseException:
        _send(out, "error", traceback.format_exc())
    out.close()


if __name__ == "__main__":
    main()
