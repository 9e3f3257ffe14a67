"""Settings checked at load: partial tables merged with their defaults, rates, names, seeds,
date formats, memory limits and programme channels refused with one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierwise.engine import _strftime_to_java
from tierwise.errors import SettingsError
from tierwise.settings import Settings, load_settings, settings_from_dict


def _load(tmp_path: Path, text: str) -> Settings:
    p = tmp_path / "tierwise.toml"
    p.write_text(text, encoding="utf-8")
    return load_settings(p)


def _refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(SettingsError) as info:
        _load(tmp_path, text)
    msg = str(info.value)
    assert msg.startswith("tierwise.toml ["), msg
    return msg


# -- 1. partial tables merged with their defaults ---------------------------------------------


def test_one_tier_of_a_terms_table_keeps_the_other_tiers_defaults(tmp_path: Path) -> None:
    default = Settings().terms.min_order_value
    s = _load(tmp_path, "[terms]\nmin_order_value = {gold = 100}\n")
    assert s.terms.min_order_value == {**default, "gold": 100.0}
    assert s.terms.min_order_value["bronze"] == default["bronze"] > 0


def test_one_class_of_response_keeps_the_other_classes(tmp_path: Path) -> None:
    default = Settings().coverage.response
    s = _load(
        tmp_path,
        "[coverage]\nresponse = {A = {s0 = 0.4, s1 = 0.8, c = 1.2, d = 6.0}, B = {d = 9.0}}\n",
    )
    assert set(s.coverage.response) == set(default)
    assert s.coverage.response["A"].s1 == 0.8
    # a nested table is merged with the default entry of its key
    assert s.coverage.response["B"].d == 9.0
    assert s.coverage.response["B"].s0 == default["B"].s0
    assert s.coverage.response["C"] == default["C"]


def test_every_merged_table_keeps_the_defaults_of_the_keys_not_given() -> None:
    base = Settings()
    for section_name, field in Settings.model_fields.items():
        model = field.annotation
        for table in getattr(model, "merged_tables", ()):
            default = getattr(getattr(base, section_name), table)
            first = next(iter(default))
            given = {first: default[first]}
            section = field.alias or section_name
            s = settings_from_dict({section: {table: given}})
            assert getattr(getattr(s, section_name), table) == default, (section, table)


def test_partial_contact_tables_are_merged_not_refused(tmp_path: Path) -> None:
    s = _load(
        tmp_path, "[coverage]\neffectiveness = {call = 0.5}\ncost_per_contact = {visit = 60}\n"
    )
    assert s.coverage.effectiveness == {"visit": 1.0, "call": 0.5, "email": 0.05}
    assert s.coverage.cost_per_contact["call"] == Settings().coverage.cost_per_contact["call"]


@pytest.mark.parametrize("table", ["effectiveness", "minutes_per_contact", "cost_per_contact"])
def test_a_misspelt_kind_of_contact_is_refused_not_ignored(tmp_path: Path, table: str) -> None:
    msg = _refused(tmp_path, f"[coverage]\n{table} = {{vist = 2.0}}\n")
    assert msg.startswith(f"tierwise.toml [coverage]: {table}: unknown kind of contact 'vist'")
    assert "did you mean visit?" in msg


def test_a_misspelt_kind_of_contact_in_activity_types_is_refused(tmp_path: Path) -> None:
    msg = _refused(tmp_path, '[coverage]\nactivity_types = {vist = ["Besuch"]}\n')
    assert msg.startswith("tierwise.toml [coverage] activity_types: unknown kind of contact")
    assert "did you mean visit?" in msg


def test_one_programme_setting_keeps_the_rest_of_the_tiers_programme(tmp_path: Path) -> None:
    default = Settings().segments.programmes
    s = _load(tmp_path, "[segments.programmes.gold]\nvisits_min = 4\n")
    assert s.segments.programmes["gold"].visits_min == 4
    assert s.segments.programmes["gold"].channels == default["gold"].channels
    assert list(s.segments.programmes) == list(default)


def test_one_tier_given_keeps_the_other_classes_tiers(tmp_path: Path) -> None:
    s = _load(tmp_path, '[segments]\ntiers = {D = "silver"}\n')
    assert s.segments.tiers == {"A": "gold", "B": "silver", "C": "bronze", "D": "silver"}


def test_own_classes_take_no_default_tiers_nor_unused_programmes(tmp_path: Path) -> None:
    s = _load(
        tmp_path,
        """[segments]
