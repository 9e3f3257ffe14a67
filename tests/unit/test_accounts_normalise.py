"""Company-name, address, phone, e-mail and tax-id normalisation (run in DuckDB)."""

from __future__ import annotations

from collections.abc import Iterator

import ibis
import pyarrow as pa
import pytest

from tierwise.accounts.normalise import normalise_customers
from tierwise.engine import Engine
from tierwise.settings import AccountSettings


@pytest.fixture(scope="module")
def engine(request, open_engine) -> Iterator[Engine]:
    with open_engine(request, threads=1) as eng:
        yield eng


def normalised(engine: Engine, settings: AccountSettings | None = None, **columns: list) -> dict:
    n = len(next(iter(columns.values())))
    data = {"customer_id": [f"{i:06d}" for i in range(n)], **columns}
    t = engine.from_arrow(pa.table({k: pa.array(v, pa.string()) for k, v in data.items()}))
    out = engine.to_arrow(
        normalise_customers(t, settings or AccountSettings()).order_by("customer_id")
    )
    return out.to_pydict()


NAME_CASES = [
    # English legal forms and case
    ("ACME Ltd", "acme"),
    ("Acme Limited", "acme"),
    ("ACME LTD.", "acme"),
    ("Acme PLC", "acme"),
    ("Acme LLP", "acme"),
    ("Acme, Inc.", "acme"),
    ("Acme Incorporated", "acme"),
    ("Acme Corp.", "acme"),
    ("Acme & Co.", "acme"),
    ("Acme LLC", "acme"),
    ("Acme Pty Ltd", "acme"),
    ("Acme Limted", "acme"),  # a common misspelling
    # German
    ("Müller GmbH", "muller"),
    ("Müller & Söhne GmbH & Co. KG", "muller sohne"),
    ("Mueller AG", "mueller"),
    ("Weiß KG", "weiss"),
    ("Foo UG (haftungsbeschränkt)", "foo"),
    # French, Italian, Spanish, Portuguese
    ("Société Générale S.A.", "societe generale"),
    ("Dupont SARL", "dupont"),
    ("Dupont S.A.S.", "dupont"),
    ("Fiat S.p.A.", "fiat"),
    ("Ferrari SpA", "ferrari"),
    ("Rossi S.R.L.", "rossi"),
    ("Rossi SRL", "rossi"),
    ("Ramírez y Cía S.L.", "ramirez"),
    ("Silva Lda", "silva"),
    # Benelux, Nordic, Polish
    ("Philips N.V.", "philips"),
    ("Shell B.V.", "shell"),
    ("Nokia Oyj", "nokia"),
    ("Nokia Oy", "nokia"),
    ("Volvo AB (publ)", "volvo"),
    ("Maersk A/S", "maersk"),
    ("Equinor ASA", "equinor"),
    ("Novo ApS", "novo"),
    ("Orlen Sp. z o.o.", "orlen"),
    # abbreviations, connectors, articles
    ("ACME Intl. Mfg Co.", "acme international manufacturing"),
    ("Smith Bros", "smith brothers"),
    ("Smith & Sons", "smith sons"),
    ("Smith and Sons", "smith sons"),
    ("St. Mary's Svcs", "saint marys services"),
    ("Ste Anne SARL", "saint anne"),
    ("The Apple Pan", "apple pan"),
    ("apple pan  the", "apple pan"),
    ("Hewlett-Packard Company", "hewlett packard"),
    # Central and Eastern Europe, Turkey
    ("Tisza Kft.", "tisza"),
    ("Škoda Auto a.s.", "skoda auto"),
    ("Alfa s.r.o.", "alfa"),
    ("Łódź Sp. z o.o.", "lodz"),
    ("Arçelik Ltd. Şti.", "arcelik"),
    ("İSTANBUL Ticaret A.Ş.", "istanbul ticaret"),  # Turkish dotted capital I
    # Latin America, Asia-Pacific
    ("Cemex S.A.B. de C.V.", "cemex"),
    ("Vale Ltda.", "vale"),
    ("Petronas Sdn. Bhd.", "petronas"),
    ("Toyota K.K.", "toyota"),
    ("PT Astra Tbk", "astra"),  # Indonesian PT stands before the name
    # legal forms spelled out
    ("Siemens Aktiengesellschaft", "siemens"),
    ("Acme Gesellschaft mit beschränkter Haftung", "acme"),
    ("Acme Sociedad Anónima", "acme"),
    ("Acme Società a responsabilità limitata", "acme"),
    ("Acme Besloten Vennootschap", "acme"),
    ("Acme Aktiebolag", "acme"),
    ("Acme Osakeyhtiö", "acme"),
    ("Acme Limited Liability Company", "acme"),
    ("Acme Public Limited Company", "acme"),
    ("Acme GmbH i.L.", "acme"),  # in liquidation
    ("Acme e.K.", "acme"),
    # Cyrillic, before or after the name
    ("ООО «Ромашка»", "ромашка"),
    ("Газпром ПАО", "газпром"),
    # Japanese and Chinese, written onto the name or in brackets
    ("トヨタ自動車株式会社", "トヨタ自動車"),
    ("株式会社ニコン", "ニコン"),
    ("(株)ニコン", "ニコン"),
    ("华为技术有限公司", "华为技术"),
    # accents typed as separate combining characters (decomposed Unicode)
    ("Socie\u0301te\u0301 Ge\u0301ne\u0301rale SA", "societe generale"),
    # a name that is nothing but a legal form keeps it
    ("AB", "ab"),
    ("株式会社", "株式会社"),
    ("OOO", "ooo"),
    # a surname that is also a legal form elsewhere is not taken for one
    ("De Vos BV", "de vos"),
]


