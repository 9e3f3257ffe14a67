"""Stopping a run: Ctrl-C exits 130 and SIGTERM 143, each with one line, leaving no output
folder half-written and no trace on the screen (whatever query the engine was running)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _tierwise() -> list[str]:
    return [sys.executable, "-c", "from tierwise.cli import main; main()"]


def _stop_midway(tmp_path: Path, sig: int, delay: float) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "demo"
    proc = subprocess.Popen(
        # 20,000 customers: the stages take several times the longest delay below even on a
        # fast machine, so the signal always lands while the run is under way
        [*_tierwise(), "demo", "--customers", "20000", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    # wait until the run is under way: the demo data is written before the stages start
    deadline = time.monotonic() + 240
    while not (out / "data" / "truth.parquet").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the demo did not start: {proc.communicate()}")
        time.sleep(0.2)
    time.sleep(delay)
    if proc.poll() is not None:
        pytest.fail(f"the run ended before the signal was sent: {proc.communicate()}")
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=240)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@pytest.mark.parametrize(
    ("sig", "code", "words", "delay"),
    [
        # during validation's queries, and later, in duplicate detection or the models
        (signal.SIGINT, 130, "interrupted", 1.0),
        (signal.SIGTERM, 143, "stopped", 1.0),
        (signal.SIGINT, 130, "interrupted", 4.0),
        (signal.SIGTERM, 143, "stopped", 4.0),
    ],
)
def test_a_stopped_run_exits_with_its_code_and_one_line(
    tmp_path: Path, sig: int, code: int, words: str, delay: float
) -> None:
    res = _stop_midway(tmp_path, sig, delay)
    assert res.returncode == code, (res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and words in lines[0], res.stderr
    assert "Traceback" not in res.stderr and "SELECT" not in res.stderr
    # nothing half-written is left beside the output folder
    leftovers = [p.name for p in (tmp_path / "demo").iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert not (tmp_path / "demo" / "output").exists()


# A run whose Ctrl-C lands in a finaliser: Python prints and drops an exception raised in
# __del__, so the run would carry on and write its output folder. The object below sends
# the signal from its own __del__, after the first stage, so the handler runs inside it.
_DROPPED_STOP = """
import os, signal, sys
import tierwise.pipeline as pipeline

class Finaliser:
    def __del__(self):
        os.kill(os.getpid(), signal.SIG{name})
        for _ in range(1000):  # the handler runs at one of these steps, inside __del__
            pass

fired = []
release = pipeline.give_back_memory

def give_back_memory(engine=None):
    if not fired:
        fired.append(True)
        Finaliser()
    return release(engine)

pipeline.give_back_memory = give_back_memory
from tierwise.cli import main
sys.argv = ["tierwise", "demo", "--customers", "300", "--out", sys.argv[1]]
main()
"""


@pytest.mark.parametrize(
    ("name", "code", "words"), [("INT", 130, "interrupted"), ("TERM", 143, "stopped")]
)
def test_a_stop_dropped_by_a_finaliser_still_stops_the_run(
    tmp_path: Path, name: str, code: int, words: str
) -> None:
    out = tmp_path / "demo"
    res = subprocess.run(
        [sys.executable, "-c", _DROPPED_STOP.format(name=name), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert res.returncode == code, (res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and words in lines[0], res.stderr
    assert "Exception ignored" not in res.stderr
    assert not (out / "output").exists()
