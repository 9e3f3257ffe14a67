"""The one machine-readable line each benchmark prints per figure, read by run_all.py.

A line is ``FIGURE {json}`` with the figure's name, tierwise's value, the peer's or limit's
value measured in the same run (and what it is), and the unit; ratio = tierwise / peer.
"""

from __future__ import annotations

import json
import resource
import sys

PREFIX = "FIGURE "


def figure(
    name: str,
    tierwise: float,
    peer: float | None = None,
    peer_name: str | None = None,
    unit: str = "s",
    note: str = "",
) -> None:
    """Print one figure for run_all.py (after the script's own human-readable lines)."""
    line = {
        "figure": name,
        "tierwise": round(float(tierwise), 4),
        "peer": None if peer is None else round(float(peer), 4),
        "peer_name": peer_name,
        "unit": unit,
        "note": note,
    }
    print(PREFIX + json.dumps(line), flush=True)
    sys.stdout.flush()


def peak_mib() -> float:
    """This process's peak resident memory in MiB: on Linux the high-water mark of its own
    memory (``VmHWM``), which starts afresh when a benchmark's child process starts its
    program. ``ru_maxrss`` does not: a child started from a parent that generated the data
    reports the parent's peak when that was larger."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024 / (1024 if sys.platform == "darwin" else 1)
