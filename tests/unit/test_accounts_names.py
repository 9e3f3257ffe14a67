"""Names that agree or disagree, the guards on the model's pairs, the deterministic rules.

Two businesses in one building share the address, the postcode and the city, a serviced
office also the switchboard; only the name tells them apart. These tests build such pairs
by hand (a value-added reseller with 11 staff and a warehouse with 92 staff at one address;
a hotel and a bicycle shop) and check that nothing but the same tax id lets them merge.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierwise.accounts import guard_pairs, names_agree, one_edit_apart, rule_pairs
from tierwise.accounts.names import names_agree_wholly
from tierwise.accounts.rules import (
    REVIEW_ADDRESS_ELSEWHERE,
    REVIEW_NAMES_IN_PART,
    light_words,
)
from tierwise.settings import AccountSettings


def _damerau(a: str, b: str) -> int:
    """Optimal string alignment distance, by the textbook dynamic programme."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


words = st.text(alphabet="abcde ", min_size=0, max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(words, words), min_size=1, max_size=30))
def test_one_edit_apart_is_damerau_levenshtein_at_most_one(pairs: list[tuple[str, str]]) -> None:
    left = pa.array([a for a, _ in pairs])
    right = pa.array([b for _, b in pairs])
    got = one_edit_apart(left, right).tolist()
    assert got == [_damerau(a, b) <= 1 for a, b in pairs]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("acme", "acme dental"),  # a word left out
        ("ashwroth builders", "ashworth builders"),  # two letters swapped
        ("mason acme", "masonacme"),  # a space left out
        ("arts delicatessen", "arts deli"),  # a word abbreviated
        ("bradley catering", "bradleycatering"),  # a space left out
        ("beacon sonslimited", "beacon sons"),  # a legal form glued on
        ("wallace tld", "wallace international"),  # a mistyped legal form
        ("kirby uk", "kirby"),
    ],
)
def test_names_that_agree(left: str, right: str) -> None:
    assert names_agree(pa.array([left]), pa.array([right])).to_pylist() == [True]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("riverside hotel", "riverside cycles"),
        ("mason acme dental", "mason acme maintenance"),
        ("northgate it solutions", "northgate warehousing"),
        ("kirby uk", "kirby services"),  # generic words count when both differ
        ("acme", "beta"),
        ("uk", "us"),  # short words must be spelled the same
        ("bradleycatering", "bradley foods"),  # a word is no abbreviation of a longer one
    ],
)
def test_names_that_disagree(left: str, right: str) -> None:
    assert names_agree(pa.array([left]), pa.array([right])).to_pylist() == [False]


def test_a_missing_name_neither_agrees_nor_disagrees() -> None:
    got = names_agree(pa.array([None, "acme", ""]), pa.array(["acme", None, "acme"]))
    assert got.to_pylist() == [None, None, None]


def test_short_words_take_no_typo_unless_the_setting_allows() -> None:
    left, right = pa.array(["abc ltd"]), pa.array(["abd ltd"])
    assert names_agree(left, right).to_pylist() == [False]
    assert names_agree(left, right, min_token_length=3).to_pylist() == [True]


def _wholly(left: str, right: str) -> bool | None:
    got = names_agree_wholly(
        pa.array([left]), pa.array([right]), light_words=light_words(AccountSettings())
    )
    return got.to_pylist()[0]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("acme", "acme group"),  # a generic word left out
        ("acme", "acme sevrices"),  # ... or mistyped
        ("acme internationa lltd", "acme"),  # a mistyped generic word and legal form
        ("walshc leaning", "walsh cleaning brothers"),  # a moved space, a generic word
        ("marsdenand kestrel", "marsden kestrel"),  # a connector glued on
        ("arts delicatessen", "arts deli"),  # an abbreviation, either way round
        ("mason acme", "masonacme"),
        ("ashwroth builders", "ashworth builders"),
    ],
)
def test_names_that_agree_as_wholes(left: str, right: str) -> None:
    assert _wholly(left, right) is True
    assert _wholly(right, left) is True


@pytest.mark.parametrize(
    ("left", "right"),
    [
        # SAP S/4HANA KNA1: "Bäcker Bäcker Bau AG" and "Müller Becker Bau AG" (normalised)
        ("backer backer bau", "muller becker bau"),
        ("acme", "acme dental"),  # a trade word is not a generic word
        ("wood", "wood construction"),  # the demo's tenants of one business park
        ("group", "holdings"),  # nothing but light words, none shared
    ],
)
def test_names_that_agree_only_in_part_do_not_agree_as_wholes(left: str, right: str) -> None:
    assert _wholly(left, right) is False
    assert _wholly(right, left) is False