classes = {X = "grow", Y = "serve"}
grid = [["X", "X"], ["X", "Y"]]
ease_grid = [["X", "Y"], ["Y", "Y"]]
potential_only = ["X", "Y"]
hard_to_serve_class = "Y"
tiers = {X = "platinum", Y = "bronze"}
[segments.programmes.platinum]
service_level = "everything"
channels = ["field"]
""",
    )
    assert s.segments.tiers == {"X": "platinum", "Y": "bronze"}
    assert sorted(s.segments.programmes) == ["bronze", "platinum"]


def test_a_new_entry_missing_settings_is_one_line(tmp_path: Path) -> None:
    msg = _refused(tmp_path, "[coverage.response.E]\nd = 3.0\n")
    assert "\n" not in msg
    assert "[coverage.response] E: give s0, s1, c" in msg


# -- 2. growth rates are fractions --------------------------------------------------------------


def test_a_growth_rate_above_one_is_refused_as_a_percentage(tmp_path: Path) -> None:
    msg = _refused(tmp_path, "[potential]\ndefault_growth_rate = 3\n")
    assert "[potential] default_growth_rate" in msg and "0.03" in msg and "≤ 1" in msg
    assert (
        _load(tmp_path, "[potential]\ndefault_growth_rate = 0.035\n").potential.default_growth_rate
        == 0.035
    )
    assert (
        _load(tmp_path, "[potential]\ndefault_growth_rate = 1\n").potential.default_growth_rate == 1
    )


# -- 3. names checked against the vocabularies the settings define ------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[segments]\nthin_statuses = ["neww"]\n',
            "[segments] thin_statuses: unknown lifetime status 'neww' (did you mean new?)",
        ),
        (
            '[coverage]\nband_released_status = ["lapsd"]\n',
            "[coverage] band_released_status: unknown lifetime status 'lapsd'",
        ),
        (
            '[terms]\nroute_channels = {vists = "field"}\n',
            "[terms] route_channels: unknown cost pool 'vists'",
        ),
        (
            '[terms]\nroute_channels = {visits = "feild"}\n',
            "[terms] route_channels: unknown channel 'feild'",
        ),
        ("[terms]\nheadroom_capture = {Z = 0.1}\n", "[terms] headroom_capture: unknown class 'Z'"),
        (
            "[coverage.response.AA]\ns0 = 0.1\ns1 = 0.2\nc = 1.0\nd = 2.0\n",
            "[coverage] response: unknown class 'AA' ([segments] classes) (did you mean A?)",
        ),
        (
            "[terms]\nmin_order_value = {gld = 100}\n",
            "[terms] min_order_value: unknown terms 'gld' (no tier or programme uses it)",
        ),
        (
            '[coverage]\nwinback_tiers = ["Gold"]\n',
            "[coverage] winback_tiers: unknown tier 'Gold' ([segments] programmes) "
            "(did you mean gold?)",
        ),
    ],
)
def test_unknown_names_are_refused_with_the_closest(
    tmp_path: Path, text: str, expected: str
) -> None:
    msg = _refused(tmp_path, text)
    assert expected in msg and "\n" not in msg, msg


def test_a_programme_naming_its_own_terms_loads_and_a_pool_routes_to_none(
    tmp_path: Path,
) -> None:
    """A programme's ``terms`` is a label (pricing reads terms by tier): custom tiers naming
    their own terms load; a cost pool routed to "none" is no cost of sale."""
    import pyarrow as pa

    from tierwise.terms.routes import routes_to_market

    p = tmp_path / "tierwise.toml"
    p.write_text(
        '[segments]\ntiers = {A = "platinum", B = "standard", C = "standard", D = "standard"}\n'
        '[segments.programmes.platinum]\nservice_level = "x"\nchannels = ["field"]\n'
        'terms = "platinum"\n'
        '[segments.programmes.standard]\nservice_level = "y"\nchannels = ["inside"]\n'
        'terms = "standard"\n'
        '[terms]\nroute_channels = {emails = "none"}\n',
        encoding="utf-8",
    )
    s = load_settings(p)
    assert s.segments.programmes["platinum"].terms == "platinum"
    assert s.terms.route_channels["emails"] == "none"
    c = pa.table(
        {"customer_id": ["a"], "value_class": ["C"], "revenue_12m": [1000.0],
         "cts_visits": [0.0], "cts_calls": [0.0], "cts_emails": [50.0],
         "cost_to_serve": [100.0], "channel": ["inside"]}
    )  # fmt: skip
    t = routes_to_market(c, s.terms).tables["routes_to_market"].to_pylist()
    # the only contact cost is the emails', which stand for no channel: no cost of sale
    assert [r["cost_of_sale_per_revenue"] for r in t] == [0.0]


def test_lifetime_statuses_of_the_settings_are_those_the_stage_gives() -> None:
    from tierwise.lifetime.status import STATUSES
    from tierwise.settings._base import LIFETIME_STATUSES

    assert LIFETIME_STATUSES == STATUSES


def test_names_the_settings_define_are_accepted(tmp_path: Path) -> None:
    s = _load(
        tmp_path,
        """[segments]
