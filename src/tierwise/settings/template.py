"""``tierwise init``: a settings file written from the user's own files.

For each input given, init reads a sample of the file (:mod:`tierwise.io.sample`), guesses
which of its columns is which canonical column (:mod:`tierwise.settings._guess`) and writes
that input's section: the path relative to the settings file, the reading options the sample
calls for (decimal separator, date format), and the column mapping with the confidence and
the evidence of each guess. The file's columns left out are listed as comments, with what
they look like instead.

Only the sections of the inputs given are written; every other setting keeps its default.
docs/settings.md lists every setting with its unit and default (generated from the settings
models by ``scripts/gen_settings_docs.py``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import InputError, SettingsError
from ..schema import TABLES
from ._guess import TableGuess, guess_table, input_columns
from ._which import Sorted, sort_files

__all__ = ["InitResult", "closing_hint", "guess_columns", "init_settings", "settings_template"]

#: where the settings file's header sends readers for every other setting
SETTINGS_DOC = "docs/settings.md"
#: the output folder the closing hint suggests
SUGGESTED_OUT = "tierwise-out"
_WIDTH = 92


@dataclass(frozen=True)
class InitResult:
    """What ``tierwise init`` writes and says."""

    #: the settings file's text
    text: str
    #: the lines to print once the file is written (each command on a line of its own)
    hint: str
    #: the guesses, per input
    tables: dict[str, TableGuess] = field(default_factory=dict)
    #: the files given without an input named, as they were sorted into inputs
    sorted_files: Sorted | None = None


def guess_columns(
    table: str, source_columns: list[str], sample: pa.Table | None = None
) -> dict[str, str]:
    """Guess canonical → source column names from a header (and sampled values, if any).

    Columns that already carry the canonical name are left out: the run reads them as they
    are.

    Examples
    --------
    >>> guess_columns("transactions", ["Kundennummer", "Rechnungsdatum", "Menge", "revenue"])
    {'customer_id': 'Kundennummer', 'date': 'Rechnungsdatum', 'quantity': 'Menge'}
    """
    from ..io.sample import Sample

    data = sample if sample is not None else pa.table({})
    return guess_table(table, Sample("", "", list(source_columns), data)).mapping()


def init_settings(
    inputs: Mapping[str, str | Path] | None = None,
    *,
    settings_path: str | Path | None = None,
    files: Sequence[str | Path] = (),
) -> InitResult:
    """The settings file for the given inputs, with their columns guessed from samples.

    Parameters
    ----------
    inputs
        Input name (``transactions``, ``customers`` …) → file path or database URL.
    settings_path
        Where the file will be written: input paths are written relative to its folder
        (``load_settings`` reads them so). ``None`` writes absolute paths.
    files
        Files, folders of files and workbooks given without naming their input: each is
        taken for the input its columns and name fit (:func:`tierwise.settings._which.sort_files`),
        among those ``inputs`` does not give.

    Raises
    ------
    InputError
        An input file does not exist or cannot be read.
    SettingsError
        Two of ``files`` fit one input as well as each other, or one named fits none.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "sales.csv").write_text("Kundennr;Datum;Umsatz\\nK1;02.01.2024;10,5\\n")
    >>> r = init_settings({"transactions": d / "sales.csv"}, settings_path=d / "tierwise.toml")
    >>> 'path = "sales.csv"' in r.text, r.tables["transactions"].mapping()["revenue"]
    (True, 'Umsatz')
    """
    from ..io.sample import read_sample
    from . import INPUT_TABLES
    from .inputs import TableInput

    inputs = dict(inputs or {})
    unknown = [k for k in inputs if k not in INPUT_TABLES]
    if unknown:
        raise SettingsError(f"unknown input {unknown[0]!r}; inputs are {', '.join(INPUT_TABLES)}")
    spath = Path(settings_path) if settings_path is not None else None
    found = sort_files(files, inputs) if files else None
    if found is not None:
        inputs.update(found.inputs)
    sheets = found.sheets if found is not None else {}
    guesses: dict[str, TableGuess] = {}
    paths: dict[str, str] = {}
    for name in INPUT_TABLES:
        if name not in inputs:
            continue
        path = str(inputs[name])
        ti = TableInput(sheet=sheets[name]) if name in sheets else None
        try:
            sample = read_sample(path, ti, name=name)
        except InputError as exc:
            if exc.message == "file not found":
                raise InputError(
                    f"{name} file not found", file=path, hint=f"check the path given for {name}"
                ) from exc
            raise
        by_sheet = _best_sheet(name, path) if sample.fmt == "excel" and ti is None else None
        guess = by_sheet or guess_table(name, sample)
        if found is not None and name in found.why:
            taken = f"sheet {sheets[name]!r} of the workbook" if name in sheets else "the file"
            guess = dataclasses.replace(
                guess,
                notes=(f"{taken} was taken for the {name} {found.why[name]}", *guess.notes),
            )
        guesses[name] = guess
        paths[name] = _path_for(path, spath)
    text = _render(guesses, paths)
    hint = closing_hint(spath or Path("tierwise.toml"), guesses, found)
    return InitResult(text, hint, guesses, found)


def _best_sheet(name: str, path: str) -> TableGuess | None:
    """The guess on the sheet of a workbook whose columns fit input ``name`` best, with
    ``sheet`` set; ``None`` for a workbook of one sheet.

    A sheet fits better when more of the input's required columns are found on it, then when
    its guesses are surer and fewer of its columns are left out (a notes sheet, the other
    input's sheet).
    """
    from ..io.sample import read_sample, sheet_names
    from .inputs import TableInput

    sheets = sheet_names(path)
    if len(sheets) < 2:
        return None
    best: tuple[tuple[int, float], TableGuess] | None = None
    for sheet in sheets:
        try:
            sample = read_sample(path, TableInput(sheet=sheet), name=name)
        except InputError:
            continue  # an empty sheet
        g = guess_table(name, sample)
        required = sum(1 for c in TABLES[name].columns if c.required)
        fit = (
            required - len(g.missing),
            sum(c.confidence for c in g.columns) - 0.5 * len(g.unmapped),
        )
        if best is None or fit > best[0]:
            best = (fit, g)
    if best is None:
        return None
    chosen = best[1]
    listed = ", ".join(map(repr, sheets))
    note = (
        f"the workbook has sheets {listed}; {chosen.options['sheet'][0]!r} was read, its "
        f"columns fitting {name} best"
    )
    return dataclasses.replace(chosen, notes=(note, *chosen.notes))


def settings_template(
    inputs: Mapping[str, str | Path] | None = None, *, settings_path: str | Path | None = None
) -> str:
    """The text of ``tierwise.toml`` for the given inputs (see :func:`init_settings`).

    Examples
    --------
    >>> text = settings_template()
    >>> "[transactions]" in text and "[demo]" not in text
    True
    """
    return init_settings(inputs, settings_path=settings_path).text


def closing_hint(
    settings_path: str | Path,
    tables: Mapping[str, TableGuess] | None = None,
    sorted_files: Sorted | None = None,
) -> str:
    """What to say once the file is written: what was guessed, and the commands to run next.

    Each command is on a line of its own, so that a terminal never cuts one in two.

    Examples
    --------
    >>> print(closing_hint("tierwise.toml"))
    wrote tierwise.toml
    check it, then run:
      tierwise validate --config tierwise.toml
      tierwise run --config tierwise.toml --out tierwise-out
    """
    config = shlex.quote(str(settings_path))
    lines = [f"wrote {settings_path}"]
    if sorted_files is not None:
        for name, path in sorted_files.inputs.items():
            sheet = sorted_files.sheets.get(name)
            shown = f"{path}, sheet {sheet!r}" if sheet else path
            lines.append(f"  {name}: {shown} ({sorted_files.why[name]})")
        left = sorted_files.left_out
        # a long list of files not read (a folder of monthly exports) is cut short
        said = left if len(left) <= 8 else left[:7]
        lines += [f"  {line}" for line in said]
        if len(said) < len(left):
            lines.append(f"  … and {len(left) - len(said)} more not read")
    for name, g in (tables or {}).items():
        mapped = sum(c.source in g.source_columns for c in g.columns)
        unused = len(g.unmapped)
        line = f"  {name}: {mapped} of {len(g.source_columns)} columns mapped"
        if unused:
            line += f", {unused} not used"
        # a column the run makes of a report's group headings (fill_down)
        made = [c.source for c in g.columns if c.source not in g.source_columns]
        if made:
            line += f"; {', '.join(made)} from the group headings"
        lines.append(line)
        for col, _ in g.missing:
            lines.append(f"  {name}: required {col} not found; map it in [{name}.columns]")
    lines.append("check the guesses in it, then run:" if tables else "check it, then run:")
    lines.append(f"  tierwise validate --config {config}")
    lines.append(f"  tierwise run --config {config} --out {SUGGESTED_OUT}")
    return "\n".join(lines)


# -- writing ---------------------------------------------------------------------------------


def _path_for(path: str, settings_path: Path | None) -> str:
    """The input's path as written: relative to the settings file's folder where possible."""
    from ..io.urls import is_database_url, without_password

    if is_database_url(path):
        # never stored: the password comes from PGPASSWORD or ~/.pgpass
        return without_password(path)
    if "://" in path:
        return path
    absolute = Path(path).resolve()
    if settings_path is None:
        return str(absolute)
    try:
        return Path(os.path.relpath(absolute, settings_path.resolve().parent)).as_posix()
    except ValueError:  # another drive (Windows)
        return str(absolute)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        # an inline table: {"Status" = ["Void", "Draft"]}
        pairs = (
            f"{json.dumps(str(k), ensure_ascii=False)} = {_toml_value(v)}" for k, v in value.items()
        )
        return "{" + ", ".join(pairs) + "}"
    return json.dumps(str(value), ensure_ascii=False)


def _comment(text: str, indent: str = "") -> list[str]:
    lines: list[str] = []
    for para in (text or "").strip().split("\n\n"):
        lines += textwrap.wrap(
            " ".join(para.split()),
            _WIDTH,
            initial_indent="# " + indent,
            subsequent_indent="# " + indent,
        )
    return lines


def _aligned(rows: list[tuple[str, str]]) -> list[str]:
    """``setting = value`` lines with their ``# comment`` in one column."""
    width = min(max((len(a) for a, _ in rows), default=0), 44)
    return [f"{a:<{width}}  # {c}" if c else a for a, c in rows]


def _header(given: bool) -> list[str]:
    lines = [
        "# tierwise settings, written by `tierwise init`.",
        "#",
        "# Only the inputs are set here; every other setting keeps its default. Every setting,",
        f"# with its unit and default: {SETTINGS_DOC}. Paths are relative to this file's folder.",
    ]
    if given:
        lines += [
            "# Column mappings are guesses, each with its confidence and evidence: check them,",
            "# fix or delete a wrong one (a deleted line falls back to the canonical name).",
        ]
    else:
        lines += [
            "# No input was given: fill in [transactions] below, or let init guess the columns:",
            "#   tierwise init --transactions FILE",
        ]
    return [*lines, ""]


def _render(guesses: dict[str, TableGuess], paths: dict[str, str]) -> str:
    from . import INPUT_TABLES, Settings

    out = _header(bool(guesses))
    if guesses:
        for name, g in guesses.items():
            out += _input_section(name, g, paths[name])
    else:
        out += _blank_input_section("transactions")
    validate = _validate_section(guesses)
    out += validate
    written = (set(guesses) or {"transactions"}) | ({"validate"} if validate else set())
    out += _other_sections(Settings, INPUT_TABLES, written)
    return "\n".join(out).rstrip("\n") + "\n"


def _validate_section(guesses: dict[str, TableGuess]) -> list[str]:
    """[validate] date_formats where an input writes two-digit years beside years in full."""
    formats: list[str] = []
    whys: list[str] = []
    for name, g in guesses.items():
        if "validate_date_formats" in g.options:
            value, why = g.options["validate_date_formats"]
            formats += [f for f in value if f not in formats] if isinstance(value, tuple) else []
            whys.append(f"{name}: {why}")
    if not formats:
        return []
    return [
        "[validate]",
        *_comment(
            "Date formats tried in turn; " + "; ".join(whys) + ". A format of one table's "
            "date_format reads only dates of its shape, this list reads both."
        ),
        f"date_formats = {_toml_value(formats)}",
        "",
    ]


def _input_section(name: str, g: TableGuess, path: str) -> list[str]:
    from ..io.urls import is_database_url

    spec = TABLES[name]
    lines = [f"[{name}]", *_comment(spec.doc[:1].upper() + spec.doc[1:] + ".")]
    rows: list[tuple[str, str]] = [(f"path = {_toml_value(path)}", "")]
    for key in (
        "sheet",
        "table",
        "header_row",
        "decimal",
        "date_format",
        "true_values",
        "false_values",
        "fill_from_order",
        "fill_down",
        "exclude_rows",
        "keep_rows",
        "ledger_sale_side",
    ):
        if key in g.options:
            value, why = g.options[key]
            rows.append((f"{key} = {_toml_value(value)}", why))
        if key in g.commented:
            value, why = g.commented[key]
            rows.append((f"# {key} = {_toml_value(value)}", why))
    lines += _aligned(rows)
    if is_database_url(path):
        lines += _comment(
            "The password is not stored here: give it in PGPASSWORD or ~/.pgpass (or the "
            "environment of the run)."
        )
    for note in g.notes:
        lines += _comment("note: " + note)
    if name in ("customers", "prospects") and g.unmapped:
        lines += _comment("Columns of your own to keep beside the canonical ones (see below):")
        lines.append(f"# extra_columns = {_toml_value([s for s, _ in g.unmapped])}")
    lines += ["", f"[{name}.columns]", "# canonical column = your column"]
    rows = []
    missing = dict(g.missing)
    for col in input_columns(name):
        guess = g.guessed(col.name)
        if guess is not None and guess.by_name:
            rows.append(
                (
                    f"# {col.name} = {_toml_value(guess.source)}",
                    f"read by its name: {guess.evidence}",
                )
            )
        elif guess is not None:
            pct = min(99, round(guess.confidence * 100))
            rows.append(
                (f"{col.name} = {_toml_value(guess.source)}", f"guessed ({pct}%): {guess.evidence}")
            )
        elif col.name in g.contested:
            # the column reading as it went to another canonical column, a better match
            src, other = g.contested[col.name]
            req = "REQUIRED, " if col.name in missing else ""
            rows.append(
                (
                    f"# {col.name} = {_toml_value(src)}",
                    f"{req}not mapped: {json.dumps(src, ensure_ascii=False)} reads as it too, "
                    f"but is taken by {other}, a better match",
                )
            )
        elif col.name in missing:
            rows.append((f'# {col.name} = "..."', f"REQUIRED, not found: {missing[col.name]}"))
        else:
            what = f"{col.kind}: {col.doc}" if col.doc else col.kind
            rows.append((f'# {col.name} = "..."', f"not found; {what}"))
    lines += _aligned(rows)
    if g.unmapped:
        lines += ["#", "# Columns of the file not used:"]
        for s, note in g.unmapped:
            lines += _comment(f"{json.dumps(s, ensure_ascii=False)}: {note}", indent="  ")
    return [*lines, ""]


def _blank_input_section(name: str) -> list[str]:
    spec = TABLES[name]
    lines = [f"[{name}]", *_comment(spec.doc[:1].upper() + spec.doc[1:] + "."), '# path = "..."']
    lines += ["", f"[{name}.columns]", "# canonical column = your column"]
    rows = []
    for col in input_columns(name):
        req = "required; " if col.required else ""
        rows.append(
            (f'# {col.name} = "..."', f"{req}{col.kind}" + (f": {col.doc}" if col.doc else ""))
        )
    return [*lines, *_aligned(rows), ""]


def _other_sections(settings: type, input_tables: tuple[str, ...], written: set[str]) -> list[str]:
    lines = [f"# Other sections, all optional ({SETTINGS_DOC} lists every setting):"]
    others = [t for t in input_tables if t not in written]
    if others:
        text = ", ".join(f"[{t}]" for t in others) + ": other inputs, set as above"
        lines += _comment(text, indent="  ")
    for fname, fld in settings.model_fields.items():  # type: ignore[attr-defined]
        section = fld.alias or fname
        if section in input_tables or section in written or section == "demo":
            continue
        doc = " ".join((fld.annotation.__doc__ or "").split())
        first = doc.split(". ")[0].rstrip(".")
        lines.append(f"#   [{section}] {first}")
    return lines
