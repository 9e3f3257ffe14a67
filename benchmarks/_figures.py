"""The one machine-readable line each benchmark prints per figure, read by run_all.py.

A line is ``FIGURE {json}`` with the figure's name, tierwise's value, the peer's or limit's
value measured in the same run (and what it is), and the unit; ratio = tierwise / peer.
"""

from __future__ import annotations

import json
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
