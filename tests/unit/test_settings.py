"""The settings model: defaults, frozen sections, one-line errors, the init template, docs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from tierwise.errors import Problems, SettingsError
from tierwise.settings import (
    FeatureSettings,
    Settings,
    TableInput,
    ValidateSettings,
    load_settings,
    settings_from_dict,
)
from tierwise.settings.template import guess_columns, settings_template


def _sections() -> list[tuple[str, type[BaseModel]]]:
    out = []
    for name, field in Settings.model_fields.items():
        model = field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        out.append((field.alias or name, model))
    return out


SECTIONS = _sections()


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "tierwise.toml"
    p.write_text(text, encoding="utf-8")
    return p


def _messages(exc: pytest.ExceptionInfo[BaseException]) -> list[str]:
    err = exc.value
    if isinstance(err, Problems):
        return [e.one_line() for e in err.errors]
    assert isinstance(err, SettingsError)
    return [err.one_line()]


def _refusal(path: Path) -> str:
    """The one line loading the settings file at ``path`` is refused with."""
    with pytest.raises(SettingsError) as exc:
        load_settings(path)
    (msg,) = _messages(exc)
    return msg


# -- defaults --------------------------------------------------------------------------


def test_no_file_gives_the_documented_defaults() -> None:
    s = load_settings(None)
    assert s == Settings()
    assert s.validate_.future_tolerance_days == 2
    assert s.validate_.cancel_prefix == "C"
    assert s.validate_.drop_duplicate_lines is False
    assert s.validate_.max_id_length == 200
    assert s.validate_.min_year == 1900
    assert s.features.margin_rate is None
    assert s.features.window_months == 12
    assert s.run.seed == 42
    assert s.run.as_of is None
    assert s.run.engine == "duckdb"


def test_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    assert load_settings(_write(tmp_path, "")) == Settings()


def test_values_in_the_file_override_defaults(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        '[run]\nseed = 7\nas_of = 2024-06-30\n[validate]\ncancel_prefix = "X"\n'
        "[features]\nmargin_rate = 0.3\n",
    )
    s = load_settings(p)
    assert s.run.seed == 7
    assert s.run.as_of == dt.date(2024, 6, 30)
    assert s.validate_.cancel_prefix == "X"
    assert s.features.margin_rate == 0.3
    assert s.features.window_months == 12  # untouched fields keep their default


def test_relative_input_paths_are_relative_to_the_settings_file(tmp_path: Path) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    p = sub / "tierwise.toml"
    p.write_text('[transactions]\npath = "data/tx.csv"\n', encoding="utf-8")
    assert load_settings(p).transactions.path == str((sub / "data" / "tx.csv").resolve())


def test_a_path_from_the_home_folder_is_read_as_the_shell_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the defect: "~/exports/tx.csv" was sought in a folder named "~" beside the settings
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    p = tmp_path / "tierwise.toml"
    p.write_text('[transactions]\npath = "~/exports/tx.csv"\n', encoding="utf-8")
    want = (tmp_path / "home" / "exports" / "tx.csv").resolve()
    assert load_settings(p).transactions.path == str(want)
    # a file whose name starts with ~ (no user is called so) beside the settings file
    p.write_text('[transactions]\npath = "~tx.csv"\n', encoding="utf-8")
    assert load_settings(p).transactions.path == str((tmp_path / "~tx.csv").resolve())
    p.write_text('[segments]\noverrides_file = "~nosuchuser/o.csv"\n', encoding="utf-8")
    got = load_settings(p).segments.overrides_file
    assert got == str((tmp_path / "~nosuchuser" / "o.csv").resolve())


def test_the_spill_folder_is_relative_to_the_settings_file(tmp_path: Path) -> None:
    p = tmp_path / "tierwise.toml"
    p.write_text('[run]\ntemp_directory = "spill"\n', encoding="utf-8")
    assert load_settings(p).run.temp_directory == str((tmp_path / "spill").resolve())
    p.write_text('[run]\ntemp_directory = "/scratch"\n', encoding="utf-8")
    assert load_settings(p).run.temp_directory == "/scratch"


def test_decision_files_are_relative_to_the_settings_file_one_or_several(tmp_path: Path) -> None:
    p = tmp_path / "tierwise.toml"
    p.write_text('[accounts]\ndecisions_file = "d.csv"\n', encoding="utf-8")
    assert load_settings(p).accounts.decisions_files == [str((tmp_path / "d.csv").resolve())]
    p.write_text('[accounts]\ndecisions_file = ["a.csv", "/x/b.csv"]\n', encoding="utf-8")
    files = load_settings(p).accounts.decisions_files
    assert files == [str((tmp_path / "a.csv").resolve()), "/x/b.csv"]


def test_settings_round_trip_through_the_manifest_dict() -> None:
    s = Settings().with_updates(run={"seed": 3}, validate_={"min_year": 2000})
    d = s.to_dict()
    assert "validate" in d and "validate_" not in d
    assert settings_from_dict(d) == s


# -- frozen, extra='forbid' -------------------------------------------------------------


@pytest.mark.parametrize(("section", "model"), SECTIONS, ids=[s for s, _ in SECTIONS])
def test_every_section_is_frozen_and_refuses_unknown_keys(
    section: str, model: type[BaseModel]
) -> None:
    assert model.model_config.get("frozen") is True
    assert model.model_config.get("extra") == "forbid"
    inst = model()
    first = next(iter(model.model_fields))
    with pytest.raises(ValidationError):
        setattr(inst, first, getattr(inst, first))
    with pytest.raises(ValidationError):
        model(no_such_setting_xyz=1)


def test_the_settings_object_itself_is_frozen() -> None:
    s = Settings()
    with pytest.raises(ValidationError):
        s.run = s.run  # type: ignore[misc]
    assert Settings.model_config.get("extra") == "forbid"


# -- one-line errors ---------------------------------------------------------------------


def test_typo_in_a_key_reads_back_as_one_line_with_a_suggestion(tmp_path: Path) -> None:
    p = _write(tmp_path, "[validate]\nfuture_tolerence_days = 3\n")
    with pytest.raises(SettingsError) as exc:
        load_settings(p)
    assert _messages(exc) == [
        "tierwise.toml [validate] future_tolerence_days: unknown setting "
        "(did you mean future_tolerance_days?)"
    ]


def test_typo_in_a_section_name_suggests_the_section(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as exc:
        load_settings(_write(tmp_path, "[featurs]\nwindow_months = 6\n"))
    assert _messages(exc) == ["tierwise.toml [featurs]: unknown section (did you mean features?)"]


def test_unknown_key_without_a_close_match_has_no_suggestion(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as exc:
        load_settings(_write(tmp_path, "[run]\nzzzz = 1\n"))
    assert _messages(exc) == ["tierwise.toml [run] zzzz: unknown setting"]


def test_typo_in_a_tier_programme_suggests_the_programme_setting(tmp_path: Path) -> None:
    p = _write(tmp_path, "[segments.programmes.gold]\nvisit_min = 5.0\n")
    msg = _refusal(p)
    assert "[segments.programmes.gold] visit_min" in msg
    assert "did you mean visits_min?" in msg


@pytest.mark.parametrize(
    ("text", "where", "home"),
    [
        ("[coverage]\nseed = 3\n", "[coverage] seed", "[run]"),
        ('[run]\ncurrency_symbol = "$"\n', "[run] currency_symbol", "[segments]"),
    ],
)
def test_a_setting_in_the_wrong_section_names_the_section_it_belongs_to(
    tmp_path: Path, text: str, where: str, home: str
) -> None:
    msg = _refusal(_write(tmp_path, text))
    assert where in msg
    assert f"a setting of {home}" in msg and "move it under" in msg
    assert "unknown section" not in msg


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("seed = 3\n[run]\nthreads = 2\n", ": seed belongs under [run] or [demo]"),
        ("sed = 3\n", " (did you mean seed, under [run] or [demo]?)"),
        ('currency_symbol = "$"\n', ": currency_symbol belongs under [segments]"),
        ("zzzz = 1\n", " (no section has a setting named zzzz)"),
        (
            "segments = 3\n",
            ": [segments] is itself a heading, on a line of its own with its settings below it",
        ),
    ],
)
def test_a_setting_above_the_first_heading_names_its_line_and_where_it_belongs(
    tmp_path: Path, text: str, fix: str
) -> None:
    key = text.split(" ", 1)[0]
    assert _refusal(_write(tmp_path, f"# tierwise\n\n{text}")) == (
        f"tierwise.toml line 3: {key} is above the first [section] heading; settings go under "
        f"a [section] heading{fix}"
    )


def test_a_key_given_in_python_outside_any_section_is_said_without_a_line() -> None:
    with pytest.raises(SettingsError) as exc:
        settings_from_dict({"engine": "spark"})
    assert _messages(exc) == [
        "settings: engine is outside any section; settings go in one: engine belongs under [run]"
    ]


def test_unknown_section_lists_the_sections_there_are(tmp_path: Path) -> None:
    msg = _refusal(_write(tmp_path, "[zzzz]\nx = 1\n"))
    assert msg.startswith("tierwise.toml [zzzz]: unknown section (this version of tierwise has")
    assert "profitability" in msg and "lifetime" in msg


def test_rejects_zero_threads_and_a_memory_limit_without_unit(tmp_path: Path) -> None:
    p = _write(tmp_path, '[run]\nthreads = 0\nmemory_limit = "lots"\n')
    with pytest.raises(Problems) as exc:
        load_settings(p)
    msgs = _messages(exc)
    assert any(m.startswith("tierwise.toml [run] threads:") for m in msgs)
    assert 'tierwise.toml [run] memory_limit: give a size with its unit, such as "8GB"' in msgs[1]
    settings = load_settings(_write(tmp_path, '[run]\nthreads = 2\nmemory_limit = "512MiB"\n'))
    assert (settings.run.threads, settings.run.memory_limit) == (2, "512MiB")


def test_wrong_type_names_section_key_and_value(tmp_path: Path) -> None:
    msg = _refusal(_write(tmp_path, '[validate]\nfuture_tolerance_days = "three"\n'))
    assert msg.startswith("tierwise.toml [validate] future_tolerance_days: ")
    assert "integer" in msg and "'three'" in msg
    assert "\n" not in msg


def test_every_problem_is_reported_together(tmp_path: Path) -> None:
    p = _write(tmp_path, "[run]\nseed = 1.5\n[features]\nmargin_rate = 2\nwindow_months = 0\n")
    with pytest.raises(Problems) as exc:
        load_settings(p)
    msgs = _messages(exc)
    assert len(msgs) == 3
    assert any(m.startswith("tierwise.toml [run] seed:") for m in msgs)
    assert any(m.startswith("tierwise.toml [features] margin_rate:") for m in msgs)
    assert any(m.startswith("tierwise.toml [features] window_months:") for m in msgs)


def test_wrong_type_inside_a_column_mapping(tmp_path: Path) -> None:
    msg = _refusal(_write(tmp_path, "[transactions.columns]\ncustomer_id = 3\n"))
    assert msg.startswith("tierwise.toml [transactions.columns] customer_id:")


def test_rejects_a_delimiter_longer_than_one_character() -> None:
    with pytest.raises(ValidationError, match="whitespace"):
        TableInput(delimiter=";;")
    # the one word a delimiter may be: text aligned in columns
    assert TableInput(delimiter="WhiteSpace").delimiter == "whitespace"
    with pytest.raises(ValidationError):
        TableInput(decimal=";")


def test_rejects_negative_tolerance_and_margin_rate_above_one() -> None:
    with pytest.raises(ValidationError):
        ValidateSettings(future_tolerance_days=-1)
    with pytest.raises(ValidationError):
        FeatureSettings(margin_rate=1.5)


def test_missing_file_and_bad_toml_are_one_line_settings_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="settings file not found"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(_write(tmp_path, "[run\nseed = 1\n"))


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ('[accounts]\ndecisions_file = "C:\\Users\\anna\\d.csv"\n', "single quotes"),
        ('[segments]\noverrides_file = "C:\\data\\o.csv"\n', "forward slashes"),
        ("[run]\nseed = 1\nseed = 2\n", "seed is given twice"),
        # a line separator (U+2028) in a comment is no line end to TOML: the line named is seed
        ("# page one\u2028page two\n[run]\nseed = 1\nthreads = 1\nseed = 2\n", "seed is given"),
        ("[run]\nseed = 1\n[run]\nthreads = 2\n", "[run] is given twice"),
        ('[segments]\ncurrency_symbol = "£\n', "a string is not closed"),
        ("[run]\nas_of = 2025/12/31\n", "YYYY-MM-DD"),
        ("customer_id,name,city\n1,Acme,Paris\n", "not settings"),
        ("customer_id;name\n1;Acme\n", "not settings"),
    ],
)
def test_a_toml_mistake_made_by_hand_says_what_to_do(tmp_path: Path, text: str, fix: str) -> None:
    msg = _refusal(_write(tmp_path, text))
    assert "tierwise.toml: not valid TOML" in msg and "(at line " in msg
    assert fix in msg


def test_a_windows_path_read_as_escapes_is_refused(tmp_path: Path) -> None:
    # "\t" and "\n" are valid escapes of a "…" string: the path would hold a tab and a newline
    p = _write(tmp_path, '[customers]\npath = "C:\\temp\\new.csv"\n')
    msg = _refusal(p)
    assert msg.startswith("tierwise.toml [customers] path: ")
    assert "single quotes" in msg


@pytest.mark.parametrize(
    ("text", "key", "fix"),
    [
        ('[profitability]\nrebate_rate = "30%"\n', "[profitability] rebate_rate", "written 0.3"),
        ("[profitability]\nrebate_rate = 30\n", "[profitability] rebate_rate", "written 0.3"),
        ("[lifetime]\ndiscount_rate = 10\n", "[lifetime] discount_rate", "written 0.1"),
    ],
)
def test_a_fraction_written_as_a_percentage_says_how_to_write_it(
    tmp_path: Path, text: str, key: str, fix: str
) -> None:
    msg = _refusal(_write(tmp_path, text))
    assert key in msg and "it is a fraction" in msg and fix in msg


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[profitability]\ncost_per_visit = "30%"\n', "[profitability] cost_per_visit"),
        # bounded by 1 but no fraction: an exponent, a correlation, a learning rate
        ("[demo]\nrate_spend_exponent = 2\n", "[demo] rate_spend_exponent"),
        ("[lifetime]\ngamma_gamma_max_correlation = 2\n", "[lifetime] gamma_gamma_max_correlation"),
        ("[potential]\ngbm_learning_rate = 5\n", "[potential] gbm_learning_rate"),
    ],
)
def test_a_percentage_in_a_setting_that_is_no_fraction_is_not_called_one(
    tmp_path: Path, text: str, key: str
) -> None:
    msg = _refusal(_write(tmp_path, text))
    assert key in msg and "fraction" not in msg, msg


@pytest.mark.parametrize(
    "written",
    [
        '"31/12/2025"',
        '"2025/12/31"',
        "20251231",
        "1735603200",
        '"20251231"',
        '"1735603200"',
        "2025-12-31T10:00:00",
    ],
)
def test_an_analysis_date_not_written_yyyy_mm_dd_says_how_to_write_it(
    tmp_path: Path, written: str
) -> None:
    # a number would be read as seconds since 1970 (1735603200 is 31 December 2024)
    msg = _refusal(_write(tmp_path, f"[run]\nas_of = {written}\n"))
    assert msg.startswith("tierwise.toml [run] as_of: ")
    assert "YYYY-MM-DD" in msg


# -- tierwise init -----------------------------------------------------------------------


def test_init_template_reads_back_to_the_defaults(tmp_path: Path) -> None:
    text = settings_template()
    assert load_settings(_write(tmp_path, text)) == Settings()


def test_init_template_points_to_every_other_section() -> None:
    # the template sets the inputs only; every other section is named, documented in full in
    # docs/settings.md (tests/unit/test_settings_docs.py), and [demo] is not a user's setting
    text = settings_template()
    for section, _ in SECTIONS:
        assert (f"[{section}]" in text) == (section != "demo"), section


def test_init_template_guesses_mappings_from_a_files_header(tmp_path: Path) -> None:
    tx = tmp_path / "sales.csv"
    tx.write_text(
        "Cust No;Invoice Date;Net Amount;Qty;Product\nA1;2024-01-02;10,5;1;P1\n", encoding="utf-8"
    )
    text = settings_template({"transactions": str(tx)})
    s = load_settings(_write(tmp_path, text))
    assert s.transactions.path == str(tx.resolve())
    assert dict(s.transactions.columns) == {
        "customer_id": "Cust No",
        "date": "Invoice Date",
        "revenue": "Net Amount",
        "quantity": "Qty",
        "product_id": "Product",
    }
    # everything else is still the default
    assert s.with_updates(transactions={"path": None, "columns": {}}) == Settings()


def test_guess_columns_leaves_canonical_names_and_uses_each_column_once() -> None:
    got = guess_columns("transactions", ["customer_id", "Customer", "Invoice", "amount", "Value"])
    # customer_id is already canonical: 'Customer' is not taken for it
    assert "customer_id" not in got
    assert got["order_id"] == "Invoice"
    assert got["revenue"] == "amount"
    assert list(got.values()).count("amount") == 1


# -- documentation -----------------------------------------------------------------------


@pytest.mark.parametrize(("section", "model"), SECTIONS, ids=[s for s, _ in SECTIONS])
def test_every_field_has_a_docstring_with_its_default(section: str, model: type[BaseModel]) -> None:
    undocumented = [
        name
        for name, field in model.model_fields.items()
        if not (field.description or "").strip()
        or "default" not in (field.description or "").lower()
    ]
    assert not undocumented, (
        f"[{section}] fields without a docstring stating the default: {undocumented} "
        '(write a """docstring""" under the field: what it is, unit, default)'
    )
    assert (model.__doc__ or "").strip(), f"[{section}] section class has no docstring"


# -- [accounts] blocking rules written by hand ---------------------------------------------


@pytest.mark.parametrize(
    ("rules", "says"),
    [
        # the customer master's own column names: the derived column each stands for
        ('[["postcode", "name"]]', "unknown column 'postcode' in a blocking rule (did you mean "
         "postcode_norm? rules name the columns tierwise derives from the customer master)"),
        ('[["postcod_norm"]]', "(did you mean postcode_norm?"),
        ('[["Name_Core"]]', "(did you mean name_core?"),
        ('[["vat"]]', "(did you mean tax_id_norm?"),
        # Splink's SQL instead of columns
        ('[["l.name_core = r.name_core"]]', "is a SQL condition: a rule lists the columns two "
         'records must share, e.g. ["name_core", "postcode_norm"]'),
        # one list where a list of lists is meant, or one text
        ('["name_core", "postcode_norm"]', "each blocking rule is a list of columns, and the "
         'setting a list of rules: write [["name_core"], ["postcode_norm", "name_prefix"]]'),
        ('"name_core"', "each blocking rule is a list of columns"),
        ("[]", 'give at least one blocking rule, e.g. [["name_core"]]'),
    ],
)  # fmt: skip
def test_a_blocking_rule_written_wrongly_is_refused_with_what_to_write(
    tmp_path: Path, rules: str, says: str
) -> None:
    msg = _refusal(_write(tmp_path, f"[accounts]\nblocking_rules = {rules}\n"))
    assert msg.startswith("tierwise.toml [accounts] blocking_rules: ")
    assert says in msg


def test_a_refinement_column_written_wrongly_is_refused_with_the_one_meant(
    tmp_path: Path,
) -> None:
    msg = _refusal(_write(tmp_path, '[accounts]\nblock_refinements = ["citi_norm"]\n'))
    assert "unknown column 'citi_norm' in block_refinements (did you mean city_norm?" in msg


# -- classes renamed ---------------------------------------------------------------------------


def test_four_classes_renamed_take_the_built_in_settings_of_their_place(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "[segments.classes]\n"
        'Key = "protect"\nGrow = "develop"\nCore = "serve"\nTail = "web only"\n'
        '[segments.tiers]\nCore = "silver"\n'
        "[coverage.response.Key]\nd = 9\n",
    )
    s = load_settings(p)
    built = Settings()
    place = dict(zip("ABCD", ["Key", "Grow", "Core", "Tail"], strict=True))
    seg = s.segments
    assert seg.grid == [[place[c] for c in row] for row in built.segments.grid]
    assert seg.ease_grid == [[place[c] for c in row] for row in built.segments.ease_grid]
    assert seg.potential_only == [place[c] for c in built.segments.potential_only]
    assert seg.hard_to_serve_class == place[built.segments.hard_to_serve_class]
    # a tier given is kept, the others are the built-in ones of their place
    assert seg.tiers == {"Key": "gold", "Grow": "silver", "Core": "silver", "Tail": "bronze"}
    # a response given for a class is merged with the built-in one of its place
    key = s.coverage.response["Key"]
    assert (key.s0, key.s1, key.d) == (
        built.coverage.response["A"].s0,
        built.coverage.response["A"].s1,
        9,
    )
    for old, new in place.items():
        if new != "Key":
            assert s.coverage.response[new] == built.coverage.response[old]
        assert s.terms.headroom_capture[new] == built.terms.headroom_capture[old]
    assert s.terms.retention_target == {"Key": built.terms.retention_target["A"]}
    # read back from the manifest's settings, the same
    assert settings_from_dict(s.to_dict()) == s


def test_a_grid_given_with_renamed_classes_is_kept_and_other_counts_are_refused(
    tmp_path: Path,
) -> None:
    p = _write(
        tmp_path,
        "[segments]\n"
        'grid = [["Key", "Key", "Grow"], ["Grow", "Core", "Core"], ["Grow", "Core", "Tail"]]\n'
        "[segments.classes]\n"
        'Key = "protect"\nGrow = "develop"\nCore = "serve"\nTail = "web only"\n',
    )
    assert load_settings(p).segments.grid[0] == ["Key", "Key", "Grow"]
    three = _write(
        tmp_path, '[segments.classes]\nGold = "protect"\nSilver = "develop"\nBronze = "serve"\n'
    )
    msg = _refusal(three)
    assert "grid names the class 'A', which is not among classes (Gold, Silver, Bronze)" in msg
    assert "need their own grid, potential_only, ease_grid, hard_to_serve_class and tiers" in msg


def test_a_b_c_d_in_another_order_is_refused_not_read_as_a_renaming(tmp_path: Path) -> None:
    p = _write(tmp_path, '[segments.classes]\nB = "b"\nA = "a"\nC = "c"\nD = "d"\n')
    assert "more value would move a customer down from B to A" in _refusal(p)


def test_a_class_table_given_in_part_keeps_the_built_in_entries_of_the_renamed_classes() -> None:
    classes = {"Key": "protect", "Grow": "develop", "Core": "serve", "Tail": "web only"}
    s = Settings().with_updates(
        segments={"classes": classes}, terms={"headroom_capture": {"Key": 0.5}}
    )
    built = Settings().terms.headroom_capture
    assert s.terms.headroom_capture["Key"] == 0.5
    assert [s.terms.headroom_capture[c] for c in ("Grow", "Core", "Tail")] == [
        built["B"],
        built["C"],
        built["D"],
    ]
    # a built-in class name among renamed classes is named with the class it is now
    with pytest.raises(SettingsError) as exc:
        Settings().with_updates(segments={"classes": classes, "tiers": {"A": "silver"}})
    (msg,) = _messages(exc)
    assert "the built-in class A is Key here; write tiers with your class names" in msg


def test_classes_renamed_again_take_the_built_in_settings_of_the_new_names() -> None:
    first = Settings().with_updates(
        segments={"classes": {"Key": "a", "Grow": "b", "Core": "c", "Tail": "d"}}
    )
    back = first.with_updates(segments={"classes": {"A": "1", "B": "2", "C": "3", "D": "4"}})
    assert back.segments.grid == Settings().segments.grid
    assert back.segments.tiers == Settings().segments.tiers
    again = first.with_updates(segments={"classes": dict(zip("WXYZ", "1234", strict=True))})
    assert again.segments.grid[0] == ["W", "W", "W"]
    assert again.coverage.response["W"] == Settings().coverage.response["A"]
    # a table of one's own is kept through another update
    own = first.with_updates(segments={"tiers": {"Tail": "silver"}}).with_updates(run={"seed": 3})
    assert own.segments.tiers["Tail"] == "silver"
