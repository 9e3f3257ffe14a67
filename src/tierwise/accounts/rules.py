"""Deterministic matching rules, and the name guard laid over the model's decisions.

**The guards.** Every business in a building shares its address, postcode and city, and
a serviced office or a hotel also its switchboard; a model that weighs each agreeing field
can add those up to a high match probability for a hotel and the bicycle shop next door.
So a pair whose names disagree (:func:`tierwise.accounts.names.names_agree`) is never
merged automatically, whatever the model says, unless the two records carry the same tax
id; nor is a pair whose tax ids differ (two legal entities, such as a group's companies
sharing a name, a domain and a city). Such a pair goes to the review queue, where a person
can confirm it. So is a pair of which a record has no name — none given, or a placeholder
such as "Cash customer" or "N/A" that a till or an ERP gives many customers — unless the
tax ids are the same: what such records share (the shop's address, its phone) says nothing
about which company bought.

**The deterministic rules** merge what is near-certain whether or not the model can be
fitted: they are all that looks for duplicates in a master too small for EM or a clean one
in which EM finds nothing to learn from, and next to a model trained on few duplicates they
catch what it misses. Because no model weighs their evidence, they ask more of the names
than the guard does: the names must agree *as wholes*
(:func:`tierwise.accounts.names.names_agree_wholly`: every word of each name found in the
other, allowing a typo or an abbreviation, but for generic words and legal forms such as
"group", "services" or "ltd"). Two names that agree only in part — every word of one in
the other, as "Bäcker Bau" in "Müller Becker Bau" — are a company and its namesake as
often as one company written twice. And a street address is a place only with its
postcode and city: "Hauptstraße 49" in two postcodes is two places. Among the records
sharing a tax id, a postcode, a phone or a street address in one city
(:data:`RULE_BLOCKING`), two records are merged when

1. they carry the same tax id, and their names agree (at least in part) or they share the
   postcode, the phone or the street address; or
2. their names agree as wholes and they share the postcode, the phone or the street
   address (the same street and house number, and neither the postcodes nor the cities
   differ);

and nothing contradicts it: neither different tax ids nor head counts more than
``max_size_ratio`` apart. An e-mail domain does not merge: a group's companies (and
namesakes) share one. Pairs the rules leave to a person go to the review queue: names
that agree and a shared address or phone with a contradiction; names that agree only in
part with a shared postcode, phone or street address; and names that agree with the same
street address in another postcode or city.

A customer master with names only (no street address, postcode, phone or tax id) gives
the rules nothing to merge on, and a name alone cannot tell a company written twice from
a namesake in another town. There the rules look among the records sharing a name, or a
city and the start of a name (:data:`NAME_BLOCKING`), and show a person the pairs with
the same name, or names that agree as wholes in the same city, where nothing tells them
apart (neither the cities, the e-mail domains nor the head counts differ).

Everything is customer-sized work on Arrow and NumPy (the candidate pairs are built in the
engine).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..settings.accounts import AccountSettings
from .names import names_agree, names_agree_wholly, one_edit_apart
from .normalise import GENERIC_WORDS, LEGAL_FORMS, canonical_phrase

__all__ = [
    "NAME_BLOCKING",
    "RULE_BLOCKING",
    "RULE_FIELDS",
    "candidate_pairs",
    "guard_pairs",
    "rule_pairs",
]

#: The pairs the rules look at: records sharing a tax id, a postcode, a phone, or a street
#: address in one city (blocks too large for ``[accounts] max_rule_pairs_per_record`` are
#: tightened as the model's are).
RULE_BLOCKING: tuple[tuple[str, ...], ...] = (
    ("tax_id_norm",),
    ("postcode_norm",),
    ("phone_norm",),
    ("address_norm", "city_norm"),
)

#: The pairs the rules look at in a master with names only: records sharing a name, or a
#: city and the start of a name.
NAME_BLOCKING: tuple[tuple[str, ...], ...] = (
    ("name_norm",),
    ("city_norm", "name_prefix"),
)

#: Columns the deterministic rules read (``<column>_l`` / ``<column>_r`` in a pairs table).
RULE_FIELDS = (
    "name_norm",
    "name_core",
    "address_norm",
    "postcode_norm",
    "city_norm",
    "phone_norm",
    "email_domain",
    "tax_id_norm",
    "employees_norm",
)

#: The rules, in the order a pair is explained by the first that applies.
RULES = (
    "same tax id",
    "names agree, same postcode",
    "names agree, same phone",
    "names agree, same street address",
)

#: Why the rules leave a pair to a person (the review queue's ``reason``).
REVIEW_CONTRADICTED = (
    "names agree and they share an address or contact, but their tax ids or head counts differ"
)
REVIEW_NAMES_IN_PART = (
    "names agree only in part (one has words the other lacks) and they share a postcode, a "
    "phone or a street address: not merged unless a person confirms it"
)
REVIEW_ADDRESS_ELSEWHERE = (
    "names agree and they share a street address, but in another postcode or city: not "
    "merged unless a person confirms it"
)
REVIEW_NAME_ONLY = (
    "same name, and nothing else to tell a duplicate from a namesake (no street address, "
    "postcode, phone or tax id on both records): not merged unless a person confirms it"
)

#: Legal forms shorter than this are not taken as light words of a name (two letters such
#: as "ab", "as" or "sa" are as often initials or words).
_MIN_LEGAL_LIGHT = 3

#: Why the guard kept a pair apart (the review queue's ``reason``).
HELD_BACK_NAMES = "names disagree: not merged unless a person confirms it"
HELD_BACK_TAX = "tax ids differ: not merged unless a person confirms it"
HELD_BACK_NO_NAME = (
    "a record has no name, or one such as 'Cash customer' or 'N/A' that names no company: "
    "not merged unless a person confirms it"
)


def candidate_pairs(keyed: ir.Table, keys: Sequence[str], *, uid: str = "customer_id") -> ir.Table:
    """The record pairs the blocking keys generate, each once, with both records' fields.

    Parameters
    ----------
    keyed
        Normalised records with the blocking key columns (``plan_blocking``'s table).
    keys
        The key columns.
    uid
        The record id column.

    Returns
    -------
    An Ibis expression: ``left_id`` < ``right_id``, then ``<column>_l`` and ``<column>_r``
    for each of :data:`RULE_FIELDS` present in ``keyed``.
    """
    parts = []
    for k in keys:
        a = keyed.filter(keyed[k].notnull()).select(rid=keyed[uid].cast("string"), key=keyed[k])
        left = a.rename(left_id="rid", key_l="key")
        right = a.rename(right_id="rid", key_r="key")
        j = left.join(right, [left.key_l == right.key_r, left.left_id < right.right_id])
        parts.append(j.select("left_id", "right_id"))
    pairs = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=True)
    if len(parts) == 1:
        pairs = pairs.distinct()
    fields = [c for c in RULE_FIELDS if c in keyed.columns]
    base = keyed.select(uid, *fields)
    left = base.rename(left_id=uid, **{f"{c}_l": c for c in fields})
    left = left.mutate(left_id=left.left_id.cast("string"))
    right = base.rename(right_id=uid, **{f"{c}_r": c for c in fields})
    right = right.mutate(right_id=right.right_id.cast("string"))
    out = pairs.join(left, "left_id").join(right, "right_id")
    order = ["left_id", "right_id"] + [f"{c}_{s}" for c in fields for s in ("l", "r")]
    return out.select(order)


def _col(pairs: pa.Table, name: str) -> pa.Array:
    if name in pairs.column_names:
        col = pairs[name]
        return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return pa.nulls(pairs.num_rows, pa.string())


def _same(pairs: pa.Table, col: str) -> np.ndarray:
    """Both records have a value in ``col`` and it is the same."""
    eq = pc.equal(_col(pairs, f"{col}_l"), _col(pairs, f"{col}_r"))
    return np.asarray(pc.fill_null(eq, False).to_numpy(zero_copy_only=False), dtype=bool)


def _both(pairs: pa.Table, col: str) -> np.ndarray:
    """Both records have a value in ``col``."""
    both = pc.and_(pc.is_valid(_col(pairs, f"{col}_l")), pc.is_valid(_col(pairs, f"{col}_r")))
    return np.asarray(both.to_numpy(zero_copy_only=False), dtype=bool)


def _differ(pairs: pa.Table, col: str) -> np.ndarray:
    """Both records have a value in ``col`` and they differ."""
    ne = pc.not_equal(_col(pairs, f"{col}_l"), _col(pairs, f"{col}_r"))
    return np.asarray(pc.fill_null(ne, False).to_numpy(zero_copy_only=False), dtype=bool)


def _size_ratio(pairs: pa.Table) -> np.ndarray:
    """Larger head count over smaller (NaN where either is missing)."""
    a = np.asarray(
        pc.fill_null(_col(pairs, "employees_norm_l").cast(pa.float64()), np.nan).to_numpy(
            zero_copy_only=False
        ),
        dtype=np.float64,
    )
    b = np.asarray(
        pc.fill_null(_col(pairs, "employees_norm_r").cast(pa.float64()), np.nan).to_numpy(
            zero_copy_only=False
        ),
        dtype=np.float64,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.maximum(a, b) / np.minimum(a, b)


def _name_column(pairs: pa.Table) -> str:
    return "name_norm" if "name_norm_l" in pairs.column_names else "name_core"


def _agree(pairs: pa.Table, settings: AccountSettings) -> pa.Array:
    """Names agree, on the normalised name: generic words count ("Kirby UK" and "Kirby
    Services" disagree) except that one name may lack some of the other's words."""
    col = _name_column(pairs)
    return names_agree(
        _col(pairs, f"{col}_l"),
        _col(pairs, f"{col}_r"),
        min_token_length=settings.name_token_min_length,
    )


def light_words(settings: AccountSettings) -> list[str]:
    """The words two names may differ by and still agree as wholes: the generic words of
    ``name_core`` and one-word legal forms of three letters or more, with the settings'
    own (``extra_generic_words``, ``extra_legal_forms``), as normalised names spell them.

    Example
    -------
    >>> from tierwise.settings import AccountSettings
    >>> words = light_words(AccountSettings(extra_generic_words=["Gebrüder"]))
    >>> "services" in words, "gebruder" in words, "ltd" in words, "ag" in words
    (True, True, True, False)
    """
    generic = [*GENERIC_WORDS, *(canonical_phrase(w) for w in settings.extra_generic_words)]
    legal = [*LEGAL_FORMS, *(canonical_phrase(f) for f in settings.extra_legal_forms)]
    legal = [f for f in legal if " " not in f and len(f) >= _MIN_LEGAL_LIGHT]
    return sorted({w for w in (*generic, *legal) if w and " " not in w})


def _agree_wholly(pairs: pa.Table, settings: AccountSettings) -> np.ndarray:
    """Names agree as wholes (false where a name is missing)."""
    col = _name_column(pairs)
    whole = names_agree_wholly(
        _col(pairs, f"{col}_l"),
        _col(pairs, f"{col}_r"),
        min_token_length=settings.name_token_min_length,
        light_words=light_words(settings),
    )
    return np.asarray(pc.fill_null(whole, False).to_numpy(zero_copy_only=False), bool)


def _tax_conflict(pairs: pa.Table) -> np.ndarray:
    """Both records carry a tax id and the model's tax-id comparison found them apart
    (its last level; without the model's levels: not the same and not one typo apart)."""
    if "gamma_tax_id" in pairs.column_names:
        g = pc.fill_null(pairs["gamma_tax_id"].cast(pa.int64()), -1)
        return np.asarray(pc.equal(g, 0).to_numpy(zero_copy_only=False), dtype=bool)
    differ = _differ(pairs, "tax_id_norm")
    if differ.any():
        idx = pa.array(np.flatnonzero(differ))
        close = one_edit_apart(
            _col(pairs, "tax_id_norm_l").take(idx), _col(pairs, "tax_id_norm_r").take(idx)
        )
        differ[np.flatnonzero(differ)[close]] = False
    return differ


def guard_pairs(
    pairs: pa.Table, settings: AccountSettings, *, names_required: bool = True
) -> pa.Table:
    """Add the guards to the model's scored pairs.

    Adds ``names_agree`` (NULL where a name is missing), ``held_back`` (the pair is not
    merged automatically, whatever its match probability) and ``guard`` (why, or NULL):
    names that disagree, or (``names_required``) a record without a name — none given, or
    a placeholder such as "Cash customer" — while the tax ids are not the same
    (``name_guard``); or tax ids that differ (``tax_id_guard``).

    Parameters
    ----------
    pairs
        Scored pairs with ``name_core_l/_r`` and, when known, ``tax_id_norm_l/_r`` and the
        model's ``gamma_tax_id``.
    settings
        ``[accounts]``: ``name_guard``, ``tax_id_guard``, ``name_token_min_length``.
    names_required
        Hold back a pair of which a record has no name (false for a customer master
        without names, where nothing else could be merged).

    Example
    -------
    >>> import pyarrow as pa
    >>> from tierwise.settings import AccountSettings
    >>> p = pa.table({"left_id": ["1"], "right_id": ["2"], "match_probability": [0.99],
    ...               "name_core_l": ["riverside hotel"], "name_core_r": ["riverside cycles"]})
    >>> guard_pairs(p, AccountSettings())["held_back"].to_pylist()
    [True]
    """
    agree = _agree(pairs, settings)
    disagree = np.asarray(
        pc.fill_null(pc.invert(agree), False).to_numpy(zero_copy_only=False), dtype=bool
    )
    nameless = np.asarray(pc.is_null(agree).to_numpy(zero_copy_only=False), dtype=bool)
    unsure = ~_same(pairs, "tax_id_norm") & settings.name_guard
    by_name = disagree & unsure
    by_nameless = nameless & unsure & names_required
    by_tax = _tax_conflict(pairs) & settings.tax_id_guard
    guard = np.full(pairs.num_rows, None, dtype=object)
    guard[by_tax] = HELD_BACK_TAX
    guard[by_nameless] = HELD_BACK_NO_NAME
    guard[by_name] = HELD_BACK_NAMES
    return (
        pairs.append_column("names_agree", agree)
        .append_column("held_back", pa.array(by_name | by_nameless | by_tax))
        .append_column("guard", pa.array(guard, pa.string()))
    )


def rule_pairs(pairs: pa.Table, settings: AccountSettings) -> pa.Table:
    """Decide candidate pairs by the deterministic rules.

    Parameters
    ----------
    pairs
        Candidate pairs from :func:`candidate_pairs` (as Arrow).
    settings
        ``[accounts]``: ``max_size_ratio``, ``name_token_min_length``,
        ``extra_generic_words`` and ``extra_legal_forms`` (light words of a name).

    Returns
    -------
    The pairs to merge or to review: ``left_id``, ``right_id``, ``match_weight`` (NULL),
    ``match_probability`` (1 for a merge, NULL for a review), ``rule`` (the rule that
    merges the pair, or why it is only reviewed), ``names_agree``, ``held_back`` (false),
    ``guard`` (NULL), ``review`` (true for a review), then the compared columns; sorted
    by ids.

    Example
    -------
    >>> import pyarrow as pa
    >>> from tierwise.settings import AccountSettings
    >>> p = pa.table({"left_id": ["1", "1", "1"], "right_id": ["2", "3", "4"],
    ...               "name_norm_l": ["acme", "acme", "acme"],
    ...               "name_norm_r": ["acme group", "acme dental", "beta"],
    ...               "postcode_norm_l": ["LS11AA"] * 3, "postcode_norm_r": ["LS11AA"] * 3})
    >>> out = rule_pairs(p, AccountSettings())
    >>> out["right_id"].to_pylist(), out["match_probability"].to_pylist()
    (['2', '3'], [1.0, None])
    >>> out["rule"][0].as_py(), out["rule"][1].as_py()[:26]
    ('names agree, same postcode', 'names agree only in part (')
    """
    agree_arr = _agree(pairs, settings)
    agree = np.asarray(pc.fill_null(agree_arr, False).to_numpy(zero_copy_only=False), bool)
    whole = agree & _agree_wholly(pairs, settings)
    same_tax = _same(pairs, "tax_id_norm")
    same_street = _same(pairs, "address_norm")
    # a street and house number is a place only with its postcode and city
    elsewhere = same_street & (_differ(pairs, "postcode_norm") | _differ(pairs, "city_norm"))
    shared = {
        "postcode": _same(pairs, "postcode_norm"),
        "phone": _same(pairs, "phone_norm"),
        "address": same_street & ~elsewhere,
    }
    with np.errstate(invalid="ignore"):
        size_conflict = _size_ratio(pairs) > settings.max_size_ratio
    contradicted = _differ(pairs, "tax_id_norm") | size_conflict
    any_shared = np.logical_or.reduce(list(shared.values()))
    # a tax id merges when something else agrees too: a mistyped id (or one two
    # companies were given by mistake) must not join strangers
    fired = [
        same_tax & (agree | any_shared),
        whole & shared["postcode"] & ~contradicted,
        whole & shared["phone"] & ~contradicted,
        whole & shared["address"] & ~contradicted,
    ]
    link = np.logical_or.reduce(fired)
    reviews = [
        (agree & (any_shared | elsewhere) & contradicted, REVIEW_CONTRADICTED),
        (agree & ~whole & (any_shared | elsewhere), REVIEW_NAMES_IN_PART),
        (whole & elsewhere, REVIEW_ADDRESS_ELSEWHERE),
    ]
    # nothing but the name to go on: the same name, or names agreeing as wholes in one
    # city, where nothing differs either
    unknown = ~np.logical_or.reduce(
        [_both(pairs, c) for c in ("address_norm", "postcode_norm", "phone_norm", "tax_id_norm")]
    )
    alike = _same(pairs, "name_norm") | (whole & _same(pairs, "city_norm"))
    apart = _differ(pairs, "city_norm") | _differ(pairs, "email_domain") | size_conflict
    reviews.append((alike & unknown & ~apart, REVIEW_NAME_ONLY))
    review = ~link & np.logical_or.reduce([hit for hit, _ in reviews])
    rule = np.full(pairs.num_rows, None, dtype=object)
    for name, hit in reversed(list(zip(RULES, fired, strict=True))):
        rule[hit] = name
    for hit, reason in reversed(reviews):
        rule[~link & hit] = reason
    keep = link | review
    out = pa.table(
        {
            "left_id": _col(pairs, "left_id").cast(pa.string()),
            "right_id": _col(pairs, "right_id").cast(pa.string()),
            "match_weight": pa.nulls(pairs.num_rows, pa.float64()),
            "match_probability": pa.array(np.where(link, 1.0, np.nan), mask=~link),
            "rule": pa.array(rule, pa.string()),
            "names_agree": agree_arr,
            "held_back": pa.array(np.zeros(pairs.num_rows, dtype=bool)),
            "guard": pa.nulls(pairs.num_rows, pa.string()),
            "review": pa.array(review),
        }
    )
    for c in pairs.column_names:
        if c.endswith(("_l", "_r")) and c not in out.column_names:
            out = out.append_column(c, pairs[c])
    out = out.filter(pa.array(keep))
    return out.sort_by([("left_id", "ascending"), ("right_id", "ascending")])