@pytest.fixture(scope="module")
def names(engine: Engine) -> dict[str, str | None]:
    """Every case normalised in one engine query (compiling the expression takes ~1 s)."""
    raws = [raw for raw, _ in NAME_CASES]
    return dict(zip(raws, normalised(engine, name=raws)["name_norm"], strict=True))


@pytest.mark.parametrize(("raw", "expected"), NAME_CASES)
def test_strips_case_accents_punctuation_and_legal_forms(
    names: dict[str, str | None], raw: str, expected: str
) -> None:
    assert names[raw] == expected


def test_acme_limited_variants_agree_but_acme_and_beta_group_do_not(engine: Engine) -> None:
    out = normalised(
        engine,
        name=[
            "ACME Ltd",
            "Acme Limited",
            "ACME LTD (Leeds)",
            "Acme Group",
            "Beta Group",
            "Acme Holdings",
        ],
    )
    norm, core = out["name_norm"], out["name_core"]
    assert norm[0] == norm[1] == norm[2] == "acme"
    # the trap: a plain fuzzy score rates "acme group" ~ "beta group" highly; the cores differ
    assert core[3] == "acme" and core[4] == "beta"
    assert core[3] == core[5]  # Acme Group and Acme Holdings share their core
    assert out["name_prefix"][3] != out["name_prefix"][4]


def test_branch_in_brackets_is_kept_separately(engine: Engine) -> None:
    out = normalised(engine, name=["ACME LTD (Leeds)", "Acme Ltd", "Foo UG (haftungsbeschränkt)"])
    assert out["branch"] == ["leeds", None, None]
    assert out["name_norm"][0] == out["name_norm"][1]


def test_extra_legal_forms_and_generic_words_come_from_settings(engine: Engine) -> None:
    s = AccountSettings(extra_legal_forms=["K.f.t.", "Ltda."], extra_generic_words=["Logistics"])
    out = normalised(engine, s, name=["Tisza KFT", "Acme Logistics Ltda"])
    assert out["name_norm"] == ["tisza", "acme logistics"]
    assert out["name_core"][1] == "acme"


def test_phone_keeps_last_digits_and_drops_short_numbers(engine: Engine) -> None:
    out = normalised(
        engine, phone=["+44 (0)113 496 0000", "0113 496 0000", "310/246-1501", "123", None]
    )
    assert out["phone_norm"][0] == out["phone_norm"][1] == "134960000"
    assert out["phone_norm"][2] == "102461501"
    assert out["phone_norm"][3:] == [None, None]


