"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium through Playwright.

Never a downloaded browser. The tests skip, saying why, only where /usr/bin/chromium is
absent (CI installs Debian's chromium package).

Every screenshot a test takes (a ``*.png`` in its ``tmp_path``) is kept as a test artefact
in ``artifacts/screenshots/`` under the repository root (gitignored; the environment
variable ``TIERWISE_SCREENSHOTS`` names another folder). The folder is emptied of the last
session's screenshots when a session starts, and its path is printed at the end.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: Where screenshots are kept, whatever the test's temporary folder.
SCREENSHOTS = Path(
    os.environ.get("TIERWISE_SCREENSHOTS")
    or Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
)
_kept: list[Path] = []

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """The artefacts folder, emptied of the screenshots of an earlier session."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    return SCREENSHOTS


@pytest.fixture(autouse=True)
def keep_screenshots(tmp_path: Path, screenshot_dir: Path) -> Iterator[None]:
    """Copy the screenshots a test took into :data:`SCREENSHOTS` (pass or fail)."""
    yield
    for shot in sorted(tmp_path.glob("*.png")):
        kept = screenshot_dir / shot.name
        shutil.copyfile(shot, kept)
        _kept.append(kept)
        print(f"screenshot kept: {kept}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _kept:
        terminalreporter.write_line(f"browser screenshots ({len(_kept)}): {SCREENSHOTS}")