def test_agreeing_as_wholes_decides_each_pair_as_it_would_alone() -> None:
    # the same words (light, mistyped light, trade) recur across many pairs of one batch
    left = ["acme sevrices", "acme", "acme dental", "wood sevrices", "wood", "group"] * 40
    right = ["acme", "acme sevrices", "acme", "wood", "wood construction", "holdings"] * 40
    words = light_words(AccountSettings())
    batch = names_agree_wholly(pa.array(left), pa.array(right), light_words=words).to_pylist()
    alone = [_wholly(a, b) for a, b in zip(left[:6], right[:6], strict=True)]
    assert alone == [True, True, False, True, False, False]
    assert batch == alone * 40


def test_names_with_a_mistyped_legal_form_agree_in_a_batch_as_they_would_alone() -> None:
    # a legal form mistyped or glued on ("sonslimited", "tld") is taken off once per
    # distinct name; names recurring across the pairs of a batch read as each alone
    left = ["beacon sonslimited", "wallace tld", "acme ltd", "wallace", "riverside hotel"] * 30
    right = ["beacon sons", "wallace", "acme lmited", "wallace tld", "riverside cycles"] * 30
    batch = names_agree(pa.array(left), pa.array(right)).to_pylist()
    alone = [
        names_agree(pa.array([a]), pa.array([b])).to_pylist()[0]
        for a, b in zip(left[:5], right[:5], strict=True)
    ]
    assert alone == [True, True, True, True, False]
    assert batch == alone * 30


def test_agreeing_as_wholes_is_null_where_a_name_is_missing() -> None:
    got = names_agree_wholly(pa.array([None, "acme", ""]), pa.array(["acme", None, "acme"]))
    assert got.to_pylist() == [None, None, None]


# -- two businesses in one building ---------------------------------------------------

BUILDING = {
    "address_norm_l": ["4 riverside business park"] * 3,
    "address_norm_r": ["4 riverside business park"] * 3,
    "postcode_norm_l": ["LS11AA"] * 3,
    "postcode_norm_r": ["LS11AA"] * 3,
    "city_norm_l": ["leeds"] * 3,
    "city_norm_r": ["leeds"] * 3,
}


def _building_pairs(**extra: list[object]) -> pa.Table:
    cols: dict[str, list[object]] = {
        "left_id": ["1", "3", "5"],
        "right_id": ["2", "4", "6"],
        "match_weight": [12.0, 10.0, 9.0],
        "match_probability": [0.9998, 0.999, 0.998],
        # a reseller and a warehouse; a hotel and a bicycle shop; a firm and its namesake
        "name_norm_l": ["northgate it solutions", "riverside hotel", "acme"],
        "name_norm_r": ["northgate warehousing", "riverside cycles", "acme"],
        "name_core_l": ["northgate it", "riverside hotel", "acme"],
        "name_core_r": ["northgate warehousing", "riverside cycles", "acme"],
        "phone_norm_l": ["113496000", "113496111", "113496222"],
        "phone_norm_r": ["113496999", "113496111", "113496222"],
        "employees_norm_l": [11.0, 40.0, 5.0],
        "employees_norm_r": [92.0, 3.0, 6.0],
        **BUILDING,
    }
    cols.update(extra)
    return pa.table(cols)


def test_guard_holds_back_businesses_sharing_an_address_whose_names_disagree() -> None:
    g = guard_pairs(_building_pairs(), AccountSettings())
    assert g["names_agree"].to_pylist() == [False, False, True]
    assert g["held_back"].to_pylist() == [True, True, False]
    assert g["guard"][0].as_py().startswith("names disagree")


def test_the_same_tax_id_overrides_the_name_guard_and_a_different_one_holds_back() -> None:
    pairs = _building_pairs(
        tax_id_norm_l=["123456789", None, "111111111"],
        tax_id_norm_r=["123456789", None, "999999999"],
    )
    g = guard_pairs(pairs, AccountSettings())
    # same tax id: one legal entity, however its records are named
    assert g["held_back"].to_pylist() == [False, True, True]
    assert g["guard"][2].as_py().startswith("tax ids differ")
    off = guard_pairs(pairs, AccountSettings(name_guard=False, tax_id_guard=False))
    assert off["held_back"].to_pylist() == [False, False, False]


def test_rules_never_merge_on_an_address_when_names_disagree() -> None:
    out = rule_pairs(_building_pairs(), AccountSettings())
    merged = {(r["left_id"], r["right_id"]): r["rule"] for r in out.to_pylist()}
    # only the namesakes whose names agree, at the same address and phone
    assert merged == {("5", "6"): "names agree, same postcode"}