def test_email_domain_ignores_free_mail(engine: Engine) -> None:
    out = normalised(
        engine,
        s := AccountSettings(extra_free_mail_domains=["mailbox.example"]),
        email=[
            "Jo <jo@Acme.co.uk>",
            "sales@acme.co.uk",
            "acme.orders@gmail.com",
            "x@mailbox.example",
            "no email",
        ],
    )
    assert s.extra_free_mail_domains == ["mailbox.example"]
    assert out["email_domain"] == ["acme.co.uk", "acme.co.uk", None, None, None]


def test_tax_id_drops_spaces_and_country_prefix(engine: Engine) -> None:
    out = normalised(
        engine, tax_id=["GB 123 4567 89", "gb123456789", "123456789", "ATU12345678", " "]
    )
    assert out["tax_id_norm"] == ["123456789", "123456789", "123456789", "12345678", None]


def test_tax_id_reads_german_and_swiss_vat_numbers_as_exported(engine: Engine) -> None:
    # SAP KNA1 "Umsatzsteuer-Id.Nr" as typed by hand, and the Swiss UID with its VAT suffix
    out = normalised(
        engine,
        tax_id=[
            "DE301092822",
            "DE 301 092 822",
            "de-301.092.822",
            "301092822",
            "CHE-123.456.789 MWST",
            "CHE123456789TVA",
        ],
    )
    assert out["tax_id_norm"] == ["301092822"] * 4 + ["123456789"] * 2


def test_postcode_city_and_address_agree_across_spellings(engine: Engine) -> None:
    out = normalised(
        engine,
        postcode=["ls1 1aa", "LS11AA", "75001"],
        city=["Saint-Étienne", "St Etienne", "MÜNCHEN"],
        address=["12, High Street", "12 High St.", "Hauptstraße 5"],
    )
    assert out["postcode_norm"] == ["LS11AA", "LS11AA", "75001"]
    assert out["postcode_prefix"][:2] == ["LS1", "LS1"]
    assert out["city_norm"] == ["saint etienne", "saint etienne", "munchen"]
    assert out["address_norm"][0] == out["address_norm"][1] == "12 high st"
    assert out["address_norm"][2] == "haupt st 5"
    assert out["address_number"] == ["12", "12", "5"]


def test_missing_columns_read_as_null(engine: Engine) -> None:
    out = normalised(engine, name=["Acme Ltd"])
    assert out["phone_norm"] == [None] and out["email_domain"] == [None]


def test_normalisation_is_an_engine_expression() -> None:
    # no Python per record: the whole column is one Ibis expression
    t = ibis.table({"customer_id": "string", "name": "string"}, name="customers")
    expr = normalise_customers(t, AccountSettings())
    sql = ibis.to_sql(expr, dialect="duckdb")
    assert "REGEXP_REPLACE" in sql.upper()


def test_records_sharing_a_value_each_keep_their_row_and_its_normalised_form(
    engine: Engine,
) -> None:
    out = normalised(
        engine,
        name=["ACME Ltd (Leeds)", None, "ACME Ltd (Leeds)", "Beta GmbH", "", "ACME Ltd (Leeds)"],
        address=["12 High Street", "12 High Street", None, "12 High Street", "1 Mill Rd", ""],
        city=["Leeds", "Leeds", "leeds", None, "Leeds", "York"],
        email=["a@acme.co.uk", "b@ACME.co.uk", "c@gmail.com", None, "a@acme.co.uk", ""],
    )
    assert out["customer_id"] == [f"{i:06d}" for i in range(6)]
    assert out["name_norm"] == ["acme", None, "acme", "beta", None, "acme"]
    assert out["branch"] == ["leeds", None, "leeds", None, None, "leeds"]
    assert out["address_norm"] == [
        "12 high st",
        "12 high st",
        None,
        "12 high st",
        "1 mill rd",
        None,
    ]
    assert out["address_number"] == ["12", "12", None, "12", "1", None]
    assert out["city_norm"] == ["leeds", "leeds", "leeds", None, "leeds", "york"]
    assert out["email_domain"] == ["acme.co.uk", "acme.co.uk", None, None, "acme.co.uk", None]


# -- what real exports do to names, postcodes, phones and tax ids -----------------------


