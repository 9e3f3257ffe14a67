"""docs/settings.md, the reference of every setting, is generated and kept up to date."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from pydantic import BaseModel

from tierwise.settings import INPUT_TABLES, Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "settings.md"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_settings_docs", ROOT / "scripts" / "gen_settings_docs.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_settings_reference_is_up_to_date() -> None:
    current = DOCS.read_text(encoding="utf-8")
    assert current == _generator().render(), (
        "docs/settings.md is stale: run python scripts/gen_settings_docs.py"
    )


def test_settings_reference_documents_every_setting_with_its_default() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        section = field.alias or name
        model = field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        if section not in INPUT_TABLES:
            assert f"\n## [{section}]\n" in docs, section
        for fname in model.model_fields:
            assert f"- **`{fname}`** (" in docs, f"[{section}] {fname} not in docs/settings.md"


def test_type_and_default_are_written_as_in_tierwise_toml() -> None:
    gen = _generator()
    assert gen.type_name(int | None) == "int or none"
    assert gen.type_name(list[float]) == "list[float]"
    assert gen.value_text({"visit": 1.5}) == "{visit = 1.5}"
    assert gen.value_text(None) == "none" and gen.value_text(False) == "false"