thin_statuses = ["new", "at_risk"]
[coverage]
band_released_status = ["lapsed", "inactive"]
[terms]
route_channels = {quotes = "inside", visits = "key_account"}
headroom_capture = {D = 0.02}
""",
    )
    assert s.terms.route_channels["quotes"] == "inside" and s.terms.headroom_capture["D"] == 0.02


# -- 7. programme channels ----------------------------------------------------------------------


def test_an_unknown_programme_channel_is_refused_at_load(tmp_path: Path) -> None:
    msg = _refused(tmp_path, '[segments.programmes.gold]\nchannels = ["teleport"]\n')
    assert msg.startswith(
        "tierwise.toml [segments.programmes.gold] channels: unknown channel 'teleport'"
    )
    assert "[coverage] channels and band_channels" in msg
    assert _load(tmp_path, '[segments.programmes.gold]\nchannels = ["web", "inside"]\n')


def test_a_band_naming_no_plan_channel_is_refused_at_load(tmp_path: Path) -> None:
    msg = _refused(tmp_path, '[coverage.band_channels]\nfield = ["teleport"]\n')
    assert msg.startswith("tierwise.toml [coverage.band_channels] field: unknown channel")
    assert "'teleport'" in msg and "[coverage] channels" in msg
    assert _load(tmp_path, '[coverage.band_channels]\nfield = ["Field", "inside"]\n')


# -- 4. seeds -----------------------------------------------------------------------------------


@pytest.mark.parametrize("section", ["run", "demo"])
@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_numpy_refuses_is_refused_at_load(tmp_path: Path, section: str, seed: int) -> None:
    msg = _refused(tmp_path, f"[{section}]\nseed = {seed}\n")
    assert msg.startswith(f"tierwise.toml [{section}] seed: a seed is a whole number from 0 to")


def test_the_largest_seed_numpy_takes_is_accepted(tmp_path: Path) -> None:
    import numpy as np

    s = _load(tmp_path, f"[run]\nseed = {2**32 - 1}\n")
    np.random.default_rng(s.run.seed)
    np.random.RandomState(s.run.seed)


# -- 5. date formats ----------------------------------------------------------------------------


def test_a_date_code_neither_engine_reads_is_refused_at_load(tmp_path: Path) -> None:
    msg = _refused(tmp_path, '[transactions]\ndate_format = "%Q"\n')
    assert msg.startswith("tierwise.toml [transactions] date_format: '%Q': '%Q' is not a code")
    msg = _refused(tmp_path, '[validate]\ndate_formats = ["%Y-%m-%d", "%e.%m.%Y"]\n')
    assert "[validate] date_formats: '%e.%m.%Y': '%e' is not a code tierwise reads (write %d" in msg
    msg = _refused(tmp_path, '[validate]\ndate_formats = ["%d.%m.%Y %H:%Q"]\n')
    assert "'%Q' is not a code" in msg
    assert "'%' is not" in _refused(tmp_path, '[customers]\ndate_format = "%Y%"\n')


def test_every_date_code_accepted_is_one_the_spark_translation_knows() -> None:
    from tierwise.settings._base import DATE_CODES

    for code in DATE_CODES:
        if code in ("%a", "%A"):
            # DuckDB reads weekday names; Spark parses none, and says so
            with pytest.raises(SettingsError, match="Spark cannot read a weekday name"):
                _strftime_to_java(f"{code}, %d %b %Y")
            continue
        assert "'" not in _strftime_to_java(code) and "%" not in _strftime_to_java(code), code
    for letter in "IpzZQ":
        # a code the translation does not know is left as a quoted letter: refused at load
        assert "'" in _strftime_to_java(f"%{letter}")


def test_the_formats_duckdb_read_before_the_load_check_still_load(tmp_path: Path) -> None:
    import duckdb

    con = duckdb.connect()
    for fmt, text in (
        ("%-d/%-m/%Y", "5/1/2026"),
        ("%a, %d %b %Y", "Mon, 05 Jan 2026"),
        ("%A %d %B %Y", "Monday 05 January 2026"),
        ("%j/%Y", "005/2026"),
        ("%d %h %Y", "05 Jan 2026"),
        ("%d/%m/%Y %-H:%M", "05/01/2026 9:30"),
    ):
        assert _load(tmp_path, f'[transactions]\ndate_format = "{fmt}"\n')
        parsed = con.execute(f"SELECT try_strptime('{text}', '{fmt}')::DATE").fetchone()
        assert str(parsed[0]) == "2026-01-05", fmt


def test_the_formats_the_run_and_init_use_load(tmp_path: Path) -> None:
    from tierwise.settings._guess import EXTRA_DATE_FORMATS
    from tierwise.validate import _date_part

    for fmt in ("%d-%b-%Y %H:%M:%S.%f", "%m/%d/%Y %I:%M:%S %p", *EXTRA_DATE_FORMATS):
        s = _load(tmp_path, f'[transactions]\ndate_format = "{fmt}"\n')
        assert s.transactions.date_format == fmt
        # the date the engine parses holds only codes both engines read
        assert "'" not in _strftime_to_java(_date_part(fmt)), fmt
    assert s.validate_.date_formats == Settings().validate_.date_formats


# -- 6. memory limit ----------------------------------------------------------------------------


def test_a_memory_limit_too_small_to_run_is_refused_at_load(tmp_path: Path) -> None:
    msg = _refused(tmp_path, '[run]\nmemory_limit = "1KB"\n')
    assert msg.startswith("tierwise.toml [run] memory_limit: '1KB' is too little")
    assert 'at least "256MB"' in msg
    assert "too little" in _refused(tmp_path, '[run]\nmemory_limit = "255MB"\n')
    assert _load(tmp_path, '[run]\nmemory_limit = "256MB"\n').run.memory_limit == "256MB"
    assert _load(tmp_path, '[run]\nmemory_limit = "0.5GiB"\n').run.memory_limit == "0.5GiB"


def test_running_out_of_memory_names_the_setting_not_sql(tmp_path: Path) -> None:
    import numpy as np
    import pyarrow as pa

    from tierwise.engine import Engine, fetch
    from tierwise.errors import EngineError

    eng = Engine(memory_limit="1MB", threads=1, temp_directory=tmp_path)
    try:
        with pytest.raises(EngineError) as info:
            t = eng.from_arrow(pa.table({"x": np.arange(2_000_000)}))
            fetch(t.aggregate(xs=t.x.collect()), "a list")
        msg = str(info.value)
        assert "the engine ran out of memory" in msg, msg
        assert "raise [run] memory_limit (now " in msg and "or free memory" in msg, msg
        assert "SET memory_limit" not in msg
    finally:
        eng.close()


# -- 8. the response written as text --------------------------------------------------------------


def test_a_response_written_as_text_reads_as_its_table(tmp_path: Path) -> None:
    s = _load(tmp_path, '[coverage.response]\nA = "s0=0.4 s1=0.7 c=1.2 d=6.0"\n')
    assert s.coverage.response["A"].model_dump() == {"s0": 0.4, "s1": 0.7, "c": 1.2, "d": 6.0}
    msg = _refused(tmp_path, '[coverage.response]\nA = "s0 0.4"\n')
    assert "[coverage.response] A: 's0 0.4': give a table such as {s0 = 0.4" in msg


# -- 9. a folder given as the settings file -------------------------------------------------------


def test_a_folder_given_as_the_settings_file_is_said_to_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(
        SettingsError, match=r": a folder, not a settings file \(run 'tierwise init'"
    ):
        load_settings(tmp_path)
    (tmp_path / "tierwise.toml").write_text("[run]\nseed = 1\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"a folder, not a settings file; give .*tierwise.toml"):
        load_settings(tmp_path)


def test_channel_names_in_a_band_or_route_are_read_whatever_their_case(tmp_path: Path) -> None:
    """A tier's band and a pool's route name the plan's channels and bands as the files'
    channel names are read: "Key Account", " FIELD " and "E-mail"-like spellings of the
    plan's names load, and the coverage plan reads them as the plan's own."""
    import numpy as np

    from tierwise.coverage.menu import _allowed_channels

    s = _load(
        tmp_path,
        '[segments.programmes.gold]\nchannels = ["Key Account", " FIELD "]\n'
        '[segments.programmes.bronze]\nchannels = ["Inside", "WEB"]\n'
        '[coverage.band_channels]\nweb = ["Email", "Distributor"]\n'
        '[terms]\nroute_channels = {visits = "Field"}\n',
    )
    bands = _allowed_channels(s.coverage, s.segments.programmes)
    default = Settings()
    assert bands == _allowed_channels(default.coverage, default.segments.programmes)
    assert bands["gold"] == ({"field"}, {"key_account", "field"})
    assert bands["bronze"][0] == {"inside", "email", "distributor"}
    import pyarrow as pa

    from tierwise.terms.routes import routes_to_market

    c = pa.table(
        {"customer_id": ["a"], "value_class": ["C"], "revenue_12m": [1000.0],
         "cts_visits": [50.0], "channel": ["field"]}
    )  # fmt: skip
    res = routes_to_market(c, s.terms)
    assert res.customers.column("observed_channel").to_pylist() == ["field"]
    (row,) = res.tables["routes_to_market"].to_pylist()
    assert row["share_plan_same_channel"] == np.float64(1.0)


# -- 10. one column of the file mapped as two canonical columns ----------------------------------


@pytest.mark.parametrize(
    ("section", "columns", "first", "second"),
    [
        # the defect as reported: the date column read as customer ids too
        ("transactions", {"customer_id": "date", "date": "date"}, "customer_id", "date"),
        # two identifiers, an identifier and an amount, two dates
        ("transactions", {"order_id": "Beleg", "product_id": "Beleg"}, "order_id", "product_id"),
        ("transactions", {"customer_id": "Betrag", "revenue": "Betrag"}, "customer_id", "revenue"),
        ("payments", {"due_date": "Datum", "paid_date": "Datum"}, "due_date", "paid_date"),
        ("customers", {"customer_id": "Nr", "parent_id": "Nr"}, "customer_id", "parent_id"),
    ],
)
def test_a_column_mapped_as_two_columns_that_cannot_share_it_is_refused(
    tmp_path: Path, section: str, columns: dict[str, str], first: str, second: str
) -> None:
    body = "".join(f'{k} = "{v}"\n' for k, v in columns.items())
    msg = _refused(tmp_path, f"[{section}.columns]\n{body}")
    source = columns[first]
    assert msg == (
        f"tierwise.toml [{section}.columns] {first}: reads the column {source!r}, as {second} "
        f"does; {first} and {second} cannot share one column: map each to its own column of "
        "the file, or remove the one the file does not hold"
    )


def test_columns_that_may_share_one_column_of_the_file_load(tmp_path: Path) -> None:
    # two amounts (validation warns of it), a customer named by its id or known by its e-mail
    s = _load(
        tmp_path,
        '[transactions.columns]\nrevenue = "Betrag"\ncost = "Betrag"\n'
        '[customers.columns]\ncustomer_id = "Email"\nname = "Email"\nemail = "Email"\n',
    )
    assert s.transactions.columns == {"revenue": "Betrag", "cost": "Betrag"}
    assert s.customers.columns["name"] == s.customers.columns["customer_id"] == "Email"
