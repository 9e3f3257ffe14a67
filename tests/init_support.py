"""What the tests of ``tierwise init`` on real systems' exports share: a file's guesses, the
settings init writes for files, and those settings read as one line."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tierwise.io.sample import read_sample
from tierwise.settings import load_settings
from tierwise.settings._guess import TableGuess, guess_table
from tierwise.settings.template import init_settings


def guess_file(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> TableGuess:
    """The guesses for a transactions file of the given text, written as ``name``."""
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return guess_table("transactions", read_sample(path, name="transactions"))


def init_paths(tmp_path: Path, paths: dict[str, Path]) -> tuple[str, dict[str, object]]:
    """The settings init writes for the given input files, loaded back as the run loads
    them; the text and the parsed TOML."""
    settings = tmp_path / "tierwise.toml"
    result = init_settings(paths, settings_path=settings)
    settings.write_text(result.text, encoding="utf-8")
    load_settings(settings)  # every proposal is a setting the run reads
    return result.text, tomllib.loads(result.text)


def init_file(tmp_path: Path, name: str, text: str) -> tuple[str, dict[str, object]]:
    """:func:`init_paths` of a transactions file of the given text, written as ``name``."""
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return init_paths(tmp_path, {"transactions": path})


def flat(text: str) -> str:
    """The settings text as one line, comment marks left out (a wrapped note read whole)."""
    return " ".join(w for ln in text.splitlines() for w in ln.removeprefix("#").split())
