"""docs/columns.md is the data dictionary written from the stage registry: never stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location(
        "gen_columns_doc", ROOT / "scripts" / "gen_columns_doc.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_data_dictionary_is_up_to_date() -> None:
    mod = _script()
    assert (ROOT / "docs" / "columns.md").read_text(encoding="utf-8") == mod.render(), (
        "docs/columns.md is stale: run python scripts/gen_columns_doc.py"
    )


def test_every_column_appears_once_with_its_owner() -> None:
    from tierwise import registry

    text = (ROOT / "docs" / "columns.md").read_text(encoding="utf-8")
    for owner, col in registry.columns():
        assert text.count(f"| `{col.name}` |") == 1, col.name
        assert owner == "inputs" or f"## stage `{owner}`" in text
