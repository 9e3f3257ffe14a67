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
    from tierwise.settings.coverage import ResponseParams

    shown = gen.value_text({"A": ResponseParams(s0=0.4, s1=0.7, c=1.2, d=6.0)})
    assert shown == "{A = {s0 = 0.4, s1 = 0.7, c = 1.2, d = 6.0}}"
    assert gen.value_text({"key with space": 1}) == '{"key with space" = 1}'
    assert gen.value_text(None) == "none" and gen.value_text(False) == "false"


def test_every_default_shown_reads_back_as_that_default() -> None:
    import re
    import tomllib

    from tierwise.settings import settings_from_dict

    base = Settings()
    sections = {field.alias or name: name for name, field in Settings.model_fields.items()}
    section = None
    checked = 0
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        head = re.match(r"^## \[(\w+)\]$", line)
        if head:
            section = head[1]
            continue
        m = re.match(r"^- \*\*`(\w+)`\*\* \([^;]*; default `(.*?)`\):", line)
        if m is None or section is None or m[2] == "none":
            continue
        name, shown = m[1], m[2]
        data = tomllib.loads(f"{name} = {shown}")  # valid TOML, as a user would copy it
        if isinstance(data[name], dict):
            # a table or model written as the settings' own tables, not as a model's text
            dumped = getattr(base, sections[section]).model_dump(mode="json")
            assert data[name] == dumped[name], (section, name, shown)
        settings = settings_from_dict({section: data})
        value = getattr(getattr(settings, sections[section]), name)
        assert value == getattr(getattr(base, sections[section]), name), (section, name)
        checked += 1
    assert checked > 100