def test_a_non_breaking_or_invisible_space_is_read_as_a_space(engine: Engine) -> None:
    # Excel and web exports write U+00A0 where a space was typed, and trailing ones after
    # the name; a zero-width space or a soft hyphen is invisible in the cell
    out = normalised(
        engine,
        name=[
            "ACME\u00a0Ltd",
            "Acme Ltd\u00a0\u00a0",
            "Acme\u2009Ltd",
            "Acme\u3000Ltd",
            "Ac\u200bme Ltd",
            "Ac\u00adme Ltd",
            "Acme Ltd",
        ],
        address=["12\u00a0High Street", "12 High Street", None, None, None, None, None],
        city=["Saint\u00a0Étienne", "Saint Étienne", None, None, None, None, None],
    )
    assert out["name_norm"] == ["acme"] * 7
    assert out["address_norm"][0] == out["address_norm"][1] == "12 high st"
    assert out["city_norm"][0] == out["city_norm"][1] == "saint etienne"


def test_greek_accents_and_final_sigma_and_russian_yo_are_folded(engine: Engine) -> None:
    out = normalised(
        engine,
        name=["Παπαδόπουλος Α.Ε.", "ΠΑΠΑΔΟΠΟΥΛΟΣ ΑΕ", "Ёлка ООО", "Елка"],
    )
    assert out["name_norm"] == ["παπαδοπουλοσ"] * 2 + ["елка"] * 2


def test_a_postcode_that_lost_its_leading_zero_in_excel_still_agrees(engine: Engine) -> None:
    out = normalised(engine, postcode=["01067", "1067", "01 067", "00000", "0", "LS1 1AA"])
    assert out["postcode_norm"] == ["1067", "1067", "1067", None, None, "LS11AA"]
    assert out["postcode_prefix"][:3] == ["106"] * 3


def test_placeholder_tax_ids_and_phones_are_no_values(engine: Engine) -> None:
    out = normalised(
        engine,
        tax_id=["N/A", "none", "000000000", "GB 999 9999 99", "-", "n.a.", "DE 301.092.822"],
        phone=["0000 000000", "n/a", "999999999", "+44 0000 000000", "-", "x", "0113 496 0000"],
    )
    assert out["tax_id_norm"] == [None] * 6 + ["301092822"]
    assert out["phone_norm"] == [None] * 6 + ["134960000"]


def test_placeholder_names_have_no_name_to_match_on(engine: Engine) -> None:
    raws = [
        "Cash customer",
        "CASH CUSTOMER 2",
        "Walk-in",
        "Sundry",
        "N/A",
        "-",
        "12345",
        "Barverkauf",
        "Client comptoir",
        "Cliente Contado",
        "Laufkundschaft (Filiale 3)",
        # real companies whose names hold such a word
        "Metro Cash & Carry",
        "Cash Converters Ltd",
        "The Walk-in Clinic",
        "Sundry Supplies Ltd",
    ]
    out = normalised(engine, name=raws)
    assert out["name_norm"][:11] == [None] * 11
    assert out["name_core"][:11] == [None] * 11 and out["name_prefix"][:11] == [None] * 11
    assert out["name_norm"][11:] == [
        "metro cash carry",
        "cash converters",
        "walk in clinic",
        "sundry supplies",
    ]


def test_placeholder_names_of_ones_own_come_from_settings(engine: Engine) -> None:
    s = AccountSettings(extra_placeholder_names=["Kontantsalg", "Walk-in & Cash"])
    out = normalised(engine, s, name=["KONTANTSALG 7", "walk in and cash", "Kontantsalg AS"])
    assert out["name_norm"] == [None, None, None]


def test_a_phones_extension_is_not_part_of_the_number(engine: Engine) -> None:
    out = normalised(
        engine,
        phone=[
            "0113 496 0000",
            "0113 496 0000 ext. 12",
            "+44 113 496 0000 x12",
            "0113 496 0000 (ext 4)",
            "0113 496 0000, Ext: 221",
            "+44 (0)113 496 0000 #12",
            "030 1234567 DW 12",
            "+49 30 1234567",
        ],
    )
    assert out["phone_norm"] == ["134960000"] * 6 + ["301234567"] * 2
