"""One settings model for the whole run, loaded from ``tierwise.toml``.

Each stage reads only its own section. Every field carries its unit and default in its
docstring; ``tierwise init`` writes them out as a commented settings file.

Example
-------
>>> from tierwise.settings import Settings
>>> s = Settings()
>>> s.validate_.future_tolerance_days
2
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import Problems, SettingsError
from ._base import unknown_name
from .accounts import AccountSettings
from .coverage import CoverageSettings
from .crosssell import CrossSellSettings
from .demo import DemoSettings
from .features import FeatureSettings
from .inputs import TableInput, shared_column_clashes, shared_column_fix
from .lifetime import LifetimeSettings
from .output import OutputSettings
from .potential import PotentialSettings
from .profitability import ProfitabilitySettings
from .report import ReportSettings
from .run import RunSettings
from .segments import FOLLOW_CLASSES, SegmentSettings, follow_renamed_classes, renamed_classes
from .terms import TermsSettings
from .validate import ValidateSettings

__all__ = [
    "INPUT_TABLES",
    "AccountSettings",
    "CoverageSettings",
    "DemoSettings",
    "FeatureSettings",
    "LifetimeSettings",
    "OutputSettings",
    "PotentialSettings",
    "ProfitabilitySettings",
    "ReportSettings",
    "RunSettings",
    "Settings",
    "TableInput",
    "ValidateSettings",
    "load_settings",
]

INPUT_TABLES = (
    "transactions",
    "customers",
    "activities",
    "payments",
    "prospects",
    "reps",
    "market",
)


class Settings(BaseModel):
    """Every setting of a run. Sections match the headings of tierwise.toml."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    run: RunSettings = Field(default_factory=RunSettings)
    # input tables
    transactions: TableInput = Field(default_factory=TableInput)
    customers: TableInput = Field(default_factory=TableInput)
    activities: TableInput = Field(default_factory=TableInput)
    payments: TableInput = Field(default_factory=TableInput)
    prospects: TableInput = Field(default_factory=TableInput)
    reps: TableInput = Field(default_factory=TableInput)
    market: TableInput = Field(default_factory=TableInput)
    # stages, in pipeline order
    validate_: ValidateSettings = Field(default_factory=ValidateSettings, alias="validate")
    accounts: AccountSettings = Field(default_factory=AccountSettings)
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    profitability: ProfitabilitySettings = Field(default_factory=ProfitabilitySettings)
    lifetime: LifetimeSettings = Field(default_factory=LifetimeSettings)
    potential: PotentialSettings = Field(default_factory=PotentialSettings)
    segments: SegmentSettings = Field(default_factory=SegmentSettings)
    coverage: CoverageSettings = Field(default_factory=CoverageSettings)
    crosssell: CrossSellSettings = Field(default_factory=CrossSellSettings)
    terms: TermsSettings = Field(default_factory=TermsSettings)
    output: OutputSettings = Field(default_factory=OutputSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    demo: DemoSettings = Field(default_factory=DemoSettings)

    @model_validator(mode="before")
    @classmethod
    def _renamed_classes(cls, data: Any) -> Any:
        # the four built-in classes renamed in [segments] classes: what the settings key by
        # class and the user left out follows the new names by place
        return follow_renamed_classes(data) if isinstance(data, dict) else data

    def table_input(self, name: str) -> TableInput:
        """The input section of a canonical table."""
        value = getattr(self, name)
        assert isinstance(value, TableInput)
        return value

    def referenced_files(self) -> list[tuple[str, str]]:
        """Files the settings name besides the inputs: (setting, path)."""
        files = [("[accounts] decisions_file", f) for f in self.accounts.decisions_files]
        if self.segments.overrides_file:
            files.append(("[segments] overrides_file", self.segments.overrides_file))
        return files

    def to_dict(self) -> dict[str, Any]:
        """Settings as plain JSON-ready data (for the manifest), section names as in the file."""
        return self.model_dump(mode="json", by_alias=True)

    def with_updates(self, **sections: dict[str, Any]) -> Settings:
        """A copy with some fields of some sections replaced (validated again)."""
        # only what was set, so that a section still tells given values from defaults
        data = self.model_dump(by_alias=True, exclude_unset=True)
        if renamed_classes(self.segments.classes) is not None:
            # what renamed classes took by place is taken again from the classes given now
            base = settings_from_dict({"segments": {"classes": dict(self.segments.classes)}})
            for sec, key in FOLLOW_CLASSES:
                if getattr(getattr(self, sec), key) == getattr(getattr(base, sec), key):
                    data.get(sec, {}).pop(key, None)
        for section, fields in sections.items():
            key = "validate" if section == "validate_" else section
            data.setdefault(key, {}).update(fields)
        return settings_from_dict(data)


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The settings model of the table at ``loc`` (a section, or a table within one such as
    ``segments.programmes.gold``), or ``None`` where it is no model's table."""
    model: type[BaseModel] = Settings
    i = 0
    while i < len(loc):
        field = next(
            (f for n, f in model.model_fields.items() if loc[i] in (n, f.alias)),
            None,
        )
        if field is None:
            return None
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model, i = ann, i + 1
            continue
        # a table of entries keyed by name (tier, class, …), each entry a model
        value = typing.get_args(ann)[-1] if typing.get_origin(ann) is dict else None
        if isinstance(value, type) and issubclass(value, BaseModel) and i + 1 < len(loc):
            model, i = value, i + 2
            continue
        return None
    return model


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The valid keys at the level of ``loc`` (for 'did you mean' suggestions)."""
    model = _model_at(loc[:-1])
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _home_sections(key: str, headings: bool = False) -> list[str]:
    """The sections that have a setting named ``key`` (``[name]`` with ``headings``)."""
    homes = []
    for name, field in Settings.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel) and key in ann.model_fields:
            homes.append(field.alias or name)
    return [f"[{h}]" for h in homes] if headings else homes


def _setting_names() -> list[str]:
    """The names of every section's settings, each once."""
    names: dict[str, None] = {}
    for field in Settings.model_fields.values():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            names.update(dict.fromkeys(ann.model_fields))
    return list(names)


def _either(names: list[str]) -> str:
    """``[a]``, ``[a] or [b]``, ``[a], [b] or [c]``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _line_of(text: str | None, key: str) -> int | None:
    """The number of the line that gives ``key`` a value at the top of a TOML text (the
    first line ``key = …``, bare or quoted: a key above the first heading comes before any
    other), or ``None``.

    Examples
    --------
    >>> _line_of('# mine\\nsed = 3\\n[run]\\nseed = 3\\n', "sed")
    2
    >>> _line_of('"engine" = "spark"\\n', "engine"), _line_of("[run]\\n", "engine")
    (1, None)
    """
    if text is None:
        return None
    bare = re.escape(key)
    pattern = re.compile(rf"""\s*(?:{bare}|"{bare}"|'{bare}')\s*=""")
    # lines as TOML counts them: at a newline only (splitlines also splits at U+2028)
    for number, line in enumerate(text.split("\n"), start=1):
        if pattern.match(line):
            return number
    return None


def _above_headings(key: str, source: str, line: int | None) -> SettingsError:
    """A ``key = value`` above the first [section] heading (on ``line``, when known): where
    it belongs, if anywhere."""
    homes = _home_sections(key, True)
    if _model_at((key,)) is not None:  # a section's name given a value
        fix = f": [{key}] is itself a heading, on a line of its own with its settings below it"
    elif homes:
        fix = f": {key} belongs under {_either(homes)}"
    elif close := difflib.get_close_matches(key, _setting_names(), n=1, cutoff=0.6):
        fix = f" (did you mean {close[0]}, under {_either(_home_sections(close[0], True))}?)"
    else:
        fix = f" (no section has a setting named {key})"
    if line is None:
        return SettingsError(f"{source}: {key} is outside any section; settings go in one{fix}")
    return SettingsError(
        f"{source} line {line}: {key} is above the first [section] heading; settings go under "
        f"a [section] heading{fix}"
    )


def _quotes(msg: str, value: Any) -> bool:
    """Whether a message already names the value it refuses (or one of a list's)."""
    if isinstance(value, list):
        return any(repr(v) in msg for v in value)
    return repr(value) in msg


_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*")

#: the words by which a setting's description says it is a fraction (an exponent, a
#: correlation or a learning rate bounded by 1 is none)
_FRACTION_WORDS = re.compile(r"\b(fraction|share|probability|quantile)\b", re.IGNORECASE)


def _fraction_fix(err: dict[str, Any]) -> str:
    """``; … 30% is written 0.3`` where a fraction may be written as a percentage (30% or 30)."""
    value = err.get("input")
    loc = tuple(err["loc"])
    model = _model_at(loc[:-1])
    field = model.model_fields.get(str(loc[-1])) if model else None
    bounds = (
        [(getattr(m, "le", None), getattr(m, "lt", None)) for m in field.metadata] if field else []
    )
    percent = None
    if not any(1 in b for b in bounds) or not (
        field and _FRACTION_WORDS.search(field.description or "")
    ):
        return ""
    if isinstance(value, str) and (m := _PERCENT.fullmatch(value)):
        percent = float(m.group(1))
    elif isinstance(value, int | float) and not isinstance(value, bool) and 1 < value <= 100:
        percent = float(value)
    if percent is None:
        return ""
    return f"; it is a fraction: {percent:g}% is written {percent / 100:g}"


def _describe(err: dict[str, Any], source: str, text: str | None = None) -> SettingsError:
    loc = tuple(err["loc"])
    if len(loc) == 1 and not isinstance(err.get("input"), dict):
        # a key = value above the first [section] heading (a [[section]] is no such line;
        # a mapping given in Python has no lines)
        line = _line_of(text, str(loc[0]))
        if line is not None or (text is None and err["type"] == "extra_forbidden"):
            return _above_headings(str(loc[0]), source, line)
    if err["type"] == "extra_forbidden":
        key = str(loc[-1])
        close = difflib.get_close_matches(key, _known_keys(loc), n=1, cutoff=0.6)
        homes = [f"[{h}]" for h in _home_sections(key) if h != loc[0]]
        fix = f" (did you mean {close[0]}?)" if close else ""
        if homes and not close:
            where = "that heading" if len(homes) == 1 else "one of those headings"
            fix = f" (a setting of {' and '.join(homes)}: move it under {where})"
        elif len(loc) == 1 and not close:
            known = ", ".join(_known_keys(loc))
            fix = f" (this version of tierwise has the sections {known})"
        what = "unknown section" if len(loc) == 1 else "unknown setting"
        msg = f"{what}{fix}"
    else:
        msg = err["msg"].removeprefix("Value error, ")
        if "input" in err and not isinstance(err["input"], dict) and not _quotes(msg, err["input"]):
            msg = f"{msg} (got {err['input']!r})"
        msg += _fraction_fix(err)
        if str(err["type"]).startswith("date_"):
            msg += "; write the date as YYYY-MM-DD, e.g. 2025-12-31"
    if len(loc) == 1:
        return SettingsError(f"{source} [{loc[0]}]: {msg}")
    section = ".".join(str(p) for p in loc[:-1])
    return SettingsError(f"{source} [{section}] {loc[-1]}: {msg}")


def _given(value: dict[str, Any], default: dict[str, Any]) -> list[str]:
    """The keys of a table that are not untouched entries of its default."""
    return [k for k, v in value.items() if k not in default or default[k] != v]


def cross_checks(s: Settings) -> list[tuple[str, str, str]]:
    """Names one section uses that another defines, and columns of a file mapped twice
    where they cannot be (:func:`~tierwise.settings.inputs.cannot_share`): (section,
    setting, problem) each."""
    base = Settings()
    problems: list[tuple[str, str, str]] = []
    for name in INPUT_TABLES:
        for a, b, source in shared_column_clashes(name, s.table_input(name).columns):
            problems.append(
                (
                    f"{name}.columns",
                    a,
                    f"reads the column {source!r}, as {b} does; {shared_column_fix(a, b)}",
                )
            )
    classes = list(s.segments.classes)
    class_tables = (
        ("terms", "headroom_capture", s.terms.headroom_capture, base.terms.headroom_capture),
        ("terms", "retention_target", s.terms.retention_target, base.terms.retention_target),
        ("terms", "discount_bands", s.terms.discount_bands, base.terms.discount_bands),
        ("coverage", "response", s.coverage.response, base.coverage.response),
    )
    for section, key, table, default in class_tables:
        for name in _given(table, default):
            if name not in classes:
                problems.append(
                    (section, key, unknown_name(name, "class", classes, "([segments] classes)"))
                )
    # a channel band or route names a plan channel or a band of [coverage] band_channels
    # (whatever its case: CoverageSettings.channel_named)
    channels = list(dict.fromkeys([*s.coverage.channels, *s.coverage.band_channels]))
    for tier, prog in s.segments.programmes.items():
        for name in prog.channels:
            if s.coverage.channel_named(name) is None:
                where = "([coverage] channels and band_channels)"
                problems.append(
                    (
                        f"segments.programmes.{tier}",
                        "channels",
                        unknown_name(name, "channel", channels, where),
                    )
                )
    # a band given names plan channels: a name that is none would allow the band nothing
    plan = list(s.coverage.channels)
    for band in _given(s.coverage.band_channels, base.coverage.band_channels):
        for name in s.coverage.band_channels[band]:
            if s.coverage.channel_named(name, bands=False) is None:
                problems.append(
                    (
                        "coverage.band_channels",
                        band,
                        unknown_name(name, "channel", plan, "([coverage] channels)"),
                    )
                )
    # the win-back tiers given are tiers of [segments] programmes (the default names a tier
    # that tiers of one's own may lack: it then holds no account)
    tiers = list(s.segments.programmes)
    given = (
        s.coverage.winback_tiers if s.coverage.winback_tiers != base.coverage.winback_tiers else []
    )
    for name in given:
        if name not in tiers:
            problems.append(
                (
                    "coverage",
                    "winback_tiers",
                    unknown_name(name, "tier", tiers, "([segments] programmes)"),
                )
            )
    routes = s.terms.route_channels
    for pool in _given(routes, base.terms.route_channels):
        if routes[pool] != "none" and s.coverage.channel_named(routes[pool]) is None:
            where = "([coverage] channels and band_channels)"
            problems.append(
                ("terms", "route_channels", unknown_name(routes[pool], "channel", channels, where))
            )
    # a terms name given in a [terms] table is the name of a tier or of a programme's terms
    terms_names = list(
        dict.fromkeys(
            [*s.segments.programmes, *(p.terms for p in s.segments.programmes.values() if p.terms)]
        )
    )
    used = list(dict.fromkeys([*terms_names, s.terms.default_terms]))
    for key in (
        "min_order_value",
        "max_deliveries_per_month",
        "payment_days",
        "rebate_ladder",
        "prompt_payment_rebate",
    ):
        table = getattr(s.terms, key)
        for name in _given(table, getattr(base.terms, key)):
            if name not in used:
                problems.append(
                    (
                        "terms",
                        key,
                        unknown_name(name, "terms", used, "(no tier or programme uses it)"),
                    )
                )
    return problems


def settings_from_dict(
    data: dict[str, Any], source: str = "settings", text: str | None = None
) -> Settings:
    """Validate a settings mapping, reporting every problem as one line each; ``text``,
    the TOML the mapping was read from, gives the line of a setting above the first
    [section] heading."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        errors: list[SettingsError] = []
        missing: dict[tuple[Any, ...], list[str]] = {}
        for e in exc.errors():
            loc = tuple(e["loc"])
            if e["type"] == "missing" and len(loc) >= 3:
                missing.setdefault(loc[:-1], []).append(str(loc[-1]))
            else:
                errors.append(_describe(dict(e), source, text))
        for loc, keys in missing.items():
            # an entry of a table that is not among the defaults' keys states all of its settings
            section = ".".join(str(p) for p in loc[:-1])
            errors.append(
                SettingsError(
                    f"{source} [{section}] {loc[-1]}: give {', '.join(keys)} (an entry the "
                    "defaults do not name states all of its settings)"
                )
            )
        Problems.raise_if_any(errors)
        raise  # pragma: no cover - raise_if_any always raises here
    Problems.raise_if_any(
        [
            SettingsError(f"{source} [{sec}] {key}: {msg}")
            for sec, key, msg in cross_checks(settings)
        ]
    )
    return settings


_TOML_AT = re.compile(r"\(at line (\d+), column \d+\)")


def _toml_fix(text: str, error: str) -> str:
    """What to do about a TOML syntax error that people make by hand, as ``; …``."""
    # lines as TOML counts them: at a newline only (splitlines also splits at U+2028)
    lines = text.split("\n")
    at = _TOML_AT.search(error)
    line = lines[int(at.group(1)) - 1] if at and int(at.group(1)) <= len(lines) else ""
    first = next((x for x in lines if x.strip() and not x.lstrip().startswith("#")), "")
    if "=" not in first and not first.lstrip().startswith("[") and re.search(r"[,;\t]", first):
        return (
            "; this looks like a table of data (a CSV file), not settings: give --config a "
            "tierwise.toml ('tierwise init' writes one) and the data file as an input "
            "(--customers FILE or [customers] path)"
        )
    if "Invalid hex value" in error or "Unescaped '\\'" in error:
        return (
            '; a backslash in a "…" string starts an escape: write a Windows path in single '
            "quotes ('C:\\Users\\…') or with forward slashes (\"C:/Users/…\")"
        )
    if "Cannot overwrite a value" in error:
        key = line.partition("=")[0].strip() if "=" in line else "a setting"
        return f"; {key} is given twice: keep one of them"
    if "Cannot declare" in error and "twice" in error:
        return f"; {line.strip() or 'a section'} is given twice: put its settings under one heading"
    if "Illegal character" in error and line.count('"') % 2 == 1:
        return "; a string is not closed: end it with a quote on the same line"
    if re.search(r"=\s*\d{4}/\d{1,2}/\d{1,2}", line):
        return "; write a date as YYYY-MM-DD, e.g. 2025-12-31"
    return ""


def _path_settings(s: Settings) -> list[tuple[str, str]]:
    """Every path the settings give: (setting, path)."""
    paths = [(f"[{n}] path", s.table_input(n).path or "") for n in INPUT_TABLES]
    paths.append(("[run] temp_directory", s.run.temp_directory or ""))
    return [*paths, *s.referenced_files()]


def _home(path: str | Path) -> str:
    """``path`` with a leading ``~`` or ``~user`` read as that home folder, as the shell reads
    it; a ``~name`` that names no user (a file called so) is left as written."""
    return os.path.expanduser(str(path))


def load_settings(path: str | Path | None) -> Settings:
    """Read and validate ``tierwise.toml``; ``None`` gives the defaults.

    Raises
    ------
    SettingsError
        One line per problem: ``tierwise.toml [coverage] capasity_hours: unknown setting
        (did you mean capacity_hours?)``.
    """
    if path is None:
        return Settings()
    p = Path(path)
    if p.is_dir():
        found = p / "tierwise.toml"
        hint = f"; give {found}" if found.is_file() else " (run 'tierwise init' to write one)"
        raise SettingsError(f"{p}: a folder, not a settings file{hint}")
    if not p.is_file():
        raise SettingsError(f"{p}: settings file not found (run 'tierwise init' to write one)")
    try:
        text = p.read_text(encoding="utf-8-sig")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{p}: not UTF-8 text ({exc.reason}); save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{p}: not valid TOML: {exc}{_toml_fix(text, str(exc))}") from exc
    settings = settings_from_dict(data, source=p.name, text=text)
    Problems.raise_if_any(
        [
            SettingsError(
                f'{p.name} {setting}: {path!r} holds a tab or line break (in a "…" string '
                "\\t, \\n and \\r are escapes): write a Windows path in single quotes "
                "('C:\\data\\new.csv') or with forward slashes (\"C:/data/new.csv\")"
            )
            for setting, path in _path_settings(settings)
            if re.search(r"[\x00-\x1f]", path)
        ]
    )
    # relative input paths are relative to the settings file; ~ is the user's home, as
    # the shell reads it on the command line
    updates: dict[str, dict[str, Any]] = {}
    for name in INPUT_TABLES:
        ti = settings.table_input(name)
        if ti.path and "://" not in ti.path and not Path(ti.path).is_absolute():
            updates[name] = {"path": str((p.parent / _home(ti.path)).resolve())}
    files = settings.accounts.decisions_files
    if any(not Path(f).is_absolute() for f in files):
        resolved = [str((p.parent / _home(f)).resolve()) for f in files]
        as_given = settings.accounts.decisions_file
        updates["accounts"] = {
            "decisions_file": resolved[0] if isinstance(as_given, str) else resolved
        }
    overrides = settings.segments.overrides_file
    if overrides and not Path(overrides).is_absolute():
        updates["segments"] = {"overrides_file": str((p.parent / _home(overrides)).resolve())}
    spill = settings.run.temp_directory
    if spill and not Path(spill).is_absolute():
        updates["run"] = {"temp_directory": str((p.parent / _home(spill)).resolve())}
    return settings.with_updates(**updates) if updates else settings