def test_rules_merge_on_tax_id_and_on_agreeing_names_with_a_shared_contact() -> None:
    pairs = pa.table(
        {
            "left_id": ["1", "3", "5", "7", "9"],
            "right_id": ["2", "4", "6", "8", "a"],
            "name_norm_l": ["acme", "beta", "gamma", "delta foods", "epsilon"],
            "name_norm_r": ["acme trading", "beta foods", "gamma", "delta foods", "zeta"],
            "tax_id_norm_l": [None, "123456789", None, "111111111", "555555555"],
            "tax_id_norm_r": [None, "123456789", None, "222222222", "555555555"],
            "phone_norm_l": ["113496000", None, None, "113496555", None],
            "phone_norm_r": ["113496000", None, None, "113496555", None],
            "postcode_norm_l": [None, None, "LS11AA", None, None],
            "postcode_norm_r": [None, None, "LS11AA", None, None],
            "employees_norm_l": [5.0, 5.0, 4.0, 10.0, 5.0],
            "employees_norm_r": [6.0, 500.0, 40.0, 10.0, 5.0],
        }
    )
    out = rule_pairs(pairs, AccountSettings())
    got = {r["left_id"]: (r["rule"], r["match_probability"]) for r in out.to_pylist()}
    assert got["1"] == ("names agree, same phone", 1.0)
    assert got["3"] == ("same tax id", 1.0)  # a tax id beats a head-count difference
    # head counts ten times apart contradict: shown for review, not merged
    assert got["5"][1] is None and "head counts differ" in got["5"][0]
    # different tax ids contradict too
    assert got["7"][1] is None
    # a tax id shared by records that agree on nothing else (a typo) merges nothing
    assert "9" not in got
    assert out["review"].to_pylist() == [False, False, True, True]


def _street_pairs(names_r: list[str], postcode_r: list[str]) -> pa.Table:
    """Record 1 against others at its street address in its city, Nürnberg."""
    n = len(names_r)
    return pa.table(
        {
            "left_id": ["102346"] * n,
            "right_id": [str(103876 + i) for i in range(n)],
            "name_norm_l": ["backer backer bau"] * n,
            "name_norm_r": names_r,
            "name_core_l": ["backer backer bau"] * n,
            "name_core_r": names_r,
            "address_norm_l": ["hauptstrasse 49"] * n,
            "address_norm_r": ["hauptstrasse 49"] * n,
            "postcode_norm_l": ["15106"] * n,
            "postcode_norm_r": postcode_r,
            "city_norm_l": ["nurnberg"] * n,
            "city_norm_r": ["nurnberg"] * n,
        }
    )


def test_rules_never_merge_names_agreeing_in_part_at_one_street_in_two_postcodes() -> None:
    # SAP S/4HANA export, KNA1 without the VAT id mapped: "102346 Bäcker Bäcker Bau AG,
    # 15106, Hauptstraße 49" and "103876 Müller Becker Bau AG, 18436, Hauptstraße 49" (both
    # Nürnberg) were one account by "names agree, same street address"
    out = rule_pairs(_street_pairs(["muller becker bau"], ["18436"]), AccountSettings())
    assert out["match_probability"].to_pylist() == [None]
    assert out["review"].to_pylist() == [True]
    assert out["rule"].to_pylist() == [REVIEW_NAMES_IN_PART]
    # nor in one postcode: a namesake as often as the same company
    out = rule_pairs(_street_pairs(["muller becker bau"], ["15106"]), AccountSettings())
    assert out["match_probability"].to_pylist() == [None]
    assert out["rule"].to_pylist() == [REVIEW_NAMES_IN_PART]


def test_rules_take_a_street_address_as_a_place_only_with_its_postcode() -> None:
    out = rule_pairs(
        _street_pairs(
            ["backer backer bau", "backer backer bau", "backer backer bau"],
            ["15106", "18436", None],
        ),
        AccountSettings(),
    )
    got = {r["right_id"]: (r["rule"], r["match_probability"]) for r in out.to_pylist()}
    assert got["103876"] == ("names agree, same postcode", 1.0)
    # the same street and house number in another postcode is another place
    assert got["103877"] == (REVIEW_ADDRESS_ELSEWHERE, None)
    # a postcode left out contradicts nothing
    assert got["103878"] == ("names agree, same street address", 1.0)


def test_typos_apart_is_the_optimal_string_alignment_distance_within_a_limit() -> None:
    import random

    from tierwise.accounts.names import typos_apart

    def distance(a: str, b: str) -> int:  # the whole table, for reference
        d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                cost = 0 if a[i - 1] == b[j - 1] else 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
        return d[-1][-1]

    rng = random.Random(7)
    for _ in range(3000):
        a = "".join(rng.choice("abc") for _ in range(rng.randint(0, 8)))
        b = "".join(rng.choice("abc") for _ in range(rng.randint(0, 8)))
        for limit in (0, 1, 2, 3):
            assert typos_apart(a, b, limit) == (distance(a, b) <= limit), (a, b, limit)
