"""Each CLI test starts as a fresh ``tierwise`` process would: without the ``--debug`` an
earlier test in the same process passed (the flag is kept for the process's lifetime)."""

from __future__ import annotations

import pytest

from tierwise import cli


@pytest.fixture(autouse=True)
def _no_debug_from_an_earlier_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli._state, "debug", False)
